package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"lethe/checkpoint"
	"lethe/corpus"
	"lethe/dataset"
	"lethe/prepare"
	"lethe/train"
)

func adaptCommand() *command {
	return &command{
		name:    "adapt",
		summary: "language adaptation: relearn the token embeddings for a new language, body frozen",
		usage: `Brings a pretrained model to a new language L (stage 2 of the protocol): the token embeddings
are re-drawn for L's vocabulary (N(0, 0.02), padding row zero, seeded by --seed), the LM-head
bias is zeroed, everything else is frozen, and only the embeddings (with the output projection
tied to them) and the LM-head bias are trained with masked-LM on L's text.

  lethe adapt --from runs/forget/checkpoint-best --tokenizer de.model --text de.txt \
      --max-tokens 1000000 --updates 2000 --save-at 50,250,500,1000 --out runs/adapt-de

L's text is --text (plain text, documents separated by blank lines; tokenized with
--tokenizer into OUT/data, once) or --data (a directory made by "lethe prepare" with the same
tokenizer). --max-tokens is the data budget: a deterministic random subsample of whole
documents holding at least that many tokens (the same seed and a larger budget give a
superset); validation always uses the whole held-out split.

The LM-head bias is one number per vocabulary entry (a learnt unigram prior over the old
vocabulary), so it means nothing for L's pieces: it restarts at zero and is learnt with the
embeddings. --keep-head-bias keeps the pretrained bias, frozen, as the authors' code does; it
only fits a language read with the pretraining tokenizer (English relearned as a new language).
Everything not indexed by the vocabulary (positions, embedding LayerNorm, LM-head dense and
LayerNorm, the body) is frozen and stays bit-identical.

Writes into --out what pretrain writes (checkpoint-last/, checkpoint-best/, metrics.jsonl)
plus checkpoint-U/ for every update U of --save-at, each holding L's tokenizer as
sentencepiece.model. Ctrl-C saves and exits; the same command resumes.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			d := train.DefaultOptions()
			from := fs.String("from", "", "pretrained checkpoint directory (the standard arm's checkpoint-last or the forgetting arm's checkpoint-best)")
			tok := fs.String("tokenizer", "", "language L's SentencePiece .model (train one with \"lethe tokenizer train\")")
			text := fs.String("text", "", "L's plain-text corpus, comma-separated files (documents separated by blank lines)")
			validFrac := fs.Float64("valid-fraction", 0.02, "with --text: share of documents held out for validation")
			data := fs.String("data", "", "instead of --text: a directory made by lethe prepare with --tokenizer")
			out := fs.String("out", "runs/adapt", "output directory")
			saveAt := fs.String("save-at", "50,250,500,1000,2000", "keep checkpoint-U at these updates (comma-separated)")
			o := &d
			o.Updates, o.WarmupUpdates, o.ValidEvery, o.SaveEvery = 2000, 200, 250, 250
			fs.Int64Var(&o.MaxTokens, "max-tokens", 0, "token budget: train on a fixed random subsample of this many tokens of L (0: all)")
			fs.IntVar(&o.BatchSize, "batch-size", d.BatchSize, "sequences per update")
			fs.IntVar(&o.SeqLen, "seq-len", d.SeqLen, "tokens per sequence, <s> and padding included")
			fs.IntVar(&o.Updates, "updates", o.Updates, "total optimizer updates")
			fs.IntVar(&o.WarmupUpdates, "warmup", o.WarmupUpdates, "learning-rate warm-up updates (then linear decay to 0)")
			fs.Float64Var(&o.PeakLR, "lr", d.PeakLR, "peak learning rate")
			fs.Float64Var(&o.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay")
			fs.Float64Var(&o.ClipNorm, "clip-norm", 0, "clip the gradient norm to this (0: none); give both arms the same")
			fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed for the new embeddings, the subsample, data order, masking and dropout")
			fs.IntVar(&o.ValidEvery, "valid-every", o.ValidEvery, "validate every N updates")
			fs.IntVar(&o.ValidBatches, "valid-batches", 0, "at most this many validation batches per evaluation (0: all)")
			fs.IntVar(&o.SaveEvery, "save-every", o.SaveEvery, "save checkpoint-last every N updates")
			fs.IntVar(&o.Threads, "threads", d.Threads, "cores to use")
			fs.BoolVar(&o.KeepHeadBias, "keep-head-bias", false, "keep the pretrained LM-head bias, frozen (needs the pretraining tokenizer's vocabulary size)")
			return func(ctx context.Context, env *runEnv) error {
				if *from == "" {
					return errors.New("--from is required: the pretrained checkpoint to adapt")
				}
				if _, err := checkpoint.Resolve(*from); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				at, err := parseUpdates(*saveAt, o.Updates)
				if err != nil {
					return fmt.Errorf("--save-at: %w", err)
				}
				o.SaveAt = at
				dataDir, err := adaptationData(ctx, env, *tok, *text, *data, *validFrac, *out)
				if err != nil {
					return err
				}
				if *tok == "" {
					*tok = summaryTokenizer(dataDir)
				}
				if *tok == "" {
					return errors.New("--tokenizer is required: language L's SentencePiece model")
				}
				if err := tokenizerMatchesData(*tok, dataDir); err != nil {
					return err
				}
				mask, err := summaryMaskID(dataDir)
				if err != nil {
					return err
				}
				o.Stage, o.InitFrom = train.StageLanguage, *from
				o.MaskID, o.Tokenizer = int32(mask), *tok
				o.TrainFile = prepare.Dir(dataDir).Train()
				o.ValidFile = prepare.Dir(dataDir).Valid()
				if _, err := os.Stat(o.ValidFile); err != nil {
					o.ValidFile = ""
				}
				o.OutDir, o.Progress = *out, env.stderr
				fmt.Fprintf(env.stderr, "adapt: %s to %s, %d updates of %d x %d tokens, lr %g, budget %d tokens, into %s\n",
					*from, *tok, o.Updates, o.BatchSize, o.SeqLen, o.PeakLR, o.MaxTokens, o.OutDir)
				res, err := train.Run(ctx, *o)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "update %d: train loss %.4f, validation loss %.4f (best %.4f), %.0f tokens/s; checkpoint %s\n",
					res.Update, res.TrainLoss, res.ValidLoss, res.BestValidLoss, res.TokensPerSec, res.CheckpointDir)
				return nil
			}
		},
	}
}

// parseUpdates parses a comma-separated list of update numbers in 1..max.
func parseUpdates(s string, max int) ([]int, error) {
	var us []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		u, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an update number", f)
		}
		if u < 1 {
			return nil, fmt.Errorf("update %d: need at least 1", u)
		}
		if u <= max {
			us = append(us, u)
		}
	}
	return us, nil
}

// adaptationData returns the token-file directory of L's text: --data as
// given, or --text tokenized with --tokenizer into OUT/data (once; a rerun
// reuses it).
func adaptationData(ctx context.Context, env *runEnv, tok, text, data string, validFrac float64, out string) (string, error) {
	switch {
	case data != "" && text != "":
		return "", errors.New("give either --data or --text, not both")
	case data != "":
		return data, nil
	case text == "":
		return "", errors.New("language L's text is required: --text FILE (or --data DIR from lethe prepare)")
	case tok == "":
		return "", errors.New("--tokenizer is required with --text")
	}
	dir := filepath.Join(out, "data")
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		return dir, nil
	}
	enc, err := prepare.LoadEncoder(tok)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(env.stderr, "adapt: tokenizing %s with %s into %s\n", text, tok, dir)
	cfg := prepare.Config{Model: tok, Inputs: strings.Split(text, ","), OutDir: dir,
		Split: corpus.Split{ValidFraction: validFrac, Seed: 1}, Workers: runtime.NumCPU()}
	if _, err := prepare.Run(ctx, cfg, enc, env.stderr); err != nil {
		return "", err
	}
	return dir, nil
}

// tokenizerMatchesData checks that the token files in dir were made with the
// tokenizer at path: same vocabulary size, and the same model file when the
// directory's summary.json names one.
func tokenizerMatchesData(path, dir string) error {
	enc, err := prepare.LoadEncoder(path)
	if err != nil {
		return err
	}
	f, err := dataset.Open(prepare.Dir(dir).Train())
	if err != nil {
		return err
	}
	defer f.Close()
	if f.VocabSize() != enc.VocabSize() {
		return fmt.Errorf("tokenizer %s has %d ids but %s was made with a %d-id vocabulary: they do not belong together",
			path, enc.VocabSize(), f.Path(), f.VocabSize())
	}
	if made := summaryTokenizer(dir); made != "" {
		a, errA := os.ReadFile(made)
		b, errB := os.ReadFile(path)
		if errA == nil && errB == nil && !bytes.Equal(a, b) {
			return fmt.Errorf("tokenizer %s is not the one %s was made with (%s)", path, dir, made)
		}
	}
	return nil
}
