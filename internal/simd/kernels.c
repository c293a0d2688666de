// SIMD kernels of the float32 ops outside GEMM, written once (body.h) with
// GCC's vector extensions and compiled three times, each with vectors as
// wide as its target's registers: AVX-512 (16 float32 lanes), AVX2+FMA (8)
// and baseline x86-64 SSE2 (4; on other architectures, their own 16-byte
// vectors). simd_best names the widest the CPU runs; simd_set installs it.
//
// The math is that of package nn's float32 Go loops (the same polynomials,
// the same dropout hash), written without branches: both sides of a
// piecewise function are computed and the right one selected per lane.

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"


#define INLINE static inline __attribute__((always_inline))

#define VBYTES 16
#define SFX base
#include "body.h"
#undef VBYTES
#undef SFX

#if defined(__x86_64__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define VBYTES 32
#define SFX avx2
#include "body.h"
#undef VBYTES
#undef SFX
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,fma")
#define VBYTES 64
#define SFX avx512
#include "body.h"
#undef VBYTES
#undef SFX
#pragma GCC pop_options
#endif


struct simd_kernels simd_k = kernels_base;

int simd_best(void) {
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
		return SIMD_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SIMD_AVX2;
#endif
	return SIMD_BASE;
}

// kernels_of is the kernel set of level, or NULL for a level not compiled.
static const struct simd_kernels *kernels_of(int level) {
	switch (level) {
#if defined(__x86_64__)
	case SIMD_AVX512: return &kernels_avx512;
	case SIMD_AVX2: return &kernels_avx2;
#endif
	case SIMD_BASE: return &kernels_base;
	}
	return NULL;
}

float simd_fma_chains_best(long iters) { return kernels_of(simd_best())->fma_chains(iters); }
int simd_fma_flops_best(void) { return kernels_of(simd_best())->fma_flops; }

int simd_set(int level) {
	const struct simd_kernels *k = kernels_of(level);
	if (k == NULL || level > simd_best()) return -1;
	simd_k = *k;
	return 0;
}
