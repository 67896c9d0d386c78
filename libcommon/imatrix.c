/* Importance matrices, read the way llama.cpp's common/imatrix-loader.cpp
 * and tools/quantize/quantize.cpp read them (facts only). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "imatrix.h"
#include "mapfile.h"
#include "quant.h"

static char *
dup_cstr(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

void
imatrix_free(struct imatrix *m)
{
	for (size_t i = 0; i < m->n_entries; i++) {
		free(m->entries[i].name);
		free(m->entries[i].values);
	}
	free(m->entries);
	for (size_t i = 0; i < m->n_datasets; i++)
		free(m->datasets[i]);
	free(m->datasets);
	memset(m, 0, sizeof *m);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct imatrix_entry *)a)->name, ((const struct imatrix_entry *)b)->name);
}

const struct imatrix_entry *
imatrix_find(const struct imatrix *m, const char *name)
{
	struct imatrix_entry key = { .name = (char *)name };

	return bsearch(&key, m->entries, m->n_entries, sizeof key, by_name);
}

static float
f32_at(const unsigned char *p, uint64_t i)
{
	float f;

	memcpy(&f, p + 4 * i, 4);	/* data may be unaligned (alignment 1) */
	return f;
}

static int
has_suffix(const char *s, const char *suf, size_t *stem)
{
	size_t n = strlen(s), k = strlen(suf);

	if (n < k || strcmp(s + n - k, suf) != 0)
		return 0;
	*stem = n - k;
	return 1;
}

static int
u32_key(const struct gguf_file *g, const char *key, int32_t *out, const char *name,
    struct qerr *e)
{
	const struct gguf_kv *kv = gguf_find_kv(g, key);
	uint32_t v;

	if (kv->is_array || kv->type != GGUF_T_UINT32)
		return qerr_set(e, "%s: key '%s' must be of type u32", name, key);
	memcpy(&v, kv->data, 4);
	*out = (int32_t)v;	/* llama.cpp keeps it in an int32 */
	return 0;
}

