// Package progress draws the one-line progress bars of lethe's long commands:
// done/total, a bar, caller-supplied metrics, rate and ETA. On a terminal the
// line is redrawn in place; into a file or pipe it is printed as ordinary
// lines, sparsely, so logs stay readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar is one progress line. It is not safe for concurrent use.
type Bar struct {
	w        io.Writer
	label    string
	unit     string // what done counts, e.g. "updates" or "MB"
	total    float64
	start    time.Time
	startAt  float64 // done when the bar started (a resumed run starts mid-way)
	tty      bool
	every    time.Duration
	last     time.Time
	lastLine int
	now      func() time.Time
}

// New returns a bar for work of size total starting at done = startAt. Output
// to a terminal is redrawn at most ten times a second; anything else gets a
// line every 30 seconds and at Finish.
func New(w io.Writer, label, unit string, startAt, total float64) *Bar {
	b := &Bar{w: w, label: label, unit: unit, total: total, startAt: startAt, now: time.Now}
	b.tty = isTerminal(w)
	b.every = 30 * time.Second
	if b.tty {
		b.every = 100 * time.Millisecond
	}
	b.start = b.now()
	return b
}

// SetInterval changes how often the line is printed (for tests and for
// commands that log every step anyway).
func (b *Bar) SetInterval(d time.Duration) { b.every = d }

// Update reports that done units of total are complete; extra is printed after
// the bar (metrics such as "loss 7.12 | lr 3e-4"). It prints only when the
// interval has passed since the last print.
func (b *Bar) Update(done float64, extra string) {
	t := b.now()
	if !b.last.IsZero() && t.Sub(b.last) < b.every {
		return
	}
	b.last = t
	b.draw(done, extra, t)
}

// Finish prints the final state and ends the line.
func (b *Bar) Finish(done float64, extra string) {
	b.draw(done, extra, b.now())
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw(done float64, extra string, t time.Time) {
	line := b.Line(done, extra, t.Sub(b.start))
	if b.tty {
		pad := ""
		if n := b.lastLine - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(b.w, "\r%s%s", line, pad)
		b.lastLine = len(line)
		return
	}
	fmt.Fprintln(b.w, line)
}

// Line formats the progress line for done units after elapsed time.
func (b *Bar) Line(done float64, extra string, elapsed time.Duration) string {
	const width = 20
	frac := 0.0
	if b.total > 0 {
		frac = done / b.total
	}
	frac = min(max(frac, 0), 1)
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s [%s] %s/%s %s %3.0f%%", b.label, bar, trim(done), trim(b.total), b.unit, 100*frac)
	if extra != "" {
		sb.WriteString(" | ")
		sb.WriteString(extra)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = (done - b.startAt) / s
	}
	if rate > 0 {
		fmt.Fprintf(&sb, " | %s %s/s | ETA %s", trim(rate), b.unit, Duration(time.Duration((b.total-done)/rate*float64(time.Second))))
	}
	fmt.Fprintf(&sb, " | %s", Duration(elapsed))
	return sb.String()
}

// Duration formats d compactly: 45s, 12m03s, 3h07m.
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	}
}

func trim(x float64) string {
	switch {
	case x == float64(int64(x)):
		return fmt.Sprintf("%d", int64(x))
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	default:
		return fmt.Sprintf("%.1f", x)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
