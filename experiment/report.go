package experiment

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"lethe/checkpoint"
	"lethe/report"
)

// reportMaxPoints is how many points a training-loss curve keeps for
// drawing: enough for the spikes after the forgetting arm's resets to stay
// visible (plot.Downsample keeps each bucket's extremes).
const reportMaxPoints = 1500

// WriteReport builds the experiment's report from res (the content of
// results.json) and the metrics.jsonl files of its runs under root (found
// through Layout{Root: root}; in an archived experiment, root's metrics
// bundle), and writes it into root as report.md,
// report.html and plots/*.svg. A missing metrics file (the random arm is
// never pretrained; a run may not have started) leaves its curves out; a
// missing or non-isFinite value prints as "n/a". No conclusion is written in
// advance: every statement about the numbers is computed from them.
func WriteReport(root string, res *Results) error {
	doc, err := buildReport(root, res)
	if err != nil {
		return err
	}
	if err := doc.WriteDir(root); err != nil {
		return fmt.Errorf("experiment: report: %w", err)
	}
	return nil
}

// buildReport assembles the report document; WriteReport writes it.
func buildReport(root string, res *Results) (*report.Document, error) {
	if res == nil {
		return nil, errors.New("experiment: report: no results")
	}
	b := &reportBuilder{res: res, cfg: &res.Config, layout: Layout{Root: root}}
	if err := b.load(); err != nil {
		return nil, err
	}
	b.doc.Title = "Lethe experiment: pretraining with active forgetting"
	for _, section := range []func() error{
		b.answer, b.controls, b.curves, b.mainResults, b.pretraining, b.adaptation, b.finetuning,
		b.convergence, b.relativeGain, b.howToRead, b.summary, b.reproduce,
	} {
		if err := section(); err != nil {
			return nil, err
		}
	}
	return &b.doc, nil
}

// runKey names one run: a seed, an adaptation seed (0 unless the run is an
// adaptation), an arm and a language or task ("" for pretraining).
type runKey struct {
	seed, adapt int
	arm, name   string
}

// replicate is one pass through the protocol: a pipeline seed and an
// adaptation seed. English and ceiling scores involve no adaptation and
// are stored under adaptation seed 0.
type replicate struct{ seed, adapt int }

// scoreKey names one cell of the results: the replicates are its samples.
type scoreKey struct {
	arm, task, lang, setting string
	step                     int
	// budget is the token budget of a zero-shot cell of the budget curves;
	// 0 for the language's main budget (what the main tables show).
	budget int64
}

// at is the replicate under which cell k stores the score of rep: rep
// itself for a zero-shot cell, its pipeline seed alone otherwise.
func (k scoreKey) at(rep replicate) replicate {
	if k.setting != SettingZeroShot {
		rep.adapt = 0
	}
	return rep
}

// reportBuilder gathers the inputs of the report and appends its sections.
type reportBuilder struct {
	res        *Results
	cfg        *Config
	layout     Layout
	seeds      []int       // pipeline seeds
	adaptSeeds int         // adaptation seeds per pipeline seed
	reps       []replicate // every pipeline seed with every adaptation seed
	doc        report.Document

	pretrain, adapt, finetune map[runKey]*metricsRun
	runs                      map[string]*metricsRun // every run read, by directory
	scores                    map[scoreKey]map[replicate]Score
}

// add appends blocks to the document.
func (b *reportBuilder) add(blocks ...report.Block) { b.doc.Blocks = append(b.doc.Blocks, blocks...) }

