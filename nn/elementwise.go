package nn

import (
	"math"

	"lethe/internal/simd"
)

// Elementwise ops on flat ranges [lo, hi) of elements.
//
//	GELU:    out = x * Phi(x) = 0.5*x*(1+erf(x/sqrt2))   (Hugging Face "gelu", exact erf form)
//	Add:     out = a + b                                  (residual connections)
//	Accumulate: dst += src                                (gradient of a residual fan-out)
//
// AddForward has no backward function of its own: its output gradient
// passes unchanged to both inputs, so the caller reuses it (and sums two
// gradient paths into one buffer with Accumulate).

const (
	invSqrt2   = 0.70710678118654752440
	invSqrt2Pi = 0.39894228040143267794
)

// GeluForward sets out[i] = gelu(inp[i]) for i in [lo, hi).
func GeluForward[T Float](out, inp []T, lo, hi int) {
	if hi <= lo {
		return
	}
	if o, ok := as32(out[lo:hi]); ok {
		x, _ := as32(inp[lo:hi])
		if simd.On() {
			simd.GeluForward(o, x)
		} else {
			geluForward32(o, x)
		}
		return
	}
	x := inp[lo:hi]
	o := out[lo:hi]
	o = o[:len(x)]
	for i, v := range x {
		o[i] = T(0.5 * float64(v) * (1 + math.Erf(float64(v)*invSqrt2)))
	}
}

// GeluBackward sets dinp[i] = dout[i] * gelu'(inp[i]) for i in [lo, hi),
// gelu'(x) = Phi(x) + x*phi(x).
func GeluBackward[T Float](dinp, inp, dout []T, lo, hi int) {
	if hi <= lo {
		return
	}
	if o, ok := as32(dinp[lo:hi]); ok {
		x, _ := as32(inp[lo:hi])
		d, _ := as32(dout[lo:hi])
		if simd.On() {
			simd.GeluBackward(o, x, d)
		} else {
			geluBackward32(o, x, d)
		}
		return
	}
	x := inp[lo:hi]
	d := dout[lo:hi]
	d = d[:len(x)]
	o := dinp[lo:hi]
	o = o[:len(x)]
	for i, v := range x {
		f := float64(v)
		g := 0.5*(1+math.Erf(f*invSqrt2)) + f*invSqrt2Pi*math.Exp(-0.5*f*f)
		o[i] = d[i] * T(g)
	}
}

// geluForward32 is GeluForward's float32 loop: x * normCDF(x), with
// normCDF's common case (|x| < sqrt2, a polynomial in x*x) written out so
// that it needs no call; only the tails call out. o may alias x.
func geluForward32(o, x []float32) {
	o = o[:len(x)]
	for i, v := range x {
		var phi float32
		if z := v * v; z < 2 {
			phi = 0.5 + v*normCDFSmall(z)
		} else {
			phi = normCDFTail(v, expNoMax(-0.5*v*v))
		}
		o[i] = v * phi
	}
}

// geluBackward32 is GeluBackward's float32 loop: gelu'(x) = Phi(x) +
// x*phi(x), a single polynomial for |x| < sqrt2 (no exp) and geluGradTail
// beyond. o may alias x or d.
func geluBackward32(o, x, d []float32) {
	o, d = o[:len(x)], d[:len(x)]
	for i, v := range x {
		var g float32
		if z := v * v; z < 2 {
			g = 0.5 + v*geluGradSmall(z)
		} else {
			g = geluGradTail(v)
		}
		o[i] = d[i] * g
	}
}

// AddForward sets out[i] = a[i] + b[i] for i in [lo, hi). out may alias a or b.
func AddForward[T Float](out, a, b []T, lo, hi int) {
	if hi <= lo {
		return
	}
	x, y, o := a[lo:hi], b[lo:hi], out[lo:hi]
	y, o = y[:len(x)], o[:len(x)]
	for i, v := range x {
		o[i] = v + y[i]
	}
}

// Accumulate sets dst[i] += src[i] for i in [lo, hi).
func Accumulate[T Float](dst, src []T, lo, hi int) {
	if hi <= lo {
		return
	}
	s, d := src[lo:hi], dst[lo:hi]
	d = d[:len(s)]
	for i, v := range s {
		d[i] += v
	}
}
