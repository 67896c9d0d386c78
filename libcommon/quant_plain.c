/* The plain element formats of qpack, qdq-insert and nnef-quant: int8,
 * uint8, int4, uint4 (two per byte, element 2i in the low nibble) and the
 * OCP 8-bit floats E4M3FN (max 448, no infinity, NaN = S.1111.111) and
 * E5M2 (IEEE-like, max 57344).  Choosing scales and zero points is
 * qcalib's; here a code is the value at scale 1: the table's `quantize`
 * rounds half to even and saturates, `dequantize` returns the code's
 * value. */
#include <math.h>
#include <string.h>

#include "quant_impl.h"

struct fp8_format {
	int mbits, bias;
	int ieee;		/* has infinities (exponent all ones is special) */
	uint8_t max_code;	/* largest finite magnitude */
	uint8_t nan_code;	/* canonical NaN without the sign */
};

static const struct fp8_format fp8_e4m3 = { 3, 7, 0, 0x7e, 0x7f };
static const struct fp8_format fp8_e5m2 = { 2, 15, 1, 0x7b, 0x7f };

static const struct fp8_format *
fp8_of(enum qfmt f)
{
	return f == QF_FP8_E4M3 ? &fp8_e4m3 : f == QF_FP8_E5M2 ? &fp8_e5m2 : NULL;
}

/* Round to nearest even on the bits: r counts quanta of the target
 * (implicit bit included for normals), so a carry out of the mantissa
 * moves into the exponent by itself. */
static uint8_t
fp8_encode(const struct fp8_format *t, float f, int saturate)
{
	uint32_t u = qu_f32_bits(f), a = u & 0x7fffffff, man, r, rem, half;
	uint8_t sign = (uint8_t)((u >> 24) & 0x80);
	int ef, shift;
	uint32_t code;

	if (a > 0x7f800000)
		return sign | t->nan_code;
	if (a == 0x7f800000)
		return sign | (saturate ? t->max_code : t->ieee ? 0x7c : t->nan_code);
	if (a < 0x00800000)	/* zero or binary32 subnormal: far below fp8 */
		return sign;
	ef = (int)(a >> 23) - 127 + t->bias;
	man = (a & 0x7fffff) | 0x800000;
	shift = 23 - t->mbits + (ef < 1 ? 1 - ef : 0);
	if (shift > 25)
		return sign;
	r = man >> shift;
	rem = man & ((1u << shift) - 1);
	half = 1u << (shift - 1);
	if (rem > half || (rem == half && (r & 1)))
		r++;
	code = (ef >= 1 ? (uint32_t)(ef - 1) << t->mbits : 0) + r;
	if (code > t->max_code)
		return sign | (saturate ? t->max_code : t->ieee ? 0x7c : t->nan_code);
	return (uint8_t)(sign | code);
}

static float
fp8_decode(const struct fp8_format *t, uint8_t c)
{
	int e = (c & 0x7f) >> t->mbits, m = c & ((1 << t->mbits) - 1);
	int emax = (0x7f >> t->mbits);
	float v;

	if ((c & 0x7f) == t->nan_code || (t->ieee && e == emax && m != 0))
		v = NAN;
	else if (t->ieee && e == emax)
		v = INFINITY;
	else if (e == 0)
		v = ldexpf((float)m, 1 - t->bias - t->mbits);
	else
		v = ldexpf((float)((1 << t->mbits) + m), e - t->bias - t->mbits);
	return c & 0x80 ? -v : v;
}

uint8_t
qfp8_from_f32(enum qfmt f, float x, int saturate)
{
	const struct fp8_format *t = fp8_of(f);

	return t ? fp8_encode(t, x, saturate) : 0;
}

float
qfp8_to_f32(enum qfmt f, uint8_t code)
{
	const struct fp8_format *t = fp8_of(f);

	return t ? fp8_decode(t, code) : NAN;
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

#define INT_FORMAT(name, ctype, lo, hi) \
	void name##_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *w) \
	{ \
		ctype *y = vy; \
		(void)w; \
		for (int64_t i = 0; i < nrows * n; i++) \
			y[i] = (ctype)round_sat(x[i], lo, hi); \
	} \
	void name##_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ name##_quantize_ref(x, y, nrows, n, w); } \
	void name##_dequantize(const void *vx, float *y, int64_t n) \
	{ \
		const ctype *x = vx; \
		for (int64_t i = 0; i < n; i++) \
			y[i] = (float)x[i]; \
	}
INT_FORMAT(int8, int8_t, -128, 127)
INT_FORMAT(uint8, uint8_t, 0, 255)

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

#define FP8_FORMAT(name, fmt) \
	void name##_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *w) \
	{ \
		uint8_t *y = vy; \
		(void)w; \
		for (int64_t i = 0; i < nrows * n; i++) \
			y[i] = fp8_encode(&fmt, x[i], 1); \
	} \
	void name##_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ name##_quantize_ref(x, y, nrows, n, w); } \
	void name##_dequantize(const void *vx, float *y, int64_t n) \
	{ \
		const uint8_t *x = vx; \
		for (int64_t i = 0; i < n; i++) \
			y[i] = fp8_decode(&fmt, x[i]); \
	}
FP8_FORMAT(fp8_e4m3, fp8_e4m3)
FP8_FORMAT(fp8_e5m2, fp8_e5m2)
