package nn

import (
	"math/rand/v2"
	"testing"
)

// TestInPlace checks every in-place call that the package documentation
// allows: the result must equal the out-of-place result bit for bit, for
// float32 (fast-math loops) and float64.
func TestInPlace(t *testing.T) { forEachLevel(t, testInPlace) }

func testInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	const n, c, v = 11, 37, 50 // odd sizes: vector blocks plus tails
	x := randn32(r, n*c, 1)
	y := randn32(r, n*c, 1)
	w, b := randn32(r, c, 1), randn32(r, c, 1)
	mean, rstd := make([]float32, n), make([]float32, n)
	LayerNormForward(make([]float32, n*c), mean, rstd, x, w, b, c, 1e-5, 0, n)
	logits := randn32(r, n*v, 2)
	targets := make([]int32, n)
	for i := range targets {
		targets[i] = int32(r.IntN(v))
	}
	type op struct {
		name string
		in   []float32               // the input that the in-place call overwrites
		run  func(out, in []float32) // out-of-place when out != in
	}
	ops := []op{
		{"AddForward", x, func(out, in []float32) { AddForward(out, in, y, 0, n*c) }},
		{"Accumulate", x, func(out, in []float32) {
			if &out[0] != &in[0] {
				copy(out, in)
			}
			Accumulate(out, y, 0, n*c)
		}},
		{"DropoutForward", x, func(out, in []float32) { DropoutForward(out, in, 0.3, 4, 0, n*c) }},
		{"DropoutBackward", x, func(out, in []float32) { DropoutBackward(out, in, 0.3, 4, 0, n*c) }},
		{"GeluForward", x, func(out, in []float32) { GeluForward(out, in, 0, n*c) }},
		{"GeluBackward/dout", y, func(out, in []float32) { GeluBackward(out, x, in, 0, n*c) }},
		{"GeluBackward/inp", x, func(out, in []float32) { GeluBackward(out, in, y, 0, n*c) }},
		{"LayerNormForward", x, func(out, in []float32) {
			LayerNormForward(out, make([]float32, n), make([]float32, n), in, w, b, c, 1e-5, 0, n)
		}},
		{"LayerNormBackwardInput", y, func(out, in []float32) { LayerNormBackwardInput(out, in, x, mean, rstd, w, c, 0, n) }},
		{"CrossEntropyBackward", logits, func(out, in []float32) { CrossEntropyBackward(out, in, targets, 0.5, v, 0, n) }},
		{"CrossEntropyForward", logits, func(out, in []float32) { CrossEntropyForward(make([]float32, n), out, in, targets, v, 0, n) }},
	}
	for _, o := range ops {
		want := make([]float32, len(o.in))
		o.run(want, o.in)
		got := append([]float32(nil), o.in...)
		o.run(got, got)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s float32: in place %g, out of place %g at %d", o.name, got[i], want[i], i)
				break
			}
		}
	}
	x64, y64 := to64(x), to64(y)
	ops64 := []struct {
		name string
		in   []float64
		run  func(out, in []float64)
	}{
		{"GeluForward", x64, func(out, in []float64) { GeluForward(out, in, 0, n*c) }},
		{"GeluBackward/dout", y64, func(out, in []float64) { GeluBackward(out, x64, in, 0, n*c) }},
		{"DropoutForward", x64, func(out, in []float64) { DropoutForward(out, in, 0.3, 4, 0, n*c) }},
		{"LayerNormBackwardInput", y64, func(out, in []float64) {
			LayerNormBackwardInput(out, in, x64, to64(mean), to64(rstd), to64(w), c, 0, n)
		}},
		{"CrossEntropyBackward", to64(logits), func(out, in []float64) { CrossEntropyBackward(out, in, targets, 0.5, v, 0, n) }},
	}
	for _, o := range ops64 {
		want := make([]float64, len(o.in))
		o.run(want, o.in)
		got := append([]float64(nil), o.in...)
		o.run(got, got)
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s float64: in place %g, out of place %g at %d", o.name, got[i], want[i], i)
				break
			}
		}
	}
}
