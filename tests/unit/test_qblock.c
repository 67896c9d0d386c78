/* The block formats of qparams (libcommon/qblock): codes and packed bytes
 * by hand, ggml's reference rules reproduced, mse against minmax, the
 * compressed-tensors FP4 layouts both ways, hostile qparams files, and the
 * importance-weighted bit budget. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "calib.h"
#include "dtype.h"
#include "harness.h"
#include "importance.h"
#include "layout.h"
#include "qblock.h"
#include "qparams.h"
#include "qpfiles.h"
#include "quant.h"
#include "safetensors.h"
#include "wsel.h"

/* heavy-tailed rows, as LLM weights have */
static void
fill(float *x, size_t n, float sd)
{
	for (size_t i = 0; i < n; i++)
		x[i] = t_gauss() * sd * (i % 53 == 0 ? 5.0f : 1.0f);
}

static const enum qfmt all_blocks[] = { QF_NVFP4, QF_MXFP4, QF_Q4_0, QF_Q4_1, QF_Q5_0, QF_Q5_1,
	QF_Q8_0 };
#define N_ALL (sizeof all_blocks / sizeof all_blocks[0])

/* ---- by hand ---- */

/* E2M1: 0 .5 1 1.5 2 3 4 6, bit 3 the sign; 0.25 is a tie, to even (0). */
static const float e2m1_row[16] = { 0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -6, -4, -3, -2, -1.5f, -1,
	-0.5f, 0.25f };
static const unsigned char e2m1_bytes[8] = { 0x10, 0x32, 0x54, 0x76, 0xef, 0xcd, 0xab, 0x09 };

TEST(nvfp4_by_hand)
{
	/* row 0 as is, row 1 halved: amax 6, so the global scale is
	 * 448 * 6 / 6 = 448; group scales E4M3(448 * amax_g / 6) = 448 (0x7e)
	 * and 224 (0x76); effective scales 1 and 0.5, the same codes. */
	float x[32];
	struct qparams qp = { 0 };
	struct qp_entry *w = block_entry(&qp, QF_NVFP4, 2, 16);
	struct calib_opts o;
	struct qerr e;
	int32_t q[32];
	struct ql_packed pk;
	float gs;

	for (int i = 0; i < 16; i++)
		x[i] = e2m1_row[i], x[16 + i] = e2m1_row[i] * 0.5f;
	calib_defaults(&o);
	CHECKF(qparams_choose(w, x, &o, 1, &e) == 0, "%s", e.msg);
	CHECK(w->global_scale == 448.0f && w->scale[0] == 448.0f && w->scale[1] == 224.0f);
	qparams_codes(w, x, q, 1);
	CHECK(ql_fp4_pack(w, q, &pk, &e) == 0 && pk.n == 3);
	CHECK(memcmp(pk.part[0].data, e2m1_bytes, 8) == 0 && memcmp(pk.part[0].data + 8, e2m1_bytes, 8) == 0);
	CHECK(pk.part[1].data[0] == 0x7e && pk.part[1].data[1] == 0x76);
	memcpy(&gs, pk.part[2].data, 4);
	CHECK(gs == 448.0f && strcmp(pk.part[2].suffix, "weight_global_scale") == 0);
	CHECK(pk.part[1].dtype == QD_F8_E4M3 && pk.part[1].shape[1] == 1 && pk.part[0].shape[1] == 8);
	ql_packed_free(&pk);
	qparams_free(&qp);
}

TEST(mxfp4_by_hand)
{
	/* amax 6: OCP's exponent floor(log2 6) - 2 = 0, scale 1, byte 127;
	 * second group amax 7 (> 6 clips to 6) has the same; third amax 0.75:
	 * floor(log2 .75) - 2 = -3, scale 1/8, byte 124 */
	float x[96];
	struct qparams qp = { 0 };
	struct qp_entry *w = block_entry(&qp, QF_MXFP4, 1, 96);
	struct calib_opts o;
	struct qerr e;
	int32_t q[96];
	struct ql_packed pk;

	for (int i = 0; i < 32; i++) {
		x[i] = e2m1_row[i % 16];
		x[32 + i] = i == 0 ? 7.0f : 0;
		x[64 + i] = e2m1_row[i % 16] / 8;
	}
	x[64 + 7] = 0.75f;	/* 6/8 would be the amax otherwise */
	calib_defaults(&o);
	CHECKF(qparams_choose(w, x, &o, 1, &e) == 0, "%s", e.msg);
	CHECK(w->scale[0] == 1.0f && w->scale[1] == 1.0f && w->scale[2] == 0.125f);
	qparams_codes(w, x, q, 1);
	CHECK(ql_fp4_pack(w, q, &pk, &e) == 0 && pk.n == 2);
	CHECK(memcmp(pk.part[0].data, e2m1_bytes, 8) == 0);
	CHECK(pk.part[0].data[16] == 0x07);	/* 7 saturates to code 7 (6) */
	CHECK(pk.part[1].data[0] == 127 && pk.part[1].data[1] == 127 && pk.part[1].data[2] == 124);
	CHECK(memcmp(pk.part[0].data + 32, e2m1_bytes, 8) == 0);	/* x / (1/8): the same codes */
	ql_packed_free(&pk);
	qparams_free(&qp);
}

