package benchmark

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunTiny runs the whole benchmark on the tiny preset, PyTorch included
// (one setup), and checks that every figure is there and sane.
func TestRunTiny(t *testing.T) {
	o := DefaultOptions()
	o.Preset, o.BatchSize, o.SeqLen, o.Warmup, o.Steps = "tiny", 4, 16, 1, 2
	o.TorchSetups = []TorchSetup{{TorchThreads: 1, OpenBLASThreads: 1}}
	o.BesideHog, o.HogRounds, o.HogNice = true, 2, 0 // a neighbour with an equal claim
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lethe.TokensPerSec <= 0 || rep.GEMMBound <= 0 || rep.Lethe.PeakRSSBytes <= 0 {
		t.Errorf("missing Lethe figures: %+v, GEMM bound %v", rep.Lethe, rep.GEMMBound)
	}
	if len(rep.Torch) != 1 || rep.TorchUser == nil || rep.TorchBest == nil || rep.TorchUser.TokensPerSec <= 0 {
		t.Fatalf("missing PyTorch figures: %+v", rep.Torch)
	}
	// Both trainers start from a RoBERTa init over 100 ids: loss near ln(100) = 4.6.
	for _, th := range []Throughput{rep.Lethe, rep.Torch[0]} {
		if th.Loss < 4 || th.Loss > 5.2 {
			t.Errorf("%s: loss %v, want about 4.6", th.Name, th.Loss)
		}
	}
	if rep.BesideHog == nil || rep.BesideHog.TokensPerSec <= 0 || rep.TorchBesideHog == nil || rep.TorchBesideHog.TokensPerSec <= 0 {
		t.Errorf("missing the runs beside the busy loop: %+v, %+v", rep.BesideHog, rep.TorchBesideHog)
	}
	if len(rep.TorchBesideHogSetups) != len(o.TorchSetups) {
		t.Errorf("PyTorch beside the busy loop in %d setups, want every one of %d", len(rep.TorchBesideHogSetups), len(o.TorchSetups))
	}
	if len(rep.QuietRounds) != 2 || len(rep.HogRounds) != 2 || rep.Lethe.TokensPerSec != min(rep.QuietRounds[0], rep.QuietRounds[1]) {
		t.Errorf("quiet rounds %v, busy-loop rounds %v, Lethe %v tokens/s: want 2 of each and the lower middle quiet one",
			rep.QuietRounds, rep.HogRounds, rep.Lethe.TokensPerSec)
	}
	// tiny: C=32, F=64, V=100, 2 layers, 2 heads of 16; N = 4*16 rows.
	const N, C, F, V, HS = 64, 32, 64, 100, 16
	M := float64(rep.MaskedPerStep)
	perLayer := 3*2*float64(N*(C*3*C+C*C+C*F+F*C)) + 6*2*float64(4*2*16*16*HS)
	if want := 2*perLayer + 3*2*M*(C*C+C*V); rep.StepFlops != want {
		t.Errorf("step flops %v, want %v", rep.StepFlops, want)
	}
	if rep.FMAPeak < 1e9 || rep.CPU.Kernels == "" || rep.CPU.GEMMCore == "" {
		t.Errorf("FMA peak %v flop/s, kernels %q, GEMM core %q", rep.FMAPeak, rep.CPU.Kernels, rep.CPU.GEMMCore)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	for _, want := range []string{"GEMM-only bound", "Lethe / PyTorch as a user writes it", "best thread setup", "allocations per update",
		"FMA peak", "CPU: ", "Beside a nice-0 busy loop Lethe keeps", "PyTorch's best setup there"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestRunRejectsBadNiceness checks that a niceness nice(1) would refuse or
// silently clamp is an error before anything runs.
func TestRunRejectsBadNiceness(t *testing.T) {
	for _, nice := range []int{-1, 20} {
		o := DefaultOptions()
		o.Preset, o.BesideHog, o.HogNice = "tiny", true, nice
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), "niceness") {
			t.Errorf("niceness %d: error %v, want one about the niceness", nice, err)
		}
	}
}
