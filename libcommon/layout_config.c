/* layout: config.json quantization_config, written as each loader checks it
 * (spec §2.4, §3.6, §4.1, §5, §6.1) and read back for --dequant. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "layout_match.h"
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

static const char *
ct_format(const struct qscheme *s)
{
	int fp4 = s->fmt == QF_NVFP4 || s->fmt == QF_MXFP4;

	return s->fmt == QF_NVFP4 ? "nvfp4-pack-quantized" : s->fmt == QF_MXFP4 ?
	    "mxfp4-pack-quantized" : linq_is_float(s->fmt) || fp4 ? "float-quantized" : "pack-quantized";
}

/* One config group of compressed-tensors: a scheme and the modules it
 * covers (module names, or the class "Linear"). */
struct ct_group {
	const struct qscheme *s;
	enum ql_act_order act;
	const char *const *targets;
	size_t n_targets;
};

static void
ct_add_group(cJSON *groups, const char *name, const struct ct_group *cg, const char *method)
{
	const struct qscheme *s = cg->s;
	cJSON *g0 = cJSON_AddObjectToObject(groups, name), *w, *bs;
	int fp4 = s->fmt == QF_NVFP4 || s->fmt == QF_MXFP4, fl = linq_is_float(s->fmt) || fp4;
	static const char *const strategy[QG_COUNT] = { "tensor", "channel", "group", "block" };

	cJSON_AddItemToObject(g0, "targets", string_array(cg->targets, cg->n_targets));
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
	if (cg->act != QL_ACT_NONE && s->gran == QG_GROUP && !fl)	/* llm-compressor's names */
		cJSON_AddStringToObject(w, "actorder", cg->act == QL_ACT_GROUP ? "group" : "weight");
	else
		cJSON_AddNullToObject(w, "actorder");
	cJSON_AddStringToObject(w, "observer", method && strcmp(method, "mse") == 0 ? "mse" : "minmax");
	cJSON_AddObjectToObject(w, "observer_kwargs");
	cJSON_AddNullToObject(g0, "input_activations");
	cJSON_AddNullToObject(g0, "output_activations");
	cJSON_AddStringToObject(g0, "format", ct_format(s));
}

/* Groups in different formats: the top-level "format" is "mixed-precision"
 * and each group's own "format" says how its modules are stored
 * (compressed_tensors/compressors/format.py, QuantizationConfig.merge). */
