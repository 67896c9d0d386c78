/* NNEF: .dat headers, Q40 in both nibble orders, graph and graph.quant
 * parsing, and two judges nobody here wrote: torch_to_nnef's Q40 bytes and
 * tract's recorded outputs for its conv-q40 test cases. */
#include <archive.h>
#include <archive_entry.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "harness.h"
#include "nnef.h"
#include "nnef_archive.h"

TEST(dat_header_roundtrip)
{
	unsigned char buf[128 + 24];
	uint32_t ext[2] = { 2, 3 };
	struct nnef_dat d;
	struct qerr e;
	float v[6], out[6] = { 1, -2, 3.5f, 0, -0.25f, 8 };

	nnef_dat_header(buf, 0, 0, 32, 2, ext, 24);
	memcpy(buf + 128, out, 24);
	CHECK(nnef_dat_parse(&d, buf, sizeof buf, "t.dat", &e) == 0);
	CHECK_EQ_INT(d.item, NNEF_FLOAT);
	CHECK_EQ_INT(d.nitems, 6);
	CHECK(nnef_dat_to_f32(&d, v) == 0);
	CHECK(memcmp(v, out, sizeof v) == 0);
	/* the bytes the spec gives: magic, version, then LE fields */
	CHECK(buf[0] == 0x4e && buf[1] == 0xef && buf[2] == 1 && buf[3] == 0);
	CHECK(buf[4] == 24 && buf[8] == 2 && buf[12] == 2 && buf[16] == 3 && buf[44] == 32);
}

/* Each malformed header is named by its defect and must be refused. */
TEST(dat_malformed_refused)
{
	static const struct {
		const char *defect;
		int off;
		uint32_t val;
		int width;
	} cases[] = {
		{ "bad magic", 0, 0x4f, 1 },
		{ "version 2.0", 2, 2, 1 },
		{ "rank 9", 8, 9, 4 },
		{ "extent past rank", 12 + 4 * 3, 7, 4 },
		{ "data length too large", 4, 1000, 4 },
		{ "unknown code 6", 48, 6, 2 },
		{ "float with 8 bits", 44, 8, 4 },
		{ "unknown vendor", 50, 0x1234, 2 },
		{ "reserved byte set", 52, 1, 1 },
		{ "tract code with 32 bits", 48, NNEF_CODE_Q40 | (NNEF_VENDOR_TRACT << 16), 4 },
	};
	unsigned char good[128 + 24], bad[sizeof good];
	uint32_t ext[2] = { 2, 3 };
	struct nnef_dat d;
	struct qerr e;

	nnef_dat_header(good, 0, 0, 32, 2, ext, 24);
	memset(good + 128, 0, 24);
	CHECK(nnef_dat_parse(&d, good, sizeof good, "good.dat", &e) == 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		memcpy(bad, good, sizeof bad);
		for (int b = 0; b < cases[i].width; b++)
			bad[cases[i].off + b] = (cases[i].val >> (8 * b)) & 0xff;
		CHECKF(nnef_dat_parse(&d, bad, sizeof bad, "bad.dat", &e) < 0, "%s accepted",
		    cases[i].defect);
		CHECKF(strncmp(e.msg, "bad.dat: ", 9) == 0, "%s: message '%s'", cases[i].defect, e.msg);
	}
	CHECK(nnef_dat_parse(&d, good, 100, "short.dat", &e) < 0);
	CHECK(nnef_dat_parse(&d, good, sizeof good - 1, "cut.dat", &e) < 0);
}

/* Codes 0..15 at element i = i % 16, scale 1.0: the two orders differ in
 * where element 16 goes (high nibble of byte 0 vs low nibble of byte 8). */
TEST(q40_nibble_orders)
{
	uint8_t q[32];
	unsigned char b[18];
	float y[32];

	for (int i = 0; i < 32; i++)
		q[i] = (uint8_t)(i % 16);
	nnef_q40_pack(b, 0x3c00, q, 0);
	CHECK(b[0] == 0x00 && b[1] == 0x3c);
	CHECK(b[2] == 0x00 && b[3] == 0x11 && b[17] == 0xff);	/* q[j] | q[j+16] << 4 */
	nnef_q40_pack(b, 0x3c00, q, 1);
	CHECK(b[2] == 0x10 && b[3] == 0x32 && b[9] == 0xfe);	/* q[2j] | q[2j+1] << 4 */
	nnef_q40_decode(b, 1, y, 1);
	for (int i = 0; i < 32; i++)
		CHECK(y[i] == (float)(i % 16 - 8));
}

