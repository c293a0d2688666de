package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Names inside a training run's directory (pretraining, language adaptation
// or fine-tuning).
const (
	Last        = "checkpoint-last"     // the newest state; what a resumed run continues from
	Best        = "checkpoint-best"     // lowest validation loss (dev score for fine-tuning) so far
	MetricsFile = "metrics.jsonl"       // one internal/jsonl record per logged update, validation or dev evaluation
	Tokenizer   = "sentencepiece.model" // the tokenizer inside a checkpoint (its own piece ids, no offset)
)

// ErrInterrupted is returned (wrapped) by a training run whose context was
// cancelled after it saved a checkpoint to resume from.
var ErrInterrupted = errors.New("training interrupted")

// The stages a Lineage names.
const (
	StagePretrain = "pretrain"            // masked-LM pretraining (standard or forgetting)
	StageLanguage = "language-adaptation" // new embeddings relearnt on a frozen body
)

// At is the name of the checkpoint a run keeps at update u.
func At(u int) string { return fmt.Sprintf("checkpoint-%d", u) }

// LineageFile, inside a checkpoint made from another one (language or task
// adaptation), records which pretrained model it was made from, so that
// splicing can refuse to join embeddings and a task model that were trained
// on different bodies.
const LineageFile = "lineage.json"

// Lineage is what LineageFile holds.
type Lineage struct {
	BaseModel       string `json:"base_model"`        // the checkpoint directory started from, as given
	BaseModelSHA256 string `json:"base_model_sha256"` // sha256 of its model.safetensors
	Stage           string `json:"stage"`             // the stage that started from it
}

// ModelHash returns the hex sha256 of a checkpoint's model.safetensors: the
// identity of a pretrained body in a Lineage.
func ModelHash(dir string) (string, error) {
	d, err := Resolve(dir)
	if err != nil {
		return "", err
	}
	f, err := os.Open(filepath.Join(d, ModelFile))
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checkpoint: %s: %w", f.Name(), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
