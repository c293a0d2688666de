package experiment

// Number and text formatting shared by the report sections.

import (
	"math"
	"strconv"
	"strings"
	"time"

	"lethe/plot"
	"lethe/report"
)

// wideX reports whether the series' x values are all positive and span
// a factor of 10 or more, where a logarithmic axis reads better.
func wideX(series []plot.Series) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, x := range s.X {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo > 0 && hi/lo >= 10
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// orNaN is *p, or NaN when the value is missing.
func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// appendFinite appends v to xs if it is finite.
func appendFinite(xs []float64, v float64) []float64 {
	if isFinite(v) {
		return append(xs, v)
	}
	return xs
}

// fmtNum formats v with digits decimals, or "n/a" when it is not isFinite.
func fmtNum(v float64, digits int) string {
	if !isFinite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

// meanStdCell formats the mean ± std of xs.
func meanStdCell(xs []float64, digits int) string {
	m, s := report.MeanStd(xs)
	return report.FormatMeanStd(m, s, len(xs), digits)
}

// signed is report.FormatMeanStd with an explicit "+" on a positive gain.
func signed(m, s float64, n int) string {
	out := report.FormatMeanStd(m, s, n, 1)
	if out != "n/a" && m > 0 && !strings.HasPrefix(out, "0.0") {
		out = "+" + out
	}
	return out
}

// fmtDuration formats seconds as a rounded duration such as 1h2m3s.
func fmtDuration(seconds float64) string {
	if !isFinite(seconds) || seconds < 0 {
		return "n/a"
	}
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}

// orNA is s, or "n/a" when s is empty.
func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// mdLiteral makes s literal in report inline text: backslashes, backticks and
// asterisks are escaped so that they do not start marks.
func mdLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`).Replace(s)
}

// codeSpan is s as inline code, or as literal text if it holds a backtick
// (which would end the span).
func codeSpan(s string) string {
	if strings.Contains(s, "`") || strings.ContainsAny(s, "\n\r") {
		return mdLiteral(s)
	}
	return "`" + s + "`"
}

// fileSafe maps s to a file-name part of letters, digits, '_' and '-'.
func fileSafe(s string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
	if out == "" {
		return "-"
	}
	return out
}
