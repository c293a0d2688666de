package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lethe/checkpoint"
	"lethe/internal/runlock"
	"lethe/train"
)

// fixtureData writes a tiny data directory in the layout of lethe data
// build: corpora from the tokenizer's test corpora, and a 3-topic task whose
// label is a property of the text.
func fixtureData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "tokenizer", "testdata")
	texts := map[string][]string{}
	for _, lang := range []string{"en", "de"} {
		raw, err := os.ReadFile(filepath.Join(src, lang+".train.txt"))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		n := 0
		for _, l := range strings.Split(string(raw), "\n") {
			if len(strings.Fields(l)) < 3 || strings.Contains(l, "\t") {
				continue
			}
			texts[lang] = append(texts[lang], l)
			b.WriteString(l + "\n")
			if n++; n%2 == 0 {
				b.WriteString("\n")
			}
			if n == 700 {
				break
			}
		}
		write(t, filepath.Join(dir, "corpora", lang+".txt"), b.String())
	}
	topic := func(lines []string) string {
		var b strings.Builder
		for _, l := range lines {
			label := []string{"short", "medium", "long"}[min(len(strings.Fields(l))/8, 2)]
			fmt.Fprintf(&b, "%s\t%s\n", label, l)
		}
		return b.String()
	}
	en, de := texts["en"], texts["de"]
	write(t, filepath.Join(dir, "topic", "en", "train.tsv"), topic(en[:120]))
	write(t, filepath.Join(dir, "topic", "en", "dev.tsv"), topic(en[120:160]))
	write(t, filepath.Join(dir, "topic", "en", "test.tsv"), topic(en[160:200]))
	write(t, filepath.Join(dir, "topic", "de", "test.tsv"), topic(de[:40]))
	write(t, filepath.Join(dir, "topic", "de", "test.en.tsv"), topic(en[200:240]))
	return dir
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyConfig is an experiment that runs in seconds.
func tinyConfig(data string) Config {
	c, _ := Preset("quick")
	c.Arms = []string{ArmStandard, ArmForgetting, ArmRandom}
	c.Data, c.Languages, c.Tasks = data, []string{"de"}, []string{"topic"}
	c.Model = ModelConfig{Hidden: 32, Layers: 2, Heads: 2, FFN: 64, SeqLen: 32, Dropout: 0.1}
	c.Tokenizer = TokenizerConfig{EnglishVocab: 300, LanguageVocab: 300}
	c.Pretrain = PretrainConfig{Updates: 20, BatchSize: 8, WarmupUpdates: 2, LR: 2e-3, ForgetEvery: 5, ClipNorm: 0.5,
		ValidEvery: 5, ValidBatches: 2, ValidFraction: 0.05}
	c.Adapt = AdaptConfig{MaxTokens: 2000, Updates: 10, LowStep: 5, SaveAt: []int{5, 10}, BatchSize: 8, WarmupUpdates: 1, LR: 2e-3,
		ClipNorm: 0.5, ValidEvery: 5, ValidBatches: 2}
	c.Finetune = FinetuneConfig{Epochs: 1, BatchSize: 16, MaxLength: 32, LR: 1e-3, WarmupFraction: 0.1, MaxTrain: 64}
	return c
}

// cancelOn is a log writer that cancels a context once the log shows a
// given stage header.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.marker != "" && strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return len(p), nil
}

