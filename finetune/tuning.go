package finetune

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"lethe/checkpoint"
	"lethe/internal/jsonl"
	"lethe/internal/parallel"
	"lethe/internal/splitmix"
	"lethe/metric"
	"lethe/nn"
	"lethe/optim"
	"lethe/qa"
)

// tuning is one Finetune run: its training set, tokenized once, and the
// hooks through which package loop runs it.
type tuning struct {
	o     Options
	m     *Model
	pool  *parallel.Pool
	opt   *optim.AdamW
	state state

	trainable []*nn.Param // the body (embeddings and LM head excluded) and the head
	rows      []int32     // [n*T] the training sequences
	targets   []int32     // classification: the label per sequence; QA: start, end per window
	n         int         // training sequences (QA: windows)
	perEpoch  int         // updates per epoch

	order      []int // epoch orderEpoch's order of the sequences
	orderEpoch int

	// The update's batch: B sequences of ids, their labels or answer spans,
	// and the gradient of the loss with respect to the body's output.
	B                int
	ids, labels      []int32
	startPos, endPos []int32
	dHidden          []float32
}

// encodeTrainingSet tokenizes the training examples (QA: cuts them into
// windows) once, into rows and targets.
func (t *tuning) encodeTrainingSet() error {
	o, m := t.o, t.m
	T := m.Spec.MaxLength
	switch m.Spec.Kind {
	case Classification:
		index := m.Spec.LabelIndex()
		t.n = len(o.Train)
		t.rows, t.targets = make([]int32, t.n*T), make([]int32, t.n)
		var a, b []int32
		for i, ex := range o.Train {
			l, ok := index[ex.Label]
			if !ok {
				return fmt.Errorf("finetune: training example %s (line %d): unknown label %q (labels %q)", ex.ID, ex.Line, ex.Label, m.Spec.Labels)
			}
			a, b = m.encodeClassification(t.rows[i*T:(i+1)*T], a, b, ex.Text, ex.TextPair, ex.TextPair != "")
			t.targets[i] = int32(l)
		}
	case QuestionAnswering:
		ws, err := qa.Windows(m.Tok, qaExamples(o.TrainQA), m.qaOptions())
		if err != nil {
			return fmt.Errorf("finetune: %w", err)
		}
		t.n = len(ws)
		t.rows, t.targets = make([]int32, t.n*T), make([]int32, 2*t.n)
		for i, w := range ws {
			copy(t.rows[i*T:], w.IDs)
			t.targets[2*i], t.targets[2*i+1] = w.StartPos, w.EndPos
		}
	}
	return nil
}

// buildOptimizer freezes the token embeddings (and the tied decoder with
// them) and the unused LM head, and makes AdamW groups for the rest of the
// body and the head, on a schedule over total updates.
func (t *tuning) buildOptimizer(total int) error {
	o, m := t.o, t.m
	p := m.Body.Params
	for _, q := range p.All() {
		q.RequiresGrad = q != p.WordEmb && !isLMHead(q.Name)
	}
	var body []*nn.Param
	for _, q := range m.BodyParams() {
		if q.RequiresGrad {
			body = append(body, q)
		}
	}
	var sched optim.Schedule = optim.LinearSchedule{Peak: o.PeakLR, WarmupUpdates: int(o.WarmupFraction * float64(total)), Total: total}
	if o.ConstantLR {
		sched = optim.ConstantSchedule{Rate: o.PeakLR}
	}
	opt, err := optim.NewAdamW([]optim.Group{
		{Name: "embeddings", Params: []*nn.Param{p.WordEmb}, Schedule: sched, Frozen: true},
		{Name: "body", Params: body, Schedule: sched, WeightDecay: o.WeightDecay},
		{Name: "head", Params: m.HeadParams(), Schedule: sched, WeightDecay: o.WeightDecay},
	}, o.Beta1, o.Beta2, o.Eps)
	if err != nil {
		return fmt.Errorf("finetune: %w", err)
	}
	opt.SetFor(t.pool.For)
	t.opt = opt
	t.trainable = append(append([]*nn.Param(nil), body...), m.HeadParams()...)
	return nil
}

// allocate makes the batch buffers, once for the whole run.
func (t *tuning) allocate() {
	B, T, C := t.o.BatchSize, t.m.Spec.MaxLength, t.m.Body.Config.HiddenSize
	t.dHidden = make([]float32, B*T*C)
	t.ids = make([]int32, B*T)
	t.labels = make([]int32, B)
	t.startPos, t.endPos = make([]int32, B), make([]int32, B)
}

// epochOrder is the order in which epoch e visits the n training sequences:
// a permutation that depends only on the seed and the epoch, so a resumed run
// sees the same batches.
func epochOrder(n int, seed uint64, epoch int) []int {
	r := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	return r.Perm(n)
}

