package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"lethe/corpus"
	"lethe/prepare"
)

func prepareCommand() *command {
	return &command{
		name:    "prepare",
		summary: "tokenise a text corpus into train.tok / valid.tok for pretraining",
		usage: `Reads plain-text corpora (UTF-8, one sentence or paragraph per line, documents
separated by blank lines; .gz and .bz2 are read transparently), encodes every
line with a SentencePiece tokenizer, and writes OUT/train.tok and OUT/valid.tok
(token files, see docs/ARCHITECTURE.md) plus OUT/summary.json. Documents are
assigned to validation by a stable hash of their text, so the split does not
depend on file order and is the same on every run with the same --seed.
Encoding runs on --workers goroutines; output keeps the input order.

Example:
  lethe prepare --model en.model --input a.txt,b.txt.gz --out data/en`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			model := fs.String("model", "", "SentencePiece tokenizer `FILE` (.model)")
			input := fs.String("input", "", "comma-separated corpus `FILES` (further files may follow as arguments)")
			out := fs.String("out", "", "output `DIR` (created if missing)")
			validFrac := fs.Float64("valid-fraction", 0.01, "share of documents held out for validation")
			seed := fs.Uint64("seed", 0, "seed of the train/validation split")
			workers := fs.Int("workers", runtime.NumCPU(), "encoding goroutines")
			skipBad := fs.Bool("skip-invalid-utf8", false, "drop lines that are not valid UTF-8 (counted in the summary) instead of failing")
			maxLine := fs.Int("max-line-bytes", corpus.DefaultMaxLineBytes, "longest accepted line, in bytes")
			return func(ctx context.Context, env *runEnv) error {
				var inputs []string
				for _, p := range strings.Split(*input, ",") {
					if p = strings.TrimSpace(p); p != "" {
						inputs = append(inputs, p)
					}
				}
				inputs = append(inputs, env.args...)
				switch {
				case *model == "":
					return errors.New("--model is required")
				case len(inputs) == 0:
					return errors.New("--input is required")
				case *out == "":
					return errors.New("--out is required")
				case *workers < 1:
					return fmt.Errorf("--workers %d: expected at least 1", *workers)
				}
				enc, err := prepare.LoadEncoder(*model)
				if err != nil {
					return err
				}
				cfg := prepare.Config{
					Model:   *model,
					Inputs:  inputs,
					OutDir:  *out,
					Split:   corpus.Split{ValidFraction: *validFrac, Seed: *seed},
					Workers: *workers,
					Read:    corpus.Options{MaxLineBytes: *maxLine, SkipInvalidUTF8: *skipBad},
				}
				sum, err := prepare.Run(ctx, cfg, enc, env.stderr)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "train: %d documents, %d tokens; valid: %d documents, %d tokens; unknown-token rate %.4f%%\n",
					sum.Train.Documents, sum.Train.Tokens, sum.Valid.Documents, sum.Valid.Tokens, 100*sum.UnknownRate)
				fmt.Fprintf(env.stdout, "wrote %s, %s, %s\n", prepare.Dir(*out).Train(), prepare.Dir(*out).Valid(), filepath.Join(*out, prepare.SummaryFile))
				return nil
			}
		},
	}
}
