#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dtype.h"
#include "linq.h"
#include "qblock.h"
#include "qerr.h"
#include "threads.h"

const char *const qgran_names[QG_COUNT] = { "tensor", "channel", "group", "block" };

/* The element formats linq knows, as one table. */
static const struct {
	enum qfmt fmt;
	int is_float, bits;
	int32_t qmin, qmax, sym_zero;
	float fp8_max;
} linq_formats[] = {
	{ QF_INT8, 0, 8, -128, 127, 0, 0 },
	{ QF_UINT8, 0, 8, 0, 255, 128, 0 },
	{ QF_INT4, 0, 4, -8, 7, 0, 0 },
	{ QF_UINT4, 0, 4, 0, 15, 8, 0 },
	{ QF_FP8_E4M3, 1, 8, 0, 255, 0, 448.0f },
	{ QF_FP8_E5M2, 1, 8, 0, 255, 0, 57344.0f },
};
#define N_FORMATS (sizeof linq_formats / sizeof linq_formats[0])

static int
fmt_index(enum qfmt f)
{
	for (size_t i = 0; i < N_FORMATS; i++)
		if (linq_formats[i].fmt == f)
			return (int)i;
	return -1;
}

int linq_supports(enum qfmt f) { return fmt_index(f) >= 0; }
int linq_is_float(enum qfmt f) { int i = fmt_index(f); return i >= 0 && linq_formats[i].is_float; }
int linq_bits(enum qfmt f) { int i = fmt_index(f); return i >= 0 ? linq_formats[i].bits : 0; }
float linq_fp8_max(enum qfmt f) { int i = fmt_index(f); return i >= 0 ? linq_formats[i].fp8_max : 0; }
int32_t linq_sym_zero(enum qfmt f) { int i = fmt_index(f); return i >= 0 ? linq_formats[i].sym_zero : 0; }

void
linq_qrange(enum qfmt f, int32_t *qmin, int32_t *qmax)
{
	int i = fmt_index(f);

	*qmin = i >= 0 ? linq_formats[i].qmin : 0;
	*qmax = i >= 0 ? linq_formats[i].qmax : 0;
}

int
linq_fmt_from_name(const char *name)
{
	static const struct { const char *alias; enum qfmt fmt; } aliases[] = {
		{ "fp8", QF_FP8_E4M3 }, { "e4m3", QF_FP8_E4M3 }, { "e5m2", QF_FP8_E5M2 },
		{ "float8_e4m3fn", QF_FP8_E4M3 }, { "float8_e5m2", QF_FP8_E5M2 },
	};
	for (size_t i = 0; i < N_FORMATS; i++)
		if (strcasecmp(qfmt_table[linq_formats[i].fmt].name, name) == 0)
			return (int)linq_formats[i].fmt;
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcasecmp(aliases[i].alias, name) == 0)
			return (int)aliases[i].fmt;
	return -1;
}

int
linq_grid(const struct qscheme *s, int64_t rows, int64_t cols, struct qgrid *g,
    struct qerr *e)
{
	const struct qblock_info *b = qblock_info(s->fmt);

	if (!linq_supports(s->fmt) && b == NULL)
		return qerr_set(e, "format %d is not a linear format", (int)s->fmt);
	if (rows <= 0 || cols <= 0)
		return qerr_set(e, "empty matrix [%lld, %lld]", (long long)rows, (long long)cols);
	/* a block format has one shape: its own group along whole rows */
	if (b && (s->gran != QG_GROUP || s->group != b->group || cols % b->group))
		return qerr_set(e, "%s needs groups of %d along rows of a multiple of %d columns "
		    "(%lld here)", b->name, b->group, b->group, (long long)cols);
	g->rows = rows;
	g->cols = cols;
	switch (s->gran) {
	case QG_TENSOR:
		g->br = rows, g->bc = cols;
		break;
	case QG_CHANNEL:
		if (s->axis == 0)
			g->br = 1, g->bc = cols;
		else if (s->axis == 1)
			g->br = rows, g->bc = 1;
		else
			return qerr_set(e, "channel axis %d: must be 0 or 1", s->axis);
		break;
	case QG_GROUP:
		if (s->group <= 0)
			return qerr_set(e, "group size %lld: must be positive", (long long)s->group);
		g->br = 1, g->bc = s->group;
		break;
	case QG_BLOCK:
		if (s->block[0] <= 0 || s->block[1] <= 0)
			return qerr_set(e, "block %lldx%lld: sizes must be positive",
			    (long long)s->block[0], (long long)s->block[1]);
		g->br = s->block[0], g->bc = s->block[1];
		break;
	default:
		return qerr_set(e, "unknown granularity %d", (int)s->gran);
	}
	if (g->bc > cols)
		g->bc = cols;
	if (g->br > rows)
		g->br = rows;
	g->grows = (rows + g->br - 1) / g->br;
	g->gcols = (cols + g->bc - 1) / g->bc;
	return 0;
}

int
linq_scale_shape(const struct qscheme *s, const struct qgrid *g, uint64_t shape[2])
{
	switch (s->gran) {
	case QG_TENSOR:
		return 0;
	case QG_CHANNEL:
		shape[0] = (uint64_t)(s->axis == 0 ? g->grows : g->gcols);
		return 1;
	default:
		shape[0] = (uint64_t)g->grows;
		shape[1] = (uint64_t)g->gcols;
		return 2;
	}
}

/* FP8 through dtype.c's codecs (round to nearest even), saturating both
 * formats: quantization clamps to the largest finite value, where a plain
 * E5M2 cast would overflow to infinity. */
