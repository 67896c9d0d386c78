/* quant_imatrix_lanes: the imatrix paths of Q4_0, Q4_1, Q5_0 and Q5_1 with
 * ONE BLOCK PER LANE, written once for every vector width.
 *
 * The imatrix fitters (qk_fit_symmetric / qk_fit_asymmetric, the scalar
 * references) search 19 or 38 scales per block with ordered sums, so each
 * lane runs one block through the scalar algorithm, step for step: the
 * same binary32 operations in the same order, branches as per-lane selects.
 *
 * Included by quant_x86.c once per instruction set, with VL (lanes),
 * K(name) (name mangling), KFN (target attribute, static inline), KTARGET
 * (target attribute, static) and these defined, each one intrinsic:
 *   VF, VI, VMASK                float and int32 vectors, lane mask
 *   VSET1, VSET1I, VZERO, VZEROI broadcasts
 *   VADD VSUB VMUL VDIV VSQRT    float arithmetic
 *   VADDI VSUBI VANDI VORI VMINI VMAXI, VSLLI(a, n) VSRLI(a, n)
 *   VTOF(i), VBITS(f)            int -> float conversion, float bits as int
 *   VABS(v)                      |v|
 *   VCMP(a, b, P)                lane mask of a P b (P an _CMP_ predicate)
 *   VMASK_AND(a, b), VANY(m)     both masks, any lane set
 *   VSEL(m, a, b), VSELI         m ? a : b per lane (float, int)
 *   VLANE                        int vector 0, 1, ..., VL-1
 *   VLIVE(n)                     mask of lanes 0..n-1
 *   VGATHER(base, idx, m)        base[idx] in the lanes of m, 0 elsewhere
 *   VLOAD, VLOADI, VSTORE, VSTOREI  unaligned loads and stores
 *   F16(d)                       one float to binary16 bits (qu_f32_to_f16's) */

KFN VI
K(nearest_int)(VF v)
{
	VI bits = VBITS(VADD(v, VSET1(12582912.0f)));

	return VSUBI(VANDI(bits, VSET1I(0x7fffff)), VSET1I(0x400000));
}

KFN VI
K(clamp)(VI l, int lo, int hi)
{
	return VMINI(VMAXI(l, VSET1I(lo)), VSET1I(hi));
}

/* qk_fit_symmetric (make_qx_quants, weights given) on VL blocks */
KFN VF
K(fit_symmetric)(const VF *x, const VF *w, int nmax, VI *L)
{
	VF zero = VZERO, amax = zero, max = zero, iscale, sumlx = zero, suml2 = zero, scale, best;
	VI off = VSET1I(nmax);
	VMASK tiny;

	for (int i = 0; i < QK32; i++) {
		VF ax = VABS(x[i]);
		VMASK gt = VCMP(ax, amax, _CMP_GT_OQ);
		amax = VSEL(gt, ax, amax);
		max = VSEL(gt, x[i], max);
	}
	tiny = VCMP(amax, VSET1(1e-15f), _CMP_LT_OQ);
	iscale = VDIV(VSET1((float)-nmax), max);
	for (int i = 0; i < QK32; i++) {
		VI l = K(clamp)(K(nearest_int)(VMUL(iscale, x[i])), -nmax, nmax - 1);
		VF fl = VTOF(l);
		L[i] = VADDI(l, off);
		sumlx = VADD(sumlx, VMUL(VMUL(w[i], x[i]), fl));
		suml2 = VADD(suml2, VMUL(VMUL(w[i], fl), fl));
	}
	/* "suml2 ? sumlx/suml2 : 0": NaN counts as true */
	scale = VSEL(VCMP(suml2, zero, _CMP_NEQ_UQ), VDIV(sumlx, suml2), zero);
	best = VMUL(scale, sumlx);
	for (int is = -9; is <= 9; is++) {
		VI l[QK32];
		VMASK take;

		if (is == 0)
			continue;
		iscale = VDIV(VSET1(-((float)nmax + 0.1f * (float)is)), max);
		sumlx = suml2 = zero;
		for (int i = 0; i < QK32; i++) {
			VF fl;
			l[i] = K(clamp)(K(nearest_int)(VMUL(iscale, x[i])), -nmax, nmax - 1);
			fl = VTOF(l[i]);
			sumlx = VADD(sumlx, VMUL(VMUL(w[i], x[i]), fl));
			suml2 = VADD(suml2, VMUL(VMUL(w[i], fl), fl));
		}
		take = VMASK_AND(VCMP(suml2, zero, _CMP_GT_OQ), VCMP(VMUL(sumlx, sumlx), VMUL(best, suml2), _CMP_GT_OQ));
		if (!VANY(take))
			continue;
		for (int i = 0; i < QK32; i++)
			L[i] = VSELI(take, VADDI(l[i], off), L[i]);
		scale = VSEL(take, VDIV(sumlx, suml2), scale);
		best = VSEL(take, VMUL(scale, sumlx), best);
	}
	for (int i = 0; i < QK32; i++)
		L[i] = VSELI(tiny, VZEROI, L[i]);
	return VSEL(tiny, zero, scale);
}

