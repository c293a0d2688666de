package roberta

import "lethe/nn"

// output is RobertaSelfOutput and RobertaOutput, the end of both sub-layers
// of an encoder layer: out = LayerNorm(residual + dropout(x W^T + b)), with
// x the attention context (width C) or the feed-forward's activations
// (width F).
type output struct {
	s                    *step
	w, b, norm, normBias *nn.Param // dense [C, in], [C]; LayerNorm weight, bias [C]
	c                    int       // width of the output
	eps                  float32

	// This step: its rows R, dropout seed and inputs.
	rows        int
	seed        uint64
	x, residual []float32 // [R, in], [R, C]

	// Activations.
	res        []float32 // [R, C] residual + dropout(x W^T + b)
	mean, rstd []float32 // [R] LayerNorm statistics
	out        []float32 // [R, C] LayerNorm(res)

	// Gradients: views of the shared scratch (see grads), and dX, given by
	// the owner.
	dOut   []float32 // [R, C] d out
	dRes   []float32 // [R, C] d res: also the gradient the residual input receives
	dDense []float32 // [R, C] d (x W^T + b), before dropout
	dX     []float32 // [R, in] d x

	dense, dropAdd, layerNorm                                func(lo, hi int) // forward
	normParams, normInput, dropBack, denseParams, denseInput func(lo, hi int) // backward
}

// newOutput builds an output block for up to N rows whose input x has in
// features; backward writes x's gradient into dX.
func newOutput(s *step, g *grads, w, b, norm, normBias *nn.Param, in, C, N int, eps float32, dX []float32) *output {
	o := &output{
		s: s, w: w, b: b, norm: norm, normBias: normBias, c: C, eps: eps,
		res:  make([]float32, N*C),
		mean: make([]float32, N),
		rstd: make([]float32, N),
		out:  make([]float32, N*C),
		dOut: g.hidden, dRes: g.res, dDense: g.branch, dX: dX,
	}
	// Forward.
	o.dense = func(lo, hi int) { nn.LinearForward(o.res, o.x, w.Data, b.Data, in, C, lo, hi) }
	o.dropAdd = func(lo, hi int) { // elements: res = residual + dropout(res)
		if s.pHidden > 0 {
			nn.DropoutForward(o.res, o.res, s.pHidden, o.seed, lo, hi)
		}
		nn.AddForward(o.res, o.res, o.residual, lo, hi)
	}
	o.layerNorm = func(lo, hi int) {
		nn.LayerNormForward(o.out, o.mean, o.rstd, o.res, norm.Data, normBias.Data, C, o.eps, lo, hi)
	}
	// Backward.
	o.normParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(norm), grad(normBias), o.dOut, o.res, o.mean, o.rstd, o.rows, C, lo, hi)
	}
	o.normInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(o.dRes, o.dOut, o.res, o.mean, o.rstd, norm.Data, C, lo, hi)
	}
	o.dropBack = func(lo, hi int) { nn.DropoutBackward(o.dDense, o.dRes, s.pHidden, o.seed, lo, hi) }
	o.denseParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(w), grad(b), o.dDense, o.x, o.rows, in, C, lo, hi)
	}
	o.denseInput = func(lo, hi int) { nn.LinearBackwardInput(o.dX, o.dDense, w.Data, in, C, lo, hi) }
	return o
}

// forward: x [R, in], residual [R, C] -> out [R, C].
func (o *output) forward(x, residual []float32, rows int, seed uint64) {
	s, C := o.s, o.c
	o.x, o.residual, o.rows, o.seed = x, residual, rows, seed
	s.pool.For(rows, o.dense)     // res = x W^T + b
	s.pool.For(rows*C, o.dropAdd) // res = residual + dropout(res)
	s.pool.For(rows, o.layerNorm) // out = LayerNorm(res)
}

// backward: dOut = d out [R, C] -> parameter gradients, dRes = d residual
// and dX = d x.
func (o *output) backward() {
	s, C, R := o.s, o.c, o.rows
	if o.norm.RequiresGrad || o.normBias.RequiresGrad {
		s.pool.For(C, o.normParams)
	}
	s.pool.For(R, o.normInput)  // dRes = LayerNorm'(dOut)
	s.pool.For(R*C, o.dropBack) // dDense = dropout'(dRes)
	if o.w.RequiresGrad || o.b.RequiresGrad {
		s.pool.For(C, o.denseParams)
	}
	s.pool.For(R, o.denseInput) // dX = dDense W
}

// needsGrad reports whether a parameter of the block trains.
func (o *output) needsGrad() bool { return anyTrains(o.w, o.b, o.norm, o.normBias) }
