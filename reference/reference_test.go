package reference

import (
	"context"
	"encoding/json"
	"testing"
)

// TestBenchScriptRuns runs the PyTorch benchmark script on a tiny model and
// checks that it reports a throughput and a finite loss near ln(vocab).
func TestBenchScriptRuns(t *testing.T) {
	out, err := Run(context.Background(), "bench_torch.py", []string{"OPENBLAS_NUM_THREADS=1"},
		"--threads", "1", "--vocab", "50", "--hidden", "16", "--layers", "1", "--heads", "2", "--ffn", "32",
		"--batch", "2", "--seq", "16", "--warmup", "1", "--steps", "2")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		TokensPerS float64 `json:"tokens_per_s"`
		Loss       float64 `json:"loss"`
		PeakRSS    int64   `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("bad output %q: %v", out, err)
	}
	if r.TokensPerS <= 0 || r.PeakRSS <= 0 {
		t.Errorf("throughput %v, peak RSS %v: want both > 0", r.TokensPerS, r.PeakRSS)
	}
	// Fresh RoBERTa init gives near-uniform predictions: loss ~ ln(50) = 3.9.
	if r.Loss < 3 || r.Loss > 5 {
		t.Errorf("loss %v, want about ln(50) = 3.9", r.Loss)
	}
}

func TestRunUnknownScript(t *testing.T) {
	if _, err := Run(context.Background(), "nope.py", nil); err == nil {
		t.Fatal("want an error for a script that is not embedded")
	}
}
