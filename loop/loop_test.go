package loop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/internal/jsonl"
	"lethe/nn"
	"lethe/optim"
)

// toyState is a trainer state in a caller's own JSON layout.
type toyState struct {
	Update  int      `json:"update"`
	Best    *float64 `json:"best_score,omitempty"`
	BestAt  int      `json:"best_at,omitempty"`
	Seconds float64  `json:"train_seconds"`
	Run     toyRun   `json:"run"`
}

type toyRun struct {
	Seed uint64 `json:"seed"`
}

func (s *toyState) Fields() Fields {
	return Fields{Update: &s.Update, Seconds: &s.Seconds, Best: &s.Best, BestUpdate: &s.BestAt, Run: s.Run}
}

// toy is a run that fits four numbers to a target by AdamW on a squared
// loss, with a validation score taken from scores (by update) when set.
type toy struct {
	w      *nn.Param
	opt    *optim.AdamW
	state  toyState
	scores map[int]float64
	nanAt  int // Forward returns a NaN loss at this update
	after  func(u int)
	calls  []string
}

func newToy(t *testing.T, seed uint64) *toy {
	t.Helper()
	w := &nn.Param{Name: "w", Shape: []int{4}, Data: make([]float32, 4), Grad: make([]float32, 4), RequiresGrad: true}
	opt, err := optim.NewAdamW([]optim.Group{{Name: "body", Params: []*nn.Param{w}, Schedule: optim.ConstantSchedule{Rate: 0.1}}}, 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	return &toy{w: w, opt: opt, state: toyState{Run: toyRun{Seed: seed}}}
}

func (r *toy) config(out string, updates int) Config {
	c := Config{
		Name: "toy", Label: "fit", OutDir: out, Updates: updates, Optimizer: r.opt,
		Hooks: Hooks{
			Forward: func(u int) (float64, int, error) {
				r.calls = append(r.calls, "forward")
				var loss float64
				for i, v := range r.w.Data {
					d := float64(v) - float64(i+u%3)
					loss += d * d
					r.w.Grad[i] = float32(2 * d)
				}
				if u == r.nanAt {
					loss = math.NaN()
				}
				return loss, 10, nil
			},
			Backward: func(u int) (float64, error) {
				r.calls = append(r.calls, "backward")
				return optim.ClipGradNorm([]*nn.Param{r.w}, 0), nil
			},
			Record: func(u int, rec *jsonl.Record) string {
				lr, _ := r.opt.LR("body", u)
				rec.LR = new(lr)
				return "fitting"
			},
			AfterValidation: func(u int) error {
				r.calls = append(r.calls, "after")
				if r.after != nil {
					r.after(u)
				}
				return nil
			},
			Restore: func(dir string) error { return checkpoint.LoadParams(dir, []*nn.Param{r.w}) },
			Checkpoint: func(c *checkpoint.Checkpoint) error {
				c.Config, c.Params = map[string]any{"model_type": "toy"}, []*nn.Param{r.w}
				return nil
			},
		},
	}
	if r.scores != nil {
		c.Validate = func(_ context.Context, u int) (float64, jsonl.Record, error) {
			r.calls = append(r.calls, "validate")
			s := r.scores[u]
			if math.IsNaN(s) {
				return s, jsonl.Record{ValidError: "nothing to score"}, nil
			}
			return s, jsonl.Record{ValidLoss: new(s)}, nil
		}
	}
	return c
}

// records reads a metrics log: the updates of training records and of
// validation records, and the error records.
func records(t *testing.T, out string) (updates, valids []int, errs []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(out, checkpoint.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec jsonl.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.Error != "":
			errs = append(errs, rec.Error)
		case rec.ValidLoss != nil || rec.ValidError != "":
			valids = append(valids, rec.Update)
		default:
			updates = append(updates, rec.Update)
		}
	}
	return updates, valids, errs
}

