/* st2gguf, Hugging Face folder in: config.json + safetensors (+ tokenizer)
 * to a GGUF llama.cpp runs, in one streaming pass.
 *
 * 1. Open the checkpoint (shards mapped, nothing read yet) and config.json;
 *    pick the architecture entry (libcommon/arch.c).
 * 2. Plan: map every HF tensor to its GGUF name, check shapes against the
 *    config, choose each output type; the file's layout follows.
 * 3. Write the header, then convert tensors one at a time in chunks of rows
 *    (F32 scratch of at most a few MiB per chunk, whole heads for the Q/K
 *    permutation), so memory does not grow with the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arch.h"
#include "ckpt.h"
#include "cli.h"
#include "dtype.h"
#include "ftype.h"
#include "gguf.h"
#include "imatrix.h"
#include "qblock.h"
#include "qparams.h"
#include "smooth.h"
#include "mapfile.h"
#include "packed.h"
#include "quant.h"
#include "st2gguf.h"
#include "threads.h"
#include "vocab.h"

#define CHUNK_FLOATS (1u << 22)	/* 16 MiB of F32 scratch per chunk */
#define MAX_EXPERTS 1024

/* the model's sizes, from config.json */
struct hparams {
	int64_t n_embd, n_layer, n_ff, n_head, n_head_kv, head_dim, n_vocab;
	int64_t n_expert, n_ff_exp;
	int tied;
	double q_scale;			/* folded into Q (1 = nothing) */
};

/* one output tensor and the HF tensors it comes from */
struct out_tensor {
	char name[GGUF_MAX_NAME + 1];
	enum arch_role role;
	int layer, is_bias;
	int n_src;
	const struct ckpt_tensor **src;	/* by expert index, or the one source */
	const struct ckpt_tensor **scale;	/* FP8 scales per source, or NULL */
	const char **module;		/* per source: the packed module it is, or NULL */
	int keep_codes;			/* packed: written from its codes (type holds them) */
	int n_dims;
	uint64_t ne[4];
	int type;			/* enum qfmt */
	uint64_t nbytes;
	float *synth;			/* made here, not read (n_src == 0) */
};

struct plan {
	struct out_tensor *t;
	size_t n, cap;
};

/* ---- config.json ---- */

static const cJSON *
cfg_get(const cJSON *cfg, const char *keys)
{
	char buf[256];
	const char *p = keys;

	while (*p) {
		size_t n = strcspn(p, "|");
		const cJSON *j;

		if (n >= sizeof buf)
			return NULL;
		memcpy(buf, p, n);
		buf[n] = 0;
		j = cJSON_GetObjectItemCaseSensitive(cfg, buf);
		if (j && !cJSON_IsNull(j))
			return j;
		p += n;
		if (*p == '|')
			p++;
	}
	return NULL;
}

/* An integer config value in [lo, hi], or die. def < 0: required. */
static int64_t
cfg_int(const cJSON *cfg, const char *path, const char *keys, int64_t def, int64_t lo, int64_t hi)
{
	const cJSON *j = cfg_get(cfg, keys);

	if (!j) {
		if (def < 0)
			cli_die("%s/config.json: %s: missing", path, keys);
		return def;
	}
	if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) ||
	    j->valuedouble < (double)lo || j->valuedouble > (double)hi)
		cli_die("%s/config.json: %s: not an integer in %lld..%lld", path, keys,
		    (long long)lo, (long long)hi);
	return (int64_t)j->valuedouble;
}

static void
read_hparams(struct hparams *h, const struct arch_def *a, cJSON *cfg, const char *path)
{
	const cJSON *tie, *qpas;

	h->n_embd = cfg_int(cfg, path, "hidden_size|n_embd", -1, 1, 1 << 20);
	h->n_layer = cfg_int(cfg, path, "num_hidden_layers|n_layer", -1, 1, 100000);
	h->n_head = cfg_int(cfg, path, "num_attention_heads|n_head", -1, 1, 1 << 16);
	h->n_head_kv = cfg_int(cfg, path, "num_key_value_heads", h->n_head, 1, h->n_head);
	if (h->n_head % h->n_head_kv)
		cli_die("%s/config.json: num_attention_heads %lld is not a multiple of "
		    "num_key_value_heads %lld", path, (long long)h->n_head, (long long)h->n_head_kv);
	if (!cfg_get(cfg, "head_dim") && h->n_embd % h->n_head)
		cli_die("%s/config.json: hidden_size %lld is not a multiple of num_attention_heads %lld",
		    path, (long long)h->n_embd, (long long)h->n_head);
	h->head_dim = cfg_int(cfg, path, "head_dim", h->n_embd / h->n_head, 1, 1 << 16);
	if ((a->flags & ARCH_PERMUTE_QK) && h->head_dim % 2)
		cli_die("%s/config.json: head_dim %lld is odd", path, (long long)h->head_dim);
	h->n_ff = cfg_int(cfg, path, "intermediate_size", -1, 1, 1 << 24);
	h->n_vocab = cfg_int(cfg, path, "vocab_size", -1, 1, 1 << 24);
	h->n_expert = (a->flags & ARCH_MOE) ?
	    cfg_int(cfg, path, "num_local_experts|num_experts", -1, 1, MAX_EXPERTS) : 0;
	h->n_ff_exp = cfg_int(cfg, path, "moe_intermediate_size", h->n_ff, 1, 1 << 24);
	tie = cfg_get(cfg, "tie_word_embeddings");
	h->tied = tie ? cJSON_IsTrue(tie) : !!(a->flags & ARCH_TIED_DEFAULT);
	h->q_scale = 1;
	qpas = cfg_get(cfg, "query_pre_attn_scalar");
	if ((a->flags & (ARCH_QSCALE_Q | ARCH_QSCALE_QNORM)) && qpas) {
		if (!cJSON_IsNumber(qpas) || qpas->valuedouble <= 0)
			cli_die("%s/config.json: query_pre_attn_scalar: not a positive number", path);
		/* llama.cpp scales queries by 1/sqrt(head_dim); HF by
		 * 1/sqrt(query_pre_attn_scalar) */
		h->q_scale = sqrt((double)h->head_dim / qpas->valuedouble);
	}
}

/* Writes the architecture's KVs.  Derived values (head_dim, kv heads)
 * come from hparams; "!key" means "only when config.json has key". */
static void
set_arch_kvs(struct gguf_writer *w, const struct arch_def *a, const cJSON *cfg,
    const struct hparams *h, const char *path)
{
	int li;

	for (li = 0; li < ARCH_MAX_LISTS && a->kvs[li]; li++) {
		const struct arch_kv *k;

		for (k = a->kvs[li]; k->key; k++) {
			const char *keys = k->cfg[0] == '!' ? k->cfg + 1 : k->cfg;
			const cJSON *j = cfg_get(cfg, keys);
			char full[160];
			double val;

			snprintf(full, sizeof full, "%s.%s", a->gguf_arch, k->key);
			if (strcmp(keys, "head_dim") == 0 && k->cfg[0] != '!')
				val = (double)h->head_dim;
			else if (strcmp(keys, "num_key_value_heads") == 0)
				val = (double)h->n_head_kv;
			else if (j && cJSON_IsNumber(j))
				val = j->valuedouble;
			else if (j && cJSON_IsBool(j))
				val = cJSON_IsTrue(j);
			else if (j)
				cli_die("%s/config.json: %s: not a number", path, keys);
			else if (k->how == AK_REQUIRED)
				cli_die("%s/config.json: %s: missing (needed for %s)", path, keys, full);
			else if (k->how == AK_DEFAULT || k->how == AK_CONST)
				val = k->def;
			else
				continue;
			if (k->type == GGUF_T_UINT32) {
				uint32_t u;

				if (val < 0 || val > 4294967295.0 || val != floor(val))
					cli_die("%s/config.json: %s: %g is not a valid count", path, keys, val);
				u = (uint32_t)val;
				gguf_w_set(w, full, GGUF_T_UINT32, &u);
			} else if (k->type == GGUF_T_FLOAT32) {
				float f = (float)val;

				gguf_w_set(w, full, GGUF_T_FLOAT32, &f);
			} else {
				uint8_t b = val != 0;

				gguf_w_set(w, full, GGUF_T_BOOL, &b);
			}
		}
	}
}

