package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testSVG = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a test figure -->
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50"><rect class="bar" x="1" y="1" width="10" height="20" fill="#0072B2"/></svg>
`

// sample is a document with one block of each kind.
func sample() *Document {
	return &Document{
		Title: "Forgetting vs standard <quick>",
		Blocks: []Block{
			&Note{Text: "quick preset: smoke test, numbers mean nothing"},
			&Heading{Level: 2, Text: "Results & figures"},
			&Paragraph{Text: "Run `lethe experiment --preset quick`; the **forgetting** arm uses K=1000 & clip < 1."},
			&Table{
				Caption: "XNLI accuracy, mean ± std over seeds",
				Header:  []string{"language", "standard", "forgetting", "note"},
				Rows: [][]string{
					{"de", "52.1 ± 1.0", "57.3 ± 0.8", "a|b"},
					{"<unk> & co", "-3.5", "n/a", "`x|y`"},
				},
			},
			Figure{Caption: "Loss per update", Name: "plots/loss.svg", SVG: []byte(testSVG)},
			&Code{Lang: "sh", Text: "lethe experiment --out runs/x && echo '<done>'"},
			&List{Items: []string{"first **bold**", "second with `code`"}},
		},
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	lines := strings.Split(md, "\n")
	var table []string
	for _, l := range lines {
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	if len(table) != 4 { // header, alignment, two rows
		t.Fatalf("%d table lines, want 4:\n%s", len(table), md)
	}
	for _, l := range table {
		// Unescaped pipes separate the 4 cells: 5 of them per line.
		if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 5 {
			t.Errorf("table line %q has %d unescaped pipes, want 5", l, n)
		}
	}
	if table[1] != "| --- | ---: | ---: | --- |" {
		t.Errorf("alignment row %q: want numeric columns right-aligned", table[1])
	}
	for _, want := range []string{
		"# Forgetting vs standard \\<quick>\n",
		"> **Note:** quick preset: smoke test, numbers mean nothing\n",
		"## Results & figures\n",
		"Run `lethe experiment --preset quick`; the **forgetting** arm uses K=1000 & clip < 1.\n",
		"**Table 1.** XNLI accuracy, mean ± std over seeds\n",
		`| de | 52.1 ± 1.0 | 57.3 ± 0.8 | a\|b |`,
		`| \<unk> & co | -3.5 | n/a | ` + "`x\\|y`" + ` |`,
		"![Loss per update](plots/loss.svg)\n",
		"**Figure 1.** Loss per update\n",
		"```sh\nlethe experiment --out runs/x && echo '<done>'\n```\n",
		"- first **bold**\n- second with `code`\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkdownCodeFence(t *testing.T) {
	d := &Document{Blocks: []Block{Code{Text: "a ``` b"}}}
	var buf bytes.Buffer
	if err := d.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "````\na ``` b\n````\n\n" {
		t.Errorf("code block with a fence inside = %q", got)
	}
}

func TestHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("page starts %q", page[:min(40, len(page))])
	}
	// Well-formed as XML, and collect what it holds.
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	counts := map[string]int{}
	var cells []string
	var inTD bool
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("HTML is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			counts[tok.Name.Local]++
			for _, a := range tok.Attr {
				if a.Name.Local == "src" || a.Name.Local == "href" {
					t.Errorf("<%s %s=%q>: the page must not refer to other resources", tok.Name.Local, a.Name.Local, a.Value)
				}
			}
			if tok.Name.Local == "td" {
				inTD = true
				text.Reset()
			}
		case xml.CharData:
			if inTD {
				text.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "td" {
				inTD = false
				cells = append(cells, text.String())
			}
		}
	}
	for name, want := range map[string]int{"svg": 1, "rect": 1, "figure": 1, "table": 1, "tr": 3, "td": 8, "th": 4, "li": 2, "pre": 1, "h1": 1, "h2": 1, "style": 1} {
		if counts[name] != want {
			t.Errorf("%d <%s> elements, want %d", counts[name], name, want)
		}
	}
	if counts["code"] != 4 || counts["strong"] < 3 {
		t.Errorf("%d <code> (want 4) and %d <strong> (want >= 3): inline marks not rendered", counts["code"], counts["strong"])
	}
	for _, want := range []string{"a|b", "<unk> & co", "x|y"} {
		found := false
		for _, c := range cells {
			found = found || c == want
		}
		if !found {
			t.Errorf("no cell reads %q after unescaping; cells %q", want, cells)
		}
	}
	for _, want := range []string{
		"&lt;unk&gt; &amp; co",
		`<td class="r">-3.5</td>`,
		`<td class="r">n/a</td>`,
		"<title>Forgetting vs standard &lt;quick&gt;</title>",
		"echo &#39;&lt;done&gt;&#39;",
		`<div class="note" role="note">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<?xml", "<!--", "src=", "href=", "url(http", "@import", "<script"} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}

func TestInline(t *testing.T) {
	tests := []struct {
		in, html, md, cell string
	}{
		{"plain", "plain", "plain", "plain"},
		{"a < b & c > d", "a &lt; b &amp; c &gt; d", "a < b & c > d", "a < b & c > d"},
		{"<b>&amp;", "&lt;b&gt;&amp;amp;", `\<b>\&amp;`, `\<b>\&amp;`},
		{"`<x>` and **bold `c`**", "<code>&lt;x&gt;</code> and <strong>bold <code>c</code></strong>", "`<x>` and **bold `c`**", "`<x>` and **bold `c`**"},
		{"a|b\nc", "a|b\nc", "a|b\nc", `a\|b c`},
		{`x \*y\* \| z`, "x *y* | z", `x \*y\* \| z`, `x \*y\* \| z`},
		{"unclosed ` and ** marks", "unclosed ` and ** marks", "unclosed ` and ** marks", "unclosed ` and ** marks"},
		{"2 * 3", "2 * 3", "2 * 3", "2 * 3"},
	}
	for _, tt := range tests {
		if got := htmlInline(tt.in); got != tt.html {
			t.Errorf("htmlInline(%q) = %q, want %q", tt.in, got, tt.html)
		}
		if got := mdInline(tt.in, false); got != tt.md {
			t.Errorf("mdInline(%q) = %q, want %q", tt.in, got, tt.md)
		}
		if got := mdInline(tt.in, true); got != tt.cell {
			t.Errorf("mdInline(%q, cell) = %q, want %q", tt.in, got, tt.cell)
		}
	}
}

func TestMarkdownBlockStarts(t *testing.T) {
	tests := []struct{ in, want string }{
		{"# 3 runs", `\# 3 runs`},
		{"plain\n- not a list\n+ nor this\n> nor a quote", "plain\n\\- not a list\n\\+ nor this\n\\> nor a quote"},
		{"1. first\n12) second\n3.5 nats", "1\\. first\n12\\) second\n3.5 nats"},
		{"---\n***\n**bold** start\n-3 points", "\\---\n\\***\n**bold** start\n-3 points"},
		{"```\n=====", "\\```\n\\====="},
	}
	for _, tt := range tests {
		if got := mdBlockText(tt.in); got != tt.want {
			t.Errorf("mdBlockText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestColumnAligns(t *testing.T) {
	tab := Table{
		Header: []string{"lang", "acc", "gain", "tokens", "mixed", "forced"},
		Rows: [][]string{
			{"de", "62.7 ± 1.3", "+4.1", "1,600,000", "12", "x"},
			{"ru", "n/a", "-3%", "—", "many", "y"},
		},
		Align: []Align{AlignDefault, AlignDefault, AlignDefault, AlignDefault, AlignDefault, AlignCenter},
	}
	got := columnAligns(tab)
	want := []Align{AlignLeft, AlignRight, AlignRight, AlignRight, AlignLeft, AlignCenter}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %q: align %d, want %d", tab.Header[i], got[i], want[i])
		}
	}
}

func TestMeanStd(t *testing.T) {
	tests := []struct {
		xs        []float64
		mean, std float64
		digits    int
		formatted string
	}{
		{[]float64{62, 63, 64}, 63, 1, 1, "63.0 ± 1.0"},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7), 2, "5.00 ± 2.14"},
		{[]float64{62.7}, 62.7, 0, 1, "62.7"},
		{[]float64{-0.01, -0.02}, -0.015, math.Sqrt(0.00005), 1, "0.0 ± 0.0"},
	}
	for _, tt := range tests {
		m, s := MeanStd(tt.xs)
		if math.Abs(m-tt.mean) > 1e-12 || math.Abs(s-tt.std) > 1e-12 {
			t.Errorf("MeanStd(%v) = %v, %v; want %v, %v", tt.xs, m, s, tt.mean, tt.std)
		}
		if got := FormatMeanStd(m, s, len(tt.xs), tt.digits); got != tt.formatted {
			t.Errorf("FormatMeanStd(%v, %v, %d, %d) = %q, want %q", m, s, len(tt.xs), tt.digits, got, tt.formatted)
		}
	}
	if m, s := MeanStd(nil); !math.IsNaN(m) || !math.IsNaN(s) {
		t.Errorf("MeanStd(nil) = %v, %v; want NaN, NaN", m, s)
	}
	if got := FormatMeanStd(math.NaN(), 0, 0, 1); got != "n/a" {
		t.Errorf("FormatMeanStd of no runs = %q, want n/a", got)
	}
}

