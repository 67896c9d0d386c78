/* awq_run: AWQ or SmoothQuant over a checkpoint (awq.h). */
#define _GNU_SOURCE	/* strdup */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "awq.h"
#include "smooth.h"
#include "threads.h"

/* A weight's inputs: its captures (at most `tokens` rows, evenly strided;
 * absmean, when not NULL, gets mean |x_j| over all the rows, as AutoAWQ
 * takes it) or its importance-matrix entry.  0: found, 1: absent, -1: error. */
static int
get_input(const struct awq_source *src, const struct arch_def *a, const char *wname,
    int64_t cols, int64_t tokens, float **x, int64_t *n, float **msq, double *absmean,
    struct qerr *e)
{
	char name[1200];

	*x = *msq = NULL;
	*n = 0;
	if (src->captures) {
		const struct st_tensor *t;
		int64_t step = 1, m;

		snprintf(name, sizeof name, "%s.input", wname);
		if ((t = st_find(src->captures, name)) == NULL)
			return 1;
		if (t->dtype != QD_F32 || t->ndim != 2 || t->shape[1] != (uint64_t)cols || t->shape[0] == 0)
			return qerr_set(e, "%s: F32 [n, %lld] expected (the weight has %lld input "
			    "channels), found %s of rank %d with %llu columns", name, (long long)cols,
			    (long long)cols, qdtype_table[t->dtype].name, t->ndim,
			    (unsigned long long)(t->ndim ? t->shape[t->ndim - 1] : 0));
		m = (int64_t)t->shape[0];
		if (tokens > 0 && m > tokens)
			step = m / tokens;
		*n = (m + step - 1) / step;
		if ((*x = malloc((size_t)(*n * cols) * sizeof **x)) == NULL)
			return qerr_set(e, "out of memory");
		for (int64_t i = 0; i < *n; i++)	/* memcpy: the mapped data may be unaligned */
			memcpy(*x + i * cols, t->data + (size_t)(i * step * cols) * 4, (size_t)cols * 4);
		for (int64_t i = 0; i < *n * cols; i++)
			if (!isfinite((*x)[i])) {
				free(*x);
				*x = NULL;
				return qerr_set(e, "%s: row %lld: not a finite number", name,
				    (long long)(i / cols * step));
			}
		for (int64_t j = 0; absmean && j < cols; j++)
			absmean[j] = 0;
		for (int64_t i = 0; absmean && i < m; i++)
			for (int64_t j = 0; j < cols; j++) {
				float v;

				memcpy(&v, t->data + (size_t)(i * cols + j) * 4, 4);
				if (!isfinite(v)) {
					free(*x);
					*x = NULL;
					return qerr_set(e, "%s: row %lld: not a finite number", name,
					    (long long)i);
				}
				absmean[j] += fabs(v) / (double)m;
			}
		return 0;
	}
	if (src->im) {
		const struct imatrix_entry *en = NULL;
		enum arch_role role;
		int layer, expert;

		if (a && arch_map_name(a, wname, name, sizeof name, &role, &layer, &expert))
			en = imatrix_find(src->im, name);
		if (en == NULL)
			en = imatrix_find(src->im, wname);
		if (en == NULL)
			return 1;
		if (en->n != (uint64_t)cols)
			return qerr_set(e, "imatrix: %s: %llu values for a weight of %lld input channels",
			    en->name, (unsigned long long)en->n, (long long)cols);
		if ((*msq = malloc((size_t)cols * sizeof **msq)) == NULL)
			return qerr_set(e, "out of memory");
		for (int64_t j = 0; j < cols; j++) {
			(*msq)[j] = en->values[j];
			if (!(en->values[j] >= 0) || isinf(en->values[j])) {
				free(*msq);
				*msq = NULL;
				return qerr_set(e, "imatrix: %s: value %lld is not a finite mean square",
				    en->name, (long long)j);
			}
		}
		return 0;
	}
	return 1;
}

/* ---- output errors ---- */

struct pair_ctx {
	const float *xa, *wa, *xb, *wb;
	int64_t n, cols;
	double *x2, *e2, *mx;
};

static void
pair_rows(void *vc, size_t b, size_t end, int worker)
{
	struct pair_ctx *c = vc;

	(void)worker;
	for (size_t r = b; r < end; r++) {
		const float *wa = c->wa + (int64_t)r * c->cols, *wb = c->wb + (int64_t)r * c->cols;
		double x2 = 0, e2 = 0, mx = 0;

		for (int64_t i = 0; i < c->n; i++) {
			const float *xa = c->xa + i * c->cols, *xb = c->xb + i * c->cols;
			double ya = awq_dot(xa, wa, c->cols), yb = awq_dot(xb, wb, c->cols);

			x2 += ya * ya;
			e2 += (ya - yb) * (ya - yb);
			mx = fmax(mx, fabs(ya - yb));
		}
		c->x2[r] = x2, c->e2[r] = e2, c->mx[r] = mx;
	}
}

