// Package task reads the files of the downstream tasks Lethe fine-tunes and
// evaluates on: sentence and sentence-pair classification (XNLI and MNLI in
// their TSV and JSON Lines forms, the DDTP topic task as plain
// label<TAB>text lines) and extractive question answering (SQuAD v1.1,
// XQuAD and MLQA JSON), plus the SQuAD prediction files ({id: answer text})
// that question-answering evaluation exchanges.
//
// Readers check their input strictly: an error names the file, the position
// (line, or byte offset, or JSON path) and what was expected.
package task

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// XNLILabels are the three NLI labels in the order of the Hugging Face XNLI
// and MNLI datasets (label ids 0, 1, 2).
var XNLILabels = []string{"entailment", "neutral", "contradiction"}

// Example is one classification item.
type Example struct {
	ID       string // pairID when the file has one, else the line number in decimal
	Lang     string // the language column, or ReadOptions.Lang when the file has none
	Text     string // sentence1 (premise) or the single text
	TextPair string // sentence2 (hypothesis); empty for single-text tasks
	Label    string // gold label
	Line     int    // 1-based line in the file, for error messages
}

// ReadOptions controls ReadClassification.
type ReadOptions struct {
	// Labels, when non-nil, is the closed set of valid labels: a label
	// outside it is an error, and the set's Labels is this slice (so that
	// label ids are fixed by the caller, e.g. XNLILabels).
	Labels []string

	// Lang fills Example.Lang for files without a language column (and for
	// rows whose language field is empty).
	Lang string
}

// Formats ReadClassification recognises (ClassificationSet.Format).
const (
	FormatTSV   = "tsv"   // tab-separated with an XNLI/MNLI header row
	FormatJSONL = "jsonl" // one JSON object per line with XNLI/MNLI keys
	FormatPlain = "plain" // label<TAB>text[<TAB>text_pair], no header
)

// ClassificationSet is the content of one classification file.
type ClassificationSet struct {
	Path     string
	Format   string    // FormatTSV, FormatJSONL or FormatPlain
	Examples []Example // in file order
	Labels   []string  // ReadOptions.Labels, or the sorted distinct labels seen
	Skipped  int       // rows without a gold label ("-" in MNLI/XNLI), not in Examples
}

// Langs returns the distinct languages of the examples, sorted.
func (s *ClassificationSet) Langs() []string {
	var langs []string
	for _, e := range s.Examples {
		langs = append(langs, e.Lang)
	}
	slices.Sort(langs)
	return slices.Compact(langs)
}

// ByLang groups the examples by language, each group in file order; with
// Langs it gives per-language accuracy.
func (s *ClassificationSet) ByLang() map[string][]Example {
	m := make(map[string][]Example)
	for _, e := range s.Examples {
		m[e.Lang] = append(m[e.Lang], e)
	}
	return m
}

// LabelID returns the index of label in s.Labels, or -1.
func (s *ClassificationSet) LabelID(label string) int {
	return slices.Index(s.Labels, label)
}

// headerColumns are the column names of the XNLI and MNLI TSV headers that
// make a first line a header (see ReadClassification).
var headerColumns = map[string]bool{
	"language": true, "gold_label": true, "sentence1": true, "sentence2": true,
	"pairID": true, "promptID": true, "genre": true,
}

