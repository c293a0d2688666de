package roberta_test

import (
	"fmt"

	"lethe/internal/parallel"
	"lethe/roberta"
)

// One masked-LM training step on the tiny preset: Forward with dropout,
// Backward into the flat gradient buffer (an optimizer would then update
// Params.Data from Params.Grad).
func Example() {
	cfg, err := roberta.Preset("tiny")
	if err != nil {
		panic(err)
	}
	pool := parallel.New(2)
	defer pool.Close()
	const B, T = 2, 8
	m, err := roberta.New(cfg, B, T, pool)
	if err != nil {
		panic(err)
	}
	m.Init(1)

	// <s> tokens </s>, the second sequence padded; two positions labelled.
	ids := []int32{0, 17, 42, 9, 23, 51, 8, 2, 0, 33, 12, 2, 1, 1, 1, 1}
	labels := make([]int32, len(ids))
	for i := range labels {
		labels[i] = -100
	}
	labels[2], labels[9] = 42, 33

	m.ZeroGrad()
	loss, correct, masked, err := m.Forward(ids, labels, B, true, 7)
	if err != nil {
		panic(err)
	}
	if err := m.Backward(); err != nil {
		panic(err)
	}
	fmt.Printf("masked %d, correct %d, loss near ln(V): %v\n", masked, correct, loss > 4 && loss < 5.3)
	fmt.Println(len(m.Params.All()), "tensors,", m.Params.NumParams(), "parameters")
	// Output:
	// masked 2, correct 0, loss near ln(V): true
	// 42 tensors, 22180 parameters
}
