/* layout: from the packed tensors of any layout back to codes, scales and
 * zero points in linq's grid, then float.  Inputs are hostile: every part's
 * dtype and shape is checked against the others before a byte is read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

int
ql_is_marker(const struct ql_config *c, const char *name, enum qdtype dt, size_t *prefix_len)
{
	static const char *const markers[] = { ".weight_packed", ".qweight", ".weight" };
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
		size_t m = strlen(markers[i]);

		if (n <= m || strcmp(name + n - m, markers[i]) != 0)
			continue;
		*prefix_len = n - m;
		switch (c->layout) {
		case QL_CT:
			return linq_is_float(c->s.fmt) ? i == 2 && dt == QD_F8_E4M3 : i == 0;
		case QL_AWQ:
		case QL_GPTQ:
			return i == 1;
		case QL_FP8:
			return i == 2 && dt == QD_F8_E4M3;
		case QL_QUARK:
			return i == 2 && (dt == QD_I32 || dt == QD_I8 || dt == QD_U8 ||
			    dt == QD_F8_E4M3 || dt == QD_F8_E5M2);
		default:
			return 0;
		}
	}
	return 0;
}

struct src {
	const char *prefix;
	ql_find_fn find;
	void *ctx;
};

/* Fetches prefix.suffix and checks it: dt (or any float type if dt < 0) and
 * the given shape (ndim -1: accept [] or [1] for a scalar). */
static int
fetch(const struct src *s, const char *suffix, int dt, int ndim, uint64_t d0, uint64_t d1,
    struct ql_tensor *t, int optional, struct qerr *e)
{
	char name[1200];
	uint64_t want[2] = { d0, d1 };

	snprintf(name, sizeof name, "%s.%s", s->prefix, suffix);
	if (s->find(s->ctx, name, t) < 0) {
		if (optional)
			return 1;
		return qerr_set(e, "%s: missing", name);
	}
	if (dt >= 0 ? t->dtype != (enum qdtype)dt :
	    !(t->dtype == QD_F32 || t->dtype == QD_F16 || t->dtype == QD_BF16))
		return qerr_set(e, "%s: dtype %s, expected %s", name, qdtype_table[t->dtype].name,
		    dt >= 0 ? qdtype_table[dt].name : "F32, F16 or BF16");
	if (ndim < 0) {
		if (!(t->ndim == 0 || (t->ndim == 1 && t->shape[0] == 1)))
			return qerr_set(e, "%s: expected a scalar, [] or [1]", name);
		return 0;
	}
	if (t->ndim != ndim)
		goto bad;
	for (int i = 0; i < ndim; i++)
		if (t->shape[i] != want[i])
			goto bad;
	return 0;
bad:
	if (ndim == 2)
		return qerr_set(e, "%s: shape does not match the weight: expected [%llu, %llu]", name,
		    (unsigned long long)d0, (unsigned long long)d1);
	return qerr_set(e, "%s: shape does not match the weight: expected [%llu]", name,
	    (unsigned long long)d0);
}

/* prefix.suffix must exist; its dtype must be dt and its rank ndim. */
static int
lookup(const struct src *s, const char *suffix, enum qdtype dt, int ndim, struct ql_tensor *t,
    struct qerr *e)
{
	char name[1200];

	snprintf(name, sizeof name, "%s.%s", s->prefix, suffix);
	if (s->find(s->ctx, name, t) < 0)
		return qerr_set(e, "%s: missing", name);
	if (t->dtype != dt || t->ndim != ndim)
		return qerr_set(e, "%s: expected %s of rank %d, found %s of rank %d", name,
		    qdtype_table[dt].name, ndim, qdtype_table[t->dtype].name, t->ndim);
	return 0;
}

static float
get_f(const struct ql_tensor *t, uint64_t i)
{
	uint16_t h;
	float f;

	switch (t->dtype) {
	case QD_F32:
		memcpy(&f, t->data + 4 * i, 4);
		return f;
	case QD_F16:
		memcpy(&h, t->data + 2 * i, 2);
		return qu_f16_to_f32(h);
	default:
		memcpy(&h, t->data + 2 * i, 2);
		return qu_bf16_to_f32(h);
	}
}

static uint32_t
get_u32(const struct ql_tensor *t, uint64_t i)
{
	uint32_t v;

	memcpy(&v, t->data + 4 * i, 4);
	return v;
}

static uint32_t
field(uint32_t w, int bits, int j)
{
	return (w >> (bits * j)) & ((1u << bits) - 1);
}

