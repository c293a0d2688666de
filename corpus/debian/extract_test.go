package debian

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeExtractors stand in for corpus/roff, html, rst, pod, sword and fortune:
// simple enough to predict, strict enough to fail on bad input.
func fakeExtractors() Extractors {
	lines := func(r io.Reader, keep func(string) bool) ([]string, error) {
		var out []string
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && keep(l) {
				out = append(out, l)
			}
		}
		return out, sc.Err()
	}
	oneDoc := func(keep func(string) bool) func(io.Reader, string) ([][]string, error) {
		return func(r io.Reader, name string) ([][]string, error) {
			ls, err := lines(r, keep)
			if err != nil {
				return nil, err
			}
			return [][]string{ls}, nil
		}
	}
	return Extractors{
		ManPage: func(r io.Reader, name string) ([][]string, error) {
			ls, err := lines(r, func(l string) bool { return !strings.HasPrefix(l, ".") })
			if err != nil {
				return nil, err
			}
			return [][]string{ls}, nil
		},
		HTML: oneDoc(func(l string) bool { return !strings.HasPrefix(l, "<") }),
		RST:  oneDoc(func(l string) bool { return !strings.HasPrefix(l, "..") && strings.Trim(l, "=-") != "" }),
		POD:  oneDoc(func(l string) bool { return !strings.HasPrefix(l, "=") }),
		Fortune: func(r io.Reader, name string) ([][]string, error) {
			data, err := io.ReadAll(r)
			if err != nil {
				return nil, err
			}
			var docs [][]string
			for _, f := range strings.Split(string(data), "\n%\n") {
				if f = strings.TrimSpace(f); f != "" {
					docs = append(docs, []string{strings.Join(strings.Fields(f), " ")})
				}
			}
			return docs, nil
		},
		ZText: func(dir string) ([][]string, error) {
			data, err := os.ReadFile(filepath.Join(dir, "ot.bzz"))
			if err != nil {
				return nil, err
			}
			return [][]string{strings.Split(strings.TrimSpace(string(data)), "\n")}, nil
		},
		SwordConf: func(path string) (map[string]string, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			m := map[string]string{}
			for _, l := range strings.Split(string(data), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					m[k] = v
				}
			}
			return m, nil
		},
	}
}

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// tree writes files (path -> content) under a new directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func docsString(docs []Doc) string {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString(d.Lang + " " + d.Path + ": " + strings.Join(d.Lines, " | ") + "\n")
	}
	return b.String()
}

