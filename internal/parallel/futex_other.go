//go:build !linux

package parallel

import (
	"sync/atomic"
	"time"
)

// futexWait, where there is no futex, polls: it sleeps briefly if *addr is
// still val. Callers loop until their condition holds.
func futexWait(addr *atomic.Uint32, val uint32) {
	if addr.Load() == val {
		time.Sleep(20 * time.Microsecond)
	}
}

// futexWake is a no-op where futexWait polls.
func futexWake(addr *atomic.Uint32) {}
