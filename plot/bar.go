package plot

import (
	"fmt"
	"math"
)

// slantDeg is the angle of group labels too wide to stand level.
const slantDeg = 35

// BarSeries is one set of bars of a BarChart, one bar per group, all in the
// series' colour: for example the scores of one pretraining arm on each
// language.
type BarSeries struct {
	Name string
	// Values holds one value per group; NaN leaves that bar out.
	Values []float64
	// Err, if not empty, holds one non-negative error (for example a standard
	// error over seeds) per group, drawn as a whisker of ±Err; NaN or 0 draws
	// none.
	Err []float64
}

// BarChart is a grouped bar chart: for each group (such as a language), one
// bar from each series side by side. Bars grow from zero, so negative values
// (a relative gain below zero) point down.
type BarChart struct {
	Title, YLabel string
	Groups        []string
	Bars          []BarSeries
	HLines        []HLine
	// Width and Height are the size in pixels; zero means DefaultWidth or
	// DefaultHeight.
	Width, Height int
}

// SVG draws the chart. It returns an error naming the series and group for
// missing groups or series, value or error counts that differ from the
// number of groups, infinite values and negative errors.
func (c *BarChart) SVG() ([]byte, error) {
	w, h, err := chartSize(c.Width, c.Height)
	if err != nil {
		return nil, fmt.Errorf("plot: bar chart %q: %w", c.Title, err)
	}
	if len(c.Groups) == 0 {
		return nil, fmt.Errorf("plot: bar chart %q: no groups", c.Title)
	}
	if len(c.Bars) == 0 {
		return nil, fmt.Errorf("plot: bar chart %q: no bar series", c.Title)
	}
	ylo, yhi := 0.0, 0.0 // bars grow from zero, so zero is always shown
	drawn := false
	for si, b := range c.Bars {
		if len(b.Values) != len(c.Groups) {
			return nil, fmt.Errorf("plot: bar chart %q: series %d (%q): %d values for %d groups", c.Title, si, b.Name, len(b.Values), len(c.Groups))
		}
		if len(b.Err) != 0 && len(b.Err) != len(c.Groups) {
			return nil, fmt.Errorf("plot: bar chart %q: series %d (%q): %d errors for %d groups (give one per group or none)", c.Title, si, b.Name, len(b.Err), len(c.Groups))
		}
		for gi, v := range b.Values {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("plot: bar chart %q: series %d (%q), group %q: value is infinite, expected a number or NaN", c.Title, si, b.Name, c.Groups[gi])
			}
			if math.IsNaN(v) {
				continue
			}
			drawn = true
			e := 0.0
			if len(b.Err) > 0 {
				e = b.Err[gi]
				if math.IsInf(e, 0) || e < 0 {
					return nil, fmt.Errorf("plot: bar chart %q: series %d (%q), group %q: error %v, expected a finite number >= 0", c.Title, si, b.Name, c.Groups[gi], e)
				}
				if math.IsNaN(e) {
					e = 0
				}
			}
			ylo, yhi = math.Min(ylo, v-e), math.Max(yhi, v+e)
		}
	}
	if !drawn {
		return nil, fmt.Errorf("plot: bar chart %q: every value is NaN, nothing to draw", c.Title)
	}
	if ylo, yhi, err = spanHLines("bar", c.Title, c.HLines, ylo, yhi); err != nil {
		return nil, err
	}
	ylo, yhi, ystep := expandRange(ylo, yhi, 6)
	yticks := stepTicks(ylo, yhi, ystep)
	ylabels := make([]string, len(yticks))
	ytw := 0.0
	for i, t := range yticks {
		ylabels[i] = formatTick(t, ystep)
		ytw = math.Max(ytw, textWidth(ylabels[i], fontSize))
	}

	var entries []legendEntry
	for i, b := range c.Bars {
		if b.Name != "" {
			entries = append(entries, legendEntry{name: b.Name, color: seriesColor(i), kind: legendBox})
		}
	}
	// Group labels wider than their group are drawn slanted, which needs
	// more room below the axis.
	maxLabel := 0.0
	for _, g := range c.Groups {
		maxLabel = math.Max(maxLabel, textWidth(g, fontSize))
	}
	l := newLayout(w, h, c.Title, entries, fontSize+6, 0, ytw)
	groupW := (l.plot.x1 - l.plot.x0) / float64(len(c.Groups))
	slant := maxLabel > groupW-6
	if slant {
		// The first label reaches left of its group by its slanted width.
		rad := slantDeg * math.Pi / 180
		minLeft := textWidth(c.Groups[0], fontSize)*math.Cos(rad) + 6 - groupW/2
		l = newLayout(w, h, c.Title, entries, fontSize+6+maxLabel*math.Sin(rad), minLeft, ytw)
	}
	a := l.plot
	groupW = (a.x1 - a.x0) / float64(len(c.Groups))
	barW := groupW * 0.8 / float64(len(c.Bars))
	if a.x1-a.x0 < 40 || a.y1-a.y0 < 40 || barW < 1 {
		return nil, fmt.Errorf("plot: bar chart %q: %dx%d is too small for %d groups of %d bars, labels and legend", c.Title, w, h, len(c.Groups), len(c.Bars))
	}
	ymap := func(y float64) float64 { return a.y1 - (y-ylo)/(yhi-ylo)*(a.y1-a.y0) }

	var s svgWriter
	s.header(l, c.Title)
	s.yAxis(a, yticks, ylabels, ymap, c.YLabel)
	for gi, g := range c.Groups {
		cx := a.x0 + (float64(gi)+0.5)*groupW
		if slant {
			y := a.y1 + fontSize
			s.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-%d %.1f %.1f)" fill="#333333">%s</text>`+"\n",
				cx+3, y, slantDeg, cx+3, y, esc(g))
			continue
		}
		s.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="middle" fill="#333333">%s</text>`+"\n", cx, a.y1+fontSize+5, esc(g))
	}
	y0 := ymap(0)
	for si, b := range c.Bars {
		color := seriesColor(si)
		for gi, v := range b.Values {
			if math.IsNaN(v) {
				continue
			}
			x := a.x0 + float64(gi)*groupW + groupW*0.1 + float64(si)*barW
			y := ymap(v)
			top, height := math.Min(y, y0), math.Abs(y-y0)
			s.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>`+"\n",
				x+0.5, top, barW-1, height, color, esc(b.Name), esc(c.Groups[gi]), esc(fmt.Sprintf("%.4g", v)))
			if len(b.Err) > 0 && b.Err[gi] > 0 {
				e := b.Err[gi]
				cx := x + barW/2
				lo, hi := ymap(v-e), ymap(v+e)
				capW := math.Min(barW/4, 5)
				s.f(`<path class="errorbar" d="M%.1f,%.1fV%.1fM%.1f,%.1fH%.1fM%.1f,%.1fH%.1f" stroke="#222222" stroke-width="1" fill="none"/>`+"\n",
					cx, lo, hi, cx-capW, lo, cx+capW, cx-capW, hi, cx+capW)
			}
		}
	}
	if ylo < 0 && yhi > 0 {
		s.f(`<line class="zero" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444444" stroke-width="1"/>`+"\n", a.x0, y0, a.x1, y0)
	}
	s.hLines(a, c.HLines, ymap)
	s.frame(a)
	s.legend(l, entries)
	return s.finish(), nil
}
