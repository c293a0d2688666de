package ddtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxLine is the longest line ReadStanzas accepts. Packages indexes have a
// few very long Depends/Provides lines; none comes near this.
const maxLine = 16 << 20

// SyntaxError reports malformed control-file input, naming the file and the
// 1-based line.
type SyntaxError struct {
	File string // name given to ReadStanzas
	Line int    // 1-based line number
	Msg  string // what is wrong
}

// Error formats the error as "file:line: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Field is one field of a stanza. A multi-line value holds its first line,
// then "\n" and each continuation line with its single leading space or tab
// removed (so the paragraph separator " ." arrives as ".", and a verbatim
// line "  x" as " x").
type Field struct {
	Name  string // as written, e.g. "Description-de"
	Value string // see above; the first line is trimmed of surrounding blanks
	Line  int    // 1-based line of the field's first line
}

// Stanza is one paragraph of a Debian control file (Packages, Translation,
// deb822 .sources): fields in file order.
type Stanza struct {
	Fields []Field
	Line   int // 1-based line of the first field
}

// Get returns the value of the field named name (compared case-insensitively,
// as Debian field names are) and whether it is present.
func (s *Stanza) Get(name string) (string, bool) {
	if f := s.Field(name); f != nil {
		return f.Value, true
	}
	return "", false
}

// Field returns the field named name (case-insensitive), or nil.
func (s *Stanza) Field(name string) *Field {
	for i := range s.Fields {
		if strings.EqualFold(s.Fields[i].Name, name) {
			return &s.Fields[i]
		}
	}
	return nil
}

// ReadStanzas reads RFC 822 style stanzas from r and calls fn for each, in
// order. name identifies r in errors. Stanzas are separated by empty lines
// or lines of only spaces and tabs (as Debian policy allows); lines starting with '#' are comments; a line starting
// with a space or tab continues the previous field. A line that is neither, a
// continuation with no field to continue, an empty field name, a repeated
// field or invalid UTF-8 is a *SyntaxError with the line number. An error
// returned by fn stops the reading and is returned as is. The stanza passed
// to fn is reused afterwards: copy what must be kept.
func ReadStanzas(r io.Reader, name string, fn func(*Stanza) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		st     Stanza
		cont   []string // continuation lines of the last field
		lineNo int
	)
	flushField := func() {
		if len(cont) > 0 {
			f := &st.Fields[len(st.Fields)-1]
			f.Value = f.Value + "\n" + strings.Join(cont, "\n")
			cont = cont[:0]
		}
	}
	flush := func() error {
		flushField()
		if len(st.Fields) == 0 {
			return nil
		}
		err := fn(&st)
		st.Fields = st.Fields[:0]
		st.Line = 0
		return err
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if !utf8.ValidString(line) {
			return &SyntaxError{name, lineNo, "invalid UTF-8"}
		}
		switch {
		case strings.Trim(line, " \t") == "":
			// Only ASCII blanks: a translator's " \u00a0" is a continuation.
			if err := flush(); err != nil {
				return err
			}
		case line[0] == '#':
			// comment
		case line[0] == ' ' || line[0] == '\t':
			if len(st.Fields) == 0 {
				return &SyntaxError{name, lineNo, "continuation line with no field to continue"}
			}
			cont = append(cont, line[1:])
		default:
			colon := strings.IndexByte(line, ':')
			if colon < 0 {
				return &SyntaxError{name, lineNo, fmt.Sprintf("expected \"Field: value\", got %q", clip(line, 40))}
			}
			fname := line[:colon]
			if fname == "" || strings.ContainsAny(fname, " \t") {
				return &SyntaxError{name, lineNo, fmt.Sprintf("bad field name %q", clip(fname, 40))}
			}
			flushField()
			for _, f := range st.Fields {
				if strings.EqualFold(f.Name, fname) {
					return &SyntaxError{name, lineNo, fmt.Sprintf("field %q repeated (first at line %d)", fname, f.Line)}
				}
			}
			if len(st.Fields) == 0 {
				st.Line = lineNo
			}
			st.Fields = append(st.Fields, Field{Name: fname, Value: strings.TrimSpace(line[colon+1:]), Line: lineNo})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &SyntaxError{name, lineNo + 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return fmt.Errorf("%s: reading after line %d: %w", name, lineNo, err)
	}
	return flush()
}

// clip shortens s to at most n bytes (on a rune boundary) for error messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
