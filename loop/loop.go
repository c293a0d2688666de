// Package loop is the one training loop of Lethe's runs (pretraining,
// language adaptation, fine-tuning): Run resumes OUT/checkpoint-last when it
// was written by the same run, computes each update and validation through
// the caller's hooks, and does everything around them the same way for
// every run (the metrics log, the progress line, checkpoint-best by
// validation score, checkpoint-last periodically and on Ctrl-C, and stopping
// on a non-finite loss or gradient).
package loop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"lethe/checkpoint"
	"lethe/internal/jsonl"
	"lethe/internal/progress"
	"lethe/internal/runlock"
	"lethe/optim"
)

// ErrOtherRun is what Run's error wraps when OutDir's checkpoint-last was
// written by a run with another identity (other settings, or a Lethe that
// drew something differently).
var ErrOtherRun = errors.New("written by a run with other settings")

// Config describes one run to the loop: where it writes, how many updates
// it runs, when it validates and saves, and the hooks for what differs
// between runs.
type Config struct {
	Name   string // the package running the loop ("train", "finetune"): the errors of the run start with it
	Label  string // what the progress line and messages call the run ("pretrain", "adapt", "finetune")
	OutDir string // the run directory: checkpoint.Last, checkpoint.Best, checkpoint.MetricsFile

	Updates        int   // the run's last update; updates are numbered from 1
	Epoch          int   // updates per epoch: validate and save checkpoint-last after each epoch; 0 for none
	ValidEvery     int   // validate every this many updates, and after the last; 0: only after the last (and epochs)
	SaveEvery      int   // save checkpoint-last every this many updates, and after the last; 0: only then (and epochs)
	SaveAt         []int // keep checkpoint.At(u), without optimizer state, after each of these updates
	HigherIsBetter bool  // the validation score is better when higher (accuracy, F1); false: when lower (a loss)

	Optimizer *optim.AdamW // steps after Backward; saved in checkpoint-last and restored from it
	Progress  io.Writer    // the progress line and messages; nil for none

	Hooks
}

// Hooks are what differs between runs. Forward, Backward, Record, Restore
// and Checkpoint are required; the others may be nil.
type Hooks struct {
	// Forward draws the batch of update u, clears the gradients and returns
	// the batch's loss and how many tokens it holds.
	Forward func(u int) (loss float64, tokens int, err error)
	// Backward computes the gradients of update u's loss and clips them; it
	// returns their norm before clipping. The loop then steps the optimizer.
	Backward func(u int) (gradNorm float64, err error)
	// Record completes the metrics record of update u (after the optimizer
	// step; the loop has set Update, Loss, GradNorm and TokensPerS) with the
	// run's own fields, and returns the progress line's text.
	Record func(u int, rec *jsonl.Record) (progressText string)
	// Validate scores the model after update u and returns the record to
	// log; a NaN score (the record says why) is logged and never best. nil:
	// the run does not validate. Its ctx is never cancelled: a validation
	// runs to its end even after Ctrl-C, and the next turn of the loop saves
	// a checkpoint that a rerun continues from exactly (cut short, it would
	// fail the run without saving the updates since the last save).
	Validate func(ctx context.Context, u int) (score float64, rec jsonl.Record, err error)
	// AfterValidation ends update u, after validation and checkpoint.At and
	// before checkpoint-last is saved (forgetting resets the embeddings here).
	AfterValidation func(u int) error
	// Restore loads what a run keeps outside its trainer state from the
	// checkpoint dir it resumes (the parameters, the data position), after
	// the loop has restored the trainer state and before the optimizer.
	Restore func(dir string) error
	// Checkpoint fills c with the model's config, parameters and files
	// before it is saved (c.Optimizer and c.Trainer are set in
	// checkpoint-last).
	Checkpoint func(c *checkpoint.Checkpoint) error
	// Finished returns the progress line's text at the end of the run.
	Finished func() string
}

