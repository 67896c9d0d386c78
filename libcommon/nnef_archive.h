/* nnef_archive: an NNEF model's files, from a folder or a tar / tar.gz
 * (libarchive), and writing them back as a folder or an archive.
 *
 * Entry paths follow tract's rules: a leading "./" is dropped, directory
 * entries and any path with a component starting with "." are skipped.
 * Hostile archives are refused: absolute paths, ".." components, links,
 * device files, duplicate entries.  Folder inputs are mapped, archive
 * entries are read into memory as their bytes arrive (never from a
 * declared size). */
#ifndef NNEF_ARCHIVE_H
#define NNEF_ARCHIVE_H

#include <stddef.h>
#include <stdio.h>

#include "mapfile.h"
#include "qerr.h"

struct nnef_entry {
	char *path;			/* relative, '/'-separated */
	const unsigned char *data;
	size_t size;
	struct qmap map;		/* folder inputs */
	unsigned char *owned;		/* archive inputs */
};

struct nnef_model {
	char *source;
	int is_dir;
	struct nnef_entry *entries;	/* in folder walk / archive order */
	size_t n;
};

int nnef_model_open(struct nnef_model *m, const char *path, struct qerr *e);
/* An archive already in memory (buf must outlive nothing: entries are copied). */
int nnef_model_open_mem(struct nnef_model *m, const void *buf, size_t len, const char *name,
    struct qerr *e);
void nnef_model_close(struct nnef_model *m);
const struct nnef_entry *nnef_model_find(const struct nnef_model *m, const char *path);
/* A variable's tensor file: LABEL.dat, the label also tried without a
 * leading '/' (tract's rule); NULL if absent. */
const struct nnef_entry *nnef_model_dat(const struct nnef_model *m, const char *label);

/* Output: a folder (path created by the caller) or an archive on a FILE. */
enum nnef_out_kind { NNEF_OUT_DIR, NNEF_OUT_TAR, NNEF_OUT_TGZ };
struct nnef_writer;

/* Chooses the kind from the name: *.tgz, *.tar.gz -> TGZ, *.tar -> TAR,
 * anything else a folder. */
enum nnef_out_kind nnef_out_kind_for(const char *name);
struct nnef_writer *nnef_writer_dir(const char *dir, struct qerr *e);
struct nnef_writer *nnef_writer_archive(FILE *f, int gzip, struct qerr *e);
int nnef_writer_add(struct nnef_writer *w, const char *path, const void *data, size_t size,
    struct qerr *e);
int nnef_writer_close(struct nnef_writer *w, struct qerr *e);	/* frees w */

#endif
