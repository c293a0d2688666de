// Package roberta is the RoBERTa masked language model of Lethe: its
// configuration (Hugging Face RobertaConfig names and meaning), its
// parameters (one flat buffer, each tensor a view under its Hugging Face
// name), their initialisation, and a hand-written forward and backward pass
// that computes what Hugging Face's RobertaForMaskedLM computes, in float32
// on CPU, without allocating per step.
package roberta

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Config is a RoBERTa model configuration. Field names and JSON names are
// those of Hugging Face's RobertaConfig so that a config.json written by
// Lethe loads in transformers and the other way round.
type Config struct {
	VocabSize                 int      `json:"vocab_size"`                   // V: tokens, including <mask>
	HiddenSize                int      `json:"hidden_size"`                  // C: model width
	NumHiddenLayers           int      `json:"num_hidden_layers"`            // encoder layers
	NumAttentionHeads         int      `json:"num_attention_heads"`          // NH: heads per layer (C/NH per head)
	IntermediateSize          int      `json:"intermediate_size"`            // F: feed-forward width
	HiddenAct                 string   `json:"hidden_act"`                   // "gelu" (exact, erf form)
	HiddenDropoutProb         float64  `json:"hidden_dropout_prob"`          // dropout after embeddings and dense outputs
	AttentionProbsDropoutProb float64  `json:"attention_probs_dropout_prob"` // dropout on attention probabilities
	MaxPositionEmbeddings     int      `json:"max_position_embeddings"`      // rows of the position table: max T + pad + 1
	TypeVocabSize             int      `json:"type_vocab_size"`              // token types: 1 in RoBERTa
	InitializerRange          float64  `json:"initializer_range"`            // std of the normal weight init
	LayerNormEps              float64  `json:"layer_norm_eps"`               // LayerNorm epsilon
	PadTokenID                int      `json:"pad_token_id"`                 // <pad>, also padding_idx of the position table
	BosTokenID                int      `json:"bos_token_id"`                 // <s>
	EosTokenID                int      `json:"eos_token_id"`                 // </s>
	PositionEmbeddingType     string   `json:"position_embedding_type"`      // "absolute" (learned)
	ModelType                 string   `json:"model_type"`                   // "roberta"
	Architectures             []string `json:"architectures"`                // ["RobertaForMaskedLM"]
	TieWordEmbeddings         bool     `json:"tie_word_embeddings"`          // LM decoder = word embeddings (must be true)
}

// defaults returns a Config with every field that does not describe the
// model's size set to the RoBERTa value; the presets fill in the sizes.
func defaults() Config {
	return Config{
		HiddenAct:                 "gelu",
		HiddenDropoutProb:         0.1,
		AttentionProbsDropoutProb: 0.1,
		TypeVocabSize:             1,
		InitializerRange:          0.02,
		LayerNormEps:              1e-5,
		PadTokenID:                1,
		BosTokenID:                0,
		EosTokenID:                2,
		PositionEmbeddingType:     "absolute",
		ModelType:                 "roberta",
		Architectures:             []string{"RobertaForMaskedLM"},
		TieWordEmbeddings:         true,
	}
}

// hfDefaults returns Hugging Face RobertaConfig's defaults: the values a
// config.json stands for when it leaves a key out (note type_vocab_size 2
// and layer_norm_eps 1e-12, which Validate or the model then see as
// written; real RoBERTa checkpoints spell both out).
func hfDefaults() Config {
	return Config{
		VocabSize: 50265, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		HiddenAct: "gelu", HiddenDropoutProb: 0.1, AttentionProbsDropoutProb: 0.1,
		MaxPositionEmbeddings: 512, TypeVocabSize: 2, InitializerRange: 0.02, LayerNormEps: 1e-12,
		PadTokenID: 1, BosTokenID: 0, EosTokenID: 2, PositionEmbeddingType: "absolute",
		ModelType: "roberta", TieWordEmbeddings: true,
	}
}

// UnmarshalJSON decodes a config.json as transformers does: keys it leaves
// out take RobertaConfig's defaults (tie_word_embeddings, for one, is
// usually absent and true), unknown keys are ignored.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config // no methods: avoids recursion
	p := plain(hfDefaults())
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("roberta: config: %w", err)
	}
	*c = Config(p)
	return nil
}

// PresetNames lists the names Preset accepts, smallest first.
func PresetNames() []string { return []string{"tiny", "mini", "small", "base"} }

// Preset returns a named configuration:
//
//	tiny:  vocab 100, hidden 32, 2 layers, 2 heads, FFN 64, sequence 16 (tests)
//	mini:  vocab 2000, hidden 128, 2 layers, 2 heads, FFN 512, sequence 128 (the experiment presets' body)
//	small: vocab 8000, hidden 256, 4 layers, 4 heads, FFN 1024, sequence 128 (CPU runs)
//	base:  vocab 50265, hidden 768, 12 layers, 12 heads, FFN 3072, sequence 512 (RoBERTa-base)
//
// The vocabulary size of a real run comes from its tokenizer; set VocabSize
// after taking a preset.
func Preset(name string) (Config, error) {
	c := defaults()
	var seq int
	switch name {
	case "tiny":
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 100, 32, 2, 2, 64
		seq = 16
	case "mini":
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 2000, 128, 2, 2, 512
		seq = 128
	case "small":
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 8000, 256, 4, 4, 1024
		seq = 128
	case "base":
		c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize = 50265, 768, 12, 12, 3072
		seq = 512
	default:
		return Config{}, fmt.Errorf("roberta: unknown preset %q (have %v)", name, PresetNames())
	}
	c.SetMaxSeqLen(seq)
	return c, nil
}

