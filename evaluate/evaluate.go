// Package evaluate scores a task model (finetune.Model: fine-tuned in
// English, possibly spliced with another language's embeddings) on a task
// file: accuracy, macro-F1 and the confusion matrix for classification
// (XNLI, the DDTP topic task, any label<TAB>text file), per language and
// overall; exact match and F1 for extractive QA (SQuAD v1.1, XQuAD, MLQA) with
// the official normalisations. Results are JSON-ready and print as tables.
package evaluate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"lethe/finetune"
	"lethe/internal/atomicfile"
	"lethe/metric"
	"lethe/task"
)

// Result is what one evaluation writes as JSON.
type Result struct {
	Model    string `json:"model"`
	Language string `json:"model_language,omitempty"` // the language the model's embeddings are for (task.json)
	File     string `json:"file"`
	Kind     string `json:"kind"` // finetune.Kind
	Written  string `json:"written"`

	// Classification: overall and per language (the file's language column,
	// or the one given).
	Overall     *metric.Classification            `json:"overall,omitempty"`
	PerLanguage map[string]*metric.Classification `json:"per_language,omitempty"`
	Skipped     int                               `json:"skipped_without_gold,omitempty"`

	// Question answering.
	QA          *metric.QAResult `json:"qa,omitempty"`
	QAMode      string           `json:"qa_mode,omitempty"` // "squad" or "mlqa"
	QALanguage  string           `json:"qa_language,omitempty"`
	Predictions string           `json:"predictions,omitempty"` // the {id: answer} file written beside the result
}

// Classification scores m on a classification file. Labels in the file
// must be among the model's; lang fills the language of rows that have none.
func Classification(ctx context.Context, m *finetune.Model, path, lang string) (*Result, error) {
	if m.Spec.Kind != finetune.Classification {
		return nil, fmt.Errorf("evaluate: %s is a classification file but the model has a %s head", path, m.Spec.Kind)
	}
	set, err := task.ReadClassification(path, task.ReadOptions{Labels: m.Spec.Labels, Lang: lang})
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	pred, err := m.PredictLabels(ctx, set.Examples)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	index := m.Spec.LabelIndex()
	gold := make([]int, len(set.Examples))
	for i, ex := range set.Examples {
		gold[i] = index[ex.Label] // ReadClassification checked the label against the model's
	}
	res := &Result{File: path, Kind: string(m.Spec.Kind), Language: m.Spec.Language, Skipped: set.Skipped,
		PerLanguage: map[string]*metric.Classification{}}
	all := metric.Classify(m.Spec.Labels, gold, pred)
	res.Overall = &all
	byLang := map[string][]int{}
	for i, ex := range set.Examples {
		byLang[ex.Lang] = append(byLang[ex.Lang], i)
	}
	for l, idx := range byLang {
		g, p := make([]int, len(idx)), make([]int, len(idx))
		for k, i := range idx {
			g[k], p[k] = gold[i], pred[i]
		}
		c := metric.Classify(m.Spec.Labels, g, p)
		res.PerLanguage[l] = &c
	}
	return res, nil
}

// QA scores m on a SQuAD-format file with the SQuAD v1.1 normalisation
// (mode metric.SQuAD) or MLQA's for language lang, and writes the predictions
// file predPath ({id: answer}) when it is not empty.
func QA(ctx context.Context, m *finetune.Model, path string, mode metric.Mode, lang, predPath string) (*Result, error) {
	if m.Spec.Kind != finetune.QuestionAnswering {
		return nil, fmt.Errorf("evaluate: %s is a question-answering file but the model has a %s head", path, m.Spec.Kind)
	}
	if err := metric.CheckLang(mode, lang); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	set, err := task.ReadSQuAD(path)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	preds, err := m.PredictAnswers(ctx, set.Examples)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	r := metric.QA(set.Golds(), preds, mode, lang)
	res := &Result{File: path, Kind: string(m.Spec.Kind), Language: m.Spec.Language, QA: &r, QALanguage: lang, QAMode: "squad"}
	if mode != metric.SQuAD {
		res.QAMode = "mlqa"
	}
	if predPath != "" {
		if err := task.WritePredictions(predPath, preds); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		res.Predictions = predPath
	}
	return res, nil
}

// WriteJSON writes r to path atomically (a temporary file, then rename).
func (r *Result) WriteJSON(path string) error {
	r.Written = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
	}
	if err := atomicfile.Write(path, append(b, '\n')); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return nil
}

// WriteTable prints the result for a reader: for classification, a line per
// language (items, accuracy, macro-F1) then the overall table with the
// per-label scores and the confusion matrix; for QA, EM and F1.
func (r *Result) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s on %s", r.Model, r.File)
	if r.Language != "" {
		fmt.Fprintf(w, " (embeddings: %s)", r.Language)
	}
	fmt.Fprintln(w)
	if r.QA != nil {
		fmt.Fprintf(w, "\n  questions %d   exact match %.2f   F1 %.2f   (%s normalisation", r.QA.Count, r.QA.EM, r.QA.F1, r.QAMode)
		if r.QAMode == "mlqa" {
			fmt.Fprintf(w, ", language %s", r.QALanguage)
		}
		fmt.Fprintln(w, ")")
		if r.QA.Missing > 0 {
			fmt.Fprintf(w, "  %d questions had no prediction (scored 0)\n", r.QA.Missing)
		}
		return nil
	}
	if len(r.PerLanguage) > 1 || (len(r.PerLanguage) == 1 && !hasKey(r.PerLanguage, "")) {
		langs := make([]string, 0, len(r.PerLanguage))
		for l := range r.PerLanguage {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		fmt.Fprintf(w, "\n  %-10s %7s %9s %9s\n", "language", "items", "accuracy", "macro-F1")
		for _, l := range langs {
			c := r.PerLanguage[l]
			name := l
			if name == "" {
				name = "(none)"
			}
			fmt.Fprintf(w, "  %-10s %7d %8.2f%% %8.2f%%\n", name, c.N, 100*c.Accuracy, 100*c.MacroF1)
		}
	}
	fmt.Fprintln(w)
	if r.Skipped > 0 {
		fmt.Fprintf(w, "  (%d rows without a gold label skipped)\n", r.Skipped)
	}
	return r.Overall.WriteTable(w)
}

func hasKey(m map[string]*metric.Classification, k string) bool { _, ok := m[k]; return ok }
