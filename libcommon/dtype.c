/* dtype: the dtype table and conversions to and from F32.
 *
 * The scalar functions are the reference.  The bulk F16/BF16 loops have an
 * AVX2 (+F16C) variant compiled with a target attribute and chosen at run
 * time; tests/unit/test_dtype.c proves both give the same bits. */
#include <math.h>
#include <string.h>

#include "cpu.h"
#include "dtype.h"

#if defined(__x86_64__) && !defined(QU_SCALAR_ONLY)
#define QU_X86_VECTOR 1
#include <immintrin.h>
#endif

const struct qdtype_info qdtype_table[QD_COUNT] = {
	[QD_BOOL] = { "BOOL", 8, 1 },
	[QD_F4] = { "F4", 4, 1 },
	[QD_F6_E2M3] = { "F6_E2M3", 6, 0 },
	[QD_F6_E3M2] = { "F6_E3M2", 6, 0 },
	[QD_U8] = { "U8", 8, 1 },
	[QD_I8] = { "I8", 8, 1 },
	[QD_F8_E5M2] = { "F8_E5M2", 8, 1 },
	[QD_F8_E4M3] = { "F8_E4M3", 8, 1 },
	[QD_F8_E8M0] = { "F8_E8M0", 8, 1 },
	[QD_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8, 1 },
	[QD_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8, 1 },
	[QD_I16] = { "I16", 16, 1 },
	[QD_U16] = { "U16", 16, 1 },
	[QD_F16] = { "F16", 16, 1 },
	[QD_BF16] = { "BF16", 16, 1 },
	[QD_I32] = { "I32", 32, 1 },
	[QD_U32] = { "U32", 32, 1 },
	[QD_F32] = { "F32", 32, 1 },
	[QD_C64] = { "C64", 64, 0 },
	[QD_F64] = { "F64", 64, 1 },
	[QD_I64] = { "I64", 64, 1 },
	[QD_U64] = { "U64", 64, 1 },
};

int
qdtype_from_name(const char *s)
{
	for (int i = 0; i < QD_COUNT; i++)
		if (strcmp(qdtype_table[i].name, s) == 0)
			return i;
	return -1;
}

/* ---- small floats: one description per format ---- */

struct minifloat {
	int mbits, bias;
	uint8_t max_code;	/* largest finite magnitude code */
	int saturate;		/* overflow (and inf) -> max_code; else -> inf_code */
	int has_inf;		/* exponent all ones, mantissa 0 is inf */
	int nan_all_ones;	/* code 0x7f (E4M3 "fn"): the only NaN pattern */
	int fnuz;		/* 0x80 is the only NaN, no -0 */
};

static const struct minifloat fmt_e4m3 = { 3, 7, 0x7e, 1, 0, 1, 0 };
static const struct minifloat fmt_e5m2 = { 2, 15, 0x7b, 0, 1, 0, 0 };
static const struct minifloat fmt_e4m3fnuz = { 3, 8, 0x7f, 1, 0, 0, 1 };
static const struct minifloat fmt_e5m2fnuz = { 2, 16, 0x7f, 1, 0, 0, 1 };
static const struct minifloat fmt_e2m1 = { 1, 1, 0x07, 1, 0, 0, 0 };

static int
sign_bit(const struct minifloat *f)
{
	return f == &fmt_e2m1 ? 3 : 7;
}

static float
mini_decode(const struct minifloat *f, unsigned code)
{
	int sb = sign_bit(f), ebits = sb - f->mbits;
	unsigned mag = code & ((1u << sb) - 1), e = mag >> f->mbits, m = mag & ((1u << f->mbits) - 1);
	float v;

	if (f->fnuz && code == 0x80)
		return NAN;
	if (f->nan_all_ones && mag == 0x7f)
		return (code >> sb) ? -NAN : NAN;
	if (f->has_inf && e == (1u << ebits) - 1)
		v = m ? NAN : INFINITY;
	else if (e == 0)	/* subnormal: m * 2^(1 - bias - mbits), exact */
		v = ldexpf((float)m, 1 - f->bias - f->mbits);
	else
		v = ldexpf((float)((1u << f->mbits) | m), (int)e - f->bias - f->mbits);
	return (code >> sb) ? -v : v;
}