/* The fast E2M1 encoder is dtype.c's reference on every finite float
 * sampled (a stride through all bit patterns, and the boundaries). */
TEST(e2m1_fast_equals_reference)
{
	static const float edges[] = { 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f, 0.0f };
	long bad = 0;

	for (uint64_t u = 0; u < (UINT64_C(1) << 32); u += 4093) {
		uint32_t b = (uint32_t)u;
		float x;

		memcpy(&x, &b, 4);
		if (isfinite(x))
			bad += qblock_e2m1(x) != qu_f32_to_e2m1(x);
	}
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		for (int sgn = 0; sgn < 2; sgn++)
			for (int k = -1; k <= 1; k++) {
				float x = nextafterf(edges[i], k < 0 ? 0.0f : k > 0 ? 10.0f : edges[i]);

				x = sgn ? -x : x;
				bad += qblock_e2m1(x) != qu_f32_to_e2m1(x);
			}
	CHECKF(bad == 0, "%ld codes differ", bad);
}

TEST(q4_0_q8_0_by_hand)
{
	/* q4_0: max by magnitude -2 gives d = -2 / -8 = 0.25; x = 1 -> 1 * 4 + 8.5
	 * -> 12; q8_0: amax 127 -> d 1, 2.5 rounds away from zero to 3 */
	float x[32] = { -2, 1, 0.5f }, y[32] = { 127, 2.5f, -2.5f };
	unsigned char b[34];

	qblock_pack_ggml(QF_Q4_0, x, 0.25f, 0, b);
	CHECK(b[0] == 0x00 && b[1] == 0x34);	/* f16 0.25 */
	CHECK(b[2] == (0 | 8 << 4) && b[3] == (12 | 8 << 4) && b[4] == (10 | 8 << 4));
	qblock_pack_ggml(QF_Q8_0, y, 1.0f, 0, b);
	CHECK(b[0] == 0x00 && b[1] == 0x3c && b[2] == 127 && b[3] == 3 && b[4] == (unsigned char)-3);
}

/* minmax is ggml's reference quantizer, byte for byte (the traits table's
 * quantize_ref, itself checked against libggml by tests/interop). */
TEST(ggml_minmax_is_ggml_reference)
{
	static const enum qfmt fs[] = { QF_Q4_0, QF_Q4_1, QF_Q5_0, QF_Q5_1, QF_Q8_0 };
	enum { R = 8, C = 256 };
	float *x = malloc(R * C * sizeof *x);

	fill(x, R * C, 0.03f);
	for (int i = 0; i < 32; i++)
		x[3 * C + 64 + i] = 0;	/* an all-zero block: ggml's d is -0 for q4_0 */
	x[5] = 0.1875f;			/* exact ties for the rounding rules */
	for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
		enum qfmt f = fs[k];
		struct qparams qp = { 0 };
		struct qp_entry *w = block_entry(&qp, f, R, C);
		struct calib_opts o;
		struct qerr e;
		size_t bb = (size_t)qfmt_table[f].block_bytes, nb = R * C / 32;
		unsigned char *ours = malloc(nb * bb), *ref = malloc(nb * bb);
		float *back = malloc(R * C * sizeof *back), *fq = malloc(R * C * sizeof *fq);

		calib_defaults(&o);
		CHECKF(qparams_choose(w, x, &o, 2, &e) == 0, "%s", e.msg);
		for (size_t b = 0; b < nb; b++)
			qblock_pack_ggml(f, x + 32 * b, w->scale[b], w->min ? w->min[b] : 0, ours + b * bb);
		qfmt_table[f].quantize_ref(x, ref, R, C, NULL);
		CHECKF(memcmp(ours, ref, nb * bb) == 0, "%s: minmax blocks differ from ggml's", qfmt_table[f].name);
		/* and fake quantization is ggml's dequantization of them */
		qfmt_table[f].dequantize(ref, back, R * C);
		qparams_fakequant(w, x, fq, 2);
		CHECKF(memcmp(back, fq, R * C * sizeof *fq) == 0, "%s: fake quantization != ggml dequant",
		    qfmt_table[f].name);
		free(ours), free(ref), free(back), free(fq);
		qparams_free(&qp);
	}
	free(x);
}

/* mxfp4's minmax exponent is ggml's MXFP4 one, and the values agree except
 * at exact ties (ggml takes the smaller magnitude, E2M1 rounding the even). */
