package finetune

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/internal/parallel"
)

// copyDir copies the files of a checkpoint directory (it has no
// subdirectories) to a new directory and returns it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// editConfig rewrites one key of a checkpoint's config.json.
func editConfig(t *testing.T, dir, key string, value any) {
	t.Helper()
	path := filepath.Join(dir, checkpoint.ConfigFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg[key] = value
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// taskModels fine-tunes a classifier (1 epoch) and a QA model from the
// fixture's base body and returns their checkpoint-best directories.
func taskModels(t *testing.T, f *fixture) (cls, qa string) {
	t.Helper()
	o := classOptions(f, t.TempDir())
	o.Epochs = 1
	r, err := Finetune(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Finetune(context.Background(), qaOptionsFor(f, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return r.BestDir, q.BestDir
}

// checkSpliced requires the spliced model in out to hold the embeddings of
// lang and every other tensor of the task model, lang's tokenizer and
// vocabulary, and the task spec with the language recorded.
func checkSpliced(t *testing.T, f *fixture, taskDir, lang, out, language string) {
	t.Helper()
	spliced, tuned, adapted := tensors(t, out), tensors(t, taskDir), tensors(t, lang)
	if len(spliced) != len(tuned) {
		t.Errorf("spliced model has %d tensors, the task model %d", len(spliced), len(tuned))
	}
	for name, want := range tuned {
		if name == wordEmb {
			want = adapted[name]
			if len(want) != f.deVocab*f.baseCfg.HiddenSize {
				t.Fatalf("adapted embeddings have %d values, want %d x %d", len(want), f.deVocab, f.baseCfg.HiddenSize)
			}
		}
		if got, ok := spliced[name]; !ok || !slices.Equal(got, want) {
			t.Errorf("spliced %s (present %v) is not the expected tensor", name, ok)
		}
	}
	deRaw, err := os.ReadFile(f.deTok)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(out, checkpoint.Tokenizer))
	if err != nil || string(tok) != string(deRaw) {
		t.Errorf("the spliced model does not carry the German tokenizer (%v)", err)
	}
	pool := parallel.New(1)
	defer pool.Close()
	m, err := Load(out, 2, pool)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadSpec(taskDir)
	if err != nil {
		t.Fatal(err)
	}
	want.Language = language
	if m.Spec.Language != language || m.Spec.BaseModelSHA256 != want.BaseModelSHA256 || m.Spec.Kind != want.Kind ||
		!slices.Equal(m.Spec.Labels, want.Labels) || m.Body.Config.VocabSize != f.deVocab {
		t.Errorf("spliced spec %+v (vocabulary %d); want %+v (vocabulary %d)", m.Spec, m.Body.Config.VocabSize, *want, f.deVocab)
	}
}

// TestSplice joins task models with German embeddings and checks the result
// tensor by tensor; the language defaults to the name of the adaptation run.
func TestSplice(t *testing.T) {
	f := shared(t)
	cls, qa := taskModels(t, f)
	tests := []struct {
		name, task, lang, want string
	}{
		{"classification", cls, "de", "de"},
		{"question answering", qa, "de", "de"},
		{"language from the run directory", cls, "", filepath.Base(filepath.Dir(f.adapted))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "spliced")
			if err := Splice(tc.task, f.adapted, out, SpliceOptions{Language: tc.lang}); err != nil {
				t.Fatal(err)
			}
			checkSpliced(t, f, tc.task, f.adapted, out, tc.want)
		})
	}

	// The spliced classifier reads German text with the German tokenizer.
	out := filepath.Join(t.TempDir(), "spliced")
	if err := Splice(cls, f.adapted, out, SpliceOptions{Language: "de"}); err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(1)
	defer pool.Close()
	m, err := Load(out, 4, pool)
	if err != nil {
		t.Fatal(err)
	}
	de := topicExamples(f.de[:6], 1)
	pred, err := m.PredictLabels(context.Background(), de)
	if err != nil || len(pred) != len(de) {
		t.Fatalf("predicting German labels: %d predictions, %v", len(pred), err)
	}
	row := make([]int32, m.Spec.MaxLength)
	m.encodeClassification(row, nil, nil, de[0].Text, "", false)
	wantIDs := m.Tok.EncodeIDs(de[0].Text)
	if n := min(len(wantIDs), len(row)-2); !slices.Equal(row[1:1+n], wantIDs[:n]) || slices.Max(row) >= int32(f.deVocab) {
		t.Errorf("the spliced model encodes German as %v; the German tokenizer gives %v", row, wantIDs)
	}
}

// TestSpliceRefuses checks that Splice refuses parts that do not belong
// together, naming what is wrong, and writes nothing then; Force joins
// embeddings adapted on another body.
func TestSpliceRefuses(t *testing.T) {
	f := shared(t)
	cls, _ := taskModels(t, f)

	narrow := copyDir(t, f.adapted)
	editConfig(t, narrow, "hidden_size", 16)
	wrongTok := copyDir(t, f.adapted)
	if err := os.WriteFile(filepath.Join(wrongTok, checkpoint.Tokenizer), f.enRaw, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, task, lang string
		want             []string
	}{
		{"hidden sizes differ", cls, narrow, []string{"hidden size 32", "differs from 16", narrow}},
		{"language dir is a task model", cls, cls, []string{cls, "is a task model, not a language-adapted checkpoint"}},
		{"adapted on another body", cls, f.adapted2, []string{f.adapted2, "same pretrained checkpoint", "--force"}},
		{"tokenizer is not the embeddings'", cls, wrongTok, []string{wrongTok, "do not belong together"}},
		{"task dir has no head", f.base, f.adapted, []string{f.base, "not a task model"}},
		{"language dir was not adapted", cls, f.base2, []string{f.base2, "not a language-adapted checkpoint"}},
		{"no language dir", cls, filepath.Join(t.TempDir(), "missing"), []string{"language model", "no such checkpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "spliced")
			err := Splice(tc.task, tc.lang, out, SpliceOptions{Language: "de"})
			if err == nil {
				t.Fatal("Splice succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a refused splice left %s (%v)", out, err)
			}
		})
	}

	out := filepath.Join(t.TempDir(), "forced")
	if err := Splice(cls, f.adapted2, out, SpliceOptions{Language: "de", Force: true}); err != nil {
		t.Fatalf("Force did not override the lineage check: %v", err)
	}
	checkSpliced(t, f, cls, f.adapted2, out, "de")
}

// TestSpliceOracle splices a task model with the embeddings and tokenizer of
// the very pretrained checkpoint it was fine-tuned from: every tensor comes
// back unchanged, so predictions (and with them any score) are the task
// model's own.
func TestSpliceOracle(t *testing.T) {
	f := shared(t)
	cls, _ := taskModels(t, f)
	out := filepath.Join(t.TempDir(), "oracle")
	if err := Splice(cls, f.base, out, SpliceOptions{Language: "en"}); err != nil {
		t.Fatalf("the oracle splice was refused: %v", err)
	}
	spliced, tuned := tensors(t, out), tensors(t, cls)
	if len(spliced) != len(tuned) {
		t.Fatalf("oracle has %d tensors, the task model %d", len(spliced), len(tuned))
	}
	for name, want := range tuned {
		if !slices.Equal(spliced[name], want) {
			t.Errorf("oracle %s differs from the task model's", name)
		}
	}
	pool := parallel.New(1)
	defer pool.Close()
	examples := topicExamples(f.en[:8], 1)
	var preds [2][]int
	for i, dir := range []string{cls, out} {
		m, err := Load(dir, 4, pool)
		if err != nil {
			t.Fatal(err)
		}
		if preds[i], err = m.PredictLabels(context.Background(), examples); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(preds[0], preds[1]) {
		t.Errorf("oracle predicts %v, the task model %v", preds[1], preds[0])
	}
}

// TestSpliceFresh splices freshly drawn embeddings: N(0, 0.02) with the
// padding row zero, the same for the same seed, different from the trained
// ones; every other tensor is the task model's.
func TestSpliceFresh(t *testing.T) {
	f := shared(t)
	cls, _ := taskModels(t, f)
	var embs [3][]float32
	for i, seed := range []uint64{7, 7, 8} {
		out := filepath.Join(t.TempDir(), "fresh")
		if err := Splice(cls, f.adapted, out, SpliceOptions{Language: "de", FreshSeed: seed}); err != nil {
			t.Fatal(err)
		}
		got := tensors(t, out)
		for name, want := range tensors(t, cls) {
			if name != wordEmb && !slices.Equal(got[name], want) {
				t.Errorf("fresh splice changed %s", name)
			}
		}
		embs[i] = got[wordEmb]
	}
	C := f.baseCfg.HiddenSize
	if len(embs[0]) != f.deVocab*C {
		t.Fatalf("fresh embeddings have %d values, want %d x %d", len(embs[0]), f.deVocab, C)
	}
	if !slices.Equal(embs[0], embs[1]) || slices.Equal(embs[0], embs[2]) {
		t.Error("fresh embeddings are not a function of the seed")
	}
	if slices.Equal(embs[0], tensors(t, f.adapted)[wordEmb]) {
		t.Error("fresh splice kept the adapted embeddings")
	}
	pad := f.baseCfg.PadTokenID
	var sum, sq float64
	for i, v := range embs[0] {
		if i/C == pad {
			if v != 0 {
				t.Fatalf("padding row value %v, want 0", v)
			}
			continue
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(embs[0]) - C)
	if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-f.baseCfg.InitializerRange) > 0.002 {
		t.Errorf("fresh embeddings have std %.4f, want %.3f", std, f.baseCfg.InitializerRange)
	}
}
