package optim

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"lethe/nn"
)

func TestNoWeightDecay(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{"roberta.encoder.layer.0.attention.self.query.weight", false},
		{"roberta.encoder.layer.0.attention.self.query.bias", true},
		{"roberta.embeddings.LayerNorm.weight", true},
		{"roberta.embeddings.LayerNorm.bias", true},
		{"lm_head.layer_norm.weight", true},
		{"lm_head.bias", true},
		{"lm_head.dense.weight", false},
		{"roberta.embeddings.word_embeddings.weight", false},
		{"roberta.embeddings.position_embeddings.weight", false},
	}
	for _, c := range cases {
		if got := NoWeightDecay(c.name); got != c.want {
			t.Errorf("NoWeightDecay(%q) = %v, want %v", c.name, got, c.want)
		}
	}
}

// randParam makes a parameter with N(0,1) data and zero gradients.
func randParam(rng *rand.Rand, name string, shape ...int) *nn.Param {
	p := &nn.Param{Name: name, Shape: shape, RequiresGrad: true}
	n := p.Numel()
	p.Data = make([]float32, n)
	p.Grad = make([]float32, n)
	for i := range p.Data {
		p.Data[i] = float32(rng.NormFloat64())
	}
	return p
}

// scenario is a small model split like the forgetting arm: a body, the token embedding with an episodic
// schedule, and a frozen group.
type scenario struct {
	body, emb, frozen []*nn.Param
	bodySched         LinearSchedule
	embSched          EpisodicSchedule
}

func newScenario(seed uint64) *scenario {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &scenario{
		body: []*nn.Param{
			randParam(rng, "roberta.encoder.layer.0.attention.self.query.weight", 4, 5),
			randParam(rng, "roberta.encoder.layer.0.attention.self.query.bias", 5),
			randParam(rng, "roberta.encoder.layer.0.output.LayerNorm.weight", 5),
			randParam(rng, "lm_head.dense.weight", 3, 3),
		},
		emb:       []*nn.Param{randParam(rng, "roberta.embeddings.word_embeddings.weight", 7, 4)},
		frozen:    []*nn.Param{randParam(rng, "roberta.embeddings.position_embeddings.weight", 6, 4)},
		bodySched: LinearSchedule{Peak: 1e-2, WarmupUpdates: 3, Total: 12},
	}
	s.embSched = EpisodicSchedule{Base: s.bodySched, Total: 12, Episode: 4}
	return s
}

func (s *scenario) groups() []Group {
	return []Group{
		{Name: "body", Params: s.body, Schedule: s.bodySched, WeightDecay: 0.1},
		{Name: "embeddings", Params: s.emb, Schedule: s.embSched, WeightDecay: 0.1},
		{Name: "frozen", Params: s.frozen, Frozen: true},
	}
}

func (s *scenario) all() []*nn.Param {
	return append(append(append([]*nn.Param{}, s.body...), s.emb...), s.frozen...)
}

// gradsFor returns deterministic gradients for a parameter at an update, of varied magnitude.
func gradsFor(p *nn.Param, u int) []float32 {
	h := uint64(0)
	for _, c := range p.Name {
		h = h*31 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(h, uint64(u)))
	g := make([]float32, p.Numel())
	scale := math.Pow(10, float64(u%4)-2)
	for i := range g {
		g[i] = float32(rng.NormFloat64() * scale)
	}
	return g
}

// run performs updates from..to on s with o, resetting the embedding group after every 4th update.
func run(o *AdamW, s *scenario, from, to int) {
	for u := from; u <= to; u++ {
		for _, p := range s.all() {
			copy(p.Grad, gradsFor(p, u))
		}
		o.Step(u)
		if u%4 == 0 {
			if err := o.ResetGroup("embeddings"); err != nil {
				panic(err)
			}
		}
	}
}

func TestNewAdamWErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randParam(rng, "a.weight", 2)
	b := randParam(rng, "b.weight", 2)
	a2 := randParam(rng, "a.weight", 3)
	short := &nn.Param{Name: "short", Shape: []int{3}, Data: make([]float32, 3), Grad: make([]float32, 2)}
	sched := ConstantSchedule{Rate: 1}
	cases := []struct {
		name   string
		groups []Group
		b1     float64
		want   string
	}{
		{"param in two groups", []Group{{Name: "x", Params: []*nn.Param{a}, Schedule: sched}, {Name: "y", Params: []*nn.Param{b, a}, Schedule: sched}}, 0.9, `"a.weight" is in both group "x" and group "y"`},
		{"duplicate group", []Group{{Name: "x", Params: []*nn.Param{a}, Schedule: sched}, {Name: "x", Params: []*nn.Param{b}, Schedule: sched}}, 0.9, "duplicate parameter group"},
		{"duplicate name", []Group{{Name: "x", Params: []*nn.Param{a, a2}, Schedule: sched}}, 0.9, `two parameters named "a.weight"`},
		{"no schedule", []Group{{Name: "x", Params: []*nn.Param{a}}}, 0.9, "no schedule"},
		{"empty name", []Group{{Params: []*nn.Param{a}, Schedule: sched}}, 0.9, "empty name"},
		{"grad size", []Group{{Name: "x", Params: []*nn.Param{short}, Schedule: sched}}, 0.9, `"short"`},
		{"bad beta", []Group{{Name: "x", Params: []*nn.Param{a}, Schedule: sched}}, 1, "beta1"},
		{"bad decay", []Group{{Name: "x", Params: []*nn.Param{a}, Schedule: sched, WeightDecay: -1}}, 0.9, "weight decay"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewAdamW(c.groups, c.b1, 0.98, 1e-6)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want containing %q", err, c.want)
			}
		})
	}
	// A frozen group needs neither a schedule nor gradients.
	if _, err := NewAdamW([]Group{{Name: "f", Params: []*nn.Param{short}, Frozen: true}}, 0.9, 0.98, 1e-6); err != nil {
		t.Errorf("frozen group without schedule or gradients: %v", err)
	}
}

// refInput is the JSON read by testdata/adamw_ref.py.
type refInput struct {
	Beta1   float64                `json:"beta1"`
	Beta2   float64                `json:"beta2"`
	Eps     float64                `json:"eps"`
	Updates int                    `json:"updates"`
	Groups  []refGroup             `json:"groups"`
	Grads   map[string][][]float32 `json:"grads"`
}

type refGroup struct {
	Name        string         `json:"name"`
	Frozen      bool           `json:"frozen"`
	WeightDecay float64        `json:"weight_decay"`
	Schedule    map[string]any `json:"schedule"`
	ResetAfter  []int          `json:"reset_after"`
	Params      []refParam     `json:"params"`
}

type refParam struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

