/* st-inspect backend: GGUF files (llama.cpp).
 *
 * Shapes are given outermost first, like every other backend (PyTorch and
 * numpy order): GGUF's ne is innermost first, so ne = [4096, 11008] shows as
 * [11008, 4096], the shape of the HF weight it came from.  The "gguf" section
 * says so and gives the version, alignment and data offset.  Values reach
 * --stats/--diff/--dump through dtype.h (F32, F16, BF16, F64, I8..I64) or the
 * traits table's dequantizer (quantized types). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gguf.h"
#include "inspect.h"
#include "quant.h"

#define TEXT_ITEMS 6		/* array elements shown in the table */
#define TEXT_MAX 160		/* bytes of a value shown in the table */

/* ggml types that are plain element types, with their dtype.h twin */
static const struct {
	enum qfmt f;
	enum qdtype d;
} plain[] = {
	{ QF_F32, QD_F32 }, { QF_F16, QD_F16 }, { QF_BF16, QD_BF16 }, { QF_F64, QD_F64 },
	{ QF_I8, QD_I8 }, { QF_I16, QD_I16 }, { QF_I32, QD_I32 }, { QF_I64, QD_I64 },
};

static int
plain_dtype(uint32_t type)
{
	for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
		if ((uint32_t)plain[i].f == type)
			return (int)plain[i].d;
	return -1;
}

static int
gguf_probe(const char *path, int is_dir, const unsigned char *head, size_t len)
{
	size_t n = strlen(path);

	if (is_dir)
		return 0;
	if (len >= 4 && memcmp(head, "GGUF", 4) == 0)
		return 20;
	if (n >= 5 && strcmp(path + n - 5, ".gguf") == 0)
		return 10;	/* its error message will say why it is not GGUF */
	return 0;
}

/* A growing string. */
struct sb {
	char *s;
	size_t n, cap;
	int oom;
};

static void
sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void
sb_json_str(struct sb *b, const char *s)
{
	char *j = insp_json_string(s);

	if (j == NULL) {
		b->oom = 1;
		return;
	}
	sb_str(b, j);
	free(j);
}

/* One element as text; JSON when json is set (non-finite floats: null). */
static void
elem_text(struct sb *b, const struct gguf_kv *kv, uint64_t i, int json)
{
	const unsigned char *p = (const unsigned char *)kv->data + i * gguf_vtype_size(kv->type);
	char t[64];
	uint64_t u = 0;
	int64_t v;
	float f;
	double d;

	if (kv->type == GGUF_T_STRING) {
		if (json)
			sb_json_str(b, kv->str[i]);
		else
			sb_str(b, kv->str[i]);
		return;
	}
	for (size_t k = gguf_vtype_size(kv->type); k-- > 0;)
		u = u << 8 | p[k];
	switch (kv->type) {
	case GGUF_T_UINT8: case GGUF_T_UINT16: case GGUF_T_UINT32: case GGUF_T_UINT64:
		snprintf(t, sizeof t, "%" PRIu64, u);
		break;
	case GGUF_T_INT8: v = (int8_t)u; snprintf(t, sizeof t, "%" PRId64, v); break;
	case GGUF_T_INT16: v = (int16_t)u; snprintf(t, sizeof t, "%" PRId64, v); break;
	case GGUF_T_INT32: v = (int32_t)u; snprintf(t, sizeof t, "%" PRId64, v); break;
	case GGUF_T_INT64: v = (int64_t)u; snprintf(t, sizeof t, "%" PRId64, v); break;
	case GGUF_T_BOOL: snprintf(t, sizeof t, "%s", u ? "true" : "false"); break;
	case GGUF_T_FLOAT32:
	case GGUF_T_FLOAT64:
		if (kv->type == GGUF_T_FLOAT32) {
			memcpy(&f, p, 4);
			d = f;
		} else {
			memcpy(&d, p, 8);
		}
		if (json && (d != d || d - d != 0))
			snprintf(t, sizeof t, "null");
		else
			snprintf(t, sizeof t, kv->type == GGUF_T_FLOAT32 ? "%.9g" : "%.17g", d);
		break;
	default:
		snprintf(t, sizeof t, "?");
	}
	sb_str(b, t);
}

