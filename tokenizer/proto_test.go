package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelProtoRoundTripSpm checks that models written by spm_train decode
// and re-encode byte for byte, and that the decoded fields are right.
func TestModelProtoRoundTripSpm(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		check func(t *testing.T, m *ModelProto)
	}{
		{"default", []string{"--vocab_size=800"}, func(t *testing.T, m *ModelProto) {
			ts := m.TrainerSpec
			if len(m.Pieces) != 800 || ts.VocabSize != 800 || ts.ModelType != ModelTypeUnigram {
				t.Errorf("pieces %d vocab %d type %d", len(m.Pieces), ts.VocabSize, ts.ModelType)
			}
			if ts.UnkID != 0 || ts.BosID != 1 || ts.EosID != 2 || ts.PadID != -1 {
				t.Errorf("ids unk %d bos %d eos %d pad %d", ts.UnkID, ts.BosID, ts.EosID, ts.PadID)
			}
			if m.Pieces[0].Piece != "<unk>" || m.Pieces[0].Type != Unknown || m.Pieces[1].Type != Control || m.Pieces[5].Type != Normal {
				t.Errorf("pieces %+v %+v %+v", m.Pieces[0], m.Pieces[1], m.Pieces[5])
			}
			if m.NormalizerSpec.Name != "nmt_nfkc" || !m.NormalizerSpec.AddDummyPrefix || len(m.NormalizerSpec.PrecompiledCharsmap) == 0 {
				t.Errorf("normalizer %q dummy %v charsmap %d", m.NormalizerSpec.Name, m.NormalizerSpec.AddDummyPrefix, len(m.NormalizerSpec.PrecompiledCharsmap))
			}
			if ts.CharacterCoverage != 0.9995 || ts.UnkSurface != " \u2047 " {
				t.Errorf("coverage %v surface %q", ts.CharacterCoverage, ts.UnkSurface)
			}
		}},
		{"special", []string{"--vocab_size=600", "--byte_fallback=true", "--control_symbols=<mask>,<x>",
			"--user_defined_symbols=foo,bar", "--pad_id=3", "--unk_id=1", "--bos_id=0", "--eos_id=2",
			"--split_digits=true", "--treat_whitespace_as_suffix=false", "--max_sentencepiece_length=8",
			"--shrinking_factor=0.8", "--num_sub_iterations=3", "--remove_extra_whitespaces=false"}, func(t *testing.T, m *ModelProto) {
			ts := m.TrainerSpec
			if !ts.ByteFallback || !ts.SplitDigits || ts.MaxSentencepieceLength != 8 || ts.ShrinkingFactor != 0.8 || ts.NumSubIterations != 3 {
				t.Errorf("trainer spec %+v", ts)
			}
			if strings.Join(ts.ControlSymbols, ",") != "<mask>,<x>" || strings.Join(ts.UserDefinedSymbols, ",") != "foo,bar" {
				t.Errorf("symbols %q %q", ts.ControlSymbols, ts.UserDefinedSymbols)
			}
			if ts.PadID != 3 || ts.UnkID != 1 || m.Pieces[3].Piece != "<pad>" || m.Pieces[4].Piece != "<mask>" || m.Pieces[4].Type != Control {
				t.Errorf("pad %d unk %d pieces %v %v", ts.PadID, ts.UnkID, m.Pieces[3], m.Pieces[4])
			}
			if m.NormalizerSpec.RemoveExtraWhitespaces {
				t.Error("remove_extra_whitespaces read as true")
			}
			bytesSeen := 0
			for _, p := range m.Pieces {
				if p.Type == Byte {
					bytesSeen++
				}
			}
			if bytesSeen != 256 {
				t.Errorf("%d byte pieces", bytesSeen)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := trainSpm(t, dir, tc.name, []string{filepath.Join("testdata", "de.train.txt")}, tc.args...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ReadModelProto(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			if out := m.Marshal(); !bytes.Equal(out, data) {
				t.Errorf("re-encoded model differs: %d bytes vs %d", len(out), len(data))
			}
		})
	}
}

// TestModelProtoUnknownFields checks that fields the codec does not know
// survive a round trip at every level.
func TestModelProtoUnknownFields(t *testing.T) {
	m := &ModelProto{
		Pieces:         []Piece{{Piece: "<unk>", Type: Unknown}, {Piece: "▁a", Score: -1.5}},
		TrainerSpec:    NewTrainerSpec(),
		NormalizerSpec: NewNormalizerSpec("identity", nil),
	}
	data := m.Marshal()
	// Append unknown fields: top-level 99 (varint), and re-wrap a piece with
	// an unknown field 7 (string).
	data = appendKey(data, 99, wireVarint)
	data = appendVarint(data, 12345)
	piece := appendStringField(nil, 1, "x")
	piece = appendFloatField(piece, 2, -2)
	piece = appendStringField(piece, 7, "kept")
	data = appendBytesField(data, 1, piece)
	ts := appendKey(nil, 77, wireI64)
	ts = append(ts, 1, 2, 3, 4, 5, 6, 7, 8)
	data = appendBytesField(data, 2, ts) // a second trainer_spec: merged by proto, replaced here

	got, err := ParseModelProto(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pieces) != 3 || got.Pieces[2].Piece != "x" || got.Pieces[2].Score != -2 {
		t.Fatalf("pieces %+v", got.Pieces)
	}
	out := got.Marshal()
	for _, want := range [][]byte{appendVarint(appendKey(nil, 99, wireVarint), 12345), appendStringField(nil, 7, "kept"), {1, 2, 3, 4, 5, 6, 7, 8}} {
		if !bytes.Contains(out, want) {
			t.Errorf("unknown field % x lost", want)
		}
	}
	again, err := ParseModelProto(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Marshal(), out) {
		t.Error("second round trip differs")
	}
}

// TestModelProtoBadFiles checks that truncated and foreign files give an
// error naming the file and a byte offset.
func TestModelProtoBadFiles(t *testing.T) {
	good := (&ModelProto{Pieces: []Piece{{Piece: "<unk>", Type: Unknown}, {Piece: "▁abc", Score: -1}}}).Marshal()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"), "byte "},
		{"text", []byte("hello world, this is not a model\n"), "byte "},
		{"json", []byte(`{"pieces": ["a", "b"]}`), "byte 0"},
		{"truncated", good[:len(good)-3], "byte "},
		{"empty", nil, "no pieces"},
		{"bad-type", appendBytesField(nil, 1, append(appendStringField(nil, 1, "a"), 0x18, 9)), "piece type 9"},
		{"wrong-wire", appendFloatField(nil, 1, 1), "wire type 5"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".model")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadModelProto(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want the file name and %q", err, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
			if _, err := Load(path); err == nil {
				t.Error("Load: no error")
			}
		})
	}
	if _, err := ReadModelProto(filepath.Join(dir, "missing.model")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestModelProtoWriteRead checks a model built in code: defaults are left
// out of the file, set fields come back.
func TestModelProtoWriteRead(t *testing.T) {
	ts := NewTrainerSpec()
	ts.VocabSize = 8000 // the default: not written
	ts.PadID = 1
	ts.ControlSymbols = []string{"<mask>"}
	cm, err := BuildCharsmap(RuleNmtNFKC)
	if err != nil {
		t.Fatal(err)
	}
	m := &ModelProto{
		Pieces:         []Piece{{Piece: "<s>", Type: Control}, {Piece: "<pad>", Type: Control}, {Piece: "</s>", Type: Control}, {Piece: "<unk>", Type: Unknown}, {Piece: "<mask>", Type: Control}, {Piece: "▁", Score: -2}},
		TrainerSpec:    ts,
		NormalizerSpec: NewNormalizerSpec(RuleNmtNFKC, cm),
	}
	path := filepath.Join(t.TempDir(), "x.model")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadModelProto(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.TrainerSpec.seen[4] || got.TrainerSpec.VocabSize != 8000 || got.TrainerSpec.PadID != 1 || got.TrainerSpec.ControlSymbols[0] != "<mask>" {
		t.Errorf("trainer spec: %+v", got.TrainerSpec)
	}
	if !bytes.Equal(got.NormalizerSpec.PrecompiledCharsmap, cm) || got.Pieces[5].Score != -2 || got.Pieces[4].Type != Control {
		t.Error("normalizer or pieces changed")
	}
	// spm reads it: spm_encode uses the pieces and our charsmap.
	lines := runSpm(t, "spm_encode", []byte("ＡＢ\n"), "--model="+path, "--output_format=id")
	if len(lines) != 1 {
		t.Fatalf("spm_encode output %q", lines)
	}
}
