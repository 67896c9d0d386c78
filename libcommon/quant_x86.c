/* AVX2 and AVX-512 variants of the 32-element ggml quantizers, F16 and
 * BF16 (see cpu.h for how they are chosen).  Each gives the bytes of its
 * scalar reference in quant_simple.c, which is the specification:
 *
 *   - inside a block only element-wise operations are vectorized (the same
 *     binary32 operations in the same order); the one reduction, the
 *     block's largest magnitude / min / max, is order-free for non-NaN
 *     values, and the scalar code's "first one wins" is restored by
 *     looking up the first element equal to the result (which also gives
 *     the sign of a zero);
 *   - float -> int casts use cvttps2dq, whose NaN/overflow result is the
 *     same 0x80000000 as the scalar cvttss2si the reference emulates, and
 *     codes are narrowed by truncation (or by saturating packs only after
 *     the value already fits);
 *   - roundf (half away from zero) is truncation plus a correction when
 *     the exact remainder is at least one half;
 *   - the searches of IQ4_NL and of the imatrix paths sum in order inside
 *     a block, so there each vector lane runs one block (AVX-512: 16
 *     blocks at a time, AVX2 8).
 * NaN inputs: amax/min/max skip NaNs as the reference does, except Q8_0,
 * whose reference lets a NaN reset its running maximum; that case is
 * replayed exactly too. */
#include <string.h>

#include "quant_impl.h"

#if QU_X86_KERNELS
#include <immintrin.h>

/* ------------------------------------------------------------------ */
/* AVX-512: one block = two 16-float vectors                          */
/* ------------------------------------------------------------------ */

#define T512 QU_TARGET_AVX512 static inline

enum imatrix_kind { IM_Q4_0, IM_Q4_1, IM_Q5_0, IM_Q5_1 };
QU_TARGET_AVX512 static void imatrix_lanes512(enum imatrix_kind kind, const float *src,
    unsigned char *dst, int64_t nrows, int64_t n, const float *qw);
QU_TARGET_AVX2 static void imatrix_lanes256(enum imatrix_kind kind, const float *src,
    unsigned char *dst, int64_t nrows, int64_t n, const float *qw);

T512 __m512 abs512(__m512 v) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff))); }

/* Largest |x| ignoring NaNs, and the first element with that magnitude
 * (0.0f when all are zero): ggml's "if (amax < |v|) amax = |v|, max = v". */
T512 float
signed_absmax512(const float *x, __m512 v0, __m512 v1)
{
	__m512 a0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v0, v0, _CMP_ORD_Q), abs512(v0));
	__m512 a1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v1, v1, _CMP_ORD_Q), abs512(v1));
	float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
	__m512 am = _mm512_set1_ps(amax);
	uint32_t m;

	if (amax == 0)
		return 0.0f;
	m = (uint32_t)_mm512_cmp_ps_mask(a0, am, _CMP_EQ_OQ) |
	    (uint32_t)_mm512_cmp_ps_mask(a1, am, _CMP_EQ_OQ) << 16;
	return x[__builtin_ctz(m)];
}

/* max(|x|) of each of 16 consecutive 32-element blocks, lane b for block
 * b, as the bits of the float: non-negative floats order like their bits,
 * and a NaN's bits exceed infinity's (0x7f800000), which tells the caller.
 * The 16 vectors are folded together in a tree of shuffles (15 steps
 * instead of a full horizontal reduction per block). */
T512 __m512i
absmax_bits16_512(const float *x)
{
	const __m512i abs = _mm512_set1_epi32(0x7fffffff);
	__m512i m[16];

	for (int b = 0; b < 16; b++)
		m[b] = _mm512_max_epu32(_mm512_and_si512(_mm512_loadu_si512(x + 32 * b), abs),
		    _mm512_and_si512(_mm512_loadu_si512(x + 32 * b + 16), abs));
	/* 128-bit quarters 0-1 of m[p]: block 2p's 8 partial maxima; 2-3: block 2p+1's */
	for (int p = 0; p < 8; p++)
		m[p] = _mm512_max_epu32(_mm512_shuffle_i32x4(m[2 * p], m[2 * p + 1], 0x44),
		    _mm512_shuffle_i32x4(m[2 * p], m[2 * p + 1], 0xee));
	/* quarter q of m[r]: 4 partials of block 4r+q */
	for (int r = 0; r < 4; r++)
		m[r] = _mm512_max_epu32(_mm512_shuffle_i32x4(m[2 * r], m[2 * r + 1], 0x88),
		    _mm512_shuffle_i32x4(m[2 * r], m[2 * r + 1], 0xdd));
	/* quarter q of m[s]: 2 partials each of blocks 8s+q and 8s+4+q */
	for (int s = 0; s < 2; s++) {
		__m512 a = _mm512_castsi512_ps(m[2 * s]), b = _mm512_castsi512_ps(m[2 * s + 1]);
		m[s] = _mm512_max_epu32(_mm512_castps_si512(_mm512_shuffle_ps(a, b, 0x44)),
		    _mm512_castps_si512(_mm512_shuffle_ps(a, b, 0xee)));
	}
	{	/* lane 4q+k: block 4k+q, put back in order */
		__m512 a = _mm512_castsi512_ps(m[0]), b = _mm512_castsi512_ps(m[1]);
		__m512i t = _mm512_max_epu32(_mm512_castps_si512(_mm512_shuffle_ps(a, b, 0x88)),
		    _mm512_castps_si512(_mm512_shuffle_ps(a, b, 0xdd)));

		return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13,
		    2, 6, 10, 14, 3, 7, 11, 15), t);
	}
}

