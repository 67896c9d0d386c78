/* vocab: Hugging Face tokenizers to tokenizer.ggml.* (see vocab.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "vocab.h"

#define VOCAB_MAX_TOKENS (1u << 24)
#define VOCAB_MAX_FILE (1ull << 30)

static const char *const special_names[VS_COUNT] = {
	"bos", "eos", "unk", "sep", "pad", "cls", "mask"
};
/* gguf key for each special id */
static const char *const special_keys[VS_COUNT] = {
	"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
	"tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
	"tokenizer.ggml.padding_token_id", "tokenizer.ggml.cls_token_id",
	"tokenizer.ggml.mask_token_id"
};

/* ---- small helpers ---- */

static char *
xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* Whole file into memory (NUL-terminated), NULL + *missing=1 if absent. */
static char *
read_small_file(const char *path, size_t *len, int *missing, struct qerr *e)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;

	*missing = 0;
	if (!f) {
		if (errno == ENOENT) {
			*missing = 1;
			return NULL;
		}
		qerr_set(e, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (unsigned long long)st.st_size > VOCAB_MAX_FILE) {
		fclose(f);
		qerr_set(e, "%s: not a regular file of at most 1 GiB", path);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		fclose(f);
		qerr_set(e, "%s: read error", path);
		return NULL;
	}
	fclose(f);
	buf[st.st_size] = 0;
	*len = (size_t)st.st_size;
	return buf;
}

static cJSON *
load_json(const char *dir, const char *file, int *missing, struct qerr *e)
{
	char path[4096];
	size_t len;
	char *text;
	cJSON *j;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	text = read_small_file(path, &len, missing, e);
	if (!text)
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	free(text);
	if (!j)
		qerr_set(e, "%s: not valid JSON", path);
	return j;
}

/* A string-to-id hash table (open addressing, FNV-1a). */
struct strmap {
	size_t cap;
	int64_t *slot;		/* token id or -1 */
	char **keys;		/* points at the vocab's token strings */
};

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int
strmap_init(struct strmap *m, size_t n, char **keys)
{
	m->cap = 16;
	while (m->cap < 2 * n + 16)
		m->cap *= 2;
	m->slot = malloc(m->cap * sizeof *m->slot);
	m->keys = keys;
	if (!m->slot)
		return -1;
	memset(m->slot, 0xff, m->cap * sizeof *m->slot);
	return 0;
}

static int64_t
strmap_get(const struct strmap *m, const char *s)
{
	size_t i = fnv(s) & (m->cap - 1);

	while (m->slot[i] >= 0) {
		if (strcmp(m->keys[m->slot[i]], s) == 0)
			return m->slot[i];
		i = (i + 1) & (m->cap - 1);
	}
	return -1;
}

/* Inserts id (keys[id] must be set); returns 0, or 1 if already there. */
static int
strmap_put(struct strmap *m, int64_t id)
{
	size_t i = fnv(m->keys[id]) & (m->cap - 1);

	while (m->slot[i] >= 0) {
		if (strcmp(m->keys[m->slot[i]], m->keys[id]) == 0)
			return 1;
		i = (i + 1) & (m->cap - 1);
	}
	m->slot[i] = id;
	return 0;
}

static void
vocab_init(struct vocab *v)
{
	int i;

	memset(v, 0, sizeof *v);
	for (i = 0; i < VS_COUNT; i++) {
		v->special[i] = -1;
		v->add_special[i] = -1;
	}
	v->add_space_prefix = -1;
}

void
vocab_none(struct vocab *v)
{
	vocab_init(v);
	strcpy(v->model, "none");
}

void
vocab_free(struct vocab *v)
{
	size_t i;

	for (i = 0; v->tokens && i < v->n; i++)
		free(v->tokens[i]);
	for (i = 0; v->merges && i < v->n_merges; i++)
		free(v->merges[i]);
	free(v->tokens);
	free(v->scores);
	free(v->types);
	free(v->merges);
	free(v->chat_template);
	vocab_init(v);
}

