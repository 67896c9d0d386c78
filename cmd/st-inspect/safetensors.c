/* st-inspect backend: safetensors files, HF checkpoint folders, shards. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "inspect.h"
#include "mapfile.h"
#include "safetensors.h"

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
st_probe(const char *path, int is_dir, const unsigned char *head, size_t len)
{
	if (strcmp(path, "-") == 0 || is_dir)
		return 5;
	if (ends_with(path, ".safetensors"))
		return 10;
	if (len >= 9 && (head[8] == '{' || head[8] == ' ' || head[8] == '\n'))
		return 5;
	return 1;	/* the fallback: its error message explains what is wrong */
}

/* A cJSON value as (type, one-line text, JSON). */
static int
add_json_value(struct insp_section *s, const char *key, const cJSON *v)
{
	char *json = cJSON_PrintUnformatted(v), text[200];
	const char *type = cJSON_IsString(v) ? "string" : cJSON_IsNumber(v) ? "number" :
	    cJSON_IsBool(v) ? "bool" : cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "array" : "object";
	int rc;

	if (json == NULL)
		return -1;
	if (cJSON_IsString(v))
		snprintf(text, sizeof text, "%s", v->valuestring);
	else
		snprintf(text, sizeof text, "%s", json);
	if (strlen(text) == sizeof text - 1)
		memcpy(text + sizeof text - 4, "...", 4);
	rc = insp_add_meta(s, key, type, text, json);
	free(json);
	return rc;
}

/* The first of several spellings loaders accept for one setting. */
static const cJSON *
first_of(const cJSON *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, *keys);

		if (v && !cJSON_IsNull(v))
			return v;
	}
	return NULL;
}

/* config.json's quantization_config in five lines, whatever the method
 * (spec §2-8: awq, gptq, compressed-tensors, fp8, quark, modelopt, mxfp4).
 * compressed-tensors and quark keep bits and group size one level down. */
static int
summarize_quant(struct insp_model *m, const cJSON *q)
{
	static const char *const method[] = { "quant_method", "method", NULL };
	static const char *const bits[] = { "bits", "w_bit", "num_bits", "weight_bits", NULL };
	static const char *const group[] = { "group_size", "q_group_size", "weight_block_size", NULL };
	static const char *const format[] = { "format", "checkpoint_format", "version", "fmt",
		"quant_algo", NULL };
	static const char *const excluded[] = { "modules_to_not_convert", "ignore", "ignored_layers",
		"exclude", "exclude_modules", NULL };
	const char *const *keys[] = { method, bits, group, format, excluded };
	const char *labels[] = { "method", "bits", "group_size", "format", "excluded" };
	struct insp_section *s = insp_section(m, "quantization");
	const cJSON *inner = NULL, *groups, *g;

	if (s == NULL)
		return -1;
	/* compressed-tensors: config_groups.<first>.weights; quark: global_quant_config.weight */
	if ((groups = cJSON_GetObjectItemCaseSensitive(q, "config_groups")) && (g = groups->child))
		inner = cJSON_GetObjectItemCaseSensitive(g, "weights");
	else if ((g = cJSON_GetObjectItemCaseSensitive(q, "global_quant_config")))
		inner = cJSON_GetObjectItemCaseSensitive(g, "weight");
	if (cJSON_IsArray(inner))
		inner = inner->child;
	for (int i = 0; i < 5; i++) {
		const cJSON *v = first_of(q, keys[i]);

		if (v == NULL && inner)
			v = first_of(inner, keys[i]);
		if (v && add_json_value(s, labels[i], v) < 0)
			return -1;
	}
	if (inner && cJSON_GetObjectItemCaseSensitive(inner, "strategy"))
		add_json_value(s, "strategy", cJSON_GetObjectItemCaseSensitive(inner, "strategy"));
	return 0;
}

static int
summarize_config(struct insp_model *m, const cJSON *cfg)
{
	static const char *const keys[] = { "model_type", "architectures", "torch_dtype",
		"num_hidden_layers", "hidden_size", "vocab_size", NULL };
	struct insp_section *s = insp_section(m, "config");
	const cJSON *q;

	if (s == NULL)
		return -1;
	for (int i = 0; keys[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, keys[i]);

		if (v && add_json_value(s, keys[i], v) < 0)
			return -1;
	}
	q = cJSON_GetObjectItemCaseSensitive(cfg, "quantization_config");
	if (cJSON_IsObject(q))
		return summarize_quant(m, q);
	return 0;
}

