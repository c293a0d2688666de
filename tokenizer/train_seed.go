package tokenizer

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"index/suffixarray"
	"math"
	"slices"
	"sort"
	"unicode"
	"unicode/utf8"
)

// trainScriptTable maps the characters of the alphabet to a Unicode script
// number, with Hiragana, Katakana and U+30FC merged into Han, as
// SentencePiece does when it keeps pieces within one script. Characters of
// the Basic Multilingual Plane are looked up in a dense table.
type trainScriptTable struct {
	bmp   []int16
	other map[rune]int16
}

// newTrainScriptTable computes the script of every character in chars.
func newTrainScriptTable(chars map[rune]int64) trainScriptTable {
	names := make([]string, 0, len(unicode.Scripts))
	for name := range unicode.Scripts {
		names = append(names, name)
	}
	sort.Strings(names)
	id := map[string]int16{}
	for i, name := range names {
		id[name] = int16(i + 1)
	}
	han := id["Han"]
	st := trainScriptTable{bmp: make([]int16, 0x10000), other: map[rune]int16{}}
	for r := range chars {
		s := int16(0) // Unknown
		switch {
		case r == 0x30FC || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			s = han
		default:
			for _, name := range names {
				if unicode.Is(unicode.Scripts[name], r) {
					s = id[name]
					break
				}
			}
		}
		if r < 0x10000 {
			st.bmp[r] = s
		} else {
			st.other[r] = s
		}
	}
	return st
}

// of returns the script number of r (0 for characters outside the table).
func (st *trainScriptTable) of(r rune) int16 {
	if r >= 0 && r < rune(len(st.bmp)) {
		return st.bmp[r]
	}
	return st.other[r]
}

// validPiece reports whether s may be a piece: 1 to maxLen characters, no
// U+2585, U+2581 only at the start, one script, and with splitDigits a digit
// only on its own.
func (t *trainer) validPiece(s []byte) bool {
	n := 0
	prev := int16(-1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		switch r {
		case trainUnkChar, 0, ' ', '\t':
			return false
		case trainWSChar:
			if n > 0 {
				return false
			}
		default:
			if t.opts.SplitDigits && r >= '0' && r <= '9' && len(s) > 1 {
				return false
			}
			sc := t.script.of(r)
			if prev >= 0 && sc != prev {
				return false
			}
			prev = sc
		}
		n++
		i += size
		if n > t.opts.MaxSentencePieceLength {
			return false
		}
	}
	return n > 0
}

// trainPiece is a piece and its score (a count, then a log probability).
type trainPiece struct {
	piece string
	score float64
}

// sortTrainPieces orders pieces by score, highest first, then by piece.
func sortTrainPieces(ps []trainPiece) {
	slices.SortFunc(ps, func(a, b trainPiece) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		if a.piece < b.piece {
			return -1
		}
		if a.piece > b.piece {
			return 1
		}
		return 0
	})
}

