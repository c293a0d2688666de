// Package simd runs the float32 loops of package nn outside GEMM (GELU,
// softmax, exp, dropout, LayerNorm) as SIMD kernels in C, chosen at load time for the
// widest instruction set the CPU has: AVX-512, AVX2+FMA, or baseline x86-64
// SSE2; level Go sends package nn back to its own Go loops, the portable
// reference. Each kernel computes what nn's Go loop computes, to float32
// rounding (the polynomials and the dropout hash are the same; lanes may
// fuse multiply-adds). The environment variable LETHE_SIMD (go, sse2, avx2,
// avx512) caps the level chosen at load time.
//
// Slices passed in must not overlap unless a function says they may; the
// kernels neither allocate nor keep pointers.
package simd

/*
#cgo CFLAGS: -O3 -Wno-psabi
#cgo LDFLAGS: -lm
#cgo noescape simd_gelu_fwd
#cgo nocallback simd_gelu_fwd
#cgo noescape simd_gelu_bwd
#cgo nocallback simd_gelu_bwd
#cgo noescape simd_exp_shift_sum
#cgo nocallback simd_exp_shift_sum
#cgo noescape simd_softmax_bias_rows
#cgo nocallback simd_softmax_bias_rows
#cgo noescape simd_softmax_drop_bwd_rows
#cgo nocallback simd_softmax_drop_bwd_rows
#cgo noescape simd_drop_rows
#cgo nocallback simd_drop_rows
#cgo noescape simd_layernorm_fwd
#cgo nocallback simd_layernorm_fwd
#cgo noescape simd_layernorm_bwd_input
#cgo nocallback simd_layernorm_bwd_input
#cgo noescape simd_layernorm_bwd_params
#cgo nocallback simd_layernorm_bwd_params
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Level is an instruction set the kernels are compiled for.
type Level int

const (
	Go       Level = 0             // no kernels: package nn's Go loops
	Baseline Level = C.SIMD_BASE   // x86-64 SSE2 (or the target's baseline vectors): runs anywhere
	AVX2     Level = C.SIMD_AVX2   // AVX2 and FMA (Haswell, Zen and later)
	AVX512   Level = C.SIMD_AVX512 // AVX-512 F, DQ, BW and VL (Skylake-X, Zen 4 and later)
)

func (l Level) String() string {
	switch l {
	case Go:
		return "Go"
	case Baseline:
		return "SSE2"
	case AVX2:
		return "AVX2+FMA"
	case AVX512:
		return "AVX-512"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

var current Level

func init() {
	current = Best()
	names := map[string]Level{"go": Go, "sse2": Baseline, "avx2": AVX2, "avx512": AVX512}
	if l, ok := names[strings.ToLower(os.Getenv("LETHE_SIMD"))]; ok && l < current {
		current = l
	}
	if current != Go {
		C.simd_set(C.int(current))
	}
}

// On reports whether package nn should call the kernels (the level is not
// Go).
func On() bool { return current != Go }

// Best is the widest level this CPU runs.
func Best() Level { return Level(C.simd_best()) }

// Current is the level in use.
func Current() Level { return current }

// Levels lists the levels this CPU runs, Go first.
func Levels() []Level {
	var ls []Level
	for l := Go; l <= Best(); l++ {
		ls = append(ls, l)
	}
	return ls
}

// Use switches every kernel to level l (for tests and benchmarks); it fails
// if the CPU lacks l. It must not be called while kernels run.
func Use(l Level) error {
	if l != Go && C.simd_set(C.int(l)) != 0 {
		return fmt.Errorf("simd: this CPU cannot run %v (best: %v)", l, Best())
	}
	current = l
	return nil
}

func ptr(x []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(x))) }

// GeluForward sets o[i] = x[i]*Phi(x[i]) for i < len(x). o may alias x.
func GeluForward(o, x []float32) {
	if len(x) == 0 {
		return
	}
	_ = o[len(x)-1]
	C.simd_gelu_fwd(ptr(o), ptr(x), C.long(len(x)))
}

// GeluBackward sets o[i] = d[i]*gelu'(x[i]) for i < len(x). o may alias x
// or d.
func GeluBackward(o, x, d []float32) {
	if len(x) == 0 {
		return
	}
	_, _ = o[len(x)-1], d[len(x)-1]
	C.simd_gelu_bwd(ptr(o), ptr(x), ptr(d), C.long(len(x)))
}

// ExpShiftSum sets d[j] = exp(x[j]-m) and returns their sum (for x[j] <= m
// + 88). d may alias x.
func ExpShiftSum(d, x []float32, m float32) float32 {
	if len(x) == 0 {
		return 0
	}
	_ = d[len(x)-1]
	return float32(C.simd_exp_shift_sum(ptr(d), ptr(x), C.long(len(x)), C.float(m)))
}

// SoftmaxBiasRows replaces each len(bias)-wide row of p with
// softmax(row + bias), in place.
func SoftmaxBiasRows(p, bias []float32) {
	cols := len(bias)
	if cols == 0 || len(p) == 0 {
		return
	}
	if len(p)%cols != 0 {
		panic("simd: softmax rows: len(p) not a multiple of len(bias)")
	}
	C.simd_softmax_bias_rows(ptr(p), ptr(bias), C.long(len(p)/cols), C.long(cols))
}

// SoftmaxDropBackwardRows sets, for each cols-wide row, d = pd*d -
// p*sum(pd*d): the softmax-input gradient from the gradient d of pd =
// dropout(p).
func SoftmaxDropBackwardRows(d, pd, p []float32, cols int) {
	if len(d) == 0 {
		return
	}
	if cols <= 0 || len(d)%cols != 0 || len(pd) < len(d) || len(p) < len(d) {
		panic("simd: softmax backward rows: bad lengths")
	}
	C.simd_softmax_drop_bwd_rows(ptr(d), ptr(pd), ptr(p), C.long(len(d)/cols), C.long(cols))
}

// DropRows sets d[j] = src[j]*scale if flat element base+j survives dropout
// under seed (its 32-bit hash, nn's, is at least thr), else 0; thr >= 2**32
// drops every element. d may alias src.
func DropRows(d, src []float32, seed, base, thr uint64, scale float32) {
	if len(src) == 0 {
		return
	}
	_ = d[len(src)-1]
	C.simd_drop_rows(ptr(d), ptr(src), C.long(len(src)), C.uint64_t(seed), C.uint64_t(base), C.uint64_t(thr), C.float(scale))
}

// LayerNormForward normalises each cols-wide row of inp (len(mean) rows) into
// out, saving each row's mean and 1/sqrt(var+eps). out may alias inp.
func LayerNormForward(out, mean, rstd, inp, w, b []float32, cols int, eps float32) {
	rows := len(mean)
	if rows == 0 {
		return
	}
	_, _, _, _, _ = out[rows*cols-1], rstd[rows-1], inp[rows*cols-1], w[cols-1], b[cols-1]
	C.simd_layernorm_fwd(ptr(out), ptr(mean), ptr(rstd), ptr(inp), ptr(w), ptr(b), C.long(rows), C.long(cols), C.float(eps))
}

// LayerNormBackwardInput sets, for each of len(mean) rows, dinp = rstd*(g -
// mean(g) - xhat*mean(g*xhat)) with g = dout*w. dinp may alias dout.
func LayerNormBackwardInput(dinp, dout, inp, mean, rstd, w []float32, cols int) {
	rows := len(mean)
	if rows == 0 {
		return
	}
	_, _, _, _, _ = dinp[rows*cols-1], dout[rows*cols-1], inp[rows*cols-1], rstd[rows-1], w[cols-1]
	C.simd_layernorm_bwd_input(ptr(dinp), ptr(dout), ptr(inp), ptr(mean), ptr(rstd), ptr(w), C.long(rows), C.long(cols))
}

// LayerNormBackwardParams adds, for columns [lo, hi) of the cols-wide rows
// (len(mean) of them), dout*xhat into dw and dout into db; a nil dw or db
// is skipped.
func LayerNormBackwardParams(dw, db, dout, inp, mean, rstd []float32, cols, lo, hi int) {
	n := len(mean)
	if n == 0 || hi <= lo {
		return
	}
	_, _, _ = dout[n*cols-1], inp[n*cols-1], rstd[n-1]
	var pw, pb *C.float
	if dw != nil {
		_ = dw[hi-1]
		pw = ptr(dw)
	}
	if db != nil {
		_ = db[hi-1]
		pb = ptr(db)
	}
	C.simd_layernorm_bwd_params(pw, pb, ptr(dout), ptr(inp), ptr(mean), ptr(rstd), C.long(n), C.long(cols), C.long(lo), C.long(hi-lo))
}

// FMAPeak measures the machine's multiply-add peak in flop/s: threads
// goroutines, each on its own OS thread, run independent FMA chains at the
// widest level the CPU has for about d, and their flops are summed.
func FMAPeak(threads int, d time.Duration) float64 {
	const iters = 1 << 20
	perCall := float64(iters) * float64(C.simd_fma_flops_best())
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for time.Since(start) < d {
				C.simd_fma_chains_best(iters)
				total.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(total.Load()) * perCall / time.Since(start).Seconds()
}
