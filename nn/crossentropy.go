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

// sumExpShift32 is sumExpShift for float32, with the fast expf. It sums
// blocks of 256 in four independent float32 lanes and adds the block sums in
// float64, keeping the rounding error of an 8000-term sum near 1e-7.
func sumExpShift32(row []float32, m float32) float32 {
	var total float64
	for len(row) > 0 {
		blk := row[:min(len(row), 256)]
		row = row[len(blk):]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(blk); j += 4 {
			r := blk[j : j+4 : j+4]
			s0 += expf(r[0] - m)
			s1 += expf(r[1] - m)
			s2 += expf(r[2] - m)
			s3 += expf(r[3] - m)
		}
		for ; j < len(blk); j++ {
			s0 += expf(blk[j] - m)
		}
		total += float64((s0 + s1) + (s2 + s3))
	}
	return float32(total)
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

// expShiftInto32 is expShiftInto for float32, summing as sumExpShift32.
func expShiftInto32(d, row []float32, m float32) float32 {
	d = d[:len(row)]
	var total float64
	for off := 0; off < len(row); off += 256 {
		blk := row[off:min(len(row), off+256)]
		o := d[off : off+len(blk)]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= len(blk); j += 4 {
			r := blk[j : j+4 : j+4]
			e0, e1, e2, e3 := expf(r[0]-m), expf(r[1]-m), expf(r[2]-m), expf(r[3]-m)
			w := o[j : j+4 : j+4]
			w[0], w[1], w[2], w[3] = e0, e1, e2, e3
			s0 += e0
			s1 += e1
			s2 += e2
			s3 += e3
		}
		for ; j < len(blk); j++ {
			e := expf(blk[j] - m)
			o[j] = e
			s0 += e
		}
		total += float64((s0 + s1) + (s2 + s3))
	}
	return float32(total)
}
