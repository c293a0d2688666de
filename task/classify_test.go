package task

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadClassification(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		opts    ReadOptions
		format  string
		labels  []string
		skipped int
		langs   []string
		want    []Example // all examples, in order
	}{
		{
			name:    "XNLI tsv, columns reordered, extra columns, unescaped quotes",
			path:    "testdata/xnli.tsv",
			opts:    ReadOptions{Labels: XNLILabels},
			format:  FormatTSV,
			labels:  XNLILabels,
			skipped: 1,
			langs:   []string{"ar", "de", "en", "zh"},
			want: []Example{
				{ID: "1", Lang: "en", Text: `He said "hi and left.`, TextPair: "He spoke.", Label: "entailment", Line: 2},
				{ID: "2", Lang: "de", Text: "Der Bär läuft über die Straße.", TextPair: "Ein Tier bewegt sich.", Label: "entailment", Line: 3},
				{ID: "3", Lang: "zh", Text: `他说"你好"然后走了。`, TextPair: "他一直没有说话。", Label: "contradiction", Line: 4},
				{ID: "4", Lang: "ar", Text: "ذهب الولد إلى المدرسة.", TextPair: "الولد في البيت.", Label: "neutral", Line: 5},
			},
		},
		{
			name:    "MNLI jsonl, '-' skipped, blank line, numeric pairID",
			path:    "testdata/mnli.jsonl",
			opts:    ReadOptions{Lang: "en"},
			format:  FormatJSONL,
			labels:  []string{"contradiction", "entailment", "neutral"},
			skipped: 1,
			langs:   []string{"en"},
			want: []Example{
				{ID: "31193n", Lang: "en", Text: "Conceptually cream skimming has two basic dimensions - product and geography.",
					TextPair: "Product and geography are what make cream skimming work. ", Label: "neutral", Line: 1},
				{ID: "134793e", Lang: "en", Text: "One of our number will carry out your instructions minutely.",
					TextPair: "A member of my team will execute your orders with immense precision.", Label: "entailment", Line: 4},
				{ID: "42", Lang: "en", Text: "Gays and lesbians.", TextPair: "Heterosexuals.", Label: "contradiction", Line: 5},
			},
		},
		{
			name:   "topic task, plain label<TAB>text, CRLF and blank line",
			path:   "testdata/topic.tsv",
			opts:   ReadOptions{Lang: "de"},
			format: FormatPlain,
			labels: []string{"devel", "games", "network"},
			langs:  []string{"de"},
			want: []Example{
				{ID: "1", Lang: "de", Text: "A puzzle game with falling blocks", Label: "games", Line: 1},
				{ID: "2", Lang: "de", Text: "Web server for static files", Label: "network", Line: 2},
				{ID: "4", Lang: "de", Text: `Version control system "git" helper`, Label: "devel", Line: 4},
			},
		},
		{
			name:   "topic pair task, label<TAB>text<TAB>text_pair",
			path:   "testdata/topic_pair.tsv",
			opts:   ReadOptions{Labels: []string{"match", "related", "unrelated"}},
			format: FormatPlain,
			labels: []string{"match", "related", "unrelated"},
			langs:  []string{""},
			want: []Example{
				{ID: "1", Text: "A puzzle game with falling blocks and a long description.", TextPair: "puzzle game", Label: "match", Line: 1},
				{ID: "2", Text: "Web server for static files.", TextPair: "text editor for programmers", Label: "unrelated", Line: 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, err := ReadClassification(tc.path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if set.Format != tc.format || set.Skipped != tc.skipped || set.Path != tc.path {
				t.Errorf("format %q skipped %d path %q, want %q %d %q", set.Format, set.Skipped, set.Path, tc.format, tc.skipped, tc.path)
			}
			if !reflect.DeepEqual(set.Labels, tc.labels) {
				t.Errorf("labels %q, want %q", set.Labels, tc.labels)
			}
			if !reflect.DeepEqual(set.Langs(), tc.langs) {
				t.Errorf("langs %q, want %q", set.Langs(), tc.langs)
			}
			if !reflect.DeepEqual(set.Examples, tc.want) {
				t.Errorf("examples:\n got %+v\nwant %+v", set.Examples, tc.want)
			}
			n := 0
			for lang, exs := range set.ByLang() {
				for _, e := range exs {
					if e.Lang != lang {
						t.Errorf("ByLang()[%q] holds an example of %q", lang, e.Lang)
					}
				}
				n += len(exs)
			}
			if n != len(set.Examples) {
				t.Errorf("ByLang holds %d examples, want %d", n, len(set.Examples))
			}
		})
	}
}

func TestLabelID(t *testing.T) {
	set, err := ReadClassification("testdata/xnli.tsv", ReadOptions{Labels: XNLILabels})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range XNLILabels {
		if got := set.LabelID(l); got != i {
			t.Errorf("LabelID(%q) = %d, want %d", l, got, i)
		}
	}
	if got := set.LabelID("maybe"); got != -1 {
		t.Errorf("LabelID(maybe) = %d, want -1", got)
	}
}

func TestReadClassificationErrors(t *testing.T) {
	const header = "language\tgold_label\tsentence1\tsentence2\tpairID\n"
	tests := []struct {
		name    string
		file    string // name in a temporary directory
		content string
		opts    ReadOptions
		want    []string // substrings of the error, after the file name
	}{
		{"empty file", "a.tsv", "", ReadOptions{}, []string{"empty file"}},
		{"missing column", "a.tsv", "language\tgold_label\tsentence1\tpairID\nen\tneutral\tx\t1\n", ReadOptions{},
			[]string{":1: header lacks the required column \"sentence2\""}},
		{"wrong column count", "a.tsv", header + "en\tneutral\tx\ty\t1\nen\tneutral\tx\ty\n", ReadOptions{},
			[]string{":3: 4 tab-separated fields, expected 5 as in the header"}},
		{"unknown label", "a.tsv", header + "en\tneutral\tx\ty\t1\n\nen\tmaybe\tx\ty\t2\n", ReadOptions{Labels: XNLILabels},
			[]string{":4: label \"maybe\" is not one of the allowed labels entailment, neutral, contradiction"}},
		{"empty text", "a.tsv", header + "en\tneutral\t \ty\t1\n", ReadOptions{}, []string{":2: empty text"}},
		{"empty sentence2", "a.tsv", header + "en\tneutral\tx\t\t1\n", ReadOptions{}, []string{":2: empty sentence2"}},
		{"only skipped rows", "a.tsv", header + "en\t-\tx\ty\t1\n", ReadOptions{}, []string{"no examples (1 rows skipped"}},
		{"plain one field", "t.tsv", "games a puzzle\n", ReadOptions{}, []string{":1: 1 tab-separated fields, expected label<TAB>text"}},
		{"plain inconsistent", "t.tsv", "games\ta puzzle\nnet\tweb\tserver\n", ReadOptions{},
			[]string{":2: 3 tab-separated fields, expected 2 as on line 1"}},
		{"plain empty label", "t.tsv", "games\ta puzzle\n\tweb server\n", ReadOptions{}, []string{":2: empty label"}},
		{"plain empty pair", "t.tsv", "match\ta\tb\nmatch\tc\t\n", ReadOptions{}, []string{":2: empty text_pair"}},
		{"invalid UTF-8", "t.tsv", "games\tok\nnet\tab\xffc\n", ReadOptions{},
			[]string{":2: byte offset 15: invalid UTF-8"}},
		// line 2 starts at byte 62; the stray '"' is its 39th byte
		{"bad JSON", "a.jsonl",
			`{"gold_label": "neutral", "sentence1": "x", "sentence2": "y"}` + "\n" +
				`{"gold_label": "neutral", "sentence1" "x"}` + "\n", ReadOptions{},
			[]string{":2: bad JSON after byte offset 101 of the file (column 39)", "after object key"}},
		{"JSON wrong type", "a.jsonl", `{"gold_label": 1, "sentence1": "x", "sentence2": "y"}` + "\n", ReadOptions{},
			[]string{":1: bad JSON after byte offset 16 of the file (column 16)", "gold_label"}},
		{"JSON missing key", "a.jsonl", `{"gold_label": "neutral", "sentence1": "x"}` + "\n", ReadOptions{},
			[]string{":1: JSON object lacks the required key \"sentence2\""}},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, string(rune('a'+i)))
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(sub, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadClassification(path, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestReadClassificationMissingFile(t *testing.T) {
	if _, err := ReadClassification(filepath.Join(t.TempDir(), "none.tsv"), ReadOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want a not-exist error", err)
	}
}
