/* layout: config.json quantization_config, written as each loader checks it
 * (spec §2.4, §3.6, §4.1, §5, §6.1) and read back for --dequant. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "qblock.h"

static cJSON *
string_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static int64_t
group_of(const struct qscheme *s)
{
	return s->gran == QG_GROUP ? s->group : -1;
}

static cJSON *
ct_config(const struct qscheme *s, enum ql_act_order act, const char *method,
    const char *const *ignore, size_t n_ignore)
{
	cJSON *qc = cJSON_CreateObject(), *groups, *g0, *w, *bs;
	int fp4 = s->fmt == QF_NVFP4 || s->fmt == QF_MXFP4, fl = linq_is_float(s->fmt) || fp4;
	const char *fmt = s->fmt == QF_NVFP4 ? "nvfp4-pack-quantized" :
	    s->fmt == QF_MXFP4 ? "mxfp4-pack-quantized" : fl ? "float-quantized" : "pack-quantized";
	static const char *const strategy[QG_COUNT] = { "tensor", "channel", "group", "block" };

	cJSON_AddStringToObject(qc, "quant_method", "compressed-tensors");
	cJSON_AddStringToObject(qc, "format", fmt);
	cJSON_AddStringToObject(qc, "quantization_status", "compressed");
	cJSON_AddStringToObject(qc, "version", "0.12.2");
	groups = cJSON_AddObjectToObject(qc, "config_groups");
	g0 = cJSON_AddObjectToObject(groups, "group_0");
	cJSON_AddItemToObject(g0, "targets", string_array((const char *const[]){ "Linear" }, 1));
	/* QuantizationArgs forbids unknown keys: exactly these */
	w = cJSON_AddObjectToObject(g0, "weights");
	cJSON_AddNumberToObject(w, "num_bits", fp4 ? 4 : linq_bits(s->fmt));
	cJSON_AddStringToObject(w, "type", fl ? "float" : "int");
	cJSON_AddBoolToObject(w, "symmetric", s->sym);
	if (s->gran == QG_GROUP)
		cJSON_AddNumberToObject(w, "group_size", (double)s->group);
	else
		cJSON_AddNullToObject(w, "group_size");
	/* NVFP4's group scales sit under a global one: "tensor_group" */
	cJSON_AddStringToObject(w, "strategy", s->fmt == QF_NVFP4 ? "tensor_group" : strategy[s->gran]);
	if (s->gran == QG_BLOCK) {
		bs = cJSON_AddArrayToObject(w, "block_structure");
		cJSON_AddItemToArray(bs, cJSON_CreateNumber((double)s->block[0]));
		cJSON_AddItemToArray(bs, cJSON_CreateNumber((double)s->block[1]));
	} else {
		cJSON_AddNullToObject(w, "block_structure");
	}
	cJSON_AddBoolToObject(w, "dynamic", 0);
	if (act != QL_ACT_NONE && s->gran == QG_GROUP && !fl)	/* llm-compressor's names */
		cJSON_AddStringToObject(w, "actorder", act == QL_ACT_GROUP ? "group" : "weight");
	else
		cJSON_AddNullToObject(w, "actorder");
	cJSON_AddStringToObject(w, "observer", method && strcmp(method, "mse") == 0 ? "mse" : "minmax");
	cJSON_AddObjectToObject(w, "observer_kwargs");
	cJSON_AddNullToObject(g0, "input_activations");
	cJSON_AddNullToObject(g0, "output_activations");
	cJSON_AddStringToObject(g0, "format", fmt);
	cJSON_AddItemToObject(qc, "ignore", string_array(ignore, n_ignore));
	cJSON_AddNullToObject(qc, "kv_cache_scheme");
	cJSON_AddNullToObject(qc, "global_compression_ratio");
	cJSON_AddObjectToObject(qc, "sparsity_config");
	cJSON_AddObjectToObject(qc, "transform_config");
	return qc;
}

static const char *
quark_dtype(enum qfmt f)
{
	switch (f) {
	case QF_INT8: return "int8";
	case QF_UINT8: return "uint8";
	case QF_INT4: return "int4";
	case QF_UINT4: return "uint4";
	case QF_FP8_E4M3: return "fp8_e4m3";
	default: return "fp8_e5m2";
	}
}

