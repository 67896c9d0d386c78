/* GPTQ: the fast path gives the reference's bits; act-order's g_idx and
 * the packed words by hand; GPTQ beats round-to-nearest on captured inputs
 * with outlier channels (and act-order beside it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gptq.h"
#include "harness.h"
#include "qpfiles.h"
#include "layout.h"
#include "qparams.h"
#include "safetensors.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;

static float
frand(void)	/* uniform in [-1, 1) */
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (float)((rng >> 40) / (double)(1 << 24) * 2 - 1);
}

static float
gauss(void)
{
	float s = 0;

	for (int i = 0; i < 12; i++)
		s += frand();
	return s * 0.5f;
}

/* Inputs like a transformer's: correlated channels, a few of them loud. */
static float *
captures(int64_t n, int64_t cols, double mixing)
{
	float *x = malloc((size_t)(n * cols) * sizeof *x), *z = malloc((size_t)cols * sizeof *z);
	float *a = malloc((size_t)(cols * cols) * sizeof *a);

	for (int64_t i = 0; i < cols * cols; i++)
		a[i] = (i % (cols + 1) == 0 ? 1.0f : 0.0f) + (float)mixing * frand();
	for (int64_t t = 0; t < n; t++) {
		for (int64_t k = 0; k < cols; k++)
			z[k] = gauss() * (k % 13 == 5 ? 12.0f : k % 7 == 0 ? 3.0f : 1.0f);
		for (int64_t k = 0; k < cols; k++) {
			double v = 0;

			for (int64_t m = 0; m < cols; m++)
				v += z[m] * a[m * cols + k];
			x[t * cols + k] = (float)v;
		}
	}
	free(z), free(a);
	return x;
}

struct result {
	float *w, *scale;
	int32_t *zp, *q, *g_idx;
	int rc;
};

static struct result
run(const struct qscheme *s, int64_t rows, int64_t cols, const float *w0, const float *x,
    int64_t n, int act_order, int static_groups, int reference, int jobs)
{
	struct result r;
	struct qgrid g;
	struct qerr e;
	struct gptq_opts o;
	struct calib_opts co;
	struct ql_opts lo = { QL_GPTQ, 0, QD_F16 };

	linq_grid(s, rows, cols, &g, &e);
	r.w = malloc((size_t)(rows * cols) * sizeof *r.w);
	memcpy(r.w, w0, (size_t)(rows * cols) * sizeof *r.w);
	r.scale = calloc((size_t)linq_ncells(&g), sizeof *r.scale);
	r.zp = calloc((size_t)linq_ncells(&g), sizeof *r.zp);
	r.q = calloc((size_t)(rows * cols), sizeof *r.q);
	r.g_idx = calloc((size_t)cols, sizeof *r.g_idx);
	gptq_defaults(&o);
	o.act_order = act_order;
	o.static_groups = static_groups;
	o.reference = reference;
	o.jobs = jobs;
	calib_defaults(&co);
	r.rc = gptq_run(s, &g, r.w, x, n, &o, &co, &lo, r.scale, s->sym ? NULL : r.zp, r.q, r.g_idx, &e);
	if (r.rc < 0)
		printf("# gptq_run: %s\n", e.msg);
	return r;
}

static void
result_free(struct result *r)
{
	free(r->w), free(r->scale), free(r->zp), free(r->q), free(r->g_idx);
}

