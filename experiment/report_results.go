package experiment

// The report's opening: the summary and the main zero-shot tables.

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"lethe/report"
)

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
