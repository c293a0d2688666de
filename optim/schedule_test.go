package optim

import (
	"math"
	"testing"
)

func TestLinearSchedule(t *testing.T) {
	s := LinearSchedule{Peak: 1, WarmupUpdates: 4, Total: 12}
	noWarm := LinearSchedule{Peak: 2, WarmupUpdates: 0, Total: 10}
	cases := []struct {
		s    Schedule
		u    int
		want float64
	}{
		{s, -1, 0},
		{s, 0, 0},
		{s, 1, 0.25},
		{s, 2, 0.5},
		{s, 4, 1},
		{s, 5, 7.0 / 8},
		{s, 8, 0.5},
		{s, 11, 1.0 / 8},
		{s, 12, 0},
		{s, 100, 0},
		{noWarm, 0, 2},
		{noWarm, 5, 1},
		{noWarm, 10, 0},
		{ConstantSchedule{Rate: 1e-5}, 1, 1e-5},
		{ConstantSchedule{Rate: 1e-5}, 1 << 40, 1e-5},
	}
	for _, c := range cases {
		if got := c.s.LR(c.u); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%#v.LR(%d) = %v, want %v", c.s, c.u, got, c.want)
		}
	}
}

func TestEpisodicSchedule(t *testing.T) {
	base := LinearSchedule{Peak: 1, WarmupUpdates: 8, Total: 40}
	// K = 10: speed 4, so the embedding warms up over 8*10/40 = 2 updates, then decays to 0 at the reset.
	e := EpisodicSchedule{Base: base, Total: 40, Episode: 10}
	cases := []struct {
		u    int
		want float64
	}{
		{1, 0.5}, {2, 1}, {3, 28.0 / 32}, {6, 16.0 / 32}, {9, 4.0 / 32}, {10, 0},
		{11, 0.5}, {12, 1}, {20, 0}, {21, 0.5}, {40, 0}, {41, 0.5},
	}
	for _, c := range cases {
		if got := e.LR(c.u); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LR(%d) = %v, want %v", c.u, got, c.want)
		}
	}
	// Shape over the whole run: each episode rises to the peak, then falls monotonically to 0 at its end,
	// and every episode is the same.
	for k := 0; k < 4; k++ {
		first := k*10 + 1
		peakAt := first + 1
		if e.LR(peakAt) != 1 {
			t.Errorf("episode %d: LR(%d) = %v, want peak 1", k, peakAt, e.LR(peakAt))
		}
		for u := first; u < peakAt; u++ {
			if !(e.LR(u) < e.LR(u+1)) {
				t.Errorf("episode %d: no warmup between %d and %d", k, u, u+1)
			}
		}
		for u := peakAt; u < first+9; u++ {
			if !(e.LR(u) > e.LR(u+1)) {
				t.Errorf("episode %d: no decay between %d and %d", k, u, u+1)
			}
			if e.LR(u) != e.LR(u-k*10) {
				t.Errorf("episode %d differs from episode 0 at %d", k, u)
			}
		}
		if e.LR(first+9) != 0 {
			t.Errorf("episode %d ends at LR %v, want 0", k, e.LR(first+9))
		}
	}
	// Total not divisible by Episode: integer speed, as the official code's max_update // K.
	odd := EpisodicSchedule{Base: LinearSchedule{Peak: 1, WarmupUpdates: 3, Total: 10}, Total: 10, Episode: 3}
	if got, want := odd.LR(1), (LinearSchedule{Peak: 1, WarmupUpdates: 3, Total: 10}).LR(3); got != want {
		t.Errorf("odd LR(1) = %v, want %v", got, want)
	}
	// Degenerate episode falls back to the base schedule.
	if got := (EpisodicSchedule{Base: base, Total: 40}).LR(5); got != base.LR(5) {
		t.Errorf("Episode 0: LR(5) = %v, want %v", got, base.LR(5))
	}
}
