/* NNEF .dat files and tract's Q40 blocks (spec/nnef.md §2, §5). */
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "nnef.h"
#include "quant.h"

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
wr32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Khronos item codes 0..5 (spec/nnef.md §2). */
static const enum nnef_item khronos[6] = {
	NNEF_FLOAT, NNEF_UINT, NNEF_QUINT, NNEF_QINT, NNEF_INT, NNEF_BOOL,
};

static int
bits_ok(enum nnef_item it, uint32_t bits)
{
	switch (it) {
	case NNEF_FLOAT:
		return bits == 16 || bits == 32 || bits == 64;
	case NNEF_BOOL:
		return bits == 1 || bits == 8;
	default:		/* integers: the widths tract reads */
		return bits == 8 || bits == 16 || bits == 32 || bits == 64;
	}
}

const char *
nnef_item_name(enum nnef_item it, uint32_t bits)
{
	static const char *names[NNEF_ITEM_COUNT][4] = {
		[NNEF_FLOAT] = { "f8?", "f16", "f32", "f64" },
		[NNEF_UINT] = { "u8", "u16", "u32", "u64" },
		[NNEF_QUINT] = { "qu8", "qu16", "qu32", "qu64" },
		[NNEF_QINT] = { "qi8", "qi16", "qi32", "qi64" },
		[NNEF_INT] = { "i8", "i16", "i32", "i64" },
		[NNEF_BOOL] = { "bool", "bool", "bool", "bool" },
		[NNEF_Q40] = { "q40", "q40", "q40", "q40" },
		[NNEF_Q40_LEGACY] = { "q40-legacy", "q40-legacy", "q40-legacy", "q40-legacy" },
		[NNEF_Q81] = { "q81", "q81", "q81", "q81" },
	};
	int w = bits == 16 ? 1 : bits == 32 ? 2 : bits == 64 ? 3 : 0;

	return it < NNEF_ITEM_COUNT ? names[it][w] : "?";
}

int
nnef_dat_parse(struct nnef_dat *d, const unsigned char *buf, size_t len,
    const char *name, struct qerr *e)
{
	uint64_t n = 1, want;
	uint32_t i;

	memset(d, 0, sizeof *d);
	if (len < NNEF_DAT_HEADER)
		return qerr_set(e, "%s: %zu bytes, shorter than the 128-byte .dat header", name, len);
	if (buf[0] != 0x4e || buf[1] != 0xef)
		return qerr_set(e, "%s: bad magic %02x %02x (want 4e ef)", name, buf[0], buf[1]);
	if (buf[2] != 1 || buf[3] != 0)
		return qerr_set(e, "%s: version %u.%u (want 1.0)", name, buf[2], buf[3]);
	d->data_len = rd32(buf + 4);
	d->rank = rd32(buf + 8);
	d->bits = rd32(buf + 44);
	d->code = rd16(buf + 48);
	d->vendor = rd16(buf + 50);
	if (d->rank > NNEF_MAX_RANK)
		return qerr_set(e, "%s: offset 8: rank %u > 8", name, d->rank);
	for (i = 0; i < NNEF_MAX_RANK; i++) {
		d->extents[i] = rd32(buf + 12 + 4 * i);
		if (i >= d->rank && d->extents[i] != 0)
			return qerr_set(e, "%s: offset %u: extent past rank %u is %u, want 0",
			    name, 12 + 4 * i, d->rank, d->extents[i]);
		if (i < d->rank) {
			/* extents are u32: the product of 8 fits below 2^256,
			 * so check against a bound that keeps it in 64 bits */
			if (d->extents[i] != 0 && n > (UINT64_C(1) << 62) / d->extents[i])
				return qerr_set(e, "%s: extents overflow", name);
			n *= d->extents[i];
		}
	}
	d->nitems = n;
	if ((uint64_t)len - NNEF_DAT_HEADER != d->data_len)
		return qerr_set(e, "%s: data length field %u but %zu bytes follow the header",
		    name, d->data_len, len - NNEF_DAT_HEADER);
	d->payload = buf + NNEF_DAT_HEADER;

	if (d->vendor == 0) {
		if (d->code > 5)
			return qerr_set(e, "%s: offset 48: unknown item type code %u", name, d->code);
		d->item = khronos[d->code];
		if (!bits_ok(d->item, d->bits))
			return qerr_set(e, "%s: offset 44: %u bits per item is not valid for code %u",
			    name, d->bits, d->code);
		/* legacy files put a signedness flag at 52: refuse ambiguity */
		for (i = 52; i < NNEF_DAT_HEADER; i++)
			if (buf[i] != 0)
				return qerr_set(e, "%s: offset %u: reserved header byte is not zero", name, i);
		want = (n * d->bits + 7) / 8;
	} else if (d->vendor == NNEF_VENDOR_TRACT) {
		if (d->code == NNEF_CODE_Q40)
			d->item = NNEF_Q40;
		else if (d->code == NNEF_CODE_Q40_LEGACY)
			d->item = NNEF_Q40_LEGACY;
		else if (d->code == NNEF_CODE_Q81)
			d->item = NNEF_Q81;
		else
			return qerr_set(e, "%s: offset 48: unknown tract item type 0x%04x", name, d->code);
		if (d->bits != 0xffffffffu)
			return qerr_set(e, "%s: offset 44: block-quantized data needs bits 0xffffffff, got %u",
			    name, d->bits);
		if (d->rank < 2)
			return qerr_set(e, "%s: block-quantized tensor of rank %u (tract needs >= 2)",
			    name, d->rank);
		if (d->item == NNEF_Q81) {
			if (n % 32)
				return qerr_set(e, "%s: %llu items, not a multiple of 32", name,
				    (unsigned long long)n);
			want = n / 32 * 36;
		} else {
			uint64_t k = n / (d->extents[0] ? d->extents[0] : 1);

			if (d->extents[0] == 0 || k % NNEF_Q40_BLOCK)
				return qerr_set(e, "%s: Q40 row length %llu is not a multiple of 32",
				    name, (unsigned long long)k);
			want = n / NNEF_Q40_BLOCK * NNEF_Q40_BLOCK_BYTES;
		}
		for (i = 52; i < NNEF_DAT_HEADER; i++)
			if (buf[i] != 0)
				return qerr_set(e, "%s: offset %u: reserved header byte is not zero", name, i);
	} else {
		return qerr_set(e, "%s: offset 50: unknown vendor 0x%04x", name, d->vendor);
	}
	if (want != d->data_len)
		return qerr_set(e, "%s: %llu items of type %s need %llu bytes, data length is %u",
		    name, (unsigned long long)n, nnef_item_name(d->item, d->bits),
		    (unsigned long long)want, d->data_len);
	return 0;
}

