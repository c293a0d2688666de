package html

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"lethe/corpus"
)

// blocks holds the elements that start and end a line.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Li: true, atom.Dt: true, atom.Dd: true, atom.Td: true, atom.Th: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Div: true, atom.Pre: true, atom.Caption: true, atom.Figcaption: true,
	atom.Section: true, atom.Article: true, atom.Aside: true, atom.Main: true, atom.Address: true,
	atom.Table: true, atom.Tr: true, atom.Ul: true, atom.Ol: true, atom.Dl: true, atom.Hr: true,
	atom.Br: true, atom.Body: true, atom.Figure: true, atom.Header: true, atom.Footer: true,
	atom.Center: true, atom.Form: true, atom.Fieldset: true, atom.Legend: true, atom.Summary: true,
	atom.Details: true, atom.Tbody: true, atom.Thead: true, atom.Tfoot: true,
}

// dropped holds the elements whose content is not text.
var dropped = map[atom.Atom]bool{
	atom.Head: true, atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Img: true, atom.Svg: true, atom.Math: true, atom.Object: true,
	atom.Iframe: true, atom.Select: true, atom.Button: true, atom.Textarea: true,
}

// boilerplateClasses holds the classes of the navigation elements of the
// DocBook XSL and Publican stylesheets.
var boilerplateClasses = []string{
	"navheader", "navfooter", "docnav", "toc", "list-of-tables", "list-of-figures", "list-of-examples",
	"url", // Publican repeats every link target as "→ https://..." after the link
}

// Text returns the text of one HTML file as one document, one line per block
// element. name is used in error messages. A file without text yields no
// document.
func Text(r io.Reader, name string) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("html: reading %s: %w", name, err)
	}
	if err := corpus.CheckUTF8(data, name, "UTF-8 HTML"); err != nil {
		return nil, err
	}
	root, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("html: %s: %w", name, err)
	}
	var x extractor
	x.walk(root, false)
	x.flush()
	if len(x.lines) == 0 {
		return nil, nil
	}
	return [][]string{x.lines}, nil
}

// extractor collects the lines of a document.
type extractor struct {
	lines []string
	line  strings.Builder // text of the line being built
}

// walk appends the text of n and its descendants. pre reports that n is
// inside a <pre>, where line breaks are kept.
func (x *extractor) walk(n *html.Node, pre bool) {
	switch n.Type {
	case html.TextNode:
		x.text(n.Data, pre)
		return
	case html.ElementNode:
		if dropped[n.DataAtom] || boilerplate(n) {
			return
		}
	case html.DocumentNode:
	default:
		return // comments, doctype
	}
	block := n.Type == html.ElementNode && blocks[n.DataAtom]
	if block {
		x.flush()
	}
	pre = pre || n.DataAtom == atom.Pre
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		x.walk(c, pre)
	}
	if block {
		x.flush()
	}
}

// text adds the text of a text node to the current line.
func (x *extractor) text(s string, pre bool) {
	if !pre {
		x.line.WriteString(s)
		return
	}
	for i, part := range strings.Split(s, "\n") {
		if i > 0 {
			x.flush()
		}
		x.line.WriteString(part)
	}
}

// flush ends the current line.
func (x *extractor) flush() {
	if s := strings.Join(strings.Fields(x.line.String()), " "); s != "" {
		x.lines = append(x.lines, s)
	}
	x.line.Reset()
}

// boilerplate reports whether element n is navigation boilerplate.
func boilerplate(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "class":
			for _, c := range strings.Fields(a.Val) {
				if slices.Contains(boilerplateClasses, c) {
					return true
				}
			}
		case "id":
			if a.Val == "banner" {
				return true
			}
		}
	}
	return false
}

// DropUntranslated returns the documents of a translated page without the
// lines that occur verbatim anywhere in english, the documents of the same
// page in English (both as returned by Text). Documents left empty are
// dropped. Comparing the number of lines before and after tells how much of
// a page was translated.
func DropUntranslated(doc, english [][]string) [][]string {
	seen := make(map[string]bool)
	for _, d := range english {
		for _, l := range d {
			seen[l] = true
		}
	}
	var out [][]string
	for _, d := range doc {
		var kept []string
		for _, l := range d {
			if !seen[l] {
				kept = append(kept, l)
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	return out
}
