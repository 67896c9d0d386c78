#define _XOPEN_SOURCE 700	/* nftw flags */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"

#define MAX_TEMPS 64

/* Set once by cli_init; the temp list is what a dying process must delete. */
static const char *progname = "qutils";
static char *temps[MAX_TEMPS];
static int temp_is_dir[MAX_TEMPS];

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void
remove_temps(void)
{
	int i;

	for (i = 0; i < MAX_TEMPS; i++) {
		if (temps[i] == NULL)
			continue;
		if (temp_is_dir[i])
			nftw(temps[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		else
			unlink(temps[i]);
		temps[i] = NULL;
	}
}

static void
on_signal(int sig)
{
	remove_temps();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
track(char *tmp, int is_dir)
{
	int i;

	for (i = 0; i < MAX_TEMPS; i++)
		if (temps[i] == NULL) {
			temps[i] = tmp;
			temp_is_dir[i] = is_dir;
			return;
		}
}

static void
untrack(const char *tmp)
{
	int i;

	for (i = 0; i < MAX_TEMPS; i++)
		if (temps[i] == tmp)
			temps[i] = NULL;
}

void
cli_init(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	progname = s ? s + 1 : argv0 ? argv0 : "qutils";
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* EPIPE must be an error we report, not a silent death mid-file. */
	signal(SIGPIPE, SIG_IGN);
	/* The programs allocate a tensor-sized buffer per tensor.  glibc
	 * serves large ones with a fresh mmap each time and unmaps them on
	 * free, so every tensor pays a page fault per 4 KiB again; on a VM
	 * that cost dominated (st2gguf on a 293 MB int4 checkpoint: 442k
	 * faults, 21.7 s; kept in the heap: 15k faults, 2.7 s, lower peak
	 * RSS).  Freed memory stays for the next tensor instead. */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

const char *
cli_prog(void)
{
	return progname;
}

static void
vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	remove_temps();
	exit(1);
}

void
cli_die_err(const struct qerr *e)
{
	cli_die("%s", e->msg);
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	remove_temps();
	exit(2);
}

void
cli_version(void)
{
	printf("%s (qutils) %s; cJSON %s, zlib %s\n", progname, QUTILS_VERSION,
	    cJSON_Version(), zlibVersion());
	cli_close_stdout();
	exit(0);
}

int
cli_parse_jobs(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v < 1 || v > 256)
		cli_usage_error("-j: expected a thread count from 1 to 256, got '%s'", arg);
	return (int)v;
}

int
cli_parse_size(const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	if (*arg < '0' || *arg > '9')
		return -1;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "B") == 0)
		mul = 1;
	else if (strcmp(end, "K") == 0)
		mul = 1000ULL;
	else if (strcmp(end, "M") == 0)
		mul = 1000000ULL;
	else if (strcmp(end, "G") == 0)
		mul = 1000000000ULL;
	else if (strcmp(end, "Ki") == 0)
		mul = 1ULL << 10;
	else if (strcmp(end, "Mi") == 0)
		mul = 1ULL << 20;
	else if (strcmp(end, "Gi") == 0)
		mul = 1ULL << 30;
	else
		return -1;
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
isatty_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK), r;

	if (fd < 0)
		return 0;
	r = isatty(fd);
	close(fd);
	return r;
}

static char *
temp_name(const char *path)
{
	size_t n = strlen(path) + 32;
	char *t = malloc(n);

	if (t == NULL)
		cli_die("out of memory");
	snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
	return t;
}

void
cli_out_open(struct cli_out *o, const char *path, int binary)
{
	struct stat st;
	int fd;

	memset(o, 0, sizeof *o);
	if (path == NULL || strcmp(path, "-") == 0) {
		if (binary && isatty(1))
			cli_usage_error("refusing to write binary output to a terminal (use -o FILE or a pipe)");
		o->f = stdout;
		return;
	}
	o->path = strdup(path);
	if (o->path == NULL)
		cli_die("out of memory");
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device or a FIFO (-o /dev/null): written in place, never
		 * replaced by a renamed temporary file */
		if (binary && isatty_path(path))
			cli_usage_error("refusing to write binary output to a terminal (use -o FILE or a pipe)");
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0 || (o->f = fdopen(fd, "wb")) == NULL)
			cli_die("%s: %s", path, strerror(errno));
		return;
	}
	o->tmp = temp_name(path);
	fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0)
		cli_die("%s: %s", o->tmp, strerror(errno));
	track(o->tmp, 0);
	o->f = fdopen(fd, "wb");
	if (o->f == NULL)
		cli_die("%s: %s", o->tmp, strerror(errno));
}

