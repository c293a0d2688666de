package head

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"lethe/nn"
)

// fdStep is the central-difference step: in float64 both the truncation
// (h^2) and the rounding (eps/h) errors stay far below the tolerance.
const fdStep = 1e-5

// checkGrad compares the analytic gradient grad of loss with respect to x
// with central differences, element by element, and fails when the relative
// error |a-n| / max(|a|, |n|, 1e-3*max|a|, 1e-8) exceeds tol.
func checkGrad(t *testing.T, label string, loss func() float64, x, grad []float64, tol float64) {
	t.Helper()
	if len(x) != len(grad) {
		t.Fatalf("%s: %d values, %d gradients", label, len(x), len(grad))
	}
	scale := 0.0
	for _, g := range grad {
		scale = math.Max(scale, math.Abs(g))
	}
	if scale == 0 {
		t.Fatalf("%s: the analytic gradient is all zero: nothing is checked", label)
	}
	worst, at := 0.0, 0
	for i := range x {
		orig := x[i]
		x[i] = orig + fdStep
		lp := loss()
		x[i] = orig - fdStep
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * fdStep)
		den := math.Max(math.Max(math.Abs(num), math.Abs(grad[i])), math.Max(1e-3*scale, 1e-8))
		if e := math.Abs(num-grad[i]) / den; e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	t.Logf("%s: max relative error %.2e", label, worst)
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("%s: relative error %.2e at element %d (analytic %g), want <= %g", label, worst, at, grad[at], tol)
	}
}

