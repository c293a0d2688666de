package blas

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// naive is the reference row-major GEMM.
func naive(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
		}
	}
}

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func TestGemmMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		ta, tb    bool
		m, n, k   int
		pad       int // extra stride on every operand
		alpha, bt float64
	}{
		{false, false, 3, 4, 5, 0, 1, 0},
		{true, false, 7, 3, 2, 1, 0.5, 1},
		{false, true, 1, 9, 4, 3, 2, -1},
		{true, true, 5, 5, 5, 2, 1, 0.25},
		{false, false, 33, 17, 65, 0, 1, 1},
		{false, true, 4, 6, 0, 0, 1, 2}, // k=0 scales C by beta
		{false, false, 13, 33, 7, 1, 1, 0},
		// Larger shapes, in every layout.
		{false, true, 300, 2100, 600, 3, 0.5, 0.25},
		{true, false, 157, 45, 520, 0, 1, 1},
		{false, false, 145, 33, 257, 1, 2, 0},
		{true, true, 25, 97, 300, 2, 1, -1},
	}
	for _, tc := range tests {
		ar, ac := tc.m, tc.k
		if tc.ta {
			ar, ac = tc.k, tc.m
		}
		br, bc := tc.k, tc.n
		if tc.tb {
			br, bc = tc.n, tc.k
		}
		lda, ldb, ldc := max(ac+tc.pad, 1), max(bc+tc.pad, 1), tc.n+tc.pad
		a := randSlice(r, max(ar*lda, 1))
		b := randSlice(r, max(br*ldb, 1))
		c := randSlice(r, tc.m*ldc)
		want := append([]float64(nil), c...)
		naive(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bt, want, ldc)
		got := append([]float64(nil), c...)
		Gemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.bt, got, ldc)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: float64 c[%d]=%v want %v", tc, i, got[i], want[i])
			}
		}
		a32, b32, c32 := to32(a), to32(b), to32(c)
		Gemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, float32(tc.alpha), a32, lda, b32, ldb, float32(tc.bt), c32, ldc)
		for i := range want {
			if math.Abs(float64(c32[i])-want[i]) > 1e-5*(1+math.Abs(want[i]))*math.Sqrt(float64(tc.k+1)) {
				t.Fatalf("%+v: float32 c[%d]=%v want %v", tc, i, c32[i], want[i])
			}
		}
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestGemmBetaZeroIgnoresC checks that with beta = 0 a NaN already in C
// does not reach the result, for float32 and float64.
func TestGemmBetaZeroIgnoresC(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 1, 1, 1}
	want := []float32{4, 5, 10, 11} // [1 2 3; 4 5 6] @ [1 0; 0 1; 1 1]
	for _, k := range []int{3, 0} {
		c := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.NaN()), 7}
		Gemm(false, false, 2, 2, k, 1, a, 3, b, 2, 0, c, 2)
		for i := range c {
			w := want[i]
			if k == 0 {
				w = 0
			}
			if c[i] != w {
				t.Errorf("float32 k=%d: c=%v, want %v", k, c, w)
				break
			}
		}
	}
	c64 := []float64{math.NaN(), 1, 1, 1}
	Gemm(false, false, 2, 2, 3, 1, []float64{1, 2, 3, 4, 5, 6}, 3, []float64{1, 0, 0, 1, 1, 1}, 2, 0, c64, 2)
	if c64[0] != 4 {
		t.Errorf("float64: c[0]=%v, want 4", c64[0])
	}
}

func TestGemmPanicsOnShortSlice(t *testing.T) {
	tests := []struct {
		name string
		call func()
	}{
		{"short A", func() {
			Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"short B", func() {
			Gemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 5), 2, 0, make([]float32, 6), 3)
		}},
		{"short C", func() {
			Gemm(false, false, 2, 2, 2, 1.0, make([]float64, 4), 2, make([]float64, 4), 2, 0, make([]float64, 3), 2)
		}},
		{"small ldc", func() {
			Gemm(false, false, 2, 2, 2, 1.0, make([]float64, 4), 2, make([]float64, 4), 2, 0, make([]float64, 8), 1)
		}},
	}
	for _, tc := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.call()
		}()
	}
}

// TestGemmConcurrent checks that single-threaded OpenBLAS calls from several
// goroutines at once, each on its own row block, give the right answer.
func TestGemmConcurrent(t *testing.T) {
	SetThreads(1)
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 256, 96, 300
	a32, b32 := to32(randSlice(r, m*k)), to32(randSlice(r, n*k))
	ref := make([]float64, m*n)
	naive(false, true, m, n, k, 1, to64(a32), k, to64(b32), k, 0, ref, n)
	const g = 8
	// want: the same row blocks computed one after another, so the result
	// must match bit for bit; it is itself checked against float64.
	want := make([]float32, m*n)
	for w := 0; w < g; w++ {
		lo, hi := w*m/g, (w+1)*m/g
		Gemm(false, true, hi-lo, n, k, 1, a32[lo*k:], k, b32, k, 0, want[lo*n:], n)
	}
	for i := range ref {
		if math.Abs(float64(want[i])-ref[i]) > 1e-4*(1+math.Abs(ref[i])) {
			t.Fatalf("sequential blocks: c[%d]=%v want %v", i, want[i], ref[i])
		}
	}
	for rep := 0; rep < 20; rep++ {
		got := make([]float32, m*n)
		var wg sync.WaitGroup
		for w := 0; w < g; w++ {
			lo, hi := w*m/g, (w+1)*m/g
			wg.Go(func() {
				Gemm(false, true, hi-lo, n, k, 1, a32[lo*k:], k, b32, k, 0, got[lo*n:], n)
			})
		}
		wg.Wait()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("rep %d: c[%d]=%v want %v", rep, i, got[i], want[i])
			}
		}
	}
}