/* Round to nearest even on the bits of the binary32 value. */
static unsigned
mini_encode(const struct minifloat *f, float x)
{
	int sb = sign_bit(f);
	uint32_t u = qu_f32_bits(x), sign = (u >> 31) << sb, au = u & 0x7fffffff;
	int e = (int)(au >> 23) - 127, emin = 1 - f->bias;
	uint32_t r, rest, half, shift, man = au & 0x7fffff;
	unsigned inf_code = (0x7fu >> f->mbits) << f->mbits;	/* E5M2: 0x7c */

	if (au > 0x7f800000) {	/* NaN */
		if (sb == 3)
			return 0;	/* E2M1 has no NaN */
		if (f->fnuz)
			return 0x80;
		return sign | (f->nan_all_ones ? 0x7f : inf_code | (1u << (f->mbits - 1)));
	}
	if (au == 0x7f800000)
		r = f->saturate ? f->max_code : inf_code;
	else if (e < emin) {
		/* subnormal range: the value in units of the smallest step, rounded
		 * half to even; a carry into the exponent field is the right code */
		float q = rintf(qu_bits_f32(au) * ldexpf(1.0f, f->bias - 1 + f->mbits));
		r = (uint32_t)q;
	} else {
		shift = 23 - (uint32_t)f->mbits;
		r = ((uint32_t)(e + f->bias) << f->mbits) | (man >> shift);
		rest = man & ((1u << shift) - 1);
		half = 1u << (shift - 1);
		if (rest > half || (rest == half && (r & 1)))
			r++;
		if (e + f->bias > 0x7f)
			r = 0xffff;	/* far out of range */
	}
	if (r > f->max_code)
		r = f->saturate ? f->max_code : inf_code;
	if (f->fnuz && r == 0)
		return 0;
	return sign | r;
}

static const struct minifloat *
fp8_format(enum qdtype t)
{
	switch (t) {
	case QD_F8_E4M3: return &fmt_e4m3;
	case QD_F8_E5M2: return &fmt_e5m2;
	case QD_F8_E4M3FNUZ: return &fmt_e4m3fnuz;
	case QD_F8_E5M2FNUZ: return &fmt_e5m2fnuz;
	default: return NULL;
	}
}

float
qu_fp8_to_f32(enum qdtype t, uint8_t b)
{
	const struct minifloat *f = fp8_format(t);

	if (t == QD_F8_E8M0) {	/* 2^(b-127); 0xff is NaN; b = 0 is 2^-127, a binary32 subnormal */
		if (b == 0xff)
			return NAN;
		return b ? qu_bits_f32((uint32_t)b << 23) : qu_bits_f32(0x00400000);
	}
	return f ? mini_decode(f, b) : NAN;
}

uint8_t
qu_f32_to_fp8(enum qdtype t, float x)
{
	const struct minifloat *f = fp8_format(t);

	return f ? (uint8_t)mini_encode(f, x) : 0;
}

float qu_e2m1_to_f32(uint8_t nibble) { return mini_decode(&fmt_e2m1, nibble & 15); }
uint8_t qu_f32_to_e2m1(float x) { return (uint8_t)mini_encode(&fmt_e2m1, x); }

/* ---- integers: round half to even, saturate, NaN -> 0 ---- */

static double
round_clamp(float x, double lo, double hi)
{
	double v;

	if (isnan(x))
		return 0;
	v = nearbyint((double)x);	/* default rounding mode: half to even */
	return v < lo ? lo : v > hi ? hi : v;
}

static int64_t
to_i64(float x)
{
	if (isnan(x))
		return 0;
	if (x >= 9223372036854775808.0f)
		return INT64_MAX;
	if (x < -9223372036854775808.0f)
		return INT64_MIN;
	return (int64_t)nearbyintf(x);	/* |x| < 2^63 here, and floats that large are integers */
}

static uint64_t
to_u64(float x)
{
	if (isnan(x) || x <= 0)
		return 0;
	if (x >= 18446744073709551616.0f)
		return UINT64_MAX;
	return (uint64_t)nearbyintf(x);
}

/* ---- F16 / BF16 bulk: scalar, and AVX2 + F16C ---- */

static void
f16_to_f32_scalar(const unsigned char *p, float *dst, size_t n)
{
	uint16_t h;

	for (size_t i = 0; i < n; i++) {
		memcpy(&h, p + 2 * i, 2);
		dst[i] = qu_f16_to_f32(h);
	}
}

static void
f32_to_f16_scalar(const float *src, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t h = qu_f32_to_f16(src[i]);
		memcpy(p + 2 * i, &h, 2);
	}
}