/* d (as F16) and 1/d (0 where d is 0) for 16 blocks from d = v / div:
 * vector division and conversion round like the scalar ones. */
T512 void
scales16_512(__m512 v, float div, float *id, uint16_t *dh)
{
	__m512 d = _mm512_div_ps(v, _mm512_set1_ps(div));
	__mmask16 nz = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_UQ);

	_mm512_storeu_ps(id, _mm512_maskz_div_ps(nz, _mm512_set1_ps(1.0f), d));
	_mm256_storeu_si256((__m256i *)dh, _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* min and max ignoring NaNs (FLT_MAX / -FLT_MAX if none), with the sign
 * of a zero result taken from the first zero element. */
T512 void
min_max512(const float *x, __m512 v0, __m512 v1, float *minp, float *maxp)
{
	__m512 mn = _mm512_min_ps(v1, _mm512_min_ps(v0, _mm512_set1_ps(3.40282347e38f)));
	__m512 mx = _mm512_max_ps(v1, _mm512_max_ps(v0, _mm512_set1_ps(-3.40282347e38f)));
	float min = _mm512_reduce_min_ps(mn), max = _mm512_reduce_max_ps(mx);

	if (min == 0 || max == 0) {
		uint32_t z = (uint32_t)_mm512_cmp_ps_mask(v0, _mm512_setzero_ps(), _CMP_EQ_OQ) |
		    (uint32_t)_mm512_cmp_ps_mask(v1, _mm512_setzero_ps(), _CMP_EQ_OQ) << 16;
		float zero = x[__builtin_ctz(z)];
		if (min == 0)
			min = zero;
		if (max == 0)
			max = zero;
	}
	*minp = min;
	*maxp = max;
}

/* (int8_t)(float) as ggml's build does it: cvtt to 32 bits, low byte,
 * sign-extended back to 32 bits */
T512 __m512i trunc_i8_512(__m512 v) { return _mm512_srai_epi32(_mm512_slli_epi32(_mm512_cvttps_epi32(v), 24), 24); }

/* 32 codes c[0..31] (c0: elements 0..15, c1: 16..31) -> 16 bytes
 * (c[j] | c[j+16] << 4), truncated to 8 bits */
T512 void
store_nibbles512(uint8_t *qs, __m512i c0, __m512i c1)
{
	__m512i b = _mm512_or_si512(c0, _mm512_slli_epi32(c1, 4));
	_mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(b));
}

T512 void
store_5bit512(uint8_t *qs, uint8_t *qh, __m512i c0, __m512i c1)
{
	__m512i lo = _mm512_set1_epi32(0x0f), bit4 = _mm512_set1_epi32(0x10);
	uint32_t h = (uint32_t)_mm512_test_epi32_mask(c0, bit4) |
	    (uint32_t)_mm512_test_epi32_mask(c1, bit4) << 16;

	store_nibbles512(qs, _mm512_and_si512(c0, lo), _mm512_and_si512(c1, lo));
	memcpy(qh, &h, 4);
}

T512 uint16_t
f16_512(float d)
{
	return d == d ? (uint16_t)_cvtss_sh(d, 0) : qu_f32_to_f16(d);
}

T512 void
q4_0_encode512(__m512 v0, __m512 v1, float id, uint16_t dh, struct blk_q4_0 *y)
{
	__m512 vid = _mm512_set1_ps(id), off = _mm512_set1_ps(8.5f);
	__m512i fifteen = _mm512_set1_epi32(15);

	y->d = dh;
	store_nibbles512(y->qs,
	    _mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(v0, vid), off)), fifteen),
	    _mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(v1, vid), off)), fifteen));
}

/* Sixteen blocks at a time: the signed maximum of each block (its first
 * element of the largest magnitude) is found per block; the divisions and
 * conversions of d are done for all sixteen at once. */
