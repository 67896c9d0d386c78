/* st-inspect's view of a model file, whatever its format.
 *
 * A backend (safetensors.c, gguf.c, onnx.c, nnef.c, ...) opens a path into
 * this generic model: a format name, typed metadata, and a list of tensors
 * with their values reachable as F32.  main.c does the rest (table, JSON,
 * filters, --stats, --diff, --dump) on this model alone, so a new format is
 * one new file plus one line in backends.c.
 *
 * Filling a model: insp_add_meta / insp_add_tensor / insp_add_file copy
 * their strings; the backend keeps its own state in model->priv and frees
 * it in close(). */
#ifndef INSPECT_H
#define INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

#define INSP_MAX_DIMS 8

/* One metadata entry.  type is the format's own type name ("string",
 * "u32", "array[f32]", ...); text is the value for the table (short, one
 * line, arrays abbreviated); json is the value as a JSON text. */
struct insp_kv {
	char *key, *type, *text, *json;
};

/* Named groups of entries: "metadata" (the file's own), "quantization"
 * (config.json's quantization_config summary), ...; printed in order. */
struct insp_section {
	char *name;
	struct insp_kv *kv;
	size_t n, cap;
};

struct insp_tensor {
	char *name;
	char *dtype;		/* the format's spelling: "BF16", "Q4_K", ... */
	int ndim;
	uint64_t shape[INSP_MAX_DIMS];	/* outermost first, as safetensors and numpy */
	uint64_t nelem, nbytes;
	uint64_t data_offset;	/* from the start of the file's data section */
	size_t file;		/* index into model->files */
	void *priv;		/* the backend's handle on the tensor */
};

struct insp_backend;

struct insp_model {
	const struct insp_backend *be;
	char *path;
	char *format;		/* "safetensors", "gguf", ... */
	char **files;		/* the files it spans (shards); at least the path */
	size_t n_files;
	struct insp_section *sections;
	size_t n_sections;
	struct insp_tensor *tensors;
	size_t n_tensors, cap_tensors;
	int sequential;		/* a stream: tensors listed in data order, values
				 * readable only in that order (after prepare) */
	void *priv;
};

struct insp_backend {
	const char *name;
	/* How sure the backend is that it reads this path: 0 no, higher wins.
	 * head holds the file's first bytes (len may be short; 0 for folders);
	 * is_dir tells a folder. */
	int (*probe)(const char *path, int is_dir, const unsigned char *head, size_t len);
	int (*open)(struct insp_model *m, const char *path, struct qerr *e);
	/* count values of tensor t from element first, as F32.  Callers ask for
	 * chunks that start at a multiple of 256 elements (block formats). */
	int (*read_f32)(const struct insp_model *m, const struct insp_tensor *t,
	    uint64_t first, size_t count, float *dst, struct qerr *e);
	/* Optional: the values in place when they are stored as aligned
	 * little-endian F32 (no copy), else NULL and read_f32 is used. */
	const float *(*view_f32)(const struct insp_model *m, const struct insp_tensor *t,
	    uint64_t first, size_t count);
	/* The tensor's bytes as stored (may be NULL if the format cannot). */
	int (*raw)(const struct insp_model *m, const struct insp_tensor *t,
	    const unsigned char **bytes, struct qerr *e);
	/* Strict validation, every problem through cb; returns the count.  NULL:
	 * main.c opens the path and reports the open error, if any. */
	size_t (*check)(const char *path, void (*cb)(void *ctx, const char *msg), void *ctx);
	/* Optional, called (from one thread) before a tensor's values are
	 * read: a stream reads the tensor's bytes here, a mapped file may ask
	 * for read-ahead. */
	int (*prepare)(const struct insp_model *m, const struct insp_tensor *t, struct qerr *e);
	/* Optional, called once when the work is done: a stream reads to its
	 * end and checks that it ends where the header says. */
	int (*finish)(const struct insp_model *m, struct qerr *e);
	/* Drop cached pages of a tensor after reading it (may be NULL). */
	void (*done_with)(const struct insp_model *m, const struct insp_tensor *t);
	void (*close)(struct insp_model *m);
};

/* backends.c: the table main.c probes, NULL-terminated. */
extern const struct insp_backend *const insp_backends[];

/* Helpers for backends (inspect.c). */
struct insp_section *insp_section(struct insp_model *m, const char *name);
int insp_add_meta(struct insp_section *s, const char *key, const char *type,
    const char *text, const char *json);
/* Convenience: a string value (JSON-escaped for json). */
int insp_add_meta_str(struct insp_section *s, const char *key, const char *value);
struct insp_tensor *insp_add_tensor(struct insp_model *m, const char *name, const char *dtype,
    int ndim, const uint64_t *shape, uint64_t nbytes, uint64_t data_offset, size_t file);
int insp_add_file(struct insp_model *m, const char *path);
void insp_model_free(struct insp_model *m);	/* the generic parts */

/* JSON string escaping into a fresh string (caller frees). */
char *insp_json_string(const char *s);

#endif
