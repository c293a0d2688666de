// Package qa prepares SQuAD-style extractive question answering for a
// RoBERTa model and reads answers back out of its logits: it cuts each
// (question, context) pair into overlapping windows of token ids as Hugging
// Face's run_qa.py does with a RoBERTa tokenizer, with training targets, and
// picks the best answer span of an example from the start and end logits of
// its windows.
package qa

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"lethe/tokenizer"
)

// Example is one question about one context. AnswerStart is a byte offset
// into Context where AnswerText begins, or -1 when the answer is unknown
// (evaluation).
type Example struct {
	ID, Question, Context string
	AnswerStart           int
	AnswerText            string
}

// Window is one model input cut from an example: <s> question </s></s>
// part of the context </s>, padded with <pad> to Options.MaxLen.
type Window struct {
	// ExampleIndex is the index of the example in the slice given to
	// Windows.
	ExampleIndex int
	// IDs are the MaxLen token ids.
	IDs []int32
	// ContextSpans holds, per token, its byte span [start, end) in the
	// example's Context, or [-1, -1] for question, special and padding
	// tokens. A context token's span includes the whitespace before it.
	ContextSpans [][2]int
	// StartPos and EndPos are the training targets: the token indices of
	// the first and last token of the answer, or 0 (the <s> index) for both
	// when the answer is unknown or not wholly inside the window.
	StartPos, EndPos int32
}

// Options are the windowing parameters of run_qa.py.
type Options struct {
	// MaxLen is the number of tokens of a window, special tokens and
	// padding included (run_qa.py --max_seq_length).
	MaxLen int
	// DocStride is the number of context tokens that consecutive windows
	// of one example share (run_qa.py --doc_stride).
	DocStride int
	// MaxQueryLen is the number of question tokens kept; longer questions
	// are truncated (the max_query_length of Hugging Face's SQuAD
	// processor).
	MaxQueryLen int
}

// DefaultOptions returns the SQuAD settings of the paper: MaxLen 384,
// DocStride 128, MaxQueryLen 64.
func DefaultOptions() Options { return Options{MaxLen: 384, DocStride: 128, MaxQueryLen: 64} }

// specialTokens is the number of special tokens of a window:
// <s> q </s></s> c </s>.
const specialTokens = 4

// Windows tokenises every example and cuts its context into windows. The
// question (leading whitespace removed, as run_qa.py does) is truncated to
// opts.MaxQueryLen tokens; each window holds at most MaxLen - 4 - len(question)
// context tokens, and each window after the first starts DocStride tokens
// before the end of the previous one, as a fast tokenizer's
// return_overflowing_tokens with stride does; the last window ends at the
// end of the context. Special ids come from tok (BosID, EosID, PadID).
//
// Training targets follow run_qa.py's prepare_train_features: when the
// answer's bytes [AnswerStart, AnswerStart+len(AnswerText)) lie inside the
// window's context tokens, StartPos is the last context token starting at
// or before the answer's first byte and EndPos the first context token
// ending at or after its last byte; otherwise both are 0. (run_qa.py's
// forward walk can run past the context into the trailing special tokens
// when the answer starts in the window's last token; here it stops at the
// last context token.)
func Windows(tok *tokenizer.Model, ex []Example, opts Options) ([]Window, error) {
	if tok == nil {
		return nil, errors.New("qa: windows: no tokenizer")
	}
	bos, eos, pad := tok.BosID(), tok.EosID(), tok.PadID()
	if bos < 0 || eos < 0 || pad < 0 {
		return nil, fmt.Errorf("qa: windows: the tokenizer lacks a special token (<s> %d, </s> %d, <pad> %d): expected all three", bos, eos, pad)
	}
	if opts.MaxQueryLen < 1 || opts.DocStride < 0 {
		return nil, fmt.Errorf("qa: windows: max query length %d, doc stride %d: expected >= 1 and >= 0", opts.MaxQueryLen, opts.DocStride)
	}
	if need := opts.MaxQueryLen + specialTokens + opts.DocStride + 1; opts.MaxLen < need {
		return nil, fmt.Errorf("qa: windows: max length %d: expected at least %d (max query length %d + %d special tokens + doc stride %d + 1), so that every window advances", opts.MaxLen, need, opts.MaxQueryLen, specialTokens, opts.DocStride)
	}
	var out []Window
	var q, c []int32
	var spans [][2]int
	for i, e := range ex {
		end := e.AnswerStart + len(e.AnswerText)
		if e.AnswerStart < -1 || end > len(e.Context) {
			return nil, fmt.Errorf("qa: example %d (id %q): answer_start %d with an answer of %d bytes: expected -1 or a span inside the context of %d bytes", i, e.ID, e.AnswerStart, len(e.AnswerText), len(e.Context))
		}
		q = tok.AppendIDs(q[:0], strings.TrimLeft(e.Question, " \t\n\r\v\f"))
		if len(q) > opts.MaxQueryLen {
			q = q[:opts.MaxQueryLen]
		}
		c, spans = tok.AppendIDsWithOffsets(c[:0], spans[:0], e.Context)
		room := opts.MaxLen - specialTokens - len(q)
		for lo := 0; ; lo += room - opts.DocStride {
			hi := min(lo+room, len(c))
			w := Window{
				ExampleIndex: i,
				IDs:          make([]int32, 0, opts.MaxLen),
				ContextSpans: make([][2]int, opts.MaxLen),
			}
			w.IDs = append(w.IDs, bos)
			w.IDs = append(w.IDs, q...)
			w.IDs = append(w.IDs, eos, eos)
			first := len(w.IDs)
			w.IDs = append(w.IDs, c[lo:hi]...)
			w.IDs = append(w.IDs, eos)
			for len(w.IDs) < opts.MaxLen {
				w.IDs = append(w.IDs, pad)
			}
			for k := range w.ContextSpans {
				w.ContextSpans[k] = [2]int{-1, -1}
			}
			copy(w.ContextSpans[first:], spans[lo:hi])
			if e.AnswerStart >= 0 && hi > lo {
				w.StartPos, w.EndPos = targets(w.ContextSpans[first:first+hi-lo], e.AnswerStart, end, first)
			}
			out = append(out, w)
			if hi == len(c) {
				break
			}
		}
	}
	return out, nil
}

