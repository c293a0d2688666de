// See kernels.h. Loops keep LANES independent partial results so that GCC
// can vectorise reductions without reassociating (no -ffast-math needed).
#include "kernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#define LANES 16

static inline float bits_to_f(int32_t i) {
	float f;
	memcpy(&f, &i, 4);
	return f;
}

static inline int32_t f_to_bits(float f) {
	int32_t i;
	memcpy(&i, &f, 4);
	return i;
}

// e**x, branch-free version of fastmath.go's expf: 0 below -87.33.
static inline float f_exp(float x) {
	float xc = x > 88.0f ? 88.0f : x;
	xc = xc < -87.33f ? -87.33f : xc;
	float t = xc * 1.44269504088896341f + 12582912.0f;
	int32_t n = f_to_bits(t) - 0x4b400000;
	float nf = t - 12582912.0f;
	float r = xc - nf * 0.693359375f - nf * -2.12194440e-4f;
	float p = 1.9899277034e-04f;
	p = p * r + 1.3933663496e-03f;
	p = p * r + 8.3332984816e-03f;
	p = p * r + 4.1666464706e-02f;
	p = p * r + 1.6666666719e-01f;
	p = p * r + 5.0000000135e-01f;
	float y = (1.0f + r + r * r * p) * bits_to_f((n + 127) << 23);
	return x < -87.33f ? 0.0f : y;
}

// P(z) with erf(x) ~ x*P(x*x) on |x| < 1.
static inline float erf_small(float z) {
	float p = 7.9333345543e-05f;
	p = p * z - 8.0348012053e-04f;
	p = p * z + 5.1912134897e-03f;
	p = p * z - 2.6855396996e-02f;
	p = p * z + 1.1283625667e-01f;
	p = p * z - 3.7612629872e-01f;
	return p * z + 1.1283791666e+00f;
}

// erfc(a) for a >= 1 (any a >= 0 gives a finite value), given e =
// exp(-a*a), which GELU's backward shares with the normal density.
static inline float erfc_large_e(float a, float e) {
	float t = 1.0f / (1.0f + 0.5f * a);
	float q = -4.5456493404e-02f;
	q = q * t + 2.4449562905e-01f;
	q = q * t - 4.4009494807e-01f;
	q = q * t + 2.5071367884e-01f;
	q = q * t - 1.9298381170e-02f;
	q = q * t + 2.0254139761e-01f;
	q = q * t + 2.4271356064e-01f;
	q = q * t + 2.8245933364e-01f;
	q = q * t + 2.8208089311e-01f;
	return t * q * e;
}

static inline float erfc_large(float a) { return erfc_large_e(a, f_exp(-a * a)); }

// Standard normal CDF given e = exp(-x*x/2), both branches computed and
// selected (vectorisable). The erfc branch is only selected where |x| >=
// sqrt2, so its argument clamp never changes a selected value.
static inline float norm_cdf_e(float x, float e) {
	const float s = 0.70710678118654752440f;
	float xs = x * s;
	float a = fabsf(xs);
	float small = 0.5f + 0.5f * xs * erf_small(a * a);
	float h = 0.5f * erfc_large_e(a < 1.0f ? 1.0f : a, e);
	float large = x < 0.0f ? h : 1.0f - h;
	return a < 1.0f ? small : large;
}

static inline float norm_cdf(float x) { return norm_cdf_e(x, f_exp(-0.5f * x * x)); }

// erf(x), for the accuracy tests (the GELU uses norm_cdf directly).
static inline float f_erf(float x) {
	float a = fabsf(x);
	float small = x * erf_small(a * a);
	float large = 1.0f - erfc_large(a < 1.0f ? 1.0f : a);
	large = x < 0.0f ? -large : large;
	return a < 1.0f ? small : large;
}

// lethe_math_eval applies one of the scalar functions to x[0:n]: 0 exp,
// 1 erf, 2 the standard normal CDF. It exists so that tests and benchmarks
// reach the exact code the kernels inline.
CLONES void lethe_math_eval(float *out, const float *x, long n, int which) {
	switch (which) {
	case 0:
		for (long i = 0; i < n; i++)
			out[i] = f_exp(x[i]);
		break;
	case 1:
		for (long i = 0; i < n; i++)
			out[i] = f_erf(x[i]);
		break;
	default:
		for (long i = 0; i < n; i++)
			out[i] = norm_cdf(x[i]);
	}
}

