/* onnx: read, check and write ONNX models (protobuf-c, schema generated at
 * build time from Debian's onnx.proto, see mk/onnx.mk).
 *
 * What it promises:
 * - onnx_load treats the file as hostile: the protobuf is checked for
 *   nesting depth and truncation before it is unpacked, then every tensor
 *   (initializers, Constant values, at every subgraph level) is checked:
 *   dims, element count, raw_data or typed-field length, external data
 *   (relative location without "..", inside the file, length as the dims
 *   say).  Every node input must be defined earlier in its graph or in an
 *   enclosing one (a cycle or an unsorted graph is an error).
 * - Fields the 1.12 schema does not know are kept by protobuf-c and written
 *   back unchanged; so is every message nobody edited.
 * - External data is mapped, never read whole; a tensor's bytes are fetched
 *   one tensor at a time (onnx_tensor_bytes).
 * - onnx_save streams the message to a FILE; with an external-data writer
 *   large tensors (and all tensors that were external in the input) go to
 *   the data file at 4096-aligned offsets, so models over 2 GiB work. */
#ifndef ONNX_H
#define ONNX_H

#include <stdint.h>
#include <stdio.h>

#include "onnx/onnx.pb-c.h"
#include "mapfile.h"
#include "qerr.h"

/* TensorProto.DataType values (spec/onnx.md §1). */
enum onnx_dt {
	ONNX_UNDEFINED = 0, ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT8 = 3,
	ONNX_UINT16 = 4, ONNX_INT16 = 5, ONNX_INT32 = 6, ONNX_INT64 = 7,
	ONNX_STRING = 8, ONNX_BOOL = 9, ONNX_FLOAT16 = 10, ONNX_DOUBLE = 11,
	ONNX_UINT32 = 12, ONNX_UINT64 = 13, ONNX_COMPLEX64 = 14,
	ONNX_COMPLEX128 = 15, ONNX_BFLOAT16 = 16, ONNX_FLOAT8E4M3FN = 17,
	ONNX_FLOAT8E4M3FNUZ = 18, ONNX_FLOAT8E5M2 = 19, ONNX_FLOAT8E5M2FNUZ = 20,
	ONNX_UINT4 = 21, ONNX_INT4 = 22, ONNX_FLOAT4E2M1 = 23,
	ONNX_FLOAT8E8M0 = 24, ONNX_UINT2 = 25, ONNX_INT2 = 26, ONNX_DT_COUNT
};

/* Name ("FLOAT", "INT4", ...) and bits per element (0: string/unknown). */
const char *onnx_dt_name(int dt);
int onnx_dt_bits(int dt);

struct onnx_extfile {
	char *location;
	struct qmap map;
};

struct onnx_model {
	Onnx__ModelProto *proto;
	char *path;			/* as given ("-" for standard input) */
	char *dir;			/* folder external locations are relative to */
	struct onnx_extfile *ext;	/* external data files opened so far */
	size_t n_ext;
	uint64_t file_size;		/* bytes of the .onnx itself */
};

int onnx_load(struct onnx_model *m, const char *path, struct qerr *e);
/* Same checks on bytes in memory (external data relative to dir). */
int onnx_load_mem(struct onnx_model *m, const void *data, size_t len, const char *name,
    const char *dir, struct qerr *e);
void onnx_free(struct onnx_model *m);

/* Number of elements (product of dims), checked for overflow and negative
 * dims; -1 on error. */
int onnx_tensor_nelem(const Onnx__TensorProto *t, uint64_t *n, struct qerr *e);
int onnx_tensor_is_external(const Onnx__TensorProto *t);

/* The tensor's bytes in raw_data encoding (little-endian, sub-byte types
 * packed).  *owned is set when the bytes had to be built from a typed field
 * (free it); otherwise they point into raw_data or the mapped file. */
int onnx_tensor_bytes(struct onnx_model *m, const Onnx__TensorProto *t,
    const unsigned char **data, size_t *len, void **owned, struct qerr *e);
/* A float32 copy of a FLOAT, FLOAT16, BFLOAT16 or DOUBLE tensor (malloc). */
float *onnx_tensor_f32(struct onnx_model *m, const Onnx__TensorProto *t, uint64_t *n,
    struct qerr *e);

/* Drops the cached pages of an external tensor once it has been read, so
 * resident memory follows one tensor, not the model (no-op otherwise). */
void onnx_tensor_dontneed(struct onnx_model *m, const Onnx__TensorProto *t);

/* Building blocks for programs that edit a model.  Strings are copied;
 * every message is malloc'd so onnx__model_proto__free_unpacked frees it. */
Onnx__TensorProto *onnx_new_tensor(const char *name, int dt, const int64_t *dims, int ndims,
    const void *raw, size_t rawlen);
Onnx__NodeProto *onnx_new_node(const char *op, const char *domain, const char *name,
    const char *const *in, int nin, const char *const *out, int nout);
void onnx_node_add_int(Onnx__NodeProto *n, const char *name, int64_t v);
void onnx_node_add_float(Onnx__NodeProto *n, const char *name, float v);
const Onnx__AttributeProto *onnx_node_attr(const Onnx__NodeProto *n, const char *name);
int64_t onnx_node_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float onnx_node_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* Appends to a repeated field (aborts on out of memory, as malloc wrappers
 * here do: an edit half done is worse than a clean exit). */
void onnx_graph_add_node(Onnx__GraphProto *g, Onnx__NodeProto *n, size_t at);
void onnx_graph_add_initializer(Onnx__GraphProto *g, Onnx__TensorProto *t);
/* Removes (and frees) an initializer and a graph input of that name. */
void onnx_graph_remove_initializer(Onnx__GraphProto *g, const char *name);
void onnx_set_string(char **field, const char *s);
/* Default-domain ("" or "ai.onnx") opset, 0 if none; set or add one. */
int64_t onnx_opset(const Onnx__ModelProto *mp, const char *domain);
void onnx_set_opset(Onnx__ModelProto *mp, const char *domain, int64_t version);
/* Packed size of the model message as it stands. */
uint64_t onnx_packed_size(const Onnx__ModelProto *mp);

/* External data written beside an output model. */
struct onnx_extw {
	FILE *f;			/* the data file being written */
	char *location;			/* its name relative to the model */
	uint64_t off;
	uint64_t threshold;		/* inline tensors of at least this many bytes move out */
	const void **written;		/* tensors already placed (not copied again) */
	size_t n_written, cap_written;
};
void onnx_extw_init(struct onnx_extw *w, FILE *f, const char *location, uint64_t threshold);
void onnx_extw_free(struct onnx_extw *w);
/* Writes bytes for tensor t to the data file at the next 4096-aligned
 * offset and makes t refer to them (its raw_data is dropped). */
int onnx_extw_put(struct onnx_extw *w, Onnx__TensorProto *t, const void *bytes, size_t len,
    struct qerr *e);

/* Writes the model.  w NULL: everything inline (an input tensor stored
 * externally is an error, as is a message over 2 GiB).  Otherwise tensors
 * external in the input, and inline ones of w->threshold bytes or more, are
 * written to w. */
int onnx_save(struct onnx_model *m, FILE *out, struct onnx_extw *w, struct qerr *e);

#endif
