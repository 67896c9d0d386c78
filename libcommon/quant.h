/* quant: the traits table of element formats, the one place a format is
 * described, and the entry points to quantize and dequantize rows.
 *
 * Formats are the ggml types (indexed by their ggml id, so a GGUF type
 * number is a qfmt) followed by the plain formats the other programs need.
 * Every loop over formats (tests, st-inspect, --help listings) walks
 * qfmt_table.  A quantizer's contract is ggml's: rows of n_per_row floats
 * (a multiple of the block), an optional importance vector of n_per_row
 * weights shared by all rows, and for the ggml types bytes identical to
 * ggml_quantize_chunk.  `quantize` may be vectorized; it gives the same
 * bytes as `quantize_ref`. */
#ifndef QUANT_H
#define QUANT_H

#include <stddef.h>
#include <stdint.h>

enum qfmt {
	/* ggml type ids (spec/gguf.md §2); gaps are retired ids */
	QF_F32 = 0, QF_F16 = 1, QF_Q4_0 = 2, QF_Q4_1 = 3, QF_Q5_0 = 6, QF_Q5_1 = 7,
	QF_Q8_0 = 8, QF_Q8_1 = 9, QF_Q2_K = 10, QF_Q3_K = 11, QF_Q4_K = 12,
	QF_Q5_K = 13, QF_Q6_K = 14, QF_Q8_K = 15, QF_IQ2_XXS = 16, QF_IQ2_XS = 17,
	QF_IQ3_XXS = 18, QF_IQ1_S = 19, QF_IQ4_NL = 20, QF_IQ3_S = 21, QF_IQ2_S = 22,
	QF_IQ4_XS = 23, QF_I8 = 24, QF_I16 = 25, QF_I32 = 26, QF_I64 = 27,
	QF_F64 = 28, QF_IQ1_M = 29, QF_BF16 = 30, QF_TQ1_0 = 34, QF_TQ2_0 = 35,
	QF_MXFP4 = 39, QF_NVFP4 = 40, QF_Q1_0 = 41, QF_Q2_0 = 42,
	QF_GGML_COUNT = 43,
	/* plain formats (not ggml types) */
	QF_INT8 = QF_GGML_COUNT, QF_UINT8, QF_INT4, QF_UINT4, QF_FP8_E4M3, QF_FP8_E5M2,
	QF_COUNT
};

/* rows of n_per_row floats -> nrows * row_size bytes */
typedef void (*qfmt_quantize_fn)(const float *src, void *dst, int64_t nrows,
    int64_t n_per_row, const float *imatrix);
typedef void (*qfmt_dequantize_fn)(const void *src, float *dst, int64_t n);

struct qfmt_traits {
	const char *name;		/* as ggml spells it ("Q4_K") or "int4" */
	int is_ggml;			/* a ggml type (may appear in GGUF) */
	int block;			/* elements per block (0: retired id) */
	int block_bytes;		/* bytes per block */
	qfmt_quantize_fn quantize_ref;	/* scalar reference (NULL: cannot quantize) */
	qfmt_quantize_fn quantize;	/* fastest variant for this CPU (cpu.h), same bytes */
	qfmt_dequantize_fn dequantize;	/* NULL: cannot dequantize */
	int needs_imatrix;		/* ggml refuses to quantize without one */
};

extern const struct qfmt_traits qfmt_table[QF_COUNT];

/* Case-insensitive lookup of a format name; -1 if unknown. */
int qfmt_from_name(const char *name);
/* Bytes of one row of n elements (n a multiple of the block), 0 if not. */
uint64_t qfmt_row_size(enum qfmt f, int64_t n);
int qfmt_is_valid(int f);		/* a known, non-retired id */

/* Quantize / dequantize many rows on up to `jobs` threads (same bytes for
 * any jobs).  Return -1 when the format cannot do it. */
int qfmt_quantize(enum qfmt f, const float *src, void *dst, int64_t nrows,
    int64_t n_per_row, const float *imatrix, int jobs);
int qfmt_dequantize(enum qfmt f, const void *src, float *dst, int64_t nrows,
    int64_t n_per_row, int jobs);

/* Element codecs of the plain formats (quant_plain.c).  For QF_FP8_E4M3 /
 * QF_FP8_E5M2: round to nearest even; with saturate, overflow and
 * infinities give the largest finite value of that sign (as ONNX's
 * saturate=1), without it E5M2 gives inf and E4M3 NaN; NaN stays NaN. */
uint8_t qfp8_from_f32(enum qfmt f, float x, int saturate);
float qfp8_to_f32(enum qfmt f, uint8_t code);
/* 4-bit codes two per byte, element 2i in the low nibble (an odd n leaves
 * the last high nibble 0); unpacking sign-extends when is_signed. */
void qpack_nibbles(const uint8_t *codes, uint8_t *dst, size_t n);
void qunpack_nibbles(const uint8_t *src, uint8_t *codes, size_t n, int is_signed);

#endif
