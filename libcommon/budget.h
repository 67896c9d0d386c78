/* budget: mixed precision under an average bit budget (the idea of
 * ModelOpt's AutoQuantize, without gradients).
 *
 * Every tensor i has k options j (formats), each costing bits[i*k+j] bits
 * per element and giving error err[i*k+j] (squared error, or weighted by
 * importance; INFINITY for an option the tensor cannot take).  Starting from
 * each tensor's cheapest option, the upgrade with the largest error drop per
 * added bit that still fits is taken, until none fits.  The total bits,
 * sum(bits * nelem), stay at most budget * sum(nelem). */
#ifndef BUDGET_H
#define BUDGET_H

#include <stddef.h>

#include "qerr.h"

int budget_choose(size_t n, int k, const double *bits, const double *err, const double *nelem,
    double budget, int *choice, struct qerr *e);

#endif
