/* The tensor lookup the layout fuzz targets (fuzz_qlconfig, fuzz_qldetect)
 * hand to libcommon/layout: a tensor of a parsed safetensors file by name.
 * A header, not a .c file, because `make fuzz` builds every fuzz_*.c on its
 * own with libcommon.a and nothing else. */
#ifndef ST_LOOKUP_H
#define ST_LOOKUP_H

#include <string.h>

#include "layout.h"
#include "safetensors.h"

/* ctx: the struct st_file; -1 when it has no tensor of that name */
static int
st_lookup(void *ctx, const char *name, struct ql_tensor *t)
{
	const struct st_tensor *s = st_find(ctx, name);

	if (s == NULL)
		return -1;
	t->dtype = s->dtype;
	t->ndim = s->ndim;
	memcpy(t->shape, s->shape, sizeof t->shape);
	t->data = s->data;
	return 0;
}

#endif
