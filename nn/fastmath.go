package nn

import (
	"math"
	"unsafe"
)

// Float32 fast math: a polynomial exp (about 1 ulp), erf/erfc (about 1e-7
// absolute), the normal CDF built from them (small relative error in its
// tails) and GELU's derivative, used by the float32 instantiations of the
// ops instead of math.Exp and math.Erf, which work in float64 and cost
// several times more. The float64 instantiations use the math package, so
// that finite-difference gradient checks are exact.

// as32 reinterprets x as []float32 when T is 4 bytes wide (float32 or a type
// defined on it), so that generic ops can hand their float32 instantiation to
// a float32 loop that uses the fast math. ok is false for float64.
func as32[T Float](x []T) (y []float32, ok bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), true
}

// Constants of expf's range reduction x = n*ln2 + r, |r| <= ln2/2. ln2 is
// split into a part with few significant bits (so n*expLn2Hi is exact) and
// the remainder.
const (
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expMax   = 88.0     // above: clamp (e**88 is near float32's max)
	expMin   = -87.33   // below: 0 (the result would be subnormal)
	expRound = 12582912 // 1.5 * 2**23: adding it rounds to an integer
)

// expf is e**x in float32 with about 1 ulp of error. It returns 0 below
// -87.33 (and for -Inf) and e**88 above 88, which is all the softmax-style
// callers need.
func expf(x float32) float32 {
	if x > expMax {
		x = expMax
	}
	return expNoMax(x)
}

// expNoMax is expf for x <= 88 (larger x give garbage), the form the hot
// loops call. The polynomial e**r ~ 1 + r + r*r*P(r) on [-ln2/2, ln2/2]
// was fitted for least maximal relative error (3e-9 before float32
// rounding). 2**n is built from t's bits directly: they hold
// 0x4b400000+n, and the shift drops the 0x4b400000. Without the upper
// clamp, and written as few statements, the function stays under the
// inliner's budget (cost 79 of 80: check with go build -gcflags=-m=2), so
// that the hot loops make no call.
func expNoMax(x float32) float32 {
	if x < expMin {
		return 0
	}
	t := x*expLog2e + expRound // nearest integer n, in the low bits of t
	r := x - (t-expRound)*expLn2Hi - (t-expRound)*expLn2Lo
	p := 1 + r + r*r*((((1.3814611593e-03*r+8.3687100559e-03)*r+4.1668388993e-02)*r+1.6666521132e-01)*r+4.9999994040e-01)
	return p * math.Float32frombits((math.Float32bits(t)+127)<<23)
}

// erfSmall is P(z) with erf(x) ~ x*P(x*x) on |x| < 1 (least-squares fit,
// absolute error 1.3e-9 before float32 rounding).
func erfSmall(z float32) float32 {
	p := float32(7.9333345543e-05)
	p = p*z - 8.0348012053e-04
	p = p*z + 5.1912134897e-03
	p = p*z - 2.6855396996e-02
	p = p*z + 1.1283625667e-01
	p = p*z - 3.7612629872e-01
	return p*z + 1.1283791666e+00
}

// erfcLarge is erfc(a) for a >= 1 given e = exp(-a*a) (which GELU's
// backward shares with the normal density): erfc(a) = t*Q(t)*e, t =
// 1/(1+a/2), Q a least-squares fit on [1, 9] (relative error 7e-9 with
// float32 coefficients). The small relative error means 1+erf(x) for
// negative x has no cancellation.
func erfcLarge(a, e float32) float32 {
	t := 1 / (1 + 0.5*a)
	q := float32(-4.5456493404e-02)
	q = q*t + 2.4449562905e-01
	q = q*t - 4.4009494807e-01
	q = q*t + 2.5071367884e-01
	q = q*t - 1.9298381170e-02
	q = q*t + 2.0254139761e-01
	q = q*t + 2.4271356064e-01
	q = q*t + 2.8245933364e-01
	q = q*t + 2.8208089311e-01
	return t * q * e
}

// erff is the error function in float32 with absolute error near 1e-7. The
// ops use its piece erfcLarge through normCDF and GELU's derivative; erff
// itself is what the accuracy tests check erfcLarge by.
func erff(x float32) float32 {
	a := abs32(x)
	if a < 1 {
		return x * erfSmall(a*a)
	}
	y := 1 - erfcLarge(a, expNoMax(-a*a))
	if x < 0 {
		return -y
	}
	return y
}

