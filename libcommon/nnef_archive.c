#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnef_archive.h"

#define MAX_ENTRIES 1000000
#define MAX_DEPTH 32

static int
add_entry(struct nnef_model *m, size_t *cap, const char *path, struct qerr *e)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->entries[i].path, path) == 0)
			return qerr_set(e, "%s: duplicate entry %s", m->source, path);
	if (m->n >= MAX_ENTRIES)
		return qerr_set(e, "%s: more than %d entries", m->source, MAX_ENTRIES);
	if (m->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct nnef_entry *p = realloc(m->entries, nc * sizeof *p);

		if (p == NULL)
			return qerr_set(e, "%s: out of memory", m->source);
		m->entries = p;
		*cap = nc;
	}
	memset(&m->entries[m->n], 0, sizeof *m->entries);
	m->entries[m->n].path = strdup(path);
	if (m->entries[m->n].path == NULL)
		return qerr_set(e, "%s: out of memory", m->source);
	m->n++;
	return 0;
}

/* Normalises an archive path; returns 0 keep, 1 skip, -1 refuse. */
static int
clean_path(const char *in, char *out, size_t size, struct qerr *e, const char *src)
{
	const char *p = in, *c;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (p[0] == '/')
		return qerr_set(e, "%s: entry %s: absolute path", src, in);
	if (strlen(p) >= size)
		return qerr_set(e, "%s: entry %s: path too long", src, in);
	for (c = p; *c; ) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return qerr_set(e, "%s: entry %s: '..' in path (path traversal)", src, in);
		if (n > 0 && c[0] == '.')
			return 1;	/* hidden files (macOS ._*) are not part of a model */
		c += n + (slash != NULL);
	}
	if (*p == 0 || p[strlen(p) - 1] == '/')
		return 1;
	strcpy(out, p);
	return 0;
}

static int
walk(struct nnef_model *m, size_t *cap, const char *root, const char *rel, int depth,
    struct qerr *e)
{
	char dirpath[4096], path[4096], relpath[4096];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return qerr_set(e, "%s: folders nested too deep", root);
	snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(dirpath);
	if (d == NULL)
		return qerr_set(e, "%s: %s", dirpath, strerror(errno));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(relpath, sizeof relpath, "%s%s%s", rel, *rel ? "/" : "",
		    de->d_name) >= sizeof relpath ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", root, relpath) >= sizeof path) {
			rc = qerr_set(e, "%s: path too long", root);
			break;
		}
		if (lstat(path, &st) != 0) {
			rc = qerr_set(e, "%s: %s", path, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(m, cap, root, relpath, depth + 1, e);
		} else if (S_ISREG(st.st_mode)) {
			if ((rc = add_entry(m, cap, relpath, e)) == 0) {
				struct nnef_entry *en = &m->entries[m->n - 1];

				rc = qmap_open(&en->map, path, e);
				en->data = en->map.data;
				en->size = en->map.size;
			}
		} else {
			rc = qerr_set(e, "%s: not a regular file", path);
		}
	}
	closedir(d);
	return rc;
}

