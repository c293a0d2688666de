package head

import (
	"errors"
	"fmt"
	"math"

	"lethe/nn"
)

// Classification is Hugging Face's RobertaClassificationHead with its
// cross-entropy loss (RobertaForSequenceClassification, single-label):
//
//	x      = hidden[b*T+0]              the <s> row of example b    [B, C]
//	h      = tanh(dense(dropout(x)))    dense [C, C] + bias [C]
//	logits = out_proj(dropout(h))       out_proj [L, C] + bias [L]  [B, L]
//	loss   = mean over b of cross-entropy(logits[b], labels[b])
//
// Parameters: classifier.dense.weight, classifier.dense.bias,
// classifier.out_proj.weight, classifier.out_proj.bias.
type Classification struct {
	Dense, DenseBias, OutProj, OutProjBias *nn.Param

	core classCore[float32]
}

// NewClassification returns a head for hidden size hidden and numLabels
// classes, with buffers for batches of up to maxBatch examples and dropout
// probability dropout (Hugging Face's classifier_dropout, which defaults
// to hidden_dropout_prob). Its parameters are zero until Init.
func NewClassification(hidden, numLabels, maxBatch int, dropout float64) (*Classification, error) {
	if hidden < 1 || numLabels < 1 || maxBatch < 1 {
		return nil, fmt.Errorf("head: classification: hidden %d, labels %d, max batch %d: expected all >= 1", hidden, numLabels, maxBatch)
	}
	if !(dropout >= 0 && dropout < 1) {
		return nil, fmt.Errorf("head: classification: dropout %v: expected 0 <= p < 1", dropout)
	}
	h := &Classification{
		Dense:       newParam("classifier.dense.weight", hidden, hidden),
		DenseBias:   newParam("classifier.dense.bias", hidden),
		OutProj:     newParam("classifier.out_proj.weight", numLabels, hidden),
		OutProjBias: newParam("classifier.out_proj.bias", numLabels),
	}
	h.core = newClassCore[float32](hidden, numLabels, maxBatch, float32(dropout))
	h.core.wd, h.core.bd = h.Dense.Data, h.DenseBias.Data
	h.core.wo, h.core.bo = h.OutProj.Data, h.OutProjBias.Data
	return h, nil
}

// Init draws the parameters as Hugging Face's _init_weights: weights from
// N(0, std^2) (std is the config's initializer_range), biases 0. The draw
// depends only on seed and the tensor names.
func (h *Classification) Init(seed uint64, std float64) { initParams(h.Params(), seed, std) }

// Params returns the head's parameters in Hugging Face order.
func (h *Classification) Params() []*nn.Param {
	return []*nn.Param{h.Dense, h.DenseBias, h.OutProj, h.OutProjBias}
}

// Forward runs the head on the body's hidden states [B*T, C] (only rows
// b*T+0 are read) and returns the mean cross-entropy of labels [B] (each in
// [0, numLabels)). labels nil runs inference only and returns 0. train
// turns dropout on; the two dropout masks are deterministic functions of
// seed. The logits are then in Logits().
func (h *Classification) Forward(hidden []float32, B, T int, labels []int32, train bool, seed uint64) (loss float64, err error) {
	return h.core.forward(hidden, B, T, labels, train, seed)
}

// Logits returns the logits [B, numLabels] of the last Forward. The slice
// is the head's buffer, overwritten by the next Forward.
func (h *Classification) Logits() []float32 { return h.core.logits[:h.core.b*h.core.l] }

// Backward back-propagates the loss of the last Forward (which must have had
// labels): it zeroes dHidden [B*T, C], writes the gradient of the <s> rows
// b*T+0 into it, and adds the parameter gradients to the Grad of every
// parameter whose RequiresGrad is set.
func (h *Classification) Backward(dHidden []float32) error {
	c := &h.core
	c.gwd, c.gbd = grad(h.Dense), grad(h.DenseBias)
	c.gwo, c.gbo = grad(h.OutProj), grad(h.OutProjBias)
	return c.backward(dHidden)
}

// classCore is the classification head's arithmetic over element type F,
// with the buffers of one step. The weights and gradients are set by the
// owner (Classification: the float32 Params; the tests: float64 copies).
type classCore[F nn.Float] struct {
	c, l, maxB int
	p          F

	wd, bd, wo, bo     []F // dense [C, C], bias [C], out_proj [L, C], bias [L]
	gwd, gbd, gwo, gbo []F // their gradients (nil: frozen)

	x, xd, a, ad []F // [maxB, C]: <s> rows, after dropout, tanh(dense), after dropout
	logits       []F // [maxB, L]
	probs        []F // [maxB, L], softmax(logits)
	losses       []F // [maxB]
	dlog         []F // [maxB, L]
	d1, d2       []F // [maxB, C], gradients on the way back
	labels       []int32

	// The last forward: batch, sequence length, dropout on, its seed,
	// whether it had labels.
	b, t      int
	train     bool
	seed      uint64
	hasLabels bool
}

