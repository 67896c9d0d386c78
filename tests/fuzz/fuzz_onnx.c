/* Fuzz target for the ONNX reader: load (wire pre-scan, unpack, tensor and
 * graph checks), read every float initializer, and write the model back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "onnx.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct onnx_model m;
	struct qerr e;
	size_t i;
	FILE *devnull;

	/* external data resolves against the corpus folder: relative files
	 * there exist (valid-matmul.onnx), anything else must be refused */
	if (onnx_load_mem(&m, data, size, "fuzz", "tests/fuzz/corpus/fuzz_onnx", &e) < 0)
		return 0;
	for (i = 0; i < m.proto->graph->n_initializer; i++) {
		uint64_t n;
		float *f = onnx_tensor_f32(&m, m.proto->graph->initializer[i], &n, &e);

		free(f);
	}
	devnull = fopen("/dev/null", "wb");
	if (devnull) {
		(void)onnx_save(&m, devnull, NULL, &e);
		fclose(devnull);
	}
	onnx_free(&m);
	return 0;
}
