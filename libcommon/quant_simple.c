/* Scalar references for the plain float types, the 32-element ggml types
 * (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) and MXFP4, without and with an
 * importance matrix: the bytes of ggml_quantize_chunk (spec/gguf.md §3,
 * §4, §6.4).  Written from those facts; every float expression keeps
 * ggml's operand order because the bytes depend on it. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "quant_impl.h"

const int8_t qk_iq4nl_values[16] = {
	-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
};
const int8_t qk_mxfp4_values[16] = {
	0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
};

#define PICK(name) \
	static const qfmt_quantize_fn name##_variants[QCPU_NLEVELS] = { \
		name##_quantize_ref, QU_AVX2(name##_quantize_avx2), QU_AVX512(name##_quantize_avx512) }; \
	void name##_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) \
	{ qfmt_pick(name##_variants)(x, y, nrows, n, w); }

/* ---- fitting helpers (spec/gguf.md §4.1) ---- */

float
qk_fit_symmetric(int n, int nmax, const float *x, int8_t *L, const float *weights)
{
	float amax = 0, max = 0, iscale, sumlx, suml2, scale, best;

	for (int i = 0; i < n; i++) {
		float ax = fabsf(x[i]);
		if (ax > amax) {
			amax = ax;
			max = x[i];
		}
	}
	if (amax < 1e-15f) {
		memset(L, 0, (size_t)n);
		return 0.0f;
	}
	iscale = (float)-nmax / max;
	sumlx = suml2 = 0;
	for (int i = 0; i < n; i++) {
		int l = qk_nearest_int(iscale * x[i]);
		float w;

		l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
		L[i] = (int8_t)(l + nmax);
		w = weights ? weights[i] : x[i] * x[i];
		sumlx += w * x[i] * (float)l;
		suml2 += w * (float)l * (float)l;
	}
	scale = suml2 ? sumlx / suml2 : 0.0f;
	best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -((float)nmax + 0.1f * (float)is) / max;
		sumlx = suml2 = 0;
		for (int i = 0; i < n; i++) {
			int l = qk_nearest_int(iscale * x[i]);
			float w;

			l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
			w = weights ? weights[i] : x[i] * x[i];
			sumlx += w * x[i] * (float)l;
			suml2 += w * (float)l * (float)l;
		}
		if (suml2 > 0 && sumlx * sumlx > best * suml2) {
			for (int i = 0; i < n; i++) {
				int l = qk_nearest_int(iscale * x[i]);
				l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
				L[i] = (int8_t)(l + nmax);
			}
			scale = sumlx / suml2;
			best = scale * sumlx;
		}
	}
	return scale;
}

/* ---- plain floats ---- */

void
f32_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *w)
{
	(void)w;
	memcpy(y, x, (size_t)(nrows * n) * 4);
}
void f32_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w) { f32_quantize_ref(x, y, nrows, n, w); }

void
f32_dequantize(const void *x, float *y, int64_t n)
{
	memcpy(y, x, (size_t)n * 4);
}

void
f16_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *w)
{
	unsigned char *y = vy;

	(void)w;
	for (int64_t i = 0; i < nrows * n; i++) {
		uint16_t h = qu_f32_to_f16(x[i]);
		memcpy(y + 2 * i, &h, 2);
	}
}
PICK(f16)

void
f16_dequantize(const void *vx, float *y, int64_t n)
{
	const unsigned char *x = vx;

	for (int64_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, x + 2 * i, 2);
		y[i] = qu_f16_to_f32(h);
	}
}

void
bf16_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *w)
{
	unsigned char *y = vy;

	(void)w;
	for (int64_t i = 0; i < nrows * n; i++) {
		uint16_t h = qu_f32_to_bf16(x[i]);
		memcpy(y + 2 * i, &h, 2);
	}
}
/* no AVX-512 variant: the AVX2 one measured faster (vpmovdw is slow) */
static const qfmt_quantize_fn bf16_variants[QCPU_NLEVELS] = {
	bf16_quantize_ref, QU_AVX2(bf16_quantize_avx2), NULL };
void bf16_quantize(const float *x, void *y, int64_t nrows, int64_t n, const float *w)
{ qfmt_pick(bf16_variants)(x, y, nrows, n, w); }

void
bf16_dequantize(const void *vx, float *y, int64_t n)
{
	const unsigned char *x = vx;

	for (int64_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, x + 2 * i, 2);
		y[i] = qu_bf16_to_f32(h);
	}
}

/* ---- shared pieces of the 32-element types ---- */