// newClassCore returns a core with the buffers of batches of up to maxB
// examples; the owner sets the weights (and, before backward, the
// gradients).
func newClassCore[F nn.Float](C, L, maxB int, p F) classCore[F] {
	return classCore[F]{
		c: C, l: L, maxB: maxB, p: p,
		x: make([]F, maxB*C), xd: make([]F, maxB*C), a: make([]F, maxB*C), ad: make([]F, maxB*C),
		logits: make([]F, maxB*L), probs: make([]F, maxB*L), losses: make([]F, maxB), dlog: make([]F, maxB*L),
		d1: make([]F, maxB*C), d2: make([]F, maxB*C), labels: make([]int32, maxB),
	}
}

// Dropout streams of a step: one seed per dropout op.
const (
	streamInputDropout = 1 // dropout on the <s> row, before dense
	streamDenseDropout = 2 // dropout after tanh, before out_proj
)

// forward is Classification.Forward over F.
func (c *classCore[F]) forward(hidden []F, B, T int, labels []int32, train bool, seed uint64) (float64, error) {
	c.hasLabels = false
	if err := checkBatch("classification", len(hidden), B, T, c.c, c.maxB, math.MaxInt); err != nil {
		return 0, err
	}
	if labels != nil && len(labels) != B {
		return 0, fmt.Errorf("head: classification: %d labels for a batch of %d", len(labels), B)
	}
	for i, y := range labels {
		if y < 0 || int(y) >= c.l {
			return 0, fmt.Errorf("head: classification: label %d (example %d): expected 0 to %d", y, i, c.l-1)
		}
	}
	C, L := c.c, c.l
	c.b, c.t, c.train, c.seed = B, T, train && c.p > 0, seed
	n := B * C
	for b := range B {
		copy(c.x[b*C:(b+1)*C], hidden[b*T*C:b*T*C+C])
	}
	if c.train {
		nn.DropoutForward(c.xd, c.x, c.p, mix(seed, streamInputDropout), 0, n)
	} else {
		copy(c.xd[:n], c.x[:n])
	}
	nn.LinearForward(c.a, c.xd, c.wd, c.bd, C, C, 0, B)
	nn.TanhForward(c.a, c.a, 0, n)
	if c.train {
		nn.DropoutForward(c.ad, c.a, c.p, mix(seed, streamDenseDropout), 0, n)
	} else {
		copy(c.ad[:n], c.a[:n])
	}
	nn.LinearForward(c.logits, c.ad, c.wo, c.bo, C, L, 0, B)
	if labels == nil {
		return 0, nil
	}
	copy(c.labels, labels)
	nn.CrossEntropyForward(c.losses, c.probs, c.logits, c.labels, L, 0, B)
	var sum float64
	for _, v := range c.losses[:B] {
		sum += float64(v)
	}
	c.hasLabels = true
	return sum / float64(B), nil
}

// backward is Classification.Backward over F, into the gradients gwd, gbd,
// gwo, gbo (nil ones are skipped).
func (c *classCore[F]) backward(dHidden []F) error {
	if !c.hasLabels {
		return errors.New("head: classification: backward without a forward with labels")
	}
	B, T, C, L := c.b, c.t, c.c, c.l
	if len(dHidden) != B*T*C {
		return fmt.Errorf("head: classification: backward: %d gradient values: expected B*T*C = %d", len(dHidden), B*T*C)
	}
	n := B * C
	nn.CrossEntropyBackward(c.dlog, c.probs, c.labels, 1/F(B), L, 0, B)
	nn.LinearBackwardParams(c.gwo, c.gbo, c.dlog, c.ad, B, C, L, 0, L)
	nn.LinearBackwardInput(c.d1, c.dlog, c.wo, C, L, 0, B) // d ad
	if c.train {
		nn.DropoutBackward(c.d1, c.d1, c.p, mix(c.seed, streamDenseDropout), 0, n) // d a
	}
	nn.TanhBackward(c.d1, c.a, c.d1, 0, n) // d (dense output)
	nn.LinearBackwardParams(c.gwd, c.gbd, c.d1, c.xd, B, C, C, 0, C)
	nn.LinearBackwardInput(c.d2, c.d1, c.wd, C, C, 0, B) // d xd
	if c.train {
		nn.DropoutBackward(c.d2, c.d2, c.p, mix(c.seed, streamInputDropout), 0, n) // d x
	}
	clear(dHidden)
	for b := range B {
		copy(dHidden[b*T*C:b*T*C+C], c.d2[b*C:(b+1)*C])
	}
	return nil
}
