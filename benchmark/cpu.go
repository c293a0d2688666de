package benchmark

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"

	"lethe/internal/blas"
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

// startHog starts a shell busy loop at nice 19 and returns a function that
// stops it.
func startHog() (stop func(), err error) {
	cmd := exec.Command("nice", "-n", "19", "sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting the busy loop: %w", err)
	}
	return func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}, nil
}
