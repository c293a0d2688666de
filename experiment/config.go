// Package experiment reproduces the paper's comparison end to end on the
// user's data: tokenizers for English and every target language,
// pretraining of the arms (standard, active forgetting, and a randomly
// initialised body as a control), language adaptation of every arm to every
// language under a token budget with checkpoints along the way, English
// fine-tuning on the task(s), splicing, zero-shot evaluation per language
// (with English accuracy on the same items as the ceiling), and a report
// (Markdown and self-contained HTML with SVG plots). Finished stages are
// cached and interrupted ones resume.
package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Arms of the comparison.
const (
	ArmStandard   = "standard"   // ordinary pretraining; hands over its last checkpoint
	ArmForgetting = "forgetting" // active forgetting; hands over its best-validation checkpoint
	ArmRandom     = "random"     // no pretraining at all: a randomly initialised body
)

// Config is everything an experiment does. Presets fill it; a JSON file can
// override any field (unknown fields are an error).
type Config struct {
	Preset    string   `json:"preset"`
	Data      string   `json:"data"`      // output of "lethe data build": corpora/<lang>.txt, topic/..., pair/...
	Languages []string `json:"languages"` // target languages, ordered from close to distant from English
	Tasks     []string `json:"tasks"`     // "topic" and/or "pair"
	Arms      []string `json:"arms"`      // subset of standard, forgetting, random
	Seeds     int      `json:"seeds"`     // replicates of the whole pipeline, seeds 1..Seeds (see also adapt.seeds)
	Threads   int      `json:"threads"`

	Model     ModelConfig     `json:"model"`
	Tokenizer TokenizerConfig `json:"tokenizer"`
	Pretrain  PretrainConfig  `json:"pretrain"`
	Adapt     AdaptConfig     `json:"adapt"`
	Finetune  FinetuneConfig  `json:"finetune"`
}

// ModelConfig is the body's shape.
type ModelConfig struct {
	Hidden  int     `json:"hidden_size"`
	Layers  int     `json:"num_hidden_layers"`
	Heads   int     `json:"num_attention_heads"`
	FFN     int     `json:"intermediate_size"`
	SeqLen  int     `json:"seq_len"`
	Dropout float64 `json:"dropout"`
}

// TokenizerConfig sizes the SentencePiece models.
type TokenizerConfig struct {
	EnglishVocab  int `json:"english_vocab_size"`
	LanguageVocab int `json:"language_vocab_size"`
	// MaxSentences caps the lines each tokenizer is trained on (0: all).
	MaxSentences int `json:"max_sentences"`
	// LanguageVocabOverrides gives some languages another vocabulary size:
	// a script with thousands of characters (Chinese) needs more pieces
	// than LanguageVocab just to cover its characters.
	LanguageVocabOverrides map[string]int `json:"language_vocab_overrides,omitempty"`
}

// PretrainConfig is stage 1, the same for both arms except forgetting.
type PretrainConfig struct {
	Updates        int     `json:"updates"`
	BatchSize      int     `json:"batch_size"`
	WarmupUpdates  int     `json:"warmup"`
	LR             float64 `json:"lr"`
	ForgetEvery    int     `json:"forget_every"` // K of the forgetting arm
	ClipNorm       float64 `json:"clip_norm"`    // both arms (the paper: 0.5 for forgetting, none for standard)
	ValidEvery     int     `json:"valid_every"`
	ValidBatches   int     `json:"valid_batches"`
	ValidFraction  float64 `json:"valid_fraction"`   // of the English corpus held out for validation
	MaxCorpusBytes int64   `json:"max_corpus_bytes"` // 0: all of corpora/en.txt
	// HoldOut is the share of the English package descriptions (the DDTP
	// section of corpora/en.txt, documents chosen by a stable hash of their
	// text) kept out of pretraining: the text of en-relearn and the
	// synthetic languages, in the task's domain yet never seen by the body.
	// 0: those languages read the English text after MaxCorpusBytes.
	HoldOut float64 `json:"hold_out,omitempty"`
}

