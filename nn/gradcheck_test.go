package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase is one tensor of a finite-difference check: its values (which the
// loss closure reads) and the analytic gradient of the loss with respect to
// them.
type gradCase struct {
	name string
	x    []float64
	grad []float64
}

// fdStep is the central-difference step. With float64 and smooth ops the
// truncation error (h^2) and rounding error (eps/h) are both below 1e-9.
const fdStep = 1e-5

// checkGrads compares every analytic gradient element with the central
// difference (loss(x+h)-loss(x-h))/2h and fails if the relative error,
// |a-n| / max(|a|, |n|, 1e-3*max|a| over the tensor, 1e-8), exceeds tol.
// At most maxElems elements per tensor are checked (spread evenly) to keep
// big shapes fast. It logs the worst error.
func checkGrads(t *testing.T, label string, loss func() float64, cases []gradCase, tol float64) {
	t.Helper()
	const maxElems = 400
	for _, c := range cases {
		if len(c.x) != len(c.grad) {
			t.Fatalf("%s/%s: %d values but %d gradients", label, c.name, len(c.x), len(c.grad))
		}
		scale := 0.0
		for _, g := range c.grad {
			scale = math.Max(scale, math.Abs(g))
		}
		stride := max(1, len(c.x)/maxElems)
		worst, at := 0.0, -1
		for i := 0; i < len(c.x); i += stride {
			orig := c.x[i]
			c.x[i] = orig + fdStep
			lp := loss()
			c.x[i] = orig - fdStep
			lm := loss()
			c.x[i] = orig
			num := (lp - lm) / (2 * fdStep)
			den := math.Max(math.Max(math.Abs(num), math.Abs(c.grad[i])), math.Max(1e-3*scale, 1e-8))
			if e := math.Abs(num-c.grad[i]) / den; e > worst {
				worst, at = e, i
			}
		}
		t.Logf("%s: d/d%s max relative error %.2e", label, c.name, worst)
		if worst > tol || math.IsNaN(worst) {
			t.Errorf("%s: d/d%s relative error %.2e at element %d (analytic %g), want <= %g", label, c.name, worst, at, c.grad[at], tol)
		}
	}
}

// randn returns n standard normal values scaled by s.
func randn(r *rand.Rand, n int, s float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = s * r.NormFloat64()
	}
	return x
}

// dot is sum(a*b), the scalar loss used to turn an op output into a loss
// whose gradient with respect to the output is b.
func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

const gradTol = 1e-6

