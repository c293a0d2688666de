package nn

// Row reductions shared by the ops. Each adds in four interleaved
// accumulators, so that consecutive additions do not wait for each other,
// and re-slices its inputs to the common length so that the compiler drops
// the bounds checks inside the loop.

// sum returns the sum of x.
func sum[T Float](x []T) T {
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := x[j : j+4 : j+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; j < len(x); j++ {
		s0 += x[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumProd returns the sum of x[j]*y[j] over x (y at least as long).
func sumProd[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		a, b := x[j:j+4:j+4], y[j:j+4:j+4]
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
	}
	for ; j < len(x); j++ {
		s0 += x[j] * y[j]
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev returns the sum of (x[j]-m)**2.
func sumSqDev[T Float](x []T, m T) T {
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		v := x[j : j+4 : j+4]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; j < len(x); j++ {
		d := x[j] - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// maxIndex returns the largest element of x (len(x) >= 1) and the first
// index where it occurs.
func maxIndex[T Float](x []T) (m T, arg int) {
	m = x[0]
	for j, v := range x {
		if v > m {
			m, arg = v, j
		}
	}
	return m, arg
}
