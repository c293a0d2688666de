package roff

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

func TestManPageFixture(t *testing.T) {
	f, err := os.Open("testdata/sample.1")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ManPage(f, "testdata/sample.1")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{
		"widget - frob the widgets",
		"widget [-v] file...",
		"widget reads file and writes “frobbed” output—fast. It is © 2026 and costs 5 €.",
		"widget(1) and gadget(7) are friends; see the home page.",
		"Be verbose.",
		"LANG",
		"Selects the language.",
		"First bullet, with a café.",
		"Exit status",
		"Zero on success.",
		"line one",
		"line two",
		"This is the end of it. Shown in nroff. Don't stop",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got[0], "\n"), strings.Join(want[0], "\n"))
	}
}

func TestManPage(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
	}{
		{"empty", "", nil},
		{"so link", ".\\\" comment\n.so man1/other.1\n", nil},
		{"two pages", ".TH A 1\none\n.TH B 1\ntwo\n", [][]string{{"one"}, {"two"}}},
		{"blank line breaks", "a\nb\n\nc\n", [][]string{{"a b", "c"}}},
		{"leading space breaks", "a\n  b\n", [][]string{{"a", "b"}}},
		{"heading on next line dropped", ".SH\nNAME\ntext\n", [][]string{{"text"}}},
		{"quoted args", ".B \"two words\" three\n.BI \"a \"\"q\"\"\" b\n", [][]string{{"two words three a \"q\"b"}}},
		{"fonts", "\\fBbold\\fR \\f(BIbi\\fP \\f[I]it\\f[] x\\,y\\/\n", [][]string{{"bold bi it xy"}}},
		{"specials", "\\(em\\[en]\\(bu\\[rg]\\(de\\[u00E9]\\[u0065_0301]\\(:u\\(ss\\(xx.\n", [][]string{{"—–•®°ééüß."}}},
		{"escapes", "a\\-b \\e \\&.x \\s-1small\\s0 \\s+2big\\s0 \\h'1m'c\\|d \\n(.gz\n", [][]string{{"a-b \\ .x small big cd z"}}},
		{"strings", ".ds X hello \\fBworld\\fR\n\\*X \\*(lq\\*[X]\\*(rq\\*(Un.\n", [][]string{{"hello world “hello world”."}}},
		{"inline comment", "text \\\" gone\n", [][]string{{"text"}}},
		{"macro definition skipped", ".de XX\nnot text\n..\nafter\n", [][]string{{"after"}}},
		{"ig with end", ".ig END\nskipped\n.END\nkept\n", [][]string{{"kept"}}},
		{"option tag dropped", ".TP\n\\fB\\-x\\fR\nBody.\n", [][]string{{"Body."}}},
		{"ie else", ".ie t troff\n.el nroff\n", [][]string{{"nroff"}}},
		{"string compare", ".if !'po4a'hide' .B shown\n.if 'a'a' .B also\n", [][]string{{"shown also"}}},
		{"nested false block", ".if t \\{\\\n.if n \\{\\\nx\n.\\}\ny\n.\\}\nz\n", [][]string{{"z"}}},
		{"line continuation", "one \\\ntwo\n", [][]string{{"one two"}}},
		{"CRLF", "a\r\nb\r\n", [][]string{{"a b"}}},
		{"so after text ignored", "text\n.so x\n", [][]string{{"text"}}},
		{"equation dropped", "a\n.EQ\nx sup 2\n.EN\nb\n", [][]string{{"a b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ManPage(strings.NewReader(tt.in), "x.1")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestManPageInvalidUTF8(t *testing.T) {
	_, err := ManPage(strings.NewReader(".TH A 1\nK\xf6nig\n"), "de/man1/a.1")
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != "de/man1/a.1" || fe.Line != 2 || fe.Offset != 9 {
		t.Errorf("got %s line %d offset %d, want de/man1/a.1 line 2 offset 9", fe.File, fe.Line, fe.Offset)
	}
}