QU_TARGET_AVX512 void
q4_0_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q4_0 *y = vy;
	int64_t nb = nrows * n / QK32, i = 0;

	if (qw) {
		imatrix_lanes512(IM_Q4_0, x, vy, nrows, n, qw);
		return;
	}
	for (; i + 16 <= nb; i += 16, x += 16 * QK32) {
		__m512i bits = absmax_bits16_512(x);
		__mmask16 nan = _mm512_cmpgt_epu32_mask(bits, _mm512_set1_epi32(0x7f800000));
		const __m512i abs = _mm512_set1_epi32(0x7fffffff);
		uint32_t amax[16];
		float max[16], id[16];
		uint16_t dh[16];

		_mm512_storeu_si512(amax, bits);
		for (int b = 0; b < 16; b++) {
			const float *xb = x + b * QK32;
			__m512i am = _mm512_set1_epi32((int)amax[b]);
			uint32_t m;

			if (nan >> b & 1) {
				max[b] = signed_absmax512(xb, _mm512_loadu_ps(xb), _mm512_loadu_ps(xb + 16));
				continue;
			}
			if (amax[b] == 0) {
				max[b] = 0.0f;
				continue;
			}
			m = (uint32_t)_mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_loadu_si512(xb), abs), am) |
			    (uint32_t)_mm512_cmpeq_epi32_mask(_mm512_and_si512(_mm512_loadu_si512(xb + 16), abs), am) << 16;
			max[b] = xb[__builtin_ctz(m)];
		}
		scales16_512(_mm512_loadu_ps(max), -8.0f, id, dh);
		for (int b = 0; b < 16; b++)
			q4_0_encode512(_mm512_loadu_ps(x + b * QK32), _mm512_loadu_ps(x + b * QK32 + 16),
			    id[b], dh[b], y + i + b);
	}
	for (; i < nb; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float max = signed_absmax512(x, v0, v1), d = max / -8, id = d ? 1.0f / d : 0.0f;

		q4_0_encode512(v0, v1, id, f16_512(d), y + i);
	}
}

QU_TARGET_AVX512 void
q5_0_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q5_0 *y = vy;

	if (qw) {
		imatrix_lanes512(IM_Q5_0, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float max = signed_absmax512(x, v0, v1), d = max / -16, id = d ? 1.0f / d : 0.0f;
		__m512 vid = _mm512_set1_ps(id), off = _mm512_set1_ps(16.5f);
		__m512i top = _mm512_set1_epi32(31), byte = _mm512_set1_epi32(0xff);

		y[i].d = f16_512(d);
		store_5bit512(y[i].qs, y[i].qh,
		    _mm512_and_si512(_mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(v0, vid), off)), top), byte),
		    _mm512_and_si512(_mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(v1, vid), off)), top), byte));
	}
}

QU_TARGET_AVX512 void
q4_1_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q4_1 *y = vy;

	if (qw) {
		imatrix_lanes512(IM_Q4_1, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float min, max, d, id;
		__m512 vmin, vid, half = _mm512_set1_ps(0.5f);
		__m512i fifteen = _mm512_set1_epi32(15);

		min_max512(x, v0, v1, &min, &max);
		d = (max - min) / 15;
		id = d ? 1.0f / d : 0.0f;
		vmin = _mm512_set1_ps(min);
		vid = _mm512_set1_ps(id);
		y[i].d = f16_512(d);
		y[i].m = f16_512(min);
		store_nibbles512(y[i].qs,
		    _mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v0, vmin), vid), half)), fifteen),
		    _mm512_min_epi32(trunc_i8_512(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v1, vmin), vid), half)), fifteen));
	}
}

QU_TARGET_AVX512 void
q5_1_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q5_1 *y = vy;

	if (qw) {
		imatrix_lanes512(IM_Q5_1, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float min, max, d, id;
		__m512 vmin, vid, half = _mm512_set1_ps(0.5f);

		min_max512(x, v0, v1, &min, &max);
		d = (max - min) / 31;
		id = d ? 1.0f / d : 0.0f;
		vmin = _mm512_set1_ps(min);
		vid = _mm512_set1_ps(id);
		y[i].d = f16_512(d);
		y[i].m = f16_512(min);
		/* (uint8_t) cast: the low byte, no clamp */
		store_5bit512(y[i].qs, y[i].qh,
		    _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v0, vmin), vid), half)),
		    _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v1, vmin), vid), half)));
	}
}

/* roundf: half away from zero.  v − trunc(v) is exact, so comparing it
 * with one half decides like the scalar function. */
T512 __m512
roundf512(__m512 v)
{
	__m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	__mmask16 up = _mm512_cmp_ps_mask(abs512(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
	__m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));

	return _mm512_mask_add_ps(t, up, t, one);
}

/* ggml's running MAX(amax, |v|): a NaN element sets amax to NaN and the
 * next element replaces it, so only elements after the last NaN count */