// MaxSeqLen is the longest sequence the position embeddings can hold. As in
// RoBERTa, positions start after the padding index, so
// max_position_embeddings = MaxSeqLen + pad_token_id + 1 (514 for 512).
func (c *Config) MaxSeqLen() int { return c.MaxPositionEmbeddings - c.PadTokenID - 1 }

// SetMaxSeqLen sets MaxPositionEmbeddings so that sequences of t tokens fit.
func (c *Config) SetMaxSeqLen(t int) { c.MaxPositionEmbeddings = t + c.PadTokenID + 1 }

// HeadDim is the width of one attention head, hidden_size / num_attention_heads.
func (c *Config) HeadDim() int { return c.HiddenSize / c.NumAttentionHeads }

// Validate reports the first reason the configuration cannot be built or
// deviates from what this implementation computes, or nil.
func (c *Config) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %d", name, v))
		}
	}
	pos("vocab_size", c.VocabSize)
	pos("hidden_size", c.HiddenSize)
	pos("num_hidden_layers", c.NumHiddenLayers)
	pos("num_attention_heads", c.NumAttentionHeads)
	pos("intermediate_size", c.IntermediateSize)
	if c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		errs = append(errs, fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads))
	}
	if c.HiddenAct != "gelu" {
		errs = append(errs, fmt.Errorf("hidden_act %q is not supported (only \"gelu\", the exact erf GELU)", c.HiddenAct))
	}
	prob := func(name string, p float64) {
		if !(p >= 0 && p < 1) {
			errs = append(errs, fmt.Errorf("%s must be in [0, 1), got %g", name, p))
		}
	}
	prob("hidden_dropout_prob", c.HiddenDropoutProb)
	prob("attention_probs_dropout_prob", c.AttentionProbsDropoutProb)
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		errs = append(errs, fmt.Errorf("pad_token_id %d is outside the vocabulary [0, %d)", c.PadTokenID, c.VocabSize))
	}
	if c.MaxSeqLen() <= 0 {
		errs = append(errs, fmt.Errorf("max_position_embeddings %d leaves no room for a sequence after pad_token_id %d + 1", c.MaxPositionEmbeddings, c.PadTokenID))
	}
	if c.TypeVocabSize != 1 {
		errs = append(errs, fmt.Errorf("type_vocab_size must be 1 (RoBERTa), got %d", c.TypeVocabSize))
	}
	if !(c.InitializerRange > 0) {
		errs = append(errs, fmt.Errorf("initializer_range must be positive, got %g", c.InitializerRange))
	}
	if !(c.LayerNormEps > 0) {
		errs = append(errs, fmt.Errorf("layer_norm_eps must be positive, got %g", c.LayerNormEps))
	}
	if c.PositionEmbeddingType != "absolute" {
		errs = append(errs, fmt.Errorf("position_embedding_type %q is not supported (only \"absolute\")", c.PositionEmbeddingType))
	}
	if c.ModelType != "roberta" {
		errs = append(errs, fmt.Errorf("model_type must be \"roberta\", got %q", c.ModelType))
	}
	if !c.TieWordEmbeddings {
		errs = append(errs, errors.New("tie_word_embeddings must be true (the LM decoder is the word embedding matrix)"))
	}
	if len(errs) == 0 {
		if n := c.paramCount(); n > float64(MaxParams) {
			errs = append(errs, fmt.Errorf("the model would have %.3g parameters, more than roberta.MaxParams = %d: "+
				"check vocab_size, hidden_size, num_hidden_layers, intermediate_size and max_position_embeddings", n, MaxParams))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("roberta: invalid config: %w", errors.Join(errs...))
}

// MaxParams bounds the parameter count of a model that Validate accepts, so
// that a config.json with absurd sizes is refused before anything is
// allocated (the default, 1e9, is three times RoBERTa-large; raise it for
// larger models).
var MaxParams int64 = 1_000_000_000

// paramCount is the number of parameters of the configuration, in float64
// so that no size overflows: embeddings (tokens, positions, type), per layer
// four C x C projections, the two FFN matrices, biases and LayerNorms, and
// the LM head.
func (c *Config) paramCount() float64 {
	V, P, C, F, L := float64(c.VocabSize), float64(c.MaxPositionEmbeddings), float64(c.HiddenSize), float64(c.IntermediateSize), float64(c.NumHiddenLayers)
	layer := 4*C*C + 4*C + 2*C*F + F + C + 4*C
	return (V+P+1)*C + 2*C + L*layer + C*C + 3*C + V
}
