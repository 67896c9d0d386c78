/* Fuzz target: importance-matrix files, GGUF and legacy .dat. */
#include <stdint.h>
#include <stdlib.h>

#include "imatrix.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imatrix m;
	struct qerr e;
	volatile float sum = 0;

	if (imatrix_parse(&m, data, size, "fuzz", &e) != 0)
		return 0;
	for (size_t i = 0; i < m.n_entries; i++) {
		if (imatrix_find(&m, m.entries[i].name) == NULL)
			abort();
		for (uint64_t j = 0; j < m.entries[i].n; j++)
			sum += m.entries[i].values[j];
	}
	for (size_t i = 0; i < m.n_datasets; i++)
		sum += (float)m.datasets[i][0];
	imatrix_free(&m);
	return 0;
}