/* Σx² over the row, then /n: the σ² of the imatrix weights (§6.4). */
float
qk_row_sigma2(const float *x, int64_t n)
{
	float sum = 0;

	for (int64_t j = 0; j < n; j++)
		sum += x[j] * x[j];
	return sum / (float)n;
}

static void
imatrix_weights(const float *x, const float *qw, float sigma2, float *w)
{
	for (int j = 0; j < QK32; j++)
		w[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
}

/* The signed element of largest magnitude, the first on ties; 0 when
 * every element is zero (never -0, which would flip the sign of d). */
static float
signed_absmax(const float *x)
{
	float amax = 0, max = 0;

	for (int j = 0; j < QK32; j++)
		if (amax < fabsf(x[j])) {
			amax = fabsf(x[j]);
			max = x[j];
		}
	return max;
}

static void
min_max(const float *x, float *minp, float *maxp)
{
	float min = FLT_MAX, max = -FLT_MAX;

	for (int j = 0; j < QK32; j++) {
		if (x[j] < min)
			min = x[j];
		if (x[j] > max)
			max = x[j];
	}
	*minp = min;
	*maxp = max;
}

static void
pack_nibbles(const uint8_t *q, uint8_t *qs)
{
	for (int j = 0; j < 16; j++)
		qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
}

/* low nibbles like pack_nibbles, bit 4 of element j to bit j of qh */
static void
pack_5bit(const uint8_t *q, uint8_t *qs, uint8_t *qhp)
{
	uint32_t qh = 0;

	for (int j = 0; j < 16; j++) {
		qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
		qh |= (uint32_t)((q[j] & 0x10) >> 4) << j;
		qh |= (uint32_t)((q[j + 16] & 0x10) >> 4) << (j + 16);
	}
	memcpy(qhp, &qh, 4);
}

/* Runs a per-block function over every block of every row; with an
 * imatrix the row's σ² is computed first. */
#define FOR_BLOCKS(blk_t, x, vy, nrows, n, qw, body_plain, body_imatrix) do { \
	blk_t *y_ = (blk_t *)(vy); \
	int64_t nb_ = (n) / QK32; \
	for (int64_t r_ = 0; r_ < (nrows); r_++) { \
		const float *row_ = (x) + r_ * (n); \
		float sigma2_ = (qw) ? qk_row_sigma2(row_, (n)) : 0; \
		for (int64_t b_ = 0; b_ < nb_; b_++) { \
			const float *xb = row_ + b_ * QK32; \
			blk_t *yb = y_ + r_ * nb_ + b_; \
			if (qw) { \
				float wb[QK32]; \
				imatrix_weights(xb, (qw) + b_ * QK32, sigma2_, wb); \
				body_imatrix(xb, wb, yb); \
			} else \
				body_plain(xb, yb); \
		} \
	} \
} while (0)

/* ---- Q4_0 ---- */

static void
q4_0_block(const float *x, struct blk_q4_0 *y)
{
	float max = signed_absmax(x), d = max / -8, id = d ? 1.0f / d : 0.0f;
	uint8_t q[QK32];

	y->d = qu_f32_to_f16(d);
	for (int j = 0; j < QK32; j++) {
		int v = qk_trunc_i8(x[j] * id + 8.5f);
		q[j] = (uint8_t)(v < 15 ? v : 15);
	}
	pack_nibbles(q, y->qs);
}

static void
q4_0_block_imatrix(const float *x, const float *w, struct blk_q4_0 *y)
{
	int8_t L[QK32];

	y->d = qu_f32_to_f16(qk_fit_symmetric(QK32, 8, x, L, w));
	pack_nibbles((const uint8_t *)L, y->qs);
}

void
q4_0_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *qw)
{
	FOR_BLOCKS(struct blk_q4_0, x, y, nrows, n, qw, q4_0_block, q4_0_block_imatrix);
}
PICK(q4_0)

void
q4_0_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_q4_0 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)((x[i].qs[j] & 0x0f) - 8) * d;
			y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
		}
	}
}

/* ---- Q4_1 ---- */

static void
q4_1_block(const float *x, struct blk_q4_1 *y)
{
	float min, max, d, id;
	uint8_t q[QK32];

	min_max(x, &min, &max);
	d = (max - min) / 15;
	id = d ? 1.0f / d : 0.0f;
	y->d = qu_f32_to_f16(d);
	y->m = qu_f32_to_f16(min);
	for (int j = 0; j < QK32; j++) {
		int v = qk_trunc_i8((x[j] - min) * id + 0.5f);
		q[j] = (uint8_t)(v < 15 ? v : 15);
	}
	pack_nibbles(q, y->qs);
}

