// Package head holds the task heads that Lethe fine-tunes on top of its
// RoBERTa body, as Hugging Face defines them: RobertaClassificationHead
// (sentence and sentence-pair classification from the <s> row) and the
// qa_outputs layer of RobertaForQuestionAnswering (start and end logits per
// token). Each head reads the body's final hidden states [B*T, C] (row b*T+t,
// as roberta.Model.Encode returns them), computes logits and the Hugging
// Face loss, and back-propagates into a gradient for those hidden states that
// roberta.Model.BackwardHidden takes.
//
// Parameters are float32 nn.Params under Hugging Face tensor names. The
// arithmetic is written once, generic over nn.Float: float32 at run time,
// float64 in the finite-difference tests. Every buffer is sized at
// construction (by the largest batch and sequence length), so a training step
// does not allocate.
package head

import (
	"fmt"
	"math"

	"lethe/internal/splitmix"
	"lethe/nn"
)

// splitmix is the SplitMix64 output function, a bijective 64-bit mixer.

// mix derives an independent 64-bit seed for stream from seed.
func mix(seed, stream uint64) uint64 { return splitmix.Stream(seed, stream) }

// hashName is the 64-bit FNV-1a hash of a tensor name, so that each tensor
// gets its own random stream.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// fillNormal sets x to draws from N(0, std^2), a stream determined by seed
// (Box-Muller on SplitMix64 uniforms).
func fillNormal(x []float32, seed uint64, std float64) {
	r := splitmix.Rand{S: seed}
	for i := range x {
		u1, u2 := r.Open01(), r.Open01()
		x[i] = float32(std * math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2))
	}
}

// initParams draws every parameter as Hugging Face's _init_weights does for
// Linear layers: weights (2-D) from N(0, std^2), biases 0; each tensor from
// its own stream derived from seed and its name.
func initParams(ps []*nn.Param, seed uint64, std float64) {
	for _, p := range ps {
		if len(p.Shape) == 2 {
			fillNormal(p.Data, mix(seed, hashName(p.Name)), std)
		} else {
			clear(p.Data)
		}
	}
}

// newParam returns a trainable float32 parameter with a gradient buffer.
func newParam(name string, shape ...int) *nn.Param {
	p := &nn.Param{Name: name, Shape: shape, RequiresGrad: true}
	n := p.Numel()
	p.Data, p.Grad = make([]float32, n), make([]float32, n)
	return p
}

// grad returns p's gradient buffer, or nil when p is frozen.
func grad(p *nn.Param) []float32 {
	if !p.RequiresGrad {
		return nil
	}
	return p.Grad
}

// checkBatch validates the shape of a head's input.
func checkBatch(what string, hidden int, B, T, C, maxBatch, maxT int) error {
	if B < 1 || B > maxBatch {
		return fmt.Errorf("head: %s: batch %d: expected 1 to %d", what, B, maxBatch)
	}
	if T < 1 || T > maxT {
		return fmt.Errorf("head: %s: sequence length %d: expected 1 to %d", what, T, maxT)
	}
	if hidden != B*T*C {
		return fmt.Errorf("head: %s: %d hidden values: expected B*T*C = %d*%d*%d = %d", what, hidden, B, T, C, B*T*C)
	}
	return nil
}
