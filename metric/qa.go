package metric

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mode selects whose answer normalisation QA scores follow.
type Mode int

const (
	// SQuAD follows the official SQuAD v1.1 evaluate script (also used for
	// XQuAD): lower-case, remove the ASCII punctuation of Python's
	// string.punctuation, remove the English articles a, an, the as whole
	// words, collapse whitespace; tokens are whitespace-separated. The
	// language argument is ignored.
	SQuAD Mode = iota

	// MLQA follows the official MLQA evaluate script (mlqa_evaluation_v1.py):
	// lower-case, remove every character of Unicode category P* and of
	// string.punctuation, remove the articles of the answer's language,
	// then tokenise (per CJK character for zh, on whitespace otherwise).
	MLQA
)

// String names the mode as the command line spells it.
func (m Mode) String() string {
	switch m {
	case SQuAD:
		return "squad"
	case MLQA:
		return "mlqa"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// mlqaArticles lists, per MLQA language, the words the official script
// removes as articles (as whole words, after lower-casing). Arabic is handled
// separately (see removeArabicAl); hi and zh have none.
var mlqaArticles = map[string][]string{
	"en": {"a", "an", "the"},
	"es": {"un", "una", "unos", "unas", "el", "la", "los", "las"},
	"vi": {"của", "là", "cái", "chiếc", "những"},
	"de": {"ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"},
}

var squadArticles = mlqaArticles["en"]

// CheckLang reports whether lang is a language the official script of mode
// knows. The SQuAD script knows only English and accepts any lang; the MLQA
// script raises an exception for anything but en, es, de, vi, ar, hi, zh.
// Normalize itself never fails: for an unknown MLQA language it removes no
// articles and splits on whitespace (as for hi), so callers that want the
// official script's refusal call CheckLang first.
func CheckLang(mode Mode, lang string) error {
	switch mode {
	case SQuAD:
		return nil
	case MLQA:
		switch baseLang(lang) {
		case "en", "es", "de", "vi", "ar", "hi", "zh":
			return nil
		}
		return fmt.Errorf("metric: MLQA evaluation knows languages en, es, de, vi, ar, hi, zh, not %q", lang)
	}
	return fmt.Errorf("metric: unknown QA mode %d", int(mode))
}

// Normalize returns s normalised the way the official script of mode does it
// before comparing answers, with tokens separated by single spaces.
//
// The steps, in the scripts' order: lower-case (Python's str.lower, including
// its context-dependent final sigma and the two-rune lower case of U+0130);
// remove punctuation; remove articles; split into tokens and join them with
// one space. Details of MLQA mode worth knowing:
//   - Arabic: the script's rule is re.sub('\sال^|ال', ' ', text). Its first
//     alternative can never match (^ after consumed characters, without
//     re.MULTILINE), so in effect EVERY occurrence of the two letters ال,
//     also inside a word, becomes a space, splitting the word there (for
//     example "مالك" becomes the two tokens "م" and "ك"). This mirrors the
//     script rather than linguistics, so that figures compare with
//     published MLQA numbers.
//   - zh: each character in U+4E00..U+9FA5 and each punctuation character is
//     a token of its own; the text between them is split on whitespace.
//   - lang is reduced to its primary subtag: "zh_CN" and "de-AT" follow
//     the rules of zh and de.
//   - Whole words are delimited as by Python's \b: a word character is a
//     Unicode letter or number or '_'.
func Normalize(s string, mode Mode, lang string) string {
	return strings.Join(tokens(s, mode, lang), " ")
}

// Tokens returns the tokens of Normalize(s, mode, lang): the bag F1 counts.
func Tokens(s string, mode Mode, lang string) []string {
	return tokens(s, mode, lang)
}

// baseLang reduces a language tag to its lower-case primary subtag, so that
// "zh_CN", "zh-Hans" and "ZH" all select the rules of "zh".
func baseLang(lang string) string {
	if i := strings.IndexAny(lang, "_-"); i >= 0 {
		lang = lang[:i]
	}
	return strings.ToLower(lang)
}

func tokens(s string, mode Mode, lang string) []string {
	lang = baseLang(lang)
	s = pyLower(s)
	if mode == MLQA {
		s = strings.Map(func(r rune) rune {
			if unicode.IsPunct(r) || isASCIIPunct(r) {
				return -1
			}
			return r
		}, s)
		if lang == "ar" {
			s = strings.ReplaceAll(s, "ال", " ")
		} else if arts := mlqaArticles[lang]; arts != nil {
			s = removeWords(s, arts)
		}
		if lang == "zh" {
			return mixedSegmentation(s)
		}
		return pyFields(s)
	}
	s = strings.Map(func(r rune) rune {
		if isASCIIPunct(r) {
			return -1
		}
		return r
	}, s)
	return pyFields(removeWords(s, squadArticles))
}

// isASCIIPunct reports whether r is in Python's string.punctuation:
// !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ .
func isASCIIPunct(r rune) bool {
	return r < utf8.RuneSelf && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r)
}

// pyIsSpace reports whether Python's str.split() splits at r: Go's
// unicode.IsSpace plus the separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyFields splits s like Python's str.split() with no argument.
func pyFields(s string) []string {
	return strings.FieldsFunc(s, pyIsSpace)
}

// isWord reports whether r is a word character of Python's Unicode \w.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

// pyLower lower-cases s as Python's str.lower does: Go's simple case mapping
// plus the special cases Python applies (U+0130 becomes "i" + U+0307, and
// capital sigma at the end of a word becomes the final form ς).
func pyLower(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(s, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma applies Unicode's Final_Sigma condition to the Σ at byte i of s:
// preceded by a cased letter and not followed by one, skipping
// case-ignorable characters (approximated here by nonspacing marks, format
// characters and apostrophes) on both sides.
func finalSigma(s string, i int) bool {
	ignorable := func(r rune) bool {
		return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) || r == '\'' || r == '’' || r == '.' || r == ':'
	}
	before := false
	for j := i; j > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if ignorable(r) {
			continue
		}
		before = isCased(r)
		break
	}
	if !before {
		return false
	}
	for j := i + len("Σ"); j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		j += n
		if ignorable(r) {
			continue
		}
		return !isCased(r)
	}
	return true
}