/* Allocates n tokens, each "[PADi]" UNUSED (with score `pad_score`). */
static int
alloc_tokens(struct vocab *v, size_t n, int with_scores, float pad_score, struct qerr *e)
{
	size_t i;

	if (n == 0 || n > VOCAB_MAX_TOKENS)
		return qerr_set(e, "vocabulary of %zu tokens (1..%u allowed)", n, VOCAB_MAX_TOKENS);
	v->n = n;
	v->tokens = calloc(n, sizeof *v->tokens);
	v->types = malloc(n * sizeof *v->types);
	v->scores = with_scores ? malloc(n * sizeof *v->scores) : NULL;
	if (!v->tokens || !v->types || (with_scores && !v->scores))
		return qerr_set(e, "out of memory for %zu tokens", n);
	for (i = 0; i < n; i++) {
		char buf[32];

		snprintf(buf, sizeof buf, "[PAD%zu]", i);
		v->tokens[i] = strdup(buf);
		if (!v->tokens[i])
			return qerr_set(e, "out of memory");
		v->types[i] = VT_UNUSED;
		if (with_scores)
			v->scores[i] = pad_score;
	}
	return 0;
}

static int
set_token(struct vocab *v, size_t id, const char *s, size_t len)
{
	char *p = xstrndup(s, len);

	if (!p)
		return -1;
	free(v->tokens[id]);
	v->tokens[id] = p;
	return 0;
}

/* ---- SentencePiece tokenizer.model ---- */

struct pb {
	const unsigned char *p, *end;
};

