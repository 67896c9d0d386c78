/* What the unit tests of qcalib's library (test_qcal, test_qblock) share:
 * a seeded random source, qparams/safetensors files built in memory, and
 * packed parts read back as a checkpoint.
 * Linked into those tests by mk/qpfiles.mk. */
#ifndef QPFILES_H
#define QPFILES_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "layout.h"
#include "qparams.h"

/* A linear congruential source: t_seed() once in main, before any test. */
void t_seed(uint32_t seed);
float t_frand(void);	/* uniform in [-1, 1) */
float t_gauss(void);	/* roughly normal, sd about 1.0 (sum of 6 uniforms) */

/* A "w.weight" entry [rows, cols] in block format f's own scheme (a failed
 * CHECK and NULL if the entry cannot be added). */
struct qp_entry *block_entry(struct qparams *qp, enum qfmt f, uint64_t rows, uint64_t cols);

/* qparams_write() into a malloc'd buffer; NULL if it fails. */
unsigned char *mem_qparams(const struct qparams *qp, size_t *len);

/* A hand-built safetensors file: meta pairs (key, value), then tensors. */
struct tdef {
	const char *name;
	enum qdtype dt;
	int ndim;
	uint64_t shape[2];
	const void *data;
};
unsigned char *mem_file(const char *const *meta, int nmeta, const struct tdef *t, int nt, size_t *len);

/* A checkpoint of one packed module: its parts stand as PREFIX.SUFFIX. */
struct packed_ckpt {
	struct ql_packed *p;
	const char *prefix;
};
/* A ql_find_fn (libcommon/layout.h) over a struct packed_ckpt. */
int packed_find(void *ctx, const char *name, struct ql_tensor *t);

#endif
