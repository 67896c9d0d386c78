/* packed: a checkpoint's quantized modules (see packed.h). */
#include <stdlib.h>
#include <string.h>

#include "packed.h"

int
packed_lookup(void *ctx, const char *name, struct ql_tensor *t)
{
	const struct ckpt_tensor *ct = ckpt_find(ctx, name);

	if (ct == NULL)
		return -1;
	t->dtype = ct->t->dtype;
	t->ndim = ct->t->ndim;
	memcpy(t->shape, ct->t->shape, sizeof t->shape);
	t->data = ct->t->data;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
packed_open(struct packed *pk, const struct ckpt *ck, struct qerr *e)
{
	const cJSON *qc = ck->config ? cJSON_GetObjectItemCaseSensitive(ck->config,
	    "quantization_config") : NULL;
	const cJSON *method = qc ? cJSON_GetObjectItemCaseSensitive(qc, "quant_method") : NULL;

	memset(pk, 0, sizeof *pk);
	pk->ck = ck;
	pk->cfg.layout = QL_COUNT;
	if (cJSON_IsString(method) && strcmp(method->valuestring, "mxfp4") == 0)
		return 0;	/* gpt-oss: only its experts, which are not modules */
	if (qc) {
		if (ql_config_parse(qc, &pk->cfg, e) < 0)
			return qerr_prefix(e, "config.json");
	} else {
		const char **names;

		if ((names = calloc(ck->n_tensors + 1, sizeof *names)) == NULL)
			return qerr_set(e, "out of memory");
		for (size_t i = 0; i < ck->n_tensors; i++)
			names[i] = ck->tensors[i].t->name;
		pk->detected = ql_detect(names, ck->n_tensors, packed_lookup, (void *)ck, e);
		free(names);
		if (pk->detected == NULL) {	/* e says why; the caller decides */
			char why[sizeof e->msg];

			memcpy(why, e->msg, sizeof why);
			qerr_set(e, "no quantization_config, and %s", why);
			pk->why = *e;
			return 0;
		}
		if (ql_config_parse(pk->detected, &pk->cfg, e) < 0) {
			qerr_prefix(e, "recognised as %s, but",
			    cJSON_GetObjectItemCaseSensitive(pk->detected, "quant_method")->valuestring);
			packed_close(pk);
			return -1;
		}
	}
	if ((pk->prefix = calloc(ck->n_tensors + 1, sizeof *pk->prefix)) == NULL)
		return qerr_set(e, "out of memory");
	for (size_t i = 0; i < ck->n_tensors; i++) {
		const struct st_tensor *t = ck->tensors[i].t;
		size_t plen;

		if (ql_is_marker(&pk->cfg, t->name, t->dtype, &plen) &&
		    (pk->prefix[pk->n] = strndup(t->name, plen)) != NULL)
			pk->n++;
		else if (ql_is_marker(&pk->cfg, t->name, t->dtype, &plen)) {
			packed_close(pk);
			return qerr_set(e, "out of memory");
		}
	}
	qsort(pk->prefix, pk->n, sizeof *pk->prefix, cmp_str);
	return 0;
}

void
packed_close(struct packed *pk)
{
	for (size_t i = 0; i < pk->n; i++)
		free(pk->prefix[i]);
	free(pk->prefix);
	cJSON_Delete(pk->detected);
	memset(pk, 0, sizeof *pk);
	pk->cfg.layout = QL_COUNT;
}

/* The module named by the first plen bytes of name, or NULL. */
static const char *
find_module(const struct packed *pk, const char *name, size_t plen)
{
	size_t lo = 0, hi = pk->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(pk->prefix[mid], name, plen);

		if (c == 0 && pk->prefix[mid][plen] != 0)
			c = 1;	/* longer than the prefix: after it */
		if (c == 0)
			return pk->prefix[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *
packed_module(const struct packed *pk, const char *name)
{
	const struct ckpt_tensor *ct;
	size_t plen;

	if (pk->n == 0 || (ct = ckpt_find(pk->ck, name)) == NULL ||
	    !ql_is_marker(&pk->cfg, name, ct->t->dtype, &plen))
		return NULL;
	return find_module(pk, name, plen);
}

int
packed_is_part(const struct packed *pk, const char *name)
{
	const char *dot = strrchr(name, '.');

	return pk->n > 0 && dot && ql_is_part_suffix(dot + 1) &&
	    find_module(pk, name, (size_t)(dot - name)) != NULL;
}