// The elementwise kernels below work in blocks of LANES through local
// arrays (all loads of a block before its stores), so that an output that
// aliases an input (an in-place call) still runs the vector loop instead of
// GCC's scalar aliasing fallback.

CLONES void lethe_gelu_fwd(float *out, const float *x, long n) {
	long i = 0;
	for (; i + LANES <= n; i += LANES) {
		float v[LANES];
		memcpy(v, x + i, sizeof v);
		for (int k = 0; k < LANES; k++)
			v[k] = v[k] * norm_cdf(v[k]);
		memcpy(out + i, v, sizeof v);
	}
	for (; i < n; i++)
		out[i] = x[i] * norm_cdf(x[i]);
}

// gelu'(v) = Phi(v) + v*phi(v), with one exp shared by both terms.
static inline float gelu_grad(float v) {
	const float c = 0.39894228040143267794f;
	float e = f_exp(-0.5f * v * v);
	return norm_cdf_e(v, e) + v * c * e;
}

CLONES void lethe_gelu_bwd(float *dinp, const float *x, const float *dout, long n) {
	long i = 0;
	for (; i + LANES <= n; i += LANES) {
		float v[LANES], g[LANES];
		memcpy(v, x + i, sizeof v);
		memcpy(g, dout + i, sizeof g);
		for (int k = 0; k < LANES; k++)
			g[k] *= gelu_grad(v[k]);
		memcpy(dinp + i, g, sizeof g);
	}
	for (; i < n; i++)
		dinp[i] = dout[i] * gelu_grad(x[i]);
}

typedef float vf8 __attribute__((vector_size(32)));
typedef int32_t vi8 __attribute__((vector_size(32)));

// VMAX8 sets a to the lane-wise max of a and v (v where v > a), as a
// compare and a bit select, which GCC maps to vector compare and blend
// instructions. A macro, not a function, because passing 32-byte vectors by
// value to a function compiled for the baseline target draws -Wpsabi.
#define VMAX8(a, v)                                                            \
	do {                                                                       \
		vi8 c_ = (v) > (a);                                                    \
		(a) = (vf8)(((vi8)(v) & c_) | ((vi8)(a) & ~c_));                       \
	} while (0)

// Maximum of x[0:n] (n >= 1), in GCC vector extensions because the
// vectoriser will not turn a scalar max into vector code without
// -ffinite-math-only.
static inline float row_max(const float *x, long n) {
	const float ninf = -INFINITY;
	vf8 a0 = {ninf, ninf, ninf, ninf, ninf, ninf, ninf, ninf}, a1 = a0;
	long j = 0;
	for (; j + 16 <= n; j += 16) {
		vf8 v0, v1;
		memcpy(&v0, x + j, sizeof v0);
		memcpy(&v1, x + j + 8, sizeof v1);
		VMAX8(a0, v0);
		VMAX8(a1, v1);
	}
	VMAX8(a0, a1);
	float m = ninf;
	for (int k = 0; k < 8; k++)
		m = a0[k] > m ? a0[k] : m;
	for (; j < n; j++)
		m = x[j] > m ? x[j] : m;
	return m;
}

// Sets d[j] = exp(x[j]-m) (d may be NULL or alias x) and returns the sum,
// added in LANES float lanes per block of 256 and in double across blocks.
static inline float exp_sum(float *d, const float *x, float m, long n) {
	double total = 0;
	for (long b = 0; b < n; b += 256) {
		long e = b + 256 < n ? b + 256 : n;
		float acc[LANES] = {0};
		long j = b;
		if (d) {
			// Whole blocks through local copies: loads before stores, so
			// d == x needs no aliasing fallback.
			for (; j + LANES <= e; j += LANES) {
				float v[LANES];
				memcpy(v, x + j, sizeof v);
				for (int k = 0; k < LANES; k++) {
					v[k] = f_exp(v[k] - m);
					acc[k] += v[k];
				}
				memcpy(d + j, v, sizeof v);
			}
		} else {
			for (; j + LANES <= e; j += LANES)
				for (int k = 0; k < LANES; k++)
					acc[k] += f_exp(x[j + k] - m);
		}
		float s = 0;
		for (; j < e; j++) {
			float v = f_exp(x[j] - m);
			if (d)
				d[j] = v;
			s += v;
		}
		for (int k = 0; k < LANES; k++)
			s += acc[k];
		total += s;
	}
	return (float)total;
}

