package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"lethe/plot"
	"lethe/report"
	"lethe/train"
)

// reportMaxPoints is how many points a training-loss curve keeps for
// drawing: enough for the spikes after the forgetting arm's resets to stay
// visible (plot.Downsample keeps each bucket's extremes).
const reportMaxPoints = 1500

// WriteReport builds the experiment's report from res (the content of
// results.json) and the metrics.jsonl files of its runs under root (found
// through Layout{Root: root}), and writes it into root as report.md,
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
	scores                    map[scoreKey]map[replicate]Score
}

// add appends blocks to the document.
func (b *reportBuilder) add(blocks ...report.Block) { b.doc.Blocks = append(b.doc.Blocks, blocks...) }

// load indexes the scores and reads every run's metrics file that exists.
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
	read := func(into map[runKey]*metricsRun, k runKey, dir string) error {
		m, err := readMetricsFile(filepath.Join(dir, train.MetricsFile))
		if err != nil {
			return err
		}
		if m != nil {
			into[k] = m
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

// summary is the settings paragraph: what was run, with what, and how long
// it took.
func (b *reportBuilder) summary() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Settings"})
	var s strings.Builder
	fmt.Fprintf(&s, "Preset **%s**: pretraining arms %s; target languages %s (ordered from close to distant from English); tasks %s; %d seed(s), each adapted with %d adaptation seed(s). ",
		mdLiteral(c.Preset), mdLiteral(strings.Join(c.Arms, ", ")), mdLiteral(strings.Join(c.Languages, ", ")), mdLiteral(strings.Join(c.Tasks, ", ")), len(b.seeds), b.adaptSeeds)
	var overrides []string
	for _, lang := range c.Languages {
		if v, ok := c.Tokenizer.LanguageVocabOverrides[lang]; ok {
			overrides = append(overrides, fmt.Sprintf("%s %d", lang, v))
		}
	}
	others := ""
	if len(overrides) > 0 {
		others = "; " + mdLiteral(strings.Join(overrides, ", "))
	}
	fmt.Fprintf(&s, "Body: hidden %d, %d layers, %d heads, FFN %d, sequences of %d tokens; vocabularies %d (English) and %d (each target language%s). ",
		c.Model.Hidden, c.Model.Layers, c.Model.Heads, c.Model.FFN, c.Model.SeqLen, c.Tokenizer.EnglishVocab, c.Tokenizer.LanguageVocab, others)
	fmt.Fprintf(&s, "Pretraining: %d updates of batch %d", c.Pretrain.Updates, c.Pretrain.BatchSize)
	if slices.Contains(c.Arms, ArmForgetting) && c.Pretrain.ForgetEvery > 0 {
		fmt.Fprintf(&s, ", the forgetting arm resetting its token embeddings every %d updates", c.Pretrain.ForgetEvery)
	}
	fmt.Fprintf(&s, ". Language adaptation: %d updates on at most %d tokens of each language, low-step = update %d; English fine-tuning for %d epoch(s). ",
		c.Adapt.Updates, c.Adapt.MaxTokens, c.Adapt.LowStep, c.Finetune.Epochs)
	fmt.Fprintf(&s, "Started %s, finished %s, wall time %s", orNA(mdLiteral(b.res.Started)), orNA(mdLiteral(b.res.Finished)), fmtDuration(b.res.Seconds))
	if len(b.res.Stages) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(b.res.Stages)) {
			parts = append(parts, mdLiteral(k)+" "+fmtDuration(b.res.Stages[k]))
		}
		fmt.Fprintf(&s, " (per stage, summed over runs: %s)", strings.Join(parts, ", "))
	}
	s.WriteString(".")
	if b.res.Command != "" {
		fmt.Fprintf(&s, " Command: %s.", codeSpan(b.res.Command))
	}
	b.add(&report.Paragraph{Text: s.String()})
	return nil
}

// chance returns a task's chance accuracy in percent and how it arises.
func chance(task string) (float64, string, bool) {
	switch task {
	case "topic":
		return 12.5, "8 topics", true
	case "pair":
		return 100.0 / 3, "3 classes", true
	}
	return 0, "", false
}

// mainResults is the headline table per task: zero-shot accuracy at
// low-step and full adaptation per arm, English ceilings, and macro-F1.
func (b *reportBuilder) mainResults() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Main results"})
	for _, task := range c.Tasks {
		b.add(&report.Heading{Level: 3, Text: "Task: " + task})
		text := fmt.Sprintf("Zero-shot accuracy (%%) on each language's %s test items after splicing its embeddings into the English task model: "+
			"**low-step** after %d adaptation updates, **full** after %d; %s.", mdLiteral(task), c.Adapt.LowStep, c.Adapt.Updates, b.seedsPhrase())
		if p, what, ok := chance(task); ok {
			text += fmt.Sprintf(" Chance is %.1f%% (%s); the majority-class rate is not recorded in results.json.", p, what)
		}
		b.add(&report.Paragraph{Text: text})
		for _, m := range []struct {
			name   string
			metric func(Score) float64
		}{{"accuracy", accuracyOf}, {"macro-F1", macroF1Of}} {
			b.add(b.zeroShotTable(task, m.name, m.metric))
		}
		b.add(b.ceilingTable(task))
	}
	return nil
}

