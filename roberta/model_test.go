package roberta

import (
	"math"
	"strings"
	"testing"

	"lethe/internal/parallel"
	"lethe/internal/splitmix"
)

// newTinyModel returns an initialised, perturbed tiny model for B sequences.
func newTinyModel(t *testing.T, B int, pool *parallel.Pool) *Model {
	t.Helper()
	cfg, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, B, cfg.MaxSeqLen(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(3)
	perturb(m.Params, 4)
	return m
}

// TestFiniteDifferences compares Backward with float32 central differences
// of the loss in train mode (dropout 0.1, fixed seed, so the masks are the
// same in every evaluation and the dropout backward is checked too), for the
// largest-gradient element of every parameter tensor and a few random ones.
func TestFiniteDifferences(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 3
	m := newTinyModel(t, B, pool)
	cfg := m.Config
	ids, labels := testBatch(cfg, B, m.SeqLen(), []int{0, 5, 2}, 0.3, 9)
	const seed = 77
	lossAt := func() float64 {
		l, _, _, err := m.Forward(ids, labels, B, true, seed)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	lossAt()
	m.ZeroGrad()
	if err := m.Backward(); err != nil {
		t.Fatal(err)
	}
	r := &splitmix.Rand{S: 5}
	const h = 1e-2
	checked, worst := 0, 0.0
	for _, q := range m.Params.All() {
		// The element with the largest gradient, and two random ones.
		best := 0
		for i, g := range q.Grad {
			if math.Abs(float64(g)) > math.Abs(float64(q.Grad[best])) {
				best = i
			}
		}
		for _, i := range []int{best, int(r.Next() % uint64(len(q.Data))), int(r.Next() % uint64(len(q.Data)))} {
			g := float64(q.Grad[i])
			old := q.Data[i]
			q.Data[i] = old + h
			up := lossAt()
			q.Data[i] = old - h
			down := lossAt()
			q.Data[i] = old
			fd := (up - down) / (2 * h)
			// float32 forward: loss rounding ~1e-6 gives ~1e-4 of noise in fd.
			err := math.Abs(fd - g)
			if err > 0.03*math.Abs(g)+3e-4 {
				t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", q.Name, i, g, fd)
			}
			if math.Abs(g) > 1e-2 {
				worst = math.Max(worst, err/math.Abs(g))
			}
			checked++
		}
	}
	t.Logf("%d elements checked; worst relative error where |grad| > 1e-2: %.2g", checked, worst)
}

// TestDropout checks that train mode applies dropout (loss differs from
// eval), that one seed gives one result, and that eval ignores the seed.
func TestDropout(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 2
	m := newTinyModel(t, B, pool)
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 4}, 0.5, 1)
	run := func(train bool, seed uint64) float64 {
		l, _, _, err := m.Forward(ids, labels, B, train, seed)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	e1, e2 := run(false, 1), run(false, 2)
	t1, t1b, t2 := run(true, 1), run(true, 1), run(true, 2)
	if e1 != e2 {
		t.Errorf("eval loss depends on the seed: %v vs %v", e1, e2)
	}
	if t1 != t1b {
		t.Errorf("train loss not deterministic for one seed: %v vs %v", t1, t1b)
	}
	if t1 == t2 || t1 == e1 {
		t.Errorf("dropout has no effect: train(1) %v, train(2) %v, eval %v", t1, t2, e1)
	}
	// With dropout probabilities 0, train equals eval exactly.
	m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
	if tz := run(true, 1); tz != e1 {
		t.Errorf("train with p=0 gives %v, eval %v", tz, e1)
	}
}

// TestPositionIDs checks RoBERTa's position ids (padding_idx+1 onwards over
// non-pad tokens, padding_idx at pads) and the padding key bias.
func TestPositionIDs(t *testing.T) {
	pool := parallel.New(1)
	defer pool.Close()
	cfg, _ := Preset("tiny")
	cfg.SetMaxSeqLen(6)
	m, err := New(cfg, 2, 6, pool)
	if err != nil {
		t.Fatal(err)
	}
	m.Init(1)
	ids := []int32{0, 5, 6, 2, 1, 1, 0, 7, 1, 8, 2, 1}
	labels := make([]int32, len(ids))
	for i := range labels {
		labels[i] = -100
	}
	labels[1], labels[9] = 5, 8
	if _, _, masked, err := m.Forward(ids, labels, 2, false, 0); err != nil || masked != 2 {
		t.Fatalf("Forward: masked %d, err %v", masked, err)
	}
	wantPos := []int32{2, 3, 4, 5, 1, 1, 2, 3, 1, 4, 5, 1}
	for i, w := range wantPos {
		if m.s.pos[i] != w {
			t.Errorf("pos[%d] = %d, want %d (all %v)", i, m.s.pos[i], w, m.s.pos[:12])
		}
		if pad := ids[i] == 1; pad != (m.s.keyBias[i] < -1e30) || (!pad && m.s.keyBias[i] != 0) {
			t.Errorf("keyBias[%d] = %g for id %d", i, m.s.keyBias[i], ids[i])
		}
	}
	if rows := m.MaskedRows(); len(rows) != 2 || rows[0] != 1 || rows[1] != 9 {
		t.Errorf("masked rows %v, want [1 9]", rows)
	}
	if len(m.MaskedLogits()) != 2*cfg.VocabSize {
		t.Errorf("masked logits %d, want %d", len(m.MaskedLogits()), 2*cfg.VocabSize)
	}
}

// TestPaddingIsInert checks that what sits in padded positions cannot change
// the loss: padding keys are masked out and pad rows are never labelled.
func TestPaddingIsInert(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 2
	m := newTinyModel(t, B, pool)
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 6}, 0.4, 3)
	l1, _, _, _ := m.Forward(ids, labels, B, false, 0)
	// Change the position-embedding row that only pad tokens use: no
	// effect. (The word-embedding pad row also scores class <pad> in the
	// tied decoder, so it does change the loss.)
	C, pad := m.Config.HiddenSize, m.Config.PadTokenID
	for j := 0; j < C; j++ {
		m.Params.PosEmb.Data[pad*C+j] -= 0.5
	}
	l2, _, _, _ := m.Forward(ids, labels, B, false, 0)
	if l1 != l2 {
		t.Errorf("padding content changed the loss: %v -> %v", l1, l2)
	}
}

