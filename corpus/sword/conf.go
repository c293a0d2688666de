package sword

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ReadConf reads a SWORD module configuration file (mods.d/<module>.conf):
// a "[ModuleName]" line, then "Key=Value" lines. A line ending in a
// backslash continues on the next line (the backslash and line break become
// one line break). A key given several times (GlobalOptionFilter, Feature)
// has its values joined with "\n". Blank lines and lines starting with '#'
// are skipped. The module name itself is not returned: the builder finds the
// module through DataPath.
func ReadConf(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sword: %w", err)
	}
	defer f.Close()
	conf := make(map[string]string)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		n       int // line number
		section bool
		key     string // key of a value being continued, or ""
	)
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if key != "" {
			cont := strings.HasSuffix(line, "\\")
			conf[key] += "\n" + strings.TrimSuffix(line, "\\")
			if !cont {
				key = ""
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
			continue
		case strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]"):
			if section {
				return nil, fmt.Errorf("sword: %s:%d: a second section header %s: expected one module per .conf file", path, n, trimmed)
			}
			section = true
			continue
		case !section:
			return nil, fmt.Errorf("sword: %s:%d: %q before the [ModuleName] line: expected the module name first", path, n, trimmed)
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("sword: %s:%d: %q: expected Key=Value", path, n, trimmed)
		}
		cont := strings.HasSuffix(v, "\\")
		v = strings.TrimSuffix(v, "\\")
		if old, dup := conf[k]; dup {
			v = old + "\n" + v
		}
		conf[k] = v
		if cont {
			key = k
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sword: %s:%d: %w", path, n+1, err)
	}
	if !section {
		return nil, fmt.Errorf("sword: %s: no [ModuleName] line: expected a SWORD .conf file", path)
	}
	return conf, nil
}
