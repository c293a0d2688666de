package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"lethe/nn"
	"lethe/optim"
	"lethe/safetensors"
)

// testConfig stands in for roberta.Config.
type testConfig struct {
	VocabSize  int     `json:"vocab_size"`
	HiddenSize int     `json:"hidden_size"`
	LayerNorm  float64 `json:"layer_norm_eps"`
}

// model is a tiny parameter set under Hugging Face names, including the tied decoder weight.
type model struct {
	emb, body, bias, decoder *nn.Param
}

func newModel(seed uint64) *model {
	rng := rand.New(rand.NewPCG(seed, 1))
	mk := func(name string, shape ...int) *nn.Param {
		p := &nn.Param{Name: name, Shape: shape, RequiresGrad: true}
		p.Data = make([]float32, p.Numel())
		p.Grad = make([]float32, p.Numel())
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64())
		}
		return p
	}
	m := &model{
		emb:  mk("roberta.embeddings.word_embeddings.weight", 6, 4),
		body: mk("roberta.encoder.layer.0.output.dense.weight", 4, 4),
		bias: mk("lm_head.bias", 6),
	}
	// The decoder shares the embedding's storage, as a tied head does.
	m.decoder = &nn.Param{Name: "lm_head.decoder.weight", Shape: []int{6, 4}, Data: m.emb.Data, Grad: m.emb.Grad, RequiresGrad: true}
	return m
}

func (m *model) params() []*nn.Param { return []*nn.Param{m.emb, m.body, m.bias, m.decoder} }

func (m *model) optimizer(t *testing.T) *optim.AdamW {
	t.Helper()
	o, err := optim.NewAdamW([]optim.Group{
		{Name: "body", Params: []*nn.Param{m.body, m.bias}, Schedule: optim.LinearSchedule{Peak: 1e-2, WarmupUpdates: 2, Total: 20}, WeightDecay: 0.01},
		{Name: "embeddings", Params: []*nn.Param{m.emb}, Schedule: optim.ConstantSchedule{Rate: 1e-3}, WeightDecay: 0.01},
	}, 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// train takes updates from..to with deterministic gradients.
func (m *model) train(o *optim.AdamW, from, to int) {
	for u := from; u <= to; u++ {
		for k, p := range []*nn.Param{m.emb, m.body, m.bias} {
			for i := range p.Grad {
				p.Grad[i] = float32(math.Sin(float64(u*131 + k*17 + i)))
			}
		}
		o.Step(u)
		if u == 3 {
			o.ResetGroup("embeddings")
		}
	}
}

func bitsEqual(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d values, want %d", what, len(a), len(b))
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, a[i], b[i])
		}
	}
}

var cfg = testConfig{VocabSize: 6, HiddenSize: 4, LayerNorm: 1e-5}

// saved trains a model for 5 updates and saves it with optimizer and trainer state.
func saved(t *testing.T, dir string) (*model, *optim.AdamW) {
	t.Helper()
	m := newModel(1)
	o := m.optimizer(t)
	m.train(o, 1, 5)
	err := Save(dir, &Checkpoint{Config: cfg, Params: m.params(), Optimizer: o, Trainer: json.RawMessage(`{"step":5,"rng":[1,2]}`),
		Files: map[string][]byte{"sentencepiece.model": []byte("spm")}})
	if err != nil {
		t.Fatal(err)
	}
	return m, o
}

func TestRoundTripAndResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	m, o := saved(t, dir)

	// Hugging Face layout: tied decoder not written, format metadata, config with model_type.
	f, err := safetensors.Read(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lm_head.bias", "roberta.embeddings.word_embeddings.weight", "roberta.encoder.layer.0.output.dense.weight"}; !reflect.DeepEqual(f.Names(), want) {
		t.Errorf("model tensors %v, want %v", f.Names(), want)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v, want format pt", f.Metadata)
	}
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(data, &raw); err != nil || raw["model_type"] != "roberta" || raw["vocab_size"] != 6.0 {
		t.Errorf("config.json %s (%v)", data, err)
	}
	var back testConfig
	if err := LoadConfig(dir, &back); err != nil || back != cfg {
		t.Errorf("LoadConfig %+v %v", back, err)
	}
	tr, err := LoadTrainer(dir)
	if err != nil || string(tr) != `{"step":5,"rng":[1,2]}` {
		t.Errorf("LoadTrainer %s %v", tr, err)
	}
	if b, err := LoadFile(dir, "sentencepiece.model"); err != nil || string(b) != "spm" {
		t.Errorf("LoadFile %q %v", b, err)
	}

	// Fresh model and optimizer, loaded: bit-exact parameters and state.
	m2 := newModel(99)
	o2 := m2.optimizer(t)
	if err := LoadParams(dir, m2.params()); err != nil {
		t.Fatal(err)
	}
	if err := LoadOptimizer(dir, o2); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.params() {
		bitsEqual(t, p.Name, m2.params()[i].Data, p.Data)
	}
	s1, s2 := o.State(), o2.State()
	for gi := range s1.Groups {
		if s1.Groups[gi].Step != s2.Groups[gi].Step {
			t.Errorf("group %s step %d, want %d", s1.Groups[gi].Name, s2.Groups[gi].Step, s1.Groups[gi].Step)
		}
		for pi := range s1.Groups[gi].Params {
			bitsEqual(t, "exp_avg", s2.Groups[gi].Params[pi].ExpAvg, s1.Groups[gi].Params[pi].ExpAvg)
			bitsEqual(t, "exp_avg_sq", s2.Groups[gi].Params[pi].ExpAvgSq, s1.Groups[gi].Params[pi].ExpAvgSq)
		}
	}
	// Resuming continues bit-identically.
	m.train(o, 6, 9)
	m2.train(o2, 6, 9)
	for i, p := range m.params() {
		bitsEqual(t, "resumed "+p.Name, m2.params()[i].Data, p.Data)
	}
	// Only the checkpoint directory is left in the parent.
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries, want 1", len(ents))
	}
	// Overwriting works and replaces.
	if err := Save(dir, &Checkpoint{Config: cfg, Params: m.params()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, OptimizerFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale optimizer file after a save without optimizer: %v", err)
	}
	if tr, err := LoadTrainer(dir); tr != nil || err != nil {
		t.Errorf("LoadTrainer without trainer state: %s %v", tr, err)
	}
}

// writeModel replaces model.safetensors of dir with the given tensors.
func writeModel(t *testing.T, dir string, tensors ...safetensors.Tensor) {
	t.Helper()
	if err := safetensors.Write(filepath.Join(dir, ModelFile), tensors, nil); err != nil {
		t.Fatal(err)
	}
}

