/* st-inspect: what is in this checkpoint?  List tensors and metadata, show
 * value statistics, compare two checkpoints, dump a tensor, validate.
 * Formats are backends (inspect.h); this file only works on the generic
 * model they build. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dtype.h"
#include "inspect.h"
#include "threads.h"
#include "tstats.h"

#define CHUNK 65536	/* elements per unit of work for --stats and --diff */

/* What main was asked to do: made there, lent (const) to what needs it. */
struct options {
	int json, metadata_only, stats, check, diff, raw, quiet, jobs;
	const char *dump;
	const char **globs;
	int n_globs;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: st-inspect [--json] [--metadata] [--stats] [-n glob] [-j jobs] [-q] path...\n"
	    "       st-inspect --dump name [--raw] path\n"
	    "       st-inspect --diff [--json] [-n glob] [-j jobs] a b\n"
	    "       st-inspect --check path...\n"
	    "\n"
	    "path: a .safetensors file, a checkpoint folder (model.safetensors, shards with\n"
	    "an index, or a folder of .safetensors files), a .gguf file, an .onnx model, an\n"
	    "NNEF folder or .nnef.tgz, or - for a safetensors stream on standard input.\n"
	    "\n"
	    "  --json         one JSON document instead of tables\n"
	    "  --metadata     metadata and config summary only, no tensor list\n"
	    "  -n glob        only tensors whose name matches (repeatable)\n"
	    "  --stats        min, max, mean, std, absmax, zeros, NaN, Inf per tensor\n"
	    "  --dump name    the tensor's values, one per line\n"
	    "  --raw          with --dump: the bytes as stored, to a pipe or file\n"
	    "  --diff         compare tensors of a and b; exit 1 when they differ\n"
	    "  --check        validate strictly, print every problem; exit 1 on any\n"
	    "  -j jobs        threads for --stats and --diff (default: all cores)\n"
	    "  -q             no progress display\n"
	    "  --help, --version\n");
}

static int
selected(const struct options *opt, const char *name)
{
	if (opt->n_globs == 0)
		return 1;
	for (int i = 0; i < opt->n_globs; i++)
		if (fnmatch(opt->globs[i], name, 0) == 0)
			return 1;
	return 0;
}

