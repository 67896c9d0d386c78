/* Fuzz target: a .dat file parsed and decoded. */
#include <stdint.h>
#include <stdlib.h>

#include "nnef.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nnef_dat d;
	struct qerr e;
	float *out;

	if (nnef_dat_parse(&d, data, size, "fuzz.dat", &e) < 0)
		return 0;
	if (d.nitems > (1u << 22))
		return 0;
	out = malloc((d.nitems ? d.nitems : 1) * sizeof *out);
	if (out)
		nnef_dat_to_f32(&d, out);
	free(out);
	return 0;
}
