package ddtp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Split of the fixture's sources under DefaultShares (see TestSplitOfPinned):
// gcc-12 test, libreoffice dev, vim and 0ad train.
const fixturePackages = `Package: gcc-12
Source: gcc-12
Section: devel
Description-md5: 00000000000000000000000000000001

Package: libgcc-12-dev
Source: gcc-12 (12.2.0-14)
Section: libdevel
Description-md5: 00000000000000000000000000000002

Package: libreoffice-core
Source: libreoffice
Section: editors
Description-md5: 00000000000000000000000000000003

Package: vim
Section: editors
Description-md5: 00000000000000000000000000000004

Package: vim-doc
Source: vim
Section: doc
Description-md5: 00000000000000000000000000000005

Package: 0ad
Section: games
Description-md5: 00000000000000000000000000000006
`

const fixtureEn = `Package: gcc-12
Description-md5: 00000000000000000000000000000001
Description-en: GNU C compiler
 This is the GNU C compiler,
 a fairly portable optimizing compiler.

Package: libgcc-12-dev
Description-md5: 00000000000000000000000000000002
Description-en: GCC support library (development files)
 Development files.

Package: libreoffice-core
Description-md5: 00000000000000000000000000000003
Description-en: office productivity suite -- arch-dependent files
 Core files.
 .
 Second paragraph.

Package: vim
Description-md5: 00000000000000000000000000000004
Description-en: Vi IMproved - enhanced vi editor
 Vim is an almost compatible version of the UNIX editor Vi.
  * verbatim item

Package: vim-doc
Description-md5: 00000000000000000000000000000005
Description-en: Vi IMproved - HTML documentation

Package: 0ad
Description-md5: 00000000000000000000000000000006
Description-en: GNU C compiler
 This is the GNU C compiler,
 a fairly portable optimizing compiler.

Package: ghost
Description-md5: 00000000000000000000000000000007
Description-en: not in Packages
`

// fixtureEnSecurity repeats one stanza, as another suite's Translation-en does.
const fixtureEnSecurity = `Package: vim
Description-md5: 00000000000000000000000000000004
Description-en: Vi IMproved - enhanced vi editor
 Vim is an almost compatible version of the UNIX editor Vi.
  * verbatim item
`

const fixtureDe = `Package: gcc-12
Description-md5: 00000000000000000000000000000001
Description-de: GNU-C-Compiler
 Dies ist der GNU-C-Compiler.

Package: libreoffice-core
Description-md5: 00000000000000000000000000000003
Description-de: Office-Suite
 Kerndateien.

Package: vim
Description-md5: 00000000000000000000000000000004
Description-de: Vi IMproved – verbesserter vi-Editor

Package: vim-doc
Description-md5: 00000000000000000000000000000005
Description-de:
`

const fixtureInRelease = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Debian
Label: Debian
Suite: oldstable
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
MD5Sum:
 0123 1 main/x
