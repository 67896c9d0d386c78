#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* Test-process state: the running test and the tally. */
static struct {
	const char *name;
	int failed, skipped, any_failed;
	char skip_why[256];
	char tmp[256];
	char fixture[4096];
} T;

int
t_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return 1;
	printf("FAIL %s: %s:%d: ", T.name ? T.name : "?", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	T.failed++;
	return 0;
}

void
t_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(T.skip_why, sizeof T.skip_why, fmt, ap);
	va_end(ap);
	T.skipped = 1;
}

void
t_run(const char *name, void (*fn)(void))
{
	T.name = name;
	T.failed = 0;
	T.skipped = 0;
	fn();
	if (T.failed)
		T.any_failed = 1;	/* FAIL lines were printed by t_check */
	else if (T.skipped)
		printf("SKIP %s: %s\n", name, T.skip_why);
	else
		printf("PASS %s\n", name);
	fflush(stdout);
	T.name = NULL;
}

int
t_done(void)
{
	char cmd[300];

	if (T.tmp[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "harness: could not remove %s\n", T.tmp);
	}
	return T.any_failed;
}

const char *
t_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (T.tmp[0] == 0) {
		snprintf(T.tmp, sizeof T.tmp, "%s/qutils-test-XXXXXX", base ? base : "/tmp");
		if (mkdtemp(T.tmp) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return T.tmp;
}

const char *
t_fixture(const char *rel)
{
	const char *base = getenv("QUTILS_FIXTURES");
	struct stat st;

	snprintf(T.fixture, sizeof T.fixture, "%s/%s", base ? base : "../shared/fixtures", rel);
	return stat(T.fixture, &st) == 0 ? T.fixture : NULL;
}

unsigned char *
t_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf && len)
		*len = (size_t)n;
	return buf;
}

int
t_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}
