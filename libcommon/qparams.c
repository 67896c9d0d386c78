#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qblock.h"
#include "qparams.h"
#include "safetensors.h"

/* Metadata keys that are not tensor schemes. */
static const char *const reserved_keys[] = { "format", "version", "producer", "plan" };

static int
is_reserved(const char *k)
{
	for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
		if (strcmp(k, reserved_keys[i]) == 0)
			return 1;
	return 0;
}

int
qparams_matrix(int ndim, const uint64_t *shape, int64_t *rows, int64_t *cols, struct qerr *e)
{
	uint64_t r = 1;

	if (ndim < 0 || ndim > QP_MAX_DIMS)
		return qerr_set(e, "rank %d: at most %d dimensions", ndim, QP_MAX_DIMS);
	for (int i = 0; i + 1 < ndim; i++) {
		if (shape[i] != 0 && r > (UINT64_C(1) << 48) / shape[i])
			return qerr_set(e, "shape too large");
		r *= shape[i];
	}
	*rows = (int64_t)r;
	*cols = ndim > 0 ? (int64_t)shape[ndim - 1] : 1;
	if (ndim > 0 && shape[ndim - 1] > (UINT64_C(1) << 48))
		return qerr_set(e, "shape too large");
	if (*rows == 0 || *cols == 0)
		return qerr_set(e, "empty tensor");
	return 0;
}

void
qparams_free(struct qparams *qp)
{
	for (size_t i = 0; i < qp->n_w; i++) {
		free(qp->w[i].name);
		free(qp->w[i].scale);
		free(qp->w[i].zp);
		free(qp->w[i].smooth);
		free(qp->w[i].g_idx);
		free(qp->w[i].min);
	}
	if (qp->file) {
		st_close(qp->file);
		free(qp->file);
	}
	for (size_t i = 0; i < qp->n_a; i++) {
		free(qp->a[i].name);
		free(qp->a[i].minmax);
	}
	free(qp->w);
	free(qp->a);
	free(qp->plan);
	memset(qp, 0, sizeof *qp);
}

const struct qp_entry *
qparams_find(const struct qparams *qp, const char *name)
{
	for (size_t i = 0; i < qp->n_w; i++)
		if (strcmp(qp->w[i].name, name) == 0)
			return &qp->w[i];
	return NULL;
}

static struct qp_entry *
new_entry(struct qparams *qp, const char *name, struct qerr *e)
{
	struct qp_entry *w;

	if (qparams_find(qp, name))
		return qerr_set(e, "%s: listed twice", name), NULL;
	w = realloc(qp->w, (qp->n_w + 1) * sizeof *w);
	if (w == NULL)
		return qerr_set(e, "out of memory"), NULL;
	qp->w = w;
	w = &qp->w[qp->n_w];
	memset(w, 0, sizeof *w);
	w->name = strdup(name);
	if (w->name == NULL)
		return qerr_set(e, "out of memory"), NULL;
	w->sqnr_db = w->rmse = w->max_error = NAN;
	w->alpha = w->output_sqnr_db = w->baseline_output_sqnr_db = NAN;
	qp->n_w++;
	return w;
}

/* Scale, zero point and minimum arrays for w's scheme. */
static int
alloc_params(struct qp_entry *w, struct qerr *e)
{
	const struct qblock_info *b = qblock_info(w->s.fmt);
	size_t nc = (size_t)linq_ncells(&w->g);

	if (b)
		w->s.sym = !b->has_min;
	w->scale = calloc(nc, sizeof *w->scale);
	if (!w->s.sym && b == NULL)
		w->zp = calloc(nc, sizeof *w->zp);
	if (b && b->has_min)
		w->min = calloc(nc, sizeof *w->min);
	if (w->scale == NULL || (!w->s.sym && b == NULL && w->zp == NULL) ||
	    (b && b->has_min && w->min == NULL))
		return qerr_set(e, "%s: out of memory for %zu scales", w->name, nc);
	return 0;
}

