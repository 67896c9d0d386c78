/* onnx: see onnx.h.  Facts: spec/onnx.md §1 (fields), §2 (external data). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "onnx.h"

#define MAX_NESTING 48			/* protobuf message depth (graphs in graphs) */
#define MAX_ELEMENTS (UINT64_C(1) << 60)	/* no tensor is bigger; keeps byte math in range */
#define EXT_ALIGN 4096

static const struct { const char *name; int bits; } dt_table[ONNX_DT_COUNT] = {
	[ONNX_UNDEFINED] = {"UNDEFINED", 0}, [ONNX_FLOAT] = {"FLOAT", 32},
	[ONNX_UINT8] = {"UINT8", 8}, [ONNX_INT8] = {"INT8", 8},
	[ONNX_UINT16] = {"UINT16", 16}, [ONNX_INT16] = {"INT16", 16},
	[ONNX_INT32] = {"INT32", 32}, [ONNX_INT64] = {"INT64", 64},
	[ONNX_STRING] = {"STRING", 0}, [ONNX_BOOL] = {"BOOL", 8},
	[ONNX_FLOAT16] = {"FLOAT16", 16}, [ONNX_DOUBLE] = {"DOUBLE", 64},
	[ONNX_UINT32] = {"UINT32", 32}, [ONNX_UINT64] = {"UINT64", 64},
	[ONNX_COMPLEX64] = {"COMPLEX64", 64}, [ONNX_COMPLEX128] = {"COMPLEX128", 128},
	[ONNX_BFLOAT16] = {"BFLOAT16", 16}, [ONNX_FLOAT8E4M3FN] = {"FLOAT8E4M3FN", 8},
	[ONNX_FLOAT8E4M3FNUZ] = {"FLOAT8E4M3FNUZ", 8}, [ONNX_FLOAT8E5M2] = {"FLOAT8E5M2", 8},
	[ONNX_FLOAT8E5M2FNUZ] = {"FLOAT8E5M2FNUZ", 8}, [ONNX_UINT4] = {"UINT4", 4},
	[ONNX_INT4] = {"INT4", 4}, [ONNX_FLOAT4E2M1] = {"FLOAT4E2M1", 4},
	[ONNX_FLOAT8E8M0] = {"FLOAT8E8M0", 8}, [ONNX_UINT2] = {"UINT2", 2},
	[ONNX_INT2] = {"INT2", 2},
};

const char *
onnx_dt_name(int dt)
{
	return dt >= 0 && dt < ONNX_DT_COUNT ? dt_table[dt].name : "UNKNOWN";
}

int
onnx_dt_bits(int dt)
{
	return dt >= 0 && dt < ONNX_DT_COUNT ? dt_table[dt].bits : 0;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

/* ---- wire pre-scan: depth and truncation, before protobuf-c allocates ---- */

static int
read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	int shift;

	for (shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 0);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static int
wire_scan(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *d,
    int depth, const uint8_t *start, struct qerr *e)
{
	if (depth > MAX_NESTING)
		return qerr_set(e, "byte %td: messages nested deeper than %d", p - start, MAX_NESTING);
	while (p < end) {
		const uint8_t *at = p;
		uint64_t key, len;
		const ProtobufCFieldDescriptor *f;

		if (read_varint(&p, end, &key) < 0)
			return qerr_set(e, "byte %td: truncated field key", at - start);
		if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
			return qerr_set(e, "byte %td: invalid field number", at - start);
		switch (key & 7) {
		case 0:
			if (read_varint(&p, end, &len) < 0)
				return qerr_set(e, "byte %td: truncated varint", at - start);
			break;
		case 1:
			if (end - p < 8)
				return qerr_set(e, "byte %td: truncated 64-bit field", at - start);
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return qerr_set(e, "byte %td: truncated 32-bit field", at - start);
			p += 4;
			break;
		case 2:
			if (read_varint(&p, end, &len) < 0)
				return qerr_set(e, "byte %td: truncated length", at - start);
			if (len > (uint64_t)(end - p))
				return qerr_set(e, "byte %td: field %" PRIu64 " declares %" PRIu64
				    " bytes, only %td left (truncated?)", at - start, key >> 3, len, end - p);
			f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    wire_scan(p, p + len, f->descriptor, depth + 1, start, e) < 0)
				return -1;
			p += len;
			break;
		default:
			return qerr_set(e, "byte %td: unsupported wire type %u", at - start,
			    (unsigned)(key & 7));
		}
	}
	return 0;
}

