/* arch table and tokenizer conversion: name mapping, the Q/K permutation
 * (spec/gguf.md §8 example), table sanity, SentencePiece and tokenizer.json
 * parsing on hand-made inputs. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "harness.h"
#include "vocab.h"

TEST(find_by_model_type_and_class)
{
	char known[512];

	CHECK(arch_find("llama", NULL) == &arch_table[0]);
	CHECK_STR(arch_find(NULL, "Qwen2ForCausalLM")->gguf_arch, "qwen2");
	CHECK_STR(arch_find("mistral", NULL)->gguf_arch, "llama");
	CHECK(arch_find("bert", "BertModel") == NULL);
	CHECK(strstr(arch_supported_list(known, sizeof known), "starcoder2") != NULL);
}

TEST(map_names)
{
	const struct arch_def *llama = arch_find("llama", NULL), *mix = arch_find("mixtral", NULL);
	char out[128];
	enum arch_role role;
	int layer, expert;

	CHECK(arch_map_name(llama, "model.layers.12.self_attn.q_proj.weight", out, sizeof out,
	    &role, &layer, &expert));
	CHECK_STR(out, "blk.12.attn_q.weight");
	CHECK_EQ_INT(role, AR_Q);
	CHECK_EQ_INT(layer, 12);
	CHECK_EQ_INT(expert, -1);
	CHECK(arch_map_name(llama, "model.layers.0.self_attn.k_proj.bias", out, sizeof out,
	    &role, &layer, &expert));
	CHECK_STR(out, "blk.0.attn_k.bias");
	CHECK(arch_map_name(llama, "lm_head.weight", out, sizeof out, &role, &layer, &expert));
	CHECK_STR(out, "output.weight");
	CHECK_EQ_INT(role, AR_OUTPUT);
	CHECK(arch_map_name(llama, "model.layers.1.self_attn.rotary_emb.inv_freq", out, sizeof out,
	    &role, &layer, &expert));
	CHECK_EQ_INT(role, AR_DROP);
	/* no leading zeros, no signs, nothing trailing, nothing unknown */
	CHECK(!arch_map_name(llama, "model.layers.01.input_layernorm.weight", out, sizeof out,
	    &role, &layer, &expert));
	CHECK(!arch_map_name(llama, "model.layers.-1.input_layernorm.weight", out, sizeof out,
	    &role, &layer, &expert));
	CHECK(!arch_map_name(llama, "model.layers.1.input_layernorm.weightx", out, sizeof out,
	    &role, &layer, &expert));
	CHECK(!arch_map_name(llama, "model.layers.1.mystery.weight", out, sizeof out,
	    &role, &layer, &expert));
	CHECK(arch_map_name(mix, "model.layers.3.block_sparse_moe.experts.7.w2.weight", out,
	    sizeof out, &role, &layer, &expert));
	CHECK_STR(out, "blk.3.ffn_down_exps.weight");
	CHECK_EQ_INT(layer, 3);
	CHECK_EQ_INT(expert, 7);
}

TEST(permutation_matches_the_spec_example)
{
	/* head_dim 16: GGUF rows come from HF rows 0, 8, 1, 9, ..., 7, 15 */
	static const int want[16] = { 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15 };
	int i;

	for (i = 0; i < 16; i++)
		CHECK_EQ_INT(arch_permute_src(i, 16), want[i]);
	CHECK_EQ_INT(arch_permute_src(16 + 3, 16), 16 + 9);	/* second head */
}

TEST(every_table_name_fits_gguf)
{
	int i, li;

	for (i = 0; i < arch_count; i++)
		for (li = 0; li < ARCH_MAX_LISTS && arch_table[i].tensors[li]; li++) {
			const struct arch_tensor *t;

			for (t = arch_table[i].tensors[li]; t->hf; t++) {
				char hf[256], out[128], *p;
				enum arch_role role;
				int layer, expert;

				snprintf(hf, sizeof hf, "%s.weight", t->hf);
				while ((p = strchr(hf, '#')) || (p = strchr(hf, '*'))) {
					memmove(p + 5, p + 1, strlen(p + 1) + 1);
					memcpy(p, "99999", 5);
				}
				CHECKF(arch_map_name(&arch_table[i], hf, out, sizeof out, &role, &layer,
				    &expert), "%s: %s does not map", arch_table[i].model_type, hf);
				CHECKF(strlen(out) <= 63, "%s: %s too long", arch_table[i].model_type, out);
			}
		}
}

