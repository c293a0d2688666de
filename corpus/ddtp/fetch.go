package ddtp

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"lethe/internal/atomicfile"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// ManifestName is the file, directly in the output directory, that describes
// a fetch.
const ManifestName = "manifest.json"

// SplitHashDescription documents SplitOf in the manifest.
const SplitHashDescription = "first 8 bytes of SHA-1(source package name), big-endian, / 2^64 = u; u < test: test; u < test+dev: dev; else train"

// FormatVersion is the version of the corpus text Fetch writes. It changes
// whenever the same indexes would give different corpora, so that older
// output is rebuilt rather than found up to date.
const FormatVersion = 2

// Options configure Fetch.
type Options struct {
	Dir     string    // output directory, e.g. ./cache/ddtp
	Langs   []string  // DDTP language codes, e.g. en, de, pt_BR
	Shares  Shares    // held-out shares of source packages
	Refresh bool      // download again even when the indexes are present
	Log     io.Writer // progress lines; nil discards them
	Command string    // command line recorded in the manifest

	// Sources, when non-empty, are the repositories to download from;
	// otherwise SystemSources(SourcesList, SourcesDir) decides.
	Sources     []Source
	SourcesList string // default /etc/apt/sources.list
	SourcesDir  string // default /etc/apt/sources.list.d
	AptGet      string // default: apt-get from PATH
	AptHelper   string // default DefaultAptHelper
}

// Manifest describes the output of a fetch; it is written as
// DIR/manifest.json.
type Manifest struct {
	Version   int                   `json:"version"` // FormatVersion of the corpora
	Command   string                `json:"command"`
	Written   string                `json:"written"`    // RFC 3339, when the corpora were written
	Fetched   string                `json:"fetched"`    // RFC 3339, when apt-get update last succeeded
	Mirrors   []string              `json:"mirrors"`    // "URI suite" downloaded from
	Releases  []Release             `json:"releases"`   // the InRelease files of that download
	Shares    Shares                `json:"shares"`     // held-out shares of source packages
	SplitHash string                `json:"split_hash"` // how a source is assigned to a split
	Lists     string                `json:"lists"`      // fingerprint of the index files the corpora came from
	Index     IndexStats            `json:"packages_index"`
	Languages map[string]*LangStats `json:"languages"`
}

// Release is the identity of one downloaded suite, from its InRelease file.
type Release struct {
	File     string `json:"file"`
	Origin   string `json:"origin"`
	Suite    string `json:"suite"`
	Codename string `json:"codename"`
	Date     string `json:"date"`
}

// LangStats counts one language's data.
type LangStats struct {
	Translations int                    `json:"translations"` // distinct (package, Description-md5) read from the Translation files
	Unmatched    int                    `json:"unmatched"`    // of those, with no such package in the Packages index (dropped)
	Records      int                    `json:"records"`      // joined records
	Empty        int                    `json:"empty"`        // records with an empty description (dropped from the corpora)
	Duplicates   int                    `json:"duplicates"`   // records dropped from the corpora as exact repeats of a document's text
	Splits       map[string]*SplitStats `json:"splits"`       // "train", "dev", "test"
}

// SplitStats counts one corpus file.
type SplitStats struct {
	File      string `json:"file"` // relative to the output directory
	Documents int    `json:"documents"`
	Sources   int    `json:"sources"` // distinct source packages
	Bytes     int64  `json:"bytes"`
}

// JoinStats counts what LoadRecords read and joined.
type JoinStats struct {
	Translations int // distinct (package, Description-md5) pairs read
	Repeats      int // stanzas repeating a pair already read (other suites)
	Unmatched    int // pairs with no package in the index
}

// ListsDir returns the apt lists directory of the fetch output directory
// dir, where the downloaded indexes are kept.
func ListsDir(dir string) string { return aptLayout{filepath.Join(dir, "apt")}.lists() }

