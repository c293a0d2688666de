package parallel

import (
	"runtime"
	"slices"
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

func TestPinnedPoolBindsThreadsAndRestores(t *testing.T) {
	if len(processCPUs) < 2 {
		t.Skipf("the process may use %d CPU(s)", len(processCPUs))
	}
	t.Setenv("LETHE_PIN", "1")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, ok := threadAffinity()
	if !ok {
		t.Fatal("sched_getaffinity failed")
	}
	p := New(2)
	if !p.Pinned() {
		t.Fatal("a 2-worker pool with LETHE_PIN=1 is not pinned")
	}
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