func savedState(t *testing.T, dir string) toyState {
	t.Helper()
	raw, err := checkpoint.LoadTrainer(dir)
	if err != nil {
		t.Fatal(err)
	}
	var st toyState
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestScheduleAndBest runs 7 updates in epochs of 3 with validation every 2
// and checks when the loop validates, saves and keeps checkpoint-best, in
// both directions of the score, and that a NaN score is logged but never
// best.
func TestScheduleAndBest(t *testing.T) {
	scores := map[int]float64{2: 5, 3: math.NaN(), 4: 3, 6: 4, 7: 1}
	for _, higher := range []bool{false, true} {
		out := t.TempDir()
		r := newToy(t, 1)
		r.scores = scores
		var saves []int
		c := r.config(out, 7)
		c.Epoch, c.ValidEvery, c.SaveAt, c.HigherIsBetter = 3, 2, []int{5}, higher
		checkpointHook := c.Checkpoint
		c.Checkpoint = func(ck *checkpoint.Checkpoint) error {
			if ck.Trainer != nil {
				saves = append(saves, r.state.Update)
			}
			return checkpointHook(ck)
		}
		var progress bytes.Buffer
		c.Progress = &progress
		out1, err := Run(context.Background(), c, &r.state)
		if err != nil {
			t.Fatal(err)
		}
		updates, valids, _ := records(t, out)
		if !slices.Equal(updates, []int{1, 2, 3, 4, 5, 6, 7}) || !slices.Equal(valids, []int{2, 3, 4, 6, 7}) {
			t.Errorf("logged updates %v and validations %v; want 1..7 and [2 3 4 6 7]", updates, valids)
		}
		if !slices.Equal(saves, []int{3, 6, 7}) {
			t.Errorf("checkpoint-last saved after updates %v; want the epochs' ends [3 6 7]", saves)
		}
		wantBest, wantAt := 1.0, 7
		if higher {
			wantBest, wantAt = 5, 2
		}
		if r.state.Best == nil || *r.state.Best != wantBest || r.state.BestAt != wantAt {
			t.Errorf("higher is better %v: best %v at %d; want %v at %d", higher, r.state.Best, r.state.BestAt, wantBest, wantAt)
		}
		for _, d := range []string{checkpoint.Best, checkpoint.At(5)} {
			if _, err := os.Stat(filepath.Join(out, d, checkpoint.ModelFile)); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		}
		if st := savedState(t, filepath.Join(out, checkpoint.Last)); st.Update != 7 || st.BestAt != wantAt || !(st.Seconds > 0) {
			t.Errorf("saved state %+v", st)
		}
		if out1.Resumed || out1.LastSaved != filepath.Join(out, checkpoint.Last) || out1.TokensPerSec <= 0 {
			t.Errorf("outcome %+v", out1)
		}
		if !strings.Contains(progress.String(), "fit [") {
			t.Errorf("no progress line: %q", progress.String())
		}
	}
}

// TestOrderWithinUpdate: validation comes before AfterValidation.
func TestOrderWithinUpdate(t *testing.T) {
	r := newToy(t, 1)
	r.scores = map[int]float64{1: 1}
	if _, err := Run(context.Background(), r.config(t.TempDir(), 1), &r.state); err != nil {
		t.Fatal(err)
	}
	if want := []string{"forward", "backward", "validate", "after"}; !slices.Equal(r.calls, want) {
		t.Errorf("hooks called %v; want %v", r.calls, want)
	}
}

// TestInterruptAndResume cancels a run after update 3, resumes it, and
// requires the parameters and the optimizer state of a run that never
// stopped; a run with other settings is refused.
func TestInterruptAndResume(t *testing.T) {
	whole := newToy(t, 1)
	wholeOut := t.TempDir()
	if _, err := Run(context.Background(), whole.config(wholeOut, 6), &whole.state); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	r := newToy(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	r.after = func(u int) {
		if u == 3 {
			cancel()
		}
	}
	o, err := Run(ctx, r.config(out, 6), &r.state)
	if !errors.Is(err, checkpoint.ErrInterrupted) || !strings.HasPrefix(err.Error(), "toy: ") || !strings.Contains(err.Error(), "at update 3") {
		t.Fatalf("interrupted run: %v; want toy: ... ErrInterrupted at update 3", err)
	}
	if o.LastSaved != filepath.Join(out, checkpoint.Last) {
		t.Errorf("interrupted run saved %q", o.LastSaved)
	}

	other := newToy(t, 2)
	if _, err := Run(context.Background(), other.config(out, 6), &other.state); err == nil ||
		!errors.Is(err, ErrOtherRun) || !strings.Contains(err.Error(), "Seed:1") {
		t.Errorf("resuming with another seed: %v", err)
	}

	again := newToy(t, 1)
	o, err = Run(context.Background(), again.config(out, 6), &again.state)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Resumed || o.ResumedAt != 3 || again.state.Update != 6 {
		t.Errorf("resumed %v at %d, ended at %d; want true, 3, 6", o.Resumed, o.ResumedAt, again.state.Update)
	}
	for _, f := range []string{checkpoint.ModelFile, checkpoint.OptimizerFile, checkpoint.OptimizerStateFile} {
		a, _ := os.ReadFile(filepath.Join(wholeOut, checkpoint.Last, f))
		b, _ := os.ReadFile(filepath.Join(out, checkpoint.Last, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the resumed and the uninterrupted run", f)
		}
	}
}

// TestDivergence: a NaN loss stops the run before the optimizer step, with
// an error naming the update and the last good checkpoint, which is left
// as it was, and an error record in the log.
func TestDivergence(t *testing.T) {
	out := t.TempDir()
	r := newToy(t, 1)
	r.nanAt = 4
	c := r.config(out, 6)
	c.SaveEvery = 2
	_, err := Run(context.Background(), c, &r.state)
	if err == nil {
		t.Fatal("a NaN loss did not stop the run")
	}
	for _, want := range []string{"toy: update 4: loss is NaN", "training stopped", filepath.Join(out, checkpoint.Last)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if st := savedState(t, filepath.Join(out, checkpoint.Last)); st.Update != 2 {
		t.Errorf("kept checkpoint at update %d; want 2", st.Update)
	}
	if r.calls[len(r.calls)-1] != "forward" {
		t.Error("Backward ran after a NaN loss")
	}
	if _, _, errs := records(t, out); !slices.Equal(errs, []string{"loss is NaN"}) {
		t.Errorf("error records %q", errs)
	}
}

// TestConfigErrors: a config the loop cannot run is refused before any work.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.OutDir = "" }, "no output directory"},
		{func(c *Config) { c.Updates = 0 }, "updates 0"},
		{func(c *Config) { c.Epoch = -1 }, "epoch -1"},
		{func(c *Config) { c.Optimizer = nil }, "no optimizer"},
		{func(c *Config) { c.Forward = nil }, "hooks are required"},
		{func(c *Config) { c.Name = "" }, "name and a label"},
	} {
		r := newToy(t, 1)
		out := t.TempDir()
		c := r.config(out, 3)
		tc.edit(&c)
		if _, err := Run(context.Background(), c, &r.state); err == nil || !strings.HasPrefix(err.Error(), "loop: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v; want loop: ... %q", err, tc.want)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("a refused config wrote %d files", len(entries))
		}
	}
}

// TestValidationOutlivesCancel: a Ctrl-C during an update lets its
// validation run with a live context, then saves that update.
func TestValidationOutlivesCancel(t *testing.T) {
	r := newToy(t, 1)
	r.scores = map[int]float64{2: 1}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	c := r.config(out, 4)
	c.ValidEvery = 2
	record := c.Record
	c.Record = func(u int, rec *jsonl.Record) string {
		if u == 2 {
			cancel()
		}
		return record(u, rec)
	}
	var validCtxErr error = errors.New("not validated")
	c.Validate = func(vctx context.Context, u int) (float64, jsonl.Record, error) {
		validCtxErr = vctx.Err()
		return 1, jsonl.Record{ValidLoss: new(1.0)}, nil
	}
	if _, err := Run(ctx, c, &r.state); !errors.Is(err, checkpoint.ErrInterrupted) {
		t.Fatalf("err = %v; want ErrInterrupted", err)
	}
	if validCtxErr != nil {
		t.Errorf("validation's context: %v; want a live one", validCtxErr)
	}
	if st := savedState(t, filepath.Join(out, checkpoint.Last)); st.Update != 2 || st.BestAt != 2 {
		t.Errorf("saved state %+v; want update 2, best at 2", st)
	}
}

// sliceState identifies its run by a slice, which cannot be compared.
type sliceState struct{ toyState }

func (s *sliceState) Fields() Fields {
	f := s.toyState.Fields()
	f.Run = []int{1}
	return f
}

// TestIncomparableIdentity: an identity that cannot be compared is refused
// before any work, instead of a panic at resume.
func TestIncomparableIdentity(t *testing.T) {
	r := newToy(t, 1)
	out := t.TempDir()
	var st sliceState
	if _, err := Run(context.Background(), r.config(out, 3), &st); err == nil || !strings.Contains(err.Error(), "not comparable") {
		t.Errorf("err = %v; want a refusal of the incomparable identity", err)
	}
}
