package train

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/checkpoint"
)

// TestEvaluateMLMMatchesValidation: scoring the last checkpoint of a run on
// its validation file with the run's seed and batch gives the losses that
// the run's own last validation logged; another seed masks other positions.
func TestEvaluateMLMMatchesValidation(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	type validation struct {
		Update            int      `json:"update"`
		ValidLoss         *float64 `json:"valid_loss"`
		ValidMaskOnlyLoss *float64 `json:"valid_mask_only_loss"`
		ValidMaskOnlyAcc  *float64 `json:"valid_mask_only_acc"`
	}
	var last validation
	f, err := os.Open(filepath.Join(o.OutDir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var rec validation
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.ValidLoss != nil {
			last = rec
		}
	}
	if last.Update != o.Updates {
		t.Fatalf("last validation at update %d, want %d", last.Update, o.Updates)
	}
	dir := filepath.Join(o.OutDir, checkpoint.Last)
	s, err := EvaluateMLM(dir, o.ValidFile, o.MaskID, o.SeqLen, o.BatchSize, o.Threads, o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	if !same(s.Loss, *last.ValidLoss) || !same(s.MaskOnlyLoss, *last.ValidMaskOnlyLoss) || !same(s.MaskOnlyAcc, *last.ValidMaskOnlyAcc) {
		t.Errorf("EvaluateMLM = %+v; the run's last validation logged loss %v, mask-only %v (acc %v)",
			s, *last.ValidLoss, *last.ValidMaskOnlyLoss, *last.ValidMaskOnlyAcc)
	}
	if s.Sequences < 1 {
		t.Errorf("scored %d sequences", s.Sequences)
	}
	other, err := EvaluateMLM(dir, o.ValidFile, o.MaskID, o.SeqLen, o.BatchSize, o.Threads, o.Seed+1)
	if err != nil {
		t.Fatal(err)
	}
	if other.MaskOnlyLoss == s.MaskOnlyLoss {
		t.Error("another seed gave the same mask-only loss: the seed does not choose the positions")
	}

	// A token file of another vocabulary is refused, naming both sizes.
	otherVocab := filepath.Join(t.TempDir(), "valid.tok")
	writeTokens(t, otherVocab, 60, 10, 4)
	_, err = EvaluateMLM(dir, otherVocab, o.MaskID, o.SeqLen, o.BatchSize, o.Threads, o.Seed)
	if err == nil || !strings.Contains(err.Error(), "vocabulary size 60") {
		t.Errorf("scoring a 60-id token file: err = %v, want a refusal naming the sizes", err)
	}
}