func TestValidateErrors(t *testing.T) {
	svg := []byte("<svg/>")
	tests := []struct {
		name  string
		block []Block
		want  string
	}{
		{"heading level", []Block{Heading{Level: 7, Text: "h"}}, `block 0 (heading "h"): level 7, expected 1 to 6`},
		{"short row", []Block{Paragraph{}, Table{Caption: "t", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}, {"3"}}}}, `block 1 (table "t"): row 1 has 1 cells, expected 2`},
		{"no header", []Block{Table{Caption: "t"}}, "no header"},
		{"escaping name", []Block{Figure{Caption: "f", Name: "../x.svg", SVG: svg}}, "inside the report directory"},
		{"absolute name", []Block{Figure{Name: "/tmp/x.svg", SVG: svg}}, "clean relative"},
		{"not svg name", []Block{Figure{Name: "x.png", SVG: svg}}, "ending in .svg"},
		{"space in name", []Block{Figure{Name: "my plot.svg", SVG: svg}}, "no spaces"},
		{"empty name", []Block{Figure{SVG: svg}}, "empty name"},
		{"duplicate", []Block{Figure{Name: "a.svg", SVG: svg}, Figure{Name: "a.svg", SVG: svg}}, `name "a.svg" already used by block 0`},
		{"not an svg", []Block{Figure{Name: "a.svg", SVG: []byte("  <html>")}}, "SVG byte 2: expected an <svg> element"},
		{"nil block", []Block{nil}, "block 0 is nil"},
		{"nil pointer", []Block{Paragraph{}, (*Table)(nil)}, "block 1 is nil"},
	}
	for _, tt := range tests {
		d := &Document{Blocks: tt.block}
		for _, write := range []func(io.Writer) error{d.WriteMarkdown, d.WriteHTML} {
			err := write(io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
			}
		}
	}
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	d := sample()
	for range 2 { // the second time replaces the files
		if err := d.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, "plots", "loss.svg"))
	if err != nil || string(got) != testSVG {
		t.Errorf("figure file: %v, %q", err, got)
	}
	for _, name := range []string{"report.md", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v, %d bytes", name, err, len(b))
		}
	}
	var files []string
	filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if strings.Join(files, " ") != "plots/loss.svg report.html report.md" {
		t.Errorf("files %q: want exactly the figure and the two reports (no temporary files)", files)
	}

	// An invalid document writes nothing.
	bad := t.TempDir()
	d.Blocks = append(d.Blocks, Heading{Level: 0})
	if err := d.WriteDir(bad); err == nil {
		t.Error("WriteDir accepted a heading of level 0")
	}
	if entries, _ := os.ReadDir(bad); len(entries) != 0 {
		t.Errorf("WriteDir of an invalid document left %d files", len(entries))
	}
}

// TestCI95 checks the interval against values worked by hand: for
// {1, 2, 3, 4} the mean is 2.5, the standard deviation sqrt(5/3) and the
// half-width 3.182 * sqrt(5/3) / 2 = 2.054; for two values t = 12.706.
func TestCI95(t *testing.T) {
	m, h := CI95([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(h-2.054) > 0.001 {
		t.Errorf("CI95(1..4) = %v ± %v, want 2.5 ± 2.054", m, h)
	}
	if _, h := CI95([]float64{0, 2}); math.Abs(h-12.706) > 1e-9 {
		t.Errorf("CI95(0, 2) half-width %v, want 12.706", h)
	}
	if m, h := CI95([]float64{3}); m != 3 || !math.IsNaN(h) {
		t.Errorf("CI95(3) = %v ± %v, want 3 ± NaN", m, h)
	}
	xs := make([]float64, 41)
	for i := range xs {
		xs[i] = float64(i % 2)
	}
	_, s := MeanStd(xs)
	if _, h := CI95(xs); math.Abs(h-1.96*s/math.Sqrt(41)) > 1e-12 {
		t.Errorf("CI95 of 41 values uses %v, want the normal quantile", h*math.Sqrt(41)/s)
	}
}
