/* ortrun: runs an ONNX model in onnxruntime, loaded at run time with
 * dlopen() (onnxruntime ships a shared library but no C header in the npm
 * package we test against, and qdq-insert must work without it).  Only what
 * calibration needs: a session from bytes in memory with graph optimizations
 * off, the declared inputs, and runs whose float outputs are handed to a
 * callback.  Errors come back in a qerr ("onnxruntime: ..."). */
#ifndef ORTRUN_H
#define ORTRUN_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

#define ORTRUN_MAX_RANK 8

/* A tensor crossing the boundary.  dtype is the ONNX data type (1 float,
 * 7 int64, ...).  dims[i] < 0: a symbolic or unknown dimension (inputs). */
struct ort_tensor {
	char *name;
	int dtype;
	int rank;
	int64_t dims[ORTRUN_MAX_RANK];
	void *data;		/* inputs: caller's; outputs: onnxruntime's, valid in the callback */
	size_t nelem;
};

struct ort_sess;

/* The library: lib, else $QUTILS_ONNXRUNTIME, else the soname
 * libonnxruntime.so.1.  ext_dir: where the model's external data files
 * are (NULL: it has none).  threads 0: onnxruntime's default. */
struct ort_sess *ort_open(const char *lib, const void *model, size_t len, const char *ext_dir,
    int threads, struct qerr *e);
const char *ort_version(const struct ort_sess *s);
/* The model's inputs (names, types, declared dims); owned by s. */
size_t ort_inputs(const struct ort_sess *s, const struct ort_tensor **in);
/* Runs once with in[0..nin) and calls each() for every output tensor of a
 * numeric type (others are skipped); each returns -1 to stop with its error. */
int ort_run(struct ort_sess *s, const struct ort_tensor *in, size_t nin,
    int (*each)(void *ctx, const struct ort_tensor *out, struct qerr *e), void *ctx,
    struct qerr *e);
void ort_close(struct ort_sess *s);

#endif
