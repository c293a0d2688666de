package nn

// RoBERTa input embeddings: word + position + token type (a single token
// type, so one row).
//
//	ids, pos       [N]       token ids, position ids
//	wte, dwte      [V, C]    word embeddings
//	wpe, dwpe      [P, C]    position embeddings
//	wtt, dwtt      [1, C]    token-type embedding (row 0 is used)
//	out, dout      [N, C]    out[i] = wte[ids[i]] + wpe[pos[i]] + wtt[0]
//
// EmbeddingForward works on rows [lo, hi) of N; EmbeddingBackward works on
// columns [lo, hi) of C so that repeated ids in different ranges never
// write the same element.

// EmbeddingForward sets out[i] = wte[ids[i]] + wpe[pos[i]] + wtt[0:C] for
// rows [lo, hi).
func EmbeddingForward[T Float](out []T, ids, pos []int32, wte, wpe, wtt []T, C, lo, hi int) {
	tt := wtt[:C]
	for i := lo; i < hi; i++ {
		w := wte[int(ids[i])*C : int(ids[i])*C+C]
		p := wpe[int(pos[i])*C : int(pos[i])*C+C]
		o := out[i*C : i*C+C]
		p, o = p[:len(w)], o[:len(w)]
		tt := tt[:len(w)]
		for j, v := range w {
			o[j] = v + p[j] + tt[j]
		}
	}
}

// EmbeddingBackward accumulates the three embedding gradients over all n
// rows for columns [lo, hi) of C: dwte[ids[i]] += dout[i], dwpe[pos[i]] +=
// dout[i], dwtt[0] += dout[i]. Any of the three may be nil (frozen).
func EmbeddingBackward[T Float](dwte, dwpe, dwtt, dout []T, ids, pos []int32, n, C, lo, hi int) {
	if hi <= lo {
		return
	}
	for i := 0; i < n; i++ {
		d := dout[i*C+lo : i*C+hi]
		if dwte != nil {
			addTo(dwte[int(ids[i])*C+lo:int(ids[i])*C+hi], d)
		}
		if dwpe != nil {
			addTo(dwpe[int(pos[i])*C+lo:int(pos[i])*C+hi], d)
		}
		if dwtt != nil {
			addTo(dwtt[lo:hi], d)
		}
	}
}

// addTo sets dst[j] += src[j] for every j of src.
func addTo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] += v
	}
}

// Row gather and scatter, for picking the masked rows before the LM head.
//
//	inp, dinp   [N, C]
//	rows        [M]      row indices into inp, unique
//	out, dout   [M, C]   out[j] = inp[rows[j]]
//
// Both work on rows [lo, hi) of M.

// GatherRows sets out[j] = inp[rows[j]] for j in [lo, hi).
func GatherRows[T Float](out, inp []T, rows []int32, C, lo, hi int) {
	for j := lo; j < hi; j++ {
		r := int(rows[j])
		copy(out[j*C:j*C+C], inp[r*C:r*C+C])
	}
}

// ScatterRows sets dinp[rows[j]] += dout[j] for j in [lo, hi). The rows must
// be unique, so that different ranges never write the same row. Rows of
// dinp not named in rows are left unchanged (zero them first for a plain
// gradient).
func ScatterRows[T Float](dinp, dout []T, rows []int32, C, lo, hi int) {
	for j := lo; j < hi; j++ {
		r := int(rows[j])
		addTo(dinp[r*C:r*C+C], dout[j*C:j*C+C])
	}
}
