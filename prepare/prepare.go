// Package prepare turns plain-text corpora into the token files Lethe trains
// on: every line encoded with a SentencePiece tokenizer, documents assigned to
// train.tok or valid.tok by a stable hash of their text, and a summary.json
// recording the tokenizer, the <mask> id and the counts. It is what "lethe
// prepare" runs, and what the experiment and language adaptation use to
// tokenize a language's text.
package prepare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"lethe/corpus"
	"lethe/dataset"
	"lethe/internal/atomicfile"
	"lethe/internal/progress"
	"lethe/internal/runlock"
	"lethe/tokenizer"
)

// Encoder is what prepare needs from a tokenizer. It is satisfied by an
// adapter over lethe/tokenizer (see LoadEncoder) and by test fakes, which
// keeps the pipeline testable on its own.
type Encoder interface {
	// appendIDs appends the ids of one line of text (no special tokens).
	// It must be safe for concurrent use.
	AppendIDs(dst []int32, line string) []int32
	// vocabSize is the model vocabulary size, <mask> included; every id is below it.
	VocabSize() int
	// unkID is the id of <unk>, for the unknown-token rate.
	UnkID() int32
	// maskID is the id of <mask>, recorded in summary.json for the trainer.
	MaskID() int32
}

// Config is everything Run needs besides the Encoder.
type Config struct {
	Model   string         // path of the tokenizer, recorded in summary.json
	Inputs  []string       // corpus files (.gz and .bz2 read transparently)
	OutDir  string         // train.tok, valid.tok and summary.json go here
	Split   corpus.Split   // which documents go to validation
	Workers int            // encoding goroutines
	Read    corpus.Options // line length limit, invalid UTF-8 handling
}

// SplitSummary counts one side of the split.
type SplitSummary struct {
	Documents     int64   `json:"documents"`
	Lines         int64   `json:"lines"`
	Tokens        int64   `json:"tokens"`      // ids in the file, one </s> per line included
	TextTokens    int64   `json:"text_tokens"` // tokens excluding the </s> line ends
	UnknownTokens int64   `json:"unknown_tokens"`
	UnknownRate   float64 `json:"unknown_rate"` // unknown_tokens / text_tokens
}

