package roff

import (
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// specialChars maps groff special character names (\(xx, \[xx]) to their
// text. Names not listed here and not of the forms handled by special are
// dropped.
var specialChars = map[string]string{
	// dashes, hyphens, spaces
	"em": "—", "en": "–", "hy": "-", "mi": "-", "-": "-", "pl": "+", "eq": "=", "sl": "/", "rs": "\\",
	"ul": "_", "ru": "_", "ba": "|", "br": "|", "bv": "|", "ti": "~", "ha": "^", "ga": "`", "aa": "´",
	"ci": "○", "sq": "□", "lh": "☜", "rh": "☞",
	// quotes
	"lq": "“", "rq": "”", "oq": "‘", "cq": "’", "aq": "'", "dq": "\"", "Bq": "„", "bq": "‚",
	"Fo": "«", "Fc": "»", "fo": "‹", "fc": "›",
	// bullets and marks
	"bu": "•", "co": "©", "rg": "®", "tm": "™", "dg": "†", "dd": "‡", "ps": "¶", "sc": "§", "de": "°",
	"ct": "¢", "Po": "£", "Ye": "¥", "Eu": "€", "eu": "€", "Do": "$", "at": "@", "sh": "#", "%0": "‰",
	"r!": "¡", "r?": "¿", "OK": "✓",
	// arithmetic and logic
	"mu": "×", "di": "÷", "+-": "±", "<=": "≤", ">=": "≥", "!=": "≠", "==": "≡", "~=": "≅", "ap": "∼",
	"~~": "≈", "no": "¬", "if": "∞", "sr": "√", "pt": "∝", "es": "∅", "mo": "∈", "nm": "∉",
	"sb": "⊂", "sp": "⊃", "ca": "∩", "cu": "∪", "fa": "∀", "te": "∃", "pd": "∂", "gr": "∇", "is": "∫",
	"12": "½", "14": "¼", "34": "¾", "S1": "¹", "S2": "²", "S3": "³",
	// arrows
	"->": "→", "<-": "←", "<>": "↔", "ua": "↑", "da": "↓", "rA": "⇒", "lA": "⇐", "hA": "⇔",
	// letters
	"ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "o/": "ø", "O/": "Ø", "-D": "Đ", "Sd": "ð",
	"TP": "Þ", "Tp": "þ", ".i": "ı", "ff": "ff", "fi": "fi", "fl": "fl", "Fi": "ffi", "Fl": "ffl",
	// Greek (\(*a ...)
	"*a": "α", "*b": "β", "*g": "γ", "*d": "δ", "*e": "ε", "*z": "ζ", "*y": "η", "*h": "θ", "*i": "ι",
	"*k": "κ", "*l": "λ", "*m": "μ", "*n": "ν", "*c": "ξ", "*o": "ο", "*p": "π", "*r": "ρ", "*s": "σ",
	"*t": "τ", "*u": "υ", "*f": "φ", "*x": "χ", "*q": "ψ", "*w": "ω", "*W": "Ω", "*S": "Σ", "*D": "Δ",
	"*P": "Π", "*G": "Γ", "*L": "Λ", "*F": "Φ", "*H": "Θ", "*Q": "Ψ",
}

// accents maps the first character of a composite special character name
// (\('e, \(:u, \(,c) to the Unicode combining mark it adds to the second.
var accents = map[byte]rune{
	'\'': '\u0301', '`': '\u0300', ':': '\u0308', '^': '\u0302', '~': '\u0303', ',': '\u0327',
	'o': '\u030a', 'v': '\u030c', '"': '\u030b', '-': '\u0304', '.': '\u0307', 'u': '\u0306',
}

// special returns the text of the special character called name, or "" for
// a name it does not know.
func special(name string) string {
	if s, ok := specialChars[name]; ok {
		return s
	}
	// \[u00E9], \[u0065_0301]: Unicode code points.
	if len(name) >= 5 && name[0] == 'u' {
		var b strings.Builder
		for _, hex := range strings.Split(name[1:], "_") {
			v, err := strconv.ParseUint(hex, 16, 32)
			if err != nil || len(hex) < 4 {
				return ""
			}
			b.WriteRune(rune(v))
		}
		return norm.NFC.String(b.String())
	}
	// \('e, \(:a: a letter with an accent.
	if len(name) == 2 {
		if mark, ok := accents[name[0]]; ok && isASCIILetter(name[1]) {
			return norm.NFC.String(string(rune(name[1])) + string(mark))
		}
	}
	return ""
}

// predefinedStrings holds the strings (\*x, \*(xx, \*[xx]) that the man
// macros and the pod2man preamble define, for pages that use them without
// defining them in a way this package can evaluate.
var predefinedStrings = map[string]string{
	"lq": "“", "rq": "”", "R": "®", "Tm": "™", "S": "", "Aq": "'",
	"L\"": "“", "R\"": "”", "C+": "C++", "C`": "", "C'": "", "--": "—", "PI": "π",
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
