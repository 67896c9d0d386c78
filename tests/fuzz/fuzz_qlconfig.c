/* Fuzz target: a quantized checkpoint as --dequant sees it.  Input: a
 * quantization_config JSON object, a blank line, then a safetensors file;
 * a config with several schemes is checked against the tensors, and every
 * packed module the config announces is unpacked. */
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
	const uint8_t *sep = NULL;
	struct ql_config c;
	struct st_file f;
	struct qerr e;
	cJSON *j;
	size_t jl;

	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == '\n' && data[i + 1] == '\n') {
			sep = data + i;
			break;
		}
	jl = sep ? (size_t)(sep - data) : size;
	if ((j = cJSON_ParseWithLength((const char *)data, jl)) == NULL)
		return 0;
	if (ql_config_parse(j, &c, &e) < 0) {
		cJSON_Delete(j);
		return 0;
	}
	if (sep && st_parse(&f, sep + 2, size - jl - 2, "fuzz", &e) == 0) {
		const char **names = calloc(f.n_tensors + 1, sizeof *names);

		for (size_t i = 0; names && i < f.n_tensors; i++)
			names[i] = f.tensors[i].name;
		if (names)
			ql_config_check(&c, names, f.n_tensors, st_lookup, &f, &e);
		free(names);
		for (size_t i = 0; i < f.n_tensors; i++) {
			size_t plen;
			char prefix[1024];
			float *x = NULL;
			int64_t r, k;

			if (!ql_is_marker(&c, f.tensors[i].name, f.tensors[i].dtype, &plen) ||
			    plen >= sizeof prefix)
				continue;
			memcpy(prefix, f.tensors[i].name, plen);
			prefix[plen] = 0;
			if (ql_unpack(&c, prefix, st_lookup, &f, &x, &r, &k, &e) == 0)
				free(x);
		}
		st_close(&f);
	}
	ql_config_free(&c);
	cJSON_Delete(j);
	return 0;
}