struct qp_entry *
qparams_add(struct qparams *qp, const char *name, const struct qscheme *s, int ndim,
    const uint64_t *shape, struct qerr *e)
{
	struct qgrid g;
	int64_t rows, cols;
	struct qp_entry *w;

	if (is_reserved(name))
		return qerr_set(e, "%s: a reserved metadata key cannot name a tensor", name), NULL;
	if (qparams_matrix(ndim, shape, &rows, &cols, e) < 0 ||
	    linq_grid(s, rows, cols, &g, e) < 0) {
		qerr_prefix(e, "%s", name);
		return NULL;
	}
	if ((w = new_entry(qp, name, e)) == NULL)
		return NULL;
	w->s = *s;
	w->g = g;
	w->ndim = ndim;
	memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
	if (alloc_params(w, e) < 0)
		return NULL;
	return w;
}

char *
qparams_scheme_json(const struct qp_entry *w)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *s;

	cJSON_AddStringToObject(o, "format", qscheme_fmt_name(w->s.fmt));
	cJSON_AddStringToObject(o, "granularity", qgran_names[w->s.gran]);
	if (w->s.gran == QG_CHANNEL)
		cJSON_AddNumberToObject(o, "axis", w->s.axis);
	if (w->s.gran == QG_GROUP)
		cJSON_AddNumberToObject(o, "group_size", (double)w->s.group);
	if (w->s.gran == QG_BLOCK) {
		a = cJSON_AddArrayToObject(o, "block");
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)w->s.block[0]));
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)w->s.block[1]));
	}
	cJSON_AddBoolToObject(o, "symmetric", w->s.sym);
	if (w->act_order != QP_ACT_NONE)
		cJSON_AddStringToObject(o, "act_order", w->act_order == QP_ACT_GROUP ? "group" : "static");
	a = cJSON_AddArrayToObject(o, "shape");
	for (int i = 0; i < w->ndim; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)w->shape[i]));
	if (w->method[0])
		cJSON_AddStringToObject(o, "method", w->method);
	if (isfinite(w->sqnr_db))
		cJSON_AddNumberToObject(o, "sqnr_db", w->sqnr_db);
	if (isfinite(w->rmse))
		cJSON_AddNumberToObject(o, "rmse", w->rmse);
	if (isfinite(w->max_error))
		cJSON_AddNumberToObject(o, "max_error", w->max_error);
	if (isfinite(w->alpha))
		cJSON_AddNumberToObject(o, "alpha", w->alpha);
	if (isfinite(w->output_sqnr_db))
		cJSON_AddNumberToObject(o, "output_sqnr_db", w->output_sqnr_db);
	if (isfinite(w->baseline_output_sqnr_db))
		cJSON_AddNumberToObject(o, "baseline_output_sqnr_db", w->baseline_output_sqnr_db);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* ---- reading ---- */

static int
json_uint(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0 && d <= (double)max) || d != floor(d))
		return -1;
	*out = (uint64_t)d;
	return 0;
}

