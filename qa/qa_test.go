package qa

import (
	"math"
	"strings"
	"testing"

	"lethe/tokenizer"
)

// testTokenizer builds a small unigram model (identity normalisation) in
// which every lowercase letter preceded by a space is one piece "▁x", so a
// context of single-letter words has one token per word, and a few CJK
// characters are pieces of their own.
func testTokenizer(t *testing.T) *tokenizer.Model {
	t.Helper()
	ts := tokenizer.NewTrainerSpec()
	ts.BosID, ts.PadID, ts.EosID, ts.UnkID = 0, 1, 2, 3
	pieces := []tokenizer.Piece{{Piece: "<s>", Type: tokenizer.Control}, {Piece: "<pad>", Type: tokenizer.Control},
		{Piece: "</s>", Type: tokenizer.Control}, {Piece: "<unk>", Type: tokenizer.Unknown}, {Piece: "<mask>", Type: tokenizer.Control}}
	pieces = append(pieces, tokenizer.Piece{Piece: "▁", Score: -5})
	for c := 'a'; c <= 'z'; c++ {
		pieces = append(pieces, tokenizer.Piece{Piece: string(c), Score: -4}, tokenizer.Piece{Piece: "▁" + string(c), Score: -1})
	}
	for _, c := range []string{"日", "本", "語", "は", "難", "し", "い", "。", "?"} {
		pieces = append(pieces, tokenizer.Piece{Piece: c, Score: -2})
	}
	m, err := tokenizer.NewModel(&tokenizer.ModelProto{Pieces: pieces, TrainerSpec: ts, NormalizerSpec: tokenizer.NewNormalizerSpec("identity", nil)})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// letters returns n single-letter words "a b c ... " cycling through the
// alphabet, and the byte offset of word i (2*i).
func letters(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(byte('a' + i%26))
	}
	return b.String()
}

// contextRange returns the index of a window's first context token (a
// token with a span) and how many there are.
func contextRange(t *testing.T, w Window) (first, n int) {
	t.Helper()
	first = -1
	for k, sp := range w.ContextSpans {
		if sp[0] >= 0 {
			if first < 0 {
				first = k
			}
			n++
		}
	}
	return first, n
}

