#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout.h"
#include "qblock.h"

const char *const qlayout_names[QL_COUNT] = { "compressed-tensors", "awq", "gptq", "fp8", "quark" };
const uint8_t ql_awq_order[8] = { 0, 2, 4, 6, 1, 3, 5, 7 };

int
qlayout_from_name(const char *name)
{
	for (int i = 0; i < QL_COUNT; i++)
		if (strcasecmp(qlayout_names[i], name) == 0)
			return i;
	if (strcasecmp(name, "ct") == 0)
		return QL_CT;
	return -1;
}

static int
is_signed_int(enum qfmt f)
{
	return f == QF_INT8 || f == QF_INT4;
}

/* The same code in the unsigned format of the same width: q - qmin. */
static uint32_t
ucode(enum qfmt f, int32_t q)
{
	return (uint32_t)(is_signed_int(f) ? q + (1 << (linq_bits(f) - 1)) : q);
}

/* A word of 32/bits fields; field j holds vals[order[j]] (natural if NULL). */
static uint32_t
word_from(int bits, const uint8_t *order, const uint32_t *vals)
{
	uint32_t w = 0, mask = (1u << bits) - 1;

	for (int j = 0; j < 32 / bits; j++)
		w |= (vals[order ? order[j] : j] & mask) << (bits * j);
	return w;
}

static int
is_int4(enum qfmt f)
{
	return f == QF_INT4 || f == QF_UINT4;
}

int
ql_check(const struct ql_opts *o, const struct qscheme *s, int64_t rows, int64_t cols,
    struct qerr *e)
{
	int bits = linq_bits(s->fmt), k = bits ? 32 / bits : 1;
	const char *ln = qlayout_names[o->layout];
	int grp = s->gran == QG_GROUP, chan = s->gran == QG_CHANNEL && s->axis == 0;

	if ((s->fmt == QF_NVFP4 || s->fmt == QF_MXFP4) && o->layout == QL_CT)
		return cols % qblock_info(s->fmt)->group ? qerr_set(e, "in %lld is not a multiple of %d",
		    (long long)cols, qblock_info(s->fmt)->group) : 0;
	if (!linq_supports(s->fmt))
		return qerr_set(e, "%s cannot store %s%s", ln, qscheme_fmt_name(s->fmt),
		    qblock_info(s->fmt) && qblock_info(s->fmt)->group == 32 && s->fmt != QF_MXFP4 ?
		    " (a GGUF type: st2gguf -p writes it)" : "");
	if (s->gran == QG_CHANNEL && s->axis != 0)
		return qerr_set(e, "%s stores per-channel scales along the output rows only (axis 0)", ln);
	if (grp && cols % s->group)
		return qerr_set(e, "in %lld is not a multiple of the group size %lld",
		    (long long)cols, (long long)s->group);
	switch (o->layout) {
	case QL_CT:
		if (s->fmt == QF_FP8_E5M2)
			return qerr_set(e, "compressed-tensors stores fp8 as e4m3 only");
		if (linq_is_float(s->fmt))
			return 0;
		if (s->gran == QG_BLOCK)
			return qerr_set(e, "compressed-tensors packs int weights per tensor, channel or group");
		return 0;
	case QL_AWQ:
		if (!is_int4(s->fmt))
			return qerr_set(e, "awq stores 4-bit integers only");
		if (!grp && !chan)
			return qerr_set(e, "awq needs per-group or per-channel scales");
		if (rows % 8)
			return qerr_set(e, "out %lld is not a multiple of 8", (long long)rows);
		return 0;
	case QL_GPTQ:
		if (linq_is_float(s->fmt))
			return qerr_set(e, "gptq stores 4- or 8-bit integers only");
		if (!grp && !chan)
			return qerr_set(e, "gptq needs per-group or per-channel scales");
		if (rows % k || cols % k)
			return qerr_set(e, "out %lld and in %lld must be multiples of %d",
			    (long long)rows, (long long)cols, k);
		return 0;
	case QL_FP8:
		if (s->fmt != QF_FP8_E4M3)
			return qerr_set(e, "fp8 checkpoints store fp8_e4m3 only");
		if (s->gran != QG_TENSOR && s->gran != QG_BLOCK)
			return qerr_set(e, "fp8 checkpoints have per-tensor or block scales");
		return 0;
	case QL_QUARK:
		if (s->gran == QG_BLOCK)
			return qerr_set(e, "quark has no block granularity");
		if (linq_is_float(s->fmt) && grp)
			return qerr_set(e, "quark stores fp8 per tensor or per channel");
		if (is_int4(s->fmt)) {
			if (s->gran == QG_TENSOR)
				return qerr_set(e, "quark packs int4 per channel or per group");
			if (grp && rows % 8)
				return qerr_set(e, "out %lld is not a multiple of 8", (long long)rows);
			if (chan && (cols % 8 || (!s->sym && rows % 8)))
				return qerr_set(e, "in (and out, asymmetric) must be multiples of 8");
		}
		return 0;
	default:
		return qerr_set(e, "unknown layout");
	}
}

