// Package dataset holds tokenised corpora for masked-LM training: the binary
// token file (.tok, see docs/ARCHITECTURE.md) written by Writer and
// memory-mapped by Open, its cutting into fixed-length sequences, dynamic
// RoBERTa-style masking, and batch loaders whose position can be saved and
// restored so that a resumed run sees exactly the batches it would have seen.
package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Special token ids shared by every Lethe model (RoBERTa order).
const (
	BOS int32 = 0 // <s>, first token of every sequence
	PAD int32 = 1 // <pad>, fills the tail of a sequence
	EOS int32 = 2 // </s>, ends every line of a document
	UNK int32 = 3 // <unk>
)

// IgnoreLabel marks positions that take no part in the loss (the Hugging Face
// convention).
const IgnoreLabel int32 = -100

// Layout of the token file header.
const (
	headerSize = 64
	magic      = "LETHETOK"
	version    = 1
)

// ErrFormat is wrapped by every error Open returns for a file that is not a
// well-formed token file, so callers can tell corruption from I/O failure.
var ErrFormat = errors.New("malformed token file")

// MaxVocab bounds the vocabulary size a token file may declare, so that a
// corrupt or hostile header cannot make its reader allocate per-id tables of
// many gigabytes. 16M ids is 64 times the largest vocabularies in use.
var MaxVocab = 1 << 24

// widthFor returns the bytes per id used for a vocabulary size.
func widthFor(vocabSize int) int {
	if vocabSize <= 1<<16 {
		return 2
	}
	return 4
}

// Writer writes a token file. It writes to a temporary file beside the final
// path and renames it on Close, so that a crash or an error never leaves a
// half-written file under the final name. Document offsets go to a second
// temporary file until Close, so memory stays constant however large the
// corpus. It is not safe for concurrent use.
type Writer struct {
	path  string
	tmp   string
	f     *os.File
	bw    *bufio.Writer
	idx   *os.File // document offsets, appended after the ids on Close
	idxW  *bufio.Writer
	width int
	vocab int
	n     int64
	docs  int
	buf   []byte
	done  bool
}

// Create starts a token file for ids in [0, vocabSize).
func Create(path string, vocabSize int) (*Writer, error) {
	if vocabSize <= 0 || vocabSize > MaxVocab {
		return nil, fmt.Errorf("dataset: create %s: vocabulary size %d: expected 1..%d (dataset.MaxVocab)", path, vocabSize, MaxVocab)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("dataset: create %s: %w", path, err)
	}
	idx, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".idx*")
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("dataset: create %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; a token file is shared like any output.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		idx.Close()
		os.Remove(f.Name())
		os.Remove(idx.Name())
		return nil, fmt.Errorf("dataset: create %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f, bw: bufio.NewWriterSize(f, 1<<20),
		idx: idx, idxW: bufio.NewWriterSize(idx, 64<<10), width: widthFor(vocabSize), vocab: vocabSize}
	if _, err := w.bw.Write(make([]byte, headerSize)); err != nil { // placeholder, rewritten by Close
		w.Abort()
		return nil, fmt.Errorf("dataset: create %s: %w", path, err)
	}
	if err := w.putOffset(0); err != nil {
		w.Abort()
		return nil, fmt.Errorf("dataset: create %s: %w", path, err)
	}
	return w, nil
}

func (w *Writer) putOffset(o int64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(o))
	_, err := w.idxW.Write(b[:])
	return err
}

// AppendDocument appends one document (its ids, normally each line followed
// by EOS). Ids outside [0, vocabSize) are rejected so that a file never holds
// an id the model cannot embed.
func (w *Writer) AppendDocument(ids []int32) error {
	if w.done {
		return fmt.Errorf("dataset: %s: AppendDocument after Close", w.path)
	}
	w.buf = w.buf[:0]
	for i, id := range ids {
		if id < 0 || int(id) >= w.vocab {
			return fmt.Errorf("dataset: %s: document %d, token %d: id %d outside the vocabulary [0, %d)", w.path, w.docs, i, id, w.vocab)
		}
		if w.width == 2 {
			w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(id))
		} else {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(id))
		}
	}
	if _, err := w.bw.Write(w.buf); err != nil {
		return fmt.Errorf("dataset: write %s: %w", w.tmp, err)
	}
	if err := w.putOffset(w.n + int64(len(ids))); err != nil {
		return fmt.Errorf("dataset: write %s: %w", w.idx.Name(), err)
	}
	w.n += int64(len(ids))
	w.docs++
	return nil
}

// NumTokens returns the number of ids appended so far.
func (w *Writer) NumTokens() int64 { return w.n }

// NumDocs returns the number of documents appended so far.
func (w *Writer) NumDocs() int { return w.docs }

