package optim

import (
	"math"

	"lethe/nn"
)

// GradNorm returns the global L2 norm of the gradients of the parameters that require them, accumulated in
// float64. It is NaN or +Inf if any gradient is.
func GradNorm(params []*nn.Param) float64 {
	var sum float64
	for _, p := range params {
		if !p.RequiresGrad {
			continue
		}
		for _, g := range p.Grad {
			x := float64(g)
			sum += x * x
		}
	}
	return math.Sqrt(sum)
}

// ClipGradNorm measures the global gradient norm (as GradNorm) and, when maxNorm > 0 and the norm exceeds it,
// scales every gradient by maxNorm/(norm+1e-6) as torch.nn.utils.clip_grad_norm_ does. maxNorm <= 0 only
// measures. A non-finite norm is returned without touching the gradients, so that the caller can skip the
// update (see Finite).
func ClipGradNorm(params []*nn.Param, maxNorm float64) (norm float64) {
	norm = GradNorm(params)
	if maxNorm <= 0 || !Finite(norm) || norm <= maxNorm {
		return norm
	}
	scale := float32(maxNorm / (norm + 1e-6))
	for _, p := range params {
		if !p.RequiresGrad {
			continue
		}
		for i := range p.Grad {
			p.Grad[i] *= scale
		}
	}
	return norm
}

// Finite reports whether x is neither NaN nor infinite; a gradient norm that is not finite means some gradient
// overflowed or is NaN, and the trainer should skip the update.
func Finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// GradsFinite reports whether every gradient of the parameters that require them is finite.
func GradsFinite(params []*nn.Param) bool {
	for _, p := range params {
		if !p.RequiresGrad {
			continue
		}
		for _, g := range p.Grad {
			if !Finite(float64(g)) {
				return false
			}
		}
	}
	return true
}
