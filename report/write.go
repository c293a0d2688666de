package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteDir writes the report into dir, creating it if needed: every
// figure's SVG under its Name, then report.md and report.html. Each file is
// written to a temporary name and renamed into place, so a failure never
// leaves a half-written file where an earlier complete one was.
func (d *Document) WriteDir(dir string) error {
	var md, html bytes.Buffer
	if err := d.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := d.WriteHTML(&html); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, b := range d.Blocks {
		f, ok := block(b).(Figure)
		if !ok {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("report: figure %q: %w", f.Name, err)
		}
		if err := writeFile(path, f.SVG); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, "report.md"), md.Bytes()); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "report.html"), html.Bytes())
}

// writeFile writes data to path through a temporary file in the same
// directory and a rename.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("report: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("report: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: writing %s: %w", tmp.Name(), err)
	}
	// CreateTemp makes the file 0600; reports are meant to be shared.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