// ReadClassification reads a classification file. The format is chosen from
// the name and the first non-empty line:
//   - a name ending in .jsonl, or a first line starting with '{': JSON Lines
//     with the XNLI/MNLI keys gold_label, sentence1, sentence2 (required)
//     and language, pairID (optional); other keys (genre, ...) are ignored;
//   - otherwise a first line with at least two tab-separated fields that are
//     XNLI/MNLI column names (language, gold_label, sentence1, sentence2,
//     pairID, promptID, genre) is a header: the columns gold_label,
//     sentence1 and sentence2 are required, in any order, extra columns are
//     ignored, and every row must have as many fields as the header;
//   - otherwise the file has no header and every line is
//     label<TAB>text or label<TAB>text<TAB>text_pair, with the same number
//     of fields on every line as on the first (the DDTP topic task).
//
// Fields are split on tabs only, without any quoting (XNLI's TSV has
// unescaped quotes). Rows whose gold label is "-" (no annotator majority)
// are skipped and counted in Skipped. Empty lines are ignored, a UTF-8 byte
// order mark and a CR before each newline are removed.
func ReadClassification(path string, opts ReadOptions) (*ClassificationSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	defer f.Close()
	r := &lineReader{r: bufio.NewReaderSize(f, 1<<16), path: path}

	first, err := r.next()
	if err == io.EOF {
		return nil, fmt.Errorf("task: %s: empty file, expected classification examples", path)
	}
	if err != nil {
		return nil, err
	}
	first.text = strings.TrimPrefix(first.text, "\uFEFF")

	set := &ClassificationSet{Path: path}
	var labelSet map[string]bool
	if opts.Labels != nil {
		set.Labels = append([]string(nil), opts.Labels...)
		labelSet = make(map[string]bool, len(opts.Labels))
		for _, l := range opts.Labels {
			labelSet[l] = true
		}
	}
	add := func(e Example) error {
		if e.Label == "-" {
			set.Skipped++
			return nil
		}
		if e.Label == "" {
			return fmt.Errorf("task: %s:%d: empty label", path, e.Line)
		}
		if labelSet != nil && !labelSet[e.Label] {
			return fmt.Errorf("task: %s:%d: label %q is not one of the allowed labels %s",
				path, e.Line, e.Label, strings.Join(opts.Labels, ", "))
		}
		if strings.TrimSpace(e.Text) == "" {
			return fmt.Errorf("task: %s:%d: empty text", path, e.Line)
		}
		if e.Lang == "" {
			e.Lang = opts.Lang
		}
		if e.ID == "" {
			e.ID = strconv.Itoa(e.Line)
		}
		set.Examples = append(set.Examples, e)
		return nil
	}

	switch {
	case strings.EqualFold(filepath.Ext(path), ".jsonl") || strings.HasPrefix(first.text, "{"):
		set.Format = FormatJSONL
		err = readJSONL(r, first, add)
	case isHeader(first.text):
		set.Format = FormatTSV
		err = readHeaderTSV(r, first, add)
	default:
		set.Format = FormatPlain
		err = readPlain(r, first, add)
	}
	if err != nil {
		return nil, err
	}
	if len(set.Examples) == 0 {
		return nil, fmt.Errorf("task: %s: no examples (%d rows skipped for label \"-\")", path, set.Skipped)
	}
	if set.Labels == nil {
		for _, e := range set.Examples {
			set.Labels = append(set.Labels, e.Label)
		}
		slices.Sort(set.Labels)
		set.Labels = slices.Compact(set.Labels)
	}
	return set, nil
}

func isHeader(line string) bool {
	n := 0
	for _, f := range strings.Split(line, "\t") {
		if headerColumns[f] {
			n++
		}
	}
	return n >= 2
}

func readHeaderTSV(r *lineReader, header line, add func(Example) error) error {
	cols := strings.Split(header.text, "\t")
	index := func(name string) int { return slices.Index(cols, name) }
	iLabel, iS1, iS2 := index("gold_label"), index("sentence1"), index("sentence2")
	iLang, iID := index("language"), index("pairID")
	for _, req := range []struct {
		name string
		i    int
	}{{"gold_label", iLabel}, {"sentence1", iS1}, {"sentence2", iS2}} {
		if req.i < 0 {
			return fmt.Errorf("task: %s:%d: header lacks the required column %q (has %s)",
				r.path, header.no, req.name, strings.Join(cols, ", "))
		}
	}
	get := func(fields []string, i int) string {
		if i < 0 {
			return ""
		}
		return fields[i]
	}
	for {
		l, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fields := strings.Split(l.text, "\t")
		if len(fields) != len(cols) {
			return fmt.Errorf("task: %s:%d: %d tab-separated fields, expected %d as in the header",
				r.path, l.no, len(fields), len(cols))
		}
		e := Example{ID: get(fields, iID), Lang: get(fields, iLang), Label: fields[iLabel],
			Text: fields[iS1], TextPair: fields[iS2], Line: l.no}
		if e.Label != "-" && strings.TrimSpace(e.TextPair) == "" {
			return fmt.Errorf("task: %s:%d: empty sentence2", r.path, l.no)
		}
		if err := add(e); err != nil {
			return err
		}
	}
}