/* ---- name scopes: a small string set per graph, chained outward ---- */

struct scope {
	const char **slot;
	size_t cap, n;
	const struct scope *outer;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void
scope_add(struct scope *sc, const char *name)
{
	size_t i;

	if (name == NULL || *name == 0)
		return;
	if (2 * (sc->n + 1) > sc->cap) {
		struct scope bigger = {0};

		bigger.cap = sc->cap ? 2 * sc->cap : 64;
		bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
		if (bigger.slot == NULL)
			abort();
		for (i = 0; i < sc->cap; i++)
			if (sc->slot[i])
				scope_add(&bigger, sc->slot[i]);
		free(sc->slot);
		sc->slot = bigger.slot;
		sc->cap = bigger.cap;
	}
	for (i = hash_str(name) & (sc->cap - 1); sc->slot[i]; i = (i + 1) & (sc->cap - 1))
		if (strcmp(sc->slot[i], name) == 0)
			return;
	sc->slot[i] = name;
	sc->n++;
}

static int
scope_has(const struct scope *sc, const char *name)
{
	for (; sc; sc = sc->outer) {
		size_t i;

		if (sc->cap == 0)
			continue;
		for (i = hash_str(name) & (sc->cap - 1); sc->slot[i]; i = (i + 1) & (sc->cap - 1))
			if (strcmp(sc->slot[i], name) == 0)
				return 1;
	}
	return 0;
}

/* ---- tensors ---- */

int
onnx_tensor_nelem(const Onnx__TensorProto *t, uint64_t *n, struct qerr *e)
{
	uint64_t count = 1;
	size_t i;

	for (i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0)
			return qerr_set(e, "tensor '%s': negative dimension %" PRId64,
			    t->name ? t->name : "", t->dims[i]);
		if (t->dims[i] != 0 && count > MAX_ELEMENTS / (uint64_t)t->dims[i])
			return qerr_set(e, "tensor '%s': declared size too large",
			    t->name ? t->name : "");
		count *= (uint64_t)t->dims[i];
	}
	*n = count;
	return 0;
}