// zeroShotTable is the low-step/full table of one task and metric.
func (b *reportBuilder) zeroShotTable(task, metricName string, metric func(Score) float64) *report.Table {
	c := b.cfg
	t := &report.Table{
		Caption: fmt.Sprintf("%s: zero-shot %s (%%) per language, %s. The average is over languages within each seed; "+
			"the English row is each arm's task model on the English test set (no adaptation, so both columns show it).", mdLiteral(task), metricName, b.seedsPhrase()),
		Header: []string{"language", "items"},
		Align:  []report.Align{report.AlignLeft},
	}
	for _, arm := range c.Arms {
		t.Header = append(t.Header, fmt.Sprintf("%s low-step (%d)", arm, c.Adapt.LowStep), fmt.Sprintf("%s full (%d)", arm, c.Adapt.Updates))
	}
	for len(t.Align) < len(t.Header) {
		t.Align = append(t.Align, report.AlignRight)
	}
	zs := func(arm, lang string, step int) scoreKey {
		return scoreKey{arm: arm, task: task, lang: lang, setting: SettingZeroShot, step: step}
	}
	for _, lang := range c.Languages {
		row := []string{mdLiteral(lang), b.items(task, lang, SettingZeroShot)}
		for _, arm := range c.Arms {
			row = append(row, b.cell(zs(arm, lang, c.Adapt.LowStep), metric), b.cell(zs(arm, lang, c.Adapt.Updates), metric))
		}
		t.Rows = append(t.Rows, row)
	}
	avg := []string{"average", ""}
	for _, arm := range c.Arms {
		for _, step := range []int{c.Adapt.LowStep, c.Adapt.Updates} {
			avg = append(avg, b.averageCell(func(lang string) scoreKey { return zs(arm, lang, step) }, metric))
		}
	}
	t.Rows = append(t.Rows, avg)
	en := []string{"English (no adaptation)", b.items(task, "", SettingEnglish)}
	for _, arm := range c.Arms {
		v := b.cell(scoreKey{arm: arm, task: task, setting: SettingEnglish}, metric)
		en = append(en, v, v)
	}
	t.Rows = append(t.Rows, en)
	return t
}

// ceilingTable is each arm's English accuracy on the English originals of
// every language's test items: the ceiling of that language's zero-shot
// score, since the languages' test sets differ.
func (b *reportBuilder) ceilingTable(task string) *report.Table {
	c := b.cfg
	t := &report.Table{
		Caption: fmt.Sprintf("%s: English ceiling, the English task model's accuracy (%%) on the English originals of each language's test items, %s.", mdLiteral(task), b.pipelinePhrase()),
		Header:  []string{"language", "items"},
		Align:   []report.Align{report.AlignLeft},
	}
	for _, arm := range c.Arms {
		t.Header = append(t.Header, arm+" ceiling")
	}
	for len(t.Align) < len(t.Header) {
		t.Align = append(t.Align, report.AlignRight)
	}
	ck := func(arm, lang string) scoreKey {
		return scoreKey{arm: arm, task: task, lang: lang, setting: SettingCeiling}
	}
	for _, lang := range c.Languages {
		row := []string{mdLiteral(lang), b.items(task, lang, SettingCeiling)}
		for _, arm := range c.Arms {
			row = append(row, b.cell(ck(arm, lang), accuracyOf))
		}
		t.Rows = append(t.Rows, row)
	}
	avg := []string{"average", ""}
	for _, arm := range c.Arms {
		avg = append(avg, b.averageCell(func(lang string) scoreKey { return ck(arm, lang) }, accuracyOf))
	}
	t.Rows = append(t.Rows, avg)
	return t
}