// targets returns the token indices (offset by first) of the answer bytes
// [start, end) among a window's context spans, or 0, 0 when the spans do
// not contain it.
func targets(spans [][2]int, start, end, first int) (s, e int32) {
	if spans[0][0] > start || spans[len(spans)-1][1] < end {
		return 0, 0
	}
	i := 0
	for i+1 < len(spans) && spans[i+1][0] <= start {
		i++
	}
	j := len(spans) - 1
	for j > 0 && spans[j-1][1] >= end {
		j--
	}
	return int32(first + i), int32(first + j)
}

// BestSpan returns the answer that one example's windows point to, with
// its score, as run_qa.py's postprocess_qa_predictions does: in each
// window, every pair of one of the nBest highest start logits and one of
// the nBest highest end logits is a candidate when both are context
// tokens, end >= start and the span is at most maxAnswerLen tokens; its
// score is the sum of the two logits. The best candidate's text is
// context[spans[start][0]:spans[end][1]] with surrounding whitespace
// trimmed. With no valid candidate it returns "" and -Inf. startLogits[w]
// and endLogits[w] are window w's logits, one per token.
func BestSpan(windows []Window, startLogits, endLogits [][]float32, context string, nBest, maxAnswerLen int) (text string, score float32) {
	score = float32(math.Inf(-1))
	best := [2]int{-1, -1}
	var starts, ends []int
	for w, win := range windows {
		if w >= len(startLogits) || w >= len(endLogits) {
			break
		}
		n := min(len(win.ContextSpans), len(startLogits[w]), len(endLogits[w]))
		starts = topN(starts[:0], startLogits[w][:n], nBest)
		ends = topN(ends[:0], endLogits[w][:n], nBest)
		for _, s := range starts {
			for _, e := range ends {
				ss, es := win.ContextSpans[s], win.ContextSpans[e]
				if ss[0] < 0 || es[0] < 0 || e < s || e-s+1 > maxAnswerLen {
					continue
				}
				if v := startLogits[w][s] + endLogits[w][e]; v > score {
					score, best = v, [2]int{ss[0], es[1]}
				}
			}
		}
	}
	if best[0] < 0 {
		return "", score
	}
	return strings.TrimSpace(context[best[0]:best[1]]), score
}

// topN appends to dst the indices of the n largest values of x, largest
// first (the lower index first among equal values).
func topN(dst []int, x []float32, n int) []int {
	for i := range x {
		dst = append(dst, i)
	}
	slices.SortStableFunc(dst, func(a, b int) int { return cmp.Compare(x[b], x[a]) })
	if len(dst) > n {
		dst = dst[:max(n, 0)]
	}
	return dst
}