/* |xa wa^T - xb wb^T| over n samples; without samples, the msq-weighted
 * error of wa - wb (msq NULL: plain). */
static int
out_err(const float *xa, const float *wa, const float *xb, const float *wb, int64_t n,
    const float *msq, int64_t rows, int64_t cols, int jobs, struct calib_err *r, struct qerr *e)
{
	memset(r, 0, sizeof *r);
	if (xa) {
		struct pair_ctx c = { xa, wa, xb, wb, n, cols, malloc((size_t)rows * 8),
			malloc((size_t)rows * 8), malloc((size_t)rows * 8) };

		if (c.x2 == NULL || c.e2 == NULL || c.mx == NULL) {
			free(c.x2), free(c.e2), free(c.mx);
			return qerr_set(e, "out of memory");
		}
		qpool_for(jobs, (size_t)rows, 4, pair_rows, &c);
		for (int64_t i = 0; i < rows; i++) {
			r->sum_x2 += c.x2[i];
			r->sum_e2 += c.e2[i];
			r->max_abs = fmax(r->max_abs, c.mx[i]);
		}
		r->n = (uint64_t)(n * rows);
		free(c.x2), free(c.e2), free(c.mx);
		return 0;
	}
	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++) {
			double m = msq ? msq[j] : 1.0, a = wa[i * cols + j], d = a - wb[i * cols + j];

			r->sum_x2 += m * a * a;
			r->sum_e2 += m * d * d;
			r->max_abs = fmax(r->max_abs, fabs(d) * sqrt(m));
		}
	r->n = (uint64_t)(rows * cols);
	return 0;
}

/* x fake-quantized as per-tensor static int8 (range by the act method) */
static int
act_fakequant(const float *x, int64_t n, const struct awq_job *j, float *out, float range[2],
    struct qerr *e)
{
	float sc;
	int32_t zp;

	if (calib_act_range(x, (size_t)n, j->am, QF_INT8, j->pct, range, e) < 0)
		return -1;
	calib_from_range(QF_INT8, 1, range[0], range[1], &sc, &zp);
	for (int64_t i = 0; i < n; i++)
		out[i] = linq_dequant1(QF_INT8, linq_quant1(QF_INT8, x[i], sc, zp), sc, zp);
	return 0;
}

/* ---- the run ---- */

struct wt {
	int picked, smoothable;
	int leader;		/* first weight of its sharing group (itself if none) */
	int input_from;		/* the tensor whose inputs it reads; -1: none */
	char pred[1100];
};

static int
load(const struct ckpt *ck, size_t i, float **x, struct qerr *e)
{
	if (wsel_load_f32(ck->tensors[i].t, x, e) < 0)
		return -1;
	return 0;
}

static int
smoothable(const struct ckpt *ck, const struct st_tensor *t, enum awq_method m, char *pred,
    size_t predsz)
{
	const struct smooth_rule *r;
	const struct ckpt_tensor *p;

	if (t->ndim != 2 || (r = smooth_rule_for(t->name, pred, predsz)) == NULL)
		return 0;
	if (m == AWQ_SMOOTHQUANT && !(r->flags & SMOOTH_SQ))
		return 0;
	if ((p = ckpt_find(ck, pred)) == NULL)
		return 0;
	/* AutoAWQ: o_proj only when v_proj's rows match (no grouped-query heads) */
	return r->how == SMOOTH_NORM ? p->t->ndim == 1 && p->t->shape[0] == t->shape[1] :
	    p->t->ndim == 2 && p->t->shape[0] == t->shape[1];
}

/* Pass 1: one sharing group's s; adds its weights to qp. */
static int
group_factors(struct qparams *qp, const struct ckpt *ck, struct wt *w, size_t lead,
    const struct awq_source *src, const struct arch_def *a, const struct awq_job *j,
    struct qerr *e)
{
	const struct st_tensor *t0 = ck->tensors[lead].t;
	int64_t cols = (int64_t)t0->shape[1], n = 0, rows[64];
	float *x = NULL, *msq = NULL, *ws[64] = { 0 }, *s = malloc((size_t)cols * sizeof *s);
	double *xbar = malloc((size_t)cols * sizeof *xbar);
	size_t mem[64];
	int k = 0, rc = -1, from = -1;
	double alpha = NAN;