// Fields points the loop at the fields of a run's trainer state that it
// keeps.
type Fields struct {
	Update     *int      // the last completed update
	Seconds    *float64  // training time of the run's earlier sessions (a save adds this session's)
	Best       **float64 // the best validation score so far; nil before the first
	BestUpdate *int      // the update after which the best score was measured
	// Run is the settings that identify the run, a comparable value: a run
	// resumes only a state whose Run is equal to its own.
	Run any
}

// State is a run's trainer state: the caller's own struct, saved as JSON as
// it is (checkpoint.TrainerFile in checkpoint-last), whose Fields method
// gives the loop the fields it keeps.
type State interface{ Fields() Fields }

// statePointer is the pointer to a trainer state struct S.
type statePointer[S any] interface {
	*S
	State
}

// Outcome is what Run reports of the session it ran.
type Outcome struct {
	Resumed      bool    // the session continued a saved run
	ResumedAt    int     // the update it continued after (0 for a new run)
	LastLoss     float64 // the training loss of the session's last update
	TokensPerSec float64 // over the session's updates; 0 if it ran none
	LastSaved    string  // checkpoint-last when this session saved it; "" if not
}

// Run runs c from the update after state's (state holds the new run's
// settings and starting point; a resumed run's saved state replaces it) to
// c.Updates. It holds the lock of c.OutDir throughout. When ctx is cancelled
// it saves checkpoint-last and returns an error wrapping
// checkpoint.ErrInterrupted; rerunning the same run continues it
// bit-identically. A non-finite loss or gradient norm stops the run with an
// error and leaves the last checkpoint as it was.
func Run[S any, P statePointer[S]](ctx context.Context, c Config, state P) (Outcome, error) {
	if err := c.validate(); err != nil {
		return Outcome{}, fmt.Errorf("loop: %w", err)
	}
	fields := state.Fields()
	if run := reflect.ValueOf(fields.Run); run.IsValid() && !run.Comparable() {
		return Outcome{}, fmt.Errorf("loop: the run's identity, a %T, is not comparable", fields.Run)
	}
	lock, err := runlock.Acquire(c.OutDir)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s: %w", c.Name, err)
	}
	defer lock.Release()
	s := &session[S, P]{c: c, state: state, fields: fields}
	if err := s.resume(); err != nil {
		return s.out, err
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return s.out, fmt.Errorf("%s: %w", c.Name, err)
	}
	if s.metrics, err = jsonl.Open(filepath.Join(c.OutDir, checkpoint.MetricsFile)); err != nil {
		return s.out, fmt.Errorf("%s: %w", c.Name, err)
	}
	defer s.metrics.Close()
	err = s.train(ctx)
	return s.out, err
}

func (c *Config) validate() error {
	switch {
	case c.Name == "" || c.Label == "":
		return errors.New("a run needs a name and a label")
	case c.OutDir == "":
		return errors.New("no output directory")
	case c.Updates < 1:
		return fmt.Errorf("updates %d: need at least 1", c.Updates)
	case c.Epoch < 0 || c.ValidEvery < 0 || c.SaveEvery < 0:
		return fmt.Errorf("epoch %d, valid-every %d, save-every %d: need >= 0", c.Epoch, c.ValidEvery, c.SaveEvery)
	case c.Optimizer == nil:
		return errors.New("no optimizer")
	case c.Forward == nil || c.Backward == nil || c.Record == nil || c.Restore == nil || c.Checkpoint == nil:
		return errors.New("the Forward, Backward, Record, Restore and Checkpoint hooks are required")
	}
	return nil
}

// due reports whether update u ends a period of every updates: every
// period ends after the last update and after each epoch.
func (c *Config) due(u, every int) bool {
	return u == c.Updates || (every > 0 && u%every == 0) || (c.Epoch > 0 && u%c.Epoch == 0)
}

