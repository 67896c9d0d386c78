/* linq: linear quantization of a weight with given scales and zero points.
 *
 * A weight of any rank is viewed as a matrix [rows, cols] (cols = the last
 * dimension, rows = the product of the others).  Its scales live on a grid of
 * cells, each cell a br x bc rectangle of the matrix; every granularity is
 * one such grid:
 *
 *   tensor          one cell (rows x cols)          scale shape []
 *   channel axis 0  cells 1 x cols (one per row)    [rows]
 *   channel axis 1  cells rows x 1 (one per col)    [cols]
 *   group g         cells 1 x g along each row      [rows, ceil(cols/g)]
 *   block b0 x b1   cells b0 x b1                   [ceil(rows/b0), ceil(cols/b1)]
 *
 * Integer formats: q = clamp(round_half_even(x / scale) + zero_point, qmin,
 * qmax), x' = (q - zero_point) * scale, computed in binary32 (division, not
 * multiplication by a reciprocal, so every tool gets the same codes).
 * FP8 formats: code = fp8(x / scale) rounded to nearest even and saturated to
 * the largest finite value, x' = fp8_value(code) * scale; no zero point.
 * Codes are int32 (the integer q, or the fp8 byte 0..255). */
#ifndef LINQ_H
#define LINQ_H

#include <stdint.h>

#include "qerr.h"
#include "quant.h"

enum qgran { QG_TENSOR, QG_CHANNEL, QG_GROUP, QG_BLOCK, QG_COUNT };

extern const char *const qgran_names[QG_COUNT];	/* "tensor", "channel", ... */

struct qscheme {
	enum qfmt fmt;		/* QF_INT8, QF_UINT8, QF_INT4, QF_UINT4, QF_FP8_E4M3, QF_FP8_E5M2 */
	int sym;		/* symmetric: no stored zero point */
	enum qgran gran;
	int axis;		/* QG_CHANNEL: 0 (one scale per row) or 1 (per column) */
	int64_t group;		/* QG_GROUP: elements per group along a row */
	int64_t block[2];	/* QG_BLOCK: rows, cols of a cell */
};

/* The cell grid of a scheme over a [rows, cols] matrix. */
struct qgrid {
	int64_t rows, cols;	/* the matrix */
	int64_t br, bc;		/* cell size */
	int64_t grows, gcols;	/* cells per column, per row */
};

/* Whether two schemes quantize alike (the fields their granularity uses). */
int linq_scheme_equal(const struct qscheme *a, const struct qscheme *b);

/* Element formats linq handles, their code range and nominal width. */
int linq_supports(enum qfmt f);
int linq_is_float(enum qfmt f);
int linq_bits(enum qfmt f);			/* 8 or 4 */
void linq_qrange(enum qfmt f, int32_t *qmin, int32_t *qmax);
float linq_fp8_max(enum qfmt f);		/* 448 or 57344 */
/* The zero point of a symmetric scheme: 0 for signed formats, the middle
 * (8, 128) for unsigned ones. */
int32_t linq_sym_zero(enum qfmt f);

/* Fills g; -1 with a message when the scheme does not fit (group or block
 * size not positive, axis not 0/1, rows or cols 0). */
int linq_grid(const struct qscheme *s, int64_t rows, int64_t cols, struct qgrid *g,
    struct qerr *e);
static inline int64_t linq_ncells(const struct qgrid *g) { return g->grows * g->gcols; }
/* The scale tensor's shape as DESIGN.md writes it (ndim 0..2). */
int linq_scale_shape(const struct qscheme *s, const struct qgrid *g, uint64_t shape[2]);

/* FP8 codes: dtype.c's conversions, saturating to the largest finite value
 * (torch's float8_e4m3fn / float8_e5m2 casts after a clamp). */
uint8_t linq_fp8_encode(float x, int e4m3);
float linq_fp8_decode(uint8_t code, int e4m3);

/* An integer code, the hot path of linq_quant1 for integer formats (same
 * result): round half to even by adding and removing 1.5 * 2^23, exact
 * for |r| <= 2^22 and r is clamped to that first (the final clamp to
 * [qmin, qmax] makes the two orders agree).  NaN gives the zero point. */
static inline int32_t
linq_qint(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax)
{
	float r = x / scale;
	int32_t q;

	if (!(r >= -4194304.0f))
		r = r != r ? 0.0f : -4194304.0f;
	else if (r > 4194304.0f)
		r = 4194304.0f;
	r = (r + 0x1.8p23f) - 0x1.8p23f;
	q = (int32_t)r + zp;
	return q < qmin ? qmin : q > qmax ? qmax : q;
}

/* One element. */
int32_t linq_quant1(enum qfmt f, float x, float scale, int32_t zp);
float linq_dequant1(enum qfmt f, int32_t q, float scale, int32_t zp);

/* Whole matrix, rows spread over `jobs` threads.  zp may be NULL (all zero
 * points are then linq_sym_zero). */
void linq_quantize(const struct qscheme *s, const struct qgrid *g, const float *x,
    const float *scale, const int32_t *zp, int32_t *q, int jobs);
void linq_dequantize(const struct qscheme *s, const struct qgrid *g, const int32_t *q,
    const float *scale, const int32_t *zp, float *x, int jobs);
/* x -> quantize -> dequantize, into out (may equal x). */
void linq_fakequant(const struct qscheme *s, const struct qgrid *g, const float *x,
    const float *scale, const int32_t *zp, float *out, int jobs);

/* Parse "int4", "uint8", "fp8_e4m3", "fp8", "e4m3", "e5m2"; -1 if not linq's. */
int linq_fmt_from_name(const char *name);

#endif
