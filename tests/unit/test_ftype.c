/* ftype: per-tensor type choice against llama.cpp's own
 * llama_quant_compute_types (libllama of @node-llama-cpp/linux-x64@3.22.1),
 * for every preset, on several model shapes: dense and GQA llama, tied
 * embeddings, 64-wide rows (fallbacks), 8 experts, falcon, a "70B". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftype.h"
#include "harness.h"
#include "llama_oracle.h"
#include "quant.h"

static struct llama_oracle lo;
static char lo_why[512];
static int lo_ok;

struct tensor {
	char name[64];
	int64_t ne[4];
};

struct model {
	const char *label;
	struct lo_model_desc d;
	int tied;		/* no output.weight */
	int fused_qkv;		/* falcon-style attn_qkv */
	struct tensor *t;
	size_t n;
};

static void
add(struct model *m, const char *name, int64_t ne0, int64_t ne1, int64_t ne2)
{
	struct tensor *t;

	m->t = realloc(m->t, (m->n + 1) * sizeof *m->t);
	t = &m->t[m->n++];
	snprintf(t->name, sizeof t->name, "%s", name);
	t->ne[0] = ne0; t->ne[1] = ne1; t->ne[2] = ne2; t->ne[3] = 1;
}

static int
cmp_tensor(const void *a, const void *b)
{
	return ftype_tensor_cmp(((const struct tensor *)a)->name, ((const struct tensor *)b)->name);
}

/* A llama-shaped tensor list, sorted in llama's processing order. */
static void
build(struct model *m)
{
	const struct lo_model_desc *d = &m->d;
	int64_t e = d->n_embd, ff = d->n_ff, hd = d->n_embd_head_k, v = 1000;
	char nm[64];

	add(m, "token_embd.weight", e, v, 1);
	add(m, "output_norm.weight", e, 1, 1);
	if (!m->tied)
		add(m, "output.weight", e, v, 1);
	for (uint32_t l = 0; l < d->n_layer; l++) {
#define T(suffix, a, b, c) (snprintf(nm, sizeof nm, "blk.%u." suffix, l), add(m, nm, a, b, c))
		T("attn_norm.weight", e, 1, 1);
		if (m->fused_qkv) {
			T("attn_qkv.weight", e, hd * (d->n_head + 2 * d->n_head_kv), 1);
		} else {
			T("attn_q.weight", e, hd * d->n_head, 1);
			T("attn_k.weight", e, hd * d->n_head_kv, 1);
			T("attn_v.weight", e, hd * d->n_head_kv, 1);
		}
		T("attn_output.weight", hd * d->n_head, e, 1);
		T("ffn_norm.weight", e, 1, 1);
		if (d->n_expert > 1) {
			T("ffn_gate_inp.weight", e, d->n_expert, 1);
			T("ffn_gate_exps.weight", e, ff, d->n_expert);
			T("ffn_up_exps.weight", e, ff, d->n_expert);
			T("ffn_down_exps.weight", ff, e, d->n_expert);
		} else {
			T("ffn_gate.weight", e, ff, 1);
			T("ffn_up.weight", e, ff, 1);
			T("ffn_down.weight", ff, e, 1);
		}
#undef T
	}
	qsort(m->t, m->n, sizeof *m->t, cmp_tensor);
}

struct options {
	int pure, output_type, embd_type;
	const char *pattern;
	int pattern_type;
};

