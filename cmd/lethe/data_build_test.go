package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDataBuildHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help", "data", "build"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("help data build exited %d: %s", code, errOut.String())
	}
	for _, s := range []string{
		"-out", "-langs", "-test-share", "-dev-share", "-refresh", "-ddtp-only", "-jobs", "-sources",
		"corpora/LANG.txt", "topic/en/{train,dev,test}.tsv", "topic/LANG/test.en.tsv", "pair/en/{train,dev,test}.tsv",
		"manifest.json", "DATACARD.md", "en,de,fr,ru,ja,zh_CN",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("lethe help data build does not mention %q", s)
		}
	}
}

func TestDataBuildArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "build"}, "--out is required"},
		{[]string{"data", "build", "--out", "x", "extra"}, "unexpected arguments"},
		{[]string{"data", "build", "--out", "x", "--test-share", "0.9", "--dev-share", "0.5"}, "each must be in [0, 1] and their sum at most 1"},
	} {
		var out, errOut bytes.Buffer
		dir := t.TempDir()
		args := append([]string(nil), c.args...)
		for i, a := range args {
			if a == "x" {
				args[i] = filepath.Join(dir, "out")
			}
		}
		if code := run(context.Background(), args, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, errOut.String(), c.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Errorf("%v: wrote %s", c.args, filepath.Join(dir, "out"))
		}
	}
}
