/* qerr: how libcommon reports failure.
 *
 * libcommon never prints and never exits.  A function that can fail takes a
 * struct qerr * as its last argument, returns -1 (or NULL) on failure and
 * leaves a one-line message "where: what" in it: the file name first when a
 * file is involved, then the tensor, key or byte offset, then the problem.
 * The CLI corner (cli.h) adds the program name and prints it. */
#ifndef QERR_H
#define QERR_H

struct qerr {
	char msg[1024];
};

/* Sets the message (printf-style) and returns -1, so "return qerr_set(...)". */
int qerr_set(struct qerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes the message with "prefix: " (e.g. a file name added by a caller). */
int qerr_prefix(struct qerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
