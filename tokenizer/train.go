package tokenizer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// TrainOptions configures Train. The names follow spm_train's flags; the
// zero value is not useful: start from DefaultTrainOptions.
type TrainOptions struct {
	// Inputs are the text files, one sentence per line.
	Inputs []string
	// ModelPrefix is recorded in the trainer spec (WriteTrainedModel takes
	// the prefix it writes to separately).
	ModelPrefix string
	// VocabSize is the final number of pieces, special pieces included.
	VocabSize int
	// CharacterCoverage is the share of character occurrences that must be
	// covered by single-character pieces (0.9995 as spm; 1.0 for small
	// alphabets). The rarest characters beyond it become <unk>.
	CharacterCoverage float64
	// InputSentenceSize is how many sentences to sample (0: all).
	InputSentenceSize int
	// ShuffleInputSentence samples uniformly (reservoir sampling) instead of
	// taking the first InputSentenceSize sentences.
	ShuffleInputSentence bool
	// ByteFallback adds the 256 <0xXX> BYTE pieces after the special pieces.
	ByteFallback bool
	// NormalizationRuleName names the normalisation rule: "nmt_nfkc"
	// (default), "nfkc" or "identity" (see BuildCharsmap). It is used when
	// Normalizer is nil.
	NormalizationRuleName string
	// Normalizer, when not nil, is the normalizer spec applied to the input
	// and written into the model, instead of NormalizationRuleName's.
	Normalizer *NormalizerSpec
	// NumThreads is the number of goroutines for normalisation, the E-step
	// and pruning.
	NumThreads int
	// MaxSentencePieceLength is the longest piece, in characters.
	MaxSentencePieceLength int
	// SeedSentencePieceSize is the number of seed pieces taken from the
	// suffix array.
	SeedSentencePieceSize int
	// ShrinkingFactor is the share of pieces kept by each pruning round.
	ShrinkingFactor float64
	// NumSubIterations is the number of EM iterations between prunings.
	NumSubIterations int
	// MaxSentenceLength is the longest input line in bytes; longer lines are
	// skipped and counted. At most 65535.
	MaxSentenceLength int
	// SplitDigits makes every digit a piece of its own.
	SplitDigits bool
	// SkipInvalidUTF8 skips (and counts) lines that are not valid UTF-8
	// instead of failing.
	SkipInvalidUTF8 bool
	// SpmCompat reproduces spm_train 0.1.97 (Debian 12's) exactly, two
	// quirks included: the marginals and Viterbi counts of <unk> lattice
	// nodes go to piece 0 (SentencePiece's trainer model leaves its unknown
	// id at 0), and the pruning loss grows the total count by the removed
	// piece's count times the vocabulary size less one, where the number of
	// its alternatives less one was meant (fixed in SentencePiece 0.1.99).
	// When false, <unk> nodes count for no piece and the loss uses the
	// alternatives. Both give the same pieces per word within about 1.5%
	// on testdata; SpmCompat gives spm_train's very vocabulary.
	SpmCompat bool
	// RandomSeed seeds the sentence sampling.
	RandomSeed uint64
	// Progress, when not nil, receives one line per phase and EM iteration.
	Progress io.Writer
}

// DefaultTrainOptions returns spm_train's defaults (vocabulary size 8000,
// nmt_nfkc, coverage 0.9995, ...), SpmCompat on and one thread per CPU;
// set Inputs before calling Train.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		VocabSize:              8000,
		CharacterCoverage:      0.9995,
		ShuffleInputSentence:   true,
		NormalizationRuleName:  "nmt_nfkc",
		NumThreads:             runtime.GOMAXPROCS(0),
		MaxSentencePieceLength: 16,
		SeedSentencePieceSize:  1000000,
		ShrinkingFactor:        0.75,
		NumSubIterations:       2,
		MaxSentenceLength:      4192,
		SpmCompat:              true,
	}
}

// TrainStats reports what Train read and did.
type TrainStats struct {
	Lines           int64 // lines read from the inputs
	Sentences       int   // sentences used (after sampling and dropping empty ones)
	SkippedLong     int64 // lines longer than MaxSentenceLength bytes
	SkippedInvalid  int64 // lines with invalid UTF-8 (with SkipInvalidUTF8)
	SkippedReserved int64 // lines holding U+2585, the reserved unknown-character mark
	Alphabet        int   // required characters
	Coverage        float64
	SeedPieces      int
	Words           int // distinct whitespace-delimited words used by EM
	EMIterations    int
	Elapsed         time.Duration
}

