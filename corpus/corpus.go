// Package corpus reads plain-text corpora the way users have them: UTF-8
// text files (optionally gzip- or bzip2-compressed), one sentence or
// paragraph per line, documents separated by one or more blank lines (the
// layout fairseq reads CC100 in). It streams documents with bounded memory,
// reports malformed input with the file and byte offset, and provides a
// deterministic train/validation split by document.
package corpus

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"unicode/utf8"
)

// DefaultMaxLineBytes is the line-length limit used when Options.MaxLineBytes
// is zero. A line longer than this is almost always a binary or minified file
// fed by mistake, and holding it would break the constant-memory promise.
const DefaultMaxLineBytes = 1 << 20

// DefaultMaxDocumentBytes is the document-size limit used when
// Options.MaxDocumentBytes is zero.
const DefaultMaxDocumentBytes = 16 << 20

// ErrInvalidUTF8 is wrapped by the *FormatError returned for a line that is
// not valid UTF-8 (unless Options.SkipInvalidUTF8 is set).
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// ErrLineTooLong is wrapped by the *FormatError returned for a line longer
// than Options.MaxLineBytes.
var ErrLineTooLong = errors.New("line too long")

// ErrUnsupportedCompression is wrapped by the *FormatError returned for a
// file compressed in a format the standard library cannot read (xz, zstd).
var ErrUnsupportedCompression = errors.New("unsupported compression")

// FormatError reports malformed input at a precise place, so that a user can
// find the offending bytes (e.g. with `tail -c +OFFSET`).
type FormatError struct {
	File   string // path as given to Open
	Line   int64  // 1-based line number (0 if not applicable)
	Offset int64  // byte offset in the (decompressed) text where the problem starts
	Err    error  // ErrInvalidUTF8, ErrLineTooLong, ...
	Detail string // what was expected
}

