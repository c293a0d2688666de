// Package nn holds the numerical ops of the RoBERTa masked LM: each op is a
// Forward function and one or more Backward functions side by side, generic
// over Float (float32 for training, float64 for the finite-difference
// tests), with the tensor shapes in a comment at the top of each pair.
//
// # API changes
//
//   - CrossEntropyForward takes a probs output after losses (the row
//     softmax, which may alias logits), and CrossEntropyBackward reads those
//     probs instead of the logits (dlogits may alias probs): the forward
//     computes every exp once and the backward is one multiply pass, with no
//     exp. roberta.Model keeps the probabilities in a buffer of their own, so
//     that MaskedLogits still returns the logits.
//
// Additions beyond the agreed API:
//   - CrossEntropyForward and CrossEntropyBackward ignore rows whose target
//     is negative (loss 0, zero gradient, never counted as correct), as
//     PyTorch does for ignore_index=-100.
//   - Importing the package (through internal/blas) sets OpenBLAS to one
//     thread; the caller need not call blas.SetThreads(1) itself.
//
// Limits: attention needs C divisible by NH and T <= 16384 (it panics
// otherwise); a cross-entropy target >= V panics.
//
// # In-place calls
//
// These may be called with the output slice equal to an input slice (the
// same backing array and offset): AddForward (out = a or b), Accumulate,
// DropoutForward and DropoutBackward (out = in), GeluForward (out = inp),
// GeluBackward (dinp = dout or inp), LayerNormForward (out = inp),
// LayerNormBackwardInput (dinp = dout), CrossEntropyForward (probs =
// logits) and CrossEntropyBackward (dlogits = probs). Linear, attention,
// embedding and gather/scatter outputs must not overlap their inputs (GEMM
// operands, or rows read after being written).
//
// # Conventions
//
// Notation: N=B*T rows, C hidden size, NH heads, HS=C/NH head size, F FFN
// size, V vocabulary size, M masked rows. All tensors are row-major []T.
//
// Every function works on a range [lo, hi) (of rows unless its comment says
// otherwise) so that the caller can split it across cores with
// parallel.Pool.For and a closure built once. Ranges that a backward
// function splits over are chosen so that different ranges never write the
// same element: no locks and no atomics are needed.
//
// Activation gradients are overwritten (=) unless the function's name says
// Accumulate; parameter gradients are accumulated (+=). A nil
// parameter-gradient slice means the parameter is frozen and its gradient is
// skipped.
//
// No op allocates. Every op is Go; only GEMM leaves the package, to
// OpenBLAS through internal/blas. The float32 instantiations of GELU,
// softmax and cross-entropy use the package's own float32 math
// (fastmath.go): a polynomial exp (at most 1.25 ulp measured) whose core
// (expNoMax) is small enough for the compiler to inline into the loops;
// for |x| < sqrt2 a single polynomial in x*x for the normal CDF (GELU
// forward; relative error under 8e-7) and another for GELU's derivative
// (1.8e-7 absolute), with no exp; beyond, erfc through an exp (the normal
// CDF keeps a small relative error in its tails). The float64
// instantiations use math.Exp and math.Erf, so that finite-difference
// gradient checks are exact. Both draw identical dropout masks (the same
// integer hash, one SplitMix64 per pair of elements).
//
// # Performance
//
// The loops are plain scalar Go (the compiler does not vectorise them),
// written so that the compiler drops bounds checks inside them (inputs
// re-sliced to a common length), reductions run in four accumulators, and
// the hot loops make no calls in their common case. Measured on the 2-core
// development machine (AMD EPYC with AVX-512, OpenBLAS 0.3.21 with
// OPENBLAS_CORETYPE=Haswell as that machine's environment sets it), one
// training step of the small preset (B=32, T=128, dropout 0.1; roberta's
// BenchmarkTrainStep, -benchtime=5x):
//
//   - with these loops in C (GCC, AVX-512) and a hand-written AVX-512
//     SGEMM, as before: 234 ms, 17,500 tokens/s;
//   - C loops, OpenBLAS SGEMM: 377 ms, 10,900 tokens/s;
//   - first Go loops, OpenBLAS SGEMM: 500-510 ms, 8,000-8,200 tokens/s
//     (347 ms, 11,800 tokens/s where OPENBLAS_CORETYPE is unset and
//     OpenBLAS picks its AVX-512 "Cooperlake" kernels);
//   - Go loops now: 449-470 ms, 8,700-9,100 tokens/s; lethe bench went
//     from 79% to 84% of its GEMM-only bound (7,778 to 8,941 tokens/s).
//     The cross-entropy backward does no exp (the forward keeps the
//     probabilities), the attention backward draws its dropout mask once,
//     dropout hashes once per two elements without a branch, exp inlines,
//     GELU's CDF is one polynomial in x*x.
//
// Per op (BenchmarkOps: one whole-batch call on both cores, ms, best of
// three), the first Go loops and now, measured back to back on a busier
// machine than the earlier figures (C before: GELU forward 1.5, backward
// 1.3; cross-entropy forward 1.3, backward 1.0; attention with dropout
// forward 3.5, backward 7.2; LayerNorm 0.25, 0.57, 0.15; dropout 0.3):
// GELU forward 11.4 and 6.9, backward 11.7 and 6.9; cross-entropy forward
// 10.3 and 10.0, backward 9.9 and 0.7; attention with dropout (OpenBLAS
// GEMMs) forward 10.2 and 8.0, backward 10.7 and 7.5; LayerNorm forward
// 0.48 and 0.60 (unchanged code: noise), input gradient 0.67 and 0.61,
// parameter gradients 0.68 and 0.44-0.53; dropout 1.1 and 0.56.
// Single-threaded, per element (BenchmarkKernels32, BenchmarkMath, ns; C
// before in brackets): exp 2.85 and 2.61 [0.41] (the non-inlined wrapper
// with its clamp; inlined in exp_sum: 3.25 and 2.74), GELU forward 5.4 and
// 4.2 [0.55], backward 7.0 and 6.2 [0.57] (that benchmark runs in place,
// its values shrink over the iterations, and it varies from 6 to 9),
// softmax row 4.05 and 3.50 [0.74], dropout mask 1.93 and 1.01 [0.27].
package nn
