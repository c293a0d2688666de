package nn

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#cgo noescape lethe_gelu_fwd
#cgo noescape lethe_gelu_bwd
#cgo noescape lethe_softmax_bias_rows
#cgo noescape lethe_softmax_bwd_rows
#cgo noescape lethe_dropout
#cgo noescape lethe_ce_fwd
#cgo noescape lethe_ce_bwd
#cgo noescape lethe_exp_sum
#cgo noescape lethe_ln_fwd
#cgo noescape lethe_ln_bwd_in
#cgo noescape lethe_ln_bwd_params
#cgo noescape lethe_colsum_acc
#cgo noescape lethe_math_eval
#cgo nocallback lethe_gelu_fwd
#cgo nocallback lethe_gelu_bwd
#cgo nocallback lethe_softmax_bias_rows
#cgo nocallback lethe_softmax_bwd_rows
#cgo nocallback lethe_dropout
#cgo nocallback lethe_ce_fwd
#cgo nocallback lethe_ce_bwd
#cgo nocallback lethe_exp_sum
#cgo nocallback lethe_ln_fwd
#cgo nocallback lethe_ln_bwd_in
#cgo nocallback lethe_ln_bwd_params
#cgo nocallback lethe_colsum_acc
#cgo nocallback lethe_math_eval
#include "kernels.h"
*/
import "C"

import "unsafe"

// Go wrappers of the C float32 kernels (kernels.c). Callers guarantee the
// slice lengths; empty inputs return before touching a pointer.

func fp(x []float32) *C.float {
	if len(x) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&x[0]))
}

func cGeluForward(out, x []float32) {
	if len(x) == 0 {
		return
	}
	_ = out[len(x)-1]
	C.lethe_gelu_fwd(fp(out), fp(x), C.long(len(x)))
}

func cGeluBackward(dinp, x, dout []float32) {
	if len(x) == 0 {
		return
	}
	_, _ = dinp[len(x)-1], dout[len(x)-1]
	C.lethe_gelu_bwd(fp(dinp), fp(x), fp(dout), C.long(len(x)))
}

// cSoftmaxBiasRows replaces each of the len(p)/len(bias) rows of p with
// softmax(row + bias).
func cSoftmaxBiasRows(p, bias []float32) {
	if len(p) == 0 {
		return
	}
	C.lethe_softmax_bias_rows(fp(p), fp(bias), C.long(len(p)/len(bias)), C.long(len(bias)))
}

// cSoftmaxBackwardRows replaces each row of d (cols wide) with p*(d -
// sum(p*d)).
func cSoftmaxBackwardRows(d, p []float32, cols int) {
	if len(d) == 0 {
		return
	}
	_ = p[len(d)-1]
	C.lethe_softmax_bwd_rows(fp(d), fp(p), C.long(len(d)/cols), C.long(cols))
}

// cDropout sets out[j] = in[j]*scale if flat element base+j is kept under
// thr, else 0.
func cDropout(out, in []float32, seed, base, thr uint64, scale float32) {
	if len(in) == 0 {
		return
	}
	_ = out[len(in)-1]
	C.lethe_dropout(fp(out), fp(in), C.long(len(in)), C.uint64_t(seed), C.uint64_t(base), C.uint64_t(thr), C.float(scale))
}

func cCrossEntropyForward(losses, logits []float32, targets []int32, V, lo, hi int) int {
	if hi <= lo {
		return 0
	}
	_, _, _ = losses[hi-1], logits[hi*V-1], targets[hi-1]
	for _, t := range targets[lo:hi] {
		if int(t) >= V {
			panic("nn: cross-entropy target out of range")
		}
	}
	return int(C.lethe_ce_fwd(fp(losses), fp(logits), (*C.int32_t)(unsafe.Pointer(&targets[0])), C.long(V), C.long(lo), C.long(hi)))
}

