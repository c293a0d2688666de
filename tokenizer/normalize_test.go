package tokenizer

import "testing"

func TestNormalize(t *testing.T) {
	nmt, err := BuildCharsmap(RuleNmtNFKC)
	if err != nil {
		t.Fatal(err)
	}
	spec := func(cm []byte, dummy, extra, escape bool) *NormalizerSpec {
		s := NewNormalizerSpec("test", cm)
		s.AddDummyPrefix, s.RemoveExtraWhitespaces, s.EscapeWhitespaces = dummy, extra, escape
		return s
	}
	tests := []struct {
		name   string
		spec   *NormalizerSpec
		user   []string
		suffix bool
		in     string
		want   string
	}{
		{"empty", spec(nil, true, true, true), nil, false, "", ""},
		{"only spaces", spec(nil, true, true, true), nil, false, "   ", ""},
		{"default", spec(nil, true, true, true), nil, false, "  a  b ", "▁a▁b"},
		{"keep spaces", spec(nil, true, false, true), nil, false, "  a  b ", "▁▁▁a▁▁b▁"},
		{"no dummy", spec(nil, false, true, true), nil, false, "a b", "a▁b"},
		{"no escape", spec(nil, true, true, false), nil, false, " a  b", " a b"},
		{"suffix", spec(nil, true, true, true), nil, true, "a b", "a▁b▁"},
		{"invalid utf8", spec(nil, true, true, true), nil, false, "a\xffb\xc3", "▁a\uFFFDb\uFFFD"},
		{"nmt full-width", spec(nmt, true, true, true), nil, false, "ＡＢＣ　ｄ", "▁ABC▁d"},
		{"nmt ligature", spec(nmt, true, true, true), nil, false, "ﬁne", "▁fine"},
		{"nmt controls", spec(nmt, true, true, true), nil, false, "a\x01b\tc\u200bd", "▁ab▁c▁d"},
		{"nmt compose", spec(nmt, true, true, true), nil, false, "cafe\u0301", "▁café"},
		{"nmt spaces collapse", spec(nmt, true, true, true), nil, false, "\u3000a\u00a0\u2009b\u3000", "▁a▁b"},
		{"nmt invalid", spec(nmt, true, true, true), nil, false, "\xff", "▁\uFFFD"},
		{"user defined kept", spec(nmt, true, true, true), []string{"ＡＢ"}, false, "ＡＢＣ", "▁ＡＢC"},
		{"space symbol", spec(nmt, true, true, true), nil, false, "a▁b", "▁a▁b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := NewNormalizer(tc.spec, tc.user, tc.suffix)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizerBadCharsmap(t *testing.T) {
	_, err := NewNormalizer(NewNormalizerSpec("broken", []byte{200, 0, 0, 0, 1}), nil, false)
	if err == nil {
		t.Fatal("no error for a broken charsmap")
	}
}
