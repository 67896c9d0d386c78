/* smooth: where a Linear weight's input-channel factors s (AWQ,
 * SmoothQuant; qparams W.smooth) can go.
 *
 * A smoothed weight computes (x / s) (W diag(s))^T = x W^T, so the 1/s must
 * be folded into the op that produces x.  In a Hugging Face decoder layer
 * (llama, mistral, qwen2 and the like) those ops are, as AutoAWQ folds them:
 *
 *   q_proj, k_proj, v_proj   <- input_layernorm           (norm weight / s)
 *   gate_proj, up_proj       <- post_attention_layernorm  (norm weight / s)
 *   o_proj                   <- v_proj   (rows / s; only when v_proj has as
 *                                         many rows as o_proj has columns)
 *   down_proj                <- up_proj  (rows / s)
 *
 * (attention mixes tokens, not channels, so v's channel j reaches o_proj's
 * column j scaled by 1/s_j; act(gate) * up is linear in up's rows.)
 * Weights that fold into the same op share one s.  A bias of the op before
 * is divided too.  The rules are data: smooth_rules[].
 *
 * Order of the arithmetic, the same for every program: a weight that is
 * both folded into (rows) and smoothed (columns) becomes
 * (w / s_next[row]) * s_own[col], in binary32; a norm stored as w - 1
 * (gemma) becomes (1 + w) / s - 1. */
#ifndef SMOOTH_H
#define SMOOTH_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "qerr.h"
#include "qparams.h"

enum smooth_how { SMOOTH_NORM, SMOOTH_ROWS };

#define SMOOTH_SQ     0x1	/* SmoothQuant smooths it too (norm-fed weights) */
#define SMOOTH_NOCLIP 0x2	/* AWQ does not clip it (q, k: the q.k product is fragile) */

struct smooth_rule {
	const char *weight;	/* module pattern, "#" = layer number */
	const char *pred;	/* the op before it */
	enum smooth_how how;
	unsigned flags;
};

extern const struct smooth_rule smooth_rules[];

/* The rule for weight `name` ("<module>.weight"), with the op before it as
 * "<pred module>.weight" in pred; NULL when none applies. */
const struct smooth_rule *smooth_rule_for(const char *name, char *pred, size_t predsz);

/* What to do to one tensor of a checkpoint. */
struct smooth_fold {
	const float *col_mul;	/* its own factors (W.smooth), or NULL */
	const float *row_div;	/* the factors of the weights after it, or NULL */
	int plus_one;		/* a norm stored as w - 1 */
};

/* One entry per checkpoint tensor (ck->n_tensors), for every W.smooth of
 * qp.  Fails, naming the weight, when a smoothed weight has no rule, its op
 * before is not in the checkpoint or has the wrong shape, or two weights
 * folding into one op disagree on s.  norm_plus_one: the architecture
 * stores norms as w - 1.  The pointers point into qp. */
int smooth_fold_plan(const struct ckpt *ck, const struct qparams *qp, int norm_plus_one,
    struct smooth_fold *out, struct qerr *e);

/* Applies f to a tensor of `rows` x `cols` (a 1-D tensor: rows = its
 * length, cols = 1). */
void smooth_fold_apply(const struct smooth_fold *f, float *x, int64_t rows, int64_t cols);

/* Does the checkpoint's config.json say norms are stored as w - 1? */
int smooth_norm_plus_one(const struct ckpt *ck);

#endif
