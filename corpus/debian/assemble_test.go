package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/corpus/ddtp"
)

// fixtureInputs are the tiny DDTP index plus two fake packages whose
// documents include held-out text that must be dropped.
func fixtureInputs(t *testing.T) *Inputs {
	t.Helper()
	recs := fixtureRecords(t)
	return &Inputs{
		Langs:   []string{"en", "de"},
		Shares:  ddtp.DefaultShares(),
		Records: recs,
		Packages: []*Extracted{
			{Package: Package{"manpages", Man, "en"}, Version: "6.03-2", Licenses: []string{"GPL-2+"}, Docs: []Doc{
				{"en", "usr/share/man/man1/clean.1.gz", []string{"CLEAN", "A clean manual page about nothing held out."}},
				{"en", "usr/share/man/man1/leak.1.gz", []string{"LEAK", "DESCRIPTION: " + longPara + " More."}},
				{"en", "usr/share/man/man1/whole.1.gz", []string{"dev split arcade shooter", "Devgame is a vertical scrolling arcade shooter with twelve levels, boss fights and a two player mode."}},
				{"en", "usr/share/man/man1/dup.1.gz", []string{"CLEAN", "A clean manual page about nothing held out."}},
			}},
			{Package: Package{"manpages-de", Man, "de"}, Version: "4.18.1-1", Licenses: []string{"GPL-3+"}, Docs: []Doc{
				{"de", "usr/share/man/de/man1/sauber.1.gz", []string{"Eine saubere Handbuchseite."}},
				{"de", "usr/share/man/de/man1/leck.1.gz", []string{"Tsound spielt Audiodateien vieler Formate auf der Kommandozeile ab und verwaltet eine Warteschlange."}},
			}},
		},
		Command: "lethe data build --test",
		Key:     "k",
	}
}

func readDocs(t *testing.T, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return splitDocs(data)
}