TEST(mxfp4_minmax_is_ggml_exponent)
{
	enum { R = 4, C = 128 };
	float x[R * C], fq[R * C], back[R * C];
	unsigned char ref[R * C / 32 * 17];
	struct qparams qp = { 0 };
	struct qp_entry *w = block_entry(&qp, QF_MXFP4, R, C);
	struct calib_opts o;
	struct qerr e;
	int ties = 0, diff = 0;

	fill(x, R * C, 0.05f);
	calib_defaults(&o);
	CHECKF(qparams_choose(w, x, &o, 1, &e) == 0, "%s", e.msg);
	qfmt_table[QF_MXFP4].quantize_ref(x, ref, R, C, NULL);
	for (int b = 0; b < R * C / 32; b++)
		CHECKF(ldexpf(1.0f, ref[17 * b] - 127) == w->scale[b], "block %d: ggml e %d, ours %g", b,
		    ref[17 * b], (double)w->scale[b]);
	qfmt_table[QF_MXFP4].dequantize(ref, back, R * C);
	qparams_fakequant(w, x, fq, 1);
	for (int i = 0; i < R * C; i++) {
		static const float mid[7] = { 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f };
		float r = fabsf(x[i] / w->scale[i / 32]);
		int tie = 0;

		for (int k = 0; k < 7; k++)	/* midpoints between E2M1 magnitudes */
			tie |= r == mid[k];
		ties += tie;
		diff += !tie && back[i] != fq[i];
	}
	CHECKF(diff == 0, "%d values differ away from ties (%d ties)", diff, ties);
	qparams_free(&qp);
}

/* ---- mse ---- */

static double
sqnr_of(const struct qp_entry *w, const float *x, size_t n)
{
	float *xq = malloc(n * sizeof *xq);
	struct calib_err r;

	qparams_fakequant(w, x, xq, 2);
	calib_measure(x, xq, n, &r);
	free(xq);
	return calib_sqnr_db(&r);
}

/* Every group: mse's error is at most minmax's (minmax is a candidate);
 * nvfp4, whose mse also moves the global scale, over the whole tensor. */
TEST(mse_never_worse_per_group)
{
	enum { R = 16, C = 256 };
	float *x = malloc(R * C * sizeof *x), *a = malloc(R * C * sizeof *a), *b = malloc(R * C * sizeof *b);

	fill(x, R * C, 0.02f);
	for (size_t k = 0; k < N_ALL; k++) {
		struct qparams q1 = { 0 }, q2 = { 0 };
		struct qp_entry *mm = block_entry(&q1, all_blocks[k], R, C), *ms = block_entry(&q2, all_blocks[k], R, C);
		struct calib_opts o;
		struct qerr e;
		int g = qblock_info(all_blocks[k])->group, worse = 0;
		double ta = 0, tb = 0;

		calib_defaults(&o);
		CHECK(qparams_choose(mm, x, &o, 2, &e) == 0);
		o.method = CALIB_MSE;
		CHECK(qparams_choose(ms, x, &o, 2, &e) == 0);
		qparams_fakequant(mm, x, a, 2);
		qparams_fakequant(ms, x, b, 2);
		for (int c = 0; c < R * C / g; c++) {
			double ea = 0, eb = 0;

			for (int i = c * g; i < (c + 1) * g; i++) {
				ea += ((double)x[i] - a[i]) * ((double)x[i] - a[i]);
				eb += ((double)x[i] - b[i]) * ((double)x[i] - b[i]);
			}
			worse += eb > ea && !qblock_info(all_blocks[k])->has_global;
			ta += ea, tb += eb;
		}
		CHECKF(tb <= ta, "%s: mse's total error %g above minmax's %g", qblock_info(all_blocks[k])->name, tb, ta);
		CHECKF(worse == 0, "%s: mse worse than minmax in %d groups", qblock_info(all_blocks[k])->name, worse);
		qparams_free(&q1);
		qparams_free(&q2);
	}
	free(x), free(a), free(b);
}

static int
mse_margin(const char *label, const float *x, uint64_t rows, uint64_t cols, enum qfmt f, double *margin)
{
	struct qparams q1 = { 0 }, q2 = { 0 };
	struct qp_entry *mm, *ms;
	struct calib_opts o;
	struct qerr e;
	double a, b;

	if (cols % (uint64_t)qblock_info(f)->group)
		return 0;
	mm = block_entry(&q1, f, rows, cols);
	ms = block_entry(&q2, f, rows, cols);
	calib_defaults(&o);
	CHECK(qparams_choose(mm, x, &o, 2, &e) == 0);
	o.method = CALIB_MSE;
	CHECK(qparams_choose(ms, x, &o, 2, &e) == 0);
	a = sqnr_of(mm, x, rows * cols);
	b = sqnr_of(ms, x, rows * cols);
	*margin = b - a;
	printf("# %-28s %-6s minmax %6.2f dB  mse %6.2f dB  margin %+5.2f dB\n", label,
	    qblock_info(f)->name, a, b, b - a);
	qparams_free(&q1);
	qparams_free(&q2);
	return 1;
}

TEST(mse_beats_minmax_generated)
{
	enum { R = 64, C = 256 };
	float *x = malloc(R * C * sizeof *x);

	fill(x, R * C, 0.02f);
	for (size_t k = 0; k < N_ALL; k++) {
		double m;

		CHECK(mse_margin("generated [64, 256]", x, R, C, all_blocks[k], &m));
		CHECKF(m > 0.1, "%s: mse only %+.3f dB over minmax", qblock_info(all_blocks[k])->name, m);
	}
	free(x);
}

