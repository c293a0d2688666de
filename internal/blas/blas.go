// Package blas is Lethe's row-major GEMM, for float32 and float64: OpenBLAS
// through cgo, plus the package's own AVX-512 single-precision kernel.
//
// Lethe runs GEMMs single-threaded and parallelises by calling Gemm from the
// goroutines of a parallel.Pool on disjoint row blocks, so OpenBLAS's own
// busy-waiting threads never compete with the pool for the machine's cores.
// Gemm is safe for concurrent use on disjoint outputs. Loading the package
// sets OpenBLAS to one thread (SetThreads(1)).
//
// Float32 GEMMs use the package's own kernel (sgemm.c: Goto/BLIS blocking
// around a 12 x 32 AVX-512 register tile) on CPUs with AVX-512 (the
// x86-64-v4 level), and OpenBLAS elsewhere or when the environment sets
// LETHE_SGEMM=openblas. Measured single-threaded on the development machine
// (AVX-512, OpenBLAS 0.3.21 pinned to its AVX2 "Haswell" kernels by
// OPENBLAS_CORETYPE) it ran the model's layer shapes at 200-260 GFLOPS
// and attention-size products at 185-250, against OpenBLAS's 105-130.
// Each OS thread that runs the kernel keeps a 2.2 MB
// packing buffer (allocated in C on its first call, freed when the thread
// exits), so calls never allocate on the Go heap. Float64 always uses
// OpenBLAS. SgemmKernel and CoreName report what is in use.
package blas

/*
#cgo LDFLAGS: -lopenblas -lpthread
#cgo noescape cblas_dgemm
#cgo nocallback cblas_dgemm
#cgo noescape lethe_sgemm
#cgo nocallback lethe_sgemm
#include <cblas.h>
#include "sgemm.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

func init() { SetThreads(1) }

// ownSgemm reports, deciding once per process, whether float32 Gemm uses
// the package's AVX-512 kernel: when the CPU supports it and LETHE_SGEMM is
// not "openblas". (A lazily computed constant, not mutable state.)
var ownSgemm = sync.OnceValue(func() bool {
	return os.Getenv("LETHE_SGEMM") != "openblas" && ownSgemmAvailable()
})

// ownSgemmAvailable reports whether the CPU can run the AVX-512 kernel.
func ownSgemmAvailable() bool { return C.lethe_sgemm_own_available() != 0 }

// SgemmKernel names the float32 GEMM in use: "lethe-avx512" or
// "openblas-" followed by CoreName.
func SgemmKernel() string {
	if ownSgemm() {
		return "lethe-avx512"
	}
	return "openblas-" + CoreName()
}

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
// so a sub-matrix of a wider array can be used in place. It dispatches by the
// element size of T to the float32 kernel (see the package comment) or
// cblas_dgemm, and panics with a descriptive message if a slice is too short
// or a stride too small for the given shape (the kernels would otherwise
// read or write out of bounds). With beta == 0, C is not read (NaNs in it do
// not propagate).
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
		sgemm(ownSgemm(), transA, transB, m, n, k, float32(alpha), pa, lda, pb, ldb, float32(beta), pc, ldc)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(pa), C.blasint(lda), (*C.double)(pb), C.blasint(ldb),
		C.double(beta), (*C.double)(pc), C.blasint(ldc))
}

// sgemm runs the float32 product on checked pointers, with the package's
// kernel if own is true and OpenBLAS otherwise.
func sgemm(own, transA, transB bool, m, n, k int, alpha float32, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, beta float32, c unsafe.Pointer, ldc int) {
	C.lethe_sgemm(cbool(own), cbool(transA), cbool(transB), C.long(m), C.long(n), C.long(k),
		C.float(alpha), (*C.float)(a), C.long(lda), (*C.float)(b), C.long(ldb),
		C.float(beta), (*C.float)(c), C.long(ldc))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
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
