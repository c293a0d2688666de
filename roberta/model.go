package roberta

import (
	"errors"
	"fmt"
	"math"

	"lethe/internal/parallel"
	"lethe/internal/splitmix"
	"lethe/nn"
)

// Model is a RobertaForMaskedLM with every activation buffer of a training
// step allocated once for batches of up to maxBatch sequences of SeqLen
// tokens. Forward and Backward do not allocate (after the LM-head buffers
// have grown to the largest number of masked positions seen): every kernel
// call goes through the pool with a closure built in New.
//
// Notation (as in package nn): B batch, T sequence length, N = B*T rows, C
// hidden size, NH heads, F FFN size, V vocabulary, M masked (labelled) rows.
//
// A Model is not safe for concurrent use.
type Model struct {
	// Config is the model's configuration. Only the dropout probabilities
	// may be changed after New (they are read at every Forward).
	Config Config
	// Params holds the parameters and their gradients.
	Params *Params

	pool        *parallel.Pool
	maxBatch, T int
	c, f, v, nh int

	// Current step (set by Forward, read by the closures).
	b, n, m     int
	seed        uint64
	forwardDone bool    // a Forward or Encode succeeded and its activations are intact
	mlmDone     bool    // ... and it was a Forward (the LM head ran)
	pHidden     float32 // hidden dropout of this step (0 in eval)
	pAttn       float32 // attention dropout of this step
	eps         float32
	opSeed      uint64 // seed of the op being run (dropout closures read it)

	// Inputs derived from the batch.
	ids     []int32   // [N]
	pos     []int32   // [N] RoBERTa position ids
	keyBias []float32 // [N] 0 for tokens, float32's lowest for padding
	rows    []int32   // [M] masked row indices into N
	targets []int32   // [M] their labels

	// Embeddings.
	embSum  []float32 // [N, C] word + position + type
	embMean []float32 // [N]
	embRstd []float32 // [N]
	embOut  []float32 // [N, C] LayerNorm then dropout (layer 0's input)

	layers []layerActs

	// Forward's compact last layer: its inputs at the masked rows.
	cCtx []float32 // [M, C] (allocated [N, C]) gathered attention output
	cIn  []float32 // [M, C] (allocated [N, C]) gathered layer input

	// LM head over the masked rows (grown on demand to M rows); its input is
	// the compact last layer's output.
	hDense  []float32 // [M, C] dense output (GELU input)
	hAct    []float32 // [M, C] GELU output (LayerNorm input)
	hMean   []float32 // [M]
	hRstd   []float32 // [M]
	hNorm   []float32 // [M, C] LayerNorm output (decoder input)
	logits  []float32 // [M, V]
	probs   []float32 // [M, V] softmax(logits), from the cross-entropy forward; dlogits after Backward
	losses  []float32 // [M]
	correct []int32   // [M] right-prediction count of the CE range starting at each row
	headCap int       // rows the head buffers hold

	// Gradient scratch (reused by every layer).
	dA      []float32 // [N, C] gradient of a layer's output, then of its input
	dB      []float32 // [N, C] gradient of the attention output (ctx)
	dRes    []float32 // [N, C] gradient of a residual sum (res2, res1, embSum)
	dC      []float32 // [N, C] gradient of a dense output or LayerNorm output
	dFF     []float32 // [N, F]
	dQKV    []float32 // [N, 3C]
	dFull   []float32 // [N, C] the compact layer's ctx gradient, scattered to all rows
	dH      []float32 // [M, C] head scratch
	dH2     []float32 // [M, C]
	ceScale float32

	fn closures
}

