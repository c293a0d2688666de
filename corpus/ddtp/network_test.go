package ddtp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFetchNetwork really runs apt-get update against the machine's Debian
// mirrors for en and de. It needs apt-get and the network, so it runs only
// with LETHE_NETWORK_TESTS=1.
func TestFetchNetwork(t *testing.T) {
	if os.Getenv("LETHE_NETWORK_TESTS") != "1" {
		t.Skip("skipped: downloads ~17 MB from the Debian mirrors with apt-get; set LETHE_NETWORK_TESTS=1 to run it")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Fatalf("LETHE_NETWORK_TESTS=1 but apt-get is missing: %v", err)
	}
	out := t.TempDir()
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	m, err := Fetch(ctx, Options{Dir: out, Langs: []string{"en", "de"}, Shares: DefaultShares(), Log: &log})
	if err != nil {
		t.Fatalf("Fetch: %v\nlog:\n%s", err, log.String())
	}
	t.Logf("fetched en,de in %v", time.Since(t0))
	// Debian bookworm has about 61k English descriptions and 13k German ones.
	for lang, min := range map[string]int{"en": 40000, "de": 8000} {
		ls := m.Languages[lang]
		if ls == nil {
			t.Fatalf("no %s in the manifest", lang)
		}
		total := 0
		for _, name := range []string{"train", "dev", "test"} {
			ss := ls.Splits[name]
			if ss == nil || ss.Documents == 0 || ss.Bytes == 0 {
				t.Fatalf("%s %s empty: %+v", lang, name, ss)
			}
			total += ss.Documents
		}
		if total < min {
			t.Errorf("%s: %d documents, want at least %d", lang, total, min)
		}
		// about 20% of documents in test, 10% in dev (by source, so loosely)
		if f := float64(ls.Splits["test"].Documents) / float64(total); f < 0.12 || f > 0.28 {
			t.Errorf("%s: test holds %.2f of documents, want about 0.2", lang, f)
		}
		t.Logf("%s: %+v train %+v dev %+v test %+v", lang, *ls, *ls.Splits["train"], *ls.Splits["dev"], *ls.Splits["test"])
	}
	if len(m.Releases) == 0 || m.Releases[0].Date == "" || len(m.Mirrors) == 0 {
		t.Errorf("manifest lacks mirrors or release dates: %+v", m)
	}
	// The lz4 indexes really went through apt-helper: a record from them.
	idx, err := LoadIndex(ctx, ListsDir(out), DefaultAptHelper)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := LoadRecords(ctx, ListsDir(out), DefaultAptHelper, "de", idx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Package == "0ad" {
			found = r.Section == "games" && r.Source == "0ad" && strings.Contains(r.Short, "Echtzeit-Strategiespiel")
		}
	}
	if !found {
		t.Errorf("de record of 0ad missing or wrong")
	}
	// A second run is a quick no-op.
	t1 := time.Now()
	log.Reset()
	if _, err := Fetch(ctx, Options{Dir: out, Langs: []string{"en", "de"}, Shares: DefaultShares(), Log: &log}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t1); !strings.Contains(log.String(), "up to date") || d > 2*time.Second {
		t.Errorf("second run took %v; log:\n%s", d, log.String())
	}
}

// TestCompressedIndex reads a gzip-compressed Translation file through
// apt-helper cat-file, as apt stores them.
func TestCompressedIndex(t *testing.T) {
	if _, err := os.Stat(DefaultAptHelper); err != nil {
		t.Skipf("skipped: %s not installed (Debian's apt package provides it)", DefaultAptHelper)
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(fixtureDe))
	zw.Close()
	path := filepath.Join(dir, "h_debian_dists_bookworm_main_i18n_Translation-de.gz")
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
	var got []string
	err := readIndex(context.Background(), DefaultAptHelper, path, func(r io.Reader) error {
		return ReadTranslation(r, path, func(rec Record) error {
			got = append(got, rec.Package)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "gcc-12,libreoffice-core,vim,vim-doc" {
		t.Errorf("packages = %v", got)
	}
	// A corrupt compressed file is an error naming it.
	bad := filepath.Join(dir, "bad_i18n_Translation-de.xz")
	must(t, os.WriteFile(bad, []byte("not xz"), 0o644))
	err = readIndex(context.Background(), DefaultAptHelper, bad, func(r io.Reader) error {
		return ReadTranslation(r, bad, func(Record) error { return nil })
	})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt index: err = %v, want one naming %s", err, bad)
	}
}
