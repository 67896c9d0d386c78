/* ortrun: onnxruntime through its C API, loaded with dlopen().  See ortrun.h.
 *
 * onnxruntime's C API is one table of function pointers, OrtApi, reached
 * through the exported OrtGetApiBase()->GetApi(version).  Slots are only
 * ever appended, so a table asked for at version 13 has the same layout in
 * every later release.  We declare the slots we call, typed, at their
 * indices in onnxruntime_c_api.h (API version 13, ORT 1.13), and leave the
 * others as opaque padding; the static assertions below pin every index. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ortrun.h"

typedef struct OrtStatus OrtStatus;	/* NULL means success */
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtTypeInfo OrtTypeInfo;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;
typedef struct OrtMemoryInfo OrtMemoryInfo;
typedef struct OrtAllocator OrtAllocator;

#define ORT_API_VERSION_USED 13
enum {
	ORT_LOGGING_LEVEL_ERROR = 3,
	ORT_DISABLE_ALL = 0,		/* GraphOptimizationLevel */
	ORT_DEVICE_ALLOCATOR = 0,	/* OrtAllocatorType */
	ORT_MEM_TYPE_DEFAULT = 0,	/* OrtMemType */
	ONNX_TYPE_TENSOR = 1,		/* ONNXType */
};

typedef void (*ort_slot)(void);	/* a slot we never call */

struct ort_api {
	OrtStatus *(*CreateStatus)(int code, const char *msg);			/* 0 */
	ort_slot GetErrorCode;							/* 1 */
	const char *(*GetErrorMessage)(const OrtStatus *st);			/* 2 */
	OrtStatus *(*CreateEnv)(int level, const char *logid, OrtEnv **out);	/* 3 */
	ort_slot pad4[4];							/* 4-7 */
	OrtStatus *(*CreateSessionFromArray)(const OrtEnv *env, const void *data, size_t len,
	    const OrtSessionOptions *opt, OrtSession **out);			/* 8 */
	OrtStatus *(*Run)(OrtSession *s, const void *run_options, const char *const *in_names,
	    const OrtValue *const *in, size_t nin, const char *const *out_names, size_t nout,
	    OrtValue **out);							/* 9 */
	OrtStatus *(*CreateSessionOptions)(OrtSessionOptions **out);		/* 10 */
	ort_slot pad11[12];							/* 11-22 */
	OrtStatus *(*SetSessionGraphOptimizationLevel)(OrtSessionOptions *o, int level); /* 23 */
	OrtStatus *(*SetIntraOpNumThreads)(OrtSessionOptions *o, int n);	/* 24 */
	ort_slot pad25[5];							/* 25-29 */
	OrtStatus *(*SessionGetInputCount)(const OrtSession *s, size_t *out);	/* 30 */
	OrtStatus *(*SessionGetOutputCount)(const OrtSession *s, size_t *out);	/* 31 */
	ort_slot pad32;								/* 32 */
	OrtStatus *(*SessionGetInputTypeInfo)(const OrtSession *s, size_t i, OrtTypeInfo **out); /* 33 */
	ort_slot pad34[2];							/* 34-35 */
	OrtStatus *(*SessionGetInputName)(const OrtSession *s, size_t i, OrtAllocator *a,
	    char **out);							/* 36 */
	OrtStatus *(*SessionGetOutputName)(const OrtSession *s, size_t i, OrtAllocator *a,
	    char **out);							/* 37 */
	ort_slot pad38[11];							/* 38-48 */
	OrtStatus *(*CreateTensorWithDataAsOrtValue)(const OrtMemoryInfo *info, void *data,
	    size_t len, const int64_t *shape, size_t rank, int type, OrtValue **out); /* 49 */
	ort_slot pad50;								/* 50 */
	OrtStatus *(*GetTensorMutableData)(OrtValue *v, void **out);		/* 51 */
	ort_slot pad52[3];							/* 52-54 */
	OrtStatus *(*CastTypeInfoToTensorInfo)(const OrtTypeInfo *t,
	    const OrtTensorTypeAndShapeInfo **out);				/* 55 */
	ort_slot pad56[4];							/* 56-59 */
	OrtStatus *(*GetTensorElementType)(const OrtTensorTypeAndShapeInfo *t, int *out); /* 60 */
	OrtStatus *(*GetDimensionsCount)(const OrtTensorTypeAndShapeInfo *t, size_t *out); /* 61 */
	OrtStatus *(*GetDimensions)(const OrtTensorTypeAndShapeInfo *t, int64_t *dims,
	    size_t n);								/* 62 */
	ort_slot pad63[2];							/* 63-64 */
	OrtStatus *(*GetTensorTypeAndShape)(const OrtValue *v, OrtTensorTypeAndShapeInfo **out); /* 65 */
	ort_slot pad66;								/* 66 */
	OrtStatus *(*GetValueType)(const OrtValue *v, int *out);		/* 67 */
	ort_slot pad68;								/* 68 */
	OrtStatus *(*CreateCpuMemoryInfo)(int type, int mem_type, OrtMemoryInfo **out); /* 69 */
	ort_slot pad70[6];							/* 70-75 */
	OrtStatus *(*AllocatorFree)(OrtAllocator *a, void *p);			/* 76 */
	ort_slot pad77;								/* 77 */
	OrtStatus *(*GetAllocatorWithDefaultOptions)(OrtAllocator **out);	/* 78 */
	ort_slot pad79[13];							/* 79-91 */
	void (*ReleaseEnv)(OrtEnv *);						/* 92 */
	void (*ReleaseStatus)(OrtStatus *);					/* 93 */
	void (*ReleaseMemoryInfo)(OrtMemoryInfo *);				/* 94 */
	void (*ReleaseSession)(OrtSession *);					/* 95 */
	void (*ReleaseValue)(OrtValue *);					/* 96 */
	ort_slot pad97;								/* 97 */
	void (*ReleaseTypeInfo)(OrtTypeInfo *);					/* 98 */
	void (*ReleaseTensorTypeAndShapeInfo)(OrtTensorTypeAndShapeInfo *);	/* 99 */
	void (*ReleaseSessionOptions)(OrtSessionOptions *);			/* 100 */
	ort_slot pad101[29];							/* 101-129 */
	OrtStatus *(*AddSessionConfigEntry)(OrtSessionOptions *o, const char *key,
	    const char *value);							/* 130 */
};