func TestWindowsOverlapAndTargets(t *testing.T) {
	tok := testTokenizer(t)
	// 24 one-token words; question "q r" is 2 tokens; MaxLen 16 leaves
	// 16-4-2 = 10 context tokens per window; stride 3: windows start at
	// context tokens 0, 7 and 14 and the last one ends at 24.
	ctx := letters(24)
	opts := Options{MaxLen: 16, DocStride: 3, MaxQueryLen: 4}
	word := func(i int) (start int, text string) { return 2 * i, ctx[2*i : 2*i+1] }
	span := func(i, j int) (int, string) { // words i..j
		s, _ := word(i)
		return s, ctx[s : 2*j+1]
	}
	type want struct{ start, end int32 }
	for _, tc := range []struct {
		name      string
		from, to  int // answer words
		wantByWin []want
	}{
		// Words 11-12 lie only in the second window [7, 17): context index
		// 11 is token 1+2+2 + (11-7) = 9.
		{"in the second of three", 11, 12, []want{{0, 0}, {9, 10}, {0, 0}}},
		// Words 9-10 straddle the first window's end (it holds 0-9); the
		// second window holds both.
		{"straddles the first window's edge", 9, 10, []want{{0, 0}, {7, 8}, {0, 0}}},
		// Words 6-11: longer than the overlap, whole in no window.
		{"whole in no window", 6, 11, []want{{0, 0}, {0, 0}, {0, 0}}},
		// Words 15-16 lie in the second [7, 17) and the third [14, 24).
		{"in two windows", 15, 16, []want{{0, 0}, {13, 14}, {6, 7}}},
		// Word 0 at the very start: token 5 of the first window.
		{"first word", 0, 0, []want{{5, 5}, {0, 0}, {0, 0}}},
		// The last word, the last context token of the last window.
		{"last word", 23, 23, []want{{0, 0}, {0, 0}, {14, 14}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, text := span(tc.from, tc.to)
			ex := []Example{{ID: "x", Question: "  q r", Context: ctx, AnswerStart: start, AnswerText: text}}
			ws, err := Windows(tok, ex, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 3 {
				t.Fatalf("%d windows, want 3", len(ws))
			}
			wantStarts := []int{0, 7, 14}
			wantLens := []int{10, 10, 10}
			ids := tok.EncodeIDs(ctx)
			for k, w := range ws {
				if len(w.IDs) != opts.MaxLen || len(w.ContextSpans) != opts.MaxLen {
					t.Fatalf("window %d: %d ids, %d spans, want %d", k, len(w.IDs), len(w.ContextSpans), opts.MaxLen)
				}
				q := tok.EncodeIDs("q r")
				head := append(append([]int32{tok.BosID()}, q...), tok.EosID(), tok.EosID())
				for i, id := range head {
					if w.IDs[i] != id {
						t.Fatalf("window %d: ids %v, want the prefix %v", k, w.IDs, head)
					}
				}
				first, n := contextRange(t, w)
				if first != len(head) || n != wantLens[k] {
					t.Fatalf("window %d: context tokens at %d (%d of them), want at %d (%d)", k, first, n, len(head), wantLens[k])
				}
				for i := range n {
					if w.IDs[first+i] != ids[wantStarts[k]+i] {
						t.Fatalf("window %d: context token %d is %d, want context token %d = %d", k, i, w.IDs[first+i], wantStarts[k]+i, ids[wantStarts[k]+i])
					}
					// Every context token's span ends at its letter.
					sp := w.ContextSpans[first+i]
					if got, want := strings.TrimSpace(ctx[sp[0]:sp[1]]), ctx[2*(wantStarts[k]+i):2*(wantStarts[k]+i)+1]; got != want {
						t.Fatalf("window %d token %d: span %v is %q, want %q", k, first+i, sp, got, want)
					}
				}
				if w.IDs[first+n] != tok.EosID() {
					t.Fatalf("window %d: %d after the context, want </s>", k, w.IDs[first+n])
				}
				for i := first + n + 1; i < opts.MaxLen; i++ {
					if w.IDs[i] != tok.PadID() {
						t.Fatalf("window %d: id %d at %d, want <pad> %d", k, w.IDs[i], i, tok.PadID())
					}
				}
				if got := (want{w.StartPos, w.EndPos}); got != tc.wantByWin[k] {
					t.Errorf("window %d: targets %v, want %v", k, got, tc.wantByWin[k])
				}
				if w.StartPos != 0 { // the targets cover the answer text
					a, b := w.ContextSpans[w.StartPos][0], w.ContextSpans[w.EndPos][1]
					if got := strings.TrimSpace(ctx[a:b]); got != text {
						t.Errorf("window %d: target tokens hold %q, want %q", k, got, text)
					}
				}
			}
			// Consecutive windows share exactly DocStride context tokens.
			for k := 1; k < len(ws); k++ {
				if prevEnd := wantStarts[k-1] + wantLens[k-1]; prevEnd-wantStarts[k] != opts.DocStride {
					t.Fatalf("windows %d and %d overlap by %d tokens, want %d", k-1, k, prevEnd-wantStarts[k], opts.DocStride)
				}
			}
		})
	}
}

func TestWindowsShortContextAndQuestionTruncation(t *testing.T) {
	tok := testTokenizer(t)
	ctx := letters(5)
	ex := []Example{
		{ID: "a", Question: "a b c d e f g h", Context: ctx, AnswerStart: 4, AnswerText: "c"},
		{ID: "b", Question: "z", Context: ctx, AnswerStart: -1},
	}
	ws, err := Windows(tok, ex, Options{MaxLen: 16, DocStride: 3, MaxQueryLen: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].ExampleIndex != 0 || ws[1].ExampleIndex != 1 {
		t.Fatalf("windows %+v: want one per example", ws)
	}
	// The question keeps 4 tokens: the context starts at 1+4+2 = 7.
	if first, n := contextRange(t, ws[0]); first != 7 || n != 5 {
		t.Errorf("truncated question: context at %d (%d tokens), want 7 (5)", first, n)
	}
	if ws[0].StartPos != 9 || ws[0].EndPos != 9 {
		t.Errorf("targets %d, %d, want 9, 9", ws[0].StartPos, ws[0].EndPos)
	}
	if ws[1].StartPos != 0 || ws[1].EndPos != 0 {
		t.Errorf("unknown answer: targets %d, %d, want 0, 0", ws[1].StartPos, ws[1].EndPos)
	}
}

func TestWindowsCJK(t *testing.T) {
	tok := testTokenizer(t)
	ctx := "日本語は難しい。日本語は難しい。" // 3 bytes per character
	// The answer is the second "難しい": characters 12-14, bytes 36-45.
	ex := []Example{{ID: "cjk", Question: "日本語?", Context: ctx, AnswerStart: 36, AnswerText: "難しい"}}
	ws, err := Windows(tok, ex, Options{MaxLen: 20, DocStride: 4, MaxQueryLen: 6})
	if err != nil {
		t.Fatal(err)
	}
	// Question: ▁ 日 本 語 ? = 5 tokens; room 20-4-5 = 11; context: ▁ and 16
	// characters = 17 tokens; windows [0, 11) and [7, 17).
	if len(ws) != 2 {
		t.Fatalf("%d windows, want 2", len(ws))
	}
	for k, w := range ws {
		first, n := contextRange(t, w)
		for i := first; i < first+n; i++ {
			sp := w.ContextSpans[i]
			if sp[1]-sp[0] != 3 && !(sp[0] == 0 && sp[1] == 0) {
				t.Errorf("window %d token %d: span %v, want one 3-byte character or the empty dummy-prefix span", k, i, sp)
			}
		}
	}
	if ws[0].StartPos != 0 {
		t.Errorf("window 0 targets %d, %d: want 0, 0 (the answer's last character is token 15, past 11)", ws[0].StartPos, ws[0].EndPos)
	}
	// In window 1 the context starts at token 1+5+2 = 8 with context token
	// 7 (character 6, after the dummy-prefix token); the answer (characters
	// 12-14, context tokens 13-15) is at 8+6 = 14 to 16.
	if ws[1].StartPos != 14 || ws[1].EndPos != 16 {
		t.Fatalf("window 1 targets %d, %d, want 14, 16", ws[1].StartPos, ws[1].EndPos)
	}
	sl := make([][]float32, 2)
	el := make([][]float32, 2)
	for k := range sl {
		sl[k], el[k] = make([]float32, 20), make([]float32, 20)
	}
	sl[1][14], el[1][16] = 5, 4
	text, score := BestSpan(ws, sl, el, ctx, 20, 30)
	if text != "難しい" || score != 9 {
		t.Errorf("BestSpan = %q, %g, want 難しい, 9", text, score)
	}
}

func TestWindowsErrors(t *testing.T) {
	tok := testTokenizer(t)
	ok := []Example{{ID: "x", Question: "q", Context: "a b", AnswerStart: 0, AnswerText: "a"}}
	for _, tc := range []struct {
		name string
		ex   []Example
		opts Options
		want []string
	}{
		{"max length too small", ok, Options{MaxLen: 10, DocStride: 3, MaxQueryLen: 4}, []string{"max length 10", "at least 12"}},
		{"no query room", ok, Options{MaxLen: 16, DocStride: 3, MaxQueryLen: 0}, []string{"max query length 0"}},
		{"answer past the context", []Example{{ID: "y", Question: "q", Context: "a b", AnswerStart: 2, AnswerText: "bc"}}, DefaultOptions(), []string{`example 0 (id "y")`, "answer_start 2", "3 bytes"}},
		{"negative answer start", []Example{{ID: "z", Question: "q", Context: "a b", AnswerStart: -2}}, DefaultOptions(), []string{`id "z"`, "answer_start -2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Windows(tok, tc.ex, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	if _, err := Windows(nil, ok, DefaultOptions()); err == nil {
		t.Error("nil tokenizer: no error")
	}
}

func TestBestSpan(t *testing.T) {
	// Context "aa bb cc dd": two windows of 8 tokens; tokens 0-2 are <s> q
	// </s>-like (no span), 3-6 context, 7 padding.
	ctx := "aa bb cc dd"
	sp := [][2]int{{0, 2}, {2, 5}, {5, 8}, {8, 11}}
	mk := func(ctxSpans [][2]int) Window {
		w := Window{ContextSpans: make([][2]int, 8)}
		for i := range w.ContextSpans {
			w.ContextSpans[i] = [2]int{-1, -1}
		}
		copy(w.ContextSpans[3:], ctxSpans)
		return w
	}
	ws := []Window{mk(sp[:3]), mk(sp[1:])}
	neg := func() []float32 { return []float32{0, 0, 0, 0, 0, 0, 0, 0} }
	for _, tc := range []struct {
		name          string
		s0, e0        []float32
		s1, e1        []float32
		nBest, maxLen int
		want          string
		score         float32
	}{
		{"best in the second window", []float32{0, 0, 0, 1, 0, 0, 0, 0}, []float32{0, 0, 0, 1, 0, 0, 0, 0},
			[]float32{0, 0, 0, 0, 3, 0, 0, 0}, []float32{0, 0, 0, 0, 0, 4, 0, 0}, 20, 30, "cc dd", 7},
		{"special tokens and end before start are skipped", []float32{9, 0, 0, 0, 0, 5, 0, 0}, []float32{9, 0, 0, 6, 0, 1, 0, 0},
			neg(), neg(), 20, 30, "cc", 6},
		{"answer too long", []float32{0, 0, 0, 5, 0, 0, 0, 0}, []float32{0, 0, 0, 0, 0, 5, 0, 0},
			neg(), neg(), 20, 2, "aa", 5},
		// Starts by rank: 4 (bb), 5 (cc), 3 (aa); ends: 3 (aa), 5 (cc), then 0.
		{"n-best 1: the only pair ends before it starts", []float32{0, 0, 0, 1, 3, 2, 0, 0}, []float32{0, 0, 0, 5, 0, 0.5, 0, 0},
			neg(), neg(), 1, 30, "", float32(math.Inf(-1))},
		{"n-best 2", []float32{0, 0, 0, 1, 3, 2, 0, 0}, []float32{0, 0, 0, 5, 0, 0.5, 0, 0},
			neg(), neg(), 2, 30, "bb cc", 3.5},
		{"n-best 3", []float32{0, 0, 0, 1, 3, 2, 0, 0}, []float32{0, 0, 0, 5, 0, 0.5, 0, 0},
			neg(), neg(), 3, 30, "aa", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, score := BestSpan(ws, [][]float32{tc.s0, tc.s1}, [][]float32{tc.e0, tc.e1}, ctx, tc.nBest, tc.maxLen)
			if text != tc.want || score != tc.score {
				t.Errorf("BestSpan = %q, %g, want %q, %g", text, score, tc.want, tc.score)
			}
		})
	}
	// No valid candidate at all.
	text, score := BestSpan(ws[:1], [][]float32{{5, 0, 0, 0, 0, 0, 0, 0}}, [][]float32{{5, 0, 0, 0, 0, 0, 0, 0}}, ctx, 1, 30)
	if text != "" || !math.IsInf(float64(score), -1) {
		t.Errorf("no valid span: BestSpan = %q, %g, want \"\", -Inf", text, score)
	}
}
