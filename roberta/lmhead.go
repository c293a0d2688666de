package roberta

import "lethe/nn"

// lmHead is RobertaLMHead with the masked-LM loss: dense -> GELU ->
// LayerNorm -> decoder tied to the word embeddings (+ lm_head.bias) ->
// cross-entropy. As fairseq does, it runs only on the M labelled rows,
// whose hidden states the compact last layer computed at rows [0, M).
type lmHead struct {
	s                            *step
	denseW, denseB, normW, normB *nn.Param // lm_head.dense, lm_head.layer_norm
	word, bias                   *nn.Param // decoder: the tied word embeddings, lm_head.bias
	c, v                         int
	eps                          float32
	maxRows                      int // N of the largest batch

	// Activations over the masked rows, grown on demand to the most rows
	// seen (capacity rows).
	capacity   int
	dense      []float32 // [M, C] in Wd^T + bd
	act        []float32 // [M, C] GELU(dense)
	mean, rstd []float32 // [M] LayerNorm statistics
	norm       []float32 // [M, C] LayerNorm(act), the decoder's input
	logits     []float32 // [M, V] norm wte^T + bias
	probs      []float32 // [M, V] softmax(logits) from the loss; d logits after backward
	losses     []float32 // [M] cross-entropy of each row
	correct    []int32   // [M] right predictions of the loss range starting at each row
	ceScale    float32   // 1/M: the loss is the mean over rows

	// Gradients: its own, [M, C]; dIn is the shared scratch's hidden.
	dNorm  []float32 // d norm
	dDense []float32 // d act, then d dense in place
	dIn    []float32 // [M, C] d in: the compact last layer's output gradient

	fwdDense, gelu, layerNorm, decode, loss                    func(lo, hi int) // forward
	lossBack, decodeParams, decodeInput, normParams, normInput func(lo, hi int) // backward
	geluBack, denseParams, denseInput                          func(lo, hi int)
}

// newLMHead builds the head over in, the last layer's output.
func newLMHead(P *Params, in []float32, s *step, g *grads, maxBatch int) *lmHead {
	cfg := &P.Config
	C, V := cfg.HiddenSize, cfg.VocabSize
	lm := &lmHead{
		s: s, denseW: P.HeadDense, denseB: P.HeadDenseB, normW: P.HeadLN, normB: P.HeadLNB,
		word: P.WordEmb, bias: P.HeadBias, c: C, v: V, eps: float32(cfg.LayerNormEps),
		maxRows: maxBatch * s.T, dIn: g.hidden,
	}
	// Forward over the M masked rows.
	lm.fwdDense = func(lo, hi int) { nn.LinearForward(lm.dense, in, lm.denseW.Data, lm.denseB.Data, C, C, lo, hi) }
	lm.gelu = func(lo, hi int) { nn.GeluForward(lm.act, lm.dense, lo, hi) }
	lm.layerNorm = func(lo, hi int) {
		nn.LayerNormForward(lm.norm, lm.mean, lm.rstd, lm.act, lm.normW.Data, lm.normB.Data, C, lm.eps, lo, hi)
	}
	lm.decode = func(lo, hi int) { // tied decoder: logits = norm wte^T + lm_head.bias
		nn.LinearForward(lm.logits, lm.norm, lm.word.Data, lm.bias.Data, C, V, lo, hi)
	}
	lm.loss = func(lo, hi int) { // the count goes to the range's first row
		lm.correct[lo] = int32(nn.CrossEntropyForward(lm.losses, lm.probs, lm.logits, s.targets, V, lo, hi))
	}
	// Backward.
	lm.lossBack = func(lo, hi int) { // d logits in place over probs
		nn.CrossEntropyBackward(lm.probs, lm.probs, s.targets, lm.ceScale, V, lo, hi)
	}
	lm.decodeParams = func(lo, hi int) { // vocabulary rows: into word_embeddings' grad
		nn.LinearBackwardParams(grad(lm.word), grad(lm.bias), lm.probs, lm.norm, s.m, C, V, lo, hi)
	}
	lm.decodeInput = func(lo, hi int) { nn.LinearBackwardInput(lm.dNorm, lm.probs, lm.word.Data, C, V, lo, hi) }
	lm.normParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(lm.normW), grad(lm.normB), lm.dNorm, lm.act, lm.mean, lm.rstd, s.m, C, lo, hi)
	}
	lm.normInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(lm.dDense, lm.dNorm, lm.act, lm.mean, lm.rstd, lm.normW.Data, C, lo, hi)
	}
	lm.geluBack = func(lo, hi int) { nn.GeluBackward(lm.dDense, lm.dense, lm.dDense, lo, hi) }
	lm.denseParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(lm.denseW), grad(lm.denseB), lm.dDense, in, s.m, C, C, lo, hi)
	}
	lm.denseInput = func(lo, hi int) { nn.LinearBackwardInput(lm.dIn, lm.dDense, lm.denseW.Data, C, C, lo, hi) }
	return lm
}