// layerActs holds the activations one encoder layer saves for its backward.
type layerActs struct {
	qkv          []float32 // [N, 3C]
	probs        []float32 // [B, NH, T, T] attention probabilities before dropout
	ctx          []float32 // [N, C] attention output (heads merged)
	res1         []float32 // [N, C] x + dropout(attn dense)
	h1           []float32 // [N, C] LayerNorm(res1)
	mean1, rstd1 []float32 // [N]
	pre          []float32 // [N, F] intermediate dense output
	act          []float32 // [N, F] GELU(pre)
	res2         []float32 // [N, C] h1 + dropout(output dense)
	out          []float32 // [N, C] LayerNorm(res2), the layer's output
	mean2, rstd2 []float32 // [N]

	// Rows of the post-attention part of the layer this step: N, or M in
	// Forward's last layer (compact), where only the masked rows can reach
	// the loss, so the attention output, the residual input and everything
	// after are gathered to rows [0, M) first.
	rows    int
	compact bool
	ctxIn   []float32 // input of the attention output dense: ctx or Model.cCtx
	resIn   []float32 // residual input: the layer's input or Model.cIn
	dctx    []float32 // gradient of ctx for the attention backward: Model.dB or Model.dFull
}

// New builds a model for cfg with zeroed parameters (call Init) and buffers
// for up to maxBatch sequences of seqLen tokens; seqLen must not exceed
// cfg.MaxSeqLen(). pool runs every kernel.
func New(cfg Config, maxBatch, seqLen int, pool *parallel.Pool) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if maxBatch <= 0 {
		return nil, fmt.Errorf("roberta: maxBatch must be positive, got %d", maxBatch)
	}
	if seqLen <= 0 || seqLen > cfg.MaxSeqLen() {
		return nil, fmt.Errorf("roberta: sequence length %d outside [1, %d] (max_position_embeddings %d)", seqLen, cfg.MaxSeqLen(), cfg.MaxPositionEmbeddings)
	}
	if pool == nil {
		return nil, errors.New("roberta: nil pool")
	}
	params, err := NewParams(cfg)
	if err != nil {
		return nil, err
	}
	N, C, F := maxBatch*seqLen, cfg.HiddenSize, cfg.IntermediateSize
	m := &Model{
		Config: cfg, Params: params, pool: pool, maxBatch: maxBatch, T: seqLen,
		c: C, f: F, v: cfg.VocabSize, nh: cfg.NumAttentionHeads,
		eps:     float32(cfg.LayerNormEps),
		ids:     make([]int32, N),
		pos:     make([]int32, N),
		keyBias: make([]float32, N),
		rows:    make([]int32, N),
		targets: make([]int32, N),
		embSum:  make([]float32, N*C),
		embMean: make([]float32, N),
		embRstd: make([]float32, N),
		embOut:  make([]float32, N*C),
		dA:      make([]float32, N*C),
		dB:      make([]float32, N*C),
		dRes:    make([]float32, N*C),
		dC:      make([]float32, N*C),
		dFF:     make([]float32, N*F),
		dQKV:    make([]float32, N*3*C),
		dFull:   make([]float32, N*C),
		cCtx:    make([]float32, N*C),
		cIn:     make([]float32, N*C),
	}
	m.layers = make([]layerActs, cfg.NumHiddenLayers)
	for i := range m.layers {
		m.layers[i] = layerActs{
			qkv:   make([]float32, N*3*C),
			probs: make([]float32, maxBatch*cfg.NumAttentionHeads*seqLen*seqLen),
			ctx:   make([]float32, N*C),
			res1:  make([]float32, N*C),
			h1:    make([]float32, N*C),
			mean1: make([]float32, N),
			rstd1: make([]float32, N),
			pre:   make([]float32, N*F),
			act:   make([]float32, N*F),
			res2:  make([]float32, N*C),
			out:   make([]float32, N*C),
			mean2: make([]float32, N),
			rstd2: make([]float32, N),
		}
	}
	m.buildClosures()
	return m, nil
}

// MaxBatch is the largest batch Forward accepts.
func (m *Model) MaxBatch() int { return m.maxBatch }

// SeqLen is the length T of every sequence of a batch.
func (m *Model) SeqLen() int { return m.T }

// Init draws all parameters as Hugging Face does (see Params.Init).
func (m *Model) Init(seed uint64) { m.Params.Init(seed) }

// ResetWordEmbeddings redraws the token embedding matrix (see
// Params.ResetWordEmbeddings).
func (m *Model) ResetWordEmbeddings(seed uint64) { m.Params.ResetWordEmbeddings(seed) }

