package debian

import (
	"slices"
	"testing"
)

func TestFileLang(t *testing.T) {
	langs := []string{"en", "de", "ja", "zh_CN", "pt_BR", "ru"}
	multi := Package{"debian-handbook", HTML, ""}
	for _, c := range []struct {
		pkg  Package
		path string
		want string
	}{
		{Package{"manpages", Man, "en"}, "usr/share/man/man1/ls.1.gz", "en"},
		{Package{"manpages-de", Man, "de"}, "usr/share/man/de/man1/ls.1.gz", "de"},
		{Package{"manpages-de", Man, "de"}, "usr/share/man/man1/de-only.1.gz", "de"},
		{Package{"manpages-zh", Man, "zh_CN"}, "usr/share/man/zh_CN/man1/ls.1.gz", "zh_CN"},
		{Package{"manpages-zh", Man, "zh_CN"}, "usr/share/man/zh_TW/man1/ls.1.gz", ""},
		{Package{"manpages-ja", Man, "ja"}, "usr/share/man/ja_JP.UTF-8/man1/ls.1.gz", "ja"},
		{multi, "usr/share/doc/debian-handbook/html/de-DE/index.html", "de"},
		{multi, "usr/share/doc/debian-handbook/html/en-US/index.html", "en"},
		{multi, "usr/share/doc/debian-handbook/html/pt-BR/index.html", "pt_BR"},
		{multi, "usr/share/doc/debian-handbook/html/ko-KR/index.html", ""},
		{Package{"installation-guide-amd64", HTML, ""}, "usr/share/doc/installation-guide-amd64/zh_CN/ch01.html", "zh_CN"},
		{Package{"debian-reference-de", HTML, "de"}, "usr/share/debian-reference/ch01.de.html", "de"},
		{Package{"maint-guide", HTML, "en"}, "usr/share/doc/maint-guide/html/index.en.html", "en"},
		{Package{"linux-doc-6.1", RST, ""}, "usr/share/doc/linux-doc-6.1/Documentation/translations/ja_JP/howto.rst.gz", "ja"},
		{Package{"linux-doc-6.1", RST, ""}, "usr/share/doc/linux-doc-6.1/Documentation/id/x.rst", "en"},
		{Package{"python3.11-doc", RST, "en"}, "usr/share/doc/python3.11/html/_sources/about.rst.txt", "en"},
		{Package{"fortunes-ru", Fortune, "ru"}, "usr/share/games/fortunes/ru/hitchhiker", "ru"},
		{Package{"fortunes", Fortune, "en"}, "usr/share/games/fortunes/linux", "en"},
	} {
		if got := fileLang(c.pkg, c.path, langs); got != c.want {
			t.Errorf("fileLang(%s, %s) = %q, want %q", c.pkg.Name, c.path, got, c.want)
		}
	}
}

func TestPageKey(t *testing.T) {
	for _, c := range [][2]string{
		{"usr/share/doc/debian-handbook/html/de-DE/sect.x.html", "usr/share/doc/debian-handbook/html/en-US/sect.x.html"},
		{"usr/share/debian-reference/ch01.de.html", "usr/share/debian-reference/ch01.en.html"},
		{"usr/share/doc/installation-guide-amd64/ja/ch01.html", "usr/share/doc/installation-guide-amd64/en/ch01.html"},
	} {
		if pageKey(c[0]) != pageKey(c[1]) {
			t.Errorf("pageKey(%s) = %s, pageKey(%s) = %s: want equal", c[0], pageKey(c[0]), c[1], pageKey(c[1]))
		}
	}
	if pageKey("html/de-DE/a.html") == pageKey("html/de-DE/b.html") {
		t.Error("different pages share a key")
	}
}

func TestPackagesFor(t *testing.T) {
	pkgs := PackagesFor([]string{"zh_CN", "de"})
	var got []string
	for _, p := range pkgs {
		got = append(got, p.Name)
	}
	for _, want := range []string{"manpages", "debian-handbook", "sword-text-kjv", "manpages-zh", "debian-reference-zh-cn", "maint-guide-zh-cn", "manpages-de", "fortunes-de"} {
		if !slices.Contains(got, want) {
			t.Errorf("PackagesFor(zh_CN, de) lacks %s: %v", want, got)
		}
	}
	if slices.Contains(got, "manpages-fr") {
		t.Error("PackagesFor(zh_CN, de) has French packages")
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("not sorted or repeated: %v", got)
	}
	for l, ps := range packageTable() {
		for _, p := range ps {
			if p.Lang != "" && p.Lang != l {
				t.Errorf("package %s listed under %s has language %s", p.Name, l, p.Lang)
			}
		}
	}
}