/* generation_config.json -> general.sampling.* (as gguf-py's Metadata) */
static const struct {
	const char *cfg, *key;
	enum gguf_vtype type;
} sampling_keys[] = {
	{ "top_k", "general.sampling.top_k", GGUF_T_INT32 },
	{ "top_p", "general.sampling.top_p", GGUF_T_FLOAT32 },
	{ "min_p", "general.sampling.min_p", GGUF_T_FLOAT32 },
	{ "xtc_probability", "general.sampling.xtc_probability", GGUF_T_FLOAT32 },
	{ "xtc_threshold", "general.sampling.xtc_threshold", GGUF_T_FLOAT32 },
	{ "temperature", "general.sampling.temp", GGUF_T_FLOAT32 },
	{ "penalty_last_n", "general.sampling.penalty_last_n", GGUF_T_INT32 },
	{ "penalty_repeat|repetition_penalty", "general.sampling.penalty_repeat", GGUF_T_FLOAT32 },
	{ "mirostat", "general.sampling.mirostat", GGUF_T_INT32 },
	{ "mirostat_tau", "general.sampling.mirostat_tau", GGUF_T_FLOAT32 },
	{ "mirostat_eta", "general.sampling.mirostat_eta", GGUF_T_FLOAT32 },
};

static void
set_sampling_kvs(struct gguf_writer *w, const char *dir)
{
	char path[4096];
	FILE *f;
	char *text;
	long n;
	cJSON *g;
	size_t i;

	snprintf(path, sizeof path, "%s/generation_config.json", dir);
	if (!(f = fopen(path, "rb")))
		return;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0 || !(text = malloc((size_t)n + 1))) {
		fclose(f);
		cli_die("%s: unreadable or larger than 1 MiB", path);
	}
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		cli_die("%s: read error", path);
	fclose(f);
	g = cJSON_ParseWithLength(text, (size_t)n);
	free(text);
	if (!g)	/* not all models have a valid one: the converter ignores it too */
		return;
	for (i = 0; i < sizeof sampling_keys / sizeof sampling_keys[0]; i++) {
		const cJSON *j = cfg_get(g, sampling_keys[i].cfg);

		if (!cJSON_IsNumber(j))
			continue;
		if (sampling_keys[i].type == GGUF_T_INT32) {
			int32_t v = (int32_t)j->valuedouble;

			if (j->valuedouble == (double)v)
				gguf_w_set(w, sampling_keys[i].key, GGUF_T_INT32, &v);
		} else {
			float v = (float)j->valuedouble;

			gguf_w_set(w, sampling_keys[i].key, GGUF_T_FLOAT32, &v);
		}
	}
	cJSON_Delete(g);
}

/* ---- RoPE scaling (config rope_scaling / rope_parameters) ---- */

static const cJSON *
rope_params(const cJSON *cfg, const char **type)
{
	const cJSON *r = cfg_get(cfg, "rope_scaling|rope_parameters");

	*type = NULL;
	if (!cJSON_IsObject(r))
		return NULL;
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "full_attention")))
		r = cJSON_GetObjectItemCaseSensitive(r, "full_attention");
	{
		const cJSON *t = cfg_get(r, "rope_type|type");

		*type = cJSON_IsString(t) ? t->valuestring : NULL;
	}
	return r;
}

static double
rope_num(const cJSON *r, const char *key, double def)
{
	const cJSON *j = cfg_get(r, key);

	return cJSON_IsNumber(j) ? j->valuedouble : def;
}

/* linear and yarn become KVs; llama3 becomes the rope_freqs tensor (in
 * build_plan); anything else would silently compute something else, so it
 * is refused. */
static void
set_rope_scaling_kvs(struct gguf_writer *w, const struct arch_def *a, const cJSON *cfg,
    const char *path)
{
	const char *type;
	const cJSON *r = rope_params(cfg, &type);
	char key[160];
	float f;

	if (!r || !type || strcmp(type, "default") == 0 || strcmp(type, "llama3") == 0)
		return;
	if (strcmp(type, "linear") != 0 && strcmp(type, "yarn") != 0)
		cli_die("%s/config.json: rope_scaling type %s is not supported (linear, yarn, llama3)",
		    path, type);
	snprintf(key, sizeof key, "%s.rope.scaling.type", a->gguf_arch);
	gguf_w_set_str(w, key, type);
	snprintf(key, sizeof key, "%s.rope.scaling.factor", a->gguf_arch);
	f = (float)rope_num(r, "factor", 1.0);
	gguf_w_set(w, key, GGUF_T_FLOAT32, &f);
	if (strcmp(type, "yarn") == 0 && cfg_get(r, "original_max_position_embeddings")) {
		uint32_t u = (uint32_t)rope_num(r, "original_max_position_embeddings", 0);

		snprintf(key, sizeof key, "%s.rope.scaling.original_context_length", a->gguf_arch);
		gguf_w_set(w, key, GGUF_T_UINT32, &u);
	}
}

/* Llama 3's frequency-dependent RoPE scaling as the per-frequency divisors
 * llama.cpp reads from rope_freqs.weight (float32 arithmetic, as the
 * converter's torch code). */
static float *
llama3_rope_factors(const cJSON *r, const cJSON *cfg, int64_t dim)
{
	float base = (float)rope_num(r, "rope_theta", rope_num(cfg, "rope_theta", 10000.0));
	float factor = (float)rope_num(r, "factor", 8.0);
	float lo = (float)rope_num(r, "low_freq_factor", 1.0);
	float hi = (float)rope_num(r, "high_freq_factor", 4.0);
	float old = (float)rope_num(r, "original_max_position_embeddings", 8192.0);
	float lo_wl = old / lo, hi_wl = old / hi;
	float *out = malloc((size_t)(dim / 2) * sizeof *out);
	int64_t i;

	if (!out)
		cli_die("out of memory");
	for (i = 0; i < dim / 2; i++) {
		float freq = 1.0f / powf(base, (float)(2 * i) / (float)dim);
		float wl = (float)(2.0 * M_PI) / freq;

		if (wl < hi_wl) {
			out[i] = 1.0f;
		} else if (wl > lo_wl) {
			out[i] = factor;
		} else {
			float smooth = (old / wl - lo) / (hi - lo);

			out[i] = 1.0f / ((1.0f - smooth) / factor + smooth);
		}
	}
	return out;
}

/* ---- type selection: the ftype module, as llama-quantize ---- */

static int
cmp_by_llama_order(const void *x, const void *y)
{
	const struct out_tensor *const *a = x, *const *b = y;

	return ftype_tensor_cmp((*a)->name, (*b)->name);
}

/* What the reference converter would have written (the input llama-quantize
 * sees): F32 for 1-D tensors, norms and the MoE router, else the float
 * type asked for (F16 when a quantized preset is asked for). */
static int
converter_type(const struct out_tensor *t, int def)
{
	if (t->n_dims < 2 || t->is_bias || t->role == AR_NORM || t->role == AR_QNORM ||
	    t->role == AR_KNORM || strstr(t->name, "ffn_gate_inp"))
		return QF_F32;
	if (def == QF_F32 || def == QF_BF16)
		return def;
	if (def == QF_Q8_0 && t->ne[0] % 32 == 0)
		return QF_Q8_0;
	return QF_F16;
}

