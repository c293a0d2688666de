// Row-major single-precision GEMM with an AVX-512 micro-kernel, in the
// Goto/BLIS layout: op(B) is packed in KC x NC panels of NR-column strips,
// op(A) in MC x KC blocks of MR-row strips (or read in place where that is
// cheaper, see sgemm_small and sgemm_avx512), and a 12 x 32 register tile
// (24 zmm accumulators) runs over each pair of strips. Written with GCC
// vector extensions in functions compiled for x86-64-v4; lethe_sgemm uses it
// only where the CPU supports that level, and OpenBLAS otherwise.
#include "sgemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HAVE_OWN_SGEMM 1
#else
#define HAVE_OWN_SGEMM 0
#endif

#if HAVE_OWN_SGEMM

#define MR 12
#define NR 32
#define KC 256
#define MC 144
#define NC 2048

typedef float v16 __attribute__((vector_size(64)));

#define TGT __attribute__((target("arch=x86-64-v4")))

// pack_a packs rows [i0,i0+mc) x cols [p0,p0+kc) of op(A) into MR-row strips:
// dst[s][p][r] = op(A)(i0+s*MR+r, p0+p), zero-padded past m.
TGT static void pack_a(float *dst, const float *a, long lda, int trans, long i0, long mc, long p0, long kc) {
	for (long s = 0; s < mc; s += MR) {
		long rows = mc - s < MR ? mc - s : MR;
		if (!trans) {
			for (long r = 0; r < rows; r++) {
				const float *src = a + (i0 + s + r) * lda + p0;
				for (long p = 0; p < kc; p++)
					dst[p * MR + r] = src[p];
			}
		} else {
			for (long p = 0; p < kc; p++) {
				const float *src = a + (p0 + p) * lda + i0 + s;
				for (long r = 0; r < rows; r++)
					dst[p * MR + r] = src[r];
			}
		}
		for (long r = rows; r < MR; r++)
			for (long p = 0; p < kc; p++)
				dst[p * MR + r] = 0;
		dst += kc * MR;
	}
}

typedef int32_t vi16 __attribute__((vector_size(64)));

// transpose16 transposes the 16 x 16 matrix whose rows are v[0..15], in
// four rounds that swap ever smaller off-diagonal blocks (8, 4, 2, 1) with
// two-source shuffles.
TGT static inline void transpose16(v16 *v) {
	static const vi16 lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
	static const vi16 hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
	static const vi16 lo4 = {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27};
	static const vi16 hi4 = {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31};
	static const vi16 lo2 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
	static const vi16 hi2 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
	static const vi16 lo1 = {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30};
	static const vi16 hi1 = {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31};
#define STAGE(sz, lo, hi)                                                                                 \
	for (int i = 0; i < 16; i++)                                                                           \
		if (!(i & sz)) {                                                                                   \
			v16 x = v[i], y = v[i + sz];                                                                   \
			v[i] = __builtin_shuffle(x, y, lo);                                                            \
			v[i + sz] = __builtin_shuffle(x, y, hi);                                                       \
		}
	STAGE(8, lo8, hi8)
	STAGE(4, lo4, hi4)
	STAGE(2, lo2, hi2)
	STAGE(1, lo1, hi1)
#undef STAGE
}

// pack_b packs rows [p0,p0+kc) x cols [j0,j0+nc) of op(B) into NR-column
// strips: dst[s][p][c] = op(B)(p0+p, j0+s*NR+c), zero-padded past n.
TGT static void pack_b(float *dst, const float *b, long ldb, int trans, long p0, long kc, long j0, long nc) {
	for (long s = 0; s < nc; s += NR) {
		long cols = nc - s < NR ? nc - s : NR;
		if (!trans) {
			for (long p = 0; p < kc; p++) {
				const float *src = b + (p0 + p) * ldb + j0 + s;
				float *d = dst + p * NR;
				if (cols == NR)
					memcpy(d, src, NR * sizeof(float));
				else {
					for (long c = 0; c < cols; c++)
						d[c] = src[c];
					for (long c = cols; c < NR; c++)
						d[c] = 0;
				}
			}
		} else {
			long p = 0;
			if (cols == NR) {
				// 16 x 16 blocks through registers: 16 contiguous loads,
				// a transpose, 16 contiguous stores.
				for (; p + 16 <= kc; p += 16)
					for (long h = 0; h < NR; h += 16) {
						v16 v[16];
						for (int i = 0; i < 16; i++)
							memcpy(&v[i], b + (j0 + s + h + i) * ldb + p0 + p, 64);
						transpose16(v);
						for (int q = 0; q < 16; q++)
							memcpy(dst + (p + q) * NR + h, &v[q], 64);
					}
			}
			for (long c = 0; c < cols; c++) {
				const float *src = b + (j0 + s + c) * ldb + p0;
				for (long q = p; q < kc; q++)
					dst[q * NR + c] = src[q];
			}
			for (long c = cols; c < NR; c++)
				for (long q = p; q < kc; q++)
					dst[q * NR + c] = 0;
		}
		dst += kc * NR;
	}
}

