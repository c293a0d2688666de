package tokenizer

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// trainUnkPenalty is subtracted from the lowest piece score to score the <unk>
// node of a character that has no piece, as SentencePiece does.
const trainUnkPenalty = 10.0

// trainExpectedFreqThreshold drops pieces whose expected count falls below it in
// the M-step.
const trainExpectedFreqThreshold = 0.5

// trainEdge is a lattice edge of a word: the piece id covering characters
// [start, end), or -1 for <unk> over one character.
type trainEdge struct {
	start, end uint16
	id         int32
}

// trainCorpus is the EM training data: distinct words (split before each
// U+2581), their counts and the lattice edges of each word under the
// current vocabulary, grouped by word and ordered by start.
type trainCorpus struct {
	words   []string
	freq    []float64
	nchars  []uint16
	edgeOff []int // edges of word i: edges[edgeOff[i]:edgeOff[i+1]]
	edges   []trainEdge
	total   float64 // sum of freq
}

// trainSplitWords counts the words of the sentences: each U+2581 starts a word.
// Words are ordered by count, highest first, then by text. They are copies,
// so that the sentences can be freed.
func trainSplitWords(sentences []string) ([]string, []float64) {
	counts := map[string]int64{}
	for _, s := range sentences {
		start := 0
		for i, r := range s {
			if r == trainWSChar && i > start {
				countWord(counts, s[start:i])
				start = i
			}
		}
		if start < len(s) {
			countWord(counts, s[start:])
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if counts[a] != counts[b] {
			if counts[a] > counts[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	freq := make([]float64, len(words))
	for i, w := range words {
		freq[i] = float64(counts[w])
	}
	return words, freq
}

func countWord(counts map[string]int64, w string) {
	if _, ok := counts[w]; ok {
		counts[w]++
	} else {
		counts[strings.Clone(w)] = 1
	}
}

// trainMatcher finds the pieces that are prefixes of a string, by
// narrowing a range of the sorted pieces one byte at a time.
type trainMatcher struct {
	keys  []string
	ids   []int32
	first [257]int32 // keys starting with byte b are keys[first[b]:first[b+1]]
}

func newTrainMatcher(pieces []trainPiece) *trainMatcher {
	m := &trainMatcher{keys: make([]string, len(pieces)), ids: make([]int32, len(pieces))}
	order := make([]int32, len(pieces))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(pieces[a].piece, pieces[b].piece) })
	for i, id := range order {
		m.keys[i] = pieces[id].piece
		m.ids[i] = id
	}
	k := 0
	for b := 0; b < 256; b++ {
		m.first[b] = int32(k)
		for k < len(m.keys) && int(m.keys[k][0]) == b {
			k++
		}
	}
	m.first[256] = int32(len(m.keys))
	return m
}

// match calls fn with the id and byte length of every piece that is a
// prefix of s, shortest first.
func (m *trainMatcher) match(s string, fn func(id int32, n int)) {
	if len(s) == 0 {
		return
	}
	lo, hi := int(m.first[s[0]]), int(m.first[int(s[0])+1])
	for k := 1; lo < hi; k++ {
		// keys[lo:hi] all start with s[:k].
		if len(m.keys[lo]) == k {
			fn(m.ids[lo], k)
			lo++
		}
		if k == len(s) || lo >= hi {
			return
		}
		c := s[k]
		keys := m.keys
		lo = lo + sort.Search(hi-lo, func(i int) bool { return keys[lo+i][k] >= c })
		hi = lo + sort.Search(hi-lo, func(i int) bool { return keys[lo+i][k] > c })
	}
}

// buildEdges fills the lattice edges of every word under pieces.
func (c *trainCorpus) buildEdges(threads int, pieces []trainPiece, maxChars int) {
	m := newTrainMatcher(pieces)
	pieceChars := make([]uint16, len(pieces))
	for i, p := range pieces {
		pieceChars[i] = uint16(utf8.RuneCountInString(p.piece))
	}
	n := len(c.words)
	c.nchars = make([]uint16, n)
	parts := make([][]trainEdge, threads)
	counts := make([][]int, threads)
	trainParallelChunks(threads, n, func(part, lo, hi int) {
		var es []trainEdge
		cnt := make([]int, hi-lo)
		for i := lo; i < hi; i++ {
			w := c.words[i]
			before := len(es)
			pos := 0
			for b := 0; b < len(w); {
				_, size := utf8.DecodeRuneInString(w[b:])
				single := false
				end := len(w)
				if maxChars*4 < end-b {
					end = b + maxChars*4
				}
				m.match(w[b:end], func(id int32, _ int) {
					pc := pieceChars[id]
					if pc == 1 {
						single = true
					}
					es = append(es, trainEdge{uint16(pos), uint16(pos) + pc, id})
				})
				if !single {
					es = append(es, trainEdge{uint16(pos), uint16(pos + 1), -1})
				}
				b += size
				pos++
			}
			c.nchars[i] = uint16(pos)
			cnt[i-lo] = len(es) - before
		}
		parts[part] = es
		counts[part] = cnt
	})
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	c.edges = make([]trainEdge, 0, total)
	c.edgeOff = make([]int, 1, n+1)
	for k, p := range parts {
		c.edges = append(c.edges, p...)
		for _, cnt := range counts[k] {
			c.edgeOff = append(c.edgeOff, c.edgeOff[len(c.edgeOff)-1]+cnt)
		}
	}
}

// remap renumbers the edges after a vocabulary change: newID[old] is the
// new id or -1 for a removed piece. An edge of a removed one-character piece
// becomes an <unk> edge; other edges of removed pieces are dropped.
func (c *trainCorpus) remap(newID []int32) {
	w := 0
	off := 0
	for i := range c.words {
		start := w
		for _, e := range c.edges[off:c.edgeOff[i+1]] {
			if e.id >= 0 {
				e.id = newID[e.id]
				if e.id < 0 && e.end-e.start != 1 {
					continue
				}
			}
			c.edges[w] = e
			w++
		}
		off = c.edgeOff[i+1]
		c.edgeOff[i] = start
	}
	c.edgeOff[len(c.words)] = w
	c.edges = c.edges[:w]
}

// trainParallelChunks runs fn over threads contiguous chunks of [0, n), passing
// the chunk number.
func trainParallelChunks(threads, n int, fn func(part, lo, hi int)) {
	threads = max(1, threads)
	var wg sync.WaitGroup
	for k := 0; k < threads; k++ {
		lo, hi := k*n/threads, (k+1)*n/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(k, lo, hi)
		}()
	}
	wg.Wait()
}

// trainParallelStrided runs fn(part) for part in [0, threads), each in its
// own goroutine; fn handles the items part, part+threads, ... so that the
// work (words sorted by count, hence roughly by length) is balanced and the
// partition, hence every floating-point sum, is the same from run to run.
func trainParallelStrided(threads int, fn func(part int)) {
	var wg sync.WaitGroup
	for k := 0; k < max(1, threads); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(k)
		}()
	}
	wg.Wait()
}