int
onnx_tensor_is_external(const Onnx__TensorProto *t)
{
	return t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

static uint64_t
packed_bytes(int dt, uint64_t n)
{
	return (n * (uint64_t)onnx_dt_bits(dt) + 7) / 8;
}

static const char *
tname(const Onnx__TensorProto *t)
{
	return t->name ? t->name : "";
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* A location must stay inside the model's folder. */
static int
location_ok(const char *loc)
{
	const char *p = loc;

	if (*loc == 0 || *loc == '/' || *loc == '\\' || strchr(loc, ':'))
		return 0;
	while (*p) {
		size_t k = strcspn(p, "/\\");

		if (k == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += k;
		if (*p)
			p++;
	}
	return 1;
}

static struct qmap *
ext_open(struct onnx_model *m, const char *loc, struct qerr *e)
{
	size_t i;
	char *path;
	struct onnx_extfile *x;

	for (i = 0; i < m->n_ext; i++)
		if (strcmp(m->ext[i].location, loc) == 0)
			return &m->ext[i].map;
	path = xmalloc(strlen(m->dir) + strlen(loc) + 2);
	sprintf(path, "%s/%s", m->dir, loc);
	m->ext = xrealloc(m->ext, (m->n_ext + 1) * sizeof *m->ext);
	x = &m->ext[m->n_ext];
	if (qmap_open(&x->map, path, e) < 0) {
		free(path);
		return NULL;
	}
	free(path);
	x->location = xstrdup(loc);
	m->n_ext++;
	return &x->map;
}

/* Where an external tensor's bytes are; checks every entry. */
static int
ext_locate(struct onnx_model *m, const Onnx__TensorProto *t, uint64_t need,
    const unsigned char **data, struct qerr *e)
{
	const char *loc = NULL;
	uint64_t off = 0, len = need, v;
	int have_len = 0;
	size_t i;
	struct qmap *map;

	for (i = 0; i < t->n_external_data; i++) {
		const char *k = t->external_data[i]->key, *val = t->external_data[i]->value;

		if (k == NULL || val == NULL)
			continue;
		if (strcmp(k, "location") == 0)
			loc = val;
		else if (strcmp(k, "offset") == 0 || strcmp(k, "length") == 0) {
			if (parse_u64(val, &v) < 0)
				return qerr_set(e, "tensor '%s': external data %s '%s' is not a number",
				    tname(t), k, val);
			if (k[0] == 'o')
				off = v;
			else
				len = v, have_len = 1;
		}
	}
	if (loc == NULL)
		return qerr_set(e, "tensor '%s': external data without a location", tname(t));
	if (!location_ok(loc))
		return qerr_set(e, "tensor '%s': external data location '%s' leaves the model's folder",
		    tname(t), loc);
	if (have_len && len != need)
		return qerr_set(e, "tensor '%s': external data length %" PRIu64 ", dims need %" PRIu64,
		    tname(t), len, need);
	if ((map = ext_open(m, loc, e)) == NULL)
		return qerr_prefix(e, "tensor '%s': external data", tname(t));
	if (off > map->size || need > map->size - off)
		return qerr_set(e, "tensor '%s': external data [%" PRIu64 ", +%" PRIu64
		    ") is past the end of '%s' (%zu bytes)", tname(t), off, need, loc, map->size);
	*data = map->data + off;
	return 0;
}

/* How many typed-field values a tensor of n elements has, and which field. */
static int
typed_count(const Onnx__TensorProto *t, uint64_t n, uint64_t *want, size_t *have)
{
	int dt = t->data_type;

	switch (dt) {
	case ONNX_FLOAT: *want = n; *have = t->n_float_data; return 0;
	case ONNX_COMPLEX64: *want = 2 * n; *have = t->n_float_data; return 0;
	case ONNX_DOUBLE: *want = n; *have = t->n_double_data; return 0;
	case ONNX_COMPLEX128: *want = 2 * n; *have = t->n_double_data; return 0;
	case ONNX_INT64: *want = n; *have = t->n_int64_data; return 0;
	case ONNX_UINT32: case ONNX_UINT64: *want = n; *have = t->n_uint64_data; return 0;
	case ONNX_STRING: *want = n; *have = t->n_string_data; return 0;
	default:
		if (onnx_dt_bits(dt) == 0)
			return -1;
		/* int32_data: one element per int32, 4-bit two, 2-bit four */
		*want = onnx_dt_bits(dt) >= 8 ? n : packed_bytes(dt, n);
		*have = t->n_int32_data;
		return 0;
	}
}

static int
check_tensor(struct onnx_model *m, const Onnx__TensorProto *t, struct qerr *e)
{
	uint64_t n, want, need;
	size_t have;
	const unsigned char *d;

	if (onnx_tensor_nelem(t, &n, e) < 0)
		return -1;
	if (!t->has_data_type || t->data_type <= 0 || t->data_type >= ONNX_DT_COUNT)
		return t->has_data_type && t->data_type >= ONNX_DT_COUNT ? 0 :	/* newer type: keep as is */
		    qerr_set(e, "tensor '%s': no data type", tname(t));
	if (t->segment)
		return qerr_set(e, "tensor '%s': segmented tensors are not supported", tname(t));
	need = packed_bytes(t->data_type, n);
	if (onnx_tensor_is_external(t)) {
		if (t->data_type == ONNX_STRING)
			return qerr_set(e, "tensor '%s': STRING tensor in external data", tname(t));
		return ext_locate(m, t, need, &d, e);
	}
	if (t->has_raw_data) {
		if (t->data_type == ONNX_STRING)
			return qerr_set(e, "tensor '%s': STRING tensor with raw_data", tname(t));
		if (t->raw_data.len != need)
			return qerr_set(e, "tensor '%s': raw_data has %zu bytes, its dims and type (%s) need %" PRIu64,
			    tname(t), t->raw_data.len, onnx_dt_name(t->data_type), need);
		return 0;
	}
	if (typed_count(t, n, &want, &have) < 0)
		return qerr_set(e, "tensor '%s': data type %d has no typed field", tname(t), t->data_type);
	if (have != want)
		return qerr_set(e, "tensor '%s': %zu values stored, dims need %" PRIu64,
		    tname(t), have, want);
	return 0;
}

static int check_graph(struct onnx_model *m, const Onnx__GraphProto *g, const struct scope *outer,
    struct qerr *e);

static int
check_node(struct onnx_model *m, const Onnx__NodeProto *nd, const struct scope *sc, struct qerr *e)
{
	size_t i, j;

	for (i = 0; i < nd->n_attribute; i++) {
		const Onnx__AttributeProto *a = nd->attribute[i];

		if (a->t && check_tensor(m, a->t, e) < 0)
			goto fail;
		for (j = 0; j < a->n_tensors; j++)
			if (check_tensor(m, a->tensors[j], e) < 0)
				goto fail;
		if (a->g && check_graph(m, a->g, sc, e) < 0)
			goto fail;
		for (j = 0; j < a->n_graphs; j++)
			if (check_graph(m, a->graphs[j], sc, e) < 0)
				goto fail;
	}
	return 0;
fail:
	return qerr_prefix(e, "node '%s' (%s)", nd->name ? nd->name : "", nd->op_type ? nd->op_type : "");
}

static int
check_graph(struct onnx_model *m, const Onnx__GraphProto *g, const struct scope *outer,
    struct qerr *e)
{
	struct scope sc = {.outer = outer};
	size_t i, j;
	int rc = -1;

	for (i = 0; i < g->n_input; i++)
		scope_add(&sc, g->input[i]->name);
	for (i = 0; i < g->n_initializer; i++) {
		if (check_tensor(m, g->initializer[i], e) < 0)
			goto out;
		scope_add(&sc, g->initializer[i]->name);
	}
	for (i = 0; i < g->n_sparse_initializer; i++)
		if (g->sparse_initializer[i]->values)
			scope_add(&sc, g->sparse_initializer[i]->values->name);
	for (i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *nd = g->node[i];

		for (j = 0; j < nd->n_input; j++)
			if (nd->input[j] && nd->input[j][0] && !scope_has(&sc, nd->input[j])) {
				qerr_set(e, "node '%s' (%s): input '%s' is not defined before it"
				    " (a cycle, an unsorted graph or a dangling name)",
				    nd->name ? nd->name : "", nd->op_type ? nd->op_type : "", nd->input[j]);
				goto out;
			}
		if (check_node(m, nd, &sc, e) < 0)
			goto out;
		for (j = 0; j < nd->n_output; j++)
			scope_add(&sc, nd->output[j]);
	}
	for (i = 0; i < g->n_output; i++)
		if (g->output[i]->name && g->output[i]->name[0] && !scope_has(&sc, g->output[i]->name)) {
			qerr_set(e, "graph output '%s' is never computed", g->output[i]->name);
			goto out;
		}
	rc = 0;
out:
	free(sc.slot);
	return rc;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d;

	if (strcmp(path, "-") == 0 || slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	d = xmalloc((size_t)(slash - path) + 1);
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = 0;
	return d;
}

int
onnx_load_mem(struct onnx_model *m, const void *data, size_t len, const char *name,
    const char *dir, struct qerr *e)
{
	memset(m, 0, sizeof *m);
	m->path = xstrdup(name);
	m->dir = xstrdup(dir);
	m->file_size = len;
	if (len > INT32_MAX) {
		qerr_set(e, "%s: %zu bytes: a protobuf message must stay below 2 GiB", name, len);
		goto fail;
	}
	if (wire_scan(data, (const uint8_t *)data + len, &onnx__model_proto__descriptor, 0,
	    data, e) < 0) {
		qerr_prefix(e, "%s: not a valid ONNX protobuf", name);
		goto fail;
	}
	m->proto = onnx__model_proto__unpack(NULL, len, data);
	if (m->proto == NULL) {
		qerr_set(e, "%s: not a valid ONNX protobuf (protobuf-c could not decode it)", name);
		goto fail;
	}
	if (m->proto->graph == NULL) {
		qerr_set(e, "%s: no graph (is this an ONNX model?)", name);
		goto fail;
	}
	if (check_graph(m, m->proto->graph, NULL, e) < 0) {
		qerr_prefix(e, "%s", name);
		goto fail;
	}
	return 0;
fail:
	onnx_free(m);
	return -1;
}

int
onnx_load(struct onnx_model *m, const char *path, struct qerr *e)
{
	struct qmap map;
	char *dir;
	int rc;

	if (qmap_open(&map, path, e) < 0)
		return -1;
	dir = dir_of(path);
	rc = onnx_load_mem(m, map.data, map.size, strcmp(path, "-") ? path : "(stdin)", dir, e);
	free(dir);
	qmap_close(&map);
	return rc;
}

void
onnx_free(struct onnx_model *m)
{
	size_t i;

	if (m->proto)
		onnx__model_proto__free_unpacked(m->proto, NULL);
	for (i = 0; i < m->n_ext; i++) {
		qmap_close(&m->ext[i].map);
		free(m->ext[i].location);
	}
	free(m->ext);
	free(m->path);
	free(m->dir);
	memset(m, 0, sizeof *m);
}

int
onnx_tensor_bytes(struct onnx_model *m, const Onnx__TensorProto *t,
    const unsigned char **data, size_t *len, void **owned, struct qerr *e)
{
	uint64_t n, need, i;
	int dt = t->data_type, bits = onnx_dt_bits(dt);
	unsigned char *b;

	*owned = NULL;
	if (check_tensor(m, t, e) < 0)
		return -1;
	if (bits == 0)
		return qerr_set(e, "tensor '%s': %s has no fixed-width encoding", tname(t), onnx_dt_name(dt));
	onnx_tensor_nelem(t, &n, e);
	need = packed_bytes(dt, n);
	if (need > SIZE_MAX)
		return qerr_set(e, "tensor '%s': too large for this machine", tname(t));
	*len = (size_t)need;
	if (onnx_tensor_is_external(t))
		return ext_locate(m, t, need, data, e);
	if (t->has_raw_data) {
		*data = t->raw_data.data;
		return 0;
	}
	b = malloc(need ? (size_t)need : 1);
	if (b == NULL)
		return qerr_set(e, "tensor '%s': out of memory (%" PRIu64 " bytes)", tname(t), need);
	switch (need ? dt : ONNX_UNDEFINED) {	/* little-endian host: typed arrays are the raw bytes */
	case ONNX_UNDEFINED: break;		/* empty tensor: the arrays may be NULL */
	case ONNX_FLOAT: case ONNX_COMPLEX64: memcpy(b, t->float_data, need); break;
	case ONNX_DOUBLE: case ONNX_COMPLEX128: memcpy(b, t->double_data, need); break;
	case ONNX_INT64: memcpy(b, t->int64_data, need); break;
	case ONNX_UINT64: memcpy(b, t->uint64_data, need); break;
	case ONNX_UINT32:
		for (i = 0; i < n; i++) {
			uint32_t v = (uint32_t)t->uint64_data[i];
			memcpy(b + 4 * i, &v, 4);
		}
		break;
	case ONNX_INT32: memcpy(b, t->int32_data, need); break;
	default:
		if (bits == 16)
			for (i = 0; i < n; i++) {
				uint16_t v = (uint16_t)t->int32_data[i];
				memcpy(b + 2 * i, &v, 2);
			}
		else	/* 8-bit: one per int32; 4/2-bit: one packed byte per int32 */
			for (i = 0; i < need; i++)
				b[i] = (unsigned char)t->int32_data[i];
	}
	*data = b;
	*owned = b;
	return 0;
}

float *
onnx_tensor_f32(struct onnx_model *m, const Onnx__TensorProto *t, uint64_t *n, struct qerr *e)
{
	const unsigned char *d;
	size_t len, i;
	void *owned;
	float *f;

	if (t->data_type != ONNX_FLOAT && t->data_type != ONNX_FLOAT16 &&
	    t->data_type != ONNX_BFLOAT16 && t->data_type != ONNX_DOUBLE) {
		qerr_set(e, "tensor '%s': %s is not a float type", tname(t), onnx_dt_name(t->data_type));
		return NULL;
	}
	if (onnx_tensor_bytes(m, t, &d, &len, &owned, e) < 0)
		return NULL;
	*n = len * 8 / (size_t)onnx_dt_bits(t->data_type);
	f = malloc(*n ? *n * sizeof *f : 1);
	if (f == NULL) {
		free(owned);
		qerr_set(e, "tensor '%s': out of memory", tname(t));
		return NULL;
	}
	if (t->data_type == ONNX_FLOAT)	/* little-endian host: the bytes are the floats */
		memcpy(f, d, *n * sizeof *f);
	for (i = 0; t->data_type != ONNX_FLOAT && i < *n; i++) {
		uint16_t h;
		double x;

		switch (t->data_type) {
		case ONNX_FLOAT: memcpy(&f[i], d + 4 * i, 4); break;
		case ONNX_FLOAT16: memcpy(&h, d + 2 * i, 2); f[i] = qu_f16_to_f32(h); break;
		case ONNX_BFLOAT16: memcpy(&h, d + 2 * i, 2); f[i] = qu_bf16_to_f32(h); break;
		default: memcpy(&x, d + 8 * i, 8); f[i] = (float)x; break;
		}
	}
	free(owned);
	return f;
}

void
onnx_tensor_dontneed(struct onnx_model *m, const Onnx__TensorProto *t)
{
	const unsigned char *d;
	uint64_t n;
	size_t i;
	struct qerr e;

	if (!onnx_tensor_is_external(t) || onnx_tensor_nelem(t, &n, &e) < 0 ||
	    ext_locate(m, t, packed_bytes(t->data_type, n), &d, &e) < 0)
		return;
	for (i = 0; i < m->n_ext; i++)
		if (d >= m->ext[i].map.data && d < m->ext[i].map.data + m->ext[i].map.size)
			qmap_dontneed(&m->ext[i].map, (size_t)(d - m->ext[i].map.data),
			    (size_t)packed_bytes(t->data_type, n));
}

/* ---- building ---- */

void
onnx_set_string(char **field, const char *s)
{
	free(*field);
	*field = xstrdup(s);
}

Onnx__TensorProto *
onnx_new_tensor(const char *name, int dt, const int64_t *dims, int ndims, const void *raw,
    size_t rawlen)
{
	Onnx__TensorProto *t = xmalloc(sizeof *t);

	onnx__tensor_proto__init(t);
	t->name = xstrdup(name);
	t->has_data_type = 1;
	t->data_type = dt;
	t->n_dims = (size_t)ndims;
	t->dims = xmalloc((size_t)ndims * sizeof *t->dims);
	if (ndims)
		memcpy(t->dims, dims, (size_t)ndims * sizeof *dims);
	t->has_raw_data = 1;
	t->raw_data.len = rawlen;
	t->raw_data.data = xmalloc(rawlen);
	if (rawlen)
		memcpy(t->raw_data.data, raw, rawlen);
	return t;
}

static char **
strv(const char *const *s, int n)
{
	char **v = xmalloc((size_t)n * sizeof *v);
	int i;

	for (i = 0; i < n; i++)
		v[i] = xstrdup(s[i]);
	return v;
}

Onnx__NodeProto *
onnx_new_node(const char *op, const char *domain, const char *name,
    const char *const *in, int nin, const char *const *out, int nout)
{
	Onnx__NodeProto *n = xmalloc(sizeof *n);

	onnx__node_proto__init(n);
	n->op_type = xstrdup(op);
	if (domain && *domain)
		n->domain = xstrdup(domain);
	n->name = xstrdup(name);
	n->n_input = (size_t)nin;
	n->input = strv(in, nin);
	n->n_output = (size_t)nout;
	n->output = strv(out, nout);
	return n;
}

static Onnx__AttributeProto *
add_attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = xmalloc(sizeof *a);

	onnx__attribute_proto__init(a);
	a->name = xstrdup(name);
	a->has_type = 1;
	a->type = type;
	n->attribute = xrealloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
	n->attribute[n->n_attribute++] = a;
	return a;
}

void
onnx_node_add_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

	a->has_i = 1;
	a->i = v;
}

void
onnx_node_add_float(Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

	a->has_f = 1;
	a->f = v;
}

const Onnx__AttributeProto *
onnx_node_attr(const Onnx__NodeProto *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
			return n->attribute[i];
	return NULL;
}

int64_t
onnx_node_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
	const Onnx__AttributeProto *a = onnx_node_attr(n, name);

	return a && a->has_i ? a->i : dflt;
}

float
onnx_node_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
	const Onnx__AttributeProto *a = onnx_node_attr(n, name);

	return a && a->has_f ? a->f : dflt;
}

