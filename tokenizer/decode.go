package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode returns the text of a sequence of ids as spm_decode does: control
// pieces vanish, U+2581 becomes a space (the leading one of the text is
// dropped), <unk> becomes the unknown surface (" ⁇ " by default), and runs
// of <0xXX> byte pieces become their UTF-8 text, each invalid byte U+FFFD.
// Ids out of range decode as <unk>; MaskID() decodes to nothing.
func (m *Model) Decode(ids []int32) string {
	d := decoder{m: m, bos: true}
	for _, id := range ids {
		if id < 0 || int(id) >= len(m.pieces) {
			if id == m.maskID {
				continue
			}
			id = m.unkID
		}
		d.add(m.pieces[id], id)
	}
	return d.text()
}

// DecodePieces returns the text of a sequence of pieces as spm_decode
// --input_format=piece does. A piece that is not in the vocabulary is
// copied as is (with U+2581 left unchanged, as SentencePiece does for
// unknown pieces).
func (m *Model) DecodePieces(pieces []string) string {
	d := decoder{m: m, bos: true}
	for _, p := range pieces {
		d.add(p, m.PieceToID(p))
	}
	return d.text()
}

// decoder accumulates the text of a sequence of pieces: runs of byte
// pieces become their UTF-8 text (each invalid byte U+FFFD), every other
// piece its surface (appendPiece).
type decoder struct {
	m     *Model
	b     strings.Builder
	bytes []byte // the pending run of byte pieces
	bos   bool   // no visible piece yet
}

// add appends piece, whose id is id (the unknown piece's for a piece that
// is not in the vocabulary).
func (d *decoder) add(piece string, id int32) {
	if d.m.types[id] == Byte {
		if c, ok := pieceByte(piece); ok {
			d.bytes = append(d.bytes, c)
			return
		}
	}
	d.flush()
	d.m.appendPiece(&d.b, piece, id, &d.bos)
}

// flush appends the pending run of byte pieces.
func (d *decoder) flush() {
	if len(d.bytes) > 0 {
		d.m.appendBytes(&d.b, d.bytes)
		d.bytes, d.bos = d.bytes[:0], false
	}
}

// text returns the decoded text, denormalized.
func (d *decoder) text() string {
	d.flush()
	return d.m.denormalize(d.b.String())
}

func (m *Model) denormalize(s string) string {
	if m.denorm == nil {
		return s
	}
	return m.denorm.Normalize(s)
}

// appendPiece appends the surface of one non-byte piece. *bos is true
// until the first visible piece.
//
// A leading U+2581 is dropped as spm_decode 0.1.97 drops it (measured):
// with remove_extra_whitespaces, from every piece while the text is still
// empty; otherwise, with add_dummy_prefix, from the first visible piece
// only; with neither, never. treat_whitespace_as_suffix makes no
// difference.
func (m *Model) appendPiece(b *strings.Builder, piece string, id int32, bos *bool) {
	switch m.types[id] {
	case Control:
		return
	case Unknown:
		*bos = false
		if piece == m.pieces[id] {
			b.WriteString(m.unkSurface)
		} else {
			b.WriteString(piece) // an unknown piece is kept verbatim
		}
		return
	}
	if (m.decRemoveExtra && b.Len() == 0) || (!m.decRemoveExtra && m.decDummyPrefix && *bos) {
		piece = strings.TrimPrefix(piece, spaceSymbol)
	}
	*bos = false
	for {
		i := strings.Index(piece, spaceSymbol)
		if i < 0 {
			b.WriteString(piece)
			return
		}
		b.WriteString(piece[:i])
		b.WriteByte(' ')
		piece = piece[i+len(spaceSymbol):]
	}
}

// appendBytes appends the text of a run of byte pieces: each valid UTF-8
// character as itself, each invalid byte as U+FFFD.
func (m *Model) appendBytes(b *strings.Builder, bytes []byte) {
	for len(bytes) > 0 {
		r, n := utf8.DecodeRune(bytes)
		if r == utf8.RuneError && n <= 1 {
			b.WriteString(replacementChar)
			bytes = bytes[1:]
			continue
		}
		b.Write(bytes[:n])
		bytes = bytes[n:]
	}
}

// pieceByte parses a byte piece "<0xXX>" (upper-case hex).
func pieceByte(p string) (byte, bool) {
	if len(p) != 6 || p[:3] != "<0x" || p[5] != '>' {
		return 0, false
	}
	hex := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	hi, ok1 := hex(p[3])
	lo, ok2 := hex(p[4])
	return hi<<4 | lo, ok1 && ok2
}
