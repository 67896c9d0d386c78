/* qcalib: choose scales and zero points for a checkpoint's weights and
 * write them as a qparams file (man/qparams.5), with a report of the error
 * each method gives beside min-max. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awq.h"
#include "budget.h"
#include "calib.h"
#include "ckpt.h"
#include "cli.h"
#include "gptq.h"
#include "imatrix.h"
#include "importance.h"
#include "qblock.h"
#include "qparams.h"
#include "threads.h"
#include "wsel.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: qcalib [-m method] [-f format] [-g size | --per-channel | --per-tensor |\n"
	    "              --block RxC] [--sym | --asym] [--percentile P] [--grid N]\n"
	    "              [--shrink-min F] [--include pattern] [--exclude pattern]\n"
	    "              [--report] [--json] [-j jobs] [-q] input [-o qparams]\n"
	    "       qcalib --bits-budget bits --formats list [--captures file | --imatrix file]\n"
	    "              [-m method] [options] input [-o qparams]\n"
	    "       qcalib --captures file [--act-method method] [--act-format f] [input] -o qparams\n"
	    "       qcalib -m gptq --captures file [--damp f] [--act-order [--static-groups]]\n"
	    "              [-f format] [-g size | --per-channel | --per-tensor] input -o qparams\n"
	    "       qcalib -m awq (--captures file | --imatrix file) [--duo] [--no-clip]\n"
	    "              [-f format] [-g size] [options] input [-o qparams]\n"
	    "       qcalib -m smoothquant --captures file [--alpha A] [--act-ranges] input [-o qparams]\n"
	    "\n"
	    "input: a .safetensors file, a checkpoint folder (one file or shards), or -.\n"
	    "\n"
	    "  -m method        minmax (default), mse, percentile; awq, smoothquant\n"
	    "                   (activation-aware: smoothing factors W.smooth from inputs);\n"
	    "                   gptq (with --captures: W.input F32 [n, in] per weight W)\n"
	    "                   writes GPTQ's codes too\n"
	    "  -f format        int8 (default), uint8, int4, uint4, fp8_e4m3, fp8_e5m2,\n"
	    "                   nvfp4, mxfp4, q4_0, q4_1, q5_0, q5_1, q8_0 (their own groups)\n"
	    "  -g size          one scale per group of size elements along each row\n"
	    "  --per-channel    one scale per output row (default without -g)\n"
	    "  --per-tensor     one scale per tensor\n"
	    "  --block RxC      one scale per R x C block (e.g. 128x128)\n"
	    "  --sym, --asym    symmetric (default for int and fp8) or with zero points\n"
	    "                   (default for uint)\n"
	    "  --percentile P   percentile method: clip at the P-th percentile (99.9)\n"
	    "  --grid N         mse method: N shrink factors (100) ...\n"
	    "  --shrink-min F   ... from 1 down to F (0.2)\n"
	    "  --include PAT    quantize tensors matching PAT even if excluded by default\n"
	    "  --exclude PAT    leave tensors matching PAT alone (lm_head, embed, norm are)\n"
	    "  --bits-budget B  mixed precision: per-tensor formats from --formats with\n"
	    "                   at most B bits per weight on average and the least error\n"
	    "  --formats list   e.g. int4-g128,int8,none (FORMAT[-gN|-ch|-t|-bRxC][-sym|-asym];\n"
	    "                   none keeps the tensor in float)\n"
	    "  --captures file  activation ranges (A.range) for every tensor of file;\n"
	    "                   with --bits-budget, W.input weights each input channel\n"
	    "  --act-method m   minmax (default), percentile, mse, entropy (KL)\n"
	    "  --act-format f   the activations' format for mse: uint8 (default), int8\n"
	    "  --damp f         gptq: damping, a fraction of the mean diagonal (0.01)\n"
	    "  --act-order      gptq: columns by decreasing activation energy; groups\n"
	    "                   follow that order (W.g_idx)\n"
	    "  --static-groups  gptq: group scales from the original weights, groups\n"
	    "                   contiguous (GGUF, awq and quark can hold it)\n"
	    "  --imatrix file   llama.cpp importance matrix (mean x^2 per input channel):\n"
	    "                   weights --bits-budget's errors; awq: instead of captures\n"
	    "  --duo            awq: AutoAWQ's duo scaling (x^a / w^(1-a))\n"
	    "  --no-clip        awq: no clipping search\n"
	    "  --alpha A        smoothquant: migration strength in [0, 1] (0.5)\n"
	    "  --act-ranges     smoothquant: also write the ranges of x / s (W8A8)\n"
	    "  --report         per-tensor SQNR, RMSE and max error beside min-max\n"
	    "  --json           the report as JSON\n"
	    "  -o file          the qparams file (- for standard output)\n"
	    "  -j jobs          threads (default: all cores)\n"
	    "  -q               no progress display\n"
	    "  --help, --version\n");
}

enum { OPT_SYM = 256, OPT_ASYM, OPT_PCH, OPT_PT, OPT_BLOCK, OPT_PCT, OPT_GRID, OPT_SHRINK,
	OPT_INC, OPT_EXC, OPT_REPORT, OPT_JSON, OPT_BUDGET, OPT_FORMATS, OPT_CAPT, OPT_ACTM, OPT_ACTF,
	OPT_DAMP, OPT_ACTORDER, OPT_STATIC, OPT_IMATRIX, OPT_DUO, OPT_NOCLIP, OPT_ALPHA, OPT_ACTR,
	OPT_HELP, OPT_VERSION };

static const struct option longopts[] = {
	{ "sym", no_argument, NULL, OPT_SYM }, { "asym", no_argument, NULL, OPT_ASYM },
	{ "per-channel", no_argument, NULL, OPT_PCH }, { "per-tensor", no_argument, NULL, OPT_PT },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "percentile", required_argument, NULL, OPT_PCT },
	{ "grid", required_argument, NULL, OPT_GRID },
	{ "shrink-min", required_argument, NULL, OPT_SHRINK },
	{ "include", required_argument, NULL, OPT_INC }, { "exclude", required_argument, NULL, OPT_EXC },
	{ "report", no_argument, NULL, OPT_REPORT }, { "json", no_argument, NULL, OPT_JSON },
	{ "bits-budget", required_argument, NULL, OPT_BUDGET },
	{ "formats", required_argument, NULL, OPT_FORMATS },
	{ "captures", required_argument, NULL, OPT_CAPT },
	{ "act-method", required_argument, NULL, OPT_ACTM },
	{ "act-format", required_argument, NULL, OPT_ACTF },
	{ "damp", required_argument, NULL, OPT_DAMP }, { "act-order", no_argument, NULL, OPT_ACTORDER },
	{ "static-groups", no_argument, NULL, OPT_STATIC },
	{ "imatrix", required_argument, NULL, OPT_IMATRIX }, { "duo", no_argument, NULL, OPT_DUO },
	{ "no-clip", no_argument, NULL, OPT_NOCLIP }, { "alpha", required_argument, NULL, OPT_ALPHA },
	{ "act-ranges", no_argument, NULL, OPT_ACTR },
	{ "help", no_argument, NULL, OPT_HELP }, { "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct row {
	char *name;
	char shape[64];
	struct calib_err chosen, minmax;
};

static double
num_arg(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == 0 || *end || !(v >= lo && v <= hi))
		cli_usage_error("%s %s: expected a number in [%g, %g]", opt, s, lo, hi);
	return v;
}

static void
json_num(FILE *f, const char *key, double v, int comma)
{
	if (isfinite(v))
		fprintf(f, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
	else
		fprintf(f, "\"%s\": null%s", key, comma ? ", " : "");
}

static void
json_name(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
report(FILE *f, int json, const char *method, const struct row *rows, size_t n)
{
	struct calib_err tc = { 0 }, tm = { 0 };

	for (size_t i = 0; i < n; i++) {
		calib_err_add(&tc, &rows[i].chosen);
		calib_err_add(&tm, &rows[i].minmax);
	}
	if (json) {
		fprintf(f, "{\"method\": \"%s\", \"tensors\": [", method);
		for (size_t i = 0; i < n; i++) {
			const struct row *r = &rows[i];

			fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
			json_name(f, r->name);
			fprintf(f, ", \"shape\": %s, ", r->shape);
			json_num(f, "sqnr_db", calib_sqnr_db(&r->chosen), 1);
			json_num(f, "rmse", calib_rmse(&r->chosen), 1);
			json_num(f, "max_error", r->chosen.max_abs, 1);
			fprintf(f, "\"minmax\": {");
			json_num(f, "sqnr_db", calib_sqnr_db(&r->minmax), 1);
			json_num(f, "rmse", calib_rmse(&r->minmax), 1);
			json_num(f, "max_error", r->minmax.max_abs, 0);
			fprintf(f, "}}");
		}
		fprintf(f, "\n], \"total\": {");
		json_num(f, "sqnr_db", calib_sqnr_db(&tc), 1);
		json_num(f, "rmse", calib_rmse(&tc), 1);
		json_num(f, "max_error", tc.max_abs, 1);
		fprintf(f, "\"minmax\": {");
		json_num(f, "sqnr_db", calib_sqnr_db(&tm), 1);
		json_num(f, "rmse", calib_rmse(&tm), 1);
		json_num(f, "max_error", tm.max_abs, 0);
		fprintf(f, "}}}\n");
		return;
	}
	fprintf(f, "%-44s %-12s %9s %9s %7s %10s %10s %10s %10s\n", "tensor", "shape",
	    "SQNR/dB", "minmax", "gain", "RMSE", "minmax", "max err", "minmax");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double a = calib_sqnr_db(&r->chosen), b = calib_sqnr_db(&r->minmax);

		fprintf(f, "%-44s %-12s %9.2f %9.2f %+7.2f %10.3g %10.3g %10.3g %10.3g\n", r->name,
		    r->shape, a, b, isfinite(a - b) ? a - b : 0.0, calib_rmse(&r->chosen),
		    calib_rmse(&r->minmax), r->chosen.max_abs, r->minmax.max_abs);
	}
	fprintf(f, "%-44s %-12s %9.2f %9.2f %+7.2f %10.3g %10.3g %10.3g %10.3g\n",
	    "total", method, calib_sqnr_db(&tc), calib_sqnr_db(&tm),
	    isfinite(calib_sqnr_db(&tc) - calib_sqnr_db(&tm)) ? calib_sqnr_db(&tc) - calib_sqnr_db(&tm) : 0.0,
	    calib_rmse(&tc), calib_rmse(&tm), tc.max_abs, tm.max_abs);
}

/* ---- mixed precision under a bit budget ---- */

