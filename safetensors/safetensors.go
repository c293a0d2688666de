// Package safetensors reads and writes the Hugging Face safetensors format, so that Lethe checkpoints load
// in PyTorch/transformers and PyTorch tensors load in Lethe.
//
// Layout of a file: an 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON
// {"__metadata__": {string: string}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// (padded with spaces to a multiple of 8 bytes), then the data section. Offsets are relative to the start of
// the data section; tensors must tile it exactly (no gaps, no overlaps, no trailing bytes). Tensor data is
// little-endian and row-major.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Supported element types. F32, F64, I32 and I64 have typed accessors; the other dtypes of the format are
// carried as raw bytes so that files holding them can still be read and rewritten.
const (
	F32  = "F32"
	F64  = "F64"
	I32  = "I32"
	I64  = "I64"
	F16  = "F16"
	BF16 = "BF16"
	I8   = "I8"
	U8   = "U8"
	I16  = "I16"
	U16  = "U16"
	U32  = "U32"
	U64  = "U64"
	BOOL = "BOOL"
)

// MaxHeaderSize bounds the JSON header (the reference implementation uses the same 100 MB limit), so that a
// corrupt length field cannot make Read allocate absurd amounts of memory.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding free-form string metadata.
const metadataKey = "__metadata__"

// DTypeSize returns the size in bytes of one element of dtype, or 0 if the dtype is unknown.
func DTypeSize(dtype string) int {
	switch dtype {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, BOOL:
		return 1
	}
	return 0
}

// Tensor is one named tensor: its dtype (a safetensors dtype name such as "F32"), its shape, and its raw
// little-endian row-major bytes.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// Numel returns the number of elements implied by the shape (1 for a scalar with empty shape).
func (t *Tensor) Numel() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// numelChecked returns the product of shape, rejecting negative dimensions and overflow.
func numelChecked(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > math.MaxInt/8/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// check verifies that the tensor is self-consistent: known dtype, valid name, data length matching the shape.
func (t *Tensor) check() error {
	if t.Name == "" {
		return errors.New("tensor with empty name")
	}
	if t.Name == metadataKey {
		return fmt.Errorf("tensor name %q is reserved", t.Name)
	}
	size := DTypeSize(t.DType)
	if size == 0 {
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n, err := numelChecked(t.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("tensor %q: %d bytes of data for shape %v of %s (want %d)", t.Name, len(t.Data), t.Shape, t.DType, n*size)
	}
	return nil
}

// element is the set of Go element types with typed accessors.
type element interface {
	float32 | float64 | int32 | int64
}

// dtypeOf returns the safetensors dtype of T.
func dtypeOf[T element]() string {
	var z T
	switch any(z).(type) {
	case float32:
		return F32
	case float64:
		return F64
	case int32:
		return I32
	default:
		return I64
	}
}

// encode builds a tensor from typed values, copying them into little-endian bytes.
func encode[T element](name string, shape []int, data []T) (Tensor, error) {
	n, err := numelChecked(shape)
	if err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	if n != len(data) {
		return Tensor{}, fmt.Errorf("tensor %q: %d values for shape %v (want %d)", name, len(data), shape, n)
	}
	dt := dtypeOf[T]()
	size := DTypeSize(dt)
	buf := make([]byte, n*size)
	for i, v := range data {
		switch x := any(v).(type) {
		case float32:
			binary.LittleEndian.PutUint32(buf[i*4:], math.Float32bits(x))
		case float64:
			binary.LittleEndian.PutUint64(buf[i*8:], math.Float64bits(x))
		case int32:
			binary.LittleEndian.PutUint32(buf[i*4:], uint32(x))
		case int64:
			binary.LittleEndian.PutUint64(buf[i*8:], uint64(x))
		}
	}
	return Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...), Data: buf}, nil
}

// decodeInto copies the tensor's values into dst, which must have exactly Numel elements and the matching dtype.
func decodeInto[T element](t *Tensor, dst []T) error {
	dt := dtypeOf[T]()
	if t.DType != dt {
		return fmt.Errorf("tensor %q: dtype %s, want %s", t.Name, t.DType, dt)
	}
	size := DTypeSize(dt)
	if len(t.Data)%size != 0 || len(t.Data)/size != len(dst) {
		return fmt.Errorf("tensor %q: holds %d bytes of %s, destination has %d elements", t.Name, len(t.Data), dt, len(dst))
	}
	b := t.Data
	for i := range dst {
		switch p := any(&dst[i]).(type) {
		case *float32:
			*p = math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
		case *float64:
			*p = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
		case *int32:
			*p = int32(binary.LittleEndian.Uint32(b[i*4:]))
		case *int64:
			*p = int64(binary.LittleEndian.Uint64(b[i*8:]))
		}
	}
	return nil
}

