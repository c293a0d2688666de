package fortune

import (
	"fmt"
	"io"
	"strings"

	"lethe/corpus"
)

// Read returns the fortunes of one fortune file, one document per fortune,
// one paragraph per line. name is used in error messages only. Fortunes that
// hold nothing but an attribution yield no document.
func Read(r io.Reader, name string) ([][]string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("fortune: reading %s: %w", name, err)
	}
	if err := corpus.CheckUTF8(data, name, "UTF-8 text (legacy-encoded fortune file?)"); err != nil {
		return nil, err
	}
	var (
		docs        [][]string
		doc         []string
		para        []string
		attribution bool // inside an attribution, until the next blank line
	)
	endPara := func() {
		if len(para) > 0 {
			doc = append(doc, strings.Join(para, " "))
			para = para[:0]
		}
		attribution = false
	}
	endDoc := func() {
		endPara()
		if len(doc) > 0 {
			docs = append(docs, doc)
			doc = nil
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		text := strings.Join(strings.Fields(line), " ")
		switch {
		case text == "%":
			endDoc()
		case text == "":
			endPara()
		case isAttribution(line, len(doc) > 0 || len(para) > 0):
			endPara()
			attribution = true
		case attribution && (line[0] == ' ' || line[0] == '\t'):
			// An indented continuation of the attribution.
		default:
			attribution = false
			para = append(para, text)
		}
	}
	endDoc()
	return docs, nil
}

// isAttribution reports whether a line is an attribution: "--" followed by
// a name, or an em dash followed by a name on an indented line after some
// text (afterText). An em dash at the start of a line is also how Russian and
// Spanish fortunes open a line of dialogue, hence the stricter rule.
func isAttribution(line string, afterText bool) bool {
	text := strings.TrimSpace(line)
	indented := line != strings.TrimLeft(line, " \t")
	if rest, ok := strings.CutPrefix(text, "--"); ok {
		return strings.TrimLeft(rest, "- \t") != ""
	}
	for _, dash := range []string{"—", "―"} {
		if rest, ok := strings.CutPrefix(text, dash); ok && indented && afterText {
			return strings.TrimSpace(rest) != ""
		}
	}
	return false
}
