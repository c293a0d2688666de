package finetune

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"lethe/checkpoint"
	"lethe/internal/parallel"
	"lethe/nn"
	"lethe/roberta"
)

// SpliceOptions configure Splice.
type SpliceOptions struct {
	// Language names the language of the embeddings (recorded in task.json
	// and used by evaluation for language-specific metrics); default: the
	// directory name of the language checkpoint.
	Language string
	// Force joins a task model and embeddings even when their lineages say
	// they were trained on different pretrained bodies, or when the language
	// checkpoint is another pretrained model rather than an adapted one.
	Force bool
	// FreshSeed, when non-zero, splices freshly drawn embeddings (N(0,
	// initializer_range), padding row zero, from this seed) of the language
	// checkpoint's vocabulary instead of its trained ones: the chance line of
	// zero-shot transfer, for a control.
	FreshSeed uint64
}

// Splice assembles a model for language L (stage 4 of the protocol): the
// task model in taskDir (English fine-tuned body and head) with its token
// embeddings replaced by language L's from the language-adapted checkpoint
// langDir, and L's tokenizer in place of English's, written to outDir.
//
// langDir is normally a language-adapted checkpoint (lethe adapt). It may
// also be the very pretrained checkpoint the task model was fine-tuned from
// (same sha256): that is the oracle splice, which gives back the task model
// itself and so must score exactly its English result.
//
// Errors: a task directory without a task head, hidden sizes that differ,
// an L tokenizer whose vocabulary is not the embeddings' row count, and
// (unless Force) embeddings adapted on another pretrained body than the one
// the task model was fine-tuned from, or a pretrained checkpoint other than
// that body.
func Splice(taskDir, langDir, outDir string, o SpliceOptions) error {
	td, err := checkpoint.Resolve(taskDir)
	if err != nil {
		return fmt.Errorf("splice: task model: %w", err)
	}
	ld, err := checkpoint.Resolve(langDir)
	if err != nil {
		return fmt.Errorf("splice: language model: %w", err)
	}
	spec, err := ReadSpec(td)
	if err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	var tcfg, lcfg roberta.Config
	if err := checkpoint.LoadConfig(td, &tcfg); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	if err := checkpoint.LoadConfig(ld, &lcfg); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	if tcfg.HiddenSize != lcfg.HiddenSize {
		return fmt.Errorf("splice: hidden size %d of the task model %s differs from %d of the language embeddings in %s",
			tcfg.HiddenSize, td, lcfg.HiddenSize, ld)
	}
	if _, err := os.Stat(filepath.Join(ld, SpecFile)); err == nil {
		return fmt.Errorf("splice: %s is a task model, not a language-adapted checkpoint (lethe adapt): pass it as --task", ld)
	}
	if err := checkSameBody(td, ld, spec, o.Force); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	tokRaw, err := os.ReadFile(filepath.Join(ld, checkpoint.Tokenizer))
	if err != nil {
		return fmt.Errorf("splice: %s has no tokenizer: %w", ld, err)
	}
	ncfg := tcfg
	ncfg.VocabSize = lcfg.VocabSize
	ns := *spec
	ns.Language = o.Language
	if ns.Language == "" {
		ns.Language = filepath.Base(filepath.Dir(ld))
	}
	pool := parallel.New(1)
	defer pool.Close()
	m, err := New(ncfg, ns, tokRaw, 1, pool)
	if err != nil {
		return fmt.Errorf("splice: %s: %w", ld, err)
	}
	emb := m.Body.Params.WordEmb
	if err := checkpoint.LoadParams(td, m.Params(), checkpoint.Skip(emb.Name)); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	if err := checkpoint.LoadParams(ld, []*nn.Param{emb}, checkpoint.AllowExtra()); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	if o.FreshSeed != 0 {
		m.Body.Params.ResetWordEmbeddings(o.FreshSeed)
	}
	if err := m.Save(outDir, nil); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	return nil
}

// checkSameBody checks that the embeddings of the language checkpoint ld
// belong to the body the task model td was fine-tuned from: ld was adapted
// on that body (its lineage says so), or ld is that pretrained body itself
// (the oracle splice). force accepts any pair.
func checkSameBody(td, ld string, spec *Spec, force bool) error {
	if spec.BaseModelSHA256 == "" || force {
		return nil
	}
	lineage, err := readLineage(ld)
	var none noLineageError
	if errors.As(err, &none) {
		sum, herr := checkpoint.ModelHash(ld)
		if herr != nil {
			return herr
		}
		if sum == spec.BaseModelSHA256 {
			return nil // the pretrained body itself: the oracle splice
		}
		return fmt.Errorf("%w, nor the pretrained body (sha256 %.12s) that the task model %s was fine-tuned from (pass --force to splice it anyway)",
			err, spec.BaseModelSHA256, td)
	}
	if err != nil {
		return err
	}
	if lineage.BaseModelSHA256 != spec.BaseModelSHA256 {
		return fmt.Errorf("the embeddings in %s were adapted on the body %s (sha256 %.12s) but the task model %s was fine-tuned from sha256 %.12s: "+
			"adapt and fine-tune from the same pretrained checkpoint (or pass --force)", ld, lineage.BaseModel, lineage.BaseModelSHA256, td, spec.BaseModelSHA256)
	}
	return nil
}

// noLineageError is the error of a checkpoint that records no lineage.
type noLineageError struct{ dir string }

func (e noLineageError) Error() string {
	return fmt.Sprintf("%s has no %s: it is not a language-adapted checkpoint (make one with lethe adapt)", e.dir, checkpoint.LineageFile)
}

// readLineage reads the lineage a language-adapted checkpoint records.
func readLineage(dir string) (*checkpoint.Lineage, error) {
	raw, err := os.ReadFile(filepath.Join(dir, checkpoint.LineageFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, noLineageError{dir}
	}
	if err != nil {
		return nil, err
	}
	var l checkpoint.Lineage
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, checkpoint.LineageFile), err)
	}
	if l.Stage != checkpoint.StageLanguage {
		return nil, fmt.Errorf("%s: made by stage %q, not by language adaptation", filepath.Join(dir, checkpoint.LineageFile), l.Stage)
	}
	return &l, nil
}