// pretraining is the table of the arms' end states, the unigram-floor
// check, and the loss curves.
func (b *reportBuilder) pretraining() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Pretraining"})
	rows := slices.Clone(b.res.Pretrain)
	armIndex := func(arm string) int {
		if i := slices.Index(c.Arms, arm); i >= 0 {
			return i
		}
		return len(c.Arms)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if ai, aj := armIndex(rows[i].Arm), armIndex(rows[j].Arm); ai != aj {
			return ai < aj
		}
		return rows[i].Seed < rows[j].Seed
	})
	floor, haveFloor := b.res.UnigramFloor["en"]
	haveFloor = haveFloor && isFinite(floor)
	if len(rows) == 0 {
		b.add(&report.Paragraph{Text: "results.json holds no pretraining summaries."})
	} else {
		t := &report.Table{
			Caption: "End state of each pretraining run: validation losses (nats per masked token) and mask-only accuracy at the checkpoint handed to adaptation and fine-tuning.",
			Header: []string{"arm", "seed", "updates", "hand-over", "valid loss (80/10/10)", "mask-only loss",
				"mask-only acc (%)", "resets", "tokens/s", "time"},
			Align: []report.Align{report.AlignLeft, report.AlignRight, report.AlignRight, report.AlignLeft},
		}
		for _, p := range rows {
			handOver := "n/a"
			if p.HandOver != "" {
				handOver = fmt.Sprintf("%s (update %d)", codeSpan(filepath.Base(p.HandOver)), p.HandOverUpdate)
			}
			vl, mo, ma, tps := fmtNum(p.ValidLoss, 3), fmtNum(p.MaskOnlyLoss, 3), fmtNum(100*p.MaskOnlyAccuracy, 1), fmtNum(p.TokensPerSec, 0)
			if p.Updates == 0 { // never trained (the random arm): zeros would read as measurements
				vl, mo, ma, tps = "n/a", "n/a", "n/a", "n/a"
			}
			t.Rows = append(t.Rows, []string{mdLiteral(p.Arm), strconv.Itoa(p.Seed), strconv.Itoa(p.Updates), handOver,
				vl, mo, ma, strconv.Itoa(p.Resets), tps, fmtDuration(p.Seconds)})
		}
		b.add(t)
	}
	b.add(&report.Paragraph{Text: b.floorSentence(rows, floor, haveFloor)})
	b.episodes(floor, haveFloor)
	if slices.Contains(c.Arms, ArmRandom) {
		b.add(&report.Paragraph{Text: "The random arm is not pretrained: its body keeps its random initialisation."})
	}

	chart := &plot.LineChart{
		Title: "Pretraining loss", XLabel: "update", YLabel: "loss (nats per masked token)",
		VLineLabel: "embedding reset",
	}
	var dashed []plot.Series
	resets := map[int]bool{}
	for _, arm := range c.Arms {
		var trainCurves, moCurves []curve
		for _, seed := range b.seeds {
			m := b.pretrain[runKey{seed, 0, arm, ""}]
			if m == nil {
				continue
			}
			trainCurves = append(trainCurves, m.trainLoss())
			moCurves = append(moCurves, m.validCurve(func(v validRec) float64 { return v.maskOnlyLoss }))
			for _, r := range m.train {
				if r.forgot {
					resets[r.update] = true
				}
			}
		}
		if tc := meanCurve(trainCurves); tc.ok() {
			x, y := plot.Downsample(tc.x, tc.y, reportMaxPoints)
			chart.Series = append(chart.Series, plot.Series{Name: arm + " train", X: x, Y: y})
		}
		if mc := meanCurve(moCurves); mc.ok() {
			dashed = append(dashed, plot.Series{Name: arm + " valid mask-only", X: mc.x, Y: mc.y, Dashed: true})
		}
	}
	chart.Series = append(chart.Series, dashed...)
	for _, u := range slices.Sorted(maps.Keys(resets)) {
		chart.VLines = append(chart.VLines, float64(u))
	}
	if haveFloor {
		chart.HLines = append(chart.HLines, plot.HLine{Y: floor, Label: "unigram floor"})
	}
	caption := fmt.Sprintf("Pretraining: training loss (80/10/10) per update, and validation mask-only loss (dashed); %s.", curvePhrase(len(b.seeds)))
	if len(chart.VLines) > 0 {
		caption += fmt.Sprintf(" Grey lines: the %d embedding resets of the forgetting arm.", len(chart.VLines))
	}
	if haveFloor {
		caption += " Dashed horizontal line: the English unigram floor."
	}
	return b.figure(chart, "plots/pretrain-loss.svg", caption, "No pretraining metrics were found.")
}

