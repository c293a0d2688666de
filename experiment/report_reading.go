package experiment

// The report's closing sections and figure helper.

import (
	"encoding/json"
	"fmt"

	"lethe/plot"
	"lethe/report"
)

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