T512 float
q8_amax512(__m512 v0, __m512 v1)
{
	uint32_t nan = (uint32_t)_mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q) |
	    (uint32_t)_mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q) << 16;
	__m512 a0 = abs512(v0), a1 = abs512(v1);

	if (nan) {
		int last = 31 - __builtin_clz(nan);
		uint32_t keep;
		if (last == 31)
			return __builtin_nanf("");
		keep = ~0u << (last + 1);
		a0 = _mm512_maskz_mov_ps((__mmask16)keep, a0);
		a1 = _mm512_maskz_mov_ps((__mmask16)(keep >> 16), a1);
	}
	return _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
}

T512 void
q8_0_encode512(__m512 v0, __m512 v1, float id, uint16_t dh, struct blk_q8_0 *y)
{
	__m512 vid = _mm512_set1_ps(id);

	y->d = dh;
	_mm_storeu_si128((__m128i *)y->qs, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(roundf512(_mm512_mul_ps(v0, vid)))));
	_mm_storeu_si128((__m128i *)(y->qs + 16), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(roundf512(_mm512_mul_ps(v1, vid)))));
}

/* Sixteen blocks at a time as Q4_0; a block with a NaN goes the
 * single-block way (ggml's MAX chain lets a NaN through in places). */
QU_TARGET_AVX512 void
q8_0_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q8_0 *y = vy;
	int64_t nb = nrows * n / QK32, i = 0;

	(void)qw;
	for (; i + 16 <= nb; i += 16, x += 16 * QK32) {
		__m512i bits = absmax_bits16_512(x);
		__mmask16 nan = _mm512_cmpgt_epu32_mask(bits, _mm512_set1_epi32(0x7f800000));
		float id[16];
		uint16_t dh[16];

		scales16_512(_mm512_castsi512_ps(bits), 127.0f, id, dh);
		for (int b = 0; b < 16; b++) {
			const float *xb = x + b * QK32;
			__m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);

			if (nan >> b & 1) {
				float amax = q8_amax512(v0, v1), d = amax / 127;

				q8_0_encode512(v0, v1, d ? 1.0f / d : 0.0f, f16_512(d), y + i + b);
			} else {
				q8_0_encode512(v0, v1, id[b], dh[b], y + i + b);
			}
		}
	}
	for (; i < nb; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
		float amax = q8_amax512(v0, v1), d = amax / 127;

		q8_0_encode512(v0, v1, d ? 1.0f / d : 0.0f, f16_512(d), y + i);
	}
}

/* MXFP4: per element the reference's scan of the 16 codes (first
 * smallest error wins), 16 elements at a time; the exponent is the
 * reference's own function (log2f). */
/* td[i] = value i × d, the same product the reference forms per element */
T512 __m512i
mxfp4_codes512(__m512 x, const __m512 *td)
{
	__m512i best = _mm512_setzero_si512();
	__m512 best_err = abs512(_mm512_sub_ps(td[0], x));

	for (int i = 1; i < 16; i++) {
		__m512 err = abs512(_mm512_sub_ps(td[i], x));
		__mmask16 lt = _mm512_cmp_ps_mask(err, best_err, _CMP_LT_OQ);
		best = _mm512_mask_mov_epi32(best, lt, _mm512_set1_epi32(i));
		best_err = _mm512_mask_mov_ps(best_err, lt, err);
	}
	return best;
}

QU_TARGET_AVX512 void
mxfp4_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_mxfp4 *y = vy;

	(void)qw;
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16), td[16];
		float d;
		/* "if (amax < |v|) amax = |v|": NaNs never win */
		__m512 a0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v0, v0, _CMP_ORD_Q), abs512(v0));
		__m512 a1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v1, v1, _CMP_ORD_Q), abs512(v1));

		y[i].e = qk_mxfp4_exponent(_mm512_reduce_max_ps(_mm512_max_ps(a0, a1)));
		d = qk_e8m0_half(y[i].e);
		for (int k = 0; k < 16; k++)
			td[k] = _mm512_set1_ps((float)qk_mxfp4_values[k] * d);
		store_nibbles512(y[i].qs, mxfp4_codes512(v0, td), mxfp4_codes512(v1, td));
	}
}

/* F16: vcvtps2ph rounds like ggml; only NaN payloads differ (ggml writes
 * 0x7e00 with the sign), so NaN lanes are patched. */
QU_TARGET_AVX512 void
f16_quantize_avx512(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	uint16_t *y = vy;
	int64_t total = nrows * n, i = 0;

	(void)qw;
	for (; i + 16 <= total; i += 16) {
		__m512 v = _mm512_loadu_ps(x + i);
		__m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		__mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
		if (nan) {
			__m256i sign = _mm256_and_si256(h, _mm256_set1_epi16((short)0x8000));
			h = _mm256_mask_mov_epi16(h, nan, _mm256_or_si256(sign, _mm256_set1_epi16(0x7e00)));
		}
		_mm256_storeu_si256((__m256i *)(y + i), h);
	}
	f16_quantize_ref(x + i, y + i, 1, total - i, NULL);
}

/* ------------------------------------------------------------------ */
/* AVX2: one block = four 8-float vectors                             */
/* ------------------------------------------------------------------ */