// FromFloat32 makes an F32 tensor from values (copied); len(data) must equal the product of shape.
func FromFloat32(name string, shape []int, data []float32) (Tensor, error) {
	return encode(name, shape, data)
}

// FromFloat64 makes an F64 tensor from values (copied); len(data) must equal the product of shape.
func FromFloat64(name string, shape []int, data []float64) (Tensor, error) {
	return encode(name, shape, data)
}

// FromInt32 makes an I32 tensor from values (copied); len(data) must equal the product of shape.
func FromInt32(name string, shape []int, data []int32) (Tensor, error) {
	return encode(name, shape, data)
}

// FromInt64 makes an I64 tensor from values (copied); len(data) must equal the product of shape.
func FromInt64(name string, shape []int, data []int64) (Tensor, error) {
	return encode(name, shape, data)
}

// Float32Into copies an F32 tensor into dst (len(dst) must equal Numel) without allocating.
func (t *Tensor) Float32Into(dst []float32) error { return decodeInto(t, dst) }

// Float64Into copies an F64 tensor into dst (len(dst) must equal Numel) without allocating.
func (t *Tensor) Float64Into(dst []float64) error { return decodeInto(t, dst) }

// Int32Into copies an I32 tensor into dst (len(dst) must equal Numel) without allocating.
func (t *Tensor) Int32Into(dst []int32) error { return decodeInto(t, dst) }

// Int64Into copies an I64 tensor into dst (len(dst) must equal Numel) without allocating.
func (t *Tensor) Int64Into(dst []int64) error { return decodeInto(t, dst) }

// Float32 returns the values of an F32 tensor in a new slice.
func (t *Tensor) Float32() ([]float32, error) {
	dst := make([]float32, len(t.Data)/4)
	return dst, t.Float32Into(dst)
}

// Float64 returns the values of an F64 tensor in a new slice.
func (t *Tensor) Float64() ([]float64, error) {
	dst := make([]float64, len(t.Data)/8)
	return dst, t.Float64Into(dst)
}

// Int32 returns the values of an I32 tensor in a new slice.
func (t *Tensor) Int32() ([]int32, error) {
	dst := make([]int32, len(t.Data)/4)
	return dst, t.Int32Into(dst)
}

// Int64 returns the values of an I64 tensor in a new slice.
func (t *Tensor) Int64() ([]int64, error) {
	dst := make([]int64, len(t.Data)/8)
	return dst, t.Int64Into(dst)
}

// File is a parsed safetensors file: its metadata and its tensors, in the order of their data offsets.
// Tensor data slices share one buffer holding the whole file.
type File struct {
	Path     string
	Metadata map[string]string
	Tensors  []Tensor
	index    map[string]int
}

// Get returns the tensor called name, or false if the file has none.
func (f *File) Get(name string) (*Tensor, bool) {
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

// Read reads and strictly validates the safetensors file at path. Every error names the file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return Parse(path, data)
}

// headerEntry is one tensor's entry in the JSON header.
type headerEntry struct {
	DType       *string `json:"dtype"`
	Shape       *[]int  `json:"shape"`
	DataOffsets *[]int  `json:"data_offsets"`
}

