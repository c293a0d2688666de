package optim

// Schedule gives the learning rate of a parameter group for a global update number. Update numbers are
// 1-based: the first optimizer step of a run is update 1.
type Schedule interface {
	LR(update int) float64
}

// LinearSchedule is fairseq's polynomial_decay schedule with power 1 and end learning rate 0, as used to
// pretrain RoBERTa: the rate rises linearly from 0 to Peak over the first WarmupUpdates updates (LR(WarmupUpdates) = Peak),
// then falls linearly to 0 at update Total, and stays 0 after. WarmupUpdates 0 starts at Peak.
//
// fairseq evaluates the formula at the number of updates already done (update u runs at poly(u-1), except
// update 1, which runs at poly(1)), so this schedule runs one update ahead of fairseq's; the difference is
// one update's worth of warmup or decay.
type LinearSchedule struct {
	Peak                 float64
	WarmupUpdates, Total int
}

// LR returns the learning rate for update u.
func (s LinearSchedule) LR(u int) float64 {
	switch {
	case u < 0:
		return 0
	case s.WarmupUpdates > 0 && u <= s.WarmupUpdates:
		return s.Peak * float64(u) / float64(s.WarmupUpdates)
	case u >= s.Total:
		return 0
	default:
		return s.Peak * float64(s.Total-u) / float64(s.Total-s.WarmupUpdates)
	}
}

// ConstantSchedule is a fixed learning rate (task fine-tuning uses a constant 1e-5 for NLI).
type ConstantSchedule struct {
	Rate float64
}

// LR returns the constant rate, whatever the update.
func (s ConstantSchedule) LR(int) float64 { return s.Rate }

// EpisodicSchedule is the active-forgetting schedule of the token embeddings: Base (the body's schedule over
// Total updates) compressed into each Episode-update episode between embedding resets, so that the fresh
// embeddings warm up and decay once per episode. As in the official code (speed = max_update // K), the
// schedule index is (u * (Total / Episode)) mod Total with integer division: update u = k*Episode, the last
// before a reset, gets Base.LR(0) (0 for a warmed-up LinearSchedule), and update k*Episode + 1 starts the next
// warmup.
type EpisodicSchedule struct {
	Base           Schedule
	Total, Episode int
}

// LR returns Base.LR at the compressed index of update u; an invalid schedule (Episode or Total not positive)
// behaves as Base.
func (s EpisodicSchedule) LR(u int) float64 {
	if s.Episode <= 0 || s.Total <= 0 {
		return s.Base.LR(u)
	}
	speed := s.Total / s.Episode
	if speed < 1 {
		speed = 1
	}
	idx := (u % s.Total) * speed % s.Total // u*speed mod Total without overflow for huge u
	if idx < 0 {
		idx += s.Total
	}
	return s.Base.LR(idx)
}
