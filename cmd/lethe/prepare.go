package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lethe/corpus"
	"lethe/dataset"
	"lethe/internal/progress"
	"lethe/tokenizer"
)

func prepareCommand() *command {
	return &command{
		name:    "prepare",
		summary: "tokenise a text corpus into train.tok / valid.tok for pretraining",
		usage: `Reads plain-text corpora (UTF-8, one sentence or paragraph per line, documents
separated by blank lines; .gz and .bz2 are read transparently), encodes every
line with a SentencePiece tokenizer, and writes OUT/train.tok and OUT/valid.tok
(token files, see docs/ARCHITECTURE.md) plus OUT/summary.json. Documents are
assigned to validation by a stable hash of their text, so the split does not
depend on file order and is the same on every run with the same --seed.
Encoding runs on --workers goroutines; output keeps the input order.

Example:
  lethe prepare --model en.model --input a.txt,b.txt.gz --out data/en`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			model := fs.String("model", "", "SentencePiece tokenizer `FILE` (.model)")
			input := fs.String("input", "", "comma-separated corpus `FILES` (further files may follow as arguments)")
			out := fs.String("out", "", "output `DIR` (created if missing)")
			validFrac := fs.Float64("valid-fraction", 0.01, "share of documents held out for validation")
			seed := fs.Uint64("seed", 0, "seed of the train/validation split")
			workers := fs.Int("workers", runtime.NumCPU(), "encoding goroutines")
			skipBad := fs.Bool("skip-invalid-utf8", false, "drop lines that are not valid UTF-8 (counted in the summary) instead of failing")
			maxLine := fs.Int("max-line-bytes", corpus.DefaultMaxLineBytes, "longest accepted line, in bytes")
			return func(ctx context.Context, env *runEnv) error {
				var inputs []string
				for _, p := range strings.Split(*input, ",") {
					if p = strings.TrimSpace(p); p != "" {
						inputs = append(inputs, p)
					}
				}
				inputs = append(inputs, env.args...)
				switch {
				case *model == "":
					return errors.New("--model is required")
				case len(inputs) == 0:
					return errors.New("--input is required")
				case *out == "":
					return errors.New("--out is required")
				case *workers < 1:
					return fmt.Errorf("--workers %d: expected at least 1", *workers)
				}
				enc, err := loadEncoder(*model)
				if err != nil {
					return err
				}
				cfg := prepareConfig{
					modelPath: *model,
					inputs:    inputs,
					outDir:    *out,
					split:     corpus.Split{ValidFraction: *validFrac, Seed: *seed},
					workers:   *workers,
					read:      corpus.Options{MaxLineBytes: *maxLine, SkipInvalidUTF8: *skipBad},
				}
				sum, err := prepareData(ctx, cfg, enc, env.stderr)
				if err != nil {
					return err
				}
				fmt.Fprintf(env.stdout, "train: %d documents, %d tokens; valid: %d documents, %d tokens; unknown-token rate %.4f%%\n",
					sum.Train.Documents, sum.Train.Tokens, sum.Valid.Documents, sum.Valid.Tokens, 100*sum.UnknownRate)
				fmt.Fprintf(env.stdout, "wrote %s, %s, %s\n", filepath.Join(*out, "train.tok"), filepath.Join(*out, "valid.tok"), filepath.Join(*out, "summary.json"))
				return nil
			}
		},
	}
}

// encoder is what prepare needs from a tokenizer. It is satisfied by an
// adapter over lethe/tokenizer (see loadEncoder) and by test fakes, which
// keeps the pipeline testable on its own.
type encoder interface {
	// appendIDs appends the ids of one line of text (no special tokens).
	// It must be safe for concurrent use.
	appendIDs(dst []int32, line string) []int32
	// vocabSize is the model vocabulary size, <mask> included; every id is below it.
	vocabSize() int
	// unkID is the id of <unk>, for the unknown-token rate.
	unkID() int32
	// maskID is the id of <mask>, recorded in summary.json for the trainer.
	maskID() int32
}

// prepareConfig is everything prepareData needs besides the encoder.
type prepareConfig struct {
	modelPath string
	inputs    []string
	outDir    string
	split     corpus.Split
	workers   int
	read      corpus.Options
}

// splitSummary counts one side of the split.
type splitSummary struct {
	Documents     int64   `json:"documents"`
	Lines         int64   `json:"lines"`
	Tokens        int64   `json:"tokens"`      // ids in the file, one </s> per line included
	TextTokens    int64   `json:"text_tokens"` // tokens excluding the </s> line ends
	UnknownTokens int64   `json:"unknown_tokens"`
	UnknownRate   float64 `json:"unknown_rate"` // unknown_tokens / text_tokens
}

