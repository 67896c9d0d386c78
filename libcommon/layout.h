/* layout: quantized Linear weights in the tensor layouts loaders accept
 * (spec/safetensors-and-hf-layouts.md), and back.
 *
 * A weight W [out, in] (PyTorch orientation, module prefix P = W's name
 * without ".weight") quantized under a linq scheme becomes a few tensors:
 *
 *   compressed-tensors  P.weight_packed I32 [out, in/(32/b)], P.weight_scale,
 *                       P.weight_zero_point (asym), P.weight_shape I64 [2];
 *                       fp8: P.weight F8_E4M3 [out, in], P.weight_scale
 *   awq (gemm)          P.qweight I32 [in, out/8], P.qzeros, P.scales F16
 *   gptq (v1)           P.qweight I32 [in/(32/b), out], P.qzeros (z-1),
 *                       P.scales F16, P.g_idx I32 [in]
 *   fp8                 P.weight F8_E4M3, P.weight_scale F32 [] or
 *                       P.weight_scale_inv F32 [out/128, in/128]
 *   quark               P.weight, P.weight_scale, P.weight_zero_point (asym)
 *
 * The bit orders are data (ql_awq_order), the code offsets are the
 * signed/unsigned shift of the format.  Unpacking gives back the codes, the
 * scales and zero points in linq's grid, so dequantization is linq's and
 * equals fake quantization bit for bit. */
#ifndef LAYOUT_H
#define LAYOUT_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "dtype.h"
#include "linq.h"
#include "qerr.h"
#include "qparams.h"

enum qlayout { QL_CT, QL_AWQ, QL_GPTQ, QL_FP8, QL_QUARK, QL_COUNT };

extern const char *const qlayout_names[QL_COUNT];	/* "compressed-tensors", ... */
int qlayout_from_name(const char *name);

/* nibble k of a word holds element 8c + ql_awq_order[k] (AWQ, Quark reorder) */
extern const uint8_t ql_awq_order[8];

/* How GPTQ ordered the columns of per-group weights, as the configs say it:
 * gptq desc_act (+ static_groups), compressed-tensors actorder.  With
 * QL_ACT_GROUP the groups follow the processing order and a g_idx [in]
 * maps each input channel to its group (gptq g_idx, compressed-tensors
 * weight_g_idx); with QL_ACT_STATIC the groups stay contiguous. */
enum ql_act_order { QL_ACT_NONE, QL_ACT_GROUP, QL_ACT_STATIC };

/* Whether the layout can store a g_idx (gptq, compressed-tensors int). */
int ql_stores_gidx(enum qlayout layout, const struct qscheme *s);

struct ql_opts {
	enum qlayout layout;
	int quark_order;		/* quark pack_method: 0 "reorder", 1 "order" */
	enum qdtype model_dtype;	/* compressed-tensors scale dtype (BF16/F16/F32) */
};

#define QL_MAX_PARTS 6

/* One output tensor of a packed weight. */
struct ql_part {
	char suffix[24];		/* appended to "P." */
	enum qdtype dtype;
	int ndim;
	uint64_t shape[2];
	uint64_t bytes;
	unsigned char *data;		/* filled by ql_pack (malloc'ed) */
};

struct ql_packed {
	struct ql_part part[QL_MAX_PARTS];
	int n;
};

/* Whether the layout can store scheme s for a [rows=out, cols=in] weight;
 * -1 with the reason. */
int ql_check(const struct ql_opts *o, const struct qscheme *s, int64_t rows, int64_t cols,
    struct qerr *e);
/* The dtype the layout stores scales in: quantize with scales rounded to it
 * (ql_round_scales) so that dequantization is exact. */
enum qdtype ql_scale_dtype(const struct ql_opts *o, const struct qscheme *s);
/* Rounds scales to dt in place (0 becomes the least positive value); -1 if
 * one overflows. */
int ql_round_scales(enum qdtype dt, float *scale, size_t n, struct qerr *e);
/* Zero points the layout cannot store are moved (gptq v1 asymmetric: 0 -> 1);
 * returns how many changed. */
size_t ql_fix_zero_points(const struct ql_opts *o, const struct qscheme *s, int32_t *zp,
    size_t n);

/* Shapes and dtypes of the parts (no data). */
int ql_plan(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    struct ql_packed *p, struct qerr *e);
/* The same for a GPTQ column order (compressed-tensors' weight_g_idx). */
int ql_plan_act(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    enum ql_act_order act, struct ql_packed *p, struct qerr *e);
/* Plans and fills the parts from codes (linq_quantize's), scales (already
 * rounded) and zero points (NULL when symmetric). */
int ql_pack(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    const int32_t *q, const float *scale, const int32_t *zp, struct ql_packed *p,
    struct qerr *e);
/* The same after GPTQ in order act, with g_idx (cols; NULL: contiguous
 * groups): the scales' cell column of every input channel, written where
 * the layout keeps it; refused where it cannot be (awq, quark, fp8). */
int ql_pack_gidx(const struct ql_opts *o, const struct qscheme *s, const struct qgrid *g,
    enum ql_act_order act, const int32_t *q, const float *scale, const int32_t *zp,
    const int32_t *g_idx, struct ql_packed *p, struct qerr *e);
void ql_packed_free(struct ql_packed *p);

/* config.json "quantization_config" for the layout.  ignore: module names
 * left in float (may be NULL when n_ignore is 0). */
cJSON *ql_config(const struct ql_opts *o, const struct qscheme *s, const char *method,
    const char *const *ignore, size_t n_ignore);
/* The same for weights GPTQ quantized in order act (gptq desc_act and
 * static_groups, compressed-tensors actorder). */
