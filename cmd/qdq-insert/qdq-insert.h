/* qdq-insert: private declarations shared by its files. */
#ifndef QDQ_INSERT_H
#define QDQ_INSERT_H

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

#endif
