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
		if tgt >= V {
			panic("nn: cross-entropy target out of range")
		}
		row := logits[i*V : i*V+V]
		m, arg := maxIndex(row)
		s := sumExpShift(row, m)
		losses[i] = T(math.Log(float64(s))) + (m - row[tgt])
		if arg == tgt {
			correct++
		}
	}
	return correct
}

// sumExpShift returns the sum of exp(x-m) over row: in float64 with
// math.Exp for float64, with the fast exp (sumExpShift32) for float32.
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
		if tgt >= V {
			panic("nn: cross-entropy target out of range")
		}
		m, _ := maxIndex(row)
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

// expShiftInto sets d[j] = exp(row[j]-m) and returns their sum, with the
// fast exp (expShiftInto32) for float32. d may alias row.
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