/* buf != NULL: the archive is those bytes; else path ("-": standard input). */
static int
read_archive(struct nnef_model *m, size_t *cap, const char *path, const void *buf_in,
    size_t len_in, struct qerr *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r, rc = 0;

	if (a == NULL)
		return qerr_set(e, "%s: out of memory", path);
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (buf_in)
		r = archive_read_open_memory(a, buf_in, len_in);
	else if (strcmp(path, "-") == 0)
		r = archive_read_open_fd(a, 0, 1 << 16);
	else
		r = archive_read_open_filename(a, path, 1 << 16);
	if (r != ARCHIVE_OK) {
		rc = qerr_set(e, "%s: not a folder, tar or tar.gz: %s", path, archive_error_string(a));
		archive_read_free(a);
		return rc;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		char clean[4096];
		const char *name = archive_entry_pathname(ae);
		mode_t type = archive_entry_filetype(ae);
		int k;

		if (name == NULL) {
			rc = qerr_set(e, "%s: entry without a name", path);
			break;
		}
		if (type == AE_IFDIR)
			continue;
		if ((k = clean_path(name, clean, sizeof clean, e, path)) < 0) {
			rc = -1;
			break;
		}
		if (k == 1)
			continue;
		if (type != AE_IFREG || archive_entry_hardlink(ae) != NULL) {
			rc = qerr_set(e, "%s: entry %s: not a regular file (links are refused)", path, name);
			break;
		}
		if ((rc = add_entry(m, cap, clean, e)) != 0)
			break;
		/* grow with the bytes that really arrive, never from the header */
		struct nnef_entry *en = &m->entries[m->n - 1];
		size_t have = 0, room = 1 << 16;
		unsigned char *buf = malloc(room);
		la_ssize_t got;

		if (buf == NULL) {
			rc = qerr_set(e, "%s: out of memory", path);
			break;
		}
		for (;;) {
			if (have == room) {
				unsigned char *nb = room > SIZE_MAX / 2 ? NULL : realloc(buf, room * 2);

				if (nb == NULL) {
					free(buf);
					buf = NULL;
					break;
				}
				buf = nb;
				room *= 2;
			}
			got = archive_read_data(a, buf + have, room - have);
			if (got <= 0)
				break;
			have += (size_t)got;
		}
		if (buf == NULL) {
			rc = qerr_set(e, "%s: entry %s: out of memory", path, clean);
			break;
		}
		en->owned = buf;
		en->data = buf;
		en->size = have;
		if (got < 0) {
			rc = qerr_set(e, "%s: entry %s: %s", path, clean, archive_error_string(a));
			break;
		}
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = qerr_set(e, "%s: %s", path, archive_error_string(a));
	archive_read_free(a);
	return rc;
}

int
nnef_model_open(struct nnef_model *m, const char *path, struct qerr *e)
{
	struct stat st;
	size_t cap = 0;
	int rc;

	memset(m, 0, sizeof *m);
	m->source = strdup(path);
	if (m->source == NULL)
		return qerr_set(e, "%s: out of memory", path);
	if (strcmp(path, "-") != 0 && stat(path, &st) != 0) {
		rc = qerr_set(e, "%s: %s", path, strerror(errno));
		nnef_model_close(m);
		return rc;
	}
	if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode)) {
		m->is_dir = 1;
		rc = walk(m, &cap, path, "", 0, e);
	} else {
		rc = read_archive(m, &cap, path, NULL, 0, e);
	}
	if (rc == 0 && nnef_model_find(m, "graph.nnef") == NULL)
		rc = qerr_set(e, "%s: no graph.nnef at the root", path);
	if (rc != 0)
		nnef_model_close(m);
	return rc;
}

int
nnef_model_open_mem(struct nnef_model *m, const void *buf, size_t len, const char *name,
    struct qerr *e)
{
	size_t cap = 0;
	int rc;

	memset(m, 0, sizeof *m);
	m->source = strdup(name);
	if (m->source == NULL)
		return qerr_set(e, "%s: out of memory", name);
	rc = read_archive(m, &cap, name, buf ? buf : "", len, e);
	if (rc == 0 && nnef_model_find(m, "graph.nnef") == NULL)
		rc = qerr_set(e, "%s: no graph.nnef at the root", name);
	if (rc != 0)
		nnef_model_close(m);
	return rc;
}

void
nnef_model_close(struct nnef_model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->entries[i].owned)
			free(m->entries[i].owned);
		else
			qmap_close(&m->entries[i].map);
		free(m->entries[i].path);
	}
	free(m->entries);
	free(m->source);
	memset(m, 0, sizeof *m);
}

const struct nnef_entry *
nnef_model_find(const struct nnef_model *m, const char *path)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->entries[i].path, path) == 0)
			return &m->entries[i];
	return NULL;
}

const struct nnef_entry *
nnef_model_dat(const struct nnef_model *m, const char *label)
{
	char path[4096];

	while (*label == '/')
		label++;
	if ((size_t)snprintf(path, sizeof path, "%s.dat", label) >= sizeof path)
		return NULL;
	return nnef_model_find(m, path);
}

