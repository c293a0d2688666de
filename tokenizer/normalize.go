package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, which stands for a space in
// pieces.
const spaceSymbol = "\u2581"

// replacementChar is what an invalid UTF-8 byte normalises to.
const replacementChar = "\uFFFD"

// Normalizer applies a NormalizerSpec exactly as SentencePiece does: the
// precompiled charsmap (longest match), then the whitespace rules. It is
// immutable and safe for concurrent use.
type Normalizer struct {
	charsmap              *Charsmap
	addDummyPrefix        bool
	removeExtraWhitespace bool
	escapeWhitespace      bool
	treatWSAsSuffix       bool
	userDefined           doubleArray // user-defined pieces, passed through unnormalised
	// asciiPlain[c] is set when the ASCII byte c, followed by an ASCII byte
	// or the end of the text, normalises to itself: no rule or user-defined
	// piece starts there. It only speeds things up.
	asciiPlain [128]bool
}

// NewNormalizer compiles spec. userDefined lists the USER_DEFINED pieces of
// the model: where one starts, it is copied unnormalised, as SentencePiece
// does. treatWhitespaceAsSuffix is TrainerSpec.treat_whitespace_as_suffix
// (the dummy space goes at the end).
func NewNormalizer(spec *NormalizerSpec, userDefined []string, treatWhitespaceAsSuffix bool) (*Normalizer, error) {
	if spec == nil {
		spec = NewNormalizerSpec("identity", nil)
	}
	cm, err := ParseCharsmap(spec.PrecompiledCharsmap)
	if err != nil {
		return nil, fmt.Errorf("normalizer %q: %w", spec.Name, err)
	}
	n := &Normalizer{
		charsmap:              cm,
		addDummyPrefix:        spec.AddDummyPrefix,
		removeExtraWhitespace: spec.RemoveExtraWhitespaces,
		escapeWhitespace:      spec.EscapeWhitespaces,
		treatWSAsSuffix:       treatWhitespaceAsSuffix,
	}
	if len(userDefined) > 0 {
		keys := make([]daKey, 0, len(userDefined))
		seen := map[string]bool{}
		for _, s := range userDefined {
			if s == "" || seen[s] || strings.IndexByte(s, 0) >= 0 {
				continue
			}
			seen[s] = true
			keys = append(keys, daKey{key: s, value: 0})
		}
		da, err := buildDoubleArray(keys, false)
		if err != nil {
			return nil, fmt.Errorf("normalizer: user-defined symbols: %w", err)
		}
		n.userDefined = da
	}
	for c := 1; c < 128; c++ {
		exact, asciiNext, _ := n.charsmap.trie.firstByte(byte(c))
		_, _, user := n.userDefined.firstByte(byte(c))
		n.asciiPlain[c] = !exact && !asciiNext && !user
	}
	return n, nil
}

// prefix returns the normalised form of the start of s and how many bytes
// of s it consumed (at least 1 for non-empty s).
func (n *Normalizer) prefix(s string) (string, int) {
	if n.userDefined != nil {
		if _, l := n.userDefined.longestPrefix(s); l > 0 {
			return s[:l], l
		}
	}
	if n.charsmap.trie != nil {
		if r, l, ok := n.charsmap.lookup(s); ok {
			return bytesToString(r), l
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return replacementChar, 1
	}
	return s[:size], size
}

// bytesToString converts without copying; the bytes are never modified.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafeString(b)
}

// Normalize returns the normalised text: charsmap applied, extra spaces
// removed, the dummy prefix added and spaces escaped as U+2581, according
// to the spec.
func (n *Normalizer) Normalize(s string) string {
	return string(n.AppendNormalized(nil, s))
}

// AppendNormalized appends the normalised form of s to dst.
func (n *Normalizer) AppendNormalized(dst []byte, s string) []byte {
	if n.removeExtraWhitespace {
		for len(s) > 0 {
			p, l := n.prefix(s)
			if p != " " {
				break
			}
			s = s[l:]
		}
	}
	if len(s) == 0 {
		return dst
	}
	start := len(dst)
	addWS := func() {
		if n.escapeWhitespace {
			dst = append(dst, spaceSymbol...)
		} else {
			dst = append(dst, ' ')
		}
	}
	if !n.treatWSAsSuffix && n.addDummyPrefix {
		addWS()
	}
	prevSpace := n.removeExtraWhitespace
	for len(s) > 0 {
		var p string
		var l int
		if c := s[0]; c < 0x80 && n.asciiPlain[c] && (len(s) == 1 || s[1] < 0x80) {
			p, l = s[:1], 1
		} else {
			p, l = n.prefix(s)
		}
		if prevSpace {
			for len(p) > 0 && p[0] == ' ' {
				p = p[1:]
			}
		}
		if len(p) > 0 {
			for i := 0; i < len(p); i++ {
				if n.escapeWhitespace && p[i] == ' ' {
					dst = append(dst, spaceSymbol...)
				} else {
					dst = append(dst, p[i])
				}
			}
			prevSpace = p[len(p)-1] == ' '
		}
		s = s[l:]
		if !n.removeExtraWhitespace {
			prevSpace = false
		}
	}
	if n.removeExtraWhitespace {
		sp := " "
		if n.escapeWhitespace {
			sp = spaceSymbol
		}
		for len(dst)-start >= len(sp) && string(dst[len(dst)-len(sp):]) == sp {
			dst = dst[:len(dst)-len(sp)]
		}
	}
	if n.treatWSAsSuffix && n.addDummyPrefix {
		addWS()
	}
	return dst
}

// unsafeString views b as a string without copying; b must never change.
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