/* Text for a terminal: control bytes of hostile names become '?'. */
static const char *
clean(const char *s, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

static void
json_str(const char *s)
{
	char *j = insp_json_string(s);

	if (j == NULL)
		cli_die("out of memory");
	fputs(j, stdout);
	free(j);
}

/* JSON has no Inf or NaN: they become null. */
static void
json_num(double v)
{
	if (isfinite(v))
		printf("%.9g", v);
	else
		fputs("null", stdout);
}

static void
shape_text(const struct insp_tensor *t, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "[");

	for (int d = 0; d < t->ndim && n < cap; d++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
	if (n < cap)
		snprintf(buf + n, cap - n, "]");
}

/* ---- opening ---- */

/* The backend that claims path most strongly, or NULL with e set. */
static const struct insp_backend *
pick_backend(const char *path, struct qerr *e)
{
	unsigned char head[16];
	size_t len = 0;
	int is_dir = 0, best = 0, fd;
	const struct insp_backend *pick = NULL;
	struct stat st;

	if (strcmp(path, "-") != 0) {
		if (stat(path, &st) != 0) {
			qerr_set(e, "%s: %s", path, strerror(errno));
			return NULL;
		}
		is_dir = S_ISDIR(st.st_mode);
		if (!is_dir && (fd = open(path, O_RDONLY)) >= 0) {
			ssize_t r = read(fd, head, sizeof head);

			len = r > 0 ? (size_t)r : 0;
			close(fd);
		}
	}
	for (int i = 0; insp_backends[i]; i++) {
		int s = insp_backends[i]->probe(path, is_dir, head, len);

		if (s > best) {
			best = s;
			pick = insp_backends[i];
		}
	}
	if (pick == NULL)
		qerr_set(e, "%s: not a format st-inspect reads", path);
	return pick;
}

static int
open_model(struct insp_model *m, const char *path, struct qerr *e)
{
	memset(m, 0, sizeof *m);
	if ((m->be = pick_backend(path, e)) == NULL)
		return -1;
	if ((m->path = strdup(path)) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (m->be->open(m, path, e) < 0) {
		m->be->close(m);
		insp_model_free(m);
		return -1;
	}
	return 0;
}

/* Before a tensor's values are read (a stream reads them here). */
static int
prepare(const struct insp_model *m, const struct insp_tensor *t, struct qerr *e)
{
	return m->be->prepare ? m->be->prepare(m, t, e) : 0;
}

/* After the work: a stream must end where its header says. */
static int
finish(const struct insp_model *m)
{
	struct qerr e;

	if (m->be->finish && m->be->finish(m, &e) < 0) {
		fflush(stdout);
		fprintf(stderr, "%s: %s\n", cli_prog(), e.msg);
		return 1;
	}
	return 0;
}

static void
close_model(struct insp_model *m)
{
	m->be->close(m);
	insp_model_free(m);
}

/* ---- listing ---- */

struct dtype_total {
	const char *dtype;
	uint64_t tensors, elements, bytes;
};

/* Totals per dtype in order of first appearance; the last row is "all". */
static struct dtype_total *
totals(const struct options *opt, const struct insp_model *m, size_t *n)
{
	struct dtype_total *v = calloc(m->n_tensors + 1, sizeof *v);
	size_t k = 0;

	if (v == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct insp_tensor *t = &m->tensors[i];
		size_t j;

		if (!selected(opt, t->name))
			continue;
		for (j = 0; j < k && strcmp(v[j].dtype, t->dtype) != 0; j++)
			;
		if (j == k)
			v[k++].dtype = t->dtype;
		v[j].tensors++;
		v[j].elements += t->nelem;
		v[j].bytes += t->nbytes;
	}
	v[k].dtype = "all";
	for (size_t j = 0; j < k; j++) {
		v[k].tensors += v[j].tensors;
		v[k].elements += v[j].elements;
		v[k].bytes += v[j].bytes;
	}
	*n = k + 1;
	return v;
}

static void
print_sections_text(const struct insp_model *m)
{
	char b1[256], b2[512];

	for (size_t i = 0; i < m->n_sections; i++) {
		const struct insp_section *s = &m->sections[i];
		int w = 0;

		if (s->n == 0)
			continue;
		for (size_t k = 0; k < s->n; k++)
			if ((int)strlen(s->kv[k].key) > w)
				w = (int)strlen(s->kv[k].key);
		if (w > 40)
			w = 40;
		printf("%s:\n", s->name);
		for (size_t k = 0; k < s->n; k++)
			printf("  %-*s  %s\n", w, clean(s->kv[k].key, b1, sizeof b1),
			    clean(s->kv[k].text, b2, sizeof b2));
	}
}

static void
list_text(const struct options *opt, const struct insp_model *m)
{
	static const char *const head[] = { "NAME", "DTYPE", "SHAPE", "ELEMENTS", "BYTES", "OFFSET", "FILE" };
	int ncol = m->n_files > 1 ? 7 : 6, w[7];
	char cell[7][256];
	struct dtype_total *tot;
	size_t ntot;

	printf("%s: %s", m->path, m->format);
	if (m->n_files > 1)
		printf(", %zu files", m->n_files);
	printf(", %zu tensors\n", m->n_tensors);
	print_sections_text(m);
	if (opt->metadata_only)
		return;
	for (int c = 0; c < ncol; c++)
		w[c] = (int)strlen(head[c]);
	/* two passes: widths, then rows */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			printf("tensors:\n ");
			for (int c = 0; c < ncol; c++)
				printf(c >= 3 && c <= 5 ? " %*s" : " %-*s", c == 6 ? 0 : w[c], head[c]);
			printf("\n");
		}
		for (size_t i = 0; i < m->n_tensors; i++) {
			const struct insp_tensor *t = &m->tensors[i];

			if (!selected(opt, t->name))
				continue;
			if (pass == 1)
				printf(" ");
			clean(t->name, cell[0], sizeof cell[0]);
			clean(t->dtype, cell[1], sizeof cell[1]);
			shape_text(t, cell[2], sizeof cell[2]);
			snprintf(cell[3], sizeof cell[3], "%llu", (unsigned long long)t->nelem);
			snprintf(cell[4], sizeof cell[4], "%llu", (unsigned long long)t->nbytes);
			snprintf(cell[5], sizeof cell[5], "%llu", (unsigned long long)t->data_offset);
			if (ncol == 7) {
				const char *f = m->files[t->file], *slash = strrchr(f, '/');
				clean(slash ? slash + 1 : f, cell[6], sizeof cell[6]);
			}
			for (int c = 0; c < ncol; c++) {
				if (pass == 0) {
					if ((int)strlen(cell[c]) > w[c])
						w[c] = (int)strlen(cell[c]);
					continue;
				}
				printf(c >= 3 && c <= 5 ? " %*s" : " %-*s", c == 6 ? 0 : w[c], cell[c]);
			}
			if (pass == 1)
				printf("\n");
		}
	}
	tot = totals(opt, m, &ntot);
	printf("totals:\n  %-12s %10s %14s %16s\n", "DTYPE", "TENSORS", "ELEMENTS", "BYTES");
	for (size_t j = 0; j < ntot; j++)
		printf("  %-12s %10llu %14llu %16llu\n", clean(tot[j].dtype, cell[0], sizeof cell[0]),
		    (unsigned long long)tot[j].tensors, (unsigned long long)tot[j].elements,
		    (unsigned long long)tot[j].bytes);
	free(tot);
}

