/* tstats: the AVX2 variant gives the reference's bits; the reference
 * agrees with a plain two-pass model in long double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tstats.h"

static float *
data(size_t n, uint32_t seed, int specials)
{
	float *x = malloc((n ? n : 1) * sizeof *x);

	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
		x[i] = ((float)(seed >> 8) / 16777216.0f - 0.3f) * 100.0f;
		if (specials && seed % 97 == 0)
			x[i] = seed % 3 == 0 ? NAN : seed % 3 == 1 ? INFINITY : -INFINITY;
		if (seed % 89 == 0)
			x[i] = seed % 2 ? 0.0f : -0.0f;
	}
	return x;
}

TEST(variant_bits_equal_reference)
{
	static const size_t lens[] = { 0, 1, 7, 8, 9, 63, 64, 65, 1000, 65536 + 3 };

	for (size_t k = 0; k < sizeof lens / sizeof *lens; k++)
		for (int sp = 0; sp < 2; sp++) {
			float *x = data(lens[k], 12345u + (uint32_t)k, sp);
			struct tstats a = tstats_chunk(x, lens[k]), b = tstats_chunk_ref(x, lens[k]);

			CHECKF(memcmp(&a, &b, sizeof a) == 0, "n=%zu specials=%d: mean %.17g/%.17g m2 %.17g/%.17g",
			    lens[k], sp, a.mean, b.mean, a.m2, b.m2);
			free(x);
		}
}

TEST(reference_matches_two_pass_model)
{
	size_t n = 100003;
	float *x = data(n, 777u, 1);
	struct tstats s = tstats_empty(), c;
	long double sum = 0, m2 = 0, mean;
	uint64_t fin = 0, nan = 0, inf = 0, zeros = 0;
	double mn = INFINITY, mx = -INFINITY;

	/* in chunks of 4096, merged: the path st-inspect takes */
	for (size_t i = 0; i < n; i += 4096) {
		c = tstats_chunk_ref(x + i, n - i < 4096 ? n - i : 4096);
		tstats_merge(&s, &c);
	}
	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i])) {
			nan++;
			continue;
		}
		mn = x[i] < mn ? x[i] : mn;
		mx = x[i] > mx ? x[i] : mx;
		zeros += x[i] == 0;
		if (isinf(x[i])) {
			inf++;
			continue;
		}
		fin++;
		sum += x[i];
	}
	mean = sum / fin;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			m2 += (x[i] - mean) * (x[i] - mean);
	CHECK_EQ_INT(s.finite, fin);
	CHECK_EQ_INT(s.nan, nan);
	CHECK_EQ_INT(s.inf, inf);
	CHECK_EQ_INT(s.zeros, zeros);
	CHECK(nan > 0 && inf > 0 && zeros > 0);
	CHECK(s.min == mn && s.max == mx && s.absmax == INFINITY);
	CHECKF(fabsl(s.mean - mean) <= 1e-12L * fabsl(mean), "mean %.17g vs %.17Lg", s.mean, mean);
	CHECKF(fabsl(s.m2 - m2) <= 1e-12L * m2, "m2 %.17g vs %.17Lg", s.m2, m2);
	free(x);
}

TEST(all_nan_chunk)
{
	float x[3] = { NAN, NAN, NAN };
	struct tstats s = tstats_chunk(x, 3);

	CHECK(s.nan == 3 && s.finite == 0 && s.inf == 0 && s.absmax == 0);
}

int
main(void)
{
	RUN(variant_bits_equal_reference);
	RUN(reference_matches_two_pass_model);
	RUN(all_nan_chunk);
	return t_done();
}