int
ql_stores_gidx(enum qlayout layout, const struct qscheme *s)
{
	return layout == QL_GPTQ || (layout == QL_CT && !linq_is_float(s->fmt));
}

enum qdtype
ql_scale_dtype(const struct ql_opts *o, const struct qscheme *s)
{
	(void)s;
	switch (o->layout) {
	case QL_CT:
		return o->model_dtype == QD_F16 || o->model_dtype == QD_BF16 ? o->model_dtype : QD_F32;
	case QL_AWQ:
	case QL_GPTQ:
		return QD_F16;
	default:
		return QD_F32;
	}
}

int
ql_round_scales(enum qdtype dt, float *scale, size_t n, struct qerr *e)
{
	for (size_t i = 0; i < n; i++) {
		float r = scale[i];

		if (dt == QD_F16)
			r = qu_f16_to_f32(qu_f32_to_f16(r));
		else if (dt == QD_BF16)
			r = qu_bf16_to_f32(qu_f32_to_bf16(r));
		if (r == 0)	/* the least positive value of the type */
			r = dt == QD_F16 ? 0x1p-24f : dt == QD_BF16 ? qu_bf16_to_f32(1) : 0x1p-149f;
		if (isinf(r))
			return qerr_set(e, "scale %g does not fit %s", (double)scale[i],
			    qdtype_table[dt].name);
		scale[i] = r;
	}
	return 0;
}

size_t
ql_fix_zero_points(const struct ql_opts *o, const struct qscheme *s, int32_t *zp, size_t n)
{
	size_t changed = 0;

	if (o->layout != QL_GPTQ || s->sym || zp == NULL)
		return 0;
	/* v1 stores z - 1: the unsigned zero point must be at least 1 */
	for (size_t i = 0; i < n; i++)
		if (ucode(s->fmt, zp[i]) == 0) {
			zp[i] += 1;
			changed++;
		}
	return changed;
}

static void
set_part(struct ql_part *p, const char *suffix, enum qdtype dt, int ndim, uint64_t d0, uint64_t d1)
{
	uint64_t n = ndim == 0 ? 1 : ndim == 1 ? d0 : d0 * d1;

	snprintf(p->suffix, sizeof p->suffix, "%s", suffix);
	p->dtype = dt;
	p->ndim = ndim;
	p->shape[0] = d0;
	p->shape[1] = d1;
	p->bytes = n * (uint64_t)qdtype_table[dt].bits / 8;
	p->data = NULL;
}

int
ql_plan(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    struct ql_packed *p, struct qerr *e)
{
	return ql_plan_act(o, s, g, QL_ACT_NONE, p, e);
}

