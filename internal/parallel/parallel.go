// Package parallel provides a fixed pool of goroutines that runs a range-split
// loop, For, without allocating, so that the training step's few hundred
// parallel loops add neither garbage nor goroutine start-up cost.
//
// Idle workers spin briefly and then sleep on a futex (Linux; elsewhere they
// poll with short sleeps). The futex, unlike a channel, never needs a runtime
// waiter record, so For stays allocation-free even when workers sleep under
// CPU contention.
package parallel

import (
	"runtime"
	"sync/atomic"
)

// spinIters is how many times an idle worker (or the waiting caller) polls
// before sleeping. Short spins cut the wake-up latency of back-to-back For
// calls from a system call round trip to a cache-line transfer, while staying
// short enough (tens of microseconds) not to steal a shared core for long.
const spinIters = 2000

// Pool runs For loops on a fixed set of workers. The goroutine that calls
// For is one of the workers, so New(w) starts w-1 goroutines. A Pool is
// meant to be driven by one goroutine at a time; For is not re-entrant.
type Pool struct {
	workers int
	slots   []slot
	pending atomic.Uint32 // helpers still running the current For; a futex word
	waiting atomic.Uint32 // 1 while the caller sleeps on pending
	closed  atomic.Bool

	// State of the current ForDynamic call (chunks == 0 during For).
	chunks, n int
	_         [64]byte
	next      atomic.Int64 // next chunk to hand out
}

// slot is the mailbox of one helper goroutine, padded to its own cache lines
// so that workers polling their slots do not share a line.
type slot struct {
	_      [64]byte
	fn     func(lo, hi int)
	lo, hi int
	seq    atomic.Uint32 // bumped by For to publish a task; a futex word
	parked atomic.Uint32 // 1 while the helper sleeps on seq
	_      [64]byte
}

// New returns a pool of workers workers (at least 1); the caller of For
// counts as one of them.
func New(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{workers: workers, slots: make([]slot, workers-1)}
	for i := range p.slots {
		go p.helper(&p.slots[i])
	}
	return p
}

// Workers reports how many chunks For may run at once.
func (p *Pool) Workers() int { return p.workers }

// For splits [0, n) into at most Workers() contiguous chunks of near-equal
// size, runs fn(lo, hi) on each concurrently (the first chunk on the calling
// goroutine) and returns when all have finished. It does not allocate if fn
// is an existing func value. n <= 0 returns at once.
func (p *Pool) For(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks := min(p.workers, n)
	if chunks == 1 {
		fn(0, n)
		return
	}
	p.pending.Store(uint32(chunks - 1))
	for c := 1; c < chunks; c++ {
		s := &p.slots[c-1]
		s.fn, s.lo, s.hi = fn, c*n/chunks, (c+1)*n/chunks
		s.seq.Add(1)
		if s.parked.Load() == 1 {
			futexWake(&s.seq)
		}
	}
	fn(0, n/chunks)
	p.wait()
}

// ForDynamic splits [0, n) into chunks contiguous ranges of near-equal
// size and hands them out one at a time to whichever worker is free (the
// caller included), returning when all have run. Unlike For, one worker may
// run several chunks, so a worker that the operating system deschedules
// (on a machine shared with other processes) does not hold up the others;
// fn must therefore not assume one call per worker. chunks is clamped to
// [1, n]; chunks <= Workers() behaves like For. It does not allocate.
func (p *Pool) ForDynamic(n, chunks int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	chunks = max(1, min(chunks, n))
	if chunks <= p.workers {
		p.For(n, fn)
		return
	}
	p.chunks, p.n = chunks, n
	p.next.Store(0)
	helpers := p.workers - 1
	p.pending.Store(uint32(helpers))
	for c := 0; c < helpers; c++ {
		s := &p.slots[c]
		s.fn = fn
		s.seq.Add(1)
		if s.parked.Load() == 1 {
			futexWake(&s.seq)
		}
	}
	p.runChunks(fn)
	p.wait()
	p.chunks = 0
}

// runChunks runs chunks of the current ForDynamic call until none is left.
func (p *Pool) runChunks(fn func(lo, hi int)) {
	for {
		c := int(p.next.Add(1) - 1)
		if c >= p.chunks {
			return
		}
		fn(c*p.n/p.chunks, (c+1)*p.n/p.chunks)
	}
}

// wait returns once every helper has finished its chunk.
func (p *Pool) wait() {
	for i := 0; i < spinIters; i++ {
		if p.pending.Load() == 0 {
			return
		}
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	for {
		p.waiting.Store(1)
		v := p.pending.Load()
		if v == 0 {
			p.waiting.Store(0)
			return
		}
		futexWait(&p.pending, v)
	}
}

// helper is the loop of one pool goroutine: wait for a task in s, run it,
// report completion, until Close.
func (p *Pool) helper(s *slot) {
	var seen uint32
	for {
		seen = p.await(s, seen)
		if p.closed.Load() {
			return
		}
		if p.chunks > 0 {
			p.runChunks(s.fn)
		} else {
			s.fn(s.lo, s.hi)
		}
		s.fn = nil
		if p.pending.Add(^uint32(0)) == 0 && p.waiting.Load() == 1 {
			futexWake(&p.pending)
		}
	}
}

// await spins briefly, then sleeps, until s.seq differs from seen, and
// returns the new value.
func (p *Pool) await(s *slot, seen uint32) uint32 {
	for i := 0; i < spinIters; i++ {
		if q := s.seq.Load(); q != seen {
			return q
		}
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	for {
		s.parked.Store(1)
		if q := s.seq.Load(); q != seen {
			s.parked.Store(0)
			return q
		}
		futexWait(&s.seq, seen) // returns at once if seq is no longer seen
	}
}

// Close stops the pool's goroutines. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.closed.Store(true)
	for i := range p.slots {
		s := &p.slots[i]
		s.seq.Add(1)
		futexWake(&s.seq)
	}
}
