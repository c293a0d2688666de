package finetune

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/roberta"
	"lethe/safetensors"
	"lethe/task"
	"lethe/tokenizer"
	"lethe/train"
)

// fixture is what the tests of this package share: two tokenizers (English
// and German, trained on the tokenizer package's test text, with different
// vocabulary sizes), two tiny pretrained English bodies (different seeds) and
// German embeddings adapted on each of them. Building it takes a few seconds,
// so it is built once, on first use, under a directory TestMain removes.
type fixture struct {
	enTok, deTok      string   // .model files
	en, de            []string // held-out lines (tokenizer/testdata/*.test.txt) for task data
	base, base2       string   // pretrained checkpoints (checkpoint-last), seeds 1 and 2
	adapted, adapted2 string   // German language adaptation of base and of base2
	enVocab, deVocab  int
	baseCfg, adaptCfg roberta.Config
	enModel, deModel  *tokenizer.Model
	enRaw             []byte // the English .model file
	root              string // where the fixture lives
	seqLen            int    // task sequence length (the bodies have 32 positions)
}

// getFixture is set by TestMain: the fixture, built on first call.
var getFixture func() (*fixture, error)

func TestMain(m *testing.M) {
	root, err := os.MkdirTemp("", "finetune-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	getFixture = sync.OnceValues(func() (*fixture, error) { return buildFixture(root) })
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// shared returns the fixture or stops the test.
func shared(t *testing.T) *fixture {
	t.Helper()
	f, err := getFixture()
	if err != nil {
		t.Fatalf("building the test fixture: %v", err)
	}
	return f
}

// textLines returns the first n lines of a tokenizer test file with at least
// 4 words and no tab (so they can go into tab-separated task files).
func textLines(path string, n int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(strings.Fields(l)) >= 4 && !strings.Contains(l, "\t") {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("%s: only %d usable lines, want %d", path, len(out), n)
	}
	return out, nil
}

// trainTokenizer trains a unigram tokenizer of vocab pieces on lines and
// writes prefix.model.
func trainTokenizer(prefix string, lines []string, vocab int) (string, error) {
	in := prefix + ".txt"
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	o := tokenizer.DefaultTrainOptions()
	o.Inputs, o.VocabSize, o.CharacterCoverage, o.NumThreads = []string{in}, vocab, 1, 1
	m, _, err := tokenizer.Train(context.Background(), o)
	if err != nil {
		return "", fmt.Errorf("tokenizer %s: %w", prefix, err)
	}
	if err := tokenizer.WriteTrainedModel(prefix, m); err != nil {
		return "", err
	}
	return prefix + ".model", nil
}

// writeTokenFile encodes lines with tok into a token file, two lines (each
// ended by </s>) per document.
func writeTokenFile(path string, tok *tokenizer.Model, lines []string) error {
	w, err := dataset.Create(path, tok.VocabSize())
	if err != nil {
		return err
	}
	var doc []int32
	for i, l := range lines {
		doc = append(tok.AppendIDs(doc, l), tok.EosID())
		if i%2 == 1 || i == len(lines)-1 {
			if err := w.AppendDocument(doc); err != nil {
				w.Abort()
				return err
			}
			doc = doc[:0]
		}
	}
	return w.Close()
}

// pretrainOptions are the settings of a tiny masked-LM run on data (a token
// file) with tokenizer tok, into out.
func pretrainOptions(data, tokPath string, tok *tokenizer.Model, out string, seed uint64, updates int) train.Options {
	cfg, _ := roberta.Preset("tiny")
	cfg.SetMaxSeqLen(32)
	o := train.DefaultOptions()
	o.Config = cfg
	o.TrainFile, o.Tokenizer, o.MaskID, o.OutDir = data, tokPath, tok.MaskID(), out
	o.BatchSize, o.SeqLen, o.Updates, o.WarmupUpdates, o.PeakLR = 4, 32, updates, 1, 2e-3
	o.Seed, o.Threads, o.ValidEvery, o.SaveEvery = seed, 1, 0, 0
	return o
}

func buildFixture(root string) (*fixture, error) {
	f := &fixture{root: root, seqLen: 32}
	testdata := filepath.Join("..", "tokenizer", "testdata")
	var err error
	var enText, deText []string
	if enText, err = textLines(filepath.Join(testdata, "en.train.txt"), 300); err != nil {
		return nil, err
	}
	if deText, err = textLines(filepath.Join(testdata, "de.train.txt"), 200); err != nil {
		return nil, err
	}
	if f.en, err = textLines(filepath.Join(testdata, "en.test.txt"), 60); err != nil {
		return nil, err
	}
	if f.de, err = textLines(filepath.Join(testdata, "de.test.txt"), 30); err != nil {
		return nil, err
	}
	if f.enTok, err = trainTokenizer(filepath.Join(root, "en"), enText, 160); err != nil {
		return nil, err
	}
	if f.deTok, err = trainTokenizer(filepath.Join(root, "de"), deText, 130); err != nil {
		return nil, err
	}
	if f.enModel, err = tokenizer.Load(f.enTok); err != nil {
		return nil, err
	}
	if f.deModel, err = tokenizer.Load(f.deTok); err != nil {
		return nil, err
	}
	if f.enRaw, err = os.ReadFile(f.enTok); err != nil {
		return nil, err
	}
	f.enVocab, f.deVocab = f.enModel.VocabSize(), f.deModel.VocabSize()
	enData, deData := filepath.Join(root, "en.tok"), filepath.Join(root, "de.tok")
	if err := writeTokenFile(enData, f.enModel, enText); err != nil {
		return nil, err
	}
	if err := writeTokenFile(deData, f.deModel, deText); err != nil {
		return nil, err
	}
	ctx := context.Background()
	for i, out := range []*string{&f.base, &f.base2} {
		dir := filepath.Join(root, fmt.Sprintf("pretrain%d", i+1))
		if _, err := train.Run(ctx, pretrainOptions(enData, f.enTok, f.enModel, dir, uint64(i+1), 3)); err != nil {
			return nil, err
		}
		*out = filepath.Join(dir, checkpoint.Last)
	}
	for i, from := range []string{f.base, f.base2} {
		dir := filepath.Join(root, fmt.Sprintf("adapt%d", i+1))
		o := pretrainOptions(deData, f.deTok, f.deModel, dir, 7, 2)
		o.Stage, o.InitFrom, o.Config = train.StageLanguage, from, roberta.Config{}
		if _, err := train.Run(ctx, o); err != nil {
			return nil, err
		}
		if i == 0 {
			f.adapted = filepath.Join(dir, checkpoint.Last)
		} else {
			f.adapted2 = filepath.Join(dir, checkpoint.Last)
		}
	}
	if err := checkpoint.LoadConfig(f.base, &f.baseCfg); err != nil {
		return nil, err
	}
	if err := checkpoint.LoadConfig(f.adapted, &f.adaptCfg); err != nil {
		return nil, err
	}
	return f, nil
}

// tensors reads every tensor of a checkpoint's model.safetensors as float32.
func tensors(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	sf, err := safetensors.Read(filepath.Join(dir, checkpoint.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]float32{}
	for _, x := range sf.Tensors {
		v := make([]float32, len(x.Data)/4)
		if err := x.Float32Into(v); err != nil {
			t.Fatal(err)
		}
		m[x.Name] = v
	}
	return m
}

// sameFile reports whether the named file is byte-identical in two
// directories.
func sameFile(t *testing.T, a, b, name string) bool {
	t.Helper()
	x, err := os.ReadFile(filepath.Join(a, name))
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(filepath.Join(b, name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// topicExamples labels each line "long" (more than 12 words) or "short", a
// property of the text, so there is something to learn. Line numbers start
// at firstLine.
func topicExamples(lines []string, firstLine int) []task.Example {
	out := make([]task.Example, len(lines))
	for i, l := range lines {
		label := "short"
		if len(strings.Fields(l)) > 12 {
			label = "long"
		}
		out[i] = task.Example{ID: fmt.Sprint(firstLine + i), Lang: "en", Text: l, Label: label, Line: firstLine + i}
	}
	return out
}

// qaExamplesOf makes SQuAD-style questions from lines: the context is the
// line, the question asks for its third word, which is the gold answer (at
// its byte offset).
func qaExamplesOf(lines []string, prefix string) []task.QAExample {
	out := make([]task.QAExample, len(lines))
	for i, l := range lines {
		words := strings.Fields(l)
		ctx := strings.Join(words, " ")
		start := len(words[0]) + 1 + len(words[1]) + 1
		out[i] = task.QAExample{ID: fmt.Sprintf("%s%d", prefix, i), Context: ctx, Question: "Which word comes third?",
			Answers: []task.Answer{{Text: words[2], Start: start}}}
	}
	return out
}

// classOptions are fine-tuning options for the topic task from the fixture's
// base body into out: 12 training examples in batches of 4 (3 updates per
// epoch), 6 dev examples.
func classOptions(f *fixture, out string) Options {
	o := DefaultOptions()
	o.From, o.OutDir = f.base, out
	o.Spec = Spec{Kind: Classification, Labels: []string{"short", "long"}, MaxLength: f.seqLen}
	o.Train, o.Dev = topicExamples(f.en[:12], 1), topicExamples(f.en[12:18], 1)
	o.BatchSize, o.Epochs, o.PeakLR, o.Threads, o.SaveEvery = 4, 2, 1e-3, 1, 0
	return o
}

// qaOptions are fine-tuning options for the third-word QA task.
func qaOptionsFor(f *fixture, out string) Options {
	o := DefaultOptions()
	o.From, o.OutDir = f.base, out
	o.Spec = Spec{Kind: QuestionAnswering, MaxLength: f.seqLen, DocStride: 4, MaxQueryLength: 8, MaxAnswerLength: 5, NBest: 5}
	o.TrainQA, o.DevQA = qaExamplesOf(f.en[20:32], "t"), qaExamplesOf(f.en[32:38], "d")
	o.BatchSize, o.Epochs, o.PeakLR, o.Threads, o.SaveEvery = 4, 1, 1e-3, 1, 0
	return o
}