static int
pb_varint(struct pb *b, uint64_t *out)
{
	uint64_t v = 0;
	int shift = 0;

	while (b->p < b->end && shift < 64) {
		unsigned char c = *b->p++;

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

/* Reads one field header and its payload: for LEN fields *sub is the
 * payload, for VARINT *val, for I32/I64 *val holds the raw bits. */
static int
pb_field(struct pb *b, uint32_t *field, int *wt, uint64_t *val, struct pb *sub)
{
	uint64_t key, len;

	if (pb_varint(b, &key) != 0 || key >> 3 == 0 || key >> 3 > 0xffffffffu)
		return -1;
	*field = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	switch (*wt) {
	case 0:
		return pb_varint(b, val);
	case 1:
		if (b->end - b->p < 8)
			return -1;
		memcpy(val, b->p, 8);
		b->p += 8;
		return 0;
	case 2:
		if (pb_varint(b, &len) != 0 || len > (uint64_t)(b->end - b->p))
			return -1;
		sub->p = b->p;
		sub->end = b->p + len;
		b->p += len;
		return 0;
	case 5: {
		uint32_t u;

		if (b->end - b->p < 4)
			return -1;
		memcpy(&u, b->p, 4);
		*val = u;
		b->p += 4;
		return 0;
	}
	default:
		return -1;	/* groups are not used by sentencepiece */
	}
}

int
vocab_parse_spm(struct vocab *v, const unsigned char *buf, size_t len, uint64_t n_vocab,
    const char *name, struct qerr *e)
{
	struct pb b = { buf, buf + len }, sub;
	size_t n_pieces = 0, id = 0;
	uint64_t val;
	uint32_t field;
	int wt;

	vocab_init(v);
	/* pass 1: count pieces */
	while (b.p < b.end) {
		if (pb_field(&b, &field, &wt, &val, &sub) != 0)
			return qerr_set(e, "%s: byte %zu: malformed protobuf", name,
			    (size_t)(b.p - buf));
		if (field == 1 && wt == 2)
			n_pieces++;
	}
	if (n_pieces == 0)
		return qerr_set(e, "%s: no pieces: not a SentencePiece model", name);
	if (n_vocab == 0)
		n_vocab = n_pieces;
	if (alloc_tokens(v, (size_t)n_vocab, 1, -10000.0f, e) != 0) {
		vocab_free(v);
		return qerr_prefix(e, "%s", name);
	}
	strcpy(v->model, "llama");
	strcpy(v->pre, "default");
	/* pass 2: the pieces */
	b.p = buf;
	while (b.p < b.end) {
		struct pb pb;
		const unsigned char *piece = NULL;
		size_t piece_len = 0;
		float score = 0;
		uint64_t type = 1;

		pb_field(&b, &field, &wt, &val, &sub);
		if (field != 1 || wt != 2)
			continue;
		pb = sub;
		while (pb.p < pb.end) {
			struct pb s2;

			if (pb_field(&pb, &field, &wt, &val, &s2) != 0) {
				qerr_set(e, "%s: piece %zu: malformed protobuf", name, id);
				goto fail;
			}
			if (field == 1 && wt == 2) {
				piece = s2.p;
				piece_len = (size_t)(s2.end - s2.p);
			} else if (field == 2 && wt == 5) {
				uint32_t u = (uint32_t)val;

				memcpy(&score, &u, 4);
			} else if (field == 3 && wt == 0) {
				type = val;
			}
		}
		if (!piece) {
			qerr_set(e, "%s: piece %zu has no text", name, id);
			goto fail;
		}
		if (memchr(piece, 0, piece_len)) {
			qerr_set(e, "%s: piece %zu contains a NUL byte", name, id);
			goto fail;
		}
		if (id >= v->n)
			break;	/* the converter ignores pieces beyond vocab_size */
		if (set_token(v, id, (const char *)piece, piece_len) != 0) {
			qerr_set(e, "out of memory");
			goto fail;
		}
		v->scores[id] = score;
		/* as the converter: unknown, control, unused, byte keep their
		 * type; normal and user-defined pieces are NORMAL */
		v->types[id] = (type == VT_UNKNOWN || type == VT_CONTROL || type == VT_UNUSED ||
		    type == VT_BYTE) ? (int32_t)type : VT_NORMAL;
		id++;
	}
	return 0;
fail:
	vocab_free(v);
	return -1;
}

/* ---- tokenizer.json ---- */

static const char *
json_str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* Pre-tokenizer regexes llama.cpp implements, by the name it knows them. */
static const struct {
	const char *regex, *pre;
} pre_regexes[] = {
	{ "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	  "llama-bpe" },
	{ "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
	  "qwen2" },
};

/* Names the byte-level pre-tokenizer; NULL when llama.cpp has none like it. */
static const char *
detect_pre(const cJSON *pt)
{
	const cJSON *list, *a, *b;
	const char *type = pt ? json_str(pt, "type") : NULL;
	size_t i;

	if (!type)
		return NULL;
	if (strcmp(type, "ByteLevel") == 0) {
		const cJSON *ur = cJSON_GetObjectItemCaseSensitive(pt, "use_regex");

		return (!ur || cJSON_IsTrue(ur)) ? "gpt-2" : NULL;
	}
	if (strcmp(type, "Sequence") != 0)
		return NULL;
	list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
	if (cJSON_GetArraySize(list) != 2)
		return NULL;
	a = cJSON_GetArrayItem(list, 0);
	b = cJSON_GetArrayItem(list, 1);
	if (!json_str(a, "type") || !json_str(b, "type") ||
	    strcmp(json_str(b, "type"), "ByteLevel") != 0)
		return NULL;
	if (strcmp(json_str(a, "type"), "Digits") == 0 &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "individual_digits")))
		return "smollm";
	if (strcmp(json_str(a, "type"), "Split") == 0) {
		const char *re = json_str(cJSON_GetObjectItemCaseSensitive(a, "pattern"), "Regex");

		for (i = 0; re && i < sizeof pre_regexes / sizeof pre_regexes[0]; i++)
			if (strcmp(re, pre_regexes[i].regex) == 0)
				return pre_regexes[i].pre;
	}
	return NULL;
}

/* "<0xAB>" */
static int
is_byte_token(const char *s)
{
	return strlen(s) == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' &&
	    strchr("0123456789ABCDEFabcdef", s[3]) && strchr("0123456789ABCDEFabcdef", s[4]) &&
	    s[3] && s[4];
}

/* gguf-py's does_token_look_special */
static int
looks_special(const char *s)
{
	size_t n = strlen(s);

	if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") ||
	    !strcmp(s, "[@BOS@]"))
		return 1;
	if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>"))
		return 1;
	if (n >= 7 && !strncmp(s, "<unused", 7) && s[n - 1] == '>')
		return 1;
	return 0;
}

/* One merge as llama.cpp stores it: "a b", spaces inside a part written
 * as U+0120 (the pair form of transformers >= 4.45 allows them). */
