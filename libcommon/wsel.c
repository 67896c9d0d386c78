#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "wsel.h"

/* MoE routers (mlp.gate, router) stay in float as in the peers' recipes */
static const char *const default_exclusions[] = { "lm_head", "embed", "wte", "wpe", "norm", "ln_",
	"router", "*.mlp.gate.weight" };

static int
matches(const char *pat, const char *name)
{
	char module[1024];
	size_t n = strlen(name);

	if (strpbrk(pat, "*?[") == NULL)
		return strstr(name, pat) != NULL;
	if (fnmatch(pat, name, 0) == 0)
		return 1;
	if (n > 7 && strcmp(name + n - 7, ".weight") == 0 && n - 7 < sizeof module) {
		memcpy(module, name, n - 7);
		module[n - 7] = 0;
		return fnmatch(pat, module, 0) == 0;
	}
	return 0;
}

static int
any(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (matches(list[i], name))
			return 1;
	return 0;
}

int
wsel_excluded(const struct wsel *w, const char *name)
{
	if (any(w->include, w->n_include, name))
		return 0;
	return any(default_exclusions, sizeof default_exclusions / sizeof default_exclusions[0], name) ||
	    any(w->exclude, w->n_exclude, name);
}

int
wsel_pick(const struct wsel *w, const char *name, enum qdtype dt, int ndim)
{
	size_t n = strlen(name);

	if (n <= 7 || strcmp(name + n - 7, ".weight") != 0)
		return 0;
	if (dt != QD_F32 && dt != QD_F16 && dt != QD_BF16)
		return 0;
	if (ndim < w->min_rank || (w->max_rank && ndim > w->max_rank))
		return 0;
	return !wsel_excluded(w, name);
}

int
wsel_add(const char **list, size_t *n, const char *pattern)
{
	if (*n >= WSEL_MAX)
		return -1;
	list[(*n)++] = pattern;
	return 0;
}

int
wsel_load_f32(const struct st_tensor *t, float **out, struct qerr *e)
{
	float *x = malloc((size_t)(t->nelem ? t->nelem : 1) * sizeof *x);

	if (x == NULL)
		return qerr_set(e, "%s: out of memory for %llu elements", t->name,
		    (unsigned long long)t->nelem);
	if (qdtype_to_f32(t->dtype, t->data, x, (size_t)t->nelem) < 0) {
		free(x);
		return qerr_set(e, "%s: cannot convert %s to F32", t->name, qdtype_table[t->dtype].name);
	}
	*out = x;
	return 0;
}

void
wsel_release(const struct st_file *f, const struct st_tensor *t)
{
	if (f && f->map.mapped && t->end > t->begin)
		qmap_dontneed(&f->map, (size_t)(f->data_start + t->begin), (size_t)(t->end - t->begin));
}
