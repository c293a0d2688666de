package dataset

import (
	"fmt"

	"lethe/internal/splitmix"
)

// MaskConfig describes dynamic masked-LM corruption as in RoBERTa: a share
// Prob of the maskable tokens of each sequence is chosen; of those a share
// MaskFrac becomes MaskID, RandomFrac a random normal token, and the rest stay
// unchanged. Maskable means not BOS, PAD, EOS, UNK or MaskID.
type MaskConfig struct {
	MaskID     int32   // id of <mask>
	VocabSize  int     // random replacements are drawn from the normal ids below this
	Prob       float64 // share of maskable tokens chosen (RoBERTa: 0.15)
	MaskFrac   float64 // share of chosen tokens replaced by MaskID (0.8)
	RandomFrac float64 // share of chosen tokens replaced by a random normal id (0.1)
	// MaskOnly replaces every chosen token by MaskID (for validation: the
	// 80/10/10 loss rewards copying the unchanged tokens and flatters weak
	// models). The chosen positions are the same as without it.
	MaskOnly bool
}

// RobertaMask returns the RoBERTa recipe (15%, 80/10/10) for a vocabulary.
func RobertaMask(maskID int32, vocabSize int) MaskConfig {
	return MaskConfig{MaskID: maskID, VocabSize: vocabSize, Prob: 0.15, MaskFrac: 0.8, RandomFrac: 0.1}
}

// Validate checks the ids and fractions.
func (c MaskConfig) Validate() error {
	switch {
	case c.MaskID <= UNK || int(c.MaskID) >= c.VocabSize:
		return fmt.Errorf("dataset: mask id %d: expected an id in [4, vocabulary size %d)", c.MaskID, c.VocabSize)
	case c.VocabSize < 6:
		return fmt.Errorf("dataset: vocabulary size %d: expected at least one normal token besides the 5 special ones", c.VocabSize)
	case !(c.Prob >= 0 && c.Prob <= 1):
		return fmt.Errorf("dataset: mask probability %v: expected a number in [0, 1]", c.Prob)
	case !(c.MaskFrac >= 0 && c.RandomFrac >= 0 && c.MaskFrac+c.RandomFrac <= 1):
		return fmt.Errorf("dataset: mask/random fractions %v/%v: expected non-negative with a sum of at most 1", c.MaskFrac, c.RandomFrac)
	}
	return nil
}

// Maskable reports whether id may be chosen for prediction: any id but the
// special ones (<s>, <pad>, </s>, <unk>) and <mask> itself.
func (c *MaskConfig) Maskable(id int32) bool {
	return id > UNK && id != c.MaskID
}

// randomNormal maps u in [0, VocabSize-5) to the u-th normal id, skipping
// 0..3 and MaskID.
func (c *MaskConfig) randomNormal(u uint64) int32 {
	id := int32(u) + UNK + 1
	if id >= c.MaskID {
		id++
	}
	return id
}

// Apply corrupts one sequence in place: ids is the input (changed at the
// chosen positions), labels receives the original id at chosen positions and
// IgnoreLabel elsewhere. The outcome is a pure function of (ids, key), so a
// sequence masks the same way whenever it is built with the same key; derive
// the key with SequenceKey. Positions are chosen from one random stream and
// replacements from another, so MaskOnly changes what the chosen positions
// hold but not which they are. It returns the number of chosen positions and
// never allocates.
func (c *MaskConfig) Apply(ids, labels []int32, key uint64) int {
	if len(labels) != len(ids) {
		panic(fmt.Sprintf("dataset: Apply with %d labels for %d ids", len(labels), len(ids)))
	}
	cand := 0
	for i, id := range ids {
		labels[i] = IgnoreLabel
		if c.Maskable(id) {
			cand++
		}
	}
	if cand == 0 {
		return 0
	}
	pick := splitmix.Rand{S: splitmix.Step(key ^ 0x5bd1e9955bd1e995)}
	repl := splitmix.Rand{S: splitmix.Step(key ^ 0xc2b2ae3d27d4eb4f)}
	// Probabilistic rounding keeps the expected share exactly Prob (as
	// fairseq's int(p*n + rand)).
	need := int(c.Prob*float64(cand) + pick.Float64())
	if need > cand {
		need = cand
	}
	chosen := need
	normals := uint64(c.VocabSize - 5)
	for i, id := range ids {
		if need == 0 {
			break
		}
		if !c.Maskable(id) {
			continue
		}
		// Selection sampling (Knuth's algorithm S): take this candidate
		// with probability need/cand, which yields a uniform subset of
		// exactly need positions without a scratch buffer.
		if pick.Intn(uint64(cand)) < uint64(need) {
			labels[i] = id
			need--
			switch u := repl.Float64(); {
			case c.MaskOnly || u < c.MaskFrac:
				ids[i] = c.MaskID
			case u < c.MaskFrac+c.RandomFrac:
				ids[i] = c.randomNormal(repl.Intn(normals))
			}
		}
		cand--
	}
	return chosen
}

// Random streams: derived keys for the stream kinds below.
const (
	streamMask      = 1
	streamShuffle   = 2
	streamSubsample = 3
)

// SequenceKey derives the masking key of one sequence from the run's seed,
// the epoch and the sequence's (block) index, so that masking depends only on
// these and never on what was drawn before: the basis of bit-exact resume.
func SequenceKey(seed, epoch uint64, index int) uint64 {
	return deriveKey(seed, streamMask, epoch, uint64(index))
}

func deriveKey(seed, stream, epoch, index uint64) uint64 {
	return splitmix.Step(splitmix.Step(splitmix.Step(splitmix.Step(seed)+stream)+epoch) + index)
}
