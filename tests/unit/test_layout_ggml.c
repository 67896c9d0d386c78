/* Packed modules as ggml blocks (layout_ggml.c): for every code format and
 * granularity that maps, the blocks dequantized by the ggml dequantizers
 * (byte-for-byte ggml's, test_quant_ggml) equal linq's dequantization of
 * the codes bit for bit; the schemes that do not map are refused with the
 * reason. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "harness.h"
#include "layout.h"
#include "linq.h"
#include "qblock.h"
#include "quant.h"

/* a small LCG: the test must not depend on the libc's rand() */
static uint32_t lcg = 12345u;
static uint32_t
next(void)
{
	lcg = lcg * 1664525u + 1013904223u;
	return lcg >> 8;
}

/* codes, scales and zero points for scheme s over rows x cols: scales
 * with mbits significant bits (11: any f16 value; 7 or fewer: -z*s is an
 * f16 value too, for any 4-bit z) */
static void
make_bits(struct ql_codes *kc, const struct qscheme *s, int64_t rows, int64_t cols, int zmode,
    int mbits)
{
	struct qerr e;
	int32_t lo, hi;

	memset(kc, 0, sizeof *kc);
	kc->s = *s;
	kc->rows = rows, kc->cols = cols;
	CHECKF(linq_grid(s, rows, cols, &kc->g, &e) == 0, "%s", e.msg);
	linq_qrange(s->fmt, &lo, &hi);
	kc->q = malloc((size_t)(rows * cols) * sizeof *kc->q);
	kc->scale = malloc((size_t)linq_ncells(&kc->g) * sizeof *kc->scale);
	kc->z = malloc((size_t)linq_ncells(&kc->g) * sizeof *kc->z);
	for (int64_t i = 0; i < rows * cols; i++)
		kc->q[i] = lo + (int32_t)(next() % (uint32_t)(hi - lo + 1));
	for (int64_t c = 0; c < linq_ncells(&kc->g); c++) {
		/* from 2^-14 (f16's least normal) to about 4 */
		uint32_t top = 1u << (mbits - 1);
		float v = ldexpf((float)(top + next() % top), -(int)(next() % 16) - 12 + (11 - mbits));

		kc->scale[c] = qu_f16_to_f32(qu_f32_to_f16(next() % 7 == 0 ? -v : v));
		kc->z[c] = zmode == 0 ? linq_sym_zero(s->fmt) : lo + (int32_t)(next() % (uint32_t)(hi - lo + 1));
	}
	if (zmode == 2)	/* an asymmetric tensor where one cell is symmetric */
		kc->z[0] = linq_sym_zero(s->fmt);
}

static void
make(struct ql_codes *kc, const struct qscheme *s, int64_t rows, int64_t cols, int zmode)
{
	make_bits(kc, s, rows, cols, zmode, zmode ? 7 : 11);
}

/* tol 0: bit for bit; else |got - ref| <= tol * (|scale| * 16) */
static void
expect_blocks(const char *label, struct ql_codes *kc, int want, float tol)
{
	struct qerr e;
	int64_t inexact = -1;
	int type = ql_ggml_type(kc, &inexact, &e);
	int64_t rows = kc->rows, cols = kc->cols;
	float *ref = malloc((size_t)(rows * cols) * sizeof *ref), *got = malloc((size_t)(rows * cols) * sizeof *got);
	uint64_t *order = malloc((size_t)rows * sizeof *order);
	unsigned char *blocks;
	int bad = 0;

	CHECKF(type == want, "%s: type %d, want %d (%s)", label, type, want, type < 0 ? e.msg : "");
	CHECKF(type < 0 || (tol == 0) == (inexact == 0), "%s: %lld inexact cells", label, (long long)inexact);
	if (type != want || !ref || !got || !order)
		goto out;
	linq_dequantize(&kc->s, &kc->g, kc->q, kc->scale, kc->z, ref, 1);
	for (int64_t r = 0; r < rows; r++)
		order[r] = (uint64_t)(rows - 1 - r);	/* rows reversed, as a permutation would */
	blocks = malloc((size_t)(qfmt_row_size(type, cols) * rows));
	ql_ggml_blocks(kc, type, order, (uint64_t)rows, blocks);
	CHECK(qfmt_dequantize(type, blocks, got, rows, cols, 1) == 0);
	for (int64_t r = 0; r < rows; r++)
		if (tol == 0)	/* equal values: Q4_1's u*d + m is +0 where (q-z)*s is -0 for s < 0 */
			for (int64_t i = 0; i < cols; i++)
				bad += !(got[r * cols + i] == ref[(int64_t)order[r] * cols + i]);
		else
			for (int64_t i = 0; i < cols; i++) {
				int64_t src = (int64_t)order[r] * cols + i;
				float s = kc->scale[src / cols / kc->g.br * kc->g.gcols + i / kc->g.bc];

				bad += !(fabsf(got[r * cols + i] - ref[src]) <= tol * fabsf(s) * 16);
			}
	CHECKF(bad == 0, "%s: %d values differ from linq's dequantization", label, bad);
	free(blocks);
out:
	free(ref);
	free(got);
	free(order);
	ql_codes_free(kc);
}

