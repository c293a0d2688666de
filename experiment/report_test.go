package experiment

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lethe/checkpoint"
	"lethe/report"
)

// writeJSONL writes one JSON object per line into dir/metrics.jsonl.
func writeJSONL(t *testing.T, dir string, recs []map[string]any) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, r := range recs {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, checkpoint.MetricsFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthAccuracy is the synthetic zero-shot accuracy of the test experiment:
// arm base + language offset + seed offset + adaptation step / 10.
func synthAccuracy(arm, lang string, seed, step int) float64 {
	base := map[string]float64{ArmStandard: 30, ArmForgetting: 40, ArmRandom: 15}[arm]
	off := map[string]float64{"de": 0, "ru": -9}[lang]
	seedOff := map[string][2]float64{"de": {0, 4}, "ru": {0, 2}}[lang][seed-1]
	return base + off + seedOff + float64(step)/10
}

// synthExperiment writes the metrics of a small experiment under root and
// returns its results: 3 arms (random without pretraining), 2 languages,
// 2 seeds, 300 pretraining updates with a reset every 50 in the forgetting
// arm, and no adaptation metrics for forgetting/ru in seed 2.
func synthExperiment(t *testing.T, root string) *Results {
	t.Helper()
	cfg, err := Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seeds = 2
	cfg.Arms = []string{ArmStandard, ArmForgetting, ArmRandom}
	cfg.Adapt.Seeds, cfg.Adapt.InDomain, cfg.Pretrain.HoldOut = 0, false, 0
	cfg.Languages = []string{"de", "ru"}
	cfg.Tasks = []string{"topic"}
	cfg.Pretrain.Updates, cfg.Pretrain.ForgetEvery, cfg.Pretrain.ValidEvery = 300, 50, 100
	cfg.Adapt.Updates, cfg.Adapt.LowStep, cfg.Adapt.SaveAt, cfg.Adapt.ValidEvery = 200, 50, []int{25, 50, 100, 200}, 50
	l := Layout{Root: root}
	res := &Results{
		Config: cfg, Command: "lethe experiment --preset quick --seeds 2 --out " + root,
		Started: "2026-11-28T10:00:00Z", Finished: "2026-11-28T10:20:00Z", Seconds: 1200,
		Stages:       map[string]float64{"pretrain": 600, "adapt": 400, "finetune": 150, "evaluate": 50},
		UnigramFloor: map[string]float64{"en": 7.0, "de": 6.5},
	}
	for seed := 1; seed <= 2; seed++ {
		for _, arm := range []string{ArmStandard, ArmForgetting} {
			var recs []map[string]any
			for u := 1; u <= 300; u++ {
				forgot := arm == ArmForgetting && u%50 == 0 && u < 300
				loss := 9 - float64(u)/100
				if arm == ArmForgetting && u%50 <= 5 && u > 50 {
					loss += 2 // the spike after a reset
				}
				recs = append(recs, map[string]any{"update": u, "loss": loss, "masked_acc": 0.1, "grad_norm": 1.0,
					"lr": 1e-3, "lr_embeddings": 1e-3, "forgot": forgot, "tokens_seen": u * 1024})
				if u%100 == 0 {
					recs = append(recs, map[string]any{"update": u, "valid_loss": 8 - float64(u)/200, "valid_acc": 0.2,
						"valid_mask_only_loss": 8.5 - float64(u)/200, "valid_mask_only_acc": 0.1})
				}
			}
			writeJSONL(t, l.Pretrain(seed, arm), recs)
			res.Pretrain = append(res.Pretrain, PretrainSummary{Seed: seed, Arm: arm, Updates: 300,
				HandOver: filepath.Join(l.Pretrain(seed, arm), "checkpoint-last"), HandOverUpdate: 300,
				ValidLoss: 6.5, MaskOnlyLoss: 5.5 + 0.2*float64(seed-1), MaskOnlyAccuracy: 0.3,
				Resets: map[string]int{ArmForgetting: 5}[arm], Seconds: 100, TokensPerSec: 3000})
		}
		// The random arm: NaN in seed 1, zeros (as JSON would carry it) in seed 2.
		random := PretrainSummary{Seed: seed, Arm: ArmRandom, HandOver: "x/checkpoint-last"}
		if seed == 1 {
			random.ValidLoss, random.MaskOnlyLoss, random.MaskOnlyAccuracy = math.NaN(), math.NaN(), math.NaN()
		}
		res.Pretrain = append(res.Pretrain, random)
		for _, arm := range cfg.Arms {
			for _, lang := range cfg.Languages {
				if seed == 2 && arm == ArmForgetting && lang == "ru" {
					continue // a missing metrics file
				}
				var recs []map[string]any
				for u := 50; u <= 200; u += 50 {
					recs = append(recs, map[string]any{"update": u, "loss": 7.0},
						map[string]any{"update": u, "valid_loss": 7 - float64(u)/100, "valid_acc": 0.1,
							"valid_mask_only_loss": 7.5 - float64(u)/100, "valid_mask_only_acc": 0.05})
				}
				writeJSONL(t, l.Adapt(seed, 1, arm, lang, 0), recs)
				res.Adapt = append(res.Adapt, AdaptSummary{Seed: seed, Arm: arm, Lang: lang, TrainTokens: 200_000,
					ValidLoss: 5, MaskOnlyLoss: 5.5, MaskOnlyAcc: 0.1, Seconds: 10})
			}
			if seed == 1 {
				writeJSONL(t, l.Finetune(seed, arm, "topic"), []map[string]any{
					{"update": 10, "loss": 2.0}, {"update": 50, "epoch": 0.5, "dev_accuracy": 30.0},
					{"update": 100, "epoch": 1.0, "dev_accuracy": 40.0}})
			}
			res.Scores = append(res.Scores,
				Score{Seed: seed, Arm: arm, Task: "topic", Lang: "en", Setting: SettingEnglish, N: 2700,
					Accuracy: map[string]float64{ArmStandard: 80, ArmForgetting: 78, ArmRandom: 50}[arm] + 3*float64(seed-1),
					MacroF1:  70 + float64(seed)})
			for _, lang := range cfg.Languages {
				if arm == ArmRandom && lang == "ru" {
					continue // no scores: n/a cells
				}
				res.Scores = append(res.Scores, Score{Seed: seed, Arm: arm, Task: "topic", Lang: lang, Setting: SettingCeiling,
					N: 800, Accuracy: 85 + float64(seed-1)})
				for _, step := range cfg.Adapt.SaveAt {
					a := synthAccuracy(arm, lang, seed, step)
					res.Scores = append(res.Scores, Score{Seed: seed, Arm: arm, Task: "topic", Lang: lang, Setting: SettingZeroShot,
						AdaptUpdates: step, N: 800, Accuracy: a, MacroF1: a - 5})
				}
			}
		}
	}
	return res
}

// wellFormed reads raw as XML to its end.
func wellFormed(raw []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// findTable returns the first table of doc whose caption starts with prefix.
func findTable(t *testing.T, doc *report.Document, prefix string) *report.Table {
	t.Helper()
	for _, b := range doc.Blocks {
		if tb, ok := b.(*report.Table); ok && strings.HasPrefix(tb.Caption, prefix) {
			return tb
		}
	}
	t.Fatalf("no table with caption %q", prefix)
	return nil
}

// cellOf returns the cell of table tb in the row whose first cell is row
// and the column headed col.
func cellOf(t *testing.T, tb *report.Table, row, col string) string {
	t.Helper()
	c := slices.Index(tb.Header, col)
	if c < 0 {
		t.Fatalf("table %q: no column %q in %q", tb.Caption, col, tb.Header)
	}
	for _, r := range tb.Rows {
		if r[0] == row {
			return r[c]
		}
	}
	t.Fatalf("table %q: no row %q", tb.Caption, row)
	return ""
}

// cellCase is an expected cell: table, row, column and its text.
type cellCase struct {
	tb            *report.Table
	row, col, out string
}

// checkCells reports every cell that differs from its expected text.
func checkCells(t *testing.T, cases []cellCase) {
	t.Helper()
	for _, c := range cases {
		if got := cellOf(t, c.tb, c.row, c.col); got != c.out {
			t.Errorf("table %q, row %q, column %q: %q, want %q", c.tb.Caption, c.row, c.col, got, c.out)
		}
	}
}

func TestWriteReport(t *testing.T) {
	root := t.TempDir()
	res := synthExperiment(t, root)
	if err := WriteReport(root, res); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.md", "report.html"} {
		if fi, err := os.Stat(filepath.Join(root, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %v)", name, err, fi)
		}
	}
	if raw, err := os.ReadFile(filepath.Join(root, "report.html")); err != nil {
		t.Error(err)
	} else if err := wellFormed(raw); err != nil {
		t.Errorf("report.html is not well-formed XML: %v", err)
	}
	plots := []string{"pretrain-loss", "adapt-de", "adapt-ru", "finetune-topic",
		"convergence-topic-de", "convergence-topic-ru", "gain-topic"}
	for _, p := range plots {
		raw, err := os.ReadFile(filepath.Join(root, "plots", p+".svg"))
		if err != nil {
			t.Errorf("plot %s: %v", p, err)
			continue
		}
		if err := wellFormed(raw); err != nil {
			t.Errorf("plot %s is not well-formed XML: %v", p, err)
		}
	}
	svg, err := os.ReadFile(filepath.Join(root, "plots", "pretrain-loss.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(svg), `class="vline"`); got != 5 {
		t.Errorf("pretraining plot has %d reset lines, want 5 (every 50 of 300 updates)", got)
	}
	md, err := os.ReadFile(filepath.Join(root, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"quick preset: a short run whose body is pretrained briefly and has no forgetting arm",
		"Chance is 12.5% (8 topics)", "**at least 1 nat below**", "forgetting is ahead of standard in 2 of 2 languages at low-step, and in 2 of 2 languages at full",
		"lethe experiment --preset quick --seeds 2", `"forget_every": 50`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Sections in the required order.
	last := -1
	for _, h := range []string{"## Main results", "## Pretraining", "## Language adaptation", "## Convergence",
		"## Relative gain of forgetting", "## How to read this", "## Reproduce"} {
		i := strings.Index(string(md), h)
		if i < last {
			t.Errorf("section %q at %d, before the previous one (%d)", h, i, last)
		}
		last = i
	}

	doc, err := buildReport(root, res)
	if err != nil {
		t.Fatal(err)
	}
	acc := findTable(t, doc, "topic: zero-shot accuracy")
	var rows []string
	for _, r := range acc.Rows {
		rows = append(rows, r[0])
	}
	if want := []string{"de", "ru", "average", "English (no adaptation)"}; !slices.Equal(rows, want) {
		t.Errorf("main table rows %q, want %q", rows, want)
	}
	pre := findTable(t, doc, "End state of each pretraining run")
	mo := slices.Index(pre.Header, "mask-only loss")
	for _, r := range pre.Rows {
		if r[0] == ArmRandom && r[mo] != "n/a" {
			t.Errorf("untrained random arm (seed %s): mask-only loss %q, want n/a", r[1], r[mo])
		}
	}
	// Forgetting episodes end every 50 of 300 updates; validations at 100,
	// 200 and 300 give mask-only losses 8.0, 7.5 and 7.0 against a floor of 7.0.
	ep := findTable(t, doc, "Forgetting arm: mask-only validation loss at the end of each 50-update")
	if len(ep.Rows) != 3 {
		t.Errorf("episode table has %d rows, want 3 (the episodes ending at a validation)", len(ep.Rows))
	}
	if !strings.Contains(string(md), "**No episode of the forgetting arm ended below the English unigram floor** (3 measured)") {
		t.Error("report.md lacks the verdict on the forgetting episodes")
	}
	f1 := findTable(t, doc, "topic: zero-shot macro-F1")
	ceil := findTable(t, doc, "topic: English ceiling")
	gain := findTable(t, doc, "topic: relative gain")
	checkCells(t, []cellCase{
		// standard de at 50 updates: 30+0+0+5 = 35 and 30+0+4+5 = 39: mean 37, sd 2*sqrt(2) = 2.83.
		{acc, "de", "standard low-step (50)", "37.0 ± 2.8"},
		// forgetting ru at 200 updates: 40-9+0+20 = 51 and 40-9+2+20 = 53: mean 52, sd sqrt(2) = 1.41.
		{acc, "ru", "forgetting full (200)", "52.0 ± 1.4"},
		// standard average at 50: seed 1 (35+26)/2 = 30.5, seed 2 (39+28)/2 = 33.5: mean 32, sd 1.5*sqrt(2) = 2.12.
		{acc, "average", "standard low-step (50)", "32.0 ± 2.1"},
		// English: 80 and 83: mean 81.5, sd 3/sqrt(2) = 2.12; the same in both columns.
		{acc, "English (no adaptation)", "standard low-step (50)", "81.5 ± 2.1"},
		{acc, "English (no adaptation)", "standard full (200)", "81.5 ± 2.1"},
		{acc, "de", "items", "800"},
		// random has no ru scores.
		{acc, "ru", "random full (200)", "n/a"},
		{acc, "average", "random full (200)", "n/a"},
		// macro-F1 is accuracy - 5: 30 and 34.
		{f1, "de", "standard low-step (50)", "32.0 ± 2.8"},
		// English macro-F1: 71 and 72.
		{f1, "English (no adaptation)", "forgetting full (200)", "71.5 ± 0.7"},
		{ceil, "de", "standard ceiling", "85.5 ± 0.7"},
		// de at 50: (45-35)/35 = 28.57%, (49-39)/39 = 25.64%: mean 27.11, sd 2.07.
		{gain, "de", "low-step (50)", "+27.1 ± 2.1"},
		{pre, "random", "mask-only loss", "n/a"},
		{pre, "random", "valid loss (80/10/10)", "n/a"},
		{pre, "random", "tokens/s", "n/a"},
		{pre, "forgetting", "resets", "5"},
		{ep, "2", "last update", "100"},
		{ep, "4", "mask-only loss", "7.500"},
		{ep, "6", "below the unigram floor by", "+0.000"},
	})
}

func TestWriteReportNoMetrics(t *testing.T) {
	// Results without any metrics file on disk and with a missing floor
	// still give a report; the plots that need metrics are left out.
	root := t.TempDir()
	res := synthExperiment(t, t.TempDir())
	res.UnigramFloor = nil
	if err := WriteReport(root, res); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"No pretraining metrics were found.", "No English unigram floor was measured"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "plots", "pretrain-loss.svg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pretraining plot written without metrics: %v", err)
	}
	if err := WriteReport(root, nil); err == nil {
		t.Error("nil results accepted")
	}
}

func TestReadMetricsFile(t *testing.T) {
	for _, c := range []struct {
		name, text string
		train      []int // updates of the training records kept
		valid      []int
		err        string
	}{
		{"kinds", `{"update":1,"loss":9,"forgot":false}
{"update":2,"loss":8.5,"forgot":true}
{"update":2,"valid_loss":8,"valid_mask_only_loss":8.4}
{"update":2,"epoch":1,"dev_accuracy":40}
{"update":3,"error":"loss is NaN"}
`, []int{1, 2}, []int{2}, ""},
		{"resumed run logs updates again", `{"update":1,"loss":9}
{"update":2,"loss":8}
{"update":3,"loss":7}
{"update":2,"loss":8.1}
{"update":3,"loss":7.1}
{"update":4,"loss":6}
`, []int{1, 2, 3, 4}, nil, ""},
		{"cut-short last line", `{"update":1,"loss":9}
{"update":2,"lo`, []int{1}, nil, ""},
		{"bad line", `{"update":1,"loss":9}
{"update":2,"loss":"high"}
{"update":3,"loss":7}
`, nil, nil, "metrics.jsonl:2: expected a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metrics.jsonl")
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := readMetricsFile(path)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var tr, va []int
			for _, r := range m.train {
				tr = append(tr, r.update)
			}
			for _, r := range m.valid {
				va = append(va, r.update)
			}
			if !slices.Equal(tr, c.train) || !slices.Equal(va, c.valid) {
				t.Errorf("train updates %v, valid %v; want %v, %v", tr, va, c.train, c.valid)
			}
		})
	}
	t.Run("resumed values are the new ones", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "metrics.jsonl")
		os.WriteFile(path, []byte("{\"update\":1,\"loss\":9}\n{\"update\":2,\"loss\":8}\n{\"update\":2,\"loss\":8.1,\"forgot\":true}\n"), 0o644)
		m, err := readMetricsFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.train) != 2 || m.train[1].loss != 8.1 || !m.train[1].forgot {
			t.Errorf("got %+v, want update 2 with loss 8.1 and a reset", m.train)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		m, err := readMetricsFile(filepath.Join(t.TempDir(), "none.jsonl"))
		if m != nil || err != nil {
			t.Errorf("got %v, %v; want nil, nil", m, err)
		}
	})
}