static void
choose_types(struct plan *p, const struct st2gguf_opts *o, int def, const struct arch_def *a,
    const struct hparams *h, const char *path)
{
	struct ftype_model m = { a->gguf_arch, (int)h->n_layer, (int)h->n_head, (int)h->n_head_kv,
		(int)h->n_expert };
	struct ftype_chooser ch;
	struct ftype_rule rules[MAX_TENSOR_TYPES];
	struct out_tensor **order = malloc((p->n + 1) * sizeof *order);
	const char **names = malloc((p->n + 1) * sizeof *names);
	struct qerr e;
	size_t i;
	int k;

	if (!order || !names)
		cli_die("out of memory");
	for (k = 0; k < o->n_rules; k++)
		if (ftype_rule_compile(&rules[k], o->rules[k].pattern, o->rules[k].type, &e) != 0)
			cli_die("--tensor-type: %s", e.msg);
	for (i = 0; i < p->n; i++) {
		order[i] = &p->t[i];
		names[i] = p->t[i].name;
	}
	qsort(order, p->n, sizeof *order, cmp_by_llama_order);
	memset(&ch, 0, sizeof ch);
	ftype_chooser_init(&ch, &m, names, p->n);
	ch.ftype = o->ftype >= 0 ? o->ftype : 1;
	ch.default_type = def;
	ch.pure = o->pure;
	ch.has_imatrix = o->imatrix != NULL;
	ch.output_tensor_type = o->output_tensor_type;
	ch.token_embedding_type = o->token_embedding_type;
	ch.rules = rules;
	ch.n_rules = o->n_rules;
	for (i = 0; i < p->n; i++) {
		struct out_tensor *t = order[i];
		int64_t ne[4] = { (int64_t)t->ne[0], (int64_t)t->ne[1], (int64_t)t->ne[2],
			(int64_t)t->ne[3] };
		int cur = converter_type(t, def);

		if (t->role == AR_OUTPUT && !o->quantize_output_tensor) {
			t->type = cur;	/* --leave-output-tensor */
			continue;
		}
		if (cur == QF_F32 || def == QF_F32 || def == QF_F16 || def == QF_BF16 ||
		    (def == QF_Q8_0 && o->n_rules == 0 && o->output_tensor_type < 0 &&
		    o->token_embedding_type < 0)) {
			/* what convert_hf_to_gguf.py writes for these outtypes */
			t->type = cur;
			continue;
		}
		t->type = ftype_choose(&ch, t->name, ftype_ggml_n_dims(ne), ne, cur, &e);
		if (t->type < 0)
			cli_die("%s: %s", path, e.msg);
		if (ftype_requires_imatrix(t->name, t->type, ch.ftype) && !o->imatrix)
			cli_die("%s: %s: type %s needs an importance matrix (--imatrix)", path,
			    t->name, qfmt_table[t->type].name);
	}
	for (k = 0; k < o->n_rules; k++)
		ftype_rule_free(&rules[k]);
	free(order);
	free(names);
}

/* The GGUF type whose blocks a qparams scheme describes, or -1: ggml's
 * 32-element block formats (q4_0 ... q8_0) themselves, and symmetric int4
 * / int8 in groups of 32, which are Q4_0's and Q8_0's blocks. */
static int
gguf_type_of_scheme(const struct qscheme *s)
{
	if (s->gran != QG_GROUP || s->group != 32)
		return -1;
	if (qblock_info(s->fmt) && s->fmt != QF_NVFP4 && s->fmt != QF_MXFP4)
		return (int)s->fmt;
	if (s->sym && (s->fmt == QF_INT4 || s->fmt == QF_INT8))
		return s->fmt == QF_INT4 ? QF_Q4_0 : QF_Q8_0;
	return -1;
}

/* A mixed-precision plan (qcalib --bits-budget) decides the types of the
 * weights it names: a ggml block format (q4_0 ... q8_0, or int4/int8
 * symmetric in groups of 32, which are Q4_0's and Q8_0's blocks) is that
 * type, a weight the plan leaves in float is F16 (or -t's F32, BF16); the others keep the
 * preset's choice.  A planned format GGUF cannot hold is an error, not a
 * silent substitute. */
static void
follow_plan(struct plan *p, const struct qparams *qp, const char *qpath)
{
	cJSON *plan = cJSON_Parse(qp->plan);
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(plan, "float"), *f;

	for (size_t i = 0; i < p->n; i++) {
		struct out_tensor *t = &p->t[i];
		const char *hf;
		const struct qp_entry *q;
		int type = -1;

		if (t->n_src != 1 || t->src[0] == NULL)
			continue;
		hf = t->src[0]->t->name;
		cJSON_ArrayForEach(f, fl)
			if (cJSON_IsString(f) && strcmp(f->valuestring, hf) == 0)
				type = QF_F16;
		if (type < 0 && (q = qparams_find(qp, hf)) != NULL &&
		    (type = gguf_type_of_scheme(&q->s)) < 0)
			cli_die("%s: %s: the plan's %s is not a type st2gguf follows (plan with "
			    "--formats among q4_0, q4_1, q5_0, q5_1, q8_0, none)", qpath, hf,
			    qfmt_table[q->s.fmt].name);
		if (type < 0)
			continue;
		if (type == QF_F16 && (t->type == QF_F32 || t->type == QF_BF16))
			type = t->type;	/* -t F32 or BF16 asked for that float */
		if (type != QF_F16 && t->ne[0] % 32 != 0)
			cli_die("%s: %s: rows of %llu elements do not fit %s's blocks of 32", qpath, hf,
			    (unsigned long long)t->ne[0], qfmt_table[type].name);
		t->type = type;
	}
	cJSON_Delete(plan);
}

/* A packed checkpoint's weights keep their codes where a ggml type holds
 * them (Q4_0, Q4_1, Q8_0: ql_ggml_type), whatever -t says: quantizing the
 * dequantized weights again would move them off the grid they were
 * calibrated on.  The others, and all of them with --allow-requantize, are
 * dequantized and take the type -t gives.  Says what it did on stderr. */
static struct out_tensor *plan_get(struct plan *p, const char *name);

/* NVFP4's per-tensor divisor, which ggml's block lacks: llama.cpp's
 * optional "NAME.scale" tensor (F32, one value per expert), by which it
 * multiplies the matrix product. */
static void
add_nvfp4_scale(struct plan *p, size_t i, const float *global)
{
	char name[GGUF_MAX_NAME + 1];
	size_t n = strlen(p->t[i].name);
	int layer = p->t[i].layer, ns = p->t[i].n_src;
	struct out_tensor *s;

	snprintf(name, sizeof name, "%.*s.scale", (int)(n - 7), p->t[i].name);	/* ".weight" */
	s = plan_get(p, name);	/* may move p->t */
	s->role = AR_PLAIN;
	s->layer = layer;
	s->n_dims = 1;
	s->ne[0] = (uint64_t)ns, s->ne[1] = s->ne[2] = s->ne[3] = 1;
	s->type = QF_F32;
	if ((s->synth = malloc((size_t)ns * sizeof *s->synth)) == NULL)
		cli_die("out of memory");
	for (int k = 0; k < ns; k++)
		s->synth[k] = 1.0f / global[k];
}

static int
keep_packed_codes(struct plan *p, const struct packed *pk, const struct st2gguf_opts *o,
    const struct arch_def *a, const struct hparams *h, const char *path)
{
	int64_t kept[QF_COUNT] = { 0 }, inexact_cells = 0, requant = 0, best = -1;
	size_t n_before = p->n;
	float *global = NULL;
	char why[sizeof(struct qerr) + GGUF_MAX_NAME + 8] = "";

	for (size_t i = 0; i < n_before; i++) {
		struct out_tensor *t = &p->t[i];
		int type = -1;
		int64_t inexact = 0;

		if (t->n_src == 0 || t->module == NULL || t->module[0] == NULL)
			continue;
		free(global);
		if ((global = calloc((size_t)t->n_src, sizeof *global)) == NULL)
			cli_die("out of memory");
		if (o->allow_requantize) {
			requant++;
			continue;
		}
		/* a transform of the values (folded query scale) leaves the grid */
		if (h->q_scale != 1 && t->role == AR_Q && (a->flags & ARCH_QSCALE_Q)) {
			snprintf(why, sizeof why, "%s: its values are scaled (query scale)", t->name);
			requant++;
			continue;
		}
		for (int k = 0; k < t->n_src; k++) {
			struct ql_codes kc;
			struct qerr e = { "an expert that is not packed" };
			int64_t n = 0;
			int tk = -1;

			if (t->module[k] && ql_unpack_codes(&pk->cfg, t->module[k], packed_lookup,
			    (void *)pk->ck, 0, &kc, &e) == 0) {
				tk = ql_ggml_type(&kc, &n, &e);
				global[k] = kc.global;
				ql_codes_free(&kc);
			}
			if (tk < 0 || (k > 0 && tk != type)) {
				snprintf(why, sizeof why, "%s: %s", t->name, tk < 0 ? e.msg :
				    "experts of different types");
				type = -1;
				break;
			}
			type = tk;
			inexact += n;
		}
		if (type < 0) {
			requant++;
			continue;
		}
		t->type = type;
		t->keep_codes = 1;
		kept[type]++;
		inexact_cells += inexact;
		if (type == QF_NVFP4)
			add_nvfp4_scale(p, i, global);
	}
	free(global);
	for (int f = 0; f < QF_COUNT; f++)
		if (kept[f] && (best < 0 || kept[f] > kept[best]))
			best = f;
	if (!o->quiet && best >= 0) {
		fprintf(stderr, "%s: %s: packed weights kept as ggml blocks:", cli_prog(), path);
		for (int f = 0; f < QF_COUNT; f++)
			if (kept[f])
				fprintf(stderr, " %lld %s", (long long)kept[f], qfmt_table[f].name);
		if (inexact_cells)
			fprintf(stderr, " (%lld groups with scales or minima rounded to f16)",
			    (long long)inexact_cells);
		fprintf(stderr, "\n");
	}
	if (!o->quiet && requant)
		fprintf(stderr, "%s: %s: %lld packed weights dequantized and quantized again%s%s\n",
		    cli_prog(), path, (long long)requant, why[0] ? "; " : " (--allow-requantize)", why);
	return (int)best;
}

