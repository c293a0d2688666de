package ddtp

import (
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Record is one translated package description joined to its package's
// metadata. It is what the corpora are written from, and what a labelled task
// (Section -> topic, split by Source) can be built from.
type Record struct {
	Package string // binary package name
	Source  string // source package name, without version; the package name when the index has no Source field
	Section string // Section from the Packages index, without an archive-area prefix ("contrib/games" -> "games")
	Lang    string // DDTP language code, e.g. "en", "de", "pt_BR"
	Short   string // short description: one line; empty in a few translations
	Long    string // long description: one paragraph or verbatim line per line, "\n"-separated; may be empty
	MD5     string // Description-md5: identifies the English original, shared by all its translations
}

// Text returns the record as a corpus document: the short description, then
// the long description's lines, "\n"-separated, with no blank line (and no
// empty first line when the short description is empty).
func (r *Record) Text() string {
	switch {
	case r.Long == "":
		return r.Short
	case r.Short == "":
		return r.Long
	}
	return r.Short + "\n" + r.Long
}

// ParseDescription splits a description field value (as Field.Value holds
// it: the first line, then continuation lines with one leading space
// removed) into the short description and the long description's lines.
// Continuation lines of a paragraph are joined with single spaces, or with
// nothing between two Chinese or Japanese characters (whose text has no
// spaces, so a line break there is not one); "." ends a
// paragraph; a line that started with two or more blanks is verbatim and
// becomes a line of its own (trimmed); a line of only blanks (such as a
// no-break space) ends a paragraph too. Control characters are dropped, but
// U+0019 and U+0092, mis-encoded apostrophes in some translations, become
// U+2019; runs of blanks become one space. Empty results are dropped.
func ParseDescription(value string) (short string, long []string) {
	value = strings.Map(cleanRune, value)
	first, rest, _ := strings.Cut(value, "\n")
	short = strings.Join(strings.Fields(first), " ")
	var para []string
	end := func() {
		if len(para) > 0 {
			long = append(long, joinWrapped(para))
			para = para[:0]
		}
	}
	if rest == "" {
		return short, nil
	}
	for _, line := range strings.Split(rest, "\n") {
		switch {
		case strings.TrimSpace(line) == "." || strings.TrimSpace(line) == "":
			// "." separates paragraphs; so does a line of other (Unicode)
			// blanks, as some translations have (" \u00a0").
			end()
		case line != "" && (line[0] == ' ' || line[0] == '\t'):
			end()
			if v := strings.TrimSpace(line); v != "" {
				long = append(long, v)
			}
		default:
			if v := strings.Join(strings.Fields(line), " "); v != "" {
				para = append(para, v)
			}
		}
	}
	end()
	return short, long
}

// ReadTranslation parses a DDTP Translation file (stanzas of Package,
// Description-md5 and Description-<lang>) from r and calls fn with a Record
// for each stanza; Source and Section are left empty. name identifies r in
// errors. A stanza lacking any of the three fields or with a malformed md5 is
// a *SyntaxError naming the line. The language is taken from the
// Description-<lang> field name. An empty description is not an error (some
// translations leave the short line empty): the record has empty Short and
// Long fields, and its Text is empty or only the long description.
func ReadTranslation(r io.Reader, name string, fn func(Record) error) error {
	return ReadStanzas(r, name, func(st *Stanza) error {
		var rec Record
		var desc *Field
		for i := range st.Fields {
			f := &st.Fields[i]
			switch n := strings.ToLower(f.Name); {
			case n == "package":
				rec.Package = f.Value
			case n == "description-md5":
				rec.MD5 = f.Value
			case strings.HasPrefix(n, "description-"):
				if desc != nil {
					return &SyntaxError{name, f.Line, fmt.Sprintf("second description field %q (first %q at line %d)", f.Name, desc.Name, desc.Line)}
				}
				desc = f
				rec.Lang = f.Name[len("description-"):]
			}
		}
		switch {
		case rec.Package == "":
			return &SyntaxError{name, st.Line, "stanza has no Package field"}
		case rec.MD5 == "":
			return &SyntaxError{name, st.Line, fmt.Sprintf("package %s: no Description-md5 field", rec.Package)}
		case !isMD5(rec.MD5):
			return &SyntaxError{name, st.Field("Description-md5").Line, fmt.Sprintf("package %s: Description-md5 %q is not 32 hex digits", rec.Package, clip(rec.MD5, 40))}
		case desc == nil:
			return &SyntaxError{name, st.Line, fmt.Sprintf("package %s: no Description-<lang> field", rec.Package)}
		case rec.Lang == "":
			return &SyntaxError{name, desc.Line, fmt.Sprintf("package %s: description field %q names no language", rec.Package, desc.Name)}
		}
		short, long := ParseDescription(desc.Value)
		rec.Short, rec.Long = short, strings.Join(long, "\n")
		return fn(rec)
	})
}

// cleanRune maps the control characters of a description: see
// ParseDescription.
func cleanRune(r rune) rune {
	switch {
	case r == '\n' || r == '\t':
		return r
	case r == 0x19 || r == 0x92:
		return '\u2019'
	case unicode.IsControl(r):
		return -1
	}
	return r
}

// joinWrapped joins the wrapped lines of a paragraph: with a space, except
// between two characters of scripts written without spaces.
func joinWrapped(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			last, _ := utf8.DecodeLastRuneInString(lines[i-1])
			next, _ := utf8.DecodeRuneInString(l)
			if !(unspaced(last) && unspaced(next)) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

// unspaced reports whether r belongs to a script written without spaces
// between words (Han, Hiragana, Katakana) or is CJK or full-width
// punctuation. Hangul is not: Korean separates words with spaces.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) ||
		r >= 0x3000 && r <= 0x303f || r >= 0xff00 && r <= 0xffef || r == 0x30fc
}

func isMD5(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// pkgInfo is what the join needs from a Packages stanza.
type pkgInfo struct {
	section, source string
}

// Index maps (package, Description-md5) to Section and Source, from one or
// more Packages indexes. The zero value is not usable; call NewIndex.
type Index struct {
	byKey    map[string]pkgInfo
	stanzas  int // stanzas read
	noMD5    int // stanzas without Description-md5 (not indexed)
	conflict int // keys seen twice with a different Section or Source (first kept)
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{byKey: make(map[string]pkgInfo)}
}

// IndexStats counts what an Index was built from.
type IndexStats struct {
	Stanzas   int `json:"stanzas"`   // Packages stanzas read
	Keys      int `json:"keys"`      // distinct (package, Description-md5) pairs
	NoMD5     int `json:"no_md5"`    // stanzas without Description-md5, not indexed
	Conflicts int `json:"conflicts"` // repeated keys whose Section or Source differed (first kept)
}

// Stats reports what the index holds.
func (x *Index) Stats() IndexStats {
	return IndexStats{Stanzas: x.stanzas, Keys: len(x.byKey), NoMD5: x.noMD5, Conflicts: x.conflict}
}

func indexKey(pkg, md5 string) string { return pkg + "\x00" + strings.ToLower(md5) }

// ReadPackages adds the stanzas of a Packages index read from r to x. name
// identifies r in errors. A stanza without Package is a *SyntaxError; one
// without Description-md5 is counted and skipped. Source defaults to the
// package name; a version in parentheses after it is dropped.
func (x *Index) ReadPackages(r io.Reader, name string) error {
	return ReadStanzas(r, name, func(st *Stanza) error {
		x.stanzas++
		pkg, _ := st.Get("Package")
		if pkg == "" {
			return &SyntaxError{name, st.Line, "stanza has no Package field"}
		}
		md5, _ := st.Get("Description-md5")
		if md5 == "" {
			x.noMD5++
			return nil
		}
		if !isMD5(md5) {
			return &SyntaxError{name, st.Field("Description-md5").Line, fmt.Sprintf("package %s: Description-md5 %q is not 32 hex digits", pkg, clip(md5, 40))}
		}
		src, _ := st.Get("Source")
		if i := strings.IndexAny(src, " ("); i >= 0 {
			src = src[:i]
		}
		if src == "" {
			src = pkg
		}
		sec, _ := st.Get("Section")
		if i := strings.LastIndexByte(sec, '/'); i >= 0 {
			sec = sec[i+1:]
		}
		info := pkgInfo{section: sec, source: src}
		k := indexKey(pkg, md5)
		if old, ok := x.byKey[k]; ok {
			if old != info {
				x.conflict++
			}
			return nil
		}
		x.byKey[k] = info
		return nil
	})
}

// Lookup returns the Section and Source of package pkg whose description has
// Description-md5 md5, and whether the index has it.
func (x *Index) Lookup(pkg, md5 string) (section, source string, ok bool) {
	info, ok := x.byKey[indexKey(pkg, md5)]
	return info.section, info.source, ok
}

// Join fills in rec's Section and Source from x; it reports false (and
// leaves rec unchanged) when x has no package with that name and md5.
func (x *Index) Join(rec *Record) bool {
	sec, src, ok := x.Lookup(rec.Package, rec.MD5)
	if ok {
		rec.Section, rec.Source = sec, src
	}
	return ok
}
