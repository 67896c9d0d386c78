/* bench_kernels: throughput of the quantize kernels in GB/s of F32 input,
 * beside memcpy of the same bytes and beside ggml_quantize_chunk (dlopened
 * from the npm libggml-base) on the same rows, on 1 and 2 threads.
 * Runs at the SIMD level of the process (QUTILS_SIMD); scripts/
 * bench-kernels.sh runs it once per level.  Not a test.
 *
 *   bench_kernels [-m MB] [-g] TYPE...     (-g: also time ggml) */
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
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct job {
	int kind;		/* 0 ours, 1 ggml, 2 memcpy */
	enum qfmt f;
	const float *src;
	unsigned char *dst;
	int64_t row0, nrows;
	ggml_quantize_chunk_fn ggml;
};

static void *
run_part(void *arg)
{
	struct job *j = arg;
	uint64_t rs = qfmt_row_size(j->f, ROW);

	if (j->kind == 1)
		j->ggml((int)j->f, j->src, j->dst, j->row0 * ROW, j->nrows, ROW, NULL);
	else if (j->kind == 2)
		memcpy(j->dst + j->row0 * ROW * 4, j->src + j->row0 * ROW, (size_t)(j->nrows * ROW * 4));
	else
		qfmt_quantize(j->f, j->src + j->row0 * ROW, j->dst + j->row0 * rs, j->nrows, ROW, NULL, 1);
	return NULL;
}

/* best of 3, GB/s of input */
static double
measure(int kind, enum qfmt f, const float *src, unsigned char *dst, int64_t nrows, int jobs,
    ggml_quantize_chunk_fn ggml)
{
	double best = 1e30;

	for (int rep = 0; rep < 3; rep++) {
		pthread_t th[2];
		struct job j[2];
		double t0 = now();

		if (kind == 0 && jobs > 1) {
			/* our own threading: qfmt_quantize with -j */
			qfmt_quantize(f, src, dst, nrows, ROW, NULL, jobs);
		} else {
			for (int k = 0; k < jobs; k++) {
				j[k] = (struct job){ kind, f, src, dst, nrows * k / jobs,
					nrows * (k + 1) / jobs - nrows * k / jobs, ggml };
				pthread_create(&th[k], NULL, run_part, &j[k]);
			}
			for (int k = 0; k < jobs; k++)
				pthread_join(th[k], NULL);
		}
		if (now() - t0 < best)
			best = now() - t0;
	}
	return (double)nrows * ROW * 4 / best / 1e9;
}

int
main(int argc, char **argv)
{
	int mb = 256, with_ggml = 0, opt;
	int64_t nrows;
	float *src;
	unsigned char *dst;
	ggml_quantize_chunk_fn ggml = NULL;
	const char *mode = qcpu_level_name(qcpu_level());
	uint64_t s = 1;

	while ((opt = getopt(argc, argv, "m:g")) != -1) {
		if (opt == 'm')
			mb = atoi(optarg);
		else if (opt == 'g')
			with_ggml = 1;
		else {
			fprintf(stderr, "usage: bench_kernels [-m MB] [-g] TYPE...\n");
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
	printf("%-8s %-7s %8.2f %8.2f\n", "memcpy", "-", measure(2, QF_F32, src, dst, nrows, 1, NULL),
	    measure(2, QF_F32, src, dst, nrows, 2, NULL));
	for (int i = optind; i < argc; i++) {
		int f = qfmt_from_name(argv[i]);
		if (f < 0 || !qfmt_table[f].quantize) {
			fprintf(stderr, "bench_kernels: %s: no quantizer\n", argv[i]);
			continue;
		}
		printf("%-8s %-7s %8.2f %8.2f", qfmt_table[f].name, mode,
		    measure(0, (enum qfmt)f, src, dst, nrows, 1, NULL),
		    measure(0, (enum qfmt)f, src, dst, nrows, 2, NULL));
		if (ggml && f < QF_GGML_COUNT)
			printf(" %8.2f %8.2f", measure(1, (enum qfmt)f, src, dst, nrows, 1, ggml),
			    measure(1, (enum qfmt)f, src, dst, nrows, 2, ggml));
		printf("\n");
		fflush(stdout);
	}
	free(src);
	free(dst);
	return 0;
}
