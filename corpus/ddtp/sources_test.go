package ddtp

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseOneLineSources(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Source
	}{
		{
			name: "plain and with options",
			in: "deb http://deb.debian.org/debian bookworm main contrib\n" +
				"# deb http://commented.debian.org/debian bookworm main\n" +
				"deb-src http://deb.debian.org/debian bookworm main\n" +
				"deb [ arch=amd64,i386 signed-by=/k.gpg lang=de ] http://m.debian.org/debian bookworm-updates main # trailing\n" +
				"deb http://deb.debian.org/debian bookworm contrib non-free\n" +
				"deb cdrom:[Debian 12]/ bookworm main\n" +
				"deb http://flat.debian.org/repo ./\n",
			want: []Source{
				{URI: "http://deb.debian.org/debian", Suite: "bookworm"},
				{URI: "http://m.debian.org/debian", Suite: "bookworm-updates",
					Options: [][2]string{{"Architectures", "amd64 i386"}, {"Signed-By", "/k.gpg"}}},
			},
		},
		{name: "empty", in: "\n# nothing\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOneLineSources(strings.NewReader(tc.in), "sources.list")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseOneLineSourcesErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"unclosed bracket", "deb http://a/debian x main\ndeb [arch=amd64 http://b/debian y main\n", 2},
		{"no suite", "\n\ndeb http://a/debian\n", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOneLineSources(strings.NewReader(tc.in), "s.list")
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line || se.File != "s.list" {
				t.Fatalf("err = %v, want *SyntaxError at s.list:%d", err, tc.line)
			}
		})
	}
}

const inlineKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n.\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----"

func TestParseDeb822Sources(t *testing.T) {
	in := "Types: deb deb-src\n" +
		"# http://snapshot.debian.org/archive/debian/20250520T000000Z\n" +
		"URIs: http://deb.debian.org/debian http://m.debian.org/debian\n" +
		"Suites: bookworm bookworm-updates\n" +
		"Components: main contrib\n" +
		"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" +
		"Languages: de\n" +
		"\n" +
		"Types: deb\nURIs: http://off.debian.org/debian\nSuites: x\nComponents: main\nEnabled: no\n\n" +
		"Types: deb-src\nURIs: http://src.debian.org/debian\nSuites: x\nComponents: main\n\n" +
		"Types: deb\nURIs: http://other.debian.org/debian\nSuites: x\nComponents: contrib\n\n" +
		"Types: deb\nURIs: http://key.debian.org/debian\nSuites: sid\nComponents: main\nSigned-By:\n" +
		" -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBF\n -----END PGP PUBLIC KEY BLOCK-----\n"
	got, err := ParseDeb822Sources(strings.NewReader(in), "debian.sources")
	if err != nil {
		t.Fatal(err)
	}
	key := [][2]string{{"Signed-By", "/usr/share/keyrings/debian-archive-keyring.gpg"}}
	want := []Source{
		{"http://deb.debian.org/debian", "bookworm", key},
		{"http://deb.debian.org/debian", "bookworm-updates", key},
		{"http://m.debian.org/debian", "bookworm", key},
		{"http://m.debian.org/debian", "bookworm-updates", key},
		{"http://key.debian.org/debian", "sid", [][2]string{{"Signed-By", "\n" + inlineKey}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	// Written back and read again, the entries (inline key included) survive.
	var buf bytes.Buffer
	if err := WriteSources(&buf, got); err != nil {
		t.Fatal(err)
	}
	again, err := ParseDeb822Sources(&buf, "lethe.sources")
	if err != nil {
		t.Fatalf("reading back: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(again, want) {
		t.Errorf("round trip got %q\nwant %q", again, want)
	}
}

func TestParseDeb822SourcesErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"no suites", "Types: deb\nURIs: http://a/debian\nComponents: main\n\nTypes: deb\nURIs: http://b/debian\nComponents: main\n", 1},
		{"no URIs", "Types: deb\nURIs: http://a/debian\nSuites: s\nComponents: main\n\nTypes: deb\nSuites: s\n", 6},
		{"garbage", "Types: deb\ngarbage\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDeb822Sources(strings.NewReader(tc.in), "x.sources")
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line {
				t.Fatalf("err = %v, want *SyntaxError at line %d", err, tc.line)
			}
		})
	}
}

func TestSystemSources(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "sources.list")
	parts := filepath.Join(dir, "sources.list.d")
	must(t, os.MkdirAll(parts, 0o755))
	must(t, os.WriteFile(list, []byte("deb http://deb.debian.org/debian bookworm main\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(parts, "b.sources"), []byte(
		"Types: deb\nURIs: http://deb.debian.org/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(parts, "a.list"), []byte(
		"deb http://security.debian.org/debian-security bookworm-security main\n"+
			"deb https://packages.cloud.google.com/apt cloud-sdk main\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(parts, "c.list.disabled"), []byte("deb http://ignored.debian.org/debian x main\n"), 0o644))
	got, err := SystemSources(list, parts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.URI+" "+s.Suite)
	}
	want := []string{
		"http://deb.debian.org/debian bookworm",
		"http://security.debian.org/debian-security bookworm-security",
		"http://deb.debian.org/debian/ bookworm-updates",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("sources = %q, want %q", names, want)
	}
	// A missing sources.list is fine; an unreadable directory entry is not silently ignored.
	if got, err := SystemSources(filepath.Join(dir, "absent.list"), parts); err != nil || len(got) != 3 {
		t.Errorf("without sources.list: %d sources, err %v; want 3, nil", len(got), err)
	}
	must(t, os.WriteFile(filepath.Join(parts, "d.list"), []byte("deb [broken http://x.debian.org/debian y main\n"), 0o644))
	if _, err := SystemSources(list, parts); err == nil || !strings.Contains(err.Error(), "d.list:1") {
		t.Errorf("malformed d.list: err = %v, want one naming d.list:1", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
