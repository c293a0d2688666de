// Package plot draws line charts and bar charts as small, self-contained SVG
// documents written by hand: no fonts, images, scripts or style sheets are
// referenced, so a chart can be saved as a file or inlined into an HTML page.
//
// Charts use nice axis ticks (steps of 1, 2 or 5 times a power of ten, or
// decades on a logarithmic axis), thin gridlines, a legend placed outside the
// data area, and the Okabe-Ito palette, which stays distinguishable for
// readers with the common forms of colour blindness.
package plot

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode/utf8"
)

// Default chart size in pixels, used when Width or Height is zero.
const (
	DefaultWidth  = 720
	DefaultHeight = 400
)

// Series is one line of a LineChart: the points (X[i], Y[i]) joined in order.
// A NaN in Y leaves a gap in the line, for example where a value was not
// measured. Dashed draws the line dashed, to tell apart arms that share a
// colour or to mark a reference curve.
type Series struct {
	Name   string
	X, Y   []float64
	Dashed bool
	// Lo and Hi, when set (both, as long as X), draw a translucent band
	// between them around the line, such as mean ± one standard deviation
	// over seeds; a NaN in either leaves a gap in the band.
	Lo, Hi []float64
	// Markers draws a dot at every point, for curves measured at few x.
	Markers bool
}

// HLine is a horizontal reference line across a chart, such as a unigram
// loss floor or the chance accuracy of a task, drawn dashed and labelled with
// Label at its right end.
type HLine struct {
	Y     float64
	Label string
}

// spanHLines widens the y range [ylo, yhi] of a kind ("bar", "line") chart
// to the reference lines hls, which must have finite heights.
func spanHLines(kind, title string, hls []HLine, ylo, yhi float64) (float64, float64, error) {
	for i, hl := range hls {
		if !finite(hl.Y) {
			return 0, 0, fmt.Errorf("plot: %s chart %q: horizontal line %d (%q): y = %v, expected a finite number", kind, title, i, hl.Label, hl.Y)
		}
		ylo, yhi = math.Min(ylo, hl.Y), math.Max(yhi, hl.Y)
	}
	return ylo, yhi, nil
}

// Layout constants, in pixels.
const (
	fontSize      = 12
	titleSize     = 15
	charWidth     = 0.6 * fontSize // rough advance of a sans-serif glyph
	legendRowStep = 18
	legendSample  = 22 // length of the line or box before a legend label
)

// seriesColor returns the i-th colour of the Okabe-Ito palette, in an order
// that puts the most contrasting colours first and yellow, weak on white, last.
func seriesColor(i int) string {
	p := [...]string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}
	return p[i%len(p)]
}

// esc escapes s for use in SVG text and in double-quoted attribute values.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
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
			if r < 0x20 && r != '\t' { // control characters are not allowed in XML
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// textWidth estimates the width in pixels of s drawn at size px.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * 0.6 * size
}

// chartSize validates a requested width and height and fills in defaults.
func chartSize(w, h int) (int, int, error) {
	if w < 0 || h < 0 {
		return 0, 0, fmt.Errorf("size %dx%d: width and height must not be negative", w, h)
	}
	if w == 0 {
		w = DefaultWidth
	}
	if h == 0 {
		h = DefaultHeight
	}
	if w < 200 || h < 150 {
		return 0, 0, fmt.Errorf("size %dx%d: need at least 200x150 pixels", w, h)
	}
	return w, h, nil
}

// legendKind says how a legend entry's sample is drawn.
type legendKind int

const (
	legendLine  legendKind = iota // a line in the series colour
	legendBox                     // a filled box, for bars
	legendVLine                   // a thin grey line, for vertical markers
)

// legendEntry is one row of a legend.
type legendEntry struct {
	name   string
	color  string
	dashed bool
	kind   legendKind
}

// area is the rectangle, in pixels, where data is drawn.
type area struct {
	x0, y0, x1, y1 float64 // left, top, right, bottom
}

// layout is the placement of a chart's parts.
type layout struct {
	w, h        int
	plot        area
	legendRight bool    // legend in a column right of the plot, otherwise in rows below it
	legendX     float64 // top-left corner of the legend
	legendY     float64
	legendRows  [][]int // entries per row when the legend is below
}

// newLayout places the plot area and the legend. below is the height in
// pixels of the labels under the x axis (tick labels plus axis label);
// minLeft is the least room left of the plot area that the x labels need.
func newLayout(w, h int, title string, entries []legendEntry, below, minLeft, yTickWidth float64) layout {
	l := layout{w: w, h: h}
	top := 14.0
	if title != "" {
		top = 36
	}
	left := math.Max(30+yTickWidth+10, minLeft) // y label, tick labels, gap
	bottom := 12 + below
	right := 16.0

	maxName := 0.0
	for _, e := range entries {
		maxName = math.Max(maxName, textWidth(e.name, fontSize))
	}
	legendW := legendSample + 8 + maxName + 12
	legendH := float64(len(entries)) * legendRowStep
	// On the right if that leaves the plot 60% of the width and the entries
	// fit its height; otherwise in rows below.
	if len(entries) > 0 && float64(w)-left-legendW-right >= 0.6*float64(w) && legendH <= float64(h)-top-bottom {
		l.legendRight = true
		right += legendW
		l.legendX = float64(w) - legendW
		l.legendY = top + 4
	} else if len(entries) > 0 {
		// Rows below the x axis, wrapped to the chart width.
		avail := float64(w) - left - right
		row := []int{}
		x := 0.0
		for i, e := range entries {
			ew := legendSample + 8 + textWidth(e.name, fontSize) + 18
			if len(row) > 0 && x+ew > avail {
				l.legendRows = append(l.legendRows, row)
				row, x = nil, 0
			}
			row = append(row, i)
			x += ew
		}
		l.legendRows = append(l.legendRows, row)
		bottom += 8 + float64(len(l.legendRows))*legendRowStep
		l.legendX = left
		l.legendY = float64(h) - float64(len(l.legendRows))*legendRowStep - 6
	}
	l.plot = area{x0: left, y0: top, x1: float64(w) - right, y1: float64(h) - bottom}
	return l
}

