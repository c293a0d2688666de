package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/finetune"
	"lethe/internal/parallel"
	"lethe/metric"
	"lethe/safetensors"
	"lethe/task"
)

// lethe runs the command line in-process and fails the test on a non-zero exit.
func lethe(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("lethe %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// letheFails runs the command line and returns its stderr, failing the test
// unless it exits non-zero.
func letheFails(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, strings.NewReader(""), &out, &errOut); code == 0 {
		t.Fatalf("lethe %s succeeded; want an error", strings.Join(args, " "))
	}
	return errOut.String()
}

// tensors reads every tensor of a checkpoint's model.safetensors as float32.
func tensors(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Read(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]float32{}
	for _, x := range f.Tensors {
		v := make([]float32, len(x.Data)/4)
		if err := x.Float32Into(v); err != nil {
			t.Fatal(err)
		}
		m[x.Name] = v
	}
	return m
}

// lines returns the first n non-empty lines of a file with at least 4 words.
func lines(t *testing.T, path string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if len(strings.Fields(l)) >= 4 && !strings.ContainsAny(l, "\t") {
			out = append(out, l)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// topicFile writes a label<TAB>text file whose label is a property of the
// text (whether it is longer than 12 words), so there is something to learn.
func topicFile(t *testing.T, path string, texts []string) {
	t.Helper()
	var b strings.Builder
	for _, x := range texts {
		label := "short"
		if len(strings.Fields(x)) > 12 {
			label = "long"
		}
		fmt.Fprintf(&b, "%s\t%s\n", label, x)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// squadFile writes a SQuAD v1.1 file: each context is a line of text, the
// question asks for its third word, which is the answer.
func squadFile(t *testing.T, path string, texts []string) {
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
	for i, x := range texts {
		words := strings.Fields(x)
		ctx := strings.Join(words, " ")
		start := len([]rune(words[0] + " " + words[1] + " "))
		paras = append(paras, para{Context: ctx, QAs: []qa{{ID: fmt.Sprintf("q%d", i), Question: "Which word comes third?",
			Answers: []answer{{Text: words[2], Start: start}}}}})
	}
	doc := map[string]any{"version": "1.1", "data": []any{map[string]any{"title": "t", "paragraphs": paras}}}
	b, _ := json.Marshal(doc)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEndToEnd runs every stage of the protocol through the command line on
// tiny data: a tokenizer for two languages, pretraining of both arms,
// language adaptation, fine-tuning on a classification and a QA task,
// splicing and evaluation, and checks what each stage guarantees.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	p := func(parts ...string) string { return filepath.Join(append([]string{dir}, parts...)...) }
	testdata := filepath.Join("..", "..", "tokenizer", "testdata")

	// 1. A tokenizer and token files per language: English (the pretraining
	// language) and German (the new language).
	for _, lang := range []string{"en", "de"} {
		// Documents of two lines each, separated by blank lines.
		text := lines(t, filepath.Join(testdata, lang+".train.txt"), 600)
		var b strings.Builder
		for i, l := range text {
			b.WriteString(l + "\n")
			if i%2 == 1 {
				b.WriteString("\n")
			}
		}
		corpus := p(lang + ".txt")
		if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		lethe(t, "tokenizer", "train", "--input="+corpus, "--model_prefix="+p(lang), "--vocab_size=300", "--quiet")
		lethe(t, "prepare", "--model", p(lang+".model"), "--input", corpus, "--out", p("data-"+lang), "--valid-fraction", "0.1")
	}

	// 2. Pretraining, standard and forgetting (K=4 over 12 updates).
	common := []string{"--data", p("data-en"), "--preset", "tiny", "--seq-len", "32", "--batch-size", "8", "--updates", "12",
		"--warmup", "2", "--lr", "2e-3", "--valid-every", "4", "--valid-batches", "2", "--save-every", "6"}
	lethe(t, append([]string{"pretrain", "--out", p("standard")}, common...)...)
	lethe(t, append([]string{"pretrain", "--out", p("forget"), "--forget-every", "4", "--clip-norm", "0.5"}, common...)...)
	var resets []int
	f, err := os.Open(p("forget", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Update int  `json:"update"`
			Forgot bool `json:"forgot"`
		}
		json.Unmarshal(sc.Bytes(), &rec)
		if rec.Forgot {
			resets = append(resets, rec.Update)
		}
	}
	f.Close()
	if !slices.Equal(resets, []int{4, 8}) {
		t.Errorf("forgetting arm reset after updates %v, want [4 8]", resets)
	}
	body := p("forget", "checkpoint-best") // the forgetting arm hands over its best checkpoint

	// 3. Language adaptation to German: only the embeddings and the LM-head bias move.
	lethe(t, "adapt", "--from", body, "--tokenizer", p("de.model"), "--data", p("data-de"), "--out", p("adapt-de"),
		"--seq-len", "32", "--batch-size", "8", "--updates", "8", "--warmup", "1", "--lr", "3e-3", "--save-at", "4",
		"--max-tokens", "3000", "--valid-every", "4", "--valid-batches", "2")
	before, adapted := tensors(t, body), tensors(t, p("adapt-de", "checkpoint-last"))
	for name, v := range before {
		w, ok := adapted[name]
		vocabIndexed := name == "roberta.embeddings.word_embeddings.weight" || name == "lm_head.bias"
		switch {
		case !ok:
			t.Errorf("adapted checkpoint lacks %s", name)
		case vocabIndexed && len(w) == len(v) && slices.Equal(v, w):
			t.Errorf("%s was not relearnt", name)
		case !vocabIndexed && !slices.Equal(v, w):
			t.Errorf("language adaptation changed %s", name)
		}
	}
	if _, err := os.Stat(p("adapt-de", "checkpoint-4", "sentencepiece.model")); err != nil {
		t.Errorf("no checkpoint with the German tokenizer at update 4: %v", err)
	}
	// The adapted model's fit to German, and a refusal to score the English body on it.
	lethe(t, "eval", "--mlm", "--model", p("adapt-de", "checkpoint-last"), "--seq-len", "32", "--out", p("mlm-de.json"), p("data-de"))
	var fit struct {
		MaskOnlyLoss *float64 `json:"mask_only_loss"`
		Sequences    int      `json:"sequences"`
	}
	if raw, err := os.ReadFile(p("mlm-de.json")); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(raw, &fit); err != nil || fit.MaskOnlyLoss == nil || !(*fit.MaskOnlyLoss > 0) || fit.Sequences < 1 {
		t.Errorf("eval --mlm wrote %s (err %v), want a positive mask-only loss over some sequences", raw, err)
	}
	if msg := letheFails(t, "eval", "--mlm", "--model", body, "--seq-len", "32", "--out", p("mlm-x.json"), p("data-de")); !strings.Contains(msg, "is not the one") {
		t.Errorf("scoring the English body on German token files: %q, want a tokenizer mismatch", msg)
	}

	// 4. Task adaptation in English: classification and QA, embeddings frozen.
	en, de := filepath.Join(testdata, "en.test.txt"), filepath.Join(testdata, "de.test.txt")
	enLines, deLines := lines(t, en, 90), lines(t, de, 30)
	topicFile(t, p("topic-en-train.tsv"), enLines[:60])
	topicFile(t, p("topic-en-dev.tsv"), enLines[60:])
	topicFile(t, p("topic-de-test.tsv"), deLines)
	squadFile(t, p("qa-en-train.json"), enLines[:24])
	squadFile(t, p("qa-en-dev.json"), enLines[60:72])
	squadFile(t, p("qa-de-test.json"), deLines[:12])
	lethe(t, "finetune", "--from", body, "--train", p("topic-en-train.tsv"), "--dev", p("topic-en-dev.tsv"), "--out", p("topic"),
		"--max-length", "32", "--batch-size", "8", "--epochs", "2", "--lr", "1e-3")
	lethe(t, "finetune", "--from", body, "--train", p("qa-en-train.json"), "--dev", p("qa-en-dev.json"), "--out", p("qa"),
		"--max-length", "32", "--doc-stride", "8", "--max-query-length", "8", "--batch-size", "8", "--epochs", "1", "--lr", "1e-3")
	for _, task := range []string{"topic", "qa"} {
		tuned := tensors(t, p(task, "checkpoint-best"))
		emb := "roberta.embeddings.word_embeddings.weight"
		if !slices.Equal(tuned[emb], before[emb]) {
			t.Errorf("%s: fine-tuning changed the token embeddings", task)
		}
		if slices.Equal(tuned["roberta.encoder.layer.0.output.dense.weight"], before["roberta.encoder.layer.0.output.dense.weight"]) {
			t.Errorf("%s: fine-tuning did not train the body", task)
		}
		for name := range tuned {
			if strings.HasPrefix(name, "lm_head.") {
				t.Errorf("%s: task checkpoint holds the unused %s", task, name)
			}
		}
	}

	// 5. Splice: the task model's body and head with the German embeddings.
	lethe(t, "splice", "--task", p("topic", "checkpoint-best"), "--language", p("adapt-de", "checkpoint-last"), "--lang", "de", "--out", p("topic-de"))
	lethe(t, "splice", "--task", p("qa", "checkpoint-best"), "--language", p("adapt-de", "checkpoint-last"), "--lang", "de", "--out", p("qa-de"))
	spliced, tuned := tensors(t, p("topic-de")), tensors(t, p("topic", "checkpoint-best"))
	for name, v := range spliced {
		want := tuned[name]
		if name == "roberta.embeddings.word_embeddings.weight" {
			want = adapted[name]
		}
		if !slices.Equal(v, want) {
			t.Errorf("spliced %s is neither the task model's nor the German embeddings", name)
		}
	}

	// 6. Evaluation; the reported figures equal ones computed here by hand
	// from the model's own predictions.
	lethe(t, "eval", "--model", p("topic-de"), "--out", p("eval-topic.json"), p("topic-de-test.tsv"))
	var res struct {
		Overall struct {
			N         int     `json:"n"`
			Accuracy  float64 `json:"accuracy"`
			Confusion [][]int `json:"confusion"`
		} `json:"overall"`
		PerLanguage map[string]json.RawMessage `json:"per_language"`
	}
	raw, err := os.ReadFile(p("eval-topic.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(1)
	defer pool.Close()
	m, err := finetune.Load(p("topic-de"), 8, pool)
	if err != nil {
		t.Fatal(err)
	}
	set, err := task.ReadClassification(p("topic-de-test.tsv"), task.ReadOptions{Labels: m.Spec.Labels, Lang: "de"})
	if err != nil {
		t.Fatal(err)
	}
	pred, err := m.PredictLabels(context.Background(), set.Examples)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i, ex := range set.Examples {
		if m.Spec.Labels[pred[i]] == ex.Label {
			correct++
		}
	}
	if res.Overall.N != len(set.Examples) || res.Overall.Accuracy != float64(correct)/float64(len(set.Examples)) {
		t.Errorf("eval reports N=%d accuracy %v; by hand %d of %d", res.Overall.N, res.Overall.Accuracy, correct, len(set.Examples))
	}
	sum := 0
	for _, row := range res.Overall.Confusion {
		for _, c := range row {
			sum += c
		}
	}
	if sum != len(set.Examples) || len(res.PerLanguage) != 1 || res.PerLanguage["de"] == nil {
		t.Errorf("confusion matrix sums to %d (want %d); languages %v", sum, len(set.Examples), res.PerLanguage)
	}

	lethe(t, "eval", "--model", p("qa-de"), "--out", p("eval-qa.json"), p("qa-de-test.json"))
	var qres struct {
		QA struct{ EM, F1 float64 } `json:"qa"`
	}
	raw, _ = os.ReadFile(p("eval-qa.json"))
	json.Unmarshal(raw, &qres)
	preds, err := task.ReadPredictions(p("eval-qa.predictions.json"))
	if err != nil {
		t.Fatal(err)
	}
	qset, _ := task.ReadSQuAD(p("qa-de-test.json"))
	em := 0.0
	for _, ex := range qset.Examples {
		// The answers are single words: exact match after lower-casing and
		// trimming ASCII punctuation is the official one.
		if strings.ToLower(strings.Trim(preds[ex.ID], ".,;:!?()\"' ")) == strings.ToLower(strings.Trim(ex.Answers[0].Text, ".,;:!?()\"' ")) {
			em++
		}
	}
	if want := 100 * em / float64(len(qset.Examples)); qres.QA.EM != want {
		t.Errorf("QA exact match %v, by hand %v", qres.QA.EM, want)
	}
	if qres.QA.F1 < qres.QA.EM {
		t.Errorf("QA F1 %v below exact match %v", qres.QA.F1, qres.QA.EM)
	}
	_ = metric.SQuAD

	// 7. Things that do not belong together are refused with the file named.
	lethe(t, "adapt", "--from", p("standard", "checkpoint-last"), "--tokenizer", p("de.model"), "--data", p("data-de"), "--out", p("adapt-de-std"),
		"--seq-len", "32", "--batch-size", "8", "--updates", "2", "--warmup", "1", "--save-at", "", "--valid-batches", "1")
	if e := letheFails(t, "splice", "--task", p("topic", "checkpoint-best"), "--language", p("adapt-de-std", "checkpoint-last"), "--out", p("bad")); !strings.Contains(e, "same pretrained checkpoint") {
		t.Errorf("splicing embeddings adapted on another body: %s", e)
	}
	if e := letheFails(t, "splice", "--task", body, "--language", p("adapt-de", "checkpoint-last"), "--out", p("bad")); !strings.Contains(e, "not a task model") {
		t.Errorf("splicing into a model without a head: %s", e)
	}
	if e := letheFails(t, "adapt", "--from", body, "--tokenizer", p("en.model"), "--data", p("data-de"), "--out", p("bad")); !strings.Contains(e, "not the one") && !strings.Contains(e, "do not belong") {
		t.Errorf("adapting with a tokenizer that did not make the data: %s", e)
	}
	os.WriteFile(p("unknown-label.tsv"), []byte("short\tein Text\nmedium\tnoch ein Text\n"), 0o644)
	if e := letheFails(t, "eval", "--model", p("topic-de"), p("unknown-label.tsv")); !strings.Contains(e, "unknown-label.tsv") || !strings.Contains(e, "2") {
		t.Errorf("unknown label: %s", e)
	}
	os.WriteFile(p("malformed.json"), []byte(`{"version": "1.1", "data": [{"title": "x", "paragraphs": [{"context": "abc", "qas": [{"id": "1", "question": "q", "answers": [{"text": "zzz", "answer_start": 0}]}]}]}]}`), 0o644)
	if e := letheFails(t, "eval", "--model", p("qa-de"), p("malformed.json")); !strings.Contains(e, "malformed.json") {
		t.Errorf("malformed QA file: %s", e)
	}
}