void
onnx_graph_add_node(Onnx__GraphProto *g, Onnx__NodeProto *n, size_t at)
{
	if (at > g->n_node)
		at = g->n_node;
	g->node = xrealloc(g->node, (g->n_node + 1) * sizeof *g->node);
	memmove(g->node + at + 1, g->node + at, (g->n_node - at) * sizeof *g->node);
	g->node[at] = n;
	g->n_node++;
}

void
onnx_graph_add_initializer(Onnx__GraphProto *g, Onnx__TensorProto *t)
{
	g->initializer = xrealloc(g->initializer, (g->n_initializer + 1) * sizeof *g->initializer);
	g->initializer[g->n_initializer++] = t;
}

void
onnx_graph_remove_initializer(Onnx__GraphProto *g, const char *name)
{
	size_t i, k;

	for (i = k = 0; i < g->n_initializer; i++)
		if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0)
			protobuf_c_message_free_unpacked(&g->initializer[i]->base, NULL);
		else
			g->initializer[k++] = g->initializer[i];
	g->n_initializer = k;
	for (i = k = 0; i < g->n_input; i++)
		if (g->input[i]->name && strcmp(g->input[i]->name, name) == 0)
			protobuf_c_message_free_unpacked(&g->input[i]->base, NULL);
		else
			g->input[k++] = g->input[i];
	g->n_input = k;
}

