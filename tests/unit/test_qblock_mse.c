/* The block formats' mse search: the vector kernels (libcommon/qblock_x86.c)
 * choose bit for bit the scales and minimums of the sequential reference
 * (qblock_choose_at at QCPU_SCALAR), on many distributions, every search
 * setting and every SIMD level the machine has; and the per-group
 * fake-quantization equals qblock_code / qblock_value element by element. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "cpu.h"
#include "dtype.h"
#include "harness.h"
#include "qblock.h"
#include "qblock_impl.h"
#include "qparams.h"
#include "qpfiles.h"
#include "safetensors.h"
#include "wsel.h"

static const enum qfmt all_blocks[] = { QF_NVFP4, QF_MXFP4, QF_Q4_0, QF_Q4_1, QF_Q5_0, QF_Q5_1,
	QF_Q8_0 };
#define N_ALL (sizeof all_blocks / sizeof all_blocks[0])

static int quick;	/* sanitizer build: fewer fixture tensors */
static int bad_total;	/* the first few differences are reported one by one */

static uint32_t rng = 12345;

static uint32_t
next_u32(void)
{
	rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
	return rng;
}

/* roughly normal, sd about 1 (sum of 6 uniforms) */
static float
gauss(void)
{
	float s = 0;

	for (int i = 0; i < 6; i++)
		s += (float)(next_u32() >> 8) / 16777216.0f;
	return (s - 3.0f) * 1.41421356f;
}

/* ---- distributions: each fills x[0..n) (n a multiple of 32) ---- */

static void
d_gauss(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = gauss() * 0.02f;
}

static void
d_zeros(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)	/* whole zero groups, and zeros of both signs */
		x[i] = (i / 32) % 3 == 0 ? 0.0f : (i / 32) % 3 == 1 ? -0.0f : (i % 5 ? 0.0f : gauss());
}

/* values on the codes' rounding boundaries under the minmax scale: each
 * group's first element sets the scale to a power of two 2^c (mxfp4: amax
 * 6 * 2^c; q4_0: max -8 * 2^c; q8_0: amax 127 * 2^c), the others are
 * E2M1's boundaries or half-integers times 2^c; some groups constant */
static void
d_ties(float *x, size_t n)
{
	static const float fp4_edges[] = { 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 6.0f };

	for (size_t i = 0; i < n; i++) {
		size_t g = i / 32;
		float p = ldexpf(1.0f, (int)(g % 9) - 6), v;

		switch (g % 3) {
		case 0: v = i % 32 ? fp4_edges[next_u32() % 8] : 6.0f; break;
		case 1: v = i % 32 ? (float)((int)(next_u32() % 32) - 16) + 0.5f : -8.0f; break;
		default: v = i % 32 ? (float)((int)(next_u32() % 255) - 128) + 0.5f : 127.0f; break;
		}
		x[i] = (i % 32 && next_u32() & 1 ? -v : v) * p;
		if (g % 7 == 3)
			x[i] = ldexpf(1.0f, (int)(g % 5) - 3);
	}
}

static void
d_huge(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)	/* up to just under f16's range for ggml's d */
		x[i] = gauss() * ldexpf(1.0f, (int)((i / 32) % 20) - 4) * 100.0f;
}

static void
d_tiny(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)	/* f16 underflows d: scales of 0 and tiny */
		x[i] = gauss() * ldexpf(1.0f, -(int)((i / 32) % 40) - 10);
}

static void
d_subnormal(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {	/* float subnormals: 1 / d overflows */
		uint32_t b = next_u32() % (i % 64 < 32 ? 0x800000u : 0x1000u);

		memcpy(&x[i], &b, 4);
		if (next_u32() & 1)
			x[i] = -x[i];
		if (i % 97 == 0)
			x[i] = 1e-30f;
	}
}

static void
d_outliers(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = gauss() * 0.01f * (next_u32() % 61 == 0 ? 300.0f : 1.0f);
}