#define T256 QU_TARGET_AVX2 static inline

T256 __m256 abs256(__m256 v) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }

T256 float
hmax256(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
	return _mm_cvtss_f32(m);
}

T256 float
hmin256(__m256 v)
{
	__m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	m = _mm_min_ps(m, _mm_movehl_ps(m, m));
	m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
	return _mm_cvtss_f32(m);
}

/* bit i of the result: lane i of the 32-lane comparison */
#define MASK32(v, cmp) ((uint32_t)_mm256_movemask_ps(cmp(v[0])) | \
	(uint32_t)_mm256_movemask_ps(cmp(v[1])) << 8 | \
	(uint32_t)_mm256_movemask_ps(cmp(v[2])) << 16 | \
	(uint32_t)_mm256_movemask_ps(cmp(v[3])) << 24)

T256 void
load256(const float *x, __m256 v[4])
{
	for (int k = 0; k < 4; k++)
		v[k] = _mm256_loadu_ps(x + 8 * k);
}

T256 float
signed_absmax256(const float *x, const __m256 v[4])
{
	__m256 a[4], acc = _mm256_setzero_ps(), am;
	uint32_t m;
	float amax;

	for (int k = 0; k < 4; k++) {
		/* max_ps(a, b) returns b when a is NaN: NaNs never enter acc */
		a[k] = abs256(v[k]);
		acc = _mm256_max_ps(a[k], acc);
	}
	amax = hmax256(acc);
	if (amax == 0)
		return 0.0f;
	am = _mm256_set1_ps(amax);
#define EQ_AMAX(a) _mm256_cmp_ps(a, am, _CMP_EQ_OQ)
	m = MASK32(a, EQ_AMAX);
#undef EQ_AMAX
	return x[__builtin_ctz(m)];
}

T256 void
min_max256(const float *x, const __m256 v[4], float *minp, float *maxp)
{
	__m256 mn = _mm256_set1_ps(3.40282347e38f), mx = _mm256_set1_ps(-3.40282347e38f);
	float min, max;

	for (int k = 0; k < 4; k++) {
		mn = _mm256_min_ps(v[k], mn);
		mx = _mm256_max_ps(v[k], mx);
	}
	min = hmin256(mn);
	max = hmax256(mx);
	if (min == 0 || max == 0) {
#define EQ_ZERO(a) _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_EQ_OQ)
		float zero = x[__builtin_ctz(MASK32(v, EQ_ZERO))];
#undef EQ_ZERO
		if (min == 0)
			min = zero;
		if (max == 0)
			max = zero;
	}
	*minp = min;
	*maxp = max;
}

T256 __m256i trunc_i8_256(__m256 v) { return _mm256_srai_epi32(_mm256_slli_epi32(_mm256_cvttps_epi32(v), 24), 24); }

/* 16 int32 values already in 0..255 -> 16 bytes (packs cannot saturate) */
T256 __m128i
narrow_u8_256(__m256i a, __m256i b)
{
	__m256i w = _mm256_packus_epi32(a, b);		/* a0-3 b0-3 a4-7 b4-7 */
	__m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
	__m128i bytes = _mm_packus_epi16(lo, hi);	/* a0-3 b0-3 a4-7 b4-7 */
	return _mm_shuffle_epi8(bytes, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15));
}

/* c[0..3]: codes of elements 0-7, 8-15, 16-23, 24-31 */
T256 void
store_nibbles256(uint8_t *qs, const __m256i c[4])
{
	__m256i byte = _mm256_set1_epi32(0xff);
	__m256i b0 = _mm256_and_si256(_mm256_or_si256(c[0], _mm256_slli_epi32(c[2], 4)), byte);
	__m256i b1 = _mm256_and_si256(_mm256_or_si256(c[1], _mm256_slli_epi32(c[3], 4)), byte);

	_mm_storeu_si128((__m128i *)qs, narrow_u8_256(b0, b1));
}

T256 void
store_5bit256(uint8_t *qs, uint8_t *qh, const __m256i c[4])
{
	__m256i lo[4];
	uint32_t h = 0;

	for (int k = 0; k < 4; k++) {
		lo[k] = _mm256_and_si256(c[k], _mm256_set1_epi32(0x0f));
		h |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(c[k], 27))) << (8 * k);
	}
	store_nibbles256(qs, lo);
	memcpy(qh, &h, 4);
}

T256 uint16_t
f16_256(float d)
{
	return d == d ? (uint16_t)_cvtss_sh(d, 0) : qu_f32_to_f16(d);
}

