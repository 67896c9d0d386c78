/* ckpt: one tensor list over a file, a folder or a sharded folder. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "mapfile.h"

static char *
dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	return p ? memcpy(p, s, n) : NULL;
}

static char *
join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p) {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the folder's entries ending in suffix. */
static int
list_dir(const char *dir, const char *suffix, char ***out, size_t *n, struct qerr *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return qerr_set(e, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, suffix))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof *v)) == NULL)
				goto oom;
			v = nv;
		}
		if ((v[*n] = dupstr(de->d_name)) == NULL)
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	*out = v;
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return qerr_set(e, "%s: out of memory", dir);
}

static void
free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static cJSON *
read_json(const char *path, struct qerr *e)
{
	struct qmap m;
	cJSON *j;

	if (qmap_open(&m, path, e) < 0)
		return NULL;
	j = cJSON_ParseWithLength((const char *)m.data, m.size);
	qmap_close(&m);
	if (j == NULL)
		qerr_set(e, "%s: invalid JSON", path);
	return j;
}

static int
open_files(struct ckpt *c, char **names, size_t n, struct qerr *e)
{
	if ((c->files = calloc(n ? n : 1, sizeof *c->files)) == NULL)
		return qerr_set(e, "%s: out of memory", c->path);
	for (size_t i = 0; i < n; i++) {
		char *p = c->dir ? join(c->dir, names[i]) : dupstr(names[i]);
		int rc;

		if (p == NULL)
			return qerr_set(e, "%s: out of memory", c->path);
		rc = st_open(&c->files[i], p, e);
		free(p);
		if (rc < 0)
			return -1;
		c->n_files++;
	}
	return 0;
}

static int
cmp_by_name(const void *a, const void *b)
{
	return strcmp((*(const struct ckpt_tensor *const *)a)->t->name,
	    (*(const struct ckpt_tensor *const *)b)->t->name);
}

/* The tensor list in file order, and the sorted index; duplicates refused. */
static int
collect(struct ckpt *c, struct qerr *e)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < c->n_files; i++)
		n += c->files[i].n_tensors;
	c->tensors = calloc(n ? n : 1, sizeof *c->tensors);
	c->by_name = calloc(n ? n : 1, sizeof *c->by_name);
	if (c->tensors == NULL || c->by_name == NULL)
		return qerr_set(e, "%s: out of memory", c->path);
	for (size_t i = 0; i < c->n_files; i++)
		for (size_t j = 0; j < c->files[i].n_tensors; j++) {
			c->tensors[k].t = &c->files[i].tensors[j];
			c->tensors[k].file = &c->files[i];
			c->by_name[k] = k;
			k++;
		}
	c->n_tensors = n;
	{	/* qsort has no context argument: sort pointers, keep their indexes */
		const struct ckpt_tensor **p = malloc((n ? n : 1) * sizeof *p);

		if (p == NULL)
			return qerr_set(e, "%s: out of memory", c->path);
		for (size_t i = 0; i < n; i++)
			p[i] = &c->tensors[i];
		qsort(p, n, sizeof *p, cmp_by_name);
		for (size_t i = 0; i < n; i++)
			c->by_name[i] = (size_t)(p[i] - c->tensors);
		free(p);
	}
	for (size_t i = 1; i < n; i++) {
		const struct ckpt_tensor *a = &c->tensors[c->by_name[i - 1]], *b = &c->tensors[c->by_name[i]];

		if (strcmp(a->t->name, b->t->name) == 0)
			return qerr_set(e, "%s: tensor \"%s\" is in both %s and %s", c->path,
			    a->t->name, a->file->path, b->file->path);
	}
	return 0;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Shards named by the index; weight_map checked both ways. */
