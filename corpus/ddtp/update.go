package ddtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Indexes describes the downloaded indexes of a private apt tree, as
// EnsureIndexes left them.
type Indexes struct {
	Root        string     // the apt tree, DIR/apt (absolute)
	Conf        string     // its apt.conf, for apt-get -c
	Lists       string     // its lists directory
	Files       []ListFile // the index files, sorted by path
	Fingerprint string     // identifies Files by name, size and modification time
	Downloaded  bool       // whether this call ran apt-get update
}

// AptConfigFile returns the apt configuration file of the private apt tree
// of output directory dir (DIR/apt/apt.conf), for running other apt-get
// commands (such as download) against the same indexes.
func AptConfigFile(dir string) string { return aptLayout{filepath.Join(dir, "apt")}.conf() }

// ReadReleases returns the Origin, Suite, Codename and Date of every
// InRelease file among files.
func ReadReleases(files []ListFile) ([]Release, error) { return readReleases(files) }

// EnsureIndexes makes sure the Packages index and the Translation files of
// opts.Langs are present in the private apt tree opts.Dir/apt, running
// apt-get update under the private configuration when any is missing (or
// opts.Refresh is set). Only opts.Dir, opts.Langs, opts.Refresh, opts.Log and
// the download settings (Sources, SourcesList, SourcesDir, AptGet) are used.
// A failed download is an *UpdateError.
func EnsureIndexes(ctx context.Context, opts Options) (*Indexes, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	if opts.Dir == "" {
		return nil, errors.New("no output directory")
	}
	langs, err := uniqueLangs(opts.Langs)
	if err != nil {
		return nil, err
	}
	// apt resolves relative Dir:: paths against other Dir:: settings: give
	// it absolute ones.
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	a := aptLayout{filepath.Join(abs, "apt")}
	files, err := scanIfPresent(a.lists())
	if err != nil {
		return nil, err
	}
	have := listedLangs(files)
	var missing []string
	for _, l := range langs {
		if !slices.Contains(have, l) {
			missing = append(missing, l)
		}
	}
	hasPackages := slices.ContainsFunc(files, func(f ListFile) bool { return f.Kind == "Packages" })
	downloaded := false
	if opts.Refresh || !hasPackages || len(missing) > 0 {
		why := "--refresh"
		if !hasPackages {
			why = "no indexes in " + a.lists()
		} else if len(missing) > 0 {
			why = "no translations yet for " + strings.Join(missing, ",")
		}
		if err := download(ctx, opts, a, union(have, langs), why, log); err != nil {
			return nil, err
		}
		downloaded = true
		if files, err = ScanLists(a.lists()); err != nil {
			return nil, err
		}
		have = listedLangs(files)
		for _, l := range langs {
			if !slices.Contains(have, l) {
				return nil, fmt.Errorf("the mirrors have no Translation-%s for main (apt-get update fetched: %s)", l, strings.Join(have, ","))
			}
		}
	} else {
		fmt.Fprintf(log, "ddtp: indexes present in %s (use --refresh to download again)\n", a.lists())
	}
	fp, err := fingerprint(files)
	if err != nil {
		return nil, err
	}
	return &Indexes{Root: a.root, Conf: a.conf(), Lists: a.lists(), Files: files, Fingerprint: fp, Downloaded: downloaded}, nil
}
