package ddtp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseDescription(t *testing.T) {
	tests := []struct {
		name  string
		value string // as Field.Value holds it
		short string
		long  []string
	}{
		{"short only", "  a tool  for   things ", "a tool for things", nil},
		{
			name:  "one paragraph of continuation lines",
			value: "short\nfirst line of the\nparagraph, continued",
			short: "short",
			long:  []string{"first line of the paragraph, continued"},
		},
		{
			name:  "paragraphs separated by dots",
			value: "short\npara one\nstill one\n.\npara two\n.\n.\npara three",
			short: "short",
			long:  []string{"para one still one", "para two", "para three"},
		},
		{
			name:  "verbatim lines stand alone",
			value: "short\nFeatures:\n * one\n * two\nAfter the list.",
			short: "short",
			long:  []string{"Features:", "* one", "* two", "After the list."},
		},
		{
			name:  "no-break space line separates paragraphs",
			value: "short\none\n\u00a0\ntwo",
			short: "short",
			long:  []string{"one", "two"},
		},
		{
			name:  "Chinese and Japanese wrapped lines join without a space",
			value: "短\n它支持完整备份或\n增量备份，可进行\nDVD 光盘\n.\nネットワークに接続してすぐにフレーム\nワークです。\nlink-local\n169.254.0.0/16 の範囲",
			short: "短",
			long:  []string{"它支持完整备份或增量备份，可进行 DVD 光盘", "ネットワークに接続してすぐにフレームワークです。 link-local 169.254.0.0/16 の範囲"},
		},
		{
			name:  "Korean wrapped lines keep the space",
			value: "짧은\n자동으로 검색할 수\n있습니다",
			short: "짧은",
			long:  []string{"자동으로 검색할 수 있습니다"},
		},
		{
			name:  "control characters dropped, mis-encoded apostrophes mended",
			value: "nom de l\x19icône\nselect() ou poll() ;\x1b\x1b\x1b\nit\u0092s\x07 fine",
			short: "nom de l\u2019icône",
			long:  []string{"select() ou poll() ; it\u2019s fine"},
		},
		{
			name:  "trailing dot and blank continuation",
			value: "short\ntext\n.\n",
			short: "short",
			long:  []string{"text"},
		},
		{
			name:  "non-ASCII kept",
			value: "Echtzeit-Strategiespiel über antike Kriegsführung\n0 A.D. ist ein freies Spiel.",
			short: "Echtzeit-Strategiespiel über antike Kriegsführung",
			long:  []string{"0 A.D. ist ein freies Spiel."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			short, long := ParseDescription(tc.value)
			if short != tc.short {
				t.Errorf("short = %q, want %q", short, tc.short)
			}
			if !reflect.DeepEqual(long, tc.long) {
				t.Errorf("long = %q, want %q", long, tc.long)
			}
		})
	}
}

const md5a = "d943033bedada21853d2ae54a2578a7b"
const md5b = "26581e685027d5ae84824362a4ba59ee"

func TestReadTranslation(t *testing.T) {
	in := "Package: 0ad\n" +
		"Description-md5: " + md5a + "\n" +
		"Description-de: Echtzeit-Strategiespiel\n" +
		" 0 A.D. ist ein freies,\n" +
		" quelloffenes Spiel.\n" +
		" .\n" +
		" Dieses Paket enthält:\n" +
		"  * das Spiel\n" +
		"\n" +
		"Package: 0ad-data\n" +
		"Description-md5: " + md5b + "\n" +
		"Description-de: Daten\n" +
		"\n" +
		"Package: gnote\n" +
		"Description-md5: " + md5a + "\n" +
		"Description-zh_CN: \n" +
		" Gnote 是一个简单易用的桌面笔记应用程序。\n" +
		" .\n" +
		" 这是一个用 C++ 语言编写的 Tomboy 克隆。 \n" +
		"\n" +
		"Package: empty\n" +
		"Description-md5: " + md5b + "\n" +
		"Description-de:\n"
	var got []Record
	err := ReadTranslation(strings.NewReader(in), "Translation-de", func(r Record) error {
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Package: "0ad", Lang: "de", MD5: md5a, Short: "Echtzeit-Strategiespiel",
			Long: "0 A.D. ist ein freies, quelloffenes Spiel.\nDieses Paket enthält:\n* das Spiel"},
		{Package: "0ad-data", Lang: "de", MD5: md5b, Short: "Daten"},
		{Package: "gnote", Lang: "zh_CN", MD5: md5a, Long: "Gnote 是一个简单易用的桌面笔记应用程序。\n这是一个用 C++ 语言编写的 Tomboy 克隆。"},
		{Package: "empty", Lang: "de", MD5: md5b},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records =\n%+v\nwant\n%+v", got, want)
	}
	if txt := got[0].Text(); txt != "Echtzeit-Strategiespiel\n0 A.D. ist ein freies, quelloffenes Spiel.\nDieses Paket enthält:\n* das Spiel" {
		t.Errorf("Text() = %q", txt)
	}
	if txt := got[1].Text(); txt != "Daten" {
		t.Errorf("Text() of a short-only record = %q, want %q", txt, "Daten")
	}
	if len(got) == 4 {
		if txt := got[2].Text(); txt != got[2].Long {
			t.Errorf("Text() without a short description = %q, want the long one", txt)
		}
		if txt := got[3].Text(); txt != "" {
			t.Errorf("Text() of an empty record = %q", txt)
		}
	}
}

