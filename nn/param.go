package nn

// Param is a model parameter under its Hugging Face name, with its gradient.
type Param struct {
	Name         string
	Shape        []int
	Data, Grad   []float32
	RequiresGrad bool
}

// Numel returns the number of elements of the parameter (the product of its shape).
func (p *Param) Numel() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}
