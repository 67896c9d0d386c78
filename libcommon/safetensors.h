/* safetensors: read and write the safetensors format.
 *
 * Reader: maps the file and validates every rule of the reference reader
 * (spec/safetensors-and-hf-layouts.md §1.3) before returning: 8-byte length,
 * header <= 100 MB, UTF-8 JSON object, known dtype strings, shape x width
 * equal to the offset span (overflow-checked), offsets contiguous from 0
 * with no gap or overlap, buffer fully covered, duplicate names rejected,
 * __metadata__ string-to-string.  Only the header is read; tensor bytes are
 * touched when the caller touches them.
 *
 * Writer: streaming.  Plan the tensor list, write the header, then each
 * tensor's bytes in plan order.  The header is padded with spaces to a
 * multiple of 8; st_writer_sort_reference orders tensors as the reference
 * writer does (dtype alignment descending, then name).
 *
 * Numbers in the header must be JSON integers (no fraction, exponent or
 * sign) no larger than 2^53, since cJSON keeps doubles; that is far above
 * the 48-bit sizes the format documents. */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include "dtype.h"
#include "mapfile.h"
#include "qerr.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000ULL

struct st_tensor {
	char *name;
	enum qdtype dtype;
	int ndim;
	uint64_t shape[ST_MAX_DIMS];
	uint64_t nelem;
	uint64_t begin, end;		/* data_offsets, relative to the data section */
	const unsigned char *data;	/* begin's address in the mapped file */
};

struct st_kv {
	char *key, *value;
};

struct st_file {
	char *path;
	struct qmap map;
	uint64_t header_len;		/* N, padding included */
	uint64_t data_start;		/* 8 + N */
	struct st_tensor *tensors;	/* in header (JSON) order */
	size_t n_tensors;
	struct st_kv *meta;		/* __metadata__, in header order */
	size_t n_meta;
	uint64_t data_len;		/* bytes of the data section the tensors cover */
};

/* Maps and validates path ("-" = standard input).  Errors: "path: what". */
int st_open(struct st_file *f, const char *path, struct qerr *e);
/* Validates bytes already in memory (the fuzz target's entry); buf must
 * outlive f.  name is used in messages. */
int st_parse(struct st_file *f, const unsigned char *buf, size_t len,
    const char *name, struct qerr *e);
void st_close(struct st_file *f);

/* A stream (a pipe): reads the length and the header from fd and
 * validates them; the tensors' data pointers stay NULL and the caller reads
 * the data section (data_len bytes, tensors in begin order) itself, then
 * checks that the stream ends there.  Memory: the header only. */
int st_read_header(struct st_file *f, int fd, const char *name, struct qerr *e);

/* Strict validation that does not stop at the first problem: cb is called
 * once per problem found (message "where: what", without the file name),
 * in file order as far as possible.  Beyond the reader's rules it also
 * reports what the published schema forbids but readers tolerate (unknown
 * keys inside a tensor entry).  Returns the number of problems. */
typedef void (*st_problem_fn)(void *ctx, const char *msg);
size_t st_check(const unsigned char *buf, size_t len, st_problem_fn cb, void *ctx);

/* Bytes of n elements of t; -1 when n * bits overflows or is not a whole
 * number of bytes (F4 / F6 with an odd count). */
int st_nbytes(enum qdtype t, uint64_t nelem, uint64_t *nbytes);

const struct st_tensor *st_find(const struct st_file *f, const char *name);
const char *st_meta_get(const struct st_file *f, const char *key);

/* Streaming writer. */
struct st_writer;

struct st_writer *st_writer_new(void);
void st_writer_free(struct st_writer *w);
/* __metadata__ entries in the order given, except "format" which is always
 * written first (transformers expects {"format":"pt"}). */
int st_writer_meta(struct st_writer *w, const char *key, const char *value, struct qerr *e);
int st_writer_add(struct st_writer *w, const char *name, enum qdtype dt, int ndim,
    const uint64_t *shape, struct qerr *e);
void st_writer_sort_reference(struct st_writer *w);
size_t st_writer_count(const struct st_writer *w);
const char *st_writer_name(const struct st_writer *w, size_t i);	/* in plan order */
uint64_t st_writer_nbytes(const struct st_writer *w, size_t i);
/* Header; then st_writer_data for tensors 0, 1, ... in plan order (a tensor's
 * bytes may come in several calls); st_writer_finish checks all arrived. */
int st_writer_header(struct st_writer *w, FILE *out, struct qerr *e);
int st_writer_data(struct st_writer *w, FILE *out, const void *data, size_t len, struct qerr *e);
int st_writer_finish(struct st_writer *w, struct qerr *e);

#endif