static cJSON *
ct_config(const struct ct_group *cg, size_t ng, const char *method, const char *const *ignore,
    size_t n_ignore)
{
	cJSON *qc = cJSON_CreateObject(), *groups;
	const char *fmt = ct_format(cg[0].s);

	for (size_t i = 1; i < ng; i++)
		if (strcmp(ct_format(cg[i].s), fmt) != 0)
			fmt = "mixed-precision";
	cJSON_AddStringToObject(qc, "quant_method", "compressed-tensors");
	cJSON_AddStringToObject(qc, "format", fmt);
	cJSON_AddStringToObject(qc, "quantization_status", "compressed");
	cJSON_AddStringToObject(qc, "version", "0.12.2");
	groups = cJSON_AddObjectToObject(qc, "config_groups");
	for (size_t i = 0; i < ng; i++) {
		char name[32];

		snprintf(name, sizeof name, "group_%zu", i);
		ct_add_group(groups, name, &cg[i], method);
	}
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

/* A Quark QuantizationSpec of a weight, keyed as Quark exports it. */
static cJSON *
quark_spec(const struct qscheme *s)
{
	static const char *const qscheme[QG_COUNT] = { "per_tensor", "per_channel", "per_group", "per_block" };
	static const char *const observer[QG_COUNT] = { "PerTensorMinMaxObserver",
		"PerChannelMinMaxObserver", "PerGroupMinMaxObserver", "PerBlockMinMaxObserver" };
	cJSON *w = cJSON_CreateObject();

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
	return w;
}

/* A Quark QuantizationConfig (global_quant_config, or one entry of
 * layer_quant_config): weights only. */
static cJSON *
quark_layer(const struct qscheme *s)
{
	cJSON *g = cJSON_CreateObject();

	cJSON_AddItemToObject(g, "weight", quark_spec(s));
	cJSON_AddNullToObject(g, "input_tensors");
	cJSON_AddNullToObject(g, "output_tensors");
	cJSON_AddNullToObject(g, "bias");
	cJSON_AddNullToObject(g, "target_device");
	return g;
}

/* layers: the modules whose scheme differs from the global one, with it
 * (keys are module names: vLLM compares a key without '*' to the name
 * itself, Quark fnmatches it). */
static cJSON *
quark_config(const struct ql_opts *o, const struct qscheme *s, const char *const *layer,
    const struct qscheme *const *layer_s, size_t n_layer, const char *const *ignore,
    size_t n_ignore)
{
	cJSON *qc = cJSON_CreateObject(), *ex, *lq;

	cJSON_AddStringToObject(qc, "quant_method", "quark");
	cJSON_AddItemToObject(qc, "global_quant_config", quark_layer(s));
	cJSON_AddObjectToObject(qc, "layer_type_quant_config");
	lq = cJSON_AddObjectToObject(qc, "layer_quant_config");
	for (size_t i = 0; i < n_layer; i++)
		cJSON_AddItemToObject(lq, layer[i], quark_layer(layer_s[i]));
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

/* prefix + "^name$", name's regex metacharacters escaped */
static void
anchored(const char *prefix, const char *name, char *re, size_t cap)
{
	size_t k = (size_t)snprintf(re, cap, "%s^", prefix);

	for (const char *c = name; *c && k + 3 < cap; c++) {
		if (strchr(".^$*+?()[]{}|\\", *c))
			re[k++] = '\\';
		re[k++] = *c;
	}
	re[k++] = '$';
	re[k] = 0;
}

/* GPTQModel's "dynamic": a "-:" regex skips a module. */
static cJSON *
gptq_dynamic(const char *const *ignore, size_t n_ignore)
{
	cJSON *d = cJSON_CreateObject();

	for (size_t i = 0; i < n_ignore; i++) {
		char re[1200];

		if (strcmp(ignore[i], "lm_head") == 0)
			continue;
		anchored("-:", ignore[i], re, sizeof re);
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
	case QL_CT: {
		static const char *const linear[1] = { "Linear" };
		struct ct_group g = { s, act, linear, 1 };

		return ct_config(&g, 1, method, ignore, n_ignore);
	}
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
		return quark_config(o, s, NULL, NULL, 0, ignore, n_ignore);
	default:
		return NULL;
	}
}

/* "int4 group 128 asym", for messages. */
static void
describe(const struct qscheme *s, enum ql_act_order act, char *buf, size_t cap)
{
	int k = snprintf(buf, cap, "%s", qscheme_fmt_name(s->fmt));

	if (s->gran == QG_GROUP)
		k += snprintf(buf + k, cap - (size_t)k, " group %lld", (long long)s->group);
	else if (s->gran == QG_BLOCK)
		k += snprintf(buf + k, cap - (size_t)k, " block %lldx%lld", (long long)s->block[0],
		    (long long)s->block[1]);
	else
		k += snprintf(buf + k, cap - (size_t)k, " per %s", qgran_names[s->gran]);
	if (!s->sym)
		k += snprintf(buf + k, cap - (size_t)k, " asym");
	if (act != QL_ACT_NONE)
		snprintf(buf + k, cap - (size_t)k, " act-order %s", act == QL_ACT_GROUP ? "group" : "static");
}

cJSON *
ql_config_modules(const struct ql_opts *o, const struct ql_module *m, size_t n,
    const char *method, struct qerr *e)
{
	size_t *grp = calloc(n + 1, sizeof *grp), *first = calloc(n + 1, sizeof *first);
	size_t *count = calloc(n + 1, sizeof *count);
	const char **names = calloc(n + 1, sizeof *names), **ignore = calloc(n + 1, sizeof *ignore);
	const struct qscheme **ls = calloc(n + 1, sizeof *ls);
	struct ct_group *cg = calloc(n + 1, sizeof *cg);
	size_t ng = 0, n_ignore = 0, k;
	cJSON *qc = NULL;

	if (!grp || !first || !count || !names || !ignore || !ls || !cg) {
		qerr_set(e, "out of memory");
		goto done;
	}
	/* the distinct schemes in the order the modules bring them */
	for (size_t i = 0; i < n; i++) {
		if (m[i].s == NULL) {
			ignore[n_ignore++] = m[i].name;
			continue;
		}
		for (k = 0; k < ng; k++)
			if (linq_scheme_equal(m[first[k]].s, m[i].s) && m[first[k]].act == m[i].act)
				break;
		if (k == ng)
			first[ng++] = i;
		grp[i] = k;
		count[k]++;
	}
	if (ng == 0) {
		qerr_set(e, "no module is quantized");
		goto done;
	}
	if (ng == 1) {	/* exactly what one scheme always wrote */
		qc = ql_config_act(o, m[first[0]].s, m[first[0]].act, method, ignore, n_ignore);
		goto done;
	}
	switch (o->layout) {
	case QL_CT: {
		size_t used = 0;

		for (k = 0; k < ng; k++) {	/* names grouped: group k's are names[off, off+count) */
			cg[k].s = m[first[k]].s;
			cg[k].act = m[first[k]].act;
			cg[k].targets = names + used;
			for (size_t i = 0; i < n; i++)
				if (m[i].s && grp[i] == k)
					names[used + cg[k].n_targets++] = m[i].name;
			used += cg[k].n_targets;
		}
		qc = ct_config(cg, ng, method, ignore, n_ignore);
		break;
	}
	case QL_QUARK: {
		size_t global = 0, nl = 0;

		for (k = 1; k < ng; k++)	/* the scheme of most modules is the global one */
			if (count[k] > count[global])
				global = k;
		for (size_t i = 0; i < n; i++) {
			if (m[i].s && grp[i] != global) {
				names[nl] = m[i].name;
				ls[nl++] = m[i].s;
			}
		}
		qc = quark_config(o, m[first[global]].s, names, ls, nl, ignore, n_ignore);
		break;
	}
	case QL_GPTQ: {	/* GPTQModel's dynamic: "+:^name$" overrides per module */
		size_t global = 0;
		cJSON *dyn;

		for (k = 1; k < ng; k++)
			if (count[k] > count[global])
				global = k;
		qc = ql_config_act(o, m[first[global]].s, m[first[global]].act, method, ignore, n_ignore);
		if ((dyn = cJSON_GetObjectItemCaseSensitive(qc, "dynamic")) == NULL)
			dyn = cJSON_AddObjectToObject(qc, "dynamic");
		for (size_t i = 0; i < n; i++) {
			char re[1200];
			cJSON *d;

			if (m[i].s == NULL || grp[i] == global)
				continue;
			anchored("+:", m[i].name, re, sizeof re);
			d = cJSON_AddObjectToObject(dyn, re);
			cJSON_AddNumberToObject(d, "bits", linq_bits(m[i].s->fmt));
			cJSON_AddNumberToObject(d, "group_size", (double)group_of(m[i].s));
			cJSON_AddBoolToObject(d, "sym", m[i].s->sym);
			cJSON_AddBoolToObject(d, "desc_act", m[i].act != QL_ACT_NONE);
		}
		break;
	}
	default: {
		char a[96], b[96];

		describe(m[first[0]].s, m[first[0]].act, a, sizeof a);
		describe(m[first[1]].s, m[first[1]].act, b, sizeof b);
		qerr_set(e, "%s holds one scheme for every weight, but %s is %s and %s is %s "
		    "(compressed-tensors, quark and gptq hold several)", qlayout_names[o->layout],
		    m[first[0]].name, a, m[first[1]].name, b);
		break;
	}
	}
done:
	free(grp);
	free(first);
	free(count);
	free(names);
	free(ignore);
	free(ls);
	free(cg);
	return qc;
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

/* The scheme of one config group's "weights" stored in format fmt. */
static int
parse_ct_weights(const cJSON *w, const char *fmt, struct qscheme *s, struct qerr *e)
{
	const char *type, *strat;
	int64_t bits, gs = 0;

	memset(s, 0, sizeof *s);
	if (get_int(w, "num_bits", NULL, &bits, 1, e) < 0)
		return -1;
	type = get_str(w, "type");
	s->sym = get_bool(w, "symmetric", 1);
	if (type && strcmp(type, "float") == 0 && bits == 4 &&
	    (strcmp(fmt, "nvfp4-pack-quantized") == 0 || strcmp(fmt, "mxfp4-pack-quantized") == 0)) {
		s->fmt = fmt[0] == 'n' ? QF_NVFP4 : QF_MXFP4;
		s->sym = 1;
		s->gran = QG_GROUP;
		s->group = qblock_info(s->fmt)->group;
		if (get_int(w, "group_size", NULL, &gs, 0, e) < 0)
			return -1;
		if (gs != s->group)
			return qerr_set(e, "quantization_config: %s with group_size %lld (it has %lld)",
			    fmt, (long long)gs, (long long)s->group);
		return 0;
	} else if (type && strcmp(type, "float") == 0) {
		if (bits != 8 || (strcmp(fmt, "float-quantized") != 0 && strcmp(fmt, "naive-quantized") != 0))
			return qerr_set(e, "quantization_config: float %lld-bit in %s is not supported",
			    (long long)bits, fmt);
		s->fmt = QF_FP8_E4M3;
		s->sym = 1;
	} else if (type == NULL || strcmp(type, "int") == 0) {
		if (strcmp(fmt, "pack-quantized") != 0 || (bits != 4 && bits != 8))
			return qerr_set(e, "quantization_config: int%lld in %s is not supported (pack-quantized int4/int8 is)",
			    (long long)bits, fmt);
		s->fmt = bits == 4 ? QF_INT4 : QF_INT8;
	} else {
		return qerr_set(e, "quantization_config: weights type \"%s\"", type);
	}
	strat = get_str(w, "strategy");
	if (get_int(w, "group_size", NULL, &gs, 0, e) < 0)
		return -1;
	if (strat == NULL)
		strat = gs > 0 ? "group" : gs == -1 ? "channel" : "tensor";
	if (strcmp(strat, "tensor") == 0) {
		s->gran = QG_TENSOR;
	} else if (strcmp(strat, "channel") == 0) {
		s->gran = QG_CHANNEL;
		s->axis = 0;
	} else if (strcmp(strat, "group") == 0) {
		if (gs <= 0)
			return qerr_set(e, "quantization_config: strategy group needs group_size > 0");
		s->gran = QG_GROUP;
		s->group = gs;
	} else if (strcmp(strat, "block") == 0) {
		const cJSON *bs = cJSON_GetObjectItemCaseSensitive(w, "block_structure");

		if (!cJSON_IsArray(bs) || cJSON_GetArraySize(bs) != 2 ||
		    get_int(bs, "", NULL, &gs, 0, e) < 0)
			return qerr_set(e, "quantization_config: block needs block_structure [rows, cols]");
		for (int i = 0; i < 2; i++) {
			const cJSON *x = cJSON_GetArrayItem(bs, i);

			if (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 1e9)
				return qerr_set(e, "quantization_config: block_structure[%d]", i);
			s->block[i] = (int64_t)x->valuedouble;
		}
		s->gran = QG_BLOCK;
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
		if (group && s->gran != QG_GROUP)
			return qerr_set(e, "quantization_config: actorder needs strategy group");
	}
	return 0;
}

/* compressed-tensors' formats (compressed_tensors/config/base.py) */
static int
ct_known_format(const char *f)
{
	static const char *const known[] = { "dense", "naive-quantized", "int-quantized",
		"float-quantized", "pack-quantized", "nvfp4-pack-quantized", "mxfp4-pack-quantized",
		"mxfp8-quantized", "marlin-24", "sparse-bitmask", "sparse-24-bitmask", "mixed-precision" };

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcmp(f, known[i]) == 0)
			return 1;
	return 0;
}

/* "quantization_config: what" -> "quantization_config: config_groups.G: what" */
static int
in_group(struct qerr *e, const char *group)
{
	static const char pfx[] = "quantization_config: ";
	char rest[sizeof e->msg];

	snprintf(rest, sizeof rest, "%s", strncmp(e->msg, pfx, sizeof pfx - 1) == 0 ?
	    e->msg + sizeof pfx - 1 : e->msg);
	return qerr_set(e, "%sconfig_groups.%.200s: %.700s", pfx, group, rest);
}

static int
string_list(const cJSON *a, const char *where, int required, struct qerr *e)
{
	const cJSON *x;

	if (a == NULL || cJSON_IsNull(a))
		return required ? qerr_set(e, "quantization_config: \"%s\" missing", where) : 0;
	if (!cJSON_IsArray(a))
		return qerr_set(e, "quantization_config: \"%s\" must be a list of names", where);
	cJSON_ArrayForEach(x, a)
		if (!cJSON_IsString(x))
			return qerr_set(e, "quantization_config: \"%s\" holds a non-string", where);
	return 0;
}

static int
parse_ct(const cJSON *qc, struct ql_config *c, struct qerr *e)
{
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(qc, "config_groups"), *g, *x;
	const cJSON *ignore = cJSON_GetObjectItemCaseSensitive(qc, "ignore");
	const char *top = get_str(qc, "format");
	int ng, k = 0, several = 0;
	struct qscheme *s;
	struct ql_match *m = NULL;

	if (!cJSON_IsObject(groups) || (ng = cJSON_GetArraySize(groups)) == 0)
		return qerr_set(e, "quantization_config: config_groups missing");
	if (ng > 64)
		return qerr_set(e, "quantization_config: %d config_groups (at most 64 are read)", ng);
	if (top && !ct_known_format(top))
		return qerr_set(e, "quantization_config: format \"%.200s\" is not a compressed-tensors format", top);
	if (string_list(ignore, "ignore", 0, e) < 0)
		return -1;
	if ((s = calloc((size_t)ng, sizeof *s)) == NULL)
		return qerr_set(e, "out of memory");
	cJSON_ArrayForEach(g, groups) {
		const cJSON *w = cJSON_IsObject(g) ? cJSON_GetObjectItemCaseSensitive(g, "weights") : NULL;
		const char *gf = cJSON_IsObject(g) ? get_str(g, "format") : NULL, *fmt = gf ? gf : top;

		if (!cJSON_IsObject(w)) {
			qerr_set(e, "quantization_config: group without \"weights\"");
			goto group_fail;
		}
		if (fmt == NULL) {
			qerr_set(e, "quantization_config: \"format\" missing");
			goto group_fail;
		}
		if (!ct_known_format(fmt)) {
			qerr_set(e, "quantization_config: format \"%.200s\" is not a compressed-tensors format", fmt);
			goto group_fail;
		}
		if (strcmp(fmt, "mixed-precision") == 0) {
			qerr_set(e, "quantization_config: no \"format\" of its own (the top-level one is mixed-precision)");
			goto group_fail;
		}
		if (parse_ct_weights(w, fmt, &s[k], e) < 0 ||
		    string_list(cJSON_GetObjectItemCaseSensitive(g, "targets"), "targets", ng > 1, e) < 0)
			goto group_fail;
		several |= k > 0 && !linq_scheme_equal(&s[0], &s[k]);
		k++;
		continue;
group_fail:
		if (ng > 1)
			in_group(e, g->string);
		free(s);
		return -1;
	}
	c->s = s[0];
	if (!several) {	/* one scheme: every packed module has it */
		free(s);
		return 0;
	}
	/* several: which module has which scheme, as the loaders match */
	if ((m = qlm_new(QLM_CT, e)) == NULL)
		goto fail;
	k = 0;
	cJSON_ArrayForEach(g, groups) {
		int gi = qlm_add_group(m, g->string, &s[k++], e);

		if (gi < 0)
			goto fail;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(g, "targets"))
			if (qlm_add_target(m, gi, x->valuestring, e) < 0)
				goto fail;
	}
	cJSON_ArrayForEach(x, ignore)
		if (qlm_add_ignore(m, x->valuestring, e) < 0)
			goto fail;
	if (qlm_finish(m, e) < 0)
		goto fail;
	free(s);
	c->m = m;
	return 0;
fail:
	qlm_free(m);
	free(s);
	return -1;
}

/* A Quark weight QuantizationSpec (dtype, qscheme, group_size, symmetric). */
static int
parse_quark_spec(const cJSON *w, struct qscheme *s, struct qerr *e)
{
	static const struct { const char *n; enum qfmt f; } dts[] = {
		{ "int8", QF_INT8 }, { "uint8", QF_UINT8 }, { "int4", QF_INT4 },
		{ "uint4", QF_UINT4 }, { "fp8_e4m3", QF_FP8_E4M3 }, { "fp8_e5m2", QF_FP8_E5M2 } };
	const char *dt = get_str(w, "dtype"), *qs;
	int64_t v;
	size_t i;

	memset(s, 0, sizeof *s);
	for (i = 0; dt && i < sizeof dts / sizeof dts[0]; i++)
		if (strcmp(dt, dts[i].n) == 0)
			break;
	if (dt == NULL || i == sizeof dts / sizeof dts[0])
		return qerr_set(e, "quantization_config: quark weight dtype %s is not supported",
		    dt ? dt : "(missing)");
	s->fmt = dts[i].f;
	s->sym = get_bool(w, "symmetric", 1);
	if (linq_is_float(s->fmt))
		s->sym = 1;
	qs = get_str(w, "qscheme");
	if (qs && strcmp(qs, "per_tensor") == 0) {
		s->gran = QG_TENSOR;
	} else if (qs && strcmp(qs, "per_channel") == 0) {
		s->gran = QG_CHANNEL;
	} else if (qs && strcmp(qs, "per_group") == 0) {
		if (get_int(w, "group_size", NULL, &v, 1, e) < 0)
			return -1;
		if (v <= 0)
			return qerr_set(e, "quantization_config: quark group_size %lld", (long long)v);
		s->gran = QG_GROUP;
		s->group = v;
	} else {
		return qerr_set(e, "quantization_config: quark qscheme %s is not supported", qs ? qs : "(missing)");
	}
	return 0;
}

/* Quark: global_quant_config, and layer_quant_config for the modules whose
 * names match its keys (the first key that does, in the file's order). */
static int
parse_quark(const cJSON *qc, struct ql_config *c, struct qerr *e)
{
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(qc, "global_quant_config");
	const cJSON *w = g ? cJSON_GetObjectItemCaseSensitive(g, "weight") : NULL;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(qc, "export");
	const cJSON *lq = cJSON_GetObjectItemCaseSensitive(qc, "layer_quant_config"), *l, *x;
	const cJSON *exclude = cJSON_GetObjectItemCaseSensitive(qc, "exclude");
	const char *pm = ex ? get_str(ex, "pack_method") : NULL, *wf;
	struct ql_match *m = NULL;
	int several = 0, nl;

	if (!cJSON_IsObject(w))
		return qerr_set(e, "quantization_config: quark global_quant_config.weight must be one spec");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(qc, "layer_type_quant_config")) > 0)
		return qerr_set(e, "quantization_config: quark layer_type_quant_config is not supported "
		    "(vLLM does not apply it either)");
	if (lq && !cJSON_IsNull(lq) && !cJSON_IsObject(lq))
		return qerr_set(e, "quantization_config: quark layer_quant_config must be an object");
	if ((nl = cJSON_GetArraySize(lq)) > 63)
		return qerr_set(e, "quantization_config: quark layer_quant_config has %d entries (at most 63 are read)", nl);
	if (string_list(exclude, "exclude", 0, e) < 0)
		return -1;
	wf = ex ? get_str(ex, "weight_format") : NULL;
	if (wf && strcmp(wf, "real_quantized") != 0)
		return qerr_set(e, "quantization_config: quark weight_format \"%s\"", wf);
	c->quark_order = pm && strcmp(pm, "order") == 0;
	if (pm && !c->quark_order && strcmp(pm, "reorder") != 0)
		return qerr_set(e, "quantization_config: quark pack_method \"%s\"", pm);
	if (parse_quark_spec(w, &c->s, e) < 0)
		return -1;
	cJSON_ArrayForEach(l, lq) {
		const cJSON *lw = cJSON_IsObject(l) ? cJSON_GetObjectItemCaseSensitive(l, "weight") : NULL;
		struct qscheme ls;

		if (lw == NULL || cJSON_IsNull(lw)) {	/* weights left in float */
			several = 1;
			continue;
		}
		if (!cJSON_IsObject(lw))
			return qerr_set(e, "quantization_config: quark layer_quant_config[\"%.200s\"].weight must be one spec",
			    l->string);
		if (parse_quark_spec(lw, &ls, e) < 0)
			return qerr_prefix(e, "layer_quant_config[\"%.200s\"]", l->string);
		several |= !linq_scheme_equal(&ls, &c->s);
	}
	if (!several)
		return 0;
	if ((m = qlm_new(QLM_QUARK, e)) == NULL)
		return -1;
	{
		int gi = qlm_add_group(m, "global_quant_config", &c->s, e);

		if (gi < 0)
			goto fail;
		qlm_set_fallback(m, gi);
	}
	cJSON_ArrayForEach(l, lq) {
		const cJSON *lw = cJSON_IsObject(l) ? cJSON_GetObjectItemCaseSensitive(l, "weight") : NULL;
		struct qscheme ls = { .fmt = QF_COUNT };	/* QF_COUNT: float */
		char name[256];
		int gi;

		if (lw && !cJSON_IsNull(lw) && parse_quark_spec(lw, &ls, e) < 0)
			goto fail;
		snprintf(name, sizeof name, "layer_quant_config[\"%.200s\"]", l->string);
		if ((gi = qlm_add_group(m, name, &ls, e)) < 0 || qlm_add_target(m, gi, l->string, e) < 0)
			goto fail;
	}
	cJSON_ArrayForEach(x, exclude)
		if (qlm_add_ignore(m, x->valuestring, e) < 0)
			goto fail;
	if (qlm_finish(m, e) < 0)
		goto fail;
	c->m = m;
	return 0;
