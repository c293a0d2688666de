package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"lethe/corpus/ddtp"
	"lethe/corpus/debian"
	"lethe/corpus/fortune"
	"lethe/corpus/html"
	"lethe/corpus/pod"
	"lethe/corpus/roff"
	"lethe/corpus/rst"
	"lethe/corpus/sword"
)

// defaultBuildLangs are the languages lethe data build makes corpora for
// when --langs is not given.
const defaultBuildLangs = "en,de,fr,ru,ja,zh_CN"

func dataBuildCommand() *command {
	return &command{
		name:    "data build",
		summary: "build multilingual corpora and the Debian topic/pair tasks from Debian packages",
		usage: `Builds one plain-text corpus per language and a labelled cross-lingual task from
Debian, with the ordinary apt-get client under a private configuration in
OUT/apt (no root needed; the mirrors are the Debian "deb ... main" entries of
/etc/apt/sources.list[.d], or those of --sources):

  1. apt-get update: the Packages indexes and Debian's translated package
     descriptions (DDTP) of every language;
  2. apt-get download: man pages (manpages, manpages-LANG[-dev]), HTML
     documentation (debian-reference-LANG, maint-guide-LANG, debian-handbook,
     installation-guide-amd64), English prose (linux-doc RST, Python
     documentation sources, perl-doc POD), SWORD Bibles (sword-text-kjv,
     sword-text-web, sword-text-sparv) and fortunes (fortunes[-LANG]);
  3. text extraction in Go (roff rendered to text, HTML to text with lines
     identical to the English page dropped, markup removed from RST and POD,
     zText Bibles, fortunes), each package cached in OUT/extracted;
  4. the corpora and the tasks.

Output under OUT:
  corpora/LANG.txt                 UTF-8, one paragraph per line, documents separated by one blank line:
                                   DDTP train-split descriptions, then the packages' documents
  topic/en/{train,dev,test}.tsv    package topic task: label<TAB>text, 8 topics from the package Section
  topic/LANG/test.tsv              other languages: test only, from the same held-out source packages
  topic/LANG/test.en.tsv           the English descriptions of the same packages, same order (the ceiling)
  pair/en/{train,dev,test}.tsv     sentence-pair variant, XNLI columns language, gold_label (match /
  pair/LANG/test{,.en}.tsv         related / unrelated), sentence1, sentence2, pairID; balanced classes
  manifest.json                    per file: documents, characters, words, bytes, sha256, source packages
                                   and versions; the held-out check
  DATACARD.md                      sources, licences as the packages state them, tasks
  apt/, extracted/                 the private apt tree (indexes, .debs) and the per-package text cache

Source packages are split by a stable hash of their name (the same in every
language). Every dev and test description, in every language, is kept out of
every corpus, and the build checks at the end that no dev or test task text
occurs in any corpus. A second run with the same indexes does nothing; an
interrupted run resumes from the caches; every file is written under a
temporary name and renamed. Language codes are DDTP's (zh_CN, pt_BR); English
is always built.

Without apt-get, or offline, the command fails at once and says how to bring
your own corpus and task files.`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			out := fs.String("out", "", "output `DIR` (required; holds the private apt tree and caches too)")
			langs := fs.String("langs", defaultBuildLangs, "comma-separated DDTP language codes (en, de, fr, ru, ja, zh_CN, es, it, pl, uk, pt_BR, ...)")
			test := fs.Float64("test-share", 0.2, "share of source packages held out for test")
			dev := fs.Float64("dev-share", 0.1, "share of source packages held out for dev")
			refresh := fs.Bool("refresh", false, "download the indexes again even when present")
			ddtpOnly := fs.Bool("ddtp-only", false, "build from the DDTP descriptions only (no package downloads)")
			jobs := fs.Int("jobs", 2, "packages extracted at once")
			sources := fs.String("sources", "", "a sources.list or deb822 .sources `FILE` to download from instead of the system's apt sources")
			return func(ctx context.Context, env *runEnv) error {
				if len(env.args) > 0 {
					return fmt.Errorf("unexpected arguments %q", env.args)
				}
				if *out == "" {
					return fmt.Errorf("--out is required")
				}
				opts := debian.Options{
					Dir:        *out,
					Langs:      strings.Split(*langs, ","),
					Shares:     ddtp.Shares{Test: *test, Dev: *dev},
					Refresh:    *refresh,
					Extractors: defaultExtractors(),
					Jobs:       *jobs,
					Log:        env.stderr,
					Command:    buildCommandLine(fs),
				}
				if *ddtpOnly {
					opts.Packages = []debian.Package{}
				}
				if *sources != "" {
					srcs, err := readSourcesFile(*sources)
					if err != nil {
						return err
					}
					opts.Sources = srcs
				}
				t0 := time.Now()
				m, err := debian.Build(ctx, opts)
				if err != nil {
					return err
				}
				for _, l := range m.Languages {
					if st := m.Files["corpora/"+l+".txt"]; st != nil {
						fmt.Fprintf(env.stderr, "data build: %-6s %8d documents %11d characters %10d words %7.1f MB\n",
							l, st.Documents, st.Characters, st.Words, float64(st.Bytes)/1e6)
					}
				}
				fmt.Fprintf(env.stderr, "data build: %s ready (%.1fs)\n", *out, time.Since(t0).Seconds())
				return nil
			}
		},
	}
}

// defaultExtractors are the Go text extractors of the corpus packages.
func defaultExtractors() debian.Extractors {
	return debian.Extractors{
		ManPage:   roff.ManPage,
		HTML:      html.Text,
		RST:       rst.RST,
		POD:       pod.POD,
		Fortune:   fortune.Read,
		ZText:     sword.ReadZText,
		SwordConf: sword.ReadConf,
	}
}

// buildCommandLine spells out the command with every flag's value, for the
// manifest. The output directory is left out so that two builds into
// different directories write the same manifest.
func buildCommandLine(fs *flag.FlagSet) string {
	parts := []string{"lethe data build"}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "out" {
			parts = append(parts, fmt.Sprintf("--%s=%s", f.Name, f.Value.String()))
		}
	})
	return strings.Join(parts, " ")
}
