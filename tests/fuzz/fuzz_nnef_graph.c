/* Fuzz target: graph.nnef and graph.quant text.  The first byte chooses. */
#include <stdint.h>
#include <stdio.h>

#include "nnef.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nnef_graph g;
	struct nnef_quant q;
	struct qerr e;
	size_t cs[8], ca[8];
	char line[512];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (nnef_quant_parse(&q, (const char *)data + 1, size - 1, "graph.quant", &e) == 0) {
			for (size_t i = 0; i < q.n; i++)
				nnef_quant_format(&q.entries[i], line, sizeof line);
			nnef_quant_free(&q);
		}
		return 0;
	}
	if (nnef_graph_parse(&g, (const char *)data + 1, size - 1, "graph.nnef", &e) == 0) {
		for (size_t i = 0; i < g.n_vars; i++) {
			const struct nnef_stmt *st = &g.stmts[g.vars[i].stmt];

			if (st->n_lhs)
				nnef_graph_consumers(&g, st->lhs[0], cs, ca, 8);
		}
		nnef_graph_free(&g);
	}
	return 0;
}
