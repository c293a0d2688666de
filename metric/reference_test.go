package metric

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNormalizeAgainstPython compares Normalize with testdata/normalize_ref.py,
// a Python rendering of the official scripts' steps (Python's own str.lower,
// re, str.split and unicodedata), on random strings built from pieces that
// exercise every rule. It is skipped when /usr/bin/python3 is missing.
func TestNormalizeAgainstPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	pieces := []string{
		"the", "The", "a", "an", "An", "theatre", "der", "Die", "des", "dem", "einer", "el", "La", "unos",
		"của", "là", "chiếc", "ال", "الكتاب", "مالك", "في", "北京", "大学", "鿆", "年", "İ", "ΟΔΟΣ", "Σ", "σ",
		"_", "'", "’", "«", "»", "„", "“", "、", "。", "，", "-", ".", ",", "!", "$", "^", "|", "¿", "·",
		" ", " ", "  ", "\u00a0", "\u3000", "\x1f", "\t", "\n", "x", "1898", "Köln", "é", "e\u0301", "😀", "🎉",
	}
	modes := []struct {
		mode Mode
		lang string
	}{{SQuAD, ""}, {MLQA, "en"}, {MLQA, "es"}, {MLQA, "de"}, {MLQA, "vi"}, {MLQA, "ar"}, {MLQA, "hi"}, {MLQA, "zh"}}
	rng := rand.New(rand.NewPCG(1, 2))
	type tc struct {
		text string
		mode Mode
		lang string
	}
	var cases []tc
	var input [][3]string
	for range 400 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		for _, m := range modes {
			cases = append(cases, tc{b.String(), m.mode, m.lang})
			input = append(input, [3]string{b.String(), m.mode.String(), m.lang})
		}
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/normalize_ref.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("normalize_ref.py: %v\n%s", err, stderr.String())
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("normalize_ref.py gave %d results (%v), want %d", len(want), err, len(cases))
	}
	bad := 0
	for i, c := range cases {
		if got := Normalize(c.text, c.mode, c.lang); got != want[i] {
			bad++
			if bad <= 10 {
				t.Errorf("Normalize(%q, %v, %q) = %q, Python %q", c.text, c.mode, c.lang, got, want[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(cases))
	}
}
