/* st-inspect backend: ONNX models (libcommon/onnx.h).  Tensors are the
 * initializers and Constant values of every graph level, with their ONNX
 * type and where their bytes live (inline or an external file); sections
 * give the IR version and opsets, op counts, and the quantization present:
 * Q/DQ nodes, MatMulNBits, and each weight consumer's format. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "onnx.h"
#include "qdq.h"

struct onnx_state {
	struct onnx_model model;
};

struct opcount {
	const char *op;
	size_t n;
};

static int
onnx_probe(const char *path, int is_dir, const unsigned char *head, size_t len)
{
	size_t n = strlen(path);

	if (is_dir)
		return 0;
	if (n > 5 && strcmp(path + n - 5, ".onnx") == 0)
		return 9;
	/* ModelProto usually opens with ir_version (field 1, varint) */
	return len >= 3 && head[0] == 0x08 && head[1] > 0 && head[1] < 16 &&
	    (head[2] == 0x12 || head[2] == 0x1a || head[2] == 0x3a || head[2] == 0x42) ? 2 : 0;
}

static const char *
where_stored(const Onnx__TensorProto *t, uint64_t *off)
{
	size_t i;
	const char *loc = NULL;

	*off = 0;
	if (!onnx_tensor_is_external(t))
		return NULL;
	for (i = 0; i < t->n_external_data; i++) {
		const char *k = t->external_data[i]->key, *v = t->external_data[i]->value;

		if (k && v && strcmp(k, "location") == 0)
			loc = v;
		else if (k && v && strcmp(k, "offset") == 0)
			*off = strtoull(v, NULL, 10);
	}
	return loc;
}

static int
add_tensor(struct insp_model *m, struct onnx_state *s, Onnx__TensorProto *t, const char *name,
    struct qerr *e)
{
	uint64_t shape[INSP_MAX_DIMS], n, off;
	const char *loc;
	size_t file = 0, i;
	struct insp_tensor *it;
	int nd = (int)t->n_dims;

	if (nd > INSP_MAX_DIMS)
		return qerr_set(e, "%s: tensor '%s': rank %d", m->path, name, nd);
	for (i = 0; i < t->n_dims; i++)
		shape[i] = (uint64_t)t->dims[i];
	if (onnx_tensor_nelem(t, &n, e) < 0)
		return qerr_prefix(e, "%s", m->path);
	loc = where_stored(t, &off);
	if (loc) {
		char *p = malloc(strlen(s->model.dir) + strlen(loc) + 2);

		if (p == NULL)
			return qerr_set(e, "out of memory");
		sprintf(p, "%s/%s", s->model.dir, loc);
		for (file = 0; file < m->n_files && strcmp(m->files[file], p); file++)
			;
		if (file == m->n_files && insp_add_file(m, p) < 0) {
			free(p);
			return qerr_set(e, "out of memory");
		}
		free(p);
	}
	it = insp_add_tensor(m, name, onnx_dt_name(t->data_type), nd, shape,
	    (n * (uint64_t)onnx_dt_bits(t->data_type) + 7) / 8, off, file);
	if (it == NULL)
		return qerr_set(e, "out of memory");
	it->priv = t;
	return 0;
}

static void
count_op(struct opcount **ops, size_t *nops, const char *op)
{
	size_t i;

	for (i = 0; i < *nops; i++)
		if (strcmp((*ops)[i].op, op) == 0) {
			(*ops)[i].n++;
			return;
		}
	*ops = realloc(*ops, (*nops + 1) * sizeof **ops);
	if (*ops == NULL)
		abort();
	(*ops)[(*nops)++] = (struct opcount){op, 1};
}

/* The DequantizeLinear or Cast node producing name in g, if any. */
static const Onnx__NodeProto *
producer(const Onnx__GraphProto *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n_node; i++)
		if (g->node[i]->n_output && strcmp(g->node[i]->output[0], name) == 0)
			return g->node[i];
	return NULL;
}

static const Onnx__TensorProto *
initializer(const Onnx__GraphProto *g, const char *name)
{
	size_t i;

	for (i = 0; i < g->n_initializer; i++)
		if (strcmp(g->initializer[i]->name, name) == 0)
			return g->initializer[i];
	return NULL;
}

struct walk {
	struct insp_model *m;
	struct onnx_state *s;
	struct opcount *ops;
	size_t nops, q, dq, nbits, cast;
	struct insp_section *quant;
	const Onnx__GraphProto *top;
};

