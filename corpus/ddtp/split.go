package ddtp

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
)

// Split names one of the three parts of the data.
type Split int

// The splits, in the order they are written.
const (
	Train Split = iota
	Dev
	Test
)

// NumSplits is the number of splits; Split(0) .. Split(NumSplits-1) are
// Train, Dev, Test.
const NumSplits = 3

// String returns "train", "dev" or "test".
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Dev:
		return "dev"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// Shares are the fractions of source packages held out for test and dev; the
// rest is train.
type Shares struct {
	Test float64 `json:"test"`
	Dev  float64 `json:"dev"`
}

// DefaultShares holds out 20% of sources for test and 10% for dev.
func DefaultShares() Shares { return Shares{Test: 0.2, Dev: 0.1} }

// Validate reports shares outside [0, 1] or summing to more than 1.
func (s Shares) Validate() error {
	if !(s.Test >= 0 && s.Test <= 1) || !(s.Dev >= 0 && s.Dev <= 1) || s.Test+s.Dev > 1+1e-9 {
		return fmt.Errorf("test share %v and dev share %v: each must be in [0, 1] and their sum at most 1", s.Test, s.Dev)
	}
	return nil
}

// SplitOf assigns a source package to a split by a stable hash of its name:
// the first 8 bytes of SHA-1(source), read big-endian, as a fraction u of
// 2^64; u < Test is test, u < Test+Dev is dev, the rest train. It depends on
// nothing but the name and the shares, so every language agrees, every run
// agrees, and growing a share only moves sources into that split.
func SplitOf(source string, s Shares) Split {
	h := sha1.Sum([]byte(source))
	u := float64(binary.BigEndian.Uint64(h[:8])) / (1 << 64)
	switch {
	case u < s.Test:
		return Test
	case u < s.Test+s.Dev:
		return Dev
	}
	return Train
}