/* ---- the plan ---- */

static struct out_tensor *
plan_get(struct plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->t[i].name, name) == 0)
			return &p->t[i];
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->t = realloc(p->t, p->cap * sizeof *p->t);
		if (!p->t)
			cli_die("out of memory");
	}
	memset(&p->t[p->n], 0, sizeof p->t[p->n]);
	{
		size_t n = strnlen(name, sizeof p->t[p->n].name - 1);	/* checked by the caller */

		memcpy(p->t[p->n].name, name, n);
		p->t[p->n].name[n] = 0;
	}
	return &p->t[p->n++];
}

/* Checks a tensor's GGUF shape against what config.json implies. */
static void
check_shape(const struct out_tensor *t, const struct arch_def *a, const struct hparams *h,
    const char *path)
{
	/* base name (after "blk.N.") -> expected ne for weights */
	static const struct {
		const char *base;
		char d0, d1;	/* E embd, V vocab, F ff, Q heads*dim, K kv*dim, 0 any */
	} shapes[] = {
		{ "token_embd", 'E', 'V' }, { "output", 'E', 'V' }, { "output_norm", 'E', 0 },
		{ "attn_q", 'E', 'Q' }, { "attn_k", 'E', 'K' }, { "attn_v", 'E', 'K' },
		{ "attn_output", 'Q', 'E' }, { "ffn_gate", 'E', 'F' }, { "ffn_up", 'E', 'F' },
		{ "ffn_down", 'F', 'E' }, { "attn_norm", 'E', 0 },
	};
	const char *base = t->name, *dot;
	char b[64];
	size_t i, n;

	if (strncmp(base, "blk.", 4) == 0 && (dot = strchr(base + 4, '.')))
		base = dot + 1;
	n = strcspn(base, ".");
	if (n >= sizeof b || t->is_bias)
		return;
	memcpy(b, base, n);
	b[n] = 0;
	for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		int64_t want[2];
		int k;

		if (strcmp(shapes[i].base, b) != 0)
			continue;
		for (k = 0; k < 2; k++) {
			switch (k ? shapes[i].d1 : shapes[i].d0) {
			case 'E': want[k] = h->n_embd; break;
			case 'V': want[k] = h->n_vocab; break;
			case 'F': want[k] = h->n_ff * ((a->flags & ARCH_FUSED_GATE_UP) &&
			    strcmp(b, "ffn_up") == 0 ? 2 : 1); break;
			case 'Q': want[k] = h->n_head * h->head_dim; break;
			case 'K': want[k] = h->n_head_kv * h->head_dim; break;
			default: want[k] = -1;
			}
		}
		if ((uint64_t)want[0] != t->ne[0] || (want[1] >= 0 && (uint64_t)want[1] != t->ne[1]) ||
		    (want[1] < 0 && t->n_dims != 1))
			cli_die("%s: tensor %s: shape [%llu, %llu] disagrees with config.json "
			    "(expected [%lld%s%lld])", path, t->name, (unsigned long long)t->ne[0],
			    (unsigned long long)t->ne[1], (long long)want[0], want[1] >= 0 ? ", " : "",
			    want[1] >= 0 ? (long long)want[1] : 0LL);
		return;
	}
}

/* Finds "<name-without-.weight>.weight_scale_inv" or ".weight_scale". */
static const struct ckpt_tensor *
find_fp8_scale(const struct ckpt *c, const char *hf)
{
	char buf[1024];
	size_t n = strlen(hf);
	const struct ckpt_tensor *s;

	if (n < 7 || n + 16 > sizeof buf || strcmp(hf + n - 7, ".weight") != 0)
		return NULL;
	snprintf(buf, sizeof buf, "%s_scale_inv", hf);
	if ((s = ckpt_find(c, buf)))
		return s;
	snprintf(buf, sizeof buf, "%s_scale", hf);
	return ckpt_find(c, buf);
}

static int
is_scale_name(const char *hf)
{
	size_t n = strlen(hf);

	return (n > 17 && strcmp(hf + n - 17, ".weight_scale_inv") == 0) ||
	    (n > 13 && strcmp(hf + n - 13, ".weight_scale") == 0) ||
	    (n > 12 && strcmp(hf + n - 12, ".input_scale") == 0);
}

/* Tensors of the integer layouts qpack writes and reads (spec:
 * safetensors-and-hf-layouts.md): their weights are not float. */
static int
is_packed_name(const char *hf)
{
	static const char *const suffix[] = { ".weight_packed", ".qweight", ".qzeros", ".scales",
		".g_idx", ".weight_zero_point", ".weight_g_idx", ".weight_global_scale", "_blocks" };
	size_t n = strlen(hf);

	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		size_t k = strlen(suffix[i]);

		if (n > k && strcmp(hf + n - k, suffix[i]) == 0)
			return 1;
	}
	return 0;
}

