/* nnef-quant: shared between main.c (options, input, output), q40.c and
 * q8.c (what each format changes).  A plan is a list of edits to the graph
 * text, the .dat files that get new bytes, and graph.quant lines to add. */
#ifndef NNEF_QUANT_H
#define NNEF_QUANT_H

#include <stddef.h>

#include "nnef.h"
#include "nnef_archive.h"
#include "qparams.h"

enum method { M_MINMAX, M_MSE };

struct opts {
	const char *input, *output, *qparams_path;
	int q8;				/* -f q8, else q40 */
	enum method method;
	int legacy, verbose, quiet, jobs;
	const char *include[32], *exclude[32];
	int n_include, n_exclude;
};

struct model_in {
	struct nnef_model m;
	struct nnef_graph g;
	struct nnef_quant gq;
	struct qparams qp;		/* empty without -p */
};

struct edit {
	size_t at, cut;
	char *ins;
};

struct newfile {
	char *path;			/* replaced (or new) .dat */
	unsigned char *data;
	size_t len;
};

struct plan {
	struct edit *ed;
	size_t n_ed, cap_ed;
	struct newfile *files;
	size_t n_files, cap_files;
	char *quant;			/* graph.quant lines to append */
	size_t quant_len;
	size_t n_quantized;
};

void plan_edit(struct plan *p, size_t at, size_t cut, const char *ins);
void plan_file(struct plan *p, const char *path, unsigned char *data, size_t len);
void plan_quant(struct plan *p, const char *line);
char *plan_apply(const struct plan *p, const char *text, size_t len, size_t *out_len);
void plan_free(struct plan *p);

/* Helpers over the parsed model. */
int label_selected(const struct opts *o, const char *label);
const struct nnef_var *var_of(const struct nnef_graph *g, const char *ident);
/* Parses a variable's .dat and checks it against the declaration (dies). */
void load_var(const struct opts *o, const struct model_in *in, const struct nnef_var *v,
    struct nnef_dat *d, const struct nnef_entry **entry);
int has_quant_entry(const struct nnef_quant *gq, const char *tensor);
/* Text of a named argument, or NULL. */
const struct nnef_arg *find_arg(const struct nnef_stmt *st, const char *name);
int arg_text_is(const struct nnef_graph *g, const struct nnef_arg *a, const char *text);

void plan_q40(const struct opts *o, const struct model_in *in, struct plan *p);
void plan_q8(const struct opts *o, const struct model_in *in, struct plan *p);

#endif