// episodes tells, for the forgetting arm, where each embedding episode
// ended: the mask-only validation loss logged at its last update (before
// the reset) against the English unigram floor. Episodes that end above the
// floor are too short for fresh embeddings to get past unigram level, and
// then the arm's body has learnt little that forgetting could make plastic.
func (b *reportBuilder) episodes(floor float64, haveFloor bool) {
	c := b.cfg
	k := c.Pretrain.ForgetEvery
	if !slices.Contains(c.Arms, ArmForgetting) || k <= 0 || c.Pretrain.Updates <= 0 {
		return
	}
	var ends []int
	for u := k; u < c.Pretrain.Updates; u += k {
		ends = append(ends, u)
	}
	ends = append(ends, c.Pretrain.Updates)
	t := &report.Table{
		Caption: fmt.Sprintf("Forgetting arm: mask-only validation loss at the end of each %d-update embedding episode (logged before the reset), %s.", k, curvePhrase(len(b.seeds))),
		Header:  []string{"episode", "last update", "mask-only loss", "below the unigram floor by"},
		Align:   []report.Align{report.AlignRight, report.AlignRight, report.AlignRight, report.AlignRight},
	}
	measured, below, nat, first := 0, 0, 0, 0
	for i, u := range ends {
		var mo []float64
		for _, seed := range b.seeds {
			if m := b.pretrain[runKey{seed, 0, ArmForgetting, ""}]; m != nil {
				for _, v := range m.valid {
					if v.update == u && isFinite(v.maskOnlyLoss) {
						mo = append(mo, v.maskOnlyLoss)
					}
				}
			}
		}
		if len(mo) == 0 {
			continue
		}
		m, _ := report.MeanStd(mo)
		gap := "n/a"
		if haveFloor {
			gap = fmt.Sprintf("%+.3f", floor-m)
			if m < floor {
				below++
				if first == 0 {
					first = i + 1
				}
			}
			if floor-m >= 1 {
				nat++
			}
		}
		measured++
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), strconv.Itoa(u), fmtNum(m, 3), gap})
	}
	if measured == 0 {
		b.add(&report.Paragraph{Text: "No validation was logged at the end of a forgetting episode (validate every K updates, or a divisor of K, to see whether the episodes are long enough)."})
		return
	}
	switch {
	case !haveFloor:
		b.add(&report.Paragraph{Text: "Without an English unigram floor, the episodes' end losses below cannot be judged."})
	case below == 0:
		b.add(&report.Paragraph{Text: fmt.Sprintf("**No episode of the forgetting arm ended below the English unigram floor** (%d measured): "+
			"the episodes were too short for fresh embeddings to get past unigram level, so the comparison of the arms says little about forgetting.", measured)})
	default:
		b.add(&report.Paragraph{Text: fmt.Sprintf("%d of %d measured episodes of the forgetting arm ended below the English unigram floor, the first of them episode %d; "+
			"%d ended at least 1 nat below.", below, measured, first, nat)})
	}
	b.add(t)
}

// floorSentence says whether the standard body's mask-only loss is at least
// 1 nat below the English unigram floor, the bar for a comparison
// of arms that means something.
func (b *reportBuilder) floorSentence(rows []PretrainSummary, floor float64, haveFloor bool) string {
	if !haveFloor {
		return "No English unigram floor was measured, so whether the bodies learnt to use context cannot be checked here."
	}
	var mo []float64
	below := 0
	for _, p := range rows {
		if p.Arm == ArmStandard && isFinite(p.MaskOnlyLoss) {
			mo = append(mo, p.MaskOnlyLoss)
			if floor-p.MaskOnlyLoss >= 1 {
				below++
			}
		}
	}
	s := fmt.Sprintf("English unigram floor (the loss of a model that ignores context): %.3f nats. ", floor)
	if len(mo) == 0 {
		return s + "There is no standard-arm mask-only loss to compare with it."
	}
	m, _ := report.MeanStd(mo)
	gap := floor - m
	over := ""
	if len(mo) > 1 {
		over = fmt.Sprintf(" (mean of %d seeds; at least 1 nat below in %d of them)", len(mo), below)
	}
	if gap >= 1 {
		return s + fmt.Sprintf("The standard body's mask-only validation loss is %.3f%s, %.3f nats below the floor: **at least 1 nat below**, the bar for a meaningful comparison of the arms.", m, over, gap)
	}
	return s + fmt.Sprintf("The standard body's mask-only validation loss is %.3f%s, %.3f nats below the floor: **less than 1 nat below**, so the body has not clearly learnt to use context and differences between the arms say little.", m, over, gap)
}

