package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randn32(r *rand.Rand, n int, s float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(s * r.NormFloat64())
	}
	return x
}

// splitCase is one op for the split-invariance test: run executes it on a
// range of an n-long index space, reset clears what it writes (including
// accumulated gradients), and outputs lists the results to compare. exact
// says whether results must match bit for bit (GEMM-based ops may round
// differently with different block sizes).
type splitCase struct {
	name    string
	n       int
	run     func(lo, hi int)
	reset   func()
	outputs func() [][]float32
	exact   bool
}

func splitCases() []splitCase {
	r := rand.New(rand.NewPCG(10, 10))
	const n, c, f, v = 37, 12, 20, 9
	inp := randn32(r, n*c, 1)
	w, b := randn32(r, f*c, 1), randn32(r, f, 1)
	dout := randn32(r, n*f, 1)
	outF := make([]float32, n*f)
	dinp := make([]float32, n*c)
	dw, db := make([]float32, f*c), make([]float32, f)
	lnw, lnb := randn32(r, c, 1), randn32(r, c, 1)
	ln, mean, rstd := make([]float32, n*c), make([]float32, n), make([]float32, n)
	LayerNormForward(ln, mean, rstd, inp, lnw, lnb, c, 1e-5, 0, n)
	dlnw, dlnb := make([]float32, c), make([]float32, c)
	doutC := randn32(r, n*c, 1)
	outC := make([]float32, n*c)
	ids, pos := make([]int32, n), make([]int32, n)
	for i := range ids {
		ids[i], pos[i] = int32(r.IntN(v)), int32(i%7)
	}
	wte, wpe, wtt := randn32(r, v*c, 1), randn32(r, 7*c, 1), randn32(r, c, 1)
	dwte, dwpe, dwtt := make([]float32, v*c), make([]float32, 7*c), make([]float32, c)
	rows := []int32{3, 30, 0, 17, 9, 36, 5}
	gath := make([]float32, len(rows)*c)
	logits := randn32(r, n*v, 2)
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(r.IntN(v))
	}
	targets[4] = -100
	losses, dlogits, cprobs := make([]float32, n), make([]float32, n*v), make([]float32, n*v)
	const B, T, AC, NH = 3, 9, 8, 2
	qkv := randn32(r, B*T*3*AC, 1)
	kb := make([]float32, B*T)
	kb[T-1], kb[2*T-2], kb[2*T-1] = -math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32
	aout, probs := make([]float32, B*T*AC), make([]float32, B*NH*T*T)
	adout, dqkv := randn32(r, B*T*AC, 1), make([]float32, len(qkv))
	AttentionForward(aout, probs, qkv, kb, B, T, AC, NH, 0.2, 5, 0, B*NH)
	probs0 := append([]float32(nil), probs...)

	zero := func(xs ...[]float32) func() {
		return func() {
			for _, x := range xs {
				clear(x)
			}
		}
	}
	outs := func(xs ...[]float32) func() [][]float32 { return func() [][]float32 { return xs } }
	return []splitCase{
		{"LinearForward", n, func(lo, hi int) { LinearForward(outF, inp, w, b, c, f, lo, hi) }, zero(outF), outs(outF), false},
		{"LinearBackwardInput", n, func(lo, hi int) { LinearBackwardInput(dinp, dout, w, c, f, lo, hi) }, zero(dinp), outs(dinp), false},
		{"LinearBackwardParams", f, func(lo, hi int) { LinearBackwardParams(dw, db, dout, inp, n, c, f, lo, hi) }, zero(dw, db), outs(dw, db), false},
		{"LayerNormForward", n, func(lo, hi int) { LayerNormForward(ln, mean, rstd, inp, lnw, lnb, c, 1e-5, lo, hi) }, zero(ln, mean, rstd), outs(ln, mean, rstd), true},
		{"LayerNormBackwardInput", n, func(lo, hi int) { LayerNormBackwardInput(dinp, doutC, inp, mean, rstd, lnw, c, lo, hi) }, zero(dinp), outs(dinp), true},
		{"LayerNormBackwardParams", c, func(lo, hi int) { LayerNormBackwardParams(dlnw, dlnb, doutC, inp, mean, rstd, n, c, lo, hi) }, zero(dlnw, dlnb), outs(dlnw, dlnb), true},
		{"GeluForward", n * f, func(lo, hi int) { GeluForward(outF, dout, lo, hi) }, zero(outF), outs(outF), true},
		{"GeluBackward", n * c, func(lo, hi int) { GeluBackward(outC, inp, doutC, lo, hi) }, zero(outC), outs(outC), true},
		{"DropoutForward", n * c, func(lo, hi int) { DropoutForward(outC, inp, 0.3, 11, lo, hi) }, zero(outC), outs(outC), true},
		{"DropoutBackward", n * c, func(lo, hi int) { DropoutBackward(outC, doutC, 0.3, 11, lo, hi) }, zero(outC), outs(outC), true},
		{"AddForward", n * c, func(lo, hi int) { AddForward(outC, inp, doutC, lo, hi) }, zero(outC), outs(outC), true},
		{"Accumulate", n * c, func(lo, hi int) { Accumulate(outC, inp, lo, hi) }, zero(outC), outs(outC), true},
		{"EmbeddingForward", n, func(lo, hi int) { EmbeddingForward(outC, ids, pos, wte, wpe, wtt, c, lo, hi) }, zero(outC), outs(outC), true},
		{"EmbeddingBackward", c, func(lo, hi int) { EmbeddingBackward(dwte, dwpe, dwtt, doutC, ids, pos, n, c, lo, hi) }, zero(dwte, dwpe, dwtt), outs(dwte, dwpe, dwtt), true},
		{"GatherRows", len(rows), func(lo, hi int) { GatherRows(gath, inp, rows, c, lo, hi) }, zero(gath), outs(gath), true},
		{"ScatterRows", len(rows), func(lo, hi int) { ScatterRows(dinp, gath, rows, c, lo, hi) }, zero(dinp), outs(dinp), true},
		{"CrossEntropyForward", n, func(lo, hi int) { CrossEntropyForward(losses, cprobs, logits, targets, v, lo, hi) }, zero(losses, cprobs), outs(losses, cprobs), true},
		{"CrossEntropyBackward", n, func(lo, hi int) { CrossEntropyBackward(dlogits, logits, targets, 0.1, v, lo, hi) }, zero(dlogits), outs(dlogits), true},
		{"AttentionForward", B * NH, func(lo, hi int) { AttentionForward(aout, probs, qkv, kb, B, T, AC, NH, 0.2, 5, lo, hi) }, zero(aout, probs), outs(aout, probs), true},
		{"AttentionBackward", B * NH, func(lo, hi int) { AttentionBackward(dqkv, adout, qkv, probs0, B, T, AC, NH, 0.2, 5, lo, hi) }, zero(dqkv), outs(dqkv), true},
	}
}