// TestAdamWMatchesTorch runs torch.optim.AdamW (with the embedding's moments and step zeroed after every 4th
// update, as AdamEF does) and this AdamW on the same parameters and gradients, and compares parameters,
// moments and steps.
func TestAdamWMatchesTorch(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	const updates = 11
	s := newScenario(42)
	in := refInput{Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, Updates: updates, Grads: map[string][][]float32{}}
	sched := func(episode int) map[string]any {
		return map[string]any{"peak": s.bodySched.Peak, "warmup": s.bodySched.WarmupUpdates, "total": s.bodySched.Total, "episode": episode}
	}
	for _, g := range s.groups() {
		rg := refGroup{Name: g.Name, Frozen: g.Frozen, WeightDecay: g.WeightDecay, Schedule: sched(0)}
		if g.Name == "embeddings" {
			rg.Schedule = sched(s.embSched.Episode)
			rg.ResetAfter = []int{4, 8}
		}
		for _, p := range g.Params {
			rg.Params = append(rg.Params, refParam{p.Name, p.Shape, append([]float32(nil), p.Data...)})
			for u := 1; u <= updates; u++ {
				in.Grads[p.Name] = append(in.Grads[p.Name], gradsFor(p, u))
			}
		}
		in.Groups = append(in.Groups, rg)
	}
	js, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "testdata/adamw_ref.py")
	cmd.Stdin = bytes.NewReader(js)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Skip("torch is not installed for /usr/bin/python3")
	}
	if err != nil {
		t.Fatalf("reference: %v\n%s", err, stderr.String())
	}
	var ref struct {
		Params   map[string][]float64 `json:"params"`
		ExpAvg   map[string][]float64 `json:"exp_avg"`
		ExpAvgSq map[string][]float64 `json:"exp_avg_sq"`
		Steps    map[string]int       `json:"steps"`
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatalf("reference output: %v", err)
	}

	o, err := NewAdamW(s.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	frozenBefore := append([]float32(nil), s.frozen[0].Data...)
	run(o, s, 1, updates)

	var worst float64
	cmp := func(what, name string, got []float32, want []float64, floor float64) {
		if len(got) != len(want) {
			t.Fatalf("%s %s: %d values, reference %d", what, name, len(got), len(want))
		}
		for i := range got {
			d := math.Abs(float64(got[i]) - want[i])
			rel := d / math.Max(math.Abs(want[i]), floor)
			worst = math.Max(worst, rel)
			if rel > 1e-6 {
				t.Errorf("%s %s[%d] = %v, torch %v (relative %.2g)", what, name, i, got[i], want[i], rel)
			}
		}
	}
	st := o.State()
	for _, g := range st.Groups {
		if !g.Frozen && ref.Steps[g.Name] != g.Step {
			t.Errorf("group %s step %d, torch %d", g.Name, g.Step, ref.Steps[g.Name])
		}
		for _, ps := range g.Params {
			// Moments are compared relative to their own scale: squares of gradients of 1e-2 are 1e-4.
			cmp("exp_avg", ps.Name, ps.ExpAvg, ref.ExpAvg[ps.Name], 1e-6)
			cmp("exp_avg_sq", ps.Name, ps.ExpAvgSq, ref.ExpAvgSq[ps.Name], 1e-10)
		}
	}
	for _, p := range s.all() {
		cmp("param", p.Name, p.Data, ref.Params[p.Name], 1e-3)
	}
	for i := range frozenBefore {
		if math.Float32bits(frozenBefore[i]) != math.Float32bits(s.frozen[0].Data[i]) {
			t.Fatalf("frozen parameter changed at %d", i)
		}
	}
	t.Logf("worst relative difference from torch.optim.AdamW: %.3g", worst)
}

