/* AWQ / SmoothQuant (awq.h) and the fold rules (smooth.h).  Expected values
 * are computed here by the plain definitions (naive loops in double), not
 * by the module's own helpers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "awq.h"
#include "calib.h"
#include "harness.h"
#include "linq.h"
#include "smooth.h"

static uint32_t rng = 777;

static float
frand(void)	/* uniform in [-1, 1) */
{
	rng = rng * 1664525u + 1013904223u;
	return (float)((rng >> 8) * (1.0 / 8388608.0)) - 1.0f;
}

TEST(fold_rules)
{
	static const struct {
		const char *w, *pred;
		enum smooth_how how;
		unsigned flags;
	} cases[] = {
		{ "model.layers.0.self_attn.q_proj.weight", "model.layers.0.input_layernorm.weight",
		  SMOOTH_NORM, SMOOTH_SQ | SMOOTH_NOCLIP },
		{ "model.layers.31.self_attn.v_proj.weight", "model.layers.31.input_layernorm.weight",
		  SMOOTH_NORM, SMOOTH_SQ },
		{ "model.layers.7.self_attn.o_proj.weight", "model.layers.7.self_attn.v_proj.weight",
		  SMOOTH_ROWS, 0 },
		{ "model.layers.12.mlp.up_proj.weight", "model.layers.12.post_attention_layernorm.weight",
		  SMOOTH_NORM, SMOOTH_SQ },
		{ "model.layers.12.mlp.down_proj.weight", "model.layers.12.mlp.up_proj.weight",
		  SMOOTH_ROWS, 0 },
	};
	static const char *const none[] = { "lm_head.weight", "model.layers.x.mlp.up_proj.weight",
		"model.layers.01.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.bias",
		"model.layers.1.mlp.up_proj", "model.layers..mlp.up_proj.weight",
		"model.layers.1.mlp.up_proj.weight.x", "model.layers.1.mlp.up_projj.weight" };
	char pred[200];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct smooth_rule *r = smooth_rule_for(cases[i].w, pred, sizeof pred);

		CHECKF(r != NULL, "%s: no rule", cases[i].w);
		if (r == NULL)
			continue;
		CHECK_STR(pred, cases[i].pred);
		CHECK_EQ_INT(r->how, cases[i].how);
		CHECK_EQ_INT(r->flags, cases[i].flags);
	}
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
		CHECKF(smooth_rule_for(none[i], pred, sizeof pred) == NULL, "%s has a rule", none[i]);
	CHECK(smooth_rule_for(cases[0].w, pred, 10) == NULL);	/* too small for the name */
}

TEST(fold_arithmetic)
{
	float w[6] = { 1, -2, 3, 0.5f, 7, -1 }, x[6], rd[2] = { 2, 3 }, cm[3] = { 0.5f, 4, 1.5f };
	float g[2] = { 0.25f, -0.5f }, s2[2] = { 2, 0.5f };
	struct smooth_fold f = { cm, rd, 0 }, n = { NULL, s2, 1 };

	memcpy(x, w, sizeof w);
	smooth_fold_apply(&f, x, 2, 3);
	for (int i = 0; i < 6; i++) {
		float want = (w[i] / rd[i / 3]) * cm[i % 3];	/* smooth.h's order */

		CHECKF(x[i] == want, "element %d: %g != %g", i, (double)x[i], (double)want);
	}
	smooth_fold_apply(&n, g, 2, 1);	/* a norm stored as w - 1 */
	CHECK(g[0] == (1.0f + 0.25f) / 2 - 1.0f);
	CHECK(g[1] == (1.0f - 0.5f) / 0.5f - 1.0f);
}

/* naive sum_i |x_i D^T|^2 */
static double
naive_sse(const float *x, int64_t n, const float *d, int64_t rows, int64_t cols)
{
	double s = 0;

	for (int64_t i = 0; i < n; i++)
		for (int64_t r = 0; r < rows; r++) {
			double y = 0;

			for (int64_t j = 0; j < cols; j++)
				y += (double)x[i * cols + j] * d[r * cols + j];
			s += y * y;
		}
	return s;
}

#define ROWS 24
#define COLS 32
#define N 64

static void
outlier_data(float *w, float *x)
{
	for (int i = 0; i < ROWS * COLS; i++)
		w[i] = frand();
	for (int i = 0; i < N; i++)
		for (int j = 0; j < COLS; j++)
			x[i * COLS + j] = frand() * (j == 3 || j == 17 ? 40.0f : 1.0f);
}

TEST(output_error_is_the_definition)
{
	static float w[ROWS * COLS], x[N * COLS], m[COLS];
	struct awq_input in = { x, N, NULL, COLS, NULL }, im = { NULL, 0, m, COLS, NULL };
	double want = 0;

	outlier_data(w, x);
	/* float lanes: 1e-6 relative */
	CHECK(fabs(awq_out_sse(&in, w, ROWS, COLS, 3) - naive_sse(x, N, w, ROWS, COLS)) <=
	    1e-6 * naive_sse(x, N, w, ROWS, COLS));
	for (int j = 0; j < COLS; j++)
		m[j] = (float)(j + 1);
	for (int r = 0; r < ROWS; r++)
		for (int j = 0; j < COLS; j++)
			want += (j + 1) * (double)w[r * COLS + j] * w[r * COLS + j];
	CHECK(fabs(awq_out_sse(&im, w, ROWS, COLS, 2) - want) <= 1e-9 * want);
}

