/* layout: which layout a checkpoint without a quantization_config is in,
 * from its tensor names, dtypes and shapes (spec §2-6, §8), written as the
 * quantization_config a loader would have read, so ql_config_parse and the
 * unpackers check it like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

static int
has(ql_find_fn find, void *ctx, const char *prefix, const char *suffix, struct ql_tensor *t)
{
	char name[1200];
	struct ql_tensor tmp;

	snprintf(name, sizeof name, "%s.%s", prefix, suffix);
	return find(ctx, name, t ? t : &tmp) == 0;
}

static int
ends(const char *name, const char *suffix, size_t *plen)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n <= s || strcmp(name + n - s, suffix) != 0)
		return 0;
	*plen = n - s;
	return 1;
}

static void
weights(cJSON *qc, const char *fmt, int bits, const char *type, int sym, const char *strategy,
    int64_t group)
{
	cJSON *g = cJSON_AddObjectToObject(cJSON_AddObjectToObject(qc, "config_groups"), "group_0");
	cJSON *w = cJSON_AddObjectToObject(g, "weights");

	cJSON_AddStringToObject(qc, "quant_method", "compressed-tensors");
	cJSON_AddStringToObject(qc, "format", fmt);
	cJSON_AddNumberToObject(w, "num_bits", bits);
	cJSON_AddStringToObject(w, "type", type);
	cJSON_AddBoolToObject(w, "symmetric", sym);
	cJSON_AddStringToObject(w, "strategy", strategy);
	if (group > 0)
		cJSON_AddNumberToObject(w, "group_size", (double)group);
	cJSON_AddStringToObject(g, "format", fmt);
}

/* fp8 block sizes b with ceil(dim / b) == cells, over every weight_scale_inv
 * module: one tensor alone cannot tell 24 from 32 when 48 rows have 2 cells. */
struct block_range {
	uint64_t lo[2], hi[2];
};

static void
narrow(struct block_range *r, const uint64_t dim[2], const uint64_t cells[2])
{
	for (int i = 0; i < 2; i++) {
		uint64_t lo, hi;

		if (cells[i] == 0 || dim[i] == 0) {
			r->lo[i] = 1, r->hi[i] = 0;	/* empty */
			continue;
		}
		lo = (dim[i] + cells[i] - 1) / cells[i];
		hi = cells[i] == 1 ? UINT64_MAX : (dim[i] - 1) / (cells[i] - 1);
		if (lo > r->lo[i])
			r->lo[i] = lo;
		if (hi < r->hi[i])
			r->hi[i] = hi;
	}
}

