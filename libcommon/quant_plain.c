/* The plain element formats of qpack, qdq-insert and nnef-quant: int8,
 * uint8, int4, uint4 (two per byte, element 2i in the low nibble) and the
 * OCP 8-bit floats E4M3FN (max 448, no infinity) and E5M2 (IEEE-like,
 * max 57344).  Choosing scales and zero points is qcalib's; here a code is
 * the value at scale 1: the table's `quantize` rounds half to even and
 * saturates (E5M2 overflows to inf, as dtype.c's cast), `dequantize`
 * returns the code's value. */
#include <math.h>
#include <string.h>

#include "quant_impl.h"

/* The codecs are dtype.c's (one implementation of each 8-bit format);
 * this adds only the choice between saturating and IEEE overflow. */
static enum qdtype
fp8_dtype(enum qfmt f)
{
	return f == QF_FP8_E4M3 ? QD_F8_E4M3 : QD_F8_E5M2;
}

uint8_t
qfp8_from_f32(enum qfmt f, float x, int saturate)
{
	uint8_t c;

	if (f != QF_FP8_E4M3 && f != QF_FP8_E5M2)
		return 0;
	c = qu_f32_to_fp8(fp8_dtype(f), x);	/* E4M3 saturates, E5M2 overflows to inf */
	if (x != x)
		return c;
	if (f == QF_FP8_E5M2 && saturate && (c & 0x7f) == 0x7c)
		return (uint8_t)((c & 0x80) | 0x7b);
	if (f == QF_FP8_E4M3 && !saturate && (c & 0x7f) == 0x7e && !(fabsf(x) <= 464.0f))
		return (uint8_t)((c & 0x80) | 0x7f);	/* beyond the last rounding midpoint */
	return c;
}

float
qfp8_to_f32(enum qfmt f, uint8_t code)
{
	if (f != QF_FP8_E4M3 && f != QF_FP8_E5M2)
		return NAN;
	return qu_fp8_to_f32(fp8_dtype(f), code);
}

void
qpack_nibbles(const uint8_t *codes, uint8_t *dst, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		dst[i / 2] = (uint8_t)((codes[i] & 0x0f) | (codes[i + 1] & 0x0f) << 4);
	if (n & 1)
		dst[n / 2] = codes[n - 1] & 0x0f;
}

void
qunpack_nibbles(const uint8_t *src, uint8_t *codes, size_t n, int is_signed)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)((src[i / 2] >> (4 * (i & 1))) & 0x0f);
		codes[i] = is_signed && (c & 8) ? (uint8_t)(c | 0xf0) : c;
	}
}

/* int8, uint8 and the 8-bit floats are dtype.c's bulk conversions
 * (round half to even, saturate; E5M2 overflows to inf as safetensors
 * readers expect of a plain cast). */
#define DTYPE_FORMAT(name, dt) \
	void name##_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ \
		(void)w; \
		qdtype_from_f32(dt, x, y, (size_t)(nrows * n)); \
	} \
	void name##_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ name##_quantize_ref(x, y, nrows, n, w); } \
	void name##_dequantize(const void *x, float *y, int64_t n) \
	{ qdtype_to_f32(dt, x, y, (size_t)n); }
DTYPE_FORMAT(int8, QD_I8)
DTYPE_FORMAT(uint8, QD_U8)
DTYPE_FORMAT(fp8_e4m3, QD_F8_E4M3)
DTYPE_FORMAT(fp8_e5m2, QD_F8_E5M2)

/* Round half to even, saturate to [lo, hi]; NaN -> 0. */
static int
round_sat(float x, int lo, int hi)
{
	if (x != x)
		return 0;
	if (x <= (float)lo)
		return lo;
	if (x >= (float)hi)
		return hi;
	return (int)nearbyintf(x);
}

#define NIBBLE_FORMAT(name, lo, hi, is_signed) \
	void name##_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *w) \
	{ \
		uint8_t *y = vy; \
		(void)w; \
		for (int64_t i = 0; i + 1 < nrows * n; i += 2) \
			y[i / 2] = (uint8_t)((round_sat(x[i], lo, hi) & 0x0f) | \
			    (round_sat(x[i + 1], lo, hi) & 0x0f) << 4); \
	} \
	void name##_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ name##_quantize_ref(x, y, nrows, n, w); } \
	void name##_dequantize(const void *vx, float *y, int64_t n) \
	{ \
		const uint8_t *x = vx; \
		for (int64_t i = 0; i < n; i++) { \
			int c = (x[i / 2] >> (4 * (i & 1))) & 0x0f; \
			y[i] = (float)(is_signed && c >= 8 ? c - 16 : c); \
		} \
	}
NIBBLE_FORMAT(int4, -8, 7, 1)
NIBBLE_FORMAT(uint4, 0, 15, 0)
