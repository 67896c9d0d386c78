/* nnef-quant: quantize the weights of an NNEF model for tract.
 *
 * Reads a model folder or .nnef.tgz, picks the variables every consumer of
 * which accepts tract's Q40 (linear filters, matmul operands tract reads
 * transposed the right way, conv kernels whose reduction is a multiple of
 * 32, tract_core_gather tables), writes their .dat files as Q40 and the
 * graph changes tract requires, and copies everything else byte for byte. */
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nnef.h"
#include "nnef_archive.h"
#include "threads.h"

enum method { M_MINMAX, M_MSE };

struct opts {
	const char *input, *output;
	enum method method;
	int legacy, verbose, quiet, jobs;
	const char *include[32], *exclude[32];
	int n_include, n_exclude;
};

/* What one variable becomes. */
struct choice {
	const struct nnef_var *var;
	const struct nnef_entry *dat;
	int quantize;
	const char *why;		/* why not, for -v */
	unsigned char *out;		/* new .dat bytes */
	size_t out_len;
	double rmse, sqnr;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: nnef-quant -f q40 [-m minmax|mse] [--legacy-order] [-n GLOB] [-x GLOB]\n"
	    "                  [-j N] [-q] [-v] MODEL -o OUT\n"
	    "  MODEL  an NNEF folder, .nnef.tgz or .tar (- = standard input)\n"
	    "  OUT    a folder, or an archive when it ends in .tgz, .tar.gz or .tar\n"
	    "  -f q40          tract's Q4_0 block format (32 weights, f16 scale)\n"
	    "  -m METHOD       minmax (torch_to_nnef's rule, the default) or mse\n"
	    "  --legacy-order  sequential nibbles (.dat code 0x2040) for tract < 0.21.11\n"
	    "  -n GLOB         only variables whose label matches (repeatable)\n"
	    "  -x GLOB         never variables whose label matches (repeatable)\n"
	    "  -v              one line per variable on standard error: choice and error\n");
}

static int
arg_is(const struct nnef_graph *g, const struct nnef_stmt *st, const char *name, const char *text)
{
	for (size_t i = 0; i < st->n_args; i++) {
		const struct nnef_arg *a = &st->args[i];

		if (a->name && strcmp(a->name, name) == 0)
			return a->end - a->begin == strlen(text) &&
			    memcmp(g->text + a->begin, text, a->end - a->begin) == 0;
	}
	return -1;			/* absent */
}

static int
has_arg(const struct nnef_stmt *st, const char *name)
{
	for (size_t i = 0; i < st->n_args; i++)
		if (st->args[i].name && strcmp(st->args[i].name, name) == 0)
			return 1;
	return 0;
}

/* Does this use of a weight accept Q40 (spec/nnef.md §5)? */
static const char *
consumer_refuses(const struct nnef_graph *g, const struct nnef_stmt *st, size_t argpos)
{
	const struct nnef_arg *a = &st->args[argpos];
	const char *name = a->name;
	int pos = name ? -1 : (int)argpos;

	if (name && strcmp(name, "?") == 0)
		return "used inside an expression";
	if (strcmp(st->op, "linear") == 0)
		return pos == 1 || (name && strcmp(name, "filter") == 0) ? NULL : "linear input, not filter";
	if (strcmp(st->op, "conv") == 0)
		return pos == 1 || (name && strcmp(name, "filter") == 0) ? NULL : "conv input, not filter";
	if (strcmp(st->op, "matmul") == 0) {
		/* tract ignores the transpose flags of a Q40 operand */
		if (pos == 0 || (name && strcmp(name, "A") == 0))
			return arg_is(g, st, "transposeA", "true") == 1 ? "matmul A with transposeA" : NULL;
		if (pos == 1 || (name && strcmp(name, "B") == 0))
			return arg_is(g, st, "transposeB", "true") == 1 ? NULL : "matmul B without transposeB";
		return "matmul argument";
	}
	if (strcmp(st->op, "tract_core_gather") == 0) {
		if (pos != 0)
			return "gather indices";
		return arg_is(g, st, "axis", "0") == 0 ? "gather along an axis other than 0" : NULL;
	}
	return "consumer op does not take Q40";
}

static int
label_selected(const struct opts *o, const char *label)
{
	int i, in = o->n_include == 0;

	for (i = 0; i < o->n_include; i++)
		if (fnmatch(o->include[i], label, 0) == 0)
			in = 1;
	for (i = 0; i < o->n_exclude; i++)
		if (fnmatch(o->exclude[i], label, 0) == 0)
			in = 0;
	return in;
}

