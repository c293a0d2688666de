// Package runlock gives one process at a time a directory to write: an
// exclusive flock(2) on DIR/.lock, which names the holder's PID, so that a
// second run on the same output directory fails at once instead of
// interleaving its files with the first's. The kernel drops the lock when
// the process ends, however it ends, so a killed run leaves no stale lock.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// File is the lock file's name inside the locked directory.
const File = ".lock"

// Lock is a held lock; Release gives it back.
type Lock struct {
	f       *os.File
	dir     string
	madeDir bool // Acquire created dir
}

// Acquire creates dir if needed and locks it for this process. If another
// process holds it, the error names the directory and that process's PID.
func Acquire(dir string) (*Lock, error) {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	path := filepath.Join(dir, File)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("runlock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if raw, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(raw))); perr == nil {
				holder = fmt.Sprintf("process %d", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("runlock: %s is in use by %s (another lethe run writing there); wait for it or choose another output directory", dir, holder)
		}
		return nil, fmt.Errorf("runlock: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, dir: dir, madeDir: statErr != nil}, nil
}

// Release unlocks the directory and removes the lock file, and the
// directory too if Acquire created it and nothing else was written there (a
// run that failed before writing leaves nothing behind).
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	os.Remove(l.f.Name()) // while still held, so no other run holds this file
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
	if l.madeDir {
		os.Remove(l.dir) // fails harmlessly unless empty
	}
}
