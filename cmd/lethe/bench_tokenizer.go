package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"lethe/benchmark"
	"lethe/corpus/ddtp"
	"lethe/internal/atomicfile"
)

func benchTokenizerCommand() *command {
	return &command{
		name:    "bench tokenizer",
		summary: "measure tokenizer training and encoding against SentencePiece",
		usage: `Trains a unigram tokenizer on the same corpus with Lethe and with spm_train (same
vocabulary size, thread count, character coverage and RoBERTa special ids), then encodes
the held-out text with "lethe tokenizer encode" and with spm_encode, both with
spm_train's model, and prints training time, peak memory, encoding throughput and pieces
per word on the held-out text (each trainer's own model), with the ratios. Needs Debian's
sentencepiece package.

Without --input it uses the built-in default: Debian's English package descriptions
(train split to train, test split to encode), fetched into ./cache if absent.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			o := benchmark.TokenizerOptions{VocabSize: 8000, Threads: 2}
			fs.StringVar(&o.Input, "input", "", "training corpus (default: the DDTP English train split)")
			fs.StringVar(&o.HeldOut, "held-out", "", "text to encode and measure pieces per word on (default: the DDTP English test split)")
			fs.IntVar(&o.VocabSize, "vocab_size", o.VocabSize, "vocabulary size")
			fs.IntVar(&o.Threads, "threads", o.Threads, "threads for both toolkits")
			jsonOut := fs.String("json", "", "also write the report as JSON to this file")
			return func(ctx context.Context, env *runEnv) error {
				if o.Input == "" || o.HeldOut == "" {
					dir := filepath.Join(defaultCache, "ddtp")
					if _, err := ddtp.Fetch(ctx, ddtp.Options{Dir: dir, Langs: []string{defaultLang}, Shares: ddtp.DefaultShares(),
						Log: env.stderr, Command: "lethe bench tokenizer (built-in default)"}); err != nil {
						return fmt.Errorf("built-in default data: %w", err)
					}
					if o.Input == "" {
						o.Input = filepath.Join(dir, defaultLang, "train.txt")
					}
					if o.HeldOut == "" {
						o.HeldOut = filepath.Join(dir, defaultLang, "test.txt")
					}
				}
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				o.Lethe = exe
				o.Log = env.stderr
				rep, err := benchmark.RunTokenizer(ctx, o)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.stdout)
				rep.WriteText(env.stdout)
				if *jsonOut != "" {
					return atomicfile.WriteJSON(*jsonOut, rep)
				}
				return nil
			}
		},
	}
}
