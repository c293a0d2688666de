package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"lethe/corpus/ddtp"
	"lethe/internal/atomicfile"
)

// FormatVersion is the version of the output layout and text. It changes
// whenever the same inputs would give different files, so that an older
// build is rebuilt rather than found up to date.
const FormatVersion = 1

// ManifestName and DataCardName are the files, directly in the output
// directory, that describe a build.
const (
	ManifestName = "manifest.json"
	DataCardName = "DATACARD.md"
)

// Manifest describes a build; it is written as DIR/manifest.json. It holds
// nothing that depends on the time of the build, so two builds from the
// same package versions write the same manifest.
type Manifest struct {
	Version   int                   `json:"version"` // FormatVersion
	Command   string                `json:"command"`
	Inputs    string                `json:"inputs"` // fingerprint of the indexes, languages, shares and formats
	Languages []string              `json:"languages"`
	Shares    ddtp.Shares           `json:"shares"`
	SplitHash string                `json:"split_hash"`
	Releases  []ddtp.Release        `json:"releases"`
	Packages  []PackageRecord       `json:"packages"`
	Files     map[string]*FileStats `json:"files"` // by path relative to the output directory
	HeldOut   HeldOutReport         `json:"held_out"`
}

// PackageRecord is one Debian package whose files went into the corpora.
type PackageRecord struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	Kind      string         `json:"kind"`
	Licenses  []string       `json:"licenses"`
	Documents map[string]int `json:"documents"` // extracted documents by language
	Stats     ExtractStats   `json:"extraction"`
}

// FileStats describes one output file.
type FileStats struct {
	Documents  int64    `json:"documents"` // corpus documents, or task items (lines without the header)
	Characters int64    `json:"characters"`
	Words      int64    `json:"words"` // white-space separated
	Bytes      int64    `json:"bytes"`
	SHA256     string   `json:"sha256"`
	Sources    []string `json:"sources"` // "package version", or "DDTP Translation-<lang>"
	// Sections gives a corpus's documents by source, in file order: the
	// DDTP descriptions come first, then each package's documents.
	Sections []Section `json:"sections,omitempty"`
}

// Section is the run of a corpus's documents that came from one source.
type Section struct {
	Source    string `json:"source"`    // as in FileStats.Sources
	Documents int64  `json:"documents"` // consecutive documents, after those of the sections before
}

// HeldOutReport records how held-out text was kept out of the corpora and
// the check that proves it.
type HeldOutReport struct {
	Rule      string         `json:"rule"`
	Texts     int            `json:"texts"`              // dev and test descriptions, all languages
	Patterns  int            `json:"patterns"`           // of which substring patterns (>= MinMatch bytes)
	Dropped   map[string]int `json:"dropped_documents"`  // corpus documents dropped, by language
	Checked   int            `json:"checked_task_items"` // dev and test task texts searched for in the written corpora
	Found     int            `json:"found"`              // how many were found: always 0 in a finished build
	Duplicate map[string]int `json:"duplicate_documents"`
	// BySource breaks Dropped down by where the documents came from ("DDTP"
	// or a package name).
	BySource map[string]map[string]int `json:"dropped_by_source"`
}

// heldOutRule documents the held-out filter in the manifest.
const heldOutRule = "DDTP records of dev and test source packages never enter a corpus; any other corpus document is dropped when, lower-cased with white space collapsed, it equals a dev/test description (any language) or contains a dev/test description or one of its paragraphs of at least 64 bytes"

// Inputs is everything a build is assembled from.
type Inputs struct {
	Langs    []string                 // DDTP codes; the first is "en"
	Shares   ddtp.Shares              // held-out shares of source packages
	Records  map[string][]ddtp.Record // joined DDTP records by language, sorted by source and package
	Packages []*Extracted             // sorted by package name
	Releases []ddtp.Release
	Command  string
	Key      string // Manifest.Inputs
}

