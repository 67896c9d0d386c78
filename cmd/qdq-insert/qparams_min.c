/* A minimal reader of qparams files (DESIGN.md: a safetensors file of F32
 * scales, I32 zero points, F32 activation ranges).  It only looks tensors up
 * by name; every offset and shape is checked against the file.  To be
 * replaced by libcommon's safetensors reader when it lands. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "qdq-insert.h"

int
qp_open(struct qp *q, const char *path, struct qerr *e)
{
	uint64_t hlen;
	char *json;

	memset(q, 0, sizeof *q);
	if (qmap_open(&q->map, path, e) < 0)
		return -1;
	if (q->map.size < 8)
		goto bad;
	memcpy(&hlen, q->map.data, 8);
	if (hlen > 100000000 || hlen > q->map.size - 8)
		goto bad;
	json = malloc(hlen + 1);
	if (json == NULL)
		goto bad;
	memcpy(json, q->map.data + 8, hlen);
	json[hlen] = 0;
	q->hdr = cJSON_Parse(json);
	free(json);
	if (q->hdr == NULL || !cJSON_IsObject(q->hdr))
		goto bad;
	q->data = q->map.data + 8 + hlen;
	q->data_len = q->map.size - 8 - hlen;
	return 0;
bad:
	qp_close(q);
	return qerr_set(e, "%s: not a qparams (safetensors) file", path);
}

void
qp_close(struct qp *q)
{
	if (q->hdr)
		cJSON_Delete(q->hdr);
	if (q->map.data)
		qmap_close(&q->map);
	memset(q, 0, sizeof *q);
}

/* Tensor `name` of dtype ("F32"/"I32"); NULL if absent or malformed. */
const void *
qp_get(const struct qp *q, const char *name, const char *dtype, int64_t *shape, int *rank,
    int64_t *n)
{
	const cJSON *t, *dt, *sh, *off, *d;
	uint64_t b, en, count = 1;

	if (q->hdr == NULL || (t = cJSON_GetObjectItemCaseSensitive(q->hdr, name)) == NULL)
		return NULL;
	dt = cJSON_GetObjectItemCaseSensitive(t, "dtype");
	sh = cJSON_GetObjectItemCaseSensitive(t, "shape");
	off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
	if (!cJSON_IsString(dt) || strcmp(dt->valuestring, dtype) || !cJSON_IsArray(sh) ||
	    !cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || cJSON_GetArraySize(sh) > 8)
		return NULL;
	*rank = 0;
	cJSON_ArrayForEach(d, sh) {
		if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e12)
			return NULL;
		shape[(*rank)++] = (int64_t)d->valuedouble;
		count *= (uint64_t)d->valuedouble;
		if (count > (UINT64_C(1) << 40))
			return NULL;
	}
	b = (uint64_t)cJSON_GetArrayItem(off, 0)->valuedouble;
	en = (uint64_t)cJSON_GetArrayItem(off, 1)->valuedouble;
	if (b > en || en > q->data_len || en - b != count * 4)
		return NULL;
	*n = (int64_t)count;
	return q->data + b;
}

/* Whether the file names a tensor `name` at all (well-formed or not). */
int
qp_has(const struct qp *q, const char *name)
{
	return q->hdr && cJSON_GetObjectItemCaseSensitive(q->hdr, name) != NULL;
}

/* __metadata__[key], a string, or NULL. */
const char *
qp_meta(const struct qp *q, const char *key)
{
	const cJSON *m, *v;

	if (q->hdr == NULL || (m = cJSON_GetObjectItemCaseSensitive(q->hdr, "__metadata__")) == NULL)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(m, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A plan entry (qcalib's per-tensor scheme, a JSON text): its element
 * format and block (or group) size; 0 when absent. */
int
qp_plan(const struct qp *q, const char *weight, char *format, size_t fsz, long *block)
{
	const char *s = qp_meta(q, weight);
	cJSON *j, *f, *b;
	int rc = -1;

	if (s == NULL || (j = cJSON_Parse(s)) == NULL)
		return -1;
	f = cJSON_GetObjectItemCaseSensitive(j, "format");
	b = cJSON_GetObjectItemCaseSensitive(j, "block");
	if (b == NULL)
		b = cJSON_GetObjectItemCaseSensitive(j, "group");
	if (cJSON_IsString(f) && strlen(f->valuestring) < fsz) {
		strcpy(format, f->valuestring);
		*block = cJSON_IsNumber(b) ? (long)b->valuedouble : 0;
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}