void
nnef_dat_header(unsigned char hdr[NNEF_DAT_HEADER], uint16_t code, uint16_t vendor,
    uint32_t bits, uint32_t rank, const uint32_t *extents, uint32_t data_len)
{
	memset(hdr, 0, NNEF_DAT_HEADER);
	hdr[0] = 0x4e;
	hdr[1] = 0xef;
	hdr[2] = 1;
	wr32(hdr + 4, data_len);
	wr32(hdr + 8, rank);
	for (uint32_t i = 0; i < rank && i < NNEF_MAX_RANK; i++)
		wr32(hdr + 12 + 4 * i, extents[i]);
	wr32(hdr + 44, bits);
	hdr[48] = code & 0xff;
	hdr[49] = code >> 8;
	hdr[50] = vendor & 0xff;
	hdr[51] = vendor >> 8;
}

static double
int_at(const unsigned char *p, uint32_t bits, int is_signed)
{
	uint64_t u = 0;

	for (uint32_t b = 0; b < bits / 8; b++)
		u |= (uint64_t)p[b] << (8 * b);
	if (is_signed && bits < 64 && (u >> (bits - 1)) & 1)
		u |= ~UINT64_C(0) << bits;
	return is_signed ? (double)(int64_t)u : (double)u;
}

int
nnef_dat_to_f32(const struct nnef_dat *d, float *out)
{
	const unsigned char *p = d->payload;
	uint64_t i, n = d->nitems;

	switch (d->item) {
	case NNEF_FLOAT:
		if (d->bits == 16)
			return qdtype_to_f32(QD_F16, p, out, n);
		if (d->bits == 32)
			return qdtype_to_f32(QD_F32, p, out, n);
		for (i = 0; i < n; i++) {
			double v;

			memcpy(&v, p + 8 * i, 8);
			out[i] = (float)v;
		}
		return 0;
	case NNEF_UINT:
	case NNEF_QUINT:
	case NNEF_QINT:
	case NNEF_INT:
		for (i = 0; i < n; i++)
			out[i] = (float)int_at(p + i * (d->bits / 8), d->bits,
			    d->item == NNEF_QINT || d->item == NNEF_INT);
		return 0;
	case NNEF_BOOL:
		for (i = 0; i < n; i++)
			out[i] = d->bits == 1 ? (float)((p[i / 8] >> (7 - i % 8)) & 1) : p[i] != 0;
		return 0;
	case NNEF_Q40:
	case NNEF_Q40_LEGACY:
		nnef_q40_decode(p, n / NNEF_Q40_BLOCK, out, d->item == NNEF_Q40_LEGACY);
		return 0;
	default:
		return -1;
	}
}

/* Element i of a block sits in byte i%16 (GGML order: low nibble for the
 * first half) or byte i/2 (legacy: pairs). */