// TestSplitInvariance checks that running an op over [0, n) in one call
// gives the same result as running it over several sub-ranges, which is
// what lets parallel.Pool.For split any op.
func TestSplitInvariance(t *testing.T) { forEachLevel(t, testSplitInvariance) }

func testSplitInvariance(t *testing.T) {
	for _, tc := range splitCases() {
		t.Run(tc.name, func(t *testing.T) {
			tc.reset()
			tc.run(0, tc.n)
			var want [][]float32
			for _, o := range tc.outputs() {
				want = append(want, append([]float32(nil), o...))
			}
			cuts := []int{0, 1, tc.n / 3, tc.n / 3, tc.n - 1, tc.n} // includes an empty range
			tc.reset()
			for i := 0; i+1 < len(cuts); i++ {
				tc.run(cuts[i], cuts[i+1])
			}
			nonzero := false
			for k, got := range tc.outputs() {
				for i := range got {
					nonzero = nonzero || got[i] != 0
					d := math.Abs(float64(got[i] - want[k][i]))
					if (tc.exact && d != 0) || d > 1e-5*(1+math.Abs(float64(want[k][i]))) {
						t.Fatalf("output %d element %d: split %g, whole %g", k, i, got[i], want[k][i])
					}
				}
			}
			if !nonzero {
				t.Fatal("op wrote nothing")
			}
		})
	}
}

// TestNoAlloc checks that no op allocates on the heap.
func TestNoAlloc(t *testing.T) {
	for _, tc := range splitCases() {
		if a := testing.AllocsPerRun(100, func() { tc.run(0, tc.n) }); a != 0 {
			t.Errorf("%s allocates %v times per call", tc.name, a)
		}
	}
}

