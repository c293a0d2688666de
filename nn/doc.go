// Package nn holds the numerical ops of the RoBERTa masked LM: each op is a
// Forward function and one or more Backward functions side by side, generic
// over Float (float32 for training, float64 for the finite-difference
// tests), with the tensor shapes in a comment at the top of each pair.
//
// # API changes
//
// None so far: every signature is as first agreed.
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
// LayerNormBackwardInput (dinp = dout) and CrossEntropyBackward (dlogits =
// logits). Linear, attention, embedding and gather/scatter outputs must not
// overlap their inputs (GEMM operands, or rows read after being written).
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
// No op allocates. For float32 the transcendental, hashing and reduction
// loops (GELU, softmax, dropout masks, cross-entropy, LayerNorm, bias-gradient
// column sums) run in C (kernels.c, through cgo), which GCC vectorises with
// AVX-512, AVX2 or baseline code chosen at load time; they use the package's
// own polynomial exp (about 1 ulp) and erf/erfc (about 1e-7 absolute, small
// relative error in the tails) instead of math.Exp and math.Erf. The float64
// paths are plain Go with the math package, so that finite-difference
// gradient checks are exact. Both paths draw identical dropout masks.
package nn
