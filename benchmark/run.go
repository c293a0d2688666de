package benchmark

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lethe/internal/blas"
	"lethe/internal/parallel"
	"lethe/internal/simd"
	"lethe/optim"
	"lethe/reference"
	"lethe/roberta"
)

// Options configures a benchmark run.
type Options struct {
	Preset    string  // model preset (the target is "small")
	BatchSize int     // sequences per update
	SeqLen    int     // tokens per sequence
	Dropout   float64 // hidden and attention dropout
	Warmup    int     // untimed updates first
	Steps     int     // timed updates
	Threads   int     // cores for Lethe and for PyTorch
	Torch     bool    // also run the PyTorch reference
	// BesideHog reruns Lethe beside a busy loop on one core, as on a
	// machine shared with another job, and reports its throughput as a
	// fraction of the quiet run's.
	BesideHog bool
	// HogNice is the busy loop's niceness: 19 (the lowest priority) for a
	// background job, 0 for a neighbour with the same claim as Lethe.
	HogNice int
	// HogRounds is how many quiet and busy-loop runs of Lethe alternate
	// when BesideHog is set; the report gives the median of each, so that
	// the machine's own drift between two runs does not pass for the loop's
	// effect.
	HogRounds int
	// TorchSetups are the PyTorch thread setups to try. The first is the
	// one a user gets by writing torch.set_num_threads(Threads); the best of
	// all is reported beside it.
	TorchSetups []TorchSetup
	Log         io.Writer // progress messages; nil for none
}

// TorchSetup is one way of giving PyTorch the cores: the intra-op thread
// count (torch.set_num_threads) and OpenBLAS's thread count (Debian's torch
// does its GEMMs in OpenBLAS, which only obeys OPENBLAS_NUM_THREADS). 0 for
// OpenBLASThreads leaves the variable unset, as a user would.
type TorchSetup struct {
	TorchThreads, OpenBLASThreads int
}

func (s TorchSetup) String() string {
	ob := "default"
	if s.OpenBLASThreads > 0 {
		ob = strconv.Itoa(s.OpenBLASThreads)
	}
	return fmt.Sprintf("torch threads %d, OPENBLAS_NUM_THREADS %s", s.TorchThreads, ob)
}

// DefaultOptions is the benchmark: the small preset, 32 x 128
// tokens, dropout 0.1, AdamW, two cores, against PyTorch written as a user
// would write it and in its best thread setup.
func DefaultOptions() Options {
	return Options{
		Preset: "small", BatchSize: 32, SeqLen: 128, Dropout: 0.1, Warmup: 4, Steps: 10, Threads: 2, Torch: true, HogRounds: 3, HogNice: 19,
		TorchSetups: []TorchSetup{{2, 0}, {2, 1}, {1, 2}, {1, 1}},
	}
}