void
cli_out_commit(struct cli_out *o)
{
	if (o->tmp == NULL && o->path == NULL) {	/* standard output */
		if (fflush(stdout) != 0 || ferror(stdout))
			cli_die("standard output: %s", strerror(errno ? errno : EIO));
		return;
	}
	if (o->tmp == NULL) {	/* a device or a FIFO */
		if (fflush(o->f) != 0 || ferror(o->f) || fclose(o->f) != 0)
			cli_die("%s: write: %s", o->path, strerror(errno ? errno : EIO));
		free(o->path);
		memset(o, 0, sizeof *o);
		return;
	}
	if (fflush(o->f) != 0 || ferror(o->f))
		cli_die("%s: write: %s", o->path, strerror(errno ? errno : EIO));
	if (fsync(fileno(o->f)) != 0 && errno != EINVAL)
		cli_die("%s: fsync: %s", o->path, strerror(errno));
	if (fclose(o->f) != 0)
		cli_die("%s: close: %s", o->path, strerror(errno));
	o->f = NULL;
	if (rename(o->tmp, o->path) != 0)
		cli_die("%s: rename: %s", o->path, strerror(errno));
	untrack(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

void
cli_out_abort(struct cli_out *o)
{
	if (o->tmp == NULL) {
		if (o->path && o->f)
			fclose(o->f);
		free(o->path);
		o->path = NULL;
		o->f = NULL;
		return;
	}
	if (o->f)
		fclose(o->f);
	unlink(o->tmp);
	untrack(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

void
cli_outdir_open(struct cli_outdir *d, const char *path)
{
	d->path = strdup(path);
	d->tmp = temp_name(path);
	if (d->path == NULL)
		cli_die("out of memory");
	if (mkdir(d->tmp, 0777) != 0)
		cli_die("%s: %s", d->tmp, strerror(errno));
	track(d->tmp, 1);
}

void
cli_outdir_commit(struct cli_outdir *d)
{
	struct stat st;
	char *old = NULL;

	if (stat(d->path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			cli_die("%s: exists and is not a folder", d->path);
		old = temp_name(d->path);
		strcat(old, ".old");
		if (rename(d->path, old) != 0)
			cli_die("%s: rename: %s", d->path, strerror(errno));
	}
	if (rename(d->tmp, d->path) != 0) {
		if (old)
			rename(old, d->path);
		cli_die("%s: rename: %s", d->path, strerror(errno));
	}
	untrack(d->tmp);
	if (old) {
		nftw(old, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(old);
	}
	free(d->tmp);
	free(d->path);
	memset(d, 0, sizeof *d);
}

void
cli_outdir_abort(struct cli_outdir *d)
{
	if (d->tmp == NULL)
		return;
	nftw(d->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	untrack(d->tmp);
	free(d->tmp);
	free(d->path);
	memset(d, 0, sizeof *d);
}

void
cli_close_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int err = errno;

	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		err = errno;
	}
	if (bad) {
		fprintf(stderr, "%s: standard output: %s\n", progname, strerror(err ? err : EIO));
		remove_temps();
		_exit(1);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
cli_progress_start(struct cli_progress *p, const char *label, uint64_t total, int quiet)
{
	memset(p, 0, sizeof *p);
	p->label = label;
	p->total = total;
	p->on = !quiet && isatty(2) && getenv("QUTILS_NO_PROGRESS") == NULL;
	p->start = p->last = now();
}

void
cli_progress_add(struct cli_progress *p, uint64_t n)
{
	double t;

	p->done += n;
	if (!p->on)
		return;
	t = now();
	if (t - p->last < 0.2 && p->done < p->total)
		return;
	p->last = t;
	fprintf(stderr, "\r%s: %s %5.1f%%", progname, p->label,
	    p->total ? 100.0 * (double)p->done / (double)p->total : 100.0);
	fflush(stderr);
}

void
cli_progress_end(struct cli_progress *p)
{
	if (p->on && p->last > p->start)
		fprintf(stderr, "\r\033[K");
	p->on = 0;
}