static int
parse_gguf(struct imatrix *m, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e)
{
	struct gguf_file g;
	const struct gguf_kv *ds;
	size_t cap;
	int rc = -1;

	if (gguf_parse(&g, buf, len, name, e) < 0)
		return -1;
	if (g.n_tensors < 1) {
		qerr_set(e, "%s: no data (an imatrix file has tensors)", name);
		goto out;
	}
	/* llama.cpp loads the whole padded data section of an imatrix file */
	{
		const struct gguf_tensor *last = &g.tensors[g.n_tensors - 1];
		uint64_t end = g.data_start + last->offset +
		    (last->nbytes + g.alignment - 1) / g.alignment * g.alignment;

		if (end > len) {
			qerr_set(e, "%s: the data section ends at byte %zu, before the padding of '%s' "
			    "(llama.cpp refuses such a file)", name, len, last->name);
			goto out;
		}
	}
	ds = gguf_find_kv(&g, "imatrix.datasets");
	if (ds == NULL || gguf_find_kv(&g, "imatrix.chunk_count") == NULL ||
	    gguf_find_kv(&g, "imatrix.chunk_size") == NULL) {
		qerr_set(e, "%s: missing imatrix metadata (imatrix.datasets, imatrix.chunk_count, "
		    "imatrix.chunk_size); is it an imatrix file?", name);
		goto out;
	}
	if (u32_key(&g, "imatrix.chunk_count", &m->chunk_count, name, e) < 0 ||
	    u32_key(&g, "imatrix.chunk_size", &m->chunk_size, name, e) < 0)
		goto out;
	if (ds->is_array && ds->type == GGUF_T_STRING && ds->n > 0) {	/* else ignored, as llama.cpp does */
		if ((m->datasets = calloc(ds->n, sizeof *m->datasets)) == NULL)
			goto oom;
		for (uint64_t i = 0; i < ds->n; i++) {
			if ((m->datasets[i] = dup_cstr(ds->str[i], strlen(ds->str[i]))) == NULL)
				goto oom;
			m->n_datasets++;
		}
	}
	/* at most one entry per in_sum2 tensor */
	cap = g.n_tensors;
	if ((m->entries = calloc(cap, sizeof *m->entries)) == NULL)
		goto oom;
	for (size_t i = 0; i < g.n_tensors; i++) {
		const struct gguf_tensor *sums = &g.tensors[i], *counts;
		struct imatrix_entry *en;
		char cname[GGUF_MAX_NAME + 16];
		uint64_t nval, ncounts, ne0;
		size_t stem;

		if (!has_suffix(sums->name, ".in_sum2", &stem)) {
			if (has_suffix(sums->name, ".counts", &stem)) {
				snprintf(cname, sizeof cname, "%.*s.in_sum2", (int)stem, sums->name);
				if (gguf_find_tensor(&g, cname) == NULL) {
					qerr_set(e, "%s: tensor '%s' has no matching '%s'", name, sums->name, cname);
					goto out;
				}
			}
			continue;	/* other tensors are not imatrix data */
		}
		snprintf(cname, sizeof cname, "%.*s.counts", (int)stem, sums->name);
		if ((counts = gguf_find_tensor(&g, cname)) == NULL) {
			qerr_set(e, "%s: tensor '%s' has no matching '%s'", name, sums->name, cname);
			goto out;
		}
		if (sums->type != QF_F32 || counts->type != QF_F32) {
			qerr_set(e, "%s: '%s' and '%s' must be F32", name, sums->name, cname);
			goto out;
		}
		nval = sums->nbytes / 4;
		ncounts = counts->nbytes / 4;
		if (ncounts == 0 || nval == 0 || nval % ncounts) {
			qerr_set(e, "%s: '%s': %llu sums do not split into %llu matrices", name,
			    sums->name, (unsigned long long)nval, (unsigned long long)ncounts);
			goto out;
		}
		ne0 = nval / ncounts;
		en = &m->entries[m->n_entries];
		if ((en->name = dup_cstr(sums->name, stem)) == NULL ||
		    (en->values = malloc(nval * sizeof *en->values)) == NULL)
			goto oom;
		m->n_entries++;
		en->n = nval;
		en->n_mat = ncounts;
		for (uint64_t k = 0; k < ncounts; k++) {
			float c = f32_at(counts->data, k), count;

			/* llama.cpp rounds the count to an integer (lround) first */
			if (!isfinite(c) || fabsf(c) >= 0x1p62f) {
				qerr_set(e, "%s: '%s': count %g of matrix %llu is not a token count",
				    name, cname, (double)c, (unsigned long long)k);
				goto out;
			}
			count = (float)lroundf(c);
			for (uint64_t j = 0; j < ne0; j++)
				en->values[k * ne0 + j] = count > 0.0f ?
				    f32_at(sums->data, k * ne0 + j) / count : 1.0f;
		}
	}
	qsort(m->entries, m->n_entries, sizeof *m->entries, by_name);
	rc = 0;
	goto out;
oom:
	qerr_set(e, "%s: out of memory", name);
out:
	gguf_close(&g);
	return rc;
}

struct dat_cursor {
	const unsigned char *p;
	size_t len, pos;
};

static int
dat_i32(struct dat_cursor *c, int32_t *v)
{
	uint32_t u;

	if (c->len - c->pos < 4)
		return -1;
	u = (uint32_t)c->p[c->pos] | (uint32_t)c->p[c->pos + 1] << 8 |
	    (uint32_t)c->p[c->pos + 2] << 16 | (uint32_t)c->p[c->pos + 3] << 24;
	c->pos += 4;
	*v = (int32_t)u;
	return 0;
}

