package pod

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"unicode"

	"lethe/corpus"
)

// POD returns the prose of one POD file as one document, one paragraph per
// line. name is used in error messages.
func POD(r io.Reader, name string) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("pod: reading %s: %w", name, err)
	}
	if err := corpus.CheckUTF8(data, name, "UTF-8 POD (=encoding latin1?)"); err != nil {
		return nil, err
	}
	var (
		lines  []string
		para   []string // the lines of the paragraph being gathered
		inPOD  bool     // inside POD (not code)
		region int      // depth of =begin regions
	)
	emit := func(s string) {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			lines = append(lines, s)
		}
	}
	// paragraph handles one paragraph (its lines joined with "\n").
	paragraph := func(p string) {
		if isCommand(p) {
			inPOD = true
			cmd, arg := p, ""
			if i := strings.IndexAny(p, " \t\n"); i >= 0 {
				cmd, arg = p[:i], strings.TrimSpace(p[i+1:])
			}
			switch {
			case cmd == "=cut":
				inPOD = false
			case cmd == "=begin":
				region++
			case cmd == "=end":
				region = max(region-1, 0)
			case region > 0, cmd == "=for":
			case strings.HasPrefix(cmd, "=head") && len(cmd) == 6 && cmd[5] >= '1' && cmd[5] <= '6':
				if text := codes(arg); !allCaps(text) {
					emit(text)
				}
			case cmd == "=item":
				emit(codes(itemText(arg)))
			}
			return
		}
		if !inPOD || region > 0 || p[0] == ' ' || p[0] == '\t' {
			return // code, another formatter's text, or a verbatim paragraph
		}
		emit(codes(p))
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			if len(para) > 0 {
				paragraph(strings.Join(para, "\n"))
				para = para[:0]
			}
			continue
		}
		if !inPOD && len(para) == 0 && !isCommand(line) {
			continue // code between =cut and the next command
		}
		para = append(para, line)
	}
	if len(para) > 0 {
		paragraph(strings.Join(para, "\n"))
	}
	if len(lines) == 0 {
		return nil, nil
	}
	return [][]string{lines}, nil
}

// isCommand reports whether a paragraph is a command paragraph: "=" and a
// letter.
func isCommand(p string) bool {
	return len(p) > 1 && p[0] == '=' && (p[1] >= 'a' && p[1] <= 'z' || p[1] >= 'A' && p[1] <= 'Z')
}

// itemText drops the bullet or number of an =item label.
func itemText(arg string) string {
	arg = strings.TrimSpace(arg)
	if rest, ok := strings.CutPrefix(arg, "*"); ok {
		return rest
	}
	i := 0
	for i < len(arg) && arg[i] >= '0' && arg[i] <= '9' {
		i++
	}
	if i > 0 && (i == len(arg) || arg[i] == '.' || arg[i] == ' ' || arg[i] == ')') {
		return strings.TrimLeft(arg[i:], ".) ")
	}
	return arg
}

// allCaps reports whether s has letters and all of them are capitals.
func allCaps(s string) bool {
	letters := false
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		letters = letters || unicode.IsLetter(r)
	}
	return letters
}

// codes resolves the formatting codes of a paragraph's text.
func codes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if c, raw, end, ok := formatCode(s, i); ok {
			b.WriteString(render(c, raw))
			i = end
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// formatCode parses the formatting code that starts at s[i] (B<...>,
// C<< ... >>), if any: it returns the code letter, the raw content and the
// index just past the code. An unterminated code runs to the end of s.
func formatCode(s string, i int) (c byte, raw string, end int, ok bool) {
	if i+1 >= len(s) || s[i] < 'A' || s[i] > 'Z' || s[i+1] != '<' {
		return 0, "", 0, false
	}
	n := 0
	for i+1+n < len(s) && s[i+1+n] == '<' {
		n++
	}
	if start := i + 1 + n; n > 1 && start < len(s) && isSpace(s[start]) {
		// The doubled form: the content ends at white space followed by
		// as many '>' as there were '<'.
		closer := strings.Repeat(">", n)
		for j := start; j < len(s); j++ {
			if !isSpace(s[j]) {
				continue
			}
			k := j
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if strings.HasPrefix(s[k:], closer) {
				return s[i], strings.TrimSpace(s[start:j]), k + n, true
			}
		}
		return s[i], strings.TrimSpace(s[start:]), len(s), true
	}
	// The single form: the content ends at the first '>' that does not
	// close a nested code.
	for j := i + 2; j < len(s); {
		if s[j] == '>' {
			return s[i], s[i+2 : j], j + 1, true
		}
		if _, _, e, ok := formatCode(s, j); ok {
			j = e
			continue
		}
		j++
	}
	return s[i], s[i+2:], len(s), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

// render returns the text of formatting code c with raw content raw.
func render(c byte, raw string) string {
	switch c {
	case 'X', 'Z':
		return ""
	case 'E':
		return escape(strings.TrimSpace(raw))
	case 'L':
		return link(raw)
	default: // B, I, C, F, S and unknown codes
		return codes(raw)
	}
}

// escape returns the character named by E<name>.
func escape(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "verbar":
		return "|"
	case "sol":
		return "/"
	}
	if v, err := strconv.ParseInt(name, 0, 32); err == nil && v > 0 { // 233, 0xE9, 0351
		return string(rune(v))
	}
	if s := html.UnescapeString("&" + name + ";"); s != "&"+name+";" {
		return s
	}
	return ""
}

// link returns the text shown for L<...>.
func link(raw string) string {
	if text, _, ok := strings.Cut(raw, "|"); ok {
		return codes(text)
	}
	if strings.Contains(raw, "://") || strings.HasPrefix(raw, "mailto:") {
		return codes(raw)
	}
	name, section, ok := strings.Cut(raw, "/")
	if !ok {
		return codes(name)
	}
	section = strings.Trim(strings.TrimSpace(section), `"`)
	return codes(section)
}
