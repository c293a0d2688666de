// Package tokenizer is a SentencePiece-compatible unigram tokenizer.
//
// It reads and writes SentencePiece .model files (the ModelProto protobuf,
// through a hand-written wire codec that keeps unknown fields, so that a file
// written by spm_train round-trips byte for byte), normalises text as
// SentencePiece does (the precompiled charsmap carried in the model, then the
// whitespace rules), encodes with the same Viterbi search and arithmetic as
// SentencePiece's unigram model, and decodes as spm_decode does. Encoding
// output equals spm_encode's, piece for piece and id for id; the tests check
// this against the installed spm tools on held-out text in six languages.
//
// It also builds charsmaps (nmt_nfkc, nfkc, identity) in the darts-clone
// double-array format SentencePiece parses, so that a model made by Lethe's
// trainer (train*.go) normalises identically in spm_encode.
//
// Entry points: Load / NewModel give a *Model (Encode, EncodeIDs, AppendIDs,
// Decode, DecodePieces, PieceToID, IDToPiece and the RoBERTa special ids of
// docs/ARCHITECTURE.md); ReadModelProto / ParseModelProto / ModelProto.Marshal
// for the file; NewNormalizer, BuildCharsmap, CompileCharsmap and
// ParseCharsmap for normalisation.
package tokenizer

import (
	"fmt"
	"math"
	"os"
)

// PieceType is the type of a vocabulary piece (SentencePiece's
// ModelProto.SentencePiece.Type).
type PieceType int32

// Piece types, numbered as in sentencepiece_model.proto.
const (
	// Normal is an ordinary piece, found by the Viterbi search.
	Normal PieceType = 1
	// Unknown is the <unk> piece.
	Unknown PieceType = 2
	// Control is a piece such as <s>, </s>, <pad> or <mask>: never produced by
	// encoding text, decoded to nothing.
	Control PieceType = 3
	// UserDefined is a piece always matched as a whole where it occurs in text.
	UserDefined PieceType = 4
	// Unused is a piece kept in the vocabulary but never produced.
	Unused PieceType = 5
	// Byte is a byte-fallback piece <0xXX>.
	Byte PieceType = 6
)

// String returns the proto name of the type.
func (t PieceType) String() string {
	switch t {
	case Normal:
		return "NORMAL"
	case Unknown:
		return "UNKNOWN"
	case Control:
		return "CONTROL"
	case UserDefined:
		return "USER_DEFINED"
	case Unused:
		return "UNUSED"
	case Byte:
		return "BYTE"
	}
	return fmt.Sprintf("PieceType(%d)", int32(t))
}

// Model types of TrainerSpec.ModelType.
const (
	ModelTypeUnigram = 1
	ModelTypeBPE     = 2
	ModelTypeWord    = 3
	ModelTypeChar    = 4
)

// Piece is one vocabulary entry (ModelProto.SentencePiece).
type Piece struct {
	Piece string    // the piece text, with U+2581 for spaces
	Score float32   // log probability for unigram models
	Type  PieceType // zero is read as Normal

	typeSeen bool   // type was present in the file
	absent   uint8  // bit 0: piece absent in the file, bit 1: score absent
	unknown  []byte // fields this codec does not know
}

// TrainerSpec holds the training options recorded in a model
// (sentencepiece.TrainerSpec). Field names follow the proto names.
type TrainerSpec struct {
	Input                                []string `pb:"1,strings"`
	InputFormat                          string   `pb:"7,string"`
	ModelPrefix                          string   `pb:"2,string"`
	ModelType                            int32    `pb:"3,enum"`
	VocabSize                            int32    `pb:"4,int32"`
	AcceptLanguage                       []string `pb:"5,strings"`
	SelfTestSampleSize                   int32    `pb:"6,int32"`
	EnableDifferentialPrivacy            bool     `pb:"50,bool"`
	DifferentialPrivacyNoiseLevel        float32  `pb:"51,float"`
	DifferentialPrivacyClippingThreshold uint64   `pb:"52,uint64"`
	CharacterCoverage                    float32  `pb:"10,float"`
	InputSentenceSize                    uint64   `pb:"11,uint64"`
	ShuffleInputSentence                 bool     `pb:"19,bool"`
	MiningSentenceSize                   int32    `pb:"12,int32"`
	TrainingSentenceSize                 int32    `pb:"13,int32"`
	SeedSentencepieceSize                int32    `pb:"14,int32"`
	ShrinkingFactor                      float32  `pb:"15,float"`
	MaxSentenceLength                    int32    `pb:"18,int32"`
	NumThreads                           int32    `pb:"16,int32"`
	NumSubIterations                     int32    `pb:"17,int32"`
	MaxSentencepieceLength               int32    `pb:"20,int32"`
	SplitByUnicodeScript                 bool     `pb:"21,bool"`
	SplitByNumber                        bool     `pb:"23,bool"`
	SplitByWhitespace                    bool     `pb:"22,bool"`
	TreatWhitespaceAsSuffix              bool     `pb:"24,bool"`
	AllowWhitespaceOnlyPieces            bool     `pb:"26,bool"`
	SplitDigits                          bool     `pb:"25,bool"`
	ControlSymbols                       []string `pb:"30,strings"`
	UserDefinedSymbols                   []string `pb:"31,strings"`
	RequiredChars                        string   `pb:"36,string"`
	ByteFallback                         bool     `pb:"35,bool"`
	VocabularyOutputPieceScore           bool     `pb:"32,bool"`
	HardVocabLimit                       bool     `pb:"33,bool"`
	UseAllVocab                          bool     `pb:"34,bool"`
	UnkID                                int32    `pb:"40,int32"`
	BosID                                int32    `pb:"41,int32"`
	EosID                                int32    `pb:"42,int32"`
	PadID                                int32    `pb:"43,int32"`
	UnkPiece                             string   `pb:"45,string"`
	BosPiece                             string   `pb:"46,string"`
	EosPiece                             string   `pb:"47,string"`
	PadPiece                             string   `pb:"48,string"`
	UnkSurface                           string   `pb:"44,string"`
	TrainExtremelyLargeCorpus            bool     `pb:"49,bool"`

	seen    map[int]bool
	unknown []byte
}

