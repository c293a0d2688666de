// Package optim holds the optimizer of Lethe: AdamW with parameter groups (each with its own learning-rate
// schedule, weight decay, step counter and moments, and optionally frozen), the learning-rate schedules of
// RoBERTa pretraining and of active forgetting, and gradient clipping.
//
// The update follows torch.optim.AdamW exactly (decoupled weight decay p -= lr*wd*p, then the Adam step with
// bias correction), in float32 like PyTorch on float32 tensors. Active forgetting ("AdamEF") resets one
// group's moments and step counter with ResetGroup.
package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"lethe/nn"
)

// ForFunc runs fn over [0, n) split into ranges, possibly concurrently, and returns when all are done. It has
// the signature of (*parallel.Pool).For, whose method value can be passed directly.
type ForFunc func(n int, fn func(lo, hi int))

// Group is a set of parameters sharing a learning-rate schedule and weight decay. Name identifies the group
// (for ResetGroup, LR, and checkpoints). A frozen group is never updated and gets no moments.
type Group struct {
	Name        string
	Params      []*nn.Param
	Schedule    Schedule
	WeightDecay float64
	Frozen      bool
}

// NoWeightDecay reports whether the parameter with this Hugging Face name is exempt from weight decay:
// biases and LayerNorm weights, as in the usual RoBERTa/BERT recipe.
func NoWeightDecay(name string) bool {
	return strings.HasSuffix(name, "bias") || strings.Contains(name, "LayerNorm") || strings.Contains(name, "layer_norm")
}

// group is the optimizer's state for one Group.
type group struct {
	Group
	step  int
	m, v  [][]float32 // per parameter; nil when frozen
	decay []bool      // per parameter: weight decay applies
	offs  []int       // offs[i] is the first flat index of parameter i; offs[len(Params)] the total

	// Scalars of the current step, set by Step before the kernel runs.
	decayMul, b1, omb1, b2, omb2, stepSize, bc2Sqrt, eps float32

	kernel func(lo, hi int) // g.update, bound once so that Step does not allocate
}

// AdamW is the Adam optimizer with decoupled weight decay over named parameter groups.
type AdamW struct {
	beta1, beta2, eps float64
	groups            []*group
	byName            map[string]*group
	pfor              ForFunc
}

// NewAdamW builds the optimizer. Every group needs a distinct non-empty name and a schedule; a parameter may
// belong to one group only; parameters of non-frozen groups need Data and Grad of their shape's size.
func NewAdamW(groups []Group, beta1, beta2, eps float64) (*AdamW, error) {
	if !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) {
		return nil, fmt.Errorf("optim: invalid AdamW hyperparameters beta1=%v beta2=%v eps=%v", beta1, beta2, eps)
	}
	o := &AdamW{beta1: beta1, beta2: beta2, eps: eps, byName: map[string]*group{}}
	owner := map[*nn.Param]string{}
	names := map[string]string{}
	for _, gr := range groups {
		if gr.Name == "" {
			return nil, errors.New("optim: parameter group with empty name")
		}
		if _, dup := o.byName[gr.Name]; dup {
			return nil, fmt.Errorf("optim: duplicate parameter group %q", gr.Name)
		}
		if gr.Schedule == nil && !gr.Frozen {
			return nil, fmt.Errorf("optim: group %q has no schedule", gr.Name)
		}
		if gr.WeightDecay < 0 || math.IsNaN(gr.WeightDecay) {
			return nil, fmt.Errorf("optim: group %q: invalid weight decay %v", gr.Name, gr.WeightDecay)
		}
		g := &group{Group: gr}
		g.Params = append([]*nn.Param(nil), gr.Params...)
		g.offs = make([]int, len(g.Params)+1)
		g.decay = make([]bool, len(g.Params))
		for i, p := range g.Params {
			if p == nil {
				return nil, fmt.Errorf("optim: group %q: nil parameter", gr.Name)
			}
			if other, ok := owner[p]; ok {
				return nil, fmt.Errorf("optim: parameter %q is in both group %q and group %q", p.Name, other, gr.Name)
			}
			owner[p] = gr.Name
			if other, ok := names[p.Name]; ok {
				return nil, fmt.Errorf("optim: two parameters named %q (groups %q and %q)", p.Name, other, gr.Name)
			}
			names[p.Name] = gr.Name
			n := p.Numel()
			if !gr.Frozen && (len(p.Data) != n || len(p.Grad) != n) {
				return nil, fmt.Errorf("optim: group %q: parameter %q of shape %v has %d values and %d gradients, want %d",
					gr.Name, p.Name, p.Shape, len(p.Data), len(p.Grad), n)
			}
			g.offs[i+1] = g.offs[i] + n
			g.decay[i] = !NoWeightDecay(p.Name)
		}
		if !gr.Frozen {
			g.m = make([][]float32, len(g.Params))
			g.v = make([][]float32, len(g.Params))
			for i, p := range g.Params {
				g.m[i] = make([]float32, p.Numel())
				g.v[i] = make([]float32, p.Numel())
			}
		}
		g.kernel = g.update
		o.groups = append(o.groups, g)
		o.byName[gr.Name] = g
	}
	return o, nil
}