/* The fast path (tiles, threads, vector lanes) against the reference. */
TEST(fast_path_equals_reference)
{
	static const struct {
		const char *label;
		struct qscheme s;
		int64_t rows, cols, n;
		int act, stat;
	} cases[] = {
		{ "int4 g32", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 40, 300 - 12, 96, 0, 0 },
		{ "int4 g32 act-order", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 40, 288, 96, 1, 0 },
		{ "uint4 g48 asym act-order", { QF_UINT4, 0, QG_GROUP, 0, 48, { 0, 0 } }, 33, 336, 80, 1, 0 },
		{ "int4 g32 static act-order", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, 17, 320, 64, 1, 1 },
		{ "int4 g160 act-order", { QF_INT4, 1, QG_GROUP, 0, 160, { 0, 0 } }, 20, 320, 64, 1, 0 },
		{ "int8 channel act-order", { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } }, 24, 270, 64, 1, 0 },
		{ "int4 g64 act-order, 600 samples", { QF_INT4, 1, QG_GROUP, 0, 64, { 0, 0 } }, 70, 192, 600, 1, 0 },
		{ "fp8 tensor", { QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } }, 16, 200, 50, 0, 0 },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		int64_t rows = cases[k].rows, cols = cases[k].cols, n = cases[k].n;
		float *w0 = malloc((size_t)(rows * cols) * sizeof *w0), *x = captures(n, cols, 0.2);
		struct result a, b;
		struct qgrid g;
		struct qerr e;

		linq_grid(&cases[k].s, rows, cols, &g, &e);
		for (int64_t i = 0; i < rows * cols; i++)
			w0[i] = gauss() * 0.05f;
		for (int64_t t = 0; t < n; t++)	/* a dead input */
			x[t * cols + 7] = 0;
		a = run(&cases[k].s, rows, cols, w0, x, n, cases[k].act, cases[k].stat, 1, 1);
		b = run(&cases[k].s, rows, cols, w0, x, n, cases[k].act, cases[k].stat, 0, 2);
		CHECKF(a.rc == 0 && b.rc == 0, "%s: failed", cases[k].label);
		CHECKF(memcmp(a.q, b.q, (size_t)(rows * cols) * sizeof *a.q) == 0, "%s: codes differ",
		    cases[k].label);
		CHECKF(memcmp(a.w, b.w, (size_t)(rows * cols) * sizeof *a.w) == 0, "%s: weights differ",
		    cases[k].label);
		CHECKF(memcmp(a.scale, b.scale, (size_t)linq_ncells(&g) * sizeof *a.scale) == 0 &&
		    memcmp(a.zp, b.zp, (size_t)linq_ncells(&g) * sizeof *a.zp) == 0 &&
		    memcmp(a.g_idx, b.g_idx, (size_t)cols * sizeof *a.g_idx) == 0, "%s: scales differ",
		    cases[k].label);
		for (int64_t r = 0; r < rows; r++)
			CHECKF(a.w[r * cols + 7] == 0, "%s: dead input kept a weight", cases[k].label);
		result_free(&a), result_free(&b);
		free(w0), free(x);
	}
}


/* ---- act-order by hand ---- */

static const struct ql_part *
part_of(const struct ql_packed *p, const char *suffix)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->part[i].suffix, suffix) == 0)
			return &p->part[i];
	return NULL;
}

static uint32_t
word(const struct ql_part *p, size_t i)
{
	uint32_t v;

	memcpy(&v, p->data + 4 * i, 4);
	return v;
}

static float
half_at(const struct ql_part *p, size_t i)
{
	uint16_t h;

	memcpy(&h, p->data + 2 * i, 2);
	return p->dtype == QD_F16 ? qu_f16_to_f32(h) : qu_bf16_to_f32(h);
}

/* Eight inputs that never fire together (H diagonal: no error is spread)
 * with energies 1, 5, 2, 8, 3, 7, 4, 6: act-order takes columns 3, 5, 7, 1
 * (group 0), then 6, 4, 2, 0 (group 1).  Row r of W is (r + 1) * base, so
 * group 0 has scale r + 1 (max |w| 7) and group 1 (r + 1) / 2 (max 3.5). */
