package roberta

import "lethe/nn"

// feedForward is one encoder layer's second sub-layer: RobertaIntermediate
// (dense to F features, GELU) followed by RobertaOutput (dense back to C ->
// dropout -> LayerNorm(h + input)). It runs on the rows its attention ran
// on: N, or the M masked rows in Forward's compact last layer.
type feedForward struct {
	s *step
	p *Layer // its parameters: intermediate.dense, output.*
	l int    // layer index (dropout seed)
	f int

	in []float32 // [R, C] the attention's output

	// Activations.
	pre    []float32 // [R, F] in Wi^T + bi
	act    []float32 // [R, F] GELU(pre)
	output *output   // RobertaOutput: out = LayerNorm(in + dropout(act Wo^T + bo)), the layer's output

	rows int // R of this step

	// Gradients: views of the shared scratch (see grads).
	dOut []float32 // [R, C] d out on entry, d in on exit
	dAct []float32 // [R, F] d act, then d pre in place

	inter, gelu                       func(lo, hi int) // forward
	geluBack, interParams, interInput func(lo, hi int) // backward
}

// newFeedForward builds layer l's feed-forward over the input in.
func newFeedForward(P *Params, l int, in []float32, s *step, g *grads, maxBatch int) *feedForward {
	cfg := &P.Config
	C, F := cfg.HiddenSize, cfg.IntermediateSize
	N := maxBatch * s.T
	L := &P.Layers[l]
	f := &feedForward{
		s: s, p: L, l: l, f: F, in: in,
		pre:  make([]float32, N*F),
		act:  make([]float32, N*F),
		dOut: g.hidden, dAct: g.inter,
	}
	f.output = newOutput(s, g, L.Out, L.OutBias, L.OutLN, L.OutLNB, F, C, N, float32(cfg.LayerNormEps), g.inter)

	// Forward.
	f.inter = func(lo, hi int) { nn.LinearForward(f.pre, in, L.Inter.Data, L.InterBias.Data, C, F, lo, hi) }
	f.gelu = func(lo, hi int) { nn.GeluForward(f.act, f.pre, lo, hi) }

	// Backward.
	f.geluBack = func(lo, hi int) { nn.GeluBackward(f.dAct, f.pre, f.dAct, lo, hi) }
	f.interParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(L.Inter), grad(L.InterBias), f.dAct, in, f.rows, C, F, lo, hi)
	}
	f.interInput = func(lo, hi int) { // dOut = dPre Wi + d in from the residual
		nn.LinearBackwardInput(f.dOut, f.dAct, L.Inter.Data, C, F, lo, hi)
		nn.Accumulate(f.dOut, f.output.dRes, lo*C, hi*C)
	}
	return f
}

// forward: in [R, C] -> output.out [R, C].
func (f *feedForward) forward(rows int) {
	s := f.s
	f.rows = rows
	s.pool.For(rows, f.inter)    // pre = in Wi^T + bi     [R, F]
	s.pool.For(rows*f.f, f.gelu) // act = GELU(pre)
	f.output.forward(f.act, f.in, rows, s.layerSeed(f.l, opFFNDrop))
}

// backward: dOut = d out [R, C] -> parameter gradients and dOut = d in.
func (f *feedForward) backward() {
	s, L, R := f.s, f.p, f.rows
	f.output.backward()           // dAct = d act; output.dRes = d in through the residual
	s.pool.For(R*f.f, f.geluBack) // dPre = GELU'(pre) dAct
	if L.Inter.RequiresGrad || L.InterBias.RequiresGrad {
		s.pool.For(f.f, f.interParams)
	}
	s.pool.For(R, f.interInput) // dOut = dPre Wi + output.dRes
}

// needsGrad reports whether a parameter of the sub-layer trains.
func (f *feedForward) needsGrad() bool {
	return anyTrains(f.p.Inter, f.p.InterBias) || f.output.needsGrad()
}