// TestFrozenParams checks that frozen parameters get no gradient and that
// the trainable ones get exactly the gradient of a full backward, for the
// groups of the method: embeddings only (language adaptation) and body only
// (task adaptation).
func TestFrozenParams(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 3
	m := newTinyModel(t, B, pool)
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 4, 8}, 0.3, 4)
	step := func() {
		m.ZeroGrad()
		if _, _, _, err := m.Forward(ids, labels, B, true, 11); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	step()
	full := make(map[string][]float32)
	for _, q := range m.Params.All() {
		full[q.Name] = append([]float32(nil), q.Grad...)
	}
	tests := []struct {
		name  string
		setup func(p *Params)
	}{
		{"embeddingsOnly", func(p *Params) { p.SetRequiresGrad(false); p.WordEmb.RequiresGrad = true }},
		{"bodyOnly", func(p *Params) { p.SetRequiresGrad(true); p.WordEmb.RequiresGrad = false }},
		{"topLayerOnly", func(p *Params) {
			p.SetRequiresGrad(false)
			for _, q := range p.All() {
				if strings.Contains(q.Name, "layer.1.") {
					q.RequiresGrad = true
				}
			}
		}},
		{"headOnly", func(p *Params) {
			p.SetRequiresGrad(false)
			p.HeadDense.RequiresGrad, p.HeadLNB.RequiresGrad = true, true
		}},
	}
	for _, tt := range tests {
		tt.setup(m.Params)
		step()
		for _, q := range m.Params.All() {
			for i, g := range q.Grad {
				want := float32(0)
				if q.RequiresGrad {
					want = full[q.Name][i]
				}
				if g != want {
					t.Errorf("%s: %s[%d] grad %g, want %g (requires grad %v)", tt.name, q.Name, i, g, want, q.RequiresGrad)
					break
				}
			}
		}
	}
	m.Params.SetRequiresGrad(true)
}

