/* quant_impl: what the kernel files share and the rest of libcommon does
 * not need: ggml's block layouts (spec/gguf.md §4), the scalar helpers that
 * reproduce ggml's float arithmetic bit for bit, the variant picker, and
 * the kernel prototypes the traits table in quant.c points at.
 *
 * Bit-exactness rules (spec/gguf.md §3): binary32 only, ggml's operation
 * order, no FMA (-ffp-contract=off), true division where ggml divides. */
#ifndef QUANT_IMPL_H
#define QUANT_IMPL_H

#include <stdint.h>

#include "cpu.h"
#include "dtype.h"
#include "quant.h"
#include "quant_k_impl.h"

#define QK32 32		/* elements per block of the 32-element types */

struct blk_q4_0 { uint16_t d; uint8_t qs[16]; };
struct blk_q4_1 { uint16_t d, m; uint8_t qs[16]; };
struct blk_q5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct blk_q5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };
struct blk_q8_0 { uint16_t d; int8_t qs[32]; };
struct blk_iq4_nl { uint16_t d; uint8_t qs[16]; };
struct blk_mxfp4 { uint8_t e; uint8_t qs[16]; };
_Static_assert(sizeof(struct blk_q4_0) == 18, "Q4_0 block");
_Static_assert(sizeof(struct blk_q4_1) == 20, "Q4_1 block");
_Static_assert(sizeof(struct blk_q5_0) == 22, "Q5_0 block");
_Static_assert(sizeof(struct blk_q5_1) == 24, "Q5_1 block");
_Static_assert(sizeof(struct blk_q8_0) == 34, "Q8_0 block");
_Static_assert(sizeof(struct blk_iq4_nl) == 18, "IQ4_NL block");
_Static_assert(sizeof(struct blk_mxfp4) == 17, "MXFP4 block");

/* The IQ4_NL / IQ4_XS codebook and the MXFP4 (E2M1 ×2) values. */
extern const int8_t qk_iq4nl_values[16];
extern const int8_t qk_mxfp4_values[16];

/* What a float -> (u)int8 cast does in ggml's x86-64 build: cvttss2si to
 * 32 bits (NaN and out-of-range give INT32_MIN), then the low byte.  C
 * leaves those cases undefined, so they are spelled out. */
static inline int32_t
qk_cvtt_i32(float v)
{
	if (v >= -2147483648.0f && v < 2147483648.0f)
		return (int32_t)v;
	return INT32_MIN;
}
static inline int8_t qk_trunc_i8(float v) { return (int8_t)(uint8_t)((uint32_t)qk_cvtt_i32(v) & 0xff); }
static inline uint8_t qk_trunc_u8(float v) { return (uint8_t)((uint32_t)qk_cvtt_i32(v) & 0xff); }

/* ggml's make_qx_quants with rmse_type 1 (spec/gguf.md §4.1): codes
 * L = l + nmax in [0, 2·nmax), returns the scale; weights NULL means x².
 * The K-quants' helpers (qk_nearest_int, qk_fit_qkx = make_qkx2/3,
 * qk_fit_iq4_sub and qk_iq4_index = the IQ4 search) come from
 * quant_k_impl.h and serve the 32-element types too. */
float qk_fit_symmetric(int n, int nmax, const float *x, int8_t *L, const float *weights);

/* make_qkx3's search for Q4_1 and Q5_1 with an importance matrix (ggml's
 * quantize_row_q4_1_impl / q5_1's: rmin -0.9, rdelta 0.05, 36 steps), [0]
 * Q4_1, [1] Q5_1; one table for the reference and the vector lanes, static
 * so the kernels see constants. */
static const struct qk_search qx1_imatrix_searches[2] = {
	{ QK32, 15, -0.9f, 0.05f, 36, 0 },
	{ QK32, 31, -0.9f, 0.05f, 36, 0 },
};

/* Σx²/n over a row in order: σ² of the imatrix weights of Q4_0..Q5_1. */
float qk_row_sigma2(const float *x, int64_t n);

/* MXFP4: the block exponent of the largest magnitude, and 2^(e-128). */
uint8_t qk_mxfp4_exponent(float amax);
float qk_e8m0_half(uint8_t e);

/* One IQ4_NL block (qw: the block's 32 importance weights or NULL), for
 * the vector variants' leftovers. */
void iq4_nl_block(const float *x, const float *qw, struct blk_iq4_nl *y);

/* The best variant at or below the running level (cpu.h). */
static inline qfmt_quantize_fn
qfmt_pick(const qfmt_quantize_fn variants[QCPU_NLEVELS])
{
	for (int l = (int)qcpu_level(); l > 0; l--)
		if (variants[l])
			return variants[l];
	return variants[0];
}

#define QK_DECLARE_QUANT(name) \
	void name##_quantize_ref(const float *, void *, int64_t, int64_t, const float *); \
	void name##_quantize(const float *, void *, int64_t, int64_t, const float *); \
	void name##_dequantize(const void *, float *, int64_t)

/* quant_simple.c: plain floats, the 32-element ggml types, MXFP4 */
QK_DECLARE_QUANT(f32);
QK_DECLARE_QUANT(f16);
QK_DECLARE_QUANT(bf16);
QK_DECLARE_QUANT(q4_0);
QK_DECLARE_QUANT(q4_1);
QK_DECLARE_QUANT(q5_0);
QK_DECLARE_QUANT(q5_1);
QK_DECLARE_QUANT(q8_0);
QK_DECLARE_QUANT(iq4_nl);
QK_DECLARE_QUANT(mxfp4);
/* quant_plain.c: formats of the other programs (codes at scale 1) */
QK_DECLARE_QUANT(int8);
QK_DECLARE_QUANT(uint8);
QK_DECLARE_QUANT(int4);
QK_DECLARE_QUANT(uint4);
QK_DECLARE_QUANT(fp8_e4m3);
QK_DECLARE_QUANT(fp8_e5m2);

/* quant_x86.c: vector variants (absent in a scalar-only build) */
#if QU_X86_KERNELS
#define QK_DECLARE_X86(name) \
	void name##_quantize_avx2(const float *, void *, int64_t, int64_t, const float *); \
	void name##_quantize_avx512(const float *, void *, int64_t, int64_t, const float *)
QK_DECLARE_X86(f16);
void bf16_quantize_avx2(const float *, void *, int64_t, int64_t, const float *);
QK_DECLARE_X86(q4_0);
QK_DECLARE_X86(q4_1);
QK_DECLARE_X86(q5_0);
QK_DECLARE_X86(q5_1);
QK_DECLARE_X86(q8_0);
QK_DECLARE_X86(iq4_nl);
QK_DECLARE_X86(mxfp4);
#endif

#endif
