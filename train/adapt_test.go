package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/roberta"
)

// loadParams reads a checkpoint's config and parameters.
func loadParams(t *testing.T, dir string) *roberta.Params {
	t.Helper()
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(dir, &cfg); err != nil {
		t.Fatal(err)
	}
	p, err := roberta.NewParams(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.LoadParams(dir, p.All()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLanguageAdaptation runs stage 2 on a second "language" (another
// vocabulary size) and checks what it must guarantee: the body and every
// other non-vocabulary tensor bit-identical to the pretrained checkpoint,
// new embeddings of the new vocabulary that were trained, an LM-head bias
// started from zero and trained, checkpoints at the chosen updates, and a
// token budget that really limits the data.
func TestLanguageAdaptation(t *testing.T) {
	data := makeData(t)
	pre := tinyOptions(t, data, t.TempDir())
	if _, err := Run(context.Background(), pre); err != nil {
		t.Fatal(err)
	}
	pretrained := filepath.Join(pre.OutDir, checkpoint.Last)

	other := t.TempDir()
	writeTokens(t, filepath.Join(other, "train.tok"), 60, 80, 3)
	writeTokens(t, filepath.Join(other, "valid.tok"), 60, 10, 4)
	o := tinyOptions(t, other, t.TempDir())
	o.Stage, o.InitFrom = StageLanguage, pretrained
	o.Config = roberta.Config{} // the shape must come from the checkpoint
	o.Updates, o.WarmupUpdates, o.SaveAt, o.MaxTokens = 10, 2, []int{2, 5}, 150
	var progress strings.Builder
	o.Progress = &progress
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "token budget 150") {
		t.Errorf("progress does not report the token budget:\n%s", progress.String())
	}

	before := loadParams(t, pretrained)
	after := loadParams(t, filepath.Join(o.OutDir, checkpoint.Last))
	if after.Config.VocabSize != 60 || after.WordEmb.Shape[0] != 60 || after.HeadBias.Shape[0] != 60 {
		t.Fatalf("adapted model has vocabulary %d (embeddings %v, bias %v), want 60",
			after.Config.VocabSize, after.WordEmb.Shape, after.HeadBias.Shape)
	}
	for _, p := range before.All() {
		if p.Name == before.WordEmb.Name || p.Name == before.HeadBias.Name {
			continue
		}
		q, ok := after.Param(p.Name)
		if !ok {
			t.Fatalf("adapted model lacks %s", p.Name)
		}
		if !slices.Equal(p.Data, q.Data) {
			t.Errorf("%s changed during language adaptation; the body must stay frozen", p.Name)
		}
	}
	// The embeddings were trained: they differ from the checkpoint at update 2,
	// which differs from a fresh draw with the run's seed.
	fresh, _ := roberta.NewParams(after.Config)
	fresh.Init(o.Seed)
	at2 := loadParams(t, filepath.Join(o.OutDir, checkpoint.At(2)))
	at5 := loadParams(t, filepath.Join(o.OutDir, checkpoint.At(5)))
	if slices.Equal(fresh.WordEmb.Data, at2.WordEmb.Data) || slices.Equal(at2.WordEmb.Data, at5.WordEmb.Data) ||
		slices.Equal(at5.WordEmb.Data, after.WordEmb.Data) {
		t.Error("token embeddings did not change between checkpoints 0, 2, 5 and 10")
	}
	nonzero := 0
	for _, v := range after.HeadBias.Data {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Error("LM-head bias was not trained")
	}
	// (The padding row is zero only when drawn: as in Hugging Face, the tied
	// decoder gives it a gradient, so training moves it.)
	if _, err := os.Stat(filepath.Join(o.OutDir, checkpoint.At(3))); err == nil {
		t.Error("a checkpoint was kept at update 3, which is not in SaveAt")
	}

	// A resume under another token budget is another run.
	o2 := o
	o2.MaxTokens = 300
	if _, err := Run(context.Background(), o2); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resuming with another token budget: err = %v, want a refusal", err)
	}
}

// TestKeepHeadBias: with KeepHeadBias the pretrained LM-head bias is loaded
// and stays bit-identical while the embeddings train; a vocabulary of
// another size is refused, naming both sizes.
func TestKeepHeadBias(t *testing.T) {
	data := makeData(t)
	pre := tinyOptions(t, data, t.TempDir())
	if _, err := Run(context.Background(), pre); err != nil {
		t.Fatal(err)
	}
	pretrained := filepath.Join(pre.OutDir, checkpoint.Last)
	before := loadParams(t, pretrained)

	o := tinyOptions(t, data, t.TempDir())
	o.Stage, o.InitFrom, o.KeepHeadBias = StageLanguage, pretrained, true
	o.Updates, o.WarmupUpdates = 6, 2
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	after := loadParams(t, filepath.Join(o.OutDir, checkpoint.Last))
	if !slices.Equal(before.HeadBias.Data, after.HeadBias.Data) {
		t.Error("LM-head bias changed; KeepHeadBias must keep the pretrained one")
	}
	if !slices.ContainsFunc(before.HeadBias.Data, func(v float32) bool { return v != 0 }) {
		t.Fatal("the pretrained bias is all zero: the test cannot tell kept from zeroed")
	}
	if slices.Equal(before.WordEmb.Data, after.WordEmb.Data) {
		t.Error("token embeddings were not re-drawn and trained")
	}

	other := t.TempDir()
	writeTokens(t, filepath.Join(other, "train.tok"), 60, 80, 3)
	o2 := tinyOptions(t, other, t.TempDir())
	o2.Stage, o2.InitFrom, o2.KeepHeadBias, o2.ValidFile = StageLanguage, pretrained, true, ""
	_, err := Run(context.Background(), o2)
	if err == nil || !strings.Contains(err.Error(), "vocabulary of") || !strings.Contains(err.Error(), "60") {
		t.Errorf("keeping the bias for a 60-piece vocabulary: err = %v, want a refusal naming the sizes", err)
	}
}

func TestLanguageAdaptationOptions(t *testing.T) {
	data := makeData(t)
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no checkpoint", func(o *Options) { o.Stage = StageLanguage }, "pretrained checkpoint"},
		{"forgetting", func(o *Options) { o.Stage, o.InitFrom, o.ForgetEvery = StageLanguage, "x", 4 }, "forget"},
		{"save-at beyond the run", func(o *Options) { o.SaveAt = []int{13} }, "save-at update 13"},
		{"negative budget", func(o *Options) { o.MaxTokens = -1 }, "max tokens"},
		{"keep head bias in pretraining", func(o *Options) { o.KeepHeadBias = true }, "only for language adaptation"},
		{"missing checkpoint", func(o *Options) { o.Stage, o.InitFrom = StageLanguage, "/nonexistent/ckpt" }, "/nonexistent/ckpt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tinyOptions(t, data, t.TempDir())
			tc.edit(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestInterruptBeforeFirstUpdate: a run cancelled before it trained at all
// saves a checkpoint that a rerun resumes from.
func TestInterruptBeforeFirstUpdate(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, o); !errors.Is(err, checkpoint.ErrInterrupted) {
		t.Fatalf("err = %v, want checkpoint.ErrInterrupted", err)
	}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Update != o.Updates {
		t.Errorf("rerun: resumed %v, update %d", res.Resumed, res.Update)
	}
}

// TestLanguageDrawIsNotThePretrainingInit adapts a body to its own
// vocabulary with its own seed, the case where drawing the fresh embeddings
// with Init(seed) would start them exactly where pretraining started its
// own, and checks that the draw is independent of that start (correlation
// near 0, not near 1), N(0, initializer_range) with the padding row zero.
func TestLanguageDrawIsNotThePretrainingInit(t *testing.T) {
	data := makeData(t)
	pre := tinyOptions(t, data, t.TempDir())
	if _, err := Run(context.Background(), pre); err != nil {
		t.Fatal(err)
	}
	o := tinyOptions(t, data, t.TempDir())
	o.Stage, o.InitFrom = StageLanguage, filepath.Join(pre.OutDir, checkpoint.Last)
	o.Config = roberta.Config{}
	o.Updates, o.WarmupUpdates, o.SaveAt, o.PeakLR = 2, 1, []int{1}, 1e-9 // one update that hardly moves them
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	drawn := loadParams(t, filepath.Join(o.OutDir, checkpoint.At(1))).WordEmb.Data
	start, err := roberta.NewParams(pre.Config)
	if err != nil {
		t.Fatal(err)
	}
	start.Init(pre.Seed)
	var dot, nd, ns, sq float64
	for i, d := range drawn {
		s := start.WordEmb.Data[i]
		dot, nd, ns, sq = dot+float64(d*s), nd+float64(d*d), ns+float64(s*s), sq+float64(d*d)
	}
	if r := dot / math.Sqrt(nd*ns); math.Abs(r) > 0.1 {
		t.Errorf("fresh embeddings correlate %.3f with the pretraining's initial ones; want an independent draw", r)
	}
	C := pre.Config.HiddenSize
	std := math.Sqrt(sq / float64(len(drawn)-C))
	if want := pre.Config.InitializerRange; math.Abs(std-want) > 0.1*want {
		t.Errorf("fresh embeddings have standard deviation %.4f, want %.4f", std, want)
	}
	pad := pre.Config.PadTokenID
	for _, v := range drawn[pad*C : (pad+1)*C] {
		if math.Abs(float64(v)) > 1e-6 { // zero, moved at most by the one tiny update
			t.Fatalf("padding row of the fresh embeddings holds %g, want 0", v)
		}
	}
}
