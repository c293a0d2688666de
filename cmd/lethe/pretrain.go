package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"lethe/prepare"
	"lethe/roberta"
	"lethe/train"
)

func pretrainCommand() *command {
	return &command{
		name:    "pretrain",
		summary: "pretrain a RoBERTa masked LM, standard or with active forgetting",
		usage: `Pretrains a RoBERTa masked language model on token files made by "lethe prepare"
(--data DIR, or --train/--valid FILE). With --forget-every K the token embeddings are
re-initialised every K updates ("active forgetting", Chen et al. 2023): their Adam moments
and step counter restart and their learning rate follows the schedule compressed into
each K-update episode; everything else trains as usual.

Without --data or --train, pretrain runs the built-in default: Debian's English package
descriptions (fetched with apt-get into ./cache), an 8,000-piece tokenizer trained on them,
and the small preset.

Writes into --out: checkpoint-last/ (resume point; loads in Hugging Face transformers as
RobertaForMaskedLM; holds the tokenizer as sentencepiece.model), checkpoint-best/ (lowest validation loss) and metrics.jsonl (one JSON
object per update and per validation: loss, masked accuracy, gradient norm, learning
rates, tokens/s; validation also reports the mask-only loss and accuracy).

Ctrl-C saves checkpoint-last and exits; running the same command again continues the run
exactly where it stopped (bit-identical to a run that never stopped). A NaN or infinite
loss stops training with an error and keeps the last good checkpoint.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			d := train.DefaultOptions()
			data := fs.String("data", "", "directory made by lethe prepare (train.tok, valid.tok, summary.json)")
			trainFile := fs.String("train", "", "training token file (instead of --data)")
			validFile := fs.String("valid", "", "validation token file (instead of --data; empty: no validation)")
			maskID := fs.Int("mask-id", -1, "id of <mask>; default: from --data's summary.json")
			tok := fs.String("tokenizer", "", "SentencePiece .model of the token files, copied into each checkpoint; default: the one --data's summary.json names")
			preset := fs.String("preset", "small", fmt.Sprintf("model size preset %v (the vocabulary size comes from the data)", roberta.PresetNames()))
			out := fs.String("out", "runs/pretrain", "output directory for checkpoints and metrics.jsonl")
			o := &d
			fs.IntVar(&o.BatchSize, "batch-size", d.BatchSize, "sequences per update")
			fs.IntVar(&o.SeqLen, "seq-len", d.SeqLen, "tokens per sequence, <s> and padding included")
			fs.IntVar(&o.Updates, "updates", d.Updates, "total optimizer updates")
			fs.IntVar(&o.WarmupUpdates, "warmup", d.WarmupUpdates, "learning-rate warm-up updates (then linear decay to 0)")
			fs.Float64Var(&o.PeakLR, "lr", d.PeakLR, "peak learning rate")
			fs.Float64Var(&o.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay (not on biases and LayerNorm weights)")
			fs.Float64Var(&o.Beta1, "beta1", d.Beta1, "Adam beta1")
			fs.Float64Var(&o.Beta2, "beta2", d.Beta2, "Adam beta2")
			fs.Float64Var(&o.Eps, "eps", d.Eps, "Adam epsilon")
			fs.Float64Var(&o.ClipNorm, "clip-norm", d.ClipNorm, "clip the global gradient norm to this (0: no clipping; the paper's forgetting arm used 0.5)")
			fs.IntVar(&o.ForgetEvery, "forget-every", 0, "active forgetting: re-initialise the token embeddings every K updates (0: standard pretraining)")
			fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed for initialisation, data order, masking and dropout")
			fs.IntVar(&o.ValidEvery, "valid-every", d.ValidEvery, "validate every N updates")
			fs.IntVar(&o.ValidBatches, "valid-batches", 0, "at most this many validation batches per evaluation (0: all)")
			fs.IntVar(&o.SaveEvery, "save-every", d.SaveEvery, "save checkpoint-last every N updates")
			fs.IntVar(&o.Threads, "threads", d.Threads, "cores to use")
			return func(ctx context.Context, env *runEnv) error {
				cfg, err := roberta.Preset(*preset)
				if err != nil {
					return err
				}
				o.Config = cfg
				o.OutDir = *out
				o.Progress = env.stderr
				o.TrainFile, o.ValidFile = *trainFile, *validFile
				mask := *maskID
				if *data == "" && *trainFile == "" {
					dir, id, err := defaultPretrainData(ctx, env)
					if err != nil {
						return fmt.Errorf("built-in default data: %w", err)
					}
					*data, mask = dir, id
				}
				if *data != "" {
					if *trainFile != "" || *validFile != "" {
						return errors.New("give either --data or --train/--valid, not both")
					}
					o.TrainFile = prepare.Dir(*data).Train()
					o.ValidFile = prepare.Dir(*data).Valid()
					if _, err := os.Stat(o.ValidFile); err != nil {
						o.ValidFile = ""
					}
					if mask < 0 {
						if mask, err = summaryMaskID(*data); err != nil {
							return err
						}
					}
					if *tok == "" {
						*tok = summaryTokenizer(*data)
					}
				}
				if mask < 0 {
					return errors.New("--mask-id is required with --train (the id of <mask> in your tokenizer)")
				}
				o.MaskID = int32(mask)
				o.Tokenizer = *tok
				fmt.Fprintf(env.stderr, "pretrain: %s preset, %d updates of %d x %d tokens, lr %g, forget-every %d, into %s\n",
					*preset, o.Updates, o.BatchSize, o.SeqLen, o.PeakLR, o.ForgetEvery, o.OutDir)
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

// summaryTokenizer returns the tokenizer model that "lethe prepare" recorded
// in DIR/summary.json, or "" if it is not recorded or no longer there.
func summaryTokenizer(dir string) string {
	s, err := prepare.ReadSummary(dir)
	if err != nil || s.Tokenizer == "" {
		return ""
	}
	if _, err := os.Stat(s.Tokenizer); err != nil {
		return ""
	}
	return s.Tokenizer
}

// summaryMaskID reads the <mask> id that "lethe prepare" recorded in
// DIR/summary.json.
func summaryMaskID(dir string) (int, error) {
	s, err := prepare.ReadSummary(dir)
	if err != nil {
		return -1, fmt.Errorf("reading the <mask> id: %w (or pass --mask-id)", err)
	}
	if s.MaskID <= 3 {
		return -1, fmt.Errorf("%s has no mask_id (got %d): pass --mask-id", filepath.Join(dir, prepare.SummaryFile), s.MaskID)
	}
	return int(s.MaskID), nil
}