// Assemble writes the corpora, the topic and pair tasks, the manifest and
// the data card under dir from in. Every file is written to a temporary
// name and renamed; the manifest is written last, so a build interrupted
// before it is not taken for a finished one.
func Assemble(ctx context.Context, dir string, in *Inputs, log io.Writer) (*Manifest, error) {
	if log == nil {
		log = io.Discard
	}
	if len(in.Langs) == 0 || in.Langs[0] != "en" || in.Records["en"] == nil {
		return nil, fmt.Errorf("assemble: English must be the first language and have records")
	}
	m := &Manifest{
		Version: FormatVersion, Command: in.Command, Inputs: in.Key, Languages: in.Langs, Shares: in.Shares,
		SplitHash: ddtp.SplitHashDescription, Releases: in.Releases, Files: map[string]*FileStats{},
		HeldOut: HeldOutReport{Rule: heldOutRule, Dropped: map[string]int{}, Duplicate: map[string]int{}, BySource: map[string]map[string]int{}},
	}
	write := func(rel string, data []byte, docs int64, sources []string) error {
		st := statText(data, docs)
		st.Sources = sources
		full := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(full, data); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		m.Files[rel] = st
		return nil
	}
	ddtpSrc := func(langs ...string) []string {
		var s []string
		for _, l := range langs {
			s = append(s, "DDTP Translation-"+l)
		}
		return s
	}

	// Tasks.
	t := BuildTopic(in.Records, in.Shares)
	for sp := ddtp.Split(0); sp < ddtp.NumSplits; sp++ {
		items := t.En[sp]
		if err := write("topic/en/"+sp.String()+".tsv", writeTopic(items), int64(len(items)), ddtpSrc("en")); err != nil {
			return nil, err
		}
		pairs := choosePairs(items, pairOK(items), "en-"+sp.String())
		if err := write("pair/en/"+sp.String()+".tsv", writePairs("en", items, pairs), int64(len(pairs)), ddtpSrc("en")); err != nil {
			return nil, err
		}
	}
	for _, l := range in.Langs[1:] {
		items, en := t.Test[l], t.TestEn[l]
		if err := write("topic/"+l+"/test.tsv", writeTopic(items), int64(len(items)), ddtpSrc(l, "en")); err != nil {
			return nil, err
		}
		if err := write("topic/"+l+"/test.en.tsv", writeTopic(en), int64(len(en)), ddtpSrc(l, "en")); err != nil {
			return nil, err
		}
		pairs := choosePairs(items, pairOK(items, en), l+"-test")
		if err := write("pair/"+l+"/test.tsv", writePairs(l, items, pairs), int64(len(pairs)), ddtpSrc(l, "en")); err != nil {
			return nil, err
		}
		if err := write("pair/"+l+"/test.en.tsv", writePairs("en", en, pairs), int64(len(pairs)), ddtpSrc(l, "en")); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "debian: topic task: en train %d, dev %d, test %d items\n", len(t.En[ddtp.Train]), len(t.En[ddtp.Dev]), len(t.En[ddtp.Test]))

	// Held-out texts: every description of a dev or test source package,
	// in every language.
	var held []string
	for _, l := range in.Langs {
		for i := range in.Records[l] {
			r := &in.Records[l][i]
			if ddtp.SplitOf(r.Source, in.Shares) != ddtp.Train {
				held = append(held, r.Text())
			}
		}
	}
	filter := NewHeldOut(held, true)
	m.HeldOut.Texts, m.HeldOut.Patterns = len(held), filter.Patterns()
	fmt.Fprintf(log, "debian: held out: %d dev/test descriptions, %d patterns\n", len(held), filter.Patterns())

	// Corpora.
	corpora := map[string][]byte{}
	for _, l := range in.Langs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		var n int64
		seen := map[[32]byte]bool{}
		sources := []string{}
		m.HeldOut.BySource[l] = map[string]int{}
		add := func(src string, lines []string) bool {
			if _, bad := filter.Match(lines); bad {
				m.HeldOut.Dropped[l]++
				m.HeldOut.BySource[l][src]++
				return false
			}
			k := sha256.Sum256([]byte(strings.Join(lines, "\n")))
			if seen[k] {
				m.HeldOut.Duplicate[l]++
				return false
			}
			seen[k] = true
			if n > 0 {
				b.WriteByte('\n')
			}
			for _, x := range lines {
				b.WriteString(x)
				b.WriteByte('\n')
			}
			n++
			return true
		}
		var sections []Section
		dd := 0
		for i := range in.Records[l] {
			r := &in.Records[l][i]
			if ddtp.SplitOf(r.Source, in.Shares) != ddtp.Train || r.Text() == "" {
				continue
			}
			if add("DDTP", strings.Split(r.Text(), "\n")) {
				dd++
			}
		}
		if dd > 0 {
			sources = append(sources, "DDTP Translation-"+l)
			sections = append(sections, Section{Source: "DDTP Translation-" + l, Documents: int64(dd)})
		}
		for _, e := range in.Packages {
			k := 0
			for _, d := range e.Docs {
				if d.Lang == l && add(e.Package.Name, d.Lines) {
					k++
				}
			}
			if k > 0 {
				sources = append(sources, e.Package.Name+" "+e.Version)
				sections = append(sections, Section{Source: e.Package.Name + " " + e.Version, Documents: int64(k)})
			}
		}
		rel := "corpora/" + l + ".txt"
		if err := write(rel, b.Bytes(), n, sources); err != nil {
			return nil, err
		}
		m.Files[rel].Sections = sections
		corpora[l] = b.Bytes()
		st := m.Files[rel]
		fmt.Fprintf(log, "debian: corpus %s: %d documents, %.1f MB, %d words (%d held-out, %d duplicate documents dropped)\n",
			l, st.Documents, float64(st.Bytes)/1e6, st.Words, m.HeldOut.Dropped[l], m.HeldOut.Duplicate[l])
	}

	// The check: no dev or test task item's text occurs in any corpus.
	var items []string
	for sp := ddtp.Dev; sp < ddtp.NumSplits; sp++ {
		for i := range t.En[sp] {
			items = append(items, t.En[sp][i].Text())
		}
	}
	for _, l := range in.Langs[1:] {
		for i := range t.Test[l] {
			items = append(items, t.Test[l][i].Text(), t.TestEn[l][i].Text())
		}
	}
	found, err := FindItems(corpora, items)
	if err != nil {
		return nil, err
	}
	m.HeldOut.Checked, m.HeldOut.Found = len(items), len(found)
	if len(found) > 0 {
		return nil, fmt.Errorf("held-out check failed: %d dev/test task texts occur in the corpora, e.g. %q", len(found), clip(found[0], 120))
	}
	fmt.Fprintf(log, "debian: check: none of %d dev/test task texts occurs in any corpus\n", len(items))

	// Manifest and data card.
	for _, e := range in.Packages {
		pr := PackageRecord{Name: e.Package.Name, Version: e.Version, Kind: e.Package.Kind.String(), Licenses: e.Licenses, Documents: map[string]int{}, Stats: e.Stats}
		for _, d := range e.Docs {
			pr.Documents[d.Lang]++
		}
		m.Packages = append(m.Packages, pr)
	}
	card := dataCard(m, t)
	if err := write(DataCardName, card, 0, nil); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ManifestName), append(data, '\n')); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return m, nil
}

