package safetensors

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must return a file or an
// error, never panic or allocate beyond what the input can describe, and a
// file it accepts must encode back to bytes that parse to the same tensors.
func FuzzParse(f *testing.F) {
	var b bytes.Buffer
	t1, _ := FromFloat32("a.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	t2, _ := FromInt64("b", []int{2}, []int64{7, 8})
	Encode(&b, []Tensor{t1, t2}, map[string]string{"format": "pt"})
	f.Add(b.Bytes())
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, file.Tensors, file.Metadata); err != nil {
			return // e.g. names Encode refuses to write
		}
		again, err := Parse("again", out.Bytes())
		if err != nil {
			t.Fatalf("a parsed file re-encoded does not parse: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors after a round trip, want %d", len(again.Tensors), len(file.Tensors))
		}
	})
}