// ZeroGrad sets every parameter gradient to zero.
func (m *Model) ZeroGrad() { m.Params.ZeroGrad() }

// growHead makes the LM-head buffers hold at least rows rows. It allocates
// only when a batch has more masked positions than any before it.
func (m *Model) growHead(rows int) {
	if rows <= m.headCap {
		return
	}
	rows = max(rows, m.headCap*5/4)
	rows = min(rows, m.maxBatch*m.T)
	C, V := m.c, m.v
	m.hDense = make([]float32, rows*C)
	m.hAct = make([]float32, rows*C)
	m.hNorm = make([]float32, rows*C)
	m.hMean = make([]float32, rows)
	m.hRstd = make([]float32, rows)
	m.logits = make([]float32, rows*V)
	m.probs = make([]float32, rows*V)
	m.losses = make([]float32, rows)
	m.correct = make([]int32, rows)
	m.dH = make([]float32, rows*C)
	m.dH2 = make([]float32, rows*C)
	m.headCap = rows
}

// Seeds of the dropout ops of one step, derived from the step's seed so that
// every op gets an independent mask.
func (m *Model) dropSeed(op int) uint64 { return splitmix.Stream(m.seed, uint64(op)+1) }

const (
	opEmbDrop = iota
	opAttnDrop
	opProjDrop
	opFFNDrop
	opsPerLayer = 3
)

// layerSeed returns the seed of dropout op kind (opAttnDrop, opProjDrop or
// opFFNDrop) in layer l.
func (m *Model) layerSeed(l, kind int) uint64 { return m.dropSeed(1 + l*opsPerLayer + kind - 1) }

// Forward runs the model on a batch of B sequences of SeqLen tokens (ids,
// row-major [B, T]) with MLM labels (same shape, -100 for positions without
// a label) and returns the mean cross-entropy over the labelled positions,
// how many of them the model predicts right (argmax) and how many there are.
// train turns dropout on; seed drives every dropout mask of the step. With
// no labelled position the loss is 0. The activations stay for Backward.
//
// As fairseq does, the LM head runs only on the labelled positions, which
// are gathered before it; the result equals Hugging Face's
// RobertaForMaskedLM, which runs the head everywhere and ignores label -100.
func (m *Model) Forward(ids, labels []int32, B int, train bool, seed uint64) (loss float64, correct, masked int, err error) {
	m.forwardDone, m.mlmDone = false, false
	if err := m.prepare(ids, labels, B, train, seed); err != nil {
		return 0, 0, 0, err
	}
	M, C := m.m, m.c
	m.growHead(M)
	m.encode(true)
	m.forwardDone, m.mlmDone = true, true
	if M == 0 {
		return 0, 0, 0, nil
	}
	fn := &m.fn
	m.pool.For(M, fn.headDense)
	m.pool.For(M*C, fn.headGelu)
	m.pool.For(M, fn.headLN)
	m.pool.For(M, fn.decoder)
	clear(m.correct[:M])
	m.pool.For(M, fn.ce)
	var sum float64
	for i, l := range m.losses[:M] {
		sum += float64(l)
		correct += int(m.correct[i])
	}
	return sum / float64(M), correct, M, nil
}

// Encode runs only the embeddings and the encoder (no LM head) on a batch of
// B sequences, as Forward does, and returns the final hidden states [B*T, C]
// (row b*T+t), the input of a task head. The slice is the model's own buffer,
// valid until the next Forward or Encode. Follow with BackwardHidden to train.
func (m *Model) Encode(ids []int32, B int, train bool, seed uint64) ([]float32, error) {
	m.forwardDone, m.mlmDone = false, false
	if err := m.prepare(ids, nil, B, train, seed); err != nil {
		return nil, err
	}
	m.encode(false)
	m.forwardDone = true
	return m.layers[len(m.layers)-1].out[:m.n*m.c], nil
}

