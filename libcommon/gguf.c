/* GGUF v3 reader and streaming writer (spec/gguf.md §1).
 *
 * The reader's checks are ggml's (gguf_init_from_file), in ggml's order, so a
 * file we accept is a file llama.cpp accepts and the first problem we name is
 * the one ggml would stumble on.  Every length and count read from the file is
 * bounded by the bytes that remain before anything is allocated for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "quant.h"

#define GGUF_MAX_STRING (UINT64_C(1) << 30)	/* ggml's caps */
#define GGUF_MAX_ARRAY (UINT64_C(1) << 30)
#define GGUF_MAX_DIMS 4

static const struct {
	const char *name;	/* ggml's spelling (gguf_type_name) */
	size_t size;		/* bytes per element; 0 for STRING/ARRAY */
} vtypes[GGUF_T_COUNT] = {
	[GGUF_T_UINT8] = { "u8", 1 },	[GGUF_T_INT8] = { "i8", 1 },
	[GGUF_T_UINT16] = { "u16", 2 },	[GGUF_T_INT16] = { "i16", 2 },
	[GGUF_T_UINT32] = { "u32", 4 },	[GGUF_T_INT32] = { "i32", 4 },
	[GGUF_T_FLOAT32] = { "f32", 4 },	[GGUF_T_BOOL] = { "bool", 1 },
	[GGUF_T_STRING] = { "str", 0 },	[GGUF_T_ARRAY] = { "arr", 0 },
	[GGUF_T_UINT64] = { "u64", 8 },	[GGUF_T_INT64] = { "i64", 8 },
	[GGUF_T_FLOAT64] = { "f64", 8 },
};

const char *
gguf_vtype_name(enum gguf_vtype t)
{
	return (unsigned)t < GGUF_T_COUNT ? vtypes[t].name : "?";
}

size_t
gguf_vtype_size(enum gguf_vtype t)
{
	return (unsigned)t < GGUF_T_COUNT ? vtypes[t].size : 0;
}

static uint64_t
pad_to(uint64_t n, uint64_t align)
{
	return (n + align - 1) & ~(align - 1);
}

/* ---- a set of byte strings, to find duplicate keys and names in O(1) ---- */

struct strset {
	const char **s;
	size_t *len;
	size_t cap, n;
};

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);

	while (n--)
		h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
	return h;
}

/* Adds s (not copied; must outlive the set).  1: added, 0: already there,
 * -1: out of memory. */
static int
strset_add(struct strset *set, const char *s, size_t len)
{
	size_t i, mask;

	if (2 * (set->n + 1) > set->cap) {
		struct strset big = { 0 };

		big.cap = set->cap ? 2 * set->cap : 64;
		big.s = calloc(big.cap, sizeof *big.s);
		big.len = calloc(big.cap, sizeof *big.len);
		if (big.s == NULL || big.len == NULL) {
			free(big.s);
			free(big.len);
			return -1;
		}
		for (i = 0; i < set->cap; i++)
			if (set->s[i])
				strset_add(&big, set->s[i], set->len[i]);
		free(set->s);
		free(set->len);
		*set = big;
	}
	mask = set->cap - 1;
	for (i = hash_bytes(s, len) & mask; set->s[i]; i = (i + 1) & mask)
		if (set->len[i] == len && memcmp(set->s[i], s, len) == 0)
			return 0;
	set->s[i] = s;
	set->len[i] = len;
	set->n++;
	return 1;
}

static void
strset_free(struct strset *set)
{
	free(set->s);
	free(set->len);
	memset(set, 0, sizeof *set);
}

/* ---- KV storage shared by reader and writer ---- */

static void
kv_free(struct gguf_kv *kv)
{
	if (kv->str)
		for (uint64_t i = 0; i < kv->n; i++)
			free(kv->str[i]);
	free(kv->str);
	free(kv->str_len);
	free(kv->data);
	free(kv->key);
	memset(kv, 0, sizeof *kv);
}