static void
json_sections(const struct insp_model *m)
{
	for (size_t i = 0; i < m->n_sections; i++) {
		const struct insp_section *s = &m->sections[i];

		printf(",\n  ");
		json_str(s->name);
		printf(": [");
		for (size_t k = 0; k < s->n; k++) {
			printf("%s\n    {\"key\": ", k ? "," : "");
			json_str(s->kv[k].key);
			printf(", \"type\": ");
			json_str(s->kv[k].type);
			printf(", \"value\": %s}", s->kv[k].json);
		}
		printf("%s]", s->n ? "\n  " : "");
	}
}

static void
json_shape(const struct insp_tensor *t)
{
	printf("[");
	for (int d = 0; d < t->ndim; d++)
		printf("%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
	printf("]");
}

/* The head of a model's JSON object, up to and excluding "tensors". */
static void
json_head(const struct insp_model *m)
{
	printf("{\"path\": ");
	json_str(m->path);
	printf(", \"format\": ");
	json_str(m->format);
	printf(",\n  \"files\": [");
	for (size_t i = 0; i < m->n_files; i++) {
		printf("%s", i ? ", " : "");
		json_str(m->files[i]);
	}
	printf("]");
	json_sections(m);
}

static void
json_tensor_fields(const struct insp_model *m, const struct insp_tensor *t)
{
	printf("{\"name\": ");
	json_str(t->name);
	printf(", \"dtype\": ");
	json_str(t->dtype);
	printf(", \"shape\": ");
	json_shape(t);
	printf(", \"nelem\": %llu, \"nbytes\": %llu, \"data_offset\": %llu",
	    (unsigned long long)t->nelem, (unsigned long long)t->nbytes,
	    (unsigned long long)t->data_offset);
	if (m->n_files > 1) {
		printf(", \"file\": ");
		json_str(m->files[t->file]);
	}
}

static void
list_json(const struct options *opt, const struct insp_model *m)
{
	struct dtype_total *tot;
	size_t ntot, k = 0;

	json_head(m);
	if (!opt->metadata_only) {
		printf(",\n  \"tensors\": [");
		for (size_t i = 0; i < m->n_tensors; i++) {
			if (!selected(opt, m->tensors[i].name))
				continue;
			printf("%s\n    ", k++ ? "," : "");
			json_tensor_fields(m, &m->tensors[i]);
			printf("}");
		}
		printf("%s],\n  \"totals\": [", k ? "\n  " : "");
		tot = totals(opt, m, &ntot);
		for (size_t j = 0; j < ntot; j++) {
			printf("%s\n    {\"dtype\": ", j ? "," : "");
			json_str(tot[j].dtype);
			printf(", \"tensors\": %llu, \"elements\": %llu, \"bytes\": %llu}",
			    (unsigned long long)tot[j].tensors, (unsigned long long)tot[j].elements,
			    (unsigned long long)tot[j].bytes);
		}
		printf("\n  ]");
		free(tot);
	}
	printf("\n}");
}

/* ---- --stats and --diff: chunked, parallel, combined in chunk order so
 * the figures do not depend on -j ---- */

struct diffacc {
	uint64_t n, unequal, nan_mismatch;
	double maxabs, sse, sa2, sb2, dot;
};

static void
diff_merge(struct diffacc *a, const struct diffacc *b)
{
	a->n += b->n;
	a->unequal += b->unequal;
	a->nan_mismatch += b->nan_mismatch;
	if (b->maxabs > a->maxabs)
		a->maxabs = b->maxabs;
	a->sse += b->sse;
	a->sa2 += b->sa2;
	a->sb2 += b->sb2;
	a->dot += b->dot;
}

struct pass {
	const struct insp_model *ma, *mb;
	const struct insp_tensor *ta, *tb;
	float **buf_a, **buf_b;		/* per worker */
	struct tstats *st;		/* per chunk */
	struct diffacc *df;		/* per chunk */
	int jobs;			/* threads */
	atomic_int failed;
	struct qerr e;
};

/* A chunk of tensor t as F32: in place when the backend can, else
 * converted into buf. */
static const float *
chunk_f32(const struct insp_model *m, const struct insp_tensor *t, uint64_t first, size_t n,
    float *buf, struct qerr *e)
{
	const float *v = m->be->view_f32 ? m->be->view_f32(m, t, first, n) : NULL;

	if (v)
		return v;
	return m->be->read_f32(m, t, first, n, buf, e) < 0 ? NULL : buf;
}

static void
fail_once(struct pass *p, const struct qerr *e)
{
	int expected = 0;

	if (atomic_compare_exchange_strong(&p->failed, &expected, 1))
		p->e = *e;
}

static void
stats_body(void *ctx, size_t b, size_t end, int worker)
{
	struct pass *p = ctx;
	const float *x;
	struct qerr e;

	for (size_t c = b; c < end; c++) {
		uint64_t first = (uint64_t)c * CHUNK;
		size_t n = (size_t)(p->ta->nelem - first < CHUNK ? p->ta->nelem - first : CHUNK);

		if (atomic_load(&p->failed))
			return;
		if ((x = chunk_f32(p->ma, p->ta, first, n, p->buf_a[worker], &e)) == NULL) {
			fail_once(p, &e);
			return;
		}
		p->st[c] = tstats_chunk(x, n);
	}
}

static void
diff_body(void *ctx, size_t b, size_t end, int worker)
{
	struct pass *p = ctx;
	const float *x, *y;
	struct qerr e;

	for (size_t c = b; c < end; c++) {
		uint64_t first = (uint64_t)c * CHUNK;
		size_t n = (size_t)(p->ta->nelem - first < CHUNK ? p->ta->nelem - first : CHUNK);
		struct diffacc d = { 0 };

		if (atomic_load(&p->failed))
			return;
		if ((x = chunk_f32(p->ma, p->ta, first, n, p->buf_a[worker], &e)) == NULL ||
		    (y = chunk_f32(p->mb, p->tb, first, n, p->buf_b[worker], &e)) == NULL) {
			fail_once(p, &e);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			double a = x[i], bb = y[i], err;

			if (isnan(a) || isnan(bb)) {
				if (!(isnan(a) && isnan(bb)))
					d.nan_mismatch++, d.unequal++;
				continue;
			}
			if (a != bb)
				d.unequal++;
			if (isinf(a) || isinf(bb))
				continue;	/* counted as unequal above when they differ */
			err = fabs(a - bb);
			if (err > d.maxabs)
				d.maxabs = err;
			d.n++;
			d.sse += err * err;
			d.sa2 += a * a;
			d.sb2 += bb * bb;
			d.dot += a * bb;
		}
		p->df[c] = d;
	}
}

static float **
worker_buffers(int jobs)
{
	float **v = calloc((size_t)jobs, sizeof *v);

	if (v == NULL)
		cli_die("out of memory");
	for (int i = 0; i < jobs; i++)
		if ((v[i] = malloc(CHUNK * sizeof(float))) == NULL)
			cli_die("out of memory");
	return v;
}

static void
free_buffers(float **v, int jobs)
{
	for (int i = 0; i < jobs; i++)
		free(v[i]);
	free(v);
}

/* Runs body over every chunk of p->ta; 0 or -1 with p->e set. */
static int
run_chunks(struct pass *p, qpool_body body)
{
	size_t nchunks = (size_t)((p->ta->nelem + CHUNK - 1) / CHUNK);

	atomic_store(&p->failed, 0);
	qpool_for(nchunks > 1 ? p->jobs : 1, nchunks, 1, body, p);
	if (p->ma->be->done_with)
		p->ma->be->done_with(p->ma, p->ta);
	if (p->mb && p->mb->be->done_with)
		p->mb->be->done_with(p->mb, p->tb);
	return atomic_load(&p->failed) ? -1 : 0;
}

static int
tensor_stats(struct pass *p, struct tstats *out)
{
	size_t nchunks = (size_t)((p->ta->nelem + CHUNK - 1) / CHUNK);

	*out = tstats_empty();
	if ((p->st = calloc(nchunks ? nchunks : 1, sizeof *p->st)) == NULL)
		cli_die("out of memory");
	if (run_chunks(p, stats_body) < 0) {
		free(p->st);
		return -1;
	}
	for (size_t c = 0; c < nchunks; c++)
		tstats_merge(out, &p->st[c]);
	free(p->st);
	return 0;
}

static int
print_stats(const struct options *opt, const struct insp_model *m)
{
	struct pass p = { .ma = m, .jobs = opt->jobs };
	struct cli_progress prog;
	uint64_t total = 0;
	size_t k = 0;
	int status = 0, w = 4;
	char name[256];

	p.buf_a = worker_buffers(opt->jobs);
	for (size_t i = 0; i < m->n_tensors; i++)
		if (selected(opt, m->tensors[i].name)) {
			total += m->tensors[i].nbytes;
			if ((int)strlen(m->tensors[i].name) > w)
				w = (int)strlen(m->tensors[i].name);
		}
	if (w > 60)
		w = 60;
	cli_progress_start(&prog, "stats", total, opt->quiet);
	if (opt->json) {
		json_head(m);
		printf(",\n  \"tensors\": [");
	} else {
		printf("%s: %s, %zu tensors\n", m->path, m->format, m->n_tensors);
		printf("%-*s %-8s %12s %12s %12s %12s %12s %12s %10s %8s %8s\n", w, "NAME", "DTYPE",
		    "ELEMENTS", "MIN", "MAX", "MEAN", "STD", "ABSMAX", "ZEROS", "NAN", "INF");
	}
	for (size_t i = 0; i < m->n_tensors; i++) {
		const struct insp_tensor *t = &m->tensors[i];
		struct tstats s;
		double sd;

		if (!selected(opt, t->name))
			continue;
		p.ta = t;
		if (prepare(m, t, &p.e) < 0 || tensor_stats(&p, &s) < 0) {
			cli_progress_end(&prog);
			fflush(stdout);
			fprintf(stderr, "%s: %s\n", cli_prog(), p.e.msg);
			status = 1;
			continue;
		}
		cli_progress_add(&prog, t->nbytes);
		sd = s.finite ? sqrt(s.m2 / (double)s.finite) : NAN;
		if (s.finite == 0)
			s.mean = NAN;
		if (s.finite + s.inf == 0)
			s.min = s.max = s.absmax = NAN;
		if (opt->json) {
			printf("%s\n    ", k++ ? "," : "");
			json_tensor_fields(m, t);
			printf(", \"stats\": {\"min\": ");
			json_num(s.min);
			printf(", \"max\": ");
			json_num(s.max);
			printf(", \"mean\": ");
			json_num(s.mean);
			printf(", \"std\": ");
			json_num(sd);
			printf(", \"absmax\": ");
			json_num(s.absmax);
			printf(", \"zeros\": %llu, \"nan\": %llu, \"inf\": %llu}}", (unsigned long long)s.zeros,
			    (unsigned long long)s.nan, (unsigned long long)s.inf);
		} else {
			printf("%-*s %-8s %12llu %12.6g %12.6g %12.6g %12.6g %12.6g %10llu %8llu %8llu\n",
			    w, clean(t->name, name, sizeof name), t->dtype, (unsigned long long)t->nelem,
			    s.min, s.max, s.mean, sd, s.absmax, (unsigned long long)s.zeros,
			    (unsigned long long)s.nan, (unsigned long long)s.inf);
		}
	}
	cli_progress_end(&prog);
	if (opt->json)
		printf("%s]\n}", k ? "\n  " : "");
	free_buffers(p.buf_a, opt->jobs);
	return status;
}

/* ---- --dump ---- */

/* The shortest %g that reads back as the same float / double. */
static void
print_float(double v, int is_double)
{
	char b[40];

	if (isnan(v)) {
		puts("nan");
		return;
	}
	for (int prec = is_double ? 15 : 6; prec <= 17; prec++) {
		snprintf(b, sizeof b, "%.*g", prec, v);
		if (is_double ? strtod(b, NULL) == v : strtof(b, NULL) == (float)v)
			break;
	}
	puts(b);
}

/* Exact text for the types that have it: integers as integers, F64 as a
 * double, the rest through F32. */
static int
dump_exact(const struct insp_tensor *t, const unsigned char *p)
{
	int d = qdtype_from_name(t->dtype);

	for (uint64_t i = 0; i < t->nelem; i++) {
		union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
			uint64_t u64; int64_t i64; double f64; } v;

		switch (d) {
		case QD_BOOL: memcpy(&v.u8, p + i, 1); printf("%s\n", v.u8 ? "true" : "false"); break;
		case QD_U8: memcpy(&v.u8, p + i, 1); printf("%u\n", v.u8); break;
		case QD_I8: memcpy(&v.i8, p + i, 1); printf("%d\n", v.i8); break;
		case QD_U16: memcpy(&v.u16, p + 2 * i, 2); printf("%u\n", v.u16); break;
		case QD_I16: memcpy(&v.i16, p + 2 * i, 2); printf("%d\n", v.i16); break;
		case QD_U32: memcpy(&v.u32, p + 4 * i, 4); printf("%u\n", v.u32); break;
		case QD_I32: memcpy(&v.i32, p + 4 * i, 4); printf("%d\n", v.i32); break;
		case QD_U64: memcpy(&v.u64, p + 8 * i, 8); printf("%llu\n", (unsigned long long)v.u64); break;
		case QD_I64: memcpy(&v.i64, p + 8 * i, 8); printf("%lld\n", (long long)v.i64); break;
		case QD_F64: memcpy(&v.f64, p + 8 * i, 8); print_float(v.f64, 1); break;
		default: return -1;
		}
	}
	return 0;
}