// Throughput is one measured trainer.
type Throughput struct {
	Name             string  `json:"name"`
	TokensPerSec     float64 `json:"tokens_per_s"`
	SecondsPerUpdate float64 `json:"seconds_per_update"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	AllocsPerUpdate  float64 `json:"allocs_per_update,omitempty"`
	Loss             float64 `json:"loss"`
}

// Report is what Run measured.
type Report struct {
	Options       Options      `json:"-"`
	Lethe         Throughput   `json:"lethe"`
	GEMMBound     float64      `json:"gemm_bound_tokens_per_s"` // tokens/s if the step were only its GEMMs
	Torch         []Throughput `json:"torch,omitempty"`         // one per setup, in Options order
	TorchUser     *Throughput  `json:"torch_user,omitempty"`    // the first setup
	TorchBest     *Throughput  `json:"torch_best,omitempty"`    // the fastest setup
	GOMAXPROCS    int          `json:"gomaxprocs"`
	NumCPU        int          `json:"num_cpu"`
	MaskedPerStep int          `json:"masked_per_update"`
	CPU           CPU          `json:"cpu"`
	Pinned        bool         `json:"pinned"` // Lethe's workers bound to CPUs of their own
	// StepFlops is one update's GEMM flops (forward, input and weight
	// gradients; the other ops are not counted); FMAPeak the machine's
	// measured multiply-add peak on Threads cores, in flop/s.
	StepFlops float64 `json:"step_flops"`
	FMAPeak   float64 `json:"fma_peak_flops"`
	// BesideHog is Lethe beside the busy loop (Options.BesideHog).
	BesideHog *Throughput `json:"beside_hog,omitempty"`
	// HogNice is the busy loop's niceness (meaningful with BesideHog).
	HogNice int `json:"hog_nice"`
	// HogShare is the share of one core the busy loop got meanwhile.
	HogShare float64 `json:"hog_share,omitempty"`
	// QuietRounds and HogRounds are Lethe's tokens/s in each of the
	// alternating quiet and busy-loop runs; Lethe and BesideHog are their
	// medians.
	QuietRounds []float64 `json:"quiet_rounds,omitempty"`
	HogRounds   []float64 `json:"hog_rounds,omitempty"`
	// TorchBesideHogSetups are PyTorch's setups, each run again beside
	// the same busy loop, and TorchBesideHog the fastest of them.
	TorchBesideHogSetups []Throughput `json:"torch_beside_hog_setups,omitempty"`
	TorchBesideHog       *Throughput  `json:"torch_beside_hog,omitempty"`
}

// Run trains the preset in Lethe, times the step's GEMMs alone, then trains
// the same model in PyTorch under each thread setup, one after the other.
func Run(ctx context.Context, o Options) (*Report, error) {
	cfg, err := roberta.Preset(o.Preset)
	if err != nil {
		return nil, err
	}
	if o.BesideHog && (o.HogNice < 0 || o.HogNice > 19) {
		return nil, fmt.Errorf("bench: the busy loop's niceness is %d; expected 0 (an equal claim) to 19 (the lowest priority)", o.HogNice)
	}
	cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = o.Dropout, o.Dropout
	if cfg.MaxSeqLen() < o.SeqLen {
		cfg.SetMaxSeqLen(o.SeqLen)
	}
	rep := &Report{Options: o, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPU: ReadCPU()}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}

	blas.SetThreads(1)
	pool := parallel.New(o.Threads)
	defer pool.Close()
	rep.Pinned = pool.Pinned()
	logf("bench: Lethe, %s preset, %d x %d tokens, dropout %g, %d threads: %d warm-up + %d timed updates",
		o.Preset, o.BatchSize, o.SeqLen, o.Dropout, o.Threads, o.Warmup, o.Steps)
	lethe, masked, err := runLethe(ctx, cfg, o, pool)
	if err != nil {
		return nil, err
	}
	rep.Lethe, rep.MaskedPerStep = lethe, masked
	logf("bench: Lethe %.0f tokens/s", lethe.TokensPerSec)

	if o.BesideHog {
		quiet, beside := []Throughput{lethe}, []Throughput(nil)
		var hogCPU, hogWall float64
		rounds := max(1, o.HogRounds)
		for r := range rounds {
			if r > 0 {
				t, _, err := runLethe(ctx, cfg, o, pool)
				if err != nil {
					return nil, err
				}
				quiet = append(quiet, t)
				logf("bench: Lethe %.0f tokens/s (quiet, round %d of %d)", t.TokensPerSec, r+1, rounds)
			}
			h, err := startHog(o.HogNice)
			if err != nil {
				return nil, err
			}
			before, start := h.cpuSeconds(), time.Now()
			t, _, err := runLethe(ctx, cfg, o, pool)
			hogCPU += h.cpuSeconds() - before
			hogWall += time.Since(start).Seconds()
			h.stop()
			if err != nil {
				return nil, err
			}
			beside = append(beside, t)
			logf("bench: Lethe %.0f tokens/s beside a nice-%d busy loop (round %d of %d)", t.TokensPerSec, o.HogNice, r+1, rounds)
		}
		rep.HogShare, rep.HogNice = hogCPU/hogWall, o.HogNice
		for i := range quiet {
			rep.QuietRounds = append(rep.QuietRounds, quiet[i].TokensPerSec)
			rep.HogRounds = append(rep.HogRounds, beside[i].TokensPerSec)
		}
		// Peak RSS is the process's high-water mark, which later rounds
		// inherit from earlier ones: only the first run's is Lethe's own.
		rep.Lethe = median(quiet)
		t := median(beside)
		rep.Lethe.PeakRSSBytes, t.PeakRSSBytes = quiet[0].PeakRSSBytes, quiet[0].PeakRSSBytes
		t.Name += fmt.Sprintf(" beside a nice-%d busy loop", o.HogNice)
		rep.BesideHog = &t
	}

	logf("bench: timing the step's GEMMs alone")
	d, flops := gemmBound(cfg, o.BatchSize, o.SeqLen, masked, 5, pool)
	rep.GEMMBound, rep.StepFlops = float64(o.BatchSize*o.SeqLen)/d.Seconds(), flops
	logf("bench: measuring the FMA peak on %d threads", o.Threads)
	rep.FMAPeak = simd.FMAPeak(o.Threads, time.Second)

	if o.Torch {
		for _, s := range o.TorchSetups {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			logf("bench: PyTorch, %s", s)
			t, err := runTorch(ctx, cfg, o, s)
			if err != nil {
				return nil, err
			}
			rep.Torch = append(rep.Torch, t)
			logf("bench: PyTorch %.0f tokens/s", t.TokensPerSec)
		}
		if len(rep.Torch) > 0 {
			rep.TorchUser = &rep.Torch[0]
			best := rep.Torch[fastest(rep.Torch)]
			rep.TorchBest = &best
		}
		if o.BesideHog && len(o.TorchSetups) > 0 {
			// The setup that is best on a quiet machine need not be best
			// beside the loop (a single thread loses nothing to it): every
			// setup runs again, and the fastest is PyTorch's figure.
			h, err := startHog(o.HogNice)
			if err != nil {
				return nil, err
			}
			for _, s := range o.TorchSetups {
				logf("bench: PyTorch, %s, beside a nice-%d busy loop", s, o.HogNice)
				t, err := runTorch(ctx, cfg, o, s)
				if err != nil {
					h.stop()
					return nil, err
				}
				t.Name += fmt.Sprintf(" beside a nice-%d busy loop", o.HogNice)
				rep.TorchBesideHogSetups = append(rep.TorchBesideHogSetups, t)
				logf("bench: PyTorch %.0f tokens/s", t.TokensPerSec)
			}
			h.stop()
			best := rep.TorchBesideHogSetups[fastest(rep.TorchBesideHogSetups)]
			rep.TorchBesideHog = &best
		}
	}
	return rep, nil
}

// fastest returns the index of the highest throughput in ts (not empty).
func fastest(ts []Throughput) int {
	i := 0
	for k, t := range ts {
		if t.TokensPerSec > ts[i].TokensPerSec {
			i = k
		}
	}
	return i
}

// runLethe trains the model on random batches (15% of positions masked, as
// the PyTorch script does) and measures tokens/s, allocations per update and
// the process's peak resident memory.
func runLethe(ctx context.Context, cfg roberta.Config, o Options, pool *parallel.Pool) (Throughput, int, error) {
	m, err := roberta.New(cfg, o.BatchSize, o.SeqLen, pool)
	if err != nil {
		return Throughput{}, 0, err
	}
	m.Init(1)
	sched := optim.ConstantSchedule{Rate: 1e-4}
	opt, err := optim.NewAdamW([]optim.Group{{Name: "all", Params: m.Params.All(), Schedule: sched, WeightDecay: 0.01}}, 0.9, 0.98, 1e-6)
	if err != nil {
		return Throughput{}, 0, err
	}
	opt.SetFor(pool.For)

	const batches = 4
	n := o.BatchSize * o.SeqLen
	ids := make([][]int32, batches)
	labels := make([][]int32, batches)
	rng := rand.New(rand.NewPCG(1, 2))
	masked := 0
	for k := range batches {
		ids[k], labels[k] = make([]int32, n), make([]int32, n)
		for i := range n {
			t := i % o.SeqLen
			id := int32(5 + rng.IntN(cfg.VocabSize-5))
			switch t {
			case 0:
				id = 0
			case o.SeqLen - 1:
				id = 2
			}
			ids[k][i], labels[k][i] = id, -100
			if t != 0 && t != o.SeqLen-1 && rng.Float64() < 0.15 {
				ids[k][i], labels[k][i] = 4, id
				if k == 0 {
					masked++
				}
			}
		}
	}
	var loss float64
	step := func(u int) error {
		k := u % batches
		m.ZeroGrad()
		l, _, _, err := m.Forward(ids[k], labels[k], o.BatchSize, true, uint64(u))
		if err != nil {
			return err
		}
		if err := m.Backward(); err != nil {
			return err
		}
		opt.Step(u + 1)
		loss = l
		return nil
	}
	// The warm-up sees every batch at least once: the buffers of the masked
	// rows grow to the largest masked count met, and would otherwise grow
	// inside the timed updates and count as allocations per update.
	warmup := max(o.Warmup, batches)
	for u := range warmup {
		if err := step(u); err != nil {
			return Throughput{}, 0, err
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for u := warmup; u < warmup+o.Steps; u++ {
		if err := ctx.Err(); err != nil {
			return Throughput{}, 0, err
		}
		if err := step(u); err != nil {
			return Throughput{}, 0, err
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return Throughput{
		Name:             fmt.Sprintf("Lethe (%d threads)", o.Threads),
		TokensPerSec:     float64(o.Steps*n) / elapsed.Seconds(),
		SecondsPerUpdate: elapsed.Seconds() / float64(o.Steps),
		PeakRSSBytes:     peakRSS(),
		AllocsPerUpdate:  float64(after.Mallocs-before.Mallocs) / float64(o.Steps),
		Loss:             loss,
	}, masked, nil
}

// peakRSS is the process's resident-memory high-water mark.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// runTorch runs reference/bench_torch.py under one thread setup.
func runTorch(ctx context.Context, cfg roberta.Config, o Options, s TorchSetup) (Throughput, error) {
	var env []string
	if s.OpenBLASThreads > 0 {
		env = append(env, fmt.Sprintf("OPENBLAS_NUM_THREADS=%d", s.OpenBLASThreads))
	}
	args := []string{
		"--threads", strconv.Itoa(s.TorchThreads),
		"--vocab", strconv.Itoa(cfg.VocabSize), "--hidden", strconv.Itoa(cfg.HiddenSize),
		"--layers", strconv.Itoa(cfg.NumHiddenLayers), "--heads", strconv.Itoa(cfg.NumAttentionHeads),
		"--ffn", strconv.Itoa(cfg.IntermediateSize), "--batch", strconv.Itoa(o.BatchSize),
		"--seq", strconv.Itoa(o.SeqLen), "--dropout", strconv.FormatFloat(o.Dropout, 'g', -1, 64),
		"--warmup", strconv.Itoa(o.Warmup), "--steps", strconv.Itoa(o.Steps),
	}
	out, err := reference.Run(ctx, "bench_torch.py", env, args...)
	if err != nil {
		return Throughput{}, err
	}
	var r struct {
		TokensPerSec     float64 `json:"tokens_per_s"`
		SecondsPerUpdate float64 `json:"seconds_per_update"`
		PeakRSSBytes     int64   `json:"peak_rss_bytes"`
		Loss             float64 `json:"loss"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return Throughput{}, fmt.Errorf("bench: PyTorch printed %q: %w", out, err)
	}
	return Throughput{Name: "PyTorch (" + s.String() + ")", TokensPerSec: r.TokensPerSec,
		SecondsPerUpdate: r.SecondsPerUpdate, PeakRSSBytes: r.PeakRSSBytes, Loss: r.Loss}, nil
}

