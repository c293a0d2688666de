package experiment

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/safetensors"
)

// writeEmbeddings writes a checkpoint directory holding only token
// embeddings of shape [V, C].
func writeEmbeddings(t *testing.T, V, C int, data []float32) string {
	t.Helper()
	dir := t.TempDir()
	ten, err := safetensors.FromFloat32(wordEmbeddings, []int{V, C}, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(filepath.Join(dir, checkpoint.ModelFile), []safetensors.Tensor{ten}, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEmbeddingCosine checks the alignment measure: 1 for the same
// embeddings up to scale, -1 for their negation, the special tokens' rows
// left out, and an error naming the file for another vocabulary.
func TestEmbeddingCosine(t *testing.T) {
	const V, C = 8, 3
	base := make([]float32, V*C)
	for i := range base {
		base[i] = float32(i%5) - 1.5
	}
	ref, err := readWordEmbeddings(writeEmbeddings(t, V, C, base))
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != (V-specialTokens)*C {
		t.Fatalf("read %d values, want the %d of the non-special rows", len(ref), (V-specialTokens)*C)
	}
	scaled, negated := make([]float32, V*C), make([]float32, V*C)
	for i, v := range base {
		scaled[i], negated[i] = 3*v, -v
		if i < specialTokens*C { // special rows do not count
			scaled[i], negated[i] = 100, -7
		}
	}
	for _, c := range []struct {
		name string
		data []float32
		want float64
	}{{"scaled", scaled, 1}, {"negated", negated, -1}} {
		got, err := embeddingCosine(writeEmbeddings(t, V, C, c.data), ref)
		if err != nil || math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s: cosine %v (err %v), want %v", c.name, got, err, c.want)
		}
	}
	other := writeEmbeddings(t, V+1, C, make([]float32, (V+1)*C))
	if _, err := embeddingCosine(other, ref); err == nil || !strings.Contains(err.Error(), other) {
		t.Errorf("another vocabulary: err = %v, want one naming %s", err, other)
	}
	missing := t.TempDir()
	os.WriteFile(filepath.Join(missing, checkpoint.ModelFile), []byte("not safetensors"), 0o644)
	if _, err := readWordEmbeddings(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a corrupt model file: err = %v, want one naming it", err)
	}
}