func TestForwardErrors(t *testing.T) {
	pool := parallel.New(1)
	defer pool.Close()
	m := newTinyModel(t, 2, pool)
	T := m.SeqLen()
	ok := make([]int32, 2*T)
	okLab := make([]int32, 2*T)
	for i := range okLab {
		ok[i], okLab[i] = 5, -100
	}
	bad := func(i int, v int32) []int32 { x := append([]int32(nil), ok...); x[i] = v; return x }
	tests := []struct {
		name        string
		ids, labels []int32
		B           int
		want        string
	}{
		{"batch", ok, okLab, 3, "batch 3 outside"},
		{"zeroBatch", ok, okLab, 0, "batch 0 outside"},
		{"length", ok[:T], okLab, 2, "needs"},
		{"id", bad(3, 100), okLab, 2, "token id 100"},
		{"negativeID", bad(3, -1), okLab, 2, "token id -1"},
		{"label", ok, func() []int32 { x := append([]int32(nil), okLab...); x[4] = 100; return x }(), 2, "label 100"},
	}
	for _, tt := range tests {
		_, _, _, err := m.Forward(tt.ids, tt.labels, tt.B, false, 0)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
		if err := m.Backward(); err == nil {
			t.Errorf("%s: Backward after a failed Forward did not fail", tt.name)
		}
	}
	// No labels: loss 0, Backward is a no-op.
	m.ZeroGrad()
	loss, correct, masked, err := m.Forward(ok, okLab, 2, true, 0)
	if err != nil || loss != 0 || correct != 0 || masked != 0 {
		t.Errorf("no labels: %v %v %v %v", loss, correct, masked, err)
	}
	if err := m.Backward(); err != nil {
		t.Error(err)
	}
	for _, g := range m.Params.Grad {
		if g != 0 {
			t.Fatal("gradient without labels")
		}
	}
}

func TestNewErrors(t *testing.T) {
	pool := parallel.New(1)
	defer pool.Close()
	cfg, _ := Preset("tiny")
	bad := cfg
	bad.HiddenSize = 33
	tests := []struct {
		name   string
		cfg    Config
		B, T   int
		pool   *parallel.Pool
		wanted string
	}{
		{"config", bad, 1, 16, pool, "invalid config"},
		{"batch", cfg, 0, 16, pool, "maxBatch"},
		{"seq", cfg, 1, 17, pool, "sequence length 17"},
		{"pool", cfg, 1, 16, nil, "nil pool"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg, tt.B, tt.T, tt.pool); err == nil || !strings.Contains(err.Error(), tt.wanted) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wanted)
		}
	}
}

// TestCorrectCount labels every other masked position with the model's own
// prediction and checks that Forward counts exactly those as correct.
func TestCorrectCount(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 3
	m := newTinyModel(t, B, pool)
	V := m.Config.VocabSize
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 3, 7}, 0.5, 8)
	if _, _, _, err := m.Forward(ids, labels, B, false, 0); err != nil {
		t.Fatal(err)
	}
	logits := m.MaskedLogits()
	want := 0
	for j, row := range m.MaskedRows() {
		best := 0
		for k := range V {
			if logits[j*V+k] > logits[j*V+best] {
				best = k
			}
		}
		if j%2 == 0 {
			labels[row] = int32(best)
			want++
		} else if labels[row] == int32(best) {
			labels[row] = int32((best + 1) % V)
		}
	}
	_, correct, masked, err := m.Forward(ids, labels, B, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if correct != want || masked != len(m.MaskedRows()) || want < 5 {
		t.Errorf("correct %d of %d, want %d", correct, masked, want)
	}
}

