/* safetensors reader, strict checker and streaming writer.
 *
 * One validation routine serves both st_parse (stop at the first problem,
 * message in struct qerr) and st_check (report every problem through a
 * callback and carry on where the rest of the file still makes sense).
 * The checks follow the reference reader's order (spec §1.3). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

#define MAX_EXACT_INT 9007199254740992.0	/* 2^53: the largest integer a double holds exactly */

/* Where problems go: into e (stop at the first) or to cb (keep going). */
struct report {
	st_problem_fn cb;
	void *ctx;
	struct qerr *e;
	const char *name;
	size_t count;
	int header_only;	/* a stream: the data has not been read yet */
};

static int
problem(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns -1 when the caller must stop, 0 when it may go on. */
static int
problem(struct report *r, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->count++;
	if (r->cb) {
		r->cb(r->ctx, msg);
		return 0;
	}
	qerr_set(r->e, "%s: %s", r->name, msg);
	return -1;
}

/* A tensor name fit for a message: control bytes become '?', long names
 * are cut, so a hostile header cannot drive the terminal. */
static const char *
printable(const char *s, char *buf, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < cap; i++)
		buf[n++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i])
		memcpy(buf + n, "...", 3), n += 3;
	buf[n] = 0;
	return buf;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
 * Returns the offset of the first bad byte, or len. */
static size_t
utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return i;
		if (len - i <= need)
			return i;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return len;
}

static int
is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* cJSON keeps numbers as doubles and accepts "1.0", "1e3" and "-0".  The
 * format wants unsigned integers, so the literal text is judged here: one
 * flag per number token, in document order (the order a depth-first walk
 * of cJSON's tree meets them).  The same pass bounds the shape of the
 * document: nesting deeper than the format uses, or arrays longer than a
 * shape, are refused before cJSON builds a tree for them. */
struct numscan {
	unsigned char *ok;
	size_t n, cap;
};

static int
scan_numbers(const unsigned char *s, size_t len, struct numscan *ns, const char **why)
{
	size_t i = 0, depth = 0, arrlen[4] = { 0 };
	int in_array[4] = { 0 };

	while (i < len) {
		unsigned char c = s[i];

		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > 3) {
				*why = "nested deeper than the format allows";
				return -1;
			}
			in_array[depth] = c == '[';
			arrlen[depth] = 0;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t b = i, digits;
			int good;

			while (i < len && (strchr("0123456789+-.eE", s[i]) != NULL) && s[i])
				i++;
			digits = i - b;
			good = s[b] != '-' && digits <= 16 && (s[b] != '0' || digits == 1);
			for (size_t k = b; good && k < i; k++)
				good = s[k] >= '0' && s[k] <= '9';
			if (good) {	/* at most 16 digits: exact in 64 bits */
				uint64_t v = 0;

				for (size_t k = b; k < i; k++)
					v = v * 10 + (uint64_t)(s[k] - '0');
				good = v <= (1ull << 53);
			}
			if (ns->n == ns->cap) {
				size_t nc = ns->cap ? ns->cap * 2 : 64;
				unsigned char *p = realloc(ns->ok, nc);

				if (p == NULL) {
					*why = "out of memory";
					return -1;
				}
				ns->ok = p;
				ns->cap = nc;
			}
			ns->ok[ns->n++] = (unsigned char)good;
			if (depth > 0 && in_array[depth] && ++arrlen[depth] > ST_MAX_DIMS) {
				*why = "array longer than the most dimensions a shape may have";
				return -1;
			}
			continue;
		}
		i++;
	}
	return 0;
}

/* Marks every number cJSON read from a bad literal as -1, which the schema
 * checks then refuse.  Returns -1 if the walk and the scan disagree. */