QU_TARGET_AVX2 void
q4_0_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q4_0 *y = vy;

	if (qw) {
		imatrix_lanes256(IM_Q4_0, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4];
		__m256i c[4];
		float max, d, id;

		load256(x, v);
		max = signed_absmax256(x, v);
		d = max / -8;
		id = d ? 1.0f / d : 0.0f;
		y[i].d = f16_256(d);
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_min_epi32(trunc_i8_256(_mm256_add_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
			    _mm256_set1_ps(8.5f))), _mm256_set1_epi32(15));
		store_nibbles256(y[i].qs, c);
	}
}

QU_TARGET_AVX2 void
q5_0_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q5_0 *y = vy;

	if (qw) {
		imatrix_lanes256(IM_Q5_0, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4];
		__m256i c[4];
		float max, d, id;

		load256(x, v);
		max = signed_absmax256(x, v);
		d = max / -16;
		id = d ? 1.0f / d : 0.0f;
		y[i].d = f16_256(d);
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_and_si256(_mm256_min_epi32(trunc_i8_256(_mm256_add_ps(_mm256_mul_ps(v[k],
			    _mm256_set1_ps(id)), _mm256_set1_ps(16.5f))), _mm256_set1_epi32(31)), _mm256_set1_epi32(0xff));
		store_5bit256(y[i].qs, y[i].qh, c);
	}
}

QU_TARGET_AVX2 void
q4_1_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q4_1 *y = vy;

	if (qw) {
		imatrix_lanes256(IM_Q4_1, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4];
		__m256i c[4];
		float min, max, d, id;

		load256(x, v);
		min_max256(x, v, &min, &max);
		d = (max - min) / 15;
		id = d ? 1.0f / d : 0.0f;
		y[i].d = f16_256(d);
		y[i].m = f16_256(min);
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_min_epi32(trunc_i8_256(_mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v[k],
			    _mm256_set1_ps(min)), _mm256_set1_ps(id)), _mm256_set1_ps(0.5f))), _mm256_set1_epi32(15));
		store_nibbles256(y[i].qs, c);
	}
}

QU_TARGET_AVX2 void
q5_1_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q5_1 *y = vy;

	if (qw) {
		imatrix_lanes256(IM_Q5_1, x, vy, nrows, n, qw);
		return;
	}
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4];
		__m256i c[4];
		float min, max, d, id;

		load256(x, v);
		min_max256(x, v, &min, &max);
		d = (max - min) / 31;
		id = d ? 1.0f / d : 0.0f;
		y[i].d = f16_256(d);
		y[i].m = f16_256(min);
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v[k],
			    _mm256_set1_ps(min)), _mm256_set1_ps(id)), _mm256_set1_ps(0.5f)));
		store_5bit256(y[i].qs, y[i].qh, c);
	}
}

T256 __m256
roundf256(__m256 v)
{
	__m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
	__m256 up = _mm256_cmp_ps(abs256(_mm256_sub_ps(v, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
	__m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));

	return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

QU_TARGET_AVX2 void
q8_0_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q8_0 *y = vy;

	(void)qw;
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4], acc = _mm256_setzero_ps();
		__m256i c[4], w0, w1;
		float amax, d, id;
#define UNORD(a) _mm256_cmp_ps(a, a, _CMP_UNORD_Q)
		uint32_t nan;

		load256(x, v);
		nan = MASK32(v, UNORD);
#undef UNORD
		for (int k = 0; k < 4; k++) {
			__m256 a = abs256(v[k]);
			if (nan) {	/* only elements after the last NaN count */
				int last = 31 - __builtin_clz(nan);
				uint32_t keep = last == 31 ? 0 : ~0u << (last + 1);
				__m256i bits = _mm256_and_si256(_mm256_set1_epi32((int)(keep >> (8 * k))),
				    _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128));
				a = _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_cmpgt_epi32(bits, _mm256_setzero_si256())));
			}
			acc = _mm256_max_ps(acc, a);
		}
		amax = nan >> 31 ? __builtin_nanf("") : hmax256(acc);
		d = amax / 127;
		id = d ? 1.0f / d : 0.0f;
		y[i].d = f16_256(d);
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_cvttps_epi32(roundf256(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
		/* codes are in [-127, 127] or 0x80000000 (NaN): sign-extend the
		 * low byte, then the saturating packs keep every value */
		for (int k = 0; k < 4; k++)
			c[k] = _mm256_srai_epi32(_mm256_slli_epi32(c[k], 24), 24);
		w0 = _mm256_packs_epi32(c[0], c[1]);	/* 0-3 8-11 4-7 12-15 */
		w1 = _mm256_packs_epi32(c[2], c[3]);
		w0 = _mm256_packs_epi16(w0, w1);	/* 0-3 8-11 16-19 24-27 4-7 12-15 20-23 28-31 */
		w0 = _mm256_permutevar8x32_epi32(w0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
		_mm256_storeu_si256((__m256i *)y[i].qs, w0);
	}
}

T256 __m256i
mxfp4_codes256(__m256 x, __m256 d)
{
	__m256i best = _mm256_setzero_si256();
	__m256 best_err = abs256(_mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps((float)qk_mxfp4_values[0]), d), x));

	for (int i = 1; i < 16; i++) {
		__m256 err = abs256(_mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps((float)qk_mxfp4_values[i]), d), x));
		__m256 lt = _mm256_cmp_ps(err, best_err, _CMP_LT_OQ);
		best = _mm256_blendv_epi8(best, _mm256_set1_epi32(i), _mm256_castps_si256(lt));
		best_err = _mm256_blendv_ps(best_err, err, lt);
	}
	return best;
}