uint8_t
linq_fp8_encode(float x, int e4m3)
{
	float max = e4m3 ? 448.0f : 57344.0f;
	uint8_t code;

	if (isnan(x))
		return (uint8_t)((signbit(x) ? 0x80 : 0) | 0x7f);
	if (x > max)
		x = max;
	else if (x < -max)
		x = -max;
	code = qu_f32_to_fp8(e4m3 ? QD_F8_E4M3 : QD_F8_E5M2, x);
	return code;
}

float
linq_fp8_decode(uint8_t code, int e4m3)
{
	return qu_fp8_to_f32(e4m3 ? QD_F8_E4M3 : QD_F8_E5M2, code);
}

int32_t
linq_quant1(enum qfmt f, float x, float scale, int32_t zp)
{
	int32_t qmin, qmax;
	float r;

	if (f == QF_FP8_E4M3 || f == QF_FP8_E5M2)
		return linq_fp8_encode(x / scale, f == QF_FP8_E4M3);
	linq_qrange(f, &qmin, &qmax);
	r = nearbyintf(x / scale);
	if (isnan(r))
		return zp;
	/* clamp in float first: r may be far outside int32 */
	if (r < (float)(qmin - zp))
		return qmin;
	if (r > (float)(qmax - zp))
		return qmax;
	return (int32_t)r + zp;	/* the reference; linq_qint is the same, faster */
}

float
linq_dequant1(enum qfmt f, int32_t q, float scale, int32_t zp)
{
	if (f == QF_FP8_E4M3 || f == QF_FP8_E5M2)
		return linq_fp8_decode((uint8_t)q, f == QF_FP8_E4M3) * scale;
	return (float)(q - zp) * scale;
}

struct rows_ctx {
	const struct qscheme *s;
	const struct qgrid *g;
	const float *x;
	const float *scale;
	const int32_t *zp;
	int32_t *q;
	const int32_t *qin;
	float *out;
	int mode;		/* 0 quantize, 1 dequantize, 2 fake-quantize */
};

static void
rows_body(void *vctx, size_t b, size_t end, int worker)
{
	const struct rows_ctx *c = vctx;
	const struct qgrid *g = c->g;
	enum qfmt f = c->s->fmt;
	int32_t zsym = linq_sym_zero(f), qmin, qmax;
	int fl = linq_is_float(f);

	(void)worker;
	linq_qrange(f, &qmin, &qmax);
	for (size_t r = b; r < end; r++) {
		int64_t cellrow = (int64_t)r / g->br * g->gcols;
		size_t base = r * (size_t)g->cols;

		for (int64_t c0 = 0; c0 < g->cols; c0 += g->bc) {
			int64_t cell = cellrow + c0 / g->bc, c1 = c0 + g->bc;
			float sc = c->scale[cell];
			int32_t z = c->zp ? c->zp[cell] : zsym;

			if (c1 > g->cols)
				c1 = g->cols;
			if (fl) {
				for (int64_t k = c0; k < c1; k++) {
					size_t i = base + (size_t)k;

					if (c->mode == 0)
						c->q[i] = linq_quant1(f, c->x[i], sc, z);
					else if (c->mode == 1)
						c->out[i] = linq_dequant1(f, c->qin[i], sc, z);
					else
						c->out[i] = linq_dequant1(f, linq_quant1(f, c->x[i], sc, z), sc, z);
				}
				continue;
			}
			/* integers: one loop per mode, nothing looked up per element */
			if (c->mode == 0)
				for (int64_t k = c0; k < c1; k++)
					c->q[base + (size_t)k] = linq_qint(c->x[base + (size_t)k], sc, z, qmin, qmax);
			else if (c->mode == 1)
				for (int64_t k = c0; k < c1; k++)
					c->out[base + (size_t)k] = (float)(c->qin[base + (size_t)k] - z) * sc;
			else
				for (int64_t k = c0; k < c1; k++)
					c->out[base + (size_t)k] =
					    (float)(linq_qint(c->x[base + (size_t)k], sc, z, qmin, qmax) - z) * sc;
		}
	}
}

static void
run_rows(struct rows_ctx *c, int jobs)
{
	size_t grain = (size_t)(16384 / c->g->cols) + 1;

	qpool_for(jobs, (size_t)c->g->rows, grain, rows_body, c);
}

void
linq_quantize(const struct qscheme *s, const struct qgrid *g, const float *x,
    const float *scale, const int32_t *zp, int32_t *q, int jobs)
{
	struct rows_ctx c = { s, g, x, scale, zp, q, NULL, NULL, 0 };

	run_rows(&c, jobs);
}

void
linq_dequantize(const struct qscheme *s, const struct qgrid *g, const int32_t *q,
    const float *scale, const int32_t *zp, float *x, int jobs)
{
	struct rows_ctx c = { s, g, NULL, scale, zp, NULL, q, x, 1 };

	run_rows(&c, jobs);
}

void
linq_fakequant(const struct qscheme *s, const struct qgrid *g, const float *x,
    const float *scale, const int32_t *zp, float *out, int jobs)
{
	struct rows_ctx c = { s, g, x, scale, zp, NULL, NULL, out, 2 };

	run_rows(&c, jobs);
}

int
linq_scheme_equal(const struct qscheme *a, const struct qscheme *b)
{
	return a->fmt == b->fmt && a->sym == b->sym && a->gran == b->gran &&
	    (a->gran != QG_CHANNEL || a->axis == b->axis) &&
	    (a->gran != QG_GROUP || a->group == b->group) &&
	    (a->gran != QG_BLOCK || (a->block[0] == b->block[0] && a->block[1] == b->block[1]));
}