static int
walk_graph(struct walk *w, Onnx__GraphProto *g, struct qerr *e)
{
	size_t i, j, k;
	char text[256];

	for (i = 0; i < g->n_initializer; i++)
		if (add_tensor(w->m, w->s, g->initializer[i], g->initializer[i]->name, e) < 0)
			return -1;
	for (i = 0; i < g->n_node; i++) {
		Onnx__NodeProto *n = g->node[i];
		const char *op = n->op_type ? n->op_type : "";
		const char *name = n->name && *n->name ? n->name : (n->n_output ? n->output[0] : "");

		count_op(&w->ops, &w->nops, op);
		if (strcmp(op, "QuantizeLinear") == 0)
			w->q++;
		if (strcmp(op, "DequantizeLinear") == 0)
			w->dq++;
		if (strcmp(op, "Constant") == 0 && n->n_output == 1) {
			const Onnx__AttributeProto *a = onnx_node_attr(n, "value");

			if (a && a->t && add_tensor(w->m, w->s, a->t, n->output[0], e) < 0)
				return -1;
		}
		if (strcmp(op, "MatMulNBits") == 0) {
			w->nbits++;
			snprintf(text, sizeof text, "MatMulNBits bits %" PRId64 " block %" PRId64
			    " K %" PRId64 " N %" PRId64 "%s", onnx_node_attr_int(n, "bits", 4),
			    onnx_node_attr_int(n, "block_size", 0), onnx_node_attr_int(n, "K", 0),
			    onnx_node_attr_int(n, "N", 0), n->n_input > 3 && *n->input[3] ?
			    " zero points" : " symmetric");
			insp_add_meta(w->quant, name, "node", text, NULL);
		}
		/* a weight consumer reading a DequantizeLinear or Cast of an initializer */
		if ((strcmp(op, "MatMul") == 0 || strcmp(op, "Gemm") == 0 || strcmp(op, "Conv") == 0 ||
		    strcmp(op, "ConvTranspose") == 0) && n->n_input > 1) {
			const Onnx__NodeProto *p = producer(g, n->input[1]);
			const Onnx__TensorProto *q;

			if (p == NULL && g != w->top)
				p = producer(w->top, n->input[1]);
			if (p && p->n_input && (q = initializer(g, p->input[0]) ?
			    initializer(g, p->input[0]) : initializer(w->top, p->input[0]))) {
				if (strcmp(p->op_type, "DequantizeLinear") == 0) {
					int64_t bs = onnx_node_attr_int(p, "block_size", 0);

					snprintf(text, sizeof text, "%s weight %s, %s%s%" PRId64 "%s", op,
					    onnx_dt_name(q->data_type), bs ? "block " : "per-axis",
					    bs ? "" : " axis ", bs ? bs : onnx_node_attr_int(p, "axis", 1),
					    p->n_input > 2 && *p->input[2] ? ", zero points" : "");
					insp_add_meta(w->quant, name, "node", text, NULL);
				} else if (strcmp(p->op_type, "Cast") == 0) {
					w->cast++;
					snprintf(text, sizeof text, "%s weight %s (Cast to float)", op,
					    onnx_dt_name(q->data_type));
					insp_add_meta(w->quant, name, "node", text, NULL);
				}
			}
		}
		for (j = 0; j < n->n_attribute; j++) {
			if (n->attribute[j]->g && walk_graph(w, n->attribute[j]->g, e) < 0)
				return -1;
			for (k = 0; k < n->attribute[j]->n_graphs; k++)
				if (walk_graph(w, n->attribute[j]->graphs[k], e) < 0)
					return -1;
		}
	}
	return 0;
}

