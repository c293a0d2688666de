package dataset

import (
	"fmt"
	"sort"
)

// Sequences cuts a token file into training blocks of SeqLen tokens: BOS
// followed by up to SeqLen-1 ids, padded with PAD. Whole units (documents, or
// lines with PackLines) are packed greedily into a block (fairseq's
// "complete" break mode); only a unit longer than a block is split, into full
// blocks followed by its remainder, which later units may join. Because packing keeps file order, every
// block is a contiguous range of the id array, so the index is just the
// block boundaries (8 bytes per block), built once at load time.
type Sequences struct {
	file   *File
	seqLen int
	bounds []int64 // block i holds ids [bounds[i], bounds[i+1])
	subset []int   // when non-nil, block i is block subset[i] of bounds (see Subsample)
}

// Packing says which units a block is packed from.
type Packing int

const (
	// PackDocuments packs whole documents (the default): a block never
	// holds the end of one document and the start of the next unless both
	// fit whole, so the model rarely sees text cut mid-document.
	PackDocuments Packing = iota
	// PackLines packs whole lines (runs of ids ending in EOS) across
	// document boundaries, as fairseq's "complete" break mode does over a
	// binarised text. Blocks are fuller (less padding, so less wasted
	// compute) at the cost of mixing documents in a block.
	PackLines
)

// String names the packing as the command line spells it.
func (p Packing) String() string {
	switch p {
	case PackDocuments:
		return "documents"
	case PackLines:
		return "lines"
	}
	return fmt.Sprintf("Packing(%d)", int(p))
}

// ParsePacking parses "documents" or "lines".
func ParsePacking(s string) (Packing, error) {
	switch s {
	case "documents", "docs":
		return PackDocuments, nil
	case "lines":
		return PackLines, nil
	}
	return 0, fmt.Errorf("dataset: packing %q: expected \"documents\" or \"lines\"", s)
}

// NewSequences builds the block index of f for sequences of seqLen tokens
// (seqLen >= 2: BOS plus at least one id), packing whole documents. Empty
// documents are skipped.
func NewSequences(f *File, seqLen int) (*Sequences, error) {
	return NewPackedSequences(f, seqLen, PackDocuments)
}

// NewPackedSequences is NewSequences with a choice of packing unit.
func NewPackedSequences(f *File, seqLen int, packing Packing) (*Sequences, error) {
	if seqLen < 2 {
		return nil, fmt.Errorf("dataset: %s: sequence length %d: expected at least 2 (<s> and one token)", f.path, seqLen)
	}
	if packing != PackDocuments && packing != PackLines {
		return nil, fmt.Errorf("dataset: %s: unknown %v", f.path, packing)
	}
	s := &Sequences{file: f, seqLen: seqLen}
	capacity := int64(seqLen - 1)
	s.bounds = make([]int64, 1, f.NumTokens()/capacity+int64(f.NumDocs())/8+2)
	start := int64(0) // start of the block being filled
	// add packs the unit [lo, hi) (lo is where the previous unit ended).
	add := func(lo, hi int64) {
		if hi == lo || hi-start <= capacity { // empty, or fits in the current block
			return
		}
		if lo > start { // close the current block before this unit
			s.bounds = append(s.bounds, lo)
			start = lo
		}
		for hi-start > capacity { // split a long unit into full blocks
			start += capacity
			s.bounds = append(s.bounds, start)
		}
	}
	for i := 0; i < f.NumDocs(); i++ {
		lo, hi := f.docStart(i), f.docStart(i+1)
		if packing == PackDocuments {
			add(lo, hi)
			continue
		}
		from := lo
		for j := lo; j < hi; j++ {
			if f.at(j) == EOS {
				add(from, j+1)
				from = j + 1
			}
		}
		add(from, hi) // a document not ending in EOS: its tail is a unit
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
func (s *Sequences) Len() int {
	if s.subset != nil {
		return len(s.subset)
	}
	return len(s.bounds) - 1
}

// Bounds returns the id range [lo, hi) of block i; hi-lo <= SeqLen-1.
func (s *Sequences) Bounds(i int) (lo, hi int64) {
	if s.subset != nil {
		i = s.subset[i]
	}
	return s.bounds[i], s.bounds[i+1]
}

// Tokens returns the number of ids in all blocks (BOS and padding not
// counted): the token budget a pass over the blocks spends.
func (s *Sequences) Tokens() int64 {
	var n int64
	for i := 0; i < s.Len(); i++ {
		lo, hi := s.Bounds(i)
		n += hi - lo
	}
	return n
}

// Subsample returns the blocks of a deterministic random subsample holding
// at least maxTokens ids (all blocks when the file has fewer): blocks are
// drawn in an order fixed by seed until the budget is reached, then kept in
// file order. Because blocks are cut at document boundaries, this is a
// subsample of (whole, or long-document pieces of) documents, the "N tokens of
// language L" of a low-data adaptation run. The same file, sequence length,
// budget and seed always give the same blocks, and a larger budget with the
// same seed gives a superset.
func (s *Sequences) Subsample(maxTokens int64, seed uint64) *Sequences {
	n := s.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	// Fisher-Yates driven by a stream of its own, so the order is a pure function of seed.
	for i := n - 1; i > 0; i-- {
		j := int(deriveKey(seed, streamSubsample, 0, uint64(i)) % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	var got int64
	k := 0
	for ; k < n && got < maxTokens; k++ {
		lo, hi := s.Bounds(order[k])
		got += hi - lo
	}
	chosen := append([]int(nil), order[:k]...)
	sort.Ints(chosen)
	if s.subset != nil {
		for i, c := range chosen {
			chosen[i] = s.subset[c]
		}
	}
	return &Sequences{file: s.file, seqLen: s.seqLen, bounds: s.bounds, subset: chosen}
}

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
