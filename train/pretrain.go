// Package train runs Lethe's masked-LM training (Run): pretraining of a
// RoBERTa encoder, standard or with active forgetting (the token embeddings
// re-initialised every K updates), and language adaptation (new embeddings
// on a frozen body), with periodic validation, a JSONL metrics log, a
// progress line, atomic checkpoints and exact resumption after an
// interruption.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/internal/blas"
	"lethe/internal/jsonl"
	"lethe/internal/parallel"
	"lethe/internal/progress"
	"lethe/internal/runlock"
	"lethe/internal/splitmix"
	"lethe/nn"
	"lethe/optim"
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

// trainerState is what trainer_state.json holds: everything besides the
// parameters and the optimizer that a resumed run needs to continue exactly.
type trainerState struct {
	Update          int              `json:"update"`
	Data            dataset.Position `json:"data_position"`
	BestValidLoss   *float64         `json:"best_valid_loss,omitempty"`
	BestValidUpdate int              `json:"best_valid_update,omitempty"`
	TokensSeen      int64            `json:"tokens_seen"`
	Seconds         float64          `json:"train_seconds"`
	Run             runIdentity      `json:"run"`
}

// runIdentity is the part of Options that a resumed run must share with the
// run it continues, or it would not be the same run.
type runIdentity struct {
	Seed          uint64  `json:"seed"`
	BatchSize     int     `json:"batch_size"`
	SeqLen        int     `json:"seq_len"`
	Updates       int     `json:"updates"`
	WarmupUpdates int     `json:"warmup_updates"`
	PeakLR        float64 `json:"peak_lr"`
	Beta1         float64 `json:"beta1"`
	Beta2         float64 `json:"beta2"`
	Eps           float64 `json:"eps"`
	WeightDecay   float64 `json:"weight_decay"`
	ClipNorm      float64 `json:"clip_norm"`
	ForgetEvery   int     `json:"forget_every"`
	MaskID        int32   `json:"mask_id"`
	Stage         string  `json:"stage,omitempty"`
	InitFrom      string  `json:"init_from,omitempty"`
	MaxTokens     int64   `json:"max_tokens,omitempty"`
}