/* One module's evidence -> a config, or NULL with the reason. */
static cJSON *
from_module(const char *prefix, const char *marker, ql_find_fn find, void *ctx,
    const struct block_range *br, struct qerr *e)
{
	struct ql_tensor w, sc, z, sh;
	cJSON *qc = cJSON_CreateObject();

	if (strcmp(marker, "weight_packed") == 0) {
		if (!has(find, ctx, prefix, "weight_packed", &w) || w.ndim != 2 ||
		    !has(find, ctx, prefix, "weight_scale", &sc) || sc.ndim != 2)
			goto bad;
		if (w.dtype == QD_U8 && sc.dtype == QD_F8_E4M3 &&
		    has(find, ctx, prefix, "weight_global_scale", NULL)) {
			weights(qc, "nvfp4-pack-quantized", 4, "float", 1, "tensor_group", 16);
			return qc;
		}
		if (w.dtype == QD_U8 && sc.dtype == QD_U8) {
			weights(qc, "mxfp4-pack-quantized", 4, "float", 1, "group", 32);
			return qc;
		}
		if (w.dtype == QD_I32 && has(find, ctx, prefix, "weight_shape", &sh) && sh.ndim == 1 &&
		    sh.shape[0] == 2 && (sh.dtype == QD_I64 || sh.dtype == QD_I32)) {
			int64_t in;
			int bits;

			if (sh.dtype == QD_I64)
				memcpy(&in, sh.data + 8, 8);
			else {
				int32_t v;

				memcpy(&v, sh.data + 4, 4);
				in = v;
			}
			if (in <= 0 || w.shape[1] == 0)
				goto bad;
			/* weight_packed [out, ceil(in / (32 / bits))] */
			bits = (uint64_t)(in + 7) / 8 == w.shape[1] ? 4 :
			    (uint64_t)(in + 3) / 4 == w.shape[1] ? 8 : 0;
			if (bits == 0 || sc.shape[1] == 0 || (uint64_t)in % sc.shape[1])
				goto bad;
			weights(qc, "pack-quantized", bits, "int",
			    !has(find, ctx, prefix, "weight_zero_point", &z),
			    sc.shape[1] == 1 ? "channel" : "group",
			    sc.shape[1] == 1 ? -1 : in / (int64_t)sc.shape[1]);
			return qc;
		}
		goto bad;
	}
	if (strcmp(marker, "qweight") == 0) {
		struct ql_tensor gi;
		uint64_t in, G;
		int bits;

		if (!has(find, ctx, prefix, "qweight", &w) || w.dtype != QD_I32 || w.ndim != 2 ||
		    !has(find, ctx, prefix, "scales", &sc) || sc.ndim != 2 || sc.shape[0] == 0 ||
		    !has(find, ctx, prefix, "qzeros", NULL))
			goto bad;
		if (sc.shape[1] == 8 * w.shape[1] && !has(find, ctx, prefix, "g_idx", NULL)) {
			/* awq: qweight [in, out/8], scales [in/G, out] */
			in = w.shape[0];
			if (in % sc.shape[0])
				goto bad;
			G = in / sc.shape[0];
			cJSON_AddStringToObject(qc, "quant_method", "awq");
			cJSON_AddNumberToObject(qc, "bits", 4);
			cJSON_AddNumberToObject(qc, "group_size", (double)G);
			cJSON_AddStringToObject(qc, "version", "gemm");
			cJSON_AddBoolToObject(qc, "zero_point", 1);
			return qc;
		}
		if (sc.shape[1] != w.shape[1])
			goto bad;
		/* gptq: qweight [in * bits / 32, out], g_idx [in] says which bits */
		if (!has(find, ctx, prefix, "g_idx", &gi) || gi.ndim != 1 || gi.shape[0] == 0) {
			qerr_set(e, "%s: gptq without g_idx: 4 or 8 bits cannot be told apart; "
			    "give a config.json with its quantization_config", prefix);
			cJSON_Delete(qc);
			return NULL;
		}
		in = gi.shape[0];
		bits = in == 8 * w.shape[0] ? 4 : in == 4 * w.shape[0] ? 8 : 0;
		if (bits == 0)
			goto bad;
		G = (in + sc.shape[0] - 1) / sc.shape[0];
		cJSON_AddStringToObject(qc, "quant_method", "gptq");
		cJSON_AddNumberToObject(qc, "bits", bits);
		cJSON_AddNumberToObject(qc, "group_size", sc.shape[0] == 1 ? -1.0 : (double)G);
		return qc;
	}
	if (strcmp(marker, "weight_scale_inv") == 0) {
		int64_t b[2];

		if (!has(find, ctx, prefix, "weight", &w) || w.dtype != QD_F8_E4M3 || w.ndim != 2 ||
		    !has(find, ctx, prefix, "weight_scale_inv", &sc) || sc.ndim != 2 ||
		    sc.shape[0] == 0 || sc.shape[1] == 0)
			goto bad;
		for (int i = 0; i < 2; i++) {	/* 128 (DeepSeek's) when it fits every module */
			if (br->lo[i] > br->hi[i] || br->lo[i] > (UINT64_C(1) << 30)) {
				qerr_set(e, "%s: weight_scale_inv: no block size fits every module", prefix);
				cJSON_Delete(qc);
				return NULL;
			}
			b[i] = br->lo[i] <= 128 && 128 <= br->hi[i] ? 128 : (int64_t)br->lo[i];
		}
		cJSON_AddStringToObject(qc, "quant_method", "fp8");
		cJSON_AddItemToObject(qc, "weight_block_size", cJSON_CreateIntArray((const int[]){
		    (int)b[0], (int)b[1] }, 2));
		return qc;
	}
	/* marker "weight" with weight_scale: fp8, compressed-tensors float, or Quark */
	if (!has(find, ctx, prefix, "weight", &w) || w.ndim != 2 ||
	    !has(find, ctx, prefix, "weight_scale", &sc))
		goto bad;
	if (w.dtype == QD_F8_E4M3 && (sc.ndim == 0 || (sc.ndim == 1 && sc.shape[0] == 1))) {
		cJSON_AddStringToObject(qc, "quant_method", "fp8");
		return qc;
	}
	if (w.dtype == QD_F8_E4M3 && sc.ndim == 2 && sc.shape[0] == w.shape[0] && sc.shape[1] == 1) {
		weights(qc, "float-quantized", 8, "float", 1, "channel", -1);
		return qc;
	}
	if (w.dtype == QD_I32 || w.dtype == QD_I8 || w.dtype == QD_U8) {
		/* Quark (spec §6.3); its pack_method is not in the tensors: "reorder",
		 * its default, is assumed */
		cJSON *g = cJSON_AddObjectToObject(qc, "global_quant_config");
		cJSON *wq = cJSON_AddObjectToObject(g, "weight");
		int asym = has(find, ctx, prefix, "weight_zero_point", NULL);
		int grp = sc.ndim == 2;
		const char *dt = w.dtype == QD_I32 ? (asym ? "uint4" : "int4") :
		    w.dtype == QD_I8 ? "int8" : "uint8";

		cJSON_AddStringToObject(qc, "quant_method", "quark");
		cJSON_AddStringToObject(wq, "dtype", dt);
		cJSON_AddBoolToObject(wq, "symmetric", !asym);
		cJSON_AddStringToObject(wq, "qscheme", grp ? "per_group" : sc.ndim == 1 ? "per_channel" :
		    "per_tensor");
		if (grp) {
			/* per_group: weight transposed, [in, out(/8)], scale [in/G, out] */
			if (sc.shape[0] == 0 || w.shape[0] % sc.shape[0])
				goto bad;
			cJSON_AddNumberToObject(wq, "group_size", (double)(w.shape[0] / sc.shape[0]));
		}
		cJSON_AddStringToObject(cJSON_AddObjectToObject(qc, "export"), "pack_method", "reorder");
		return qc;
	}
bad:
	qerr_set(e, "%s: its %s tensors match no known layout", prefix, marker);
	cJSON_Delete(qc);
	return NULL;
}

