package experiment

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"lethe/plot"
	"lethe/report"
)

// This file holds the report's downstream answer: the pipeline controls
// (oracle and untrained-embedding splices, English relearned as a new
// language), the budget curves, and the forgetting-minus-standard
// differences with their intervals.

// budgetPoint is one budget of one language: the nominal budget and the
// tokens its runs trained on (fewer when the corpus is smaller).
type budgetPoint struct {
	budget int64
	tokens float64
}

// budgetPoints lists the budgets of lang with the mean number of tokens the
// adaptation runs used under each.
func (b *reportBuilder) budgetPoints(lang string) []budgetPoint {
	var pts []budgetPoint
	for _, budget := range b.cfg.Adapt.budgets(lang) {
		var sum, n float64
		for _, a := range b.res.Adapt {
			if a.Lang == lang && a.Budget == b.cfg.Adapt.stored(budget) && a.TrainTokens > 0 {
				sum += float64(a.TrainTokens)
				n++
			}
		}
		p := budgetPoint{budget: budget, tokens: float64(budget)}
		if n > 0 {
			p.tokens = sum / n
		}
		pts = append(pts, p)
	}
	return pts
}

// zeroShotKey is the cell of a zero-shot score after full adaptation under
// a budget.
func (b *reportBuilder) zeroShotKey(arm, task, lang string, budget int64) scoreKey {
	return scoreKey{arm: arm, task: task, lang: lang, setting: SettingZeroShot, step: b.cfg.Adapt.Updates,
		budget: b.budgetKey(lang, b.cfg.Adapt.stored(budget))}
}

// seedMeans is, per pipeline seed, the mean of cell k over its adaptation
// seeds (NaN where the seed has none): the samples that an interval over
// pretraining seeds is computed from.
func (b *reportBuilder) seedMeans(k scoreKey, metric func(Score) float64) []float64 {
	out := make([]float64, len(b.seeds))
	for i, seed := range b.seeds {
		var xs []float64
		for _, rep := range b.repsOf(k) {
			if rep.seed == seed {
				if v := b.value(k, rep, metric); !math.IsNaN(v) {
					xs = append(xs, v)
				}
			}
		}
		out[i], _ = report.MeanStd(xs)
	}
	return out
}

// difference is forgetting minus standard in one cell: the mean over
// samples and the half-width of its 95% interval. The samples are the
// pipeline seeds (each the mean over its adaptation seeds) when there are
// at least two; with one pretraining seed, the adaptation seeds, which
// leaves pretraining noise out (over says which).
type difference struct {
	mean, half float64
	n          int
	over       string // "pretraining seeds" or "adaptation seeds"
}

func (b *reportBuilder) difference(kf, ks scoreKey) difference {
	return b.pairedDifference(
		func(rep replicate) float64 { return b.value(kf, rep, accuracyOf) },
		func(rep replicate) float64 { return b.value(ks, rep, accuracyOf) })
}

// pairedDifference is x minus y, paired by replicate: its samples are the
// pipeline seeds (each the mean of its adaptation seeds' differences) when
// there are at least two, else the adaptation seeds. NaN values leave a
// replicate out.
func (b *reportBuilder) pairedDifference(x, y func(replicate) float64) difference {
	bySeed := map[int][]float64{}
	var flat []float64
	for _, rep := range b.reps {
		vx, vy := x(rep), y(rep)
		if math.IsNaN(vx) || math.IsNaN(vy) {
			continue
		}
		bySeed[rep.seed] = append(bySeed[rep.seed], vx-vy)
		flat = append(flat, vx-vy)
	}
	d, over := flat, "adaptation seeds"
	if len(b.seeds) >= 2 {
		d, over = nil, "pretraining seeds"
		for _, seed := range b.seeds {
			if xs := bySeed[seed]; len(xs) > 0 {
				m, _ := report.MeanStd(xs)
				d = append(d, m)
			}
		}
	}
	m, h := report.CI95(d)
	return difference{mean: m, half: h, n: len(d), over: over}
}

// String formats the difference as "+3.1 [−0.4, +6.6]", or "+3.1" when
// there is no interval.
func (d difference) String() string {
	if d.n == 0 || math.IsNaN(d.mean) {
		return "n/a"
	}
	if math.IsNaN(d.half) {
		return fmt.Sprintf("%+.1f (no interval: n=%d)", d.mean, d.n)
	}
	return fmt.Sprintf("%+.1f [%+.1f, %+.1f]", d.mean, d.mean-d.half, d.mean+d.half)
}

