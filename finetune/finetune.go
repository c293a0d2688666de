package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"lethe/checkpoint"
	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/loop"
	"lethe/roberta"
	"lethe/task"
)

// Options configures a fine-tuning run. Start from DefaultOptions.
type Options struct {
	// From is the pretrained checkpoint whose body is fine-tuned (the
	// standard arm's checkpoint-last or the forgetting arm's
	// checkpoint-best); its tokenizer (sentencepiece.model) tokenizes the
	// task data.
	From string
	// Spec says which head and how inputs are cut. Kind Classification needs
	// Labels (the label order of the head's outputs).
	Spec Spec

	Train, Dev     []task.Example   // classification data (English); Dev selects the model
	TrainQA, DevQA []task.QAExample // question-answering data (English)

	OutDir         string
	BatchSize      int
	Epochs         int
	PeakLR         float64 // after warm-up; then linear decay to 0 (or constant, see ConstantLR)
	WarmupFraction float64 // share of all updates spent warming up (HF warmup_ratio)
	ConstantLR     bool    // the paper's NLI recipe: a constant learning rate
	WeightDecay    float64
	Beta1, Beta2   float64
	Eps            float64
	ClipNorm       float64 // 0: none
	Seed           uint64  // head initialisation, data order, dropout
	EvalEvery      int     // also evaluate on Dev every this many updates (0: at the end of each epoch only)
	SaveEvery      int     // save checkpoint-last (the resume point) every this many updates, and at the end of each epoch
	Threads        int
	Progress       io.Writer
}

// DefaultOptions returns Lethe's CPU-scale fine-tuning recipe: AdamW (0.9,
// 0.98, eps 1e-6, weight decay 0.01), 6% warm-up then linear decay, batch 32,
// 3 epochs, sequences of 128 tokens (QA: 384 with stride 128, questions up to
// 64 tokens, answers up to 30 tokens from the 20 best starts and ends, as
// run_qa.py).
func DefaultOptions() Options {
	return Options{
		Spec:      Spec{Kind: Classification, MaxLength: 128, DocStride: 128, MaxQueryLength: 64, MaxAnswerLength: 30, NBest: 20},
		BatchSize: 32, Epochs: 3, PeakLR: 5e-5, WarmupFraction: 0.06,
		WeightDecay: 0.01, Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, Seed: 1, SaveEvery: 500, Threads: 2,
	}
}

// Result summarises a fine-tuning run.
type Result struct {
	Updates       int
	DevMetric     string  // "accuracy" or "f1"
	BestDev       float64 // best Dev score (percent)
	BestUpdate    int
	BestDir       string // the selected model: OutDir/checkpoint-best
	TrainLoss     float64
	TokensPerSec  float64
	ResumedAt     int
	TrainExamples int // sequences per epoch (QA: windows)
}

// state is trainer_state.json of a fine-tuning checkpoint.
type state struct {
	Update     int      `json:"update"`
	BestDev    *float64 `json:"best_dev,omitempty"`
	BestUpdate int      `json:"best_update,omitempty"`
	Seconds    float64  `json:"train_seconds"`
	Run        identity `json:"run"`
}

// Fields gives the loop the update counter, the training time, the best dev
// score and the run's identity.
func (s *state) Fields() loop.Fields {
	return loop.Fields{Update: &s.Update, Seconds: &s.Seconds, Best: &s.BestDev, BestUpdate: &s.BestUpdate, Run: s.Run}
}

