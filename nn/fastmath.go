package nn

import (
	"math"
	"unsafe"
)

// as32 reinterprets x as []float32 when T is 4 bytes wide (float32 or a type
// defined on it), so that generic ops can hand their float32 instantiation to
// a hand-written float32 kernel. ok is false for float64.
func as32[T Float](x []T) (y []float32, ok bool) {
	var z T
	if unsafe.Sizeof(z) != 4 {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x)), true
}

// is32 reports whether T is 4 bytes wide.
func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// expT is e**x: the package's float32 polynomial for 4-byte T, math.Exp
// otherwise.
func expT[T Float](x T) T {
	if is32[T]() {
		return T(expf(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// erfT is the error function: the package's float32 approximation for
// 4-byte T, math.Erf otherwise.
func erfT[T Float](x T) T {
	if is32[T]() {
		return T(erff(float32(x)))
	}
	return T(math.Erf(float64(x)))
}

// Constants of expf's range reduction x = n*ln2 + r, |r| <= ln2/2. ln2 is
// split into a part with few significant bits (so n*expLn2Hi is exact) and
// the remainder.
const (
	expLog2e  = 1.44269504088896341
	expLn2Hi  = 0.693359375
	expLn2Lo  = -2.12194440e-4
	expMax    = 88.0     // above: clamp (e**88 is near float32's max)
	expMin    = -87.33   // below: 0 (result would be subnormal)
	expRound  = 12582912 // 1.5 * 2**23: adding it rounds to an integer
	expRoundB = 0x4b400000
)

// expf is e**x in float32 with about 1 ulp of error, for the hot loops
// (softmax, cross-entropy, GELU's derivative). It returns 0 below -87.33 and
// e**88 above 88, which is all softmax-style callers need. The polynomial
// e**r ~ 1 + r + r*r*P(r) on [-ln2/2, ln2/2] was fitted by least squares
// (relative error 2e-10 before float32 rounding).
func expf(x float32) float32 {
	if x < expMin {
		return 0
	}
	if x > expMax {
		x = expMax
	}
	t := x*expLog2e + expRound // nearest integer, as the low bits of t
	n := int32(math.Float32bits(t)) - expRoundB
	nf := t - expRound
	r := x - nf*expLn2Hi - nf*expLn2Lo
	p := float32(1.9899277034e-04)
	p = p*r + 1.3933663496e-03
	p = p*r + 8.3332984816e-03
	p = p*r + 4.1666464706e-02
	p = p*r + 1.6666666719e-01
	p = p*r + 5.0000000135e-01
	y := 1 + r + r*r*p
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// erff is the error function in float32 with absolute error near 1e-7.
// On |x| < 1 it uses an odd polynomial x*P(x*x) (least-squares fit,
// absolute error 1.3e-9 before float32 rounding); beyond, 1 - erfcf(|x|).
func erff(x float32) float32 {
	a := x
	if a < 0 {
		a = -a
	}
	if a < 1 {
		return x * erfSmallPoly(a*a)
	}
	y := 1 - erfcf(a)
	if x < 0 {
		return -y
	}
	return y
}

// erfSmallPoly is P(z) with erf(x) ~ x*P(x*x) on |x| < 1.
func erfSmallPoly(z float32) float32 {
	p := float32(7.9333345543e-05)
	p = p*z - 8.0348012053e-04
	p = p*z + 5.1912134897e-03
	p = p*z - 2.6855396996e-02
	p = p*z + 1.1283625667e-01
	p = p*z - 3.7612629872e-01
	return p*z + 1.1283791666e+00
}

// erfcf is the complementary error function for a >= 1 in float32, with
// small relative error (so that 1+erf(x) for negative x has no
// cancellation): erfc(a) = t*Q(t)*exp(-a*a), t = 1/(1+a/2), Q a
// least-squares fit on [1, 9] (relative error 7e-9 with float32
// coefficients). Beyond 9, erfc is below float32's normal range: 0.
func erfcf(a float32) float32 {
	if a >= 9 {
		return 0
	}
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
	return t * q * expf(-a*a)
}

// normCDF32 is the standard normal CDF Phi(x) = (1+erf(x/sqrt2))/2 in
// float32, computed through erfc in the tails so that it keeps its relative
// accuracy for negative x (where GELU's output is x times a small Phi).
func normCDF32(x float32) float32 {
	a := x * invSqrt2
	if a < 0 {
		a = -a
	}
	if a < 1 {
		return 0.5 + 0.5*(x*invSqrt2)*erfSmallPoly(a*a)
	}
	e := 0.5 * erfcf(a)
	if x < 0 {
		return e
	}
	return 1 - e
}
