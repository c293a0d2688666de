package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"lethe/checkpoint"
	"lethe/corpus"
	"lethe/dataset"
	"lethe/evaluate"
	"lethe/finetune"
	"lethe/internal/atomicfile"
	"lethe/internal/parallel"
	"lethe/internal/runlock"
	"lethe/loop"
	"lethe/prepare"
	"lethe/roberta"
	"lethe/task"
	"lethe/tokenizer"
	"lethe/train"
)

// Options configure Run.
type Options struct {
	Config  Config
	Out     string    // the experiment directory
	Command string    // the command line, recorded in the report
	Log     io.Writer // stage headers and progress bars; nil discards them
}

// doneFile marks a finished stage directory; it holds the stage's summary.
const doneFile = "done.json"

// runner is the state of one Run.
type runner struct {
	o       Options
	c       Config
	l       Layout
	log     io.Writer
	pool    *parallel.Pool
	res     *Results
	step    int
	steps   int
	clock   *stageClock
	started time.Time
}

// Run executes the experiment in o.Out, skipping every stage that a
// previous run finished and resuming one that was interrupted, then writes
// results.json and the report. Cancelling ctx stops the running stage after
// it saved a checkpoint; the error then wraps checkpoint.ErrInterrupted.
func Run(ctx context.Context, o Options) (*Results, error) {
	c := o.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := checkData(c); err != nil {
		return nil, err
	}
	lock, err := runlock.Acquire(o.Out)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	defer lock.Release()
	if err := checkSameExperiment(filepath.Join(o.Out, "config.json"), c); err != nil {
		return nil, err
	}
	r := &runner{o: o, c: c, l: Layout{Root: o.Out}, log: o.Log, started: time.Now()}
	if r.log == nil {
		r.log = io.Discard
	}
	r.pool = parallel.New(c.Threads)
	defer r.pool.Close()
	r.res = &Results{Config: c, Command: o.Command, Started: r.started.UTC().Format(time.RFC3339),
		Stages: map[string]float64{}, UnigramFloor: map[string]float64{}}
	// Stage times are summed over runs: a resumed experiment (results.json
	// is rewritten after every arm) keeps what the earlier runs spent.
	if prev, err := ReadResults(o.Out); err == nil {
		for k, v := range prev.Stages {
			r.res.Stages[k] = v
		}
	}
	langs := append([]string{"en"}, c.Languages...)
	adaptRuns := 0
	for _, lang := range c.Languages {
		adaptRuns += len(c.Adapt.budgets(lang)) * c.Adapt.Replicates()
	}
	r.steps = 2*len(langs) + c.Seeds*(len(c.Arms)+len(c.Arms)*adaptRuns+2*len(c.Arms)*len(c.Tasks))
	pretrained := len(c.Arms)
	if slices.Contains(c.Arms, ArmRandom) {
		pretrained--
	}
	tokenizers := 0
	for _, lang := range langs {
		if !EnglishDerived(lang) {
			tokenizers++
		}
	}
	r.clock = newStageClock(map[string]int{
		"tokenizer": tokenizers, "data": len(langs),
		"pretrain": c.Seeds * pretrained, "random body": c.Seeds * (len(c.Arms) - pretrained),
		"adapt":    c.Seeds * len(c.Arms) * adaptRuns,
		"finetune": c.Seeds * len(c.Arms) * len(c.Tasks), "evaluate": c.Seeds * len(c.Arms) * len(c.Tasks),
	})

	for _, lang := range langs {
		if EnglishDerived(lang) {
			r.step++ // uses the English tokenizer
			continue
		}
		if err := r.tokenizer(ctx, lang); err != nil {
			return nil, err
		}
	}
	for _, lang := range langs {
		if err := r.data(ctx, lang); err != nil {
			return nil, err
		}
		floor, err := unigramFloor(r.l.Data(lang))
		if err != nil {
			return nil, err
		}
		r.res.UnigramFloor[lang] = floor
	}
	// Each arm of each seed goes through the whole protocol before the next
	// starts, and what has finished is reported at once: a long experiment
	// has a readable report (the first arm's curves, say) hours before its
	// end.
	for seed := 1; seed <= c.Seeds; seed++ {
		for i, arm := range c.Arms {
			if err := r.arm(ctx, seed, arm); err != nil {
				return nil, err
			}
			if seed == c.Seeds && i == len(c.Arms)-1 {
				break
			}
			if err := r.write(); err != nil {
				return nil, err
			}
			fmt.Fprintf(r.log, "experiment: seed %d of %d, arm %s finished; report so far: %s\n", seed, c.Seeds, arm, filepath.Join(o.Out, "report.html"))
		}
	}
	r.res.Finished = time.Now().UTC().Format(time.RFC3339)
	if err := r.write(); err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "experiment: finished in %s; report %s\n", time.Since(r.started).Round(time.Second), filepath.Join(o.Out, "report.html"))
	return r.res, nil
}

