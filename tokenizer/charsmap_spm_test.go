package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// richLines is text full of what normalisation must handle: full-width
// forms, ligatures, odd spaces, combining marks, controls, unknown
// characters, invalid UTF-8 and the space symbol itself.
var richLines = []string{
	"",
	"   ",
	"ＡＢＣ　ｄｅｆ　１２３！？",
	"ﬁnance ﬂow ﬀ ﬃ Ⅻ ⅷ ½ ³ ㎏ ㍻ ℡ ™",
	"a\u00a0b\u2009c\u3000d\u200be\u2028f\u202fg\u205fh\u1680i",
	"tab\there\tand\r\vcarriage\fform",
	"cafe\u0301 A\u0302\u0300 e\u0308 n\u0303 Å Å",
	"\u1112\u1161\u11ab\u1100\u1173\u11af 한글 ﾊﾝｸﾞﾙ ㈜ ㉠",
	"ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ ガギグ か\u3099",
	"ctrl\x01\x02\x7fchars\u0085\u008f\u009f",
	"emoji 😀🎉 and ∀x∈ℝ ⊕ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝",
	"invalid \xff\xfe bytes \xc3 here \xe2\x82",
	"space▁symbol ▁▁ and \ufffd replacement and \ufeffBOM",
	"  leading and   multiple   spaces  ",
	"Debian<mask>パッケージthe the▁the Debian",
	"Ωmega ＫＥＬＶＩＮ K Å ǅ ǈ ŉ ſ ﬅ",
	"数字１２３と全角スペース　です。（括弧）「かぎ」～",
	"Привет, мир! Ё ё Й й",
	"\u0301leading combining",
	"x\u200dy\u200cz\u200ew\u200f",
	"Straße Grüße über ｶﾞｶﾞ ẞ ÜBER",
}

