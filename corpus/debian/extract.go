package debian

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Extractors are the text extractors, one per Kind, with the signatures of
// the corpus/roff, corpus/html, corpus/rst, corpus/pod, corpus/sword and
// corpus/fortune packages. Each returns documents, a document being a list
// of non-empty one-paragraph lines. A nil extractor skips the files of its
// kind (they are counted in ExtractStats.Unread).
type Extractors struct {
	ManPage   func(r io.Reader, name string) ([][]string, error) // uncompressed roff
	HTML      func(r io.Reader, name string) ([][]string, error)
	RST       func(r io.Reader, name string) ([][]string, error)
	POD       func(r io.Reader, name string) ([][]string, error)
	Fortune   func(r io.Reader, name string) ([][]string, error)
	ZText     func(dir string) ([][]string, error)         // a zText module directory
	SwordConf func(path string) (map[string]string, error) // a mods.d/*.conf file
}

// Doc is one document of a corpus.
type Doc struct {
	Lang  string   // DDTP language code
	Path  string   // the file it came from, relative to the package root (or package name, for DDTP)
	Lines []string // non-empty, one paragraph each
}

// ExtractStats counts what extraction did with a package's files.
type ExtractStats struct {
	Files   int    `json:"files"`             // files read
	Failed  int    `json:"failed"`            // files an extractor rejected (skipped)
	Unread  int    `json:"unread"`            // files of a kind with no extractor
	Dropped int    `json:"dropped_lines"`     // lines of translations identical to the English page
	Error   string `json:"example,omitempty"` // the first rejection, for the manifest
}

// Extracted is the text of one package.
type Extracted struct {
	Package  Package
	Version  string
	Licenses []string // as its copyright file states them
	Langs    []string // the languages it was extracted for (files of others were skipped)
	Docs     []Doc    // sorted by path
	Stats    ExtractStats
}

// selected reports whether file p (relative, slash-separated) of a package
// of kind k holds text for that kind.
func selected(k Kind, p string) bool {
	base := path.Base(p)
	switch k {
	case Man:
		return strings.Contains("/"+p, "/usr/share/man/") && strings.HasSuffix(base, ".gz")
	case HTML:
		return strings.HasSuffix(base, ".html")
	case RST:
		return strings.Contains("/"+p, "/Documentation/") && (strings.HasSuffix(base, ".rst") || strings.HasSuffix(base, ".rst.gz")) ||
			strings.Contains("/"+p, "/_sources/") && strings.HasSuffix(base, ".rst.txt")
	case POD:
		return strings.HasPrefix(p, "usr/share/perl/") && strings.Contains(p, "/pod/") && strings.HasSuffix(base, ".pod")
	case Sword:
		return strings.HasPrefix(p, "usr/share/sword/mods.d/") && strings.HasSuffix(base, ".conf")
	case Fortune:
		return strings.HasPrefix(p, "usr/share/games/fortunes/") && !strings.HasSuffix(base, ".dat") && !strings.HasSuffix(base, ".u8")
	}
	return false
}

