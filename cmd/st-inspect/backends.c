/* The formats st-inspect reads: one line per backend file. */
#include <stddef.h>

#include "inspect.h"

extern const struct insp_backend insp_safetensors;

const struct insp_backend *const insp_backends[] = {
	&insp_safetensors,
	NULL
};