/* The inverse of the AWQ order: element e sits in nibble awq_pos[e]. */
static const uint8_t awq_pos[8] = { 0, 4, 1, 5, 2, 6, 3, 7 };

static int
alloc_all(int64_t out, int64_t in, const struct qgrid *g, int32_t **q, float **sc, int32_t **zp,
    struct qerr *e)
{
	if (q)
		*q = malloc((size_t)(out * in) * sizeof **q);
	*sc = malloc((size_t)linq_ncells(g) * sizeof **sc);
	*zp = malloc((size_t)linq_ncells(g) * sizeof **zp);
	if ((q && *q == NULL) || *sc == NULL || *zp == NULL)
		return qerr_set(e, "out of memory for a [%lld, %lld] weight", (long long)out, (long long)in);
	return 0;
}

/* Scales of cell (r, c) from a tensor stored [r][c] or transposed [c][r]. */
static void
read_scales(const struct ql_tensor *t, const struct qgrid *g, float *sc, int transpose)
{
	for (int64_t r = 0; r < g->grows; r++)
		for (int64_t c = 0; c < g->gcols; c++)
			sc[r * g->gcols + c] = get_f(t, transpose ? (uint64_t)(c * g->grows + r) :
			    (uint64_t)(r * g->gcols + c));
}

static int
check_scales(const char *prefix, const float *sc, int64_t n, struct qerr *e)
{
	for (int64_t i = 0; i < n; i++)
		if (sc[i] != sc[i])
			return qerr_set(e, "%s: scale %lld is NaN", prefix, (long long)i);
	return 0;
}

#define LIMIT (UINT64_C(1) << 40)	/* elements of one weight */

/* gptq v1: qweight [in/k, out] and qzeros [groups, out/k] packed along
 * their first and second axes, scales [groups, out]; g_idx [in] names each
 * input's group (i / G when the groups are contiguous). */
static int
unpack_gptq(const struct qscheme *sch, const struct src *s, struct ql_codes *kc, int shape_only,
    int with_codes, struct qerr *e)
{
	struct ql_tensor qw, qz, sc, gi;
	int bits = linq_bits(sch->fmt), k = 32 / bits;
	uint64_t in, out, G, ng;
	int no_gidx;

	if (lookup(s, "qweight", QD_I32, 2, &qw, e) < 0)
		return -1;
	in = qw.shape[0] * (uint64_t)k;
	out = qw.shape[1];
	if (in == 0 || out == 0 || out % (uint64_t)k || in > LIMIT / out)
		return qerr_set(e, "%s.qweight: shape [%llu, %llu] is not a gptq weight", s->prefix,
		    (unsigned long long)qw.shape[0], (unsigned long long)qw.shape[1]);
	G = sch->gran == QG_GROUP ? (uint64_t)sch->group : in;
	ng = (in + G - 1) / G;
	if (fetch(s, "qzeros", QD_I32, 2, ng, out / (uint64_t)k, &qz, 0, e) < 0 ||
	    fetch(s, "scales", -1, 2, ng, out, &sc, 0, e) < 0)
		return -1;
	if ((no_gidx = fetch(s, "g_idx", QD_I32, 1, in, 0, &gi, 1, e)) < 0)
		return -1;
	kc->rows = (int64_t)out;
	kc->cols = (int64_t)in;
	if (shape_only)
		return 0;
	/* the cells: one per (output, group), groups of G in the first place */
	kc->s = *sch;
	kc->s.gran = QG_GROUP;
	kc->s.group = (int64_t)G;
	if (linq_grid(&kc->s, (int64_t)out, (int64_t)in, &kc->g, e) < 0)
		return qerr_prefix(e, "%s", s->prefix);
	if (kc->g.gcols != (int64_t)ng)
		return qerr_set(e, "%s: %llu groups, the grid has %lld", s->prefix, (unsigned long long)ng,
		    (long long)kc->g.gcols);
	if (alloc_all((int64_t)out, (int64_t)in, &kc->g, with_codes ? &kc->q : NULL, &kc->scale,
	    &kc->z, e) < 0)
		return -1;
	if (!no_gidx) {
		if ((kc->gidx = malloc(in * sizeof *kc->gidx)) == NULL)
			return qerr_set(e, "out of memory");
		for (uint64_t i = 0; i < in; i++) {
			uint32_t v = get_u32(&gi, i);

			if (v >= ng)
				return qerr_set(e, "%s.g_idx: element %llu is %u, outside [0, %llu)",
				    s->prefix, (unsigned long long)i, v, (unsigned long long)ng);
			kc->gidx[i] = (int32_t)v;
		}
	}
	read_scales(&sc, &kc->g, kc->scale, 1);
	for (uint64_t o = 0; o < out; o++)
		for (uint64_t gi2 = 0; gi2 < ng; gi2++)	/* v1: the stored zero is z - 1 */
			kc->z[o * ng + gi2] = (int32_t)field(get_u32(&qz, gi2 * (out / (uint64_t)k) +
			    o / (uint64_t)k), bits, (int)(o % (uint64_t)k)) + 1;
	for (uint64_t i = 0; kc->q && i < in; i++)
		for (uint64_t o = 0; o < out; o++)
			kc->q[o * in + i] = (int32_t)field(get_u32(&qw, i / (uint64_t)k * out + o), bits,
			    (int)(i % (uint64_t)k));
	return 0;
}

