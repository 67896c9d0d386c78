/* The harness itself, the thread pool and the scalar F16/BF16 references. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dtype.h"
#include "harness.h"
#include "threads.h"

struct sum_ctx {
	atomic_ullong sum;
};

static void
sum_body(void *ctx, size_t b, size_t e, int worker)
{
	struct sum_ctx *c = ctx;
	unsigned long long s = 0;

	(void)worker;
	for (size_t i = b; i < e; i++)
		s += i;
	atomic_fetch_add(&c->sum, s);
}

TEST(pool_covers_range_once)
{
	for (int jobs = 1; jobs <= 4; jobs++) {
		struct sum_ctx c = { 0 };

		qpool_for(jobs, 100003, 7, sum_body, &c);
		CHECK_EQ_INT(c.sum, 100003ULL * 100002ULL / 2);
	}
}

/* Every binary16 pattern round-trips through binary32 (NaNs stay NaN). */
TEST(f16_all_patterns_roundtrip)
{
	for (uint32_t h = 0; h < 0x10000; h++) {
		float f = qu_f16_to_f32((uint16_t)h);
		uint16_t back = qu_f32_to_f16(f);

		if (isnan(f))
			CHECKF((back & 0x7e00) == 0x7e00, "h=%04x", h);
		else
			CHECKF(back == h, "h=%04x back=%04x", h, back);
	}
}

/* Against a double-precision model of round-to-nearest-even binary16. */
TEST(f16_rounding_matches_double_model)
{
	uint32_t x = 12345;

	for (int i = 0; i < 200000; i++) {
		x = x * 1664525u + 1013904223u;
		float f = qu_bits_f32((x & 0x87ffffff) | 0x30000000);	/* spans subnormal..overflow */
		uint16_t h = qu_f32_to_f16(f);
		double g = qu_f16_to_f32(h), err = fabs(g - (double)f);
		/* the neighbours of h must not be strictly closer */
		uint16_t up = (uint16_t)(h + 1), dn = (uint16_t)(h - 1);
		if (isinf(g))
			continue;
		if ((up & 0x7c00) != 0x7c00)
			CHECKF(fabs(qu_f16_to_f32(up) - (double)f) >= err, "f=%a h=%04x", f, h);
		if ((h & 0x7fff) != 0)
			CHECKF(fabs(qu_f16_to_f32(dn) - (double)f) >= err, "f=%a h=%04x", f, h);
	}
}

TEST(bf16_rne_and_nan)
{
	CHECK_EQ_INT(qu_f32_to_bf16(1.0f), 0x3f80);
	CHECK_EQ_INT(qu_f32_to_bf16(qu_bits_f32(0x3f808000)), 0x3f80);	/* tie to even */
	CHECK_EQ_INT(qu_f32_to_bf16(qu_bits_f32(0x3f818000)), 0x3f82);	/* tie to even (up) */
	CHECK_EQ_INT(qu_f32_to_bf16(qu_bits_f32(0x7f800001)), 0x7fc0);	/* NaN quieted */
	CHECK_EQ_INT(qu_f32_to_bf16(qu_bits_f32(0x7f7fffff)), 0x7f80);	/* overflow to inf */
}

int
main(void)
{
	RUN(pool_covers_range_once);
	RUN(f16_all_patterns_roundtrip);
	RUN(f16_rounding_matches_double_model);
	RUN(bf16_rne_and_nan);
	return t_done();
}
