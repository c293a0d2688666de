package parallel

import (
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPinCPUsPolicy(t *testing.T) {
	n := len(processCPUs)
	if n < 2 {
		t.Skipf("the process may use %d CPU(s)", n)
	}
	tests := []struct {
		env     string
		workers int
		want    []int
	}{
		{"", n, processCPUs},      // a pool with every CPU is pinned by default
		{"", 1, nil},              // one worker: nothing to keep apart
		{"", n + 1, nil},          // more workers than CPUs: two would share one
		{"0", n, nil},             // turned off
		{"1", 2, processCPUs[:2]}, // asked for on a smaller pool
		{"1", n + 1, nil},         // but never with more workers than CPUs
	}
	if n > 2 {
		tests = append(tests, struct {
			env     string
			workers int
			want    []int
		}{"", 2, nil}) // a smaller pool is left to the OS by default
	}
	for _, tc := range tests {
		t.Setenv("LETHE_PIN", tc.env)
		if got := pinCPUs(tc.workers); !slices.Equal(got, tc.want) {
			t.Errorf("LETHE_PIN=%q, %d workers: pinned to %v, want %v", tc.env, tc.workers, got, tc.want)
		}
	}
}

// lockForPinning skips a test on a machine with one CPU, asks for pinned
// pools, and locks the test's goroutine to its thread until the test ends:
// a pinned pool is created, driven and closed from one thread.
func lockForPinning(t *testing.T) {
	t.Helper()
	if len(processCPUs) < 2 {
		t.Skipf("the process may use %d CPU(s)", len(processCPUs))
	}
	t.Setenv("LETHE_PIN", "1")
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

// newPinned returns a 2-worker pool, failing the test if it is not pinned.
func newPinned(t *testing.T) *Pool {
	t.Helper()
	p := New(2)
	if !p.Pinned() {
		t.Fatal("a 2-worker pool with LETHE_PIN=1 is not pinned")
	}
	return p
}

func TestPinnedPoolBindsThreadsAndRestores(t *testing.T) {
	lockForPinning(t)
	before, ok := threadAffinity()
	if !ok {
		t.Fatal("sched_getaffinity failed")
	}
	p := newPinned(t)
	caller := only(processCPUs[0])
	if m, _ := threadAffinity(); m != caller {
		t.Errorf("the caller's thread may run on %v, want only CPU %d", m.cpus(), processCPUs[0])
	}
	// The helper claims a chunk once it is awake; each chunk reports the CPU
	// set of the thread that ran it.
	var helper cpuMask
	deadline := time.Now().Add(10 * time.Second)
	for helper == (cpuMask{}) && time.Now().Before(deadline) {
		var masks [2]cpuMask
		p.For(2, func(lo, hi int) {
			masks[lo], _ = threadAffinity()
			time.Sleep(time.Millisecond)
		})
		for _, m := range masks {
			if m != caller {
				helper = m
			}
		}
	}
	if want := only(processCPUs[1]); helper != want {
		t.Errorf("the helper's thread may run on %v, want only CPU %d", helper.cpus(), processCPUs[1])
	}
	p.Close()
	if m, _ := threadAffinity(); m != before {
		t.Errorf("after Close the caller's thread may run on %v, want %v as before New", m.cpus(), before.cpus())
	}
}

// TestOnProcessCPUsFreesChildren checks that a child process started by the
// goroutine that drives a pinned pool inherits its one CPU, and that one
// started through OnProcessCPUs may use every CPU of the process.
func TestOnProcessCPUsFreesChildren(t *testing.T) {
	lockForPinning(t)
	p := newPinned(t)
	defer p.Close()
	if got := childCPUs(t); !slices.Equal(got, processCPUs[:1]) {
		t.Errorf("a child started on the pinned thread may use CPUs %v, want only %v (else this test shows nothing)", got, processCPUs[:1])
	}
	var got []int
	if err := OnProcessCPUs(func() error { got = childCPUs(t); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, processCPUs) {
		t.Errorf("a child started through OnProcessCPUs may use CPUs %v, want the process's %v", got, processCPUs)
	}
}

// childCPUs starts cat and returns the CPUs its /proc status allows.
func childCPUs(t *testing.T) []int {
	out, err := exec.Command("cat", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		list, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		var cpus []int
		for _, r := range strings.Split(strings.TrimSpace(list), ",") {
			lo, hi, ok := strings.Cut(r, "-")
			a, err1 := strconv.Atoi(lo)
			b, err2 := a, error(nil)
			if ok {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("cannot read Cpus_allowed_list %q", list)
			}
			for c := a; c <= b; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus
	}
	t.Fatal("no Cpus_allowed_list in /proc/self/status")
	return nil
}
