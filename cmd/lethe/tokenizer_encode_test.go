package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// spmTool runs an spm command-line tool (Debian package sentencepiece).
func spmTool(t *testing.T, stdin []byte, tool string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found (install the Debian package sentencepiece): %v", tool, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	return out
}

// runLethe runs a lethe command in process and returns stdout, stderr and
// the exit code.
func runLethe(stdin []byte, args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, bytes.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// TestTokenizerEncodeDecodeLikeSpm checks that "lethe tokenizer encode" and
// "decode" write exactly what spm_encode and spm_decode write.
func TestTokenizerEncodeDecodeLikeSpm(t *testing.T) {
	dir := t.TempDir()
	td := filepath.Join("..", "..", "tokenizer", "testdata")
	prefix := filepath.Join(dir, "m")
	spmTool(t, nil, "spm_train", "--input="+filepath.Join(td, "de.train.txt")+","+filepath.Join(td, "ja.train.txt"),
		"--model_prefix="+prefix, "--vocab_size=1500", "--byte_fallback=true", "--minloglevel=2")
	model := prefix + ".model"
	var text []byte
	for _, l := range []string{"de", "ja", "ko"} {
		b, err := os.ReadFile(filepath.Join(td, l+".test.txt"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		text = append(text, strings.Join(lines[:40], "")...)
	}
	text = append(text, "\n  \n\tＡＢＣ\nlast line without newline"...)

	for _, format := range []string{"piece", "id"} {
		want := spmTool(t, text, "spm_encode", "--model="+model, "--output_format="+format)
		got, stderr, code := runLethe(text, "tokenizer", "encode", "--model", model, "--output_format", format)
		if code != 0 {
			t.Fatalf("encode %s: exit %d: %s", format, code, stderr)
		}
		if got != string(want) {
			t.Errorf("encode %s differs from spm_encode:\n%s", format, firstDiff(got, string(want)))
		}
		wantDec := spmTool(t, want, "spm_decode", "--model="+model, "--input_format="+format)
		gotDec, stderr, code := runLethe(want, "tokenizer", "decode", "--model", model, "--input_format", format)
		if code != 0 {
			t.Fatalf("decode %s: exit %d: %s", format, code, stderr)
		}
		if gotDec != string(wantDec) {
			t.Errorf("decode %s differs from spm_decode:\n%s", format, firstDiff(gotDec, string(wantDec)))
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n lethe " + al[i] + "\n spm   " + bl[i]
		}
	}
	return "line counts " + strconv.Itoa(len(al)) + " vs " + strconv.Itoa(len(bl))
}

func TestTokenizerCommandErrors(t *testing.T) {
	dir := t.TempDir()
	td := filepath.Join("..", "..", "tokenizer", "testdata")
	prefix := filepath.Join(dir, "m")
	spmTool(t, nil, "spm_train", "--input="+filepath.Join(td, "de.train.txt"), "--model_prefix="+prefix, "--vocab_size=500", "--minloglevel=2")
	model := prefix + ".model"
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"tokenizer", "encode"}, "", "--model is required"},
		{[]string{"tokenizer", "encode", "--model", model, "--output_format", "json"}, "", "expected piece or id"},
		{[]string{"tokenizer", "encode", "--model", prefix + ".vocab"}, "", "m.vocab"},
		{[]string{"tokenizer", "decode", "--model", model, "--input_format", "id"}, "1 2\n5 99999\n", "stdin line 2"},
		{[]string{"tokenizer", "decode", "--model", model, "--input_format", "id"}, "abc\n", "expected an id"},
	}
	for _, tc := range tests {
		_, stderr, code := runLethe([]byte(tc.stdin), tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr, tc.want)
		}
	}
}