cJSON *ql_config_act(const struct ql_opts *o, const struct qscheme *s, enum ql_act_order act,
    const char *method, const char *const *ignore, size_t n_ignore);

/* ---- unpacking ---- */

/* How a quantized checkpoint is laid out, from its quantization_config. */
struct ql_config {
	enum qlayout layout;
	int quark_order;
	struct qscheme s;		/* weights' scheme (group -1: channel) */
	int fp8_block;			/* fp8: weight_scale_inv blocks */
};

/* Reads quantization_config (the object itself).  -1 with a message for an
 * unknown method or a scheme this reader does not handle. */
int ql_config_parse(const cJSON *qc, struct ql_config *c, struct qerr *e);

/* The scheme module `prefix` (a weight's name without ".weight") was
 * quantized under, as the config says; NULL when it stays float. */
const struct qscheme *ql_module_scheme(const struct ql_config *c, const char *prefix);

/* Looks a tensor up by full name (NULL if absent). */
struct ql_tensor {
	enum qdtype dtype;
	int ndim;
	uint64_t shape[8];
	const unsigned char *data;
};
typedef int (*ql_find_fn)(void *ctx, const char *name, struct ql_tensor *t);

/* The packed tensor that marks a quantized module: a name ending in it
 * gives the prefix ("qweight", "weight_packed", "weight" with F8/I32...). */
int ql_is_marker(const struct ql_config *c, const char *name, enum qdtype dt, size_t *prefix_len);

/* Unpacks module `prefix` into out (malloc'ed [rows*cols] floats, rows =
 * out, cols = in).  Every shape and dtype is checked against the others. */
int ql_unpack(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    float **out, int64_t *rows, int64_t *cols, struct qerr *e);

/* A packed module in linq's grid, before dequantization: codes q
 * [rows*cols] (row = output), a scale and a zero point per cell of g, and
 * g_idx [cols] (each input's cell column; NULL: contiguous groups).
 * Dequantization is linq_dequant1(s.fmt, q, scale[cell], z[cell]). */
struct ql_codes {
	struct qscheme s;
	struct qgrid g;
	int64_t rows, cols;
	int32_t *q, *z, *gidx;
	float *scale;
	float global;			/* NVFP4: the per-tensor divisor of every scale */
};

/* Unpacks module prefix of any layout into kc; the codes only if
 * with_codes (the rest is small: enough to plan with).  The FP4 formats'
 * codes are E2M1 nibbles, their scales MXFP4's powers of two or NVFP4's
 * E4M3 values (with global); dequantization is then qblock_value's, not
 * linq's. */
int ql_unpack_codes(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int with_codes, struct ql_codes *kc, struct qerr *e);
void ql_codes_free(struct ql_codes *kc);

/* The ggml type whose blocks hold the module's codes (layout_ggml.c):
 * Q4_0 for 4-bit codes with the middle as zero point, Q4_1 for other
 * 4-bit zero points, Q8_0 for symmetric 8-bit codes, MXFP4 for MXFP4,
 * when the groups are whole blocks of 32 consecutive inputs; NVFP4 for
 * NVFP4 in rows of whole 64-element blocks (ggml's block has no global
 * scale: 1/global goes beside it, llama.cpp's ".scale" tensor).  *inexact counts the cells whose
 * scale (or Q4_1's minimum -z*s) is not an f16 value and will be rounded
 * to one; 0 means the blocks dequantize to linq's values bit for bit.
 * -1 with the reason when no type holds the codes (kc without codes is
 * enough to decide). */
int ql_ggml_type(const struct ql_codes *kc, int64_t *inexact, struct qerr *e);
/* Those blocks for nrows rows (row i of out is the module's row rows[i]);
 * kc with codes, type from ql_ggml_type. */
void ql_ggml_blocks(const struct ql_codes *kc, int type, const uint64_t *rows, uint64_t nrows,
    unsigned char *out);

/* Only out and in, from the packed tensor (cheap; for planning). */
int ql_unpack_shape(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int64_t *rows, int64_t *cols, struct qerr *e);

/* The FP4 block formats (layout_fp4.c): compressed-tensors'
 * nvfp4-pack-quantized / mxfp4-pack-quantized parts of a qparams entry w
 * and its codes (qparams_codes), and back; gpt-oss's N_blocks/N_scales
 * experts back to transformers' N [E, in, out] (shape[3]). */
int ql_fp4_plan(const struct qscheme *s, const struct qgrid *g, struct ql_packed *p,
    struct qerr *e);
int ql_fp4_pack(const struct qp_entry *w, const int32_t *q, struct ql_packed *p, struct qerr *e);
int ql_fp4_unpack(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    float **out, int64_t *rows, int64_t *cols, int shape_only, struct qerr *e);
int ql_fp4_codes(const struct ql_config *c, const char *prefix, ql_find_fn find, void *ctx,
    int with_codes, struct ql_codes *kc, struct qerr *e);
int ql_gptoss_unpack(const char *name, ql_find_fn find, void *ctx, float **out,
    uint64_t shape[3], int shape_only, struct qerr *e);

/* Without a quantization_config: the one a loader would have read, from
 * the names (all n of them), dtypes and shapes of a checkpoint's tensors
 * (layout_detect.c).  NULL with a message when nothing is quantized, a
 * module matches no layout, or modules disagree. */
cJSON *ql_detect(const char *const *names, size_t n, ql_find_fn find, void *ctx, struct qerr *e);

/* Suffixes of the tensors that belong to a packed module (dropped when it
 * is unpacked to P.weight). */
int ql_is_part_suffix(const char *suffix);

#endif
