package roff

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"lethe/corpus"
)

// maxExpansions bounds the string interpolations (\*x) of one input line, so
// that a string defined in terms of itself cannot loop forever.
const maxExpansions = 1000

// ManPage returns the prose of a man page's roff source: one document per
// page (per .TH), one paragraph per line. name is used in error messages. A
// page that only sources another (.so) yields no documents.
func ManPage(r io.Reader, name string) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("roff: reading %s: %w", name, err)
	}
	if err := corpus.CheckUTF8(data, name, "UTF-8 roff source (a page in a legacy encoding?)"); err != nil {
		return nil, err
	}
	p := &parser{name: name, strs: make(map[string]string)}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		// A backslash at the end of a line joins it with the next one.
		for strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `\\`) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimSuffix(lines[i], "\r")
		}
		if p.line(line) {
			return nil, nil // .so: a link to another page
		}
	}
	p.endDoc()
	return p.docs, nil
}

// parser holds the state of the man page being read.
type parser struct {
	name string
	strs map[string]string // strings defined with .ds

	docs [][]string
	doc  []string
	para strings.Builder // the paragraph being filled

	nofill    bool   // .nf: every input line is its own line
	endSkip   string // while skipping a block (.de, .ig, .TS, .EX): the request that ends it
	skipDepth int    // while skipping a false conditional block: open \{ count
	tag       bool   // .TP: the next text is the item's tag
	heading   bool   // .SH/.SS without arguments: the next text is the heading
	glue      bool   // the previous text ended with \c: join without a space
	elseTrue  bool   // the .el after the last .ie is taken
	seenText  bool   // some text has been output (a later .so is ignored)
}

