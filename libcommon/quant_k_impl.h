/* quant_k_impl: what the scalar K-quant reference (quant_k.c) shares with
 * its vectorized variants (quant_k_x86.c).  Not a public interface. */
#ifndef QUANT_K_IMPL_H
#define QUANT_K_IMPL_H

#include <stdint.h>
#include <string.h>

#include "quant_k.h"

#define QK_GROUP_EPS 1e-15f	/* a group below this max is all zero */

/* ggml's nearest_int: adding 1.5*2^23 rounds to nearest even in the
 * current rounding mode; the integer is in the low mantissa bits.  Valid
 * for |f| <= 4194303 (outside it, ggml's same garbage). */
static inline int
qk_nearest_int(float f)
{
	float v = f + 12582912.f;
	int32_t i;

	memcpy(&i, &v, sizeof i);
	return (i & 0x007fffff) - 0x00400000;
}

static inline int
qk_clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* What fitting one super-block produces. */
struct qk_fit {
	float scales[16];	/* per sub-block scale (signed for Q3_K, Q6_K, IQ4_XS) */
	float mins[16];		/* per sub-block -min >= 0 (Q2_K, Q4_K, Q5_K) */
	float sw[16];		/* per sub-block sum of weights (imatrix paths) */
	uint8_t L[QK_K];	/* codes (int8 for Q3_K, Q6_K before offset) */
	/* The vector fitters leave the codes transposed (sub-block s of the
	 * batch, element i at Lt[(s / Lt_vl) * n * Lt_vl + i * Lt_vl + s % Lt_vl])
	 * because finishing re-derives nearly all of them; NULL when L holds them. */
	const uint8_t *Lt;
	int Lt_first, Lt_vl;	/* this block's first sub-block in the batch; lanes */
};

/* The fitter's codes of sub-block j (n elements) into L, for the sub-blocks
 * whose stored scale is 0 and whose codes therefore stay. */
static inline void
qk_fit_codes(const struct qk_fit *f, int j, int n, uint8_t *L)
{
	if (!f->Lt)
		return;
	int s = f->Lt_first + j;
	const uint8_t *p = f->Lt + (size_t)(s / f->Lt_vl) * n * f->Lt_vl + s % f->Lt_vl;
	for (int i = 0; i < n; i++)
		L[i] = p[i * f->Lt_vl];
}

enum { QK_Q2_K, QK_Q3_K, QK_Q4_K, QK_Q5_K, QK_Q6_K, QK_IQ4_XS, QK_NFORMATS };

typedef void (*qk_fit_fn)(const float *x, struct qk_fit *f);
typedef void (*qk_fit_w_fn)(const float *x, const float *qw, struct qk_fit *f);
/* Re-deriving codes from a stored scale (element-wise, so vectorizable in
 * the natural order): L[i] = clamp(nearest_int((x[i] + m) / d), lo, hi) + off. */
typedef void (*qk_requant_fn)(const float *x, int n, float d, float m, int lo, int hi, int off,
    uint8_t *L);
void qk_requant_ref(const float *x, int n, float d, float m, int lo, int hi, int off, uint8_t *L);
/* The element-wise parts of finishing, vectorizable in the natural order. */
struct qk_ops {
	qk_requant_fn requant;
	/* L[i] = index of the IQ4 codebook entry nearest id * x[i] */
	void (*iq4_codes)(const float *x, int n, float id, uint8_t *L);
};
void qk_iq4_codes_ref(const float *x, int n, float id, uint8_t *L);
extern const struct qk_ops qk_ops_ref;
typedef void (*qk_finish_fn)(const float *x, struct qk_fit *f, void *out, const struct qk_ops *ops);

struct qk_format {
	int block_bytes;
	qk_fit_fn fit_ref;		/* no importance vector */
	qk_fit_w_fn fit_imatrix;	/* with one (256 weights of this block) */
	qk_finish_fn finish_ref, finish_imatrix;
};

extern const struct qk_format qk_formats[QK_NFORMATS];

/* make_qkx2/3's search for the formats with a minimum (Q2_K, Q4_K, Q5_K):
 * sub-block size, largest code and the scale search, [0] without an
 * importance matrix, [1] with one (ggml's constants, spec/gguf.md §4). */
struct qk_search {
	int n, nmax;
	float rmin, rdelta;
	int nstep, use_mad;
};
extern const struct qk_search qk_searches[QK_NFORMATS][2];
extern const int8_t qk_iq4nl_values[16];	/* defined in quant_simple.c */

float qk_fit_qkx(int n, int nmax, const float *x, const float *w, uint8_t *L,
    float *the_min, float rmin, float rdelta, int nstep, int use_mad);
float qk_fit_search(const struct qk_search *sr, const float *x, const float *w, uint8_t *L,
    float *the_min);	/* qk_fit_qkx with a table row's search */
float qk_fit_qp(int n, int nmax, const float *x, uint8_t *L, const float *w);
float qk_sum_sq(const float *x, int n);
int qk_iq4_index(float x);
float qk_fit_iq4_sub(const float *xb, const float *w);
void qk_weights_iq4_xs(const float *x, const float *qw, float *w);
void qk_fit_iq4_xs_ref(const float *x, const float *qw, struct qk_fit *f);

void qk_quantize_rows_ref(int fmt, const float *src, void *dst, int64_t nrows,
    int64_t n_per_row, const float *qw);

#endif
