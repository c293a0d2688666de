package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTanhGradient checks TanhBackward against central differences of
// sum(tanh(x) * g) in float64, over a sub-range so that elements outside
// [lo, hi) are seen to stay untouched.
func TestTanhGradient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		lo, hi int
		scale  float64
	}{
		{"small", 7, 0, 7, 0.5},
		{"wide inputs", 64, 0, 64, 3},
		{"sub-range", 40, 5, 33, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.n)))
			x := randn(r, tc.n, tc.scale)
			g := randn(r, tc.n, 1)
			out := make([]float64, tc.n)
			loss := func() float64 {
				TanhForward(out, x, tc.lo, tc.hi)
				return dot(out[tc.lo:tc.hi], g[tc.lo:tc.hi])
			}
			loss()
			dx := make([]float64, tc.n)
			for i := range dx {
				dx[i] = 42 // sentinel outside [lo, hi)
			}
			TanhBackward(dx, out, g, tc.lo, tc.hi)
			for i := range dx {
				if (i < tc.lo || i >= tc.hi) && dx[i] != 42 {
					t.Fatalf("dinp[%d] = %g outside [%d, %d): want untouched", i, dx[i], tc.lo, tc.hi)
				}
			}
			// Only the range's elements carry gradient for the check.
			grad := make([]float64, tc.n)
			copy(grad[tc.lo:tc.hi], dx[tc.lo:tc.hi])
			checkGrads(t, "tanh", loss, []gradCase{{"x", x, grad}}, gradTol)
		})
	}
}

// TestTanhValues checks the forward against math.Tanh in float32 and that
// it saturates to +-1 without NaN for large inputs, in place.
func TestTanhValues(t *testing.T) {
	x := []float32{0, 0.5, -0.5, 3, -3, 40, -40, 1e-8}
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = float32(math.Tanh(float64(v)))
	}
	TanhForward(x, x, 0, len(x)) // aliased
	for i := range x {
		if x[i] != want[i] {
			t.Errorf("tanh element %d = %g, want %g", i, x[i], want[i])
		}
	}
	d := []float32{1, 1, 1, 1, 1, 1, 1, 1}
	TanhBackward(d, x, d, 0, len(d)) // aliased
	for i, v := range d {
		if w := 1 - want[i]*want[i]; v != w || math.IsNaN(float64(v)) {
			t.Errorf("tanh' element %d = %g, want %g", i, v, w)
		}
	}
}