/* Compares every tensor's type for one model, file type and options. */
static void
compare(struct model *m, int ftype, const struct options *op)
{
	struct lo_quantize_params p = lo.default_params();
	struct lo_tensor_override tt[2] = { { NULL, op->pattern_type }, { NULL, LO_GGML_TYPE_COUNT } };
	char lower[256] = "";
	void *ctx, *model, *qs, **gt = calloc(m->n, sizeof *gt);
	int *theirs = calloc(m->n, sizeof *theirs);
	const char **names = calloc(m->n, sizeof *names);
	struct ftype_chooser c = { 0 };
	struct ftype_rule rule;
	struct ftype_model fm = { m->d.architecture, (int)m->d.n_layer, (int)m->d.n_head,
		(int)m->d.n_head_kv, (int)m->d.n_expert };
	struct qerr e;
	int bad = 0;

	p.ftype = ftype;
	p.pure = op->pure;
	p.output_tensor_type = op->output_type >= 0 ? op->output_type : LO_GGML_TYPE_COUNT;
	p.token_embedding_type = op->embd_type >= 0 ? op->embd_type : LO_GGML_TYPE_COUNT;
	p.tt_overrides = op->pattern ? tt : NULL;
	/* llama-quantize lower-cases the pattern before passing it on */
	for (size_t i = 0; op->pattern && op->pattern[i] && i + 1 < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)op->pattern[i]);
	tt[0].pattern = lower;

	ctx = lo.ggml_init((struct lo_ggml_init_params){ 1 << 20, NULL, true });
	for (size_t i = 0; i < m->n; i++) {
		gt[i] = lo.ggml_new_tensor(ctx, QF_F16, ftype_ggml_n_dims(m->t[i].ne), m->t[i].ne);
		lo.ggml_set_name(gt[i], m->t[i].name);
		names[i] = m->t[i].name;
	}

	c.ftype = ftype;
	c.default_type = ftype_default_type(ftype);
	c.pure = op->pure;
	c.output_tensor_type = op->output_type;
	c.token_embedding_type = op->embd_type;
	if (op->pattern) {
		CHECK(ftype_rule_compile(&rule, op->pattern, op->pattern_type, &e) == 0);
		c.rules = &rule;
		c.n_rules = 1;
	}
	ftype_chooser_init(&c, &fm, names, m->n);

	/* llama throws (and aborts through our C frame) where no fallback
	 * exists, so ask ours first and only ask llama when ours succeeds */
	for (size_t i = 0; i < m->n; i++) {
		int ours = ftype_choose(&c, m->t[i].name, ftype_ggml_n_dims(m->t[i].ne), m->t[i].ne, QF_F16, &e);

		theirs[i] = ours;
		if (ours < 0)
			bad = 1;
	}
	if (bad) {
		/* only Q1_0 (128-blocks, no fallback) may fail on narrow rows */
		CHECKF(c.default_type == QF_Q1_0, "%s %s: ours failed: %s", m->label, ftype_name(ftype), e.msg);
		goto out;
	}
	{
		int *ours = theirs;
		int *ref = calloc(m->n, sizeof *ref);

		model = lo.model_from_metadata(&m->d);
		qs = lo.quant_init(model, &p);
		lo.compute_types(qs, ftype, gt, ref, m->n);
		for (size_t i = 0; i < m->n; i++)
			CHECKF(ours[i] == ref[i], "%s %s%s: %s: ours %s, llama %s", m->label,
			    ftype_name(ftype), op->pure ? " pure" : "", m->t[i].name,
			    qfmt_table[ours[i]].name, qfmt_table[ref[i]].name);
		lo.quant_free(qs);
		lo.model_free(model);
		free(ref);
	}
out:
	if (op->pattern)
		ftype_rule_free(&rule);
	lo.ggml_free(ctx);
	free(gt);
	free(theirs);
	free(names);
}

static const struct options plain = { 0, -1, -1, NULL, 0 };

static void
all_presets(struct model *m)
{
	struct options pure = plain;

	pure.pure = 1;
	if (!lo_ok) {
		t_skip("%s", lo_why);
		return;
	}
	build(m);
	for (size_t i = 0; i < ftype_npresets; i++) {
		compare(m, ftype_presets[i].ftype, &plain);
		compare(m, ftype_presets[i].ftype, &pure);
	}
	free(m->t);
}

TEST(llama_dense_8_layers)
{
	struct model m = { "dense8", { "llama", 256, 512, 8, 8, 8, 0, 32, 32 }, 0, 0, NULL, 0 };
	all_presets(&m);
}

TEST(llama_gqa4_tied_12_layers)
{
	struct model m = { "gqa4-tied", { "llama", 512, 1024, 12, 8, 2, 0, 64, 64 }, 1, 0, NULL, 0 };
	all_presets(&m);
}

TEST(llama_64_wide_rows_fall_back)
{
	struct model m = { "wide64", { "llama", 64, 128, 4, 4, 4, 0, 16, 16 }, 0, 0, NULL, 0 };
	all_presets(&m);
}

TEST(llama_64_wide_tied)
{
	struct model m = { "wide64-tied", { "llama", 64, 96, 4, 4, 2, 0, 16, 16 }, 1, 0, NULL, 0 };
	all_presets(&m);
}

TEST(mixtral_8_experts)
{
	struct model m = { "moe8", { "llama", 256, 512, 4, 8, 2, 8, 32, 32 }, 0, 0, NULL, 0 };
	all_presets(&m);
}

