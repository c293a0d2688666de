package rst

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"lethe/corpus"
)

// droppedDirectives holds the directives whose content is not prose.
var droppedDirectives = map[string]bool{
	"code-block": true, "code": true, "sourcecode": true, "literalinclude": true, "parsed-literal": true,
	"highlight": true, "toctree": true, "contents": true, "include": true, "raw": true,
	"image": true, "figure": true, "math": true, "graphviz": true, "digraph": true, "ditaa": true,
	"table": true, "csv-table": true, "list-table": true, "flat-table": true, "tabularcolumns": true,
	"index": true, "productionlist": true, "kernel-doc": true, "kernel-include": true, "kernel-abi": true,
	"kernel-feat": true, "doctest": true, "testcode": true, "testoutput": true, "testsetup": true,
	"testcleanup": true, "autosummary": true, "automodule": true, "autoclass": true, "autofunction": true,
	"module": true, "currentmodule": true, "moduleauthor": true, "sectionauthor": true, "codeauthor": true,
	"program": true, "availability": true, "audit-event": true, "audit-event-table": true,
	"default-role": true, "role": true, "c:namespace": true, "c:namespace-push": true,
	"c:namespace-pop": true, "SPDX-License-Identifier": true, "meta": true, "title": true,
	"literal": true, "plot": true, "uml": true, "mermaid": true, "csv": true, "cssclass": true,
}

// proseArgDirectives holds the directives whose argument is prose.
var proseArgDirectives = map[string]bool{
	"note": true, "warning": true, "tip": true, "important": true, "attention": true, "caution": true,
	"danger": true, "error": true, "hint": true, "seealso": true, "admonition": true, "topic": true,
	"sidebar": true, "rubric": true, "epigraph": true, "impl-detail": true,
}

var (
	directiveRE  = regexp.MustCompile(`^\.\.\s+([A-Za-z0-9_:+.-]+)::(?:\s+(.*))?$`)
	optionRE     = regexp.MustCompile(`^:[A-Za-z0-9_ .-]+:(\s|$)`)
	fieldRE      = regexp.MustCompile(`^:([^:` + "`" + `]+):(\s+|$)`)
	bulletRE     = regexp.MustCompile(`^([-*+•‣⁃]|[0-9]+[.)]|\(?[0-9a-zA-Z#][.)]|\([0-9]+\)|#\.)\s+`)
	simpleTable  = regexp.MustCompile(`^=+([ \t]+=+)+\s*$`)
	gridBorder   = regexp.MustCompile(`^\+([-=]+\+)+$`)
	footnoteRef  = regexp.MustCompile(`\s?\[(#[A-Za-z0-9_-]*|\*|[0-9]+|[A-Za-z][A-Za-z0-9_.-]*)\]_`)
	roleRE       = regexp.MustCompile(`(:[A-Za-z0-9_.+:-]+:)?` + "`" + `([^` + "`" + `]+)` + "`" + `(:[A-Za-z0-9_.+:-]+:)?(__?)?`)
	literalRE    = regexp.MustCompile("``(.+?)``")
	strongRE     = regexp.MustCompile(`(^|[\s(\["'<{/-])\*\*(\S|\S.*?\S)\*\*($|[\s.,;:!?)\]}'">/-])`)
	emphasisRE   = regexp.MustCompile(`(^|[\s(\["'<{/-])\*(\S|\S.*?\S)\*($|[\s.,;:!?)\]}'">/-])`)
	substRE      = regexp.MustCompile(`\|([^|\s][^|]*)\|(__?)?`)
	refWordRE    = regexp.MustCompile(`\b([A-Za-z0-9][A-Za-z0-9.-]*)__?($|[\s.,;:!?)\]}'"])`)
	embeddedLink = regexp.MustCompile(`^(.*?)\s*<[^<>]+>$`)
)

// RST returns the prose of one reStructuredText file as one document, one
// paragraph per line. name is used in error messages.
func RST(r io.Reader, name string) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("rst: reading %s: %w", name, err)
	}
	if err := corpus.CheckUTF8(data, name, "UTF-8 reStructuredText"); err != nil {
		return nil, err
	}
	p := parser{skipIndent: -1}
	for _, line := range strings.Split(string(data), "\n") {
		p.line(expandTabs(strings.TrimRight(line, " \t\r\ufeff")))
	}
	p.flush()
	if len(p.lines) == 0 {
		return nil, nil
	}
	return [][]string{p.lines}, nil
}