// TestEncodeBackwardHidden checks the task-head path: Encode's hidden states
// are what Forward feeds the LM head (in eval mode; in train mode Forward's
// compact last layer draws other dropout masks), and BackwardHidden matches float32
// central differences of L = sum(hidden * R) in train mode.
func TestEncodeBackwardHidden(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 2
	m := newTinyModel(t, B, pool)
	C := m.Config.HiddenSize
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 5}, 0.3, 12)
	if _, _, _, err := m.Forward(ids, labels, B, false, 5); err != nil {
		t.Fatal(err)
	}
	gathered := append([]float32(nil), m.layers[len(m.layers)-1].feedForward.output.out[:len(m.MaskedRows())*C]...) // compact rows
	rows := append([]int32(nil), m.MaskedRows()...)
	h, err := m.Encode(ids, B, false, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Equal up to rounding: the compact layer's GEMMs have other shapes, and
	// OpenBLAS may sum in another order for them.
	worst := 0.0
	for j, r := range rows {
		for k := 0; k < C; k++ {
			worst = math.Max(worst, math.Abs(float64(h[int(r)*C+k]-gathered[j*C+k])))
		}
	}
	if worst > 1e-5 {
		t.Errorf("Encode rows differ from the LM head's input by up to %g", worst)
	}
	t.Logf("Encode vs compact Forward: max abs difference %.2g", worst)
	if err := m.Backward(); err == nil {
		t.Error("Backward after Encode did not fail")
	}

	rg := &splitmix.Rand{S: 13}
	R := make([]float32, len(h))
	for i := range R {
		R[i] = float32(rg.Normal())
	}
	lossAt := func() float64 {
		h, err := m.Encode(ids, B, true, 5)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range h {
			s += float64(v) * float64(R[i])
		}
		return s
	}
	lossAt()
	m.ZeroGrad()
	if err := m.BackwardHidden(R); err != nil {
		t.Fatal(err)
	}
	if err := m.BackwardHidden(R); err == nil {
		t.Error("second BackwardHidden without Encode did not fail")
	}
	const h32 = 1e-2
	for _, q := range []*struct {
		name string
		i    int
	}{{"roberta.embeddings.word_embeddings.weight", 5*C + 3}, {"roberta.encoder.layer.0.attention.self.value.weight", 7},
		{"roberta.encoder.layer.1.intermediate.dense.bias", 2}, {"roberta.embeddings.LayerNorm.weight", 1},
		{"roberta.encoder.layer.1.output.LayerNorm.bias", 4}} {
		p, ok := m.Params.Param(q.name)
		if !ok {
			t.Fatal(q.name)
		}
		g := float64(p.Grad[q.i])
		old := p.Data[q.i]
		p.Data[q.i] = old + h32
		up := lossAt()
		p.Data[q.i] = old - h32
		down := lossAt()
		p.Data[q.i] = old
		fd := (up - down) / (2 * h32)
		if math.Abs(fd-g) > 0.03*math.Abs(g)+2e-3 {
			t.Errorf("%s[%d]: BackwardHidden %.6g, finite difference %.6g", q.name, q.i, g, fd)
		}
	}
	// The pad token's embedding row gets no gradient from the encoder.
	pad := m.Config.PadTokenID
	for _, g := range m.Params.WordEmb.Grad[pad*C : (pad+1)*C] {
		if g != 0 {
			t.Fatal("pad row of word embeddings got an encoder gradient")
		}
	}
}

// TestGradientsAccumulate checks that Backward adds to the gradients (two
// steps without ZeroGrad give twice one step's gradient: gradient
// accumulation over micro-batches) and that ZeroGrad clears them.
func TestGradientsAccumulate(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	const B = 2
	m := newTinyModel(t, B, pool)
	ids, labels := testBatch(m.Config, B, m.SeqLen(), []int{0, 3}, 0.4, 6)
	step := func() {
		if _, _, _, err := m.Forward(ids, labels, B, true, 9); err != nil {
			t.Fatal(err)
		}
		if err := m.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	m.ZeroGrad()
	step()
	once := append([]float32(nil), m.Params.Grad...)
	step()
	// Equal up to rounding: a GEMM with beta=1 may add its partial sums to
	// the existing gradient in another order than to zero.
	scale := 0.0
	for _, g := range once {
		scale = math.Max(scale, math.Abs(float64(g)))
	}
	nonzero := 0
	for i, g := range m.Params.Grad {
		if math.Abs(float64(g)-2*float64(once[i])) > 1e-6*scale {
			t.Fatalf("grad[%d] after two steps %g, want 2 x %g", i, g, once[i])
		}
		if g != 0 {
			nonzero++
		}
	}
	if nonzero < len(once)/2 {
		t.Errorf("only %d of %d gradients nonzero", nonzero, len(once))
	}
	m.ZeroGrad()
	for _, g := range m.Params.Grad {
		if g != 0 {
			t.Fatal("ZeroGrad left a nonzero gradient")
		}
	}
}