// verdict is "wins", "loses" or "inconclusive" by whether the interval
// excludes zero.
func (d difference) verdict() string {
	switch {
	case d.n < 2 || math.IsNaN(d.half):
		return "no interval"
	case d.mean-d.half > 0:
		return "forgetting wins"
	case d.mean+d.half < 0:
		return "forgetting loses"
	}
	return "inconclusive"
}

// hasArms reports whether the experiment ran both compared arms.
func (b *reportBuilder) hasArms() bool {
	return slices.Contains(b.cfg.Arms, ArmStandard) && slices.Contains(b.cfg.Arms, ArmForgetting)
}

// answer opens the report: what the experiment says downstream, in a few
// sentences computed from the scores, and the headline figure.
func (b *reportBuilder) answer() error {
	c := b.cfg
	if c.Preset == "quick" {
		b.add(&report.Note{Text: "quick preset: a short run whose body is pretrained briefly and has no forgetting arm; " +
			"it checks the pipeline and measures what pretraining does for relearning embeddings. " +
			"The comparison of forgetting with standard pretraining is --preset small (language-model level) and --preset curves (downstream)"})
	}
	b.add(&report.Heading{Level: 2, Text: "The answer"})
	if len(c.Tasks) == 0 {
		b.add(&report.Paragraph{Text: "No task was run, so there is no downstream result."})
		return nil
	}
	task := c.Tasks[0]
	var items []string
	// 1. Does the pipeline work? The oracle and the chance line.
	en := b.mean(scoreKey{arm: ArmStandard, task: task, setting: SettingEnglish}, accuracyOf)
	if s := b.oracleSentence(task); s != "" {
		items = append(items, s)
	}
	// 2. How much of English comes back through relearnt embeddings?
	if slices.Contains(c.Languages, LangRelearn) && isFinite(en) {
		pts := b.budgetPoints(LangRelearn)
		last := pts[len(pts)-1]
		v := b.mean(b.zeroShotKey(ArmStandard, task, LangRelearn, last.budget), accuracyOf)
		if isFinite(v) {
			items = append(items, fmt.Sprintf("English relearned as a new language (fresh embeddings on the frozen standard body, %s tokens, %d updates) "+
				"scores %.1f%% against the English task model's %.1f%%: **%.1f%% of English**.", fmtTokens(last.tokens), c.Adapt.Updates, v, en, 100*v/en))
		}
	}
	// 3. Where does forgetting beat standard downstream?
	if b.hasArms() {
		items = append(items, b.tallySentence(task))
	}
	// 4. The language-model level: how well the new embeddings fit.
	if s := b.lmSentence(); s != "" {
		items = append(items, s)
	}
	// A task the English model cannot learn says nothing about transfer.
	for _, t := range c.Tasks {
		p, _, ok := chance(t)
		if v := b.mean(scoreKey{arm: ArmStandard, task: t, setting: SettingEnglish}, accuracyOf); ok && isFinite(v) && v < p+5 {
			items = append(items, fmt.Sprintf("**The %s task did not learn in English** (standard arm %.1f%%, chance %.1f%%): "+
				"its zero-shot scores cannot show transfer.", mdLiteral(t), v, p))
		}
	}
	b.add(&report.List{Items: items})
	if len(c.Languages) > 0 {
		lang := c.Languages[0]
		if slices.Contains(c.Languages, LangRelearn) {
			lang = LangRelearn
		}
		if len(c.Adapt.budgets(lang)) > 1 {
			return b.curveFigure(task, lang, "plots/answer-"+fileSafe(task)+"-"+fileSafe(lang)+".svg")
		}
	}
	return nil
}

// oracleSentence reports the oracle and untrained-embedding controls of
// task, or "" when the experiment predates them.
func (b *reportBuilder) oracleSentence(task string) string {
	var same, total int
	for _, arm := range b.cfg.Arms {
		for _, seed := range b.seeds {
			rep := replicate{seed, 0}
			e := b.value(scoreKey{arm: arm, task: task, setting: SettingEnglish}, rep, accuracyOf)
			o := b.value(scoreKey{arm: arm, task: task, setting: SettingOracle}, rep, accuracyOf)
			if !math.IsNaN(o) {
				total++
				if o == e {
					same++
				}
			}
		}
	}
	if total == 0 {
		return ""
	}
	fresh := b.mean(scoreKey{arm: ArmStandard, task: task, setting: SettingFresh}, accuracyOf)
	s := fmt.Sprintf("Pipeline check: splicing each task model's own pretrained embeddings back in gives exactly its English score in %d of %d task models", same, total)
	if same != total {
		s = "**" + s + ": the splice or evaluation code is broken**"
	}
	if isFinite(fresh) {
		p, _, _ := chance(task)
		s += fmt.Sprintf("; untrained embeddings score %.1f%% (chance %.1f%%)", fresh, p)
	}
	return s + "."
}

