#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftype.h"
#include "quant.h"

/* llama-quantize's list, in its order, with its spellings (aliases point to
 * the _M variants).  COPY and NVFP4 are not offered. */
const struct ftype_preset ftype_presets[] = {
	{ "Q1_0", 40, QF_Q1_0 },
	{ "Q2_0", 41, QF_Q2_0 },
	{ "Q4_0", 2, QF_Q4_0 },
	{ "Q4_1", 3, QF_Q4_1 },
	{ "MXFP4_MOE", 38, QF_MXFP4 },
	{ "Q5_0", 8, QF_Q5_0 },
	{ "Q5_1", 9, QF_Q5_1 },
	{ "IQ2_XXS", 19, QF_IQ2_XXS },
	{ "IQ2_XS", 20, QF_IQ2_XS },
	{ "IQ2_S", 28, QF_IQ2_XS },
	{ "IQ2_M", 29, QF_IQ2_S },
	{ "IQ1_S", 24, QF_IQ1_S },
	{ "IQ1_M", 31, QF_IQ1_M },
	{ "TQ1_0", 36, QF_TQ1_0 },
	{ "TQ2_0", 37, QF_TQ2_0 },
	{ "Q2_K", 10, QF_Q2_K },
	{ "Q2_K_S", 21, QF_Q2_K },
	{ "IQ3_XXS", 23, QF_IQ3_XXS },
	{ "IQ3_S", 26, QF_IQ3_S },
	{ "IQ3_M", 27, QF_IQ3_S },
	{ "Q3_K", 12, QF_Q3_K },	/* alias for Q3_K_M */
	{ "IQ3_XS", 22, QF_IQ3_S },
	{ "Q3_K_S", 11, QF_Q3_K },
	{ "Q3_K_M", 12, QF_Q3_K },
	{ "Q3_K_L", 13, QF_Q3_K },
	{ "IQ4_NL", 25, QF_IQ4_NL },
	{ "IQ4_XS", 30, QF_IQ4_XS },
	{ "Q4_K", 15, QF_Q4_K },	/* alias for Q4_K_M */
	{ "Q4_K_S", 14, QF_Q4_K },
	{ "Q4_K_M", 15, QF_Q4_K },
	{ "Q5_K", 17, QF_Q5_K },	/* alias for Q5_K_M */
	{ "Q5_K_S", 16, QF_Q5_K },
	{ "Q5_K_M", 17, QF_Q5_K },
	{ "Q6_K", 18, QF_Q6_K },
	{ "Q8_0", 7, QF_Q8_0 },
	{ "F16", 1, QF_F16 },
	{ "BF16", 32, QF_BF16 },
	{ "F32", 0, QF_F32 },
};
const size_t ftype_npresets = sizeof ftype_presets / sizeof ftype_presets[0];

/* File type ids, for readability of the rules below. */
enum {
	FT_Q4_0 = 2, FT_Q5_0 = 8, FT_Q2_K = 10, FT_Q3_K_S = 11, FT_Q3_K_M = 12,
	FT_Q3_K_L = 13, FT_Q4_K_S = 14, FT_Q4_K_M = 15, FT_Q5_K_M = 17,
	FT_IQ2_XXS = 19, FT_IQ2_XS = 20, FT_Q2_K_S = 21, FT_IQ3_XS = 22,
	FT_IQ3_XXS = 23, FT_IQ1_S = 24, FT_IQ4_NL = 25, FT_IQ3_S = 26,
	FT_IQ3_M = 27, FT_IQ2_S = 28, FT_IQ2_M = 29, FT_IQ4_XS = 30, FT_IQ1_M = 31,
	FT_TQ1_0 = 36, FT_TQ2_0 = 37, FT_MXFP4_MOE = 38, FT_Q2_0 = 41
};

const struct ftype_preset *
ftype_find(const char *name)
{
	for (size_t i = 0; i < ftype_npresets; i++)
		if (strcasecmp(ftype_presets[i].name, name) == 0)
			return &ftype_presets[i];
	return NULL;
}

