package dataset

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeDocs writes docs to a fresh token file and returns its path.
func writeDocs(t testing.TB, vocab int, docs [][]int32) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.tok")
	w, err := Create(p, vocab)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := w.AppendDocument(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func openDocs(t testing.TB, vocab int, docs [][]int32) *File {
	t.Helper()
	f, err := Open(writeDocs(t, vocab, docs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		vocab     int
		docs      [][]int32
		wantWidth int
	}{
		{"two-byte ids", 8000, [][]int32{{5, 6, 2}, {}, {7999, 2, 9, 2}}, 2},
		{"full 16-bit vocab", 65536, [][]int32{{65535, 2}}, 2},
		{"four-byte ids", 250002, [][]int32{{250001, 2}, {4, 5, 6, 2}}, 4},
		{"odd token count needs alignment", 100, [][]int32{{4, 5, 2}}, 2},
		{"no documents", 100, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeDocs(t, tc.vocab, tc.docs)
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("token file mode %v (%v), want 0644 like every output", st.Mode().Perm(), err)
			}
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var n int64
			for _, d := range tc.docs {
				n += int64(len(d))
			}
			if f.NumDocs() != len(tc.docs) || f.NumTokens() != n || f.VocabSize() != tc.vocab || f.width != tc.wantWidth {
				t.Fatalf("docs %d tokens %d vocab %d width %d", f.NumDocs(), f.NumTokens(), f.VocabSize(), f.width)
			}
			var all []int32
			for i, d := range tc.docs {
				if got := f.Doc(i); len(got) != len(d) || (len(d) > 0 && !reflect.DeepEqual(got, d)) {
					t.Errorf("doc %d = %v, want %v", i, got, d)
				}
				all = append(all, d...)
			}
			if n > 0 {
				if got := f.Tokens(0, n); !reflect.DeepEqual(got, all) {
					t.Errorf("Tokens = %v, want %v", got, all)
				}
				if got := f.Tokens(1, n); !reflect.DeepEqual(got, all[1:]) {
					t.Errorf("Tokens(1,n) = %v", got)
				}
			}
			// Exact size per the format: header, aligned ids, D+1 offsets.
			st, _ := os.Stat(p)
			want := int64(64) + (n*int64(tc.wantWidth)+7)/8*8 + int64(len(tc.docs)+1)*8
			if st.Size() != want {
				t.Errorf("file size %d, want %d", st.Size(), want)
			}
			// No temporary file left behind.
			ents, _ := os.ReadDir(filepath.Dir(p))
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only the token file", len(ents))
			}
		})
	}
}

func TestWriterRejectsAndAborts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.tok")
	w, err := Create(p, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]int32{{10}, {-1}} {
		if err := w.AppendDocument(bad); err == nil || !strings.Contains(err.Error(), "outside the vocabulary") {
			t.Errorf("id %v: err = %v", bad, err)
		}
	}
	if err := w.AppendDocument([]int32{4, 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Error("final path exists before Close")
	}
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Abort left %d files", len(ents))
	}
	if err := w.AppendDocument([]int32{4}); err == nil {
		t.Error("append after Abort accepted")
	}
	if _, err := Create(p, 0); err == nil {
		t.Error("vocabulary size 0 accepted")
	}
}

func TestOpenCorruption(t *testing.T) {
	good := func(t *testing.T) []byte {
		b, err := os.ReadFile(writeDocs(t, 100, [][]int32{{4, 5, 2}, {6, 2}, {7, 8, 9, 2}}))
		if err != nil {
			t.Fatal(err)
		}
		return b // 9 tokens: ids 64..82, pad to 88, offsets 88..120
	}
	put32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	}
	put64 := func(off int, v uint64) func([]byte) []byte {
		return func(b []byte) []byte { binary.LittleEndian.PutUint64(b[off:], v); return b }
	}
	tests := []struct {
		name   string
		edit   func([]byte) []byte
		substr string // in the message: the field and what was expected
	}{
		{"empty file", func(b []byte) []byte { return nil }, "header"},
		{"short header", func(b []byte) []byte { return b[:40] }, "header"},
		{"bad magic", func(b []byte) []byte { copy(b, "NOTATOKF"); return b }, "magic"},
		{"unknown version", put32(8, 2), "version"},
		{"bad width", put32(12, 3), "bytes per id"},
		{"width too small for vocab", put32(16, 70000), "bytes per id"},
		{"zero vocab", put32(16, 0), "vocabulary size"},
		{"huge vocab", func(b []byte) []byte { put32(12, 4)(b); return put32(16, 1<<31-1)(b) }, "expected 1..16777216"},
		{"reserved word", put32(20, 1), "reserved"},
		{"reserved tail", func(b []byte) []byte { b[50] = 1; return b }, "reserved"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-8] }, "file size"},
		{"trailing data", func(b []byte) []byte { return append(b, 0, 0, 0, 0, 0, 0, 0, 0) }, "file size"},
		{"huge token count", put64(24, 1<<62), "number of tokens"},
		{"huge doc count", put64(32, 1<<62), "number of documents"},
		{"token count mismatch", put64(24, 8), "file size"},
		{"first offset not zero", put64(88, 1), "entry 0"},
		{"offsets not monotone", put64(96, 8), "non-decreasing"},
		{"offset beyond tokens", put64(104, 10), "beyond"},
		{"last offset not N", put64(112, 8), "last entry"},
		{"id >= vocab", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[66:], 100); return b }, "token 1 is 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tok")
			if err := os.WriteFile(p, tc.edit(good(t)), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatal("corrupt file accepted")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("err %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err %q should name %s and %q", err, p, tc.substr)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.tok")); err == nil || errors.Is(err, ErrFormat) {
		t.Errorf("missing file: err = %v, want an I/O error", err)
	}
}

func TestAppendTokensNoAlloc(t *testing.T) {
	f := openDocs(t, 300000, [][]int32{{5, 6, 7, 2, 299999, 2}})
	buf := make([]int32, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { buf = f.AppendTokens(buf[:0], 0, 6) })
	if allocs != 0 || !reflect.DeepEqual(buf, []int32{5, 6, 7, 2, 299999, 2}) {
		t.Errorf("allocs %v, tokens %v", allocs, buf)
	}
}

// FuzzOpen checks that Open never panics on arbitrary bytes and that a file
// it accepts can be read end to end.
func FuzzOpen(f *testing.F) {
	for _, docs := range [][][]int32{{{4, 5, 2}, {6, 2}}, {}, {{}}} {
		b, err := os.ReadFile(writeDocs(f, 100, docs))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.tok")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tf, err := Open(p)
		if err != nil {
			return
		}
		defer tf.Close()
		for i := 0; i < tf.NumDocs(); i++ {
			for _, id := range tf.Doc(i) {
				if id < 0 || int(id) >= tf.VocabSize() {
					t.Fatalf("accepted id %d with vocabulary %d", id, tf.VocabSize())
				}
			}
		}
		if s, err := NewSequences(tf, 4); err == nil {
			dst := make([]int32, 4)
			for i := 0; i < s.Len(); i++ {
				s.Fill(i, dst)
			}
		}
	})
}
