package head

import (
	"errors"
	"fmt"

	"lethe/nn"
)

// QuestionAnswering is the qa_outputs layer of Hugging Face's
// RobertaForQuestionAnswering with its loss:
//
//	logits = qa_outputs(hidden)            weight [2, C] + bias [2]   [B*T, 2]
//	start  = logits[:, 0], end = logits[:, 1]                         [B, T] each
//	loss   = (CE(start, starts) + CE(end, ends)) / 2
//
// where starts and ends are clamped to [0, T], a position equal to T is
// ignored, and each cross-entropy is the mean over the examples not ignored
// (PyTorch's CrossEntropyLoss(ignore_index=T)). The Hugging Face model has
// no dropout of its own here. Parameters: qa_outputs.weight,
// qa_outputs.bias.
type QuestionAnswering struct {
	Weight, Bias *nn.Param

	core qaCore[float32]
}

// NewQuestionAnswering returns a head for hidden size hidden with buffers
// for batches of up to maxBatch sequences of up to seqLen tokens. Its
// parameters are zero until Init.
func NewQuestionAnswering(hidden, maxBatch, seqLen int) (*QuestionAnswering, error) {
	if hidden < 1 || maxBatch < 1 || seqLen < 1 {
		return nil, fmt.Errorf("head: question answering: hidden %d, max batch %d, sequence length %d: expected all >= 1", hidden, maxBatch, seqLen)
	}
	h := &QuestionAnswering{
		Weight: newParam("qa_outputs.weight", 2, hidden),
		Bias:   newParam("qa_outputs.bias", 2),
	}
	h.core = newQACore[float32](hidden, maxBatch, seqLen)
	h.core.w, h.core.bias = h.Weight.Data, h.Bias.Data
	return h, nil
}

// Init draws the parameters as Hugging Face's _init_weights: the weight
// from N(0, std^2), the bias 0, depending only on seed and the names.
func (h *QuestionAnswering) Init(seed uint64, std float64) { initParams(h.Params(), seed, std) }

// Params returns the head's parameters in Hugging Face order.
func (h *QuestionAnswering) Params() []*nn.Param { return []*nn.Param{h.Weight, h.Bias} }

// Forward computes the start and end logits from the body's hidden states
// [B*T, C] and returns the loss of the answer positions starts and ends [B]
// (token indices; values outside [0, T] are clamped, T is ignored; when
// every example of a side is ignored that side adds 0 where PyTorch would
// give NaN). starts and ends nil run inference only and return 0. train and
// seed are accepted for the same call shape as Classification.Forward; the
// Hugging Face head has no dropout, so they change nothing. hidden must not
// change before Backward, which reads it.
func (h *QuestionAnswering) Forward(hidden []float32, B, T int, starts, ends []int32, train bool, seed uint64) (loss float64, err error) {
	return h.core.forward(hidden, B, T, starts, ends)
}

// StartLogits returns the start logits [B, T] of the last Forward (the
// head's buffer, overwritten by the next Forward).
func (h *QuestionAnswering) StartLogits() []float32 { return h.core.start[:h.core.b*h.core.t] }

// EndLogits returns the end logits [B, T] of the last Forward.
func (h *QuestionAnswering) EndLogits() []float32 { return h.core.end[:h.core.b*h.core.t] }

// Backward back-propagates the loss of the last Forward (which must have had
// positions), once per Forward: it overwrites dHidden [B*T, C] with the gradient of the hidden
// states and adds the parameter gradients to the Grad of every parameter
// whose RequiresGrad is set.
func (h *QuestionAnswering) Backward(dHidden []float32) error {
	h.core.gw, h.core.gb = grad(h.Weight), grad(h.Bias)
	return h.core.backward(dHidden)
}

// qaCore is the question-answering head's arithmetic over element type F,
// with the buffers of one step.
type qaCore[F nn.Float] struct {
	c, maxB, maxT int

	w, bias []F // [2, C], [2]
	gw, gb  []F // their gradients (nil: frozen)

	logits       []F // [maxB*maxT, 2], interleaved start/end; reused as their gradient
	start, end   []F // [maxB, maxT]
	pStart, pEnd []F // softmax of start, end
	losses       []F // [maxB]
	ts, te       []int32

	hidden    []F // the last forward's input
	b, t      int
	nS, nE    int // examples not ignored
	hasLabels bool
}

