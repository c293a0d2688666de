package plot

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// element is one parsed SVG element: its name, attributes and direct text.
type element struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG checks that b is well-formed XML with an <svg> root and returns
// its elements in document order.
func parseSVG(t *testing.T, b []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var out []element
	var stack []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			if len(out) == 0 && e.name != "svg" {
				t.Fatalf("root element is <%s>, want <svg>", e.name)
			}
			out = append(out, e)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("empty SVG")
	}
	return out
}

// count returns the number of elements with the given name and class.
func count(els []element, name, class string) int {
	n := 0
	for _, e := range els {
		if e.name == name && (class == "" || e.attrs["class"] == class) {
			n++
		}
	}
	return n
}

// texts returns the text of the elements with the given class.
func texts(els []element, class string) []string {
	var out []string
	for _, e := range els {
		if e.attrs["class"] == class {
			out = append(out, e.text)
		}
	}
	return out
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 1, []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{0.003, 7.1, []string{"1", "2", "3", "4", "5", "6", "7"}},
		{0, 16000, []string{"0", "2000", "4000", "6000", "8000", "10000", "12000", "14000", "16000"}},
		{1, 16000, []string{"2000", "4000", "6000", "8000", "10000", "12000", "14000", "16000"}},
		{-3.2, 2.1, []string{"-3", "-2", "-1", "0", "1", "2"}},
		{6.5, 7.05, []string{"6.5", "6.6", "6.7", "6.8", "6.9", "7.0"}},
		{0.00012, 0.00051, []string{"1.5e-4", "2e-4", "2.5e-4", "3e-4", "3.5e-4", "4e-4", "4.5e-4", "5e-4"}},
		{2e6, 9e6, []string{"2e6", "3e6", "4e6", "5e6", "6e6", "7e6", "8e6", "9e6"}},
	}
	for _, tt := range tests {
		ticks, step := linearTicks(tt.lo, tt.hi, 6)
		var got []string
		for _, v := range ticks {
			got = append(got, formatTick(v, step))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("ticks [%v, %v] = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
		for _, v := range ticks {
			if v < tt.lo-1e-12 || v > tt.hi+1e-12 {
				t.Errorf("ticks [%v, %v]: %v outside the range", tt.lo, tt.hi, v)
			}
		}
	}
}

func TestExpandRange(t *testing.T) {
	tests := []struct{ lo, hi, wantLo, wantHi float64 }{
		{0.003, 7.1, 0, 8},
		{6.47, 7.03, 6.4, 7.1},
		{-0.13, 0.24, -0.15, 0.25},
		{5, 5, 4.4, 5.6},
		{0, 0, -1, 1},
		{0, 86, 0, 90},
	}
	for _, tt := range tests {
		lo, hi, step := expandRange(tt.lo, tt.hi, 6)
		if ticks := stepTicks(lo, hi, step); math.Abs(ticks[0]-lo) > 1e-9 || math.Abs(ticks[len(ticks)-1]-hi) > 1e-9 {
			t.Errorf("expandRange(%v, %v): ticks %v do not start and end at the range [%v, %v]", tt.lo, tt.hi, ticks, lo, hi)
		}
		if math.Abs(lo-tt.wantLo) > 1e-9 || math.Abs(hi-tt.wantHi) > 1e-9 {
			t.Errorf("expandRange(%v, %v) = [%v, %v], want [%v, %v]", tt.lo, tt.hi, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{1, 10000, []string{"1", "10", "100", "1000", "10000"}},
		{50, 5000, []string{"50", "100", "200", "500", "1000", "2000", "5000"}},
		{0.001, 1e12, []string{"0.001", "0.1", "10", "1000", "100000", "1e7", "1e9", "1e11"}},
		{3, 9, []string{"4", "6", "8"}}, // under a factor of 2.5 apart: linear ticks
	}
	for _, tt := range tests {
		var got []string
		for _, v := range logTicks(tt.lo, tt.hi) {
			got = append(got, formatLogTick(v))
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("log ticks [%v, %v] = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestLineChartElements(t *testing.T) {
	nan := math.NaN()
	c := LineChart{
		Title:  "loss <per update> & more",
		XLabel: "update",
		YLabel: "loss (nats)",
		Series: []Series{
			{Name: "standard", X: []float64{0, 1, 2, 3, 4}, Y: []float64{7, 6.5, 6.2, 6.0, 5.9}},
			// Two runs split by a gap, then a lone point: 2 polylines and a dot.
			{Name: "forgetting", X: []float64{0, 1, 2, 3, 4, 5, 6}, Y: []float64{7, 6.6, nan, 6.4, 6.1, nan, 6.0}, Dashed: true},
		},
		VLines:     []float64{2, 4, 100}, // 100 is outside the data and is skipped
		VLineLabel: "embedding reset",
		HLines:     []HLine{{Y: 6.93, Label: "unigram floor"}},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	if got := count(els, "polyline", "series"); got != 3 {
		t.Errorf("%d series polylines, want 3", got)
	}
	if got := count(els, "circle", "point"); got != 1 {
		t.Errorf("%d single-point dots, want 1", got)
	}
	if got := count(els, "line", "vline"); got != 2 {
		t.Errorf("%d vertical lines, want 2", got)
	}
	if got := count(els, "line", "hline"); got != 1 {
		t.Errorf("%d horizontal lines, want 1", got)
	}
	if got := texts(els, "legend-label"); strings.Join(got, "|") != "standard|forgetting|embedding reset" {
		t.Errorf("legend labels %q", got)
	}
	if got := texts(els, "title"); len(got) != 1 || got[0] != c.Title {
		t.Errorf("title %q, want %q", got, c.Title)
	}
	if got := texts(els, "axis-label"); strings.Join(got, "|") != "loss (nats)|update" {
		t.Errorf("axis labels %q", got)
	}
	if got := texts(els, "hline-label"); len(got) != 1 || got[0] != "unigram floor" {
		t.Errorf("hline labels %q", got)
	}
	// x ticks 0..6 and y ticks over the range widened around 5.9..7.
	var ticks []string
	ticks = texts(els, "tick")
	if !contains(ticks, "0") || !contains(ticks, "6") || !contains(ticks, "7.0") {
		t.Errorf("tick labels %q lack 0, 6 or 7.0", ticks)
	}
	if !strings.Contains(string(b), `stroke-dasharray="6 4"`) {
		t.Error("dashed series is not dashed")
	}
	// The clip path is referenced by an ID that exists.
	var id string
	for _, e := range els {
		if e.name == "clipPath" {
			id = e.attrs["id"]
		}
	}
	if id == "" || !strings.Contains(string(b), "url(#"+id+")") {
		t.Errorf("clip path id %q not referenced", id)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestLineChartFixedRangeAndLogX(t *testing.T) {
	lo, hi := 0.0, 100.0
	c := LineChart{
		Series: []Series{{Name: "accuracy", X: []float64{50, 250, 1000, 5000}, Y: []float64{33, 40, 52, 61}}},
		LogX:   true, YMin: &lo, YMax: &hi,
		HLines: []HLine{{Y: 33.3, Label: "chance"}},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	ticks := texts(els, "tick")
	for _, want := range []string{"0", "20", "100", "50", "1000", "5000"} {
		if !contains(ticks, want) {
			t.Errorf("tick labels %q lack %q", ticks, want)
		}
	}
	if got := count(els, "polyline", "series"); got != 1 {
		t.Errorf("%d polylines, want 1", got)
	}
}

func TestLineChartLegendBelowWhenNarrow(t *testing.T) {
	c := LineChart{
		Width: 320, Height: 260,
		Series: []Series{
			{Name: "a rather long series name for the forgetting arm", X: []float64{0, 1}, Y: []float64{0, 1}},
			{Name: "another long name, the standard arm", X: []float64{0, 1}, Y: []float64{1, 0}},
		},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	var frameBottom float64
	for _, e := range els {
		if e.attrs["class"] == "frame" {
			frameBottom = atof(t, e.attrs["y"]) + atof(t, e.attrs["height"])
		}
	}
	for _, e := range els {
		if e.attrs["class"] == "legend-label" && atof(t, e.attrs["y"]) <= frameBottom {
			t.Errorf("legend label at y=%s overlaps the plot area ending at %v", e.attrs["y"], frameBottom)
		}
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return v
}

func TestLineChartErrors(t *testing.T) {
	one := []float64{1}
	tests := []struct {
		name string
		c    LineChart
		want string
	}{
		{"no series", LineChart{}, "no series"},
		{"empty series", LineChart{Series: []Series{{Name: "s"}}}, "no points"},
		{"mismatched", LineChart{Series: []Series{{Name: "s", X: []float64{1, 2}, Y: one}}}, "2 x values but 1 y values"},
		{"log of zero", LineChart{LogX: true, Series: []Series{{Name: "s", X: []float64{1, 0}, Y: []float64{1, 2}}}}, "x[1] = 0, expected > 0"},
		{"all NaN", LineChart{Series: []Series{{Name: "s", X: one, Y: []float64{math.NaN()}}}}, "every y value is NaN"},
		{"infinite y", LineChart{Series: []Series{{Name: "s", X: one, Y: []float64{math.Inf(1)}}}}, "y[0] is infinite"},
		{"bad range", LineChart{Series: []Series{{X: one, Y: one}}, YMin: ptr(5), YMax: ptr(1)}, "y range [5, 1]"},
		{"negative size", LineChart{Width: -1, Series: []Series{{X: one, Y: one}}}, "must not be negative"},
		{"short band", LineChart{Series: []Series{{Name: "s", X: []float64{1, 2}, Y: []float64{1, 2}, Lo: one, Hi: one}}}, "band of 1 low and 1 high values for 2 points"},
		{"infinite band", LineChart{Series: []Series{{Name: "s", X: one, Y: one, Lo: one, Hi: []float64{math.Inf(1)}}}}, "band value 0 is infinite"},
	}
	for _, tt := range tests {
		_, err := tt.c.SVG()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func ptr(v float64) *float64 { return &v }

// TestLineChartBand draws a band with a gap: two polygons, the y range
// widened to the band's ends, and a marker per point.
func TestLineChartBand(t *testing.T) {
	nan := math.NaN()
	c := LineChart{Title: "band", LogX: true, Series: []Series{{
		Name: "arm", X: []float64{1e4, 1e5, 1e6, 1e7}, Y: []float64{20, 30, 40, 50},
		Lo: []float64{15, 25, nan, 45}, Hi: []float64{25, 35, nan, 95}, Markers: true,
	}}}
	raw, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	svg := string(raw)
	if n := strings.Count(svg, `class="band"`); n != 2 {
		t.Errorf("%d band polygons, want 2 (the NaN splits the band)", n)
	}
	if n := strings.Count(svg, `class="marker"`); n != 4 {
		t.Errorf("%d markers, want 4", n)
	}
	if !strings.Contains(svg, ">100<") {
		t.Error("the y axis does not reach the band's top (95), no tick at 100")
	}
}

func TestBarChart(t *testing.T) {
	c := BarChart{
		Title:  "XNLI gain over standard",
		YLabel: "accuracy points",
		Groups: []string{"de", "ru", "th", "vi"},
		Bars: []BarSeries{
			{Name: "forgetting", Values: []float64{4, 6, 24, -3}, Err: []float64{1, 1.5, 2, 0.5}},
			{Name: "random body", Values: []float64{-10, -12, math.NaN(), -8}},
		},
		HLines: []HLine{{Y: 0.5, Label: "noise"}},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	if got := count(els, "rect", "bar"); got != 7 {
		t.Errorf("%d bars, want 7 (one NaN left out)", got)
	}
	if got := count(els, "path", "errorbar"); got != 4 {
		t.Errorf("%d error bars, want 4", got)
	}
	if got := count(els, "rect", "legend-box"); got != 2 {
		t.Errorf("%d legend boxes, want 2", got)
	}
	if got := count(els, "line", "zero"); got != 1 {
		t.Errorf("%d zero lines, want 1", got)
	}
	ticks := texts(els, "tick")
	for _, g := range c.Groups {
		if !contains(ticks, g) {
			t.Errorf("group label %q missing from %q", g, ticks)
		}
	}
	// Negative bars grow down from zero: each bar's edge touches the zero line.
	var zeroY float64
	for _, e := range els {
		if e.attrs["class"] == "zero" {
			zeroY = atof(t, e.attrs["y1"])
		}
	}
	for _, e := range els {
		if e.attrs["class"] != "bar" {
			continue
		}
		top := atof(t, e.attrs["y"])
		bottom := top + atof(t, e.attrs["height"])
		if math.Abs(top-zeroY) > 0.11 && math.Abs(bottom-zeroY) > 0.11 {
			t.Errorf("bar from y=%v to %v does not start at zero (y=%v)", top, bottom, zeroY)
		}
	}
}

func TestBarChartErrors(t *testing.T) {
	g := []string{"de", "ru"}
	tests := []struct {
		name string
		c    BarChart
		want string
	}{
		{"no groups", BarChart{Bars: []BarSeries{{Values: []float64{1}}}}, "no groups"},
		{"no bars", BarChart{Groups: g}, "no bar series"},
		{"short values", BarChart{Groups: g, Bars: []BarSeries{{Name: "s", Values: []float64{1}}}}, `series 0 ("s"): 1 values for 2 groups`},
		{"short errors", BarChart{Groups: g, Bars: []BarSeries{{Values: []float64{1, 2}, Err: []float64{1}}}}, "1 errors for 2 groups"},
		{"negative error", BarChart{Groups: g, Bars: []BarSeries{{Values: []float64{1, 2}, Err: []float64{1, -1}}}}, `group "ru": error -1`},
		{"all NaN", BarChart{Groups: g, Bars: []BarSeries{{Values: []float64{math.NaN(), math.NaN()}}}}, "every value is NaN"},
	}
	for _, tt := range tests {
		_, err := tt.c.SVG()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestDownsample(t *testing.T) {
	const n = 20000
	x := make([]float64, n)
	y := make([]float64, n)
	for i := range x {
		x[i] = float64(i + 1)
		y[i] = 5 + 0.1*math.Sin(float64(i)/50)
	}
	y[12345] = 9.5 // a one-update spike after a reset
	y[777] = 1.25  // and a dip
	y[4000] = math.NaN()
	dx, dy := Downsample(x, y, 1000)
	if len(dx) != len(dy) || len(dx) > 1000 || len(dx) < 500 {
		t.Fatalf("downsampled to %d x, %d y points, want equal lengths in [500, 1000]", len(dx), len(dy))
	}
	maxY, minY := math.Inf(-1), math.Inf(1)
	for i, v := range dy {
		maxY, minY = math.Max(maxY, v), math.Min(minY, v)
		if i > 0 && dx[i] <= dx[i-1] {
			t.Fatalf("x not increasing at %d: %v after %v", i, dx[i], dx[i-1])
		}
	}
	if maxY != 9.5 || minY != 1.25 {
		t.Errorf("kept max %v and min %v, want the spike 9.5 and the dip 1.25", maxY, minY)
	}
	if !contains(floatsToStrings(dx), "12346") {
		t.Error("the spike's x (12346) was not kept")
	}

	// Short series come back unchanged, as copies.
	sx, sy := Downsample([]float64{1, 2, 3}, []float64{4, 5, 6}, 10)
	sx[0] = 99
	if len(sx) != 3 || sy[2] != 6 {
		t.Errorf("short series changed: %v %v", sx, sy)
	}
	// A bucket whose values are all NaN stays a gap.
	nan := math.NaN()
	nx := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	ny := []float64{1, 2, 3, 4, nan, nan, nan, nan, 5, 6, 7, 8}
	gx, gy := Downsample(nx, ny, 6) // 3 buckets of 4 points
	if len(gy) != 5 || !math.IsNaN(gy[2]) || gx[2] != 4 {
		t.Errorf("Downsample with a NaN bucket = %v, %v; want 5 points with NaN at x=4 in the middle", gx, gy)
	}
}

func floatsToStrings(v []float64) []string {
	out := make([]string, len(v))
	for i, f := range v {
		out[i] = formatLogTick(f)
	}
	return out
}

// TestExample draws the example chart a reviewer can look at, checks it,
// and writes it to testdata/example.svg when PLOT_WRITE_EXAMPLE=1.
func TestExample(t *testing.T) {
	b := exampleLoss(t)
	els := parseSVG(t, b)
	if got := count(els, "polyline", "series"); got != 2 {
		t.Errorf("%d polylines, want 2", got)
	}
	if len(b) > 120_000 {
		t.Errorf("example chart is %d bytes; downsampling should keep it small", len(b))
	}
	if os.Getenv("PLOT_WRITE_EXAMPLE") == "1" {
		if err := os.WriteFile(filepath.Join("testdata", "example.svg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		bar, err := exampleBar().SVG()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "example_bar.svg"), bar, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// exampleLoss draws 16,000 updates of two synthetic loss curves, the
// forgetting arm spiking after each reset every 1,000 updates.
func exampleLoss(t *testing.T) []byte {
	const n, k = 16000, 1000
	x := make([]float64, n)
	std := make([]float64, n)
	fgt := make([]float64, n)
	for i := range n {
		u := float64(i + 1)
		x[i] = u
		noise := 0.08 * math.Sin(u*12.9898) * math.Cos(u*78.233)
		std[i] = 4.2 + 3.4*math.Exp(-u/2500) + noise
		since := math.Mod(u, k)
		fgt[i] = 4.5 + 3.1*math.Exp(-u/2500) + 1.9*math.Exp(-since/60)*boolf(u > k) + noise
	}
	sx, sy := Downsample(x, std, 1200)
	fx, fy := Downsample(x, fgt, 1200)
	var resets []float64
	for u := k; u < n; u += k {
		resets = append(resets, float64(u))
	}
	c := LineChart{
		Title: "Pretraining MLM loss (synthetic example)", XLabel: "update", YLabel: "training loss (nats)",
		Series: []Series{
			{Name: "standard", X: sx, Y: sy},
			{Name: "forgetting (K=1000)", X: fx, Y: fy},
		},
		VLines: resets, VLineLabel: "embedding reset",
		HLines: []HLine{{Y: 6.93, Label: "unigram floor 6.93"}},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func exampleBar() *BarChart {
	return &BarChart{
		Title: "Zero-shot accuracy after adaptation (synthetic example)", YLabel: "accuracy (%)",
		Groups: []string{"de", "fr", "ru", "ja", "zh"},
		Bars: []BarSeries{
			{Name: "standard", Values: []float64{52, 55, 41, 38, 36}, Err: []float64{1.1, 0.9, 1.6, 2.0, 1.4}},
			{Name: "forgetting", Values: []float64{57, 58, 50, 47, 46}, Err: []float64{1.0, 1.2, 1.3, 1.7, 1.9}},
			{Name: "random body", Values: []float64{34, 35, 33, 34, 33}},
		},
		HLines: []HLine{{Y: 100.0 / 3, Label: "chance"}},
	}
}

func TestBarChartSlantedLabels(t *testing.T) {
	groups := []string{"English (no adaptation)", "German, 5M tokens", "Russian, 5M tokens", "Thai, 5M tokens", "Vietnamese, 5M tokens"}
	c := BarChart{
		Title: "long group names", YLabel: "accuracy", Groups: groups,
		Bars: []BarSeries{{Name: "standard", Values: []float64{86, 50, 45, 40, 55}}, {Name: "forgetting", Values: []float64{85, 60, 58, 62, 52}}},
	}
	b, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, b)
	slanted := 0
	for _, e := range els {
		if e.attrs["class"] == "tick" && strings.HasPrefix(e.attrs["transform"], "rotate(") {
			slanted++
			if y := atof(t, e.attrs["y"]); y+textWidth(e.text, fontSize)*math.Sin(slantDeg*math.Pi/180) > float64(DefaultHeight) {
				t.Errorf("slanted label %q runs off the bottom", e.text)
			}
		}
	}
	if slanted != len(groups) {
		t.Errorf("%d slanted group labels, want %d", slanted, len(groups))
	}
	for _, e := range els {
		if e.attrs["class"] == "tick" && strings.HasPrefix(e.attrs["transform"], "rotate(") {
			if x := atof(t, e.attrs["x"]) - textWidth(e.text, fontSize)*math.Cos(slantDeg*math.Pi/180); x < 0 {
				t.Errorf("slanted label %q starts left of the chart, at x=%.1f", e.text, x)
			}
		}
	}
}