func (o *Options) identity() runIdentity {
	id := runIdentity{o.Seed, o.BatchSize, o.SeqLen, o.Updates, o.WarmupUpdates, o.PeakLR, o.Beta1, o.Beta2,
		o.Eps, o.WeightDecay, o.ClipNorm, o.ForgetEvery, o.MaskID, "", o.InitFrom, o.MaxTokens}
	if o.Stage != StagePretrain {
		id.Stage = o.Stage.String()
	}
	return id
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

// run is the state of one Pretrain call.
type run struct {
	o       Options
	pool    *parallel.Pool
	model   *roberta.Model
	opt     *optim.AdamW
	loader  *dataset.Loader
	valid   *dataset.Sequences
	mask    dataset.MaskConfig
	files   map[string][]byte // extra files for every checkpoint
	state   trainerState
	metrics *jsonl.Log
	probe   func(r *run, u int, when string) // tests only; see pretrain
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

// pretrain is Pretrain with a probe that, when not nil, is called around
// every forgetting reset ("before-reset", "after-reset") with the run's
// state, so that tests can check what a reset touches.
func pretrain(ctx context.Context, o Options, probe func(r *run, u int, when string)) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r := &run{o: o, probe: probe}
	if o.Tokenizer != "" {
		b, err := os.ReadFile(o.Tokenizer)
		if err != nil {
			return nil, fmt.Errorf("train: tokenizer: %w", err)
		}
		r.files = map[string][]byte{checkpoint.Tokenizer: b}
	}
	if o.InitFrom != "" {
		sum, err := checkpoint.ModelHash(o.InitFrom)
		if err != nil {
			return nil, fmt.Errorf("train: start from: %w", err)
		}
		if r.files == nil {
			r.files = map[string][]byte{}
		}
		lineage, _ := json.MarshalIndent(checkpoint.Lineage{BaseModel: o.InitFrom, BaseModelSHA256: sum, Stage: o.Stage.String()}, "", "  ")
		r.files[checkpoint.LineageFile] = append(lineage, '\n')
	}
	blas.SetThreads(1) // the pool's goroutines parallelise; OpenBLAS must not spin threads of its own
	r.pool = parallel.New(o.Threads)
	defer r.pool.Close()

	trainFile, err := dataset.Open(o.TrainFile)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer trainFile.Close()
	cfg := o.Config
	if o.InitFrom != "" {
		if err := checkpoint.LoadConfig(o.InitFrom, &cfg); err != nil {
			return nil, fmt.Errorf("train: start from: %w", err)
		}
		if o.Stage == StagePretrain && cfg.VocabSize != trainFile.VocabSize() {
			return nil, fmt.Errorf("train: %s has vocabulary size %d but the checkpoint %s has %d: continued pretraining needs the checkpoint's own tokenizer (for a new language use language adaptation)",
				o.TrainFile, trainFile.VocabSize(), o.InitFrom, cfg.VocabSize)
		}
	}
	cfg.VocabSize = trainFile.VocabSize()
	if o.InitFrom != "" && cfg.MaxSeqLen() < o.SeqLen {
		return nil, fmt.Errorf("train: sequence length %d is longer than the %d positions of %s", o.SeqLen, cfg.MaxSeqLen(), o.InitFrom)
	}
	if cfg.MaxSeqLen() < o.SeqLen {
		cfg.SetMaxSeqLen(o.SeqLen)
	}
	if int(o.MaskID) >= cfg.VocabSize {
		return nil, fmt.Errorf("train: mask id %d is outside the vocabulary of %s (%d ids)", o.MaskID, o.TrainFile, cfg.VocabSize)
	}
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
	r.mask = dataset.RobertaMask(o.MaskID, cfg.VocabSize)
	if r.loader, err = dataset.NewLoader(trainSeq, dataset.LoaderConfig{BatchSize: o.BatchSize, Seed: o.Seed, Mask: r.mask}); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if o.ValidFile != "" {
		vf, err := dataset.Open(o.ValidFile)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		defer vf.Close()
		if vf.VocabSize() != cfg.VocabSize {
			return nil, fmt.Errorf("train: %s has vocabulary size %d but %s has %d: they come from different tokenizers",
				o.ValidFile, vf.VocabSize(), o.TrainFile, cfg.VocabSize)
		}
		if r.valid, err = dataset.NewSequences(vf, o.SeqLen); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}

	if r.model, err = roberta.New(cfg, o.BatchSize, o.SeqLen, r.pool); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	r.model.Init(o.Seed)
	if err := r.startFrom(); err != nil {
		return nil, err
	}
	if err := r.buildOptimizer(); err != nil {
		return nil, err
	}
	r.state.Run = o.identity()
	r.state.Data = r.loader.Position() // so that a run interrupted before its first update resumes too

	lock, err := runlock.Acquire(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer lock.Release()
	res := &Result{ValidLoss: math.NaN(), BestValidLoss: math.NaN()}
	if err := r.resume(res); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if r.metrics, err = jsonl.Open(filepath.Join(o.OutDir, checkpoint.MetricsFile)); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer r.metrics.Close()
	err = r.loop(ctx, res)
	if math.IsNaN(res.BestValidLoss) && r.state.BestValidLoss != nil {
		res.BestValidLoss = *r.state.BestValidLoss
	}
	return res, err
}

// startFrom loads Options.InitFrom into the freshly initialised model. For
// language adaptation the vocabulary-indexed tensors (token embeddings, and
// with them the tied decoder, and the LM-head bias) are not loaded: the
// embeddings keep the fresh N(0, initializer_range) draw of Init (padding row
// zero), the bias is zeroed, and the rest of the model is frozen.
func (r *run) startFrom() error {
	o := r.o
	if o.InitFrom == "" {
		return nil
	}
	p := r.model.Params
	var opts []checkpoint.Option
	if o.Stage == StageLanguage {
		opts = append(opts, checkpoint.Skip(p.WordEmb.Name, p.HeadBias.Name))
	}
	if err := checkpoint.LoadParams(o.InitFrom, p.All(), opts...); err != nil {
		return fmt.Errorf("train: start from: %w", err)
	}
	if o.Stage == StageLanguage {
		clear(p.HeadBias.Data)
		for _, q := range p.All() {
			q.RequiresGrad = q == p.WordEmb || q == p.HeadBias
		}
	}
	return nil
}

// buildOptimizer makes two AdamW groups, the token embeddings and the body
// (everything else), so that forgetting can reset the embeddings' moments,
// step counter and learning-rate episode on their own. In language
// adaptation the embeddings group also holds the LM-head bias (it is indexed
// by the vocabulary, so it is relearnt with it) and the body group is frozen.
func (r *run) buildOptimizer() error {
	o := r.o
	sched := optim.LinearSchedule{Peak: o.PeakLR, WarmupUpdates: o.WarmupUpdates, Total: o.Updates}
	var embSched optim.Schedule = sched
	if o.ForgetEvery > 0 {
		embSched = optim.EpisodicSchedule{Base: sched, Total: o.Updates, Episode: o.ForgetEvery}
	}
	p := r.model.Params
	groups := []optim.Group{
		{Name: "embeddings", Params: []*nn.Param{p.Embeddings()}, Schedule: embSched, WeightDecay: o.WeightDecay},
		{Name: "body", Params: p.Body(), Schedule: sched, WeightDecay: o.WeightDecay},
	}
	if o.Stage == StageLanguage {
		var body []*nn.Param
		for _, q := range p.Body() {
			if q != p.HeadBias {
				body = append(body, q)
			}
		}
		groups[0].Params = []*nn.Param{p.WordEmb, p.HeadBias}
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

// resume loads OutDir/checkpoint-last if it exists.
func (r *run) resume(res *Result) error {
	dir := filepath.Join(r.o.OutDir, checkpoint.Last)
	resolved, err := checkpoint.Resolve(dir)
	if err != nil {
		return nil // nothing to resume
	}
	raw, err := checkpoint.LoadTrainer(resolved)
	if err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("train: resume: %s/%s: %w", resolved, checkpoint.TrainerFile, err)
	}
	if st.Run != r.state.Run {
		return fmt.Errorf("train: %s was written by a run with other settings (%+v; this run: %+v): "+
			"rerun with the same flags to resume it, or choose another --out", resolved, st.Run, r.state.Run)
	}
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(resolved, &cfg); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := checkSameModel(cfg, r.model.Config); err != nil {
		return fmt.Errorf("train: resume: %s/%s: %w", resolved, checkpoint.ConfigFile, err)
	}
	if err := checkpoint.LoadParams(resolved, r.model.Params.All()); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := checkpoint.LoadOptimizer(resolved, r.opt); err != nil {
		return fmt.Errorf("train: resume: %w", err)
	}
	if err := r.loader.Seek(st.Data); err != nil {
		return fmt.Errorf("train: resume: %s: %w", resolved, err)
	}
	r.state = st
	res.Resumed, res.ResumedAtStart, res.Update = true, st.Update, st.Update
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "pretrain: resuming from %s at update %d\n", resolved, st.Update)
	}
	return nil
}

// checkSameModel reports the first field where a checkpoint's config differs
// from the model being trained.
func checkSameModel(got, want roberta.Config) error {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) == string(b) {
		return nil
	}
	var ma, mb map[string]any
	json.Unmarshal(a, &ma)
	json.Unmarshal(b, &mb)
	for k, v := range mb {
		if fmt.Sprint(ma[k]) != fmt.Sprint(v) {
			return fmt.Errorf("config does not match this run: %s is %v, want %v", k, ma[k], v)
		}
	}
	return errors.New("config does not match this run")
}