/* The fixtures' weights: every quantizable matrix of the file at once. */
static void
mse_beats_minmax_on(const char *rel)
{
	const char *path = t_fixture(rel);
	struct st_file f;
	struct qerr e;
	struct wsel sel = { .min_rank = 2 };

	if (path == NULL) {
		t_skip("fixture %s absent", rel);
		return;
	}
	CHECKF(st_open(&f, path, &e) == 0, "%s", e.msg);
	for (size_t k = 0; k < N_ALL; k++) {
		double sum_mm = 0, sum_ms = 0, sig = 0;
		int n = 0;

		for (size_t i = 0; i < f.n_tensors; i++) {
			const struct st_tensor *t = &f.tensors[i];
			struct qparams q1 = { 0 }, q2 = { 0 };
			struct qp_entry *mm, *ms;
			struct calib_opts o;
			struct calib_err r1, r2;
			float *x, *xq;
			uint64_t cols = t->shape[t->ndim - 1];

			if (!wsel_pick(&sel, t->name, t->dtype, t->ndim) || cols % (uint64_t)qblock_info(all_blocks[k])->group)
				continue;
			CHECK(wsel_load_f32(t, &x, &e) == 0);
			xq = malloc((size_t)t->nelem * sizeof *xq);
			mm = block_entry(&q1, all_blocks[k], t->nelem / cols, cols);
			ms = block_entry(&q2, all_blocks[k], t->nelem / cols, cols);
			calib_defaults(&o);
			CHECK(qparams_choose(mm, x, &o, 2, &e) == 0);
			o.method = CALIB_MSE;
			CHECK(qparams_choose(ms, x, &o, 2, &e) == 0);
			qparams_fakequant(mm, x, xq, 2);
			calib_measure(x, xq, (size_t)t->nelem, &r1);
			qparams_fakequant(ms, x, xq, 2);
			calib_measure(x, xq, (size_t)t->nelem, &r2);
			sum_mm += r1.sum_e2, sum_ms += r2.sum_e2, sig += r1.sum_x2;
			n++;
			free(x), free(xq);
			qparams_free(&q1), qparams_free(&q2);
		}
		if (n == 0)
			continue;
		printf("# %-28s %-6s minmax %6.2f dB  mse %6.2f dB  margin %+5.2f dB (%d tensors)\n", rel,
		    qblock_info(all_blocks[k])->name, 10 * log10(sig / sum_mm), 10 * log10(sig / sum_ms),
		    10 * log10(sum_mm / sum_ms), n);
		CHECKF(sum_ms < sum_mm * 0.98, "%s %s: mse %.4g vs minmax %.4g", rel,
		    qblock_info(all_blocks[k])->name, sum_ms, sum_mm);
	}
	st_close(&f);
}

TEST(mse_beats_minmax_tiny_llama) { mse_beats_minmax_on("tiny-llama-bf16/model.safetensors"); }
TEST(mse_beats_minmax_tiny_qwen3) { mse_beats_minmax_on("tiny-qwen3/model.safetensors"); }

/* ---- compressed-tensors FP4 layouts both ways ---- */

TEST(fp4_pack_unpack_is_fake_quant)
{
	enum { R = 24, C = 96 };
	float x[R * C], fq[R * C];

	fill(x, R * C, 0.04f);
	for (int f = 0; f < 2; f++)
		for (int m = 0; m < 2; m++) {
			enum qfmt fmt = f ? QF_MXFP4 : QF_NVFP4;
			struct qparams qp = { 0 };
			struct qp_entry *w = block_entry(&qp, fmt, R, C);
			struct calib_opts o;
			struct qerr e;
			int32_t q[R * C];
			struct ql_packed pk;
			struct ql_config cfg = { QL_CT, 0, w->s, 0, NULL };
			struct packed_ckpt ps = { &pk, "m" };
			float *back;
			int64_t rows, cols;

			calib_defaults(&o);
			o.method = m ? CALIB_MSE : CALIB_MINMAX;
			CHECK(qparams_choose(w, x, &o, 2, &e) == 0);
			qparams_codes(w, x, q, 2);
			qparams_fakequant(w, x, fq, 2);
			CHECK(ql_fp4_pack(w, q, &pk, &e) == 0);
			CHECKF(ql_fp4_unpack(&cfg, "m", packed_find, &ps, &back, &rows, &cols, 0, &e) == 0, "%s", e.msg);
			CHECK(rows == R && cols == C);
			CHECKF(back && memcmp(back, fq, sizeof fq) == 0, "%s %s: unpacked != fake-quantized",
			    qblock_info(fmt)->name, m ? "mse" : "minmax");
			free(back);
			/* hostile: a NaN scale, a zero global scale, a short scale tensor */
			pk.part[1].data[0] = fmt == QF_NVFP4 ? 0x7f : 0xff;
			CHECK(ql_fp4_unpack(&cfg, "m", packed_find, &ps, &back, &rows, &cols, 0, &e) < 0 &&
			    strstr(e.msg, "NaN"));
			if (fmt == QF_NVFP4) {
				memset(pk.part[2].data, 0, 4);
				CHECK(ql_fp4_unpack(&cfg, "m", packed_find, &ps, &back, &rows, &cols, 0, &e) < 0 &&
				    strstr(e.msg, "global"));
			}
			pk.part[1].shape[1]--;
			CHECK(ql_fp4_unpack(&cfg, "m", packed_find, &ps, &back, &rows, &cols, 0, &e) < 0 &&
			    strstr(e.msg, "shape"));
			ql_packed_free(&pk);
			qparams_free(&qp);
		}
}

