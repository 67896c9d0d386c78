#include <string.h>

#include "dtype.h"

const struct qdtype_info qdtype_table[QD_COUNT] = {
	[QD_BOOL] = { "BOOL", 8, 0 },
	[QD_F4] = { "F4", 4, 0 },
	[QD_F6_E2M3] = { "F6_E2M3", 6, 0 },
	[QD_F6_E3M2] = { "F6_E3M2", 6, 0 },
	[QD_U8] = { "U8", 8, 0 },
	[QD_I8] = { "I8", 8, 0 },
	[QD_F8_E5M2] = { "F8_E5M2", 8, 0 },
	[QD_F8_E4M3] = { "F8_E4M3", 8, 0 },
	[QD_F8_E8M0] = { "F8_E8M0", 8, 0 },
	[QD_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 8, 0 },
	[QD_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 8, 0 },
	[QD_I16] = { "I16", 16, 0 },
	[QD_U16] = { "U16", 16, 0 },
	[QD_F16] = { "F16", 16, 1 },
	[QD_BF16] = { "BF16", 16, 1 },
	[QD_I32] = { "I32", 32, 0 },
	[QD_U32] = { "U32", 32, 0 },
	[QD_F32] = { "F32", 32, 1 },
	[QD_C64] = { "C64", 64, 0 },
	[QD_F64] = { "F64", 64, 0 },
	[QD_I64] = { "I64", 64, 0 },
	[QD_U64] = { "U64", 64, 0 },
};

int
qdtype_from_name(const char *s)
{
	for (int i = 0; i < QD_COUNT; i++)
		if (strcmp(qdtype_table[i].name, s) == 0)
			return i;
	return -1;
}

/* Only the float types for now; dtype conversions of every kind are
 * filled in with their exhaustive tests. */
int
qdtype_to_f32(enum qdtype t, const void *src, float *dst, size_t n)
{
	const unsigned char *p = src;
	uint16_t h;

	switch (t) {
	case QD_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case QD_F16:
		for (size_t i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = qu_f16_to_f32(h);
		}
		return 0;
	case QD_BF16:
		for (size_t i = 0; i < n; i++) {
			memcpy(&h, p + 2 * i, 2);
			dst[i] = qu_bf16_to_f32(h);
		}
		return 0;
	default:
		return -1;
	}
}

int
qdtype_from_f32(enum qdtype t, const float *src, void *dst, size_t n)
{
	unsigned char *p = dst;
	uint16_t h;

	switch (t) {
	case QD_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case QD_F16:
		for (size_t i = 0; i < n; i++) {
			h = qu_f32_to_f16(src[i]);
			memcpy(p + 2 * i, &h, 2);
		}
		return 0;
	case QD_BF16:
		for (size_t i = 0; i < n; i++) {
			h = qu_f32_to_bf16(src[i]);
			memcpy(p + 2 * i, &h, 2);
		}
		return 0;
	default:
		return -1;
	}
}
