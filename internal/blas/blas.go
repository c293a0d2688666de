// Package blas is a thin cgo binding to OpenBLAS's row-major GEMM, for
// float32 and float64 (cblas_sgemm and cblas_dgemm).
//
// Lethe runs OpenBLAS single-threaded and parallelises by calling Gemm from
// the goroutines of a parallel.Pool on disjoint row blocks, so OpenBLAS's own
// busy-waiting threads never compete with the pool for the machine's cores.
// Gemm is safe for concurrent use on disjoint outputs. Loading the package
// sets OpenBLAS to one thread (SetThreads(1)).
//
// OpenBLAS chooses its kernels at load time from the CPU, unless the
// OPENBLAS_CORETYPE environment variable names a core. The choice matters:
// on an AVX-512 machine the AVX-512 "Cooperlake"/"SkylakeX" kernels ran
// single-threaded sgemm about twice as fast as the AVX2 "Haswell" ones.
// CoreName reports the kernels in use.
package blas

/*
#cgo LDFLAGS: -lopenblas
#cgo noescape cblas_sgemm
#cgo noescape cblas_dgemm
#cgo nocallback cblas_sgemm
#cgo nocallback cblas_dgemm
#include <cblas.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

func init() { SetThreads(1) }

// CoreName reports which of OpenBLAS's kernel sets is in use (for example
// "Haswell" or "SkylakeX"), as openblas_get_corename does; benchmarks print
// it because it changes GEMM speed by about 2x.
func CoreName() string { return C.GoString(C.openblas_get_corename()) }

// SetThreads sets the number of threads OpenBLAS uses inside one call
// (openblas_set_num_threads). Lethe uses 1 and parallelises outside OpenBLAS.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}

// Gemm computes the row-major product C = alpha*op(A)*op(B) + beta*C, where
// op(X) is X or its transpose, op(A) is m x k, op(B) is k x n and C is m x n.
// lda, ldb and ldc are the row strides of the stored (untransposed) arrays,
// so a sub-matrix of a wider array can be used in place. It dispatches to
// cblas_sgemm or cblas_dgemm by the element size of T, and panics with a
// descriptive message if a slice is too short or a stride too small for the
// given shape (OpenBLAS would otherwise read or write out of bounds). With
// beta == 0, C is not read (NaNs in it do not propagate).
func Gemm[T ~float32 | ~float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas.Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	// op(A) is m x k: stored as m rows of k (no transpose) or k rows of m.
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check("A", a, ar, ac, lda)
	check("B", b, br, bc, ldb)
	check("C", c, m, n, ldc)
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = uint32(C.CblasTrans)
	}
	if transB {
		tb = uint32(C.CblasTrans)
	}
	pa, pb := ptr(a), ptr(b)
	pc := unsafe.Pointer(&c[0])
	var zero T
	if unsafe.Sizeof(zero) == 4 {
		C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
			C.float(alpha), (*C.float)(pa), C.blasint(lda), (*C.float)(pb), C.blasint(ldb),
			C.float(beta), (*C.float)(pc), C.blasint(ldc))
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(pa), C.blasint(lda), (*C.double)(pb), C.blasint(ldb),
		C.double(beta), (*C.double)(pc), C.blasint(ldc))
}

// check panics unless x holds a rows x cols row-major matrix with row stride ld.
func check[T any](name string, x []T, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("blas.Gemm: leading dimension of %s is %d, need >= %d", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("blas.Gemm: %s has %d elements, need %d for %dx%d with stride %d", name, len(x), need, rows, cols, ld))
	}
}

// ptr returns the address of x's first element, or nil for an empty slice.
func ptr[T any](x []T) unsafe.Pointer {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Pointer(&x[0])
}
