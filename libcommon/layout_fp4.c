/* layout: the FP4 block formats (qblock.h) in compressed-tensors'
 * nvfp4-pack-quantized and mxfp4-pack-quantized layouts (spec §4.5), and
 * gpt-oss's MXFP4 experts (spec §8) for --dequant.
 *
 *   nvfp4  P.weight_packed U8 [out, in/2] (element 2i in the low nibble),
 *          P.weight_scale F8_E4M3 [out, in/16], P.weight_global_scale F32 [1]
 *   mxfp4  P.weight_packed U8 [out, in/2], P.weight_scale U8 [out, in/32]
 *          (E8M0 exponent bytes)
 *   gpt-oss  N_blocks U8 [E, out, in/32, 16], N_scales U8 [E, out, in/32];
 *          transformers dequantizes them to N [E, in, out]
 *
 * Values are qblock_value's, so unpacking gives the fake-quantized weight
 * bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "qblock.h"

static void
fp4_part(struct ql_part *p, const char *suffix, enum qdtype dt, int ndim, uint64_t d0, uint64_t d1)
{
	snprintf(p->suffix, sizeof p->suffix, "%s", suffix);
	p->dtype = dt;
	p->ndim = ndim;
	p->shape[0] = d0;
	p->shape[1] = d1;
	p->bytes = (ndim == 0 ? 1 : ndim == 1 ? d0 : d0 * d1) * (uint64_t)qdtype_table[dt].bits / 8;
	p->data = NULL;
}

int
ql_fp4_plan(const struct qscheme *s, const struct qgrid *g, struct ql_packed *p, struct qerr *e)
{
	uint64_t out = (uint64_t)g->rows, in = (uint64_t)g->cols;

	if (s->fmt != QF_NVFP4 && s->fmt != QF_MXFP4)
		return qerr_set(e, "%s is not an FP4 format", qscheme_fmt_name(s->fmt));
	if (g->cols % qblock_info(s->fmt)->group)
		return qerr_set(e, "in %lld is not a multiple of %d", (long long)in,
		    qblock_info(s->fmt)->group);
	memset(p, 0, sizeof *p);
	fp4_part(&p->part[p->n++], "weight_packed", QD_U8, 2, out, in / 2);
	if (s->fmt == QF_NVFP4) {
		fp4_part(&p->part[p->n++], "weight_scale", QD_F8_E4M3, 2, out, in / 16);
		fp4_part(&p->part[p->n++], "weight_global_scale", QD_F32, 1, 1, 0);
	} else {
		fp4_part(&p->part[p->n++], "weight_scale", QD_U8, 2, out, in / 32);
	}
	return 0;
}

int
ql_fp4_pack(const struct qp_entry *w, const int32_t *q, struct ql_packed *p, struct qerr *e)
{
	size_t n = (size_t)w->g.rows * (size_t)w->g.cols, nc = (size_t)linq_ncells(&w->g);

	if (ql_fp4_plan(&w->s, &w->g, p, e) < 0)
		return -1;
	for (int i = 0; i < p->n; i++)
		if ((p->part[i].data = calloc(1, (size_t)p->part[i].bytes)) == NULL) {
			ql_packed_free(p);
			return qerr_set(e, "out of memory");
		}
	for (size_t i = 0; i < n; i++)
		p->part[0].data[i / 2] |= (unsigned char)((q[i] & 15) << (4 * (i & 1)));
	for (size_t k = 0; k < nc; k++) {
		if (w->s.fmt == QF_NVFP4) {
			p->part[1].data[k] = linq_fp8_encode(w->scale[k], 1);
		} else {
			int ex;

			frexpf(w->scale[k], &ex);	/* a power of two: 2^(ex-1) */
			p->part[1].data[k] = (unsigned char)(ex - 1 + 127);
		}
	}
	if (w->s.fmt == QF_NVFP4)
		memcpy(p->part[2].data, &w->global_scale, 4);
	return 0;
}

/* ---- unpacking ---- */

static int
find_part(ql_find_fn find, void *ctx, const char *prefix, const char *suffix, enum qdtype dt,
    struct ql_tensor *t, struct qerr *e)
{
	char name[1200];

