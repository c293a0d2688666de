package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"lethe/finetune"
)

func spliceCommand() *command {
	return &command{
		name:    "splice",
		summary: "assemble a model for language L: a task model with L's embeddings and tokenizer",
		usage: `Puts language L's token embeddings and tokenizer (from "lethe adapt") into a task model (from
"lethe finetune"), giving a model that solves the English task in L, zero-shot (stage 4).

  lethe splice --task runs/topic/checkpoint-best --language runs/adapt-de/checkpoint-best --lang de --out runs/topic-de

Refuses, with the file named: a --task directory without a task head, hidden sizes that differ,
a tokenizer whose vocabulary is not the embeddings' row count, and embeddings that were adapted
on another pretrained body than the one the task model was fine-tuned from (each adapted or
fine-tuned checkpoint records the sha256 of its pretrained model; --force overrides).

Two controls use the same code:
  - the oracle splice: --language is the pretrained checkpoint the task model was fine-tuned
    from; the result is the task model itself, so it scores exactly the English result;
  - --fresh-embeddings SEED: untrained embeddings (N(0, 0.02), padding row zero) of
    --language's vocabulary in place of its trained ones: the chance line of transfer.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			taskDir := fs.String("task", "", "task model directory (lethe finetune's checkpoint-best)")
			langDir := fs.String("language", "", "language-adapted checkpoint (lethe adapt's checkpoint-best, or checkpoint-U)")
			lang := fs.String("lang", "", "language code of the embeddings (recorded in task.json; used by lethe eval)")
			out := fs.String("out", "", "output directory for the assembled model")
			force := fs.Bool("force", false, "splice even if the two were trained from different pretrained bodies")
			fresh := fs.Uint64("fresh-embeddings", 0, "splice untrained embeddings drawn from this seed (a control; 0: the trained ones)")
			return func(ctx context.Context, env *runEnv) error {
				if *taskDir == "" || *langDir == "" || *out == "" {
					return errors.New("--task, --language and --out are required")
				}
				if err := finetune.Splice(*taskDir, *langDir, *out, finetune.SpliceOptions{Language: *lang, Force: *force, FreshSeed: *fresh}); err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "wrote %s: %s with the embeddings and tokenizer of %s\n", *out, *taskDir, *langDir)
				return nil
			}
		},
	}
}