func cCrossEntropyBackward(dlogits, logits []float32, targets []int32, scale float32, V, lo, hi int) {
	if hi <= lo {
		return
	}
	_, _, _ = dlogits[hi*V-1], logits[hi*V-1], targets[hi-1]
	for _, t := range targets[lo:hi] {
		if int(t) >= V {
			panic("nn: cross-entropy target out of range")
		}
	}
	C.lethe_ce_bwd(fp(dlogits), fp(logits), (*C.int32_t)(unsafe.Pointer(&targets[0])), C.float(scale), C.long(V), C.long(lo), C.long(hi))
}

// cExpSum sets d[j] = exp(x[j]-m) (d may be nil) and returns the sum: the
// exp-and-sum loop that the C softmax and cross-entropy kernels inline,
// exposed for its tests and benchmark.
func cExpSum(d, x []float32, m float32) float32 {
	if len(x) == 0 {
		return 0
	}
	var pd *C.float
	if d != nil {
		_ = d[len(x)-1]
		pd = fp(d)
	}
	return float32(C.lethe_exp_sum(pd, fp(x), C.float(m), C.long(len(x))))
}

// fpOpt is fp, but nil for a nil slice (a frozen gradient).
func fpOpt(x []float32) *C.float {
	if x == nil {
		return nil
	}
	return fp(x)
}

func cLayerNormForward(out, mean, rstd, inp, w, b []float32, C_ int, eps float32, lo, hi int) {
	if hi <= lo {
		return
	}
	_, _, _, _, _, _ = out[hi*C_-1], mean[hi-1], rstd[hi-1], inp[hi*C_-1], w[C_-1], b[C_-1]
	C.lethe_ln_fwd(fp(out), fp(mean), fp(rstd), fp(inp), fp(w), fp(b), C.long(C_), C.float(eps), C.long(lo), C.long(hi))
}

func cLayerNormBackwardInput(dinp, dout, inp, mean, rstd, w []float32, C_, lo, hi int) {
	if hi <= lo {
		return
	}
	_, _, _, _, _, _ = dinp[hi*C_-1], dout[hi*C_-1], inp[hi*C_-1], mean[hi-1], rstd[hi-1], w[C_-1]
	C.lethe_ln_bwd_in(fp(dinp), fp(dout), fp(inp), fp(mean), fp(rstd), fp(w), C.long(C_), C.long(lo), C.long(hi))
}

func cLayerNormBackwardParams(dw, db, dout, inp, mean, rstd []float32, n, C_, lo, hi int) {
	if hi <= lo || n == 0 || (dw == nil && db == nil) {
		return
	}
	_, _, _, _ = dout[n*C_-1], inp[n*C_-1], mean[n-1], rstd[n-1]
	if dw != nil {
		_ = dw[hi-1]
	}
	if db != nil {
		_ = db[hi-1]
	}
	C.lethe_ln_bwd_params(fpOpt(dw), fpOpt(db), fp(dout), fp(inp), fp(mean), fp(rstd), C.long(n), C.long(C_), C.long(lo), C.long(hi))
}

// cColumnSumAccumulate sets acc[j] += sum over n rows of x[i*ld+j].
func cColumnSumAccumulate(acc, x []float32, n, ld int) {
	if n == 0 || len(acc) == 0 {
		return
	}
	_ = x[(n-1)*ld+len(acc)-1]
	C.lethe_colsum_acc(fp(acc), fp(x), C.long(n), C.long(ld), C.long(len(acc)))
}

// Scalar functions of the C kernels, for cMath.
const (
	mathExp     = 0 // e**x, about 1 ulp; 0 below -87.33
	mathErf     = 1 // erf(x), about 1e-7 absolute
	mathNormCDF = 2 // Phi(x) = (1+erf(x/sqrt2))/2, small relative error in the tails
)

// cMath sets out[i] = f(x[i]) for the C kernels' scalar function f
// (mathExp, mathErf or mathNormCDF): the exact code the kernels inline, for
// accuracy tests and benchmarks.
func cMath(which int, out, x []float32) {
	if len(x) == 0 {
		return
	}
	_ = out[len(x)-1]
	C.lethe_math_eval(fp(out), fp(x), C.long(len(x)), C.int(which))
}