static cJSON *
quark_config(const struct ql_opts *o, const struct qscheme *s, const char *const *ignore,
    size_t n_ignore)
{
	static const char *const qscheme[QG_COUNT] = { "per_tensor", "per_channel", "per_group", "per_block" };
	static const char *const observer[QG_COUNT] = { "PerTensorMinMaxObserver",
		"PerChannelMinMaxObserver", "PerGroupMinMaxObserver", "PerBlockMinMaxObserver" };
	cJSON *qc = cJSON_CreateObject(), *g, *w, *ex;

	cJSON_AddStringToObject(qc, "quant_method", "quark");
	g = cJSON_AddObjectToObject(qc, "global_quant_config");
	w = cJSON_AddObjectToObject(g, "weight");
	cJSON_AddStringToObject(w, "dtype", quark_dtype(s->fmt));
	cJSON_AddStringToObject(w, "qscheme", qscheme[s->gran]);
	if (s->gran == QG_TENSOR)
		cJSON_AddNullToObject(w, "ch_axis");
	else
		cJSON_AddNumberToObject(w, "ch_axis", s->gran == QG_GROUP ? 1 : 0);
	if (s->gran == QG_GROUP)
		cJSON_AddNumberToObject(w, "group_size", (double)s->group);
	else
		cJSON_AddNullToObject(w, "group_size");
	cJSON_AddBoolToObject(w, "symmetric", s->sym);
	cJSON_AddBoolToObject(w, "is_dynamic", 0);
	cJSON_AddStringToObject(w, "round_method", "half_even");
	cJSON_AddStringToObject(w, "scale_type", "float");
	cJSON_AddNullToObject(w, "scale_format");
	cJSON_AddNullToObject(w, "scale_calculation_mode");
	cJSON_AddNullToObject(w, "mx_element_dtype");
	cJSON_AddStringToObject(w, "observer_cls", observer[s->gran]);
	cJSON_AddBoolToObject(w, "is_scale_quant", 0);
	cJSON_AddNullToObject(g, "input_tensors");
	cJSON_AddNullToObject(g, "output_tensors");
	cJSON_AddNullToObject(g, "bias");
	cJSON_AddNullToObject(g, "target_device");
	cJSON_AddObjectToObject(qc, "layer_type_quant_config");
	cJSON_AddObjectToObject(qc, "layer_quant_config");
	cJSON_AddItemToObject(qc, "exclude", string_array(ignore, n_ignore));
	cJSON_AddNullToObject(qc, "algo_config");
	cJSON_AddNullToObject(qc, "softmax_quant_spec");
	cJSON_AddStringToObject(qc, "quant_mode", "eager_mode");
	cJSON_AddStringToObject(qc, "version", "0.9");
	ex = cJSON_AddObjectToObject(qc, "export");
	cJSON_AddStringToObject(ex, "weight_format", "real_quantized");
	cJSON_AddStringToObject(ex, "pack_method", o->quark_order ? "order" : "reorder");
	cJSON_AddItemToObject(ex, "kv_cache_group", string_array(NULL, 0));
	cJSON_AddNumberToObject(ex, "min_kv_scale", 0.0);
	cJSON_AddNullToObject(ex, "weight_merge_groups");
	return qc;
}

/* Module names other than lm_head: loaders skip lm_head on their own. */
static cJSON *
not_converted(const char *const *ignore, size_t n_ignore)
{
	size_t n = 0;
	cJSON *a;

	for (size_t i = 0; i < n_ignore; i++)
		n += strcmp(ignore[i], "lm_head") != 0;
	if (n == 0)
		return cJSON_CreateNull();
	a = cJSON_CreateArray();
	for (size_t i = 0; i < n_ignore; i++)
		if (strcmp(ignore[i], "lm_head") != 0)
			cJSON_AddItemToArray(a, cJSON_CreateString(ignore[i]));
	return a;
}

/* GPTQModel's "dynamic": a "-:" regex skips a module. */
static cJSON *
gptq_dynamic(const char *const *ignore, size_t n_ignore)
{
	cJSON *d = cJSON_CreateObject();

	for (size_t i = 0; i < n_ignore; i++) {
		char re[1200];
		size_t k = 0;

		if (strcmp(ignore[i], "lm_head") == 0)
			continue;
		k += (size_t)snprintf(re, sizeof re, "-:^");
		for (const char *c = ignore[i]; *c && k + 3 < sizeof re; c++) {
			if (strchr(".^$*+?()[]{}|\\", *c))
				re[k++] = '\\';
			re[k++] = *c;
		}
		re[k++] = '$';
		re[k] = 0;
		cJSON_AddObjectToObject(d, re);
	}
	return d;
}