// trainMetaPieces returns the special pieces of a Lethe model in RoBERTa
// order (see docs/ARCHITECTURE.md), the layout that spm_train --bos_id=0
// --pad_id=1 --eos_id=2 --unk_id=3 --control_symbols=<mask> produces,
// followed by the 256 byte pieces when byteFallback is set.
func trainMetaPieces(byteFallback bool) []Piece {
	out := []Piece{
		{Piece: "<s>", Type: Control},
		{Piece: "<pad>", Type: Control},
		{Piece: "</s>", Type: Control},
		{Piece: "<unk>", Type: Unknown},
		{Piece: "<mask>", Type: Control},
	}
	if byteFallback {
		for b := 0; b < 256; b++ {
			out = append(out, Piece{Piece: fmt.Sprintf("<0x%02X>", b), Type: Byte})
		}
	}
	return out
}

// checkTrainOptions validates o with the ranges spm_train accepts.
func checkTrainOptions(o *TrainOptions) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.Inputs) == 0 {
		bad("no input files")
	}
	meta := len(trainMetaPieces(o.ByteFallback))
	if o.VocabSize <= meta {
		bad("vocab_size %d: must exceed the %d special pieces", o.VocabSize, meta)
	}
	if o.CharacterCoverage < 0.98 || o.CharacterCoverage > 1 {
		bad("character_coverage %g: must be in [0.98, 1]", o.CharacterCoverage)
	}
	if o.InputSentenceSize < 0 {
		bad("input_sentence_size %d: must be >= 0", o.InputSentenceSize)
	}
	if o.NumThreads < 1 || o.NumThreads > 1024 {
		bad("num_threads %d: must be in [1, 1024]", o.NumThreads)
	}
	if o.MaxSentencePieceLength < 1 || o.MaxSentencePieceLength > 512 {
		bad("max_sentencepiece_length %d: must be in [1, 512]", o.MaxSentencePieceLength)
	}
	if o.SeedSentencePieceSize < 1 || o.SeedSentencePieceSize > 50000000 {
		bad("seed_sentencepiece_size %d: must be in [1, 50000000]", o.SeedSentencePieceSize)
	}
	if o.ShrinkingFactor < 0.5 || o.ShrinkingFactor > 0.95 {
		bad("shrinking_factor %g: must be in [0.5, 0.95]", o.ShrinkingFactor)
	}
	if o.NumSubIterations < 1 || o.NumSubIterations > 10 {
		bad("num_sub_iterations %d: must be in [1, 10]", o.NumSubIterations)
	}
	if o.MaxSentenceLength < 1 || o.MaxSentenceLength > 65535 {
		bad("max_sentence_length %d: must be in [1, 65535]", o.MaxSentenceLength)
	}
	return errors.Join(errs...)
}

// ErrVocabTooLarge is wrapped by Train's error when the corpus cannot give
// as many pieces as asked.
var ErrVocabTooLarge = errors.New("vocabulary size too large for the corpus")

