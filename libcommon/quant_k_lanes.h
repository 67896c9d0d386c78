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

static inline vf K(sel)(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
static inline vi K(seli)(vi m, vi a, vi b) { return (m & a) | (~m & b); }
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
	v = K(seli)(v < lo, (vi){ 0 } + lo, v);
	return K(seli)(v > hi, (vi){ 0 } + hi, v);
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

/* The fitting stage of whole super-blocks, VL sub-blocks at a time.  xb[b]
 * and qw[b] (NULL without an importance vector) are block b's inputs. */
static void
K(fit_blocks)(int fmt, const float *const *xb, const float *const *qw, int nblk, struct qk_fit *f)
{
	const int spb = fmt == QK_Q4_K || fmt == QK_Q5_K ? 8 : 16, n = QK_K / spb;
	const int total = nblk * spb;
	float sigma2[16];
	vf x[32], w[32], L[32], scale = { 0 }, min = { 0 };

	if (qw[0])
		for (int b = 0; b < nblk; b++) {
			float s = qk_sum_sq(xb[b], QK_K);
			sigma2[b] = fmt == QK_Q2_K ? s / QK_K : 2 * s / QK_K;
		}
	for (int s0 = 0; s0 < total; s0 += VL) {
		vf sig = { 0 };
		for (int lane = 0; lane < VL; lane++) {
			int s = s0 + lane < total ? s0 + lane : s0;	/* pad with a copy */
			const float *src = xb[s / spb] + n * (s % spb);
			const float *q = qw[0] ? qw[s / spb] + n * (s % spb) : NULL;
			for (int i = 0; i < n; i++) {
				x[i][lane] = src[i];
				if (q)
					w[i][lane] = q[i];
			}
			if (q)
				sig[lane] = sigma2[s / spb];
		}
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
		case QK_Q3_K:	/* imatrix path only */
			K(fit_qx)(16, 4, x, w, L, &scale);
			off = 4;
			break;
		case QK_Q6_K:
			K(fit_qx)(16, 32, x, qw[0] ? w : NULL, L, &scale);
			off = 32;
			break;
		}
		for (int lane = 0; lane < VL && s0 + lane < total; lane++) {
			int s = s0 + lane, b = s / spb, j = s % spb;
			f[b].scales[j] = scale[lane];
			f[b].mins[j] = min[lane];
			f[b].sw[j] = sw[lane];
			for (int i = 0; i < n; i++)
				f[b].L[n * j + i] = (uint8_t)((int)L[i][lane] + off);
		}
	}
}