// TestInterruptedExperimentResumes kills the experiment during the
// forgetting arm's pretraining, then runs it again: the rerun must finish,
// skip the stages that had finished (their outputs untouched), and produce a
// full set of scores and the report.
func TestInterruptedExperimentResumes(t *testing.T) {
	c := tinyConfig(fixtureData(t))
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &cancelOn{marker: "pretrain forgetting", cancel: cancel}
	_, err := Run(ctx, Options{Config: c, Out: out, Log: log, Command: "test"})
	if !errors.Is(err, checkpoint.ErrInterrupted) {
		t.Fatalf("first run: err = %v, want an interruption\n%s", err, log.buf.String())
	}
	l := Layout{Root: out}
	standardDone := filepath.Join(l.Pretrain(1, ArmStandard), doneFile)
	st, err := os.Stat(standardDone)
	if err != nil {
		t.Fatalf("the standard arm finished before the interruption but has no %s: %v", doneFile, err)
	}
	tokStat, err := os.Stat(l.Tokenizer("en"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Pretrain(1, ArmForgetting), doneFile)); err == nil {
		t.Fatal("the interrupted forgetting arm is marked done")
	}
	time.Sleep(10 * time.Millisecond) // a rewrite would show in the modification times

	var second bytes.Buffer
	res, err := Run(context.Background(), Options{Config: c, Out: out, Log: &second, Command: "test"})
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, second.String())
	}
	log2 := second.String()
	for _, want := range []string{"cached: " + l.Tokenizer("en"), "cached: hands over " + filepath.Join(l.Pretrain(1, ArmStandard), checkpoint.Last),
		"resuming from"} {
		if !strings.Contains(log2, want) {
			t.Errorf("second run's log lacks %q:\n%s", want, log2)
		}
	}
	if st2, _ := os.Stat(standardDone); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the finished standard arm was redone")
	}
	if t2, _ := os.Stat(l.Tokenizer("en")); !t2.ModTime().Equal(tokStat.ModTime()) {
		t.Error("the English tokenizer was retrained")
	}
	// 3 arms x (English + oracle + untrained embeddings + ceiling + 2
	// zero-shot checkpoints) for one language.
	if len(res.Scores) != 3*6 {
		t.Errorf("%d scores, want 18", len(res.Scores))
	}
	for _, sc := range res.Scores {
		if sc.N != 40 || sc.Accuracy < 0 || sc.Accuracy > 100 {
			t.Errorf("score %+v", sc)
		}
	}
	for _, f := range []string{"results.json", "report.md", "report.html", filepath.Join("plots", "pretrain-loss.svg")} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	// A third run does nothing but read caches and rewrite the report.
	var third bytes.Buffer
	res3, err := Run(context.Background(), Options{Config: c, Out: out, Log: &third, Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(third.String(), "resuming from") || strings.Count(third.String(), "cached") < 9 {
		t.Errorf("third run redid work:\n%s", third.String())
	}
	// Cache hits teach the time estimate nothing: no stage ran, so no estimate.
	const eta = "left, at this run's pace"
	if strings.Contains(third.String(), eta) {
		t.Errorf("the cached run estimated the time left:\n%s", third.String())
	}
	// Stage times are summed over runs: the cached third run keeps them.
	for _, k := range []string{"pretrain", "adapt", "finetune"} {
		if res3.Stages[k] < res.Stages[k] || res.Stages[k] <= 0 {
			t.Errorf("stage %s: %.3fs after the cached run, %.3fs before", k, res3.Stages[k], res.Stages[k])
		}
	}

	// Another configuration in the same directory is refused.
	c2 := c
	c2.Pretrain.Updates = 30
	if _, err := Run(context.Background(), Options{Config: c2, Out: out}); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Errorf("another configuration: err = %v", err)
	}

	// More seeds extend the experiment: seed 1 comes from the cache, seed
	// 2 runs, and the report covers both.
	c3 := c
	c3.Seeds = 2
	var fourth bytes.Buffer
	res, err = Run(context.Background(), Options{Config: c3, Out: out, Log: &fourth, Command: "test"})
	if err != nil {
		t.Fatalf("a second seed was refused: %v", err)
	}
	if !strings.Contains(fourth.String(), "cached: hands over "+filepath.Join(l.Pretrain(1, ArmStandard), checkpoint.Last)) ||
		!strings.Contains(fourth.String(), "seed 1 of 2, arm random finished") {
		t.Errorf("the second seed did not reuse the first:\n%s", fourth.String())
	}
	if len(res.Scores) != 2*3*6 {
		t.Errorf("%d scores over 2 seeds, want 36", len(res.Scores))
	}
	// Once seed 2 has run a stage of every kind (its random body last), each
	// stage announces the time left.
	if _, after, found := strings.Cut(fourth.String(), "pretrain random (seed 2)"); !found || !strings.Contains(after, eta) {
		t.Errorf("no time estimate once every kind of stage had run:\n%s", fourth.String())
	}
}

