// Package train runs Lethe's masked-LM training (Run): pretraining of a
// RoBERTa encoder, standard or with active forgetting (the token embeddings
// re-initialised every K updates), and language adaptation (new embeddings
// on a frozen body), through the run skeleton of package loop (periodic
// validation, a JSONL metrics log, a progress line, atomic checkpoints and
// exact resumption after an interruption).
package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/internal/splitmix"
	"lethe/loop"
	"lethe/nn"
	"lethe/optim"
	"lethe/roberta"
)

// Result summarises a finished (or interrupted) run.
type Result struct {
	Update         int     // last completed update
	TrainLoss      float64 // loss of the last update
	ValidLoss      float64 // last validation loss (80/10/10 masking); NaN if none
	BestValidLoss  float64 // NaN if never validated
	TokensPerSec   float64 // over this process's updates
	CheckpointDir  string  // the last checkpoint written
	Resumed        bool    // whether the run continued from a checkpoint
	ResumedAtStart int     // update the run resumed from
}

// run is the state of one Run call.
type run struct {
	o      Options
	pool   *parallel.Pool
	model  *roberta.Model
	params []*nn.Param // every parameter, for gradient clipping
	opt    *optim.AdamW
	loader *dataset.Loader
	valid  *dataset.Sequences
	mask   dataset.MaskConfig
	files  map[string][]byte // extra files for every checkpoint
	state  trainerState
	probe  func(r *run, u int, when string) // tests only; see pretrain

	batch           dataset.Batch // the update's batch
	loss, acc       float64       // of the last update
	correct, masked int           // of the last update's masked tokens
	validLoss       float64       // of the last validation
}

// Run runs one masked-LM training run of stage o.Stage: pretraining from
// scratch (standard or, with ForgetEvery, with forgetting) or language
// adaptation of the checkpoint o.InitFrom. It continues the run saved in
// OutDir/checkpoint-last if there is one with the same settings. When ctx
// is cancelled it saves a checkpoint and returns an error wrapping
// checkpoint.ErrInterrupted; rerunning the same command continues
// bit-identically. A NaN or infinite loss or gradient stops the run with an
// error and leaves the last good checkpoint as it was.
func Run(ctx context.Context, o Options) (*Result, error) {
	return pretrain(ctx, o, nil)
}

// pretrain is Run with a probe that, when not nil, is called around
// every forgetting reset ("before-reset", "after-reset") with the run's
// state, so that tests can check what a reset touches.
func pretrain(ctx context.Context, o Options, probe func(r *run, u int, when string)) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r := &run{o: o, probe: probe, validLoss: math.NaN()}
	if err := r.readFiles(); err != nil {
		return nil, err
	}
	blas.SetThreads(1) // the pool's goroutines parallelise; OpenBLAS must not spin threads of its own
	r.pool = parallel.New(o.Threads)
	defer r.pool.Close()

	trainFile, err := dataset.Open(o.TrainFile)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer trainFile.Close()
	cfg, err := o.modelConfig(trainFile)
	if err != nil {
		return nil, err
	}
	validFile, err := r.openData(trainFile, cfg.VocabSize)
	if validFile != nil {
		defer validFile.Close()
	}
	if err != nil {
		return nil, err
	}
	if r.model, err = roberta.New(cfg, o.BatchSize, o.SeqLen, r.pool); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r.model.Init(o.Seed)
	r.params = r.model.Params.All()
	if err := r.startFrom(); err != nil {
		return nil, err
	}
	if err := r.buildOptimizer(); err != nil {
		return nil, err
	}
	r.state.Run = o.identity()
	r.state.Data = r.loader.Position() // so that a run interrupted before its first update resumes too

	out, err := loop.Run(ctx, r.loopConfig(), &r.state)
	res := &Result{Update: r.state.Update, TrainLoss: out.LastLoss, ValidLoss: r.validLoss, BestValidLoss: math.NaN(),
		TokensPerSec: out.TokensPerSec, CheckpointDir: out.LastSaved, Resumed: out.Resumed, ResumedAtStart: out.ResumedAt}
	if r.state.BestValidLoss != nil {
		res.BestValidLoss = *r.state.BestValidLoss
	}
	return res, err
}

