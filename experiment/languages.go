package experiment

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

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

// englishDerived reports whether lang is one of the English-derived
// languages.
func englishDerived(lang string) bool {
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

// cutCorpus splits the documents of src at the first document boundary (a
// blank line) after maxBytes: the documents before it are written to head,
// those after it to tail (either may be ""), each through a temporary file.
// Pretraining reads the head; en-relearn adapts on the tail, text the body
// never saw.
func cutCorpus(src string, maxBytes int64, head, tail string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer in.Close()
	var hw, tw *bufio.Writer
	var commits []func() error
	for _, d := range []struct {
		path string
		w    **bufio.Writer
	}{{head, &hw}, {tail, &tw}} {
		if d.path == "" {
			continue
		}
		f, err := atomicfile.Create(d.path)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		defer f.Abort()
		*d.w = bufio.NewWriterSize(f, 1<<20)
		w := *d.w
		commits = append(commits, func() error {
			if err := w.Flush(); err != nil {
				return err
			}
			return f.Commit()
		})
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var n int64
	w := hw
	for sc.Scan() {
		line := sc.Text()
		if w == hw && line == "" && n >= maxBytes {
			w = tw
			continue
		}
		n += int64(len(line) + 1)
		if w != nil {
			w.WriteString(line)
			w.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("experiment: %s: %w", src, err)
	}
	for _, commit := range commits {
		if err := commit(); err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
	}
	return nil
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