static int
is_default_domain(const char *d)
{
	return d == NULL || *d == 0 || strcmp(d, "ai.onnx") == 0;
}

int64_t
onnx_opset(const Onnx__ModelProto *mp, const char *domain)
{
	size_t i;

	for (i = 0; i < mp->n_opset_import; i++) {
		const char *d = mp->opset_import[i]->domain;

		if (is_default_domain(domain) ? is_default_domain(d) : d && strcmp(d, domain) == 0)
			return mp->opset_import[i]->version;
	}
	return 0;
}

void
onnx_set_opset(Onnx__ModelProto *mp, const char *domain, int64_t version)
{
	size_t i;
	Onnx__OperatorSetIdProto *o;

	for (i = 0; i < mp->n_opset_import; i++) {
		const char *d = mp->opset_import[i]->domain;

		if (is_default_domain(domain) ? is_default_domain(d) : d && strcmp(d, domain) == 0) {
			mp->opset_import[i]->has_version = 1;
			mp->opset_import[i]->version = version;
			return;
		}
	}
	o = xmalloc(sizeof *o);
	onnx__operator_set_id_proto__init(o);
	o->domain = xstrdup(domain ? domain : "");
	o->has_version = 1;
	o->version = version;
	mp->opset_import = xrealloc(mp->opset_import, (mp->n_opset_import + 1) * sizeof *mp->opset_import);
	mp->opset_import[mp->n_opset_import++] = o;
}

