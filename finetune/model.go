// Package finetune is task adaptation (stage 3 of the protocol) and the
// assembly of a model for a new language (stage 4, "splice"): a RoBERTa body
// with a Hugging Face task head (sequence classification for single texts and
// text pairs, or extractive question answering), trained on English task data
// with the token embeddings frozen, saved as a checkpoint with Hugging Face
// tensor names, and later given another language's embeddings and tokenizer.
package finetune

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"lethe/checkpoint"
	"lethe/head"
	"lethe/internal/parallel"
	"lethe/nn"
	"lethe/roberta"
	"lethe/tokenizer"
)

// Kind is the kind of task head.
type Kind string

const (
	// Classification is RobertaForSequenceClassification: dense + tanh +
	// projection on the <s> state, for one text or a text pair.
	Classification Kind = "classification"
	// QuestionAnswering is RobertaForQuestionAnswering: start and end logits
	// per token, spans decoded from windows over long contexts.
	QuestionAnswering Kind = "question-answering"
)

// SpecFile is the file, inside a task checkpoint, that says what the head
// is and how inputs are cut (Spec).
const SpecFile = "task.json"

// Spec describes a task model: its head, its labels, how its inputs are
// tokenized and which pretrained body it was fine-tuned from.
type Spec struct {
	Kind   Kind     `json:"kind"`
	Labels []string `json:"labels,omitempty"` // classification: label i is output i (config.json id2label)
	// MaxLength is the number of tokens per input sequence, specials and
	// padding included (HF max_seq_length).
	MaxLength int `json:"max_length"`
	// Question answering (HF run_qa.py names): window overlap, question cap,
	// answer length cap and candidates per window.
	DocStride       int `json:"doc_stride,omitempty"`
	MaxQueryLength  int `json:"max_query_length,omitempty"`
	MaxAnswerLength int `json:"max_answer_length,omitempty"`
	NBest           int `json:"n_best_size,omitempty"`
	// BaseModelSHA256 identifies the pretrained body the task model was
	// fine-tuned from (checkpoint.ModelHash); splice compares it with the
	// language-adapted embeddings' lineage.
	BaseModelSHA256 string `json:"base_model_sha256,omitempty"`
	// Language is set by Splice: the language whose embeddings and
	// tokenizer the model now holds ("" = the fine-tuning language).
	Language string `json:"language,omitempty"`
}

func (s *Spec) validate() error {
	switch s.Kind {
	case Classification:
		if len(s.Labels) < 2 {
			return fmt.Errorf("classification needs at least 2 labels, have %d", len(s.Labels))
		}
		seen := map[string]bool{}
		for _, l := range s.Labels {
			if l == "" || seen[l] {
				return fmt.Errorf("labels %q: empty or repeated label %q", s.Labels, l)
			}
			seen[l] = true
		}
		if s.MaxLength < 3 {
			return fmt.Errorf("max length %d: need at least 3 (<s> text </s>)", s.MaxLength)
		}
	case QuestionAnswering:
		if s.MaxQueryLength < 1 || s.MaxLength < s.MaxQueryLength+5 {
			return fmt.Errorf("max length %d and max query length %d: need query >= 1 and room for 4 specials and context", s.MaxLength, s.MaxQueryLength)
		}
		if s.DocStride < 0 || s.MaxAnswerLength < 1 || s.NBest < 1 {
			return fmt.Errorf("doc stride %d, max answer length %d, n-best %d: need >= 0, >= 1, >= 1", s.DocStride, s.MaxAnswerLength, s.NBest)
		}
	default:
		return fmt.Errorf("unknown task kind %q (want %q or %q)", s.Kind, Classification, QuestionAnswering)
	}
	return nil
}

// LabelIndex returns the output index of each label.
func (s *Spec) LabelIndex() map[string]int {
	m := make(map[string]int, len(s.Labels))
	for i, l := range s.Labels {
		m[l] = i
	}
	return m
}

// Model is a RoBERTa body, a task head and the tokenizer whose ids the
// body's token embeddings index.
type Model struct {
	Spec Spec
	Body *roberta.Model
	Cls  *head.Classification    // nil unless Spec.Kind is Classification
	QA   *head.QuestionAnswering // nil unless Spec.Kind is QuestionAnswering
	Tok  *tokenizer.Model
	// Progress, when not nil, receives a progress bar during PredictLabels
	// and PredictAnswers (evaluation of large files).
	Progress io.Writer
	tokRaw   []byte // the .model file, copied into every checkpoint
}

