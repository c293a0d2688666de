package simd

import (
	"math"
	"testing"
	"time"
)

// TestLevels checks the level list and that Use refuses a level the CPU
// lacks. The kernels' numbers are tested in package nn, against its Go
// loops and its float64 reference ops, on every level listed here.
func TestLevels(t *testing.T) {
	ls := Levels()
	if ls[0] != Go || ls[len(ls)-1] != Best() {
		t.Fatalf("Levels() = %v, want Go first and Best() = %v last", ls, Best())
	}
	t.Logf("this CPU: %v", ls)
	if err := Use(Best() + 1); err == nil {
		t.Fatalf("Use(%v) on a CPU whose best is %v: no error", Best()+1, Best())
	}
	if Current() != Best() {
		t.Fatalf("a refused Use changed the level to %v", Current())
	}
}

// TestKernelsOnEveryLevel runs each kernel once per level on a length with
// a tail and checks a value worked by hand.
func TestKernelsOnEveryLevel(t *testing.T) {
	defer Use(Best())
	for _, l := range Levels()[1:] {
		if err := Use(l); err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 19)
		x[18] = 1
		o := make([]float32, 19)
		GeluForward(o, x)
		if want := 0.8413447; math.Abs(float64(o[18])-want) > 1e-6 || o[0] != 0 {
			t.Errorf("%v: gelu(1) = %g, gelu(0) = %g; want %g and 0", l, o[18], o[0], want)
		}
		if s := ExpShiftSum(o, x, 1); math.Abs(float64(s)-(18/math.E+1)) > 1e-5 {
			t.Errorf("%v: sum exp(x-1) = %g, want %g", l, s, 18/math.E+1)
		}
		p := []float32{0, 0, 0, 0, 0}
		SoftmaxBiasRows(p, []float32{0, 0, 0, 0, -math.MaxFloat32})
		if p[0] != 0.25 || p[4] != 0 {
			t.Errorf("%v: softmax of four zeros and a padded key = %v", l, p)
		}
		DropRows(o, x, 1, 0, 1<<32, 2)
		for _, v := range o {
			if v != 0 {
				t.Fatalf("%v: dropout with p=1 kept %v", l, o)
			}
		}
	}
}

// TestFMAPeak checks that the peak loop runs and reports a plausible
// figure (above 1 Gflop/s on any machine that runs these tests).
func TestFMAPeak(t *testing.T) {
	p := FMAPeak(1, 50*time.Millisecond)
	t.Logf("one thread: %.1f Gflop/s at %v", p/1e9, Best())
	if p < 1e9 {
		t.Errorf("FMA peak %.3g flop/s", p)
	}
}