/* qk_fit_asymmetric (make_qkx3_quants, squared error, weights given) on
 * VL blocks with the search sr; *minp gets the fitted min (<= 0), i.e.
 * -neg_min */
KFN VF
K(fit_asymmetric)(const VF *x, const VF *w, const struct qk_search *sr, VI *L, VF *minp)
{
	VF min = x[0], max = x[0], sum_w = w[0], sum_x = VMUL(w[0], x[0]);
	VF zero = VZERO, iscale, scale, best_err = zero;
	VMASK flat;
	int nmax = sr->nmax;

	for (int i = 1; i < QK32; i++) {
		min = VSEL(VCMP(x[i], min, _CMP_LT_OQ), x[i], min);
		max = VSEL(VCMP(x[i], max, _CMP_GT_OQ), x[i], max);
		sum_w = VADD(sum_w, w[i]);
		sum_x = VADD(sum_x, VMUL(w[i], x[i]));
	}
	min = VSEL(VCMP(min, zero, _CMP_GT_OQ), zero, min);
	flat = VCMP(max, min, _CMP_LE_OQ);
	iscale = VDIV(VSET1((float)nmax), VSUB(max, min));
	scale = VDIV(VSET1(1.0f), iscale);
	for (int i = 0; i < QK32; i++) {
		VF diff;
		L[i] = K(clamp)(K(nearest_int)(VMUL(iscale, VSUB(x[i], min))), 0, nmax);
		diff = VSUB(VADD(VMUL(scale, VTOF(L[i])), min), x[i]);
		best_err = VADD(best_err, VMUL(w[i], VMUL(diff, diff)));
	}
	for (int is = 0; is <= sr->nstep; is++) {
		VI l[QK32];
		VF sum_l = zero, sum_l2 = zero, sum_xl = zero, D, this_scale, this_min, err = zero;
		VMASK pos_min, take;

		/* min moves when a trial wins, and later trials start from it */
		iscale = VDIV(VSET1(sr->rmin + sr->rdelta * (float)is + (float)nmax), VSUB(max, min));
		for (int i = 0; i < QK32; i++) {
			VF fl, wl;
			l[i] = K(clamp)(K(nearest_int)(VMUL(iscale, VSUB(x[i], min))), 0, nmax);
			fl = VTOF(l[i]);
			wl = VMUL(w[i], fl);
			sum_l = VADD(sum_l, wl);
			sum_l2 = VADD(sum_l2, VMUL(wl, fl));
			sum_xl = VADD(sum_xl, VMUL(wl, x[i]));
		}
		D = VSUB(VMUL(sum_w, sum_l2), VMUL(sum_l, sum_l));
		this_scale = VDIV(VSUB(VMUL(sum_w, sum_xl), VMUL(sum_x, sum_l)), D);
		this_min = VDIV(VSUB(VMUL(sum_l2, sum_x), VMUL(sum_l, sum_xl)), D);
		pos_min = VCMP(this_min, zero, _CMP_GT_OQ);
		this_min = VSEL(pos_min, zero, this_min);
		this_scale = VSEL(pos_min, VDIV(sum_xl, sum_l2), this_scale);
		for (int i = 0; i < QK32; i++) {
			VF diff = VSUB(VADD(VMUL(this_scale, VTOF(l[i])), this_min), x[i]);
			err = VADD(err, VMUL(w[i], VMUL(diff, diff)));
		}
		take = VMASK_AND(VCMP(D, zero, _CMP_GT_OQ), VCMP(err, best_err, _CMP_LT_OQ));
		if (!VANY(take))
			continue;
		for (int i = 0; i < QK32; i++)
			L[i] = VSELI(take, l[i], L[i]);
		best_err = VSEL(take, err, best_err);
		scale = VSEL(take, this_scale, scale);
		min = VSEL(take, this_min, min);
	}
	for (int i = 0; i < QK32; i++)
		L[i] = VSELI(flat, VZEROI, L[i]);
	*minp = min;
	return VSEL(flat, zero, scale);
}

