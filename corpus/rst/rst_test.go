package rst

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

func TestRSTFixture(t *testing.T) {
	f, err := os.Open("testdata/sample.rst")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := RST(f, "testdata/sample.rst")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{
		"json --- Encoding",
		"JSON (JavaScript Object Notation), specified by RFC 7159, is a lightweight data interchange format. See also the json page and dumps.",
		"Be cautious when parsing data from untrusted sources.",
		"Encoding basic Python object hierarchies:",
		"Basic Usage",
		"Serialize obj as a JSON formatted stream to fp.",
		"All optional parameters are now keyword-only.",
		"First item continues here.",
		"Second item with a - b.",
		"Numbered.",
		"term",
		"Its definition.",
		"a file-like object",
		"nothing",
		"Line one",
		"Line two",
		"A footnote that is prose.",
		"Last paragraph with a literal block:",
		"Ending.",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got[0], "\n"), strings.Join(want[0], "\n"))
	}
}

func TestRST(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
	}{
		{"empty", "", nil},
		{"only a comment", ".. a comment\n   more\n", nil},
		{"paragraphs", "One\ntwo.\n\nThree.\n", [][]string{{"One two.", "Three."}}},
		{"title with overline", "=====\nTitle\n=====\n\nText.\n", [][]string{{"Title", "Text."}}},
		{"transition", "A.\n\n----\n\nB.\n", [][]string{{"A.", "B."}}},
		{"literal with space", "Example ::\n\n   x = 1\n\nAfter.\n", [][]string{{"Example", "After."}}},
		{"roles", ":ref:`the guide <guide>` :meth:`!a.b` :class:`~x.Y` :pep:`8` `default`", [][]string{{"the guide a.b Y PEP 8 default"}}},
		{"links", "`Go <https://go.dev>`__, name_, `two words`_, |version|.", [][]string{{"Go, name, two words, version."}}},
		{"emphasis boundaries", "a * b * c, **x** **y**, *args", [][]string{{"a * b * c, x y, *args"}}},
		{"literal keeps markup", "``*a*`` and ``|b| x_``", [][]string{{"*a* and |b| x_"}}},
		{"tabs", "Text::\n\n\tcode\n\nMore.\n", [][]string{{"Text:", "More."}}},
		{"dropped directive nested", ".. note::\n\n   Kept.\n\n   .. code-block:: c\n\n      int x;\n\n   Also kept.\n", [][]string{{"Kept.", "Also kept."}}},
		{"bullet inside paragraph is text", "a\n- b\n", [][]string{{"a - b"}}},
		{"table as a definition", "Term\n    ===  ===\n    a    b\n    ===  ===\n\nB.\n", [][]string{{"Term", "B."}}},
		{"simple table with tabs", "A.\n\n=====\t\t===\nx\t\ty\n=====\t\t===\n\nB.\n", [][]string{{"A.", "B."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RST(strings.NewReader(tt.in), "x.rst")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRSTInvalidUTF8(t *testing.T) {
	_, err := RST(strings.NewReader("ok\n\nbad \xff\n"), "a.rst")
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != "a.rst" || fe.Line != 3 || fe.Offset != 8 {
		t.Errorf("got %s line %d offset %d, want a.rst line 3 offset 8", fe.File, fe.Line, fe.Offset)
	}
}