// prepareSummary is written to OUT/summary.json.
type prepareSummary struct {
	Tokenizer       string       `json:"tokenizer"`
	VocabSize       int          `json:"vocab_size"`
	MaskID          int32        `json:"mask_id"` // the id "lethe pretrain" masks with
	Inputs          []string     `json:"inputs"`
	InputBytes      int64        `json:"input_bytes"`
	TextBytes       int64        `json:"text_bytes"` // decompressed
	ValidFraction   float64      `json:"valid_fraction"`
	Seed            uint64       `json:"seed"`
	Train           splitSummary `json:"train"`
	Valid           splitSummary `json:"valid"`
	UnknownRate     float64      `json:"unknown_rate"` // over both splits
	SkippedLines    int64        `json:"skipped_invalid_utf8_lines"`
	SplitDocuments  int64        `json:"documents_cut_at_size_limit"`
	Seconds         float64      `json:"seconds"`
	MegabytesPerSec float64      `json:"megabytes_per_second"`
}

// prepChunk is a run of consecutive documents, encoded as a unit so that
// channel traffic stays small.
type prepChunk struct {
	seq   int
	docs  []corpus.Document
	valid []bool
	ids   []int32 // every document's ids, concatenated
	ends  []int   // ids[ends[i-1]:ends[i]] is document i
	unk   []int64 // unknown tokens per document
	err   error
}

// chunkTarget is the text size of a chunk: big enough to amortise the
// hand-offs, small enough to keep memory low and both cores busy.
const chunkTarget = 256 << 10

