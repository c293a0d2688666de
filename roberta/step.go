package roberta

import (
	"fmt"
	"math"

	"lethe/internal/parallel"
	"lethe/internal/splitmix"
)

// step is what every sub-layer of one Forward (or Encode) and its backward
// shares: the pool that runs the kernels and the prepared batch. Only
// prepare writes it.
//
// Notation (as in package nn): B batch, T sequence length, N = B*T rows, C
// hidden size, NH heads, F FFN size, V vocabulary, M masked (labelled) rows.
type step struct {
	pool *parallel.Pool
	T    int // sequence length of every row of the batch

	b, n, m        int     // B, N and M of this step
	seed           uint64  // the step's seed: every dropout mask derives from it
	pHidden, pAttn float32 // hidden and attention dropout of this step (0 in eval)

	ids     []int32   // [N] token ids
	pos     []int32   // [N] RoBERTa position ids
	keyBias []float32 // [N] 0 for tokens, float32's lowest for padding (added to attention scores)
	rows    []int32   // [M] labelled row indices into N
	targets []int32   // [M] their labels
}

func newStep(pool *parallel.Pool, maxBatch, T int) step {
	N := maxBatch * T
	return step{
		pool: pool, T: T,
		ids:     make([]int32, N),
		pos:     make([]int32, N),
		keyBias: make([]float32, N),
		rows:    make([]int32, N),
		targets: make([]int32, N),
	}
}

// prepare checks a batch of B sequences (ids and labels row-major [B, T];
// labels may be nil: none) against cfg and derives the step's inputs: token
// and position ids, the padding key bias and the labelled rows.
func (s *step) prepare(cfg *Config, ids, labels []int32, B, maxBatch int, train bool, seed uint64) error {
	if B <= 0 || B > maxBatch {
		return fmt.Errorf("roberta: batch %d outside [1, %d]", B, maxBatch)
	}
	T, N := s.T, B*s.T
	if len(ids) != N || (labels != nil && len(labels) != N) {
		return fmt.Errorf("roberta: batch of %d x %d needs %d ids and labels, got %d and %d", B, T, N, len(ids), len(labels))
	}
	V, pad := int32(cfg.VocabSize), int32(cfg.PadTokenID)
	M := 0
	lowest := float32(-math.MaxFloat32) // Hugging Face adds finfo(float32).min
	for b := 0; b < B; b++ {
		next := pad // RoBERTa: positions count from padding_idx+1 over non-pad tokens
		for t := 0; t < T; t++ {
			i := b*T + t
			id := ids[i]
			if id < 0 || id >= V {
				return fmt.Errorf("roberta: token id %d at batch row %d, position %d outside vocabulary [0, %d)", id, b, t, V)
			}
			s.ids[i] = id
			if id == pad {
				s.pos[i], s.keyBias[i] = pad, lowest
			} else {
				next++
				s.pos[i], s.keyBias[i] = next, 0
			}
			if labels == nil {
				continue
			}
			if lab := labels[i]; lab != -100 {
				if lab < 0 || lab >= V {
					return fmt.Errorf("roberta: label %d at batch row %d, position %d outside vocabulary [0, %d) (use -100 for no label)", lab, b, t, V)
				}
				s.rows[M], s.targets[M] = int32(i), lab
				M++
			}
		}
	}
	s.b, s.n, s.m, s.seed = B, N, M, seed
	s.pHidden, s.pAttn = 0, 0
	if train {
		s.pHidden = float32(cfg.HiddenDropoutProb)
		s.pAttn = float32(cfg.AttentionProbsDropoutProb)
	}
	return nil
}

// The dropout ops of a step, numbered so that every op gets an independent
// mask: the embeddings' dropout, then three per encoder layer.
const (
	opEmbDrop = iota
	opAttnDrop
	opProjDrop
	opFFNDrop
	opsPerLayer = 3
)

// dropSeed returns the seed of the step's dropout op number op.
func (s *step) dropSeed(op int) uint64 { return splitmix.Stream(s.seed, uint64(op)+1) }

// layerSeed returns the seed of dropout op kind (opAttnDrop, opProjDrop or
// opFFNDrop) in layer l.
func (s *step) layerSeed(l, kind int) uint64 { return s.dropSeed(1 + l*opsPerLayer + kind - 1) }