int
ql_plan_act(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    enum ql_act_order act, struct ql_packed *p, struct qerr *e)
{
	uint64_t out = (uint64_t)g->rows, in = (uint64_t)g->cols, gr = (uint64_t)g->grows,
	    gc = (uint64_t)g->gcols;
	int bits = linq_bits(s->fmt), k = bits ? 32 / bits : 1, fl = linq_is_float(s->fmt);
	enum qdtype sdt = ql_scale_dtype(o, s);
	enum qdtype f8 = s->fmt == QF_FP8_E5M2 ? QD_F8_E5M2 : QD_F8_E4M3;

	if (ql_check(o, s, g->rows, g->cols, e) < 0)
		return -1;
	if (qblock_info(s->fmt))
		return ql_fp4_plan(s, g, p, e);
	memset(p, 0, sizeof *p);
	switch (o->layout) {
	case QL_CT:
		if (fl) {
			set_part(&p->part[p->n++], "weight", f8, 2, out, in);
		} else {
			set_part(&p->part[p->n++], "weight_packed", QD_I32, 2, out, (in + k - 1) / k);
		}
		if (s->gran == QG_TENSOR)
			set_part(&p->part[p->n++], "weight_scale", sdt, 1, 1, 0);
		else
			set_part(&p->part[p->n++], "weight_scale", sdt, 2, gr, gc);
		if (!s->sym && s->gran == QG_TENSOR)
			set_part(&p->part[p->n++], "weight_zero_point", QD_I8, 1, 1, 0);
		else if (!s->sym)
			set_part(&p->part[p->n++], "weight_zero_point", QD_I32, 2, (out + k - 1) / k, gc);
		if (!fl)
			set_part(&p->part[p->n++], "weight_shape", QD_I64, 1, 2, 0);
		if (!fl && s->gran == QG_GROUP && act == QL_ACT_GROUP)
			set_part(&p->part[p->n++], "weight_g_idx", QD_I32, 1, in, 0);
		return 0;
	case QL_AWQ:
		set_part(&p->part[p->n++], "qweight", QD_I32, 2, in, out / 8);
		set_part(&p->part[p->n++], "qzeros", QD_I32, 2, gc, out / 8);
		set_part(&p->part[p->n++], "scales", QD_F16, 2, gc, out);
		return 0;
	case QL_GPTQ:
		set_part(&p->part[p->n++], "qweight", QD_I32, 2, in / k, out);
		set_part(&p->part[p->n++], "qzeros", QD_I32, 2, gc, out / k);
		set_part(&p->part[p->n++], "scales", QD_F16, 2, gc, out);
		set_part(&p->part[p->n++], "g_idx", QD_I32, 1, in, 0);
		return 0;
	case QL_FP8:
		set_part(&p->part[p->n++], "weight", QD_F8_E4M3, 2, out, in);
		if (s->gran == QG_TENSOR)
			set_part(&p->part[p->n++], "weight_scale", QD_F32, 0, 0, 0);
		else
			set_part(&p->part[p->n++], "weight_scale_inv", QD_F32, 2, gr, gc);
		return 0;
	case QL_QUARK: {
		int grp = s->gran == QG_GROUP, nd = s->gran == QG_TENSOR ? 0 : 1;
		enum qdtype zdt;

		if (fl)
			set_part(&p->part[p->n++], "weight", f8, 2, out, in);
		else if (is_int4(s->fmt) && grp)
			set_part(&p->part[p->n++], "weight", QD_I32, 2, in, out / 8);
		else if (is_int4(s->fmt))
			set_part(&p->part[p->n++], "weight", QD_I32, 2, out, in / 8);
		else
			set_part(&p->part[p->n++], "weight", s->fmt == QF_INT8 ? QD_I8 : QD_U8, 2,
			    grp ? in : out, grp ? out : in);
		if (grp)
			set_part(&p->part[p->n++], "weight_scale", QD_F32, 2, gc, out);
		else
			set_part(&p->part[p->n++], "weight_scale", QD_F32, nd, out, 0);
		if (s->sym)
			return 0;
		zdt = s->fmt == QF_INT8 ? QD_I8 : s->fmt == QF_UINT8 ? QD_U8 : QD_I32;
		if (is_int4(s->fmt) && grp)
			set_part(&p->part[p->n++], "weight_zero_point", zdt, 2, gc, out / 8);
		else if (is_int4(s->fmt))
			set_part(&p->part[p->n++], "weight_zero_point", zdt, 1, out / 8, 0);
		else if (grp)
			set_part(&p->part[p->n++], "weight_zero_point", zdt, 2, gc, out);
		else
			set_part(&p->part[p->n++], "weight_zero_point", zdt, nd, out, 0);
		return 0;
	}
	default:
		return qerr_set(e, "unknown layout");
	}
}

void
ql_packed_free(struct ql_packed *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->part[i].data);
		p->part[i].data = NULL;
	}
}

static void
put_u32(unsigned char *d, uint64_t i, uint32_t v)
{
	memcpy(d + 4 * i, &v, 4);
}

static void
put_scale(enum qdtype dt, unsigned char *d, uint64_t i, float v)
{
	uint16_t h;

	if (dt == QD_F32) {
		memcpy(d + 4 * i, &v, 4);
		return;
	}
	h = dt == QD_F16 ? qu_f32_to_f16(v) : qu_f32_to_bf16(v);
	memcpy(d + 2 * i, &h, 2);
}

static struct ql_part *
part(struct ql_packed *p, const char *suffix)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->part[i].suffix, suffix) == 0)
			return &p->part[i];
	return NULL;
}

/* Scales in the part's dtype; `transpose` writes cell (r, c) at [c][r]. */
static void
fill_scales(struct ql_part *sp, const struct qgrid *g, const float *scale, int transpose)
{
	for (int64_t r = 0; r < g->grows; r++)
		for (int64_t c = 0; c < g->gcols; c++) {
			uint64_t i = transpose ? (uint64_t)(c * g->grows + r) : (uint64_t)(r * g->gcols + c);

			put_scale(sp->dtype, sp->data, i, scale[r * g->gcols + c]);
		}
}