// AdaptConfig is stage 2 for every arm and language.
type AdaptConfig struct {
	MaxTokens     int64   `json:"max_tokens"` // the low-data budget of language L: the one the main tables show
	Updates       int     `json:"updates"`    // the "full" adaptation
	LowStep       int     `json:"low_step"`   // the "low-step" checkpoint (must be in SaveAt)
	SaveAt        []int   `json:"save_at"`    // checkpoints evaluated for the convergence curves
	BatchSize     int     `json:"batch_size"`
	WarmupUpdates int     `json:"warmup"`
	LR            float64 `json:"lr"`
	ClipNorm      float64 `json:"clip_norm"` // the same for every arm (a control)
	ValidEvery    int     `json:"valid_every"`
	ValidBatches  int     `json:"valid_batches"`
	// Seeds is the number of adaptation replicates per pretrained body
	// (0 means 1): each draws its own embeddings, token subsample, data
	// order and masking, so the spread of zero-shot scores over them is the
	// noise of adaptation alone, without the cost of pretraining again.
	Seeds int `json:"seeds,omitempty"`
	// Budgets are the token budgets of the budget curves (the paper's
	// Figure 1), increasing: every arm is adapted to every language once per
	// budget (and adaptation seed), and every run is spliced and scored.
	// Empty: MaxTokens alone. A budget larger than a language's corpus
	// trains on all of it (the summary records the tokens used).
	Budgets []int64 `json:"budgets,omitempty"`
	// InDomain adapts every language on its package descriptions only (the
	// DDTP section of its corpus, which lethe data build's manifest
	// delimits): the domain of the topic task. Without it a budget is drawn
	// from all of the language's text (manual pages, documentation,
	// fortunes), whose words are not the task's.
	InDomain bool `json:"in_domain,omitempty"`
	// LanguageBudgets replaces Budgets for some languages, for example one
	// budget for the synthetic word-order languages.
	LanguageBudgets map[string][]int64 `json:"language_budgets,omitempty"`
}

// budgets is the token budgets language lang is adapted under, increasing.
func (a AdaptConfig) budgets(lang string) []int64 {
	if b, ok := a.LanguageBudgets[lang]; ok {
		return b
	}
	if len(a.Budgets) > 0 {
		return a.Budgets
	}
	return []int64{a.MaxTokens}
}

// curves reports whether the experiment has budget curves; its adaptation
// runs then live in one directory per budget.
func (a AdaptConfig) curves() bool { return len(a.Budgets) > 0 || len(a.LanguageBudgets) > 0 }

// stored is a budget as run directories, summaries and scores record it:
// 0 in an experiment without budget curves (whose runs predate budgets).
func (a AdaptConfig) stored(budget int64) int64 {
	if !a.curves() {
		return 0
	}
	return budget
}

// mainBudget is the budget of language lang that the main tables show:
// MaxTokens if lang is adapted under it, its largest budget otherwise.
func (a AdaptConfig) mainBudget(lang string) int64 {
	b := a.budgets(lang)
	if slices.Contains(b, a.MaxTokens) {
		return a.MaxTokens
	}
	return b[len(b)-1]
}

// Replicates is the number of adaptation replicates per body: Seeds, at
// least 1.
func (a AdaptConfig) Replicates() int { return max(1, a.Seeds) }

// adaptationSeed is the training seed of adaptation replicate rep (from 1)
// of pipeline seed seed; replicate 1 uses the pipeline seed itself.
func adaptationSeed(seed, rep int) uint64 { return uint64(rep-1)<<32 | uint64(seed) }

// FinetuneConfig is stage 3.
type FinetuneConfig struct {
	Epochs         int     `json:"epochs"`
	BatchSize      int     `json:"batch_size"`
	MaxLength      int     `json:"max_length"`
	LR             float64 `json:"lr"`
	WarmupFraction float64 `json:"warmup_fraction"`
	// MaxTrain caps the English training examples (0: all), for quick runs.
	MaxTrain int `json:"max_train"`
}

// PresetNames lists the presets, smallest first.
func PresetNames() []string { return []string{"quick", "small", "curves", "full"} }