/* Min-max: every element within half a step, the extreme within a step. */
TEST(q40_minmax_error_bound)
{
	float x[32 * 64], y[32 * 64];
	unsigned char out[18 * 64];
	uint32_t s = 7;

	for (int i = 0; i < 32 * 64; i++) {
		s = s * 1103515245u + 12345u;
		x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (float)(1 + i / 32);
	}
	for (int i = 0; i < 32; i++)
		x[5 * 32 + i] = 0.0f;	/* an all-zero block */
	nnef_q40_quantize_minmax(x, 64, out, 0);
	nnef_q40_decode(out, 64, y, 0);
	for (int b = 0; b < 64; b++) {
		uint16_t dh = (uint16_t)(out[18 * b] | out[18 * b + 1] << 8);
		float d = fabsf(qu_f16_to_f32(dh));

		for (int i = 0; i < 32; i++)
			CHECKF(fabsf(x[32 * b + i] - y[32 * b + i]) <= d * 1.01f + 1e-7f,
			    "block %d elem %d: x %g y %g d %g", b, i, x[32 * b + i], y[32 * b + i], d);
	}
	/* -0/8 is -0: torch keeps the sign, so the scale is 0x8000 */
	CHECK(out[18 * 5] == 0 && out[18 * 5 + 1] == 0x80);
	for (int i = 2; i < 18; i++)
		CHECK(out[18 * 5 + i] == 0x88);
	/* mse never does worse than min-max, block by block */
	unsigned char m2[18 * 64];
	float z[32 * 64];

	nnef_q40_quantize_mse(x, 64, m2, 0);
	nnef_q40_decode(m2, 64, z, 0);
	for (int b = 0; b < 64; b++) {
		double e1 = 0, e2 = 0;

		for (int i = 0; i < 32; i++) {
			e1 += (x[32 * b + i] - y[32 * b + i]) * (x[32 * b + i] - y[32 * b + i]);
			e2 += (x[32 * b + i] - z[32 * b + i]) * (x[32 * b + i] - z[32 * b + i]);
		}
		CHECKF(e2 <= e1, "block %d: mse %g > minmax %g", b, e2, e1);
	}
}

static const char graph_text[] =
    "version 1.0;\n"
    "extension tract_registry tract_core;\n"
    "fragment f( x: tensor<scalar> ) -> ( y: tensor<scalar> ) { y = x; }\n"
    "graph g( input ) -> ( output )  # a comment with 'quotes' and (brackets\n"
    "{\n"
    "    input = tract_core_external(shape = [1, 64], datum_type = 'f32');\n"
    "    w = variable<scalar>(label = 'layer.0/w', shape = [32, 64]);\n"
    "    w2 = unsqueeze(w, axes = [0]);\n"
    "    y = linear(input, w2, 0.0);\n"
    "    [a, b] = split(y, axis = 1, ratios = [1, 1]);\n"
    "    i\"odd.name\" = add(a, b);\n"
    "    output = mul(i\"odd.name\", 2.0 * a);\n"
    "}\n";

TEST(graph_statements_and_consumers)
{
	struct nnef_graph g;
	struct qerr e;
	size_t cs[8], ca[8], n;

	CHECK(nnef_graph_parse(&g, graph_text, sizeof graph_text - 1, "graph.nnef", &e) == 0);
	CHECK_STR(g.name, "g");
	CHECK_EQ_INT(g.n_stmts, 7);
	CHECK_EQ_INT(g.n_vars, 1);
	if (g.n_vars == 1) {
		CHECK_STR(g.vars[0].label, "layer.0/w");
		CHECK_EQ_INT(g.vars[0].rank, 2);
		CHECK_EQ_INT(g.vars[0].shape[1], 64);
		CHECK_STR(g.stmts[g.vars[0].stmt].type_param, "scalar");
	}
	/* through unsqueeze, w is the filter (position 1) of linear */
	n = nnef_graph_consumers(&g, "w", cs, ca, 8);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR(g.stmts[cs[0]].op, "linear");
		CHECK_EQ_INT(ca[0], 1);
	}
	/* a used inside an expression is still seen */
	n = nnef_graph_consumers(&g, "a", cs, ca, 8);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(g.stmts[4].n_lhs, 2);
	nnef_graph_free(&g);
}

