// Float32 kernels of package nn, written in C so that GCC vectorises them
// (Go does not): the transcendental and hashing loops that dominate the
// non-GEMM time of a training step. Each function has target clones for
// x86-64-v4 (AVX-512), x86-64-v3 (AVX2+FMA) and the baseline, chosen at load
// time. The algorithms are those of fastmath.go and dropout.go.
#ifndef LETHE_NN_KERNELS_H
#define LETHE_NN_KERNELS_H
#include <stdint.h>

void lethe_gelu_fwd(float *out, const float *x, long n);
void lethe_gelu_bwd(float *dinp, const float *x, const float *dout, long n);
void lethe_softmax_bias_rows(float *p, const float *bias, long rows, long cols);
void lethe_softmax_bwd_rows(float *d, const float *p, long rows, long cols);
void lethe_dropout(float *out, const float *in, long n, uint64_t seed, uint64_t base, uint64_t thr, float scale);
int lethe_ce_fwd(float *losses, const float *logits, const int32_t *targets, long V, long lo, long hi);
void lethe_ce_bwd(float *dlogits, const float *logits, const int32_t *targets, float scale, long V, long lo, long hi);
float lethe_exp_sum(float *d, const float *x, float m, long n);
void lethe_ln_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, long C, float eps, long lo, long hi);
void lethe_ln_bwd_in(float *dinp, const float *dout, const float *inp, const float *mean, const float *rstd, const float *w, long C, long lo, long hi);
void lethe_ln_bwd_params(float *dw, float *db, const float *dout, const float *inp, const float *mean, const float *rstd, long n, long C, long lo, long hi);
void lethe_math_eval(float *out, const float *x, long n, int which);
void lethe_colsum_acc(float *acc, const float *x, long n, long ld, long cols);

#endif