TEST(act_order_by_hand)
{
	static const float energy[8] = { 1, 5, 2, 8, 3, 7, 4, 6 };
	static const float base[8] = { -3.5f, 2, 1, -7, 0.5f, 3, -1.5f, 7 };
	/* codes: group 1 columns / 0.5, group 0 columns / 1 */
	static const int32_t want_q[8] = { -7, 2, 2, -7, 1, 3, -3, 7 };
	static const int32_t want_gidx[8] = { 1, 0, 1, 0, 1, 0, 1, 0 };
	struct qscheme s = { QF_INT4, 1, QG_GROUP, 0, 4, { 0, 0 } };
	float w[64], x[64], sc[16];
	int32_t q[64], gi[8];
	struct qgrid g;
	struct qerr e;
	struct gptq_opts o;
	struct calib_opts co;
	struct ql_opts gptq = { QL_GPTQ, 0, QD_F16 }, ct = { QL_CT, 0, QD_BF16 };
	struct ql_packed p;
	const struct ql_part *qw, *qz, *sp, *gp;
	int bad = 0;

	memset(x, 0, sizeof x);
	for (int c = 0; c < 8; c++)
		x[c * 8 + c] = energy[c];
	for (int r = 0; r < 8; r++)
		for (int c = 0; c < 8; c++)
			w[r * 8 + c] = (float)(r + 1) * base[c];
	linq_grid(&s, 8, 8, &g, &e);
	gptq_defaults(&o);
	o.act_order = 1;
	calib_defaults(&co);
	CHECKF(gptq_run(&s, &g, w, x, 8, &o, &co, &gptq, sc, NULL, q, gi, &e) == 0, "%s", e.msg);
	CHECK(memcmp(gi, want_gidx, sizeof gi) == 0);
	for (int r = 0; r < 8; r++) {
		bad += memcmp(q + r * 8, want_q, sizeof want_q) != 0;
		bad += sc[r * 2] != (float)(r + 1) || sc[r * 2 + 1] != (float)(r + 1) / 2;
	}
	CHECKF(bad == 0, "%d rows with other codes or scales", bad);

	/* gptq v1: qweight [in/8, out], input k of a word in nibble k, code + 8:
	 * 1, 10, 10, 1, 9, 11, 5, 15 */
	CHECKF(ql_pack_gidx(&gptq, &s, &g, QL_ACT_GROUP, q, sc, NULL, gi, &p, &e) == 0, "%s", e.msg);
	qw = part_of(&p, "qweight"), qz = part_of(&p, "qzeros"), sp = part_of(&p, "scales");
	gp = part_of(&p, "g_idx");
	CHECK(qw && qz && sp && gp);
	for (int o2 = 0; qw && o2 < 8; o2++)
		CHECKF(word(qw, (size_t)o2) == 0xF5B91AA1u, "qweight[0][%d] = %08x", o2, word(qw, (size_t)o2));
	CHECK(qz && word(qz, 0) == 0x77777777u && word(qz, 1) == 0x77777777u);
	/* scales [group, out] */
	CHECK(sp && half_at(sp, 0 * 8 + 3) == 4.0f && half_at(sp, 1 * 8 + 3) == 2.0f);
	for (int i = 0; gp && i < 8; i++)
		CHECKF(word(gp, (size_t)i) == (uint32_t)want_gidx[i], "g_idx[%d] = %u", i, word(gp, (size_t)i));
	ql_packed_free(&p);

	/* compressed-tensors actorder "group": weight_packed [out, in/8] with the
	 * same words, weight_g_idx [in] */
	CHECKF(ql_pack_gidx(&ct, &s, &g, QL_ACT_GROUP, q, sc, NULL, gi, &p, &e) == 0, "%s", e.msg);
	qw = part_of(&p, "weight_packed"), gp = part_of(&p, "weight_g_idx"), sp = part_of(&p, "weight_scale");
	CHECK(qw && gp && sp && qw->shape[0] == 8 && qw->shape[1] == 1 && gp->shape[0] == 8);
	for (int r = 0; qw && r < 8; r++)
		CHECKF(word(qw, (size_t)r) == 0xF5B91AA1u, "weight_packed[%d] = %08x", r, word(qw, (size_t)r));
	for (int i = 0; gp && i < 8; i++)
		CHECK(word(gp, (size_t)i) == (uint32_t)want_gidx[i]);
	CHECK(sp && half_at(sp, 5 * 2 + 0) == 6.0f && half_at(sp, 5 * 2 + 1) == 3.0f);	/* [out, groups] */
	ql_packed_free(&p);
	{	/* no g_idx without actorder "group"; awq cannot take one */
		struct ql_opts awq = { QL_AWQ, 0, QD_F16 };

		CHECK(ql_pack_gidx(&ct, &s, &g, QL_ACT_NONE, q, sc, NULL, NULL, &p, &e) == 0 &&
		    part_of(&p, "weight_g_idx") == NULL);
		ql_packed_free(&p);
		s.fmt = QF_UINT4, s.sym = 0;
		CHECK(ql_pack_gidx(&awq, &s, &g, QL_ACT_GROUP, q, sc, (int32_t[16]){ 0 }, gi, &p, &e) < 0 &&
		    strstr(e.msg, "g_idx"));
	}

	/* without act-order: column order, contiguous groups, other scales */
	s.fmt = QF_INT4, s.sym = 1;
	o.act_order = 0;
	for (int r = 0; r < 8; r++)
		for (int c = 0; c < 8; c++)
			w[r * 8 + c] = (float)(r + 1) * base[c];
	CHECK(gptq_run(&s, &g, w, x, 8, &o, &co, &gptq, sc, NULL, q, gi, &e) == 0);
	CHECK(gi[3] == 0 && gi[4] == 1 && sc[0] == 1 && sc[1] == 1);	/* max |w| 7 in both halves */
	/* static groups with act-order: the same contiguous groups */
	o.act_order = o.static_groups = 1;
	CHECK(gptq_run(&s, &g, w, x, 8, &o, &co, &gptq, sc, NULL, q, gi, &e) == 0);
	CHECK(gptq_gidx_is_trivial(gi, 8, 4));
}

