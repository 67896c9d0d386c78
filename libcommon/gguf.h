/* gguf: read and write GGUF v3 (spec/gguf.md §1).
 *
 * Reader: maps the file and validates it the way ggml does: magic, version 3
 * (2 accepted), non-negative counts within limits, strings and arrays inside
 * the file, known value types, no nested arrays, unique non-empty keys,
 * general.alignment a u32 power of two, tensor names unique and < 64 bytes,
 * 0..4 dims (ggml accepts 0: a scalar), known types, ne[0] a multiple of the
 * block size, sizes overflow-checked, offsets exactly the running padded
 * sum, each tensor's bytes inside the file (the padding after the last one
 * may be missing, as llama.cpp's loader allows).  A BOOL byte other than 0
 * reads as 1, as in ggml.  Stricter than ggml in two corners: a key with a
 * NUL byte, and a shape whose element count overflows (ggml's guard wraps
 * and lets it through with size 0).  Errors are "file: byte N: what".  KVs
 * are copied out; tensor data points into the map.
 *
 * Writer: streaming.  Set KVs and add tensor infos (sizes follow from type
 * and shape), write the header, then each tensor's bytes in order; padding
 * (zeros) is written for you, also after the header of a tensor-less file
 * and after the last tensor, as ggml does.  The alignment is
 * general.alignment when set (only a u32 power of two is accepted for that
 * key), else 32.  n_dims is written as ggml's writer does: trailing 1s
 * dropped, at least 1.  Little-endian only. */
#ifndef GGUF_H
#define GGUF_H

#include <stdint.h>
#include <stdio.h>

#include "mapfile.h"
#include "qerr.h"

enum gguf_vtype {
	GGUF_T_UINT8, GGUF_T_INT8, GGUF_T_UINT16, GGUF_T_INT16, GGUF_T_UINT32,
	GGUF_T_INT32, GGUF_T_FLOAT32, GGUF_T_BOOL, GGUF_T_STRING, GGUF_T_ARRAY,
	GGUF_T_UINT64, GGUF_T_INT64, GGUF_T_FLOAT64, GGUF_T_COUNT
};

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_NAME 63

/* One key/value.  Scalars are arrays of one element: type is the element
 * type and is_array says whether it was an ARRAY on disk. */
struct gguf_kv {
	char *key;
	enum gguf_vtype type;		/* element type (never ARRAY) */
	int is_array;
	uint64_t n;			/* element count (1 for a scalar) */
	void *data;			/* n fixed-size elements, little-endian */
	char **str;			/* STRING: n strings (NUL-terminated copies) */
	uint64_t *str_len;		/* their byte lengths (may contain NULs) */
};

struct gguf_tensor {
	char *name;
	int n_dims;			/* as on disk (reader: 0..4) */
	uint64_t ne[4];			/* innermost first; unused dims are 1 */
	uint32_t type;			/* ggml type id */
	uint64_t offset;		/* relative to the data section */
	uint64_t nbytes;
	const unsigned char *data;	/* in the map (reader only) */
};

struct gguf_file {
	char *path;
	struct qmap map;
	uint32_t version, alignment;
	struct gguf_kv *kvs;
	size_t n_kvs;
	struct gguf_tensor *tensors;
	size_t n_tensors;
	uint64_t data_start;		/* file offset of the data section */
};

int gguf_open(struct gguf_file *g, const char *path, struct qerr *e);
int gguf_parse(struct gguf_file *g, const unsigned char *buf, size_t len,
    const char *name, struct qerr *e);
void gguf_close(struct gguf_file *g);

const struct gguf_kv *gguf_find_kv(const struct gguf_file *g, const char *key);
const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *g, const char *name);
/* Typed reads of a scalar KV: any integer type for _int (range-checked),
 * FLOAT32/FLOAT64 for _float; -1 if absent or of another type. */
int gguf_kv_int(const struct gguf_kv *kv, int64_t *out);
int gguf_kv_float(const struct gguf_kv *kv, double *out);
const char *gguf_kv_str(const struct gguf_kv *kv);	/* STRING scalar or NULL */
const char *gguf_vtype_name(enum gguf_vtype t);		/* ggml's: "u32", "str" */
size_t gguf_vtype_size(enum gguf_vtype t);		/* 0 for STRING/ARRAY */

/* Writer.  KVs keep insertion order; setting an existing key replaces it in
 * place unless gguf_w_remove was called first (ggml's set appends; use
 * remove + set to reproduce that). */
struct gguf_writer;

struct gguf_writer *gguf_writer_new(void);
void gguf_writer_free(struct gguf_writer *w);
int gguf_w_set(struct gguf_writer *w, const char *key, enum gguf_vtype type,
    const void *value);			/* scalar, not STRING */
int gguf_w_set_str(struct gguf_writer *w, const char *key, const char *s);
int gguf_w_set_arr(struct gguf_writer *w, const char *key, enum gguf_vtype type,
    uint64_t n, const void *data);	/* fixed-size element type */
int gguf_w_set_arr_str(struct gguf_writer *w, const char *key, uint64_t n,
    const char *const *s, const uint64_t *len);	/* len may be NULL */
int gguf_w_copy_kv(struct gguf_writer *w, const struct gguf_kv *kv);
void gguf_w_remove(struct gguf_writer *w, const char *key);
/* Adds a tensor info; returns its index or -1 (bad name, shape, type). */
int gguf_w_add_tensor(struct gguf_writer *w, const char *name, uint32_t type,
    int n_dims, const uint64_t *ne, struct qerr *e);
uint64_t gguf_w_tensor_nbytes(const struct gguf_writer *w, size_t i);
uint64_t gguf_w_total_size(const struct gguf_writer *w);	/* the whole file */
/* File offset of tensor i's data once the header is written (0 before), for
 * writers that place it themselves (pwrite into a file of
 * gguf_w_total_size bytes, padding left zero); such a writer calls
 * gguf_w_write_header and not gguf_w_write_data/finish. */
uint64_t gguf_w_data_offset(const struct gguf_writer *w, size_t i);
int gguf_w_write_header(struct gguf_writer *w, FILE *out, struct qerr *e);
/* Bytes of tensors 0, 1, ... in order (several calls per tensor allowed). */
int gguf_w_write_data(struct gguf_writer *w, FILE *out, const void *data, size_t len,
    struct qerr *e);
int gguf_w_finish(struct gguf_writer *w, FILE *out, struct qerr *e);

#endif