static const struct nnef_entry *
dat_for(const struct nnef_model *m, const char *label)
{
	char path[4096];

	while (*label == '/')
		label++;
	snprintf(path, sizeof path, "%s.dat", label);
	return nnef_model_find(m, path);
}

static void
decide(const struct opts *o, const struct nnef_model *m, const struct nnef_graph *g,
    const struct nnef_quant *gq, struct choice *c)
{
	const struct nnef_var *v = c->var;
	const struct nnef_stmt *st = &g->stmts[v->stmt];
	struct nnef_dat d;
	struct qerr e;
	size_t cs[64], ca[64], n;
	uint64_t k = 1;

	c->dat = dat_for(m, v->label);
	if (c->dat == NULL)
		cli_die("%s: variable '%s': no file %s.dat", o->input, st->lhs[0], v->label);
	if (nnef_dat_parse(&d, c->dat->data, c->dat->size, c->dat->path, &e) < 0)
		cli_die("%s: %s", o->input, e.msg);
	if (d.rank != v->rank)
		cli_die("%s: %s: rank %u but the graph declares rank %u", o->input, c->dat->path,
		    d.rank, v->rank);
	for (uint32_t i = 0; i < d.rank; i++)
		if (d.extents[i] != v->shape[i])
			cli_die("%s: %s: extent %u is %u but the graph declares %llu", o->input,
			    c->dat->path, i, d.extents[i], (unsigned long long)v->shape[i]);
	for (uint32_t i = 1; i < v->rank; i++)
		k *= v->shape[i];
	if (!label_selected(o, v->label))
		c->why = "excluded";
	else if (d.item == NNEF_Q40 || d.item == NNEF_Q40_LEGACY)
		c->why = "already Q40";
	else if (!(d.item == NNEF_FLOAT && (d.bits == 32 || d.bits == 16)))
		c->why = "not f32/f16";
	else if (v->rank < 2 || v->shape[0] == 0)
		c->why = "rank < 2";
	else if (k % NNEF_Q40_BLOCK)
		c->why = "row length not a multiple of 32";
	else if (st->n_lhs != 1)
		c->why = "tuple assignment";
	else {
		for (size_t i = 0; i < gq->n; i++)
			if (strcmp(gq->entries[i].tensor, st->lhs[0]) == 0)
				c->why = "has a graph.quant entry";
		if (c->why)
			return;
		n = nnef_graph_consumers(g, st->lhs[0], cs, ca, 64);
		if (n == 0)
			c->why = "unused";
		else if (n > 64)
			c->why = "too many consumers";
		for (size_t i = 0; i < n && i < 64 && !c->why; i++)
			c->why = consumer_refuses(g, &g->stmts[cs[i]], ca[i]);
	}
	c->quantize = c->why == NULL;
}

struct qjob {
	const struct opts *o;
	struct choice *c;
	size_t n;
};

static void
quantize_one(void *ctx, size_t b, size_t end, int worker)
{
	struct qjob *j = ctx;

	(void)worker;
	for (size_t i = b; i < end; i++) {
		struct choice *c = &j->c[i];
		struct nnef_dat d;
		struct qerr e;
		float *x, *y;
		size_t nblocks;
		uint32_t ext[NNEF_MAX_RANK];
		double se = 0, ss = 0;

		if (!c->quantize)
			continue;
		nnef_dat_parse(&d, c->dat->data, c->dat->size, c->dat->path, &e);
		nblocks = d.nitems / NNEF_Q40_BLOCK;
		x = malloc(d.nitems * sizeof *x);
		y = malloc(d.nitems * sizeof *y);
		c->out_len = NNEF_DAT_HEADER + nblocks * NNEF_Q40_BLOCK_BYTES;
		c->out = malloc(c->out_len);
		if (x == NULL || y == NULL || c->out == NULL)
			cli_die("%s: out of memory", c->dat->path);
		nnef_dat_to_f32(&d, x);
		for (size_t t = 0; t < d.nitems; t++)
			if (!isfinite(x[t]) || fabsf(x[t]) > 65504.0f * 8.0f)
				cli_die("%s: element %zu is %g: Q40's f16 scale cannot hold it",
				    c->dat->path, t, x[t]);
		for (uint32_t r = 0; r < d.rank; r++)
			ext[r] = d.extents[r];
		nnef_dat_header(c->out, j->o->legacy ? NNEF_CODE_Q40_LEGACY : NNEF_CODE_Q40,
		    NNEF_VENDOR_TRACT, 0xffffffffu, d.rank, ext,
		    (uint32_t)(nblocks * NNEF_Q40_BLOCK_BYTES));
		if (j->o->method == M_MSE)
			nnef_q40_quantize_mse(x, nblocks, c->out + NNEF_DAT_HEADER, j->o->legacy);
		else
			nnef_q40_quantize_minmax(x, nblocks, c->out + NNEF_DAT_HEADER, j->o->legacy);
		nnef_q40_decode(c->out + NNEF_DAT_HEADER, nblocks, y, j->o->legacy);
		for (size_t t = 0; t < d.nitems; t++) {
			se += ((double)x[t] - y[t]) * ((double)x[t] - y[t]);
			ss += (double)x[t] * x[t];
		}
		c->rmse = sqrt(se / (double)d.nitems);
		c->sqnr = se > 0 ? 10 * log10(ss / se) : INFINITY;
		free(x);
		free(y);
	}
}

