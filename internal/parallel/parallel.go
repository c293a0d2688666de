// Package parallel provides a fixed pool of goroutines that runs range-split
// loops, For and ForDynamic, without allocating, so that the training step's
// few hundred parallel loops add neither garbage nor goroutine start-up cost.
//
// A loop is cut into chunks at fixed boundaries, and every worker (the
// caller included) claims chunks until none is left; the caller returns
// once every chunk has run. A worker that the operating system deschedules,
// on a core shared with another process, therefore holds up only the chunk
// it is running, never chunks it has not started: the others take those. The
// boundaries depend only on n and the chunk count, so results do not depend
// on which worker ran which chunk.
//
// Idle workers spin briefly and then sleep on a futex (Linux; elsewhere they
// poll with short sleeps). The futex, unlike a channel, never needs a runtime
// waiter record, so the loops stay allocation-free even when workers sleep.
//
// A pool with one worker per CPU the process may use binds each worker's
// thread to its own CPU (Linux; LETHE_PIN=0 turns this off, LETHE_PIN=1
// pins smaller pools too). Unpinned, a worker that slept and woke while a
// core was busy with another process was often queued behind the other
// worker on the same core, leaving the busy process a core to itself until
// the kernel rebalanced, tens of milliseconds later. A child process
// inherits the CPU binding of the thread that starts it: start children
// through OnProcessCPUs.
package parallel

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// spinTime is how long an idle worker (or the waiting caller) polls before
// sleeping. Spinning cuts the wake-up latency of back-to-back loops from a
// system call round trip to a cache-line transfer, and it keeps the worker's
// core through the serial work between a step's loops (the optimizer, the
// next batch): a worker that slept would find its core taken by any other
// runnable process, even a nice-19 one, which Linux does not preempt for a
// waking thread that has recently run, and would wait for the scheduler's
// next tick (up to 4 ms). Half a millisecond of spinning is lost only when
// the pool really goes idle.
const spinTime = 500 * time.Microsecond

// maxChunks bounds the chunks of one loop (the claim word holds the count
// in 16 bits).
const maxChunks = 1<<16 - 1

// Pool runs loops on a fixed set of workers. The goroutine that calls For
// counts as one of them, so New(w) starts w-1 goroutines. A Pool is meant
// to be driven by one goroutine at a time; For is not re-entrant.
type Pool struct {
	workers int
	closed  atomic.Bool

	// pinned is set when New bound the caller's thread to one CPU (and
	// each helper to another); callerMask is the caller's CPU set before.
	pinned     bool
	callerMask cpuMask

	// The current loop. fn and n are written by the caller before it
	// publishes the loop in claim, and read by a worker only after it has
	// claimed a chunk of that loop, which it cannot do once the loop is
	// complete: so they never change under a reader.
	fn func(lo, hi int)
	n  int

	_ [64]byte
	// claim is gen<<32 | chunks<<16 | next: the loop's generation, its
	// chunk count and the next unclaimed chunk. Workers claim chunks by
	// compare-and-swap, so a worker still holding an old generation can
	// never claim a chunk of a newer loop.
	claim   atomic.Uint64
	_       [56]byte
	gen     atomic.Uint32 // the current loop's generation; idle helpers sleep on it
	parked  atomic.Int32  // helpers asleep on gen
	_       [56]byte
	done    atomic.Uint32 // chunks of the current loop finished; the caller sleeps on it
	waiting atomic.Uint32 // 1 while the caller sleeps on done
}

// New returns a pool of workers workers (at least 1); the caller of For
// counts as one of them.
//
// New raises GOMAXPROCS to workers+1 if it is lower. The workers spend most
// of their time in cgo calls (OpenBLAS GEMMs, SIMD kernels), which the Go
// runtime treats as system calls: with no idle P, its monitor takes the P of
// a worker whose call lasts over 20 microseconds and wakes another thread to
// hold it, and the worker must find a P again when the call returns. That
// thread churn cost little on an idle machine, but beside another process
// (even at nice 19) each handoff let that process take a core: Lethe kept
// about 87% of its throughput beside a nice-19 busy loop, and 95% with the
// spare P (docs/PERFORMANCE.md).
//
// When the pool is pinned (see the package doc), New locks the calling
// goroutine to its thread and binds that thread to the first CPU, and Close
// restores the thread's CPU set and unlocks it: create, drive and close a
// pinned pool from one goroutine.
func New(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	if runtime.GOMAXPROCS(0) < workers+1 {
		runtime.GOMAXPROCS(workers + 1)
	}
	p := &Pool{workers: workers}
	cpus := pinCPUs(workers)
	if cpus != nil {
		runtime.LockOSThread()
		p.callerMask, _ = threadAffinity()
		p.pinned = setThreadAffinity(only(cpus[0]))
		if !p.pinned {
			runtime.UnlockOSThread()
		}
	}
	for i := range workers - 1 {
		cpu := -1
		if p.pinned {
			cpu = cpus[i+1]
		}
		go p.helper(cpu)
	}
	return p
}

// processMask is the CPU set of the process, read before any pool pinned
// a thread, and processCPUs its CPUs (nil where it cannot be read).
var (
	processMask, processMaskOK = threadAffinity()
	processCPUs                = func() []int {
		if !processMaskOK {
			return nil
		}
		return processMask.cpus()
	}()
)

