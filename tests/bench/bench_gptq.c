/* GPTQ timing (scripts/bench-gptq.sh): one rows x cols layer, n captured
 * input rows, int4 group 128, jobs threads.  Prints seconds: wall clock,
 * then CPU (all threads; the steadier figure on a shared machine).
 * usage: bench_gptq rows cols n jobs [act] [ref] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gptq.h"

static uint64_t rng = 88172645463325252u;

static float
frand(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (float)((rng >> 40) / (double)(1 << 24) * 2 - 1);
}

int
main(int argc, char **argv)
{
	int64_t rows, cols, n;
	int jobs, act = argc > 5 && atoi(argv[5]), ref = argc > 6 && atoi(argv[6]);
	struct qscheme s = { QF_INT4, 1, QG_GROUP, 0, 128, { 0, 0 } };
	struct qgrid g;
	struct qerr e;
	struct gptq_opts o;
	struct calib_opts co;
	float *w, *x, *sc;
	int32_t *q, *gi;
	struct timespec t0, t1, c0, c1;

	if (argc < 5)
		return fprintf(stderr, "usage: bench_gptq rows cols n jobs [act] [ref]\n"), 2;
	rows = atoll(argv[1]), cols = atoll(argv[2]), n = atoll(argv[3]), jobs = atoi(argv[4]);
	if (linq_grid(&s, rows, cols, &g, &e) < 0)
		return fprintf(stderr, "%s\n", e.msg), 1;
	w = malloc((size_t)(rows * cols) * sizeof *w);
	x = malloc((size_t)(n * cols) * sizeof *x);
	sc = malloc((size_t)linq_ncells(&g) * sizeof *sc);
	q = malloc((size_t)(rows * cols) * sizeof *q);
	gi = malloc((size_t)cols * sizeof *gi);
	if (!w || !x || !sc || !q || !gi)
		return fprintf(stderr, "out of memory\n"), 1;
	for (int64_t i = 0; i < rows * cols; i++)
		w[i] = frand() * 0.05f;
	for (int64_t i = 0; i < n * cols; i++)
		x[i] = frand() * (i % cols % 13 == 5 ? 10.0f : 1.0f);
	gptq_defaults(&o);
	o.jobs = jobs;
	o.act_order = act;
	o.reference = ref;
	calib_defaults(&co);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	if (gptq_run(&s, &g, w, x, n, &o, &co, NULL, sc, NULL, q, gi, &e) < 0)
		return fprintf(stderr, "%s\n", e.msg), 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("%8.2f %8.2f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9);
	return 0;
}
