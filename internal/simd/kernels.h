// Dispatch table of the SIMD kernels (kernels.c); package simd's Go side
// calls the simd_* wrappers.
#include <stdint.h>

enum { SIMD_BASE = 1, SIMD_AVX2 = 2, SIMD_AVX512 = 3 };

struct simd_kernels {
	void (*gelu_fwd)(float *o, const float *x, long n);
	void (*gelu_bwd)(float *o, const float *x, const float *d, long n);
	float (*exp_shift_sum)(float *d, const float *x, long n, float m);
	void (*softmax_bias_rows)(float *p, const float *bias, long rows, long cols);
	void (*softmax_drop_bwd_rows)(float *d, const float *pd, const float *p, long rows, long cols);
	void (*drop_rows)(float *d, const float *src, long n, uint64_t seed, uint64_t base, uint64_t thr, float scale);
	float (*fma_chains)(long iters);
	int fma_flops; // flops per iteration of fma_chains
	void (*layernorm_fwd)(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
			      long rows, long C, float eps);
	void (*layernorm_bwd_input)(float *dinp, const float *dout, const float *inp, const float *mean,
				    const float *rstd, const float *w, long rows, long C);
	void (*layernorm_bwd_params)(float *dw, float *db, const float *dout, const float *inp, const float *mean,
				     const float *rstd, long n, long C, long lo, long width);
};

extern struct simd_kernels simd_k;

int simd_best(void);
float simd_fma_chains_best(long iters);
int simd_fma_flops_best(void);
int simd_set(int level);

static inline void simd_gelu_fwd(float *o, const float *x, long n) { simd_k.gelu_fwd(o, x, n); }
static inline void simd_gelu_bwd(float *o, const float *x, const float *d, long n) { simd_k.gelu_bwd(o, x, d, n); }
static inline float simd_exp_shift_sum(float *d, const float *x, long n, float m) {
	return simd_k.exp_shift_sum(d, x, n, m);
}
static inline void simd_softmax_bias_rows(float *p, const float *bias, long rows, long cols) {
	simd_k.softmax_bias_rows(p, bias, rows, cols);
}
static inline void simd_softmax_drop_bwd_rows(float *d, const float *pd, const float *p, long rows, long cols) {
	simd_k.softmax_drop_bwd_rows(d, pd, p, rows, cols);
}
static inline void simd_drop_rows(float *d, const float *src, long n, uint64_t seed, uint64_t base, uint64_t thr,
				  float scale) {
	simd_k.drop_rows(d, src, n, seed, base, thr, scale);
}
static inline void simd_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
				      const float *b, long rows, long C, float eps) {
	simd_k.layernorm_fwd(out, mean, rstd, inp, w, b, rows, C, eps);
}
static inline void simd_layernorm_bwd_input(float *dinp, const float *dout, const float *inp, const float *mean,
					    const float *rstd, const float *w, long rows, long C) {
	simd_k.layernorm_bwd_input(dinp, dout, inp, mean, rstd, w, rows, C);
}
static inline void simd_layernorm_bwd_params(float *dw, float *db, const float *dout, const float *inp,
					     const float *mean, const float *rstd, long n, long C, long lo, long width) {
	simd_k.layernorm_bwd_params(dw, db, dout, inp, mean, rstd, n, C, lo, width);
}
