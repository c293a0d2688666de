package finetune

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lethe/internal/parallel"
)

// TestSpecValidation checks what a Spec must say before a model is built:
// a known kind, at least two distinct non-empty labels, room for the
// specials, and sane question-answering settings.
func TestSpecValidation(t *testing.T) {
	qa := func(edit func(*Spec)) Spec {
		s := Spec{Kind: QuestionAnswering, MaxLength: 32, DocStride: 4, MaxQueryLength: 8, MaxAnswerLength: 5, NBest: 5}
		edit(&s)
		return s
	}
	cls := func(edit func(*Spec)) Spec {
		s := Spec{Kind: Classification, Labels: []string{"x", "y"}, MaxLength: 16}
		edit(&s)
		return s
	}
	tests := []struct {
		name string
		spec Spec
		want string // "" = valid; else a substring of the error
	}{
		{"classification", cls(func(*Spec) {}), ""},
		{"three labels, shortest length", cls(func(s *Spec) { s.Labels, s.MaxLength = []string{"a", "b", "c"}, 3 }), ""},
		{"question answering", qa(func(*Spec) {}), ""},
		{"question answering, tightest", qa(func(s *Spec) { s.MaxLength, s.DocStride = 13, 0 }), ""},
		{"unknown kind", Spec{Kind: "regression", MaxLength: 16}, `unknown task kind "regression"`},
		{"no kind", Spec{MaxLength: 16}, "unknown task kind"},
		{"one label", cls(func(s *Spec) { s.Labels = []string{"x"} }), "at least 2 labels, have 1"},
		{"no labels", cls(func(s *Spec) { s.Labels = nil }), "at least 2 labels, have 0"},
		{"repeated label", cls(func(s *Spec) { s.Labels = []string{"x", "y", "x"} }), `repeated label "x"`},
		{"empty label", cls(func(s *Spec) { s.Labels = []string{"x", ""} }), `empty or repeated label ""`},
		{"max length too short", cls(func(s *Spec) { s.MaxLength = 2 }), "max length 2: need at least 3"},
		{"no query", qa(func(s *Spec) { s.MaxQueryLength = 0 }), "max query length 0"},
		{"no room for context", qa(func(s *Spec) { s.MaxLength = 12 }), "max length 12 and max query length 8"},
		{"negative stride", qa(func(s *Spec) { s.DocStride = -1 }), "doc stride -1"},
		{"no answer length", qa(func(s *Spec) { s.MaxAnswerLength = 0 }), "max answer length 0"},
		{"no n-best", qa(func(s *Spec) { s.NBest = 0 }), "n-best 0"},
	}
	f := shared(t)
	pool := parallel.New(1)
	defer pool.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid spec refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("spec %+v accepted; want an error with %q", tc.spec, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q; want it to contain %q", err, tc.want)
			}
			// New refuses the same specs, and builds the valid ones.
			_, err = New(f.baseCfg, tc.spec, f.enRaw, 1, pool)
			if (err == nil) != (tc.want == "") {
				t.Errorf("New: error %v; want one: %v", err, tc.want != "")
			}
		})
	}
}

// TestNewRefusesMismatches checks that New refuses a tokenizer whose
// vocabulary is not the embeddings' and inputs longer than the positions.
func TestNewRefusesMismatches(t *testing.T) {
	f := shared(t)
	pool := parallel.New(1)
	defer pool.Close()
	spec := Spec{Kind: Classification, Labels: []string{"x", "y"}, MaxLength: 16}
	deRaw, err := os.ReadFile(f.deTok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(f.baseCfg, spec, deRaw, 1, pool); err == nil || !strings.Contains(err.Error(), "do not belong together") {
		t.Errorf("German tokenizer with English embeddings: %v", err)
	}
	spec.MaxLength = f.baseCfg.MaxSeqLen() + 1
	if _, err := New(f.baseCfg, spec, f.enRaw, 1, pool); err == nil || !strings.Contains(err.Error(), "longer than the model's") {
		t.Errorf("max length beyond the positions: %v", err)
	}
	if _, err := New(f.baseCfg, Spec{Kind: Classification, Labels: []string{"x", "y"}, MaxLength: 16}, []byte("not a model"), 1, pool); err == nil ||
		!strings.Contains(err.Error(), "tokenizer") {
		t.Errorf("broken tokenizer: %v", err)
	}
}

// TestReadSpec checks the errors of ReadSpec: a directory without task.json
// is named and said not to be a task model; a broken or invalid task.json is
// named by path.
func TestReadSpec(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadSpec(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a task model") {
		t.Errorf("directory without %s: %v", SpecFile, err)
	}
	path := filepath.Join(dir, SpecFile)
	tests := []struct {
		name, content, want string
	}{
		{"valid", `{"kind": "classification", "labels": ["a", "b"], "max_length": 8, "language": "de"}`, ""},
		{"broken JSON", `{"kind": "classification",`, "unexpected end of JSON input"},
		{"wrong type", `{"kind": "classification", "labels": "a"}`, "cannot unmarshal"},
		{"invalid spec", `{"kind": "classification", "labels": ["a"], "max_length": 8}`, "at least 2 labels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := ReadSpec(dir)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Kind != Classification || strings.Join(s.Labels, ",") != "a,b" || s.MaxLength != 8 || s.Language != "de" {
					t.Errorf("read %+v", *s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want the path %s and %q", err, path, tc.want)
			}
		})
	}
}