// loopConfig is the run as package loop runs it: masked-LM updates,
// validation by the 80/10/10 loss (lower is better), forgetting at the end
// of an update.
func (r *run) loopConfig() loop.Config {
	o := r.o
	label := "pretrain"
	if o.Stage == StageLanguage {
		label = "adapt"
	}
	c := loop.Config{
		Name: "train", Label: label, OutDir: o.OutDir,
		Updates: o.Updates, ValidEvery: o.ValidEvery, SaveEvery: o.SaveEvery, SaveAt: o.SaveAt,
		Optimizer: r.opt, Progress: o.Progress,
		Hooks: loop.Hooks{Forward: r.forward, Backward: r.backward, Record: r.record, AfterValidation: r.endUpdate,
			Restore: r.restore, Checkpoint: r.checkpoint, Finished: r.finished},
	}
	if r.valid != nil {
		c.Validate = r.validate
	}
	return c
}

// readFiles reads the files copied into every checkpoint: the tokenizer,
// and the lineage of a run that starts from a checkpoint.
func (r *run) readFiles() error {
	o := r.o
	if o.Tokenizer != "" {
		b, err := os.ReadFile(o.Tokenizer)
		if err != nil {
			return fmt.Errorf("train: tokenizer: %w", err)
		}
		r.files = map[string][]byte{checkpoint.Tokenizer: b}
	}
	if o.InitFrom != "" {
		sum, err := checkpoint.ModelHash(o.InitFrom)
		if err != nil {
			return fmt.Errorf("train: start from: %w", err)
		}
		if r.files == nil {
			r.files = map[string][]byte{}
		}
		lineage, _ := json.MarshalIndent(checkpoint.Lineage{BaseModel: o.InitFrom, BaseModelSHA256: sum, Stage: o.Stage.String()}, "", "  ")
		r.files[checkpoint.LineageFile] = append(lineage, '\n')
	}
	return nil
}

// modelConfig is the shape of the model to train: Config, or InitFrom's,
// with the training file's vocabulary and room for SeqLen positions.
func (o *Options) modelConfig(trainFile *dataset.File) (roberta.Config, error) {
	cfg := o.Config
	if o.InitFrom != "" {
		if err := checkpoint.LoadConfig(o.InitFrom, &cfg); err != nil {
			return cfg, fmt.Errorf("train: start from: %w", err)
		}
		if o.Stage == StagePretrain && cfg.VocabSize != trainFile.VocabSize() {
			return cfg, fmt.Errorf("train: %s has vocabulary size %d but the checkpoint %s has %d: continued pretraining needs the checkpoint's own tokenizer (for a new language use language adaptation)",
				o.TrainFile, trainFile.VocabSize(), o.InitFrom, cfg.VocabSize)
		}
	}
	cfg.VocabSize = trainFile.VocabSize()
	if o.InitFrom != "" && cfg.MaxSeqLen() < o.SeqLen {
		return cfg, fmt.Errorf("train: sequence length %d is longer than the %d positions of %s", o.SeqLen, cfg.MaxSeqLen(), o.InitFrom)
	}
	if cfg.MaxSeqLen() < o.SeqLen {
		cfg.SetMaxSeqLen(o.SeqLen)
	}
	if int(o.MaskID) >= cfg.VocabSize {
		return cfg, fmt.Errorf("train: mask id %d is outside the vocabulary of %s (%d ids)", o.MaskID, o.TrainFile, cfg.VocabSize)
	}
	return cfg, nil
}

// openData makes the training batches (from the token budget's subsample
// when MaxTokens is set) and the validation sequences. It returns the
// validation file it opened, if any, for the caller to close, also with an
// error.
func (r *run) openData(trainFile *dataset.File, vocab int) (validFile *dataset.File, err error) {
	o := r.o
	trainSeq, err := dataset.NewSequences(trainFile, o.SeqLen)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if o.MaxTokens > 0 {
		trainSeq = trainSeq.Subsample(o.MaxTokens, o.Seed)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s: token budget %d: training on %d sequences (%d tokens) of %s\n",
				o.Stage, o.MaxTokens, trainSeq.Len(), trainSeq.Tokens(), o.TrainFile)
		}
	}
	r.mask = dataset.RobertaMask(o.MaskID, vocab)
	if r.loader, err = dataset.NewLoader(trainSeq, dataset.LoaderConfig{BatchSize: o.BatchSize, Seed: o.Seed, Mask: r.mask}); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if o.ValidFile == "" {
		return nil, nil
	}
	if validFile, err = dataset.Open(o.ValidFile); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if validFile.VocabSize() != vocab {
		return validFile, fmt.Errorf("train: %s has vocabulary size %d but %s has %d: they come from different tokenizers",
			o.ValidFile, validFile.VocabSize(), o.TrainFile, vocab)
	}
	if r.valid, err = dataset.NewSequences(validFile, o.SeqLen); err != nil {
		return validFile, fmt.Errorf("train: %w", err)
	}
	return validFile, nil
}