/* The integer and FP8 layouts to codes, scales, zero points (and g_idx):
 * kc is filled (codes only if with_codes) or left with NULLs on error. */
static int
unpack_codes(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    struct ql_codes *kc, int shape_only, int with_codes, struct qerr *e)
{
	struct src s = { prefix, find, ctx };
	struct qscheme sch = c->s;
	struct qgrid g;
	struct ql_tensor w, sc, zp, gi = { 0 };
	int32_t *q = NULL, *z = NULL, *gidx = NULL;
	float *scale = NULL;
	uint64_t out, in;
	int bits = linq_bits(c->s.fmt), k = bits ? 32 / bits : 1, rc = -1, no_gidx = 1;
	int grp = c->s.gran == QG_GROUP;

	memset(kc, 0, sizeof *kc);
	if (c->layout == QL_GPTQ) {
		if (unpack_gptq(&sch, &s, kc, shape_only, with_codes, e) == 0)
			return 0;
		ql_codes_free(kc);
		return -1;
	}

	/* 1. the weight tensor gives out and in */
	switch (c->layout) {
	case QL_CT:
		if (!linq_is_float(c->s.fmt)) {
			struct ql_tensor ws = { 0 };
			int64_t shp[2];

			if (lookup(&s, "weight_packed", QD_I32, 2, &w, e) < 0)
				return -1;
			if (fetch(&s, "weight_shape", QD_I64, 1, 2, 0, &ws, 0, e) < 0) {
				if (ws.dtype != QD_I32 || fetch(&s, "weight_shape", QD_I32, 1, 2, 0, &ws, 0, e) < 0)
					return -1;
				for (int i = 0; i < 2; i++) {
					int32_t v;

					memcpy(&v, ws.data + 4 * i, 4);
					shp[i] = v;
				}
			} else {
				memcpy(shp, ws.data, sizeof shp);
			}
			if (shp[0] <= 0 || shp[1] <= 0 || (uint64_t)shp[0] != w.shape[0] ||
			    (uint64_t)(shp[1] + k - 1) / (uint64_t)k != w.shape[1])
				return qerr_set(e, "%s.weight_shape [%lld, %lld] does not match weight_packed [%llu, %llu]",
				    prefix, (long long)shp[0], (long long)shp[1],
				    (unsigned long long)w.shape[0], (unsigned long long)w.shape[1]);
			out = (uint64_t)shp[0];
			in = (uint64_t)shp[1];
			break;
		}
		/* float-quantized is a plain F8 weight */
		__attribute__((fallthrough));
	case QL_FP8:
		if (lookup(&s, "weight", QD_F8_E4M3, 2, &w, e) < 0)
			return -1;
		out = w.shape[0];
		in = w.shape[1];
		break;
	case QL_AWQ:
		if (lookup(&s, "qweight", QD_I32, 2, &w, e) < 0)
			return -1;
		in = w.shape[0];
		out = w.shape[1] * 8;
		break;
	case QL_QUARK: {
		int fl = linq_is_float(c->s.fmt), i4 = bits == 4;
		enum qdtype wdt = fl ? (c->s.fmt == QF_FP8_E4M3 ? QD_F8_E4M3 : QD_F8_E5M2) :
		    i4 ? QD_I32 : c->s.fmt == QF_INT8 ? QD_I8 : QD_U8;

		if (lookup(&s, "weight", wdt, 2, &w, e) < 0)
			return -1;
		if (i4 && grp)
			in = w.shape[0], out = w.shape[1] * 8;
		else if (i4)
			out = w.shape[0], in = w.shape[1] * 8;
		else if (grp)
			in = w.shape[0], out = w.shape[1];
		else
			out = w.shape[0], in = w.shape[1];
		break;
	}
	default:
		return qerr_set(e, "unknown layout");
	}
	if (out == 0 || in == 0 || in > LIMIT / out)
		return qerr_set(e, "%s: weight [%llu, %llu] is empty or too large", prefix,
		    (unsigned long long)out, (unsigned long long)in);
	kc->rows = (int64_t)out;
	kc->cols = (int64_t)in;
	if (shape_only)
		return 0;
	if (c->layout == QL_AWQ && sch.gran == QG_CHANNEL) {
		sch.gran = QG_GROUP;	/* one group over all of in */
		sch.group = (int64_t)in;
	}
	if (sch.gran == QG_GROUP && in % (uint64_t)sch.group && c->layout != QL_CT)
		return qerr_set(e, "%s: in %llu is not a multiple of the group size %lld", prefix,
		    (unsigned long long)in, (long long)sch.group);
	if (linq_grid(&sch, (int64_t)out, (int64_t)in, &g, e) < 0)
		return qerr_prefix(e, "%s", prefix);
	if (alloc_all((int64_t)out, (int64_t)in, &g, with_codes ? &q : NULL, &scale, &z, e) < 0)
		goto done;

	/* 2. scales and zero points, 3. codes */
	switch (c->layout) {
	case QL_CT:
		if (sch.gran == QG_TENSOR) {
			if (fetch(&s, "weight_scale", -1, -1, 0, 0, &sc, 0, e) < 0)
				goto done;
		} else if (sch.gran == QG_CHANNEL) {
			if (fetch(&s, "weight_scale", -1, 2, out, 1, &sc, 0, e) < 0 &&
			    fetch(&s, "weight_scale", -1, 1, out, 0, &sc, 0, e) < 0)
				goto done;
		} else if (fetch(&s, "weight_scale", -1, 2, (uint64_t)g.grows, (uint64_t)g.gcols, &sc, 0, e) < 0) {
			goto done;
		}
		read_scales(&sc, &g, scale, 0);
		if (!sch.sym && !linq_is_float(sch.fmt)) {
			if (sch.gran == QG_TENSOR) {
				if (fetch(&s, "weight_zero_point", QD_I8, -1, 0, 0, &zp, 0, e) < 0)
					goto done;
				z[0] = (int8_t)zp.data[0];
			} else {
				uint64_t ng = (uint64_t)g.gcols;

				if (fetch(&s, "weight_zero_point", QD_I32, 2, (out + (uint64_t)k - 1) / (uint64_t)k,
				    ng, &zp, 0, e) < 0)
					goto done;
				for (uint64_t r = 0; r < out; r++)
					for (uint64_t cc = 0; cc < ng; cc++)
						z[r * ng + cc] = (int32_t)field(get_u32(&zp, r / (uint64_t)k * ng + cc),
						    bits, (int)(r % (uint64_t)k)) - (1 << (bits - 1));
			}
		} else {
			memset(z, 0, (size_t)linq_ncells(&g) * sizeof *z);
		}
		/* present with actorder "group" (the config's word is not needed) */
		if (grp && !linq_is_float(sch.fmt) && (no_gidx = fetch(&s, "weight_g_idx", QD_I32, 1, in,
		    0, &gi, 1, e)) < 0)
			goto done;
		if (no_gidx == 0) {
			/* actorder "group": each input's group, in the order GPTQ chose */
			if ((gidx = malloc(in * sizeof *gidx)) == NULL) {
				qerr_set(e, "out of memory");
				goto done;
			}
			for (uint64_t i = 0; i < in; i++) {
				memcpy(&gidx[i], gi.data + 4 * i, 4);
				if (gidx[i] < 0 || gidx[i] >= g.gcols) {
					qerr_set(e, "%s.weight_g_idx: element %llu is %d, outside [0, %lld)", prefix,
					    (unsigned long long)i, (int)gidx[i], (long long)g.gcols);
					goto done;
				}
			}
		}
		if (q == NULL) {
			break;
		} else if (linq_is_float(sch.fmt)) {
			for (uint64_t i = 0; i < out * in; i++)
				q[i] = w.data[i];
		} else {
			/* word by word: k codes of consecutive inputs in each */
			for (uint64_t r = 0; r < out; r++)
				for (uint64_t wi = 0; wi < w.shape[1]; wi++) {
					uint32_t v = get_u32(&w, r * w.shape[1] + wi);
					uint64_t i0 = wi * (uint64_t)k, n = in - i0 < (uint64_t)k ? in - i0 : (uint64_t)k;

					for (uint64_t t = 0; t < n; t++)
						q[r * in + i0 + t] = (int32_t)field(v, bits, (int)t) - (1 << (bits - 1));
				}
		}
		break;
	case QL_FP8:
		if (sch.gran == QG_TENSOR) {
			if (fetch(&s, "weight_scale", QD_F32, -1, 0, 0, &sc, 0, e) < 0)
				goto done;
		} else if (fetch(&s, "weight_scale_inv", -1, 2, (uint64_t)g.grows, (uint64_t)g.gcols, &sc, 0, e) < 0) {
			goto done;
		}
		read_scales(&sc, &g, scale, 0);
		memset(z, 0, (size_t)linq_ncells(&g) * sizeof *z);
		for (uint64_t i = 0; q && i < out * in; i++)
			q[i] = w.data[i];
		break;
	case QL_AWQ: {
		uint64_t ng = (uint64_t)g.gcols;

		if (fetch(&s, "qzeros", QD_I32, 2, ng, out / 8, &zp, 0, e) < 0 ||
		    fetch(&s, "scales", -1, 2, ng, out, &sc, 0, e) < 0)
			goto done;
		read_scales(&sc, &g, scale, 1);
		for (uint64_t o = 0; o < out; o++)
			for (uint64_t gi = 0; gi < ng; gi++)
				z[o * ng + gi] = (int32_t)field(get_u32(&zp, gi * (out / 8) + o / 8), 4, awq_pos[o % 8]);
		for (uint64_t i = 0; q && i < in; i++)
			for (uint64_t o = 0; o < out; o++)
				q[o * in + i] = (int32_t)field(get_u32(&w, i * (out / 8) + o / 8), 4, awq_pos[o % 8]);
		break;
	}
	case QL_QUARK: {
		const uint8_t *pos = c->quark_order ? NULL : awq_pos;
		int i4 = bits == 4, sgn = sch.fmt == QF_INT4;
		uint64_t ng = (uint64_t)g.gcols;
		enum qdtype zdt = sch.fmt == QF_INT8 ? QD_I8 : sch.fmt == QF_UINT8 ? QD_U8 : QD_I32;
		int nd = sch.gran == QG_TENSOR ? -1 : 1;

#define NIB(word, e) ((int32_t)field((word), 4, pos ? pos[(e)] : (int)(e)))
#define SX4(v) (sgn ? (((v) ^ 8) - 8) : (v))
		if (sch.gran == QG_CHANNEL && sch.axis != 0)
			goto badaxis;
		if (grp ? fetch(&s, "weight_scale", -1, 2, ng, out, &sc, 0, e) :
		    fetch(&s, "weight_scale", -1, nd, out, 0, &sc, 0, e))
			goto done;
		read_scales(&sc, &g, scale, grp);
		memset(z, 0, (size_t)linq_ncells(&g) * sizeof *z);
		if (!sch.sym && !linq_is_float(sch.fmt)) {
			int bad = i4 && grp ? fetch(&s, "weight_zero_point", QD_I32, 2, ng, out / 8, &zp, 0, e) :
			    i4 ? fetch(&s, "weight_zero_point", QD_I32, 1, out / 8, 0, &zp, 0, e) :
			    grp ? fetch(&s, "weight_zero_point", (int)zdt, 2, ng, out, &zp, 0, e) :
			    fetch(&s, "weight_zero_point", (int)zdt, nd, out, 0, &zp, 0, e);

			if (bad)
				goto done;
			for (int64_t r = 0; r < g.grows; r++)
				for (uint64_t cc = 0; cc < ng; cc++) {
					int32_t v;

					if (i4 && grp)
						v = NIB(get_u32(&zp, cc * (out / 8) + (uint64_t)r / 8), (uint64_t)r % 8);
					else if (i4)
						v = NIB(get_u32(&zp, (uint64_t)r / 8), (uint64_t)r % 8);
					else {
						uint8_t b = zp.data[grp ? cc * (uint64_t)g.grows + (uint64_t)r :
						    (uint64_t)r * ng + cc];
						v = zdt == QD_I8 ? (int8_t)b : b;
					}
					z[(uint64_t)r * ng + cc] = i4 ? SX4(v) : v;
				}
		}
		for (uint64_t r = 0; q && r < out; r++)
			for (uint64_t i = 0; i < in; i++) {
				int32_t v;

				if (i4 && grp)
					v = SX4(NIB(get_u32(&w, i * (out / 8) + r / 8), r % 8));
				else if (i4)
					v = SX4(NIB(get_u32(&w, r * (in / 8) + i / 8), i % 8));
				else if (linq_is_float(sch.fmt) || sch.fmt == QF_UINT8)
					v = w.data[grp ? i * out + r : r * in + i];
				else
					v = (int8_t)w.data[grp ? i * out + r : r * in + i];
				q[r * in + i] = v;
			}
#undef NIB
#undef SX4
		break;
	}
	default:
		break;
	}
	if (check_scales(prefix, scale, linq_ncells(&g), e) < 0)
		goto done;
	kc->s = sch;
	kc->g = g;
	kc->q = q, kc->scale = scale, kc->z = z, kc->gidx = gidx;
	q = z = gidx = NULL;
	scale = NULL;
	rc = 0;
	goto done;
badaxis:
	qerr_set(e, "%s: unsupported channel axis", prefix);
done:
	free(q);
	free(scale);
	free(z);
	free(gidx);
	return rc;
}