// OnProcessCPUs runs fn on a thread that may use every CPU in the
// process's CPU set (as it was before any pool pinned a thread) and returns
// fn's error. A child process inherits the CPU set of the thread that
// starts it, and the goroutine that drives a pinned pool runs on a thread
// bound to one CPU: a child started there (a benchmark's peer, a busy loop)
// would be confined to that CPU. Start child processes inside fn.
func OnProcessCPUs(fn func() error) error {
	if !processMaskOK {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, its CPU set changed, ends with the goroutine.
		runtime.LockOSThread()
		setThreadAffinity(processMask)
		done <- fn()
	}()
	return <-done
}

// pinCPUs returns the CPUs to pin a pool of workers workers to (the
// caller's thread to the first), or nil to leave placement to the
// operating system.
func pinCPUs(workers int) []int {
	mode := os.Getenv("LETHE_PIN")
	if !canPin || workers < 2 || workers > len(processCPUs) || mode == "0" {
		return nil
	}
	if mode != "1" && workers != len(processCPUs) {
		return nil
	}
	return processCPUs[:workers]
}

// Pinned reports whether the pool's workers are bound to CPUs of their own.
func (p *Pool) Pinned() bool { return p.pinned }

// Workers reports how many workers run a loop's chunks at once.
func (p *Pool) Workers() int { return p.workers }

// For splits [0, n) into min(Workers(), n) contiguous chunks of near-equal
// size, runs fn(lo, hi) on each, concurrently, and returns when all have
// finished. fn must not assume one call per worker: a worker may run
// several chunks. It does not allocate if fn is an existing func value. n
// <= 0 returns at once.
func (p *Pool) For(n int, fn func(lo, hi int)) { p.run(n, p.workers, fn) }

// ForDynamic is For with chunks chunks (clamped to [1, n]): more chunks
// than workers let the others absorb the work of a worker that falls
// behind, at the cost of smaller pieces. It does not allocate.
func (p *Pool) ForDynamic(n, chunks int, fn func(lo, hi int)) { p.run(n, chunks, fn) }

func (p *Pool) run(n, chunks int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks = max(1, min(chunks, n, maxChunks))
	if chunks == 1 || p.workers == 1 {
		for c := range chunks {
			fn(c*n/chunks, (c+1)*n/chunks)
		}
		return
	}
	p.fn, p.n = fn, n
	p.done.Store(0)
	g := p.gen.Load() + 1
	p.claim.Store(uint64(g)<<32 | uint64(chunks)<<16)
	p.gen.Store(g)
	if p.parked.Load() > 0 {
		futexWake(&p.gen)
	}
	p.work(g)
	p.wait(uint32(chunks))
}

// work claims and runs chunks of loop generation g until none is left.
func (p *Pool) work(g uint32) {
	for {
		c := p.claim.Load()
		chunks, next := int(c>>16&0xffff), int(c&0xffff)
		if uint32(c>>32) != g || next >= chunks {
			return
		}
		if !p.claim.CompareAndSwap(c, c+1) {
			continue
		}
		fn, n := p.fn, p.n
		fn(next*n/chunks, (next+1)*n/chunks)
		if p.done.Add(1) == uint32(chunks) && p.waiting.Load() == 1 {
			futexWake(&p.done)
		}
	}
}

// wait returns once chunks chunks of the current loop have finished.
func (p *Pool) wait(chunks uint32) {
	var start time.Time
	for i := 0; ; i++ {
		if p.done.Load() == chunks {
			return
		}
		if i%64 == 63 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				break
			}
			p.yield()
		}
	}
	for {
		p.waiting.Store(1)
		v := p.done.Load()
		if v == chunks {
			p.waiting.Store(0)
			return
		}
		futexWait(&p.done, v)
	}
}

// helper is the loop of one pool goroutine: wait for a new loop, claim its
// chunks, until Close.
func (p *Pool) helper(cpu int) {
	if cpu >= 0 {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		setThreadAffinity(only(cpu))
	}
	var seen uint32
	for {
		seen = p.await(seen)
		if p.closed.Load() {
			return
		}
		p.work(seen)
	}
}

// await spins briefly, then sleeps, until the generation differs from
// seen, and returns it.
func (p *Pool) await(seen uint32) uint32 {
	var start time.Time
	for i := 0; ; i++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if i%64 == 63 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				break
			}
			p.yield()
		}
	}
	for {
		p.parked.Add(1)
		g := p.gen.Load()
		if g == seen {
			futexWait(&p.gen, seen) // returns at once if gen is no longer seen
			g = p.gen.Load()
		}
		p.parked.Add(-1)
		if g != seen {
			return g
		}
	}
}

// yield lets the Go scheduler run other goroutines from a spin loop, on an
// unpinned pool only: a goroutine locked to its thread that yields must be
// handed back to that thread by another, two thread wake-ups per call, which
// slowed a pinned pool measurably and made the runtime create threads
// (allocations) during training (docs/PERFORMANCE.md). The runtime still
// preempts a pinned spinner when it must (garbage collection).
func (p *Pool) yield() {
	if !p.pinned {
		runtime.Gosched()
	}
}

// Close stops the pool's goroutines. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closed.Store(true)
	p.gen.Add(1)
	futexWake(&p.gen)
	if p.pinned {
		setThreadAffinity(p.callerMask)
		runtime.UnlockOSThread()
	}
}