// svgWriter accumulates the elements of one chart.
type svgWriter struct {
	bytes.Buffer
}

func (s *svgWriter) f(format string, args ...any) {
	fmt.Fprintf(&s.Buffer, format, args...)
}

// header starts the document; the clip path ID is filled in by finish.
func (s *svgWriter) header(l layout, title string) {
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif" font-size="%d">`+"\n",
		l.w, l.h, l.w, l.h, fontSize)
	if title != "" {
		s.f(`<title>%s</title>`+"\n", esc(title))
	}
	s.f(`<rect class="background" x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", l.w, l.h)
	s.f(`<defs><clipPath id="CLIPID"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath></defs>`+"\n",
		l.plot.x0, l.plot.y0, l.plot.x1-l.plot.x0, l.plot.y1-l.plot.y0)
	if title != "" {
		s.f(`<text class="title" x="%.1f" y="22" text-anchor="middle" font-size="%d" font-weight="bold">%s</text>`+"\n",
			float64(l.w)/2, titleSize, esc(title))
	}
}

// finish closes the document and gives the clip path an ID derived from the
// chart's content, so that several charts inlined into one HTML page do not
// refer to each other's clip paths.
func (s *svgWriter) finish() []byte {
	s.f("</svg>\n")
	h := fnv.New64a()
	h.Write(s.Bytes())
	id := fmt.Sprintf("plot%016x", h.Sum64())
	return bytes.ReplaceAll(s.Bytes(), []byte("CLIPID"), []byte(id))
}

// frame draws the plot area's border.
func (s *svgWriter) frame(a area) {
	s.f(`<rect class="frame" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444444" stroke-width="1"/>`+"\n",
		a.x0, a.y0, a.x1-a.x0, a.y1-a.y0)
}

// yAxis draws horizontal gridlines, tick labels and the rotated y label.
func (s *svgWriter) yAxis(a area, ticks []float64, labels []string, ymap func(float64) float64, label string) {
	for i, t := range ticks {
		y := ymap(t)
		s.f(`<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd" stroke-width="0.6"/>`+"\n", a.x0, y, a.x1, y)
		s.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#333333">%s</text>`+"\n",
			a.x0-5, y, esc(labels[i]))
	}
	if label != "" {
		// Beside the widest tick label, 16 px from the left edge at most.
		tw := 0.0
		for _, l := range labels {
			tw = math.Max(tw, textWidth(l, fontSize))
		}
		x := math.Max(16, a.x0-5-tw-14)
		cy := (a.y0 + a.y1) / 2
		s.f(`<text class="axis-label" x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
			x, cy, x, cy, esc(label))
	}
}

// hLines draws horizontal reference lines with their labels inside the plot.
func (s *svgWriter) hLines(a area, lines []HLine, ymap func(float64) float64) {
	for _, hl := range lines {
		y := ymap(hl.Y)
		if y < a.y0-0.5 || y > a.y1+0.5 {
			continue
		}
		s.f(`<line class="hline" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555555" stroke-width="1" stroke-dasharray="2 3"/>`+"\n",
			a.x0, y, a.x1, y)
		if hl.Label != "" {
			s.f(`<text class="hline-label" x="%.1f" y="%.1f" text-anchor="end" fill="#555555" font-size="11">%s</text>`+"\n",
				a.x1-4, y-4, esc(hl.Label))
		}
	}
}

// legend draws the legend entries where the layout placed them.
func (s *svgWriter) legend(l layout, entries []legendEntry) {
	if len(entries) == 0 {
		return
	}
	s.f(`<g class="legend">` + "\n")
	draw := func(e legendEntry, x, y float64) {
		switch e.kind {
		case legendBox:
			s.f(`<rect class="legend-box" x="%.1f" y="%.1f" width="%d" height="10" fill="%s"/>`+"\n", x+6, y-5, legendSample-12, e.color)
		case legendVLine:
			s.f(`<line class="legend-line" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999999" stroke-width="1"/>`+"\n",
				x+legendSample/2, y-6, x+legendSample/2, y+6)
		default:
			dash := ""
			if e.dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			s.f(`<line class="legend-line" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n",
				x, y, x+legendSample, y, e.color, dash)
		}
		s.f(`<text class="legend-label" x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>`+"\n", x+legendSample+6, y, esc(e.name))
	}
	if l.legendRight {
		for i, e := range entries {
			draw(e, l.legendX, l.legendY+6+float64(i)*legendRowStep)
		}
	} else {
		for r, row := range l.legendRows {
			x := l.legendX
			y := l.legendY + 6 + float64(r)*legendRowStep
			for _, i := range row {
				draw(entries[i], x, y)
				x += legendSample + 8 + textWidth(entries[i].name, fontSize) + 18
			}
		}
	}
	s.f("</g>\n")
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