// forward gathers update u's batch (the k-th slice of its epoch's order) and
// computes the head's loss on the body's output, with dropout.
func (t *tuning) forward(u int) (loss float64, tokens int, err error) {
	o, m, T := t.o, t.m, t.m.Spec.MaxLength
	epoch, k := (u-1)/t.perEpoch, (u-1)%t.perEpoch
	if epoch != t.orderEpoch {
		t.order = epochOrder(t.n, o.Seed, epoch)
		t.orderEpoch = epoch
	}
	batch := t.order[k*o.BatchSize : min((k+1)*o.BatchSize, t.n)]
	t.B = len(batch)
	for i, j := range batch {
		copy(t.ids[i*T:(i+1)*T], t.rows[j*T:(j+1)*T])
		if m.Spec.Kind == Classification {
			t.labels[i] = t.targets[j]
		} else {
			t.startPos[i], t.endPos[i] = t.targets[2*j], t.targets[2*j+1]
		}
	}
	B := t.B
	m.Body.ZeroGrad()
	for _, q := range m.HeadParams() {
		clear(q.Grad)
	}
	seed := splitmix.UpdateSeed(o.Seed, uint64(u))
	hidden, err := m.Body.Encode(t.ids[:B*T], B, true, seed)
	if err != nil {
		return 0, 0, err
	}
	if m.Cls != nil {
		loss, err = m.Cls.Forward(hidden, B, T, t.labels[:B], true, seed^0xC1A55)
	} else {
		loss, err = m.QA.Forward(hidden, B, T, t.startPos[:B], t.endPos[:B], true, seed^0xC1A55)
	}
	return loss, B * T, err
}

// backward computes the gradients of the head and, through the body's
// output, of the body, and clips their global norm.
func (t *tuning) backward(int) (gradNorm float64, err error) {
	m := t.m
	dHidden := t.dHidden[:t.B*m.Spec.MaxLength*m.Body.Config.HiddenSize]
	if m.Cls != nil {
		err = m.Cls.Backward(dHidden)
	} else {
		err = m.QA.Backward(dHidden)
	}
	if err == nil {
		err = m.Body.BackwardHidden(dHidden)
	}
	if err != nil {
		return 0, err
	}
	return optim.ClipGradNorm(t.trainable, t.o.ClipNorm), nil
}

// record adds the learning rate to update u's metrics record.
func (t *tuning) record(u int, rec *jsonl.Record) string {
	lr, _ := t.opt.LR("body", u)
	rec.LR = new(lr)
	return fmt.Sprintf("epoch %d | loss %.3f | lr %.2e | %.0f tok/s", (u-1)/t.perEpoch+1, *rec.Loss, lr, *rec.TokensPerS)
}

// validate scores the model on Dev (devScore) after update u.
func (t *tuning) validate(ctx context.Context, u int) (float64, jsonl.Record, error) {
	score, err := devScore(ctx, t.m, t.o)
	if err != nil {
		return 0, jsonl.Record{}, err
	}
	rec := jsonl.Record{Update: u, Epoch: new(float64(u) / float64(t.perEpoch))}
	if t.m.Spec.Kind == QuestionAnswering {
		rec.DevF1 = new(score)
	} else {
		rec.DevAccuracy = new(score)
	}
	return score, rec, nil
}

// devScore is the model-selection score on the English dev set: accuracy
// (percent) for classification, SQuAD F1 for question answering.
func devScore(ctx context.Context, m *Model, o Options) (float64, error) {
	if m.Cls != nil {
		pred, err := m.PredictLabels(ctx, o.Dev)
		if err != nil {
			return 0, err
		}
		index := m.Spec.LabelIndex()
		correct, count := 0, 0
		for i, ex := range o.Dev {
			g, ok := index[ex.Label]
			if !ok {
				return 0, fmt.Errorf("dev example %s (line %d): unknown label %q (labels %q)", ex.ID, ex.Line, ex.Label, m.Spec.Labels)
			}
			count++
			if pred[i] == g {
				correct++
			}
		}
		return 100 * float64(correct) / float64(count), nil
	}
	preds, err := m.PredictAnswers(ctx, o.DevQA)
	if err != nil {
		return 0, err
	}
	golds := make(map[string][]string, len(o.DevQA))
	for _, ex := range o.DevQA {
		for _, a := range ex.Answers {
			golds[ex.ID] = append(golds[ex.ID], a.Text)
		}
	}
	return metric.QA(golds, preds, metric.SQuAD, "en").F1, nil
}

// restore loads the task model's parameters from the checkpoint dir that
// the run resumes.
func (t *tuning) restore(dir string) error { return checkpoint.LoadParams(dir, t.m.Params()) }

// finished is the progress line's text at the end of the run.
func (t *tuning) finished() string {
	best := math.NaN()
	if t.state.BestDev != nil {
		best = *t.state.BestDev
	}
	return fmt.Sprintf("best dev %s %.2f at update %d", t.m.Spec.Kind.devMetric(), best, t.state.BestUpdate)
}

// devMetric names the dev score that selects a model of this kind.
func (k Kind) devMetric() string {
	if k == QuestionAnswering {
		return "f1"
	}
	return "accuracy"
}