func TestFrozenGroupBitIdentical(t *testing.T) {
	s := newScenario(3)
	// Give the frozen parameter non-zero gradients: they must be ignored.
	before := append([]float32(nil), s.frozen[0].Data...)
	o, err := NewAdamW(s.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	run(o, s, 1, 6)
	for i, v := range s.frozen[0].Data {
		if math.Float32bits(v) != math.Float32bits(before[i]) {
			t.Fatalf("frozen data changed at %d: %v -> %v", i, before[i], v)
		}
	}
	if st, _ := o.GroupStep("frozen"); st != 0 {
		t.Errorf("frozen group step %d, want 0", st)
	}
	if lr, _ := o.LR("frozen", 3); lr != 0 {
		t.Errorf("frozen LR %v, want 0", lr)
	}
	for _, g := range o.State().Groups {
		if g.Name == "frozen" && (len(g.Params) != 0 || !g.Frozen) {
			t.Errorf("frozen group state %+v has moments", g)
		}
	}
	if len(o.byName["frozen"].m) != 0 {
		t.Error("frozen group has moments allocated")
	}
}

func TestResetGroup(t *testing.T) {
	const lr = 1e-3
	mk := func() (*nn.Param, *nn.Param, *AdamW) {
		rng := rand.New(rand.NewPCG(9, 9))
		e := randParam(rng, "roberta.embeddings.word_embeddings.weight", 3, 4)
		b := randParam(rng, "body.weight", 6)
		o, err := NewAdamW([]Group{
			{Name: "emb", Params: []*nn.Param{e}, Schedule: ConstantSchedule{Rate: lr}},
			{Name: "body", Params: []*nn.Param{b}, Schedule: ConstantSchedule{Rate: lr}},
		}, 0.9, 0.98, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		return e, b, o
	}
	e, b, o := mk()
	for u := 1; u <= 5; u++ {
		copy(e.Grad, gradsFor(e, u))
		copy(b.Grad, gradsFor(b, u))
		o.Step(u)
	}
	bodyM := append([]float32(nil), o.byName["body"].m[0]...)
	if err := o.ResetGroup("emb"); err != nil {
		t.Fatal(err)
	}
	if st, _ := o.GroupStep("emb"); st != 0 {
		t.Errorf("step after reset %d", st)
	}
	if st, _ := o.GroupStep("body"); st != 5 {
		t.Errorf("body step %d, want 5 (untouched by the embedding reset)", st)
	}
	for i, v := range o.byName["emb"].m[0] {
		if v != 0 || o.byName["emb"].v[0][i] != 0 {
			t.Fatal("moments not zeroed")
		}
	}
	for i, v := range o.byName["body"].m[0] {
		if v != bodyM[i] {
			t.Fatal("body moments changed by the embedding reset")
		}
	}
	// The first update after the reset equals a first-ever update (same gradients, no weight decay): each
	// element moves by lr*g/(|g|+eps), about lr.
	g := gradsFor(e, 100)
	eBefore := append([]float32(nil), e.Data...)
	copy(e.Grad, g)
	clear(b.Grad)
	o.Step(6)
	e2, _, fresh := mk()
	before2 := append([]float32(nil), e2.Data...)
	copy(e2.Grad, g)
	fresh.Step(1)
	for i := range g {
		d1 := eBefore[i] - e.Data[i]
		d2 := before2[i] - e2.Data[i]
		if math.Abs(float64(d1-d2)) > 1e-9 {
			t.Errorf("update after reset %v, first-ever update %v", d1, d2)
		}
		if math.Abs(math.Abs(float64(d1))-lr) > 1e-4*lr*100 {
			t.Errorf("update after reset %v, want magnitude ~%v", d1, lr)
		}
	}
	if err := o.ResetGroup("nope"); err == nil {
		t.Error("ResetGroup of an unknown group succeeded")
	}
	if _, err := o.GroupStep("nope"); err == nil {
		t.Error("GroupStep of an unknown group succeeded")
	}
}

// splitFor is a ForFunc that runs fn on 3 chunks concurrently, like a parallel.Pool would.
func splitFor(n int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	for c := 0; c < 3; c++ {
		lo, hi := c*n/3, (c+1)*n/3
		wg.Add(1)
		go func() { defer wg.Done(); fn(lo, hi) }()
	}
	wg.Wait()
}

func bitsEqual(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: lengths %d and %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s[%d]: %v != %v", what, i, a[i], b[i])
		}
	}
}