QU_TARGET_AVX2 void
mxfp4_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_mxfp4 *y = vy;

	(void)qw;
	for (int64_t i = 0; i < nrows * n / QK32; i++, x += QK32) {
		__m256 v[4], acc = _mm256_setzero_ps(), d;
		__m256i c[4];

		load256(x, v);
		for (int k = 0; k < 4; k++)	/* max_ps(a, acc) keeps acc when a is NaN */
			acc = _mm256_max_ps(abs256(v[k]), acc);
		y[i].e = qk_mxfp4_exponent(hmax256(acc));
		d = _mm256_set1_ps(qk_e8m0_half(y[i].e));
		for (int k = 0; k < 4; k++)
			c[k] = mxfp4_codes256(v[k], d);
		store_nibbles256(y[i].qs, c);
	}
}

QU_TARGET_AVX2 void
f16_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	uint16_t *y = vy;
	int64_t total = nrows * n, i = 0;

	(void)qw;
	for (; i + 8 <= total; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		__m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		int nan = _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
		_mm_storeu_si128((__m128i *)(y + i), h);
		if (nan)
			for (int k = 0; k < 8; k++)
				if (nan >> k & 1)
					y[i + k] = qu_f32_to_f16(x[i + k]);
	}
	f16_quantize_ref(x + i, y + i, 1, total - i, NULL);
}

QU_TARGET_AVX2 void
bf16_quantize_avx2(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	uint16_t *y = vy;
	int64_t total = nrows * n, i = 0;
	__m256i absmask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);

	(void)qw;
	for (; i + 16 <= total; i += 16) {
		__m256i r[2];
		for (int k = 0; k < 2; k++) {
			__m256i u = _mm256_loadu_si256((const __m256i *)(x + i + 8 * k));
			/* |u| > inf as signed ints: both are non-negative */
			__m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
			__m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
			__m256i rn = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
			__m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
			r[k] = _mm256_blendv_epi8(rn, q, nan);
		}
		/* values < 65536: the unsigned saturating pack is exact */
		_mm256_storeu_si256((__m256i *)(y + i),
		    _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xd8));
	}
	bf16_quantize_ref(x + i, y + i, 1, total - i, NULL);
}

/* ------------------------------------------------------------------ */
/* Lanes are blocks: Q4_0..Q5_1 with an imatrix, IQ4_NL (quant_lanes.h) */
/* ------------------------------------------------------------------ */

/* IQ4_NL's index of the nearest codebook entry as the reference picks it: between
 * neighbours lo < hi the upper one unless x − lo < hi − x in binary32.
 * That float test is exactly x < (lo + hi)/2: near each midpoint both
 * differences are exact (they are no larger than x and in a binade no
 * finer than x's, for this codebook), and away from it rounding cannot
 * reverse their order.  So the index is the number of midpoints <= x,
 * found by a 4-step binary search over the 15 midpoints (tests/unit/
 * test_quant_ggml.c checks the equivalence around every midpoint).
 * mids[k] holds the midpoint below entry k (mids[0] unused). */
static void
iq4nl_midpoints(float mids[16])
{
	mids[0] = -1e30f;
	for (int k = 1; k < 16; k++)
		mids[k] = ((float)qk_iq4nl_values[k - 1] + (float)qk_iq4nl_values[k]) / 2;
}