static void
d_skewed(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)	/* one-sided groups: the minimum formats' case */
		x[i] = fabsf(gauss()) * 0.05f + ((i / 32) % 2 ? 0.3f : -0.01f);
}

static const struct {
	const char *name;
	void (*fill)(float *, size_t);
} dists[] = {
	{ "gauss", d_gauss }, { "zeros", d_zeros }, { "ties", d_ties }, { "huge", d_huge },
	{ "tiny", d_tiny }, { "subnormal", d_subnormal }, { "outliers", d_outliers },
	{ "skewed", d_skewed },
};

/* search settings: the default, a short grid, a long one (several kernel
 * calls per group), a wide shrink */
static const struct {
	int grid;
	double shrink;
} settings[] = { { 100, 0.2 }, { 7, 0.5 }, { 150, 0.2 }, { 40, 0.05 } };

static int
same_floats(const float *a, const float *b, size_t n)
{
	return a == b || (a && b && memcmp(a, b, n * sizeof *a) == 0);
}

/* One matrix, one format, one setting: every level against the reference.
 * Returns how many levels differ (and says where). */
static int
compare_levels(const char *label, const float *x, uint64_t rows, uint64_t cols, enum qfmt f,
    const struct calib_opts *o)
{
	struct qparams q0 = { 0 };
	struct qp_entry *ref = block_entry(&q0, f, rows, cols);
	struct qerr e0, e1;
	int r0 = qblock_choose_at(ref, x, o, 2, QCPU_SCALAR, &e0), bad = 0;

	for (int l = 1; l <= (int)qcpu_detected(); l++) {
		struct qparams q1 = { 0 };
		struct qp_entry *w = block_entry(&q1, f, rows, cols);
		int r1 = qblock_choose_at(w, x, o, 2, (enum qcpu_level)l, &e1);
		size_t nc = (size_t)linq_ncells(&w->g), k = 0;

		if (r0 != r1 || (r0 < 0 && strcmp(e0.msg, e1.msg) != 0)) {
			CHECKF(bad_total++ > 5, "%s %s grid %d at %s: returns %d (%s) vs %d (%s)", label,
			    qblock_info(f)->name, o->grid, qcpu_level_name((enum qcpu_level)l), r1,
			    r1 < 0 ? e1.msg : "", r0, r0 < 0 ? e0.msg : "");
			bad++;
		} else if (r0 == 0 && (!same_floats(ref->scale, w->scale, nc) ||
		    !same_floats(ref->min, w->min, nc) ||
		    memcmp(&ref->global_scale, &w->global_scale, sizeof w->global_scale) != 0)) {
			while (k < nc && !memcmp(&ref->scale[k], &w->scale[k], 4) &&
			    (!w->min || !memcmp(&ref->min[k], &w->min[k], 4)))
				k++;
			CHECKF(bad_total++ > 5, "%s %s grid %d at %s: group %zu: scale %a min %a vs reference %a %a",
			    label, qblock_info(f)->name, o->grid, qcpu_level_name((enum qcpu_level)l), k,
			    k < nc ? (double)w->scale[k] : 0.0, k < nc && w->min ? (double)w->min[k] : 0.0,
			    k < nc ? (double)ref->scale[k] : 0.0, k < nc && ref->min ? (double)ref->min[k] : 0.0);
			bad++;
		}
		qparams_free(&q1);
	}
	qparams_free(&q0);
	return bad;
}

TEST(kernels_equal_reference_generated)
{
	enum { R = 24, C = 256 };
	float *x = malloc(R * C * sizeof *x);
	int bad = 0, runs = 0;

	if (qcpu_detected() == QCPU_SCALAR) {
		t_skip("no vector level on this machine (or a scalar-only build)");
		free(x);
		return;
	}
	for (size_t d = 0; d < sizeof dists / sizeof dists[0]; d++) {
		dists[d].fill(x, R * C);
		for (size_t k = 0; k < N_ALL; k++)
			for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
				struct calib_opts o;

				calib_defaults(&o);
				o.method = CALIB_MSE;
				o.grid = settings[s].grid;
				o.shrink_min = settings[s].shrink;
				bad += compare_levels(dists[d].name, x, R, C, all_blocks[k], &o);
				runs++;
			}
	}
	CHECKF(bad == 0, "%d of %d runs differ", bad, runs);
	free(x);
}