// eStep computes the expected count of every piece over all words (the
// forward-backward marginals times the word counts), in parallel, and the
// objective (negative log likelihood per word occurrence). The marginals of
// <unk> edges go to piece unkTo, or nowhere when it is negative.
func (c *trainCorpus) eStep(threads int, scores []float64, unkScore float64, unkTo int32) ([]float64, float64) {
	exps := make([][]float64, threads)
	objs := make([]float64, threads)
	trainParallelStrided(threads, func(part int) {
		exp := make([]float64, len(scores))
		var am, ax, bm, bx []float64
		var obj float64
		for i := part; i < len(c.words); i += threads {
			es := c.edges[c.edgeOff[i]:c.edgeOff[i+1]]
			n := int(c.nchars[i])
			// Forward and backward sums over the lattice, each kept as a
			// pair (m, x) standing for exp(m) * x, with m the largest
			// term's log and x >= 1: one exp per edge and no log.
			// alpha(p) sums the segmentations of the first p characters,
			// beta(p) those of the characters from p on.
			am = trainResetInf(am, n+1)
			ax = trainResetZero(ax, n+1)
			am[0], ax[0] = 0, 1
			cur := 0
			for _, e := range es {
				st := int(e.start)
				if st != cur {
					if ax[st] > 1e150 {
						am[st] += math.Log(ax[st])
						ax[st] = 1
					}
					cur = st
				}
				sc := unkScore
				if e.id >= 0 {
					sc = scores[e.id]
				}
				v := am[st] + sc
				if m := am[e.end]; v <= m {
					ax[e.end] += ax[st] * math.Exp(v-m)
				} else {
					ax[e.end] = ax[e.end]*math.Exp(m-v) + ax[st]
					am[e.end] = v
				}
			}
			bm = trainResetInf(bm, n+1)
			bx = trainResetZero(bx, n+1)
			bm[n], bx[n] = 0, 1
			for hi := len(es); hi > 0; {
				st := es[hi-1].start
				lo := hi - 1
				for lo > 0 && es[lo-1].start == st {
					lo--
				}
				m := math.Inf(-1)
				for _, e := range es[lo:hi] {
					sc := unkScore
					if e.id >= 0 {
						sc = scores[e.id]
					}
					m = max(m, sc+bm[e.end])
				}
				var x float64
				for _, e := range es[lo:hi] {
					sc := unkScore
					if e.id >= 0 {
						sc = scores[e.id]
					}
					x += bx[e.end] * math.Exp(sc+bm[e.end]-m)
				}
				if x > 1e150 {
					m += math.Log(x)
					x = 1
				}
				bm[st], bx[st] = m, x
				hi = lo
			}
			zm, zx := am[n], ax[n]
			z := zm + math.Log(zx)
			f := c.freq[i]
			for _, e := range es {
				id := e.id
				sc := unkScore
				if id >= 0 {
					sc = scores[id]
				} else if unkTo >= 0 {
					id = unkTo
				} else {
					continue
				}
				exp[id] += f * ax[e.start] * bx[e.end] / zx * math.Exp(am[e.start]+sc+bm[e.end]-zm)
			}
			obj -= f * z
		}
		exps[part] = exp
		objs[part] = obj
	})
	for k := 1; k < threads; k++ {
		for j, v := range exps[k] {
			exps[0][j] += v
		}
		objs[0] += objs[k]
	}
	return exps[0], objs[0] / c.total
}