// LoadIndex reads every Packages index in listsDir.
func LoadIndex(ctx context.Context, listsDir, helper string) (*Index, error) {
	files, err := ScanLists(listsDir)
	if err != nil {
		return nil, err
	}
	idx := NewIndex()
	n := 0
	for _, f := range files {
		if f.Kind != "Packages" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n++
		if err := readIndex(ctx, helper, f.Path, func(r io.Reader) error { return idx.ReadPackages(r, f.Path) }); err != nil {
			return nil, err
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("no Packages index in %s", listsDir)
	}
	return idx, nil
}

// LoadRecords reads every Translation-<lang> file in listsDir, keeps one
// record per (package, Description-md5), joins each to idx and returns the
// joined records sorted by Source, then Package. Translations with no
// matching package are counted and dropped.
func LoadRecords(ctx context.Context, listsDir, helper, lang string, idx *Index) ([]Record, JoinStats, error) {
	var st JoinStats
	files, err := ScanLists(listsDir)
	if err != nil {
		return nil, st, err
	}
	seen := map[string]bool{}
	var recs []Record
	found := false
	for _, f := range files {
		if f.Kind != "Translation" || f.Lang != lang {
			continue
		}
		found = true
		err := readIndex(ctx, helper, f.Path, func(r io.Reader) error {
			return ReadTranslation(r, f.Path, func(rec Record) error {
				if len(recs)%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				k := indexKey(rec.Package, rec.MD5)
				if seen[k] {
					st.Repeats++
					return nil
				}
				seen[k] = true
				st.Translations++
				if !idx.Join(&rec) {
					st.Unmatched++
					return nil
				}
				recs = append(recs, rec)
				return nil
			})
		})
		if err != nil {
			return nil, st, err
		}
	}
	if !found {
		return nil, st, fmt.Errorf("no Translation-%s file in %s", lang, listsDir)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Source != recs[j].Source {
			return recs[i].Source < recs[j].Source
		}
		if recs[i].Package != recs[j].Package {
			return recs[i].Package < recs[j].Package
		}
		return recs[i].MD5 < recs[j].MD5
	})
	return recs, st, nil
}

