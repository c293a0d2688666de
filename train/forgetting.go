package train

import "lethe/optim"

// forgetsAfter reports whether active forgetting re-draws the embeddings
// after update u: after every ForgetEvery updates, but not after the final
// one (it would only hand random embeddings to checkpoint-last).
func (o *Options) forgetsAfter(u int) bool {
	return o.ForgetEvery > 0 && u%o.ForgetEvery == 0 && u < o.Updates
}

// embeddingSchedule is the token embeddings' learning-rate schedule: the
// body's, or with forgetting the body's compressed into each episode of
// ForgetEvery updates.
func (o *Options) embeddingSchedule(body optim.Schedule) optim.Schedule {
	if o.ForgetEvery == 0 {
		return body
	}
	return optim.EpisodicSchedule{Base: body, Total: o.Updates, Episode: o.ForgetEvery}
}

// forgetSeed is the seed of the embeddings drawn after update u.
func forgetSeed(seed uint64, u int) uint64 { return stepSeed(seed^0x5EED0F0F, u) }

// endUpdate ends update u, after its validation and before checkpoint-last
// is saved: the forgetting reset, if one falls after u, then the
// AfterUpdate callback. Validation (and checkpoint-best) thus sees the
// model before the reset: right after a reset the embeddings are noise, and
// the best-validation checkpoint the forgetting arm hands over must be one
// whose embeddings were trained (the end of an episode).
func (r *run) endUpdate(u int) error {
	if r.o.forgetsAfter(u) {
		if err := r.forget(u); err != nil {
			return err
		}
	}
	if r.o.AfterUpdate != nil {
		r.o.AfterUpdate(u, r.loss)
	}
	return nil
}

// forget re-draws the token embeddings and restarts their Adam moments and
// step counter (their learning rate starts a new episode with it).
func (r *run) forget(u int) error {
	if r.probe != nil {
		r.probe(r, u, "before-reset")
	}
	r.model.ResetWordEmbeddings(forgetSeed(r.o.Seed, u))
	if err := r.opt.ResetGroup("embeddings"); err != nil {
		return err
	}
	if r.probe != nil {
		r.probe(r, u, "after-reset")
	}
	return nil
}