static void
build_plan(struct plan *p, const struct ckpt *c, const struct packed *pk, const struct arch_def *a,
    const struct hparams *h, const char *path)
{
	const char *rope_type;
	const cJSON *rp = rope_params(c->config, &rope_type);
	size_t i;

	if (rp && rope_type && strcmp(rope_type, "llama3") == 0) {
		struct out_tensor *t;

		if (strcmp(a->gguf_arch, "llama") != 0)
			cli_die("%s/config.json: llama3 rope scaling on architecture %s", path,
			    a->model_type);
		t = plan_get(p, "rope_freqs.weight");
		t->role = AR_PLAIN;
		t->layer = -1;
		t->n_dims = 1;
		t->ne[0] = (uint64_t)(h->head_dim / 2);
		t->ne[1] = t->ne[2] = t->ne[3] = 1;
		t->synth = llama3_rope_factors(rp, c->config, h->head_dim);
	}

	for (i = 0; i < c->n_tensors; i++) {
		const struct ckpt_tensor *ct = &c->tensors[i];
		const struct st_tensor *st = ct->t;
		const char *hf = st->name, *module = packed_module(pk, st->name);
		char name[256], weight[1100];
		enum arch_role role;
		int layer, expert, k, ndim = st->ndim;
		const uint64_t *shape = st->shape;
		uint64_t packed_shape[2];
		struct out_tensor *t;

		/* FP8 weights are read as they are, with their scales */
		int fp8_weight = module && st->dtype == QD_F8_E4M3;

		if (fp8_weight)
			module = NULL;
		if (module) {	/* the float weight it stands for */
			struct qerr e;
			int64_t rows, cols;

			if (ql_unpack_shape(&pk->cfg, module, packed_lookup, (void *)c, &rows, &cols, &e) < 0)
				cli_die("%s: %s", path, e.msg);
			snprintf(weight, sizeof weight, "%s.weight", module);
			hf = weight;
			packed_shape[0] = (uint64_t)rows, packed_shape[1] = (uint64_t)cols;
			shape = packed_shape, ndim = 2;
		} else if (!fp8_weight && (is_scale_name(st->name) || packed_is_part(pk, st->name))) {
			continue;
		}
		if (!arch_map_name(a, hf, name, sizeof name, &role, &layer, &expert)) {
			if (is_packed_name(st->name))
				cli_die("%s: tensor %s: looks quantized, but the checkpoint's layout is "
				    "not one st2gguf reads (%s)", path, st->name, pk->why.msg);
			cli_die("%s: tensor %s: not a tensor of architecture %s", path, hf,
			    a->model_type);
		}
		if (role == AR_DROP)
			continue;
		if (role == AR_OUTPUT && (h->tied || (a->flags & ARCH_NO_OUTPUT)))
			continue;	/* the same matrix as token_embd */
		if (strlen(name) > GGUF_MAX_NAME)
			cli_die("%s: tensor %s: GGUF name %s is too long", path, st->name, name);
		if (layer >= h->n_layer)
			cli_die("%s: tensor %s: layer %d but config.json has %lld layers", path,
			    st->name, layer, (long long)h->n_layer);
		if (ndim < 1 || ndim > (expert >= 0 ? 2 : 4))
			cli_die("%s: tensor %s: %d dimensions", path, st->name, ndim);
		if (!module && st->dtype != QD_F32 && st->dtype != QD_F16 && st->dtype != QD_BF16 &&
		    st->dtype != QD_F8_E4M3)
			cli_die("%s: tensor %s: dtype %s is not F32, F16, BF16 or F8_E4M3", path,
			    st->name, qdtype_table[st->dtype].name);
		if (st->dtype == QD_F8_E4M3 && !find_fp8_scale(c, st->name))
			cli_die("%s: tensor %s: F8_E4M3 without a weight_scale(_inv) tensor", path,
			    st->name);
		t = plan_get(p, name);
		if (t->n_src == 0) {
			int ns = expert >= 0 ? (int)h->n_expert : 1;

			t->role = role;
			t->layer = layer;
			t->is_bias = strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".bias") == 0;
			t->n_src = ns;
			t->src = calloc((size_t)ns, sizeof *t->src);
			t->scale = calloc((size_t)ns, sizeof *t->scale);
			t->module = calloc((size_t)ns, sizeof *t->module);
			if (!t->src || !t->scale || !t->module)
				cli_die("out of memory");
			t->n_dims = ndim + (expert >= 0);
			for (k = 0; k < 4; k++)
				t->ne[k] = 1;
			for (k = 0; k < ndim; k++)
				t->ne[k] = shape[ndim - 1 - k];
			if (expert >= 0)
				t->ne[ndim] = (uint64_t)h->n_expert;
		} else if (expert < 0) {
			cli_die("%s: tensor %s appears twice", path, st->name);
		}
		if (expert >= 0) {
			if (expert >= h->n_expert)
				cli_die("%s: tensor %s: expert %d but config.json has %lld experts",
				    path, st->name, expert, (long long)h->n_expert);
			if (t->src[expert])
				cli_die("%s: tensor %s appears twice", path, st->name);
			for (k = 0; k < ndim; k++)
				if (t->ne[k] != shape[ndim - 1 - k])
					cli_die("%s: tensor %s: shape differs from expert 0's", path,
					    st->name);
		}
		t->src[expert >= 0 ? expert : 0] = ct;
		t->module[expert >= 0 ? expert : 0] = module;
		if (!module && st->dtype == QD_F8_E4M3)
			t->scale[expert >= 0 ? expert : 0] = find_fp8_scale(c, st->name);
	}
	for (i = 0; i < p->n; i++) {
		int k;

		if (p->t[i].synth)
			continue;
		for (k = 0; k < p->t[i].n_src; k++)
			if (!p->t[i].src[k])
				cli_die("%s: %s: expert %d missing", path, p->t[i].name, k);
		check_shape(&p->t[i], a, h, path);
	}
}

/* ---- conversion ---- */

/* FP8 E4M3 (fn: no inf, 0x7f/0xff NaN) to F32, exact. */
static float
e4m3_to_f32(uint8_t b)
{
	int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
	float v;

	if (e == 15 && m == 7)
		return NAN;
	v = e ? ldexpf(1.0f + (float)m / 8.0f, e - 7) : ldexpf((float)m / 8.0f, -6);
	return s ? -v : v;
}

/* Where a tensor's values come from, beside the tensor itself: the
 * checkpoint's packed modules, and -p's smoothing factors (AWQ,
 * SmoothQuant): what to do to each checkpoint tensor (smooth.h), indexed
 * like the checkpoint's tensors (NULL when none). */
struct sources {
	const struct ckpt *ck;
	const struct packed *pk;
	const struct smooth_fold *folds;
};

/* Rows [r0, r0+nr) of a 2-D view (rows x cols) of source k, as F32, with
 * smoothing folded in (in HF order, before any permutation). */
static void
load_rows_raw(const struct out_tensor *t, int k, uint64_t r0, uint64_t nr, uint64_t cols, float *dst,
    const float *unpacked, const char *path)
{
	const struct st_tensor *st = t->src[k]->t;
	size_t width = (size_t)qdtype_table[st->dtype].bits / 8;
	const unsigned char *p = st->data + r0 * cols * width;
	uint64_t n = nr * cols, i;

	if (unpacked) {	/* a packed module, dequantized */
		memcpy(dst, unpacked + r0 * cols, (size_t)n * sizeof *dst);
		return;
	}
	if (st->dtype == QD_F8_E4M3) {
		const struct st_tensor *sc = t->scale[k]->t;
		int inv = strstr(sc->name, "_scale_inv") != NULL;
		uint64_t sr = 1, scols = 1;
		float *s = malloc((size_t)sc->nelem * sizeof *s);

		if (!s || qdtype_to_f32(sc->dtype, sc->data, s, (size_t)sc->nelem) != 0)
			cli_die("%s: %s: scale tensor %s: unsupported dtype", path, t->name, sc->name);
		if (sc->ndim == 2) {
			sr = sc->shape[0];
			scols = sc->shape[1];
		} else if (sc->ndim == 1) {
			sr = sc->shape[0];
		}
		for (i = 0; i < n; i++) {
			uint64_t r = r0 + i / cols, c = i % cols, si;

			if (sc->nelem == 1)
				si = 0;
			else if (sr == st->shape[0] && scols == 1)
				si = r;	/* per output channel */
			else {
				/* block scales (DeepSeek style): ceil(rows/sr) per block */
				uint64_t br = (st->shape[0] + sr - 1) / sr, bc = (cols + scols - 1) / scols;

				si = (r / br) * scols + c / bc;
			}
			dst[i] = e4m3_to_f32(p[i]) * s[si];
			(void)inv;	/* both conventions multiply: the name is historical */
		}
		free(s);
		return;
	}
	if (qdtype_to_f32(st->dtype, p, dst, (size_t)n) != 0)
		cli_die("%s: %s: cannot convert %s", path, st->name, qdtype_table[st->dtype].name);
}

static void
load_rows(const struct sources *sr, const struct out_tensor *t, int k, uint64_t r0, uint64_t nr,
    uint64_t cols, float *dst, const float *unpacked, const char *path)
{
	load_rows_raw(t, k, r0, nr, cols, dst, unpacked, path);
	if (sr->folds) {
		struct smooth_fold f = sr->folds[t->src[k] - sr->ck->tensors];

		if (f.row_div)
			f.row_div += r0;
		smooth_fold_apply(&f, dst, (int64_t)nr, (int64_t)cols);
	}
}

/* qcalib's scales for a Q4_0 or Q8_0 tensor: a symmetric scheme of the
 * block's width and signedness, in groups of 32 along the rows (= the
 * blocks).  NULL when the entry cannot serve as this tensor's blocks. */
static const struct qp_entry *
qparams_for(const struct qparams *qp, const struct out_tensor *t, const struct st_tensor *st)
{
	const struct qp_entry *q;

	if (qp == NULL || (q = qparams_find(qp, st->name)) == NULL)
		return NULL;
	/* a block is 32 consecutive inputs of one row: act-order groups cannot
	 * be, and permuting the inputs would mean permuting the producer too */
	if (q->g_idx)
		cli_die("%s: g_idx (GPTQ act-order groups) cannot be represented in GGUF, whose "
		    "blocks are consecutive inputs; write the plan with --static-groups or "
		    "without --act-order", st->name);
	if (gguf_type_of_scheme(&q->s) != t->type || q->ndim != st->ndim)
		return NULL;
	for (int i = 0; i < q->ndim; i++)
		if (q->shape[i] != st->shape[i])
			return NULL;
	return q;
}