func TestMeanCurve(t *testing.T) {
	nan := math.NaN()
	got := meanCurve([]curve{
		{x: []float64{1, 2, 3}, y: []float64{1, 2, nan}},
		{x: []float64{2, 3, 4}, y: []float64{4, nan, 6}},
	})
	wantX, wantY := []float64{1, 2, 3, 4}, []float64{1, 3, nan, 6}
	if !slices.Equal(got.x, wantX) {
		t.Fatalf("x %v, want %v", got.x, wantX)
	}
	for i := range wantY {
		if !(got.y[i] == wantY[i] || math.IsNaN(got.y[i]) && math.IsNaN(wantY[i])) {
			t.Errorf("y %v, want %v", got.y, wantY)
			break
		}
	}
}

func TestFloorSentence(t *testing.T) {
	b := &reportBuilder{}
	rows := []PretrainSummary{{Arm: ArmStandard, MaskOnlyLoss: 5.9}, {Arm: ArmStandard, MaskOnlyLoss: 6.3}, {Arm: ArmForgetting, MaskOnlyLoss: 1}}
	for _, c := range []struct {
		name      string
		floor     float64
		haveFloor bool
		want      string
	}{
		{"well below", 7.2, true, "**at least 1 nat below**"},
		{"one seed short", 7.2, true, "at least 1 nat below in 1 of them"},
		{"close to the floor", 6.9, true, "**less than 1 nat below**"},
		{"no floor", 0, false, "No English unigram floor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := b.floorSentence(rows, c.floor, c.haveFloor); !strings.Contains(got, c.want) {
				t.Errorf("%q lacks %q", got, c.want)
			}
		})
	}
}

