package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"lethe/internal/simd"
)

// forEachLevel runs f as a subtest once per kernel level this CPU has (the
// Go loops first), restoring the level in use afterwards.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	was := simd.Current()
	defer simd.Use(was)
	for _, l := range simd.Levels() {
		if err := simd.Use(l); err != nil {
			t.Fatal(err)
		}
		t.Run(l.String(), f)
	}
}

// TestKernelsMatchGoLoops runs every SIMD kernel on every level this CPU
// has against nn's Go loops, on odd lengths (vector bodies plus tails) and
// odd dropout offsets: dropout masks must be identical, the math within a
// few float32 ulps.
func TestKernelsMatchGoLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	for _, l := range simd.Levels()[1:] {
		if err := simd.Use(l); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 15, 16, 17, 255, 256, 257, 1000, 4099} {
			x := randn32(r, n, 4) // covers GELU's polynomial and tail pieces
			d := randn32(r, n, 1)
			want, got := make([]float32, n), make([]float32, n)
			// close checks |got-want| <= tol*max(floor, |want|).
			close := func(what string, tol, floor float64) {
				t.Helper()
				for i := range want {
					if e := math.Abs(float64(got[i] - want[i])); e > tol*math.Max(floor, math.Abs(float64(want[i]))) {
						t.Fatalf("%v %s n=%d: element %d = %g, Go loop %g", l, what, n, i, got[i], want[i])
					}
				}
			}
			geluForward32(want, x)
			simd.GeluForward(got, x)
			close("gelu forward", 1e-6, 1)
			geluBackward32(want, x, d)
			simd.GeluBackward(got, x, d)
			close("gelu backward", 1e-6, 1)
			m := float32(2)
			sw := expShiftInto32(want, x, m)
			sg := simd.ExpShiftSum(got, x, m)
			close("exp", 1e-6, 1e-3)
			if e := math.Abs(float64(sg-sw)) / float64(sw); e > 1e-6 {
				t.Fatalf("%v exp sum n=%d: %g, Go loop %g", l, n, sg, sw)
			}
			for _, base := range []uint64{0, 1, 12345} {
				for _, p := range []float32{0.1, 0.5, 1} {
					thr, scale := dropThreshold(p)
					dropRows32(want, x, 7, base, thr, scale)
					simd.DropRows(got, x, 7, base, thr, scale)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%v dropout n=%d base=%d p=%g: element %d = %g, Go loop %g", l, n, base, p, i, got[i], want[i])
						}
					}
				}
			}
			cols := []int{1, 7, 16, 33}[n%4]
			rows := n / cols
			bias := randn32(r, cols, 1)
			bias[0] = -math.MaxFloat32 // a padded key
			copy(want, x)
			copy(got, x)
			for i := 0; i < rows*cols; i += cols {
				softmaxBiasRowGo(want[i:i+cols], bias)
			}
			simd.SoftmaxBiasRows(got[:rows*cols], bias)
			close("softmax rows", 1e-6, 1e-3)
			pd := randn32(r, rows*cols, 1)
			copy(want, d)
			copy(got, d)
			for i := 0; i < rows*cols; i += cols {
				softmaxDropBackwardRowGo(want[i:i+cols], pd[i:i+cols], x[i:i+cols])
			}
			simd.SoftmaxDropBackwardRows(got[:rows*cols], pd, x, cols)
			// d = pd*d - p*sum(pd*d) cancels: the error scales with the
			// O(1) inputs, not with the result.
			close("softmax backward rows", 1e-5, 1)
		}
	}
	simd.Use(simd.Best())
}