static int
open_sharded(struct ckpt *c, const char *index_name, struct qerr *e)
{
	char *ipath = join(c->dir, index_name), **shards = NULL;
	cJSON *idx = NULL, *wm, *it;
	size_t n = 0, cap = 0;
	int rc = -1;

	if (ipath == NULL)
		return qerr_set(e, "%s: out of memory", c->dir);
	if ((c->index = dupstr(index_name)) == NULL || (idx = read_json(ipath, e)) == NULL)
		goto out;
	wm = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
	if (!cJSON_IsObject(wm)) {
		qerr_set(e, "%s: no \"weight_map\" object", ipath);
		goto out;
	}
	for (it = wm->child; it; it = it->next) {
		const char *s = cJSON_GetStringValue(it);
		size_t i;

		if (s == NULL || !*s || strchr(s, '/') || strcmp(s, "..") == 0 || strcmp(s, ".") == 0) {
			qerr_set(e, "%s: weight_map: \"%s\" does not name a shard file in this folder",
			    ipath, it->string);
			goto out;
		}
		for (i = 0; i < n && strcmp(shards[i], s) != 0; i++)
			;
		if (i < n)
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(shards, cap * sizeof *nv)) == NULL) {
				qerr_set(e, "%s: out of memory", ipath);
				goto out;
			}
			shards = nv;
		}
		if ((shards[n] = dupstr(s)) == NULL) {
			qerr_set(e, "%s: out of memory", ipath);
			goto out;
		}
		n++;
	}
	if (n)
		qsort(shards, n, sizeof *shards, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p = join(c->dir, shards[i]);
		struct stat st;
		int missing = p && stat(p, &st) != 0;

		free(p);
		if (missing) {
			qerr_set(e, "%s: shard %s is listed in the index but missing", ipath, shards[i]);
			goto out;
		}
	}
	if (open_files(c, shards, n, e) < 0 || collect(c, e) < 0)
		goto out;
	/* every weight_map entry is in its shard ... */
	for (it = wm->child; it; it = it->next) {
		const struct ckpt_tensor *t = ckpt_find(c, it->string);

		if (t == NULL) {
			qerr_set(e, "%s: tensor \"%s\" is in the weight_map but in no shard", ipath, it->string);
			goto out;
		}
		if (strcmp(base_name(t->file->path), it->valuestring) != 0) {
			qerr_set(e, "%s: tensor \"%s\" is mapped to %s but found in %s", ipath,
			    it->string, it->valuestring, base_name(t->file->path));
			goto out;
		}
	}
	/* ... and every shard tensor is in the weight_map */
	for (size_t i = 0; i < c->n_tensors; i++)
		if (!cJSON_GetObjectItemCaseSensitive(wm, c->tensors[i].t->name)) {
			qerr_set(e, "%s: tensor \"%s\" of %s is missing from the weight_map", ipath,
			    c->tensors[i].t->name, base_name(c->tensors[i].file->path));
			goto out;
		}
	rc = 0;
out:
	free_names(shards, n);
	cJSON_Delete(idx);
	free(ipath);
	return rc;
}

static int
open_dir(struct ckpt *c, struct qerr *e)
{
	char **names = NULL, *cfg;
	size_t n = 0;
	struct stat st;
	int rc = -1;

	if ((cfg = join(c->dir, "config.json")) == NULL)
		return qerr_set(e, "%s: out of memory", c->dir);
	if (stat(cfg, &st) == 0 && (c->config = read_json(cfg, e)) == NULL) {
		free(cfg);
		return -1;
	}
	free(cfg);
	if (list_dir(c->dir, ".safetensors.index.json", &names, &n, e) < 0)
		return -1;
	if (n > 0) {
		size_t pick = 0;

		for (size_t i = 0; i < n; i++)
			if (strcmp(names[i], "model.safetensors.index.json") == 0)
				pick = i;
		if (n > 1 && strcmp(names[pick], "model.safetensors.index.json") != 0) {
			qerr_set(e, "%s: %zu shard indexes (%s, %s, ...); name one file", c->dir, n,
			    names[0], names[1]);
			goto out;
		}
		rc = open_sharded(c, names[pick], e);
		goto out;
	}
	free_names(names, n);
	names = NULL;
	if (list_dir(c->dir, ".safetensors", &names, &n, e) < 0)
		return -1;
	if (n == 0) {
		qerr_set(e, "%s: no .safetensors files", c->dir);
		goto out;
	}
	/* a folder with model.safetensors is that one file */
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], "model.safetensors") == 0) {
			rc = open_files(c, &names[i], 1, e) < 0 || collect(c, e) < 0 ? -1 : 0;
			goto out;
		}
	rc = open_files(c, names, n, e) < 0 || collect(c, e) < 0 ? -1 : 0;
out:
	free_names(names, n);
	return rc;
}

int
ckpt_open(struct ckpt *c, const char *path, struct qerr *e)
{
	struct stat st;
	int rc;

	memset(c, 0, sizeof *c);
	if ((c->path = dupstr(path)) == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t len = strlen(path);

		if ((c->dir = dupstr(path)) == NULL)
			return qerr_set(e, "%s: out of memory", path);
		while (len > 1 && c->dir[len - 1] == '/')
			c->dir[--len] = 0;
		rc = open_dir(c, e);
	} else {
		char *one = c->path;

		rc = open_files(c, &one, 1, e) < 0 || collect(c, e) < 0 ? -1 : 0;
	}
	if (rc < 0)
		ckpt_close(c);
	return rc;
}

void
ckpt_close(struct ckpt *c)
{
	for (size_t i = 0; i < c->n_files; i++)
		st_close(&c->files[i]);
	free(c->files);
	free(c->tensors);
	free(c->by_name);
	cJSON_Delete(c->config);
	free(c->index);
	free(c->path);
	free(c->dir);
	memset(c, 0, sizeof *c);
}

const struct ckpt_tensor *
ckpt_find(const struct ckpt *c, const char *name)
{
	size_t lo = 0, hi = c->n_tensors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->tensors[c->by_name[mid]].t->name, name);

		if (r == 0)
			return &c->tensors[c->by_name[mid]];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
