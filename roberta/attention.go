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

	in []float32 // [N, C] the layer's input: the embeddings' or the layer below's output

	// Activations.
	qkv    []float32 // [N, 3C] fused query, key, value projection
	probs  []float32 // [B, NH, T, T] attention probabilities before dropout
	ctx    []float32 // [N, C] attention output, heads merged
	output *output   // RobertaSelfOutput: out = LayerNorm(in + dropout(ctx Wo^T + bo)) [R, C]

	// The compact layer only: ctx and in gathered to the masked rows.
	ctxRows, inRows []float32 // [M, C] (allocated [N, C])

	// This step: rows R (N, or M when compact), whether compact, and the
	// attention dropout seed.
	rows     int
	compact  bool
	attnSeed uint64

	// Gradients: views of the shared scratch (see grads).
	dOut    []float32 // [R, C] d out on entry; [N, C] d in on exit
	dCtx    []float32 // [R, C] d ctx (or of ctxRows)
	dCtxAll []float32 // [N, C] d ctx scattered back to all rows (compact layer only, its own buffer)
	dQKV    []float32 // [N, 3C] d qkv

	qkvFwd, attend, gatherCtx, gatherIn func(lo, hi int) // forward
	zeroCtxAll, scatterCtx, attendBack  func(lo, hi int) // backward
	qkvParams, qkvInput, scatterRes     func(lo, hi int)
}

// newAttention builds layer l's attention over the input in; last says it
// may run compact (it then gets the gather buffers).
func newAttention(P *Params, l int, in []float32, s *step, g *grads, maxBatch int, last bool) *attention {
	cfg := &P.Config
	C, NH, T := cfg.HiddenSize, cfg.NumAttentionHeads, s.T
	N := maxBatch * T
	L := &P.Layers[l]
	a := &attention{
		s: s, p: L, l: l, c: C, nh: NH, in: in,
		qkv:   make([]float32, N*3*C),
		probs: make([]float32, maxBatch*NH*T*T),
		ctx:   make([]float32, N*C),
		dOut:  g.hidden, dCtx: g.ctx, dQKV: g.qkv,
	}
	a.output = newOutput(s, g, L.AttnOut, L.AttnOutBias, L.AttnLN, L.AttnLNB, C, C, N, float32(cfg.LayerNormEps), g.ctx)
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

	// Backward.
	a.zeroCtxAll = func(lo, hi int) { clear(a.dCtxAll[lo:hi]) }
	a.scatterCtx = func(lo, hi int) { nn.ScatterRows(a.dCtxAll, a.dCtx, s.rows, C, lo, hi) }
	a.attendBack = func(lo, hi int) { // from d ctx over all N rows
		dctx := a.dCtx
		if a.compact {
			dctx = a.dCtxAll
		}
		nn.AttentionBackward(a.dQKV, dctx, a.qkv, a.probs, s.b, T, C, NH, s.pAttn, a.attnSeed, lo, hi)
	}
	a.qkvParams = func(lo, hi int) { // fused [3C, C] weight rows
		dw, db := L.QKVWeightGrad, L.QKVBiasGrad
		if !a.qkvNeedsGrad() {
			dw, db = nil, nil
		}
		nn.LinearBackwardParams(dw, db, a.dQKV, in, s.n, C, 3*C, lo, hi)
	}
	a.qkvInput = func(lo, hi int) { // dOut = dQKV Wqkv + d in from the residual
		nn.LinearBackwardInput(a.dOut, a.dQKV, L.QKVWeight, C, 3*C, lo, hi)
		if !a.compact { // else scatterRes adds the masked rows
			nn.Accumulate(a.dOut, a.output.dRes, lo*C, hi*C)
		}
	}
	a.scatterRes = func(lo, hi int) { nn.ScatterRows(a.dOut, a.output.dRes, s.rows, C, lo, hi) }
	return a
}

// forward: in [N, C] -> output.out [R, C], R = N, or M when compact.
func (a *attention) forward(compact bool) {
	s, N := a.s, a.s.n
	a.attnSeed, a.compact, a.rows = s.layerSeed(a.l, opAttnDrop), compact, N
	s.pool.For(N, a.qkvFwd)        // qkv = in Wqkv^T + bqkv       [N, 3C]
	s.pool.For(s.b*a.nh, a.attend) // ctx = softmax(q k^T / sqrt(d) + keyBias) v, per head
	ctx, in := a.ctx, a.in
	if compact {
		s.pool.For(s.m, a.gatherCtx)
		s.pool.For(s.m, a.gatherIn)
		ctx, in, a.rows = a.ctxRows, a.inRows, s.m
	}
	a.output.forward(ctx, in, a.rows, s.layerSeed(a.l, opProjDrop))
}

// backward: dOut = d out [R, C] -> parameter gradients and, with input,
// dOut = d in [N, C].
func (a *attention) backward(input bool) {
	s, N, C := a.s, a.s.n, a.c
	a.output.backward() // dCtx = d ctx; output.dRes = d in through the residual
	if a.compact {      // back to all N rows: dCtxAll = scatter(dCtx)
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
	s.pool.For(N, a.qkvInput) // dOut = dQKV Wqkv + output.dRes
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
func (a *attention) needsGrad() bool { return a.qkvNeedsGrad() || a.output.needsGrad() }
