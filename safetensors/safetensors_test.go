package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// sample returns one tensor of each typed dtype plus a scalar and an empty tensor.
func sample(t *testing.T) []Tensor {
	t.Helper()
	must := func(x Tensor, err error) Tensor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	return []Tensor{
		must(FromFloat32("roberta.embeddings.word_embeddings.weight", []int{2, 3}, []float32{1, -2.5, float32(math.Inf(1)), 3e-8, -0, math.MaxFloat32})),
		must(FromFloat64("b.f64", []int{3}, []float64{1.0 / 3, -1e-300, math.Pi})),
		must(FromInt32("a.i32", []int{2, 2}, []int32{-1, 0, 1, math.MaxInt32})),
		must(FromInt64("c.i64", []int{1}, []int64{math.MinInt64})),
		must(FromFloat32("scalar", []int{}, []float32{42})),
		must(FromFloat32("empty", []int{0, 5}, nil)),
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	in := sample(t)
	md := map[string]string{"format": "pt", "note": "ünïcode"}
	if err := Write(path, in, md); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(raw)
	if (8+hlen)%8 != 0 {
		t.Errorf("data section starts at %d, not 8-aligned", 8+hlen)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Metadata, md) {
		t.Errorf("metadata %v, want %v", f.Metadata, md)
	}
	// Data laid out in sorted-name order.
	var names []string
	for _, x := range f.Tensors {
		names = append(names, x.Name)
	}
	if !reflect.DeepEqual(names, f.Names()) {
		t.Errorf("data order %v, want sorted %v", names, f.Names())
	}
	for _, want := range in {
		got, ok := f.Get(want.Name)
		if !ok {
			t.Fatalf("tensor %q missing", want.Name)
		}
		if got.DType != want.DType || !bytes.Equal(got.Data, want.Data) || len(got.Shape) != len(want.Shape) {
			t.Errorf("tensor %q: got %s %v, want %s %v", want.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
	}
	w, _ := f.Get("roberta.embeddings.word_embeddings.weight")
	v, err := w.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if v[1] != -2.5 || !math.IsInf(float64(v[2]), 1) || v[5] != math.MaxFloat32 {
		t.Errorf("float32 values %v", v)
	}
	if _, err := w.Float64(); err == nil || !strings.Contains(err.Error(), "dtype F32") {
		t.Errorf("Float64 on an F32 tensor: err %v", err)
	}
	i64, _ := f.Get("c.i64")
	if v, err := i64.Int64(); err != nil || v[0] != math.MinInt64 {
		t.Errorf("int64 %v %v", v, err)
	}
	i32, _ := f.Get("a.i32")
	if v, err := i32.Int32(); err != nil || v[3] != math.MaxInt32 {
		t.Errorf("int32 %v %v", v, err)
	}
	f64, _ := f.Get("b.f64")
	if v, err := f64.Float64(); err != nil || v[0] != 1.0/3 {
		t.Errorf("float64 %v %v", v, err)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get of a missing name succeeded")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o044 != 0o044 {
		t.Errorf("written file mode %v (%v), want readable by group and others", fi.Mode(), err)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	good, _ := FromFloat32("a", []int{2}, []float32{1, 2})
	cases := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", []Tensor{good, good}, "duplicate tensor name"},
		{"bad dtype", []Tensor{{Name: "x", DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}}, "unknown dtype"},
		{"short data", []Tensor{{Name: "x", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, "bytes of data"},
		{"reserved", []Tensor{{Name: "__metadata__", DType: F32, Shape: []int{}, Data: make([]byte, 4)}}, "reserved"},
		{"empty name", []Tensor{{Name: "", DType: F32, Shape: []int{}, Data: make([]byte, 4)}}, "empty name"},
		{"negative dim", []Tensor{{Name: "x", DType: F32, Shape: []int{-1}}}, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.safetensors")
			err := Write(path, c.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("failed write left %d entries", len(ents))
			}
		})
	}
	if _, err := FromFloat32("x", []int{2, 2}, []float32{1}); err == nil {
		t.Error("FromFloat32 accepted 1 value for shape [2 2]")
	}
}

// build assembles a file from a literal header and data section.
func build(header string, body []byte) []byte {
	var b bytes.Buffer
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	b.Write(n[:])
	b.WriteString(header)
	b.Write(body)
	return b.Bytes()
}

func TestParseCorrupt(t *testing.T) {
	var good bytes.Buffer
	tensors := sample(t)
	if err := Encode(&good, tensors, nil); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"short length", []byte{1, 2, 3}, "truncated"},
		{"header beyond file", g[:20], "truncated: header length"},
		{"huge header length", huge, "exceeds the limit"},
		{"truncated data", g[:len(g)-3], "out of range"},
		{"trailing bytes", append(append([]byte{}, g...), 0, 0, 0, 0), "cover"},
		{"not an object", build(`[1,2]   `, nil), "does not start with '{'"},
		{"invalid json", build(`{"a":{"dtype":"F32",`, nil), "invalid JSON"},
		{"trailing garbage", build(`{} x`, nil), "trailing"},
		{"unknown dtype", build(`{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `unknown dtype "Q7"`},
		{"missing field", build(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), "lacks"},
		{"shape mismatch", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "negative"},
		{"reversed offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), "invalid data_offsets"},
		{"three offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "want 2"},
		{"out of range", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 4)), "out of range"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlap"},
		{"gap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "gap"},
		{"not covering", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "cover 4 bytes of the 8"},
		{"duplicate key", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "duplicate"},
		{"bad metadata", build(`{"__metadata__":{"k":1}}`, nil), "__metadata__"},
		{"float shape", build(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), "invalid JSON header entry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("bad.safetensors", c.data)
			if err == nil {
				t.Fatal("corrupt file accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %q, want containing %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "bad.safetensors") {
				t.Errorf("err %q does not name the file", err)
			}
		})
	}
	// Read on a truncated file on disk names the path.
	path := filepath.Join(t.TempDir(), "trunc.safetensors")
	if err := os.WriteFile(path, g[:len(g)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Read truncated: %v", err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
}

const python = "/usr/bin/python3"

// TestPythonCrossCheck has an independent standard-library Python reader parse what Go wrote, and Go read what
// that script wrote.
func TestPythonCrossCheck(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "go.safetensors")
	in := sample(t)
	if err := Write(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "testdata/crosscheck.py", "read", path).Output()
	if err != nil {
		t.Fatalf("python read: %v", err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python output: %v\n%s", err, out)
	}
	var md map[string]string
	if err := json.Unmarshal(got["__metadata__"], &md); err != nil || md["format"] != "pt" {
		t.Errorf("python saw metadata %s", got["__metadata__"])
	}
	type entry struct {
		DType  string   `json:"dtype"`
		Shape  []int    `json:"shape"`
		Values []string `json:"values"`
	}
	for _, want := range in {
		var e entry
		if err := json.Unmarshal(got[want.Name], &e); err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		if e.DType != want.DType || len(e.Shape) != len(want.Shape) || len(e.Values) != want.Numel() {
			t.Errorf("python read %s as %s %v with %d values", want.Name, e.DType, e.Shape, len(e.Values))
			continue
		}
		var ref []float64
		switch want.DType {
		case F32:
			v, _ := want.Float32()
			for _, x := range v {
				ref = append(ref, float64(x))
			}
		case F64:
			ref, _ = want.Float64()
		case I32:
			v, _ := want.Int32()
			for _, x := range v {
				ref = append(ref, float64(x))
			}
		case I64:
			v, _ := want.Int64()
			for _, x := range v {
				ref = append(ref, float64(x))
			}
		}
		for i, s := range e.Values {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || x != ref[i] {
				t.Errorf("python read %s[%d] = %s, want %v", want.Name, i, s, ref[i])
			}
		}
	}

	pyPath := filepath.Join(dir, "py.safetensors")
	if out, err := exec.Command(python, "testdata/crosscheck.py", "write", pyPath).CombinedOutput(); err != nil {
		t.Fatalf("python write: %v\n%s", err, out)
	}
	f, err := Read(pyPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["source"] != "python" {
		t.Errorf("metadata %v", f.Metadata)
	}
	z, _ := f.Get("zeta.weight")
	if v, err := z.Float32(); err != nil || !reflect.DeepEqual(v, []float32{0.5, -1.25, 3.0e-8, 1.0e30, 0, 7}) || !reflect.DeepEqual(z.Shape, []int{2, 3}) {
		t.Errorf("zeta.weight %v %v %v", v, z.Shape, err)
	}
	a, _ := f.Get("alpha.bias")
	if v, err := a.Float64(); err != nil || v[0] != 1.0/3 || v[2] != 1e-300 {
		t.Errorf("alpha.bias %v %v", v, err)
	}
	m, _ := f.Get("mid.ids")
	if v, err := m.Int64(); err != nil || v[0] != -(1<<62) || v[3] != 1<<40 {
		t.Errorf("mid.ids %v %v", v, err)
	}
	c, _ := f.Get("count")
	if v, err := c.Int32(); err != nil || v[0] != -7 || len(c.Shape) != 0 {
		t.Errorf("count %v %v", v, err)
	}
	e, _ := f.Get("empty")
	if e == nil || e.Numel() != 0 || !reflect.DeepEqual(e.Shape, []int{0, 4}) {
		t.Errorf("empty %+v", e)
	}
	// Go rewrites it and Python accepts the result (sorted order, alignment).
	re := filepath.Join(dir, "re.safetensors")
	if err := Write(re, f.Tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, "testdata/crosscheck.py", "read", re).CombinedOutput(); err != nil {
		t.Fatalf("python re-read: %v\n%s", err, out)
	}
}