/* fp8's per-tensor evidence as a compressed-tensors group: the tensors are
 * the same (F8 weight, scalar weight_scale), so beside pack-quantized
 * modules they are compressed-tensors' float-quantized per tensor. */
static cJSON *
as_ct(cJSON *qc)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qc, "quant_method"));
	cJSON *ct;

	if (m && strcmp(m, "compressed-tensors") == 0)
		return qc;
	if (!m || strcmp(m, "fp8") != 0 || cJSON_GetObjectItemCaseSensitive(qc, "weight_block_size"))
		return NULL;
	ct = cJSON_CreateObject();
	weights(ct, "float-quantized", 8, "float", 1, "tensor", -1);
	cJSON_Delete(qc);
	return ct;
}

/* Modules in several compressed-tensors schemes (a mixed-precision
 * checkpoint): one config group per scheme, its targets the module names;
 * NULL if a module is in another layout. */
static cJSON *
ct_mixed(cJSON **qc, char **js, char **prefix, size_t n, size_t *group, size_t ng)
{
	cJSON *out = cJSON_CreateObject(), *groups;
	const char *fmt = NULL;

	for (size_t k = 0; k < ng; k++) {
		cJSON *ct = as_ct(qc[k]);	/* qc[k] stays the caller's when NULL */
		const char *f;

		if (ct == NULL) {
			cJSON_Delete(out);
			return NULL;
		}
		qc[k] = ct;
		f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qc[k], "format"));
		fmt = fmt == NULL || strcmp(fmt, f) == 0 ? f : "mixed-precision";
	}
	cJSON_AddStringToObject(out, "quant_method", "compressed-tensors");
	cJSON_AddStringToObject(out, "format", fmt);
	groups = cJSON_AddObjectToObject(out, "config_groups");
	for (size_t k = 0; k < ng; k++) {
		cJSON *g = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(qc[k], "config_groups"), "group_0"), 1);
		cJSON *t = cJSON_AddArrayToObject(g, "targets");
		char name[32];

		for (size_t i = 0; i < n; i++)
			if (group[i] == k)
				cJSON_AddItemToArray(t, cJSON_CreateString(prefix[i]));
		snprintf(name, sizeof name, "group_%zu", k);
		cJSON_AddItemToObject(groups, name, g);
	}
	(void)js;
	return out;
}

