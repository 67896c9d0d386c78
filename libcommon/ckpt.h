/* ckpt: a checkpoint as one list of tensors, whatever its shape on disk:
 * a single .safetensors file, a folder with model.safetensors, a sharded
 * folder with model.safetensors.index.json (weight_map checked against the
 * shards: every listed tensor present in the named shard, no shard tensor
 * missing from the map, no missing shard file), or a plain folder of
 * .safetensors files.  config.json is parsed when present.
 *
 * The index is any *.safetensors.index.json in the folder
 * (model.safetensors.index.json preferred when there are several); shard
 * names in it must be plain file names in that folder.  Opening reads
 * headers only (mmap), so listing a 100-shard checkpoint costs
 * milliseconds.  A tensor name present twice (in two shards or two files)
 * is an error. */
#ifndef CKPT_H
#define CKPT_H

#include <cjson/cJSON.h>

#include "qerr.h"
#include "safetensors.h"

struct ckpt_tensor {
	const struct st_tensor *t;
	const struct st_file *file;
};

struct ckpt {
	char *path;			/* what was opened */
	char *dir;			/* its folder (NULL for a lone file) */
	struct st_file *files;
	size_t n_files;
	struct ckpt_tensor *tensors;	/* shard order, then header order */
	size_t n_tensors;
	cJSON *config;			/* config.json, or NULL */
	char *index;			/* the index file's name, or NULL */
	size_t *by_name;		/* tensor indexes sorted by name (ckpt_find) */
};

int ckpt_open(struct ckpt *c, const char *path, struct qerr *e);
void ckpt_close(struct ckpt *c);
const struct ckpt_tensor *ckpt_find(const struct ckpt *c, const char *name);

#endif
