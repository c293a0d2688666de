package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"lethe/evaluate"
	"lethe/finetune"
	"lethe/internal/parallel"
	"lethe/metric"
)

func evalCommand() *command {
	return &command{
		name:    "eval",
		summary: "evaluate a task model on XNLI, topic, or SQuAD/XQuAD/MLQA files",
		usage: `Scores a task model (from "lethe finetune", or "lethe splice" for another language) on task files
given as arguments, prints a table and writes a JSON result per file.

  lethe eval --model runs/topic-de topic/de/test.tsv
  lethe eval --model runs/squad-de --qa-mode mlqa --lang de mlqa/test-context-de-question-de.json

Classification files (label<TAB>text, XNLI/MNLI .tsv or .jsonl): accuracy and macro-F1 per
language (the file's language column, or --lang) and overall, per-label precision, recall and F1,
and the confusion matrix. A label the model does not know is an error naming file and line.
QA files (SQuAD v1.1 JSON): exact match and F1 with the official SQuAD v1.1 normalisation, or
MLQA's (--qa-mode mlqa: Unicode punctuation, the language's articles, Chinese per character);
the predictions ({id: answer}) are written beside the JSON result.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			model := fs.String("model", "", "task model directory")
			lang := fs.String("lang", "", "language of rows without a language column; the MLQA language (default: the model's)")
			qaMode := fs.String("qa-mode", "squad", "QA normalisation: squad or mlqa")
			out := fs.String("out", "", "JSON result path (one file) or directory (several); default: eval-<file>.json beside the model")
			batch := fs.Int("batch-size", 32, "sequences per forward pass")
			threads := fs.Int("threads", 2, "cores to use")
			return func(ctx context.Context, env *runEnv) error {
				if *model == "" || len(env.args) == 0 {
					return errors.New("usage: lethe eval --model DIR FILE...")
				}
				pool := parallel.New(*threads)
				defer pool.Close()
				m, err := finetune.Load(*model, *batch, pool)
				if err != nil {
					return err
				}
				m.Progress = env.stderr
				l := *lang
				if l == "" {
					l = m.Spec.Language
				}
				for _, file := range env.args {
					var res *evaluate.Result
					path := resultPath(*model, *out, file, len(env.args))
					switch m.Spec.Kind {
					case finetune.Classification:
						res, err = evaluate.Classification(ctx, m, file, l)
					default:
						mode := metric.SQuAD
						switch *qaMode {
						case "squad":
						case "mlqa":
							mode = metric.MLQA
						default:
							return fmt.Errorf("--qa-mode %q: expected squad or mlqa", *qaMode)
						}
						ql := l
						if mode == metric.SQuAD {
							ql = "en"
						}
						res, err = evaluate.QA(ctx, m, file, mode, ql, strings.TrimSuffix(path, ".json")+".predictions.json")
					}
					if err != nil {
						return err
					}
					res.Model = *model
					if err := res.WriteTable(env.stdout); err != nil {
						return err
					}
					if err := res.WriteJSON(path); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "\nwrote %s\n", path)
				}
				return nil
			}
		},
	}
}

// resultPath is where the JSON result for file goes.
func resultPath(model, out, file string, n int) string {
	base := "eval-" + strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + ".json"
	switch {
	case out == "":
		return filepath.Join(filepath.Clean(model)+"-eval", base)
	case n == 1 && strings.HasSuffix(out, ".json"):
		return out
	default:
		return filepath.Join(out, base)
	}
}
