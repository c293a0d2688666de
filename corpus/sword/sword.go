package sword

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"lethe/corpus"
)

// ReadZText reads the zText module in dir (the directory holding ot.bzs,
// ot.bzv, ot.bzz and/or nt.bzs, nt.bzv, nt.bzz) and returns one document per
// chapter, one line per verse, Old Testament first.
func ReadZText(dir string) ([][]string, error) {
	var docs [][]string
	found := false
	for _, t := range []string{"ot", "nt"} {
		base := filepath.Join(dir, t)
		if _, err := os.Stat(base + ".bzv"); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		found = true
		d, err := readTestament(base)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	if !found {
		return nil, fmt.Errorf("sword: %s: no ot.bzv or nt.bzv: expected a zText module directory", dir)
	}
	return docs, nil
}

// block is one entry of a .bzs block index.
type block struct {
	offset, compressed, size uint32
	data                     []byte // uncompressed, once read
}

// readTestament reads base.bzs, base.bzv and base.bzz.
func readTestament(base string) ([][]string, error) {
	bzs, err := os.ReadFile(base + ".bzs")
	if err != nil {
		return nil, fmt.Errorf("sword: %w", err)
	}
	bzv, err := os.ReadFile(base + ".bzv")
	if err != nil {
		return nil, fmt.Errorf("sword: %w", err)
	}
	bzz, err := os.ReadFile(base + ".bzz")
	if err != nil {
		return nil, fmt.Errorf("sword: %w", err)
	}
	if len(bzs)%12 != 0 {
		return nil, fmt.Errorf("sword: %s.bzs: size %d is not a multiple of 12: expected 12-byte block entries", base, len(bzs))
	}
	if len(bzv)%10 != 0 {
		return nil, fmt.Errorf("sword: %s.bzv: size %d is not a multiple of 10: expected 10-byte verse entries", base, len(bzv))
	}
	blocks := make([]block, len(bzs)/12)
	for i := range blocks {
		e := bzs[i*12:]
		b := block{
			offset:     binary.LittleEndian.Uint32(e),
			compressed: binary.LittleEndian.Uint32(e[4:]),
			size:       binary.LittleEndian.Uint32(e[8:]),
		}
		if uint64(b.offset)+uint64(b.compressed) > uint64(len(bzz)) {
			return nil, fmt.Errorf("sword: %s.bzs: byte offset %d: block %d spans bytes %d..%d of %s.bzz, which has %d bytes",
				base, i*12, i, b.offset, uint64(b.offset)+uint64(b.compressed), base, len(bzz))
		}
		blocks[i] = b
	}

	var (
		docs [][]string
		doc  []string
	)
	flush := func() {
		if len(doc) > 0 {
			docs = append(docs, doc)
			doc = nil
		}
	}
	for i := 0; i < len(bzv)/10; i++ {
		e := bzv[i*10:]
		bi := binary.LittleEndian.Uint32(e)
		start := binary.LittleEndian.Uint32(e[4:])
		size := binary.LittleEndian.Uint16(e[8:])
		if size == 0 {
			continue // an empty entry: a heading or a verse this module lacks
		}
		if int(bi) >= len(blocks) {
			return nil, fmt.Errorf("sword: %s.bzv: byte offset %d: entry %d names block %d, but %s.bzs has %d blocks",
				base, i*10, i, bi, base, len(blocks))
		}
		b := &blocks[bi]
		if b.data == nil {
			if b.data, err = inflate(bzz[b.offset : b.offset+b.compressed]); err != nil {
				return nil, fmt.Errorf("sword: %s.bzz: byte offset %d: block %d: %w", base, b.offset, bi, err)
			}
			if uint32(len(b.data)) != b.size {
				return nil, fmt.Errorf("sword: %s.bzz: byte offset %d: block %d inflates to %d bytes, %s.bzs says %d",
					base, b.offset, bi, len(b.data), base, b.size)
			}
		}
		if uint64(start)+uint64(size) > uint64(len(b.data)) {
			return nil, fmt.Errorf("sword: %s.bzv: byte offset %d: entry %d spans bytes %d..%d of block %d, which has %d",
				base, i*10, i, start, uint64(start)+uint64(size), bi, len(b.data))
		}
		raw := b.data[start : start+uint32(size)]
		if !utf8.Valid(raw) {
			bad := firstInvalid(raw)
			return nil, &corpus.FormatError{
				File:   base + ".bzz",
				Offset: int64(b.offset),
				Err:    corpus.ErrInvalidUTF8,
				Detail: fmt.Sprintf("block %d, byte %d of the inflated block (entry %d): expected UTF-8 text (Encoding=Latin-1 module?)",
					bi, int(start)+bad, i),
			}
		}
		text, heading := verseText(string(raw))
		if heading {
			flush()
			continue
		}
		if text != "" {
			doc = append(doc, text)
		}
	}
	flush()
	return docs, nil
}

// inflate decompresses one zlib block.
func inflate(p []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, fmt.Errorf("expected a zlib stream: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(MaxBlockBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("expected a zlib stream: %w", err)
	}
	if len(out) > MaxBlockBytes {
		return nil, fmt.Errorf("a zlib block inflates to more than %d bytes (sword.MaxBlockBytes): not a SWORD text block", MaxBlockBytes)
	}
	return out, nil
}

// MaxBlockBytes bounds what one compressed block may inflate to (SWORD
// blocks hold a few kilobytes of verses), so that a hostile module cannot
// make the build allocate gigabytes.
var MaxBlockBytes = 16 << 20

// firstInvalid returns the offset of the first invalid UTF-8 sequence in p.
func firstInvalid(p []byte) int {
	off := 0
	for off < len(p) {
		r, n := utf8.DecodeRune(p[off:])
		if r == utf8.RuneError && n <= 1 {
			return off
		}
		off += n
	}
	return off
}

// verseText strips the markup of one verse-index entry. heading reports that
// the entry opens a book or a chapter (it holds a book <div type="book"> or a
// <chapter> start milestone); its text is then not returned.
func verseText(s string) (text string, heading bool) {
	var (
		out     strings.Builder
		skip    []string // names of the open elements whose content is dropped
		dropped bool     // an element was just dropped: it may have stood between two words
	)
	for s != "" {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			lt = len(s)
		}
		if len(skip) == 0 && lt > 0 {
			if r, _ := utf8.DecodeRuneInString(s); dropped && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				out.WriteByte(' ') // "God<note>...</note>created"
			}
			dropped = false
			out.WriteString(s[:lt])
		}
		s = s[lt:]
		if s == "" {
			break
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break // a truncated tag: drop it
		}
		tag := s[1:gt]
		s = s[gt+1:]
		closing := strings.HasPrefix(tag, "/")
		selfClosing := strings.HasSuffix(tag, "/")
		tag = strings.TrimSuffix(strings.TrimPrefix(tag, "/"), "/")
		name, attrs, _ := strings.Cut(tag, " ")
		if breaks[name] {
			out.WriteByte(' ')
		}
		switch {
		case closing || name == "Rf": // GBF ends a footnote with <Rf>
			if name == "Rf" {
				name = "RF"
			}
			if n := len(skip); n > 0 && skip[n-1] == name {
				skip = skip[:n-1]
				dropped = len(skip) == 0
			}
		case name == "chapter" && isStart(attrs):
			heading = true
		case name == "div" && attr(attrs, "type") == "book" && isStart(attrs):
			heading = true
		case selfClosing:
		case name == "note", name == "RF",
			name == "title" && attr(attrs, "canonical") != "true":
			skip = append(skip, name)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(out.String())), " "), heading
}