static int
mark_numbers(cJSON *node, const struct numscan *ns, size_t *next)
{
	for (; node; node = node->next) {
		if (cJSON_IsNumber(node)) {
			if (*next >= ns->n)
				return -1;
			if (!ns->ok[(*next)++])
				node->valuedouble = -1;
		}
		if (node->child && mark_numbers(node->child, ns, next) < 0)
			return -1;
	}
	return 0;
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first key that appears twice in object obj, or NULL. */
static const char *
duplicate_key(const cJSON *obj)
{
	size_t n = 0, i;
	const cJSON *c;
	const char **keys, *dup = NULL;

	for (c = obj->child; c; c = c->next)
		n++;
	if (n < 2)
		return NULL;
	keys = malloc(n * sizeof *keys);
	if (keys == NULL)
		return NULL;
	for (i = 0, c = obj->child; c; c = c->next)
		keys[i++] = c->string ? c->string : "";
	qsort(keys, n, sizeof *keys, cmp_str_ptr);
	for (i = 1; i < n && dup == NULL; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			dup = keys[i];
	free(keys);
	return dup;
}

/* A non-negative integer below 2^53, or -1. */
static int
get_uint(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > MAX_EXACT_INT ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

int
st_nbytes(enum qdtype t, uint64_t nelem, uint64_t *nbytes)
{
	uint64_t bits = (uint64_t)qdtype_table[t].bits;

	if (nelem > UINT64_MAX / bits)
		return -1;
	if ((nelem * bits) % 8)
		return -1;
	*nbytes = nelem * bits / 8;
	return 0;
}

static void
free_contents(struct st_file *f)
{
	for (size_t i = 0; i < f->n_tensors; i++)
		free(f->tensors[i].name);
	for (size_t i = 0; i < f->n_meta; i++) {
		free(f->meta[i].key);
		free(f->meta[i].value);
	}
	free(f->tensors);
	free(f->meta);
	f->tensors = NULL;
	f->meta = NULL;
	f->n_tensors = f->n_meta = 0;
}

static const char *const tensor_fields[] = { "dtype", "shape", "data_offsets" };

/* Rule 5 for one tensor entry: fills t (name excepted).  Returns -1 on a
 * problem (already reported). */
static int
parse_entry(struct report *r, const cJSON *item, struct st_tensor *t, const char *pname)
{
	const cJSON *dt, *shape, *offs, *c;
	const char *dup;
	int d, k;

	if (!cJSON_IsObject(item))
		return problem(r, "tensor \"%s\": entry is not a JSON object", pname), -1;
	if ((dup = duplicate_key(item)) != NULL)
		return problem(r, "tensor \"%s\": duplicate key \"%s\"", pname, dup), -1;
	dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
	shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
	offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
	if (!dt || !shape || !offs)
		return problem(r, "tensor \"%s\": missing \"%s\"", pname,
		    !dt ? "dtype" : !shape ? "shape" : "data_offsets"), -1;
	if (!cJSON_IsString(dt))
		return problem(r, "tensor \"%s\": dtype is not a string", pname), -1;
	if ((d = qdtype_from_name(dt->valuestring)) < 0) {
		char b[64];
		return problem(r, "tensor \"%s\": unknown dtype \"%s\"", pname,
		    printable(dt->valuestring, b, sizeof b)), -1;
	}
	t->dtype = (enum qdtype)d;
	if (!cJSON_IsArray(shape))
		return problem(r, "tensor \"%s\": shape is not an array", pname), -1;
	t->ndim = 0;
	t->nelem = 1;
	for (c = shape->child; c; c = c->next) {
		if (t->ndim == ST_MAX_DIMS)
			return problem(r, "tensor \"%s\": more than %d dimensions", pname, ST_MAX_DIMS), -1;
		if (get_uint(c, &t->shape[t->ndim]) < 0)
			return problem(r, "tensor \"%s\": shape[%d] is not a non-negative integer below 2^53",
			    pname, t->ndim), -1;
		t->ndim++;
	}
	if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
		return problem(r, "tensor \"%s\": data_offsets is not an array of two integers", pname), -1;
	if (get_uint(offs->child, &t->begin) < 0 || get_uint(offs->child->next, &t->end) < 0)
		return problem(r, "tensor \"%s\": data_offsets entry is not a non-negative integer below 2^53",
		    pname), -1;
	/* The schema forbids extra keys; the reference reader ignores them,
	 * so only the checker mentions them. */
	for (c = item->child; c && r->cb; c = c->next) {
		for (k = 0; k < 3 && strcmp(c->string, tensor_fields[k]) != 0; k++)
			;
		if (k == 3) {
			char b[64];
			problem(r, "tensor \"%s\": unknown key \"%s\" (the schema forbids extra keys)",
			    pname, printable(c->string, b, sizeof b));
		}
	}
	return 0;
}

static int
cmp_offsets(const void *a, const void *b)
{
	const struct st_tensor *x = *(struct st_tensor *const *)a, *y = *(struct st_tensor *const *)b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* Rules 6 to 8 over the tensors that passed rule 5. */
static int
check_layout(struct report *r, struct st_file *f, size_t data_len)
{
	struct st_tensor **order = malloc((f->n_tensors ? f->n_tensors : 1) * sizeof *order);
	uint64_t expect = 0, nelem, nbytes;
	int rc = 0;
	char b[100];

	if (order == NULL)
		return problem(r, "out of memory");
	for (size_t i = 0; i < f->n_tensors; i++)
		order[i] = &f->tensors[i];
	qsort(order, f->n_tensors, sizeof *order, cmp_offsets);
	for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
		struct st_tensor *t = order[i];
		const char *pn = printable(t->name, b, sizeof b);
		int ok = 1;

		if (t->end < t->begin) {
			rc = problem(r, "tensor \"%s\": data_offsets [%llu, %llu] end before begin", pn,
			    (unsigned long long)t->begin, (unsigned long long)t->end);
			continue;
		}
		if (t->begin > expect)
			rc = problem(r, "tensor \"%s\": gap of %llu bytes before it (starts at %llu, previous data ends at %llu)",
			    pn, (unsigned long long)(t->begin - expect), (unsigned long long)t->begin,
			    (unsigned long long)expect);
		else if (t->begin < expect)
			rc = problem(r, "tensor \"%s\": overlaps the previous tensor (starts at %llu, previous data ends at %llu)",
			    pn, (unsigned long long)t->begin, (unsigned long long)expect);
		if (rc)
			break;
		nelem = 1;
		for (int d = 0; d < t->ndim && ok; d++) {
			if (t->shape[d] && nelem > UINT64_MAX / t->shape[d])
				rc = problem(r, "tensor \"%s\": element count overflows", pn), ok = 0;
			else
				nelem *= t->shape[d];
		}
		t->nelem = nelem;
		if (ok && st_nbytes(t->dtype, nelem, &nbytes) < 0)
			rc = problem(r, "tensor \"%s\": %llu elements of %s are not a whole number of bytes (or overflow)",
			    pn, (unsigned long long)nelem, qdtype_table[t->dtype].name), ok = 0;
		if (ok && nbytes != t->end - t->begin)
			rc = problem(r, "tensor \"%s\": data_offsets [%llu, %llu] span %llu bytes, but %llu elements of %s take %llu",
			    pn, (unsigned long long)t->begin, (unsigned long long)t->end,
			    (unsigned long long)(t->end - t->begin), (unsigned long long)nelem,
			    qdtype_table[t->dtype].name, (unsigned long long)nbytes);
		expect = t->end;
	}
	free(order);
	if (rc)
		return rc;
	f->data_len = expect;
	if (r->header_only)
		return 0;
	if (expect < data_len)
		return problem(r, "%llu trailing bytes after the last tensor (data section is %llu bytes, tensors end at %llu)",
		    (unsigned long long)(data_len - expect), (unsigned long long)data_len,
		    (unsigned long long)expect);
	if (expect > data_len)
		return problem(r, "tensor data runs past the end of the file: tensors end at %llu, data section is %llu bytes (truncated?)",
		    (unsigned long long)expect, (unsigned long long)data_len);
	return 0;
}

static char *
dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	return p ? memcpy(p, s, n) : NULL;
}

/* The whole of §1.3 over buf.  Fills f (tensors in header order, metadata)
 * unless a problem stops it.  Returns 0 when no problem was found. */
static int
validate(struct report *r, const unsigned char *buf, size_t len, struct st_file *f)
{
	const unsigned char *hdr;
	uint64_t n = 0;
	size_t bad, items = 0, next = 0;
	struct numscan ns = { 0 };
	const char *why = NULL, *end = NULL, *dup;
	cJSON *root = NULL, *it;
	char b[100];
	int rc = -1;

	if (len < 8)
		return problem(r, "file is %zu bytes, too short for the 8-byte header length", len), -1;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | buf[i];
	if (n > ST_MAX_HEADER)
		return problem(r, "header length %llu exceeds the 100 MB limit", (unsigned long long)n), -1;
	if (n > len - 8)
		return problem(r, "header length %llu runs past the end of the file (%zu bytes after the length field)",
		    (unsigned long long)n, len - 8), -1;
	hdr = buf + 8;
	f->header_len = n;
	f->data_start = 8 + n;
	if ((bad = utf8_check(hdr, (size_t)n)) < n)
		return problem(r, "header: invalid UTF-8 at byte %zu", (size_t)8 + bad), -1;
	if (n >= 3 && hdr[0] == 0xef && hdr[1] == 0xbb && hdr[2] == 0xbf)
		return problem(r, "header: starts with a byte order mark, not JSON"), -1;
	if (scan_numbers(hdr, (size_t)n, &ns, &why) < 0) {
		problem(r, "header: %s", why);
		goto out;
	}
	root = cJSON_ParseWithLengthOpts((const char *)hdr, (size_t)n, &end, 0);
	if (root == NULL) {
		size_t at = end ? (size_t)((const unsigned char *)end - hdr) : 0;
		problem(r, "header: invalid JSON near byte %zu", 8 + at);
		goto out;
	}
	for (const unsigned char *p = (const unsigned char *)end; p < hdr + n; p++)
		if (!is_json_space(*p)) {
			problem(r, "header: bytes after the JSON object at byte %zu", (size_t)(8 + (p - hdr)));
			goto out;
		}
	if (!cJSON_IsObject(root)) {
		problem(r, "header: not a JSON object");
		goto out;
	}
	if (mark_numbers(root->child, &ns, &next) < 0 || next != ns.n) {
		problem(r, "header: invalid JSON (unreadable number)");
		goto out;
	}
	if ((dup = duplicate_key(root)) != NULL) {
		if (problem(r, "header: duplicate tensor name \"%s\"", printable(dup, b, sizeof b)))
			goto out;
	}
	for (it = root->child; it; it = it->next)
		items++;
	f->tensors = calloc(items ? items : 1, sizeof *f->tensors);
	if (f->tensors == NULL) {
		problem(r, "out of memory");
		goto out;
	}
	rc = 0;
	for (it = root->child; it; it = it->next) {
		const char *pn = printable(it->string, b, sizeof b);

		if (strcmp(it->string, "__metadata__") == 0) {
			const cJSON *m;
			size_t nm = 0;

			if (cJSON_IsNull(it))
				continue;
			if (!cJSON_IsObject(it)) {
				if ((rc = problem(r, "__metadata__ is not a JSON object")) < 0)
					goto out;
				continue;
			}
			if ((dup = duplicate_key(it)) != NULL &&
			    (rc = problem(r, "__metadata__: duplicate key \"%s\"", printable(dup, b, sizeof b))) < 0)
				goto out;
			if (f->meta)	/* a second __metadata__, already reported as a duplicate */
				continue;
			for (m = it->child; m; m = m->next)
				nm++;
			if ((f->meta = calloc(nm ? nm : 1, sizeof *f->meta)) == NULL) {
				rc = problem(r, "out of memory");
				goto out;
			}
			for (m = it->child; m; m = m->next) {
				if (!cJSON_IsString(m)) {
					if ((rc = problem(r, "__metadata__: value of \"%s\" is not a string",
					    printable(m->string, b, sizeof b))) < 0)
						goto out;
					continue;
				}
				f->meta[f->n_meta].key = dupstr(m->string);
				f->meta[f->n_meta].value = dupstr(m->valuestring);
				if (!f->meta[f->n_meta].key || !f->meta[f->n_meta].value) {
					f->n_meta++;
					rc = problem(r, "out of memory");
					goto out;
				}
				f->n_meta++;
			}
			continue;
		}
		struct st_tensor *t = &f->tensors[f->n_tensors];
		if (parse_entry(r, it, t, pn) < 0) {
			rc = -1;
			if (!r->cb)
				goto out;
			continue;
		}
		if ((t->name = dupstr(it->string)) == NULL) {
			rc = problem(r, "out of memory");
			goto out;
		}
		f->n_tensors++;
	}
	if (check_layout(r, f, len - 8 - (size_t)n) < 0)
		rc = -1;
	if (rc == 0 && r->count == 0 && !r->header_only) {
		for (size_t i = 0; i < f->n_tensors; i++)
			f->tensors[i].data = buf + f->data_start + f->tensors[i].begin;
	}
out:
	cJSON_Delete(root);
	free(ns.ok);
	return r->count ? -1 : rc;
}

int
st_parse(struct st_file *f, const unsigned char *buf, size_t len, const char *name, struct qerr *e)
{
	struct report r = { .e = e, .name = name };

	memset(f, 0, sizeof *f);
	if ((f->path = dupstr(name)) == NULL)
		return qerr_set(e, "%s: out of memory", name);
	if (validate(&r, buf, len, f) < 0) {
		free_contents(f);
		free(f->path);
		f->path = NULL;
		return -1;
	}
	return 0;
}

int
st_open(struct st_file *f, const char *path, struct qerr *e)
{
	struct qmap m;

	if (qmap_open(&m, path, e) < 0)
		return -1;
	if (st_parse(f, m.data, m.size, strcmp(path, "-") == 0 ? "<stdin>" : path, e) < 0) {
		qmap_close(&m);
		return -1;
	}
	f->map = m;
	return 0;
}

void
st_close(struct st_file *f)
{
	free_contents(f);
	free(f->path);
	if (f->map.data)
		qmap_close(&f->map);
	memset(f, 0, sizeof *f);
}

/* Reads exactly n bytes; 0 at a clean end before any byte, -1 on error. */
static int
read_full(int fd, unsigned char *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, buf + *got, n - *got);

		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		*got += (size_t)r;
	}
	return 0;
}

