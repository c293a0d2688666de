package roberta

import "lethe/nn"

// closures holds every kernel loop of a step as a func(lo, hi int) built once
// in New, so that pool.For never allocates. Each reads the current step's
// sizes and seeds from the Model when it runs.
type closures struct {
	embed, embLN, embDrop                func(lo, hi int)
	headDense, headGelu, headLN          func(lo, hi int)
	decoder, ce                          func(lo, hi int)
	ceBack, decoderParams, decoderInput  func(lo, hi int)
	headLNParams, headLNInput            func(lo, hi int)
	headGeluBack                         func(lo, hi int)
	headDenseParams, headDenseInput      func(lo, hi int)
	embDropBack, embLNParams, embLNInput func(lo, hi int)
	embedBack                            func(lo, hi int)
	layers                               []layerClosures
}

// layerClosures are the kernel loops of one encoder layer.
type layerClosures struct {
	qkv, attn, proj, projDropAdd, ln1    func(lo, hi int)
	inter, gelu, ffnOut, ffnDropAdd, ln2 func(lo, hi int)
	ln2Params, ln2Input, ffnDropBack     func(lo, hi int)
	ffnOutParams, ffnOutInput, geluBack  func(lo, hi int)
	interParams, interInput              func(lo, hi int)
	ln1Params, ln1Input, projDropBack    func(lo, hi int)
	projParams, projInput, attnBack      func(lo, hi int)
	qkvParams, qkvInput                  func(lo, hi int)
	gatherCtx, gatherIn                  func(lo, hi int) // compact last layer (Forward)
	zeroFull, scatterCtx, scatterRes     func(lo, hi int) // its backward
}

