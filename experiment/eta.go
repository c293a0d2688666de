package experiment

import "time"

// stageClock estimates the time an experiment has left from the stages it
// ran: each kind of stage (pretraining, a random body, adaptation,
// fine-tuning, evaluation, ...) is expected to take as long as the stages
// of that kind that ran in this process took on average. A stage found in
// the cache (hit) teaches nothing.
type stageClock struct {
	planned map[string]int // stages of each kind in the whole experiment
	reached map[string]int // stages of each kind begun so far, cached ones included
	ran     map[string]int // stages of each kind that did work
	secs    map[string]float64
	kind    string // the stage running now
	start   time.Time
	cached  bool // the running stage was found in the cache
}

func newStageClock(planned map[string]int) *stageClock {
	return &stageClock{planned: planned, reached: map[string]int{}, ran: map[string]int{}, secs: map[string]float64{}}
}

// begin ends the running stage at now and starts one of kind kind.
func (c *stageClock) begin(kind string, now time.Time) {
	if c.kind != "" && !c.cached {
		c.ran[c.kind]++
		c.secs[c.kind] += now.Sub(c.start).Seconds()
	}
	c.kind, c.start, c.cached = kind, now, false
	c.reached[kind]++
}

// hit marks the running stage as found in the cache.
func (c *stageClock) hit() { c.cached = true }

// left estimates the time to the end of the experiment, the running stage
// included, as at its start; ok is false while a kind of stage still to come
// has not run once.
func (c *stageClock) left() (d time.Duration, ok bool) {
	var s float64
	for kind, n := range c.planned {
		todo := n - c.reached[kind]
		if kind == c.kind {
			todo++
		}
		if todo <= 0 {
			continue
		}
		if c.ran[kind] == 0 {
			return 0, false
		}
		s += float64(todo) * c.secs[kind] / float64(c.ran[kind])
	}
	return time.Duration(s * float64(time.Second)), true
}
