package benchmark

import (
	"time"

	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/roberta"
)

// gemmStep holds the matrix products of one training step of a RoBERTa
// masked LM, with buffers of the right shapes, so that they can be timed
// alone: the time of the step's GEMMs bounds how fast the whole step can be.
type gemmStep struct {
	pool  *parallel.Pool
	ops   []gemmOp
	flops float64 // multiply-adds of the step's GEMMs, counted as 2 flops each
}

// gemmOp is one parallel GEMM loop: fn over [0, n).
type gemmOp struct {
	n  int
	fn func(lo, hi int)
}

// newGEMMStep lays out, for batch b of t tokens with masked masked positions,
// the GEMMs of a forward and backward pass, split across the pool's workers
// the way Lethe's model splits them: linear layers by rows (forward, input
// gradient) and by output features (weight gradient), attention by
// (sequence, head).
func newGEMMStep(cfg roberta.Config, b, t, masked int, pool *parallel.Pool) *gemmStep {
	n, c, f, v := b*t, cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	nh, hs := cfg.NumAttentionHeads, cfg.HeadDim()
	widest := max(3*c, f, c)
	x := make([]float32, max(n, masked)*widest)
	y := make([]float32, max(n*widest, masked*v))
	w := make([]float32, max(widest*widest, v*c))
	dw := make([]float32, len(w))
	s := &gemmStep{pool: pool}

	linear := func(rows, in, out int) {
		s.flops += 3 * 2 * float64(rows*in*out) // forward, input and weight gradients
		// forward: y[rows,out] = x[rows,in] @ w[out,in]^T
		s.ops = append(s.ops, gemmOp{rows, func(lo, hi int) {
			blas.Gemm(false, true, hi-lo, out, in, 1, x[lo*in:], in, w, in, 0, y[lo*out:], out)
		}})
		// input gradient: dx[rows,in] = dy[rows,out] @ w[out,in]
		s.ops = append(s.ops, gemmOp{rows, func(lo, hi int) {
			blas.Gemm(false, false, hi-lo, in, out, 1, y[lo*out:], out, w, in, 0, x[lo*in:], in)
		}})
		// weight gradient: dw[out,in] += dy[rows,out]^T @ x[rows,in], split over out
		s.ops = append(s.ops, gemmOp{out, func(lo, hi int) {
			blas.Gemm(true, false, hi-lo, in, rows, 1, y[lo:], out, x, in, 1, dw[lo*in:], in)
		}})
	}
	attention := func() {
		// per (sequence, head): scores = q k^T, out = p v; backward: dp = do v^T,
		// dv = p^T do, dq = ds k, dk = ds^T q. q, k, v, out are t x hs slices of
		// a row stride 3c; scores t x t.
		probs := make([]float32, b*nh*t*t)
		s.flops += 6 * 2 * float64(b*nh*t*t*hs) // 2 GEMMs forward, 4 backward
		s.ops = append(s.ops, gemmOp{b * nh, func(lo, hi int) {
			for bh := lo; bh < hi; bh++ {
				q := x[(bh/nh)*t*3*c+(bh%nh)*hs:]
				p := probs[bh*t*t:]
				blas.Gemm(false, true, t, t, hs, 1, q, 3*c, q[c:], 3*c, 0, p, t)
				blas.Gemm(false, false, t, hs, t, 1, p, t, q[2*c:], 3*c, 0, y[(bh/nh)*t*c+(bh%nh)*hs:], c)
			}
		}})
		s.ops = append(s.ops, gemmOp{b * nh, func(lo, hi int) {
			for bh := lo; bh < hi; bh++ {
				q := x[(bh/nh)*t*3*c+(bh%nh)*hs:]
				do := y[(bh/nh)*t*c+(bh%nh)*hs:]
				p := probs[bh*t*t:]
				blas.Gemm(false, true, t, t, hs, 1, do, c, q[2*c:], 3*c, 0, p, t)
				blas.Gemm(true, false, t, hs, t, 1, p, t, do, c, 0, q[2*c:], 3*c)
				blas.Gemm(false, false, t, hs, t, 1, p, t, q[c:], 3*c, 0, q, 3*c)
				blas.Gemm(true, false, t, hs, t, 1, p, t, q, 3*c, 0, q[c:], 3*c)
			}
		}})
	}
	for range cfg.NumHiddenLayers {
		linear(n, c, 3*c)
		attention()
		linear(n, c, c)
		linear(n, c, f)
		linear(n, f, c)
	}
	linear(masked, c, c) // LM head dense
	linear(masked, c, v) // tied decoder
	return s
}

// run performs every GEMM of the step once.
func (s *gemmStep) run() {
	for _, op := range s.ops {
		s.pool.For(op.n, op.fn)
	}
}

// gemmBound times the step's GEMMs alone, best of reps after one warm-up, and
// returns the seconds one step's GEMMs take and their flops.
func gemmBound(cfg roberta.Config, b, t, masked, reps int, pool *parallel.Pool) (time.Duration, float64) {
	s := newGEMMStep(cfg, b, t, masked, pool)
	s.run()
	best := time.Duration(1<<63 - 1)
	for range reps {
		start := time.Now()
		s.run()
		best = min(best, time.Since(start))
	}
	return best, s.flops
}
