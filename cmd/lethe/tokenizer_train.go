package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"lethe/tokenizer"
)

// tokenizerTrainCommand is "lethe tokenizer train": SentencePiece-compatible
// unigram training, flags named as spm_train's.
func tokenizerTrainCommand() *command {
	return &command{
		name:    "tokenizer train",
		summary: "train a unigram SentencePiece tokenizer (PREFIX.model, PREFIX.vocab)",
		usage: `Trains a unigram language-model tokenizer as spm_train does (sentence sampling,
normalisation, character coverage, suffix-array seed pieces, EM with a digamma M-step,
pruning to the vocabulary size) and writes PREFIX.model (a SentencePiece ModelProto that
spm_encode and the sentencepiece Python module load) and PREFIX.vocab (piece TAB score).

The special pieces come first in RoBERTa order: <s>=0, <pad>=1, </s>=2, <unk>=3,
<mask>=4, as spm_train --bos_id=0 --pad_id=1 --eos_id=2 --unk_id=3
--control_symbols=<mask> lays them out. Progress lines go to stderr.

Example:
  lethe tokenizer train --input=a.txt,b.txt --model_prefix=spm --vocab_size=8000`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			o := tokenizer.DefaultTrainOptions()
			var input, prefix string
			var quiet bool
			fs.StringVar(&input, "input", "", "comma-separated input text files, one sentence per line (required)")
			fs.StringVar(&prefix, "model_prefix", "", "output prefix: writes PREFIX.model and PREFIX.vocab (required)")
			fs.IntVar(&o.VocabSize, "vocab_size", o.VocabSize, "vocabulary size, special pieces included")
			fs.IntVar(&o.VocabSize, "vocab-size", o.VocabSize, "same as --vocab_size")
			fs.Float64Var(&o.CharacterCoverage, "character_coverage", o.CharacterCoverage, "share of character occurrences covered by the alphabet (1.0 for small alphabets)")
			fs.IntVar(&o.InputSentenceSize, "input_sentence_size", o.InputSentenceSize, "sentences to sample from the input (0: all)")
			fs.BoolVar(&o.ShuffleInputSentence, "shuffle_input_sentence", o.ShuffleInputSentence, "sample sentences uniformly (reservoir) rather than the first ones")
			fs.BoolVar(&o.ByteFallback, "byte_fallback", o.ByteFallback, "add the 256 <0xXX> byte pieces, so that unknown characters decompose into bytes")
			fs.StringVar(&o.NormalizationRuleName, "normalization_rule_name", o.NormalizationRuleName, "normalisation: nmt_nfkc, nfkc or identity")
			fs.IntVar(&o.NumThreads, "num_threads", runtime.GOMAXPROCS(0), "worker goroutines")
			fs.IntVar(&o.MaxSentencePieceLength, "max_sentencepiece_length", o.MaxSentencePieceLength, "longest piece in characters")
			fs.IntVar(&o.SeedSentencePieceSize, "seed_sentencepiece_size", o.SeedSentencePieceSize, "number of seed pieces")
			fs.Float64Var(&o.ShrinkingFactor, "shrinking_factor", o.ShrinkingFactor, "share of pieces kept by each pruning round")
			fs.IntVar(&o.NumSubIterations, "num_sub_iterations", o.NumSubIterations, "EM iterations between prunings")
			fs.IntVar(&o.MaxSentenceLength, "max_sentence_length", o.MaxSentenceLength, "longest input line in bytes; longer lines are skipped")
			fs.BoolVar(&o.SplitDigits, "split_digits", o.SplitDigits, "make every digit a piece of its own")
			fs.BoolVar(&o.SkipInvalidUTF8, "skip_invalid_utf8", false, "skip and count lines that are not valid UTF-8 instead of failing")
			fs.BoolVar(&o.SpmCompat, "spm_compat", o.SpmCompat, "reproduce spm_train 0.1.97 exactly, quirks included (<unk> nodes counted as piece 0, pruning loss fixed in SentencePiece 0.1.99); false: the corrected rules")
			fs.Uint64Var(&o.RandomSeed, "random_seed", 0, "seed of the sentence sampling")
			fs.BoolVar(&quiet, "quiet", false, "no progress lines")
			return func(ctx context.Context, env *runEnv) error {
				if len(env.args) > 0 {
					return fmt.Errorf("unexpected arguments %q", env.args)
				}
				if input == "" {
					return errors.New("--input is required")
				}
				if prefix == "" {
					return errors.New("--model_prefix is required")
				}
				for _, f := range strings.Split(input, ",") {
					if f = strings.TrimSpace(f); f != "" {
						o.Inputs = append(o.Inputs, f)
					}
				}
				if err := checkPrefixWritable(prefix); err != nil {
					return err
				}
				o.ModelPrefix = prefix
				if !quiet {
					o.Progress = env.stderr
				}
				m, st, err := tokenizer.Train(ctx, o)
				if err != nil {
					return err
				}
				if err := tokenizer.WriteTrainedModel(prefix, m); err != nil {
					return err
				}
				fmt.Fprintf(env.stderr, "lethe tokenizer train: wrote %s.model and %s.vocab: %d pieces from %d sentences (%d lines; skipped: %d too long, %d invalid UTF-8, %d with U+2585), alphabet %d (coverage %.4f), %.1fs\n",
					prefix, prefix, len(m.Pieces), st.Sentences, st.Lines, st.SkippedLong, st.SkippedInvalid, st.SkippedReserved,
					st.Alphabet, st.Coverage, st.Elapsed.Seconds())
				return nil
			}
		},
	}
}

// checkPrefixWritable fails early, before a long training, when the
// prefix's directory cannot take the output files.
func checkPrefixWritable(prefix string) error {
	dir := filepath.Dir(prefix)
	f, err := os.CreateTemp(dir, ".lethe-write-check*")
	if err != nil {
		return fmt.Errorf("--model_prefix %s: cannot write in %s: %w", prefix, dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
