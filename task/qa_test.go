package task

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadSQuAD(t *testing.T) {
	// The fixtures were written with Python's json module from the same
	// contexts, answer_start = context.index(answer) (code points); the
	// second with ensure_ascii, so the emoji are \ud83c\udf89 surrogate pairs.
	for _, path := range []string{"testdata/squad.json", "testdata/squad_ascii.json"} {
		t.Run(path, func(t *testing.T) {
			set, err := ReadSQuAD(path)
			if err != nil {
				t.Fatal(err)
			}
			if set.Version != "1.1" || set.Path != path || len(set.Examples) != 7 {
				t.Fatalf("version %q path %q %d examples, want 1.1 %q 7", set.Version, set.Path, len(set.Examples), path)
			}
			// Byte offsets worked by hand from the code point offsets:
			tests := []struct {
				id    string
				title string
				want  []Answer
			}{
				// ASCII: bytes = code points.
				{"q-en", "English", []Answer{{"Paris", 23}, {"Paris, France", 23}}},
				// 16 code points before 1898年, all 3-byte CJK characters
				// (北京大学位于北京市海淀区 12, the full-width comma 1, 创建于 3).
				{"q-zh", "中文", []Answer{{"1898年", 48}}},
				// 6 CJK characters before 北京市海淀区.
				{"q-zh2", "中文", []Answer{{"北京市海淀区", 18}}},
				// Arabic letters are 2 bytes: "تقع القاهرة على نهر النيل في " is
				// 29 code points, 6 of them spaces: 23*2+6 = 52; "تقع القاهرة على "
				// is 16 code points, 3 spaces: 13*2+3 = 29.
				{"q-ar", "العربية", []Answer{{"مصر", 52}, {"نهر النيل", 29}}},
				// "Die Brücke über den Fluß wurde 1895 in " holds ü, ü, ß
				// (2 bytes each): 39 code points, 42 bytes.
				{"q-de", "Deutsch", []Answer{{"Köln", 42}}},
				// "Party 🎉🎉 time: the café opens at ": 33 code points, two
				// 4-byte emoji (+6) and é (+1): 40 bytes. (UTF-16 would say 35.)
				{"q-emoji", "Emoji", []Answer{{"9 😀 sharp", 40}}},
				{"q-noans", "Emoji", nil},
			}
			byID := map[string]QAExample{}
			for _, e := range set.Examples {
				byID[e.ID] = e
			}
			for _, tc := range tests {
				e, ok := byID[tc.id]
				if !ok {
					t.Errorf("no example %q", tc.id)
					continue
				}
				if e.Title != tc.title || e.Question == "" || e.Context == "" {
					t.Errorf("%s: title %q question %q context %q", tc.id, e.Title, e.Question, e.Context)
				}
				if !reflect.DeepEqual(e.Answers, tc.want) {
					t.Errorf("%s: answers %+v, want %+v", tc.id, e.Answers, tc.want)
				}
				for _, a := range e.Answers {
					if got := e.Context[a.Start : a.Start+len(a.Text)]; got != a.Text {
						t.Errorf("%s: context at %d reads %q, want %q", tc.id, a.Start, got, a.Text)
					}
				}
			}
			golds := set.Golds()
			if !reflect.DeepEqual(golds["q-ar"], []string{"مصر", "نهر النيل"}) || len(golds["q-noans"]) != 0 || len(golds) != 7 {
				t.Errorf("Golds() = %q", golds)
			}
		})
	}
}