// adaptation is one chart per language of the validation losses during
// language adaptation, and the table of the runs' end states.
func (b *reportBuilder) adaptation() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Language adaptation"})
	b.add(&report.Paragraph{Text: "Only the new language's token embeddings (and the tied output projection) are trained; the body stays frozen."})
	if len(b.res.Adapt) > 0 {
		t := &report.Table{
			Caption: fmt.Sprintf("End state of language adaptation at each language's main budget, %s: validation losses (nats per masked token) and mask-only accuracy.", b.replicatePhrase()),
			Header:  []string{"language", "arm", "train tokens", "valid loss (80/10/10)", "mask-only loss", "mask-only acc (%)", "unigram floor"},
			Align:   []report.Align{report.AlignLeft, report.AlignLeft},
		}
		for _, lang := range c.Languages {
			for _, arm := range c.Arms {
				var tok, vl, mo, ma []float64
				for _, a := range b.res.Adapt {
					if a.Lang != lang || a.Arm != arm || a.Budget != b.cfg.Adapt.stored(c.Adapt.mainBudget(lang)) {
						continue
					}
					tok = appendFinite(tok, float64(a.TrainTokens))
					vl = appendFinite(vl, a.ValidLoss)
					mo = appendFinite(mo, a.MaskOnlyLoss)
					ma = appendFinite(ma, 100*a.MaskOnlyAcc)
				}
				if len(tok)+len(vl)+len(mo)+len(ma) == 0 {
					continue
				}
				fl := "n/a"
				if f, ok := b.res.UnigramFloor[lang]; ok {
					fl = fmtNum(f, 3)
				}
				t.Rows = append(t.Rows, []string{mdLiteral(lang), mdLiteral(arm), meanStdCell(tok, 0), meanStdCell(vl, 3), meanStdCell(mo, 3), meanStdCell(ma, 1), fl})
			}
		}
		b.add(t)
	}
	for _, lang := range c.Languages {
		chart := &plot.LineChart{
			Title:  "Adaptation to " + lang,
			XLabel: "adaptation update", YLabel: "validation loss (nats per masked token)",
		}
		var dashed []plot.Series
		for _, arm := range c.Arms {
			var vl, mo []curve
			for _, rep := range b.reps {
				if m := b.adapt[runKey{rep.seed, rep.adapt, arm, lang}]; m != nil {
					vl = append(vl, m.validCurve(func(v validRec) float64 { return v.loss }))
					mo = append(mo, m.validCurve(func(v validRec) float64 { return v.maskOnlyLoss }))
				}
			}
			if v := meanCurve(vl); v.ok() {
				chart.Series = append(chart.Series, plot.Series{Name: arm + " 80/10/10", X: v.x, Y: v.y})
			}
			if v := meanCurve(mo); v.ok() {
				dashed = append(dashed, plot.Series{Name: arm + " mask-only", X: v.x, Y: v.y, Dashed: true})
			}
		}
		chart.Series = append(chart.Series, dashed...)
		chart.LogX = wideX(chart.Series)
		caption := fmt.Sprintf("Adaptation to %s: validation loss with 80/10/10 corruption (solid) and mask-only (dashed) per adaptation update; %s.", mdLiteral(lang), curvePhrase(len(b.reps)))
		if f, ok := b.res.UnigramFloor[lang]; ok && isFinite(f) {
			chart.HLines = append(chart.HLines, plot.HLine{Y: f, Label: "unigram floor"})
			caption += " Dashed horizontal line: this language's unigram floor."
		}
		if err := b.figure(chart, "plots/adapt-"+fileSafe(lang)+".svg", caption, "No adaptation metrics were found for "+mdLiteral(lang)+"."); err != nil {
			return err
		}
	}
	return nil
}

// finetuning is one chart per task of the English dev accuracy during
// fine-tuning, the basis of model selection.
func (b *reportBuilder) finetuning() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "English fine-tuning"})
	for _, task := range c.Tasks {
		chart := &plot.LineChart{Title: "Fine-tuning on " + task, XLabel: "update", YLabel: "English dev accuracy (%)"}
		for _, arm := range c.Arms {
			var dev []curve
			for _, seed := range b.seeds {
				if m := b.finetune[runKey{seed, 0, arm, task}]; m != nil {
					dev = append(dev, m.devAccuracy())
				}
			}
			if v := meanCurve(dev); v.ok() {
				chart.Series = append(chart.Series, plot.Series{Name: arm, X: v.x, Y: v.y})
			}
		}
		caption := fmt.Sprintf("Fine-tuning on %s (body and head trained, embeddings frozen): English dev accuracy per update; %s. The best dev checkpoint is the one spliced.", mdLiteral(task), curvePhrase(len(b.seeds)))
		if p, _, ok := chance(task); ok {
			chart.HLines = append(chart.HLines, plot.HLine{Y: p, Label: "chance"})
		}
		if err := b.figure(chart, "plots/finetune-"+fileSafe(task)+".svg", caption, "No fine-tuning metrics were found for "+mdLiteral(task)+"."); err != nil {
			return err
		}
	}
	return nil
}

// convergence is one chart per task and language of zero-shot accuracy
// against the adaptation checkpoint spliced.
func (b *reportBuilder) convergence() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Convergence"})
	steps := slices.Clone(c.Adapt.SaveAt)
	slices.Sort(steps)
	steps = slices.Compact(steps)
	for _, task := range c.Tasks {
		for _, lang := range c.Languages {
			chart := &plot.LineChart{
				Title:  fmt.Sprintf("Zero-shot %s accuracy, %s", task, lang),
				XLabel: "adaptation updates", YLabel: "accuracy (%)",
			}
			for _, arm := range c.Arms {
				s := plot.Series{Name: arm}
				for _, step := range steps {
					s.X = append(s.X, float64(step))
					s.Y = append(s.Y, b.mean(scoreKey{arm: arm, task: task, lang: lang, setting: SettingZeroShot, step: step}, accuracyOf))
				}
				if slices.ContainsFunc(s.Y, isFinite) {
					chart.Series = append(chart.Series, s)
				}
			}
			chart.LogX = wideX(chart.Series)
			caption := fmt.Sprintf("Zero-shot accuracy on the %s test items of %s against the adaptation checkpoint spliced into the English task model; %s.",
				mdLiteral(task), mdLiteral(lang), curvePhrase(len(b.reps)))
			if p, what, ok := chance(task); ok {
				chart.HLines = append(chart.HLines, plot.HLine{Y: p, Label: "chance"})
				caption += fmt.Sprintf(" Chance: %.1f%% (%s).", p, what)
			}
			for _, arm := range []string{ArmStandard, ArmForgetting} {
				if !slices.Contains(c.Arms, arm) {
					continue
				}
				if v := b.mean(scoreKey{arm: arm, task: task, lang: lang, setting: SettingCeiling}, accuracyOf); isFinite(v) {
					chart.HLines = append(chart.HLines, plot.HLine{Y: v, Label: arm + " ceiling"})
					caption += fmt.Sprintf(" The %s arm's English ceiling on the same items: %.1f%%.", arm, v)
					break
				}
			}
			name := "plots/convergence-" + fileSafe(task) + "-" + fileSafe(lang) + ".svg"
			if err := b.figure(chart, name, caption, fmt.Sprintf("No zero-shot %s scores were found for %s.", mdLiteral(task), mdLiteral(lang))); err != nil {
				return err
			}
		}
	}
	return nil
}