/* ---- pack -> unpack equals the fake-quantized weight, act-order on ---- */

TEST(round_trip_with_g_idx)
{
	static const struct {
		enum qlayout layout;
		struct qscheme s;
		const char *config;
	} cases[] = {
		{ QL_GPTQ, { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } },
		  "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":32,\"desc_act\":true,\"sym\":true}" },
		{ QL_GPTQ, { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } },
		  "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":32,\"desc_act\":true,\"sym\":false}" },
		{ QL_GPTQ, { QF_INT8, 1, QG_GROUP, 0, 64, { 0, 0 } },
		  "{\"quant_method\":\"gptq\",\"bits\":8,\"group_size\":64,\"desc_act\":true,\"sym\":true}" },
		{ QL_CT, { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, NULL },
		{ QL_CT, { QF_INT4, 0, QG_GROUP, 0, 32, { 0, 0 } }, NULL },
		{ QL_CT, { QF_INT8, 1, QG_GROUP, 0, 64, { 0, 0 } }, NULL },
	};
	int64_t rows = 24, cols = 256, n = 64;
	float *x = captures(n, cols, 0.2);

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const struct qscheme *s = &cases[k].s;
		struct ql_opts lo = { cases[k].layout, 0, QD_BF16 };
		float *w = malloc((size_t)(rows * cols) * sizeof *w), *fq, *back = NULL, sc[24 * 8];
		int32_t *q = malloc((size_t)(rows * cols) * sizeof *q), zp[24 * 8], gi[256];
		struct qgrid g;
		struct qerr e;
		struct gptq_opts o;
		struct calib_opts co;
		struct ql_packed p;
		struct ql_config c;
		struct packed_ckpt m;
		cJSON *cfg;
		int64_t r2, c2;
		size_t bad = 0;

		fq = malloc((size_t)(rows * cols) * sizeof *fq);
		for (int64_t i = 0; i < rows * cols; i++)
			w[i] = gauss() * 0.05f;
		linq_grid(s, rows, cols, &g, &e);
		gptq_defaults(&o);
		o.act_order = 1;
		o.jobs = 2;
		calib_defaults(&co);
		CHECKF(gptq_run(s, &g, w, x, n, &o, &co, &lo, sc, s->sym ? NULL : zp, q, gi, &e) == 0,
		    "%s", e.msg);
		CHECKF(!gptq_gidx_is_trivial(gi, cols, s->group), "case %zu: act-order left g_idx trivial", k);
		gptq_dequantize(s, &g, q, sc, s->sym ? NULL : zp, gi, fq);
		CHECKF(ql_pack_gidx(&lo, s, &g, QL_ACT_GROUP, q, sc, s->sym ? NULL : zp, gi, &p, &e) == 0,
		    "%s", e.msg);
		cfg = cases[k].config ? cJSON_Parse(cases[k].config) : ql_config_act(&lo, s, QL_ACT_GROUP, "gptq", NULL, 0);
		CHECKF(ql_config_parse(cfg, &c, &e) == 0, "case %zu: %s", k, e.msg);
		m.p = &p;
		m.prefix = "m";
		if (t_check(ql_unpack(&c, "m", packed_find, &m, &back, &r2, &c2, &e) == 0, __FILE__, __LINE__,
		    "case %zu: unpack: %s", k, e.msg)) {
			for (int64_t i = 0; i < rows * cols; i++)
				bad += memcmp(&back[i], &fq[i], 4) != 0;
			CHECKF(bad == 0, "case %zu: %zu values differ from the fake-quantized weight", k, bad);
		}
		cJSON_Delete(cfg);
		ql_packed_free(&p);
		free(w), free(q), free(fq), free(back);
	}
	free(x);
}

