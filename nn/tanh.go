package nn

import "math"

// Hyperbolic tangent, elementwise on flat ranges [lo, hi) of elements (the
// activation of Hugging Face's RobertaClassificationHead).
//
//	inp, out, dinp, dout  [any shape, flat indices]
//
//	forward:  out = tanh(inp)
//	backward: dinp = dout * (1 - out^2)
//
// The backward reads the forward's output instead of its input, so the
// caller keeps only one buffer.

// TanhForward sets out[i] = tanh(inp[i]) for i in [lo, hi). out may alias
// inp.
func TanhForward[T Float](out, inp []T, lo, hi int) {
	if hi <= lo {
		return
	}
	x, o := inp[lo:hi], out[lo:hi]
	o = o[:len(x)]
	for i, v := range x {
		o[i] = T(math.Tanh(float64(v)))
	}
}

// TanhBackward sets dinp[i] = dout[i] * (1 - out[i]^2) for i in [lo, hi),
// from the forward's output out. dinp may alias dout.
func TanhBackward[T Float](dinp, out, dout []T, lo, hi int) {
	if hi <= lo {
		return
	}
	y, d, o := out[lo:hi], dout[lo:hi], dinp[lo:hi]
	d, o = d[:len(y)], o[:len(y)]
	for i, v := range y {
		o[i] = d[i] * (1 - v*v)
	}
}
