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

// t975 is the 0.975 quantile of Student's t distribution with 1..30 degrees
// of freedom.
var t975 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// CI95 returns the mean of xs and the half-width of its two-sided 95%
// confidence interval, Student's t with n-1 degrees of freedom (the normal
// 1.96 beyond 30): the interval over seeds of a difference between arms.
// The half-width is NaN for fewer than two values.
func CI95(xs []float64) (mean, half float64) {
	mean, std := MeanStd(xs)
	n := len(xs)
	if n < 2 {
		return mean, math.NaN()
	}
	t := 1.96
	if n-1 <= len(t975) {
		t = t975[n-2]
	}
	return mean, t * std / math.Sqrt(float64(n))
}