func TestLinearGrad(t *testing.T) {
	tests := []struct {
		n, in, out int
		bias       bool
	}{
		{1, 1, 1, true}, {3, 5, 4, true}, {7, 3, 9, false}, {5, 16, 11, true},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range tests {
		inp, w, b := randn(r, tc.n*tc.in, 1), randn(r, tc.out*tc.in, 1), randn(r, tc.out, 1)
		if !tc.bias {
			b = nil
		}
		R := randn(r, tc.n*tc.out, 1)
		out := make([]float64, tc.n*tc.out)
		loss := func() float64 {
			LinearForward(out, inp, w, b, tc.in, tc.out, 0, tc.n)
			return dot(out, R)
		}
		dinp := make([]float64, len(inp))
		dw := make([]float64, len(w))
		var db []float64
		if tc.bias {
			db = make([]float64, tc.out)
		}
		LinearBackwardInput(dinp, R, w, tc.in, tc.out, 0, tc.n)
		LinearBackwardParams(dw, db, R, inp, tc.n, tc.in, tc.out, 0, tc.out)
		cases := []gradCase{{"inp", inp, dinp}, {"w", w, dw}}
		if tc.bias {
			cases = append(cases, gradCase{"b", b, db})
		}
		checkGrads(t, "linear", loss, cases, gradTol)

		// Parameter gradients accumulate: a second call doubles them.
		dw2 := append([]float64(nil), dw...)
		LinearBackwardParams(dw2, nil, R, inp, tc.n, tc.in, tc.out, 0, tc.out)
		for i := range dw {
			if math.Abs(dw2[i]-2*dw[i]) > 1e-12*(1+math.Abs(dw[i])) {
				t.Fatalf("LinearBackwardParams does not accumulate: %g then %g", dw[i], dw2[i])
			}
		}
	}
}

func TestLayerNormGrad(t *testing.T) {
	tests := []struct{ n, c int }{{1, 3}, {3, 5}, {4, 8}, {2, 33}}
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range tests {
		inp, w, b := randn(r, tc.n*tc.c, 2), randn(r, tc.c, 1), randn(r, tc.c, 1)
		for i := range inp { // an offset, so the mean matters
			inp[i] += 0.5
		}
		R := randn(r, tc.n*tc.c, 1)
		out := make([]float64, tc.n*tc.c)
		mean, rstd := make([]float64, tc.n), make([]float64, tc.n)
		loss := func() float64 {
			LayerNormForward(out, mean, rstd, inp, w, b, tc.c, 1e-5, 0, tc.n)
			return dot(out, R)
		}
		loss()
		dinp, dw, db := make([]float64, len(inp)), make([]float64, tc.c), make([]float64, tc.c)
		LayerNormBackwardInput(dinp, R, inp, mean, rstd, w, tc.c, 0, tc.n)
		LayerNormBackwardParams(dw, db, R, inp, mean, rstd, tc.n, tc.c, 0, tc.c)
		checkGrads(t, "layernorm", loss, []gradCase{{"inp", inp, dinp}, {"w", w, dw}, {"b", b, db}}, gradTol)
	}
}

func TestLayerNormMatchesDefinition(t *testing.T) {
	inp := []float64{1, 2, 3, 4, -1, -1, -1, 5}
	w := []float64{1, 2, 1, 0.5}
	b := []float64{0, 1, 0, -1}
	out, mean, rstd := make([]float64, 8), make([]float64, 2), make([]float64, 2)
	LayerNormForward(out, mean, rstd, inp, w, b, 4, 0, 0, 2)
	// Row 0: mean 2.5, biased variance 1.25.
	s := 1 / math.Sqrt(1.25)
	want := []float64{-1.5 * s, -0.5*s*2 + 1, 0.5 * s, 1.5*s*0.5 - 1}
	for j := range want {
		if math.Abs(out[j]-want[j]) > 1e-12 {
			t.Errorf("out[%d]=%g want %g", j, out[j], want[j])
		}
	}
	if mean[0] != 2.5 || math.Abs(rstd[0]-s) > 1e-15 || mean[1] != 0.5 {
		t.Errorf("mean %v rstd %v", mean, rstd)
	}
}

func TestGeluGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 7, 100} {
		inp := randn(r, n, 3)
		R := randn(r, n, 1)
		out := make([]float64, n)
		loss := func() float64 {
			GeluForward(out, inp, 0, n)
			return dot(out, R)
		}
		dinp := make([]float64, n)
		GeluBackward(dinp, inp, R, 0, n)
		checkGrads(t, "gelu", loss, []gradCase{{"inp", inp, dinp}}, gradTol)
	}
	out := make([]float64, 3)
	GeluForward(out, []float64{0, 1, -1}, 0, 3)
	// gelu(1) = 0.5*(1+erf(1/sqrt2)) = Phi(1) = 0.8413447460685429.
	if out[0] != 0 || math.Abs(out[1]-0.8413447460685429) > 1e-15 || math.Abs(out[2]+0.15865525393145707) > 1e-15 {
		t.Errorf("gelu(0,1,-1) = %v", out)
	}
}

func TestAddAccumulate(t *testing.T) {
	a := []float64{1, 2, 3, 4}
	b := []float64{10, 20, 30, 40}
	out := make([]float64, 4)
	AddForward(out, a, b, 1, 3)
	if out[0] != 0 || out[1] != 22 || out[2] != 33 || out[3] != 0 {
		t.Errorf("AddForward range [1,3): %v", out)
	}
	Accumulate(a, b, 0, 4)
	Accumulate(a, b, 2, 4)
	want := []float64{11, 22, 63, 84}
	for i := range want {
		if a[i] != want[i] {
			t.Errorf("Accumulate: %v want %v", a, want)
			break
		}
	}
	AddForward(a, a, a, 0, 4) // aliasing allowed
	if a[0] != 22 {
		t.Errorf("AddForward in place: a[0]=%g want 22", a[0])
	}
}
