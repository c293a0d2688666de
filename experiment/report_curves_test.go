package experiment

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// curveResults is an experiment with budget curves and no metrics files: 3
// pretraining seeds, arms standard and forgetting, en-relearn at budgets
// 1e4 and 1e6, each zero-shot score given by acc(arm, budget, seed).
func curveResults(t *testing.T, acc func(arm string, budget int64, seed int) float64) *Results {
	t.Helper()
	cfg, err := Preset("quick")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seeds, cfg.Arms, cfg.Tasks = 3, []string{ArmStandard, ArmForgetting}, []string{"topic"}
	cfg.Languages = []string{LangRelearn}
	cfg.Pretrain.MaxCorpusBytes = 1 << 20
	cfg.Adapt.Budgets = []int64{10_000, 1_000_000}
	cfg.Adapt.MaxTokens = 1_000_000
	res := &Results{Config: cfg}
	for seed := 1; seed <= 3; seed++ {
		for _, arm := range cfg.Arms {
			res.Scores = append(res.Scores,
				Score{Seed: seed, Arm: arm, Task: "topic", Lang: "en", Setting: SettingEnglish, N: 100, Accuracy: 80},
				Score{Seed: seed, Arm: arm, Task: "topic", Lang: "en", Setting: SettingOracle, N: 100, Accuracy: 80},
				Score{Seed: seed, Arm: arm, Task: "topic", Lang: "en", Setting: SettingFresh, N: 100, Accuracy: 12},
				Score{Seed: seed, Arm: arm, Task: "topic", Lang: LangRelearn, Setting: SettingCeiling, N: 100, Accuracy: 80})
			for _, budget := range cfg.Adapt.Budgets {
				loss := map[string]float64{ArmStandard: 4, ArmForgetting: 3.7}[arm] + 0.1*float64(seed)*float64(seed)
				res.Adapt = append(res.Adapt, AdaptSummary{Seed: seed, AdaptSeed: 1, Arm: arm, Lang: LangRelearn, Budget: budget,
					TrainTokens: budget + 100, MaskOnlyLoss: loss})
				res.Scores = append(res.Scores, Score{Seed: seed, Arm: arm, Task: "topic", Lang: LangRelearn, Setting: SettingZeroShot,
					AdaptUpdates: cfg.Adapt.Updates, AdaptSeed: 1, Budget: budget, N: 100, Accuracy: acc(arm, budget, seed)})
			}
		}
	}
	return res
}

// TestReportCurves checks the answer, the controls and the curve table
// against figures worked by hand. At 1e4 forgetting leads by 10, 12 and 14
// points over the 3 seeds: mean 12, std 2, half-width 4.303 * 2 / sqrt(3) =
// 4.97, so [+7.0, +17.0], a win. At 1e6 it trails by 1, 0 and 2 points: mean
// -1, std 1, half-width 2.48, [-3.5, +1.5], inconclusive.
func TestReportCurves(t *testing.T) {
	lead := map[int64][3]float64{10_000: {10, 12, 14}, 1_000_000: {-1, 0, -2}}
	res := curveResults(t, func(arm string, budget int64, seed int) float64 {
		base := map[int64]float64{10_000: 30, 1_000_000: 76}[budget] + float64(seed)
		if arm == ArmForgetting {
			return base + lead[budget][seed-1]
		}
		return base
	})
	root := t.TempDir()
	if err := WriteReport(root, res); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(raw)
	for _, want := range []string{
		"gives exactly its English score in 6 of 6 task models; untrained embeddings score 12.0% (chance 12.5%)",
		"scores 78.0% against the English task model's 80.0%: **97.5% of English**",
		"forgetting wins in 1 (language, budget) cells, loses in 0, and cannot be told apart in 1",
		"| 1e4 | 10.1k | 32.0 ± 1.0 | 44.0 ± 3.0 | +12.0 [+7.0, +17.0] | forgetting wins |",
		"forgetting minus standard: en-relearn -0.30 [-0.30, -0.30]",
		"| 1e6 | 1M | 78.0 ± 1.0 | 77.0 ± 1.0 | -1.0 [-3.5, +1.5] | inconclusive |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Index(md, "## The answer") > strings.Index(md, "## Settings") {
		t.Error("the answer does not come before the settings")
	}
	for _, f := range []string{"plots/answer-topic-en-relearn.svg", "plots/budget-topic-en-relearn.svg"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

// TestReportOracleMismatch flags an oracle splice that does not give back
// the English score: the pipeline is then broken.
func TestReportOracleMismatch(t *testing.T) {
	res := curveResults(t, func(string, int64, int) float64 { return 50 })
	for i, s := range res.Scores {
		if s.Setting == SettingOracle && s.Seed == 2 && s.Arm == ArmForgetting {
			res.Scores[i].Accuracy = 79
		}
	}
	doc, err := buildReport(t.TempDir(), res)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := doc.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "5 of 6 task models: the splice or evaluation code is broken**") {
		t.Error("the report does not flag the oracle mismatch")
	}
}

func TestDifferenceOverAdaptationSeeds(t *testing.T) {
	d := difference{mean: 2, half: math.NaN(), n: 1}
	if d.String() != "+2.0 (no interval: n=1)" || d.verdict() != "no interval" {
		t.Errorf("single sample: %q, %q", d.String(), d.verdict())
	}
	if got := (difference{mean: -3, half: 1, n: 3}).verdict(); got != "forgetting loses" {
		t.Errorf("verdict of -3 ± 1: %q", got)
	}
}