	if (s == NULL || xbar == NULL) {
		free(s);
		free(xbar);
		return qerr_set(e, "out of memory");
	}
	for (size_t i = lead; i < ck->n_tensors && k < 64; i++) {
		float *xi, *mi;
		int64_t ni;
		int got;

		if (!w[i].picked || !w[i].smoothable || w[i].leader != (int)lead)
			continue;
		mem[k++] = i;
		got = get_input(src, a, ck->tensors[i].t->name, cols, j->o.tokens, &xi, &ni, &mi,
		    x == NULL && msq == NULL ? xbar : NULL, e);
		if (got < 0)
			goto out;
		if (got == 0 && x == NULL && msq == NULL) {
			x = xi, msq = mi, n = ni;
			from = (int)i;
		} else {
			free(xi);
			free(mi);
		}
	}
	if (x == NULL && msq == NULL) {
		qerr_set(e, "%s: no %s for it or the weights sharing its input (%s.input)", t0->name,
		    src->captures ? "captures" : "importance-matrix entry", t0->name);
		goto out;
	}
	for (int m = 0; m < k; m++)
		w[mem[m]].input_from = from;
	for (int m = 0; m < k; m++) {
		if (load(ck, mem[m], &ws[m], e) < 0)
			goto out;
		rows[m] = (int64_t)ck->tensors[mem[m]].t->shape[0];
	}
	if (j->method == AWQ_AWQ) {
		struct awq_input in = { x, n, msq, cols, x ? xbar : NULL };
		double loss, loss_rtn;

		if (awq_search(&j->s, (const float *const *)ws, rows, k, &in, &j->o, s, &alpha, &loss,
		    &loss_rtn, j->jobs, e) < 0) {
			qerr_prefix(e, "%s", t0->name);
			goto out;
		}
	} else {
		float *xmax = calloc((size_t)cols, sizeof *xmax), *wmax = calloc((size_t)cols, sizeof *wmax);

		if (x == NULL) {
			free(xmax), free(wmax);
			qerr_set(e, "%s: SmoothQuant needs captured samples (max |x| per channel), "
			    "not an importance matrix", t0->name);
			goto out;
		}
		if (xmax == NULL || wmax == NULL) {
			free(xmax), free(wmax);
			qerr_set(e, "out of memory");
			goto out;
		}
		for (int64_t i = 0; i < n * cols; i++)
			xmax[i % cols] = fmaxf(xmax[i % cols], fabsf(x[i]));
		for (int m = 0; m < k; m++)
			for (int64_t i = 0; i < rows[m] * cols; i++)
				wmax[i % cols] = fmaxf(wmax[i % cols], fabsf(ws[m][i]));
		sq_factors(xmax, wmax, cols, j->alpha, s);
		alpha = j->alpha;
		free(xmax), free(wmax);
	}
	for (int m = 0; m < k; m++) {
		const struct st_tensor *t = ck->tensors[mem[m]].t;
		struct qp_entry *en = qparams_add(qp, t->name, &j->s, t->ndim, t->shape, e);

		if (en == NULL)
			goto out;
		if ((en->smooth = malloc((size_t)cols * sizeof *s)) == NULL) {
			qerr_set(e, "out of memory");
			goto out;
		}
		memcpy(en->smooth, s, (size_t)cols * sizeof *s);
		en->alpha = alpha;
	}
	rc = 0;
out:
	for (int m = 0; m < k; m++) {
		free(ws[m]);
		wsel_release(ck->tensors[mem[m]].file, ck->tensors[mem[m]].t);
	}
	free(x);
	free(msq);
	free(s);
	free(xbar);
	return rc;
}

/* Pass 2: the scales of one weight, on its folded, smoothed values, and
 * the errors. */
