#include <strings.h>

#include "quant.h"
#include "quant_k.h"
#include "threads.h"
#include "quant_impl.h"

/* Sizes from spec/gguf.md §2.  One line per format; K(name) fills the
 * three kernel slots from the functions named name_quantize_ref,
 * name_quantize and name_dequantize (quant_impl.h). */
#define K(name) name##_quantize_ref, name##_quantize, name##_dequantize
const struct qfmt_traits qfmt_table[QF_COUNT] = {
	[QF_F32] = { "F32", 1, 1, 4, K(f32), 0 },
	[QF_F16] = { "F16", 1, 1, 2, K(f16), 0 },
	[QF_Q4_0] = { "Q4_0", 1, 32, 18, K(q4_0), 0 },
	[QF_Q4_1] = { "Q4_1", 1, 32, 20, K(q4_1), 0 },
	[QF_Q5_0] = { "Q5_0", 1, 32, 22, K(q5_0), 0 },
	[QF_Q5_1] = { "Q5_1", 1, 32, 24, K(q5_1), 0 },
	[QF_Q8_0] = { "Q8_0", 1, 32, 34, K(q8_0), 0 },
	[QF_Q8_1] = { "Q8_1", 1, 32, 36, NULL, NULL, NULL, 0 },
	[QF_Q2_K] = { "Q2_K", 1, 256, 84, qk_quantize_q2_K_ref, qk_quantize_q2_K, qk_dequantize_q2_K, 0 },
	[QF_Q3_K] = { "Q3_K", 1, 256, 110, qk_quantize_q3_K_ref, qk_quantize_q3_K, qk_dequantize_q3_K, 0 },
	[QF_Q4_K] = { "Q4_K", 1, 256, 144, qk_quantize_q4_K_ref, qk_quantize_q4_K, qk_dequantize_q4_K, 0 },
	[QF_Q5_K] = { "Q5_K", 1, 256, 176, qk_quantize_q5_K_ref, qk_quantize_q5_K, qk_dequantize_q5_K, 0 },
	[QF_Q6_K] = { "Q6_K", 1, 256, 210, qk_quantize_q6_K_ref, qk_quantize_q6_K, qk_dequantize_q6_K, 0 },
	[QF_Q8_K] = { "Q8_K", 1, 256, 292, NULL, NULL, NULL, 0 },
	[QF_IQ2_XXS] = { "IQ2_XXS", 1, 256, 66, NULL, NULL, NULL, 1 },
	[QF_IQ2_XS] = { "IQ2_XS", 1, 256, 74, NULL, NULL, NULL, 1 },
	[QF_IQ3_XXS] = { "IQ3_XXS", 1, 256, 98, NULL, NULL, NULL, 1 },
	[QF_IQ1_S] = { "IQ1_S", 1, 256, 50, NULL, NULL, NULL, 1 },
	[QF_IQ4_NL] = { "IQ4_NL", 1, 32, 18, K(iq4_nl), 0 },
	[QF_IQ3_S] = { "IQ3_S", 1, 256, 110, NULL, NULL, NULL, 0 },
	[QF_IQ2_S] = { "IQ2_S", 1, 256, 82, NULL, NULL, NULL, 1 },
	[QF_IQ4_XS] = { "IQ4_XS", 1, 256, 136, qk_quantize_iq4_xs_ref, qk_quantize_iq4_xs, qk_dequantize_iq4_xs, 0 },
	[QF_I8] = { "I8", 1, 1, 1, NULL, NULL, NULL, 0 },
	[QF_I16] = { "I16", 1, 1, 2, NULL, NULL, NULL, 0 },
	[QF_I32] = { "I32", 1, 1, 4, NULL, NULL, NULL, 0 },
	[QF_I64] = { "I64", 1, 1, 8, NULL, NULL, NULL, 0 },
	[QF_F64] = { "F64", 1, 1, 8, NULL, NULL, NULL, 0 },
	[QF_IQ1_M] = { "IQ1_M", 1, 256, 56, NULL, NULL, NULL, 1 },
	[QF_BF16] = { "BF16", 1, 1, 2, K(bf16), 0 },
	[QF_TQ1_0] = { "TQ1_0", 1, 256, 54, NULL, NULL, NULL, 0 },
	[QF_TQ2_0] = { "TQ2_0", 1, 256, 66, NULL, NULL, NULL, 0 },
	[QF_MXFP4] = { "MXFP4", 1, 32, 17, K(mxfp4), 0 },
	[QF_NVFP4] = { "NVFP4", 1, 64, 36, NULL, NULL, NULL, 0 },
	[QF_Q1_0] = { "Q1_0", 1, 128, 18, NULL, NULL, NULL, 0 },
	[QF_Q2_0] = { "Q2_0", 1, 64, 18, NULL, NULL, NULL, 0 },
	[QF_INT8] = { "int8", 0, 1, 1, K(int8), 0 },
	[QF_UINT8] = { "uint8", 0, 1, 1, K(uint8), 0 },
	[QF_INT4] = { "int4", 0, 2, 1, K(int4), 0 },
	[QF_UINT4] = { "uint4", 0, 2, 1, K(uint4), 0 },
	[QF_FP8_E4M3] = { "fp8_e4m3", 0, 1, 1, K(fp8_e4m3), 0 },
	[QF_FP8_E5M2] = { "fp8_e5m2", 0, 1, 1, K(fp8_e5m2), 0 },
};