#define MAX_CANDS 8

struct cand {
	char label[48];
	struct qscheme s;
	int none;		/* keep in float */
};

/* FORMAT[-gN|-ch|-t|-bRxC][-sym|-asym], or none. */
static int
parse_cands(const char *list, struct cand *c)
{
	char buf[512], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof buf, "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char part[48], *ps = NULL, *t;
		struct cand *k = &c[n];
		int f;

		if (n == MAX_CANDS)
			cli_usage_error("--formats: at most %d formats", MAX_CANDS);
		memset(k, 0, sizeof *k);
		snprintf(k->label, sizeof k->label, "%s", tok);
		if (strcmp(tok, "none") == 0) {
			k->none = 1;
			n++;
			continue;
		}
		snprintf(part, sizeof part, "%s", tok);
		t = strtok_r(part, "-", &ps);
		if (t == NULL || (f = qscheme_fmt_from_name(t)) < 0)
			cli_usage_error("--formats %s: unknown format", tok);
		k->s.fmt = (enum qfmt)f;
		k->s.sym = linq_is_float(k->s.fmt) || !(f == QF_UINT4 || f == QF_UINT8);
		k->s.gran = linq_is_float(k->s.fmt) ? QG_TENSOR : QG_CHANNEL;
		if (qblock_info(k->s.fmt))	/* a block format has its own group */
			k->s.gran = QG_GROUP, k->s.group = qblock_info(k->s.fmt)->group;
		while ((t = strtok_r(NULL, "-", &ps)) != NULL) {
			long long a, b;
			char x;

			if (t[0] == 'g' && sscanf(t + 1, "%lld%c", &a, &x) == 1 && a > 0)
				k->s.gran = QG_GROUP, k->s.group = a;
			else if (strcmp(t, "ch") == 0)
				k->s.gran = QG_CHANNEL, k->s.axis = 0;
			else if (strcmp(t, "t") == 0)
				k->s.gran = QG_TENSOR;
			else if (t[0] == 'b' && sscanf(t + 1, "%lldx%lld", &a, &b) == 2 && a > 0 && b > 0)
				k->s.gran = QG_BLOCK, k->s.block[0] = a, k->s.block[1] = b;
			else if (strcmp(t, "sym") == 0)
				k->s.sym = 1;
			else if (strcmp(t, "asym") == 0 && !linq_is_float(k->s.fmt))
				k->s.sym = 0;
			else
				cli_usage_error("--formats %s: what is \"%s\"?", tok, t);
		}
		n++;
	}
	if (n == 0)
		cli_usage_error("--formats: empty list");
	return n;
}

