/* st-inspect backend: NNEF models (folder, .nnef.tgz, .tar).  Tensors are
 * the graph's variables, named by label, with their .dat item type (Q40
 * shown as such); graph.quant entries form the "quantization" section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inspect.h"
#include "nnef.h"
#include "nnef_archive.h"

struct nnef_state {
	struct nnef_model model;
	struct nnef_graph graph;
	struct nnef_quant quant;
};

static int
nnef_probe(const char *path, int is_dir, const unsigned char *head, size_t len)
{
	char p[4096];
	struct stat st;

	if (is_dir) {
		snprintf(p, sizeof p, "%s/graph.nnef", path);
		return stat(p, &st) == 0 ? 10 : 0;
	}
	if (len >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return 8;		/* gzip: the tgz form of a model */
	if (len >= 262 && memcmp(head + 257, "ustar", 5) == 0)
		return 8;
	return 0;
}

static int
open_state(struct nnef_state *s, const char *path, struct qerr *e)
{
	const struct nnef_entry *ge, *qe;

	memset(s, 0, sizeof *s);
	if (nnef_model_open(&s->model, path, e) < 0)
		return -1;
	ge = nnef_model_find(&s->model, "graph.nnef");
	if (nnef_graph_parse(&s->graph, (const char *)ge->data, ge->size, "graph.nnef", e) < 0) {
		qerr_prefix(e, "%s", path);
		nnef_model_close(&s->model);
		return -1;
	}
	qe = nnef_model_find(&s->model, "graph.quant");
	if (qe && nnef_quant_parse(&s->quant, (const char *)qe->data, qe->size, "graph.quant", e) < 0) {
		qerr_prefix(e, "%s", path);
		nnef_graph_free(&s->graph);
		nnef_model_close(&s->model);
		return -1;
	}
	return 0;
}

static void
close_state(struct nnef_state *s)
{
	nnef_quant_free(&s->quant);
	nnef_graph_free(&s->graph);
	nnef_model_close(&s->model);
}

