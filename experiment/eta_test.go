package experiment

import (
	"testing"
	"time"
)

func TestStageClock(t *testing.T) {
	c := newStageClock(map[string]int{"pretrain": 2, "adapt": 4})
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	c.begin("pretrain", t0)
	if _, ok := c.left(); ok {
		t.Fatal("an estimate before any stage ran")
	}
	c.begin("adapt", t0.Add(100*time.Second)) // pretrain 1 took 100 s
	if _, ok := c.left(); ok {
		t.Fatal("an estimate before any adaptation ran")
	}
	c.begin("adapt", t0.Add(110*time.Second)) // adapt 1 took 10 s
	c.hit()                                   // adapt 2 was cached
	c.begin("adapt", t0.Add(110*time.Second+time.Millisecond))
	// To come: adapt 3 (running) and 4 at 10 s each, pretrain 2 at 100 s.
	if d, ok := c.left(); !ok || d != 120*time.Second {
		t.Errorf("left %v (known %v), want 2m0s", d, ok)
	}
	c.begin("adapt", t0.Add(130*time.Second+time.Millisecond)) // adapt 3 took 20 s: adaptations average 15 s
	// To come: adapt 4 (running) at 15 s, pretrain 2 at 100 s.
	if d, ok := c.left(); !ok || d != 115*time.Second {
		t.Errorf("left %v (known %v), want 1m55s", d, ok)
	}
}
