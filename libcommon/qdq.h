/* qdq: the arithmetic of ONNX QuantizeLinear / DequantizeLinear weights and
 * of onnxruntime's MatMulNBits packing (spec/onnx.md §3, §5).
 *
 * Convention (ONNX's): x ~ (q - zero_point) * scale,
 * q = saturate(round_half_even(x / scale) + zero_point), the division done
 * in float32 as QuantizeLinear does.  Granularity by the scale's shape:
 * per-channel (one scale per index of `axis`) or blocked (`block` elements
 * along `axis` share a scale; the last block may be partial). */
#ifndef QDQ_H
#define QDQ_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

enum qdq_kind { QK_INT8, QK_UINT8, QK_INT4, QK_UINT4, QK_FP8, QK_COUNT };

struct qdq_kind_info {
	const char *name;
	int onnx_dt;		/* element type of the quantized tensor */
	int bits;
	int symmetric;		/* zero point 0 (and no zero-point tensor) */
	int qmin, qmax;		/* code range used (int8 symmetric: restricted [-127,127]) */
	float absmax_code;	/* symmetric: scale = absmax / this */
};
extern const struct qdq_kind_info qdq_kinds[QK_COUNT];

struct qdq_layout {
	int64_t dims[8];
	int ndims;
	int axis;		/* channel axis (per-channel) or the blocked axis */
	int64_t block;		/* 0: per-channel on axis; > 0: blocks along axis */
};

/* Number of scales and the scale tensor's shape (per-channel: [dims[axis]];
 * blocked: dims with dims[axis] -> ceil(dims[axis] / block)). */
int64_t qdq_nscales(const struct qdq_layout *l, int64_t *shape, int *rank);
/* Scale index of flat element i. */
int64_t qdq_group_of(const struct qdq_layout *l, int64_t i);

/* Chooses scales (and zero points) by min/max over each group, then
 * quantizes.  When scale is given (a qparams file), it is used as is and
 * zp must be given for asymmetric kinds.  codes: one int per element (fp8:
 * the byte code).  Returns -1 for a non-finite weight. */
int qdq_quantize(enum qdq_kind k, const float *w, int64_t n, const struct qdq_layout *l,
    float *scale, int32_t *zp, int scales_given, int32_t *codes, struct qerr *e);
/* (code - zp) * scale, the DequantizeLinear result, for checks. */
float qdq_dequant(enum qdq_kind k, int32_t code, int32_t zp, float scale);

/* Packs codes as the tensor's raw_data: 8-bit one byte each, 4-bit two per
 * byte (element 0 low nibble).  out has qdq_packed_size bytes. */
size_t qdq_packed_size(enum qdq_kind k, int64_t n);
void qdq_pack(enum qdq_kind k, const int32_t *codes, int64_t n, unsigned char *out);

/* float32 -> FLOAT8E4M3FN, round to nearest even, saturating to +-448
 * (QuantizeLinear's saturate=1); and back. */
uint8_t qdq_f32_to_e4m3fn(float x);
float qdq_e4m3fn_to_f32(uint8_t c);

/* MatMulNBits (com.microsoft) from codes of W[K, N] blocked along K (axis
 * 0): B [N, kblocks, block*bits/8] with unsigned codes (signed q + 2^(bits-1)
 * when symmetric), scales [N, kblocks] (the transpose of the DQ scales),
 * packed zero points [N, ceil(kblocks*bits/8)] for asymmetric kinds.  A
 * partial last block is padded with the zero point. */
void qdq_matmulnbits_pack(enum qdq_kind k, const int32_t *codes, const float *scale,
    const int32_t *zp, int64_t K, int64_t N, int64_t block,
    unsigned char *B, float *scales_nk, unsigned char *zp_packed);

#endif
