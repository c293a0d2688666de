package experiment

// The report's evidence from training: pretraining, episodes, adaptation,
// fine-tuning, convergence and relative gains.

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"lethe/plot"
	"lethe/report"
)

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
		if tc, ok := b.drawnTrainLoss(arm); ok {
			chart.Series = append(chart.Series, plot.Series{Name: arm + " train", X: tc.x, Y: tc.y})
		}
		var moCurves []curve
		for _, seed := range b.seeds {
			m := b.pretrain[runKey{seed, 0, arm, ""}]
			if m == nil {
				continue
			}
			moCurves = append(moCurves, m.validCurve(func(v validRec) float64 { return v.maskOnlyLoss }))
			for _, r := range m.train {
				if r.forgot {
					resets[r.update] = true
				}
			}
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

// drawnTrainLoss is arm's pretraining loss curve as the report draws it:
// the mean over the seeds of the training loss per update, downsampled to
// reportMaxPoints points; false when no seed has a point of it.
// WriteMetricsBundle keeps the training records at these updates alone.
func (b *reportBuilder) drawnTrainLoss(arm string) (curve, bool) {
	var cs []curve
	for _, seed := range b.seeds {
		if m := b.pretrain[runKey{seed, 0, arm, ""}]; m != nil {
			cs = append(cs, m.trainLoss())
		}
	}
	tc := meanCurve(cs)
	if !tc.ok() {
		return curve{}, false
	}
	x, y := plot.Downsample(tc.x, tc.y, reportMaxPoints)
	return curve{x, y}, true
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
