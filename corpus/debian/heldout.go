package debian

import (
	"hash/fnv"
	"strings"
	"unicode"
)

// MinMatch is the shortest held-out text, in bytes after normalisation,
// that is searched for inside corpus documents. Shorter texts (a bare short
// description such as "collection of games") would match innocent prose, so
// they are only matched against whole documents.
const MinMatch = 64

// normalize lower-cases s and turns every run of white space into one
// space, trimmed: the form held-out texts and documents are compared in.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// rollBase is the multiplier of the rolling hash over MinMatch-byte windows.
const rollBase = 1099511628211

// HeldOut finds held-out texts in documents. A document is held out when,
// normalised (lines joined by spaces, lower case, white space collapsed), it
// equals a held-out text, or contains a held-out pattern of at least
// MinMatch bytes: each held-out text itself and each of its paragraphs. The
// search is a Rabin-Karp scan: patterns are indexed by the hash of their
// first MinMatch bytes, documents are scanned with a rolling hash of the
// same width, and each hit is confirmed by comparing bytes.
type HeldOut struct {
	exact    map[uint64]bool
	byPrefix map[uint64][]int32
	patterns []string
	pow      uint64 // rollBase^(MinMatch-1)
}

// NewHeldOut indexes texts (descriptions: a short line, then paragraphs on
// lines of their own). With paragraphs false only whole texts are patterns.
func NewHeldOut(texts []string, paragraphs bool) *HeldOut {
	h := &HeldOut{exact: map[uint64]bool{}, byPrefix: map[uint64][]int32{}, pow: 1}
	for i := 0; i < MinMatch-1; i++ {
		h.pow *= rollBase
	}
	seen := map[string]bool{}
	add := func(p string) {
		if len(p) < MinMatch || seen[p] {
			return
		}
		seen[p] = true
		k := h.windowHash(p[:MinMatch])
		h.byPrefix[k] = append(h.byPrefix[k], int32(len(h.patterns)))
		h.patterns = append(h.patterns, p)
	}
	for _, t := range texts {
		n := normalize(t)
		if n == "" {
			continue
		}
		h.exact[hash64(n)] = true
		add(n)
		if paragraphs {
			for _, l := range strings.Split(t, "\n") {
				add(normalize(l))
			}
		}
	}
	return h
}

// Patterns reports how many substring patterns are indexed.
func (h *HeldOut) Patterns() int { return len(h.patterns) }

func (h *HeldOut) windowHash(w string) uint64 {
	var x uint64
	for i := 0; i < len(w); i++ {
		x = x*rollBase + uint64(w[i])
	}
	return x
}

// Match reports whether the document made of lines is held out, and the
// held-out text or pattern it matched.
func (h *HeldOut) Match(lines []string) (string, bool) {
	d := normalize(strings.Join(lines, " "))
	if h.exact[hash64(d)] {
		return d, true
	}
	if len(d) < MinMatch || len(h.patterns) == 0 {
		return "", false
	}
	x := h.windowHash(d[:MinMatch])
	for i := 0; ; i++ {
		if ids, ok := h.byPrefix[x]; ok {
			for _, id := range ids {
				if p := h.patterns[id]; strings.HasPrefix(d[i:], p) {
					return p, true
				}
			}
		}
		if i+MinMatch >= len(d) {
			return "", false
		}
		x = (x-uint64(d[i])*h.pow)*rollBase + uint64(d[i+MinMatch])
	}
}