// normCDF is the standard normal CDF Phi(x) = (1+erf(x/sqrt2))/2 in
// float32, as geluForward32 computes it inline: a polynomial for |x| <
// sqrt2 (normCDFSmall), the erfc tail (normCDFTail) beyond.
func normCDF(x float32) float32 {
	if z := x * x; z < 2 {
		return 0.5 + x*normCDFSmall(z)
	}
	return normCDFTail(x, expNoMax(-0.5*x*x))
}

// normCDFSmall is A(z) with Phi(x) ~ 0.5 + x*A(x*x) on |x| < sqrt2, fitted
// for least maximal relative error of Phi (5e-8 before float32 rounding;
// the rounding of 0.5 + x*A, which cancels towards x = -sqrt2, leaves
// under 8e-7). One polynomial in x*x for Phi directly costs four fewer
// operations than erf(x/sqrt2) through erfSmall.
func normCDFSmall(z float32) float32 {
	p := float32(-5.8610989981e-06)
	p = p*z + 1.0662531713e-04
	p = p*z - 1.1762628565e-03
	p = p*z + 9.9664898589e-03
	p = p*z - 6.6488340497e-02
	return p*z + 3.9894208312e-01
}

// geluGradSmall is G(z) with gelu'(x) = Phi(x) + x*phi(x) ~ 0.5 + x*G(x*x)
// on |x| < sqrt2: one polynomial, no exp (weighted least-squares fit of the
// absolute error; 1.8e-7 in float32, about 1.5 ulp of gelu').
func geluGradSmall(z float32) float32 {
	p := float32(5.5373593568e-06)
	p = p*z - 1.0304551688e-04
	p = p*z + 1.1394172907e-03
	p = p*z - 9.4868037850e-03
	p = p*z + 5.9836491942e-02
	p = p*z - 2.6596063375e-01
	return p*z + 7.9788452387e-01
}

// geluGradTail is gelu'(x) = Phi(x) + x*phi(x) for |x| >= sqrt2, with one
// e = exp(-x*x/2) shared by the CDF's tail and the density.
func geluGradTail(x float32) float32 {
	e := expNoMax(-0.5 * x * x)
	return normCDFTail(x, e) + x*invSqrt2Pi*e
}

// normCDFTail is Phi(x) for |x| >= sqrt2 given e = exp(-x*x/2), through
// erfc, so that it keeps its relative accuracy for negative x (where GELU's
// output is x times a small Phi). The exponent is taken as -x*x/2 rather
// than -(x/sqrt2)**2, which would round x/sqrt2 first (4e-6 relative error
// at x = -12 instead of 1e-5).
func normCDFTail(x, e float32) float32 {
	h := 0.5 * erfcLarge(abs32(x*invSqrt2), e)
	if x > 0 {
		return 1 - h
	}
	return h
}

// abs32 is |x| (clearing the sign bit, so that it compiles to two integer
// instructions rather than a branch).
func abs32(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}

// expShiftInto32 sets d[j] = exp(x[j]-m) and returns their sum. It adds
// blocks of 256 in four float32 accumulators and the block sums in float64,
// which keeps the rounding error of an 8000-term sum near 1e-7. d may alias
// x.
func expShiftInto32(d, x []float32, m float32) float32 {
	d = d[:len(x)]
	var total float64
	for off := 0; off < len(x); off += 256 {
		blk := x[off:min(len(x), off+256)]
		o := d[off : off+len(blk)]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(blk); j += 4 {
			v := blk[j : j+4 : j+4]
			e0, e1, e2, e3 := expNoMax(v[0]-m), expNoMax(v[1]-m), expNoMax(v[2]-m), expNoMax(v[3]-m)
			w := o[j : j+4 : j+4]
			w[0], w[1], w[2], w[3] = e0, e1, e2, e3
			s0 += e0
			s1 += e1
			s2 += e2
			s3 += e3
		}
		for ; j < len(blk); j++ {
			e := expNoMax(blk[j] - m)
			o[j] = e
			s0 += e
		}
		total += float64((s0 + s1) + (s2 + s3))
	}
	return float32(total)
}
