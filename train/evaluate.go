package train

import (
	"fmt"

	"lethe/checkpoint"
	"lethe/dataset"
	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/roberta"
)

// MLMScores is how well a masked LM predicts a token file, per chosen token:
// under RoBERTa's 80/10/10 corruption (what training validates with) and
// with every chosen token shown as <mask> (mask-only).
type MLMScores struct {
	Loss         float64 `json:"loss"`
	Acc          float64 `json:"acc"`
	MaskOnlyLoss float64 `json:"mask_only_loss"`
	MaskOnlyAcc  float64 `json:"mask_only_acc"`
	Sequences    int     `json:"sequences"`
}

// EvaluateMLM scores the masked LM of checkpoint dir on every sequence of
// tokFile (a token file made with the checkpoint's tokenizer), cut into
// sequences of seqLen as training cuts them, in batches of batch. seed
// chooses the masked positions: the same seed chooses the same positions for
// every checkpoint of the same vocabulary, so that their fits compare.
func EvaluateMLM(dir, tokFile string, maskID int32, seqLen, batch, threads int, seed uint64) (MLMScores, error) {
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(dir, &cfg); err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	f, err := dataset.Open(tokFile)
	if err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	if f.VocabSize() != cfg.VocabSize {
		return MLMScores{}, fmt.Errorf("train: %s has vocabulary size %d but the model in %s has %d: they come from different tokenizers",
			tokFile, f.VocabSize(), dir, cfg.VocabSize)
	}
	if int(maskID) >= cfg.VocabSize || maskID < 0 {
		return MLMScores{}, fmt.Errorf("train: mask id %d outside the vocabulary of %d", maskID, cfg.VocabSize)
	}
	if seqLen < 2 || seqLen > cfg.MaxSeqLen() {
		return MLMScores{}, fmt.Errorf("train: sequence length %d: the model in %s takes 2..%d", seqLen, dir, cfg.MaxSeqLen())
	}
	seqs, err := dataset.NewSequences(f, seqLen)
	if err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	blas.SetThreads(1)
	pool := parallel.New(threads)
	defer pool.Close()
	model, err := roberta.New(cfg, batch, seqLen, pool)
	if err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	if err := checkpoint.LoadParams(dir, model.Params.All()); err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	s, err := maskedLMScores(model, seqs, batch, dataset.RobertaMask(maskID, cfg.VocabSize), seed, 0)
	if err != nil {
		return MLMScores{}, fmt.Errorf("train: %w", err)
	}
	return s, nil
}
