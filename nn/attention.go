package nn

import (
	"fmt"
	"math"

	"lethe/internal/blas"
	"lethe/internal/simd"
)

// Multi-head self-attention core (after the fused QKV projection, before the
// output projection), as Hugging Face's RobertaSelfAttention in eager mode.
//
//	qkv, dqkv  [N, 3C]        q in columns 0:C, k in C:2C, v in 2C:3C;
//	                          head h uses columns h*HS:(h+1)*HS of each
//	keyBias    [B*T]          added to every score of key j: 0 for real tokens,
//	                          a large negative (float32's lowest) for padding
//	probs      [B, NH, T, T]  softmax(q k^T / sqrt(HS) + keyBias), before dropout
//	out, dout  [N, C]         (dropout(probs) @ v), heads merged back into
//	                          columns h*HS:(h+1)*HS
//
// The attention-dropout mask is that of DropoutForward applied to the
// whole probs tensor with the same seed: element (b, h, i, j) is kept iff
// hash(seed, ((b*NH+h)*T+i)*T+j) >= p.
//
// Both functions work on (batch, head) pairs [lo, hi) of B*NH, pair index
// b*NH+h. They process the T query rows in blocks that fit a fixed-size
// stack buffer, so they allocate nothing.

// attnScratch is the number of elements of the per-call stack buffer that
// holds a block of rows of the dropped probabilities or their gradients.
const attnScratch = 16384

// AttentionForward computes probs and out for (batch, head) pairs [lo, hi)
// of B*NH, with attention-probability dropout p under seed.
func AttentionForward[E Float](out, probs, qkv, keyBias []E, B, T, C, NH int, p E, seed uint64, lo, hi int) {
	HS := C / NH
	checkAttention(B, T, C, NH)
	C3 := 3 * C
	scale := E(1 / math.Sqrt(float64(HS)))
	thr, dscale := dropThreshold(p)
	rb := min(T, attnScratch/T) // query rows per block
	var buf [attnScratch]E
	for bh := lo; bh < hi; bh++ {
		b, h := bh/NH, bh%NH
		q := qkv[b*T*C3+h*HS:]
		k := q[C:]
		v := q[2*C:]
		P := probs[bh*T*T : (bh+1)*T*T]
		bias := keyBias[b*T : b*T+T]
		o := out[b*T*C+h*HS:]
		// Scores for all rows at once: P = scale * q k^T, then bias and softmax.
		blas.Gemm(false, true, T, T, HS, scale, q, C3, k, C3, 0, P, T)
		softmaxBiasRows(P, bias)
		if p <= 0 {
			blas.Gemm(false, false, T, HS, T, 1, P, T, v, C3, 0, o, C)
			continue
		}
		base := uint64(bh * T * T)
		for i0 := 0; i0 < T; i0 += rb {
			r := min(rb, T-i0)
			d := buf[:r*T]
			src := P[i0*T : i0*T+r*T]
			dropRows(d, src, seed, base+uint64(i0*T), thr, dscale)
			blas.Gemm(false, false, r, HS, T, 1, d, T, v, C3, 0, o[i0*C:], C)
		}
	}
}