static void
bf16_to_f32_scalar(const unsigned char *p, float *dst, size_t n)
{
	uint16_t h;

	for (size_t i = 0; i < n; i++) {
		memcpy(&h, p + 2 * i, 2);
		dst[i] = qu_bf16_to_f32(h);
	}
}

static void
f32_to_bf16_scalar(const float *src, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t h = qu_f32_to_bf16(src[i]);
		memcpy(p + 2 * i, &h, 2);
	}
}

#ifdef QU_X86_VECTOR
__attribute__((target("avx2,f16c"))) static void
f16_to_f32_avx2(const unsigned char *p, float *dst, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i))));
	f16_to_f32_scalar(p + 2 * i, dst + i, n - i);
}

/* vcvtps2ph keeps NaN payload bits the reference drops: blocks holding a
 * NaN go through the scalar reference. */
__attribute__((target("avx2,f16c"))) static void
f32_to_f16_avx2(const float *src, unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 x = _mm256_loadu_ps(src + i);

		if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)))
			f32_to_f16_scalar(src + i, p + 2 * i, 8);
		else
			_mm_storeu_si128((__m128i *)(p + 2 * i),
			    _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
	}
	f32_to_f16_scalar(src + i, p + 2 * i, n - i);
}

__attribute__((target("avx2"))) static void
bf16_to_f32_avx2(const unsigned char *p, float *dst, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * i)));
		_mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(w, 16));
	}
	bf16_to_f32_scalar(p + 2 * i, dst + i, n - i);
}

/* u + 0x7fff + ((u >> 16) & 1), >> 16; NaN: (u >> 16) | 64.  Same as the
 * reference, eight at a time. */
__attribute__((target("avx2"))) static void
f32_to_bf16_avx2(const float *src, unsigned char *p, size_t n)
{
	const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
	const __m256i absmask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
	const __m256i quiet = _mm256_set1_epi32(64);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i u = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
		__m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(bias, lsb)), 16);
		__m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
		__m256i qnan = _mm256_or_si256(_mm256_srli_epi32(u, 16), quiet);
		__m256i r = _mm256_blendv_epi8(rounded, qnan, nan);
		/* pack 32 -> 16 within lanes, then put the two halves together */
		__m256i packed = _mm256_packus_epi32(r, r);
		packed = _mm256_permute4x64_epi64(packed, 0x08);
		_mm_storeu_si128((__m128i *)(p + 2 * i), _mm256_castsi256_si128(packed));
	}
	f32_to_bf16_scalar(src + i, p + 2 * i, n - i);
}

/* cpu.h checks CPUID and that the OS saves the YMM state (XGETBV); its
 * AVX2 level includes F16C.  QUTILS_SIMD=scalar forces the scalar loops. */
static int
have_avx2_f16c(void)
{
	return qcpu_level() >= QCPU_AVX2;
}
#endif

int
qdtype_vectorized(void)
{
#ifdef QU_X86_VECTOR
	return have_avx2_f16c();
#else
	return 0;
#endif
}

/* ---- bulk entry points ---- */

/* Unaligned little-endian element access (safetensors data need not be
 * aligned to the element size). */
#define ACCESS(T, N) \
	static inline T ld_##N(const unsigned char *p, size_t i) { T v; memcpy(&v, p + i * sizeof v, sizeof v); return v; } \
	static inline void st_##N(unsigned char *p, size_t i, T v) { memcpy(p + i * sizeof v, &v, sizeof v); }
ACCESS(uint16_t, u16)
ACCESS(int16_t, i16)
ACCESS(uint32_t, u32)
ACCESS(int32_t, i32)
ACCESS(uint64_t, u64)
ACCESS(int64_t, i64)
ACCESS(double, f64)
#define LOAD(T, p, i) ld_##T(p, i)
#define STORE(T, p, i, v) st_##T(p, i, (v))