// Parse validates and decodes a whole safetensors file held in data; name is used in error messages only.
// The returned tensors alias data.
func Parse(name string, data []byte) (*File, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: %s", name, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return nil, fail("truncated: %d bytes, shorter than the 8-byte header length", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data[:8])
	if hlen > MaxHeaderSize {
		return nil, fail("header length %d exceeds the limit of %d bytes", hlen, MaxHeaderSize)
	}
	if hlen > uint64(len(data)-8) {
		return nil, fail("truncated: header length %d exceeds the %d bytes after the length field", hlen, len(data)-8)
	}
	header := data[8 : 8+hlen]
	body := data[8+hlen:]
	if len(header) == 0 || header[0] != '{' {
		return nil, fail("invalid header: does not start with '{'")
	}
	f := &File{Path: name, index: map[string]int{}}
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fail("invalid JSON header: %v", err)
	}
	seen := map[string]bool{}
	type span struct {
		begin, end int
		i          int
	}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("invalid JSON header: %v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fail("invalid header: duplicate key %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fail("invalid %s (must map strings to strings): %v", metadataKey, err)
			}
			f.Metadata = md
			continue
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fail("invalid JSON header entry for tensor %q: %v", key, err)
		}
		if key == "" {
			return nil, fail("tensor with empty name")
		}
		if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
			return nil, fail("tensor %q: header entry lacks dtype, shape or data_offsets", key)
		}
		size := DTypeSize(*e.DType)
		if size == 0 {
			return nil, fail("tensor %q: unknown dtype %q", key, *e.DType)
		}
		n, err := numelChecked(*e.Shape)
		if err != nil {
			return nil, fail("tensor %q: %v", key, err)
		}
		offs := *e.DataOffsets
		if len(offs) != 2 {
			return nil, fail("tensor %q: data_offsets has %d values, want 2", key, len(offs))
		}
		begin, end := offs[0], offs[1]
		if begin < 0 || end < begin {
			return nil, fail("tensor %q: invalid data_offsets [%d, %d]", key, begin, end)
		}
		if end > len(body) {
			return nil, fail("tensor %q: data_offsets [%d, %d] out of range of the %d-byte data section (truncated file?)", key, begin, end, len(body))
		}
		if end-begin != n*size {
			return nil, fail("tensor %q: shape %v of %s needs %d bytes but data_offsets [%d, %d] span %d", key, *e.Shape, *e.DType, n*size, begin, end, end-begin)
		}
		spans = append(spans, span{begin, end, len(f.Tensors)})
		f.Tensors = append(f.Tensors, Tensor{Name: key, DType: *e.DType, Shape: *e.Shape, Data: body[begin:end:end]})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fail("invalid JSON header: %v", err)
	}
	if rest := strings.TrimRight(string(header[dec.InputOffset():]), " \t\r\n"); rest != "" {
		return nil, fail("invalid header: trailing data after the JSON object")
	}
	sort.SliceStable(spans, func(a, b int) bool {
		if spans[a].begin != spans[b].begin {
			return spans[a].begin < spans[b].begin
		}
		return spans[a].end < spans[b].end
	})
	pos := 0
	ordered := make([]Tensor, len(spans))
	for k, s := range spans {
		t := f.Tensors[s.i]
		if s.begin < pos {
			return nil, fail("tensor %q: data_offsets [%d, %d] overlap the previous tensor (which ends at %d)", t.Name, s.begin, s.end, pos)
		}
		if s.begin > pos {
			return nil, fail("tensor %q: gap in the data section between %d and %d", t.Name, pos, s.begin)
		}
		pos = s.end
		ordered[k] = t
	}
	if pos != len(body) {
		return nil, fail("tensors cover %d bytes of the %d-byte data section", pos, len(body))
	}
	f.Tensors = ordered
	for i, t := range f.Tensors {
		f.index[t.Name] = i
	}
	return f, nil
}

// Encode writes tensors and metadata in safetensors format to w. Tensors are laid out in sorted-name order;
// the header is padded with spaces to a multiple of 8 bytes so that the data section starts 8-aligned.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	sorted := make([]*Tensor, len(tensors))
	for i := range tensors {
		if err := tensors[i].check(); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
		sorted[i] = &tensors[i]
	}
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Name == sorted[i-1].Name {
			return fmt.Errorf("safetensors: duplicate tensor name %q", sorted[i].Name)
		}
	}
	var h bytes.Buffer
	h.WriteByte('{')
	first := true
	writeKey := func(k string) {
		if !first {
			h.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		h.Write(kb)
		h.WriteByte(':')
	}
	if len(metadata) > 0 {
		writeKey(metadataKey)
		mb, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("safetensors: metadata: %w", err)
		}
		h.Write(mb)
	}
	off := 0
	for _, t := range sorted {
		writeKey(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		eb, err := json.Marshal(struct {
			DType       string `json:"dtype"`
			Shape       []int  `json:"shape"`
			DataOffsets [2]int `json:"data_offsets"`
		}{t.DType, shape, [2]int{off, off + len(t.Data)}})
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		h.Write(eb)
		off += len(t.Data)
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(h.Len()))
	if _, err := w.Write(lenb[:]); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for _, t := range sorted {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: %w", err)
		}
	}
	return nil
}

// Write writes a safetensors file atomically: into a temporary file in the same directory, fsynced, then
// renamed over path, and the directory fsynced, so that a crash leaves either the old file or the new one.
func Write(path string, tensors []Tensor, metadata map[string]string) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; give it the usual permissions of a data file.
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = Encode(bw, tensors, metadata); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: close %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: rename into %s: %w", path, err)
	}
	if err = SyncDir(dir); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// SyncDir fsyncs a directory so that renames and creations inside it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
