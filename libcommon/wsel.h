/* wsel: which tensors of a checkpoint get quantized, shared by qcalib and
 * qpack so that a qparams file and a packed checkpoint agree.
 *
 * A tensor is a candidate when its name ends in ".weight", it is floating
 * point (F32, F16, BF16) and has rank >= min_rank.  Candidates whose name
 * contains a default exclusion (lm_head, embed, wte, wpe, norm, ln_,
 * router, or a MoE router named *.mlp.gate.weight) are
 * left alone, as the peers do.  --include PATTERN wins over every
 * exclusion, --exclude PATTERN removes more.  A PATTERN with a glob
 * character (*?[) is matched with fnmatch against the tensor name and its
 * module name (the name without ".weight"); a plain word matches as a
 * substring, like transformers' modules_to_not_convert. */
#ifndef WSEL_H
#define WSEL_H

#include <stddef.h>

#include "qerr.h"
#include "safetensors.h"

#define WSEL_MAX 64

struct wsel {
	const char *include[WSEL_MAX];
	size_t n_include;
	const char *exclude[WSEL_MAX];
	size_t n_exclude;
	int min_rank;		/* 2 for Linear weights */
	int max_rank;		/* 0: any */
};

/* 1: quantize it, 0: leave it. */
int wsel_pick(const struct wsel *w, const char *name, enum qdtype dt, int ndim);
/* 1 if name is excluded by default or by --exclude (ignoring dtype/rank). */
int wsel_excluded(const struct wsel *w, const char *name);
int wsel_add(const char **list, size_t *n, const char *pattern);	/* -1 when full */

/* The tensor's elements as F32 (malloc'ed); -1 for a dtype without a
 * conversion. */
int wsel_load_f32(const struct st_tensor *t, float **out, struct qerr *e);

/* Done with a tensor's bytes: let the kernel drop their pages, so that a
 * mapped checkpoint does not pile up in the resident set. */
void wsel_release(const struct st_file *f, const struct st_tensor *t);

#endif
