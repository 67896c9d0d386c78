/* quant_k_lanes: the K-quant fitting helpers with one SUB-BLOCK PER LANE.
 *
 * Included by quant_k_x86.c once per instruction set, with VL (lanes), vf,
 * vi (the vector type names) and K(name) (name mangling) defined and a
 * target pragma in force.  Every lane performs exactly the scalar sequence
 * of binary32 operations of quant_k.c (same operands, same order, IEEE
 * division and square root), so the bytes equal the reference; branches
 * of the scalar code become per-lane selects.  A lane that the scalar code
 * would leave early keeps computing; its result is replaced at the end.
 *
 * Inputs arrive transposed: x[i] holds element i of VL sub-blocks. */

typedef float vf __attribute__((vector_size(VL * 4), aligned(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4), aligned(VL * 4)));
typedef uint8_t K(vb) __attribute__((vector_size(VL)));

/* m ? a : b per lane (m all ones or all zeros) */
static inline vf K(sel)(vi m, vf a, vf b) { return VSEL(m, a, b); }
static inline vf K(splat)(float s) { return (vf){ 0 } + s; }
static inline vf K(absf)(vf a) { return (vf)((vi)a & 0x7fffffff); }
static inline vf K(tof)(vi a) { return __builtin_convertvector(a, vf); }

static inline vi
K(nearest)(vf a)
{
	vi i = (vi)(a + 12582912.f);

	return (i & 0x007fffff) - 0x00400000;
}

/* The code nearest to a, clamped, as a float: what tof(clamp(nearest(a)))
 * gives for every |a| < 2^22 (the range nearest_int is defined on; a zero
 * may come out as -0, which adds and converts like +0), in three
 * instructions instead of six.  Only for the symmetric fits, where |a| stays
 * below nmax + 1 in every lane whose result is kept (|x| <= |max| and
 * |max| >= QK_GROUP_EPS); the fits with a minimum divide by max - min,
 * which for subnormal rows leaves that range, where ggml's magic-number
 * rounding gives its own numbers. */
static inline vf
K(code)(vf a, int lo, int hi)
{
	return VMINF(VMAXF(VRINT(a), K(splat)((float)lo)), K(splat)((float)hi));
}

static inline vi
K(clamp)(vi v, int lo, int hi)
{
	return VMINI(VMAXI(v, (vi){ 0 } + lo), (vi){ 0 } + hi);
}

/* Transpose a VL x VL tile in place (rows become lanes): swap the
 * off-diagonal half-blocks, then quarter-blocks, and so on. */
static inline void
K(transpose)(vf *r)
{
#if VL == 16
	static const int32_t lo_idx[4][16] = {
		{ 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23 },
		{ 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27 },
		{ 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29 },
		{ 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30 },
	};
	static const int32_t hi_idx[4][16] = {
		{ 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31 },
		{ 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31 },
		{ 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31 },
		{ 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31 },
	};
	for (int st = 0, b = 8; b >= 1; st++, b /= 2) {
		__m512i lo = _mm512_loadu_si512(lo_idx[st]), hi = _mm512_loadu_si512(hi_idx[st]);
		for (int i = 0; i < 16; i++) {
			if (i & b)
				continue;
			__m512 a = (__m512)r[i], c = (__m512)r[i + b];
			r[i] = (vf)_mm512_permutex2var_ps(a, lo, c);
			r[i + b] = (vf)_mm512_permutex2var_ps(a, hi, c);
		}
	}
#else
	for (int i = 0; i < 4; i++) {
		__m256 a = (__m256)r[i], c = (__m256)r[i + 4];
		r[i] = (vf)_mm256_permute2f128_ps(a, c, 0x20);
		r[i + 4] = (vf)_mm256_permute2f128_ps(a, c, 0x31);
	}
	for (int i = 0; i < 8; i++) {
		if (i & 2)
			continue;
		__m256 a = (__m256)r[i], c = (__m256)r[i + 2];
		r[i] = (vf)_mm256_shuffle_ps(a, c, 0x44);
		r[i + 2] = (vf)_mm256_shuffle_ps(a, c, 0xEE);
	}
	for (int i = 0; i < 8; i += 2) {
		__m256 a = (__m256)r[i], c = (__m256)r[i + 1];
		r[i] = (vf)_mm256_blend_ps(a, _mm256_moveldup_ps(c), 0xAA);
		r[i + 1] = (vf)_mm256_blend_ps(_mm256_movehdup_ps(a), c, 0xAA);
	}
#endif
}

