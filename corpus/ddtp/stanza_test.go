package ddtp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// collect reads all stanzas of in as name -> value maps, in order.
func collect(in string) ([]map[string]string, []int, error) {
	var out []map[string]string
	var lines []int
	err := ReadStanzas(strings.NewReader(in), "test.txt", func(st *Stanza) error {
		m := map[string]string{}
		for _, f := range st.Fields {
			m[f.Name] = f.Value
		}
		out = append(out, m)
		lines = append(lines, st.Line)
		return nil
	})
	return out, lines, err
}

func TestReadStanzas(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  []map[string]string
		lines []int
	}{
		{
			name:  "two stanzas",
			in:    "Package: a\nSection: games\n\nPackage: b\n",
			want:  []map[string]string{{"Package": "a", "Section": "games"}, {"Package": "b"}},
			lines: []int{1, 4},
		},
		{
			name:  "continuation lines keep one leading blank less",
			in:    "Description-de: kurz\n erste Zeile\n zweite\n .\n   verbatim\n\tTab\n",
			want:  []map[string]string{{"Description-de": "kurz\nerste Zeile\nzweite\n.\n  verbatim\nTab"}},
			lines: []int{1},
		},
		{
			name:  "several blank and all-blank lines, comments, CRLF",
			in:    "\n\n# comment\nA: 1\r\n# inside\nB:  2  \r\n \t \n\n\nC: 3\n\n",
			want:  []map[string]string{{"A": "1", "B": "2"}, {"C": "3"}},
			lines: []int{4, 10},
		},
		{
			name:  "a no-break space line continues the field",
			in:    "D: x\n a\n \u00a0\n b\n\nE: 1\n",
			want:  []map[string]string{{"D": "x\na\n\u00a0\nb"}, {"E": "1"}},
			lines: []int{1, 6},
		},
		{
			name:  "empty value and colon in value",
			in:    "Empty:\nURL: http://x/y\n",
			want:  []map[string]string{{"Empty": "", "URL": "http://x/y"}},
			lines: []int{1},
		},
		{
			name:  "no stanzas",
			in:    "\n# only a comment\n\n",
			want:  nil,
			lines: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, lines, err := collect(tc.in)
			if err != nil {
				t.Fatalf("ReadStanzas: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("stanzas = %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(lines, tc.lines) {
				t.Errorf("stanza lines = %v, want %v", lines, tc.lines)
			}
		})
	}
}

func TestReadStanzasErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		line    int
		msgPart string
	}{
		{"continuation first", " stray\nA: 1\n", 1, "continuation"},
		{"continuation after blank line", "A: 1\n\n stray\n", 3, "continuation"},
		{"no colon", "A: 1\nthis is not a field\n", 2, "expected"},
		{"empty field name", "A: 1\n: x\n", 2, "bad field name"},
		{"space in field name", "A: 1\nB C: x\n", 2, "bad field name"},
		{"repeated field", "Package: a\nSection: x\npackage: b\n", 3, "repeated (first at line 1)"},
		{"invalid UTF-8", "A: 1\n\nB: \xff\xfe\n", 3, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := collect(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.File != "test.txt" || se.Line != tc.line {
				t.Errorf("error at %s:%d, want test.txt:%d (%v)", se.File, se.Line, tc.line, err)
			}
			if !strings.Contains(se.Error(), tc.msgPart) || !strings.HasPrefix(se.Error(), "test.txt:") {
				t.Errorf("error %q lacks %q or the file prefix", se.Error(), tc.msgPart)
			}
		})
	}
}

func TestReadStanzasCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ReadStanzas(strings.NewReader("A: 1\n\nA: 2\n\nA: 3\n"), "x", func(st *Stanza) error {
		n++
		if v, _ := st.Get("a"); v == "2" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the callback's error", err)
	}
	if n != 2 {
		t.Errorf("callback ran %d times, want 2", n)
	}
}

func TestStanzaGetCaseInsensitive(t *testing.T) {
	st := Stanza{Fields: []Field{{Name: "Description-md5", Value: "x", Line: 3}}}
	if v, ok := st.Get("description-MD5"); !ok || v != "x" {
		t.Errorf("Get = %q, %v; want x, true", v, ok)
	}
	if _, ok := st.Get("Package"); ok {
		t.Error("Get of an absent field reported present")
	}
	if f := st.Field("DESCRIPTION-MD5"); f == nil || f.Line != 3 {
		t.Errorf("Field = %+v, want line 3", f)
	}
}
