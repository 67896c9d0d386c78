#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"

static int
read_all(int fd, struct qmap *m, const char *path, struct qerr *e)
{
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = malloc(cap), *nb;
	ssize_t n;

	if (buf == NULL)
		return qerr_set(e, "%s: out of memory", path);
	for (;;) {
		if (len == cap) {
			if (cap > SIZE_MAX / 2 || (nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				return qerr_set(e, "%s: out of memory", path);
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return qerr_set(e, "%s: read: %s", path, strerror(errno));
		}
		len += (size_t)n;
	}
	m->data = buf;
	m->size = len;
	m->mapped = 0;
	return 0;
}

int
qmap_open(struct qmap *m, const char *path, struct qerr *e)
{
	struct stat st;
	void *p;
	int fd, rc;

	memset(m, 0, sizeof *m);
	if (strcmp(path, "-") == 0)
		return read_all(0, m, "<stdin>", e);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return qerr_set(e, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = qerr_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return qerr_set(e, "%s: is a directory", path);
	}
	if (!S_ISREG(st.st_mode)) {
		rc = read_all(fd, m, path, e);
		close(fd);
		return rc;
	}
	if (st.st_size == 0) {
		close(fd);
		m->data = (const unsigned char *)"";
		m->size = 0;
		m->mapped = 0;
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return qerr_set(e, "%s: mmap: %s", path, strerror(errno));
	m->data = p;
	m->size = (size_t)st.st_size;
	m->mapped = 1;
	return 0;
}

void
qmap_close(struct qmap *m)
{
	if (m->mapped)
		munmap((void *)m->data, m->size);
	else if (m->size > 0)
		free((void *)m->data);
	memset(m, 0, sizeof *m);
}

static void
advise(const struct qmap *m, size_t off, size_t len, int advice)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t a, b;

	if (!m->mapped || off >= m->size)
		return;
	if (len > m->size - off)
		len = m->size - off;
	a = ((uintptr_t)m->data + off) & ~(uintptr_t)(pg - 1);
	b = (uintptr_t)m->data + off + len;
	madvise((void *)a, b - a, advice);
}

void
qmap_willneed(const struct qmap *m, size_t off, size_t len)
{
	advise(m, off, len, MADV_WILLNEED);
}

void
qmap_dontneed(const struct qmap *m, size_t off, size_t len)
{
	advise(m, off, len, MADV_DONTNEED);
}
