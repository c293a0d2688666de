package metric

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestClassify(t *testing.T) {
	tests := []struct {
		name        string
		labels      []string
		gold, pred  []int
		acc, macro  float64
		macroLabels int
		confusion   [][]int
		perLabel    []LabelScore
	}{
		{
			// Worked by hand. Confusion (rows gold, columns predicted):
			//        A  B  C  D
			//   A    2  1  0  0
			//   B    1  1  1  0
			//   C    0  0  0  0
			//   D    0  0  0  0
			// A: TP 2, support 3, predicted 3: P = R = F1 = 2/3.
			// B: TP 1, support 3, predicted 2: P 1/2, R 1/3, F1 2*1/(3+2) = 2/5.
			// C: never gold, predicted once: P 0, R 0 (0/0), F1 0, counted.
			// D: neither gold nor predicted: left out of the mean.
			// Macro-F1 = (2/3 + 2/5 + 0) / 3 = 16/45; accuracy 3/6.
			// (scikit-learn's f1_score(y_true, y_pred, average="macro") on
			// the same strings scores the labels A, B, C and agrees.)
			name:        "hand-worked 4 labels",
			labels:      []string{"A", "B", "C", "D"},
			gold:        []int{0, 0, 0, 1, 1, 1},
			pred:        []int{0, 0, 1, 0, 1, 2},
			acc:         0.5,
			macro:       16.0 / 45,
			macroLabels: 3,
			confusion:   [][]int{{2, 1, 0, 0}, {1, 1, 1, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}},
			perLabel: []LabelScore{
				{Label: "A", Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3, Support: 3, Predicted: 3},
				{Label: "B", Precision: 0.5, Recall: 1.0 / 3, F1: 0.4, Support: 3, Predicted: 2},
				{Label: "C", Support: 0, Predicted: 1},
				{Label: "D"},
			},
		},
		{
			name:        "perfect",
			labels:      []string{"entailment", "neutral", "contradiction"},
			gold:        []int{0, 1, 2, 2},
			pred:        []int{0, 1, 2, 2},
			acc:         1,
			macro:       1,
			macroLabels: 3,
			confusion:   [][]int{{1, 0, 0}, {0, 1, 0}, {0, 0, 2}},
			perLabel: []LabelScore{
				{Label: "entailment", Precision: 1, Recall: 1, F1: 1, Support: 1, Predicted: 1},
				{Label: "neutral", Precision: 1, Recall: 1, F1: 1, Support: 1, Predicted: 1},
				{Label: "contradiction", Precision: 1, Recall: 1, F1: 1, Support: 2, Predicted: 2},
			},
		},
		{
			// Always predicting the majority class x: x has P 3/4, R 1,
			// F1 6/7; y has F1 0. Macro = 3/7.
			name:        "majority baseline",
			labels:      []string{"x", "y"},
			gold:        []int{0, 0, 0, 1},
			pred:        []int{0, 0, 0, 0},
			acc:         0.75,
			macro:       3.0 / 7,
			macroLabels: 2,
			confusion:   [][]int{{3, 0}, {1, 0}},
			perLabel: []LabelScore{
				{Label: "x", Precision: 0.75, Recall: 1, F1: 6.0 / 7, Support: 3, Predicted: 4},
				{Label: "y", Support: 1},
			},
		},
		{
			name:      "empty",
			labels:    []string{"x"},
			confusion: [][]int{{0}},
			perLabel:  []LabelScore{{Label: "x"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Classify(tc.labels, tc.gold, tc.pred)
			if c.N != len(tc.gold) || !near(c.Accuracy, tc.acc) || !near(c.MacroF1, tc.macro) || c.MacroLabels != tc.macroLabels {
				t.Errorf("N %d accuracy %v macro-F1 %v over %d labels; want %d %v %v over %d",
					c.N, c.Accuracy, c.MacroF1, c.MacroLabels, len(tc.gold), tc.acc, tc.macro, tc.macroLabels)
			}
			if !reflect.DeepEqual(c.Confusion, tc.confusion) {
				t.Errorf("confusion %v, want %v", c.Confusion, tc.confusion)
			}
			for i, w := range tc.perLabel {
				g := c.PerLabel[i]
				if g.Label != w.Label || g.Support != w.Support || g.Predicted != w.Predicted ||
					!near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
					t.Errorf("label %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestClassifyPanicsOnBadInput(t *testing.T) {
	for _, tc := range []struct {
		name       string
		gold, pred []int
		want       string
	}{
		{"length", []int{0}, []int{0, 1}, "1 gold labels but 2 predictions"},
		{"gold range", []int{0, 2}, []int{0, 1}, "gold[1] = 2 outside [0, 2)"},
		{"pred range", []int{0, 1}, []int{-1, 1}, "pred[0] = -1 outside [0, 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Errorf("panic %v, want it to mention %q", r, tc.want)
				}
			}()
			Classify([]string{"a", "b"}, tc.gold, tc.pred)
		})
	}
}

func TestWriteTable(t *testing.T) {
	c := Classify([]string{"games", "network"}, []int{0, 0, 1, 1}, []int{0, 1, 1, 1})
	var b strings.Builder
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// games: P 1, R 1/2, F1 2/3; network: P 2/3, R 1, F1 4/5;
	// macro (2/3 + 4/5)/2 = 73.33%.
	for _, want := range []string{
		"accuracy  75.00\n",
		"macro-F1  73.33  (mean over 2 labels",
		"label    precision  recall     F1  support  predicted\n",
		"games       100.00   50.00  66.67        2          1\n",
		"network      66.67  100.00  80.00        2          3\n",
		"gold \\ predicted  games  network\n",
		"games                 1        1\n",
		"network               0        2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