static int
add_kv(struct insp_section *s, const struct gguf_kv *kv)
{
	struct sb text = { 0 }, json = { 0 };
	char type[32];
	int rc;

	if (kv->is_array) {
		snprintf(type, sizeof type, "array[%s]", gguf_vtype_name(kv->type));
		sb_str(&text, "[");
		sb_str(&json, "[");
		for (uint64_t i = 0; i < kv->n; i++) {
			if (i)
				sb_str(&json, ", ");
			elem_text(&json, kv, i, 1);
			if (i < TEXT_ITEMS) {
				if (i)
					sb_str(&text, ", ");
				elem_text(&text, kv, i, kv->type == GGUF_T_STRING);
			}
		}
		if (kv->n > TEXT_ITEMS)
			sb_str(&text, ", ...");
		sb_str(&text, "]");
		if (kv->n > TEXT_ITEMS) {
			char more[48];

			snprintf(more, sizeof more, " (%" PRIu64 " items)", kv->n);
			sb_str(&text, more);
		}
		sb_str(&json, "]");
	} else {
		snprintf(type, sizeof type, "%s", gguf_vtype_name(kv->type));
		elem_text(&text, kv, 0, 0);
		elem_text(&json, kv, 0, 1);
	}
	if (text.oom || json.oom) {
		rc = -1;
	} else {
		if (text.n > TEXT_MAX)
			memcpy(text.s + TEXT_MAX - 3, "...", 4);
		rc = insp_add_meta(s, kv->key, type, text.s, json.s);
	}
	free(text.s);
	free(json.s);
	return rc;
}

static int
add_info(struct insp_section *s, const char *key, const char *type, const char *text,
    const char *json)
{
	return insp_add_meta(s, key, type, text, json);
}

