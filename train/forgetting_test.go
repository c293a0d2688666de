package train

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"lethe/checkpoint"
	"lethe/optim"
)

// snapshot is a deep copy of what a forgetting reset may or may not touch.
type snapshot struct {
	params map[string][]float32
	state  optim.State
}

func takeSnapshot(r *run) snapshot {
	s := snapshot{params: map[string][]float32{}}
	for _, p := range r.model.Params.All() {
		s.params[p.Name] = slices.Clone(p.Data)
	}
	st := r.opt.State()
	s.state = optim.State{Beta1: st.Beta1, Beta2: st.Beta2, Eps: st.Eps}
	for _, g := range st.Groups {
		c := optim.GroupState{Name: g.Name, Step: g.Step, Frozen: g.Frozen}
		for _, p := range g.Params {
			c.Params = append(c.Params, optim.ParamState{Name: p.Name, ExpAvg: slices.Clone(p.ExpAvg), ExpAvgSq: slices.Clone(p.ExpAvgSq)})
		}
		s.state.Groups = append(s.state.Groups, c)
	}
	return s
}

func group(s optim.State, name string) optim.GroupState {
	for _, g := range s.Groups {
		if g.Name == name {
			return g
		}
	}
	return optim.GroupState{}
}

// readMetrics returns the per-update records of a run's metrics.jsonl.
func readMetrics(t *testing.T, dir string) (updates, valids []map[string]any) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, checkpoint.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["valid_loss"]; ok {
			valids = append(valids, m)
		} else {
			updates = append(updates, m)
		}
	}
	return updates, valids
}

// linearLR is the body's schedule written out independently of optim:
// linear warm-up to peak over warmup updates, then linear decay to 0 at total.
func linearLR(u, warmup, total int, peak float64) float64 {
	if u <= warmup {
		return peak * float64(u) / float64(warmup)
	}
	return peak * float64(total-u) / float64(total-warmup)
}