	snprintf(name, sizeof name, "%s%s", prefix, suffix);
	if (find(ctx, name, t) < 0)
		return qerr_set(e, "%s: missing", name);
	if (t->dtype != dt)
		return qerr_set(e, "%s: dtype %s, expected %s", name, qdtype_table[t->dtype].name,
		    qdtype_table[dt].name);
	return 0;
}

static float
e8m0(uint8_t b)
{
	return ldexpf(1.0f, (int)b - 127);
}

/* The parts of an FP4 module, checked: the codes w, the block scales sc,
 * nvfp4's global scale; out x in. */
static int
fp4_parts(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    struct ql_tensor *w, struct ql_tensor *sc, float *global, uint64_t *o, uint64_t *in,
    int shape_only, struct qerr *e)
{
	struct ql_tensor gs;
	uint64_t gsz = c->s.fmt == QF_NVFP4 ? 16 : 32;

	*global = 1;
	if (find_part(find, ctx, prefix, ".weight_packed", QD_U8, w, e) < 0)
		return -1;
	if (w->ndim != 2 || w->shape[0] == 0 || w->shape[1] == 0 || (2 * w->shape[1]) % gsz)
		return qerr_set(e, "%s.weight_packed: expected U8 [out, in/2] with in a multiple of %llu",
		    prefix, (unsigned long long)gsz);
	*o = w->shape[0];
	*in = 2 * w->shape[1];
	if (find_part(find, ctx, prefix, ".weight_scale", c->s.fmt == QF_NVFP4 ? QD_F8_E4M3 : QD_U8,
	    sc, e) < 0)
		return -1;
	if (sc->ndim != 2 || sc->shape[0] != *o || sc->shape[1] != *in / gsz)
		return qerr_set(e, "%s.weight_scale: shape does not match the weight: expected [%llu, %llu]",
		    prefix, (unsigned long long)*o, (unsigned long long)(*in / gsz));
	if (c->s.fmt == QF_NVFP4) {
		if (find_part(find, ctx, prefix, ".weight_global_scale", QD_F32, &gs, e) < 0)
			return -1;
		if (!(gs.ndim == 0 || (gs.ndim == 1 && gs.shape[0] == 1)))
			return qerr_set(e, "%s.weight_global_scale: expected F32 [1]", prefix);
		memcpy(global, gs.data, 4);
		if (!(*global > 0) || isinf(*global))
			return qerr_set(e, "%s.weight_global_scale: %g is not finite and > 0", prefix,
			    (double)*global);
	}
	if (shape_only)
		return 0;
	for (uint64_t k = 0; k < *o * (*in / gsz); k++)
		if (c->s.fmt == QF_MXFP4 ? sc->data[k] == 0xff :
		    isnan(linq_fp8_decode(sc->data[k], 1)))
			return qerr_set(e, "%s.weight_scale: element %llu is NaN", prefix,
			    (unsigned long long)k);
	return 0;
}

int
ql_fp4_unpack(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    float **out, int64_t *rows, int64_t *cols, int shape_only, struct qerr *e)
{
	struct ql_tensor w, sc;
	uint64_t o, in, gsz = c->s.fmt == QF_NVFP4 ? 16 : 32;
	float global;
	float *x;

	*out = NULL;
	if (fp4_parts(c, prefix, find, ctx, &w, &sc, &global, &o, &in, shape_only, e) < 0)
		return -1;
	*rows = (int64_t)o;
	*cols = (int64_t)in;
	if (shape_only)
		return 0;
	if ((x = malloc((size_t)(o * in) * sizeof *x)) == NULL)
		return qerr_set(e, "out of memory for [%llu, %llu]", (unsigned long long)o,
		    (unsigned long long)in);
	for (uint64_t i = 0; i < o * in; i++) {
		uint8_t code = (uint8_t)((w.data[i / 2] >> (4 * (i & 1))) & 15), sb = sc.data[i / gsz];

		x[i] = c->s.fmt == QF_NVFP4 ?
		    qblock_value(QF_NVFP4, code, linq_fp8_decode(sb, 1), 0, global) :
		    qblock_value(QF_MXFP4, code, e8m0(sb), 0, 1);
	}
	*out = x;
	return 0;
}