// tallySentence counts the (language, budget) cells where forgetting wins,
// loses or cannot be told apart from standard, and names the largest gain
// and the largest loss.
func (b *reportBuilder) tallySentence(task string) string {
	count := map[string]int{}
	var best, worst struct {
		d          difference
		lang       string
		budget     int64
		haveB, hvW bool
	}
	over := ""
	for _, lang := range b.cfg.Languages {
		for _, p := range b.budgetPoints(lang) {
			d := b.difference(b.zeroShotKey(ArmForgetting, task, lang, p.budget), b.zeroShotKey(ArmStandard, task, lang, p.budget))
			if d.n == 0 {
				continue
			}
			over = d.over
			count[d.verdict()]++
			if !best.haveB || d.mean > best.d.mean {
				best.d, best.lang, best.budget, best.haveB = d, lang, p.budget, true
			}
			if !worst.hvW || d.mean < worst.d.mean {
				worst.d, worst.lang, worst.budget, worst.hvW = d, lang, p.budget, true
			}
		}
	}
	if !best.haveB {
		return "No zero-shot scores of both arms yet: nothing to compare."
	}
	s := fmt.Sprintf("Forgetting minus standard, zero-shot %s accuracy after full adaptation, with 95%% intervals over %s: "+
		"forgetting wins in %d (language, budget) cells, loses in %d, and cannot be told apart in %d",
		mdLiteral(task), over, count["forgetting wins"], count["forgetting loses"], count["inconclusive"])
	if n := count["no interval"]; n > 0 {
		s += fmt.Sprintf(" (%d cells have a single sample and no interval)", n)
	}
	s += fmt.Sprintf(". Largest gain: %s at %s tokens, %s points; largest loss or smallest gain: %s at %s tokens, %s points.",
		mdLiteral(best.lang), FormatBudget(best.budget), best.d, mdLiteral(worst.lang), FormatBudget(worst.budget), worst.d)
	return s
}

// lmSentence compares the arms at the language-model level: the mask-only
// validation loss of the relearnt embeddings after full adaptation at each
// language's main budget, forgetting minus standard and standard minus the
// random body, with 95% intervals.
func (b *reportBuilder) lmSentence() string {
	c := b.cfg
	// loss is the mask-only loss of the run of one replicate (NaN if none).
	loss := func(arm, lang string) func(replicate) float64 {
		runs := map[replicate]float64{}
		for _, a := range b.res.Adapt {
			if a.Arm == arm && a.Lang == lang && a.Budget == c.Adapt.stored(c.Adapt.mainBudget(lang)) && a.MaskOnlyLoss > 0 {
				runs[replicate{a.Seed, max(a.AdaptSeed, 1)}] = a.MaskOnlyLoss
			}
		}
		return func(rep replicate) float64 {
			if v, ok := runs[rep]; ok {
				return v
			}
			return math.NaN()
		}
	}
	compare := func(x, y string) []string {
		var parts []string
		for _, lang := range c.Languages {
			if d := b.pairedDifference(loss(x, lang), loss(y, lang)); d.n > 0 {
				parts = append(parts, fmt.Sprintf("%s %s", mdLiteral(lang), d.nats()))
			}
		}
		return parts
	}
	var out []string
	if b.hasArms() {
		if p := compare(ArmForgetting, ArmStandard); len(p) > 0 {
			out = append(out, "forgetting minus standard: "+strings.Join(p, "; "))
		}
	}
	if slices.Contains(c.Arms, ArmStandard) && slices.Contains(c.Arms, ArmRandom) {
		if p := compare(ArmStandard, ArmRandom); len(p) > 0 {
			out = append(out, "standard minus the random body: "+strings.Join(p, "; "))
		}
	}
	if len(out) == 0 {
		return ""
	}
	over := "pretraining seeds"
	if len(b.seeds) < 2 {
		over = "adaptation seeds"
	}
	return fmt.Sprintf("At the language-model level (mask-only validation loss of the relearnt embeddings after full adaptation, nats; "+
		"negative = the first arm fits the language better; 95%% intervals over %s): %s.", over, strings.Join(out, ". "))
}

