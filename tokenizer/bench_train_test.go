package tokenizer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTrainSpeedBesideSpmTrain times Lethe's trainer and spm_train on the
// same corpus, vocabulary size and thread count, and prints the ratio (the
// target is at most 2x spm_train) with the pieces per word of both models on
// held-out text. It runs only when LETHE_TRAIN_BENCH names the corpus:
//
//	LETHE_TRAIN_BENCH=/tmp/trbench/en50.txt go test ./tokenizer -run TrainSpeed -v -timeout 30m
//
// Optional: LETHE_TRAIN_BENCH_VOCAB (default 8000), LETHE_TRAIN_BENCH_THREADS
// (default 2), LETHE_TRAIN_BENCH_HELDOUT (default testdata/en.test.txt).
//
// A ~50 MB English corpus can be built offline from Debian packages, outside
// the repository:
//
//	mkdir -p /tmp/trbench && cd /tmp/trbench
//	apt-get download linux-doc-6.1 python3.11-doc perl-doc
//	for f in *.deb; do dpkg-deb -x $f x; done
//	(find x/usr/share/doc/linux-doc-6.1 -name '*.rst*'; find x -path '*_sources*' -name '*.txt*'; find x -name '*.pod') > files.lst
//	for f in $(cat files.lst); do case $f in *.gz) zcat $f;; *) cat $f;; esac; done |
//	  iconv -f utf-8 -t utf-8 -c | grep -v '^\s*$' > raw.txt
//	shuf --random-source=<(yes) raw.txt | head -c 52428800 | head -n -1 > en50.txt
//
// (1,074,437 lines, 52.4 MB: kernel documentation, Python and Perl manuals.)
// The machine's load average is printed before and after: the figures mean
// little on a busy machine.
func TestTrainSpeedBesideSpmTrain(t *testing.T) {
	corpus := os.Getenv("LETHE_TRAIN_BENCH")
	if corpus == "" {
		t.Skip("set LETHE_TRAIN_BENCH to a corpus file to compare training speed with spm_train")
	}
	vocab := benchEnvInt(t, "LETHE_TRAIN_BENCH_VOCAB", 8000)
	threads := benchEnvInt(t, "LETHE_TRAIN_BENCH_THREADS", 2)
	heldout := os.Getenv("LETHE_TRAIN_BENCH_HELDOUT")
	if heldout == "" {
		heldout = filepath.Join("testdata", "en.test.txt")
	}
	st, err := os.Stat(corpus)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Logf("corpus %s: %.1f MB; vocab %d; threads %d; GOMAXPROCS %d; CPUs %d", corpus, float64(st.Size())/1e6, vocab, threads,
		runtime.GOMAXPROCS(0), runtime.NumCPU())
	t.Logf("load average before: %s", loadAvg())

	o := DefaultTrainOptions()
	o.Inputs = []string{corpus}
	o.VocabSize = vocab
	o.NumThreads = threads
	o.Progress = os.Stderr
	lethePrefix := filepath.Join(dir, "lethe")
	begin := time.Now()
	m, stats, err := Train(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTrainedModel(lethePrefix, m); err != nil {
		t.Fatal(err)
	}
	letheTime := time.Since(begin)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("lethe: %.1fs (%d sentences, %d words, %d seeds, %d EM iterations), Go heap peak-ish %d MB",
		letheTime.Seconds(), stats.Sentences, stats.Words, stats.SeedPieces, stats.EMIterations, ms.HeapSys>>20)
	t.Logf("load average between: %s", loadAvg())

	spmPrefix := filepath.Join(dir, "spm")
	args := append([]string{"--input=" + corpus, "--model_prefix=" + spmPrefix, fmt.Sprintf("--vocab_size=%d", vocab),
		fmt.Sprintf("--num_threads=%d", threads)}, spmTrainArgs...)
	cmd := exec.Command(needTool(t, "spm_train"), args...)
	begin = time.Now()
	out, err := cmd.CombinedOutput()
	spmTime := time.Since(begin)
	if err != nil {
		t.Fatalf("spm_train: %v\n%s", err, lastLines(out, 5))
	}
	rss := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss >> 10
	}
	t.Logf("spm_train: %.1fs, max RSS %d MB", spmTime.Seconds(), rss)
	t.Logf("load average after: %s", loadAvg())

	raw := readLines(t, heldout)
	lp := piecesPerWord("en", raw, spmEncode(t, lethePrefix+".model", heldout))
	sp := piecesPerWord("en", raw, spmEncode(t, spmPrefix+".model", heldout))
	lm, err := ReadModelProto(lethePrefix + ".model")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := ReadModelProto(spmPrefix + ".model")
	if err != nil {
		t.Fatal(err)
	}
	ratio := letheTime.Seconds() / spmTime.Seconds()
	t.Logf("RESULT time lethe/spm_train = %.2f (lethe %.1fs, spm_train %.1fs); pieces/word on %s lethe %.4f spm %.4f (%+.2f%%); %.1f%% of spm_train's pieces shared",
		ratio, letheTime.Seconds(), spmTime.Seconds(), heldout, lp, sp, 100*(lp-sp)/sp, 100*sharedPieces(lm, sm))
	if ratio > 2 {
		t.Errorf("lethe took %.2fx spm_train's time, target at most 2x", ratio)
	}
}

func benchEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// loadAvg returns the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
