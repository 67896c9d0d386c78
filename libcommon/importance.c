#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importance.h"
#include "wsel.h"

static int
check(const float *imp, int64_t cols, const char *what, const char *name, struct qerr *e)
{
	for (int64_t j = 0; j < cols; j++)
		if (!(imp[j] >= 0) || isinf(imp[j]))
			return qerr_set(e, "%s: %s: channel %lld is %g: importance must be finite "
			    "and >= 0", what, name, (long long)j, (double)imp[j]);
	return 1;
}

static int
from_captures(const struct st_file *f, const char *name, int64_t cols, float *imp,
    struct qerr *e)
{
	char cname[1100];
	const struct st_tensor *t;
	float *x;
	uint64_t n;

	snprintf(cname, sizeof cname, "%s.input", name);
	if ((t = st_find(f, cname)) == NULL)
		return 0;
	if (t->ndim != 2 || t->shape[1] != (uint64_t)cols || t->shape[0] == 0)
		return qerr_set(e, "captures: %s: expected [n, %lld] with n > 0", cname,
		    (long long)cols);
	if (wsel_load_f32(t, &x, e) < 0)
		return qerr_prefix(e, "captures: %s", cname);
	n = t->shape[0];
	for (int64_t j = 0; j < cols; j++) {
		double s = 0;

		for (uint64_t i = 0; i < n; i++)
			s += (double)x[i * (uint64_t)cols + (uint64_t)j] * x[i * (uint64_t)cols + (uint64_t)j];
		imp[j] = (float)(s / (double)n);
	}
	free(x);
	return check(imp, cols, "captures", cname, e);
}

static int
from_imatrix(const struct importance_src *s, const char *name, int64_t cols, float *imp,
    struct qerr *e)
{
	const struct imatrix_entry *en = imatrix_find(s->imatrix, name);
	char gname[512];
	enum arch_role role;
	int layer, expert;
	uint64_t nmat;

	if (en == NULL && s->arch &&
	    arch_map_name(s->arch, name, gname, sizeof gname, &role, &layer, &expert) == 1)
		en = imatrix_find(s->imatrix, gname);
	if (en == NULL)
		return 0;
	if (en->n == 0 || en->n % (uint64_t)cols)
		return qerr_set(e, "imatrix: %s: %llu values for %lld input channels", en->name,
		    (unsigned long long)en->n, (long long)cols);
	nmat = en->n / (uint64_t)cols;
	for (int64_t j = 0; j < cols; j++) {
		double v = 0;

		for (uint64_t k = 0; k < nmat; k++)
			v += en->values[k * (uint64_t)cols + (uint64_t)j];
		imp[j] = (float)(v / (double)nmat);
	}
	return check(imp, cols, "imatrix", en->name, e);
}

int
importance_for(const struct importance_src *s, const char *name, int64_t cols, float *imp,
    struct qerr *e)
{
	int rc = 0;

	if (s->captures && (rc = from_captures(s->captures, name, cols, imp, e)) != 0)
		return rc;
	if (s->imatrix)
		rc = from_imatrix(s, name, cols, imp, e);
	return rc;
}

double
importance_sse(const float *x, const float *xq, int64_t rows, int64_t cols, const float *imp)
{
	double sum = 0;

	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++) {
			double d = (double)x[i * cols + j] - (double)xq[i * cols + j];

			sum += (imp ? imp[j] : 1.0) * d * d;
		}
	return sum;
}

double
importance_energy(const float *x, int64_t rows, int64_t cols, const float *imp)
{
	double sum = 0;

	for (int64_t i = 0; i < rows; i++)
		for (int64_t j = 0; j < cols; j++)
			sum += (imp ? imp[j] : 1.0) * (double)x[i * cols + j] * x[i * cols + j];
	return sum;
}