/* ---- qparams files ---- */

TEST(qparams_block_round_trip)
{
	float x[4 * 64];
	struct qparams qp = { 0 }, back;
	struct qerr e;
	unsigned char *buf;
	size_t len;

	fill(x, 4 * 64, 0.1f);
	for (size_t k = 0; k < N_ALL; k++) {
		struct qscheme s = { all_blocks[k], !qblock_info(all_blocks[k])->has_min, QG_GROUP, 0,
			qblock_info(all_blocks[k])->group, { 0, 0 } };
		uint64_t shape[2] = { 4, 64 };
		char name[32];
		struct qp_entry *w;
		struct calib_opts o;

		snprintf(name, sizeof name, "%s.weight", qblock_info(all_blocks[k])->name);
		w = qparams_add(&qp, name, &s, 2, shape, &e);
		calib_defaults(&o);
		o.method = CALIB_MSE;
		CHECK(w && qparams_choose(w, x, &o, 1, &e) == 0);
	}
	buf = mem_qparams(&qp, &len);
	CHECK(buf != NULL);
	CHECKF(qparams_parse(&back, buf, len, "mem", &e) == 0, "%s", e.msg);
	CHECK(back.n_w == N_ALL);
	for (size_t k = 0; k < N_ALL; k++) {
		const struct qp_entry *a = &qp.w[k], *b = qparams_find(&back, a->name);
		size_t nc = (size_t)linq_ncells(&a->g);

		CHECK(b && b->s.fmt == a->s.fmt && b->s.sym == a->s.sym && b->g.bc == a->g.bc &&
		    memcmp(a->scale, b->scale, nc * 4) == 0 && b->global_scale == a->global_scale &&
		    !b->zp && (!a->min) == (!b->min) && (!a->min || memcmp(a->min, b->min, nc * 4) == 0));
	}
	qparams_free(&back);
	free(buf);
	qparams_free(&qp);
}