/* x[i] (i < n) = element i of the rows at row[lane]. */
static inline void
K(load_transposed)(const float *const *row, int n, vf *x)
{
	for (int c = 0; c < n; c += VL) {
		for (int lane = 0; lane < VL; lane++)
			memcpy(&x[c + lane], row[lane] + c, sizeof(vf));
		K(transpose)(x + c);
	}
}

/* qk_sum_sq of whole super-blocks, one block per lane (same sequential
 * order per block). */
static void
K(sum_sq_blocks)(const float *const *xb, int nblk, float *out)
{
	for (int b0 = 0; b0 < nblk; b0 += VL) {
		const float *row[VL];
		vf s = { 0 }, t[VL];
		for (int lane = 0; lane < VL; lane++)
			row[lane] = xb[b0 + lane < nblk ? b0 + lane : b0];
		for (int c = 0; c < QK_K; c += VL) {
			for (int lane = 0; lane < VL; lane++)
				memcpy(&t[lane], row[lane] + c, sizeof(vf));
			K(transpose)(t);
			for (int i = 0; i < VL; i++)
				s += t[i] * t[i];
		}
		for (int lane = 0; lane < VL && b0 + lane < nblk; lane++)
			out[b0 + lane] = s[lane];
	}
}

/* The fitters below work on NG independent groups of VL sub-blocks at
 * once: each group's accumulations are sequential chains, and two groups
 * interleaved keep the vector units busy while a chain waits. */
#define NG 2
#define FOR_G _Pragma("GCC unroll 4") for (int g = 0; g < NG; g++)

/* qk_fit_qkx (make_qkx2/3) in lanes: codes to L[g][i] (as floats), scale
 * and -min per lane. */
static void
K(fit_qkx)(int n, int nmax, vf (*x)[32], vf (*w)[32], vf (*L)[32], vf *scale_out, vf *min_out,
    float rmin, float rdelta, int nstep, int use_mad)
{
	vf Laux[NG][32];
	vf min[NG], max[NG], sum_w[NG], sum_x[NG], min0[NG], scale[NG], best[NG];
	vi degenerate[NG];
	const vf zero = { 0 };

	FOR_G {
		min[g] = max[g] = x[g][0];
		sum_w[g] = w[g][0];
		sum_x[g] = sum_w[g] * x[g][0];
	}
	for (int i = 1; i < n; i++)
		FOR_G {
			min[g] = K(sel)(x[g][i] < min[g], x[g][i], min[g]);
			max[g] = K(sel)(x[g][i] > max[g], x[g][i], max[g]);
			sum_w[g] += w[g][i];
			sum_x[g] += w[g][i] * x[g][i];
		}
	FOR_G {
		min[g] = K(sel)(min[g] > 0, zero, min[g]);
		degenerate[g] = max[g] <= min[g];
		min0[g] = min[g];
		vf iscale = (float)nmax / (max[g] - min[g]);
		scale[g] = 1.0f / iscale;
		best[g] = zero;
		for (int i = 0; i < n; i++) {
			vf l = K(tof)(K(clamp)(K(nearest)(iscale * (x[g][i] - min[g])), 0, nmax));
			L[g][i] = l;
			vf diff = scale[g] * l + min[g] - x[g][i];
			diff = use_mad ? K(absf)(diff) : diff * diff;
			best[g] += w[g][i] * diff;
		}
	}
	for (int is = 0; is <= nstep; is++) {
		vf iscale[NG], sum_l[NG], sum_l2[NG], sum_xl[NG], D[NG];
		vi ok[NG];
		int any = 0;
		FOR_G {
			/* min moves when a trial wins, and later trials start from it */
			iscale[g] = (rmin + rdelta * (float)is + (float)nmax) / (max[g] - min[g]);
			sum_l[g] = sum_l2[g] = sum_xl[g] = zero;
		}
		for (int i = 0; i < n; i++)
			FOR_G {
				vf l = K(tof)(K(clamp)(K(nearest)(iscale[g] * (x[g][i] - min[g])), 0, nmax));
				Laux[g][i] = l;
				vf wl = w[g][i] * l;
				sum_l[g] += wl;
				sum_l2[g] += wl * l;
				sum_xl[g] += wl * x[g][i];
			}
		FOR_G {
			D[g] = sum_w[g] * sum_l2[g] - sum_l[g] * sum_l[g];
			ok[g] = D[g] > 0;
			any |= VANY(ok[g]);
		}
		if (!any)
			continue;
		vf ts[NG], tm[NG], err[NG];
		vi take[NG];
		FOR_G {
			ts[g] = (sum_w[g] * sum_xl[g] - sum_x[g] * sum_l[g]) / D[g];
			tm[g] = (sum_l2[g] * sum_x[g] - sum_l[g] * sum_xl[g]) / D[g];
			vi pos = tm[g] > 0;
			tm[g] = K(sel)(pos, zero, tm[g]);
			ts[g] = K(sel)(pos, sum_xl[g] / sum_l2[g], ts[g]);
			err[g] = zero;
		}
		for (int i = 0; i < n; i++)
			FOR_G {
				vf diff = ts[g] * Laux[g][i] + tm[g] - x[g][i];
				diff = use_mad ? K(absf)(diff) : diff * diff;
				err[g] += w[g][i] * diff;
			}
		any = 0;
		FOR_G {
			take[g] = ok[g] & (err[g] < best[g]);
			any |= VANY(take[g]);
		}
		if (!any)
			continue;
		FOR_G {
			for (int i = 0; i < n; i++)
				L[g][i] = K(sel)(take[g], Laux[g][i], L[g][i]);
			best[g] = K(sel)(take[g], err[g], best[g]);
			scale[g] = K(sel)(take[g], ts[g], scale[g]);
			min[g] = K(sel)(take[g], tm[g], min[g]);
		}
	}
	FOR_G {
		for (int i = 0; i < n; i++)
			L[g][i] = K(sel)(degenerate[g], zero, L[g][i]);
		scale_out[g] = K(sel)(degenerate[g], zero, scale[g]);
		min_out[g] = -K(sel)(degenerate[g], min0[g], min[g]);
	}
}