static char *
dup_bytes(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* ---- reader ---- */

struct cursor {
	const unsigned char *buf;
	size_t len, pos;
	const char *name;
	struct qerr *e;
};

static int
need(struct cursor *c, uint64_t n, const char *what)
{
	if (n > c->len - c->pos)
		return qerr_set(c->e, "%s: byte %zu: %s: needs %llu bytes, %zu left (truncated file?)",
		    c->name, c->pos, what, (unsigned long long)n, c->len - c->pos);
	return 0;
}

static uint64_t
rd_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
rd_u32(struct cursor *c, uint32_t *v, const char *what)
{
	if (need(c, 4, what) < 0)
		return -1;
	*v = (uint32_t)rd_le(c->buf + c->pos, 4);
	c->pos += 4;
	return 0;
}

static int
rd_u64(struct cursor *c, uint64_t *v, const char *what)
{
	if (need(c, 8, what) < 0)
		return -1;
	*v = rd_le(c->buf + c->pos, 8);
	c->pos += 8;
	return 0;
}

/* A GGUF string: the bytes stay in the buffer, *p points at them. */
static int
rd_str(struct cursor *c, const unsigned char **p, uint64_t *len, const char *what)
{
	size_t at = c->pos;

	if (rd_u64(c, len, what) < 0)
		return -1;
	if (*len > GGUF_MAX_STRING)
		return qerr_set(c->e, "%s: byte %zu: %s: string length %llu exceeds the limit of 2^30",
		    c->name, at, what, (unsigned long long)*len);
	if (*len > c->len - c->pos)
		return qerr_set(c->e, "%s: byte %zu: %s: string length %llu runs past the end of the file (%zu bytes left)",
		    c->name, at, what, (unsigned long long)*len, c->len - c->pos);
	*p = c->buf + c->pos;
	c->pos += *len;
	return 0;
}

static void *
grow(void *p, size_t *cap, size_t n, size_t elem)
{
	void *np;
	size_t nc;

	if (n < *cap)
		return p;
	nc = *cap ? *cap * 2 : 16;
	if (nc > SIZE_MAX / elem || (np = realloc(p, nc * elem)) == NULL)
		return NULL;
	*cap = nc;
	return np;
}

static int
oom(struct cursor *c)
{
	return qerr_set(c->e, "%s: out of memory", c->name);
}

static int
read_value(struct cursor *c, struct gguf_kv *kv)
{
	uint64_t n = kv->n;
	size_t size = gguf_vtype_size(kv->type);
	char where[128];

	snprintf(where, sizeof where, "key '%.80s'", kv->key);
	if (kv->type == GGUF_T_STRING) {
		/* each string has at least its 8-byte length: bounds the allocation */
		if (n > (c->len - c->pos) / 8)
			return qerr_set(c->e, "%s: byte %zu: %s: %llu strings cannot fit in the %zu bytes left",
			    c->name, c->pos, where, (unsigned long long)n, c->len - c->pos);
		kv->str = calloc(n ? n : 1, sizeof *kv->str);
		kv->str_len = calloc(n ? n : 1, sizeof *kv->str_len);
		if (kv->str == NULL || kv->str_len == NULL)
			return oom(c);
		for (uint64_t i = 0; i < n; i++) {
			const unsigned char *p;

			if (rd_str(c, &p, &kv->str_len[i], where) < 0)
				return -1;
			if ((kv->str[i] = dup_bytes(p, kv->str_len[i])) == NULL)
				return oom(c);
		}
		return 0;
	}
	if (size == 0)
		return qerr_set(c->e, "%s: byte %zu: %s: invalid value type %u",
		    c->name, c->pos, where, (unsigned)kv->type);
	if (n > (c->len - c->pos) / size) {
		if (!kv->is_array)
			return qerr_set(c->e, "%s: byte %zu: %s: %s value runs past the end of the file (%zu bytes left)",
			    c->name, c->pos, where, gguf_vtype_name(kv->type), c->len - c->pos);
		return qerr_set(c->e, "%s: byte %zu: %s: %llu values of %zu bytes run past the end of the file (%zu bytes left)",
		    c->name, c->pos, where, (unsigned long long)n, size, c->len - c->pos);
	}
	if ((kv->data = malloc(n ? n * size : 1)) == NULL)
		return oom(c);
	memcpy(kv->data, c->buf + c->pos, n * size);
	c->pos += n * size;
	if (kv->type == GGUF_T_BOOL)		/* ggml reads any non-zero byte as true */
		for (uint64_t i = 0; i < n; i++)
			((unsigned char *)kv->data)[i] = ((unsigned char *)kv->data)[i] != 0;
	return 0;
}

static int
read_kvs(struct cursor *c, struct gguf_file *g, uint64_t n_kv)
{
	struct strset keys = { 0 };
	size_t cap = 0;
	int rc = -1;

	for (uint64_t i = 0; i < n_kv; i++) {
		struct gguf_kv *kv;
		const unsigned char *key;
		uint64_t key_len;
		uint32_t type;
		size_t at = c->pos;
		char what[64];

		snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
		if ((g->kvs = grow(g->kvs, &cap, g->n_kvs, sizeof *g->kvs)) == NULL) {
			oom(c);
			goto out;
		}
		kv = &g->kvs[g->n_kvs];
		memset(kv, 0, sizeof *kv);
		if (rd_str(c, &key, &key_len, what) < 0)
			goto out;
		if (key_len == 0) {
			qerr_set(c->e, "%s: byte %zu: key %llu is empty", c->name, at, (unsigned long long)i);
			goto out;
		}
		/* Keys are handed out as C strings: one with a NUL inside would
		 * read as a shorter key, alias another (even general.alignment)
		 * and vanish or overwrite on a copy.  Found by fuzzing. */
		if (memchr(key, 0, key_len) != NULL) {
			qerr_set(c->e, "%s: byte %zu: key %llu contains a NUL byte", c->name, at,
			    (unsigned long long)i);
			goto out;
		}
		switch (strset_add(&keys, (const char *)key, key_len)) {
		case -1:
			oom(c);
			goto out;
		case 0:
			qerr_set(c->e, "%s: byte %zu: duplicate key '%.*s'", c->name, at,
			    (int)(key_len > 200 ? 200 : key_len), key);
			goto out;
		}
		if ((kv->key = dup_bytes(key, key_len)) == NULL) {
			oom(c);
			goto out;
		}
		g->n_kvs++;
		snprintf(what, sizeof what, "key '%.40s'", kv->key);
		if (rd_u32(c, &type, what) < 0)
			goto out;
		kv->n = 1;
		if (type == GGUF_T_ARRAY) {
			kv->is_array = 1;
			if (rd_u32(c, &type, what) < 0 || rd_u64(c, &kv->n, what) < 0)
				goto out;
			if (type == GGUF_T_ARRAY) {
				qerr_set(c->e, "%s: byte %zu: key '%s': nested arrays are not allowed",
				    c->name, c->pos - 12, kv->key);
				goto out;
			}
			if (kv->n > GGUF_MAX_ARRAY) {
				qerr_set(c->e, "%s: byte %zu: key '%s': array of %llu elements exceeds the limit of 2^30",
				    c->name, c->pos - 8, kv->key, (unsigned long long)kv->n);
				goto out;
			}
		}
		if (type >= GGUF_T_COUNT) {
			qerr_set(c->e, "%s: byte %zu: key '%s': unknown value type %u", c->name,
			    c->pos - (kv->is_array ? 12 : 4), kv->key, type);
			goto out;
		}
		kv->type = (enum gguf_vtype)type;
		if (read_value(c, kv) < 0)
			goto out;
	}
	rc = 0;
out:
	strset_free(&keys);
	return rc;
}

static int
read_tensor_infos(struct cursor *c, struct gguf_file *g, uint64_t n_tensors)
{
	struct strset names = { 0 };
	size_t cap = 0;
	int rc = -1;

	for (uint64_t i = 0; i < n_tensors; i++) {
		struct gguf_tensor *t;
		const unsigned char *name;
		uint64_t name_len, nel = 1;
		uint32_t n_dims;
		size_t at = c->pos;
		char what[96];
		const struct qfmt_traits *tr;

		snprintf(what, sizeof what, "tensor %llu", (unsigned long long)i);
		if ((g->tensors = grow(g->tensors, &cap, g->n_tensors, sizeof *g->tensors)) == NULL) {
			oom(c);
			goto out;
		}
		t = &g->tensors[g->n_tensors];
		memset(t, 0, sizeof *t);
		if (rd_str(c, &name, &name_len, what) < 0)
			goto out;
		if (name_len > GGUF_MAX_NAME) {
			qerr_set(c->e, "%s: byte %zu: tensor %llu: name of %llu bytes is longer than %d",
			    c->name, at, (unsigned long long)i, (unsigned long long)name_len, GGUF_MAX_NAME);
			goto out;
		}
		/* ggml keeps the name as a C string: bytes after a NUL are lost */
		if ((t->name = dup_bytes(name, name_len)) == NULL) {
			oom(c);
			goto out;
		}
		g->n_tensors++;
		switch (strset_add(&names, t->name, strlen(t->name))) {
		case -1:
			oom(c);
			goto out;
		case 0:
			qerr_set(c->e, "%s: byte %zu: duplicate tensor name '%s'", c->name, at, t->name);
			goto out;
		}
		snprintf(what, sizeof what, "tensor '%s'", t->name);
		if (rd_u32(c, &n_dims, what) < 0)
			goto out;
		if (n_dims > GGUF_MAX_DIMS) {
			qerr_set(c->e, "%s: byte %zu: tensor '%s': %u dimensions (at most %d)",
			    c->name, c->pos - 4, t->name, n_dims, GGUF_MAX_DIMS);
			goto out;
		}
		t->n_dims = (int)n_dims;
		for (int d = 0; d < GGUF_MAX_DIMS; d++) {
			t->ne[d] = 1;
			if (d < (int)n_dims && rd_u64(c, &t->ne[d], what) < 0)
				goto out;
			if (t->ne[d] > INT64_MAX) {
				qerr_set(c->e, "%s: byte %zu: tensor '%s': dimension %d is negative (%lld)",
				    c->name, c->pos - 8, t->name, d, (long long)t->ne[d]);
				goto out;
			}
		}
		/* element count representable in int64, as ggml demands */
		for (int d = 0; d < GGUF_MAX_DIMS; d++)
			nel *= t->ne[d] ? 1 : 0;
		if (nel) {
			uint64_t prod = t->ne[0];

			for (int d = 1; d < GGUF_MAX_DIMS; d++) {
				if ((uint64_t)INT64_MAX / t->ne[d] <= prod) {
					qerr_set(c->e, "%s: tensor '%s': shape %llu x %llu x %llu x %llu has too many elements",
					    c->name, t->name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
					    (unsigned long long)t->ne[2], (unsigned long long)t->ne[3]);
					goto out;
				}
				prod *= t->ne[d];
			}
			nel = prod;
		}
		if (rd_u32(c, &t->type, what) < 0)
			goto out;
		if (t->type >= QF_GGML_COUNT || !qfmt_is_valid((int)t->type) ||
		    !qfmt_table[t->type].is_ggml) {
			qerr_set(c->e, "%s: byte %zu: tensor '%s': unknown ggml type %u",
			    c->name, c->pos - 4, t->name, t->type);
			goto out;
		}
		tr = &qfmt_table[t->type];
		if (t->ne[0] % (uint64_t)tr->block) {
			qerr_set(c->e, "%s: tensor '%s': %llu elements per row is not a multiple of the %s block size %d",
			    c->name, t->name, (unsigned long long)t->ne[0], tr->name, tr->block);
			goto out;
		}
		if (nel / (uint64_t)tr->block > SIZE_MAX / (uint64_t)tr->block_bytes) {
			qerr_set(c->e, "%s: tensor '%s': size in bytes overflows", c->name, t->name);
			goto out;
		}
		t->nbytes = nel / (uint64_t)tr->block * (uint64_t)tr->block_bytes;
		if (rd_u64(c, &t->offset, what) < 0)
			goto out;
	}
	rc = 0;
out:
	strset_free(&names);
	return rc;
}

static int
check_layout(struct cursor *c, struct gguf_file *g)
{
	uint64_t expect = 0;

	g->data_start = c->pos;
	if (g->n_tensors > 0) {
		g->data_start = pad_to(c->pos, g->alignment);
		if (g->data_start > c->len)
			return qerr_set(c->e, "%s: data section would start at byte %llu, past the end of the file (%zu bytes)",
			    c->name, (unsigned long long)g->data_start, c->len);
	}
	for (size_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];
		uint64_t padded;

		if (t->offset != expect)
			return qerr_set(c->e, "%s: tensor '%s': data offset %llu, expected %llu "
			    "(tensors must be packed in order, each padded to %u)", c->name, t->name,
			    (unsigned long long)t->offset, (unsigned long long)expect, g->alignment);
		if (t->offset > c->len - g->data_start ||
		    t->nbytes > c->len - g->data_start - t->offset)
			return qerr_set(c->e, "%s: tensor '%s': data [%llu, +%llu) runs past the end of the file (%zu bytes)",
			    c->name, t->name, (unsigned long long)(g->data_start + t->offset),
			    (unsigned long long)t->nbytes, c->len);
		t->data = c->buf + g->data_start + t->offset;
		padded = pad_to(t->nbytes, g->alignment);
		if (padded < t->nbytes || UINT64_MAX - expect < padded)
			return qerr_set(c->e, "%s: tensor '%s': size overflows", c->name, t->name);
		expect += padded;
	}
	return 0;
}

