// Package nn holds the numerical ops of the RoBERTa masked LM: each op is a
// Forward function and one or more Backward functions side by side, generic
// over Float (float32 for training, float64 for the finite-difference
// tests), with the tensor shapes in a comment at the top of each pair.
//
// Cross-entropy: CrossEntropyForward writes the row softmax (probs, which
// may alias logits) beside the losses, and CrossEntropyBackward reads those
// probs (dlogits may alias them), so the backward is one multiply pass with
// no exp. Rows whose target is negative are ignored (loss 0, zero gradient,
// never counted as correct), as PyTorch does for ignore_index=-100.
// Importing the package (through internal/blas) sets OpenBLAS to one thread.
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
// No op allocates. Only GEMM leaves Go, to OpenBLAS through internal/blas,
// and the float32 loops of GELU, softmax, exp and dropout, which run as
// internal/simd's kernels (AVX-512, AVX2+FMA or SSE2, chosen for the CPU at
// load time). The Go loops of those ops (fastmath.go's float32 math: a
// polynomial exp of at most 1.25 ulp; for |x| < sqrt2 one polynomial in x*x
// for the normal CDF, relative error under 8e-7, and another for GELU's
// derivative, 1.8e-7 absolute, with erfc through an exp beyond) are the
// reference the kernels are tested against, and they run where simd's level
// is Go (LETHE_SIMD=go). The float64 instantiations use math.Exp and
// math.Erf, so that finite-difference gradient checks are exact. Every path
// draws identical dropout masks (the same integer hash, one SplitMix64 per
// pair of elements). Measured speeds are in docs/PERFORMANCE.md.
package nn