// load indexes the scores and reads the metrics of every run that has
// them: its own metrics file, or else its records in the experiment's
// metrics bundle.
func (b *reportBuilder) load() error {
	// The seeds are those with results (a report written after the first
	// of several seeds shows that seed alone).
	maxSeed := 0
	for _, p := range b.res.Pretrain {
		maxSeed = max(maxSeed, p.Seed)
	}
	b.adaptSeeds = b.cfg.Adapt.Replicates()
	for _, a := range b.res.Adapt {
		maxSeed = max(maxSeed, a.Seed)
		b.adaptSeeds = max(b.adaptSeeds, a.AdaptSeed)
	}
	b.scores = map[scoreKey]map[replicate]Score{}
	for _, s := range b.res.Scores {
		maxSeed = max(maxSeed, s.Seed)
		b.adaptSeeds = max(b.adaptSeeds, s.AdaptSeed)
		k := scoreKey{arm: s.Arm, task: s.Task, lang: s.Lang, setting: s.Setting, step: s.AdaptUpdates}
		switch s.Setting {
		case SettingEnglish, SettingOracle, SettingFresh:
			k.lang, k.step = "", 0
		case SettingCeiling:
			k.step = 0
		case SettingZeroShot:
			k.budget = b.budgetKey(s.Lang, s.Budget)
		}
		if b.scores[k] == nil {
			b.scores[k] = map[replicate]Score{}
		}
		// Zero-shot scores written before adaptation seeds existed carry 0: replicate 1.
		b.scores[k][k.at(replicate{s.Seed, max(s.AdaptSeed, 1)})] = s // a later duplicate replaces an earlier one
	}
	if maxSeed == 0 {
		maxSeed = max(b.cfg.Seeds, 1)
	}
	for s := 1; s <= maxSeed; s++ {
		b.seeds = append(b.seeds, s)
		for a := 1; a <= b.adaptSeeds; a++ {
			b.reps = append(b.reps, replicate{s, a})
		}
	}

	b.pretrain, b.adapt, b.finetune = map[runKey]*metricsRun{}, map[runKey]*metricsRun{}, map[runKey]*metricsRun{}
	b.runs = map[string]*metricsRun{}
	// An archived experiment holds its runs' metrics in one bundle.
	bundle, err := readBundle(filepath.Join(b.layout.Root, MetricsBundle))
	if err != nil {
		return err
	}
	read := func(into map[runKey]*metricsRun, k runKey, dir string) error {
		m, err := readMetricsFile(filepath.Join(dir, checkpoint.MetricsFile))
		if err != nil {
			return err
		}
		if m == nil && bundle != nil {
			rel, err := filepath.Rel(b.layout.Root, dir)
			if err != nil {
				return fmt.Errorf("experiment: report: %w", err)
			}
			m = bundle[filepath.ToSlash(rel)]
		}
		if m != nil {
			into[k] = m
			b.runs[dir] = m
		}
		return nil
	}
	for _, seed := range b.seeds {
		for _, arm := range b.cfg.Arms {
			if err := read(b.pretrain, runKey{seed, 0, arm, ""}, b.layout.Pretrain(seed, arm)); err != nil {
				return err
			}
			for _, lang := range b.cfg.Languages {
				for a := 1; a <= b.adaptSeeds; a++ {
					if err := read(b.adapt, runKey{seed, a, arm, lang}, b.layout.Adapt(seed, a, arm, lang, b.cfg.Adapt.stored(b.cfg.Adapt.mainBudget(lang)))); err != nil {
						return err
					}
				}
			}
			for _, task := range b.cfg.Tasks {
				if err := read(b.finetune, runKey{seed, 0, arm, task}, b.layout.Finetune(seed, arm, task)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// budgetKey is the scoreKey budget of a zero-shot score of language lang
// stored with budget: 0 for the main budget.
func (b *reportBuilder) budgetKey(lang string, stored int64) int64 {
	if stored == b.cfg.Adapt.stored(b.cfg.Adapt.mainBudget(lang)) {
		return 0
	}
	return stored
}

// repsOf is the replicates that cell k has samples for: every replicate for
// a zero-shot cell, one per pipeline seed otherwise.
func (b *reportBuilder) repsOf(k scoreKey) []replicate {
	if k.setting == SettingZeroShot {
		return b.reps
	}
	reps := make([]replicate, len(b.seeds))
	for i, seed := range b.seeds {
		reps[i] = replicate{seed, 0}
	}
	return reps
}

// values returns the isFinite values of metric over the replicates of cell
// k, in replicate order.
func (b *reportBuilder) values(k scoreKey, metric func(Score) float64) []float64 {
	var xs []float64
	for _, rep := range b.repsOf(k) {
		if v := b.value(k, rep, metric); !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	return xs
}

// value returns the score of cell k for one replicate, or NaN.
func (b *reportBuilder) value(k scoreKey, rep replicate, metric func(Score) float64) float64 {
	if s, ok := b.scores[k][k.at(rep)]; ok && isFinite(metric(s)) {
		return metric(s)
	}
	return math.NaN()
}

// cell formats cell k as mean ± std over its replicates.
func (b *reportBuilder) cell(k scoreKey, metric func(Score) float64) string {
	xs := b.values(k, metric)
	m, s := report.MeanStd(xs)
	return report.FormatMeanStd(m, s, len(xs), 1)
}

// mean is the mean over replicates of cell k (NaN when there is none).
func (b *reportBuilder) mean(k scoreKey, metric func(Score) float64) float64 {
	m, _ := report.MeanStd(b.values(k, metric))
	return m
}

// seedAverage is, for one replicate, the average over the configured
// languages of the zero-shot (or ceiling) cells given by key(lang); NaN
// unless every language has a value for that replicate, so that averages
// compare like with like.
func (b *reportBuilder) seedAverage(rep replicate, key func(lang string) scoreKey, metric func(Score) float64) float64 {
	if len(b.cfg.Languages) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, lang := range b.cfg.Languages {
		v := b.value(key(lang), rep, metric)
		if math.IsNaN(v) {
			return math.NaN()
		}
		sum += v
	}
	return sum / float64(len(b.cfg.Languages))
}

// averageCell formats the mean ± std over replicates of the per-replicate
// averages over languages.
func (b *reportBuilder) averageCell(key func(lang string) scoreKey, metric func(Score) float64) string {
	if len(b.cfg.Languages) == 0 {
		return report.FormatMeanStd(math.NaN(), math.NaN(), 0, 1)
	}
	var xs []float64
	for _, rep := range b.repsOf(key(b.cfg.Languages[0])) {
		if v := b.seedAverage(rep, key, metric); !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	m, s := report.MeanStd(xs)
	return report.FormatMeanStd(m, s, len(xs), 1)
}

// items is the number of test items of a language for a task (from any
// score of it), as a table cell.
func (b *reportBuilder) items(task, lang, setting string) string {
	for _, arm := range b.cfg.Arms {
		for _, step := range []int{b.cfg.Adapt.Updates, b.cfg.Adapt.LowStep, 0} {
			k := scoreKey{arm: arm, task: task, lang: lang, setting: setting, step: step}
			for _, rep := range b.repsOf(k) {
				if s, ok := b.scores[k][k.at(rep)]; ok && s.N > 0 {
					return strconv.Itoa(s.N)
				}
			}
		}
	}
	return "n/a"
}

// accuracyOf and macroF1Of pick a Score's metric.
func accuracyOf(s Score) float64 { return s.Accuracy }
func macroF1Of(s Score) float64  { return s.MacroF1 }

// seedsPhrase says over how many replicates a table mixing zero-shot
// figures with English and ceiling ones is aggregated.
func (b *reportBuilder) seedsPhrase() string {
	if b.adaptSeeds == 1 {
		return b.pipelinePhrase()
	}
	return b.replicatePhrase() + "; English and ceiling figures, which involve no adaptation, over the pretraining seed(s)"
}

// replicatePhrase says over how many replicates (pipeline seed x
// adaptation seed) an adaptation figure is aggregated.
func (b *reportBuilder) replicatePhrase() string {
	if b.adaptSeeds == 1 {
		return b.pipelinePhrase()
	}
	return fmt.Sprintf("mean ± sample standard deviation over %d replicates (%d pretraining seed(s) × %d adaptation seeds)",
		len(b.reps), len(b.seeds), b.adaptSeeds)
}

// pipelinePhrase says over how many pipeline seeds a figure that involves
// no adaptation is aggregated.
func (b *reportBuilder) pipelinePhrase() string {
	if len(b.seeds) == 1 {
		return "one seed"
	}
	return fmt.Sprintf("mean ± sample standard deviation over %d seeds", len(b.seeds))
}
