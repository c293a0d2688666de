// Package report holds a small document model for experiment reports and
// renders it two ways: as Markdown, for reading in a terminal or a code
// host, and as one self-contained HTML file (inline CSS, figures inlined as
// SVG, no external resources) for reading in a browser.
//
// Inline text in paragraphs, list items, notes, captions and table cells may
// use two Markdown marks: `code` and **bold**; a backslash before an ASCII
// punctuation character makes it literal. Everything else is plain text and
// is escaped as each format needs.
package report

import (
	"fmt"
	"path"
	"strings"
)

// Document is a report: a title and a sequence of blocks.
type Document struct {
	Title  string
	Blocks []Block
}

// Block is one element of a Document: a *Heading, *Paragraph, *Table,
// *Figure, *Code, *List or *Note (or the same types as values).
type Block interface {
	isBlock()
}

// Heading is a section heading. Level 1 is the document title's level, so
// sections normally use Level 2 and subsections Level 3 (at most 6).
type Heading struct {
	Level int
	Text  string
}

// Paragraph is a paragraph of inline text.
type Paragraph struct {
	Text string
}

// Align is the horizontal alignment of a table column.
type Align int

// Column alignments. AlignDefault right-aligns a column whose cells are all
// numbers (such as "62.7 ± 1.3", "-3", "12%" or "n/a") and left-aligns others.
const (
	AlignDefault Align = iota
	AlignLeft
	AlignCenter
	AlignRight
)

// Table is a table with a header row. Align, if shorter than Header, gives
// the alignment of the first columns; the rest use AlignDefault. Every row
// must have as many cells as Header.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
	Align   []Align
}

// Figure is an SVG image. Markdown refers to it by Name, a slash-separated
// path relative to the report's directory such as "plots/loss.svg", where
// WriteDir puts it; HTML inlines SVG.
type Figure struct {
	Caption, Name string
	SVG           []byte
}

// Code is a block of literal text, such as the commands that reproduce the
// report. Lang, if set, names its language ("sh").
type Code struct {
	Lang, Text string
}

// List is a bulleted list of inline-text items.
type List struct {
	Items []string
}

// Note is a highlighted warning, such as "quick preset: a smoke test, the
// numbers mean nothing".
type Note struct {
	Text string
}

func (Heading) isBlock()   {}
func (Paragraph) isBlock() {}
func (Table) isBlock()     {}
func (Figure) isBlock()    {}
func (Code) isBlock()      {}
func (List) isBlock()      {}
func (Note) isBlock()      {}

// block returns b as a value of its concrete type, so that the renderers
// handle pointers and values alike; a nil pointer gives nil.
func block(b Block) Block {
	switch b := b.(type) {
	case *Heading:
		if b == nil {
			return nil
		}
		return *b
	case *Paragraph:
		if b == nil {
			return nil
		}
		return *b
	case *Table:
		if b == nil {
			return nil
		}
		return *b
	case *Figure:
		if b == nil {
			return nil
		}
		return *b
	case *Code:
		if b == nil {
			return nil
		}
		return *b
	case *List:
		if b == nil {
			return nil
		}
		return *b
	case *Note:
		if b == nil {
			return nil
		}
		return *b
	}
	return b
}

// validate checks what both renderers rely on and names the offending block.
func (d *Document) validate() error {
	names := map[string]int{}
	for i, b := range d.Blocks {
		if block(b) == nil {
			return fmt.Errorf("report: block %d is nil", i)
		}
		switch b := block(b).(type) {
		case Heading:
			if b.Level < 1 || b.Level > 6 {
				return fmt.Errorf("report: block %d (heading %q): level %d, expected 1 to 6", i, b.Text, b.Level)
			}
		case Table:
			if len(b.Header) == 0 {
				return fmt.Errorf("report: block %d (table %q): no header, expected at least one column", i, b.Caption)
			}
			if len(b.Align) > len(b.Header) {
				return fmt.Errorf("report: block %d (table %q): %d alignments for %d columns", i, b.Caption, len(b.Align), len(b.Header))
			}
			for r, row := range b.Rows {
				if len(row) != len(b.Header) {
					return fmt.Errorf("report: block %d (table %q): row %d has %d cells, expected %d like the header", i, b.Caption, r, len(row), len(b.Header))
				}
			}
		case Figure:
			if err := checkName(b.Name); err != nil {
				return fmt.Errorf("report: block %d (figure %q): %w", i, b.Caption, err)
			}
			if prev, ok := names[b.Name]; ok {
				return fmt.Errorf("report: block %d (figure %q): name %q already used by block %d", i, b.Caption, b.Name, prev)
			}
			names[b.Name] = i
			if _, err := svgElement(b.SVG); err != nil {
				return fmt.Errorf("report: block %d (figure %q, %s): %w", i, b.Caption, b.Name, err)
			}
		case Paragraph, Code, List, Note:
		default:
			return fmt.Errorf("report: block %d: unknown block type %T", i, b)
		}
	}
	return nil
}

// checkName accepts a figure name that WriteDir can place inside the report
// directory without clashing with the report files.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name, expected a relative path such as plots/loss.svg")
	case strings.ContainsAny(name, "\\:") || strings.HasPrefix(name, "/") || path.Clean(name) != name ||
		name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("name %q: expected a clean relative slash-separated path inside the report directory", name)
	case !strings.HasSuffix(name, ".svg"):
		return fmt.Errorf("name %q: expected a name ending in .svg", name)
	case strings.ContainsAny(name, " ()<>\"'#?%") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 }):
		return fmt.Errorf("name %q: expected no spaces, brackets, quotes, # ? or %%, which would break the Markdown link", name)
	}
	return nil
}

// svgElement returns svg from its <svg element on, after an optional XML
// declaration, doctype and comments, which HTML does not want inline.
func svgElement(svg []byte) ([]byte, error) {
	s := svg
	for {
		t := strings.TrimLeft(string(s), " \t\r\n\ufeff")
		s = s[len(s)-len(t):]
		switch {
		case strings.HasPrefix(t, "<?"):
			end := strings.Index(t, "?>")
			if end < 0 {
				return nil, fmt.Errorf("SVG byte %d: unterminated <? declaration", len(svg)-len(s))
			}
			s = s[end+2:]
		case strings.HasPrefix(t, "<!--"):
			end := strings.Index(t, "-->")
			if end < 0 {
				return nil, fmt.Errorf("SVG byte %d: unterminated comment", len(svg)-len(s))
			}
			s = s[end+3:]
		case strings.HasPrefix(t, "<!DOCTYPE") || strings.HasPrefix(t, "<!doctype"):
			end := strings.Index(t, ">")
			if end < 0 {
				return nil, fmt.Errorf("SVG byte %d: unterminated doctype", len(svg)-len(s))
			}
			s = s[end+1:]
		case strings.HasPrefix(t, "<svg"):
			return s, nil
		default:
			return nil, fmt.Errorf("SVG byte %d: expected an <svg> element", len(svg)-len(s))
		}
	}
}