// TestResumeBitIdentical interrupts a run, restores State into a fresh optimizer over fresh copies of the
// parameters, and checks that the result is bit-identical to the uninterrupted run; the split (parallel)
// update must also agree bit for bit with the serial one.
func TestResumeBitIdentical(t *testing.T) {
	straight := newScenario(5)
	o1, err := NewAdamW(straight.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	run(o1, straight, 1, 10)

	part := newScenario(5)
	o2, err := NewAdamW(part.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	o2.SetFor(splitFor)
	run(o2, part, 1, 6)
	saved := o2.State()
	// "Restart": new parameter objects holding the saved data, a new optimizer, the saved state.
	resumed := newScenario(5)
	for i, p := range resumed.all() {
		copy(p.Data, part.all()[i].Data)
	}
	o3, err := NewAdamW(resumed.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if err := o3.SetState(saved); err != nil {
		t.Fatal(err)
	}
	run(o3, resumed, 7, 10)
	for i, p := range straight.all() {
		bitsEqual(t, p.Name, p.Data, resumed.all()[i].Data)
	}
	s1, s3 := o1.State(), o3.State()
	for gi := range s1.Groups {
		if s1.Groups[gi].Step != s3.Groups[gi].Step {
			t.Errorf("group %s step %d vs %d", s1.Groups[gi].Name, s1.Groups[gi].Step, s3.Groups[gi].Step)
		}
		for pi := range s1.Groups[gi].Params {
			bitsEqual(t, "exp_avg", s1.Groups[gi].Params[pi].ExpAvg, s3.Groups[gi].Params[pi].ExpAvg)
			bitsEqual(t, "exp_avg_sq", s1.Groups[gi].Params[pi].ExpAvgSq, s3.Groups[gi].Params[pi].ExpAvgSq)
		}
	}
	if st, _ := o3.GroupStep("embeddings"); st != 2 {
		t.Errorf("embedding step after 10 updates with resets at 4 and 8: %d, want 2", st)
	}
	if st, _ := o3.GroupStep("body"); st != 10 {
		t.Errorf("body step %d, want 10", st)
	}
}

func TestSetStateErrors(t *testing.T) {
	s := newScenario(8)
	o, err := NewAdamW(s.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	run(o, s, 1, 2)
	good := o.State()
	mut := func(f func(st *State)) State {
		st := o.State()
		f(&st)
		return st
	}
	cases := []struct {
		name string
		st   State
		want string
	}{
		{"eps", mut(func(st *State) { st.Eps = 1e-8 }), "eps"},
		{"unknown group", mut(func(st *State) { st.Groups = append(st.Groups, GroupState{Name: "zzz"}) }), `group "zzz"`},
		{"missing group", mut(func(st *State) { st.Groups = st.Groups[1:] }), `lacks group "body"`},
		{"missing param", mut(func(st *State) { st.Groups[0].Params[1].Name = "other" }), "lacks the moments"},
		{"short moments", mut(func(st *State) { st.Groups[1].Params[0].ExpAvg = st.Groups[1].Params[0].ExpAvg[1:] }), "moments of"},
		{"negative step", mut(func(st *State) { st.Groups[0].Step = -1 }), "negative step"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := o.SetState(c.st)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want containing %q", err, c.want)
			}
			// Unchanged on error.
			now := o.State()
			for gi := range good.Groups {
				if now.Groups[gi].Step != good.Groups[gi].Step {
					t.Fatal("failed SetState changed a step")
				}
				for pi := range good.Groups[gi].Params {
					bitsEqual(t, "exp_avg", now.Groups[gi].Params[pi].ExpAvg, good.Groups[gi].Params[pi].ExpAvg)
				}
			}
		})
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	s := newScenario(11)
	o, err := NewAdamW(s.groups(), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	serialSplit := func(n int, fn func(lo, hi int)) {
		fn(0, n/2)
		fn(n/2, n)
	}
	o.SetFor(serialSplit)
	u := 0
	if a := testing.AllocsPerRun(20, func() { u++; o.Step(u) }); a != 0 {
		t.Errorf("Step allocates %v times per call", a)
	}
}

// The update kernel split at every possible point gives the same bits as one range.
func TestSplitPoints(t *testing.T) {
	for cut := 0; cut <= 20+5+5+9; cut += 3 {
		a, b := newScenario(13), newScenario(13)
		oa, _ := NewAdamW(a.groups(), 0.9, 0.98, 1e-6)
		ob, _ := NewAdamW(b.groups(), 0.9, 0.98, 1e-6)
		ob.SetFor(func(n int, fn func(lo, hi int)) {
			c := min(cut, n)
			fn(c, n)
			fn(0, c)
		})
		run(oa, a, 1, 3)
		run(ob, b, 1, 3)
		for i, p := range a.all() {
			bitsEqual(t, p.Name, p.Data, b.all()[i].Data)
		}
	}
}
