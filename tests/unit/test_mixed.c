/* Checkpoints with several quantization schemes: the configs qpack writes
 * for a mixed-precision plan, the configs real tools write (read back per
 * module as the loaders match names), and malformed ones.
 *
 * The hand-written configs are modelled on llm-compressor's examples
 * (vllm-project/llm-compressor examples/quantization_non_uniform/):
 * quantization_int4_int8.py saves Meta-Llama-3-8B-Instruct-W4A16-W8A16
 * (int8 down_proj by "re:.*down_proj.*", int4 asym elsewhere by regexes,
 * one format pack-quantized) and quantization_nvfp4_fp8.py saves
 * ...-NVFP4-FP8-Dynamic (fp8 channel down_proj with dynamic fp8 inputs,
 * nvfp4 elsewhere; formats float-quantized and nvfp4-pack-quantized, so
 * "mixed-precision" at the top); on the "Linear" + override shape of
 * QuantizationConfig.merge; and on Quark exports whose layer_quant_config
 * keys are fnmatch patterns ("*k_proj") beside global_quant_config. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "layout.h"
#include "linq.h"
#include "qblock.h"
#include "qpfiles.h"
#include "fuzz/st_lookup.h"

static const char *corpus_dir;

static int
parse(const char *json, struct ql_config *c, struct qerr *e)
{
	cJSON *j = cJSON_Parse(json);
	int rc;

	if (j == NULL)
		return qerr_set(e, "test: not JSON");
	rc = ql_config_parse(j, c, e);
	cJSON_Delete(j);	/* the parsed config owns what it keeps */
	return rc;
}

static int
is(const struct qscheme *s, enum qfmt f, enum qgran g, int64_t group, int sym)
{
	return s && s->fmt == f && s->gran == g && (g != QG_GROUP || s->group == group) && s->sym == sym;
}

#define INT8_G128_SYM "{\"num_bits\":8,\"type\":\"int\",\"strategy\":\"group\",\"dynamic\":false," \
	"\"symmetric\":true,\"group_size\":128}"
#define INT4_G128_ASYM "{\"num_bits\":4,\"type\":\"int\",\"strategy\":\"group\",\"dynamic\":false," \
	"\"symmetric\":false,\"group_size\":128}"

TEST(ct_llm_compressor_int4_int8)
{
	static const char json[] =
	    "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\","
	    "\"quantization_status\":\"compressed\",\"config_groups\":{"
	    "\"group_0\":{\"targets\":[\"re:.*down_proj.*\"],\"weights\":" INT8_G128_SYM ","
	    "\"input_activations\":null,\"output_activations\":null,\"format\":\"pack-quantized\"},"
	    "\"group_1\":{\"targets\":[\"re:.*self_attn.k_proj.*\",\"re:.*self_attn.o_proj.*\","
	    "\"re:.*self_attn.q_proj.*\",\"re:.*self_attn.v_proj.*\",\"re:.*gate_proj.*\",\"re:.*up_proj.*\"],"
	    "\"weights\":" INT4_G128_ASYM ",\"input_activations\":null,\"output_activations\":null,"
	    "\"format\":\"pack-quantized\"}},"
	    "\"ignore\":[\"lm_head\"],\"kv_cache_scheme\":null}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(c.layout == QL_CT && c.m != NULL);
	CHECK(is(ql_module_scheme(&c, "model.layers.0.mlp.down_proj"), QF_INT8, QG_GROUP, 128, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.31.mlp.down_proj"), QF_INT8, QG_GROUP, 128, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.0.self_attn.q_proj"), QF_INT4, QG_GROUP, 128, 0));
	CHECK(is(ql_module_scheme(&c, "model.layers.7.mlp.up_proj"), QF_INT4, QG_GROUP, 128, 0));
	CHECK(ql_module_scheme(&c, "lm_head") == NULL);
	CHECK(ql_module_scheme(&c, "model.embed_tokens") == NULL);	/* no target */
	/* re.match anchors at the start only: ".*down_proj.*" needs no prefix */
	CHECK(ql_module_scheme(&c, "down_proj") != NULL);
	ql_config_free(&c);
	CHECK(c.m == NULL);
	ql_config_free(&c);	/* twice is harmless */
}

