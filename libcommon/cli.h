/* cli: the one corner of qutils that talks to the user.
 *
 * Message shapes: "prog: where: what" on standard error.  Exit codes: 0 done,
 * 1 failure (bad input, I/O), 2 bad usage.  Output files are written to a
 * temporary name beside the target and renamed only when complete; on any
 * failure (cli_die, a signal) the temporary is removed and an existing
 * output is left as it was.  Binary output is never sent to a terminal.
 *
 * The program name and the list of temporaries to clean up are the only
 * process-wide state; both are set up by cli_init before anything else. */
#ifndef CLI_H
#define CLI_H

#include <stdio.h>
#include <stdint.h>
#include <stdnoreturn.h>

#include "qerr.h"

#define QUTILS_VERSION "0.1.0"

void cli_init(const char *argv0);
const char *cli_prog(void);

noreturn void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void cli_die_err(const struct qerr *e);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bad usage: prints the message and a hint, exits 2. */
noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line: "prog (qutils) 0.1.0; cJSON 1.7.15, zlib ..." then exit 0. */
noreturn void cli_version(void);

/* -j N: a positive count, or cli_usage_error. */
int cli_parse_jobs(const char *arg);
/* A size such as 4096, 500M, 2G (decimal, as gguf-split), or 1Gi/512Mi. */
int cli_parse_size(const char *arg, uint64_t *out);

/* An output being written. */
struct cli_out {
	FILE *f;
	char *path;		/* target, NULL for standard output */
	char *tmp;		/* temporary name, NULL for standard output */
};

/* Opens path for writing ("-" = standard output).  binary: refuse a
 * terminal.  Dies on failure. */
void cli_out_open(struct cli_out *o, const char *path, int binary);
/* Flushes, checks every write, fsyncs, renames into place.  Dies on error
 * (after removing the temporary). */
void cli_out_commit(struct cli_out *o);
/* Removes the temporary; the target is untouched. */
void cli_out_abort(struct cli_out *o);

/* An output folder, built under a temporary name and renamed when done.
 * An existing folder at path is replaced only on commit. */
struct cli_outdir {
	char *path, *tmp;
};
void cli_outdir_open(struct cli_outdir *d, const char *path);
void cli_outdir_commit(struct cli_outdir *d);
void cli_outdir_abort(struct cli_outdir *d);

/* Flushes and closes standard output, dying on a write error (EPIPE
 * included).  Call before returning 0 from main. */
void cli_close_stdout(void);

/* Progress on standard error, only when it is a terminal and not quiet,
 * redrawn at most a few times a second. */
struct cli_progress {
	const char *label;
	uint64_t total, done;
	double last, start;
	int on;
};
void cli_progress_start(struct cli_progress *p, const char *label, uint64_t total, int quiet);
void cli_progress_add(struct cli_progress *p, uint64_t n);
void cli_progress_end(struct cli_progress *p);

#endif
