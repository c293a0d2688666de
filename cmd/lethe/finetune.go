package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"lethe/finetune"
	"lethe/task"
)

func finetuneCommand() *command {
	return &command{
		name:    "finetune",
		summary: "task adaptation: fine-tune the body and a task head on English data, embeddings frozen",
		usage: `Fine-tunes a pretrained model on an English task (stage 3 of the protocol): the body and a new
Hugging Face task head are trained, the token embeddings (and the output projection tied to them)
stay frozen, and the model is selected on the English dev set only.

  lethe finetune --from runs/forget/checkpoint-best --train topic/en/train.tsv --dev topic/en/dev.tsv --out runs/topic

Task files:
  classification (RobertaForSequenceClassification, dense + tanh + projection on <s>):
    label<TAB>text or label<TAB>text<TAB>text_pair lines (the DDTP topic task), XNLI/MNLI .tsv
    with a header (gold_label, sentence1, sentence2, ...) or .jsonl with the same keys (MNLI rows
    whose gold_label is "-" are skipped). A pair is encoded "<s> A </s></s> B </s>".
  question answering (RobertaForQuestionAnswering, start and end logits): SQuAD v1.1 JSON (.json).
    Long contexts are cut into --max-length windows overlapping by --doc-stride tokens; the answer
    is the best span of at most --max-answer-length tokens from the --n-best starts and ends.

The labels are the training file's (sorted), or XNLI's order (entailment, neutral, contradiction)
for XNLI/MNLI files, or --labels. A dev or training label outside them is an error naming the
file and line.

Writes into --out: checkpoint-best/ (the selected model: model.safetensors with roberta.* and
classifier.* or qa_outputs.* tensors, config.json with id2label, task.json, the tokenizer),
checkpoint-last/ (resume point) and metrics.jsonl (loss per update, dev score per evaluation).
Ctrl-C saves and exits; the same command resumes.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			d := finetune.DefaultOptions()
			o := &d
			fs.StringVar(&o.From, "from", "", "pretrained checkpoint whose body is fine-tuned (its tokenizer tokenizes the task)")
			trainPath := fs.String("train", "", "English training file")
			devPath := fs.String("dev", "", "English dev file (model selection)")
			kind := fs.String("task", "auto", "classification, qa, or auto (.json files are QA)")
			labels := fs.String("labels", "", "comma-separated label order of the head (default: see above)")
			lang := fs.String("lang", "en", "language of rows that have no language column")
			fs.StringVar(&o.OutDir, "out", "runs/finetune", "output directory")
			fs.IntVar(&o.Spec.MaxLength, "max-length", d.Spec.MaxLength, "tokens per input sequence, specials and padding included (QA: 384 in the paper)")
			fs.IntVar(&o.Spec.DocStride, "doc-stride", d.Spec.DocStride, "QA: overlap of consecutive context windows, in tokens")
			fs.IntVar(&o.Spec.MaxQueryLength, "max-query-length", d.Spec.MaxQueryLength, "QA: questions are cut to this many tokens")
			fs.IntVar(&o.Spec.MaxAnswerLength, "max-answer-length", d.Spec.MaxAnswerLength, "QA: longest answer span, in tokens")
			fs.IntVar(&o.Spec.NBest, "n-best", d.Spec.NBest, "QA: start and end candidates per window")
			fs.IntVar(&o.BatchSize, "batch-size", d.BatchSize, "sequences per update")
			fs.IntVar(&o.Epochs, "epochs", d.Epochs, "passes over the training data")
			fs.Float64Var(&o.PeakLR, "lr", d.PeakLR, "peak learning rate")
			fs.Float64Var(&o.WarmupFraction, "warmup-fraction", d.WarmupFraction, "share of updates spent warming up, then linear decay to 0")
			fs.BoolVar(&o.ConstantLR, "constant-lr", false, "keep the learning rate constant (the paper's NLI recipe)")
			fs.Float64Var(&o.WeightDecay, "weight-decay", d.WeightDecay, "AdamW weight decay")
			fs.Float64Var(&o.ClipNorm, "clip-norm", 0, "clip the gradient norm to this (0: none)")
			fs.Uint64Var(&o.Seed, "seed", d.Seed, "seed for the head, data order and dropout")
			fs.IntVar(&o.EvalEvery, "eval-every", 0, "also evaluate on dev every N updates (0: after each epoch)")
			fs.IntVar(&o.SaveEvery, "save-every", d.SaveEvery, "save checkpoint-last every N updates")
			fs.IntVar(&o.Threads, "threads", d.Threads, "cores to use")
			return func(ctx context.Context, env *runEnv) error {
				if o.From == "" || *trainPath == "" || *devPath == "" {
					return errors.New("--from, --train and --dev are required")
				}
				k := *kind
				if k == "auto" {
					k = "classification"
					if strings.EqualFold(filepath.Ext(*trainPath), ".json") {
						k = "qa"
					}
				}
				switch k {
				case "classification":
					o.Spec.Kind = finetune.Classification
					var fixed []string
					if *labels != "" {
						fixed = strings.Split(*labels, ",")
					}
					tr, err := task.ReadClassification(*trainPath, task.ReadOptions{Labels: fixed, Lang: *lang})
					if err != nil {
						return err
					}
					if fixed == nil && tr.Format != task.FormatPlain && subset(tr.Labels, task.XNLILabels) {
						fixed = task.XNLILabels
					}
					if fixed == nil {
						fixed = tr.Labels
					}
					o.Spec.Labels = fixed
					dev, err := task.ReadClassification(*devPath, task.ReadOptions{Labels: fixed, Lang: *lang})
					if err != nil {
						return err
					}
					if _, err := task.ReadClassification(*trainPath, task.ReadOptions{Labels: fixed, Lang: *lang}); err != nil {
						return err // a training label outside --labels
					}
					o.Train, o.Dev = tr.Examples, dev.Examples
					fmt.Fprintf(env.stderr, "finetune: %d training and %d dev examples, labels %s\n", len(o.Train), len(o.Dev), strings.Join(fixed, ", "))
				case "qa":
					o.Spec.Kind = finetune.QuestionAnswering
					tr, err := task.ReadSQuAD(*trainPath)
					if err != nil {
						return err
					}
					dev, err := task.ReadSQuAD(*devPath)
					if err != nil {
						return err
					}
					o.TrainQA, o.DevQA = tr.Examples, dev.Examples
					fmt.Fprintf(env.stderr, "finetune: %d training and %d dev questions\n", len(o.TrainQA), len(o.DevQA))
				default:
					return fmt.Errorf("--task %q: expected classification, qa or auto", *kind)
				}
				o.Progress = env.stderr
				res, err := finetune.Finetune(ctx, *o)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "best dev %s %.2f at update %d of %d; selected model %s\n",
					res.DevMetric, res.BestDev, res.BestUpdate, res.Updates, res.BestDir)
				return nil
			}
		},
	}
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
