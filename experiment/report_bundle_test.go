package experiment

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// longPretrainLogs replaces the pretraining logs of synthExperiment by
// logs long enough for the report to downsample their curve: 4000 updates
// with a reset every 500 in the forgetting arm, and seed 2's standard run
// stopped at update 2500 (its mean curve has one seed from there on).
func longPretrainLogs(t *testing.T, root string) {
	t.Helper()
	l := Layout{Root: root}
	for seed := 1; seed <= 2; seed++ {
		for _, arm := range []string{ArmStandard, ArmForgetting} {
			last := 4000
			if seed == 2 && arm == ArmStandard {
				last = 2500
			}
			var recs []map[string]any
			for u := 1; u <= last; u++ {
				loss := 9 - float64(u)/1000 + float64((u*7919+seed*104729)%1000)/3000 // noise
				if arm == ArmForgetting && u%500 <= 5 && u > 500 {
					loss += 2 // the spike after a reset
				}
				recs = append(recs, map[string]any{"update": u, "loss": loss, "grad_norm": 1.0, "lr": 1e-3,
					"forgot": arm == ArmForgetting && u%500 == 0 && u < 4000})
				if u%250 == 0 {
					recs = append(recs, map[string]any{"update": u, "valid_loss": 8 - float64(u)/2000, "valid_acc": 0.2,
						"valid_mask_only_loss": 8.5 - float64(u)/2000})
				}
			}
			writeJSONL(t, l.Pretrain(seed, arm), recs)
		}
	}
}