// nats formats a loss difference as "-0.31 [-0.40, -0.22]".
func (d difference) nats() string {
	if math.IsNaN(d.half) {
		return fmt.Sprintf("%+.2f (n=%d)", d.mean, d.n)
	}
	return fmt.Sprintf("%+.2f [%+.2f, %+.2f]", d.mean, d.mean-d.half, d.mean+d.half)
}

// controls is the table of the pipeline controls per task and arm.
func (b *reportBuilder) controls() error {
	c := b.cfg
	b.add(&report.Heading{Level: 2, Text: "Controls: does the pipeline transfer at all?"})
	b.add(&report.Paragraph{Text: "Each English task model is spliced, through the same code as every language, with (1) the embeddings of the pretrained " +
		"checkpoint it was fine-tuned from (the **oracle**: it must give back the English score exactly), and (2) untrained embeddings (the chance line). " +
		"**en-relearn** is English relearned as if it were a new language: fresh embeddings trained with the body frozen on English text that pretraining " +
		"did not read, with the English tokenizer, spliced and scored on the English test set."})
	relearn := slices.Contains(c.Languages, LangRelearn)
	for _, task := range c.Tasks {
		t := &report.Table{
			Caption: fmt.Sprintf("%s: accuracy (%%) on the English test set, %s.", mdLiteral(task), b.seedsPhrase()),
			Header:  []string{"arm", "English", "oracle splice", "untrained embeddings"},
			Align:   []report.Align{report.AlignLeft},
		}
		if relearn {
			t.Header = append(t.Header, "en-relearn (largest budget)", "en-relearn / English")
		}
		for _, arm := range c.Arms {
			row := []string{mdLiteral(arm)}
			for _, setting := range []string{SettingEnglish, SettingOracle, SettingFresh} {
				row = append(row, b.cell(scoreKey{arm: arm, task: task, setting: setting}, accuracyOf))
			}
			if relearn {
				pts := b.budgetPoints(LangRelearn)
				k := b.zeroShotKey(arm, task, LangRelearn, pts[len(pts)-1].budget)
				en := b.mean(scoreKey{arm: arm, task: task, setting: SettingEnglish}, accuracyOf)
				share := "n/a"
				if r := 100 * b.mean(k, accuracyOf) / en; isFinite(r) {
					share = fmtNum(r, 1) + "%"
				}
				row = append(row, b.cell(k, accuracyOf), share)
			}
			t.Rows = append(t.Rows, row)
		}
		b.add(t)
		if relearn {
			b.add(b.alignmentTable(task))
		}
	}
	return nil
}