TEST(maps_exactly)
{
	static const struct {
		const char *label;
		struct qscheme s;
		int zmode, want;
	} cases[] = {
		{ "int4 g32 sym", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 0, QF_Q4_0 },
		{ "uint4 g32 sym (gptq)", { QF_UINT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 0, QF_Q4_0 },
		{ "int4 g128 sym", { QF_INT4, 1, QG_GROUP, 0, 128, { 0, 0 } }, 0, QF_Q4_0 },
		{ "int4 channel sym", { QF_INT4, 1, QG_CHANNEL, 0, 0, { 0, 0 } }, 0, QF_Q4_0 },
		{ "int4 tensor sym", { QF_INT4, 1, QG_TENSOR, 0, 0, { 0, 0 } }, 0, QF_Q4_0 },
		{ "uint4 g32 asym", { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } }, 1, QF_Q4_1 },
		{ "int4 g64 asym", { QF_INT4, 0, QG_GROUP, 0, 64, { 0, 0 } }, 1, QF_Q4_1 },
		{ "uint4 g32 one sym cell", { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } }, 2, QF_Q4_1 },
		{ "int8 g32 sym", { QF_INT8, 1, QG_GROUP, 0, 32, { 0, 0 } }, 0, QF_Q8_0 },
		{ "uint8 channel sym", { QF_UINT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } }, 0, QF_Q8_0 },
		{ "int8 2-D blocks 32x64", { QF_INT8, 1, QG_BLOCK, 0, 0, { 32, 64 } }, 0, QF_Q8_0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct ql_codes kc;

		make(&kc, &cases[i].s, 64, 256, cases[i].zmode);
		expect_blocks(cases[i].label, &kc, cases[i].want, 0);
	}
}

/* scales that are not f16 values, minima -z*s that are not: the codes
 * stay, d and m are rounded, the values move by at most f16's half ulp of
 * the scale times the code range */
TEST(rounds_scales_and_minima)
{
	struct qscheme asym = { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme sym = { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } };
	struct ql_codes kc;

	make_bits(&kc, &asym, 32, 128, 1, 11);
	expect_blocks("uint4 asym, f16 scales", &kc, QF_Q4_1, 0x1p-11f);
	make(&kc, &sym, 32, 128, 0);
	for (int64_t c = 0; c < linq_ncells(&kc.g); c++)
		kc.scale[c] *= 1.0f + 0x1p-15f;	/* f32 scales */
	expect_blocks("int4 sym, f32 scales", &kc, QF_Q4_0, 0x1p-11f);
}

static void
expect_refused(const char *label, struct ql_codes *kc, const char *why)
{
	struct qerr e;
	int64_t inexact;

	e.msg[0] = 0;
	CHECKF(ql_ggml_type(kc, &inexact, &e) < 0 && strstr(e.msg, why), "%s: want \"%s\", got \"%s\"", label,
	    why, e.msg);
	ql_codes_free(kc);
}

