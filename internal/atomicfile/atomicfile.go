// Package atomicfile writes files so that a reader never sees a half-written
// one: the content goes to a temporary file in the same directory, is synced,
// given the usual mode of a data file (0644), and renamed over the
// destination. Every output of Lethe that is not a checkpoint or a token file
// is written this way.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write writes data to path atomically. On error nothing is left under
// path's name that was not there before, and no temporary file remains.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err // *PathError names the file
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	fail := func(err error) error {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; outputs are meant to be shared.
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path) // *LinkError names both paths
}

// WriteJSON writes v as indented JSON, followed by a newline, to path
// atomically (see Write).
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return Write(path, append(data, '\n'))
}