// SetFor makes Step split each group's update with f (for example (*parallel.Pool).For); nil runs it on the
// calling goroutine.
func (o *AdamW) SetFor(f ForFunc) { o.pfor = f }

// Hyper returns beta1, beta2 and eps.
func (o *AdamW) Hyper() (beta1, beta2, eps float64) { return o.beta1, o.beta2, o.eps }

// Groups returns the group names in construction order.
func (o *AdamW) Groups() []string {
	names := make([]string, len(o.groups))
	for i, g := range o.groups {
		names[i] = g.Name
	}
	return names
}

// lookup returns the named group or an error naming it.
func (o *AdamW) lookup(name string) (*group, error) {
	g, ok := o.byName[name]
	if !ok {
		return nil, fmt.Errorf("optim: no parameter group %q", name)
	}
	return g, nil
}

// GroupStep returns how many updates the named group has taken since creation or its last ResetGroup; this is
// the step its bias correction uses.
func (o *AdamW) GroupStep(name string) (int, error) {
	g, err := o.lookup(name)
	if err != nil {
		return 0, err
	}
	return g.step, nil
}

// LR returns the learning rate the named group uses at the given update (0 for a frozen group).
func (o *AdamW) LR(name string, update int) (float64, error) {
	g, err := o.lookup(name)
	if err != nil {
		return 0, err
	}
	if g.Frozen {
		return 0, nil
	}
	return g.Schedule.LR(update), nil
}

// ResetGroup zeroes the named group's moments and restarts its step counter at 0, so that its next update is
// bias-corrected like a first update. Active forgetting calls it when it re-initialises the embeddings.
func (o *AdamW) ResetGroup(name string) error {
	g, err := o.lookup(name)
	if err != nil {
		return err
	}
	g.step = 0
	for i := range g.m {
		clear(g.m[i])
		clear(g.v[i])
	}
	return nil
}

// Step applies one AdamW update, the global update number being update (1-based, passed to the schedules).
// It reads each parameter's Grad and changes Data; it does not clear gradients and does not allocate.
func (o *AdamW) Step(update int) {
	for _, g := range o.groups {
		if g.Frozen {
			continue
		}
		g.step++
		lr := g.Schedule.LR(update)
		bc1 := 1 - math.Pow(o.beta1, float64(g.step))
		bc2 := 1 - math.Pow(o.beta2, float64(g.step))
		g.decayMul = float32(1 - lr*g.WeightDecay)
		g.b1, g.omb1 = float32(o.beta1), float32(1-o.beta1)
		g.b2, g.omb2 = float32(o.beta2), float32(1-o.beta2)
		g.stepSize = float32(lr / bc1)
		g.bc2Sqrt = float32(math.Sqrt(bc2))
		g.eps = float32(o.eps)
		n := g.offs[len(g.Params)]
		if o.pfor != nil {
			o.pfor(n, g.kernel)
		} else {
			g.kernel(0, n)
		}
	}
}

// update applies the current step to the flat index range [lo, hi) of the group's concatenated parameters.
// Per element, as torch.optim.AdamW (PyTorch 1.13, single-tensor path, AVX2 kernels) on float32 tensors,
// including where PyTorch's vectorised kernels fuse a multiply-add, so that the results agree with PyTorch
// to the bit in the cross-check test:
//
//	p = p * (1 - lr*wd)                          (mul_)
//	m = fma(g, 1-b1, m*b1)                       (mul_, add_ with alpha)
//	v = fma((1-b2)*g, g, v*b2)                   (mul_, addcmul_)
//	p = p - (lr/bc1 * m) / (sqrt(v)/sqrt(bc2) + eps)   (addcdiv_)
func (g *group) update(lo, hi int) {
	// Binary search for the parameter holding index lo.
	i, j := 0, len(g.Params)
	for i < j {
		h := int(uint(i+j) >> 1)
		if g.offs[h+1] <= lo {
			i = h + 1
		} else {
			j = h
		}
	}
	for ; i < len(g.Params) && g.offs[i] < hi; i++ {
		base := g.offs[i]
		a, b := max(lo, base)-base, min(hi, g.offs[i+1])-base
		p := g.Params[i]
		data, grad, m, v := p.Data[a:b], p.Grad[a:b], g.m[i][a:b], g.v[i][a:b]
		grad, m, v = grad[:len(data)], m[:len(data)], v[:len(data)]
		if g.decay[i] && g.decayMul != 1 {
			dm := g.decayMul
			for k := range data {
				data[k] *= dm
			}
		}
		b1, omb1, b2, omb2 := g.b1, g.omb1, g.b2, g.omb2
		ss, bc2s, eps := g.stepSize, g.bc2Sqrt, g.eps
		for k, gr := range grad {
			mk := fma32(gr, omb1, float32(m[k]*b1))
			vk := fma32(float32(omb2*gr), gr, float32(v[k]*b2))
			m[k], v[k] = mk, vk
			denom := float32(float32(math.Sqrt(float64(vk)))/bc2s) + eps
			data[k] -= float32(float32(ss*mk) / denom)
		}
	}
}

// fma32 is a*b+c with one rounding of the exact a*b+c in float64 (a product of float32s is exact in float64)
// and one to float32; it differs from a true float32 fused multiply-add only in rare double-rounding cases.
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
