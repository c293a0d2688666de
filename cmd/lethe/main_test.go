package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"lethe/dataset"
)

// TestMain lets a test start this test binary as the lethe program itself
// (LETHE_RUN_MAIN=1), to send it real signals.
func TestMain(m *testing.M) {
	if os.Getenv("LETHE_RUN_MAIN") == "1" {
		os.Args = append([]string{"lethe"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}

func TestHelpListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("help exited %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("help does not list %q", c.name)
		}
		if strings.Contains(c.summary, "not built") {
			t.Errorf("command %q is still a placeholder", c.name)
		}
		var one bytes.Buffer
		if code := run(context.Background(), append([]string{"help"}, strings.Fields(c.name)...), nil, &one, &errOut); code != 0 {
			t.Errorf("help %s exited %d", c.name, code)
		}
		if !strings.Contains(one.String(), "Flags:") {
			t.Errorf("help %s shows no flags:\n%s", c.name, one.String())
		}
	}
}

func TestUnknownCommandAndBadFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, nil, &out, &errOut); code != 2 {
		t.Errorf("unknown command exited %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("stderr %q lacks 'unknown command'", errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"pretrain", "--no-such-flag"}, nil, &out, &errOut); code != 2 {
		t.Errorf("bad flag exited %d, want 2", code)
	}
}

func TestPretrainBadInputs(t *testing.T) {
	dir := t.TempDir()
	notTok := filepath.Join(dir, "train.tok")
	os.WriteFile(notTok, []byte("this is not a token file"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not a token file", []string{"--train", notTok, "--mask-id", "4"}, notTok},
		{"missing file", []string{"--train", filepath.Join(dir, "nope.tok"), "--mask-id", "4"}, "nope.tok"},
		{"no mask id", []string{"--train", notTok}, "--mask-id"},
		{"data and train", []string{"--data", dir, "--train", notTok}, "either --data or --train"},
		{"bad preset", []string{"--train", notTok, "--mask-id", "4", "--preset", "huge"}, "unknown preset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"pretrain", "--out", filepath.Join(dir, "run")}, tt.args...)
			if code := run(context.Background(), args, nil, &out, &errOut); code != 1 {
				t.Errorf("exit %d, want 1; stderr:\n%s", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q does not mention %q", errOut.String(), tt.want)
			}
		})
	}
}

// writeTinyTokens writes a token file of random skewed documents.
func writeTinyTokens(t *testing.T, path string, docs int, seed uint64) {
	t.Helper()
	w, err := dataset.Create(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for range docs {
		var ids []int32
		for range 5 + rng.IntN(20) {
			ids = append(ids, int32(5+rng.IntN(1+rng.IntN(95))))
		}
		ids = append(ids, dataset.EOS)
		if err := w.AppendDocument(ids); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPretrainCtrlC starts "lethe pretrain" as a real process, sends it
// SIGINT mid-run, expects exit status 130 with a saved checkpoint, then runs
// the same command again and expects it to resume there and finish.
func TestPretrainCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	dir := t.TempDir()
	writeTinyTokens(t, filepath.Join(dir, "train.tok"), 400, 1)
	writeTinyTokens(t, filepath.Join(dir, "valid.tok"), 20, 2)
	out := filepath.Join(dir, "run")
	const updates = "3000"
	args := []string{"pretrain", "--preset", "tiny", "--train", filepath.Join(dir, "train.tok"),
		"--valid", filepath.Join(dir, "valid.tok"), "--mask-id", "4", "--seq-len", "16", "--batch-size", "4",
		"--updates", updates, "--warmup", "10", "--lr", "1e-3", "--valid-every", "1000", "--save-every", "1000",
		"--out", out}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LETHE_RUN_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until a few updates are logged, then press Ctrl-C.
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
		if bytes.Count(b, []byte("\n")) >= 5 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress after 60 s; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code == 0 {
		t.Skipf("the run finished before the signal arrived (machine too fast for %s updates)", updates)
	}
	if code != 130 {
		t.Fatalf("exit %d (%v), want 130; stderr:\n%s", code, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "checkpoint saved") {
		t.Errorf("stderr lacks 'checkpoint saved':\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-last", "model.safetensors")); err != nil {
		t.Fatalf("no checkpoint after Ctrl-C: %v", err)
	}

	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LETHE_RUN_MAIN=1")
	var stdout2, stderr2 bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout2, &stderr2
	if err := cmd.Run(); err != nil {
		t.Fatalf("resumed run: %v; stderr:\n%s", err, stderr2.String())
	}
	if !strings.Contains(stderr2.String(), "resuming from") {
		t.Errorf("second run did not resume; stderr:\n%s", stderr2.String())
	}
	if !strings.Contains(stdout2.String(), "update "+updates+":") {
		t.Errorf("second run did not finish at update %s; stdout:\n%s", updates, stdout2.String())
	}
}

// TestFlagsAnywhere parses flags typed after arguments, as users type them,
// and takes everything after "--" as arguments.
func TestFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		out      string
		wantArgs []string
	}{
		{[]string{"--model", "M", "test.tsv", "--out", "r.json"}, "r.json", []string{"test.tsv"}},
		{[]string{"a.tsv", "--out=r.json", "b.tsv"}, "r.json", []string{"a.tsv", "b.tsv"}},
		{[]string{"--out", "r.json", "--", "--weird.tsv", "-x"}, "r.json", []string{"--weird.tsv", "-x"}},
		{nil, "", nil},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.String("model", "", "")
		out := fs.String("out", "", "")
		got, err := parseInterspersed(fs, tc.args)
		if err != nil || *out != tc.out || !slices.Equal(got, tc.wantArgs) {
			t.Errorf("%q: args %q, --out %q, err %v; want %q, %q", tc.args, got, *out, err, tc.wantArgs, tc.out)
		}
	}
}

// TestReadLineLimited reads lines up to the limit, newline or not, and
// refuses a longer one before holding it whole.
func TestReadLineLimited(t *testing.T) {
	long := strings.Repeat("x", 5000)
	br := bufio.NewReaderSize(strings.NewReader("ab\n"+long[:4096]+"\n"+long+"\nlast"), 16)
	for _, want := range []string{"ab\n", long[:4096] + "\n"} {
		if got, err := readLineLimited(br, 4096); err != nil || got != want {
			t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
	if _, err := readLineLimited(br, 4096); !errors.Is(err, errLineTooLong) {
		t.Errorf("a 5000-byte line under a 4096 limit: %v", err)
	}
	br = bufio.NewReader(strings.NewReader("last"))
	if got, err := readLineLimited(br, 4); got != "last" || err != io.EOF {
		t.Errorf("last line without newline: %q, %v", got, err)
	}
}

// TestBuildLangsSkipsEnglishDerived builds data for real languages only: the
// English-derived ones come from the English corpus.
func TestBuildLangsSkipsEnglishDerived(t *testing.T) {
	got := buildLangs([]string{"en-relearn", "de", "en-shuffle", "it"})
	if slices.Contains(got, "en-relearn") || slices.Contains(got, "en-shuffle") || !slices.Contains(got, "it") || !slices.Contains(got, "de") {
		t.Errorf("buildLangs = %v", got)
	}
}