// removeWords replaces each whole-word occurrence of one of words by a
// space, as re.sub(r'\b(w1|w2|...)\b', ' ', s) does in Python.
func removeWords(s string, words []string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevWord := false // whether the rune before i (in s) is a word character
	for i := 0; i < len(s); {
		if !prevWord {
			if n := matchWord(s[i:], words); n > 0 {
				b.WriteByte(' ')
				last, _ := utf8.DecodeLastRuneInString(s[i : i+n])
				prevWord = isWord(last)
				i += n
				continue
			}
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+n])
		prevWord = isWord(r)
		i += n
	}
	return b.String()
}

// matchWord returns the length of the first of words that s starts with and
// that is followed by a non-word character or the end of s, or 0.
func matchWord(s string, words []string) int {
	for _, w := range words {
		if !strings.HasPrefix(s, w) {
			continue
		}
		if next, _ := utf8.DecodeRuneInString(s[len(w):]); len(s) == len(w) || !isWord(next) {
			return len(w)
		}
	}
	return 0
}

// mixedSegmentation tokenises Chinese as the MLQA script does: every
// character in U+4E00..U+9FA5 and every punctuation character is a token,
// and the runs between them are split on whitespace.
func mixedSegmentation(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if (r >= 0x4E00 && r <= 0x9FA5) || unicode.IsPunct(r) || isASCIIPunct(r) {
			out = append(out, pyFields(s[start:i])...)
			out = append(out, string(r))
			start = i + utf8.RuneLen(r)
		}
	}
	return append(out, pyFields(s[start:])...)
}

// ExactMatch is 1 when pred and gold normalise to the same string, else 0.
func ExactMatch(pred, gold string, mode Mode, lang string) float64 {
	if Normalize(pred, mode, lang) == Normalize(gold, mode, lang) {
		return 1
	}
	return 0
}

// F1 is the bag-of-tokens F1 between the normalised tokens of pred and gold:
// with c the number of tokens they share (counting repeats), precision
// c/len(pred), recall c/len(gold), F1 their harmonic mean. As in both
// official scripts, F1 is 0 whenever no token is shared, which includes the
// case where either side has no tokens and also the case where BOTH are
// empty (the SQuAD v2.0 script would give 1 there; v1.1 and MLQA give 0,
// while ExactMatch gives 1).
func F1(pred, gold string, mode Mode, lang string) float64 {
	return tokenF1(tokens(pred, mode, lang), tokens(gold, mode, lang))
}

func tokenF1(pred, gold []string) float64 {
	counts := make(map[string]int, len(gold))
	for _, t := range gold {
		counts[t]++
	}
	same := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	p := float64(same) / float64(len(pred))
	r := float64(same) / float64(len(gold))
	return 2 * p * r / (p + r)
}

// QAResult is the score of a set of QA predictions.
type QAResult struct {
	EM    float64 `json:"em"`    // 100 x mean over scored questions of the best exact match over gold answers
	F1    float64 `json:"f1"`    // 100 x mean over scored questions of the best F1 over gold answers
	Count int     `json:"count"` // questions scored: gold questions with at least one answer

	// Missing counts scored questions without a prediction; each counts as
	// EM 0 and F1 0, as in the official scripts.
	Missing int `json:"missing"`

	// NoGold counts gold questions with no answers; they are left out (the
	// official v1.1 script would fail on them).
	NoGold int `json:"no_gold"`

	// Extra counts predictions for ids not among the gold questions; they
	// are ignored, as in the official scripts.
	Extra int `json:"extra"`
}

// UnmarshalJSON reads a QAResult, also from files written before its keys
// were snake_case ("NoGold"; the other old keys match case-insensitively).
func (r *QAResult) UnmarshalJSON(b []byte) error {
	type plain QAResult
	var v struct {
		plain
		OldNoGold *int `json:"NoGold"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = QAResult(v.plain)
	if v.OldNoGold != nil {
		r.NoGold = *v.OldNoGold
	}
	return nil
}

// QA scores preds (question id -> predicted answer text) against golds
// (question id -> the accepted answer texts) in the given mode and language.
func QA(golds map[string][]string, preds map[string]string, mode Mode, lang string) QAResult {
	var res QAResult
	var sumEM, sumF1 float64
	// Sum in id order, so that the same inputs give bit-identical figures.
	for _, id := range slices.Sorted(maps.Keys(golds)) {
		answers := golds[id]
		if len(answers) == 0 {
			res.NoGold++
			continue
		}
		res.Count++
		pred, ok := preds[id]
		if !ok {
			res.Missing++
			continue
		}
		pt := tokens(pred, mode, lang)
		pn := strings.Join(pt, " ")
		bestEM, bestF1 := 0.0, 0.0
		for _, a := range answers {
			gt := tokens(a, mode, lang)
			if strings.Join(gt, " ") == pn {
				bestEM = 1
			}
			bestF1 = max(bestF1, tokenF1(pt, gt))
		}
		sumEM += bestEM
		sumF1 += bestF1
	}
	for id := range preds {
		if _, ok := golds[id]; !ok {
			res.Extra++
		}
	}
	if res.Count > 0 {
		res.EM = 100 * sumEM / float64(res.Count)
		res.F1 = 100 * sumF1 / float64(res.Count)
	}
	return res
}
