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

/* qk_fit_qkx (make_qkx2/3) in lanes: codes to L[i] (as floats), scale and
 * -min per lane. */
static void
K(fit_qkx)(int n, int nmax, const vf *x, const vf *w, vf *L, vf *scale_out, vf *min_out,
    float rmin, float rdelta, int nstep, int use_mad)
{
	vf Laux[32];
	vf min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
	const vf zero = { 0 };

	for (int i = 1; i < n; i++) {
		min = K(sel)(x[i] < min, x[i], min);
		max = K(sel)(x[i] > max, x[i], max);
		sum_w += w[i];
		sum_x += w[i] * x[i];
	}
	min = K(sel)(min > 0, zero, min);
	vi degenerate = max <= min;
	vf min0 = min;
	vf iscale = (float)nmax / (max - min);
	vf scale = 1.0f / iscale;
	vf best = zero;
	for (int i = 0; i < n; i++) {
		vf l = K(tof)(K(clamp)(K(nearest)(iscale * (x[i] - min)), 0, nmax));
		L[i] = l;
		vf diff = scale * l + min - x[i];
		diff = use_mad ? K(absf)(diff) : diff * diff;
		best += w[i] * diff;
	}
	for (int is = 0; is <= nstep; is++) {
		/* min moves when a trial wins, and later trials start from it */
		iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
		vf sum_l = zero, sum_l2 = zero, sum_xl = zero;
		for (int i = 0; i < n; i++) {
			vf l = K(tof)(K(clamp)(K(nearest)(iscale * (x[i] - min)), 0, nmax));
			Laux[i] = l;
			vf wl = w[i] * l;
			sum_l += wl;
			sum_l2 += wl * l;
			sum_xl += wl * x[i];
		}
		vf D = sum_w * sum_l2 - sum_l * sum_l;
		vi ok = D > 0;
		if (!VANY(ok))
			continue;
		vf this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
		vf this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
		vi pos = this_min > 0;
		this_min = K(sel)(pos, zero, this_min);
		this_scale = K(sel)(pos, sum_xl / sum_l2, this_scale);
		vf err = zero;
		for (int i = 0; i < n; i++) {
			vf diff = this_scale * Laux[i] + this_min - x[i];
			diff = use_mad ? K(absf)(diff) : diff * diff;
			err += w[i] * diff;
		}
		vi take = ok & (err < best);
		if (!VANY(take))
			continue;
		for (int i = 0; i < n; i++)
			L[i] = K(sel)(take, Laux[i], L[i]);
		best = K(sel)(take, err, best);
		scale = K(sel)(take, this_scale, scale);
		min = K(sel)(take, this_min, min);
	}
	for (int i = 0; i < n; i++)
		L[i] = K(sel)(degenerate, zero, L[i]);
	*scale_out = K(sel)(degenerate, zero, scale);
	*min_out = -K(sel)(degenerate, min0, min);
}

/* fit_qx (make_qx_quants, rmse_type 1) in lanes: signed codes l to L[i]
 * (the caller adds nmax), the scale per lane.  w NULL means x*x. */
static void
K(fit_qx)(int n, int nmax, const vf *x, const vf *w, vf *L, vf *scale_out)
{
	vf Laux[32], wx[32], wv[32];
	vf amax = { 0 }, max = { 0 };
	const vf zero = { 0 };

	for (int i = 0; i < n; i++) {
		vf ax = K(absf)(x[i]);
		vi m = ax > amax;
		amax = K(sel)(m, ax, amax);
		max = K(sel)(m, x[i], max);
	}
	vi zero_lane = amax < QK_GROUP_EPS;
	vf iscale = (float)-nmax / max;
	vf sumlx = zero, suml2 = zero;
	for (int i = 0; i < n; i++) {
		wv[i] = w ? w[i] : x[i] * x[i];
		wx[i] = wv[i] * x[i];
		vf l = K(tof)(K(clamp)(K(nearest)(iscale * x[i]), -nmax, nmax - 1));
		L[i] = l;
		sumlx += wx[i] * l;
		suml2 += wv[i] * l * l;
	}
	vf scale = K(sel)(suml2 != 0, sumlx / suml2, zero);
	vf best = scale * sumlx;
	for (int is = -9; is <= 9; is++) {
		if (is == 0)
			continue;
		iscale = -((float)nmax + 0.1f * (float)is) / max;
		sumlx = suml2 = zero;
		for (int i = 0; i < n; i++) {
			vf l = K(tof)(K(clamp)(K(nearest)(iscale * x[i]), -nmax, nmax - 1));
			Laux[i] = l;
			sumlx += wx[i] * l;
			suml2 += wv[i] * l * l;
		}
		vi take = (suml2 > 0) & (sumlx * sumlx > best * suml2);
		if (!VANY(take))
			continue;
		for (int i = 0; i < n; i++)
			L[i] = K(sel)(take, Laux[i], L[i]);
		vf s = sumlx / suml2;
		scale = K(sel)(take, s, scale);
		best = K(sel)(take, s * sumlx, best);
	}
	for (int i = 0; i < n; i++)
		L[i] = K(sel)(zero_lane, K(splat)((float)-nmax), L[i]);
	*scale_out = K(sel)(zero_lane, zero, scale);
}