/* Standard input is read as a stream, one tensor at a time, so a
 * pipeline's memory stays at the largest tensor, not the model. */
struct stream {
	struct st_file f;
	uint64_t pos;			/* data-section bytes consumed */
	const struct st_tensor *cur;	/* whose bytes are in buf */
	unsigned char *buf;
	size_t cap;
};

struct st_model {
	struct ckpt *c;		/* a file or folder, mapped */
	struct stream *s;	/* or standard input */
};

static int
cmp_begin(const void *a, const void *b)
{
	const struct st_tensor *x = *(struct st_tensor *const *)a, *y = *(struct st_tensor *const *)b;

	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int
open_stream(struct insp_model *m, struct st_model *sm, struct qerr *e)
{
	struct stream *s = calloc(1, sizeof *s);
	const struct st_tensor **order;
	struct insp_section *meta;

	if (s == NULL)
		return qerr_set(e, "<stdin>: out of memory");
	sm->s = s;
	if (st_read_header(&s->f, 0, "<stdin>", e) < 0)
		return -1;
	m->sequential = 1;
	if ((m->format = strdup("safetensors")) == NULL || (meta = insp_section(m, "metadata")) == NULL ||
	    insp_add_file(m, "<stdin>") < 0)
		return qerr_set(e, "<stdin>: out of memory");
	for (size_t k = 0; k < s->f.n_meta; k++)
		if (insp_add_meta_str(meta, s->f.meta[k].key, s->f.meta[k].value) < 0)
			return qerr_set(e, "<stdin>: out of memory");
	if ((order = malloc((s->f.n_tensors ? s->f.n_tensors : 1) * sizeof *order)) == NULL)
		return qerr_set(e, "<stdin>: out of memory");
	for (size_t i = 0; i < s->f.n_tensors; i++)
		order[i] = &s->f.tensors[i];
	qsort(order, s->f.n_tensors, sizeof *order, cmp_begin);
	for (size_t i = 0; i < s->f.n_tensors; i++) {
		const struct st_tensor *t = order[i];
		struct insp_tensor *it = insp_add_tensor(m, t->name, qdtype_table[t->dtype].name, t->ndim,
		    t->shape, t->end - t->begin, t->begin, 0);

		if (it == NULL) {
			free(order);
			return qerr_set(e, "<stdin>: out of memory");
		}
		it->priv = (void *)t;
	}
	free(order);
	return 0;
}

/* Reads and drops n bytes of the stream. */
static int
skip(struct stream *s, uint64_t n, struct qerr *e)
{
	unsigned char scratch[1 << 16];

	while (n > 0) {
		ssize_t r = read(0, scratch, n < sizeof scratch ? (size_t)n : sizeof scratch);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return qerr_set(e, "<stdin>: tensor data runs past the end of the file: tensors end at %llu, "
			    "the stream ended at %llu", (unsigned long long)s->f.data_len, (unsigned long long)s->pos);
		s->pos += (uint64_t)r;
		n -= (uint64_t)r;
	}
	return 0;
}

static int
st_prepare(const struct insp_model *m, const struct insp_tensor *it, struct qerr *e)
{
	struct st_model *sm = m->priv;
	struct stream *s = sm->s;
	const struct st_tensor *t = it->priv;
	size_t n, got = 0;

	if (s == NULL) {	/* mapped: ask for read-ahead */
		const struct ckpt_tensor *ct = it->priv;

		qmap_willneed(&ct->file->map, (size_t)(ct->file->data_start + ct->t->begin),
		    (size_t)(ct->t->end - ct->t->begin));
		return 0;
	}
	if (t == s->cur)
		return 0;
	if (t->begin < s->pos)
		return qerr_set(e, "<stdin>: tensor \"%s\" lies before data already read (a stream is read in file order)",
		    t->name);
	if (skip(s, t->begin - s->pos, e) < 0)
		return -1;
	n = (size_t)(t->end - t->begin);
	if (n > s->cap) {
		free(s->buf);
		if ((s->buf = malloc(n)) == NULL) {
			s->cap = 0;
			return qerr_set(e, "<stdin>: tensor \"%s\": out of memory for %zu bytes", t->name, n);
		}
		s->cap = n;
	}
	s->cur = NULL;
	while (got < n) {
		ssize_t r = read(0, s->buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return qerr_set(e, "<stdin>: tensor data runs past the end of the file: tensors end at %llu, "
			    "the stream ended at %llu", (unsigned long long)s->f.data_len,
			    (unsigned long long)(s->pos + got));
		got += (size_t)r;
	}
	s->pos += n;
	s->cur = t;
	return 0;
}

static int
st_finish(const struct insp_model *m, struct qerr *e)
{
	struct st_model *sm = m->priv;
	struct stream *s = sm->s;
	unsigned char scratch[1 << 16];
	uint64_t extra = 0;
	ssize_t r;

	if (s == NULL)
		return 0;
	if (s->pos < s->f.data_len && skip(s, s->f.data_len - s->pos, e) < 0)
		return -1;
	while ((r = read(0, scratch, sizeof scratch)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return qerr_set(e, "<stdin>: read: %s", strerror(errno));
		extra += (uint64_t)r;
	}
	if (extra)
		return qerr_set(e, "<stdin>: %llu trailing bytes after the last tensor (tensors end at %llu)",
		    (unsigned long long)extra, (unsigned long long)s->f.data_len);
	return 0;
}

/* The bytes of tensor it: mapped, or the stream's buffer after prepare. */
static const unsigned char *
tensor_bytes(const struct insp_model *m, const struct insp_tensor *it)
{
	struct st_model *sm = m->priv;

	if (sm->s)
		return sm->s->cur == it->priv ? sm->s->buf : NULL;
	return ((const struct ckpt_tensor *)it->priv)->t->data;
}

static const struct st_tensor *
tensor_of(const struct insp_model *m, const struct insp_tensor *it)
{
	struct st_model *sm = m->priv;

	return sm->s ? it->priv : ((const struct ckpt_tensor *)it->priv)->t;
}

static int
st_open_model(struct insp_model *m, const char *path, struct qerr *e)
{
	struct st_model *sm = calloc(1, sizeof *sm);
	struct ckpt *c;
	struct insp_section *meta;

	if (sm == NULL)
		return qerr_set(e, "%s: out of memory", path);
	m->priv = sm;
	if (strcmp(path, "-") == 0)
		return open_stream(m, sm, e);
	if ((c = calloc(1, sizeof *c)) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (ckpt_open(c, path, e) < 0) {
		free(c);
		return -1;
	}
	sm->c = c;
	m->format = strdup("safetensors");
	if (m->format == NULL || (meta = insp_section(m, "metadata")) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	for (size_t i = 0; i < c->n_files; i++) {
		if (insp_add_file(m, c->files[i].path) < 0)
			return qerr_set(e, "%s: out of memory", path);
		/* shards usually repeat the same metadata: show each pair once */
		for (size_t k = 0; k < c->files[i].n_meta; k++) {
			const struct st_kv *kv = &c->files[i].meta[k];
			size_t j;

			for (j = 0; j < meta->n; j++)
				if (strcmp(meta->kv[j].key, kv->key) == 0 &&
				    strcmp(meta->kv[j].text, kv->value) == 0)
					break;
			if (j == meta->n && insp_add_meta_str(meta, kv->key, kv->value) < 0)
				return qerr_set(e, "%s: out of memory", path);
		}
	}
	if (c->config && summarize_config(m, c->config) < 0)
		return qerr_set(e, "%s: out of memory", path);
	for (size_t i = 0; i < c->n_tensors; i++) {
		const struct st_tensor *t = c->tensors[i].t;
		struct insp_tensor *it = insp_add_tensor(m, t->name, qdtype_table[t->dtype].name, t->ndim,
		    t->shape, t->end - t->begin, t->begin, (size_t)(c->tensors[i].file - c->files));

		if (it == NULL)
			return qerr_set(e, "%s: out of memory", path);
		it->priv = (void *)&c->tensors[i];
	}
	return 0;
}

static int
st_read_f32(const struct insp_model *m, const struct insp_tensor *it, uint64_t first, size_t count,
    float *dst, struct qerr *e)
{
	const struct st_tensor *t = tensor_of(m, it);
	const unsigned char *p = tensor_bytes(m, it);
	int bits = qdtype_table[t->dtype].bits;

	if (p == NULL)
		return qerr_set(e, "%s: tensor \"%s\": not read yet", m->path, t->name);
	if (first + count > t->nelem || (first * (uint64_t)bits) % 8)
		return qerr_set(e, "%s: tensor \"%s\": read outside the tensor", m->path, t->name);
	if (qdtype_to_f32(t->dtype, p + first * (uint64_t)bits / 8, dst, count) < 0)
		return qerr_set(e, "%s: tensor \"%s\": no conversion from %s to F32", m->path,
		    t->name, qdtype_table[t->dtype].name);
	return 0;
}

static const float *
st_view_f32(const struct insp_model *m, const struct insp_tensor *it, uint64_t first, size_t count)
{
	const struct st_tensor *t = tensor_of(m, it);
	const unsigned char *p = tensor_bytes(m, it);

	if (p == NULL || t->dtype != QD_F32 || first + count > t->nelem ||
	    (uintptr_t)(p + first * 4) % _Alignof(float))
		return NULL;
	return (const float *)(const void *)(p + first * 4);
}

static int
st_raw(const struct insp_model *m, const struct insp_tensor *it, const unsigned char **bytes,
    struct qerr *e)
{
	if ((*bytes = tensor_bytes(m, it)) == NULL)
		return qerr_set(e, "%s: tensor \"%s\": not read yet", m->path, it->name);
	return 0;
}

static void
st_done_with(const struct insp_model *m, const struct insp_tensor *it)
{
	struct st_model *sm = m->priv;
	const struct ckpt_tensor *ct = it->priv;

	if (sm->s)
		return;
	qmap_dontneed(&ct->file->map, (size_t)(ct->file->data_start + ct->t->begin),
	    (size_t)(ct->t->end - ct->t->begin));
}

struct check_ctx {
	void (*cb)(void *ctx, const char *msg);
	void *ctx;
	const char *file;
};

static void
prefixed(void *ctx, const char *msg)
{
	struct check_ctx *c = ctx;
	char line[1200];

	snprintf(line, sizeof line, "%s: %s", c->file, msg);
	c->cb(c->ctx, line);
}

static size_t
check_file(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	struct check_ctx cc = { cb, ctx, strcmp(path, "-") == 0 ? "<stdin>" : path };
	struct qmap map;
	struct qerr e;
	size_t n;

	if (qmap_open(&map, path, &e) < 0) {
		cb(ctx, e.msg);
		return 1;
	}
	n = st_check(map.data, map.size, prefixed, &cc);
	qmap_close(&map);
	return n;
}

/* Every file on its own, then what only the whole folder shows (index
 * against shards, names across files, total_size). */
static size_t
st_check_path(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx)
{
	struct stat st;
	struct ckpt c;
	struct qerr e;
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return check_file(path, cb, ctx);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char p[4096];

			if (de->d_name[0] == '.' || !ends_with(de->d_name, ".safetensors"))
				continue;
			snprintf(p, sizeof p, "%s/%s", path, de->d_name);
			n += check_file(p, cb, ctx);
		}
		closedir(d);
	}
	if (n)
		return n;	/* the folder view would only repeat a file's first problem */
	if (ckpt_open(&c, path, &e) < 0) {
		cb(ctx, e.msg);
		return 1;
	}
	if (c.index) {
		char ip[4096];
		struct qerr je;
		struct qmap map;

		snprintf(ip, sizeof ip, "%s/%s", c.dir, c.index);
		if (qmap_open(&map, ip, &je) == 0) {
			cJSON *idx = cJSON_ParseWithLength((const char *)map.data, map.size);
			const cJSON *ts = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(idx, "metadata"), "total_size");
			uint64_t sum = 0;

			for (size_t i = 0; i < c.n_tensors; i++)
				sum += c.tensors[i].t->end - c.tensors[i].t->begin;
			if (ts && (!cJSON_IsNumber(ts) || ts->valuedouble != (double)sum)) {
				char msg[4400];

				snprintf(msg, sizeof msg, "%s: metadata.total_size is %.17g but the tensors hold %llu bytes",
				    ip, cJSON_IsNumber(ts) ? ts->valuedouble : -1.0, (unsigned long long)sum);
				cb(ctx, msg);
				n++;
			}
			cJSON_Delete(idx);
			qmap_close(&map);
		}
	}
	ckpt_close(&c);
	return n;
}

static void
st_close_model(struct insp_model *m)
{
	struct st_model *sm = m->priv;

	if (sm == NULL)
		return;
	if (sm->c) {
		ckpt_close(sm->c);
		free(sm->c);
	}
	if (sm->s) {
		st_close(&sm->s->f);
		free(sm->s->buf);
		free(sm->s);
	}
	free(sm);
	m->priv = NULL;
}

const struct insp_backend insp_safetensors = {
	.name = "safetensors",
	.probe = st_probe,
	.open = st_open_model,
	.read_f32 = st_read_f32,
	.view_f32 = st_view_f32,
	.raw = st_raw,
	.check = st_check_path,
	.prepare = st_prepare,
	.finish = st_finish,
	.done_with = st_done_with,
	.close = st_close_model,
};
