package head

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"lethe/nn"
	"lethe/reference"
)

// needTorch skips the test when /usr/bin/python3 cannot import torch.
func needTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(reference.Python, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipping the PyTorch cross-check: %s cannot import torch (%v); install Debian's python3-torch", reference.Python, err)
	}
}

// torchOut is what heads_reference.py prints.
type torchOut struct {
	Loss        float64              `json:"loss"`
	Logits      []float64            `json:"logits"`
	StartLogits []float64            `json:"start_logits"`
	EndLogits   []float64            `json:"end_logits"`
	Grads       map[string][]float64 `json:"grads"`
	HiddenGrad  []float64            `json:"hidden_grad"`
}

// runTorch writes in as JSON to a temporary file and runs the reference
// script on it.
func runTorch(t *testing.T, in map[string]any) torchOut {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "heads.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := reference.Run(context.Background(), "heads_reference.py", nil, path)
	if err != nil {
		t.Fatal(err)
	}
	var r torchOut
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("heads_reference.py printed %.200q: %v", out, err)
	}
	return r
}

// paramsJSON is the parameters as heads_reference.py reads them.
func paramsJSON(ps []*nn.Param) map[string]any {
	m := map[string]any{}
	for _, p := range ps {
		m[p.Name] = map[string]any{"shape": p.Shape, "data": p.Data}
	}
	return m
}

// agree fails when got differs from PyTorch's want by more than 1e-5
// relative to the largest |want|.
func agree(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, PyTorch has %d", what, len(got), len(want))
	}
	e := relErr(got, want)
	t.Logf("%s: relative difference %.1e", what, e)
	if e > 1e-5 {
		t.Errorf("%s differs from PyTorch by %.1e (relative to the largest value), want <= 1e-5", what, e)
	}
}

// TestHeadsMatchPyTorch runs both heads and heads_reference.py on the same
// weights and inputs and compares losses, logits and gradients.
func TestHeadsMatchPyTorch(t *testing.T) {
	needTorch(t)
	t.Run("classification", classificationMatchesPyTorch)
	t.Run("question answering", questionAnsweringMatchesPyTorch)
}

func classificationMatchesPyTorch(t *testing.T) {
	const B, T, C, L, p = 4, 5, 16, 3, 0.2
	const seed = 1234
	h, err := NewClassification(C, L, B, p)
	if err != nil {
		t.Fatal(err)
	}
	h.Init(3, 0.3)
	for i := range h.DenseBias.Data {
		h.DenseBias.Data[i] = 0.01 * float32(i%5)
	}
	h.OutProjBias.Data[1] = 0.2
	r := rand.New(rand.NewPCG(5, 5))
	hidden := randHidden(r, B*T*C)
	labels := []int32{2, 0, 1, 2}
	loss, err := h.Forward(hidden, B, T, labels, true, seed)
	if err != nil {
		t.Fatal(err)
	}
	dh := make([]float32, len(hidden))
	if err := h.Backward(dh); err != nil {
		t.Fatal(err)
	}
	// The head's dropout masks, as multipliers (0 or 1/(1-p)).
	mask := func(stream uint64) []float32 {
		m := make([]float32, B*C)
		for i := range m {
			m[i] = 1
		}
		nn.DropoutForward(m, m, float32(p), mix(seed, stream), 0, len(m))
		return m
	}
	m1, m2 := mask(streamInputDropout), mask(streamDenseDropout)
	dropped := 0
	for _, v := range append(m1, m2...) {
		if v == 0 {
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("no element dropped: the masks are not exercised")
	}
	ref := runTorch(t, map[string]any{
		"kind": "classification", "B": B, "T": T, "C": C, "hidden": hidden,
		"params": paramsJSON(h.Params()), "labels": labels, "mask_input": m1, "mask_dense": m2,
	})
	d := math.Abs(loss-ref.Loss) / ref.Loss
	t.Logf("loss %.7f, PyTorch %.7f: relative difference %.1e", loss, ref.Loss, d)
	if d > 1e-5 {
		t.Errorf("loss %g, PyTorch %g: relative difference %.1e", loss, ref.Loss, d)
	}
	agree(t, "logits", h.Logits(), ref.Logits)
	agree(t, "hidden gradient", dh, ref.HiddenGrad)
	for _, q := range h.Params() {
		agree(t, q.Name+" gradient", q.Grad, ref.Grads[q.Name])
	}
}

func questionAnsweringMatchesPyTorch(t *testing.T) {
	const B, T, C = 3, 7, 16
	h, err := NewQuestionAnswering(C, B, T)
	if err != nil {
		t.Fatal(err)
	}
	h.Init(4, 0.3)
	h.Bias.Data[0], h.Bias.Data[1] = 0.1, -0.2
	hidden := randHidden(rand.New(rand.NewPCG(6, 6)), B*T*C)
	starts, ends := []int32{2, -4, 9}, []int32{3, 6, 7} // -4 -> 0; 9 -> 7 and 7: ignored
	loss, err := h.Forward(hidden, B, T, starts, ends, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	dh := make([]float32, len(hidden))
	if err := h.Backward(dh); err != nil {
		t.Fatal(err)
	}
	ref := runTorch(t, map[string]any{
		"kind": "qa", "B": B, "T": T, "C": C, "hidden": hidden,
		"params": paramsJSON(h.Params()), "starts": starts, "ends": ends,
	})
	d := math.Abs(loss-ref.Loss) / ref.Loss
	t.Logf("loss %.7f, PyTorch %.7f: relative difference %.1e", loss, ref.Loss, d)
	if d > 1e-5 {
		t.Errorf("loss %g, PyTorch %g: relative difference %.1e", loss, ref.Loss, d)
	}
	agree(t, "start logits", h.StartLogits(), ref.StartLogits)
	agree(t, "end logits", h.EndLogits(), ref.EndLogits)
	agree(t, "hidden gradient", dh, ref.HiddenGrad)
	agree(t, "qa_outputs.weight gradient", h.Weight.Grad, ref.Grads["qa_outputs.weight"])
	// The bias gradient is zero up to rounding on both sides.
	for i, g := range h.Bias.Grad {
		if w := ref.Grads["qa_outputs.bias"][i]; math.Abs(float64(g)-w) > 1e-6 {
			t.Errorf("qa_outputs.bias gradient %d: %g, PyTorch %g", i, g, w)
		}
	}
}