func readPlain(r *lineReader, first line, add func(Example) error) error {
	want := len(strings.Split(first.text, "\t"))
	if want != 2 && want != 3 {
		return fmt.Errorf("task: %s:%d: %d tab-separated fields, expected label<TAB>text or label<TAB>text<TAB>text_pair "+
			"(or a header with the columns gold_label, sentence1, sentence2)", r.path, first.no, want)
	}
	for l, err := first, error(nil); ; l, err = r.next() {
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fields := strings.Split(l.text, "\t")
		if len(fields) != want {
			return fmt.Errorf("task: %s:%d: %d tab-separated fields, expected %d as on line %d",
				r.path, l.no, len(fields), want, first.no)
		}
		e := Example{Label: fields[0], Text: fields[1], Line: l.no}
		if want == 3 {
			e.TextPair = fields[2]
			if strings.TrimSpace(e.TextPair) == "" {
				return fmt.Errorf("task: %s:%d: empty text_pair (third field)", r.path, l.no)
			}
		}
		if err := add(e); err != nil {
			return err
		}
	}
}

// jsonRow holds the keys of an XNLI/MNLI JSON line that Lethe uses; the
// pointers tell a missing key from an empty value.
type jsonRow struct {
	Language  string          `json:"language"`
	GoldLabel *string         `json:"gold_label"`
	Sentence1 *string         `json:"sentence1"`
	Sentence2 *string         `json:"sentence2"`
	PairID    json.RawMessage `json:"pairID"`
}

func readJSONL(r *lineReader, first line, add func(Example) error) error {
	for l, err := first, error(nil); ; l, err = r.next() {
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		var row jsonRow
		if err := json.Unmarshal([]byte(l.text), &row); err != nil {
			return r.jsonError(l, err)
		}
		for _, k := range []struct {
			name string
			v    *string
		}{{"gold_label", row.GoldLabel}, {"sentence1", row.Sentence1}, {"sentence2", row.Sentence2}} {
			if k.v == nil {
				return fmt.Errorf("task: %s:%d: JSON object lacks the required key %q", r.path, l.no, k.name)
			}
		}
		e := Example{Lang: row.Language, Label: *row.GoldLabel, Text: *row.Sentence1, TextPair: *row.Sentence2, Line: l.no}
		if len(row.PairID) > 0 && string(row.PairID) != "null" {
			var s string
			if json.Unmarshal(row.PairID, &s) == nil {
				e.ID = s
			} else {
				e.ID = string(row.PairID) // a number: keep its JSON text
			}
		}
		if e.Label != "-" && strings.TrimSpace(e.TextPair) == "" {
			return fmt.Errorf("task: %s:%d: empty sentence2", r.path, l.no)
		}
		if err := add(e); err != nil {
			return err
		}
	}
}

// line is one non-empty line of a file without its line ending.
type line struct {
	text   string
	no     int   // 1-based line number
	offset int64 // byte offset of the line's first byte in the file
}

// lineReader yields the non-empty lines of a file, checking UTF-8.
type lineReader struct {
	r      *bufio.Reader
	path   string
	no     int
	offset int64
}

// next returns the next non-empty line, or io.EOF.
func (r *lineReader) next() (line, error) {
	for {
		s, err := r.r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return line{}, fmt.Errorf("task: %s: line %d: %w", r.path, r.no+1, err)
		}
		if s == "" && err != nil {
			return line{}, io.EOF
		}
		r.no++
		l := line{no: r.no, offset: r.offset}
		r.offset += int64(len(s))
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		if !utf8.ValidString(s) {
			bad := 0
			for bad < len(s) {
				c, n := utf8.DecodeRuneInString(s[bad:])
				if c == utf8.RuneError && n == 1 {
					break
				}
				bad += n
			}
			return line{}, fmt.Errorf("task: %s:%d: byte offset %d: invalid UTF-8, expected UTF-8 text",
				r.path, l.no, l.offset+int64(bad))
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		l.text = s
		return l, nil
	}
}

// jsonError reports a JSON decoding error of line l with the position
// encoding/json gives: the number of bytes it had read when it failed, so
// the last of them (column) is the offending one for a syntax error.
func (r *lineReader) jsonError(l line, err error) error {
	off := jsonOffset(err)
	if off < 0 {
		return fmt.Errorf("task: %s:%d: bad JSON, expected an object with string values: %w", r.path, l.no, err)
	}
	return fmt.Errorf("task: %s:%d: bad JSON after byte offset %d of the file (column %d), expected an object with string values: %w",
		r.path, l.no, l.offset+off, off, err)
}

// jsonOffset returns the offset encoding/json reports with err, or -1.
func jsonOffset(err error) int64 {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return syn.Offset
	case errors.As(err, &typ):
		return typ.Offset
	}
	return -1
}