int
st_read_header(struct st_file *f, int fd, const char *name, struct qerr *e)
{
	struct report r = { .e = e, .name = name, .header_only = 1 };
	unsigned char len8[8], *buf;
	uint64_t n = 0;
	size_t got;

	memset(f, 0, sizeof *f);
	if (read_full(fd, len8, 8, &got) < 0)
		return qerr_set(e, "%s: read: %s", name, strerror(errno));
	if (got < 8)
		return qerr_set(e, "%s: file is %zu bytes, too short for the 8-byte header length", name, got);
	for (int i = 7; i >= 0; i--)
		n = n << 8 | len8[i];
	if (n > ST_MAX_HEADER)
		return qerr_set(e, "%s: header length %llu exceeds the 100 MB limit", name, (unsigned long long)n);
	if ((buf = malloc(8 + (size_t)n)) == NULL)
		return qerr_set(e, "%s: out of memory", name);
	memcpy(buf, len8, 8);
	if (read_full(fd, buf + 8, (size_t)n, &got) < 0 || got < n) {
		free(buf);
		return qerr_set(e, "%s: header length %llu runs past the end of the file (%zu bytes after the length field)",
		    name, (unsigned long long)n, got);
	}
	if ((f->path = dupstr(name)) == NULL || validate(&r, buf, 8 + (size_t)n, f) < 0) {
		if (f->path == NULL)
			qerr_set(e, "%s: out of memory", name);
		free_contents(f);
		free(f->path);
		free(buf);
		memset(f, 0, sizeof *f);
		return -1;
	}
	f->map.data = buf;	/* qmap_close frees it */
	f->map.size = 8 + (size_t)n;
	f->map.mapped = 0;
	return 0;
}