// How the micro-kernel reads its MR rows of A: from a packed strip
// (element (r,p) at ap[p*MR+r]), or in place from row-major op(A) rows
// (ap[r*lda+p]) or columns (ap[p*lda+r], op(A) = A^T).
enum { A_PACKED, A_ROWS, A_COLS };

// kernel_body computes the MR x NR tile acc = A * B over kc and writes
// C = alpha*acc + beta*C for the valid mr x nr part (beta == 0: C not read).
// Row p of the B strip is at bp + p*bstride (NR for a packed strip, ldb for
// B read in place); A is read as amode says. Inlined into one function per
// mode so that the mode is a constant.
TGT static inline __attribute__((always_inline)) void kernel_body(int amode, long kc, const float *ap, long lda,
                                                                  const float *bp, long bstride, float *c, long ldc,
                                                                  float alpha, float beta, long mr, long nr) {
	v16 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
	v16 c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0}, c60 = {0}, c61 = {0}, c70 = {0}, c71 = {0};
	v16 c80 = {0}, c81 = {0}, c90 = {0}, c91 = {0}, ca0 = {0}, ca1 = {0}, cb0 = {0}, cb1 = {0};
	for (long p = 0; p < kc; p++) {
		v16 b0, b1;
		memcpy(&b0, bp, 64);
		memcpy(&b1, bp + 16, 64);
		bp += bstride;
#define ROW(r, x0, x1)                                                                                    \
	{                                                                                                      \
		float s_ = amode == A_PACKED ? ap[r] : amode == A_ROWS ? ap[(r)*lda] : ap[r];                      \
		v16 av = {s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_, s_};                         \
		x0 += av * b0;                                                                                     \
		x1 += av * b1;                                                                                     \
	}
		ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
		ROW(4, c40, c41) ROW(5, c50, c51) ROW(6, c60, c61) ROW(7, c70, c71)
		ROW(8, c80, c81) ROW(9, c90, c91) ROW(10, ca0, ca1) ROW(11, cb0, cb1)
#undef ROW
		ap += amode == A_PACKED ? MR : amode == A_ROWS ? 1 : lda;
	}
	float tile[MR * NR] __attribute__((aligned(64)));
	v16 *t = (v16 *)tile;
	t[0] = c00; t[1] = c01; t[2] = c10; t[3] = c11; t[4] = c20; t[5] = c21;
	t[6] = c30; t[7] = c31; t[8] = c40; t[9] = c41; t[10] = c50; t[11] = c51;
	t[12] = c60; t[13] = c61; t[14] = c70; t[15] = c71; t[16] = c80; t[17] = c81;
	t[18] = c90; t[19] = c91; t[20] = ca0; t[21] = ca1; t[22] = cb0; t[23] = cb1;
	if (mr == MR && nr == NR) {
		// Full tile: rows of C updated with vector loads and stores.
		v16 va = {alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha,
		          alpha, alpha, alpha, alpha, alpha, alpha, alpha, alpha};
		v16 vb = {beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta, beta};
		for (long r = 0; r < MR; r++) {
			float *cr = c + r * ldc;
			v16 x0 = t[2 * r] * va, x1 = t[2 * r + 1] * va;
			if (beta != 0) {
				v16 y0, y1;
				memcpy(&y0, cr, 64);
				memcpy(&y1, cr + 16, 64);
				x0 += vb * y0;
				x1 += vb * y1;
			}
			memcpy(cr, &x0, 64);
			memcpy(cr + 16, &x1, 64);
		}
		return;
	}
	for (long r = 0; r < mr; r++) {
		float *cr = c + r * ldc;
		const float *tr = tile + r * NR;
		if (beta == 0)
			for (long j = 0; j < nr; j++)
				cr[j] = alpha * tr[j];
		else
			for (long j = 0; j < nr; j++)
				cr[j] = alpha * tr[j] + beta * cr[j];
	}
}

TGT static void kernel_packed(long kc, const float *ap, const float *bp, long bstride, float *c, long ldc, float alpha,
                             float beta, long mr, long nr) {
	kernel_body(A_PACKED, kc, ap, 0, bp, bstride, c, ldc, alpha, beta, mr, nr);
}

TGT static void kernel_rows(long kc, const float *ap, long lda, const float *bp, long bstride, float *c, long ldc,
                           float alpha, float beta, long nr) {
	kernel_body(A_ROWS, kc, ap, lda, bp, bstride, c, ldc, alpha, beta, MR, nr);
}

TGT static void kernel_cols(long kc, const float *ap, long lda, const float *bp, long bstride, float *c, long ldc,
                           float alpha, float beta, long nr) {
	kernel_body(A_COLS, kc, ap, lda, bp, bstride, c, ldc, alpha, beta, MR, nr);
}

