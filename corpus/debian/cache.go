package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ExtractFormat is the version of the per-package extraction cache. It
// changes whenever the same package would give different text, so that old
// cache files are extracted again rather than reused.
const ExtractFormat = 3

// The cache file of a package (DIR/extracted/<package>_<version>.txt) is
// text: a header line, the languages line, licence lines, a stats line, then each document as a
// header line followed by its lines. Header lines start with the record
// separator U+001E, which cleanLines removes from every text line, so they
// cannot be confused with text.
const rs = "\x1e"

// encodeExtracted writes e in the cache format.
func encodeExtracted(w io.Writer, e *Extracted) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%slethe-extract\t%d\t%s\t%s\t%s\t%s\n", rs, ExtractFormat, e.Package.Name, e.Version, e.Package.Kind, e.Package.Lang)
	fmt.Fprintf(bw, "%slangs\t%s\n", rs, strings.Join(e.Langs, ","))
	for _, l := range e.Licenses {
		fmt.Fprintf(bw, "%slicense\t%s\n", rs, strings.Join(strings.Fields(l), " "))
	}
	st := e.Stats
	fmt.Fprintf(bw, "%sstats\t%d\t%d\t%d\t%d\t%s\n", rs, st.Files, st.Failed, st.Unread, st.Dropped, strings.Join(strings.Fields(st.Error), " "))
	for _, d := range e.Docs {
		fmt.Fprintf(bw, "%sdoc\t%s\t%s\n", rs, d.Lang, d.Path)
		for _, l := range d.Lines {
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// decodeExtracted reads a cache file written by encodeExtracted. name
// identifies it in errors, which give the line.
func decodeExtracted(data []byte, name string) (*Extracted, error) {
	e := &Extracted{}
	lineNo := 0
	bad := func(msg string) error { return fmt.Errorf("%s:%d: %s", name, lineNo, msg) }
	var cur *Doc
	for len(data) > 0 {
		lineNo++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, bad("last line has no newline (truncated file)")
		}
		line := string(data[:i])
		data = data[i+1:]
		if !strings.HasPrefix(line, rs) {
			if cur == nil {
				return nil, bad("text line before the first document header")
			}
			cur.Lines = append(cur.Lines, line)
			continue
		}
		f := strings.Split(line[len(rs):], "\t")
		switch {
		case lineNo == 1:
			if f[0] != "lethe-extract" || len(f) != 6 {
				return nil, bad("expected the lethe-extract header")
			}
			if v, err := strconv.Atoi(f[1]); err != nil || v != ExtractFormat {
				return nil, bad(fmt.Sprintf("format %s, expected %d", f[1], ExtractFormat))
			}
			e.Package.Name, e.Version, e.Package.Lang = f[2], f[3], f[5]
			for k := Man; k <= Fortune; k++ {
				if k.String() == f[4] {
					e.Package.Kind = k
				}
			}
		case f[0] == "langs" && len(f) == 2:
			e.Langs = strings.Split(f[1], ",")
		case f[0] == "license" && len(f) == 2:
			e.Licenses = append(e.Licenses, f[1])
		case f[0] == "stats" && len(f) == 6:
			var n [4]int
			for j := range n {
				v, err := strconv.Atoi(f[1+j])
				if err != nil {
					return nil, bad("stats: expected integers")
				}
				n[j] = v
			}
			e.Stats = ExtractStats{Files: n[0], Failed: n[1], Unread: n[2], Dropped: n[3], Error: f[5]}
		case f[0] == "doc" && len(f) == 3:
			e.Docs = append(e.Docs, Doc{Lang: f[1], Path: f[2]})
			cur = &e.Docs[len(e.Docs)-1]
		default:
			return nil, bad(fmt.Sprintf("unknown header %q", f[0]))
		}
	}
	if lineNo == 0 {
		return nil, fmt.Errorf("%s: empty cache file", name)
	}
	for _, d := range e.Docs {
		if len(d.Lines) == 0 {
			return nil, fmt.Errorf("%s: document %s has no lines", name, d.Path)
		}
	}
	return e, nil
}

// readCache returns the cached extraction at path, or nil when there is
// none or it is from another format (then it is extracted again).
func readCache(path string) (*Extracted, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("extraction cache: %w", err)
	}
	e, err := decodeExtracted(data, path)
	if err != nil {
		return nil, nil
	}
	return e, nil
}
