/* A small test harness.  Each test prints one line: "PASS name",
 * "FAIL name: file:line: what" or "SKIP name: why"; tests/run.sh counts the
 * lines of every test program, whatever language it is written in. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>

#define TEST(fn) static void fn(void)
#define RUN(fn) t_run(#fn, fn)

/* Record a failed check (the test goes on, so one run shows every problem). */
#define CHECK(c) t_check(!!(c), __FILE__, __LINE__, "%s", #c)
#define CHECKF(c, ...) t_check(!!(c), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_EQ_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
	t_check(a_ == b_, __FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	t_check(a_ && b_ && strcmp(a_, b_) == 0, __FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
	#a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

int t_check(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void t_run(const char *name, void (*fn)(void));
/* Marks the running test skipped (unless it already failed) and why. */
void t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints nothing more; returns the exit status (1 if any test failed). */
int t_done(void);

/* A fresh scratch folder for this test program (removed by t_done). */
const char *t_tmpdir(void);
/* Path of a file in ../shared/fixtures (or $QUTILS_FIXTURES), or NULL when
 * the fixtures are not there. */
const char *t_fixture(const char *rel);
/* Reads a whole file; NULL if missing. */
unsigned char *t_read_file(const char *path, size_t *len);
int t_write_file(const char *path, const void *data, size_t len);

#endif