static int
parse_scheme(struct qp_entry *w, const char *json, struct qerr *e)
{
	static const char *const known[] = { "format", "granularity", "axis", "group_size",
		"block", "symmetric", "shape", "method", "sqnr_db", "rmse", "max_error", "alpha",
		"output_sqnr_db", "baseline_output_sqnr_db", "act_order" };
	cJSON *o = cJSON_Parse(json), *v;
	uint64_t u;
	int n, rc = -1;
	int64_t rows, cols;

	if (o == NULL || !cJSON_IsObject(o)) {
		qerr_set(e, "%s: scheme is not a JSON object", w->name);
		goto out;
	}
	cJSON_ArrayForEach(v, o) {
		size_t i;

		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (v->string && strcmp(v->string, known[i]) == 0)
				break;
		if (i == sizeof known / sizeof known[0]) {
			qerr_set(e, "%s: scheme: unknown key \"%s\"", w->name,
			    v->string ? v->string : "");
			goto out;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "format");
	if (!cJSON_IsString(v) || (n = qscheme_fmt_from_name(v->valuestring)) < 0) {
		qerr_set(e, "%s: scheme: \"format\" missing or not a known format", w->name);
		goto out;
	}
	w->s.fmt = (enum qfmt)n;
	v = cJSON_GetObjectItemCaseSensitive(o, "granularity");
	for (n = 0; n < QG_COUNT && cJSON_IsString(v); n++)
		if (strcmp(v->valuestring, qgran_names[n]) == 0)
			break;
	if (!cJSON_IsString(v) || n == QG_COUNT) {
		qerr_set(e, "%s: scheme: \"granularity\" must be tensor, channel, group or block",
		    w->name);
		goto out;
	}
	w->s.gran = (enum qgran)n;
	if (w->s.gran == QG_CHANNEL) {
		if (json_uint(cJSON_GetObjectItemCaseSensitive(o, "axis"), 1, &u) < 0) {
			qerr_set(e, "%s: scheme: channel \"axis\" must be 0 or 1", w->name);
			goto out;
		}
		w->s.axis = (int)u;
	}
	if (w->s.gran == QG_GROUP) {
		if (json_uint(cJSON_GetObjectItemCaseSensitive(o, "group_size"), UINT64_C(1) << 40,
		    &u) < 0 || u == 0) {
			qerr_set(e, "%s: scheme: \"group_size\" must be a positive integer", w->name);
			goto out;
		}
		w->s.group = (int64_t)u;
	}
	if (w->s.gran == QG_BLOCK) {
		v = cJSON_GetObjectItemCaseSensitive(o, "block");
		for (n = 0; n < 2; n++) {
			if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
			    json_uint(cJSON_GetArrayItem(v, n), UINT64_C(1) << 40, &u) < 0 || u == 0) {
				qerr_set(e, "%s: scheme: \"block\" must be [rows, cols], positive", w->name);
				goto out;
			}
			w->s.block[n] = (int64_t)u;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "symmetric");
	if (!cJSON_IsBool(v)) {
		qerr_set(e, "%s: scheme: \"symmetric\" must be true or false", w->name);
		goto out;
	}
	w->s.sym = cJSON_IsTrue(v);
	if (qblock_info(w->s.fmt) && w->s.sym != !qblock_info(w->s.fmt)->has_min) {
		qerr_set(e, "%s: scheme: %s is %ssymmetric", w->name, qscheme_fmt_name(w->s.fmt),
		    w->s.sym ? "not " : "");
		goto out;
	}
	if (linq_is_float(w->s.fmt) && !w->s.sym) {
		qerr_set(e, "%s: scheme: %s has no zero point, it must be symmetric", w->name,
		    qfmt_table[w->s.fmt].name);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "act_order");
	if (v) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, "group") == 0)
			w->act_order = QP_ACT_GROUP;
		else if (cJSON_IsString(v) && strcmp(v->valuestring, "static") == 0)
			w->act_order = QP_ACT_STATIC;
		else {
			qerr_set(e, "%s: scheme: \"act_order\" must be \"group\" or \"static\"", w->name);
			goto out;
		}
		if (w->s.gran != QG_GROUP || !linq_supports(w->s.fmt)) {
			qerr_set(e, "%s: scheme: \"act_order\" needs granularity group and an integer or "
			    "fp8 format", w->name);
			goto out;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "shape");
	if (!cJSON_IsArray(v) || (n = cJSON_GetArraySize(v)) > QP_MAX_DIMS) {
		qerr_set(e, "%s: scheme: \"shape\" must be an array of at most %d sizes", w->name,
		    QP_MAX_DIMS);
		goto out;
	}
	w->ndim = n;
	for (int i = 0; i < n; i++)
		if (json_uint(cJSON_GetArrayItem(v, i), UINT64_C(1) << 48, &w->shape[i]) < 0) {
			qerr_set(e, "%s: scheme: shape[%d] is not a size", w->name, i);
			goto out;
		}
	if (qparams_matrix(w->ndim, w->shape, &rows, &cols, e) < 0 ||
	    linq_grid(&w->s, rows, cols, &w->g, e) < 0) {
		qerr_prefix(e, "%s: scheme", w->name);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "method");
	if (v) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof w->method) {
			qerr_set(e, "%s: scheme: \"method\" must be a short string", w->name);
			goto out;
		}
		strcpy(w->method, v->valuestring);
	}
	{
		static const char *const figs[] = { "sqnr_db", "rmse", "max_error", "alpha",
			"output_sqnr_db", "baseline_output_sqnr_db" };
		double *dst[] = { &w->sqnr_db, &w->rmse, &w->max_error, &w->alpha,
			&w->output_sqnr_db, &w->baseline_output_sqnr_db };

		for (int i = 0; i < 6; i++) {
			v = cJSON_GetObjectItemCaseSensitive(o, figs[i]);
			if (v && !cJSON_IsNumber(v)) {
				qerr_set(e, "%s: scheme: \"%s\" must be a number", w->name, figs[i]);
				goto out;
			}
			if (v)
				*dst[i] = v->valuedouble;
		}
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/* name = base + suffix?  Returns base length or 0. */
static size_t
suffix_of(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0 ? n - s : 0;
}

static int
same_shape(const struct st_tensor *t, int ndim, const uint64_t *shape)
{
	if (t->ndim != ndim)
		return 0;
	for (int i = 0; i < ndim; i++)
		if (t->shape[i] != shape[i])
			return 0;
	return 1;
}

static void
shape_str(char *buf, size_t len, int ndim, const uint64_t *shape)
{
	size_t k = (size_t)snprintf(buf, len, "[");

	for (int i = 0; i < ndim && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%llu", i ? ", " : "",
		    (unsigned long long)shape[i]);
	if (k < len)
		snprintf(buf + k, len - k, "]");
}

static int
check_tensor(const struct st_tensor *t, enum qdtype dt, int ndim, const uint64_t *shape,
    struct qerr *e)
{
	char want[128], got[128];

	if (t->dtype != dt)
		return qerr_set(e, "%s: dtype %s, expected %s", t->name, qdtype_table[t->dtype].name,
		    qdtype_table[dt].name);
	if (!same_shape(t, ndim, shape)) {
		shape_str(want, sizeof want, ndim, shape);
		shape_str(got, sizeof got, t->ndim, t->shape);
		return qerr_set(e, "%s: shape %s, the scheme needs %s", t->name, got, want);
	}
	return 0;
}

enum qdtype
qparams_codes_dtype(enum qfmt f)
{
	return f == QF_INT8 || f == QF_INT4 ? QD_I8 : QD_U8;
}

int32_t
qparams_code(const struct qp_entry *w, int64_t i)
{
	return w->codes_dtype == QD_I8 ? (int8_t)w->codes[i] : w->codes[i];
}

/* W.g_idx: a regrouping of the columns, as act-order makes it. */
static int
attach_gidx(struct qp_entry *w, const struct st_tensor *t, struct qerr *e)
{
	uint64_t shape[1] = { (uint64_t)w->g.cols };
	int64_t *count;

	if (w->act_order != QP_ACT_GROUP)
		return qerr_set(e, "%s: the scheme has no \"act_order\": \"group\"", t->name);
	if (check_tensor(t, QD_I32, 1, shape, e) < 0)
		return -1;
	if ((w->g_idx = malloc((size_t)w->g.cols * sizeof *w->g_idx)) == NULL ||
	    (count = calloc((size_t)w->g.gcols, sizeof *count)) == NULL)
		return qerr_set(e, "out of memory");
	memcpy(w->g_idx, t->data, (size_t)w->g.cols * sizeof *w->g_idx);
	for (int64_t c = 0; c < w->g.cols; c++) {
		if (w->g_idx[c] < 0 || w->g_idx[c] >= w->g.gcols) {
			free(count);
			return qerr_set(e, "%s: element %lld is %d, not a group in [0, %lld)", t->name,
			    (long long)c, (int)w->g_idx[c], (long long)w->g.gcols);
		}
		count[w->g_idx[c]]++;
	}
	for (int64_t k = 0; k < w->g.gcols; k++) {
		int64_t want = w->g.cols - k * w->g.bc < w->g.bc ? w->g.cols - k * w->g.bc : w->g.bc;

		if (count[k] != want) {
			int64_t got = count[k];

			free(count);
			return qerr_set(e, "%s: group %lld has %lld columns, expected %lld", t->name,
			    (long long)k, (long long)got, (long long)want);
		}
	}
	free(count);
	return 0;
}

/* W.codes: the codes chosen, within the format's range. */
static int
attach_codes(struct qp_entry *w, const struct st_tensor *t, struct qerr *e)
{
	uint64_t shape[2] = { (uint64_t)w->g.rows, (uint64_t)w->g.cols };
	int32_t qmin, qmax;

	if (!linq_supports(w->s.fmt))
		return qerr_set(e, "%s: codes are for integer and fp8 formats, not %s", t->name,
		    qfmt_table[w->s.fmt].name);
	if (check_tensor(t, qparams_codes_dtype(w->s.fmt), 2, shape, e) < 0)
		return -1;
	w->codes = t->data;
	w->codes_dtype = t->dtype;
	linq_qrange(w->s.fmt, &qmin, &qmax);
	for (uint64_t i = 0; i < t->nelem; i++) {
		int32_t v = qparams_code(w, (int64_t)i);

		if (linq_is_float(w->s.fmt) ? !isfinite(linq_fp8_decode((uint8_t)v,
		    w->s.fmt == QF_FP8_E4M3)) : v < qmin || v > qmax)
			return qerr_set(e, "%s: element %llu is %d, not a %s code", t->name,
			    (unsigned long long)i, (int)v, qfmt_table[w->s.fmt].name);
	}
	return 0;
}

static int
attach_tensor(struct qparams *qp, const struct st_tensor *t, struct qerr *e)
{
	size_t b;
	char base[1024];
	struct qp_entry *w;
	uint64_t shape[2];
	int nd;
	const struct qblock_info *blk;

	if ((b = suffix_of(t->name, ".range")) > 0) {
		struct qp_range *a;
		uint64_t c = t->ndim == 2 ? t->shape[0] : 0;

		if (t->dtype != QD_F32 || !((t->ndim == 1 && t->shape[0] == 2) ||
		    (t->ndim == 2 && t->shape[1] == 2)))
			return qerr_set(e, "%s: an activation range must be F32 [2] or [C, 2]", t->name);
		a = realloc(qp->a, (qp->n_a + 1) * sizeof *a);
		if (a == NULL)
			return qerr_set(e, "out of memory");
		qp->a = a;
		a = &qp->a[qp->n_a];
		a->name = strndup(t->name, b);
		a->channels = c;
		a->minmax = malloc((size_t)t->nelem * sizeof(float));
		if (a->name == NULL || a->minmax == NULL) {
			free(a->name);
			free(a->minmax);
			return qerr_set(e, "out of memory");
		}
		qp->n_a++;
		memcpy(a->minmax, t->data, (size_t)t->nelem * sizeof(float));
		for (uint64_t i = 0; i < t->nelem; i += 2)
			if (!isfinite(a->minmax[i]) || !isfinite(a->minmax[i + 1]) ||
			    a->minmax[i] > a->minmax[i + 1])
				return qerr_set(e, "%s: range %llu is not finite min <= max", t->name,
				    (unsigned long long)(i / 2));
		return 0;
	}
	if ((b = suffix_of(t->name, ".scale")) == 0 && (b = suffix_of(t->name, ".zero_point")) == 0 &&
	    (b = suffix_of(t->name, ".smooth")) == 0 && (b = suffix_of(t->name, ".min")) == 0 &&
	    (b = suffix_of(t->name, ".global_scale")) == 0 && (b = suffix_of(t->name, ".g_idx")) == 0 &&
	    (b = suffix_of(t->name, ".codes")) == 0)
		return qerr_set(e, "%s: not a qparams tensor (.scale, .zero_point, .smooth, .min, "
		    ".global_scale, .g_idx, .codes, .range)", t->name);
	if (b >= sizeof base)
		return qerr_set(e, "%s: name too long", t->name);
	memcpy(base, t->name, b);
	base[b] = 0;
	w = (struct qp_entry *)qparams_find(qp, base);
	if (w == NULL)
		return qerr_set(e, "%s: no scheme for %s in the metadata", t->name, base);
	nd = linq_scale_shape(&w->s, &w->g, shape);
	if (strcmp(t->name + b, ".g_idx") == 0)
		return attach_gidx(w, t, e);
	if (strcmp(t->name + b, ".codes") == 0)
		return attach_codes(w, t, e);
	blk = qblock_info(w->s.fmt);
	if (strcmp(t->name + b, ".scale") == 0) {
		const char *why = "must be finite and > 0";

		if (check_tensor(t, QD_F32, nd, shape, e) < 0)
			return -1;
		memcpy(w->scale, t->data, (size_t)t->nelem * sizeof(float));
		for (uint64_t i = 0; i < t->nelem; i++)
			if (blk ? !qblock_scale_ok(w->s.fmt, w->scale[i], &why) :
			    !(w->scale[i] > 0) || isinf(w->scale[i]))
				return qerr_set(e, "%s: element %llu is %g; %s scales %s",
				    t->name, (unsigned long long)i, (double)w->scale[i],
				    qscheme_fmt_name(w->s.fmt), why);
		return 0;
	}
	if (strcmp(t->name + b, ".min") == 0) {
		if (w->min == NULL)
			return qerr_set(e, "%s: only q4_1 and q5_1 have a minimum", t->name);
		if (check_tensor(t, QD_F32, nd, shape, e) < 0)
			return -1;
		memcpy(w->min, t->data, (size_t)t->nelem * sizeof(float));
		for (uint64_t i = 0; i < t->nelem; i++)
			if (!qblock_min_ok(w->min[i]))
				return qerr_set(e, "%s: element %llu is %g; minimums must be finite in "
				    "half precision", t->name, (unsigned long long)i, (double)w->min[i]);
		return 0;
	}
	if (strcmp(t->name + b, ".global_scale") == 0) {
		if (blk == NULL || !blk->has_global)
			return qerr_set(e, "%s: only nvfp4 has a global scale", t->name);
		if (check_tensor(t, QD_F32, 0, shape, e) < 0)
			return -1;
		memcpy(&w->global_scale, t->data, sizeof(float));
		if (!(w->global_scale > 0) || isinf(w->global_scale))
			return qerr_set(e, "%s: %g; the global scale must be finite and > 0", t->name,
			    (double)w->global_scale);
		return 0;
	}
	if (t->name[b + 1] == 'z') {				/* .zero_point */
		int32_t qmin, qmax;

		if (w->zp == NULL)
			return qerr_set(e, "%s: the scheme is symmetric, it has no zero point", t->name);
		if (check_tensor(t, QD_I32, nd, shape, e) < 0)
			return -1;
		memcpy(w->zp, t->data, (size_t)t->nelem * sizeof(int32_t));
		linq_qrange(w->s.fmt, &qmin, &qmax);
		for (uint64_t i = 0; i < t->nelem; i++)
			if (w->zp[i] < qmin || w->zp[i] > qmax)
				return qerr_set(e, "%s: element %llu is %d, outside %s's range [%d, %d]",
				    t->name, (unsigned long long)i, (int)w->zp[i],
				    qfmt_table[w->s.fmt].name, (int)qmin, (int)qmax);
		return 0;
	}
	shape[0] = (uint64_t)w->g.cols;				/* .smooth */
	if (check_tensor(t, QD_F32, 1, shape, e) < 0)
		return -1;
	if ((w->smooth = malloc((size_t)t->nelem * sizeof(float))) == NULL)
		return qerr_set(e, "out of memory");
	memcpy(w->smooth, t->data, (size_t)t->nelem * sizeof(float));
	for (uint64_t i = 0; i < t->nelem; i++)
		if (!(w->smooth[i] > 0) || isinf(w->smooth[i]))
			return qerr_set(e, "%s: element %llu: smoothing factors must be finite and > 0",
			    t->name, (unsigned long long)i);
	return 0;
}

static int
from_st(struct qparams *qp, const struct st_file *f, struct qerr *e)
{
	const char *fmt = st_meta_get(f, "format"), *ver = st_meta_get(f, "version");

	memset(qp, 0, sizeof *qp);
	if (fmt == NULL || strcmp(fmt, "qparams") != 0)
		return qerr_set(e, "__metadata__ \"format\" is %s%s%s, not \"qparams\"",
		    fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "");
	if (ver == NULL || strcmp(ver, QP_VERSION) != 0)
		return qerr_set(e, "__metadata__ \"version\" is %s, this reader knows %s",
		    ver ? ver : "missing", QP_VERSION);
	if (st_meta_get(f, "plan")) {
		cJSON *p = cJSON_Parse(st_meta_get(f, "plan"));
		int ok = cJSON_IsObject(p);

		cJSON_Delete(p);
		if (!ok)
			return qerr_set(e, "__metadata__ \"plan\" is not a JSON object");
		if ((qp->plan = strdup(st_meta_get(f, "plan"))) == NULL)
			return qerr_set(e, "out of memory");
	}
	for (size_t i = 0; i < f->n_meta; i++) {
		struct qp_entry *w;

		if (is_reserved(f->meta[i].key))
			continue;
		if ((w = new_entry(qp, f->meta[i].key, e)) == NULL ||
		    parse_scheme(w, f->meta[i].value, e) < 0)
			return -1;
		if (alloc_params(w, e) < 0)
			return -1;
	}
	/* the reader validated sizes against the file, so copies are bounded
	 * by its length; a scheme without tensors is caught below */
	for (size_t i = 0; i < f->n_tensors; i++)
		if (attach_tensor(qp, &f->tensors[i], e) < 0)
			return -1;
	for (size_t i = 0; i < qp->n_w; i++) {
		struct qp_entry *w = &qp->w[i];
		char name[1100];

		snprintf(name, sizeof name, "%s.scale", w->name);
		if (st_find(f, name) == NULL)
			return qerr_set(e, "%s: scheme without a %s tensor", w->name, name);
		snprintf(name, sizeof name, "%s.zero_point", w->name);
		if (w->zp && st_find(f, name) == NULL)
			return qerr_set(e, "%s: asymmetric scheme without a %s tensor", w->name, name);
		if (w->act_order == QP_ACT_GROUP && w->g_idx == NULL)
			return qerr_set(e, "%s: act_order \"group\" without a %s.g_idx tensor", w->name,
			    w->name);
		snprintf(name, sizeof name, "%s.min", w->name);
		if (w->min && st_find(f, name) == NULL)
			return qerr_set(e, "%s: %s scheme without a %s tensor", w->name,
			    qscheme_fmt_name(w->s.fmt), name);
		snprintf(name, sizeof name, "%s.global_scale", w->name);
		if (qblock_info(w->s.fmt) && qblock_info(w->s.fmt)->has_global &&
		    st_find(f, name) == NULL)
			return qerr_set(e, "%s: nvfp4 scheme without a %s tensor", w->name, name);
		/* nvfp4's effective scale, scale / global, must not underflow */
		for (int64_t k = 0; w->global_scale > 0 && k < linq_ncells(&w->g); k++)
			if (!(w->scale[k] / w->global_scale > 0) || isinf(w->scale[k] / w->global_scale))
				return qerr_set(e, "%s: group %lld: scale / global_scale is not finite "
				    "and > 0", w->name, (long long)k);
	}
	return 0;
}

/* Codes point into the file: it stays open (mapped) until qparams_free. */
static void
keep_file(struct qparams *qp, struct st_file *f)
{
	if ((qp->file = malloc(sizeof *f)) == NULL) {
		for (size_t i = 0; i < qp->n_w; i++)
			qp->w[i].codes = NULL;
		st_close(f);
		return;
	}
	memcpy(qp->file, f, sizeof *f);
}

int
qparams_parse(struct qparams *qp, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e)
{
	struct st_file f;
	int rc;

	memset(qp, 0, sizeof *qp);
	if (st_parse(&f, buf, len, name, e) < 0)
		return -1;
	rc = from_st(qp, &f, e);
	keep_file(qp, &f);
	if (rc < 0) {
		qerr_prefix(e, "%s", name);
		qparams_free(qp);
	}
	return rc;
}

int
qparams_load(struct qparams *qp, const char *path, struct qerr *e)
{
	struct st_file f;
	int rc;

	memset(qp, 0, sizeof *qp);
	if (st_open(&f, path, e) < 0)
		return -1;
	rc = from_st(qp, &f, e);
	keep_file(qp, &f);
	if (rc < 0) {
		qerr_prefix(e, "%s", path);
		qparams_free(qp);
	}
	return rc;
}

/* ---- writing ---- */

struct piece {
	char name[1100];
	const void *data;
	size_t bytes;
};

int
qparams_write(const struct qparams *qp, FILE *out, struct qerr *e)
{
	struct st_writer *wr = st_writer_new();
	struct piece *p = calloc(5 * qp->n_w + qp->n_a + 1, sizeof *p);
	size_t np = 0;
	int rc = -1;

	if (wr == NULL || p == NULL) {
		qerr_set(e, "out of memory");
		goto out;
	}
	if (st_writer_meta(wr, "format", "qparams", e) < 0 ||
	    st_writer_meta(wr, "version", QP_VERSION, e) < 0 ||
	    (qp->plan && st_writer_meta(wr, "plan", qp->plan, e) < 0))
		goto out;
	for (size_t i = 0; i < qp->n_w; i++) {
		const struct qp_entry *w = &qp->w[i];
		char *js = qparams_scheme_json(w);
		uint64_t shape[2];
		int nd = linq_scale_shape(&w->s, &w->g, shape);
		size_t nc = (size_t)linq_ncells(&w->g);

		if (js == NULL || st_writer_meta(wr, w->name, js, e) < 0) {
			if (js == NULL)
				qerr_set(e, "out of memory");
			free(js);
			goto out;
		}
		free(js);
		snprintf(p[np].name, sizeof p[np].name, "%s.scale", w->name);
		p[np].data = w->scale, p[np].bytes = nc * 4;
		if (st_writer_add(wr, p[np++].name, QD_F32, nd, shape, e) < 0)
			goto out;
		if (w->zp) {
			snprintf(p[np].name, sizeof p[np].name, "%s.zero_point", w->name);
			p[np].data = w->zp, p[np].bytes = nc * 4;
			if (st_writer_add(wr, p[np++].name, QD_I32, nd, shape, e) < 0)
				goto out;
		}
		if (w->min) {
			snprintf(p[np].name, sizeof p[np].name, "%s.min", w->name);
			p[np].data = w->min, p[np].bytes = nc * 4;
			if (st_writer_add(wr, p[np++].name, QD_F32, nd, shape, e) < 0)
				goto out;
		}
		if (qblock_info(w->s.fmt) && qblock_info(w->s.fmt)->has_global) {
			snprintf(p[np].name, sizeof p[np].name, "%s.global_scale", w->name);
			p[np].data = &w->global_scale, p[np].bytes = 4;
			if (st_writer_add(wr, p[np++].name, QD_F32, 0, shape, e) < 0)
				goto out;
		}
		if (w->smooth) {
			shape[0] = (uint64_t)w->g.cols;
			snprintf(p[np].name, sizeof p[np].name, "%s.smooth", w->name);
			p[np].data = w->smooth, p[np].bytes = (size_t)w->g.cols * 4;
			if (st_writer_add(wr, p[np++].name, QD_F32, 1, shape, e) < 0)
				goto out;
		}
		if (w->g_idx && w->act_order == QP_ACT_GROUP) {
			shape[0] = (uint64_t)w->g.cols;
			snprintf(p[np].name, sizeof p[np].name, "%s.g_idx", w->name);
			p[np].data = w->g_idx, p[np].bytes = (size_t)w->g.cols * 4;
			if (st_writer_add(wr, p[np++].name, QD_I32, 1, shape, e) < 0)
				goto out;
		}
		if (w->codes) {
			shape[0] = (uint64_t)w->g.rows;
			shape[1] = (uint64_t)w->g.cols;
			snprintf(p[np].name, sizeof p[np].name, "%s.codes", w->name);
			p[np].data = w->codes, p[np].bytes = (size_t)(w->g.rows * w->g.cols);
			if (st_writer_add(wr, p[np++].name, qparams_codes_dtype(w->s.fmt), 2, shape, e) < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < qp->n_a; i++) {
		const struct qp_range *a = &qp->a[i];
		uint64_t shape[2] = { a->channels, 2 };

		snprintf(p[np].name, sizeof p[np].name, "%s.range", a->name);
		p[np].data = a->minmax, p[np].bytes = (a->channels ? a->channels : 1) * 8;
		if (a->channels == 0)
			shape[0] = 2;
		if (st_writer_add(wr, p[np++].name, QD_F32, a->channels ? 2 : 1, shape, e) < 0)
			goto out;
	}
	st_writer_sort_reference(wr);
	if (st_writer_header(wr, out, e) < 0)
		goto out;
	for (size_t i = 0; i < st_writer_count(wr); i++) {
		const char *n = st_writer_name(wr, i);
		size_t k;

		for (k = 0; k < np && strcmp(p[k].name, n) != 0; k++)
			;
		if (k == np || st_writer_data(wr, out, p[k].data, p[k].bytes, e) < 0) {
			if (k == np)
				qerr_set(e, "%s: lost while writing", n);
			goto out;
		}
	}
	rc = st_writer_finish(wr, e);
out:
	st_writer_free(wr);
	free(p);
	return rc;
}
