package parallel

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestForCoversRangeOnce(t *testing.T) {
	tests := []struct{ workers, n int }{
		{1, 10}, {2, 1}, {2, 2}, {2, 7}, {3, 100}, {4, 3}, {8, 1000}, {2, 0},
	}
	for _, tc := range tests {
		p := New(tc.workers)
		hits := make([]int32, tc.n)
		var calls atomic.Int32
		fn := func(lo, hi int) {
			calls.Add(1)
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		}
		for rep := 0; rep < 50; rep++ {
			p.For(tc.n, fn)
		}
		for i, h := range hits {
			if h != 50 {
				t.Fatalf("workers=%d n=%d: index %d visited %d times, want 50", tc.workers, tc.n, i, h)
			}
		}
		if c, most := calls.Load(), int32(50*min(tc.workers, tc.n)); c > most {
			t.Errorf("workers=%d n=%d: %d chunk calls, want <= %d", tc.workers, tc.n, c, most)
		}
		p.Close()
	}
}

func TestForChunksContiguous(t *testing.T) {
	p := New(3)
	defer p.Close()
	var got [3][2]atomic.Int64
	var idx atomic.Int32
	p.For(10, func(lo, hi int) {
		i := idx.Add(1) - 1
		got[i][0].Store(int64(lo))
		got[i][1].Store(int64(hi))
	})
	if idx.Load() != 3 {
		t.Fatalf("got %d chunks, want 3", idx.Load())
	}
	total := int64(0)
	for i := range got {
		lo, hi := got[i][0].Load(), got[i][1].Load()
		if hi <= lo {
			t.Errorf("empty chunk [%d,%d)", lo, hi)
		}
		total += hi - lo
	}
	if total != 10 {
		t.Errorf("chunks cover %d elements, want 10", total)
	}
}

func TestForNoAlloc(t *testing.T) {
	p := New(2)
	defer p.Close()
	buf := make([]float64, 1024)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			buf[i]++
		}
	}
	allocs := testing.AllocsPerRun(1000, func() { p.For(len(buf), fn) })
	if allocs != 0 {
		t.Fatalf("For allocated %v times per call, want 0", allocs)
	}
	if buf[0] != buf[1023] || buf[0] < 1000 {
		t.Fatalf("loop did not run: buf[0]=%v buf[1023]=%v", buf[0], buf[1023])
	}
}

// TestForNoAllocParked checks that For stays allocation-free when the
// helper has gone to sleep and the caller has to sleep too (a slow chunk),
// the case where a channel-based pool may allocate runtime waiter records
// (sudogs) once the garbage collector has emptied their cache.
func TestForNoAllocParked(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sink [2][16]float64
	fn := func(lo, hi int) {
		x := 1.0
		n := 1000
		if lo > 0 {
			n = 200000 // the helper's chunk is slow: the caller sleeps
		}
		for i := 0; i < n; i++ {
			x = x*1.0000001 + 1e-9
		}
		sink[lo][0] += x
	}
	allocs := testing.AllocsPerRun(30, func() {
		runtime.GC()                       // empties the runtime's cache of waiter records
		time.Sleep(300 * time.Microsecond) // the helper parks
		p.For(2, fn)
	})
	if allocs != 0 {
		t.Fatalf("For allocated %v times per call after parking, want 0", allocs)
	}
	if sink[0][0] == 0 || sink[1][0] == 0 {
		t.Fatal("chunks did not run")
	}
}

// TestForAfterIdle checks that helpers that have parked (blocked on their
// channel) are woken correctly.
func TestForAfterIdle(t *testing.T) {
	p := New(2)
	defer p.Close()
	var sum atomic.Int64
	fn := func(lo, hi int) { sum.Add(int64(hi - lo)) }
	for i := 0; i < 5; i++ {
		time.Sleep(5 * time.Millisecond)
		p.For(100, fn)
	}
	if sum.Load() != 500 {
		t.Fatalf("sum %d, want 500", sum.Load())
	}
}

// BenchmarkForLatency measures the round trip of an almost empty For call:
// the fixed cost each parallel loop of a training step pays.
func BenchmarkForLatency(b *testing.B) {
	p := New(2)
	defer p.Close()
	var x [2][64]int64
	fn := func(lo, hi int) { x[lo][0]++ }
	b.ReportAllocs()
	for b.Loop() {
		p.For(2, fn)
	}
}

// BenchmarkForLatencyParked measures For when the helper has gone to sleep.
func BenchmarkForLatencyParked(b *testing.B) {
	p := New(2)
	defer p.Close()
	var x [2][64]int64
	fn := func(lo, hi int) { x[lo][0]++ }
	for b.Loop() {
		b.StopTimer()
		time.Sleep(2 * time.Millisecond)
		b.StartTimer()
		p.For(2, fn)
	}
}

