package nn

import "lethe/internal/blas"

// Linear layer, PyTorch layout.
//
//	inp  [N, in]
//	w    [outDim, in]
//	b    [outDim] (may be nil: no bias)
//	out  [N, outDim]      out = inp @ w^T + b
//
// LinearForward and LinearBackwardInput work on rows [lo, hi) of N;
// LinearBackwardParams works on output features [lo, hi) of outDim, so that
// parallel ranges write disjoint rows of dw.

// LinearForward sets out[lo:hi] = inp[lo:hi] @ w^T + b (rows). b may be nil.
func LinearForward[T Float](out, inp, w, b []T, in, outDim, lo, hi int) {
	if hi <= lo {
		return
	}
	o := out[lo*outDim : hi*outDim]
	var beta T
	if b != nil {
		bb := b[:outDim]
		for i := 0; i < len(o); i += outDim {
			copy(o[i:i+outDim], bb)
		}
		beta = 1
	}
	blas.Gemm(false, true, hi-lo, outDim, in, 1, inp[lo*in:hi*in], in, w[:outDim*in], in, beta, o, outDim)
}

// LinearBackwardInput sets dinp[lo:hi] = dout[lo:hi] @ w (rows).
func LinearBackwardInput[T Float](dinp, dout, w []T, in, outDim, lo, hi int) {
	if hi <= lo {
		return
	}
	blas.Gemm(false, false, hi-lo, in, outDim, 1, dout[lo*outDim:hi*outDim], outDim, w[:outDim*in], in, 0, dinp[lo*in:hi*in], in)
}

// LinearBackwardParams accumulates the parameter gradients of output
// features [lo, hi) of outDim over all n rows: dw[lo:hi] += dout[:, lo:hi]^T
// @ inp and db[lo:hi] += the column sums of dout[:, lo:hi]. dw or db may be
// nil (frozen).
func LinearBackwardParams[T Float](dw, db, dout, inp []T, n, in, outDim, lo, hi int) {
	if hi <= lo || n == 0 {
		return
	}
	if dw != nil {
		blas.Gemm(true, false, hi-lo, in, n, 1, dout[lo:(n-1)*outDim+hi], outDim, inp[:n*in], in, 1, dw[lo*in:hi*in], in)
	}
	if db != nil {
		colSums(db[lo:hi], dout[lo:], n, outDim)
	}
}

// colSums adds to acc the sums over n rows (stride apart) of the columns
// of x that acc covers: acc[j] += x[r*stride+j] for r < n. Four rows at a
// time, so that acc is loaded and stored once per four rows.
func colSums[T Float](acc, x []T, n, stride int) {
	w := len(acc)
	r := 0
	for ; r+4 <= n; r += 4 {
		x0 := x[r*stride : r*stride+w]
		x1 := x[(r+1)*stride : (r+1)*stride+w]
		x2 := x[(r+2)*stride : (r+2)*stride+w]
		x3 := x[(r+3)*stride : (r+3)*stride+w]
		for j := range acc {
			acc[j] += (x0[j] + x1[j]) + (x2[j] + x3[j])
		}
	}
	for ; r < n; r++ {
		row := x[r*stride : r*stride+w]
		for j, v := range row {
			acc[j] += v
		}
	}
}
