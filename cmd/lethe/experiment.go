package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"lethe/corpus/ddtp"
	"lethe/corpus/debian"
	"lethe/experiment"
)

func experimentCommand() *command {
	return &command{
		name:    "experiment",
		summary: "reproduce the paper's comparison end to end and write a report",
		usage: `Runs the whole protocol and answers "does forgetting make my model more plastic, on my data,
for my languages?":

  1. a SentencePiece tokenizer for English and for every target language;
  2. pretraining of the arms on English with the same data, seed and budget: standard, active
     forgetting (embeddings re-drawn every K updates), and a randomly initialised body as the
     control (does pretraining help at all?);
  3. language adaptation of every arm to every language under a token budget (the low-data
     regime), keeping checkpoints along the way, with --adapt-seeds replicates per body;
  4. English fine-tuning on the Debian package topic task (and its pair variant), model
     selection on English dev;
  5. splicing and zero-shot evaluation per language at every adaptation checkpoint ("low-step"
     and "full" adaptation, and the convergence curves), with English accuracy on the same
     items as the ceiling;
  6. results.json and a report (report.md, report.html, plots/*.svg) in --out.

Controls run with every task model: the oracle splice (its own pretrained embeddings back in:
must give the English score exactly) and untrained embeddings (the chance line). Target languages
may include en-relearn (English relearned as a new language, on English text pretraining did not
read), en-reverse and en-shuffle (that text with its word order inverted or shuffled).

Each arm goes through every stage before the next arm starts, and results.json and the report are
rewritten after each, so a long experiment can be read while it runs.
Every stage logs its wall time, and once a stage of each kind (pretraining, adaptation,
fine-tuning, evaluation) has run, every stage announces how long the experiment has left at
the pace of this run.

Presets: quick (the default, minutes: the pipeline check and what a briefly pretrained body does
for relearning embeddings, against a random body; no forgetting arm),
small (the CPU-scale replication, 1 h 14 min for one seed and 3 adaptation seeds on 2 cores),
curves (zero-shot accuracy against the adaptation budget, 1e4 to 1e6 tokens, for en-relearn, de,
fr and ru, plus the word-order languages; 3 pretraining seeds, --seeds 1 for one), full (the
paper's sizes, for big machines). --config FILE overrides any setting with JSON (the keys of config.json in
an experiment directory). The data comes from "lethe data build" (--data); when the default
data directory is missing it is built first (apt-get, no root).

Finished stages are cached: running the same command again skips them and resumes the stage that
was cut off (Ctrl-C saves a checkpoint); a larger --seeds or --adapt-seeds extends a finished
experiment. Adaptations made by an older Lethe that drew the fresh embeddings another way are
redone, with their zero-shot scores. A directory holding an experiment with another configuration
is refused. --report-only writes the report of an experiment directory again from its
results.json, running nothing.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			preset := fs.String("preset", "quick", fmt.Sprintf("configuration preset %v", experiment.PresetNames()))
			cfgFile := fs.String("config", "", "JSON file overriding any setting of the preset")
			out := fs.String("out", "", "experiment directory (default runs/experiment-PRESET)")
			data := fs.String("data", "", "data directory from lethe data build (default: the preset's, cache/debian)")
			seeds := fs.Int("seeds", 0, "replicates of the whole pipeline (default: the preset's)")
			adaptSeeds := fs.Int("adapt-seeds", 0, "adaptation replicates of every pretrained body (default: the preset's)")
			langs := fs.String("langs", "", "comma-separated target languages, close to distant (default: the preset's)")
			threads := fs.Int("threads", 0, "cores to use (default: the preset's)")
			reportOnly := fs.Bool("report-only", false, "run nothing: write the report of --out again from its results.json and metrics")
			return func(ctx context.Context, env *runEnv) error {
				if *reportOnly {
					if *out == "" {
						return fmt.Errorf("experiment: --report-only needs --out, the experiment directory")
					}
					res, err := experiment.ReadResults(*out)
					if err != nil {
						return err
					}
					if err := experiment.WriteReport(*out, res); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "report: %s\n", filepath.Join(*out, "report.html"))
					return nil
				}
				c, err := experiment.Preset(*preset)
				if err != nil {
					return err
				}
				if *cfgFile != "" {
					if err := experiment.LoadOverrides(&c, *cfgFile); err != nil {
						return err
					}
				}
				if *data != "" {
					c.Data = *data
				}
				if *seeds > 0 {
					c.Seeds = *seeds
				}
				if *adaptSeeds > 0 {
					c.Adapt.Seeds = *adaptSeeds
				}
				if *langs != "" {
					c.Languages = strings.Split(*langs, ",")
				}
				if *threads > 0 {
					c.Threads = *threads
				}
				p, _ := experiment.Preset(*preset) // a fresh copy: the overrides may have changed c's maps
				c.DropPresetBudgets(p)
				if *out == "" {
					*out = filepath.Join("runs", "experiment-"+c.Preset)
				}
				if err := c.Validate(); err != nil {
					return err
				}
				if _, err := os.Stat(filepath.Join(c.Data, "manifest.json")); errors.Is(err, os.ErrNotExist) && *data == "" {
					fmt.Fprintf(env.stderr, "experiment: no data in %s: building it (lethe data build)\n", c.Data)
					if _, err := debian.Build(ctx, debian.Options{Dir: c.Data, Langs: buildLangs(c.Languages),
						Shares: ddtp.Shares{Test: 0.2, Dev: 0.1}, Extractors: defaultExtractors(), Jobs: c.Threads,
						Log: env.stderr, Command: "lethe experiment (built-in default data)"}); err != nil {
						return err
					}
				}
				res, err := experiment.Run(ctx, experiment.Options{Config: c, Out: *out, Log: env.stderr,
					Command: "lethe experiment " + strings.Join(os.Args[min(2, len(os.Args)):], " ")})
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "%d scores in %s; report: %s\n", len(res.Scores), filepath.Join(*out, "results.json"),
					filepath.Join(*out, "report.html"))
				return nil
			}
		},
	}
}

// buildLangs is the default data languages plus any the experiment needs.
func buildLangs(extra []string) []string {
	langs := strings.Split(defaultBuildLangs, ",")
	for _, l := range extra {
		if experiment.EnglishDerived(l) {
			continue // made from the English corpus
		}
		found := false
		for _, m := range langs {
			found = found || m == l
		}
		if !found {
			langs = append(langs, l)
		}
	}
	return langs
}