static int
nnef_open(struct insp_model *m, const char *path, struct qerr *e)
{
	struct nnef_state *s = malloc(sizeof *s);
	struct insp_section *meta, *quant;
	char text[512];

	if (s == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (open_state(s, path, e) < 0) {
		free(s);
		return -1;
	}
	m->priv = s;
	m->format = strdup("nnef");
	meta = insp_section(m, "metadata");
	if (meta == NULL || m->format == NULL)
		return qerr_set(e, "%s: out of memory", path);
	insp_add_meta_str(meta, "graph", s->graph.name);
	snprintf(text, sizeof text, "%zu", s->graph.n_stmts);
	insp_add_meta(meta, "statements", "count", text, text);
	snprintf(text, sizeof text, "%zu", s->model.n);
	insp_add_meta(meta, "files", "count", text, text);
	for (size_t i = 0; i < s->graph.n_vars; i++) {
		const struct nnef_var *v = &s->graph.vars[i];
		const struct nnef_entry *de = nnef_model_dat(&s->model, v->label);
		struct nnef_dat d;
		struct insp_tensor *t;
		uint64_t shape[INSP_MAX_DIMS];

		if (de == NULL)
			return qerr_set(e, "%s: variable '%s': no %s.dat", path,
			    s->graph.stmts[v->stmt].lhs[0], v->label);
		if (nnef_dat_parse(&d, de->data, de->size, de->path, e) < 0)
			return qerr_prefix(e, "%s", path);
		for (uint32_t k = 0; k < d.rank; k++)
			shape[k] = d.extents[k];
		if (insp_add_file(m, de->path) < 0)
			return qerr_set(e, "%s: out of memory", path);
		t = insp_add_tensor(m, v->label, nnef_item_name(d.item, d.bits), (int)d.rank, shape,
		    d.data_len, 0, m->n_files - 1);
		if (t == NULL)
			return qerr_set(e, "%s: out of memory", path);
		t->priv = (void *)de;
	}
	if (s->quant.n) {
		quant = insp_section(m, "quantization");
		for (size_t i = 0; quant && i < s->quant.n; i++) {
			const struct nnef_qentry *q = &s->quant.entries[i];
			char json[512];

			if (strcmp(q->op, "linear_quantize") == 0) {
				snprintf(text, sizeof text, "linear_quantize min %.9g max %.9g bits %lld",
				    q->min, q->max, (long long)q->bits);
				snprintf(json, sizeof json, "{\"op\":\"linear_quantize\",\"min\":%.17g,"
				    "\"max\":%.17g,\"bits\":%lld}", q->min, q->max, (long long)q->bits);
			} else {
				snprintf(text, sizeof text, "%s%lld scale %.9g zero_point %lld",
				    q->is_signed ? "i" : "u", (long long)q->bits, q->scale,
				    (long long)q->zero_point);
				snprintf(json, sizeof json, "{\"op\":\"zero_point_linear_quantize\","
				    "\"zero_point\":%lld,\"scale\":%.17g,\"bits\":%lld,\"signed\":%s}",
				    (long long)q->zero_point, q->scale, (long long)q->bits,
				    q->is_signed ? "true" : "false");
			}
			insp_add_meta(quant, q->tensor, "graph.quant", text, json);
		}
	}
	return 0;
}

static int
nnef_read_f32(const struct insp_model *m, const struct insp_tensor *t, uint64_t first,
    size_t count, float *dst, struct qerr *e)
{
	const struct nnef_entry *de = t->priv;
	struct nnef_dat d;

	(void)m;
	if (nnef_dat_parse(&d, de->data, de->size, de->path, e) < 0)
		return -1;
	if (d.item == NNEF_Q40 || d.item == NNEF_Q40_LEGACY) {
		if (first % NNEF_Q40_BLOCK || count % NNEF_Q40_BLOCK)
			return qerr_set(e, "%s: Q40 read not on a block boundary", de->path);
		nnef_q40_decode(d.payload + first / NNEF_Q40_BLOCK * NNEF_Q40_BLOCK_BYTES,
		    count / NNEF_Q40_BLOCK, dst, d.item == NNEF_Q40_LEGACY);
		return 0;
	}
	if (d.bits < 8) {		/* 1-bit bools: decode all, copy the slice */
		float *all = malloc(d.nitems * sizeof *all);

		if (all == NULL)
			return qerr_set(e, "%s: out of memory", de->path);
		nnef_dat_to_f32(&d, all);
		memcpy(dst, all + first, count * sizeof *dst);
		free(all);
		return 0;
	}
	d.payload += first * (d.bits / 8);
	d.nitems = count;
	if (nnef_dat_to_f32(&d, dst) < 0)
		return qerr_set(e, "%s: %s has no float reading", de->path,
		    nnef_item_name(d.item, d.bits));
	return 0;
}

static int
nnef_raw(const struct insp_model *m, const struct insp_tensor *t, const unsigned char **bytes,
    struct qerr *e)
{
	const struct nnef_entry *de = t->priv;

	(void)m;
	(void)e;
	*bytes = de->data + NNEF_DAT_HEADER;
	return 0;
}

/* Every problem tract would stop at: each .dat parses (even unused ones),
 * each variable has its file with the declared shape. */
static size_t
nnef_check(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	struct nnef_state s;
	struct qerr e;
	size_t n = 0;
	char msg[1200];

	if (open_state(&s, path, &e) < 0) {
		cb(ctx, e.msg);
		return 1;
	}
	for (size_t i = 0; i < s.model.n; i++) {
		const struct nnef_entry *en = &s.model.entries[i];
		struct nnef_dat d;
		size_t len = strlen(en->path);

		if (len > 4 && strcmp(en->path + len - 4, ".dat") == 0 &&
		    nnef_dat_parse(&d, en->data, en->size, en->path, &e) < 0) {
			snprintf(msg, sizeof msg, "%s: %s", path, e.msg);
			cb(ctx, msg);
			n++;
		}
	}
	for (size_t i = 0; i < s.graph.n_vars; i++) {
		const struct nnef_var *v = &s.graph.vars[i];
		const struct nnef_entry *de = nnef_model_dat(&s.model, v->label);
		struct nnef_dat d;
		int same;

		if (de == NULL) {
			snprintf(msg, sizeof msg, "%s: variable '%s': no %s.dat", path,
			    s.graph.stmts[v->stmt].lhs[0], v->label);
			cb(ctx, msg);
			n++;
			continue;
		}
		if (nnef_dat_parse(&d, de->data, de->size, de->path, &e) < 0)
			continue;	/* reported above */
		same = d.rank == v->rank;
		for (uint32_t k = 0; same && k < d.rank; k++)
			same = d.extents[k] == v->shape[k];
		if (!same) {
			snprintf(msg, sizeof msg, "%s: %s: extents differ from the shape declared in graph.nnef",
			    path, de->path);
			cb(ctx, msg);
			n++;
		}
	}
	close_state(&s);
	return n;
}

static void
nnef_close(struct insp_model *m)
{
	if (m->priv) {
		close_state(m->priv);
		free(m->priv);
		m->priv = NULL;
	}
}

const struct insp_backend insp_nnef = {
	.name = "nnef",
	.probe = nnef_probe,
	.open = nnef_open,
	.read_f32 = nnef_read_f32,
	.raw = nnef_raw,
	.check = nnef_check,
	.close = nnef_close,
};