size_t
st_check(const unsigned char *buf, size_t len, st_problem_fn cb, void *ctx)
{
	struct report r = { .cb = cb, .ctx = ctx, .name = "" };
	struct st_file f;

	memset(&f, 0, sizeof f);
	validate(&r, buf, len, &f);
	free_contents(&f);
	return r.count;
}

const struct st_tensor *
st_find(const struct st_file *f, const char *name)
{
	for (size_t i = 0; i < f->n_tensors; i++)
		if (strcmp(f->tensors[i].name, name) == 0)
			return &f->tensors[i];
	return NULL;
}

const char *
st_meta_get(const struct st_file *f, const char *key)
{
	for (size_t i = 0; i < f->n_meta; i++)
		if (strcmp(f->meta[i].key, key) == 0)
			return f->meta[i].value;
	return NULL;
}

/* ---- writer ---- */

struct plan_tensor {
	char *name;
	enum qdtype dtype;
	int ndim;
	uint64_t shape[ST_MAX_DIMS];
	uint64_t nbytes;
};

struct st_writer {
	struct plan_tensor *t;
	size_t n, cap;
	struct st_kv *meta;
	size_t n_meta, cap_meta;
	/* while writing data */
	int header_done;
	size_t cur;		/* tensor being written */
	uint64_t cur_done;	/* its bytes so far */
};

