/* qcalib/qpack's library: FP8 codecs, linear quantization, scale choice,
 * the qparams file, and the packed layouts.  Packed words in the golden
 * tests are written out by hand from the spec's bit orders, not computed by
 * the packing code.  QU_WRITE_CORPUS=DIR writes the seed corpora of
 * tests/fuzz/corpus/fuzz_qparams and fuzz_qlconfig. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "calib.h"
#include "gptq.h"
#include "harness.h"
#include "layout.h"
#include "linq.h"
#include "qparams.h"
#include "qpfiles.h"
#include "safetensors.h"
#include "wsel.h"

/* ---- FP8 against a model written from the format's definition ---- */

static double
fp8_model(int code, int e4m3)
{
	int mb = e4m3 ? 3 : 2, eb = 7 - mb, bias = e4m3 ? 7 : 15;
	int ex = (code >> mb) & ((1 << eb) - 1), m = code & ((1 << mb) - 1);
	double v;

	if (e4m3 && (code & 0x7f) == 0x7f)
		return NAN;
	if (!e4m3 && ex == 31)
		return m ? NAN : (code & 0x80) ? -INFINITY : INFINITY;
	v = ex == 0 ? m * pow(2, 1 - bias - mb) : (1 + m / (double)(1 << mb)) * pow(2, ex - bias);
	return code & 0x80 ? -v : v;
}

TEST(fp8_decode_matches_definition)
{
	for (int e4 = 0; e4 < 2; e4++)
		for (int c = 0; c < 256; c++) {
			double want = fp8_model(c, e4);
			float got = linq_fp8_decode((uint8_t)c, e4);

			if (isnan(want))
				CHECKF(isnan(got), "e4m3=%d code %02x", e4, c);
			else
				CHECKF((double)got == want, "e4m3=%d code %02x: %g != %g", e4, c, got, want);
		}
	CHECK(linq_fp8_decode(0x7e, 1) == 448.0f);
	CHECK(linq_fp8_decode(0x7b, 0) == 57344.0f);
}

/* Every finite code round-trips; midpoints between neighbours go to the
 * even code; beyond the largest finite value saturates. */
TEST(fp8_encode_rounds_to_even_and_saturates)
{
	for (int e4 = 0; e4 < 2; e4++) {
		int maxc = e4 ? 0x7e : 0x7b;

		for (int c = 0; c <= maxc; c++) {
			float v = linq_fp8_decode((uint8_t)c, e4);

			CHECKF(linq_fp8_encode(v, e4) == c, "e4m3=%d code %02x", e4, c);
			CHECKF(linq_fp8_encode(-v, e4) == (c | 0x80) || (c == 0 && linq_fp8_encode(-v, e4) == 0x80),
			    "e4m3=%d code -%02x", e4, c);
			if (c < maxc) {
				float mid = (float)(((double)v + linq_fp8_decode((uint8_t)(c + 1), e4)) / 2);
				int want = (c & 1) ? c + 1 : c;

				CHECKF(linq_fp8_encode(mid, e4) == want, "e4m3=%d mid %02x/%02x", e4, c, c + 1);
			}
		}
		CHECK(linq_fp8_encode(1e30f, e4) == maxc);
		CHECK(linq_fp8_encode(-1e30f, e4) == (maxc | 0x80));
		CHECK(linq_fp8_encode(INFINITY, e4) == maxc);
	}
	CHECK(linq_fp8_encode(449.0f, 1) == 0x7e);
	CHECK(linq_fp8_encode(0x1p-10f, 1) == 0x00);	/* half the least subnormal: to even (0) */
	CHECK(linq_fp8_encode(0x1p-9f * 1.5f, 1) == 0x02);	/* 1.5 quanta: to even (2) */
}

/* ---- linear quantization ---- */

TEST(linq_codes_by_hand)
{
	/* int4 symmetric, scale 0.5: x/s = -9, -3.5, -0.5, 0.25, 2.5, 3.5, 7.4, 20 */
	float x[8] = { -4.5f, -1.75f, -0.25f, 0.125f, 1.25f, 1.75f, 3.7f, 10 };
	int32_t want_i4[8] = { -8, -4, 0, 0, 2, 4, 7, 7 };	/* half to even, clamped */
	/* uint8 asymmetric, scale 0.25, zero point 10 */
	int32_t want_u8[8] = { 0, 3, 9, 10, 15, 17, 25, 50 };

	for (int i = 0; i < 8; i++) {
		CHECKF(linq_quant1(QF_INT4, x[i], 0.5f, 0) == want_i4[i], "i=%d got %d", i,
		    linq_quant1(QF_INT4, x[i], 0.5f, 0));
		CHECKF(linq_quant1(QF_UINT8, x[i], 0.25f, 10) == want_u8[i], "i=%d got %d", i,
		    linq_quant1(QF_UINT8, x[i], 0.25f, 10));
	}
	CHECK(linq_dequant1(QF_INT4, -8, 0.5f, 0) == -4.0f);
	CHECK(linq_dequant1(QF_UINT8, 0, 0.25f, 10) == -2.5f);
	CHECK(linq_quant1(QF_INT8, NAN, 1, 3) == 3);
	CHECK(linq_quant1(QF_INT8, 1e30f, 1e-30f, 0) == 127);
}

/* The fast integer path gives the reference's codes: ties, huge values,
 * infinities, NaN, subnormals, every integer format. */
TEST(linq_fast_path_equals_reference)
{
	static const enum qfmt fmts[] = { QF_INT8, QF_UINT8, QF_INT4, QF_UINT4 };
	static const float special[] = { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 7.5f, -8.5f, 127.5f,
		-128.5f, 4194303.5f, 4194304.5f, -4194304.5f, 8388609.0f, 1e30f, -1e30f, INFINITY,
		-INFINITY, NAN, 1e-45f, -1e-45f, 0.0f, -0.0f };
	static const float scales[] = { 1.0f, 0.5f, 0.001f, 3.0f, 1e-30f, 1e30f };
	long bad = 0, n = 0;

	for (size_t f = 0; f < 4; f++) {
		int32_t qmin, qmax;

		linq_qrange(fmts[f], &qmin, &qmax);
		for (int32_t z = qmin; z <= qmax; z += (qmax - qmin) / 3) {
			for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
				for (size_t i = 0; i < sizeof special / sizeof special[0]; i++, n++)
					bad += linq_qint(special[i] * scales[k], scales[k], z, qmin, qmax) !=
					    linq_quant1(fmts[f], special[i] * scales[k], scales[k], z);
				for (int i = 0; i < 20000; i++, n++) {
					float x = t_frand() * 300.0f * scales[k];

					bad += linq_qint(x, scales[k], z, qmin, qmax) !=
					    linq_quant1(fmts[f], x, scales[k], z);
				}
			}
		}
	}
	CHECKF(bad == 0, "%ld of %ld codes differ", bad, n);
}

