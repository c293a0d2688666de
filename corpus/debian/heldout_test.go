package debian

import (
	"math/rand/v2"
	"strings"
	"testing"
)

const longPara = "Tadmin makes incremental backups of whole file systems to local disks or remote hosts over SSH every night."

func TestHeldOutMatch(t *testing.T) {
	h := NewHeldOut([]string{"test split backup tool\n" + longPara, "tiny tool"}, true)
	for _, c := range []struct {
		name string
		doc  []string
		want bool
	}{
		{"exact whole text", []string{"test split backup tool", longPara}, true},
		{"exact, other case and spacing", []string{"TEST split  backup tool " + strings.ToUpper(longPara)}, true},
		{"short text as whole document", []string{"Tiny   Tool"}, true},
		{"short text inside a document is not matched", []string{"a tiny tool for everyone"}, false},
		{"long paragraph inside a man page", []string{"NAME", "tadmin - backups", "DESCRIPTION " + longPara + " More text follows."}, true},
		{"paragraph cut short", []string{longPara[:60]}, false},
		{"paragraph spread over lines", strings.SplitN(longPara, " ", 2), true},
		{"unrelated", []string{"Something else entirely, long enough to be scanned by the rolling hash window."}, false},
		{"empty", nil, false},
	} {
		if _, got := h.Match(c.doc); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
	if h.Patterns() != 2 { // the whole text and its long paragraph
		t.Errorf("%d patterns, want 2", h.Patterns())
	}
}

// TestHeldOutAgainstBruteForce compares the rolling-hash search with
// strings.Contains on random documents over a small alphabet, where
// overlaps and near-misses are frequent.
func TestHeldOutAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string { return []string{"ab", "ba", "aab", "b", "abb"}[r.IntN(5)] }
	text := func(n int) string {
		var w []string
		for len(strings.Join(w, " ")) < n {
			w = append(w, word())
		}
		return strings.Join(w, " ")
	}
	var pats []string
	for i := 0; i < 30; i++ {
		pats = append(pats, text(MinMatch+r.IntN(40)))
	}
	h := NewHeldOut(pats, false)
	for i := 0; i < 300; i++ {
		doc := text(50 + r.IntN(400))
		if i%5 == 0 { // plant a pattern
			p := pats[r.IntN(len(pats))]
			k := r.IntN(len(doc))
			doc = doc[:k] + " " + p + " " + doc[k:]
		}
		want := false
		for _, p := range pats {
			if strings.Contains(normalize(doc), normalize(p)) {
				want = true
			}
		}
		if _, got := h.Match([]string{doc}); got != want {
			t.Fatalf("doc %d: Match = %v, brute force %v\n%s", i, got, want, doc)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  A\tB\n\nc  ": "a b c",
		"Ärger ÜBER":    "ärger über",
		"":              "",
		"x\u00a0y":      "x y",
	} {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