/* every matrix of the fixture, default settings */
static void
fixture_levels(const char *rel)
{
	const char *path = t_fixture(rel);
	struct st_file f;
	struct qerr e;
	struct wsel sel = { .min_rank = 2 };
	int bad = 0, tensors = 0;

	if (path == NULL) {
		t_skip("fixture %s absent", rel);
		return;
	}
	if (qcpu_detected() == QCPU_SCALAR) {
		t_skip("no vector level on this machine (or a scalar-only build)");
		return;
	}
	CHECKF(st_open(&f, path, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < f.n_tensors && !(quick && tensors >= 3); i++) {
		const struct st_tensor *t = &f.tensors[i];
		uint64_t cols = t->shape[t->ndim - 1];
		float *x;

		if (!wsel_pick(&sel, t->name, t->dtype, t->ndim) || cols % 32)
			continue;
		CHECK(wsel_load_f32(t, &x, &e) == 0);
		for (size_t k = 0; k < N_ALL; k++) {
			struct calib_opts o;

			calib_defaults(&o);
			o.method = CALIB_MSE;
			bad += compare_levels(t->name, x, t->nelem / cols, cols, all_blocks[k], &o);
		}
		tensors++;
		free(x);
	}
	st_close(&f);
	CHECKF(bad == 0, "%d differ", bad);
	if (tensors == 0)
		t_skip("no matrix with whole groups of 32 in %s", rel);
}

TEST(kernels_equal_reference_tiny_llama) { fixture_levels("tiny-llama-bf16/model.safetensors"); }
TEST(kernels_equal_reference_tiny_qwen3) { fixture_levels("tiny-qwen3/model.safetensors"); }

/* The kernels' sums, candidate by candidate, against the element-wise
 * definition by qblock_code / qblock_value summed in order: every scale
 * kind a search can try and some it never does (0, -0, negative, f16
 * overflow, subnormal, 1/d overflowing). */
#if QU_X86_KERNELS
static double
sse_elementwise(enum qfmt f, const float *x, int n, float s, float m, float global)
{
	double sse = 0;

	for (int i = 0; i < n; i++) {
		double d = (double)x[i] - qblock_value(f, qblock_code(f, x[i], s, m, global), s, m, global);

		sse += d * d;
	}
	return sse;
}

static int
same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static float
random_scale(enum qfmt f, float amax)
{
	static const float odd[] = { 0.0f, -0.0f, 1e-45f, 1e-40f, 3e-39f, 6e-8f, 65504.0f, 70000.0f,
		1e30f, 0.125f, 448.0f };
	uint32_t r = next_u32();
	float s;

	if (r % 8 == 0)
		return odd[(r >> 3) % (sizeof odd / sizeof odd[0])];
	s = amax * (float)((r >> 8) % 2000 + 1) / 4000.0f / (f == QF_Q8_0 ? 64.0f : 4.0f);
	if (f == QF_MXFP4)
		s = s > 0 ? ldexpf(1.0f, ilogbf(s)) : 1.0f;
	if (f == QF_NVFP4)
		s = linq_fp8_decode(linq_fp8_encode(s * 100.0f, 1), 1);
	return (f == QF_Q4_0 || f == QF_Q5_0) && (r & 0x80) ? -s : s;
}

TEST(kernel_sums_equal_elementwise)
{
	static const qblock_sse_fn kernels[QCPU_NLEVELS] = { NULL, qblock_sse_avx2, qblock_sse_avx512 };
	enum { N = 64 * 32, NC = 37 };
	float *x = malloc(N * sizeof *x);
	long bad = 0, sums = 0, stopped = 0;

	if (qcpu_detected() == QCPU_SCALAR) {
		t_skip("no vector level on this machine");
		free(x);
		return;
	}
	for (size_t d = 0; d < sizeof dists / sizeof dists[0]; d++) {
		dists[d].fill(x, N);
		for (size_t k = 0; k < N_ALL; k++) {
			enum qfmt f = all_blocks[k];
			int g = qblock_info(f)->group;
			/* the minmax and mse choices as candidates too: there the
			 * ties distribution puts elements on the rounding boundaries */
			struct qparams q1 = { 0 }, q2 = { 0 };
			struct qp_entry *mm = block_entry(&q1, f, N / 256, 256), *ms = block_entry(&q2, f, N / 256, 256);
			struct calib_opts o;
			struct qerr e;
			int chosen;

			calib_defaults(&o);
			chosen = qparams_choose(mm, x, &o, 1, &e) == 0;
			o.method = CALIB_MSE;
			chosen = chosen && qparams_choose(ms, x, &o, 1, &e) == 0;
			for (int grp = 0; grp < N / g; grp += 3) {
				const float *xg = x + grp * g;
				float sc[NC], mn[NC], amax = 0, lo = 0, global = f == QF_NVFP4 ? 448.0f * (float)(grp % 5 + 1) : 1;
				int nc = 3 + (int)(next_u32() % (NC - 2));

				for (int i = 0; i < g; i++)
					amax = fmaxf(amax, fabsf(xg[i])), lo = fminf(lo, xg[i]);
				for (int c = 0; c < nc; c++) {
					sc[c] = random_scale(f, amax);
					mn[c] = qblock_info(f)->has_min ? lo * (float)(next_u32() % 5) / 3.0f : 0;
				}
				if (chosen) {
					sc[0] = mm->scale[grp], sc[1] = ms->scale[grp];
					mn[0] = mm->min ? mm->min[grp] : 0, mn[1] = ms->min ? ms->min[grp] : 0;
					if (f == QF_NVFP4)
						global = mm->global_scale;
				}
				for (int l = 1; l <= (int)qcpu_detected(); l++) {
					double got[NC], cut[NC];

					/* whole sums, then with the limit a search would pass */
					kernels[l](f, xg, g, sc, mn, global, INFINITY, nc, got);
					for (int c = 0; c < nc; c++) {
						double want = sse_elementwise(f, xg, g, sc[c], mn[c], global);

						if (!same_double(got[c], want) && bad++ < 5)
							printf("# %s %s group %d at %s: scale %a min %a: %a, want %a\n",
							    dists[d].name, qblock_info(f)->name, grp,
							    qcpu_level_name((enum qcpu_level)l), (double)sc[c],
							    (double)mn[c], got[c], want);
						sums++;
					}
					kernels[l](f, xg, g, sc, mn, global, got[0], nc, cut);
					for (int c = 0; c < nc; c++) {
						double want = sse_elementwise(f, xg, g, sc[c], mn[c], global);
						int prefix = 0;

						/* a pass that stopped early: a partial sum of
						 * the first 8, 16 or 24 elements, above the limit */
						for (int upto = 8; upto < g; upto += 8)
							prefix |= same_double(cut[c], sse_elementwise(f, xg, upto, sc[c],
							    mn[c], global)) && cut[c] > got[0];
						if (!same_double(cut[c], want) && !prefix && bad++ < 5)
							printf("# %s %s group %d at %s, limit %a: scale %a: %a, want %a\n",
							    dists[d].name, qblock_info(f)->name, grp,
							    qcpu_level_name((enum qcpu_level)l), got[0], (double)sc[c],
							    cut[c], want);
						stopped += !same_double(cut[c], want);
					}
				}
			}
			qparams_free(&q1), qparams_free(&q2);
		}
	}
	CHECKF(bad == 0, "%ld of %ld sums differ", bad, sums);
	CHECKF(stopped > 0, "no pass stopped early: the limit went untested");
	free(x);
}
#else
TEST(kernel_sums_equal_elementwise)
{
	t_skip("scalar-only build: no kernels");
}
#endif

/* qparams_fakequant and qparams_codes (per group, constants hoisted) give
 * qblock_value(qblock_code(x)) of every element, non-finite ones too */
TEST(fakequant_is_elementwise)
{
	enum { R = 8, C = 256 };
	float *x = malloc(R * C * sizeof *x), *xq = malloc(R * C * sizeof *xq);
	int32_t *q = malloc(R * C * sizeof *q);
	long bad = 0;

	for (size_t d = 0; d < sizeof dists / sizeof dists[0]; d++) {
		dists[d].fill(x, R * C);
		for (size_t k = 0; k < N_ALL; k++) {
			struct qparams qp = { 0 };
			struct qp_entry *w = block_entry(&qp, all_blocks[k], R, C);
			int g = qblock_info(all_blocks[k])->group;
			struct calib_opts o;
			struct qerr e;

			calib_defaults(&o);
			if (qparams_choose(w, x, &o, 1, &e) < 0) {	/* too large for f16: any scales */
				for (int c = 0; c < R * C / g; c++)
					w->scale[c] = 1.0f / (float)(c + 1);
				w->global_scale = 448.0f;
			}
			x[5] = NAN, x[37] = INFINITY, x[70] = -INFINITY;	/* after choosing */
			qparams_fakequant(w, x, xq, 1);
			qparams_codes(w, x, q, 1);
			for (int i = 0; i < R * C; i++) {
				float s = w->scale[i / g], m = w->min ? w->min[i / g] : 0;
				int32_t c = qblock_code(all_blocks[k], x[i], s, m, w->global_scale);
				float v = qblock_value(all_blocks[k], c, s, m, w->global_scale);

				bad += c != q[i] || memcmp(&v, &xq[i], 4) != 0;
			}
			qparams_free(&qp);
			dists[d].fill(x, R * C);
		}
	}
	CHECKF(bad == 0, "%ld elements differ", bad);
	free(x), free(xq), free(q);
}

/* q8_0's code is roundf(x / d) clamped to [-128, 127] (qblock.c rounds
 * without the library call): d = 1 over a stride through every float
 * pattern, and the half-way points around each code */
TEST(q8_0_code_is_roundf)
{
	long bad = 0;

	for (uint64_t u = 0; u < (UINT64_C(1) << 32); u += 997) {
		uint32_t b = (uint32_t)u;
		float x, r;

		memcpy(&x, &b, 4);
		if (isnan(x))
			continue;
		r = roundf(x);
		bad += qblock_code(QF_Q8_0, x, 1.0f, 0, 1) != (r <= -128.0f ? -128 : r >= 127.0f ? 127 : (int32_t)r);
	}
	for (int k = -130; k <= 130; k++)	/* k + 1/2 and its neighbours */
		for (int side = -1; side <= 1; side++) {
			float h = (float)k + 0.5f, x = side ? nextafterf(h, side * 1e9f) : h, r = roundf(x);

			bad += qblock_code(QF_Q8_0, x, 1.0f, 0, 1) != (r <= -128.0f ? -128 : r >= 127.0f ? 127 : (int32_t)r);
		}
	CHECKF(bad == 0, "%ld codes differ from roundf's", bad);
}

int
main(void)
{
	quick = getenv("QUTILS_SANITIZED") != NULL;
	RUN(kernel_sums_equal_elementwise);
	RUN(kernels_equal_reference_generated);
	RUN(kernels_equal_reference_tiny_llama);
	RUN(kernels_equal_reference_tiny_qwen3);
	RUN(fakequant_is_elementwise);
	RUN(q8_0_code_is_roundf);
	return t_done();
}
