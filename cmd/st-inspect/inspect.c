/* Helpers backends use to fill the generic model (inspect.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

static char *
dupstr(const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		s = "";
	n = strlen(s) + 1;
	p = malloc(n);
	return p ? memcpy(p, s, n) : NULL;
}

char *
insp_json_string(const char *s)
{
	size_t n = 3;
	char *out, *p;

	for (const char *q = s; *q; q++)
		n += 6;
	if ((out = malloc(n)) == NULL)
		return NULL;
	p = out;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p = 0;
	return out;
}

struct insp_section *
insp_section(struct insp_model *m, const char *name)
{
	struct insp_section *s;

	for (size_t i = 0; i < m->n_sections; i++)
		if (strcmp(m->sections[i].name, name) == 0)
			return &m->sections[i];
	s = realloc(m->sections, (m->n_sections + 1) * sizeof *s);
	if (s == NULL)
		return NULL;
	m->sections = s;
	s = &m->sections[m->n_sections];
	memset(s, 0, sizeof *s);
	if ((s->name = dupstr(name)) == NULL)
		return NULL;
	m->n_sections++;
	return s;
}

int
insp_add_meta(struct insp_section *s, const char *key, const char *type, const char *text,
    const char *json)
{
	struct insp_kv *kv;

	if (s == NULL)
		return -1;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;

		if ((kv = realloc(s->kv, nc * sizeof *kv)) == NULL)
			return -1;
		s->kv = kv;
		s->cap = nc;
	}
	kv = &s->kv[s->n];
	kv->key = dupstr(key);
	kv->type = dupstr(type);
	kv->text = dupstr(text);
	kv->json = dupstr(json);
	s->n++;
	return kv->key && kv->type && kv->text && kv->json ? 0 : -1;
}

int
insp_add_meta_str(struct insp_section *s, const char *key, const char *value)
{
	char *j = insp_json_string(value);
	int rc = j ? insp_add_meta(s, key, "string", value, j) : -1;

	free(j);
	return rc;
}

struct insp_tensor *
insp_add_tensor(struct insp_model *m, const char *name, const char *dtype, int ndim,
    const uint64_t *shape, uint64_t nbytes, uint64_t data_offset, size_t file)
{
	struct insp_tensor *t;

	if (ndim < 0 || ndim > INSP_MAX_DIMS)
		return NULL;
	if (m->n_tensors == m->cap_tensors) {
		size_t nc = m->cap_tensors ? m->cap_tensors * 2 : 64;

		if ((t = realloc(m->tensors, nc * sizeof *t)) == NULL)
			return NULL;
		m->tensors = t;
		m->cap_tensors = nc;
	}
	t = &m->tensors[m->n_tensors];
	memset(t, 0, sizeof *t);
	t->name = dupstr(name);
	t->dtype = dupstr(dtype);
	if (t->name == NULL || t->dtype == NULL) {
		free(t->name);
		free(t->dtype);
		return NULL;
	}
	t->ndim = ndim;
	t->nelem = 1;
	for (int d = 0; d < ndim; d++) {
		t->shape[d] = shape[d];
		t->nelem *= shape[d];	/* the backend validated against overflow */
	}
	t->nbytes = nbytes;
	t->data_offset = data_offset;
	t->file = file;
	m->n_tensors++;
	return t;
}

int
insp_add_file(struct insp_model *m, const char *path)
{
	char **f = realloc(m->files, (m->n_files + 1) * sizeof *f);

	if (f == NULL)
		return -1;
	m->files = f;
	if ((f[m->n_files] = dupstr(path)) == NULL)
		return -1;
	m->n_files++;
	return 0;
}

void
insp_model_free(struct insp_model *m)
{
	for (size_t i = 0; i < m->n_sections; i++) {
		struct insp_section *s = &m->sections[i];

		for (size_t k = 0; k < s->n; k++) {
			free(s->kv[k].key);
			free(s->kv[k].type);
			free(s->kv[k].text);
			free(s->kv[k].json);
		}
		free(s->kv);
		free(s->name);
	}
	for (size_t i = 0; i < m->n_tensors; i++) {
		free(m->tensors[i].name);
		free(m->tensors[i].dtype);
	}
	for (size_t i = 0; i < m->n_files; i++)
		free(m->files[i]);
	free(m->files);
	free(m->sections);
	free(m->tensors);
	free(m->path);
	free(m->format);
	memset(m, 0, sizeof *m);
}