struct st_writer *
st_writer_new(void)
{
	return calloc(1, sizeof(struct st_writer));
}

void
st_writer_free(struct st_writer *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	for (size_t i = 0; i < w->n_meta; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->t);
	free(w->meta);
	free(w);
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	if ((np = realloc(*p, nc * size)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

int
st_writer_meta(struct st_writer *w, const char *key, const char *value, struct qerr *e)
{
	if (utf8_check((const unsigned char *)key, strlen(key)) != strlen(key) ||
	    utf8_check((const unsigned char *)value, strlen(value)) != strlen(value))
		return qerr_set(e, "metadata \"%s\": not valid UTF-8", key);
	for (size_t i = 0; i < w->n_meta; i++)
		if (strcmp(w->meta[i].key, key) == 0)
			return qerr_set(e, "metadata \"%s\": set twice", key);
	if (grow((void **)&w->meta, &w->cap_meta, w->n_meta, sizeof *w->meta) < 0)
		return qerr_set(e, "out of memory");
	w->meta[w->n_meta].key = dupstr(key);
	w->meta[w->n_meta].value = dupstr(value);
	w->n_meta++;
	if (!w->meta[w->n_meta - 1].key || !w->meta[w->n_meta - 1].value)
		return qerr_set(e, "out of memory");
	return 0;
}

int
st_writer_add(struct st_writer *w, const char *name, enum qdtype dt, int ndim,
    const uint64_t *shape, struct qerr *e)
{
	struct plan_tensor *t;
	uint64_t nelem = 1;

	if (strcmp(name, "__metadata__") == 0 || utf8_check((const unsigned char *)name, strlen(name)) != strlen(name))
		return qerr_set(e, "tensor \"%s\": not a valid tensor name", name);
	if (ndim < 0 || ndim > ST_MAX_DIMS)
		return qerr_set(e, "tensor \"%s\": %d dimensions (at most %d)", name, ndim, ST_MAX_DIMS);
	for (int d = 0; d < ndim; d++) {
		if ((double)shape[d] > MAX_EXACT_INT || (shape[d] && nelem > UINT64_MAX / shape[d]))
			return qerr_set(e, "tensor \"%s\": shape too large", name);
		nelem *= shape[d];
	}
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->t[i].name, name) == 0)
			return qerr_set(e, "tensor \"%s\": added twice", name);
	if (grow((void **)&w->t, &w->cap, w->n, sizeof *w->t) < 0)
		return qerr_set(e, "out of memory");
	t = &w->t[w->n];
	memset(t, 0, sizeof *t);
	if (st_nbytes(dt, nelem, &t->nbytes) < 0)
		return qerr_set(e, "tensor \"%s\": %llu elements of %s are not a whole number of bytes",
		    name, (unsigned long long)nelem, qdtype_table[dt].name);
	if ((t->name = dupstr(name)) == NULL)
		return qerr_set(e, "out of memory");
	t->dtype = dt;
	t->ndim = ndim;
	if (ndim > 0)	/* a scalar may come with shape NULL */
		memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	w->n++;
	return 0;
}

/* The reference writer: larger dtype enum first (alignment), then name
 * in byte order. */
static int
cmp_reference(const void *a, const void *b)
{
	const struct plan_tensor *x = a, *y = b;

	if (x->dtype != y->dtype)
		return x->dtype > y->dtype ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
st_writer_sort_reference(struct st_writer *w)
{
	qsort(w->t, w->n, sizeof *w->t, cmp_reference);
}

size_t st_writer_count(const struct st_writer *w) { return w->n; }
const char *st_writer_name(const struct st_writer *w, size_t i) { return w->t[i].name; }
uint64_t st_writer_nbytes(const struct st_writer *w, size_t i) { return w->t[i].nbytes; }

/* A growing string for the header. */
struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void
sb_put(struct sbuf *s, const char *x, size_t len)
{
	if (s->oom)
		return;
	if (s->n + len + 1 > s->cap) {
		size_t nc = s->cap ? s->cap : 256;
		char *np;

		while (nc < s->n + len + 1)
			nc *= 2;
		if ((np = realloc(s->p, nc)) == NULL) {
			s->oom = 1;
			return;
		}
		s->p = np;
		s->cap = nc;
	}
	memcpy(s->p + s->n, x, len);
	s->n += len;
	s->p[s->n] = 0;
}

static void sb_str(struct sbuf *s, const char *x) { sb_put(s, x, strlen(x)); }

/* A JSON string as serde_json writes it: short escapes for the usual
 * controls, \u00XX for the rest, UTF-8 kept as is. */
static void
sb_json_string(struct sbuf *s, const char *x)
{
	char esc[8];

	sb_put(s, "\"", 1);
	for (; *x; x++) {
		unsigned char c = (unsigned char)*x;
		const char *e = NULL;

		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof esc, "\\u%04x", c);
				e = esc;
			}
		}
		if (e)
			sb_str(s, e);
		else
			sb_put(s, (const char *)&c, 1);
	}
	sb_put(s, "\"", 1);
}

