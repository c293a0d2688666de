package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulpErr is |got-want| in units of the float32 spacing at want.
func ulpErr(got float32, want float64) float64 {
	w := float32(want)
	ulp := float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w)
	return math.Abs(float64(got)-want) / ulp
}

// TestExp checks the C kernels' exp against math.Exp in ulps over several
// ranges, and its special values.
func TestExp(t *testing.T) {
	tests := []struct {
		lo, hi float64
		ulps   float64 // allowed error in float32 ulps
	}{
		{-1, 1, 2},
		{-20, 20, 2},
		{-87, 88, 2},
	}
	r := rand.New(rand.NewPCG(7, 7))
	const n = 200000
	x, y := make([]float32, n), make([]float32, n)
	for _, tc := range tests {
		for i := range x {
			x[i] = float32(tc.lo + (tc.hi-tc.lo)*r.Float64())
		}
		cMath(mathExp, y, x)
		worst, at := 0.0, float32(0)
		for i, v := range x {
			if e := ulpErr(y[i], math.Exp(float64(v))); e > worst {
				worst, at = e, v
			}
		}
		t.Logf("exp on [%g,%g]: max error %.3f ulp (at %g)", tc.lo, tc.hi, worst, at)
		if worst > tc.ulps {
			t.Errorf("exp on [%g,%g]: max error %.3f ulp at %g, want <= %g", tc.lo, tc.hi, worst, at, tc.ulps)
		}
	}
	special := []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {float32(math.Inf(-1)), 0}, {-math.MaxFloat32, 0},
	}
	for _, tc := range special {
		cMath(mathExp, y[:1], []float32{tc.x})
		if y[0] != tc.want {
			t.Errorf("exp(%g) = %g, want %g", tc.x, y[0], tc.want)
		}
	}
	cMath(mathExp, y[:1], []float32{1000})
	if math.IsInf(float64(y[0]), 0) || y[0] < 1e38 {
		t.Errorf("exp(1000) = %g, want a large finite value", y[0])
	}
}

// TestExpSum checks the exp-and-sum kernel used by softmax and
// cross-entropy: values equal the scalar exp, the sum matches float64.
func TestExpSum(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{1, 15, 16, 17, 255, 256, 1000, 8000} {
		x, y, e := make([]float32, n), make([]float32, n), make([]float32, n)
		total := 0.0
		for i := range x {
			x[i] = float32(-20 + 40*r.Float64())
			total += math.Exp(float64(x[i]) - 3)
		}
		sum := cExpSum(y, x, 3)
		for i := range x {
			x[i] -= 3
		}
		cMath(mathExp, e, x)
		for i := range y {
			if y[i] != e[i] {
				t.Fatalf("n=%d: exp_sum value %d is %g, scalar exp %g", n, i, y[i], e[i])
			}
		}
		if math.Abs(float64(sum)-total) > 1e-6*total {
			t.Errorf("n=%d: exp sum %g, want %g", n, sum, total)
		}
		if s2 := cExpSum(nil, x, 0); s2 != sum {
			t.Errorf("n=%d: sum without output %g, with output %g", n, s2, sum)
		}
	}
}

// TestErfNormCDF checks the C erf (absolute error) and normal CDF (relative
// error, which matters for GELU at negative inputs) against float64.
func TestErfNormCDF(t *testing.T) {
	const n = 2000001
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(-6 + 12*float64(i)/(n-1))
	}
	cMath(mathErf, y, x)
	worst, at := 0.0, float32(0)
	for i, v := range x {
		if e := math.Abs(float64(y[i]) - math.Erf(float64(v))); e > worst {
			worst, at = e, v
		}
	}
	t.Logf("erf on [-6,6]: max absolute error %.3g at %g", worst, at)
	if worst > 2e-7 {
		t.Errorf("erf max absolute error %.3g at %g, want <= 2e-7", worst, at)
	}
	for i := range x {
		x[i] = float32(-12 + 12*float64(i)/(n-1))
	}
	cMath(mathNormCDF, y, x)
	worst, at = 0, 0
	worst3 := 0.0
	for i, v := range x {
		want := 0.5 * math.Erfc(-float64(v)/math.Sqrt2)
		e := math.Abs(float64(y[i])-want) / want
		if e > worst {
			worst, at = e, v
		}
		if v >= -3 {
			worst3 = math.Max(worst3, e)
		}
	}
	t.Logf("normal CDF on [-12,0]: max relative error %.3g at %g; on [-3,0]: %.3g", worst, at, worst3)
	if worst > 1e-5 || worst3 > 1e-6 {
		t.Errorf("normal CDF relative error %.3g at %g (%.3g on [-3,0])", worst, at, worst3)
	}
	cMath(mathErf, y[:3], []float32{0, 10, -10})
	if y[0] != 0 || y[1] != 1 || y[2] != -1 {
		t.Errorf("erf(0, 10, -10) = %v", y[:3])
	}
}

func TestAs32(t *testing.T) {
	type myFloat float32
	x := []myFloat{1, 2}
	y, ok := as32(x)
	if !ok || len(y) != 2 || y[1] != 2 {
		t.Errorf("as32 on a float32-based type: %v %v", y, ok)
	}
	y[0] = 5
	if x[0] != 5 {
		t.Error("as32 copied instead of aliasing")
	}
	if _, ok := as32([]float64{1}); ok || !is32[float32]() || is32[float64]() {
		t.Error("as32/is32 accept float64")
	}
}

// BenchmarkMath reports the C scalar functions' cost per element.
func BenchmarkMath(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/512 - 4
	}
	for _, c := range []struct {
		name  string
		which int
	}{{"exp", mathExp}, {"erf", mathErf}, {"normcdf", mathNormCDF}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				cMath(c.which, y, x)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}