// seedPieces returns the seed vocabulary with log-probability scores: every
// character of the alphabet, then the SeedSentencePieceSize substrings with
// the highest frequency x length among those that occur at least twice and
// are right-branching (the internal nodes of the suffix tree), found with a
// suffix array and its LCP array.
func (t *trainer) seedPieces(ctx context.Context) ([]trainPiece, error) {
	var size int
	for _, s := range t.sentences {
		size += len(s) + 1
	}
	if size >= math.MaxInt32 {
		return nil, fmt.Errorf("corpus sample of %d bytes is too large for the suffix array (limit 2 GiB); set --input_sentence_size", size)
	}
	data := make([]byte, 0, size)
	chars := map[string]int64{}
	for _, s := range t.sentences {
		data = append(data, s...)
		data = append(data, 0)
	}
	for r, n := range t.required {
		chars[string(r)] = n
	}
	t.sentences = nil
	t.progress("seed", "suffix array over %d bytes", len(data))
	sa, err := trainSuffixArray(data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.progress("seed", "suffix array done; LCP array")
	lcp := trainLCPArray(data, sa)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.progress("seed", "LCP array done; walking the suffix tree")
	top := t.topSubstrings(data, sa, lcp)
	lcp = nil

	seeds := make([]trainPiece, 0, len(chars)+len(top))
	for c, n := range chars {
		seeds = append(seeds, trainPiece{c, float64(n)})
	}
	sortTrainPieces(seeds)
	subs := make([]trainPiece, 0, len(top))
	for _, h := range top {
		s := string(data[h.off : h.off+h.len])
		if _, ok := chars[s]; ok {
			continue
		}
		subs = append(subs, trainPiece{s, float64(h.score)})
	}
	sortTrainPieces(subs)
	seeds = append(seeds, subs...)
	var sum float64
	for _, p := range seeds {
		sum += p.score
	}
	logSum := math.Log(sum)
	for i := range seeds {
		seeds[i].score = float64(float32(math.Log(seeds[i].score) - logSum))
	}
	t.stats.SeedPieces = len(seeds)
	t.progress("seed", "seed_pieces=%d", len(seeds))
	return seeds, nil
}

// trainSuffixArray returns the suffix array of data. It uses index/suffixarray
// and reads the array back from the index's serialised form (a varint
// length, the data, then chunks holding a varint byte count and uvarint
// entries), checking that a permutation of the right length comes out.
func trainSuffixArray(data []byte) ([]int32, error) {
	idx := suffixarray.New(data)
	sink := &trainSASink{}
	if err := idx.Write(sink); err != nil {
		return nil, fmt.Errorf("suffix array: %w", err)
	}
	if sink.err != nil {
		return nil, fmt.Errorf("suffix array: %w", sink.err)
	}
	if len(sink.sa) != len(data) {
		return nil, fmt.Errorf("suffix array: read back %d entries for %d bytes", len(sink.sa), len(data))
	}
	return sink.sa, nil
}

// trainSASink decodes the output of suffixarray.Index.Write.
type trainSASink struct {
	calls int
	n     int64
	sa    []int32
	err   error
}

// Write implements io.Writer.
func (s *trainSASink) Write(p []byte) (int, error) {
	s.calls++
	switch {
	case s.err != nil:
	case s.calls == 1:
		n, k := binary.Varint(p)
		if k <= 0 || n < 0 || n >= math.MaxInt32 {
			s.err = fmt.Errorf("bad length header")
			break
		}
		s.n = n
		s.sa = make([]int32, 0, n)
	case s.calls == 2:
		// The data itself.
	default:
		if len(p) < binary.MaxVarintLen64 {
			s.err = fmt.Errorf("short chunk of %d bytes", len(p))
			break
		}
		size, k := binary.Varint(p[:binary.MaxVarintLen64])
		if k <= 0 || size < binary.MaxVarintLen64 || size > int64(len(p)) {
			s.err = fmt.Errorf("bad chunk header")
			break
		}
		buf := p[binary.MaxVarintLen64:size]
		for len(buf) > 0 {
			v, k := binary.Uvarint(buf)
			if k <= 0 || v >= uint64(s.n) {
				s.err = fmt.Errorf("bad entry")
				break
			}
			s.sa = append(s.sa, int32(v))
			buf = buf[k:]
		}
	}
	return len(p), nil
}

// trainLCPArray returns plcp, the permuted LCP array: plcp[p] is the length of
// the longest common prefix of the suffix at p and the suffix before it in
// sa order (Kärkkäinen, Manzini and Puglisi's Φ method, linear time).
func trainLCPArray(data []byte, sa []int32) []int32 {
	n := len(data)
	plcp := make([]int32, n)
	if n == 0 {
		return plcp
	}
	plcp[sa[0]] = -1
	for i := 1; i < n; i++ {
		plcp[sa[i]] = sa[i-1]
	}
	h := 0
	for i := 0; i < n; i++ {
		j := int(plcp[i])
		if j < 0 {
			plcp[i] = 0
			h = 0
			continue
		}
		for i+h < n && j+h < n && data[i+h] == data[j+h] {
			h++
		}
		plcp[i] = int32(h)
		if h > 0 {
			h--
		}
	}
	return plcp
}

// trainSeedCand is a candidate substring data[off:off+len] and its score.
type trainSeedCand struct {
	score    int64
	off, len int32
}

// topSubstrings walks the internal nodes of the suffix tree (LCP intervals)
// and keeps the SeedSentencePieceSize valid substrings with the highest
// frequency x length. Nodes are found on bytes; a node counts as the
// character string its depth truncates to at a character boundary, when
// that string still has the node's occurrences (its parent is shallower).
// The suffix array is cut where the LCP is 0 (subtrees of the root) into
// one range per thread, walked in parallel.
func (t *trainer) topSubstrings(data []byte, sa, plcp []int32) []trainSeedCand {
	n := len(sa)
	threads := max(1, t.opts.NumThreads)
	bounds := []int{0}
	for i := 1; i < n && len(bounds) < threads; i++ {
		if plcp[sa[i]] == 0 && i >= len(bounds)*n/threads {
			bounds = append(bounds, i)
		}
	}
	bounds = append(bounds, n)
	heaps := make([]*trainCandHeap, len(bounds)-1)
	trainParallelStrided(len(heaps), func(part int) {
		heaps[part] = t.walkSubstrings(data, sa, plcp, bounds[part], bounds[part+1])
	})
	h := heaps[0]
	for _, o := range heaps[1:] {
		for _, c := range o.items {
			if len(h.items) < h.k || h.better(c, h.items[0]) {
				h.push(c)
			}
		}
	}
	return h.items
}

// walkSubstrings walks the LCP intervals within suffix-array ranks [lo, hi),
// a range that starts and ends at a subtree of the root.
func (t *trainer) walkSubstrings(data []byte, sa, plcp []int32, lo, hi int) *trainCandHeap {
	k := t.opts.SeedSentencePieceSize
	maxLen := t.opts.MaxSentencePieceLength
	maxBytes := 4*maxLen + 3
	h := &trainCandHeap{data: data, k: k}
	type frame struct{ depth, lb int32 }
	stack := []frame{{0, int32(lo)}}
	emit := func(depth, lb, rb, parent int32) {
		if depth > int32(maxBytes) {
			return
		}
		freq := int64(rb - lb)
		if len(h.items) == k && freq*int64(maxLen) < h.items[0].score {
			return
		}
		off := sa[lb]
		d := depth
		for d > parent && d > 0 && int(off+d) < len(data) && !utf8.RuneStart(data[off+d]) {
			d--
		}
		if d <= parent {
			return
		}
		s := data[off : off+d]
		if bytes.IndexByte(s, 0) >= 0 {
			return
		}
		runes := utf8.RuneCount(s)
		if runes <= 1 || runes > maxLen {
			return
		}
		score := freq * int64(runes)
		if len(h.items) == k && !h.better(trainSeedCand{score, off, d}, h.items[0]) {
			return
		}
		if !t.validPiece(s) {
			return
		}
		h.push(trainSeedCand{score, off, d})
	}
	for i := lo + 1; i <= hi; i++ {
		l := int32(0)
		if i < hi {
			l = plcp[sa[i]]
		}
		lb := int32(i - 1)
		for stack[len(stack)-1].depth > l {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			parent := max(stack[len(stack)-1].depth, l)
			emit(top.depth, top.lb, int32(i), parent)
			lb = top.lb
		}
		if stack[len(stack)-1].depth < l {
			stack = append(stack, frame{l, lb})
		}
	}
	return h
}

// trainCandHeap keeps the k best candidates; items[0] is the worst kept.
type trainCandHeap struct {
	data  []byte
	k     int
	items []trainSeedCand
}

// better reports whether a ranks above b: higher score, then the smaller
// string.
func (h *trainCandHeap) better(a, b trainSeedCand) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return bytes.Compare(h.data[a.off:a.off+a.len], h.data[b.off:b.off+b.len]) < 0
}

func (h *trainCandHeap) push(c trainSeedCand) {
	if len(h.items) < h.k {
		h.items = append(h.items, c)
		i := len(h.items) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !h.better(h.items[p], h.items[i]) {
				break
			}
			h.items[p], h.items[i] = h.items[i], h.items[p]
			i = p
		}
		return
	}
	h.items[0] = c
	i := 0
	for {
		l, r, w := 2*i+1, 2*i+2, i
		if l < len(h.items) && h.better(h.items[w], h.items[l]) {
			w = l
		}
		if r < len(h.items) && h.better(h.items[w], h.items[r]) {
			w = r
		}
		if w == i {
			return
		}
		h.items[w], h.items[i] = h.items[i], h.items[w]
		i = w
	}
}
