package debian

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// Kind says which files of a package hold its text and which extractor reads
// them.
type Kind int

// The kinds of package content.
const (
	Man     Kind = iota // roff man pages: usr/share/man/[LOCALE/]manN/*.gz
	HTML                // HTML documentation: *.html
	RST                 // reStructuredText: Documentation/**/*.rst[.gz], _sources/**/*.rst.txt
	POD                 // Perl's POD: usr/share/perl/*/pod/*.pod
	Sword               // SWORD zText Bible modules: usr/share/sword/mods.d/*.conf
	Fortune             // '%'-separated fortunes: usr/share/games/fortunes/[LANG/]*
)

// String names the kind as the manifest and the data card do.
func (k Kind) String() string {
	switch k {
	case Man:
		return "man"
	case HTML:
		return "html"
	case RST:
		return "rst"
	case POD:
		return "pod"
	case Sword:
		return "sword"
	case Fortune:
		return "fortune"
	}
	return "unknown"
}

// Package is a Debian binary package whose files are extracted into the
// corpora.
type Package struct {
	Name string // binary package name, e.g. "manpages-de"
	Kind Kind   // which files hold its text
	// Lang is the DDTP language code of its text; "" for packages holding
	// several languages (debian-handbook, installation-guide-amd64,
	// linux-doc), whose language is read from each file's path.
	Lang string
}

// packageTable lists, per DDTP language code, the packages whose text goes
// into that language's corpus. It is the one place that maps Debian's
// package suffixes (manpages-zh, debian-reference-zh-cn, maint-guide-zh-cn,
// manpages-pt-br) to DDTP codes. Multilingual packages are listed under en:
// they are fetched whatever the languages, and their files are sorted into
// languages by path.
func packageTable() map[string][]Package {
	man := func(name, lang string) Package { return Package{name, Man, lang} }
	html := func(name, lang string) Package { return Package{name, HTML, lang} }
	fortune := func(name, lang string) Package { return Package{name, Fortune, lang} }
	return map[string][]Package{
		"en": {
			man("manpages", "en"), man("manpages-dev", "en"),
			html("debian-reference-en", "en"), html("maint-guide", "en"),
			html("debian-handbook", ""), html("installation-guide-amd64", ""),
			{"linux-doc-6.1", RST, ""}, {"python3.11-doc", RST, "en"}, {"perl-doc", POD, "en"},
			{"sword-text-kjv", Sword, "en"}, {"sword-text-web", Sword, "en"},
			fortune("fortunes", "en"),
		},
		"de":    {man("manpages-de", "de"), man("manpages-de-dev", "de"), html("debian-reference-de", "de"), html("maint-guide-de", "de"), fortune("fortunes-de", "de")},
		"fr":    {man("manpages-fr", "fr"), man("manpages-fr-dev", "fr"), html("debian-reference-fr", "fr"), html("maint-guide-fr", "fr")},
		"ru":    {man("manpages-ru", "ru"), man("manpages-ru-dev", "ru"), html("maint-guide-ru", "ru"), fortune("fortunes-ru", "ru")},
		"ja":    {man("manpages-ja", "ja"), man("manpages-ja-dev", "ja"), html("debian-reference-ja", "ja"), html("maint-guide-ja", "ja")},
		"zh_CN": {man("manpages-zh", "zh_CN"), html("debian-reference-zh-cn", "zh_CN"), html("maint-guide-zh-cn", "zh_CN"), fortune("fortunes-zh", "zh_CN")},
		"es":    {man("manpages-es", "es"), man("manpages-es-dev", "es"), html("debian-reference-es", "es"), html("maint-guide-es", "es"), fortune("fortunes-es", "es"), {"sword-text-sparv", Sword, "es"}},
		"it":    {man("manpages-it", "it"), man("manpages-it-dev", "it"), html("debian-reference-it", "it"), html("maint-guide-it", "it"), fortune("fortunes-it", "it")},
		"pl":    {man("manpages-pl", "pl"), man("manpages-pl-dev", "pl"), fortune("fortunes-pl", "pl")},
		"uk":    {man("manpages-uk", "uk"), man("manpages-uk-dev", "uk")},
		"cs":    {man("manpages-cs", "cs"), man("manpages-cs-dev", "cs"), fortune("fortunes-cs", "cs")},
		"da":    {man("manpages-da", "da"), man("manpages-da-dev", "da")},
		"nl":    {man("manpages-nl", "nl"), man("manpages-nl-dev", "nl")},
		"pt_BR": {man("manpages-pt-br", "pt_BR"), man("manpages-pt-br-dev", "pt_BR"), html("debian-reference-pt-br", "pt_BR")},
		"pt":    {html("debian-reference-pt", "pt")},
		"id":    {man("manpages-id", "id"), html("debian-reference-id", "id")},
		"vi":    {man("manpages-vi", "vi"), html("maint-guide-vi", "vi")},
		"zh_TW": {html("debian-reference-zh-tw", "zh_TW"), html("maint-guide-zh-tw", "zh_TW")},
	}
}

