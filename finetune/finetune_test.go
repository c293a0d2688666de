package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"lethe/checkpoint"
	"lethe/internal/parallel"
	"lethe/metric"
	"lethe/qa"
	"lethe/task"
)

const wordEmb = "roberta.embeddings.word_embeddings.weight"

// TestFinetuneClassification runs the topic task to the end and checks what
// task adaptation guarantees: the token embeddings are bit-identical to the
// pretrained body's and the unused LM head is not in the checkpoint, while
// the body's weights and the new head were trained; checkpoint-best has the
// Hugging Face keys of a sequence classifier; task.json and the weights
// round-trip through Load, and the loaded model scores the dev set exactly
// as the run reported.
func TestFinetuneClassification(t *testing.T) {
	f := shared(t)
	o := classOptions(f, t.TempDir())
	res, err := Finetune(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Updates != 6 || res.TrainExamples != 12 || res.DevMetric != "accuracy" || res.ResumedAt != 0 ||
		res.BestDir != filepath.Join(o.OutDir, checkpoint.Best) || res.BestUpdate != 3 && res.BestUpdate != 6 {
		t.Errorf("result %+v: want 6 updates over 12 examples, best at the end of epoch 1 or 2", *res)
	}

	base := tensors(t, f.base)
	for _, dir := range []string{res.BestDir, filepath.Join(o.OutDir, checkpoint.Last)} {
		tuned := tensors(t, dir)
		if !slices.Equal(tuned[wordEmb], base[wordEmb]) {
			t.Errorf("%s: fine-tuning changed the token embeddings", dir)
		}
		for name := range tuned {
			if strings.HasPrefix(name, "lm_head.") {
				t.Errorf("%s holds %s: a task model has no LM head", dir, name)
			}
		}
		for name, v := range base {
			if strings.HasPrefix(name, "lm_head.") {
				continue
			}
			w, ok := tuned[name]
			switch {
			case !ok:
				t.Errorf("%s lacks the body tensor %s", dir, name)
			// Every weight matrix is trained (and decayed); biases that get
			// no gradient (attention keys) may stay.
			case name != wordEmb && strings.HasSuffix(name, "dense.weight") && slices.Equal(v, w):
				t.Errorf("%s: %s was not trained", dir, name)
			}
		}
	}

	// The head was trained: it differs from the head that the same seed
	// initialises.
	pool := parallel.New(1)
	defer pool.Close()
	fresh, err := New(f.baseCfg, o.Spec, f.enRaw, 1, pool)
	if err != nil {
		t.Fatal(err)
	}
	fresh.Cls.Init(o.Seed, f.baseCfg.InitializerRange)
	best := tensors(t, res.BestDir)
	for _, p := range fresh.HeadParams() {
		if w, ok := best[p.Name]; !ok || slices.Equal(p.Data, w) {
			t.Errorf("head tensor %s missing or untrained (present %v)", p.Name, ok)
		}
	}

	// config.json: a RobertaForSequenceClassification with the labels.
	raw, err := os.ReadFile(filepath.Join(res.BestDir, checkpoint.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Architectures []string          `json:"architectures"`
		ID2Label      map[string]string `json:"id2label"`
		Label2ID      map[string]int    `json:"label2id"`
		NumLabels     int               `json:"num_labels"`
		VocabSize     int               `json:"vocab_size"`
		HiddenSize    int               `json:"hidden_size"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Architectures, []string{"RobertaForSequenceClassification"}) ||
		!reflect.DeepEqual(cfg.ID2Label, map[string]string{"0": "short", "1": "long"}) ||
		!reflect.DeepEqual(cfg.Label2ID, map[string]int{"short": 0, "long": 1}) || cfg.NumLabels != 2 ||
		cfg.VocabSize != f.enVocab || cfg.HiddenSize != f.baseCfg.HiddenSize {
		t.Errorf("config.json: %s", raw)
	}
	tokInCkpt, err := os.ReadFile(filepath.Join(res.BestDir, checkpoint.Tokenizer))
	if err != nil || string(tokInCkpt) != string(f.enRaw) {
		t.Errorf("checkpoint-best does not carry the pretrained body's tokenizer (%v)", err)
	}

	// task.json round-trips: the spec, with the pretrained body's hash.
	m, err := Load(res.BestDir, 4, pool)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := checkpoint.ModelHash(f.base)
	if err != nil {
		t.Fatal(err)
	}
	want := o.Spec
	want.BaseModelSHA256 = hash
	if !reflect.DeepEqual(m.Spec, want) {
		t.Errorf("loaded spec %+v\nwant %+v", m.Spec, want)
	}
	for _, p := range m.Params() {
		if !slices.Equal(p.Data, best[p.Name]) {
			t.Errorf("loaded %s differs from the file", p.Name)
		}
	}
	pred, err := m.PredictLabels(context.Background(), o.Dev)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, ex := range o.Dev {
		if m.Spec.Labels[pred[i]] == ex.Label {
			correct++
		}
	}
	if acc := 100 * float64(correct) / float64(len(o.Dev)); acc != res.BestDev {
		t.Errorf("loaded checkpoint-best scores %v on dev; the run reported %v", acc, res.BestDev)
	}
}

// cancelOnUpdate is a progress writer that cancels a run's context when the
// progress bar first reports an update. The bar prints at its first update
// and then at most every 30 seconds, so a run using it stops after exactly
// one update (the loop checks the context before each update).
type cancelOnUpdate struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (c *cancelOnUpdate) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.HasPrefix(string(p), "finetune [") {
		c.cancel()
	}
	return len(p), nil
}

// TestFinetuneResumeIsBitIdentical interrupts a run before its first
// update, after update 1 (mid-epoch), after update 2 and after update 3
// (the end of epoch 1, after its dev evaluation), resuming each time, and
// requires the final and the best model and the optimizer state to be
// bit-identical to those of a run that never stopped, with dropout on.
func TestFinetuneResumeIsBitIdentical(t *testing.T) {
	f := shared(t)
	whole := classOptions(f, t.TempDir())
	if _, err := Finetune(context.Background(), whole); err != nil {
		t.Fatal(err)
	}

	o := classOptions(f, t.TempDir())
	for i, wantAt := range []int{0, 1, 2, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		o.Progress = &cancelOnUpdate{cancel: cancel}
		if i == 0 {
			cancel()
		}
		_, err := Finetune(ctx, o)
		cancel()
		if !errors.Is(err, checkpoint.ErrInterrupted) {
			t.Fatalf("interruption %d: error %v; want ErrInterrupted", i, err)
		}
		var st state
		raw, err := checkpoint.LoadTrainer(filepath.Join(o.OutDir, checkpoint.Last))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Update != wantAt {
			t.Fatalf("interruption %d saved update %d; want %d", i, st.Update, wantAt)
		}
	}

	// Other settings are refused rather than mixed into the run.
	other := o
	other.Progress, other.PeakLR = nil, 2e-3
	if _, err := Finetune(context.Background(), other); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resuming with another learning rate: %v", err)
	}

	o.Progress = nil
	res, err := Finetune(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedAt != 3 || res.Updates != 6 {
		t.Errorf("resumed at %d, ended at %d; want 3 and 6", res.ResumedAt, res.Updates)
	}
	for _, c := range []struct{ dir, file string }{
		{checkpoint.Last, checkpoint.ModelFile},
		{checkpoint.Last, checkpoint.OptimizerFile},
		{checkpoint.Best, checkpoint.ModelFile},
	} {
		if !sameFile(t, filepath.Join(whole.OutDir, c.dir), filepath.Join(o.OutDir, c.dir), c.file) {
			t.Errorf("%s/%s differs between the interrupted and the uninterrupted run", c.dir, c.file)
		}
	}
}

// TestFinetuneUnknownLabel checks that a training or dev example whose label
// is not among Spec.Labels stops the run with an error naming its line.
func TestFinetuneUnknownLabel(t *testing.T) {
	f := shared(t)
	tests := []struct {
		name string
		edit func(*Options)
		want []string
	}{
		{"train", func(o *Options) { o.Train[2].Label = "medium" }, []string{"training example", "line 3", `"medium"`}},
		{"dev", func(o *Options) { o.Dev[4].Label = "tiny" }, []string{"dev example", "line 5", `"tiny"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := classOptions(f, t.TempDir())
			o.Epochs = 1
			tc.edit(&o)
			_, err := Finetune(context.Background(), o)
			if err == nil {
				t.Fatal("an unknown label was accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestFinetuneOptionsValidation checks that unusable options are refused
// before any work.
func TestFinetuneOptionsValidation(t *testing.T) {
	f := shared(t)
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no from", func(o *Options) { o.From = "" }, "no pretrained checkpoint"},
		{"no out", func(o *Options) { o.OutDir = "" }, "no output directory"},
		{"no epochs", func(o *Options) { o.Epochs = 0 }, "epochs 0"},
		{"no learning rate", func(o *Options) { o.PeakLR = 0 }, "learning rate 0"},
		{"warm-up 1", func(o *Options) { o.WarmupFraction = 1 }, "warm-up fraction 1"},
		{"no dev", func(o *Options) { o.Dev = nil }, "training and dev examples (have 12 and 0)"},
		{"QA without questions", func(o *Options) { o.Spec = qaOptionsFor(f, "").Spec }, "training and dev questions"},
		{"bad spec", func(o *Options) { o.Spec.Labels = []string{"short"} }, "at least 2 labels"},
		{"missing checkpoint", func(o *Options) { o.From = filepath.Join(t.TempDir(), "nothing") }, "no such checkpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := classOptions(f, t.TempDir())
			tc.edit(&o)
			if _, err := Finetune(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want %q", err, tc.want)
			}
		})
	}
}

// TestFinetuneQA runs the third-word QA task and checks that the model
// answers every question (an empty answer counts) with a substring of its
// context, also over contexts that need several windows, and that the
// loaded checkpoint-best reproduces the reported dev F1.
func TestFinetuneQA(t *testing.T) {
	f := shared(t)
	o := qaOptionsFor(f, t.TempDir())
	res, err := Finetune(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.DevMetric != "f1" || res.Updates < 3 || res.TrainExamples < len(o.TrainQA) {
		t.Errorf("result %+v: want F1 selection, at least 3 updates over at least %d windows", *res, len(o.TrainQA))
	}
	raw, err := os.ReadFile(filepath.Join(res.BestDir, checkpoint.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if a, _ := cfg["architectures"].([]any); len(a) != 1 || a[0] != "RobertaForQuestionAnswering" || cfg["id2label"] != nil {
		t.Errorf("config.json of a QA model: %s", raw)
	}
	if tuned := tensors(t, res.BestDir); !slices.Equal(tuned[wordEmb], tensors(t, f.base)[wordEmb]) {
		t.Error("QA fine-tuning changed the token embeddings")
	}

	pool := parallel.New(1)
	defer pool.Close()
	m, err := Load(res.BestDir, 3, pool)
	if err != nil {
		t.Fatal(err)
	}
	if m.QA == nil || m.Cls != nil || m.Spec.Kind != QuestionAnswering {
		t.Fatalf("loaded a %s model with heads cls=%v qa=%v", m.Spec.Kind, m.Cls != nil, m.QA != nil)
	}
	if _, err := m.PredictLabels(context.Background(), nil); err == nil {
		t.Error("PredictLabels on a QA model did not fail")
	}
	preds, err := m.PredictAnswers(context.Background(), o.DevQA)
	if err != nil {
		t.Fatal(err)
	}
	golds := map[string][]string{}
	for _, ex := range o.DevQA {
		golds[ex.ID] = []string{ex.Answers[0].Text}
	}
	if f1 := metric.QA(golds, preds, metric.SQuAD, "en").F1; f1 != res.BestDev {
		t.Errorf("loaded checkpoint-best has dev F1 %v; the run reported %v", f1, res.BestDev)
	}

	// Long contexts (several windows each), without gold answers, and an
	// empty context (no window at all).
	long := qaExamplesOf(f.en[40:44], "long")
	for i := range long {
		long[i].Context = strings.Join(f.en[40+i:44+i], " ")
		long[i].Answers = nil
	}
	long = append(long, qaExamplesOf(f.en[50:52], "short")...)
	long = append(long, task.QAExample{ID: "empty", Question: "Which word comes third?"})
	ws, err := qa.Windows(m.Tok, qaExamples(long[:4]), m.qaOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) < 8 {
		t.Fatalf("the long contexts make %d windows; the test wants at least 2 per context", len(ws))
	}
	preds, err = m.PredictAnswers(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != len(long) {
		t.Errorf("%d predictions for %d questions", len(preds), len(long))
	}
	for _, ex := range long {
		p, ok := preds[ex.ID]
		if !ok {
			t.Errorf("no prediction for %s", ex.ID)
		}
		if !strings.Contains(ex.Context, p) {
			t.Errorf("%s: answer %q is not in the context %q", ex.ID, p, ex.Context)
		}
	}
	if preds["empty"] != "" {
		t.Errorf("answer %q from an empty context", preds["empty"])
	}
}
