/* qdq-insert: private declarations shared by its files. */
#ifndef QDQ_INSERT_H
#define QDQ_INSERT_H

#include <stddef.h>
#include <stdint.h>

#include "mapfile.h"
#include "onnx.h"
#include "qerr.h"

struct cJSON;
struct qdq_run;		/* one run's state, made by main (qdq-insert.c) */

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

int qp_has(const struct qp *q, const char *name);
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
/* The ranges randcal_run measured, by tensor name (sorted once it ends). */
struct randcal_table {
	struct measured_range *range;	/* defined in randcal.c */
	size_t n;
	size_t hint;	/* where to look first: tensors come in the same order every sample */
};
uint32_t randcal_next(uint32_t *state);
int randcal_run(struct randcal_table *t, struct onnx_model *m, const struct randcal_opts *o,
    struct qerr *e);
int randcal_range(const struct randcal_table *t, const char *name, float *lo, float *hi);
void randcal_free(struct randcal_opts *o, struct randcal_table *t);

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
/* The activations a --capture-model dry run of --static looked up. */
struct capture_list {
	char **name;
	size_t n;
};
void capture_note(struct capture_list *l, const char *name);
void capture_write(struct capture_list *l, const char *model_path, const char *out, int all,
    int quiet);
int any_external(const struct Onnx__GraphProto *g);
size_t expose_outputs(struct Onnx__GraphProto *g, char *const *want, size_t nwant);

/* halfw.c: FLOAT16 / BFLOAT16 weights (the type rules are there). */
int half_is_weight_type(int dt);
const char *half_name(int dt);
int half_scale_type(int weight_dt, int64_t opset);
void half_round_scales(int dt, float *s, int64_t n);
int half_store(int dt, const float *f, int64_t n, void *out, int64_t *bad);
size_t half_size(int dt);

/* static.c: activation pairs from the op rule table.  One entry per node
 * whose weight qdq-insert converted; static_ok when that weight is
 * per-channel int8/uint8 (then wscale has nscale per-channel scales, for
 * an int32 bias at input bias_idx, -1 for none). */
struct static_wop {
	const Onnx__NodeProto *node;
	int static_ok;
	const float *wscale;
	int64_t nscale;
	int bias_idx;
};
size_t static_apply(struct qdq_run *run, Onnx__GraphProto *root, const struct static_wop *wops,
    size_t nwops, int act_signed, size_t *nfolded, size_t *nconst);

/* qdq-insert.c, for static.c */
char *fresh(struct qdq_run *run, const char *base, const char *suffix);
void add_init(struct qdq_run *run, Onnx__GraphProto *g, Onnx__TensorProto *t);
int act_range(struct qdq_run *run, const char *x, float *lo, float *hi);
void remove_node(Onnx__GraphProto *g, Onnx__NodeProto *n);
const Onnx__TensorProto *graph_constant(Onnx__GraphProto *g, const char *name,
    Onnx__NodeProto **constant);
float *const_f32(struct qdq_run *run, const Onnx__TensorProto *t, uint64_t *n);
int const_scalar(struct qdq_run *run, const char *name, float *v);

#endif