uint64_t
onnx_packed_size(const Onnx__ModelProto *mp)
{
	return onnx__model_proto__get_packed_size(mp);
}

/* ---- writing ---- */

void
onnx_extw_init(struct onnx_extw *w, FILE *f, const char *location, uint64_t threshold)
{
	memset(w, 0, sizeof *w);
	w->f = f;
	w->location = xstrdup(location);
	w->threshold = threshold;
}

void
onnx_extw_free(struct onnx_extw *w)
{
	free(w->location);
	free(w->written);
	memset(w, 0, sizeof *w);
}

static Onnx__StringStringEntryProto *
entry(const char *k, const char *v)
{
	Onnx__StringStringEntryProto *s = xmalloc(sizeof *s);

	onnx__string_string_entry_proto__init(s);
	s->key = xstrdup(k);
	s->value = xstrdup(v);
	return s;
}

int
onnx_extw_put(struct onnx_extw *w, Onnx__TensorProto *t, const void *bytes, size_t len,
    struct qerr *e)
{
	static const unsigned char zeros[EXT_ALIGN];
	uint64_t pad = (EXT_ALIGN - w->off % EXT_ALIGN) % EXT_ALIGN;
	char num[32];
	size_t i;

	if ((pad && fwrite(zeros, 1, pad, w->f) != pad) ||
	    (len && fwrite(bytes, 1, len, w->f) != len))
		return qerr_set(e, "%s: write error: %s", w->location, strerror(errno));
	w->off += pad;
	for (i = 0; i < t->n_external_data; i++)
		protobuf_c_message_free_unpacked(&t->external_data[i]->base, NULL);
	t->external_data = xrealloc(t->external_data, 3 * sizeof *t->external_data);
	t->external_data[0] = entry("location", w->location);
	snprintf(num, sizeof num, "%" PRIu64, w->off);
	t->external_data[1] = entry("offset", num);
	snprintf(num, sizeof num, "%zu", len);
	t->external_data[2] = entry("length", num);
	t->n_external_data = 3;
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	w->off += len;
	if (t->has_raw_data) {
		free(t->raw_data.data);
		t->raw_data.data = NULL;
		t->raw_data.len = 0;
		t->has_raw_data = 0;
	}
	if (w->n_written == w->cap_written) {
		w->cap_written = w->cap_written ? 2 * w->cap_written : 64;
		w->written = xrealloc(w->written, w->cap_written * sizeof *w->written);
	}
	w->written[w->n_written++] = t;
	return 0;
}

