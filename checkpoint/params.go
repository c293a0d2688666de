package checkpoint

import (
	"fmt"
	"path/filepath"
	"slices"

	"lethe/nn"
	"lethe/safetensors"
)

// Option changes how LoadParams matches the file's tensors to the parameters.
type Option func(*loadOptions)

// loadOptions collects the Options of one LoadParams call.
type loadOptions struct {
	allowExtra bool
	skip       map[string]bool
}

// AllowExtra lets the file hold tensors that match no parameter (for example a Hugging Face checkpoint's
// buffers, or a model being loaded only in part); they are ignored instead of being an error.
func AllowExtra() Option { return func(o *loadOptions) { o.allowExtra = true } }

// Skip leaves the named parameters untouched and ignores their tensors in the file, for example the token
// embeddings when a body is loaded under a new vocabulary.
func Skip(names ...string) Option {
	return func(o *loadOptions) {
		for _, n := range names {
			o.skip[n] = true
		}
	}
}

// LoadParams fills each parameter's Data from model.safetensors of the checkpoint at dir, by Hugging Face
// name. Every parameter (except tied and skipped ones) must be in the file as F32 with the parameter's shape,
// and (unless AllowExtra) every tensor in the file must be a parameter. Errors name the file and the tensor.
// Parameters are not modified unless every check passes.
func LoadParams(dir string, params []*nn.Param, opts ...Option) error {
	o := loadOptions{skip: map[string]bool{}}
	for _, opt := range opts {
		opt(&o)
	}
	d, err := Resolve(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(d, ModelFile)
	f, err := safetensors.Read(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	type fill struct {
		p *nn.Param
		t *safetensors.Tensor
	}
	var fills []fill
	wanted := map[string]bool{}
	for _, p := range params {
		wanted[p.Name] = true
		if o.skip[p.Name] || Tied(p.Name) {
			continue
		}
		t, ok := f.Get(p.Name)
		if !ok {
			return fmt.Errorf("checkpoint: %s: missing tensor %q", path, p.Name)
		}
		if t.DType != safetensors.F32 {
			return fmt.Errorf("checkpoint: %s: tensor %q has dtype %s, want F32", path, p.Name, t.DType)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("checkpoint: %s: tensor %q has shape %v, want %v", path, p.Name, t.Shape, p.Shape)
		}
		if len(p.Data) != p.Numel() {
			return fmt.Errorf("checkpoint: parameter %q of shape %v has %d values", p.Name, p.Shape, len(p.Data))
		}
		fills = append(fills, fill{p, t})
	}
	if !o.allowExtra {
		for _, name := range f.Names() {
			if !wanted[name] && !Tied(name) && !o.skip[name] {
				return fmt.Errorf("checkpoint: %s: unexpected tensor %q (no such parameter)", path, name)
			}
		}
	}
	for _, x := range fills {
		if err := x.t.Float32Into(x.p.Data); err != nil {
			return fmt.Errorf("checkpoint: %s: %w", path, err)
		}
	}
	return nil
}
