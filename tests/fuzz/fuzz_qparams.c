/* Fuzz target: qparams files (man/qparams.5).  What the reader accepts must
 * be self-consistent: every scale finite and positive (a block format's: one
 * it can hold, nvfp4's scale / global_scale finite and positive), every
 * zero point in range, and the file must write back. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "qblock.h"
#include "qparams.h"
#include "smooth.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qparams qp;
	struct qerr e;
	FILE *devnull;

	if (qparams_parse(&qp, data, size, "fuzz", &e) != 0)
		return 0;
	for (size_t i = 0; i < qp.n_w; i++) {
		const struct qp_entry *w = &qp.w[i];
		int32_t qmin, qmax;

		linq_qrange(w->s.fmt, &qmin, &qmax);
		for (int64_t c = 0; c < linq_ncells(&w->g); c++) {
			const char *why;

			if (qblock_info(w->s.fmt) ? !qblock_scale_ok(w->s.fmt, w->scale[c], &why) ||
			    (w->min && !qblock_min_ok(w->min[c])) ||
			    (qblock_info(w->s.fmt)->has_global && !(w->scale[c] / w->global_scale > 0)) :
			    !(w->scale[c] > 0) || isinf(w->scale[c]))
				abort();
			if (w->zp && (w->zp[c] < qmin || w->zp[c] > qmax))
				abort();
		}
		if (qparams_find(&qp, w->name) != w)
			abort();
		for (int64_t c = 0; w->g_idx && c < w->g.cols; c++)	/* act-order groups */
			if (w->g_idx[c] < 0 || w->g_idx[c] >= w->g.gcols || w->act_order != QP_ACT_GROUP)
				abort();
		for (int64_t i = 0; w->codes && !linq_is_float(w->s.fmt) && i < w->g.rows * w->g.cols; i++)
			if (qparams_code(w, i) < qmin || qparams_code(w, i) > qmax)
				abort();
		{	/* the fold rules read every (hostile) name */
			char pred[64];

			(void)smooth_rule_for(w->name, pred, sizeof pred);
		}
		for (int64_t c = 0; w->smooth && c < w->g.cols; c++)
			if (!(w->smooth[c] > 0) || isinf(w->smooth[c]))
				abort();
	}
	if ((devnull = fopen("/dev/null", "wb")) != NULL) {
		if (qparams_write(&qp, devnull, &e) != 0)
			abort();
		fclose(devnull);
	}
	qparams_free(&qp);
	return 0;
}
