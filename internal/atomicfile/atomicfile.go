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
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// File is a file being written atomically: the content goes to a temporary
// file beside path, and Commit puts it under path's name.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path atomically. Call Commit when the content is
// complete; Abort (deferred) removes the temporary file of a File that was
// not committed.
func Create(path string) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err // *PathError names the file
	}
	// CreateTemp makes the file 0600; outputs are meant to be shared.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &File{File: tmp, path: path}, nil
}

// Commit syncs and closes the file and renames it to its path.
func (f *File) Commit() error {
	f.done = true
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return os.Rename(f.Name(), f.path) // *LinkError names both paths
}

// Abort discards a file that was not committed; after Commit it does
// nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
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
