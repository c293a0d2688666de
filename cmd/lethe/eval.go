package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lethe/checkpoint"
	"lethe/evaluate"
	"lethe/finetune"
	"lethe/internal/atomicfile"
	"lethe/internal/parallel"
	"lethe/metric"
	"lethe/prepare"
	"lethe/train"
)

func evalCommand() *command {
	return &command{
		name:    "eval",
		summary: "evaluate a task model on XNLI, topic, or SQuAD/XQuAD/MLQA files, or a masked LM (--mlm)",
		usage: `Scores a task model (from "lethe finetune", or "lethe splice" for another language) on task files
given as arguments, prints a table and writes a JSON result per file.

  lethe eval --model runs/topic-de topic/de/test.tsv
  lethe eval --model runs/squad-de --qa-mode mlqa --lang de mlqa/test-context-de-question-de.json

Classification files (label<TAB>text, XNLI/MNLI .tsv or .jsonl): accuracy and macro-F1 per
language (the file's language column, or --lang) and overall, per-label precision, recall and F1,
and the confusion matrix. A label the model does not know is an error naming file and line.
QA files (SQuAD v1.1 JSON): exact match and F1 with the official SQuAD v1.1 normalisation, or
MLQA's (--qa-mode mlqa: Unicode punctuation, the language's articles, Chinese per character);
the predictions ({id: answer}) are written beside the JSON result.

With --mlm, --model is a masked-LM checkpoint (pretrained or adapted) and each argument a
directory made by "lethe prepare" with the checkpoint's tokenizer (its valid.tok is scored) or a
token file (give --mask-id): the loss and accuracy per masked token under 80/10/10 corruption
and mask-only, as training validates. --seed chooses the masked positions, so checkpoints of
the same vocabulary scored with the same seed see the same positions.

  lethe eval --mlm --model runs/std/checkpoint-last data/en`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			model := fs.String("model", "", "task model directory (with --mlm: a masked-LM checkpoint)")
			lang := fs.String("lang", "", "language of rows without a language column; the MLQA language (default: the model's)")
			qaMode := fs.String("qa-mode", "squad", "QA normalisation: squad or mlqa")
			out := fs.String("out", "", "JSON result path (one file) or directory (several); default: eval-<file>.json beside the model")
			batch := fs.Int("batch-size", 32, "sequences per forward pass")
			threads := fs.Int("threads", 2, "cores to use")
			mlm := fs.Bool("mlm", false, "score a masked-LM checkpoint on token files (see above)")
			seqLen := fs.Int("seq-len", 128, "with --mlm: tokens per sequence, <s> and padding included")
			maskID := fs.Int("mask-id", -1, "with --mlm: id of <mask> (default: from the directory's summary.json)")
			seed := fs.Uint64("seed", 1, "with --mlm: seed choosing the masked positions")
			return func(ctx context.Context, env *runEnv) error {
				if *model == "" || len(env.args) == 0 {
					return errors.New("usage: lethe eval --model DIR FILE...")
				}
				if *mlm {
					return evalMLM(env, *model, *out, *seqLen, *batch, *threads, *maskID, *seed)
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

// evalMLM scores masked-LM checkpoint model on each argument (a "lethe
// prepare" directory's valid.tok, or a token file) and writes one JSON
// result per argument.
func evalMLM(env *runEnv, model, out string, seqLen, batch, threads, maskID int, seed uint64) error {
	for i, arg := range env.args {
		tokFile, id := arg, maskID
		if fi, err := os.Stat(arg); err != nil {
			return err
		} else if fi.IsDir() {
			tokFile = prepare.Dir(arg).Valid()
			if tok := filepath.Join(model, checkpoint.Tokenizer); isFile(tok) {
				if err := tokenizerMatchesData(tok, arg); err != nil {
					return err
				}
			}
			if id < 0 {
				m, err := summaryMaskID(arg)
				if err != nil {
					return fmt.Errorf("%s: %w", arg, err)
				}
				id = m
			}
		}
		if id < 0 {
			return fmt.Errorf("%s is a token file: pass --mask-id", arg)
		}
		s, err := train.EvaluateMLM(model, tokFile, int32(id), seqLen, batch, threads, seed)
		if err != nil {
			return err
		}
		if i == 0 {
			fmt.Fprintf(env.stdout, "%-40s %10s %9s %8s %15s %14s\n", "file", "sequences", "loss", "acc", "mask-only loss", "mask-only acc")
		}
		fmt.Fprintf(env.stdout, "%-40s %10d %9.4f %7.2f%% %15.4f %13.2f%%\n", tokFile, s.Sequences, s.Loss, 100*s.Acc, s.MaskOnlyLoss, 100*s.MaskOnlyAcc)
		path := resultPath(model, out, arg, len(env.args))
		rec := struct {
			Model   string `json:"model"`
			File    string `json:"file"`
			SeqLen  int    `json:"seq_len"`
			MaskID  int    `json:"mask_id"`
			Seed    uint64 `json:"seed"`
			Written string `json:"written"`
			train.MLMScores
		}{model, tokFile, seqLen, id, seed, time.Now().UTC().Format(time.RFC3339), s}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteJSON(path, rec); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "wrote %s\n", path)
	}
	return nil
}

// isFile reports whether path names an existing regular file.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
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
