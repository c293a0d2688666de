package tokenizer

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode/utf8"
)

// unkPenalty is subtracted from the lowest piece score to score an unknown
// character, as in SentencePiece's unigram model.
const unkPenalty float32 = 10.0

// Model is a loaded unigram SentencePiece model: normaliser, vocabulary and
// Viterbi encoder. It is immutable after Load and safe for concurrent use by
// several goroutines.
type Model struct {
	proto *ModelProto

	pieces []string
	scores []float32
	types  []PieceType
	ids    map[string]int32 // every piece
	trie   doubleArray      // NORMAL, USER_DEFINED and UNUSED pieces -> id
	search []searchEntry    // by id: what the Viterbi search needs
	norm   *Normalizer
	denorm *Normalizer // nil unless the denormalizer has a charsmap

	minScore, maxScore float32 // over NORMAL pieces, as spm initialises them
	unkID              int32
	bosID, eosID       int32
	padID, maskID      int32
	byteFallback       bool
	byteIDs            [256]int32 // id of <0xXX>, or unkID
	unkSurface         string
	decDummyPrefix     bool // normalizer_spec.add_dummy_prefix, for decoding
	decRemoveExtra     bool // normalizer_spec.remove_extra_whitespaces, for decoding

	scratch sync.Pool // *encodeScratch
}

// Load reads a SentencePiece .model file (unigram) and prepares it for
// encoding and decoding. Errors name the file and, for malformed data, the
// byte offset.
func Load(path string) (*Model, error) {
	p, err := ReadModelProto(path)
	if err != nil {
		return nil, err
	}
	m, err := NewModel(p)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return m, nil
}

// NewModel prepares a decoded model for encoding and decoding. The model
// must be a unigram model with exactly one UNKNOWN piece; the ModelProto
// must not be changed afterwards.
func NewModel(p *ModelProto) (*Model, error) {
	ts := p.TrainerSpec
	if ts == nil {
		ts = NewTrainerSpec()
	}
	if ts.ModelType != ModelTypeUnigram {
		return nil, fmt.Errorf("model type %d: expected %d (unigram); BPE, word and char models are not supported", ts.ModelType, ModelTypeUnigram)
	}
	n := len(p.Pieces)
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("%d pieces: too many", n)
	}
	m := &Model{
		proto:      p,
		pieces:     make([]string, n),
		scores:     make([]float32, n),
		types:      make([]PieceType, n),
		ids:        make(map[string]int32, n),
		minScore:   math.MaxFloat32,
		maxScore:   math.SmallestNonzeroFloat32 * (1 << 23), // FLT_MIN, the least normal float32
		unkID:      -1,
		unkSurface: ts.UnkSurface,
		maskID:     -1,

		byteFallback: ts.ByteFallback,
	}
	var keys []daKey
	var userDefined []string
	for i, pc := range p.Pieces {
		t := pc.Type
		if t == 0 {
			t = Normal
		}
		m.pieces[i], m.scores[i], m.types[i] = pc.Piece, pc.Score, t
		if pc.Piece == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		if _, dup := m.ids[pc.Piece]; dup {
			return nil, fmt.Errorf("piece %d %q is already defined", i, clip(pc.Piece))
		}
		m.ids[pc.Piece] = int32(i)
		switch t {
		case Normal:
			m.minScore = min(m.minScore, pc.Score)
			m.maxScore = max(m.maxScore, pc.Score)
			fallthrough
		case UserDefined, Unused:
			if strings.IndexByte(pc.Piece, 0) >= 0 {
				return nil, fmt.Errorf("piece %d %q holds a NUL byte", i, clip(pc.Piece))
			}
			keys = append(keys, daKey{key: pc.Piece, value: int32(i)})
			if t == UserDefined {
				userDefined = append(userDefined, pc.Piece)
			}
		case Unknown:
			if m.unkID >= 0 {
				return nil, fmt.Errorf("piece %d %q: a second UNKNOWN piece (the first is %d)", i, clip(pc.Piece), m.unkID)
			}
			m.unkID = int32(i)
		case Byte:
			if !ts.ByteFallback {
				return nil, fmt.Errorf("piece %d %q is a BYTE piece but trainer_spec.byte_fallback is false", i, clip(pc.Piece))
			}
		}
	}
	if m.unkID < 0 {
		return nil, fmt.Errorf("no UNKNOWN piece: expected one (e.g. <unk>)")
	}
	trie, err := buildDoubleArray(keys, false)
	if err != nil {
		return nil, fmt.Errorf("vocabulary trie: %w", err)
	}
	m.trie = trie
	m.search = make([]searchEntry, n)
	for i, t := range m.types {
		m.search[i].score = float64(m.scores[i])
		switch t {
		case UserDefined:
			m.search[i].kind = searchUser
		case Unused:
			m.search[i].kind = searchUnused
		}
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = m.PieceToID(fmt.Sprintf("<0x%02X>", b))
	}
	m.decDummyPrefix, m.decRemoveExtra = true, true
	if ns := p.NormalizerSpec; ns != nil {
		m.decDummyPrefix, m.decRemoveExtra = ns.AddDummyPrefix, ns.RemoveExtraWhitespaces
	}
	m.norm, err = NewNormalizer(p.NormalizerSpec, userDefined, ts.TreatWhitespaceAsSuffix)
	if err != nil {
		return nil, err
	}
	if d := p.DenormalizerSpec; d != nil && len(d.PrecompiledCharsmap) > 0 {
		if m.denorm, err = NewNormalizer(d, nil, false); err != nil {
			return nil, fmt.Errorf("denormalizer: %w", err)
		}
	}
	m.bosID = m.specialID(ts.BosID, ts.BosPiece)
	m.eosID = m.specialID(ts.EosID, ts.EosPiece)
	m.padID = m.specialID(ts.PadID, ts.PadPiece)
	if id, ok := m.ids["<mask>"]; ok {
		m.maskID = id
	} else {
		m.maskID = int32(n)
	}
	m.scratch.New = func() any { return new(encodeScratch) }
	return m, nil
}

