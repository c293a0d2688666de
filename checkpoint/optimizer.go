package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"lethe/optim"
	"lethe/safetensors"
)

// Tensor-name prefixes of the Adam moments in optimizer.safetensors.
const (
	expAvgPrefix   = "exp_avg."
	expAvgSqPrefix = "exp_avg_sq."
)

// optimizerJSON is the content of optimizer.json: the AdamW hyperparameters and, per group, its step and the
// names of the parameters whose moments are in optimizer.safetensors.
type optimizerJSON struct {
	Beta1  float64     `json:"beta1"`
	Beta2  float64     `json:"beta2"`
	Eps    float64     `json:"eps"`
	Groups []groupJSON `json:"groups"`
}

// groupJSON is one group in optimizer.json.
type groupJSON struct {
	Name   string   `json:"name"`
	Step   int      `json:"step"`
	Frozen bool     `json:"frozen"`
	Params []string `json:"params"`
}

// writeOptimizer writes optimizer.safetensors and optimizer.json into dir.
func writeOptimizer(dir string, o *optim.AdamW) error {
	st := o.State()
	oj := optimizerJSON{Beta1: st.Beta1, Beta2: st.Beta2, Eps: st.Eps}
	var tensors []safetensors.Tensor
	for _, g := range st.Groups {
		gj := groupJSON{Name: g.Name, Step: g.Step, Frozen: g.Frozen, Params: []string{}}
		for _, ps := range g.Params {
			gj.Params = append(gj.Params, ps.Name)
			for _, x := range []struct {
				prefix string
				data   []float32
			}{{expAvgPrefix, ps.ExpAvg}, {expAvgSqPrefix, ps.ExpAvgSq}} {
				t, err := safetensors.FromFloat32(x.prefix+ps.Name, ps.Shape, x.data)
				if err != nil {
					return fmt.Errorf("optimizer state: %w", err)
				}
				tensors = append(tensors, t)
			}
		}
		oj.Groups = append(oj.Groups, gj)
	}
	if err := safetensors.Write(filepath.Join(dir, OptimizerFile), tensors, nil); err != nil {
		return err
	}
	data, err := json.MarshalIndent(oj, "", "  ")
	if err != nil {
		return fmt.Errorf("optimizer state: %w", err)
	}
	return writeFileSync(filepath.Join(dir, OptimizerStateFile), append(data, '\n'))
}

// LoadOptimizer restores o's moments and group steps from the checkpoint at dir. The optimizer must have been
// built with the same hyperparameters, groups and parameters (see optim.AdamW.SetState); errors name the file
// and the tensor or group at fault, and leave o unchanged.
func LoadOptimizer(dir string, o *optim.AdamW) error {
	d, err := Resolve(dir)
	if err != nil {
		return err
	}
	jpath := filepath.Join(d, OptimizerStateFile)
	raw, err := os.ReadFile(jpath)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var oj optimizerJSON
	if err := json.Unmarshal(raw, &oj); err != nil {
		return fmt.Errorf("checkpoint: %s: invalid optimizer state: %w", jpath, err)
	}
	tpath := filepath.Join(d, OptimizerFile)
	f, err := safetensors.Read(tpath)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	used := map[string]bool{}
	get := func(name string) ([]float32, error) {
		t, ok := f.Get(name)
		if !ok {
			return nil, fmt.Errorf("checkpoint: %s: missing tensor %q", tpath, name)
		}
		if t.DType != safetensors.F32 {
			return nil, fmt.Errorf("checkpoint: %s: tensor %q has dtype %s, want F32", tpath, name, t.DType)
		}
		used[name] = true
		v, err := t.Float32()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", tpath, err)
		}
		return v, nil
	}
	st := optim.State{Beta1: oj.Beta1, Beta2: oj.Beta2, Eps: oj.Eps}
	for _, gj := range oj.Groups {
		gs := optim.GroupState{Name: gj.Name, Step: gj.Step, Frozen: gj.Frozen}
		for _, name := range gj.Params {
			m, err := get(expAvgPrefix + name)
			if err != nil {
				return err
			}
			v, err := get(expAvgSqPrefix + name)
			if err != nil {
				return err
			}
			gs.Params = append(gs.Params, optim.ParamState{Name: name, ExpAvg: m, ExpAvgSq: v})
		}
		st.Groups = append(st.Groups, gs)
	}
	for _, name := range f.Names() {
		if !used[name] {
			return fmt.Errorf("checkpoint: %s: unexpected tensor %q (not listed in %s)", tpath, name, OptimizerStateFile)
		}
	}
	if err := o.SetState(st); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", d, err)
	}
	return nil
}