// line handles one input line (continuations joined). It reports whether the
// page turned out to be a .so link.
func (p *parser) line(line string) (so bool) {
	if p.skipDepth > 0 {
		p.skipDepth += strings.Count(line, `\{`) - strings.Count(line, `\}`)
		return false
	}
	if p.endSkip != "" {
		if line == "" || line[0] != '.' && line[0] != '\'' {
			return false
		}
		if req, _ := request(line); req == p.endSkip {
			p.endSkip = ""
		}
		return false
	}
	if line == "" || line[0] != '.' && line[0] != '\'' {
		p.text(line)
		return false
	}
	req, rest := request(line)
	switch req {
	case "":
		// a comment (.\"), an empty request or an escape (.\}): nothing
	case "TH":
		p.endDoc()
	case "SH", "SS":
		p.breakPara()
		p.tag = false
		p.heading = len(args(rest)) == 0
	case "PP", "LP", "P", "HP", "RS", "RE", "br", "sp", "in", "ti", "bp", "ce", "SY", "YS", "Sp":
		p.breakPara()
	case "IP", "Ip":
		p.breakPara()
		if a := args(rest); len(a) > 0 {
			p.tagLine(p.inline(a[0]))
		}
	case "TP", "TQ":
		p.breakPara()
		p.tag = true
	case "nf":
		p.breakPara()
		p.nofill = true
	case "fi":
		p.breakPara()
		p.nofill = false
	case "EX", "Vb": // pod2man's verbatim blocks are code examples too
		p.breakPara()
		p.endSkip = map[string]string{"EX": "EE", "Vb": "Ve"}[req]
	case "TS":
		p.breakPara()
		p.endSkip = "TE"
	case "EQ":
		p.endSkip = "EN"
	case "PS":
		p.endSkip = "PE"
	case "de", "de1", "am", "am1", "ig":
		p.endSkip = "."
		if a := args(rest); len(a) > 1 {
			p.endSkip = a[1] // .de xx yy ends at .yy
		} else if req == "ig" && len(a) == 1 {
			p.endSkip = a[0]
		}
	case "so", "mso":
		if req == "so" && !p.seenText && p.para.Len() == 0 && len(p.docs) == 0 {
			return true
		}
	case "ds", "ds1":
		name, value, _ := strings.Cut(strings.TrimLeft(rest, " \t"), " ")
		value = strings.TrimLeft(value, " \t")
		// The value is read in copy mode: \\ stands for one backslash.
		p.strs[name] = strings.ReplaceAll(strings.TrimPrefix(value, `"`), `\\`, `\`)
	case "B", "I", "SM", "SB":
		if a := args(rest); len(a) > 0 {
			p.text(`\&` + strings.Join(a, " "))
		}
	case "BR", "RB", "IR", "RI", "BI", "IB":
		p.text(`\&` + strings.Join(args(rest), ""))
	case "UE", "ME":
		p.glue = true
		p.text(`\&` + strings.Join(args(rest), ""))
	case "OP":
		p.text(`\&[` + strings.Join(args(rest), " ") + "]")
	case "nop":
		p.text(strings.TrimLeft(rest, " \t"))
	case "if", "ie":
		ok, body := condition(rest, p.strs)
		if req == "ie" {
			p.elseTrue = !ok
		}
		return p.conditional(ok, body)
	case "el":
		return p.conditional(p.elseTrue, rest)
	default:
		// layout requests (.ad, .nh, .ft, .PD, ...), index entries (.IX), .UR/.MT (the address is
		// dropped, the link text follows), unknown macros: ignored.
	}
	return false
}

// conditional handles the body of an .if/.ie/.el whose condition is ok.
func (p *parser) conditional(ok bool, body string) (so bool) {
	body = strings.TrimLeft(body, " \t")
	if rest, block := strings.CutPrefix(body, `\{`); block {
		if !ok {
			p.skipDepth = 1 + strings.Count(rest, `\{`) - strings.Count(rest, `\}`)
			return false
		}
		body = strings.TrimLeft(rest, " \t")
	}
	if !ok || body == "" {
		return false
	}
	return p.line(body)
}

// condition evaluates the condition at the start of s the way groff in nroff
// mode would for the conditions man pages use ('n', 't', '!', string
// comparison 'a'b', \n(.g, d name), and returns the rest of the line.
// Conditions it cannot evaluate (numeric expressions on registers) are false.
func condition(s string, strs map[string]string) (bool, string) {
	s = strings.TrimLeft(s, " \t")
	neg := false
	for strings.HasPrefix(s, "!") {
		neg = !neg
		s = s[1:]
	}
	if s == "" {
		return false, ""
	}
	var ok bool
	switch c := s[0]; {
	case c == '\'' || c == '"':
		// 'a'b': string comparison.
		parts := strings.SplitN(s[1:], string(c), 3)
		if len(parts) < 3 {
			return false, ""
		}
		ok, s = parts[0] == parts[1], parts[2]
	case (c == 'n' || c == 't' || c == 'o' || c == 'e' || c == 'v') && (len(s) == 1 || s[1] == ' ' || s[1] == '\t' || s[1] == '\\'):
		ok, s = c == 'n', s[1:]
	case (c == 'd' || c == 'r' || c == 'c' || c == 'm' || c == 'F' || c == 'S') && len(s) > 1 && (s[1] == ' ' || s[1] == '\t'):
		fields := strings.Fields(s[1:])
		if len(fields) == 0 {
			return false, ""
		}
		_, defined := strs[fields[0]]
		ok = c == 'd' && defined
		_, s, _ = strings.Cut(strings.TrimLeft(s[1:], " \t"), fields[0])
	default:
		expr, rest, _ := strings.Cut(s, " ")
		if i := strings.Index(expr, `\{`); i >= 0 { // ".if \n(.g\{\"
			expr, rest = expr[:i], expr[i:]+" "+rest
		}
		switch expr {
		case `\n(.g`, `\n[.g]`:
			ok = true
		default:
			n, err := strconv.Atoi(expr)
			ok = err == nil && n > 0
		}
		s = rest
	}
	return ok != neg, s
}

// request splits a control line into its request name and the rest. The
// name of a comment line (.\") is "".
func request(line string) (name, rest string) {
	s := strings.TrimLeft(line[1:], " \t")
	end := strings.IndexAny(s, " \t\\")
	if end < 0 {
		end = len(s)
	}
	return s[:end], s[end:]
}

// args splits the arguments of a macro call: separated by spaces, a double
// quoted argument may hold spaces and "" stands for one quote; \" starts a
// comment.
func args(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || strings.HasPrefix(s, `\"`) {
			return out
		}
		var b strings.Builder
		if s[0] == '"' {
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i++
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
			}
			s = s[i:]
		} else {
			i := 0
			for ; i < len(s) && s[i] != ' ' && s[i] != '\t'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					if s[i+1] == '"' {
						break
					}
					b.WriteByte('\\')
					i++
				}
				b.WriteByte(s[i])
			}
			s = s[i:]
		}
		out = append(out, b.String())
	}
}

// text handles a text line (or the text produced by a font macro).
func (p *parser) text(line string) {
	if strings.TrimSpace(line) == "" {
		if !p.nofill && !p.tag && !p.heading {
			p.breakPara() // a blank line is a paragraph break
		}
		return
	}
	if !p.nofill && (line[0] == ' ' || line[0] == '\t') {
		p.breakPara() // leading space breaks the line
	}
	text, cont := p.expand(line)
	switch {
	case p.heading:
		p.heading = false
		return
	case p.tag:
		p.tag = false
		p.tagLine(collapse(text))
		return
	}
	if strings.TrimSpace(text) != "" {
		if p.para.Len() > 0 && !p.glue {
			p.para.WriteByte(' ')
		}
		p.para.WriteString(text)
	}
	p.glue = cont
	if p.nofill && !cont {
		p.breakPara()
	}
}

// tagLine outputs the tag of a list item as its own line, unless it is an
// option, a bullet or a number.
func (p *parser) tagLine(tag string) {
	p.breakPara()
	tag = collapse(tag)
	if tag == "" || tag[0] == '-' || tag[0] == '+' || strings.IndexFunc(tag, unicode.IsLetter) < 0 {
		return
	}
	p.doc = append(p.doc, tag)
	p.seenText = true
}

// breakPara ends the paragraph being filled.
func (p *parser) breakPara() {
	if s := collapse(p.para.String()); s != "" {
		p.doc = append(p.doc, s)
		p.seenText = true
	}
	p.para.Reset()
	p.glue = false
}

// endDoc ends the current man page.
func (p *parser) endDoc() {
	p.breakPara()
	if len(p.doc) > 0 {
		p.docs = append(p.docs, p.doc)
		p.doc = nil
	}
	p.nofill, p.tag, p.heading = false, false, false
}

// inline interprets the escapes of s (a macro argument) and returns its text.
func (p *parser) inline(s string) string {
	text, _ := p.expand(s)
	return text
}

// expand interprets the escape sequences of one line of text. cont reports
// a trailing \c (the next line continues this one without a space).
func (p *parser) expand(s string) (text string, cont bool) {
	var b strings.Builder
	expansions := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case '"', '#': // comment to the end of the line
			return b.String(), false
		case 'c':
			return b.String(), true
		case '-':
			b.WriteByte('-')
		case 'e', '\\', 'E':
			b.WriteByte('\\')
		case ' ', '~', '0', 't':
			b.WriteByte(' ')
		case '\'':
			b.WriteByte('\'')
		case '(':
			if i+2 <= len(s) {
				b.WriteString(special(s[i : i+2]))
			}
			i += 2
		case '[':
			name, n := bracketed(s[i-1:])
			b.WriteString(special(name))
			i += n - 1
		case 'C':
			name, n := delimited(s[i:])
			b.WriteString(special(name))
			i += n
		case '*':
			name, n := regName(s[i:])
			i += n
			value, ok := p.strs[name]
			if !ok {
				value = predefinedStrings[name]
			}
			if expansions++; expansions < maxExpansions {
				s = value + s[i:]
				i = 0
			}
		case 'f', 'F', 'm', 'M', 'g', 'k', 'Y', 'V', '$', 'O':
			_, n := regName(s[i:])
			i += n
		case 'n':
			if i < len(s) && (s[i] == '+' || s[i] == '-') {
				i++
			}
			_, n := regName(s[i:])
			i += n
		case 's':
			i += sizeLen(s[i:])
		case 'h', 'v', 'w', 'o', 'b', 'l', 'L', 'x', 'X', 'D', 'N', 'R', 'A', 'B', 'Z', 'S', 'H':
			_, n := delimited(s[i:])
			i += n
		default:
			// \& \) \, \/ \% \: \| \^ \z \p \a \d \u \{ \} \r \j and an escaped
			// newline print nothing; any other escaped character prints itself.
			if !strings.ContainsRune("&),/%:|^zpadu{}rj\n", rune(e)) {
				b.WriteByte(e)
			}
		}
	}
	return b.String(), false
}

