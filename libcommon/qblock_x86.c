/* AVX2 and AVX-512 kernels of qblock's mse search (qblock_impl.h): many
 * candidate scales of one group at once, one candidate per lane.  The
 * scalar reference is group_sse in qblock.c; each lane repeats its binary32
 * operations in the same order:
 *
 *   - ggml codes: x * (1/d) + offset (q4_1, q5_1: (x - m) * (1/d) + 1/2)
 *     clamped to [0, top] then truncated, which is the reference's "0 below
 *     1 or NaN, top from top on, else truncate" (max_ps returns its second
 *     operand, 0, for a NaN); q8_0's roundf is truncation plus a step when
 *     the exact remainder is at least one half, and a NaN gives the
 *     0x80000000 of the reference's cvttss2si;
 *   - f16(d), f16(m) by the F16C conversion, round to nearest even like
 *     qu_f32_to_f16;
 *   - E2M1 by the reference's boundaries, tested from the largest down so
 *     that an unordered value ends at code 7 as there;
 *   - each lane's error sum in double, element by element.
 * No fused multiply-add anywhere (the build has -ffp-contract=off). */
#include <string.h>

#include "qblock_impl.h"

#if QU_X86_KERNELS
#include <immintrin.h>

/* the per-format constants of the ggml element rule */
struct ggml_rule {
	float offset;	/* added after the scaling: 8.5, 16.5, or 0.5 with a minimum */
	float top;	/* largest code */
	float zero;	/* code of 0 subtracted before scaling back (q4_0 8, q5_0 16) */
	int has_min;
};

static struct ggml_rule
ggml_rule_of(enum qfmt f)
{
	switch (f) {
	case QF_Q4_0: return (struct ggml_rule){ 8.5f, 15, 8, 0 };
	case QF_Q5_0: return (struct ggml_rule){ 16.5f, 31, 16, 0 };
	case QF_Q4_1: return (struct ggml_rule){ 0.5f, 15, 0, 1 };
	default: return (struct ggml_rule){ 0.5f, 31, 0, 1 };	/* Q5_1 */
	}
}

/* E2M1 magnitudes by boundary, from the top: where |r| is at or under
 * (LE) or under (LT) a boundary the magnitude drops to the next one down.
 * STEP(edge, below, predicate) for each, as the comparison's predicate must
 * be a constant. */
#define E2M1_STEPS(STEP) \
	STEP(5.0f, 4.0f, LE) STEP(3.5f, 3.0f, LT) STEP(2.5f, 2.0f, LE) STEP(1.75f, 1.5f, LT) \
	STEP(1.25f, 1.0f, LE) STEP(0.75f, 0.5f, LT) STEP(0.25f, 0.0f, LE)

/* ------------------------------------------------------------------ */
/* AVX-512: 16 candidates a pass                                      */
/* ------------------------------------------------------------------ */

#define T512 QU_TARGET_AVX512 static inline

T512 __m512
f16_round512(__m512 v)
{
	return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

T512 __m512
sign512(__m512 v)
{
	return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)));
}

T512 __m512
abs512(__m512 v)
{
	return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

/* Each lane's running sum: lanes 0-7 in a0, 8-15 in a1; a pass stops
 * once every live lane's partial sum is above the limit (the best sum of
 * the candidates before: none of these can replace it any more, and the
 * reference's own early exit returns such a partial sum). */
struct acc512 {
	__m512d a0, a1, limit;
	__mmask8 live0, live1;
};

/* acc += ((double)x - (double)val)^2 */
T512 void
add_sq512(double x, __m512 val, struct acc512 *a)
{
	__m512d xd = _mm512_set1_pd(x);
	__m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(val));
	__m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(val), 1)));
	__m512d d0 = _mm512_sub_pd(xd, lo), d1 = _mm512_sub_pd(xd, hi);

	a->a0 = _mm512_add_pd(a->a0, _mm512_mul_pd(d0, d0));
	a->a1 = _mm512_add_pd(a->a1, _mm512_mul_pd(d1, d1));
}

/* checked every 8 elements */
T512 int
done512(int i, const struct acc512 *a)
{
	return (i & 7) == 7 &&
	    (_mm512_cmp_pd_mask(a->a0, a->limit, _CMP_GT_OQ) & a->live0) == a->live0 &&
	    (_mm512_cmp_pd_mask(a->a1, a->limit, _CMP_GT_OQ) & a->live1) == a->live1;
}

