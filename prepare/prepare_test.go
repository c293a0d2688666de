package prepare

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
	"lethe/dataset"
	"lethe/tokenizer"
)

// wordEncoder is a fake tokenizer: one id per whitespace-separated word, "??"
// is unknown.
type wordEncoder struct{ vocab int }

func (e wordEncoder) AppendIDs(dst []int32, line string) []int32 {
	for _, w := range strings.Fields(line) {
		if w == "??" {
			dst = append(dst, 3)
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w))
		dst = append(dst, 5+int32(h.Sum32()%uint32(e.vocab-5)))
	}
	return dst
}
func (e wordEncoder) VocabSize() int { return e.vocab }
func (e wordEncoder) UnkID() int32   { return 3 }
func (e wordEncoder) MaskID() int32  { return 4 }

// testCorpus returns a corpus of n documents of a few lines each.
func testCorpus(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "document %d says hello\n", i)
		if i%3 == 0 {
			fmt.Fprintf(&sb, "and a second line ?? with an unknown word %d\n", i)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestPrepareData(t *testing.T) {
	dir := t.TempDir()
	text := testCorpus(3000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(testCorpus(500)))
	zw.Close()
	in1 := filepath.Join(dir, "a.txt")
	in2 := filepath.Join(dir, "b.txt.gz")
	os.WriteFile(in1, []byte(text), 0o644)
	os.WriteFile(in2, gz.Bytes(), 0o644)
	enc := wordEncoder{vocab: 500}

	run := func(out string, workers int) *Summary {
		t.Helper()
		var progress bytes.Buffer
		sum, err := Run(context.Background(), Config{
			Model: "fake.model", Inputs: []string{in1, in2}, OutDir: out,
			Split: corpus.Split{ValidFraction: 0.1, Seed: 1}, Workers: workers,
		}, enc, &progress)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(progress.String(), "prepare") {
			t.Errorf("no progress line: %q", progress.String())
		}
		return sum
	}
	out1 := filepath.Join(dir, "out1")
	sum := run(out1, 2)

	// Expected, computed serially from the corpus reader and the split.
	r, _ := corpus.Open([]string{in1, in2}, corpus.Options{})
	var wantTrain, wantValid [][]int32
	for {
		d, err := r.Next()
		if err != nil {
			break
		}
		var ids []int32
		for _, l := range d.Lines {
			ids = append(enc.AppendIDs(ids, l), dataset.EOS)
		}
		if (corpus.Split{ValidFraction: 0.1, Seed: 1}).IsValid(d.Lines) {
			wantValid = append(wantValid, ids)
		} else {
			wantTrain = append(wantTrain, ids)
		}
	}
	for _, side := range []struct {
		name string
		want [][]int32
		got  SplitSummary
	}{{"train.tok", wantTrain, sum.Train}, {"valid.tok", wantValid, sum.Valid}} {
		f, err := dataset.Open(filepath.Join(out1, side.name))
		if err != nil {
			t.Fatal(err)
		}
		if f.NumDocs() != len(side.want) || int64(f.NumDocs()) != side.got.Documents || f.VocabSize() != 500 {
			t.Fatalf("%s: %d docs (summary %d), want %d", side.name, f.NumDocs(), side.got.Documents, len(side.want))
		}
		for i, w := range side.want {
			if got := f.Doc(i); !reflect.DeepEqual(got, w) {
				t.Fatalf("%s doc %d = %v, want %v (input order lost?)", side.name, i, got, w)
			}
		}
		if f.NumTokens() != side.got.Tokens {
			t.Errorf("%s: %d tokens, summary says %d", side.name, f.NumTokens(), side.got.Tokens)
		}
		f.Close()
	}
	if n := sum.Train.Documents + sum.Valid.Documents; n != 3500 {
		t.Errorf("%d documents, want 3500", n)
	}
	if share := float64(sum.Valid.Documents) / 3500; share < 0.08 || share > 0.12 {
		t.Errorf("validation share %.3f, want about 0.1", share)
	}
	// 1 "??" in every third document: 1167 unknown words among the text tokens.
	if u := sum.Train.UnknownTokens + sum.Valid.UnknownTokens; u != 1000+167 || sum.UnknownRate <= 0 {
		t.Errorf("unknown tokens %d (rate %v), want 1167", u, sum.UnknownRate)
	}

	// summary.json round-trips.
	raw, err := os.ReadFile(filepath.Join(out1, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk Summary
	if err := json.Unmarshal(raw, &onDisk); err != nil {
		t.Fatal(err)
	}
	if onDisk.Train != sum.Train || onDisk.VocabSize != 500 || onDisk.Tokenizer != "fake.model" {
		t.Errorf("summary.json %+v", onDisk)
	}

	// One worker gives byte-identical files.
	out2 := filepath.Join(dir, "out2")
	run(out2, 1)
	for _, name := range []string{"train.tok", "valid.tok"} {
		a, _ := os.ReadFile(filepath.Join(out1, name))
		b, _ := os.ReadFile(filepath.Join(out2, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between 1 and 2 workers", name)
		}
	}
}

func TestPrepareDataErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte(testCorpus(2000)+"caf\xe9\n"), 0o644)
	tests := []struct {
		name  string
		cfg   Config
		ctx   func() context.Context
		check func(error) bool
	}{
		{"invalid utf-8", Config{Inputs: []string{bad}}, context.Background,
			func(err error) bool {
				return errors.Is(err, corpus.ErrInvalidUTF8) && strings.Contains(err.Error(), bad)
			}},
		{"missing input", Config{Inputs: []string{filepath.Join(dir, "nope")}}, context.Background,
			func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
		{"bad fraction", Config{Inputs: []string{bad}, Split: corpus.Split{ValidFraction: 2}}, context.Background,
			func(err error) bool { return strings.Contains(err.Error(), "fraction") }},
		{"cancelled", Config{Inputs: []string{bad}}, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			tc.cfg.OutDir, tc.cfg.Workers = out, 2
			_, err := Run(tc.ctx(), tc.cfg, wordEncoder{vocab: 100}, &bytes.Buffer{})
			if err == nil || !tc.check(err) {
				t.Fatalf("err = %v", err)
			}
			// Nothing half-written is left under a final name.
			ents, _ := os.ReadDir(out)
			if len(ents) != 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("left behind: %v", names)
			}
		})
	}
}

// BenchmarkPrepareData runs the pipeline with the fake word encoder over the
// file named by LETHE_BENCH_CORPUS (skipped when unset): it measures
// everything but the tokenizer.
func BenchmarkPrepareData(b *testing.B) {
	p := os.Getenv("LETHE_BENCH_CORPUS")
	if p == "" {
		b.Skip("set LETHE_BENCH_CORPUS to a corpus file")
	}
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	var tokens int64
	for i := 0; i < b.N; i++ {
		sum, err := Run(context.Background(), Config{Inputs: []string{p}, OutDir: b.TempDir(),
			Split: corpus.Split{ValidFraction: 0.01}, Workers: 2}, wordEncoder{vocab: 8000}, &bytes.Buffer{})
		if err != nil {
			b.Fatal(err)
		}
		tokens += sum.Train.Tokens + sum.Valid.Tokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func TestLoadEncoderRejectsOtherSpecialOrder(t *testing.T) {
	dir := t.TempDir()
	p, err := tokenizer.ReadModelProto(trainTestModel(t, dir, testCorpus(200)))
	if err != nil {
		t.Fatal(err)
	}
	p.TrainerSpec.BosID, p.TrainerSpec.EosID, p.TrainerSpec.PadID = 1, 2, -1 // SentencePiece's defaults
	bad := filepath.Join(dir, "spm-default.model")
	if err := p.WriteFile(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEncoder(bad); err == nil || !strings.Contains(err.Error(), "<s> has id 1, expected 0") {
		t.Errorf("err = %v", err)
	}
	if _, err := LoadEncoder(filepath.Join(dir, "missing.model")); err == nil {
		t.Error("missing model accepted")
	}
}

// trainTestModel trains a small Lethe tokenizer on text and returns the
// path of its .model file.
func trainTestModel(t *testing.T, dir, text string) string {
	t.Helper()
	in := filepath.Join(dir, "tok-train.txt")
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := tokenizer.DefaultTrainOptions()
	opts.Inputs = []string{in}
	opts.VocabSize = 120
	opts.CharacterCoverage = 1
	opts.NumThreads = 1
	m, _, err := tokenizer.Train(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tokenizer.WriteTrainedModel(filepath.Join(dir, "tok"), m); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "tok.model")
}

func TestPrepareWithTokenizer(t *testing.T) {
	dir := t.TempDir()
	text := testCorpus(300)
	model := trainTestModel(t, dir, text)
	in := filepath.Join(dir, "corpus.txt")
	os.WriteFile(in, []byte(text+"Ωμέγα unseen letters\n"), 0o644)
	out := filepath.Join(dir, "out")
	enc, err := LoadEncoder(model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Config{Model: model, Inputs: []string{in}, OutDir: out,
		Split: corpus.Split{ValidFraction: 0.2}, Workers: 2}, enc, io.Discard); err != nil {
		t.Fatal(err)
	}
	m, err := tokenizer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	var sum Summary
	raw, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.VocabSize != m.VocabSize() || sum.Train.Documents+sum.Valid.Documents != 301 || sum.Valid.Documents == 0 {
		t.Errorf("summary %+v", sum)
	}
	if sum.Train.UnknownTokens+sum.Valid.UnknownTokens == 0 {
		t.Error("unseen letters gave no unknown tokens")
	}
	// Every document is the tokenizer's ids of its lines, each closed by </s>.
	split := corpus.Split{ValidFraction: 0.2}
	r, _ := corpus.Open([]string{in}, corpus.Options{})
	files := map[bool]*dataset.File{}
	for _, valid := range []bool{false, true} {
		name := map[bool]string{false: "train.tok", true: "valid.tok"}[valid]
		f, err := dataset.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[valid] = f
	}
	next := map[bool]int{}
	for {
		d, err := r.Next()
		if err != nil {
			break
		}
		var want []int32
		for _, l := range d.Lines {
			want = append(m.AppendIDs(want, l), dataset.EOS)
		}
		v := split.IsValid(d.Lines)
		if got := files[v].Doc(next[v]); !reflect.DeepEqual(got, want) {
			t.Fatalf("document at %s:%d: got %v, want %v", d.File, d.Line, got, want)
		}
		next[v]++
	}
}

// TestSummaryIsTheCommitMark checks all-or-nothing outputs: a run cut short
// leaves a directory ReadSummary refuses (not the previous run's summary
// beside new token files), and token files from two runs are refused by
// their recorded hashes, naming the file.
func TestSummaryIsTheCommitMark(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.txt")
	os.WriteFile(in, []byte(testCorpus(400)), 0o644)
	cfg := func(out string) Config {
		return Config{Model: "fake.model", Inputs: []string{in}, OutDir: out, Split: corpus.Split{ValidFraction: 0.1, Seed: 1}, Workers: 1}
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for i, out := range []string{a, b} {
		if _, err := Run(context.Background(), cfg(out), wordEncoder{vocab: 300 + 100*i}, io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSummary(out); err != nil {
			t.Fatalf("a finished run's summary is refused: %v", err)
		}
	}
	// Mix: b's validation file in a.
	raw, _ := os.ReadFile(filepath.Join(b, "valid.tok"))
	os.WriteFile(filepath.Join(a, "valid.tok"), raw, 0o644)
	if _, err := ReadSummary(a); err == nil || !strings.Contains(err.Error(), filepath.Join(a, "valid.tok")) || !strings.Contains(err.Error(), "mixes") {
		t.Errorf("mixed directory: err = %v", err)
	}
	// Cut short: a cancelled run over a finished directory leaves no summary.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	os.WriteFile(filepath.Join(b, ".train.tok.tmp123"), []byte("stale"), 0o644)
	if _, err := Run(ctx, cfg(b), wordEncoder{vocab: 300}, io.Discard); err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	if _, err := ReadSummary(b); err == nil || !strings.Contains(err.Error(), "no finished lethe prepare") {
		t.Errorf("after an interrupted run: err = %v", err)
	}
	if stale, _ := filepath.Glob(filepath.Join(b, ".train.tok.tmp123")); len(stale) != 0 {
		t.Errorf("stale temporary files left: %v", stale)
	}
}