int
qdtype_to_f32(enum qdtype t, const void *src, float *dst, size_t n)
{
	const unsigned char *p = src;
	const struct minifloat *mf;

	switch (t) {
	case QD_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case QD_F16:
#ifdef QU_X86_VECTOR
		if (have_avx2_f16c()) {
			f16_to_f32_avx2(p, dst, n);
			return 0;
		}
#endif
		f16_to_f32_scalar(p, dst, n);
		return 0;
	case QD_BF16:
#ifdef QU_X86_VECTOR
		if (have_avx2_f16c()) {
			bf16_to_f32_avx2(p, dst, n);
			return 0;
		}
#endif
		bf16_to_f32_scalar(p, dst, n);
		return 0;
	case QD_F64:
		for (size_t i = 0; i < n; i++)
			dst[i] = (float)LOAD(f64, p, i);
		return 0;
	case QD_F8_E4M3: case QD_F8_E5M2: case QD_F8_E4M3FNUZ: case QD_F8_E5M2FNUZ: case QD_F8_E8M0: {
		float table[256];	/* decode once, then look up */

		for (int b = 0; b < 256; b++)
			table[b] = qu_fp8_to_f32(t, (uint8_t)b);
		for (size_t i = 0; i < n; i++)
			dst[i] = table[p[i]];
		return 0;
	}
	case QD_F4:
		mf = &fmt_e2m1;
		for (size_t i = 0; i < n; i++)
			dst[i] = mini_decode(mf, (p[i / 2] >> (4 * (i & 1))) & 15);
		return 0;
	case QD_BOOL:
		for (size_t i = 0; i < n; i++)
			dst[i] = p[i] ? 1.0f : 0.0f;
		return 0;
	case QD_U8: for (size_t i = 0; i < n; i++) dst[i] = (float)p[i]; return 0;
	case QD_I8: for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i]; return 0;
	case QD_U16: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(u16, p, i); return 0;
	case QD_I16: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(i16, p, i); return 0;
	case QD_U32: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(u32, p, i); return 0;
	case QD_I32: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(i32, p, i); return 0;
	case QD_U64: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(u64, p, i); return 0;
	case QD_I64: for (size_t i = 0; i < n; i++) dst[i] = (float)LOAD(i64, p, i); return 0;
	default:
		return -1;
	}
}

int
qdtype_from_f32(enum qdtype t, const float *src, void *dst, size_t n)
{
	unsigned char *p = dst;
	const struct minifloat *mf = fp8_format(t);

	switch (t) {
	case QD_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case QD_F16:
#ifdef QU_X86_VECTOR
		if (have_avx2_f16c()) {
			f32_to_f16_avx2(src, p, n);
			return 0;
		}
#endif
		f32_to_f16_scalar(src, p, n);
		return 0;
	case QD_BF16:
#ifdef QU_X86_VECTOR
		if (have_avx2_f16c()) {
			f32_to_bf16_avx2(src, p, n);
			return 0;
		}
#endif
		f32_to_bf16_scalar(src, p, n);
		return 0;
	case QD_F64:
		for (size_t i = 0; i < n; i++)
			STORE(f64, p, i, (double)src[i]);
		return 0;
	case QD_F8_E4M3: case QD_F8_E5M2: case QD_F8_E4M3FNUZ: case QD_F8_E5M2FNUZ:
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)mini_encode(mf, src[i]);
		return 0;
	case QD_F4:
		memset(p, 0, (n + 1) / 2);
		for (size_t i = 0; i < n; i++)
			p[i / 2] |= (uint8_t)(mini_encode(&fmt_e2m1, src[i]) << (4 * (i & 1)));
		return 0;
	case QD_BOOL:
		for (size_t i = 0; i < n; i++)
			p[i] = src[i] != 0;
		return 0;
	case QD_U8: for (size_t i = 0; i < n; i++) p[i] = (uint8_t)round_clamp(src[i], 0, 255); return 0;
	case QD_I8: for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(int8_t)round_clamp(src[i], -128, 127); return 0;
	case QD_U16: for (size_t i = 0; i < n; i++) STORE(u16, p, i, round_clamp(src[i], 0, 65535)); return 0;
	case QD_I16: for (size_t i = 0; i < n; i++) STORE(i16, p, i, round_clamp(src[i], -32768, 32767)); return 0;
	case QD_U32: for (size_t i = 0; i < n; i++) STORE(u32, p, i, round_clamp(src[i], 0, 4294967295.0)); return 0;
	case QD_I32: for (size_t i = 0; i < n; i++) STORE(i32, p, i, round_clamp(src[i], -2147483648.0, 2147483647.0)); return 0;
	case QD_U64: for (size_t i = 0; i < n; i++) STORE(u64, p, i, to_u64(src[i])); return 0;
	case QD_I64: for (size_t i = 0; i < n; i++) STORE(i64, p, i, to_i64(src[i])); return 0;
	default:
		return -1;
	}
}
