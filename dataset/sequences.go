package dataset

import "fmt"

// Sequences cuts a token file into training blocks of SeqLen tokens: BOS
// followed by up to SeqLen-1 ids, padded with PAD. Whole documents are packed
// greedily into a block (fairseq's "complete" break mode); only a document
// longer than a block is split, into full blocks followed by its remainder,
// which later documents may join. Because packing keeps file order, every
// block is a contiguous range of the id array, so the index is just the
// block boundaries (8 bytes per block), built once at load time.
type Sequences struct {
	file   *File
	seqLen int
	bounds []int64 // block i holds ids [bounds[i], bounds[i+1])
}

// NewSequences builds the block index of f for sequences of seqLen tokens
// (seqLen >= 2: BOS plus at least one id). Empty documents are skipped.
func NewSequences(f *File, seqLen int) (*Sequences, error) {
	if seqLen < 2 {
		return nil, fmt.Errorf("dataset: %s: sequence length %d: expected at least 2 (<s> and one token)", f.path, seqLen)
	}
	capacity := int64(seqLen - 1)
	s := &Sequences{file: f, seqLen: seqLen}
	est := f.NumTokens()/capacity + int64(f.NumDocs())/8 + 2
	s.bounds = make([]int64, 1, est)
	start := int64(0) // start of the block being filled
	for i := 0; i < f.NumDocs(); i++ {
		lo, hi := f.docStart(i), f.docStart(i+1)
		if hi == lo {
			continue
		}
		if hi-start <= capacity { // the document fits in the current block
			continue
		}
		if lo > start { // close the current block before this document
			s.bounds = append(s.bounds, lo)
			start = lo
		}
		for hi-start > capacity { // split a long document into full blocks
			start += capacity
			s.bounds = append(s.bounds, start)
		}
	}
	if f.NumTokens() > start {
		s.bounds = append(s.bounds, f.NumTokens())
	}
	return s, nil
}

// File returns the token file the blocks are cut from.
func (s *Sequences) File() *File { return s.file }

// SeqLen returns the length of every sequence, BOS and padding included.
func (s *Sequences) SeqLen() int { return s.seqLen }

// Len returns the number of blocks.
func (s *Sequences) Len() int { return len(s.bounds) - 1 }

// Bounds returns the id range [lo, hi) of block i; hi-lo <= SeqLen-1.
func (s *Sequences) Bounds(i int) (lo, hi int64) { return s.bounds[i], s.bounds[i+1] }

// Fill writes block i into dst (len(dst) must be SeqLen): BOS, the block's
// ids, then PAD. It returns the number of non-pad tokens. It never allocates.
func (s *Sequences) Fill(i int, dst []int32) int {
	if len(dst) != s.seqLen {
		panic(fmt.Sprintf("dataset: Fill into %d slots, expected the sequence length %d", len(dst), s.seqLen))
	}
	lo, hi := s.Bounds(i)
	dst[0] = BOS
	filled := s.file.AppendTokens(dst[1:1], lo, hi)
	n := 1 + len(filled)
	for j := n; j < len(dst); j++ {
		dst[j] = PAD
	}
	return n
}