func trainResetZero(a []float64, n int) []float64 {
	if cap(a) < n {
		a = make([]float64, n)
	}
	a = a[:n]
	clear(a)
	return a
}

func trainResetInf(a []float64, n int) []float64 {
	if cap(a) < n {
		a = make([]float64, n)
	}
	a = a[:n]
	for i := range a {
		a[i] = math.Inf(-1)
	}
	return a
}

// trainViterbi returns the best segmentation of a lattice as edge indices into
// es (in order), skipping the edge numbered skip (-1: none), and its score;
// ok is false when no path exists.
func trainViterbi(es []trainEdge, n int, scores []float64, unkScore float64, skip int, best []float64, back []int32) (path []int32, score float64, ok bool) {
	for i := 0; i <= n; i++ {
		best[i] = math.Inf(-1)
		back[i] = -1
	}
	best[0] = 0
	for k, e := range es {
		if k == skip || math.IsInf(best[e.start], -1) {
			continue
		}
		sc := unkScore
		if e.id >= 0 {
			sc = scores[e.id]
		}
		if v := best[e.start] + sc; v > best[e.end] {
			best[e.end] = v
			back[e.end] = int32(k)
		}
	}
	if back[n] < 0 {
		return nil, 0, false
	}
	for pos := n; pos > 0; {
		k := back[pos]
		path = append(path, k)
		pos = int(es[k].start)
	}
	slices.Reverse(path)
	return path, best[n], true
}

// mStep keeps the pieces whose expected count reaches the threshold and
// scores them digamma(count) - digamma(total), the Bayesian (variational)
// M-step of SentencePiece, which acts as a sparse prior.
func mStep(pieces []trainPiece, expected []float64) ([]trainPiece, []int32) {
	newID := make([]int32, len(pieces))
	var out []trainPiece
	var sum float64
	for i, e := range expected {
		if e < trainExpectedFreqThreshold {
			newID[i] = -1
			continue
		}
		newID[i] = int32(len(out))
		out = append(out, trainPiece{pieces[i].piece, e})
		sum += e
	}
	logSum := trainDigamma(sum)
	for i := range out {
		// Scores are kept in float32, as in the model file (and in
		// SentencePiece), so that ties break the same way.
		out[i].score = float64(float32(trainDigamma(out[i].score) - logSum))
	}
	return out, newID
}

// trainDigamma is the derivative of log Gamma, by recurrence up to 7 and the
// asymptotic series.
func trainDigamma(x float64) float64 {
	var r float64
	for ; x < 7; x++ {
		r -= 1 / x
	}
	x -= 0.5
	inv := 1 / x
	inv2 := inv * inv
	inv4 := inv2 * inv2
	return r + math.Log(x) + inv2/24 - 7*inv4/960 + 31*inv4*inv2/8064 - 127*inv4*inv4/30720
}

