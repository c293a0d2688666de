package corpus

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(t *testing.T, r *Reader) ([]Document, error) {
	t.Helper()
	var docs []Document
	for {
		d, err := r.Next()
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		docs = append(docs, d)
	}
}

func lines(docs []Document) [][]string {
	var out [][]string
	for _, d := range docs {
		out = append(out, d.Lines)
	}
	return out
}

func TestReaderDocuments(t *testing.T) {
	tests := []struct {
		name string
		text string
		want [][]string
	}{
		{"simple", "a\nb\n\nc\n", [][]string{{"a", "b"}, {"c"}}},
		{"many blank lines and no final newline", "\n\n a \n\n\n\nb\nc", [][]string{{" a "}, {"b", "c"}}},
		{"crlf and whitespace-only separators", "a\r\nb\r\n \t\r\nc\r\n", [][]string{{"a", "b"}, {"c"}}},
		{"byte-order mark", "\uFEFFhello\n", [][]string{{"hello"}}},
		{"empty", "", nil},
		{"only blanks", "\n\n  \n", nil},
		{"unicode", "Grüße\n日本語\n\nπ\n", [][]string{{"Grüße", "日本語"}, {"π"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, variant := range []struct {
				name string
				data []byte
			}{{"c.txt", []byte(tc.text)}, {"c.txt.gz", gz(t, tc.text)}} {
				p := writeFile(t, dir, variant.name, variant.data)
				r, err := Open([]string{p}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				docs, err := readAll(t, r)
				if err != nil {
					t.Fatalf("%s: %v", variant.name, err)
				}
				if got := lines(docs); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s: got %q, want %q", variant.name, got, tc.want)
				}
				st := r.Stats()
				if st.Documents != int64(len(tc.want)) {
					t.Errorf("%s: Stats.Documents = %d, want %d", variant.name, st.Documents, len(tc.want))
				}
				if read, total := r.Progress(); read != total || total != int64(len(variant.data)) {
					t.Errorf("%s: Progress = %d/%d, want %d/%d", variant.name, read, total, len(variant.data), len(variant.data))
				}
				r.Close()
			}
		})
	}
}

func TestReaderMultipleFilesAndLineNumbers(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.txt", []byte("x1\nx2")) // no final newline: document must not continue into b
	b := writeFile(t, dir, "b.txt.gz", gz(t, "\ny1\n\n\ny2\ny3\n"))
	r, err := Open([]string{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Document{
		{Lines: []string{"x1", "x2"}, File: a, Line: 1},
		{Lines: []string{"y1"}, File: b, Line: 2},
		{Lines: []string{"y2", "y3"}, File: b, Line: 5},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("got %+v\nwant %+v", docs, want)
	}
	if st := r.Stats(); st.Files != 2 || st.Lines != 5 || st.Documents != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestReaderInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	text := "good\nok\xffbad\n\nfine\n"
	p := writeFile(t, dir, "bad.txt", []byte(text))
	r, err := Open([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, r)
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != p || fe.Line != 2 || fe.Offset != int64(strings.IndexByte(text, 0xff)) {
		t.Errorf("error at %s line %d offset %d, want %s line 2 offset %d", fe.File, fe.Line, fe.Offset, p, strings.IndexByte(text, 0xff))
	}
	if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "byte offset 7") {
		t.Errorf("message %q should name the file and offset", err)
	}

	// Same through gzip: the offset is into the decompressed text.
	pg := writeFile(t, dir, "bad.txt.gz", gz(t, text))
	r, _ = Open([]string{pg}, Options{})
	_, err = readAll(t, r)
	if !errors.As(err, &fe) || fe.Offset != 7 {
		t.Fatalf("gzip: err = %v, want offset 7", err)
	}

	// Skipping.
	r, _ = Open([]string{p}, Options{SkipInvalidUTF8: true})
	docs, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(docs), [][]string{{"good"}, {"fine"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	if r.Stats().SkippedLines != 1 {
		t.Errorf("SkippedLines = %d, want 1", r.Stats().SkippedLines)
	}
}

func TestReaderLineTooLong(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("a", 200<<10) // longer than the bufio buffer, to exercise accumulation
	tests := []struct {
		name    string
		limit   int
		text    string
		wantErr bool
	}{
		{"within limit", 300 << 10, "x\n" + long + "\ny\n", false},
		{"over limit", 100 << 10, "x\n" + long + "\ny\n", true},
		{"over limit at eof", 100 << 10, "x\n" + long, true},
		{"short line over tiny limit", 3, "abcd\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, "l.txt", []byte(tc.text))
			r, _ := Open([]string{p}, Options{MaxLineBytes: tc.limit})
			docs, err := readAll(t, r)
			if tc.wantErr {
				var fe *FormatError
				if !errors.Is(err, ErrLineTooLong) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want ErrLineTooLong", err)
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("message %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || len(docs[0].Lines) != 3 || docs[0].Lines[1] != long {
				t.Errorf("long line not returned intact")
			}
		})
	}
}

func TestReaderDocumentLimit(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&sb, "line%02d\n", i) // 6 bytes each
	}
	p := writeFile(t, dir, "d.txt", []byte(sb.String()))
	r, _ := Open([]string{p}, Options{MaxDocumentBytes: 20})
	docs, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 4 { // 3+3+3+1 lines
		t.Fatalf("got %d documents, want 4: %q", len(docs), lines(docs))
	}
	total := 0
	for _, d := range docs {
		total += len(d.Lines)
	}
	if total != 10 || r.Stats().SplitDocuments != 3 || docs[1].Line != 4 {
		t.Errorf("lines %d, splits %d, second doc line %d", total, r.Stats().SplitDocuments, docs[1].Line)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	xz := writeFile(t, dir, "a.txt.xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2})
	tests := []struct {
		name  string
		paths []string
		atNew bool  // error from Open rather than Next
		is    error // optional sentinel
	}{
		{"no files", nil, true, nil},
		{"missing file", []string{filepath.Join(dir, "nope.txt")}, true, os.ErrNotExist},
		{"directory", []string{dir}, true, nil},
		{"xz", []string{xz}, false, ErrUnsupportedCompression},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(tc.paths, Options{})
			if !tc.atNew {
				if err != nil {
					t.Fatal(err)
				}
				_, err = r.Next()
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	s := Split{ValidFraction: 0.1, Seed: 7}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{-0.1, 1.5} {
		if (Split{ValidFraction: bad}).Validate() == nil {
			t.Errorf("fraction %v accepted", bad)
		}
	}
	n, valid := 20000, 0
	for i := 0; i < n; i++ {
		doc := []string{fmt.Sprintf("document %d", i), "second line"}
		v := s.IsValid(doc)
		if v != s.IsValid([]string{fmt.Sprintf("document %d", i), "second line"}) {
			t.Fatal("not deterministic")
		}
		if v {
			valid++
		}
	}
	if frac := float64(valid) / float64(n); frac < 0.09 || frac > 0.11 {
		t.Errorf("validation share %.4f, want 0.1 +- 0.01", frac)
	}
	if (Split{ValidFraction: 0}).IsValid([]string{"x"}) || !(Split{ValidFraction: 1}).IsValid([]string{"x"}) {
		t.Error("fractions 0 and 1 must be absolute")
	}
	// Line boundaries matter, and the hash is pinned (on-disk contract).
	if DocumentHash(0, []string{"ab"}) == DocumentHash(0, []string{"a", "b"}) {
		t.Error("hash ignores line boundaries")
	}
	if DocumentHash(0, []string{"x"}) == DocumentHash(1, []string{"x"}) {
		t.Error("hash ignores the seed")
	}
	if got := DocumentHash(0, []string{"hello", "world"}); got != 0xfc718d44b6b30a5f {
		t.Errorf("DocumentHash changed: %#x; prepared data sets would be split differently", got)
	}
}

func TestProgressConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "p.txt", []byte(strings.Repeat("word word\n\n", 20000)))
	r, _ := Open([]string{p}, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			read, total := r.Progress()
			if read < 0 || total != int64(20000*11) {
				t.Errorf("progress %d/%d", read, total)
				return
			}
		}
	}()
	docs, err := readAll(t, r)
	<-done
	if err != nil || len(docs) != 20000 {
		t.Fatalf("%d docs, err %v", len(docs), err)
	}
}

// BenchmarkReader reads the file named by LETHE_BENCH_CORPUS (skipped when
// unset) and reports MB/s of input.
func BenchmarkReader(b *testing.B) {
	p := os.Getenv("LETHE_BENCH_CORPUS")
	if p == "" {
		b.Skip("set LETHE_BENCH_CORPUS to a corpus file")
	}
	for i := 0; i < b.N; i++ {
		r, err := Open([]string{p}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		_, total := r.Progress()
		b.SetBytes(total)
		r.Close()
	}
}

// FuzzReader checks that arbitrary bytes give either an error or documents of
// valid UTF-8, non-blank lines without line terminators.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a\nb\n\nc\n"), false)
	f.Add([]byte("x\xff\n\n\r\n y"), true)
	f.Add(gz(f, "hello\n\nworld"), false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		p := filepath.Join(dir, "f.txt")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open([]string{p}, Options{SkipInvalidUTF8: skip, MaxLineBytes: 64, MaxDocumentBytes: 128})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			d, err := r.Next()
			if err != nil {
				return
			}
			for _, l := range d.Lines {
				if !utf8.ValidString(l) || blank([]byte(l)) || strings.ContainsAny(l, "\n") || len(l) > 64 {
					t.Fatalf("bad line %q", l)
				}
			}
		}
	})
}

func TestStatsTextBytes(t *testing.T) {
	dir := t.TempDir()
	text := "ab\n\ncd\nef\n\ngh\n"
	p := writeFile(t, dir, "s.txt.gz", gz(t, text))
	r, _ := Open([]string{p, writeFile(t, dir, "t.txt", []byte("xyz"))}, Options{})
	want := []int64{4, 11, 14, 17} // decompressed bytes consumed after each document
	for i, w := range want {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if got := r.Stats().TextBytes; got != w {
			t.Errorf("after document %d: TextBytes %d, want %d", i, got, w)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("err = %v, want EOF", err)
	}
	if got := r.Stats().TextBytes; got != int64(len(text)+3) {
		t.Errorf("TextBytes %d at the end, want %d", got, len(text)+3)
	}
}

func TestReaderBzip2AndCorruptGzip(t *testing.T) {
	dir := t.TempDir()
	// bz2.compress(b"hello\nworld\n\nbzip2\n") from Python.
	bz := []byte("\x42\x5a\x68\x39\x31\x41\x59\x26\x53\x59\xa4\xbb\x69\x5d\x00\x00\x04\x49\x80\x00\x10\x10\x00\x16\x64\xd0\x90\x20\x00\x22\x98\x06\x8d\x08\x06\x80\x19\x16\xc3\x0b\x53\xb9\x1e\x24\x51\xe1\x77\x24\x53\x85\x09\x0a\x4b\xb6\x95\xd0")
	r, _ := Open([]string{writeFile(t, dir, "a.txt.bz2", bz)}, Options{})
	docs, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(docs), [][]string{{"hello", "world"}, {"bzip2"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A gzip stream cut short is an error naming the file, not a silent end.
	z := gz(t, testLines(2000))
	p := writeFile(t, dir, "cut.txt.gz", z[:len(z)/2])
	r, _ = Open([]string{p}, Options{})
	if _, err := readAll(t, r); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated gzip: err = %v", err)
	}
}

func testLines(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "line %d with some words\n", i)
	}
	return sb.String()
}

func TestCheckUTF8(t *testing.T) {
	for _, tc := range []struct {
		data         string
		line, offset int64
		ok           bool
	}{
		{"plain\ntext\n", 0, 0, true},
		{"", 0, 0, true},
		{"ok\nbad \xe9 here\n", 2, 7, false},
		{"\xff", 1, 0, false},
	} {
		err := CheckUTF8([]byte(tc.data), "f.txt", "UTF-8 text")
		if tc.ok {
			if err != nil {
				t.Errorf("%q: %v", tc.data, err)
			}
			continue
		}
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidUTF8) || fe.File != "f.txt" || fe.Line != tc.line || fe.Offset != tc.offset ||
			!strings.Contains(fe.Detail, "expected UTF-8 text") {
			t.Errorf("%q: err = %#v, want line %d offset %d", tc.data, err, tc.line, tc.offset)
		}
	}
}
