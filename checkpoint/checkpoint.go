// Package checkpoint saves and loads Lethe checkpoints: directories that Hugging Face transformers loads as
// RobertaForMaskedLM (model.safetensors + config.json), with the training state beside them
// (optimizer.safetensors + optimizer.json for AdamW, trainer_state.json for the trainer) so that an
// interrupted run resumes bit-identically.
//
// # Atomic replacement
//
// Save never modifies a checkpoint directory in place. For a checkpoint directory D it:
//
//  1. removes D.tmp if a crashed save left one, and removes D.old if D also exists (a crash after step 4
//     of an earlier save left both; D is complete);
//  2. writes every file into D.tmp, each fsynced, then fsyncs D.tmp;
//  3. if D exists, renames D to D.old and fsyncs the parent directory;
//  4. renames D.tmp to D and fsyncs the parent;
//  5. removes D.old and fsyncs the parent.
//
// A crash at any moment therefore leaves either D complete (old or new), or, between steps 3 and 4, D absent
// and D.old complete. The loaders go through Resolve, which uses D if it exists and otherwise D.old, so they
// always see one complete checkpoint. A D.tmp is never read. Concurrent saves to the same D are not supported.
package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"lethe/nn"
	"lethe/optim"
	"lethe/safetensors"
)

// File names inside a checkpoint directory.
const (
	ModelFile          = "model.safetensors"     // parameters under Hugging Face names, F32
	ConfigFile         = "config.json"           // the RobertaConfig
	OptimizerFile      = "optimizer.safetensors" // exp_avg.<param> and exp_avg_sq.<param>, F32
	OptimizerStateFile = "optimizer.json"        // AdamW hyperparameters and group steps
	TrainerFile        = "trainer_state.json"    // the trainer's opaque state
)

// isReserved reports whether name is one of the files Save writes itself.
func isReserved(name string) bool {
	switch name {
	case ModelFile, ConfigFile, OptimizerFile, OptimizerStateFile, TrainerFile:
		return true
	}
	return false
}

// Suffixes of the sibling directories used by the atomic-replacement protocol.
const (
	tmpSuffix = ".tmp"
	oldSuffix = ".old"
)

// Tied reports whether a parameter name is the LM head's decoder, which RobertaForMaskedLM ties to the token
// embeddings (weight) and to lm_head.bias (bias). save_pretrained does not write these, so Save skips them
// and LoadParams neither requires nor fills them from the file.
func Tied(name string) bool {
	return name == "lm_head.decoder.weight" || name == "lm_head.decoder.bias"
}

// Checkpoint is what Save writes. Config is marshalled with encoding/json into config.json (for example a
// roberta.Config); Optimizer and Trainer are optional (nil skips optimizer.* and trainer_state.json).
type Checkpoint struct {
	Config    any
	Params    []*nn.Param
	Optimizer *optim.AdamW
	Trainer   json.RawMessage
	// Files are extra files to write into the directory under plain file names, for example the tokenizer
	// model that goes with the embeddings; the names of the checkpoint's own files are not allowed.
	Files map[string][]byte
}

// Save writes c into the checkpoint directory dir, atomically replacing any checkpoint already there (see the
// package documentation for the protocol). It refuses to replace a non-empty directory that holds neither
// model.safetensors nor config.json, so that a mistyped path cannot delete unrelated data.
func Save(dir string, c *Checkpoint) error { return save(dir, c, 0) }

// errCrash is returned by save when a test stops it after a given step of the protocol.
var errCrash = errors.New("simulated crash")

// save implements Save; a positive crashAfter stops it right after that step of the protocol (1 to 4), as a
// crash would, for the tests.
func save(dir string, c *Checkpoint, crashAfter int) error {
	dir = filepath.Clean(dir)
	if err := validate(c); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	tmp, old := dir+tmpSuffix, dir+oldSuffix
	parent := filepath.Dir(dir)
	exists, err := isDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if exists {
		if err := checkReplaceable(dir); err != nil {
			return err
		}
	}
	// Step 1.
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("checkpoint %s: remove stale %s: %w", dir, tmp, err)
	}
	if exists {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("checkpoint %s: remove stale %s: %w", dir, old, err)
		}
	}
	if crashAfter == 1 {
		return errCrash
	}
	// Step 2.
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := writeAll(tmp, c, crashAfter == 2); err != nil {
		if !errors.Is(err, errCrash) {
			os.RemoveAll(tmp)
		}
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := safetensors.SyncDir(tmp); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	// Step 3.
	if exists {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("checkpoint %s: move old checkpoint aside: %w", dir, err)
		}
		if err := safetensors.SyncDir(parent); err != nil {
			return fmt.Errorf("checkpoint %s: %w", dir, err)
		}
	}
	if crashAfter == 3 {
		return errCrash
	}
	// Step 4.
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("checkpoint %s: move new checkpoint into place: %w", dir, err)
	}
	if err := safetensors.SyncDir(parent); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if crashAfter == 4 {
		return errCrash
	}
	// Step 5: also removes a D.old left by a crash between steps 3 and 4 of an earlier save.
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("checkpoint %s: remove %s: %w", dir, old, err)
	}
	if err := safetensors.SyncDir(parent); err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return nil
}

