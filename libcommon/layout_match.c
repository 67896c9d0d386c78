/* layout_match: module name -> scheme for configs with several schemes
 * (layout_match.h says which loader rules this follows). */
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout_match.h"

#define QLM_MAX_GROUPS 64
#define QLM_MAX_ENTRIES 10000000	/* targets + ignore entries */

enum pat_kind { PAT_REGEX, PAT_GLOB };

struct pat {
	char *text;		/* as in the config */
	enum pat_kind kind;
	int group;		/* -1 for ignore entries */
	size_t order;		/* position among all targets (Quark: first match wins) */
	regex_t re;
};

struct exact {
	const char *name;	/* into text of its pat-less owner below */
	int group;
	size_t order;
};

struct ql_match {
	int mode;		/* QLM_CT, QLM_QUARK, QLM_GPTQ */
	int n_groups, fallback, linear;	/* linear: the group targeting "Linear", or -1 */
	struct qscheme scheme[QLM_MAX_GROUPS];
	char *group_name[QLM_MAX_GROUPS];
	struct exact *exact, *ign_exact;
	size_t n_exact, cap_exact, n_ign_exact, cap_ign_exact;
	struct pat *pat, *ign_pat;
	size_t n_pat, cap_pat, n_ign_pat, cap_ign_pat;
	size_t n_entries;
};

struct ql_match *
qlm_new(int mode, struct qerr *e)
{
	struct ql_match *m = calloc(1, sizeof *m);

	if (m == NULL) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	m->mode = mode;
	m->fallback = m->linear = -1;
	return m;
}

static void
free_pats(struct pat *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i].kind == PAT_REGEX)
			regfree(&p[i].re);
		free(p[i].text);
	}
	free(p);
}

static void
free_exact(struct exact *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)x[i].name);
	free(x);
}

void
qlm_free(struct ql_match *m)
{
	if (m == NULL)
		return;
	for (int g = 0; g < m->n_groups; g++)
		free(m->group_name[g]);
	free_exact(m->exact, m->n_exact);
	free_exact(m->ign_exact, m->n_ign_exact);
	free_pats(m->pat, m->n_pat);
	free_pats(m->ign_pat, m->n_ign_pat);
	free(m);
}

int
qlm_add_group(struct ql_match *m, const char *name, const struct qscheme *s, struct qerr *e)
{
	if (m->n_groups == QLM_MAX_GROUPS)
		return qerr_set(e, "quantization_config: more than %d groups", QLM_MAX_GROUPS);
	if ((m->group_name[m->n_groups] = strdup(name)) == NULL)
		return qerr_set(e, "out of memory");
	m->scheme[m->n_groups] = *s;
	return m->n_groups++;
}

void
qlm_set_fallback(struct ql_match *m, int g)
{
	m->fallback = g;
}

/* Python's re syntax as POSIX ERE, for the subset module-name patterns
 * use: \d \D (ERE has none), \. and other escaped punctuation, (?:...)
 * groups, lazy quantifiers (*? +? ?? match the same names greedily).
 * Lookarounds, flags and back-references are refused. */
