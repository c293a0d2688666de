package report

import (
	"bytes"
	"fmt"
	"lethe/internal/atomicfile"
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
		if err := atomicfile.Write(path, f.SVG); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "report.md"), md.Bytes()); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "report.html"), html.Bytes())
}
