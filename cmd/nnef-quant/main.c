/* nnef-quant: quantize the weights of an NNEF model for tract.
 *
 * Reads a model folder or .nnef.tgz, plans the changes of the chosen
 * format (q40.c: tract's Q4_0 blocks; q8.c: 8-bit per-tensor with
 * graph.quant), and writes the model back with the graph edits applied,
 * the new .dat files in place of the old and every other file copied byte
 * for byte. */
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nnef-quant.h"
#include "threads.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: nnef-quant -f q40|q8 [-m minmax|mse] [-p QPARAMS] [--legacy-order]\n"
	    "                  [-n GLOB] [-x GLOB] [-j N] [-q] [-v] MODEL -o OUT\n"
	    "  MODEL  an NNEF folder, .nnef.tgz or .tar (- = standard input)\n"
	    "  OUT    a folder, or an archive when it ends in .tgz, .tar.gz or .tar\n"
	    "  -f q40          tract's Q4_0 block format (32 weights, f16 scale)\n"
	    "  -f q8           8-bit conv/linear with graph.quant (needs -p with activation ranges)\n"
	    "  -m METHOD       q40 scales: minmax (torch_to_nnef's rule, the default) or mse\n"
	    "  -p QPARAMS      scales and activation ranges chosen by qcalib\n"
	    "  --legacy-order  q40 in sequential nibbles (.dat code 0x2040) for tract < 0.21.11\n"
	    "  -n GLOB         only variables whose label matches (repeatable)\n"
	    "  -x GLOB         never variables whose label matches (repeatable)\n"
	    "  -v              one line per variable or op on standard error\n");
}

/* ---- plan ---- */

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(p, *cap * size);
	if (p == NULL)
		cli_die("out of memory");
	return p;
}

void
plan_edit(struct plan *p, size_t at, size_t cut, const char *ins)
{
	p->ed = grow(p->ed, &p->cap_ed, p->n_ed, sizeof *p->ed);
	p->ed[p->n_ed].at = at;
	p->ed[p->n_ed].cut = cut;
	if ((p->ed[p->n_ed].ins = strdup(ins)) == NULL)
		cli_die("out of memory");
	p->n_ed++;
}

void
plan_file(struct plan *p, const char *path, unsigned char *data, size_t len)
{
	p->files = grow(p->files, &p->cap_files, p->n_files, sizeof *p->files);
	p->files[p->n_files] = (struct newfile){ strdup(path), data, len };
	p->n_files++;
}

void
plan_quant(struct plan *p, const char *line)
{
	size_t n = strlen(line);
	char *q = realloc(p->quant, p->quant_len + n + 1);

	if (q == NULL)
		cli_die("out of memory");
	memcpy(q + p->quant_len, line, n + 1);
	p->quant = q;
	p->quant_len += n;
}

static int
edit_order(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/* The text with every edit applied; edits at one place apply in the order
 * they were planned, duplicates (the same gather reached twice) once. */
char *
plan_apply(const struct plan *p, const char *text, size_t len, size_t *out_len)
{
	struct edit *ed = malloc((p->n_ed + 1) * sizeof *ed);
	size_t total = len, pos = 0, n = 0;
	char *out;

	if (ed == NULL)
		cli_die("out of memory");
	if (p->n_ed)	/* p->ed is NULL when nothing was planned */
		memcpy(ed, p->ed, p->n_ed * sizeof *ed);
	/* stable: insertion sort keeps planning order among equal offsets */
	for (size_t i = 1; i < p->n_ed; i++)
		for (size_t k = i; k > 0 && edit_order(&ed[k - 1], &ed[k]) > 0; k--) {
			struct edit t = ed[k];

			ed[k] = ed[k - 1];
			ed[k - 1] = t;
		}
	for (size_t i = 0; i < p->n_ed; i++)
		total += strlen(ed[i].ins);
	out = malloc(total + 1);
	if (out == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < p->n_ed; i++) {
		if (i > 0 && ed[i].at == ed[i - 1].at && ed[i].cut == ed[i - 1].cut &&
		    strcmp(ed[i].ins, ed[i - 1].ins) == 0)
			continue;
		if (ed[i].at < pos)
			cli_die("internal error: overlapping graph edits at byte %zu", ed[i].at);
		memcpy(out + n, text + pos, ed[i].at - pos);
		n += ed[i].at - pos;
		memcpy(out + n, ed[i].ins, strlen(ed[i].ins));
		n += strlen(ed[i].ins);
		pos = ed[i].at + ed[i].cut;
	}
	memcpy(out + n, text + pos, len - pos);
	n += len - pos;
	out[n] = 0;
	*out_len = n;
	free(ed);
	return out;
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_ed; i++)
		free(p->ed[i].ins);
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].data);
	}
	free(p->ed);
	free(p->files);
	free(p->quant);
	memset(p, 0, sizeof *p);
}