// TestAdaptationSeeds runs two adaptation replicates of one body: each has
// its own run, trained from its own seed, and zero-shot scores come per
// replicate while English and ceiling scores come once.
func TestAdaptationSeeds(t *testing.T) {
	c := tinyConfig(fixtureData(t))
	c.Arms = []string{ArmStandard}
	c.Adapt.Seeds = 2
	out := t.TempDir()
	res, err := Run(context.Background(), Options{Config: c, Out: out, Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{Root: out}
	var metrics [2][]byte
	for rep := 1; rep <= 2; rep++ {
		raw, err := os.ReadFile(filepath.Join(l.Adapt(1, rep, ArmStandard, "de", 0), checkpoint.MetricsFile))
		if err != nil {
			t.Fatalf("adaptation seed %d: %v", rep, err)
		}
		metrics[rep-1] = raw
	}
	if bytes.Equal(metrics[0], metrics[1]) {
		t.Error("the two adaptation seeds trained identically")
	}
	if got := len(res.Adapt); got != 2 || res.Adapt[0].AdaptSeed != 1 || res.Adapt[1].AdaptSeed != 2 {
		t.Errorf("adaptation summaries %+v, want seeds 1 and 2", res.Adapt)
	}
	count := map[string]int{}
	for _, sc := range res.Scores {
		count[fmt.Sprintf("%s/%d", sc.Setting, sc.AdaptSeed)]++
	}
	want := map[string]int{SettingEnglish + "/0": 1, SettingOracle + "/0": 1, SettingFresh + "/0": 1, SettingCeiling + "/0": 1,
		SettingZeroShot + "/1": 2, SettingZeroShot + "/2": 2}
	if !maps.Equal(count, want) {
		t.Errorf("scores per setting/adaptation seed %v, want %v", count, want)
	}
}

// TestBudgetCurvesAndControls runs an experiment with budget curves, the
// English-derived languages and the controls: the oracle splice scores
// exactly the English result; every language is adapted once per budget
// (the token count growing with it), on English text pretraining did not
// read; the word-order language is scored on the English test set with its
// words reversed.
func TestBudgetCurvesAndControls(t *testing.T) {
	c := tinyConfig(fixtureData(t))
	c.Arms = []string{ArmStandard}
	c.Languages = []string{LangRelearn, "de", LangReverse}
	c.Pretrain.MaxCorpusBytes = 20_000
	c.Adapt.Budgets = []int64{300, 3000}
	c.Adapt.LanguageBudgets = map[string][]int64{LangReverse: {3000}}
	out := t.TempDir()
	res, err := Run(context.Background(), Options{Config: c, Out: out, Command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	l := Layout{Root: out}
	by := map[string][]Score{}
	for _, sc := range res.Scores {
		by[sc.Setting] = append(by[sc.Setting], sc)
	}
	if len(by[SettingEnglish]) != 1 || len(by[SettingOracle]) != 1 || len(by[SettingFresh]) != 1 {
		t.Fatalf("English/oracle/fresh scores: %d/%d/%d, want one each", len(by[SettingEnglish]), len(by[SettingOracle]), len(by[SettingFresh]))
	}
	en, oracle := by[SettingEnglish][0], by[SettingOracle][0]
	if oracle.Accuracy != en.Accuracy || oracle.MacroF1 != en.MacroF1 || oracle.N != en.N {
		t.Errorf("oracle splice scored %+v, the English task model %+v", oracle, en)
	}
	// 2 budgets x 2 checkpoints for en-relearn and de, 1 x 2 for en-reverse.
	if n := len(by[SettingZeroShot]); n != 10 {
		t.Errorf("%d zero-shot scores, want 10", n)
	}
	// English-derived languages carry the embedding cosine (a real one:
	// relearnt from an independent draw, well short of 1), others none.
	for _, sc := range by[SettingZeroShot] {
		c := sc.EmbeddingCosine
		switch {
		case EnglishDerived(sc.Lang) && (c == nil || math.IsNaN(*c) || math.Abs(*c) >= 0.99):
			t.Errorf("%s zero-shot score has embedding cosine %v, want one in (-0.99, 0.99)", sc.Lang, c)
		case !EnglishDerived(sc.Lang) && c != nil:
			t.Errorf("%s zero-shot score has an embedding cosine (%v) across tokenizers", sc.Lang, *c)
		}
	}
	tokens := map[string][]int64{}
	for _, a := range res.Adapt {
		tokens[a.Lang] = append(tokens[a.Lang], a.TrainTokens)
		if _, err := os.Stat(filepath.Join(l.Adapt(1, 1, ArmStandard, a.Lang, a.Budget), checkpoint.At(10))); err != nil {
			t.Errorf("%s budget %d: %v", a.Lang, a.Budget, err)
		}
	}
	for _, lang := range []string{LangRelearn, "de"} {
		if ts := tokens[lang]; len(ts) != 2 || ts[0] >= ts[1] || ts[0] > 300+int64(c.Model.SeqLen) {
			t.Errorf("%s trained on %v tokens under budgets %v", lang, ts, c.Adapt.Budgets)
		}
	}
	head, err := os.ReadFile(filepath.Join(out, "data", "en-head.txt"))
	if err != nil {
		t.Fatal(err)
	}
	unseen, err := os.ReadFile(l.Corpus(LangRelearn))
	if err != nil {
		t.Fatal(err)
	}
	corpus, _ := os.ReadFile(c.corpusFile("en"))
	if len(head) < 20_000 || len(unseen) == 0 || !bytes.Equal(bytes.TrimRight(append(append(head, '\n'), unseen...), "\n"), bytes.TrimRight(corpus, "\n")) {
		t.Errorf("pretraining text (%d bytes) and en-relearn text (%d bytes) do not split the corpus (%d bytes) at a document boundary",
			len(head), len(unseen), len(corpus))
	}
	test, err := os.ReadFile(l.TaskFile("topic", LangReverse, "test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	enTest, _ := os.ReadFile(c.taskFile("topic", "en", "test.tsv"))
	first, enFirst := strings.SplitN(string(test), "\n", 2)[0], strings.SplitN(string(enTest), "\n", 2)[0]
	label, text, _ := strings.Cut(first, "\t")
	enLabel, enText, _ := strings.Cut(enFirst, "\t")
	words, enWords := strings.Fields(text), strings.Fields(enText)
	if label != enLabel || len(words) != len(enWords) || words[0] != enWords[len(enWords)-1] || words[len(words)-1] != enWords[0] {
		t.Errorf("en-reverse test line %q is not %q reversed", first, enFirst)
	}
}

func TestTransformWords(t *testing.T) {
	line := "the  quick brown fox jumps"
	if got := transformWords(LangRelearn, line); got != line {
		t.Errorf("en-relearn changed %q to %q", line, got)
	}
	if got := transformWords(LangReverse, line); got != "jumps fox brown quick the" {
		t.Errorf("en-reverse: %q", got)
	}
	a, b := transformWords(LangShuffle, line), transformWords(LangShuffle, line)
	if a != b || len(strings.Fields(a)) != 5 || a == "the quick brown fox jumps" {
		t.Errorf("en-shuffle: %q then %q", a, b)
	}
	w := strings.Fields(a)
	slices.Sort(w)
	if strings.Join(w, " ") != "brown fox jumps quick the" {
		t.Errorf("en-shuffle %q is not a permutation of the words", a)
	}
}

func TestFormatBudget(t *testing.T) {
	for b, want := range map[int64]string{10_000: "1e4", 3_000_000: "3e6", 12_345_000: "12345000", 500: "500", 100: "100"} {
		if got := FormatBudget(b); got != want {
			t.Errorf("FormatBudget(%d) = %q, want %q", b, got, want)
		}
	}
}

func TestMissingDataNamesTheBuildCommand(t *testing.T) {
	c := tinyConfig(t.TempDir())
	_, err := Run(context.Background(), Options{Config: c, Out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "lethe data build") || !strings.Contains(err.Error(), "corpora") {
		t.Errorf("err = %v", err)
	}
}

// TestDropPresetBudgets checks that narrowing the curves preset's languages
// drops the preset's budgets for the languages left out, and only those.
func TestDropPresetBudgets(t *testing.T) {
	p, err := Preset("curves")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Preset("curves")
	c.Data, c.Languages = "data", []string{LangRelearn, LangReverse}
	c.DropPresetBudgets(p)
	if err := c.Validate(); err != nil {
		t.Fatalf("curves narrowed to %v: %v", c.Languages, err)
	}
	if _, ok := c.Adapt.LanguageBudgets[LangShuffle]; ok || len(c.Adapt.LanguageBudgets[LangReverse]) != 1 {
		t.Errorf("language budgets %v: want %s's kept and %s's dropped", c.Adapt.LanguageBudgets, LangReverse, LangShuffle)
	}
	// A budget the user set for a language they do not list is still an error.
	c.Adapt.LanguageBudgets[LangShuffle] = []int64{5000}
	c.DropPresetBudgets(p)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), LangShuffle) {
		t.Errorf("a user's budget for an unlisted language: error %v, want one naming %s", err, LangShuffle)
	}
}

func TestPresetsValidate(t *testing.T) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if name != "quick" && (c.Pretrain.Updates/c.Pretrain.ForgetEvery-1 < 10) {
			t.Errorf("%s: %d updates with a reset every %d give fewer than 10 resets", name, c.Pretrain.Updates, c.Pretrain.ForgetEvery)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
}

// TestHoldOutAndInDomain holds out a share of the English descriptions for
// en-relearn and adapts German on its descriptions only: en-relearn's
// documents are descriptions that pretraining never reads, and German's are
// exactly the first documents the manifest calls DDTP.
func TestHoldOutAndInDomain(t *testing.T) {
	data := fixtureData(t)
	write(t, filepath.Join(data, "manifest.json"), `{"version": 1, "files": {
		"corpora/en.txt": {"sections": [{"source": "DDTP Translation-en", "documents": 200}, {"source": "manpages 1", "documents": 150}]},
		"corpora/de.txt": {"sections": [{"source": "DDTP Translation-de", "documents": 100}, {"source": "manpages-de 1", "documents": 250}]}}}`)
	c := tinyConfig(data)
	c.Arms = []string{ArmStandard}
	c.Languages = []string{LangRelearn, "de"}
	c.Pretrain.HoldOut = 0.3
	c.Adapt.InDomain = true
	out := t.TempDir()
	if _, err := Run(context.Background(), Options{Config: c, Out: out, Command: "test"}); err != nil {
		t.Fatal(err)
	}
	docs := func(path string) []string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimRight(string(raw), "\n"), "\n\n")
	}
	en, head, relearn := docs(c.corpusFile("en")), docs(filepath.Join(out, "data", "en-head.txt")), docs(Layout{Root: out}.Corpus(LangRelearn))
	if len(relearn) < 30 || len(relearn) > 90 {
		t.Errorf("%d of 200 descriptions held out at a share of 0.3", len(relearn))
	}
	if len(head)+len(relearn) != len(en) {
		t.Errorf("pretraining %d + en-relearn %d documents, corpus %d", len(head), len(relearn), len(en))
	}
	inHead := map[string]bool{}
	for _, d := range head {
		inHead[d] = true
	}
	for _, d := range relearn {
		if inHead[d] || !slices.Contains(en[:200], d) {
			t.Fatalf("en-relearn document %q is read by pretraining or is not a description", d)
		}
	}
	de := docs(Layout{Root: out}.Corpus("de"))
	if !slices.Equal(de, docs(c.corpusFile("de"))[:100]) {
		t.Errorf("German adapts on %d documents, not the 100 descriptions", len(de))
	}
}

// TestRunDirectoryLocked refuses a second experiment on a directory that a
// running one holds, naming the holder, before touching anything.
func TestRunDirectoryLocked(t *testing.T) {
	c := tinyConfig(fixtureData(t))
	out := t.TempDir()
	held, err := runlock.Acquire(out)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	_, err = Run(context.Background(), Options{Config: c, Out: out})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("in use by process %d", os.Getpid())) {
		t.Fatalf("second run on a held directory: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "config.json")); !os.IsNotExist(err) {
		t.Errorf("the refused run wrote config.json (%v)", err)
	}
}

// TestStaleAdaptationsRedone plays an experiment written by a Lethe that drew
// the fresh embeddings differently: one adaptation finished (its done mark
// names another draw) and one interrupted (its trainer state names another
// draw). The next run redoes both, says so, and scores their checkpoints
// again; the other adaptations stay cached.
func TestStaleAdaptationsRedone(t *testing.T) {
	c := tinyConfig(fixtureData(t))
	c.Arms = []string{ArmStandard, ArmForgetting}
	out := t.TempDir()
	if _, err := Run(context.Background(), Options{Config: c, Out: out, Command: "test"}); err != nil {
		t.Fatal(err)
	}
	l := Layout{Root: out}
	lang := c.Languages[0]
	finished, interrupted := l.Adapt(1, 1, ArmStandard, lang, 0), l.Adapt(1, 1, ArmForgetting, lang, 0)

	var sum map[string]any
	raw, err := os.ReadFile(filepath.Join(finished, doneFile))
	if err != nil || json.Unmarshal(raw, &sum) != nil {
		t.Fatalf("done mark of %s: %v", finished, err)
	}
	sum["embedding_draw"] = "older"
	raw, _ = json.Marshal(sum)
	write(t, filepath.Join(finished, doneFile), string(raw))

	if err := os.Remove(filepath.Join(interrupted, doneFile)); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(interrupted, checkpoint.Last, checkpoint.TrainerFile)
	var st map[string]any
	if raw, err = os.ReadFile(state); err != nil || json.Unmarshal(raw, &st) != nil {
		t.Fatalf("trainer state %s: %v", state, err)
	}
	run, ok := st["run"].(map[string]any)
	if !ok || run["embedding_draw"] != train.EmbeddingDraw {
		t.Fatalf("trainer state %s holds no run identity with the embedding draw: %v", state, st["run"])
	}
	delete(run, "embedding_draw")
	raw, _ = json.Marshal(st)
	write(t, state, string(raw))

	score := func(arm string) string {
		return filepath.Join(l.Eval(1, arm, "topic"), scoreFile(lang, SettingZeroShot, c.Adapt.Updates, 1, 0))
	}
	before := map[string]time.Time{}
	for _, arm := range c.Arms {
		fi, err := os.Stat(score(arm))
		if err != nil {
			t.Fatal(err)
		}
		before[arm] = fi.ModTime()
	}
	time.Sleep(10 * time.Millisecond)

	var log bytes.Buffer
	if _, err := Run(context.Background(), Options{Config: c, Out: out, Log: &log, Command: "test"}); err != nil {
		t.Fatalf("rerun: %v\n%s", err, log.String())
	}
	if n := strings.Count(log.String(), "stale:"); n != 2 {
		t.Errorf("the rerun reported %d stale adaptations, want 2:\n%s", n, log.String())
	}
	for _, dir := range []string{finished, interrupted} {
		var got AdaptSummary
		if !readDone(dir, &got) || got.EmbeddingDraw != train.EmbeddingDraw {
			t.Errorf("%s: done mark %+v after the rerun, want embedding_draw %q", dir, got, train.EmbeddingDraw)
		}
	}
	for _, arm := range c.Arms {
		if fi, err := os.Stat(score(arm)); err != nil || !fi.ModTime().After(before[arm]) {
			t.Errorf("%s: the zero-shot score of the redone adaptation was not computed again (%v)", arm, err)
		}
	}
	if !strings.Contains(log.String(), "cached: hands over") {
		t.Errorf("the rerun redid pretraining:\n%s", log.String())
	}
}