static int
onnx_open_backend(struct insp_model *m, const char *path, struct qerr *e)
{
	struct onnx_state *s = calloc(1, sizeof *s);
	struct insp_section *meta, *ops;
	struct walk w = {0};
	Onnx__ModelProto *mp;
	char text[256];
	size_t i;

	if (s == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (onnx_load(&s->model, path, e) < 0) {
		free(s);
		return -1;
	}
	m->priv = s;
	m->format = strdup("onnx");
	if (insp_add_file(m, path) < 0)	/* file 0: inline tensors */
		return qerr_set(e, "%s: out of memory", path);
	mp = s->model.proto;
	/* sections are created in display order before any is filled:
	 * insp_section may move them */
	if (!m->format || !insp_section(m, "metadata") || !insp_section(m, "ops") ||
	    !insp_section(m, "quantization"))
		return qerr_set(e, "%s: out of memory", path);
	meta = insp_section(m, "metadata");
	ops = insp_section(m, "ops");
	w.quant = insp_section(m, "quantization");
	snprintf(text, sizeof text, "%" PRId64, mp->ir_version);
	insp_add_meta(meta, "ir_version", "int", text, text);
	for (i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		char key[256];

		snprintf(key, sizeof key, "opset %s", o->domain && *o->domain ? o->domain : "ai.onnx");
		snprintf(text, sizeof text, "%" PRId64, o->version);
		insp_add_meta(meta, key, "int", text, text);
	}
	if (mp->producer_name && *mp->producer_name)
		insp_add_meta_str(meta, "producer", mp->producer_name);
	if (mp->graph->name && *mp->graph->name)
		insp_add_meta_str(meta, "graph", mp->graph->name);
	for (i = 0; i < mp->n_metadata_props; i++)
		if (mp->metadata_props[i]->key && mp->metadata_props[i]->value)
			insp_add_meta_str(meta, mp->metadata_props[i]->key, mp->metadata_props[i]->value);
	w.m = m;
	w.s = s;
	w.top = mp->graph;
	if (walk_graph(&w, mp->graph, e) < 0) {
		free(w.ops);
		return -1;
	}
	for (i = 0; i < w.nops; i++) {
		snprintf(text, sizeof text, "%zu", w.ops[i].n);
		insp_add_meta(ops, w.ops[i].op, "count", text, text);
	}
	free(w.ops);
	snprintf(text, sizeof text, "%zu QuantizeLinear, %zu DequantizeLinear, %zu MatMulNBits, %zu Cast weights",
	    w.q, w.dq, w.nbits, w.cast);
	insp_add_meta(w.quant, "summary", "text", text, NULL);
	return 0;
}

static int
onnx_read_f32(const struct insp_model *m, const struct insp_tensor *t, uint64_t first,
    size_t count, float *dst, struct qerr *e)
{
	struct onnx_state *s = m->priv;
	const Onnx__TensorProto *tp = t->priv;
	const unsigned char *d;
	size_t len, i;
	void *owned;
	int dt = tp->data_type;

	if (dt == ONNX_FLOAT || dt == ONNX_FLOAT16 || dt == ONNX_BFLOAT16 || dt == ONNX_DOUBLE) {
		uint64_t n;
		float *all = onnx_tensor_f32(&s->model, tp, &n, e);

		if (all == NULL)
			return -1;
		memcpy(dst, all + first, count * sizeof *dst);
		free(all);
		return 0;
	}
	if (onnx_tensor_bytes(&s->model, tp, &d, &len, &owned, e) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		uint64_t k = first + i;
		int32_t i32;
		int64_t i64;
		int16_t i16;
		uint16_t u16;

		switch (dt) {
		case ONNX_INT8: dst[i] = (float)(int8_t)d[k]; break;
		case ONNX_UINT8: case ONNX_BOOL: dst[i] = (float)d[k]; break;
		case ONNX_INT16: memcpy(&i16, d + 2 * k, 2); dst[i] = (float)i16; break;
		case ONNX_UINT16: memcpy(&u16, d + 2 * k, 2); dst[i] = (float)u16; break;
		case ONNX_INT32: memcpy(&i32, d + 4 * k, 4); dst[i] = (float)i32; break;
		case ONNX_INT64: memcpy(&i64, d + 8 * k, 8); dst[i] = (float)i64; break;
		case ONNX_FLOAT8E4M3FN: dst[i] = qdq_e4m3fn_to_f32(d[k]); break;
		case ONNX_UINT4: case ONNX_INT4: {
			int v = (d[k / 2] >> (k % 2 ? 4 : 0)) & 15;

			dst[i] = (float)(dt == ONNX_INT4 && v >= 8 ? v - 16 : v);
			break;
		}
		default:
			free(owned);
			return qerr_set(e, "%s: %s values cannot be shown as numbers", t->name,
			    onnx_dt_name(dt));
		}
	}
	free(owned);
	return 0;
}

static int
onnx_raw(const struct insp_model *m, const struct insp_tensor *t, const unsigned char **bytes,
    struct qerr *e)
{
	struct onnx_state *s = m->priv;
	size_t len;
	void *owned;

	if (onnx_tensor_bytes(&s->model, t->priv, bytes, &len, &owned, e) < 0)
		return -1;
	if (owned) {		/* typed field: no stored bytes to point at */
		free(owned);
		return qerr_set(e, "%s: stored in a typed field, not as raw bytes", t->name);
	}
	return 0;
}

static size_t
onnx_check(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	struct onnx_model m;
	struct qerr e;

	if (onnx_load(&m, path, &e) < 0) {
		cb(ctx, e.msg);
		return 1;
	}
	onnx_free(&m);
	return 0;
}

static void
onnx_close_backend(struct insp_model *m)
{
	if (m->priv) {
		onnx_free(&((struct onnx_state *)m->priv)->model);
		free(m->priv);
		m->priv = NULL;
	}
}

const struct insp_backend insp_onnx = {
	.name = "onnx",
	.probe = onnx_probe,
	.open = onnx_open_backend,
	.read_f32 = onnx_read_f32,
	.raw = onnx_raw,
	.check = onnx_check,
	.close = onnx_close_backend,
};
