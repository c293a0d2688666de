package optim

import (
	"math"
	"testing"

	"lethe/nn"
)

func TestClipGradNorm(t *testing.T) {
	mk := func() []*nn.Param {
		return []*nn.Param{
			{Name: "a", Shape: []int{2}, Data: make([]float32, 2), Grad: []float32{3, 0}, RequiresGrad: true},
			{Name: "b", Shape: []int{1}, Data: make([]float32, 1), Grad: []float32{4}, RequiresGrad: true},
			{Name: "frozen", Shape: []int{1}, Data: make([]float32, 1), Grad: []float32{100}},
		}
	}
	cases := []struct {
		name      string
		maxNorm   float64
		wantScale float64
	}{
		{"measure only", 0, 1},
		{"negative measures", -1, 1},
		{"below limit", 10, 1},
		{"at limit", 5, 1},
		{"clip", 0.5, 0.5 / (5 + 1e-6)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := mk()
			norm := ClipGradNorm(ps, c.maxNorm)
			if norm != 5 {
				t.Errorf("norm %v, want 5 (frozen params excluded)", norm)
			}
			if want := float32(3 * c.wantScale); math.Abs(float64(ps[0].Grad[0]-want)) > 1e-7 {
				t.Errorf("grad a = %v, want %v", ps[0].Grad[0], want)
			}
			if want := float32(4 * c.wantScale); math.Abs(float64(ps[1].Grad[0]-want)) > 1e-7 {
				t.Errorf("grad b = %v, want %v", ps[1].Grad[0], want)
			}
			if ps[2].Grad[0] != 100 {
				t.Errorf("frozen grad changed to %v", ps[2].Grad[0])
			}
			if after := GradNorm(ps); c.maxNorm > 0 && after > c.maxNorm+1e-6 {
				t.Errorf("norm after clipping %v > %v", after, c.maxNorm)
			}
		})
	}
}

func TestNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		ps := []*nn.Param{{Name: "a", Shape: []int{2}, Grad: []float32{1, bad}, RequiresGrad: true}}
		if GradsFinite(ps) {
			t.Errorf("GradsFinite true with %v", bad)
		}
		norm := ClipGradNorm(ps, 1)
		if Finite(norm) {
			t.Errorf("norm %v finite with %v", norm, bad)
		}
		if ps[0].Grad[0] != 1 {
			t.Errorf("non-finite norm scaled the gradients: %v", ps[0].Grad[0])
		}
	}
	ok := []*nn.Param{{Name: "a", Shape: []int{1}, Grad: []float32{math.MaxFloat32}, RequiresGrad: true}}
	if !GradsFinite(ok) || !Finite(GradNorm(ok)) {
		t.Error("MaxFloat32 gradient reported non-finite (float64 accumulation must not overflow)")
	}
}
