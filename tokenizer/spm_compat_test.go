package tokenizer

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// These tests compare Lethe with the SentencePiece command-line tools
// (Debian package "sentencepiece", installed by .ci/run). They fail, not
// skip, when the tools are missing.

var compatLangs = []string{"en", "de", "ru", "ja", "ko", "zh"}

// needSpm returns the path of an spm tool or fails the test.
func needSpm(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s not found (install the Debian package sentencepiece): %v", tool, err)
	}
	return p
}

// trainSpm trains a model with spm_train into dir and returns its path.
func trainSpm(t testing.TB, dir, name string, inputs []string, args ...string) string {
	t.Helper()
	prefix := filepath.Join(dir, name)
	all := append([]string{
		"--input=" + strings.Join(inputs, ","),
		"--model_prefix=" + prefix,
		"--minloglevel=2",
		"--num_threads=2",
	}, args...)
	cmd := exec.Command(needSpm(t, "spm_train"), all...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("spm_train %v: %v\n%s", all, err, out)
	}
	return prefix + ".model"
}

// runSpm runs an spm tool with stdin from input and returns its output lines.
func runSpm(t testing.TB, tool string, input []byte, args ...string) []string {
	t.Helper()
	cmd := exec.Command(needSpm(t, tool), args...)
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, stderr.String())
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func readTestLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func joinIDs(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	return b.String()
}

func compatTrainFiles() []string {
	var fs []string
	for _, l := range compatLangs {
		fs = append(fs, filepath.Join("testdata", l+".train.txt"))
	}
	return fs
}

// compareWithSpm encodes lines with Lethe and spm_encode and returns the
// number of lines whose pieces and ids agree; it reports differences.
func compareWithSpm(t *testing.T, modelPath string, lines []string) int {
	t.Helper()
	m, err := Load(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	input := []byte(strings.Join(lines, "\n") + "\n")
	wantPieces := runSpm(t, "spm_encode", input, "--model="+modelPath, "--output_format=piece")
	wantIDs := runSpm(t, "spm_encode", input, "--model="+modelPath, "--output_format=id")
	if len(wantPieces) != len(lines) || len(wantIDs) != len(lines) {
		t.Fatalf("spm_encode gave %d/%d lines for %d", len(wantPieces), len(wantIDs), len(lines))
	}
	same, reported := 0, 0
	for i, line := range lines {
		gotP := strings.Join(m.Encode(line), " ")
		gotI := joinIDs(m.EncodeIDs(line))
		if gotP == wantPieces[i] && gotI == wantIDs[i] {
			same++
			continue
		}
		if reported < 3 {
			reported++
			t.Errorf("line %d %q:\n lethe pieces %q\n spm   pieces %q\n lethe ids %s\n spm   ids %s", i+1, line, gotP, wantPieces[i], gotI, wantIDs[i])
		}
	}
	return same
}

// TestEncodeMatchesSpmHeldOut trains models with spm_train on the training
// text of six languages and checks that Lethe's pieces and ids equal
// spm_encode's on every held-out line.
func TestEncodeMatchesSpmHeldOut(t *testing.T) {
	dir := t.TempDir()
	models := []struct {
		name string
		args []string
	}{
		{"default", []string{"--vocab_size=4000"}},
		{"bytefallback", []string{"--vocab_size=2000", "--byte_fallback=true", "--character_coverage=0.98",
			"--user_defined_symbols=Debian,<mask>,▁the,パッケージ", "--control_symbols=<ctl>"}},
		{"nfkc-raw", []string{"--vocab_size=3000", "--character_coverage=0.995", "--normalization_rule_name=nfkc",
			"--add_dummy_prefix=false", "--remove_extra_whitespaces=false", "--split_digits=true"}},
		{"identity", []string{"--vocab_size=1500", "--normalization_rule_name=identity", "--character_coverage=0.995"}},
	}
	for _, mc := range models {
		t.Run(mc.name, func(t *testing.T) {
			path := trainSpm(t, dir, mc.name, compatTrainFiles(), mc.args...)
			total, same := 0, 0
			for _, lang := range compatLangs {
				lines := readTestLines(t, filepath.Join("testdata", lang+".test.txt"))
				s := compareWithSpm(t, path, lines)
				t.Logf("%s: %d/%d held-out lines identical (%.2f%%)", lang, s, len(lines), 100*float64(s)/float64(len(lines)))
				total += len(lines)
				same += s
			}
			t.Logf("all: %d/%d identical (%.2f%%)", same, total, 100*float64(same)/float64(total))
			if same != total {
				t.Errorf("%d of %d lines differ from spm_encode", total-same, total)
			}
		})
	}
}
