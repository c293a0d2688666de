package dataset

import (
	"fmt"

	"lethe/internal/splitmix"
)

// Batch is B masked sequences of T tokens, row-major. InputIDs and Labels
// have length B*T; Labels holds IgnoreLabel except at the chosen positions.
// Loaders reuse the slices' storage, so a warmed-up Batch costs no
// allocation.
type Batch struct {
	B, T      int
	InputIDs  []int32
	Labels    []int32
	NumMasked int // positions with a label (the loss denominator)
	NumTokens int // non-pad tokens, BOS included (for throughput figures)
}

// reset shapes b for rows x t, growing its storage only when needed.
func (b *Batch) reset(rows, t int) {
	n := rows * t
	if cap(b.InputIDs) < n {
		b.InputIDs = make([]int32, n)
	}
	if cap(b.Labels) < n {
		b.Labels = make([]int32, n)
	}
	b.B, b.T = rows, t
	b.InputIDs, b.Labels = b.InputIDs[:n], b.Labels[:n]
	b.NumMasked, b.NumTokens = 0, 0
}

// fillRow writes block blk, masked with key, into row r of b.
func (b *Batch) fillRow(seq *Sequences, mask *MaskConfig, r, blk int, key uint64) {
	in := b.InputIDs[r*b.T : (r+1)*b.T]
	lab := b.Labels[r*b.T : (r+1)*b.T]
	b.NumTokens += seq.Fill(blk, in)
	b.NumMasked += mask.Apply(in, lab, key)
}

// Position is where a Loader stands: the next batch starts at block Index of
// the shuffled order of Epoch. With the Seed it determines every later batch,
// so it is all a checkpoint needs to store to resume the data stream exactly.
type Position struct {
	Seed  uint64 `json:"seed"`
	Epoch uint64 `json:"epoch"`
	Index int    `json:"index"`
	// Sequences is the number of blocks per epoch when the position was
	// taken; Seek refuses a different count (re-prepared data, another
	// sequence length or packing), which would silently change the stream.
	// Zero (a hand-made position) skips the check.
	Sequences int `json:"sequences,omitempty"`
}

// LoaderConfig configures a training Loader.
type LoaderConfig struct {
	BatchSize int
	Seed      uint64 // drives both the per-epoch shuffle and the masking
	Mask      MaskConfig
}

// Loader yields an endless stream of training batches: each epoch visits
// every block once in a seeded random order (a fresh permutation per epoch),
// and a batch that reaches the end of an epoch continues into the next one,
// so every batch is full. Every sequence is masked with
// SequenceKey(seed, epoch, block), so a batch depends only on (seed,
// position), never on history. Not safe for concurrent use.
type Loader struct {
	seq       *Sequences
	cfg       LoaderConfig
	perm      []int32
	permEpoch uint64
	permValid bool
	pos       Position
}

// NewLoader returns a Loader at the start of epoch 0.
func NewLoader(seq *Sequences, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("dataset: batch size %d: expected at least 1", cfg.BatchSize)
	}
	if err := cfg.Mask.Validate(); err != nil {
		return nil, err
	}
	if seq.Len() == 0 {
		return nil, fmt.Errorf("dataset: %s: no tokens, so no training sequences", seq.file.path)
	}
	if seq.Len() > 1<<31-1 {
		return nil, fmt.Errorf("dataset: %s: %d sequences, expected at most %d", seq.file.path, seq.Len(), 1<<31-1)
	}
	l := &Loader{seq: seq, cfg: cfg, perm: make([]int32, seq.Len()), pos: Position{Seed: cfg.Seed, Sequences: seq.Len()}}
	l.shuffle(0)
	return l, nil
}

// BatchesPerEpoch returns the number of full batches in one pass over the
// data (rounded up).
func (l *Loader) BatchesPerEpoch() int {
	return (l.seq.Len() + l.cfg.BatchSize - 1) / l.cfg.BatchSize
}