// relErr is max|a-b| / max|b|: the error of a relative to the size of b.
func relErr(a []float32, b []float64) float64 {
	d, m := 0.0, 0.0
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-b[i]))
		m = math.Max(m, math.Abs(b[i]))
	}
	if m == 0 {
		return d
	}
	return d / m
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func randHidden(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// classCase is one configuration of the classification tests.
type classCase struct {
	name          string
	B, T, C, L    int
	dropout       float64
	train         bool
	frozenOutProj bool
}

var classCases = []classCase{
	{"eval", 3, 4, 8, 3, 0.1, false, false},
	{"train with dropout", 4, 3, 8, 5, 0.3, true, false},
	{"one example, two labels", 1, 2, 6, 2, 0.1, true, false},
	{"frozen out_proj", 2, 3, 8, 3, 0.1, true, true},
}

// newClassPair returns a float32 head initialised with seed and a float64
// core holding the same weights.
func newClassPair(t *testing.T, tc classCase, maxB int) (*Classification, *classCore[float64]) {
	t.Helper()
	h, err := NewClassification(tc.C, tc.L, maxB, tc.dropout)
	if err != nil {
		t.Fatal(err)
	}
	h.Init(7, 0.5) // larger than 0.02 so that tanh and the softmax are far from linear
	c := newClassCore[float64](tc.C, tc.L, maxB, float64(float32(tc.dropout)))
	c.wd, c.bd, c.wo, c.bo = to64(h.Dense.Data), to64(h.DenseBias.Data), to64(h.OutProj.Data), to64(h.OutProjBias.Data)
	for _, p := range []*nn.Param{h.DenseBias, h.OutProjBias} { // non-zero biases, so their use is checked
		for i := range p.Data {
			p.Data[i] = float32(0.1 * float64(i%3-1))
		}
	}
	c.bd, c.bo = to64(h.DenseBias.Data), to64(h.OutProjBias.Data)
	if tc.frozenOutProj {
		h.OutProj.RequiresGrad = false
		h.OutProjBias.RequiresGrad = false
	}
	return h, &c
}

func TestClassificationGradients(t *testing.T) {
	for _, tc := range classCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.B)))
			h, c := newClassPair(t, tc, tc.B+1)
			hidden := randHidden(r, tc.B*tc.T*tc.C)
			labels := make([]int32, tc.B)
			for i := range labels {
				labels[i] = int32(r.IntN(tc.L))
			}
			const seed = 99
			h64 := to64(hidden)
			loss := func() float64 {
				l, err := c.forward(h64, tc.B, tc.T, labels, tc.train, seed)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			// Analytic gradients in float64.
			c.gwd, c.gbd = make([]float64, len(c.wd)), make([]float64, len(c.bd))
			c.gwo, c.gbo = make([]float64, len(c.wo)), make([]float64, len(c.bo))
			loss64 := loss()
			dh64 := make([]float64, len(h64))
			if err := c.backward(dh64); err != nil {
				t.Fatal(err)
			}
			for i := range dh64 {
				if i%(tc.T*tc.C) >= tc.C && dh64[i] != 0 {
					t.Fatalf("dHidden[%d] = %g: only the <s> rows may be non-zero", i, dh64[i])
				}
			}
			for _, g := range []struct {
				name    string
				x, grad []float64
			}{{"classifier.dense.weight", c.wd, c.gwd}, {"classifier.dense.bias", c.bd, c.gbd},
				{"classifier.out_proj.weight", c.wo, c.gwo}, {"classifier.out_proj.bias", c.bo, c.gbo}} {
				checkGrad(t, g.name, loss, g.x, g.grad, 1e-6)
			}
			// dHidden, on the <s> rows (the others are read by nobody).
			for b := range tc.B {
				row := h64[b*tc.T*tc.C : b*tc.T*tc.C+tc.C]
				checkGrad(t, "hidden <s> row", loss, row, dh64[b*tc.T*tc.C:b*tc.T*tc.C+tc.C], 1e-6)
			}

			loss() // the difference loops leave the core's buffers at a perturbed point

			// The float32 head, the one used at run time, on the same weights.
			for _, p := range h.Params() {
				clear(p.Grad)
				for i := range p.Grad {
					p.Grad[i] = 1 // gradients accumulate onto what is there
				}
			}
			loss32, err := h.Forward(hidden, tc.B, tc.T, labels, tc.train, seed)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(loss32-loss64) / loss64; d > 1e-5 {
				t.Errorf("float32 loss %g, float64 %g: relative difference %.1e", loss32, loss64, d)
			}
			if e := relErr(h.Logits(), c.logits[:tc.B*tc.L]); e > 1e-5 {
				t.Errorf("float32 logits differ from float64 by %.1e", e)
			}
			dh := make([]float32, len(hidden))
			for i := range dh {
				dh[i] = 5 // Backward zeroes it
			}
			if err := h.Backward(dh); err != nil {
				t.Fatal(err)
			}
			if e := relErr(dh, dh64); e > 1e-5 {
				t.Errorf("float32 dHidden differs from float64 by %.1e", e)
			}
			for i, p := range h.Params() {
				want := [][]float64{c.gwd, c.gbd, c.gwo, c.gbo}[i]
				got := make([]float32, len(p.Grad))
				for j := range got {
					got[j] = p.Grad[j] - 1
				}
				if !p.RequiresGrad {
					for j, v := range p.Grad {
						if v != 1 {
							t.Fatalf("%s is frozen but its Grad[%d] changed to %g", p.Name, j, v)
						}
					}
					continue
				}
				if e := relErr(got, want); e > 1e-5 {
					t.Errorf("float32 %s gradient differs from float64 by %.1e", p.Name, e)
				}
			}
		})
	}
}

func TestClassificationDropoutDeterministic(t *testing.T) {
	tc := classCase{"", 3, 2, 8, 4, 0.5, true, false}
	h, _ := newClassPair(t, tc, 3)
	hidden := randHidden(rand.New(rand.NewPCG(2, 2)), tc.B*tc.T*tc.C)
	run := func(train bool, seed uint64) []float32 {
		if _, err := h.Forward(hidden, tc.B, tc.T, nil, train, seed); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), h.Logits()...)
	}
	a, b, other, eval := run(true, 5), run(true, 5), run(true, 6), run(false, 5)
	same := func(x, y []float32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed gave different logits")
	}
	if same(a, other) || same(a, eval) {
		t.Error("another seed, or dropout off, gave the same logits: dropout is not applied")
	}
	if !same(eval, run(false, 77)) {
		t.Error("without training the seed changed the logits")
	}
}