// Summary is written to OUT/summary.json.
type Summary struct {
	Tokenizer       string       `json:"tokenizer"`
	VocabSize       int          `json:"vocab_size"`
	MaskID          int32        `json:"mask_id"` // the id "lethe pretrain" masks with
	Inputs          []string     `json:"inputs"`
	InputBytes      int64        `json:"input_bytes"`
	TextBytes       int64        `json:"text_bytes"` // decompressed
	ValidFraction   float64      `json:"valid_fraction"`
	Seed            uint64       `json:"seed"`
	Train           SplitSummary `json:"train"`
	Valid           SplitSummary `json:"valid"`
	UnknownRate     float64      `json:"unknown_rate"` // over both splits
	SkippedLines    int64        `json:"skipped_invalid_utf8_lines"`
	SplitDocuments  int64        `json:"documents_cut_at_size_limit"`
	Seconds         float64      `json:"seconds"`
	MegabytesPerSec float64      `json:"megabytes_per_second"`
	// The SHA-256 of the tokenizer and of the two token files: ReadSummary
	// checks the token files against them, so a directory whose files come
	// from different runs is refused.
	TokenizerSHA256 string `json:"tokenizer_sha256,omitempty"`
	TrainSHA256     string `json:"train_sha256,omitempty"`
	ValidSHA256     string `json:"valid_sha256,omitempty"`
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

// Run runs the pipeline: one goroutine reads documents, workers
// encode chunks of them in parallel, and one goroutine writes the chunks in
// input order to train.tok or valid.tok. The number of chunks in flight is
// bounded, so memory stays constant whatever the corpus size. On error or
// cancellation no output file is left under its final name.
func Run(ctx context.Context, cfg Config, enc Encoder, progressOut io.Writer) (*Summary, error) {
	if err := cfg.Split.Validate(); err != nil {
		return nil, err
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	r, err := corpus.Open(cfg.Inputs, cfg.Read)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	lock, err := runlock.Acquire(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	// The summary is the commit mark of the directory: it goes first and
	// comes back last, so a run cut short in between leaves a directory
	// that ReadSummary refuses instead of a mix of old and new files.
	if err := os.Remove(filepath.Join(cfg.OutDir, SummaryFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	removeStaleTemporaries(cfg.OutDir)
	vocab := enc.VocabSize()
	trainW, err := dataset.Create(Dir(cfg.OutDir).Train(), vocab)
	if err != nil {
		return nil, err
	}
	defer trainW.Abort() // no-op after Close
	validW, err := dataset.Create(Dir(cfg.OutDir).Valid(), vocab)
	if err != nil {
		return nil, err
	}
	defer validW.Abort()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	_, totalBytes := r.Progress()
	bar := progress.New(progressOut, "prepare", "MB", 0, float64(totalBytes)/1e6)

	jobs := make(chan *prepChunk, cfg.Workers)
	results := make(chan *prepChunk, cfg.Workers)
	inflight := make(chan struct{}, 4*cfg.Workers) // bounds memory: chunks read but not yet written

	// Workers: encode.
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				encodeChunk(c, enc, cfg.Split)
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
	var sum Summary
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
		return nil, fmt.Errorf("writing %s: %w", cfg.OutDir, writeErr)
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
	sum.Tokenizer = cfg.Model
	sum.VocabSize = vocab
	sum.MaskID = enc.MaskID()
	sum.Inputs = cfg.Inputs
	sum.InputBytes = totalBytes
	sum.TextBytes = st.TextBytes
	sum.ValidFraction = cfg.Split.ValidFraction
	sum.Seed = cfg.Split.Seed
	sum.SkippedLines = st.SkippedLines
	sum.SplitDocuments = st.SplitDocuments
	sum.Seconds = elapsed
	if elapsed > 0 {
		sum.MegabytesPerSec = float64(totalBytes) / 1e6 / elapsed
	}
	for _, s := range []*SplitSummary{&sum.Train, &sum.Valid} {
		if s.TextTokens > 0 {
			s.UnknownRate = float64(s.UnknownTokens) / float64(s.TextTokens)
		}
	}
	if tt := sum.Train.TextTokens + sum.Valid.TextTokens; tt > 0 {
		sum.UnknownRate = float64(sum.Train.UnknownTokens+sum.Valid.UnknownTokens) / float64(tt)
	}
	for _, h := range []struct {
		path string
		sum  *string
	}{{Dir(cfg.OutDir).Train(), &sum.TrainSHA256}, {Dir(cfg.OutDir).Valid(), &sum.ValidSHA256}} {
		if *h.sum, err = fileSHA256(h.path); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	sum.TokenizerSHA256, _ = fileSHA256(cfg.Model) // "" for an encoder that is not a file (tests)
	if err := atomicfile.WriteJSON(filepath.Join(cfg.OutDir, SummaryFile), &sum); err != nil {
		return nil, err
	}
	return &sum, nil
}

// fileSHA256 is the hex SHA-256 of a file's content.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// removeStaleTemporaries deletes the hidden temporary files that a killed
// run left in dir (token files are written under a temporary name first).
func removeStaleTemporaries(dir string) {
	for _, pattern := range []string{"." + TrainFile + ".*", "." + ValidFile + ".*", "." + SummaryFile + ".tmp*"} {
		stale, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range stale {
			os.Remove(p)
		}
	}
}

// encodeChunk encodes every document of c: each line's ids followed by </s>,
// as fairseq binarises text.
func encodeChunk(c *prepChunk, enc Encoder, split corpus.Split) {
	unk := enc.UnkID()
	c.valid = make([]bool, len(c.docs))
	c.ends = make([]int, len(c.docs))
	c.unk = make([]int64, len(c.docs))
	for i, d := range c.docs {
		c.valid[i] = split.IsValid(d.Lines)
		for _, line := range d.Lines {
			from := len(c.ids)
			c.ids = enc.AppendIDs(c.ids, line)
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
func writeChunk(c *prepChunk, train, valid *dataset.Writer, sum *Summary) error {
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

// LoadEncoder loads the tokenizer model at path and checks that its special
// ids follow the RoBERTa order the token files and loaders assume (<s>=0,
// <pad>=1, </s>=2, <unk>=3, <mask> above them): a model trained with
// SentencePiece's defaults (<unk>=0, <s>=1, </s>=2) would otherwise give
// files whose line ends and padding mean something else.
func LoadEncoder(path string) (Encoder, error) {
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
	return m, nil
}

// The files Run writes into its output directory, a token directory.
const (
	TrainFile   = "train.tok"    // training documents' token ids (dataset's format)
	ValidFile   = "valid.tok"    // validation documents' token ids
	SummaryFile = "summary.json" // the Summary, written last: the directory's commit mark
)

// Dir is a token directory that Run wrote.
type Dir string

// Train is the path of the directory's training token file.
func (d Dir) Train() string { return filepath.Join(string(d), TrainFile) }

// Valid is the path of the directory's validation token file.
func (d Dir) Valid() string { return filepath.Join(string(d), ValidFile) }

// ReadSummary reads the summary.json that Run wrote into dir.
func ReadSummary(dir string) (*Summary, error) {
	path := filepath.Join(dir, SummaryFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("prepare: %s has no %s: it holds no finished lethe prepare (one was interrupted, or never ran); run lethe prepare", dir, SummaryFile)
	}
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("prepare: %s: %w", path, err)
	}
	for _, f := range []struct{ name, want string }{{TrainFile, s.TrainSHA256}, {ValidFile, s.ValidSHA256}} {
		if f.want == "" {
			continue // written before the hashes were recorded
		}
		got, err := fileSHA256(filepath.Join(dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		if got != f.want {
			return nil, fmt.Errorf("prepare: %s does not match %s (sha256 %.12s, recorded %.12s): the directory mixes the files of two runs; run lethe prepare again",
				filepath.Join(dir, f.name), path, got, f.want)
		}
	}
	return &s, nil
}
