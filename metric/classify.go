// Package metric computes the evaluation figures Lethe reports: accuracy,
// macro-F1 and the confusion matrix for classification tasks (XNLI, the DDTP
// topic task), and exact match and F1 for extractive question answering,
// following the official SQuAD v1.1 and MLQA evaluation scripts.
package metric

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// LabelScore holds the one-label-against-the-rest figures of a
// classification run. Ratios are fractions in [0, 1]; a ratio whose
// denominator is zero is 0 (scikit-learn's zero_division=0 behaviour).
type LabelScore struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"` // TP / (TP + FP): of the items predicted as Label, the share that are Label
	Recall    float64 `json:"recall"`    // TP / (TP + FN): of the items that are Label, the share predicted as Label
	F1        float64 `json:"f1"`        // harmonic mean of Precision and Recall, 2TP / (2TP + FP + FN)
	Support   int     `json:"support"`   // number of gold items with this label
	Predicted int     `json:"predicted"` // number of items predicted as this label
}

// Classification is the result of Classify. Ratios are fractions in [0, 1]
// (as scikit-learn reports them); WriteTable prints them as percentages.
type Classification struct {
	Labels []string `json:"labels"` // label names, index i names label id i
	N      int      `json:"n"`      // number of scored items

	// Accuracy is the share of items whose prediction equals the gold
	// label (0 when N is 0).
	Accuracy float64 `json:"accuracy"`

	// MacroF1 is the unweighted mean of the per-label F1 over the labels
	// that occur in gold or in predictions (MacroLabels of them). A label
	// with neither gold nor predicted items carries no information about
	// the classifier and is left out of the mean; this is what
	// scikit-learn's f1_score(average="macro") computes when it is not
	// given an explicit labels argument (it scores unique_labels(gold,
	// pred)). A label that is predicted but never gold is included, with
	// F1 0, exactly as scikit-learn does.
	MacroF1     float64 `json:"macro_f1"`
	MacroLabels int     `json:"macro_labels"`

	PerLabel []LabelScore `json:"per_label"` // one entry per label, in label order

	// Confusion[g][p] counts items with gold label g predicted as p:
	// rows are gold labels, columns predictions.
	Confusion [][]int `json:"confusion"`
}

// UnmarshalJSON reads a Classification, also from files written before its
// keys were snake_case ("MacroF1", "MacroLabels", "PerLabel"; the other old
// keys match case-insensitively).
func (c *Classification) UnmarshalJSON(b []byte) error {
	type plain Classification
	var v struct {
		plain
		OldMacroF1     *float64     `json:"MacroF1"`
		OldMacroLabels *int         `json:"MacroLabels"`
		OldPerLabel    []LabelScore `json:"PerLabel"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Classification(v.plain)
	if v.OldMacroF1 != nil {
		c.MacroF1 = *v.OldMacroF1
	}
	if v.OldMacroLabels != nil {
		c.MacroLabels = *v.OldMacroLabels
	}
	if v.OldPerLabel != nil {
		c.PerLabel = v.OldPerLabel
	}
	return nil
}

// Classify scores predicted label ids against gold label ids; labels names
// the ids (id i is labels[i]). gold and pred must have the same length and
// every id must lie in [0, len(labels)); anything else is a programming
// error in the caller and panics with a message saying which index is bad.
func Classify(labels []string, gold, pred []int) Classification {
	if len(gold) != len(pred) {
		panic(fmt.Sprintf("metric.Classify: %d gold labels but %d predictions", len(gold), len(pred)))
	}
	k := len(labels)
	c := Classification{
		Labels:    append([]string(nil), labels...),
		N:         len(gold),
		PerLabel:  make([]LabelScore, k),
		Confusion: make([][]int, k),
	}
	for i := range c.Confusion {
		c.Confusion[i] = make([]int, k)
	}
	correct := 0
	for i := range gold {
		g, p := gold[i], pred[i]
		if g < 0 || g >= k {
			panic(fmt.Sprintf("metric.Classify: gold[%d] = %d outside [0, %d)", i, g, k))
		}
		if p < 0 || p >= k {
			panic(fmt.Sprintf("metric.Classify: pred[%d] = %d outside [0, %d)", i, p, k))
		}
		c.Confusion[g][p]++
		if g == p {
			correct++
		}
	}
	if c.N > 0 {
		c.Accuracy = float64(correct) / float64(c.N)
	}
	sumF1 := 0.0
	for l := range k {
		tp := c.Confusion[l][l]
		support, predicted := 0, 0
		for j := range k {
			support += c.Confusion[l][j]
			predicted += c.Confusion[j][l]
		}
		s := LabelScore{Label: labels[l], Support: support, Predicted: predicted}
		s.Precision = ratio(tp, predicted)
		s.Recall = ratio(tp, support)
		s.F1 = ratio(2*tp, support+predicted) // 2TP / (2TP + FP + FN)
		c.PerLabel[l] = s
		if support+predicted > 0 {
			sumF1 += s.F1
			c.MacroLabels++
		}
	}
	if c.MacroLabels > 0 {
		c.MacroF1 = sumF1 / float64(c.MacroLabels)
	}
	return c
}

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// WriteTable prints c as aligned plain text: the item count, accuracy and
// macro-F1, one row per label (precision, recall, F1 as percentages, support
// and predicted counts), then the confusion matrix with gold labels as rows
// and predicted labels as columns. Label names are left-aligned, numbers
// right-aligned.
func (c Classification) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "items     %d\n", c.N)
	fmt.Fprintf(&b, "accuracy  %.2f\n", 100*c.Accuracy)
	fmt.Fprintf(&b, "macro-F1  %.2f  (mean over %d labels seen in gold or predictions)\n\n", 100*c.MacroF1, c.MacroLabels)

	rows := [][]string{{"label", "precision", "recall", "F1", "support", "predicted"}}
	for _, s := range c.PerLabel {
		rows = append(rows, []string{s.Label,
			fmt.Sprintf("%.2f", 100*s.Precision), fmt.Sprintf("%.2f", 100*s.Recall), fmt.Sprintf("%.2f", 100*s.F1),
			fmt.Sprint(s.Support), fmt.Sprint(s.Predicted)})
	}
	writeAligned(&b, rows)
	b.WriteString("\n")

	rows = [][]string{append([]string{"gold \\ predicted"}, c.Labels...)}
	for g, row := range c.Confusion {
		cells := []string{c.Labels[g]}
		for _, n := range row {
			cells = append(cells, fmt.Sprint(n))
		}
		rows = append(rows, cells)
	}
	writeAligned(&b, rows)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("metric: write classification table: %w", err)
	}
	return nil
}

// writeAligned writes rows as columns two spaces apart, the first column
// left-aligned and the others right-aligned, widths counted in runes.
func writeAligned(b *strings.Builder, rows [][]string) {
	var width []int
	for _, r := range rows {
		for j, cell := range r {
			if j == len(width) {
				width = append(width, 0)
			}
			width[j] = max(width[j], utf8.RuneCountInString(cell))
		}
	}
	for _, r := range rows {
		for j, cell := range r {
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(cell))
			switch {
			case j == 0:
				b.WriteString(cell)
				if len(r) > 1 {
					b.WriteString(pad)
				}
			default:
				b.WriteString("  " + pad + cell)
			}
		}
		b.WriteString("\n")
	}
}
