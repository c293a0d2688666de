package runlock

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecondProcessIsRefused holds the lock here and tries it from a child
// process (flock locks are per open file, so the child is the real second
// run): the child is refused with this process's PID in the message; after
// Release it gets the lock.
func TestSecondProcessIsRefused(t *testing.T) {
	if dir := os.Getenv("RUNLOCK_CHILD_DIR"); dir != "" {
		l, err := Acquire(dir)
		if err != nil {
			fmt.Print(err)
			os.Exit(3)
		}
		l.Release()
		os.Exit(0)
	}
	dir := filepath.Join(t.TempDir(), "run")
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	child := func() (string, int) {
		cmd := exec.Command(os.Args[0], "-test.run=TestSecondProcessIsRefused")
		cmd.Env = append(os.Environ(), "RUNLOCK_CHILD_DIR="+dir)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := child()
	if code != 3 || !strings.Contains(out, dir) || !strings.Contains(out, fmt.Sprintf("process %d", os.Getpid())) {
		t.Errorf("second process: exit %d, %q; want a refusal naming %s and pid %d", code, out, dir, os.Getpid())
	}
	l.Release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Release left the directory it created, empty (%v)", err)
	}
	if out, code := child(); code != 0 {
		t.Errorf("after Release the second process was refused: %q", out)
	}
	// A directory that existed keeps its files; only the lock file goes.
	keep := t.TempDir()
	os.WriteFile(filepath.Join(keep, "mine.txt"), []byte("x"), 0o644)
	l, err = Acquire(keep)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if entries, _ := os.ReadDir(keep); len(entries) != 1 || entries[0].Name() != "mine.txt" {
		t.Errorf("after Release %s holds %v, want only mine.txt", keep, entries)
	}
}
