package dataset

import (
	"path/filepath"
	"reflect"
	"testing"
)

// seqDoc returns a document of n ids starting at first (all normal ids).
func seqDoc(first, n int32) []int32 {
	d := make([]int32, n)
	for i := range d {
		d[i] = first + int32(i)
	}
	return d
}

func TestSequencesPacking(t *testing.T) {
	// seqLen 6: BOS + 5 ids per block.
	tests := []struct {
		name string
		docs [][]int32
		want [][2]int64 // block bounds
	}{
		{"docs packed greedily", [][]int32{seqDoc(10, 2), seqDoc(20, 3), seqDoc(30, 1)},
			[][2]int64{{0, 5}, {5, 6}}},
		{"exact fit", [][]int32{seqDoc(10, 5), seqDoc(20, 5)}, [][2]int64{{0, 5}, {5, 10}}},
		{"doc never split when it fits a fresh block", [][]int32{seqDoc(10, 3), seqDoc(20, 4)},
			[][2]int64{{0, 3}, {3, 7}}},
		{"long doc split, remainder joined by next doc", [][]int32{seqDoc(10, 2), seqDoc(20, 12), seqDoc(40, 2)},
			[][2]int64{{0, 2}, {2, 7}, {7, 12}, {12, 16}}},
		{"long doc exact multiple", [][]int32{seqDoc(10, 10), seqDoc(30, 1)}, [][2]int64{{0, 5}, {5, 10}, {10, 11}}},
		{"empty docs ignored", [][]int32{{}, seqDoc(10, 2), {}, {}, seqDoc(20, 2), {}}, [][2]int64{{0, 4}}},
		{"no tokens", [][]int32{{}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := openDocs(t, 100, tc.docs)
			s, err := NewSequences(f, 6)
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]int64
			for i := 0; i < s.Len(); i++ {
				lo, hi := s.Bounds(i)
				got = append(got, [2]int64{lo, hi})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("blocks %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := NewSequences(openDocs(t, 100, nil), 1); err == nil {
		t.Error("sequence length 1 accepted")
	}
}

func TestSequencesFill(t *testing.T) {
	f := openDocs(t, 100, [][]int32{{10, 11, 2}, {20, 2}, seqDoc(30, 7)})
	s, err := NewSequences(f, 6)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{
		{BOS, 10, 11, 2, 20, 2},
		{BOS, 30, 31, 32, 33, 34},
		{BOS, 35, 36, PAD, PAD, PAD},
	}
	wantN := []int{6, 6, 3}
	if s.Len() != len(want) {
		t.Fatalf("%d blocks, want %d", s.Len(), len(want))
	}
	dst := make([]int32, 6)
	for i := range want {
		n := s.Fill(i, dst)
		if !reflect.DeepEqual(dst, want[i]) || n != wantN[i] {
			t.Errorf("block %d = %v (%d tokens), want %v (%d)", i, dst, n, want[i], wantN[i])
		}
	}
	// Every token of the file is in exactly one block, in order.
	var all []int32
	for i := 0; i < s.Len(); i++ {
		lo, hi := s.Bounds(i)
		all = append(all, f.Tokens(lo, hi)...)
	}
	if !reflect.DeepEqual(all, f.Tokens(0, f.NumTokens())) {
		t.Error("blocks do not cover the file in order")
	}
}

func TestSequencesPackLines(t *testing.T) {
	// seqLen 6: BOS + 5 ids. Lines end in EOS (2).
	tests := []struct {
		name string
		docs [][]int32
		want [][2]int64
	}{
		{"a line joins the previous document", [][]int32{{10, 11, 2}, {20, 2, 21, 22, 2}},
			[][2]int64{{0, 5}, {5, 8}}}, // documents: {0,3},{3,8}
		{"a long document breaks at a line end", [][]int32{{10, 11, 2, 12, 13, 14, 2}},
			[][2]int64{{0, 3}, {3, 7}}}, // documents: {0,5},{5,7}, cutting a line
		{"long line split", [][]int32{{10, 2}, seqDoc(20, 7)}, // second doc has no EOS: its tail is one unit
			[][2]int64{{0, 2}, {2, 7}, {7, 9}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := openDocs(t, 100, tc.docs)
			s, err := NewPackedSequences(f, 6, PackLines)
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]int64
			for i := 0; i < s.Len(); i++ {
				lo, hi := s.Bounds(i)
				got = append(got, [2]int64{lo, hi})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("blocks %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParsePacking(t *testing.T) {
	for _, p := range []Packing{PackDocuments, PackLines} {
		if got, err := ParsePacking(p.String()); err != nil || got != p {
			t.Errorf("%v: got %v, %v", p, got, err)
		}
	}
	if _, err := ParsePacking("sentences"); err == nil {
		t.Error("unknown packing accepted")
	}
	if _, err := NewPackedSequences(openDocs(t, 100, nil), 8, Packing(7)); err == nil {
		t.Error("unknown packing value accepted")
	}
}

func TestSubsample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.tok")
	w, err := Create(path, 50)
	if err != nil {
		t.Fatal(err)
	}
	for d := 0; d < 40; d++ {
		doc := make([]int32, 3+d%5)
		for i := range doc {
			doc[i] = int32(5 + (d+i)%40)
		}
		doc[len(doc)-1] = EOS
		if err := w.AppendDocument(doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seq, err := NewSequences(f, 8)
	if err != nil {
		t.Fatal(err)
	}
	total := seq.Tokens()
	if total != f.NumTokens() {
		t.Fatalf("Tokens() = %d, want every id of the file, %d", total, f.NumTokens())
	}
	blocks := func(s *Sequences) map[[2]int64]bool {
		m := map[[2]int64]bool{}
		for i := 0; i < s.Len(); i++ {
			lo, hi := s.Bounds(i)
			m[[2]int64{lo, hi}] = true
		}
		return m
	}
	all := blocks(seq)
	for _, tc := range []struct {
		budget int64
		seed   uint64
	}{{1, 1}, {20, 1}, {60, 1}, {60, 2}, {total, 1}, {10 * total, 3}} {
		sub := seq.Subsample(tc.budget, tc.seed)
		got := sub.Tokens()
		if got < min(tc.budget, total) {
			t.Errorf("budget %d: subsample holds %d ids, want at least the budget", tc.budget, got)
		}
		// Removing any one block would go under the budget only if it is the last drawn;
		// at least check that it overshoots by less than one block.
		if tc.budget < total && got-tc.budget >= int64(seq.SeqLen()) {
			t.Errorf("budget %d: %d ids, overshoots by a whole block or more", tc.budget, got)
		}
		again := seq.Subsample(tc.budget, tc.seed)
		if !reflect.DeepEqual(blocks(sub), blocks(again)) {
			t.Errorf("budget %d seed %d: two subsamples differ", tc.budget, tc.seed)
		}
		prevLo := int64(-1)
		for i := 0; i < sub.Len(); i++ {
			lo, hi := sub.Bounds(i)
			if !all[[2]int64{lo, hi}] {
				t.Fatalf("block [%d,%d) is not a block of the full index", lo, hi)
			}
			if lo <= prevLo {
				t.Fatalf("blocks not in file order at %d", i)
			}
			prevLo = lo
		}
	}
	small, large := blocks(seq.Subsample(20, 7)), blocks(seq.Subsample(80, 7))
	for b := range small {
		if !large[b] {
			t.Errorf("block %v of the 20-token subsample is missing from the 80-token one (same seed)", b)
		}
	}
	if reflect.DeepEqual(blocks(seq.Subsample(60, 1)), blocks(seq.Subsample(60, 2))) {
		t.Error("seeds 1 and 2 chose the same blocks")
	}
}