/* max |x| per lane, and the signed x that has it (the first one). */
static inline void
K(signed_max)(int n, const vf *x, vf *amax_out, vf *max_out)
{
	vf amax = { 0 }, max = { 0 };

	for (int i = 0; i < n; i++) {
		vf ax = K(absf)(x[i]);
		vi m = ax > amax;
		amax = K(sel)(m, ax, amax);
		max = K(sel)(m, x[i], max);
	}
	*amax_out = amax;
	*max_out = max;
}

/* fit_qx (make_qx_quants, rmse_type 1) in lanes: signed codes l to
 * L[g][i] (the caller adds nmax), the scale per lane.  w NULL means x*x. */
static void
K(fit_qx)(int n, int nmax, vf (*x)[32], vf (*w)[32], vf (*L)[32], vf *scale_out)
{
	vf Laux[NG][32], wx[NG][32], wv[NG][32];
	vf max[NG], scale[NG], best[NG], sumlx[NG], suml2[NG];
	vi zero_lane[NG];
	const vf zero = { 0 };

	FOR_G {
		vf amax;
		K(signed_max)(n, x[g], &amax, &max[g]);
		zero_lane[g] = amax < QK_GROUP_EPS;
		vf iscale = (float)-nmax / max[g];
		sumlx[g] = suml2[g] = zero;
		for (int i = 0; i < n; i++) {
			wv[g][i] = w ? w[g][i] : x[g][i] * x[g][i];
			wx[g][i] = wv[g][i] * x[g][i];
			vf l = K(code)(iscale * x[g][i], -nmax, nmax - 1);
			L[g][i] = l;
			sumlx[g] += wx[g][i] * l;
			suml2[g] += wv[g][i] * l * l;
		}
		scale[g] = K(sel)(suml2[g] != 0, sumlx[g] / suml2[g], zero);
		best[g] = scale[g] * sumlx[g];
	}
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		vf iscale[NG];
		vi take[NG];
		int any = 0;
		FOR_G {
			iscale[g] = -((float)nmax + 0.1f * (float)is) / max[g];
			sumlx[g] = suml2[g] = zero;
		}
		for (int i = 0; i < n; i++)
			FOR_G {
				vf l = K(code)(iscale[g] * x[g][i], -nmax, nmax - 1);
				Laux[g][i] = l;
				sumlx[g] += wx[g][i] * l;
				suml2[g] += wv[g][i] * l * l;
			}
		FOR_G {
			take[g] = (suml2[g] > 0) & (sumlx[g] * sumlx[g] > best[g] * suml2[g]);
			any |= VANY(take[g]);
		}
		if (!any)
			continue;
		FOR_G {
			for (int i = 0; i < n; i++)
				L[g][i] = K(sel)(take[g], Laux[g][i], L[g][i]);
			vf sc = sumlx[g] / suml2[g];
			scale[g] = K(sel)(take[g], sc, scale[g]);
			best[g] = K(sel)(take[g], sc * sumlx[g], best[g]);
		}
	}
	FOR_G {
		for (int i = 0; i < n; i++)
			L[g][i] = K(sel)(zero_lane[g], K(splat)((float)-nmax), L[g][i]);
		scale_out[g] = K(sel)(zero_lane[g], zero, scale[g]);
	}
}