static int
unpack(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    float **outp, int64_t *rows, int64_t *cols, int shape_only, struct qerr *e)
{
	struct ql_codes kc;
	float *x;

	*outp = NULL;
	if (c->layout == QL_CT && (c->s.fmt == QF_NVFP4 || c->s.fmt == QF_MXFP4))
		return ql_fp4_unpack(c, prefix, find, ctx, outp, rows, cols, shape_only, e);
	if (unpack_codes(c, prefix, find, ctx, &kc, shape_only, 1, e) < 0)
		return -1;
	*rows = kc.rows;
	*cols = kc.cols;
	if (shape_only)
		return 0;
	if ((x = malloc((size_t)(kc.rows * kc.cols) * sizeof *x)) == NULL) {
		ql_codes_free(&kc);
		return qerr_set(e, "out of memory");
	}
	if (kc.gidx)	/* cell (r, g_idx[i]) */
		for (int64_t r = 0; r < kc.rows; r++)
			for (int64_t i = 0; i < kc.cols; i++) {
				int64_t cell = r * kc.g.gcols + kc.gidx[i];

				x[r * kc.cols + i] = linq_dequant1(kc.s.fmt, kc.q[r * kc.cols + i],
				    kc.scale[cell], kc.z[cell]);
			}
	else
		linq_dequantize(&kc.s, &kc.g, kc.q, kc.scale, kc.z, x, 1);
	ql_codes_free(&kc);
	*outp = x;
	return 0;
}