/* The graph text with the edits tract needs for Q40 weights: quantized
 * variables lose their <scalar> type (torch_to_nnef's form) and gathers
 * from them get the datum_type tract requires for compressed tables. */
static char *
rewrite_graph(const struct nnef_graph *g, const struct choice *c, size_t nc, size_t *out_len)
{
	struct edit { size_t at, cut; const char *ins; } ed[4096];
	size_t ne = 0, len = 0, pos = 0;
	char *out;

	for (size_t i = 0; i < nc; i++) {
		const struct nnef_stmt *st = &g->stmts[c[i].var->stmt];
		size_t cs[64], ca[64], n;

		if (!c[i].quantize)
			continue;
		if (st->type_param && ne < 4096)
			ed[ne++] = (struct edit){ st->op_begin, st->op_end - st->op_begin, "variable" };
		n = nnef_graph_consumers(g, st->lhs[0], cs, ca, 64);
		for (size_t k = 0; k < n && k < 64; k++) {
			const struct nnef_stmt *u = &g->stmts[cs[k]];

			if (strcmp(u->op, "tract_core_gather") == 0 && !has_arg(u, "datum_type") && ne < 4096)
				ed[ne++] = (struct edit){ u->args_end, 0, ", datum_type = 'f32'" };
		}
	}
	/* apply in text order */
	for (size_t i = 1; i < ne; i++)
		for (size_t k = i; k > 0 && ed[k - 1].at > ed[k].at; k--) {
			struct edit t = ed[k];

			ed[k] = ed[k - 1];
			ed[k - 1] = t;
		}
	len = g->len;
	for (size_t i = 0; i < ne; i++)
		len += strlen(ed[i].ins);
	out = malloc(len + 1);
	if (out == NULL)
		cli_die("out of memory");
	len = 0;
	for (size_t i = 0; i < ne; i++) {
		if (i > 0 && ed[i].at == ed[i - 1].at && ed[i].cut == 0 && ed[i - 1].cut == 0 &&
		    strcmp(ed[i].ins, ed[i - 1].ins) == 0)
			continue;	/* the same gather reached twice */
		memcpy(out + len, g->text + pos, ed[i].at - pos);
		len += ed[i].at - pos;
		memcpy(out + len, ed[i].ins, strlen(ed[i].ins));
		len += strlen(ed[i].ins);
		pos = ed[i].at + ed[i].cut;
	}
	memcpy(out + len, g->text + pos, g->len - pos);
	len += g->len - pos;
	*out_len = len;
	return out;
}

