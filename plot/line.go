package plot

import (
	"fmt"
	"math"
)

// LineChart is a chart of one or more series against a shared x axis, such
// as training loss against updates for several arms of an experiment. Each
// series is drawn in the order of its points, so X should be sorted. For
// series of many thousands of points, Downsample them first.
type LineChart struct {
	Title, XLabel, YLabel string
	Series                []Series
	// LogX draws the x axis on a logarithmic scale; every X must then be > 0.
	LogX bool
	// VLines are x positions marked by thin grey vertical lines, such as the
	// updates after which the embeddings were reset; those outside the data's
	// x range are not drawn. VLineLabel, if set, names them in the legend.
	VLines     []float64
	VLineLabel string
	// HLines are labelled horizontal reference lines; the automatic y range
	// includes them, a fixed one may leave them out.
	HLines []HLine
	// Width and Height are the size in pixels; zero means DefaultWidth or
	// DefaultHeight.
	Width, Height int
	// YMin and YMax, when set, fix that end of the y axis; otherwise it is
	// chosen from the data and the HLines. Lines are clipped to the axes.
	YMin, YMax *float64
}

// SVG draws the chart. It returns an error naming the series and the index
// for empty series, X and Y of different lengths, X values that are not
// finite (or not positive with LogX), and infinite Y values.
func (c *LineChart) SVG() ([]byte, error) {
	w, h, err := chartSize(c.Width, c.Height)
	if err != nil {
		return nil, fmt.Errorf("plot: line chart %q: %w", c.Title, err)
	}
	if len(c.Series) == 0 {
		return nil, fmt.Errorf("plot: line chart %q: no series", c.Title)
	}
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for si, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plot: line chart %q: series %d (%q): %d x values but %d y values", c.Title, si, s.Name, len(s.X), len(s.Y))
		}
		if len(s.X) == 0 {
			return nil, fmt.Errorf("plot: line chart %q: series %d (%q): no points", c.Title, si, s.Name)
		}
		if (s.Lo != nil || s.Hi != nil) && (len(s.Lo) != len(s.X) || len(s.Hi) != len(s.X)) {
			return nil, fmt.Errorf("plot: line chart %q: series %d (%q): band of %d low and %d high values for %d points", c.Title, si, s.Name, len(s.Lo), len(s.Hi), len(s.X))
		}
		for i := range s.Lo {
			for _, v := range []float64{s.Lo[i], s.Hi[i]} {
				if math.IsInf(v, 0) {
					return nil, fmt.Errorf("plot: line chart %q: series %d (%q): band value %d is infinite", c.Title, si, s.Name, i)
				}
				if !math.IsNaN(v) {
					ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
				}
			}
		}
		for i, x := range s.X {
			if !finite(x) {
				return nil, fmt.Errorf("plot: line chart %q: series %d (%q): x[%d] = %v, expected a finite number", c.Title, si, s.Name, i, x)
			}
			if c.LogX && x <= 0 {
				return nil, fmt.Errorf("plot: line chart %q: series %d (%q): x[%d] = %v, expected > 0 on a logarithmic x axis", c.Title, si, s.Name, i, x)
			}
			y := s.Y[i]
			if math.IsInf(y, 0) {
				return nil, fmt.Errorf("plot: line chart %q: series %d (%q): y[%d] is infinite, expected a number or NaN for a gap", c.Title, si, s.Name, i)
			}
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
			if !math.IsNaN(y) {
				ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
			}
		}
	}
	if math.IsInf(ylo, 1) {
		return nil, fmt.Errorf("plot: line chart %q: every y value is NaN, nothing to draw", c.Title)
	}
	if ylo, yhi, err = spanHLines("line", c.Title, c.HLines, ylo, yhi); err != nil {
		return nil, err
	}
	// The y range: data and reference lines, widened to nice ticks, then
	// overridden by the fixed ends.
	ylo, yhi, ystep := expandRange(ylo, yhi, 6)
	if c.YMin != nil || c.YMax != nil {
		if c.YMin != nil {
			ylo = *c.YMin
		}
		if c.YMax != nil {
			yhi = *c.YMax
		}
		if !finite(ylo) || !finite(yhi) || ylo >= yhi {
			return nil, fmt.Errorf("plot: line chart %q: y range [%v, %v]: expected finite ends with min < max", c.Title, ylo, yhi)
		}
		ystep = niceStep(yhi-ylo, 6)
	}
	yticks := stepTicks(ylo, yhi, ystep)
	ylabels := make([]string, len(yticks))
	ytw := 0.0
	for i, t := range yticks {
		ylabels[i] = formatTick(t, ystep)
		ytw = math.Max(ytw, textWidth(ylabels[i], fontSize))
	}

	// The x range: the data, exactly.
	if xlo == xhi {
		if c.LogX {
			xlo, xhi = xlo/2, xhi*2
		} else {
			xlo, xhi, _ = expandRange(xlo, xhi, 6)
		}
	}
	var xticks []float64
	var xlabels []string
	if c.LogX {
		xticks = logTicks(xlo, xhi)
		for _, t := range xticks {
			xlabels = append(xlabels, formatLogTick(t))
		}
	} else {
		var step float64
		xticks, step = linearTicks(xlo, xhi, 6)
		for _, t := range xticks {
			xlabels = append(xlabels, formatTick(t, step))
		}
	}

	var entries []legendEntry
	for i, s := range c.Series {
		if s.Name != "" {
			entries = append(entries, legendEntry{name: s.Name, color: seriesColor(i), dashed: s.Dashed})
		}
	}
	if c.VLineLabel != "" && len(c.VLines) > 0 {
		entries = append(entries, legendEntry{name: c.VLineLabel, kind: legendVLine})
	}
	below := float64(fontSize + 6)
	if c.XLabel != "" {
		below *= 2
	}
	l := newLayout(w, h, c.Title, entries, below, 0, ytw)
	a := l.plot
	if a.x1-a.x0 < 40 || a.y1-a.y0 < 40 {
		return nil, fmt.Errorf("plot: line chart %q: %dx%d is too small for its labels and legend", c.Title, w, h)
	}

	xmap := func(x float64) float64 {
		if c.LogX {
			return a.x0 + (math.Log10(x)-math.Log10(xlo))/(math.Log10(xhi)-math.Log10(xlo))*(a.x1-a.x0)
		}
		return a.x0 + (x-xlo)/(xhi-xlo)*(a.x1-a.x0)
	}
	ymap := func(y float64) float64 { return a.y1 - (y-ylo)/(yhi-ylo)*(a.y1-a.y0) }

	var s svgWriter
	s.header(l, c.Title)
	s.yAxis(a, yticks, ylabels, ymap, c.YLabel)
	for i, t := range xticks {
		x := xmap(t)
		s.f(`<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd" stroke-width="0.6"/>`+"\n", x, a.y0, x, a.y1)
		s.f(`<text class="tick" x="%.1f" y="%.1f" text-anchor="middle" fill="#333333">%s</text>`+"\n", x, a.y1+fontSize+5, esc(xlabels[i]))
	}
	if c.XLabel != "" {
		s.f(`<text class="axis-label" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (a.x0+a.x1)/2, a.y1+2*(fontSize+6)+2, esc(c.XLabel))
	}
	for _, v := range c.VLines {
		if !finite(v) || v < xlo || v > xhi || (c.LogX && v <= 0) {
			continue
		}
		x := xmap(v)
		s.f(`<line class="vline" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999999" stroke-width="0.7"/>`+"\n", x, a.y0, x, a.y1)
	}
	s.hLines(a, c.HLines, ymap)

	s.f(`<g clip-path="url(#CLIPID)">` + "\n")
	for si, sr := range c.Series {
		// The band: one polygon per run of points where both ends are set.
		for i := 0; i < len(sr.Lo); {
			if math.IsNaN(sr.Lo[i]) || math.IsNaN(sr.Hi[i]) {
				i++
				continue
			}
			j := i
			for j < len(sr.Lo) && !math.IsNaN(sr.Lo[j]) && !math.IsNaN(sr.Hi[j]) {
				j++
			}
			s.f(`<polygon class="band" fill="%s" fill-opacity="0.18" stroke="none" points="`, seriesColor(si))
			for k := i; k < j; k++ {
				s.f("%.1f,%.1f ", xmap(sr.X[k]), ymap(sr.Hi[k]))
			}
			for k := j - 1; k >= i; k-- {
				s.f("%.1f,%.1f ", xmap(sr.X[k]), ymap(sr.Lo[k]))
			}
			s.f("\"/>\n")
			i = j
		}
	}
	for si, sr := range c.Series {
		dash := ""
		if sr.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		color := seriesColor(si)
		// One polyline per run of points between NaN gaps; a run of one
		// point is drawn as a dot so it does not vanish.
		start := -1
		flush := func(end int) {
			if start < 0 {
				return
			}
			if end-start == 1 {
				s.f(`<circle class="point" cx="%.1f" cy="%.1f" r="2" fill="%s"/>`+"\n", xmap(sr.X[start]), ymap(sr.Y[start]), color)
			} else {
				s.f(`<polyline class="series" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"%s points="`, color, dash)
				for i := start; i < end; i++ {
					if i > start {
						s.WriteByte(' ')
					}
					s.f("%.1f,%.1f", xmap(sr.X[i]), ymap(sr.Y[i]))
				}
				s.f("\"/>\n")
			}
			start = -1
		}
		for i, y := range sr.Y {
			if math.IsNaN(y) {
				flush(i)
			} else if start < 0 {
				start = i
			}
		}
		flush(len(sr.Y))
		if sr.Markers {
			for i, y := range sr.Y {
				if !math.IsNaN(y) {
					s.f(`<circle class="marker" cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", xmap(sr.X[i]), ymap(y), color)
				}
			}
		}
	}
	s.f("</g>\n")
	s.frame(a)
	s.legend(l, entries)
	return s.finish(), nil
}
