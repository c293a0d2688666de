package nn

import "math"

// Softmax cross-entropy over the vocabulary, for the masked rows.
//
//	logits, dlogits  [M, V]
//	targets          [M]     target ids; a negative target means "ignore"
//	losses           [M]     losses[i] = -log softmax(logits[i])[targets[i]]
//
// Both work on rows [lo, hi) of M.

// CrossEntropyForward sets losses[i] for rows [lo, hi) of logits and returns
// how many of those rows have their first maximal logit at the target (the
// masked-LM accuracy numerator). It subtracts the row maximum before
// exponentiating, so it is stable for any finite logits. Rows with a
// negative target get loss 0 and are not counted.
func CrossEntropyForward[T Float](losses []T, logits []T, targets []int32, V, lo, hi int) (correct int) {
	for i := lo; i < hi; i++ {
		tgt := int(targets[i])
		if tgt < 0 {
			losses[i] = 0
			continue
		}
		row := logits[i*V : i*V+V]
		m, arg := row[0], 0
		for j, v := range row {
			if v > m {
				m, arg = v, j
			}
		}
		s := sumExpShift(row, m)
		losses[i] = T(math.Log(float64(s))) + (m - row[tgt])
		if arg == tgt {
			correct++
		}
	}
	return correct
}

// sumExpShift returns the sum of exp(x-m) over row.
func sumExpShift[T Float](row []T, m T) T {
	if r, ok := as32(row); ok {
		return T(sumExpShift32(r, float32(m)))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v - m))
	}
	return T(s)
}

// sumExpShift32 is sumExpShift for float32, with the fast expf and four
// independent partial sums.
func sumExpShift32(row []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(row); j += 4 {
		r := row[j : j+4 : j+4]
		s0 += expf(r[0] - m)
		s1 += expf(r[1] - m)
		s2 += expf(r[2] - m)
		s3 += expf(r[3] - m)
	}
	for ; j < len(row); j++ {
		s0 += expf(row[j] - m)
	}
	return (s0 + s1) + (s2 + s3)
}

// CrossEntropyBackward sets dlogits[i] = (softmax(logits[i]) -
// onehot(targets[i])) * scale for rows [lo, hi) (scale is typically 1/M for
// a mean loss). dlogits may alias logits, to save an M x V buffer. Rows with
// a negative target get a zero gradient.
func CrossEntropyBackward[T Float](dlogits, logits []T, targets []int32, scale T, V, lo, hi int) {
	for i := lo; i < hi; i++ {
		row := logits[i*V : i*V+V]
		d := dlogits[i*V : i*V+V]
		tgt := int(targets[i])
		if tgt < 0 {
			clear(d)
			continue
		}
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		// Write exp(x-m) into d (row is no longer needed once read, so
		// aliasing is fine), then normalise.
		s := expShiftInto(d, row, m)
		k := scale / s
		for j := range d {
			d[j] *= k
		}
		d[tgt] -= scale
	}
}

// expShiftInto sets d[j] = exp(row[j]-m) and returns their sum. d may alias
// row.
func expShiftInto[T Float](d, row []T, m T) T {
	if r, ok := as32(row); ok {
		o, _ := as32(d)
		return T(expShiftInto32(o, r, float32(m)))
	}
	d = d[:len(row)]
	var s T
	for j, v := range row {
		e := T(math.Exp(float64(v - m)))
		d[j] = e
		s += e
	}
	return s
}

func expShiftInto32(d, row []float32, m float32) float32 {
	d = d[:len(row)]
	var s0, s1 float32
	j := 0
	for ; j+2 <= len(row); j += 2 {
		e0, e1 := expf(row[j]-m), expf(row[j+1]-m)
		d[j], d[j+1] = e0, e1
		s0 += e0
		s1 += e1
	}
	for ; j < len(row); j++ {
		e := expf(row[j] - m)
		d[j] = e
		s0 += e
	}
	return s0 + s1
}
