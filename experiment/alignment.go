package experiment

import (
	"fmt"
	"math"
	"path/filepath"

	"lethe/checkpoint"
	"lethe/safetensors"
)

// wordEmbeddings is the tensor that language adaptation relearns.
const wordEmbeddings = "roberta.embeddings.word_embeddings.weight"

// specialTokens is how many rows of a Lethe vocabulary are special tokens
// (<s>, <pad>, </s>, <unk>, <mask>), left out of embeddingCosine.
const specialTokens = 5

// embeddingCosine is the cosine between the token embeddings of checkpoint
// dir and ref, the token embeddings (readWordEmbeddings) of a checkpoint
// with the same tokenizer, over every row but the special tokens': how close
// embeddings relearnt for English came to the ones the body was pretrained
// with (1: the same up to scale; 0: unrelated, as two independent draws are).
func embeddingCosine(dir string, ref []float32) (float64, error) {
	x, err := readWordEmbeddings(dir)
	if err != nil {
		return math.NaN(), err
	}
	if len(x) != len(ref) {
		return math.NaN(), fmt.Errorf("experiment: %s has token embeddings of %d values, the body %d: not the same tokenizer", dir, len(x), len(ref))
	}
	var dot, xx, yy float64
	for i := range x {
		dot += float64(x[i]) * float64(ref[i])
		xx += float64(x[i]) * float64(x[i])
		yy += float64(ref[i]) * float64(ref[i])
	}
	return dot / math.Sqrt(xx*yy), nil
}

// readWordEmbeddings reads the token embeddings of checkpoint dir without
// the special tokens' rows.
func readWordEmbeddings(dir string) ([]float32, error) {
	path := filepath.Join(dir, checkpoint.ModelFile)
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	t, ok := f.Get(wordEmbeddings)
	if !ok || len(t.Shape) != 2 || t.Shape[0] <= specialTokens {
		return nil, fmt.Errorf("experiment: %s: no %s of shape [V > %d, C]", path, wordEmbeddings, specialTokens)
	}
	x, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", path, err)
	}
	return x[specialTokens*t.Shape[1]:], nil
}