// alignmentTable shows, per arm, en-relearn's zero-shot accuracy at the
// largest budget beside the cosine between the relearnt embeddings and the
// body's own, at every adaptation checkpoint: transfer tracks how close the
// relearnt embeddings come to the ones the task model was fine-tuned on.
func (b *reportBuilder) alignmentTable(task string) *report.Table {
	c := b.cfg
	pts := b.budgetPoints(LangRelearn)
	budget := pts[len(pts)-1].budget
	t := &report.Table{
		Caption: fmt.Sprintf("en-relearn at the largest budget (%s tokens), %s: zero-shot accuracy (%%) / cosine between the relearnt embeddings "+
			"and the pretrained body's own (0: unrelated, 1: the same up to scale), after each number of adaptation updates.",
			FormatBudget(budget), b.replicatePhrase()),
		Header: []string{"arm"},
		Align:  []report.Align{report.AlignLeft},
	}
	for _, u := range c.Adapt.SaveAt {
		t.Header = append(t.Header, fmt.Sprintf("%d updates", u))
	}
	for _, arm := range c.Arms {
		row := []string{mdLiteral(arm)}
		for _, u := range c.Adapt.SaveAt {
			k := b.zeroShotKey(arm, task, LangRelearn, budget)
			k.step = u
			xs := b.values(k, cosineOf)
			m, s := report.MeanStd(xs)
			row = append(row, b.cell(k, accuracyOf)+" / "+report.FormatMeanStd(m, s, len(xs), 2))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// cosineOf is a zero-shot score's embedding cosine (NaN when not measured).
func cosineOf(s Score) float64 {
	if s.EmbeddingCosine == nil {
		return math.NaN()
	}
	return *s.EmbeddingCosine
}

// curves is the budget-curve section: per task and language, zero-shot
// accuracy against the adaptation budget, one line per arm with its band,
// and the table of the forgetting-minus-standard differences.
func (b *reportBuilder) curves() error {
	c := b.cfg
	if !c.Adapt.curves() {
		return nil
	}
	b.add(&report.Heading{Level: 2, Text: "Budget curves"})
	b.add(&report.Paragraph{Text: fmt.Sprintf("Zero-shot accuracy against the number of tokens of the language seen in adaptation "+
		"(%d updates of %d sequences at every budget, so small budgets are seen many times over). "+
		"Lines are means, bands ± one standard deviation over pretraining seeds (each the mean of its adaptation seeds); "+
		"the difference columns give forgetting minus standard with its 95%% interval.", c.Adapt.Updates, c.Adapt.BatchSize)})
	for _, task := range c.Tasks {
		for _, lang := range c.Languages {
			if err := b.curveFigure(task, lang, "plots/budget-"+fileSafe(task)+"-"+fileSafe(lang)+".svg"); err != nil {
				return err
			}
			b.add(b.curveTable(task, lang))
		}
	}
	return nil
}

// curveFigure draws the budget curve of one task and language.
func (b *reportBuilder) curveFigure(task, lang, name string) error {
	pts := b.budgetPoints(lang)
	chart := &plot.LineChart{
		Title:  fmt.Sprintf("%s zero-shot, %s", task, lang),
		XLabel: "adaptation tokens", YLabel: "accuracy (%)", LogX: true,
	}
	if len(pts) == 1 {
		chart.LogX = false
	}
	for _, arm := range b.cfg.Arms {
		s := plot.Series{Name: arm, Markers: true}
		for _, p := range pts {
			xs := b.seedMeans(b.zeroShotKey(arm, task, lang, p.budget), accuracyOf)
			xs = slices.DeleteFunc(xs, math.IsNaN)
			m, sd := report.MeanStd(xs)
			s.X, s.Y = append(s.X, p.tokens), append(s.Y, m)
			s.Lo, s.Hi = append(s.Lo, m-sd), append(s.Hi, m+sd)
		}
		if slices.ContainsFunc(s.Y, isFinite) {
			chart.Series = append(chart.Series, s)
		}
	}
	caption := fmt.Sprintf("%s: zero-shot accuracy on the %s test items against adaptation tokens; %s.", mdLiteral(lang), mdLiteral(task), b.pipelinePhrase())
	if v := b.mean(scoreKey{arm: ArmStandard, task: task, lang: lang, setting: SettingCeiling}, accuracyOf); isFinite(v) {
		chart.HLines = append(chart.HLines, plot.HLine{Y: v, Label: "English ceiling"})
		caption += fmt.Sprintf(" English ceiling (the standard arm's task model on the English originals of the same items): %.1f%%.", v)
	}
	if p, what, ok := chance(task); ok {
		chart.HLines = append(chart.HLines, plot.HLine{Y: p, Label: "chance"})
		caption += fmt.Sprintf(" Chance: %.1f%% (%s).", p, what)
	}
	return b.figure(chart, name, caption, fmt.Sprintf("No zero-shot %s scores were found for %s.", mdLiteral(task), mdLiteral(lang)))
}

// curveTable is the table under a budget curve: per budget, each arm's mean
// ± std and the forgetting-minus-standard difference.
func (b *reportBuilder) curveTable(task, lang string) *report.Table {
	t := &report.Table{
		Caption: fmt.Sprintf("%s, %s: zero-shot accuracy (%%) per budget, %s.", mdLiteral(lang), mdLiteral(task), b.replicatePhrase()),
		Header:  []string{"budget", "tokens used"},
		Align:   []report.Align{report.AlignLeft, report.AlignRight},
	}
	t.Header = append(t.Header, b.cfg.Arms...)
	if b.hasArms() {
		t.Header = append(t.Header, "forgetting − standard [95% CI]", "verdict")
	}
	for _, p := range b.budgetPoints(lang) {
		row := []string{FormatBudget(p.budget), fmtTokens(p.tokens)}
		for _, arm := range b.cfg.Arms {
			row = append(row, b.cell(b.zeroShotKey(arm, task, lang, p.budget), accuracyOf))
		}
		if b.hasArms() {
			d := b.difference(b.zeroShotKey(ArmForgetting, task, lang, p.budget), b.zeroShotKey(ArmStandard, task, lang, p.budget))
			row = append(row, d.String(), d.verdict())
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// fmtTokens writes a token count compactly: 9.5k, 1.0M.
func fmtTokens(n float64) string {
	switch {
	case !isFinite(n):
		return "n/a"
	case n >= 1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", n/1e6), ".0") + "M"
	case n >= 1e3:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", n/1e3), ".0") + "k"
	}
	return fmt.Sprintf("%.0f", n)
}