cJSON *
ql_detect(const char *const *names, size_t n, ql_find_fn find, void *ctx, struct qerr *e)
{
	/* the most specific marker first: a "weight" next to weight_scale_inv
	 * is fp8 block, not per tensor */
	static const char *const markers[] = { "weight_packed", "qweight", "weight_scale_inv",
		"weight_scale" };
	enum { MAX_SCHEMES = 64 };
	cJSON *found = NULL, *qcs[MAX_SCHEMES];
	char *js_of[MAX_SCHEMES], **prefix = calloc(n + 1, sizeof *prefix);
	size_t plen, nm = 0, ng = 0, *group = calloc(n + 1, sizeof *group);
	struct block_range br = { { 1, 1 }, { UINT64_MAX, UINT64_MAX } };

	if (prefix == NULL || group == NULL) {
		free(prefix);
		free(group);
		qerr_set(e, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		char pfx[1100];
		struct ql_tensor w, sc;

		if (!ends(names[i], ".weight_scale_inv", &plen) || plen >= sizeof pfx)
			continue;
		snprintf(pfx, sizeof pfx, "%.*s", (int)plen, names[i]);
		if (has(find, ctx, pfx, "weight", &w) && w.ndim == 2 &&
		    has(find, ctx, pfx, "weight_scale_inv", &sc) && sc.ndim == 2)
			narrow(&br, w.shape, sc.shape);
	}

	for (size_t i = 0; i < n; i++) {
		for (size_t m = 0; m < sizeof markers / sizeof markers[0]; m++) {
			char pfx[1100];
			cJSON *qc;
			char *js;
			size_t k;

			if (!ends(names[i], markers[m], &plen) || plen == 0 || names[i][plen - 1] != '.' ||
			    plen >= sizeof pfx)
				continue;
			snprintf(pfx, sizeof pfx, "%.*s", (int)(plen - 1), names[i]);
			if (m == 3 && (has(find, ctx, pfx, "weight_packed", NULL) ||
			    has(find, ctx, pfx, "weight_scale_inv", NULL)))
				break;	/* counted under its own marker */
			if ((qc = from_module(pfx, m == 3 ? "weight" : markers[m], find, ctx, &br, e)) == NULL)
				goto fail;
			if ((js = cJSON_PrintUnformatted(qc)) == NULL || (prefix[nm] = strdup(pfx)) == NULL) {
				free(js);
				cJSON_Delete(qc);
				qerr_set(e, "out of memory");
				goto fail;
			}
			for (k = 0; k < ng && strcmp(js_of[k], js) != 0; k++)
				;
			if (k == ng && ng == MAX_SCHEMES) {
				free(js);
				cJSON_Delete(qc);
				nm++;
				qerr_set(e, "more than %d schemes; give a config.json with its quantization_config",
				    MAX_SCHEMES);
				goto fail;
			}
			if (k == ng) {
				qcs[ng] = qc, js_of[ng++] = js;
			} else {
				cJSON_Delete(qc);
				free(js);
			}
			group[nm++] = k;
			break;
		}
	}
	if (ng == 0)
		qerr_set(e, "no quantized weight found (qweight, weight_packed, weight_scale, "
		    "weight_scale_inv, *_blocks)");
	else if (ng == 1)
		found = qcs[0], qcs[0] = NULL;
	else if ((found = ct_mixed(qcs, js_of, prefix, nm, group, ng)) == NULL) {
		size_t b = 0;

		while (group[b] == 0)
			b++;
		qerr_set(e, "ambiguous: %s and %s are in different layouts (%s, %s); "
		    "give a config.json with its quantization_config", prefix[0], prefix[b], js_of[0], js_of[group[b]]);
	}
fail:
	for (size_t k = 0; k < ng; k++) {
		cJSON_Delete(qcs[k]);
		free(js_of[k]);
	}
	for (size_t i = 0; i < nm; i++)
		free(prefix[i]);
	free(prefix);
	free(group);
	return found;
}
