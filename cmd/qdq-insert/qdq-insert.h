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

/* randcal.c: activation ranges measured by onnxruntime on random inputs
 * (--random-calib), and the capture model (--capture-model). */
struct onnx_model;
struct Onnx__GraphProto;
struct randcal_opts {
	long n;			/* samples */
	uint32_t seed;
	int normal;		/* normal instead of uniform [0, 1) */
	const char *ort_lib;	/* NULL: $QUTILS_ONNXRUNTIME or the soname */
	int threads;
	struct input_shape {	/* --input-shape NAME=D,D,...: for symbolic dims */
		const char *name;
		int rank;
		int64_t dims[8];
	} *shapes;
	size_t nshapes;
};
uint32_t randcal_next(uint32_t *state);
int randcal_run(struct onnx_model *m, const struct randcal_opts *o, struct qerr *e);
int randcal_range(const char *name, float *lo, float *hi);
void randcal_free(struct randcal_opts *o);

/* Their options: getopt_long codes and entries (needs <getopt.h>). */
enum { OPT_RANDOM = 1000, OPT_SEED, OPT_DIST, OPT_ORTLIB, OPT_CAPTURE, OPT_CAPTURE_ALL, OPT_SHAPE };
#define RANDCAL_LONGOPTS \
	{"random-calib", required_argument, NULL, OPT_RANDOM}, \
	{"seed", required_argument, NULL, OPT_SEED}, \
	{"random-dist", required_argument, NULL, OPT_DIST}, \
	{"ort-lib", required_argument, NULL, OPT_ORTLIB}, \
	{"capture-model", no_argument, NULL, OPT_CAPTURE}, \
	{"capture-all", no_argument, NULL, OPT_CAPTURE_ALL}, \
	{"input-shape", required_argument, NULL, OPT_SHAPE}
void randcal_option(int c, const char *arg, struct randcal_opts *o, int *capture,
    int *capture_all);
void capture_note(const char *name);
void capture_write(const char *model_path, const char *out, int all, int quiet);
int any_external(const struct Onnx__GraphProto *g);
size_t expose_outputs(struct Onnx__GraphProto *g, char *const *want, size_t nwant);

#endif