// NewTrainerSpec returns a TrainerSpec holding the proto defaults (those
// spm_train uses when no flag is given).
func NewTrainerSpec() *TrainerSpec {
	return &TrainerSpec{
		ModelType:                  ModelTypeUnigram,
		VocabSize:                  8000,
		CharacterCoverage:          0.9995,
		ShuffleInputSentence:       true,
		SeedSentencepieceSize:      1000000,
		ShrinkingFactor:            0.75,
		MaxSentenceLength:          4192,
		NumThreads:                 16,
		NumSubIterations:           2,
		MaxSentencepieceLength:     16,
		SplitByUnicodeScript:       true,
		SplitByNumber:              true,
		SplitByWhitespace:          true,
		VocabularyOutputPieceScore: true,
		HardVocabLimit:             true,
		UnkID:                      0,
		BosID:                      1,
		EosID:                      2,
		PadID:                      -1,
		UnkPiece:                   "<unk>",
		BosPiece:                   "<s>",
		EosPiece:                   "</s>",
		PadPiece:                   "<pad>",
		UnkSurface:                 " \u2047 ",
	}
}

// NormalizerSpec holds the normalisation rules of a model
// (sentencepiece.NormalizerSpec). It is also used for the denormalizer.
type NormalizerSpec struct {
	// Name is the rule name: "nmt_nfkc", "nfkc", "identity", ... (informative;
	// the rules are in PrecompiledCharsmap).
	Name string `pb:"1,string"`
	// PrecompiledCharsmap is the compiled mapping: a darts-clone double array
	// over UTF-8 source strings and a blob of NUL-terminated replacements.
	PrecompiledCharsmap []byte `pb:"2,bytes"`
	// AddDummyPrefix adds a space at the start of the text.
	AddDummyPrefix bool `pb:"3,bool"`
	// RemoveExtraWhitespaces drops leading, trailing and repeated spaces.
	RemoveExtraWhitespaces bool `pb:"4,bool"`
	// EscapeWhitespaces replaces spaces by U+2581.
	EscapeWhitespaces bool `pb:"5,bool"`
	// NormalizationRuleTSV is the rule source, when the model was trained
	// from a TSV file of rules.
	NormalizationRuleTSV string `pb:"6,string"`

	seen    map[int]bool
	unknown []byte
}

// NewNormalizerSpec returns a NormalizerSpec holding the proto defaults and
// the given rule name and compiled charsmap.
func NewNormalizerSpec(name string, charsmap []byte) *NormalizerSpec {
	return &NormalizerSpec{
		Name:                   name,
		PrecompiledCharsmap:    charsmap,
		AddDummyPrefix:         true,
		RemoveExtraWhitespaces: true,
		EscapeWhitespaces:      true,
	}
}

// ModelProto is a whole SentencePiece model file (sentencepiece.ModelProto).
// Nil specs are absent from the file.
type ModelProto struct {
	Pieces           []Piece
	TrainerSpec      *TrainerSpec
	NormalizerSpec   *NormalizerSpec
	DenormalizerSpec *NormalizerSpec
	// SelfTestData is the raw encoded SelfTestData message, kept as is.
	SelfTestData []byte

	unknown []byte
}

// ReadModelProto reads and decodes a SentencePiece .model file. Errors name
// the file and the byte offset where decoding failed.
func ReadModelProto(path string) (*ModelProto, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: reading model: %w", err)
	}
	m, err := ParseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not a valid SentencePiece model: %w", path, err)
	}
	return m, nil
}

