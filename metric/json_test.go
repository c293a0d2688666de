package metric

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestJSONKeys checks that results are written with snake_case keys, as
// every other Lethe output, and that files written with the old Go field
// names read back the same.
func TestJSONKeys(t *testing.T) {
	c := Classify([]string{"a", "b"}, []int{0, 1, 1}, []int{0, 1, 0})
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"accuracy"`, `"macro_f1"`, `"macro_labels"`, `"per_label"`, `"precision"`, `"confusion"`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("classification JSON lacks %s: %s", k, raw)
		}
	}
	old := strings.NewReplacer(`"accuracy"`, `"Accuracy"`, `"macro_f1"`, `"MacroF1"`, `"macro_labels"`, `"MacroLabels"`,
		`"per_label"`, `"PerLabel"`, `"labels"`, `"Labels"`, `"confusion"`, `"Confusion"`, `"precision"`, `"Precision"`).Replace(string(raw))
	var back, backOld Classification
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(old), &backOld); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) || !reflect.DeepEqual(backOld, c) {
		t.Errorf("round trip:\n new %+v\n old %+v\nwant %+v", back, backOld, c)
	}

	q := QAResult{EM: 50, F1: 75, Count: 2, NoGold: 1}
	raw, _ = json.Marshal(q)
	if !strings.Contains(string(raw), `"no_gold":1`) || !strings.Contains(string(raw), `"em":50`) {
		t.Errorf("QA JSON: %s", raw)
	}
	var qOld QAResult
	if err := json.Unmarshal([]byte(`{"EM":50,"F1":75,"Count":2,"NoGold":1}`), &qOld); err != nil || qOld != q {
		t.Errorf("old QA JSON read as %+v (%v), want %+v", qOld, err, q)
	}
}