/* fit_q3 (make_q3_quants with rmse, nmax 4, 16 elements) in lanes: signed
 * codes to L[g][i], the scale per lane.  A lane whose sweep changed nothing
 * would change nothing in later sweeps either, so all lanes sweep until
 * none changes. */
static void
K(fit_q3)(vf (*x)[32], vf (*L)[32], vf *scale_out)
{
	const int nmax = 4;
	vf w[NG][16], wx[NG][16], sumlx[NG], suml2[NG];
	vi zero_lane[NG];
	const vf zero = { 0 };

	FOR_G {
		vf amax, max;
		K(signed_max)(16, x[g], &amax, &max);
		zero_lane[g] = amax < QK_GROUP_EPS;
		vf iscale = (float)-nmax / max;
		sumlx[g] = suml2[g] = zero;
		for (int i = 0; i < 16; i++) {
			vf l = K(code)(iscale * x[g][i], -nmax, nmax - 1);
			L[g][i] = l;
			w[g][i] = x[g][i] * x[g][i];
			wx[g][i] = w[g][i] * x[g][i];
			sumlx[g] += wx[g][i] * l;
			suml2[g] += w[g][i] * l * l;
		}
	}
	for (int sweep = 0; sweep < 5; sweep++) {
		vi changed = { 0 };
		for (int i = 0; i < 16; i++)
			FOR_G {
				vf slx = sumlx[g] - wx[g][i] * L[g][i];
				vf sl2 = suml2[g] - w[g][i] * L[g][i] * L[g][i];
				vf nl = K(code)(x[g][i] * sl2 / slx, -nmax, nmax - 1);
				vf slx2 = slx + wx[g][i] * nl, sl22 = sl2 + w[g][i] * nl * nl;
				vi take = (slx > 0) & (nl != L[g][i]) & (sl22 > 0) &
				    (slx2 * slx2 * suml2[g] > sumlx[g] * sumlx[g] * sl22);
				L[g][i] = K(sel)(take, nl, L[g][i]);
				sumlx[g] = K(sel)(take, slx2, sumlx[g]);
				suml2[g] = K(sel)(take, sl22, suml2[g]);
				changed |= take;
			}
		if (!VANY(changed))
			break;
	}
	FOR_G {
		for (int i = 0; i < 16; i++)
			L[g][i] = K(sel)(zero_lane[g], K(splat)((float)-nmax), L[g][i]);
		scale_out[g] = K(sel)(zero_lane[g] | (suml2[g] <= 0), zero, sumlx[g] / suml2[g]);
	}
}

/* The IQ4 codebook (spec §4 IQ4_NL) as a lane-indexed table. */
static inline vf
K(iq4_lookup)(vi idx)
{
	static const float tab[16] = { -127, -104, -83, -65, -49, -35, -22, -10,
		1, 13, 25, 38, 53, 69, 89, 113 };
#if VL == 16
	return (vf)_mm512_permutexvar_ps((__m512i)idx, _mm512_loadu_ps(tab));
#else
	__m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab), (__m256i)idx);
	__m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(tab + 8), (__m256i)idx);
	return K(sel)((idx & 8) != 0, (vf)hi, (vf)lo);
#endif
}

/* qk_iq4_index per lane (best_index_int8): the largest ml with
 * tab[ml] <= a by binary lifting (the same ml as ggml's bisection), then
 * ggml's comparison of the two distances, the two clamps, NaN to 15. */