// relativeGain is (forgetting - standard) / standard accuracy per language
// at low-step and full adaptation, per task.
func (b *reportBuilder) relativeGain() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Relative gain of forgetting"})
	if !slices.Contains(c.Arms, ArmStandard) || !slices.Contains(c.Arms, ArmForgetting) {
		b.add(&report.Paragraph{Text: "The relative gain needs both the standard and the forgetting arm; this experiment did not run both."})
		return nil
	}
	stepNames := []struct {
		name string
		step int
	}{{"low-step", c.Adapt.LowStep}, {"full", c.Adapt.Updates}}
	for _, task := range c.Tasks {
		groups := append(slices.Clone(c.Languages), "average")
		chart := &plot.BarChart{
			Title:  fmt.Sprintf("Relative gain of forgetting over standard, %s", task),
			YLabel: "(forgetting - standard) / standard (%)", Groups: groups,
		}
		t := &report.Table{
			Caption: fmt.Sprintf("%s: relative gain (%%) of the forgetting arm's zero-shot accuracy over the standard arm's, computed per replicate, %s.", mdLiteral(task), b.replicatePhrase()),
			Header:  []string{"language"},
			Align:   []report.Align{report.AlignLeft},
		}
		for _, sn := range stepNames {
			t.Header = append(t.Header, fmt.Sprintf("%s (%d)", sn.name, sn.step))
		}
		cells := make([][]string, len(groups))
		for g, name := range groups {
			cells[g] = []string{mdLiteral(name)}
		}
		var ahead []string
		drawn := false
		for _, sn := range stepNames {
			key := func(arm string) func(lang string) scoreKey {
				return func(lang string) scoreKey {
					return scoreKey{arm: arm, task: task, lang: lang, setting: SettingZeroShot, step: sn.step}
				}
			}
			bars := plot.BarSeries{Name: fmt.Sprintf("%s (%d updates)", sn.name, sn.step)}
			for g, group := range groups {
				var gains []float64
				for _, rep := range b.reps {
					var f, s float64
					if group == "average" && g == len(groups)-1 {
						f, s = b.seedAverage(rep, key(ArmForgetting), accuracyOf), b.seedAverage(rep, key(ArmStandard), accuracyOf)
					} else {
						f, s = b.value(key(ArmForgetting)(group), rep, accuracyOf), b.value(key(ArmStandard)(group), rep, accuracyOf)
					}
					if isFinite(f) && isFinite(s) && s != 0 {
						gains = append(gains, 100*(f-s)/s)
					}
				}
				m, sd := report.MeanStd(gains)
				bars.Values = append(bars.Values, m)
				bars.Err = append(bars.Err, sd)
				drawn = drawn || isFinite(m)
				cells[g] = append(cells[g], signed(m, sd, len(gains)))
			}
			if len(b.reps) < 2 {
				bars.Err = nil
			}
			chart.Bars = append(chart.Bars, bars)

			n, k := 0, 0
			for _, lang := range c.Languages {
				f, s := b.mean(key(ArmForgetting)(lang), accuracyOf), b.mean(key(ArmStandard)(lang), accuracyOf)
				if isFinite(f) && isFinite(s) {
					n++
					if f > s {
						k++
					}
				}
			}
			if n > 0 {
				ahead = append(ahead, fmt.Sprintf("in %d of %d languages at %s", k, n, sn.name))
			}
		}
		t.Rows = cells
		b.add(&report.Heading{Level: 3, Text: "Task: " + task})
		if len(ahead) > 0 {
			b.add(&report.Paragraph{Text: fmt.Sprintf("On mean accuracy over replicates, forgetting is ahead of standard %s.", strings.Join(ahead, ", and "))})
		}
		b.add(t)
		if !drawn {
			b.add(&report.Paragraph{Text: "No language has zero-shot scores of both arms to compare."})
			continue
		}
		caption := fmt.Sprintf("Relative gain of forgetting over standard on %s, per language from close to distant from English, at low-step and full adaptation", mdLiteral(task))
		if len(b.reps) > 1 {
			caption += "; whiskers: ± standard deviation over replicates"
		}
		svg, err := chart.SVG()
		if err != nil {
			return fmt.Errorf("experiment: report: %w", err)
		}
		b.add(&report.Figure{Caption: caption + ".", Name: "plots/gain-" + fileSafe(task) + ".svg", SVG: svg})
	}
	return nil
}

