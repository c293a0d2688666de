package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/roberta"
)

// writeTokens writes a token file of docs random documents over a tiny
// vocabulary (ids 5..vocab-1, lines ended by </s>).
func writeTokens(t *testing.T, path string, vocab, docs int, seed uint64) {
	t.Helper()
	w, err := dataset.Create(path, vocab)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for range docs {
		var ids []int32
		for range 1 + rng.IntN(3) {
			for range 3 + rng.IntN(12) {
				// a skewed distribution so there is something to learn
				ids = append(ids, int32(5+rng.IntN(1+rng.IntN(1+rng.IntN(vocab-5)))))
			}
			ids = append(ids, dataset.EOS)
		}
		if err := w.AppendDocument(ids); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// tinyOptions returns options for a fast run of the tiny preset in dir.
func tinyOptions(t *testing.T, data, out string) Options {
	t.Helper()
	cfg, err := roberta.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Config = cfg
	o.TrainFile = filepath.Join(data, "train.tok")
	o.ValidFile = filepath.Join(data, "valid.tok")
	o.MaskID = 4
	o.OutDir = out
	o.BatchSize, o.SeqLen = 4, 16
	o.Updates, o.WarmupUpdates = 12, 3
	o.PeakLR = 1e-3
	o.ValidEvery, o.SaveEvery = 4, 3
	o.ClipNorm = 1
	return o
}

func makeData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeTokens(t, filepath.Join(dir, "train.tok"), 100, 60, 1)
	writeTokens(t, filepath.Join(dir, "valid.tok"), 100, 10, 2)
	return dir
}

// sameFile fails unless the named file is byte-identical in two checkpoints.
func sameFile(t *testing.T, a, b, name string) {
	t.Helper()
	x, err := os.ReadFile(filepath.Join(a, name))
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(filepath.Join(b, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s differs between %s and %s", name, a, b)
	}
}

// TestResumeIsBitIdentical stops runs at an update (as Ctrl-C does: the
// context is cancelled and a checkpoint saved) or "kills" them (the run is
// abandoned and continued from its last periodic checkpoint), resumes them,
// and requires parameters and optimizer state bit-identical to a run that
// never stopped, for the standard and the forgetting arm, with dropout on.
func TestResumeIsBitIdentical(t *testing.T) {
	data := makeData(t)
	for _, forget := range []int{0, 4} {
		t.Run(map[int]string{0: "standard", 4: "forgetting"}[forget], func(t *testing.T) {
			base := t.TempDir()
			whole := tinyOptions(t, data, filepath.Join(base, "whole"))
			whole.ForgetEvery = forget
			if _, err := Run(context.Background(), whole); err != nil {
				t.Fatal(err)
			}

			// Ctrl-C after update 5, then resume.
			stopped := whole
			stopped.OutDir = filepath.Join(base, "stopped")
			ctx, cancel := context.WithCancel(context.Background())
			stopped.AfterUpdate = func(u int, _ float64) {
				if u == 5 {
					cancel()
				}
			}
			res, err := Run(ctx, stopped)
			if !errors.Is(err, checkpoint.ErrInterrupted) {
				t.Fatalf("interrupted run: err = %v, want checkpoint.ErrInterrupted", err)
			}
			if res.CheckpointDir == "" {
				t.Fatal("interrupted run saved no checkpoint")
			}
			stopped.AfterUpdate = nil
			res, err = Run(context.Background(), stopped)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Resumed || res.ResumedAtStart != 5 {
				t.Fatalf("resumed = %v at %d, want true at 5", res.Resumed, res.ResumedAtStart)
			}

			// Killed after update 7: copy the checkpoint as it stood (saved at
			// update 6) and continue from it.
			killed := whole
			killed.OutDir = filepath.Join(base, "killed")
			copyAt := whole
			copyAt.OutDir = filepath.Join(base, "running")
			copyAt.AfterUpdate = func(u int, _ float64) {
				if u == 7 {
					if out, err := exec.Command("cp", "-r", copyAt.OutDir, killed.OutDir).CombinedOutput(); err != nil {
						t.Fatalf("cp: %v %s", err, out)
					}
				}
			}
			if _, err := Run(context.Background(), copyAt); err != nil {
				t.Fatal(err)
			}
			res, err = Run(context.Background(), killed)
			if err != nil {
				t.Fatal(err)
			}
			if res.ResumedAtStart != 6 {
				t.Fatalf("killed run resumed at %d, want 6", res.ResumedAtStart)
			}

			want := filepath.Join(whole.OutDir, checkpoint.Last)
			for _, dir := range []string{stopped.OutDir, killed.OutDir} {
				got := filepath.Join(dir, checkpoint.Last)
				sameFile(t, want, got, checkpoint.ModelFile)
				sameFile(t, want, got, checkpoint.OptimizerFile)
				sameFile(t, want, got, checkpoint.OptimizerStateFile)
			}
		})
	}
}

// TestNonFiniteLossStopsAndKeepsCheckpoint trains with an absurd learning
// rate, so that the first update blows the weights up and a later loss is
// not finite, and expects a clear error naming the update and the
// checkpoint of the last good update left loadable.
func TestNonFiniteLossStopsAndKeepsCheckpoint(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	o.PeakLR, o.WarmupUpdates, o.ClipNorm, o.SaveEvery = 1e30, 0, 0, 1
	var finite []int
	o.AfterUpdate = func(u int, loss float64) { finite = append(finite, u) }
	_, err := Run(context.Background(), o)
	if err == nil {
		t.Fatal("want an error for a non-finite loss")
	}
	if len(finite) == 0 || len(finite) >= o.Updates {
		t.Fatalf("%d finite updates before the error; want some, not all", len(finite))
	}
	bad := len(finite) + 1
	for _, want := range []string{fmt.Sprintf("update %d", bad), "training stopped", checkpoint.Last} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	raw, err := checkpoint.LoadTrainer(filepath.Join(o.OutDir, checkpoint.Last))
	if err != nil {
		t.Fatal(err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.Update != bad-1 {
		t.Errorf("kept checkpoint is at update %d, want %d", st.Update, bad-1)
	}
}

func TestOptionsValidation(t *testing.T) {
	data := makeData(t)
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no train file", func(o *Options) { o.TrainFile = "" }, "no training token file"},
		{"missing train file", func(o *Options) { o.TrainFile = filepath.Join(data, "nope.tok") }, "nope.tok"},
		{"bad batch", func(o *Options) { o.BatchSize = 0 }, "batch size"},
		{"warmup too long", func(o *Options) { o.WarmupUpdates = 100 }, "warm-up"},
		{"mask outside vocab", func(o *Options) { o.MaskID = 100 }, "mask id 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tinyOptions(t, data, t.TempDir())
			tt.change(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestResumeRefusesOtherSettings: a checkpoint from a run with another seed
// is not silently continued.
func TestResumeRefusesOtherSettings(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	o.Updates = 3
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o.Seed++
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Fatalf("err = %v, want a refusal naming other settings", err)
	}
}

// TestPretrainLearns: on skewed synthetic data the tiny model's validation
// loss must fall below its starting point (ln 100 = 4.6).
func TestPretrainLearns(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	o.Updates, o.WarmupUpdates, o.ValidEvery, o.SaveEvery = 60, 5, 60, 60
	o.PeakLR = 3e-3
	tok := []byte("stand-in for a SentencePiece model")
	o.Tokenizer = filepath.Join(t.TempDir(), "t.model")
	if err := os.WriteFile(o.Tokenizer, tok, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !(res.ValidLoss < 4.0) {
		t.Errorf("validation loss after 60 updates = %v, want < 4.0 (uniform is 4.6)", res.ValidLoss)
	}
	if _, err := os.Stat(filepath.Join(o.OutDir, checkpoint.Best, checkpoint.ModelFile)); err != nil {
		t.Errorf("no best checkpoint: %v", err)
	}
	for _, c := range []string{checkpoint.Last, checkpoint.Best} {
		got, err := checkpoint.LoadFile(filepath.Join(o.OutDir, c), checkpoint.Tokenizer)
		if err != nil || !bytes.Equal(got, tok) {
			t.Errorf("%s/%s = %q, %v; want the tokenizer copied in", c, checkpoint.Tokenizer, got, err)
		}
	}
	metrics, err := os.ReadFile(filepath.Join(o.OutDir, checkpoint.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(metrics, []byte("\n")); n != 61 {
		t.Errorf("metrics.jsonl has %d lines, want 60 updates + 1 validation", n)
	}
}

// TestResumeRefusesOtherModel: a checkpoint of another model shape (here a
// different FFN size) is refused with the config key named.
func TestResumeRefusesOtherModel(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	o.Updates = 3
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o.Config.IntermediateSize *= 2
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "intermediate_size") || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("err = %v, want a refusal naming config.json and intermediate_size", err)
	}
}
