package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Settings of a Score.
const (
	SettingEnglish  = "english"   // the English task model on the English test set (no adaptation)
	SettingCeiling  = "ceiling"   // the English task model on the English originals of language L's test items
	SettingZeroShot = "zero-shot" // the task model spliced with L's embeddings, on L's test items
	// SettingOracle is the task model spliced, through the same code, with
	// the embeddings and tokenizer of the pretrained checkpoint it was
	// fine-tuned from, on the English test set: it must equal SettingEnglish.
	SettingOracle = "oracle"
	// SettingFresh is the task model spliced with untrained embeddings, on
	// the English test set: the chance line of transfer.
	SettingFresh = "fresh-embeddings"
)

// Score is one evaluation of one task model on one test file.
type Score struct {
	Seed         int    `json:"seed"`
	Arm          string `json:"arm"`
	Task         string `json:"task"`
	Lang         string `json:"lang"`          // language of the test items ("en" for SettingEnglish)
	Setting      string `json:"setting"`       // SettingEnglish, SettingCeiling or SettingZeroShot
	AdaptUpdates int    `json:"adapt_updates"` // the adaptation checkpoint spliced (0 unless zero-shot)
	// AdaptSeed is the adaptation replicate spliced, 1..Adapt.Seeds (0 for
	// English and ceiling scores, which involve no adaptation).
	AdaptSeed int `json:"adapt_seed,omitempty"`
	// Budget is the adaptation token budget of a zero-shot score (0 in an
	// experiment without budget curves: adapt.max_tokens).
	Budget   int64   `json:"budget,omitempty"`
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"` // percent
	MacroF1  float64 `json:"macro_f1"` // percent
	File     string  `json:"file"`     // the test file
	// EmbeddingCosine is, for a zero-shot score of an English-derived
	// language (English tokenizer), the cosine between the spliced
	// embeddings and the pretrained body's own (embeddingCosine).
	EmbeddingCosine *float64 `json:"embedding_cosine,omitempty"`
}

// PretrainSummary is the end state of one pretraining arm.
type PretrainSummary struct {
	Seed             int     `json:"seed"`
	Arm              string  `json:"arm"`
	Updates          int     `json:"updates"`
	HandOver         string  `json:"hand_over"` // checkpoint given to adaptation and fine-tuning
	HandOverUpdate   int     `json:"hand_over_update"`
	ValidLoss        float64 `json:"valid_loss"`           // 80/10/10, at the hand-over checkpoint's validation
	MaskOnlyLoss     float64 `json:"valid_mask_only_loss"` // every chosen position shown as <mask>
	MaskOnlyAccuracy float64 `json:"valid_mask_only_acc"`  // fraction
	Resets           int     `json:"resets"`
	Seconds          float64 `json:"seconds"`
	TokensPerSec     float64 `json:"tokens_per_s"`
}

// AdaptSummary is the end state of one language adaptation run.
type AdaptSummary struct {
	Seed        int    `json:"seed"`
	AdaptSeed   int    `json:"adapt_seed"` // the adaptation replicate, 1..Adapt.Seeds
	Arm         string `json:"arm"`
	Lang        string `json:"lang"`
	Budget      int64  `json:"budget,omitempty"` // the token budget (0: adapt.max_tokens, without budget curves)
	TrainTokens int64  `json:"train_tokens"`     // tokens in the budget subsample
	// EmbeddingDraw names how the fresh embeddings were drawn
	// (train.EmbeddingDraw); a cached adaptation of another draw is redone.
	EmbeddingDraw string  `json:"embedding_draw,omitempty"`
	ValidLoss     float64 `json:"valid_loss"`
	MaskOnlyLoss  float64 `json:"valid_mask_only_loss"`
	MaskOnlyAcc   float64 `json:"valid_mask_only_acc"`
	Seconds       float64 `json:"seconds"`
}

