package sword

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lethe/corpus"
)

// writeModule writes one testament (t = "ot" or "nt") of a zText module in
// dir from its verse-index entries, in versification order, packing them
// into blocks of perBlock entries.
func writeModule(t *testing.T, dir, testament string, entries []string, perBlock int) {
	t.Helper()
	var bzs, bzv, bzz bytes.Buffer
	for first := 0; first < len(entries); first += perBlock {
		var plain bytes.Buffer
		for _, e := range entries[first:min(first+perBlock, len(entries))] {
			binary.Write(&bzv, binary.LittleEndian, uint32(bzs.Len()/12))
			binary.Write(&bzv, binary.LittleEndian, uint32(plain.Len()))
			binary.Write(&bzv, binary.LittleEndian, uint16(len(e)))
			plain.WriteString(e)
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(plain.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		for _, v := range []int{bzz.Len(), z.Len(), plain.Len()} {
			binary.Write(&bzs, binary.LittleEndian, uint32(v))
		}
		bzz.Write(z.Bytes())
	}
	for ext, b := range map[string][]byte{".bzs": bzs.Bytes(), ".bzv": bzv.Bytes(), ".bzz": bzz.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, testament+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// twoBooks is an Old Testament of 2 books x 2 chapters in the layout of the
// Debian modules: module and testament headings, then per book a heading,
// per chapter a heading and the verses.
var twoBooks = []string{
	"",
	`<milestone type="x-importer" subType="x-osis2mod" n="$Rev: 3769 $"/>`,
	`<div canonical="true" osisID="Gen" sID="gen2" type="book"/> <title level="1" type="main">The First Book of Moses</title>`,
	`<chapter n="1" osisID="Gen.1" sID="Gen.1"/> `,
	`In the <w lemma="strong:H7225">beginning</w> <w lemma="strong:H0430">God</w><note placement="foot"><reference type="annotateRef">1:1 </reference>Hebrew “Elohim”.</note><w>created</w> the heaven.`,
	`And the earth was <transChange type="added">without</transChange> form.<note placement="foot">Heb. void</note>  <div eID="gen3" type="x-p"/>`,
	`<div sID="gen12" type="x-p"/> <chapter n="2" osisID="Gen.2" sID="Gen.2"/> <title type="section">Rest</title>`,
	`<chapter eID="Gen.1"/>Thus the heavens &amp; the earth<lb/>were finished.`,
	``,
	`<div osisID="Exod" sID="b2" type="book"/>`,
	`<chapter n="1" osisID="Exod.1" sID="Exod.1"/>`,
	`<title canonical="true" type="psalm">A song.</title> Now these are the names.`,
	`<chapter n="2" osisID="Exod.2" sID="Exod.2"/> <speaker>Lover</speaker>`,
	`And there went a man.`,
	`<l level="1" sID="x"/>And the woman conceived,<l eID="x"/><l level="2" sID="y"/>and bare a son.<l eID="y"/>`,
}

func TestReadZText(t *testing.T) {
	want := [][]string{
		{"In the beginning God created the heaven.", "And the earth was without form."},
		{"Thus the heavens & the earth were finished."},
		{"A song. Now these are the names."},
		{"And there went a man.", "And the woman conceived, and bare a son."},
		{"Blessed are the meek."},
	}
	for _, perBlock := range []int{1, 4, 100} {
		dir := t.TempDir()
		writeModule(t, dir, "ot", twoBooks, perBlock)
		writeModule(t, dir, "nt", []string{"", "", `<div type="book" osisID="Matt" sID="m"/>`, `<chapter sID="Matt.1"/>`, "Blessed are the meek."}, perBlock)
		got, err := ReadZText(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d entries per block:\ngot  %q\nwant %q", perBlock, got, want)
		}
	}
}

func TestReadZTextErrors(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"no module", func(t *testing.T, dir string) {
			for _, ext := range []string{".bzs", ".bzv", ".bzz"} {
				os.Remove(filepath.Join(dir, "ot"+ext))
			}
		}, "no ot.bzv or nt.bzv"},
		{"bzv size", func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "ot.bzv"), []byte{1, 2, 3}) }, "not a multiple of 10"},
		{"bzs size", func(t *testing.T, dir string) { appendTo(t, filepath.Join(dir, "ot.bzs"), []byte{1}) }, "not a multiple of 12"},
		{"block past end", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "ot.bzz"), 10); err != nil {
				t.Fatal(err)
			}
		}, "ot.bzs: byte offset 0: block 0 spans bytes"},
		{"bad block number", func(t *testing.T, dir string) {
			var e [10]byte
			binary.LittleEndian.PutUint32(e[:], 99)
			binary.LittleEndian.PutUint16(e[8:], 1)
			appendTo(t, filepath.Join(dir, "ot.bzv"), e[:])
		}, "entry 15 names block 99"},
		{"not zlib", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "ot.bzz"))
			b[0] ^= 0xff
			os.WriteFile(filepath.Join(dir, "ot.bzz"), b, 0o644)
		}, "ot.bzz: byte offset 0: block 0: expected a zlib stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeModule(t, dir, "ot", twoBooks, 100)
			tt.damage(t, dir)
			_, err := ReadZText(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadZTextLatin1(t *testing.T) {
	dir := t.TempDir()
	writeModule(t, dir, "nt", []string{"ok", "Y dijo Dios: Sea la luz \xe1 todos"}, 100)
	_, err := ReadZText(dir)
	var fe *corpus.FormatError
	if !errors.As(err, &fe) || !errors.Is(err, corpus.ErrInvalidUTF8) {
		t.Fatalf("err = %v, want a *corpus.FormatError wrapping ErrInvalidUTF8", err)
	}
	if fe.File != filepath.Join(dir, "nt.bzz") || !strings.Contains(fe.Detail, "byte 26 of the inflated block (entry 1)") {
		t.Errorf("got %v", err)
	}
}

func appendTo(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadConf(t *testing.T) {
	good := "## comment\n[engKJV2006eb]\nDescription=King James Version\nLang=en\r\n" +
		"GlobalOptionFilter=OSISStrongs\nGlobalOptionFilter=OSISFootnotes\n\n" +
		"About=First line\\\nsecond line\nDistributionLicense=Public Domain\nEmpty=\n"
	tests := []struct {
		name, text string
		want       map[string]string
		err        string
	}{
		{"good", good, map[string]string{
			"Description": "King James Version", "Lang": "en",
			"GlobalOptionFilter": "OSISStrongs\nOSISFootnotes", "About": "First line\nsecond line",
			"DistributionLicense": "Public Domain", "Empty": "",
		}, ""},
		{"no section", "Lang=en\n", nil, "x.conf:1: \"Lang=en\" before the [ModuleName] line"},
		{"empty", "# nothing\n", nil, "no [ModuleName] line"},
		{"no equals", "[m]\nLang en\n", nil, "x.conf:2: \"Lang en\": expected Key=Value"},
		{"two sections", "[m]\n[n]\n", nil, "x.conf:2: a second section header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.conf")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadConf(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}
