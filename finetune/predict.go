package finetune

import (
	"context"
	"fmt"

	"lethe/internal/progress"

	"lethe/qa"
	"lethe/task"
)

// PredictLabels returns the index (into Spec.Labels) of the predicted label
// of every example, batch by batch (the model's maximum batch), without
// dropout.
func (m *Model) PredictLabels(ctx context.Context, examples []task.Example) ([]int, error) {
	if m.Cls == nil {
		return nil, fmt.Errorf("finetune: the model has a %s head, not a classification head", m.Spec.Kind)
	}
	T, maxB, L := m.Spec.MaxLength, m.Body.MaxBatch(), len(m.Spec.Labels)
	ids := make([]int32, maxB*T)
	var a, b []int32
	pred := make([]int, len(examples))
	var bar *progress.Bar
	if m.Progress != nil {
		bar = progress.New(m.Progress, "predict", "examples", 0, float64(len(examples)))
		defer bar.Finish(float64(len(examples)), "")
	}
	for lo := 0; lo < len(examples); lo += maxB {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		B := min(maxB, len(examples)-lo)
		for i := range B {
			ex := &examples[lo+i]
			a, b = m.encodeClassification(ids[i*T:(i+1)*T], a, b, ex.Text, ex.TextPair, ex.TextPair != "")
		}
		hidden, err := m.Body.Encode(ids[:B*T], B, false, 0)
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		if _, err := m.Cls.Forward(hidden, B, T, nil, false, 0); err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		logits := m.Cls.Logits()
		for i := range B {
			best := 0
			for j := 1; j < L; j++ {
				if logits[i*L+j] > logits[i*L+best] {
					best = j
				}
			}
			pred[lo+i] = best
		}
		if bar != nil {
			bar.Update(float64(lo+B), "")
		}
	}
	return pred, nil
}

// qaExamples converts task examples for the window builder, with the first
// gold answer (if any) as the training target.
func qaExamples(examples []task.QAExample) []qa.Example {
	out := make([]qa.Example, len(examples))
	for i, ex := range examples {
		out[i] = qa.Example{ID: ex.ID, Question: ex.Question, Context: ex.Context, AnswerStart: -1}
		if len(ex.Answers) > 0 {
			out[i].AnswerStart, out[i].AnswerText = ex.Answers[0].Start, ex.Answers[0].Text
		}
	}
	return out
}

// qaOptions are the window settings of the spec.
func (m *Model) qaOptions() qa.Options {
	return qa.Options{MaxLen: m.Spec.MaxLength, DocStride: m.Spec.DocStride, MaxQueryLen: m.Spec.MaxQueryLength}
}

// PredictAnswers returns the predicted answer text of every question, by id:
// each context is cut into overlapping windows, the start and end logits of
// every window are computed, and the best span over all windows (n-best
// starts and ends, at most MaxAnswerLength tokens) is taken, as Hugging
// Face's run_qa.py post-processing does.
func (m *Model) PredictAnswers(ctx context.Context, examples []task.QAExample) (map[string]string, error) {
	if m.QA == nil {
		return nil, fmt.Errorf("finetune: the model has a %s head, not a question-answering head", m.Spec.Kind)
	}
	windows, err := qa.Windows(m.Tok, qaExamples(examples), m.qaOptions())
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	T, maxB := m.Spec.MaxLength, m.Body.MaxBatch()
	starts := make([][]float32, len(windows))
	ends := make([][]float32, len(windows))
	ids := make([]int32, maxB*T)
	var bar *progress.Bar
	if m.Progress != nil {
		bar = progress.New(m.Progress, "predict", "windows", 0, float64(len(windows)))
		defer bar.Finish(float64(len(windows)), "")
	}
	for lo := 0; lo < len(windows); lo += maxB {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		B := min(maxB, len(windows)-lo)
		for i := range B {
			copy(ids[i*T:(i+1)*T], windows[lo+i].IDs)
		}
		hidden, err := m.Body.Encode(ids[:B*T], B, false, 0)
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		if _, err := m.QA.Forward(hidden, B, T, nil, nil, false, 0); err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		s, e := m.QA.StartLogits(), m.QA.EndLogits()
		for i := range B {
			starts[lo+i] = append([]float32(nil), s[i*T:(i+1)*T]...)
			ends[lo+i] = append([]float32(nil), e[i*T:(i+1)*T]...)
		}
		if bar != nil {
			bar.Update(float64(lo+B), "")
		}
	}
	preds := make(map[string]string, len(examples))
	for lo := 0; lo < len(windows); {
		hi := lo
		for hi < len(windows) && windows[hi].ExampleIndex == windows[lo].ExampleIndex {
			hi++
		}
		ex := examples[windows[lo].ExampleIndex]
		text, _ := qa.BestSpan(windows[lo:hi], starts[lo:hi], ends[lo:hi], ex.Context, m.Spec.NBest, m.Spec.MaxAnswerLength)
		preds[ex.ID] = text
		lo = hi
	}
	for _, ex := range examples {
		if _, ok := preds[ex.ID]; !ok {
			preds[ex.ID] = "" // a context with no window (empty): no answer
		}
	}
	return preds, nil
}
