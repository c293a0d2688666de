package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lethe/checkpoint"
	"lethe/internal/blas"
	"lethe/internal/jsonl"
	"lethe/internal/parallel"
	"lethe/internal/progress"
	"lethe/internal/runlock"
	"lethe/internal/splitmix"
	"lethe/metric"
	"lethe/nn"
	"lethe/optim"
	"lethe/qa"
	"lethe/roberta"
	"lethe/task"
)

// Options configures a fine-tuning run. Start from DefaultOptions.
type Options struct {
	// From is the pretrained checkpoint whose body is fine-tuned (the
	// standard arm's checkpoint-last or the forgetting arm's
	// checkpoint-best); its tokenizer (sentencepiece.model) tokenizes the
	// task data.
	From string
	// Spec says which head and how inputs are cut. Kind Classification needs
	// Labels (the label order of the head's outputs).
	Spec Spec

	Train, Dev     []task.Example   // classification data (English); Dev selects the model
	TrainQA, DevQA []task.QAExample // question-answering data (English)

	OutDir         string
	BatchSize      int
	Epochs         int
	PeakLR         float64 // after warm-up; then linear decay to 0 (or constant, see ConstantLR)
	WarmupFraction float64 // share of all updates spent warming up (HF warmup_ratio)
	ConstantLR     bool    // the paper's NLI recipe: a constant learning rate
	WeightDecay    float64
	Beta1, Beta2   float64
	Eps            float64
	ClipNorm       float64 // 0: none
	Seed           uint64  // head initialisation, data order, dropout
	EvalEvery      int     // also evaluate on Dev every this many updates (0: at the end of each epoch only)
	SaveEvery      int     // save checkpoint-last (the resume point) every this many updates, and at each evaluation
	Threads        int
	Progress       io.Writer
}

// DefaultOptions returns Lethe's CPU-scale fine-tuning recipe: AdamW (0.9,
// 0.98, eps 1e-6, weight decay 0.01), 6% warm-up then linear decay, batch 32,
// 3 epochs, sequences of 128 tokens (QA: 384 with stride 128, questions up to
// 64 tokens, answers up to 30 tokens from the 20 best starts and ends, as
// run_qa.py).
func DefaultOptions() Options {
	return Options{
		Spec:      Spec{Kind: Classification, MaxLength: 128, DocStride: 128, MaxQueryLength: 64, MaxAnswerLength: 30, NBest: 20},
		BatchSize: 32, Epochs: 3, PeakLR: 5e-5, WarmupFraction: 0.06,
		WeightDecay: 0.01, Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, Seed: 1, SaveEvery: 500, Threads: 2,
	}
}

// Result summarises a fine-tuning run.
type Result struct {
	Updates       int
	DevMetric     string  // "accuracy" or "f1"
	BestDev       float64 // best Dev score (percent)
	BestUpdate    int
	BestDir       string // the selected model: OutDir/checkpoint-best
	TrainLoss     float64
	TokensPerSec  float64
	ResumedAt     int
	TrainExamples int // sequences per epoch (QA: windows)
}

// state is trainer_state.json of a fine-tuning checkpoint.
type state struct {
	Update     int      `json:"update"`
	BestDev    *float64 `json:"best_dev,omitempty"`
	BestUpdate int      `json:"best_update,omitempty"`
	Seconds    float64  `json:"train_seconds"`
	Run        identity `json:"run"`
}

