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
// (fastmath.go): a polynomial exp (about 1 ulp), erf and erfc (about 1e-7
// absolute; the normal CDF keeps a small relative error in its tails) and,
// for GELU's derivative on |x| < sqrt2, a single polynomial without an exp
// (1.8e-7 absolute). The float64 instantiations use math.Exp and math.Erf,
// so that finite-difference gradient checks are exact. Both draw identical
// dropout masks (the same integer hash).
//
// # Performance
//
// The loops are plain scalar Go (the compiler does not vectorise them),
// written so that the compiler drops bounds checks inside them (inputs
// re-sliced to a common length) and reductions run in four accumulators.
// Measured on the 2-core development machine (AMD EPYC with AVX-512,
// OpenBLAS 0.3.21 with OPENBLAS_CORETYPE=Haswell as that machine's
// environment sets it), one training step of the small preset (B=32,
// T=128, dropout 0.1; roberta's BenchmarkTrainStep, -benchtime=5x):
//
//   - with these loops in C (GCC, AVX-512) and a hand-written AVX-512
//     SGEMM, as before: 234 ms, 17,500 tokens/s;
//   - C loops, OpenBLAS SGEMM: 377 ms, 10,900 tokens/s;
//   - Go loops, OpenBLAS SGEMM (now): 500 ms, 8,200 tokens/s; 347 ms,
//     11,800 tokens/s where OPENBLAS_CORETYPE is unset and OpenBLAS picks
//     its AVX-512 "Cooperlake" kernels.
//
// Per op (BenchmarkOps: one whole-batch call on both cores, ms), C before
// and Go now: GELU forward 1.5 and 9.0, backward 1.3 and 8.3;
// cross-entropy forward 1.3 and 11.9, backward 1.0 and 10.5; attention
// with dropout (OpenBLAS GEMMs in both) forward 3.5 and 10.7, backward
// 7.2 and 12.3; LayerNorm forward 0.25 and 0.47, input gradient 0.57 and
// 0.60, parameter gradients 0.15 and 0.98; dropout 0.26-0.33 and 1.1.
// Single-threaded, per element (BenchmarkKernels32, BenchmarkMath, ns):
// exp 0.41 and 2.8, GELU forward 0.55 and 5.4, backward 0.57 and 5.5,
// softmax row 0.74 and 4.5, dropout mask 0.27 and 2.1.
package nn