int
ql_unpack_codes(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int with_codes, struct ql_codes *kc, struct qerr *e)
{
	const struct qscheme *s = ql_module_scheme(c, prefix);

	memset(kc, 0, sizeof *kc);
	if (s == NULL)
		return qerr_set(e, "%s: not a quantized module", prefix);
	if (c->layout == QL_CT && (s->fmt == QF_MXFP4 || s->fmt == QF_NVFP4))
		return ql_fp4_codes(c, prefix, find, ctx, with_codes, kc, e);
	return unpack_codes(c, prefix, find, ctx, kc, 0, with_codes, e);
}

void
ql_codes_free(struct ql_codes *kc)
{
	free(kc->q);
	free(kc->scale);
	free(kc->z);
	free(kc->gidx);
	kc->q = kc->z = kc->gidx = NULL;
	kc->scale = NULL;
}

int
ql_unpack(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    float **out, int64_t *rows, int64_t *cols, struct qerr *e)
{
	return unpack(c, prefix, find, ctx, out, rows, cols, 0, e);
}

int
ql_unpack_shape(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int64_t *rows, int64_t *cols, struct qerr *e)
{
	float *unused = NULL;

	return unpack(c, prefix, find, ctx, &unused, rows, cols, 1, e);
}

int
ql_is_part_suffix(const char *suffix)
{
	static const char *const parts[] = { "weight", "qweight", "qzeros", "scales", "g_idx",
		"weight_packed", "weight_scale", "weight_zero_point", "weight_shape",
		"weight_scale_inv", "weight_g_idx", "weight_global_scale", "weight_scale_2",
		"input_scale", "input_zero_point", "input_global_scale", "output_scale",
		"output_zero_point", "pre_quant_scale" };

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (strcmp(suffix, parts[i]) == 0)
			return 1;
	return 0;
}
