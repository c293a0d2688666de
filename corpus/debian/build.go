package debian

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"lethe/corpus/ddtp"
	"lethe/internal/atomicfile"
	"lethe/internal/runlock"
)

// BringYourOwn tells a user without apt or a network how to use their own
// data instead of a build.
const BringYourOwn = `lethe data build downloads Debian packages with apt-get; without it (or offline) bring your own data:
  corpus:     plain UTF-8 text, one paragraph per line, documents separated by a blank line;
              tokenise it with "lethe prepare --model M.model --input FILE --out DIR", then "lethe pretrain --data DIR"
  topic task: label<TAB>text lines, one item per line (train.tsv, dev.tsv, test.tsv)
  pair task:  XNLI .tsv with the header language, gold_label, sentence1, sentence2, pairID (or .jsonl with those keys)
  QA:         SQuAD v1.1 JSON`

// UnavailableError is a build that could not start: no apt-get, or no
// network. Its message says how to bring one's own data.
type UnavailableError struct{ Err error }

// Error gives the reason and BringYourOwn.
func (e *UnavailableError) Error() string { return fmt.Sprintf("%v\n%s", e.Err, BringYourOwn) }

// Unwrap returns the reason.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Options configure Build.
type Options struct {
	Dir        string      // output directory
	Langs      []string    // DDTP language codes; English is always built and comes first
	Shares     ddtp.Shares // held-out shares of source packages
	Refresh    bool        // download the indexes again
	Extractors Extractors
	Jobs       int       // packages extracted at once; 0 means 2
	Log        io.Writer // progress; nil discards it
	Command    string    // recorded in the manifest

	// Packages, when non-nil, replaces PackagesFor(Langs) (empty: DDTP only).
	Packages []Package

	Sources     []ddtp.Source // repositories; default: the system's Debian entries
	SourcesList string
	SourcesDir  string
	AptGet      string // default: apt-get from PATH
	AptHelper   string // default ddtp.DefaultAptHelper
	DpkgDeb     string // default: dpkg-deb from PATH
}