void
nnef_q40_pack(unsigned char *block, uint16_t d, const uint8_t *q, int legacy)
{
	block[0] = d & 0xff;
	block[1] = d >> 8;
	for (int j = 0; j < 16; j++)
		block[2 + j] = legacy ? (uint8_t)(q[2 * j] | q[2 * j + 1] << 4)
		    : (uint8_t)(q[j] | q[j + 16] << 4);
}

/* The GGML order is ggml's Q4_0 block itself: decode it with the traits
 * table's dequantizer; only the legacy order is tract's own. */
void
nnef_q40_decode(const unsigned char *blocks, size_t nblocks, float *out, int legacy)
{
	if (!legacy && qfmt_table[QF_Q4_0].dequantize) {
		qfmt_table[QF_Q4_0].dequantize(blocks, out, (int64_t)nblocks * NNEF_Q40_BLOCK);
		return;
	}
	for (size_t b = 0; b < nblocks; b++) {
		const unsigned char *bl = blocks + b * NNEF_Q40_BLOCK_BYTES;
		float d = qu_f16_to_f32(rd16(bl));
		float *o = out + b * NNEF_Q40_BLOCK;

		for (int j = 0; j < 16; j++) {
			int lo = bl[2 + j] & 15, hi = bl[2 + j] >> 4;

			if (legacy) {
				o[2 * j] = (float)(lo - 8) * d;
				o[2 * j + 1] = (float)(hi - 8) * d;
			} else {
				o[j] = (float)(lo - 8) * d;
				o[j + 16] = (float)(hi - 8) * d;
			}
		}
	}
}

/* torch_to_nnef computes the inverse scale in half precision and the
 * product x*id in single precision; q = floor(v + 8.5) clamped.  A NaN
 * product (0 * inf for a subnormal scale) maps to the zero code. */
static float
codes_for(const float *x, uint16_t dh, uint8_t *q)
{
	float d = qu_f16_to_f32(dh);
	float id = d != 0.0f ? qu_f16_to_f32(qu_f32_to_f16(1.0f / d)) : 0.0f;
	float err = 0.0f;

	for (int i = 0; i < NNEF_Q40_BLOCK; i++) {
		float v = x[i] * id + 8.5f;
		int c = isnan(v) ? 8 : v <= 0.0f ? 0 : v >= 15.0f ? 15 : (int)floorf(v);
		float r = x[i] - (float)(c - 8) * d;

		q[i] = (uint8_t)c;
		err += r * r;
	}
	return err;
}

static float
block_absmax(const float *x)
{
	float m = 0.0f;

	for (int i = 0; i < NNEF_Q40_BLOCK; i++)
		if (fabsf(x[i]) > m)
			m = fabsf(x[i]);
	return m;
}

void
nnef_q40_quantize_minmax(const float *x, size_t nblocks, unsigned char *out, int legacy)
{
	uint8_t q[NNEF_Q40_BLOCK];

	for (size_t b = 0; b < nblocks; b++) {
		const float *xb = x + b * NNEF_Q40_BLOCK;
		uint16_t dh = qu_f32_to_f16(-block_absmax(xb) / 8.0f);

		codes_for(xb, dh, q);
		nnef_q40_pack(out + b * NNEF_Q40_BLOCK_BYTES, dh, q, legacy);
	}
}

/* Shrinking the range trades clipping the extremes for finer steps for
 * everything else; 1.0 comes first so ties keep the min-max result. */
void
nnef_q40_quantize_mse(const float *x, size_t nblocks, unsigned char *out, int legacy)
{
	uint8_t q[NNEF_Q40_BLOCK], best_q[NNEF_Q40_BLOCK];

	for (size_t b = 0; b < nblocks; b++) {
		const float *xb = x + b * NNEF_Q40_BLOCK;
		float amax = block_absmax(xb), best = INFINITY;
		uint16_t best_d = 0;

		for (int step = 0; step <= 40; step++) {
			/* both signs: the extreme element may sit on the short side */
			for (int sign = -1; sign <= 1; sign += 2) {
				float alpha = 1.0f - 0.0125f * (float)step;
				uint16_t dh = qu_f32_to_f16((float)sign * amax * alpha / 8.0f);
				float err = codes_for(xb, dh, q);

				if (err < best) {
					best = err;
					best_d = dh;
					memcpy(best_q, q, sizeof q);
				}
			}
		}
		nnef_q40_pack(out + b * NNEF_Q40_BLOCK_BYTES, best_d, best_q, legacy);
	}
}

void
nnef_q40_quantize_scaled(const float *x, size_t nblocks, const float *scale,
    unsigned char *out, int legacy)
{
	uint8_t q[NNEF_Q40_BLOCK];

	for (size_t b = 0; b < nblocks; b++) {
		uint16_t dh = qu_f32_to_f16(scale[b]);

		codes_for(x + b * NNEF_Q40_BLOCK, dh, q);
		nnef_q40_pack(out + b * NNEF_Q40_BLOCK_BYTES, dh, q, legacy);
	}
}
