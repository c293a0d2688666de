package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpf(t *testing.T) {
	tests := []struct {
		lo, hi float64
		ulps   float64 // allowed error in float32 ulps of the result
	}{
		{-1, 1, 2},
		{-20, 20, 2},
		{-87, 88, 2},
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range tests {
		worst := 0.0
		for i := 0; i < 200000; i++ {
			x := float32(tc.lo + (tc.hi-tc.lo)*r.Float64())
			got := float64(expf(x))
			want := math.Exp(float64(x))
			ulp := math.Abs(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want)))
			if e := math.Abs(got-want) / ulp; e > worst {
				worst = e
			}
		}
		t.Logf("expf on [%g,%g]: max error %.3f ulp", tc.lo, tc.hi, worst)
		if worst > tc.ulps {
			t.Errorf("expf on [%g,%g]: max error %.3f ulp, want <= %g", tc.lo, tc.hi, worst, tc.ulps)
		}
	}
	special := []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {float32(math.Inf(-1)), 0}, {-3.4e38, 0},
	}
	for _, tc := range special {
		if got := expf(tc.x); got != tc.want {
			t.Errorf("expf(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if got := expf(1000); math.IsInf(float64(got), 0) || got < 1e38 {
		t.Errorf("expf(1000) = %g, want a large finite value", got)
	}
}

// TestCExp checks the vectorised C exp of kernels.c (reached through
// cExpSum with m = 0) the same way, including its flush to 0 below -87.33.
func TestCExp(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	const n = 100000
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(-87 + 175*r.Float64())
	}
	x[0], x[1], x[2] = 0, -100, -3.4e38
	cExpSum(y, x, 0)
	worst := 0.0
	for i, v := range x {
		want := math.Exp(float64(v))
		if want < 1e-37 {
			if y[i] != 0 && want == 0 {
				t.Errorf("C exp(%g) = %g, want 0", v, y[i])
			}
			continue
		}
		ulp := math.Abs(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want)))
		worst = math.Max(worst, math.Abs(float64(y[i])-want)/ulp)
	}
	t.Logf("C exp on [-87,88]: max error %.3f ulp", worst)
	if worst > 2 || y[0] != 1 || y[1] != 0 || y[2] != 0 {
		t.Errorf("C exp: max error %.3f ulp; exp(0)=%g exp(-100)=%g exp(-3.4e38)=%g", worst, y[0], y[1], y[2])
	}
	// The sum (over a range that cannot overflow) against float64.
	total := 0.0
	for i := range x {
		x[i] = float32(-20 + 40*r.Float64())
		total += math.Exp(float64(x[i]))
	}
	if sum := cExpSum(nil, x, 0); math.Abs(float64(sum)-total) > 1e-6*total {
		t.Errorf("C exp sum %g, want %g", sum, total)
	}
}

func TestErff(t *testing.T) {
	worst, at := 0.0, 0.0
	for i := -1000000; i <= 1000000; i++ {
		x := float32(i) * 6e-6
		got := float64(erff(x))
		if e := math.Abs(got - math.Erf(float64(x))); e > worst {
			worst, at = e, float64(x)
		}
	}
	t.Logf("erff on [-6,6]: max absolute error %.3g at %g", worst, at)
	if worst > 2e-7 {
		t.Errorf("erff max absolute error %.3g at %g, want <= 2e-7", worst, at)
	}
	worstRel, atRel := 0.0, 0.0
	for i := 0; i <= 1000000; i++ {
		x := -12 + float64(i)*12e-6
		want := 0.5 * math.Erfc(-x/math.Sqrt2)
		if e := math.Abs(float64(normCDF32(float32(x)))-want) / want; e > worstRel {
			worstRel, atRel = e, x
		}
	}
	t.Logf("normCDF32 on [-12,0]: max relative error %.3g at %g", worstRel, atRel)
	if worstRel > 2e-5 {
		t.Errorf("normCDF32 max relative error %.3g at %g", worstRel, atRel)
	}
	if erff(0) != 0 || erff(10) != 1 || erff(-10) != -1 {
		t.Errorf("erff(0,10,-10) = %g %g %g", erff(0), erff(10), erff(-10))
	}
}

func TestGenericMathDispatch(t *testing.T) {
	if expT(float64(1)) != math.E || erfT(float64(0.5)) != math.Erf(0.5) {
		t.Error("float64 path does not use the math package")
	}
	if expT(float32(1)) != expf(1) || erfT(float32(0.5)) != erff(0.5) {
		t.Error("float32 path does not use expf/erff")
	}
	type myFloat float32
	if expT(myFloat(2)) != myFloat(expf(2)) {
		t.Error("float32-based named type does not use expf")
	}
}

func BenchmarkExpf(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/256 - 8
	}
	var s float32
	for b.Loop() {
		for _, v := range x {
			s += expf(v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
	_ = s
}

func BenchmarkErff(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/512 - 4
	}
	var s float32
	for b.Loop() {
		for _, v := range x {
			s += erff(v)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
	_ = s
}