int
ql_fp4_codes(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int with_codes, struct ql_codes *kc, struct qerr *e)
{
	struct ql_tensor w, sc;
	uint64_t o, in;
	float global;

	memset(kc, 0, sizeof *kc);
	if (c->s.fmt != QF_MXFP4 && c->s.fmt != QF_NVFP4)
		return qerr_set(e, "%s: not an FP4 format", prefix);
	if (fp4_parts(c, prefix, find, ctx, &w, &sc, &global, &o, &in, 0, e) < 0)
		return -1;
	kc->s = c->s;
	kc->global = global;
	kc->rows = (int64_t)o, kc->cols = (int64_t)in;
	if (linq_grid(&kc->s, kc->rows, kc->cols, &kc->g, e) < 0)
		return qerr_prefix(e, "%s", prefix);
	kc->scale = malloc((size_t)linq_ncells(&kc->g) * sizeof *kc->scale);
	kc->z = calloc((size_t)linq_ncells(&kc->g), sizeof *kc->z);
	if (with_codes)
		kc->q = malloc((size_t)(o * in) * sizeof *kc->q);
	if (!kc->scale || !kc->z || (with_codes && !kc->q)) {
		ql_codes_free(kc);
		return qerr_set(e, "out of memory for [%llu, %llu]", (unsigned long long)o,
		    (unsigned long long)in);
	}
	for (int64_t k = 0; k < linq_ncells(&kc->g); k++)
		kc->scale[k] = c->s.fmt == QF_MXFP4 ? e8m0(sc.data[k]) : linq_fp8_decode(sc.data[k], 1);
	for (uint64_t i = 0; kc->q && i < o * in; i++)
		kc->q[i] = (w.data[i / 2] >> (4 * (i & 1))) & 15;
	return 0;
}

/* gpt-oss: N_blocks [E, out, in/32, 16] and N_scales [E, out, in/32]. */
int
ql_gptoss_unpack(const char *name, ql_find_fn find, void *ctx, float **out, uint64_t shape[3],
    int shape_only, struct qerr *e)
{
	struct ql_tensor b, s;
	uint64_t E, o, nb, in;
	float *x;

	*out = NULL;
	if (find_part(find, ctx, name, "_blocks", QD_U8, &b, e) < 0 ||
	    find_part(find, ctx, name, "_scales", QD_U8, &s, e) < 0)
		return -1;
	if (b.ndim != 4 || b.shape[3] != 16 || b.shape[0] == 0 || b.shape[1] == 0 || b.shape[2] == 0)
		return qerr_set(e, "%s_blocks: expected U8 [E, out, in/32, 16]", name);
	E = b.shape[0], o = b.shape[1], nb = b.shape[2], in = nb * 32;
	if (s.ndim != 3 || s.shape[0] != E || s.shape[1] != o || s.shape[2] != nb)
		return qerr_set(e, "%s_scales: expected [%llu, %llu, %llu] as its blocks", name,
		    (unsigned long long)E, (unsigned long long)o, (unsigned long long)nb);
	if (E > (UINT64_C(1) << 40) / o / in)
		return qerr_set(e, "%s_blocks: too large", name);
	shape[0] = E, shape[1] = in, shape[2] = o;	/* transformers' [E, in, out] */
	if (shape_only)
		return 0;
	for (uint64_t k = 0; k < E * o * nb; k++)
		if (s.data[k] == 0xff)
			return qerr_set(e, "%s_scales: element %llu is NaN", name, (unsigned long long)k);
	if ((x = malloc((size_t)(E * o * in) * sizeof *x)) == NULL)
		return qerr_set(e, "out of memory");
	for (uint64_t ex = 0; ex < E; ex++)
		for (uint64_t r = 0; r < o; r++)
			for (uint64_t c = 0; c < in; c++) {
				uint64_t bi = (ex * o + r) * nb + c / 32;
				uint8_t byte = b.data[bi * 16 + (c % 32) / 2];
				uint8_t code = (uint8_t)((byte >> (4 * (c & 1))) & 15);

				x[(ex * in + c) * o + r] = qblock_value(QF_MXFP4, code, e8m0(s.data[bi]), 0, 1);
			}
	*out = x;
	return 0;
}