// buildClosures creates every kernel loop of Forward and Backward. Ranges:
// "rows" loops get n = rows, "elements" loops n = rows*width, "params" loops
// n = output features (or columns for LayerNorm and embeddings).
func (m *Model) buildClosures() {
	P := m.Params
	C, F, V, T := m.c, m.f, m.v, m.T
	fn := &m.fn
	// The LM head's input: the last layer's output, which Forward computes
	// for the masked rows only, compacted to rows [0, M).
	hIn := m.layers[len(m.layers)-1].out

	// Forward: embeddings.
	fn.embed = func(lo, hi int) { // rows of N
		nn.EmbeddingForward(m.embSum, m.ids, m.pos, P.WordEmb.Data, P.PosEmb.Data, P.TypeEmb.Data, C, lo, hi)
	}
	fn.embLN = func(lo, hi int) { // rows of N
		nn.LayerNormForward(m.embOut, m.embMean, m.embRstd, m.embSum, P.EmbLN.Data, P.EmbLNB.Data, C, m.eps, lo, hi)
	}
	fn.embDrop = func(lo, hi int) { // elements of N*C
		if m.pHidden > 0 {
			nn.DropoutForward(m.embOut, m.embOut, m.pHidden, m.opSeed, lo, hi)
		}
	}

	// Forward: LM head over the M masked rows.
	fn.headDense = func(lo, hi int) {
		nn.LinearForward(m.hDense, hIn, P.HeadDense.Data, P.HeadDenseB.Data, C, C, lo, hi)
	}
	fn.headGelu = func(lo, hi int) { nn.GeluForward(m.hAct, m.hDense, lo, hi) }
	fn.headLN = func(lo, hi int) {
		nn.LayerNormForward(m.hNorm, m.hMean, m.hRstd, m.hAct, P.HeadLN.Data, P.HeadLNB.Data, C, m.eps, lo, hi)
	}
	fn.decoder = func(lo, hi int) { // tied decoder: logits = hNorm @ wte^T + lm_head.bias
		nn.LinearForward(m.logits, m.hNorm, P.WordEmb.Data, P.HeadBias.Data, C, V, lo, hi)
	}

	fn.ce = func(lo, hi int) { // rows of M; the count goes to the range's first row
		m.correct[lo] = int32(nn.CrossEntropyForward(m.losses, m.probs, m.logits, m.targets, V, lo, hi))
	}

	// Backward: LM head.
	fn.ceBack = func(lo, hi int) { // dlogits in place over probs
		nn.CrossEntropyBackward(m.probs, m.probs, m.targets, m.ceScale, V, lo, hi)
	}
	fn.decoderParams = func(lo, hi int) { // vocabulary rows [lo, hi)
		nn.LinearBackwardParams(grad(P.WordEmb), grad(P.HeadBias), m.probs, m.hNorm, m.m, C, V, lo, hi)
	}
	fn.decoderInput = func(lo, hi int) { nn.LinearBackwardInput(m.dH, m.probs, P.WordEmb.Data, C, V, lo, hi) }
	fn.headLNParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(P.HeadLN), grad(P.HeadLNB), m.dH, m.hAct, m.hMean, m.hRstd, m.m, C, lo, hi)
	}
	fn.headLNInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(m.dH2, m.dH, m.hAct, m.hMean, m.hRstd, P.HeadLN.Data, C, lo, hi)
	}
	fn.headGeluBack = func(lo, hi int) { nn.GeluBackward(m.dH2, m.hDense, m.dH2, lo, hi) }
	fn.headDenseParams = func(lo, hi int) {
		nn.LinearBackwardParams(grad(P.HeadDense), grad(P.HeadDenseB), m.dH2, hIn, m.m, C, C, lo, hi)
	}
	fn.headDenseInput = func(lo, hi int) { // into dA: the compact last layer's output gradient
		nn.LinearBackwardInput(m.dA, m.dH2, P.HeadDense.Data, C, C, lo, hi)
	}

	// Backward: embeddings.
	fn.embDropBack = func(lo, hi int) { nn.DropoutBackward(m.dC, m.dA, m.pHidden, m.opSeed, lo, hi) }
	fn.embLNParams = func(lo, hi int) {
		nn.LayerNormBackwardParams(grad(P.EmbLN), grad(P.EmbLNB), m.dC, m.embSum, m.embMean, m.embRstd, m.n, C, lo, hi)
	}
	fn.embLNInput = func(lo, hi int) {
		nn.LayerNormBackwardInput(m.dRes, m.dC, m.embSum, m.embMean, m.embRstd, P.EmbLN.Data, C, lo, hi)
	}
	pad := int32(m.Config.PadTokenID)
	fn.embedBack = func(lo, hi int) { // columns of C
		// The token type row takes every row's gradient; the word and
		// position rows of padding tokens take none (padding_idx, as
		// nn.Embedding in Hugging Face). Pad rows' gradients are zero in
		// masked-LM training anyway, but not under an arbitrary task loss.
		nn.EmbeddingBackward(nil, nil, grad(P.TypeEmb), m.dRes, m.ids, m.pos, m.n, C, lo, hi)
		for i, id := range m.ids[:m.n] {
			if id == pad {
				clear(m.dRes[i*C+lo : i*C+hi])
			}
		}
		nn.EmbeddingBackward(grad(P.WordEmb), grad(P.PosEmb), nil, m.dRes, m.ids, m.pos, m.n, C, lo, hi)
	}

	fn.layers = make([]layerClosures, len(m.layers))
	for l := range m.layers {
		a := &m.layers[l]
		L := &P.Layers[l]
		lf := &fn.layers[l]
		in := m.embOut // the layer's input
		if l > 0 {
			in = m.layers[l-1].out
		}
		qkvGrad := func() ([]float32, []float32) {
			if qkvNeedsGrad(L) {
				return L.QKVWeightGrad, L.QKVBiasGrad
			}
			return nil, nil
		}

		// Forward.
		lf.qkv = func(lo, hi int) { nn.LinearForward(a.qkv, in, L.QKVWeight, L.QKVBias, C, 3*C, lo, hi) }
		lf.attn = func(lo, hi int) { // (batch, head) pairs
			nn.AttentionForward(a.ctx, a.probs, a.qkv, m.keyBias, m.b, T, C, m.nh, m.pAttn, m.opSeed, lo, hi)
		}
		lf.gatherCtx = func(lo, hi int) { nn.GatherRows(m.cCtx, a.ctx, m.rows, C, lo, hi) }
		lf.gatherIn = func(lo, hi int) { nn.GatherRows(m.cIn, in, m.rows, C, lo, hi) }
		lf.proj = func(lo, hi int) { nn.LinearForward(a.res1, a.ctxIn, L.AttnOut.Data, L.AttnOutBias.Data, C, C, lo, hi) }
		lf.projDropAdd = func(lo, hi int) { // res1 = in + dropout(dense)
			if m.pHidden > 0 {
				nn.DropoutForward(a.res1, a.res1, m.pHidden, m.opSeed, lo, hi)
			}
			nn.AddForward(a.res1, a.res1, a.resIn, lo, hi)
		}
		lf.ln1 = func(lo, hi int) {
			nn.LayerNormForward(a.h1, a.mean1, a.rstd1, a.res1, L.AttnLN.Data, L.AttnLNB.Data, C, m.eps, lo, hi)
		}
		lf.inter = func(lo, hi int) { nn.LinearForward(a.pre, a.h1, L.Inter.Data, L.InterBias.Data, C, F, lo, hi) }
		lf.gelu = func(lo, hi int) { nn.GeluForward(a.act, a.pre, lo, hi) }
		lf.ffnOut = func(lo, hi int) { nn.LinearForward(a.res2, a.act, L.Out.Data, L.OutBias.Data, F, C, lo, hi) }
		lf.ffnDropAdd = func(lo, hi int) { // res2 = h1 + dropout(dense)
			if m.pHidden > 0 {
				nn.DropoutForward(a.res2, a.res2, m.pHidden, m.opSeed, lo, hi)
			}
			nn.AddForward(a.res2, a.res2, a.h1, lo, hi)
		}
		lf.ln2 = func(lo, hi int) {
			nn.LayerNormForward(a.out, a.mean2, a.rstd2, a.res2, L.OutLN.Data, L.OutLNB.Data, C, m.eps, lo, hi)
		}

		// Backward. dA holds d(out) on entry and d(in) on exit.
		lf.ln2Params = func(lo, hi int) {
			nn.LayerNormBackwardParams(grad(L.OutLN), grad(L.OutLNB), m.dA, a.res2, a.mean2, a.rstd2, a.rows, C, lo, hi)
		}
		lf.ln2Input = func(lo, hi int) {
			nn.LayerNormBackwardInput(m.dRes, m.dA, a.res2, a.mean2, a.rstd2, L.OutLN.Data, C, lo, hi)
		}
		lf.ffnDropBack = func(lo, hi int) { nn.DropoutBackward(m.dC, m.dRes, m.pHidden, m.opSeed, lo, hi) }
		lf.ffnOutParams = func(lo, hi int) {
			nn.LinearBackwardParams(grad(L.Out), grad(L.OutBias), m.dC, a.act, a.rows, F, C, lo, hi)
		}
		lf.ffnOutInput = func(lo, hi int) { nn.LinearBackwardInput(m.dFF, m.dC, L.Out.Data, F, C, lo, hi) }
		lf.geluBack = func(lo, hi int) { nn.GeluBackward(m.dFF, a.pre, m.dFF, lo, hi) }
		lf.interParams = func(lo, hi int) {
			nn.LinearBackwardParams(grad(L.Inter), grad(L.InterBias), m.dFF, a.h1, a.rows, C, F, lo, hi)
		}
		lf.interInput = func(lo, hi int) { // dC = dFF @ Winter + dRes
			nn.LinearBackwardInput(m.dC, m.dFF, L.Inter.Data, C, F, lo, hi)
			nn.Accumulate(m.dC, m.dRes, lo*C, hi*C)
		}
		lf.ln1Params = func(lo, hi int) {
			nn.LayerNormBackwardParams(grad(L.AttnLN), grad(L.AttnLNB), m.dC, a.res1, a.mean1, a.rstd1, a.rows, C, lo, hi)
		}
		lf.ln1Input = func(lo, hi int) {
			nn.LayerNormBackwardInput(m.dRes, m.dC, a.res1, a.mean1, a.rstd1, L.AttnLN.Data, C, lo, hi)
		}
		lf.projDropBack = func(lo, hi int) { nn.DropoutBackward(m.dC, m.dRes, m.pHidden, m.opSeed, lo, hi) }
		lf.projParams = func(lo, hi int) {
			nn.LinearBackwardParams(grad(L.AttnOut), grad(L.AttnOutBias), m.dC, a.ctxIn, a.rows, C, C, lo, hi)
		}
		lf.projInput = func(lo, hi int) { nn.LinearBackwardInput(m.dB, m.dC, L.AttnOut.Data, C, C, lo, hi) }
		lf.zeroFull = func(lo, hi int) { clear(m.dFull[lo:hi]) }
		lf.scatterCtx = func(lo, hi int) { nn.ScatterRows(m.dFull, m.dB, m.rows, C, lo, hi) }
		lf.attnBack = func(lo, hi int) { // from a.dctx: dB, or dFull in the compact layer
			nn.AttentionBackward(m.dQKV, a.dctx, a.qkv, a.probs, m.b, T, C, m.nh, m.pAttn, m.opSeed, lo, hi)
		}
		lf.qkvParams = func(lo, hi int) { // fused [3C, C] weight rows
			dw, db := qkvGrad()
			nn.LinearBackwardParams(dw, db, m.dQKV, in, m.n, C, 3*C, lo, hi)
		}
		lf.qkvInput = func(lo, hi int) { // dA = dQKV @ Wqkv + dRes
			nn.LinearBackwardInput(m.dA, m.dQKV, L.QKVWeight, C, 3*C, lo, hi)
			if !a.compact { // else scatterRes adds the masked rows of dRes
				nn.Accumulate(m.dA, m.dRes, lo*C, hi*C)
			}
		}
		lf.scatterRes = func(lo, hi int) { nn.ScatterRows(m.dA, m.dRes, m.rows, C, lo, hi) }
	}
}