// Train trains a unigram language model tokenizer on opts.Inputs as
// SentencePiece's unigram trainer does: sentences are read (sampled when
// InputSentenceSize > 0), normalised, reduced to the characters that reach
// CharacterCoverage, seeded with the most frequent substrings of a suffix
// array, then refined by EM with a digamma (Bayesian) M-step and pruned by
// the loss of likelihood each piece's removal causes, until VocabSize pieces
// remain. The model has the RoBERTa special pieces first (see
// trainMetaPieces).
func Train(ctx context.Context, opts TrainOptions) (*ModelProto, *TrainStats, error) {
	start := time.Now()
	if err := checkTrainOptions(&opts); err != nil {
		return nil, nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	spec := opts.Normalizer
	if spec == nil {
		cm, err := BuildCharsmap(opts.NormalizationRuleName)
		if err != nil {
			return nil, nil, fmt.Errorf("tokenizer: train: %w", err)
		}
		spec = NewNormalizerSpec(opts.NormalizationRuleName, cm)
	}
	norm, err := NewNormalizer(spec, nil, false)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	t := &trainer{opts: opts, norm: norm, start: start, stats: &TrainStats{}}
	if err := t.load(ctx); err != nil {
		return nil, t.stats, fmt.Errorf("tokenizer: train: %w", err)
	}
	t.words, t.wordFreq = trainSplitWords(t.sentences)
	seeds, err := t.seedPieces(ctx)
	if err != nil {
		return nil, t.stats, fmt.Errorf("tokenizer: train: %w", err)
	}
	final, err := t.runEM(ctx, seeds)
	if err != nil {
		return nil, t.stats, fmt.Errorf("tokenizer: train: %w", err)
	}
	meta := trainMetaPieces(opts.ByteFallback)
	if len(final)+len(meta) < opts.VocabSize {
		return nil, t.stats, fmt.Errorf("tokenizer: train: vocab_size %d: %w: it gives at most %d pieces; set --vocab_size <= %d",
			opts.VocabSize, ErrVocabTooLarge, len(final)+len(meta), len(final)+len(meta))
	}
	m := &ModelProto{
		TrainerSpec:    trainerSpecFor(&opts),
		NormalizerSpec: spec,
	}
	m.Pieces = append(m.Pieces, meta...)
	for _, p := range final {
		m.Pieces = append(m.Pieces, Piece{Piece: p.piece, Score: float32(p.score), Type: Normal})
	}
	t.stats.Elapsed = time.Since(start)
	t.progress("done", "pieces=%d", len(m.Pieces))
	return m, t.stats, nil
}

// trainerSpecFor records opts in a TrainerSpec, with the RoBERTa special ids.
func trainerSpecFor(o *TrainOptions) *TrainerSpec {
	ts := NewTrainerSpec()
	ts.Input = append([]string(nil), o.Inputs...)
	ts.ModelPrefix = o.ModelPrefix
	ts.ModelType = ModelTypeUnigram
	ts.VocabSize = int32(o.VocabSize)
	ts.CharacterCoverage = float32(o.CharacterCoverage)
	ts.InputSentenceSize = uint64(o.InputSentenceSize)
	ts.ShuffleInputSentence = o.ShuffleInputSentence
	ts.SeedSentencepieceSize = int32(o.SeedSentencePieceSize)
	ts.ShrinkingFactor = float32(o.ShrinkingFactor)
	ts.MaxSentenceLength = int32(o.MaxSentenceLength)
	ts.NumThreads = int32(o.NumThreads)
	ts.NumSubIterations = int32(o.NumSubIterations)
	ts.MaxSentencepieceLength = int32(o.MaxSentencePieceLength)
	ts.SplitDigits = o.SplitDigits
	ts.ControlSymbols = []string{"<mask>"}
	ts.ByteFallback = o.ByteFallback
	ts.BosID, ts.PadID, ts.EosID, ts.UnkID = 0, 1, 2, 3
	return ts
}

// WriteTrainedModel writes m to prefix+".model" (protobuf) and
// prefix+".vocab" (piece TAB score per line, as spm_train writes it), each
// through a temporary file renamed into place.
func WriteTrainedModel(prefix string, m *ModelProto) error {
	if prefix == "" {
		return errors.New("tokenizer: empty model prefix")
	}
	if err := trainWriteFileAtomic(prefix+".model", m.Marshal()); err != nil {
		return err
	}
	var vocab []byte
	for _, p := range m.Pieces {
		vocab = append(vocab, p.Piece...)
		vocab = append(vocab, '\t')
		vocab = strconv.AppendFloat(vocab, float64(p.Score), 'g', 6, 32)
		vocab = append(vocab, '\n')
	}
	return trainWriteFileAtomic(prefix+".vocab", vocab)
}

// trainWriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it into place.
func trainWriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tokenizer: writing %s: %w", path, err)
	}
	tmp := f.Name()
	w := bufio.NewWriter(f)
	_, err = w.Write(data)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tokenizer: writing %s: %w", path, err)
	}
	return nil
}

// trainer holds the state of one Train call.
type trainer struct {
	opts  TrainOptions
	norm  *Normalizer
	start time.Time
	stats *TrainStats

	sentences []string       // normalised, rare characters replaced by U+2585; dropped once the suffix array's text is built
	words     []string       // distinct words of the sentences, for EM
	wordFreq  []float64      // their counts
	required  map[rune]int64 // required characters and their counts
	script    trainScriptTable
}

// progress writes one progress line: phase, details, elapsed time.
func (t *trainer) progress(phase, format string, args ...any) {
	if t.opts.Progress == nil {
		return
	}
	fmt.Fprintf(t.opts.Progress, "tokenizer train: %-6s %s elapsed=%.1fs\n", phase,
		fmt.Sprintf(format, args...), time.Since(t.start).Seconds())
}