// searchEntry is a piece as the Viterbi search sees it.
type searchEntry struct {
	score float64 // the piece score (NORMAL pieces)
	kind  uint8   // searchNormal, searchUser or searchUnused
}

const (
	searchNormal = iota
	searchUser
	searchUnused
)

// specialID returns the trainer spec's id for a special piece when it is in
// range, else the id of the piece by name, else -1.
func (m *Model) specialID(id int32, piece string) int32 {
	if id >= 0 && int(id) < len(m.pieces) {
		return id
	}
	if v, ok := m.ids[piece]; ok {
		return v
	}
	return -1
}

// Proto returns the model's decoded file. It must not be modified.
func (m *Model) Proto() *ModelProto { return m.proto }

// Normalizer returns the model's normaliser.
func (m *Model) Normalizer() *Normalizer { return m.norm }

// Size returns the number of pieces.
func (m *Model) Size() int { return len(m.pieces) }

// VocabSize returns the size of the embedding vocabulary: Size(), plus one
// when the model has no <mask> piece (<mask> then gets id Size(), as
// fairseq appends it).
func (m *Model) VocabSize() int {
	if int(m.maskID) == len(m.pieces) {
		return len(m.pieces) + 1
	}
	return len(m.pieces)
}

// BosID returns the id of <s> (0 in a Lethe model), or -1 if absent.
func (m *Model) BosID() int32 { return m.bosID }

// PadID returns the id of <pad> (1 in a Lethe model), or -1 if absent.
func (m *Model) PadID() int32 { return m.padID }

// EosID returns the id of </s> (2 in a Lethe model), or -1 if absent.
func (m *Model) EosID() int32 { return m.eosID }

// UnkID returns the id of the UNKNOWN piece (3 in a Lethe model).
func (m *Model) UnkID() int32 { return m.unkID }

