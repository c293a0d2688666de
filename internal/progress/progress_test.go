package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name          string
		startAt, done float64
		elapsed       time.Duration
		extra         string
		want          []string
	}{
		{"start", 0, 0, 0, "", []string{"train [....................] 0/100 updates   0%", "| 0s"}},
		{"half with rate", 0, 50, 10 * time.Second, "loss 7.10", []string{"[##########..........] 50/100", "50%", "| loss 7.10 |", "| 5 updates/s", "ETA 10s"}},
		{"resumed: rate counts only this run", 40, 50, 10 * time.Second, "", []string{"| 1 updates/s", "ETA 50s"}},
		{"done", 0, 100, 100 * time.Second, "", []string{"100%", "ETA 0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(&bytes.Buffer{}, "train", "updates", tt.startAt, 100)
			got := b.Line(tt.done, tt.extra, tt.elapsed)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Line() = %q, missing %q", got, w)
				}
			}
		})
	}
}

func TestUpdateThrottlesWhenNotTerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "x", "steps", 0, 10)
	clock := time.Unix(0, 0)
	b.now = func() time.Time { return clock }
	b.start = clock
	b.SetInterval(time.Second)
	for i := 0; i < 10; i++ {
		b.Update(float64(i), "")
		clock = clock.Add(300 * time.Millisecond)
	}
	b.Finish(10, "")
	lines := strings.Count(buf.String(), "\n")
	// prints at t=0, 1.2s, 2.4s (every 4th update of 300ms) and at Finish
	if lines != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", lines, buf.String())
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{-time.Second, "0s"}, {45 * time.Second, "45s"}, {723 * time.Second, "12m03s"}, {3*time.Hour + 7*time.Minute, "3h07m"}} {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
