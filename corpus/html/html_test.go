package html

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

func TestTextFixture(t *testing.T) {
	f, err := os.Open("testdata/page.en.html")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Text(f, "testdata/page.en.html")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{
		"Chapter 1. Getting started",
		"This document tries to describe the building of a Debian package — with working examples & more.[1]",
		"A publican paragraph",
		"with a break.",
		"We all are volunteers.",
		"Friendly cooperation.",
		"Term",
		"Definition <here>.",
		"$ dpkg -i foo.deb",
		"Selecting package foo.",
		"cell one",
		"cell two",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got[0], "\n"), strings.Join(want[0], "\n"))
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
	}{
		{"empty", "", nil},
		{"only boilerplate", `<div class="navheader">Prev Next</div><nav>Home</nav>`, nil},
		{"bare text", "hello <i>world</i>", [][]string{{"hello world"}}},
		{"div with text and child block", "<div>intro<p>para</p>tail</div>", [][]string{{"intro", "para", "tail"}}},
		{"headings", "<h2>Title</h2><h3>Sub</h3>", [][]string{{"Title", "Sub"}}},
		{"class among others", `<div class="x toc y">toc</div><p>kept</p>`, [][]string{{"kept"}}},
		{"entities", "<p>&eacute;t&#233; &#x263A; &quot;q&quot;</p>", [][]string{{"été ☺ \"q\""}}},
		{"blockquote", "<blockquote>quoted <span>text</span></blockquote>", [][]string{{"quoted text"}}},
		{"noscript dropped", "<p>a</p><noscript>enable js</noscript>", [][]string{{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Text(strings.NewReader(tt.in), "x.html")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTextInvalidUTF8(t *testing.T) {
	_, err := Text(strings.NewReader("<p>ok</p>\n<p>caf\xe9</p>"), "da/x.html")
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != "da/x.html" || fe.Line != 2 || fe.Offset != 16 {
		t.Errorf("got %s line %d offset %d, want da/x.html line 2 offset 16", fe.File, fe.Line, fe.Offset)
	}
}

func TestDropUntranslated(t *testing.T) {
	english := [][]string{{"Chapter 1. Getting started", "We all are volunteers.", "$ dpkg -i foo.deb"}}
	tests := []struct {
		name      string
		doc, want [][]string
	}{
		{"partly translated", [][]string{{"Kapitel 1. Kom i gang", "We all are volunteers.", "$ dpkg -i foo.deb", "Vi er alle frivillige."}},
			[][]string{{"Kapitel 1. Kom i gang", "Vi er alle frivillige."}}},
		{"untranslated page", [][]string{{"We all are volunteers.", "Chapter 1. Getting started"}}, nil},
		{"fully translated", [][]string{{"a"}, {"b"}}, [][]string{{"a"}, {"b"}}},
		{"no english", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DropUntranslated(tt.doc, english); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDropUntranslatedFixture(t *testing.T) {
	en, err := os.Open("testdata/page.en.html")
	if err != nil {
		t.Fatal(err)
	}
	defer en.Close()
	english, err := Text(en, "page.en.html")
	if err != nil {
		t.Fatal(err)
	}
	// A locale where only the heading and one list item were translated.
	da := strings.NewReader(`<h1>Kapitel 1. Kom i gang</h1><p>This document tries to describe the building
		of a <code>Debian</code> package &mdash; with <em>working</em>&nbsp;examples &amp; more.<sup>[1]</sup></p>
		<ul><li>Vi er alle frivillige.</li><li>Friendly cooperation.</li></ul>`)
	doc, err := Text(da, "page.da.html")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Kapitel 1. Kom i gang", "Vi er alle frivillige."}}
	if got := DropUntranslated(doc, english); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