// arm runs the protocol for one arm of one pipeline seed: pretraining,
// language adaptation to every language under every budget, and per task
// fine-tuning and evaluation.
func (r *runner) arm(ctx context.Context, seed int, arm string) error {
	c := r.c
	body, err := r.pretrain(ctx, seed, arm)
	if err != nil {
		return err
	}
	for _, lang := range c.Languages {
		for _, budget := range c.Adapt.budgets(lang) {
			for rep := 1; rep <= c.Adapt.Replicates(); rep++ {
				if err := r.adapt(ctx, seed, rep, arm, lang, budget, body); err != nil {
					return err
				}
			}
		}
	}
	for _, t := range c.Tasks {
		taskModel, err := r.finetune(ctx, seed, arm, t, body)
		if err != nil {
			return err
		}
		if err := r.evaluate(ctx, seed, arm, t, taskModel, body); err != nil {
			return err
		}
	}
	return nil
}

// write writes results.json and the report of what has finished.
func (r *runner) write() error {
	r.res.Seconds = time.Since(r.started).Seconds()
	if err := atomicfile.WriteJSON(r.l.Results(), r.res); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	if err := WriteReport(r.o.Out, r.res); err != nil {
		return fmt.Errorf("experiment: report: %w", err)
	}
	return nil
}

// header announces a stage of kind kind (a key of the stage clock's plan)
// and, once every kind has run once, the time the experiment has left.
func (r *runner) header(kind, format string, args ...any) {
	r.step++
	fmt.Fprintf(r.log, "\n[%d/%d] %s\n", r.step, r.steps, fmt.Sprintf(format, args...))
	r.clock.begin(kind, time.Now())
	if d, ok := r.clock.left(); ok {
		fmt.Fprintf(r.log, "experiment: about %s left, at this run's pace so far\n", fmtDuration(d.Seconds()))
	}
}

// timed adds the duration of fn to the stage kind's wall time and logs it,
// unless the stage was found in the cache.
func (r *runner) timed(kind string, fn func() error) error {
	t := time.Now()
	err := fn()
	d := time.Since(t)
	r.res.Stages[kind] += d.Seconds()
	if err == nil && !r.clock.cached {
		fmt.Fprintf(r.log, "%s stage: %s\n", kind, fmtDuration(d.Seconds()))
	}
	return err
}

// corpusFile is the text of a language in the data directory.
func (c *Config) corpusFile(lang string) string {
	return filepath.Join(c.Data, "corpora", lang+".txt")
}

// taskFile names a task file in the data directory.
func (c *Config) taskFile(t, lang, name string) string {
	return filepath.Join(c.Data, t, lang, name)
}

// testFile is the test file of task t in language lang, and ceilingFile
// the English originals of the same items. An English-derived language is
// scored on the English test set, transformed as its text is (made on first
// use), so its ceiling is the English test set itself.
func (r *runner) testFile(t, lang string) (string, error) {
	switch {
	case lang == LangRelearn:
		return r.c.taskFile(t, "en", "test.tsv"), nil
	case EnglishDerived(lang):
		path := r.l.TaskFile(t, lang, "test.tsv")
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		return path, transformFile(lang, r.c.taskFile(t, "en", "test.tsv"), path, true)
	}
	return r.c.taskFile(t, lang, "test.tsv"), nil
}

func (r *runner) ceilingFile(t, lang string) string {
	if EnglishDerived(lang) {
		return r.c.taskFile(t, "en", "test.tsv")
	}
	return r.c.taskFile(t, lang, "test.en.tsv")
}

// checkData fails at once, naming what is missing and how to make it, when
// the data directory lacks a corpus or task file the experiment needs.
func checkData(c Config) error {
	need := []string{c.corpusFile("en")}
	for _, t := range c.Tasks {
		need = append(need, c.taskFile(t, "en", "train.tsv"), c.taskFile(t, "en", "dev.tsv"), c.taskFile(t, "en", "test.tsv"))
	}
	for _, l := range c.Languages {
		if EnglishDerived(l) {
			continue // made from English's corpus and task files
		}
		need = append(need, c.corpusFile(l))
		for _, t := range c.Tasks {
			need = append(need, c.taskFile(t, l, "test.tsv"), c.taskFile(t, l, "test.en.tsv"))
		}
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("experiment: %s is missing: build the data with \"lethe data build --out %s --langs %s\" "+
				"(or point --data at a directory with corpora/<lang>.txt and <task>/<lang>/*.tsv files)", p, c.Data, langList(c.Languages))
		}
	}
	return nil
}