static void
q4_1_block_imatrix(const float *x, const float *w, struct blk_q4_1 *y)
{
	uint8_t L[QK32];
	float neg_min, d;

	d = qk_fit_search(&qx1_imatrix_searches[0], x, w, L, &neg_min);
	y->d = qu_f32_to_f16(d);
	y->m = qu_f32_to_f16(-neg_min);
	pack_nibbles(L, y->qs);
}

void
q4_1_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *qw)
{
	FOR_BLOCKS(struct blk_q4_1, x, y, nrows, n, qw, q4_1_block, q4_1_block_imatrix);
}
PICK(q4_1)

void
q4_1_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_q4_1 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d), m = qu_f16_to_f32(x[i].m);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)(x[i].qs[j] & 0x0f) * d + m;
			y[j + 16] = (float)(x[i].qs[j] >> 4) * d + m;
		}
	}
}

/* ---- Q5_0 ---- */

static void
q5_0_block(const float *x, struct blk_q5_0 *y)
{
	float max = signed_absmax(x), d = max / -16, id = d ? 1.0f / d : 0.0f;
	uint8_t q[QK32];

	y->d = qu_f32_to_f16(d);
	for (int j = 0; j < QK32; j++) {
		int v = qk_trunc_i8(x[j] * id + 16.5f);
		q[j] = (uint8_t)(v < 31 ? v : 31);
	}
	pack_5bit(q, y->qs, y->qh);
}

static void
q5_0_block_imatrix(const float *x, const float *w, struct blk_q5_0 *y)
{
	int8_t L[QK32];

	y->d = qu_f32_to_f16(qk_fit_symmetric(QK32, 16, x, L, w));
	pack_5bit((const uint8_t *)L, y->qs, y->qh);
}

void
q5_0_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *qw)
{
	FOR_BLOCKS(struct blk_q5_0, x, y, nrows, n, qw, q5_0_block, q5_0_block_imatrix);
}
PICK(q5_0)

static uint32_t
load_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void
q5_0_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_q5_0 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d);
		uint32_t qh = load_u32(x[i].qh);
		for (int j = 0; j < 16; j++) {
			int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
			int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
			y[j] = (float)(q0 - 16) * d;
			y[j + 16] = (float)(q1 - 16) * d;
		}
	}
}

/* ---- Q5_1 ---- */

static void
q5_1_block(const float *x, struct blk_q5_1 *y)
{
	float min, max, d, id;
	uint8_t q[QK32];

	min_max(x, &min, &max);
	d = (max - min) / 31;
	id = d ? 1.0f / d : 0.0f;
	y->d = qu_f32_to_f16(d);
	y->m = qu_f32_to_f16(min);
	for (int j = 0; j < QK32; j++)
		q[j] = qk_trunc_u8((x[j] - min) * id + 0.5f);
	pack_5bit(q, y->qs, y->qh);
}

static void
q5_1_block_imatrix(const float *x, const float *w, struct blk_q5_1 *y)
{
	uint8_t L[QK32];
	float neg_min, d;

	d = qk_fit_search(&qx1_imatrix_searches[1], x, w, L, &neg_min);
	y->d = qu_f32_to_f16(d);
	y->m = qu_f32_to_f16(-neg_min);
	pack_5bit(L, y->qs, y->qh);
}

void
q5_1_quantize_ref(const float *x, void *y, int64_t nrows, int64_t n, const float *qw)
{
	FOR_BLOCKS(struct blk_q5_1, x, y, nrows, n, qw, q5_1_block, q5_1_block_imatrix);
}
PICK(q5_1)

void
q5_1_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_q5_1 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d), m = qu_f16_to_f32(x[i].m);
		uint32_t qh = load_u32(x[i].qh);
		for (int j = 0; j < 16; j++) {
			int q0 = (x[i].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
			int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
			y[j] = (float)q0 * d + m;
			y[j + 16] = (float)q1 * d + m;
		}
	}
}

/* ---- Q8_0 (ignores the imatrix, as ggml does) ---- */

static void
q8_0_block(const float *x, struct blk_q8_0 *y)
{
	float amax = 0, d, id;

	for (int j = 0; j < QK32; j++)	/* ggml's MAX(a, b): a > b ? a : b */
		amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
	d = amax / 127;
	id = d ? 1.0f / d : 0.0f;
	y->d = qu_f32_to_f16(d);
	for (int j = 0; j < QK32; j++)
		y->qs[j] = qk_trunc_i8(roundf(x[j] * id));
}

