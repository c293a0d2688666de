package corpus

import (
	"fmt"

	"lethe/internal/splitmix"
)

// Split assigns documents to the training or validation side by a stable
// hash of their text, so the same document always lands on the same side
// whatever the file order, the other documents, or the machine — which keeps
// validation sets comparable across re-preparations and keeps a document
// that appears in two inputs from straddling the split.
type Split struct {
	// ValidFraction is the expected share of documents sent to validation,
	// in [0, 1].
	ValidFraction float64
	// Seed selects a different (equally stable) partition.
	Seed uint64
}

// Validate reports a fraction outside [0, 1].
func (s Split) Validate() error {
	if !(s.ValidFraction >= 0 && s.ValidFraction <= 1) {
		return fmt.Errorf("corpus: validation fraction %v: expected a number in [0, 1]", s.ValidFraction)
	}
	return nil
}

// IsValid reports whether the document made of lines belongs to the
// validation side.
func (s Split) IsValid(lines []string) bool {
	if s.ValidFraction <= 0 {
		return false
	}
	if s.ValidFraction >= 1 {
		return true
	}
	u := float64(DocumentHash(s.Seed, lines)>>11) / (1 << 53) // uniform in [0, 1)
	return u < s.ValidFraction
}

// DocumentHash is a stable 64-bit hash of a document's text (its lines, each
// terminated by "\n") under seed: FNV-1a followed by a SplitMix64 finaliser
// so that every output bit is well mixed. It is part of the on-disk contract
// of prepared data sets: do not change it.
func DocumentHash(seed uint64, lines []string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64) ^ splitmix.Step(seed)
	for _, l := range lines {
		for i := 0; i < len(l); i++ {
			h ^= uint64(l[i])
			h *= prime64
		}
		h ^= '\n'
		h *= prime64
	}
	return splitmix.Step(h)
}
