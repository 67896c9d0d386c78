/* tstats: summary statistics of float values, a chunk at a time.
 *
 * min, max and absmax cover every non-NaN value (infinities included);
 * mean and m2 (sum of squared deviations from the mean) cover the finite
 * values only; zeros, nan and inf are counts.  A chunk's figures come from
 * eight lanes summed in a fixed order, and chunks combine with Chan's
 * formula in the order the caller merges them, so the result depends on
 * neither the machine nor the number of threads.  The AVX2 variant runs the
 * same eight lanes and gives the same bits as the reference (proved by
 * tests/unit/test_tstats.c). */
#ifndef TSTATS_H
#define TSTATS_H

#include <stddef.h>
#include <stdint.h>

struct tstats {
	uint64_t finite, zeros, nan, inf;
	double min, max, absmax, mean, m2;
};

/* The figures of nothing: min +inf, max -inf, counts 0. */
struct tstats tstats_empty(void);
/* The figures of x[0..n): the best variant for this CPU, and the reference. */
struct tstats tstats_chunk(const float *x, size_t n);
struct tstats tstats_chunk_ref(const float *x, size_t n);
/* a := a followed by b. */
void tstats_merge(struct tstats *a, const struct tstats *b);

#endif