TEST(refuses_what_does_not_map)
{
	struct qscheme g32 = { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme g16 = { QF_INT4, 1, QG_GROUP, 0, 16, { 0, 0 } };
	struct qscheme u8a = { QF_UINT8, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme fp8 = { QF_FP8_E4M3, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct ql_codes kc;

	make(&kc, &g16, 8, 64, 0);
	expect_refused("group 16", &kc, "not whole blocks");
	make(&kc, &g32, 8, 48, 0);
	expect_refused("rows of 48", &kc, "not whole blocks");
	make(&kc, &g32, 8, 64, 0);
	kc.scale[3] = 1e6f;
	expect_refused("scale beyond f16", &kc, "beyond f16's range");
	make(&kc, &u8a, 8, 64, 1);
	kc.z[0] = 7;
	expect_refused("8-bit asymmetric", &kc, "Q8_0 has none");
	make(&kc, &fp8, 8, 64, 0);
	expect_refused("fp8", &kc, "no ggml block type");
	make(&kc, &g32, 8, 64, 0);
	kc.gidx = malloc(64 * sizeof *kc.gidx);
	for (int i = 0; i < 64; i++)
		kc.gidx[i] = i / 32;
	CHECKF(ql_ggml_type(&kc, &(int64_t){ 0 }, &(struct qerr){ 0 }) == QF_Q4_0, "contiguous g_idx is fine");
	kc.gidx[5] = 1;
	expect_refused("act-order g_idx", &kc, "g_idx");
}

/* MXFP4: E2M1 codes and E8M0 scales, as compressed-tensors stores them,
 * against ggml's MXFP4 blocks */
TEST(mxfp4_maps_exactly)
{
	struct qscheme s = { QF_MXFP4, 1, QG_GROUP, 0, 32, { 0, 0 } };
	struct ql_codes kc = { 0 };
	struct qerr e;
	int64_t rows = 16, cols = 128, inexact = -1;
	uint64_t order[16];
	unsigned char blocks[16 * 4 * 17];
	float got[16 * 128];
	int bad = 0;

	kc.s = s, kc.rows = rows, kc.cols = cols;
	CHECKF(linq_grid(&s, rows, cols, &kc.g, &e) == 0, "%s", e.msg);
	kc.q = malloc((size_t)(rows * cols) * sizeof *kc.q);
	kc.scale = malloc((size_t)linq_ncells(&kc.g) * sizeof *kc.scale);
	kc.z = calloc((size_t)linq_ncells(&kc.g), sizeof *kc.z);
	for (int64_t i = 0; i < rows * cols; i++)
		kc.q[i] = (int32_t)(next() % 16);
	for (int64_t c = 0; c < linq_ncells(&kc.g); c++)	/* E8M0 0 .. 254: 2^-127 .. 2^127 */
		kc.scale[c] = ldexpf(1.0f, c == 0 ? -127 : c == 1 ? 127 : (int)(next() % 60) - 30);
	CHECK(ql_ggml_type(&kc, &inexact, &e) == QF_MXFP4 && inexact == 0);
	for (int64_t r = 0; r < rows; r++)
		order[r] = (uint64_t)((r * 5) % rows);
	ql_ggml_blocks(&kc, QF_MXFP4, order, (uint64_t)rows, blocks);
	CHECK(qfmt_dequantize(QF_MXFP4, blocks, got, rows, cols, 1) == 0);
	for (int64_t r = 0; r < rows; r++)
		for (int64_t i = 0; i < cols; i++) {
			int64_t src = (int64_t)order[r] * cols + i;
			float want = qblock_value(QF_MXFP4, kc.q[src], kc.scale[src / 32], 0, 1);

			bad += !(got[r * cols + i] == want);	/* E2M1's -0 is ggml's +0 */
		}
	CHECKF(bad == 0, "%d values differ from the E2M1 code times its scale", bad);
	ql_codes_free(&kc);
}

int
main(void)
{
	RUN(maps_exactly);
	RUN(mxfp4_maps_exactly);
	RUN(rounds_scales_and_minima);
	RUN(refuses_what_does_not_map);
	return t_done();
}