/* ---- the model ---- */

int
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

const struct nnef_var *
var_of(const struct nnef_graph *g, const char *ident)
{
	for (size_t i = 0; i < g->n_vars; i++)
		if (g->stmts[g->vars[i].stmt].n_lhs == 1 &&
		    strcmp(g->stmts[g->vars[i].stmt].lhs[0], ident) == 0)
			return &g->vars[i];
	return NULL;
}

void
load_var(const struct opts *o, const struct model_in *in, const struct nnef_var *v,
    struct nnef_dat *d, const struct nnef_entry **entry)
{
	const struct nnef_entry *en = nnef_model_dat(&in->m, v->label);
	struct qerr e;

	if (en == NULL)
		cli_die("%s: variable '%s': no file %s.dat", o->input, in->g.stmts[v->stmt].lhs[0],
		    v->label);
	if (nnef_dat_parse(d, en->data, en->size, en->path, &e) < 0)
		cli_die("%s: %s", o->input, e.msg);
	if (d->rank != v->rank)
		cli_die("%s: %s: rank %u but the graph declares rank %u", o->input, en->path,
		    d->rank, v->rank);
	for (uint32_t i = 0; i < d->rank; i++)
		if (d->extents[i] != v->shape[i])
			cli_die("%s: %s: extent %u is %u but the graph declares %llu", o->input,
			    en->path, i, d->extents[i], (unsigned long long)v->shape[i]);
	*entry = en;
}

int
has_quant_entry(const struct nnef_quant *gq, const char *tensor)
{
	for (size_t i = 0; i < gq->n; i++)
		if (strcmp(gq->entries[i].tensor, tensor) == 0)
			return 1;
	return 0;
}

const struct nnef_arg *
find_arg(const struct nnef_stmt *st, const char *name)
{
	for (size_t i = 0; i < st->n_args; i++)
		if (st->args[i].name && strcmp(st->args[i].name, name) == 0)
			return &st->args[i];
	return NULL;
}

int
arg_text_is(const struct nnef_graph *g, const struct nnef_arg *a, const char *text)
{
	return a->end - a->begin == strlen(text) && memcmp(g->text + a->begin, text, a->end - a->begin) == 0;
}

/* ---- output ---- */