// shuffle builds the permutation of epoch e (Fisher-Yates from a generator
// keyed by (seed, e)), reusing the buffer.
func (l *Loader) shuffle(e uint64) {
	if l.permValid && l.permEpoch == e {
		return
	}
	for i := range l.perm {
		l.perm[i] = int32(i)
	}
	r := splitmix.Rand{S: deriveKey(l.cfg.Seed, streamShuffle, e, 0)}
	for i := len(l.perm) - 1; i > 0; i-- {
		j := r.Intn(uint64(i + 1))
		l.perm[i], l.perm[j] = l.perm[j], l.perm[i]
	}
	l.permEpoch, l.permValid = e, true
}

// Next fills b with the next BatchSize sequences and advances the position.
// Once b has been filled once, Next does not allocate.
func (l *Loader) Next(b *Batch) {
	b.reset(l.cfg.BatchSize, l.seq.seqLen)
	for r := 0; r < l.cfg.BatchSize; r++ {
		if l.pos.Index >= len(l.perm) {
			l.pos.Epoch++
			l.pos.Index = 0
			l.shuffle(l.pos.Epoch)
		}
		blk := int(l.perm[l.pos.Index])
		b.fillRow(l.seq, &l.cfg.Mask, r, blk, SequenceKey(l.cfg.Seed, l.pos.Epoch, blk))
		l.pos.Index++
	}
}

// Position returns where the next batch starts.
func (l *Loader) Position() Position { return l.pos }

// Seek moves the loader to p, as saved by Position (possibly by another
// process). It fails if p was saved under another seed or points past the end
// of an epoch of this data, which would mean resuming on different data.
func (l *Loader) Seek(p Position) error {
	if p.Seed != l.cfg.Seed {
		return fmt.Errorf("dataset: seek to a position saved with seed %d, but the loader uses seed %d", p.Seed, l.cfg.Seed)
	}
	if p.Sequences != 0 && p.Sequences != len(l.perm) {
		return fmt.Errorf("dataset: seek to a position saved over %d sequences per epoch, but %s gives %d (re-prepared data, or another sequence length?)", p.Sequences, l.seq.file.path, len(l.perm))
	}
	if p.Index < 0 || p.Index > len(l.perm) {
		return fmt.Errorf("dataset: seek to index %d of epoch %d: expected 0..%d (the data has %d sequences; was it re-prepared?)", p.Index, p.Epoch, len(l.perm), len(l.perm))
	}
	l.shuffle(p.Epoch)
	l.pos = p
	l.pos.Sequences = len(l.perm)
	return nil
}

// EvalIter walks a validation set in file order, yielding every block exactly
// once, masked with a fixed seed so that every evaluation scores the same
// positions. The last batch may hold fewer than BatchSize rows (Batch.B says
// how many).
type EvalIter struct {
	seq       *Sequences
	mask      MaskConfig
	batchSize int
	seed      uint64
	next      int
}

// NewEvalIter returns an iterator over seq. Use a MaskConfig with MaskOnly
// for the mask-only loss, and the same seed in every evaluation.
func NewEvalIter(seq *Sequences, batchSize int, mask MaskConfig, seed uint64) (*EvalIter, error) {
	if batchSize <= 0 {
		return nil, fmt.Errorf("dataset: batch size %d: expected at least 1", batchSize)
	}
	if err := mask.Validate(); err != nil {
		return nil, err
	}
	return &EvalIter{seq: seq, mask: mask, batchSize: batchSize, seed: seed}, nil
}

// NumBatches returns how many batches one pass yields.
func (it *EvalIter) NumBatches() int { return (it.seq.Len() + it.batchSize - 1) / it.batchSize }

// Reset rewinds to the first block.
func (it *EvalIter) Reset() { it.next = 0 }

// Next fills b with the next batch and reports whether there was one. It
// does not allocate once b has held a full batch.
func (it *EvalIter) Next(b *Batch) bool {
	rows := min(it.batchSize, it.seq.Len()-it.next)
	if rows <= 0 {
		return false
	}
	b.reset(rows, it.seq.seqLen)
	for r := 0; r < rows; r++ {
		blk := it.next + r
		b.fillRow(it.seq, &it.mask, r, blk, SequenceKey(it.seed, 0, blk))
	}
	it.next += rows
	return true
}