// stepSeed is the dropout seed of update u: a function of the run's seed and
// u only, so a resumed run draws the same masks.
func stepSeed(seed uint64, u int) uint64 { return splitmix.UpdateSeed(seed, uint64(u)) }

// forgetSeed is the seed of the embeddings drawn after update u.
func forgetSeed(seed uint64, u int) uint64 { return stepSeed(seed^0x5EED0F0F, u) }

// loop runs updates state.Update+1 .. Updates.
func (r *run) loop(ctx context.Context, res *Result) error {
	o := r.o
	var batch dataset.Batch
	var bar *progress.Bar
	if o.Progress != nil {
		label := "pretrain"
		if o.Stage == StageLanguage {
			label = "adapt"
		}
		bar = progress.New(o.Progress, label, "updates", float64(r.state.Update), float64(o.Updates))
	}
	params := r.model.Params.All()
	start := time.Now()
	startUpdate := r.state.Update
	var lastLoss, lastAcc float64
	var tokens int64
	for u := r.state.Update + 1; u <= o.Updates; u++ {
		if ctx.Err() != nil {
			if err := r.save(checkpoint.Last, true, start); err != nil {
				return err
			}
			res.CheckpointDir = filepath.Join(o.OutDir, checkpoint.Last)
			if bar != nil {
				bar.Finish(float64(r.state.Update), "interrupted")
			}
			return fmt.Errorf("%w at update %d: checkpoint saved in %s; rerun the same command to continue",
				checkpoint.ErrInterrupted, r.state.Update, res.CheckpointDir)
		}
		r.loader.Next(&batch)
		r.model.ZeroGrad()
		loss, correct, masked, err := r.model.Forward(batch.InputIDs, batch.Labels, batch.B, true, stepSeed(o.Seed, u))
		if err != nil {
			return fmt.Errorf("train: update %d: %w", u, err)
		}
		if !optim.Finite(loss) {
			return r.diverged(u, fmt.Sprintf("loss is %v", loss))
		}
		if err := r.model.Backward(); err != nil {
			return fmt.Errorf("train: update %d: %w", u, err)
		}
		norm := optim.ClipGradNorm(params, o.ClipNorm)
		if !optim.Finite(norm) {
			return r.diverged(u, fmt.Sprintf("gradient norm is %v", norm))
		}
		r.opt.Step(u)
		// Forgetting: after the optimizer step of update u, u%K == 0, the
		// embeddings are re-drawn (below, once update u is logged and
		// validated). No reset after the final update.
		forgot := o.ForgetEvery > 0 && u%o.ForgetEvery == 0 && u < o.Updates
		r.state.Update = u
		r.state.Data = r.loader.Position()
		r.state.TokensSeen += int64(batch.B * batch.T)
		tokens += int64(batch.B * batch.T)
		lastLoss = loss
		lastAcc = float64(correct) / float64(max(masked, 1))
		elapsed := time.Since(start).Seconds()
		tps := float64(tokens) / max(elapsed, 1e-9)
		bodyLR, _ := r.opt.LR("body", u)
		embLR, _ := r.opt.LR("embeddings", u)
		r.log(jsonl.Record{Update: u, Loss: new(loss), MaskedAcc: new(lastAcc), GradNorm: new(norm),
			LR: new(bodyLR), LREmbeddings: new(embLR), TokensPerS: new(tps), Forgot: new(forgot),
			TokensSeen: new(r.state.TokensSeen)})
		if err := r.metrics.Err(); err != nil {
			return fmt.Errorf("train: metrics log: %w", err) // a full disk must not lose metrics silently
		}
		if bar != nil {
			shown := bodyLR
			if o.Stage == StageLanguage {
				shown = embLR // the body is frozen: its rate is 0
			}
			bar.Update(float64(u), fmt.Sprintf("loss %.3f | acc %.1f%% | lr %.2e | %.0f tok/s", loss, 100*lastAcc, shown, tps))
		}
		last := u == o.Updates
		// Validation (and checkpoint-best) sees the model of update u before
		// a reset at u: right after a reset the embeddings are noise, and the
		// best-validation checkpoint the forgetting arm hands over must be one
		// whose embeddings were trained (the end of an episode).
		if r.valid != nil && (last || (o.ValidEvery > 0 && u%o.ValidEvery == 0)) {
			if err := r.validate(u, res, start); err != nil {
				return err
			}
		}
		if slices.Contains(o.SaveAt, u) {
			if err := r.save(checkpoint.At(u), false, start); err != nil {
				return err
			}
		}
		if forgot {
			if r.probe != nil {
				r.probe(r, u, "before-reset")
			}
			r.model.ResetWordEmbeddings(forgetSeed(o.Seed, u))
			if err := r.opt.ResetGroup("embeddings"); err != nil {
				return fmt.Errorf("train: update %d: %w", u, err)
			}
			if r.probe != nil {
				r.probe(r, u, "after-reset")
			}
		}
		if o.AfterUpdate != nil {
			o.AfterUpdate(u, loss)
		}
		if last || (o.SaveEvery > 0 && u%o.SaveEvery == 0) {
			if err := r.save(checkpoint.Last, true, start); err != nil {
				return err
			}
			res.CheckpointDir = filepath.Join(o.OutDir, checkpoint.Last)
		}
	}
	if bar != nil {
		bar.Finish(float64(r.state.Update), fmt.Sprintf("loss %.3f | acc %.1f%%", lastLoss, 100*lastAcc))
	}
	res.Update = r.state.Update
	res.TrainLoss = lastLoss
	if n := r.state.Update - startUpdate; n > 0 {
		res.TokensPerSec = float64(tokens) / time.Since(start).Seconds()
	}
	return nil
}