// Error formats the error as "file:line: byte offset N: problem: detail".
func (e *FormatError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	s += fmt.Sprintf(": byte offset %d: %v", e.Offset, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *FormatError) Unwrap() error { return e.Err }

// Options tunes a Reader. The zero value is a strict reader with the default
// limits.
type Options struct {
	// MaxLineBytes bounds one line (without its newline); 0 means
	// DefaultMaxLineBytes. A longer line is an error wrapping ErrLineTooLong.
	MaxLineBytes int
	// MaxDocumentBytes bounds the text held for one document; 0 means
	// DefaultMaxDocumentBytes. A longer document is cut before the line that
	// would exceed the limit and continues as a new document (counted in
	// Stats.SplitDocuments), so memory stays bounded on files without blank
	// lines.
	MaxDocumentBytes int
	// SkipInvalidUTF8 drops lines that are not valid UTF-8 (counted in
	// Stats.SkippedLines) instead of failing.
	SkipInvalidUTF8 bool
}

// Document is one document of a corpus: its non-blank lines, in order.
type Document struct {
	Lines []string // the lines, without line terminators (a trailing "\r" is removed too)
	File  string   // the file it came from
	Line  int64    // 1-based line number of its first line in File
}

// Stats counts what a Reader has seen so far.
type Stats struct {
	Files          int   // files opened
	Documents      int64 // documents returned
	Lines          int64 // non-blank lines returned
	SkippedLines   int64 // lines dropped for invalid UTF-8 (Options.SkipInvalidUTF8)
	SplitDocuments int64 // documents cut at Options.MaxDocumentBytes
	TextBytes      int64 // decompressed bytes read
}

// Reader streams the documents of one or more files in order. A document
// never spans two files. It is not safe for concurrent use, except Progress.
type Reader struct {
	paths []string
	opts  Options
	sizes []int64      // on-disk size of each file
	total int64        // sum of on-disk file sizes
	done  atomic.Int64 // on-disk bytes of finished files
	cur   atomic.Int64 // on-disk bytes consumed in the current file

	idx    int // index of the next file to open
	file   *os.File
	closer io.Closer // decompressor, if any
	br     *bufio.Reader
	name   string
	line   int64 // lines read in the current file
	offset int64 // decompressed bytes read in the current file
	long   []byte
	carry  *Document // first line of a document cut at MaxDocumentBytes
	stats  Stats
}

// Open prepares a Reader over paths, in order. It checks that every file
// exists (so a typo fails before hours of work) but opens them lazily.
func Open(paths []string, opts Options) (*Reader, error) {
	if len(paths) == 0 {
		return nil, errors.New("corpus: no input files")
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.MaxDocumentBytes <= 0 {
		opts.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	r := &Reader{paths: append([]string(nil), paths...), opts: opts}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("corpus: %s: is a directory, expected a text file", p)
		}
		r.sizes = append(r.sizes, st.Size())
		r.total += st.Size()
	}
	return r, nil
}

// Progress returns the on-disk (possibly compressed) bytes consumed so far
// and the total size of all inputs. It is safe to call from another
// goroutine while Next runs, for progress displays.
func (r *Reader) Progress() (read, total int64) {
	return r.done.Load() + r.cur.Load(), r.total
}

// Stats returns the counters so far.
func (r *Reader) Stats() Stats {
	st := r.stats
	if r.br != nil {
		st.TextBytes += r.offset // the file being read
	}
	return st
}

// Close releases the current file. Calling it more than once is harmless.
func (r *Reader) Close() error {
	return r.closeFile()
}

func (r *Reader) closeFile() error {
	if r.file == nil {
		return nil
	}
	var err error
	if r.closer != nil {
		err = r.closer.Close()
	}
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	r.file, r.closer, r.br = nil, nil, nil
	return err
}

// countingReader counts the bytes pulled from the file, for Progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

// Read reads from the file and counts the bytes.
func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// openNext opens r.paths[r.idx], sniffing the compression from its first
// bytes rather than trusting the extension.
func (r *Reader) openNext() error {
	p := r.paths[r.idx]
	r.idx++
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	r.cur.Store(0)
	src, closer, err := Decompress(bufio.NewReaderSize(countingReader{f, &r.cur}, 64<<10), p)
	if err != nil {
		f.Close()
		return err
	}
	r.file, r.closer, r.name = f, closer, p
	r.br = bufio.NewReaderSize(src, 64<<10)
	r.line, r.offset = 0, 0
	r.stats.Files++
	return nil
}

// Decompress returns the text of the file named name, read through raw:
// gzip and bzip2 are decompressed, sniffed from the first bytes rather than
// the extension; xz and zstd are refused with what to do. The closer, if not
// nil, is closed when done.
func Decompress(raw *bufio.Reader, name string) (io.Reader, io.Closer, error) {
	magic, _ := raw.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, nil, &FormatError{File: name, Err: fmt.Errorf("bad gzip header: %w", err), Detail: "expected a gzip stream"}
		}
		return zr, zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(raw), nil, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, nil, &FormatError{File: name, Err: ErrUnsupportedCompression, Detail: "xz; decompress it first (xz -dk) or recompress with gzip"}
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, nil, &FormatError{File: name, Err: ErrUnsupportedCompression, Detail: "zstd; decompress it first (zstd -d) or recompress with gzip"}
	}
	return raw, nil, nil
}

// readLine returns the next line without its terminator, the byte offset
// where it starts, and io.EOF after the last line of the current file. The
// returned slice is valid until the next call.
func (r *Reader) readLine() ([]byte, int64, error) {
	start := r.offset
	r.long = r.long[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.offset += int64(len(chunk))
		if err == bufio.ErrBufferFull {
			r.long = append(r.long, chunk...)
			if len(r.long) > r.opts.MaxLineBytes {
				return nil, start, &FormatError{File: r.name, Line: r.line + 1, Offset: start, Err: ErrLineTooLong,
					Detail: fmt.Sprintf("expected at most %d bytes per line (raise the limit if this is intended)", r.opts.MaxLineBytes)}
			}
			continue
		}
		line := chunk
		if len(r.long) > 0 {
			r.long = append(r.long, chunk...)
			line = r.long
		}
		if err != nil && err != io.EOF {
			return nil, start, &FormatError{File: r.name, Line: r.line + 1, Offset: r.offset, Err: err, Detail: "read failed"}
		}
		if len(line) == 0 && err == io.EOF {
			return nil, start, io.EOF
		}
		r.line++
		line = bytes.TrimSuffix(line, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > r.opts.MaxLineBytes {
			return nil, start, &FormatError{File: r.name, Line: r.line, Offset: start, Err: ErrLineTooLong,
				Detail: fmt.Sprintf("expected at most %d bytes per line (raise the limit if this is intended)", r.opts.MaxLineBytes)}
		}
		if r.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\uFEFF")) // byte-order mark
		}
		return line, start, nil
	}
}