// Fetch downloads (unless present) the DDTP translations of opts.Langs and
// the Packages indexes with apt-get update under a private configuration in
// opts.Dir/apt, then writes opts.Dir/<lang>/{train,dev,test}.txt and
// opts.Dir/manifest.json. When the corpora are already up to date for the
// same indexes and shares, it only reports so.
func Fetch(ctx context.Context, opts Options) (*Manifest, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Dir == "" {
		return nil, errors.New("no output directory")
	}
	if err := opts.Shares.Validate(); err != nil {
		return nil, err
	}
	langs, err := uniqueLangs(opts.Langs)
	if err != nil {
		return nil, err
	}
	helper := opts.AptHelper
	if helper == "" {
		helper = DefaultAptHelper
	}
	manPath := filepath.Join(opts.Dir, ManifestName)
	old, err := readManifest(manPath)
	if err != nil {
		return nil, err
	}

	// 1. Download, unless every index is present.
	ix, err := EnsureIndexes(ctx, Options{Dir: opts.Dir, Langs: langs, Refresh: opts.Refresh, Log: log,
		Sources: opts.Sources, SourcesList: opts.SourcesList, SourcesDir: opts.SourcesDir, AptGet: opts.AptGet})
	if err != nil {
		return nil, err
	}
	a := aptLayout{ix.Root}
	files, fp, downloaded := ix.Files, ix.Fingerprint, ix.Downloaded

	// 2. Nothing to do when the corpora match these indexes and shares.
	if !downloaded && old != nil && upToDate(old, opts.Dir, fp, opts.Shares, langs) {
		fmt.Fprintf(log, "ddtp: corpora in %s are up to date for %s\n", opts.Dir, strings.Join(langs, ","))
		return old, nil
	}

	// 3. Parse and write.
	t0 := time.Now()
	idx, err := LoadIndex(ctx, a.lists(), helper)
	if err != nil {
		return nil, err
	}
	is := idx.Stats()
	fmt.Fprintf(log, "ddtp: Packages: %d stanzas, %d (package, description) pairs (%.1fs)\n", is.Stanzas, is.Keys, time.Since(t0).Seconds())
	m := &Manifest{
		Version:   FormatVersion,
		Command:   opts.Command,
		Written:   time.Now().UTC().Format(time.RFC3339),
		Fetched:   readFetched(a),
		Shares:    opts.Shares,
		SplitHash: SplitHashDescription,
		Lists:     fp,
		Index:     is,
		Languages: map[string]*LangStats{},
	}
	if m.Mirrors, err = readMirrors(a); err != nil {
		return nil, err
	}
	if m.Releases, err = readReleases(files); err != nil {
		return nil, err
	}
	// Keep the other languages of the previous manifest when they came from
	// the same indexes with the same shares and their files are intact.
	if old != nil && old.Version == FormatVersion && old.Lists == fp && old.Shares == opts.Shares {
		for l, ls := range old.Languages {
			if !slices.Contains(langs, l) && langIntact(opts.Dir, ls) {
				m.Languages[l] = ls
			}
		}
	}
	for _, l := range langs {
		t1 := time.Now()
		recs, js, err := LoadRecords(ctx, a.lists(), helper, l, idx)
		if err != nil {
			return nil, err
		}
		ls, err := writeCorpora(opts.Dir, l, recs, opts.Shares)
		if err != nil {
			return nil, err
		}
		ls.Translations, ls.Unmatched = js.Translations, js.Unmatched
		m.Languages[l] = ls
		fmt.Fprintf(log, "ddtp: %s: %d translations, %d joined, %d unmatched, %d empty, %d duplicate texts dropped; train %d docs %s, dev %d docs %s, test %d docs %s (%.1fs)\n",
			l, js.Translations, ls.Records, js.Unmatched, ls.Empty, ls.Duplicates,
			ls.Splits["train"].Documents, human(ls.Splits["train"].Bytes),
			ls.Splits["dev"].Documents, human(ls.Splits["dev"].Bytes),
			ls.Splits["test"].Documents, human(ls.Splits["test"].Bytes), time.Since(t1).Seconds())
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := atomicfile.Write(manPath, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	fmt.Fprintf(log, "ddtp: wrote %s\n", manPath)
	return m, nil
}

// download resolves the sources and runs apt-get update for langs.
func download(ctx context.Context, opts Options, a aptLayout, langs []string, why string, log io.Writer) error {
	srcs := opts.Sources
	if len(srcs) == 0 {
		list, dir := opts.SourcesList, opts.SourcesDir
		if list == "" && dir == "" {
			list, dir = "/etc/apt/sources.list", "/etc/apt/sources.list.d"
		}
		var err error
		if srcs, err = SystemSources(list, dir); err != nil {
			return err
		}
		if len(srcs) == 0 {
			return fmt.Errorf("no enabled Debian \"deb\" entry with component main in %s or %s", list, dir)
		}
	}
	aptGet := opts.AptGet
	if aptGet == "" {
		p, err := exec.LookPath("apt-get")
		if err != nil {
			return fmt.Errorf("apt-get not found (lethe data fetch downloads with Debian's apt; install it or run on Debian/Ubuntu): %w", err)
		}
		aptGet = p
	}
	if err := writeAptConfig(a, srcs, langs); err != nil {
		return err
	}
	var ms []string
	for _, s := range srcs {
		ms = append(ms, s.URI+" "+s.Suite)
	}
	fmt.Fprintf(log, "ddtp: apt-get update (%s) for %s from %s\n", why, strings.Join(langs, ","), strings.Join(ms, "; "))
	t0 := time.Now()
	if err := runUpdate(ctx, aptGet, a, srcs, log); err != nil {
		return err
	}
	fmt.Fprintf(log, "ddtp: download done in %.1fs\n", time.Since(t0).Seconds())
	return atomicfile.Write(filepath.Join(a.root, "fetched"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"))
}

func scanIfPresent(dir string) ([]ListFile, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return ScanLists(dir)
}

func listedLangs(files []ListFile) []string {
	var out []string
	for _, f := range files {
		if f.Kind == "Translation" && !slices.Contains(out, f.Lang) {
			out = append(out, f.Lang)
		}
	}
	sort.Strings(out)
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// fingerprint identifies the index files by name, size and modification time.
func fingerprint(files []ListFile) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fi, err := os.Stat(f.Path)
		if err != nil {
			return "", fmt.Errorf("apt lists: %w", err)
		}
		fmt.Fprintf(h, "%s %d %d\n", filepath.Base(f.Path), fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func readManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w (delete it to rebuild)", path, err)
	}
	return &m, nil
}

func upToDate(m *Manifest, dir, fp string, s Shares, langs []string) bool {
	if m.Version != FormatVersion || m.Lists != fp || m.Shares != s {
		return false
	}
	for _, l := range langs {
		ls := m.Languages[l]
		if ls == nil || !langIntact(dir, ls) {
			return false
		}
	}
	return true
}

// langIntact reports whether every corpus file of ls exists with its size.
func langIntact(dir string, ls *LangStats) bool {
	if len(ls.Splits) != NumSplits {
		return false
	}
	for _, ss := range ls.Splits {
		fi, err := os.Stat(filepath.Join(dir, ss.File))
		if err != nil || fi.Size() != ss.Bytes {
			return false
		}
	}
	return true
}

func readFetched(a aptLayout) string {
	data, err := os.ReadFile(filepath.Join(a.root, "fetched"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func readMirrors(a aptLayout) ([]string, error) {
	f, err := os.Open(a.sources())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apt sources: %w", err)
	}
	defer f.Close()
	srcs, err := ParseDeb822Sources(f, a.sources())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range srcs {
		out = append(out, s.URI+" "+s.Suite)
	}
	return out, nil
}

// readReleases reads Origin, Suite, Codename and Date from the clear-signed
// InRelease files.
func readReleases(files []ListFile) ([]Release, error) {
	var out []Release
	for _, f := range files {
		if f.Kind != "InRelease" {
			continue
		}
		fh, err := os.Open(f.Path)
		if err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		r := Release{File: filepath.Base(f.Path)}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == ' ' || strings.HasPrefix(line, "-----") || strings.HasPrefix(line, "Hash:") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "Origin":
				r.Origin = v
			case "Suite":
				r.Suite = v
			case "Codename":
				r.Codename = v
			case "Date":
				r.Date = v
			}
			if k == "SHA256" || k == "MD5Sum" {
				break
			}
		}
		err = sc.Err()
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("release %s: %w", f.Path, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeCorpora writes dir/<lang>/{train,dev,test}.txt from recs (sorted).
// A document whose exact text occurs more than once is written once, in the
// most held-out split it occurs in (test before dev before train), so no
// held-out text leaks into train.
func writeCorpora(dir, lang string, recs []Record, s Shares) (*LangStats, error) {
	ls := &LangStats{Records: len(recs), Splits: map[string]*SplitStats{}}
	texts := make([]string, len(recs))
	splits := make([]Split, len(recs))
	best := map[string]Split{}
	for i := range recs {
		texts[i] = recs[i].Text()
		if texts[i] == "" {
			continue
		}
		splits[i] = SplitOf(recs[i].Source, s)
		if b, ok := best[texts[i]]; !ok || splits[i] > b {
			best[texts[i]] = splits[i]
		}
	}
	var bufs [NumSplits]strings.Builder
	sources := [NumSplits]map[string]bool{{}, {}, {}}
	docs := [NumSplits]int{}
	written := map[string]bool{}
	for i := range recs {
		t, sp := texts[i], splits[i]
		if t == "" {
			ls.Empty++
			continue
		}
		if sp != best[t] || written[t] {
			ls.Duplicates++
			continue
		}
		written[t] = true
		if docs[sp] > 0 {
			bufs[sp].WriteString("\n")
		}
		bufs[sp].WriteString(t)
		bufs[sp].WriteString("\n")
		docs[sp]++
		sources[sp][recs[i].Source] = true
	}
	if err := os.MkdirAll(filepath.Join(dir, lang), 0o755); err != nil {
		return nil, fmt.Errorf("corpus %s: %w", lang, err)
	}
	for sp := Split(0); sp < NumSplits; sp++ {
		rel := filepath.Join(lang, sp.String()+".txt")
		data := bufs[sp].String()
		if err := atomicfile.Write(filepath.Join(dir, rel), []byte(data)); err != nil {
			return nil, fmt.Errorf("corpus %s: %w", rel, err)
		}
		ls.Splits[sp.String()] = &SplitStats{File: rel, Documents: docs[sp], Sources: len(sources[sp]), Bytes: int64(len(data))}
	}
	return ls, nil
}

// human formats a byte count.
func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// uniqueLangs checks that every entry of langs is a DDTP language code and
// returns them without repeats, in order.
func uniqueLangs(langs []string) ([]string, error) {
	var out []string
	for _, l := range langs {
		if !validLang(l) {
			return nil, fmt.Errorf("language %q: not a DDTP language code (like en, de, pt_BR)", l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no languages")
	}
	return out, nil
}
