package train

import (
	"encoding/json"
	"errors"
	"fmt"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/loop"
	"lethe/roberta"
)

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

// Fields gives the loop the update counter, the training time, the best
// validation loss and the run's identity.
func (s *trainerState) Fields() loop.Fields {
	return loop.Fields{Update: &s.Update, Seconds: &s.Seconds, Best: &s.BestValidLoss, BestUpdate: &s.BestValidUpdate, Run: s.Run}
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
	EmbeddingDraw string  `json:"embedding_draw,omitempty"` // language adaptation: EmbeddingDraw
	HeadBias      string  `json:"head_bias,omitempty"`      // language adaptation: "kept" with KeepHeadBias
}

func (o *Options) identity() runIdentity {
	id := runIdentity{o.Seed, o.BatchSize, o.SeqLen, o.Updates, o.WarmupUpdates, o.PeakLR, o.Beta1, o.Beta2,
		o.Eps, o.WeightDecay, o.ClipNorm, o.ForgetEvery, o.MaskID, "", o.InitFrom, o.MaxTokens, "", ""}
	if o.Stage != StagePretrain {
		id.Stage = o.Stage.String()
	}
	if o.Stage == StageLanguage {
		id.EmbeddingDraw = EmbeddingDraw
	}
	if o.KeepHeadBias {
		id.HeadBias = "kept"
	}
	return id
}

// restore loads the model and the data position of the checkpoint dir that
// the run resumes (the loop has restored the trainer state).
func (r *run) restore(dir string) error {
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(dir, &cfg); err != nil {
		return err
	}
	if err := checkSameModel(cfg, r.model.Config); err != nil {
		return fmt.Errorf("%s/%s: %w", dir, checkpoint.ConfigFile, err)
	}
	if err := checkpoint.LoadParams(dir, r.model.Params.All()); err != nil {
		return err
	}
	if err := r.loader.Seek(r.state.Data); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
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

// checkpoint fills c with what every checkpoint of the run holds: the
// config, the parameters, the tokenizer and the lineage.
func (r *run) checkpoint(c *checkpoint.Checkpoint) error {
	c.Config, c.Params, c.Files = r.model.Config, r.model.Params.All(), r.files
	return nil
}