// blank reports whether a line holds only ASCII white space.
func blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\v' && c != '\f' {
			return false
		}
	}
	return true
}

// firstInvalid returns the index of the first byte of line that is not part
// of valid UTF-8.
func firstInvalid(line []byte) int {
	for i := 0; i < len(line); {
		c, size := utf8.DecodeRune(line[i:])
		if c == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(line)
}

// Next returns the next document, or io.EOF after the last one. Each call
// returns fresh slices that the caller may keep. After any other error the
// Reader should only be closed.
func (r *Reader) Next() (Document, error) {
	var doc Document
	var size int
	if r.carry != nil {
		doc, r.carry = *r.carry, nil
		size = len(doc.Lines[0])
	}
	for {
		if r.br == nil {
			if len(doc.Lines) > 0 {
				return r.emit(doc), nil
			}
			if r.idx >= len(r.paths) {
				return Document{}, io.EOF
			}
			if err := r.openNext(); err != nil {
				return Document{}, err
			}
		}
		line, start, err := r.readLine()
		if err == io.EOF {
			r.stats.TextBytes += r.offset
			n := r.sizes[r.idx-1]
			if cerr := r.closeFile(); cerr != nil {
				return Document{}, fmt.Errorf("corpus: %s: %w", r.name, cerr)
			}
			r.done.Add(n)
			r.cur.Store(0)
			continue // emits doc (document never spans files) or opens the next file
		}
		if err != nil {
			return Document{}, err
		}
		if blank(line) {
			if len(doc.Lines) > 0 {
				return r.emit(doc), nil
			}
			continue
		}
		if !utf8.Valid(line) {
			if r.opts.SkipInvalidUTF8 {
				r.stats.SkippedLines++
				continue
			}
			i := firstInvalid(line)
			return Document{}, &FormatError{File: r.name, Line: r.line, Offset: start + int64(i), Err: ErrInvalidUTF8,
				Detail: fmt.Sprintf("byte 0x%02x is not part of a valid UTF-8 sequence (to drop such lines instead: Options.SkipInvalidUTF8, lethe prepare --skip-invalid-utf8)", line[i])}
		}
		s := string(line)
		if len(doc.Lines) > 0 && size+len(s) > r.opts.MaxDocumentBytes {
			r.carry = &Document{Lines: []string{s}, File: r.name, Line: r.line}
			r.stats.SplitDocuments++
			return r.emit(doc), nil
		}
		if len(doc.Lines) == 0 {
			doc.File, doc.Line = r.name, r.line
		}
		doc.Lines = append(doc.Lines, s)
		size += len(s)
	}
}

func (r *Reader) emit(doc Document) Document {
	r.stats.Documents++
	r.stats.Lines += int64(len(doc.Lines))
	return doc
}

// CheckUTF8 returns a *FormatError naming the line and byte offset of the
// first invalid UTF-8 sequence in data (the whole content of the file name),
// or nil. expected says what the file should have held, for example "UTF-8
// HTML"; the extractors of Debian-packaged documents use it to refuse a file
// in a legacy encoding with one clear error.
func CheckUTF8(data []byte, name, expected string) error {
	if utf8.Valid(data) {
		return nil
	}
	off := 0
	for off < len(data) {
		r, size := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return &FormatError{
		File:   name,
		Line:   int64(bytes.Count(data[:off], []byte("\n")) + 1),
		Offset: int64(off),
		Err:    ErrInvalidUTF8,
		Detail: fmt.Sprintf("byte 0x%02x; expected %s", data[off], expected),
	}
}
