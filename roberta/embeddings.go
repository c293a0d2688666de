package roberta

import "lethe/nn"

// embeddings is RobertaEmbeddings: word + position + token-type lookup,
// LayerNorm, dropout. Its output is the encoder's input.
type embeddings struct {
	s                          *step
	word, pos, typ, ln, lnBias *nn.Param // roberta.embeddings.*
	c                          int
	eps                        float32
	pad                        int32
	seed                       uint64 // dropout seed of the current step

	// Activations, [N, C] unless noted.
	sum        []float32 // word + position + type embedding of each row
	mean, rstd []float32 // [N] LayerNorm statistics
	out        []float32 // dropout(LayerNorm(sum))

	// Gradients: views of the shared scratch (see grads).
	dOut  []float32 // d out
	dNorm []float32 // d LayerNorm(sum), before dropout
	dSum  []float32 // d sum

	lookup, norm, drop                          func(lo, hi int) // forward
	dropBack, normParams, normInput, lookupBack func(lo, hi int) // backward
}

func newEmbeddings(P *Params, s *step, g *grads, N int) *embeddings {
	C := P.Config.HiddenSize
	e := &embeddings{
		s: s, word: P.WordEmb, pos: P.PosEmb, typ: P.TypeEmb, ln: P.EmbLN, lnBias: P.EmbLNB,
		c: C, eps: float32(P.Config.LayerNormEps), pad: int32(P.Config.PadTokenID),
		sum:  make([]float32, N*C),
		mean: make([]float32, N),
		rstd: make([]float32, N),
		out:  make([]float32, N*C),
		dOut: g.hidden, dNorm: g.branch, dSum: g.res,
	}
	// Forward.
	e.lookup = func(lo, hi int) { // rows
		nn.EmbeddingForward(e.sum, s.ids, s.pos, e.word.Data, e.pos.Data, e.typ.Data, C, lo, hi)
	}
	e.norm = func(lo, hi int) { // rows
		nn.LayerNormForward(e.out, e.mean, e.rstd, e.sum, e.ln.Data, e.lnBias.Data, C, e.eps, lo, hi)
	}
	e.drop = func(lo, hi int) { // elements
		if s.pHidden > 0 {
			nn.DropoutForward(e.out, e.out, s.pHidden, e.seed, lo, hi)
		}
	}
	// Backward.
	e.dropBack = func(lo, hi int) { nn.DropoutBackward(e.dNorm, e.dOut, s.pHidden, e.seed, lo, hi) }
	e.normParams = func(lo, hi int) { // columns
		nn.LayerNormBackwardParams(grad(e.ln), grad(e.lnBias), e.dNorm, e.sum, e.mean, e.rstd, s.n, C, lo, hi)
	}
	e.normInput = func(lo, hi int) { // rows
		nn.LayerNormBackwardInput(e.dSum, e.dNorm, e.sum, e.mean, e.rstd, e.ln.Data, C, lo, hi)
	}
	e.lookupBack = func(lo, hi int) { // columns
		// The token type row takes every row's gradient; the word and
		// position rows of padding tokens take none (padding_idx, as
		// nn.Embedding in Hugging Face). Pad rows' gradients are zero in
		// masked-LM training anyway, but not under an arbitrary task loss.
		nn.EmbeddingBackward(nil, nil, grad(e.typ), e.dSum, s.ids, s.pos, s.n, C, lo, hi)
		for i, id := range s.ids[:s.n] {
			if id == e.pad {
				clear(e.dSum[i*C+lo : i*C+hi])
			}
		}
		nn.EmbeddingBackward(grad(e.word), grad(e.pos), nil, e.dSum, s.ids, s.pos, s.n, C, lo, hi)
	}
	return e
}

// forward: ids [N] -> out [N, C].
func (e *embeddings) forward() {
	s, N := e.s, e.s.n
	e.seed = s.dropSeed(opEmbDrop)
	s.pool.For(N, e.lookup)   // sum = word[ids] + pos[positions] + type[0]
	s.pool.For(N, e.norm)     // out = LayerNorm(sum)
	s.pool.For(N*e.c, e.drop) // out = dropout(out)
}

// backward: dOut [N, C] -> gradients of the tables and the LayerNorm.
func (e *embeddings) backward() {
	s, N, C := e.s, e.s.n, e.c
	s.pool.For(N*C, e.dropBack) // dNorm = dropout'(dOut)
	if e.ln.RequiresGrad || e.lnBias.RequiresGrad {
		s.pool.For(C, e.normParams)
	}
	s.pool.For(N, e.normInput) // dSum = LayerNorm'(dNorm)
	if e.word.RequiresGrad || e.pos.RequiresGrad || e.typ.RequiresGrad {
		s.pool.For(C, e.lookupBack) // scatter-add dSum into the tables' rows
	}
}

// needsGrad reports whether a parameter of the embeddings trains.
func (e *embeddings) needsGrad() bool {
	return anyTrains(e.word, e.pos, e.typ, e.ln, e.lnBias)
}