-----BEGIN PGP SIGNATURE-----
x
-----END PGP SIGNATURE-----
`

// fakeAptGet writes an executable apt-get stand-in into dir. It logs each
// call's arguments and configuration to dir/calls, and copies the fixture
// files named in files into the lists directory of the configuration; with
// fail set it prints apt-like errors and exits 100 instead.
func fakeAptGet(t *testing.T, dir string, files map[string]string, fail bool) string {
	t.Helper()
	fix := filepath.Join(dir, "fixture")
	must(t, os.MkdirAll(fix, 0o755))
	for name, body := range files {
		must(t, os.WriteFile(filepath.Join(fix, name), []byte(body), 0o644))
	}
	script := "#!/bin/sh\n" +
		"conf=\"$2\"\n" +
		"{ echo \"ARGS $*\"; cat \"$conf\"; } >> '" + filepath.Join(dir, "calls") + "'\n"
	if fail {
		script += "echo 'Err:1 http://mirror.debian.example/debian bookworm InRelease'\n" +
			"echo 'E: Failed to fetch http://mirror.debian.example/debian/dists/bookworm/InRelease  Could not resolve' >&2\n" +
			"exit 100\n"
	} else {
		script += "lists=$(sed -n 's/^Dir::State::Lists \"\\(.*\\)\";$/\\1/p' \"$conf\")\n" +
			"echo \"Get:1 fake $lists\"\n" +
			"cp '" + fix + "'/* \"$lists\"/\n"
	}
	p := filepath.Join(dir, "apt-get")
	must(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func fixtureFiles() map[string]string {
	const pre = "mirror.debian.example_debian_dists_bookworm"
	return map[string]string{
		pre + "_InRelease":                                    fixtureInRelease,
		pre + "_main_binary-amd64_Packages":                   fixturePackages,
		pre + "_main_i18n_Translation-en":                     fixtureEn,
		pre + "-security_main_i18n_Translation-en":            fixtureEnSecurity,
		pre + "_main_i18n_Translation-de":                     fixtureDe,
		"mirror.debian.example_debian_dists_bookworm_Release": "ignored",
	}
}

func fixtureSources() []Source {
	return []Source{{URI: "http://mirror.debian.example/debian", Suite: "bookworm",
		Options: [][2]string{{"Signed-By", "/usr/share/keyrings/debian-archive-keyring.gpg"}}}}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchOffline(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	aptGet := fakeAptGet(t, tmp, fixtureFiles(), false)
	var log bytes.Buffer
	opts := Options{Dir: out, Langs: []string{"en", "de", "en"}, Shares: DefaultShares(), Log: &log,
		Command: "lethe data fetch --test", Sources: fixtureSources(), AptGet: aptGet}
	m, err := Fetch(context.Background(), opts)
	if err != nil {
		t.Fatalf("Fetch: %v\nlog:\n%s", err, log.String())
	}

	// The private apt configuration.
	calls := readFile(t, filepath.Join(tmp, "calls"))
	for _, want := range []string{
		"ARGS -c " + filepath.Join(out, "apt", "apt.conf") + " -q update",
		`Dir::State::Lists "` + filepath.Join(out, "apt", "lists") + `";`,
		`Dir::Etc::sourcelist "` + filepath.Join(out, "apt", "lethe.sources") + `";`,
		`Dir::State::status "` + filepath.Join(out, "apt", "status") + `";`,
		"APT::Sandbox::User ",
		"#clear Acquire::Languages;\nAcquire::Languages { \"en\"; \"de\"; };",
		"#clear APT::Update::Post-Invoke-Success;",
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("apt-get call/config lacks %q:\n%s", want, calls)
		}
	}
	if src := readFile(t, filepath.Join(out, "apt", "lethe.sources")); !strings.Contains(src, "URIs: http://mirror.debian.example/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n") {
		t.Errorf("lethe.sources =\n%s", src)
	}

	// The corpora.
	wantFiles := map[string]string{
		"en/test.txt":  "GNU C compiler\nThis is the GNU C compiler, a fairly portable optimizing compiler.\n\nGCC support library (development files)\nDevelopment files.\n",
		"en/dev.txt":   "office productivity suite -- arch-dependent files\nCore files.\nSecond paragraph.\n",
		"en/train.txt": "Vi IMproved - enhanced vi editor\nVim is an almost compatible version of the UNIX editor Vi.\n* verbatim item\n\nVi IMproved - HTML documentation\n",
		"de/test.txt":  "GNU-C-Compiler\nDies ist der GNU-C-Compiler.\n",
		"de/dev.txt":   "Office-Suite\nKerndateien.\n",
		"de/train.txt": "Vi IMproved – verbesserter vi-Editor\n",
	}
	for rel, want := range wantFiles {
		if got := readFile(t, filepath.Join(out, rel)); got != want {
			t.Errorf("%s =\n%q\nwant\n%q", rel, got, want)
		}
	}

	// The manifest, in memory and on disk.
	en := m.Languages["en"]
	if en == nil || m.Languages["de"] == nil || len(m.Languages) != 2 {
		t.Fatalf("manifest languages = %v", m.Languages)
	}
	if en.Translations != 7 || en.Unmatched != 1 || en.Records != 6 || en.Duplicates != 1 || en.Empty != 0 {
		t.Errorf("en stats = %+v, want 7 translations, 1 unmatched, 6 records, 1 duplicate, 0 empty", en)
	}
	if de := m.Languages["de"]; de.Records != 4 || de.Empty != 1 || de.Duplicates != 0 || de.Splits["train"].Documents != 1 {
		t.Errorf("de stats = %+v, want 4 records, 1 empty (vim-doc), 1 train document", de)
	}
	wantSplits := map[string]SplitStats{
		"test":  {File: "en/test.txt", Documents: 2, Sources: 1, Bytes: int64(len(wantFiles["en/test.txt"]))},
		"dev":   {File: "en/dev.txt", Documents: 1, Sources: 1, Bytes: int64(len(wantFiles["en/dev.txt"]))},
		"train": {File: "en/train.txt", Documents: 2, Sources: 1, Bytes: int64(len(wantFiles["en/train.txt"]))},
	}
	for name, want := range wantSplits {
		if got := en.Splits[name]; got == nil || *got != want {
			t.Errorf("en %s = %+v, want %+v", name, got, want)
		}
	}
	if len(m.Releases) != 1 || m.Releases[0].Codename != "bookworm" || m.Releases[0].Date != "Sat, 11 Jul 2026 10:16:37 UTC" {
		t.Errorf("releases = %+v", m.Releases)
	}
	if !reflect.DeepEqual(m.Mirrors, []string{"http://mirror.debian.example/debian bookworm"}) || m.Command != "lethe data fetch --test" || m.Fetched == "" {
		t.Errorf("mirrors %q, command %q, fetched %q", m.Mirrors, m.Command, m.Fetched)
	}
	var disk Manifest
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(out, ManifestName))), &disk); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&disk, m) {
		t.Errorf("manifest on disk differs from the returned one")
	}

	// Again: no download, nothing rewritten.
	log.Reset()
	m2, err := Fetch(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(readFile(t, filepath.Join(tmp, "calls")), "ARGS "); n != 1 {
		t.Errorf("apt-get ran %d times after a second Fetch, want 1", n)
	}
	if !strings.Contains(log.String(), "up to date") || m2.Written != m.Written {
		t.Errorf("second Fetch was not a no-op; log:\n%s", log.String())
	}

	// Other shares: no download, corpora rewritten.
	opts2 := opts
	opts2.Shares = Shares{Test: 0, Dev: 0}
	opts2.Langs = []string{"de"}
	m3, err := Fetch(context.Background(), opts2)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(out, "de", "train.txt")); !strings.Contains(got, "GNU-C-Compiler") || m3.Languages["de"].Splits["test"].Documents != 0 {
		t.Errorf("with zero shares everything should be train; de/train.txt =\n%s", got)
	}
	if _, ok := m3.Languages["en"]; ok {
		t.Errorf("manifest kept en, written with other shares")
	}

	// --refresh downloads again.
	opts.Refresh = true
	if _, err := Fetch(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(readFile(t, filepath.Join(tmp, "calls")), "ARGS "); n != 2 {
		t.Errorf("apt-get ran %d times after --refresh, want 2", n)
	}
}

func TestFetchLanguagesAgreeOnSplits(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	aptGet := fakeAptGet(t, tmp, fixtureFiles(), false)
	if _, err := Fetch(context.Background(), Options{Dir: out, Langs: []string{"en", "de"}, Shares: DefaultShares(),
		Sources: fixtureSources(), AptGet: aptGet}); err != nil {
		t.Fatal(err)
	}
	idx, err := LoadIndex(context.Background(), ListsDir(out), DefaultAptHelper)
	if err != nil {
		t.Fatal(err)
	}
	split := map[string]Split{} // source -> split, over both languages
	for _, lang := range []string{"en", "de"} {
		recs, js, err := LoadRecords(context.Background(), ListsDir(out), DefaultAptHelper, lang, idx)
		if err != nil {
			t.Fatal(err)
		}
		if lang == "en" && (js.Repeats != 1 || js.Unmatched != 1 || len(recs) != 6) {
			t.Errorf("en join stats %+v with %d records; want 1 repeat, 1 unmatched, 6 records", js, len(recs))
		}
		for _, r := range recs {
			if r.Lang != lang {
				t.Errorf("record %s has language %q, want %q", r.Package, r.Lang, lang)
			}
			sp := SplitOf(r.Source, DefaultShares())
			if old, ok := split[r.Source]; ok && old != sp {
				t.Errorf("source %s is %v in one language and %v in another", r.Source, old, sp)
			}
			split[r.Source] = sp
			// the corpus file of that split holds the document (or an identical one)
			body := readFile(t, filepath.Join(out, lang, sp.String()+".txt"))
			if !strings.Contains(body, r.Text()) && sp != Train {
				t.Errorf("%s %s (%v) not in its split's file", lang, r.Package, sp)
			}
		}
	}
	want := map[string]Split{"gcc-12": Test, "libreoffice": Dev, "vim": Train, "0ad": Train}
	if !reflect.DeepEqual(split, want) {
		t.Errorf("splits = %v, want %v", split, want)
	}
}

// TestFetchRelativeDir: apt must get absolute paths even for a relative
// output directory.
func TestFetchRelativeDir(t *testing.T) {
	tmp := t.TempDir()
	aptGet := fakeAptGet(t, tmp, fixtureFiles(), false)
	t.Chdir(tmp)
	m, err := Fetch(context.Background(), Options{Dir: filepath.Join("cache", "ddtp"), Langs: []string{"de"},
		Shares: DefaultShares(), Sources: fixtureSources(), AptGet: aptGet})
	if err != nil {
		t.Fatal(err)
	}
	conf := readFile(t, filepath.Join(tmp, "cache", "ddtp", "apt", "apt.conf"))
	if !strings.Contains(conf, `Dir::State::Lists "`+filepath.Join(tmp, "cache", "ddtp", "apt", "lists")+`";`) {
		t.Errorf("apt.conf has no absolute lists directory:\n%s", conf)
	}
	if got := readFile(t, filepath.Join(tmp, "cache", "ddtp", "de", "test.txt")); got != "GNU-C-Compiler\nDies ist der GNU-C-Compiler.\n" || m.Languages["de"].Splits["test"].File != "de/test.txt" {
		t.Errorf("de/test.txt = %q", got)
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(tmp string) Options
		msgPart []string
	}{
		{
			name: "apt-get fails: mirror and output tail named",
			opts: func(tmp string) Options {
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en"}, Shares: DefaultShares(),
					Sources: fixtureSources(), AptGet: fakeAptGet(t, tmp, nil, true)}
			},
			msgPart: []string{"http://mirror.debian.example/debian bookworm", "exit status 100", "E: Failed to fetch", "Err:1"},
		},
		{
			name: "apt-get missing",
			opts: func(tmp string) Options {
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en"}, Shares: DefaultShares(),
					Sources: fixtureSources(), AptGet: filepath.Join(tmp, "no-such-apt-get")}
			},
			msgPart: []string{"no-such-apt-get"},
		},
		{
			name: "language the mirror lacks",
			opts: func(tmp string) Options {
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en", "xx"}, Shares: DefaultShares(),
					Sources: fixtureSources(), AptGet: fakeAptGet(t, tmp, fixtureFiles(), false)}
			},
			msgPart: []string{"no Translation-xx", "de,en"},
		},
		{
			name: "bad language code",
			opts: func(tmp string) Options {
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en", `d"e`}, Shares: DefaultShares()}
			},
			msgPart: []string{`"d\"e"`, "language"},
		},
		{
			name: "bad shares",
			opts: func(tmp string) Options {
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en"}, Shares: Shares{Test: 0.8, Dev: 0.3}}
			},
			msgPart: []string{"test share 0.8"},
		},
		{
			name: "malformed translation named with file and line",
			opts: func(tmp string) Options {
				files := fixtureFiles()
				files["mirror.debian.example_debian_dists_bookworm_main_i18n_Translation-de"] = fixtureDe + "\nPackage: broken\nno colon here\n"
				return Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"de"}, Shares: DefaultShares(),
					Sources: fixtureSources(), AptGet: fakeAptGet(t, tmp, files, false)}
			},
			msgPart: []string{"_Translation-de:20:", "expected"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fetch(context.Background(), tc.opts(t.TempDir()))
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			for _, p := range tc.msgPart {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error lacks %q:\n%v", p, err)
				}
			}
		})
	}
}