// diverged reports a non-finite loss or gradient without saving anything, so
// the last good checkpoint stays as it was.
func (r *run) diverged(u int, what string) error {
	r.log(jsonl.Record{Update: u, Error: what})
	keep := "no checkpoint had been saved yet"
	if dir, err := checkpoint.Resolve(filepath.Join(r.o.OutDir, checkpoint.Last)); err == nil {
		keep = "the last good checkpoint is " + dir
	}
	return fmt.Errorf("train: update %d: %s; training stopped (try a lower --lr or --clip-norm); %s", u, what, keep)
}

// validate measures the loss and accuracy on the validation file twice: with
// RoBERTa's 80/10/10 corruption and with every chosen position shown as
// <mask> (the 80/10/10 loss flatters weak models, which lower it by copying).
func (r *run) validate(u int, res *Result, start time.Time) error {
	loss, acc, err := r.evaluate(r.mask)
	if err != nil {
		return fmt.Errorf("train: validation at update %d: %w", u, err)
	}
	mo := r.mask
	mo.MaskOnly = true
	moLoss, moAcc, err := r.evaluate(mo)
	if err != nil {
		return fmt.Errorf("train: validation at update %d: %w", u, err)
	}
	res.ValidLoss = loss
	if math.IsNaN(loss) { // no masked token in the validation file (too small)
		r.log(jsonl.Record{Update: u, ValidError: "no masked tokens in " + r.o.ValidFile})
		return nil
	}
	r.log(jsonl.Record{Update: u, ValidLoss: new(loss), ValidAcc: new(acc),
		ValidMaskOnlyLoss: new(moLoss), ValidMaskOnlyAcc: new(moAcc)})
	if r.state.BestValidLoss == nil || loss < *r.state.BestValidLoss {
		l := loss
		r.state.BestValidLoss, r.state.BestValidUpdate = &l, u
		res.BestValidLoss = l
		if err := r.save(checkpoint.Best, false, start); err != nil {
			return err
		}
	}
	return nil
}

