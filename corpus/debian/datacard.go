package debian

import (
	"fmt"
	"sort"
	"strings"

	"lethe/corpus/ddtp"
)

// dataCard writes DATACARD.md: what the data is, where it came from, under
// which licences (as the packages state them), what the tasks are and how
// held-out text was kept out of the corpora.
func dataCard(m *Manifest, t *TopicTask) []byte {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Lethe Debian data\n\n")
	p("Built by `lethe data build` (format %d) from Debian packages and package indexes", m.Version)
	for i, r := range m.Releases {
		if i == 0 {
			p(": ")
		} else {
			p(", ")
		}
		p("%s %s (%s)", r.Origin, r.Suite, r.Date)
	}
	p(".\nLanguages: %s. Everything except the Bibles and the fortunes is technical or software text\n", strings.Join(m.Languages, ", "))
	p("(package descriptions, manual pages, system documentation): fine for a study of language plasticity, but\nnot a general-domain corpus.\n\n")

	p("## Corpora\n\n`corpora/<lang>.txt`: UTF-8, one paragraph per line, documents separated by one blank line, in a fixed\norder (DDTP descriptions by source package, then each package's documents by path).\n\n")
	p("| file | documents | characters | words | MB |\n|---|---:|---:|---:|---:|\n")
	for _, l := range m.Languages {
		if st := m.Files["corpora/"+l+".txt"]; st != nil {
			p("| corpora/%s.txt | %d | %d | %d | %.1f |\n", l, st.Documents, st.Characters, st.Words, float64(st.Bytes)/1e6)
		}
	}
	p("\n## Sources and licences\n\n")
	p("- **DDTP** (Debian's translated package descriptions), Translation-<lang> and Packages indexes of the releases above.\n")
	p("  Each description is part of its package's control data and comes under that package's licence; the\n")
	p("  translations are contributed through the Debian Description Translation Project. Only descriptions of\n")
	p("  train-split source packages are in the corpora.\n")
	p("\nPackages, with the licences their `copyright` files state (first lines of the `License:` fields):\n\n")
	p("| package | version | kind | documents | licences |\n|---|---|---|---|---|\n")
	for _, pr := range m.Packages {
		var langs []string
		for l := range pr.Documents {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		var docs []string
		for _, l := range langs {
			docs = append(docs, fmt.Sprintf("%s %d", l, pr.Documents[l]))
		}
		lic := strings.Join(pr.Licenses, "; ")
		if lic == "" {
			lic = "(no copyright file found)"
		}
		p("| %s | %s | %s | %s | %s |\n", pr.Name, pr.Version, pr.Kind, strings.Join(docs, ", "), strings.ReplaceAll(lic, "|", "/"))
	}
	p("\n## Package topic task\n\n")
	p("Input: short description + \" \" + long description. Label: the package Section mapped to 8 topics:\n")
	p("games <- games; multimedia <- sound, video; graphics <- graphics; network <- net, web, mail, httpd, comm, news;\n")
	p("science <- science, math, electronics, hamradio, med; text <- text, editors, tex; system <- admin, kernel, shells;\n")
	p("devel <- devel, vcs. Every other section is dropped. Split by source package (%s;\n", m.SplitHash)
	p("test share %.2f, dev share %.2f). English has train/dev/test; every other language is test-only, from the same\n", m.Shares.Test, m.Shares.Dev)
	p("held-out sources, with `test.en.tsv` holding the English descriptions of the same packages in the same order\n")
	p("(the English ceiling). Files: `topic/<lang>/<split>.tsv`, lines `label<TAB>text`. Chance is 12.5%%.\n\n")
	p("| language | train | dev | test |\n|---|---:|---:|---:|\n")
	p("| en | %d | %d | %d |\n", len(t.En[ddtp.Train]), len(t.En[ddtp.Dev]), len(t.En[ddtp.Test]))
	for _, l := range m.Languages[1:] {
		p("| %s | | | %d |\n", l, len(t.Test[l]))
	}
	p("\nSentence-pair variant (`pair/<lang>/<split>.tsv`, XNLI columns `%s`): premise = the long\n", strings.ReplaceAll(PairHeader, "\t", ", "))
	p("description of package p; hypothesis = p's own short description (match), that of a package of the same topic\n")
	p("from another source (related), or of a package of another topic (unrelated). Classes are balanced; partners\n")
	p("are chosen by a seeded hash within the same split and language.\n\n")
	p("## Held-out text\n\n%s.\n", m.HeldOut.Rule)
	p("At the end of the build, every dev and test task text (%d, all languages) was searched for in every corpus\n", m.HeldOut.Checked)
	p("(as a whole document, or as a substring when at least %d bytes): found %d.\n", MinMatch, m.HeldOut.Found)
	return []byte(b.String())
}
