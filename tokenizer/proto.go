package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// This file is a hand-written protobuf (proto2) wire codec for the messages of
// SentencePiece's sentencepiece_model.proto. Scalar fields of TrainerSpec and
// NormalizerSpec are described by struct tags `pb:"NUMBER,KIND"`; the codec
// walks them with reflection (the model file is read once, so speed does not
// matter here). Fields this codec does not know are kept as raw bytes and
// written back after the known ones, which is where a C++ protobuf writer puts
// them, so a file written by spm_train round-trips byte for byte.

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// wireError is a decoding error at a byte offset of the whole file.
type wireError struct {
	off int
	msg string
}

func (e *wireError) Error() string { return fmt.Sprintf("byte %d: %s", e.off, e.msg) }

// wireReader decodes one message; base is the offset of buf[0] in the file,
// so that every error names an absolute byte offset.
type wireReader struct {
	buf  []byte
	pos  int
	base int
	msg  string // message name, for errors
}

func (r *wireReader) errf(off int, format string, args ...any) error {
	return &wireError{off: r.base + off, msg: r.msg + ": " + fmt.Sprintf(format, args...)}
}

func (r *wireReader) done() bool { return r.pos >= len(r.buf) }

func (r *wireReader) varint() (uint64, error) {
	start := r.pos
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if r.pos >= len(r.buf) {
			return 0, r.errf(start, "truncated varint: expected more bytes, file ends")
		}
		if shift >= 64 {
			return 0, r.errf(start, "varint longer than 10 bytes")
		}
		b := r.buf[r.pos]
		r.pos++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
}

// key reads a field key and returns the field number, wire type and the
// offset where the key started.
func (r *wireReader) key() (num int, wt int, start int, err error) {
	start = r.pos
	k, err := r.varint()
	if err != nil {
		return 0, 0, start, err
	}
	num, wt = int(k>>3), int(k&7)
	if num == 0 || k>>3 > math.MaxInt32 {
		return 0, 0, start, r.errf(start, "invalid field number %d: expected 1..2^29-1", k>>3)
	}
	switch wt {
	case wireVarint, wireI64, wireLen, wireI32:
	default:
		return 0, 0, start, r.errf(start, "field %d has wire type %d: expected 0 (varint), 1 (64-bit), 2 (length-delimited) or 5 (32-bit)", num, wt)
	}
	return num, wt, start, nil
}

// bytes reads a length-delimited payload.
func (r *wireReader) bytes() ([]byte, int, error) {
	start := r.pos
	n, err := r.varint()
	if err != nil {
		return nil, 0, err
	}
	if n > uint64(len(r.buf)-r.pos) {
		return nil, 0, r.errf(start, "length %d runs past the end of the data (%d bytes left)", n, len(r.buf)-r.pos)
	}
	off := r.pos
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, off, nil
}

func (r *wireReader) fixed32() (uint32, error) {
	if len(r.buf)-r.pos < 4 {
		return 0, r.errf(r.pos, "truncated 32-bit value: expected 4 bytes, %d left", len(r.buf)-r.pos)
	}
	v := binary.LittleEndian.Uint32(r.buf[r.pos:])
	r.pos += 4
	return v, nil
}

func (r *wireReader) fixed64() (uint64, error) {
	if len(r.buf)-r.pos < 8 {
		return 0, r.errf(r.pos, "truncated 64-bit value: expected 8 bytes, %d left", len(r.buf)-r.pos)
	}
	v := binary.LittleEndian.Uint64(r.buf[r.pos:])
	r.pos += 8
	return v, nil
}

// skip consumes the value of a field of wire type wt and returns the raw
// bytes of key and value (from start), for keeping unknown fields.
func (r *wireReader) skip(wt int, start int) ([]byte, error) {
	var err error
	switch wt {
	case wireVarint:
		_, err = r.varint()
	case wireI64:
		_, err = r.fixed64()
	case wireLen:
		_, _, err = r.bytes()
	case wireI32:
		_, err = r.fixed32()
	}
	if err != nil {
		return nil, err
	}
	return r.buf[start:r.pos], nil
}

func (r *wireReader) expectWire(num, wt, want, start int) error {
	if wt != want {
		return r.errf(start, "field %d has wire type %d: expected %d", num, wt, want)
	}
	return nil
}

// Writing helpers.

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendKey(b []byte, num, wt int) []byte { return appendVarint(b, uint64(num)<<3|uint64(wt)) }