cJSON *
ql_config(const struct ql_opts *o, const struct qscheme *s, const char *method,
    const char *const *ignore, size_t n_ignore)
{
	return ql_config_act(o, s, QL_ACT_NONE, method, ignore, n_ignore);
}

cJSON *
ql_config_act(const struct ql_opts *o, const struct qscheme *s, enum ql_act_order act,
    const char *method, const char *const *ignore, size_t n_ignore)
{
	cJSON *qc, *a;

	switch (o->layout) {
	case QL_CT:
		return ct_config(s, act, method, ignore, n_ignore);
	case QL_AWQ:
		qc = cJSON_CreateObject();
		cJSON_AddStringToObject(qc, "quant_method", "awq");
		cJSON_AddNumberToObject(qc, "bits", 4);
		cJSON_AddNumberToObject(qc, "group_size", (double)group_of(s));
		cJSON_AddBoolToObject(qc, "zero_point", 1);
		cJSON_AddStringToObject(qc, "version", "gemm");
		cJSON_AddItemToObject(qc, "modules_to_not_convert", not_converted(ignore, n_ignore));
		return qc;
	case QL_GPTQ:
		qc = cJSON_CreateObject();
		cJSON_AddStringToObject(qc, "quant_method", "gptq");
		cJSON_AddNumberToObject(qc, "bits", linq_bits(s->fmt));
		cJSON_AddNumberToObject(qc, "group_size", (double)group_of(s));
		cJSON_AddBoolToObject(qc, "desc_act", act != QL_ACT_NONE);
		cJSON_AddBoolToObject(qc, "sym", s->sym);
		cJSON_AddNumberToObject(qc, "damp_percent", 0.01);
		cJSON_AddBoolToObject(qc, "true_sequential", 1);
		cJSON_AddBoolToObject(qc, "static_groups", act == QL_ACT_STATIC);
		cJSON_AddStringToObject(qc, "checkpoint_format", "gptq");
		cJSON_AddNullToObject(qc, "model_name_or_path");
		cJSON_AddNullToObject(qc, "model_file_base_name");
		a = gptq_dynamic(ignore, n_ignore);
		if (cJSON_GetArraySize(a) > 0)
			cJSON_AddItemToObject(qc, "dynamic", a);
		else
			cJSON_Delete(a);
		return qc;
	case QL_FP8:
		qc = cJSON_CreateObject();
		cJSON_AddStringToObject(qc, "quant_method", "fp8");
		if (s->gran == QG_BLOCK) {
			cJSON_AddStringToObject(qc, "fmt", "e4m3");
			cJSON_AddStringToObject(qc, "activation_scheme", "dynamic");
			a = cJSON_AddArrayToObject(qc, "weight_block_size");
			cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s->block[0]));
			cJSON_AddItemToArray(a, cJSON_CreateNumber((double)s->block[1]));
			cJSON_AddItemToObject(qc, "modules_to_not_convert", string_array(ignore, n_ignore));
		} else {
			cJSON_AddStringToObject(qc, "activation_scheme", "dynamic");
			cJSON_AddItemToObject(qc, "ignored_layers", string_array(ignore, n_ignore));
		}
		return qc;
	case QL_QUARK:
		return quark_config(o, s, ignore, n_ignore);
	default:
		return NULL;
	}
}

/* ---- reading ---- */

static int
get_int(const cJSON *o, const char *k1, const char *k2, int64_t *v, int required, struct qerr *e)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k1);

	if (x == NULL && k2)
		x = cJSON_GetObjectItemCaseSensitive(o, k2);
	if (x == NULL || cJSON_IsNull(x)) {
		if (required)
			return qerr_set(e, "quantization_config: \"%s\" missing", k1);
		return 1;
	}
	if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
	    fabs(x->valuedouble) > 1e12)
		return qerr_set(e, "quantization_config: \"%s\" is not an integer", k1);
	*v = (int64_t)x->valuedouble;
	return 0;
}

static const char *
get_str(const cJSON *o, const char *k)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int
get_bool(const cJSON *o, const char *k, int dflt)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsBool(x) ? cJSON_IsTrue(x) : dflt;
}

