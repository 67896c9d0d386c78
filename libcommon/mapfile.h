/* mapfile: a whole input file as read-only bytes.
 *
 * Regular files are mmap'ed (pages come in as they are touched, so opening a
 * 100 GB shard costs nothing until its bytes are read).  "-" or a pipe is read
 * into memory.  The bytes are never written. */
#ifndef MAPFILE_H
#define MAPFILE_H

#include <stddef.h>

#include "qerr.h"

struct qmap {
	const unsigned char *data;
	size_t size;
	int mapped;		/* 1: munmap on close; 0: free on close */
};

/* Opens path ("-" = standard input).  Error message starts with the path. */
int qmap_open(struct qmap *m, const char *path, struct qerr *e);
void qmap_close(struct qmap *m);

/* Hints that [off, off+len) will be read soon / is no longer needed. */
void qmap_willneed(const struct qmap *m, size_t off, size_t len);
void qmap_dontneed(const struct qmap *m, size_t off, size_t len);

#endif