/* Bits per element of a scheme (qscheme_bits), or of the float tensor. */
static double
cand_bits(const struct cand *c, const struct st_tensor *t, const struct qgrid *g)
{
	return c->none ? qdtype_table[t->dtype].bits : qscheme_bits(&c->s, g);
}

/* x fake-quantized under s with scales chosen by co, into xq. */
static void
fake_with(const struct qscheme *s, const struct st_tensor *t, const float *x,
    const struct calib_opts *co, float *xq, int jobs, const char *input)
{
	struct qparams tmp = { 0 };
	struct qp_entry *w;
	struct qerr e;

	if ((w = qparams_add(&tmp, t->name, s, t->ndim, t->shape, &e)) == NULL ||
	    qparams_choose(w, x, co, jobs, &e) < 0)
		cli_die("%s: %s: %s", input, t->name, e.msg);
	qparams_fakequant(w, x, xq, jobs);
	qparams_free(&tmp);
}

/* The qparams file, written atomically (dies on error). */
static void
write_qparams(const struct qparams *qp, const char *out)
{
	struct cli_out o;
	struct qerr e;

	cli_out_open(&o, out, 1);
	if (qparams_write(qp, o.f, &e) < 0) {
		cli_out_abort(&o);
		cli_die("%s: %s", out, e.msg);
	}
	cli_out_commit(&o);
}

