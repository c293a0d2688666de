package report

import (
	"math"
	"strconv"
	"strings"
)

// MeanStd returns the mean of xs and its sample standard deviation (divisor
// n-1), the usual summary over seeds. The deviation is 0 for one value; both
// are NaN for none.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) == 1 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// FormatMeanStd formats a mean over n runs for a table cell with digits
// decimals: "62.7 ± 1.3", or just "62.7" when n == 1 (a single run has no
// spread worth showing). It gives "n/a" when n < 1 or the mean is NaN.
func FormatMeanStd(mean, std float64, n int, digits int) string {
	if n < 1 || math.IsNaN(mean) {
		return "n/a"
	}
	digits = max(digits, 0)
	m := formatFixed(mean, digits)
	if n == 1 {
		return m
	}
	return m + " ± " + formatFixed(std, digits)
}

// formatFixed formats v with digits decimals, without the "-0.0" that a
// small negative value would otherwise round to.
func formatFixed(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		s = s[1:]
	}
	return s
}