func TestFetchUpdateErrorType(t *testing.T) {
	tmp := t.TempDir()
	_, err := Fetch(context.Background(), Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en"}, Shares: DefaultShares(),
		Sources: fixtureSources(), AptGet: fakeAptGet(t, tmp, nil, true)})
	var ue *UpdateError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UpdateError", err)
	}
	if len(ue.Mirrors) != 1 || !strings.Contains(ue.Tail, "Could not resolve") {
		t.Errorf("UpdateError = %+v", ue)
	}
}

func TestFetchCancelled(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Fetch(ctx, Options{Dir: filepath.Join(tmp, "out"), Langs: []string{"en"}, Shares: DefaultShares(),
		Sources: fixtureSources(), AptGet: fakeAptGet(t, tmp, fixtureFiles(), false)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestScanLists(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"h_debian_dists_bookworm_main_i18n_Translation-pt%5fBR.lz4",
		"h_debian_dists_bookworm_main_i18n_Translation-zh_CN",
		"h_debian_dists_bookworm_main_i18n_Translation-pt.gz",
		"h_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
		"h_debian_dists_bookworm_InRelease",
		"h_debian_dists_bookworm_Release.gpg",
		"lock",
	}
	for _, n := range names {
		must(t, os.WriteFile(filepath.Join(dir, n), nil, 0o644))
	}
	must(t, os.Mkdir(filepath.Join(dir, "partial"), 0o755))
	got, err := ScanLists(dir)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range got {
		kinds = append(kinds, filepath.Base(f.Path)+" "+f.Kind+" "+f.Lang)
	}
	want := []string{
		"h_debian_dists_bookworm_InRelease InRelease ",
		"h_debian_dists_bookworm_main_binary-amd64_Packages.lz4 Packages ",
		"h_debian_dists_bookworm_main_i18n_Translation-pt%5fBR.lz4 Translation pt_BR",
		"h_debian_dists_bookworm_main_i18n_Translation-pt.gz Translation pt",
		"h_debian_dists_bookworm_main_i18n_Translation-zh_CN Translation zh_CN",
	}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("ScanLists = %q, want %q", kinds, want)
	}
}
