package roberta

import (
	"errors"
	"fmt"

	"lethe/internal/parallel"
	"lethe/nn"
)

// Model is a RobertaForMaskedLM with every activation buffer of a training
// step allocated once for batches of up to maxBatch sequences of SeqLen
// tokens. It is built as Hugging Face's module tree is, one type per
// sub-layer, each owning its parameters' views, its activations and a
// forward and a backward side by side:
//
//	embeddings                     embeddings.go
//	layers[l].attention            attention.go    (RobertaAttention: self-attention, then output)
//	layers[l].feedForward          feedforward.go  (RobertaIntermediate, then output)
//	  .output                      output.go       (RobertaSelfOutput, RobertaOutput)
//	head                           lmhead.go       (RobertaLMHead + cross-entropy)
//
// Forward and Backward do not allocate (after the LM-head buffers have grown
// to the largest number of masked positions seen): every kernel loop is a
// closure built once in New and run by the pool.
//
// A Model is not safe for concurrent use.
type Model struct {
	// Config is the model's configuration. Only the dropout probabilities
	// may be changed after New (they are read at every Forward).
	Config Config
	// Params holds the parameters and their gradients.
	Params *Params

	maxBatch    int
	s           step // the current batch, shared by the sub-layers
	g           grads
	forwardDone bool // a Forward or Encode succeeded and its activations are intact
	mlmDone     bool // ... and it was a Forward (the LM head ran)

	embeddings *embeddings
	layers     []layer
	head       *lmHead
}

// layer is RobertaLayer: attention, then the feed-forward over its output.
type layer struct {
	attention   *attention
	feedForward *feedForward
}

// grads holds the activation gradients of a backward pass. The backward
// visits one sub-layer at a time, so every sub-layer of every layer shares
// these buffers, each under names that say what they hold while it runs.
type grads struct {
	hidden []float32 // [N, C] d hidden states where the backward stands: a sub-layer's output on entry, its input on exit
	res    []float32 // [N, C] d a sub-layer's residual sum (its LayerNorm's input)
	branch []float32 // [N, C] d a sub-layer's branch output before dropout (a dense layer's output)
	ctx    []float32 // [N, C] d the attention context
	qkv    []float32 // [N, 3C] d the fused query/key/value projection
	inter  []float32 // [N, F] d the feed-forward's intermediate activations
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
	P, err := NewParams(cfg)
	if err != nil {
		return nil, err
	}
	N, C, F := maxBatch*seqLen, cfg.HiddenSize, cfg.IntermediateSize
	m := &Model{Config: cfg, Params: P, maxBatch: maxBatch, s: newStep(pool, maxBatch, seqLen)}
	m.g = grads{
		hidden: make([]float32, N*C),
		res:    make([]float32, N*C),
		branch: make([]float32, N*C),
		ctx:    make([]float32, N*C),
		qkv:    make([]float32, N*3*C),
		inter:  make([]float32, N*F),
	}
	m.embeddings = newEmbeddings(P, &m.s, &m.g, N)
	in := m.embeddings.out
	m.layers = make([]layer, cfg.NumHiddenLayers)
	for l := range m.layers {
		last := l == len(m.layers)-1
		a := newAttention(P, l, in, &m.s, &m.g, maxBatch, last)
		f := newFeedForward(P, l, a.output.out, &m.s, &m.g, maxBatch)
		m.layers[l] = layer{attention: a, feedForward: f}
		in = f.output.out
	}
	m.head = newLMHead(P, in, &m.s, &m.g, maxBatch)
	return m, nil
}

// MaxBatch is the largest batch Forward accepts.
func (m *Model) MaxBatch() int { return m.maxBatch }

// SeqLen is the length T of every sequence of a batch.
func (m *Model) SeqLen() int { return m.s.T }

// Init draws all parameters as Hugging Face does (see Params.Init).
func (m *Model) Init(seed uint64) { m.Params.Init(seed) }

// ResetWordEmbeddings redraws the token embedding matrix (see
// Params.ResetWordEmbeddings).
func (m *Model) ResetWordEmbeddings(seed uint64) { m.Params.ResetWordEmbeddings(seed) }