func TestAssemble(t *testing.T) {
	dir := t.TempDir()
	in := fixtureInputs(t)
	m, err := Assemble(context.Background(), dir, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DATACARD.md", "corpora/de.txt", "corpora/en.txt",
		"pair/de/test.en.tsv", "pair/de/test.tsv", "pair/en/dev.tsv", "pair/en/test.tsv", "pair/en/train.tsv",
		"topic/de/test.en.tsv", "topic/de/test.tsv", "topic/en/dev.tsv", "topic/en/test.tsv", "topic/en/train.tsv",
	}
	var got []string
	for rel := range m.Files {
		got = append(got, rel)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("manifest files %v\nwant %v", got, want)
	}

	// Corpora: train DDTP texts and clean package documents; nothing held
	// out, no duplicate.
	en := readDocs(t, filepath.Join(dir, "corpora/en.txt"))
	var enTexts []string
	for _, d := range en {
		enTexts = append(enTexts, strings.Join(d, "\n"))
	}
	wantEn := []string{
		"falling blocks puzzle for the terminal\nBlocks is a clone of a famous falling block puzzle game that runs in any text terminal.\nIt keeps a high score table in your home directory.",
		"small modal text editor\nQuill is a small modal text editor with syntax highlighting for twenty languages and a macro recorder.",
		"retrieve mail from POP3 servers\nThis program fetches mail from remote POP3 and IMAP servers and hands it to the local mail transport agent.",
		"orbital mechanics calculator\nOrbit computes Keplerian orbital elements, transfer windows and delta-v budgets for spacecraft missions.",
		"incremental build driver\nBuildtool reads a description of targets and their dependencies and rebuilds only what changed since the last run.",
		"chess engine with a simple board\nChess-lite is a compact chess engine speaking the UCI protocol, with a simple graphical board for casual play.",
		"foo shared library\nThis package contains the shared library of foo, a library for parsing foo files quickly and safely.",
		// texfmt (train source) has the text of tdup (test source): dropped.
		"CLEAN\nA clean manual page about nothing held out.",
	}
	if !slices.Equal(enTexts, wantEn) {
		t.Errorf("corpora/en.txt documents:\n%s\nwant:\n%s", strings.Join(enTexts, "\n\n"), strings.Join(wantEn, "\n\n"))
	}
	de := readDocs(t, filepath.Join(dir, "corpora/de.txt"))
	if len(de) != 2 || de[1][0] != "Eine saubere Handbuchseite." {
		t.Errorf("corpora/de.txt: %q, want blocks' translation and the clean page", de)
	}
	if m.HeldOut.Dropped["en"] != 3 || m.HeldOut.Dropped["de"] != 1 || m.HeldOut.Duplicate["en"] != 1 || m.HeldOut.Found != 0 {
		t.Errorf("held out %+v, want en 3 and de 1 dropped, 1 duplicate, 0 found", m.HeldOut)
	}

	// The proof, by brute force: no dev or test item text, and no dev or
	// test description of any language, occurs in any corpus.
	var held []string
	for _, f := range []string{"topic/en/dev.tsv", "topic/en/test.tsv", "topic/de/test.tsv", "topic/de/test.en.tsv"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			_, text, ok := strings.Cut(l, "\t")
			if !ok {
				t.Fatalf("%s: line %q is not label<TAB>text", f, l)
			}
			held = append(held, text)
		}
	}
	for _, l := range in.Langs {
		for _, r := range in.Records[l] {
			if ddtp.SplitOf(r.Source, in.Shares) != ddtp.Train {
				held = append(held, strings.ReplaceAll(r.Text(), "\n", " "))
			}
		}
	}
	if len(held) < 20 {
		t.Fatalf("only %d held-out texts", len(held))
	}
	for _, c := range []string{"en", "de"} {
		for _, d := range readDocs(t, filepath.Join(dir, "corpora", c+".txt")) {
			doc := normalize(strings.Join(d, " "))
			for _, h := range held {
				h = normalize(h)
				if doc == h || len(h) >= MinMatch && strings.Contains(doc, h) {
					t.Errorf("corpora/%s.txt has held-out text %q in %q", c, h, doc)
				}
			}
		}
	}

	// Manifest figures match the files.
	for rel, st := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if st.Bytes != int64(len(data)) || st.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: manifest bytes %d sha %s, file %d bytes", rel, st.Bytes, st.SHA256, len(data))
		}
		if strings.HasPrefix(rel, "corpora/") && st.Documents != int64(len(splitDocs(data))) {
			t.Errorf("%s: manifest %d documents, file %d", rel, st.Documents, len(splitDocs(data)))
		}
		if strings.HasPrefix(rel, "corpora/") {
			var sum int64
			for _, sec := range st.Sections {
				sum += sec.Documents
			}
			if sum != st.Documents || len(st.Sections) != len(st.Sources) {
				t.Errorf("%s: sections %+v cover %d documents of %d, for sources %v", rel, st.Sections, sum, st.Documents, st.Sources)
			}
		}
	}
	if s := m.Files["corpora/en.txt"].Sources; !slices.Equal(s, []string{"DDTP Translation-en", "manpages 6.03-2"}) {
		t.Errorf("corpora/en.txt sources %v", s)
	}
	if st := m.Files["corpora/de.txt"]; st.Words != int64(len(strings.Fields(string(mustRead(t, dir, "corpora/de.txt"))))) || st.Characters != int64(len([]rune(string(mustRead(t, dir, "corpora/de.txt"))))) {
		t.Errorf("corpora/de.txt: %d words, %d characters", st.Words, st.Characters)
	}

	// Topic files of German and its English ceiling align; pair files have
	// the header and all three labels.
	deTopic := strings.Split(strings.TrimSpace(string(mustRead(t, dir, "topic/de/test.tsv"))), "\n")
	enTopic := strings.Split(strings.TrimSpace(string(mustRead(t, dir, "topic/de/test.en.tsv"))), "\n")
	if len(deTopic) != 4 || len(enTopic) != 4 {
		t.Fatalf("topic/de: %d and %d lines, want 4", len(deTopic), len(enTopic))
	}
	for i := range deTopic {
		if a, b := strings.Split(deTopic[i], "\t")[0], strings.Split(enTopic[i], "\t")[0]; a != b {
			t.Errorf("line %d: labels %s and %s", i, a, b)
		}
	}
	pairs := string(mustRead(t, dir, "pair/en/train.tsv"))
	if !strings.HasPrefix(pairs, PairHeader+"\n") {
		t.Errorf("pair/en/train.tsv does not start with the header: %q", pairs)
	}
	for _, l := range []string{"\tmatch\t", "\trelated\t", "\tunrelated\t"} {
		if !strings.Contains(pairs, l) {
			t.Errorf("pair/en/train.tsv has no %s pair", strings.Trim(l, "\t"))
		}
	}
	card := string(mustRead(t, dir, "DATACARD.md"))
	for _, s := range []string{"| manpages | 6.03-2 | man | en 4 | GPL-2+ |", "| manpages-de | 4.18.1-1 |", "found 0"} {
		if !strings.Contains(card, s) {
			t.Errorf("DATACARD.md lacks %q", s)
		}
	}
	var back Manifest
	if err := json.Unmarshal(mustRead(t, dir, ManifestName), &back); err != nil || back.Inputs != "k" {
		t.Errorf("manifest.json: %v, inputs %q", err, back.Inputs)
	}

	// A second assembly from the same inputs is byte-identical.
	dir2 := t.TempDir()
	if _, err := Assemble(context.Background(), dir2, fixtureInputs(t), nil); err != nil {
		t.Fatal(err)
	}
	for _, rel := range append(want, ManifestName) {
		if !bytes.Equal(mustRead(t, dir, rel), mustRead(t, dir2, rel)) {
			t.Errorf("%s differs between two builds", rel)
		}
	}
}

func mustRead(t *testing.T, dir, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
