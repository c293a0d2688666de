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
	var b strings.Builder
	var bytes []byte
	bos := true // no visible piece yet
	flush := func() {
		if len(bytes) > 0 {
			m.appendBytes(&b, bytes)
			bytes, bos = bytes[:0], false
		}
	}
	for _, id := range ids {
		if id >= 0 && int(id) < len(m.types) && m.types[id] == Byte {
			if c, ok := pieceByte(m.pieces[id]); ok {
				bytes = append(bytes, c)
				continue
			}
		}
		flush()
		if id < 0 || int(id) >= len(m.pieces) {
			if id == m.maskID {
				continue
			}
			id = m.unkID
		}
		m.appendPiece(&b, m.pieces[id], id, &bos)
	}
	flush()
	return m.denormalize(b.String())
}

// DecodePieces returns the text of a sequence of pieces as spm_decode
// --input_format=piece does. A piece that is not in the vocabulary is
// copied as is (with U+2581 left unchanged, as SentencePiece does for
// unknown pieces).
func (m *Model) DecodePieces(pieces []string) string {
	var b strings.Builder
	var bytes []byte
	bos := true // no visible piece yet
	flush := func() {
		if len(bytes) > 0 {
			m.appendBytes(&b, bytes)
			bytes, bos = bytes[:0], false
		}
	}
	for _, p := range pieces {
		id := m.PieceToID(p)
		if m.types[id] == Byte {
			if c, ok := pieceByte(p); ok {
				bytes = append(bytes, c)
				continue
			}
		}
		flush()
		m.appendPiece(&b, p, id, &bos)
	}
	flush()
	return m.denormalize(b.String())
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