TEST(graph_malformed_refused)
{
	static const char *bad[] = {
		"graph g(x) -> (y) { y = x; }",			/* no version */
		"version 1.0; graph g(x) -> (y) { y = relu(x) }",	/* missing ; */
		"version 1.0; graph g(x) -> (y) { y = relu(x; }",	/* unbalanced */
		"version 1.0; graph g(x) -> (y) { y = 'unterminated; }",
		"version 1.0; graph g(x) -> (y) { w = variable(shape = [2]); }",	/* no label */
		"version 1.0; graph g(x) -> (y) { w = variable(label = 'w', shape = [-2]); }",
		"version 1.0; graph g(x) -> (y) { y = x;",		/* no closing brace */
		"version 1.0;",					/* no graph */
	};
	struct nnef_graph g;
	struct qerr e;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECKF(nnef_graph_parse(&g, bad[i], strlen(bad[i]), "graph.nnef", &e) < 0,
		    "accepted: %s", bad[i]);
}

TEST(quant_parse_and_format)
{
	static const char text[] =
	    "\"x_q\": zero_point_linear_quantize(zero_point = 119, scale = 0.025521328672766685,"
	    " bits = 8, signed = false, symmetric = false);\n"
	    "# comment\n"
	    "i\"a.b\": linear_quantize(min = -1.5, max = 2, bits = 8);\n";
	struct nnef_quant q;
	struct qerr e;
	char line[256];

	CHECK(nnef_quant_parse(&q, text, sizeof text - 1, "graph.quant", &e) == 0);
	CHECK_EQ_INT(q.n, 2);
	if (q.n == 2) {
		CHECK_STR(q.entries[0].tensor, "x_q");
		CHECK_EQ_INT(q.entries[0].zero_point, 119);
		CHECK(q.entries[0].scale == 0.025521328672766685);
		CHECK_STR(q.entries[1].tensor, "a.b");
		CHECK(q.entries[1].min == -1.5 && q.entries[1].max == 2.0);
		nnef_quant_format(&q.entries[0], line, sizeof line);
		CHECK_STR(line, "\"x_q\": zero_point_linear_quantize(zero_point = 119, "
		    "scale = 0.025521328672766685, bits = 8, signed = false, symmetric = false);\n");
		nnef_quant_format(&q.entries[1], line, sizeof line);
		CHECK(strncmp(line, "i\"a.b\": linear_quantize(", 24) == 0);
	}
	nnef_quant_free(&q);
	static const char *bad[] = {
		"\"a.b\": linear_quantize(min = 0, max = 1, bits = 8);",	/* dotted quoted key */
		"\"a\": logarithmic_quantize(max = 1, bits = 8);",		/* tract refuses */
		"\"a\": zero_point_linear_quantize(scale = 1, bits = 8, signed = true);",	/* no zp */
		"\"a\": zero_point_linear_quantize(zero_point = 0, scale = 1, bits = 4, signed = true);",
		"\"a\": linear_quantize(min = 0, max = 1, bits = 8); \"a\": linear_quantize(min = 0, max = 1, bits = 8);",
		"\"a\": linear_quantize(min = 0, max = 1, bits = 8)",	/* no ; */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECKF(nnef_quant_parse(&q, bad[i], strlen(bad[i]), "graph.quant", &e) < 0,
		    "accepted: %s", bad[i]);
	}
}