static size_t
piece(unsigned char *p, const char *s, float score, int type)
{
	size_t n = strlen(s), k = 0;
	unsigned char body[64];

	body[k++] = 0x0a;
	body[k++] = (unsigned char)n;
	memcpy(body + k, s, n);
	k += n;
	body[k++] = 0x15;
	memcpy(body + k, &score, 4);
	k += 4;
	body[k++] = 0x18;
	body[k++] = (unsigned char)type;
	p[0] = 0x0a;
	p[1] = (unsigned char)k;
	memcpy(p + 2, body, k);
	return k + 2;
}

TEST(sentencepiece_model)
{
	unsigned char buf[256];
	size_t n = 0;
	struct vocab v;
	struct qerr e;

	n += piece(buf + n, "<unk>", 0, 2);
	n += piece(buf + n, "<s>", 0, 3);
	n += piece(buf + n, "\xe2\x96\x81the", -2.5f, 1);
	n += piece(buf + n, "<0x0A>", 0, 6);
	n += piece(buf + n, "user", 0, 4);
	buf[n++] = 0x12;	/* a trainer_spec the parser skips */
	buf[n++] = 0;
	CHECK(vocab_parse_spm(&v, buf, n, 7, "t", &e) == 0);
	CHECK_STR(v.model, "llama");
	CHECK_EQ_INT(v.n, 7);
	CHECK_STR(v.tokens[2], "\xe2\x96\x81the");
	CHECK(v.scores[2] == -2.5f);
	CHECK_EQ_INT(v.types[0], VT_UNKNOWN);
	CHECK_EQ_INT(v.types[1], VT_CONTROL);
	CHECK_EQ_INT(v.types[3], VT_BYTE);
	CHECK_EQ_INT(v.types[4], VT_NORMAL);	/* user-defined pieces: NORMAL, as the converter */
	CHECK_STR(v.tokens[6], "[PAD6]");
	CHECK_EQ_INT(v.types[6], VT_UNUSED);
	vocab_free(&v);
	CHECK(vocab_parse_spm(&v, buf, n - 5, 0, "t", &e) != 0);	/* cut inside a piece */
	CHECK(strstr(e.msg, "malformed") != NULL);
}

TEST(tokenizer_json_byte_level)
{
	const char *j = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b c\":1,\"d\":2},"
	    "\"merges\":[[\"b c\",\"d\"],\"a d\"]},"
	    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"use_regex\":true},"
	    "\"added_tokens\":[{\"id\":4,\"content\":\"<|end|>\",\"special\":true},"
	    "{\"id\":5,\"content\":\"hi\",\"special\":false}]}";
	struct vocab v;
	struct qerr e;

	CHECK(vocab_parse_hf_json(&v, j, strlen(j), 0, "t", &e) == 0);
	CHECK_STR(v.model, "gpt2");
	CHECK_STR(v.pre, "gpt-2");
	CHECK_EQ_INT(v.n, 6);
	CHECK_STR(v.tokens[3], "[PAD3]");
	CHECK_EQ_INT(v.types[3], VT_UNUSED);
	CHECK_EQ_INT(v.types[4], VT_CONTROL);
	CHECK_EQ_INT(v.types[5], VT_USER_DEFINED);
	CHECK_EQ_INT(v.n_merges, 2);
	CHECK_STR(v.merges[0], "b\xc4\xa0" "c d");	/* a space inside a part is U+0120 */
	CHECK_STR(v.merges[1], "a d");
	vocab_free(&v);
	CHECK(vocab_parse_hf_json(&v, j, strlen(j), 3, "t", &e) != 0);	/* ids beyond vocab_size */
}

int
main(void)
{
	RUN(find_by_model_type_and_class);
	RUN(map_names);
	RUN(permutation_matches_the_spec_example);
	RUN(every_table_name_fits_gguf);
	RUN(sentencepiece_model);
	RUN(tokenizer_json_byte_level);
	return t_done();
}
