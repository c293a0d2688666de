package tokenizer

// Token offsets: for every id, the bytes of the original (unnormalised) text
// that produced it, for question answering (answer spans are byte ranges of
// the raw context) and for anything else that must point back into the
// input.
//
// The normaliser is run again with a record, per output byte, of the input
// bytes [from, to) it came from: the whole input chunk that the charsmap (or
// a user-defined piece, or a plain character) consumed to produce it. A
// piece's span is then [from of its first byte, to of its last byte).
//
//   - Whitespace the normaliser keeps (escaped as U+2581) maps to the input
//     whitespace character it came from, so a piece "▁word" spans the space
//     before the word as well.
//   - The dummy-prefix U+2581 comes from no input character: it maps to the
//     empty span at the first character kept (after leading whitespace is
//     removed); with treat_whitespace_as_suffix the dummy suffix maps to the
//     empty span at the end of the last character kept.
//   - Input characters that normalise to nothing (for example control
//     characters under nmt_nfkc) are given to the next output byte, or, at
//     the end of the text, to the last one, so that every non-whitespace
//     character lies inside some piece's span. Whitespace removed by
//     remove_extra_whitespaces belongs to no piece.

// appendNormalizedOffsets is AppendNormalized that also appends to from and
// to, for every byte it appends to dst, the byte range [from, to) of s that
// produced it. It must produce exactly AppendNormalized's bytes (the tests
// compare them on the test corpora).
func (n *Normalizer) appendNormalizedOffsets(dst []byte, from, to []int, s string) ([]byte, []int, []int) {
	pos := 0
	if n.removeExtraWhitespace {
		for pos < len(s) {
			p, l := n.prefix(s[pos:])
			if p != " " {
				break
			}
			pos += l
		}
	}
	if pos == len(s) {
		return dst, from, to
	}
	first := pos
	start := len(dst)
	sp := " "
	if n.escapeWhitespace {
		sp = spaceSymbol
	}
	emit := func(b string, a, e int) {
		for i := 0; i < len(b); i++ {
			dst = append(dst, b[i])
			from = append(from, a)
			to = append(to, e)
		}
	}
	if !n.treatWSAsSuffix && n.addDummyPrefix {
		emit(sp, first, first)
	}
	prevSpace := n.removeExtraWhitespace
	pending, pendingEnd := -1, -1 // input dropped by the charsmap, not yet given to an output byte
	for pos < len(s) {
		p, l := n.prefix(s[pos:])
		dropped := p == ""
		if prevSpace {
			for len(p) > 0 && p[0] == ' ' {
				p = p[1:]
			}
		}
		if len(p) > 0 {
			a := pos
			if pending >= 0 {
				a, pending = pending, -1
			}
			for i := 0; i < len(p); i++ {
				if n.escapeWhitespace && p[i] == ' ' {
					emit(spaceSymbol, a, pos+l)
				} else {
					emit(p[i:i+1], a, pos+l)
				}
				a = pos // only the first byte takes the dropped input
			}
			prevSpace = p[len(p)-1] == ' '
		} else if dropped {
			if pending < 0 {
				pending = pos
			}
			pendingEnd = pos + l
		}
		pos += l
		if !n.removeExtraWhitespace {
			prevSpace = false
		}
	}
	if n.removeExtraWhitespace {
		for len(dst)-start >= len(sp) && string(dst[len(dst)-len(sp):]) == sp {
			dst = dst[:len(dst)-len(sp)]
			from, to = from[:len(dst)], to[:len(dst)]
		}
	}
	if pending >= 0 && len(dst) > start {
		to[len(to)-1] = max(to[len(to)-1], pendingEnd)
	}
	if n.treatWSAsSuffix && n.addDummyPrefix {
		end := first
		if len(dst) > start {
			end = to[len(to)-1]
		}
		emit(sp, end, end)
	}
	return dst, from, to
}

// AppendIDsWithOffsets appends the ids of text's pieces to ids, exactly as
// AppendIDs does, and to spans, for every id appended, the byte span
// [start, end) of text that produced it. Spans are non-decreasing (in both
// start and end), lie within text, and together cover every character of
// text that is not whitespace (a character the normaliser turns into spaces,
// such as U+200B under nmt_nfkc, counts as whitespace); a piece that comes from no input character (the dummy
// prefix U+2581 alone) has an empty span. With byte fallback, each <0xXX>
// id gets the span of the input character its byte came from; a run of
// unknown characters merged into one UnkID spans the whole run.
func (m *Model) AppendIDsWithOffsets(ids []int32, spans [][2]int, text string) ([]int32, [][2]int) {
	s := m.scratch.Get().(*encodeScratch)
	// The per-byte offsets are allocated per call (about 16 bytes per
	// normalised byte), which keeps encodeScratch as AppendIDs uses it.
	var from, to []int
	s.norm, from, to = m.norm.appendNormalizedOffsets(s.norm[:0], make([]int, 0, len(text)+8), make([]int, 0, len(text)+8), text)
	m.viterbi(s)
	prevUnk := false
	for _, g := range s.segs {
		a, e := from[g.start], to[g.end-1]
		if g.id == m.unkID {
			if m.byteFallback {
				for i, b := range s.norm[g.start:g.end] {
					k := int(g.start) + i
					ids = append(ids, m.byteIDs[b])
					spans = append(spans, [2]int{from[k], to[k]})
				}
				prevUnk = true
				continue
			}
			if prevUnk {
				spans[len(spans)-1][1] = e // merged into the previous unknown piece
				continue
			}
			prevUnk = true
		} else {
			prevUnk = false
		}
		ids = append(ids, g.id)
		spans = append(spans, [2]int{a, e})
	}
	m.scratch.Put(s)
	return ids, spans
}