static int
dump(const struct options *opt, const struct insp_model *m)
{
	const struct insp_tensor *t = NULL;
	const unsigned char *bytes = NULL;
	struct qerr e;
	int d;

	for (size_t i = 0; i < m->n_tensors && !t; i++)
		if (strcmp(m->tensors[i].name, opt->dump) == 0)
			t = &m->tensors[i];
	if (t == NULL)
		cli_die("%s: no tensor named \"%s\"", m->path, opt->dump);
	if (prepare(m, t, &e) < 0)
		cli_die_err(&e);
	if (m->be->raw && m->be->raw(m, t, &bytes, &e) < 0)
		cli_die_err(&e);
	if (opt->raw) {
		struct cli_out o;

		if (bytes == NULL)
			cli_die("%s: %s: --raw is not available for this format", m->path, opt->dump);
		cli_out_open(&o, "-", 1);
		if (fwrite(bytes, 1, (size_t)t->nbytes, stdout) != t->nbytes)
			cli_die("standard output: %s", strerror(errno));
		cli_out_commit(&o);
		return 0;
	}
	d = qdtype_from_name(t->dtype);
	if (bytes && d >= 0 && dump_exact(t, bytes) == 0)
		return 0;
	float *buf = malloc(CHUNK * sizeof *buf);

	if (buf == NULL)
		cli_die("out of memory");
	for (uint64_t first = 0; first < t->nelem; first += CHUNK) {
		size_t n = (size_t)(t->nelem - first < CHUNK ? t->nelem - first : CHUNK);

		if (m->be->read_f32(m, t, first, n, buf, &e) < 0) {
			free(buf);
			cli_die_err(&e);
		}
		for (size_t i = 0; i < n; i++)
			print_float(buf[i], 0);
	}
	free(buf);
	return 0;
}

