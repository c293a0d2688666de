package train

import (
	"context"
	"fmt"
	"math"

	"lethe/dataset"
	"lethe/internal/jsonl"
	"lethe/internal/splitmix"
	"lethe/optim"
	"lethe/roberta"
)

// stepSeed is the dropout seed of update u: a function of the run's seed and
// u only, so a resumed run draws the same masks.
func stepSeed(seed uint64, u int) uint64 { return splitmix.UpdateSeed(seed, uint64(u)) }

// forward draws the next masked batch and computes its masked-LM loss with
// dropout.
func (r *run) forward(u int) (loss float64, tokens int, err error) {
	r.loader.Next(&r.batch)
	r.model.ZeroGrad()
	r.loss, r.correct, r.masked, err = r.model.Forward(r.batch.InputIDs, r.batch.Labels, r.batch.B, true, stepSeed(r.o.Seed, u))
	return r.loss, r.batch.B * r.batch.T, err
}

// backward computes the gradients and clips their global norm.
func (r *run) backward(int) (gradNorm float64, err error) {
	if err := r.model.Backward(); err != nil {
		return 0, err
	}
	return optim.ClipGradNorm(r.params, r.o.ClipNorm), nil
}

// record adds to update u's metrics record the masked accuracy, both
// learning rates, whether the embeddings are reset after it and the tokens
// seen, and advances the data position and token count saved with the run.
func (r *run) record(u int, rec *jsonl.Record) string {
	r.state.Data = r.loader.Position()
	r.state.TokensSeen += int64(r.batch.B * r.batch.T)
	r.acc = float64(r.correct) / float64(max(r.masked, 1))
	bodyLR, _ := r.opt.LR("body", u)
	embLR, _ := r.opt.LR("embeddings", u)
	rec.MaskedAcc, rec.LR, rec.LREmbeddings = new(r.acc), new(bodyLR), new(embLR)
	rec.Forgot, rec.TokensSeen = new(r.o.forgetsAfter(u)), new(r.state.TokensSeen)
	shown := bodyLR
	if r.o.Stage == StageLanguage {
		shown = embLR // the body is frozen: its rate is 0
	}
	return fmt.Sprintf("loss %.3f | acc %.1f%% | lr %.2e | %.0f tok/s", r.loss, 100*r.acc, shown, *rec.TokensPerS)
}

// finished is the progress line's text at the end of the run.
func (r *run) finished() string {
	return fmt.Sprintf("loss %.3f | acc %.1f%%", r.loss, 100*r.acc)
}

// validate measures the loss and accuracy on the validation file twice: with
// RoBERTa's 80/10/10 corruption and with every chosen position shown as
// <mask> (the 80/10/10 loss flatters weak models, which lower it by copying).
// Its score, the 80/10/10 loss, is NaN when the file has no masked token.
func (r *run) validate(context.Context, int) (float64, jsonl.Record, error) {
	s, err := maskedLMScores(r.model, r.valid, r.o.BatchSize, r.mask, r.o.Seed, r.o.ValidBatches)
	if err != nil {
		return 0, jsonl.Record{}, err
	}
	r.validLoss = s.Loss
	if math.IsNaN(s.Loss) { // no masked token in the validation file (too small)
		return s.Loss, jsonl.Record{ValidError: "no masked tokens in " + r.o.ValidFile}, nil
	}
	return s.Loss, jsonl.Record{ValidLoss: new(s.Loss), ValidAcc: new(s.Acc), ValidMaskOnlyLoss: new(s.MaskOnlyLoss), ValidMaskOnlyAcc: new(s.MaskOnlyAcc)}, nil
}

// maskedLMScores scores model on seqs twice, on the same chosen positions:
// with mask's corruption (RoBERTa's 80/10/10) and mask-only.
func maskedLMScores(model *roberta.Model, seqs *dataset.Sequences, batch int, mask dataset.MaskConfig, seed uint64, maxBatches int) (MLMScores, error) {
	s := MLMScores{Sequences: seqs.Len()}
	var err error
	if s.Loss, s.Acc, err = maskedLMScore(model, seqs, batch, mask, seed, maxBatches); err != nil {
		return MLMScores{}, err
	}
	mask.MaskOnly = true
	if s.MaskOnlyLoss, s.MaskOnlyAcc, err = maskedLMScore(model, seqs, batch, mask, seed, maxBatches); err != nil {
		return MLMScores{}, err
	}
	return s, nil
}

// maskedLMScore is the mean loss per chosen token and the accuracy of model
// over seqs in batches of batch, the positions chosen by seed, at most
// maxBatches batches (0: all); NaN when no token was chosen.
func maskedLMScore(model *roberta.Model, seqs *dataset.Sequences, batch int, mask dataset.MaskConfig, seed uint64, maxBatches int) (loss, acc float64, err error) {
	it, err := dataset.NewEvalIter(seqs, batch, mask, seed)
	if err != nil {
		return 0, 0, err
	}
	var b dataset.Batch
	var sum float64
	var correct, count int
	for n := 0; it.Next(&b); n++ {
		if maxBatches > 0 && n >= maxBatches {
			break
		}
		l, c, m, err := model.Forward(b.InputIDs, b.Labels, b.B, false, 0)
		if err != nil {
			return 0, 0, err
		}
		if m == 0 {
			continue
		}
		sum += l * float64(m)
		correct += c
		count += m
	}
	if count == 0 {
		return math.NaN(), math.NaN(), nil
	}
	return sum / float64(count), float64(correct) / float64(count), nil
}
