package ddtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"lethe/internal/atomicfile"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// DefaultAptHelper is where Debian installs apt-helper, whose cat-file
// command decompresses any index format apt stores (lz4, gz, xz, zst, bz2).
const DefaultAptHelper = "/usr/lib/apt/apt-helper"

// stripCompression returns name without one of the compression suffixes
// apt gives stored index files, and whether it had one.
func stripCompression(name string) (string, bool) {
	for _, e := range []string{".lz4", ".gz", ".xz", ".zst", ".bz2", ".lzma"} {
		if strings.HasSuffix(name, e) {
			return strings.TrimSuffix(name, e), true
		}
	}
	return name, false
}

// aptLayout names the paths of the private apt tree under DIR/apt.
type aptLayout struct {
	root string
}

func (a aptLayout) conf() string    { return filepath.Join(a.root, "apt.conf") }
func (a aptLayout) sources() string { return filepath.Join(a.root, "lethe.sources") }
func (a aptLayout) parts() string   { return filepath.Join(a.root, "sources.list.d") }
func (a aptLayout) lists() string   { return filepath.Join(a.root, "lists") }
func (a aptLayout) cache() string   { return filepath.Join(a.root, "cache") }
func (a aptLayout) state() string   { return filepath.Join(a.root, "state") }
func (a aptLayout) status() string  { return filepath.Join(a.root, "status") }

// validLang reports whether l looks like a DDTP language code (en, pt_BR,
// zh_CN, ca@valencia ...); it keeps quotes and path separators out of the apt
// configuration and file names.
func validLang(l string) bool {
	if l == "" || len(l) > 20 {
		return false
	}
	for _, c := range l {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}

// aptQuote quotes s for an apt configuration file, which has no escapes.
func aptQuote(s string) (string, error) {
	if strings.ContainsAny(s, "\"\n") {
		return "", fmt.Errorf("path %q cannot be written into an apt configuration (quote or newline)", s)
	}
	return `"` + s + `"`, nil
}

// writeAptConfig creates the private apt tree and writes its configuration:
// every directory apt writes to points into it, the system's sources and
// update hooks are replaced, and only the Packages and Translation indexes of
// langs are fetched. It works for an unprivileged user.
func writeAptConfig(a aptLayout, srcs []Source, langs []string) error {
	for _, d := range []string{
		filepath.Join(a.lists(), "partial"),
		filepath.Join(a.cache(), "archives", "partial"),
		a.state(), a.parts(),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("apt tree: %w", err)
		}
	}
	if f, err := os.OpenFile(a.status(), os.O_CREATE|os.O_WRONLY, 0o644); err != nil {
		return fmt.Errorf("apt tree: %w", err)
	} else {
		f.Close()
	}
	var sb bytes.Buffer
	if err := WriteSources(&sb, srcs); err != nil {
		return err
	}
	if err := atomicfile.Write(a.sources(), sb.Bytes()); err != nil {
		return fmt.Errorf("apt sources: %w", err)
	}
	sandbox := "root"
	if u, err := user.Current(); err == nil && u.Username != "" {
		sandbox = u.Username
	}
	var c strings.Builder
	c.WriteString("// Written by lethe data fetch: a private apt tree; nothing here touches the system's.\n")
	set := func(key, val string) error {
		q, err := aptQuote(val)
		if err != nil {
			return err
		}
		fmt.Fprintf(&c, "%s %s;\n", key, q)
		return nil
	}
	for _, kv := range [][2]string{
		{"Dir::State", a.state()},
		{"Dir::State::Lists", a.lists()},
		{"Dir::State::status", a.status()},
		{"Dir::Cache", a.cache()},
		{"Dir::Cache::pkgcache", ""},
		{"Dir::Cache::srcpkgcache", ""},
		{"Dir::Etc::sourcelist", a.sources()},
		{"Dir::Etc::sourceparts", a.parts()},
		{"APT::Sandbox::User", sandbox},
		{"APT::Update::Error-Mode", "any"},
		{"Acquire::IndexTargets::deb::DEP-11::DefaultEnabled", "false"},
		{"Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled", "false"},
	} {
		if err := set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	c.WriteString("#clear APT::Update::Pre-Invoke;\n#clear APT::Update::Post-Invoke;\n#clear APT::Update::Post-Invoke-Success;\n")
	c.WriteString("#clear Acquire::Languages;\nAcquire::Languages {")
	for _, l := range langs {
		fmt.Fprintf(&c, " %q;", l) // validLang: no quotes or escapes to worry about
	}
	c.WriteString(" };\n")
	if err := atomicfile.Write(a.conf(), []byte(c.String())); err != nil {
		return fmt.Errorf("apt config: %w", err)
	}
	return nil
}

// UpdateError is a failed apt-get update: the mirrors it tried and the tail
// of its output.
type UpdateError struct {
	Mirrors []string // URI suite
	Tail    string   // last lines of apt-get's output
	Err     error    // from running apt-get
}

// Error names the mirrors, the failure and apt-get's last lines.
func (e *UpdateError) Error() string {
	return fmt.Sprintf("apt-get update from %s failed: %v\n--- apt-get output (tail) ---\n%s", strings.Join(e.Mirrors, ", "), e.Err, strings.TrimRight(e.Tail, "\n"))
}

// Unwrap returns the underlying error.
func (e *UpdateError) Unwrap() error { return e.Err }

// runUpdate runs apt-get update with the private configuration, copying its
// output to log line by line with the prefix "apt: ".
func runUpdate(ctx context.Context, aptGet string, a aptLayout, srcs []Source, log io.Writer) error {
	cmd := exec.CommandContext(ctx, aptGet, "-c", a.conf(), "-q", "update")
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	tail := &tailBuffer{max: 25}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			tail.add(sc.Text())
			fmt.Fprintf(log, "apt: %s\n", sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("apt-get update: %w", ctx.Err())
		}
		var mirrors []string
		for _, s := range srcs {
			mirrors = append(mirrors, s.URI+" "+s.Suite)
		}
		return &UpdateError{Mirrors: mirrors, Tail: tail.String(), Err: err}
	}
	return nil
}

