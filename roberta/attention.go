package roberta

import "lethe/nn"

// attention is RobertaAttention, one encoder layer's first sub-layer:
// RobertaSelfAttention (fused query/key/value projection, scaled dot-product
// attention over the unpadded keys, attention dropout) followed by
// RobertaSelfOutput (dense -> dropout -> LayerNorm(h + input)).
//
// In Forward's last layer it runs compact: the attention itself covers all
// N rows, but its context and input are then gathered to the M masked rows
// [0, M), and everything after runs on those rows only, since no other row
// can reach the MLM loss.
type attention struct {
	s     *step
	p     *Layer // its parameters: query, key, value, attention.output.*
	l     int    // layer index (dropout seeds)
	c, nh int
	eps   float32

	in []float32 // [N, C] the layer's input: the embeddings' or the layer below's output

	// Activations, [R, C] unless noted, where R is N, or M when compact.
	qkv        []float32 // [N, 3C] fused query, key, value projection
	probs      []float32 // [B, NH, T, T] attention probabilities before dropout
	ctx        []float32 // [N, C] attention output, heads merged
	res        []float32 // in + dropout(ctx Wo^T + bo)
	mean, rstd []float32 // [R] LayerNorm statistics
	out        []float32 // LayerNorm(res)

	// The compact layer only: ctx and in gathered to the masked rows.
	ctxRows, inRows []float32 // [M, C] (allocated [N, C])

	// This step: rows R, whether compact, and the views that depends on.
	rows             int
	compact          bool
	ctxIn, resIn     []float32 // the dense's input and the residual: ctx and in, or ctxRows and inRows
	dCtxAttn         []float32 // gradient of ctx over all N rows, for the attention backward: dCtx or dCtxAll
	attnSeed, drSeed uint64    // dropout seeds: attention probabilities, dense output

	// Gradients: views of the shared scratch (see grads).
	dOut    []float32 // [R, C] d out on entry; [N, C] d in on exit
	dRes    []float32 // [R, C] d res
	dDense  []float32 // [R, C] d (ctx Wo^T + bo), before dropout
	dCtx    []float32 // [R, C] d ctx
	dCtxAll []float32 // [N, C] d ctx scattered back to all rows (compact layer only, its own buffer)
	dQKV    []float32 // [N, 3C] d qkv

	qkvFwd, attend, gatherCtx, gatherIn, dense, dropAdd, norm func(lo, hi int) // forward
	normParams, normInput, dropBack, denseParams, denseInput  func(lo, hi int) // backward
	zeroCtxAll, scatterCtx, attendBack, qkvParams, qkvInput   func(lo, hi int)
	scatterRes                                                func(lo, hi int)
}

// newAttention builds layer l's attention over the input in; last says it
// may run compact (it then gets the gather buffers).
func newAttention(P *Params, l int, in []float32, s *step, g *grads, maxBatch int, last bool) *attention {
	cfg := &P.Config
	C, NH, T := cfg.HiddenSize, cfg.NumAttentionHeads, s.T
	N := maxBatch * T
	L := &P.Layers[l]
	a := &attention{
		s: s, p: L, l: l, c: C, nh: NH, eps: float32(cfg.LayerNormEps), in: in,
		qkv:   make([]float32, N*3*C),
		probs: make([]float32, maxBatch*NH*T*T),
		ctx:   make([]float32, N*C),
		res:   make([]float32, N*C),
		mean:  make([]float32, N),
		rstd:  make([]float32, N),
		out:   make([]float32, N*C),
		dOut:  g.hidden, dRes: g.res, dDense: g.branch, dCtx: g.ctx, dQKV: g.qkv,
	}
	if last {
		a.ctxRows = make([]float32, N*C)
		a.inRows = make([]float32, N*C)
		a.dCtxAll = make([]float32, N*C)
	}

	// Forward.
	a.qkvFwd = func(lo, hi int) { nn.LinearForward(a.qkv, in, L.QKVWeight, L.QKVBias, C, 3*C, lo, hi) }
	a.attend = func(lo, hi int) { // (batch, head) pairs
		nn.AttentionForward(a.ctx, a.probs, a.qkv, s.keyBias, s.b, T, C, NH, s.pAttn, a.attnSeed, lo, hi)
	}
	a.gatherCtx = func(lo, hi int) { nn.GatherRows(a.ctxRows, a.ctx, s.rows, C, lo, hi) }
	a.gatherIn = func(lo, hi int) { nn.GatherRows(a.inRows, in, s.rows, C, lo, hi) }
	a.dense = func(lo, hi int) { nn.LinearForward(a.res, a.ctxIn, L.AttnOut.Data, L.AttnOutBias.Data, C, C, lo, hi) }
	a.dropAdd = func(lo, hi int) { // elements: res = in + dropout(res)
		if s.pHidden > 0 {
			nn.DropoutForward(a.res, a.res, s.pHidden, a.drSeed, lo, hi)
		}
		nn.AddForward(a.res, a.res, a.resIn, lo, hi)
	}
	a.norm = func(lo, hi int) {
		nn.LayerNormForward(a.out, a.mean, a.rstd, a.res, L.AttnLN.Data, L.AttnLNB.Data, C, a.eps, lo, hi)
	}

	// Backward.
	a.normParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(L.AttnLN), grad(L.AttnLNB), a.dOut, a.res, a.mean, a.rstd, a.rows, C, lo, hi)
	}
	a.normInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(a.dRes, a.dOut, a.res, a.mean, a.rstd, L.AttnLN.Data, C, lo, hi)
	}
	a.dropBack = func(lo, hi int) { nn.DropoutBackward(a.dDense, a.dRes, s.pHidden, a.drSeed, lo, hi) }
	a.denseParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(L.AttnOut), grad(L.AttnOutBias), a.dDense, a.ctxIn, a.rows, C, C, lo, hi)
	}
	a.denseInput = func(lo, hi int) { nn.LinearBackwardInput(a.dCtx, a.dDense, L.AttnOut.Data, C, C, lo, hi) }
	a.zeroCtxAll = func(lo, hi int) { clear(a.dCtxAll[lo:hi]) }
	a.scatterCtx = func(lo, hi int) { nn.ScatterRows(a.dCtxAll, a.dCtx, s.rows, C, lo, hi) }
	a.attendBack = func(lo, hi int) {
		nn.AttentionBackward(a.dQKV, a.dCtxAttn, a.qkv, a.probs, s.b, T, C, NH, s.pAttn, a.attnSeed, lo, hi)
	}
	a.qkvParams = func(lo, hi int) { // fused [3C, C] weight rows
		dw, db := L.QKVWeightGrad, L.QKVBiasGrad
		if !a.qkvNeedsGrad() {
			dw, db = nil, nil
		}
		nn.LinearBackwardParams(dw, db, a.dQKV, in, s.n, C, 3*C, lo, hi)
	}
	a.qkvInput = func(lo, hi int) { // dOut = dQKV Wqkv + dRes (the residual)
		nn.LinearBackwardInput(a.dOut, a.dQKV, L.QKVWeight, C, 3*C, lo, hi)
		if !a.compact { // else scatterRes adds the masked rows of dRes
			nn.Accumulate(a.dOut, a.dRes, lo*C, hi*C)
		}
	}
	a.scatterRes = func(lo, hi int) { nn.ScatterRows(a.dOut, a.dRes, s.rows, C, lo, hi) }
	return a
}

