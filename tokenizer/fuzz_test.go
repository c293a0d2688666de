package tokenizer

import (
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzParseModel feeds arbitrary bytes to ParseModelProto and NewModel, the
// path of every .model file Lethe loads: an error or a model, never a panic;
// a model it accepts encodes a sentence to ids inside its vocabulary.
func FuzzParseModel(f *testing.F) {
	m := letheStyleModel(f, true)
	f.Add(m.Proto().Marshal())
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x03, 'a', 'b', 'c'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseModelProto(data)
		if err != nil {
			return
		}
		model, err := NewModel(p)
		if err != nil {
			return
		}
		for _, id := range model.AppendIDs(nil, "abc bca ▁x") {
			if id < 0 || int(id) >= model.VocabSize() {
				t.Fatalf("id %d outside the vocabulary of %d", id, model.VocabSize())
			}
		}
	})
}

// FuzzEncode encodes arbitrary text, the SentencePiece input Lethe reads:
// no panic, ids inside the vocabulary, and for valid UTF-8 the offsets
// within the text.
func FuzzEncode(f *testing.F) {
	m := letheStyleModel(f, true)
	if raw, err := os.ReadFile("testdata/en.test.txt"); err == nil && len(raw) > 2000 {
		f.Add(string(raw[:2000]))
	}
	for _, s := range []string{"", " ", "abc", "ａｂｃ \u00a0 tab\there", "\xff\xfe bad", "▁▁▁", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, id := range m.AppendIDs(nil, text) {
			if id < 0 || int(id) >= m.VocabSize() {
				t.Fatalf("id %d outside the vocabulary of %d", id, m.VocabSize())
			}
		}
		if !utf8.ValidString(text) {
			return
		}
		_ = m.AppendPieceText(nil, text)
	})
}
