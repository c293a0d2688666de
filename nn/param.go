package nn

// Float is the element type of the ops: float32 for training, float64 for
// the finite-difference gradient checks.
type Float interface{ ~float32 | ~float64 }

// Param is one model parameter: its Hugging Face tensor name (for example
// "roberta.encoder.layer.0.attention.self.query.weight"), its shape, its
// values and its gradient. Parameters are always float32; a frozen parameter
// has RequiresGrad false and may have a nil Grad.
type Param struct {
	Name         string
	Shape        []int
	Data, Grad   []float32
	RequiresGrad bool
}

// Numel returns the number of elements, the product of Shape (1 for a
// scalar with an empty Shape).
func (p *Param) Numel() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}