static void
budget_plan(struct ckpt *ck, const struct wsel *sel, const struct calib_opts *co, double budget,
    const char *formats, const char *out, int jobs, int quiet, const char *input,
    const struct importance_src *isrc)
{
	struct cand c[MAX_CANDS];
	int k = parse_cands(formats, c), *choice;
	size_t n = 0, cap = ck->n_tensors;
	size_t *idx = calloc(cap + 1, sizeof *idx);
	double *bits = calloc((cap + 1) * (size_t)k, sizeof *bits), *err = calloc((cap + 1) * (size_t)k, sizeof *err);
	double *nelem = calloc(cap + 1, sizeof *nelem), *x2 = calloc(cap + 1, sizeof *x2);
	double tot_b = 0, tot_n = 0, tot_e = 0, tot_x2 = 0;
	struct qparams qp = { 0 };
	struct qerr e;
	struct cli_progress prog;
	FILE *rep = out && strcmp(out, "-") == 0 ? stderr : stdout;
	cJSON *plan, *fl;

	choice = calloc(cap + 1, sizeof *choice);
	if (!idx || !bits || !err || !nelem || !x2 || !choice)
		cli_die("out of memory");
	int weighted = isrc->captures || isrc->imatrix;
	size_t n_weighted = 0;

	cli_progress_start(&prog, "measuring", ck->n_tensors, quiet);
	for (size_t i = 0; i < ck->n_tensors; i++) {
		const struct st_tensor *t = ck->tensors[i].t;
		int64_t rows, cols;
		float *x, *xq, *imp = NULL;

		cli_progress_add(&prog, 1);
		if (!wsel_pick(sel, t->name, t->dtype, t->ndim))
			continue;
		if (qparams_matrix(t->ndim, t->shape, &rows, &cols, &e) < 0)
			cli_die("%s: %s: %s", input, t->name, e.msg);
		if (wsel_load_f32(t, &x, &e) < 0)
			cli_die("%s: %s", input, e.msg);
		if ((xq = malloc((size_t)t->nelem * sizeof *xq)) == NULL)
			cli_die("out of memory");
		if (weighted) {	/* error weighted by each input channel's importance */
			int found;

			if ((imp = malloc((size_t)cols * sizeof *imp)) == NULL)
				cli_die("out of memory");
			if ((found = importance_for(isrc, t->name, cols, imp, &e)) < 0)
				cli_die_err(&e);
			if (!found) {
				free(imp);
				imp = NULL;
			}
			n_weighted += found;
		}
		x2[n] = importance_energy(x, rows, cols, imp);
		idx[n] = i;
		nelem[n] = (double)t->nelem;
		for (int j = 0; j < k; j++) {
			struct qgrid g = { 0 };

			if (c[j].none) {
				bits[n * (size_t)k + j] = cand_bits(&c[j], t, &g);
				err[n * (size_t)k + j] = 0;
				continue;
			}
			if (linq_grid(&c[j].s, rows, cols, &g, &e) < 0 ||
			    (c[j].s.gran == QG_GROUP && cols % c[j].s.group)) {
				err[n * (size_t)k + j] = INFINITY;
				continue;
			}
			fake_with(&c[j].s, t, x, co, xq, jobs, input);
			err[n * (size_t)k + j] = importance_sse(x, xq, rows, cols, imp);
			bits[n * (size_t)k + j] = cand_bits(&c[j], t, &g);
		}
		free(imp);
		free(x);
		free(xq);
		wsel_release(ck->tensors[i].file, t);
		n++;
	}
	cli_progress_end(&prog);
	if (n == 0)
		cli_die("%s: no tensor to calibrate", input);
	if (budget_choose(n, k, bits, err, nelem, budget, choice, &e) < 0)
		cli_die("--bits-budget: %s", e.msg);
	if (weighted && n_weighted == 0)
		cli_die("%s: no importance for any weight", isrc->captures ? "--captures" : "--imatrix");
	if (weighted && n_weighted < n)
		cli_warn("%zu of %zu weights have no importance: their error is unweighted",
		    n - n_weighted, n);

	/* the chosen schemes' scales, computed again (deterministic) */
	plan = cJSON_CreateObject();
	cJSON_AddNumberToObject(plan, "bits_budget", budget);
	cJSON_AddStringToObject(plan, "formats", formats);
	if (weighted)
		cJSON_AddStringToObject(plan, "weighted_by", isrc->captures ? "captures" : "imatrix");
	fl = cJSON_AddArrayToObject(plan, "float");
	fprintf(rep, "%-44s %-16s %8s %9s\n", "tensor", "format", "bits", weighted ? "wSQNR/dB" : "SQNR/dB");
	for (size_t m = 0; m < n; m++) {
		const struct st_tensor *t = ck->tensors[idx[m]].t;
		const struct cand *cc = &c[choice[m]];
		double em = err[m * (size_t)k + choice[m]];

		tot_b += bits[m * (size_t)k + choice[m]] * nelem[m];
		tot_n += nelem[m];
		tot_e += em;
		tot_x2 += x2[m];
		fprintf(rep, "%-44s %-16s %8.3f %9.2f\n", t->name, cc->label, bits[m * (size_t)k + choice[m]],
		    em > 0 ? 10 * log10(x2[m] / em) : INFINITY);
		if (cc->none) {
			cJSON_AddItemToArray(fl, cJSON_CreateString(t->name));
		} else {
			struct qp_entry *w = qparams_add(&qp, t->name, &cc->s, t->ndim, t->shape, &e);
			float *x;

			if (w == NULL || wsel_load_f32(t, &x, &e) < 0 ||
			    qparams_choose(w, x, co, jobs, &e) < 0)
				cli_die("%s: %s", input, e.msg);
			snprintf(w->method, sizeof w->method, "%s", calib_method_names[co->method]);
			w->sqnr_db = em > 0 ? 10 * log10(x2[m] / em) : NAN;
			free(x);
		}
	}
	cJSON_AddNumberToObject(plan, "bits", tot_b / tot_n);
	qp.plan = cJSON_PrintUnformatted(plan);
	cJSON_Delete(plan);
	fprintf(rep, "%-44s %-16s %8.3f %9.2f\n", "plan", "", tot_b / tot_n, 10 * log10(tot_x2 / tot_e));
	for (int j = 0; j < k; j++) {	/* the uniform choices, for comparison */
		double b = 0, r = 0;
		int ok = 1;

		for (size_t m = 0; m < n; m++) {
			ok &= !isinf(err[m * (size_t)k + j]);
			b += bits[m * (size_t)k + j] * nelem[m];
			r += err[m * (size_t)k + j];
		}
		if (ok)
			fprintf(rep, "%-44s %-16s %8.3f %9.2f\n", "uniform", c[j].label, b / tot_n,
			    r > 0 ? 10 * log10(tot_x2 / r) : INFINITY);
		else
			fprintf(rep, "%-44s %-16s %8s %9s\n", "uniform", c[j].label, "-", "n/a");
	}
	if (out)
		write_qparams(&qp, out);
	qparams_free(&qp);
	free(idx), free(bits), free(err), free(nelem), free(x2), free(choice);
}

/* AWQ or SmoothQuant (awq.h): smoothing factors and scales from inputs. */
static void
smooth_calib(struct ckpt *ck, const struct wsel *sel, struct awq_job *j, const char *captures,
    const char *imatrix, const char *out, int want_report, int json, const char *input)
{
	struct awq_source src = { NULL, NULL };
	struct st_file cf;
	struct imatrix im;
	struct qparams qp = { 0 };
	struct awq_result *res;
	struct row *rows;
	size_t n;
	struct qerr e;

	if (captures && st_open(&cf, captures, &e) < 0)
		cli_die_err(&e);
	if (imatrix && imatrix_load(&im, imatrix, &e) < 0)
		cli_die_err(&e);
	src.captures = captures ? &cf : NULL;
	src.im = imatrix ? &im : NULL;
	if (awq_run(&qp, ck, sel, &src, j, &res, &n, &e) < 0)
		cli_die("%s: %s", captures ? captures : imatrix, e.msg);
	if (qp.n_w == 0)
		cli_warn("%s: no tensor to calibrate (float *.weight of rank >= 2, not excluded)", input);
	if (out)
		write_qparams(&qp, out);
	if (want_report) {
		FILE *f = out && strcmp(out, "-") == 0 ? stderr : stdout;

		if ((rows = calloc(n + 1, sizeof *rows)) == NULL)
			cli_die("out of memory");
		for (size_t i = 0; i < n; i++) {
			const struct qp_entry *w = qparams_find(&qp, res[i].name);

			rows[i].name = (char *)res[i].name;
			snprintf(rows[i].shape, sizeof rows[i].shape, "[%llu, %llu]",
			    (unsigned long long)w->g.rows, (unsigned long long)w->g.cols);
			rows[i].chosen = res[i].chosen;
			rows[i].minmax = res[i].base;
		}
		if (!json)
			fprintf(f, "# layer output error on the %s; \"minmax\": %s\n",
			    captures ? "captured inputs" : "importance matrix (diagonal)",
			    j->method == AWQ_AWQ ? "round-to-nearest, same scheme" : "W8A8 without smoothing");
		report(f, json, j->method == AWQ_AWQ ? "awq" : "smoothquant", rows, n);
		free(rows);
	}
	free(res);
	qparams_free(&qp);
	if (captures)
		st_close(&cf);
	if (imatrix)
		imatrix_free(&im);
}

