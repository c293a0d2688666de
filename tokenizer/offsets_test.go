package tokenizer

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkOffsets asserts the contract of AppendIDsWithOffsets on one text:
// the ids are AppendIDs's, the normalised bytes are AppendNormalized's, and
// the spans are one per id, inside the text, non-decreasing and covering
// every non-whitespace character. It returns the spans.
func checkOffsets(t *testing.T, m *Model, label, text string) [][2]int {
	t.Helper()
	want := m.AppendIDs(nil, text)
	ids, spans := m.AppendIDsWithOffsets(nil, nil, text)
	if !slices.Equal(ids, want) {
		t.Fatalf("%s: %q: ids %v, AppendIDs gives %v", label, text, ids, want)
	}
	norm, from, to := m.norm.appendNormalizedOffsets(nil, nil, nil, text)
	if string(norm) != m.Normalize(text) || len(from) != len(norm) || len(to) != len(norm) {
		t.Fatalf("%s: %q: normalised with offsets to %q (%d/%d offsets), Normalize gives %q", label, text, norm, len(from), len(to), m.Normalize(text))
	}
	if len(spans) != len(ids) {
		t.Fatalf("%s: %q: %d spans for %d ids", label, text, len(spans), len(ids))
	}
	covered := make([]bool, len(text))
	for i, sp := range spans {
		if sp[0] < 0 || sp[0] > sp[1] || sp[1] > len(text) {
			t.Fatalf("%s: %q: span %d %v outside [0, %d] or reversed", label, text, i, sp, len(text))
		}
		if i > 0 && (sp[0] < spans[i-1][0] || sp[1] < spans[i-1][1]) {
			t.Fatalf("%s: %q: span %d %v before span %d %v", label, text, i, sp, i-1, spans[i-1])
		}
		for k := sp[0]; k < sp[1]; k++ {
			covered[k] = true
		}
	}
	for k, r := range text {
		// Whitespace: a space character, or one the normaliser turns into
		// spaces (U+200B under nmt_nfkc, for example).
		p, _ := m.norm.prefix(text[k:])
		white := unicode.IsSpace(r) || (p != "" && strings.Trim(p, " ") == "")
		if r == utf8.RuneError || !white {
			if !covered[k] {
				t.Fatalf("%s: %q: character %q at byte %d is in no span (spans %v)", label, text, r, k, spans)
			}
		}
	}
	return spans
}

// TestOffsetsTestCorpora trains a small model per language on the train
// corpus and checks every line of the held-out and the training corpus.
func TestOffsetsTestCorpora(t *testing.T) {
	langs := []string{"en", "de", "ru", "ja", "ko", "zh"}
	if testing.Short() {
		langs = []string{"en", "ja"}
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			o := DefaultTrainOptions()
			o.Inputs = []string{filepath.Join("testdata", lang+".train.txt")}
			o.VocabSize = 1000
			if lang == "ja" || lang == "zh" {
				o.VocabSize = 2000 // more required characters than 1000
			}
			o.NumThreads = 1
			o.ByteFallback = lang == "ja" // one corpus through the byte pieces
			p, _, err := Train(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewModel(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range []string{lang + ".test.txt", lang + ".train.txt"} {
				lines := readLines(t, filepath.Join("testdata", file))
				n := 0
				for i, line := range lines {
					spans := checkOffsets(t, m, file+" line "+itoa(i+1), line)
					n += len(spans)
				}
				t.Logf("%s: %d lines, %d ids checked", file, len(lines), n)
			}
		})
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// TestOffsetsHandMade checks exact spans on the small nmt_nfkc model of
// encode_test.go (pieces ▁ a b c ▁a ▁ab bc abc ▁abc).
func TestOffsetsHandMade(t *testing.T) {
	m := letheStyleModel(t, true)
	for _, tc := range []struct {
		name, text string
		want       [][2]int
	}{
		{"one piece", "abc", [][2]int{{0, 3}}},
		{"extra spaces removed", "  ab  c ", [][2]int{{2, 4}, {4, 5}, {6, 7}}},
		{"full-width letters", "ａｂｃ", [][2]int{{0, 9}}},
		{"invalid byte", "a\xffb", [][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}}}, // ▁ a <unk> b
		{"merged unknown run", "a日本", [][2]int{{0, 0}, {0, 1}, {1, 7}}},      // ▁ a <unk>
		{"dropped control character inside", "a\x01bc", [][2]int{{0, 4}}},
		{"dropped control character first", "\x01abc", [][2]int{{0, 4}}},
		{"dropped control character last", "abc\x01", [][2]int{{0, 4}}},
		{"tab is whitespace", "a\tb", [][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}}}, // ▁ a ▁ b
		{"empty", "", nil},
		{"only spaces", "   ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkOffsets(t, m, tc.name, tc.text)
			if !slices.Equal(got, tc.want) {
				ids := m.AppendIDs(nil, tc.text)
				pieces := make([]string, len(ids))
				for i, id := range ids {
					pieces[i] = m.IDToPiece(id)
				}
				t.Errorf("%q: pieces %q spans %v, want %v", tc.text, pieces, got, tc.want)
			}
		})
	}
}