/* torch_to_nnef 0.20.1's own Q40 export of the same weights. */
TEST(t2n_q40_bytes_identical)
{
	static const char *labels[] = { "emb.weight", "lin1.weight", "conv.weight", "lin2.weight" };
	const char *f32 = t_fixture("nnef/t2n/small_f32.nnef.tgz");
	struct nnef_model mf, mq[2];
	struct qerr e;
	char path[4096];

	if (f32 == NULL) {
		t_skip("fixtures absent");
		return;
	}
	snprintf(path, sizeof path, "%s", f32);
	CHECK(nnef_model_open(&mf, path, &e) == 0);
	for (int legacy = 0; legacy < 2; legacy++) {
		const char *p = t_fixture(legacy ? "nnef/t2n/small_q40_legacy.nnef.tgz"
		    : "nnef/t2n/small_q40.nnef.tgz");
		CHECK(p && nnef_model_open(&mq[legacy], p, &e) == 0);
	}
	for (size_t i = 0; i < 4; i++) {
		char name[64];
		const struct nnef_entry *src;
		struct nnef_dat d;
		float *x;
		unsigned char *out;

		snprintf(name, sizeof name, "%s.dat", labels[i]);
		src = nnef_model_find(&mf, name);
		if (!CHECK(src && nnef_dat_parse(&d, src->data, src->size, name, &e) == 0))
			continue;
		x = malloc(d.nitems * sizeof *x);
		out = malloc(d.nitems / 32 * 18);
		nnef_dat_to_f32(&d, x);
		for (int legacy = 0; legacy < 2; legacy++) {
			const struct nnef_entry *ref = nnef_model_find(&mq[legacy], name);

			nnef_q40_quantize_minmax(x, d.nitems / 32, out, legacy);
			CHECKF(ref && ref->size == 128 + d.nitems / 32 * 18 &&
			    memcmp(ref->data + 128, out, d.nitems / 32 * 18) == 0,
			    "%s %s differs from torch_to_nnef", name, legacy ? "legacy" : "ggml");
		}
		free(x);
		free(out);
	}
	nnef_model_close(&mf);
	nnef_model_close(&mq[0]);
	nnef_model_close(&mq[1]);
}

/* ---- tract's conv-q40 cases: io.npz holds tract's own output ---- */

struct npy {
	char name[64];
	int rank;
	long shape[8];
	float *data;
	size_t n;
};

static int
parse_npy(struct npy *a, const unsigned char *b, size_t len)
{
	size_t hl, off;
	const char *h, *s;

	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0 || b[6] != 1)
		return -1;
	hl = b[8] | b[9] << 8;
	off = 10 + hl;
	if (off > len)
		return -1;
	h = (const char *)b + 10;
	if (strstr(h, "'<f4'") == NULL || strstr(h, "'fortran_order': False") == NULL)
		return -1;
	s = strstr(h, "'shape': (");
	if (s == NULL)
		return -1;
	s += 10;
	a->n = 1;
	a->rank = 0;
	while (*s != ')' && a->rank < 8) {
		a->shape[a->rank] = strtol(s, (char **)&s, 10);
		a->n *= (size_t)a->shape[a->rank++];
		while (*s == ',' || *s == ' ')
			s++;
	}
	if (off + a->n * 4 != len)
		return -1;
	a->data = malloc(a->n * 4);
	memcpy(a->data, b + off, a->n * 4);
	return 0;
}

static int
load_npz(const char *path, struct npy *arr, int max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int n = 0;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
		return -1;
	while (n < max && archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		size_t size = (size_t)archive_entry_size(ae);
		unsigned char *buf = malloc(size);

		if (archive_read_data(a, buf, size) != (la_ssize_t)size || parse_npy(&arr[n], buf, size)) {
			free(buf);
			break;
		}
		snprintf(arr[n].name, sizeof arr[n].name, "%s", archive_entry_pathname(ae));
		free(buf);
		n++;
	}
	archive_read_free(a);
	return n;
}

/* Plain convolution, no padding, stride 1, dilation 1: out[o][y][x] =
 * b[o] + sum over the group's input channels and kernel window. */
static void
conv_nd(const float *in, int ci, const int *sp, int nsp, const float *w, int co,
    const int *k, const float *bias, int groups, float *out, const int *osp)
{
	int cig = ci / groups, cog = co / groups;
	int oh = nsp == 2 ? osp[0] : 1, ow = osp[nsp - 1];
	int kh = nsp == 2 ? k[0] : 1, kw = k[nsp - 1];
	int ih = nsp == 2 ? sp[0] : 1, iw = sp[nsp - 1];

	for (int o = 0; o < co; o++) {
		int g = o / cog;

		for (int y = 0; y < oh; y++)
			for (int x = 0; x < ow; x++) {
				double acc = bias[o];

				for (int c = 0; c < cig; c++)
					for (int ky = 0; ky < kh; ky++)
						for (int kx = 0; kx < kw; kx++)
							acc += (double)in[((g * cig + c) * ih + y + ky) * iw + x + kx] *
							    w[((o * cig + c) * kh + ky) * kw + kx];
				out[(o * oh + y) * ow + x] = (float)acc;
			}
	}
}

