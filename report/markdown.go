package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the document as GitHub-flavoured Markdown. Figures
// are image links to their Name, relative to the Markdown file, so the SVG
// files must sit beside it as WriteDir puts them. Tables and figures are
// numbered in order.
func (d *Document) WriteMarkdown(w io.Writer) error {
	if err := d.validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if d.Title != "" {
		fmt.Fprintf(bw, "# %s\n\n", mdInline(oneLine(d.Title), false))
	}
	tables, figures := 0, 0
	for _, b := range d.Blocks {
		switch b := block(b).(type) {
		case Heading:
			fmt.Fprintf(bw, "%s %s\n\n", strings.Repeat("#", b.Level), mdInline(oneLine(b.Text), false))
		case Paragraph:
			if strings.TrimSpace(b.Text) != "" {
				fmt.Fprintf(bw, "%s\n\n", mdBlockText(strings.TrimSpace(b.Text)))
			}
		case Table:
			tables++
			if b.Caption != "" {
				fmt.Fprintf(bw, "**Table %d.** %s\n\n", tables, mdInline(oneLine(b.Caption), false))
			}
			mdTable(bw, b)
		case Figure:
			figures++
			alt := strings.NewReplacer("[", `\[`, "]", `\]`).Replace(mdInline(oneLine(b.Caption), false))
			fmt.Fprintf(bw, "![%s](%s)\n\n", alt, b.Name)
			if b.Caption != "" {
				fmt.Fprintf(bw, "**Figure %d.** %s\n\n", figures, mdInline(oneLine(b.Caption), false))
			}
		case Code:
			fence := strings.Repeat("`", max(3, longestRun(b.Text, '`')+1))
			text := b.Text
			if text != "" && !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			fmt.Fprintf(bw, "%s%s\n%s%s\n\n", fence, oneLine(b.Lang), text, fence)
		case List:
			for _, item := range b.Items {
				fmt.Fprintf(bw, "- %s\n", strings.ReplaceAll(mdBlockText(strings.TrimSpace(item)), "\n", "\n  "))
			}
			if len(b.Items) > 0 {
				bw.WriteString("\n")
			}
		case Note:
			text := mdBlockText(strings.TrimSpace(b.Text))
			fmt.Fprintf(bw, "> **Note:** %s\n\n", strings.ReplaceAll(text, "\n", "\n> "))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: writing Markdown: %w", err)
	}
	return nil
}

// mdTable writes a pipe table with an alignment row.
func mdTable(w *bufio.Writer, t Table) {
	row := func(cells []string) {
		w.WriteString("|")
		for _, c := range cells {
			w.WriteString(" " + mdInline(strings.TrimSpace(c), true) + " |")
		}
		w.WriteString("\n")
	}
	row(t.Header)
	w.WriteString("|")
	for _, a := range columnAligns(t) {
		switch a {
		case AlignRight:
			w.WriteString(" ---: |")
		case AlignCenter:
			w.WriteString(" :---: |")
		default:
			w.WriteString(" --- |")
		}
	}
	w.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	w.WriteString("\n")
}

// oneLine joins the lines of s with spaces, for text that must stay on one
// line (headings, captions).
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}
