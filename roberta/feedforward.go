package roberta

import "lethe/nn"

// feedForward is one encoder layer's second sub-layer: RobertaIntermediate
// (dense to F features, GELU) followed by RobertaOutput (dense back to C ->
// dropout -> LayerNorm(h + input)). It runs on the rows its attention ran
// on: N, or the M masked rows in Forward's compact last layer.
type feedForward struct {
	s   *step
	p   *Layer // its parameters: intermediate.dense, output.*
	l   int    // layer index (dropout seed)
	c   int
	f   int
	eps float32

	in []float32 // [R, C] the attention's output

	// Activations, [R, C] unless noted.
	pre        []float32 // [R, F] in Wi^T + bi
	act        []float32 // [R, F] GELU(pre)
	res        []float32 // in + dropout(act Wo^T + bo)
	mean, rstd []float32 // [R] LayerNorm statistics
	out        []float32 // LayerNorm(res): the layer's output

	rows int    // R of this step
	seed uint64 // dropout seed of this step

	// Gradients: views of the shared scratch (see grads).
	dOut   []float32 // [R, C] d out on entry, d in on exit
	dRes   []float32 // [R, C] d res
	dDense []float32 // [R, C] d (act Wo^T + bo), before dropout
	dAct   []float32 // [R, F] d act, then d pre in place

	inter, gelu, dense, dropAdd, norm                        func(lo, hi int) // forward
	normParams, normInput, dropBack, denseParams, denseInput func(lo, hi int) // backward
	geluBack, interParams, interInput                        func(lo, hi int)
}

// newFeedForward builds layer l's feed-forward over the input in.
func newFeedForward(P *Params, l int, in []float32, s *step, g *grads, maxBatch int) *feedForward {
	cfg := &P.Config
	C, F := cfg.HiddenSize, cfg.IntermediateSize
	N := maxBatch * s.T
	L := &P.Layers[l]
	f := &feedForward{
		s: s, p: L, l: l, c: C, f: F, eps: float32(cfg.LayerNormEps), in: in,
		pre:  make([]float32, N*F),
		act:  make([]float32, N*F),
		res:  make([]float32, N*C),
		mean: make([]float32, N),
		rstd: make([]float32, N),
		out:  make([]float32, N*C),
		dOut: g.hidden, dRes: g.res, dDense: g.branch, dAct: g.inter,
	}

	// Forward.
	f.inter = func(lo, hi int) { nn.LinearForward(f.pre, in, L.Inter.Data, L.InterBias.Data, C, F, lo, hi) }
	f.gelu = func(lo, hi int) { nn.GeluForward(f.act, f.pre, lo, hi) }
	f.dense = func(lo, hi int) { nn.LinearForward(f.res, f.act, L.Out.Data, L.OutBias.Data, F, C, lo, hi) }
	f.dropAdd = func(lo, hi int) { // elements: res = in + dropout(res)
		if s.pHidden > 0 {
			nn.DropoutForward(f.res, f.res, s.pHidden, f.seed, lo, hi)
		}
		nn.AddForward(f.res, f.res, in, lo, hi)
	}
	f.norm = func(lo, hi int) {
		nn.LayerNormForward(f.out, f.mean, f.rstd, f.res, L.OutLN.Data, L.OutLNB.Data, C, f.eps, lo, hi)
	}

	// Backward.
	f.normParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(L.OutLN), grad(L.OutLNB), f.dOut, f.res, f.mean, f.rstd, f.rows, C, lo, hi)
	}
	f.normInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(f.dRes, f.dOut, f.res, f.mean, f.rstd, L.OutLN.Data, C, lo, hi)
	}
	f.dropBack = func(lo, hi int) { nn.DropoutBackward(f.dDense, f.dRes, s.pHidden, f.seed, lo, hi) }
	f.denseParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(L.Out), grad(L.OutBias), f.dDense, f.act, f.rows, F, C, lo, hi)
	}
	f.denseInput = func(lo, hi int) { nn.LinearBackwardInput(f.dAct, f.dDense, L.Out.Data, F, C, lo, hi) }
	f.geluBack = func(lo, hi int) { nn.GeluBackward(f.dAct, f.pre, f.dAct, lo, hi) }
	f.interParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(L.Inter), grad(L.InterBias), f.dAct, in, f.rows, C, F, lo, hi)
	}
	f.interInput = func(lo, hi int) { // dOut = dPre Wi + dRes (the residual)
		nn.LinearBackwardInput(f.dOut, f.dAct, L.Inter.Data, C, F, lo, hi)
		nn.Accumulate(f.dOut, f.dRes, lo*C, hi*C)
	}
	return f
}

// forward: in [R, C] -> out [R, C].
func (f *feedForward) forward(rows int) {
	s, C, F := f.s, f.c, f.f
	f.rows, f.seed = rows, s.layerSeed(f.l, opFFNDrop)
	s.pool.For(rows, f.inter)     // pre = in Wi^T + bi     [R, F]
	s.pool.For(rows*F, f.gelu)    // act = GELU(pre)
	s.pool.For(rows, f.dense)     // res = act Wo^T + bo    [R, C]
	s.pool.For(rows*C, f.dropAdd) // res = in + dropout(res)
	s.pool.For(rows, f.norm)      // out = LayerNorm(res)
}

// backward: dOut = d out [R, C] -> parameter gradients and dOut = d in.
func (f *feedForward) backward() {
	s, C, F, L, R := f.s, f.c, f.f, f.p, f.rows
	if L.OutLN.RequiresGrad || L.OutLNB.RequiresGrad {
		s.pool.For(C, f.normParams)
	}
	s.pool.For(R, f.normInput)  // dRes = LayerNorm'(dOut)
	s.pool.For(R*C, f.dropBack) // dDense = dropout'(dRes)
	if L.Out.RequiresGrad || L.OutBias.RequiresGrad {
		s.pool.For(C, f.denseParams)
	}
	s.pool.For(R, f.denseInput) // dAct = dDense Wo
	s.pool.For(R*F, f.geluBack) // dPre = GELU'(pre) dAct
	if L.Inter.RequiresGrad || L.InterBias.RequiresGrad {
		s.pool.For(F, f.interParams)
	}
	s.pool.For(R, f.interInput) // dOut = dPre Wi + dRes
}

// needsGrad reports whether a parameter of the sub-layer trains.
func (f *feedForward) needsGrad() bool {
	L := f.p
	return anyTrains(L.Inter, L.InterBias, L.Out, L.OutBias, L.OutLN, L.OutLNB)
}
