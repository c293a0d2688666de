package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"lethe/internal/atomicfile"
	"os"
	"strings"
	"unicode/utf8"
)

// Answer is one gold answer span.
type Answer struct {
	Text string
	// Start is the BYTE offset of the answer in QAExample.Context, so that
	// Context[Start:Start+len(Text)] == Text. (SQuAD's answer_start counts
	// Unicode code points, as Python indexes strings; ReadSQuAD converts.)
	Start int
}

// QAExample is one question with its context paragraph.
type QAExample struct {
	ID       string
	Title    string // title of the article the paragraph comes from
	Context  string
	Question string
	Answers  []Answer // may be empty (test files read for prediction only)
}

// QASet is the content of one SQuAD-format file.
type QASet struct {
	Path     string
	Version  string      // the file's "version" field, as text ("1.1", "1.0", ...)
	Examples []QAExample // in file order
}

// Golds returns, for each question id, the texts of its gold answers: the
// form metric.QA scores against.
func (s *QASet) Golds() map[string][]string {
	m := make(map[string][]string, len(s.Examples))
	for _, e := range s.Examples {
		texts := make([]string, len(e.Answers))
		for i, a := range e.Answers {
			texts[i] = a.Text
		}
		m[e.ID] = texts
	}
	return m
}

type squadFile struct {
	Version json.RawMessage `json:"version"`
	Data    *[]struct {
		Title      string `json:"title"`
		Paragraphs []struct {
			Context string `json:"context"`
			QAs     []struct {
				ID       string `json:"id"`
				Question string `json:"question"`
				Answers  []struct {
					Text        string `json:"text"`
					AnswerStart *int   `json:"answer_start"`
				} `json:"answers"`
			} `json:"qas"`
		} `json:"paragraphs"`
	} `json:"data"`
}

// ReadSQuAD reads a SQuAD v1.1, XQuAD or MLQA JSON file
// ({"version", "data": [{"title", "paragraphs": [{"context", "qas": [{"id",
// "question", "answers": [{"text", "answer_start"}]}]}]}]}) and flattens it
// to one QAExample per question.
//
// Each answer_start (a count of Unicode code points) is converted to a byte
// offset, and the context must hold the answer text exactly there; the
// check is strict, with no tolerance for shifted or re-spaced answers, so a
// broken file is found when it is read rather than as a silently lower
// score. Question ids must be non-empty and unique in the file.
func ReadSQuAD(path string) (*QASet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	data, err = checkJSONText(path, data)
	if err != nil {
		return nil, err
	}
	var f squadFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonFileError(path, data, err, "a SQuAD-format object")
	}
	if f.Data == nil {
		return nil, fmt.Errorf("task: %s: no \"data\" array, expected SQuAD format {\"version\", \"data\": [...]}", path)
	}
	set := &QASet{Path: path, Version: strings.Trim(string(f.Version), `"`)}
	seen := make(map[string]string) // id -> JSON path of its first use
	for di, doc := range *f.Data {
		for pi, para := range doc.Paragraphs {
			var offsets []int // code point index -> byte offset, built on demand
			for qi, qa := range para.QAs {
				at := fmt.Sprintf("data[%d].paragraphs[%d].qas[%d]", di, pi, qi)
				if qa.ID == "" {
					return nil, fmt.Errorf("task: %s: %s: empty or missing \"id\"", path, at)
				}
				if prev, dup := seen[qa.ID]; dup {
					return nil, fmt.Errorf("task: %s: %s: duplicate id %q (first at %s)", path, at, qa.ID, prev)
				}
				seen[qa.ID] = at
				ex := QAExample{ID: qa.ID, Title: doc.Title, Context: para.Context, Question: qa.Question}
				for ai, a := range qa.Answers {
					at := fmt.Sprintf("%s.answers[%d]", at, ai)
					if a.AnswerStart == nil {
						return nil, fmt.Errorf("task: %s: %s: missing \"answer_start\"", path, at)
					}
					if a.Text == "" {
						return nil, fmt.Errorf("task: %s: %s: empty answer text", path, at)
					}
					if offsets == nil {
						offsets = codePointOffsets(para.Context)
					}
					cp := *a.AnswerStart
					if cp < 0 || cp >= len(offsets) {
						return nil, fmt.Errorf("task: %s: %s: answer_start %d outside the context's %d code points",
							path, at, cp, len(offsets)-1)
					}
					b := offsets[cp]
					if !strings.HasPrefix(para.Context[b:], a.Text) {
						return nil, fmt.Errorf("task: %s: %s: context at answer_start %d (byte %d) reads %q, expected the answer text %q",
							path, at, cp, b, prefixRunes(para.Context[b:], utf8.RuneCountInString(a.Text)), a.Text)
					}
					ex.Answers = append(ex.Answers, Answer{Text: a.Text, Start: b})
				}
				set.Examples = append(set.Examples, ex)
			}
		}
	}
	return set, nil
}

// codePointOffsets returns the byte offset of every code point of s, plus
// len(s) at the end (index = code point count).
func codePointOffsets(s string) []int {
	offs := make([]int, 0, len(s)+1)
	for i := range s {
		offs = append(offs, i)
	}
	return append(offs, len(s))
}

func prefixRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// WritePredictions writes preds as a SQuAD prediction file, a JSON object
// {question id: answer text} with the ids sorted, to a temporary file next
// to path that is then renamed over it, so an existing file is replaced
// whole or not at all.
func WritePredictions(path string, preds map[string]string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if preds == nil {
		preds = map[string]string{}
	}
	if err := enc.Encode(preds); err != nil {
		return fmt.Errorf("task: encode predictions for %s: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("task: write predictions: %w", err)
	}
	return nil
}

// ReadPredictions reads a SQuAD prediction file ({question id: answer
// text}).
func ReadPredictions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	data, err = checkJSONText(path, data)
	if err != nil {
		return nil, err
	}
	var preds map[string]string
	if err := json.Unmarshal(data, &preds); err != nil {
		return nil, jsonFileError(path, data, err, "a JSON object {question id: answer text}")
	}
	if preds == nil {
		return nil, fmt.Errorf("task: %s: null, expected a JSON object {question id: answer text}", path)
	}
	return preds, nil
}

// checkJSONText turns a UTF-8 byte order mark at the start of data into
// three spaces (so that encoding/json accepts it and byte offsets still count
// from the start of the file) and checks that data is UTF-8 (encoding/json
// would silently turn bad bytes into U+FFFD).
func checkJSONText(path string, data []byte) ([]byte, error) {
	if bom := "\uFEFF"; bytes.HasPrefix(data, []byte(bom)) {
		data = append([]byte("   "), data[len(bom):]...)
	}
	if utf8.Valid(data) {
		return data, nil
	}
	bad := 0
	for bad < len(data) {
		r, n := utf8.DecodeRune(data[bad:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		bad += n
	}
	return nil, fmt.Errorf("task: %s:%d: byte offset %d: invalid UTF-8, expected UTF-8 JSON text",
		path, bytes.Count(data[:bad], []byte("\n"))+1, bad)
}

// jsonFileError reports a JSON decoding error of a whole file with the
// offset encoding/json gives (bytes read when it failed) and the line and
// column of the last byte read.
func jsonFileError(path string, data []byte, err error, expected string) error {
	off := jsonOffset(err)
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("task: %s: bad JSON, expected %s: %w", path, expected, err)
	}
	before := data[:off]
	lineNo := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n')) - 1
	return fmt.Errorf("task: %s:%d:%d: bad JSON after byte offset %d, expected %s: %w", path, lineNo, col, off, expected, err)
}