/* Activation ranges of every tensor of a captures file, into qp. */
static void
act_ranges(struct qparams *qp, const char *path, enum act_method m, enum qfmt f, double pct)
{
	struct st_file cf;
	struct qerr e;

	if (st_open(&cf, path, &e) < 0)
		cli_die_err(&e);
	if ((qp->a = calloc(cf.n_tensors + 1, sizeof *qp->a)) == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < cf.n_tensors; i++) {
		const struct st_tensor *t = &cf.tensors[i];
		struct qp_range *a = &qp->a[qp->n_a];
		float *x;

		if (t->nelem == 0)
			continue;
		if (wsel_load_f32(t, &x, &e) < 0)
			cli_die("%s: %s", path, e.msg);
		if ((a->name = strdup(t->name)) == NULL || (a->minmax = malloc(2 * sizeof(float))) == NULL)
			cli_die("out of memory");
		if (calib_act_range(x, (size_t)t->nelem, m, f, pct, a->minmax, &e) < 0)
			cli_die("%s: %s: %s", path, t->name, e.msg);
		qp->n_a++;
		free(x);
	}
	st_close(&cf);
}

/* ---- GPTQ: scales, g_idx and codes from captured inputs ---- */

struct gptq_plan {
	struct st_file capt;
	const char *path;
	struct gptq_opts o;
	FILE *spill;			/* every tensor's codes, mapped when all are done */
	uint64_t spilled;
	uint64_t *offset;		/* per qparams entry */
};

/* The report's output SQNR is measured on the first captured rows only:
 * it costs rows * cols per row, as much as GPTQ itself for a few hundred. */
#define REPORT_ROWS 128

/* Sum over samples of |x W^T|^2: the signal of the output SQNR. */
static double
output_energy(const float *w, int64_t rows, int64_t cols, const float *x, int64_t n)
{
	double e = 0;

	for (int64_t t = 0; t < n; t++)
		for (int64_t r = 0; r < rows; r++) {
			double d = 0;

			for (int64_t k = 0; k < cols; k++)
				d += (double)x[t * cols + k] * w[r * cols + k];
			e += d * d;
		}
	return e;
}

/* GPTQ on one tensor into entry w; row gets the layer output error of GPTQ
 * and, for comparison, of round-to-nearest with min-max scales. */
static void
gptq_tensor(struct gptq_plan *gp, struct qp_entry *w, const float *x0, const struct calib_opts *co,
    struct row *row, const char *input)
{
	/* scales as GPTQ checkpoints, AWQ and GGUF store them (F16), so that
	 * the codes stay right after packing */
	static const struct ql_opts f16 = { QL_AWQ, 0, QD_F16 };
	int64_t rows = w->g.rows, cols = w->g.cols, n, nc = linq_ncells(&w->g);
	char cname[1100];
	const struct st_tensor *ct;
	float *x = malloc((size_t)(rows * cols) * sizeof *x), *xin, *wq, *sc;
	int32_t *q = malloc((size_t)(rows * cols) * sizeof *q), *gi = NULL, *zz;
	unsigned char *codes;
	struct calib_opts mm = *co;
	struct qerr e;
	double sig;
	int64_t nr;	/* samples the report measures: the first REPORT_ROWS */

	snprintf(cname, sizeof cname, "%s.input", w->name);
	ct = st_find(&gp->capt, cname);
	if (ct == NULL || ct->dtype != QD_F32 || ct->ndim != 2 || ct->shape[1] != (uint64_t)cols ||
	    ct->shape[0] == 0)
		cli_die("%s: %s: F32 [n, %lld] expected%s", gp->path, cname, (long long)cols,
		    ct ? "" : ", absent");
	n = (int64_t)ct->shape[0];
	xin = malloc((size_t)ct->nelem * sizeof *xin);
	wq = malloc((size_t)(rows * cols) * sizeof *wq);
	sc = malloc((size_t)nc * sizeof *sc);
	zz = malloc((size_t)nc * sizeof *zz);
	codes = malloc((size_t)(rows * cols));
	if (w->s.gran == QG_GROUP)
		gi = malloc((size_t)cols * sizeof *gi);
	if (!x || !q || !xin || !wq || !sc || !zz || !codes || (w->s.gran == QG_GROUP && !gi))
		cli_die("out of memory");
	memcpy(x, x0, (size_t)(rows * cols) * sizeof *x);
	memcpy(xin, ct->data, (size_t)ct->nelem * sizeof *xin);	/* aligned copy */
	if (gptq_run(&w->s, &w->g, x, xin, n, &gp->o, co, &f16, w->scale, w->zp, q, gi, &e) < 0)
		cli_die("%s: %s: %s", input, w->name, e.msg);
	if (gi && gp->o.act_order && !gp->o.static_groups) {
		w->act_order = QP_ACT_GROUP;
		w->g_idx = gi;
		gi = NULL;
	} else if (w->s.gran == QG_GROUP && gp->o.act_order) {
		w->act_order = QP_ACT_STATIC;
	}
	gptq_dequantize(&w->s, &w->g, q, w->scale, w->zp, w->g_idx, wq);
	{	/* the weight error, as the other methods record it */
		struct calib_err we;

		calib_measure(x0, wq, (size_t)(rows * cols), &we);
		w->sqnr_db = calib_sqnr_db(&we);
		w->rmse = calib_rmse(&we);
		w->max_error = we.max_abs;
	}
	nr = n < REPORT_ROWS ? n : REPORT_ROWS;
	sig = output_energy(x0, rows, cols, xin, nr);
	row->chosen = (struct calib_err){ sig, gptq_output_sse(x0, wq, rows, cols, xin, nr), 0,
		(uint64_t)(rows * nr) };
	for (int64_t i = 0; i < rows * cols; i++) {
		double d = fabs((double)x0[i] - wq[i]);

		if (d > row->chosen.max_abs)
			row->chosen.max_abs = d;
		codes[i] = (unsigned char)q[i];	/* I8 two's complement or U8 */
	}
	mm.method = CALIB_MINMAX;			/* the baseline: round to nearest */
	if (calib_choose(&w->s, &w->g, x0, &mm, sc, zz, 1, &e) < 0 ||
	    ql_round_scales(QD_F16, sc, (size_t)nc, &e) < 0)
		cli_die("%s: %s: %s", input, w->name, e.msg);
	linq_fakequant(&w->s, &w->g, x0, sc, w->s.sym ? NULL : zz, wq, gp->o.jobs);
	row->minmax = (struct calib_err){ sig, gptq_output_sse(x0, wq, rows, cols, xin, nr), 0,
		(uint64_t)(rows * nr) };
	for (int64_t i = 0; i < rows * cols; i++)
		if (fabs((double)x0[i] - wq[i]) > row->minmax.max_abs)
			row->minmax.max_abs = fabs((double)x0[i] - wq[i]);
	if (fwrite(codes, 1, (size_t)(rows * cols), gp->spill) != (size_t)(rows * cols))
		cli_die("temporary file: %s", strerror(errno));
	gp->spilled += (uint64_t)(rows * cols);
	snprintf(w->method, sizeof w->method, "gptq");
	free(x), free(q), free(gi), free(xin), free(wq), free(sc), free(zz), free(codes);
}