// validate checks a checkpoint before anything is written.
func validate(c *Checkpoint) error {
	if c == nil {
		return errors.New("nil checkpoint")
	}
	if c.Config == nil {
		return errors.New("no config")
	}
	if len(c.Params) == 0 {
		return errors.New("no parameters")
	}
	seen := map[string]bool{}
	for _, p := range c.Params {
		if p == nil {
			return errors.New("nil parameter")
		}
		if seen[p.Name] {
			return fmt.Errorf("parameter %q given twice", p.Name)
		}
		seen[p.Name] = true
		if len(p.Data) != p.Numel() {
			return fmt.Errorf("parameter %q of shape %v has %d values", p.Name, p.Shape, len(p.Data))
		}
	}
	if c.Trainer != nil && !json.Valid(c.Trainer) {
		return errors.New("trainer state is not valid JSON")
	}
	for name := range c.Files {
		if name == "" || name != filepath.Base(name) || name == "." || name == ".." || isReserved(name) {
			return fmt.Errorf("invalid extra file name %q", name)
		}
	}
	return nil
}

// isDir reports whether path exists as a directory; a non-directory there is an error.
func isDir(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("%s exists and is not a directory", path)
	}
	return true, nil
}

// checkReplaceable refuses to replace a non-empty directory that is not a checkpoint.
func checkReplaceable(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, e := range ents {
		if e.Name() == ModelFile || e.Name() == ConfigFile {
			return nil
		}
	}
	return fmt.Errorf("checkpoint %s: refusing to replace a non-empty directory that holds no %s or %s", dir, ModelFile, ConfigFile)
}

// writeAll writes every file of c into dir; crashMidway stops it (for the tests) after config.json, leaving
// a partial directory.
func writeAll(dir string, c *Checkpoint, crashMidway bool) error {
	cfg, err := configJSON(c.Config)
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return err
	}
	if crashMidway {
		return errCrash
	}
	tensors := make([]safetensors.Tensor, 0, len(c.Params))
	for _, p := range c.Params {
		if Tied(p.Name) {
			continue
		}
		t, err := safetensors.FromFloat32(p.Name, p.Shape, p.Data)
		if err != nil {
			return err
		}
		tensors = append(tensors, t)
	}
	if err := safetensors.Write(filepath.Join(dir, ModelFile), tensors, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if c.Optimizer != nil {
		if err := writeOptimizer(dir, c.Optimizer); err != nil {
			return err
		}
	}
	if c.Trainer != nil {
		if err := writeFileSync(filepath.Join(dir, TrainerFile), c.Trainer); err != nil {
			return err
		}
	}
	for name, data := range c.Files {
		if err := writeFileSync(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

// configJSON marshals the config, adding "model_type": "roberta" and "architectures":
// ["RobertaForMaskedLM"] when the config object lacks them (or has them null or empty), so that transformers'
// AutoModelForMaskedLM recognises the directory.
func configJSON(cfg any) ([]byte, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, fmt.Errorf("config: must marshal to a JSON object, got %.40s", raw)
	}
	absent := func(key string) bool {
		v, ok := obj[key]
		return !ok || string(v) == "null" || string(v) == `""` || string(v) == "[]"
	}
	if absent("model_type") {
		obj["model_type"] = json.RawMessage(`"roberta"`)
	}
	if absent("architectures") {
		obj["architectures"] = json.RawMessage(`["RobertaForMaskedLM"]`)
	}
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return append(out, '\n'), nil
}

// writeFileSync creates path with data and fsyncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// Resolve returns the directory holding the complete checkpoint saved at dir: dir itself if it exists,
// otherwise dir.old (left complete by a save that crashed between moving the old checkpoint aside and moving
// the new one in). It is an error if neither exists.
func Resolve(dir string) (string, error) {
	dir = filepath.Clean(dir)
	for _, d := range []string{dir, dir + oldSuffix} {
		ok, err := isDir(d)
		if err != nil {
			return "", fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		if ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("checkpoint %s: no such checkpoint directory: %w", dir, fs.ErrNotExist)
}

// LoadConfig decodes config.json of the checkpoint at dir into into (a pointer, for example *roberta.Config).
// Keys that into does not have (such as "architectures") are ignored.
func LoadConfig(dir string, into any) error {
	d, err := Resolve(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(d, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("checkpoint: %s: invalid config: %w", path, err)
	}
	return nil
}

// LoadTrainer returns the trainer state of the checkpoint at dir, or (nil, nil) if it has none.
func LoadTrainer(dir string) (json.RawMessage, error) {
	d, err := Resolve(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(d, TrainerFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("checkpoint: %s: not valid JSON", path)
	}
	return json.RawMessage(data), nil
}

// LoadFile returns the extra file name (see Checkpoint.Files) of the checkpoint at dir.
func LoadFile(dir, name string) ([]byte, error) {
	if name == "" || name != filepath.Base(name) {
		return nil, fmt.Errorf("checkpoint %s: invalid file name %q", dir, name)
	}
	d, err := Resolve(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(d, name))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return data, nil
}