static void
tract_conv_case(const char *dir, int groups)
{
	char path[4096], npz[4096];
	const char *base = t_fixture(dir);
	struct nnef_model m;
	struct nnef_dat wd, bd;
	struct npy arr[2];
	struct qerr e;
	const struct nnef_entry *we, *be;
	int sp[2], osp[2], k[2], nsp;

	if (base == NULL) {
		t_skip("fixtures absent");
		return;
	}
	snprintf(path, sizeof path, "%s/model.nnef.tgz", base);
	snprintf(npz, sizeof npz, "%s/io.npz", base);
	if (!CHECK(nnef_model_open(&m, path, &e) == 0))
		return;
	we = nnef_model_find(&m, "weight.dat");
	be = nnef_model_find(&m, "bias.dat");
	if (!CHECK(we && be && nnef_dat_parse(&wd, we->data, we->size, "weight.dat", &e) == 0 &&
	    nnef_dat_parse(&bd, be->data, be->size, "bias.dat", &e) == 0) ||
	    !CHECK(load_npz(npz, arr, 2) == 2)) {
		nnef_model_close(&m);
		return;
	}
	CHECK_EQ_INT(wd.item, NNEF_Q40_LEGACY);
	struct npy *in = strcmp(arr[0].name, "input_0.npy") == 0 ? &arr[0] : &arr[1];
	struct npy *want = in == &arr[0] ? &arr[1] : &arr[0];
	float *w = malloc(wd.nitems * 4), *b = malloc(bd.nitems * 4), *got = malloc(want->n * 4);

	nnef_dat_to_f32(&wd, w);
	nnef_dat_to_f32(&bd, b);
	nsp = in->rank - 2;
	for (int i = 0; i < nsp; i++) {
		sp[i] = (int)in->shape[2 + i];
		osp[i] = (int)want->shape[2 + i];
		k[i] = (int)wd.extents[2 + i];
	}
	conv_nd(in->data, (int)in->shape[1], sp, nsp, w, (int)wd.extents[0], k, b, groups, got, osp);
	double maxref = 0, maxerr = 0;
	for (size_t i = 0; i < want->n; i++) {
		maxref = fmax(maxref, fabs(want->data[i]));
		maxerr = fmax(maxerr, fabs(want->data[i] - got[i]));
	}
	/* tract accumulates in f32 on outputs up to ~1e9: 1e-5 of the largest */
	CHECKF(maxerr <= 1e-5 * maxref, "%s: max error %g relative to %g", dir, maxerr, maxref);
	double right = maxerr;
	printf("# %s: tract output reproduced to %.2g relative\n", dir, maxerr / maxref);
	/* the other nibble order must NOT reproduce tract: the test can fail */
	wd.item = NNEF_Q40;
	nnef_dat_to_f32(&wd, w);
	conv_nd(in->data, (int)in->shape[1], sp, nsp, w, (int)wd.extents[0], k, b, groups, got, osp);
	maxerr = 0;
	for (size_t i = 0; i < want->n; i++)
		maxerr = fmax(maxerr, fabs(want->data[i] - got[i]));
	/* the wrong nibble order must do clearly worse: the test can fail */
	CHECKF(maxerr > 4 * right, "%s: GGML order as close as legacy (%g vs %g)", dir, maxerr, right);
	printf("# %s: with the other nibble order: %.2g relative\n", dir, maxerr / maxref);
	free(w);
	free(b);
	free(got);
	free(arr[0].data);
	free(arr[1].data);
	nnef_model_close(&m);
}

TEST(tract_conv_q40_conv2d) { tract_conv_case("nnef/tract-conv-q40-conv2d", 1); }
TEST(tract_conv_q40_kernel3) { tract_conv_case("nnef/tract-conv-q40-kernel3", 1); }
TEST(tract_conv_q40_groups2) { tract_conv_case("nnef/tract-conv-q40-groups2", 2); }

int
main(void)
{
	RUN(dat_header_roundtrip);
	RUN(dat_malformed_refused);
	RUN(q40_nibble_orders);
	RUN(q40_minmax_error_bound);
	RUN(graph_statements_and_consumers);
	RUN(graph_malformed_refused);
	RUN(quant_parse_and_format);
	RUN(t2n_q40_bytes_identical);
	RUN(tract_conv_q40_conv2d);
	RUN(tract_conv_q40_kernel3);
	RUN(tract_conv_q40_groups2);
	return t_done();
}
