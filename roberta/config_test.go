package roberta

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestPresets(t *testing.T) {
	tests := []struct {
		name                       string
		V, C, L, H, F, T, P, headD int
	}{
		{"tiny", 100, 32, 2, 2, 64, 16, 18, 16},
		{"mini", 2000, 128, 2, 2, 512, 128, 130, 64},
		{"small", 8000, 256, 4, 4, 1024, 128, 130, 64},
		{"base", 50265, 768, 12, 12, 3072, 512, 514, 64},
	}
	for _, tt := range tests {
		c, err := Preset(tt.name)
		if err != nil {
			t.Fatalf("Preset(%q): %v", tt.name, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
		}
		got := []int{c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxSeqLen(), c.MaxPositionEmbeddings, c.HeadDim()}
		want := []int{tt.V, tt.C, tt.L, tt.H, tt.F, tt.T, tt.P, tt.headD}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: field %d = %d, want %d", tt.name, i, got[i], want[i])
			}
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("Preset(huge): no error")
	}
}

func TestConfigJSONNames(t *testing.T) {
	c, _ := Preset("base")
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"vocab_size":50265`, `"hidden_size":768`, `"num_hidden_layers":12`,
		`"num_attention_heads":12`, `"intermediate_size":3072`, `"hidden_act":"gelu"`,
		`"hidden_dropout_prob":0.1`, `"attention_probs_dropout_prob":0.1`, `"max_position_embeddings":514`,
		`"type_vocab_size":1`, `"initializer_range":0.02`, `"layer_norm_eps":0.00001`, `"pad_token_id":1`,
		`"bos_token_id":0`, `"eos_token_id":2`, `"position_embedding_type":"absolute"`, `"model_type":"roberta"`,
		`"architectures":["RobertaForMaskedLM"]`, `"tie_word_embeddings":true`} {
		if !strings.Contains(s, want) {
			t.Errorf("config JSON lacks %s:\n%s", want, s)
		}
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.HiddenSize != 768 || back.LayerNormEps != 1e-5 || len(back.Architectures) != 1 {
		t.Errorf("round trip lost fields: %+v", back)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error, "" for valid
	}{
		{"ok", func(*Config) {}, ""},
		{"heads", func(c *Config) { c.NumAttentionHeads = 3 }, "not a multiple"},
		{"vocab", func(c *Config) { c.VocabSize = 0 }, "vocab_size must be positive"},
		{"act", func(c *Config) { c.HiddenAct = "relu" }, "hidden_act"},
		{"dropout", func(c *Config) { c.HiddenDropoutProb = 1 }, "hidden_dropout_prob"},
		{"positions", func(c *Config) { c.MaxPositionEmbeddings = 2 }, "max_position_embeddings"},
		{"pad", func(c *Config) { c.PadTokenID = 100 }, "pad_token_id"},
		{"types", func(c *Config) { c.TypeVocabSize = 2 }, "type_vocab_size"},
		{"eps", func(c *Config) { c.LayerNormEps = 0 }, "layer_norm_eps"},
		{"posType", func(c *Config) { c.PositionEmbeddingType = "relative_key" }, "position_embedding_type"},
		{"tie", func(c *Config) { c.TieWordEmbeddings = false }, "tie_word_embeddings"},
		{"huge hidden", func(c *Config) { c.HiddenSize, c.NumAttentionHeads = 1<<31, 1 }, "more than roberta.MaxParams"},
		{"huge depth", func(c *Config) { c.NumHiddenLayers = 1_000_000_000 }, "more than roberta.MaxParams"},
		{"huge positions", func(c *Config) { c.MaxPositionEmbeddings = 4_000_000_000; c.HiddenSize, c.NumAttentionHeads = 16, 1 }, "more than roberta.MaxParams"},
	}
	for _, tt := range tests {
		c, _ := Preset("tiny")
		tt.modify(&c)
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestUnmarshalHFConfig decodes roberta-base's config.json as published on
// the Hugging Face hub (no tie_word_embeddings key, extra keys present) and
// expects the base preset.
// TestParamCount checks the count against the allocated model.
func TestParamCount(t *testing.T) {
	for _, name := range []string{"tiny", "small"} {
		c, _ := Preset(name)
		p, err := NewParams(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.paramCount(); got != float64(p.NumParams()) {
			t.Errorf("%s: paramCount %v, allocated %d", name, got, p.NumParams())
		}
	}
}

func TestUnmarshalHFConfig(t *testing.T) {
	const robertaBase = `{
  "architectures": ["RobertaForMaskedLM"],
  "attention_probs_dropout_prob": 0.1,
  "bos_token_id": 0,
  "eos_token_id": 2,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 768,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "layer_norm_eps": 1e-05,
  "max_position_embeddings": 514,
  "model_type": "roberta",
  "num_attention_heads": 12,
  "num_hidden_layers": 12,
  "pad_token_id": 1,
  "type_vocab_size": 1,
  "vocab_size": 50265,
  "transformers_version": "4.30.0",
  "use_cache": true
}`
	var got Config
	if err := json.Unmarshal([]byte(robertaBase), &got); err != nil {
		t.Fatal(err)
	}
	want, _ := Preset("base")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
	// Absent keys take RobertaConfig's defaults.
	var sparse Config
	if err := json.Unmarshal([]byte(`{"hidden_size": 64, "num_attention_heads": 4}`), &sparse); err != nil {
		t.Fatal(err)
	}
	if sparse.HiddenSize != 64 || sparse.VocabSize != 50265 || sparse.TypeVocabSize != 2 || sparse.LayerNormEps != 1e-12 || !sparse.TieWordEmbeddings {
		t.Errorf("defaults not applied: %+v", sparse)
	}
	if err := json.Unmarshal([]byte(`{"hidden_size": "x"}`), &sparse); err == nil {
		t.Error("bad JSON accepted")
	}
	// Round trip of every preset.
	for _, name := range PresetNames() {
		c, _ := Preset(name)
		c.HiddenDropoutProb = 0 // a zero must survive (not be replaced by a default)
		b, _ := json.Marshal(c)
		var back Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(back) != fmt.Sprint(c) {
			t.Errorf("%s: round trip %+v != %+v", name, back, c)
		}
	}
}