int
qfmt_is_valid(int f)
{
	return f >= 0 && f < QF_COUNT && qfmt_table[f].block > 0;
}

int
qfmt_from_name(const char *name)
{
	for (int f = 0; f < QF_COUNT; f++)
		if (qfmt_is_valid(f) && strcasecmp(qfmt_table[f].name, name) == 0)
			return f;
	return -1;
}

uint64_t
qfmt_row_size(enum qfmt f, int64_t n)
{
	const struct qfmt_traits *t;

	if (!qfmt_is_valid(f) || n < 0)
		return 0;
	t = &qfmt_table[f];
	if (n % t->block)
		return 0;
	return (uint64_t)(n / t->block) * (uint64_t)t->block_bytes;
}

struct rows_job {
	enum qfmt f;
	const float *src;
	float *fdst;
	const void *qsrc;
	void *dst;
	int64_t n_per_row;
	const float *imatrix;
	uint64_t row_bytes;
};

static void
quantize_body(void *ctx, size_t b, size_t e, int worker)
{
	struct rows_job *j = ctx;

	(void)worker;
	qfmt_table[j->f].quantize(j->src + (int64_t)b * j->n_per_row,
	    (unsigned char *)j->dst + b * j->row_bytes, (int64_t)(e - b), j->n_per_row, j->imatrix);
}

static void
dequantize_body(void *ctx, size_t b, size_t e, int worker)
{
	struct rows_job *j = ctx;

	(void)worker;
	qfmt_table[j->f].dequantize((const unsigned char *)j->qsrc + b * j->row_bytes,
	    j->fdst + (int64_t)b * j->n_per_row, (int64_t)(e - b) * j->n_per_row);
}

/* Rows are independent, so splitting them over threads cannot change the
 * bytes; chunks of ~64 KiB of input keep threads busy without overhead. */
static size_t
grain_for(int64_t n_per_row)
{
	int64_t g = (1 << 14) / (n_per_row > 0 ? n_per_row : 1);

	return g < 1 ? 1 : (size_t)g;
}

int
qfmt_quantize(enum qfmt f, const float *src, void *dst, int64_t nrows,
    int64_t n_per_row, const float *imatrix, int jobs)
{
	struct rows_job j = { f, src, NULL, NULL, dst, n_per_row, imatrix, 0 };

	if (!qfmt_is_valid(f) || qfmt_table[f].quantize == NULL ||
	    (j.row_bytes = qfmt_row_size(f, n_per_row)) == 0)
		return -1;
	qpool_for(jobs, (size_t)nrows, grain_for(n_per_row), quantize_body, &j);
	return 0;
}

int
qfmt_dequantize(enum qfmt f, const void *src, float *dst, int64_t nrows,
    int64_t n_per_row, int jobs)
{
	struct rows_job j = { f, NULL, dst, src, NULL, n_per_row, NULL, 0 };

	if (!qfmt_is_valid(f) || qfmt_table[f].dequantize == NULL ||
	    (j.row_bytes = qfmt_row_size(f, n_per_row)) == 0)
		return -1;
	qpool_for(jobs, (size_t)nrows, grain_for(n_per_row), dequantize_body, &j);
	return 0;
}
