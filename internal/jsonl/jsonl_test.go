package jsonl

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTornLineIsCut reopens a log whose last line was cut in mid-write: the
// partial line goes, the whole lines stay, and a new record follows them on
// its own line.
func TestTornLineIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	if err := os.WriteFile(path, []byte("{\"update\":1}\n{\"update\":2}\n{\"upd"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Record{Update: 3})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 || lines[0] != `{"update":1}` || lines[1] != `{"update":2}` {
		t.Fatalf("log after repair and one write: %q", raw)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil || rec["update"] != 3.0 || rec["time"] == nil {
		t.Errorf("new record %q: %v", lines[2], err)
	}
}

// TestNoNewlineAtAll cuts a log that is one partial line to nothing.
func TestNoNewlineAtAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	os.WriteFile(path, []byte(strings.Repeat("x", 100_000)), 0o644)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("a log of one partial line kept %d bytes", st.Size())
	}
}

// TestWriteErrorIsKept makes writes fail (the file is closed underneath)
// and checks that the error is reported by Err, Sync and Close.
func TestWriteErrorIsKept(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	l.f.Close()
	l.Write(Record{Update: 1})
	if l.Err() == nil || l.Sync() == nil || !strings.Contains(l.Err().Error(), "metrics.jsonl") {
		t.Errorf("a failed write was not kept: %v", l.Err())
	}
}
