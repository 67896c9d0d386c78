/* Fuzz target: a quantized checkpoint without a quantization_config, as
 * qpack --dequant sees it (a safetensors file): the layout is recognised
 * from its tensors (ql_detect), then every packed module is unpacked (and
 * turned into ggml blocks, as st2gguf does, where they fit), and gpt-oss
 * *_blocks / *_scales pairs too. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "safetensors.h"
#include "st_lookup.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ql_config c;
	struct ql_codes codes;
	struct st_file f;
	struct qerr e;
	const char **names;
	cJSON *j;

	if (st_parse(&f, data, size, "fuzz", &e) != 0)
		return 0;
	if ((names = calloc(f.n_tensors + 1, sizeof *names)) == NULL) {
		st_close(&f);
		return 0;
	}
	for (size_t i = 0; i < f.n_tensors; i++)
		names[i] = f.tensors[i].name;
	j = ql_detect(names, f.n_tensors, st_lookup, &f, &e);
	for (size_t i = 0; i < f.n_tensors; i++) {
		size_t plen, n = strlen(names[i]);
		char prefix[1024];
		float *x = NULL;
		int64_t r, k;
		uint64_t shape[3];

		if (n > 7 && n - 7 < sizeof prefix && strcmp(names[i] + n - 7, "_blocks") == 0) {
			memcpy(prefix, names[i], n - 7);
			prefix[n - 7] = 0;
			if (ql_gptoss_unpack(prefix, st_lookup, &f, &x, shape, 0, &e) == 0)
				free(x);
			continue;
		}
		if (j == NULL || ql_config_parse(j, &c, &e) != 0 ||
		    !ql_is_marker(&c, names[i], f.tensors[i].dtype, &plen) || plen >= sizeof prefix)
			continue;
		memcpy(prefix, names[i], plen);
		prefix[plen] = 0;
		if (ql_unpack(&c, prefix, st_lookup, &f, &x, &r, &k, &e) == 0)
			free(x);
		if (ql_unpack_codes(&c, prefix, st_lookup, &f, 1, &codes, &e) == 0) {
			int64_t inexact;
			int type = ql_ggml_type(&codes, &inexact, &e);

			if (type >= 0 && codes.rows <= 256) {
				uint64_t rows[256];
				unsigned char *b = malloc((size_t)codes.rows * (size_t)(codes.cols / 32) * 34);

				for (int64_t q = 0; q < codes.rows; q++)
					rows[q] = (uint64_t)(codes.rows - 1 - q);
				if (b)
					ql_ggml_blocks(&codes, type, rows, (uint64_t)codes.rows, b);
				free(b);
			}
			ql_codes_free(&codes);
		}
	}
	cJSON_Delete(j);
	free(names);
	st_close(&f);
	return 0;
}