TEST(ct_llm_compressor_nvfp4_fp8_mixed_precision)
{
	static const char json[] =
	    "{\"quant_method\":\"compressed-tensors\",\"format\":\"mixed-precision\","
	    "\"quantization_status\":\"compressed\",\"config_groups\":{"
	    "\"group_0\":{\"targets\":[\"re:.*down_proj.*\"],\"weights\":{\"num_bits\":8,\"type\":\"float\","
	    "\"strategy\":\"channel\",\"dynamic\":false,\"symmetric\":true},"
	    "\"input_activations\":{\"num_bits\":8,\"type\":\"float\",\"strategy\":\"token\",\"dynamic\":true,"
	    "\"symmetric\":true},\"output_activations\":null,\"format\":\"float-quantized\"},"
	    "\"group_1\":{\"targets\":[\"re:.*self_attn.k_proj.*\",\"re:.*self_attn.o_proj.*\","
	    "\"re:.*self_attn.q_proj.*\",\"re:.*self_attn.v_proj.*\",\"re:.*gate_proj.*\",\"re:.*up_proj.*\"],"
	    "\"weights\":{\"num_bits\":4,\"type\":\"float\",\"strategy\":\"tensor_group\",\"dynamic\":false,"
	    "\"symmetric\":true,\"group_size\":16},\"input_activations\":{\"num_bits\":4,\"type\":\"float\","
	    "\"strategy\":\"tensor_group\",\"dynamic\":\"local\",\"symmetric\":true,\"group_size\":16},"
	    "\"output_activations\":null,\"format\":\"nvfp4-pack-quantized\"}},"
	    "\"ignore\":[\"lm_head\"]}";
	struct ql_config c;
	struct qerr e;
	size_t plen;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(is(ql_module_scheme(&c, "model.layers.3.mlp.down_proj"), QF_FP8_E4M3, QG_CHANNEL, 0, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.3.mlp.gate_proj"), QF_NVFP4, QG_GROUP, 16, 1));
	CHECK(ql_module_scheme(&c, "lm_head") == NULL);
	/* the marker follows the module: F8 weight for fp8, weight_packed for nvfp4 */
	CHECK(ql_is_marker(&c, "model.layers.3.mlp.down_proj.weight", QD_F8_E4M3, &plen) &&
	    plen == strlen("model.layers.3.mlp.down_proj"));
	CHECK(!ql_is_marker(&c, "model.layers.3.mlp.down_proj.weight_packed", QD_U8, &plen));
	CHECK(ql_is_marker(&c, "model.layers.3.mlp.up_proj.weight_packed", QD_U8, &plen));
	CHECK(!ql_is_marker(&c, "model.layers.3.mlp.up_proj.weight", QD_F8_E4M3, &plen));
	CHECK(!ql_is_marker(&c, "lm_head.weight", QD_F8_E4M3, &plen));
	ql_config_free(&c);
}

/* "Linear" for all, a module name overriding it, ignore by name and regex */
TEST(ct_linear_with_override)
{
	static const char json[] =
	    "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":{"
	    "\"group_0\":{\"targets\":[\"Linear\"],\"weights\":{\"num_bits\":4,\"type\":\"int\","
	    "\"symmetric\":true,\"strategy\":\"group\",\"group_size\":32}},"
	    "\"group_1\":{\"targets\":[\"model.layers.0.mlp.down_proj\"],\"weights\":{\"num_bits\":8,"
	    "\"type\":\"int\",\"symmetric\":true,\"strategy\":\"channel\"}}},"
	    "\"ignore\":[\"lm_head\",\"re:.*mlp.gate$\"]}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(is(ql_module_scheme(&c, "model.layers.0.mlp.down_proj"), QF_INT8, QG_CHANNEL, 0, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.1.mlp.down_proj"), QF_INT4, QG_GROUP, 32, 1));
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.gate") == NULL);
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.gate_proj") != NULL);	/* $ anchors */
	CHECK(ql_module_scheme(&c, "lm_head") == NULL);
	ql_config_free(&c);
}