// FindItems returns the texts (task items, one line each) that occur in
// any corpus (files of blank-line-separated documents): as a whole document,
// or, when at least MinMatch bytes long, inside one, compared normalised.
func FindItems(corpora map[string][]byte, texts []string) ([]string, error) {
	h := NewHeldOut(texts, false)
	var found []string
	langs := make([]string, 0, len(corpora))
	for l := range corpora {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		for _, doc := range splitDocs(corpora[l]) {
			if p, ok := h.Match(doc); ok {
				found = append(found, p)
			}
		}
	}
	return found, nil
}

// splitDocs cuts corpus text into documents (lists of lines) at blank
// lines.
func splitDocs(data []byte) [][]string {
	var docs [][]string
	var cur []string
	for _, l := range strings.Split(string(data), "\n") {
		if l == "" {
			if len(cur) > 0 {
				docs = append(docs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if len(cur) > 0 {
		docs = append(docs, cur)
	}
	return docs
}

// statText measures data: characters, words, bytes, SHA-256; docs is the
// document or item count the caller knows.
func statText(data []byte, docs int64) *FileStats {
	sum := sha256.Sum256(data)
	return &FileStats{
		Documents:  docs,
		Characters: int64(utf8.RuneCount(data)),
		Words:      int64(len(bytes.Fields(data))),
		Bytes:      int64(len(data)),
		SHA256:     hex.EncodeToString(sum[:]),
	}
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