// forward: in [N, C] -> out [R, C], R = N, or M when compact.
func (a *attention) forward(compact bool) {
	s, N, C := a.s, a.s.n, a.c
	a.attnSeed, a.drSeed = s.layerSeed(a.l, opAttnDrop), s.layerSeed(a.l, opProjDrop)
	a.compact = compact
	a.rows, a.ctxIn, a.resIn, a.dCtxAttn = N, a.ctx, a.in, a.dCtx
	s.pool.For(N, a.qkvFwd)        // qkv = in Wqkv^T + bqkv       [N, 3C]
	s.pool.For(s.b*a.nh, a.attend) // ctx = softmax(q k^T / sqrt(d) + keyBias) v, per head
	if compact {
		s.pool.For(s.m, a.gatherCtx)
		s.pool.For(s.m, a.gatherIn)
		a.rows, a.ctxIn, a.resIn, a.dCtxAttn = s.m, a.ctxRows, a.inRows, a.dCtxAll
	}
	R := a.rows
	s.pool.For(R, a.dense)     // res = ctx Wo^T + bo
	s.pool.For(R*C, a.dropAdd) // res = in + dropout(res)
	s.pool.For(R, a.norm)      // out = LayerNorm(res)
}

// backward: dOut = d out [R, C] -> parameter gradients and, with input,
// dOut = d in [N, C].
func (a *attention) backward(input bool) {
	s, N, C, L := a.s, a.s.n, a.c, a.p
	R := a.rows
	if L.AttnLN.RequiresGrad || L.AttnLNB.RequiresGrad {
		s.pool.For(C, a.normParams)
	}
	s.pool.For(R, a.normInput)  // dRes = LayerNorm'(dOut)
	s.pool.For(R*C, a.dropBack) // dDense = dropout'(dRes)
	if L.AttnOut.RequiresGrad || L.AttnOutBias.RequiresGrad {
		s.pool.For(C, a.denseParams)
	}
	s.pool.For(R, a.denseInput) // dCtx = dDense Wo
	if a.compact {              // back to all N rows: dCtxAll = scatter(dCtx)
		s.pool.For(N*C, a.zeroCtxAll)
		s.pool.For(s.m, a.scatterCtx)
	}
	s.pool.For(s.b*a.nh, a.attendBack) // dQKV
	if a.qkvNeedsGrad() {
		s.pool.For(3*C, a.qkvParams)
	}
	if !input {
		return
	}
	s.pool.For(N, a.qkvInput) // dOut = dQKV Wqkv + dRes
	if a.compact {
		s.pool.For(s.m, a.scatterRes) // the residual's masked rows
	}
}

// qkvNeedsGrad reports whether the fused query/key/value weight and bias
// train: they train as a unit, if any of the six does.
func (a *attention) qkvNeedsGrad() bool {
	L := a.p
	return anyTrains(L.Query, L.Key, L.Value, L.QueryBias, L.KeyBias, L.ValueBias)
}

// needsGrad reports whether a parameter of the sub-layer trains.
func (a *attention) needsGrad() bool {
	L := a.p
	return a.qkvNeedsGrad() || anyTrains(L.AttnOut, L.AttnOutBias, L.AttnLN, L.AttnLNB)
}