func langList(ls []string) string {
	s := "en"
	for _, l := range ls {
		s += "," + l
	}
	return s
}

// checkSameExperiment records c in path, or checks that the experiment already there
// was run with c: cached stages of another configuration must not be mixed in.
// Only the numbers of seeds may differ (more seeds extend the experiment);
// path then records the new counts.
func checkSameExperiment(path string, c Config) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return atomicfile.WriteJSON(path, c)
	}
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	var prev Config
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("experiment: %s: %w", path, err)
	}
	// More seeds (pipeline or adaptation) extend an experiment: the
	// finished ones are cached, so those counts may differ.
	prev.Seeds, prev.Adapt.Seeds = c.Seeds, c.Adapt.Seeds
	if !reflect.DeepEqual(prev, c) {
		a, _ := json.Marshal(prev)
		b, _ := json.Marshal(c)
		return fmt.Errorf("experiment: %s holds an experiment with another configuration:\n  was: %s\n  now: %s\n"+
			"rerun with the same preset and overrides to continue it, or choose another --out", filepath.Dir(path), a, b)
	}
	return atomicfile.WriteJSON(path, c)
}

// readDone reads a finished stage's summary into v; false if the stage has
// not finished.
func readDone(dir string, v any) bool {
	raw, err := os.ReadFile(filepath.Join(dir, doneFile))
	if err != nil {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

func writeDone(dir string, v any) error {
	if err := atomicfile.WriteJSON(filepath.Join(dir, doneFile), v); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}

// tokenizer trains language lang's SentencePiece model, once.
func (r *runner) tokenizer(ctx context.Context, lang string) error {
	path := r.l.Tokenizer(lang)
	vocab := r.c.Tokenizer.LanguageVocab
	if v, ok := r.c.Tokenizer.LanguageVocabOverrides[lang]; ok {
		vocab = v
	}
	if lang == "en" {
		vocab = r.c.Tokenizer.EnglishVocab
	}
	r.header("tokenizer", "tokenizer %s: %d pieces from %s", lang, vocab, r.c.corpusFile(lang))
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(r.log, "cached: %s\n", path)
		r.clock.hit()
		return nil
	}
	return r.timed("tokenizers", func() error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		o := tokenizer.DefaultTrainOptions()
		o.Inputs = []string{r.c.corpusFile(lang)}
		o.VocabSize = vocab
		o.InputSentenceSize = r.c.Tokenizer.MaxSentences
		o.ShuffleInputSentence = r.c.Tokenizer.MaxSentences > 0
		o.NumThreads = r.c.Threads
		prefix := path[:len(path)-len(".model")]
		o.ModelPrefix = prefix
		m, _, err := tokenizer.Train(ctx, o)
		if err != nil {
			return fmt.Errorf("experiment: tokenizer %s: %w", lang, err)
		}
		if err := tokenizer.WriteTrainedModel(prefix, m); err != nil {
			return fmt.Errorf("experiment: tokenizer %s: %w", lang, err)
		}
		return nil
	})
}