/* ---- --diff ---- */

static int
same_shape(const struct insp_tensor *a, const struct insp_tensor *b)
{
	if (a->ndim != b->ndim)
		return 0;
	for (int d = 0; d < a->ndim; d++)
		if (a->shape[d] != b->shape[d])
			return 0;
	return 1;
}

/* Tensors of a model sorted by name, for lookups in --diff (models with
 * 100k tensors exist: no linear scans per tensor). */
struct name_index {
	const struct insp_tensor **v;
	size_t n;
};

static int
cmp_tensor_name(const void *a, const void *b)
{
	return strcmp((*(const struct insp_tensor *const *)a)->name, (*(const struct insp_tensor *const *)b)->name);
}

static void
index_names(struct name_index *ix, const struct insp_model *m)
{
	if ((ix->v = malloc((m->n_tensors ? m->n_tensors : 1) * sizeof *ix->v)) == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < m->n_tensors; i++)
		ix->v[i] = &m->tensors[i];
	ix->n = m->n_tensors;
	qsort(ix->v, ix->n, sizeof *ix->v, cmp_tensor_name);
}

static const struct insp_tensor *
find(const struct name_index *ix, const char *name)
{
	struct insp_tensor key = { .name = (char *)name };
	const struct insp_tensor *kp = &key, *const *hit;

	hit = bsearch(&kp, ix->v, ix->n, sizeof *ix->v, cmp_tensor_name);
	return hit ? *hit : NULL;
}

