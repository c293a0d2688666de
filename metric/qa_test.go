package metric

import (
	"reflect"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		mode Mode
		lang string
		want string
	}{
		{"squad articles", "The Eiffel  Tower, an icon!", SQuAD, "", "eiffel tower icon"},
		{"squad article only as whole word", "Theatre and a thesis", SQuAD, "", "theatre and thesis"},
		{"squad keeps non-ASCII punctuation", "«Paris» „Berlin“", SQuAD, "", "«paris» „berlin“"},
		{"squad hyphen and dots joined", "a.m. X-ray", SQuAD, "", "am xray"},
		{"squad ignores lang", "der Hund", SQuAD, "de", "der hund"},
		// an article glued to non-ASCII punctuation is still a whole word
		{"squad article next to guillemet", "«The» end", SQuAD, "", "« » end"},
		{"mlqa en", "«The» end", MLQA, "en", "end"},
		{"mlqa guillemets", "«Paris»", MLQA, "en", "paris"},
		{"mlqa German quotes and articles", "„Der Hund“ und die Katze", MLQA, "de", "hund und katze"},
		{"mlqa German words containing articles", "Diese Dame, dieses Denkmal", MLQA, "de", "diese dame dieses denkmal"},
		{"mlqa German umlaut", "Über den Fluß", MLQA, "de", "über fluß"},
		{"mlqa Spanish", "El Niño y la niña", MLQA, "es", "niño y niña"},
		{"mlqa Vietnamese", "Chiếc xe của tôi", MLQA, "vi", "xe tôi"},
		// Arabic: every ال becomes a space, also inside a word.
		{"mlqa Arabic article", "الكتاب", MLQA, "ar", "كتاب"},
		{"mlqa Arabic two words", "في المدينة", MLQA, "ar", "في مدينة"},
		{"mlqa Arabic al inside a word", "مالك", MLQA, "ar", "م ك"},
		{"mlqa Arabic punctuation", "القاهرة، مصر؟", MLQA, "ar", "قاهرة مصر"},
		{"mlqa Hindi no articles", "भारत की राजधानी", MLQA, "hi", "भारत की राजधानी"},
		{"mlqa Chinese characters", "北京大学", MLQA, "zh", "北 京 大 学"},
		{"mlqa language tag with region", "北京大学", MLQA, "zh_CN", "北 京 大 学"},
		{"mlqa language tag upper case", "Die Katze", MLQA, "DE-at", "katze"},
		{"mlqa Chinese punctuation removed", "北京、上海。", MLQA, "zh", "北 京 上 海"},
		{"mlqa Chinese mixed with Latin", "2008年北京Olympics", MLQA, "zh", "2008 年 北 京 olympics"},
		{"mlqa Chinese outside U+9FA5 stays joined", "鿆鿇", MLQA, "zh", "鿆鿇"},
		{"python lower dotted I", "İstanbul", MLQA, "en", "i\u0307stanbul"},
		{"python lower final sigma", "ΟΔΟΣ ΣΑΣ", MLQA, "en", "οδος σας"},
		{"python whitespace U+001F", "x\x1fy\u3000z", SQuAD, "", "x y z"},
		{"empty after normalisation", " the, a ", SQuAD, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.in, tc.mode, tc.lang); got != tc.want {
				t.Errorf("Normalize(%q, %v, %q) = %q, want %q", tc.in, tc.mode, tc.lang, got, tc.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	got := Tokens("2008年北京 Olympic Games", MLQA, "zh")
	want := []string{"2008", "年", "北", "京", "olympic", "games"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tokens = %q, want %q", got, want)
	}
}

func TestExactMatchAndF1(t *testing.T) {
	tests := []struct {
		name       string
		pred, gold string
		mode       Mode
		lang       string
		em, f1     float64
	}{
		// pred tokens 北 京 大 学 (4), gold tokens 北 京 (2), shared 2:
		// precision 2/4, recall 2/2, F1 = 2*(1/2)*1/(1/2+1) = 2/3.
		{"Chinese characters", "北京大学", "北京", MLQA, "zh", 0, 2.0 / 3},
		// Without character segmentation the two are one token each.
		{"Chinese under SQuAD rules", "北京大学", "北京", SQuAD, "", 0, 0},
		{"German article", "der Hund", "Hund", MLQA, "de", 1, 1},
		// SQuAD keeps "der": tokens {der, hund} vs {hund}: P 1/2, R 1, F1 2/3.
		{"German article under SQuAD", "der Hund", "Hund", SQuAD, "", 0, 2.0 / 3},
		{"Arabic article", "الجزائر", "جزائر", MLQA, "ar", 1, 1},
		// “hello” keeps its curly quotes under SQuAD: tokens {“hello”, world}
		// vs {hello, world}: 1 shared, P = R = 1/2, F1 1/2.
		{"curly quotes SQuAD", "“Hello”, world", "hello world", SQuAD, "", 0, 0.5},
		{"curly quotes MLQA", "“Hello”, world", "hello world", MLQA, "en", 1, 1},
		{"English articles", "the answer", "an answer", SQuAD, "", 1, 1},
		// repeats count once per occurrence: {x y y} vs {y y z} share 2.
		{"repeated tokens", "x y y", "y y z", SQuAD, "", 0, 2.0 / 3},
		{"no overlap", "red", "blue", SQuAD, "", 0, 0},
		{"empty prediction", "", "blue", SQuAD, "", 0, 0},
		// Both normalise to nothing: EM 1 but F1 0 in the v1.1 and MLQA scripts.
		{"both empty", "The", "a", SQuAD, "", 1, 0},
		{"Unicode punctuation zh", "北京。", "北京", MLQA, "zh", 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if em := ExactMatch(tc.pred, tc.gold, tc.mode, tc.lang); em != tc.em {
				t.Errorf("ExactMatch = %v, want %v", em, tc.em)
			}
			if f1 := F1(tc.pred, tc.gold, tc.mode, tc.lang); !near(f1, tc.f1) {
				t.Errorf("F1 = %v, want %v", f1, tc.f1)
			}
		})
	}
}

func TestQA(t *testing.T) {
	golds := map[string][]string{
		"q1": {"北京", "北京市"},  // pred 北京大学: F1 2/3 against 北京, 4/7 against 北京市: best 2/3
		"q2": {"上海"},         // exact
		"q3": {"广州"},         // missing: 0, 0
		"q4": {},             // no gold answers: left out
		"q5": {"长江", "长江大桥"}, // pred 长江大桥: exact against the second
	}
	preds := map[string]string{
		"q1": "北京大学",
		"q2": "上海。",
		"q5": "长江大桥",
		"q9": "extra",
	}
	got := QA(golds, preds, MLQA, "zh")
	// 4 scored questions: EM (0+1+0+1)/4 = 50; F1 (2/3+1+0+1)/4 = 2/3 x 100.
	want := QAResult{EM: 50, F1: 100 * (2.0/3 + 2) / 4, Count: 4, Missing: 1, NoGold: 1, Extra: 1}
	if got.Count != want.Count || got.Missing != want.Missing || got.NoGold != want.NoGold ||
		got.Extra != want.Extra || !near(got.EM, want.EM) || !near(got.F1, want.F1) {
		t.Errorf("QA = %+v, want %+v", got, want)
	}
	if empty := QA(nil, nil, SQuAD, ""); empty != (QAResult{}) {
		t.Errorf("QA of nothing = %+v, want zero", empty)
	}
}

func TestCheckLang(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		lang string
		ok   bool
	}{
		{SQuAD, "th", true},
		{MLQA, "de", true},
		{MLQA, "zh", true},
		{MLQA, "zh_CN", true},
		{MLQA, "th", false},
		{Mode(7), "en", false},
	} {
		if err := CheckLang(tc.mode, tc.lang); (err == nil) != tc.ok {
			t.Errorf("CheckLang(%v, %q) = %v, want ok=%v", tc.mode, tc.lang, err, tc.ok)
		}
	}
}