func f32(t *testing.T, name string, shape ...int) safetensors.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	x, err := safetensors.FromFloat32(name, shape, make([]float32, n))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestLoadErrors(t *testing.T) {
	const (
		embName  = "roberta.embeddings.word_embeddings.weight"
		bodyName = "roberta.encoder.layer.0.output.dense.weight"
	)
	cases := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		load    func(dir string, m *model, o *optim.AdamW) error
		want    []string
	}{
		{"missing tensor", func(t *testing.T, dir string) {
			writeModel(t, dir, f32(t, embName, 6, 4), f32(t, "lm_head.bias", 6))
		}, nil, []string{ModelFile, `missing tensor "` + bodyName + `"`}},
		{"wrong shape", func(t *testing.T, dir string) {
			writeModel(t, dir, f32(t, embName, 7, 4), f32(t, bodyName, 4, 4), f32(t, "lm_head.bias", 6))
		}, nil, []string{ModelFile, `"` + embName + `" has shape [7 4], want [6 4]`}},
		{"wrong dtype", func(t *testing.T, dir string) {
			d, _ := safetensors.FromFloat64(bodyName, []int{4, 4}, make([]float64, 16))
			writeModel(t, dir, f32(t, embName, 6, 4), d, f32(t, "lm_head.bias", 6))
		}, nil, []string{ModelFile, `"` + bodyName + `" has dtype F64, want F32`}},
		{"extra tensor", func(t *testing.T, dir string) {
			writeModel(t, dir, f32(t, embName, 6, 4), f32(t, bodyName, 4, 4), f32(t, "lm_head.bias", 6), f32(t, "roberta.pooler.dense.weight", 4, 4))
		}, nil, []string{ModelFile, `unexpected tensor "roberta.pooler.dense.weight"`}},
		{"truncated model", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ModelFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-10], 0o644)
		}, nil, []string{ModelFile, "out of range"}},
		{"corrupt header", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ModelFile)
			b, _ := os.ReadFile(p)
			copy(b[8:], "[garbage")
			os.WriteFile(p, b, 0o644)
		}, nil, []string{ModelFile, "invalid header"}},
		{"header length beyond file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, ModelFile)
			b, _ := os.ReadFile(p)
			binary.LittleEndian.PutUint64(b, uint64(len(b)))
			os.WriteFile(p, b, 0o644)
		}, nil, []string{ModelFile, "truncated"}},
		{"missing model file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ModelFile))
		}, nil, []string{ModelFile, "no such file"}},
		{"optimizer missing moment", func(t *testing.T, dir string) {
			f, _ := safetensors.Read(filepath.Join(dir, OptimizerFile))
			var keep []safetensors.Tensor
			for _, x := range f.Tensors {
				if x.Name != "exp_avg_sq."+bodyName {
					keep = append(keep, x)
				}
			}
			safetensors.Write(filepath.Join(dir, OptimizerFile), keep, nil)
		}, loadOpt, []string{OptimizerFile, `missing tensor "exp_avg_sq.` + bodyName + `"`}},
		{"optimizer extra tensor", func(t *testing.T, dir string) {
			f, _ := safetensors.Read(filepath.Join(dir, OptimizerFile))
			safetensors.Write(filepath.Join(dir, OptimizerFile), append(f.Tensors, f32(t, "exp_avg.zzz", 2)), nil)
		}, loadOpt, []string{OptimizerFile, `unexpected tensor "exp_avg.zzz"`}},
		{"optimizer wrong size", func(t *testing.T, dir string) {
			f, _ := safetensors.Read(filepath.Join(dir, OptimizerFile))
			var ts []safetensors.Tensor
			for _, x := range f.Tensors {
				if x.Name == "exp_avg."+embName {
					x = f32(t, x.Name, 5, 4)
				}
				ts = append(ts, x)
			}
			safetensors.Write(filepath.Join(dir, OptimizerFile), ts, nil)
		}, loadOpt, []string{"ckpt", `"` + embName + `": moments of 20 and 24 values, want 24`}},
		{"optimizer json corrupt", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, OptimizerStateFile), []byte(`{"beta1":`), 0o644)
		}, loadOpt, []string{OptimizerStateFile, "invalid optimizer state"}},
		{"optimizer eps differs", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, OptimizerStateFile))
			var st map[string]any
			json.Unmarshal(b, &st)
			st["eps"] = 1e-8
			b, _ = json.Marshal(st)
			os.WriteFile(filepath.Join(dir, OptimizerStateFile), b, 0o644)
		}, loadOpt, []string{"ckpt", "eps=1e-08"}},
		{"config corrupt", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"vocab_size": "six"}`), 0o644)
		}, func(dir string, m *model, o *optim.AdamW) error { var c testConfig; return LoadConfig(dir, &c) }, []string{ConfigFile, "invalid config"}},
		{"trainer corrupt", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, TrainerFile), []byte(`{"step":`), 0o644)
		}, func(dir string, m *model, o *optim.AdamW) error { _, err := LoadTrainer(dir); return err }, []string{TrainerFile, "not valid JSON"}},
		{"no checkpoint", func(t *testing.T, dir string) { os.RemoveAll(dir) }, nil, []string{"no such checkpoint"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			saved(t, dir)
			c.corrupt(t, dir)
			m := newModel(7)
			before := append([]float32(nil), m.emb.Data...)
			o := m.optimizer(t)
			load := c.load
			if load == nil {
				load = func(dir string, m *model, o *optim.AdamW) error { return LoadParams(dir, m.params()) }
			}
			err := load(dir, m, o)
			if err == nil {
				t.Fatal("corrupt checkpoint loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q, want it to contain %q", err, w)
				}
			}
			bitsEqual(t, "params after failed load", m.emb.Data, before)
			if st, _ := o.GroupStep("body"); st != 0 {
				t.Errorf("optimizer changed by a failed load (step %d)", st)
			}
		})
	}
}

func loadOpt(dir string, m *model, o *optim.AdamW) error { return LoadOptimizer(dir, o) }

func TestLoadOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ckpt")
	src, _ := saved(t, dir)
	// Extra tensors allowed on request.
	m := newModel(3)
	if err := LoadParams(dir, []*nn.Param{m.emb, m.body}, AllowExtra()); err != nil {
		t.Errorf("AllowExtra: %v", err)
	}
	bitsEqual(t, "body", m.body.Data, src.body.Data)
	if err := LoadParams(dir, []*nn.Param{m.emb, m.body}); err == nil || !strings.Contains(err.Error(), `unexpected tensor "lm_head.bias"`) {
		t.Errorf("without AllowExtra: %v", err)
	}
	// Skip: a new vocabulary's embedding (other shape) stays as it is.
	m = newModel(4)
	m.emb = &nn.Param{Name: m.emb.Name, Shape: []int{9, 4}, Data: make([]float32, 36)}
	m.emb.Data[0] = 42
	if err := LoadParams(dir, []*nn.Param{m.emb, m.body, m.bias}, Skip(m.emb.Name)); err != nil {
		t.Fatal(err)
	}
	if m.emb.Data[0] != 42 {
		t.Error("skipped parameter changed")
	}
	bitsEqual(t, "bias", m.bias.Data, src.bias.Data)
	// The tied decoder is not required in the file, and is not filled from it.
	if err := LoadParams(dir, newModel(5).params()); err != nil {
		t.Errorf("tied decoder: %v", err)
	}
}

func TestSaveRejects(t *testing.T) {
	base := t.TempDir()
	m := newModel(1)
	cases := []struct {
		name string
		c    *Checkpoint
		want string
	}{
		{"no config", &Checkpoint{Params: m.params()}, "no config"},
		{"no params", &Checkpoint{Config: cfg}, "no parameters"},
		{"config not an object", &Checkpoint{Config: 3, Params: m.params()}, "JSON object"},
		{"duplicate param", &Checkpoint{Config: cfg, Params: []*nn.Param{m.body, m.body}}, "given twice"},
		{"bad trainer json", &Checkpoint{Config: cfg, Params: m.params(), Trainer: json.RawMessage(`{`)}, "not valid JSON"},
		{"reserved extra file", &Checkpoint{Config: cfg, Params: m.params(), Files: map[string][]byte{ConfigFile: nil}}, "invalid extra file"},
		{"extra file path", &Checkpoint{Config: cfg, Params: m.params(), Files: map[string][]byte{"../x": nil}}, "invalid extra file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(base, "ckpt")
			err := Save(dir, c.c)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want containing %q", err, c.want)
			}
			if ents, _ := os.ReadDir(base); len(ents) != 0 {
				t.Errorf("failed save left %d entries", len(ents))
			}
		})
	}
	// A directory that is not a checkpoint is never replaced.
	dir := filepath.Join(base, "results")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("precious"), 0o644)
	if err := Save(dir, &Checkpoint{Config: cfg, Params: m.params()}); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("replacing a non-checkpoint directory: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "precious" {
		t.Error("non-checkpoint directory damaged")
	}
}

// TestCrashDuringSave stops a save after each step of the protocol and checks that the checkpoint then
// loads as the old one or the new one, complete, and that the next save recovers and cleans up.
func TestCrashDuringSave(t *testing.T) {
	for step := 1; step <= 4; step++ {
		t.Run("after step "+string(rune('0'+step)), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt")
			oldM, oldO := saved(t, dir)
			newM := newModel(1)
			newO := newM.optimizer(t)
			newM.train(newO, 1, 8)
			next := &Checkpoint{Config: cfg, Params: newM.params(), Optimizer: newO, Trainer: json.RawMessage(`{"step":8}`)}
			if err := save(dir, next, step); !errors.Is(err, errCrash) {
				t.Fatalf("save with crash: %v", err)
			}
			m := newModel(50)
			o := m.optimizer(t)
			if err := LoadParams(dir, m.params()); err != nil {
				t.Fatalf("load after crash: %v", err)
			}
			if err := LoadOptimizer(dir, o); err != nil {
				t.Fatalf("load optimizer after crash: %v", err)
			}
			tr, err := LoadTrainer(dir)
			if err != nil {
				t.Fatal(err)
			}
			wantM, wantO, wantTr := oldM, oldO, `{"step":5,"rng":[1,2]}`
			if step == 4 {
				wantM, wantO, wantTr = newM, newO, `{"step":8}`
			}
			bitsEqual(t, "body", m.body.Data, wantM.body.Data)
			ws, _ := wantO.GroupStep("body")
			if s, _ := o.GroupStep("body"); s != ws {
				t.Errorf("optimizer step %d, want %d", s, ws)
			}
			if string(tr) != wantTr {
				t.Errorf("trainer state %s, want %s (mixed checkpoint)", tr, wantTr)
			}
			// The next save recovers and leaves just the checkpoint.
			if err := Save(dir, next); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(filepath.Dir(dir))
			if len(ents) != 1 || ents[0].Name() != "ckpt" {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("after recovery the parent holds %v", names)
			}
			if err := LoadParams(dir, m.params()); err != nil {
				t.Fatal(err)
			}
			bitsEqual(t, "body after recovery", m.body.Data, newM.body.Data)
		})
	}
	// A crash during the very first save leaves no checkpoint, and no loader mistakes the partial one.
	dir := filepath.Join(t.TempDir(), "first")
	m := newModel(1)
	if err := save(dir, &Checkpoint{Config: cfg, Params: m.params()}, 2); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	if _, err := Resolve(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial first save resolved: %v", err)
	}
}