func TestReadTranslationMalformed(t *testing.T) {
	ok := "Package: ok\nDescription-md5: " + md5a + "\nDescription-en: fine\n\n"
	tests := []struct {
		name    string
		in      string
		line    int
		msgPart string
	}{
		{"no Package", ok + "Description-md5: " + md5b + "\nDescription-en: x\n", 5, "no Package"},
		{"no md5", ok + "Package: p\nDescription-en: x\n", 5, "no Description-md5"},
		{"bad md5", ok + "Package: p\nDescription-md5: 1234\nDescription-en: x\n", 6, "not 32 hex"},
		{"no description", ok + "Package: p\nDescription-md5: " + md5b + "\n", 5, "no Description-<lang>"},
		{"two descriptions", ok + "Package: p\nDescription-md5: " + md5b + "\nDescription-en: x\nDescription-de: y\n", 8, "second description"},
		{"no language", ok + "Package: p\nDescription-md5: " + md5b + "\nDescription-: x\n", 7, "names no language"},
		{"continuation without field", ok + " stray\n", 5, "continuation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := ReadTranslation(strings.NewReader(tc.in), "Translation-en", func(Record) error { n++; return nil })
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Line != tc.line || se.File != "Translation-en" {
				t.Errorf("error at %s:%d, want Translation-en:%d: %v", se.File, se.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.msgPart) {
				t.Errorf("error %q lacks %q", err, tc.msgPart)
			}
			if n != 1 {
				t.Errorf("%d records before the error, want 1", n)
			}
		})
	}
}

func TestIndexReadPackagesAndJoin(t *testing.T) {
	in := "Package: 0ad\nVersion: 1\nSection: games\nDescription-md5: " + md5a + "\n\n" +
		"Package: libfoo1\nSource: foo (1.2-3)\nSection: libs\nDescription-md5: " + md5b + "\n\n" +
		"Package: bar\nSource: barsrc\nSection: contrib/net\nDescription-md5: " + strings.ToUpper(md5a) + "\n\n" +
		"Package: nomd5\nSection: misc\n\n" +
		// the same package again (another suite), with another section: counted, first kept
		"Package: 0ad\nVersion: 2\nSection: x11\nDescription-md5: " + md5a + "\n"
	x := NewIndex()
	if err := x.ReadPackages(strings.NewReader(in), "Packages"); err != nil {
		t.Fatal(err)
	}
	if got, want := x.Stats(), (IndexStats{Stanzas: 5, Keys: 3, NoMD5: 1, Conflicts: 1}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	tests := []struct {
		pkg, md5        string
		section, source string
		ok              bool
	}{
		{"0ad", md5a, "games", "0ad", true},
		{"libfoo1", md5b, "libs", "foo", true},
		{"bar", md5a, "net", "barsrc", true},
		{"0ad", md5b, "", "", false},
		{"nomd5", md5a, "", "", false},
		{"absent", md5a, "", "", false},
	}
	for _, tc := range tests {
		rec := Record{Package: tc.pkg, MD5: tc.md5, Lang: "en", Short: "s"}
		ok := x.Join(&rec)
		if ok != tc.ok || rec.Section != tc.section || rec.Source != tc.source {
			t.Errorf("Join(%s, %s) = %v, section %q source %q; want %v, %q, %q",
				tc.pkg, tc.md5[:6], ok, rec.Section, rec.Source, tc.ok, tc.section, tc.source)
		}
	}
}

func TestIndexReadPackagesMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"no Package", "Package: a\nDescription-md5: " + md5a + "\n\nSection: x\nDescription-md5: " + md5b + "\n", 4},
		{"bad md5", "Package: a\nSection: x\nDescription-md5: zz\n", 3},
		{"garbage line", "Package: a\n\nPackage: b\ngarbage\n", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := NewIndex().ReadPackages(strings.NewReader(tc.in), "Packages")
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line {
				t.Fatalf("err = %v, want *SyntaxError at line %d", err, tc.line)
			}
		})
	}
}