// randomCharsmapLines builds n lines from random keys of the given mapping
// mixed with ASCII and spaces, so that every part of a double array is hit.
func randomCharsmapLines(m map[string]string, n int, seed uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if utf8.ValidString(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	rng := rand.New(rand.NewPCG(seed, 1))
	lines := make([]string, n)
	for i := range lines {
		var b strings.Builder
		for j := 0; j < 12; j++ {
			switch rng.IntN(4) {
			case 0:
				b.WriteString(" ")
			case 1:
				b.WriteString("ab")
			default:
				b.WriteString(keys[rng.IntN(len(keys))])
			}
		}
		lines[i] = b.String()
	}
	return lines
}

// TestLetheCharsmapInSpm puts Lethe-built charsmaps into a model trained by
// spm_train and checks that spm_encode and Lethe then encode identically:
// spm parses Lethe's double arrays as Lethe does.
func TestLetheCharsmapInSpm(t *testing.T) {
	dir := t.TempDir()
	base := trainSpm(t, dir, "base", compatTrainFiles(), "--vocab_size=3000", "--user_defined_symbols=Debian,<mask>,▁the,パッケージ")
	for _, rule := range []string{RuleNmtNFKC, RuleNFKC, RuleIdentity} {
		t.Run(rule, func(t *testing.T) {
			p, err := ReadModelProto(base)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := BuildCharsmap(rule)
			if err != nil {
				t.Fatal(err)
			}
			p.NormalizerSpec.Name = rule
			p.NormalizerSpec.PrecompiledCharsmap = cm
			path := filepath.Join(dir, rule+".model")
			if err := p.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			rules, err := CharsmapRules(rule)
			if err != nil {
				t.Fatal(err)
			}
			lines := append(append([]string{}, richLines...), readTestLines(t, filepath.Join("testdata", "ja.test.txt"))...)
			if len(rules) > 0 {
				lines = append(lines, randomCharsmapLines(rules, 3000, 7)...)
			}
			same := compareWithSpm(t, path, lines)
			t.Logf("%s charsmap (%d bytes, %d rules): %d/%d lines identical with spm_encode", rule, len(cm), len(rules), same, len(lines))
			if same != len(lines) {
				t.Errorf("%d of %d lines differ", len(lines)-same, len(lines))
			}
		})
	}
}

// TestRichTextMatchesSpm checks odd text against spm's own charsmaps (in
// models made by spm_train, with and without byte fallback).
func TestRichTextMatchesSpm(t *testing.T) {
	dir := t.TempDir()
	// Custom normalisation rules (code points in hex): ß -> ss, "ｶﾞ" -> "X", ü -> ue.
	tsv := filepath.Join(dir, "rules.tsv")
	if err := os.WriteFile(tsv, []byte("DF\t73 73\nFF76 FF9E\t58\nFC\t75 65\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--vocab_size=2000", "--character_coverage=0.995", "--normalization_rule_tsv=" + tsv},
		{"--vocab_size=3000", "--user_defined_symbols=Debian,<mask>,▁the,パッケージ"},
		{"--vocab_size=2000", "--byte_fallback=true", "--character_coverage=0.99"},
		{"--vocab_size=2000", "--character_coverage=0.995", "--remove_extra_whitespaces=false", "--add_dummy_prefix=false"},
		{"--vocab_size=2000", "--character_coverage=0.995", "--normalization_rule_name=nfkc_cf"},
	} {
		name := strings.Join(args, " ")
		t.Run(name, func(t *testing.T) {
			path := trainSpm(t, dir, fmt.Sprintf("m%d", len(name)), compatTrainFiles(), args...)
			same := compareWithSpm(t, path, richLines)
			if same != len(richLines) {
				t.Errorf("%d of %d lines differ", len(richLines)-same, len(richLines))
			}
		})
	}
}

// TestNmtNFKCAgainstSpm compares Lethe's nmt_nfkc and nfkc tables with
// the ones inside models made by spm_train, on every code point and on every
// multi-code-point source spm's table holds. The differences are code
// points assigned after the Unicode version of spm's table (Lethe uses
// golang.org/x/text's Unicode 15 NFKC data).
func TestNmtNFKCAgainstSpm(t *testing.T) {
	dir := t.TempDir()
	for _, rule := range []string{RuleNmtNFKC, RuleNFKC} {
		t.Run(rule, func(t *testing.T) {
			path := trainSpm(t, dir, rule, []string{filepath.Join("testdata", "en.train.txt")}, "--vocab_size=500", "--normalization_rule_name="+rule)
			p, err := ReadModelProto(path)
			if err != nil {
				t.Fatal(err)
			}
			cm, err := ParseCharsmap(p.NormalizerSpec.PrecompiledCharsmap)
			if err != nil {
				t.Fatal(err)
			}
			compareRuleTables(t, cm.Entries(), rule)
		})
	}
}

func compareRuleTables(t *testing.T, spm map[string]string, rule string) {
	mine, err := CharsmapRules(rule)
	if err != nil {
		t.Fatal(err)
	}
	var diff []string
	for r := rune(1); r <= utf8.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		k := string(r)
		a, inSpm := spm[k]
		b, inMine := mine[k]
		if inSpm != inMine || a != b {
			diff = append(diff, fmt.Sprintf("%U spm=%q lethe=%q", r, a, b))
		}
	}
	multi, multiDiff := 0, 0
	for k, a := range spm {
		if utf8.RuneCountInString(k) < 2 {
			continue
		}
		multi++
		if b, ok := mine[k]; !ok || a != b {
			multiDiff++
			if multiDiff < 5 {
				t.Logf("multi %U: spm %U lethe %U", []rune(k), []rune(a), []rune(mine[k]))
			}
		}
	}
	t.Logf("%s: single code points: %d differing entries (spm's table has %d); multi-code-point sources: %d of %d differ; table sizes spm %d, lethe %d",
		rule, len(diff), len(spm)-multi, multiDiff, multi, len(spm), len(mine))
	for i, d := range diff {
		if i < 5 {
			t.Log(d)
		}
	}
	// All measured differences are characters new in Unicode 14/15
	// (U+A7F2-A7F4, U+10780-107BA, U+1E030-1E06D).
	for _, d := range diff {
		var r rune
		fmt.Sscanf(d, "U+%X", &r)
		if !(r >= 0xa7f2 && r <= 0xa7f4) && !(r >= 0x10780 && r <= 0x107ba) && !(r >= 0x1e030 && r <= 0x1e06d) {
			t.Errorf("unexpected difference: %s", d)
		}
	}
	if multiDiff != 0 {
		t.Errorf("%d multi-code-point sources differ", multiDiff)
	}
}