int
gguf_parse(struct gguf_file *g, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e)
{
	struct cursor c = { buf, len, 0, name, e };
	uint64_t n_tensors, n_kv;
	const struct gguf_kv *al;

	memset(g, 0, sizeof *g);
	if (len < 4)
		return qerr_set(e, "%s: not a GGUF file (%zu bytes, too short for the magic)", name, len);
	if (memcmp(buf, "GGUF", 4) != 0) {
		char m[5];

		for (int i = 0; i < 4; i++)
			m[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '?';
		m[4] = 0;
		return qerr_set(e, "%s: not a GGUF file (magic '%s', expected 'GGUF')", name, m);
	}
	c.pos = 4;
	if (rd_u32(&c, &g->version, "version") < 0)
		return -1;
	if (g->version == 0 || g->version == 1 || g->version > 3)
		return qerr_set(e, "%s: byte 4: GGUF version %u is not supported (only 2 and 3)%s",
		    name, g->version, (g->version & 0xffff) == 0 ? "; a big-endian file?" : "");
	if (rd_u64(&c, &n_tensors, "tensor count") < 0 || rd_u64(&c, &n_kv, "kv count") < 0)
		return -1;
	/* a KV takes at least 13 bytes and a tensor info 24: absurd counts are
	 * refused before anything is allocated for them */
	if (n_kv > (len - c.pos) / 13)
		return qerr_set(e, "%s: byte 16: kv count %llu cannot fit in the %zu bytes that follow",
		    name, (unsigned long long)n_kv, len - c.pos);
	if (n_tensors > (len - c.pos) / 24)
		return qerr_set(e, "%s: byte 8: tensor count %llu cannot fit in the %zu bytes that follow",
		    name, (unsigned long long)n_tensors, len - c.pos);
	if (read_kvs(&c, g, n_kv) < 0)
		goto fail;
	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if ((al = gguf_find_kv(g, "general.alignment")) != NULL) {
		uint32_t a;

		if (al->type != GGUF_T_UINT32 || al->is_array) {
			qerr_set(e, "%s: key 'general.alignment' must be of type u32, not %s", name,
			    al->is_array ? "arr" : gguf_vtype_name(al->type));
			goto fail;
		}
		memcpy(&a, al->data, 4);	/* host is little-endian (header) */
		if (a == 0 || (a & (a - 1)) != 0) {
			qerr_set(e, "%s: general.alignment %u is not a power of 2", name, a);
			goto fail;
		}
		g->alignment = a;
	}
	if (read_tensor_infos(&c, g, n_tensors) < 0 || check_layout(&c, g) < 0)
		goto fail;
	return 0;
fail:
	gguf_close(g);
	return -1;
}

int
gguf_open(struct gguf_file *g, const char *path, struct qerr *e)
{
	struct qmap m;

	memset(g, 0, sizeof *g);
	if (qmap_open(&m, path, e) < 0)
		return -1;
	if (gguf_parse(g, m.data, m.size, path, e) < 0) {
		qmap_close(&m);
		return -1;
	}
	g->map = m;
	if ((g->path = dup_bytes(path, strlen(path))) == NULL) {
		gguf_close(g);
		return qerr_set(e, "%s: out of memory", path);
	}
	return 0;
}

void
gguf_close(struct gguf_file *g)
{
	for (size_t i = 0; i < g->n_kvs; i++)
		kv_free(&g->kvs[i]);
	free(g->kvs);
	for (size_t i = 0; i < g->n_tensors; i++)
		free(g->tensors[i].name);
	free(g->tensors);
	free(g->path);
	if (g->map.data)
		qmap_close(&g->map);
	memset(g, 0, sizeof *g);
}

const struct gguf_kv *
gguf_find_kv(const struct gguf_file *g, const char *key)
{
	for (size_t i = 0; i < g->n_kvs; i++)
		if (strcmp(g->kvs[i].key, key) == 0)
			return &g->kvs[i];
	return NULL;
}

const struct gguf_tensor *
gguf_find_tensor(const struct gguf_file *g, const char *name)
{
	for (size_t i = 0; i < g->n_tensors; i++)
		if (strcmp(g->tensors[i].name, name) == 0)
			return &g->tensors[i];
	return NULL;
}

int
gguf_kv_int(const struct gguf_kv *kv, int64_t *out)
{
	const unsigned char *p;
	uint64_t u;

	if (kv == NULL || kv->is_array || kv->n != 1 || kv->data == NULL)
		return -1;
	p = kv->data;
	switch (kv->type) {
	case GGUF_T_UINT8: *out = p[0]; return 0;
	case GGUF_T_INT8: *out = (int8_t)p[0]; return 0;
	case GGUF_T_UINT16: *out = (uint16_t)rd_le(p, 2); return 0;
	case GGUF_T_INT16: *out = (int16_t)(uint16_t)rd_le(p, 2); return 0;
	case GGUF_T_UINT32: *out = (uint32_t)rd_le(p, 4); return 0;
	case GGUF_T_INT32: *out = (int32_t)(uint32_t)rd_le(p, 4); return 0;
	case GGUF_T_INT64: *out = (int64_t)rd_le(p, 8); return 0;
	case GGUF_T_UINT64:
		u = rd_le(p, 8);
		if (u > INT64_MAX)
			return -1;
		*out = (int64_t)u;
		return 0;
	default:
		return -1;
	}
}

int
gguf_kv_float(const struct gguf_kv *kv, double *out)
{
	if (kv == NULL || kv->is_array || kv->n != 1 || kv->data == NULL)
		return -1;
	if (kv->type == GGUF_T_FLOAT32) {
		float f;

		memcpy(&f, kv->data, 4);
		*out = f;
		return 0;
	}
	if (kv->type == GGUF_T_FLOAT64) {
		memcpy(out, kv->data, 8);
		return 0;
	}
	return -1;
}

const char *
gguf_kv_str(const struct gguf_kv *kv)
{
	if (kv == NULL || kv->is_array || kv->type != GGUF_T_STRING || kv->n != 1)
		return NULL;
	return kv->str[0];
}

/* ---- writer ---- */

struct wtensor {
	char *name;
	uint32_t type;
	int n_dims;
	uint64_t ne[4], nbytes;
	uint64_t offset;		/* in the data section; set with the header */
};

struct gguf_writer {
	struct gguf_kv *kvs;
	size_t n_kvs, cap_kvs;
	struct wtensor *tensors;
	size_t n_tensors, cap_tensors;
	struct strset names;
	int header_done, failed;
	uint64_t data_start;		/* file offset of the data; set with the header */
	size_t cur;			/* tensor being written */
	uint64_t cur_done;		/* its bytes written so far */
};

struct gguf_writer *
gguf_writer_new(void)
{
	return calloc(1, sizeof(struct gguf_writer));
}

void
gguf_writer_free(struct gguf_writer *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n_kvs; i++)
		kv_free(&w->kvs[i]);
	free(w->kvs);
	for (size_t i = 0; i < w->n_tensors; i++)
		free(w->tensors[i].name);
	free(w->tensors);
	strset_free(&w->names);
	free(w);
}