static void
write_model(const struct opts *o, const struct nnef_model *m, const char *graph, size_t graph_len,
    const struct choice *c, size_t nc)
{
	enum nnef_out_kind kind = nnef_out_kind_for(o->output);
	struct nnef_writer *w;
	struct cli_out out;
	struct cli_outdir od;
	struct qerr e;
	const struct nnef_entry *gq = nnef_model_find(m, "graph.quant");

	if (strcmp(o->output, "-") == 0)
		kind = NNEF_OUT_TGZ;
	if (kind == NNEF_OUT_DIR) {
		cli_outdir_open(&od, o->output);
		w = nnef_writer_dir(od.tmp, &e);
	} else {
		cli_out_open(&out, o->output, 1);
		w = nnef_writer_archive(out.f, kind == NNEF_OUT_TGZ, &e);
	}
	if (w == NULL)
		cli_die_err(&e);
	/* graph first, then graph.quant, then the rest in input order */
	if (nnef_writer_add(w, "graph.nnef", graph, graph_len, &e) < 0 ||
	    (gq && nnef_writer_add(w, "graph.quant", gq->data, gq->size, &e) < 0))
		cli_die_err(&e);
	for (size_t i = 0; i < m->n; i++) {
		const struct nnef_entry *en = &m->entries[i];
		const void *data = en->data;
		size_t size = en->size;

		if (strcmp(en->path, "graph.nnef") == 0 || strcmp(en->path, "graph.quant") == 0)
			continue;
		for (size_t k = 0; k < nc; k++)
			if (c[k].quantize && c[k].dat == en) {
				data = c[k].out;
				size = c[k].out_len;
			}
		if (nnef_writer_add(w, en->path, data, size, &e) < 0)
			cli_die_err(&e);
	}
	if (nnef_writer_close(w, &e) < 0)
		cli_die_err(&e);
	if (kind == NNEF_OUT_DIR)
		cli_outdir_commit(&od);
	else
		cli_out_commit(&out);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "method", required_argument, NULL, 'm' },
		{ "legacy-order", no_argument, NULL, 'L' },
		{ "include", required_argument, NULL, 'n' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "output", required_argument, NULL, 'o' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	struct opts o = { .method = M_MINMAX };
	const char *format = NULL;
	struct nnef_model m;
	struct nnef_graph g;
	struct nnef_quant gq = { 0 };
	const struct nnef_entry *ge, *qe;
	struct choice *c;
	struct qerr e;
	char *graph;
	size_t graph_len, nq = 0;
	int ch;

	cli_init(argv[0]);
	o.jobs = qpool_ncpu();
	while ((ch = getopt_long(argc, argv, "f:m:n:x:o:j:qvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "minmax") == 0)
				o.method = M_MINMAX;
			else if (strcmp(optarg, "mse") == 0)
				o.method = M_MSE;
			else
				cli_usage_error("-m: unknown method '%s' (minmax, mse)", optarg);
			break;
		case 'L':
			o.legacy = 1;
			break;
		case 'n':
			if (o.n_include == 32)
				cli_usage_error("-n: at most 32 patterns");
			o.include[o.n_include++] = optarg;
			break;
		case 'x':
			if (o.n_exclude == 32)
				cli_usage_error("-x: at most 32 patterns");
			o.exclude[o.n_exclude++] = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'j':
			o.jobs = cli_parse_jobs(optarg);
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			cli_close_stdout();
			return 0;
		case 'V':
			cli_version();
		default:
			usage(stderr);
			return 2;
		}
	}
	if (format == NULL)
		cli_usage_error("missing -f FORMAT (q40)");
	if (strcmp(format, "q40") != 0)
		cli_usage_error("-f: unknown format '%s' (q40)", format);
	if (optind != argc - 1)
		cli_usage_error(optind < argc ? "expected one model" : "missing the input model");
	if (o.output == NULL)
		cli_usage_error("missing -o OUT");
	o.input = argv[optind];

	if (nnef_model_open(&m, o.input, &e) < 0)
		cli_die_err(&e);
	ge = nnef_model_find(&m, "graph.nnef");
	if (nnef_graph_parse(&g, (const char *)ge->data, ge->size, "graph.nnef", &e) < 0)
		cli_die("%s: %s", o.input, e.msg);
	qe = nnef_model_find(&m, "graph.quant");
	if (qe && nnef_quant_parse(&gq, (const char *)qe->data, qe->size, "graph.quant", &e) < 0)
		cli_die("%s: %s", o.input, e.msg);

	c = calloc(g.n_vars ? g.n_vars : 1, sizeof *c);
	if (c == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < g.n_vars; i++) {
		c[i].var = &g.vars[i];
		decide(&o, &m, &g, &gq, &c[i]);
	}
	struct qjob job = { &o, c, g.n_vars };
	qpool_for(o.jobs, g.n_vars, 1, quantize_one, &job);
	for (size_t i = 0; i < g.n_vars; i++) {
		nq += c[i].quantize;
		if (!o.verbose)
			continue;
		if (c[i].quantize)
			fprintf(stderr, "%s: %s: q40 %s rmse %.6g sqnr %.2f dB\n", cli_prog(),
			    c[i].var->label, o.method == M_MSE ? "mse" : "minmax", c[i].rmse, c[i].sqnr);
		else
			fprintf(stderr, "%s: %s: kept (%s)\n", cli_prog(), c[i].var->label, c[i].why);
	}
	if (nq == 0 && !o.quiet)
		cli_warn("%s: no variable can take Q40; writing the model unchanged", o.input);
	graph = rewrite_graph(&g, c, g.n_vars, &graph_len);
	write_model(&o, &m, graph, graph_len, c, g.n_vars);

	free(graph);
	for (size_t i = 0; i < g.n_vars; i++)
		free(c[i].out);
	free(c);
	nnef_quant_free(&gq);
	nnef_graph_free(&g);
	nnef_model_close(&m);
	cli_close_stdout();
	return 0;
}
