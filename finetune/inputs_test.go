package finetune

import (
	"slices"
	"strings"
	"testing"

	"lethe/internal/parallel"
	"lethe/tokenizer"
)

// textOfLength returns a text (a prefix of one of lines, cut at a rune
// boundary) that tok encodes to exactly n ids.
func textOfLength(t *testing.T, tok *tokenizer.Model, lines []string, n int) string {
	t.Helper()
	for _, l := range lines {
		for i := range l {
			if i == 0 {
				continue
			}
			p := strings.TrimSpace(l[:i])
			if len(tok.EncodeIDs(p)) == n {
				return p
			}
		}
	}
	t.Fatalf("no prefix of the test lines encodes to %d ids", n)
	return ""
}

// newClassifier returns an untrained classification model with the English
// tokenizer for sequences of maxLength tokens.
func newClassifier(t *testing.T, f *fixture, maxLength int) *Model {
	t.Helper()
	pool := parallel.New(1)
	t.Cleanup(pool.Close)
	cfg := f.baseCfg
	m, err := New(cfg, Spec{Kind: Classification, Labels: []string{"a", "b"}, MaxLength: maxLength}, f.enRaw, 1, pool)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEncodeClassification checks the input layout on ids worked out by hand:
// "<s> A </s>" or "<s> A </s></s> B </s>" (<s>=0, </s>=2), the longer text
// cut first until both fit, the rest <pad> (=1). Where both texts must be
// cut and the room is odd, Hugging Face's fast tokenizer (what RoBERTa
// fine-tuning uses) gives the extra token to the text that was longer, or to
// the second text when they were equally long.
func TestEncodeClassification(t *testing.T) {
	f := shared(t)
	const bos, pad, eos = 0, 1, 2
	tests := []struct {
		name       string
		T          int
		na, nb     int  // ids of the two texts
		pair       bool // a text pair
		keepA      int  // ids of A kept
		keepB      int  // ids of B kept
		wantPadded int  // <pad> at the end
	}{
		{"single fits", 10, 5, 0, false, 5, 0, 3},
		{"single fills exactly", 10, 8, 0, false, 8, 0, 0},
		{"single truncated", 10, 12, 0, false, 8, 0, 0},
		{"pair fits", 16, 5, 3, true, 5, 3, 4},
		{"pair fills exactly", 10, 3, 3, true, 3, 3, 0},
		// room 6: A loses 7 ids (10->3), B keeps its 3.
		{"pair, long first text", 10, 10, 3, true, 3, 3, 0},
		{"pair, long second text", 10, 3, 10, true, 3, 3, 0},
		// room 7, both cut: 8+4 -> the longer A keeps 4, B 3.
		{"pair, both cut, first longer", 11, 8, 4, true, 4, 3, 0},
		// room 7, both cut: 4+8 -> A 3, the longer B 4.
		{"pair, both cut, second longer", 11, 4, 8, true, 3, 4, 0},
		// room 7, equal lengths: A 3, B 4.
		{"pair, both cut, equal", 11, 5, 5, true, 3, 4, 0},
		// room 8: equal halves.
		{"pair, both cut, even room", 12, 9, 6, true, 4, 4, 0},
	}
	var a, b []int32 // scratch buffers, reused across cases as the callers do
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newClassifier(t, f, tc.T)
			textA := textOfLength(t, m.Tok, f.en, tc.na)
			textB := ""
			if tc.pair {
				textB = textOfLength(t, m.Tok, f.en[10:], tc.nb)
			}
			idsA, idsB := m.Tok.EncodeIDs(textA), m.Tok.EncodeIDs(textB)
			want := []int32{bos}
			want = append(want, idsA[:tc.keepA]...)
			want = append(want, eos)
			if tc.pair {
				want = append(want, eos)
				want = append(want, idsB[:tc.keepB]...)
				want = append(want, eos)
			}
			for range tc.wantPadded {
				want = append(want, pad)
			}
			if len(want) != tc.T {
				t.Fatalf("bad test case: expected row has %d ids, T = %d", len(want), tc.T)
			}
			row := make([]int32, tc.T)
			for i := range row {
				row[i] = -7 // anything not written shows
			}
			a, b = m.encodeClassification(row, a, b, textA, textB, tc.pair)
			if !slices.Equal(row, want) {
				t.Errorf("A %v\nB %v\ngot  %v\nwant %v", idsA, idsB, row, want)
			}
		})
	}
}
