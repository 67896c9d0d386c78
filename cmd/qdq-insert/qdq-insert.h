/* qdq-insert: private declarations shared by its files. */
#ifndef QDQ_INSERT_H
#define QDQ_INSERT_H

#include <stddef.h>
#include <stdint.h>

#include "mapfile.h"
#include "qerr.h"

struct cJSON;

struct qp {
	struct qmap map;
	struct cJSON *hdr;
	const unsigned char *data;
	uint64_t data_len;
};

int qp_open(struct qp *q, const char *path, struct qerr *e);
void qp_close(struct qp *q);
const void *qp_get(const struct qp *q, const char *name, const char *dtype, int64_t *shape,
    int *rank, int64_t *n);

const char *qp_meta(const struct qp *q, const char *key);
int qp_plan(const struct qp *q, const char *weight, char *format, size_t fsz, long *block);

/* halfw.c: FLOAT16 / BFLOAT16 weights (the type rules are there). */
int half_is_weight_type(int dt);
const char *half_name(int dt);
int half_scale_type(int weight_dt, int64_t opset);
void half_round_scales(int dt, float *s, int64_t n);
int half_store(int dt, const float *f, int64_t n, void *out, int64_t *bad);
size_t half_size(int dt);

#endif