static char *
merge_text(const cJSON *m)
{
	const cJSON *a, *b;
	size_t la, lb, i, n = 0;
	char *out;

	if (cJSON_IsString(m))
		return strdup(m->valuestring);
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2)
		return NULL;
	a = cJSON_GetArrayItem(m, 0);
	b = cJSON_GetArrayItem(m, 1);
	if (!cJSON_IsString(a) || !cJSON_IsString(b))
		return NULL;
	la = strlen(a->valuestring);
	lb = strlen(b->valuestring);
	out = malloc(2 * (la + lb) + 2);
	if (!out)
		return NULL;
	for (i = 0; i < la; i++) {
		if (a->valuestring[i] == ' ') {
			out[n++] = (char)0xc4;
			out[n++] = (char)0xa0;
		} else {
			out[n++] = a->valuestring[i];
		}
	}
	out[n++] = ' ';
	for (i = 0; i < lb; i++) {
		if (b->valuestring[i] == ' ') {
			out[n++] = (char)0xc4;
			out[n++] = (char)0xa0;
		} else {
			out[n++] = b->valuestring[i];
		}
	}
	out[n] = 0;
	return out;
}

int
vocab_parse_hf_json(struct vocab *v, const char *json, size_t len, uint64_t n_vocab,
    const char *name, struct qerr *e)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *it;
	const cJSON *model, *vmap, *merges, *added, *dec, *pt;
	const char *mtype, *pre = NULL;
	int byte_fallback, llama_style;
	int64_t max_id = -1;
	size_t n, i;
	struct strmap map = { 0, NULL, NULL };
	int rc = -1;

	vocab_init(v);
	if (!root)
		return qerr_set(e, "%s: not valid JSON", name);
	model = cJSON_GetObjectItemCaseSensitive(root, "model");
	mtype = json_str(model, "type");
	vmap = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
	added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
	dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
	pt = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
	if (!mtype || strcmp(mtype, "BPE") != 0 || !cJSON_IsObject(vmap)) {
		qerr_set(e, "%s: model.type %s: only BPE tokenizers are supported", name,
		    mtype ? mtype : "(missing)");
		goto out;
	}
	if (merges && !cJSON_IsArray(merges)) {
		qerr_set(e, "%s: model.merges is not an array", name);
		goto out;
	}
	byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
	llama_style = byte_fallback && dec && json_str(dec, "type") &&
	    strcmp(json_str(dec, "type"), "Sequence") == 0;
	if (!llama_style) {
		pre = detect_pre(pt);
		if (!pre) {
			qerr_set(e, "%s: pre_tokenizer not recognized (llama.cpp knows byte-level "
			    "GPT-2, Llama 3, Qwen2 and SmolLM splits)", name);
			goto out;
		}
	}
	/* ids */
	cJSON_ArrayForEach(it, vmap) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= VOCAB_MAX_TOKENS ||
		    it->valuedouble != (double)(int64_t)it->valuedouble) {
			qerr_set(e, "%s: vocab[%s]: bad id", name, it->string);
			goto out;
		}
		if ((int64_t)it->valuedouble > max_id)
			max_id = (int64_t)it->valuedouble;
	}
	cJSON_ArrayForEach(it, added) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= VOCAB_MAX_TOKENS ||
		    !json_str(it, "content")) {
			qerr_set(e, "%s: added_tokens: bad entry", name);
			goto out;
		}
		if ((int64_t)id->valuedouble > max_id)
			max_id = (int64_t)id->valuedouble;
	}
	if (max_id < 0) {
		qerr_set(e, "%s: empty vocabulary", name);
		goto out;
	}
	n = (size_t)max_id + 1;
	if (n_vocab && n > n_vocab) {
		qerr_set(e, "%s: token id %lld beyond the model's vocab_size %llu", name,
		    (long long)max_id, (unsigned long long)n_vocab);
		goto out;
	}
	if (n_vocab)
		n = (size_t)n_vocab;
	if (alloc_tokens(v, n, llama_style, -1000.0f, e) != 0)
		goto out;
	strcpy(v->model, llama_style ? "llama" : "gpt2");
	strcpy(v->pre, llama_style ? "default" : pre);
	cJSON_ArrayForEach(it, vmap) {
		size_t id = (size_t)it->valuedouble;

		if (set_token(v, id, it->string, strlen(it->string)) != 0) {
			qerr_set(e, "out of memory");
			goto out;
		}
		v->types[id] = llama_style && is_byte_token(it->string) ? VT_BYTE : VT_NORMAL;
		if (llama_style)
			v->scores[id] = 0;
	}
	cJSON_ArrayForEach(it, added) {
		size_t id = (size_t)cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble;
		const char *content = json_str(it, "content");
		int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"));

		if (set_token(v, id, content, strlen(content)) != 0) {
			qerr_set(e, "out of memory");
			goto out;
		}
		if (llama_style && v->types[id] == VT_BYTE)
			continue;
		v->types[id] = (special || looks_special(content)) ? VT_CONTROL : VT_USER_DEFINED;
	}
	if (llama_style) {
		const char *unk = json_str(model, "unk_token");

		if (strmap_init(&map, n, v->tokens) != 0) {
			qerr_set(e, "out of memory");
			goto out;
		}
		for (i = 0; i < n; i++)
			if (v->types[i] != VT_UNUSED)
				strmap_put(&map, (int64_t)i);
		if (unk && strmap_get(&map, unk) >= 0)
			v->types[strmap_get(&map, unk)] = VT_UNKNOWN;
		/* A token made by merge r scores -r, so llama.cpp's
		 * highest-score-first merging follows HF's merge order;
		 * multi-character tokens no merge makes come last. */
		for (i = 0; i < n; i++)
			if (v->types[i] == VT_NORMAL && strlen(v->tokens[i]) > 0)
				v->scores[i] = -(float)(cJSON_GetArraySize(merges) + (int)i);
		for (i = 0; i < n; i++) {
			/* single characters are never merge results */
			const unsigned char *s = (const unsigned char *)v->tokens[i];
			size_t l = strlen(v->tokens[i]), cl = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 :
			    s[0] < 0xf0 ? 3 : 4;

			if (v->types[i] == VT_NORMAL && l == cl)
				v->scores[i] = 0;
		}
		i = 0;
		cJSON_ArrayForEach(it, merges) {
			char *m = merge_text(it), *sp, *joined;
			int64_t id;

			if (!m || !(sp = strchr(m, ' '))) {
				free(m);
				qerr_set(e, "%s: merges[%zu]: malformed", name, i);
				goto out;
			}
			joined = malloc(strlen(m) + 1);
			if (!joined) {
				free(m);
				qerr_set(e, "out of memory");
				goto out;
			}
			memcpy(joined, m, (size_t)(sp - m));
			strcpy(joined + (sp - m), sp + 1);
			id = strmap_get(&map, joined);
			if (id >= 0 && v->types[id] == VT_NORMAL &&
			    v->scores[id] < -(float)i)
				v->scores[id] = -(float)i;
			free(joined);
			free(m);
			i++;
		}
	} else {
		size_t nm = (size_t)cJSON_GetArraySize(merges);

		v->merges = calloc(nm ? nm : 1, sizeof *v->merges);
		if (!v->merges) {
			qerr_set(e, "out of memory");
			goto out;
		}
		cJSON_ArrayForEach(it, merges) {
			char *m = merge_text(it);

			if (!m || !strchr(m, ' ')) {
				free(m);
				qerr_set(e, "%s: merges[%zu]: malformed", name, v->n_merges);
				goto out;
			}
			v->merges[v->n_merges++] = m;
		}
	}
	rc = 0;