/* AVX-512: 16 blocks at a time */
#define VL 16
#define K(name) name##512
#define KFN T512
#define KTARGET QU_TARGET_AVX512 static
#define VF __m512
#define VI __m512i
#define VMASK __mmask16
#define VSET1(f) _mm512_set1_ps(f)
#define VSET1I(i) _mm512_set1_epi32(i)
#define VZERO _mm512_setzero_ps()
#define VZEROI _mm512_setzero_si512()
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VDIV(a, b) _mm512_div_ps(a, b)
#define VSQRT(a) _mm512_sqrt_ps(a)
#define VADDI(a, b) _mm512_add_epi32(a, b)
#define VSUBI(a, b) _mm512_sub_epi32(a, b)
#define VANDI(a, b) _mm512_and_si512(a, b)
#define VORI(a, b) _mm512_or_si512(a, b)
#define VMINI(a, b) _mm512_min_epi32(a, b)
#define VMAXI(a, b) _mm512_max_epi32(a, b)
#define VSLLI(a, n) _mm512_slli_epi32(a, (unsigned)(n))
#define VSRLI(a, n) _mm512_srli_epi32(a, (unsigned)(n))
#define VTOF(i) _mm512_cvtepi32_ps(i)
#define VBITS(f) _mm512_castps_si512(f)
#define VABS(v) abs512(v)
#define VCMP(a, b, P) _mm512_cmp_ps_mask(a, b, P)
#define VMASK_AND(a, b) ((__mmask16)((a) & (b)))
#define VANY(m) ((m) != 0)
#define VSEL(m, a, b) _mm512_mask_mov_ps(b, m, a)
#define VSELI(m, a, b) _mm512_mask_mov_epi32(b, m, a)
#define VLANE _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define VLIVE(n) ((__mmask16)((1u << (n)) - 1))
#define VGATHER(base, idx, m) _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 4)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VLOADI(p) _mm512_loadu_si512(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSTOREI(p, v) _mm512_storeu_si512(p, v)
#define F16(d) f16_512(d)
#define KX(name) name##_avx512
#define KPUBLIC QU_TARGET_AVX512
#define VXOR(a, b) _mm512_xor_ps(a, b)
#define VTAB __m512
#define VTAB_LOAD(p) _mm512_loadu_ps(p)
#define VLOOKUP16(i, t) _mm512_permutexvar_ps(i, t)
#define VGATHER_ALL(base, idx) _mm512_i32gather_ps(idx, base, 4)
#define VSTORE_BYTES(p, v) _mm_storeu_si128((__m128i *)(p), _mm512_cvtepi32_epi8(v))
#include "quant_lanes.h"
#include "quant_lanes_undef.h"

struct tab16_256 { __m256 lo, hi; };	/* a 16-entry table: entries 0-7, 8-15 */

/* AVX2's 16-entry table lookup: two 8-entry permutes and a blend on bit 3
 * of the index. */
T256 __m256
lookup16_256(__m256i k, __m256 lo8, __m256 hi8)
{
	__m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(k, 28));	/* bit 3 -> sign */

	return _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo8, k), _mm256_permutevar8x32_ps(hi8, k), sel);
}

/* AVX2: the same, 8 blocks at a time, masks as all-ones lanes */
#define VL 8
#define K(name) name##256
#define KFN T256
#define KTARGET QU_TARGET_AVX2 static
#define VF __m256
#define VI __m256i
#define VMASK __m256
#define VSET1(f) _mm256_set1_ps(f)
#define VSET1I(i) _mm256_set1_epi32(i)
#define VZERO _mm256_setzero_ps()
#define VZEROI _mm256_setzero_si256()
#define VADD(a, b) _mm256_add_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VDIV(a, b) _mm256_div_ps(a, b)
#define VSQRT(a) _mm256_sqrt_ps(a)
#define VADDI(a, b) _mm256_add_epi32(a, b)
#define VSUBI(a, b) _mm256_sub_epi32(a, b)
#define VANDI(a, b) _mm256_and_si256(a, b)
#define VORI(a, b) _mm256_or_si256(a, b)
#define VMINI(a, b) _mm256_min_epi32(a, b)
#define VMAXI(a, b) _mm256_max_epi32(a, b)
#define VSLLI(a, n) _mm256_slli_epi32(a, n)
#define VSRLI(a, n) _mm256_srli_epi32(a, n)
#define VTOF(i) _mm256_cvtepi32_ps(i)
#define VBITS(f) _mm256_castps_si256(f)
#define VABS(v) abs256(v)
#define VCMP(a, b, P) _mm256_cmp_ps(a, b, P)
#define VMASK_AND(a, b) _mm256_and_ps(a, b)
#define VANY(m) (!_mm256_testz_ps(m, m))
#define VSEL(m, a, b) _mm256_blendv_ps(b, a, m)
#define VSELI(m, a, b) _mm256_blendv_epi8(b, a, _mm256_castps_si256(m))
#define VLANE _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define VLIVE(n) _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), VLANE))
#define VGATHER(base, idx, m) _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx, m, 4)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VLOADI(p) _mm256_loadu_si256((const __m256i *)(p))
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSTOREI(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#define F16(d) f16_256(d)
#define KX(name) name##_avx2
#define KPUBLIC QU_TARGET_AVX2
#define VXOR(a, b) _mm256_xor_ps(a, b)
#define VTAB struct tab16_256
#define VTAB_LOAD(p) ((struct tab16_256){ _mm256_loadu_ps(p), _mm256_loadu_ps((p) + 8) })
#define VLOOKUP16(i, t) lookup16_256(i, (t).lo, (t).hi)
#define VGATHER_ALL(base, idx) _mm256_i32gather_ps(base, idx, 4)
#define VSTORE_BYTES(p, v) _mm_storel_epi64((__m128i *)(p), narrow_u8_256(v, v))
#include "quant_lanes.h"
#include "quant_lanes_undef.h"

#endif