static uint32_t
writer_alignment(const struct gguf_writer *w)
{
	for (size_t i = 0; i < w->n_kvs; i++)
		if (strcmp(w->kvs[i].key, "general.alignment") == 0)
			return (uint32_t)rd_le(w->kvs[i].data, 4);
	return GGUF_DEFAULT_ALIGNMENT;
}

/* The slot for key: the existing one (emptied, same place) or a new one at
 * the end. */
static struct gguf_kv *
kv_slot(struct gguf_writer *w, const char *key)
{
	struct gguf_kv *kv;
	char *k;

	if (w->header_done || key == NULL || key[0] == 0)
		return NULL;
	for (size_t i = 0; i < w->n_kvs; i++)
		if (strcmp(w->kvs[i].key, key) == 0) {
			kv = &w->kvs[i];
			k = kv->key;
			kv->key = NULL;
			kv_free(kv);
			kv->key = k;
			return kv;
		}
	if ((k = dup_bytes(key, strlen(key))) == NULL ||
	    (w->kvs = grow(w->kvs, &w->cap_kvs, w->n_kvs, sizeof *w->kvs)) == NULL) {
		free(k);
		return NULL;
	}
	kv = &w->kvs[w->n_kvs++];
	memset(kv, 0, sizeof *kv);
	kv->key = k;
	return kv;
}

