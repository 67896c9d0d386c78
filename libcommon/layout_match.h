/* layout_match: which scheme each module of a checkpoint with several
 * schemes was quantized under, as the loaders match a config's names
 * (private to layout_config.c and layout_match.c).
 *
 * compressed-tensors (compressed_tensors/utils/match.py, vLLM's
 * compressed_tensors/utils.py): a target or an ignore entry is a module
 * name compared exactly, "re:" + a Python regex matched at the start of
 * the name (re.match), or a class name ("Linear" matches every Linear).
 * Ignore wins; then a name match (exact or regex), then a class match.
 * When name matches of two groups disagree the loaders differ (vLLM takes
 * the first in the file, compressed-tensors the exact name over the regex):
 * ql_config_check refuses such a config.
 *
 * Quark (vLLM's quark.py): exclude entries are exact names or "re:"
 * regexes (globs with '*' as Quark writes them are read too); then the
 * first layer_quant_config key that matches (fnmatch when it has a '*',
 * else the name itself), else global_quant_config.
 *
 * GPTQModel's "dynamic" (vLLM's gptq_utils.get_dynamic_override): keys in
 * the file's order, "-:" + regex leaves the module in float, "+:" (or no
 * prefix) + regex overrides bits, group_size, sym, desc_act; re.match. */
#ifndef LAYOUT_MATCH_H
#define LAYOUT_MATCH_H

#include "layout.h"

/* How names are matched: compressed-tensors' targets, Quark's
 * layer_quant_config keys, GPTQModel's dynamic keys (regexes, re.match,
 * the first in the file wins; "-:" keys leave modules in float, given as
 * groups whose scheme has fmt QF_COUNT). */
enum { QLM_CT, QLM_QUARK, QLM_GPTQ };
struct ql_match *qlm_new(int mode, struct qerr *e);
void qlm_free(struct ql_match *m);
/* A group and its scheme; returns its index.  name: "group_0", a Quark
 * pattern... (for messages). */
int qlm_add_group(struct ql_match *m, const char *name, const struct qscheme *s, struct qerr *e);
/* A target of group g (compressed-tensors), or a Quark layer pattern. */
int qlm_add_target(struct ql_match *m, int g, const char *target, struct qerr *e);
int qlm_add_ignore(struct ql_match *m, const char *entry, struct qerr *e);
/* Quark: the scheme of modules no pattern matches (global_quant_config). */
void qlm_set_fallback(struct ql_match *m, int g);
/* Sorts the exact names; refuses one name targeted by two groups. */
int qlm_finish(struct ql_match *m, struct qerr *e);
const struct qscheme *qlm_lookup(const struct ql_match *m, const char *module);

/* c as the unpackers read it for module prefix: c itself with one scheme,
 * else a copy in *one with the module's scheme in s; NULL with a message
 * when the config leaves the module in float. */
const struct ql_config *ql_module_config(const struct ql_config *c, const char *prefix,
    struct ql_config *one, struct qerr *e);

#endif