static void
sb_u64(struct sbuf *s, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof num, "%llu", (unsigned long long)v);
	sb_str(s, num);
}

int
st_writer_header(struct st_writer *w, FILE *out, struct qerr *e)
{
	struct sbuf s = { 0 };
	uint64_t off = 0, n;
	unsigned char len8[8];
	int first = 1, rc = 0;

	sb_put(&s, "{", 1);
	if (w->n_meta) {
		sb_str(&s, "\"__metadata__\":{");
		/* "format" first, then the rest in the order given */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < w->n_meta; i++) {
				if ((strcmp(w->meta[i].key, "format") == 0) != (pass == 0))
					continue;
				if (!first)
					sb_put(&s, ",", 1);
				first = 0;
				sb_json_string(&s, w->meta[i].key);
				sb_put(&s, ":", 1);
				sb_json_string(&s, w->meta[i].value);
			}
		sb_put(&s, "}", 1);
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct plan_tensor *t = &w->t[i];

		if (w->n_meta || i)
			sb_put(&s, ",", 1);
		sb_json_string(&s, t->name);
		sb_str(&s, ":{\"dtype\":");
		sb_json_string(&s, qdtype_table[t->dtype].name);
		sb_str(&s, ",\"shape\":[");
		for (int d = 0; d < t->ndim; d++) {
			if (d)
				sb_put(&s, ",", 1);
			sb_u64(&s, t->shape[d]);
		}
		sb_str(&s, "],\"data_offsets\":[");
		sb_u64(&s, off);
		sb_put(&s, ",", 1);
		off += t->nbytes;
		sb_u64(&s, off);
		sb_str(&s, "]}");
	}
	sb_put(&s, "}", 1);
	while (!s.oom && s.n % 8)
		sb_put(&s, " ", 1);
	if (s.oom) {
		free(s.p);
		return qerr_set(e, "out of memory");
	}
	n = s.n;
	if (n > ST_MAX_HEADER) {
		free(s.p);
		return qerr_set(e, "header of %llu bytes exceeds the 100 MB limit", (unsigned long long)n);
	}
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)(n >> (8 * i));
	if (fwrite(len8, 1, 8, out) != 8 || fwrite(s.p, 1, s.n, out) != s.n)
		rc = qerr_set(e, "write error");
	free(s.p);
	w->header_done = 1;
	w->cur = 0;
	w->cur_done = 0;
	return rc;
}

