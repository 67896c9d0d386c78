/* imatrix: llama.cpp importance-matrix files (spec/gguf.md §6).
 *
 * Both forms llama-quantize reads: the GGUF file llama-imatrix writes by
 * default (`<weight>.in_sum2` and `<weight>.counts` F32 tensors, imatrix.*
 * keys) and the legacy .dat file.  A file that starts with the GGUF magic is
 * read as GGUF (its errors are reported as such); anything else as .dat.
 *
 * Each entry's values are exactly what llama-quantize hands the quantizer
 * for that weight: per matrix (expert), in_sum2 / round(count) in float, or
 * all ones for a matrix with no tokens (GGUF); values / ncall, or the values
 * as stored when ncall <= 0 (.dat).  The vector for matrix k of a 3-D weight
 * is values[k * ne0 .. (k+1) * ne0).  Entries are sorted by name.
 *
 * Refused like llama.cpp refuses: no entries, a GGUF without its imatrix.*
 * keys (llama-quantize stops there) or without its padded data section,
 * unpaired or non-F32 sums/counts, a truncated .dat.  Refused where
 * llama.cpp would go on with garbage or crash: sums that do not split into
 * the counted matrices, non-finite counts, duplicate .dat entries, negative
 * lengths.  Checked against llama.cpp's loader by tests/interop. */
#ifndef IMATRIX_H
#define IMATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "qerr.h"

struct imatrix_entry {
	char *name;		/* the weight, e.g. "blk.0.ffn_down.weight" */
	uint64_t n;		/* values: ne0 * n_mat */
	uint64_t n_mat;		/* matrices (experts); 0 when the file does not say (.dat) */
	float *values;
};

struct imatrix {
	int is_legacy;		/* read from a .dat file */
	struct imatrix_entry *entries;
	size_t n_entries;
	char **datasets;	/* imatrix.datasets, or the .dat trailer's name */
	size_t n_datasets;
	int32_t chunk_count;	/* imatrix.chunk_count, or the .dat trailer (0: absent) */
	int32_t chunk_size;	/* imatrix.chunk_size (0 for .dat) */
};

int imatrix_load(struct imatrix *m, const char *path, struct qerr *e);
int imatrix_parse(struct imatrix *m, const unsigned char *buf, size_t len, const char *name,
    struct qerr *e);
void imatrix_free(struct imatrix *m);
const struct imatrix_entry *imatrix_find(const struct imatrix *m, const char *name);

/* The keys llama-quantize adds to its output when given an imatrix, with its
 * values (strings cut to 127 bytes, counts as u32, chunks_count only when
 * positive), each removed and appended so they end the KV list in its order.
 * n_used: the entries actually used (llama-quantize counts the entries left
 * after --include-weights/--exclude-weights). */
int imatrix_set_quantize_kvs(struct gguf_writer *w, const struct imatrix *m, const char *path,
    size_t n_used);

#endif
