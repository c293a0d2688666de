package dataset

import (
	"encoding/json"
	"lethe/internal/splitmix"
	"math"
	"reflect"
	"testing"
)

// randomDocs returns n documents of varied lengths over normal ids of a
// vocabulary of size vocab, with EOS at each line end and a few UNK.
func randomDocs(n, vocab int, seed uint64) [][]int32 {
	r := splitmix.Rand{S: seed}
	docs := make([][]int32, n)
	for i := range docs {
		lines := 1 + int(r.Intn(4))
		for l := 0; l < lines; l++ {
			for k := 2 + int(r.Intn(40)); k > 0; k-- {
				id := int32(5 + r.Intn(uint64(vocab-5)))
				if r.Intn(50) == 0 {
					id = UNK
				}
				docs[i] = append(docs[i], id)
			}
			docs[i] = append(docs[i], EOS)
		}
	}
	return docs
}

func TestMaskProportions(t *testing.T) {
	const vocab = 1000
	for _, maskID := range []int32{4, vocab - 1} { // Lethe tokenizer; fairseq-style appended <mask>
		cfg := RobertaMask(maskID, vocab)
		var cand, chosen, masked, random, kept, specialsHit int
		ids := make([]int32, 128)
		labels := make([]int32, 128)
		orig := make([]int32, 128)
		r := splitmix.Rand{S: 42}
		for seq := 0; seq < 4000; seq++ {
			for i := range orig {
				switch v := r.Intn(20); {
				case v == 0:
					orig[i] = int32(r.Intn(4)) // a special id
				case v == 1:
					orig[i] = maskID // already a mask: never chosen
				default:
					orig[i] = cfg.randomNormal(r.Intn(vocab - 5))
				}
			}
			copy(ids, orig)
			n := cfg.Apply(ids, labels, SequenceKey(1, 0, seq))
			got := 0
			for i := range ids {
				if cfg.Maskable(orig[i]) {
					cand++
				}
				if labels[i] == IgnoreLabel {
					if ids[i] != orig[i] {
						t.Fatalf("unchosen position %d changed %d -> %d", i, orig[i], ids[i])
					}
					continue
				}
				got++
				if !cfg.Maskable(orig[i]) || labels[i] != orig[i] {
					specialsHit++
				}
				switch {
				case ids[i] == maskID:
					masked++
				case ids[i] == orig[i]:
					kept++
				default:
					random++
					if !cfg.Maskable(ids[i]) || int(ids[i]) >= vocab {
						t.Fatalf("random replacement %d is not a normal id", ids[i])
					}
				}
			}
			if got != n {
				t.Fatalf("Apply returned %d, labelled %d", n, got)
			}
			chosen += n
		}
		if specialsHit != 0 {
			t.Errorf("mask %d: %d special/mask tokens chosen or mislabelled", maskID, specialsHit)
		}
		share := func(a, b int) float64 { return float64(a) / float64(b) }
		checks := []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"chosen", share(chosen, cand), 0.15, 0.003},
			{"masked", share(masked, chosen), 0.80, 0.01},
			{"random", share(random, chosen), 0.10, 0.01},
			{"kept", share(kept, chosen), 0.10, 0.01}, // a random draw can equal the original: ~0.1*1/995
		}
		for _, c := range checks {
			if math.Abs(c.got-c.want) > c.tol {
				t.Errorf("mask %d: %s share %.4f, want %.2f +- %.3f", maskID, c.name, c.got, c.want, c.tol)
			}
		}
	}
}

func TestMaskOnlySamePositions(t *testing.T) {
	cfg := RobertaMask(4, 500)
	only := cfg
	only.MaskOnly = true
	docs := randomDocs(1, 500, 3)[0]
	a, b := append([]int32(nil), docs...), append([]int32(nil), docs...)
	la, lb := make([]int32, len(a)), make([]int32, len(b))
	na := cfg.Apply(a, la, 99)
	nb := only.Apply(b, lb, 99)
	if na != nb || !reflect.DeepEqual(la, lb) {
		t.Fatal("MaskOnly chose different positions")
	}
	for i := range b {
		if lb[i] != IgnoreLabel && b[i] != 4 {
			t.Errorf("mask-only position %d holds %d", i, b[i])
		}
	}
	if na == 0 {
		t.Error("nothing masked")
	}
}

func TestMaskConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  MaskConfig
		ok   bool
	}{
		{"roberta", RobertaMask(4, 8000), true},
		{"appended mask", RobertaMask(8000, 8001), true},
		{"mask is special", RobertaMask(3, 8000), false},
		{"mask beyond vocab", RobertaMask(8000, 8000), false},
		{"tiny vocab", RobertaMask(4, 5), false},
		{"prob > 1", MaskConfig{MaskID: 4, VocabSize: 10, Prob: 1.5}, false},
		{"fractions > 1", MaskConfig{MaskID: 4, VocabSize: 10, Prob: .15, MaskFrac: .9, RandomFrac: .2}, false},
		{"NaN prob", MaskConfig{MaskID: 4, VocabSize: 10, Prob: math.NaN()}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func newTestLoader(t testing.TB, bs int, seed uint64) (*Loader, *Sequences) {
	t.Helper()
	f := openDocs(t, 1000, randomDocs(200, 1000, 7))
	s, err := NewSequences(f, 32)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(s, LoaderConfig{BatchSize: bs, Seed: seed, Mask: RobertaMask(4, 1000)})
	if err != nil {
		t.Fatal(err)
	}
	return l, s
}

func cloneBatch(b *Batch) Batch {
	c := *b
	c.InputIDs = append([]int32(nil), b.InputIDs...)
	c.Labels = append([]int32(nil), b.Labels...)
	return c
}

func TestLoaderEpochsAndDeterminism(t *testing.T) {
	l, s := newTestLoader(t, 5, 11)
	l2, _ := newTestLoader(t, 5, 11)
	l3, _ := newTestLoader(t, 5, 12)
	perEpoch := s.Len()
	if perEpoch < 50 {
		t.Fatalf("only %d blocks; test needs more", perEpoch)
	}
	// Recover block identity from the unmasked content: row i's labels give
	// the originals at masked positions.
	unmask := func(b *Batch, r int) []int32 {
		row := append([]int32(nil), b.InputIDs[r*b.T:(r+1)*b.T]...)
		for i, lab := range b.Labels[r*b.T : (r+1)*b.T] {
			if lab != IgnoreLabel {
				row[i] = lab
			}
		}
		return row
	}
	// Blocks are identified by content; short blocks can repeat (e.g. a
	// lone "</s>" left from a split document), so compare multisets.
	wantCount := map[string]int{}
	dst := make([]int32, 32)
	for i := 0; i < s.Len(); i++ {
		s.Fill(i, dst)
		wantCount[string(int32Bytes(dst))]++
	}
	var b, b2, b3 Batch
	seen := map[string]int{}
	var order0, order1 []string
	differs := false
	for n := 0; n < 2*perEpoch; n += 5 {
		pos := l.Position()
		l.Next(&b)
		l2.Next(&b2)
		l3.Next(&b3)
		if !reflect.DeepEqual(b, b2) {
			t.Fatal("same seed, different batches")
		}
		if !reflect.DeepEqual(b.InputIDs, b3.InputIDs) {
			differs = true
		}
		if b.B != 5 || b.T != 32 || len(b.InputIDs) != 160 || len(b.Labels) != 160 || b.NumMasked == 0 {
			t.Fatalf("batch shape %dx%d, %d ids, %d masked", b.B, b.T, len(b.InputIDs), b.NumMasked)
		}
		for r := 0; r < b.B; r++ {
			key := string(int32Bytes(unmask(&b, r)))
			if wantCount[key] == 0 {
				t.Fatal("row is not a block of the file")
			}
			epoch := pos.Epoch
			if pos.Index+r >= perEpoch {
				epoch++
			}
			if epoch == 0 {
				seen[key]++
				order0 = append(order0, key)
			} else if epoch == 1 {
				order1 = append(order1, key)
			}
		}
	}
	if !reflect.DeepEqual(seen, wantCount) {
		t.Fatal("epoch 0 did not visit every block exactly once")
	}
	if reflect.DeepEqual(order0, order1[:len(order0)]) {
		t.Error("epoch 1 repeats epoch 0's order")
	}
	if !differs {
		t.Error("a different seed gave the same batches")
	}
	rows := (2*perEpoch + 4) / 5 * 5
	want := Position{Seed: 11, Epoch: uint64(rows / perEpoch), Index: rows % perEpoch, Sequences: perEpoch}
	if want.Index == 0 { // the epoch advances lazily, on the next row
		want.Epoch, want.Index = want.Epoch-1, perEpoch
	}
	if l.Position() != want {
		t.Errorf("after %d rows, position %+v, want %+v", rows, l.Position(), want)
	}
}

func int32Bytes(v []int32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = append(b, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	return b
}

func TestLoaderSeekResume(t *testing.T) {
	const bs = 7
	ref, s := newTestLoader(t, bs, 5)
	total := 3*s.Len()/bs + 4 // crosses several epoch boundaries
	var want []Batch
	var positions []Position
	var b Batch
	for i := 0; i < total; i++ {
		positions = append(positions, ref.Position())
		ref.Next(&b)
		want = append(want, cloneBatch(&b))
	}
	for _, at := range []int{0, 1, s.Len()/bs - 1, s.Len() / bs, total - 2} {
		// The position survives JSON (as in a checkpoint).
		raw, err := json.Marshal(positions[at])
		if err != nil {
			t.Fatal(err)
		}
		var p Position
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		fresh, _ := newTestLoader(t, bs, 5)
		fresh.Next(&b) // some history that Seek must discard
		if err := fresh.Seek(p); err != nil {
			t.Fatal(err)
		}
		for i := at; i < total; i++ {
			fresh.Next(&b)
			if !reflect.DeepEqual(b.InputIDs, want[i].InputIDs) || !reflect.DeepEqual(b.Labels, want[i].Labels) || b.NumMasked != want[i].NumMasked {
				t.Fatalf("resumed at batch %d: batch %d differs", at, i)
			}
		}
	}
	fresh, _ := newTestLoader(t, bs, 5)
	if err := fresh.Seek(Position{Seed: 6}); err == nil {
		t.Error("seek with another seed accepted")
	}
	if err := fresh.Seek(Position{Seed: 5, Index: s.Len() + 1}); err == nil {
		t.Error("seek beyond the epoch accepted")
	}
	if err := fresh.Seek(Position{Seed: 5, Index: 1, Sequences: s.Len() + 1}); err == nil {
		t.Error("seek over a different number of sequences accepted")
	}
	if err := fresh.Seek(Position{Seed: 5, Index: 1}); err != nil || fresh.Position().Sequences != s.Len() {
		t.Errorf("hand-made position: err %v, position %+v", err, fresh.Position())
	}
}

func TestLoaderNoAllocs(t *testing.T) {
	l, _ := newTestLoader(t, 16, 1)
	var b Batch
	l.Next(&b)
	if a := testing.AllocsPerRun(200, func() { l.Next(&b) }); a != 0 { // crosses epochs (shuffle reuses its buffer)
		t.Errorf("Loader.Next allocates %v times per call", a)
	}
	_, s := newTestLoader(t, 16, 1)
	it, err := NewEvalIter(s, 16, RobertaMask(4, 1000), 0)
	if err != nil {
		t.Fatal(err)
	}
	it.Next(&b)
	if a := testing.AllocsPerRun(50, func() {
		if !it.Next(&b) {
			it.Reset()
		}
	}); a != 0 {
		t.Errorf("EvalIter.Next allocates %v times per call", a)
	}
}

func TestEvalIter(t *testing.T) {
	_, s := newTestLoader(t, 1, 1)
	mask := RobertaMask(4, 1000)
	mask.MaskOnly = true
	const bs = 8
	it, err := NewEvalIter(s, bs, mask, 123)
	if err != nil {
		t.Fatal(err)
	}
	pass := func() []Batch {
		var out []Batch
		var b Batch
		for it.Next(&b) {
			out = append(out, cloneBatch(&b))
		}
		return out
	}
	first := pass()
	if len(first) != it.NumBatches() || len(first) != (s.Len()+bs-1)/bs {
		t.Fatalf("%d batches, want %d", len(first), it.NumBatches())
	}
	rows := 0
	dst := make([]int32, s.SeqLen())
	for bi, b := range first {
		if bi < len(first)-1 && b.B != bs {
			t.Errorf("batch %d short: %d rows", bi, b.B)
		}
		if len(b.InputIDs) != b.B*b.T {
			t.Errorf("batch %d: %d ids for %dx%d", bi, len(b.InputIDs), b.B, b.T)
		}
		for r := 0; r < b.B; r++ {
			s.Fill(rows, dst) // file order
			for i, lab := range b.Labels[r*b.T : (r+1)*b.T] {
				in := b.InputIDs[r*b.T+i]
				if lab == IgnoreLabel && in != dst[i] || lab != IgnoreLabel && (lab != dst[i] || in != 4) {
					t.Fatalf("batch %d row %d pos %d: input %d label %d, block has %d", bi, r, i, in, lab, dst[i])
				}
			}
			rows++
		}
	}
	if rows != s.Len() {
		t.Errorf("%d rows, want every one of %d blocks", rows, s.Len())
	}
	if last := first[len(first)-1]; s.Len()%bs != 0 && last.B != s.Len()%bs {
		t.Errorf("last batch has %d rows, want %d", last.B, s.Len()%bs)
	}
	it.Reset()
	if second := pass(); !reflect.DeepEqual(first, second) {
		t.Error("second evaluation pass differs")
	}
}

func BenchmarkLoaderNext(b *testing.B) {
	l, _ := newTestLoader(b, 16, 1)
	var batch Batch
	l.Next(&batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Next(&batch)
	}
	b.ReportMetric(float64(b.N*16*32)/b.Elapsed().Seconds(), "tokens/s")
}
