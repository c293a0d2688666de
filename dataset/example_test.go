package dataset_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"lethe/dataset"
)

// Example shows the life of a token file: written once by "lethe prepare",
// then memory-mapped, cut into sequences and served as masked batches whose
// position can be checkpointed.
func Example() {
	dir, _ := os.MkdirTemp("", "lethe-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "train.tok")

	w, err := dataset.Create(path, 100)
	if err != nil {
		log.Fatal(err)
	}
	w.AppendDocument([]int32{10, 11, 12, dataset.EOS, 13, 14, dataset.EOS}) // two lines
	w.AppendDocument([]int32{20, 21, dataset.EOS})
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	f, err := dataset.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	seqs, _ := dataset.NewSequences(f, 8) // <s> + 7 ids per sequence
	loader, err := dataset.NewLoader(seqs, dataset.LoaderConfig{BatchSize: 2, Seed: 1, Mask: dataset.RobertaMask(4, 100)})
	if err != nil {
		log.Fatal(err)
	}
	var b dataset.Batch
	loader.Next(&b)
	fmt.Println(f.NumDocs(), f.NumTokens(), seqs.Len(), b.B, b.T, len(b.InputIDs))
	fmt.Printf("%+v\n", loader.Position()) // store this in the checkpoint; Seek(it) on resume
	// Output:
	// 2 10 2 2 8 16
	// {Seed:1 Epoch:0 Index:2 Sequences:2}
}
