/* dtype: element types of tensors on disk, and conversions to and from F32.
 *
 * The enum follows safetensors' dtype order (the reference writer sorts by
 * it, so the order is part of the format).  The table is the one place a
 * dtype's name and width are written down.  Conversions round to nearest
 * even and saturate where the format says so; the scalar functions here are
 * the reference, bulk conversions in dtype.c may be vectorized but give the
 * same bits. */
#ifndef DTYPE_H
#define DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum qdtype {
	QD_BOOL, QD_F4, QD_F6_E2M3, QD_F6_E3M2, QD_U8, QD_I8, QD_F8_E5M2,
	QD_F8_E4M3, QD_F8_E8M0, QD_F8_E4M3FNUZ, QD_F8_E5M2FNUZ, QD_I16, QD_U16,
	QD_F16, QD_BF16, QD_I32, QD_U32, QD_F32, QD_C64, QD_F64, QD_I64, QD_U64,
	QD_COUNT
};

struct qdtype_info {
	const char *name;	/* safetensors spelling, e.g. "BF16" */
	int bits;		/* bits per element */
	int convertible;	/* qdtype_to_f32 / qdtype_from_f32 handle it */
};

extern const struct qdtype_info qdtype_table[QD_COUNT];

/* The dtype named s (exact safetensors spelling), or -1. */
int qdtype_from_name(const char *s);

/* Bulk conversions of n elements; return -1 for a dtype that has none
 * (C64, F6_*; F8_E8M0 is read-only).  from_f32 rounds to nearest even;
 * integer targets round half to even and saturate, NaN -> 0; BOOL is
 * x != 0; F8_E4M3 (and F4, and the FNUZ variants) saturate to their largest
 * finite value, infinities included; F8_E5M2 follows IEEE (overflow to
 * inf); NaN maps to the format's NaN where it has one (sign kept, except
 * FNUZ whose only NaN is 0x80; FNUZ has no -0).  F4 packs two elements a
 * byte, element 2i in the low nibble; n odd leaves the last high nibble 0.
 * F16 and BF16 use AVX2/F16C when the CPU and OS have them (not in a
 * -DQU_SCALAR_ONLY build); the bits are the scalar functions' below. */
int qdtype_to_f32(enum qdtype t, const void *src, float *dst, size_t n);
int qdtype_from_f32(enum qdtype t, const float *src, void *dst, size_t n);

/* Scalar references (ggml's rules, see spec/gguf.md §3). */
static inline uint32_t qu_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float qu_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* IEEE binary16 -> binary32, exact; a NaN comes out quiet with its payload
 * (as F16C's vcvtph2ps does, so the vector path gives the same bits). */
static inline float
qu_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f)
		return qu_bits_f32(sign | 0x7f800000 | (man ? 0x400000 | (man << 13) : 0));
	if (exp == 0) {
		if (man == 0)
			return qu_bits_f32(sign);
		/* subnormal: man * 2^-24, exact in binary32 */
		return sign ? -(float)man * 0x1p-24f : (float)man * 0x1p-24f;
	}
	return qu_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

/* binary32 -> binary16, round to nearest even, overflow to inf, NaN to a
 * quiet NaN 0x7e00 with the sign kept (as F16C vcvtps2ph and ggml do). */
static inline uint16_t
qu_f32_to_f16(float f)
{
	uint32_t x = qu_f32_bits(f), sign = (x >> 16) & 0x8000, ax = x & 0x7fffffff;
	uint32_t exp, man, shift, half, rest, r;

	if (ax > 0x7f800000)
		return (uint16_t)(sign | 0x7e00);
	if (ax >= 0x477ff000)	/* rounds to >= 65520: inf */
		return (uint16_t)(sign | 0x7c00);
	exp = ax >> 23;
	man = ax & 0x7fffff;
	if (exp < 113) {	/* result subnormal or zero */
		if (exp < 102)
			return (uint16_t)sign;
		man |= 0x800000;
		shift = 126 - exp;	/* 14..24 */
		r = man >> shift;
		rest = man & ((1u << shift) - 1);
		half = 1u << (shift - 1);
		if (rest > half || (rest == half && (r & 1)))
			r++;
		return (uint16_t)(sign | r);
	}
	r = ((exp - 112) << 10) | (man >> 13);
	rest = man & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (r & 1)))
		r++;
	return (uint16_t)(sign | r);
}

static inline float qu_bf16_to_f32(uint16_t b) { return qu_bits_f32((uint32_t)b << 16); }

/* ggml_compute_fp32_to_bf16: NaN forced quiet, else round to nearest even. */
static inline uint16_t
qu_f32_to_bf16(float f)
{
	uint32_t u = qu_f32_bits(f);

	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 64);
	return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

/* FP8 and FP4 scalar references (dtype.c). */
float qu_fp8_to_f32(enum qdtype t, uint8_t b);		/* E4M3, E5M2, E8M0, FNUZ */
uint8_t qu_f32_to_fp8(enum qdtype t, float f);		/* E4M3, E5M2, FNUZ */
float qu_e2m1_to_f32(uint8_t nibble);
uint8_t qu_f32_to_e2m1(float f);

/* 1 when the bulk F16/BF16 conversions run vectorized on this machine. */
int qdtype_vectorized(void);

#endif