static int
diff(const struct options *opt, const struct insp_model *a, const struct insp_model *b)
{
	struct pass p = { .ma = a, .mb = b, .jobs = opt->jobs };
	struct name_index ia, ib;
	size_t compared = 0, differ = 0, only_a = 0, only_b = 0, mism = 0, k = 0;
	char name[256], sa[128], sb[128];

	index_names(&ia, a);
	index_names(&ib, b);
	p.buf_a = worker_buffers(opt->jobs);
	p.buf_b = worker_buffers(opt->jobs);
	if (opt->json) {
		printf("{\"a\": ");
		json_str(a->path);
		printf(", \"b\": ");
		json_str(b->path);
		printf(",\n  \"tensors\": [");
	} else {
		printf("%-40s %12s %12s %10s %12s\n", "NAME", "MAX_ABS_ERR", "RMSE", "SQNR_DB", "COSINE");
	}
	/* a stream can only be read in its own order: then it drives */
	const struct insp_model *drive = b->sequential ? b : a;

	for (size_t i = 0; i < drive->n_tensors; i++) {
		const struct insp_tensor *ta, *tb;
		size_t nchunks;
		struct diffacc d = { 0 };
		double rmse, sqnr, cosine;
		struct qerr e;

		if (drive == b) {
			tb = &b->tensors[i];
			ta = find(&ia, tb->name);
		} else {
			ta = &a->tensors[i];
			tb = find(&ib, ta->name);
		}
		if (ta == NULL || tb == NULL || !selected(opt, ta->name) || !same_shape(ta, tb))
			continue;
		if (prepare(a, ta, &e) < 0 || prepare(b, tb, &e) < 0)
			cli_die_err(&e);
		nchunks = (size_t)((ta->nelem + CHUNK - 1) / CHUNK);
		p.ta = ta;
		p.tb = tb;
		if ((p.df = calloc(nchunks ? nchunks : 1, sizeof *p.df)) == NULL)
			cli_die("out of memory");
		if (run_chunks(&p, diff_body) < 0)
			cli_die_err(&p.e);
		for (size_t c = 0; c < nchunks; c++)
			diff_merge(&d, &p.df[c]);
		free(p.df);
		compared++;
		if (d.unequal)
			differ++;
		rmse = d.n ? sqrt(d.sse / (double)d.n) : 0;
		sqnr = d.sse > 0 ? 10 * log10(d.sa2 / d.sse) : INFINITY;
		cosine = d.sa2 > 0 && d.sb2 > 0 ? d.dot / sqrt(d.sa2 * d.sb2) : (d.sa2 == d.sb2 ? 1 : 0);
		if (opt->json) {
			printf("%s\n    {\"name\": ", k++ ? "," : "");
			json_str(ta->name);
			printf(", \"equal\": %s, \"max_abs_err\": ", d.unequal ? "false" : "true");
			json_num(d.maxabs);
			printf(", \"rmse\": ");
			json_num(rmse);
			printf(", \"sqnr_db\": ");
			json_num(sqnr);
			printf(", \"cosine\": ");
			json_num(cosine);
			printf(", \"nan_mismatch\": %llu}", (unsigned long long)d.nan_mismatch);
		} else {
			printf("%-40s %12.6g %12.6g %10.2f %12.9f%s\n", clean(ta->name, name, sizeof name),
			    d.maxabs, rmse, sqnr, cosine, d.nan_mismatch ? "  NaN positions differ" : "");
		}
	}
	if (opt->json)
		printf("%s],\n  \"only_in_a\": [", k ? "\n  " : "");
	for (size_t i = 0; i < a->n_tensors; i++)
		if (selected(opt, a->tensors[i].name) && !find(&ib, a->tensors[i].name)) {
			if (opt->json) {
				printf("%s", only_a ? ", " : "");
				json_str(a->tensors[i].name);
			} else {
				printf("only in %s: %s\n", a->path, clean(a->tensors[i].name, name, sizeof name));
			}
			only_a++;
		}
	if (opt->json)
		printf("],\n  \"only_in_b\": [");
	for (size_t i = 0; i < b->n_tensors; i++)
		if (selected(opt, b->tensors[i].name) && !find(&ia, b->tensors[i].name)) {
			if (opt->json) {
				printf("%s", only_b ? ", " : "");
				json_str(b->tensors[i].name);
			} else {
				printf("only in %s: %s\n", b->path, clean(b->tensors[i].name, name, sizeof name));
			}
			only_b++;
		}
	if (opt->json)
		printf("],\n  \"shape_mismatch\": [");
	for (size_t i = 0; i < a->n_tensors; i++) {
		const struct insp_tensor *ta = &a->tensors[i], *tb;

		if (!selected(opt, ta->name) || (tb = find(&ib, ta->name)) == NULL || same_shape(ta, tb))
			continue;
		shape_text(ta, sa, sizeof sa);
		shape_text(tb, sb, sizeof sb);
		if (opt->json) {
			printf("%s\n    {\"name\": ", mism ? "," : "");
			json_str(ta->name);
			printf(", \"shape_a\": ");
			json_shape(ta);
			printf(", \"shape_b\": ");
			json_shape(tb);
			printf("}");
		} else {
			printf("shape differs: %s: %s vs %s\n", clean(ta->name, name, sizeof name), sa, sb);
		}
		mism++;
	}
	if (opt->json) {
		printf("%s],\n  \"compared\": %zu, \"differ\": %zu, \"equal\": %s\n}\n", mism ? "\n  " : "",
		    compared, differ, differ + only_a + only_b + mism ? "false" : "true");
	} else {
		printf("%zu compared, %zu differ, %zu only in a, %zu only in b, %zu shape mismatches\n",
		    compared, differ, only_a, only_b, mism);
	}
	free_buffers(p.buf_a, opt->jobs);
	free_buffers(p.buf_b, opt->jobs);
	free(ia.v);
	free(ib.v);
	return differ + only_a + only_b + mism ? 1 : 0;
}