// newQACore returns a core with the buffers of batches of up to maxB
// sequences of up to maxT tokens; the owner sets the weights.
func newQACore[F nn.Float](C, maxB, maxT int) qaCore[F] {
	n := maxB * maxT
	return qaCore[F]{
		c: C, maxB: maxB, maxT: maxT,
		logits: make([]F, 2*n), start: make([]F, n), end: make([]F, n), pStart: make([]F, n), pEnd: make([]F, n),
		losses: make([]F, maxB), ts: make([]int32, maxB), te: make([]int32, maxB),
	}
}

// targets clamps positions to [0, T] into dst, marks T (ignored) as -1 and
// returns how many are kept.
func targets(dst, pos []int32, T int) int {
	kept := 0
	for i, p := range pos {
		p = min(max(p, 0), int32(T))
		if int(p) == T {
			dst[i] = -1
			continue
		}
		dst[i] = p
		kept++
	}
	return kept
}

// forward is QuestionAnswering.Forward over F.
func (c *qaCore[F]) forward(hidden []F, B, T int, starts, ends []int32) (float64, error) {
	c.hasLabels = false
	if err := checkBatch("question answering", len(hidden), B, T, c.c, c.maxB, c.maxT); err != nil {
		return 0, err
	}
	if (starts == nil) != (ends == nil) || (starts != nil && (len(starts) != B || len(ends) != B)) {
		return 0, fmt.Errorf("head: question answering: %d start and %d end positions for a batch of %d: expected both or neither", len(starts), len(ends), B)
	}
	c.b, c.t, c.hidden = B, T, hidden
	N := B * T
	nn.LinearForward(c.logits, hidden, c.w, c.bias, c.c, 2, 0, N)
	for i := range N {
		c.start[i], c.end[i] = c.logits[2*i], c.logits[2*i+1]
	}
	if starts == nil {
		return 0, nil
	}
	c.nS, c.nE = targets(c.ts, starts, T), targets(c.te, ends, T)
	mean := func(probs, logits []F, tgt []int32, kept int) float64 {
		if kept == 0 {
			return 0
		}
		nn.CrossEntropyForward(c.losses, probs, logits, tgt[:B], T, 0, B)
		var s float64
		for _, v := range c.losses[:B] {
			s += float64(v)
		}
		return s / float64(kept)
	}
	loss := (mean(c.pStart, c.start, c.ts, c.nS) + mean(c.pEnd, c.end, c.te, c.nE)) / 2
	c.hasLabels = true
	return loss, nil
}

// backward is QuestionAnswering.Backward over F, into the gradients gw, gb
// (nil ones are skipped).
func (c *qaCore[F]) backward(dHidden []F) error {
	if !c.hasLabels {
		return errors.New("head: question answering: backward without a forward with positions")
	}
	B, T, C := c.b, c.t, c.c
	N := B * T
	if len(dHidden) != N*C {
		return fmt.Errorf("head: question answering: backward: %d gradient values: expected B*T*C = %d", len(dHidden), N*C)
	}
	// d start and d end overwrite the probabilities (CrossEntropyBackward
	// allows dlogits to alias probs), then interleave into logits.
	side := func(probs []F, tgt []int32, kept int) {
		if kept == 0 {
			clear(probs[:N])
			return
		}
		nn.CrossEntropyBackward(probs, probs, tgt[:B], 1/(2*F(kept)), T, 0, B)
	}
	side(c.pStart, c.ts, c.nS)
	side(c.pEnd, c.te, c.nE)
	for i := range N {
		c.logits[2*i], c.logits[2*i+1] = c.pStart[i], c.pEnd[i]
	}
	c.hasLabels = false // the probabilities are gone
	nn.LinearBackwardParams(c.gw, c.gb, c.logits, c.hidden, N, C, 2, 0, 2)
	nn.LinearBackwardInput(dHidden, c.logits, c.w, C, 2, 0, N)
	return nil
}