// Preset returns a named configuration:
//
//   - quick: the default, minutes on 2 cores: small's body pretrained for
//     3,000 updates against a random body (no forgetting arm), English
//     relearned as a new language and German, 2 adaptation seeds; it checks
//     the pipeline (oracle splice) and measures, with intervals, how much
//     a pretrained body helps relearning embeddings;
//   - small: the CPU-scale replication for 2 cores (1 h 14 min for one
//     seed here): hidden 128, 2 layers,
//     a 2k English vocabulary, 12,000 pretraining updates of 32 x 128 tokens
//     on the first 16 MB of the English corpus (Debian's package
//     descriptions) with a reset every 1,000 (11 resets), 1M-token
//     adaptation budgets, 1,000 adaptation updates, 3 adaptation seeds;
//   - curves: the paper's Figure-1 experiment at CPU scale, on small's
//     body: zero-shot topic accuracy against the adaptation budget (1e4 to
//     1e6 tokens of package descriptions, the task's domain) for English
//     relearned as a new language (descriptions held out of pretraining),
//     de, fr and ru, every arm, 3 pretraining seeds; English with inverted
//     and with shuffled word order at 1e6 tokens;
//   - full: the paper's sizes (RoBERTa-base, 50k vocabularies, 125k updates,
//     K=1000, 5M-token budgets) for machines far bigger than this one.
func Preset(name string) (Config, error) {
	c := Config{
		Preset: name, Data: "cache/debian", Languages: []string{"de", "fr", "ru", "ja", "zh_CN"},
		Tasks: []string{"topic", "pair"}, Arms: []string{ArmStandard, ArmForgetting, ArmRandom}, Seeds: 1, Threads: 2,
	}
	switch name {
	case "quick":
		// The default run (under 15 minutes on 2 cores): small's body
		// pretrained for a quarter of small's updates, against a random
		// body, then English relearned as a new language and German, both
		// on package descriptions, with 2 adaptation seeds so that every
		// difference comes with an interval. No forgetting arm: an episode
		// long enough for fresh embeddings to get anywhere (small's K=1000)
		// does not fit.
		c.Languages = []string{LangRelearn, "de"}
		c.Tasks = []string{"topic"}
		c.Arms = []string{ArmStandard, ArmRandom}
		c.Model = ModelConfig{Hidden: 128, Layers: 2, Heads: 2, FFN: 512, SeqLen: 128, Dropout: 0.1}
		c.Tokenizer = TokenizerConfig{EnglishVocab: 2000, LanguageVocab: 2000, MaxSentences: 100000}
		c.Pretrain = PretrainConfig{Updates: 3000, BatchSize: 32, WarmupUpdates: 300, LR: 1e-3, ForgetEvery: 1000, ClipNorm: 0.5,
			ValidEvery: 500, ValidBatches: 10, ValidFraction: 0.01, MaxCorpusBytes: 16 << 20, HoldOut: 0.3}
		c.Adapt = AdaptConfig{MaxTokens: 300_000, InDomain: true, Updates: 500, LowStep: 100, SaveAt: []int{100, 500}, BatchSize: 16,
			WarmupUpdates: 50, LR: 4e-3, ClipNorm: 0.5, ValidEvery: 100, ValidBatches: 10, Seeds: 2}
		c.Finetune = FinetuneConfig{Epochs: 1, BatchSize: 32, MaxLength: 128, LR: 1e-3, WarmupFraction: 0.06, MaxTrain: 5000}
	case "small":
		// A narrow, shallow body (~0.4M parameters besides the embeddings)
		// ran at 56k tokens/s here (docs/results/small), 7x the hidden-256 shape, so both arms
		// fit 12,000 updates of 32 x 128 tokens: the standard body leaves
		// the unigram plateau after ~2,000 updates, and 1,000-update
		// episodes let fresh embeddings get below the floor (the pilots:
		// K around 1,000, 10-20 resets). A hidden-256, 4-layer body with
		// K=250 over 3,000 updates never did.
		c.Model = ModelConfig{Hidden: 128, Layers: 2, Heads: 2, FFN: 512, SeqLen: 128, Dropout: 0.1}
		c.Tokenizer = TokenizerConfig{EnglishVocab: 2000, LanguageVocab: 2000, MaxSentences: 300000,
			LanguageVocabOverrides: map[string]int{"ja": 4000, "zh_CN": 8000}}
		// 12,000 updates with a reset every 1,000: 11 resets; validation
		// four times per episode, the last just before the reset.
		c.Pretrain = PretrainConfig{Updates: 12000, BatchSize: 32, WarmupUpdates: 300, LR: 1e-3, ForgetEvery: 1000, ClipNorm: 0.5,
			ValidEvery: 250, ValidBatches: 20, ValidFraction: 0.01, MaxCorpusBytes: 16 << 20}
		c.Adapt = AdaptConfig{MaxTokens: 1_000_000, Updates: 1000, LowStep: 100, SaveAt: []int{50, 100, 250, 500, 1000}, BatchSize: 16,
			WarmupUpdates: 50, LR: 1e-3, ClipNorm: 0.5, ValidEvery: 50, ValidBatches: 20, Seeds: 3}
		c.Finetune = FinetuneConfig{Epochs: 2, BatchSize: 32, MaxLength: 128, LR: 1e-3, WarmupFraction: 0.06, MaxTrain: 10000}
	case "curves":
		// small's body, tokenizers and pretraining (so its pretraining
		// figures carry over), except that 30% of the English package
		// descriptions are kept out of pretraining as en-relearn's text.
		small, _ := Preset("small")
		c.Model, c.Tokenizer, c.Pretrain, c.Finetune = small.Model, small.Tokenizer, small.Pretrain, small.Finetune
		c.Pretrain.HoldOut = 0.3
		c.Languages = []string{LangRelearn, "de", "fr", "ru", LangReverse, LangShuffle}
		c.Tasks = []string{"topic"} // the pair task does not learn in English at this size (small's report)
		c.Seeds = 3
		// Pilots on small's standard body (README): relearning English
		// embeddings on out-of-domain text (documentation, fortunes) gave
		// 39% zero-shot against 63% on descriptions, and 3,000 updates at
		// lr 4e-3 beat 1,500 at 4e-3 or 8e-3 (56%); on out-of-domain text lr
		// 4e-3 also beat 1e-3 (39% against 35%).
		c.Adapt = AdaptConfig{MaxTokens: 1_000_000, Budgets: []int64{10_000, 100_000, 300_000, 1_000_000},
			LanguageBudgets: map[string][]int64{LangReverse: {1_000_000}, LangShuffle: {1_000_000}}, InDomain: true,
			Updates: 3000, LowStep: 250, SaveAt: []int{250, 1000, 3000}, BatchSize: 16, WarmupUpdates: 100, LR: 4e-3, ClipNorm: 0.5,
			ValidEvery: 250, ValidBatches: 20, Seeds: 1}
	case "full":
		c.Languages = []string{"de", "fr", "it", "es", "pl", "ru", "uk", "ja", "ko", "zh_CN"}
		c.Model = ModelConfig{Hidden: 768, Layers: 12, Heads: 12, FFN: 3072, SeqLen: 512, Dropout: 0.1}
		c.Tokenizer = TokenizerConfig{EnglishVocab: 50000, LanguageVocab: 50000}
		c.Pretrain = PretrainConfig{Updates: 125000, BatchSize: 2048, WarmupUpdates: 10000, LR: 7e-4, ForgetEvery: 1000, ClipNorm: 0.5,
			ValidEvery: 1000, ValidBatches: 100, ValidFraction: 0.01}
		c.Adapt = AdaptConfig{MaxTokens: 5_000_000, Updates: 125000, LowStep: 5000, SaveAt: []int{1000, 5000, 25000, 125000},
			BatchSize: 2048, WarmupUpdates: 10000, LR: 7e-4, ClipNorm: 0.5, ValidEvery: 5000, ValidBatches: 100}
		c.Finetune = FinetuneConfig{Epochs: 10, BatchSize: 32, MaxLength: 256, LR: 1e-5, WarmupFraction: 0.06}
	default:
		return Config{}, fmt.Errorf("experiment: unknown preset %q (have %v)", name, PresetNames())
	}
	return c, nil
}