func TestCoreName(t *testing.T) {
	name := CoreName()
	t.Logf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%q)", name, os.Getenv("OPENBLAS_CORETYPE"))
	if name == "" {
		t.Fatal("empty OpenBLAS core name")
	}
	if want := os.Getenv("OPENBLAS_CORETYPE"); want != "" && !strings.EqualFold(want, name) {
		t.Errorf("OPENBLAS_CORETYPE=%s but core is %s: the user's choice must be kept", want, name)
	}
}

// TestCoreWithoutOverride runs this package's GEMM tests in a child
// process without OPENBLAS_CORETYPE, so that OpenBLAS picks its kernels from
// the CPU, and checks that they pass there too; it logs the core chosen.
func TestCoreWithoutOverride(t *testing.T) {
	if os.Getenv("LETHE_BLAS_CHILD") != "" {
		t.Skip("in the child")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENBLAS_CORETYPE=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^(TestCoreName|TestGemmMatchesNaive|TestGemmConcurrent)$", "-test.v", "-test.count=1")
	cmd.Env = append(env, "LETHE_BLAS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child without OPENBLAS_CORETYPE failed: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`OpenBLAS core: (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child did not report its core:\n%s", out)
	}
	t.Logf("without OPENBLAS_CORETYPE the core is %s (CPU has AVX-512: %v)", m[1], hasAVX512())
}

// hasAVX512 reports whether /proc/cpuinfo lists the AVX-512 subsets that
// OpenBLAS's SkylakeX kernels need (false where it cannot be read).
func hasAVX512() bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	flags := string(b)
	for _, f := range []string{"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"} {
		if !strings.Contains(flags, " "+f) {
			return false
		}
	}
	return true
}

const bm, bn, bk = 4096, 1024, 256

func gflops(b *testing.B, d time.Duration) {
	b.ReportMetric(2*bm*bn*bk*float64(b.N)/d.Seconds()/1e9, "GFLOPS")
}

// BenchmarkSgemmOpenBLAS2 is one 4096x1024x256 sgemm by OpenBLAS with its
// own two threads.
func BenchmarkSgemmOpenBLAS2(b *testing.B) {
	a, w, c := make([]float32, bm*bk), make([]float32, bn*bk), make([]float32, bm*bn)
	SetThreads(2)
	defer SetThreads(1)
	start := time.Now()
	for b.Loop() {
		Gemm(false, true, bm, bn, bk, 1, a, bk, w, bk, 0, c, bn)
	}
	gflops(b, time.Since(start))
}

// BenchmarkSgemmGoroutines2 is the same product as two goroutines each doing
// half of the rows with single-threaded OpenBLAS.
func BenchmarkSgemmGoroutines2(b *testing.B) {
	a, w, c := make([]float32, bm*bk), make([]float32, bn*bk), make([]float32, bm*bn)
	SetThreads(1)
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for h := 0; h < 2; h++ {
			lo, hi := h*bm/2, (h+1)*bm/2
			wg.Go(func() { Gemm(false, true, hi-lo, bn, bk, 1, a[lo*bk:], bk, w, bk, 0, c[lo*bn:], bn) })
		}
		wg.Wait()
	}
	gflops(b, time.Since(start))
}

// BenchmarkSgemm1 is one single-threaded call, for reference.
func BenchmarkSgemm1(b *testing.B) {
	a, w, c := make([]float32, bm*bk), make([]float32, bn*bk), make([]float32, bm*bn)
	SetThreads(1)
	start := time.Now()
	for b.Loop() {
		Gemm(false, true, bm, bn, bk, 1, a, bk, w, bk, 0, c, bn)
	}
	gflops(b, time.Since(start))
}

// BenchmarkSgemmShapes times single-threaded sgemm at the per-worker shapes
// of the small preset's layers (two workers): the FFN forward (NT), input
// gradient (NN) and weight gradient (TN, split over output features), the
// fused QKV forward and one attention head's scores.
func BenchmarkSgemmShapes(b *testing.B) {
	b.Logf("OpenBLAS core: %s", CoreName())
	type sh struct {
		name    string
		ta, tb  bool
		m, n, k int
	}
	for _, s := range []sh{
		{"fwd_NT_2048x1024x256", false, true, 2048, 1024, 256},
		{"bwdin_NN_2048x256x1024", false, false, 2048, 256, 1024},
		{"bwdw_TN_512x256x4096", true, false, 512, 256, 4096},
		{"bwdw_TN_128x256x4096", true, false, 128, 256, 4096},
		{"fwdqkv_NT_2048x768x256", false, true, 2048, 768, 256},
		{"attn_NT_128x128x64", false, true, 128, 128, 64},
		{"attn_NN_128x64x128", false, false, 128, 64, 128},
		{"attn_TN_128x64x128", true, false, 128, 64, 128},
		{"lmhead_NT_307x8000x256", false, true, 307, 8000, 256},
	} {
		b.Run(s.name, func(b *testing.B) {
			lda := s.k
			if s.ta {
				lda = s.m
			}
			ldb := s.n
			if s.tb {
				ldb = s.k
			}
			a, bb, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
			start := time.Now()
			for b.Loop() {
				Gemm(s.ta, s.tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOPS")
		})
	}
}
