/* Fuzz target: a tar / tar.gz model archive, then its graph and .dat files. */
#include <stdint.h>
#include <string.h>

#include "nnef.h"
#include "nnef_archive.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nnef_model m;
	struct nnef_graph g;
	struct nnef_dat d;
	struct qerr e;
	const struct nnef_entry *ge;

	if (nnef_model_open_mem(&m, data, size, "fuzz.tgz", &e) < 0)
		return 0;
	ge = nnef_model_find(&m, "graph.nnef");
	if (ge && nnef_graph_parse(&g, (const char *)ge->data, ge->size, "graph.nnef", &e) == 0)
		nnef_graph_free(&g);
	for (size_t i = 0; i < m.n; i++) {
		size_t n = strlen(m.entries[i].path);

		if (n > 4 && strcmp(m.entries[i].path + n - 4, ".dat") == 0)
			nnef_dat_parse(&d, m.entries[i].data, m.entries[i].size, m.entries[i].path, &e);
	}
	nnef_model_close(&m);
	return 0;
}
