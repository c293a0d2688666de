package tokenizer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// trainLangs are the languages of testdata/, with the vocabulary size used
// for them in the tests (what the 200 KB training files can give; spm_train
// refuses 8000 for most).
var trainLangs = []struct {
	lang  string
	vocab int
}{
	{"en", 4000}, {"de", 4000}, {"ru", 4000}, {"ja", 4000}, {"ko", 4000}, {"zh", 4000},
}

// spmTrainArgs are the spm_train flags that give Lethe's special-piece
// layout.
var spmTrainArgs = []string{"--bos_id=0", "--pad_id=1", "--eos_id=2", "--unk_id=3", "--control_symbols=<mask>"}

// needTool fails the test when a SentencePiece tool is missing: CI installs
// the sentencepiece package, so the interop tests must run, not skip.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (install Debian's sentencepiece): %v", name, err)
	}
	return p
}

// spmTrain runs spm_train and returns the model path.
func spmTrain(t testing.TB, input, prefix string, vocab int, extra ...string) string {
	t.Helper()
	args := append([]string{"--input=" + input, "--model_prefix=" + prefix, fmt.Sprintf("--vocab_size=%d", vocab), "--num_threads=2"}, spmTrainArgs...)
	args = append(args, extra...)
	cmd := exec.Command(needTool(t, "spm_train"), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spm_train %v: %v\n%s", args, err, lastLines(out, 5))
	}
	return prefix + ".model"
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// spmEncode encodes input with spm_encode (pieces, one line per line).
func spmEncode(t testing.TB, model, input string) []string {
	t.Helper()
	cmd := exec.Command(needTool(t, "spm_encode"), "--model="+model, "--output_format=piece", "--input="+input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("spm_encode --model=%s: %v\n%s", model, err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// pythonEncode encodes input with Debian's python3-sentencepiece (pieces
// joined by spaces, one line per line), which must load Lethe's model.
func pythonEncode(t testing.TB, model, input string) []string {
	t.Helper()
	const script = `
import sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        print(" ".join(sp.encode(line.rstrip("\n"), out_type=str)))
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, model, input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 sentencepiece (install Debian's python3-sentencepiece): %v\n%s", err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// trainTestModel trains a Lethe model on testdata/LANG.train.txt and writes
// it under dir; it returns the model path.
func trainTestModel(t testing.TB, lang string, vocab int, dir string, spmCompat bool) (string, *TrainStats) {
	t.Helper()
	o := DefaultTrainOptions()
	o.SpmCompat = spmCompat
	o.Inputs = []string{filepath.Join("testdata", lang+".train.txt")}
	o.VocabSize = vocab
	o.NumThreads = 2
	prefix := filepath.Join(dir, fmt.Sprintf("lethe-%s-%v", lang, spmCompat))
	o.ModelPrefix = prefix
	m, st, err := Train(context.Background(), o)
	if err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	if err := WriteTrainedModel(prefix, m); err != nil {
		t.Fatal(err)
	}
	return prefix + ".model", st
}

// piecesPerWord is the number of pieces over the number of
// whitespace-separated words (characters for ja and zh, which have no
// spaces) of the encoded lines.
func piecesPerWord(lang string, raw, encoded []string) float64 {
	var pieces, words int
	for i, l := range encoded {
		pieces += len(strings.Fields(l))
		if lang == "ja" || lang == "zh" {
			words += len([]rune(strings.Join(strings.Fields(raw[i]), "")))
		} else {
			words += len(strings.Fields(raw[i]))
		}
	}
	return float64(pieces) / float64(words)
}

func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestTrainQualityBesideSpmTrain trains Lethe (with and without SpmCompat)
// and spm_train on the same corpus and vocabulary size and compares pieces
// per word on held-out text (all encoded by spm_encode): within 3% (the
// report gives the real figures). With SpmCompat the vocabulary must be
// spm_train's, up to 1.5% of the pieces.
func TestTrainQualityBesideSpmTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 18 models")
	}
	dir := t.TempDir()
	for _, tc := range trainLangs {
		t.Run(tc.lang, func(t *testing.T) {
			spm := spmTrain(t, filepath.Join("testdata", tc.lang+".train.txt"), filepath.Join(dir, "spm-"+tc.lang), tc.vocab)
			test := filepath.Join("testdata", tc.lang+".test.txt")
			raw := readLines(t, test)
			sp := piecesPerWord(tc.lang, raw, spmEncode(t, spm, test))
			sm, err := ReadModelProto(spm)
			if err != nil {
				t.Fatal(err)
			}
			for _, compat := range []bool{true, false} {
				lethe, st := trainTestModel(t, tc.lang, tc.vocab, dir, compat)
				lp := piecesPerWord(tc.lang, raw, spmEncode(t, lethe, test))
				rel := (lp - sp) / sp
				lm, err := ReadModelProto(lethe)
				if err != nil {
					t.Fatal(err)
				}
				shared := sharedPieces(lm, sm)
				t.Logf("%s vocab=%d spm_compat=%v: pieces/word lethe=%.4f spm_train=%.4f (%+.2f%%); %.2f%% of spm_train's pieces shared; alphabet=%d seeds=%d words=%d em_iters=%d",
					tc.lang, tc.vocab, compat, lp, sp, 100*rel, 100*shared, st.Alphabet, st.SeedPieces, st.Words, st.EMIterations)
				if math.Abs(rel) > 0.03 {
					t.Errorf("spm_compat=%v: pieces/word %.4f vs spm_train %.4f: %+.2f%%, want within 3%%", compat, lp, sp, 100*rel)
				}
				if compat && shared < 0.985 {
					t.Errorf("spm_compat: only %.2f%% of spm_train's pieces in Lethe's vocabulary, want >= 98.5%%", 100*shared)
				}
				if len(lm.Pieces) != tc.vocab {
					t.Errorf("lethe model has %d pieces, want %d", len(lm.Pieces), tc.vocab)
				}
				for i := 0; i < 5; i++ {
					if lm.Pieces[i].Piece != sm.Pieces[i].Piece || lm.Pieces[i].Type != sm.Pieces[i].Type {
						t.Errorf("piece %d = %q %v, spm_train has %q %v", i, lm.Pieces[i].Piece, lm.Pieces[i].Type, sm.Pieces[i].Piece, sm.Pieces[i].Type)
					}
				}
			}
		})
	}
}

// sharedPieces returns the share of b's pieces that a has too.
func sharedPieces(a, b *ModelProto) float64 {
	in := map[string]bool{}
	for _, p := range a.Pieces {
		in[p.Piece] = true
	}
	n := 0
	for _, p := range b.Pieces {
		if in[p.Piece] {
			n++
		}
	}
	return float64(n) / float64(len(b.Pieces))
}

// TestTrainSpmEncodeInterop trains a model per language with Lethe, then
// encodes the held-out text with spm_encode (which loads Lethe's .model) and
// with Lethe's own encoder: every line must match.
func TestTrainSpmEncodeInterop(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range trainLangs {
		t.Run(tc.lang, func(t *testing.T) {
			model, _ := trainTestModel(t, tc.lang, tc.vocab, dir, true)
			test := filepath.Join("testdata", tc.lang+".test.txt")
			raw := readLines(t, test)
			spm := spmEncode(t, model, test)
			if len(spm) != len(raw) {
				t.Fatalf("spm_encode gave %d lines for %d", len(spm), len(raw))
			}
			m, err := Load(model)
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			for i, line := range raw {
				got := strings.Join(m.Encode(line), " ")
				if got == spm[i] {
					same++
				} else if same+5 > i {
					t.Errorf("line %d: lethe %q\nspm_encode %q", i+1, got, spm[i])
				}
			}
			t.Logf("%s: %d/%d held-out lines identical (%.2f%%)", tc.lang, same, len(raw), 100*float64(same)/float64(len(raw)))
			if same != len(raw) {
				t.Errorf("%d of %d lines differ", len(raw)-same, len(raw))
			}
			py := pythonEncode(t, model, test)
			if !slices.Equal(py, spm) {
				t.Errorf("the sentencepiece Python module encodes the held-out text differently from spm_encode")
			}
		})
	}
}

// TestTrainByteFallbackLayout checks the special pieces, the byte pieces and
// the recorded trainer spec of a byte-fallback model, and that spm_encode
// and Lethe agree on text with characters outside its alphabet.
func TestTrainByteFallbackLayout(t *testing.T) {
	dir := t.TempDir()
	o := DefaultTrainOptions()
	o.Inputs = []string{"testdata/en.train.txt"}
	o.VocabSize = 1000
	o.ByteFallback = true
	o.NumThreads = 2
	m, _, err := Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id    int
		piece string
		typ   PieceType
	}{
		{0, "<s>", Control}, {1, "<pad>", Control}, {2, "</s>", Control}, {3, "<unk>", Unknown},
		{4, "<mask>", Control}, {5, "<0x00>", Byte}, {5 + 0x41, "<0x41>", Byte}, {260, "<0xFF>", Byte},
	}
	for _, w := range want {
		if p := m.Pieces[w.id]; p.Piece != w.piece || p.Type != w.typ || p.Score != 0 {
			t.Errorf("piece %d = %q %v %g, want %q %v 0", w.id, p.Piece, p.Type, p.Score, w.piece, w.typ)
		}
	}
	if p := m.Pieces[261]; p.Type != Normal || p.Score >= 0 {
		t.Errorf("piece 261 = %q %v %g, want a NORMAL piece with a negative score", p.Piece, p.Type, p.Score)
	}
	for i := 262; i < len(m.Pieces); i++ {
		if m.Pieces[i].Score > m.Pieces[i-1].Score {
			t.Fatalf("piece %d score %g above piece %d's %g: not sorted", i, m.Pieces[i].Score, i-1, m.Pieces[i-1].Score)
		}
	}
	ts := m.TrainerSpec
	if ts.BosID != 0 || ts.PadID != 1 || ts.EosID != 2 || ts.UnkID != 3 || !ts.ByteFallback || ts.VocabSize != 1000 ||
		!slices.Equal(ts.ControlSymbols, []string{"<mask>"}) || ts.CharacterCoverage != 0.9995 || ts.ModelType != ModelTypeUnigram {
		t.Errorf("trainer spec: %+v", ts)
	}
	if m.NormalizerSpec.Name != "nmt_nfkc" || len(m.NormalizerSpec.PrecompiledCharsmap) == 0 {
		t.Errorf("normalizer spec %q with %d charsmap bytes", m.NormalizerSpec.Name, len(m.NormalizerSpec.PrecompiledCharsmap))
	}
	prefix := filepath.Join(dir, "bf")
	if err := WriteTrainedModel(prefix, m); err != nil {
		t.Fatal(err)
	}
	sm, err := ReadModelProto(spmTrain(t, "testdata/en.train.txt", filepath.Join(dir, "spm-bf"), 1000, "--byte_fallback"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.Pieces) != len(m.Pieces) {
		t.Fatalf("spm_train --byte_fallback gave %d pieces, Lethe %d", len(sm.Pieces), len(m.Pieces))
	}
	for i := 0; i < 261; i++ {
		if sm.Pieces[i].Piece != m.Pieces[i].Piece || sm.Pieces[i].Type != m.Pieces[i].Type {
			t.Errorf("piece %d: lethe %q %v, spm_train %q %v", i, m.Pieces[i].Piece, m.Pieces[i].Type, sm.Pieces[i].Piece, sm.Pieces[i].Type)
		}
	}
	if shared := sharedPieces(m, sm); shared < 0.985 {
		t.Errorf("byte fallback: %.2f%% of spm_train's pieces shared, want >= 98.5%%", 100*shared)
	}
	text := filepath.Join(dir, "odd.txt")
	lines := []string{"Ünïcödé → 東京 ☃ naïve", "plain words only", "emoji 🙂 and Ω"}
	if err := os.WriteFile(text, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spm := spmEncode(t, prefix+".model", text)
	lm, err := Load(prefix + ".model")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if got := strings.Join(lm.Encode(l), " "); got != spm[i] {
			t.Errorf("%q: lethe %q, spm_encode %q", l, got, spm[i])
		}
	}
	if !strings.Contains(spm[0], "<0xE6>") {
		t.Errorf("spm_encode %q: expected byte pieces for 東", spm[0])
	}
}

// TestWriteTrainedModelVocab checks the .vocab format against spm_train's
// (piece TAB score, scores printed as C++ streams print floats) and that
// the files replace older ones atomically.
func TestWriteTrainedModelVocab(t *testing.T) {
	dir := t.TempDir()
	m := &ModelProto{Pieces: []Piece{
		{Piece: "<s>", Type: Control}, {Piece: "▁the", Score: -3.015744}, {Piece: "x", Score: -12.5},
		{Piece: "y", Score: -1e-05}, {Piece: "z", Score: -100.00001},
	}}
	prefix := filepath.Join(dir, "v")
	if err := os.WriteFile(prefix+".vocab", []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteTrainedModel(prefix, m); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(prefix + ".vocab")
	if err != nil {
		t.Fatal(err)
	}
	want := "<s>\t0\n▁the\t-3.01574\nx\t-12.5\ny\t-1e-05\nz\t-100\n"
	if string(got) != want {
		t.Errorf("vocab:\n%s\nwant:\n%s", got, want)
	}
	back, err := ReadModelProto(prefix + ".model")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Pieces) != 5 || back.Pieces[1].Piece != "▁the" || back.Pieces[1].Score != float32(-3.015744) {
		t.Errorf("model read back: %+v", back.Pieces)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want the two outputs only (no temporary files)", len(ents))
	}
	if err := WriteTrainedModel(filepath.Join(dir, "missing", "v"), m); err == nil {
		t.Error("writing under a missing directory: no error")
	}
}

// writeCorpus writes lines to a file in dir and returns its path.
func writeCorpus(t testing.TB, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainErrors covers bad input: each case must fail with a clear error.
func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	good := "testdata/en.train.txt"
	bad := writeCorpus(t, dir, "bad.txt", "first line is fine", "second \xff\xfe line")
	empty := writeCorpus(t, dir, "empty.txt", "", "   ", "")
	tests := []struct {
		name   string
		edit   func(o *TrainOptions)
		target error
		want   []string
	}{
		{"invalid utf-8", func(o *TrainOptions) { o.Inputs = []string{bad} }, nil,
			[]string{bad, "byte 26", "line 2", "invalid UTF-8"}},
		{"empty corpus", func(o *TrainOptions) { o.Inputs = []string{empty} }, ErrEmptyCorpus, []string{empty, "2 lines read"}},
		{"all lines too long", func(o *TrainOptions) { o.MaxSentenceLength = 10 }, ErrEmptyCorpus, []string{"longer than 10 bytes"}},
		{"missing file", func(o *TrainOptions) { o.Inputs = []string{filepath.Join(dir, "nope.txt")} }, os.ErrNotExist, []string{"nope.txt"}},
		{"vocab too large", func(o *TrainOptions) { o.VocabSize = 20000 }, ErrVocabTooLarge, []string{"at most 51", "--vocab_size <= 51"}},
		{"vocab below alphabet", func(o *TrainOptions) { o.VocabSize = 60 }, ErrVocabTooLarge, []string{"78 required characters"}},
		{"bad coverage", func(o *TrainOptions) { o.CharacterCoverage = 0.5 }, nil, []string{"character_coverage 0.5"}},
		{"no inputs", func(o *TrainOptions) { o.Inputs = nil }, nil, []string{"no input files"}},
		{"bad rule", func(o *TrainOptions) { o.NormalizationRuleName = "nfkd" }, nil, []string{"nfkd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultTrainOptions()
			o.Inputs = []string{good}
			o.VocabSize = 1000
			tc.edit(&o)
			_, _, err := Train(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error %v: not %v", err, tc.target)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestTrainSkipsAndSamples checks line skipping (invalid UTF-8 with
// SkipInvalidUTF8, too long, reserved U+2585) and reservoir sampling.
func TestTrainSkipsAndSamples(t *testing.T) {
	dir := t.TempDir()
	lines := readLines(t, "testdata/en.train.txt")
	mixed := append([]string{"bad \xff byte", strings.Repeat("long ", 1000), "has ▅ mark"}, lines...)
	in := writeCorpus(t, dir, "mixed.txt", mixed...)
	o := DefaultTrainOptions()
	o.Inputs = []string{in}
	o.VocabSize = 1000
	o.SkipInvalidUTF8 = true
	o.MaxSentenceLength = 4000
	_, st, err := Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if st.SkippedInvalid != 1 || st.SkippedLong != 1 || st.SkippedReserved != 1 || st.Lines != int64(len(mixed)) {
		t.Errorf("stats %+v: want 1 invalid, 1 long, 1 reserved of %d lines", st, len(mixed))
	}
	for _, shuffle := range []bool{false, true} {
		o := DefaultTrainOptions()
		o.Inputs = []string{"testdata/en.train.txt", "testdata/de.train.txt"}
		o.VocabSize = 500
		o.InputSentenceSize = 300
		o.ShuffleInputSentence = shuffle
		tr := &trainer{opts: o, stats: &TrainStats{}}
		got, err := tr.readSentences(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 300 {
			t.Fatalf("shuffle=%v: sampled %d sentences, want 300", shuffle, len(got))
		}
		fromEN := 0
		enSet := map[string]bool{}
		for _, l := range lines {
			enSet[l] = true
		}
		for _, s := range got {
			if enSet[s] {
				fromEN++
			}
		}
		if !shuffle && (fromEN != 300 || got[0] != lines[0]) {
			t.Errorf("first 300: %d from the first file, first %q", fromEN, got[0])
		}
		if shuffle && (fromEN == 300 || fromEN == 0) {
			t.Errorf("reservoir sample: %d of 300 from the first file; want both files represented", fromEN)
		}
		if shuffle && int64(len(got)) != 300 {
			t.Errorf("sample holds %d", len(got))
		}
	}
}

// TestTrainDeterministicAndProgress trains twice with the same options and
// expects identical models, and progress lines for every phase.
func TestTrainDeterministicAndProgress(t *testing.T) {
	var progress bytes.Buffer
	o := DefaultTrainOptions()
	o.Inputs = []string{"testdata/ru.train.txt"}
	o.VocabSize = 2000
	o.NumThreads = 2
	o.InputSentenceSize = 800
	o.Progress = &progress
	a, _, err := Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Progress = nil
	b, _, err := Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Marshal(), b.Marshal()) {
		t.Error("two trainings with the same options differ")
	}
	for _, phase := range []string{"load", "chars", "seed", "em ", "prune", "done"} {
		if !strings.Contains(progress.String(), "tokenizer train: "+phase) {
			t.Errorf("no %q progress line in:\n%s", phase, progress.String())
		}
	}
	if !strings.Contains(progress.String(), "elapsed=") || !strings.Contains(progress.String(), "pieces=") {
		t.Errorf("progress lacks elapsed time or vocabulary size:\n%s", progress.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Train(ctx, o); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
}

// TestTrainSuffixArrayAndLCP compares the suffix and LCP arrays with a
// naive construction.
func TestTrainSuffixArrayAndLCP(t *testing.T) {
	for _, text := range []string{"", "a", "banana\x00", "abracadabra\x00abra\x00", "▁при▁привет\x00▁при\x00", "ああいあい\x00"} {
		data := []byte(text)
		sa, err := trainSuffixArray(data)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]int32, len(data))
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortFunc(want, func(a, b int32) int { return bytes.Compare(data[a:], data[b:]) })
		if !slices.Equal(sa, want) {
			t.Errorf("%q: suffix array %v, want %v", text, sa, want)
		}
		plcp := trainLCPArray(data, sa)
		for i := 1; i < len(sa); i++ {
			a, b := data[sa[i-1]:], data[sa[i]:]
			l := 0
			for l < len(a) && l < len(b) && a[l] == b[l] {
				l++
			}
			if int(plcp[sa[i]]) != l {
				t.Errorf("%q: lcp at rank %d = %d, want %d", text, i, plcp[sa[i]], l)
			}
		}
	}
}

// TestTrainSeedsMatchNaive checks the seed substrings against a brute-force
// enumeration of the character strings that occur at least twice and are
// followed by two different characters (the suffix tree's internal nodes).
func TestTrainSeedsMatchNaive(t *testing.T) {
	sentences := []string{"▁привет▁мир", "▁при▁привет", "▁東京▁東京都", "▁abcabc▁ab", "▁мир▁мирный▁東京", "▁abcd▁abce"}
	tr := &trainer{opts: DefaultTrainOptions(), stats: &TrainStats{}, sentences: sentences, required: map[rune]int64{}}
	for _, s := range sentences {
		for _, r := range s {
			tr.required[r]++
		}
	}
	tr.script = newTrainScriptTable(tr.required)
	seeds, err := tr.seedPieces(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range seeds {
		if len([]rune(p.piece)) > 1 {
			got[p.piece] = true
		}
	}
	text := []rune(strings.Join(sentences, "\x00") + "\x00")
	next := map[string]map[rune]bool{}
	for i := range text {
		for j := i + 1; j < len(text); j++ {
			s := string(text[i:j])
			if strings.ContainsRune(s, 0) {
				break
			}
			if next[s] == nil {
				next[s] = map[rune]bool{}
			}
			next[s][text[j]] = true
		}
	}
	want := map[string]bool{}
	for s, nx := range next {
		if len(nx) >= 2 && len([]rune(s)) > 1 && tr.validPiece([]byte(s)) {
			want[s] = true
		}
	}
	for s := range want {
		if !got[s] {
			t.Errorf("missing seed %q", s)
		}
	}
	for s := range got {
		if !want[s] {
			t.Errorf("unexpected seed %q", s)
		}
	}
	if len(want) < 10 {
		t.Errorf("only %d naive seeds: test corpus too poor", len(want))
	}
	var sum float64
	for _, p := range seeds {
		sum += math.Exp(p.score)
	}
	if math.Abs(sum-1) > 1e-6 { // scores are float32
		t.Errorf("seed probabilities sum to %g", sum)
	}

	// With a cap, the seeds are the best by frequency x length, then text.
	occ := map[string]int{}
	for i := range text {
		for j := i + 1; j < len(text); j++ {
			if want[string(text[i:j])] {
				occ[string(text[i:j])]++
			}
		}
	}
	var ranked []string
	for s := range want {
		ranked = append(ranked, s)
	}
	score := func(s string) int { return occ[s] * len([]rune(s)) }
	slices.SortFunc(ranked, func(a, b string) int {
		if score(a) != score(b) {
			return score(b) - score(a)
		}
		return strings.Compare(a, b)
	})
	for _, threads := range []int{1, 2, 3} {
		tr.opts.SeedSentencePieceSize = 7
		tr.opts.NumThreads = threads
		tr.sentences = sentences // seedPieces drops them
		capped, err := tr.seedPieces(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var top []string
		for _, p := range capped[len(tr.required):] {
			top = append(top, p.piece)
		}
		if !slices.Equal(top, ranked[:7]) {
			t.Errorf("threads=%d: capped seeds %q, want %q", threads, top, ranked[:7])
		}
	}
}

// TestTrainValidPiece covers the piece rules.
func TestTrainValidPiece(t *testing.T) {
	tr := &trainer{opts: DefaultTrainOptions()}
	chars := map[rune]int64{}
	for _, r := range "abcxyzабв東京あアー1234.,-" {
		chars[r] = 1
	}
	tr.script = newTrainScriptTable(chars)
	tests := []struct {
		piece       string
		splitDigits bool
		want        bool
	}{
		{"abc", false, true},
		{"▁abc", false, true},
		{"ab▁c", false, false},
		{"abc▁", false, false},
		{"▁", false, true},
		{"abв", false, false},
		{"東京", false, true},
		{"東あア", false, true},
		{"アー", false, true},
		{"ab1", false, false},
		{"1234", false, true},
		{"1234", true, false},
		{"1", true, true},
		{"a▅", false, false},
		{"a b", false, false},
		{"", false, false},
		{"abcabcabcabcabcab", false, false},
		{"abcabcabcabcabca", false, true},
		{"...", false, true},
	}
	for _, tc := range tests {
		tr.opts.SplitDigits = tc.splitDigits
		if got := tr.validPiece([]byte(tc.piece)); got != tc.want {
			t.Errorf("validPiece(%q, split_digits=%v) = %v, want %v", tc.piece, tc.splitDigits, got, tc.want)
		}
	}
}

// TestTrainDigamma checks digamma against known values.
func TestTrainDigamma(t *testing.T) {
	tests := []struct{ x, want float64 }{
		{1, -0.5772156649015329},
		{0.5, -1.9635100260214235},
		{2, 0.42278433509846713},
		{10, 2.251752589066721},
		{1000, 6.907255195648812},
	}
	for _, tc := range tests {
		if got := trainDigamma(tc.x); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("digamma(%g) = %.15g, want %.15g", tc.x, got, tc.want)
		}
	}
}

// TestTrainMatcher compares the prefix matcher with a brute-force search.
func TestTrainMatcher(t *testing.T) {
	pieces := []trainPiece{{piece: "a"}, {piece: "ab"}, {piece: "abc"}, {piece: "abd"}, {piece: "b"}, {piece: "▁a"}, {piece: "▁"}, {piece: "при"}, {piece: "п"}, {piece: "abcdef"}}
	m := newTrainMatcher(pieces)
	for _, s := range []string{"abcdefg", "abd", "b", "▁ab", "привет", "x", "abce"} {
		var got []string
		m.match(s, func(id int32, n int) {
			if pieces[id].piece != s[:n] {
				t.Errorf("%q: id %d (%q) with length %d", s, id, pieces[id].piece, n)
			}
			got = append(got, pieces[id].piece)
		})
		var want []string
		for _, p := range pieces {
			if strings.HasPrefix(s, p.piece) {
				want = append(want, p.piece)
			}
		}
		sort.Slice(want, func(i, j int) bool { return len(want[i]) < len(want[j]) })
		if !slices.Equal(got, want) {
			t.Errorf("%q: matched %q, want %q", s, got, want)
		}
	}
}

// TestTrainOptionsMatchSpmTrain trains Lethe and spm_train with the same
// non-default options and expects (nearly) the same vocabulary: each option
// must act as spm_train's does.
func TestTrainOptionsMatchSpmTrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 14 models")
	}
	dir := t.TempDir()
	tests := []struct {
		name  string
		lang  string
		vocab int
		edit  func(o *TrainOptions)
		flags []string
	}{
		{"identity", "de", 2000, func(o *TrainOptions) { o.NormalizationRuleName = "identity" }, []string{"--normalization_rule_name=identity"}},
		{"nfkc", "ja", 3000, func(o *TrainOptions) { o.NormalizationRuleName = "nfkc" }, []string{"--normalization_rule_name=nfkc"}},
		{"split digits", "en", 2000, func(o *TrainOptions) { o.SplitDigits = true }, []string{"--split_digits"}},
		{"full coverage", "zh", 3000, func(o *TrainOptions) { o.CharacterCoverage = 1 }, []string{"--character_coverage=1.0"}},
		{"low coverage", "ja", 2000, func(o *TrainOptions) { o.CharacterCoverage = 0.98 }, []string{"--character_coverage=0.98"}},
		{"short pieces", "ru", 2000, func(o *TrainOptions) { o.MaxSentencePieceLength = 4 }, []string{"--max_sentencepiece_length=4"}},
		{"em schedule", "ko", 2000, func(o *TrainOptions) { o.NumSubIterations = 3; o.ShrinkingFactor = 0.6 },
			[]string{"--num_sub_iterations=3", "--shrinking_factor=0.6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join("testdata", tc.lang+".train.txt")
			o := DefaultTrainOptions()
			o.Inputs = []string{in}
			o.VocabSize = tc.vocab
			o.NumThreads = 2
			tc.edit(&o)
			m, _, err := Train(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			sm, err := ReadModelProto(spmTrain(t, in, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")), tc.vocab, tc.flags...))
			if err != nil {
				t.Fatal(err)
			}
			shared := sharedPieces(m, sm)
			missing := missingAboveCutoff(m, sm)
			t.Logf("%s (%s, vocab %d): %.2f%% of spm_train's pieces shared; %d missing above the cutoff score",
				tc.name, tc.lang, tc.vocab, 100*shared, missing)
			// Pieces tied (to float32 rounding) at the cutoff score may
			// differ; above it, at most 0.5% of the vocabulary.
			if shared < 0.96 || missing > tc.vocab/200 {
				t.Errorf("%.2f%% of spm_train's pieces shared (want >= 96%%), %d missing above the cutoff (want <= %d)",
					100*shared, missing, tc.vocab/200)
			}
			if m.NormalizerSpec.Name != sm.NormalizerSpec.Name {
				t.Errorf("normalizer %q, spm_train %q", m.NormalizerSpec.Name, sm.NormalizerSpec.Name)
			}
		})
	}
}

// missingAboveCutoff counts b's multi-character NORMAL pieces that a lacks
// and whose score is above b's lowest such score by more than 0.01: the
// differences not explained by ties at the vocabulary cutoff.
func missingAboveCutoff(a, b *ModelProto) int {
	in := map[string]bool{}
	for _, p := range a.Pieces {
		in[p.Piece] = true
	}
	cutoff := float32(math.Inf(1))
	for _, p := range b.Pieces {
		if p.Type == Normal && len([]rune(p.Piece)) > 1 {
			cutoff = min(cutoff, p.Score)
		}
	}
	n := 0
	for _, p := range b.Pieces {
		if p.Type == Normal && len([]rune(p.Piece)) > 1 && p.Score > cutoff+0.01 && !in[p.Piece] {
			n++
		}
	}
	return n
}

// TestTrainEStepAndViterbiBruteForce checks the expected counts, the
// objective and the Viterbi path of a small lattice against an enumeration
// of every segmentation.
func TestTrainEStepAndViterbiBruteForce(t *testing.T) {
	pieces := []trainPiece{{"▁", -2}, {"a", -1.5}, {"b", -2.5}, {"▁a", -2.2}, {"ab", -1.9}, {"▁ab", -3.1}, {"ba", -2.8}, {"c", -4}}
	words := []string{"▁abab", "▁ba", "▁abxa"} // x has no piece: <unk>
	freqs := []float64{3, 2, 1}
	c := &trainCorpus{words: words, freq: freqs, total: 6}
	c.buildEdges(2, pieces, 16)
	scores := make([]float64, len(pieces))
	for i, p := range pieces {
		scores[i] = p.score
	}
	const unkScore = -14.0
	for _, unkTo := range []int32{-1, 0} {
		got, obj := c.eStep(2, scores, unkScore, unkTo)
		want := make([]float64, len(pieces))
		var wantObj float64
		for w, word := range words {
			var segs [][]int32 // piece ids, -1 for <unk>
			var rec func(rest string, acc []int32)
			rec = func(rest string, acc []int32) {
				if rest == "" {
					segs = append(segs, slices.Clone(acc))
					return
				}
				single := false
				for id, p := range pieces {
					if strings.HasPrefix(rest, p.piece) {
						if len([]rune(p.piece)) == 1 {
							single = true
						}
						rec(rest[len(p.piece):], append(acc, int32(id)))
					}
				}
				if !single {
					_, size := utf8.DecodeRuneInString(rest)
					rec(rest[size:], append(acc, -1))
				}
			}
			rec(word, nil)
			var z float64
			probs := make([]float64, len(segs))
			for k, seg := range segs {
				var lp float64
				for _, id := range seg {
					if id < 0 {
						lp += unkScore
					} else {
						lp += scores[id]
					}
				}
				probs[k] = math.Exp(lp)
				z += probs[k]
			}
			wantObj -= freqs[w] * math.Log(z) / 6
			for k, seg := range segs {
				for _, id := range seg {
					if id < 0 {
						if unkTo < 0 {
							continue
						}
						id = unkTo
					}
					want[id] += freqs[w] * probs[k] / z
				}
			}
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Errorf("unkTo=%d: expected count of %q = %.12f, want %.12f", unkTo, pieces[i].piece, got[i], want[i])
			}
		}
		if math.Abs(obj-wantObj) > 1e-9 {
			t.Errorf("objective %.12f, want %.12f", obj, wantObj)
		}
	}
	// A 3000-character word has about 10^795 segmentations into a, aa and
	// aaa: the sums must be rescaled, not overflow. Every segmentation
	// covers each character once, so the expected counts times the piece
	// lengths sum to the length.
	long := &trainCorpus{words: []string{strings.Repeat("a", 3000)}, freq: []float64{2}, total: 2}
	lp := []trainPiece{{"a", -0.1}, {"aa", -0.3}, {"aaa", -0.2}}
	long.buildEdges(1, lp, 16)
	ex, lobj := long.eStep(2, []float64{-0.1, -0.3, -0.2}, -20, -1)
	covered := ex[0] + 2*ex[1] + 3*ex[2]
	if math.IsNaN(lobj) || math.IsInf(lobj, 0) || math.Abs(covered-6000) > 1e-6 {
		t.Errorf("long word: expected counts %v (cover %g, want 6000), objective %g", ex, covered, lobj)
	}

	// Viterbi of "▁abab": ▁ab(-3.1) + ab(-1.9) = -5.0 beats the others.
	es := c.edges[c.edgeOff[0]:c.edgeOff[1]]
	n := int(c.nchars[0])
	path, score, ok := trainViterbi(es, n, scores, unkScore, -1, make([]float64, n+1), make([]int32, n+1))
	var got []string
	for _, k := range path {
		got = append(got, pieces[es[k].id].piece)
	}
	if !ok || math.Abs(score+5.0) > 1e-12 || !slices.Equal(got, []string{"▁ab", "ab"}) {
		t.Errorf("viterbi(▁abab) = %q %g %v, want [▁ab ab] -5", got, score, ok)
	}
}

// TestTrainReadsCompressedCorpora reads the same corpus plain and gzipped:
// the sentences read are the same.
func TestTrainReadsCompressedCorpora(t *testing.T) {
	raw, err := os.ReadFile("testdata/en.train.txt")
	if err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(t.TempDir(), "en.txt.gz")
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(gzPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var got [2][]string
	for i, in := range []string{"testdata/en.train.txt", gzPath} {
		o := DefaultTrainOptions()
		o.Inputs = []string{in}
		tr := &trainer{opts: o, stats: &TrainStats{}}
		if got[i], err = tr.readSentences(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(got[0]) == 0 || !slices.Equal(got[0], got[1]) {
		t.Errorf("plain file gave %d sentences, gzip %d (or different ones)", len(got[0]), len(got[1]))
	}
}