// ZeroGrad sets every parameter gradient to zero.
func (m *Model) ZeroGrad() { m.Params.ZeroGrad() }

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
	if err := m.s.prepare(&m.Config, ids, labels, B, m.maxBatch, train, seed); err != nil {
		return 0, 0, 0, err
	}
	m.head.grow(m.s.m)
	m.encode(true)
	m.forwardDone, m.mlmDone = true, true
	if m.s.m == 0 {
		return 0, 0, 0, nil
	}
	loss, correct = m.head.forward()
	return loss, correct, m.s.m, nil
}

// Encode runs only the embeddings and the encoder (no LM head) on a batch of
// B sequences, as Forward does, and returns the final hidden states [B*T, C]
// (row b*T+t), the input of a task head. The slice is the model's own buffer,
// valid until the next Forward or Encode. Follow with BackwardHidden to train.
func (m *Model) Encode(ids []int32, B int, train bool, seed uint64) ([]float32, error) {
	m.forwardDone, m.mlmDone = false, false
	if err := m.s.prepare(&m.Config, ids, nil, B, m.maxBatch, train, seed); err != nil {
		return nil, err
	}
	m.encode(false)
	m.forwardDone = true
	return m.layers[len(m.layers)-1].feedForward.output.out[:m.s.n*m.Config.HiddenSize], nil
}

// encode runs the embeddings and the post-LN encoder layers on the prepared
// batch. With compact, the last layer runs compact (see attention).
func (m *Model) encode(compact bool) {
	m.embeddings.forward()
	for l, L := range m.layers {
		L.attention.forward(compact && l == len(m.layers)-1)
		L.feedForward.forward(L.attention.rows)
	}
}

// MaskedLogits returns the logits of the labelled positions of the last
// Forward, [M, V] in row-major (batch, position) order; the slice is the
// model's own buffer. (Backward leaves them: the logit gradient goes to a
// buffer of its own.)
func (m *Model) MaskedLogits() []float32 { return m.head.logits[:m.s.m*m.Config.VocabSize] }

// MaskedRows returns the row indices (b*T + t) of the labelled positions of
// the last Forward; the slice is the model's own buffer.
func (m *Model) MaskedRows() []int32 { return m.s.rows[:m.s.m] }

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
	if m.s.m == 0 {
		return nil
	}
	stop := m.lowestTrainable()
	m.head.backward(stop < len(m.layers)) // into g.hidden: d the compact last layer's output
	m.backwardEncoder(stop)
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
	if n := m.s.n * m.Config.HiddenSize; len(dHidden) != n {
		return fmt.Errorf("roberta: BackwardHidden got %d values, want B*T*C = %d", len(dHidden), n)
	}
	m.forwardDone, m.mlmDone = false, false
	stop := m.lowestTrainable()
	if stop < len(m.layers) {
		copy(m.g.hidden, dHidden)
	}
	m.backwardEncoder(stop)
	return nil
}

// backwardEncoder is encode read in reverse: it propagates g.hidden (d the
// last layer's output) down through the layers and the embeddings, as deep
// as stop, the lowestTrainable.
func (m *Model) backwardEncoder(stop int) {
	for l := len(m.layers) - 1; l >= 0 && l >= stop; l-- {
		m.layers[l].feedForward.backward()
		m.layers[l].attention.backward(l > stop) // nothing below layer stop needs a gradient
	}
	if stop < 0 {
		m.embeddings.backward()
	}
}

// lowestTrainable returns -1 if an embedding parameter requires a gradient,
// else the index of the lowest layer with a parameter that does, else the
// number of layers.
func (m *Model) lowestTrainable() int {
	if m.embeddings.needsGrad() {
		return -1
	}
	for l, L := range m.layers {
		if L.attention.needsGrad() || L.feedForward.needsGrad() {
			return l
		}
	}
	return len(m.layers)
}

// grad returns q's gradient slice, or nil when q is frozen.
func grad(q *nn.Param) []float32 {
	if q.RequiresGrad {
		return q.Grad
	}
	return nil
}

// anyTrains reports whether one of qs requires a gradient.
func anyTrains(qs ...*nn.Param) bool {
	for _, q := range qs {
		if q.RequiresGrad {
			return true
		}
	}
	return false
}
