package experiment

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedReportsRebuild rebuilds every experiment report committed
// under docs/results from its results.json and metrics, as
// "lethe experiment --report-only" does, and checks that the report and
// every plot come out byte for byte as committed: the committed reports are
// what the code writes, not hand edits or the output of older code.
func TestCommittedReportsRebuild(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "docs", "results", "*", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no committed experiment under docs/results")
	}
	for _, f := range dirs {
		src := filepath.Dir(f)
		t.Run(filepath.Base(src), func(t *testing.T) {
			dst := t.TempDir()
			if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			res, err := ReadResults(dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteReport(dst, res); err != nil {
				t.Fatal(err)
			}
			n := 0
			err = fs.WalkDir(os.DirFS(src), ".", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				ext := filepath.Ext(path)
				if ext != ".md" && ext != ".html" && ext != ".svg" {
					return nil
				}
				want, err := os.ReadFile(filepath.Join(src, path))
				if err != nil {
					return err
				}
				got, err := os.ReadFile(filepath.Join(dst, path))
				if err != nil {
					return err
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: rebuilt file differs from the committed one (rebuild it with lethe experiment --report-only --out %s)", path, src)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n < 3 {
				t.Errorf("only %d report files compared in %s", n, src)
			}
		})
	}
}

// TestCommittedResultsSize keeps docs/results small enough to clone: under
// 3 MB and 150 files in all. An archived experiment holds its metrics in
// one bundle (scripts/archive-experiment.sh), not in one log per run.
func TestCommittedResultsSize(t *testing.T) {
	const maxBytes, maxFiles = 3_000_000, 150
	var size int64
	files := 0
	root := filepath.Join("..", "docs", "results")
	err := fs.WalkDir(os.DirFS(root), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), "metrics.jsonl") && strings.Count(path, "/") > 1 {
			t.Errorf("%s: a run's own metrics log; an archive keeps its runs' metrics in its %s", path, MetricsBundle)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size += fi.Size()
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if size >= maxBytes || files >= maxFiles {
		t.Errorf("docs/results holds %d bytes in %d files; keep it under %d bytes and %d files", size, files, maxBytes, maxFiles)
	}
}