// data tokenizes language lang's corpus into token files, once. English is
// capped at Pretrain.MaxCorpusBytes when that is set.
func (r *runner) data(ctx context.Context, lang string) error {
	dir := r.l.Data(lang)
	r.header("data", "token files %s: %s", lang, dir)
	if _, err := prepare.ReadSummary(dir); err == nil {
		fmt.Fprintf(r.log, "cached: %s\n", dir)
		r.clock.hit()
		return nil
	}
	return r.timed("data", func() error {
		input := r.c.corpusFile(lang)
		if err := os.MkdirAll(filepath.Join(r.o.Out, "data"), 0o755); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		head := filepath.Join(r.o.Out, "data", "en-head.txt")
		switch {
		case lang == "en" && r.c.Pretrain.HoldOut > 0:
			if err := r.splitEnglish(head); err != nil {
				return err
			}
			input = head
		case lang == "en" && r.c.Pretrain.MaxCorpusBytes > 0:
			if err := cutCorpus(input, r.c.Pretrain.MaxCorpusBytes, head, ""); err != nil {
				return err
			}
			input = head
		case EnglishDerived(lang):
			// English that pretraining did not read (the held-out
			// descriptions, or the documents after its head), transformed
			// as the language requires.
			unseen := r.l.Corpus(LangRelearn)
			if _, err := os.Stat(unseen); err != nil {
				if r.c.Pretrain.HoldOut > 0 {
					err = r.splitEnglish("")
				} else {
					err = cutCorpus(r.c.corpusFile("en"), r.c.Pretrain.MaxCorpusBytes, "", unseen)
				}
				if err != nil {
					return err
				}
			}
			input = unseen
			if lang != LangRelearn {
				input = r.l.Corpus(lang)
				if err := transformFile(lang, unseen, input, false); err != nil {
					return err
				}
			}
		case r.c.Adapt.InDomain && lang != "en":
			n, err := ddtpDocuments(r.c.Data, lang)
			if err != nil {
				return err
			}
			input = r.l.Corpus(lang)
			if err := splitCorpus(r.c.corpusFile(lang), []string{input}, func(i int, _ []string) int {
				if i < n {
					return 0
				}
				return -1
			}); err != nil {
				return err
			}
		}
		enc, err := prepare.LoadEncoder(r.l.Tokenizer(lang))
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		_, err = prepare.Run(ctx, prepare.Config{Model: r.l.Tokenizer(lang), Inputs: []string{input}, OutDir: dir,
			Split: corpus.Split{ValidFraction: r.c.Pretrain.ValidFraction, Seed: 1}, Workers: r.c.Threads}, enc, r.log)
		if err != nil {
			return fmt.Errorf("experiment: token files %s: %w", lang, err)
		}
		return nil
	})
}

// splitEnglish divides the English corpus: the held-out share of its
// package descriptions (Pretrain.HoldOut) becomes en-relearn's text, the
// rest, up to Pretrain.MaxCorpusBytes, pretraining's (written to head
// unless head is "").
func (r *runner) splitEnglish(head string) error {
	n, err := ddtpDocuments(r.c.Data, "en")
	if err != nil {
		return err
	}
	var bytes int64
	max := r.c.Pretrain.MaxCorpusBytes
	return splitCorpus(r.c.corpusFile("en"), []string{head, r.l.Corpus(LangRelearn)}, func(i int, doc []string) int {
		if i < n && heldOut(doc, r.c.Pretrain.HoldOut) {
			return 1
		}
		if max > 0 && bytes >= max {
			return -1
		}
		for _, line := range doc {
			bytes += int64(len(line) + 1)
		}
		bytes++
		return 0
	})
}

// modelConfig is the RoBERTa configuration of the experiment's body.
func (r *runner) modelConfig(vocab int) roberta.Config {
	cfg, _ := roberta.Preset("small")
	m := r.c.Model
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = vocab, m.Hidden, m.Layers, m.Heads, m.FFN
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = m.Dropout, m.Dropout
	cfg.SetMaxSeqLen(max(m.SeqLen, r.c.Finetune.MaxLength))
	return cfg
}

// pretrain runs one arm's stage 1 and returns the checkpoint it hands over.
func (r *runner) pretrain(ctx context.Context, seed int, arm string) (string, error) {
	dir := r.l.Pretrain(seed, arm)
	kind := "pretrain"
	if arm == ArmRandom {
		kind = "random body"
	}
	r.header(kind, "pretrain %s (seed %d) into %s", arm, seed, dir)
	var sum PretrainSummary
	if readDone(dir, &sum) {
		fmt.Fprintf(r.log, "cached: hands over %s\n", sum.HandOver)
		r.clock.hit()
		r.res.Pretrain = append(r.res.Pretrain, sum)
		return sum.HandOver, nil
	}
	err := r.timed("pretrain", func() error {
		data := r.l.Data("en")
		s, err := prepare.ReadSummary(data)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		if arm == ArmRandom {
			return r.randomBody(dir, seed, s.VocabSize, &sum)
		}
		p := r.c.Pretrain
		o := train.DefaultOptions()
		o.Config = r.modelConfig(s.VocabSize)
		o.TrainFile, o.ValidFile = prepare.Dir(data).Train(), prepare.Dir(data).Valid()
		o.MaskID = s.MaskID
		o.Tokenizer = r.l.Tokenizer("en")
		o.OutDir = dir
		o.BatchSize = p.BatchSize
		o.SeqLen = r.c.Model.SeqLen
		o.Updates = p.Updates
		o.WarmupUpdates = p.WarmupUpdates
		o.PeakLR = p.LR
		o.ClipNorm = p.ClipNorm
		o.Seed = uint64(seed)
		o.ValidEvery = p.ValidEvery
		o.ValidBatches = p.ValidBatches
		o.SaveEvery = p.ValidEvery
		o.Threads, o.Progress = r.c.Threads, r.log
		if arm == ArmForgetting {
			o.ForgetEvery = p.ForgetEvery
		}
		t := time.Now()
		res, err := train.Run(ctx, o)
		if err != nil {
			return err
		}
		sum = PretrainSummary{Seed: seed, Arm: arm, Updates: res.Update, Seconds: time.Since(t).Seconds(), TokensPerSec: res.TokensPerSec}
		// As in the authors' code: the standard arm hands over its last checkpoint, the
		// forgetting arm its best-validation one.
		handOver := checkpoint.Last
		if arm == ArmForgetting {
			handOver = checkpoint.Best
		}
		sum.HandOver = filepath.Join(dir, handOver)
		return summarisePretrain(dir, arm, &sum)
	})
	if err != nil {
		return "", err
	}
	if err := writeDone(dir, sum); err != nil {
		return "", err
	}
	r.res.Pretrain = append(r.res.Pretrain, sum)
	return sum.HandOver, nil
}

