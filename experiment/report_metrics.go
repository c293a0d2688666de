package experiment

// Reading the metrics logs that the report's curves are drawn from.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"lethe/internal/jsonl"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
)

// metricsRun is what one run's metrics.jsonl holds, in update order.
type metricsRun struct {
	train []trainRec
	valid []validRec
	dev   []devRec
}

// trainRec is a per-update training record; its loss is NaN in the reset
// mark of a thinned metrics bundle (see metricsRun.bundleRecords).
type trainRec struct {
	update int
	loss   float64
	forgot bool
}

// validRec is a validation record; a missing value is NaN.
type validRec struct {
	update                               int
	loss, acc, maskOnlyLoss, maskOnlyAcc float64
}

// devRec is a fine-tuning dev evaluation.
type devRec struct {
	update int
	acc    float64
}

// readMetricsFile reads a metrics.jsonl file, or its gzipped copy (path +
// ".gz", as experiments archived before metrics bundles keep it); it returns
// nil and no error when neither exists. Each record goes through
// metricsRun.add. A last line without its newline that does not parse is a
// write cut short by an interruption and is ignored; any other line that is
// not a JSON object is an error naming the file and line.
func readMetricsFile(path string) (*metricsRun, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Experiments archived before metrics bundles (report_bundle.go)
		// keep their runs' logs gzipped.
		raw, err = readGzip(path + ".gz")
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("experiment: report: %w", err)
	}
	m := &metricsRun{}
	for line := 1; len(raw) > 0; line++ {
		text, rest, complete := bytes.Cut(raw, []byte{'\n'})
		raw = rest
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var r jsonl.Record
		if err := json.Unmarshal(text, &r); err != nil {
			if !complete {
				break
			}
			return nil, fmt.Errorf("experiment: report: %s:%d: expected a JSON object of metrics: %w", path, line, err)
		}
		m.add(&r)
	}
	return m, nil
}

// add adds record r: a training record (or the reset mark of a thinned
// metrics bundle, a reset without its loss), a validation or a dev
// evaluation; a record without an update or a known value, such as an error
// record, is skipped. A record logged again at an update replaces the
// records of its kind from that update on, as a resumed run logs them again.
func (m *metricsRun) add(r *jsonl.Record) {
	u := r.Update
	if u <= 0 {
		return
	}
	switch {
	case r.Loss != nil || r.Forgot != nil && *r.Forgot:
		m.train = truncateFrom(m.train, u, func(t trainRec) int { return t.update })
		m.train = append(m.train, trainRec{update: u, loss: orNaN(r.Loss), forgot: r.Forgot != nil && *r.Forgot})
	case r.ValidLoss != nil || r.ValidMaskOnlyLoss != nil:
		m.valid = truncateFrom(m.valid, u, func(v validRec) int { return v.update })
		m.valid = append(m.valid, validRec{update: u, loss: orNaN(r.ValidLoss), acc: orNaN(r.ValidAcc),
			maskOnlyLoss: orNaN(r.ValidMaskOnlyLoss), maskOnlyAcc: orNaN(r.ValidMaskOnlyAcc)})
	case r.DevAccuracy != nil:
		m.dev = truncateFrom(m.dev, u, func(d devRec) int { return d.update })
		m.dev = append(m.dev, devRec{update: u, acc: *r.DevAccuracy})
	}
}

// truncateFrom drops the records logged at update u or later, which a
// resumed run is about to log again.
func truncateFrom[T any](recs []T, u int, update func(T) int) []T {
	if n := len(recs); n == 0 || update(recs[n-1]) < u {
		return recs
	}
	i := sort.Search(len(recs), func(i int) bool { return update(recs[i]) >= u })
	return recs[:i]
}

// curve is a series of points in increasing x.
type curve struct{ x, y []float64 }

// ok reports whether the curve has a isFinite point to draw.
func (c curve) ok() bool { return slices.ContainsFunc(c.y, isFinite) }

// trainLoss is the training loss per update (a reset mark without its loss
// is no point of it).
func (m *metricsRun) trainLoss() curve {
	var c curve
	for _, r := range m.train {
		if math.IsNaN(r.loss) {
			continue
		}
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, r.loss)
	}
	return c
}

// validCurve is one validation value per validation.
func (m *metricsRun) validCurve(v func(validRec) float64) curve {
	var c curve
	for _, r := range m.valid {
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, v(r))
	}
	return c
}

// devAccuracy is the dev accuracy per evaluation.
func (m *metricsRun) devAccuracy() curve {
	var c curve
	for _, r := range m.dev {
		c.x, c.y = append(c.x, float64(r.update)), append(c.y, r.acc)
	}
	return c
}

// meanCurve averages curves point by point: at each x, the mean of the
// isFinite y values the curves have there (NaN, a gap, where none has one).
func meanCurve(cs []curve) curve {
	type acc struct {
		sum float64
		n   int
	}
	at := map[float64]acc{}
	for _, c := range cs {
		for i, x := range c.x {
			a := at[x]
			if isFinite(c.y[i]) {
				a.sum += c.y[i]
				a.n++
			}
			at[x] = a
		}
	}
	var out curve
	for _, x := range slices.Sorted(maps.Keys(at)) {
		a := at[x]
		y := math.NaN()
		if a.n > 0 {
			y = a.sum / float64(a.n)
		}
		out.x, out.y = append(out.x, x), append(out.y, y)
	}
	return out
}

// readGzip returns the decompressed contents of the gzip file path.
func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return raw, nil
}