func TestExtractTree(t *testing.T) {
	langs := []string{"en", "de", "zh_CN"}
	manPage := ".TH TOOL 1\n.SH NAME\ntool \\- do things\n.SH DESCRIPTION\nTool does   things\twell.\n"
	for _, c := range []struct {
		name    string
		pkg     Package
		files   map[string]string
		link    [2]string // symlink: path, target
		want    string
		failed  int
		dropped int
	}{
		{
			name: "man pages",
			pkg:  Package{"manpages-zh", Man, "zh_CN"},
			files: map[string]string{
				"usr/share/man/zh_CN/man1/tool.1.gz":  gz(t, manPage),
				"usr/share/man/zh_TW/man1/tool.1.gz":  gz(t, manPage),
				"usr/share/man/zh_CN/man1/bad.1.gz":   "not gzip",
				"usr/share/doc/manpages-zh/copyright": "License: GPL-2+\n",
			},
			link:   [2]string{"usr/share/man/zh_CN/man1/alias.1.gz", "tool.1.gz"},
			want:   "zh_CN usr/share/man/zh_CN/man1/tool.1.gz: tool \\- do things | Tool does things well.\n",
			failed: 1,
		},
		{
			name: "multilingual HTML drops untranslated lines",
			pkg:  Package{"debian-handbook", HTML, ""},
			files: map[string]string{
				"usr/share/doc/debian-handbook/html/en-US/a.html": "<h1>\nIntroduction\nShared command line\n",
				"usr/share/doc/debian-handbook/html/de-DE/a.html": "<h1>\nEinleitung\nShared command line\n",
				"usr/share/doc/debian-handbook/html/fr-FR/a.html": "<h1>\nIntroduction\n",
				"usr/share/doc/debian-handbook/html/de-DE/b.html": "Introduction\n",
				"usr/share/doc/debian-handbook/html/de-DE/a.css":  "h1 {}\n",
			},
			want: "de usr/share/doc/debian-handbook/html/de-DE/a.html: Einleitung\n" +
				"de usr/share/doc/debian-handbook/html/de-DE/b.html: Introduction\n" +
				"en usr/share/doc/debian-handbook/html/en-US/a.html: Introduction | Shared command line\n",
			dropped: 1,
		},
		{
			name: "RST and Python sources",
			pkg:  Package{"linux-doc-6.1", RST, ""},
			files: map[string]string{
				"usr/share/doc/linux-doc-6.1/Documentation/a.rst.gz":                   gz(t, "Title\n=====\n\nSome prose.\n"),
				"usr/share/doc/linux-doc-6.1/Documentation/translations/ja_JP/a.rst":   "日本語の文。\n",
				"usr/share/doc/linux-doc-6.1/Documentation/translations/ko_KR/a.rst":   "한국어\n",
				"usr/share/doc/linux-doc-6.1/html/_sources/a.rst.txt":                  "Not a Documentation file of this kind? yes: _sources\n",
				"usr/share/doc/linux-doc-6.1/Documentation/devicetree/bindings/x.yaml": "no\n",
			},
			want: "en usr/share/doc/linux-doc-6.1/Documentation/a.rst.gz: Title | Some prose.\n" +
				"en usr/share/doc/linux-doc-6.1/html/_sources/a.rst.txt: Not a Documentation file of this kind? yes: _sources\n",
		},
		{
			name: "SWORD module",
			pkg:  Package{"sword-text-kjv", Sword, "en"},
			files: map[string]string{
				"usr/share/sword/mods.d/kjv.conf":                "[KJV]\nDataPath=./modules/texts/ztext/kjv/\nLang=en\n",
				"usr/share/sword/modules/texts/ztext/kjv/ot.bzz": "In the beginning.\nAnd the earth.\n",
				"usr/share/sword/mods.d/other.conf":              "[X]\nDataPath=./modules/texts/ztext/x/\nLang=fr\n",
				"usr/share/sword/modules/texts/ztext/x/ot.bzz":   "Au commencement.\n",
				"usr/share/sword/mods.d/broken.conf":             "[Y]\nLang=en\n",
			},
			want:   "en usr/share/sword/modules/texts/ztext/kjv: In the beginning. | And the earth.\n",
			failed: 1,
		},
		{
			name: "fortunes",
			pkg:  Package{"fortunes-de", Fortune, "de"},
			files: map[string]string{
				"usr/share/games/fortunes/de/witze":     "Erster Witz.\n%\nZweiter\nWitz.\n%\n",
				"usr/share/games/fortunes/de/witze.dat": "\x00\x01binary",
			},
			want: "de usr/share/games/fortunes/de/witze: Erster Witz.\nde usr/share/games/fortunes/de/witze: Zweiter Witz.\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := tree(t, c.files)
			if c.link[0] != "" {
				if err := os.Symlink(c.link[1], filepath.Join(root, c.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			docs, st, err := ExtractTree(context.Background(), root, c.pkg, langs, fakeExtractors())
			if err != nil {
				t.Fatal(err)
			}
			if got := docsString(docs); got != c.want {
				t.Errorf("docs:\n%s\nwant:\n%s", got, c.want)
			}
			if st.Failed != c.failed || st.Dropped != c.dropped {
				t.Errorf("stats %+v, want %d failed, %d dropped lines", st, c.failed, c.dropped)
			}
			if c.failed > 0 && st.Error == "" {
				t.Error("a failure was counted without an example")
			}
		})
	}
}

func TestExtractTreeWithoutExtractor(t *testing.T) {
	root := tree(t, map[string]string{"usr/share/man/man1/a.1.gz": gz(t, "x\n")})
	docs, st, err := ExtractTree(context.Background(), root, Package{"manpages", Man, "en"}, []string{"en"}, Extractors{})
	if err != nil || len(docs) != 0 || st.Unread != 1 {
		t.Errorf("docs %v, stats %+v, err %v: want nothing read and one unread file", docs, st, err)
	}
}

func TestReadLicenses(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n This program is free.\n\nFiles: doc/*\nLicense: GFDL-1.3\n\nLicense: GPL-2+\n text\n", "GFDL-1.3;GPL-2+"},
		{"This is the Debian package of foo.\nIt is in the public domain.\n", "free-form copyright file, beginning: This is the Debian package of foo."},
		{"This package was put together by someone.\n\nLicense:\nLicense: Permission to use, copy\n", "free-form copyright file, beginning: This package was put together by someone."},
		{"", ""},
	} {
		got, err := ReadLicenses(strings.NewReader(c.in))
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.Join(got, ";"); s != c.want {
			t.Errorf("ReadLicenses = %q, want %q", s, c.want)
		}
	}
}

func TestCacheRoundTrip(t *testing.T) {
	e := &Extracted{
		Package:  Package{"manpages-de", Man, "de"},
		Version:  "4.18.1-1",
		Langs:    []string{"de", "en"},
		Licenses: []string{"GPL-3+", "free-form copyright file, beginning: x"},
		Docs: []Doc{
			{Lang: "de", Path: "usr/share/man/de/man1/a.1.gz", Lines: []string{"eins", "zwei"}},
			{Lang: "en", Path: "usr/share/man/man1/b.1.gz", Lines: []string{"one"}},
		},
		Stats: ExtractStats{Files: 3, Failed: 1, Unread: 0, Dropped: 2, Error: "x.1.gz: bad"},
	}
	var b bytes.Buffer
	if err := encodeExtracted(&b, e); err != nil {
		t.Fatal(err)
	}
	got, err := decodeExtracted(b.Bytes(), "cache.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, e)
	}
	data := b.Bytes()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", data[:len(data)-2], "cache.txt:10: last line has no newline"},
		{"text before doc", []byte(strings.Replace(string(data), rs+"doc\tde", "xdoc\tde", 1)), "cache.txt:6: text line before the first document header"},
		{"old format", []byte(strings.Replace(string(data), "lethe-extract\t3", "lethe-extract\t0", 1)), "cache.txt:1: format 0"},
	} {
		if _, err := decodeExtracted(c.data, "cache.txt"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestDropUntranslatedAcross(t *testing.T) {
	for name, want := range map[string]string{
		"maint-guide-de": "maint-guide", "debian-reference-zh-cn": "debian-reference", "maint-guide": "maint-guide",
		"debian-handbook": "debian-handbook", "installation-guide-amd64": "installation-guide-amd64",
	} {
		if got := docFamily(name); got != want {
			t.Errorf("docFamily(%s) = %s, want %s", name, got, want)
		}
	}
	en := &Extracted{Package: Package{"maint-guide", HTML, "en"}, Docs: []Doc{
		{"en", "usr/share/doc/maint-guide/html/a.en.html", []string{"Introduction", "dpkg-buildpackage -us -uc"}},
	}}
	de := &Extracted{Package: Package{"maint-guide-de", HTML, "de"}, Docs: []Doc{
		{"de", "usr/share/doc/maint-guide-de/html/a.de.html", []string{"Einleitung", "dpkg-buildpackage -us -uc"}},
		{"de", "usr/share/doc/maint-guide-de/html/b.de.html", []string{"Introduction"}},
		{"de", "usr/share/doc/maint-guide-de/html/c.de.html", []string{"dpkg-buildpackage -us -uc"}},
	}}
	c := &Extracted{Package: Package{"maint-guide-fr", HTML, "fr"}, Docs: []Doc{
		{"fr", "usr/share/doc/maint-guide-fr/html/a.fr.html", []string{"dpkg-buildpackage -us -uc"}},
	}}
	dropUntranslatedAcross([]*Extracted{en, de, c})
	if got := docsString(de.Docs); got != "de usr/share/doc/maint-guide-de/html/a.de.html: Einleitung\nde usr/share/doc/maint-guide-de/html/b.de.html: Introduction\nde usr/share/doc/maint-guide-de/html/c.de.html: dpkg-buildpackage -us -uc\n" {
		t.Errorf("maint-guide-de after the drop:\n%s", got)
	}
	if len(c.Docs) != 0 || de.Stats.Dropped != 1 || c.Stats.Dropped != 1 || len(en.Docs) != 1 {
		t.Errorf("fr docs %v, dropped de %d fr %d, en docs %d", c.Docs, de.Stats.Dropped, c.Stats.Dropped, len(en.Docs))
	}
}

// TestSwordLinksOutOfThePackage gives a SWORD package whose modules
// directory is a symbolic link out of the unpacked tree, absolute and
// relative: the host's files must not be read, and the module counts as
// failed with the reason.
func TestSwordLinksOutOfThePackage(t *testing.T) {
	host := tree(t, map[string]string{"texts/ztext/kjv/ot.bzz": "A host file.\n"})
	for _, kind := range []string{"absolute", "relative"} {
		t.Run(kind, func(t *testing.T) {
			root := tree(t, map[string]string{"usr/share/sword/mods.d/kjv.conf": "[KJV]\nDataPath=./modules/texts/ztext/kjv/\nLang=en\n"})
			target := host
			if kind == "relative" {
				var err error
				if target, err = filepath.Rel(filepath.Join(root, "usr", "share", "sword"), host); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, filepath.Join(root, "usr", "share", "sword", "modules")); err != nil {
				t.Fatal(err)
			}
			docs, st, err := ExtractTree(context.Background(), root, Package{"sword-text-kjv", Sword, "en"}, []string{"en"}, fakeExtractors())
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 0 || st.Failed != 1 || !strings.Contains(st.Error, "leads out of the package") {
				t.Errorf("docs %q, stats %+v: want no document and one failure naming the link", docsString(docs), st)
			}
		})
	}
}

// TestInsideTree accepts links within the package and refuses a file that
// links out of it, and a directory holding such a file.
func TestInsideTree(t *testing.T) {
	host := tree(t, map[string]string{"passwd": "root:x:0:0\n"})
	root := tree(t, map[string]string{"usr/share/doc/p/real": "text\n", "usr/share/doc/q/x": "y\n"})
	doc := filepath.Join(root, "usr", "share", "doc")
	os.Symlink(filepath.Join(host, "passwd"), filepath.Join(doc, "p", "copyright"))
	os.Symlink("real", filepath.Join(doc, "p", "alias"))
	os.Symlink("../p", filepath.Join(doc, "q", "sibling"))
	for p, ok := range map[string]bool{"p/real": true, "p/alias": true, "q": true, "q/sibling": false, "p/copyright": false, "p": false} {
		err := insideTree(root, filepath.Join(doc, filepath.FromSlash(p)))
		if (err == nil) != ok {
			t.Errorf("insideTree(%s) = %v, want ok %v", p, err, ok)
		}
	}
}

// TestReadCopyrightLinks reads a package's own copyright file, names the
// package a documentation-directory link points to, and refuses a copyright
// file that is an absolute or relative link to a host file.
func TestReadCopyrightLinks(t *testing.T) {
	host := tree(t, map[string]string{"secret": "License: HOST-FILE\n"})
	root := tree(t, map[string]string{"usr/share/doc/own/copyright": "License: GPL-2+\n"})
	doc := filepath.Join(root, "usr", "share", "doc")
	os.Symlink("own", filepath.Join(doc, "alias"))
	os.MkdirAll(filepath.Join(doc, "abs"), 0o755)
	os.Symlink(filepath.Join(host, "secret"), filepath.Join(doc, "abs", "copyright"))
	rel, _ := filepath.Rel(filepath.Join(doc, "rel"), filepath.Join(host, "secret"))
	os.MkdirAll(filepath.Join(doc, "rel"), 0o755)
	os.Symlink(rel, filepath.Join(doc, "rel", "copyright"))
	for name, want := range map[string]string{
		"own": "free-form copyright file, beginning: License: GPL-2+", "alias": "free-form copyright file, beginning: License: GPL-2+", "missing": "",
		"abs": "(the copyright file links out of the package: not read)", "rel": "(the copyright file links out of the package: not read)",
	} {
		got, err := readCopyright(root, name)
		if err != nil || strings.Join(got, ";") != want {
			t.Errorf("readCopyright(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestGzipBombIsRefused extracts a man page that inflates past
// MaxFileBytes: the file fails with the reason, the build goes on.
func TestGzipBombIsRefused(t *testing.T) {
	defer func(v int64) { MaxFileBytes = v }(MaxFileBytes)
	MaxFileBytes = 1 << 16
	root := tree(t, map[string]string{
		"usr/share/man/man1/bomb.1.gz": gz(t, strings.Repeat("a line of text\n", 10_000)),
		"usr/share/man/man1/ok.1.gz":   gz(t, ".TH OK 1\nFine.\n"),
	})
	docs, st, err := ExtractTree(context.Background(), root, Package{"manpages", Man, "en"}, []string{"en"}, fakeExtractors())
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 1 || !strings.Contains(st.Error, "debian.MaxFileBytes") || len(docs) != 1 {
		t.Errorf("stats %+v, %d docs: want the bomb failed and the other page read", st, len(docs))
	}
}
