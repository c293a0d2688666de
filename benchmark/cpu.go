package benchmark

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/internal/simd"
)

// CPU is what a speed figure depends on: the processor, the instruction
// sets it offers that Lethe's kernels use, and the kernels chosen.
type CPU struct {
	Model    string   `json:"model"`
	Flags    []string `json:"flags"`     // of sse2, avx2, fma, avx512f, avx512dq, avx512bw, avx512vl
	Kernels  string   `json:"kernels"`   // package simd's level
	GEMMCore string   `json:"gemm_core"` // OpenBLAS's kernel set
}

// ReadCPU reads the processor's model and flags from /proc/cpuinfo (empty
// elsewhere) and names the kernels in use.
func ReadCPU() CPU {
	c := CPU{Kernels: simd.Current().String(), GEMMCore: blas.CoreName()}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	want := []string{"sse2", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if c.Model == "" {
				c.Model = strings.TrimSpace(v)
			}
		case "flags":
			if c.Flags == nil {
				have := strings.Fields(v)
				c.Flags = []string{}
				for _, w := range want {
					if slices.Contains(have, w) {
						c.Flags = append(c.Flags, w)
					}
				}
			}
		}
	}
	return c
}

// hog is a shell busy loop, the neighbour of --beside-hog.
type hog struct {
	cmd *exec.Cmd
}

// startHog starts the busy loop at the given niceness (19, the lowest
// priority, for a background job; 0 for a neighbour with an equal claim).
func startHog(nice int) (*hog, error) {
	cmd := exec.Command("nice", "-n", strconv.Itoa(nice), "sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := parallel.OnProcessCPUs(cmd.Start); err != nil { // free to run on any CPU, as a neighbour is
		return nil, fmt.Errorf("bench: starting the busy loop: %w", err)
	}
	return &hog{cmd: cmd}, nil
}

// cpuSeconds is the CPU time the loop has used so far (user and system, from
// /proc; 0 where there is none). nice execs sh in place, so the pid is the
// loop's.
func (h *hog) cpuSeconds() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start past ")".
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ, 100 on Linux
}

// stop kills the loop and waits for it.
func (h *hog) stop() {
	syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	h.cmd.Wait()
}