out:
	free(map.slot);
	cJSON_Delete(root);
	if (rc != 0)
		vocab_free(v);
	return rc;
}

/* ---- special tokens, as gguf-py's SpecialVocab ---- */

static const char *
token_content(const cJSON *entry)
{
	if (cJSON_IsString(entry))
		return entry->valuestring;
	if (cJSON_IsObject(entry))
		return json_str(entry, "content");
	return NULL;
}

static void
set_special(struct vocab *v, int typ, const cJSON *id)
{
	if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (double)v->n ||
	    id->valuedouble != (double)(int64_t)id->valuedouble)
		return;
	if (v->special[typ] < 0)
		v->special[typ] = (int64_t)id->valuedouble;
}

static int64_t
added_id(const cJSON *added, const char *content)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, added) {
		const char *c = json_str(it, "content");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");

		if (c && strcmp(c, content) == 0 && cJSON_IsNumber(id))
			return (int64_t)id->valuedouble;
	}
	return -1;
}

static int
load_specials(struct vocab *v, const char *dir, const cJSON *tok, struct qerr *e)
{
	const cJSON *added = tok ? cJSON_GetObjectItemCaseSensitive(tok, "added_tokens") : NULL;
	const cJSON *pp = tok ? cJSON_GetObjectItemCaseSensitive(tok, "post_processor") : NULL;
	cJSON *tc, *cfg;
	const char *content[VS_COUNT] = { 0 };
	int missing, t;

	tc = load_json(dir, "tokenizer_config.json", &missing, e);
	if (!tc && !missing)
		return -1;
	for (t = 0; tc && t < VS_COUNT; t++) {
		char key[32];

		snprintf(key, sizeof key, "%s_token", special_names[t]);
		content[t] = token_content(cJSON_GetObjectItemCaseSensitive(tc, key));
	}
	if (!content[VS_BOS] && content[VS_CLS])
		content[VS_BOS] = content[VS_CLS];
	if (!content[VS_EOS] && content[VS_SEP])
		content[VS_EOS] = content[VS_SEP];
	/* a post-processor template's leading / trailing special token */
	if (pp) {
		const cJSON *procs = cJSON_GetObjectItemCaseSensitive(pp, "processors"), *p;
		const cJSON *one[1] = { pp };
		int i, np = procs ? cJSON_GetArraySize(procs) : 1;

		for (i = 0; i < np; i++) {
			const cJSON *single;
			int ns;

			p = procs ? cJSON_GetArrayItem(procs, i) : one[0];
			if (!json_str(p, "type") || strcmp(json_str(p, "type"), "TemplateProcessing"))
				continue;
			single = cJSON_GetObjectItemCaseSensitive(p, "single");
			ns = cJSON_GetArraySize(single);
			if (ns > 1) {
				const char *first = json_str(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetArrayItem(single, 0), "SpecialToken"), "id");
				const char *last = json_str(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetArrayItem(single, ns - 1), "SpecialToken"), "id");

				if (first) {
					if (!tc)
						content[VS_BOS] = first;
					v->add_special[VS_BOS] = (content[VS_BOS] &&
					    !strcmp(first, content[VS_BOS])) ||
					    (content[VS_CLS] && !strcmp(first, content[VS_CLS]));
				}
				if (last) {
					if (!tc || !content[VS_EOS])
						content[VS_EOS] = last;
					v->add_special[VS_EOS] = content[VS_EOS] &&
					    !strcmp(last, content[VS_EOS]);
				}
			}
		}
	}
	if (!tc) {
		for (t = 0; t < VS_COUNT; t++)
			if (content[t] && added_id(added, content[t]) >= 0)
				set_special(v, t, &(cJSON){ .type = cJSON_Number,
				    .valuedouble = (double)added_id(added, content[t]) });
	}
	if (tc) {
		const cJSON *ct = cJSON_GetObjectItemCaseSensitive(tc, "chat_template");

		if (cJSON_IsString(ct)) {
			v->chat_template = strdup(ct->valuestring);
			if (!v->chat_template) {
				cJSON_Delete(tc);
				return qerr_set(e, "out of memory");
			}
		}
		for (t = 0; t < VS_COUNT; t++) {
			char key[32];
			const cJSON *add;

			snprintf(key, sizeof key, "add_%s_token", special_names[t]);
			add = cJSON_GetObjectItemCaseSensitive(tc, key);
			if (cJSON_IsBool(add))
				v->add_special[t] = cJSON_IsTrue(add);
			if (content[t]) {
				int64_t id = added_id(added, content[t]);

				if (id >= 0)
					set_special(v, t, &(cJSON){ .type = cJSON_Number,
					    .valuedouble = (double)id });
			}
		}
		/* added_tokens_decoder (SentencePiece models) */
		if (v->scores) {
			const cJSON *atd = cJSON_GetObjectItemCaseSensitive(tc, "added_tokens_decoder"), *it;

			cJSON_ArrayForEach(it, atd) {
				char *endp;
				long id = strtol(it->string, &endp, 10);
				const char *c = json_str(it, "content");

				if (*endp || id < 0 || (size_t)id >= v->n || !c)
					continue;
				if (set_token(v, (size_t)id, c, strlen(c)) != 0) {
					cJSON_Delete(tc);
					return qerr_set(e, "out of memory");
				}
				v->types[id] = (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special")) ||
				    looks_special(c)) ? VT_CONTROL : VT_USER_DEFINED;
				v->scores[id] = -1000.0f;
			}
		}
	}
	cJSON_Delete(tc);
	cfg = load_json(dir, "config.json", &missing, e);
	for (t = 0; cfg && t < VS_COUNT; t++) {
		char key[32];

		snprintf(key, sizeof key, "%s_token_id", special_names[t]);
		set_special(v, t, cJSON_GetObjectItemCaseSensitive(cfg, key));
	}
	cJSON_Delete(cfg);
	return 0;
}