// MaskID returns the id of <mask>: its piece id (4 in a Lethe model), or
// Size() when the model has no such piece.
func (m *Model) MaskID() int32 { return m.maskID }

// PieceToID returns the id of a piece, or UnkID() when there is none.
func (m *Model) PieceToID(piece string) int32 {
	if id, ok := m.ids[piece]; ok {
		return id
	}
	return m.unkID
}

// IDToPiece returns the piece of an id: "<mask>" for MaskID() when that is
// not a piece, "" for an id out of range.
func (m *Model) IDToPiece(id int32) string {
	if id >= 0 && int(id) < len(m.pieces) {
		return m.pieces[id]
	}
	if id == m.maskID {
		return "<mask>"
	}
	return ""
}

// PieceType returns the type of the piece with the given id (0 if out of
// range).
func (m *Model) PieceType(id int32) PieceType {
	if id >= 0 && int(id) < len(m.types) {
		return m.types[id]
	}
	return 0
}

// Score returns the score of the piece with the given id (0 if out of
// range).
func (m *Model) Score(id int32) float32 {
	if id >= 0 && int(id) < len(m.scores) {
		return m.scores[id]
	}
	return 0
}

// bestNode is the best path ending at a byte position of the normalised
// text.
type bestNode struct {
	score float32
	start int32 // -1: unset
	id    int32
}

// segment is one piece of the best path: bytes [start, end) of the
// normalised text, with its id.
type segment struct {
	start, end int32
	id         int32
}

type encodeScratch struct {
	norm []byte
	best []bestNode
	segs []segment
}