// parser holds the state of a document being read.
type parser struct {
	lines []string

	para       []string // lines of the paragraph being gathered
	paraIndent int      // indentation of the paragraph's first line
	joinIndent bool     // the paragraph continues on more-indented lines (a directive's argument, a list item)
	item       bool     // the paragraph is a list item (the next item may follow without a blank line)

	skipIndent int  // skip the lines indented more than this (-1: not skipping)
	skipPara   bool // skip to the next blank line (a doctest block)
	literal    bool // the paragraph being gathered ends in "::"
	options    bool // just after a directive: its :option: lines follow
	signature  bool // a directive's argument continues on the next line (ends in "\\")
	table      bool // inside a simple table
	lastBorder bool // inside a simple table, the previous line was a border
	grid       bool // inside a grid table
}

// line handles one input line, tabs expanded and trailing space removed.
func (p *parser) line(line string) {
	text := strings.TrimLeft(line, " ")
	indent := len(line) - len(text)

	if p.skipIndent >= 0 {
		if text == "" || indent > p.skipIndent {
			return
		}
		p.skipIndent = -1
	}
	if p.signature {
		p.signature = strings.HasSuffix(text, `\`)
		return
	}
	if p.skipPara {
		p.skipPara = text != ""
		return
	}
	if p.table {
		// A simple table ends at a blank line after a border line.
		if text == "" && p.lastBorder {
			p.table = false
		}
		p.lastBorder = simpleTable.MatchString(text)
		return
	}
	if p.grid {
		if text != "" && (text[0] == '+' || text[0] == '|') {
			return
		}
		p.grid = false
	}
	if text == "" {
		p.flush()
		p.options = false
		return
	}
	if p.options {
		if optionRE.MatchString(text) {
			return
		}
		p.options = false
	}
	switch {
	case simpleTable.MatchString(text):
		p.flush() // a table may follow a definition list term directly
		p.table, p.lastBorder = true, true
		return
	case text == "::":
		p.add(text) // an expanded literal block marker: "Paragraph:\n\n::"
		return
	case gridBorder.MatchString(text):
		p.flush()
		p.grid = true
		return
	case text == ".." || strings.HasPrefix(text, ".. "):
		p.flush()
		p.explicit(text, indent)
		return
	case isAdornment(text):
		// A section underline makes the one-line paragraph above a title;
		// an overline or a transition is dropped.
		p.flush()
		return
	case strings.HasPrefix(text, ">>>") && len(p.para) == 0:
		p.skipPara = true // a doctest block runs to the next blank line
		return
	}

	if len(p.para) > 0 {
		switch {
		case p.item && indent <= p.paraIndent && (bulletRE.MatchString(text) || fieldRE.MatchString(text)):
			p.flush()
		case indent > p.paraIndent && !p.joinIndent && len(p.para) == 1:
			p.flush() // a definition list term, then its definition
		case indent < p.paraIndent:
			p.flush()
		}
	}
	if len(p.para) == 0 {
		p.paraIndent = indent
		p.joinIndent, p.item = false, false
		if m := bulletRE.FindString(text); m != "" {
			text = text[len(m):]
			p.joinIndent, p.item = true, true
			if text == ".." || strings.HasPrefix(text, ".. ") {
				p.explicit(text, indent+len(m)) // "* .. _target:"
				return
			}
		} else if m := fieldRE.FindString(text); m != "" {
			text = text[len(m):] // a field list: the body is kept, the name dropped
			p.joinIndent, p.item = true, true
		} else if strings.HasPrefix(text, "| ") || text == "|" {
			p.add(strings.TrimPrefix(text, "|"))
			p.flush() // a line block: every line is its own line
			return
		}
	}
	p.add(text)
}

// isAdornment reports whether text is a section adornment or transition: at
// least two copies of one ASCII punctuation character.
func isAdornment(text string) bool {
	if len(text) < 2 || !strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", rune(text[0])) {
		return false
	}
	return strings.Count(text, text[:1]) == len(text)
}

// add appends text to the paragraph being gathered.
func (p *parser) add(text string) {
	p.para = append(p.para, text)
	p.literal = strings.HasSuffix(text, "::")
}

// explicit handles an explicit markup line (".. "): a directive, a comment,
// a hyperlink target, a substitution definition or a footnote.
func (p *parser) explicit(text string, indent int) {
	if m := directiveRE.FindStringSubmatch(text); m != nil {
		name := m[1]
		if droppedDirectives[name] || strings.HasPrefix(name, "auto") {
			p.skipBlock(indent)
			return
		}
		p.options = true
		p.signature = strings.HasSuffix(m[2], `\`)
		if proseArgDirectives[name] && m[2] != "" && !p.signature {
			p.paraIndent = indent
			p.para = append(p.para, m[2])
			p.joinIndent = true
		}
		return
	}
	rest := strings.TrimSpace(strings.TrimPrefix(text, ".."))
	if strings.HasPrefix(rest, "[") {
		// A footnote or citation: its text is prose.
		if end := strings.Index(rest, "]"); end > 0 {
			if body := strings.TrimSpace(rest[end+1:]); body != "" {
				p.paraIndent = indent
				p.para = append(p.para, body)
			}
			p.joinIndent = true
			return
		}
	}
	// A comment, a target (.. _name:) or a substitution definition.
	p.skipBlock(indent)
}

// skipBlock skips the lines indented more than indent that follow.
func (p *parser) skipBlock(indent int) {
	p.skipIndent = indent
}

// flush ends the paragraph being gathered. A paragraph ending in "::"
// announces a literal block: the following more-indented lines are skipped.
func (p *parser) flush() {
	if len(p.para) == 0 {
		return
	}
	text := strings.Join(p.para, " ")
	if p.literal {
		text = strings.TrimSuffix(text, "::")
		if strings.HasSuffix(text, " ") || text == "" {
			text = strings.TrimRight(text, " ") // "Example ::" -> "Example"
		} else {
			text += ":" // "Example::" -> "Example:"
		}
		p.skipIndent = p.paraIndent
	}
	if s := inline(text); s != "" {
		p.lines = append(p.lines, s)
	}
	p.para = p.para[:0]
	p.literal = false
	p.joinIndent = false
}

// inline removes the inline markup of a paragraph.
func inline(s string) string {
	// Literals first: their content is not markup.
	var literals []string
	s = literalRE.ReplaceAllStringFunc(s, func(m string) string {
		literals = append(literals, m[2:len(m)-2])
		return fmt.Sprintf("\x00%d\x00", len(literals)-1)
	})
	s = footnoteRef.ReplaceAllString(s, "")
	s = roleRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := roleRE.FindStringSubmatch(m)
		return roleText(sm[1]+sm[3], sm[2])
	})
	for range 2 { // adjacent matches share their boundary character
		s = strongRE.ReplaceAllString(s, "${1}${2}${3}")
		s = emphasisRE.ReplaceAllString(s, "${1}${2}${3}")
	}
	s = substRE.ReplaceAllString(s, "$1")
	s = refWordRE.ReplaceAllString(s, "$1$2")
	s = unescape(s)
	for i, l := range literals {
		s = strings.Replace(s, fmt.Sprintf("\x00%d\x00", i), l, 1)
	}
	return strings.Join(strings.Fields(s), " ")
}

// roleText returns the text shown for interpreted text with the given role
// (empty for the default role or a hyperlink reference).
func roleText(role, text string) string {
	if m := embeddedLink.FindStringSubmatch(text); m != nil && m[1] != "" {
		return m[1] // `title <target>`
	}
	switch role {
	case ":rfc:", ":RFC:":
		return "RFC " + text
	case ":pep:", ":PEP:":
		return "PEP " + text
	case ":issue:":
		return "bpo-" + text
	case ":gh:":
		return "gh-" + text
	}
	if role != "" {
		text = strings.TrimPrefix(text, "!")
		if t, ok := strings.CutPrefix(text, "~"); ok {
			if i := strings.LastIndex(t, "."); i >= 0 {
				t = t[i+1:]
			}
			text = t
		}
	}
	return text
}

// unescape resolves backslash escapes: "\*" is "*", "\ " is nothing.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] != ' ' {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// expandTabs replaces the leading tabs of a line with spaces to the next
// multiple of 8, so that indentation compares.
func expandTabs(line string) string {
	if !strings.Contains(line, "\t") {
		return line
	}
	var b strings.Builder
	col := 0
	for i, r := range line {
		switch r {
		case '\t':
			n := 8 - col%8
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case ' ':
			b.WriteByte(' ')
			col++
		default:
			b.WriteString(line[i:])
			return b.String()
		}
	}
	return b.String()
}