// prepare checks a batch and derives the per-step inputs: token and
// position ids, the padding key bias and the labelled rows (labels may be
// nil: none).
func (m *Model) prepare(ids, labels []int32, B int, train bool, seed uint64) error {
	if B <= 0 || B > m.maxBatch {
		return fmt.Errorf("roberta: batch %d outside [1, %d]", B, m.maxBatch)
	}
	T, N := m.T, B*m.T
	if len(ids) != N || (labels != nil && len(labels) != N) {
		return fmt.Errorf("roberta: batch of %d x %d needs %d ids and labels, got %d and %d", B, T, N, len(ids), len(labels))
	}
	V, pad := int32(m.v), int32(m.Config.PadTokenID)
	M := 0
	lowest := float32(-math.MaxFloat32) // Hugging Face adds finfo(float32).min
	for b := 0; b < B; b++ {
		next := pad // RoBERTa: positions count from padding_idx+1 over non-pad tokens
		for t := 0; t < T; t++ {
			i := b*T + t
			id := ids[i]
			if id < 0 || id >= V {
				return fmt.Errorf("roberta: token id %d at batch row %d, position %d outside vocabulary [0, %d)", id, b, t, V)
			}
			m.ids[i] = id
			if id == pad {
				m.pos[i], m.keyBias[i] = pad, lowest
			} else {
				next++
				m.pos[i], m.keyBias[i] = next, 0
			}
			if labels == nil {
				continue
			}
			if lab := labels[i]; lab != -100 {
				if lab < 0 || lab >= V {
					return fmt.Errorf("roberta: label %d at batch row %d, position %d outside vocabulary [0, %d) (use -100 for no label)", lab, b, t, V)
				}
				m.rows[M], m.targets[M] = int32(i), lab
				M++
			}
		}
	}
	m.b, m.n, m.m, m.seed = B, N, M, seed
	m.pHidden, m.pAttn = 0, 0
	if train {
		m.pHidden = float32(m.Config.HiddenDropoutProb)
		m.pAttn = float32(m.Config.AttentionProbsDropoutProb)
	}
	return nil
}

// encode runs embeddings -> LayerNorm -> dropout and the post-LN encoder
// layers on the prepared batch. With compact, the last layer runs its
// attention over all rows but everything after it over the M masked rows
// only (gathered to rows [0, M)): the other rows cannot reach the MLM loss.
func (m *Model) encode(compact bool) {
	N, C, F := m.n, m.c, m.f
	fn := &m.fn
	m.pool.For(N, fn.embed)
	m.pool.For(N, fn.embLN)
	m.opSeed = m.dropSeed(opEmbDrop)
	m.pool.For(N*C, fn.embDrop)
	in := m.embOut
	for l := range m.layers {
		a, lf := &m.layers[l], &fn.layers[l]
		a.compact = compact && l == len(m.layers)-1
		a.rows, a.ctxIn, a.resIn, a.dctx = N, a.ctx, in, m.dB
		m.pool.For(N, lf.qkv) // [N, C] -> [N, 3C]
		m.opSeed = m.layerSeed(l, opAttnDrop)
		m.pool.For(m.b*m.nh, lf.attn) // -> ctx [N, C]
		if a.compact {
			m.pool.For(m.m, lf.gatherCtx)
			m.pool.For(m.m, lf.gatherIn)
			a.rows, a.ctxIn, a.resIn, a.dctx = m.m, m.cCtx, m.cIn, m.dFull
		}
		R := a.rows
		m.pool.For(R, lf.proj)
		m.opSeed = m.layerSeed(l, opProjDrop)
		m.pool.For(R*C, lf.projDropAdd) // res1 = x + dropout(ctx Wo^T + bo)
		m.pool.For(R, lf.ln1)
		m.pool.For(R, lf.inter) // [R, C] -> [R, F]
		m.pool.For(R*F, lf.gelu)
		m.pool.For(R, lf.ffnOut) // [R, F] -> [R, C]
		m.opSeed = m.layerSeed(l, opFFNDrop)
		m.pool.For(R*C, lf.ffnDropAdd) // res2 = h1 + dropout(ffn)
		m.pool.For(R, lf.ln2)
		in = a.out
	}
}

// MaskedLogits returns the logits of the labelled positions of the last
// Forward, [M, V] in row-major (batch, position) order; the slice is the
// model's own buffer. (Backward leaves them: the logit gradient goes to a
// buffer of its own.)
func (m *Model) MaskedLogits() []float32 { return m.logits[:m.m*m.v] }