/* Python regex spellings real configs use, as re.match reads them */
TEST(ct_regex_spellings)
{
	static const char json[] =
	    "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":{"
	    "\"group_0\":{\"targets\":[\"Linear\"],\"weights\":" INT8_G128_SYM "},"
	    "\"group_1\":{\"targets\":[\"re:model\\\\.layers\\\\.\\\\d+\\\\.mlp\\\\.down_proj$\","
	    "\"re:.*self_attn\\\\.(?:q|k)_proj\",\"re:.*?experts\\\\.[0-9]+\\\\.w1\"],"
	    "\"weights\":" INT4_G128_ASYM "}},"
	    "\"ignore\":[\"re:^lm_head$\",\"re:.*mlp.gate$\",\"re:.*[^a-z]router\"]}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(is(ql_module_scheme(&c, "model.layers.12.mlp.down_proj"), QF_INT4, QG_GROUP, 128, 0));
	CHECK(is(ql_module_scheme(&c, "model.layers.x.mlp.down_proj"), QF_INT8, QG_GROUP, 128, 1));	/* \\d */
	CHECK(is(ql_module_scheme(&c, "model.layers.1.mlp.down_proj_2"), QF_INT8, QG_GROUP, 128, 1));	/* $ */
	CHECK(is(ql_module_scheme(&c, "model.layers.1.self_attn.k_proj"), QF_INT4, QG_GROUP, 128, 0));
	CHECK(is(ql_module_scheme(&c, "model.layers.1.self_attn.v_proj"), QF_INT8, QG_GROUP, 128, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.1.self_attnXq_proj"), QF_INT8, QG_GROUP, 128, 1));	/* \\. */
	CHECK(is(ql_module_scheme(&c, "model.layers.3.mlp.experts.17.w1"), QF_INT4, QG_GROUP, 128, 0));
	CHECK(ql_module_scheme(&c, "lm_head") == NULL);
	CHECK(ql_module_scheme(&c, "xlm_head") != NULL);
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.gate") == NULL);
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.router") == NULL);
	ql_config_free(&c);
}

/* Groups with one scheme are one scheme: nothing allocated, as before. */
TEST(ct_same_scheme_groups_are_one)
{
	static const char json[] =
	    "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\",\"config_groups\":{"
	    "\"a\":{\"targets\":[\"re:.*q_proj\"],\"weights\":" INT8_G128_SYM "},"
	    "\"b\":{\"targets\":[\"re:.*k_proj\"],\"weights\":" INT8_G128_SYM "}}}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(c.m == NULL && is(ql_module_scheme(&c, "anything"), QF_INT8, QG_GROUP, 128, 1));
}

#define QSPEC(dt, qs, extra) "{\"dtype\":\"" dt "\",\"qscheme\":\"" qs "\",\"is_dynamic\":false" extra "}"

TEST(quark_layer_quant_config)
{
	static const char json[] =
	    "{\"quant_method\":\"quark\",\"global_quant_config\":{\"weight\":"
	    QSPEC("int8", "per_channel", ",\"ch_axis\":0,\"symmetric\":true") ",\"input_tensors\":null,"
	    "\"output_tensors\":null,\"bias\":null},"
	    "\"layer_type_quant_config\":{},"
	    "\"layer_quant_config\":{"
	    "\"*down_proj\":{\"weight\":" QSPEC("uint4", "per_group", ",\"ch_axis\":1,\"group_size\":32,\"symmetric\":false") "},"
	    "\"model.layers.1.self_attn.o_proj\":{\"weight\":" QSPEC("fp8_e4m3", "per_tensor", "") "},"
	    "\"*k_proj\":{\"weight\":" QSPEC("int8", "per_channel", ",\"ch_axis\":0,\"symmetric\":true") ","
	    "\"output_tensors\":" QSPEC("fp8_e4m3", "per_tensor", "") "},"
	    "\"*down_proj*\":{\"weight\":" QSPEC("fp8_e4m3", "per_tensor", "") "},"
	    "\"*gate_proj\":{\"weight\":null}},"
	    "\"exclude\":[\"lm_head\",\"re:.*layers.9.*\"],"
	    "\"export\":{\"weight_format\":\"real_quantized\",\"pack_method\":\"reorder\",\"kv_cache_group\":[]}}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(c.layout == QL_QUARK && c.m && is(&c.s, QF_INT8, QG_CHANNEL, 0, 1));
	/* the first key that matches, in the file's order */
	CHECK(is(ql_module_scheme(&c, "model.layers.0.mlp.down_proj"), QF_UINT4, QG_GROUP, 32, 0));
	CHECK(is(ql_module_scheme(&c, "model.layers.1.self_attn.o_proj"), QF_FP8_E4M3, QG_TENSOR, 0, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.0.self_attn.o_proj"), QF_INT8, QG_CHANNEL, 0, 1));
	CHECK(is(ql_module_scheme(&c, "model.layers.0.self_attn.k_proj"), QF_INT8, QG_CHANNEL, 0, 1));
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.gate_proj") == NULL);	/* weight: null */
	CHECK(ql_module_scheme(&c, "model.layers.9.mlp.down_proj") == NULL);	/* excluded */
	CHECK(ql_module_scheme(&c, "lm_head") == NULL);
	ql_config_free(&c);
}

/* ---- qpack's configs for a plan, packed and read back ---- */

#define NMOD 5

struct ckpt_mem {
	struct packed_ckpt mod[NMOD];
	int n;
	struct ql_tensor fl;		/* lm_head.weight, F32 */
};

static int
mem_find(void *ctx, const char *name, struct ql_tensor *t)
{
	struct ckpt_mem *m = ctx;

	if (strcmp(name, "lm_head.weight") == 0) {
		*t = m->fl;
		return 0;
	}
	for (int i = 0; i < m->n; i++)
		if (packed_find(&m->mod[i], name, t) == 0)
			return 0;
	return -1;
}

static void
round_trip(enum qlayout layout)
{
	static const char *const names[NMOD] = { "model.layers.0.self_attn.q_proj",
		"model.layers.0.mlp.down_proj", "model.layers.0.mlp.up_proj", "model.layers.0.mlp.gate_proj",
		"lm_head" };
	const struct qscheme schemes[NMOD - 1] = {
		{ QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } },
		{ QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } },
		{ QF_FP8_E4M3, 1, QG_TENSOR, 0, 0, { 0, 0 } },
		{ QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } },
	};
	enum { ROWS = 16, COLS = 64 };
	struct ql_opts o = { layout, 0, QD_F32 };
	struct ql_module mods[NMOD];
	struct ql_packed pk[NMOD - 1];
	float x[NMOD - 1][ROWS * COLS], fq[NMOD - 1][ROWS * COLS], lm[ROWS * COLS];
	struct ckpt_mem m = { .n = NMOD - 1 };
	const char *tn[64];
	size_t ntn = 0;
	struct ql_config c;
	struct qerr e;
	cJSON *qc, *back;
	char *text;
	const char *label = qlayout_names[layout];

	for (int i = 0; i < NMOD - 1; i++) {
		struct qgrid g;
		float sc[ROWS * COLS];
		int32_t q[ROWS * COLS];

		for (int k = 0; k < ROWS * COLS; k++)
			x[i][k] = t_gauss() * 0.05f;
		linq_grid(&schemes[i], ROWS, COLS, &g, &e);
		for (int64_t cell = 0; cell < linq_ncells(&g); cell++) {	/* absmax scales */
			float a = 0;

			for (int64_t r = 0; r < ROWS; r++)
				for (int64_t k = 0; k < COLS; k++)
					if (r / g.br * g.gcols + k / g.bc == cell && a < (x[i][r * COLS + k] < 0 ? -x[i][r * COLS + k] : x[i][r * COLS + k]))
						a = x[i][r * COLS + k] < 0 ? -x[i][r * COLS + k] : x[i][r * COLS + k];
			sc[cell] = a / (linq_is_float(schemes[i].fmt) ? 448.0f : schemes[i].fmt == QF_INT4 ? 7.0f : 127.0f);
		}
		ql_round_scales(ql_scale_dtype(&o, &schemes[i]), sc, (size_t)linq_ncells(&g), &e);
		linq_quantize(&schemes[i], &g, x[i], sc, NULL, q, 1);
		linq_fakequant(&schemes[i], &g, x[i], sc, NULL, fq[i], 1);
		CHECKF(ql_pack(&o, &schemes[i], &g, q, sc, NULL, &pk[i], &e) == 0, "%s: %s: %s", label, names[i], e.msg);
		m.mod[i].p = &pk[i];
		m.mod[i].prefix = names[i];
		for (int p = 0; p < pk[i].n; p++) {
			char *s = malloc(128);

			snprintf(s, 128, "%.80s.%.23s", names[i], pk[i].part[p].suffix);
			tn[ntn++] = s;
		}
	}
	memset(lm, 0, sizeof lm);
	m.fl = (struct ql_tensor){ QD_F32, 2, { ROWS, COLS }, (const unsigned char *)lm };
	tn[ntn++] = "lm_head.weight";
	for (int i = 0; i < NMOD; i++)
		mods[i] = (struct ql_module){ names[i], i < NMOD - 1 ? &schemes[i] : NULL, QL_ACT_NONE };
	qc = ql_config_modules(&o, mods, NMOD, "minmax", &e);
	if (!CHECKF(qc != NULL, "%s: config: %s", label, e.msg))
		goto out;
	text = cJSON_PrintUnformatted(qc);
	back = cJSON_Parse(text);	/* as a loader reads config.json */
	free(text);
	cJSON_Delete(qc);
	if (!CHECKF(ql_config_parse(back, &c, &e) == 0, "%s: parse: %s", label, e.msg)) {
		cJSON_Delete(back);
		goto out;
	}
	cJSON_Delete(back);
	CHECKF(c.m != NULL, "%s: several schemes read as one", label);
	CHECKF(ql_config_check(&c, tn, ntn, mem_find, &m, &e) == 0, "%s: check: %s", label, e.msg);
	for (int i = 0; i < NMOD - 1; i++) {
		float *y = NULL;
		int64_t r, k;
		size_t bad = 0, plen;
		struct ql_tensor w;
		char wn[160];

		snprintf(wn, sizeof wn, "%.80s.%.23s", names[i], pk[i].part[0].suffix);
		mem_find(&m, wn, &w);
		CHECKF(ql_is_marker(&c, wn, w.dtype, &plen) && plen == strlen(names[i]), "%s: %s is not the marker", label, wn);
		CHECKF(is(ql_module_scheme(&c, names[i]), schemes[i].fmt, schemes[i].gran, schemes[i].group, 1),
		    "%s: %s: scheme", label, names[i]);
		if (!CHECKF(ql_unpack(&c, names[i], mem_find, &m, &y, &r, &k, &e) == 0, "%s: %s: %s", label, names[i], e.msg))
			continue;
		for (int j = 0; j < ROWS * COLS; j++)
			bad += memcmp(&y[j], &fq[i][j], 4) != 0;
		CHECKF(r == ROWS && k == COLS && bad == 0, "%s: %s: %zu values differ from the fake quantization",
		    label, names[i], bad);
		free(y);
	}
	{
		float *y = NULL;
		int64_t r, k;

		CHECKF(ql_module_scheme(&c, "lm_head") == NULL, "%s: lm_head has a scheme", label);
		CHECKF(ql_unpack(&c, "lm_head", mem_find, &m, &y, &r, &k, &e) < 0 && strstr(e.msg, "float"),
		    "%s: lm_head unpacked", label);
		free(y);
	}
	ql_config_free(&c);
out:
	for (int i = 0; i < NMOD - 1; i++)
		ql_packed_free(&pk[i]);
	for (size_t t = 0; t + 1 < ntn; t++)
		free((char *)tn[t]);
}

TEST(mixed_round_trip_compressed_tensors) { round_trip(QL_CT); }
TEST(mixed_round_trip_quark) { round_trip(QL_QUARK); }

TEST(mixed_refused_by_one_scheme_layouts)
{
	const struct qscheme a = { QF_INT4, 1, QG_GROUP, 0, 32, { 0, 0 } }, b = { QF_INT8, 1, QG_CHANNEL, 0, 0, { 0, 0 } };
	const struct ql_module mods[3] = { { "x.q_proj", &a, QL_ACT_NONE }, { "x.k_proj", &a, QL_ACT_NONE },
		{ "x.down_proj", &b, QL_ACT_NONE } };
	static const enum qlayout one[] = { QL_AWQ, QL_FP8 };
	struct qerr e;

	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		struct ql_opts o = { one[i], 0, QD_F32 };
		cJSON *qc = ql_config_modules(&o, mods, 3, "minmax", &e);

		CHECKF(qc == NULL && strstr(e.msg, "x.q_proj is int4 group 32") &&
		    strstr(e.msg, "x.down_proj is int8 per channel"), "%s: %s", qlayout_names[one[i]],
		    qc ? "accepted" : e.msg);
		cJSON_Delete(qc);
	}
}

/* GPTQModel's dynamic, as its docs show it: per-module bits and group
 * size ("+:" regexes), modules left out ("-:"), the first match wins */
TEST(gptq_dynamic)
{
	static const char json[] =
	    "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"desc_act\":false,\"sym\":true,"
	    "\"checkpoint_format\":\"gptq\",\"dynamic\":{"
	    "\"-:model\\\\.layers\\\\.0\\\\..*\":{},"
	    "\"+:.*down_proj.*\":{\"bits\":8,\"group_size\":32},"
	    "\".*mlp.*\":{\"group_size\":64},"
	    "\"+:.*up_proj\":{\"bits\":8,\"group_size\":-1}}}";
	static const char only_skips[] =
	    "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,\"dynamic\":{\"-:^a$\":{}}}";
	struct ql_config c;
	struct qerr e;

	if (!CHECKF(parse(json, &c, &e) == 0, "%s", e.msg))
		return;
	CHECK(c.layout == QL_GPTQ && c.m != NULL);
	CHECK(ql_module_scheme(&c, "model.layers.0.mlp.down_proj") == NULL);
	CHECK(is(ql_module_scheme(&c, "model.layers.1.mlp.down_proj"), QF_UINT8, QG_GROUP, 32, 0));
	CHECK(is(ql_module_scheme(&c, "model.layers.1.mlp.up_proj"), QF_UINT4, QG_GROUP, 64, 0));	/* first match */
	CHECK(is(ql_module_scheme(&c, "model.layers.1.self_attn.o_proj"), QF_UINT4, QG_GROUP, 128, 0));
	ql_config_free(&c);
	CHECK(parse(only_skips, &c, &e) == 0 && c.m == NULL);	/* one scheme, as before */
}

/* ---- malformed ---- */

static void
save_corpus(const char *label, const char *json, const unsigned char *st, size_t st_len)
{
	char p[1024];
	FILE *f;

	if (!corpus_dir)
		return;
	snprintf(p, sizeof p, "%s/%s.%s", corpus_dir, label, st ? "bin" : "json");
	if ((f = fopen(p, "wb")) == NULL)
		return;
	fputs(json, f);
	if (st) {
		fputs("\n\n", f);
		fwrite(st, 1, st_len, f);
	}
	fclose(f);
}

static void
bad_config(const char *label, const char *json, const char *want)
{
	struct ql_config c;
	struct qerr e;
	int rc = parse(json, &c, &e);

	CHECKF(rc < 0, "%s: accepted", label);
	if (rc < 0)
		CHECKF(strstr(e.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", label, e.msg, want);
	else
		ql_config_free(&c);
	save_corpus(label, json, NULL, 0);
}

/* a config that parses, refused against a checkpoint's tensors */
static void
bad_against(const char *label, const char *json, const struct tdef *t, int nt, const char *want)
{
	struct ql_config c;
	struct qerr e;
	size_t len;
	unsigned char *st = mem_file(NULL, 0, t, nt, &len);
	struct st_file f;
	const char *names[8];

	if (!CHECKF(parse(json, &c, &e) == 0, "%s: %s", label, e.msg))
		goto out;
	if (CHECKF(st_parse(&f, st, len, "mem", &e) == 0, "%s: %s", label, e.msg)) {
		for (size_t i = 0; i < f.n_tensors && i < 8; i++)
			names[i] = f.tensors[i].name;
		CHECKF(ql_config_check(&c, names, f.n_tensors, st_lookup, &f, &e) < 0 &&
		    strstr(e.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"", label, e.msg, want);
		st_close(&f);
	}
	ql_config_free(&c);
	save_corpus(label, json, st, len);
out:
	free(st);
}

#define GROUPS2(t0, t1, extra) "{\"quant_method\":\"compressed-tensors\",\"format\":\"pack-quantized\"," \
	"\"config_groups\":{\"group_0\":{\"targets\":" t0 ",\"weights\":" INT8_G128_SYM "}," \
	"\"group_1\":{\"targets\":" t1 ",\"weights\":" INT4_G128_ASYM "}}" extra "}"

TEST(mixed_malformed)
{
	static const int32_t packed[4 * 32] = { 0 };
	static const float sc[4] = { 1, 1, 1, 1 };
	const struct tdef two[4] = {
		{ "a.q_proj.weight_packed", QD_I32, 2, { 4, 32 }, packed },
		{ "a.q_proj.weight_scale", QD_F32, 2, { 4, 1 }, sc },
		{ "a.down_proj.weight_packed", QD_I32, 2, { 4, 32 }, packed },
		{ "a.down_proj.weight_scale", QD_F32, 2, { 4, 1 }, sc },
	};

	corpus_dir = getenv("QU_WRITE_CORPUS");
	bad_config("mixed_same_target", GROUPS2("[\"a.q_proj\"]", "[\"a.q_proj\",\"a.k_proj\"]", ""),
	    "a.q_proj is a target of both group_0 and group_1");
	bad_config("mixed_unknown_format", "{\"quant_method\":\"compressed-tensors\",\"format\":\"mixed-precision\","
	    "\"config_groups\":{\"group_0\":{\"targets\":[\"Linear\"],\"weights\":" INT8_G128_SYM ",\"format\":\"zip-quantized\"},"
	    "\"group_1\":{\"targets\":[\"a.q\"],\"weights\":" INT4_G128_ASYM ",\"format\":\"pack-quantized\"}}}",
	    "config_groups.group_0: format \"zip-quantized\" is not a compressed-tensors format");
	bad_config("mixed_top_unknown_format", "{\"quant_method\":\"compressed-tensors\",\"format\":\"zip\","
	    "\"config_groups\":{\"group_0\":{\"targets\":[\"a\"],\"weights\":" INT8_G128_SYM "}}}",
	    "format \"zip\" is not a compressed-tensors format");
	bad_config("mixed_no_group_format", "{\"quant_method\":\"compressed-tensors\",\"format\":\"mixed-precision\","
	    "\"config_groups\":{\"group_0\":{\"targets\":[\"a\"],\"weights\":" INT8_G128_SYM "},"
	    "\"group_1\":{\"targets\":[\"b\"],\"weights\":" INT4_G128_ASYM ",\"format\":\"pack-quantized\"}}}",
	    "config_groups.group_0: no \"format\" of its own");
	bad_config("mixed_no_targets", GROUPS2("[\"a\"]", "null", ""), "config_groups.group_1: \"targets\" missing");
	bad_config("mixed_targets_not_strings", GROUPS2("[\"a\"]", "[1]", ""), "non-string");
	bad_config("mixed_ignore_not_list", GROUPS2("[\"a\"]", "[\"b\"]", ",\"ignore\":\"lm_head\""), "ignore");
	bad_config("mixed_bad_regex", GROUPS2("[\"re:(.*\"]", "[\"b\"]", ""), "regex");
	bad_config("mixed_lookahead", GROUPS2("[\"re:(?!x).*\"]", "[\"b\"]", ""), "not supported");
	bad_config("mixed_two_linear", GROUPS2("[\"Linear\"]", "[\"Linear\"]", ""), "both target \"Linear\"");
	bad_config("quark_layer_list", "{\"quant_method\":\"quark\",\"global_quant_config\":{\"weight\":"
	    QSPEC("int8", "per_channel", "") "},\"layer_quant_config\":{\"*q_proj\":{\"weight\":[1,2]}}}", "one spec");
	bad_config("gptq_dynamic_bits", "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,"
	    "\"dynamic\":{\"+:.*\":{\"bits\":3}}}", "3 bits");
	bad_config("gptq_dynamic_not_object", "{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128,"
	    "\"dynamic\":[1]}", "\"dynamic\" must be an object");
	bad_config("quark_layer_type", "{\"quant_method\":\"quark\",\"global_quant_config\":{\"weight\":"
	    QSPEC("int8", "per_channel", "") "},\"layer_type_quant_config\":{\"Linear\":{}}}", "layer_type_quant_config");
	bad_against("mixed_target_matches_nothing", GROUPS2("[\"a.q_proj\"]", "[\"a.down_proj\",\"a.up_proj\"]", ""),
	    two, 4, "group_1 targets a.up_proj, which is not in the checkpoint");
	bad_against("mixed_regex_matches_nothing", GROUPS2("[\"a.q_proj\"]", "[\"re:.*down_proj\",\"re:.*experts.*\"]", ""),
	    two, 4, "\"re:.*experts.*\" matches no module");
	bad_against("mixed_overlap", GROUPS2("[\"re:a\\\\..*\"]", "[\"re:.*down_proj\"]", ""), two, 4,
	    "a.down_proj is a target of both group_0 and group_1");
	bad_against("mixed_overlap_exact_regex", GROUPS2("[\"a.down_proj\",\"a.q_proj\"]", "[\"re:.*down_proj\"]", ""),
	    two, 4, "a.down_proj is a target of both");
	bad_against("mixed_packed_but_ignored", GROUPS2("[\"a.q_proj\"]", "[\"a.down_proj\"]", ",\"ignore\":[\"a.down_proj\"]"),
	    two, 4, "a.down_proj.weight_packed is quantized, but quantization_config leaves a.down_proj in float (ignored)");
	bad_against("mixed_packed_untargeted", GROUPS2("[\"a.q_proj\"]", "[\"re:b.*\",\"re:a.q\"]", ""), two, 4,
	    "no group targets it");
}

int
main(void)
{
	t_seed(7);
	RUN(ct_llm_compressor_int4_int8);
	RUN(ct_llm_compressor_nvfp4_fp8_mixed_precision);
	RUN(ct_linear_with_override);
	RUN(ct_regex_spellings);
	RUN(ct_same_scheme_groups_are_one);
	RUN(quark_layer_quant_config);
	RUN(mixed_round_trip_compressed_tensors);
	RUN(mixed_round_trip_quark);
	RUN(mixed_refused_by_one_scheme_layouts);
	RUN(gptq_dynamic);
	RUN(mixed_malformed);
	return t_done();
}