// Results is what an experiment measured: results.json in its directory,
// the input of the report.
type Results struct {
	Config   Config             `json:"config"`
	Command  string             `json:"command"`
	Started  string             `json:"started"`
	Finished string             `json:"finished"`
	Seconds  float64            `json:"wall_seconds"`  // of the run that finished (a resumed run counts its own time)
	Stages   map[string]float64 `json:"stage_seconds"` // wall time per stage kind, summed over runs (cached stages count 0)

	// UnigramFloor is the cross-entropy (nats per token) of each language's
	// validation tokens under its training unigram distribution: the loss a
	// model that ignores context can reach. A body has learnt to use context
	// when its mask-only loss is well below it.
	UnigramFloor map[string]float64 `json:"unigram_floor"`

	Pretrain []PretrainSummary `json:"pretrain"`
	Adapt    []AdaptSummary    `json:"adapt"`
	Scores   []Score           `json:"scores"`
}

// Layout names the directories of an experiment under its root.
type Layout struct{ Root string }

// Tokenizer is the SentencePiece model of a language; the English-derived
// languages use English's.
func (l Layout) Tokenizer(lang string) string {
	if EnglishDerived(lang) {
		lang = "en"
	}
	return filepath.Join(l.Root, "tokenizers", lang+".model")
}

// Corpus is the text of an English-derived language, made from the English
// corpus.
func (l Layout) Corpus(lang string) string { return filepath.Join(l.Root, "data", lang+".txt") }

// TaskFile is a task file of an English-derived language, made from the
// English one.
func (l Layout) TaskFile(task, lang, name string) string {
	return filepath.Join(l.Root, "tasks", task, lang, name)
}

// Data is the token-file directory (lethe prepare) of a language.
func (l Layout) Data(lang string) string { return filepath.Join(l.Root, "data", lang) }

// Pretrain is the pretraining run of an arm (metrics.jsonl, checkpoints).
func (l Layout) Pretrain(seed int, arm string) string {
	return filepath.Join(l.Root, fmt.Sprintf("seed-%d", seed), "pretrain", arm)
}

// Adapt is adaptation replicate adaptSeed (1..Adapt.Seeds) of an arm to a
// language under a token budget, from the arm's body of pipeline seed seed.
// Budget 0 (an experiment without budget curves) leaves the budget out of
// the path.
func (l Layout) Adapt(seed, adaptSeed int, arm, lang string, budget int64) string {
	dir := filepath.Join(l.Root, fmt.Sprintf("seed-%d", seed), "adapt", arm, lang)
	if budget > 0 {
		dir = filepath.Join(dir, "budget-"+FormatBudget(budget))
	}
	return filepath.Join(dir, fmt.Sprintf("seed-%d", adaptSeed))
}

// FormatBudget writes a token budget compactly: 10000 as 1e4, 3000000 as
// 3e6, any other number in full.
func FormatBudget(b int64) string {
	m, e := b, 0
	for m >= 10 && m%10 == 0 {
		m /= 10
		e++
	}
	if e < 3 || m >= 10 {
		return strconv.FormatInt(b, 10)
	}
	return fmt.Sprintf("%de%d", m, e)
}

// Finetune is the fine-tuning run of an arm on a task.
func (l Layout) Finetune(seed int, arm, task string) string {
	return filepath.Join(l.Root, fmt.Sprintf("seed-%d", seed), "finetune", arm, task)
}

// Eval is the directory of an arm's evaluation results on a task.
func (l Layout) Eval(seed int, arm, task string) string {
	return filepath.Join(l.Root, fmt.Sprintf("seed-%d", seed), "eval", arm, task)
}

// Results is results.json.
func (l Layout) Results() string { return filepath.Join(l.Root, "results.json") }

// ReadResults reads the results.json of an experiment directory, so that its
// report can be written again (by a newer Lethe, say) without rerunning it.
func ReadResults(root string) (*Results, error) {
	path := Layout{Root: root}.Results()
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	var res Results
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", path, err)
	}
	return &res, nil
}