/* ---- qparams: g_idx and codes, read, written, refused ---- */

static const char *
corpus(const char *name)
{
	static char path[512];

	snprintf(path, sizeof path, "tests/fuzz/corpus/fuzz_qparams/%s", name);
	return path;
}

TEST(qparams_g_idx_and_codes)
{
	static const struct {
		const char *file, *why;
	} bad[] = {
		{ "g_idx_without_act_order.qp", "no \"act_order\": \"group\"" },
		{ "g_idx_with_static_groups.qp", "no \"act_order\": \"group\"" },
		{ "act_order_without_g_idx.qp", "without a W.g_idx" },
		{ "act_order_on_channel.qp", "needs granularity group and an integer or fp8 format" },
		{ "act_order_unknown.qp", "must be \"group\" or \"static\"" },
		{ "g_idx_out_of_range.qp", "element 2 is 2, not a group" },
		{ "g_idx_negative.qp", "element 2 is -1" },
		{ "g_idx_group_sizes.qp", "group 0 has 5 columns, expected 4" },
		{ "g_idx_dtype.qp", "dtype I64, expected I32" },
		{ "g_idx_shape.qp", "shape [7]" },
		{ "codes_out_of_range.qp", "element 11 is 8, not a int4 code" },
		{ "codes_dtype.qp", "dtype U8, expected I8" },
		{ "codes_shape.qp", "shape [8, 4]" },
	};
	struct qparams qp, back;
	struct qerr e;
	const struct qp_entry *w;
	char path[600];
	FILE *f;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = qparams_load(&qp, corpus(bad[i].file), &e);

		CHECKF(rc < 0 && strstr(e.msg, bad[i].why), "%s: %s", bad[i].file, rc < 0 ? e.msg : "accepted");
		if (rc == 0)
			qparams_free(&qp);
	}
	if (!t_check(qparams_load(&qp, corpus("gptq-act-order.qp"), &e) == 0, __FILE__, __LINE__, "%s", e.msg))
		return;
	w = qparams_find(&qp, "W");
	CHECK(w && w->act_order == QP_ACT_GROUP && w->g_idx && w->g_idx[0] == 1 && w->g_idx[7] == 0);
	CHECK(w && w->codes && qparams_code(w, 3) == -7 && qparams_code(w, 8 + 7) == 7);
	/* written and read back: the same */
	snprintf(path, sizeof path, "%s/back.qp", t_tmpdir());
	f = fopen(path, "wb");
	CHECK(f && qparams_write(&qp, f, &e) == 0);
	if (f)
		fclose(f);
	if (t_check(qparams_load(&back, path, &e) == 0, __FILE__, __LINE__, "%s", e.msg)) {
		const struct qp_entry *b = qparams_find(&back, "W");

		CHECK(b && w && b->act_order == QP_ACT_GROUP && memcmp(b->g_idx, w->g_idx, 8 * 4) == 0 &&
		    b->codes && memcmp(b->codes, w->codes, 32) == 0);
		qparams_free(&back);
	}
	qparams_free(&qp);
	CHECK(qparams_load(&qp, corpus("gptq-static.qp"), &e) == 0 &&
	    qparams_find(&qp, "W")->act_order == QP_ACT_STATIC && qparams_find(&qp, "W")->g_idx == NULL);
	qparams_free(&qp);
}

