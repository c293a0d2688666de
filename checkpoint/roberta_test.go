package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"lethe/nn"
	"lethe/optim"
	"lethe/roberta"
	"lethe/safetensors"
)

// TestRobertaCheckpoint saves a real (tiny) RobertaForMaskedLM parameter set with its config and a two-group
// optimizer, and loads it into a fresh model.
func TestRobertaCheckpoint(t *testing.T) {
	cfg, err := roberta.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Architectures = nil // configJSON fills it in
	p, err := roberta.NewParams(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Init(7)
	for i := range p.Grad {
		p.Grad[i] = float32(i%13) * 1e-3
	}
	groups := func(p *roberta.Params) []optim.Group {
		return []optim.Group{
			{Name: "body", Params: p.Body(), Schedule: optim.LinearSchedule{Peak: 1e-3, WarmupUpdates: 1, Total: 10}, WeightDecay: 0.01},
			{Name: "embeddings", Params: []*nn.Param{p.Embeddings()}, Schedule: optim.ConstantSchedule{Rate: 1e-3}, WeightDecay: 0.01},
		}
	}
	o, err := optim.NewAdamW(groups(p), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	o.Step(1)
	o.Step(2)
	dir := filepath.Join(t.TempDir(), "roberta")
	if err := Save(dir, &Checkpoint{Config: cfg, Params: p.All(), Optimizer: o}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != len(p.All()) {
		t.Errorf("%d tensors written for %d parameters", len(f.Tensors), len(p.All()))
	}
	if _, ok := f.Get("lm_head.decoder.weight"); ok {
		t.Error("tied decoder weight written")
	}
	var back roberta.Config
	if err := LoadConfig(dir, &back); err != nil {
		t.Fatal(err)
	}
	want := cfg
	want.Architectures = []string{"RobertaForMaskedLM"}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("config %+v, want %+v", back, want)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m["model_type"] != "roberta" || m["tie_word_embeddings"] != true {
		t.Errorf("config.json %s", raw)
	}
	q, err := roberta.NewParams(back)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadParams(dir, q.All()); err != nil {
		t.Fatal(err)
	}
	bitsEqual(t, "flat parameters", q.Data, p.Data)
	o2, err := optim.NewAdamW(groups(q), 0.9, 0.98, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadOptimizer(dir, o2); err != nil {
		t.Fatal(err)
	}
	if s, _ := o2.GroupStep("body"); s != 2 {
		t.Errorf("body step %d, want 2", s)
	}
}