// identity is what a resumed run must share with the run it continues.
type identity struct {
	From        string  `json:"from"`
	Spec        string  `json:"spec"` // Spec as JSON
	TrainN      int     `json:"train_examples"`
	DevN        int     `json:"dev_examples"`
	BatchSize   int     `json:"batch_size"`
	Epochs      int     `json:"epochs"`
	PeakLR      float64 `json:"peak_lr"`
	Warmup      float64 `json:"warmup_fraction"`
	Constant    bool    `json:"constant_lr"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	Seed        uint64  `json:"seed"`
}

func (o *Options) identity(spec Spec) identity {
	specJSON, _ := json.Marshal(spec)
	return identity{From: o.From, Spec: string(specJSON), TrainN: len(o.Train) + len(o.TrainQA), DevN: len(o.Dev) + len(o.DevQA),
		BatchSize: o.BatchSize, Epochs: o.Epochs, PeakLR: o.PeakLR, Warmup: o.WarmupFraction, Constant: o.ConstantLR,
		WeightDecay: o.WeightDecay, ClipNorm: o.ClipNorm, Seed: o.Seed}
}

func (o *Options) validate() error {
	switch {
	case o.From == "":
		return errors.New("no pretrained checkpoint to fine-tune (--from)")
	case o.OutDir == "":
		return errors.New("no output directory")
	case o.BatchSize < 1 || o.Epochs < 1:
		return fmt.Errorf("batch size %d, epochs %d: need at least 1 each", o.BatchSize, o.Epochs)
	case o.PeakLR <= 0:
		return fmt.Errorf("learning rate %g: need > 0", o.PeakLR)
	case o.WarmupFraction < 0 || o.WarmupFraction >= 1:
		return fmt.Errorf("warm-up fraction %g: need 0 <= f < 1", o.WarmupFraction)
	case o.Threads < 1:
		return fmt.Errorf("threads %d: need at least 1", o.Threads)
	}
	switch o.Spec.Kind {
	case Classification:
		if len(o.Train) == 0 || len(o.Dev) == 0 {
			return fmt.Errorf("classification needs training and dev examples (have %d and %d)", len(o.Train), len(o.Dev))
		}
	case QuestionAnswering:
		if len(o.TrainQA) == 0 || len(o.DevQA) == 0 {
			return fmt.Errorf("question answering needs training and dev questions (have %d and %d)", len(o.TrainQA), len(o.DevQA))
		}
	}
	return o.Spec.validate()
}

// Finetune trains the body and a new task head on English task data with
// the token embeddings (and the LM head, unused) frozen, evaluates on Dev
// after every epoch (and every EvalEvery updates), and keeps the best model
// by Dev score as OutDir/checkpoint-best. Like pretraining (both run in
// package loop), it saves OutDir/checkpoint-last on Ctrl-C (ctx cancelled;
// the error wraps checkpoint.ErrInterrupted) and a rerun with the same
// options continues it.
func Finetune(ctx context.Context, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	blas.SetThreads(1)
	pool := parallel.New(o.Threads)
	defer pool.Close()
	m, err := startFrom(o, pool)
	if err != nil {
		return nil, err
	}
	t := &tuning{o: o, m: m, pool: pool, orderEpoch: -1}
	if err := t.encodeTrainingSet(); err != nil {
		return nil, err
	}
	t.perEpoch = (t.n + o.BatchSize - 1) / o.BatchSize
	total := t.perEpoch * o.Epochs
	if err := t.buildOptimizer(total); err != nil {
		return nil, err
	}
	t.allocate()
	t.state.Run = o.identity(m.Spec)

	res := &Result{DevMetric: m.Spec.Kind.devMetric(), TrainExamples: t.n, BestDir: filepath.Join(o.OutDir, checkpoint.Best)}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "finetune: %d %s, %d epochs of %d updates (batch %d, %d tokens)\n",
			t.n, map[Kind]string{Classification: "examples", QuestionAnswering: "windows"}[m.Spec.Kind], o.Epochs, t.perEpoch, o.BatchSize, m.Spec.MaxLength)
	}
	out, err := loop.Run(ctx, loop.Config{
		Name: "finetune", Label: "finetune", OutDir: o.OutDir,
		Updates: total, Epoch: t.perEpoch, ValidEvery: o.EvalEvery, SaveEvery: o.SaveEvery, HigherIsBetter: true,
		Optimizer: t.opt, Progress: o.Progress,
		Hooks: loop.Hooks{Forward: t.forward, Backward: t.backward, Record: t.record, Validate: t.validate,
			Restore: t.restore, Checkpoint: m.fill, Finished: t.finished},
	}, &t.state)
	if err != nil {
		return nil, err
	}
	res.Updates, res.ResumedAt = t.state.Update, out.ResumedAt
	res.TrainLoss, res.TokensPerSec = out.LastLoss, out.TokensPerSec
	if t.state.BestDev != nil {
		res.BestDev, res.BestUpdate = *t.state.BestDev, t.state.BestUpdate
	}
	return res, nil
}

// startFrom builds the task model on the pretrained body o.From: its
// config, tokenizer and parameters (the LM head left out), and a task head
// initialised with o.Seed. The spec records the body's hash.
func startFrom(o Options, pool *parallel.Pool) (*Model, error) {
	from, err := checkpoint.Resolve(o.From)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(from, &cfg); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	tokRaw, err := os.ReadFile(filepath.Join(from, checkpoint.Tokenizer))
	if err != nil {
		return nil, fmt.Errorf("finetune: %s has no tokenizer (%s): pretrain with --tokenizer or --data: %w", from, checkpoint.Tokenizer, err)
	}
	spec := o.Spec
	if spec.BaseModelSHA256, err = checkpoint.ModelHash(from); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	m, err := New(cfg, spec, tokRaw, o.BatchSize, pool)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	if err := checkpoint.LoadParams(from, m.BodyParams(), checkpoint.AllowExtra()); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	if m.Cls != nil {
		m.Cls.Init(o.Seed, cfg.InitializerRange)
	} else {
		m.QA.Init(o.Seed, cfg.InitializerRange)
	}
	return m, nil
}

// isLMHead reports whether a parameter belongs to the masked-LM head, which a
// task model neither uses nor saves.
func isLMHead(name string) bool { return strings.HasPrefix(name, "lm_head.") }