/* ---- --check ---- */

static void
print_problem(void *ctx, const char *msg)
{
	char b[1200];

	(void)ctx;
	printf("%s\n", clean(msg, b, sizeof b));
}

static int
check(const char *path)
{
	const struct insp_backend *be;
	struct insp_model m;
	struct qerr e;
	size_t n = 0;

	if ((be = pick_backend(path, &e)) == NULL) {
		print_problem(NULL, e.msg);
		n = 1;
	} else if (be->check) {
		n = be->check(path, print_problem, NULL);
	} else if (open_model(&m, path, &e) < 0) {
		print_problem(NULL, e.msg);
		n = 1;
	} else {
		close_model(&m);
	}
	if (n)
		printf("%s: %zu problem%s\n", path, n, n == 1 ? "" : "s");
	else
		printf("%s: ok\n", path);
	return n ? 1 : 0;
}

int
main(int argc, char **argv)
{
	enum { O_JSON = 256, O_META, O_STATS, O_DUMP, O_RAW, O_DIFF, O_CHECK, O_HELP, O_VERSION };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "metadata", no_argument, NULL, O_META },
		{ "stats", no_argument, NULL, O_STATS },
		{ "dump", required_argument, NULL, O_DUMP },
		{ "raw", no_argument, NULL, O_RAW },
		{ "diff", no_argument, NULL, O_DIFF },
		{ "check", no_argument, NULL, O_CHECK },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct options opt = { 0 };
	int c, status = 0, modes;

	cli_init(argv[0]);
	opt.jobs = qpool_ncpu();
	if ((opt.globs = calloc((size_t)argc, sizeof *opt.globs)) == NULL)
		cli_die("out of memory");
	while ((c = getopt_long(argc, argv, "n:j:qh", longopts, NULL)) != -1) {
		switch (c) {
		case O_JSON: opt.json = 1; break;
		case O_META: opt.metadata_only = 1; break;
		case O_STATS: opt.stats = 1; break;
		case O_DUMP: opt.dump = optarg; break;
		case O_RAW: opt.raw = 1; break;
		case O_DIFF: opt.diff = 1; break;
		case O_CHECK: opt.check = 1; break;
		case 'n': opt.globs[opt.n_globs++] = optarg; break;
		case 'j': opt.jobs = cli_parse_jobs(optarg); break;
		case 'q': opt.quiet = 1; break;
		case 'h': case O_HELP: usage(stdout); free(opt.globs); return 0;
		case O_VERSION: cli_version();
		default: cli_usage_error("unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	modes = opt.stats + opt.diff + opt.check + (opt.dump != NULL);
	if (modes > 1)
		cli_usage_error("--stats, --diff, --dump and --check do not combine");
	if (opt.raw && !opt.dump)
		cli_usage_error("--raw goes with --dump");
	if (argc == 0)
		cli_usage_error("no input");
	if ((opt.diff || opt.dump) && argc != (opt.diff ? 2 : 1))
		cli_usage_error(opt.diff ? "--diff takes two inputs" : "--dump takes one input");
	if (opt.diff && strcmp(argv[0], "-") == 0 && strcmp(argv[1], "-") == 0)
		cli_usage_error("only one input can be standard input");

	if (opt.check) {
		for (int i = 0; i < argc; i++)
			status |= check(argv[i]);
		free(opt.globs);
		cli_close_stdout();
		return status;
	}
	if (opt.diff) {
		struct insp_model a, b;
		struct qerr e;

		if (open_model(&a, argv[0], &e) < 0 || open_model(&b, argv[1], &e) < 0)
			cli_die_err(&e);
		status = diff(&opt, &a, &b);
		if (finish(&a) | finish(&b))
			status = 1;
		close_model(&a);
		close_model(&b);
		free(opt.globs);
		cli_close_stdout();
		return status;
	}
	if (opt.json && argc > 1)
		printf("[");
	for (int i = 0; i < argc; i++) {
		struct insp_model m;
		struct qerr e;

		if (open_model(&m, argv[i], &e) < 0) {
			fflush(stdout);
			fprintf(stderr, "%s: %s\n", cli_prog(), e.msg);
			status = 1;
			continue;
		}
		if (opt.dump)
			status |= dump(&opt, &m);
		else {
			if (opt.json && argc > 1 && i > 0)
				printf(",\n");
			if (opt.stats)
				status |= print_stats(&opt, &m);
			else if (opt.json)
				list_json(&opt, &m);
			else {
				if (i > 0)
					printf("\n");
				list_text(&opt, &m);
			}
			if (opt.json && argc == 1)
				printf("\n");
		}
		status |= finish(&m);
		close_model(&m);
	}
	if (opt.json && argc > 1)
		printf("]\n");
	free(opt.globs);
	cli_close_stdout();
	return status;
}