static int
gguf_open_model(struct insp_model *m, const char *path, struct qerr *e)
{
	struct gguf_file *g = calloc(1, sizeof *g);
	struct insp_section *info, *meta;
	char num[3][32];

	if (g == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (gguf_open(g, path, e) < 0) {
		free(g);
		return -1;
	}
	m->priv = g;
	/* insp_section may move earlier sections: fill one before asking for the next */
	if ((m->format = strdup("gguf")) == NULL || insp_add_file(m, path) < 0 ||
	    (info = insp_section(m, "gguf")) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	snprintf(num[0], sizeof num[0], "%u", g->version);
	snprintf(num[1], sizeof num[1], "%u", g->alignment);
	snprintf(num[2], sizeof num[2], "%" PRIu64, g->data_start);
	if (add_info(info, "version", "u32", num[0], num[0]) < 0 ||
	    add_info(info, "alignment", "u32", num[1], num[1]) < 0 ||
	    add_info(info, "data_offset", "u64", num[2], num[2]) < 0 ||
	    add_info(info, "shape_order", "str", "outermost first (reversed GGUF ne)",
	    "\"outermost first (reversed GGUF ne)\"") < 0)
		return qerr_set(e, "%s: out of memory", path);
	if ((meta = insp_section(m, "metadata")) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	for (size_t i = 0; i < g->n_kvs; i++)
		if (add_kv(meta, &g->kvs[i]) < 0)
			return qerr_set(e, "%s: out of memory", path);
	for (size_t i = 0; i < g->n_tensors; i++) {
		const struct gguf_tensor *t = &g->tensors[i];
		uint64_t shape[INSP_MAX_DIMS];
		struct insp_tensor *it;

		for (int d = 0; d < t->n_dims; d++)
			shape[d] = t->ne[t->n_dims - 1 - d];
		it = insp_add_tensor(m, t->name, qfmt_table[t->type].name, t->n_dims, shape, t->nbytes,
		    t->offset, 0);
		if (it == NULL)
			return qerr_set(e, "%s: out of memory", path);
		it->priv = (void *)t;
	}
	return 0;
}

static int
gguf_read_f32(const struct insp_model *m, const struct insp_tensor *it, uint64_t first,
    size_t count, float *dst, struct qerr *e)
{
	const struct gguf_file *g = m->priv;
	const struct gguf_tensor *t = it->priv;
	const struct qfmt_traits *tr = &qfmt_table[t->type];
	int d = plain_dtype(t->type);

	if (first + count > it->nelem || first % (uint64_t)tr->block ||
	    (count % (size_t)tr->block && first + count != it->nelem))
		return qerr_set(e, "%s: tensor \"%s\": read outside the tensor or its blocks", g->path,
		    t->name);
	if (d >= 0) {
		if (qdtype_to_f32((enum qdtype)d, t->data + first * (uint64_t)tr->block_bytes, dst, count) < 0)
			return qerr_set(e, "%s: tensor \"%s\": no conversion from %s to F32", g->path,
			    t->name, tr->name);
		return 0;
	}
	if (tr->dequantize == NULL)
		return qerr_set(e, "%s: tensor \"%s\": no dequantizer for %s yet", g->path, t->name,
		    tr->name);
	tr->dequantize(t->data + first / (uint64_t)tr->block * (uint64_t)tr->block_bytes, dst,
	    (int64_t)count);
	return 0;
}

static int
gguf_raw(const struct insp_model *m, const struct insp_tensor *it, const unsigned char **bytes,
    struct qerr *e)
{
	(void)m;
	(void)e;
	*bytes = ((const struct gguf_tensor *)it->priv)->data;
	return 0;
}

static void
gguf_done_with(const struct insp_model *m, const struct insp_tensor *it)
{
	const struct gguf_file *g = m->priv;
	const struct gguf_tensor *t = it->priv;

	qmap_dontneed(&g->map, (size_t)(t->data - g->map.data), (size_t)t->nbytes);
}

static void
report(void (*cb)(void *, const char *), void *ctx, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
report(void (*cb)(void *, const char *), void *ctx, size_t *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cb(ctx, msg);
	(*n)++;
}

static int
all_zero(const unsigned char *p, uint64_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* The reader's checks (ggml's), then what ggml lets pass but a careful
 * writer never produces: version 2, non-zero padding, a last tensor without
 * its padding (ggml refuses to load such a file's data section), bytes after
 * the data, 0-dimensional tensors. */
static size_t
gguf_check(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	struct gguf_file g;
	struct qerr e;
	size_t n = 0;
	uint64_t end, size;

	if (gguf_open(&g, path, &e) < 0) {
		cb(ctx, e.msg);
		return 1;
	}
	size = g.map.size;
	if (g.version != 3)
		report(cb, ctx, &n, "%s: GGUF version %u (current writers write 3)", path, g.version);
	end = g.data_start;
	for (size_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *t = &g.tensors[i];
		uint64_t at = g.data_start + t->offset, pad_end;

		if (at > end && !all_zero(g.map.data + end, at - end))
			report(cb, ctx, &n, "%s: byte %" PRIu64 ": padding before tensor '%s' is not zero",
			    path, end, t->name);
		if (t->n_dims == 0)
			report(cb, ctx, &n, "%s: tensor '%s' has 0 dimensions (ggml writes at least 1)",
			    path, t->name);
		end = at + t->nbytes;
		pad_end = (end + g.alignment - 1) / g.alignment * g.alignment;
		if (i + 1 == g.n_tensors) {
			if (pad_end > size)
				report(cb, ctx, &n, "%s: the last tensor '%s' lacks its padding to %u bytes "
				    "(ggml refuses to load the data section)", path, t->name, g.alignment);
			else if (!all_zero(g.map.data + end, pad_end - end))
				report(cb, ctx, &n, "%s: byte %" PRIu64 ": padding after tensor '%s' is not zero",
				    path, end, t->name);
			else
				end = pad_end;
		}
	}
	if (g.n_tensors && end < size)
		report(cb, ctx, &n, "%s: %" PRIu64 " bytes after the data section", path, size - end);
	gguf_close(&g);
	return n;
}

static void
gguf_close_model(struct insp_model *m)
{
	if (m->priv) {
		gguf_close(m->priv);
		free(m->priv);
		m->priv = NULL;
	}
}

const struct insp_backend insp_gguf = {
	.name = "gguf",
	.probe = gguf_probe,
	.open = gguf_open_model,
	.read_f32 = gguf_read_f32,
	.raw = gguf_raw,
	.check = gguf_check,
	.done_with = gguf_done_with,
	.close = gguf_close_model,
};
