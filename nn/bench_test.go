package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/internal/simd"
)

// Benchmarks at the `small` preset's shapes (C=256, F=1024, NH=4, B=32,
// T=128, N=4096, V=8000, about 15% of tokens masked: M=615), float32, split
// over a two-worker pool as the model runs them. Run with a short
// -benchtime (e.g. 3x): each op is a whole-batch call.
const (
	bB, bT, bC, bNH, bF, bV, bM, bP = 32, 128, 256, 4, 1024, 8000, 615, 514
	bN                              = bB * bT
)

// benchEnv holds the float32 tensors shared by the benchmarks.
type benchEnv struct {
	pool                       *parallel.Pool
	x, y, dx, dy               []float32 // [N, C]
	h, dh                      []float32 // [N, F]
	qkv, dqkv                  []float32 // [N, 3C]
	wUp, dwUp, bUp, dbUp       []float32 // [F, C], [F]
	wQKV                       []float32 // [3C, C]
	lnw, lnb, dlnw, dlnb       []float32
	mean, rstd                 []float32
	probs, keyBias             []float32
	ids, pos, rows, targets    []int32
	wte, wpe, wtt, dwte, dwpe  []float32
	dwtt, logits, losses, gath []float32
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	blas.SetThreads(1)
	r := rand.New(rand.NewPCG(1, 2))
	e := &benchEnv{pool: parallel.New(2)}
	b.Cleanup(e.pool.Close)
	e.x, e.y, e.dx, e.dy = randn32(r, bN*bC, 1), randn32(r, bN*bC, 1), make([]float32, bN*bC), randn32(r, bN*bC, 1)
	e.h, e.dh = randn32(r, bN*bF, 1), randn32(r, bN*bF, 1)
	e.qkv, e.dqkv = randn32(r, bN*3*bC, 1), make([]float32, bN*3*bC)
	e.wUp, e.dwUp, e.bUp, e.dbUp = randn32(r, bF*bC, 0.05), make([]float32, bF*bC), randn32(r, bF, 0.1), make([]float32, bF)
	e.wQKV = randn32(r, 3*bC*bC, 0.05)
	e.lnw, e.lnb, e.dlnw, e.dlnb = randn32(r, bC, 1), randn32(r, bC, 1), make([]float32, bC), make([]float32, bC)
	e.mean, e.rstd = make([]float32, bN), make([]float32, bN)
	LayerNormForward(e.y, e.mean, e.rstd, e.x, e.lnw, e.lnb, bC, 1e-5, 0, bN)
	e.probs, e.keyBias = make([]float32, bB*bNH*bT*bT), make([]float32, bN)
	for bb := 0; bb < bB; bb++ { // a few padded keys per sequence
		for j := bT - bb%8; j < bT; j++ {
			e.keyBias[bb*bT+j] = -math.MaxFloat32
		}
	}
	e.ids, e.pos = make([]int32, bN), make([]int32, bN)
	for i := range e.ids {
		e.ids[i], e.pos[i] = int32(r.IntN(bV)), int32(2+i%bT)
	}
	e.rows, e.targets = make([]int32, bM), make([]int32, bM)
	for j := range e.rows {
		e.rows[j], e.targets[j] = int32(j*bN/bM), int32(r.IntN(bV))
	}
	e.wte, e.wpe, e.wtt = randn32(r, bV*bC, 0.05), randn32(r, bP*bC, 0.05), randn32(r, bC, 0.05)
	e.dwte, e.dwpe, e.dwtt = make([]float32, bV*bC), make([]float32, bP*bC), make([]float32, bC)
	e.logits, e.losses, e.gath = randn32(r, bM*bV, 3), make([]float32, bM), make([]float32, bM*bC)
	return e
}