TEST(awq_search_beats_rtn)
{
	static float w[ROWS * COLS], x[N * COLS], s[COLS], wq[ROWS * COLS], d[ROWS * COLS];
	struct qscheme sc = { QF_INT4, 0, QG_GROUP, 0, 16, { 0, 0 } };
	struct qgrid g;
	struct awq_input in = { x, N, NULL, COLS, NULL };
	struct awq_opts o;
	const float *ws[1] = { w };
	int64_t rows[1] = { ROWS };
	double alpha, loss, loss_rtn, mx = 0, mn = INFINITY;
	struct calib_opts mm;
	float scale[ROWS * 2];
	int32_t zp[ROWS * 2];
	struct qerr e;

	outlier_data(w, x);
	awq_defaults(&o);
	CHECK(awq_search(&sc, ws, rows, 1, &in, &o, s, &alpha, &loss, &loss_rtn, 2, &e) == 0);
	/* alpha = 0 is round-to-nearest: the same error computed here */
	calib_defaults(&mm);
	CHECK(linq_grid(&sc, ROWS, COLS, &g, &e) == 0);
	CHECK(calib_choose(&sc, &g, w, &mm, scale, zp, 1, &e) == 0);
	linq_fakequant(&sc, &g, w, scale, zp, wq, 1);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] = w[i] - wq[i];
	CHECKF(fabs(loss_rtn - naive_sse(x, N, d, ROWS, COLS)) <= 1e-6 * loss_rtn, "rtn %g vs %g",
	    loss_rtn, naive_sse(x, N, d, ROWS, COLS));
	CHECKF(loss < 0.7 * loss_rtn, "AWQ %g not well below RTN %g", loss, loss_rtn);
	CHECK(alpha > 0 && alpha < 1);
	for (int j = 0; j < COLS; j++) {
		mx = fmax(mx, s[j]);
		mn = fmin(mn, s[j]);
	}
	CHECKF(fabs(mx * mn - 1) < 1e-5, "not normalised: max %g min %g", mx, mn);
	CHECK(s[3] > 2 * s[0] && s[17] > 2 * s[0]);	/* the outlier channels are scaled up */
	/* the chosen s reproduces the chosen loss */
	for (int r = 0; r < ROWS; r++)
		for (int j = 0; j < COLS; j++)
			wq[r * COLS + j] = w[r * COLS + j] * s[j];
	CHECK(calib_choose(&sc, &g, wq, &mm, scale, zp, 1, &e) == 0);
	linq_fakequant(&sc, &g, wq, scale, zp, wq, 1);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] = w[i] - wq[i] / s[i % COLS];
	CHECK(fabs(loss - naive_sse(x, N, d, ROWS, COLS)) <= 1e-6 * loss);
}

TEST(clip_never_worse_than_minmax)
{
	static float w[ROWS * COLS], x[N * COLS], wq[ROWS * COLS], d[ROWS * COLS];
	struct qscheme sc = { QF_INT4, 1, QG_GROUP, 0, 8, { 0, 0 } };
	struct qgrid g;
	struct awq_input in = { x, N, NULL, COLS, NULL };
	struct awq_opts o;
	float s1[ROWS * 4], s2[ROWS * 4];
	int32_t z1[ROWS * 4], z2[ROWS * 4];
	struct calib_opts mm;
	struct qerr e;
	double e_clip, e_mm;

	outlier_data(w, x);
	for (int j = 0; j < COLS; j++)	/* one big weight per row: clipping pays */
		w[(j % ROWS) * COLS + j] = 6;
	awq_defaults(&o);
	calib_defaults(&mm);
	CHECK(linq_grid(&sc, ROWS, COLS, &g, &e) == 0);
	CHECK(awq_clip(&sc, &g, w, &in, &o, s1, z1, 2, &e) == 0);
	CHECK(calib_choose(&sc, &g, w, &mm, s2, z2, 1, &e) == 0);
	linq_fakequant(&sc, &g, w, s1, NULL, wq, 1);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] = w[i] - wq[i];
	e_clip = naive_sse(x, N, d, ROWS, COLS);
	linq_fakequant(&sc, &g, w, s2, NULL, wq, 1);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] = w[i] - wq[i];
	e_mm = naive_sse(x, N, d, ROWS, COLS);
	CHECKF(e_clip <= e_mm, "clip %g > minmax %g", e_clip, e_mm);
	/* one step (f = 1 only) is min-max exactly */
	o.max_shrink = 0.01;
	CHECK(awq_clip(&sc, &g, w, &in, &o, s1, z1, 2, &e) == 0);
	CHECK(memcmp(s1, s2, sizeof(float) * (size_t)linq_ncells(&g)) == 0);
}

TEST(smoothquant_factors)
{
	float xm[4] = { 16, 1, 0, 100 }, wm[4] = { 0.25f, 4, 1, 0 }, s[4];

	sq_factors(xm, wm, 4, 0.5, s);
	CHECK(fabsf(s[0] - 8.0f) < 1e-5f);	/* 16^0.5 / 0.25^0.5 */
	CHECK(fabsf(s[1] - 0.5f) < 1e-6f);
	CHECK(s[2] > 0 && isfinite(s[2]));	/* a dead channel stays finite */
	CHECK(s[3] > 0 && isfinite(s[3]));
	sq_factors(xm, wm, 4, 1.0, s);
	CHECK(fabsf(s[0] - 16.0f) < 1e-5f);
}

int
main(void)
{
	RUN(fold_rules);
	RUN(fold_arithmetic);
	RUN(output_error_is_the_definition);
	RUN(awq_search_beats_rtn);
	RUN(clip_never_worse_than_minmax);
	RUN(smoothquant_factors);
	return t_done();
}