// median returns the run with the median tokens/s (the lower middle one of
// an even count).
func median(runs []Throughput) Throughput {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b Throughput) int { return cmp.Compare(a.TokensPerSec, b.TokensPerSec) })
	return s[(len(s)-1)/2]
}

// WriteText prints the report as a table with the ratios the issue asks for.
func (r *Report) WriteText(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "Training throughput, %s preset, batch %d x %d tokens, dropout %g, AdamW, %d threads (%d CPUs)\n",
		o.Preset, o.BatchSize, o.SeqLen, o.Dropout, o.Threads, r.NumCPU)
	fmt.Fprintf(w, "CPU: %s; flags: %s\n", r.CPU.Model, strings.Join(r.CPU.Flags, " "))
	fmt.Fprintf(w, "Lethe's kernels: %s (SIMD) and OpenBLAS %s (GEMM)\n", r.CPU.Kernels, r.CPU.GEMMCore)
	if r.Pinned {
		fmt.Fprintf(w, "Lethe's threads: one per CPU, each bound to its CPU (LETHE_PIN=0 leaves them to the OS)\n\n")
	} else {
		fmt.Fprintf(w, "Lethe's threads: placed by the OS (LETHE_PIN=1 binds each to a CPU of its own)\n\n")
	}
	fmt.Fprintf(w, "%-58s %10s %10s %10s\n", "trainer", "tokens/s", "s/update", "peak RSS")
	row := func(t Throughput) {
		fmt.Fprintf(w, "%-58s %10.0f %10.3f %9.0fM\n", t.Name, t.TokensPerSec, t.SecondsPerUpdate, float64(t.PeakRSSBytes)/(1<<20))
	}
	row(r.Lethe)
	if r.BesideHog != nil {
		row(*r.BesideHog)
	}
	for _, t := range r.Torch {
		row(t)
	}
	for _, t := range r.TorchBesideHogSetups {
		row(t)
	}
	fmt.Fprintf(w, "\nLethe allocations per update after warm-up: %.1f\n", r.Lethe.AllocsPerUpdate)
	fmt.Fprintf(w, "GEMM-only bound: %.0f tokens/s; Lethe reaches %.0f%% of it\n", r.GEMMBound, 100*r.Lethe.TokensPerSec/r.GEMMBound)
	if r.FMAPeak > 0 {
		fl := r.StepFlops / r.Lethe.SecondsPerUpdate
		fmt.Fprintf(w, "FMA peak (measured, %d threads): %.0f Gflop/s; Lethe's step: %.0f Gflop/s of GEMM work, %.0f%% of the peak\n",
			o.Threads, r.FMAPeak/1e9, fl/1e9, 100*fl/r.FMAPeak)
	}
	if r.BesideHog != nil {
		rounds := make([]string, len(r.HogRounds))
		for i := range rounds {
			rounds[i] = fmt.Sprintf("%.0f%%", 100*r.HogRounds[i]/r.QuietRounds[i])
		}
		fmt.Fprintf(w, "Beside a nice-%d busy loop Lethe keeps %.0f%% of its quiet throughput (medians of %d alternating runs each; round by round %s); the loop got %.0f%% of a core meanwhile\n",
			r.HogNice, 100*r.BesideHog.TokensPerSec/r.Lethe.TokensPerSec, len(r.HogRounds), strings.Join(rounds, ", "), 100*r.HogShare)
	}
	if r.TorchUser != nil {
		fmt.Fprintf(w, "Lethe / PyTorch as a user writes it (%s): %.2fx tokens/s, %.2fx peak memory\n",
			o.TorchSetups[0], r.Lethe.TokensPerSec/r.TorchUser.TokensPerSec, float64(r.Lethe.PeakRSSBytes)/float64(r.TorchUser.PeakRSSBytes))
		fmt.Fprintf(w, "Lethe / PyTorch in its best thread setup (%s): %.2fx tokens/s, %.2fx peak memory\n",
			r.TorchBest.Name, r.Lethe.TokensPerSec/r.TorchBest.TokensPerSec, float64(r.Lethe.PeakRSSBytes)/float64(r.TorchBest.PeakRSSBytes))
		if r.BesideHog != nil && r.TorchBesideHog != nil {
			fmt.Fprintf(w, "Beside the busy loop: PyTorch's best setup there (%s) keeps %.0f%% of its quiet best; Lethe / PyTorch's best beside the loop: %.2fx tokens/s\n",
				o.TorchSetups[fastest(r.TorchBesideHogSetups)], 100*r.TorchBesideHog.TokensPerSec/r.TorchBest.TokensPerSec, r.BesideHog.TokensPerSec/r.TorchBesideHog.TokensPerSec)
		}
	}
}
