package task

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadClassification reads arbitrary bytes as a task file in each
// format the readers accept (label<TAB>text, XNLI .tsv, .jsonl): an error
// naming the file or a set whose labels are all known, never a panic.
func FuzzReadClassification(f *testing.F) {
	for _, name := range []string{"topic.tsv", "mnli.jsonl"} {
		if raw, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(raw, filepath.Ext(name))
		}
	}
	f.Add([]byte("language\tgold_label\tsentence1\tsentence2\tpairID\nen\tneutral\ta\tb\t1\n"), ".tsv")
	f.Add([]byte("{\"gold_label\": \"-\", \"sentence1\": \"x\"}\n"), ".jsonl")
	f.Fuzz(func(t *testing.T, data []byte, ext string) {
		if ext != ".tsv" && ext != ".jsonl" {
			ext = ".tsv"
		}
		path := filepath.Join(t.TempDir(), "task"+ext)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := ReadClassification(path, ReadOptions{})
		if err != nil {
			return
		}
		for _, ex := range set.Examples {
			if set.LabelID(ex.Label) < 0 {
				t.Fatalf("example label %q is not among the set's labels %v", ex.Label, set.Labels)
			}
		}
	})
}

// FuzzReadSQuAD reads arbitrary bytes as SQuAD JSON: an error or a set,
// never a panic.
func FuzzReadSQuAD(f *testing.F) {
	if raw, err := os.ReadFile(filepath.Join("testdata", "squad.json")); err == nil {
		f.Add(raw)
	}
	f.Add([]byte(`{"version": "1.1", "data": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "squad.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = ReadSQuAD(path)
	})
}