// regName reads the name after \f, \*, \n, ...: one character, (xx or
// [long name]. It returns the name and the number of bytes read.
func regName(s string) (string, int) {
	switch {
	case s == "":
		return "", 0
	case s[0] == '(':
		if len(s) < 3 {
			return "", len(s)
		}
		return s[1:3], 3
	case s[0] == '[':
		return bracketed(s)
	default:
		_, n := utf8.DecodeRuneInString(s)
		return s[:n], n
	}
}

// bracketed reads "[name]" at the start of s.
func bracketed(s string) (string, int) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return s[1:], len(s)
	}
	return s[1:end], end + 1
}

// delimited reads an argument between two copies of a delimiter ('..').
func delimited(s string) (string, int) {
	if s == "" {
		return "", 0
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return s[1:], len(s)
	}
	return s[1 : end+1], end + 2
}

// sizeLen returns the length of the argument of \s: \s0, \s-1, \s+2, \s12,
// \s(12, \s[12], \s'12'.
func sizeLen(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '(':
		return min(i+3, len(s))
	case '[':
		_, n := bracketed(s[i:])
		return i + n
	case '\'':
		_, n := delimited(s[i:])
		return i + n
	}
	if s[i] >= '1' && s[i] <= '3' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
		return i + 2
	}
	if s[i] >= '0' && s[i] <= '9' {
		return i + 1
	}
	return i
}

// collapse trims s and collapses its runs of white space into single spaces.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