/* ---- writing ---- */

struct nnef_writer {
	char *dir;			/* folder output */
	struct archive *a;		/* archive output */
};

enum nnef_out_kind
nnef_out_kind_for(const char *name)
{
	size_t n = strlen(name);

	if ((n >= 4 && strcmp(name + n - 4, ".tgz") == 0) ||
	    (n >= 7 && strcmp(name + n - 7, ".tar.gz") == 0))
		return NNEF_OUT_TGZ;
	if (n >= 4 && strcmp(name + n - 4, ".tar") == 0)
		return NNEF_OUT_TAR;
	return NNEF_OUT_DIR;
}

struct nnef_writer *
nnef_writer_dir(const char *dir, struct qerr *e)
{
	struct nnef_writer *w = calloc(1, sizeof *w);

	if (w == NULL || (w->dir = strdup(dir)) == NULL) {
		free(w);
		qerr_set(e, "%s: out of memory", dir);
		return NULL;
	}
	return w;
}

static la_ssize_t
file_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	FILE *f = ctx;

	(void)a;
	return fwrite(buf, 1, n, f) == n ? (la_ssize_t)n : -1;
}

struct nnef_writer *
nnef_writer_archive(FILE *f, int gzip, struct qerr *e)
{
	struct nnef_writer *w = calloc(1, sizeof *w);

	if (w == NULL || (w->a = archive_write_new()) == NULL) {
		free(w);
		qerr_set(e, "out of memory");
		return NULL;
	}
	archive_write_set_format_pax_restricted(w->a);
	if (gzip)
		archive_write_add_filter_gzip(w->a);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open(w->a, f, NULL, file_write, NULL) != ARCHIVE_OK) {
		qerr_set(e, "archive: %s", archive_error_string(w->a));
		archive_write_free(w->a);
		free(w);
		return NULL;
	}
	return w;
}

static int
mkdirs(const char *root, const char *rel, struct qerr *e)
{
	char path[4096];
	const char *s = rel;

	while ((s = strchr(s, '/')) != NULL) {
		snprintf(path, sizeof path, "%s/%.*s", root, (int)(s - rel), rel);
		if (mkdir(path, 0777) != 0 && errno != EEXIST)
			return qerr_set(e, "%s: %s", path, strerror(errno));
		s++;
	}
	return 0;
}

int
nnef_writer_add(struct nnef_writer *w, const char *path, const void *data, size_t size,
    struct qerr *e)
{
	if (w->dir) {
		char full[4096];
		FILE *f;
		int ok;

		if ((size_t)snprintf(full, sizeof full, "%s/%s", w->dir, path) >= sizeof full)
			return qerr_set(e, "%s: path too long", path);
		if (mkdirs(w->dir, path, e) < 0)
			return -1;
		f = fopen(full, "wb");
		if (f == NULL)
			return qerr_set(e, "%s: %s", full, strerror(errno));
		ok = fwrite(data, 1, size, f) == size;
		if (fclose(f) != 0 || !ok)
			return qerr_set(e, "%s: write: %s", full, strerror(errno));
		return 0;
	}
	struct archive_entry *ae = archive_entry_new();

	if (ae == NULL)
		return qerr_set(e, "out of memory");
	archive_entry_set_pathname(ae, path);
	archive_entry_set_size(ae, (la_int64_t)size);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_mtime(ae, 0, 0);	/* reproducible archives */
	if (archive_write_header(w->a, ae) != ARCHIVE_OK ||
	    (size > 0 && archive_write_data(w->a, data, size) != (la_ssize_t)size)) {
		archive_entry_free(ae);
		return qerr_set(e, "%s: archive: %s", path, archive_error_string(w->a));
	}
	archive_entry_free(ae);
	return 0;
}

int
nnef_writer_close(struct nnef_writer *w, struct qerr *e)
{
	int rc = 0;

	if (w->a) {
		if (archive_write_close(w->a) != ARCHIVE_OK)
			rc = qerr_set(e, "archive: %s", archive_error_string(w->a));
		archive_write_free(w->a);
	}
	free(w->dir);
	free(w);
	return rc;
}
