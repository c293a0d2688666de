package nn

import (
	"math"

	"lethe/internal/simd"
)

// Softmax cross-entropy over the vocabulary, for the masked rows.
//
//	logits           [M, V]
//	probs            [M, V]  softmax(logits): the forward writes it for the backward
//	dlogits          [M, V]
//	targets          [M]     target ids; a negative target means "ignore"
//	losses           [M]     losses[i] = -log softmax(logits[i])[targets[i]]
//
// Both work on rows [lo, hi) of M. The forward computes every exp once and
// keeps the probabilities, so that the backward is a single multiply pass
// (probs - onehot) * scale with no exp.

// CrossEntropyForward sets losses[i] and probs[i] = softmax(logits[i]) for
// rows [lo, hi) and returns how many of those rows have their first maximal
// logit at the target (the masked-LM accuracy numerator). It subtracts the
// row maximum before exponentiating, so it is stable for any finite logits.
// Rows with a negative target get loss 0, are not counted, and their probs
// row is left as it is. probs may alias logits.
func CrossEntropyForward[T Float](losses, probs, logits []T, targets []int32, V, lo, hi int) (correct int) {
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
		p := probs[i*V : i*V+V]
		m, arg := maxIndex(row)
		xt := row[tgt] // read before p (which may be row) is written
		s := expShiftInto(p, row, m)
		losses[i] = T(math.Log(float64(s))) + (m - xt)
		k := 1 / s
		for j := range p {
			p[j] *= k
		}
		if arg == tgt {
			correct++
		}
	}
	return correct
}

// expShiftInto sets d[j] = exp(row[j]-m) and returns their sum, with the
// fast exp (expShiftInto32) for float32. d may alias row.
func expShiftInto[T Float](d, row []T, m T) T {
	if r, ok := as32(row); ok {
		o, _ := as32(d)
		if simd.On() {
			return T(simd.ExpShiftSum(o, r, float32(m)))
		}
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

// CrossEntropyBackward sets dlogits[i] = (probs[i] - onehot(targets[i])) *
// scale for rows [lo, hi), from the forward's probs (scale is typically 1/M
// for a mean loss). dlogits may alias probs, to save an M x V buffer. Rows
// with a negative target get a zero gradient.
func CrossEntropyBackward[T Float](dlogits, probs []T, targets []int32, scale T, V, lo, hi int) {
	for i := lo; i < hi; i++ {
		p := probs[i*V : i*V+V]
		d := dlogits[i*V : i*V+V]
		tgt := int(targets[i])
		if tgt < 0 {
			clear(d)
			continue
		}
		if tgt >= V {
			panic("nn: cross-entropy target out of range")
		}
		d = d[:len(p)]
		for j, v := range p {
			d[j] = v * scale
		}
		d[tgt] -= scale
	}
}