// session is one Run call.
type session[S any, P statePointer[S]] struct {
	c       Config
	state   P
	fields  Fields // pointers into *state
	metrics *jsonl.Log
	bar     *progress.Bar
	start   time.Time
	tokens  int64 // trained on in this session
	out     Outcome
}

// resume restores OutDir/checkpoint-last if there is one: the trainer state
// (when it is the same run), then through Restore the model, then the
// optimizer.
func (s *session[S, P]) resume() error {
	c := s.c
	dir, err := checkpoint.Resolve(filepath.Join(c.OutDir, checkpoint.Last))
	if err != nil {
		return nil // nothing to resume
	}
	raw, err := checkpoint.LoadTrainer(dir)
	if err != nil {
		return fmt.Errorf("%s: resume: %w", c.Name, err)
	}
	saved := P(new(S))
	if err := json.Unmarshal(raw, saved); err != nil {
		return fmt.Errorf("%s: resume: %s/%s: %w", c.Name, dir, checkpoint.TrainerFile, err)
	}
	if got, want := saved.Fields().Run, s.fields.Run; got != want {
		return fmt.Errorf("%s: %s was %w (%+v; this run: %+v): "+
			"rerun with the same flags to resume it, or choose another --out", c.Name, dir, ErrOtherRun, got, want)
	}
	*s.state = *saved
	if err := c.Restore(dir); err != nil {
		return fmt.Errorf("%s: resume: %w", c.Name, err)
	}
	if err := checkpoint.LoadOptimizer(dir, c.Optimizer); err != nil {
		return fmt.Errorf("%s: resume: %w", c.Name, err)
	}
	s.out.Resumed, s.out.ResumedAt = true, *s.fields.Update
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "%s: resuming from %s at update %d\n", c.Label, dir, *s.fields.Update)
	}
	return nil
}

// train runs the updates after the state's to c.Updates.
func (s *session[S, P]) train(ctx context.Context) error {
	c, f := s.c, s.fields
	if c.Progress != nil {
		s.bar = progress.New(c.Progress, c.Label, "updates", float64(*f.Update), float64(c.Updates))
	}
	s.start = time.Now()
	for u := *f.Update + 1; u <= c.Updates; u++ {
		if ctx.Err() != nil {
			return s.interrupted()
		}

		// The update: forward, backward, optimizer step; a non-finite loss
		// or gradient stops the run before it reaches the optimizer.
		loss, tokens, err := c.Forward(u)
		if err != nil {
			return fmt.Errorf("%s: update %d: %w", c.Name, u, err)
		}
		if !optim.Finite(loss) {
			return s.diverged(u, fmt.Sprintf("loss is %v", loss))
		}
		norm, err := c.Backward(u)
		if err != nil {
			return fmt.Errorf("%s: update %d: %w", c.Name, u, err)
		}
		if !optim.Finite(norm) {
			return s.diverged(u, fmt.Sprintf("gradient norm is %v", norm))
		}
		c.Optimizer.Step(u)
		*f.Update = u
		s.tokens += int64(tokens)
		s.out.LastLoss = loss

		// Its metrics record and the progress line.
		tps := float64(s.tokens) / max(time.Since(s.start).Seconds(), 1e-9)
		rec := jsonl.Record{Update: u, Loss: new(loss), GradNorm: new(norm), TokensPerS: new(tps)}
		text := c.Record(u, &rec)
		s.metrics.Write(rec)
		if err := s.metrics.Err(); err != nil {
			return fmt.Errorf("%s: metrics log: %w", c.Name, err) // a full disk must not lose metrics silently
		}
		if s.bar != nil {
			s.bar.Update(float64(u), text)
		}

		// Validation (which keeps checkpoint-best), the checkpoints kept at
		// chosen updates, the run's end of update, and checkpoint-last.
		if c.Validate != nil && c.due(u, c.ValidEvery) {
			if err := s.validate(context.WithoutCancel(ctx), u); err != nil {
				return err
			}
		}
		if slices.Contains(c.SaveAt, u) {
			if err := s.save(checkpoint.At(u), false); err != nil {
				return err
			}
		}
		if c.AfterValidation != nil {
			if err := c.AfterValidation(u); err != nil {
				return fmt.Errorf("%s: update %d: %w", c.Name, u, err)
			}
		}
		if c.due(u, c.SaveEvery) {
			if err := s.saveLast(); err != nil {
				return err
			}
		}
	}
	if s.bar != nil {
		text := ""
		if c.Finished != nil {
			text = c.Finished()
		}
		s.bar.Finish(float64(*f.Update), text)
	}
	if s.tokens > 0 {
		s.out.TokensPerSec = float64(s.tokens) / time.Since(s.start).Seconds()
	}
	return nil
}

