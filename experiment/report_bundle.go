package experiment

// The metrics bundle of an archived experiment: one gzipped JSON-lines file
// at the experiment's root that holds, for every run whose metrics the
// report draws, what the report reads of its log, each record tagged with
// the run's directory. scripts/archive-experiment.sh writes it in place of
// the runs' own logs.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"lethe/internal/atomicfile"
	"lethe/internal/jsonl"
)

// MetricsBundle is the file name of the metrics bundle at the root of an
// experiment directory.
const MetricsBundle = "metrics.jsonl.gz"

// bundleRecord is one line of a metrics bundle: a record of the metrics log
// of run Run (its directory relative to the experiment's root, with
// slashes), reduced to the values the report reads. Its keys are those of
// jsonl.Record.
type bundleRecord struct {
	Run               string   `json:"run"`
	Update            int      `json:"update"`
	Loss              *float64 `json:"loss,omitempty"`
	Forgot            *bool    `json:"forgot,omitempty"`
	ValidLoss         *float64 `json:"valid_loss,omitempty"`
	ValidAcc          *float64 `json:"valid_acc,omitempty"`
	ValidMaskOnlyLoss *float64 `json:"valid_mask_only_loss,omitempty"`
	ValidMaskOnlyAcc  *float64 `json:"valid_mask_only_acc,omitempty"`
	DevAccuracy       *float64 `json:"dev_accuracy,omitempty"`
}

// readBundle reads the metrics bundle file into one metricsRun per run
// directory (relative to the experiment's root, with slashes); it returns
// nil and no error when there is none. The records of a run go through
// metricsRun.add, as those of its own log would. A bundle is written whole,
// so any line that is not a JSON object naming its run, the last one
// included, is an error naming the file and line.
func readBundle(file string) (map[string]*metricsRun, error) {
	raw, err := readGzip(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("experiment: report: metrics bundle %w", err)
	}
	runs := map[string]*metricsRun{}
	for line := 1; len(raw) > 0; line++ {
		text, rest, _ := bytes.Cut(raw, []byte{'\n'})
		raw = rest
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var r struct {
			Run *string `json:"run"`
			jsonl.Record
		}
		if err := json.Unmarshal(text, &r); err != nil {
			return nil, fmt.Errorf("experiment: report: %s:%d: expected a JSON object of metrics with its run: %w", file, line, err)
		}
		if r.Run == nil {
			return nil, fmt.Errorf(`experiment: report: %s:%d: the record has no "run", the directory of the run it belongs to`, file, line)
		}
		run := *r.Run
		if !filepath.IsLocal(filepath.FromSlash(run)) || path.Clean(run) != run {
			return nil, fmt.Errorf(`experiment: report: %s:%d: run %q is not a clean relative directory inside the experiment`, file, line, run)
		}
		m := runs[run]
		if m == nil {
			m = &metricsRun{}
			runs[run] = m
		}
		m.add(&r.Record)
	}
	return runs, nil
}

// WriteMetricsBundle writes dst/metrics.jsonl.gz, the metrics bundle of the
// experiment in directory src: the metrics of every run that src's report
// draws (read as the report reads them: each run's own metrics.jsonl, its
// gzipped copy, or src's bundle), reduced to what the report needs. That
// is every validation and dev record, the embedding resets, and, of the
// training records, only those of pretraining at the updates its
// training-loss curve draws (at most reportMaxPoints per arm: the extremes
// that plot.Downsample keeps of the mean over the seeds); runs the report
// does not read are left out. With src's results.json beside it, the bundle
// gives the same report as src. src and dst may be the same directory.
func WriteMetricsBundle(src, dst string) error {
	res, err := ReadResults(src)
	if err != nil {
		return err
	}
	return writeMetricsBundle(src, dst, res)
}

// writeMetricsBundle is WriteMetricsBundle with src's results in res.
func writeMetricsBundle(src, dst string, res *Results) error {
	b := &reportBuilder{res: res, cfg: &res.Config, layout: Layout{Root: src}}
	if err := b.load(); err != nil {
		return err
	}
	// The training updates to keep, by pretraining run directory.
	drawn := map[string]map[int]bool{}
	for _, arm := range b.cfg.Arms {
		tc, _ := b.drawnTrainLoss(arm)
		updates := map[int]bool{}
		for _, x := range tc.x {
			updates[int(x)] = true
		}
		for _, seed := range b.seeds {
			drawn[b.layout.Pretrain(seed, arm)] = updates
		}
	}
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	dirs := slices.Sorted(maps.Keys(b.runs))
	for _, dir := range dirs {
		rel, err := filepath.Rel(src, dir)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		for _, r := range b.runs[dir].bundleRecords(filepath.ToSlash(rel), drawn[dir]) {
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("experiment: %s: %w", dir, err)
			}
		}
	}
	z, err := gzipBytes(lines.Bytes())
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dst, MetricsBundle), z); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}

// bundleRecords is what the metrics bundle holds of run m, in update order:
// its validation and dev records, its training records at the updates in
// keep, and a reset mark (a record with "forgot" and no loss) for each
// other training record that reset the embeddings.
func (m *metricsRun) bundleRecords(run string, keep map[int]bool) []bundleRecord {
	var out []bundleRecord
	for _, t := range m.train {
		r := bundleRecord{Run: run, Update: t.update}
		if t.forgot {
			r.Forgot = &t.forgot
		}
		if keep[t.update] && !math.IsNaN(t.loss) {
			r.Loss = &t.loss
		}
		if r.Loss != nil || r.Forgot != nil {
			out = append(out, r)
		}
	}
	for _, v := range m.valid {
		out = append(out, bundleRecord{Run: run, Update: v.update, ValidLoss: finiteOrNil(v.loss), ValidAcc: finiteOrNil(v.acc),
			ValidMaskOnlyLoss: finiteOrNil(v.maskOnlyLoss), ValidMaskOnlyAcc: finiteOrNil(v.maskOnlyAcc)})
	}
	for _, d := range m.dev {
		out = append(out, bundleRecord{Run: run, Update: d.update, DevAccuracy: &d.acc})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Update < out[j].Update })
	return out
}

// gzipBytes compresses data at gzip's best compression, with no name or
// time in the header, so that the same data always gives the same bytes.
func gzipBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := z.Write(data); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// finiteOrNil is a pointer to x, or nil for a missing (NaN) value, which
// JSON cannot hold.
func finiteOrNil(x float64) *float64 {
	if math.IsNaN(x) {
		return nil
	}
	return &x
}
