package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/tokenizer"
)

// TestTokenizerTrainCommand runs "lethe tokenizer train" end to end: the
// exit code, the output files and the error messages.
func TestTokenizerTrainCommand(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join("..", "..", "tokenizer", "testdata", "en.train.txt")
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("fine\nbroken \xc3 here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  []string // substrings of stderr
		outputs bool     // PREFIX.model and PREFIX.vocab written
	}{
		{"train", []string{"--input=" + corpus, "--model_prefix=" + filepath.Join(dir, "ok"), "--vocab-size=1500", "--num_threads=2"},
			0, []string{"tokenizer train: em", "elapsed=", "wrote", "1500 pieces"}, true},
		{"spm flag names", []string{"--input", corpus + "," + corpus, "--model_prefix", filepath.Join(dir, "spm"), "--vocab_size", "800",
			"--character_coverage=1.0", "--input_sentence_size=500", "--shuffle_input_sentence=false", "--byte_fallback",
			"--normalization_rule_name=nfkc", "--max_sentencepiece_length=8", "--seed_sentencepiece_size=5000",
			"--shrinking_factor=0.8", "--num_sub_iterations=3", "--max_sentence_length=3000", "--split_digits", "--spm_compat=false", "--quiet"},
			0, []string{"wrote"}, true},
		{"invalid utf-8", []string{"--input=" + bad, "--model_prefix=" + filepath.Join(dir, "bad")},
			1, []string{bad, "byte 12", "invalid UTF-8"}, false},
		{"skip invalid utf-8", []string{"--input=" + bad, "--model_prefix=" + filepath.Join(dir, "skip"), "--vocab_size=12", "--skip_invalid_utf8"},
			1, []string{"skipped_invalid=1", "at most 10 pieces"}, false},
		{"empty corpus", []string{"--input=" + empty, "--model_prefix=" + filepath.Join(dir, "empty")},
			1, []string{"empty corpus"}, false},
		{"vocab too large", []string{"--input=" + corpus, "--model_prefix=" + filepath.Join(dir, "big"), "--vocab_size=30000", "--quiet"},
			1, []string{"--vocab_size <= "}, false},
		{"unwritable prefix", []string{"--input=" + corpus, "--model_prefix=" + filepath.Join(dir, "no", "such", "dir", "m")},
			1, []string{"cannot write"}, false},
		{"missing input flag", []string{"--model_prefix=" + filepath.Join(dir, "x")}, 1, []string{"--input is required"}, false},
		{"bad flag value", []string{"--input=" + corpus, "--model_prefix=" + filepath.Join(dir, "y"), "--shrinking_factor=2"},
			1, []string{"shrinking_factor 2"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"tokenizer", "train"}, tc.args...)
			code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			var prefix string
			for _, a := range tc.args {
				if p, ok := strings.CutPrefix(a, "--model_prefix="); ok {
					prefix = p
				}
			}
			for i, a := range tc.args {
				if a == "--model_prefix" {
					prefix = tc.args[i+1]
				}
			}
			for _, ext := range []string{".model", ".vocab"} {
				_, err := os.Stat(prefix + ext)
				if tc.outputs && err != nil {
					t.Errorf("%s%s: %v", prefix, ext, err)
				}
				if !tc.outputs && err == nil {
					t.Errorf("%s%s written by a failed run", prefix, ext)
				}
			}
		})
	}
	m, err := tokenizer.ReadModelProto(filepath.Join(dir, "spm.model"))
	if err != nil {
		t.Fatal(err)
	}
	ts := m.TrainerSpec
	if len(m.Pieces) != 800 || ts.VocabSize != 800 || ts.CharacterCoverage != 1 || ts.InputSentenceSize != 500 ||
		ts.ShuffleInputSentence || !ts.ByteFallback || ts.MaxSentencepieceLength != 8 || ts.SeedSentencepieceSize != 5000 ||
		ts.ShrinkingFactor != 0.8 || ts.NumSubIterations != 3 || ts.MaxSentenceLength != 3000 || !ts.SplitDigits ||
		len(ts.Input) != 2 || m.NormalizerSpec.Name != "nfkc" {
		t.Errorf("options not recorded: %d pieces, %+v, normalizer %q", len(m.Pieces), ts, m.NormalizerSpec.Name)
	}
	for _, p := range m.Pieces {
		if p.Type == tokenizer.Normal && len(p.Piece) > 1 && strings.ContainsAny(p.Piece, "0123456789") {
			t.Errorf("piece %q holds a digit with --split_digits", p.Piece)
		}
	}
	vocab, err := os.ReadFile(filepath.Join(dir, "ok.vocab"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(vocab), "\n"), "\n")
	if len(lines) != 1500 || lines[0] != "<s>\t0" || lines[4] != "<mask>\t0" {
		t.Errorf("ok.vocab: %d lines, starting %q", len(lines), lines[:min(5, len(lines))])
	}
}
