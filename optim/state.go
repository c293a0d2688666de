package optim

import (
	"fmt"
)

// ParamState is the Adam moments of one parameter, under the parameter's name; Shape is the parameter's
// shape (informative: SetState checks sizes, not shapes).
type ParamState struct {
	Name     string
	Shape    []int
	ExpAvg   []float32
	ExpAvgSq []float32
}

// GroupState is one group's step counter and, unless the group is frozen, its parameters' moments.
type GroupState struct {
	Name   string
	Step   int
	Frozen bool
	Params []ParamState
}

// State is everything a resumed run needs to continue bit-identically: the hyperparameters it was built with
// (checked on import), and each group's step and moments.
type State struct {
	Beta1, Beta2, Eps float64
	Groups            []GroupState
}

// State returns a copy of the optimizer state.
func (o *AdamW) State() State {
	s := State{Beta1: o.beta1, Beta2: o.beta2, Eps: o.eps}
	for _, g := range o.groups {
		gs := GroupState{Name: g.Name, Step: g.step, Frozen: g.Frozen}
		for i, p := range g.Params {
			if g.Frozen {
				break
			}
			gs.Params = append(gs.Params, ParamState{
				Name:     p.Name,
				Shape:    append([]int(nil), p.Shape...),
				ExpAvg:   append([]float32(nil), g.m[i]...),
				ExpAvgSq: append([]float32(nil), g.v[i]...),
			})
		}
		s.Groups = append(s.Groups, gs)
	}
	return s
}

// SetState restores state exported by State. The hyperparameters must be the same, every group of the
// optimizer must be in s (and only those), and every non-frozen group needs moments for exactly its
// parameters (matched by name, in any order) with their sizes. Moments saved for a group that is now frozen are ignored (its step is kept).
// On error the optimizer is unchanged.
func (o *AdamW) SetState(s State) error {
	if s.Beta1 != o.beta1 || s.Beta2 != o.beta2 || s.Eps != o.eps {
		return fmt.Errorf("optim: state has beta1=%v beta2=%v eps=%v, optimizer has beta1=%v beta2=%v eps=%v",
			s.Beta1, s.Beta2, s.Eps, o.beta1, o.beta2, o.eps)
	}
	byName := map[string]*GroupState{}
	for i := range s.Groups {
		gs := &s.Groups[i]
		if _, ok := o.byName[gs.Name]; !ok {
			return fmt.Errorf("optim: state has group %q that the optimizer lacks", gs.Name)
		}
		if _, dup := byName[gs.Name]; dup {
			return fmt.Errorf("optim: state has group %q twice", gs.Name)
		}
		if gs.Step < 0 {
			return fmt.Errorf("optim: state of group %q has negative step %d", gs.Name, gs.Step)
		}
		byName[gs.Name] = gs
	}
	// Validate everything before changing anything.
	for _, g := range o.groups {
		gs, ok := byName[g.Name]
		if !ok {
			return fmt.Errorf("optim: state lacks group %q", g.Name)
		}
		if g.Frozen {
			continue
		}
		if len(gs.Params) != len(g.Params) {
			return fmt.Errorf("optim: state of group %q has moments for %d parameters, the group has %d", g.Name, len(gs.Params), len(g.Params))
		}
		have := map[string]int{}
		for k, ps := range gs.Params {
			if _, dup := have[ps.Name]; dup {
				return fmt.Errorf("optim: state of group %q has parameter %q twice", g.Name, ps.Name)
			}
			have[ps.Name] = k
		}
		for i, p := range g.Params {
			k, ok := have[p.Name]
			if !ok {
				return fmt.Errorf("optim: state of group %q lacks the moments of parameter %q", g.Name, p.Name)
			}
			ps := gs.Params[k]
			if len(ps.ExpAvg) != len(g.m[i]) || len(ps.ExpAvgSq) != len(g.v[i]) {
				return fmt.Errorf("optim: state of parameter %q: moments of %d and %d values, want %d", p.Name, len(ps.ExpAvg), len(ps.ExpAvgSq), len(g.m[i]))
			}
		}
	}
	for _, g := range o.groups {
		gs := byName[g.Name]
		g.step = gs.Step
		if g.Frozen {
			continue
		}
		index := make(map[string]int, len(g.Params))
		for i, p := range g.Params {
			index[p.Name] = i
		}
		for _, ps := range gs.Params {
			i := index[ps.Name]
			copy(g.m[i], ps.ExpAvg)
			copy(g.v[i], ps.ExpAvgSq)
		}
	}
	return nil
}
