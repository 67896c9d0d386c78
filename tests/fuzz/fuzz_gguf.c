/* Fuzz target: the GGUF reader.  Whatever it accepts must be safe to walk
 * (every KV, every tensor byte) and must survive a copy through the writer:
 * the copy parses again with the same KVs and tensors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

static void
copy_through_writer(const struct gguf_file *g)
{
	struct gguf_writer *w = gguf_writer_new();
	struct gguf_file g2;
	struct qerr e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ok = 1;

	/* a huge general.alignment makes a legitimate but huge copy (padding to
	 * up to 2 GiB): not what this target is for */
	if (w == NULL || g->alignment > 4096) {
		gguf_writer_free(w);
		return;
	}
	for (size_t i = 0; i < g->n_kvs && ok; i++)
		ok = gguf_w_copy_kv(w, &g->kvs[i]) == 0;
	for (size_t i = 0; i < g->n_tensors && ok; i++) {
		const struct gguf_tensor *t = &g->tensors[i];

		/* empty or NUL-truncated names may collide: ggml would refuse those too */
		ok = gguf_w_add_tensor(w, t->name, t->type, t->n_dims ? t->n_dims : 1, t->ne, &e) >= 0;
	}
	if (ok && (f = open_memstream(&buf, &len)) != NULL) {
		int rc = gguf_w_write_header(w, f, &e);

		for (size_t i = 0; rc == 0 && i < g->n_tensors; i++)
			rc = gguf_w_write_data(w, f, g->tensors[i].data, g->tensors[i].nbytes, &e);
		if (rc == 0)
			rc = gguf_w_finish(w, f, &e);
		fclose(f);
		if (rc == 0) {
			if (gguf_parse(&g2, (unsigned char *)buf, len, "copy", &e) != 0)
				abort();	/* our writer made a file our reader refuses */
			if (g2.n_kvs != g->n_kvs || g2.n_tensors != g->n_tensors)
				abort();
			for (size_t i = 0; i < g->n_tensors; i++)
				if (g2.tensors[i].nbytes != g->tensors[i].nbytes ||
				    memcmp(g2.tensors[i].data, g->tensors[i].data, g->tensors[i].nbytes) != 0)
					abort();
			gguf_close(&g2);
		}
	}
	free(buf);
	gguf_writer_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gguf_file g;
	struct qerr e;
	volatile unsigned sum = 0;

	if (gguf_parse(&g, data, size, "fuzz", &e) != 0)
		return 0;
	for (size_t i = 0; i < g.n_kvs; i++) {
		const struct gguf_kv *kv = &g.kvs[i];

		if (kv->type == GGUF_T_STRING)
			for (uint64_t j = 0; j < kv->n; j++)
				sum += (unsigned)kv->str_len[j] + (unsigned char)kv->str[j][0];
		else
			for (uint64_t j = 0; j < kv->n * gguf_vtype_size(kv->type); j++)
				sum += ((unsigned char *)kv->data)[j];
	}
	for (size_t i = 0; i < g.n_tensors; i++)
		for (uint64_t j = 0; j < g.tensors[i].nbytes; j++)
			sum += g.tensors[i].data[j];
	/* The reader accepts any power-of-two alignment when there are no
	 * tensors (as ggml does: see odd_huge_alignment_no_tensors.gguf), and
	 * the writer then pads up to it, as ggml's does: hundreds of MiB into
	 * memory per input here, which is a hang to libFuzzer, not a bug. */
	if (g.n_tensors > 0 || g.alignment <= (1u << 20))
		copy_through_writer(&g);
	gguf_close(&g);
	return 0;
}
