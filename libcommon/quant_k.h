/* quant_k: the K-quants (Q2_K..Q6_K) and IQ4_XS, byte-identical to ggml.
 *
 * Block layouts are spec/gguf.md §4; the fitting helpers (how sub-block
 * scales are chosen) are §4.1; the importance-matrix variants §6.4.  Every
 * quantizer follows the qfmt_quantize_fn contract of quant.h: with a NULL
 * imatrix it gives the bytes ggml_quantize_chunk writes then (its
 * quantize_row_*_ref for the K-quants, quantize_iq4_xs with weights x*x for
 * IQ4_XS), with one the bytes of ggml's importance routine
 * (quantize_row_*_impl, quantize_iq4_xs).  The *_ref functions are plain scalar C that perform ggml's
 * binary32 operations in ggml's order; the plain names pick the fastest
 * variant this CPU runs (quant_k_x86.c), which vectorizes ACROSS sub-blocks
 * so every lane repeats the scalar sequence exactly: same bytes. */
#ifndef QUANT_K_H
#define QUANT_K_H

#include <stdint.h>

#include "quant.h"

#define QK_K 256

struct blk_q2_K {
	uint8_t scales[QK_K / 16];	/* low nibble scale, high nibble min */
	uint8_t qs[QK_K / 4];
	uint16_t d, dmin;		/* fp16 */
};
struct blk_q3_K {
	uint8_t hmask[QK_K / 8];
	uint8_t qs[QK_K / 4];
	uint8_t scales[12];		/* 16 six-bit scales */
	uint16_t d;
};
struct blk_q4_K {
	uint16_t d, dmin;
	uint8_t scales[12];		/* 8 six-bit scales and 8 six-bit mins */
	uint8_t qs[QK_K / 2];
};
struct blk_q5_K {
	uint16_t d, dmin;
	uint8_t scales[12];
	uint8_t qh[QK_K / 8];
	uint8_t qs[QK_K / 2];
};
struct blk_q6_K {
	uint8_t ql[QK_K / 2];
	uint8_t qh[QK_K / 4];
	int8_t scales[QK_K / 16];
	uint16_t d;
};
struct blk_iq4_xs {
	uint16_t d;
	uint16_t scales_h;		/* top 2 bits of 8 six-bit scales */
	uint8_t scales_l[QK_K / 64];	/* low 4 bits */
	uint8_t qs[QK_K / 2];
};
_Static_assert(sizeof(struct blk_q2_K) == 84, "Q2_K block");
_Static_assert(sizeof(struct blk_q3_K) == 110, "Q3_K block");
_Static_assert(sizeof(struct blk_q4_K) == 144, "Q4_K block");
_Static_assert(sizeof(struct blk_q5_K) == 176, "Q5_K block");
_Static_assert(sizeof(struct blk_q6_K) == 210, "Q6_K block");
_Static_assert(sizeof(struct blk_iq4_xs) == 136, "IQ4_XS block");

/* The qfmt_quantize_fn / qfmt_dequantize_fn of each format. */
#define QK_DECLARE(t) \
	void qk_quantize_##t##_ref(const float *src, void *dst, int64_t nrows, \
	    int64_t n_per_row, const float *imatrix); \
	void qk_quantize_##t(const float *src, void *dst, int64_t nrows, \
	    int64_t n_per_row, const float *imatrix); \
	void qk_dequantize_##t(const void *src, float *dst, int64_t n);
QK_DECLARE(q2_K)
QK_DECLARE(q3_K)
QK_DECLARE(q4_K)
QK_DECLARE(q5_K)
QK_DECLARE(q6_K)
QK_DECLARE(iq4_xs)
#undef QK_DECLARE

/* Which vector variant the plain quantizers use: "avx512", "avx2" or
 * "scalar", the level of cpu.h (QUTILS_SIMD in the environment lowers it). */
const char *qk_variant(void);
/* For tests of every variant: quantizes with the named one ("scalar",
 * "avx2", "avx512") whatever the level, f being one of this file's formats;
 * -1 (and nothing written) when this CPU or build cannot run that variant or
 * f is not a K-quant.  qk_has_variant: whether it can. */
int qk_quantize_variant(const char *variant, enum qfmt f, const float *src, void *dst,
    int64_t nrows, int64_t n_per_row, const float *imatrix);
int qk_has_variant(const char *variant);

#endif