/* ---- GPTQ beats round-to-nearest on the layer output ---- */

static double
output_sse_rtn(const struct qscheme *s, int64_t rows, int64_t cols, const float *w,
    const float *x, int64_t n)
{
	struct qgrid g;
	struct qerr e;
	struct calib_opts co;
	float *sc, *wq = malloc((size_t)(rows * cols) * sizeof *wq);
	int32_t *zp;
	double r;

	linq_grid(s, rows, cols, &g, &e);
	sc = malloc((size_t)linq_ncells(&g) * sizeof *sc);
	zp = malloc((size_t)linq_ncells(&g) * sizeof *zp);
	calib_defaults(&co);
	calib_choose(s, &g, w, &co, sc, zp, 1, &e);
	ql_round_scales(QD_F16, sc, (size_t)linq_ncells(&g), &e);
	linq_fakequant(s, &g, w, sc, s->sym ? NULL : zp, wq, 1);
	r = gptq_output_sse(w, wq, rows, cols, x, n);
	free(sc), free(zp), free(wq);
	return r;
}

static double
output_sse_gptq(const struct qscheme *s, int64_t rows, int64_t cols, const float *w,
    const float *x, int64_t n, int act, int stat)
{
	struct result r = run(s, rows, cols, w, x, n, act, stat, 0, 2);
	struct qgrid g;
	struct qerr e;
	float *wq = malloc((size_t)(rows * cols) * sizeof *wq);
	double sse;

	linq_grid(s, rows, cols, &g, &e);
	gptq_dequantize(s, &g, r.q, r.scale, s->sym ? NULL : r.zp,
	    s->gran == QG_GROUP ? r.g_idx : NULL, wq);
	sse = r.rc == 0 ? gptq_output_sse(w, wq, rows, cols, x, n) : INFINITY;
	result_free(&r);
	free(wq);
	return sse;
}

/* Prints one line of figures in dB and checks GPTQ and act-order are clearly
 * below round-to-nearest. */
static void
compare(const char *label, const struct qscheme *s, int64_t rows, int64_t cols, const float *w,
    const float *x, int64_t n, double need)
{
	double rtn = output_sse_rtn(s, rows, cols, w, x, n);
	double gp = output_sse_gptq(s, rows, cols, w, x, n, 0, 0);
	double ao = output_sse_gptq(s, rows, cols, w, x, n, 1, 0);
	double st = s->gran == QG_GROUP ? output_sse_gptq(s, rows, cols, w, x, n, 1, 1) : ao;

	printf("# %-34s layer output error vs round-to-nearest: gptq %+.2f dB, act-order %+.2f dB, "
	    "act-order static groups %+.2f dB\n", label, 10 * log10(rtn / gp), 10 * log10(rtn / ao),
	    10 * log10(rtn / st));
	CHECKF(gp < rtn * need && ao < rtn * need, "%s: rtn %g, gptq %g, act-order %g", label, rtn, gp, ao);
}

