/* Fuzz target: the safetensors reader and checker.  Anything st_parse
 * accepts must also pass st_check (but for schema-only remarks), convert to F32 without touching bytes
 * outside the file, and come out of the writer as a file st_parse accepts
 * again with the same tensors (the writer/reader round trip). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

/* Counts the problems that break a reader rule; unknown keys inside an
 * entry are the schema's concern only (the reader ignores them). */
static void
count_rule_problems(void *ctx, const char *msg)
{
	if (strstr(msg, "unknown key") == NULL)
		++*(size_t *)ctx;
}

static void
roundtrip(const struct st_file *f)
{
	struct st_writer *w = st_writer_new();
	struct st_file g;
	struct qerr e;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (w == NULL || (m = open_memstream(&buf, &len)) == NULL) {
		st_writer_free(w);
		return;
	}
	for (size_t i = 0; i < f->n_meta; i++)
		if (st_writer_meta(w, f->meta[i].key, f->meta[i].value, &e) < 0)
			goto out;	/* e.g. a key cJSON cut at an escaped NUL, seen twice */
	for (size_t i = 0; i < f->n_tensors; i++)
		if (st_writer_add(w, f->tensors[i].name, f->tensors[i].dtype, f->tensors[i].ndim,
		    f->tensors[i].shape, &e) < 0)
			goto out;
	st_writer_sort_reference(w);
	if (st_writer_header(w, m, &e) < 0)
		goto out;
	for (size_t i = 0; i < st_writer_count(w); i++) {
		const struct st_tensor *t = st_find(f, st_writer_name(w, i));

		if (st_writer_data(w, m, t->data, (size_t)(t->end - t->begin), &e) < 0)
			abort();
	}
	if (st_writer_finish(w, &e) < 0)
		abort();
	fflush(m);
	if (st_parse(&g, (const unsigned char *)buf, len, "again", &e) < 0)
		abort();	/* we wrote something we refuse to read */
	if (g.n_tensors != f->n_tensors)
		abort();
	st_close(&g);
out:
	fclose(m);
	free(buf);
	st_writer_free(w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_file f;
	struct qerr e;
	size_t problems = 0;

	st_check(data, size, count_rule_problems, &problems);

	if (st_parse(&f, data, size, "fuzz", &e) < 0)
		return 0;
	if (problems)
		abort();	/* the strict checker refuses what the reader took */
	for (size_t i = 0; i < f.n_tensors; i++) {
		const struct st_tensor *t = &f.tensors[i];
		float v[64];
		size_t n = t->nelem < 64 ? (size_t)t->nelem : 64;

		if (qdtype_table[t->dtype].bits % 8 == 0 || n % 2 == 0)
			qdtype_to_f32(t->dtype, t->data, v, n);
	}
	roundtrip(&f);
	st_close(&f);
	return 0;
}
