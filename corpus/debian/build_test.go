package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lethe/corpus/ddtp"
)

// fakeApt writes a stand-in for apt-get: "update" copies the tiny DDTP
// index into the lists directory named by the configuration (or fails, when
// offline), "download --print-uris" lists the fixture debs and "download"
// copies them into the working directory.
func fakeApt(t *testing.T, fixture string, offline bool) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
fixture=%q
conf=$2
lists=$(sed -n 's/^Dir::State::Lists "\(.*\)";$/\1/p' "$conf")
case "$4" in
update)
	if [ %q = true ]; then echo "Err:1 http://deb.debian.org/debian bookworm InRelease" >&2; echo "E: Could not resolve 'deb.debian.org'" >&2; exit 100; fi
	cp "$fixture"/lists/* "$lists"/ ;;
download)
	if [ "$5" = --print-uris ]; then
		shift 5
		for n; do
			f=$(cd "$fixture/debs" && ls "$n"_*.deb 2>/dev/null) || { echo "E: Unable to locate package $n" >&2; exit 100; }
			set -- $(sha256sum "$fixture/debs/$f"); h=$1
			echo "'http://deb.example.org/pool/$f' $f $(stat -c %%s "$fixture/debs/$f") SHA256:$h"
		done
	else
		shift 4
		for n; do cp "$fixture/debs/${n%%%%=*}"_*.deb .; done
	fi ;;
*) echo "unexpected $*" >&2; exit 1 ;;
esac
`, fixture, fmt.Sprint(offline))
	p := filepath.Join(t.TempDir(), "apt-get")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildDeb makes a .deb with dpkg-deb --build from files.
func buildDeb(t *testing.T, out, name, version string, files map[string]string) {
	t.Helper()
	files["DEBIAN/control"] = fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: test package\n", name, version)
	root := tree(t, files)
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, filepath.Join(out, name+"_"+version+"_all.deb"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v: %s", err, b)
	}
}

func buildFixture(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	fx := t.TempDir()
	fixtureLists(t, filepath.Join(fx, "lists"))
	debs := filepath.Join(fx, "debs")
	os.MkdirAll(debs, 0o755)
	buildDeb(t, debs, "manpages", "6.03-2", map[string]string{
		"usr/share/man/man1/tool.1.gz":     gz(t, ".TH TOOL 1\n.SH NAME\ntool \\- a tool\n.SH DESCRIPTION\nTool reads its input and writes it out again.\n"),
		"usr/share/man/man1/leak.1.gz":     gz(t, ".TH LEAK 1\n"+longPara+"\n"),
		"usr/share/doc/manpages/copyright": "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n",
	})
	buildDeb(t, debs, "manpages-de", "4.18.1-1", map[string]string{
		"usr/share/man/de/man1/tool.1.gz":     gz(t, ".TH TOOL 1\nTool liest seine Eingabe und schreibt sie wieder aus.\n"),
		"usr/share/doc/manpages-de/copyright": "License: GPL-3+\n",
	})
	buildDeb(t, debs, "sword-text-kjv", "14.3-1", map[string]string{
		"usr/share/sword/mods.d/kjv.conf":                "[KJV]\nDataPath=./modules/texts/ztext/kjv/\nLang=en\n",
		"usr/share/sword/modules/texts/ztext/kjv/ot.bzz": "In the beginning God created the heaven and the earth.\n",
		"usr/share/doc/sword-text-kjv/copyright":         "Public domain.\n",
	})
	return fx
}

func testPackages() []Package {
	return []Package{{"manpages", Man, "en"}, {"manpages-de", Man, "de"}, {"missing-package", Man, "en"}, {"sword-text-kjv", Sword, "en"}}
}

func TestBuild(t *testing.T) {
	fx := buildFixture(t)
	out := filepath.Join(t.TempDir(), "data")
	var log bytes.Buffer
	opts := Options{
		Dir: out, Langs: []string{"de"}, Shares: ddtp.DefaultShares(), Extractors: fakeExtractors(), Log: &log,
		Packages: testPackages(), Sources: []ddtp.Source{{URI: "http://deb.example.org/debian", Suite: "bookworm"}},
		AptGet: fakeApt(t, fx, false),
	}
	ctx := context.Background()
	m, err := Build(ctx, opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	en := string(mustRead(t, out, "corpora/en.txt"))
	for _, s := range []string{"tool \\- a tool\nTool reads its input and writes it out again.\n", "In the beginning God created", "Blocks is a clone"} {
		if !strings.Contains(en, s) {
			t.Errorf("corpora/en.txt lacks %q:\n%s", s, en)
		}
	}
	if strings.Contains(en, "Tadmin") {
		t.Error("corpora/en.txt has the held-out man page")
	}
	if de := string(mustRead(t, out, "corpora/de.txt")); !strings.Contains(de, "Tool liest seine Eingabe") {
		t.Errorf("corpora/de.txt lacks the German man page:\n%s", de)
	}
	if len(m.Packages) != 3 || m.Packages[0].Version != "6.03-2" || m.Packages[0].Licenses[0] != "GPL-2+" {
		t.Errorf("manifest packages %+v", m.Packages)
	}
	if !strings.Contains(log.String(), "missing-package: not in the indexes, left out") {
		t.Errorf("log does not report the missing package:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(out, "extracted", "manpages_6.03-2.txt")); err != nil {
		t.Errorf("no extraction cache: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(out, ".extract-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
	first := map[string][]byte{}
	for rel := range m.Files {
		first[rel] = mustRead(t, out, rel)
	}
	first[ManifestName] = mustRead(t, out, ManifestName)

	// A second run does nothing and says so.
	log.Reset()
	if _, err := Build(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "is up to date") || strings.Contains(log.String(), "extract ") {
		t.Errorf("second run did work:\n%s", log.String())
	}

	// An interrupted run (a corpus missing, a temporary directory and a
	// partial download left) resumes from the cache and writes the same
	// bytes.
	os.Remove(filepath.Join(out, "corpora", "de.txt"))
	os.MkdirAll(filepath.Join(out, ".extract-12345", "usr"), 0o755)
	os.MkdirAll(filepath.Join(out, "apt", "debs", ".partial"), 0o755)
	os.WriteFile(filepath.Join(out, "apt", "debs", ".partial", "x.deb"), []byte("half"), 0o644)
	log.Reset()
	if _, err := Build(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "cached") || strings.Contains(log.String(), "downloading") {
		t.Errorf("resumed run did not use the caches:\n%s", log.String())
	}
	for rel, data := range first {
		if !bytes.Equal(mustRead(t, out, rel), data) {
			t.Errorf("%s differs after the resumed run", rel)
		}
	}
	for _, p := range []string{".extract-12345", "apt/debs/.partial"} {
		if _, err := os.Stat(filepath.Join(out, p)); err == nil {
			t.Errorf("%s was not cleaned up", p)
		}
	}
	sum := sha256.Sum256(first["corpora/de.txt"])
	if m.Files["corpora/de.txt"].SHA256 != hex.EncodeToString(sum[:]) {
		t.Error("manifest hash of corpora/de.txt is wrong")
	}
}

func TestBuildOffline(t *testing.T) {
	fx := t.TempDir()
	out := filepath.Join(t.TempDir(), "data")
	_, err := Build(context.Background(), Options{
		Dir: out, Langs: []string{"de"}, Shares: ddtp.DefaultShares(), Packages: []Package{},
		Sources: []ddtp.Source{{URI: "http://deb.example.org/debian", Suite: "bookworm"}},
		AptGet:  fakeApt(t, fx, true),
	})
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want an *UnavailableError", err)
	}
	for _, s := range []string{"Could not resolve", "lethe prepare", "label<TAB>text", "gold_label", "SQuAD"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q:\n%v", s, err)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s was left behind (stat: %v)", out, err)
	}
	// An existing directory is kept, but the apt tree it did not have is
	// removed.
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "mine.txt"), []byte("x"), 0o644)
	Build(context.Background(), Options{Dir: out, Langs: []string{"de"}, Shares: ddtp.DefaultShares(), Packages: []Package{},
		Sources: []ddtp.Source{{URI: "http://deb.example.org/debian", Suite: "bookworm"}}, AptGet: fakeApt(t, fx, true)})
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 || ents[0].Name() != "mine.txt" {
		t.Errorf("after a failed build %s holds %v, want only mine.txt", out, ents)
	}
}