TEST(gptq_beats_rtn_on_outlier_inputs)
{
	static const struct {
		const char *label;
		struct qscheme s;
	} cases[] = {
		{ "int4 g32", { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } } },
		{ "uint4 g32 asym", { QF_UINT4, 0, QG_GROUP, 0, 32, { 0, 0 } } },
		{ "int4 per channel", { QF_INT4, 1, QG_CHANNEL, 0, 0, { 0, 0 } } },
		{ "int8 per channel", { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } } },
	};
	int64_t rows = 48, cols = 192, n = 384;
	float *x = captures(n, cols, 0.15), *w = malloc((size_t)(rows * cols) * sizeof *w);

	for (int64_t i = 0; i < rows * cols; i++)
		w[i] = gauss() * 0.05f * (frand() > 0.98f ? 6 : 1);	/* a few large weights */
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		compare(cases[k].label, &cases[k].s, rows, cols, w, x, n, 0.8);
	free(x), free(w);
}

/* Real inputs: hf-tiny/llama's layer-0 attention inputs are its RMS-normed
 * token embeddings, computed here from the fixture. */
TEST(gptq_on_real_llama_inputs)
{
	const char *path = t_fixture("hf-tiny/llama/model.safetensors");
	struct st_file f;
	struct qerr e;
	const struct st_tensor *emb, *ln, *wt;
	static const char *const proj[] = { "q", "k", "v" };
	struct qscheme ch = { QF_INT4, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	int64_t n = 256;

	if (path == NULL) {
		t_skip("no fixtures");
		return;
	}
	if (!t_check(st_open(&f, path, &e) == 0, __FILE__, __LINE__, "%s", e.msg))
		return;
	emb = st_find(&f, "model.embed_tokens.weight");
	ln = st_find(&f, "model.layers.0.input_layernorm.weight");
	if (!t_check(emb && ln && emb->dtype == QD_F32 && ln->dtype == QD_F32 && emb->shape[1] <= 64 &&
	    ln->shape[0] == emb->shape[1], __FILE__, __LINE__, "fixture tensors")) {
		st_close(&f);
		return;
	}
	{
		int64_t vocab = (int64_t)emb->shape[0], hid = (int64_t)emb->shape[1];
		float *x = malloc((size_t)(n * hid) * sizeof *x), *wv, *lw;
		const float *ev;

		ev = (const float *)(const void *)emb->data;
		lw = malloc((size_t)hid * sizeof *lw);
		memcpy(lw, ln->data, (size_t)hid * sizeof *lw);
		for (int64_t t = 0; t < n; t++) {
			int64_t tok = (int64_t)((frand() + 1) / 2 * (float)vocab) % vocab;
			double ms = 0;
			float e0[64];

			memcpy(e0, ev + tok * hid, (size_t)hid * sizeof *e0);
			for (int64_t k = 0; k < hid; k++)
				ms += (double)e0[k] * e0[k];
			ms = 1 / sqrt(ms / (double)hid + 1e-5);
			for (int64_t k = 0; k < hid; k++)
				x[t * hid + k] = (float)(e0[k] * ms) * lw[k];
		}
		for (int i = 0; i < 3; i++) {
			char name[80], label[80];
			int64_t rows;

			snprintf(name, sizeof name, "model.layers.0.self_attn.%s_proj.weight", proj[i]);
			snprintf(label, sizeof label, "hf-tiny/llama %s_proj int4/channel", proj[i]);
			wt = st_find(&f, name);
			if (!t_check(wt && wt->dtype == QD_F32 && (int64_t)wt->shape[1] == hid, __FILE__,
			    __LINE__, "%s", name))
				continue;
			rows = (int64_t)wt->shape[0];
			wv = malloc((size_t)(rows * hid) * sizeof *wv);
			memcpy(wv, wt->data, (size_t)(rows * hid) * sizeof *wv);
			compare(label, &ch, rows, hid, wv, x, n, 1.0);
			free(wv);
		}
		free(x), free(lw);
	}
	st_close(&f);
}

int
main(void)
{
	RUN(fast_path_equals_reference);
	RUN(act_order_by_hand);
	RUN(round_trip_with_g_idx);
	RUN(qparams_g_idx_and_codes);
	RUN(gptq_beats_rtn_on_outlier_inputs);
	RUN(gptq_on_real_llama_inputs);
	return t_done();
}
