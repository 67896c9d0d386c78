/* bench_kernels: throughput of the quantize kernels in GB/s of F32 input,
 * beside memcpy of the same bytes and beside ggml_quantize_chunk (dlopened
 * from the npm libggml-base) on the same rows, on 1 and 2 threads.
 * Runs at the SIMD level of the process (QUTILS_SIMD); scripts/
 * bench-kernels.sh runs it once per level.  Not a test.
 *
 *   bench_kernels [-L] [-m MB] [-g] TYPE[:im]...
 * -g also times ggml; TYPE:im quantizes with an importance matrix; -L
 * lists the SIMD levels of the machine.  Columns: GB/s by the wall clock
 * on 1 and 2 threads, and by the CPU time of the 1-thread run. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "quant.h"

#define GGML_LIB "tests/oracles/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so"
#define ROW 4096

typedef size_t (*ggml_quantize_chunk_fn)(int, const float *, void *, int64_t, int64_t, int64_t, const float *);

static double
clock_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

/* GB/s by the CPU time of the last single-thread run: what the kernel
 * does when it has a core to itself (the machine is shared) */
static double last_cpu_gbs;

struct job {
	int kind;		/* 0 ours, 1 ggml, 2 memcpy */
	enum qfmt f;
	const float *src;
	unsigned char *dst;
	int64_t row0, nrows;
	ggml_quantize_chunk_fn ggml;
	const float *imatrix;
};

static void *
run_part(void *arg)
{
	struct job *j = arg;
	uint64_t rs = qfmt_row_size(j->f, ROW);

	if (j->kind == 1)
		j->ggml((int)j->f, j->src, j->dst, j->row0 * ROW, j->nrows, ROW, j->imatrix);
	else if (j->kind == 2)
		memcpy(j->dst + j->row0 * ROW * 4, j->src + j->row0 * ROW, (size_t)(j->nrows * ROW * 4));
	else
		qfmt_quantize(j->f, j->src + j->row0 * ROW, j->dst + j->row0 * rs, j->nrows, ROW, j->imatrix, 1);
	return NULL;
}

/* best of 3, GB/s of input by the wall clock */
static double
measure(int kind, enum qfmt f, const float *src, unsigned char *dst, int64_t nrows, int jobs,
    ggml_quantize_chunk_fn ggml, const float *imatrix)
{
	double best = 1e30, best_cpu = 1e30;

	for (int rep = 0; rep < 3; rep++) {
		pthread_t th[2];
		struct job j[2];
		double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), dt;

		if (jobs == 1) {
			j[0] = (struct job){ kind, f, src, dst, 0, nrows, ggml, imatrix };
			run_part(&j[0]);
			if (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0 < best_cpu)
				best_cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		} else if (kind == 0) {
			/* our own threading: qfmt_quantize with -j */
			qfmt_quantize(f, src, dst, nrows, ROW, imatrix, jobs);
		} else {
			for (int k = 0; k < jobs; k++) {
				j[k] = (struct job){ kind, f, src, dst, nrows * k / jobs,
					nrows * (k + 1) / jobs - nrows * k / jobs, ggml, imatrix };
				pthread_create(&th[k], NULL, run_part, &j[k]);
			}
			for (int k = 0; k < jobs; k++)
				pthread_join(th[k], NULL);
		}
		dt = now() - t0;
		if (dt < best)
			best = dt;
	}
	if (jobs == 1)
		last_cpu_gbs = (double)nrows * ROW * 4 / best_cpu / 1e9;
	return (double)nrows * ROW * 4 / best / 1e9;
}

int
main(int argc, char **argv)
{
	int mb = 256, with_ggml = 0, opt;
	int64_t nrows;
	float *src, imatrix[ROW];
	unsigned char *dst;
	ggml_quantize_chunk_fn ggml = NULL;
	const char *mode = qcpu_level_name(qcpu_level());
	uint64_t s = 1;

	while ((opt = getopt(argc, argv, "m:gL")) != -1) {
		if (opt == 'L') {	/* the levels this machine has, best first */
			for (int l = (int)qcpu_detected(); l >= 0; l--)
				printf("%s\n", qcpu_level_name((enum qcpu_level)l));
			return 0;
		} else if (opt == 'm')
			mb = atoi(optarg);
		else if (opt == 'g')
			with_ggml = 1;
		else {
			fprintf(stderr, "usage: bench_kernels [-L] [-m MB] [-g] TYPE[:im]...\n");
			return 2;
		}
	}
	if (with_ggml) {
		void *lib = dlopen(GGML_LIB, RTLD_NOW | RTLD_LOCAL);
		if (lib)
			*(void **)&ggml = dlsym(lib, "ggml_quantize_chunk");
		if (!ggml)
			fprintf(stderr, "bench_kernels: %s: not found, no ggml column\n", GGML_LIB);
	}
	nrows = (int64_t)mb * 1024 * 1024 / 4 / ROW;
	src = malloc((size_t)(nrows * ROW) * 4);
	dst = malloc((size_t)(nrows * ROW) * 4);
	if (!src || !dst)
		return 1;
	/* Gaussian-ish weights (sum of uniforms), scaled like a real layer */
	for (int64_t i = 0; i < nrows * ROW; i++) {
		float v = 0;
		for (int k = 0; k < 4; k++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			v += (float)(s >> 40) * 0x1p-24f - 0.5f;
		}
		src[i] = v * 0.05f;
	}
	memset(dst, 1, (size_t)(nrows * ROW) * 4);
	{
		double w1 = measure(2, QF_F32, src, dst, nrows, 1, NULL, NULL), c1 = last_cpu_gbs;
		printf("%-10s %-7s %8.2f %8.2f %8.2f\n", "memcpy", "-", w1,
		    measure(2, QF_F32, src, dst, nrows, 2, NULL, NULL), c1);
	}
	for (int k = 0; k < ROW; k++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		imatrix[k] = (float)(s >> 40) * 0x1p-23f;
	}
	for (int i = optind; i < argc; i++) {
		char name[32], *colon;
		const float *im = NULL;
		int f;

		snprintf(name, sizeof name, "%s", argv[i]);
		if ((colon = strchr(name, ':')) && strcmp(colon, ":im") == 0) {
			*colon = 0;
			im = imatrix;
		}
		f = qfmt_from_name(name);
		if (f < 0 || !qfmt_table[f].quantize) {
			fprintf(stderr, "bench_kernels: %s: no quantizer\n", argv[i]);
			continue;
		}
		snprintf(name, sizeof name, "%s%s", qfmt_table[f].name, im ? ":im" : "");
		{
			double w1 = measure(0, (enum qfmt)f, src, dst, nrows, 1, NULL, im), c1 = last_cpu_gbs;
			printf("%-10s %-7s %8.2f %8.2f %8.2f", name, mode, w1,
			    measure(0, (enum qfmt)f, src, dst, nrows, 2, NULL, im), c1);
		}
		if (ggml && f < QF_GGML_COUNT) {
			double w1 = measure(1, (enum qfmt)f, src, dst, nrows, 1, ggml, im), c1 = last_cpu_gbs;
			printf(" %8.2f %8.2f %8.2f", w1, measure(1, (enum qfmt)f, src, dst, nrows, 2, ggml, im), c1);
		}
		printf("\n");
		fflush(stdout);
	}
	free(src);
	free(dst);
	return 0;
}