static int
was_written(const struct onnx_extw *w, const void *t)
{
	size_t i;

	for (i = 0; i < w->n_written; i++)
		if (w->written[i] == t)
			return 1;
	return 0;
}

static int
place_tensor(struct onnx_model *m, Onnx__TensorProto *t, struct onnx_extw *w, struct qerr *e)
{
	const unsigned char *d;
	size_t len;
	void *owned;
	int rc;

	if (w && was_written(w, t))
		return 0;
	if (onnx_tensor_is_external(t)) {
		if (w == NULL)
			return qerr_set(e, "tensor '%s' is stored in external data: the output needs"
			    " external data too (--external-data)", tname(t));
		if (onnx_tensor_bytes(m, t, &d, &len, &owned, e) < 0)
			return -1;
		rc = onnx_extw_put(w, t, d, len, e);
		free(owned);
		if (rc == 0)
			onnx_tensor_dontneed(m, t);
		return rc;
	}
	if (w && t->has_raw_data && t->raw_data.len >= w->threshold && t->raw_data.len > 0) {
		void *raw = t->raw_data.data;

		/* put frees raw_data only after writing it */
		return onnx_extw_put(w, t, raw, t->raw_data.len, e);
	}
	return 0;
}

static int
place_graph(struct onnx_model *m, Onnx__GraphProto *g, struct onnx_extw *w, struct qerr *e)
{
	size_t i, j, k;

	for (i = 0; i < g->n_initializer; i++)
		if (place_tensor(m, g->initializer[i], w, e) < 0)
			return -1;
	for (i = 0; i < g->n_node; i++)
		for (j = 0; j < g->node[i]->n_attribute; j++) {
			Onnx__AttributeProto *a = g->node[i]->attribute[j];

			if (a->t && place_tensor(m, a->t, w, e) < 0)
				return -1;
			for (k = 0; k < a->n_tensors; k++)
				if (place_tensor(m, a->tensors[k], w, e) < 0)
					return -1;
			if (a->g && place_graph(m, a->g, w, e) < 0)
				return -1;
			for (k = 0; k < a->n_graphs; k++)
				if (place_graph(m, a->graphs[k], w, e) < 0)
					return -1;
		}
	return 0;
}

struct file_buffer {
	ProtobufCBuffer base;
	FILE *f;
	int failed;
};

static void
file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct file_buffer *fb = (struct file_buffer *)b;

	if (!fb->failed && len && fwrite(data, 1, len, fb->f) != len)
		fb->failed = errno ? errno : EIO;
}

int
onnx_save(struct onnx_model *m, FILE *out, struct onnx_extw *w, struct qerr *e)
{
	struct file_buffer fb = {{file_append}, out, 0};
	uint64_t size;

	if (place_graph(m, m->proto->graph, w, e) < 0)
		return -1;
	size = onnx_packed_size(m->proto);
	if (size > INT32_MAX)
		return qerr_set(e, "model message is %" PRIu64 " bytes, over the 2 GiB protobuf limit:"
		    " use --external-data", size);
	onnx__model_proto__pack_to_buffer(m->proto, &fb.base);
	if (fb.failed)
		return qerr_set(e, "write error: %s", strerror(fb.failed));
	return 0;
}