int
main(int argc, char **argv)
{
	struct qscheme s = { QF_INT8, -1, QG_CHANNEL, 0, 0, { 0, 0 } };
	struct calib_opts co;
	struct wsel sel = { .min_rank = 2 };
	const char *out = NULL;
	int c, jobs = qpool_ncpu(), quiet = 0, want_report = 0, json = 0;
	struct ckpt ck;
	struct qerr e;
	struct qparams qp = { 0 };
	struct row *rows;
	size_t nrows = 0;
	struct cli_progress prog;
	uint64_t total = 0;
	double budget = 0;
	const char *formats = NULL, *captures = NULL;
	enum act_method am = ACT_MINMAX;
	enum qfmt af = QF_UINT8;
	int gptq = 0;
	struct gptq_plan gp = { 0 };
	void *spill_map = NULL;
	int smooth = -1, fmt_set = 0, gran_set = 0, duo = 0, noclip = 0, act_r = 0;
	double alpha = NAN;
	const char *imatrix = NULL;

	cli_init(argv[0]);
	calib_defaults(&co);
	gptq_defaults(&gp.o);
	while ((c = getopt_long(argc, argv, "m:f:g:o:j:q", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if ((gptq = strcmp(optarg, "gptq") == 0))
				break;
			if (strcmp(optarg, "awq") == 0 || strcmp(optarg, "smoothquant") == 0) {
				smooth = optarg[0] == 'a' ? AWQ_AWQ : AWQ_SMOOTHQUANT;
				break;
			}
			if ((c = calib_method_from_name(optarg)) < 0)
				cli_usage_error("-m %s: methods are minmax, mse, percentile, awq, smoothquant, gptq", optarg);
			co.method = (enum calib_method)c;
			break;
		case OPT_DAMP: gp.o.damp = num_arg("--damp", optarg, 0, 10); break;
		case OPT_ACTORDER: gp.o.act_order = 1; break;
		case OPT_STATIC: gp.o.static_groups = 1; break;
		case 'f':
			if ((c = qscheme_fmt_from_name(optarg)) < 0)
				cli_usage_error("-f %s: formats are int8, uint8, int4, uint4, fp8_e4m3, "
				    "fp8_e5m2, nvfp4, mxfp4, q4_0, q4_1, q5_0, q5_1, q8_0", optarg);
			s.fmt = (enum qfmt)c;
			fmt_set = 1;
			break;
		case 'g':
			s.gran = QG_GROUP;
			s.group = (int64_t)num_arg("-g", optarg, 1, 1 << 30);
			gran_set = 1;
			break;
		case OPT_PCH: s.gran = QG_CHANNEL; s.axis = 0; gran_set = 1; break;
		case OPT_PT: s.gran = QG_TENSOR; gran_set = 1; break;
		case OPT_BLOCK: {
			long long r, k;
			char x;

			if (sscanf(optarg, "%lld%c%lld", &r, &x, &k) != 3 || (x != 'x' && x != 'X') ||
			    r < 1 || k < 1 || r > (1 << 30) || k > (1 << 30))
				cli_usage_error("--block %s: expected RxC, e.g. 128x128", optarg);
			s.gran = QG_BLOCK;
			s.block[0] = r;
			s.block[1] = k;
			gran_set = 1;
			break;
		}
		case OPT_SYM: s.sym = 1; break;
		case OPT_ASYM: s.sym = 0; break;
		case OPT_PCT: co.percentile = num_arg("--percentile", optarg, 1e-9, 100); break;
		case OPT_GRID: co.grid = (int)num_arg("--grid", optarg, 1, 100000); break;
		case OPT_SHRINK: co.shrink_min = num_arg("--shrink-min", optarg, 1e-6, 1); break;
		case OPT_INC:
			if (wsel_add(sel.include, &sel.n_include, optarg) < 0)
				cli_usage_error("--include: at most %d patterns", WSEL_MAX);
			break;
		case OPT_EXC:
			if (wsel_add(sel.exclude, &sel.n_exclude, optarg) < 0)
				cli_usage_error("--exclude: at most %d patterns", WSEL_MAX);
			break;
		case OPT_BUDGET: budget = num_arg("--bits-budget", optarg, 0.01, 64); break;
		case OPT_FORMATS: formats = optarg; break;
		case OPT_CAPT: captures = optarg; break;
		case OPT_ACTM:
			if ((c = act_method_from_name(optarg)) < 0)
				cli_usage_error("--act-method %s: minmax, percentile, mse or entropy", optarg);
			am = (enum act_method)c;
			break;
		case OPT_ACTF:
			if ((c = linq_fmt_from_name(optarg)) < 0 || linq_is_float((enum qfmt)c))
				cli_usage_error("--act-format %s: int8, uint8, int4 or uint4", optarg);
			af = (enum qfmt)c;
			break;
		case OPT_IMATRIX: imatrix = optarg; break;
		case OPT_DUO: duo = 1; break;
		case OPT_NOCLIP: noclip = 1; break;
		case OPT_ALPHA: alpha = num_arg("--alpha", optarg, 0, 1); break;
		case OPT_ACTR: act_r = 1; break;
		case OPT_REPORT: want_report = 1; break;
		case OPT_JSON: want_report = json = 1; break;
		case 'o': out = optarg; break;
		case 'j': jobs = cli_parse_jobs(optarg); break;
		case 'q': quiet = 1; break;
		case OPT_HELP: usage(stdout); return 0;
		case OPT_VERSION: cli_version();
		default: usage(stderr); return 2;
		}
	}
	if (gptq && (captures == NULL || optind == argc || formats))
		cli_usage_error("-m gptq needs --captures and an input (and no --formats)");
	if (!gptq && (gp.o.act_order || gp.o.static_groups || gp.o.damp != 0.01))
		cli_usage_error("--damp, --act-order and --static-groups are for -m gptq");
	if (gptq && !linq_supports(s.fmt))
		cli_usage_error("-m gptq: -f %s: GPTQ quantizes to int8, uint8, int4, uint4 or fp8",
		    qfmt_table[s.fmt].name);
	if (smooth < 0 && (duo || noclip || !isnan(alpha) || act_r))
		cli_usage_error("--duo, --no-clip, --alpha and --act-ranges go with -m awq or -m smoothquant");
	if (smooth == AWQ_AWQ && (!captures == !imatrix || !isnan(alpha) || act_r))
		cli_usage_error("-m awq needs --captures or --imatrix (one), and takes no --alpha or --act-ranges");
	if (smooth == AWQ_SMOOTHQUANT && (!captures || imatrix || duo || noclip))
		cli_usage_error("-m smoothquant needs --captures (max |x| per channel), and takes no --imatrix, --duo, --no-clip");
	if (smooth >= 0 && formats)
		cli_usage_error("-m %s does not combine with --bits-budget", smooth == AWQ_AWQ ? "awq" : "smoothquant");
	if (smooth == AWQ_AWQ) {	/* AWQ's own defaults: int4, groups of 128, asymmetric */
		if (!fmt_set)
			s.fmt = QF_INT4;
		if (!gran_set)
			s.gran = QG_GROUP, s.group = 128;
		if (s.sym < 0 && !linq_is_float(s.fmt))
			s.sym = 0;
	}
	if (captures && optind == argc && smooth < 0) {	/* activation ranges only */
		if (out == NULL)
			cli_usage_error("no output: give -o file");
		act_ranges(&qp, captures, am, af, co.percentile);
		write_qparams(&qp, out);
		qparams_free(&qp);
		cli_close_stdout();
		return 0;
	}
	if (optind + 1 != argc)
		cli_usage_error(optind == argc ? "no input" : "one input only");
	if ((budget > 0) != (formats != NULL))
		cli_usage_error("--bits-budget and --formats go together");
	if (out == NULL && !want_report && !formats)
		cli_usage_error("no output: give -o file, or --report");
	if (qblock_info(s.fmt)) {	/* its own group and symmetry */
		const struct qblock_info *b = qblock_info(s.fmt);

		if (gran_set && !(s.gran == QG_GROUP && s.group == b->group))
			cli_usage_error("%s has groups of %d: -g %d or nothing", b->name, b->group, b->group);
		if (s.sym == !!b->has_min)
			cli_usage_error("%s is %s", b->name, b->has_min ? "asymmetric" : "symmetric");
		s.gran = QG_GROUP, s.group = b->group, s.sym = !b->has_min;
	}
	if (s.sym < 0)
		s.sym = !(s.fmt == QF_UINT8 || s.fmt == QF_UINT4);
	if (smooth < 0 && imatrix && !formats)
		cli_usage_error("--imatrix goes with -m awq or weighs the error of --bits-budget");
	if (imatrix && captures)
		cli_usage_error("--captures or --imatrix, not both");
	if (linq_is_float(s.fmt) && !s.sym)
		cli_usage_error("%s has no zero point: --asym does not apply", qfmt_table[s.fmt].name);

	if (ckpt_open(&ck, argv[optind], &e) < 0)
		cli_die_err(&e);
	if (gptq) {
		gp.path = captures;
		gp.o.jobs = jobs;
		if (st_open(&gp.capt, captures, &e) < 0)
			cli_die_err(&e);
		if ((gp.spill = tmpfile()) == NULL || (gp.offset = calloc(ck.n_tensors + 1,
		    sizeof *gp.offset)) == NULL)
			cli_die("temporary file: %s", strerror(errno));
	}
	if (smooth >= 0) {
		struct awq_job j = { .method = (enum awq_method)smooth, .s = s, .co = co,
			.alpha = isnan(alpha) ? 0.5 : alpha, .act_ranges = act_r, .am = am,
			.pct = co.percentile, .jobs = jobs };

		awq_defaults(&j.o);
		if (smooth == AWQ_SMOOTHQUANT)
			j.o.tokens = 0;	/* no search: every captured row (max |x| must see them all) */
		j.o.duo = duo;
		j.o.clip = !noclip;
		smooth_calib(&ck, &sel, &j, captures, imatrix, out, want_report, json, argv[optind]);
		ckpt_close(&ck);
		cli_close_stdout();
		return 0;
	}
	if (formats) {
		struct importance_src isrc = { NULL, NULL, NULL };
		struct st_file capf;
		struct imatrix im;

		if (captures && st_open(&capf, captures, &e) < 0)
			cli_die_err(&e);
		if (imatrix && imatrix_load(&im, imatrix, &e) < 0)
			cli_die_err(&e);
		isrc.captures = captures ? &capf : NULL;
		isrc.imatrix = imatrix ? &im : NULL;
		if (imatrix && ck.config) {	/* GGUF names, as llama-imatrix saw them */
			const cJSON *mt = cJSON_GetObjectItemCaseSensitive(ck.config, "model_type");
			const cJSON *ar = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ck.config,
			    "architectures"), 0);

			isrc.arch = arch_find(cJSON_IsString(mt) ? mt->valuestring : NULL,
			    cJSON_IsString(ar) ? ar->valuestring : NULL);
		}
		budget_plan(&ck, &sel, &co, budget, formats, out, jobs, quiet, argv[optind], &isrc);
		if (captures)
			st_close(&capf);
		if (imatrix)
			imatrix_free(&im);
		ckpt_close(&ck);
		cli_close_stdout();
		return 0;
	}
	rows = calloc(ck.n_tensors + 1, sizeof *rows);
	if (rows == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < ck.n_tensors; i++)
		total += ck.tensors[i].t->end - ck.tensors[i].t->begin;
	cli_progress_start(&prog, "calibrating", total, quiet);
	for (size_t i = 0; i < ck.n_tensors; i++) {
		const struct st_tensor *t = ck.tensors[i].t;
		struct qp_entry *w;
		float *x, *xq;
		size_t n;
		struct row *r;

		cli_progress_add(&prog, t->end - t->begin);
		if (!wsel_pick(&sel, t->name, t->dtype, t->ndim))
			continue;
		if (qblock_info(s.fmt) && t->shape[t->ndim - 1] % (uint64_t)s.group) {
			cli_warn("%s: %s: %llu columns are not whole %s groups of %d: left in float",
			    argv[optind], t->name, (unsigned long long)t->shape[t->ndim - 1],
			    qblock_info(s.fmt)->name, (int)s.group);
			continue;
		}
		if ((w = qparams_add(&qp, t->name, &s, t->ndim, t->shape, &e)) == NULL)
			cli_die("%s: %s", argv[optind], e.msg);
		if (wsel_load_f32(t, &x, &e) < 0)
			cli_die("%s: %s", argv[optind], e.msg);
		n = (size_t)t->nelem;
		if ((xq = malloc(n * sizeof *xq)) == NULL)
			cli_die("out of memory");
		r = &rows[nrows++];
		if (gptq) {
			r->name = t->name;
			snprintf(r->shape, sizeof r->shape, "[%lld, %lld]", (long long)w->g.rows,
			    (long long)w->g.cols);
			gp.offset[qp.n_w - 1] = gp.spilled;
			gptq_tensor(&gp, w, x, &co, r, argv[optind]);
			w->output_sqnr_db = calib_sqnr_db(&r->chosen);
			w->baseline_output_sqnr_db = calib_sqnr_db(&r->minmax);
			wsel_release(ck.tensors[i].file, t);
			free(x);
			free(xq);
			continue;
		}
		if (qparams_choose(w, x, &co, jobs, &e) < 0)
			cli_die("%s: %s: %s", argv[optind], t->name, e.msg);
		r->name = t->name;
		{
			size_t k = (size_t)snprintf(r->shape, sizeof r->shape, "[");

			for (int d = 0; d < t->ndim && k < sizeof r->shape; d++)
				k += (size_t)snprintf(r->shape + k, sizeof r->shape - k, "%s%llu",
				    d ? ", " : "", (unsigned long long)t->shape[d]);
			if (k < sizeof r->shape)
				snprintf(r->shape + k, sizeof r->shape - k, "]");
		}
		qparams_fakequant(w, x, xq, jobs);
		calib_measure(x, xq, n, &r->chosen);
		if (co.method == CALIB_MINMAX) {
			r->minmax = r->chosen;
		} else {
			struct calib_opts mm = co;

			mm.method = CALIB_MINMAX;
			fake_with(&s, t, x, &mm, xq, jobs, argv[optind]);
			calib_measure(x, xq, n, &r->minmax);
		}
		wsel_release(ck.tensors[i].file, t);
		snprintf(w->method, sizeof w->method, "%s", calib_method_names[co.method]);
		w->sqnr_db = calib_sqnr_db(&r->chosen);
		w->rmse = calib_rmse(&r->chosen);
		w->max_error = r->chosen.max_abs;
		free(x);
		free(xq);
	}
	cli_progress_end(&prog);
	if (nrows == 0)
		cli_warn("%s: no tensor to calibrate (float *.weight of rank >= 2, not excluded)",
		    argv[optind]);
	if (gptq && gp.spilled > 0) {	/* the codes, from the temporary file */
		if (fflush(gp.spill) != 0 || (spill_map = mmap(NULL, (size_t)gp.spilled, PROT_READ,
		    MAP_PRIVATE, fileno(gp.spill), 0)) == MAP_FAILED)
			cli_die("temporary file: %s", strerror(errno));
		for (size_t k = 0; k < qp.n_w; k++) {
			qp.w[k].codes = (const unsigned char *)spill_map + gp.offset[k];
			qp.w[k].codes_dtype = qparams_codes_dtype(qp.w[k].s.fmt);
		}
	}
	if (captures && !gptq)
		act_ranges(&qp, captures, am, af, co.percentile);
	if (out)
		write_qparams(&qp, out);
	if (want_report)
		report(out && strcmp(out, "-") == 0 ? stderr : stdout, json,
		    gptq ? "gptq" : calib_method_names[co.method], rows, nrows);
	if (gptq) {	/* the figures were the layer output's on the captures */
		if (spill_map)
			munmap(spill_map, (size_t)gp.spilled);
		fclose(gp.spill);
		free(gp.offset);
		st_close(&gp.capt);
	}
	free(rows);
	qparams_free(&qp);
	ckpt_close(&ck);
	cli_close_stdout();
	return 0;
}
