package debian

import (
	"strings"

	"lethe/corpus/ddtp"
)

// Topics returns the eight labels of the package topic task, in the order
// the data card lists them.
func Topics() []string {
	return []string{"games", "multimedia", "graphics", "network", "science", "text", "system", "devel"}
}

// TopicOf maps a Debian Section (without archive-area prefix) to its topic,
// or "" for the sections the task drops (libs, libdevel, doc, utils, misc,
// the language ecosystems ...), whose labels boilerplate gives away.
func TopicOf(section string) string {
	switch section {
	case "games":
		return "games"
	case "sound", "video":
		return "multimedia"
	case "graphics":
		return "graphics"
	case "net", "web", "mail", "httpd", "comm", "news":
		return "network"
	case "science", "math", "electronics", "hamradio", "med":
		return "science"
	case "text", "editors", "tex":
		return "text"
	case "admin", "kernel", "shells":
		return "system"
	case "devel", "vcs":
		return "devel"
	}
	return ""
}

// TopicItem is one labelled package description.
type TopicItem struct {
	Package string
	Source  string
	MD5     string // Description-md5: the English original's identity
	Topic   string
	Short   string // short description
	Long    string // long description, one paragraph per line
}

// Text is the task input: the short description, a space and the long
// description, with line breaks as spaces and no tabs.
func (it *TopicItem) Text() string {
	return flatten(strings.TrimSpace(it.Short + " " + it.Long))
}

// Premise is the long description on one line, no tabs.
func (it *TopicItem) Premise() string { return flatten(it.Long) }

// flatten puts s on one line: newlines and tabs become spaces, runs of
// blanks one space.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// TopicTask is the package topic classification task: English train, dev
// and test, and for every other language a test set with the English
// descriptions of exactly the same packages (its ceiling), in the same
// order.
type TopicTask struct {
	En     [ddtp.NumSplits][]TopicItem
	Test   map[string][]TopicItem // other language -> its test items
	TestEn map[string][]TopicItem // other language -> the English items of the same packages
}

func itemOf(r *ddtp.Record, topic string) TopicItem {
	return TopicItem{Package: r.Package, Source: r.Source, MD5: r.MD5, Topic: topic, Short: r.Short, Long: r.Long}
}

// BuildTopic builds the topic task from joined DDTP records by language
// (records as ddtp.LoadRecords returns them, sorted by source and package;
// "en" must be present). Items are split by source package with
// ddtp.SplitOf; a text that occurs more than once in a language is kept
// once, in the most held-out split it occurs in, so no dev or test text is
// also a train text. Items with an empty text are dropped. A test item of
// another language is kept only when its English original (same package
// and Description-md5) is among the English records.
func BuildTopic(recs map[string][]ddtp.Record, shares ddtp.Shares) *TopicTask {
	t := &TopicTask{Test: map[string][]TopicItem{}, TestEn: map[string][]TopicItem{}}
	en := recs["en"]
	byKey := map[string]*ddtp.Record{}
	best := map[string]ddtp.Split{}
	for i := range en {
		r := &en[i]
		byKey[r.Package+"\x00"+r.MD5] = r
		if TopicOf(r.Section) == "" {
			continue
		}
		it := itemOf(r, "")
		txt := it.Text()
		if sp := ddtp.SplitOf(r.Source, shares); sp > best[txt] {
			best[txt] = sp
		} else if _, ok := best[txt]; !ok {
			best[txt] = sp
		}
	}
	seen := map[string]bool{}
	for i := range en {
		r := &en[i]
		topic := TopicOf(r.Section)
		if topic == "" {
			continue
		}
		it := itemOf(r, topic)
		txt := it.Text()
		sp := ddtp.SplitOf(r.Source, shares)
		if txt == "" || seen[txt] || best[txt] != sp {
			continue
		}
		seen[txt] = true
		t.En[sp] = append(t.En[sp], it)
	}
	for lang, rs := range recs {
		if lang == "en" {
			continue
		}
		seen := map[string]bool{}
		t.Test[lang], t.TestEn[lang] = []TopicItem{}, []TopicItem{}
		for i := range rs {
			r := &rs[i]
			topic := TopicOf(r.Section)
			if topic == "" || ddtp.SplitOf(r.Source, shares) != ddtp.Test {
				continue
			}
			e := byKey[r.Package+"\x00"+r.MD5]
			it := itemOf(r, topic)
			txt := it.Text()
			if e == nil || txt == "" || seen[txt] {
				continue
			}
			eit := itemOf(e, topic)
			if eit.Text() == "" {
				continue
			}
			seen[txt] = true
			t.Test[lang] = append(t.Test[lang], it)
			t.TestEn[lang] = append(t.TestEn[lang], eit)
		}
	}
	return t
}

// writeTopic writes items as label<TAB>text lines.
func writeTopic(items []TopicItem) []byte {
	var b strings.Builder
	for i := range items {
		b.WriteString(items[i].Topic)
		b.WriteByte('\t')
		b.WriteString(items[i].Text())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
