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
// No op allocates. The float32 paths use the package's own polynomial exp
// and erf (about 1 ulp and 1e-7 absolute) instead of math.Exp and math.Erf,
// which would cost a float64 round trip per element; the float64 paths keep
// the math package so that finite-difference checks are exact.
package nn
