package fortune

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][]string
	}{
		{"empty", "", nil},
		{"one fortune no separator", "Hello\nworld.\n", [][]string{{"Hello world."}}},
		{
			"paragraphs and attribution",
			"A wrapped line\n  of prose.\n\nSecond   paragraph.\n\t\t-- Mark Twain,\n\t\t   \"Pudd'nhead\"\n%\nNext one.\n%\n",
			[][]string{{"A wrapped line of prose.", "Second paragraph."}, {"Next one."}},
		},
		{"attribution only", "Text.\n%\n\t-- Anonymous\n%\n", [][]string{{"Text."}}},
		{"empty fortunes skipped", "%\n%\n\n%\nx\n%", [][]string{{"x"}}},
		{"CRLF", "a\r\nb\r\n%\r\nc\r\n", [][]string{{"a b"}, {"c"}}},
		{
			"dialogue dash kept, indented em dash attribution dropped",
			"— Привет, — сказал он.\n— Пока.\n\t\t— Чехов\n",
			[][]string{{"— Привет, — сказал он. — Пока."}},
		},
		{"text after attribution paragraph kept", "Q: x?\n-- Bob\nA: y.\n", [][]string{{"Q: x?", "A: y."}}},
		{"a rule of dashes is not an attribution", "x\n----\n", [][]string{{"x ----"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tt.in), "f")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReadFixture(t *testing.T) {
	f, err := os.Open("testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := Read(f, "testdata/sample")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"The best way to predict the future is to invent it."},
		{"Q: How many programmers does it take to change a light bulb?", "A: None, that's a hardware problem."},
		{"Es ist nicht genug, zu wissen, man muß auch anwenden."},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("got %q\nwant %q", docs, want)
	}
}

func TestReadLatin1(t *testing.T) {
	in := "ok\n%\nK\xf6nig\n"
	_, err := Read(strings.NewReader(in), "fortunes-de/x")
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != "fortunes-de/x" || fe.Offset != 6 || fe.Line != 3 {
		t.Errorf("got file %q line %d offset %d, want fortunes-de/x line 3 offset 6", fe.File, fe.Line, fe.Offset)
	}
}
