package tokenizer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"lethe/corpus"
)

// trainUnkChar (U+2585) stands for a character outside the required alphabet in
// training sentences, as in SentencePiece; input lines holding it are
// skipped.
const (
	trainUnkChar    = '\u2585'
	trainUnkCharStr = "\u2585"
	trainWSChar     = '\u2581'
)

// ErrEmptyCorpus is wrapped by Train's error when the inputs hold no usable
// sentence.
var ErrEmptyCorpus = errors.New("empty corpus")

// load reads the inputs (sampling when asked), normalises them, finds the
// required characters and replaces the others by U+2585.
func (t *trainer) load(ctx context.Context) error {
	raw, err := t.readSentences(ctx)
	if err != nil {
		return err
	}
	t.progress("load", "lines=%d sampled=%d skipped_long=%d skipped_invalid=%d", t.stats.Lines, len(raw),
		t.stats.SkippedLong, t.stats.SkippedInvalid)
	t.sentences = t.normalizeAll(raw)
	if len(t.sentences) == 0 {
		return fmt.Errorf("%s: %w: no non-empty line after normalisation (%d lines read; skipped: %d longer than %d bytes, %d invalid UTF-8, %d with U+2585)",
			strings.Join(t.opts.Inputs, ","), ErrEmptyCorpus, t.stats.Lines, t.stats.SkippedLong, t.opts.MaxSentenceLength,
			t.stats.SkippedInvalid, t.stats.SkippedReserved)
	}
	t.stats.Sentences = len(t.sentences)
	if err := ctx.Err(); err != nil {
		return err
	}
	t.chooseAlphabet()
	meta := len(trainMetaPieces(t.opts.ByteFallback))
	if len(t.required)+meta >= t.opts.VocabSize {
		return fmt.Errorf("vocab_size %d: %w: the %d required characters and %d special pieces need more; raise --vocab_size or lower --character_coverage",
			t.opts.VocabSize, ErrVocabTooLarge, len(t.required), meta)
	}
	t.progress("chars", "sentences=%d alphabet=%d coverage=%.6f", len(t.sentences), len(t.required), t.stats.Coverage)
	return nil
}

// readSentences reads every input line, keeping all of them or a sample of
// InputSentenceSize (reservoir sampling, so memory is bounded by the sample).
func (t *trainer) readSentences(ctx context.Context) ([]string, error) {
	o := &t.opts
	var out []string
	rng := rand.New(rand.NewPCG(o.RandomSeed, 0x6c657468))
	var accepted int64
	for _, path := range o.Inputs {
		done, err := t.readFile(ctx, path, func(line []byte) bool {
			accepted++
			switch {
			case o.InputSentenceSize == 0 || len(out) < o.InputSentenceSize:
				out = append(out, string(line))
			case !o.ShuffleInputSentence:
				return false
			default:
				if j := rng.Int64N(accepted); j < int64(o.InputSentenceSize) {
					out[j] = string(line)
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if !done {
			break
		}
	}
	return out, nil
}

// readFile calls keep with each acceptable line of path (without its
// newline); keep returns false to stop reading. readFile returns false when
// stopped early.
func (t *trainer) readFile(ctx context.Context, path string, keep func([]byte) bool) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("reading corpus: %w", err)
	}
	defer f.Close()
	// Compressed corpora are read as the other commands read them.
	src, closer, err := corpus.Decompress(bufio.NewReaderSize(f, 64<<10), path)
	if err != nil {
		return false, err
	}
	if closer != nil {
		defer closer.Close()
	}
	r := bufio.NewReaderSize(src, 1<<20)
	var offset int64
	var long []byte
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("%s: byte %d: %w", path, offset, err)
		}
		if len(line) == 0 && err != nil {
			return true, nil
		}
		lineStart := offset
		offset += int64(len(line))
		t.stats.Lines++
		if t.stats.Lines%65536 == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return false, cerr
			}
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		switch {
		case !utf8.Valid(line):
			if !t.opts.SkipInvalidUTF8 {
				bad := lineStart
				for i := 0; i < len(line); {
					r, n := utf8.DecodeRune(line[i:])
					if r == utf8.RuneError && n == 1 {
						bad += int64(i)
						break
					}
					i += n
				}
				return false, fmt.Errorf("%s: byte %d (line %d): invalid UTF-8 (use --skip_invalid_utf8 to skip such lines)", path, bad, t.stats.Lines)
			}
			t.stats.SkippedInvalid++
		case len(line) > t.opts.MaxSentenceLength:
			t.stats.SkippedLong++
		case bytes.Contains(line, []byte(trainUnkCharStr)):
			t.stats.SkippedReserved++
		case len(line) == 0:
		default:
			if !keep(line) {
				return false, nil
			}
		}
		if err != nil {
			return true, nil
		}
	}
}