static int
set_group(struct qscheme *s, int64_t g, struct qerr *e)
{
	if (g == -1 || g == 0) {
		s->gran = QG_CHANNEL;
		s->axis = 0;
	} else if (g > 0) {
		s->gran = QG_GROUP;
		s->group = g;
	} else {
		return qerr_set(e, "quantization_config: group size %lld", (long long)g);
	}
	return 0;
}

static int
parse_ct(const cJSON *qc, struct ql_config *c, struct qerr *e)
{
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(qc, "config_groups"), *g, *w = NULL;
	const char *fmt = get_str(qc, "format"), *type, *strat;
	int64_t bits, gs = 0;
	char *first = NULL;

	if (!cJSON_IsObject(groups) || cJSON_GetArraySize(groups) == 0)
		return qerr_set(e, "quantization_config: config_groups missing");
	cJSON_ArrayForEach(g, groups) {
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(g, "weights");
		char *p = gw ? cJSON_PrintUnformatted(gw) : NULL;
		const char *gf = get_str(g, "format");

		if (gf && fmt && strcmp(gf, fmt) != 0 && strcmp(fmt, "mixed-precision") != 0) {
			free(p);
			free(first);
			return qerr_set(e, "quantization_config: groups in different formats are not supported");
		}
		if (gf)
			fmt = gf;
		if (first && (p == NULL || strcmp(first, p) != 0)) {
			free(p);
			free(first);
			return qerr_set(e, "quantization_config: groups with different weight schemes are not supported");
		}
		if (first == NULL) {
			first = p;
			w = gw;
		} else {
			free(p);
		}
	}
	free(first);
	if (!cJSON_IsObject(w))
		return qerr_set(e, "quantization_config: group without \"weights\"");
	if (fmt == NULL)
		return qerr_set(e, "quantization_config: \"format\" missing");
	if (get_int(w, "num_bits", NULL, &bits, 1, e) < 0)
		return -1;
	type = get_str(w, "type");
	c->s.sym = get_bool(w, "symmetric", 1);
	if (type && strcmp(type, "float") == 0 && bits == 4 &&
	    (strcmp(fmt, "nvfp4-pack-quantized") == 0 || strcmp(fmt, "mxfp4-pack-quantized") == 0)) {
		c->s.fmt = fmt[0] == 'n' ? QF_NVFP4 : QF_MXFP4;
		c->s.sym = 1;
		c->s.gran = QG_GROUP;
		c->s.group = qblock_info(c->s.fmt)->group;
		if (get_int(w, "group_size", NULL, &gs, 0, e) < 0)
			return -1;
		if (gs != c->s.group)
			return qerr_set(e, "quantization_config: %s with group_size %lld (it has %lld)",
			    fmt, (long long)gs, (long long)c->s.group);
		return 0;
	} else if (type && strcmp(type, "float") == 0) {
		if (bits != 8 || (strcmp(fmt, "float-quantized") != 0 && strcmp(fmt, "naive-quantized") != 0))
			return qerr_set(e, "quantization_config: float %lld-bit in %s is not supported",
			    (long long)bits, fmt);
		c->s.fmt = QF_FP8_E4M3;
		c->s.sym = 1;
	} else if (type == NULL || strcmp(type, "int") == 0) {
		if (strcmp(fmt, "pack-quantized") != 0 || (bits != 4 && bits != 8))
			return qerr_set(e, "quantization_config: int%lld in %s is not supported (pack-quantized int4/int8 is)",
			    (long long)bits, fmt);
		c->s.fmt = bits == 4 ? QF_INT4 : QF_INT8;
	} else {
		return qerr_set(e, "quantization_config: weights type \"%s\"", type);
	}
	strat = get_str(w, "strategy");
	if (get_int(w, "group_size", NULL, &gs, 0, e) < 0)
		return -1;
	if (strat == NULL)
		strat = gs > 0 ? "group" : gs == -1 ? "channel" : "tensor";
	if (strcmp(strat, "tensor") == 0) {
		c->s.gran = QG_TENSOR;
	} else if (strcmp(strat, "channel") == 0) {
		c->s.gran = QG_CHANNEL;
		c->s.axis = 0;
	} else if (strcmp(strat, "group") == 0) {
		if (gs <= 0)
			return qerr_set(e, "quantization_config: strategy group needs group_size > 0");
		c->s.gran = QG_GROUP;
		c->s.group = gs;
	} else if (strcmp(strat, "block") == 0) {
		const cJSON *bs = cJSON_GetObjectItemCaseSensitive(w, "block_structure");

		if (!cJSON_IsArray(bs) || cJSON_GetArraySize(bs) != 2 ||
		    get_int(bs, "", NULL, &gs, 0, e) < 0)
			return qerr_set(e, "quantization_config: block needs block_structure [rows, cols]");
		for (int i = 0; i < 2; i++) {
			const cJSON *x = cJSON_GetArrayItem(bs, i);

			if (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 1e9)
				return qerr_set(e, "quantization_config: block_structure[%d]", i);
			c->s.block[i] = (int64_t)x->valuedouble;
		}
		c->s.gran = QG_BLOCK;
	} else {
		return qerr_set(e, "quantization_config: strategy \"%s\" is not supported", strat);
	}
	{
		/* "group" (alias "dynamic"): weight_g_idx holds each input's group;
		 * "weight" (alias "static"): groups stay contiguous, no g_idx */
		const cJSON *ao = cJSON_GetObjectItemCaseSensitive(w, "actorder");
		const char *a = cJSON_IsString(ao) ? ao->valuestring : NULL;

		if (ao && !cJSON_IsNull(ao) && !cJSON_IsBool(ao) && a == NULL)
			return qerr_set(e, "quantization_config: actorder must be a string or null");
		int group = cJSON_IsTrue(ao) || (a && (strcmp(a, "group") == 0 || strcmp(a, "dynamic") == 0));

		if (a && !group && strcmp(a, "weight") != 0 && strcmp(a, "static") != 0)
			return qerr_set(e, "quantization_config: actorder \"%s\" (group, weight or null)", a);
		if (group && c->s.gran != QG_GROUP)
			return qerr_set(e, "quantization_config: actorder needs strategy group");
	}
	return 0;
}