// validate scores the model after update u, logs the score, and saves
// checkpoint-best when it is the best so far.
func (s *session[S, P]) validate(ctx context.Context, u int) error {
	c, f := s.c, s.fields
	score, rec, err := c.Validate(ctx, u)
	if err != nil {
		return fmt.Errorf("%s: validation at update %d: %w", c.Name, u, err)
	}
	rec.Update = u
	s.metrics.Write(rec)
	if math.IsNaN(score) {
		return nil
	}
	best := *f.Best
	if best == nil || (c.HigherIsBetter && score > *best) || (!c.HigherIsBetter && score < *best) {
		*f.Best, *f.BestUpdate = &score, u
		return s.save(checkpoint.Best, false)
	}
	return nil
}

// interrupted saves checkpoint-last and returns the error that says so.
func (s *session[S, P]) interrupted() error {
	if err := s.saveLast(); err != nil {
		return err
	}
	update := *s.fields.Update
	if s.bar != nil {
		s.bar.Finish(float64(update), "interrupted")
	}
	return fmt.Errorf("%s: %w at update %d: checkpoint saved in %s; rerun the same command to continue",
		s.c.Name, checkpoint.ErrInterrupted, update, s.out.LastSaved)
}

// diverged reports a non-finite loss or gradient without saving anything, so
// the last good checkpoint stays as it was.
func (s *session[S, P]) diverged(u int, what string) error {
	s.metrics.Write(jsonl.Record{Update: u, Error: what})
	keep := "no checkpoint had been saved yet"
	if dir, err := checkpoint.Resolve(filepath.Join(s.c.OutDir, checkpoint.Last)); err == nil {
		keep = "the last good checkpoint is " + dir
	}
	return fmt.Errorf("%s: update %d: %s; training stopped (try a lower --lr or --clip-norm); %s", s.c.Name, u, what, keep)
}

// saveLast saves checkpoint-last, the point a rerun resumes from.
func (s *session[S, P]) saveLast() error {
	if err := s.save(checkpoint.Last, true); err != nil {
		return err
	}
	s.out.LastSaved = filepath.Join(s.c.OutDir, checkpoint.Last)
	return nil
}

// save writes the checkpoint name under OutDir; withState adds the optimizer
// and the trainer state that a resumed run needs. The metrics log is synced
// with it, so that the log holds every update the checkpoint has seen.
func (s *session[S, P]) save(name string, withState bool) error {
	c := s.c
	ck := &checkpoint.Checkpoint{}
	if withState {
		st := *s.state
		*P(&st).Fields().Seconds += time.Since(s.start).Seconds()
		raw, err := json.MarshalIndent(&st, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		ck.Optimizer, ck.Trainer = c.Optimizer, raw
	}
	err := c.Checkpoint(ck)
	if err == nil {
		err = checkpoint.Save(filepath.Join(c.OutDir, name), ck)
	}
	if err != nil {
		return fmt.Errorf("%s: saving %s at update %d: %w", c.Name, name, *s.fields.Update, err)
	}
	if err := s.metrics.Sync(); err != nil {
		return fmt.Errorf("%s: metrics log: %w", c.Name, err)
	}
	return nil
}