T512 void
ggml512(enum qfmt f, const float *x, int n, __m512 sc, __m512 mn, struct acc512 *a)
{
	__mmask16 nz = _mm512_cmp_ps_mask(sc, _mm512_setzero_ps(), _CMP_NEQ_UQ);
	__m512 id = _mm512_maskz_div_ps(nz, _mm512_set1_ps(1.0f), sc);
	__m512 dh = f16_round512(sc), mh = f16_round512(mn), zero = _mm512_setzero_ps();

	if (f == QF_Q8_0) {
		__m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
		__m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f);
		__m512 nan_code = _mm512_set1_ps(-2147483648.0f);

		for (int i = 0; i < n; i++) {
			__m512 v = _mm512_mul_ps(_mm512_set1_ps(x[i]), id);
			__m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
			__mmask16 up = _mm512_cmp_ps_mask(abs512(_mm512_sub_ps(v, t)), half, _CMP_GE_OQ);
			__m512 r = _mm512_mask_add_ps(t, up, t, _mm512_or_ps(one, sign512(v)));
			__m512 c = _mm512_min_ps(_mm512_max_ps(r, lo), hi);

			c = _mm512_mask_mov_ps(c, _mm512_cmp_ps_mask(r, r, _CMP_UNORD_Q), nan_code);
			add_sq512(x[i], _mm512_mul_ps(c, dh), a);
			if (done512(i, a))
				break;
		}
		return;
	}
	{
		struct ggml_rule g = ggml_rule_of(f);
		__m512 off = _mm512_set1_ps(g.offset), top = _mm512_set1_ps(g.top), z = _mm512_set1_ps(g.zero);

		if (g.has_min) {
			for (int i = 0; i < n; i++) {
				__m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_set1_ps(x[i]), mn), id), off);
				__m512 q = _mm512_roundscale_ps(_mm512_min_ps(_mm512_max_ps(v, zero), top),
				    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);

				add_sq512(x[i], _mm512_add_ps(_mm512_mul_ps(q, dh), mh), a);
			if (done512(i, a))
				break;
			}
			return;
		}
		for (int i = 0; i < n; i++) {
			__m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(x[i]), id), off);
			__m512 q = _mm512_roundscale_ps(_mm512_min_ps(_mm512_max_ps(v, zero), top),
			    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);

			add_sq512(x[i], _mm512_mul_ps(_mm512_sub_ps(q, z), dh), a);
			if (done512(i, a))
				break;
		}
	}
}

T512 void
fp4_512(const float *x, int n, __m512 s, struct acc512 *a)
{
	for (int i = 0; i < n; i++) {
		__m512 r = _mm512_div_ps(_mm512_set1_ps(x[i]), s), ar = abs512(r);
		__m512 mag = _mm512_set1_ps(6.0f);

#define STEP512(edge, below, pred) mag = _mm512_mask_mov_ps(mag, \
	_mm512_cmp_ps_mask(ar, _mm512_set1_ps(edge), _CMP_##pred##_OQ), _mm512_set1_ps(below));
		E2M1_STEPS(STEP512)
#undef STEP512
		add_sq512(x[i], _mm512_mul_ps(_mm512_or_ps(mag, sign512(r)), s), a);
			if (done512(i, a))
				break;
	}
}

QU_TARGET_AVX512 void
qblock_sse_avx512(enum qfmt f, const float *x, int n, const float *scale, const float *min,
    float global, double limit, int nc, double *sse)
{
	for (int k0 = 0; k0 < nc; k0 += 16) {
		int live = nc - k0 < 16 ? nc - k0 : 16;
		__mmask16 m = (__mmask16)((1u << live) - 1);
		/* spare lanes repeat candidate 0 and are not stored */
		__m512 sc = _mm512_mask_loadu_ps(_mm512_set1_ps(scale[0]), m, scale + k0);
		__m512 mn = _mm512_mask_loadu_ps(_mm512_set1_ps(min[0]), m, min + k0);
		struct acc512 a = { _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_set1_pd(limit),
			(__mmask8)(m & 0xff), (__mmask8)(m >> 8) };
		double out[16];

		if (f == QF_NVFP4)
			fp4_512(x, n, _mm512_div_ps(sc, _mm512_set1_ps(global)), &a);
		else if (f == QF_MXFP4)
			fp4_512(x, n, sc, &a);
		else
			ggml512(f, x, n, sc, mn, &a);
		_mm512_storeu_pd(out, a.a0);
		_mm512_storeu_pd(out + 8, a.a1);
		memcpy(sse + k0, out, (size_t)live * sizeof *out);
	}
}

/* ------------------------------------------------------------------ */
/* AVX2: 8 candidates a pass                                          */
/* ------------------------------------------------------------------ */

#define T256 QU_TARGET_AVX2 static inline

T256 __m256
f16_round256(__m256 v)
{
	return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

T256 __m256
sign256(__m256 v)
{
	return _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
}

T256 __m256
abs256(__m256 v)
{
	return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

struct acc256 {
	__m256d a0, a1, limit;
	int live;	/* bit k: lane k holds a candidate */
};

T256 void
add_sq256(double x, __m256 val, struct acc256 *a)
{
	__m256d xd = _mm256_set1_pd(x);
	__m256d d0 = _mm256_sub_pd(xd, _mm256_cvtps_pd(_mm256_castps256_ps128(val)));
	__m256d d1 = _mm256_sub_pd(xd, _mm256_cvtps_pd(_mm256_extractf128_ps(val, 1)));

	a->a0 = _mm256_add_pd(a->a0, _mm256_mul_pd(d0, d0));
	a->a1 = _mm256_add_pd(a->a1, _mm256_mul_pd(d1, d1));
}

T256 int
done256(int i, const struct acc256 *a)
{
	return (i & 7) == 7 &&
	    ((_mm256_movemask_pd(_mm256_cmp_pd(a->a0, a->limit, _CMP_GT_OQ)) |
	    _mm256_movemask_pd(_mm256_cmp_pd(a->a1, a->limit, _CMP_GT_OQ)) << 4) & a->live) == a->live;
}

T256 void
ggml256(enum qfmt f, const float *x, int n, __m256 sc, __m256 mn, struct acc256 *a)
{
	__m256 zero = _mm256_setzero_ps();
	__m256 id = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), sc), _mm256_cmp_ps(sc, zero, _CMP_NEQ_UQ));
	__m256 dh = f16_round256(sc), mh = f16_round256(mn);

	if (f == QF_Q8_0) {
		__m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
		__m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
		__m256 nan_code = _mm256_set1_ps(-2147483648.0f);

		for (int i = 0; i < n; i++) {
			__m256 v = _mm256_mul_ps(_mm256_set1_ps(x[i]), id);
			__m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
			__m256 up = _mm256_cmp_ps(abs256(_mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
			__m256 r = _mm256_add_ps(t, _mm256_and_ps(up, _mm256_or_ps(one, sign256(v))));
			__m256 c = _mm256_min_ps(_mm256_max_ps(r, lo), hi);

			c = _mm256_blendv_ps(c, nan_code, _mm256_cmp_ps(r, r, _CMP_UNORD_Q));
			add_sq256(x[i], _mm256_mul_ps(c, dh), a);
			if (done256(i, a))
				break;
		}
		return;
	}
	{
		struct ggml_rule g = ggml_rule_of(f);
		__m256 off = _mm256_set1_ps(g.offset), top = _mm256_set1_ps(g.top), z = _mm256_set1_ps(g.zero);

		if (g.has_min) {
			for (int i = 0; i < n; i++) {
				__m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(x[i]), mn), id), off);
				__m256 q = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, zero), top),
				    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);

				add_sq256(x[i], _mm256_add_ps(_mm256_mul_ps(q, dh), mh), a);
			if (done256(i, a))
				break;
			}
			return;
		}
		for (int i = 0; i < n; i++) {
			__m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(x[i]), id), off);
			__m256 q = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, zero), top),
			    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);

			add_sq256(x[i], _mm256_mul_ps(_mm256_sub_ps(q, z), dh), a);
			if (done256(i, a))
				break;
		}
	}
}