/* general.alignment is what the reader trusts for the layout: only a u32
 * power of two may be stored under it. */
static int
alignment_ok(const char *key, enum gguf_vtype type, int is_array, uint64_t n, const void *data)
{
	uint32_t a;

	if (strcmp(key, "general.alignment") != 0)
		return 1;
	if (type != GGUF_T_UINT32 || is_array || n != 1)
		return 0;
	memcpy(&a, data, 4);
	return a != 0 && (a & (a - 1)) == 0;
}

static int
set_fixed(struct gguf_writer *w, const char *key, enum gguf_vtype type, int is_array,
    uint64_t n, const void *data)
{
	size_t size = gguf_vtype_size(type);
	struct gguf_kv *kv;
	void *copy;

	if (size == 0 || (unsigned)type >= GGUF_T_COUNT || n > GGUF_MAX_ARRAY ||
	    (n && data == NULL) || key == NULL || !alignment_ok(key, type, is_array, n, data))
		return -1;
	if ((copy = malloc(n ? n * size : 1)) == NULL)
		return -1;
	if (n)
		memcpy(copy, data, n * size);
	if (type == GGUF_T_BOOL)
		for (uint64_t i = 0; i < n; i++)
			((unsigned char *)copy)[i] = ((unsigned char *)copy)[i] != 0;
	if ((kv = kv_slot(w, key)) == NULL) {
		free(copy);
		return -1;
	}
	kv->type = type;
	kv->is_array = is_array;
	kv->n = n;
	kv->data = copy;
	return 0;
}