/* Whether ql_plan gave the weight a g_idx part. */
static int
gidx_planned(const struct ql_opts *o, const struct qscheme *s, enum ql_act_order act)
{
	return s->gran == QG_GROUP && (o->layout == QL_GPTQ ||
	    (o->layout == QL_CT && !linq_is_float(s->fmt) && act == QL_ACT_GROUP));
}

static int
gidx_trivial(const int32_t *g_idx, const struct qgrid *g)
{
	for (int64_t i = 0; i < g->cols; i++)
		if (g_idx[i] != i / g->bc)
			return 0;
	return 1;
}

/* Codes of rows o..o+7 (or k rows) at column i, as unsigned fields. */
int
ql_pack(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    const int32_t *q, const float *scale, const int32_t *zp, struct ql_packed *p,
    struct qerr *e)
{
	return ql_pack_gidx(o, s, g, QL_ACT_NONE, q, scale, zp, NULL, p, e);
}

/* g_idx[i], or contiguous groups without one */
static uint32_t
group_of_input(const int32_t *g_idx, const struct qgrid *g, int64_t i)
{
	return (uint32_t)(g_idx ? g_idx[i] : i / g->bc);
}

int
ql_pack_gidx(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    enum ql_act_order act, const int32_t *q, const float *scale, const int32_t *zp,
    const int32_t *g_idx, struct ql_packed *p, struct qerr *e)
{
	int64_t out = g->rows, in = g->cols, ng = g->gcols;
	int bits = linq_bits(s->fmt), k = bits ? 32 / bits : 1;
	int32_t zsym = linq_sym_zero(s->fmt);
	uint32_t vals[8];
	struct ql_part *w, *sc, *zz;

#define ZP(cell) (zp ? zp[cell] : zsym)
	if (ql_plan_act(o, s, g, act, p, e) < 0)
		return -1;
	for (int64_t i = 0; g_idx && i < g->cols; i++)
		if (g_idx[i] < 0 || g_idx[i] >= g->gcols)
			return qerr_set(e, "g_idx[%lld] = %d is not a group", (long long)i, (int)g_idx[i]);
	if (g_idx && !gidx_planned(o, s, act) && !gidx_trivial(g_idx, g))
		return qerr_set(e, "%s cannot store g_idx (act-order groups)", qlayout_names[o->layout]);
	for (int i = 0; i < p->n; i++)
		if ((p->part[i].data = calloc(1, p->part[i].bytes ? p->part[i].bytes : 1)) == NULL) {
			ql_packed_free(p);
			return qerr_set(e, "out of memory for %llu bytes",
			    (unsigned long long)p->part[i].bytes);
		}
	w = &p->part[0];
	sc = part(p, "weight_scale") ? part(p, "weight_scale") :
	    part(p, "scales") ? part(p, "scales") : part(p, "weight_scale_inv");
	zz = part(p, "weight_zero_point") ? part(p, "weight_zero_point") : part(p, "qzeros");

	if (linq_is_float(s->fmt)) {	/* ct float-quantized, fp8, quark fp8 */
		for (int64_t i = 0; i < out * in; i++)
			w->data[i] = (unsigned char)q[i];
		fill_scales(sc, g, scale, 0);
		return 0;
	}
	switch (o->layout) {
	case QL_CT:
		for (int64_t r = 0; r < out; r++)
			for (int64_t c = 0; c < in; c += k) {
				for (int j = 0; j < k; j++)
					vals[j] = c + j < in ? ucode(s->fmt, q[r * in + c + j]) : 0;
				put_u32(w->data, (uint64_t)(r * ((in + k - 1) / k) + c / k),
				    word_from(bits, NULL, vals));
			}
		fill_scales(sc, g, scale, 0);
		if (zz && s->gran == QG_TENSOR) {
			int8_t z = (int8_t)(ucode(s->fmt, ZP(0)) - (1u << (bits - 1)));

			memcpy(zz->data, &z, 1);
		} else if (zz) {
			/* packed along the output dimension, with the same offset */
			for (int64_t r = 0; r < out; r += k)
				for (int64_t c = 0; c < ng; c++) {
					for (int j = 0; j < k; j++)
						vals[j] = r + j < out ? ucode(s->fmt, ZP((r + j) * ng + c)) : 0;
					put_u32(zz->data, (uint64_t)(r / k * ng + c), word_from(bits, NULL, vals));
				}
		}
		{
			int64_t shp[2] = { out, in };

			memcpy(part(p, "weight_shape")->data, shp, sizeof shp);
		}
		for (int64_t i = 0; part(p, "weight_g_idx") && i < in; i++)
			put_u32(part(p, "weight_g_idx")->data, (uint64_t)i, group_of_input(g_idx, g, i));
		return 0;
	case QL_AWQ:
		for (int64_t i = 0; i < in; i++)
			for (int64_t c = 0; c < out / 8; c++) {
				for (int j = 0; j < 8; j++)
					vals[j] = ucode(s->fmt, q[(8 * c + j) * in + i]);
				put_u32(w->data, (uint64_t)(i * (out / 8) + c), word_from(4, ql_awq_order, vals));
			}
		for (int64_t gi = 0; gi < ng; gi++)
			for (int64_t c = 0; c < out / 8; c++) {
				for (int j = 0; j < 8; j++)
					vals[j] = ucode(s->fmt, ZP((8 * c + j) * ng + gi));
				put_u32(zz->data, (uint64_t)(gi * (out / 8) + c), word_from(4, ql_awq_order, vals));
			}
		fill_scales(sc, g, scale, 1);
		return 0;
	case QL_GPTQ:
		for (int64_t r = 0; r < in / k; r++)
			for (int64_t c = 0; c < out; c++) {
				for (int j = 0; j < k; j++)
					vals[j] = ucode(s->fmt, q[c * in + r * k + j]);
				put_u32(w->data, (uint64_t)(r * out + c), word_from(bits, NULL, vals));
			}
		for (int64_t gi = 0; gi < ng; gi++)
			for (int64_t c = 0; c < out / k; c++) {
				for (int j = 0; j < k; j++)	/* v1: z - 1 */
					vals[j] = ucode(s->fmt, ZP((k * c + j) * ng + gi)) - 1;
				put_u32(zz->data, (uint64_t)(gi * (out / k) + c), word_from(bits, NULL, vals));
			}
		fill_scales(sc, g, scale, 1);
		for (int64_t i = 0; i < in; i++)
			put_u32(part(p, "g_idx")->data, (uint64_t)i, group_of_input(g_idx, g, i));
		return 0;
	case QL_QUARK: {
		const uint8_t *order = o->quark_order ? NULL : ql_awq_order;
		int grp = s->gran == QG_GROUP;

		if (is_int4(s->fmt) && grp) {
			for (int64_t i = 0; i < in; i++)
				for (int64_t c = 0; c < out / 8; c++) {
					for (int j = 0; j < 8; j++)
						vals[j] = (uint32_t)q[(8 * c + j) * in + i];
					put_u32(w->data, (uint64_t)(i * (out / 8) + c), word_from(4, order, vals));
				}
			for (int64_t gi = 0; zz && gi < ng; gi++)
				for (int64_t c = 0; c < out / 8; c++) {
					for (int j = 0; j < 8; j++)
						vals[j] = (uint32_t)ZP((8 * c + j) * ng + gi);
					put_u32(zz->data, (uint64_t)(gi * (out / 8) + c), word_from(4, order, vals));
				}
		} else if (is_int4(s->fmt)) {
			for (int64_t r = 0; r < out; r++)
				for (int64_t c = 0; c < in / 8; c++) {
					for (int j = 0; j < 8; j++)
						vals[j] = (uint32_t)q[r * in + 8 * c + j];
					put_u32(w->data, (uint64_t)(r * (in / 8) + c), word_from(4, order, vals));
				}
			for (int64_t c = 0; zz && c < out / 8; c++) {
				for (int j = 0; j < 8; j++)
					vals[j] = (uint32_t)ZP(8 * c + j);
				put_u32(zz->data, (uint64_t)c, word_from(4, order, vals));
			}
		} else {	/* 8-bit: one byte per code, transposed for groups */
			for (int64_t r = 0; r < out; r++)
				for (int64_t c = 0; c < in; c++)
					w->data[grp ? c * out + r : r * in + c] = (unsigned char)q[r * in + c];
			for (int64_t r = 0; zz && r < g->grows; r++)
				for (int64_t c = 0; c < ng; c++)
					zz->data[grp ? c * g->grows + r : r * ng + c] = (unsigned char)ZP(r * ng + c);
		}
		fill_scales(sc, g, scale, grp);
		return 0;
	}
	default:
		return qerr_set(e, "unknown layout");
	}
#undef ZP
}
