/* threads: run a loop body over [0, n) on up to `jobs` threads.
 *
 * The range is handed out in chunks of `grain` items from a shared counter,
 * so uneven work balances itself.  No pool lives between calls: starting a
 * few threads costs microseconds, far below the work they are given. */
#ifndef THREADS_H
#define THREADS_H

#include <stddef.h>

/* body(ctx, begin, end, worker) handles items [begin, end); worker is
 * 0..jobs-1, for per-thread scratch.  jobs <= 1 runs inline. */
typedef void (*qpool_body)(void *ctx, size_t begin, size_t end, int worker);

void qpool_for(int jobs, size_t n, size_t grain, qpool_body body, void *ctx);

/* Number of online CPUs (at least 1): the default for -j. */
int qpool_ncpu(void);

#endif