// TestForgettingRules pins every rule of forgetting as the authors' code does it
// on a real (tiny) run: which updates reset, what a reset changes and what it
// must leave bit-identical, the optimizer state after it, and both learning
// rates at every update.
func TestForgettingRules(t *testing.T) {
	const K, T, warmup = 4, 12, 3
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	o.Updates, o.WarmupUpdates, o.ForgetEvery, o.ClipNorm = T, warmup, K, 0.5
	o.Config.HiddenDropoutProb, o.Config.AttentionProbsDropoutProb = 0.1, 0.1

	var resets []int
	var before snapshot
	preReset := map[int]float64{} // validation loss of the model just before each reset
	probe := func(r *run, u int, when string) {
		if when == "before-reset" {
			before = takeSnapshot(r)
			loss, _, err := maskedLMScore(r.model, r.valid, r.o.BatchSize, r.mask, r.o.Seed, r.o.ValidBatches)
			if err != nil {
				t.Fatal(err)
			}
			preReset[u] = loss
			return
		}
		resets = append(resets, u)
		after := takeSnapshot(r)
		emb := r.model.Params.WordEmb
		for name, old := range before.params {
			changed := !slices.Equal(old, after.params[name])
			if name == emb.Name {
				if !changed {
					t.Errorf("update %d: the token embeddings were not re-drawn", u)
				}
				continue
			}
			if changed {
				t.Errorf("update %d: reset changed %s; only the token embeddings may change", u, name)
			}
		}
		// The fresh draw: N(0, 0.02) with the padding row zero.
		C, pad := r.model.Config.HiddenSize, r.model.Config.PadTokenID
		var sum, sq float64
		for i, v := range emb.Data {
			if i/C == pad {
				if v != 0 {
					t.Fatalf("update %d: padding row of the new embeddings is not zero", u)
				}
				continue
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(len(emb.Data) - C)
		if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-0.02) > 0.002 {
			t.Errorf("update %d: new embeddings have std %.4f, want 0.02", u, std)
		}
		eb, ea := group(before.state, "embeddings"), group(after.state, "embeddings")
		bb, ba := group(before.state, "body"), group(after.state, "body")
		if eb.Step != u-resetsBefore(resets) || ea.Step != 0 {
			t.Errorf("update %d: embedding step counter %d -> %d, want %d -> 0", u, eb.Step, ea.Step, u-resetsBefore(resets))
		}
		for _, p := range ea.Params {
			for _, m := range [][]float32{p.ExpAvg, p.ExpAvgSq} {
				for _, v := range m {
					if v != 0 {
						t.Fatalf("update %d: embedding moment of %s not zeroed", u, p.Name)
					}
				}
			}
		}
		if bb.Step != ba.Step || ba.Step != u {
			t.Errorf("update %d: body step %d -> %d, want %d unchanged", u, bb.Step, ba.Step, u)
		}
		for i := range bb.Params {
			if !slices.Equal(bb.Params[i].ExpAvg, ba.Params[i].ExpAvg) || !slices.Equal(bb.Params[i].ExpAvgSq, ba.Params[i].ExpAvgSq) {
				t.Errorf("update %d: reset changed the body's moments of %s", u, bb.Params[i].Name)
			}
		}
	}
	res, err := pretrain(context.Background(), o, probe)
	if err != nil {
		t.Fatal(err)
	}
	// Resets after updates K and 2K; none at update 0, none between, and
	// none after the final update T (it would only hand random embeddings to
	// checkpoint-last).
	if !slices.Equal(resets, []int{4, 8}) {
		t.Errorf("resets after updates %v, want [4 8]", resets)
	}
	updates, valids := readMetrics(t, o.OutDir)
	if len(updates) != T {
		t.Fatalf("%d update records, want %d", len(updates), T)
	}
	for _, m := range updates {
		u := int(m["update"].(float64))
		if forgot := m["forgot"].(bool); forgot != slices.Contains(resets, u) {
			t.Errorf("update %d: metrics say forgot=%v", u, forgot)
		}
		body := linearLR(u, warmup, T, o.PeakLR)
		// lr_emb(u) = sched((u * (T/K)) mod T)
		emb := linearLR((u*(T/K))%T, warmup, T, o.PeakLR)
		if got := m["lr"].(float64); math.Abs(got-body) > 1e-15 {
			t.Errorf("update %d: body lr %g, want %g", u, got, body)
		}
		if got := m["lr_embeddings"].(float64); math.Abs(got-emb) > 1e-15 {
			t.Errorf("update %d: embedding lr %g, want %g", u, got, emb)
		}
		if g := m["grad_norm"].(float64); !(g > 0) {
			t.Errorf("update %d: grad norm %v", u, g)
		}
	}
	// Updates 4, 8 and 12 close an episode (embedding LR 0); 5 and 9 start one.
	for _, u := range []int{4, 8, 12} {
		if lr := updates[u-1]["lr_embeddings"].(float64); lr != 0 {
			t.Errorf("update %d ends an episode but the embedding lr is %g", u, lr)
		}
	}
	// A validation at a reset update scores the model before the reset (its
	// embeddings trained for a whole episode), not the fresh noise after it.
	for _, v := range valids {
		u := int(v["update"].(float64))
		if want, ok := preReset[u]; ok && v["valid_loss"].(float64) != want {
			t.Errorf("update %d: validation loss %v, but the model before the reset scores %v", u, v["valid_loss"], want)
		}
	}
	if len(preReset) != 2 {
		t.Errorf("validated before %d resets, want 2", len(preReset))
	}
	// The best-validation checkpoint sits beside the last one, from the
	// validation with the lowest loss.
	best := math.Inf(1)
	for _, v := range valids {
		best = min(best, v["valid_loss"].(float64))
	}
	if res.BestValidLoss != best {
		t.Errorf("best valid loss %g, metrics say %g", res.BestValidLoss, best)
	}
	for _, d := range []string{checkpoint.Best, checkpoint.Last} {
		if _, err := os.Stat(filepath.Join(o.OutDir, d, "model.safetensors")); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// resetsBefore is the update of the reset before the last one in r (0 if none):
// the embedding step counter counts from there.
func resetsBefore(r []int) int {
	if len(r) < 2 {
		return 0
	}
	return r[len(r)-2]
}

// TestStandardArmNeverResets: with ForgetEvery 0 the embeddings follow the
// body's schedule and are never re-drawn.
func TestStandardArmNeverResets(t *testing.T) {
	data := makeData(t)
	o := tinyOptions(t, data, t.TempDir())
	probe := func(r *run, u int, when string) { t.Errorf("reset at update %d in the standard arm", u) }
	if _, err := pretrain(context.Background(), o, probe); err != nil {
		t.Fatal(err)
	}
	updates, _ := readMetrics(t, o.OutDir)
	for _, m := range updates {
		if m["forgot"].(bool) || m["lr"].(float64) != m["lr_embeddings"].(float64) {
			t.Errorf("standard arm, update %v: forgot=%v lr=%v lr_embeddings=%v", m["update"], m["forgot"], m["lr"], m["lr_embeddings"])
		}
	}
}
