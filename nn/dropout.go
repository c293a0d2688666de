package nn

// Dropout with a counter-based mask: element i is kept iff
// hash(seed, i) >= p (as a 32-bit fraction), and kept elements are scaled by
// 1/(1-p). The mask depends only on the seed and the element index, never on
// how the range was split, and the backward regenerates it instead of
// reading a stored mask.
//
//	inp, out, dinp, dout  [any shape, flat indices]

// mix64 is the SplitMix64 finaliser of seed + i*golden: a fast, well-mixed
// 64-bit hash of an element index under a seed.
func mix64(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dropThreshold turns a drop probability into the 32-bit threshold that the
// top half of mix64 is compared against, and returns the keep scale 1/(1-p).
func dropThreshold[T Float](p T) (thr uint64, scale T) {
	if p <= 0 {
		return 0, 1
	}
	if p >= 1 {
		return 1 << 32, 0
	}
	return uint64(float64(p) * (1 << 32)), 1 / (1 - p)
}

// keep reports whether element i survives dropout with threshold thr.
func keep(seed, i, thr uint64) bool { return mix64(seed, i)>>32 >= thr }

// dropRows sets d[j] = src[j]*scale if flat element base+j is kept under
// thr, else 0. d may alias src.
func dropRows[T Float](d, src []T, seed, base, thr uint64, scale T) {
	d = d[:len(src)]
	for j, v := range src {
		if keep(seed, base+uint64(j), thr) {
			d[j] = v * scale
		} else {
			d[j] = 0
		}
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