static int
py_to_ere(const char *py, char *out, size_t cap, struct qerr *e)
{
	size_t k = 0;
	int in_class = 0;

#define PUT(s) do { const char *s_ = (s); size_t l_ = strlen(s_); \
	if (k + l_ + 1 >= cap) return qerr_set(e, "regex \"%s\" is too long", py); \
	memcpy(out + k, s_, l_); k += l_; } while (0)
	PUT("^");	/* re.match: anchored at the start only */
	for (const char *c = py; *c; c++) {
		char one[2] = { *c, 0 };

		if (*c == '\\') {
			char n = c[1];

			if (n == 0)
				return qerr_set(e, "regex \"%s\" ends in a backslash", py);
			c++;
			if (n == 'd')
				PUT(in_class ? "0-9" : "[0-9]");
			else if (n == 'D' && !in_class)
				PUT("[^0-9]");
			else if ((n == 'w' || n == 's' || n == 'W' || n == 'S') && !in_class) {
				char esc[3] = { '\\', n, 0 };

				PUT(esc);	/* glibc's ERE knows these */
			} else if (strchr(".^$*+?()[]{}|\\/-_:", n)) {
				one[0] = n;
				if (in_class) {
					PUT(one);
				} else {
					char esc[3] = { '\\', n, 0 };

					PUT(strchr(".^$*+?()[]{}|\\", n) ? esc : one);
				}
			} else {
				return qerr_set(e, "regex \"%s\": \\%c is not supported", py, n);
			}
			continue;
		}
		if (in_class) {
			if (*c == ']')
				in_class = 0;
			PUT(one);
			continue;
		}
		if (*c == '[') {
			in_class = 1;
			PUT("[");
			if (c[1] == '^') {
				PUT("^");
				c++;
			}
			if (c[1] == ']') {
				PUT("]");
				c++;
			}
			continue;
		}
		if (*c == '(' && c[1] == '?') {
			if (c[2] != ':')
				return qerr_set(e, "regex \"%s\": (?%c is not supported", py, c[2] ? c[2] : ' ');
			PUT("(");
			c += 2;
			continue;
		}
		if ((*c == '*' || *c == '+' || *c == '?' || *c == '}') && c[1] == '?') {
			PUT(one);
			c++;
			continue;
		}
		PUT(one);
	}
	if (in_class)
		return qerr_set(e, "regex \"%s\": unterminated [", py);
	out[k] = 0;
	return 0;
#undef PUT
}

static int
grow(void **p, size_t *cap, size_t n, size_t size, struct qerr *e)
{
	void *q;

	if (n < *cap)
		return 0;
	*cap = *cap ? 2 * *cap : 16;
	if ((q = realloc(*p, *cap * size)) == NULL)
		return qerr_set(e, "out of memory");
	*p = q;
	return 0;
}

static int
add_pat(struct pat **p, size_t *n, size_t *cap, const char *text, enum pat_kind kind, int group,
    size_t order, struct qerr *e)
{
	struct pat *x;

	if (grow((void **)p, cap, *n, sizeof **p, e) < 0)
		return -1;
	x = &(*p)[*n];
	memset(x, 0, sizeof *x);
	x->kind = kind;
	x->group = group;
	x->order = order;
	if (kind == PAT_REGEX) {
		char ere[2048];
		int rc;

		/* "re:" (compressed-tensors), "+:" or "-:" (GPTQModel's dynamic) */
		const char *py = strncmp(text, "re:", 3) == 0 ? text + 3 :
		    strncmp(text, "+:", 2) == 0 || strncmp(text, "-:", 2) == 0 ? text + 2 : text;

		if (py_to_ere(py, ere, sizeof ere, e) < 0)
			return qerr_prefix(e, "quantization_config");
		if ((rc = regcomp(&x->re, ere, REG_EXTENDED | REG_NOSUB)) != 0) {
			char msg[128];

			regerror(rc, &x->re, msg, sizeof msg);
			return qerr_set(e, "quantization_config: regex \"%s\": %s", text, msg);
		}
	}
	if ((x->text = strdup(text)) == NULL) {
		if (kind == PAT_REGEX)
			regfree(&x->re);
		return qerr_set(e, "out of memory");
	}
	(*n)++;
	return 0;
}

static int
add_exact(struct exact **x, size_t *n, size_t *cap, const char *name, int group, size_t order,
    struct qerr *e)
{
	char *s;

	if (grow((void **)x, cap, *n, sizeof **x, e) < 0 || (s = strdup(name)) == NULL)
		return qerr_set(e, "out of memory");
	(*x)[*n].name = s;
	(*x)[*n].group = group;
	(*x)[(*n)++].order = order;
	return 0;
}

