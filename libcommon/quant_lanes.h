/* quant_lanes: the 32-element searches with ONE BLOCK PER LANE, written
 * once for every vector width: the imatrix paths of Q4_0, Q4_1, Q5_0 and
 * Q5_1, and IQ4_NL.
 *
 * Their references (qk_fit_symmetric / qk_fit_asymmetric with weights, and
 * iq4_nl_block) search 19, 38 or 16 scales per block with sums in element
 * order, so each lane runs one block through the scalar algorithm, step
 * for step: the same binary32 operations in the same order, branches as
 * per-lane selects.
 *
 * Included by quant_x86.c once per instruction set, with VL (lanes),
 * K(name) and KX(name) (name mangling: static helpers, exported kernels),
 * KFN (target attribute, static inline), KTARGET (target attribute,
 * static), KPUBLIC (target attribute) and these defined, each one
 * intrinsic or a small helper of quant_x86.c:
 *   VF, VI, VMASK                float and int32 vectors, lane mask
 *   VSET1, VSET1I, VZERO, VZEROI broadcasts
 *   VADD VSUB VMUL VDIV VSQRT VXOR  float arithmetic
 *   VADDI VSUBI VANDI VORI VMINI VMAXI, VSLLI(a, n) VSRLI(a, n)
 *   VTOF(i), VBITS(f)            int -> float conversion, float bits as int
 *   VABS(v)                      |v|
 *   VCMP(a, b, P)                lane mask of a P b (P an _CMP_ predicate)
 *   VMASK_AND(a, b), VANY(m)     both masks, any lane set
 *   VSEL(m, a, b), VSELI         m ? a : b per lane (float, int)
 *   VLANE                        int vector 0, 1, ..., VL-1
 *   VLIVE(n)                     mask of lanes 0..n-1
 *   VGATHER(base, idx, m)        base[idx] in the lanes of m, 0 elsewhere
 *   VGATHER_ALL(base, idx)       base[idx] in every lane
 *   VTAB, VTAB_LOAD(p), VLOOKUP16(i, t)  a 16-float table, its lookup
 *   VLOAD, VLOADI, VSTORE, VSTOREI  unaligned loads and stores
 *   VSTORE_BYTES(p, v)           the low byte of each lane to p[0..VL-1]
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

/* ------------------------------------------------------------------ */
/* IQ4_NL: VL blocks a pass (see iq4nl_midpoints in quant_x86.c for     */
/* why the index search equals the reference's)                        */
/* ------------------------------------------------------------------ */

/* The number of midpoints <= a (NaN -> 15, as the scalar search ends
 * there): a 4-step binary search over the 15 midpoints */
KFN VI
K(iq4nl_index)(VF a, VTAB mids)
{
	VI k = VZEROI;

	for (int step = 8; step; step >>= 1) {
		VI cand = VADDI(k, VSET1I(step));
		k = VSELI(VCMP(VLOOKUP16(cand, mids), a, _CMP_LE_OQ), cand, k);
	}
	return VSELI(VCMP(a, a, _CMP_UNORD_Q), VSET1I(15), k);
}

/* Σ w·q·x and Σ w·q·q over the block with codes chosen at inverse scale id */
KFN void
K(iq4nl_sums)(const VF *x, const VF *w, VF id, VTAB table, VTAB mids, VF *sqx, VF *sq2)
{
	VF sumqx = VZERO, sumq2 = VZERO;

	for (int j = 0; j < QK32; j++) {
		VF q = VLOOKUP16(K(iq4nl_index)(VMUL(id, x[j]), mids), table);
		VF wq = VMUL(w[j], q);
		sumqx = VADD(sumqx, VMUL(wq, x[j]));
		sumq2 = VADD(sumq2, VMUL(wq, q));
	}
	*sqx = sumqx;
	*sq2 = sumq2;
}

/* whole passes of VL blocks; the blocks left over go to the scalar
 * iq4_nl_block */