TEST(linq_grid_shapes)
{
	struct qscheme s = { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	uint64_t shp[2];

	CHECK(linq_grid(&s, 10, 100, &g, &e) == 0 && g.grows == 10 && g.gcols == 4);
	CHECK(linq_scale_shape(&s, &g, shp) == 2 && shp[0] == 10 && shp[1] == 4);
	s.gran = QG_BLOCK, s.block[0] = 4, s.block[1] = 64;
	CHECK(linq_grid(&s, 10, 100, &g, &e) == 0 && g.grows == 3 && g.gcols == 2);
	s.gran = QG_CHANNEL, s.axis = 1;
	CHECK(linq_grid(&s, 10, 100, &g, &e) == 0 && g.grows == 1 && g.gcols == 100);
	CHECK(linq_scale_shape(&s, &g, shp) == 1 && shp[0] == 100);
	s.gran = QG_TENSOR;
	CHECK(linq_grid(&s, 10, 100, &g, &e) == 0 && linq_ncells(&g) == 1 &&
	    linq_scale_shape(&s, &g, shp) == 0);
	s.gran = QG_GROUP, s.group = 0;
	CHECK(linq_grid(&s, 10, 100, &g, &e) < 0);
}

/* ---- calibration ---- */

TEST(calib_minmax_by_hand)
{
	float x[4] = { -1.0f, 0.5f, 2.54f, 0.0f }, sc;
	int32_t z;

	calib_from_range(QF_INT8, 1, -1.0f, 2.54f, &sc, &z);
	CHECK(sc == 2.54f / 127 && z == 0);
	calib_from_range(QF_UINT8, 0, -1.0f, 2.54f, &sc, &z);
	CHECK(sc == 3.54f / 255 && z == 72);	/* round(0 - (-1)/s) = round(72.03) */
	calib_from_range(QF_INT4, 0, -1.0f, 2.54f, &sc, &z);
	CHECK(sc == 3.54f / 15 && z == -4);	/* round(-8 + 4.237) = -4 */
	calib_from_range(QF_FP8_E4M3, 1, -1.0f, 2.54f, &sc, &z);
	CHECK(sc == 2.54f / 448);
	calib_from_range(QF_INT4, 1, 0, 0, &sc, &z);
	CHECK(sc == 1.0f);
	(void)x;
}

static double
total_sqnr(const struct qscheme *s, const struct qgrid *g, const float *x, enum calib_method m)
{
	struct calib_opts o;
	float *sc = malloc((size_t)linq_ncells(g) * 4), *xq = malloc((size_t)(g->rows * g->cols) * 4);
	int32_t *zp = malloc((size_t)linq_ncells(g) * 4);
	struct calib_err r;
	struct qerr e;

	calib_defaults(&o);
	o.method = m;
	if (calib_choose(s, g, x, &o, sc, zp, 2, &e) < 0)
		return NAN;
	linq_fakequant(s, g, x, sc, s->sym ? NULL : zp, xq, 2);
	calib_measure(x, xq, (size_t)(g->rows * g->cols), &r);
	free(sc);
	free(zp);
	free(xq);
	return calib_sqnr_db(&r);
}

/* mse keeps factor 1 as a candidate, so no cell can get worse */
TEST(calib_mse_never_worse_than_minmax)
{
	static const enum qfmt fmts[] = { QF_INT8, QF_UINT8, QF_INT4, QF_UINT4, QF_FP8_E4M3, QF_FP8_E5M2 };
	float *x = malloc(64 * 256 * sizeof *x);

	for (int i = 0; i < 64 * 256; i++)
		x[i] = t_gauss() * (i % 97 == 0 ? 8 : 1);
	for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
		for (int sym = 0; sym < 2; sym++) {
			struct qscheme s = { fmts[f], sym, QG_GROUP, 0, 32, { 0, 0 } };
			struct qgrid g;
			struct qerr e;

			if (linq_is_float(fmts[f]) && !sym)
				continue;
			linq_grid(&s, 64, 256, &g, &e);
			double a = total_sqnr(&s, &g, x, CALIB_MINMAX), b = total_sqnr(&s, &g, x, CALIB_MSE);

			CHECKF(b >= a, "%s sym=%d: mse %.3f < minmax %.3f", qfmt_table[fmts[f]].name, sym, b, a);
		}
	free(x);
}

TEST(calib_percentile_clips)
{
	float x[1000], sc;
	int32_t z;
	struct qscheme s = { QF_INT8, 1, QG_TENSOR, 0, 0, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	struct calib_opts o;

	for (int i = 0; i < 1000; i++)
		x[i] = (float)(i - 500) / 500.0f;	/* |x| up to 1 */
	x[0] = 100;				/* one outlier */
	linq_grid(&s, 1, 1000, &g, &e);
	calib_defaults(&o);
	o.method = CALIB_PERCENTILE;
	o.percentile = 99.0;
	CHECK(calib_choose(&s, &g, x, &o, &sc, &z, 1, &e) == 0);
	CHECKF(sc > 0.98f / 127 && sc < 1.0f / 127, "scale %g", sc);
	x[5] = INFINITY;
	CHECK(calib_choose(&s, &g, x, &o, &sc, &z, 1, &e) < 0 && strstr(e.msg, "non-finite"));
}

/* ---- the fixtures: mse beats minmax in SQNR on real weights ---- */

struct fmtcase {
	const char *label;
	struct qscheme s;
};

static const struct fmtcase fmtcases[] = {
	{ "int8-channel", { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } } },
	{ "uint8-channel-asym", { QF_UINT8, 0, QG_CHANNEL, 0, 0, { 0, 0 } } },
	{ "int4-g32", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } } },
	{ "uint4-g32-asym", { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } } },
	{ "int4-channel", { QF_INT4, 1, QG_CHANNEL, 0, 0, { 0, 0 } } },
	{ "fp8_e4m3-tensor", { QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } } },
	{ "fp8_e5m2-channel", { QF_FP8_E5M2, 1, QG_CHANNEL, 0, 0, { 0, 0 } } },
};

/* Accumulates error over every Linear weight of a checkpoint. */
static int
mse_vs_minmax(const char *path, const struct qscheme *s, double *mm, double *ms)
{
	struct st_file f;
	struct qerr e;
	struct calib_err tm = { 0 }, ts = { 0 };
	int n = 0;

	if (st_open(&f, path, &e) < 0)
		return -1;
	for (size_t i = 0; i < f.n_tensors; i++) {
		const struct st_tensor *t = &f.tensors[i];
		struct qgrid g;
		float *x, *xq, *sc;
		int32_t *zp;
		struct calib_opts o;
		struct calib_err r;

		if (t->ndim != 2 || strstr(t->name, "embed") || strstr(t->name, "lm_head") ||
		    (t->dtype != QD_F32 && t->dtype != QD_BF16 && t->dtype != QD_F16))
			continue;
		if (s->gran == QG_GROUP && t->shape[1] % (uint64_t)s->group)
			continue;
		linq_grid(s, (int64_t)t->shape[0], (int64_t)t->shape[1], &g, &e);
		x = malloc(t->nelem * 4);
		xq = malloc(t->nelem * 4);
		sc = malloc((size_t)linq_ncells(&g) * 4);
		zp = malloc((size_t)linq_ncells(&g) * 4);
		qdtype_to_f32(t->dtype, t->data, x, t->nelem);
		calib_defaults(&o);
		for (int m = 0; m < 2; m++) {
			o.method = m ? CALIB_MSE : CALIB_MINMAX;
			calib_choose(s, &g, x, &o, sc, zp, 2, &e);
			linq_fakequant(s, &g, x, sc, s->sym ? NULL : zp, xq, 2);
			calib_measure(x, xq, t->nelem, &r);
			calib_err_add(m ? &ts : &tm, &r);
		}
		n++;
		free(x);
		free(xq);
		free(sc);
		free(zp);
	}
	st_close(&f);
	*mm = calib_sqnr_db(&tm);
	*ms = calib_sqnr_db(&ts);
	return n;
}

/* 4-bit: by at least 0.1 dB; 8-bit: strictly; fp8 (relative error, range
 * shrinking buys little): never worse. */
static int
beats(const struct qscheme *s, double mm, double ms)
{
	if (linq_is_float(s->fmt))
		return ms >= mm;
	return linq_bits(s->fmt) == 4 ? ms > mm + 0.1 : ms > mm;
}

static void
mse_beats_minmax_on(const char *rel)
{
	const char *path = t_fixture(rel);
	int any = 0;

	if (path == NULL) {
		t_skip("fixture %s absent", rel);
		return;
	}
	for (size_t c = 0; c < sizeof fmtcases / sizeof fmtcases[0]; c++) {
		double mm, ms;
		int n = mse_vs_minmax(path, &fmtcases[c].s, &mm, &ms);

		if (n <= 0)
			continue;
		any = 1;
		printf("# %s %-20s minmax %6.2f dB  mse %6.2f dB  margin %+5.2f dB (%d tensors)\n", rel,
		    fmtcases[c].label, mm, ms, ms - mm, n);
		CHECKF(beats(&fmtcases[c].s, mm, ms), "%s %s: mse %.3f vs minmax %.3f", rel,
		    fmtcases[c].label, ms, mm);
	}
	CHECKF(any, "%s: no weight fits", rel);
}

TEST(mse_beats_minmax_tiny_llama) { mse_beats_minmax_on("tiny-llama-bf16/model.safetensors"); }
TEST(mse_beats_minmax_tiny_qwen3) { mse_beats_minmax_on("tiny-qwen3/model.safetensors"); }
TEST(mse_beats_minmax_hf_tiny_llama) { mse_beats_minmax_on("hf-tiny/llama/model.safetensors"); }
TEST(mse_beats_minmax_hf_tiny_gemma) { mse_beats_minmax_on("hf-tiny/gemma/model.safetensors"); }