// MaskedRows returns the row indices (b*T + t) of the labelled positions of
// the last Forward; the slice is the model's own buffer.
func (m *Model) MaskedRows() []int32 { return m.rows[:m.m] }

// grad returns q's gradient slice, or nil when q is frozen.
func grad(q *nn.Param) []float32 {
	if q.RequiresGrad {
		return q.Grad
	}
	return nil
}

// Backward accumulates the gradient of the last Forward's mean loss into
// the Grad of every parameter with RequiresGrad (call ZeroGrad first to
// start fresh). Weight-gradient GEMMs of frozen parameters are skipped, and
// activation gradients are propagated only as deep as some parameter below
// needs them. The fused QKV weight and bias of a layer train as a unit: they
// get gradients if any of query, key, value (weight or bias) requires them.
// The logit gradient overwrites the softmax probabilities that Forward's
// cross-entropy kept for it, not the logits.
func (m *Model) Backward() error {
	if !m.forwardDone || !m.mlmDone {
		return errors.New("roberta: Backward without a successful Forward")
	}
	m.forwardDone, m.mlmDone = false, false
	M, C := m.m, m.c
	if M == 0 {
		return nil
	}
	P := m.Params
	fn := &m.fn
	m.ceScale = 1 / float32(M)

	// LM head.
	m.pool.For(M, fn.ceBack) // dlogits = (probs - onehot) / M, in place over probs
	if P.WordEmb.RequiresGrad || P.HeadBias.RequiresGrad {
		m.pool.For(m.v, fn.decoderParams) // tied decoder: into word_embeddings' grad
	}
	m.pool.For(M, fn.decoderInput)
	if P.HeadLN.RequiresGrad || P.HeadLNB.RequiresGrad {
		m.pool.For(C, fn.headLNParams)
	}
	m.pool.For(M, fn.headLNInput)
	m.pool.For(M*C, fn.headGeluBack)
	if P.HeadDense.RequiresGrad || P.HeadDenseB.RequiresGrad {
		m.pool.For(C, fn.headDenseParams)
	}
	if m.lowestTrainable() == len(m.layers) {
		return nil // nothing below the head trains
	}
	m.pool.For(M, fn.headDenseInput) // dA: gradient of the compact last layer's output
	m.backwardEncoder()
	return nil
}

// BackwardHidden accumulates into the parameter gradients the gradient of a
// loss whose derivative with respect to the last Encode's hidden states is
// dHidden [B*T, C]: the backward of Encode, for a task head. Frozen
// parameters are handled as in Backward. (After Forward, whose last layer
// computes only the masked rows, use Backward.)
func (m *Model) BackwardHidden(dHidden []float32) error {
	if !m.forwardDone || m.mlmDone {
		return errors.New("roberta: BackwardHidden without a successful Encode")
	}
	if len(dHidden) != m.n*m.c {
		return fmt.Errorf("roberta: BackwardHidden got %d values, want B*T*C = %d", len(dHidden), m.n*m.c)
	}
	m.forwardDone, m.mlmDone = false, false
	if m.lowestTrainable() == len(m.layers) {
		return nil
	}
	copy(m.dA, dHidden)
	m.backwardEncoder()
	return nil
}

// lowestTrainable returns -1 if an embedding parameter requires a gradient,
// else the index of the lowest layer with a parameter that does, else the
// number of layers.
func (m *Model) lowestTrainable() int {
	P := m.Params
	if P.WordEmb.RequiresGrad || P.PosEmb.RequiresGrad || P.TypeEmb.RequiresGrad ||
		P.EmbLN.RequiresGrad || P.EmbLNB.RequiresGrad {
		return -1
	}
	for l := range P.Layers {
		if layerNeedsGrad(&P.Layers[l]) {
			return l
		}
	}
	return len(P.Layers)
}