// normalizeAll normalises the raw sentences in parallel, first deleting the
// special pieces' text (so that it is not learnt as pieces; spm_train 0.1.97
// deletes it too) and NUL bytes. Empty results are dropped.
func (t *trainer) normalizeAll(raw []string) []string {
	var olds []string
	for _, p := range trainMetaPieces(t.opts.ByteFallback) {
		olds = append(olds, p.Piece, "")
	}
	olds = append(olds, "\x00", "")
	escape := strings.NewReplacer(olds...)
	out := make([]string, len(raw))
	trainParallelRange(t.opts.NumThreads, len(raw), func(lo, hi int) {
		var buf []byte
		for i := lo; i < hi; i++ {
			s := escape.Replace(raw[i])
			buf = t.norm.AppendNormalized(buf[:0], s)
			// A space left by the normaliser (escape_whitespaces off) cannot
			// be part of a piece; make it a word boundary.
			out[i] = strings.ReplaceAll(string(buf), " ", string(trainWSChar))
			raw[i] = ""
		}
	})
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// chooseAlphabet counts the characters, keeps the most frequent ones until
// CharacterCoverage of all occurrences is reached, and replaces the others
// by U+2585 in the sentences.
func (t *trainer) chooseAlphabet() {
	counts := t.countChars(t.sentences)
	all := byCount(counts)
	var total int64
	for _, c := range all {
		total += c.n
	}
	t.required = map[rune]int64{}
	var acc int64
	for _, c := range all {
		// float32, as SentencePiece compares them.
		if float32(float64(acc)/float64(total)) >= float32(t.opts.CharacterCoverage) {
			break
		}
		acc += c.n
		t.required[c.r] = c.n
	}
	t.stats.Alphabet = len(t.required)
	if total > 0 {
		t.stats.Coverage = float64(acc) / float64(total)
	}
	t.script = newTrainScriptTable(t.required)
	if len(t.required) == len(counts) {
		return
	}
	trainParallelRange(t.opts.NumThreads, len(t.sentences), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := t.sentences[i]
			rare := false
			for _, r := range s {
				if _, ok := t.required[r]; !ok {
					rare = true
					break
				}
			}
			if !rare {
				continue
			}
			var b strings.Builder
			for _, r := range s {
				if _, ok := t.required[r]; !ok {
					r = trainUnkChar
				}
				b.WriteRune(r)
			}
			t.sentences[i] = b.String()
		}
	})
}

// countChars counts every character of sentences, in parallel.
func (t *trainer) countChars(sentences []string) map[rune]int64 {
	n := max(1, t.opts.NumThreads)
	parts := make([]map[rune]int64, n)
	var mu sync.Mutex
	next := 0
	trainParallelRange(n, len(sentences), func(lo, hi int) {
		var small [0x3000]int64
		m := map[rune]int64{}
		for _, s := range sentences[lo:hi] {
			for _, r := range s {
				if r < int32(len(small)) {
					small[r]++
				} else {
					m[r]++
				}
			}
		}
		for r, c := range small {
			if c > 0 {
				m[rune(r)] += c
			}
		}
		mu.Lock()
		parts[next] = m
		next++
		mu.Unlock()
	})
	out := map[rune]int64{}
	for _, m := range parts {
		for r, c := range m {
			out[r] += c
		}
	}
	delete(out, ' ')
	delete(out, trainUnkChar)
	return out
}

// trainParallelRange splits [0, n) into at most threads contiguous chunks and runs
// fn on each in its own goroutine.
func trainParallelRange(threads, n int, fn func(lo, hi int)) {
	threads = max(1, min(threads, n))
	if threads == 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < threads; k++ {
		lo, hi := k*n/threads, (k+1)*n/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// runeCount is a character and how often it occurs.
type runeCount struct {
	r rune
	n int64
}

// byCount lists the characters of counts, most frequent first, ties by code
// point.
func byCount(counts map[rune]int64) []runeCount {
	all := make([]runeCount, 0, len(counts))
	for r, n := range counts {
		all = append(all, runeCount{r, n})
	}
	slices.SortFunc(all, func(a, b runeCount) int {
		if a.n != b.n {
			if a.n > b.n {
				return -1
			}
			return 1
		}
		return int(a.r - b.r)
	})
	return all
}