/* A generated model: heavy-tailed rows as real LLM weights have. */
static const char *
generated_model(void)
{
	static char path[512];
	struct st_writer *w;
	struct qerr e;
	FILE *f;
	static const char *const names[] = { "model.layers.0.mlp.up_proj.weight",
		"model.layers.0.mlp.down_proj.weight", "model.layers.0.self_attn.q_proj.weight" };
	uint64_t shape[2] = { 64, 256 };
	float *x = malloc(64 * 256 * sizeof *x);

	if (path[0])
		return path;
	snprintf(path, sizeof path, "%s/gen.safetensors", t_tmpdir());
	f = fopen(path, "wb");
	w = st_writer_new();
	for (int i = 0; i < 3; i++)
		st_writer_add(w, names[i], QD_F32, 2, shape, &e);
	st_writer_header(w, f, &e);
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 64 * 256; k++) {
			float v = t_gauss() * 0.02f;

			if (k % 61 == 0)
				v *= 6;		/* outliers */
			x[k] = v;
		}
		st_writer_data(w, f, x, sizeof(float) * 64 * 256, &e);
	}
	st_writer_finish(w, &e);
	st_writer_free(w);
	fclose(f);
	free(x);
	return path;
}

TEST(mse_beats_minmax_generated)
{
	const char *p = generated_model();

	for (size_t c = 0; c < sizeof fmtcases / sizeof fmtcases[0]; c++) {
		double mm, ms;
		int n = mse_vs_minmax(p, &fmtcases[c].s, &mm, &ms);

		CHECK(n == 3);
		printf("# generated %-20s minmax %6.2f dB  mse %6.2f dB  margin %+5.2f dB\n",
		    fmtcases[c].label, mm, ms, ms - mm);
		CHECKF(beats(&fmtcases[c].s, mm, ms), "%s: %.3f vs %.3f", fmtcases[c].label, ms, mm);
	}
}

/* ---- qparams ---- */

TEST(qparams_round_trip)
{
	struct qparams qp = { 0 }, back;
	struct qscheme s1 = { QF_INT4, 1, QG_GROUP, 0, 4, { 0, 0 } };
	struct qscheme s2 = { QF_UINT8, 0, QG_BLOCK, 0, 0, { 2, 3 } };
	uint64_t sh1[2] = { 2, 8 }, sh2[3] = { 2, 2, 6 };
	struct qerr e;
	struct qp_entry *w;
	unsigned char *buf;
	size_t len;
	const struct qp_entry *r;

	w = qparams_add(&qp, "a.weight", &s1, 2, sh1, &e);
	CHECK(w && linq_ncells(&w->g) == 4);
	for (int i = 0; i < 4; i++)
		w->scale[i] = 0.5f + (float)i;
	strcpy(w->method, "mse");
	w->sqnr_db = 21.5;
	w = qparams_add(&qp, "b.weight", &s2, 3, sh2, &e);
	CHECK(w && w->g.rows == 4 && linq_ncells(&w->g) == 4);
	for (int i = 0; i < 4; i++)
		w->scale[i] = 1.0f / (float)(i + 1), w->zp[i] = 100 + i;
	CHECK(qparams_add(&qp, "format", &s1, 2, sh1, &e) == NULL);	/* reserved */
	CHECK(qparams_add(&qp, "a.weight", &s1, 2, sh1, &e) == NULL);	/* twice */
	buf = mem_qparams(&qp, &len);
	CHECK(buf != NULL);
	CHECKF(qparams_parse(&back, buf, len, "mem", &e) == 0, "%s", e.msg);
	CHECK(back.n_w == 2);
	r = qparams_find(&back, "a.weight");
	CHECK(r && r->s.fmt == QF_INT4 && r->s.sym && r->s.gran == QG_GROUP && r->s.group == 4 &&
	    r->scale[3] == 3.5f && r->zp == NULL && strcmp(r->method, "mse") == 0 && r->sqnr_db == 21.5);
	r = qparams_find(&back, "b.weight");
	CHECK(r && r->s.fmt == QF_UINT8 && !r->s.sym && r->s.block[1] == 3 && r->zp && r->zp[3] == 103 &&
	    r->ndim == 3 && r->shape[2] == 6 && r->scale[1] == 0.5f);
	qparams_free(&back);
	free(buf);
	qparams_free(&qp);
}

static const char *corpus_dir;

