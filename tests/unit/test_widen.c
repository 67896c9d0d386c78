/* widen: the vector F16/BF16 -> F32 paths give the reference's bits for
 * every 16-bit pattern (NaNs, infinities, subnormals, zeros of both signs),
 * at every offset of a vector. */
#include <stdint.h>
#include <string.h>

#include "cpu.h"
#include "harness.h"
#include "widen.h"

static uint16_t all[65536 + 7];
static float got[65536 + 7], want[65536 + 7];

static void
check_all(void (*fast)(const void *, float *, size_t), void (*ref)(const void *, float *, size_t))
{
	for (size_t shift = 0; shift < 3; shift++) {
		size_t n = 65536 + shift;

		for (size_t i = 0; i < n; i++)
			all[i] = (uint16_t)(i - shift);
		fast(all, got, n);
		ref(all, want, n);
		CHECKF(memcmp(got, want, n * sizeof *got) == 0, "level %s, shift %zu: bits differ",
		    qcpu_level_name(qcpu_level()), shift);
	}
}

TEST(f16_every_pattern) { check_all(widen_f16, widen_f16_ref); }
TEST(bf16_every_pattern) { check_all(widen_bf16, widen_bf16_ref); }

int
main(void)
{
	RUN(f16_every_pattern);
	RUN(bf16_every_pattern);
	return t_done();
}
