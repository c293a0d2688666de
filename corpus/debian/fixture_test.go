package debian

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"lethe/corpus/ddtp"
)

// listNames maps the testdata index files to the names apt gives them in a
// lists directory.
var listNames = map[string]string{
	"Packages":       "deb.example.org_debian_dists_bookworm_main_binary-amd64_Packages",
	"Translation-en": "deb.example.org_debian_dists_bookworm_main_i18n_Translation-en",
	"Translation-de": "deb.example.org_debian_dists_bookworm_main_i18n_Translation-de",
}

// fixtureLists copies the tiny DDTP index of testdata into an apt lists
// directory.
func fixtureLists(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range listNames {
		data, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtureRecords loads the tiny DDTP index the way Build does.
func fixtureRecords(t *testing.T) map[string][]ddtp.Record {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lists")
	fixtureLists(t, dir)
	ctx := context.Background()
	idx, err := ddtp.LoadIndex(ctx, dir, "/nonexistent-helper")
	if err != nil {
		t.Fatal(err)
	}
	recs := map[string][]ddtp.Record{}
	for _, l := range []string{"en", "de"} {
		rs, _, err := ddtp.LoadRecords(ctx, dir, "/nonexistent-helper", l, idx)
		if err != nil {
			t.Fatal(err)
		}
		recs[l] = rs
	}
	return recs
}