// startFrom loads Options.InitFrom into the freshly initialised model. For
// language adaptation the vocabulary-indexed tensors (token embeddings, and
// with them the tied decoder, and the LM-head bias) are not loaded: the
// embeddings are drawn afresh, N(0, initializer_range) with the padding row
// zero, from the seed languageDrawSeed(Seed); the bias is zeroed (or, with
// KeepHeadBias, loaded and frozen), and the rest of the model is frozen.
func (r *run) startFrom() error {
	o := r.o
	if o.InitFrom == "" {
		return nil
	}
	p := r.model.Params
	var opts []checkpoint.Option
	if o.Stage == StageLanguage {
		skip := []string{p.WordEmb.Name, p.HeadBias.Name}
		if o.KeepHeadBias {
			var cfg roberta.Config
			if err := checkpoint.LoadConfig(o.InitFrom, &cfg); err != nil {
				return fmt.Errorf("train: start from: %w", err)
			}
			if cfg.VocabSize != r.model.Config.VocabSize {
				return fmt.Errorf("train: keep head bias: %s has a vocabulary of %d, the new language %d; "+
					"the pretrained bias only fits the tokenizer it was trained with", o.InitFrom, cfg.VocabSize, r.model.Config.VocabSize)
			}
			skip = skip[:1]
		}
		opts = append(opts, checkpoint.Skip(skip...))
	}
	if err := checkpoint.LoadParams(o.InitFrom, p.All(), opts...); err != nil {
		return fmt.Errorf("train: start from: %w", err)
	}
	if o.Stage == StageLanguage {
		r.model.ResetWordEmbeddings(languageDrawSeed(o.Seed))
		if !o.KeepHeadBias {
			clear(p.HeadBias.Data)
		}
		for _, q := range p.All() {
			q.RequiresGrad = q == p.WordEmb || (q == p.HeadBias && !o.KeepHeadBias)
		}
	}
	return nil
}

// EmbeddingDraw names the way language adaptation draws its fresh token
// embeddings (languageDrawSeed). A run's identity records it, so that a run
// directory started with another draw is not resumed as if it were the same.
const EmbeddingDraw = "own-stream"

// languageDrawSeed is the seed of the fresh token embeddings of a
// language-adaptation run of seed seed. They must not be the embeddings that
// Init(seed) draws: Init draws every tensor from the seed and its name, so a
// body pretrained with the same seed started from exactly those, and
// relearning from the same point hands the new embeddings a head start
// toward the pretrained ones that no new language has (measured on the
// curves preset's standard body: English relearnt from the coincident draw
// scored 64.1% zero-shot, from four independent ones 20-47%).
func languageDrawSeed(seed uint64) uint64 { return splitmix.Stream(seed, 0x1A96_0AD0) }

// buildOptimizer makes two AdamW groups, the token embeddings and the body
// (everything else), so that forgetting can reset the embeddings' moments,
// step counter and learning-rate episode on their own. In language
// adaptation the embeddings group also holds the LM-head bias (it is indexed
// by the vocabulary, so it is relearnt with it; with KeepHeadBias it stays in
// the frozen body group) and the body group is frozen.
func (r *run) buildOptimizer() error {
	o := r.o
	sched := optim.LinearSchedule{Peak: o.PeakLR, WarmupUpdates: o.WarmupUpdates, Total: o.Updates}
	p := r.model.Params
	groups := []optim.Group{
		{Name: "embeddings", Params: []*nn.Param{p.Embeddings()}, Schedule: o.embeddingSchedule(sched), WeightDecay: o.WeightDecay},
		{Name: "body", Params: p.Body(), Schedule: sched, WeightDecay: o.WeightDecay},
	}
	if o.Stage == StageLanguage {
		var body []*nn.Param
		for _, q := range p.Body() {
			if q != p.HeadBias || o.KeepHeadBias {
				body = append(body, q)
			}
		}
		groups[0].Params = []*nn.Param{p.WordEmb}
		if !o.KeepHeadBias {
			groups[0].Params = append(groups[0].Params, p.HeadBias)
		}
		groups[1].Params, groups[1].Frozen = body, true
	}
	opt, err := optim.NewAdamW(groups, o.Beta1, o.Beta2, o.Eps)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	opt.SetFor(r.pool.For)
	r.opt = opt
	return nil
}
