package evaluate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"lethe/finetune"
	"lethe/internal/parallel"
	"lethe/metric"
	"lethe/roberta"
	"lethe/task"
	"lethe/tokenizer"
)

// testLines returns n lines of at least 4 words, without tabs, from a text
// file of the tokenizer package's test data, skipping the first skip.
func testLines(t *testing.T, name string, skip, n int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "tokenizer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(strings.Fields(l)) < 4 || strings.Contains(l, "\t") {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, l)
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("%s: fewer than %d usable lines", name, n)
	return nil
}

// newModel builds a task model with random weights (a tiny body and head
// drawn with a large spread, so that predictions vary from input to input)
// and a tokenizer trained on English and German test text. Evaluation only
// needs some model: what is checked is that the figures are those of its
// predictions.
func newModel(t *testing.T, spec finetune.Spec) *finetune.Model {
	t.Helper()
	dir := t.TempDir()
	text := append(testLines(t, "en.train.txt", 0, 150), testLines(t, "de.train.txt", 0, 150)...)
	in := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(in, []byte(strings.Join(text, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := tokenizer.DefaultTrainOptions()
	o.Inputs, o.VocabSize, o.CharacterCoverage, o.NumThreads = []string{in}, 200, 1, 1
	proto, _, err := tokenizer.Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokenizer.WriteTrainedModel(filepath.Join(dir, "tok"), proto); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tok.model"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.NewModel(proto)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := roberta.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.VocabSize = tok.VocabSize()
	cfg.SetMaxSeqLen(32)
	cfg.InitializerRange = 0.5 // large weights: outputs that depend on the input
	pool := parallel.New(1)
	t.Cleanup(pool.Close)
	m, err := finetune.New(cfg, spec, raw, 4, pool)
	if err != nil {
		t.Fatal(err)
	}
	m.Body.Init(1)
	if m.Cls != nil {
		m.Cls.Init(2, 1)
	} else {
		m.QA.Init(2, 1)
	}
	return m
}

// xnliRow is one row of an XNLI-style test file.
type xnliRow struct {
	lang, label, premise, hypothesis string
}

// writeXNLI writes rows as an XNLI TSV file (header, then one row each,
// pairID p<i>).
func writeXNLI(t *testing.T, path string, rows []xnliRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("language\tgold_label\tsentence1\tsentence2\tpairID\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\tp%d\n", r.lang, r.label, r.premise, r.hypothesis, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// byHand scores predictions against gold labels without package metric:
// accuracy, the confusion matrix and the mean F1 over the labels that occur
// in gold or predictions.
func byHand(nLabels int, gold, pred []int) (acc, macroF1 float64, confusion [][]int) {
	confusion = make([][]int, nLabels)
	for i := range confusion {
		confusion[i] = make([]int, nLabels)
	}
	correct := 0
	for i := range gold {
		confusion[gold[i]][pred[i]]++
		if gold[i] == pred[i] {
			correct++
		}
	}
	var sum float64
	var used int
	for l := range nLabels {
		tp, fp, fn := confusion[l][l], 0, 0
		for k := range nLabels {
			if k != l {
				fp += confusion[k][l]
				fn += confusion[l][k]
			}
		}
		if tp+fp+fn == 0 {
			continue // label neither gold nor predicted
		}
		used++
		sum += 2 * float64(tp) / float64(2*tp+fp+fn)
	}
	return float64(correct) / float64(len(gold)), sum / float64(used), confusion
}

// TestClassification scores a two-language XNLI file and checks every
// figure, overall and per language, against figures worked out here from
// the model's own predictions.
func TestClassification(t *testing.T) {
	m := newModel(t, finetune.Spec{Kind: finetune.Classification, Labels: task.XNLILabels, MaxLength: 32})
	en, de := testLines(t, "en.test.txt", 0, 24), testLines(t, "de.test.txt", 0, 18)
	var rows []xnliRow
	for i := 0; i+1 < len(en); i += 2 {
		rows = append(rows, xnliRow{"en", task.XNLILabels[(i/2)%3], en[i], en[i+1]})
	}
	for i := 0; i+1 < len(de); i += 2 {
		rows = append(rows, xnliRow{"de", task.XNLILabels[(i/2+1)%3], de[i], de[i+1]})
	}
	noGold := xnliRow{"de", "-", de[0], de[3]} // no annotator majority: skipped
	path := filepath.Join(t.TempDir(), "xnli.test.tsv")
	writeXNLI(t, path, append(append(rows[:4:4], noGold), rows[4:]...))

	res, err := Classification(context.Background(), m, path, "")
	if err != nil {
		t.Fatal(err)
	}

	examples := make([]task.Example, len(rows))
	for i, r := range rows {
		examples[i] = task.Example{Text: r.premise, TextPair: r.hypothesis}
	}
	pred, err := m.PredictLabels(context.Background(), examples)
	if err != nil {
		t.Fatal(err)
	}
	gold := make([]int, len(rows))
	for i, r := range rows {
		gold[i] = m.Spec.LabelIndex()[r.label]
	}
	distinct := map[int]bool{}
	for _, p := range pred {
		distinct[p] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("the test model predicts only %v; the test needs varied predictions", distinct)
	}

	check := func(what string, c *metric.Classification, idx []int) {
		t.Helper()
		if c == nil {
			t.Fatalf("%s: no result", what)
		}
		g, p := make([]int, len(idx)), make([]int, len(idx))
		for k, i := range idx {
			g[k], p[k] = gold[i], pred[i]
		}
		acc, f1, conf := byHand(len(task.XNLILabels), g, p)
		if c.N != len(idx) || c.Accuracy != acc || math.Abs(c.MacroF1-f1) > 1e-12 || !reflect.DeepEqual(c.Confusion, conf) ||
			!reflect.DeepEqual(c.Labels, task.XNLILabels) {
			t.Errorf("%s: N %d accuracy %v macro-F1 %v confusion %v labels %v\nby hand: N %d accuracy %v macro-F1 %v confusion %v",
				what, c.N, c.Accuracy, c.MacroF1, c.Confusion, c.Labels, len(idx), acc, f1, conf)
		}
	}
	var all, enIdx, deIdx []int
	for i, r := range rows {
		all = append(all, i)
		if r.lang == "en" {
			enIdx = append(enIdx, i)
		} else {
			deIdx = append(deIdx, i)
		}
	}
	check("overall", res.Overall, all)
	check("en", res.PerLanguage["en"], enIdx)
	check("de", res.PerLanguage["de"], deIdx)
	if len(res.PerLanguage) != 2 || res.Skipped != 1 || res.Kind != string(finetune.Classification) || res.File != path {
		t.Errorf("languages %d (want 2), skipped %d (want 1), kind %q, file %q", len(res.PerLanguage), res.Skipped, res.Kind, res.File)
	}

	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct {
		lang string
		c    *metric.Classification
	}{{"en", res.PerLanguage["en"]}, {"de", res.PerLanguage["de"]}} {
		want := fmt.Sprintf("%-10s %7d %8.2f%% %8.2f%%", l.lang, l.c.N, 100*l.c.Accuracy, 100*l.c.MacroF1)
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks the line %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(table.String(), "1 rows without a gold label skipped") {
		t.Errorf("table does not report the skipped row:\n%s", table.String())
	}
}

// TestClassificationFileErrors checks that a label the model does not know
// is an error naming the file and line, that a file without a language
// column takes the language given, and that a task file of the other kind
// is refused.
func TestClassificationFileErrors(t *testing.T) {
	m := newModel(t, finetune.Spec{Kind: finetune.Classification, Labels: []string{"short", "long"}, MaxLength: 32})
	dir := t.TempDir()
	en := testLines(t, "en.test.txt", 0, 6)

	bad := filepath.Join(dir, "unknown.tsv")
	os.WriteFile(bad, []byte("short\t"+en[0]+"\nlong\t"+en[1]+"\n\nmedium\t"+en[2]+"\n"), 0o644)
	_, err := Classification(context.Background(), m, bad, "en")
	if err == nil || !strings.Contains(err.Error(), bad+":4") || !strings.Contains(err.Error(), `"medium"`) {
		t.Errorf("unknown label on line 4: %v", err)
	}

	plain := filepath.Join(dir, "plain.tsv")
	os.WriteFile(plain, []byte("short\t"+en[0]+"\nlong\t"+en[1]+"\nshort\t"+en[2]+"\n"), 0o644)
	res, err := Classification(context.Background(), m, plain, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PerLanguage) != 1 || res.PerLanguage["fr"] == nil || res.PerLanguage["fr"].N != 3 || res.Overall.N != 3 {
		t.Errorf("a file without a language column, language fr: per language %v", res.PerLanguage)
	}
	var table bytes.Buffer
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "fr ") {
		t.Errorf("table lacks language fr:\n%s", table.String())
	}

	if _, err := QA(context.Background(), m, plain, metric.SQuAD, "en", ""); err == nil || !strings.Contains(err.Error(), "classification head") {
		t.Errorf("QA with a classifier: %v", err)
	}
}

// squadFile writes questions as a SQuAD v1.1 file, one paragraph each.
func squadFile(t *testing.T, path string, examples []task.QAExample) {
	t.Helper()
	type answer struct {
		Text  string `json:"text"`
		Start int    `json:"answer_start"`
	}
	type qa struct {
		ID       string   `json:"id"`
		Question string   `json:"question"`
		Answers  []answer `json:"answers"`
	}
	type para struct {
		Context string `json:"context"`
		QAs     []qa   `json:"qas"`
	}
	var paras []para
	for _, ex := range examples {
		q := qa{ID: ex.ID, Question: ex.Question, Answers: []answer{}}
		for _, a := range ex.Answers {
			// answer_start counts code points, the offsets here are bytes.
			q.Answers = append(q.Answers, answer{Text: a.Text, Start: utf8.RuneCountInString(ex.Context[:a.Start])})
		}
		paras = append(paras, para{Context: ex.Context, QAs: []qa{q}})
	}
	doc := map[string]any{"version": "1.1", "data": []any{map[string]any{"title": "t", "paragraphs": paras}}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestQA scores a QA model in SQuAD and MLQA mode. The gold answers are the
// model's own answers where it gives one (so EM and F1 are 100 there) and
// the context's first word where it gives none (0), which fixes EM; both
// modes must also agree with metric.QA on the predictions file written.
func TestQA(t *testing.T) {
	m := newModel(t, finetune.Spec{Kind: finetune.QuestionAnswering, MaxLength: 32, DocStride: 4, MaxQueryLength: 8, MaxAnswerLength: 6, NBest: 10})
	dir := t.TempDir()
	var examples []task.QAExample
	for i, l := range testLines(t, "de.test.txt", 0, 10) {
		examples = append(examples, task.QAExample{ID: fmt.Sprintf("q%d", i), Question: "Was ist das dritte Wort?", Context: l})
	}
	own, err := m.PredictAnswers(context.Background(), examples)
	if err != nil {
		t.Fatal(err)
	}
	answered := 0
	for i := range examples {
		ex := &examples[i]
		if a := own[ex.ID]; a != "" {
			ex.Answers = []task.Answer{{Text: a, Start: strings.Index(ex.Context, a)}}
			answered++
		} else {
			first := strings.Fields(ex.Context)[0]
			ex.Answers = []task.Answer{{Text: first, Start: strings.Index(ex.Context, first)}}
		}
	}
	if answered == 0 {
		t.Fatal("the test model answers no question; the test needs some answers")
	}
	path := filepath.Join(dir, "mlqa.de.json")
	squadFile(t, path, examples)

	tests := []struct {
		name     string
		mode     metric.Mode
		lang     string
		wantMode string
	}{
		{"squad", metric.SQuAD, "en", "squad"},
		{"mlqa", metric.MLQA, "de", "mlqa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			predPath := filepath.Join(dir, tc.name+".predictions.json")
			res, err := QA(context.Background(), m, path, tc.mode, tc.lang, predPath)
			if err != nil {
				t.Fatal(err)
			}
			preds, err := task.ReadPredictions(predPath)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(preds, own) {
				t.Errorf("predictions file %v; the model answers %v", preds, own)
			}
			set, err := task.ReadSQuAD(path)
			if err != nil {
				t.Fatal(err)
			}
			want := metric.QA(set.Golds(), preds, tc.mode, tc.lang)
			if *res.QA != want || res.QAMode != tc.wantMode || res.QALanguage != tc.lang || res.Predictions != predPath {
				t.Errorf("result %+v mode %s language %s predictions %s; metric.QA gives %+v", *res.QA, res.QAMode, res.QALanguage, res.Predictions, want)
			}
			if em := 100 * float64(answered) / float64(len(examples)); math.Abs(res.QA.EM-em) > 1e-9 || res.QA.Count != len(examples) {
				t.Errorf("EM %v over %d questions; %d of %d answers are the gold, so EM %v", res.QA.EM, res.QA.Count, answered, len(examples), em)
			}
			var table bytes.Buffer
			res.WriteTable(&table)
			if want := fmt.Sprintf("questions %d   exact match %.2f   F1 %.2f   (%s normalisation", want.Count, want.EM, want.F1, tc.wantMode); !strings.Contains(table.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, table.String())
			}
		})
	}

	if _, err := QA(context.Background(), m, path, metric.MLQA, "xx", ""); err == nil || !strings.Contains(err.Error(), "xx") {
		t.Errorf("MLQA with an unknown language: %v", err)
	}
	res, err := QA(context.Background(), m, path, metric.SQuAD, "en", "")
	if err != nil || res.Predictions != "" {
		t.Errorf("no predictions path: %v, predictions %q", err, res.Predictions)
	}
	if _, err := Classification(context.Background(), m, path, "de"); err == nil || !strings.Contains(err.Error(), "question-answering head") {
		t.Errorf("classification with a QA model: %v", err)
	}
}

// TestWriteJSON checks that WriteJSON creates missing directories, replaces
// a file whole, leaves no temporary file, and on failure leaves neither a
// temporary file nor a changed target.
func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	c := metric.Classify([]string{"a", "b"}, []int{0, 1, 1}, []int{0, 1, 0})
	r := &Result{Model: "m", File: "f.tsv", Kind: "classification", Overall: &c, PerLanguage: map[string]*metric.Classification{"en": &c}}
	path := filepath.Join(dir, "sub", "result.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("old content ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("%s does not hold the result alone: %v", path, err)
	}
	if back.Written == "" || back.Model != "m" || !reflect.DeepEqual(back.Overall, r.Overall) || !reflect.DeepEqual(back.PerLanguage, r.PerLanguage) {
		t.Errorf("read back %+v", back)
	}
	noTemp := func() {
		t.Helper()
		entries, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range entries {
			if strings.Contains(e.Name(), "tmp") {
				t.Errorf("temporary file %s left", e.Name())
			}
		}
	}
	noTemp()

	nested := filepath.Join(dir, "new", "dirs", "r.json")
	if err := r.WriteJSON(nested); err != nil {
		t.Fatalf("missing directories: %v", err)
	}

	// A target that cannot be replaced (a non-empty directory) is an
	// error, and the temporary file is removed.
	blocked := filepath.Join(filepath.Dir(path), "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(blocked); err == nil {
		t.Error("writing over a directory succeeded")
	}
	noTemp()
	if _, err := os.Stat(filepath.Join(blocked, "x")); err != nil {
		t.Errorf("the failed write disturbed %s: %v", blocked, err)
	}
}