// viterbi finds the best segmentation of s.norm (the normalised text) into
// s.segs, following SentencePiece's optimised unigram encoder exactly,
// including its float32/float64 arithmetic.
func (m *Model) viterbi(s *encodeScratch) {
	text := s.norm
	size := len(text)
	if cap(s.best) < size+1 {
		s.best = make([]bestNode, size+1)
	}
	best := s.best[:size+1]
	for i := range best {
		best[i] = bestNode{start: -1}
	}
	best[0].start = 0 // value unused; marks the origin
	unkScore := m.minScore - unkPenalty
	trie := m.trie
	rootBase := unitOffset(trie[0])
	for start := 0; start < size; {
		here := best[start].score
		mblen := oneCharLen(text[start])
		if mblen > size-start {
			mblen = size - start
		}
		hasSingle := false
		pos := rootBase
		for k := start; k < size; k++ {
			c := uint32(text[k])
			pos ^= c
			if int(pos) >= len(trie) {
				break
			}
			u := trie[pos]
			if unitLabel(u) != c {
				break
			}
			pos ^= unitOffset(u)
			if !unitHasLeaf(u) {
				continue
			}
			id := unitValue(trie[pos])
			e := &m.search[id]
			end := k + 1
			length := end - start
			score := e.score
			if e.kind != searchNormal {
				if e.kind == searchUnused {
					continue
				}
				// A user-defined piece gets a bonus that makes it win; the
				// product is a float32 one, as in spm (size_t * float).
				score = float64(float32(length)*m.maxScore) - 0.1
			}
			cand := score + float64(here)
			tn := &best[end]
			if tn.start == -1 || cand > float64(tn.score) {
				tn.score = float32(cand)
				tn.start = int32(start)
				tn.id = id
			}
			if length == mblen {
				hasSingle = true
			}
		}
		if !hasSingle {
			tn := &best[start+mblen]
			cand := unkScore + here
			if tn.start == -1 || cand > tn.score {
				tn.score = cand
				tn.start = int32(start)
				tn.id = m.unkID
			}
		}
		start += mblen
	}
	// Backtrack, then reverse into forward order.
	segs := s.segs[:0]
	for end := size; end > 0; {
		n := best[end]
		segs = append(segs, segment{start: n.start, end: int32(end), id: n.id})
		end = int(n.start)
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	s.segs = segs
}

// oneCharLen is the length of the UTF-8 sequence a lead byte announces (1
// for a stray continuation byte), as SentencePiece computes it.
func oneCharLen(b byte) int {
	switch b >> 4 {
	case 0xc, 0xd:
		return 2
	case 0xe:
		return 3
	case 0xf:
		return 4
	}
	return 1
}

func (m *Model) getScratch(text string) *encodeScratch {
	s := m.scratch.Get().(*encodeScratch)
	s.norm = m.norm.AppendNormalized(s.norm[:0], text)
	m.viterbi(s)
	return s
}

// AppendIDs appends the ids of text's pieces to dst and returns it. It does
// not allocate once its internal buffers have grown to the longest line.
// Runs of unknown characters give one UnkID each run (or their bytes'
// <0xXX> ids when the model has byte fallback), as in SentencePiece.
func (m *Model) AppendIDs(dst []int32, text string) []int32 {
	s := m.getScratch(text)
	prevUnk := false
	for _, g := range s.segs {
		if g.id == m.unkID {
			if m.byteFallback {
				for _, b := range s.norm[g.start:g.end] {
					dst = append(dst, m.byteIDs[b])
				}
				prevUnk = true
				continue
			}
			if prevUnk {
				continue // merged into the previous unknown piece
			}
			prevUnk = true
		} else {
			prevUnk = false
		}
		dst = append(dst, g.id)
	}
	m.scratch.Put(s)
	return dst
}

// EncodeIDs returns the ids of text's pieces.
func (m *Model) EncodeIDs(text string) []int32 { return m.AppendIDs(nil, text) }

// Encode returns text's pieces as spm_encode prints them: an unknown
// stretch of text appears as itself (not as "<unk>"), or as its <0xXX>
// byte pieces when the model has byte fallback.
func (m *Model) Encode(text string) []string {
	s := m.getScratch(text)
	out := make([]string, 0, len(s.segs))
	prevUnk := false
	for _, g := range s.segs {
		if g.id != m.unkID {
			prevUnk = false
			out = append(out, m.pieces[g.id]) // the surface is the piece
			continue
		}
		if m.byteFallback {
			for _, b := range s.norm[g.start:g.end] {
				out = append(out, m.pieceOrByte(b))
			}
		} else if prevUnk {
			out[len(out)-1] += string(s.norm[g.start:g.end])
		} else {
			out = append(out, string(s.norm[g.start:g.end]))
		}
		prevUnk = true
	}
	m.scratch.Put(s)
	return out
}

// pieceOrByte returns the <0xXX> piece of b, or the unknown piece when the
// model lacks it.
func (m *Model) pieceOrByte(b byte) string {
	id := m.byteIDs[b]
	return m.pieces[id]
}

// Normalize returns text normalised as the model does before encoding.
func (m *Model) Normalize(text string) string { return m.norm.Normalize(text) }

// AppendPieceText appends text's pieces, separated by single spaces, to dst:
// one line of spm_encode --output_format=piece, without the newline.
func (m *Model) AppendPieceText(dst []byte, text string) []byte {
	s := m.getScratch(text)
	start := len(dst)
	sep := func() {
		if len(dst) > start {
			dst = append(dst, ' ')
		}
	}
	prevUnk := false
	for _, g := range s.segs {
		if g.id == m.unkID {
			if m.byteFallback {
				for _, b := range s.norm[g.start:g.end] {
					sep()
					dst = append(dst, m.pieceOrByte(b)...)
				}
				prevUnk = true
				continue
			}
			if !prevUnk {
				sep()
			}
			dst = append(dst, s.norm[g.start:g.end]...)
			prevUnk = true
			continue
		}
		prevUnk = false
		sep()
		dst = append(dst, s.norm[g.start:g.end]...)
	}
	m.scratch.Put(s)
	return dst
}

// clip shortens a piece quoted in an error message to its first 40 bytes,
// so that a malformed model cannot fill the terminal with one piece.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... (%d bytes)", len(s))
}