// New builds a task model with freshly initialised weights for cfg (whose
// vocabulary must be the tokenizer's) and spec, for batches of up to
// maxBatch sequences of spec.MaxLength tokens.
func New(cfg roberta.Config, spec Spec, tokRaw []byte, maxBatch int, pool *parallel.Pool) (*Model, error) {
	if err := spec.validate(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	proto, err := tokenizer.ParseModelProto(tokRaw)
	if err != nil {
		return nil, fmt.Errorf("finetune: tokenizer: %w", err)
	}
	tok, err := tokenizer.NewModel(proto)
	if err != nil {
		return nil, fmt.Errorf("finetune: tokenizer: %w", err)
	}
	if tok.VocabSize() != cfg.VocabSize {
		return nil, fmt.Errorf("finetune: the tokenizer has %d ids but the model's embeddings have %d rows: they do not belong together",
			tok.VocabSize(), cfg.VocabSize)
	}
	if spec.MaxLength > cfg.MaxSeqLen() {
		return nil, fmt.Errorf("finetune: max length %d is longer than the model's %d positions", spec.MaxLength, cfg.MaxSeqLen())
	}
	body, err := roberta.New(cfg, maxBatch, spec.MaxLength, pool)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	m := &Model{Spec: spec, Body: body, Tok: tok, tokRaw: tokRaw}
	switch spec.Kind {
	case Classification:
		m.Cls, err = head.NewClassification(cfg.HiddenSize, len(spec.Labels), maxBatch, cfg.HiddenDropoutProb)
	case QuestionAnswering:
		m.QA, err = head.NewQuestionAnswering(cfg.HiddenSize, maxBatch, spec.MaxLength)
	}
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return m, nil
}

// HeadParams returns the task head's parameters.
func (m *Model) HeadParams() []*nn.Param {
	if m.Cls != nil {
		return m.Cls.Params()
	}
	return m.QA.Params()
}

// BodyParams returns the encoder's parameters as a task model has them:
// everything of the masked LM except its LM head (lm_head.*), which a task
// model does not use.
func (m *Model) BodyParams() []*nn.Param {
	var ps []*nn.Param
	for _, p := range m.Body.Params.All() {
		if !isLMHead(p.Name) {
			ps = append(ps, p)
		}
	}
	return ps
}

// Params returns every parameter a task checkpoint holds: body, then head.
func (m *Model) Params() []*nn.Param { return append(m.BodyParams(), m.HeadParams()...) }

// hfConfig is config.json of a task checkpoint: RobertaConfig plus the keys
// Hugging Face uses for a task model.
func (m *Model) hfConfig() (map[string]any, error) {
	cfg := m.Body.Config
	switch m.Spec.Kind {
	case Classification:
		cfg.Architectures = []string{"RobertaForSequenceClassification"}
	default:
		cfg.Architectures = []string{"RobertaForQuestionAnswering"}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if m.Spec.Kind == Classification {
		id2label, label2id := map[string]string{}, map[string]int{}
		for i, l := range m.Spec.Labels {
			id2label[fmt.Sprint(i)] = l
			label2id[l] = i
		}
		out["id2label"], out["label2id"] = id2label, label2id
		out["num_labels"] = len(m.Spec.Labels)
		out["problem_type"] = "single_label_classification"
	}
	return out, nil
}

// Save writes the task model to dir (atomically, as checkpoint.Save does):
// model.safetensors with Hugging Face names (roberta.* and classifier.* or
// qa_outputs.*), config.json, task.json and the tokenizer. c, when not nil,
// supplies the optimizer and trainer state of a resumable checkpoint.
func (m *Model) Save(dir string, c *checkpoint.Checkpoint) error {
	if c == nil {
		c = &checkpoint.Checkpoint{}
	}
	err := m.fill(c)
	if err == nil {
		err = checkpoint.Save(dir, c)
	}
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	return nil
}

// fill sets what a task checkpoint holds besides the training state: the
// Hugging Face config, the parameters, task.json and the tokenizer.
func (m *Model) fill(c *checkpoint.Checkpoint) error {
	cfg, err := m.hfConfig()
	if err != nil {
		return err
	}
	spec, err := json.MarshalIndent(m.Spec, "", "  ")
	if err != nil {
		return err
	}
	c.Config, c.Params = cfg, m.Params()
	c.Files = map[string][]byte{SpecFile: append(spec, '\n'), checkpoint.Tokenizer: m.tokRaw}
	return nil
}

// Load reads a task checkpoint written by Save (or by Splice) for batches of
// up to maxBatch sequences. Errors name the file and what does not fit.
func Load(dir string, maxBatch int, pool *parallel.Pool) (*Model, error) {
	d, err := checkpoint.Resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	spec, err := ReadSpec(d)
	if err != nil {
		return nil, err
	}
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(d, &cfg); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	tokRaw, err := os.ReadFile(filepath.Join(d, checkpoint.Tokenizer))
	if err != nil {
		return nil, fmt.Errorf("finetune: %s has no tokenizer: %w", d, err)
	}
	m, err := New(cfg, *spec, tokRaw, maxBatch, pool)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d, err)
	}
	if err := checkpoint.LoadParams(d, m.Params()); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	return m, nil
}

// ReadSpec reads task.json of a task checkpoint.
func ReadSpec(dir string) (*Spec, error) {
	path := filepath.Join(dir, SpecFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("finetune: %s has no %s: it is not a task model (fine-tune one with lethe finetune)", dir, SpecFile)
	}
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("finetune: %s: %w", path, err)
	}
	return &s, nil
}