/* Q4_0 / Q8_0 blocks from given scales (layouts: spec/gguf.md §4; the
 * traits table gives their size): d is the scale rounded to f16 and
 * the codes are round-half-even(x / d), clamped (qcalib's rounding against
 * the value the file will hold).  A qparams block format (q4_0 ... q8_0)
 * gives ggml's d (and m) and ggml's code rule instead.  rows[i] is the HF
 * row of output row i. */
static void
blocks_from_scales(enum qfmt type, const float *x, uint64_t nrows, uint64_t cols,
    const struct qp_entry *q, const uint64_t *rows, unsigned char *out)
{
	uint64_t nb = cols / 32;

	for (uint64_t r = 0; r < nrows; r++)
		for (uint64_t b = 0; b < nb; b++) {
			uint16_t dh = qu_f32_to_f16(q->scale[rows[r] * nb + b]);
			float d = qu_f16_to_f32(dh);
			const float *xb = x + r * cols + b * 32;
			unsigned char *o = out + (r * nb + b) * (size_t)qfmt_table[type].block_bytes;
			int32_t c[32];

			if (qblock_info(q->s.fmt)) {	/* a block format: d (and m) with ggml's code rule */
				qblock_pack_ggml(type, xb, q->scale[rows[r] * nb + b],
				    q->min ? q->min[rows[r] * nb + b] : 0, o);
				continue;
			}
			for (int i = 0; i < 32; i++)	/* the plan's codes (GPTQ), or rounding */
				c[i] = q->codes ? qparams_code(q, (int64_t)(rows[r] * cols + b * 32) + i) +
				    (type == QF_Q4_0 ? 8 : 0) : type == QF_Q4_0 ? linq_qint(xb[i], d, 8, 0, 15)
				    : linq_qint(xb[i], d, 0, -128, 127);
			qblock_pack_codes(type, dh, 0, c, o);
		}
}

static void
write_chunk(struct gguf_writer *w, FILE *out, const struct out_tensor *t, const float *src,
    uint64_t nrows, uint64_t cols, void **buf, size_t *bufsz, const float *imat, int jobs,
    const char *path, const struct qp_entry *qp, const uint64_t *hf_rows)
{
	size_t need;
	struct qerr e;

	if (t->type == QF_F32) {
		if (gguf_w_write_data(w, out, src, nrows * cols * 4, &e) != 0)
			cli_die_err(&e);
		return;
	}
	need = (size_t)(qfmt_row_size(t->type, (int64_t)cols) * nrows);
	if (need > *bufsz) {
		free(*buf);
		*buf = malloc(need);
		*bufsz = need;
		if (!*buf)
			cli_die("out of memory");
	}
	if (t->type == QF_F16 || t->type == QF_BF16) {
		qdtype_from_f32(t->type == QF_F16 ? QD_F16 : QD_BF16, src, *buf, (size_t)(nrows * cols));
	} else if (qp) {
		blocks_from_scales(t->type, src, nrows, cols, qp, hf_rows, *buf);
	} else if (qfmt_quantize(t->type, src, *buf, (int64_t)nrows, (int64_t)cols, imat, jobs) != 0) {
		cli_die("%s: %s: no quantizer for %s in this build", path, t->name,
		    qfmt_table[t->type].name);
	}
	if (gguf_w_write_data(w, out, *buf, need, &e) != 0)
		cli_die_err(&e);
}

/* A packed module's rows as the ggml blocks that hold its codes. */
static void
write_code_blocks(struct gguf_writer *w, FILE *out, const struct out_tensor *t,
    const struct ql_codes *kc, const uint64_t *rows, uint64_t nrows, void **buf, size_t *bufsz)
{
	size_t need = (size_t)(qfmt_row_size(t->type, kc->cols) * (int64_t)nrows);
	struct qerr e;

	if (need > *bufsz) {
		free(*buf);
		if ((*buf = malloc(need)) == NULL)
			cli_die("out of memory");
		*bufsz = need;
	}
	ql_ggml_blocks(kc, t->type, rows, nrows, *buf);
	if (gguf_w_write_data(w, out, *buf, need, &e) != 0)
		cli_die_err(&e);
}

/* importance vector for one matrix (expert) of a tensor, as llama-quantize
 * hands it to the quantizer; NULL when the imatrix has none for it */
static const float *
imatrix_for(const struct imatrix *im, const struct out_tensor *t, int expert)
{
	const struct imatrix_entry *en;
	uint64_t ne0 = t->ne[0];

	if (!im || !(en = imatrix_find(im, t->name)))
		return NULL;
	if (en->n == ne0)
		return en->values;	/* one vector for every expert */
	if (en->n != ne0 * (uint64_t)t->n_src || (uint64_t)expert >= (uint64_t)t->n_src)
		return NULL;
	return en->values + (uint64_t)expert * ne0;
}

static void
convert_tensor(struct gguf_writer *w, FILE *out, const struct out_tensor *t, const struct arch_def *a,
    const struct hparams *h, const struct imatrix *im, const struct qparams *qpf,
    const struct sources *sr, float *f32, void **buf, size_t *bufsz, int jobs, const char *path)
{
	const struct packed *pk = sr->pk;
	int permute = (a->flags & ARCH_PERMUTE_QK) && (t->role == AR_Q || t->role == AR_K);
	int plus_one = (a->flags & ARCH_NORM_PLUS_ONE) && !t->is_bias &&
	    (t->role == AR_NORM || t->role == AR_QNORM || t->role == AR_KNORM);
	double scale = 1;
	int k;

	if (t->synth) {
		write_chunk(w, out, t, t->synth, 1, t->ne[0], buf, bufsz, NULL, jobs, path, NULL, NULL);
		return;
	}
	if (h->q_scale != 1 && ((t->role == AR_Q && (a->flags & ARCH_QSCALE_Q)) ||
	    (t->role == AR_QNORM && (a->flags & ARCH_QSCALE_QNORM) && !t->is_bias)))
		scale = h->q_scale;
	for (k = 0; k < t->n_src; k++) {
		const struct st_tensor *st = t->src[k]->t;
		uint64_t rows = st->ndim == 1 ? st->shape[0] : st->nelem / st->shape[st->ndim - 1];
		uint64_t cols = st->ndim == 1 ? 1 : st->shape[st->ndim - 1];
		uint64_t step, r0;
		const char *module = t->module[k];
		struct ql_codes kc = { 0 };
		float *unpacked = NULL;
		const float *imat = imatrix_for(im, t, k);
		/* a 1-D tensor is written as one row */
		uint64_t out_cols = t->ne[0];
		/* qcalib's scales, unless a transform (norm +1, a folded query
		 * scale) changes the values they were chosen for */
		const struct qp_entry *qp = plus_one || scale != 1 ? NULL : qparams_for(qpf, t, st);
		uint64_t *hf_rows = NULL;

		if (module) {
			struct qerr e;
			int64_t r, c;

			if (t->keep_codes ? ql_unpack_codes(&pk->cfg, module, packed_lookup, (void *)pk->ck,
			    1, &kc, &e) : ql_unpack(&pk->cfg, module, packed_lookup, (void *)pk->ck,
			    &unpacked, &r, &c, &e))
				cli_die("%s: %s", path, e.msg);
			rows = (uint64_t)(t->keep_codes ? kc.rows : r);
			cols = (uint64_t)(t->keep_codes ? kc.cols : c);
		}
		step = CHUNK_FLOATS / cols;
		if (step < 1)
			step = 1;
		if ((qp || t->keep_codes) && (hf_rows = malloc(step > (uint64_t)h->head_dim ? step * sizeof *hf_rows :
		    (uint64_t)h->head_dim * sizeof *hf_rows)) == NULL)
			cli_die("out of memory");
		if (permute) {
			uint64_t d = (uint64_t)h->head_dim;

			if (rows % d)
				cli_die("%s: %s: %llu rows is not a multiple of head_dim %llu", path,
				    st->name, (unsigned long long)rows, (unsigned long long)d);
			step = step < d ? d : step - step % d;
		}
		if (st->ndim == 1)
			step = rows;	/* one chunk; small */
		qmap_willneed(&t->src[k]->file->map, (size_t)(st->data - t->src[k]->file->map.data),
		    (size_t)(st->end - st->begin));
		for (r0 = 0; r0 < rows; r0 += step) {
			uint64_t nr = rows - r0 < step ? rows - r0 : step, i;
			float *x = f32;

			if (t->keep_codes) {
				for (i = 0; i < nr; i++)
					hf_rows[i] = r0 + (permute ? (uint64_t)arch_permute_src((int64_t)i,
					    (int64_t)h->head_dim) : i);
				write_code_blocks(w, out, t, &kc, hf_rows, nr, buf, bufsz);
				continue;
			}
			if (permute) {
				/* whole heads: GGUF row r takes HF row src(r) */
				float *tmp = f32 + nr * cols;
				uint64_t d = (uint64_t)h->head_dim;

				load_rows(sr, t, k, r0, nr, cols, tmp, unpacked, path);
				for (i = 0; i < nr; i++)
					memcpy(f32 + i * cols,
					    tmp + (uint64_t)arch_permute_src((int64_t)i, (int64_t)d) * cols,
					    cols * sizeof *f32);
			} else {
				load_rows(sr, t, k, r0, nr, cols, x, unpacked, path);
			}
			if (plus_one || scale != 1)
				for (i = 0; i < nr * cols; i++) {
					if (plus_one)
						x[i] += 1.0f;
					if (scale != 1)
						x[i] = (float)(x[i] * scale);
				}
			for (i = 0; hf_rows && i < nr; i++)
				hf_rows[i] = r0 + (permute ? (uint64_t)arch_permute_src((int64_t)i,
				    (int64_t)h->head_dim) : i);
			if (st->ndim == 1)
				write_chunk(w, out, t, x, 1, out_cols, buf, bufsz, imat, jobs, path, NULL, NULL);
			else
				write_chunk(w, out, t, x, nr, cols, buf, bufsz, imat, jobs, path, qp, hf_rows);
		}
		free(hf_rows);
		free(unpacked);
		ql_codes_free(&kc);
		qmap_dontneed(&t->src[k]->file->map, (size_t)(st->data - t->src[k]->file->map.data),
		    (size_t)(st->end - st->begin));
	}
}