func TestWriteReportAdaptationSeeds(t *testing.T) {
	// A second adaptation seed per body, 10 points above the first on every
	// zero-shot score: zero-shot cells aggregate the 4 replicates, English
	// and ceiling cells only the 2 pipeline seeds.
	root := t.TempDir()
	res := synthExperiment(t, root)
	res.Config.Adapt.Seeds = 2
	for i := range res.Scores {
		if s := &res.Scores[i]; s.Setting == SettingZeroShot {
			s.AdaptSeed = 1
			second := *s
			second.AdaptSeed, second.Accuracy, second.MacroF1 = 2, s.Accuracy+10, s.MacroF1+10
			res.Scores = append(res.Scores, second)
		}
	}
	doc, err := buildReport(root, res)
	if err != nil {
		t.Fatal(err)
	}
	acc := findTable(t, doc, "topic: zero-shot accuracy")
	ceil := findTable(t, doc, "topic: English ceiling")
	gain := findTable(t, doc, "topic: relative gain")
	checkCells(t, []cellCase{
		// standard de at 50: 35 and 45 (seed 1), 39 and 49 (seed 2): mean 42, sd 6.22.
		{acc, "de", "standard low-step (50)", "42.0 ± 6.2"},
		// averages over de and ru per replicate: 30.5, 40.5, 33.5, 43.5: mean 37, sd 6.03.
		{acc, "average", "standard low-step (50)", "37.0 ± 6.0"},
		// English involves no adaptation: still 80 and 83.
		{acc, "English (no adaptation)", "standard full (200)", "81.5 ± 2.1"},
		{ceil, "de", "standard ceiling", "85.5 ± 0.7"},
		// de at 50, per replicate: 10/35, 10/45, 10/39, 10/49: mean 24.21%, sd 3.63.
		{gain, "de", "low-step (50)", "+24.2 ± 3.6"},
	})
	if want := "over 4 replicates (2 pretraining seed(s) × 2 adaptation seeds"; !strings.Contains(acc.Caption, want) {
		t.Errorf("caption %q lacks %q", acc.Caption, want)
	}
}

