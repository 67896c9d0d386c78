/* bench_kquants: GB/s of F32 input for the K-quants, ours beside ggml's
 * ggml_quantize_chunk (libggml-base from the npm oracle) on the same rows,
 * 1 and 2 threads, without and with an importance vector.  Also checks
 * that the bytes are the same.  Not a test: scripts/bench-kquants.sh.
 *
 *   bench_kquants [-m MB] [TYPE...]      (default 16 MB, Q4_K Q6_K) */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quant.h"
#include "quant_k.h"

#define GGML_LIB "tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"
#define ROW 4096

typedef size_t (*quantize_chunk_fn)(int type, const float *src, void *dst, int64_t start,
    int64_t nrows, int64_t n_per_row, const float *imatrix);
static quantize_chunk_fn ggml_chunk;

struct job {
	enum qfmt f;
	const float *x, *qw;
	unsigned char *dst;
	int64_t r0, nrows;
};

static void *
ggml_thread(void *p)
{
	struct job *j = p;

	ggml_chunk((int)j->f, j->x, j->dst, j->r0 * ROW, j->nrows, ROW, j->qw);
	return NULL;
}

static double
clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* The machine is shared: one-thread figures are CPU time of this thread,
 * two-thread figures wall time; each the best of three runs. */
#define BEST_OF 3

/* ggml on `threads` threads, rows split in equal parts. */
static double
run_ggml(enum qfmt f, const float *x, const float *qw, unsigned char *dst, int64_t nrows, int threads)
{
	pthread_t th[2];
	struct job j[2];

	if (threads == 1) {
		double t = clock_s(CLOCK_THREAD_CPUTIME_ID);
		ggml_chunk((int)f, x, dst, 0, nrows, ROW, qw);
		return clock_s(CLOCK_THREAD_CPUTIME_ID) - t;
	}
	double t = now();

	for (int i = 0; i < threads; i++) {
		int64_t r0 = nrows * i / threads, r1 = nrows * (i + 1) / threads;
		j[i] = (struct job){ f, x, qw, dst, r0, r1 - r0 };
		pthread_create(&th[i], NULL, ggml_thread, &j[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	return now() - t;
}

int
main(int argc, char **argv)
{
	double mb = 16;
	int c;

	while ((c = getopt(argc, argv, "m:")) != -1)
		if (c == 'm')
			mb = atof(optarg);
	void *lib = dlopen(GGML_LIB, RTLD_NOW);
	if (lib)
		ggml_chunk = (quantize_chunk_fn)dlsym(lib, "ggml_quantize_chunk");
	if (!ggml_chunk)
		fprintf(stderr, "bench_kquants: %s not loaded; ggml columns empty\n", GGML_LIB);

	int64_t nrows = (int64_t)(mb * 1e6 / 4 / ROW);
	if (nrows < 2)
		nrows = 2;
	float *x = malloc(sizeof(float) * ROW * nrows), *qw = malloc(sizeof(float) * ROW);
	uint64_t s = 88172645463325252ull;
	for (int64_t i = 0; i < ROW * nrows; i++) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		double u = ((s >> 11) + 0.5) / 9007199254740992.0;
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		double v = ((s >> 11) + 0.5) / 9007199254740992.0;
		x[i] = (float)(0.02 * sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
	}
	for (int i = 0; i < ROW; i++)
		qw[i] = 0.5f + (float)(i % 7);

	const char *deftypes[] = { "Q4_K", "Q6_K" };
	const char **types = optind < argc ? (const char **)argv + optind : deftypes;
	int ntypes = optind < argc ? argc - optind : 2;
	double gb = (double)ROW * nrows * 4 / 1e9;

	printf("K-quant kernels, GB/s of F32 input (%.0f MB, rows of %d), variant %s;\n"
	    "1t = CPU time of one thread, 2t = wall time, best of %d\n", gb * 1e3, ROW, qk_variant(),
	    BEST_OF);
	printf("%-7s %-8s %9s %9s %9s %9s %9s %8s %6s\n", "type", "imatrix", "ggml-1t", "ggml-2t",
	    "ref-1t", "ours-1t", "ours-2t", "speedup", "bytes");
	for (int t = 0; t < ntypes; t++) {
		int f = qfmt_from_name(types[t]);
		if (f < 0 || !qfmt_table[f].quantize) {
			fprintf(stderr, "bench_kquants: %s: no quantizer\n", types[t]);
			continue;
		}
		size_t len = qfmt_row_size(f, ROW) * (size_t)nrows;
		unsigned char *a = malloc(len), *b = malloc(len);
		for (int m = 0; m < 2; m++) {
			const float *w = m ? qw : NULL;
			double g1 = 1e9, g2 = 1e9, r1 = 1e9, o1 = 1e9, o2 = 1e9, t0;
			memset(a, 0, len);
			for (int rep = 0; rep < BEST_OF; rep++) {
				if (ggml_chunk) {
					g1 = fmin(g1, run_ggml(f, x, w, a, nrows, 1));
					g2 = fmin(g2, run_ggml(f, x, w, a, nrows, 2));
				}
				t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
				qfmt_table[f].quantize_ref(x, b, nrows, ROW, w);
				r1 = fmin(r1, clock_s(CLOCK_THREAD_CPUTIME_ID) - t0);
				t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
				qfmt_quantize(f, x, b, nrows, ROW, w, 1);
				o1 = fmin(o1, clock_s(CLOCK_THREAD_CPUTIME_ID) - t0);
				t0 = now();
				qfmt_quantize(f, x, b, nrows, ROW, w, 2);
				o2 = fmin(o2, now() - t0);
			}
			if (!ggml_chunk)
				g1 = g2 = 0;
			printf("%-7s %-8s %9.3f %9.3f %9.3f %9.3f %9.3f %7.1fx %6s\n", qfmt_table[f].name,
			    m ? "yes" : "no", g1 ? gb / g1 : 0, g2 ? gb / g2 : 0, gb / r1, gb / o1, gb / o2,
			    g1 ? g1 / o1 : 0, !ggml_chunk ? "?" : memcmp(a, b, len) ? "DIFFER" : "same");
			fflush(stdout);
		}
		free(a);
		free(b);
	}
	free(x);
	free(qw);
	return 0;
}
