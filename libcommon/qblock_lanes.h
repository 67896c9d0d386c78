/* qblock_lanes: qblock's mse candidate kernel with ONE CANDIDATE PER LANE,
 * written once for every vector width (see qblock_x86.c for what each lane
 * computes and why it equals the reference, group_sse in qblock.c).
 *
 * Included by qblock_x86.c once per instruction set, with VL (lanes),
 * K(name) (name mangling), KFN (the target attribute, static inline) and
 * the intrinsics below defined:
 *   VF, VD, VMASK          float vector, double vector of VL/2, lane mask
 *   VSET1, VSET1D, VZEROD  broadcasts
 *   VADD VSUB VMUL VDIV VMIN VMAX VOR, VADDD VSUBD VMULD
 *   VLOAD_FIRST(p, n, f)   p[0..n-1] in the first n lanes, f in the others
 *   VSTORED                unaligned store of VL/2 doubles
 *   VTRUNC(v)              round toward zero
 *   VF16(v)                round to binary16 and back (nearest even)
 *   VABS(v), VSIGN(v)      |v|, the sign bit of v
 *   VCMP(a, b, P)          lane mask of a P b (P an _CMP_ predicate)
 *   VSEL(m, a, b)          m ? a : b per lane
 *   VADD_IF(m, a, b)       m ? a + b : a (sign of a zero may differ, never squared away)
 *   VRECIP_NZ(v)           v != 0 (or NaN) ? 1/v : 0
 *   VTOD_LO(v), VTOD_HI(v) lanes 0..VL/2-1, VL/2..VL-1 widened to double
 *   VGT_BITS(a, b)         int, bit k set where double lane k of a > b
 * Every operation is one intrinsic, the same as a hand-written kernel's. */

/* Each lane's running sum in double: lanes 0..VL/2-1 in a0, the rest in
 * a1.  A pass stops once every live lane's partial sum is above the limit
 * (the best sum of the candidates before: none of these can replace it
 * any more, and the reference's own early exit returns such a partial
 * sum). */
struct K(acc) {
	VD a0, a1, limit;
	int live;	/* bit k: lane k holds a candidate */
};

/* acc += ((double)x - (double)val)^2 */
KFN void
K(add_sq)(double x, VF val, struct K(acc) *a)
{
	VD xd = VSET1D(x);
	VD d0 = VSUBD(xd, VTOD_LO(val)), d1 = VSUBD(xd, VTOD_HI(val));

	a->a0 = VADDD(a->a0, VMULD(d0, d0));
	a->a1 = VADDD(a->a1, VMULD(d1, d1));
}

/* checked every 8 elements */
KFN int
K(done)(int i, const struct K(acc) *a)
{
	return (i & 7) == 7 &&
	    ((VGT_BITS(a->a0, a->limit) | VGT_BITS(a->a1, a->limit) << (VL / 2)) & a->live) == a->live;
}

KFN void
K(ggml)(enum qfmt f, const float *x, int n, VF sc, VF mn, struct K(acc) *a)
{
	VF id = VRECIP_NZ(sc), dh = VF16(sc), mh = VF16(mn), zero = VSET1(0.0f);

	if (f == QF_Q8_0) {
		VF lo = VSET1(-128.0f), hi = VSET1(127.0f), half = VSET1(0.5f), one = VSET1(1.0f);
		VF nan_code = VSET1(-2147483648.0f);

		for (int i = 0; i < n; i++) {
			VF v = VMUL(VSET1(x[i]), id), t = VTRUNC(v);
			VMASK up = VCMP(VABS(VSUB(v, t)), half, _CMP_GE_OQ);
			VF r = VADD_IF(up, t, VOR(one, VSIGN(v)));
			VF c = VMIN(VMAX(r, lo), hi);

			c = VSEL(VCMP(r, r, _CMP_UNORD_Q), nan_code, c);
			K(add_sq)(x[i], VMUL(c, dh), a);
			if (K(done)(i, a))
				break;
		}
		return;
	}
	{
		struct ggml_rule g = ggml_rule_of(f);
		VF off = VSET1(g.offset), top = VSET1(g.top), z = VSET1(g.zero);

		if (g.has_min) {
			for (int i = 0; i < n; i++) {
				VF v = VADD(VMUL(VSUB(VSET1(x[i]), mn), id), off);
				VF q = VTRUNC(VMIN(VMAX(v, zero), top));

				K(add_sq)(x[i], VADD(VMUL(q, dh), mh), a);
				if (K(done)(i, a))
					break;
			}
			return;
		}
		for (int i = 0; i < n; i++) {
			VF v = VADD(VMUL(VSET1(x[i]), id), off);
			VF q = VTRUNC(VMIN(VMAX(v, zero), top));

			K(add_sq)(x[i], VMUL(VSUB(q, z), dh), a);
			if (K(done)(i, a))
				break;
		}
	}
}

KFN void
K(fp4)(const float *x, int n, VF s, struct K(acc) *a)
{
	for (int i = 0; i < n; i++) {
		VF r = VDIV(VSET1(x[i]), s), ar = VABS(r), mag = VSET1(6.0f);

#define E2M1_STEP(edge, below, pred) mag = VSEL(VCMP(ar, VSET1(edge), _CMP_##pred##_OQ), VSET1(below), mag);
		E2M1_STEPS(E2M1_STEP)
#undef E2M1_STEP
		K(add_sq)(x[i], VMUL(VOR(mag, VSIGN(r)), s), a);
		if (K(done)(i, a))
			break;
	}
}

KTARGET void
K(qblock_sse)(enum qfmt f, const float *x, int n, const float *scale, const float *min,
    float global, double limit, int nc, double *sse)
{
	for (int k0 = 0; k0 < nc; k0 += VL) {
		int live = nc - k0 < VL ? nc - k0 : VL;
		/* spare lanes repeat candidate 0 */
		VF sc = VLOAD_FIRST(scale + k0, live, scale[0]), mn = VLOAD_FIRST(min + k0, live, min[0]);
		struct K(acc) a = { VZEROD, VZEROD, VSET1D(limit), (int)((1u << live) - 1) };
		double out[VL];

		if (f == QF_NVFP4)
			K(fp4)(x, n, VDIV(sc, VSET1(global)), &a);
		else if (f == QF_MXFP4)
			K(fp4)(x, n, sc, &a);
		else
			K(ggml)(f, x, n, sc, mn, &a);
		VSTORED(out, a.a0);
		VSTORED(out + VL / 2, a.a1);
		memcpy(sse + k0, out, (size_t)live * sizeof *out);
	}
}