/* Writes the shards: header, tensors one at a time, trailer; every shard
 * takes its name only when all are complete. */
static void
write_output(const struct st2gguf_opts *o, struct plan *pl, struct gguf_writer **writers,
    const int *shard, int n_shards, int split, uint64_t total, const struct arch_def *a,
    const struct hparams *hp, const struct imatrix *im, const struct qparams *qp,
    const struct sources *sr, const char *path)
{
	struct plan p = *pl;
	struct hparams h = *hp;
	struct qerr e;
	size_t i;

	struct cli_out *outs = calloc((size_t)n_shards, sizeof *outs);
	struct cli_progress pr;
	uint64_t max_cols = 1, scratch;
	float *f32;
	void *buf = NULL;
	size_t bufsz = 0;
	int jobs = o->jobs > 0 ? o->jobs : qpool_ncpu(), k;
	char *prefix = strdup(o->output);

	if (!outs || !prefix)
		cli_die("out of memory");
	if (split && strlen(prefix) > 5 && strcmp(prefix + strlen(prefix) - 5, ".gguf") == 0)
		prefix[strlen(prefix) - 5] = 0;
	for (i = 0; i < p.n; i++)
		if (p.t[i].ne[0] > max_cols)
			max_cols = p.t[i].ne[0];
	/* a chunk: CHUNK_FLOATS or, for very long rows, one row /
	 * one head of rows; doubled for the permutation */
	scratch = CHUNK_FLOATS + (uint64_t)h.head_dim * max_cols;
	f32 = malloc((size_t)(2 * scratch) * sizeof *f32);
	if (!f32)
		cli_die("out of memory");
	cli_progress_start(&pr, "st2gguf", total, o->quiet);
	i = 0;
	for (k = 0; k < n_shards; k++) {
		char *shard_name = NULL;
		const char *name = o->output;

		if (split) {
			size_t len = strlen(prefix) + 32;

			shard_name = malloc(len);
			if (!shard_name)
				cli_die("out of memory");
			snprintf(shard_name, len, "%s-%05d-of-%05d.gguf", prefix, k + 1, n_shards);
			name = shard_name;
		}
		cli_out_open(&outs[k], name, 1);
		if (gguf_w_write_header(writers[k], outs[k].f, &e) != 0)
			cli_die_err(&e);
		for (; i < p.n && shard[i] == k; i++) {
			convert_tensor(writers[k], outs[k].f, &p.t[i], a, &h, im, qp, sr, f32, &buf,
			    &bufsz, jobs, path);
			cli_progress_add(&pr, p.t[i].nbytes);
		}
		if (gguf_w_finish(writers[k], outs[k].f, &e) != 0)
			cli_die_err(&e);
		free(shard_name);
	}
	cli_progress_end(&pr);
	/* every shard complete: only now do they take their names */
	for (k = 0; k < n_shards; k++)
		cli_out_commit(&outs[k]);
	free(outs);
	free(prefix);
	free(f32);
	free(buf);
}

/* ---- the command ---- */

static const char *
type_label(int t)
{
	return qfmt_is_valid(t) ? qfmt_table[t].name : "?";
}