int
qlm_add_target(struct ql_match *m, int g, const char *t, struct qerr *e)
{
	size_t order = m->n_entries;

	if (++m->n_entries > QLM_MAX_ENTRIES)
		return qerr_set(e, "quantization_config: more than %d targets", QLM_MAX_ENTRIES);
	if (*t == 0)
		return qerr_set(e, "quantization_config: %s: an empty target", m->group_name[g]);
	if (m->mode == QLM_GPTQ)	/* a dynamic key: a regex, re.match */
		return add_pat(&m->pat, &m->n_pat, &m->cap_pat, t, PAT_REGEX, g, order, e);
	if (m->mode == QLM_QUARK)	/* vLLM: fnmatch with a '*', else the name itself */
		return strchr(t, '*') ? add_pat(&m->pat, &m->n_pat, &m->cap_pat, t, PAT_GLOB, g, order, e) :
		    add_exact(&m->exact, &m->n_exact, &m->cap_exact, t, g, order, e);
	if (strncmp(t, "re:", 3) == 0)
		return add_pat(&m->pat, &m->n_pat, &m->cap_pat, t, PAT_REGEX, g, order, e);
	if (strcmp(t, "Linear") == 0) {
		if (m->linear >= 0 && m->linear != g)
			return qerr_set(e, "quantization_config: %s and %s both target \"Linear\"",
			    m->group_name[m->linear], m->group_name[g]);
		m->linear = g;
		return 0;
	}
	/* a module name (a class name other than Linear names no weight) */
	return add_exact(&m->exact, &m->n_exact, &m->cap_exact, t, g, order, e);
}

int
qlm_add_ignore(struct ql_match *m, const char *t, struct qerr *e)
{
	if (++m->n_entries > QLM_MAX_ENTRIES)
		return qerr_set(e, "quantization_config: more than %d ignore entries", QLM_MAX_ENTRIES);
	if (strncmp(t, "re:", 3) == 0)
		return add_pat(&m->ign_pat, &m->n_ign_pat, &m->cap_ign_pat, t, PAT_REGEX, -1, 0, e);
	if (m->mode == QLM_QUARK && strchr(t, '*'))
		return add_pat(&m->ign_pat, &m->n_ign_pat, &m->cap_ign_pat, t, PAT_GLOB, -1, 0, e);
	return add_exact(&m->ign_exact, &m->n_ign_exact, &m->cap_ign_exact, t, -1, 0, e);
}

