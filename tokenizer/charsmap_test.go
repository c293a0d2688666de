package tokenizer

import (
	"fmt"
	"strings"
	"testing"
)

func TestDoubleArrayLongestPrefix(t *testing.T) {
	keys := []daKey{{"a", 1}, {"ab", 2}, {"abc", 3}, {"b", 4}, {"bcd", 5}, {"\xe2\x96\x81", 6}, {"\xe2\x96\x81x", 7}, {"xyz", 8}, {"\xff\x01", 9}}
	da, err := buildDoubleArray(keys, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in      string
		value   int32
		length  int
		comment string
	}{
		{"", 0, 0, "empty"},
		{"a", 1, 1, "exact"},
		{"abd", 2, 2, "longest proper prefix"},
		{"abcabc", 3, 3, "longest"},
		{"bc", 4, 1, "prefix of a key is not a match"},
		{"bcde", 5, 3, ""},
		{"c", 0, 0, "absent"},
		{"xy", 0, 0, "incomplete key"},
		{"\xe2\x96\x81xx", 7, 4, "multi-byte"},
		{"\xe2\x96", 0, 0, "cut multi-byte"},
		{"\xff\x01\x02", 9, 2, "high bytes"},
		{"\x00a", 0, 0, "NUL never matches"},
		{"a\x00", 1, 1, "NUL after a key"},
	}
	for _, tc := range tests {
		v, n := da.longestPrefix(tc.in)
		if v != tc.value || n != tc.length {
			t.Errorf("%q (%s): got value %d length %d, want %d %d", tc.in, tc.comment, v, n, tc.value, tc.length)
		}
	}
}

func TestDoubleArrayManyKeys(t *testing.T) {
	var keys []daKey
	for i := 0; i < 5000; i++ {
		keys = append(keys, daKey{fmt.Sprintf("k%dx%d", i%97, i), int32(i)})
	}
	for _, merge := range []bool{false, true} {
		da, err := buildDoubleArray(keys, merge)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if v, n := da.longestPrefix(k.key + "!"); v != k.value || n != len(k.key) {
				t.Fatalf("%q: got %d/%d want %d/%d", k.key, v, n, k.value, len(k.key))
			}
		}
		if len(da) > 8*len(keys)*8 {
			t.Errorf("array of %d units for %d keys", len(da), len(keys))
		}
	}
}

func TestDoubleArrayBadKeys(t *testing.T) {
	for _, keys := range [][]daKey{
		{{"", 1}},
		{{"a", 1}, {"a", 2}},
		{{"a\x00b", 1}},
		{{"a", -1}},
	} {
		if _, err := buildDoubleArray(keys, false); err == nil {
			t.Errorf("%q: no error", keys)
		}
	}
}

func TestCompileParseCharsmap(t *testing.T) {
	rules := map[string]string{"Ａ": "A", "ﬁ": "fi", "\u00a0": " ", "x\u0301": "ẋ", "del": "", "ｶﾞ": "ガ"}
	blob, err := CompileCharsmap(rules)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := ParseCharsmap(blob)
	if err != nil {
		t.Fatal(err)
	}
	got := cm.Entries()
	if len(got) != len(rules) {
		t.Errorf("%d entries, want %d: %q", len(got), len(rules), got)
	}
	for k, v := range rules {
		if got[k] != v {
			t.Errorf("%q -> %q, want %q", k, got[k], v)
		}
	}
	if blob, err := CompileCharsmap(nil); err != nil || len(blob) != 0 {
		t.Errorf("empty mapping: %d bytes, %v", len(blob), err)
	}
	if _, err := CompileCharsmap(map[string]string{"a": "b\x00"}); err == nil {
		t.Error("NUL in replacement accepted")
	}
}

func TestParseCharsmapErrors(t *testing.T) {
	for _, tc := range []struct {
		blob []byte
		want string
	}{
		{[]byte{1, 2}, "at least 4"},
		{[]byte{8, 0, 0, 0, 1, 2, 3, 4}, "runs past"},
		{[]byte{6, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0}, "multiple of 4"},
	} {
		_, err := ParseCharsmap(tc.blob)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("% x: error %v, want %q", tc.blob, err, tc.want)
		}
	}
}

func TestCharsmapRules(t *testing.T) {
	nmt, err := CharsmapRules(RuleNmtNFKC)
	if err != nil {
		t.Fatal(err)
	}
	nfkc, err := CharsmapRules(RuleNFKC)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src       string
		nmt, nfkc string
		inNFKC    bool
	}{
		{"Ａ", "A", "A", true},
		{"ﬁ", "fi", "fi", true},
		{"\u3000", " ", " ", true},
		{"\t", " ", "", false},
		{"\x01", "", "", false},
		{"\u200b", " ", "", false},
		{"\u2581", " ", "", false},
		{"～", "", "~", true}, // nmt keeps FULLWIDTH TILDE
		{"e\u0301", "é", "é", true},
		{"\u1112\u1161\u11ab", "한", "한", true},
		{"ﾊﾞ", "バ", "バ", true},
	}
	for _, tc := range tests {
		if got, ok := nmt[tc.src]; got != tc.nmt || ok != (tc.nmt != "" || tc.src == "\x01") {
			t.Errorf("nmt_nfkc %q -> %q (present %v), want %q", tc.src, got, ok, tc.nmt)
		}
		if got, ok := nfkc[tc.src]; got != tc.nfkc || ok != tc.inNFKC {
			t.Errorf("nfkc %q -> %q (present %v), want %q", tc.src, got, ok, tc.nfkc)
		}
	}
	if id, err := CharsmapRules(RuleIdentity); err != nil || len(id) != 0 {
		t.Errorf("identity: %d rules, %v", len(id), err)
	}
	if _, err := CharsmapRules("nfkd"); err == nil || !strings.Contains(err.Error(), "nmt_nfkc") {
		t.Errorf("unknown rule: %v", err)
	}
}