int
ftype_of_type(int t)
{
	for (size_t i = 0; i < ftype_npresets; i++)
		if (ftype_presets[i].type == t)
			return ftype_presets[i].ftype;
	return t == QF_NVFP4 ? 39 : -1;	/* LLAMA_FTYPE_MOSTLY_NVFP4 */
}

/* The last entry with an id is the canonical spelling (aliases come first). */
static const struct ftype_preset *
preset_of(int ftype)
{
	const struct ftype_preset *p = NULL;

	for (size_t i = 0; i < ftype_npresets; i++)
		if (ftype_presets[i].ftype == ftype)
			p = &ftype_presets[i];
	return p;
}

const char *
ftype_name(int ftype)
{
	const struct ftype_preset *p = preset_of(ftype);

	return p ? p->name : NULL;
}

int
ftype_default_type(int ftype)
{
	const struct ftype_preset *p = preset_of(ftype);

	return p ? p->type : -1;
}

static int
is_quantized(int t)
{
	return qfmt_is_valid(t) && qfmt_table[t].is_ggml && qfmt_table[t].block > 1;
}

static int
blck(int t)
{
	return qfmt_is_valid(t) ? qfmt_table[t].block : 1;
}

/* ---- which tensors are touched at all ---- */

static int
ends_with_weight(const char *name)
{
	size_t n = strlen(name);

	/* llama tests name.rfind("weight") == name.size() - 6; for a 5-byte
	 * name both sides are npos, so such names count as ending in weight. */
	if (n == 5)
		return 1;
	return n >= 6 && strcmp(name + n - 6, "weight") == 0;
}

/* Substrings that keep a tensor as stored: norms, MoE routers, tiny or
 * positional tables of various architectures. */
static const char *const never_quantized_parts[] = {
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight",
	"altup", "laurel", "per_layer_model_proj", "ssm_conv1d",
	"shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
	"time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
	"time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight",
	"time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
	"time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd",
	"sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
	".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
};
static const char *const never_quantized_names[] = {
	"position_embd.weight", "token_types.weight",
};

int
ftype_allows_quantization(const char *name, int n_dims)
{
	if (n_dims < 2 || !ends_with_weight(name))
		return 0;
	for (size_t i = 0; i < sizeof never_quantized_parts / sizeof *never_quantized_parts; i++)
		if (strstr(name, never_quantized_parts[i]))
			return 0;
	for (size_t i = 0; i < sizeof never_quantized_names / sizeof *never_quantized_names; i++)
		if (strcmp(name, never_quantized_names[i]) == 0)
			return 0;
	return 1;
}

/* ---- categories ---- */

enum category {
	C_TOKEN_EMBD, C_ATTN_Q, C_ATTN_V, C_ATTN_K, C_ATTN_QKV, C_ATTN_KV_B,
	C_ATTN_OUTPUT, C_FFN_UP, C_FFN_GATE, C_FFN_DOWN, C_OUTPUT, C_OTHER
};

/* First match wins, as in llama's tensor_get_category. */
static const struct {
	const char *part;
	enum category c;
} category_parts[] = {
	{ "attn_qkv.weight", C_ATTN_QKV }, { "attn_kv_b.weight", C_ATTN_KV_B },
	{ "attn_v.weight", C_ATTN_V }, { "attn_k.weight", C_ATTN_K },
	{ "attn_q.weight", C_ATTN_Q }, { "attn_output.weight", C_ATTN_OUTPUT },
	{ "ffn_up", C_FFN_UP }, { "ffn_gate", C_FFN_GATE }, { "ffn_down", C_FFN_DOWN },
};

static enum category
category_of(const char *name)
{
	if (strcmp(name, "output.weight") == 0)
		return C_OUTPUT;
	if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0)
		return C_TOKEN_EMBD;
	for (size_t i = 0; i < sizeof category_parts / sizeof *category_parts; i++)
		if (strstr(name, category_parts[i].part))
			return category_parts[i].c;
	return C_OTHER;
}

static int
is_attn_v_like(enum category c)
{
	return c == C_ATTN_V || c == C_ATTN_QKV || c == C_ATTN_KV_B;
}

/* ---- set-up ---- */