static int
parse_dat(struct imatrix *m, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e)
{
	struct dat_cursor c = { buf, len, 0 };
	int32_t n_entries, n_calls, dlen;

	m->is_legacy = 1;
	if (dat_i32(&c, &n_entries) < 0 || n_entries < 1)
		return qerr_set(e, "%s: no data (neither a GGUF imatrix nor a .dat with entries)", name);
	/* an entry takes at least 16 bytes: no allocation for absurd counts */
	if ((size_t)n_entries > (len - c.pos) / 16)
		return qerr_set(e, "%s: byte 0: %d entries cannot fit in the %zu bytes that follow",
		    name, n_entries, len - c.pos);
	if ((m->entries = calloc((size_t)n_entries, sizeof *m->entries)) == NULL)
		return qerr_set(e, "%s: out of memory", name);
	for (int32_t i = 0; i < n_entries; i++) {
		struct imatrix_entry *en = &m->entries[i];
		int32_t nlen, ncall, nval;
		size_t at = c.pos;

		if (dat_i32(&c, &nlen) < 0 || nlen < 0 || (size_t)nlen > len - c.pos)
			return qerr_set(e, "%s: byte %zu: entry %d: name length %d runs past the end of the file",
			    name, at, i, nlen);
		/* llama.cpp keeps the name as a C string */
		if ((en->name = dup_cstr(buf + c.pos, (size_t)nlen)) == NULL)
			return qerr_set(e, "%s: out of memory", name);
		m->n_entries++;
		c.pos += (size_t)nlen;
		at = c.pos;
		if (dat_i32(&c, &ncall) < 0 || dat_i32(&c, &nval) < 0)
			return qerr_set(e, "%s: byte %zu: entry '%s': truncated", name, at, en->name);
		if (nval < 1)
			return qerr_set(e, "%s: byte %zu: entry '%s': %d values", name, at + 4, en->name, nval);
		if ((size_t)nval > (len - c.pos) / 4)
			return qerr_set(e, "%s: byte %zu: entry '%s': %d values run past the end of the file",
			    name, at + 4, en->name, nval);
		if ((en->values = malloc((size_t)nval * sizeof *en->values)) == NULL)
			return qerr_set(e, "%s: out of memory", name);
		en->n = (uint64_t)nval;
		for (int32_t j = 0; j < nval; j++) {
			float v = f32_at(buf + c.pos, (uint64_t)j);

			en->values[j] = ncall > 0 ? v / (float)ncall : v;
		}
		c.pos += 4 * (size_t)nval;
	}
	qsort(m->entries, m->n_entries, sizeof *m->entries, by_name);
	for (size_t i = 1; i < m->n_entries; i++)
		if (strcmp(m->entries[i - 1].name, m->entries[i].name) == 0)
			return qerr_set(e, "%s: duplicate entry '%s'", name, m->entries[i].name);
	/* optional trailer: chunk count, then the dataset's name.  llama.cpp
	 * takes a short chunk count as the bytes that are there. */
	if (c.pos < len && len - c.pos < 4) {
		uint32_t u = 0;

		for (size_t k = 0; c.pos + k < len; k++)
			u |= (uint32_t)buf[c.pos + k] << (8 * k);
		m->chunk_count = (int32_t)u;
	} else if (dat_i32(&c, &n_calls) == 0) {
		m->chunk_count = n_calls;
		if (dat_i32(&c, &dlen) == 0 && dlen > 0 && (size_t)dlen <= len - c.pos) {
			if ((m->datasets = calloc(1, sizeof *m->datasets)) == NULL ||
			    (m->datasets[0] = dup_cstr(buf + c.pos, strnlen((const char *)buf + c.pos,
			    (size_t)dlen))) == NULL)
				return qerr_set(e, "%s: out of memory", name);
			m->n_datasets = 1;
		}
	}
	return 0;
}

int
imatrix_parse(struct imatrix *m, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e)
{
	int rc;

	memset(m, 0, sizeof *m);
	if (len >= 4 && memcmp(buf, "GGUF", 4) == 0)
		rc = parse_gguf(m, buf, len, name, e);
	else
		rc = parse_dat(m, buf, len, name, e);
	if (rc < 0)
		imatrix_free(m);
	return rc;
}

int
imatrix_load(struct imatrix *m, const char *path, struct qerr *e)
{
	struct qmap map;
	int rc;

	memset(m, 0, sizeof *m);
	if (qmap_open(&map, path, e) < 0)
		return -1;
	rc = imatrix_parse(m, map.data, map.size, path, e);
	qmap_close(&map);
	return rc;
}

static int
set_cut_str(struct gguf_writer *w, const char *key, const char *s)
{
	char cut[128];

	snprintf(cut, sizeof cut, "%s", s);	/* llama-quantize keeps 127 bytes */
	gguf_w_remove(w, key);
	return gguf_w_set_str(w, key, cut);
}

static int
set_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
	gguf_w_remove(w, key);
	return gguf_w_set(w, key, GGUF_T_UINT32, &v);
}

int
imatrix_set_quantize_kvs(struct gguf_writer *w, const struct imatrix *m, const char *path,
    size_t n_used)
{
	if (n_used == 0)
		return 0;	/* llama-quantize adds nothing without entries */
	if (set_cut_str(w, "quantize.imatrix.file", path) < 0)
		return -1;
	if (m->n_datasets > 0 && set_cut_str(w, "quantize.imatrix.dataset", m->datasets[0]) < 0)
		return -1;
	if (set_u32(w, "quantize.imatrix.entries_count", (uint32_t)n_used) < 0)
		return -1;
	if (m->chunk_count > 0 && set_u32(w, "quantize.imatrix.chunks_count", (uint32_t)m->chunk_count) < 0)
		return -1;
	return 0;
}