// langsOf returns langs with "en" first and no repeats.
func langsOf(in []string) []string {
	out := []string{"en"}
	for _, l := range in {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Build fetches what it needs with apt-get under a private configuration in
// opts.Dir/apt, extracts the packages' text (caching each package in
// opts.Dir/extracted), and assembles the corpora, tasks, manifest and data
// card (see the package documentation). When the manifest shows a build from
// the same indexes, languages and shares whose files are intact, it does
// nothing and says so. Without apt-get, or when the first download fails, it
// returns an *UnavailableError and leaves no new file behind.
func Build(ctx context.Context, opts Options) (*Manifest, error) {
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
	lock, err := runlock.Acquire(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	langs := langsOf(opts.Langs)
	pkgs := opts.Packages
	if pkgs == nil {
		pkgs = PackagesFor(langs)
	}
	t0 := time.Now()
	stage := func(n int, format string, a ...any) {
		fmt.Fprintf(log, "debian: [%d/5 %s] %s\n", n, elapsed(t0), fmt.Sprintf(format, a...))
	}
	aptGet := opts.AptGet
	if aptGet == "" {
		p, err := exec.LookPath("apt-get")
		if err != nil {
			return nil, &UnavailableError{fmt.Errorf("apt-get not found: %w", err)}
		}
		aptGet = p
	}
	dpkg := opts.DpkgDeb
	if dpkg == "" && len(pkgs) > 0 {
		p, err := exec.LookPath("dpkg-deb")
		if err != nil {
			return nil, &UnavailableError{fmt.Errorf("dpkg-deb not found: %w", err)}
		}
		dpkg = p
	}
	helper := opts.AptHelper
	if helper == "" {
		helper = ddtp.DefaultAptHelper
	}

	// 1. Indexes. On a failed first download, remove what it created.
	dirExisted := exists(opts.Dir)
	aptDir := filepath.Join(opts.Dir, "apt")
	aptExisted := exists(aptDir)
	stage(1, "package indexes and DDTP translations for %s", strings.Join(langs, ","))
	ix, err := ddtp.EnsureIndexes(ctx, ddtp.Options{Dir: opts.Dir, Langs: langs, Refresh: opts.Refresh, Log: log,
		Sources: opts.Sources, SourcesList: opts.SourcesList, SourcesDir: opts.SourcesDir, AptGet: aptGet})
	if err != nil {
		if !aptExisted {
			os.RemoveAll(aptDir)
		}
		if !dirExisted {
			os.RemoveAll(opts.Dir)
		}
		var ue *ddtp.UpdateError
		if errors.As(err, &ue) {
			return nil, &UnavailableError{err}
		}
		return nil, err
	}
	lists, err := listsIdentity(ix.Files)
	if err != nil {
		return nil, err
	}
	key := inputsKey(lists, langs, opts.Shares, pkgs)
	if old := readManifest(filepath.Join(opts.Dir, ManifestName)); old != nil && old.Inputs == key && intact(opts.Dir, old) {
		fmt.Fprintf(log, "debian: %s is up to date (same indexes, languages, shares and formats; every file intact): nothing to do\n", opts.Dir)
		return old, nil
	}
	removeLeftovers(opts.Dir)

	// 2. Package files.
	var exs []*Extracted
	if len(pkgs) > 0 {
		stage(2, "resolving %d packages", len(pkgs))
		debs, err := resolveDebs(ctx, aptGet, ix.Conf, pkgs, log)
		if err != nil {
			return nil, err
		}
		debDir := filepath.Join(opts.Dir, "apt", "debs")
		if err := downloadDebs(ctx, aptGet, ix.Conf, debDir, debs, log); err != nil {
			return nil, err
		}
		stage(3, "extracting text from %d packages", len(debs))
		exs, err = extractAll(ctx, opts, langs, dpkg, debDir, debs, log, t0)
		if err != nil {
			return nil, err
		}
		dropUntranslatedAcross(exs)
	}

	// 3. DDTP records.
	stage(4, "reading DDTP records")
	idx, err := ddtp.LoadIndex(ctx, ix.Lists, helper)
	if err != nil {
		return nil, err
	}
	recs := map[string][]ddtp.Record{}
	for _, l := range langs {
		rs, _, err := ddtp.LoadRecords(ctx, ix.Lists, helper, l, idx)
		if err != nil {
			return nil, err
		}
		recs[l] = rs
	}
	rels, err := ddtp.ReadReleases(ix.Files)
	if err != nil {
		return nil, err
	}

	// 4. Assemble.
	stage(5, "writing corpora, tasks, manifest and data card")
	m, err := Assemble(ctx, opts.Dir, &Inputs{Langs: langs, Shares: opts.Shares, Records: recs, Packages: exs, Releases: rels, Command: opts.Command, Key: key}, log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "debian: done in %s: %s\n", elapsed(t0), opts.Dir)
	return m, nil
}

func elapsed(t0 time.Time) string { return time.Since(t0).Round(time.Second).String() }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// listsIdentity identifies the downloaded indexes by content, not by
// time: the SHA-256 of each InRelease file (which lists the hashes of every
// index of its suite) and the names and sizes of the index files. Two
// output directories updated from the same mirror state agree on it.
func listsIdentity(files []ddtp.ListFile) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fi, err := os.Stat(f.Path)
		if err != nil {
			return "", fmt.Errorf("apt lists: %w", err)
		}
		fmt.Fprintf(h, "%s %d", filepath.Base(f.Path), fi.Size())
		if f.Kind == "InRelease" {
			data, err := os.ReadFile(f.Path)
			if err != nil {
				return "", fmt.Errorf("apt lists: %w", err)
			}
			fmt.Fprintf(h, " %x", sha256.Sum256(data))
		}
		fmt.Fprintln(h)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// inputsKey fingerprints what decides a build's output.
func inputsKey(lists string, langs []string, s ddtp.Shares, pkgs []Package) string {
	h := sha256.New()
	fmt.Fprintf(h, "format %d extract %d\nlists %s\nlangs %s\nshares %v %v\n", FormatVersion, ExtractFormat, lists, strings.Join(langs, ","), s.Test, s.Dev)
	for _, p := range pkgs {
		fmt.Fprintf(h, "package %s %s %s\n", p.Name, p.Kind, p.Lang)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func readManifest(path string) *Manifest {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m Manifest
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return &m
}

// intact reports whether every file of m exists with its size and SHA-256.
func intact(dir string, m *Manifest) bool {
	if m.Version != FormatVersion || len(m.Files) == 0 {
		return false
	}
	for rel, st := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || int64(len(data)) != st.Bytes {
			return false
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != st.SHA256 {
			return false
		}
	}
	return true
}

// removeLeftovers deletes the temporary extraction directories and partial
// downloads an interrupted build left.
func removeLeftovers(dir string) {
	ms, _ := filepath.Glob(filepath.Join(dir, ".extract-*"))
	for _, p := range ms {
		os.RemoveAll(p)
	}
	os.RemoveAll(filepath.Join(dir, "apt", "debs", ".partial"))
}

// deb is one package file to download.
type deb struct {
	Package Package
	Version string
	File    string // as apt names it: name_version_arch.deb, ':' escaped as %3a
	URI     string
	Size    int64
	SHA256  string
}

// resolveDebs asks apt-get (download --print-uris, no network) for the
// candidate version and file of every package. Packages the indexes do not
// have are reported and left out.
func resolveDebs(ctx context.Context, aptGet, conf string, pkgs []Package, log io.Writer) ([]deb, error) {
	names := make([]string, len(pkgs))
	for i, p := range pkgs {
		names[i] = p.Name
	}
	out, err := printURIs(ctx, aptGet, conf, names)
	if err != nil {
		// One unknown package fails the whole call: ask one by one.
		out = nil
		for _, n := range names {
			o, err := printURIs(ctx, aptGet, conf, []string{n})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				fmt.Fprintf(log, "debian: %s: not in the indexes, left out (%v)\n", n, err)
				continue
			}
			out = append(out, o...)
		}
	}
	byName := map[string]deb{}
	for _, d := range out {
		byName[d.Package.Name] = d
	}
	var debs []deb
	for _, p := range pkgs {
		if d, ok := byName[p.Name]; ok {
			d.Package = p
			debs = append(debs, d)
		}
	}
	return debs, nil
}

// printURIs runs apt-get download --print-uris and parses its lines:
// 'URI' FILE SIZE SHA256:HEX.
func printURIs(ctx context.Context, aptGet, conf string, names []string) ([]deb, error) {
	cmd := exec.CommandContext(ctx, aptGet, append([]string{"-c", conf, "-q", "download", "--print-uris"}, names...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("apt-get download --print-uris: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out []deb
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "'") {
			continue
		}
		file := f[1]
		parts := strings.Split(strings.TrimSuffix(file, ".deb"), "_")
		if len(parts) != 3 {
			return nil, fmt.Errorf("apt-get --print-uris line %d: file %q is not name_version_arch.deb", n, file)
		}
		ver, err := url.PathUnescape(parts[1])
		if err != nil {
			return nil, fmt.Errorf("apt-get --print-uris line %d: version %q: %w", n, parts[1], err)
		}
		var size int64
		fmt.Sscan(f[2], &size)
		d := deb{Package: Package{Name: parts[0]}, Version: ver, File: file, URI: strings.Trim(f[0], "'"), Size: size}
		if h, ok := strings.CutPrefix(f[3], "SHA256:"); ok {
			d.SHA256 = strings.ToLower(h)
		}
		out = append(out, d)
	}
	return out, nil
}

// downloadDebs downloads the debs not yet in dir with apt-get download
// (into dir/.partial, then checked against their SHA-256 and moved into
// dir).
func downloadDebs(ctx context.Context, aptGet, conf, dir string, debs []deb, log io.Writer) error {
	var missing []deb
	var mb float64
	for _, d := range debs {
		if !exists(filepath.Join(dir, d.File)) {
			missing = append(missing, d)
			mb += float64(d.Size) / 1e6
		}
	}
	if len(missing) == 0 {
		fmt.Fprintf(log, "debian: all %d packages already downloaded in %s\n", len(debs), dir)
		return nil
	}
	partial := filepath.Join(dir, ".partial")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	args := []string{"-c", conf, "-q", "download"}
	for _, d := range missing {
		args = append(args, d.Package.Name+"="+d.Version)
	}
	fmt.Fprintf(log, "debian: downloading %d of %d packages (%.1f MB) with apt-get download\n", len(missing), len(debs), mb)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, aptGet, args...)
	cmd.Dir = partial
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Run(); err != nil {
		os.RemoveAll(partial)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tail := strings.TrimSpace(outBuf.String())
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return &UnavailableError{fmt.Errorf("apt-get download: %w\n%s", err, tail)}
	}
	for _, d := range missing {
		p := filepath.Join(partial, d.File)
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("download %s: %w", d.Package.Name, err)
		}
		if d.SHA256 != "" {
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != d.SHA256 {
				return fmt.Errorf("download %s: SHA-256 of %s does not match the index", d.Package.Name, p)
			}
		}
		if err := os.Rename(p, filepath.Join(dir, d.File)); err != nil {
			return fmt.Errorf("download %s: %w", d.Package.Name, err)
		}
	}
	os.RemoveAll(partial)
	fmt.Fprintf(log, "debian: downloaded %.1f MB in %s\n", mb, elapsed(t0))
	return nil
}

// cacheName is the extraction cache file of d.
func cacheName(d deb) string {
	return strings.NewReplacer(":", "%3a", "/", "_").Replace(d.Package.Name+"_"+d.Version) + ".txt"
}

// extractAll returns the text of every deb, from the cache in
// opts.Dir/extracted or by unpacking it into a temporary directory (removed
// afterwards) and extracting, opts.Jobs packages at a time.
func extractAll(ctx context.Context, opts Options, langs []string, dpkg, debDir string, debs []deb, log io.Writer, t0 time.Time) ([]*Extracted, error) {
	cacheDir := filepath.Join(opts.Dir, "extracted")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 2
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]*Extracted, len(debs))
	errs := make([]error, len(debs))
	var mu sync.Mutex
	done := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d := debs[i]
				cached := true
				e, err := readCache(filepath.Join(cacheDir, cacheName(d)))
				if err == nil && (e == nil || e.Package != d.Package || e.Version != d.Version || !subset(langs, e.Langs)) {
					cached = false
					e, err = extractDeb(ctx, opts, langs, dpkg, filepath.Join(debDir, d.File), d)
					if err == nil {
						err = writeCache(filepath.Join(cacheDir, cacheName(d)), e)
					}
				}
				mu.Lock()
				done++
				if err != nil {
					errs[i] = err
					cancel()
				} else {
					out[i] = e
					how := "extracted"
					if cached {
						how = "cached"
					}
					n := 0
					for _, doc := range e.Docs {
						n += len(doc.Lines)
					}
					fmt.Fprintf(log, "debian: extract %d/%d %s %s (%.1f MB .deb, %s): %d documents, %d lines, %d files failed | %s\n",
						done, len(debs), d.Package.Name, d.Version, float64(d.Size)/1e6, how, len(e.Docs), n, e.Stats.Failed, elapsed(t0))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range debs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("extraction interrupted (finished packages are cached; run again to resume): %w", err)
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Keep only what the requested languages want (a cache may hold more
	// when it was made for more languages: it is made per language set, see
	// extractDeb; filter anyway).
	for _, e := range out {
		e.Docs = slices.DeleteFunc(e.Docs, func(d Doc) bool { return !slices.Contains(langs, d.Lang) })
	}
	return out, nil
}

// extractDeb unpacks a .deb with dpkg-deb -x into a temporary directory of
// opts.Dir, extracts its text and licences, and removes the directory.
func extractDeb(ctx context.Context, opts Options, langs []string, dpkg, file string, d deb) (*Extracted, error) {
	tmp, err := os.MkdirTemp(opts.Dir, ".extract-")
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", d.Package.Name, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, dpkg, "-x", file, tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("dpkg-deb -x %s: %w: %s", file, err, strings.TrimSpace(string(out)))
	}
	all := allLangs(langs)
	docs, st, err := ExtractTree(ctx, tmp, d.Package, all, opts.Extractors)
	if err != nil {
		return nil, err
	}
	e := &Extracted{Package: d.Package, Version: d.Version, Langs: all, Docs: docs, Stats: st}
	if e.Licenses, err = readCopyright(tmp, d.Package.Name); err != nil {
		return nil, fmt.Errorf("extract %s: copyright: %w", d.Package.Name, err)
	}
	return e, nil
}

// readCopyright reads the licences of package name, unpacked at root, from
// its usr/share/doc/NAME/copyright. A documentation directory that is a
// link to another package's (manpages-dev's is manpages') names that
// package; a copyright file that links out of the unpacked package is not
// read.
func readCopyright(root, name string) ([]string, error) {
	docDir := filepath.Join(root, "usr", "share", "doc", name)
	copyright := filepath.Join(docDir, "copyright")
	if err := insideTree(root, copyright); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return []string{"(the copyright file links out of the package: not read)"}, nil
	}
	if f, err := os.Open(copyright); err == nil {
		defer f.Close()
		return ReadLicenses(f)
	}
	if target, err := os.Readlink(docDir); err == nil {
		return []string{"see the copyright file of package " + filepath.Base(target)}, nil
	}
	return nil, nil
}

// allLangs is langs followed by every other language of the package table
// and of the multilingual packages, sorted: a package is extracted once for
// all of them, so its cache serves a later build for other languages (a
// cache made for fewer languages than asked for is extracted again).
func allLangs(langs []string) []string {
	out := slices.Clone(langs)
	more := []string{"ca", "cs", "da", "el", "es", "fi", "hr", "hu", "id", "it", "ko", "nb", "nl", "pl", "pt", "pt_BR", "ro", "sk", "sv", "tr", "uk", "vi"}
	for l := range packageTable() {
		more = append(more, l)
	}
	slices.Sort(more)
	for _, l := range slices.Compact(more) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// writeCache writes e to path atomically.
func writeCache(path string, e *Extracted) error {
	var b bytes.Buffer
	if err := encodeExtracted(&b, e); err != nil {
		return err
	}
	if err := atomicfile.Write(path, b.Bytes()); err != nil {
		return fmt.Errorf("extraction cache: %w", err)
	}
	return nil
}
