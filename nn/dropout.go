package nn

import (
	"math"

	"lethe/internal/simd"
	"lethe/internal/splitmix"
)

// Dropout with a counter-based mask: element i is kept iff its 32-bit hash
// u(seed, i) >= p (as a 32-bit fraction), and kept elements are scaled by
// 1/(1-p). One SplitMix64 hash serves a pair of elements: elements 2k and
// 2k+1 take the high and the low 32 bits of mix64(seed, k). The mask
// depends only on the seed and the element index, never on how the range
// was split, and the backward regenerates it instead of reading a stored
// mask.
//
//	inp, out, dinp, dout  [any shape, flat indices]

// mix64 is the SplitMix64 finaliser of seed + i*golden: a fast, well-mixed
// 64-bit hash of an element index under a seed.
func mix64(seed, i uint64) uint64 { return splitmix.Mix(seed + (i+1)*splitmix.Golden) }

// dropThreshold turns a drop probability into the 32-bit threshold that
// each element's 32-bit hash is compared against, and returns the keep
// scale 1/(1-p).
func dropThreshold[T Float](p T) (thr uint64, scale T) {
	if p <= 0 {
		return 0, 1
	}
	if p >= 1 {
		return 1 << 32, 0
	}
	return uint64(float64(p) * (1 << 32)), 1 / (1 - p)
}

// hash32 is element i's 32-bit dropout hash: a half of mix64(seed, i/2).
func hash32(seed, i uint64) uint64 {
	return (mix64(seed, i>>1) >> (32 * (1 - i&1))) & 0xffffffff
}

// keep reports whether element i survives dropout with threshold thr.
func keep(seed, i, thr uint64) bool { return hash32(seed, i) >= thr }

// keepMask is all ones if the 32-bit hash u survives threshold thr (u >=
// thr), else 0: a select without a branch (a kept/dropped branch would
// mispredict on a tenth of the elements).
func keepMask(u, thr uint64) uint32 { return ^uint32(int64(u-thr) >> 63) }

// dropRows sets d[j] = src[j]*scale if flat element base+j is kept under
// thr, else 0. d may alias src.
func dropRows[T Float](d, src []T, seed, base, thr uint64, scale T) {
	if o, ok := as32(d); ok {
		s, _ := as32(src)
		if simd.On() {
			simd.DropRows(o, s, seed, base, thr, float32(scale))
		} else {
			dropRows32(o, s, seed, base, thr, float32(scale))
		}
		return
	}
	d = d[:len(src)]
	for j, v := range src {
		if keep(seed, base+uint64(j), thr) {
			d[j] = v * scale
		} else {
			d[j] = 0
		}
	}
}

// dropRows32 is dropRows's float32 loop: one hash per pair of elements, the
// mask applied to the bits of v*scale. d may alias src.
func dropRows32(d, src []float32, seed, base, thr uint64, scale float32) {
	d = d[:len(src)]
	j := 0
	if base&1 == 1 && len(src) > 0 { // an odd first element: the low half of its pair
		d[0] = math.Float32frombits(math.Float32bits(src[0]*scale) & keepMask(hash32(seed, base), thr))
		j = 1
	}
	k := (base + uint64(j)) >> 1 // pair index of element j
	for ; j+2 <= len(src); j += 2 {
		h := mix64(seed, k)
		k++
		s, o := src[j:j+2:j+2], d[j:j+2:j+2]
		o[0] = math.Float32frombits(math.Float32bits(s[0]*scale) & keepMask(h>>32, thr))
		o[1] = math.Float32frombits(math.Float32bits(s[1]*scale) & keepMask(h&0xffffffff, thr))
	}
	if j < len(src) {
		d[j] = math.Float32frombits(math.Float32bits(src[j]*scale) & keepMask(hash32(seed, base+uint64(j)), thr))
	}
}

// DropoutForward sets out[i] = inp[i]/(1-p) if element i is kept, else 0,
// for i in [lo, hi). p <= 0 copies; p >= 1 zeroes. out may alias inp.
func DropoutForward[T Float](out, inp []T, p T, seed uint64, lo, hi int) {
	if hi <= lo {
		return
	}
	x, o := inp[lo:hi], out[lo:hi]
	o = o[:len(x)]
	if p <= 0 {
		copy(o, x)
		return
	}
	thr, scale := dropThreshold(p)
	dropRows(o, x, seed, uint64(lo), thr, scale)
}

// DropoutBackward sets dinp[i] = dout[i]/(1-p) where element i was kept and
// 0 elsewhere, regenerating the forward's mask from seed. dinp may alias
// dout.
func DropoutBackward[T Float](dinp, dout []T, p T, seed uint64, lo, hi int) {
	DropoutForward(dinp, dout, p, seed, lo, hi)
}
