package nn

import (
	"math"

	"lethe/internal/simd"
)

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
	if hi <= lo {
		return
	}
	if o, ok := as32(out); ok && simd.On() {
		m, _ := as32(mean[lo:hi])
		r, _ := as32(rstd[lo:hi])
		x, _ := as32(inp[lo*C:])
		w32, _ := as32(w)
		b32, _ := as32(b)
		simd.LayerNormForward(o[lo*C:], m, r, x, w32, b32, C, float32(eps))
		return
	}
	w, b = w[:C], b[:C]
	for i := lo; i < hi; i++ {
		x := inp[i*C : (i+1)*C]
		m := sum(x) / T(C)
		rs := T(1 / math.Sqrt(float64(sumSqDev(x, m)/T(C)+eps)))
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
	if hi <= lo {
		return
	}
	if o, ok := as32(dinp); ok && simd.On() {
		d, _ := as32(dout[lo*C:])
		x, _ := as32(inp[lo*C:])
		m, _ := as32(mean[lo:hi])
		r, _ := as32(rstd[lo:hi])
		w32, _ := as32(w)
		simd.LayerNormBackwardInput(o[lo*C:], d, x, m, r, w32, C)
		return
	}
	w = w[:C]
	for i := lo; i < hi; i++ {
		x := inp[i*C : (i+1)*C]
		d := dout[i*C : (i+1)*C]
		d = d[:len(x)]
		m, rs := mean[i], rstd[i]
		// sg = sum of g, sgx = sum of g*(x-m), two accumulators each.
		var sg0, sg1, sgx0, sgx1 T
		j := 0
		for ; j+2 <= len(x); j += 2 {
			xv, dv, wv := x[j:j+2:j+2], d[j:j+2:j+2], w[j:j+2:j+2]
			g0, g1 := dv[0]*wv[0], dv[1]*wv[1]
			sg0 += g0
			sg1 += g1
			sgx0 += g0 * (xv[0] - m)
			sgx1 += g1 * (xv[1] - m)
		}
		for ; j < len(x); j++ {
			g := d[j] * w[j]
			sg0 += g
			sgx0 += g * (x[j] - m)
		}
		sg := (sg0 + sg1) / T(C)
		sgx := (sgx0 + sgx1) * rs / T(C)
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
	if d, ok := as32(dout); ok && simd.On() {
		x, _ := as32(inp)
		m, _ := as32(mean[:n])
		r, _ := as32(rstd)
		w32, _ := as32(dw)
		b32, _ := as32(db)
		simd.LayerNormBackwardParams(w32, b32, d, x, m, r, C, lo, hi)
		return
	}
	if db != nil {
		colSums(db[lo:hi], dout[lo:], n, C)
	}
	if dw == nil {
		return
	}
	// dw[j] += sum over rows of d*(x-m)*rs, two rows at a time.
	acc := dw[lo:hi]
	w := len(acc)
	i := 0
	for ; i+2 <= n; i += 2 {
		d0, x0 := dout[i*C+lo:i*C+lo+w], inp[i*C+lo:i*C+lo+w]
		d1, x1 := dout[(i+1)*C+lo:(i+1)*C+lo+w], inp[(i+1)*C+lo:(i+1)*C+lo+w]
		m0, rs0, m1, rs1 := mean[i], rstd[i], mean[i+1], rstd[i+1]
		for j := range acc {
			acc[j] += d0[j]*(x0[j]-m0)*rs0 + d1[j]*(x1[j]-m1)*rs1
		}
	}
	for ; i < n; i++ {
		d, x := dout[i*C+lo:i*C+lo+w], inp[i*C+lo:i*C+lo+w]
		m, rs := mean[i], rstd[i]
		for j := range acc {
			acc[j] += d[j] * (x[j] - m) * rs
		}
	}
}
