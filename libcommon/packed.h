/* packed: which tensors of a checkpoint are quantized modules, as a loader
 * would see them.  The layout comes from config.json's quantization_config
 * or, without one, from the tensors themselves (ql_detect); each module is
 * named by its prefix P (P.weight is the float weight it stands for) and
 * its parts (P.qweight, P.scales, ...) are known so that a converter can
 * skip them.  gpt-oss's MXFP4 experts (quant_method "mxfp4") are not
 * modules here: the layout is QL_COUNT and n is 0 for them. */
#ifndef PACKED_H
#define PACKED_H

#include <cjson/cJSON.h>

#include "ckpt.h"
#include "layout.h"

struct packed {
	struct ql_config cfg;
	const struct ckpt *ck;
	char **prefix;			/* sorted */
	size_t n;
	cJSON *detected;		/* the config recognised from the tensors, or NULL */
	struct qerr why;		/* n == 0: why nothing was recognised */
};

/* 0 with pk filled (n may be 0: nothing quantized, or no config and
 * nothing recognisable); -1 with a message for a config that is present
 * but wrong, or tensors that look quantized but fit no layout. */
int packed_open(struct packed *pk, const struct ckpt *ck, struct qerr *e);
void packed_close(struct packed *pk);

/* ql_find_fn over a checkpoint (ctx: the struct ckpt). */
int packed_lookup(void *ckpt, const char *name, struct ql_tensor *t);

/* The module whose marker tensor this is (P.weight_packed, P.qweight, ...),
 * or NULL. */
const char *packed_module(const struct packed *pk, const char *tensor_name);
/* Whether the tensor is one of a module's parts (its marker included). */
int packed_is_part(const struct packed *pk, const char *tensor_name);

#endif