// TestOffsetsNormalizerVariants checks the dummy prefix alone, a dummy
// suffix, kept extra whitespace and byte fallback.
func TestOffsetsNormalizerVariants(t *testing.T) {
	build := func(t *testing.T, edit func(ts *TrainerSpec, ns *NormalizerSpec), bytes bool) *Model {
		cm, err := BuildCharsmap(RuleNmtNFKC)
		if err != nil {
			t.Fatal(err)
		}
		ts := NewTrainerSpec()
		ts.BosID, ts.PadID, ts.EosID, ts.UnkID = 0, 1, 2, 3
		ts.ByteFallback = bytes
		pieces := []Piece{{Piece: "<s>", Type: Control}, {Piece: "<pad>", Type: Control}, {Piece: "</s>", Type: Control}, {Piece: "<unk>", Type: Unknown}}
		if bytes {
			for b := 0; b < 256; b++ {
				pieces = append(pieces, Piece{Piece: "<0x" + string("0123456789ABCDEF"[b>>4]) + string("0123456789ABCDEF"[b&15]) + ">", Type: Byte})
			}
		}
		for i, p := range []string{"▁", "a", "b", "c", "a▁", "ab▁", "x"} {
			pieces = append(pieces, Piece{Piece: p, Score: -float32(i + 1)})
		}
		ns := NewNormalizerSpec(RuleNmtNFKC, cm)
		edit(ts, ns)
		m, err := NewModel(&ModelProto{Pieces: pieces, TrainerSpec: ts, NormalizerSpec: ns})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		edit  func(ts *TrainerSpec, ns *NormalizerSpec)
		bytes bool
		text  string
		want  [][2]int
	}{
		{"dummy prefix alone", func(*TrainerSpec, *NormalizerSpec) {}, false, " x", [][2]int{{1, 1}, {1, 2}}},
		{"dummy suffix", func(ts *TrainerSpec, _ *NormalizerSpec) { ts.TreatWhitespaceAsSuffix = true }, false, "ab  c", [][2]int{{0, 3}, {4, 5}, {5, 5}}},
		{"extra whitespace kept", func(_ *TrainerSpec, ns *NormalizerSpec) { ns.RemoveExtraWhitespaces = false }, false, "a  b ", [][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}},
		{"no dummy prefix", func(_ *TrainerSpec, ns *NormalizerSpec) { ns.AddDummyPrefix = false }, false, "x a", [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{"byte fallback", func(*TrainerSpec, *NormalizerSpec) {}, true, "xé", [][2]int{{0, 0}, {0, 1}, {1, 3}, {1, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t, tc.edit, tc.bytes)
			got := checkOffsets(t, m, tc.name, tc.text)
			if !slices.Equal(got, tc.want) {
				ids := m.AppendIDs(nil, tc.text)
				pieces := make([]string, len(ids))
				for i, id := range ids {
					pieces[i] = m.IDToPiece(id)
				}
				t.Errorf("%q: pieces %q spans %v, want %v", tc.text, pieces, got, tc.want)
			}
		})
	}
}