int
gguf_w_set(struct gguf_writer *w, const char *key, enum gguf_vtype type, const void *value)
{
	return set_fixed(w, key, type, 0, 1, value);
}

int
gguf_w_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint64_t n,
    const void *data)
{
	return set_fixed(w, key, type, 1, n, data);
}

static int
set_strings(struct gguf_writer *w, const char *key, int is_array, uint64_t n,
    const char *const *s, const uint64_t *len)
{
	struct gguf_kv *kv;
	char **str;
	uint64_t *lens;

	if (n > GGUF_MAX_ARRAY || key == NULL || strcmp(key, "general.alignment") == 0)
		return -1;
	str = calloc(n ? n : 1, sizeof *str);
	lens = calloc(n ? n : 1, sizeof *lens);
	if (str == NULL || lens == NULL)
		goto fail;
	for (uint64_t i = 0; i < n; i++) {
		if (s[i] == NULL)
			goto fail;
		lens[i] = len ? len[i] : strlen(s[i]);
		if (lens[i] > GGUF_MAX_STRING || (str[i] = dup_bytes(s[i], lens[i])) == NULL)
			goto fail;
	}
	if ((kv = kv_slot(w, key)) == NULL)
		goto fail;
	kv->type = GGUF_T_STRING;
	kv->is_array = is_array;
	kv->n = n;
	kv->str = str;
	kv->str_len = lens;
	return 0;
fail:
	for (uint64_t i = 0; str && i < n; i++)
		free(str[i]);
	free(str);
	free(lens);
	return -1;
}

int
gguf_w_set_str(struct gguf_writer *w, const char *key, const char *s)
{
	return s ? set_strings(w, key, 0, 1, &s, NULL) : -1;
}

int
gguf_w_set_arr_str(struct gguf_writer *w, const char *key, uint64_t n, const char *const *s,
    const uint64_t *len)
{
	return set_strings(w, key, 1, n, s, len);
}

int
gguf_w_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv)
{
	if (kv->type == GGUF_T_STRING)
		return set_strings(w, kv->key, kv->is_array, kv->n, (const char *const *)kv->str,
		    kv->str_len);
	return set_fixed(w, kv->key, kv->type, kv->is_array, kv->n, kv->data);
}

void
gguf_w_remove(struct gguf_writer *w, const char *key)
{
	if (w->header_done)
		return;
	for (size_t i = 0; i < w->n_kvs; i++)
		if (strcmp(w->kvs[i].key, key) == 0) {
			kv_free(&w->kvs[i]);
			memmove(&w->kvs[i], &w->kvs[i + 1], (w->n_kvs - i - 1) * sizeof *w->kvs);
			w->n_kvs--;
			return;
		}
}