func TestReadSQuADErrors(t *testing.T) {
	wrap := func(qas string) string {
		return `{"version": "1.1", "data": [{"title": "t", "paragraphs": [` +
			`{"context": "x", "qas": []},` +
			`{"context": "Straße in Köln 🎉 end", "qas": [` + qas + `]}]}]}`
	}
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"syntax", "{\n \"data\": [,]}", []string{":2:11: bad JSON after byte offset 13"}},
		{"type", `{"data": [{"paragraphs": [{"context": 5}]}]}`, []string{"bad JSON after byte offset 39", "context"}},
		{"no data", `{"version": "1.1"}`, []string{`no "data" array`}},
		{"invalid UTF-8", "{\"data\": [\n{\"title\": \"\xc3\"}]}", []string{":2: byte offset 22: invalid UTF-8"}},
		{"BOM is fine but data is not", "\uFEFF{}", []string{`no "data" array`}},
		{"offset after BOM counts from the file start", "\uFEFF{,}", []string{":1:5: bad JSON after byte offset 5"}},
		{"answer mismatch", wrap(`{"id": "a", "question": "q", "answers": [{"text": "Köln", "answer_start": 11}]}`),
			[]string{`data[0].paragraphs[1].qas[0].answers[0]: context at answer_start 11 (byte 12) reads "öln ", expected the answer text "Köln"`}},
		{"missing answer_start", wrap(`{"id": "a", "question": "q", "answers": [{"text": "x"}, {"text": "end", "answer_start": 18}]}`),
			[]string{`data[0].paragraphs[1].qas[0].answers[0]: missing "answer_start"`}},
		// answer_start as UTF-16 would count it (🎉 = 2 units): one code point
		// too far. Code point 18 is byte 23 (ß, ö: +1 each; 🎉: +3).
		{"UTF-16 offset", wrap(`{"id": "a", "question": "q", "answers": [{"text": "end", "answer_start": 18}]}`),
			[]string{`answers[0]: context at answer_start 18 (byte 23) reads "nd", expected the answer text "end"`}},
		{"out of range", wrap(`{"id": "a", "question": "q", "answers": [{"text": "end", "answer_start": 21}]}`),
			[]string{"answer_start 21 outside the context's 20 code points"}},
		{"empty answer", wrap(`{"id": "a", "question": "q", "answers": [{"text": "", "answer_start": 0}]}`),
			[]string{"qas[0].answers[0]: empty answer text"}},
		{"missing id", wrap(`{"question": "q", "answers": []}`), []string{`qas[0]: empty or missing "id"`}},
		{"duplicate id", wrap(`{"id": "a", "question": "q"}, {"id": "a", "question": "r"}`),
			[]string{`data[0].paragraphs[1].qas[1]: duplicate id "a" (first at data[0].paragraphs[1].qas[0])`}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadSQuAD(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPredictionsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "predictions.json")
	if err := os.WriteFile(path, []byte("old content"), 0o644); err != nil {
		t.Fatal(err)
	}
	preds := map[string]string{"q-zh": "1898年", "q-en": "Paris & <France>", "q-emoji": "9 😀", "q-empty": ""}
	if err := WritePredictions(path, preds); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted ids, no HTML escaping of & < >, UTF-8 kept as is.
	want := "{\n \"q-emoji\": \"9 😀\",\n \"q-empty\": \"\",\n \"q-en\": \"Paris & <France>\",\n \"q-zh\": \"1898年\"\n}\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("stat %v, %v: want mode 0644", info.Mode(), err)
	}
	got, err := ReadPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, preds) {
		t.Errorf("read back %q, want %q", got, preds)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only predictions.json (no temporary left)", len(entries))
	}
}

func TestWritePredictionsKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	// The target is a non-empty directory: the rename fails and nothing
	// must be left behind.
	path := filepath.Join(dir, "p.json")
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WritePredictions(path, map[string]string{"a": "b"}); err == nil {
		t.Fatal("no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "p.json" || !entries[0].IsDir() {
		t.Errorf("directory holds %v, want only the old p.json", entries)
	}
}

func TestReadPredictionsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"not an object", `["a"]`, "bad JSON after byte offset 1"},
		{"non-string value", "{\"a\": \"x\",\n \"b\": 3}", ":2:7: bad JSON after byte offset 18"},
		{"null", "null", "null, expected a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadPredictions(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to name the file and say %q", err, tc.want)
			}
		})
	}
}