static int
cmp_exact(const void *a, const void *b)
{
	const struct exact *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

int
qlm_finish(struct ql_match *m, struct qerr *e)
{
	if (m->n_exact)
		qsort(m->exact, m->n_exact, sizeof *m->exact, cmp_exact);
	if (m->n_ign_exact)
		qsort(m->ign_exact, m->n_ign_exact, sizeof *m->ign_exact, cmp_exact);
	for (size_t i = 1; i < m->n_exact; i++)
		if (strcmp(m->exact[i - 1].name, m->exact[i].name) == 0 &&
		    m->exact[i - 1].group != m->exact[i].group)
			return qerr_set(e, "quantization_config: %s is a target of both %s and %s",
			    m->exact[i].name, m->group_name[m->exact[i - 1].group],
			    m->group_name[m->exact[i].group]);
	return 0;
}

static const struct exact *
find_exact(const struct exact *x, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x[mid].name, name);

		if (c == 0) {
			while (mid > 0 && strcmp(x[mid - 1].name, name) == 0)
				mid--;	/* the first in the file */
			return &x[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
pat_match(const struct pat *p, const char *name)
{
	if (p->kind == PAT_GLOB)	/* Python's fnmatch: no escapes, '*' crosses dots */
		return fnmatch(p->text, name, FNM_NOESCAPE) == 0;
	return regexec(&p->re, name, 0, NULL, 0) == 0;
}

static int
ignored(const struct ql_match *m, const char *module)
{
	if (find_exact(m->ign_exact, m->n_ign_exact, module))
		return 1;
	for (size_t i = 0; i < m->n_ign_pat; i++)
		if (pat_match(&m->ign_pat[i], module))
			return 1;
	return 0;
}

/* The group a module's name (not its class) selects: exact name, else the
 * first pattern in the file; -1 if none.  *second: another group that
 * matches by name too (compressed-tensors), or -1. */
static int
name_group(const struct ql_match *m, const char *module, int *second)
{
	const struct exact *x = find_exact(m->exact, m->n_exact, module);
	int g = x ? x->group : -1;
	size_t order = x ? x->order : (size_t)-1;

	*second = -1;
	for (size_t i = 0; i < m->n_pat; i++) {
		const struct pat *p = &m->pat[i];

		if (!pat_match(p, module))
			continue;
		if (g < 0 || (m->mode != QLM_CT && p->order < order)) {
			if (g >= 0 && *second < 0)
				*second = g;
			g = p->group, order = p->order;
		} else if (p->group != g && *second < 0) {
			*second = p->group;
		}
	}
	return g;
}

const struct qscheme *
qlm_lookup(const struct ql_match *m, const char *module)
{
	int second, g;

	if (ignored(m, module))
		return NULL;
	g = name_group(m, module, &second);
	if (g < 0)
		g = m->mode != QLM_CT ? m->fallback : m->linear;
	return g >= 0 && m->scheme[g].fmt != QF_COUNT ? &m->scheme[g] : NULL;	/* QF_COUNT: float */
}

/* ---- checks over a checkpoint's modules ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tensor's module: its name without the last ".part". */
static size_t
module_len(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot ? (size_t)(dot - name) : 0;
}

static int
is_packed(const char *name, enum qdtype dt)
{
	size_t n = strlen(name);

	if (n > 14 && strcmp(name + n - 14, ".weight_packed") == 0)
		return 1;
	if (n > 8 && strcmp(name + n - 8, ".qweight") == 0)
		return 1;
	return n > 7 && strcmp(name + n - 7, ".weight") == 0 &&
	    !(dt == QD_F32 || dt == QD_F16 || dt == QD_BF16 || dt == QD_F64);
}

int
ql_config_check(const struct ql_config *c, const char *const *names, size_t n, ql_find_fn find,
    void *ctx, struct qerr *e)
{
	const struct ql_match *m = c->m;
	char **mods;
	size_t nm = 0;
	int rc = -1;

	if (m == NULL)
		return 0;	/* one scheme for every packed module */
	if ((mods = calloc(n + 1, sizeof *mods)) == NULL)
		return qerr_set(e, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t l = module_len(names[i]);
		struct ql_tensor t;

		if (l == 0)
			continue;
		if ((mods[nm] = strndup(names[i], l)) == NULL) {
			qerr_set(e, "out of memory");
			goto done;
		}
		nm++;
		if (find(ctx, names[i], &t) == 0 && is_packed(names[i], t.dtype) &&
		    qlm_lookup(m, mods[nm - 1]) == NULL) {
			qerr_set(e, "%s is quantized, but quantization_config leaves %s in float (%s)",
			    names[i], mods[nm - 1], ignored(m, mods[nm - 1]) ? "ignored" : "no group targets it");
			goto done;
		}
	}
	qsort(mods, nm, sizeof *mods, cmp_str);
	{	/* unique */
		size_t k = 0;

		for (size_t i = 0; i < nm; i++) {
			if (k && strcmp(mods[k - 1], mods[i]) == 0) {
				free(mods[i]);
				continue;
			}
			mods[k++] = mods[i];
		}
		nm = k;
	}
	for (size_t i = 0; i < m->n_exact; i++)
		if (bsearch(&m->exact[i].name, mods, nm, sizeof *mods, cmp_str) == NULL) {
			qerr_set(e, "quantization_config: %s targets %s, which is not in the checkpoint",
			    m->group_name[m->exact[i].group], m->exact[i].name);
			goto done;
		}
	for (size_t i = 0; i < m->n_pat; i++) {
		size_t k;

		for (k = 0; k < nm && !pat_match(&m->pat[i], mods[k]); k++)
			;
		if (k == nm && m->mode == QLM_CT && m->pat[i].kind == PAT_REGEX) {
			qerr_set(e, "quantization_config: %s's target \"%s\" matches no module of the checkpoint",
			    m->group_name[m->pat[i].group], m->pat[i].text);
			goto done;
		}
	}
	for (size_t k = 0; m->mode == QLM_CT && k < nm; k++) {
		int second, g = name_group(m, mods[k], &second);

		if (g >= 0 && second >= 0 && !linq_scheme_equal(&m->scheme[g], &m->scheme[second]) &&
		    !ignored(m, mods[k])) {
			qerr_set(e, "quantization_config: %s is a target of both %s and %s "
			    "(loaders disagree on which applies)", mods[k], m->group_name[g],
			    m->group_name[second]);
			goto done;
		}
	}
	rc = 0;
done:
	for (size_t i = 0; i < nm; i++)
		free(mods[i]);
	free(mods);
	return rc;
}
