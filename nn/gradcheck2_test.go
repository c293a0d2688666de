package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDropoutGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, tc := range []struct {
		n int
		p float64
	}{{1, 0}, {10, 0.5}, {257, 0.1}} {
		inp, R := randn(r, tc.n, 1), randn(r, tc.n, 1)
		out := make([]float64, tc.n)
		loss := func() float64 {
			DropoutForward(out, inp, tc.p, 99, 0, tc.n)
			return dot(out, R)
		}
		dinp := make([]float64, tc.n)
		DropoutBackward(dinp, R, tc.p, 99, 0, tc.n)
		checkGrads(t, "dropout", loss, []gradCase{{"inp", inp, dinp}}, gradTol)
	}
}

func TestDropoutStatistics(t *testing.T) {
	tests := []struct{ p float64 }{{0}, {0.1}, {0.5}, {0.9}}
	const n = 200000
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	out := make([]float64, n)
	for _, tc := range tests {
		DropoutForward(out, ones, tc.p, 7, 0, n)
		kept, sum := 0, 0.0
		for _, v := range out {
			if v != 0 {
				kept++
				if math.Abs(v-1/(1-tc.p)) > 1e-12 {
					t.Fatalf("p=%g: kept value %g, want %g", tc.p, v, 1/(1-tc.p))
				}
			}
			sum += v
		}
		frac := float64(kept) / n
		if math.Abs(frac-(1-tc.p)) > 0.005 || math.Abs(sum/n-1) > 0.02 {
			t.Errorf("p=%g: kept fraction %.4f, mean %.4f; want %.4f and 1", tc.p, frac, sum/n, 1-tc.p)
		}
	}
	// p <= 0 copies, p >= 1 zeroes.
	src := []float64{1, -2, 3}
	for _, tc := range []struct {
		p    float64
		want []float64
	}{{0, src}, {-0.5, src}, {1, []float64{0, 0, 0}}, {1.5, []float64{0, 0, 0}}} {
		got := make([]float64, 3)
		DropoutForward(got, src, tc.p, 3, 0, 3)
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("p=%g: %v, want %v", tc.p, got, tc.want)
				break
			}
		}
	}
	// Different seeds give different masks.
	a, b := make([]float64, 64), make([]float64, 64)
	DropoutForward(a, ones[:64], 0.5, 1, 0, 64)
	DropoutForward(b, ones[:64], 0.5, 2, 0, 64)
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	if same == 64 {
		t.Error("seeds 1 and 2 gave the same mask")
	}
}

func TestEmbeddingGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	tests := []struct {
		n, c, v, p int
		frozen     string
	}{
		{1, 1, 2, 2, ""}, {6, 5, 4, 8, ""}, {9, 3, 3, 9, "wpe"}, {4, 7, 5, 4, "wte"},
	}
	for _, tc := range tests {
		ids, pos := make([]int32, tc.n), make([]int32, tc.n)
		for i := range ids {
			ids[i] = int32(r.IntN(tc.v)) // repeats on purpose
			pos[i] = int32(i % tc.p)
		}
		wte, wpe, wtt := randn(r, tc.v*tc.c, 1), randn(r, tc.p*tc.c, 1), randn(r, tc.c, 1)
		R := randn(r, tc.n*tc.c, 1)
		out := make([]float64, tc.n*tc.c)
		loss := func() float64 {
			EmbeddingForward(out, ids, pos, wte, wpe, wtt, tc.c, 0, tc.n)
			return dot(out, R)
		}
		dwte, dwpe, dwtt := make([]float64, len(wte)), make([]float64, len(wpe)), make([]float64, len(wtt))
		gte, gpe := dwte, dwpe
		switch tc.frozen {
		case "wte":
			gte = nil
		case "wpe":
			gpe = nil
		}
		EmbeddingBackward(gte, gpe, dwtt, R, ids, pos, tc.n, tc.c, 0, tc.c)
		cases := []gradCase{{"wtt", wtt, dwtt}}
		if gte != nil {
			cases = append(cases, gradCase{"wte", wte, dwte})
		}
		if gpe != nil {
			cases = append(cases, gradCase{"wpe", wpe, dwpe})
		}
		checkGrads(t, "embedding", loss, cases, gradTol)
	}
}

func TestGatherScatterGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	n, c := 9, 4
	rows := []int32{7, 0, 3, 8}
	inp, R := randn(r, n*c, 1), randn(r, len(rows)*c, 1)
	out := make([]float64, len(rows)*c)
	loss := func() float64 {
		GatherRows(out, inp, rows, c, 0, len(rows))
		return dot(out, R)
	}
	dinp := make([]float64, n*c)
	ScatterRows(dinp, R, rows, c, 0, len(rows))
	checkGrads(t, "gather", loss, []gradCase{{"inp", inp, dinp}}, gradTol)
	loss()
	for j, row := range rows {
		for k := 0; k < c; k++ {
			if out[j*c+k] != inp[int(row)*c+k] {
				t.Fatalf("GatherRows: out[%d][%d]=%g want %g", j, k, out[j*c+k], inp[int(row)*c+k])
			}
		}
	}
}

func TestCrossEntropyGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		m, v  int
		scale float64
	}{{1, 2, 1}, {3, 7, 0.5}, {5, 33, 0.2}}
	for _, tc := range tests {
		logits := randn(r, tc.m*tc.v, 3)
		targets := make([]int32, tc.m)
		for i := range targets {
			targets[i] = int32(r.IntN(tc.v))
		}
		losses, probs := make([]float64, tc.m), make([]float64, len(logits))
		loss := func() float64 {
			CrossEntropyForward(losses, probs, logits, targets, tc.v, 0, tc.m)
			s := 0.0
			for _, l := range losses {
				s += l
			}
			return s * tc.scale
		}
		dl := make([]float64, len(logits))
		loss()
		CrossEntropyBackward(dl, probs, targets, tc.scale, tc.v, 0, tc.m)
		checkGrads(t, "crossentropy", loss, []gradCase{{"logits", logits, dl}}, gradTol)

		// In place: probs aliasing logits in the forward, dlogits aliasing
		// probs in the backward, give the same results.
		loss() // losses and probs of the unperturbed logits again
		inplace := append([]float64(nil), logits...)
		lossesIn := make([]float64, tc.m)
		CrossEntropyForward(lossesIn, inplace, inplace, targets, tc.v, 0, tc.m)
		CrossEntropyBackward(inplace, inplace, targets, tc.scale, tc.v, 0, tc.m)
		for i := range losses {
			if lossesIn[i] != losses[i] {
				t.Fatalf("in-place forward: loss %d is %g, out of place %g", i, lossesIn[i], losses[i])
			}
		}
		for i := range dl {
			if math.Abs(inplace[i]-dl[i]) > 1e-15 {
				t.Fatalf("in-place backward differs at %d: %g vs %g", i, inplace[i], dl[i])
			}
		}
	}
}

func TestCrossEntropyValues(t *testing.T) {
	// Row 0: uniform over 4 -> log 4, argmax 0 (first of ties) != target 2.
	// Row 1: huge logits, stable; argmax 1 == target.
	// Row 2: ignored target.
	logits := []float64{0, 0, 0, 0, 1000, 1001, 999, 0, 5, 5, 5, 5}
	targets := []int32{2, 1, -100}
	losses, probs := make([]float64, 3), make([]float64, 12)
	correct := CrossEntropyForward(losses, probs, logits, targets, 4, 0, 3)
	wantRow1 := math.Log(math.Exp(-1)+1+math.Exp(-2)+math.Exp(-1001)) - 0
	if math.Abs(losses[0]-math.Log(4)) > 1e-14 || math.Abs(losses[1]-wantRow1) > 1e-12 || losses[2] != 0 {
		t.Errorf("losses %v, want [log4 %g 0]", losses, wantRow1)
	}
	if correct != 1 {
		t.Errorf("correct = %d, want 1", correct)
	}
	d := make([]float64, 12)
	CrossEntropyBackward(d, probs, targets, 1, 4, 0, 3)
	if d[8] != 0 || d[11] != 0 || math.Abs(d[2]-(0.25-1)) > 1e-15 {
		t.Errorf("dlogits %v", d)
	}
	losses32 := make([]float32, 3)
	l32 := make([]float32, len(logits))
	for i, v := range logits {
		l32[i] = float32(v)
	}
	if c := CrossEntropyForward(losses32, make([]float32, 12), l32, targets, 4, 0, 3); c != 1 || math.Abs(float64(losses32[1])-wantRow1) > 1e-5 {
		t.Errorf("float32: correct %d losses %v", c, losses32)
	}
}

// attnCase is one attention shape for the tests.
type attnCase struct {
	B, T, C, NH int
	p           float64
	pad         []int // padded (masked) key count at the end of each batch row
}

var attnCases = []attnCase{
	{1, 3, 4, 1, 0, nil},
	{2, 5, 6, 2, 0, []int{0, 2}},
	{2, 7, 8, 4, 0.3, []int{3, 0}},
	{1, 6, 6, 3, 0.5, []int{1}},
	{1, 130, 4, 2, 0.1, []int{10}}, // T > attnScratch/T: two row blocks
}

