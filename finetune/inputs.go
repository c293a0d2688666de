package finetune

// encodeClassification writes one example into row (len T = Spec.MaxLength)
// as Hugging Face's RoBERTa tokenizer does: "<s> A </s>" for a single text,
// "<s> A </s></s> B </s>" for a pair, the longer text truncated first
// (truncation="longest_first") until it fits, then <pad> to the end. When
// both texts must be cut and one token is left over, it goes to the text
// that was longer (to B when they were equally long), as the fast tokenizer
// of Hugging Face does. a and b are scratch buffers for the two texts' ids;
// the grown buffers are returned for reuse.
func (m *Model) encodeClassification(row, a, b []int32, text, pair string, hasPair bool) ([]int32, []int32) {
	T := len(row)
	a = m.Tok.AppendIDs(a[:0], text)
	b = b[:0]
	room := T - 2
	if hasPair {
		b = m.Tok.AppendIDs(b, pair)
		room = T - 4
	}
	la, lb := len(a), len(b)
	aLonger := la > lb
	for la+lb > room {
		if la > lb || (la == lb && !aLonger) {
			la--
		} else {
			lb--
		}
	}
	bos, eos, pad := m.Tok.BosID(), m.Tok.EosID(), m.Tok.PadID()
	n := 0
	row[n] = bos
	n++
	n += copy(row[n:], a[:la])
	row[n] = eos
	n++
	if hasPair {
		row[n] = eos
		n++
		n += copy(row[n:], b[:lb])
		row[n] = eos
		n++
	}
	for ; n < T; n++ {
		row[n] = pad
	}
	return a, b
}
