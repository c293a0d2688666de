package plot

import "math"

// Downsample thins a long series to at most maxPoints points for drawing,
// keeping its extremes: the points are cut into maxPoints/2 buckets of
// consecutive indices, and from each bucket the point with the smallest and
// the one with the largest y are kept, in their original order. A spike of a
// single point therefore survives, which a per-bucket mean would flatten.
// A bucket whose y values are all NaN keeps one NaN point, so gaps at least a
// bucket long stay gaps; shorter ones inside a bucket are bridged.
//
// Series no longer than maxPoints are returned as copies, unchanged. If x and
// y differ in length, the extra elements of the longer are ignored. A
// maxPoints below 2 is taken as 2.
func Downsample(x, y []float64, maxPoints int) ([]float64, []float64) {
	n := min(len(x), len(y))
	maxPoints = max(maxPoints, 2)
	if n <= maxPoints {
		return append([]float64(nil), x[:n]...), append([]float64(nil), y[:n]...)
	}
	buckets := maxPoints / 2
	ox := make([]float64, 0, maxPoints)
	oy := make([]float64, 0, maxPoints)
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := -1, -1
		for i := lo; i < hi; i++ {
			if math.IsNaN(y[i]) {
				continue
			}
			if imin < 0 || y[i] < y[imin] {
				imin = i
			}
			if imax < 0 || y[i] > y[imax] {
				imax = i
			}
		}
		switch {
		case imin < 0:
			ox, oy = append(ox, x[lo]), append(oy, math.NaN())
		case imin == imax:
			ox, oy = append(ox, x[imin]), append(oy, y[imin])
		default:
			first, second := min(imin, imax), max(imin, imax)
			ox, oy = append(ox, x[first], x[second]), append(oy, y[first], y[second])
		}
	}
	return ox, oy
}