// backwardEncoder propagates dA (the gradient of the last layer's output)
// down through the layers and the embeddings, as deep as lowestTrainable.
func (m *Model) backwardEncoder() {
	N, C, F := m.n, m.c, m.f
	P := m.Params
	fn := &m.fn
	stop := m.lowestTrainable()
	for l := len(m.layers) - 1; l >= 0 && l >= stop; l-- {
		a, lf := &m.layers[l], &fn.layers[l]
		L := &P.Layers[l]
		R := a.rows // N, or M in Forward's compact last layer
		// Output LayerNorm: dRes = d res2 (flows to h1 and, through dropout, to the FFN).
		if L.OutLN.RequiresGrad || L.OutLNB.RequiresGrad {
			m.pool.For(C, lf.ln2Params)
		}
		m.pool.For(R, lf.ln2Input)
		m.opSeed = m.layerSeed(l, opFFNDrop)
		m.pool.For(R*C, lf.ffnDropBack) // dC = dropout'(dRes)
		if L.Out.RequiresGrad || L.OutBias.RequiresGrad {
			m.pool.For(C, lf.ffnOutParams)
		}
		m.pool.For(R, lf.ffnOutInput) // dFF = dC @ Wout
		m.pool.For(R*F, lf.geluBack)  // dFF = gelu'(pre) * dFF
		if L.Inter.RequiresGrad || L.InterBias.RequiresGrad {
			m.pool.For(F, lf.interParams)
		}
		m.pool.For(R, lf.interInput) // dC = dFF @ Winter + dRes (residual)
		// Attention-output LayerNorm.
		if L.AttnLN.RequiresGrad || L.AttnLNB.RequiresGrad {
			m.pool.For(C, lf.ln1Params)
		}
		m.pool.For(R, lf.ln1Input) // dRes = d res1
		m.opSeed = m.layerSeed(l, opProjDrop)
		m.pool.For(R*C, lf.projDropBack) // dC = dropout'(dRes)
		if L.AttnOut.RequiresGrad || L.AttnOutBias.RequiresGrad {
			m.pool.For(C, lf.projParams)
		}
		m.pool.For(R, lf.projInput) // dB = dC @ Wo  (d ctx)
		if a.compact {              // back to all N rows: dFull = scatter(dB)
			m.pool.For(N*C, lf.zeroFull)
			m.pool.For(m.m, lf.scatterCtx)
		}
		m.opSeed = m.layerSeed(l, opAttnDrop)
		m.pool.For(m.b*m.nh, lf.attnBack) // dQKV
		if qkvNeedsGrad(L) {
			m.pool.For(3*C, lf.qkvParams)
		}
		if l == stop { // nothing below needs a gradient
			return
		}
		m.pool.For(N, lf.qkvInput) // dA = dQKV @ Wqkv + dRes (residual)
		if a.compact {
			m.pool.For(m.m, lf.scatterRes) // the residual's masked rows
		}
	}
	// Embeddings: dropout, LayerNorm, lookup.
	m.opSeed = m.dropSeed(opEmbDrop)
	m.pool.For(N*C, fn.embDropBack) // dC = dropout'(dA)
	if P.EmbLN.RequiresGrad || P.EmbLNB.RequiresGrad {
		m.pool.For(C, fn.embLNParams)
	}
	m.pool.For(N, fn.embLNInput) // dRes = d embSum
	if P.WordEmb.RequiresGrad || P.PosEmb.RequiresGrad || P.TypeEmb.RequiresGrad {
		m.pool.For(C, fn.embedBack)
	}
}

func qkvNeedsGrad(L *Layer) bool {
	return L.Query.RequiresGrad || L.Key.RequiresGrad || L.Value.RequiresGrad ||
		L.QueryBias.RequiresGrad || L.KeyBias.RequiresGrad || L.ValueBias.RequiresGrad
}

func layerNeedsGrad(L *Layer) bool {
	return qkvNeedsGrad(L) || L.AttnOut.RequiresGrad || L.AttnOutBias.RequiresGrad ||
		L.AttnLN.RequiresGrad || L.AttnLNB.RequiresGrad || L.Inter.RequiresGrad ||
		L.InterBias.RequiresGrad || L.Out.RequiresGrad || L.OutBias.RequiresGrad ||
		L.OutLN.RequiresGrad || L.OutLNB.RequiresGrad
}