int
gguf_w_add_tensor(struct gguf_writer *w, const char *name, uint32_t type, int n_dims,
    const uint64_t *ne, struct qerr *e)
{
	struct wtensor t = { 0 };
	uint64_t nel = 1;
	size_t len;
	int rc;

	if (w->header_done)
		return qerr_set(e, "tensor '%s': added after the header was written", name);
	len = strlen(name);
	if (len == 0 || len > GGUF_MAX_NAME)
		return qerr_set(e, "tensor '%s': a GGUF tensor name has 1 to %d bytes", name, GGUF_MAX_NAME);
	if (type >= QF_GGML_COUNT || !qfmt_is_valid((int)type) || !qfmt_table[type].is_ggml)
		return qerr_set(e, "tensor '%s': unknown ggml type %u", name, type);
	if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
		return qerr_set(e, "tensor '%s': %d dimensions (GGUF allows 1 to 4)", name, n_dims);
	for (int d = 0; d < GGUF_MAX_DIMS; d++) {
		t.ne[d] = d < n_dims ? ne[d] : 1;
		if (t.ne[d] > INT64_MAX)
			return qerr_set(e, "tensor '%s': dimension %d too large", name, d);
		if (t.ne[d] && nel > (uint64_t)INT64_MAX / t.ne[d])
			return qerr_set(e, "tensor '%s': too many elements", name);
		nel *= t.ne[d];
	}
	if (t.ne[0] % (uint64_t)qfmt_table[type].block)
		return qerr_set(e, "tensor '%s': row of %llu elements is not a multiple of the %s block size %d",
		    name, (unsigned long long)t.ne[0], qfmt_table[type].name, qfmt_table[type].block);
	/* ggml_n_dims: trailing 1s dropped, at least one */
	t.n_dims = GGUF_MAX_DIMS;
	while (t.n_dims > 1 && t.ne[t.n_dims - 1] == 1)
		t.n_dims--;
	t.type = type;
	t.nbytes = nel / (uint64_t)qfmt_table[type].block * (uint64_t)qfmt_table[type].block_bytes;
	if ((t.name = dup_bytes(name, len)) == NULL ||
	    (w->tensors = grow(w->tensors, &w->cap_tensors, w->n_tensors, sizeof *w->tensors)) == NULL) {
		free(t.name);
		return qerr_set(e, "out of memory");
	}
	if ((rc = strset_add(&w->names, t.name, len)) != 1) {
		free(t.name);
		return rc < 0 ? qerr_set(e, "out of memory") :
		    qerr_set(e, "tensor '%s': duplicate name", name);
	}
	w->tensors[w->n_tensors] = t;
	return (int)w->n_tensors++;
}

uint64_t
gguf_w_tensor_nbytes(const struct gguf_writer *w, size_t i)
{
	return i < w->n_tensors ? w->tensors[i].nbytes : 0;
}

static uint64_t
string_size(uint64_t len)
{
	return 8 + len;
}

static uint64_t
header_size(const struct gguf_writer *w)
{
	uint64_t n = 24;

	for (size_t i = 0; i < w->n_kvs; i++) {
		const struct gguf_kv *kv = &w->kvs[i];

		n += string_size(strlen(kv->key)) + 4 + (kv->is_array ? 12 : 0);
		if (kv->type == GGUF_T_STRING)
			for (uint64_t j = 0; j < kv->n; j++)
				n += string_size(kv->str_len[j]);
		else
			n += kv->n * gguf_vtype_size(kv->type);
	}
	for (size_t i = 0; i < w->n_tensors; i++)
		n += string_size(strlen(w->tensors[i].name)) + 4 + 8 * (uint64_t)w->tensors[i].n_dims + 4 + 8;
	return n;
}

uint64_t
gguf_w_total_size(const struct gguf_writer *w)
{
	uint32_t a = writer_alignment(w);
	uint64_t n = pad_to(header_size(w), a);

	for (size_t i = 0; i < w->n_tensors; i++)
		n += pad_to(w->tensors[i].nbytes, a);
	return n;
}

uint64_t
gguf_w_data_offset(const struct gguf_writer *w, size_t i)
{
	if (!w->header_done || i >= w->n_tensors)
		return 0;
	return w->data_start + w->tensors[i].offset;
}

/* Output goes through a small buffer so that a header of many short records
 * is not thousands of fwrite calls. */
struct wbuf {
	unsigned char b[1 << 14];
	size_t n;
	FILE *out;
	int err;
};

static void
wb_flush(struct wbuf *wb)
{
	if (wb->n && !wb->err && fwrite(wb->b, 1, wb->n, wb->out) != wb->n)
		wb->err = errno ? errno : EIO;
	wb->n = 0;
}

static void
wb_put(struct wbuf *wb, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n) {
		size_t k = sizeof wb->b - wb->n;

		if (k > n)
			k = n;
		memcpy(wb->b + wb->n, s, k);
		wb->n += k;
		s += k;
		n -= k;
		if (wb->n == sizeof wb->b)
			wb_flush(wb);
	}
}