// prepareData runs the pipeline: one goroutine reads documents, workers
// encode chunks of them in parallel, and one goroutine writes the chunks in
// input order to train.tok or valid.tok. The number of chunks in flight is
// bounded, so memory stays constant whatever the corpus size. On error or
// cancellation no output file is left under its final name.
func prepareData(ctx context.Context, cfg prepareConfig, enc encoder, progressOut io.Writer) (*prepareSummary, error) {
	if err := cfg.split.Validate(); err != nil {
		return nil, err
	}
	if cfg.workers < 1 {
		cfg.workers = 1
	}
	r, err := corpus.Open(cfg.inputs, cfg.read)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := os.MkdirAll(cfg.outDir, 0o755); err != nil {
		return nil, err // *PathError names the directory
	}
	vocab := enc.vocabSize()
	trainW, err := dataset.Create(filepath.Join(cfg.outDir, "train.tok"), vocab)
	if err != nil {
		return nil, err
	}
	defer trainW.Abort() // no-op after Close
	validW, err := dataset.Create(filepath.Join(cfg.outDir, "valid.tok"), vocab)
	if err != nil {
		return nil, err
	}
	defer validW.Abort()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	_, totalBytes := r.Progress()
	bar := progress.New(progressOut, "prepare", "MB", 0, float64(totalBytes)/1e6)

	jobs := make(chan *prepChunk, cfg.workers)
	results := make(chan *prepChunk, cfg.workers)
	inflight := make(chan struct{}, 4*cfg.workers) // bounds memory: chunks read but not yet written

	// Workers: encode.
	var wg sync.WaitGroup
	for w := 0; w < cfg.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				encodeChunk(c, enc, cfg.split)
				select {
				case results <- c:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Writer: restore input order, write, count.
	var sum prepareSummary
	var docsDone atomic.Int64
	writeDone := make(chan error, 1)
	go func() {
		pending := map[int]*prepChunk{}
		next := 0
		var werr error
		for c := range results {
			if werr != nil {
				continue // drain so that workers can exit
			}
			pending[c.seq] = c
			for {
				c, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				next++
				<-inflight
				if werr = writeChunk(c, trainW, validW, &sum); werr != nil {
					cancel(werr)
					break
				}
				docsDone.Add(int64(len(c.docs)))
				read, _ := r.Progress()
				bar.Update(float64(read)/1e6, fmt.Sprintf("%d docs", docsDone.Load()))
			}
		}
		writeDone <- werr
	}()

	// Reader (this goroutine): cut the stream into chunks.
	readErr := func() error {
		defer close(jobs)
		seq := 0
		c := &prepChunk{seq: seq}
		size := 0
		send := func() error {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			seq++
			c, size = &prepChunk{seq: seq}, 0
			return nil
		}
		for {
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			doc, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			c.docs = append(c.docs, doc)
			for _, l := range doc.Lines {
				size += len(l) + 1
			}
			if size >= chunkTarget {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(c.docs) > 0 {
			return send()
		}
		return nil
	}()
	if readErr != nil {
		cancel(readErr)
	}
	writeErr := <-writeDone
	if readErr != nil || writeErr != nil || ctx.Err() != nil {
		read, _ := r.Progress()
		bar.Finish(float64(read)/1e6, "stopped") // ends a redrawn line before the error is printed
	}
	switch {
	case readErr != nil:
		return nil, fmt.Errorf("reading the corpus: %w", readErr)
	case writeErr != nil:
		return nil, fmt.Errorf("writing %s: %w", cfg.outDir, writeErr)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
	}

	read, _ := r.Progress()
	bar.Finish(float64(read)/1e6, fmt.Sprintf("%d docs", docsDone.Load()))
	if err := trainW.Close(); err != nil {
		return nil, err
	}
	if err := validW.Close(); err != nil {
		return nil, err
	}
	st := r.Stats()
	elapsed := time.Since(start).Seconds()
	sum.Tokenizer = cfg.modelPath
	sum.VocabSize = vocab
	sum.MaskID = enc.maskID()
	sum.Inputs = cfg.inputs
	sum.InputBytes = totalBytes
	sum.TextBytes = st.TextBytes
	sum.ValidFraction = cfg.split.ValidFraction
	sum.Seed = cfg.split.Seed
	sum.SkippedLines = st.SkippedLines
	sum.SplitDocuments = st.SplitDocuments
	sum.Seconds = elapsed
	if elapsed > 0 {
		sum.MegabytesPerSec = float64(totalBytes) / 1e6 / elapsed
	}
	for _, s := range []*splitSummary{&sum.Train, &sum.Valid} {
		if s.TextTokens > 0 {
			s.UnknownRate = float64(s.UnknownTokens) / float64(s.TextTokens)
		}
	}
	if tt := sum.Train.TextTokens + sum.Valid.TextTokens; tt > 0 {
		sum.UnknownRate = float64(sum.Train.UnknownTokens+sum.Valid.UnknownTokens) / float64(tt)
	}
	if err := writeJSONAtomic(filepath.Join(cfg.outDir, "summary.json"), &sum); err != nil {
		return nil, err
	}
	return &sum, nil
}

// encodeChunk encodes every document of c: each line's ids followed by </s>,
// as fairseq binarises text.
func encodeChunk(c *prepChunk, enc encoder, split corpus.Split) {
	unk := enc.unkID()
	c.valid = make([]bool, len(c.docs))
	c.ends = make([]int, len(c.docs))
	c.unk = make([]int64, len(c.docs))
	for i, d := range c.docs {
		c.valid[i] = split.IsValid(d.Lines)
		for _, line := range d.Lines {
			from := len(c.ids)
			c.ids = enc.appendIDs(c.ids, line)
			for _, id := range c.ids[from:] {
				if id == unk {
					c.unk[i]++
				}
			}
			c.ids = append(c.ids, dataset.EOS)
		}
		c.ends[i] = len(c.ids)
	}
}

// writeChunk appends c's documents to their side of the split and counts
// them.
func writeChunk(c *prepChunk, train, valid *dataset.Writer, sum *prepareSummary) error {
	from := 0
	for i, d := range c.docs {
		ids := c.ids[from:c.ends[i]]
		from = c.ends[i]
		w, s := train, &sum.Train
		if c.valid[i] {
			w, s = valid, &sum.Valid
		}
		if err := w.AppendDocument(ids); err != nil {
			return fmt.Errorf("%s:%d: %w", d.File, d.Line, err)
		}
		s.Documents++
		s.Lines += int64(len(d.Lines))
		s.Tokens += int64(len(ids))
		s.TextTokens += int64(len(ids) - len(d.Lines))
		s.UnknownTokens += c.unk[i]
	}
	return nil
}

// writeJSONAtomic writes v as indented JSON to path through a temporary file
// and a rename.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err // *PathError names the file
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err // *LinkError names both paths
	}
	return nil
}

// tokenizerEncoder adapts a tokenizer.Model to encoder.
type tokenizerEncoder struct{ m *tokenizer.Model }

func (e tokenizerEncoder) appendIDs(dst []int32, line string) []int32 {
	return e.m.AppendIDs(dst, line)
}
func (e tokenizerEncoder) vocabSize() int { return e.m.VocabSize() }
func (e tokenizerEncoder) unkID() int32   { return e.m.UnkID() }
func (e tokenizerEncoder) maskID() int32  { return e.m.MaskID() }

// loadEncoder loads the tokenizer model at path and checks that its special
// ids follow the RoBERTa order the token files and loaders assume (<s>=0,
// <pad>=1, </s>=2, <unk>=3, <mask> above them): a model trained with
// SentencePiece's defaults (<unk>=0, <s>=1, </s>=2) would otherwise give
// files whose line ends and padding mean something else.
func loadEncoder(path string) (encoder, error) {
	m, err := tokenizer.Load(path)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name      string
		got, want int32
	}{{"<s>", m.BosID(), dataset.BOS}, {"<pad>", m.PadID(), dataset.PAD}, {"</s>", m.EosID(), dataset.EOS}, {"<unk>", m.UnkID(), dataset.UNK}} {
		if c.got != c.want {
			return nil, fmt.Errorf("tokenizer %s: %s has id %d, expected %d (RoBERTa order <s>,<pad>,</s>,<unk>; train it with \"lethe tokenizer train\" or spm_train --bos_id=0 --pad_id=1 --eos_id=2 --unk_id=3)", path, c.name, c.got, c.want)
		}
	}
	if m.MaskID() <= dataset.UNK || int(m.MaskID()) >= m.VocabSize() {
		return nil, fmt.Errorf("tokenizer %s: <mask> has id %d, expected an id in [4, %d)", path, m.MaskID(), m.VocabSize())
	}
	return tokenizerEncoder{m}, nil
}
