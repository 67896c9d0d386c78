/* nnef: the pieces of an NNEF model that nnef-quant and st-inspect need
 * (spec/nnef.md): .dat tensor files (Khronos item types and tract's Q40),
 * graph.nnef parsed far enough to know every variable, its label, shape and
 * consumers, and graph.quant entries.
 *
 * Everything here parses hostile bytes: lengths are checked against the
 * buffer, counts against what the bytes can hold, and errors name the file
 * and the byte offset or line. */
#ifndef NNEF_H
#define NNEF_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

/* ---- .dat files ---- */

#define NNEF_DAT_HEADER 128
#define NNEF_MAX_RANK 8
#define NNEF_VENDOR_TRACT 0x5452
#define NNEF_CODE_Q40 0x3040		/* GGML nibble order (tract >= 0.21.11) */
#define NNEF_CODE_Q40_LEGACY 0x2040	/* sequential nibble order */
#define NNEF_CODE_Q81 0x3080
#define NNEF_Q40_BLOCK 32		/* tract's Q40 block is ggml's Q4_0 block */
#define NNEF_Q40_BLOCK_BYTES 18

/* What the item type means, after code, vendor and bits are checked. */
enum nnef_item {
	NNEF_FLOAT, NNEF_UINT, NNEF_QUINT, NNEF_QINT, NNEF_INT, NNEF_BOOL,
	NNEF_Q40, NNEF_Q40_LEGACY, NNEF_Q81, NNEF_ITEM_COUNT
};

struct nnef_dat {
	uint32_t data_len, rank, bits;
	uint32_t extents[NNEF_MAX_RANK];
	uint16_t code, vendor;
	enum nnef_item item;
	uint64_t nitems;		/* product of extents (1 for rank 0) */
	const unsigned char *payload;	/* data_len bytes after the header */
};

const char *nnef_item_name(enum nnef_item it, uint32_t bits);	/* "f32", "q40", ... */

/* Validates a whole .dat file held in buf. */
int nnef_dat_parse(struct nnef_dat *d, const unsigned char *buf, size_t len,
    const char *name, struct qerr *e);
/* Fills a 128-byte header (reserved bytes zero). */
void nnef_dat_header(unsigned char hdr[NNEF_DAT_HEADER], uint16_t code, uint16_t vendor,
    uint32_t bits, uint32_t rank, const uint32_t *extents, uint32_t data_len);
/* Values as F32 (floats, integers, bools, Q40 either order); -1 if the
 * item type has no float reading (Q81). */
int nnef_dat_to_f32(const struct nnef_dat *d, float *out);

/* Q40 blocks of 32 row-major weights.  legacy: sequential nibbles. */
void nnef_q40_decode(const unsigned char *blocks, size_t nblocks, float *out, int legacy);
/* Packs codes q[32] (0..15) and the half-precision scale d. */
void nnef_q40_pack(unsigned char *block, uint16_t d, const uint8_t *q, int legacy);
/* torch_to_nnef's min-max rule (spec/nnef.md §5): d = f16(-absmax/8),
 * id = f16(1/d), q = clamp(floor(x*id + 8.5), 0, 15). */
void nnef_q40_quantize_minmax(const float *x, size_t nblocks, unsigned char *out, int legacy);
/* Same codes rule with a search over shrunk ranges, keeping per block the
 * scale with the least squared error (never worse than min-max). */
void nnef_q40_quantize_mse(const float *x, size_t nblocks, unsigned char *out, int legacy);
/* With a given per-block scale (f32, rounded to f16 for storage). */
void nnef_q40_quantize_scaled(const float *x, size_t nblocks, const float *scale,
    unsigned char *out, int legacy);

/* ---- graph.nnef ---- */

/* One argument of an operation: a plain identifier (ident != NULL) or any
 * other expression (literal, array, ...), kept as text. */
struct nnef_arg {
	char *name;			/* named argument, or NULL if positional */
	char *ident;			/* the identifier it refers to, or NULL */
	size_t begin, end;		/* its text in the file */
};

struct nnef_stmt {
	char **lhs;			/* assigned identifiers */
	size_t n_lhs;
	char *op;			/* operation name */
	char *type_param;		/* "scalar" in variable<scalar>, or NULL */
	size_t op_begin, op_end;	/* "variable<scalar>" span, type included */
	size_t args_end;		/* offset of the closing ')' */
	size_t lhs_begin, lhs_end;	/* the left-hand side's text */
	size_t end;			/* just after the ';' */
	size_t line;
	struct nnef_arg *args;
	size_t n_args;
};

/* A variable declaration with its label and shape. */
struct nnef_var {
	size_t stmt;			/* index in stmts */
	char *label;
	uint32_t rank;
	uint64_t shape[NNEF_MAX_RANK];
};

struct nnef_graph {
	char *text;			/* a NUL-terminated copy of graph.nnef */
	size_t len;
	char *name;			/* graph name */
	char **inputs, **outputs;	/* the graph header's identifiers */
	size_t n_inputs, n_outputs;
	struct nnef_stmt *stmts;
	size_t n_stmts;
	struct nnef_var *vars;
	size_t n_vars;
};

int nnef_graph_parse(struct nnef_graph *g, const char *text, size_t len,
    const char *name, struct qerr *e);
void nnef_graph_free(struct nnef_graph *g);
/* The statement that assigns identifier id, or -1. */
long nnef_graph_producer(const struct nnef_graph *g, const char *id);
/* Consumers of identifier id, looking through pure shape ops (unsqueeze,
 * reshape, squeeze, transpose is NOT pure for Q40): each consumer is a
 * statement index and the position of the argument that carries id.
 * Returns the count (at most max). */
size_t nnef_graph_consumers(const struct nnef_graph *g, const char *id,
    size_t *stmt, size_t *argpos, size_t max);

/* ---- graph.quant ---- */

struct nnef_qentry {
	char *tensor;			/* the graph tensor it types */
	char *op;			/* zero_point_linear_quantize or linear_quantize */
	int64_t zero_point, bits;
	double scale, min, max;
	int is_signed, symmetric;
	int has_zero_point, has_scale, has_bits, has_signed, has_min, has_max;
};

struct nnef_quant {
	struct nnef_qentry *entries;
	size_t n;
};

/* Parses graph.quant as tract does (only zero_point_linear_quantize and
 * linear_quantize; keys plain identifiers or i"..." escapes). */
int nnef_quant_parse(struct nnef_quant *q, const char *text, size_t len,
    const char *name, struct qerr *e);
void nnef_quant_free(struct nnef_quant *q);
/* One line in torch_to_nnef's form (17 significant digits for the scale). */
int nnef_quant_format(const struct nnef_qentry *q, char *buf, size_t size);

#endif
