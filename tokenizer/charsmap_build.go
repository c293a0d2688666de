package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalisation rule names understood by BuildCharsmap.
const (
	RuleNmtNFKC  = "nmt_nfkc"
	RuleNFKC     = "nfkc"
	RuleIdentity = "identity"
)

// CharsmapRules returns the source-to-replacement mapping of a named
// normalisation rule: "nfkc" (Unicode NFKC, as tables: each code point that
// NFKC changes, plus the decomposed spellings of composed characters),
// "nmt_nfkc" (NFKC plus SentencePiece's rules for machine translation:
// control characters removed, the Unicode spaces and line separators turned
// into U+0020) or "identity" (empty).
func CharsmapRules(name string) (map[string]string, error) {
	switch name {
	case RuleIdentity:
		return map[string]string{}, nil
	case RuleNFKC:
		return nfkcRules(false), nil
	case RuleNmtNFKC:
		return nfkcRules(true), nil
	}
	return nil, fmt.Errorf("normalization rule %q: expected %q, %q or %q", name, RuleNmtNFKC, RuleNFKC, RuleIdentity)
}

// BuildCharsmap returns the precompiled charsmap of a named rule (see
// CharsmapRules), ready for NormalizerSpec.PrecompiledCharsmap; identity
// gives an empty charsmap.
func BuildCharsmap(name string) ([]byte, error) {
	m, err := CharsmapRules(name)
	if err != nil {
		return nil, err
	}
	return CompileCharsmap(m)
}

// nmtRule returns the NMT replacement of r, and whether the NMT rules
// touch r at all. These are the rules of SentencePiece's nmt_nfkc table as
// read out of a model made by spm_train 0.1.97 (compared code point by code
// point in TestNmtNFKCAgainstSpm).
func nmtRule(r rune) (string, bool) {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\f':
		return " ", true // tab and line breaks become spaces
	case r >= 0x01 && r <= 0x1f, r == 0x7f, r == 0x8f, r == 0x9f:
		return "", true // control characters are removed
	case r == 0x200b, r == 0x200c, r == 0x200e, r == 0x200f, // zero width space/non-joiner, direction marks
		r == 0x2028, r == 0x2029, // line and paragraph separators
		r == 0x2581,                           // the space symbol itself
		r == 0xfeff,                           // byte order mark
		r == 0xfffd,                           // replacement character
		r != ' ' && unicode.Is(unicode.Zs, r): // every other Unicode space
		return " ", true
	}
	return "", false
}

// nfkcRules builds the NFKC table (with the NMT rules when nmt is set).
func nfkcRules(nmt bool) map[string]string {
	m := map[string]string{}
	// apply maps a string through the rules so far: NFKC of the NMT-cleaned
	// text, as SentencePiece's builder composes its rules.
	apply := func(s string) string {
		if !nmt {
			return norm.NFKC.String(s)
		}
		var b []byte
		for _, r := range s {
			if rep, ok := nmtRule(r); ok {
				b = append(b, rep...)
			} else {
				b = utf8.AppendRune(b, r)
			}
		}
		return norm.NFKC.String(string(b))
	}
	// pre[x] lists the code points whose mapping is the single code point x
	// (x's compatibility variants: full-width, circled, half-width, ...).
	pre := map[rune][]rune{}
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if (r >= 0xd800 && r <= 0xdfff) || (nmt && r == 0xff5e) {
			continue // surrogates; FULLWIDTH TILDE is kept by nmt_nfkc
		}
		src := string(r)
		dst := apply(src)
		if dst == src {
			continue
		}
		m[src] = dst
		if x, n := utf8.DecodeRuneInString(dst); n == len(dst) && n > 0 {
			pre[x] = append(pre[x], r)
		}
	}
	// A composed character also stands for every spelling of its canonical
	// decomposition in which each part is replaced by one of its variants:
	// "A" U+0302 U+0300 and "A" U+0302 U+0340 both compose to U+1EA6, and a
	// Hangul syllable composes from compatibility or half-width jamo.
	var parts [][]rune
	var key []byte
	var product func(i int, value string)
	product = func(i int, value string) {
		if i == len(parts) {
			k := string(key)
			if _, ok := m[k]; !ok && k != value {
				m[k] = value
			}
			return
		}
		n := len(key)
		for _, r := range parts[i] {
			key = utf8.AppendRune(key[:n], r)
			product(i+1, value)
		}
		key = key[:n]
	}
	for r := rune(1); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		src := string(r)
		d := norm.NFD.String(src)
		if d == src || utf8.RuneCountInString(d) < 2 {
			continue
		}
		value := src
		if v, ok := m[src]; ok {
			value = v
		}
		parts = parts[:0]
		for _, x := range d {
			parts = append(parts, append([]rune{x}, pre[x]...))
		}
		product(0, value)
	}
	return m
}