func appendBytesField(b []byte, num int, v []byte) []byte {
	b = appendKey(b, num, wireLen)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendStringField(b []byte, num int, v string) []byte {
	b = appendKey(b, num, wireLen)
	b = appendVarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendFloatField(b []byte, num int, v float32) []byte {
	b = appendKey(b, num, wireI32)
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
}

// Tag-driven codec for flat messages of scalars and repeated strings.

type pbField struct {
	num   int
	kind  string // string, bytes, bool, int32, enum, uint64, float, strings
	index int    // struct field index
}

// pbFields returns the tagged fields of struct type t sorted by number.
func pbFields(t reflect.Type) []pbField {
	var fs []pbField
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("pb")
		if tag == "" {
			continue
		}
		num, kind, _ := strings.Cut(tag, ",")
		n, err := strconv.Atoi(num)
		if err != nil {
			panic("tokenizer: bad pb tag " + tag) // programming error, caught by tests
		}
		fs = append(fs, pbField{num: n, kind: kind, index: i})
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].num < fs[j].num })
	return fs
}

// decodeFlat decodes buf into *msg (a pointer to a struct with pb tags);
// seen receives the numbers of the fields present, unknown the raw bytes of
// fields without a tag.
func decodeFlat(r *wireReader, msg any, seen map[int]bool, unknown *[]byte) error {
	v := reflect.ValueOf(msg).Elem()
	byNum := map[int]pbField{}
	for _, f := range pbFields(v.Type()) {
		byNum[f.num] = f
	}
	for !r.done() {
		num, wt, start, err := r.key()
		if err != nil {
			return err
		}
		f, ok := byNum[num]
		if !ok {
			raw, err := r.skip(wt, start)
			if err != nil {
				return err
			}
			*unknown = append(*unknown, raw...)
			continue
		}
		fv := v.Field(f.index)
		switch f.kind {
		case "string", "bytes", "strings":
			if err := r.expectWire(num, wt, wireLen, start); err != nil {
				return err
			}
			b, _, err := r.bytes()
			if err != nil {
				return err
			}
			switch f.kind {
			case "string":
				fv.SetString(string(b))
			case "bytes":
				fv.SetBytes(append([]byte(nil), b...))
			default:
				fv.Set(reflect.Append(fv, reflect.ValueOf(string(b))))
			}
		case "bool", "int32", "enum", "uint64":
			if err := r.expectWire(num, wt, wireVarint, start); err != nil {
				return err
			}
			x, err := r.varint()
			if err != nil {
				return err
			}
			switch f.kind {
			case "bool":
				fv.SetBool(x != 0)
			case "uint64":
				fv.SetUint(x)
			default:
				fv.SetInt(int64(int32(x)))
			}
		case "float":
			if err := r.expectWire(num, wt, wireI32, start); err != nil {
				return err
			}
			x, err := r.fixed32()
			if err != nil {
				return err
			}
			fv.SetFloat(float64(math.Float32frombits(x)))
		}
		seen[num] = true
	}
	return nil
}

// encodeFlat appends the fields of *msg that were seen on reading or differ
// from the same field of *def (the proto defaults), then unknown.
func encodeFlat(b []byte, msg, def any, seen map[int]bool, unknown []byte) []byte {
	v := reflect.ValueOf(msg).Elem()
	d := reflect.ValueOf(def).Elem()
	for _, f := range pbFields(v.Type()) {
		fv, dv := v.Field(f.index), d.Field(f.index)
		if f.kind == "strings" {
			for i := 0; i < fv.Len(); i++ {
				b = appendStringField(b, f.num, fv.Index(i).String())
			}
			continue
		}
		if !seen[f.num] && reflect.DeepEqual(fv.Interface(), dv.Interface()) {
			continue
		}
		switch f.kind {
		case "string":
			b = appendStringField(b, f.num, fv.String())
		case "bytes":
			b = appendBytesField(b, f.num, fv.Bytes())
		case "bool":
			b = appendKey(b, f.num, wireVarint)
			if fv.Bool() {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case "int32", "enum":
			b = appendKey(b, f.num, wireVarint)
			b = appendVarint(b, uint64(fv.Int())) // negative: 10 bytes, sign-extended
		case "uint64":
			b = appendKey(b, f.num, wireVarint)
			b = appendVarint(b, fv.Uint())
		case "float":
			b = appendFloatField(b, f.num, float32(fv.Float()))
		}
	}
	return append(b, unknown...)
}

// errNoPieces is returned for data that decodes but holds no pieces.
var errNoPieces = errors.New("no pieces: expected a SentencePiece ModelProto")
