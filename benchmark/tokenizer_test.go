package benchmark

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunTokenizer runs the tokenizer comparison on the small English test
// data, with a lethe binary built for the test.
func TestRunTokenizer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lethe and trains two tokenizers")
	}
	bin := filepath.Join(t.TempDir(), "lethe")
	if out, err := exec.Command("go", "build", "-o", bin, "lethe/cmd/lethe").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rep, err := RunTokenizer(context.Background(), TokenizerOptions{
		Input: "../tokenizer/testdata/en.train.txt", HeldOut: "../tokenizer/testdata/en.test.txt",
		VocabSize: 1000, Threads: 2, Lethe: bin,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.SameOutput {
		t.Error("lethe tokenizer encode and spm_encode disagree on the same model")
	}
	for _, s := range []TokenizerSide{rep.Lethe, rep.Spm} {
		if s.TrainSeconds <= 0 || s.EncodeMBPerSec <= 0 || s.PiecesPerWord < 1 || s.PiecesPerWord > 4 {
			t.Errorf("%s: implausible figures %+v", s.Name, s)
		}
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	for _, want := range []string{"training time Lethe / spm_train", "encoding throughput Lethe / spm_encode", "pieces per word"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