int
st2gguf_from_hf(const struct st2gguf_opts *o)
{
	struct ckpt c;
	struct qerr e;
	const struct arch_def *a;
	const cJSON *mt, *archs;
	struct hparams h;
	struct gguf_writer *w;
	struct imatrix imf, *im = NULL;
	struct qparams qpf, *qp = NULL;
	struct gguf_writer **writers;
	int *shard, n_shards = 0, split;
	struct plan p = { NULL, 0, 0 };
	struct packed pk;
	struct sources src = { &c, &pk, NULL };
	int packed_type = -1;
	struct vocab v;
	const char *path = o->input, *slash;
	int default_type = o->default_type;
	size_t i;
	uint64_t largest = 0, largest_packed = 0, total;
	char label[256], archs_known[512];

	if (ckpt_open(&c, path, &e) != 0)
		cli_die_err(&e);
	if (!c.config)
		cli_die("%s: no config.json: not a Hugging Face model folder", path);
	mt = cJSON_GetObjectItemCaseSensitive(c.config, "model_type");
	archs = cJSON_GetObjectItemCaseSensitive(c.config, "architectures");
	a = arch_find(cJSON_IsString(mt) ? mt->valuestring : NULL,
	    cJSON_IsString(cJSON_GetArrayItem(archs, 0)) ? cJSON_GetArrayItem(archs, 0)->valuestring : NULL);
	if (!a)
		cli_die("%s/config.json: architecture %s is not supported (supported: %s)", path,
		    cJSON_IsString(mt) ? mt->valuestring : "(no model_type)", arch_supported_list(archs_known, sizeof archs_known));
	read_hparams(&h, a, c.config, path);
	if (packed_open(&pk, &c, &e) != 0)
		cli_die("%s: %s", path, e.msg);
	if (pk.n && o->qparams)
		cli_die("%s: already quantized (%s): -p's scales are for float checkpoints", path,
		    qlayout_names[pk.cfg.layout]);

	if (default_type < 0)
		default_type = QF_F16;
	if (o->qparams) {
		if (qparams_load(&qpf, o->qparams, &e) != 0)
			cli_die_err(&e);
		qp = &qpf;
		for (i = 0; i < qpf.n_w && !qpf.w[i].smooth; i++)
			;
		if (i < qpf.n_w) {	/* smoothing factors: 1/s into the op before */
			struct smooth_fold *f = calloc(c.n_tensors + 1, sizeof *f);

			if (f == NULL)
				cli_die("out of memory");
			if (o->imatrix)
				cli_die("%s: %s: smoothing factors with --imatrix: the importance matrix "
				    "was measured on the unsmoothed inputs; give one or the other",
				    o->qparams, qpf.w[i].name);
			if (smooth_fold_plan(&c, &qpf, (a->flags & ARCH_NORM_PLUS_ONE) != 0, f, &e) < 0)
				cli_die("%s: %s", o->qparams, e.msg);
			src.folds = f;
		}
	}
	{
		struct st2gguf_opts oo = *o;

		oo.default_type = default_type;
		build_plan(&p, &c, &pk, a, &h, path);
		choose_types(&p, &oo, default_type, a, &h, path);
		if (qp && qp->plan)
			follow_plan(&p, qp, o->qparams);
		if (pk.n)
			packed_type = keep_packed_codes(&p, &pk, o, a, &h, path);
	}

	/* vocabulary first: a bad tokenizer should fail before any work */
	if (o->vocab && strcmp(o->vocab, "none") == 0) {
		vocab_none(&v);
	} else if (vocab_load(&v, c.dir ? c.dir : path, (uint64_t)h.n_vocab, &e) != 0) {
		cli_die_err(&e);
	}
	/* the converter turns Gemma's SentencePiece prefix space off */
	if ((a->flags & ARCH_SPM_NO_PREFIX) && v.scores && strcmp(v.model, "llama") == 0)
		v.add_space_prefix = 0;

	if (o->imatrix) {
		if (imatrix_load(&imf, o->imatrix, &e) != 0)
			cli_die_err(&e);
		im = &imf;
	}
	w = gguf_writer_new();
	if (!w)
		cli_die("out of memory");
	gguf_w_set_str(w, "general.architecture", a->gguf_arch);
	gguf_w_set_str(w, "general.type", "model");
	slash = strrchr(c.dir ? c.dir : path, '/');
	snprintf(label, sizeof label, "%s", slash && slash[1] ? slash + 1 : (c.dir ? c.dir : path));
	gguf_w_set_str(w, "general.name", label);
	set_arch_kvs(w, a, c.config, &h, path);
	set_rope_scaling_kvs(w, a, c.config, path);
	set_sampling_kvs(w, c.dir ? c.dir : path);
	{
		/* without -t, a packed checkpoint is named by the blocks most of
		 * its weights kept */
		uint32_t ft = o->ftype >= 0 ? (uint32_t)o->ftype :
		    packed_type >= 0 ? (uint32_t)ftype_of_type(packed_type) :
		    default_type == QF_F32 ? 0 : default_type == QF_BF16 ? 32 :
		    default_type == QF_Q8_0 ? 7 : 1, qv = 2;

		gguf_w_set(w, "general.file_type", GGUF_T_UINT32, &ft);
		gguf_w_set(w, "general.quantization_version", GGUF_T_UINT32, &qv);
	}
	if (vocab_to_gguf(&v, w, (uint64_t)h.n_vocab, a->gguf_arch, &e) != 0)
		cli_die_err(&e);
	if (im && imatrix_set_quantize_kvs(w, im, o->imatrix, im->n_entries) != 0)
		cli_die("%s: cannot record the imatrix keys", o->imatrix);

	/* shards: gguf-split's rule, a new shard when the next tensor would
	 * pass --split-max-tensors or --split-max-size (padded tensor bytes) */
	shard = calloc(p.n + 1, sizeof *shard);
	if (!shard)
		cli_die("out of memory");
	{
		uint64_t cur_bytes = 0;
		size_t cur_n = 0;

		for (i = 0; i < p.n; i++) {
			struct out_tensor *t = &p.t[i];
			uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
			uint64_t nb = qfmt_row_size(t->type, (int64_t)t->ne[0]) * rows;
			uint64_t padded = (nb + GGUF_DEFAULT_ALIGNMENT - 1) /
			    GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;

			if (cur_n > 0 && ((o->split_max_tensors > 0 &&
			    cur_n >= (size_t)o->split_max_tensors) ||
			    (o->split_max_size > 0 && cur_bytes + padded > o->split_max_size))) {
				n_shards++;
				cur_n = 0;
				cur_bytes = 0;
			}
			shard[i] = n_shards;
			cur_n++;
			cur_bytes += padded;
			if (t->n_src && t->ne[0] * t->ne[1] > largest)
				largest = t->ne[0] * t->ne[1];	/* one matrix (expert) */
			if (t->n_src && t->module[0] && t->ne[0] * t->ne[1] > largest_packed)
				largest_packed = t->ne[0] * t->ne[1];
		}
		n_shards++;
	}
	if (n_shards > 65535)
		cli_die("%s: %d shards: more than GGUF's split.count allows", path, n_shards);
	split = o->split_max_size > 0 || o->split_max_tensors > 0;
	if (split && (!o->output || strcmp(o->output, "-") == 0) && !o->plan)
		cli_usage_error("--split-max-*: the output must be a file name");
	writers = calloc((size_t)n_shards, sizeof *writers);
	if (!writers)
		cli_die("out of memory");
	writers[0] = w;
	for (int k = 1; k < n_shards; k++)
		if (!(writers[k] = gguf_writer_new()))
			cli_die("out of memory");
	if (split) {
		for (int k = 0; k < n_shards; k++) {
			uint16_t no = (uint16_t)k, cnt = (uint16_t)n_shards;
			int32_t total_tensors = (int32_t)p.n;

			gguf_w_set(writers[k], "split.no", GGUF_T_UINT16, &no);
			gguf_w_set(writers[k], "split.tensors.count", GGUF_T_INT32, &total_tensors);
			gguf_w_set(writers[k], "split.count", GGUF_T_UINT16, &cnt);
		}
	}
	for (i = 0; i < p.n; i++) {
		struct out_tensor *t = &p.t[i];
		struct gguf_writer *sw = writers[shard[i]];
		int idx = gguf_w_add_tensor(sw, t->name, (uint32_t)t->type, t->n_dims, t->ne, &e);

		if (idx < 0)
			cli_die("%s: %s: %s", path, t->name, e.msg);
		t->nbytes = gguf_w_tensor_nbytes(sw, (size_t)idx);
	}
	total = 0;
	for (int k = 0; k < n_shards; k++)
		total += gguf_w_total_size(writers[k]);

	if (o->plan) {
		uint64_t rows_floats = largest < CHUNK_FLOATS ? largest : CHUNK_FLOATS;

		printf("%-40s %-7s %14s  %s\n", "tensor", "type", "bytes", "shape");
		for (i = 0; i < p.n; i++) {
			struct out_tensor *t = &p.t[i];

			printf("%-40s %-7s %14llu  [%llu", t->name, type_label(t->type),
			    (unsigned long long)t->nbytes, (unsigned long long)t->ne[0]);
			for (int k = 1; k < t->n_dims; k++)
				printf(", %llu", (unsigned long long)t->ne[k]);
			printf("]");
			if (split)
				printf("  shard %d", shard[i] + 1);
			printf("\n");
		}
		printf("total: %zu tensors, %llu bytes (%.1f MiB) in %d file%s\n", p.n,
		    (unsigned long long)total, (double)total / 1048576.0, n_shards,
		    n_shards > 1 ? "s" : "");
		/* scratch: two F32 chunks (permutation) + the quantized chunk; a
		 * packed matrix unpacked whole: int32 codes, and floats beside
		 * them while it is dequantized */
		printf("expected peak memory: %.1f MiB of buffers (+ mapped input pages)\n",
		    (double)(rows_floats * 4 * 3 + largest_packed * 8) / 1048576.0 + 8.0);
		cli_close_stdout();
	} else {
		write_output(o, &p, writers, shard, n_shards, split, total, a, &h, im, qp, &src, path);
	}

	for (int k = 1; k < n_shards; k++)
		gguf_writer_free(writers[k]);
	free(writers);
	free(shard);
	for (i = 0; i < p.n; i++) {
		free(p.t[i].src);
		free(p.t[i].scale);
		free(p.t[i].module);
		free(p.t[i].synth);
	}
	free(p.t);
	if (im)
		imatrix_free(im);
	if (qp)
		qparams_free(qp);
	free((void *)src.folds);
	vocab_free(&v);
	gguf_writer_free(w);
	packed_close(&pk);
	ckpt_close(&c);
	return 0;
}
