/* The formats st-inspect reads: one line per backend file. */
#include <stddef.h>

#include "inspect.h"

extern const struct insp_backend insp_safetensors;
extern const struct insp_backend insp_gguf;
extern const struct insp_backend insp_nnef;
extern const struct insp_backend insp_onnx;

const struct insp_backend *const insp_backends[] = {
	&insp_safetensors,
	&insp_gguf,
	&insp_nnef,
	&insp_onnx,
	NULL
};
