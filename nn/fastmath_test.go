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

// TestExp checks the float32 exp against math.Exp in ulps over several
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
		for i, v := range x {
			y[i] = expf(v)
		}
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
		if got := expf(tc.x); got != tc.want {
			t.Errorf("exp(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if got := expf(1000); math.IsInf(float64(got), 0) || got < 1e38 {
		t.Errorf("exp(1000) = %g, want a large finite value", got)
	}
}

// TestExpSum checks the float32 exp-and-sum loops used by softmax and
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
		sum := expShiftInto32(y, x, 3)
		for i := range x {
			x[i] -= 3
			e[i] = expf(x[i])
		}
		for i := range y {
			if y[i] != e[i] {
				t.Fatalf("n=%d: exp_sum value %d is %g, scalar exp %g", n, i, y[i], e[i])
			}
		}
		if math.Abs(float64(sum)-total) > 1e-6*total {
			t.Errorf("n=%d: exp sum %g, want %g", n, sum, total)
		}
	}
}

// TestErfNormCDF checks the float32 erf (absolute error), normal CDF
// (relative error, which matters for GELU at negative inputs) and GELU
// derivative against float64.
func TestErfNormCDF(t *testing.T) {
	const n = 2000001
	x, y := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(-6 + 12*float64(i)/(n-1))
	}
	for i, v := range x {
		y[i] = erff(v)
	}
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
	worst, at = 0, 0
	worst3 := 0.0
	for _, v := range x {
		want := 0.5 * math.Erfc(-float64(v)/math.Sqrt2)
		e := math.Abs(float64(normCDF(v))-want) / want
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
	// The GELU forward loop writes normCDF out inline: it must compute the
	// same values bit for bit. The backward's gelu' (a polynomial near 0,
	// the erfc tail beyond) is checked against float64.
	x = x[:200001]
	for i := range x {
		x[i] = float32(-10 + 20*float64(i)/200000)
	}
	ones, g := make([]float32, len(x)), make([]float32, len(x))
	for i := range ones {
		ones[i] = 1
	}
	geluForward32(y[:len(x)], x)
	geluBackward32(g, x, ones)
	worst, at = 0, 0
	for i, v := range x {
		if y[i] != v*normCDF(v) {
			t.Fatalf("GELU forward loop at %g: %g, from normCDF: %g", v, y[i], v*normCDF(v))
		}
		f := float64(v)
		want := 0.5*math.Erfc(-f/math.Sqrt2) + f*invSqrt2Pi*math.Exp(-0.5*f*f)
		if e := math.Abs(float64(g[i]) - want); e > worst {
			worst, at = e, v
		}
	}
	t.Logf("gelu' on [-10,10]: max absolute error %.3g at %g", worst, at)
	if worst > 3e-7 {
		t.Errorf("gelu' max absolute error %.3g at %g, want <= 3e-7", worst, at)
	}
	if erff(0) != 0 || erff(10) != 1 || erff(-10) != -1 {
		t.Errorf("erf(0, 10, -10) = %g %g %g", erff(0), erff(10), erff(-10))
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
	if _, ok := as32([]float64{1}); ok {
		t.Error("as32 accepts float64")
	}
}

// BenchmarkMath reports the float32 scalar functions' cost per element.
func BenchmarkMath(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/512 - 4
	}
	for _, c := range []struct {
		name string
		f    func(float32) float32
	}{{"exp", expf}, {"erf", erff}, {"normcdf", normCDF}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for i, v := range x {
					y[i] = c.f(v)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}