void
q8_0_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_q8_0 *y = vy;

	(void)qw;
	for (int64_t i = 0; i < nrows * n / QK32; i++)
		q8_0_block(x + i * QK32, y + i);
}
PICK(q8_0)

void
q8_0_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_q8_0 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d);
		for (int j = 0; j < QK32; j++)
			y[j] = (float)x[i].qs[j] * d;
	}
}

/* ---- IQ4_NL: ggml_quantize_chunk's path (quantize_iq4_nl, 7 tries) ---- */

/* weights: x² without an imatrix, else qw·sqrt(σ² + x²) with the block's
 * own σ² = 2Σx²/32 (not the row's, unlike Q4_0) */
void
iq4_nl_block(const float *x, const float *qw, struct blk_iq4_nl *y)
{
	float w[QK32], sigma2 = 0, d, id;
	uint8_t L[QK32];

	for (int j = 0; j < QK32; j++)
		sigma2 += x[j] * x[j];
	sigma2 *= 2.0f / QK32;
	for (int j = 0; j < QK32; j++)
		w[j] = qw ? qw[j] * sqrtf(sigma2 + x[j] * x[j]) : x[j] * x[j];
	d = qk_fit_iq4_sub(x, w);	/* the 15-scale search, shared with IQ4_XS */
	y->d = qu_f32_to_f16(d);
	id = d ? 1 / d : 0;
	for (int j = 0; j < QK32; j++)
		L[j] = (uint8_t)qk_iq4_index(id * x[j]);
	pack_nibbles(L, y->qs);
}

void
iq4_nl_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_iq4_nl *y = vy;
	int64_t nb = n / QK32;

	for (int64_t r = 0; r < nrows; r++)
		for (int64_t b = 0; b < nb; b++)
			iq4_nl_block(x + r * n + b * QK32, qw ? qw + b * QK32 : NULL, y + r * nb + b);
}
PICK(iq4_nl)

void
iq4_nl_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_iq4_nl *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qu_f16_to_f32(x[i].d);
		for (int j = 0; j < 16; j++) {
			y[j] = d * (float)qk_iq4nl_values[x[i].qs[j] & 0x0f];
			y[j + 16] = d * (float)qk_iq4nl_values[x[i].qs[j] >> 4];
		}
	}
}

/* ---- MXFP4 (no imatrix variant in ggml) ---- */

/* E8M0 exponent e -> 2^(e-128): half the block scale, because the
 * codebook holds 2 × the E2M1 values. */
float
qk_e8m0_half(uint8_t e)
{
	return qu_bits_f32(e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23);
}

/* log2f, as ggml: the exponent taken from the bits differs just below
 * powers of two, where log2f rounds up */
uint8_t
qk_mxfp4_exponent(float amax)
{
	return amax > 0 ? qk_trunc_u8(floorf(log2f(amax)) - 2 + 127) : 0;
}

static int
mxfp4_index(float x, float d)
{
	int best = 0;
	float best_err = fabsf((float)qk_mxfp4_values[0] * d - x);

	for (int i = 1; i < 16; i++) {
		float err = fabsf((float)qk_mxfp4_values[i] * d - x);
		if (err < best_err) {
			best = i;
			best_err = err;
		}
	}
	return best;
}

void
mxfp4_quantize_ref(const float *x, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_mxfp4 *y = vy;

	(void)qw;
	for (int64_t i = 0; i < nrows * n / QK32; i++) {
		const float *xb = x + i * QK32;
		float amax = 0, d;
		uint8_t q[QK32];

		for (int j = 0; j < QK32; j++)
			if (amax < fabsf(xb[j]))
				amax = fabsf(xb[j]);
		y[i].e = qk_mxfp4_exponent(amax);
		d = qk_e8m0_half(y[i].e);
		for (int j = 0; j < QK32; j++)
			q[j] = (uint8_t)mxfp4_index(xb[j], d);
		pack_nibbles(q, y[i].qs);
	}
}
PICK(mxfp4)

void
mxfp4_dequantize(const void *vx, float *y, int64_t n)
{
	const struct blk_mxfp4 *x = vx;

	for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
		float d = qk_e8m0_half(x[i].e);
		for (int j = 0; j < 16; j++) {
			y[j] = (float)qk_mxfp4_values[x[i].qs[j] & 0x0f] * d;
			y[j + 16] = (float)qk_mxfp4_values[x[i].qs[j] >> 4] * d;
		}
	}
}
