package atomicfile

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	for _, v := range []map[string]int{{"x": 1}, {"x": 2, "y": 3}} {
		if err := WriteJSON(path, v); err != nil {
			t.Fatal(err)
		}
		var got map[string]int
		raw, _ := os.ReadFile(path)
		if err := json.Unmarshal(raw, &got); err != nil || len(got) != len(v) || got["x"] != v["x"] {
			t.Errorf("read back %v (%v), want %v", got, err, v)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
	// A value JSON cannot hold fails and leaves the previous file whole.
	if err := WriteJSON(path, math.NaN()); err == nil {
		t.Error("NaN accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only a.json (no temporary files)", len(entries))
	}
	if err := WriteJSON(filepath.Join(dir, "missing", "b.json"), 1); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
