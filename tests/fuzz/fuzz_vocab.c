/* Fuzz target: the tokenizer parsers (SentencePiece protobuf and
 * tokenizer.json).  The first byte picks the parser and the model's
 * vocab_size (0 = the tokenizer's own); the rest is the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vocab.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vocab v;
	struct qerr e;
	uint64_t n_vocab;

	if (size < 1)
		return 0;
	n_vocab = (data[0] >> 1) & 0x3f;	/* 0..63 */
	if (data[0] & 1) {
		if (vocab_parse_spm(&v, data + 1, size - 1, n_vocab, "fuzz", &e) == 0)
			vocab_free(&v);
	} else {
		char *text = malloc(size);

		if (!text)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = 0;
		if (vocab_parse_hf_json(&v, text, size - 1, n_vocab, "fuzz", &e) == 0)
			vocab_free(&v);
		free(text);
	}
	return 0;
}