int
ql_config_parse(const cJSON *qc, struct ql_config *c, struct qerr *e)
{
	const char *m = cJSON_IsObject(qc) ? get_str(qc, "quant_method") : NULL;
	int64_t v;

	memset(c, 0, sizeof *c);
	if (m == NULL)
		return qerr_set(e, "quantization_config: \"quant_method\" missing");
	if (strcmp(m, "compressed-tensors") == 0) {
		c->layout = QL_CT;
		return parse_ct(qc, c, e);
	}
	if (strcmp(m, "awq") == 0) {
		const char *ver = get_str(qc, "version");

		c->layout = QL_AWQ;
		if (get_int(qc, "bits", "w_bit", &v, 1, e) < 0)
			return -1;
		if (v != 4)
			return qerr_set(e, "quantization_config: awq with %lld bits", (long long)v);
		if (ver && strcasecmp(ver, "gemm") != 0)
			return qerr_set(e, "quantization_config: awq version \"%s\" (only gemm is read)", ver);
		if (!get_bool(qc, "zero_point", 1))
			return qerr_set(e, "quantization_config: awq without zero points is not supported");
		c->s.fmt = QF_UINT4;
		if (get_int(qc, "group_size", "q_group_size", &v, 1, e) < 0)
			return -1;
		return set_group(&c->s, v, e);
	}
	if (strcmp(m, "gptq") == 0) {
		const char *cf = get_str(qc, "checkpoint_format");

		c->layout = QL_GPTQ;
		if (cf == NULL)
			cf = get_str(qc, "format");
		if (cf && strcmp(cf, "gptq") != 0)
			return qerr_set(e, "quantization_config: gptq checkpoint_format \"%s\" (only v1 \"gptq\" is read)", cf);
		if (get_int(qc, "bits", NULL, &v, 1, e) < 0)
			return -1;
		if (v != 4 && v != 8)
			return qerr_set(e, "quantization_config: gptq with %lld bits (4 and 8 are read)", (long long)v);
		c->s.fmt = v == 4 ? QF_UINT4 : QF_UINT8;
		/* desc_act is informative: the g_idx tensor says each input's group */
		if (get_int(qc, "group_size", NULL, &v, 1, e) < 0)
			return -1;
		return set_group(&c->s, v, e);
	}
	if (strcmp(m, "fp8") == 0 || strcmp(m, "modelopt") == 0) {
		const cJSON *bs = cJSON_GetObjectItemCaseSensitive(qc, "weight_block_size");
		const char *algo = get_str(qc, "quant_algo");

		if (strcmp(m, "modelopt") == 0 && (algo == NULL || strcmp(algo, "FP8") != 0))
			return qerr_set(e, "quantization_config: modelopt %s is not supported (FP8 is)",
			    algo ? algo : "(no quant_algo)");
		c->layout = QL_FP8;
		c->s.fmt = QF_FP8_E4M3;
		c->s.sym = 1;
		if (bs && !cJSON_IsNull(bs)) {
			for (int i = 0; i < 2; i++) {
				const cJSON *x = cJSON_GetArrayItem(bs, i);

				if (!cJSON_IsArray(bs) || cJSON_GetArraySize(bs) != 2 || !cJSON_IsNumber(x) ||
				    x->valuedouble < 1 || x->valuedouble > 1e9)
					return qerr_set(e, "quantization_config: weight_block_size must be [rows, cols]");
				c->s.block[i] = (int64_t)x->valuedouble;
			}
			c->s.gran = QG_BLOCK;
			c->fp8_block = 1;
		} else {
			c->s.gran = QG_TENSOR;
		}
		return 0;
	}
	if (strcmp(m, "quark") == 0) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(qc, "global_quant_config");
		const cJSON *w = g ? cJSON_GetObjectItemCaseSensitive(g, "weight") : NULL;
		const cJSON *ex = cJSON_GetObjectItemCaseSensitive(qc, "export");
		const char *dt, *qs, *pm = ex ? get_str(ex, "pack_method") : NULL, *wf;
		static const struct { const char *n; enum qfmt f; } dts[] = {
			{ "int8", QF_INT8 }, { "uint8", QF_UINT8 }, { "int4", QF_INT4 },
			{ "uint4", QF_UINT4 }, { "fp8_e4m3", QF_FP8_E4M3 }, { "fp8_e5m2", QF_FP8_E5M2 } };
		size_t i;

		c->layout = QL_QUARK;
		if (!cJSON_IsObject(w))
			return qerr_set(e, "quantization_config: quark global_quant_config.weight must be one spec");
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(qc, "layer_quant_config")) > 0 ||
		    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(qc, "layer_type_quant_config")) > 0)
			return qerr_set(e, "quantization_config: quark per-layer configs are not supported");
		wf = ex ? get_str(ex, "weight_format") : NULL;
		if (wf && strcmp(wf, "real_quantized") != 0)
			return qerr_set(e, "quantization_config: quark weight_format \"%s\"", wf);
		c->quark_order = pm && strcmp(pm, "order") == 0;
		if (pm && !c->quark_order && strcmp(pm, "reorder") != 0)
			return qerr_set(e, "quantization_config: quark pack_method \"%s\"", pm);
		dt = get_str(w, "dtype");
		for (i = 0; dt && i < sizeof dts / sizeof dts[0]; i++)
			if (strcmp(dt, dts[i].n) == 0)
				break;
		if (dt == NULL || i == sizeof dts / sizeof dts[0])
			return qerr_set(e, "quantization_config: quark weight dtype %s is not supported",
			    dt ? dt : "(missing)");
		c->s.fmt = dts[i].f;
		c->s.sym = get_bool(w, "symmetric", 1);
		if (linq_is_float(c->s.fmt))
			c->s.sym = 1;
		qs = get_str(w, "qscheme");
		if (qs && strcmp(qs, "per_tensor") == 0) {
			c->s.gran = QG_TENSOR;
		} else if (qs && strcmp(qs, "per_channel") == 0) {
			c->s.gran = QG_CHANNEL;
		} else if (qs && strcmp(qs, "per_group") == 0) {
			if (get_int(w, "group_size", NULL, &v, 1, e) < 0)
				return -1;
			if (v <= 0)
				return qerr_set(e, "quantization_config: quark group_size %lld", (long long)v);
			c->s.gran = QG_GROUP;
			c->s.group = v;
		} else {
			return qerr_set(e, "quantization_config: quark qscheme %s is not supported", qs ? qs : "(missing)");
		}
		return 0;
	}
	return qerr_set(e, "quantization_config: quant_method \"%s\" is not supported", m);
}

const struct qscheme *
ql_module_scheme(const struct ql_config *c, const char *prefix)
{
	(void)prefix;	/* one scheme for every module */
	return &c->s;
}
