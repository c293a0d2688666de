// Package reference holds the PyTorch scripts that Lethe is checked and
// benchmarked against, embedded so that the lethe binary can run them from
// anywhere. They need Debian's python3-torch, installed for /usr/bin/python3
// (the python3 first on PATH may be another interpreter without torch).
package reference

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"lethe/internal/parallel"
)

// Python is the interpreter that has Debian's python3-torch.
const Python = "/usr/bin/python3"

//go:embed *.py
var scripts embed.FS

// Run runs the embedded script name (e.g. "bench_torch.py") with args under
// Python, with extra environment variables env ("KEY=value") added to the
// current environment, and returns its standard output. A failure includes the
// tail of the script's standard error.
func Run(ctx context.Context, name string, env []string, args ...string) ([]byte, error) {
	src, err := scripts.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reference: no embedded script %q: %w", name, err)
	}
	dir, err := os.MkdirTemp("", "lethe-reference-")
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	cmd := exec.CommandContext(ctx, Python, append([]string{path}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Started on a thread free of any pinned pool's CPU binding, which a
	// child would inherit (PyTorch confined to one core).
	if err := parallel.OnProcessCPUs(cmd.Run); err != nil {
		tail := stderr.Bytes()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("reference: %s %s: %w\n%s", Python, name, err, tail)
	}
	return stdout.Bytes(), nil
}