// cleanLines keeps the non-empty lines of doc, with control characters
// dropped, invalid UTF-8 removed and white space runs made one space.
func cleanLines(doc []string) []string {
	var out []string
	for _, l := range doc {
		l = strings.ToValidUTF8(l, "")
		l = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			if unicode.IsControl(r) || r == utf8.RuneError {
				return -1
			}
			return r
		}, l)
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// ExtractTree extracts the text of package p unpacked at root (as dpkg-deb
// -x leaves it), keeping documents in langs. Symbolic links are not
// followed (they alias other files). A file an extractor rejects is skipped
// and counted; the build goes on. For multilingual packages, lines of a
// translated page that also occur in the English version of the same page
// (untranslated leftovers) are dropped.
func ExtractTree(ctx context.Context, root string, p Package, langs []string, ex Extractors) ([]Doc, ExtractStats, error) {
	var st ExtractStats
	var docs []Doc
	fail := func(name string, err error) {
		st.Failed++
		if st.Error == "" {
			st.Error = fmt.Sprintf("%s: %v", name, err)
		}
	}
	err := filepath.WalkDir(root, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, full)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !selected(p.Kind, rel) {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Kind == Sword {
			return extractSword(root, full, rel, p, langs, ex, &st, &docs, fail)
		}
		lang := fileLang(p, rel, langs)
		if lang == "" {
			return nil
		}
		fn := map[Kind]func(io.Reader, string) ([][]string, error){Man: ex.ManPage, HTML: ex.HTML, RST: ex.RST, POD: ex.POD, Fortune: ex.Fortune}[p.Kind]
		if fn == nil {
			st.Unread++
			return nil
		}
		st.Files++
		ds, err := readFile(full, rel, fn)
		if err != nil {
			fail(rel, err)
			return nil
		}
		for _, d := range ds {
			if lines := cleanLines(d); len(lines) > 0 {
				docs = append(docs, Doc{Lang: lang, Path: rel, Lines: lines})
			}
		}
		return nil
	})
	if err != nil {
		return nil, st, fmt.Errorf("extract %s: %w", p.Name, err)
	}
	if p.Lang == "" {
		docs, st.Dropped = dropUntranslated(docs)
	}
	sort.SliceStable(docs, func(i, j int) bool { return docs[i].Path < docs[j].Path })
	return docs, st, nil
}

