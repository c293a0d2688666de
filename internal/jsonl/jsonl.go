// Package jsonl appends records to a metrics log, one JSON object per line,
// so that every line is a whole record: a torn last line (left by a run
// killed in mid-write) is cut when the log is opened again, and the first
// write error is kept so that the run can stop on it instead of losing
// records silently.
package jsonl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Record is one line of a metrics log. Which fields are set tells its kind:
// a training update (Loss and the rest), a validation (Valid*), a
// fine-tuning dev evaluation (Epoch, Dev*) or an error. Unset fields are
// left out of the line.
type Record struct {
	Update int    `json:"update"` // the optimizer update the record follows, from 1
	Time   string `json:"time"`   // UTC, RFC 3339; set by Write

	// A training update.
	Loss         *float64 `json:"loss,omitempty"`          // the batch's mean loss
	MaskedAcc    *float64 `json:"masked_acc,omitempty"`    // masked-LM accuracy of the batch, a fraction
	GradNorm     *float64 `json:"grad_norm,omitempty"`     // before clipping
	LR           *float64 `json:"lr,omitempty"`            // the body's learning rate
	LREmbeddings *float64 `json:"lr_embeddings,omitempty"` // the token embeddings' learning rate
	TokensPerS   *float64 `json:"tokens_per_s,omitempty"`  // since the run (or its resumption) started
	TokensSeen   *int64   `json:"tokens_seen,omitempty"`   // over the whole run
	Forgot       *bool    `json:"forgot,omitempty"`        // the embeddings were reset after this update
	Error        string   `json:"error,omitempty"`         // why the run stopped (divergence)

	// A validation.
	ValidLoss         *float64 `json:"valid_loss,omitempty"`
	ValidAcc          *float64 `json:"valid_acc,omitempty"`
	ValidMaskOnlyLoss *float64 `json:"valid_mask_only_loss,omitempty"` // every masked position shown as <mask>
	ValidMaskOnlyAcc  *float64 `json:"valid_mask_only_acc,omitempty"`
	ValidError        string   `json:"valid_error,omitempty"`

	// A fine-tuning dev evaluation (percent).
	Epoch       *float64 `json:"epoch,omitempty"`
	DevAccuracy *float64 `json:"dev_accuracy,omitempty"`
	DevF1       *float64 `json:"dev_f1,omitempty"`
}

// Log is an open metrics log.
type Log struct {
	f   *os.File
	err error
}

// Open opens path for appending, creating it if needed. If the file does
// not end with a newline, its last, partial line is cut off first.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	end, err := wholeLines(f)
	if err == nil {
		err = f.Truncate(end)
	}
	if err == nil {
		_, err = f.Seek(end, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("jsonl: %s: %w", path, err)
	}
	return &Log{f: f}, nil
}

// wholeLines returns the length of f up to and including its last newline.
func wholeLines(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// Write appends rec with its "time" (UTC, RFC 3339) as one line. After a
// failed write every later Write does nothing; Err reports the failure.
func (l *Log) Write(rec Record) {
	if l.err != nil {
		return
	}
	rec.Time = time.Now().UTC().Format(time.RFC3339)
	b, err := json.Marshal(rec)
	if err != nil {
		l.err = fmt.Errorf("jsonl: %s: %w", l.f.Name(), err)
		return
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		l.err = fmt.Errorf("jsonl: write %s: %w", l.f.Name(), err)
	}
}

// Sync flushes the log to disk (at checkpoints) and returns the first error
// of the log so far.
func (l *Log) Sync() error {
	if l.err == nil {
		if err := l.f.Sync(); err != nil {
			l.err = fmt.Errorf("jsonl: sync %s: %w", l.f.Name(), err)
		}
	}
	return l.err
}

// Err is the first write error, or nil.
func (l *Log) Err() error { return l.err }

// Close closes the log and returns its first error.
func (l *Log) Close() error {
	if err := l.f.Close(); err != nil && l.err == nil {
		l.err = fmt.Errorf("jsonl: close %s: %w", l.f.Name(), err)
	}
	return l.err
}
