package plot

import (
	"math"
	"strconv"
	"strings"
)

// niceStep returns the step of the form {1, 2, 5} x 10^k nearest to cutting
// span into target intervals (between about 0.7 and 1.5 times target).
func niceStep(span float64, target int) float64 {
	raw := span / float64(target)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	norm := raw / mag
	switch {
	case norm < 1.5:
		return mag
	case norm < 3:
		return 2 * mag
	case norm < 7:
		return 5 * mag
	}
	return 10 * mag
}

// linearTicks returns nice ticks inside [lo, hi] (lo < hi) with their step.
func linearTicks(lo, hi float64, target int) ([]float64, float64) {
	step := niceStep(hi-lo, target)
	return stepTicks(lo, hi, step), step
}

// stepTicks returns the multiples of step inside [lo, hi].
func stepTicks(lo, hi, step float64) []float64 {
	const eps = 1e-9
	first := math.Ceil(lo/step - eps)
	last := math.Floor(hi/step + eps)
	var ticks []float64
	for k := first; k <= last; k++ {
		t := k * step
		if math.Abs(t) < step*eps {
			t = 0 // no "-0"
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// expandRange widens [lo, hi] to the nearest multiples of a nice step, so
// that the axis starts and ends on a tick, and returns that step. A
// zero-width range is widened first.
func expandRange(lo, hi float64, target int) (float64, float64, float64) {
	if hi <= lo {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step := niceStep(hi-lo, target)
	const eps = 1e-9
	return math.Floor(lo/step+eps) * step, math.Ceil(hi/step-eps) * step, step
}

// logTicks returns ticks inside [lo, hi] (0 < lo < hi) for a logarithmic axis:
// the powers of ten, thinned to every n-th decade on wide ranges, or with 2 and
// 5 times each power added when the range covers less than two decades.
func logTicks(lo, hi float64) []float64 {
	const eps = 1e-9
	first := int(math.Ceil(math.Log10(lo) - eps))
	last := int(math.Floor(math.Log10(hi) + eps))
	var ticks []float64
	if last-first+1 >= 3 {
		every := 1
		for (last-first)/every+1 > 8 {
			every++
		}
		for k := first; k <= last; k += every {
			ticks = append(ticks, pow10(k))
		}
		return ticks
	}
	for k := first - 1; k <= last; k++ {
		for _, m := range []float64{1, 2, 5} {
			t := m * pow10(k)
			if t >= lo*(1-eps) && t <= hi*(1+eps) {
				ticks = append(ticks, t)
			}
		}
	}
	if len(ticks) < 2 { // less than a factor of 2.5: fall back to linear ticks
		ticks, _ = linearTicks(lo, hi, 4)
	}
	return ticks
}

// pow10 returns 10^k exactly for the representable integer powers.
func pow10(k int) float64 {
	v, _ := strconv.ParseFloat("1e"+strconv.Itoa(k), 64)
	return v
}

// formatTick formats a tick value with as many decimals as the step needs.
func formatTick(v, step float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e6 || a < 1e-3 {
		// Enough significant digits to tell ticks one step apart.
		prec := int(math.Floor(math.Log10(a)) - math.Floor(math.Log10(step)+1e-9))
		return compactExp(v, max(prec, 0))
	}
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// formatLogTick formats a tick of a logarithmic axis.
func formatLogTick(v float64) string {
	a := math.Abs(v)
	if a >= 1e6 || a < 1e-3 {
		return compactExp(v, -1)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// compactExp writes v with prec digits after the mantissa's point (-1: as
// few as identify v) as 2.5e-4 or 1e6 rather than Go's 2.5e-04 or 1e+06.
func compactExp(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'e', prec, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}