// tailBuffer keeps the last max lines written to it.
type tailBuffer struct {
	max   int
	lines []string
}

func (t *tailBuffer) add(l string) {
	t.lines = append(t.lines, l)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string { return strings.Join(t.lines, "\n") }

// ListFile is one index file in an apt lists directory.
type ListFile struct {
	Path string // full path
	Kind string // "Packages", "Translation" or "InRelease"
	Lang string // for Translation files
}

// ScanLists lists the Packages, Translation and InRelease files of an apt
// lists directory, sorted by path. apt names them after the URI, e.g.
// deb.debian.org_debian_dists_bookworm_main_i18n_Translation-de.lz4.
func ScanLists(dir string) ([]ListFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("apt lists: %w", err)
	}
	var out []ListFile
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		base, _ := stripCompression(e.Name())
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(base, "_Packages"):
			out = append(out, ListFile{Path: p, Kind: "Packages"})
		case strings.HasSuffix(base, "_InRelease"):
			out = append(out, ListFile{Path: p, Kind: "InRelease"})
		default:
			if i := strings.LastIndex(base, "_i18n_Translation-"); i >= 0 {
				// apt escapes some characters of URIs in file names: pt_BR is
				// stored as Translation-pt%5fBR.
				lang := base[i+len("_i18n_Translation-"):]
				if u, err := url.PathUnescape(lang); err == nil {
					lang = u
				}
				out = append(out, ListFile{Path: p, Kind: "Translation", Lang: lang})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// openIndex opens an index file for reading, decompressing it through
// apt-helper cat-file when it is compressed. Close reports a failure of the
// helper with its stderr.
func openIndex(ctx context.Context, helper, path string) (io.ReadCloser, error) {
	if _, comp := stripCompression(path); !comp {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open index: %w", err)
		}
		return f, nil
	}
	cmd := exec.CommandContext(ctx, helper, "cat-file", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("decompress %s: %s not found (Debian's apt package provides it): %w", path, helper, err)
		}
		return nil, fmt.Errorf("decompress %s with %s: %w", path, helper, err)
	}
	return &helperReader{r: out, cmd: cmd, stderr: &stderr, path: path}, nil
}

// helperReader reads the stdout of apt-helper cat-file.
type helperReader struct {
	r      io.Reader
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	path   string
}

func (h *helperReader) Read(p []byte) (int, error) { return h.r.Read(p) }

func (h *helperReader) Close() error {
	io.Copy(io.Discard, h.r)
	if err := h.cmd.Wait(); err != nil {
		return fmt.Errorf("decompress %s: apt-helper cat-file: %w: %s", h.path, err, strings.TrimSpace(h.stderr.String()))
	}
	return nil
}

// readIndex opens path and hands its decompressed text to parse, reporting
// errors of either.
func readIndex(ctx context.Context, helper, path string, parse func(io.Reader) error) error {
	rc, err := openIndex(ctx, helper, path)
	if err != nil {
		return err
	}
	perr := parse(rc)
	cerr := rc.Close()
	if perr != nil {
		return perr
	}
	return cerr
}