CLONES float lethe_exp_sum(float *d, const float *x, float m, long n) { return exp_sum(d, x, m, n); }

static inline void scale_row(float *x, float k, long n) {
	for (long j = 0; j < n; j++)
		x[j] *= k;
}

CLONES void lethe_softmax_bias_rows(float *p, const float *bias, long rows, long cols) {
	for (long i = 0; i < rows; i++) {
		float *x = p + i * cols;
		long j = 0;
		for (; j + LANES <= cols; j += LANES) {
			float v[LANES];
			memcpy(v, x + j, sizeof v);
			for (int k = 0; k < LANES; k++)
				v[k] += bias[j + k];
			memcpy(x + j, v, sizeof v);
		}
		for (; j < cols; j++)
			x[j] += bias[j];
		float m = row_max(x, cols);
		float s = exp_sum(x, x, m, cols);
		scale_row(x, 1.0f / s, cols);
	}
}

CLONES void lethe_softmax_bwd_rows(float *d, const float *p, long rows, long cols) {
	for (long i = 0; i < rows; i++) {
		float *g = d + i * cols;
		const float *q = p + i * cols;
		float acc[LANES] = {0};
		long j = 0;
		for (; j + LANES <= cols; j += LANES)
			for (int k = 0; k < LANES; k++)
				acc[k] += g[j + k] * q[j + k];
		float s = 0;
		for (; j < cols; j++)
			s += g[j] * q[j];
		for (int k = 0; k < LANES; k++)
			s += acc[k];
		for (j = 0; j < cols; j++)
			g[j] = q[j] * (g[j] - s);
	}
}

static inline uint64_t mix64(uint64_t seed, uint64_t i) {
	uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

CLONES void lethe_dropout(float *out, const float *in, long n, uint64_t seed, uint64_t base, uint64_t thr, float scale) {
	long j = 0;
	for (; j + LANES <= n; j += LANES) {
		float v[LANES];
		memcpy(v, in + j, sizeof v);
		for (int k = 0; k < LANES; k++) {
			uint64_t h = mix64(seed, base + (uint64_t)(j + k)) >> 32;
			v[k] = h >= thr ? v[k] * scale : 0.0f;
		}
		memcpy(out + j, v, sizeof v);
	}
	for (; j < n; j++) {
		uint64_t h = mix64(seed, base + (uint64_t)j) >> 32;
		out[j] = h >= thr ? in[j] * scale : 0.0f;
	}
}

CLONES int lethe_ce_fwd(float *losses, const float *logits, const int32_t *targets, long V, long lo, long hi) {
	int correct = 0;
	for (long i = lo; i < hi; i++) {
		int32_t t = targets[i];
		if (t < 0) {
			losses[i] = 0;
			continue;
		}
		const float *x = logits + i * V;
		float m = row_max(x, V);
		float s = exp_sum(NULL, x, m, V);
		losses[i] = (float)log((double)s) + (m - x[t]);
		// First index of the maximum: find the first block holding it.
		long arg = -1;
		for (long j = 0; j < V && arg < 0; j += LANES) {
			long e = j + LANES < V ? j + LANES : V;
			int any = 0;
			for (long k = j; k < e; k++)
				any |= x[k] == m;
			if (any)
				for (long k = j; k < e; k++)
					if (x[k] == m) {
						arg = k;
						break;
					}
		}
		correct += arg == t;
	}
	return correct;
}

CLONES void lethe_ce_bwd(float *dlogits, const float *logits, const int32_t *targets, float scale, long V, long lo, long hi) {
	for (long i = lo; i < hi; i++) {
		float *d = dlogits + i * V;
		const float *x = logits + i * V;
		int32_t t = targets[i];
		if (t < 0) {
			memset(d, 0, V * sizeof(float));
			continue;
		}
		float m = row_max(x, V);
		float s = exp_sum(d, x, m, V);
		scale_row(d, scale / s, V);
		d[t] -= scale;
	}
}

// Sum of x[0:n] in LANES float lanes.
static inline float row_sum(const float *x, long n) {
	float acc[LANES] = {0};
	long j = 0;
	for (; j + LANES <= n; j += LANES)
		for (int k = 0; k < LANES; k++)
			acc[k] += x[j + k];
	float s = 0;
	for (; j < n; j++)
		s += x[j];
	for (int k = 0; k < LANES; k++)
		s += acc[k];
	return s;
}

CLONES void lethe_ln_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, long C, float eps, long lo, long hi) {
	for (long i = lo; i < hi; i++) {
		const float *x = inp + i * C;
		float *o = out + i * C;
		float m = row_sum(x, C) / (float)C;
		float acc[LANES] = {0};
		long j = 0;
		for (; j + LANES <= C; j += LANES)
			for (int k = 0; k < LANES; k++) {
				float d = x[j + k] - m;
				acc[k] += d * d;
			}
		float ss = 0;
		for (; j < C; j++)
			ss += (x[j] - m) * (x[j] - m);
		for (int k = 0; k < LANES; k++)
			ss += acc[k];
		float rs = (float)(1.0 / sqrt((double)(ss / (float)C + eps)));
		mean[i] = m;
		rstd[i] = rs;
		for (j = 0; j < C; j++)
			o[j] = (x[j] - m) * rs * w[j] + b[j];
	}
}

