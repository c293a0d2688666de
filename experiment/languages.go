package experiment

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"lethe/corpus"
	"lethe/corpus/debian"
	"lethe/internal/atomicfile"
)

// English-derived target languages: controls that need no second language.
// Each is adapted like any language (fresh embeddings, body frozen) on
// English text that pretraining did not see, tokenized with the English
// tokenizer, and scored on the English test set (transformed the same way),
// so the English test score is its ceiling on the very same items.
const (
	// LangRelearn is English relearned as if it were a new language: the
	// cleanest test of adapt -> fine-tune -> splice -> evaluate, since the
	// best possible embeddings (the pretrained ones) are known and score the
	// English result exactly.
	LangRelearn = "en-relearn"
	// LangReverse is English with the words of every line in reverse order:
	// the same vocabulary with a different word order.
	LangReverse = "en-reverse"
	// LangShuffle is English with the words of every line in a random order
	// (seeded by the line): no word order at all.
	LangShuffle = "en-shuffle"
)

// EnglishDerived reports whether lang is one of the English-derived
// languages.
func EnglishDerived(lang string) bool {
	return lang == LangRelearn || lang == LangReverse || lang == LangShuffle
}

// transformWords rewrites one line of text of an English-derived language:
// unchanged for en-relearn, its words reversed for en-reverse, its words
// shuffled (a permutation seeded by the line, so the same line always gives
// the same result) for en-shuffle. Words are runs of non-space characters
// and come back joined by single spaces.
func transformWords(lang, line string) string {
	if lang == LangRelearn {
		return line
	}
	words := strings.Fields(line)
	switch lang {
	case LangReverse:
		for i, j := 0, len(words)-1; i < j; i, j = i+1, j-1 {
			words[i], words[j] = words[j], words[i]
		}
	case LangShuffle:
		h := fnv.New64a()
		h.Write([]byte(line))
		rng := rand.New(rand.NewPCG(h.Sum64(), 0x5AFF1E))
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
	}
	return strings.Join(words, " ")
}

// splitCorpus reads the documents of src (corpus.Reader: documents
// separated by blank lines, malformed input reported with its offset) and
// writes each to outs[route(i, doc)], or to none when route returns -1,
// with documents separated by blank lines again; an empty out path
// discards. Each output goes through a temporary file, renamed once
// complete.
func splitCorpus(src string, outs []string, route func(i int, doc []string) int) error {
	in, err := corpus.Open([]string{src}, corpus.Options{})
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer in.Close()
	type output struct {
		f    *atomicfile.File
		w    *bufio.Writer
		docs int
	}
	out := make([]*output, len(outs))
	for k, path := range outs {
		if path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		f, err := atomicfile.Create(path)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		defer f.Abort()
		out[k] = &output{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	}
	for n := 0; ; n++ {
		doc, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		k := route(n, doc.Lines)
		if k < 0 || out[k] == nil {
			continue
		}
		o := out[k]
		if o.docs > 0 {
			o.w.WriteByte('\n')
		}
		for _, line := range doc.Lines {
			o.w.WriteString(line)
			o.w.WriteByte('\n')
		}
		o.docs++
	}
	for _, o := range out {
		if o == nil {
			continue
		}
		if err := o.w.Flush(); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		if err := o.f.Commit(); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
	}
	return nil
}

// cutCorpus splits the documents of src after the one that brings the
// text past maxBytes: the documents up to there go to head, the rest to
// tail (either may be "").
func cutCorpus(src string, maxBytes int64, head, tail string) error {
	var n int64
	return splitCorpus(src, []string{head, tail}, func(_ int, doc []string) int {
		if n >= maxBytes {
			return 1
		}
		for _, line := range doc {
			n += int64(len(line) + 1)
		}
		n++ // the blank line after it
		return 0
	})
}

// heldOut reports whether a document is one of the share of documents
// (chosen by a stable hash of their text) held out of pretraining.
func heldOut(doc []string, share float64) bool {
	h := fnv.New64a()
	for _, line := range doc {
		h.Write([]byte(line))
		h.Write([]byte{'\n'})
	}
	return float64(h.Sum64()%1_000_000) < share*1_000_000
}

// ddtpDocuments is how many documents the DDTP descriptions make at the
// start of a corpus of data directory dir (lethe data build's manifest
// says), the text in the task's domain.
func ddtpDocuments(dir, lang string) (int, error) {
	path := filepath.Join(dir, "manifest.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("experiment: in-domain adaptation needs the manifest of lethe data build: %w", err)
	}
	var m debian.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, fmt.Errorf("experiment: %s: %w", path, err)
	}
	st, ok := m.Files["corpora/"+lang+".txt"]
	if !ok || st == nil || len(st.Sections) == 0 {
		return 0, fmt.Errorf("experiment: %s records no sections of corpora/%s.txt: rebuild the data with this lethe (lethe data build)", path, lang)
	}
	if sec := st.Sections[0]; strings.HasPrefix(sec.Source, "DDTP") {
		return int(sec.Documents), nil
	}
	return 0, fmt.Errorf("experiment: corpora/%s.txt has no DDTP descriptions (%s)", lang, path)
}

// transformFile writes the lines of src to dst through transformWords. In a
// task file (tsv true) the first column, the label, is kept and every other
// column is transformed; the English test set of the task becomes the
// derived language's.
func transformFile(lang, src, dst string, tsv bool) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	f, err := atomicfile.Create(dst)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer f.Abort()
	w := bufio.NewWriterSize(f, 1<<20)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if tsv {
			cols := strings.Split(line, "\t")
			for i := 1; i < len(cols); i++ {
				cols[i] = transformWords(lang, cols[i])
			}
			line = strings.Join(cols, "\t")
		} else {
			line = transformWords(lang, line)
		}
		w.WriteString(line)
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("experiment: %s: %w", src, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}