// LoadOverrides applies a JSON config file on top of c: any field present in
// the file replaces the preset's; unknown fields are an error naming the file.
func LoadOverrides(c *Config, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("experiment: %s: %w", path, err)
	}
	return nil
}

// DropPresetBudgets removes the language budgets that preset p set for
// languages c no longer lists, so that narrowing the languages (--langs, or
// "languages" in a --config file) needs no other edit. A budget set by the
// overrides for a language c does not list stays, for Validate to report.
func (c *Config) DropPresetBudgets(p Config) {
	for l, b := range c.Adapt.LanguageBudgets {
		if !slices.Contains(c.Languages, l) && slices.Equal(b, p.Adapt.LanguageBudgets[l]) {
			delete(c.Adapt.LanguageBudgets, l)
		}
	}
	if len(c.Adapt.LanguageBudgets) == 0 {
		c.Adapt.LanguageBudgets = nil
	}
}

// Validate checks the configuration before anything runs.
func (c *Config) Validate() error {
	switch {
	case c.Data == "":
		return fmt.Errorf("experiment: no data directory (build one with lethe data build)")
	case len(c.Languages) == 0:
		return fmt.Errorf("experiment: no target languages")
	case len(c.Arms) == 0:
		return fmt.Errorf("experiment: no arms")
	case c.Seeds < 1:
		return fmt.Errorf("experiment: seeds %d: need at least 1", c.Seeds)
	case c.Adapt.Seeds < 0:
		return fmt.Errorf("experiment: adapt.seeds %d: need at least 1 (or 0 for 1)", c.Adapt.Seeds)
	case c.Model.Hidden%max(c.Model.Heads, 1) != 0 || c.Model.Heads < 1:
		return fmt.Errorf("experiment: hidden size %d is not a multiple of %d heads", c.Model.Hidden, c.Model.Heads)
	case !slices.Contains(c.Adapt.SaveAt, c.Adapt.LowStep):
		return fmt.Errorf("experiment: adapt.low_step %d is not among adapt.save_at %v", c.Adapt.LowStep, c.Adapt.SaveAt)
	case c.Adapt.SaveAt[len(c.Adapt.SaveAt)-1] != c.Adapt.Updates:
		return fmt.Errorf("experiment: the last of adapt.save_at %v must be adapt.updates %d (the full adaptation)", c.Adapt.SaveAt, c.Adapt.Updates)
	}
	for _, a := range c.Arms {
		if a != ArmStandard && a != ArmForgetting && a != ArmRandom {
			return fmt.Errorf("experiment: unknown arm %q (want %s, %s or %s)", a, ArmStandard, ArmForgetting, ArmRandom)
		}
	}
	for _, t := range c.Tasks {
		if t != "topic" && t != "pair" {
			return fmt.Errorf("experiment: unknown task %q (want topic or pair)", t)
		}
	}
	for _, l := range c.Languages {
		b := c.Adapt.budgets(l)
		increasing := len(b) > 0 && b[0] > 0
		for i := 1; i < len(b); i++ {
			increasing = increasing && b[i] > b[i-1]
		}
		if !increasing {
			return fmt.Errorf("experiment: the token budgets of %s %v must be positive and increasing", l, b)
		}
		if EnglishDerived(l) && c.Pretrain.MaxCorpusBytes <= 0 && c.Pretrain.HoldOut <= 0 {
			return fmt.Errorf("experiment: language %s adapts on English text that pretraining did not use, "+
				"but pretraining uses all of it: set pretrain.hold_out or pretrain.max_corpus_bytes", l)
		}
	}
	for l := range c.Adapt.LanguageBudgets {
		if !slices.Contains(c.Languages, l) {
			return fmt.Errorf("experiment: adapt.language_budgets names %s, which is not among the languages %v", l, c.Languages)
		}
	}
	if c.Pretrain.HoldOut < 0 || c.Pretrain.HoldOut >= 1 {
		return fmt.Errorf("experiment: pretrain.hold_out %v: want a share in [0, 1)", c.Pretrain.HoldOut)
	}
	if !slices.IsSorted(c.Adapt.SaveAt) {
		return fmt.Errorf("experiment: adapt.save_at %v must be increasing", c.Adapt.SaveAt)
	}
	return nil
}
