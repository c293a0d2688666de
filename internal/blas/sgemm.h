// Lethe's own row-major SGEMM (sgemm.c).
#ifndef LETHE_BLAS_SGEMM_H
#define LETHE_BLAS_SGEMM_H

// lethe_sgemm_own_available reports whether this CPU can run the AVX-512
// kernel (x86-64-v4 level, GCC build).
int lethe_sgemm_own_available(void);

// lethe_sgemm is C = alpha*op(A)*op(B) + beta*C, row-major, with the AVX-512
// kernel when own is nonzero (callers pass it only where available) and
// cblas_sgemm otherwise. With beta == 0, C is not read.
void lethe_sgemm(int own, int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                 const float *b, long ldb, float beta, float *c, long ldc);

#endif
