/* layout: packed modules as ggml blocks, where a block holds them exactly
 * (spec/gguf.md §4 for the block layouts).
 *
 * linq dequantizes code q of a cell with scale s and zero point z to
 * (float)(q - z) * s.  With u = q - off (off: -8 for int4, 0 for uint4,
 * so u is 0..15) and zu = z - off:
 *   Q4_0  x = (u - 8) * d        exact when zu = 8 and d = s is an f16 value
 *   Q4_1  x = u * d + m          d = s and m = -zu * s f16 values: u * s and
 *                                zu * s are exact in f32 (an 11-bit mantissa
 *                                times a 5-bit integer), and so is their
 *                                difference, which is (u - zu) * s (a zero
 *                                is +0 where s < 0 made it -0)
 *   Q8_0  x = c * d              c = q - z in [-128, 127] (z the format's
 *                                symmetric zero), d = s an f16 value
 *   MXFP4 the same E2M1 codes    ggml's table holds twice the E2M1 values and
 *                                its E8M0 byte gives half the scale: equal
 *                                products, always exact
 *   NVFP4 the same E2M1 codes    and E4M3 scales as UE4M3 bytes (ggml halves
 *                                them too) in blocks of 4 x 16; the global
 *                                divisor is not in the block
 * A block is 32 consecutive inputs of one row: the cells must be whole
 * blocks wide and the groups contiguous (g_idx, if any, i / width).
 * Where s or -zu * s is not an f16 value the codes are still the block's
 * and d, m are rounded to f16 (as ggml's own quantizers store them): a
 * relative change of at most 2^-11 of the scale or the minimum, against
 * up to half a step per weight if the dequantized values were quantized
 * again on a grid of ggml's choosing. */
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "layout.h"
#include "qblock.h"
#include "quant.h"

static int
f16_exact(float v, uint16_t *h)
{
	float back;

	*h = qu_f32_to_f16(v);
	back = qu_f16_to_f32(*h);
	return memcmp(&back, &v, sizeof v) == 0;
}

/* 4-bit codes: the offset that makes them 0..15 */
static int32_t
nibble_offset(enum qfmt f)
{
	return f == QF_INT4 ? -8 : 0;
}

int
ql_ggml_type(const struct ql_codes *kc, int64_t *inexact, struct qerr *e)
{
	int bits, asym = 0;
	int64_t ncells = linq_ncells(&kc->g);
	uint16_t h;

	*inexact = 0;
	if (kc->s.fmt == QF_MXFP4)	/* groups of 32, power-of-two scales by construction */
		return kc->cols % 32 == 0 && kc->g.bc == 32 && kc->g.br == 1 ? QF_MXFP4 :
		    qerr_set(e, "MXFP4 cells of %lld x %lld are not ggml's blocks",
		    (long long)kc->g.br, (long long)kc->g.bc);
	if (kc->s.fmt == QF_NVFP4) {
		if (kc->cols % 64 != 0 || kc->g.bc != 16 || kc->g.br != 1)
			return qerr_set(e, "NVFP4 rows of %lld are not whole blocks of 64",
			    (long long)kc->cols);
		for (int64_t c = 0; c < ncells; c++)
			if (!(kc->scale[c] >= 0))	/* UE4M3 has no sign */
				return qerr_set(e, "NVFP4 block scale %g is negative", (double)kc->scale[c]);
		return QF_NVFP4;
	}
	bits = linq_is_float(kc->s.fmt) || !linq_supports(kc->s.fmt) ? 0 : linq_bits(kc->s.fmt);
	if (bits != 4 && bits != 8)
		return qerr_set(e, "%s codes have no ggml block type", qfmt_table[kc->s.fmt].name);
	if (kc->cols % 32 != 0 || kc->g.bc % 32 != 0)
		return qerr_set(e, "groups of %lld inputs (rows of %lld) are not whole blocks of 32",
		    (long long)kc->g.bc, (long long)kc->cols);
	for (int64_t i = 0; kc->gidx && i < kc->cols; i++)
		if (kc->gidx[i] != i / kc->g.bc)
			return qerr_set(e, "act-order groups (g_idx) are not consecutive inputs");
	for (int64_t c = 0; c < ncells; c++) {
		float s = kc->scale[c];
		int32_t z = kc->z[c];
		int exact = f16_exact(s, &h);

		if (!isfinite(qu_f16_to_f32(h)))
			return qerr_set(e, "scale %g is beyond f16's range", (double)s);
		if (bits == 8) {
			if (z != linq_sym_zero(kc->s.fmt))
				return qerr_set(e, "8-bit zero point %d: Q8_0 has none", (int)z);
		} else if (z - nibble_offset(kc->s.fmt) != 8) {
			float m = -(float)(z - nibble_offset(kc->s.fmt)) * s;

			exact &= f16_exact(m, &h);
			if (!isfinite(qu_f16_to_f32(h)))
				return qerr_set(e, "minimum -z*s = %g is beyond f16's range", (double)m);
			asym = 1;
		}
		*inexact += !exact;
	}
	return bits == 8 ? QF_Q8_0 : asym ? QF_Q4_1 : QF_Q4_0;
}

void
ql_ggml_blocks(const struct ql_codes *kc, int type, const uint64_t *rows, uint64_t nrows,
    unsigned char *out)
{
	int64_t nb = kc->cols / 32;
	size_t bb = (size_t)qfmt_table[type].block_bytes;
	int32_t off = nibble_offset(kc->s.fmt);

	for (uint64_t i = 0; i < nrows; i++) {
		int64_t r = (int64_t)rows[i];

		for (int64_t b = 0; b < nb; b++) {
			int64_t cell = r / kc->g.br * kc->g.gcols + b * 32 / kc->g.bc;
			const int32_t *q = kc->q + r * kc->cols + b * 32;
			float s = kc->scale[cell];
			int32_t z = kc->z[cell], c[32];
			uint16_t d = qu_f32_to_f16(s), m = 0;
			int ex;

			if (type == QF_NVFP4) {	/* 64 elements: 4 UE4M3 bytes, then j | j+8 per 16 */
				unsigned char *o = out + ((int64_t)i * (nb / 2) + b / 2) * (int64_t)bb;

				if (b % 2)
					continue;	/* written with the block's first 32 */
				for (int sb = 0; sb < 4; sb++) {
					o[sb] = linq_fp8_encode(kc->scale[cell + sb], 1) & 0x7f;
					for (int j = 0; j < 8; j++)
						o[4 + sb * 8 + j] = (unsigned char)(q[sb * 16 + j] |
						    q[sb * 16 + j + 8] << 4);
				}
				continue;
			}
			for (int j = 0; j < 32; j++)	/* the codes as the block stores them */
				c[j] = type == QF_Q8_0 ? q[j] - z : type == QF_MXFP4 ? q[j] : q[j] - off;
			if (type == QF_MXFP4) {
				frexpf(s, &ex);	/* s = 0.5 * 2^ex = 2^(e - 127) */
				d = (uint16_t)(ex - 1 + 127);
			} else if (type == QF_Q4_1) {
				m = qu_f32_to_f16(-(float)(z - off) * s);
			}
			qblock_pack_codes((enum qfmt)type, d, m, c, out + ((int64_t)i * nb + b) * (int64_t)bb);
		}
	}
}