func TestQuestionAnsweringGradients(t *testing.T) {
	for _, tc := range []struct {
		name         string
		B, T, C      int
		starts, ends []int32
	}{
		{"in range", 3, 5, 8, []int32{0, 4, 2}, []int32{1, 4, 3}},
		{"clamped and ignored", 3, 5, 8, []int32{-3, 9, 2}, []int32{5, 1, 4}}, // -3 -> 0; 9 -> 5 and 5: ignored
		{"one side all ignored", 2, 4, 6, []int32{1, 2}, []int32{4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, uint64(tc.T)))
			h, err := NewQuestionAnswering(tc.C, tc.B, tc.T+2)
			if err != nil {
				t.Fatal(err)
			}
			h.Init(11, 0.5)
			h.Bias.Data[0], h.Bias.Data[1] = 0.2, -0.3
			c := newQACore[float64](tc.C, tc.B, tc.T+2)
			c.w, c.bias = to64(h.Weight.Data), to64(h.Bias.Data)
			hidden := randHidden(r, tc.B*tc.T*tc.C)
			h64 := to64(hidden)
			loss := func() float64 {
				l, err := c.forward(h64, tc.B, tc.T, tc.starts, tc.ends)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			c.gw, c.gb = make([]float64, len(c.w)), make([]float64, len(c.bias))
			loss64 := loss()
			if math.IsNaN(loss64) || loss64 <= 0 {
				t.Fatalf("loss %g: want a positive number", loss64)
			}
			start64, end64 := append([]float64(nil), c.start[:tc.B*tc.T]...), append([]float64(nil), c.end[:tc.B*tc.T]...)
			dh64 := make([]float64, len(h64))
			if err := c.backward(dh64); err != nil {
				t.Fatal(err)
			}
			checkGrad(t, "qa_outputs.weight", loss, c.w, c.gw, 1e-6)
			checkGrad(t, "qa_outputs.bias", loss, c.bias, c.gb, 1e-6)
			checkGrad(t, "hidden", loss, h64, dh64, 1e-6)

			for _, p := range h.Params() {
				clear(p.Grad)
			}
			loss32, err := h.Forward(hidden, tc.B, tc.T, tc.starts, tc.ends, true, 1)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(loss32-loss64) / loss64; d > 1e-5 {
				t.Errorf("float32 loss %g, float64 %g: relative difference %.1e", loss32, loss64, d)
			}
			if e := math.Max(relErr(h.StartLogits(), start64), relErr(h.EndLogits(), end64)); e > 1e-5 {
				t.Errorf("float32 start/end logits differ from float64 by %.1e", e)
			}
			dh := make([]float32, len(hidden))
			if err := h.Backward(dh); err != nil {
				t.Fatal(err)
			}
			if e := relErr(dh, dh64); e > 1e-5 {
				t.Errorf("float32 dHidden differs from float64 by %.1e", e)
			}
			// The bias gradient is zero up to rounding (a constant added to every
			// position of a row does not change its softmax), so it is compared
			// on the scale of the weight gradient.
			g32 := append(append([]float32(nil), h.Weight.Grad...), h.Bias.Grad...)
			g64 := append(append([]float64(nil), c.gw...), c.gb...)
			if e := relErr(g32, g64); e > 1e-5 {
				t.Errorf("float32 parameter gradients differ from float64 by %.1e", e)
			}
		})
	}
}