// Close writes the document index and header, syncs, and renames the file to
// its final path. On error both temporary files are removed.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	err := w.finish()
	w.done = true
	w.idx.Close()
	os.Remove(w.idx.Name())
	if err != nil {
		w.f.Close()
		os.Remove(w.tmp)
		return fmt.Errorf("dataset: close %s: %w", w.path, err)
	}
	return nil
}

func (w *Writer) finish() error {
	if pad := (8 - (w.n*int64(w.width))%8) % 8; pad > 0 {
		if _, err := w.bw.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	if err := w.idxW.Flush(); err != nil {
		return err
	}
	if _, err := w.idx.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if n, err := io.Copy(w.bw, w.idx); err != nil {
		return err
	} else if n != int64(w.docs+1)*8 {
		return fmt.Errorf("document index %s holds %d bytes, expected %d", w.idx.Name(), n, (w.docs+1)*8)
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	h := make([]byte, headerSize)
	copy(h, magic)
	binary.LittleEndian.PutUint32(h[8:], version)
	binary.LittleEndian.PutUint32(h[12:], uint32(w.width))
	binary.LittleEndian.PutUint32(h[16:], uint32(w.vocab))
	binary.LittleEndian.PutUint64(h[24:], uint64(w.n))
	binary.LittleEndian.PutUint64(h[32:], uint64(w.docs))
	if _, err := w.f.WriteAt(h, 0); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(w.path)); err == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the file: nothing is left under the final path or the
// temporary ones. It is a no-op after Close.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmp)
	w.idx.Close()
	os.Remove(w.idx.Name())
}

// File is a memory-mapped token file. Its methods are safe for concurrent
// use; Close must not race with them.
type File struct {
	path  string
	data  []byte // the whole mapping
	ids   []byte // the id array
	offs  []byte // (D+1) little-endian uint64 document offsets
	width int
	vocab int
	n     int64
	d     int
}

func formatErr(path string, off int, field, format string, args ...any) error {
	return fmt.Errorf("dataset: %s: %w: %s (byte %d): %s", path, ErrFormat, field, off, fmt.Sprintf(format, args...))
}

// Open memory-maps a token file read-only and validates it completely: the
// header fields, the exact file size, the document index (starting at 0,
// non-decreasing, ending at the number of tokens) and every id against the
// vocabulary size. A truncated or corrupted file is therefore rejected here
// rather than producing garbage batches hours later.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	size := st.Size()
	if size < headerSize {
		return nil, formatErr(path, 0, "header", "file is %d bytes, expected at least the %d-byte header", size, headerSize)
	}
	h := make([]byte, headerSize)
	if _, err := fh.ReadAt(h, 0); err != nil {
		return nil, fmt.Errorf("dataset: read %s: %w", path, err)
	}
	f := &File{path: path}
	if string(h[:8]) != magic {
		return nil, formatErr(path, 0, "magic", "got %q, expected %q", h[:8], magic)
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != version {
		return nil, formatErr(path, 8, "version", "got %d, expected %d (file written by a newer Lethe?)", v, version)
	}
	f.width = int(binary.LittleEndian.Uint32(h[12:]))
	vocab := binary.LittleEndian.Uint32(h[16:])
	if vocab == 0 || int64(vocab) > int64(MaxVocab) {
		return nil, formatErr(path, 16, "vocabulary size", "got %d, expected 1..%d (dataset.MaxVocab)", vocab, MaxVocab)
	}
	f.vocab = int(vocab)
	if f.width != 2 && f.width != 4 {
		return nil, formatErr(path, 12, "bytes per id", "got %d, expected 2 or 4", f.width)
	}
	if f.width == 2 && f.vocab > 1<<16 {
		return nil, formatErr(path, 12, "bytes per id", "2-byte ids cannot hold a vocabulary of %d, expected 4", f.vocab)
	}
	if r := binary.LittleEndian.Uint32(h[20:]); r != 0 {
		return nil, formatErr(path, 20, "reserved", "got %d, expected 0", r)
	}
	for i := 40; i < headerSize; i++ {
		if h[i] != 0 {
			return nil, formatErr(path, i, "reserved", "got byte %#x, expected 0", h[i])
		}
	}
	n := binary.LittleEndian.Uint64(h[24:])
	d := binary.LittleEndian.Uint64(h[32:])
	// Bound N and D by the file size before multiplying, so the size
	// arithmetic cannot overflow.
	if n > uint64(size)/uint64(f.width) {
		return nil, formatErr(path, 24, "number of tokens", "%d tokens cannot fit in a %d-byte file (truncated?)", n, size)
	}
	if d > uint64(size)/8 {
		return nil, formatErr(path, 32, "number of documents", "%d documents cannot fit in a %d-byte file (truncated?)", d, size)
	}
	f.n, f.d = int64(n), int(d)
	idBytes := f.n * int64(f.width)
	offStart := headerSize + (idBytes+7)/8*8
	want := offStart + (int64(d)+1)*8
	if size != want {
		return nil, formatErr(path, int(size), "file size", "got %d bytes, expected %d for %d tokens and %d documents (truncated or trailing data)", size, want, n, d)
	}
	data, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("dataset: mmap %s: %w", path, err)
	}
	f.data = data
	f.ids = data[headerSize : headerSize+idBytes]
	f.offs = data[offStart:]
	if err := f.validate(offStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *File) validate(offStart int64) error {
	prev := uint64(0)
	for i := 0; i <= f.d; i++ {
		o := binary.LittleEndian.Uint64(f.offs[8*i:])
		pos := int(offStart) + 8*i
		switch {
		case i == 0 && o != 0:
			return formatErr(f.path, pos, "document index", "entry 0 is %d, expected 0", o)
		case o < prev:
			return formatErr(f.path, pos, "document index", "entry %d is %d, below entry %d (%d): expected non-decreasing offsets", i, o, i-1, prev)
		case o > uint64(f.n):
			return formatErr(f.path, pos, "document index", "entry %d is %d, beyond the %d tokens", i, o, f.n)
		case i == f.d && o != uint64(f.n):
			return formatErr(f.path, pos, "document index", "last entry is %d, expected the number of tokens %d", o, f.n)
		}
		prev = o
	}
	if f.width == 2 && f.vocab == 1<<16 {
		return nil // every 2-byte value is in range
	}
	for i := int64(0); i < f.n; i++ {
		if id := f.at(i); int(id) >= f.vocab || id < 0 {
			return formatErr(f.path, headerSize+int(i)*f.width, "token id", "token %d is %d, expected below the vocabulary size %d", i, id, f.vocab)
		}
	}
	return nil
}

// Close unmaps the file. Slices previously returned by the File are copies
// and stay valid.
func (f *File) Close() error {
	if f.data == nil {
		return nil
	}
	err := syscall.Munmap(f.data)
	f.data, f.ids, f.offs = nil, nil, nil
	if err != nil {
		return fmt.Errorf("dataset: munmap %s: %w", f.path, err)
	}
	return nil
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// NumTokens returns the number of token ids in the file.
func (f *File) NumTokens() int64 { return f.n }

// NumDocs returns the number of documents.
func (f *File) NumDocs() int { return f.d }

// VocabSize returns the vocabulary size recorded in the header; every id is
// below it.
func (f *File) VocabSize() int { return f.vocab }

// at returns token i.
func (f *File) at(i int64) int32 {
	if f.width == 2 {
		return int32(binary.LittleEndian.Uint16(f.ids[2*i:]))
	}
	return int32(binary.LittleEndian.Uint32(f.ids[4*i:]))
}

// DocBounds returns the token range [lo, hi) of document i.
func (f *File) DocBounds(i int) (lo, hi int64) {
	if i < 0 || i >= f.d {
		panic(fmt.Sprintf("dataset: %s: document %d out of range [0, %d)", f.path, i, f.d))
	}
	return int64(binary.LittleEndian.Uint64(f.offs[8*i:])), int64(binary.LittleEndian.Uint64(f.offs[8*i+8:]))
}

// Doc returns a copy of the ids of document i.
func (f *File) Doc(i int) []int32 {
	lo, hi := f.DocBounds(i)
	return f.AppendTokens(nil, lo, hi)
}

// Tokens returns a copy of the ids in [lo, hi).
func (f *File) Tokens(lo, hi int64) []int32 {
	return f.AppendTokens(make([]int32, 0, hi-lo), lo, hi)
}

// AppendTokens appends the ids in [lo, hi) to dst and returns it; with enough
// capacity in dst it does not allocate.
func (f *File) AppendTokens(dst []int32, lo, hi int64) []int32 {
	if lo < 0 || hi < lo || hi > f.n {
		panic(fmt.Sprintf("dataset: %s: token range [%d, %d) out of [0, %d)", f.path, lo, hi, f.n))
	}
	if f.width == 2 {
		src := f.ids[2*lo : 2*hi]
		for i := 0; i+1 < len(src); i += 2 {
			dst = append(dst, int32(binary.LittleEndian.Uint16(src[i:])))
		}
		return dst
	}
	src := f.ids[4*lo : 4*hi]
	for i := 0; i+3 < len(src); i += 4 {
		dst = append(dst, int32(binary.LittleEndian.Uint32(src[i:])))
	}
	return dst
}

// docStart returns the start offset of document i (i may equal NumDocs).
func (f *File) docStart(i int) int64 {
	return int64(binary.LittleEndian.Uint64(f.offs[8*i:]))
}
