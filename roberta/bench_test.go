package roberta

import (
	"testing"

	"lethe/internal/blas"
	"lethe/internal/parallel"
)

// newBenchModel builds a model of preset name with batch B x T, initialised,
// and an MLM batch with ~15% labelled positions and no padding.
func newBenchModel(tb testing.TB, name string, B, workers int) (*Model, []int32, []int32, *parallel.Pool) {
	tb.Helper()
	cfg, err := Preset(name)
	if err != nil {
		tb.Fatal(err)
	}
	pool := parallel.New(workers)
	m, err := New(cfg, B, cfg.MaxSeqLen(), pool)
	if err != nil {
		tb.Fatal(err)
	}
	m.Init(1)
	pads := make([]int, B)
	ids, labels := testBatch(cfg, B, cfg.MaxSeqLen(), pads, 0.15, 2)
	return m, ids, labels, pool
}

// BenchmarkTrainStep times one training step (forward + backward, dropout
// 0.1) of the small preset at B=32, T=128 on 2 workers and reports tokens/s.
// Run with -benchtime=3x on the shared 2-core machines.
func BenchmarkTrainStep(b *testing.B) { benchStep(b, "small", 32, nil) }

// BenchmarkTrainStepEmbeddingsOnly is BenchmarkTrainStep with only the token
// embeddings trainable (language adaptation): the body's weight-gradient
// GEMMs are skipped, activation gradients still run down to the embeddings.
func BenchmarkTrainStepEmbeddingsOnly(b *testing.B) { benchStep(b, "small", 32, embeddingsOnly) }

// BenchmarkMiniPretrainStep and BenchmarkMiniAdaptStep are the experiment
// presets' two training steps: the mini body pretrained at B=32 and adapted
// (embeddings only) at B=16.
func BenchmarkMiniPretrainStep(b *testing.B) { benchStep(b, "mini", 32, nil) }
func BenchmarkMiniAdaptStep(b *testing.B)    { benchStep(b, "mini", 16, embeddingsOnly) }

// embeddingsOnly freezes all but the token embeddings, as adaptation does.
func embeddingsOnly(p *Params) { p.SetRequiresGrad(false); p.WordEmb.RequiresGrad = true }

func benchStep(b *testing.B, preset string, B int, setup func(*Params)) {
	blas.SetThreads(1)
	m, ids, labels, pool := newBenchModel(b, preset, B, 2)
	defer pool.Close()
	if setup != nil {
		setup(m.Params)
	}
	step := func(seed uint64) {
		m.ZeroGrad()
		if _, _, _, err := m.Forward(ids, labels, B, true, seed); err != nil {
			b.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	step(0) // warm-up: grows the LM-head buffers
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(uint64(i + 1))
	}
	b.ReportMetric(float64(B*m.SeqLen()*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// TestTrainStepDoesNotAllocate asserts that a training step allocates
// nothing once the LM-head buffers have grown.
func TestTrainStepDoesNotAllocate(t *testing.T) {
	const B = 3
	m, ids, labels, pool := newBenchModel(t, "tiny", B, 2)
	defer pool.Close()
	seed := uint64(0)
	step := func() {
		seed++
		m.ZeroGrad()
		if _, _, _, err := m.Forward(ids, labels, B, true, seed); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	// AllocsPerRun counts the mallocs of the whole process and divides by
	// the runs, rounding down: over 100 runs a step that allocates shows as
	// at least 1, while the odd allocation of the runtime or the test
	// framework in the background (which made 5 runs flaky) rounds to 0.
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("training step allocates %v times, want 0", n)
	}
	// Eval forward and a frozen-body backward take other paths.
	m.Params.SetRequiresGrad(false)
	m.Params.WordEmb.RequiresGrad = true
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("embeddings-only step allocates %v times, want 0", n)
	}
}