func TestHeadsNoAllocations(t *testing.T) {
	const B, T, C, L = 4, 16, 32, 3
	r := rand.New(rand.NewPCG(4, 4))
	hidden := randHidden(r, B*T*C)
	dh := make([]float32, len(hidden))
	cls, err := NewClassification(C, L, B, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	cls.Init(1, 0.02)
	labels := []int32{0, 1, 2, 1}
	step := uint64(0)
	if n := testing.AllocsPerRun(20, func() {
		step++
		if _, err := cls.Forward(hidden, B, T, labels, true, step); err != nil {
			t.Fatal(err)
		}
		if err := cls.Backward(dh); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("classification step: %v allocations, want 0", n)
	}
	qa, err := NewQuestionAnswering(C, B, T)
	if err != nil {
		t.Fatal(err)
	}
	qa.Init(1, 0.02)
	starts, ends := []int32{1, 2, 3, 0}, []int32{2, 5, 3, 0}
	if n := testing.AllocsPerRun(20, func() {
		if _, err := qa.Forward(hidden, B, T, starts, ends, true, 0); err != nil {
			t.Fatal(err)
		}
		if err := qa.Backward(dh); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("question-answering step: %v allocations, want 0", n)
	}
}

func TestInit(t *testing.T) {
	h, err := NewClassification(64, 3, 1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	h.Init(1, 0.02)
	w := append([]float32(nil), h.Dense.Data...)
	var s, s2 float64
	for _, v := range w {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(w))
	if mean, std := s/n, math.Sqrt(s2/n-(s/n)*(s/n)); math.Abs(mean) > 0.002 || math.Abs(std-0.02) > 0.002 {
		t.Errorf("dense weight mean %g std %g, want about 0 and 0.02", mean, std)
	}
	h.DenseBias.Data[0] = 3
	h.Init(1, 0.02)
	for i, v := range h.Dense.Data {
		if v != w[i] {
			t.Fatal("Init with the same seed drew different weights")
		}
	}
	if h.DenseBias.Data[0] != 0 {
		t.Error("Init left a bias non-zero")
	}
	h.Init(2, 0.02)
	if h.Dense.Data[0] == w[0] && h.Dense.Data[1] == w[1] {
		t.Error("another seed drew the same weights")
	}
	if h.OutProj.Data[0] == h.Dense.Data[0] {
		t.Error("two tensors share a random stream")
	}
	names := []string{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"}
	for i, p := range h.Params() {
		if p.Name != names[i] || !p.RequiresGrad || len(p.Grad) != p.Numel() || len(p.Data) != p.Numel() {
			t.Errorf("param %d: %q shape %v: want %q with data and grad", i, p.Name, p.Shape, names[i])
		}
	}
	qa, _ := NewQuestionAnswering(8, 1, 4)
	if ps := qa.Params(); ps[0].Name != "qa_outputs.weight" || ps[1].Name != "qa_outputs.bias" || ps[0].Shape[0] != 2 || ps[0].Shape[1] != 8 {
		t.Errorf("qa params %q %v, %q", ps[0].Name, ps[0].Shape, ps[1].Name)
	}
}

func TestHeadErrors(t *testing.T) {
	cls, _ := NewClassification(4, 3, 2, 0.1)
	qa, _ := NewQuestionAnswering(4, 2, 5)
	h := make([]float32, 2*5*4)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"batch too big", func() error { _, err := cls.Forward(make([]float32, 3*5*4), 3, 5, nil, false, 0); return err }(), "batch 3"},
		{"hidden length", func() error { _, err := cls.Forward(h[:10], 2, 5, nil, false, 0); return err }(), "10 hidden values"},
		{"label out of range", func() error { _, err := cls.Forward(h, 2, 5, []int32{0, 3}, false, 0); return err }(), "label 3 (example 1)"},
		{"label count", func() error { _, err := cls.Forward(h, 2, 5, []int32{0}, false, 0); return err }(), "1 labels"},
		{"backward without labels", func() error { cls.Forward(h, 2, 5, nil, false, 0); return cls.Backward(h) }(), "without a forward with labels"},
		{"sequence too long", func() error { _, err := qa.Forward(make([]float32, 2*6*4), 2, 6, nil, nil, false, 0); return err }(), "sequence length 6"},
		{"one side of positions", func() error { _, err := qa.Forward(h, 2, 5, []int32{1, 2}, nil, false, 0); return err }(), "both or neither"},
		{"qa backward without positions", func() error { qa.Forward(h, 2, 5, nil, nil, false, 0); return qa.Backward(h) }(), "without a forward with positions"},
		{"bad dropout", func() error { _, err := NewClassification(4, 3, 2, 1); return err }(), "dropout 1"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}
