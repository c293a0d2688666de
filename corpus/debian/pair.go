package debian

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// The three labels of the pair task.
const (
	Match     = "match"     // the hypothesis is the package's own short description
	Related   = "related"   // the short description of another package with the same topic
	Unrelated = "unrelated" // the short description of a package with another topic
)

// PairHeader is the header line of the pair task's TSV files (XNLI's column
// names).
const PairHeader = "language\tgold_label\tsentence1\tsentence2\tpairID"

// pairChoice is one pair over an item list: the premise is item I's long
// description, the hypothesis item J's short description.
type pairChoice struct {
	I, J  int
	Label string
	ID    string
}

// seededHash is a stable 64-bit hash of its parts under the pair seed.
func seededHash(parts ...string) uint64 {
	h := sha256.New()
	h.Write([]byte("lethe-pair-v1"))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// choosePairs picks the pairs of one split of one language. Every item
// whose ok[i] is true (it has both a short and a long description, in every
// rendering) gets one pair; items are taken in the order of a seeded hash of
// key and their package, and labels cycle match, related, unrelated, so the
// three classes are balanced (to within one). The partner of a related pair
// is an ok item of the same topic from another source package, that of an
// unrelated pair an ok item of another topic; each is found from a seeded
// hash of the item's package, probing forward in package order. An item for
// which no partner exists is skipped and the label goes to the next item.
// IDs are key-NNNNNN in that order.
func choosePairs(items []TopicItem, ok []bool, key string) []pairChoice {
	order := make([]int, 0, len(items))
	for i := range items {
		if ok[i] {
			order = append(order, i)
		}
	}
	hs := make(map[int]uint64, len(order))
	for _, i := range order {
		hs[i] = seededHash(key, "order", items[i].Package, items[i].MD5)
	}
	sort.SliceStable(order, func(a, b int) bool { return hs[order[a]] < hs[order[b]] })
	labels := [3]string{Match, Related, Unrelated}
	var out []pairChoice
	next := 0
	for _, i := range order {
		label := labels[next%3]
		j := i
		if label != Match {
			j = findPartner(items, ok, i, label == Related, seededHash(key, label, items[i].Package, items[i].MD5))
			if j < 0 {
				continue
			}
		}
		out = append(out, pairChoice{I: i, J: j, Label: label, ID: fmt.Sprintf("%s-%06d", key, len(out))})
		next++
	}
	return out
}

// findPartner probes the items from h mod n for an ok one with the same
// topic and another source (same) or another topic (!same).
func findPartner(items []TopicItem, ok []bool, i int, same bool, h uint64) int {
	n := len(items)
	start := int(h % uint64(n))
	for k := 0; k < n; k++ {
		j := (start + k) % n
		if j == i || !ok[j] {
			continue
		}
		if same && items[j].Topic == items[i].Topic && items[j].Source != items[i].Source && items[j].Short != items[i].Short {
			return j
		}
		if !same && items[j].Topic != items[i].Topic {
			return j
		}
	}
	return -1
}

// pairOK marks the items usable in a pair: non-empty short and long
// description in every one of the aligned renderings.
func pairOK(renderings ...[]TopicItem) []bool {
	ok := make([]bool, len(renderings[0]))
	for i := range ok {
		ok[i] = true
		for _, r := range renderings {
			if flatten(r[i].Short) == "" || r[i].Premise() == "" {
				ok[i] = false
			}
		}
	}
	return ok
}

// writePairs renders the pairs over items (one aligned rendering) as an
// XNLI-style TSV with header, language column lang.
func writePairs(lang string, items []TopicItem, pairs []pairChoice) []byte {
	var b strings.Builder
	b.WriteString(PairHeader)
	b.WriteByte('\n')
	for _, p := range pairs {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", lang, p.Label, items[p.I].Premise(), flatten(items[p.J].Short), p.ID)
	}
	return []byte(b.String())
}