// breaks holds the elements that separate words (line, paragraph and
// division marks of OSIS, ThML and GBF); other tags are inline and may sit
// right against punctuation ("<w>earth</w>.").
var breaks = map[string]bool{
	"lb": true, "l": true, "lg": true, "div": true, "p": true, "br": true, "item": true, "list": true,
	"title": true, "chapter": true, "verse": true, "milestone": true, "speaker": true, "CL": true, "CM": true,
}

// isStart reports whether the attributes of an OSIS element mark its start:
// a start milestone (sID) or a plain element (neither sID nor eID).
func isStart(attrs string) bool {
	return attr(attrs, "eID") == ""
}

// attr returns the value of attribute key in a tag's attribute text, or "".
func attr(attrs, key string) string {
	for attrs != "" {
		attrs = strings.TrimLeft(attrs, " \t\r\n")
		eq := strings.IndexByte(attrs, '=')
		if eq < 0 || eq+1 >= len(attrs) {
			return ""
		}
		k := strings.TrimSpace(attrs[:eq])
		q := attrs[eq+1]
		rest := attrs[eq+2:]
		var v string
		if q == '"' || q == '\'' {
			end := strings.IndexByte(rest, q)
			if end < 0 {
				return ""
			}
			v, attrs = rest[:end], rest[end+1:]
		} else {
			v, attrs, _ = strings.Cut(attrs[eq+1:], " ")
		}
		if k == key {
			return v
		}
	}
	return ""
}
