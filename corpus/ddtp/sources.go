package ddtp

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Source is one repository to download from: a URI and a suite, always with
// the component main. Options are deb822 field names and values kept from the
// system's entry (Signed-By, Architectures, Trusted, ...).
type Source struct {
	URI     string
	Suite   string
	Options [][2]string // deb822 name, value; in the order found
}

// oneLineOption maps a one-line sources.list option name to its deb822 field
// name. Options not listed (lang, target, ...) are dropped: the fetch chooses
// its own languages and targets.
func oneLineOption(name string) (string, bool) {
	switch name {
	case "arch":
		return "Architectures", true
	case "signed-by":
		return "Signed-By", true
	case "trusted":
		return "Trusted", true
	case "check-valid-until":
		return "Check-Valid-Until", true
	case "check-date":
		return "Check-Date", true
	case "allow-insecure":
		return "Allow-Insecure", true
	case "allow-weak":
		return "Allow-Weak", true
	case "by-hash":
		return "By-Hash", true
	case "snapshot":
		return "Snapshot", true
	}
	return "", false
}

// keptDeb822 lists the deb822 fields of a system entry that are copied.
func keptDeb822(name string) bool {
	switch strings.ToLower(name) {
	case "architectures", "signed-by", "trusted", "check-valid-until", "check-date",
		"allow-insecure", "allow-weak", "by-hash", "snapshot":
		return true
	}
	return false
}

// SystemSources reads the apt sources of the machine: the one-line file list
// (e.g. /etc/apt/sources.list; missing is fine) and the *.list and *.sources
// files of dir (e.g. /etc/apt/sources.list.d), in name order as apt reads
// them. It keeps enabled "deb" entries that have the component main and a
// URI containing "debian" (the DDTP translations live on Debian mirrors;
// third-party repositories would only slow the download or fail it), one
// Source per URI and suite, without duplicates.
func SystemSources(list, dir string) ([]Source, error) {
	var files []string
	if list != "" {
		if _, err := os.Stat(list); err == nil {
			files = append(files, list)
		} else if !os.IsNotExist(err) {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
		var names []string
		for _, e := range ents {
			if !e.IsDir() && (strings.HasSuffix(e.Name(), ".list") || strings.HasSuffix(e.Name(), ".sources")) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			files = append(files, filepath.Join(dir, n))
		}
	}
	var all []Source
	seen := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("apt sources: %w", err)
		}
		var srcs []Source
		if strings.HasSuffix(f, ".sources") {
			srcs, err = ParseDeb822Sources(fh, f)
		} else {
			srcs, err = ParseOneLineSources(fh, f)
		}
		fh.Close()
		if err != nil {
			return nil, err
		}
		for _, s := range srcs {
			if !strings.Contains(strings.ToLower(s.URI), "debian") {
				continue
			}
			k := strings.TrimSuffix(s.URI, "/") + " " + s.Suite
			if !seen[k] {
				seen[k] = true
				all = append(all, s)
			}
		}
	}
	return all, nil
}

// usableURI rejects cdrom: and other schemes apt-get update cannot reach.
func usableURI(u string) bool {
	for _, p := range []string{"http://", "https://", "ftp://", "file:", "mirror://", "mirror+", "tor+"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// ParseOneLineSources parses sources.list lines ("deb [opts] URI suite
// components..."), keeping enabled deb entries with the component main. name
// identifies r in errors; a deb line with too few words or an unclosed
// option bracket is a *SyntaxError.
func ParseOneLineSources(r io.Reader, name string) ([]Source, error) {
	sc := bufio.NewScanner(r)
	var out []Source
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		words := strings.Fields(line)
		if len(words) == 0 {
			continue
		}
		typ := words[0]
		words = words[1:]
		var opts []string
		if len(words) > 0 && strings.HasPrefix(words[0], "[") {
			joined := strings.Join(words, " ")
			end := strings.IndexByte(joined, ']')
			if end < 0 {
				return nil, &SyntaxError{name, n, "option list '[' is not closed"}
			}
			opts = strings.Fields(joined[1:end])
			words = strings.Fields(joined[end+1:])
		}
		if typ != "deb" {
			continue // deb-src, or something apt would reject: not ours to judge
		}
		if len(words) < 2 {
			return nil, &SyntaxError{name, n, "deb line needs a URI and a suite"}
		}
		uri, suite, comps := words[0], words[1], words[2:]
		if !usableURI(uri) || strings.HasSuffix(suite, "/") || !slices.Contains(comps, "main") {
			continue
		}
		s := Source{URI: uri, Suite: suite}
		for _, o := range opts {
			k, v, ok := strings.Cut(o, "=")
			if !ok || strings.HasSuffix(k, "+") || strings.HasSuffix(k, "-") {
				continue
			}
			if f, ok := oneLineOption(k); ok {
				if f == "Architectures" {
					v = strings.ReplaceAll(v, ",", " ")
				}
				s.Options = append(s.Options, [2]string{f, v})
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ParseDeb822Sources parses a deb822 .sources file (stanzas with Types, URIs,
// Suites, Components, Enabled, Signed-By, ...), keeping enabled deb entries
// with the component main, one Source per URI and suite. name identifies r
// in errors; a deb stanza without URIs or Suites is a *SyntaxError.
func ParseDeb822Sources(r io.Reader, name string) ([]Source, error) {
	var out []Source
	err := ReadStanzas(r, name, func(st *Stanza) error {
		types, _ := st.Get("Types")
		if !slices.Contains(strings.Fields(types), "deb") {
			return nil
		}
		if en, ok := st.Get("Enabled"); ok && strings.EqualFold(strings.TrimSpace(en), "no") {
			return nil
		}
		uris, _ := st.Get("URIs")
		suites, _ := st.Get("Suites")
		if strings.TrimSpace(uris) == "" || strings.TrimSpace(suites) == "" {
			return &SyntaxError{name, st.Line, "deb entry needs URIs and Suites"}
		}
		comps, _ := st.Get("Components")
		if !slices.Contains(strings.Fields(comps), "main") {
			return nil
		}
		var opts [][2]string
		for _, f := range st.Fields {
			if keptDeb822(f.Name) {
				opts = append(opts, [2]string{f.Name, f.Value})
			}
		}
		for _, u := range strings.Fields(uris) {
			if !usableURI(u) {
				continue
			}
			for _, s := range strings.Fields(suites) {
				if strings.HasSuffix(s, "/") {
					continue
				}
				out = append(out, Source{URI: u, Suite: s, Options: opts})
			}
		}
		return nil
	})
	return out, err
}

// WriteSources writes srcs as a deb822 .sources file, component main only.
// Multi-line option values (an inline Signed-By key) are written back as
// continuation lines.
func WriteSources(w io.Writer, srcs []Source) error {
	bw := bufio.NewWriter(w)
	for i, s := range srcs {
		if i > 0 {
			bw.WriteString("\n")
		}
		fmt.Fprintf(bw, "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n", s.URI, s.Suite)
		for _, o := range s.Options {
			lines := strings.Split(o[1], "\n")
			fmt.Fprintf(bw, "%s: %s\n", o[0], lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(bw, " %s\n", l)
			}
		}
	}
	return bw.Flush()
}