int
vocab_load(struct vocab *v, const char *dir, uint64_t n_vocab, struct qerr *e)
{
	char path[4096];
	size_t len;
	char *text;
	int missing, rc;
	cJSON *tok = NULL;

	vocab_init(v);
	snprintf(path, sizeof path, "%s/tokenizer.model", dir);
	text = read_small_file(path, &len, &missing, e);
	if (!text && !missing)
		return -1;
	if (text) {
		rc = vocab_parse_spm(v, (unsigned char *)text, len, n_vocab, path, e);
		free(text);
		if (rc != 0)
			return -1;
	} else {
		snprintf(path, sizeof path, "%s/tokenizer.json", dir);
		text = read_small_file(path, &len, &missing, e);
		if (!text) {
			if (missing)
				qerr_set(e, "%s: no tokenizer.model or tokenizer.json "
				    "(use --vocab none to convert without one)", dir);
			return -1;
		}
		rc = vocab_parse_hf_json(v, text, len, n_vocab, path, e);
		free(text);
		if (rc != 0)
			return -1;
	}
	tok = load_json(dir, "tokenizer.json", &missing, e);
	if (!tok && !missing) {
		vocab_free(v);
		return -1;
	}
	rc = load_specials(v, dir, tok, e);
	cJSON_Delete(tok);
	if (rc != 0)
		vocab_free(v);
	return rc;
}