// BenchmarkForParkedWork is a parked pool given two chunks of about 50
// microseconds of work each: the wall time minus 50 microseconds is the cost
// of waking the sleeping helper.
func BenchmarkForParkedWork(b *testing.B) {
	p := New(2)
	defer p.Close()
	var sink [2][16]float64
	fn := func(lo, hi int) {
		x := 1.0
		for i := 0; i < 20000; i++ {
			x = x*1.0000001 + 1e-9
		}
		sink[lo][0] += x
	}
	for b.Loop() {
		b.StopTimer()
		time.Sleep(2 * time.Millisecond)
		b.StartTimer()
		p.For(2, fn)
	}
}

func TestForDynamicCoversRangeOnce(t *testing.T) {
	tests := []struct{ workers, n, chunks int }{
		{2, 10, 5}, {2, 7, 100}, {3, 1000, 17}, {1, 50, 8}, {2, 5, 2}, {4, 3, 0}, {2, 0, 4},
	}
	for _, tc := range tests {
		p := New(tc.workers)
		hits := make([]int32, tc.n)
		var calls atomic.Int32
		fn := func(lo, hi int) {
			calls.Add(1)
			if hi <= lo {
				t.Errorf("empty chunk [%d,%d)", lo, hi)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		}
		for rep := 0; rep < 30; rep++ {
			p.ForDynamic(tc.n, tc.chunks, fn)
		}
		for i, h := range hits {
			if h != 30 {
				t.Fatalf("%+v: index %d visited %d times, want 30", tc, i, h)
			}
		}
		want := max(1, min(tc.chunks, tc.n))
		if tc.n > 0 && calls.Load() != int32(30*want) {
			t.Errorf("%+v: %d calls, want %d", tc, calls.Load(), 30*want)
		}
		// For still works after ForDynamic.
		var sum atomic.Int64
		p.For(tc.n, func(lo, hi int) { sum.Add(int64(hi - lo)) })
		if sum.Load() != int64(tc.n) {
			t.Errorf("%+v: For after ForDynamic covered %d of %d", tc, sum.Load(), tc.n)
		}
		p.Close()
	}
}

// TestForDynamicBalances checks that a worker stuck in a slow chunk does
// not keep the others from taking the remaining chunks.
func TestForDynamicBalances(t *testing.T) {
	p := New(2)
	defer p.Close()
	var fastWhileSlow atomic.Int32 // fast chunks finished while chunk 0 sleeps
	var slowDone atomic.Bool
	fn := func(lo, hi int) {
		if lo == 0 {
			time.Sleep(20 * time.Millisecond)
			slowDone.Store(true)
			return
		}
		if !slowDone.Load() {
			fastWhileSlow.Add(1)
		}
	}
	p.ForDynamic(10, 10, fn)
	if n := fastWhileSlow.Load(); n < 8 {
		t.Errorf("only %d of 9 fast chunks ran while the slow one slept", n)
	}
}

func TestForDynamicNoAlloc(t *testing.T) {
	p := New(2)
	defer p.Close()
	buf := make([]float64, 1024)
	fn := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			buf[i]++
		}
	}
	if a := testing.AllocsPerRun(500, func() { p.ForDynamic(len(buf), 16, fn) }); a != 0 {
		t.Fatalf("ForDynamic allocated %v times per call", a)
	}
	if buf[0] < 500 || buf[0] != buf[1023] {
		t.Fatalf("loop did not run: %v %v", buf[0], buf[1023])
	}
}

// TestForDoesNotWaitForAStalledWorker checks that the caller runs the chunks
// of a worker that has not started: with one P and the caller locked to its
// thread, the helper goroutine cannot run while the caller works, and For
// must still return, every chunk run on the caller's thread. (The old pool,
// which handed each worker a fixed chunk, made the caller wait for it.) The
// Go scheduler may preempt the caller after 10 ms and let the helper in, so
// the test asks this of most rounds, not all.
func TestForDoesNotWaitForAStalledWorker(t *testing.T) {
	p := New(2) // raises GOMAXPROCS; lowered to 1 below
	defer p.Close()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := syscall.Gettid()
	const rounds = 20
	callerOnly := 0
	for range rounds {
		var elsewhere atomic.Int32
		p.For(4, func(lo, hi int) {
			if syscall.Gettid() != tid {
				elsewhere.Add(1)
			}
		})
		if elsewhere.Load() == 0 {
			callerOnly++
		}
	}
	if callerOnly < rounds*3/4 {
		t.Errorf("the caller ran every chunk itself in %d of %d rounds, want most", callerOnly, rounds)
	}
}

// TestNewLeavesASpareP checks that New raises GOMAXPROCS to workers+1.
func TestNewLeavesASpareP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	p := New(3)
	defer p.Close()
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Errorf("GOMAXPROCS %d after New(3), want 4", got)
	}
}
