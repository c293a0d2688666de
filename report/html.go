package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// style is the page's inline style sheet: readable measure and type,
// right-aligned tabular figures in numeric columns, figures scaled to fit.
// It must contain neither '<' nor '&', so the page stays well-formed XML.
const style = `
body { margin: 0; background: #ffffff; color: #1f2328;
  font: 16px/1.55 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 72rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
main > p, main > ul, main > h1, main > h2, main > h3, figcaption, .note { max-width: 48rem; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 1.5rem; }
h2 { font-size: 1.4rem; margin: 2.2rem 0 0.8rem; padding-bottom: 0.2rem; border-bottom: 1px solid #d8dee4; }
h3 { font-size: 1.15rem; margin: 1.6rem 0 0.6rem; }
h4, h5, h6 { font-size: 1rem; margin: 1.2rem 0 0.5rem; }
p, ul { margin: 0 0 1rem; }
li { margin: 0.2rem 0; }
code, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.88em; }
code { background: #f2f4f6; padding: 0.1em 0.3em; border-radius: 3px; }
pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: 4px; padding: 0.8rem 1rem; overflow-x: auto; line-height: 1.4; }
pre code { background: none; padding: 0; font-size: 1em; }
.table-wrap { overflow-x: auto; margin: 0 0 1.4rem; }
.table-wrap > p { margin: 0 0 0.4rem; color: #444c56; max-width: 48rem; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { padding: 0.25rem 0.55rem; border-bottom: 1px solid #e1e4e8; vertical-align: top; }
th { max-width: 11rem; }
thead th { border-bottom: 2px solid #8c959f; font-weight: 600; }
tbody tr:nth-child(even) { background: #f8f9fa; }
.l { text-align: left; }
.c { text-align: center; }
.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1.5rem 0; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { margin-top: 0.4rem; color: #444c56; font-size: 0.94rem; }
.note { background: #fff8e6; border-left: 4px solid #e69f00; padding: 0.7rem 1rem; margin: 0 0 1rem; border-radius: 0 4px 4px 0; }
`

// WriteHTML writes the document as one self-contained HTML page: inline
// CSS, figures inlined as SVG, and no reference to any other file or
// address. The page is also well-formed XML (XHTML syntax), so tools that
// only read XML can check it. Tables and figures are numbered in order.
func (d *Document) WriteHTML(w io.Writer) error {
	if err := d.validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	title := oneLine(d.Title)
	if title == "" {
		title = "Report"
	}
	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n",
		htmlEscape(title), style)
	if d.Title != "" {
		fmt.Fprintf(bw, "<h1>%s</h1>\n", htmlInline(oneLine(d.Title)))
	}
	tables, figures := 0, 0
	for _, b := range d.Blocks {
		switch b := block(b).(type) {
		case Heading:
			fmt.Fprintf(bw, "<h%d>%s</h%d>\n", b.Level, htmlInline(oneLine(b.Text)), b.Level)
		case Paragraph:
			if strings.TrimSpace(b.Text) != "" {
				fmt.Fprintf(bw, "<p>%s</p>\n", htmlInline(strings.TrimSpace(b.Text)))
			}
		case Table:
			tables++
			htmlTable(bw, b, tables)
		case Figure:
			figures++
			svg, _ := svgElement(b.SVG) // checked by validate
			fmt.Fprintf(bw, "<figure id=\"figure-%d\">\n", figures)
			bw.Write(svg)
			if !strings.HasSuffix(string(svg), "\n") {
				bw.WriteString("\n")
			}
			fmt.Fprintf(bw, "<figcaption><strong>Figure %d.</strong> %s</figcaption>\n</figure>\n", figures, htmlInline(oneLine(b.Caption)))
		case Code:
			class := ""
			if lang := oneLine(b.Lang); lang != "" {
				class = fmt.Sprintf(" class=\"language-%s\"", htmlEscape(lang))
			}
			fmt.Fprintf(bw, "<pre><code%s>%s</code></pre>\n", class, htmlEscape(strings.TrimRight(b.Text, "\n")))
		case List:
			if len(b.Items) == 0 {
				continue
			}
			bw.WriteString("<ul>\n")
			for _, item := range b.Items {
				fmt.Fprintf(bw, "<li>%s</li>\n", htmlInline(strings.TrimSpace(item)))
			}
			bw.WriteString("</ul>\n")
		case Note:
			fmt.Fprintf(bw, "<div class=\"note\" role=\"note\"><strong>Note:</strong> %s</div>\n", htmlInline(strings.TrimSpace(b.Text)))
		}
	}
	bw.WriteString("</main>\n</body>\n</html>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: writing HTML: %w", err)
	}
	return nil
}

// htmlTable writes a table with its caption and per-column alignment.
func htmlTable(w *bufio.Writer, t Table, n int) {
	aligns := columnAligns(t)
	class := func(c int) string {
		switch aligns[c] {
		case AlignRight:
			return "r"
		case AlignCenter:
			return "c"
		}
		return "l"
	}
	// The caption is a paragraph above the table rather than a <caption>,
	// so that it wraps at the text's measure however wide the table is.
	w.WriteString("<div class=\"table-wrap\">\n")
	if t.Caption != "" {
		fmt.Fprintf(w, "<p class=\"caption\" id=\"table-%d\"><strong>Table %d.</strong> %s</p>\n", n, n, htmlInline(oneLine(t.Caption)))
	}
	w.WriteString("<table>\n")
	w.WriteString("<thead><tr>")
	for c, h := range t.Header {
		fmt.Fprintf(w, "<th class=\"%s\">%s</th>", class(c), htmlInline(strings.TrimSpace(h)))
	}
	w.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range t.Rows {
		w.WriteString("<tr>")
		for c, cell := range row {
			fmt.Fprintf(w, "<td class=\"%s\">%s</td>", class(c), htmlInline(strings.TrimSpace(cell)))
		}
		w.WriteString("</tr>\n")
	}
	w.WriteString("</tbody>\n</table>\n</div>\n")
}
