/* qdq-insert: weights stored as FLOAT16 or BFLOAT16 (exported LLMs).
 *
 * The values are widened to float32 exactly and quantized like float
 * weights.  What changes is the type the graph sees: DequantizeLinear's
 * output has its scale's type, and the consumer still expects the weight's
 * own type.  What onnxruntime 1.30's CPU kernels accept (their kernel
 * registrations, and runs of small models here):
 *
 *   DequantizeLinear  scale float: any opset;  float16: opset >= 19;
 *                     bfloat16: no kernel at any opset (ONNX allows it at 19)
 *   QuantizeLinear    input float16: opset >= 19
 *   MatMulNBits       A float or float16; bfloat16: no CPU kernel
 *
 * So a float16 weight gets float16 scales when the model's opset is (or can
 * be raised to) 19 and a DequantizeLinear straight to float16; otherwise,
 * and always for bfloat16, float scales and a Cast to the weight's type
 * after the DequantizeLinear. */
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "onnx.h"
#include "qdq-insert.h"

static const struct half_type {
	int dt;
	const char *name;
	float max;		/* largest finite value */
	float min_scale;	/* smallest positive value */
	uint16_t (*from_f32)(float);
	float (*to_f32)(uint16_t);
} half_types[] = {
	{ONNX_FLOAT16, "float16", 65504.0f, 0x1p-24f, qu_f32_to_f16, qu_f16_to_f32},
	{ONNX_BFLOAT16, "bfloat16", 0x1.fep127f, 0x1p-133f, qu_f32_to_bf16, qu_bf16_to_f32},
};

static const struct half_type *
half_of(int dt)
{
	size_t i;

	for (i = 0; i < sizeof half_types / sizeof half_types[0]; i++)
		if (half_types[i].dt == dt)
			return &half_types[i];
	return NULL;
}

int
half_is_weight_type(int dt)
{
	return dt == ONNX_FLOAT || half_of(dt) != NULL;
}

const char *
half_name(int dt)
{
	const struct half_type *h = half_of(dt);

	return h ? h->name : "float";
}

int
half_scale_type(int weight_dt, int64_t opset)
{
	return weight_dt == ONNX_FLOAT16 && opset >= 19 ? ONNX_FLOAT16 : ONNX_FLOAT;
}

/* Rounds scales to dt, kept positive and finite (a scale that underflows
 * becomes the smallest one dt has; the codes then saturate instead). */
void
half_round_scales(int dt, float *s, int64_t n)
{
	const struct half_type *h = half_of(dt);
	int64_t i;

	if (h == NULL)
		return;
	for (i = 0; i < n; i++) {
		float v = h->to_f32(h->from_f32(s[i]));

		if (!(v > 0))
			v = h->min_scale;
		if (!isfinite(v))
			v = h->max;
		s[i] = v;
	}
}

/* float32 values as dt's raw_data (2 bytes each for the half types);
 * returns -1 (index in *bad) when a value does not fit dt's range. */
int
half_store(int dt, const float *f, int64_t n, void *out, int64_t *bad)
{
	const struct half_type *h = half_of(dt);
	int64_t i;

	if (h == NULL) {
		memmove(out, f, (size_t)n * 4);
		return 0;
	}
	for (i = 0; i < n; i++) {
		uint16_t v = h->from_f32(f[i]);

		if (isfinite(f[i]) && !isfinite(h->to_f32(v))) {
			*bad = i;
			return -1;
		}
		memcpy((unsigned char *)out + 2 * i, &v, 2);
	}
	return 0;
}

size_t
half_size(int dt)
{
	return half_of(dt) ? 2 : 4;
}