fail:
	qlm_free(m);
	return -1;
}

/* GPTQModel's "dynamic": per-module overrides of bits and group_size
 * ("+:" or bare regex keys) and modules left in float ("-:"), the first
 * key that re.matches in the file's order.  Only "-:" keys, or overrides
 * that change nothing, leave one scheme. */
static int
parse_gptq_dynamic(const cJSON *qc, struct ql_config *c, struct qerr *e)
{
	const cJSON *dyn = cJSON_GetObjectItemCaseSensitive(qc, "dynamic"), *d;
	struct ql_match *m = NULL;
	int several = 0, pass;

	if (dyn == NULL || cJSON_IsNull(dyn))
		return 0;
	if (!cJSON_IsObject(dyn))
		return qerr_set(e, "quantization_config: gptq \"dynamic\" must be an object");
	if (cJSON_GetArraySize(dyn) > 63)
		return qerr_set(e, "quantization_config: gptq \"dynamic\" has %d keys (at most 63 are read)",
		    cJSON_GetArraySize(dyn));
	for (pass = 0; pass < 2; pass++) {	/* 0: read and compare; 1: build the table */
		cJSON_ArrayForEach(d, dyn) {
			struct qscheme s = c->s;
			int64_t v;
			int gi;

			if (strncmp(d->string, "-:", 2) == 0) {
				s.fmt = QF_COUNT;	/* float */
			} else {
				if (!cJSON_IsObject(d))
					return qerr_set(e, "quantization_config: gptq dynamic[\"%.200s\"] must be an object",
					    d->string);
				if (get_int(d, "bits", NULL, &v, 0, e) < 0)
					goto fail;
				if (cJSON_GetObjectItemCaseSensitive(d, "bits") && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "bits"))) {
					if (v != 4 && v != 8) {
						qerr_set(e, "quantization_config: gptq dynamic[\"%.200s\"]: %lld bits (4 and 8 are read)",
						    d->string, (long long)v);
						goto fail;
					}
					s.fmt = v == 4 ? QF_UINT4 : QF_UINT8;
				}
				if (get_int(d, "group_size", NULL, &v, 0, e) < 0)
					goto fail;
				if (cJSON_GetObjectItemCaseSensitive(d, "group_size") &&
				    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(d, "group_size")) &&
				    set_group(&s, v, e) < 0)
					goto fail;
				several |= !linq_scheme_equal(&s, &c->s);
			}
			if (pass == 1) {
				char name[256];

				snprintf(name, sizeof name, "dynamic[\"%.200s\"]", d->string);
				if ((gi = qlm_add_group(m, name, &s, e)) < 0 || qlm_add_target(m, gi, d->string, e) < 0)
					goto fail;
			}
		}
		if (!several)
			return 0;	/* "-:" modules have no packed tensors: one scheme */
		if (pass == 0) {
			int gi;

			if ((m = qlm_new(QLM_GPTQ, e)) == NULL)
				return -1;
			if ((gi = qlm_add_group(m, "bits/group_size", &c->s, e)) < 0)
				goto fail;
			qlm_set_fallback(m, gi);
		}
	}
	if (qlm_finish(m, e) < 0)
		goto fail;
	c->m = m;
	return 0;
fail:
	qlm_free(m);
	return -1;
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
		if (get_int(qc, "group_size", NULL, &v, 1, e) < 0 || set_group(&c->s, v, e) < 0)
			return -1;
		return parse_gptq_dynamic(qc, c, e);
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
		c->layout = QL_QUARK;
		return parse_quark(qc, c, e);
	}
	return qerr_set(e, "quantization_config: quant_method \"%s\" is not supported", m);
}

const struct qscheme *
ql_module_scheme(const struct ql_config *c, const char *prefix)
{
	if (c->m == NULL)	/* one scheme for every module */
		return &c->s;
	return qlm_lookup(c->m, prefix);
}

const struct ql_config *
ql_module_config(const struct ql_config *c, const char *prefix, struct ql_config *one,
    struct qerr *e)
{
	const struct qscheme *s;

	if (c->m == NULL)
		return c;
	if ((s = qlm_lookup(c->m, prefix)) == NULL) {
		qerr_set(e, "%s: quantization_config leaves it in float", prefix);
		return NULL;
	}
	*one = *c;
	one->s = *s;
	one->m = NULL;
	return one;
}

void
ql_config_free(struct ql_config *c)
{
	qlm_free(c->m);
	c->m = NULL;
}