static void
wb_le(struct wbuf *wb, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	wb_put(wb, b, (size_t)bytes);
}

static void
wb_str(struct wbuf *wb, const char *s, uint64_t len)
{
	wb_le(wb, len, 8);
	wb_put(wb, s, (size_t)len);
}

static int
write_zeros(FILE *out, uint64_t n)
{
	static const unsigned char zeros[256];

	while (n) {
		size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;

		if (fwrite(zeros, 1, k, out) != k)
			return -1;
		n -= k;
	}
	return 0;
}

static int
write_failed(struct gguf_writer *w, struct qerr *e, int err)
{
	w->failed = 1;
	return qerr_set(e, "write: %s", strerror(err ? err : EIO));
}

int
gguf_w_write_header(struct gguf_writer *w, FILE *out, struct qerr *e)
{
	struct wbuf *wb;
	uint32_t a = writer_alignment(w);
	uint64_t off = 0, hs = header_size(w);
	int err;

	if (w->header_done)
		return qerr_set(e, "GGUF header written twice");
	if ((wb = calloc(1, sizeof *wb)) == NULL)
		return qerr_set(e, "out of memory");
	wb->out = out;
	errno = 0;
	wb_put(wb, "GGUF", 4);
	wb_le(wb, 3, 4);
	wb_le(wb, w->n_tensors, 8);
	wb_le(wb, w->n_kvs, 8);
	for (size_t i = 0; i < w->n_kvs; i++) {
		const struct gguf_kv *kv = &w->kvs[i];
		size_t size = gguf_vtype_size(kv->type);

		wb_str(wb, kv->key, strlen(kv->key));
		if (kv->is_array) {
			wb_le(wb, GGUF_T_ARRAY, 4);
			wb_le(wb, kv->type, 4);
			wb_le(wb, kv->n, 8);
		} else {
			wb_le(wb, kv->type, 4);
		}
		if (kv->type == GGUF_T_STRING)
			for (uint64_t j = 0; j < kv->n; j++)
				wb_str(wb, kv->str[j], kv->str_len[j]);
		else
			wb_put(wb, kv->data, (size_t)(kv->n * size));	/* stored little-endian */
	}
	for (size_t i = 0; i < w->n_tensors; i++) {
		struct wtensor *t = &w->tensors[i];

		wb_str(wb, t->name, strlen(t->name));
		wb_le(wb, (uint64_t)t->n_dims, 4);
		for (int d = 0; d < t->n_dims; d++)
			wb_le(wb, t->ne[d], 8);
		wb_le(wb, t->type, 4);
		wb_le(wb, off, 8);
		t->offset = off;
		off += pad_to(t->nbytes, a);
	}
	/* ggml's writer pads even when there are no tensors */
	for (uint64_t p = hs; p < pad_to(hs, a); p++)
		wb_le(wb, 0, 1);
	wb_flush(wb);
	err = wb->err;
	free(wb);
	if (err)
		return write_failed(w, e, err);
	w->header_done = 1;
	w->data_start = pad_to(hs, a);
	w->cur = 0;
	w->cur_done = 0;
	return 0;
}

int
gguf_w_write_data(struct gguf_writer *w, FILE *out, const void *data, size_t len,
    struct qerr *e)
{
	const unsigned char *p = data;
	uint32_t a = writer_alignment(w);

	if (!w->header_done || w->failed)
		return qerr_set(e, "GGUF data written before the header or after a failure");
	while (len) {
		struct wtensor *t;
		uint64_t k;

		if (w->cur >= w->n_tensors)
			return qerr_set(e, "%zu bytes of data beyond the last tensor", len);
		t = &w->tensors[w->cur];
		k = t->nbytes - w->cur_done;
		if (k > len)
			k = len;
		errno = 0;
		if (k && fwrite(p, 1, (size_t)k, out) != k)
			return write_failed(w, e, errno);
		p += k;
		len -= (size_t)k;
		w->cur_done += k;
		if (w->cur_done == t->nbytes) {
			if (write_zeros(out, pad_to(t->nbytes, a) - t->nbytes) < 0)
				return write_failed(w, e, errno);
			w->cur++;
			w->cur_done = 0;
		}
	}
	return 0;
}

int
gguf_w_finish(struct gguf_writer *w, FILE *out, struct qerr *e)
{
	if (!w->header_done || w->failed)
		return qerr_set(e, "GGUF finished before the header was written or after a failure");
	/* zero-byte tensors at the end need no data call */
	while (w->cur < w->n_tensors && w->tensors[w->cur].nbytes == 0)
		w->cur++;
	if (w->cur < w->n_tensors) {
		const struct wtensor *t = &w->tensors[w->cur];

		return qerr_set(e, "tensor '%s': %llu of %llu bytes written", t->name,
		    (unsigned long long)w->cur_done, (unsigned long long)t->nbytes);
	}
	errno = 0;
	if (fflush(out) != 0 || ferror(out))
		return write_failed(w, e, errno);
	return 0;
}