// identity is what a resumed run must share with the run it continues.
type identity struct {
	From        string  `json:"from"`
	Spec        string  `json:"spec"` // Spec as JSON
	TrainN      int     `json:"train_examples"`
	DevN        int     `json:"dev_examples"`
	BatchSize   int     `json:"batch_size"`
	Epochs      int     `json:"epochs"`
	PeakLR      float64 `json:"peak_lr"`
	Warmup      float64 `json:"warmup_fraction"`
	Constant    bool    `json:"constant_lr"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	Seed        uint64  `json:"seed"`
}

func (o *Options) validate() error {
	switch {
	case o.From == "":
		return errors.New("no pretrained checkpoint to fine-tune (--from)")
	case o.OutDir == "":
		return errors.New("no output directory")
	case o.BatchSize < 1 || o.Epochs < 1:
		return fmt.Errorf("batch size %d, epochs %d: need at least 1 each", o.BatchSize, o.Epochs)
	case o.PeakLR <= 0:
		return fmt.Errorf("learning rate %g: need > 0", o.PeakLR)
	case o.WarmupFraction < 0 || o.WarmupFraction >= 1:
		return fmt.Errorf("warm-up fraction %g: need 0 <= f < 1", o.WarmupFraction)
	case o.Threads < 1:
		return fmt.Errorf("threads %d: need at least 1", o.Threads)
	}
	switch o.Spec.Kind {
	case Classification:
		if len(o.Train) == 0 || len(o.Dev) == 0 {
			return fmt.Errorf("classification needs training and dev examples (have %d and %d)", len(o.Train), len(o.Dev))
		}
	case QuestionAnswering:
		if len(o.TrainQA) == 0 || len(o.DevQA) == 0 {
			return fmt.Errorf("question answering needs training and dev questions (have %d and %d)", len(o.TrainQA), len(o.DevQA))
		}
	}
	return o.Spec.validate()
}

// Finetune trains the body and a new task head on English task data with
// the token embeddings (and the LM head, unused) frozen, evaluates on Dev
// after every epoch (and every EvalEvery updates), and keeps the best model
// by Dev score as OutDir/checkpoint-best. Like pretraining, it saves
// OutDir/checkpoint-last on Ctrl-C (ctx cancelled; the error wraps
// checkpoint.ErrInterrupted) and a rerun with the same options continues it.
func Finetune(ctx context.Context, o Options) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	blas.SetThreads(1)
	pool := parallel.New(o.Threads)
	defer pool.Close()

	from, err := checkpoint.Resolve(o.From)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	var cfg roberta.Config
	if err := checkpoint.LoadConfig(from, &cfg); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	tokRaw, err := os.ReadFile(filepath.Join(from, checkpoint.Tokenizer))
	if err != nil {
		return nil, fmt.Errorf("finetune: %s has no tokenizer (%s): pretrain with --tokenizer or --data: %w", from, checkpoint.Tokenizer, err)
	}
	spec := o.Spec
	if spec.BaseModelSHA256, err = checkpoint.ModelHash(from); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	m, err := New(cfg, spec, tokRaw, o.BatchSize, pool)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	if err := checkpoint.LoadParams(from, m.BodyParams(), checkpoint.AllowExtra()); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	if m.Cls != nil {
		m.Cls.Init(o.Seed, cfg.InitializerRange)
	} else {
		m.QA.Init(o.Seed, cfg.InitializerRange)
	}

	// Inputs, tokenized once.
	T := spec.MaxLength
	var rows []int32    // [N*T]
	var targets []int32 // classification: label; QA: start, end per window
	var n int
	switch spec.Kind {
	case Classification:
		index := spec.LabelIndex()
		n = len(o.Train)
		rows, targets = make([]int32, n*T), make([]int32, n)
		var a, b []int32
		for i, ex := range o.Train {
			l, ok := index[ex.Label]
			if !ok {
				return nil, fmt.Errorf("finetune: training example %s (line %d): unknown label %q (labels %q)", ex.ID, ex.Line, ex.Label, spec.Labels)
			}
			a, b = m.encodeClassification(rows[i*T:(i+1)*T], a, b, ex.Text, ex.TextPair, ex.TextPair != "")
			targets[i] = int32(l)
		}
	case QuestionAnswering:
		ws, err := qa.Windows(m.Tok, qaExamples(o.TrainQA), m.qaOptions())
		if err != nil {
			return nil, fmt.Errorf("finetune: %w", err)
		}
		n = len(ws)
		rows, targets = make([]int32, n*T), make([]int32, 2*n)
		for i, w := range ws {
			copy(rows[i*T:], w.IDs)
			targets[2*i], targets[2*i+1] = w.StartPos, w.EndPos
		}
	}
	perEpoch := (n + o.BatchSize - 1) / o.BatchSize
	total := perEpoch * o.Epochs

	// Frozen: the token embeddings (and the tied decoder with them) and the
	// unused LM head. Trained: the rest of the body and the head.
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
		return nil, fmt.Errorf("finetune: %w", err)
	}
	opt.SetFor(pool.For)
	trainable := append(append([]*nn.Param(nil), body...), m.HeadParams()...)

	specJSON, _ := json.Marshal(spec)
	st := state{Run: identity{From: o.From, Spec: string(specJSON), TrainN: len(o.Train) + len(o.TrainQA), DevN: len(o.Dev) + len(o.DevQA),
		BatchSize: o.BatchSize, Epochs: o.Epochs, PeakLR: o.PeakLR, Warmup: o.WarmupFraction, Constant: o.ConstantLR,
		WeightDecay: o.WeightDecay, ClipNorm: o.ClipNorm, Seed: o.Seed}}
	res := &Result{DevMetric: "accuracy", TrainExamples: n, BestDir: filepath.Join(o.OutDir, checkpoint.Best)}
	if spec.Kind == QuestionAnswering {
		res.DevMetric = "f1"
	}
	lock, err := runlock.Acquire(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	defer lock.Release()
	if err := resume(o, m, opt, &st, res); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	metrics, err := jsonl.Open(filepath.Join(o.OutDir, checkpoint.MetricsFile))
	if err != nil {
		return nil, fmt.Errorf("finetune: %w", err)
	}
	defer metrics.Close()
	logRec := metrics.Write
	start := time.Now()
	save := func(name string, withState bool) error {
		c := &checkpoint.Checkpoint{}
		if withState {
			s := st
			s.Seconds += time.Since(start).Seconds()
			raw, _ := json.MarshalIndent(s, "", "  ")
			c.Optimizer, c.Trainer = opt, raw
		}
		if err := m.Save(filepath.Join(o.OutDir, name), c); err != nil {
			return err
		}
		if err := metrics.Sync(); err != nil {
			return fmt.Errorf("finetune: metrics log: %w", err)
		}
		return nil
	}
	evaluate := func(u int) error {
		// An evaluation runs to its end even after Ctrl-C (as pretraining's
		// validation does): the next turn of the loop then saves a
		// checkpoint that a rerun continues from exactly. Cut short, it
		// would fail the run without saving the updates since the last save.
		score, err := devScore(context.WithoutCancel(ctx), m, o)
		if err != nil {
			return err
		}
		rec := jsonl.Record{Update: u, Epoch: new(float64(u) / float64(perEpoch))}
		if res.DevMetric == "f1" {
			rec.DevF1 = new(score)
		} else {
			rec.DevAccuracy = new(score)
		}
		logRec(rec)
		if st.BestDev == nil || score > *st.BestDev {
			s := score
			st.BestDev, st.BestUpdate = &s, u
			if err := save(checkpoint.Best, false); err != nil {
				return err
			}
		}
		return nil
	}

	var bar *progress.Bar
	if o.Progress != nil {
		bar = progress.New(o.Progress, "finetune", "updates", float64(st.Update), float64(total))
		fmt.Fprintf(o.Progress, "finetune: %d %s, %d epochs of %d updates (batch %d, %d tokens)\n",
			n, map[Kind]string{Classification: "examples", QuestionAnswering: "windows"}[spec.Kind], o.Epochs, perEpoch, o.BatchSize, T)
	}
	C := cfg.HiddenSize
	dHidden := make([]float32, o.BatchSize*T*C)
	ids := make([]int32, o.BatchSize*T)
	labels := make([]int32, o.BatchSize)
	startPos, endPos := make([]int32, o.BatchSize), make([]int32, o.BatchSize)
	res.ResumedAt = st.Update
	var tokens int64
	var order []int
	orderEpoch := -1
	for u := st.Update + 1; u <= total; u++ {
		if ctx.Err() != nil {
			if err := save(checkpoint.Last, true); err != nil {
				return nil, err
			}
			if bar != nil {
				bar.Finish(float64(st.Update), "interrupted")
			}
			return nil, fmt.Errorf("finetune: %w at update %d: checkpoint saved in %s; rerun the same command to continue",
				checkpoint.ErrInterrupted, st.Update, filepath.Join(o.OutDir, checkpoint.Last))
		}
		epoch, k := (u-1)/perEpoch, (u-1)%perEpoch
		if epoch != orderEpoch {
			order = epochOrder(n, o.Seed, epoch)
			orderEpoch = epoch
		}
		batch := order[k*o.BatchSize : min((k+1)*o.BatchSize, n)]
		B := len(batch)
		for i, j := range batch {
			copy(ids[i*T:(i+1)*T], rows[j*T:(j+1)*T])
			if spec.Kind == Classification {
				labels[i] = targets[j]
			} else {
				startPos[i], endPos[i] = targets[2*j], targets[2*j+1]
			}
		}
		m.Body.ZeroGrad()
		for _, q := range m.HeadParams() {
			clear(q.Grad)
		}
		seed := splitmix.UpdateSeed(o.Seed, uint64(u))
		hidden, err := m.Body.Encode(ids[:B*T], B, true, seed)
		if err != nil {
			return nil, fmt.Errorf("finetune: update %d: %w", u, err)
		}
		var loss float64
		if m.Cls != nil {
			loss, err = m.Cls.Forward(hidden, B, T, labels[:B], true, seed^0xC1A55)
			if err == nil {
				err = m.Cls.Backward(dHidden[:B*T*C])
			}
		} else {
			loss, err = m.QA.Forward(hidden, B, T, startPos[:B], endPos[:B], true, seed^0xC1A55)
			if err == nil {
				err = m.QA.Backward(dHidden[:B*T*C])
			}
		}
		if err != nil {
			return nil, fmt.Errorf("finetune: update %d: %w", u, err)
		}
		if !optim.Finite(loss) {
			return nil, fmt.Errorf("finetune: update %d: loss is %v; training stopped (try a lower --lr)", u, loss)
		}
		if err := m.Body.BackwardHidden(dHidden[:B*T*C]); err != nil {
			return nil, fmt.Errorf("finetune: update %d: %w", u, err)
		}
		norm := optim.ClipGradNorm(trainable, o.ClipNorm)
		if !optim.Finite(norm) {
			return nil, fmt.Errorf("finetune: update %d: gradient norm is %v; training stopped", u, norm)
		}
		opt.Step(u)
		st.Update = u
		res.TrainLoss = loss
		tokens += int64(B * T)
		tps := float64(tokens) / max(time.Since(start).Seconds(), 1e-9)
		lr, _ := opt.LR("body", u)
		logRec(jsonl.Record{Update: u, Loss: new(loss), GradNorm: new(norm), LR: new(lr), TokensPerS: new(tps)})
		if err := metrics.Err(); err != nil {
			return nil, fmt.Errorf("finetune: metrics log: %w", err)
		}
		if bar != nil {
			bar.Update(float64(u), fmt.Sprintf("epoch %d | loss %.3f | lr %.2e | %.0f tok/s", epoch+1, loss, lr, tps))
		}
		endOfEpoch := k == perEpoch-1
		if endOfEpoch || (o.EvalEvery > 0 && u%o.EvalEvery == 0) {
			if err := evaluate(u); err != nil {
				return nil, err
			}
		}
		if u == total || endOfEpoch || (o.SaveEvery > 0 && u%o.SaveEvery == 0) {
			if err := save(checkpoint.Last, true); err != nil {
				return nil, err
			}
		}
	}
	if bar != nil {
		best := math.NaN()
		if st.BestDev != nil {
			best = *st.BestDev
		}
		bar.Finish(float64(st.Update), fmt.Sprintf("best dev %s %.2f at update %d", res.DevMetric, best, st.BestUpdate))
	}
	res.Updates = st.Update
	if st.BestDev != nil {
		res.BestDev, res.BestUpdate = *st.BestDev, st.BestUpdate
	}
	if d := time.Since(start).Seconds(); tokens > 0 {
		res.TokensPerSec = float64(tokens) / d
	}
	return res, nil
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
				return 0, fmt.Errorf("finetune: dev example %s (line %d): unknown label %q (labels %q)", ex.ID, ex.Line, ex.Label, m.Spec.Labels)
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

// resume loads OutDir/checkpoint-last when it exists and was written by the
// same run.
func resume(o Options, m *Model, opt *optim.AdamW, st *state, res *Result) error {
	dir, err := checkpoint.Resolve(filepath.Join(o.OutDir, checkpoint.Last))
	if err != nil {
		return nil
	}
	raw, err := checkpoint.LoadTrainer(dir)
	if err != nil {
		return fmt.Errorf("finetune: resume: %w", err)
	}
	var prev state
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("finetune: resume: %s/%s: %w", dir, checkpoint.TrainerFile, err)
	}
	if prev.Run != st.Run {
		return fmt.Errorf("finetune: %s was written by a run with other settings (%+v; this run: %+v): rerun with the same flags to resume it, or choose another --out",
			dir, prev.Run, st.Run)
	}
	if err := checkpoint.LoadParams(dir, m.Params()); err != nil {
		return fmt.Errorf("finetune: resume: %w", err)
	}
	if err := checkpoint.LoadOptimizer(dir, opt); err != nil {
		return fmt.Errorf("finetune: resume: %w", err)
	}
	*st = prev
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "finetune: resuming from %s at update %d\n", dir, st.Update)
	}
	return nil
}

// epochOrder is the order in which epoch e visits the n training sequences:
// a permutation that depends only on the seed and the epoch, so a resumed run
// sees the same batches.
func epochOrder(n int, seed uint64, epoch int) []int {
	r := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	return r.Perm(n)
}

// isLMHead reports whether a parameter belongs to the masked-LM head, which a
// task model neither uses nor saves.
func isLMHead(name string) bool { return strings.HasPrefix(name, "lm_head.") }