// grow makes the buffers hold at least rows rows. It allocates only when a
// batch has more masked positions than any before it.
func (lm *lmHead) grow(rows int) {
	if rows <= lm.capacity {
		return
	}
	rows = max(rows, lm.capacity*5/4)
	rows = min(rows, lm.maxRows)
	C, V := lm.c, lm.v
	lm.dense = make([]float32, rows*C)
	lm.act = make([]float32, rows*C)
	lm.norm = make([]float32, rows*C)
	lm.mean = make([]float32, rows)
	lm.rstd = make([]float32, rows)
	lm.logits = make([]float32, rows*V)
	lm.probs = make([]float32, rows*V)
	lm.losses = make([]float32, rows)
	lm.correct = make([]int32, rows)
	lm.dNorm = make([]float32, rows*C)
	lm.dDense = make([]float32, rows*C)
	lm.capacity = rows
}

// forward: in [M, C] -> the mean cross-entropy over the M rows and how many
// of them the argmax predicts right.
func (lm *lmHead) forward() (loss float64, correct int) {
	s, M, C := lm.s, lm.s.m, lm.c
	s.pool.For(M, lm.fwdDense)  // dense = in Wd^T + bd
	s.pool.For(M*C, lm.gelu)    // act = GELU(dense)
	s.pool.For(M, lm.layerNorm) // norm = LayerNorm(act)
	s.pool.For(M, lm.decode)    // logits = norm wte^T + bias   [M, V]
	clear(lm.correct[:M])
	s.pool.For(M, lm.loss) // losses, probs = cross-entropy(logits, targets)
	var sum float64
	for i, l := range lm.losses[:M] {
		sum += float64(l)
		correct += int(lm.correct[i])
	}
	return sum / float64(M), correct
}

// backward: the loss -> parameter gradients (the decoder's into the word
// embeddings') and, with input, dIn = d in [M, C].
func (lm *lmHead) backward(input bool) {
	s, M, C := lm.s, lm.s.m, lm.c
	lm.ceScale = 1 / float32(M)
	s.pool.For(M, lm.lossBack) // d logits = (probs - onehot) / M, over probs
	if lm.word.RequiresGrad || lm.bias.RequiresGrad {
		s.pool.For(lm.v, lm.decodeParams)
	}
	s.pool.For(M, lm.decodeInput) // dNorm = d logits wte
	if lm.normW.RequiresGrad || lm.normB.RequiresGrad {
		s.pool.For(C, lm.normParams)
	}
	s.pool.For(M, lm.normInput)  // dDense = LayerNorm'(dNorm)
	s.pool.For(M*C, lm.geluBack) // dDense = GELU'(dense) dDense
	if lm.denseW.RequiresGrad || lm.denseB.RequiresGrad {
		s.pool.For(C, lm.denseParams)
	}
	if input {
		s.pool.For(M, lm.denseInput) // dIn = dDense Wd
	}
}