// ParseModelProto decodes a serialised ModelProto. It fails on malformed
// protobuf, on fields of the wrong wire type and on data with no pieces (a
// foreign file that happens to parse).
func ParseModelProto(data []byte) (*ModelProto, error) {
	r := &wireReader{buf: data, msg: "ModelProto"}
	m := &ModelProto{}
	for !r.done() {
		num, wt, start, err := r.key()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1, 2, 3, 4, 5:
			if err := r.expectWire(num, wt, wireLen, start); err != nil {
				return nil, err
			}
			b, off, err := r.bytes()
			if err != nil {
				return nil, err
			}
			switch num {
			case 1:
				p, err := parsePiece(b, off)
				if err != nil {
					return nil, err
				}
				m.Pieces = append(m.Pieces, p)
			case 2:
				ts := NewTrainerSpec()
				ts.seen = map[int]bool{}
				if err := decodeFlat(&wireReader{buf: b, base: off, msg: "TrainerSpec"}, ts, ts.seen, &ts.unknown); err != nil {
					return nil, err
				}
				m.TrainerSpec = ts
			case 3, 5:
				ns := NewNormalizerSpec("", nil)
				ns.seen = map[int]bool{}
				if err := decodeFlat(&wireReader{buf: b, base: off, msg: "NormalizerSpec"}, ns, ns.seen, &ns.unknown); err != nil {
					return nil, err
				}
				if num == 3 {
					m.NormalizerSpec = ns
				} else {
					m.DenormalizerSpec = ns
				}
			case 4:
				m.SelfTestData = append([]byte{}, b...)
			}
		default:
			raw, err := r.skip(wt, start)
			if err != nil {
				return nil, err
			}
			m.unknown = append(m.unknown, raw...)
		}
	}
	if len(m.Pieces) == 0 {
		return nil, &wireError{off: 0, msg: errNoPieces.Error()}
	}
	return m, nil
}

func parsePiece(b []byte, base int) (Piece, error) {
	r := &wireReader{buf: b, base: base, msg: "SentencePiece"}
	p := Piece{Type: Normal, absent: 3}
	for !r.done() {
		num, wt, start, err := r.key()
		if err != nil {
			return p, err
		}
		switch num {
		case 1:
			if err := r.expectWire(num, wt, wireLen, start); err != nil {
				return p, err
			}
			s, _, err := r.bytes()
			if err != nil {
				return p, err
			}
			p.Piece = string(s)
			p.absent &^= 1
		case 2:
			if err := r.expectWire(num, wt, wireI32, start); err != nil {
				return p, err
			}
			x, err := r.fixed32()
			if err != nil {
				return p, err
			}
			p.Score = math.Float32frombits(x)
			p.absent &^= 2
		case 3:
			if err := r.expectWire(num, wt, wireVarint, start); err != nil {
				return p, err
			}
			x, err := r.varint()
			if err != nil {
				return p, err
			}
			t := PieceType(int32(x))
			if t < Normal || t > Byte {
				return p, r.errf(start, "piece type %d: expected 1..6 (NORMAL..BYTE)", int32(x))
			}
			p.Type = t
			p.typeSeen = true
		default:
			raw, err := r.skip(wt, start)
			if err != nil {
				return p, err
			}
			p.unknown = append(p.unknown, raw...)
		}
	}
	return p, nil
}

// Marshal encodes the model as protobuf, fields in number order as the C++
// protobuf library writes them.
func (m *ModelProto) Marshal() []byte {
	var b []byte
	var tmp []byte
	for i := range m.Pieces {
		tmp = m.Pieces[i].appendTo(tmp[:0])
		b = appendBytesField(b, 1, tmp)
	}
	if m.TrainerSpec != nil {
		tmp = encodeFlat(tmp[:0], m.TrainerSpec, NewTrainerSpec(), m.TrainerSpec.seen, m.TrainerSpec.unknown)
		b = appendBytesField(b, 2, tmp)
	}
	if m.NormalizerSpec != nil {
		tmp = m.NormalizerSpec.appendTo(tmp[:0])
		b = appendBytesField(b, 3, tmp)
	}
	if m.SelfTestData != nil {
		b = appendBytesField(b, 4, m.SelfTestData)
	}
	if m.DenormalizerSpec != nil {
		tmp = m.DenormalizerSpec.appendTo(tmp[:0])
		b = appendBytesField(b, 5, tmp)
	}
	return append(b, m.unknown...)
}

func (s *NormalizerSpec) appendTo(b []byte) []byte {
	return encodeFlat(b, s, NewNormalizerSpec("", nil), s.seen, s.unknown)
}

func (p *Piece) appendTo(b []byte) []byte {
	if p.absent&1 == 0 {
		b = appendStringField(b, 1, p.Piece)
	}
	if p.absent&2 == 0 || p.Score != 0 {
		b = appendFloatField(b, 2, p.Score)
	}
	if p.typeSeen || (p.Type != Normal && p.Type != 0) {
		t := p.Type
		if t == 0 {
			t = Normal
		}
		b = appendKey(b, 3, wireVarint)
		b = appendVarint(b, uint64(t))
	}
	return append(b, p.unknown...)
}

// WriteFile writes the encoded model to path (through a temporary file in
// the same directory, renamed into place).
func (m *ModelProto) WriteFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, m.Marshal(), 0o644); err != nil {
		return fmt.Errorf("tokenizer: writing model: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tokenizer: writing model: %w", err)
	}
	return nil
}