static int
weight_scales(struct qparams *qp, size_t k, const struct ckpt *ck, const struct wt *w,
    const struct smooth_fold *folds, const struct awq_source *src, const struct arch_def *a,
    const struct awq_job *j, struct awq_result *res, struct qerr *e)
{
	struct qp_entry *en = &qp->w[k];
	const struct ckpt_tensor *ct = ckpt_find(ck, en->name);
	size_t idx = (size_t)(ct - ck->tensors);
	int64_t rows = en->g.rows, cols = en->g.cols, n = 0, nel = rows * cols;
	float *w0 = NULL, *wf = NULL, *x = NULL, *msq = NULL, *xs = NULL, *weff = NULL, *tmp = NULL;
	float *bsc = NULL;
	int32_t *bzp = NULL;
	const float *s = en->smooth, *rd = folds[idx].row_div;
	struct calib_err werr;
	int rc = -1;

	if (load(ck, idx, &w0, e) < 0)
		return -1;
	if ((wf = malloc((size_t)nel * sizeof *wf)) == NULL || (weff = malloc((size_t)nel * sizeof *weff)) == NULL ||
	    (tmp = malloc((size_t)nel * sizeof *tmp)) == NULL ||
	    (bsc = malloc((size_t)linq_ncells(&en->g) * sizeof *bsc)) == NULL ||
	    (bzp = malloc((size_t)linq_ncells(&en->g) * sizeof *bzp)) == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	memcpy(wf, w0, (size_t)nel * sizeof *wf);
	smooth_fold_apply(&folds[idx], wf, rows, cols);
	if (w[idx].input_from >= 0 && get_input(src, a, ck->tensors[w[idx].input_from].t->name, cols,
	    j->o.tokens, &x, &n, &msq, NULL, e) < 0)
		goto out;
	if (x && (xs = malloc((size_t)(n * cols) * sizeof *xs)) == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	for (int64_t i = 0; x && i < n * cols; i++)
		xs[i] = s ? x[i] / s[i % cols] : x[i];
	if (j->method == AWQ_AWQ) {
		struct smooth_rule const *r;
		char pred[1100];
		float *ms = NULL;
		struct awq_input in = { xs, n, msq, cols, NULL };
		struct awq_opts o = j->o;

		if (msq && s) {	/* the mean squares of x / s */
			if ((ms = malloc((size_t)cols * sizeof *ms)) == NULL) {
				qerr_set(e, "out of memory");
				goto out;
			}
			for (int64_t c = 0; c < cols; c++)
				ms[c] = msq[c] / (s[c] * s[c]);
			in.msq = ms;
		}
		r = smooth_rule_for(en->name, pred, sizeof pred);
		if (r && (r->flags & SMOOTH_NOCLIP))
			o.clip = 0;
		rc = awq_clip(&en->s, &en->g, wf, &in, &o, en->scale, en->zp, j->jobs, e);
		free(ms);
		if (rc < 0)
			goto out;
		rc = -1;
	} else if (calib_choose(&en->s, &en->g, wf, &j->co, en->scale, en->zp, j->jobs, e) < 0) {
		goto out;
	}
	/* the baseline: min-max (AWQ) or the same weight method (SmoothQuant), unsmoothed */
	{
		struct calib_opts mm = j->co;

		if (j->method == AWQ_AWQ)
			calib_defaults(&mm);
		if (calib_choose(&en->s, &en->g, w0, &mm, bsc, bzp, j->jobs, e) < 0)
			goto out;
		linq_fakequant(&en->s, &en->g, w0, bsc, en->s.sym ? NULL : bzp, tmp, j->jobs);
	}
	linq_fakequant(&en->s, &en->g, wf, en->scale, en->zp, weff, j->jobs);
	if (j->method == AWQ_SMOOTHQUANT && x) {
		float range[2], *xq = malloc((size_t)(n * cols) * sizeof *xq);
		float *xq0 = malloc((size_t)(n * cols) * sizeof *xq0);
		struct qp_range *ar;

		if (xq == NULL || xq0 == NULL) {
			free(xq), free(xq0);
			qerr_set(e, "out of memory");
			goto out;
		}
		if (act_fakequant(xs, n * cols, j, xq, range, e) < 0 ||
		    out_err(x, w0, xq, weff, n, NULL, rows, cols, j->jobs, &res->chosen, e) < 0 ||
		    act_fakequant(x, n * cols, j, xq0, range + 0, e) < 0 ||
		    out_err(x, w0, xq0, tmp, n, NULL, rows, cols, j->jobs, &res->base, e) < 0) {
			free(xq), free(xq0);
			goto out;
		}
		free(xq), free(xq0);
		if (j->act_ranges) {	/* the range of x / s, as the smoothed weight sees it */
			char name[1200];

			if (calib_act_range(xs, (size_t)(n * cols), j->am, QF_INT8, j->pct, range, e) < 0)
				goto out;
			snprintf(name, sizeof name, "%s.input", en->name);
			if ((ar = realloc(qp->a, (qp->n_a + 1) * sizeof *ar)) == NULL)
				goto oom;
			qp->a = ar;
			ar = &qp->a[qp->n_a];
			memset(ar, 0, sizeof *ar);
			if ((ar->name = strdup(name)) == NULL || (ar->minmax = malloc(8)) == NULL) {
				qp->n_a++;
				goto oom;
			}
			memcpy(ar->minmax, range, 8);
			qp->n_a++;
		}
	}
	/* the weight as the model will see it, in the original coordinates */
	for (int64_t i = 0; i < nel; i++) {
		if (s)
			weff[i] /= s[i % cols];
		if (rd)
			weff[i] *= rd[i / cols];
	}
	calib_measure(w0, weff, (size_t)nel, &werr);
	if (!(j->method == AWQ_SMOOTHQUANT && x) && (out_err(x, w0, x, weff, n, msq, rows, cols, j->jobs, &res->chosen, e) < 0 ||
	    out_err(x, w0, x, tmp, n, msq, rows, cols, j->jobs, &res->base, e) < 0))
		goto out;
	res->name = en->name;
	res->alpha = en->alpha;
	snprintf(en->method, sizeof en->method, "%s", j->method == AWQ_AWQ ? "awq" : "smoothquant");
	en->sqnr_db = calib_sqnr_db(&werr);
	en->rmse = calib_rmse(&werr);
	en->max_error = werr.max_abs;
	en->output_sqnr_db = calib_sqnr_db(&res->chosen);
	en->baseline_output_sqnr_db = calib_sqnr_db(&res->base);
	rc = 0;
	goto out;
oom:
	qerr_set(e, "out of memory");
out:
	wsel_release(ct->file, ct->t);
	free(w0), free(wf), free(x), free(msq), free(xs), free(weff), free(tmp), free(bsc), free(bzp);
	return rc;
}

int
awq_run(struct qparams *qp, const struct ckpt *ck, const struct wsel *sel,
    const struct awq_source *src, const struct awq_job *j, struct awq_result **res,
    size_t *nres, struct qerr *e)
{
	struct wt *w = calloc(ck->n_tensors + 1, sizeof *w);
	struct smooth_fold *folds = calloc(ck->n_tensors + 1, sizeof *folds);
	const struct arch_def *a = NULL;
	int rc = -1;

	*res = NULL;
	*nres = 0;
	if (w == NULL || folds == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	if (ck->config) {
		const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ck->config, "model_type");
		const cJSON *ar = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ck->config,
		    "architectures"), 0);

		a = arch_find(cJSON_IsString(mt) ? mt->valuestring : NULL,
		    cJSON_IsString(ar) ? ar->valuestring : NULL);
	}
	/* sharing groups: the weights that fold into one op */
	for (size_t i = 0; i < ck->n_tensors; i++) {
		const struct st_tensor *t = ck->tensors[i].t;
		int64_t r, c;

		w[i].leader = (int)i;
		w[i].input_from = -1;
		if (!wsel_pick(sel, t->name, t->dtype, t->ndim))
			continue;
		if (qparams_matrix(t->ndim, t->shape, &r, &c, e) < 0) {
			qerr_prefix(e, "%s", t->name);
			goto out;
		}
		w[i].picked = 1;
		w[i].smoothable = smoothable(ck, t, j->method, w[i].pred, sizeof w[i].pred);
		for (size_t p = 0; w[i].smoothable && p < i; p++)
			if (w[p].picked && w[p].smoothable && w[p].leader == (int)p &&
			    strcmp(w[p].pred, w[i].pred) == 0) {
				w[i].leader = (int)p;
				break;
			}
	}
	for (size_t i = 0; i < ck->n_tensors; i++) {
		const struct st_tensor *t = ck->tensors[i].t;
		float *x, *msq;
		int64_t n;
		int got;

		if (!w[i].picked)
			continue;
		if (w[i].smoothable) {
			if (w[i].leader == (int)i && group_factors(qp, ck, w, i, src, a, j, e) < 0)
				goto out;
			continue;
		}
		if (qparams_add(qp, t->name, &j->s, t->ndim, t->shape, e) == NULL)
			goto out;
		got = t->ndim == 2 ? get_input(src, a, t->name, (int64_t)t->shape[1], 1, &x, &n, &msq,
		    NULL, e) : 1;
		if (got < 0)
			goto out;
		if (got == 0) {
			w[i].input_from = (int)i;
			free(x);
			free(msq);
		}
	}
	if (qp->n_w == 0) {
		rc = 0;
		goto out;
	}
	if (smooth_fold_plan(ck, qp, smooth_norm_plus_one(ck), folds, e) < 0)
		goto out;
	if ((*res = calloc(qp->n_w, sizeof **res)) == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < qp->n_w; k++) {
		if (weight_scales(qp, k, ck, w, folds, src, a, j, &(*res)[k], e) < 0) {
			qerr_prefix(e, "%s", qp->w[k].name);
			goto out;
		}
		(*nres)++;
	}
	rc = 0;
out:
	free(w);
	free(folds);
	return rc;
}