// howToRead explains the columns and the arms, without judging the numbers.
func (b *reportBuilder) howToRead() error {
	b.add(&report.Heading{Level: 2, Text: "How to read this"})
	b.add(&report.Paragraph{Text: fmt.Sprintf("**Low-step** is zero-shot accuracy after %d language-adaptation updates, **full** after %d: "+
		"the English task model with the new language's embeddings spliced in, evaluated on that language's test items. "+
		"The **ceiling** is the same English task model on the English originals of those items: what the model could score if the new embeddings were perfect. "+
		"In the paper, forgetting helps most in the low-data, low-step setting and for languages far from English, and loses with plenty of adaptation data; "+
		"at CPU scale, with small bodies and short pretraining, the effect may not show at all. "+
		"The **random** arm is a body that was never pretrained: the gap between it and the other arms shows whether pretraining helps at all. "+
		"Chance accuracy and the unigram floor mark the level of a model that has learnt nothing from context.",
		b.cfg.Adapt.LowStep, b.cfg.Adapt.Updates)})
	return nil
}

// reproduce gives the command and the full configuration.
func (b *reportBuilder) reproduce() error {
	b.add(&report.Heading{Level: 2, Text: "Reproduce"})
	cmd := b.res.Command
	if cmd == "" {
		cmd = "# the command was not recorded in results.json"
	}
	b.add(&report.Code{Lang: "sh", Text: cmd})
	raw, err := json.MarshalIndent(b.res.Config, "", "  ")
	if err != nil {
		return fmt.Errorf("experiment: report: configuration: %w", err)
	}
	b.add(&report.Paragraph{Text: "The full configuration:"})
	b.add(&report.Code{Lang: "json", Text: string(raw)})
	return nil
}

// figure draws chart as the named figure, or adds the empty paragraph when
// the chart has no series.
func (b *reportBuilder) figure(chart *plot.LineChart, name, caption, empty string) error {
	if len(chart.Series) == 0 {
		b.add(&report.Paragraph{Text: empty})
		return nil
	}
	svg, err := chart.SVG()
	if err != nil {
		return fmt.Errorf("experiment: report: %s: %w", name, err)
	}
	b.add(&report.Figure{Caption: caption, Name: name, SVG: svg})
	return nil
}

// curvePhrase says how the curves aggregate seeds.
func curvePhrase(seeds int) string {
	if seeds == 1 {
		return "one seed"
	}
	return fmt.Sprintf("mean over the seeds that logged each point (of %d)", seeds)
}

// metricsRun is what one run's metrics.jsonl holds, in update order.
type metricsRun struct {
	train []trainRec
	valid []validRec
	dev   []devRec
}

// trainRec is a per-update training record.
type trainRec struct {
	update int
	loss   float64
	forgot bool
}

// validRec is a validation record; a missing value is NaN.
type validRec struct {
	update                               int
	loss, acc, maskOnlyLoss, maskOnlyAcc float64
}

// devRec is a fine-tuning dev evaluation.
type devRec struct {
	update int
	acc    float64
}

// metricLine is one JSON line of a metrics file; the kind of record is told
// by which keys are present.
type metricLine struct {
	Update            *int     `json:"update"`
	Loss              *float64 `json:"loss"`
	Forgot            bool     `json:"forgot"`
	ValidLoss         *float64 `json:"valid_loss"`
	ValidAcc          *float64 `json:"valid_acc"`
	ValidMaskOnlyLoss *float64 `json:"valid_mask_only_loss"`
	ValidMaskOnlyAcc  *float64 `json:"valid_mask_only_acc"`
	DevAccuracy       *float64 `json:"dev_accuracy"`
}

// readMetricsFile reads a metrics.jsonl file; it returns nil and no error when
// the file does not exist. Lines without an update (or without a known
// value, such as error records) are skipped. When a resumed run logs an
// update again, the records from that update on are replaced by the new
// ones. A last line without its newline that does not parse is a write cut
// short by an interruption and is ignored; any other line that is not a
// JSON object is an error naming the file and line.
func readMetricsFile(path string) (*metricsRun, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("experiment: report: %w", err)
	}
	m := &metricsRun{}
	for line := 1; len(raw) > 0; line++ {
		text, rest, complete := bytes.Cut(raw, []byte{'\n'})
		raw = rest
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var r metricLine
		if err := json.Unmarshal(text, &r); err != nil {
			if !complete {
				break
			}
			return nil, fmt.Errorf("experiment: report: %s:%d: expected a JSON object of metrics: %w", path, line, err)
		}
		if r.Update == nil {
			continue
		}
		u := *r.Update
		switch {
		case r.Loss != nil:
			m.train = truncateFrom(m.train, u, func(t trainRec) int { return t.update })
			m.train = append(m.train, trainRec{update: u, loss: *r.Loss, forgot: r.Forgot})
		case r.ValidLoss != nil || r.ValidMaskOnlyLoss != nil:
			m.valid = truncateFrom(m.valid, u, func(v validRec) int { return v.update })
			m.valid = append(m.valid, validRec{update: u, loss: orNaN(r.ValidLoss), acc: orNaN(r.ValidAcc),
				maskOnlyLoss: orNaN(r.ValidMaskOnlyLoss), maskOnlyAcc: orNaN(r.ValidMaskOnlyAcc)})
		case r.DevAccuracy != nil:
			m.dev = truncateFrom(m.dev, u, func(d devRec) int { return d.update })
			m.dev = append(m.dev, devRec{update: u, acc: *r.DevAccuracy})
		}
	}
	return m, nil
}