CLONES void lethe_ln_bwd_in(float *dinp, const float *dout, const float *inp, const float *mean, const float *rstd, const float *w, long C, long lo, long hi) {
	for (long i = lo; i < hi; i++) {
		const float *x = inp + i * C;
		const float *d = dout + i * C;
		float *o = dinp + i * C;
		float m = mean[i], rs = rstd[i];
		float a1[LANES] = {0}, a2[LANES] = {0};
		long j = 0;
		for (; j + LANES <= C; j += LANES)
			for (int k = 0; k < LANES; k++) {
				float g = d[j + k] * w[j + k];
				a1[k] += g;
				a2[k] += g * (x[j + k] - m);
			}
		float sg = 0, sgx = 0;
		for (; j < C; j++) {
			float g = d[j] * w[j];
			sg += g;
			sgx += g * (x[j] - m);
		}
		for (int k = 0; k < LANES; k++) {
			sg += a1[k];
			sgx += a2[k];
		}
		sg /= (float)C;
		sgx = sgx * rs / (float)C;
		for (j = 0; j + LANES <= C; j += LANES) {
			float v[LANES];
			memcpy(v, d + j, sizeof v);
			for (int k = 0; k < LANES; k++)
				v[k] = rs * (v[k] * w[j + k] - sg - (x[j + k] - m) * rs * sgx);
			memcpy(o + j, v, sizeof v);
		}
		for (; j < C; j++)
			o[j] = rs * (d[j] * w[j] - sg - (x[j] - m) * rs * sgx);
	}
}

CLONES void lethe_ln_bwd_params(float *dw, float *db, const float *dout, const float *inp, const float *mean, const float *rstd, long n, long C, long lo, long hi) {
	for (long i = 0; i < n; i++) {
		const float *d = dout + i * C;
		if (db)
			for (long j = lo; j < hi; j++)
				db[j] += d[j];
		if (dw) {
			const float *x = inp + i * C;
			float m = mean[i], rs = rstd[i];
			for (long j = lo; j < hi; j++)
				dw[j] += d[j] * (x[j] - m) * rs;
		}
	}
}

CLONES void lethe_colsum_acc(float *acc, const float *x, long n, long ld, long cols) {
	for (long i = 0; i < n; i++) {
		const float *r = x + i * ld;
		for (long j = 0; j < cols; j++)
			acc[j] += r[j];
	}
}
