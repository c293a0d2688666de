package optim

import (
	"testing"

	"lethe/internal/parallel"
	"lethe/nn"
)

// benchOptimizer builds a two-group AdamW over about 2M parameters (the size of the CPU-scale preset).
func benchOptimizer(b *testing.B) *AdamW {
	mk := func(name string, n int) *nn.Param {
		p := &nn.Param{Name: name, Shape: []int{n}, Data: make([]float32, n), Grad: make([]float32, n), RequiresGrad: true}
		for i := range p.Grad {
			p.Grad[i] = float32(i%17) * 1e-3
		}
		return p
	}
	o, err := NewAdamW([]Group{
		{Name: "body", Params: []*nn.Param{mk("body.weight", 900_000), mk("body.bias", 4096)}, Schedule: LinearSchedule{Peak: 7e-4, WarmupUpdates: 10, Total: 1 << 30}, WeightDecay: 0.01},
		{Name: "emb", Params: []*nn.Param{mk("emb.weight", 1_024_000)}, Schedule: ConstantSchedule{Rate: 7e-4}, WeightDecay: 0.01},
	}, 0.9, 0.98, 1e-6)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

func BenchmarkStepSerial(b *testing.B) {
	o := benchOptimizer(b)
	b.ReportAllocs()
	for i := 1; b.Loop(); i++ {
		o.Step(i)
	}
}

func BenchmarkStepPool2(b *testing.B) {
	o := benchOptimizer(b)
	pool := parallel.New(2)
	defer pool.Close()
	o.SetFor(pool.For)
	b.ReportAllocs()
	for i := 1; b.Loop(); i++ {
		o.Step(i)
	}
}