// truncateFrom drops the records logged at update u or later, which a
// resumed run is about to log again.
func truncateFrom[T any](recs []T, u int, update func(T) int) []T {
	if n := len(recs); n == 0 || update(recs[n-1]) < u {
		return recs
	}
	i := sort.Search(len(recs), func(i int) bool { return update(recs[i]) >= u })
	return recs[:i]
}

// curve is a series of points in increasing x.
type curve struct{ x, y []float64 }

// ok reports whether the curve has a isFinite point to draw.
func (c curve) ok() bool { return slices.ContainsFunc(c.y, isFinite) }

// trainLoss is the training loss per update.
func (m *metricsRun) trainLoss() curve {
	var c curve
	for _, r := range m.train {
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, r.loss)
	}
	return c
}

// validCurve is one validation value per validation.
func (m *metricsRun) validCurve(v func(validRec) float64) curve {
	var c curve
	for _, r := range m.valid {
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, v(r))
	}
	return c
}

// devAccuracy is the dev accuracy per evaluation.
func (m *metricsRun) devAccuracy() curve {
	var c curve
	for _, r := range m.dev {
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, r.acc)
	}
	return c
}

// meanCurve averages curves point by point: at each x, the mean of the
// isFinite y values the curves have there (NaN, a gap, where none has one).
func meanCurve(cs []curve) curve {
	type acc struct {
		sum float64
		n   int
	}
	at := map[float64]acc{}
	for _, c := range cs {
		for i, x := range c.x {
			a := at[x]
			if isFinite(c.y[i]) {
				a.sum += c.y[i]
				a.n++
			}
			at[x] = a
		}
	}
	var out curve
	for _, x := range slices.Sorted(maps.Keys(at)) {
		a := at[x]
		y := math.NaN()
		if a.n > 0 {
			y = a.sum / float64(a.n)
		}
		out.x, out.y = append(out.x, x), append(out.y, y)
	}
	return out
}

// wideX reports whether the series' x values are all positive and span
// a factor of 10 or more, where a logarithmic axis reads better.
func wideX(series []plot.Series) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, x := range s.X {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	return lo > 0 && hi/lo >= 10
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// orNaN is *p, or NaN when the value is missing.
func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// appendFinite appends v to xs if it is finite.
func appendFinite(xs []float64, v float64) []float64 {
	if isFinite(v) {
		return append(xs, v)
	}
	return xs
}

// fmtNum formats v with digits decimals, or "n/a" when it is not isFinite.
func fmtNum(v float64, digits int) string {
	if !isFinite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

// meanStdCell formats the mean ± std of xs.
func meanStdCell(xs []float64, digits int) string {
	m, s := report.MeanStd(xs)
	return report.FormatMeanStd(m, s, len(xs), digits)
}

// signed is report.FormatMeanStd with an explicit "+" on a positive gain.
func signed(m, s float64, n int) string {
	out := report.FormatMeanStd(m, s, n, 1)
	if out != "n/a" && m > 0 && !strings.HasPrefix(out, "0.0") {
		out = "+" + out
	}
	return out
}

// fmtDuration formats seconds as a rounded duration such as 1h2m3s.
func fmtDuration(seconds float64) string {
	if !isFinite(seconds) || seconds < 0 {
		return "n/a"
	}
	return (time.Duration(seconds * float64(time.Second))).Round(time.Second).String()
}

// orNA is s, or "n/a" when s is empty.
func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// mdLiteral makes s literal in report inline text: backslashes, backticks and
// asterisks are escaped so that they do not start marks.
func mdLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`).Replace(s)
}

// codeSpan is s as inline code, or as literal text if it holds a backtick
// (which would end the span).
func codeSpan(s string) string {
	if strings.Contains(s, "`") || strings.ContainsAny(s, "\n\r") {
		return mdLiteral(s)
	}
	return "`" + s + "`"
}

// fileSafe maps s to a file-name part of letters, digits, '_' and '-'.
func fileSafe(s string) string {
	out := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
	if out == "" {
		return "-"
	}
	return out
}
