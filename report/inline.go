package report

import (
	"strconv"
	"strings"
)

// isPunct reports whether c is ASCII punctuation, which a backslash makes
// literal in Markdown.
func isPunct(c byte) bool {
	return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0
}

// isLetter reports whether c is an ASCII letter.
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// mdInline prepares inline text for Markdown. Code spans, **bold** and
// backslash escapes pass through; a '<' that would open an HTML tag and an
// '&' that would start an entity get a backslash so they show literally.
// In a table cell, '|' is escaped (in code spans too, as GitHub tables
// require) and line breaks become spaces.
func mdInline(s string, cell bool) string {
	var b strings.Builder
	inCode := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case cell && c == '|':
			b.WriteString(`\|`)
		case cell && (c == '\n' || c == '\r'):
			b.WriteByte(' ')
		case inCode:
			if c == '`' {
				inCode = false
			}
			b.WriteByte(c)
		case c == '`' && strings.IndexByte(s[i+1:], '`') >= 0:
			inCode = true
			b.WriteByte(c)
		case c == '\\' && isPunct(next):
			b.WriteByte(c)
			b.WriteByte(next)
			i++
		case c == '<' && (isLetter(next) || next == '/' || next == '!' || next == '?'):
			b.WriteString(`\<`)
		case c == '&' && (isLetter(next) || next == '#'):
			b.WriteString(`\&`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// mdBlockText is mdInline for text that fills a block (paragraph, list
// item, note): it also backslash-escapes a line start that Markdown would
// read as a heading, quote, list item, rule or code fence, such as "# 3
// runs" or "1. a sentence".
func mdBlockText(s string) string {
	lines := strings.Split(mdInline(s, false), "\n")
	for i, l := range lines {
		rest := strings.TrimLeft(l, " ")
		indent := l[:len(l)-len(rest)]
		if rest == "" {
			continue
		}
		c := rest[0]
		next := byte(' ')
		if len(rest) > 1 {
			next = rest[1]
		}
		switch {
		case c == '#' || c == '>' || c == '=' || c == '+' && next == ' ':
			lines[i] = indent + `\` + rest
		case (c == '-' || c == '*' || c == '_') && next == ' ',
			c == '-' && next == '-',
			(c == '*' || c == '_') && strings.Trim(rest, string(c)+" ") == "": // a rule
			lines[i] = indent + `\` + rest
		case strings.HasPrefix(rest, "```") || strings.HasPrefix(rest, "~~~"):
			lines[i] = indent + `\` + rest
		case c >= '0' && c <= '9':
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if j < len(rest) && (rest[j] == '.' || rest[j] == ')') && (j+1 == len(rest) || rest[j+1] == ' ') {
				lines[i] = indent + rest[:j] + `\` + rest[j:]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// htmlEscape escapes text for HTML element content and double-quoted
// attributes, using only entities that XML also knows.
func htmlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		default:
			if c < 0x20 && c != '\n' && c != '\t' && c != '\r' {
				b.WriteByte(' ') // not allowed in XML, not wanted in HTML
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// htmlInline renders inline text as HTML: `code` becomes <code>, **bold**
// becomes <strong>, a backslash before ASCII punctuation is dropped, and
// everything else is escaped. Unmatched marks are shown as written.
func htmlInline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isPunct(s[i+1]):
			b.WriteString(htmlEscape(s[i+1 : i+2]))
			i += 2
		case c == '`':
			end := strings.IndexByte(s[i+1:], '`')
			if end < 0 {
				b.WriteString("`")
				i++
				continue
			}
			b.WriteString("<code>" + htmlEscape(s[i+1:i+1+end]) + "</code>")
			i += end + 2
		case strings.HasPrefix(s[i:], "**"):
			end := closingBold(s[i+2:])
			if end <= 0 {
				b.WriteString("**")
				i += 2
				continue
			}
			b.WriteString("<strong>" + htmlInline(s[i+2:i+2+end]) + "</strong>")
			i += end + 4
		default:
			j := i + 1
			for j < len(s) && s[j] != '\\' && s[j] != '`' && s[j] != '*' {
				j++
			}
			b.WriteString(htmlEscape(s[i:j]))
			i = j
		}
	}
	return b.String()
}

// closingBold returns the offset in s of the "**" that closes a bold span,
// skipping code spans and escapes, or -1.
func closingBold(s string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
		case s[i] == '`':
			if end := strings.IndexByte(s[i+1:], '`'); end >= 0 {
				i += end + 1
			}
		case strings.HasPrefix(s[i:], "**"):
			return i
		}
	}
	return -1
}

// numericCell reports whether a table cell holds a number (possibly with a
// "± error", a sign, thousands commas or a trailing %), and whether it is
// empty or a placeholder such as "n/a" or "-" that says nothing either way.
func numericCell(cell string) (numeric, blank bool) {
	s := strings.TrimSpace(cell)
	switch strings.ToLower(s) {
	case "", "-", "–", "—", "n/a", "na", "nan", "?":
		return false, true
	}
	if m, _, ok := strings.Cut(s, "±"); ok {
		s = strings.TrimSpace(m)
	}
	s = strings.TrimSuffix(s, "%")
	s = strings.TrimPrefix(s, "+")
	s = strings.ReplaceAll(s, ",", "")
	s = strings.ReplaceAll(s, "`", "")
	s = strings.ReplaceAll(s, "**", "")
	s = strings.TrimPrefix(s, "−") // U+2212 minus sign
	_, err := strconv.ParseFloat(s, 64)
	return err == nil, false
}

// columnAligns returns the alignment of each column of t, resolving
// AlignDefault to right for numeric columns and left for the others.
func columnAligns(t Table) []Align {
	out := make([]Align, len(t.Header))
	for c := range out {
		if c < len(t.Align) && t.Align[c] != AlignDefault {
			out[c] = t.Align[c]
			continue
		}
		numbers, others := 0, 0
		for _, row := range t.Rows {
			num, blank := numericCell(row[c])
			switch {
			case num:
				numbers++
			case !blank:
				others++
			}
		}
		out[c] = AlignLeft
		if numbers > 0 && others == 0 {
			out[c] = AlignRight
		}
	}
	return out
}