static void
expect(const char *label, const char *scheme, const struct tdef *t, int nt, const char *want)
{
	const char *meta[] = { "format", "qparams", "version", "1", "w", scheme };
	size_t len;
	unsigned char *buf = mem_file(meta, 3, t, nt, &len);
	struct qparams qp;
	struct qerr e;
	int rc = qparams_parse(&qp, buf, len, "bad.qp", &e);
	const char *dir = getenv("QU_WRITE_CORPUS");

	if (want == NULL) {
		CHECKF(rc == 0, "%s: refused: %s", label, e.msg);
	} else {
		CHECKF(rc < 0, "%s: accepted", label);
		if (rc < 0)
			CHECKF(strstr(e.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", label, e.msg, want);
	}
	if (rc == 0)
		qparams_free(&qp);
	if (dir) {
		char p[1024];

		snprintf(p, sizeof p, "%s/block_%s.qp", dir, label);
		t_write_file(p, buf, len);
	}
	free(buf);
}

#define BSCHEME(f, g, sym) "{\"format\":\"" f "\",\"granularity\":\"group\",\"group_size\":" #g \
	",\"symmetric\":" sym ",\"shape\":[2,32]}"

TEST(qparams_block_malformed)
{
	static const float e4[4] = { 448, 0.5f, 1.125f, 2 }, not_e4[4] = { 448, 0.51f, 1, 2 };
	static const float p2[2] = { 0.25f, 4 }, not_p2[2] = { 0.25f, 3 }, neg[2] = { 0.5f, -1 };
	static const float huge[2] = { 1, 1e6f }, gs = 3.5f, gs0 = 0, tiny = 1e-38f, mins[2] = { -1, 0 };
	static const int32_t zp[2] = { 1, 2 };
	const char *nv = BSCHEME("nvfp4", 16, "true"), *mx = BSCHEME("mxfp4", 32, "true");
	const char *q41 = BSCHEME("q4_1", 32, "false"), *q80 = BSCHEME("q8_0", 32, "true");
	const char *q40 = BSCHEME("q4_0", 32, "true");
	struct tdef nv_ok[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, e4 }, { "w.global_scale", QD_F32, 0, { 0, 0 }, &gs } };
	struct tdef nv_bad[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, not_e4 }, { "w.global_scale", QD_F32, 0, { 0, 0 }, &gs } };
	struct tdef nv_g0[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, e4 }, { "w.global_scale", QD_F32, 0, { 0, 0 }, &gs0 } };
	struct tdef nv_g1[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, e4 }, { "w.global_scale", QD_F32, 1, { 1, 0 }, &gs } };
	struct tdef mx_ok = { "w.scale", QD_F32, 2, { 2, 1 }, p2 };
	struct tdef mx_bad = { "w.scale", QD_F32, 2, { 2, 1 }, not_p2 };
	struct tdef mx_gs[2] = { { "w.scale", QD_F32, 2, { 2, 1 }, p2 }, { "w.global_scale", QD_F32, 0, { 0, 0 }, &gs } };
	struct tdef q41_ok[2] = { { "w.scale", QD_F32, 2, { 2, 1 }, p2 }, { "w.min", QD_F32, 2, { 2, 1 }, mins } };
	struct tdef q41_zp[2] = { { "w.scale", QD_F32, 2, { 2, 1 }, p2 }, { "w.zero_point", QD_I32, 2, { 2, 1 }, zp } };
	struct tdef q41_bigmin[2] = { { "w.scale", QD_F32, 2, { 2, 1 }, p2 }, { "w.min", QD_F32, 2, { 2, 1 }, huge } };
	struct tdef q80_neg = { "w.scale", QD_F32, 2, { 2, 1 }, neg };
	struct tdef q40_neg = { "w.scale", QD_F32, 2, { 2, 1 }, neg };
	struct tdef q40_huge = { "w.scale", QD_F32, 2, { 2, 1 }, huge };
	struct tdef q40_min[2] = { { "w.scale", QD_F32, 2, { 2, 1 }, neg }, { "w.min", QD_F32, 2, { 2, 1 }, mins } };
	struct tdef nv_tiny[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, e4 }, { "w.global_scale", QD_F32, 0, { 0, 0 }, &tiny } };

	expect("nvfp4_ok", nv, nv_ok, 2, NULL);
	expect("nvfp4_scale_not_e4m3", nv, nv_bad, 2, "E4M3");
	expect("nvfp4_global_zero", nv, nv_g0, 2, "global scale must be finite and > 0");
	expect("nvfp4_global_shape", nv, nv_g1, 2, "shape [1]");
	expect("nvfp4_no_global", nv, nv_ok, 1, "without a w.global_scale");
	expect("nvfp4_effective_overflow", nv, nv_tiny, 2, "scale / global_scale");
	expect("nvfp4_group_32", BSCHEME("nvfp4", 32, "true"), nv_ok, 2, "groups of 16");
	expect("nvfp4_asymmetric", BSCHEME("nvfp4", 16, "false"), nv_ok, 2, "nvfp4 is symmetric");
	expect("mxfp4_ok", mx, &mx_ok, 1, NULL);
	expect("mxfp4_not_power_of_two", mx, &mx_bad, 1, "power of two");
	expect("mxfp4_global", mx, mx_gs, 2, "only nvfp4");
	expect("q4_1_ok", q41, q41_ok, 2, NULL);
	expect("q4_1_no_min", q41, q41_ok, 1, "without a w.min");
	expect("q4_1_zero_point", q41, q41_zp, 2, "no zero point");
	expect("q4_1_min_overflows_f16", q41, q41_bigmin, 2, "half precision");
	expect("q4_1_symmetric", BSCHEME("q4_1", 32, "true"), q41_ok, 2, "is not symmetric");
	expect("q8_0_negative_scale", q80, &q80_neg, 1, ">= 0");
	expect("q4_0_negative_scale_ok", q40, &q40_neg, 1, NULL);	/* ggml's d = max / -8 */
	expect("q4_0_scale_overflows_f16", q40, &q40_huge, 1, "half precision");
	expect("q4_0_min", q40, q40_min, 2, "only q4_1 and q5_1");
	expect("q4_0_ragged_rows", "{\"format\":\"q4_0\",\"granularity\":\"group\",\"group_size\":32,"
	    "\"symmetric\":true,\"shape\":[2,48]}", &q40_neg, 1, "multiple of 32");
}

/* ---- the bit budget weighted by importance ---- */

/* Tensor a has larger weights (so a larger squared error) than b, but the
 * inputs of b are 100x stronger on half of its channels.  The budget
 * affords one q8_0 upgrade: unweighted it goes to a, weighted to b. */
