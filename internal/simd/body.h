// One width of the SIMD kernels: kernels.c includes this file once per
// target with VBYTES (the vector width in bytes) and SFX (the name suffix)
// defined, inside a "#pragma GCC target" region. Every type and function
// here is renamed with SFX, so that the copies do not collide.

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define F(name) CAT(name, SFX)
#define vf F(vf)
#define vi F(vi)
#define vu F(vu)
#define vq F(vq)
typedef float vf __attribute__((vector_size(VBYTES)));
typedef int32_t vi __attribute__((vector_size(VBYTES)));
typedef uint32_t vu __attribute__((vector_size(VBYTES)));
typedef uint64_t vq __attribute__((vector_size(VBYTES)));
#define L (VBYTES / 4) // float32 lanes
#if VBYTES == 64
#define LANES64 ((vq){0, 1, 2, 3, 4, 5, 6, 7})
#define SWAP32 {1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}
#elif VBYTES == 32
#define LANES64 ((vq){0, 1, 2, 3})
#define SWAP32 {1, 0, 3, 2, 5, 4, 7, 6}
#else
#define LANES64 ((vq){0, 1})
#define SWAP32 {1, 0, 3, 2}
#endif

INLINE vf F(vsplat)(float x) { return (vf){0} + x; }
INLINE vf F(vsel)(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); } // m ? a : b
INLINE vf F(vabs)(vf x) { return (vf)((vu)x & 0x7fffffffu); }
INLINE vf F(vload)(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
INLINE void F(vstore)(float *p, vf v) { memcpy(p, &v, sizeof v); }

INLINE float F(hsum)(vf v) {
	float s = 0;
	for (int i = 0; i < L; i++) s += v[i];
	return s;
}

INLINE float F(hmax)(vf v) {
	float m = v[0];
	for (int i = 1; i < L; i++) m = v[i] > m ? v[i] : m;
	return m;
}

// vexp is nn's expNoMax: e**x for x <= 88, 0 below -87.33.
INLINE vf F(vexp)(vf x) {
	vi under = x < -87.33f;
	vf t = x * 1.44269504088896341f + 12582912.0f;
	vf n = t - 12582912.0f;
	vf r = x - n * 0.693359375f - n * -2.12194440e-4f;
	vf p = ((((1.3814611593e-03f * r + 8.3687100559e-03f) * r + 4.1668388993e-02f) * r + 1.6666521132e-01f) * r +
		4.9999994040e-01f);
	p = 1.0f + r + r * r * p;
	vf e = p * (vf)(((vu)t + 127u) << 23);
	return (vf)((vi)e & ~under);
}

// vcdfsmall is nn's normCDFSmall, vgradsmall geluGradSmall, verfclarge
// erfcLarge (a >= 1, e = exp(-a*a)).
INLINE vf F(vcdfsmall)(vf z) {
	vf p = -5.8610989981e-06f * z + 1.0662531713e-04f;
	p = p * z - 1.1762628565e-03f;
	p = p * z + 9.9664898589e-03f;
	p = p * z - 6.6488340497e-02f;
	return p * z + 3.9894208312e-01f;
}

INLINE vf F(vgradsmall)(vf z) {
	vf p = 5.5373593568e-06f * z - 1.0304551688e-04f;
	p = p * z + 1.1394172907e-03f;
	p = p * z - 9.4868037850e-03f;
	p = p * z + 5.9836491942e-02f;
	p = p * z - 2.6596063375e-01f;
	return p * z + 7.9788452387e-01f;
}

INLINE vf F(verfclarge)(vf a, vf e) {
	vf t = 1.0f / (1.0f + 0.5f * a);
	vf q = -4.5456493404e-02f * t + 2.4449562905e-01f;
	q = q * t - 4.4009494807e-01f;
	q = q * t + 2.5071367884e-01f;
	q = q * t - 1.9298381170e-02f;
	q = q * t + 2.0254139761e-01f;
	q = q * t + 2.4271356064e-01f;
	q = q * t + 2.8245933364e-01f;
	q = q * t + 2.8208089311e-01f;
	return t * q * e;
}

// vcdftail is nn's normCDFTail: Phi(x) for |x| >= sqrt2 given e = exp(-x*x/2).
INLINE vf F(vcdftail)(vf x, vf e) {
	vf h = 0.5f * F(verfclarge)(F(vabs)(x * 0.70710678118654752440f), e);
	return F(vsel)(x > 0.0f, 1.0f - h, h);
}

INLINE vf F(vgelu)(vf x) {
	vf z = x * x;
	vf small = 0.5f + x * F(vcdfsmall)(z);
	vf tail = F(vcdftail)(x, F(vexp)(-0.5f * z));
	return x * F(vsel)(z < 2.0f, small, tail);
}

INLINE vf F(vgelugrad)(vf x) {
	vf z = x * x;
	vf small = 0.5f + x * F(vgradsmall)(z);
	vf e = F(vexp)(-0.5f * z);
	vf tail = F(vcdftail)(x, e) + x * 0.39894228040143267794f * e;
	return F(vsel)(z < 2.0f, small, tail);
}

// Tails: the last n % 16 elements go through a 16-lane buffer padded with
// pad, so that every kernel has one vector body.
#define TAIL_IN(buf, src, rem, pad)                                                                                    \
	float buf[L];                                                                                                  \
	for (int _i = 0; _i < L; _i++) buf[_i] = _i < (rem) ? (src)[_i] : (pad);

// ---- bodies, compiled once per target below ----

INLINE void F(gelu_fwd_body)(float *o, const float *x, long n) {
	long i = 0;
	for (; i + L <= n; i += L) F(vstore)(o + i, F(vgelu)(F(vload)(x + i)));
	if (i < n) {
		TAIL_IN(b, x + i, n - i, 0.0f);
		F(vstore)(b, F(vgelu)(F(vload)(b)));
		memcpy(o + i, b, (n - i) * sizeof(float));
	}
}

INLINE void F(gelu_bwd_body)(float *o, const float *x, const float *d, long n) {
	long i = 0;
	for (; i + L <= n; i += L) F(vstore)(o + i, F(vload)(d + i) * F(vgelugrad)(F(vload)(x + i)));
	if (i < n) {
		TAIL_IN(bx, x + i, n - i, 0.0f);
		TAIL_IN(bd, d + i, n - i, 0.0f);
		F(vstore)(bx, F(vload)(bd) * F(vgelugrad)(F(vload)(bx)));
		memcpy(o + i, bx, (n - i) * sizeof(float));
	}
}

// exp_shift_sum: d[j] = exp(x[j]-m), returns the sum (blocks of 256 summed
// in 16 float32 lanes, the block sums in double).
INLINE float F(exp_shift_sum_body)(float *d, const float *x, long n, float m) {
	double total = 0;
	for (long off = 0; off < n; off += 256) {
		long end = off + 256 < n ? off + 256 : n;
		vf acc = {0};
		long i = off;
		for (; i + L <= end; i += L) {
			vf e = F(vexp)(F(vload)(x + i) - m);
			F(vstore)(d + i, e);
			acc += e;
		}
		if (i < end) {
			TAIL_IN(b, x + i, end - i, -INFINITY);
			vf e = F(vexp)(F(vload)(b) - m);
			F(vstore)(b, e);
			memcpy(d + i, b, (end - i) * sizeof(float));
			acc += e;
		}
		total += F(hsum)(acc);
	}
	return (float)total;
}

INLINE void F(scale_body)(float *d, long n, float k) {
	long i = 0;
	for (; i + L <= n; i += L) F(vstore)(d + i, F(vload)(d + i) * k);
	for (; i < n; i++) d[i] *= k;
}

// softmax_bias_rows: each cols-wide row of p becomes softmax(row + bias).
INLINE void F(softmax_bias_rows_body)(float *p, const float *bias, long rows, long cols) {
	for (long r = 0; r < rows; r++) {
		float *row = p + r * cols;
		vf mv = F(vsplat)(-INFINITY);
		long i = 0;
		for (; i + L <= cols; i += L) {
			vf x = F(vload)(row + i) + F(vload)(bias + i);
			F(vstore)(row + i, x);
			mv = F(vsel)(x > mv, x, mv);
		}
		float m = F(hmax)(mv);
		for (; i < cols; i++) {
			float x = row[i] + bias[i];
			row[i] = x;
			m = x > m ? x : m;
		}
		float s = F(exp_shift_sum_body)(row, row, cols, m);
		F(scale_body)(row, cols, 1.0f / s);
	}
}

// softmax_drop_bwd_rows: per cols-wide row, d = pd*d - p*sum(pd*d).
INLINE void F(softmax_drop_bwd_rows_body)(float *d, const float *pd, const float *p, long rows, long cols) {
	for (long r = 0; r < rows; r++) {
		float *dr = d + r * cols;
		const float *pdr = pd + r * cols, *pr = p + r * cols;
		vf acc = {0};
		long i = 0;
		for (; i + L <= cols; i += L) acc += F(vload)(dr + i) * F(vload)(pdr + i);
		float s = F(hsum)(acc);
		for (; i < cols; i++) s += dr[i] * pdr[i];
		vf sv = F(vsplat)(s);
		for (i = 0; i + L <= cols; i += L) F(vstore)(dr + i, F(vload)(pdr + i) * F(vload)(dr + i) - F(vload)(pr + i) * sv);
		for (; i < cols; i++) dr[i] = pdr[i] * dr[i] - pr[i] * s;
	}
}

// vmix64 is nn's mix64 (the SplitMix64 finaliser of seed + (k+1)*golden)
// for k = k0 .. k0+L/2-1.
INLINE vq F(vmix64)(uint64_t seed, uint64_t k0) {
	vq k = k0 + LANES64;
	vq z = seed + (k + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

INLINE uint32_t F(hash32)(uint64_t seed, uint64_t i) {
	uint64_t k = i >> 1;
	uint64_t z = seed + (k + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)(z >> (32 * (1 - (i & 1))));
}

// drop_rows: d[j] = src[j]*scale if flat element base+j survives (its 32-bit
// hash >= thr), else 0. Element 2k takes the high half of mix64(seed, k),
// 2k+1 the low half. thr > 2**32-1 drops everything.
INLINE void F(drop_rows_body)(float *d, const float *src, long n, uint64_t seed, uint64_t base, uint64_t thr, float scale) {
	if (thr > 0xffffffffull) {
		memset(d, 0, n * sizeof(float));
		return;
	}
	long j = 0;
	if ((base & 1) && n > 0) {
		d[0] = F(hash32)(seed, base) >= thr ? src[0] * scale : 0.0f;
		j = 1;
	}
	uint64_t k = (base + j) >> 1;
	const vi swap = SWAP32; // lanes 2i and 2i+1 exchanged: element 2k takes the high half
	vu t = (vu){0} + (uint32_t)thr;
	for (; j + L <= n; j += L, k += L / 2) {
		vu u = __builtin_shuffle((vu)F(vmix64)(seed, k), (vu)swap);
		vi keep = u >= t;
		vf v = F(vload)(src + j) * scale;
		F(vstore)(d + j, (vf)((vi)v & keep));
	}
	for (; j < n; j++) d[j] = F(hash32)(seed, base + j) >= thr ? src[j] * scale : 0.0f;
}


// layernorm_fwd: each C-wide row of inp normalised into out (out may alias
// inp), with its mean and 1/sqrt(var+eps) saved.
INLINE void F(layernorm_fwd_body)(float *out, float *mean, float *rstd, const float *inp, const float *w,
				  const float *b, long rows, long C, float eps) {
	for (long r = 0; r < rows; r++) {
		const float *x = inp + r * C;
		float *o = out + r * C;
		vf acc = {0};
		long j = 0;
		for (; j + L <= C; j += L) acc += F(vload)(x + j);
		float s = F(hsum)(acc);
		for (; j < C; j++) s += x[j];
		float m = s / C;
		vf acc2 = {0};
		for (j = 0; j + L <= C; j += L) {
			vf d = F(vload)(x + j) - m;
			acc2 += d * d;
		}
		float v = F(hsum)(acc2);
		for (; j < C; j++) v += (x[j] - m) * (x[j] - m);
		float rs = (float)(1 / sqrt((double)(v / C + eps)));
		mean[r] = m, rstd[r] = rs;
		for (j = 0; j + L <= C; j += L)
			F(vstore)(o + j, (F(vload)(x + j) - m) * rs * F(vload)(w + j) + F(vload)(b + j));
		for (; j < C; j++) o[j] = (x[j] - m) * rs * w[j] + b[j];
	}
}

// layernorm_bwd_input: per row, dinp = rstd*(g - mean(g) - xhat*mean(g*xhat)),
// g = dout*w, xhat = (inp-mean)*rstd. dinp may alias dout.
INLINE void F(layernorm_bwd_input_body)(float *dinp, const float *dout, const float *inp, const float *mean,
					const float *rstd, const float *w, long rows, long C) {
	for (long r = 0; r < rows; r++) {
		const float *x = inp + r * C, *d = dout + r * C;
		float *o = dinp + r * C;
		float m = mean[r], rs = rstd[r];
		vf ag = {0}, agx = {0};
		long j = 0;
		for (; j + L <= C; j += L) {
			vf g = F(vload)(d + j) * F(vload)(w + j);
			ag += g;
			agx += g * (F(vload)(x + j) - m);
		}
		float sg = F(hsum)(ag), sgx = F(hsum)(agx);
		for (; j < C; j++) {
			float g = d[j] * w[j];
			sg += g;
			sgx += g * (x[j] - m);
		}
		sg /= C;
		sgx = sgx * rs / C;
		for (j = 0; j + L <= C; j += L)
			F(vstore)(o + j, rs * (F(vload)(d + j) * F(vload)(w + j) - sg - (F(vload)(x + j) - m) * rs * sgx));
		for (; j < C; j++) o[j] = rs * (d[j] * w[j] - sg - (x[j] - m) * rs * sgx);
	}
}

// layernorm_bwd_params: for columns [lo, lo+width) of C over n rows, dw +=
// sum of dout*xhat and db += sum of dout; either may be NULL (frozen).
INLINE void F(layernorm_bwd_params_body)(float *dw, float *db, const float *dout, const float *inp,
					 const float *mean, const float *rstd, long n, long C, long lo, long width) {
	for (long j0 = lo; j0 < lo + width; j0 += L) {
		long cols = lo + width - j0 < L ? lo + width - j0 : L;
		vf aw = {0}, ab = {0};
		if (cols == L) {
			for (long i = 0; i < n; i++) {
				vf d = F(vload)(dout + i * C + j0);
				ab += d;
				aw += d * (F(vload)(inp + i * C + j0) - mean[i]) * rstd[i];
			}
		} else {
			for (long i = 0; i < n; i++) {
				float bd[L] = {0}, bx[L] = {0};
				memcpy(bd, dout + i * C + j0, cols * sizeof(float));
				memcpy(bx, inp + i * C + j0, cols * sizeof(float));
				vf d = F(vload)(bd);
				ab += d;
				aw += d * (F(vload)(bx) - mean[i]) * rstd[i];
			}
		}
		for (long j = 0; j < cols; j++) {
			if (db) db[j0 + j] += ab[j];
			if (dw) dw[j0 + j] += aw[j];
		}
	}
}

// fma_chains runs iters rounds of 12 independent multiply-add chains, each
// L lanes wide: iters*12*L*2 flops with nothing but the FMA units' latency
// and throughput in the way (12 chains cover 2 units of latency 4-6). It
// returns a value that depends on every chain, so that nothing is removed.
INLINE float F(fma_chains_body)(long iters) {
	vf m = F(vsplat)(0.9999999f), c = F(vsplat)(1e-7f);
	vf a0 = F(vsplat)((float)(iters & 7)), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3, a4 = a0 + 4, a5 = a0 + 5;
	vf a6 = a0 + 6, a7 = a0 + 7, a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11;
	for (long i = 0; i < iters; i++) {
		a0 = a0 * m + c, a1 = a1 * m + c, a2 = a2 * m + c, a3 = a3 * m + c;
		a4 = a4 * m + c, a5 = a5 * m + c, a6 = a6 * m + c, a7 = a7 * m + c;
		a8 = a8 * m + c, a9 = a9 * m + c, a10 = a10 * m + c, a11 = a11 * m + c;
	}
	return F(hsum)(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
}

// The entry points of this width, named with its suffix.
static void F(gelu_fwd)(float *o, const float *x, long n) { F(gelu_fwd_body)(o, x, n); }
static void F(gelu_bwd)(float *o, const float *x, const float *d, long n) { F(gelu_bwd_body)(o, x, d, n); }
static float F(exp_shift_sum)(float *d, const float *x, long n, float m) { return F(exp_shift_sum_body)(d, x, n, m); }
static void F(softmax_bias_rows)(float *p, const float *b, long rows, long cols) { F(softmax_bias_rows_body)(p, b, rows, cols); }
static void F(softmax_drop_bwd_rows)(float *d, const float *pd, const float *p, long rows, long cols) {
	F(softmax_drop_bwd_rows_body)(d, pd, p, rows, cols);
}
static void F(drop_rows)(float *d, const float *s, long n, uint64_t seed, uint64_t base, uint64_t thr, float scale) {
	F(drop_rows_body)(d, s, n, seed, base, thr, scale);
}
static float F(fma_chains)(long iters) { return F(fma_chains_body)(iters); }
static void F(layernorm_fwd)(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b,
			     long rows, long C, float eps) {
	F(layernorm_fwd_body)(out, mean, rstd, inp, w, b, rows, C, eps);
}
static void F(layernorm_bwd_input)(float *dinp, const float *dout, const float *inp, const float *mean,
				   const float *rstd, const float *w, long rows, long C) {
	F(layernorm_bwd_input_body)(dinp, dout, inp, mean, rstd, w, rows, C);
}
static void F(layernorm_bwd_params)(float *dw, float *db, const float *dout, const float *inp, const float *mean,
				    const float *rstd, long n, long C, long lo, long width) {
	F(layernorm_bwd_params_body)(dw, db, dout, inp, mean, rstd, n, C, lo, width);
}
static const struct simd_kernels F(kernels) = {F(gelu_fwd),	     F(gelu_bwd),  F(exp_shift_sum), F(softmax_bias_rows),
					       F(softmax_drop_bwd_rows), F(drop_rows), F(fma_chains),   L * 24,
					       F(layernorm_fwd),		 F(layernorm_bwd_input), F(layernorm_bwd_params)};

#undef vf
#undef vi
#undef vu
#undef vq
#undef L
#undef LANES64
#undef SWAP32