/* fit_q3 (make_q3_quants with rmse, nmax 4, 16 elements) in lanes: signed
 * codes to L[i], the scale per lane.  A lane whose sweep changed nothing
 * would change nothing in later sweeps either, so all lanes sweep until
 * none changes. */
static void
K(fit_q3)(const vf *x, vf *L, vf *scale_out)
{
	const int nmax = 4;
	vf amax = { 0 }, max = { 0 }, w[16], wx[16];
	const vf zero = { 0 };

	for (int i = 0; i < 16; i++) {
		vf ax = K(absf)(x[i]);
		vi m = ax > amax;
		amax = K(sel)(m, ax, amax);
		max = K(sel)(m, x[i], max);
	}
	vi zero_lane = amax < QK_GROUP_EPS;
	vf iscale = (float)-nmax / max;
	vf sumlx = zero, suml2 = zero;
	for (int i = 0; i < 16; i++) {
		vf l = K(tof)(K(clamp)(K(nearest)(iscale * x[i]), -nmax, nmax - 1));
		L[i] = l;
		w[i] = x[i] * x[i];
		wx[i] = w[i] * x[i];
		sumlx += wx[i] * l;
		suml2 += w[i] * l * l;
	}
	for (int sweep = 0; sweep < 5; sweep++) {
		vi changed = { 0 };
		for (int i = 0; i < 16; i++) {
			vf slx = sumlx - wx[i] * L[i];
			vf sl2 = suml2 - w[i] * L[i] * L[i];
			vf nl = K(tof)(K(clamp)(K(nearest)(x[i] * sl2 / slx), -nmax, nmax - 1));
			vf slx2 = slx + wx[i] * nl, sl22 = sl2 + w[i] * nl * nl;
			vi take = (slx > 0) & (nl != L[i]) & (sl22 > 0) &
			    (slx2 * slx2 * suml2 > sumlx * sumlx * sl22);
			L[i] = K(sel)(take, nl, L[i]);
			sumlx = K(sel)(take, slx2, sumlx);
			suml2 = K(sel)(take, sl22, suml2);
			changed |= take;
		}
		if (!VANY(changed))
			break;
	}
	for (int i = 0; i < 16; i++)
		L[i] = K(sel)(zero_lane, K(splat)((float)-nmax), L[i]);
	*scale_out = K(sel)(zero_lane | (suml2 <= 0), zero, sumlx / suml2);
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
K(fit_iq4)(const vf *x, const vf *w, vf *scale_out)
{
	vf amax = { 0 }, max = { 0 }, q, wq[32];
	const vf zero = { 0 };

	for (int i = 0; i < 32; i++) {
		vf ax = K(absf)(x[i]);
		vi m = ax > amax;
		amax = K(sel)(m, ax, amax);
		max = K(sel)(m, x[i], max);
	}
	vi zero_lane = amax < QK_GROUP_EPS;
	vf d = -max / -127.f;
	vf id = 1.0f / d;
	vf sumqx = zero, sumq2 = zero;
	for (int i = 0; i < 32; i++) {
		(void)K(iq4_index)(id * x[i], &q);
		vf t = w[i] * q;
		sumqx += t * x[i];
		sumq2 += t * q;
	}
	d = K(sel)(sumq2 > 0, sumqx / sumq2, zero);
	vf best = d * sumqx;
	for (int t = -7; t <= 7; t++) {
		id = (float)(t - 127) / max;
		sumqx = sumq2 = zero;
		for (int i = 0; i < 32; i++) {
			(void)K(iq4_index)(id * x[i], &q);
			wq[i] = w[i] * q;
			sumqx += wq[i] * x[i];
			sumq2 += wq[i] * q;
		}
		vi take = (sumq2 > 0) & (sumqx * sumqx > best * sumq2);
		vf s = sumqx / sumq2;
		d = K(sel)(take, s, d);
		best = K(sel)(take, s * sumqx, best);
	}
	*scale_out = K(sel)(zero_lane, zero, d);
}

/* The fitting stage of whole super-blocks, VL sub-blocks at a time.  xb[b]
 * and qw[b] (NULL without an importance vector) are block b's inputs. */
static void
K(fit_blocks)(int fmt, const float *const *xb, const float *const *qw, int nblk, struct qk_fit *f,
    uint8_t *Lt)
{
	const int spb = fmt == QK_Q4_K || fmt == QK_Q5_K || fmt == QK_IQ4_XS ? 8 : 16;
	const int n = QK_K / spb;
	const int total = nblk * spb;
	float sigma2[16];
	vf x[32], w[32], L[32], scale = { 0 }, min = { 0 };

	if (qw[0] && fmt != QK_Q6_K)	/* Q6_K weighs by qw alone */
		for (int b = 0; b < nblk; b++) {
			float s = qk_sum_sq(xb[b], QK_K);
			sigma2[b] = fmt == QK_Q2_K ? s / QK_K : fmt == QK_IQ4_XS ? s * (2.f / QK_K) :
			    2 * s / QK_K;
		}
	for (int s0 = 0; s0 < total; s0 += VL) {
		vf sig = { 0 };
		const float *xrow[VL], *wrow[VL];
		/* lanes past the end repeat the first sub-block */
		for (int lane = 0; lane < VL; lane++) {
			int s = s0 + lane < total ? s0 + lane : s0;
			xrow[lane] = xb[s / spb] + n * (s % spb);
			if (qw[0]) {
				wrow[lane] = qw[s / spb] + n * (s % spb);
				sig[lane] = sigma2[s / spb];
			}
		}
		K(load_transposed)(xrow, n, x);
		if (qw[0])
			K(load_transposed)(wrow, n, w);
		vf sw = { 0 };
		if (qw[0] && fmt != QK_Q6_K) {
			for (int i = 0; i < n; i++)
				w[i] = w[i] * VSQRT(sig + x[i] * x[i]);
			for (int i = 0; i < n; i++)
				sw += w[i];
		}
		int off = 0;
		switch (fmt) {
		case QK_Q2_K:
			if (!qw[0])
				for (int i = 0; i < n; i++)
					w[i] = K(absf)(x[i]);
			if (qw[0])
				K(fit_qkx)(16, 3, x, w, L, &scale, &min, -0.9f, 0.05f, 36, 0);
			else
				K(fit_qkx)(16, 3, x, w, L, &scale, &min, -0.5f, 0.1f, 15, 1);
			break;
		case QK_Q4_K:
		case QK_Q5_K: {
			int nmax = fmt == QK_Q4_K ? 15 : 31;
			if (!qw[0]) {
				vf s = { 0 };
				for (int i = 0; i < 32; i++)
					s += x[i] * x[i];
				vf av = VSQRT(s / 32.0f);
				for (int i = 0; i < 32; i++)
					w[i] = av + K(absf)(x[i]);
				if (fmt == QK_Q4_K)
					K(fit_qkx)(32, nmax, x, w, L, &scale, &min, -1.f, 0.1f, 20, 0);
				else
					K(fit_qkx)(32, nmax, x, w, L, &scale, &min, -0.5f, 0.1f, 15, 0);
			} else {
				K(fit_qkx)(32, nmax, x, w, L, &scale, &min, -0.9f, 0.05f, 36, 0);
			}
			break;
		}
		case QK_Q3_K:
			if (qw[0])
				K(fit_qx)(16, 4, x, w, L, &scale);
			else
				K(fit_q3)(x, L, &scale);
			off = 4;
			break;
		case QK_Q6_K:
			K(fit_qx)(16, 32, x, qw[0] ? w : NULL, L, &scale);
			off = 32;
			break;
		case QK_IQ4_XS:	/* codes come from finishing alone */
			if (!qw[0])
				for (int i = 0; i < 32; i++)
					w[i] = x[i] * x[i];
			K(fit_iq4)(x, w, &scale);
			for (int i = 0; i < 32; i++)
				L[i] = (vf){ 0 };
			break;
		}
		for (int lane = 0; lane < VL && s0 + lane < total; lane++) {
			int s = s0 + lane, b = s / spb, j = s % spb;
			f[b].scales[j] = scale[lane];
			f[b].mins[j] = min[lane];
			f[b].sw[j] = sw[lane];
		}
		/* codes stay transposed (qk_fit_codes) */
		for (int i = 0; i < n; i++) {
			K(vb) c = __builtin_convertvector(__builtin_convertvector(L[i], vi) + off, K(vb));
			memcpy(Lt + (size_t)(s0 / VL) * n * VL + (size_t)i * VL, &c, VL);
		}
	}
	for (int b = 0; b < nblk; b++) {
		f[b].Lt = Lt;
		f[b].Lt_first = b * spb;
		f[b].Lt_vl = VL;
	}
}

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