static void
expect_bad(const char *label, const char *const *meta, int nmeta, const struct tdef *t, int nt,
    const char *want)
{
	size_t len;
	unsigned char *buf = mem_file(meta, nmeta, t, nt, &len);
	struct qparams qp;
	struct qerr e;
	int rc = qparams_parse(&qp, buf, len, "bad.qp", &e);

	CHECKF(rc < 0, "%s: accepted", label);
	if (rc < 0)
		CHECKF(strstr(e.msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", label, e.msg, want);
	else
		qparams_free(&qp);
	if (corpus_dir) {
		char p[1024];

		snprintf(p, sizeof p, "%s/%s.qp", corpus_dir, label);
		t_write_file(p, buf, len);
	}
	free(buf);
}

#define SCHEME(fmt, extra) "{\"format\":\"" fmt "\",\"granularity\":\"group\",\"group_size\":4," \
	"\"symmetric\":true,\"shape\":[2,8]" extra "}"

TEST(qparams_malformed)
{
	static const float sc[4] = { 1, 2, 3, 4 }, neg[4] = { 1, -2, 3, 4 };
	static const int32_t zbad[4] = { 0, 0, 300, 0 };
	const char *good[] = { "format", "qparams", "version", "1", "w", SCHEME("int4", "") };
	const char *wrongfmt[] = { "format", "pt", "version", "1", "w", SCHEME("int4", "") };
	const char *nover[] = { "format", "qparams", "w", SCHEME("int4", "") };
	const char *unk[] = { "format", "qparams", "version", "1", "w", SCHEME("int4", ",\"colour\":1") };
	const char *badfmt[] = { "format", "qparams", "version", "1", "w", SCHEME("int5", "") };
	const char *notjson[] = { "format", "qparams", "version", "1", "w", "{\"format\":" };
	const char *asym[] = { "format", "qparams", "version", "1", "w",
		"{\"format\":\"uint8\",\"granularity\":\"group\",\"group_size\":4,\"symmetric\":false,\"shape\":[2,8]}" };
	const char *fp8asym[] = { "format", "qparams", "version", "1", "w",
		"{\"format\":\"fp8_e4m3\",\"granularity\":\"tensor\",\"symmetric\":false,\"shape\":[2,8]}" };
	const char *badgroup[] = { "format", "qparams", "version", "1", "w",
		"{\"format\":\"int4\",\"granularity\":\"group\",\"group_size\":-4,\"symmetric\":true,\"shape\":[2,8]}" };
	struct tdef ok = { "w.scale", QD_F32, 2, { 2, 2 }, sc };
	struct tdef shape = { "w.scale", QD_F32, 2, { 2, 4 }, sc };	/* wrong shape (8 floats: reads sc past? no: 4x2) */
	struct tdef dt = { "w.scale", QD_I32, 2, { 2, 2 }, sc };
	struct tdef negs = { "w.scale", QD_F32, 2, { 2, 2 }, neg };
	struct tdef orphan[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, sc }, { "v.scale", QD_F32, 1, { 1, 0 }, sc } };
	struct tdef zp[2] = { { "w.scale", QD_F32, 2, { 2, 2 }, sc }, { "w.zero_point", QD_I32, 2, { 2, 2 }, zbad } };
	struct tdef odd = { "w.bias", QD_F32, 1, { 4, 0 }, sc };
	struct tdef range = { "act.range", QD_F32, 1, { 3, 0 }, sc };
	float big[8] = { 0 };
	struct qparams qp;
	struct qerr e;
	size_t len;
	unsigned char *buf;

	shape.data = big;
	corpus_dir = getenv("QU_WRITE_CORPUS");
	buf = mem_file(good, 3, &ok, 1, &len);
	CHECKF(qparams_parse(&qp, buf, len, "good.qp", &e) == 0, "%s", e.msg);
	qparams_free(&qp);
	if (corpus_dir) {
		char p[1024];

		snprintf(p, sizeof p, "%s/good.qp", corpus_dir);
		t_write_file(p, buf, len);
	}
	free(buf);
	expect_bad("wrong_format", wrongfmt, 3, &ok, 1, "not \"qparams\"");
	expect_bad("no_version", nover, 2, &ok, 1, "version");
	expect_bad("unknown_key", unk, 3, &ok, 1, "unknown key \"colour\"");
	expect_bad("unknown_format", badfmt, 3, &ok, 1, "not a known format");
	expect_bad("scheme_not_json", notjson, 3, &ok, 1, "not a JSON object");
	expect_bad("asym_without_zero_point", asym, 3, &ok, 1, "without a w.zero_point");
	expect_bad("fp8_asymmetric", fp8asym, 3, &ok, 1, "must be symmetric");
	expect_bad("negative_group", badgroup, 3, &ok, 1, "group_size");
	expect_bad("scale_shape", good, 3, &shape, 1, "the scheme needs [2, 2]");
	expect_bad("scale_dtype", good, 3, &dt, 1, "dtype I32, expected F32");
	expect_bad("negative_scale", good, 3, &negs, 1, "finite and > 0");
	expect_bad("orphan_tensor", good, 3, orphan, 2, "no scheme for v");
	expect_bad("zero_point_on_symmetric", good, 3, zp, 2, "symmetric");
	expect_bad("zero_point_range", asym, 3, zp, 2, "outside uint8's range");
	expect_bad("unknown_tensor", good, 3, &odd, 1, "not a qparams tensor");
	expect_bad("scheme_without_scale", good, 3, &range, 1, "range");
	expect_bad("no_scale", good, 3, NULL, 0, "without a w.scale");
}

/* ---- which weights get quantized ---- */

TEST(weight_selection)
{
	struct wsel w = { .min_rank = 2, .max_rank = 2 };

	CHECK(wsel_pick(&w, "model.layers.0.mlp.up_proj.weight", QD_BF16, 2));
	CHECK(wsel_pick(&w, "model.layers.0.mlp.gate_proj.weight", QD_F32, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.mlp.gate.weight", QD_F32, 2));	/* MoE router */
	CHECK(!wsel_pick(&w, "lm_head.weight", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.embed_tokens.weight", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.input_layernorm.weight", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.mlp.up_proj.bias", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.mlp.up_proj.weight", QD_I8, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.mlp.experts.weight", QD_F16, 3));
	wsel_add(w.include, &w.n_include, "lm_head");
	wsel_add(w.exclude, &w.n_exclude, "*.layers.1.*");
	wsel_add(w.exclude, &w.n_exclude, "o_proj");
	CHECK(wsel_pick(&w, "lm_head.weight", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.layers.1.mlp.up_proj.weight", QD_F16, 2));
	CHECK(!wsel_pick(&w, "model.layers.0.self_attn.o_proj.weight", QD_F16, 2));
	CHECK(wsel_pick(&w, "model.layers.0.self_attn.q_proj.weight", QD_F16, 2));
}

/* ---- layouts: golden words by hand ---- */

/* Codes for [8 out, 8 in]: row o, column i. */
static void
codes(int32_t *q, int32_t (*fn)(int o, int i))
{
	for (int o = 0; o < 8; o++)
		for (int i = 0; i < 8; i++)
			q[o * 8 + i] = fn(o, i);
}

static int32_t u_oi(int o, int i) { return (o + i) % 16; }	/* unsigned 0..15 */
static int32_t s_oi(int o, int i) { return (o + i) % 16 - 8; }	/* signed -8..7 */
static int32_t s_o(int o, int i) { (void)i; return o - 8; }

static uint32_t
word(const struct ql_part *p, uint64_t i)
{
	uint32_t v;

	memcpy(&v, p->data + 4 * i, 4);
	return v;
}

static float
f16at(const struct ql_part *p, uint64_t i)
{
	uint16_t h;

	memcpy(&h, p->data + 2 * i, 2);
	return qu_f16_to_f32(h);
}

static const struct ql_part *
find_part(const struct ql_packed *p, const char *suffix)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->part[i].suffix, suffix) == 0)
			return &p->part[i];
	return NULL;
}

TEST(golden_awq)
{
	struct ql_opts o = { QL_AWQ, 0, QD_F16 };
	struct qscheme s = { QF_UINT4, 0, QG_GROUP, 0, 4, { 0, 0 } };	/* 2 groups over in=8 */
	struct qgrid g;
	struct qerr e;
	int32_t q[64], zp[16];
	float sc[16];
	struct ql_packed p;
	const struct ql_part *qw, *qz, *ss;

	codes(q, u_oi);
	for (int i = 0; i < 16; i++)	/* cell (o, gi) = o*2 + gi */
		zp[i] = i % 16, sc[i] = 0.25f * (float)(i + 1);
	linq_grid(&s, 8, 8, &g, &e);
	CHECKF(ql_pack(&o, &s, &g, q, sc, zp, &p, &e) == 0, "%s", e.msg);
	qw = find_part(&p, "qweight");
	qz = find_part(&p, "qzeros");
	ss = find_part(&p, "scales");
	CHECK(qw && qw->shape[0] == 8 && qw->shape[1] == 1 && qw->dtype == QD_I32);
	/* input row 0: columns 0..7 hold 0..7; nibbles carry columns 0,2,4,6,1,3,5,7 */
	CHECKF(word(qw, 0) == 0x75316420u, "%08x", word(qw, 0));
	/* input row 3: column o holds 3+o: nibbles 3,5,7,9,4,6,8,10 */
	CHECKF(word(qw, 3) == 0xA8649753u, "%08x", word(qw, 3));
	/* qzeros group 0: zp(o, 0) = 2o: columns 0,2,4,6,1,3,5,7 -> 0,4,8,12,2,6,10,14 */
	CHECKF(qz && word(qz, 0) == 0xEA62C840u, "%08x", word(qz, 0));
	/* scales [group, out]: (g=1, o=3) is cell 3*2+1 = 7 -> 2.0 */
	CHECK(ss && ss->dtype == QD_F16 && ss->shape[0] == 2 && ss->shape[1] == 8 && f16at(ss, 8 + 3) == 2.0f);
	ql_packed_free(&p);
	/* symmetric int4 goes in as uint4 with zero 8 */
	s.fmt = QF_INT4, s.sym = 1;
	codes(q, s_oi);
	CHECK(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0);
	CHECKF(word(find_part(&p, "qweight"), 0) == 0x75316420u, "%08x", word(find_part(&p, "qweight"), 0));
	CHECKF(word(find_part(&p, "qzeros"), 1) == 0x88888888u, "%08x", word(find_part(&p, "qzeros"), 1));
	ql_packed_free(&p);
}

TEST(golden_gptq)
{
	struct ql_opts o = { QL_GPTQ, 0, QD_F16 };
	struct qscheme s = { QF_INT4, 1, QG_GROUP, 0, 4, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	int32_t q[64], zp[16];
	float sc[16];
	struct ql_packed p;
	const struct ql_part *qw, *qz, *gi;

	codes(q, s_oi);
	for (int i = 0; i < 16; i++)
		sc[i] = 1.0f;
	linq_grid(&s, 8, 8, &g, &e);
	CHECKF(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0, "%s", e.msg);
	qw = find_part(&p, "qweight");
	qz = find_part(&p, "qzeros");
	gi = find_part(&p, "g_idx");
	CHECK(qw && qw->shape[0] == 1 && qw->shape[1] == 8);
	/* column o: input rows 0..7 hold o..o+7 (unsigned), natural order */
	CHECKF(word(qw, 0) == 0x76543210u, "%08x", word(qw, 0));
	CHECKF(word(qw, 2) == 0x98765432u, "%08x", word(qw, 2));
	/* symmetric: z = 8 stored as 7 */
	CHECKF(qz && word(qz, 0) == 0x77777777u && word(qz, 1) == 0x77777777u, "%08x", word(qz, 0));
	CHECK(gi && word(gi, 3) == 0 && word(gi, 4) == 1 && word(gi, 7) == 1);
	ql_packed_free(&p);
	/* asymmetric uint4: zero points 1..8 per row, stored minus one */
	s.fmt = QF_UINT4, s.sym = 0;
	codes(q, u_oi);
	for (int i = 0; i < 16; i++)
		zp[i] = i / 2 + 1;	/* cell (o, gi): z = o + 1 */
	CHECK(ql_pack(&o, &s, &g, q, sc, zp, &p, &e) == 0);
	CHECKF(word(find_part(&p, "qzeros"), 0) == 0x76543210u, "%08x", word(find_part(&p, "qzeros"), 0));
	ql_packed_free(&p);
}

TEST(golden_compressed_tensors)
{
	struct ql_opts o = { QL_CT, 0, QD_BF16 };
	struct qscheme s = { QF_INT4, 0, QG_GROUP, 0, 4, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	int32_t q[64], zp[16];
	float sc[16];
	struct ql_packed p;
	const struct ql_part *wp, *ws, *wz, *wsh;
	int64_t shp[2];
	uint16_t b;

	codes(q, s_oi);
	for (int i = 0; i < 16; i++)
		sc[i] = 0.5f, zp[i] = (i / 2) - 8;	/* zp(o, gi) = o - 8 */
	linq_grid(&s, 8, 8, &g, &e);
	CHECKF(ql_pack(&o, &s, &g, q, sc, zp, &p, &e) == 0, "%s", e.msg);
	wp = find_part(&p, "weight_packed");
	ws = find_part(&p, "weight_scale");
	wz = find_part(&p, "weight_zero_point");
	wsh = find_part(&p, "weight_shape");
	CHECK(wp && wp->shape[0] == 8 && wp->shape[1] == 1);
	/* row o: signed (o+i)%16-8, plus 8: (o+i)%16, natural order along in */
	CHECKF(word(wp, 0) == 0x76543210u, "%08x", word(wp, 0));
	CHECKF(word(wp, 7) == 0xEDCBA987u, "%08x", word(wp, 7));
	/* zero points packed along out: column gi, rows 0..7 hold o-8+8 = o */
	CHECK(wz && wz->shape[0] == 1 && wz->shape[1] == 2);
	CHECKF(word(wz, 0) == 0x76543210u && word(wz, 1) == 0x76543210u, "%08x", word(wz, 0));
	CHECK(ws && ws->dtype == QD_BF16 && ws->shape[0] == 8 && ws->shape[1] == 2);
	memcpy(&b, ws->data, 2);
	CHECK(b == 0x3f00);	/* 0.5 in bf16 */
	memcpy(shp, wsh->data, 16);
	CHECK(wsh->dtype == QD_I64 && shp[0] == 8 && shp[1] == 8);
	ql_packed_free(&p);
	/* int8: 4 per word, offset 128 */
	s.fmt = QF_INT8, s.sym = 1;
	for (int i = 0; i < 64; i++)
		q[i] = i % 8 == 0 ? -128 : i % 8 == 1 ? 127 : i % 8 == 2 ? 0 : -1;
	CHECK(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0);
	/* bytes 0x00, 0xFF, 0x80, 0x7F -> 0x7F80FF00 */
	CHECKF(word(find_part(&p, "weight_packed"), 0) == 0x7F80FF00u, "%08x",
	    word(find_part(&p, "weight_packed"), 0));
	CHECK(find_part(&p, "weight_zero_point") == NULL);
	ql_packed_free(&p);
}

TEST(golden_fp8)
{
	struct ql_opts o = { QL_FP8, 0, QD_BF16 };
	struct qscheme s = { QF_FP8_E4M3, 1, QG_BLOCK, 0, 0, { 4, 4 } };
	struct qgrid g;
	struct qerr e;
	int32_t q[64];
	float sc[4] = { 0.5f, 1.5f, 2.5f, 3.5f }, f;
	struct ql_packed p;
	const struct ql_part *w, *si;

	for (int i = 0; i < 64; i++)
		q[i] = (i * 37) & 0xff;
	linq_grid(&s, 8, 8, &g, &e);
	CHECKF(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0, "%s", e.msg);
	w = find_part(&p, "weight");
	si = find_part(&p, "weight_scale_inv");
	CHECK(w && w->dtype == QD_F8_E4M3 && w->data[5] == (5 * 37 & 0xff));
	CHECK(si && si->dtype == QD_F32 && si->shape[0] == 2 && si->shape[1] == 2);
	memcpy(&f, si->data + 8, 4);
	CHECK(f == 2.5f);	/* block (1, 0) */
	ql_packed_free(&p);
	s.gran = QG_TENSOR;
	linq_grid(&s, 8, 8, &g, &e);
	CHECK(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0);
	si = find_part(&p, "weight_scale");
	CHECK(si && si->ndim == 0 && si->bytes == 4);
	ql_packed_free(&p);
}

TEST(golden_quark)
{
	struct ql_opts o = { QL_QUARK, 0, QD_BF16 };
	struct qscheme s = { QF_INT4, 1, QG_GROUP, 0, 4, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	int32_t q[64], zp[16];
	float sc[16];
	struct ql_packed p;
	const struct ql_part *w;

	codes(q, s_o);	/* row o holds o - 8: column 0 of every input row: -8..-1 */
	for (int i = 0; i < 16; i++)
		sc[i] = 1, zp[i] = 0;
	linq_grid(&s, 8, 8, &g, &e);
	CHECKF(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0, "%s", e.msg);
	w = find_part(&p, "weight");
	/* transposed [in, out/8]; two's complement nibbles 8..F; reorder:
	 * nibbles hold outputs 0,2,4,6,1,3,5,7 -> 8,A,C,E,9,B,D,F */
	CHECK(w && w->shape[0] == 8 && w->shape[1] == 1);
	CHECKF(word(w, 0) == 0xFDB9ECA8u, "%08x", word(w, 0));
	CHECK(find_part(&p, "weight_zero_point") == NULL);
	ql_packed_free(&p);
	o.quark_order = 1;
	CHECK(ql_pack(&o, &s, &g, q, sc, NULL, &p, &e) == 0);
	CHECKF(word(find_part(&p, "weight"), 0) == 0xFEDCBA98u, "%08x", word(find_part(&p, "weight"), 0));
	ql_packed_free(&p);
	/* uint4 asymmetric per group: zero points packed like the weight */
	s.fmt = QF_UINT4, s.sym = 0;
	codes(q, u_oi);
	for (int i = 0; i < 16; i++)
		zp[i] = i / 2;	/* zp(o, gi) = o */
	CHECK(ql_pack(&o, &s, &g, q, sc, zp, &p, &e) == 0);
	CHECKF(word(find_part(&p, "weight"), 1) == 0x87654321u, "%08x", word(find_part(&p, "weight"), 1));
	CHECKF(word(find_part(&p, "weight_zero_point"), 0) == 0x76543210u, "%08x",
	    word(find_part(&p, "weight_zero_point"), 0));
	ql_packed_free(&p);
}

/* ---- layouts: pack then unpack equals fake quantization, bit for bit ---- */

/* The config the layout writes must read back to the same scheme. */
static void
round_trip(enum qlayout l, int order, struct qscheme s, int64_t rows, int64_t cols)
{
	struct ql_opts o = { l, order, QD_BF16 };
	struct qgrid g;
	struct qerr e;
	size_t n = (size_t)(rows * cols);
	float *x = malloc(n * 4), *fq = malloc(n * 4), *back = NULL, *sc;
	int32_t *q = malloc(n * 4), *zp;
	struct calib_opts co;
	struct ql_packed p;
	struct ql_config c;
	cJSON *qc;
	struct packed_ckpt m = { &p, "model.layers.0.mlp.up_proj" };
	int64_t r2, c2;
	char label[128];

	snprintf(label, sizeof label, "%s%s %s sym=%d gran=%s", qlayout_names[l],
	    order ? "(order)" : "", qfmt_table[s.fmt].name, s.sym, qgran_names[s.gran]);
	for (size_t i = 0; i < n; i++)
		x[i] = t_gauss() * 0.05f;
	linq_grid(&s, rows, cols, &g, &e);
	sc = malloc((size_t)linq_ncells(&g) * 4);
	zp = malloc((size_t)linq_ncells(&g) * 4);
	calib_defaults(&co);
	co.method = CALIB_MSE;
	CHECK(calib_choose(&s, &g, x, &co, sc, zp, 1, &e) == 0);
	CHECK(ql_round_scales(ql_scale_dtype(&o, &s), sc, (size_t)linq_ncells(&g), &e) == 0);
	ql_fix_zero_points(&o, &s, s.sym ? NULL : zp, (size_t)linq_ncells(&g));
	linq_quantize(&s, &g, x, sc, s.sym ? NULL : zp, q, 1);
	/* the fake quantization, written out here */
	for (int64_t r = 0; r < rows; r++)
		for (int64_t k = 0; k < cols; k++) {
			int64_t cell = r / g.br * g.gcols + k / g.bc;
			float sv = sc[cell];
			int32_t z = s.sym ? linq_sym_zero(s.fmt) : zp[cell], qmin, qmax;
			float v = x[r * cols + k];

			if (linq_is_float(s.fmt)) {
				fq[r * cols + k] = linq_fp8_decode(linq_fp8_encode(v / sv, s.fmt == QF_FP8_E4M3),
				    s.fmt == QF_FP8_E4M3) * sv;
			} else {
				float t = nearbyintf(v / sv) + (float)z;

				linq_qrange(s.fmt, &qmin, &qmax);
				t = t < qmin ? (float)qmin : t > qmax ? (float)qmax : t;
				fq[r * cols + k] = (float)((int32_t)t - z) * sv;
			}
		}
	if (!t_check(ql_pack(&o, &s, &g, q, sc, s.sym ? NULL : zp, &p, &e) == 0, __FILE__, __LINE__,
	    "%s: pack: %s", label, e.msg))
		goto out;
	qc = ql_config(&o, &s, "mse", NULL, 0);
	CHECKF(ql_config_parse(qc, &c, &e) == 0, "%s: config: %s", label, e.msg);
	cJSON_Delete(qc);
	if (t_check(ql_unpack(&c, m.prefix, packed_find, &m, &back, &r2, &c2, &e) == 0, __FILE__, __LINE__,
	    "%s: unpack: %s", label, e.msg)) {
		size_t bad = 0;

		CHECKF(r2 == rows && c2 == cols, "%s: shape", label);
		for (size_t i = 0; i < n; i++)
			bad += memcmp(&back[i], &fq[i], 4) != 0;
		CHECKF(bad == 0, "%s: %zu of %zu values differ", label, bad, n);
	}
	ql_packed_free(&p);
out:
	free(back);
	free(x);
	free(fq);
	free(q);
	free(sc);
	free(zp);
}

TEST(pack_unpack_is_fake_quant)
{
	struct qscheme g32s = { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme g32a = { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme i4a = { QF_INT4, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme ch4 = { QF_INT4, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct qscheme ch4a = { QF_UINT4, 0, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct qscheme i8 = { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct qscheme i8a = { QF_INT8, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme u8a = { QF_UINT8, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qscheme i8t = { QF_INT8, 0, QG_TENSOR, 0, 0, { 0, 0 } };
	struct qscheme f8t = { QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } };
	struct qscheme f8c = { QF_FP8_E4M3, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct qscheme f8b = { QF_FP8_E4M3, 1, QG_BLOCK, 0, 0, { 16, 32 } };
	struct qscheme f85 = { QF_FP8_E5M2, 1, QG_CHANNEL, 0, 0, { 0, 0 } };

	round_trip(QL_AWQ, 0, g32a, 24, 64);
	round_trip(QL_AWQ, 0, g32s, 24, 64);
	round_trip(QL_AWQ, 0, ch4a, 24, 64);
	round_trip(QL_GPTQ, 0, g32s, 24, 64);
	round_trip(QL_GPTQ, 0, g32a, 24, 64);
	round_trip(QL_GPTQ, 0, i8a, 24, 64);
	round_trip(QL_CT, 0, g32s, 24, 64);
	round_trip(QL_CT, 0, g32a, 24, 64);
	round_trip(QL_CT, 0, i4a, 20, 64);	/* out not a multiple of 8: padded zero points */
	round_trip(QL_CT, 0, ch4, 20, 60);	/* in not a multiple of 8: padded rows */
	round_trip(QL_CT, 0, i8, 24, 64);
	round_trip(QL_CT, 0, i8t, 24, 64);
	round_trip(QL_CT, 0, u8a, 24, 64);
	round_trip(QL_CT, 0, f8t, 24, 64);
	round_trip(QL_CT, 0, f8c, 24, 64);
	round_trip(QL_CT, 0, f8b, 40, 70);
	round_trip(QL_FP8, 0, f8t, 24, 64);
	round_trip(QL_FP8, 0, f8b, 40, 70);
	round_trip(QL_QUARK, 0, g32s, 24, 64);
	round_trip(QL_QUARK, 1, g32a, 24, 64);
	round_trip(QL_QUARK, 0, ch4a, 24, 64);
	round_trip(QL_QUARK, 1, ch4, 24, 64);
	round_trip(QL_QUARK, 0, i8, 24, 64);
	round_trip(QL_QUARK, 0, u8a, 24, 64);
	round_trip(QL_QUARK, 0, i8t, 24, 64);
	round_trip(QL_QUARK, 0, f8t, 24, 64);
	round_trip(QL_QUARK, 0, f85, 24, 64);
}

/* Configs as each loader reads them: the keys spec §2.4, 3.6, 4.1, 5, 6.1 name. */
static const char *
js(const cJSON *o, const char *path)
{
	static char buf[256];
	char key[128], *dot;
	const cJSON *x = o;
	const char *p = path;

	while (x && *p) {
		snprintf(key, sizeof key, "%s", p);
		if ((dot = strchr(key, '.')) != NULL)
			*dot = 0;
		x = cJSON_GetObjectItemCaseSensitive(x, key);
		p += strlen(key) + (p[strlen(key)] == '.');
	}
	if (x == NULL)
		return "(absent)";
	if (cJSON_IsString(x))
		return x->valuestring;
	{
		char *s = cJSON_PrintUnformatted(x);

		snprintf(buf, sizeof buf, "%s", s);
		free(s);
	}
	return buf;
}

TEST(configs_have_the_loaders_keys)
{
	struct qscheme g128 = { QF_INT4, 1, QG_GROUP, 0, 128, { 0, 0 } };
	struct qscheme g128a = { QF_UINT4, 0, QG_GROUP, 0, 128, { 0, 0 } };
	struct qscheme f8b = { QF_FP8_E4M3, 1, QG_BLOCK, 0, 0, { 128, 128 } };
	struct qscheme f8t = { QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } };
	const char *ign[] = { "lm_head", "model.layers.0.mlp.gate" };
	struct ql_opts o = { QL_AWQ, 0, QD_BF16 };
	cJSON *c;

	c = ql_config(&o, &g128a, "minmax", ign, 2);
	CHECK_STR(js(c, "quant_method"), "awq");
	CHECK_STR(js(c, "bits"), "4");
	CHECK_STR(js(c, "group_size"), "128");
	CHECK_STR(js(c, "zero_point"), "true");
	CHECK_STR(js(c, "version"), "gemm");
	CHECK_STR(js(c, "modules_to_not_convert"), "[\"model.layers.0.mlp.gate\"]");
	cJSON_Delete(c);
	o.layout = QL_GPTQ;
	c = ql_config(&o, &g128, "minmax", ign, 1);
	CHECK_STR(js(c, "quant_method"), "gptq");
	CHECK_STR(js(c, "sym"), "true");
	CHECK_STR(js(c, "desc_act"), "false");
	CHECK_STR(js(c, "checkpoint_format"), "gptq");
	CHECK_STR(js(c, "dynamic"), "(absent)");
	cJSON_Delete(c);
	c = ql_config(&o, &g128, "minmax", ign, 2);
	CHECK_STR(js(c, "dynamic"), "{\"-:^model\\\\.layers\\\\.0\\\\.mlp\\\\.gate$\":{}}");
	cJSON_Delete(c);
	o.layout = QL_CT;
	c = ql_config(&o, &g128, "minmax", ign, 1);
	CHECK_STR(js(c, "quant_method"), "compressed-tensors");
	CHECK_STR(js(c, "format"), "pack-quantized");
	CHECK_STR(js(c, "config_groups.group_0.targets"), "[\"Linear\"]");
	CHECK_STR(js(c, "config_groups.group_0.weights"),
	    "{\"num_bits\":4,\"type\":\"int\",\"symmetric\":true,\"group_size\":128,\"strategy\":\"group\","
	    "\"block_structure\":null,\"dynamic\":false,\"actorder\":null,\"observer\":\"minmax\","
	    "\"observer_kwargs\":{}}");
	CHECK_STR(js(c, "ignore"), "[\"lm_head\"]");
	cJSON_Delete(c);
	c = ql_config(&o, &f8b, "minmax", NULL, 0);
	CHECK_STR(js(c, "format"), "float-quantized");
	CHECK_STR(js(c, "config_groups.group_0.weights.block_structure"), "[128,128]");
	CHECK_STR(js(c, "config_groups.group_0.weights.type"), "float");
	cJSON_Delete(c);
	o.layout = QL_FP8;
	c = ql_config(&o, &f8b, "minmax", ign, 1);
	CHECK_STR(js(c, "quant_method"), "fp8");
	CHECK_STR(js(c, "weight_block_size"), "[128,128]");
	CHECK_STR(js(c, "activation_scheme"), "dynamic");
	CHECK_STR(js(c, "fmt"), "e4m3");
	cJSON_Delete(c);
	c = ql_config(&o, &f8t, "minmax", ign, 1);
	CHECK_STR(js(c, "ignored_layers"), "[\"lm_head\"]");
	CHECK_STR(js(c, "weight_block_size"), "(absent)");
	cJSON_Delete(c);
	o.layout = QL_QUARK;
	c = ql_config(&o, &g128a, "minmax", ign, 1);
	CHECK_STR(js(c, "quant_method"), "quark");
	CHECK_STR(js(c, "global_quant_config.weight.dtype"), "uint4");
	CHECK_STR(js(c, "global_quant_config.weight.qscheme"), "per_group");
	CHECK_STR(js(c, "global_quant_config.weight.symmetric"), "false");
	CHECK_STR(js(c, "export.pack_method"), "reorder");
	CHECK_STR(js(c, "export.weight_format"), "real_quantized");
	CHECK_STR(js(c, "export.kv_cache_group"), "[]");
	CHECK_STR(js(c, "exclude"), "[\"lm_head\"]");
	cJSON_Delete(c);
}

static void
expect_bad_config(const char *label, const char *json, const char *want)
{
	cJSON *j = cJSON_Parse(json);
	struct ql_config c;
	struct qerr e;
	int rc = ql_config_parse(j, &c, &e);

	CHECKF(rc < 0, "%s: accepted", label);
	if (rc < 0)
		CHECKF(strstr(e.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", label, e.msg, want);
	cJSON_Delete(j);
	if (corpus_dir) {
		char p[1024];

		snprintf(p, sizeof p, "%s/../fuzz_qlconfig/%s.json", corpus_dir, label);
		t_write_file(p, json, strlen(json));
	}
}

TEST(configs_malformed)
{
	expect_bad_config("no_method", "{\"bits\":4}", "quant_method");
	expect_bad_config("not_object", "[1,2]", "quant_method");
	expect_bad_config("unknown_method", "{\"quant_method\":\"bitsandbytes\"}", "not supported");
	expect_bad_config("awq_3bit", "{\"quant_method\":\"awq\",\"bits\":3,\"group_size\":128}", "3 bits");
	expect_bad_config("awq_gemv", "{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128,\"version\":\"gemv\"}", "gemv");
	expect_bad_config("awq_no_group", "{\"quant_method\":\"awq\",\"bits\":4}", "group_size");
	expect_bad_config("gptq_v2", "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"checkpoint_format\":\"gptq_v2\"}", "gptq_v2");
	expect_bad_config("gptq_bits_str", "{\"quant_method\":\"gptq\",\"bits\":\"4\",\"group_size\":128}", "not an integer");
	expect_bad_config("ct_no_groups", "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\"}", "config_groups");
	expect_bad_config("ct_mixed", "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":"
	    "{\"a\":{\"weights\":{\"num_bits\":4}},\"b\":{\"weights\":{\"num_bits\":8}}}}", "config_groups.a: \"targets\" missing");
	expect_bad_config("ct_nvfp4", "{\"quant_method\":\"compressed-tensors\",\"format\":\"nvfp4-pack-quantized\",\"config_groups\":"
	    "{\"a\":{\"weights\":{\"num_bits\":4,\"type\":\"float\"}}}}", "group_size");
	expect_bad_config("ct_group_no_size", "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":"
	    "{\"a\":{\"weights\":{\"num_bits\":4,\"type\":\"int\",\"strategy\":\"group\"}}}}", "group_size");
	expect_bad_config("fp8_block_bad", "{\"quant_method\":\"fp8\",\"weight_block_size\":[128]}", "weight_block_size");
	expect_bad_config("quark_no_weight", "{\"quant_method\":\"quark\",\"global_quant_config\":{}}", "weight");
	expect_bad_config("quark_pack", "{\"quant_method\":\"quark\",\"global_quant_config\":{\"weight\":{\"dtype\":\"int4\","
	    "\"qscheme\":\"per_group\",\"group_size\":32}},\"export\":{\"pack_method\":\"zigzag\"}}", "pack_method");
	expect_bad_config("modelopt_nvfp4", "{\"quant_method\":\"modelopt\",\"quant_algo\":\"NVFP4\"}", "NVFP4");
}

/* Hostile packed checkpoints: mismatched parts are refused, not read past. */
TEST(unpack_rejects_mismatched_parts)
{
	struct ql_opts o = { QL_AWQ, 0, QD_F16 };
	struct qscheme s = { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	int32_t q[16 * 64] = { 0 }, zp[32] = { 0 };
	float sc[32], *x = NULL;
	struct ql_packed p;
	struct ql_config c;
	struct packed_ckpt m = { &p, "m" };
	int64_t r, k;

	for (int i = 0; i < 32; i++)
		sc[i] = 1;
	linq_grid(&s, 16, 64, &g, &e);
	CHECK(ql_pack(&o, &s, &g, q, sc, zp, &p, &e) == 0);
	memset(&c, 0, sizeof c);
	c.layout = QL_AWQ;
	c.s = s;
	p.part[1].shape[0] = 3;		/* qzeros rows */
	CHECK(ql_unpack(&c, "m", packed_find, &m, &x, &r, &k, &e) < 0 && strstr(e.msg, "m.qzeros: shape"));
	p.part[1].shape[0] = 2;
	p.part[2].dtype = QD_I32;	/* scales */
	CHECK(ql_unpack(&c, "m", packed_find, &m, &x, &r, &k, &e) < 0 && strstr(e.msg, "m.scales: dtype"));
	p.part[2].dtype = QD_F16;
	c.s.group = 48;			/* 64 % 48 */
	CHECK(ql_unpack(&c, "m", packed_find, &m, &x, &r, &k, &e) < 0 && strstr(e.msg, "multiple"));
	c.s.group = 32;
	snprintf(p.part[0].suffix, sizeof p.part[0].suffix, "nope");
	CHECK(ql_unpack(&c, "m", packed_find, &m, &x, &r, &k, &e) < 0 && strstr(e.msg, "m.qweight: missing"));
	snprintf(p.part[0].suffix, sizeof p.part[0].suffix, "qweight");
	CHECK(ql_unpack(&c, "m", packed_find, &m, &x, &r, &k, &e) == 0 && r == 16 && k == 64);
	free(x);
	ql_packed_free(&p);
}

/* ---- GPTQ: on correlated inputs it beats round-to-nearest ---- */

static void
gptq_case(const char *label, struct qscheme s, int64_t rows, int64_t cols, int64_t n)
{
	float *w = malloc((size_t)(rows * cols) * 4), *w0 = malloc((size_t)(rows * cols) * 4);
	float *x = malloc((size_t)(n * cols) * 4), *a = malloc((size_t)(cols * cols) * 4);
	float *wq = malloc((size_t)(rows * cols) * 4), *sc, *z = malloc((size_t)cols * 4);
	int32_t *q = malloc((size_t)(rows * cols) * 4), *zp;
	struct qgrid g;
	struct qerr e;
	struct calib_opts co;
	double rtn, gp;

	for (int64_t i = 0; i < rows * cols; i++)
		w0[i] = w[i] = t_gauss() * 0.05f;
	for (int64_t i = 0; i < cols * cols; i++)	/* mixing: inputs are correlated */
		a[i] = (i % (cols + 1) == 0 ? 1.0f : 0.0f) + 0.3f * t_frand();
	for (int64_t t = 0; t < n; t++) {
		for (int64_t k = 0; k < cols; k++)
			z[k] = t_gauss() * (k % 7 == 0 ? 4.0f : 1.0f);	/* a few loud channels */
		for (int64_t k = 0; k < cols; k++) {
			float v = 0;

			for (int64_t m = 0; m < cols; m++)
				v += z[m] * a[m * cols + k];
			x[t * cols + k] = v;
		}
	}
	linq_grid(&s, rows, cols, &g, &e);
	sc = malloc((size_t)linq_ncells(&g) * 4);
	zp = malloc((size_t)linq_ncells(&g) * 4);
	calib_defaults(&co);
	CHECK(calib_choose(&s, &g, w0, &co, sc, zp, 2, &e) == 0);
	linq_fakequant(&s, &g, w0, sc, s.sym ? NULL : zp, wq, 2);
	rtn = gptq_output_sse(w0, wq, rows, cols, x, n);
	CHECKF(gptq_quantize(&s, &g, w, x, n, 0.01, &co, NULL, sc, zp, q, 2, &e) == 0, "%s", e.msg);
	linq_dequantize(&s, &g, q, sc, s.sym ? NULL : zp, wq, 2);
	gp = gptq_output_sse(w0, wq, rows, cols, x, n);
	printf("# gptq %-22s layer output error: round-to-nearest %.4g, gptq %.4g (%.2f dB better)\n",
	    label, rtn, gp, 10 * log10(rtn / gp));
	CHECKF(gp < rtn * 0.8, "%s: gptq %g not clearly below rtn %g", label, gp, rtn);
	free(w), free(w0), free(x), free(a), free(wq), free(sc), free(z), free(q), free(zp);
}

TEST(gptq_beats_round_to_nearest)
{
	struct qscheme g16 = { QF_INT4, 1, QG_GROUP, 0, 16, { 0, 0 } };
	struct qscheme g16a = { QF_UINT4, 0, QG_GROUP, 0, 16, { 0, 0 } };
	struct qscheme ch8 = { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } };

	gptq_case("int4 g16", g16, 24, 64, 256);
	gptq_case("uint4 g16 asym", g16a, 24, 64, 256);
	gptq_case("int8 per channel", ch8, 24, 64, 256);
}

/* Dead inputs get zero weight; a bad scheme is refused. */
TEST(gptq_edges)
{
	struct qscheme blk = { QF_INT8, 1, QG_BLOCK, 0, 0, { 4, 4 } };
	struct qscheme ch = { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	float w[8 * 8], x[16 * 8], sc[8];
	int32_t q[64], zp[8];
	struct qgrid g;
	struct qerr e;
	struct calib_opts co;

	for (int i = 0; i < 64; i++)
		w[i] = t_frand();
	for (int i = 0; i < 16 * 8; i++)
		x[i] = i % 8 == 3 ? 0 : t_frand();	/* input 3 never fires */
	calib_defaults(&co);
	linq_grid(&blk, 8, 8, &g, &e);
	CHECK(gptq_quantize(&blk, &g, w, x, 16, 0.01, &co, NULL, sc, zp, q, 1, &e) < 0);
	linq_grid(&ch, 8, 8, &g, &e);
	CHECKF(gptq_quantize(&ch, &g, w, x, 16, 0.01, &co, NULL, sc, zp, q, 1, &e) == 0, "%s", e.msg);
	for (int r = 0; r < 8; r++)
		CHECK(q[r * 8 + 3] == 0);
}

/* ---- activation ranges ---- */

TEST(activation_ranges_clip_outliers)
{
	enum { N = 100000 };
	float *x = malloc(N * sizeof *x), r[2];
	struct qerr e;
	double sd = 0;

	for (int i = 0; i < N; i++) {
		x[i] = t_gauss();
		sd += (double)x[i] * x[i];
	}
	sd = sqrt(sd / N);
	for (int i = 0; i < 10; i++)
		x[i * 997] = (float)(100 * sd);		/* rare, loud outliers */
	CHECK(calib_act_range(x, N, ACT_MINMAX, QF_UINT8, 0, r, &e) == 0);
	CHECK(r[1] == (float)(100 * sd) && r[0] < 0);
	CHECK(calib_act_range(x, N, ACT_PERCENTILE, QF_UINT8, 99.9, r, &e) == 0);
	CHECKF(r[1] > 2.5 * sd && r[1] < 4.5 * sd && r[0] < -2.5 * sd, "percentile [%g, %g]", r[0], r[1]);
	CHECK(calib_act_range(x, N, ACT_ENTROPY, QF_UINT8, 0, r, &e) == 0);
	printf("# entropy range on N(0, %.2f) + outliers at 100 sd: [%g, %g]\n", sd, r[0], r[1]);
	CHECKF(r[1] > 2 * sd && r[1] < 30 * sd && r[0] == -r[1], "entropy [%g, %g]", r[0], r[1]);
	CHECK(calib_act_range(x, N, ACT_MSE, QF_UINT8, 0, r, &e) == 0);
	printf("# mse (uint8) range: [%g, %g]\n", r[0], r[1]);
	CHECKF(r[1] < 100 * sd && r[1] > 2 * sd, "mse [%g, %g]", r[0], r[1]);
	for (int i = 0; i < N; i++)	/* after a ReLU */
		x[i] = fabsf(x[i]);
	CHECK(calib_act_range(x, N, ACT_ENTROPY, QF_UINT8, 0, r, &e) == 0 && r[0] == 0 && r[1] > 0);
	x[5] = NAN;
	CHECK(calib_act_range(x, N, ACT_MINMAX, QF_UINT8, 0, r, &e) < 0 && strstr(e.msg, "non-finite"));
	free(x);
}

/* ---- mixed precision under a budget ---- */

/* Brute force over every assignment: the greedy must stay within budget and
 * reach the optimum on these small convex cases. */
TEST(budget_meets_budget)
{
	/* 3 tensors x 3 options: bits, error */
	double bits[9] = { 4, 5, 8, 4, 5, 8, 4, 5, 8 };
	double err[9] = { 10, 6, 1, 100, 20, 2, 5, 4.5, 4 };
	double nel[3] = { 100, 100, 200 };
	int choice[3];
	struct qerr e;
	double best = INFINITY;

	CHECK(budget_choose(3, 3, bits, err, nel, 5.0, choice, &e) == 0);
	{
		double b = 0, r = 0;

		for (int i = 0; i < 3; i++)
			b += bits[i * 3 + choice[i]] * nel[i], r += err[i * 3 + choice[i]];
		CHECKF(b <= 5.0 * 400, "bits %g over budget", b / 400);
		for (int a = 0; a < 27; a++) {
			int c0 = a % 3, c1 = a / 3 % 3, c2 = a / 9;
			double bb = bits[c0] * 100 + bits[3 + c1] * 100 + bits[6 + c2] * 200;

			if (bb <= 5.0 * 400 && err[c0] + err[3 + c1] + err[6 + c2] < best)
				best = err[c0] + err[3 + c1] + err[6 + c2];
		}
		CHECKF(r == best, "greedy error %g, optimum %g", r, best);
	}
	CHECK(budget_choose(3, 3, bits, err, nel, 3.0, choice, &e) < 0 && strstr(e.msg, "below"));
}

/* Tensors differ in how they take 4 bits: with the same average size as
 * uniform int4-g32, a plan mixing int4-g128 and int8 has less error. */
TEST(budget_beats_uniform_of_same_size)
{
	struct qscheme opts[3] = {
		{ QF_INT4, 1, QG_GROUP, 0, 128, { 0, 0 } },
		{ QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } },
		{ QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } },
	};
	enum { NT = 12, R = 64, C = 256 };
	double bits[NT * 3], err[NT * 3], nel[NT], x2 = 0, plan = 0, uni = 0, pb = 0;
	int choice[NT];
	float *x = malloc(R * C * 4), *xq = malloc(R * C * 4), sc[R * 8];
	int32_t zp[R * 8];
	struct qerr e;
	struct calib_opts co;

	calib_defaults(&co);
	co.method = CALIB_MSE;
	for (int t = 0; t < NT; t++) {
		for (int i = 0; i < R * C; i++)	/* tensor 0 carries heavy outliers */
			x[i] = t_gauss() * 0.02f * ((t == 0 && i % 53 == 0) ? 30.0f : 1.0f);
		nel[t] = R * C;
		for (int j = 0; j < 3; j++) {
			struct qgrid g;
			struct calib_err r;

			linq_grid(&opts[j], R, C, &g, &e);
			calib_choose(&opts[j], &g, x, &co, sc, zp, 2, &e);
			linq_fakequant(&opts[j], &g, x, sc, NULL, xq, 2);
			calib_measure(x, xq, R * C, &r);
			err[t * 3 + j] = r.sum_e2;
			bits[t * 3 + j] = linq_bits(opts[j].fmt) + 16.0 * (double)linq_ncells(&g) / (R * C);
			if (j == 0)
				x2 += r.sum_x2;
		}
		uni += err[t * 3 + 1];
	}
	CHECK(budget_choose(NT, 3, bits, err, nel, bits[1], choice, &e) == 0);
	for (int t = 0; t < NT; t++)
		plan += err[t * 3 + choice[t]], pb += bits[t * 3 + choice[t]] / NT;
	printf("# budget %.3f bits: plan %.3f bits %.2f dB; uniform int4-g32 %.2f dB\n", bits[1], pb,
	    10 * log10(x2 / plan), 10 * log10(x2 / uni));
	CHECK(pb <= bits[1] + 1e-9);
	CHECKF(plan < uni * 0.9, "plan %g vs uniform %g", plan, uni);
	free(x);
	free(xq);
}

int
main(void)
{
	t_seed(12345u);
	corpus_dir = getenv("QU_WRITE_CORPUS");
	RUN(fp8_decode_matches_definition);
	RUN(fp8_encode_rounds_to_even_and_saturates);
	RUN(linq_codes_by_hand);
	RUN(linq_fast_path_equals_reference);
	RUN(linq_grid_shapes);
	RUN(calib_minmax_by_hand);
	RUN(calib_mse_never_worse_than_minmax);
	RUN(calib_percentile_clips);
	RUN(mse_beats_minmax_tiny_llama);
	RUN(mse_beats_minmax_tiny_qwen3);
	RUN(mse_beats_minmax_hf_tiny_llama);
	RUN(mse_beats_minmax_hf_tiny_gemma);
	RUN(mse_beats_minmax_generated);
	RUN(qparams_round_trip);
	RUN(qparams_malformed);
	RUN(weight_selection);
	RUN(golden_awq);
	RUN(golden_gptq);
	RUN(golden_compressed_tensors);
	RUN(golden_fp8);
	RUN(golden_quark);
	RUN(pack_unpack_is_fake_quant);
	RUN(configs_have_the_loaders_keys);
	RUN(configs_malformed);
	RUN(unpack_rejects_mismatched_parts);
	RUN(gptq_beats_round_to_nearest);
	RUN(gptq_edges);
	RUN(activation_ranges_clip_outliers);
	RUN(budget_meets_budget);
	RUN(budget_beats_uniform_of_same_size);
	return t_done();
}