// TestNoAllocFloat64Attention checks that the attention kernels' stack
// scratch buffer stays on the stack for float64 too.
func TestNoAllocFloat64Attention(t *testing.T) {
	const B, T, C, NH = 2, 128, 8, 2
	r := rand.New(rand.NewPCG(12, 12))
	qkv, kb := randn(r, B*T*3*C, 1), make([]float64, B*T)
	out, probs, dout, dqkv := make([]float64, B*T*C), make([]float64, B*NH*T*T), randn(r, B*T*C, 1), make([]float64, B*T*3*C)
	f := func() { AttentionForward(out, probs, qkv, kb, B, T, C, NH, 0.1, 1, 0, B*NH) }
	g := func() { AttentionBackward(dqkv, dout, qkv, probs, B, T, C, NH, 0.1, 1, 0, B*NH) }
	if a := testing.AllocsPerRun(100, f) + testing.AllocsPerRun(100, g); a != 0 {
		t.Errorf("float64 attention allocates %v times", a)
	}
}

// agree runs a float32 and a float64 computation of the same quantity and
// reports the largest absolute and relative differences.
func agree(got []float32, want []float64) (absErr, relErr float64) {
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		absErr = math.Max(absErr, d)
		relErr = math.Max(relErr, d/math.Max(math.Abs(want[i]), 1e-3))
	}
	return absErr, relErr
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestFloat32Agreement checks the float32 fast paths (polynomial exp and erf
// inside GELU, softmax and cross-entropy) against the float64 paths on the
// same inputs.
func TestFloat32Agreement(t *testing.T) { forEachLevel(t, testFloat32Agreement) }

func testFloat32Agreement(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	const n = 50000
	x32 := randn32(r, n, 3)
	x64 := to64(x32)
	d32 := randn32(r, n, 1)
	d64 := to64(d32)
	o32, o64 := make([]float32, n), make([]float64, n)
	type result struct {
		name          string
		absErr, relEr float64
		absTol        float64
	}
	var res []result
	add := func(name string, absTol float64, got []float32, want []float64) {
		a, rel := agree(got, want)
		res = append(res, result{name, a, rel, absTol})
	}
	GeluForward(o32, x32, 0, n)
	GeluForward(o64, x64, 0, n)
	add("gelu forward", 1e-6, o32, o64)
	GeluBackward(o32, x32, d32, 0, n)
	GeluBackward(o64, x64, d64, 0, n)
	add("gelu backward", 1e-6, o32, o64)

	// LayerNorm and the linear bias gradient (column sums).
	const ln, lc = 37, 100
	lx, lw, lb, ldo := randn32(r, ln*lc, 2), randn32(r, lc, 1), randn32(r, lc, 1), randn32(r, ln*lc, 1)
	for i := range lx {
		lx[i] += 3
	}
	lo32, lm32, lr32 := make([]float32, ln*lc), make([]float32, ln), make([]float32, ln)
	lo64, lm64, lr64 := make([]float64, ln*lc), make([]float64, ln), make([]float64, ln)
	LayerNormForward(lo32, lm32, lr32, lx, lw, lb, lc, 1e-5, 0, ln)
	LayerNormForward(lo64, lm64, lr64, to64(lx), to64(lw), to64(lb), lc, 1e-5, 0, ln)
	add("layernorm forward", 2e-6, lo32, lo64)
	LayerNormBackwardInput(lo32, ldo, lx, lm32, lr32, lw, lc, 0, ln)
	LayerNormBackwardInput(lo64, to64(ldo), to64(lx), lm64, lr64, to64(lw), lc, 0, ln)
	add("layernorm backward input", 2e-6, lo32, lo64)
	gw32, gb32, gw64, gb64 := make([]float32, lc), make([]float32, lc), make([]float64, lc), make([]float64, lc)
	LayerNormBackwardParams(gw32, gb32, ldo, lx, lm32, lr32, ln, lc, 0, lc)
	LayerNormBackwardParams(gw64, gb64, to64(ldo), to64(lx), lm64, lr64, ln, lc, 0, lc)
	add("layernorm backward dw", 1e-5, gw32, gw64)
	add("layernorm backward db", 1e-5, gb32, gb64)
	LinearBackwardParams(nil, gb32, ldo, lx, ln, lc, lc, 3, 90)
	LinearBackwardParams(nil, gb64, to64(ldo), to64(lx), ln, lc, lc, 3, 90)
	add("linear db (accumulated)", 1e-5, gb32, gb64)

	const B, T, C, NH = 2, 128, 16, 2
	qkv32 := randn32(r, B*T*3*C, 2)
	kb32 := make([]float32, B*T)
	for j := 100; j < T; j++ {
		kb32[T+j] = -math.MaxFloat32
	}
	p32, a32 := make([]float32, B*NH*T*T), make([]float32, B*T*C)
	p64, a64 := make([]float64, B*NH*T*T), make([]float64, B*T*C)
	AttentionForward(a32, p32, qkv32, kb32, B, T, C, NH, 0, 0, 0, B*NH)
	AttentionForward(a64, p64, to64(qkv32), to64(kb32), B, T, C, NH, 0, 0, 0, B*NH)
	add("softmax (attention probs)", 1e-6, p32, p64)
	add("attention out", 1e-5, a32, a64)

	const M, V = 20, 8000
	l32 := randn32(r, M*V, 4)
	tg := make([]int32, M)
	for i := range tg {
		tg[i] = int32(r.IntN(V))
	}
	ls32, ls64 := make([]float32, M), make([]float64, M)
	pr32, pr64 := make([]float32, M*V), make([]float64, M*V)
	CrossEntropyForward(ls32, pr32, l32, tg, V, 0, M)
	CrossEntropyForward(ls64, pr64, to64(l32), tg, V, 0, M)
	add("cross-entropy loss", 1e-5, ls32, ls64)
	dl32, dl64 := make([]float32, M*V), make([]float64, M*V)
	CrossEntropyBackward(dl32, pr32, tg, 1, V, 0, M)
	CrossEntropyBackward(dl64, pr64, tg, 1, V, 0, M)
	add("cross-entropy grad", 1e-6, dl32, dl64)

	// Dropout masks are the same integer hash in the C float32 kernel and
	// the Go float64 path: the same elements must be dropped.
	ones32 := make([]float32, n)
	for i := range ones32 {
		ones32[i] = 1
	}
	DropoutForward(o32, ones32, 0.37, 123, 5, n)
	DropoutForward(o64, to64(ones32), 0.37, 123, 5, n)
	for i := 5; i < n; i++ {
		if (o32[i] == 0) != (o64[i] == 0) {
			t.Fatalf("dropout masks differ at %d: float32 %g, float64 %g", i, o32[i], o64[i])
		}
	}
	AttentionForward(a32, p32, qkv32, kb32, B, T, C, NH, 0.25, 8, 0, B*NH)
	AttentionForward(a64, p64, to64(qkv32), to64(kb32), B, T, C, NH, 0.25, 8, 0, B*NH)
	add("attention out, dropout", 1e-5, a32, a64)
	da32, dq32 := randn32(r, B*T*C, 1), make([]float32, B*T*3*C)
	dq64 := make([]float64, B*T*3*C)
	AttentionBackward(dq32, da32, qkv32, p32, B, T, C, NH, 0.25, 8, 0, B*NH)
	AttentionBackward(dq64, to64(da32), to64(qkv32), p64, B, T, C, NH, 0.25, 8, 0, B*NH)
	add("attention dqkv, dropout", 2e-5, dq32, dq64)

	// T = 130 runs the attention kernels in two row blocks.
	const T2 = 130
	q2 := randn32(r, T2*3*C, 1)
	kb2 := make([]float32, T2)
	p2, o2, p2d, o2d := make([]float32, NH*T2*T2), make([]float32, T2*C), make([]float64, NH*T2*T2), make([]float64, T2*C)
	AttentionForward(o2, p2, q2, kb2, 1, T2, C, NH, 0.2, 3, 0, NH)
	AttentionForward(o2d, p2d, to64(q2), to64(kb2), 1, T2, C, NH, 0.2, 3, 0, NH)
	add("attention out, T=130", 1e-5, o2, o2d)
	g2 := randn32(r, T2*C, 1)
	dq2, dq2d := make([]float32, T2*3*C), make([]float64, T2*3*C)
	AttentionBackward(dq2, g2, q2, p2, 1, T2, C, NH, 0.2, 3, 0, NH)
	AttentionBackward(dq2d, to64(g2), to64(q2), p2d, 1, T2, C, NH, 0.2, 3, 0, NH)
	add("attention dqkv, T=130", 2e-5, dq2, dq2d)

	for _, rs := range res {
		t.Logf("%-26s max abs error %.3g, max rel error %.3g", rs.name, rs.absErr, rs.relEr)
		if rs.absErr > rs.absTol {
			t.Errorf("%s: float32 differs from float64 by %.3g, want <= %g", rs.name, rs.absErr, rs.absTol)
		}
	}
}