// PackagesFor returns the packages to fetch for langs: English's (always,
// since the English corpus and the multilingual packages are needed for
// every language) and each language's, without repeats, sorted by name.
func PackagesFor(langs []string) []Package {
	t := packageTable()
	var out []Package
	for _, l := range append([]string{"en"}, langs...) {
		for _, p := range t[l] {
			if !slices.ContainsFunc(out, func(q Package) bool { return q.Name == p.Name }) {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// isoLangs are the ISO 639-1 codes recognised as the language part of a
// locale in a path ("de", "de-DE", "pt_BR", "zh_CN.UTF-8").
func isLangCode(s string) bool {
	switch s {
	case "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "eo", "es", "et", "eu", "fa", "fi", "fr", "ga", "gl",
		"he", "hi", "hr", "hu", "id", "it", "ja", "ka", "ko", "lt", "lv", "mk", "ml", "mr", "nb", "nl", "nn", "pl",
		"pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "ta", "th", "tl", "tr", "uk", "vi", "zh":
		return true
	}
	return false
}

// parseLocale reads a locale token ("de", "de-DE", "pt_BR", "zh_CN.UTF-8",
// "ja_JP.eucJP") as a language and an upper-case region (possibly empty). ok
// is false when tok is not a locale.
func parseLocale(tok string) (lang, region string, ok bool) {
	if i := strings.IndexByte(tok, '.'); i >= 0 {
		tok = tok[:i]
	}
	if i := strings.IndexByte(tok, '@'); i >= 0 {
		tok = tok[:i]
	}
	lang, region, _ = strings.Cut(strings.ReplaceAll(tok, "-", "_"), "_")
	if !isLangCode(lang) {
		return "", "", false
	}
	if region != "" && (len(region) != 2 || strings.ToUpper(region) != region) {
		if len(region) != 2 {
			return "", "", false
		}
		region = strings.ToUpper(region)
	}
	return lang, region, true
}

// matchLang maps a locale to one of langs (DDTP codes): a code with a region
// (zh_CN, pt_BR) matches only that region; a code without one (de) matches
// any region (de-DE, de_AT). It returns "" when none matches.
func matchLang(lang, region string, langs []string) string {
	for _, l := range langs {
		ll, lr, _ := strings.Cut(l, "_")
		if ll != lang {
			continue
		}
		if lr == "" || strings.EqualFold(lr, region) {
			return l
		}
	}
	return ""
}

// pathLocale finds the locale a file's path names: the directory component
// right after man, html, translations, fortunes or installation-guide-amd64
// (usr/share/man/de/man1, html/de-DE/, Documentation/translations/ja_JP/,
// installation-guide-amd64/zh_CN/), or an infix of an HTML file's name
// (ch01.de.html). Other components are not looked at, so that an English
// directory that happens to be named like a language ("id", "ca") stays
// English. It returns the token found and ok = false if none.
func pathLocale(p string) (token string, lang, region string, ok bool) {
	dir, file := path.Split(p)
	parts := strings.Split(file, ".")
	if len(parts) >= 3 && parts[len(parts)-1] == "html" {
		t := parts[len(parts)-2]
		if l, r, ok := parseLocale(t); ok {
			return t, l, r, true
		}
	}
	comps := strings.Split(strings.Trim(dir, "/"), "/")
	for i := len(comps) - 1; i >= 1; i-- {
		switch comps[i-1] {
		case "man", "html", "translations", "fortunes", "installation-guide-amd64":
			if l, r, ok := parseLocale(comps[i]); ok {
				return comps[i], l, r, true
			}
		}
	}
	return "", "", "", false
}

// fileLang decides the DDTP language of file p of package pkg: the locale
// its path names when it names one (mapped onto langs, "" when not wanted),
// otherwise the package's own language, or English for a multilingual
// package's unmarked files.
func fileLang(pkg Package, p string, langs []string) string {
	if _, l, r, ok := pathLocale(p); ok {
		return matchLang(l, r, langs)
	}
	if pkg.Lang != "" {
		if slices.Contains(langs, pkg.Lang) {
			return pkg.Lang
		}
		return ""
	}
	if slices.Contains(langs, "en") {
		return "en"
	}
	return ""
}

// pageKey is p with its locale token replaced, so that the translations of
// one page share a key (html/de-DE/x.html and html/en-US/x.html).
func pageKey(p string) string {
	tok, _, _, ok := pathLocale(p)
	if !ok {
		return p
	}
	dir, file := path.Split(p)
	parts := strings.Split(file, ".")
	if len(parts) >= 3 && parts[len(parts)-2] == tok {
		parts[len(parts)-2] = "*"
		return dir + strings.Join(parts, ".")
	}
	comps := strings.Split(dir, "/")
	for i := len(comps) - 1; i >= 0; i-- {
		if comps[i] == tok {
			comps[i] = "*"
			break
		}
	}
	return strings.Join(comps, "/") + file
}