// insideTree checks that path, with every symbolic link resolved, lies in
// the unpacked package at root, and so do the entries of path if it is a
// directory: a package must not make the build read the host's files
// through an absolute or relative link.
func insideTree(root, path string) error {
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	check := func(p string) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(rootReal, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("%s leads out of the package (to %s): not read", strings.TrimPrefix(p, root+"/"), real)
		}
		return nil
	}
	if err := check(path); err != nil {
		return err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil // not a directory
	}
	for _, e := range entries {
		if err := check(filepath.Join(path, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// readFile opens full (gunzipping a .gz) and hands it to fn under the name
// rel.
func readFile(full, rel string, fn func(io.Reader, string) ([][]string, error)) ([][]string, error) {
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(rel, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	return fn(&limitedReader{r: r, left: MaxFileBytes}, rel)
}

// MaxFileBytes bounds the (decompressed) size of one documentation file
// handed to an extractor, so that a hostile package cannot make the build
// read a gzip bomb into memory.
var MaxFileBytes int64 = 64 << 20

// limitedReader fails once more than left bytes were read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("longer than %d bytes (debian.MaxFileBytes) once decompressed", MaxFileBytes)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("longer than %d bytes (debian.MaxFileBytes) once decompressed", MaxFileBytes)
	}
	return n, err
}

// extractSword reads a SWORD module: its conf (Lang, DataPath) and its zText
// data directory.
func extractSword(root, full, rel string, p Package, langs []string, ex Extractors, st *ExtractStats, docs *[]Doc, fail func(string, error)) error {
	if ex.SwordConf == nil || ex.ZText == nil {
		st.Unread++
		return nil
	}
	st.Files++
	conf, err := ex.SwordConf(full)
	if err != nil {
		fail(rel, err)
		return nil
	}
	get := func(k string) string {
		for ck, v := range conf {
			if strings.EqualFold(ck, k) {
				return v
			}
		}
		return ""
	}
	lang := p.Lang
	if l, r, ok := parseLocale(get("Lang")); ok {
		lang = matchLang(l, r, langs)
	}
	if lang == "" || !slices.Contains(langs, lang) {
		return nil
	}
	dp := strings.TrimPrefix(path.Clean("/"+get("DataPath")), "/")
	if dp == "" || dp == "." {
		fail(rel, errors.New("no DataPath"))
		return nil
	}
	dir := filepath.Join(root, "usr", "share", "sword", filepath.FromSlash(dp))
	if err := insideTree(root, dir); err != nil {
		fail(rel, err)
		return nil
	}
	ds, err := ex.ZText(dir)
	if err != nil {
		fail(rel, err)
		return nil
	}
	for _, d := range ds {
		if lines := cleanLines(d); len(lines) > 0 {
			*docs = append(*docs, Doc{Lang: lang, Path: "usr/share/sword/" + dp, Lines: lines})
		}
	}
	return nil
}

// dropUntranslated removes from every non-English document the lines that
// occur in the English document(s) of the same page (pageKey), and drops
// documents left empty. It returns the documents and the number of lines
// dropped.
func dropUntranslated(docs []Doc) ([]Doc, int) {
	english := map[string]map[string]bool{}
	for _, d := range docs {
		if d.Lang != "en" {
			continue
		}
		k := pageKey(d.Path)
		if english[k] == nil {
			english[k] = map[string]bool{}
		}
		for _, l := range d.Lines {
			english[k][l] = true
		}
	}
	dropped := 0
	out := docs[:0]
	for _, d := range docs {
		if en := english[pageKey(d.Path)]; d.Lang != "en" && en != nil {
			kept := d.Lines[:0:0]
			for _, l := range d.Lines {
				if en[l] {
					dropped++
					continue
				}
				kept = append(kept, l)
			}
			if len(kept) == 0 {
				continue
			}
			d.Lines = kept
		}
		out = append(out, d)
	}
	return out, dropped
}

// ReadLicenses returns the licences a Debian copyright file states: for a
// machine-readable file (one starting with "Format:"), the distinct first
// lines of its "License:" fields, sorted; for a free-form file, a line
// saying so with its first non-empty line.
func ReadLicenses(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []string
	first := ""
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if first == "" && l != "" {
			first = l
		}
		if v, ok := strings.CutPrefix(sc.Text(), "License:"); ok {
			v = strings.TrimSpace(v)
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if first == "" {
		return nil, nil
	}
	if !strings.HasPrefix(first, "Format:") {
		if len(first) > 120 {
			first = clip(first, 120)
		}
		return []string{"free-form copyright file, beginning: " + strings.ToValidUTF8(first, "")}, nil
	}
	sort.Strings(out)
	return out, nil
}

// docFamily is the name of an HTML documentation package without its
// language suffix (maint-guide-de -> maint-guide, debian-reference-zh-cn ->
// debian-reference), so that a translation's package finds the English one.
func docFamily(name string) string {
	parts := strings.Split(name, "-")
	n := len(parts)
	switch {
	case n >= 3 && isLangCode(parts[n-2]) && len(parts[n-1]) == 2:
		return strings.Join(parts[:n-2], "-")
	case n >= 2 && isLangCode(parts[n-1]):
		return strings.Join(parts[:n-1], "-")
	}
	return name
}

// dropUntranslatedAcross removes, from the non-English documents of the
// HTML packages, the lines that occur in the English version of the same
// page in any package of the same family (maint-guide-de's advanced.de.html
// against maint-guide's advanced.en.html), counting them in each package's
// Stats.Dropped and dropping documents left empty.
func dropUntranslatedAcross(exs []*Extracted) {
	key := func(e *Extracted, p string) string {
		f := docFamily(e.Package.Name)
		return f + ":" + pageKey(strings.ReplaceAll(p, "/"+e.Package.Name+"/", "/"+f+"/"))
	}
	english := map[string]map[string]bool{}
	for _, e := range exs {
		if e.Package.Kind != HTML {
			continue
		}
		for _, d := range e.Docs {
			if d.Lang != "en" {
				continue
			}
			k := key(e, d.Path)
			if english[k] == nil {
				english[k] = map[string]bool{}
			}
			for _, l := range d.Lines {
				english[k][l] = true
			}
		}
	}
	for _, e := range exs {
		if e.Package.Kind != HTML {
			continue
		}
		out := e.Docs[:0]
		for _, d := range e.Docs {
			if en := english[key(e, d.Path)]; d.Lang != "en" && en != nil {
				kept := d.Lines[:0:0]
				for _, l := range d.Lines {
					if en[l] {
						e.Stats.Dropped++
						continue
					}
					kept = append(kept, l)
				}
				if len(kept) == 0 {
					continue
				}
				d.Lines = kept
			}
			out = append(out, d)
		}
		e.Docs = out
	}
}
