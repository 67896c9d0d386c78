#include <math.h>

#include "budget.h"

int
budget_choose(size_t n, int k, const double *bits, const double *err, const double *nelem,
    double budget, int *choice, struct qerr *e)
{
	double total = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		int best = -1;

		for (int j = 0; j < k; j++) {
			double b = bits[i * (size_t)k + j], r = err[i * (size_t)k + j];

			if (isinf(r))
				continue;
			if (best < 0 || b < bits[i * (size_t)k + best] ||
			    (b == bits[i * (size_t)k + best] && r < err[i * (size_t)k + best]))
				best = j;
		}
		if (best < 0)
			return qerr_set(e, "tensor %zu: no format fits it", i);
		choice[i] = best;
		total += bits[i * (size_t)k + best] * nelem[i];
		cap += nelem[i];
	}
	cap *= budget;
	if (total > cap * (1 + 1e-12))
		return qerr_set(e, "budget %.3f bits is below the cheapest formats' %.3f", budget,
		    total / (cap / budget));
	for (;;) {
		size_t bi = 0;
		int bj = -1;
		double best = 0;

		for (size_t i = 0; i < n; i++) {
			double b0 = bits[i * (size_t)k + choice[i]], r0 = err[i * (size_t)k + choice[i]];

			for (int j = 0; j < k; j++) {
				double b = bits[i * (size_t)k + j], r = err[i * (size_t)k + j], add, gain;

				if (isinf(r) || b <= b0 || r >= r0)
					continue;
				add = (b - b0) * nelem[i];
				if (total + add > cap * (1 + 1e-12))
					continue;
				gain = (r0 - r) / add;
				if (gain > best) {
					best = gain;
					bi = i;
					bj = j;
				}
			}
		}
		if (bj < 0)
			return 0;
		total += (bits[bi * (size_t)k + bj] - bits[bi * (size_t)k + choice[bi]]) * nelem[bi];
		choice[bi] = bj;
	}
}