KPUBLIC void
KX(iq4_nl_quantize)(const float *src, void *vy, int64_t nrows, int64_t n, const float *qw)
{
	struct blk_iq4_nl *y = vy;
	int64_t nb = n / QK32, total = nrows * nb, g = 0;
	float values[16], mids[16];
	VTAB table, vmids;
	VI lane32 = VSLLI(VLANE, 5);	/* lane k reads block k: QK32 floats apart */

	for (int k = 0; k < 16; k++)
		values[k] = (float)qk_iq4nl_values[k];
	iq4nl_midpoints(mids);
	table = VTAB_LOAD(values);
	vmids = VTAB_LOAD(mids);
	for (; g + VL <= total; g += VL) {
		VF x[QK32], w[QK32], zero = VZERO, sigma2 = zero, amax = zero, max = zero;
		VF d, id, best, sumqx, sumq2;
		VI qoff = VZEROI;
		VMASK tiny, upd;
		uint8_t bytes[16][VL];
		float df[VL];

		if (qw) {	/* lane k reads the weights of its block's column */
			int32_t off[VL];
			for (int k = 0; k < VL; k++)
				off[k] = (int32_t)(((g + k) % nb) * QK32);
			qoff = VLOADI(off);
		}
		for (int j = 0; j < QK32; j++) {
			x[j] = VGATHER_ALL(src + g * QK32 + j, lane32);
			sigma2 = VADD(sigma2, VMUL(x[j], x[j]));
		}
		sigma2 = VMUL(sigma2, VSET1(2.0f / QK32));
		for (int j = 0; j < QK32; j++) {
			VF x2 = VMUL(x[j], x[j]), ax = VABS(x[j]);
			VMASK gt;
			w[j] = qw ? VMUL(VGATHER_ALL(qw + j, qoff), VSQRT(VADD(sigma2, x2))) : x2;
			gt = VCMP(ax, amax, _CMP_GT_OQ);
			amax = VSEL(gt, ax, amax);
			max = VSEL(gt, x[j], max);
		}
		tiny = VCMP(amax, VSET1(1e-15f), _CMP_LT_OQ);
		d = VDIV(VXOR(max, VSET1(-0.0f)), VSET1(-127.0f));
		id = VDIV(VSET1(1.0f), d);
		K(iq4nl_sums)(x, w, id, table, vmids, &sumqx, &sumq2);
		d = VSEL(VCMP(sumq2, zero, _CMP_GT_OQ), VDIV(sumqx, sumq2), zero);
		best = VMUL(d, sumqx);
		for (int t = -7; t <= 7; t++) {
			id = VDIV(VSET1((float)(t - 127)), max);
			K(iq4nl_sums)(x, w, id, table, vmids, &sumqx, &sumq2);
			upd = VMASK_AND(VCMP(sumq2, zero, _CMP_GT_OQ),
			    VCMP(VMUL(sumqx, sumqx), VMUL(best, sumq2), _CMP_GT_OQ));
			d = VSEL(upd, VDIV(sumqx, sumq2), d);
			best = VSEL(upd, VMUL(d, sumqx), best);
		}
		d = VSEL(tiny, zero, d);
		id = VSEL(VCMP(d, zero, _CMP_NEQ_UQ), VDIV(VSET1(1.0f), d), zero);
		for (int j = 0; j < 16; j++) {
			VI lo = K(iq4nl_index)(VMUL(id, x[j]), vmids);
			VI hi = K(iq4nl_index)(VMUL(id, x[j + 16]), vmids);
			VSTORE_BYTES(bytes[j], VORI(lo, VSLLI(hi, 4)));	/* 0..255 a lane */
		}
		VSTORE(df, d);
		for (int k = 0; k < VL; k++) {
			y[g + k].d = F16(df[k]);
			for (int j = 0; j < 16; j++)
				y[g + k].qs[j] = bytes[j][k];
		}
	}
	for (; g < total; g++)
		iq4_nl_block(src + g * QK32, qw ? qw + (g % nb) * QK32 : NULL, y + g);
}