int
vocab_to_gguf(const struct vocab *v, struct gguf_writer *w, uint64_t n_vocab,
    const char *arch_name, struct qerr *e)
{
	int t, rc = 0;

	rc |= gguf_w_set_str(w, "tokenizer.ggml.model", v->model);
	if (strcmp(v->model, "none") == 0) {
		char key[128];
		uint32_t nv = (uint32_t)n_vocab;

		snprintf(key, sizeof key, "%s.vocab_size", arch_name);
		rc |= gguf_w_set(w, key, GGUF_T_UINT32, &nv);
		return rc ? qerr_set(e, "cannot set tokenizer KVs") : 0;
	}
	rc |= gguf_w_set_str(w, "tokenizer.ggml.pre", v->pre);
	rc |= gguf_w_set_arr_str(w, "tokenizer.ggml.tokens", v->n,
	    (const char *const *)v->tokens, NULL);
	if (v->scores)
		rc |= gguf_w_set_arr(w, "tokenizer.ggml.scores", GGUF_T_FLOAT32, v->n, v->scores);
	rc |= gguf_w_set_arr(w, "tokenizer.ggml.token_type", GGUF_T_INT32, v->n, v->types);
	if (v->n_merges)
		rc |= gguf_w_set_arr_str(w, "tokenizer.ggml.merges", v->n_merges,
		    (const char *const *)v->merges, NULL);
	for (t = 0; t < VS_COUNT; t++) {
		if (v->special[t] >= 0) {
			uint32_t id = (uint32_t)v->special[t];

			rc |= gguf_w_set(w, special_keys[t], GGUF_T_UINT32, &id);
		}
	}
	for (t = 0; t < VS_COUNT; t++) {
		char key[64];
		uint8_t b;

		if (v->add_special[t] < 0 || (t != VS_BOS && t != VS_EOS && t != VS_SEP))
			continue;
		b = (uint8_t)v->add_special[t];
		snprintf(key, sizeof key, "tokenizer.ggml.add_%s_token", special_names[t]);
		rc |= gguf_w_set(w, key, GGUF_T_BOOL, &b);
	}
	if (v->add_space_prefix >= 0) {
		uint8_t b = (uint8_t)v->add_space_prefix;

		rc |= gguf_w_set(w, "tokenizer.ggml.add_space_prefix", GGUF_T_BOOL, &b);
	}
	if (v->chat_template)
		rc |= gguf_w_set_str(w, "tokenizer.chat_template", v->chat_template);
	return rc ? qerr_set(e, "cannot set tokenizer KVs") : 0;
}