static void
write_model(const struct opts *o, const struct model_in *in, const struct plan *p)
{
	enum nnef_out_kind kind = strcmp(o->output, "-") == 0 ? NNEF_OUT_TGZ : nnef_out_kind_for(o->output);
	const struct nnef_entry *ge = nnef_model_find(&in->m, "graph.nnef");
	const struct nnef_entry *qe = nnef_model_find(&in->m, "graph.quant");
	struct nnef_writer *w;
	struct cli_out out;
	struct cli_outdir od;
	struct qerr e;
	char *graph, *quant = NULL;
	size_t graph_len, quant_len = 0;

	graph = plan_apply(p, in->g.text, in->g.len, &graph_len);
	if (qe || p->quant_len) {	/* the old entries, then ours */
		size_t old = qe ? qe->size : 0;
		int nl = old > 0 && qe->data[old - 1] != '\n';

		quant = malloc(old + nl + p->quant_len + 1);
		if (quant == NULL)
			cli_die("out of memory");
		if (old)
			memcpy(quant, qe->data, old);
		if (nl)
			quant[old] = '\n';
		if (p->quant_len)
			memcpy(quant + old + nl, p->quant, p->quant_len);
		quant_len = old + nl + p->quant_len;
	}
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
	    (quant && nnef_writer_add(w, "graph.quant", quant, quant_len, &e) < 0))
		cli_die_err(&e);
	for (size_t i = 0; i < in->m.n; i++) {
		const struct nnef_entry *en = &in->m.entries[i];
		const void *data = en->data;
		size_t size = en->size;

		if (en == ge || en == qe)
			continue;
		for (size_t k = 0; k < p->n_files; k++)
			if (strcmp(p->files[k].path, en->path) == 0) {
				data = p->files[k].data;
				size = p->files[k].len;
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
	free(graph);
	free(quant);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "method", required_argument, NULL, 'm' },
		{ "qparams", required_argument, NULL, 'p' },
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
	struct model_in in = { 0 };
	struct plan plan = { 0 };
	const struct nnef_entry *ge, *qe;
	struct qerr e;
	int ch;

	cli_init(argv[0]);
	o.jobs = qpool_ncpu();
	while ((ch = getopt_long(argc, argv, "f:m:p:n:x:o:j:qvh", longopts, NULL)) != -1) {
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
		case 'p':
			o.qparams_path = optarg;
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
		cli_usage_error("missing -f FORMAT (q40, q8)");
	if (strcmp(format, "q8") == 0)
		o.q8 = 1;
	else if (strcmp(format, "q40") != 0)
		cli_usage_error("-f: unknown format '%s' (q40, q8)", format);
	if (o.q8 && o.qparams_path == NULL)
		cli_usage_error("-f q8 needs -p QPARAMS with activation ranges (qcalib)");
	if (o.q8 && o.legacy)
		cli_usage_error("--legacy-order is for q40");
	if (optind != argc - 1)
		cli_usage_error(optind < argc ? "expected one model" : "missing the input model");
	if (o.output == NULL)
		cli_usage_error("missing -o OUT");
	o.input = argv[optind];

	if (o.qparams_path && qparams_load(&in.qp, o.qparams_path, &e) < 0)
		cli_die_err(&e);
	for (size_t i = 0; o.qparams_path && i < in.qp.n_w; i++)
		if (in.qp.w[i].smooth)	/* its scales are for W diag(s): not this graph's W */
			cli_die("%s: %s: has smoothing factors (W.smooth), which nnef-quant cannot "
			    "fold into the graph; calibrate without -m awq/smoothquant", o.qparams_path,
			    in.qp.w[i].name);
	if (nnef_model_open(&in.m, o.input, &e) < 0)
		cli_die_err(&e);
	ge = nnef_model_find(&in.m, "graph.nnef");
	if (nnef_graph_parse(&in.g, (const char *)ge->data, ge->size, "graph.nnef", &e) < 0)
		cli_die("%s: %s", o.input, e.msg);
	qe = nnef_model_find(&in.m, "graph.quant");
	if (qe && nnef_quant_parse(&in.gq, (const char *)qe->data, qe->size, "graph.quant", &e) < 0)
		cli_die("%s: %s", o.input, e.msg);

	if (o.q8)
		plan_q8(&o, &in, &plan);
	else
		plan_q40(&o, &in, &plan);
	if (plan.n_quantized == 0 && !o.quiet && !o.q8)
		cli_warn("%s: no variable can take Q40; writing the model unchanged", o.input);
	write_model(&o, &in, &plan);

	plan_free(&plan);
	qparams_free(&in.qp);
	nnef_quant_free(&in.gq);
	nnef_graph_free(&in.g);
	nnef_model_close(&in.m);
	cli_close_stdout();
	return 0;
}
