// Package parallel provides a fixed pool of goroutines that runs a range-split
// loop, For, without allocating, so that the training step's few hundred
// parallel loops add neither garbage nor goroutine start-up cost.
package parallel

import (
	"runtime"
	"sync/atomic"
)

// spinIters is how many times an idle worker (or the waiting caller) polls
// before blocking on a channel. Short spins cut the wake-up latency of
// back-to-back For calls from a scheduler round trip to a cache-line
// transfer, while staying short enough not to steal a shared core for long.
const spinIters = 2000

// Pool runs For loops on a fixed set of workers. The goroutine that calls
// For is one of the workers, so New(w) starts w-1 goroutines. A Pool is
// meant to be driven by one goroutine at a time; For is not re-entrant.
type Pool struct {
	workers int
	slots   []slot
	pending atomic.Int32
	doneCh  chan struct{}
	waiting atomic.Int32 // 1 while the caller is blocked on doneCh
}

// slot is the mailbox of one helper goroutine. It is padded to its own cache
// lines so that workers polling their slots do not share a line.
type slot struct {
	fn     func(lo, hi int)
	lo, hi int
	seq    atomic.Uint64 // bumped by For to publish a task; -1 (max) closes
	parked atomic.Int32  // 1 while the helper is blocked on wake
	wake   chan struct{}
	_      [64]byte
}

// closeSeq is the sequence value that tells a helper to exit.
const closeSeq = ^uint64(0)

// New returns a pool of workers workers (at least 1); the caller of For
// counts as one of them.
func New(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{workers: workers, slots: make([]slot, workers-1), doneCh: make(chan struct{}, 1)}
	for i := range p.slots {
		p.slots[i].wake = make(chan struct{}, 1)
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
	p.pending.Store(int32(chunks - 1))
	for c := 1; c < chunks; c++ {
		s := &p.slots[c-1]
		s.fn, s.lo, s.hi = fn, c*n/chunks, (c+1)*n/chunks
		s.seq.Add(1)
		if s.parked.Load() == 1 && s.parked.CompareAndSwap(1, 0) {
			s.wake <- struct{}{}
		}
	}
	fn(0, n/chunks)
	p.wait()
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
	p.waiting.Store(1)
	if p.pending.Load() == 0 {
		if !p.waiting.CompareAndSwap(1, 0) {
			<-p.doneCh // the last helper saw waiting=1 and is sending
		}
		return
	}
	<-p.doneCh
}

// finish records that one helper's chunk is done, waking the caller if it
// is blocked and this was the last chunk.
func (p *Pool) finish() {
	if p.pending.Add(-1) == 0 && p.waiting.Load() == 1 && p.waiting.CompareAndSwap(1, 0) {
		p.doneCh <- struct{}{}
	}
}

// helper is the loop of one pool goroutine: wait for a task in s, run it,
// report completion, until Close.
func (p *Pool) helper(s *slot) {
	var seen uint64
	for {
		seq := p.await(s, seen)
		if seq == closeSeq {
			return
		}
		seen = seq
		s.fn(s.lo, s.hi)
		s.fn = nil
		p.finish()
	}
}

// await spins briefly, then blocks, until s.seq differs from seen.
func (p *Pool) await(s *slot, seen uint64) uint64 {
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
			if !s.parked.CompareAndSwap(1, 0) {
				<-s.wake // For already claimed the wake-up; consume it
			}
			return q
		}
		<-s.wake
		if q := s.seq.Load(); q != seen {
			return q
		}
	}
}

// Close stops the pool's goroutines. The pool must not be used afterwards.
func (p *Pool) Close() {
	for i := range p.slots {
		s := &p.slots[i]
		s.seq.Store(closeSeq)
		if s.parked.CompareAndSwap(1, 0) {
			s.wake <- struct{}{}
		}
	}
}