TEST(falcon_fused_qkv)
{
	struct model m = { "falcon", { "falcon", 256, 1024, 16, 8, 1, 0, 32, 32 }, 0, 1, NULL, 0 };
	all_presets(&m);
}

TEST(llama_70b_shape)
{
	struct model m = { "70b", { "llama", 256, 512, 80, 8, 1, 0, 32, 32 }, 0, 0, NULL, 0 };
	all_presets(&m);
}

TEST(options_override_types)
{
	struct model m = { "dense8", { "llama", 256, 512, 8, 8, 8, 0, 32, 32 }, 0, 0, NULL, 0 };
	struct model tied = { "tied", { "llama", 256, 512, 8, 8, 8, 0, 32, 32 }, 1, 0, NULL, 0 };
	const struct options cases[] = {
		{ 0, QF_Q8_0, -1, NULL, 0 },
		{ 0, -1, QF_Q4_0, NULL, 0 },
		{ 0, QF_Q5_K, QF_IQ4_NL, NULL, 0 },
		{ 1, QF_F16, QF_Q8_0, NULL, 0 },
		{ 0, -1, -1, "attn_v", QF_Q8_0 },
		{ 0, -1, -1, "blk\\.[0-3]\\.ffn_(down|up)", QF_Q5_0 },
		{ 0, -1, -1, "BLK\\.\\d+\\.ATTN_Q", QF_Q4_K },
		{ 0, -1, -1, "output", QF_Q4_0 },
		{ 0, -1, QF_Q6_K, "token_embd", QF_Q4_0 },
	};
	const int ftypes[] = { 2, 7, 10, 12, 15, 17, 18, 25, 30 };

	if (!lo_ok) {
		t_skip("%s", lo_why);
		return;
	}
	build(&m);
	build(&tied);
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
		for (size_t f = 0; f < sizeof ftypes / sizeof *ftypes; f++) {
			compare(&m, ftypes[f], &cases[k]);
			compare(&tied, ftypes[f], &cases[k]);
		}
	free(m.t);
	free(tied.t);
}

TEST(preset_names)
{
	CHECK_EQ_INT(ftype_find("q4_k_m")->ftype, 15);
	CHECK_EQ_INT(ftype_find("Q4_K")->ftype, 15);
	CHECK_STR(ftype_name(15), "Q4_K_M");
	CHECK_STR(ftype_name(12), "Q3_K_M");
	CHECK_EQ_INT(ftype_default_type(28), QF_IQ2_XS);	/* IQ2_S files start from IQ2_XS */
	CHECK(ftype_find("Q4_K_X") == NULL);
	CHECK(ftype_find("COPY") == NULL);
}

TEST(tensor_order)
{
	CHECK(ftype_tensor_cmp("output.weight", "blk.0.attn_k.weight") < 0);
	CHECK(ftype_tensor_cmp("blk.2.ffn_up.weight", "blk.10.attn_k.weight") < 0);
	CHECK(ftype_tensor_cmp("blk.3.attn_norm.weight", "blk.3.attn_k.weight") > 0);
	CHECK(ftype_tensor_cmp("output_norm.weight", "output.weight") > 0);
}

TEST(never_quantized)
{
	CHECK(!ftype_allows_quantization("blk.0.attn_norm.weight", 2));
	CHECK(!ftype_allows_quantization("blk.0.ffn_gate_inp.weight", 2));
	CHECK(!ftype_allows_quantization("blk.0.attn_q.bias", 2));
	CHECK(!ftype_allows_quantization("blk.0.attn_q.weight", 1));
	CHECK(ftype_allows_quantization("blk.0.attn_q.weight", 2));
	CHECK(ftype_allows_quantization("abcde", 2));	/* llama's rfind quirk */
}

int
main(void)
{
	lo_ok = lo_load(&lo, lo_why, sizeof lo_why) == 0;
	RUN(preset_names);
	RUN(tensor_order);
	RUN(never_quantized);
	RUN(llama_dense_8_layers);
	RUN(llama_gqa4_tied_12_layers);
	RUN(llama_64_wide_rows_fall_back);
	RUN(llama_64_wide_tied);
	RUN(mixtral_8_experts);
	RUN(falcon_fused_qkv);
	RUN(llama_70b_shape);
	RUN(options_override_types);
	return t_done();
}