T256 void
fp4_256(const float *x, int n, __m256 s, struct acc256 *a)
{
	for (int i = 0; i < n; i++) {
		__m256 r = _mm256_div_ps(_mm256_set1_ps(x[i]), s), ar = abs256(r);
		__m256 mag = _mm256_set1_ps(6.0f);

#define STEP256(edge, below, pred) mag = _mm256_blendv_ps(mag, _mm256_set1_ps(below), \
	_mm256_cmp_ps(ar, _mm256_set1_ps(edge), _CMP_##pred##_OQ));
		E2M1_STEPS(STEP256)
#undef STEP256
		add_sq256(x[i], _mm256_mul_ps(_mm256_or_ps(mag, sign256(r)), s), a);
			if (done256(i, a))
				break;
	}
}

QU_TARGET_AVX2 void
qblock_sse_avx2(enum qfmt f, const float *x, int n, const float *scale, const float *min,
    float global, double limit, int nc, double *sse)
{
	for (int k0 = 0; k0 < nc; k0 += 8) {
		int live = nc - k0 < 8 ? nc - k0 : 8;
		float sl[8], ml[8];
		__m256 sc, mn;
		struct acc256 a = { _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_set1_pd(limit),
			(1 << live) - 1 };
		double out[8];

		for (int k = 0; k < 8; k++)	/* spare lanes repeat candidate 0 */
			sl[k] = scale[k < live ? k0 + k : 0], ml[k] = min[k < live ? k0 + k : 0];
		sc = _mm256_loadu_ps(sl);
		mn = _mm256_loadu_ps(ml);
		if (f == QF_NVFP4)
			fp4_256(x, n, _mm256_div_ps(sc, _mm256_set1_ps(global)), &a);
		else if (f == QF_MXFP4)
			fp4_256(x, n, sc, &a);
		else
			ggml256(f, x, n, sc, mn, &a);
		_mm256_storeu_pd(out, a.a0);
		_mm256_storeu_pd(out + 4, a.a1);
		memcpy(sse + k0, out, (size_t)live * sizeof *out);
	}
}

#else
typedef int qblock_x86_unused;	/* ISO C wants a declaration in every file */
#endif