int
st_writer_data(struct st_writer *w, FILE *out, const void *data, size_t len, struct qerr *e)
{
	const unsigned char *p = data;

	if (!w->header_done)
		return qerr_set(e, "tensor data before the header");
	while (len > 0) {
		uint64_t room;
		size_t take;

		while (w->cur < w->n && w->cur_done == w->t[w->cur].nbytes) {
			w->cur++;
			w->cur_done = 0;
		}
		if (w->cur == w->n)
			return qerr_set(e, "more tensor data than the header announced");
		room = w->t[w->cur].nbytes - w->cur_done;
		take = room < len ? (size_t)room : len;
		if (fwrite(p, 1, take, out) != take)
			return qerr_set(e, "tensor \"%s\": write error", w->t[w->cur].name);
		w->cur_done += take;
		p += take;
		len -= take;
	}
	return 0;
}

int
st_writer_finish(struct st_writer *w, struct qerr *e)
{
	while (w->cur < w->n && w->cur_done == w->t[w->cur].nbytes) {
		w->cur++;
		w->cur_done = 0;
	}
	if (w->cur < w->n)
		return qerr_set(e, "tensor \"%s\": %llu of %llu bytes written", w->t[w->cur].name,
		    (unsigned long long)w->cur_done, (unsigned long long)w->t[w->cur].nbytes);
	return 0;
}
