package train

import (
	"errors"
	"fmt"
	"io"

	"lethe/checkpoint"
	"lethe/roberta"
)

// Options configures a pretraining run. The zero value is not useful; start
// from DefaultOptions.
type Options struct {
	Config    roberta.Config // model shape; VocabSize is taken from the token files
	TrainFile string         // token file (dataset format) to train on
	ValidFile string         // token file for validation; "" skips validation
	MaskID    int32          // id of <mask> in the tokenizer
	OutDir    string         // checkpoints and metrics.jsonl go here

	// Tokenizer, if set, is the SentencePiece .model whose ids the token
	// files hold. It is copied into every checkpoint as checkpoint.Tokenizer, so a
	// checkpoint carries the vocabulary its embeddings index.
	Tokenizer string

	BatchSize     int     // sequences per update
	SeqLen        int     // tokens per sequence, <s> and padding included
	Updates       int     // total optimizer updates
	WarmupUpdates int     // linear warm-up of the learning rate
	PeakLR        float64 // learning rate at the end of warm-up, then linear decay to 0
	Beta1, Beta2  float64 // Adam moments' decay
	Eps           float64 // Adam epsilon
	WeightDecay   float64 // decoupled weight decay (not on biases and LayerNorm weights)
	ClipNorm      float64 // global gradient-norm clipping; 0 disables it

	// ForgetEvery is K of active forgetting: after update u with u%K == 0 the
	// token embeddings are re-drawn, their Adam moments and step counter
	// reset, and their learning rate follows the schedule compressed into
	// each K-update episode. 0 trains the standard way.
	ForgetEvery int

	// Stage says what the run trains: StagePretrain (the whole model) or
	// StageLanguage (language adaptation: new token embeddings, body frozen).
	Stage Stage

	// InitFrom, if set, is a checkpoint directory to start from instead of a
	// random initialisation. Its config gives the model shape (Config is then
	// ignored except for its vocabulary, which comes from the token files).
	// StageLanguage requires it: it is the pretrained body to adapt.
	InitFrom string

	// KeepHeadBias, for StageLanguage, keeps InitFrom's LM-head bias and
	// freezes it instead of zeroing and relearning it, as the authors' code
	// does. The bias is a unigram prior over the pretraining vocabulary, so
	// this only makes sense when L's tokenizer is the pretraining one (English
	// relearned as a new language); the vocabularies must be the same size.
	KeepHeadBias bool

	// MaxTokens, if > 0, caps the training data at a deterministic random
	// subsample of whole sequences holding at least this many tokens
	// (dataset.Sequences.Subsample, drawn with Seed): the token budget of a
	// low-data run. Validation always uses the whole ValidFile.
	MaxTokens int64

	// SaveAt lists updates at which to keep a checkpoint of their own,
	// "checkpoint-<update>" (parameters, config, tokenizer; no optimizer), so
	// that convergence curves can be evaluated afterwards.
	SaveAt []int

	Seed         uint64 // drives initialisation, data order, masking and dropout
	ValidEvery   int    // validate every this many updates (and at the end)
	ValidBatches int    // cap on validation batches per evaluation; 0 = the whole file
	SaveEvery    int    // checkpoint every this many updates (and at the end and on interrupt)
	Threads      int    // worker goroutines (cores) to use

	Progress io.Writer // progress line; nil for none

	// AfterUpdate, if set, is called after every update with the update number
	// and its training loss (for monitoring, and for tests that stop a run at a
	// chosen update).
	AfterUpdate func(update int, loss float64)
}

// DefaultOptions returns the settings of Lethe's CPU-scale pretraining: the
// RoBERTa recipe (Adam 0.9/0.98, eps 1e-6, weight decay 0.01, linear warm-up
// then decay) with a batch and run length sized for two cores.
func DefaultOptions() Options {
	cfg, _ := roberta.Preset("small")
	return Options{
		Config:        cfg,
		BatchSize:     32,
		SeqLen:        128,
		Updates:       10000,
		WarmupUpdates: 1000,
		PeakLR:        7e-4,
		Beta1:         0.9,
		Beta2:         0.98,
		Eps:           1e-6,
		WeightDecay:   0.01,
		Seed:          1,
		ValidEvery:    500,
		SaveEvery:     500,
		Threads:       2,
	}
}

// Stage is what a training run trains.
type Stage int

const (
	// StagePretrain trains every parameter with masked-LM (stage 1 of the
	// protocol; with ForgetEvery > 0, pretraining with active forgetting).
	StagePretrain Stage = iota
	// StageLanguage is language adaptation (stage 2): starting from the
	// pretrained checkpoint InitFrom, the token embeddings are re-drawn for
	// the new language's vocabulary (N(0, initializer_range), padding row
	// zero, seeded by Seed) and the LM-head bias is zeroed; only those two
	// vocabulary-indexed tensors are trained (the output projection is tied
	// to the embeddings, so it is trained with them); everything else is
	// frozen and stays bit-identical.
	StageLanguage
)

// String names the stage as checkpoints and logs spell it.
func (s Stage) String() string {
	switch s {
	case StagePretrain:
		return checkpoint.StagePretrain
	case StageLanguage:
		return checkpoint.StageLanguage
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

func (o *Options) validate() error {
	switch {
	case o.TrainFile == "":
		return errors.New("no training token file")
	case o.OutDir == "":
		return errors.New("no output directory")
	case o.BatchSize < 1:
		return fmt.Errorf("batch size %d: need at least 1", o.BatchSize)
	case o.SeqLen < 2:
		return fmt.Errorf("sequence length %d: need at least 2", o.SeqLen)
	case o.KeepHeadBias && o.Stage != StageLanguage:
		return errors.New("keep head bias: only for language adaptation")
	case o.Updates < 1:
		return fmt.Errorf("updates %d: need at least 1", o.Updates)
	case o.WarmupUpdates < 0 || o.WarmupUpdates > o.Updates:
		return fmt.Errorf("warm-up %d updates: need 0..updates (%d)", o.WarmupUpdates, o.Updates)
	case o.PeakLR <= 0:
		return fmt.Errorf("peak learning rate %g: need > 0", o.PeakLR)
	case o.ForgetEvery < 0:
		return fmt.Errorf("forget-every %d: need >= 0", o.ForgetEvery)
	case o.Threads < 1:
		return fmt.Errorf("threads %d: need at least 1", o.Threads)
	case o.MaskID < 0:
		return fmt.Errorf("mask id %d: need >= 0", o.MaskID)
	case o.Stage != StagePretrain && o.Stage != StageLanguage:
		return fmt.Errorf("unknown %v", o.Stage)
	case o.Stage == StageLanguage && o.InitFrom == "":
		return errors.New("language adaptation needs a pretrained checkpoint to start from")
	case o.Stage == StageLanguage && o.ForgetEvery > 0:
		return errors.New("forgetting (forget-every) is a pretraining method; language adaptation trains the embeddings only")
	case o.MaxTokens < 0:
		return fmt.Errorf("max tokens %d: need >= 0", o.MaxTokens)
	}
	for _, u := range o.SaveAt {
		if u < 1 || u > o.Updates {
			return fmt.Errorf("save-at update %d: need 1..updates (%d)", u, o.Updates)
		}
	}
	return nil
}
