package nn

import "math"

// Layer normalisation over the last dimension, with biased variance as
// PyTorch's nn.LayerNorm.
//
//	inp, out, dinp, dout  [N, C]
//	w, b, dw, db          [C]
//	mean, rstd            [N]   saved by the forward for the backward
//
//	out = (inp - mean) * rstd * w + b,   rstd = 1/sqrt(var + eps)
//
// LayerNormForward and LayerNormBackwardInput work on rows [lo, hi);
// LayerNormBackwardParams works on columns [lo, hi) of C.

// LayerNormForward normalises rows [lo, hi) of inp into out and saves each
// row's mean and 1/std in mean and rstd.
func LayerNormForward[T Float](out, mean, rstd, inp, w, b []T, C int, eps T, lo, hi int) {
	if o, ok := as32(out); ok {
		m, _ := as32(mean)
		r, _ := as32(rstd)
		x, _ := as32(inp)
		w32, _ := as32(w)
		b32, _ := as32(b)
		cLayerNormForward(o, m, r, x, w32, b32, C, float32(eps), lo, hi)
		return
	}
	w, b = w[:C], b[:C]
	for i := lo; i < hi; i++ {
		x := inp[i*C : (i+1)*C]
		var s T
		for _, v := range x {
			s += v
		}
		m := s / T(C)
		var ss T
		for _, v := range x {
			d := v - m
			ss += d * d
		}
		rs := T(1 / math.Sqrt(float64(ss/T(C)+eps)))
		mean[i], rstd[i] = m, rs
		o := out[i*C : (i+1)*C]
		o = o[:len(x)]
		for j, v := range x {
			o[j] = (v-m)*rs*w[j] + b[j]
		}
	}
}

// LayerNormBackwardInput sets dinp for rows [lo, hi):
//
//	dinp = rstd * (g - mean(g) - xhat*mean(g*xhat)),  g = dout*w, xhat = (inp-mean)*rstd
func LayerNormBackwardInput[T Float](dinp, dout, inp, mean, rstd, w []T, C, lo, hi int) {
	if o, ok := as32(dinp); ok {
		d, _ := as32(dout)
		x, _ := as32(inp)
		m, _ := as32(mean)
		r, _ := as32(rstd)
		w32, _ := as32(w)
		cLayerNormBackwardInput(o, d, x, m, r, w32, C, lo, hi)
		return
	}
	w = w[:C]
	for i := lo; i < hi; i++ {
		x := inp[i*C : (i+1)*C]
		d := dout[i*C : (i+1)*C]
		d = d[:len(x)]
		m, rs := mean[i], rstd[i]
		var sg, sgx T
		for j, v := range x {
			g := d[j] * w[j]
			sg += g
			sgx += g * (v - m) * rs
		}
		sg /= T(C)
		sgx /= T(C)
		o := dinp[i*C : (i+1)*C]
		o = o[:len(x)]
		for j, v := range x {
			o[j] = rs * (d[j]*w[j] - sg - (v-m)*rs*sgx)
		}
	}
}

// LayerNormBackwardParams accumulates, for columns [lo, hi) of C over all n
// rows, dw += sum of dout*xhat and db += sum of dout. dw or db may be nil
// (frozen).
func LayerNormBackwardParams[T Float](dw, db, dout, inp, mean, rstd []T, n, C, lo, hi int) {
	if hi <= lo {
		return
	}
	if is32[T]() {
		d, _ := as32(dout)
		x, _ := as32(inp)
		m, _ := as32(mean)
		r, _ := as32(rstd)
		var dw32, db32 []float32
		if dw != nil {
			dw32, _ = as32(dw)
		}
		if db != nil {
			db32, _ = as32(db)
		}
		cLayerNormBackwardParams(dw32, db32, d, x, m, r, n, C, lo, hi)
		return
	}
	for i := 0; i < n; i++ {
		d := dout[i*C+lo : i*C+hi]
		if db != nil {
			acc := db[lo:hi]
			acc = acc[:len(d)]
			for j, v := range d {
				acc[j] += v
			}
		}
		if dw != nil {
			x := inp[i*C+lo : i*C+hi]
			x = x[:len(d)]
			acc := dw[lo:hi]
			acc = acc[:len(d)]
			m, rs := mean[i], rstd[i]
			for j, v := range d {
				acc[j] += v * (x[j] - m) * rs
			}
		}
	}
}