#define SLOT(field, index) \
	_Static_assert(offsetof(struct ort_api, field) == (index) * sizeof(void (*)(void)), #field)
SLOT(GetErrorMessage, 2);
SLOT(CreateEnv, 3);
SLOT(CreateSessionFromArray, 8);
SLOT(Run, 9);
SLOT(CreateSessionOptions, 10);
SLOT(SetSessionGraphOptimizationLevel, 23);
SLOT(SetIntraOpNumThreads, 24);
SLOT(SessionGetInputCount, 30);
SLOT(SessionGetOutputCount, 31);
SLOT(SessionGetInputTypeInfo, 33);
SLOT(SessionGetInputName, 36);
SLOT(SessionGetOutputName, 37);
SLOT(CreateTensorWithDataAsOrtValue, 49);
SLOT(GetTensorMutableData, 51);
SLOT(CastTypeInfoToTensorInfo, 55);
SLOT(GetTensorElementType, 60);
SLOT(GetDimensionsCount, 61);
SLOT(GetDimensions, 62);
SLOT(GetTensorTypeAndShape, 65);
SLOT(GetValueType, 67);
SLOT(CreateCpuMemoryInfo, 69);
SLOT(AllocatorFree, 76);
SLOT(GetAllocatorWithDefaultOptions, 78);
SLOT(ReleaseEnv, 92);
SLOT(ReleaseStatus, 93);
SLOT(ReleaseMemoryInfo, 94);
SLOT(ReleaseSession, 95);
SLOT(ReleaseValue, 96);
SLOT(ReleaseTypeInfo, 98);
SLOT(ReleaseTensorTypeAndShapeInfo, 99);
SLOT(ReleaseSessionOptions, 100);
SLOT(AddSessionConfigEntry, 130);

struct ort_api_base {
	const struct ort_api *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
};

struct ort_sess {
	void *lib;
	const struct ort_api *api;
	const char *version;
	OrtEnv *env;
	OrtSession *sess;
	OrtMemoryInfo *cpu;
	OrtAllocator *alloc;
	struct ort_tensor *in;
	size_t nin;
	char **out_names;
	size_t nout;
};

#define DEFAULT_SONAME "libonnxruntime.so.1"

/* Turns a failed status into e; 0 when st is NULL (success). */
static int
check(struct ort_sess *s, OrtStatus *st, const char *what, struct qerr *e)
{
	if (st == NULL)
		return 0;
	qerr_set(e, "onnxruntime: %s: %s", what, s->api->GetErrorMessage(st));
	s->api->ReleaseStatus(st);
	return -1;
}

static int
read_inputs(struct ort_sess *s, struct qerr *e)
{
	const struct ort_api *a = s->api;
	size_t i, n;

	if (check(s, a->SessionGetInputCount(s->sess, &n), "input count", e) < 0)
		return -1;
	if ((s->in = calloc(n ? n : 1, sizeof *s->in)) == NULL)
		return qerr_set(e, "out of memory");
	for (i = 0; i < n; i++) {
		struct ort_tensor *t = &s->in[i];
		OrtTypeInfo *ti = NULL;
		const OrtTensorTypeAndShapeInfo *tt = NULL;
		size_t rank;

		s->nin = i + 1;
		if (check(s, a->SessionGetInputName(s->sess, i, s->alloc, &t->name), "input name", e) < 0)
			return -1;
		{	/* our own copy, so ort_close frees all names alike */
			char *own = strdup(t->name);

			a->AllocatorFree(s->alloc, t->name);
			if ((t->name = own) == NULL)
				return qerr_set(e, "out of memory");
		}
		if (check(s, a->SessionGetInputTypeInfo(s->sess, i, &ti), "input type", e) < 0)
			return -1;
		if (check(s, a->CastTypeInfoToTensorInfo(ti, &tt), "input type", e) < 0 || tt == NULL) {
			a->ReleaseTypeInfo(ti);
			return tt ? -1 : qerr_set(e, "onnxruntime: input %s: not a tensor", t->name);
		}
		if (check(s, a->GetTensorElementType(tt, &t->dtype), "input type", e) < 0 ||
		    check(s, a->GetDimensionsCount(tt, &rank), "input rank", e) < 0) {
			a->ReleaseTypeInfo(ti);
			return -1;
		}
		if (rank > ORTRUN_MAX_RANK) {
			a->ReleaseTypeInfo(ti);
			return qerr_set(e, "onnxruntime: input %s: rank %zu over %d", t->name, rank,
			    ORTRUN_MAX_RANK);
		}
		t->rank = (int)rank;
		if (check(s, a->GetDimensions(tt, t->dims, rank), "input dims", e) < 0) {
			a->ReleaseTypeInfo(ti);
			return -1;
		}
		a->ReleaseTypeInfo(ti);
	}
	return 0;
}

static int
read_outputs(struct ort_sess *s, struct qerr *e)
{
	size_t i, n;

	if (check(s, s->api->SessionGetOutputCount(s->sess, &n), "output count", e) < 0)
		return -1;
	if ((s->out_names = calloc(n ? n : 1, sizeof *s->out_names)) == NULL)
		return qerr_set(e, "out of memory");
	for (i = 0; i < n; i++) {
		char *name;

		if (check(s, s->api->SessionGetOutputName(s->sess, i, s->alloc, &name), "output name",
		    e) < 0)
			return -1;
		s->out_names[i] = strdup(name);
		s->api->AllocatorFree(s->alloc, name);
		if (s->out_names[i] == NULL)
			return qerr_set(e, "out of memory");
		s->nout = i + 1;
	}
	return 0;
}

struct ort_sess *
ort_open(const char *lib, const void *model, size_t len, const char *ext_dir, int threads,
    struct qerr *e)
{
	struct ort_sess *s = calloc(1, sizeof *s);
	const struct ort_api_base *(*get_base)(void);
	const struct ort_api_base *base;
	OrtSessionOptions *so = NULL;
	const char *env_lib = getenv("QUTILS_ONNXRUNTIME");

	if (s == NULL) {
		qerr_set(e, "out of memory");
		return NULL;
	}
	if (lib == NULL)
		lib = env_lib && *env_lib ? env_lib : DEFAULT_SONAME;
	if ((s->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		qerr_set(e, "onnxruntime: cannot load %s (%s); give the library's path with "
		    "--ort-lib or QUTILS_ONNXRUNTIME (npm's onnxruntime-node ships it as "
		    "bin/napi-v6/linux/x64/libonnxruntime.so.1)", lib, dlerror());
		goto fail;
	}
	*(void **)&get_base = dlsym(s->lib, "OrtGetApiBase");
	if (get_base == NULL || (base = get_base()) == NULL) {
		qerr_set(e, "onnxruntime: %s: no OrtGetApiBase; not onnxruntime's library", lib);
		goto fail;
	}
	s->version = base->GetVersionString();
	if ((s->api = base->GetApi(ORT_API_VERSION_USED)) == NULL) {
		qerr_set(e, "onnxruntime: %s: version %s lacks C API version %d", lib, s->version,
		    ORT_API_VERSION_USED);
		goto fail;
	}
	if (check(s, s->api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "qutils", &s->env), "CreateEnv", e) < 0 ||
	    check(s, s->api->CreateSessionOptions(&so), "CreateSessionOptions", e) < 0 ||
	    check(s, s->api->SetSessionGraphOptimizationLevel(so, ORT_DISABLE_ALL),
	    "SetSessionGraphOptimizationLevel", e) < 0 ||
	    (threads > 0 && check(s, s->api->SetIntraOpNumThreads(so, threads),
	    "SetIntraOpNumThreads", e) < 0) ||
	    (ext_dir && check(s, s->api->AddSessionConfigEntry(so,
	    "session.model_external_initializers_file_folder_path", ext_dir),
	    "AddSessionConfigEntry", e) < 0) ||
	    check(s, s->api->CreateSessionFromArray(s->env, model, len, so, &s->sess),
	    "loading the model", e) < 0 ||
	    check(s, s->api->CreateCpuMemoryInfo(ORT_DEVICE_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, &s->cpu),
	    "CreateCpuMemoryInfo", e) < 0 ||
	    check(s, s->api->GetAllocatorWithDefaultOptions(&s->alloc), "allocator", e) < 0 ||
	    read_inputs(s, e) < 0 || read_outputs(s, e) < 0)
		goto fail;
	s->api->ReleaseSessionOptions(so);
	return s;
fail:
	if (so)
		s->api->ReleaseSessionOptions(so);
	ort_close(s);
	return NULL;
}

const char *
ort_version(const struct ort_sess *s)
{
	return s->version;
}

size_t
ort_inputs(const struct ort_sess *s, const struct ort_tensor **in)
{
	*in = s->in;
	return s->nin;
}

/* Bytes per element of the numeric ONNX types onnxruntime hands over. */
static size_t
dtype_size(int dt)
{
	static const unsigned char size[] = {
		[1] = 4, [2] = 1, [3] = 1, [4] = 2, [5] = 2, [6] = 4, [7] = 8, [9] = 1,
		[10] = 2, [11] = 8, [12] = 4, [13] = 8, [16] = 2,
	};

	return dt > 0 && (size_t)dt < sizeof size ? size[dt] : 0;
}

int
ort_run(struct ort_sess *s, const struct ort_tensor *in, size_t nin,
    int (*each)(void *ctx, const struct ort_tensor *out, struct qerr *e), void *ctx,
    struct qerr *e)
{
	const struct ort_api *a = s->api;
	OrtValue **iv = calloc(nin ? nin : 1, sizeof *iv), **ov = calloc(s->nout ? s->nout : 1, sizeof *ov);
	const char **names = calloc(nin ? nin : 1, sizeof *names);
	size_t i;
	int rc = -1;

	if (iv == NULL || ov == NULL || names == NULL) {
		qerr_set(e, "out of memory");
		goto done;
	}
	for (i = 0; i < nin; i++) {
		size_t es = dtype_size(in[i].dtype);

		names[i] = in[i].name;
		if (es == 0) {
			qerr_set(e, "input %s: ONNX type %d not supported", in[i].name, in[i].dtype);
			goto done;
		}
		if (check(s, a->CreateTensorWithDataAsOrtValue(s->cpu, in[i].data, in[i].nelem * es,
		    in[i].dims, (size_t)in[i].rank, in[i].dtype, &iv[i]), in[i].name, e) < 0)
			goto done;
	}
	if (check(s, a->Run(s->sess, NULL, names, (const OrtValue *const *)iv, nin,
	    (const char *const *)s->out_names, s->nout, ov), "run", e) < 0)
		goto done;
	for (i = 0; i < s->nout; i++) {
		struct ort_tensor t = { .name = s->out_names[i] };
		OrtTensorTypeAndShapeInfo *tt;
		int vt;
		size_t rank, k;

		if (check(s, a->GetValueType(ov[i], &vt), t.name, e) < 0)
			goto done;
		if (vt != ONNX_TYPE_TENSOR)
			continue;
		if (check(s, a->GetTensorTypeAndShape(ov[i], &tt), t.name, e) < 0)
			goto done;
		if (check(s, a->GetTensorElementType(tt, &t.dtype), t.name, e) < 0 ||
		    check(s, a->GetDimensionsCount(tt, &rank), t.name, e) < 0 ||
		    (rank <= ORTRUN_MAX_RANK && check(s, a->GetDimensions(tt, t.dims, rank), t.name, e) < 0)) {
			a->ReleaseTensorTypeAndShapeInfo(tt);
			goto done;
		}
		a->ReleaseTensorTypeAndShapeInfo(tt);
		if (rank > ORTRUN_MAX_RANK || dtype_size(t.dtype) == 0)
			continue;
		t.rank = (int)rank;
		t.nelem = 1;
		for (k = 0; k < rank; k++)
			t.nelem *= (size_t)t.dims[k];
		if (check(s, a->GetTensorMutableData(ov[i], &t.data), t.name, e) < 0)
			goto done;
		if (each(ctx, &t, e) < 0)
			goto done;
	}
	rc = 0;
done:
	for (i = 0; iv && i < nin; i++)
		if (iv[i])
			a->ReleaseValue(iv[i]);
	for (i = 0; ov && i < s->nout; i++)
		if (ov[i])
			a->ReleaseValue(ov[i]);
	free(iv), free(ov), free(names);
	return rc;
}

void
ort_close(struct ort_sess *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->api) {
		if (s->sess)
			s->api->ReleaseSession(s->sess);
		if (s->cpu)
			s->api->ReleaseMemoryInfo(s->cpu);
		if (s->env)
			s->api->ReleaseEnv(s->env);
	}
	for (i = 0; i < s->nin; i++)
		free(s->in[i].name);
	free(s->in);
	for (i = 0; i < s->nout; i++)
		free(s->out_names[i]);
	free(s->out_names);
	/* the library stays loaded: onnxruntime's threads and static
	 * destructors do not expect to be unloaded before exit */
	free(s);
}