int
ftype_rule_compile(struct ftype_rule *r, const char *pattern, int type, struct qerr *e)
{
	size_t n = strlen(pattern);
	char *re = malloc(n * 12 + 1), *o = re;
	int rc;

	if (!re)
		return qerr_set(e, "--tensor-type: out of memory");
	/* llama-quantize lower-cases the whole pattern, escapes included */
	for (const char *p = pattern; *p; p++) {
		char ch = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);

		if (ch == '\\' && p[1] && strchr("dwsDWS", p[1])) {
			o += sprintf(o, "%s", (p[1] | 32) == 'd' ? "[0-9]" :
			    (p[1] | 32) == 'w' ? "[[:alnum:]_]" : "[[:space:]]");
			p++;
		} else if (ch == '\\' && p[1]) {
			p++;
			*o++ = ch;
			*o++ = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
		} else {
			*o++ = ch;
		}
	}
	*o = 0;
	rc = regcomp(&r->re, re, REG_EXTENDED | REG_NOSUB);
	free(re);
	if (rc != 0) {
		char msg[256];

		regerror(rc, &r->re, msg, sizeof msg);
		return qerr_set(e, "--tensor-type %s: %s", pattern, msg);
	}
	r->type = type;
	return 0;
}

void
ftype_rule_free(struct ftype_rule *r)
{
	regfree(&r->re);
}

void
ftype_chooser_init(struct ftype_chooser *c, const struct ftype_model *m,
    const char *const *names, size_t n)
{
	c->n_layer = m->n_layer;
	c->n_expert = m->n_expert;
	c->n_gqa = m->n_head_kv > 0 ? m->n_head / m->n_head_kv : 0;
	c->is_falcon = m->arch && strcmp(m->arch, "falcon") == 0;
	/* llama's load_hparams calls an 80-layer llama with GQA "70B" */
	c->is_70b = m->arch && strcmp(m->arch, "llama") == 0 && m->n_layer == 80 &&
	    m->n_head != m->n_head_kv;
	c->tied = 1;
	c->n_attn_v = c->i_attn_v = c->i_ffn_down = c->i_ffn_gate = c->i_ffn_up = 0;
	c->n_fallback = 0;
	for (size_t i = 0; i < n; i++) {
		enum category cat = category_of(names[i]);

		if (is_attn_v_like(cat))
			c->n_attn_v++;
		if (cat == C_OUTPUT)
			c->tied = 0;
	}
}

/* ---- the rules ---- */