TEST(budget_weighted_by_importance)
{
	enum { R = 32, C = 128, K = 2 };
	static const char *const names[2] = { "a.weight", "b.weight" };
	float *x[2], *xq = malloc(R * C * sizeof *xq), imp[2][C];
	struct qscheme cand[K] = { { QF_Q4_0, 1, QG_GROUP, 0, 32, { 0, 0 } },
		{ QF_Q8_0, 1, QG_GROUP, 0, 32, { 0, 0 } } };
	double bits[2 * K], err[2 * K], werr[2 * K], nelem[2] = { R * C, R * C }, budget = 6.5;
	int plain[2], weighted[2];
	struct qerr e;

	for (int t = 0; t < 2; t++) {
		x[t] = malloc(R * C * sizeof *x[t]);
		fill(x[t], R * C, t == 0 ? 0.03f : 0.02f);
		for (int j = 0; j < C; j++)
			imp[t][j] = t == 1 && j < C / 2 ? 100.0f : 1.0f;
	}
	for (int t = 0; t < 2; t++)
		for (int k = 0; k < K; k++) {
			struct qparams qp = { 0 };
			uint64_t shape[2] = { R, C };
			struct qp_entry *w = qparams_add(&qp, names[t], &cand[k], 2, shape, &e);
			struct calib_opts o;

			calib_defaults(&o);
			o.method = CALIB_MSE;
			CHECK(w && qparams_choose(w, x[t], &o, 1, &e) == 0);
			qparams_fakequant(w, x[t], xq, 1);
			bits[t * K + k] = qscheme_bits(&cand[k], &w->g);
			err[t * K + k] = importance_sse(x[t], xq, R, C, NULL);
			werr[t * K + k] = importance_sse(x[t], xq, R, C, imp[t]);
			qparams_free(&qp);
		}
	CHECK(fabs(bits[0] - 4.5) < 1e-9 && fabs(bits[1] - 8.5) < 1e-9);
	CHECK(budget_choose(2, K, bits, err, nelem, budget, plain, &e) == 0);
	CHECK(budget_choose(2, K, bits, werr, nelem, budget, weighted, &e) == 0);
	/* one upgrade fits (4.5 + 8.5) / 2 = 6.5 */
	CHECKF(plain[0] + plain[1] == 1 && weighted[0] + weighted[1] == 1, "plans %d%d %d%d",
	    plain[0], plain[1], weighted[0], weighted[1]);
	CHECKF(plain[0] == 1, "unweighted, the larger error did not get q8_0");
	CHECKF(weighted[1] == 1, "weighted, the important tensor did not get q8_0");
	printf("# unweighted plan: a %s, b %s; weighted: a %s, b %s (unweighted errors a %.3g b %.3g)\n",
	    plain[0] ? "q8_0" : "q4_0", plain[1] ? "q8_0" : "q4_0", weighted[0] ? "q8_0" : "q4_0",
	    weighted[1] ? "q8_0" : "q4_0", err[0] - err[1], err[2] - err[3]);
	free(x[0]), free(x[1]), free(xq);
}

/* ---- layouts without a config ---- */

struct mem_tensor {
	const char *name;
	enum qdtype dt;
	int ndim;
	uint64_t shape[4];
	const void *data;
};

struct mem_ckpt {
	const struct mem_tensor *t;
	size_t n;
};

static int
mem_find(void *ctx, const char *name, struct ql_tensor *t)
{
	const struct mem_ckpt *c = ctx;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->t[i].name, name) == 0) {
			t->dtype = c->t[i].dt;
			t->ndim = c->t[i].ndim;
			memcpy(t->shape, c->t[i].shape, sizeof c->t[i].shape);
			t->data = c->t[i].data;
			return 0;
		}
	return -1;
}

