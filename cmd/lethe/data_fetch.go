package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"lethe/corpus/ddtp"
)

// defaultFetchLangs are the DDTP languages fetched when --langs is not given:
// English and the languages the plasticity study adapts to.
const defaultFetchLangs = "en,de,fr,it,es,pl,ru,uk,ja,ko,zh_CN"

func dataFetchCommand() *command {
	return &command{
		name:    "data fetch",
		summary: "download Debian's translated package descriptions into train/dev/test corpora",
		usage: `Downloads Debian's translated package descriptions (DDTP) and the Packages
index with "apt-get update" under a private apt configuration in OUT/apt (no
root needed; the mirrors are the Debian "deb ... main" entries of
/etc/apt/sources.list and /etc/apt/sources.list.d, or those of --sources), joins
every description to its package's Section and Source, and writes for each
language OUT/LANG/{train,dev,test}.txt (one document per description: the
short description, then one line per paragraph; documents separated by blank
lines) and OUT/manifest.json (counts, sizes, mirrors, dates).

Sources are split by a stable hash of the source package name, the same in
every language, so a package's lib/-dev/-doc siblings never straddle splits
and a held-out source is held out everywhere. A text repeated across splits
is kept only in the most held-out one.

Running it again with the indexes present does not download (use --refresh),
and does nothing when the corpora are already up to date.`,
		flags: func(fs *flag.FlagSet) func(ctx context.Context, env *runEnv) error {
			langs := fs.String("langs", defaultFetchLangs, "comma-separated DDTP language codes (en, de, fr, it, es, pl, ru, uk, ja, ko, zh_CN, pt_BR, da, sk, cs, ...)")
			out := fs.String("out", filepath.Join("cache", "ddtp"), "output directory (holds the private apt tree too)")
			test := fs.Float64("test-share", 0.2, "share of source packages held out for test")
			dev := fs.Float64("dev-share", 0.1, "share of source packages held out for dev")
			refresh := fs.Bool("refresh", false, "download the indexes again even when present")
			sources := fs.String("sources", "", "a sources.list or deb822 .sources file to download from instead of the system's apt sources")
			return func(ctx context.Context, env *runEnv) error {
				if len(env.args) > 0 {
					return fmt.Errorf("unexpected arguments %q", env.args)
				}
				var ls []string
				for _, l := range strings.Split(*langs, ",") {
					if l = strings.TrimSpace(l); l != "" && !slices.Contains(ls, l) {
						ls = append(ls, l)
					}
				}
				opts := ddtp.Options{
					Dir:     *out,
					Langs:   ls,
					Shares:  ddtp.Shares{Test: *test, Dev: *dev},
					Refresh: *refresh,
					Log:     env.stderr,
					Command: commandLine(fs),
				}
				if *sources != "" {
					srcs, err := readSourcesFile(*sources)
					if err != nil {
						return err
					}
					opts.Sources = srcs
				}
				t0 := time.Now()
				m, err := ddtp.Fetch(ctx, opts)
				if err != nil {
					return err
				}
				var docs int
				var bytes int64
				for _, l := range ls {
					for _, s := range m.Languages[l].Splits {
						docs += s.Documents
						bytes += s.Bytes
					}
				}
				fmt.Fprintf(env.stderr, "ddtp: %d languages, %d documents, %.1f MB of text in %s (%.1fs)\n",
					len(ls), docs, float64(bytes)/1e6, *out, time.Since(t0).Seconds())
				return nil
			}
		},
	}
}

// readSourcesFile reads the repositories of a one-line or deb822 sources file.
func readSourcesFile(path string) ([]ddtp.Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--sources: %w", err)
	}
	defer f.Close()
	var srcs []ddtp.Source
	if strings.HasSuffix(path, ".sources") {
		srcs, err = ddtp.ParseDeb822Sources(f, path)
	} else {
		srcs, err = ddtp.ParseOneLineSources(f, path)
	}
	if err != nil {
		return nil, fmt.Errorf("--sources: %w", err)
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("--sources %s: no enabled \"deb\" entry with component main", path)
	}
	return srcs, nil
}

// commandLine spells out the command with every flag's effective value, for
// the manifest.
func commandLine(fs *flag.FlagSet) string {
	parts := []string{"lethe data fetch"}
	fs.VisitAll(func(f *flag.Flag) {
		parts = append(parts, fmt.Sprintf("--%s=%s", f.Name, f.Value.String()))
	})
	return strings.Join(parts, " ")
}