// reportFiles returns report.md, report.html and the plots of the report
// in root, by path.
func reportFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(os.DirFS(root), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !slices.Contains([]string{".md", ".html", ".svg"}, filepath.Ext(path)) {
			return err
		}
		files[path], err = os.ReadFile(filepath.Join(root, path))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestMetricsBundle archives an experiment's metrics into a bundle and
// checks that the report written from the bundle alone is the report
// written from the runs' own logs, that the bundle keeps only what the
// report draws, and that bundling a bundle changes nothing.
func TestMetricsBundle(t *testing.T) {
	root := t.TempDir()
	res := synthExperiment(t, root)
	longPretrainLogs(t, root)
	if err := WriteReport(root, res); err != nil {
		t.Fatal(err)
	}
	want := reportFiles(t, root)

	archive := t.TempDir()
	if err := writeMetricsBundle(root, archive, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(archive, res); err != nil {
		t.Fatal(err)
	}
	got := reportFiles(t, archive)
	if len(got) != len(want) || len(want) < 5 {
		t.Errorf("%d report files from the bundle, %d from the runs", len(got), len(want))
	}
	for path, w := range want {
		if !bytes.Equal(got[path], w) {
			t.Errorf("%s written from the bundle differs from the one written from the runs' logs", path)
		}
	}

	runs, err := readBundle(filepath.Join(archive, MetricsBundle))
	if err != nil {
		t.Fatal(err)
	}
	full, err := readMetricsFile(filepath.Join(Layout{Root: root}.Pretrain(1, ArmForgetting), "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	thin := runs["seed-1/pretrain/forgetting"]
	if thin == nil {
		t.Fatalf("no seed-1/pretrain/forgetting in the bundle; it has %d runs", len(runs))
	}
	resetsOf := func(m *metricsRun) (us []int) {
		for _, r := range m.train {
			if r.forgot {
				us = append(us, r.update)
			}
		}
		return us
	}
	if n := len(thin.trainLoss().x); n > reportMaxPoints || n < reportMaxPoints/2 {
		t.Errorf("the bundle keeps %d training losses of a 4000-update run, want at most %d", n, reportMaxPoints)
	}
	if r := resetsOf(thin); !slices.Equal(r, resetsOf(full)) || len(r) != 7 {
		t.Errorf("resets in the bundle %v, in the log %v", r, resetsOf(full))
	}
	// fmt prints a missing (NaN) value alike in both; == would not hold.
	if fmt.Sprint(thin.valid) != fmt.Sprint(full.valid) || len(full.valid) != 16 {
		t.Errorf("validations in the bundle %v, in the log %v", thin.valid, full.valid)
	}
	de := runs["seed-1/adapt/standard/de/seed-1"]
	if de == nil || len(de.valid) != 4 || len(de.train) != 0 {
		t.Errorf("adaptation run in the bundle: %+v, want its 4 validations and no training records", de)
	}
	if ft := runs["seed-1/finetune/forgetting/topic"]; ft == nil || len(ft.dev) != 2 || ft.dev[1].acc != 40 {
		t.Errorf("fine-tuning run in the bundle: %+v, want its 2 dev evaluations", ft)
	}

	again := t.TempDir()
	if err := writeMetricsBundle(archive, again, res); err != nil {
		t.Fatal(err)
	}
	a, errA := os.ReadFile(filepath.Join(archive, MetricsBundle))
	b, errB := os.ReadFile(filepath.Join(again, MetricsBundle))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("the bundle of a bundled experiment differs from its bundle (%v, %v)", errA, errB)
	}

	// A run's own log comes before the bundle.
	writeJSONL(t, Layout{Root: archive}.Finetune(1, ArmForgetting, "topic"), []map[string]any{{"update": 7, "dev_accuracy": 12.0}})
	rb := &reportBuilder{res: res, cfg: &res.Config, layout: Layout{Root: archive}}
	if err := rb.load(); err != nil {
		t.Fatal(err)
	}
	if m := rb.finetune[runKey{1, 0, ArmForgetting, "topic"}]; m == nil || len(m.dev) != 1 || m.dev[0].acc != 12 {
		t.Errorf("with its own log beside the bundle, the run reads %+v, want its own log's one dev evaluation", m)
	}
}

// gzipped compresses text.
func gzipped(t *testing.T, text string) []byte {
	t.Helper()
	z, err := gzipBytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestReadBundle(t *testing.T) {
	good := `{"run":"seed-1/pretrain/forgetting","update":1,"loss":9}
{"run":"seed-1/pretrain/forgetting","update":2,"forgot":true}
{"run":"seed-1/pretrain/forgetting","update":2,"valid_loss":8,"valid_mask_only_loss":8.4}

{"run":"seed-1/finetune/standard/topic","update":5,"dev_accuracy":40}
`
	t.Run("runs", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), MetricsBundle)
		if err := os.WriteFile(path, gzipped(t, good), 0o644); err != nil {
			t.Fatal(err)
		}
		runs, err := readBundle(path)
		if err != nil {
			t.Fatal(err)
		}
		p, f := runs["seed-1/pretrain/forgetting"], runs["seed-1/finetune/standard/topic"]
		if len(runs) != 2 || p == nil || f == nil {
			t.Fatalf("got runs %v", runs)
		}
		// The reset mark without a loss is a reset and no point of the curve.
		if len(p.train) != 2 || !p.train[1].forgot || len(p.trainLoss().x) != 1 || len(p.valid) != 1 || p.valid[0].maskOnlyLoss != 8.4 {
			t.Errorf("pretraining run: %+v", p)
		}
		if len(f.dev) != 1 || f.dev[0].acc != 40 {
			t.Errorf("fine-tuning run: %+v", f)
		}
	})
	t.Run("missing", func(t *testing.T) {
		runs, err := readBundle(filepath.Join(t.TempDir(), MetricsBundle))
		if runs != nil || err != nil {
			t.Errorf("got %v, %v; want nil, nil", runs, err)
		}
	})
	full := gzipped(t, good)
	for _, c := range []struct {
		name string
		raw  []byte
		err  string
	}{
		{"not gzip", []byte(good), MetricsBundle + ": gzip: invalid header"},
		{"cut short", full[:len(full)-12], MetricsBundle + ": unexpected EOF"},
		{"bad line", gzipped(t, good+`{"run":"seed-1/pretrain/standard","update":3,"loss":"high"}`+"\n"), MetricsBundle + ":6: expected a JSON object"},
		{"torn last line", gzipped(t, good+`{"run":"seed-1/pretrain/standard","up`), MetricsBundle + ":6: expected a JSON object"},
		{"no run", gzipped(t, `{"update":3,"loss":7}`+"\n"), MetricsBundle + `:1: the record has no "run"`},
		{"run outside", gzipped(t, `{"run":"../other/pretrain","update":3,"loss":7}`+"\n"), MetricsBundle + `:1: run "../other/pretrain" is not a clean relative directory`},
		{"run not clean", gzipped(t, good+`{"run":"seed-1//pretrain/standard","update":3,"loss":7}`+"\n"), MetricsBundle + `:6: run "seed-1//pretrain/standard"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, MetricsBundle)
			if err := os.WriteFile(path, c.raw, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readBundle(path)
			if err == nil || !strings.HasPrefix(err.Error(), "experiment: ") || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one starting with experiment: and containing %q", err, c.err)
			}
			// The report refuses the experiment, naming the bundle.
			res := synthExperiment(t, t.TempDir())
			if err := WriteReport(root, res); err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("WriteReport: error %v, want one containing %q", err, c.err)
			}
		})
	}
}