/* VL blocks g..g+VL-1 of the flattened rows (fewer at the end: the missing
 * lanes read zeros and are not written) */
KTARGET void
K(imatrix_lanes)(enum imatrix_kind kind, const float *src, unsigned char *dst, int64_t nrows,
    int64_t n, const float *qw)
{
	static const int block_bytes[] = { 18, 20, 22, 24 };
	int64_t nb = n / QK32, total = nrows * nb, cached_row = -1;
	float cached_sigma2 = 0;
	VI lane32 = VSLLI(VLANE, 5);	/* lane k reads block k: QK32 floats apart */

	for (int64_t g = 0; g < total; g += VL) {
		int lanes = total - g < VL ? (int)(total - g) : VL;
		VMASK live = VLIVE(lanes);
		VF x[QK32], w[QK32], sigma2, d, min = VZERO;
		VI L[QK32], qoff, h = VZEROI;
		int32_t off[VL] = { 0 }, codes[QK32][VL];
		float sig[VL] = { 0 }, df[VL], mf[VL];
		uint32_t qh[VL];

		for (int k = 0; k < lanes; k++) {
			int64_t row = (g + k) / nb;
			if (row != cached_row) {
				cached_row = row;
				cached_sigma2 = qk_row_sigma2(src + row * n, n);
			}
			sig[k] = cached_sigma2;
			off[k] = (int32_t)(((g + k) % nb) * QK32);
		}
		sigma2 = VLOAD(sig);
		qoff = VLOADI(off);
		for (int j = 0; j < QK32; j++) {
			x[j] = VGATHER(src + g * QK32 + j, lane32, live);
			w[j] = VMUL(VGATHER(qw + j, qoff, live), VSQRT(VADD(sigma2, VMUL(x[j], x[j]))));
		}
		switch (kind) {
		case IM_Q4_0: d = K(fit_symmetric)(x, w, 8, L); break;
		case IM_Q5_0: d = K(fit_symmetric)(x, w, 16, L); break;
		case IM_Q4_1: d = K(fit_asymmetric)(x, w, &qx1_imatrix_searches[0], L, &min); break;
		default: d = K(fit_asymmetric)(x, w, &qx1_imatrix_searches[1], L, &min); break;
		}
		for (int j = 0; j < QK32; j++) {
			h = VORI(h, VSLLI(VANDI(VSRLI(L[j], 4), VSET1I(1)), j));
			VSTOREI(codes[j], L[j]);
		}
		VSTOREI(qh, h);
		VSTORE(df, d);
		VSTORE(mf, min);
		for (int k = 0; k < lanes; k++) {
			unsigned char *b = dst + (g + k) * block_bytes[kind];
			uint16_t dk = F16(df[k]), mk = F16(mf[k]);
			uint8_t qs[16];
			for (int j = 0; j < 16; j++)
				qs[j] = (uint8_t)((codes[j][k] & 0x0f) | (codes[j + 16][k] & 0x0f) << 4);
			memcpy(b, &dk, 2);
			switch (kind) {
			case IM_Q4_0: memcpy(b + 2, qs, 16); break;
			case IM_Q4_1: memcpy(b + 2, &mk, 2); memcpy(b + 4, qs, 16); break;
			case IM_Q5_0: memcpy(b + 2, &qh[k], 4); memcpy(b + 6, qs, 16); break;
			case IM_Q5_1: memcpy(b + 2, &mk, 2); memcpy(b + 4, &qh[k], 4); memcpy(b + 8, qs, 16); break;
			}
		}
	}
}
