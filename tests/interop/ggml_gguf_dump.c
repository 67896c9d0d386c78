/* ggml-gguf-dump FILE...: what llama.cpp's own GGUF reader (gguf_init_from_file
 * in libggml-base, the oracle) sees in each file, in the canonical text form
 * that tests/interop/qu_gguf_tool.c prints from our reader, so the two can be
 * compared with cmp.  A file ggml refuses prints "refused" (exit 0: the
 * caller compares that too).
 *
 * By default ggml also reads the data section (no_alloc = false), which needs
 * every byte up to the padded end of the last tensor.  With -m only the
 * metadata is parsed (no_alloc = true, as llama.cpp's model loader does) and
 * the tensor bytes are read from the file at ggml's offsets.
 *
 *   version V / alignment A / data_offset D
 *   kv I KEY TYPE VALUE              (arrays: KEY arr TYPE N [V,...])
 *   tensor I NAME type=ID(NAME) ne=A,B,C,D offset=O size=S fnv=H */
#define _DEFAULT_SOURCE
#define _FILE_OFFSET_BITS 64
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "gguf.h"

static void
quiet(enum ggml_log_level level, const char *text, void *user)
{
	(void)level;
	(void)text;
	(void)user;
}

static void
print_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_elem(enum gguf_type t, const void *p)
{
	switch (t) {
	case GGUF_TYPE_UINT8: printf("%u", *(const uint8_t *)p); break;
	case GGUF_TYPE_INT8: printf("%d", *(const int8_t *)p); break;
	case GGUF_TYPE_UINT16: printf("%u", *(const uint16_t *)p); break;
	case GGUF_TYPE_INT16: printf("%d", *(const int16_t *)p); break;
	case GGUF_TYPE_UINT32: printf("%" PRIu32, *(const uint32_t *)p); break;
	case GGUF_TYPE_INT32: printf("%" PRId32, *(const int32_t *)p); break;
	case GGUF_TYPE_FLOAT32: printf("%.9g", (double)*(const float *)p); break;
	case GGUF_TYPE_BOOL: printf("%s", *(const int8_t *)p ? "true" : "false"); break;
	case GGUF_TYPE_UINT64: printf("%" PRIu64, *(const uint64_t *)p); break;
	case GGUF_TYPE_INT64: printf("%" PRId64, *(const int64_t *)p); break;
	case GGUF_TYPE_FLOAT64: printf("%.17g", *(const double *)p); break;
	default: printf("?"); break;
	}
}

static size_t
elem_size(enum gguf_type t)
{
	switch (t) {
	case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
	case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
	case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
	default: return 8;
	}
}

static uint64_t
fnv(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(1469598103934665603);

	while (n--)
		h = (h ^ *p++) * UINT64_C(1099511628211);
	return h;
}

static int meta_only;

/* The tensor's bytes as ggml holds them, or read from the file at ggml's
 * offsets (-m); NULL if the file is too short. */
static const unsigned char *
tensor_bytes(struct ggml_context *ctx, struct gguf_context *g, int64_t i, const char *path,
    unsigned char **owned)
{
	size_t n = gguf_get_tensor_size(g, i);
	FILE *f;

	*owned = NULL;
	if (n == 0)
		return (const unsigned char *)"";
	if (!meta_only)
		return ggml_get_tensor(ctx, gguf_get_tensor_name(g, i))->data;
	if ((*owned = malloc(n + 1)) == NULL || (f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseeko(f, (off_t)(gguf_get_data_offset(g) + gguf_get_tensor_offset(g, i)), SEEK_SET) != 0 ||
	    fread(*owned, 1, n, f) != n) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return *owned;
}

static void
dump(const char *path)
{
	struct ggml_context *ctx = NULL;
	struct gguf_init_params params = { meta_only, &ctx };
	struct gguf_context *g = gguf_init_from_file(path, params);

	printf("file %s\n", path);
	if (g == NULL) {
		printf("refused\n");
		return;
	}
	printf("version %u\nalignment %zu\ndata_offset %zu\n", gguf_get_version(g),
	    gguf_get_alignment(g), gguf_get_data_offset(g));
	for (int64_t i = 0; i < gguf_get_n_kv(g); i++) {
		enum gguf_type t = gguf_get_kv_type(g, i);

		printf("kv %" PRId64 " ", i);
		print_str(gguf_get_key(g, i));
		if (t == GGUF_TYPE_ARRAY) {
			enum gguf_type et = gguf_get_arr_type(g, i);
			size_t n = gguf_get_arr_n(g, i);

			printf(" arr %s %zu [", gguf_type_name(et), n);
			for (size_t j = 0; j < n; j++) {
				if (j)
					putchar(',');
				if (et == GGUF_TYPE_STRING)
					print_str(gguf_get_arr_str(g, i, j));
				else
					print_elem(et, (const char *)gguf_get_arr_data(g, i) + j * elem_size(et));
			}
			printf("]\n");
		} else {
			printf(" %s ", gguf_type_name(t));
			if (t == GGUF_TYPE_STRING)
				print_str(gguf_get_val_str(g, i));
			else
				print_elem(t, gguf_get_val_data(g, i));
			putchar('\n');
		}
	}
	for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
		const char *name = gguf_get_tensor_name(g, i);
		const int64_t *ne = gguf_get_tensor_ne(g, i);
		enum ggml_type t = gguf_get_tensor_type(g, i);
		unsigned char *owned;
		const unsigned char *bytes = tensor_bytes(ctx, g, i, path, &owned);
		char tn[32];
		size_t k;

		snprintf(tn, sizeof tn, "%s", ggml_type_name(t));
		for (k = 0; tn[k]; k++)
			tn[k] = (char)toupper((unsigned char)tn[k]);
		printf("tensor %" PRId64 " ", i);
		print_str(name);
		printf(" type=%d(%s) ne=%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
		    " offset=%zu size=%zu ", (int)t, tn, ne[0], ne[1], ne[2], ne[3],
		    gguf_get_tensor_offset(g, i), gguf_get_tensor_size(g, i));
		if (bytes)
			printf("fnv=%016" PRIx64 "\n", fnv(bytes, gguf_get_tensor_size(g, i)));
		else
			printf("fnv=outside-the-file\n");
		free(owned);
	}
	gguf_free(g);
	ggml_free(ctx);
}

int
main(int argc, char **argv)
{
	int i = 1;

	ggml_log_set(quiet, NULL);
	if (argc > 1 && strcmp(argv[1], "-m") == 0) {
		meta_only = 1;
		i++;
	}
	for (; i < argc; i++)
		dump(argv[i]);
	return fflush(stdout) != 0;
}