static inline vi
K(iq4_index)(vf a, vf *value)
{
	vi ml = { 0 };

	for (int step = 8; step >= 1; step /= 2) {
		vi c = ml + step;
		ml = (vi)K(sel)(K(iq4_lookup)(c) <= a, (vf)c, (vf)ml);
	}
	vf lo = K(iq4_lookup)(ml), hi = K(iq4_lookup)(ml + 1);
	vi low = a - lo < hi - a;
	vi idx = (vi)K(sel)(low, (vf)ml, (vf)(ml + 1));
	vf v = K(sel)(low, lo, hi);
	vi first = a <= -127.f, last = (a >= 113.f) | (a != a);
	idx = (vi)K(sel)(first, (vf)((vi){ 0 }), (vf)idx);
	v = K(sel)(first, K(splat)(-127.f), v);
	idx = (vi)K(sel)(last, (vf)((vi){ 0 } + 15), (vf)idx);
	*value = K(sel)(last, K(splat)(113.f), v);
	return idx;
}

static void
K(iq4_codes)(const float *x, int n, float id, uint8_t *L)
{
	for (int i = 0; i < n; i += VL) {
		vf v, q;
		memcpy(&v, x + i, sizeof v);
		K(vb) b = __builtin_convertvector(K(iq4_index)(id * v, &q), K(vb));
		memcpy(L + i, &b, VL);
	}
}

/* qk_fit_iq4_sub in lanes (32 elements): the scale per lane. */
static void
K(fit_iq4)(vf (*x)[32], vf (*w)[32], vf *scale_out)
{
	vf q, max[NG], d[NG], best[NG], sumqx[NG], sumq2[NG];
	vi zero_lane[NG];
	const vf zero = { 0 };

	FOR_G {
		vf amax;
		K(signed_max)(32, x[g], &amax, &max[g]);
		zero_lane[g] = amax < QK_GROUP_EPS;
		vf id = 1.0f / (-max[g] / -127.f);
		sumqx[g] = sumq2[g] = zero;
		for (int i = 0; i < 32; i++) {
			(void)K(iq4_index)(id * x[g][i], &q);
			vf t = w[g][i] * q;
			sumqx[g] += t * x[g][i];
			sumq2[g] += t * q;
		}
		d[g] = K(sel)(sumq2[g] > 0, sumqx[g] / sumq2[g], zero);
		best[g] = d[g] * sumqx[g];
	}
	for (int t = -7; t <= 7; t++) {
		vf id[NG];
		FOR_G {
			id[g] = (float)(t - 127) / max[g];
			sumqx[g] = sumq2[g] = zero;
		}
		for (int i = 0; i < 32; i++)
			FOR_G {
				(void)K(iq4_index)(id[g] * x[g][i], &q);
				vf wq = w[g][i] * q;
				sumqx[g] += wq * x[g][i];
				sumq2[g] += wq * q;
			}
		FOR_G {
			vi take = (sumq2[g] > 0) & (sumqx[g] * sumqx[g] > best[g] * sumq2[g]);
			vf sc = sumqx[g] / sumq2[g];
			d[g] = K(sel)(take, sc, d[g]);
			best[g] = K(sel)(take, sc * sumqx[g], best[g]);
		}
	}
	FOR_G
		scale_out[g] = K(sel)(zero_lane[g], zero, d[g]);
}

/* The fitting stage of whole super-blocks, NG * VL sub-blocks at a time.
 * xb[b] and qw[b] (NULL without an importance vector) are block b's
 * inputs; the blocks are consecutive in memory. */
