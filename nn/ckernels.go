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
#cgo nocallback lethe_gelu_fwd
#cgo nocallback lethe_gelu_bwd
#cgo nocallback lethe_softmax_bias_rows
#cgo nocallback lethe_softmax_bwd_rows
#cgo nocallback lethe_dropout
#cgo nocallback lethe_ce_fwd
#cgo nocallback lethe_ce_bwd
#cgo nocallback lethe_exp_sum
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

// cExpSum sets d[j] = exp(x[j]-m) (d may be nil) and returns the sum.
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
