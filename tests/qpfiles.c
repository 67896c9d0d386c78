#define _GNU_SOURCE	/* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qblock.h"
#include "qerr.h"
#include "qpfiles.h"
#include "safetensors.h"

static uint32_t state;

void
t_seed(uint32_t seed)
{
	state = seed;
}

float
t_frand(void)
{
	state = state * 1664525u + 1013904223u;
	return (float)((state >> 8) * (1.0 / 8388608.0)) - 1.0f;
}

float
t_gauss(void)
{
	float s = 0;

	for (int i = 0; i < 6; i++)
		s += t_frand();
	return s * 0.7f;
}

struct qp_entry *
block_entry(struct qparams *qp, enum qfmt f, uint64_t rows, uint64_t cols)
{
	const struct qblock_info *b = qblock_info(f);
	struct qscheme s = { f, !b->has_min, QG_GROUP, 0, b->group, { 0, 0 } };
	uint64_t shape[2] = { rows, cols };
	struct qerr e;
	struct qp_entry *w = qparams_add(qp, "w.weight", &s, 2, shape, &e);

	CHECKF(w != NULL, "%s", e.msg);
	return w;
}

unsigned char *
mem_qparams(const struct qparams *qp, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct qerr e;
	int rc = qparams_write(qp, f, &e);

	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return (unsigned char *)buf;
}

unsigned char *
mem_file(const char *const *meta, int nmeta, const struct tdef *t, int nt, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct st_writer *w = st_writer_new();
	struct qerr e;

	for (int i = 0; i < nmeta; i++)
		st_writer_meta(w, meta[2 * i], meta[2 * i + 1], &e);
	for (int i = 0; i < nt; i++)
		st_writer_add(w, t[i].name, t[i].dt, t[i].ndim, t[i].shape, &e);
	st_writer_header(w, f, &e);
	for (int i = 0; i < nt; i++)
		st_writer_data(w, f, t[i].data, st_writer_nbytes(w, (size_t)i), &e);
	st_writer_finish(w, &e);
	st_writer_free(w);
	fclose(f);
	return (unsigned char *)buf;
}

int
packed_find(void *ctx, const char *name, struct ql_tensor *t)
{
	struct packed_ckpt *m = ctx;
	size_t n = strlen(m->prefix);

	if (strncmp(name, m->prefix, n) != 0 || name[n] != '.')
		return -1;
	for (int i = 0; i < m->p->n; i++)
		if (strcmp(name + n + 1, m->p->part[i].suffix) == 0) {
			t->dtype = m->p->part[i].dtype;
			t->ndim = m->p->part[i].ndim;
			t->shape[0] = m->p->part[i].shape[0];
			t->shape[1] = m->p->part[i].shape[1];
			t->data = m->p->part[i].data;
			return 0;
		}
	return -1;
}