// evaluate returns the mean loss per masked token and the masked accuracy
// over the validation sequences (at most ValidBatches batches).
func (r *run) evaluate(mask dataset.MaskConfig) (loss, acc float64, err error) {
	it, err := dataset.NewEvalIter(r.valid, r.o.BatchSize, mask, r.o.Seed)
	if err != nil {
		return 0, 0, err
	}
	var b dataset.Batch
	var sum float64
	var correct, count int
	for n := 0; it.Next(&b); n++ {
		if r.o.ValidBatches > 0 && n >= r.o.ValidBatches {
			break
		}
		l, c, m, err := r.model.Forward(b.InputIDs, b.Labels, b.B, false, 0)
		if err != nil {
			return 0, 0, err
		}
		if m == 0 {
			continue
		}
		sum += l * float64(m)
		correct += c
		count += m
	}
	if count == 0 {
		return math.NaN(), math.NaN(), nil
	}
	return sum / float64(count), float64(correct) / float64(count), nil
}

// save writes a checkpoint directory under OutDir; withState adds the
// optimizer and trainer state needed to resume.
func (r *run) save(name string, withState bool, start time.Time) error {
	c := &checkpoint.Checkpoint{Config: r.model.Config, Params: r.model.Params.All(), Files: r.files}
	if withState {
		st := r.state
		st.Seconds += time.Since(start).Seconds()
		raw, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		c.Optimizer, c.Trainer = r.opt, raw
	}
	if err := checkpoint.Save(filepath.Join(r.o.OutDir, name), c); err != nil {
		return fmt.Errorf("train: saving %s at update %d: %w", name, r.state.Update, err)
	}
	if err := r.metrics.Sync(); err != nil {
		return fmt.Errorf("train: metrics log: %w", err)
	}
	return nil
}

// log appends one JSON object to the metrics file.
func (r *run) log(rec jsonl.Record) { r.metrics.Write(rec) }