// randomBody writes the control arm: a randomly initialised model with the
// English tokenizer, never trained.
func (r *runner) randomBody(dir string, seed, vocab int, sum *PretrainSummary) error {
	cfg := r.modelConfig(vocab)
	p, err := roberta.NewParams(cfg)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	p.Init(uint64(seed))
	tok, err := os.ReadFile(r.l.Tokenizer("en"))
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	out := filepath.Join(dir, checkpoint.Last)
	if err := checkpoint.Save(out, &checkpoint.Checkpoint{Config: cfg, Params: p.All(), Files: map[string][]byte{checkpoint.Tokenizer: tok}}); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	// No validation figures: the body was never trained (zero updates; the
	// report shows them as n/a). JSON has no NaN.
	*sum = PretrainSummary{Seed: seed, Arm: ArmRandom, HandOver: out}
	return nil
}

// readRun reads a finished run's metrics.jsonl (readMetricsFile: records
// a resumed run logged again are counted once).
func readRun(dir string) (*metricsRun, error) {
	m, err := readMetricsFile(filepath.Join(dir, checkpoint.MetricsFile))
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("experiment: %s has no %s", dir, checkpoint.MetricsFile)
	}
	return m, nil
}

// orZero maps a missing (NaN) figure to 0, which JSON can hold; the report
// prints the figures of a run without validation as n/a.
func orZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

// summarisePretrain fills the validation figures of the hand-over
// checkpoint (the last validation for checkpoint-last, the best for
// checkpoint-best) and the number of resets.
func summarisePretrain(dir, arm string, sum *PretrainSummary) error {
	m, err := readRun(dir)
	if err != nil {
		return err
	}
	for _, t := range m.train {
		if t.forgot {
			sum.Resets++
		}
	}
	for i, v := range m.valid {
		if arm != ArmForgetting || i == 0 || v.loss < sum.ValidLoss {
			sum.HandOverUpdate, sum.ValidLoss = v.update, orZero(v.loss)
			sum.MaskOnlyLoss, sum.MaskOnlyAccuracy = orZero(v.maskOnlyLoss), orZero(v.maskOnlyAcc)
		}
	}
	return nil
}