// run times fn split over n with the pool.
func (e *benchEnv) run(b *testing.B, n int, fn func(lo, hi int)) {
	b.Helper()
	fn(0, n) // warm up
	b.ResetTimer()
	for b.Loop() {
		e.pool.For(n, fn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
}

func BenchmarkOps(b *testing.B) {
	e := newBenchEnv(b)
	bh := bB * bNH
	probs, dlogits := make([]float32, bM*bV), make([]float32, bM*bV)
	cases := []struct {
		name string
		n    int
		fn   func(lo, hi int)
	}{
		{"LinearForward/QKV_256x768", bN, func(lo, hi int) { LinearForward(e.qkv, e.x, e.wQKV, e.bUp[:3*bC], bC, 3*bC, lo, hi) }},
		{"LinearForward/Up_256x1024", bN, func(lo, hi int) { LinearForward(e.h, e.x, e.wUp, e.bUp, bC, bF, lo, hi) }},
		{"LinearBackwardInput/Up", bN, func(lo, hi int) { LinearBackwardInput(e.dx, e.dh, e.wUp, bC, bF, lo, hi) }},
		{"LinearBackwardParams/Up", bF, func(lo, hi int) { LinearBackwardParams(e.dwUp, e.dbUp, e.dh, e.x, bN, bC, bF, lo, hi) }},
		{"LayerNormForward", bN, func(lo, hi int) { LayerNormForward(e.y, e.mean, e.rstd, e.x, e.lnw, e.lnb, bC, 1e-5, lo, hi) }},
		{"LayerNormBackwardInput", bN, func(lo, hi int) { LayerNormBackwardInput(e.dx, e.dy, e.x, e.mean, e.rstd, e.lnw, bC, lo, hi) }},
		{"LayerNormBackwardParams", bC, func(lo, hi int) {
			LayerNormBackwardParams(e.dlnw, e.dlnb, e.dy, e.x, e.mean, e.rstd, bN, bC, lo, hi)
		}},
		{"GeluForward_NxF", bN * bF, func(lo, hi int) { GeluForward(e.dh, e.h, lo, hi) }},
		{"GeluBackward_NxF", bN * bF, func(lo, hi int) { GeluBackward(e.dh, e.h, e.dh, lo, hi) }},
		{"DropoutForward_NxC", bN * bC, func(lo, hi int) { DropoutForward(e.dx, e.x, 0.1, 3, lo, hi) }},
		{"DropoutBackward_NxC", bN * bC, func(lo, hi int) { DropoutBackward(e.dx, e.dy, 0.1, 3, lo, hi) }},
		{"AddForward_NxC", bN * bC, func(lo, hi int) { AddForward(e.dx, e.x, e.y, lo, hi) }},
		{"Accumulate_NxC", bN * bC, func(lo, hi int) { Accumulate(e.dx, e.y, lo, hi) }},
		{"EmbeddingForward", bN, func(lo, hi int) { EmbeddingForward(e.dx, e.ids, e.pos, e.wte, e.wpe, e.wtt, bC, lo, hi) }},
		{"EmbeddingBackward", bC, func(lo, hi int) {
			EmbeddingBackward(e.dwte, e.dwpe, e.dwtt, e.dy, e.ids, e.pos, bN, bC, lo, hi)
		}},
		{"GatherRows_M", bM, func(lo, hi int) { GatherRows(e.gath, e.x, e.rows, bC, lo, hi) }},
		{"ScatterRows_M", bM, func(lo, hi int) { ScatterRows(e.dx, e.gath, e.rows, bC, lo, hi) }},
		{"AttentionForward/p0", bh, func(lo, hi int) {
			AttentionForward(e.y, e.probs, e.qkv, e.keyBias, bB, bT, bC, bNH, 0, 9, lo, hi)
		}},
		{"AttentionForward/p0.1", bh, func(lo, hi int) {
			AttentionForward(e.y, e.probs, e.qkv, e.keyBias, bB, bT, bC, bNH, 0.1, 9, lo, hi)
		}},
		{"AttentionBackward/p0", bh, func(lo, hi int) {
			AttentionBackward(e.dqkv, e.dy, e.qkv, e.probs, bB, bT, bC, bNH, 0, 9, lo, hi)
		}},
		{"AttentionBackward/p0.1", bh, func(lo, hi int) {
			AttentionBackward(e.dqkv, e.dy, e.qkv, e.probs, bB, bT, bC, bNH, 0.1, 9, lo, hi)
		}},
		{"LMHead_Linear_Mx256x8000", bM, func(lo, hi int) { LinearForward(e.logits, e.gath, e.wte, nil, bC, bV, lo, hi) }},
		{"CrossEntropyForward_MxV", bM, func(lo, hi int) { CrossEntropyForward(e.losses, probs, e.logits, e.targets, bV, lo, hi) }},
		{"CrossEntropyBackward_MxV", bM, func(lo, hi int) {
			CrossEntropyBackward(dlogits, probs, e.targets, 1.0/bM, bV, lo, hi)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { e.run(b, c.n, c.fn) })
	}
}

// BenchmarkKernels32 times the float32 loops single-threaded on the
// small preset's tensor sizes, at every kernel level this CPU has (Go
// loops first), and reports ns per element, the figure to compare with
// memory bandwidth and with the GEMMs.
func BenchmarkKernels32(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const probs = bB * bNH * bT * bT / 8 // a slice of the probabilities: 16 (b,h) pairs
	P := randn32(r, probs, 1)
	d := randn32(r, probs, 1)
	bias := make([]float32, bT)
	h, dh := randn32(r, bN*bF/8, 1), randn32(r, bN*bF/8, 1)
	thr, sc := dropThreshold(float32(0.1))
	cases := []struct {
		name string
		n    int
		fn   func()
	}{
		{"softmax_rows", probs, func() { softmaxBiasRows(P, bias) }},
		{"softmax_backward_rows", probs, func() { softmaxDropBackwardRows(d, P, P, bT) }},
		{"dropout_mask", probs, func() { dropRows(d, P, 1, 0, thr, sc) }},
		{"exp_sum", probs, func() { expShiftInto(d, P, 5) }},
		{"gelu_forward", len(h), func() { GeluForward(dh, h, 0, len(h)) }},
		{"gelu_backward", len(h), func() { GeluBackward(dh, h, dh, 0, len(h)) }},
	}
	was := simd.Current()
	defer simd.Use(was)
	for _, l := range simd.Levels() {
		simd.Use(l)
		for _, c := range cases {
			b.Run(l.String()+"/"+c.name, func(b *testing.B) {
				for b.Loop() {
					c.fn()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.n), "ns/elem")
			})
		}
	}
}