static int
use_more_bits(int i, int n)
{
	return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int
is_one_of(int ftype, const int *list)
{
	for (; *list >= 0; list++)
		if (*list == ftype)
			return 1;
	return 0;
}

static const int very_low_bit[] = { FT_IQ2_XXS, FT_IQ2_XS, FT_IQ1_S, FT_IQ2_S, FT_IQ2_M, FT_IQ1_M, -1 };
static const int output_q5_k[] = { FT_IQ2_XXS, FT_IQ2_XS, FT_IQ3_XXS, FT_IQ1_S, FT_IQ2_S, FT_IQ2_M, FT_IQ1_M, -1 };
static const int expert8_attn_output_q5_k[] = { FT_Q2_K, FT_IQ3_XS, FT_IQ3_XXS, FT_Q3_K_S,
	FT_Q3_K_M, FT_IQ4_NL, FT_Q4_K_S, FT_Q4_K_M, FT_IQ3_S, FT_IQ3_M, FT_IQ4_XS, -1 };

/* attn_output of a dense model: one type per file type. */
static const struct { int ftype, type; } attn_output_types[] = {
	{ FT_Q2_K, QF_Q3_K }, { FT_IQ3_XXS, QF_IQ3_S }, { FT_Q3_K_M, QF_Q4_K },
	{ FT_Q3_K_L, QF_Q5_K }, { FT_IQ3_M, QF_Q4_K },
};

/* Layer index for the ffn rules: the counter, or with experts the number
 * in the name (experts are not stored consecutively). */
static int
layer_of(const struct ftype_chooser *c, int counter, const char *name, int *layer, struct qerr *e)
{
	*layer = counter;
	if (c->n_expert > 1) {
		if (sscanf(name, "blk.%d.", layer) != 1)
			return qerr_set(e, "%s: cannot tell the layer of this tensor", name);
		if (*layer < 0 || *layer >= c->n_layer)
			return qerr_set(e, "%s: layer %d not in [0, %d)", name, *layer, c->n_layer);
	}
	return 0;
}

static int
choose_by_rules(struct ftype_chooser *c, int t, const char *name, const int64_t ne[4],
    enum category cat, struct qerr *e)
{
	const int ft = c->ftype, n_layer = c->n_layer;
	int i_layer;

	if (cat == C_OUTPUT || (c->tied && cat == C_TOKEN_EMBD)) {
		if (c->output_tensor_type >= 0)
			t = c->output_tensor_type;
		else if (ft == FT_MXFP4_MOE || c->is_falcon || ne[0] % blck(t) != 0)
			t = QF_Q8_0;
		else if (is_one_of(ft, output_q5_k))
			t = QF_Q5_K;
		else if (t != QF_Q8_0)
			t = QF_Q6_K;
	} else if (ft == FT_MXFP4_MOE) {
		t = ne[2] > 1 ? QF_MXFP4 : QF_Q8_0;	/* (bailingmoe3's MLA rule not needed) */
	} else if (cat == C_TOKEN_EMBD) {
		if (c->token_embedding_type >= 0)
			t = c->token_embedding_type;
		else if (ft == FT_IQ2_XXS || ft == FT_IQ2_XS || ft == FT_IQ1_S || ft == FT_IQ1_M)
			t = QF_Q2_K;
		else if (ft == FT_IQ2_S || ft == FT_IQ2_M || ft == FT_IQ3_XXS)
			t = QF_IQ3_S;
		else if (ft == FT_TQ1_0 || ft == FT_TQ2_0 || ft == FT_Q2_0)
			t = QF_Q4_K;
	} else if (is_one_of(ft, very_low_bit)) {
		int iq3 = ft == FT_IQ2_S || ft == FT_IQ2_M;

		if (is_attn_v_like(cat)) {
			if (c->n_gqa >= 4 || c->n_expert >= 4)
				t = QF_Q4_K;
			else
				t = iq3 ? QF_IQ3_S : QF_Q2_K;
			c->i_attn_v++;
		} else if (c->n_expert == 8 && cat == C_ATTN_K) {
			t = QF_Q4_K;
		} else if (cat == C_FFN_DOWN) {
			if (c->i_ffn_down < n_layer / 8)
				t = iq3 ? QF_IQ3_S : QF_Q2_K;
			c->i_ffn_down++;
		} else if (cat == C_ATTN_OUTPUT) {
			if (c->n_expert == 8)
				t = QF_Q5_K;
			else if (ft == FT_IQ1_S || ft == FT_IQ1_M)
				t = QF_IQ2_XXS;
			else if (iq3)
				t = QF_IQ3_S;
		}
	} else if (is_attn_v_like(cat)) {
		const int i = c->i_attn_v, gqa4 = c->n_gqa >= 4;

		if (ft == FT_Q2_K)
			t = gqa4 ? QF_Q4_K : QF_Q3_K;
		else if (ft == FT_Q2_K_S && gqa4)
			t = QF_Q4_K;
		else if (ft == FT_IQ3_XXS)
			t = gqa4 ? QF_Q4_K : !c->has_imatrix ? QF_IQ3_S : QF_IQ3_XXS;
		else if ((ft == FT_IQ3_XS || ft == FT_IQ3_S) && gqa4)
			t = QF_Q4_K;
		else if (ft == FT_IQ3_M)
			t = QF_Q4_K;
		else if (ft == FT_Q3_K_M)
			t = i < 2 ? QF_Q5_K : QF_Q4_K;
		else if (ft == FT_Q3_K_L)
			t = QF_Q5_K;
		else if ((ft == FT_IQ4_NL || ft == FT_IQ4_XS) && gqa4)
			t = QF_Q5_K;
		else if ((ft == FT_Q4_K_M || ft == FT_Q5_K_M) && use_more_bits(i, c->n_attn_v))
			t = QF_Q6_K;
		else if (ft == FT_Q4_K_S && i < 4)
			t = QF_Q5_K;
		/* 70B: 8 heads share attn_v, so more bits there cost little */
		if (c->is_70b && (t == QF_Q3_K || t == QF_Q4_K))
			t = QF_Q5_K;
		if (c->n_expert == 8)
			t = QF_Q8_0;
		c->i_attn_v++;
	} else if (cat == C_ATTN_K) {
		if (c->n_expert == 8)
			t = QF_Q8_0;
		else if (ft == FT_IQ3_XS)
			t = QF_IQ3_XXS;
		else if (ft == FT_IQ3_XXS)
			t = QF_IQ2_S;
	} else if (cat == C_ATTN_Q) {
		if (ft == FT_IQ3_XS)
			t = QF_IQ3_XXS;
		else if (ft == FT_IQ3_XXS)
			t = QF_IQ2_S;
	} else if (cat == C_FFN_DOWN) {
		if (layer_of(c, c->i_ffn_down, name, &i_layer, e) < 0)
			return -1;
		if (ft == FT_Q2_K)
			t = QF_Q3_K;
		else if (ft == FT_Q2_K_S) {
			if (i_layer < n_layer / 8)
				t = QF_Q4_K;
		} else if (ft == FT_IQ3_XXS && !c->has_imatrix)
			t = i_layer < n_layer / 8 ? QF_Q4_K : QF_Q3_K;
		else if (ft == FT_Q3_K_M)
			t = i_layer < n_layer / 16 ? QF_Q5_K :
			    !c->is_falcon || use_more_bits(i_layer, n_layer) ? QF_Q4_K : QF_Q3_K;
		else if (ft == FT_IQ3_M && (i_layer < n_layer / 8 ||
		    (c->n_expert == 8 && use_more_bits(i_layer, n_layer))))
			t = QF_Q4_K;
		else if (ft == FT_Q3_K_L)
			t = c->is_falcon ? QF_Q4_K : QF_Q5_K;
		else if (ft == FT_Q4_K_M) {
			if (c->is_falcon)
				t = i_layer < n_layer / 16 ? QF_Q6_K :
				    use_more_bits(i_layer, n_layer) ? QF_Q5_K : QF_Q4_K;
			else if (use_more_bits(i_layer, n_layer))
				t = QF_Q6_K;
		} else if (i_layer < n_layer / 8 && (ft == FT_IQ4_NL || ft == FT_IQ4_XS) && !c->has_imatrix)
			t = QF_Q5_K;
		else if (ft == FT_Q5_K_M && use_more_bits(i_layer, n_layer))
			t = QF_Q6_K;
		else if (ft == FT_Q4_K_S && !c->is_falcon && i_layer < n_layer / 8)
			t = QF_Q5_K;
		else if ((ft == FT_Q4_0 || ft == FT_Q5_0) && c->has_imatrix && i_layer < n_layer / 8)
			/* guards the first ffn_down layers, only with an imatrix so
			 * that plain Q4_0/Q5_0 files stay as they always were */
			t = ft == FT_Q4_0 ? QF_Q4_1 : QF_Q5_1;
		c->i_ffn_down++;
	} else if (cat == C_ATTN_OUTPUT) {
		if (!c->is_falcon) {
			if (c->n_expert == 8) {
				if (is_one_of(ft, expert8_attn_output_q5_k))
					t = QF_Q5_K;
			} else {
				for (size_t k = 0; k < sizeof attn_output_types / sizeof *attn_output_types; k++)
					if (attn_output_types[k].ftype == ft)
						t = attn_output_types[k].type;
			}
		} else if (ft == FT_Q3_K_L) {
			t = QF_Q4_K;
		}
	} else if (cat == C_ATTN_QKV) {
		/* unreachable: attn_qkv is attn_v-like above (as in llama) */
	} else if (cat == C_FFN_GATE || cat == C_FFN_UP) {
		int *counter = cat == C_FFN_GATE ? &c->i_ffn_gate : &c->i_ffn_up;

		if (layer_of(c, *counter, name, &i_layer, e) < 0)
			return -1;
		if (ft == FT_IQ3_XS && i_layer >= n_layer / 8 && i_layer < 7 * n_layer / 8)
			t = QF_IQ3_XXS;
		(*counter)++;
	}
	return t;
}

/* A type the row length does not fit falls back to a smaller block, then
 * to F16. */
static const struct { int from, to; } fallbacks[] = {
	{ QF_IQ1_S, QF_IQ4_NL }, { QF_IQ1_M, QF_IQ4_NL }, { QF_IQ2_XXS, QF_IQ4_NL },
	{ QF_IQ2_XS, QF_IQ4_NL }, { QF_IQ2_S, QF_IQ4_NL }, { QF_IQ3_XXS, QF_IQ4_NL },
	{ QF_IQ3_S, QF_IQ4_NL }, { QF_IQ4_XS, QF_IQ4_NL },
	{ QF_Q2_0, QF_Q4_0 }, { QF_Q2_K, QF_Q4_0 }, { QF_Q3_K, QF_Q4_0 },
	{ QF_TQ1_0, QF_Q4_0 }, { QF_TQ2_0, QF_Q4_0 },
	{ QF_Q4_K, QF_Q5_0 }, { QF_Q5_K, QF_Q5_1 }, { QF_Q6_K, QF_Q8_0 },
};

static int
fallback(struct ftype_chooser *c, const char *name, int64_t ncols, int t, struct qerr *e)
{
	int to = -1;

	if (ncols % blck(t) == 0)
		return t;
	c->n_fallback++;
	for (size_t i = 0; i < sizeof fallbacks / sizeof *fallbacks; i++)
		if (fallbacks[i].from == t)
			to = fallbacks[i].to;
	if (to < 0) {
		if (blck(t) > 32)
			return qerr_set(e, "%s: no fallback type for %s with rows of %lld",
			    name, qfmt_table[t].name, (long long)ncols);
		to = t;
	}
	return ncols % blck(to) == 0 ? to : QF_F16;
}

int
ftype_choose(struct ftype_chooser *c, const char *name, int n_dims,
    const int64_t ne[4], int cur_type, struct qerr *e)
{
	enum category cat = category_of(name);
	int t = c->default_type, manual = 0;

	if (!ftype_allows_quantization(name, n_dims) ||
	    (c->leave_output && strcmp(name, "output.weight") == 0))
		return cur_type;
	/* per_layer_token_embd may be named by a --tensor-type instead */
	if (c->token_embedding_type >= 0 && cat == C_TOKEN_EMBD) {
		int named = 0;

		if (strcmp(name, "per_layer_token_embd.weight") == 0)
			for (int i = 0; i < c->n_rules && !named; i++)
				named = regexec(&c->rules[i].re, name, 0, NULL, 0) == 0;
		if (!named)
			return c->token_embedding_type;
	}
	if (c->output_tensor_type >= 0 && cat == C_OUTPUT)
		return c->output_tensor_type;
	if (!is_quantized(t))
		return t;
	for (int i = 0; i < c->n_rules; i++)
		if (regexec(&c->rules[i].re, name, 0, NULL, 0) == 0) {
			t = c->rules[i].type;
			manual = 1;
			break;
		}
	if (!manual && !c->pure) {
		t = choose_by_rules(c, t, name, ne, cat, e);
		if (t < 0)
			return -1;
	}
	return fallback(c, name, ne[0], t, e);
}

int
ftype_requires_imatrix(const char *name, int type, int ftype)
{
	if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0 ||
	    strcmp(name, "output.weight") == 0)
		return 0;
	switch (type) {
	case QF_IQ3_XXS: case QF_IQ2_XXS: case QF_IQ2_XS: case QF_IQ2_S:
	case QF_IQ1_M: case QF_IQ1_S:
		return 1;
	case QF_Q2_K:
		return ftype == FT_Q2_K_S;
	default:
		return 0;
	}
}

static int
block_of(const char *name)
{
	int n = -1;

	/* as llama's comparer: sscanf, so "blk.7x" counts as block 7 */
	sscanf(name, "blk.%d.", &n);
	return n;
}

int
ftype_tensor_cmp(const char *a, const char *b)
{
	int la = block_of(a), lb = block_of(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

int
ftype_ggml_n_dims(const int64_t ne[4])
{
	for (int i = 3; i >= 1; i--)
		if (ne[i] > 1)
			return i + 1;
	return 1;
}