// sgemm_small handles a product that fits one block (m <= MC, n <= NC,
// k <= KC), as in attention's per-head GEMMs, where packing would cost a
// quarter of the time: full MR-row strips of A and full NR-column strips of
// an untransposed B are read in place; only a partial last strip of A, and
// strips of a transposed or partial B, are packed.
TGT static void sgemm_small(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                            const float *b, long ldb, float beta, float *c, long ldc, float *work) {
	float *abuf = work, *bbuf = work + MC * KC;
	long mfull = m - m % MR;
	if (mfull < m)
		pack_a(abuf, a, lda, transA, mfull, m - mfull, 0, k);
	for (long js = 0; js < n; js += NR) {
		long nr = n - js < NR ? n - js : NR;
		const float *bp;
		long bs;
		if (!transB && nr == NR) {
			bp = b + js;
			bs = ldb;
		} else {
			pack_b(bbuf, b, ldb, transB, 0, k, js, nr);
			bp = bbuf;
			bs = NR;
		}
		for (long is = 0; is < mfull; is += MR) {
			float *ct = c + is * ldc + js;
			if (!transA)
				kernel_rows(k, a + is * lda, lda, bp, bs, ct, ldc, alpha, beta, nr);
			else
				kernel_cols(k, a + is, lda, bp, bs, ct, ldc, alpha, beta, nr);
		}
		if (mfull < m)
			kernel_packed(k, abuf, bp, bs, c + mfull * ldc + js, ldc, alpha, beta, m - mfull, nr);
	}
}

// sgemm_avx512 is C = alpha*op(A)*op(B) + beta*C, row-major. work must hold
// WORK_FLOATS floats.
#define WORK_FLOATS (MC * KC + KC * NC)
TGT static void sgemm_avx512(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                             const float *b, long ldb, float beta, float *c, long ldc, float *work) {
	float *ap = work, *bpk = work + MC * KC;
	if (k == 0) {
		for (long i = 0; i < m; i++)
			for (long j = 0; j < n; j++)
				c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
		return;
	}
	if (m <= MC && n <= NC && k <= KC) {
		sgemm_small(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
		return;
	}
	for (long j0 = 0; j0 < n; j0 += NC) {
		long nc = n - j0 < NC ? n - j0 : NC;
		for (long p0 = 0; p0 < k; p0 += KC) {
			long kc = k - p0 < KC ? k - p0 : KC;
			float bt = p0 == 0 ? beta : 1.0f;
			pack_b(bpk, b, ldb, transB, p0, kc, j0, nc);
			for (long i0 = 0; i0 < m; i0 += MC) {
				long mc = m - i0 < MC ? m - i0 : MC;
				// Rows of an untransposed A are read in place when the block
				// has only full strips (packing them cost ~10% on the
				// model's shapes); a transposed A is always packed, since
				// reading its columns in place strides by lda per step.
				int direct = !transA && mc % MR == 0;
				if (!direct)
					pack_a(ap, a, lda, transA, i0, mc, p0, kc);
				for (long js = 0; js < nc; js += NR) {
					long nr = nc - js < NR ? nc - js : NR;
					const float *bs = bpk + js * kc;
					for (long is = 0; is < mc; is += MR) {
						long mr = mc - is < MR ? mc - is : MR;
						float *ct = c + (i0 + is) * ldc + j0 + js;
						if (direct)
							kernel_rows(kc, a + (i0 + is) * lda + p0, lda, bs, NR, ct, ldc, alpha, bt, nr);
						else
							kernel_packed(kc, ap + is * kc, bs, NR, ct, ldc, alpha, bt, mr, nr);
					}
				}
			}
		}
	}
}

// Each OS thread that runs the kernel gets its own packing buffer
// (WORK_FLOATS floats, 2.2 MB), made on first use and freed when the thread
// exits (Go reuses its threads, so this is once per thread), so concurrent
// calls from several goroutines never share one and no call allocates after
// the first on its thread.
static pthread_key_t work_key;
static pthread_once_t work_once = PTHREAD_ONCE_INIT;
static int work_key_ok;

static void make_work_key(void) { work_key_ok = pthread_key_create(&work_key, free) == 0; }

static float *thread_work(void) {
	pthread_once(&work_once, make_work_key);
	if (!work_key_ok)
		return NULL;
	float *w = pthread_getspecific(work_key);
	if (!w) {
		w = aligned_alloc(64, WORK_FLOATS * sizeof(float));
		if (w && pthread_setspecific(work_key, w) != 0) {
			free(w);
			w = NULL;
		}
	}
	return w;
}

static int cpu_has_avx512(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl");
}
#endif

int lethe_sgemm_own_available(void) {
#if HAVE_OWN_SGEMM
	return cpu_has_avx512();
#else
	return 0;
#endif
}

void lethe_sgemm(int own, int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                 const float *b, long ldb, float beta, float *c, long ldc) {
#if HAVE_OWN_SGEMM
	if (own) {
		float *work = thread_work();
		if (work) {
			sgemm_avx512(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, work);
			return;
		}
	}
#else
	(void)own;
#endif
	cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha,
	            a, lda, b, ldb, beta, c, ldc);
}