// keyBiasFor builds the additive key mask of an attnCase with float32's
// lowest value for padding, as Hugging Face does.
func keyBiasFor(tc attnCase) []float64 {
	kb := make([]float64, tc.B*tc.T)
	for b, n := range tc.pad {
		for j := tc.T - n; j < tc.T; j++ {
			kb[b*tc.T+j] = -math.MaxFloat32
		}
	}
	return kb
}

func TestAttentionGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, tc := range attnCases {
		N := tc.B * tc.T
		qkv := randn(r, N*3*tc.C, 1)
		kb := keyBiasFor(tc)
		R := randn(r, N*tc.C, 1)
		out := make([]float64, N*tc.C)
		probs := make([]float64, tc.B*tc.NH*tc.T*tc.T)
		loss := func() float64 {
			AttentionForward(out, probs, qkv, kb, tc.B, tc.T, tc.C, tc.NH, tc.p, 1234, 0, tc.B*tc.NH)
			return dot(out, R)
		}
		loss()
		dqkv := make([]float64, len(qkv))
		for i := range dqkv {
			dqkv[i] = math.NaN() // must be fully overwritten
		}
		AttentionBackward(dqkv, R, qkv, probs, tc.B, tc.T, tc.C, tc.NH, tc.p, 1234, 0, tc.B*tc.NH)
		checkGrads(t, "attention", loss, []gradCase{{"qkv", qkv, dqkv}}, gradTol)

		// Padded keys get zero probability; rows sum to one.
		for bh := 0; bh < tc.B*tc.NH; bh++ {
			b := bh / tc.NH
			for i := 0; i < tc.T; i++ {
				s := 0.0
				for j := 0; j < tc.T; j++ {
					pv := probs[(bh*tc.T+i)*tc.T+j]
					if kb[b*tc.T+j] != 0 && pv != 0 {
						t.Fatalf("%+v: padded key %d has probability %g", tc, j, pv)
					}
					s += pv
				}
				if math.Abs(s-1) > 1e-12 {
					t.Fatalf("%+v: probability row sums to %g", tc, s)
				}
			}
		}
	}
}

// TestAttentionMatchesNaive compares the forward with a direct
// implementation, including the dropout mask convention.
func TestAttentionMatchesNaive(t *testing.T) { forEachLevel(t, testAttentionMatchesNaive) }

func testAttentionMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, tc := range attnCases {
		N, HS := tc.B*tc.T, tc.C/tc.NH
		qkv, kb := randn(r, N*3*tc.C, 1), keyBiasFor(tc)
		out := make([]float64, N*tc.C)
		probs := make([]float64, tc.B*tc.NH*tc.T*tc.T)
		AttentionForward(out, probs, qkv, kb, tc.B, tc.T, tc.C, tc.NH, tc.p, 77, 0, tc.B*tc.NH)
		thr, ds := dropThreshold(tc.p)
		for b := 0; b < tc.B; b++ {
			for h := 0; h < tc.NH; h++ {
				for i := 0; i < tc.T; i++ {
					sc := make([]float64, tc.T)
					m := math.Inf(-1)
					for j := range sc {
						for d := 0; d < HS; d++ {
							sc[j] += qkv[(b*tc.T+i)*3*tc.C+h*HS+d] * qkv[(b*tc.T+j)*3*tc.C+tc.C+h*HS+d]
						}
						sc[j] = sc[j]/math.Sqrt(float64(HS)) + kb[b*tc.T+j]
						m = math.Max(m, sc[j])
					}
					z := 0.0
					for j := range sc {
						sc[j] = math.Exp(sc[j] - m)
						z += sc[j]
					}
					for d := 0; d < HS; d++ {
						o := 0.0
						for j := range sc {
							idx := uint64(((b*tc.NH+h)*tc.T+i)*tc.T + j)
							pj := sc[j] / z
							if math.Abs(probs[idx]-pj) > 1e-14 {
								t.Fatalf("%+v: probs[%d]=%g want %g", tc, idx, probs[idx], pj)
							}
							if tc.p > 0 {
								if !keep(77, idx, thr) {
									continue
								}
								pj *= ds
							}
							o += pj * qkv[(b*tc.T+j)*3*tc.C+2*tc.C+h*HS+d]
						}
						if got := out[(b*tc.T+i)*tc.C+h*HS+d]; math.Abs(got-o) > 1e-12 {
							t.Fatalf("%+v: out[%d,%d,%d]=%g want %g", tc, b, i, h*HS+d, got, o)
						}
					}
				}
			}
		}
	}
}
