/* smooth: fold rules for input-channel smoothing factors (smooth.h). */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "smooth.h"

const struct smooth_rule smooth_rules[] = {
	{ "model.layers.#.self_attn.q_proj", "model.layers.#.input_layernorm", SMOOTH_NORM,
	  SMOOTH_SQ | SMOOTH_NOCLIP },
	{ "model.layers.#.self_attn.k_proj", "model.layers.#.input_layernorm", SMOOTH_NORM,
	  SMOOTH_SQ | SMOOTH_NOCLIP },
	{ "model.layers.#.self_attn.v_proj", "model.layers.#.input_layernorm", SMOOTH_NORM, SMOOTH_SQ },
	{ "model.layers.#.self_attn.o_proj", "model.layers.#.self_attn.v_proj", SMOOTH_ROWS, 0 },
	{ "model.layers.#.mlp.gate_proj", "model.layers.#.post_attention_layernorm", SMOOTH_NORM,
	  SMOOTH_SQ },
	{ "model.layers.#.mlp.up_proj", "model.layers.#.post_attention_layernorm", SMOOTH_NORM,
	  SMOOTH_SQ },
	{ "model.layers.#.mlp.down_proj", "model.layers.#.mlp.up_proj", SMOOTH_ROWS, 0 },
	{ NULL, NULL, SMOOTH_NORM, 0 }
};

/* name (length len) against pat, "#" a decimal layer number (copied to num) */
static int
match(const char *pat, const char *name, size_t len, char *num, size_t numsz)
{
	const char *s = name, *end = name + len;

	num[0] = 0;
	for (; *pat; pat++) {
		if (*pat == '#') {
			const char *d = s;

			while (s < end && *s >= '0' && *s <= '9')
				s++;
			if (s == d || (size_t)(s - d) >= numsz || (*d == '0' && s - d > 1))
				return 0;
			memcpy(num, d, (size_t)(s - d));
			num[s - d] = 0;
		} else if (s >= end || *s++ != *pat) {
			return 0;
		}
	}
	return s == end;
}

const struct smooth_rule *
smooth_rule_for(const char *name, char *pred, size_t predsz)
{
	size_t len = strlen(name);
	char num[16];

	if (len <= 7 || strcmp(name + len - 7, ".weight") != 0)
		return NULL;
	for (const struct smooth_rule *r = smooth_rules; r->weight; r++) {
		size_t n = 0;

		if (!match(r->weight, name, len - 7, num, sizeof num))
			continue;
		for (const char *p = r->pred; *p && n + 1 < predsz; p++)
			n += (size_t)snprintf(pred + n, predsz - n, "%s", *p == '#' ? num :
			    (char[2]){ *p, 0 });
		if (n + 8 > predsz)
			return NULL;
		memcpy(pred + n, ".weight", 8);
		return r;
	}
	return NULL;
}

static int
set_row_div(struct smooth_fold *f, const float *s, uint64_t n, const char *who, const char *pred,
    struct qerr *e)
{
	if (f->row_div && memcmp(f->row_div, s, (size_t)n * sizeof *s) != 0)
		return qerr_set(e, "%s: its smoothing factors differ from another weight's that also "
		    "folds into %s; weights fed by one op need one s", who, pred);
	f->row_div = s;
	return 0;
}

int
smooth_fold_plan(const struct ckpt *ck, const struct qparams *qp, int norm_plus_one,
    struct smooth_fold *out, struct qerr *e)
{
	memset(out, 0, ck->n_tensors * sizeof *out);
	for (size_t i = 0; i < qp->n_w; i++) {
		const struct qp_entry *w = &qp->w[i];
		const struct smooth_rule *r;
		const struct ckpt_tensor *ct, *pt, *bt;
		char pred[1100], bias[1100];
		uint64_t cols = (uint64_t)w->g.cols;

		if (w->smooth == NULL)
			continue;
		if ((ct = ckpt_find(ck, w->name)) == NULL)
			return qerr_set(e, "%s: smoothed weight not in the checkpoint", w->name);
		if ((r = smooth_rule_for(w->name, pred, sizeof pred)) == NULL)
			return qerr_set(e, "%s: has smoothing factors (W.smooth) but no op before it "
			    "to fold 1/s into (foldable: q/k/v/o/gate/up/down_proj of "
			    "model.layers.N; see qparams(5))", w->name);
		if ((pt = ckpt_find(ck, pred)) == NULL)
			return qerr_set(e, "%s: has smoothing factors but %s, where 1/s would go, is "
			    "not in the checkpoint", w->name, pred);
		if (r->how == SMOOTH_NORM ? pt->t->ndim != 1 || pt->t->shape[0] != cols :
		    pt->t->ndim != 2 || pt->t->shape[0] != cols)
			return qerr_set(e, "%s: has smoothing factors for %llu input channels but %s "
			    "does not produce %llu channels (shape mismatch; AWQ does not smooth it)",
			    w->name, (unsigned long long)cols, pred, (unsigned long long)cols);
		out[ct - ck->tensors].col_mul = w->smooth;
		if (set_row_div(&out[pt - ck->tensors], w->smooth, cols, w->name, pred, e) < 0)
			return -1;
		out[pt - ck->tensors].plus_one = r->how == SMOOTH_NORM && norm_plus_one;
		snprintf(bias, sizeof bias, "%.*s.bias", (int)(strlen(pred) - 7), pred);
		if ((bt = ckpt_find(ck, bias)) != NULL) {
			if (bt->t->ndim != 1 || bt->t->shape[0] != cols)
				return qerr_set(e, "%s: shape does not match %s", bias, pred);
			if (set_row_div(&out[bt - ck->tensors], w->smooth, cols, w->name, pred, e) < 0)
				return -1;
		}
	}
	return 0;
}

void
smooth_fold_apply(const struct smooth_fold *f, float *x, int64_t rows, int64_t cols)
{
	for (int64_t r = 0; r < rows; r++)
		for (int64_t c = 0; c < cols; c++) {
			float v = x[r * cols + c];

			if (f->row_div)
				v = f->plus_one ? (1.0f + v) / f->row_div[r] - 1.0f : v / f->row_div[r];
			if (f->col_mul)
				v = v * f->col_mul[c];
			x[r * cols + c] = v;
		}
}

int
smooth_norm_plus_one(const struct ckpt *ck)
{
	const cJSON *mt, *ar;
	const struct arch_def *a;

	if (ck->config == NULL)
		return 0;
	mt = cJSON_GetObjectItemCaseSensitive(ck->config, "model_type");
	ar = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ck->config, "architectures"), 0);
	a = arch_find(cJSON_IsString(mt) ? mt->valuestring : NULL,
	    cJSON_IsString(ar) ? ar->valuestring : NULL);
	return a && (a->flags & ARCH_NORM_PLUS_ONE);
}