// AttentionBackward sets, for (batch, head) pairs [lo, hi) of B*NH, that
// head's columns of dqkv (its q, k and v gradients; overwritten) from dout,
// the forward's qkv and probs, and the same p and seed.
func AttentionBackward[E Float](dqkv, dout, qkv, probs []E, B, T, C, NH int, p E, seed uint64, lo, hi int) {
	HS := C / NH
	checkAttention(B, T, C, NH)
	C3 := 3 * C
	scale := E(1 / math.Sqrt(float64(HS)))
	thr, dscale := dropThreshold(p)
	rb := min(T, attnScratch/T)
	var buf, buf2 [attnScratch]E
	for bh := lo; bh < hi; bh++ {
		b, h := bh/NH, bh%NH
		q := qkv[b*T*C3+h*HS:]
		k := q[C:]
		v := q[2*C:]
		dq := dqkv[b*T*C3+h*HS:]
		dk := dq[C:]
		dv := dq[2*C:]
		P := probs[bh*T*T : (bh+1)*T*T]
		do := dout[b*T*C+h*HS:]
		base := uint64(bh * T * T)
		for i0 := 0; i0 < T; i0 += rb {
			r := min(rb, T-i0)
			var beta E // the first block overwrites dk and dv, later ones add
			if i0 > 0 {
				beta = 1
			}
			Pi := P[i0*T : i0*T+r*T]
			// pd = dropout(P)[rows], the mask drawn once for both uses.
			pd := Pi
			if p > 0 {
				pd = buf[:r*T]
				dropRows(pd, Pi, seed, base+uint64(i0*T), thr, dscale)
			}
			// dv += pd^T @ dout[rows]
			blas.Gemm(true, false, T, HS, r, 1, pd, T, do[i0*C:], C, beta, dv, C3)
			// d = d(dropped probs)[rows] = dout[rows] @ v^T
			d := buf2[:r*T]
			blas.Gemm(false, true, r, T, HS, 1, do[i0*C:], C, v, C3, 0, d, T)
			// Dropout and softmax backward in one pass: dscores.
			softmaxDropBackwardRows(d, pd, Pi, T)
			// dq[rows] = scale * dscores @ k;  dk += scale * dscores^T @ q[rows]
			blas.Gemm(false, false, r, HS, T, scale, d, T, k, C3, 0, dq[i0*C3:], C3)
			blas.Gemm(true, false, T, HS, r, scale, d, T, q[i0*C3:], C3, beta, dk, C3)
		}
	}
}

// checkAttention panics on shapes the attention kernels cannot handle.
func checkAttention(B, T, C, NH int) {
	if NH <= 0 || C%NH != 0 {
		panic(fmt.Sprintf("nn: attention hidden size %d not divisible by %d heads", C, NH))
	}
	if T > attnScratch {
		panic(fmt.Sprintf("nn: attention sequence length %d exceeds %d", T, attnScratch))
	}
}

// softmaxBiasRows replaces each row of p (len(bias) wide, raw scores) with
// softmax(row + bias), in place.
func softmaxBiasRows[T Float](p, bias []T) {
	if p32, ok := as32(p); ok && simd.On() {
		b32, _ := as32(bias)
		simd.SoftmaxBiasRows(p32, b32)
		return
	}
	for i := 0; i < len(p); i += len(bias) {
		softmaxBiasRowGo(p[i:i+len(bias)], bias)
	}
}

// softmaxBiasRowGo replaces row (raw scores) with softmax(row + bias), in
// place: the Go loop.
func softmaxBiasRowGo[T Float](row, bias []T) {
	bias = bias[:len(row)]
	m := T(math.Inf(-1))
	for j := range row {
		x := row[j] + bias[j]
		row[j] = x
		if x > m { // a branch: faster than the max builtin, which checks for NaN
			m = x
		}
	}
	s := expShiftInto(row, row, m)
	k := 1 / s
	for j := range row {
		row[j] *= k
	}
}

// softmaxDropBackwardRows applies softmaxDropBackwardRowGo (or its kernel) to each cols-wide
// row of d, pd and p.
func softmaxDropBackwardRows[T Float](d, pd, p []T, cols int) {
	if d32, ok := as32(d); ok && simd.On() {
		pd32, _ := as32(pd)
		p32, _ := as32(p)
		simd.SoftmaxDropBackwardRows(d32, pd32, p32, cols)
		return
	}
	for i := 0; i < len(d); i += cols {
		softmaxDropBackwardRowGo(d[i:i+cols], pd[i:i+cols], p[i:i+cols])
	}
}

// softmaxDropBackwardRowGo replaces d, the gradient of pd = dropout(p) (p a
// softmax's output; pd = p where there is no dropout), with the gradient of
// the softmax's input. With the mask folded into pd = p*mask/(1-p_drop),
// dp = mask/(1-p_drop)*d and
//
//	p * (dp - sum(p*dp)) = pd*d - p*sum(pd*d),
//
// so the mask is not needed again.
func softmaxDropBackwardRowGo[T Float](d, pd, p []T) {
	pd, p = pd[:len(d)], p[:len(d)]
	s := sumProd(d, pd)
	for j, v := range d {
		d[j] = pd[j]*v - p[j]*s
	}
}