func TestEpisodeVerdict(t *testing.T) {
	// With the floor at 8.1, the episode ends 8.0, 7.5 and 7.0 (episodes 2,
	// 4 and 6) are all below it, and 7.0 by at least 1 nat.
	root := t.TempDir()
	res := synthExperiment(t, root)
	res.UnigramFloor["en"] = 8.1
	doc, err := buildReport(root, res)
	if err != nil {
		t.Fatal(err)
	}
	want := "3 of 3 measured episodes of the forgetting arm ended below the English unigram floor, the first of them episode 2; 1 ended at least 1 nat below."
	found := false
	for _, blk := range doc.Blocks {
		if p, ok := blk.(*report.Paragraph); ok && p.Text == want {
			found = true
		}
	}
	if !found {
		t.Errorf("no paragraph %q", want)
	}
	ep := findTable(t, doc, "Forgetting arm: mask-only validation loss")
	checkCells(t, []cellCase{{ep, "6", "below the unigram floor by", "+1.100"}})
}

func TestReadResultsRewritesReport(t *testing.T) {
	root := t.TempDir()
	res := synthExperiment(t, root)
	for i := range res.Pretrain { // JSON has no NaN: the runner writes zeros (orZero)
		p := &res.Pretrain[i]
		p.ValidLoss, p.MaskOnlyLoss, p.MaskOnlyAccuracy = orZero(p.ValidLoss), orZero(p.MaskOnlyLoss), orZero(p.MaskOnlyAccuracy)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	write(t, Layout{Root: root}.Results(), string(raw))
	got, err := ReadResults(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Scores) != len(res.Scores) || got.Scores[5] != res.Scores[5] || got.Config.Pretrain != res.Config.Pretrain {
		t.Errorf("read back %d scores and config %+v; wrote %d and %+v", len(got.Scores), got.Config.Pretrain, len(res.Scores), res.Config.Pretrain)
	}
	if err := WriteReport(root, got); err != nil {
		t.Fatal(err)
	}
	write(t, Layout{Root: root}.Results(), `{"scores": [`)
	if _, err := ReadResults(root); err == nil || !strings.Contains(err.Error(), "results.json") {
		t.Errorf("truncated results.json: err = %v, want one naming the file", err)
	}
}