static cJSON *
detect(const struct mem_tensor *t, size_t n, struct qerr *e)
{
	const char *names[16];
	struct mem_ckpt c = { t, n };

	for (size_t i = 0; i < n; i++)
		names[i] = t[i].name;
	return ql_detect(names, n, mem_find, &c, e);
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

TEST(detect_layouts)
{
	static const unsigned char zero[4096];
	static const int64_t wshape[2] = { 64, 128 };
	struct qerr e;
	cJSON *c;
	struct ql_config cfg;
	/* gptq 4-bit, in 128 out 64, group 32: qweight [16, 64], g_idx [128] */
	struct mem_tensor gptq[4] = { { "m.qweight", QD_I32, 2, { 16, 64 }, zero },
		{ "m.qzeros", QD_I32, 2, { 4, 8 }, zero }, { "m.scales", QD_F16, 2, { 4, 64 }, zero },
		{ "m.g_idx", QD_I32, 1, { 128 }, zero } };
	/* awq: qweight [in 128, out/8 8], scales [4, 64] */
	struct mem_tensor awq[3] = { { "m.qweight", QD_I32, 2, { 128, 8 }, zero },
		{ "m.qzeros", QD_I32, 2, { 4, 8 }, zero }, { "m.scales", QD_F16, 2, { 4, 64 }, zero } };
	struct mem_tensor ct[3] = { { "m.weight_packed", QD_I32, 2, { 64, 16 }, zero },
		{ "m.weight_scale", QD_BF16, 2, { 64, 4 }, zero }, { "m.weight_shape", QD_I64, 1, { 2 }, wshape } };
	struct mem_tensor nv[3] = { { "m.weight_packed", QD_U8, 2, { 64, 64 }, zero },
		{ "m.weight_scale", QD_F8_E4M3, 2, { 64, 8 }, zero }, { "m.weight_global_scale", QD_F32, 1, { 1 }, zero } };
	struct mem_tensor mixed[5] = { { "a.qweight", QD_I32, 2, { 128, 8 }, zero },
		{ "a.qzeros", QD_I32, 2, { 4, 8 }, zero }, { "a.scales", QD_F16, 2, { 4, 64 }, zero },
		{ "b.weight", QD_F8_E4M3, 2, { 64, 128 }, zero }, { "b.weight_scale", QD_F32, 0, { 0 }, zero } };

	c = detect(gptq, 4, &e);
	CHECKF(c && strcmp(jstr(c, "quant_method"), "gptq") == 0 &&
	    cJSON_GetObjectItem(c, "bits")->valueint == 4 && cJSON_GetObjectItem(c, "group_size")->valueint == 32,
	    "gptq: %s", c ? "wrong config" : e.msg);
	CHECK(c && ql_config_parse(c, &cfg, &e) == 0 && cfg.layout == QL_GPTQ);
	cJSON_Delete(c);
	c = detect(gptq, 3, &e);	/* without g_idx: 4 or 8 bits? */
	CHECKF(c == NULL && strstr(e.msg, "cannot be told apart"), "gptq without g_idx: %s",
	    c ? "accepted" : e.msg);
	cJSON_Delete(c);
	c = detect(awq, 3, &e);
	CHECK(c && strcmp(jstr(c, "quant_method"), "awq") == 0 && cJSON_GetObjectItem(c, "group_size")->valueint == 32);
	cJSON_Delete(c);
	c = detect(ct, 3, &e);
	CHECK(c && ql_config_parse(c, &cfg, &e) == 0 && cfg.layout == QL_CT && cfg.s.fmt == QF_INT4 &&
	    cfg.s.gran == QG_GROUP && cfg.s.group == 32 && cfg.s.sym);
	cJSON_Delete(c);
	c = detect(nv, 3, &e);
	CHECK(c && ql_config_parse(c, &cfg, &e) == 0 && cfg.s.fmt == QF_NVFP4);
	cJSON_Delete(c);
	c = detect(mixed, 5, &e);
	CHECKF(c == NULL && strstr(e.msg, "ambiguous"), "mixed: %s", c ? "accepted" : e.msg);
	cJSON_Delete(c);
	c = detect(mixed + 3, 1, &e);	/* an F8 weight without a scale is nothing */
	CHECK(c == NULL && strstr(e.msg, "no quantized weight"));
	cJSON_Delete(c);
}

/* gpt-oss by hand: one expert, out 2, in 32: row 0 codes 0..15 twice at
 * scale byte 127 (1), row 1 all code 7 (6) at byte 126 (0.5); transformers'
 * [E, in, out] puts out last. */
TEST(gptoss_by_hand)
{
	unsigned char blocks[2 * 16], scales[2] = { 127, 126 };
	struct mem_tensor t[2] = { { "x_blocks", QD_U8, 4, { 1, 2, 1, 16 }, blocks },
		{ "x_scales", QD_U8, 3, { 1, 2, 1 }, scales } };
	struct mem_ckpt c = { t, 2 };
	uint64_t shape[3];
	float *x;
	struct qerr e;
	static const float v[16] = { 0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6 };
	int bad = 0;

	for (int i = 0; i < 16; i++)
		blocks[i] = (unsigned char)((2 * i % 16) | ((2 * i + 1) % 16) << 4), blocks[16 + i] = 0x77;
	CHECKF(ql_gptoss_unpack("x", mem_find, &c, &x, shape, 0, &e) == 0, "%s", e.msg);
	CHECK(shape[0] == 1 && shape[1] == 32 && shape[2] == 2);
	for (int k = 0; k < 32; k++)
		bad += x[k * 2 + 0] != v[k % 16] || x[k * 2 + 1] != 3.0f;
	CHECKF(bad == 0, "%d values differ", bad);
	free(x);
	scales[1] = 0xff;	/* NaN */
	CHECK(ql_gptoss_unpack("x", mem_find, &c, &x, shape, 0, &e) < 0 && strstr(e.msg, "NaN"));
	t[1].shape[1] = 3;
	CHECK(ql_gptoss_unpack("x", mem_find, &c, &x, shape, 0, &e) < 0 && strstr(e.msg, "as its blocks"));
}

int
main(void)
{
	t_seed(777u);
	RUN(nvfp4_by_hand);
	RUN(mxfp4_by_hand);
	RUN(e2m1_fast_equals_reference);
	RUN(q4_0_q8_0_by_hand);
	RUN(ggml_minmax_is_ggml_reference);
	RUN(mxfp4_minmax_is_ggml_exponent);
	RUN(mse_never_worse_per_group);
	RUN(mse_beats_minmax_generated);
	RUN(mse_beats_minmax_tiny_llama);
	RUN(mse_beats_minmax_tiny_qwen3);
	RUN(fp4_pack_unpack_is_fake_quant);
	RUN(qparams_block_round_trip);
	RUN(qparams_block_malformed);
	RUN(budget_weighted_by_importance);
	RUN(detect_layouts);
	RUN(gptoss_by_hand);
	return t_done();
}
