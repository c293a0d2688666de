package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestPrepareCommandFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"prepare", "--input", "x.txt", "--out", "o"}, nil, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "--model") {
		t.Errorf("missing --model: code %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"help", "prepare"}, nil, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "valid-fraction") {
		t.Errorf("help: code %d, %q", code, stdout.String())
	}
}
