package debian

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// pairItems makes n items over the given topics, two packages per source.
func pairItems(n int, topics []string) []TopicItem {
	items := make([]TopicItem, n)
	for i := range items {
		items[i] = TopicItem{
			Package: fmt.Sprintf("pkg%03d", i), Source: fmt.Sprintf("src%03d", i/2), MD5: fmt.Sprintf("%032x", i),
			Topic: topics[i%len(topics)], Short: fmt.Sprintf("short %d", i), Long: fmt.Sprintf("long description %d\nsecond paragraph", i),
		}
	}
	return items
}

func TestChoosePairs(t *testing.T) {
	items := pairItems(60, Topics())
	items[7].Long = "" // no premise: left out
	ok := pairOK(items)
	pairs := choosePairs(items, ok, "en-test")
	if len(pairs) != 59 {
		t.Fatalf("%d pairs, want 59 (one per usable item)", len(pairs))
	}
	count := map[string]int{}
	for _, p := range pairs {
		count[p.Label]++
		a, b := items[p.I], items[p.J]
		if p.I == 7 || p.J == 7 {
			t.Errorf("pair %s uses the item without a long description", p.ID)
		}
		switch p.Label {
		case Match:
			if p.I != p.J {
				t.Errorf("match %s pairs two items", p.ID)
			}
		case Related:
			if a.Topic != b.Topic || a.Source == b.Source {
				t.Errorf("related %s: topics %s/%s, sources %s/%s", p.ID, a.Topic, b.Topic, a.Source, b.Source)
			}
		case Unrelated:
			if a.Topic == b.Topic {
				t.Errorf("unrelated %s: same topic %s", p.ID, a.Topic)
			}
		default:
			t.Errorf("label %q", p.Label)
		}
	}
	for _, l := range []string{Match, Related, Unrelated} {
		if c := count[l]; c < 19 || c > 20 {
			t.Errorf("%s: %d pairs, want 19 or 20 (balanced)", l, c)
		}
	}
	if again := choosePairs(items, ok, "en-test"); !reflect.DeepEqual(again, pairs) {
		t.Error("choosePairs is not deterministic")
	}
	if other := choosePairs(items, ok, "en-dev"); reflect.DeepEqual(other, pairs) {
		t.Error("another key gave the same pairs")
	}
}

func TestChoosePairsNoPartner(t *testing.T) {
	// One topic, one source: no related or unrelated partner exists, so only
	// match pairs can be made, and the labels still cycle.
	items := pairItems(2, []string{"games"})
	items[1].Source = items[0].Source
	pairs := choosePairs(items, pairOK(items), "k")
	if len(pairs) != 1 || pairs[0].Label != Match {
		t.Errorf("pairs = %+v, want one match", pairs)
	}
}

func TestWritePairsAligned(t *testing.T) {
	de := pairItems(12, Topics()[:3])
	en := pairItems(12, Topics()[:3])
	for i := range en {
		en[i].Short, en[i].Long = "english "+en[i].Short, "english "+en[i].Long
	}
	pairs := choosePairs(de, pairOK(de, en), "de-test")
	a := strings.Split(strings.TrimSpace(string(writePairs("de", de, pairs))), "\n")
	b := strings.Split(strings.TrimSpace(string(writePairs("en", en, pairs))), "\n")
	if a[0] != PairHeader || b[0] != PairHeader {
		t.Fatalf("headers %q, %q", a[0], b[0])
	}
	if len(a) != len(b) || len(a) != 13 {
		t.Fatalf("%d and %d lines, want 13", len(a), len(b))
	}
	for i := 1; i < len(a); i++ {
		fa, fb := strings.Split(a[i], "\t"), strings.Split(b[i], "\t")
		if len(fa) != 5 || len(fb) != 5 {
			t.Fatalf("line %d: %d and %d fields", i, len(fa), len(fb))
		}
		if fa[0] != "de" || fb[0] != "en" || fa[1] != fb[1] || fa[4] != fb[4] {
			t.Errorf("line %d not aligned: %q / %q", i, a[i], b[i])
		}
		if fb[2] != "english "+fa[2] || fb[3] != "english "+fa[3] {
			t.Errorf("line %d: English rendering %q is not of the same packages as %q", i, b[i], a[i])
		}
	}
}