static void
K(fit_blocks)(int fmt, const float *const *xb, const float *const *qw, int nblk, struct qk_fit *f,
    uint8_t *Lt)
{
	const int spb = fmt == QK_Q4_K || fmt == QK_Q5_K || fmt == QK_IQ4_XS ? 8 : 16;
	const int n = QK_K / spb;
	const int total = nblk * spb;
	float sigma2[16];
	vf x[NG][32], w[NG][32], L[NG][32], scale[NG], min[NG], sw[NG];

	if (qw[0] && fmt != QK_Q6_K) {	/* Q6_K weighs by qw alone */
		K(sum_sq_blocks)(xb, nblk, sigma2);
		for (int b = 0; b < nblk; b++) {
			float s = sigma2[b];
			sigma2[b] = fmt == QK_Q2_K ? s / QK_K : fmt == QK_IQ4_XS ? s * (2.f / QK_K) :
			    2 * s / QK_K;
		}
	}
	for (int s0 = 0; s0 < total; s0 += NG * VL) {
		FOR_G {
			vf sig = { 0 };
			const float *xrow[VL], *wrow[VL];
			/* lanes past the end repeat the first sub-block */
			for (int lane = 0; lane < VL; lane++) {
				int s = s0 + g * VL + lane < total ? s0 + g * VL + lane : s0;
				xrow[lane] = xb[s / spb] + n * (s % spb);
				wrow[lane] = qw[0] ? qw[s / spb] + n * (s % spb) : NULL;
				if (qw[0])
					sig[lane] = sigma2[s / spb];
			}
			K(load_transposed)(xrow, n, x[g]);
			if (qw[0])
				K(load_transposed)(wrow, n, w[g]);
			sw[g] = min[g] = (vf){ 0 };
			if (qw[0] && fmt != QK_Q6_K) {
				for (int i = 0; i < n; i++)
					w[g][i] = w[g][i] * VSQRT(sig + x[g][i] * x[g][i]);
				for (int i = 0; i < n; i++)
					sw[g] += w[g][i];
			}
			/* the weights without an importance vector */
			if (!qw[0] && fmt == QK_Q2_K)
				for (int i = 0; i < n; i++)
					w[g][i] = K(absf)(x[g][i]);
			if (!qw[0] && (fmt == QK_Q4_K || fmt == QK_Q5_K)) {
				vf ss = { 0 };
				for (int i = 0; i < 32; i++)
					ss += x[g][i] * x[g][i];
				vf av = VSQRT(ss / 32.0f);
				for (int i = 0; i < 32; i++)
					w[g][i] = av + K(absf)(x[g][i]);
			}
			if (!qw[0] && fmt == QK_IQ4_XS)
				for (int i = 0; i < 32; i++)
					w[g][i] = x[g][i] * x[g][i];
		}
		int off = 0;
		switch (fmt) {
		case QK_Q2_K:
		case QK_Q4_K:
		case QK_Q5_K: {
			const struct qk_search *sr = &qk_searches[fmt][qw[0] != NULL];

			K(fit_qkx)(sr->n, sr->nmax, x, w, L, scale, min, sr->rmin, sr->rdelta, sr->nstep,
			    sr->use_mad);
			break;
		}
		case QK_Q3_K:
			if (qw[0])
				K(fit_qx)(16, 4, x, w, L, scale);
			else
				K(fit_q3)(x, L, scale);
			off = 4;
			break;
		case QK_Q6_K:
			K(fit_qx)(16, 32, x, qw[0] ? w : NULL, L, scale);
			off = 32;
			break;
		case QK_IQ4_XS:	/* codes come from finishing alone */
			K(fit_iq4)(x, w, scale);
			FOR_G
				for (int i = 0; i < 32; i++)
					L[g][i] = (vf){ 0 };
			break;
		}
		FOR_G {
			int g0 = s0 + g * VL;
			if (g0 >= total)
				break;
			for (int lane = 0; lane < VL && g0 + lane < total; lane++) {
				int s = g0 + lane, b = s / spb, j = s % spb;
				f[b].scales[j] = scale[g][lane];
				f[b].mins[j] = min[g][lane];
				f[b].sw[j] = sw[g][lane];
			}
			/* codes stay transposed (qk_fit_codes) */
			for (int i = 0; i < n; i++) {
				K(vb) c = __builtin_convertvector(__builtin_convertvector(L[g][i], vi) + off,
				    K(vb));
				memcpy(Lt + (size_t)(g0 / VL) * n * VL + (size_t)i * VL, &c, VL);
			}
		}
	}
	for (int b = 0; b < nblk; b++) {
		f[b].Lt = Lt;
		f[b].Lt_first = b * spb;
		f[b].Lt_vl = VL;
	}
}

#undef FOR_G
#undef NG

/* qk_requant_ref in the natural element order (n a multiple of VL or
 * n = 16 with VL = 16). */
static void
K(requant)(const float *x, int n, float d, float m, int lo, int hi, int off, uint8_t *L)
{
	for (int i = 0; i < n; i += VL) {
		vf v;
		memcpy(&v, x + i, sizeof v);
		vi q = K(clamp)(K(nearest)((v + m) / d), lo, hi) + off;
		K(vb) b = __builtin_convertvector(q, K(vb));
		memcpy(L + i, &b, VL);
	}
}