// adapt runs stage 2 of one arm for one language: adaptation replicate rep
// of the body of pipeline seed seed.
func (r *runner) adapt(ctx context.Context, seed, rep int, arm, lang string, budget int64, from string) error {
	dir := r.l.Adapt(seed, rep, arm, lang, r.c.Adapt.stored(budget))
	r.header("adapt", "adapt %s to %s (seed %d, adaptation seed %d): %d tokens, %d updates", arm, lang, seed, rep, budget, r.c.Adapt.Updates)
	var sum AdaptSummary
	if readDone(dir, &sum) {
		if sum.EmbeddingDraw == train.EmbeddingDraw {
			fmt.Fprintln(r.log, "cached")
			r.clock.hit()
			r.res.Adapt = append(r.res.Adapt, sum)
			return nil
		}
		fmt.Fprintf(r.log, "stale: adapted from another draw of the fresh embeddings (%q, now %q); adapting again\n", sum.EmbeddingDraw, train.EmbeddingDraw)
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
	}
	// The zero-shot scores of this adaptation's checkpoints are stale
	// from here on, whatever happens.
	for _, t := range r.c.Tasks {
		for _, u := range r.c.Adapt.SaveAt {
			path := filepath.Join(r.l.Eval(seed, arm, t), scoreFile(lang, SettingZeroShot, u, rep, r.c.Adapt.stored(budget)))
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("experiment: %w", err)
			}
		}
	}
	err := r.timed("adapt", func() error {
		data := r.l.Data(lang)
		s, err := prepare.ReadSummary(data)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		a := r.c.Adapt
		o := train.DefaultOptions()
		o.Stage, o.InitFrom = train.StageLanguage, from
		o.TrainFile, o.ValidFile = prepare.Dir(data).Train(), prepare.Dir(data).Valid()
		o.MaskID = s.MaskID
		o.Tokenizer = r.l.Tokenizer(lang)
		o.OutDir = dir
		o.MaxTokens, o.SaveAt = budget, a.SaveAt
		o.BatchSize = a.BatchSize
		o.SeqLen = r.c.Model.SeqLen
		o.Updates = a.Updates
		o.WarmupUpdates = a.WarmupUpdates
		o.PeakLR = a.LR
		o.ClipNorm = a.ClipNorm
		o.Seed = adaptationSeed(seed, rep)
		o.ValidEvery = a.ValidEvery
		o.ValidBatches = a.ValidBatches
		o.SaveEvery = a.ValidEvery
		o.Threads, o.Progress = r.c.Threads, r.log
		t := time.Now()
		_, err = train.Run(ctx, o)
		if errors.Is(err, loop.ErrOtherRun) {
			// An interrupted adaptation of another Lethe (another draw of
			// the fresh embeddings): its scores are already dropped.
			fmt.Fprintf(r.log, "stale: %s was started by a run with other settings; adapting again\n", dir)
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("experiment: %w", err)
			}
			_, err = train.Run(ctx, o)
		}
		if err != nil {
			return err
		}
		sum = AdaptSummary{Seed: seed, AdaptSeed: rep, Arm: arm, Lang: lang, Budget: r.c.Adapt.stored(budget),
			EmbeddingDraw: train.EmbeddingDraw, Seconds: time.Since(t).Seconds()}
		if sum.TrainTokens, err = budgetTokens(o); err != nil {
			return err
		}
		m, err := readRun(dir)
		if err != nil {
			return err
		}
		if n := len(m.valid); n > 0 {
			v := m.valid[n-1]
			sum.ValidLoss, sum.MaskOnlyLoss, sum.MaskOnlyAcc = orZero(v.loss), orZero(v.maskOnlyLoss), orZero(v.maskOnlyAcc)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.res.Adapt = append(r.res.Adapt, sum)
	return writeDone(dir, sum)
}

// budgetTokens is the number of tokens the adaptation run trained on.
func budgetTokens(o train.Options) (int64, error) {
	f, err := dataset.Open(o.TrainFile)
	if err != nil {
		return 0, fmt.Errorf("experiment: %w", err)
	}
	defer f.Close()
	seq, err := dataset.NewSequences(f, o.SeqLen)
	if err != nil {
		return 0, fmt.Errorf("experiment: %w", err)
	}
	if o.MaxTokens > 0 {
		seq = seq.Subsample(o.MaxTokens, o.Seed)
	}
	return seq.Tokens(), nil
}

// finetune runs stage 3 of one arm on one task and returns the selected
// task model.
func (r *runner) finetune(ctx context.Context, seed int, arm, t, from string) (string, error) {
	dir := r.l.Finetune(seed, arm, t)
	best := filepath.Join(dir, checkpoint.Best)
	r.header("finetune", "fine-tune %s on English %s (seed %d)", arm, t, seed)
	var done struct{ BestDev float64 }
	if readDone(dir, &done) {
		fmt.Fprintf(r.log, "cached: dev accuracy %.2f\n", done.BestDev)
		r.clock.hit()
		return best, nil
	}
	err := r.timed("finetune", func() error {
		f := r.c.Finetune
		tr, err := task.ReadClassification(r.c.taskFile(t, "en", "train.tsv"), task.ReadOptions{Lang: "en"})
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		dev, err := task.ReadClassification(r.c.taskFile(t, "en", "dev.tsv"), task.ReadOptions{Labels: tr.Labels, Lang: "en"})
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		examples := tr.Examples
		if f.MaxTrain > 0 && len(examples) > f.MaxTrain {
			rng := rand.New(rand.NewPCG(uint64(seed), 0x7A5C))
			perm := rng.Perm(len(examples))[:f.MaxTrain]
			sub := make([]task.Example, len(perm))
			for i, j := range perm {
				sub[i] = examples[j]
			}
			examples = sub
		}
		o := finetune.DefaultOptions()
		o.From, o.OutDir = from, dir
		o.Spec = finetune.Spec{Kind: finetune.Classification, Labels: tr.Labels, MaxLength: f.MaxLength}
		o.Train, o.Dev = examples, dev.Examples
		o.BatchSize = f.BatchSize
		o.Epochs = f.Epochs
		o.PeakLR = f.LR
		o.WarmupFraction = f.WarmupFraction
		o.Seed = uint64(seed)
		o.Threads, o.Progress = r.c.Threads, r.log
		res, err := finetune.Finetune(ctx, o)
		if err != nil {
			return err
		}
		done.BestDev = res.BestDev
		return nil
	})
	if err != nil {
		return "", err
	}
	return best, writeDone(dir, done)
}

// evaluate scores one task model: on the English test set; through the
// splice code with the embeddings of its own pretrained body (the oracle,
// which must give the English score exactly) and with untrained embeddings
// (the chance line); on the English originals of each language's test items
// (the ceiling); and zero-shot in each language after splicing in the
// embeddings of every adaptation checkpoint of every budget. Each score is
// cached as JSON in the eval directory.
func (r *runner) evaluate(ctx context.Context, seed int, arm, t, taskModel, body string) error {
	dir := r.l.Eval(seed, arm, t)
	r.header("evaluate", "evaluate %s %s (seed %d): English, controls, ceilings and zero-shot in %d languages at %d adaptation checkpoints of %d adaptation seed(s)",
		arm, t, seed, len(r.c.Languages), len(r.c.Adapt.SaveAt), r.c.Adapt.Replicates())
	return r.timed("evaluate", func() error {
		var english *finetune.Model // the task model, loaded once for English and every ceiling
		var bodyEmb []float32       // the body's token embeddings, read once for every embedding cosine
		computed := false           // whether any score was not in the cache
		// score evaluates model (made by splice when the score is not
		// cached) on file.
		score := func(model string, splice func(out string) error, file, lang, setting string, u, rep int, budget int64) error {
			path := filepath.Join(dir, scoreFile(lang, setting, u, rep, budget))
			var res evaluate.Result
			if raw, err := os.ReadFile(path); err != nil || json.Unmarshal(raw, &res) != nil || res.Overall == nil {
				computed = true
				m := english
				if splice != nil {
					model = filepath.Join(dir, ".spliced")
					os.RemoveAll(model)
					defer os.RemoveAll(model)
					if err := splice(model); err != nil {
						return err
					}
					m = nil
				}
				if m == nil {
					var err error
					if m, err = finetune.Load(model, 64, r.pool); err != nil {
						return err
					}
					if model == taskModel {
						english = m
					}
				}
				got, err := evaluate.Classification(ctx, m, file, lang)
				if err != nil {
					return err
				}
				got.Model = model
				if err := got.WriteJSON(path); err != nil {
					return err
				}
				res = *got
			}
			r.res.Scores = append(r.res.Scores, Score{Seed: seed, Arm: arm, Task: t, Lang: lang, Setting: setting, AdaptUpdates: u, AdaptSeed: rep,
				Budget: budget, N: res.Overall.N, Accuracy: 100 * res.Overall.Accuracy, MacroF1: 100 * res.Overall.MacroF1, File: file})
			return nil
		}
		enTest := r.c.taskFile(t, "en", "test.tsv")
		if err := score(taskModel, nil, enTest, "en", SettingEnglish, 0, 0, 0); err != nil {
			return err
		}
		oracle := func(out string) error {
			return finetune.Splice(taskModel, body, out, finetune.SpliceOptions{Language: "en"})
		}
		if err := score("", oracle, enTest, "en", SettingOracle, 0, 0, 0); err != nil {
			return err
		}
		fresh := func(out string) error {
			return finetune.Splice(taskModel, body, out, finetune.SpliceOptions{Language: "en", FreshSeed: freshSeed(seed)})
		}
		if err := score("", fresh, enTest, "en", SettingFresh, 0, 0, 0); err != nil {
			return err
		}
		for _, lang := range r.c.Languages {
			if err := score(taskModel, nil, r.ceilingFile(t, lang), lang, SettingCeiling, 0, 0, 0); err != nil {
				return err
			}
			test, err := r.testFile(t, lang)
			if err != nil {
				return err
			}
			for _, budget := range r.c.Adapt.budgets(lang) {
				for rep := 1; rep <= r.c.Adapt.Replicates(); rep++ {
					for _, u := range r.c.Adapt.SaveAt {
						ckpt := filepath.Join(r.l.Adapt(seed, rep, arm, lang, r.c.Adapt.stored(budget)), checkpoint.At(u))
						splice := func(out string) error {
							return finetune.Splice(taskModel, ckpt, out, finetune.SpliceOptions{Language: lang})
						}
						if err := score("", splice, test, lang, SettingZeroShot, u, rep, r.c.Adapt.stored(budget)); err != nil {
							return err
						}
						if EnglishDerived(lang) {
							if bodyEmb == nil {
								if bodyEmb, err = readWordEmbeddings(body); err != nil {
									return err
								}
							}
							cos, err := embeddingCosine(ckpt, bodyEmb)
							if err != nil {
								return err
							}
							r.res.Scores[len(r.res.Scores)-1].EmbeddingCosine = &cos
						}
					}
				}
			}
		}
		fmt.Fprintf(r.log, "%s\n", r.scoreLine(seed, arm, t))
		if !computed {
			r.clock.hit()
		}
		return nil
	})
}

// freshSeed is the seed of the untrained embeddings of the chance-line
// control of pipeline seed seed.
func freshSeed(seed int) uint64 { return uint64(seed) ^ 0xF7E5_0000_0000 }

// scoreFile names the cached result of one evaluation in an eval directory;
// rep is the adaptation seed of a zero-shot score (0 otherwise), budget its
// token budget (0 without budget curves).
func scoreFile(lang, setting string, u, rep int, budget int64) string {
	switch {
	case setting != SettingZeroShot:
		return fmt.Sprintf("%s-%s-%d.json", lang, setting, u)
	case budget > 0:
		return fmt.Sprintf("%s-%s-budget-%s-%d-seed-%d.json", lang, setting, FormatBudget(budget), u, rep)
	}
	return fmt.Sprintf("%s-%s-%d-seed-%d.json", lang, setting, u, rep)
}

// scoreLine summarises an arm's English score and its zero-shot scores at
// the last checkpoint, averaged over adaptation seeds.
func (r *runner) scoreLine(seed int, arm, t string) string {
	s := fmt.Sprintf("%s %s:", arm, t)
	var langs []string
	sum, n := map[string]float64{}, map[string]int{}
	for _, sc := range r.res.Scores {
		if sc.Seed == seed && sc.Arm == arm && sc.Task == t && (sc.Setting == SettingEnglish ||
			(sc.Setting == SettingZeroShot && sc.AdaptUpdates == r.c.Adapt.Updates && sc.Budget == r.c.Adapt.stored(r.c.Adapt.mainBudget(sc.Lang)))) {
			if n[sc.Lang] == 0 {
				langs = append(langs, sc.Lang)
			}
			sum[sc.Lang] += sc.Accuracy
			n[sc.Lang]++
		}
	}
	for _, lang := range langs {
		s += fmt.Sprintf(" %s %.1f%%", lang, sum[lang]/float64(n[lang]))
	}
	return s
}

// unigramFloor is the cross-entropy, in nats per token, of the maskable
// tokens of dir/valid.tok under the add-one-smoothed unigram distribution of
// dir/train.tok: what a model that ignores context can reach.
func unigramFloor(dir string) (float64, error) {
	tr, err := dataset.Open(prepare.Dir(dir).Train())
	if err != nil {
		return 0, fmt.Errorf("experiment: %w", err)
	}
	defer tr.Close()
	va, err := dataset.Open(prepare.Dir(dir).Valid())
	if err != nil {
		return 0, fmt.Errorf("experiment: %w", err)
	}
	defer va.Close()
	s, err := prepare.ReadSummary(dir)
	if err != nil {
		return 0, fmt.Errorf("experiment: %w", err)
	}
	mask := dataset.RobertaMask(s.MaskID, tr.VocabSize())
	counts := make([]float64, tr.VocabSize())
	var total float64
	for _, id := range tr.Tokens(0, tr.NumTokens()) {
		if mask.Maskable(id) {
			counts[id]++
			total++
		}
	}
	kinds := 0.0
	for id := range counts {
		if mask.Maskable(int32(id)) {
			kinds++
		}
	}
	var nll, n float64
	for _, id := range va.Tokens(0, va.NumTokens()) {
		if mask.Maskable(id) {
			nll -= math.Log((counts[id] + 1) / (total + kinds))
			n++
		}
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return nll / n, nil
}
