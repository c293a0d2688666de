package debian

import (
	"strings"
	"testing"

	"lethe/corpus/ddtp"
)

func TestTopicOf(t *testing.T) {
	for _, c := range []struct{ section, want string }{
		{"games", "games"}, {"sound", "multimedia"}, {"video", "multimedia"}, {"graphics", "graphics"},
		{"net", "network"}, {"httpd", "network"}, {"news", "network"}, {"hamradio", "science"}, {"med", "science"},
		{"tex", "text"}, {"editors", "text"}, {"shells", "system"}, {"kernel", "system"}, {"vcs", "devel"},
		{"libs", ""}, {"libdevel", ""}, {"python", ""}, {"utils", ""}, {"misc", ""}, {"doc", ""}, {"", ""},
	} {
		if got := TopicOf(c.section); got != c.want {
			t.Errorf("TopicOf(%q) = %q, want %q", c.section, got, c.want)
		}
	}
	if n := len(Topics()); n != 8 {
		t.Errorf("%d topics, want 8", n)
	}
}

func names(items []TopicItem) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Package+":"+it.Topic)
	}
	return strings.Join(s, " ")
}

func TestBuildTopic(t *testing.T) {
	task := BuildTopic(fixtureRecords(t), ddtp.DefaultShares())
	for _, c := range []struct {
		got, want string
	}{
		// Ordered by source name (src1 < src2 < src6 ...); libfoo1 (libs)
		// is dropped; texfmt's text recurs in the test package tdup, so it
		// is kept only there.
		{names(task.En[ddtp.Train]), "blocks:games quill:text fetchmail-lite:network orbit:science buildtool:devel chess-lite:games"},
		{names(task.En[ddtp.Dev]), "devgame:games devnet:network devmath:science"},
		{names(task.En[ddtp.Test]), "tgame:games tvcs:devel tdup:text tgame2:games tsound:multimedia tadmin:system"},
		// German: test sources only (not blocks: train; not devnet: dev).
		{names(task.Test["de"]), "tgame:games tgame2:games tsound:multimedia tadmin:system"},
		{names(task.TestEn["de"]), "tgame:games tgame2:games tsound:multimedia tadmin:system"},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
	de, en := task.Test["de"][0], task.TestEn["de"][0]
	if !strings.HasPrefix(de.Text(), "Kartenspiel aus dem Testteil Tgame ist") || !strings.HasPrefix(en.Text(), "test split card game Tgame is") {
		t.Errorf("aligned texts: %q / %q", de.Text(), en.Text())
	}
	for sp := range task.En {
		for _, it := range task.En[sp] {
			if txt := it.Text(); strings.ContainsAny(txt, "\t\n") || txt == "" {
				t.Errorf("%s: text %q has a tab or newline or is empty", it.Package, txt)
			}
		}
	}
	out := string(writeTopic(task.En[ddtp.Dev][:1]))
	if want := "games\tdev split arcade shooter Devgame is a vertical scrolling arcade shooter with twelve levels, boss fights and a two player mode.\n"; out != want {
		t.Errorf("writeTopic = %q, want %q", out, want)
	}
}

func TestItemTextFlattens(t *testing.T) {
	it := TopicItem{Short: "a\ttool", Long: "first  paragraph\nsecond\tone"}
	if got := it.Text(); got != "a tool first paragraph second one" {
		t.Errorf("Text = %q", got)
	}
	if got := it.Premise(); got != "first paragraph second one" {
		t.Errorf("Premise = %q", got)
	}
}
