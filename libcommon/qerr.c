#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qerr.h"

int
qerr_set(struct qerr *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int
qerr_prefix(struct qerr *e, const char *fmt, ...)
{
	char old[sizeof e->msg];
	va_list ap;
	int n;

	if (e == NULL)
		return -1;
	memcpy(old, e->msg, sizeof old);
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n + 2 < sizeof e->msg) {
		size_t room = sizeof e->msg - (size_t)n - 3, len = strlen(old);

		if (len > room)
			len = room;
		memcpy(e->msg + n, ": ", 2);
		memcpy(e->msg + n + 2, old, len);
		e->msg[n + 2 + len] = 0;
	}
	return -1;
}
