package main

import (
	"context"
	"flag"
	"fmt"
	"slices"

	"lethe/benchmark"
	"lethe/internal/atomicfile"
	"lethe/roberta"
)

func benchCommand() *command {
	return &command{
		name:    "bench",
		summary: "measure training throughput and memory against PyTorch",
		usage: `Trains the same RoBERTa masked LM (the small preset by default: hidden 256, 4 layers,
4 heads, FFN 1024, vocabulary 8000; batch 32 x 128 tokens, dropout 0.1, AdamW) in Lethe and
then in PyTorch (reference/bench_torch.py, run with Debian's /usr/bin/python3 and
python3-torch), one after the other, and prints tokens/s, seconds per update and peak
resident memory of each, their ratios, Lethe's allocations per update, Lethe's fraction
of the GEMM-only bound (the step's matrix products timed alone), and its GEMM flop rate as
a fraction of the machine's multiply-add peak, measured by a loop of independent FMAs. The
CPU model, its vector instruction sets and the kernels Lethe chose (LETHE_SIMD=go, sse2,
avx2 or avx512 caps them) are printed first. --beside-hog also runs Lethe beside a busy loop
on one core, as on a shared machine: at nice 19, a background job, by default; --hog-nice 0
makes it a neighbour with the same claim on the cores as Lethe. --hog-rounds quiet and
busy-loop runs alternate, and the medians of each are compared.

PyTorch is run first as a user writes it (torch.set_num_threads(2), OpenBLAS left at its
default) and then in other thread setups; the best one is reported beside it. Run it on an
otherwise idle machine: the figures are only as quiet as the machine.`,
		flags: func(fs *flag.FlagSet) func(context.Context, *runEnv) error {
			o := benchmark.DefaultOptions()
			fs.StringVar(&o.Preset, "preset", o.Preset, fmt.Sprintf("model preset %v (mini is the experiment presets' body)", roberta.PresetNames()))
			fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "sequences per update")
			fs.IntVar(&o.SeqLen, "seq-len", o.SeqLen, "tokens per sequence")
			fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "hidden and attention dropout")
			fs.IntVar(&o.Warmup, "warmup", o.Warmup, "untimed updates before timing (Lethe runs at least 4: one per batch it cycles through)")
			fs.IntVar(&o.Steps, "steps", o.Steps, "timed updates")
			fs.IntVar(&o.Threads, "threads", o.Threads, "cores for Lethe and PyTorch")
			noTorch := fs.Bool("no-torch", false, "skip PyTorch (Lethe and the GEMM bound only)")
			userOnly := fs.Bool("torch-user-only", false, "run PyTorch only as a user writes it (skip the thread-setup search)")
			fs.BoolVar(&o.BesideHog, "beside-hog", false, "also run Lethe beside a busy loop on one core and report the ratio to the quiet run")
			fs.IntVar(&o.HogNice, "hog-nice", o.HogNice, "with --beside-hog: the busy loop's niceness (19: a background job; 0: a neighbour with an equal claim)")
			fs.IntVar(&o.HogRounds, "hog-rounds", o.HogRounds, "with --beside-hog: alternating quiet and busy-loop runs of Lethe (medians reported)")
			jsonOut := fs.String("json", "", "also write the report as JSON to this file")
			return func(ctx context.Context, env *runEnv) error {
				o.Torch = !*noTorch
				o.TorchSetups = []benchmark.TorchSetup{{TorchThreads: o.Threads}}
				if !*userOnly {
					for _, s := range []benchmark.TorchSetup{
						{TorchThreads: o.Threads, OpenBLASThreads: 1},
						{TorchThreads: 1, OpenBLASThreads: o.Threads},
						{TorchThreads: 1, OpenBLASThreads: 1},
					} {
						if !slices.Contains(o.TorchSetups, s) { // --threads 1 makes three of them one
							o.TorchSetups = append(o.TorchSetups, s)
						}
					}
				}
				o.Log = env.stderr
				rep, err := benchmark.Run(ctx, o)
				if err != nil {
					return err
				}
				fmt.Fprintln(env.stdout)
				rep.WriteText(env.stdout)
				if *jsonOut != "" {
					return atomicfile.WriteJSON(*jsonOut, rep)
				}
				return nil
			}
		},
	}
}