// unkTarget returns the piece that <unk> lattice edges count as: piece 0
// with SpmCompat (SentencePiece's trainer model leaves its unknown id at 0),
// else none.
func (t *trainer) unkTarget() int32 {
	if t.opts.SpmCompat {
		return 0
	}
	return -1
}

// trainMinScore returns the lowest score of pieces.
func trainMinScore(pieces []trainPiece) float64 {
	m := math.Inf(1)
	for _, p := range pieces {
		m = min(m, p.score)
	}
	return m
}

// prune removes the pieces whose removal costs the least likelihood,
// keeping max(desired, ShrinkingFactor x size) of them. A piece's loss is
// estimated by assuming its Viterbi occurrences are replaced by its best
// segmentation into other pieces.
func (t *trainer) prune(ctx context.Context, c *trainCorpus, pieces []trainPiece, desired int) ([]trainPiece, []int32, error) {
	threads := t.opts.NumThreads
	scores := make([]float64, len(pieces))
	for i, p := range pieces {
		scores[i] = p.score
	}
	unkScore := trainMinScore(pieces) - trainUnkPenalty
	unkTo := t.unkTarget()

	// Alternatives: the best segmentation of each piece without itself.
	alwaysKeep := make([]bool, len(pieces))
	alternatives := make([][]int32, len(pieces))
	pc := &trainCorpus{words: make([]string, len(pieces))}
	for i, p := range pieces {
		pc.words[i] = p.piece
	}
	pc.buildEdges(threads, pieces, t.opts.MaxSentencePieceLength)
	trainParallelChunks(threads, len(pieces), func(_, lo, hi int) {
		var best []float64
		var back []int32
		for i := lo; i < hi; i++ {
			es := pc.edges[pc.edgeOff[i]:pc.edgeOff[i+1]]
			n := int(pc.nchars[i])
			if cap(best) < n+1 {
				best, back = make([]float64, n+1), make([]int32, n+1)
			}
			self := -1
			for k, e := range es {
				if e.start == 0 && int(e.end) == n && e.id == int32(i) {
					self = k
				}
			}
			alwaysKeep[i] = true
			path, alt, ok := trainViterbi(es, n, scores, unkScore, self, best[:n+1], back[:n+1])
			if !ok {
				continue
			}
			if alt > scores[i] {
				// Its own Viterbi segmentation splits it: removable.
				alwaysKeep[i] = false
				continue
			}
			ids := make([]int32, len(path))
			for k, ei := range path {
				ids[k] = es[ei].id
				if ids[k] < 0 {
					if unkTo < 0 {
						ids = nil // an <unk> alternative: keep the piece
						break
					}
					ids[k] = unkTo
				}
			}
			alternatives[i] = ids
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	// Viterbi counts of every piece over the words.
	freqs := make([][]float64, threads)
	trainParallelStrided(threads, func(part int) {
		freq := make([]float64, len(pieces))
		var best []float64
		var back []int32
		for i := part; i < len(c.words); i += threads {
			es := c.edges[c.edgeOff[i]:c.edgeOff[i+1]]
			n := int(c.nchars[i])
			if cap(best) < n+1 {
				best, back = make([]float64, n+1), make([]int32, n+1)
			}
			path, _, ok := trainViterbi(es, n, scores, unkScore, -1, best[:n+1], back[:n+1])
			if !ok {
				continue
			}
			for _, k := range path {
				if id := es[k].id; id >= 0 {
					freq[id] += c.freq[i]
				} else if unkTo >= 0 {
					freq[unkTo] += c.freq[i]
				}
			}
		}
		freqs[part] = freq
	})
	freq := freqs[0]
	for k := 1; k < threads; k++ {
		for j, v := range freqs[k] {
			freq[j] += v
		}
	}
	var sum float64
	for _, f := range freq {
		sum += f
	}
	logSum := math.Log(sum)

	type cand struct {
		id   int
		loss float64
	}
	var cands []cand
	var out []trainPiece
	for i := range pieces {
		switch {
		case freq[i] == 0 || !alwaysKeep[i]:
		case len(alternatives[i]) == 0:
			out = append(out, pieces[i])
		default:
			f := freq[i] / c.total
			logProbSP := math.Log(freq[i]) - logSum
			// After the removal, freq[i] moves to each alternative:
			// the total grows by freq[i] x (alternatives - 1).
			// spm_train 0.1.97 counts the whole vocabulary there (fixed
			// in SentencePiece 0.1.99).
			nAlt := len(alternatives[i])
			if t.opts.SpmCompat {
				nAlt = len(pieces)
			}
			logSumAlt := math.Log(sum + freq[i]*float64(nAlt-1))
			var logProbAlt float64
			for _, a := range alternatives[i] {
				logProbAlt += math.Log(freq[a]+freq[i]) - logSumAlt
			}
			cands = append(cands, cand{i, float64(float32(f * (logProbSP - logProbAlt)))})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.loss != b.loss {
			if a.loss > b.loss {
				return -1
			}
			return 1
		}
		return a.id - b.id
	})
	keep := max(desired, int(t.opts.ShrinkingFactor*float64(len(pieces))))
	for _, cd := range cands {
		if len(out) >= keep {
			break
		}
		out = append(out, pieces[cd.id])
	}
	index := make(map[string]int32, len(out))
	for i, p := range out {
		index[p.piece] = int32(i)
	}
	newID := make([]int32, len(pieces))
	for i, p := range pieces {
		if j, ok := index[p.piece]; ok {
			newID[i] = j
		} else {
			newID[i] = -1
		}
	}
	return out, newID, nil
}

// runEM runs EM and pruning from the seed pieces until at most 1.1 x
// VocabSize remain, then returns the final pieces (the required characters
// and the best-scored others, VocabSize less the special pieces in all)
// sorted by score.
func (t *trainer) runEM(ctx context.Context, seeds []trainPiece) ([]trainPiece, error) {
	threads := t.opts.NumThreads
	c := &trainCorpus{}
	c.words, c.freq = t.words, t.wordFreq
	t.words, t.wordFreq = nil, nil
	for _, f := range c.freq {
		c.total += f
	}
	t.stats.Words = len(c.words)
	c.buildEdges(threads, seeds, t.opts.MaxSentencePieceLength)
	t.progress("em", "words=%d edges=%d", len(c.words), len(c.edges))
	pieces := seeds
	desired := int(float64(t.opts.VocabSize) * 1.1)
	for round := 1; ; round++ {
		for sub := 0; sub < t.opts.NumSubIterations; sub++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			scores := make([]float64, len(pieces))
			for i, p := range pieces {
				scores[i] = p.score
			}
			expected, obj := c.eStep(threads, scores, trainMinScore(pieces)-trainUnkPenalty, t.unkTarget())
			var newID []int32
			pieces, newID = mStep(pieces, expected)
			c.remap(newID)
			t.stats.EMIterations++
			t.progress("em", "round=%d sub_iter=%d pieces=%d obj=%.4f", round, sub, len(pieces), obj)
		}
		if len(pieces) <= desired {
			break
		}
		var newID []int32
		var err error
		pieces, newID, err = t.prune(ctx, c, pieces, desired)
		if err != nil {
			return nil, err
		}
		c.remap(newID)
		t.progress("prune", "round=%d pieces=%d", round, len(pieces))
	}
	return t.finalize(pieces), nil
}

// finalize returns the required characters (scored with the lowest score
// plus a tiny rising penalty when EM dropped them) and then the
// highest-scored pieces, VocabSize less the special pieces in all, sorted
// by score then text.
func (t *trainer) finalize(pieces []trainPiece) []trainPiece {
	have := map[string]float64{}
	for _, p := range pieces {
		have[p.piece] = p.score
	}
	req := byCount(t.required)
	final := map[string]float64{}
	low := trainMinScore(pieces)
	penalty := 0.0
	for _, c := range req {
		s := string(c.r)
		if sc, ok := have[s]; ok {
			final[s] = sc
		} else {
			final[s] = low + penalty
			penalty += 0.0001
		}
	}
	room := t.opts.VocabSize - len(trainMetaPieces(t.opts.ByteFallback))
	sorted := slices.Clone(pieces)
	sortTrainPieces(sorted)
	for _, p := range sorted {
		if _, ok := final[p.piece]; ok {
			continue
		}
		if len(final) >= room {
			break
		}
		final[p.piece] = p.score
	}
	out := make([]trainPiece, 0, len(final))
	for s, sc := range final {
		out = append(out, trainPiece{s, sc})
	}
	sortTrainPieces(out)
	return out
}
