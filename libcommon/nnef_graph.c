/* graph.nnef and graph.quant parsing (spec/nnef.md §3, §4, §6).  Only as
 * much of the grammar as locating statements, variables and consumers
 * needs; everything is kept as byte spans so a rewrite can leave the rest
 * of the text untouched. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnef.h"

#define MAX_GRAPH_TEXT (256u << 20)	/* a graph.nnef larger than this is hostile */

enum tok { T_END, T_IDENT, T_STRING, T_NUMBER, T_PUNCT };

struct lexer {
	const char *s;
	size_t len, pos, line;
	enum tok t;
	size_t tb, te;			/* token span; strings: without quotes */
	char c;				/* punctuation character */
	const char *name;
	struct qerr *e;
};

static int
lex_error(struct lexer *lx, const char *what)
{
	return qerr_set(lx->e, "%s: line %zu: %s", lx->name, lx->line, what);
}

/* Advances to the next token; -1 on a lexical error. */
static int
next(struct lexer *lx)
{
	const char *s = lx->s;

	for (;;) {
		while (lx->pos < lx->len && isspace((unsigned char)s[lx->pos])) {
			if (s[lx->pos] == '\n')
				lx->line++;
			lx->pos++;
		}
		if (lx->pos < lx->len && s[lx->pos] == '#') {
			while (lx->pos < lx->len && s[lx->pos] != '\n')
				lx->pos++;
			continue;
		}
		break;
	}
	lx->tb = lx->pos;
	if (lx->pos >= lx->len) {
		lx->t = T_END;
		return 0;
	}
	char c = s[lx->pos];
	if (c == 'i' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '"') {
		/* tract's escaped identifier i"any text" */
		size_t p = lx->pos + 2;

		while (p < lx->len && s[p] != '"' && s[p] != '\n')
			p++;
		if (p >= lx->len || s[p] != '"')
			return lex_error(lx, "unterminated i\"...\" identifier");
		lx->t = T_IDENT;
		lx->tb = lx->pos;
		lx->te = p + 1;
		lx->pos = p + 1;
		return 0;
	}
	if (isalpha((unsigned char)c) || c == '_') {
		size_t p = lx->pos;

		while (p < lx->len && (isalnum((unsigned char)s[p]) || s[p] == '_'))
			p++;
		lx->t = T_IDENT;
		lx->te = p;
		lx->pos = p;
		return 0;
	}
	if (c == '\'' || c == '"') {
		size_t p = lx->pos + 1;

		while (p < lx->len && s[p] != c) {
			if (s[p] == '\\' && p + 1 < lx->len)
				p++;
			if (s[p] == '\n')
				return lex_error(lx, "newline inside a string");
			p++;
		}
		if (p >= lx->len)
			return lex_error(lx, "unterminated string");
		lx->t = T_STRING;	/* span includes the quotes */
		lx->tb = lx->pos;
		lx->te = p + 1;
		lx->pos = p + 1;
		return 0;
	}
	if (isdigit((unsigned char)c) || ((c == '-' || c == '.') && lx->pos + 1 < lx->len &&
	    (isdigit((unsigned char)s[lx->pos + 1]) || s[lx->pos + 1] == '.'))) {
		size_t p = lx->pos + 1;

		while (p < lx->len && (isalnum((unsigned char)s[p]) || s[p] == '.' ||
		    ((s[p] == '-' || s[p] == '+') && (s[p - 1] == 'e' || s[p - 1] == 'E'))))
			p++;
		lx->t = T_NUMBER;
		lx->te = p;
		lx->pos = p;
		return 0;
	}
	if (c == '-' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '>') {
		lx->t = T_PUNCT;
		lx->c = '>';		/* "->" */
		lx->pos += 2;
		lx->te = lx->pos;
		return 0;
	}
	if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f) {
		if ((unsigned char)c >= 0x80)	/* UTF-8 outside strings: not NNEF */
			return lex_error(lx, "non-ASCII byte outside a string");
		return lex_error(lx, "control character");
	}
	lx->t = T_PUNCT;
	lx->c = c;
	lx->pos++;
	lx->te = lx->pos;
	return 0;
}

static int
is_punct(const struct lexer *lx, char c)
{
	return lx->t == T_PUNCT && lx->c == c;
}

static int
is_word(const struct lexer *lx, const char *w)
{
	size_t n = strlen(w);

	return lx->t == T_IDENT && lx->te - lx->tb == n && memcmp(lx->s + lx->tb, w, n) == 0;
}

static char *
dup_span(const char *s, size_t b, size_t e)
{
	char *p = malloc(e - b + 1);

	if (p) {
		memcpy(p, s + b, e - b);
		p[e - b] = 0;
	}
	return p;
}

static int
expect(struct lexer *lx, char c)
{
	char msg[64];

	if (!is_punct(lx, c)) {
		snprintf(msg, sizeof msg, "expected '%c'", c);
		return lex_error(lx, msg);
	}
	return next(lx);
}

/* Skips a balanced bracket group starting at the current '(' '[' or '{'. */
static int
skip_group(struct lexer *lx)
{
	int depth = 0;

	do {
		if (lx->t == T_END)
			return lex_error(lx, "unbalanced brackets");
		if (lx->t == T_PUNCT && (lx->c == '(' || lx->c == '[' || lx->c == '{'))
			depth++;
		else if (lx->t == T_PUNCT && (lx->c == ')' || lx->c == ']' || lx->c == '}'))
			depth--;
		if (depth > 256)
			return lex_error(lx, "brackets nested too deep");
		if (next(lx) < 0)
			return -1;
	} while (depth > 0);
	return 0;
}

static int
is_literal_word(const struct lexer *lx)
{
	return is_word(lx, "true") || is_word(lx, "false");
}

static int
push(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void *p = realloc(*arr, nc * size);

		if (p == NULL)
			return -1;
		*arr = p;
		*cap = nc;
	}
	memset((char *)*arr + *n * size, 0, size);
	(*n)++;
	return 0;
}

/* One argument expression up to ',' or ')' at depth 0.  A lone identifier
 * is remembered; identifiers inside anything else are added as opaque
 * uses (name "?") so a consumer analysis never misses them. */
static int
parse_arg(struct lexer *lx, struct nnef_stmt *st, size_t *cap)
{
	struct nnef_arg *a;
	char *name = NULL;
	size_t begin, first_ident_b = 0, first_ident_e = 0, ntok = 0;
	int depth = 0, lone_ident = 0;

	if (lx->t == T_IDENT) {
		/* a named argument is IDENT '=' ... : look ahead without consuming */
		struct lexer save = *lx;

		if (next(lx) < 0)
			return -1;
		if (is_punct(lx, '=')) {
			name = dup_span(lx->s, save.tb, save.te);
			if (next(lx) < 0) {
				free(name);
				return -1;
			}
		} else {
			*lx = save;
		}
	}
	begin = lx->tb;
	size_t end = begin;
	while (!(depth == 0 && lx->t == T_PUNCT && (lx->c == ',' || lx->c == ')'))) {
		if (lx->t == T_END || (lx->t == T_PUNCT && lx->c == ';')) {
			free(name);
			return lex_error(lx, "unterminated argument list");
		}
		if (lx->t == T_PUNCT && (lx->c == '(' || lx->c == '['))
			depth++;
		if (lx->t == T_PUNCT && (lx->c == ')' || lx->c == ']'))
			depth--;
		if (depth > 256) {
			free(name);
			return lex_error(lx, "brackets nested too deep");
		}
		if (lx->t == T_IDENT && !is_literal_word(lx)) {
			if (ntok == 0) {
				first_ident_b = lx->tb;
				first_ident_e = lx->te;
				lone_ident = 1;
			} else if (push((void **)&st->args, &st->n_args, cap, sizeof *st->args) == 0) {
				a = &st->args[st->n_args - 1];
				a->name = strdup("?");
				a->ident = dup_span(lx->s, lx->tb, lx->te);
				a->begin = lx->tb;
				a->end = lx->te;
			}
		}
		ntok++;
		end = lx->te;
		if (next(lx) < 0) {
			free(name);
			return -1;
		}
	}
	if (ntok != 1)
		lone_ident = 0;
	if (ntok > 1 && first_ident_e > first_ident_b &&
	    push((void **)&st->args, &st->n_args, cap, sizeof *st->args) == 0) {
		/* the first identifier of a compound expression is a use too */
		a = &st->args[st->n_args - 1];
		a->name = strdup("?");
		a->ident = dup_span(lx->s, first_ident_b, first_ident_e);
		a->begin = first_ident_b;
		a->end = first_ident_e;
	}
	if (push((void **)&st->args, &st->n_args, cap, sizeof *st->args) < 0) {
		free(name);
		return qerr_set(lx->e, "%s: out of memory", lx->name);
	}
	a = &st->args[st->n_args - 1];
	a->name = name;
	a->ident = lone_ident ? dup_span(lx->s, first_ident_b, first_ident_e) : NULL;
	a->begin = begin;
	a->end = end;
	return 0;
}

static int
parse_stmt(struct lexer *lx, struct nnef_graph *g, size_t *cap)
{
	struct nnef_stmt *st;
	size_t lhs_cap = 0, args_cap = 0;

	if (push((void **)&g->stmts, &g->n_stmts, cap, sizeof *g->stmts) < 0)
		return qerr_set(lx->e, "%s: out of memory", lx->name);
	st = &g->stmts[g->n_stmts - 1];
	st->line = lx->line;
	st->lhs_begin = lx->tb;
	/* left-hand side: an identifier or a [..] / (..) list of them */
	if (is_punct(lx, '[') || is_punct(lx, '(')) {
		char close = lx->c == '[' ? ']' : ')';

		if (next(lx) < 0)
			return -1;
		while (!is_punct(lx, close)) {
			if (lx->t != T_IDENT)
				return lex_error(lx, "expected an identifier on the left-hand side");
			if (push((void **)&st->lhs, &st->n_lhs, &lhs_cap, sizeof *st->lhs) < 0)
				return qerr_set(lx->e, "%s: out of memory", lx->name);
			st->lhs[st->n_lhs - 1] = dup_span(lx->s, lx->tb, lx->te);
			if (next(lx) < 0)
				return -1;
			if (is_punct(lx, ',') && next(lx) < 0)
				return -1;
		}
		if (next(lx) < 0)
			return -1;
	} else if (lx->t == T_IDENT) {
		if (push((void **)&st->lhs, &st->n_lhs, &lhs_cap, sizeof *st->lhs) < 0)
			return qerr_set(lx->e, "%s: out of memory", lx->name);
		st->lhs[0] = dup_span(lx->s, lx->tb, lx->te);
		if (next(lx) < 0)
			return -1;
	} else {
		return lex_error(lx, "expected a statement");
	}
	st->lhs_end = lx->tb;
	while (st->lhs_end > st->lhs_begin && isspace((unsigned char)lx->s[st->lhs_end - 1]))
		st->lhs_end--;
	if (expect(lx, '=') < 0)
		return -1;
	/* right-hand side: op[<type>](args) or any other expression */
	if (lx->t == T_IDENT) {
		struct lexer save = *lx;
		size_t ob = lx->tb, oe = lx->te;

		if (next(lx) < 0)
			return -1;
		if (is_punct(lx, '<')) {
			if (next(lx) < 0)
				return -1;
			if (lx->t == T_IDENT)
				st->type_param = dup_span(lx->s, lx->tb, lx->te);
			while (!is_punct(lx, '>')) {
				if (lx->t == T_END || is_punct(lx, ';'))
					return lex_error(lx, "unterminated <type>");
				if (next(lx) < 0)
					return -1;
			}
			if (next(lx) < 0)
				return -1;
		}
		if (is_punct(lx, '(')) {
			st->op = dup_span(lx->s, ob, oe);
			st->op_begin = ob;
			st->op_end = lx->tb;
			if (next(lx) < 0)
				return -1;
			while (!is_punct(lx, ')')) {
				if (parse_arg(lx, st, &args_cap) < 0)
					return -1;
				if (is_punct(lx, ',') && next(lx) < 0)
					return -1;
			}
			st->args_end = lx->tb;
			if (next(lx) < 0)
				return -1;
			if (is_punct(lx, ';')) {
				st->end = lx->te;
				return next(lx);
			}
			/* a call inside a larger expression: treat as opaque */
		}
		*lx = save;
		free(st->op);
		free(st->type_param);
		st->op = NULL;
		st->type_param = NULL;
		for (size_t i = 0; i < st->n_args; i++) {
			free(st->args[i].name);
			free(st->args[i].ident);
		}
		st->n_args = 0;
	}
	/* opaque expression: every identifier in it is a use */
	st->op = strdup("");
	st->op_begin = st->op_end = lx->tb;
	while (!is_punct(lx, ';')) {
		if (lx->t == T_END || is_punct(lx, '}'))
			return lex_error(lx, "statement without ';'");
		if (lx->t == T_IDENT && !is_literal_word(lx)) {
			if (push((void **)&st->args, &st->n_args, &args_cap, sizeof *st->args) < 0)
				return qerr_set(lx->e, "%s: out of memory", lx->name);
			st->args[st->n_args - 1].name = strdup("?");
			st->args[st->n_args - 1].ident = dup_span(lx->s, lx->tb, lx->te);
			st->args[st->n_args - 1].begin = lx->tb;
			st->args[st->n_args - 1].end = lx->te;
		}
		if (next(lx) < 0)
			return -1;
	}
	st->args_end = lx->tb;
	st->end = lx->te;
	return next(lx);
}

/* The identifiers of a graph header's ( a, b, ... ) list. */
static int
ident_list(struct lexer *lx, char ***out, size_t *n)
{
	size_t cap = 0;

	if (!is_punct(lx, '('))
		return lex_error(lx, "expected '('");
	if (next(lx) < 0)
		return -1;
	while (!is_punct(lx, ')')) {
		if (lx->t != T_IDENT)
			return lex_error(lx, "expected an identifier in the graph header");
		if (push((void **)out, n, &cap, sizeof **out) < 0)
			return qerr_set(lx->e, "%s: out of memory", lx->name);
		(*out)[*n - 1] = dup_span(lx->s, lx->tb, lx->te);
		if (next(lx) < 0)
			return -1;
		if (is_punct(lx, ',') && next(lx) < 0)
			return -1;
		else if (!is_punct(lx, ')') && lx->t != T_IDENT)
			return lex_error(lx, "expected ',' or ')' in the graph header");
	}
	return next(lx);
}

static const struct nnef_arg *
named_arg(const struct nnef_stmt *st, const char *name)
{
	for (size_t i = 0; i < st->n_args; i++)
		if (st->args[i].name && strcmp(st->args[i].name, name) == 0)
			return &st->args[i];
	return NULL;
}

static int
collect_var(struct nnef_graph *g, size_t si, size_t *cap, const char *name, struct qerr *e)
{
	const struct nnef_stmt *st = &g->stmts[si];
	const struct nnef_arg *label = named_arg(st, "label"), *shape = named_arg(st, "shape");
	struct nnef_var *v;
	const char *p, *end;

	if (label == NULL || shape == NULL || label->end - label->begin < 2 ||
	    (g->text[label->begin] != '\'' && g->text[label->begin] != '"'))
		return qerr_set(e, "%s: line %zu: variable without a string label and a shape",
		    name, st->line);
	if (push((void **)&g->vars, &g->n_vars, cap, sizeof *g->vars) < 0)
		return qerr_set(e, "%s: out of memory", name);
	v = &g->vars[g->n_vars - 1];
	v->stmt = si;
	v->label = dup_span(g->text, label->begin + 1, label->end - 1);
	p = g->text + shape->begin;
	end = g->text + shape->end;
	if (*p++ != '[')
		return qerr_set(e, "%s: line %zu: variable shape is not a literal array", name, st->line);
	while (p < end && *p != ']') {
		char *q;
		unsigned long long d;

		while (p < end && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (p < end && *p == ']')
			break;
		if (v->rank == NNEF_MAX_RANK)
			return qerr_set(e, "%s: line %zu: variable of rank > 8", name, st->line);
		errno = 0;
		if (!isdigit((unsigned char)*p))
			return qerr_set(e, "%s: line %zu: variable shape entry is not a non-negative integer",
			    name, st->line);
		d = strtoull(p, &q, 10);
		if (errno || d > UINT32_MAX)
			return qerr_set(e, "%s: line %zu: variable extent too large", name, st->line);
		v->shape[v->rank++] = d;
		p = q;
	}
	return 0;
}

int
nnef_graph_parse(struct nnef_graph *g, const char *text, size_t len,
    const char *name, struct qerr *e)
{
	struct lexer lx = { 0 };
	size_t scap = 0, vcap = 0;

	memset(g, 0, sizeof *g);
	if (len > MAX_GRAPH_TEXT)
		return qerr_set(e, "%s: %zu bytes: graph.nnef too large", name, len);
	if (memchr(text, 0, len))
		return qerr_set(e, "%s: NUL byte in graph text", name);
	g->text = dup_span(text, 0, len);
	if (g->text == NULL)
		return qerr_set(e, "%s: out of memory", name);
	g->len = len;
	lx.s = g->text;
	lx.len = len;
	lx.line = 1;
	lx.name = name;
	lx.e = e;
	if (next(&lx) < 0)
		goto fail;
	if (!is_word(&lx, "version")) {
		lex_error(&lx, "expected 'version' first");
		goto fail;
	}
	/* top level: version, extensions, fragments, until the graph */
	while (!is_word(&lx, "graph")) {
		if (lx.t == T_END) {
			lex_error(&lx, "no graph definition");
			goto fail;
		}
		if (is_word(&lx, "fragment")) {
			while (!is_punct(&lx, ';') && !is_punct(&lx, '{')) {
				if (lx.t == T_END) {
					lex_error(&lx, "unterminated fragment");
					goto fail;
				}
				if ((is_punct(&lx, '(') || is_punct(&lx, '[')) ? skip_group(&lx) < 0 : next(&lx) < 0)
					goto fail;
			}
			if (is_punct(&lx, '{') ? skip_group(&lx) < 0 : next(&lx) < 0)
				goto fail;
			continue;
		}
		while (!is_punct(&lx, ';')) {	/* version / extension statement */
			if (lx.t == T_END || is_punct(&lx, '{')) {
				lex_error(&lx, "expected ';'");
				goto fail;
			}
			if (next(&lx) < 0)
				goto fail;
		}
		if (next(&lx) < 0)
			goto fail;
	}
	if (next(&lx) < 0)
		goto fail;
	if (lx.t != T_IDENT) {
		lex_error(&lx, "expected the graph name");
		goto fail;
	}
	g->name = dup_span(lx.s, lx.tb, lx.te);
	if (next(&lx) < 0 || ident_list(&lx, &g->inputs, &g->n_inputs) < 0 ||
	    expect(&lx, '>') < 0 || ident_list(&lx, &g->outputs, &g->n_outputs) < 0 ||
	    expect(&lx, '{') < 0)
		goto fail;
	while (!is_punct(&lx, '}')) {
		if (lx.t == T_END) {
			lex_error(&lx, "graph body without '}'");
			goto fail;
		}
		if (parse_stmt(&lx, g, &scap) < 0)
			goto fail;
	}
	for (size_t i = 0; i < g->n_stmts; i++)
		if (g->stmts[i].op && strcmp(g->stmts[i].op, "variable") == 0 &&
		    collect_var(g, i, &vcap, name, e) < 0)
			goto fail;
	return 0;
fail:
	nnef_graph_free(g);
	return -1;
}

void
nnef_graph_free(struct nnef_graph *g)
{
	for (size_t i = 0; i < g->n_stmts; i++) {
		struct nnef_stmt *st = &g->stmts[i];

		for (size_t j = 0; j < st->n_lhs; j++)
			free(st->lhs[j]);
		for (size_t j = 0; j < st->n_args; j++) {
			free(st->args[j].name);
			free(st->args[j].ident);
		}
		free(st->lhs);
		free(st->args);
		free(st->op);
		free(st->type_param);
	}
	for (size_t i = 0; i < g->n_vars; i++)
		free(g->vars[i].label);
	for (size_t i = 0; i < g->n_inputs; i++)
		free(g->inputs[i]);
	for (size_t i = 0; i < g->n_outputs; i++)
		free(g->outputs[i]);
	free(g->inputs);
	free(g->outputs);
	free(g->stmts);
	free(g->vars);
	free(g->text);
	free(g->name);
	memset(g, 0, sizeof *g);
}

long
nnef_graph_producer(const struct nnef_graph *g, const char *id)
{
	for (size_t i = 0; i < g->n_stmts; i++)
		for (size_t j = 0; j < g->stmts[i].n_lhs; j++)
			if (strcmp(g->stmts[i].lhs[j], id) == 0)
				return (long)i;
	return -1;
}

/* Ops that only rename axes of their first argument keep Q40 usable. */
static int
is_pass_through(const char *op)
{
	static const char *const ops[] = { "unsqueeze", "squeeze", "reshape" };

	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (strcmp(op, ops[i]) == 0)
			return 1;
	return 0;
}

static size_t
consumers_rec(const struct nnef_graph *g, const char *id, size_t *stmt, size_t *argpos,
    size_t max, size_t n, int depth)
{
	for (size_t i = 0; i < g->n_stmts; i++) {
		const struct nnef_stmt *st = &g->stmts[i];

		for (size_t j = 0; j < st->n_args; j++) {
			if (st->args[j].ident == NULL || strcmp(st->args[j].ident, id) != 0)
				continue;
			if (depth < 16 && st->args[j].name == NULL && j == 0 && st->n_lhs == 1 &&
			    is_pass_through(st->op)) {
				n = consumers_rec(g, st->lhs[0], stmt, argpos, max, n, depth + 1);
				continue;
			}
			if (n < max) {
				stmt[n] = i;
				argpos[n] = j;
			}
			n++;
		}
	}
	return n;
}

size_t
nnef_graph_consumers(const struct nnef_graph *g, const char *id,
    size_t *stmt, size_t *argpos, size_t max)
{
	return consumers_rec(g, id, stmt, argpos, max, 0, 0);
}

/* ---- graph.quant ---- */

static int
parse_number(struct lexer *lx, double *v, int64_t *iv, int *is_int)
{
	char buf[64];
	char *end;
	size_t n = lx->te - lx->tb;

	if (lx->t != T_NUMBER || n >= sizeof buf)
		return lex_error(lx, "expected a number");
	memcpy(buf, lx->s + lx->tb, n);
	buf[n] = 0;
	errno = 0;
	*is_int = strspn(buf, "-0123456789") == n;
	if (*is_int) {
		long long x = strtoll(buf, &end, 10);

		if (errno || *end)
			return lex_error(lx, "integer out of range");
		*iv = x;
		*v = (double)x;
	} else {
		*v = strtod(buf, &end);
		if (*end || errno == ERANGE)
			return lex_error(lx, "bad number");
		*iv = 0;
	}
	return next(lx);
}

int
nnef_quant_parse(struct nnef_quant *q, const char *text, size_t len,
    const char *name, struct qerr *e)
{
	struct lexer lx = { 0 };
	size_t cap = 0;

	memset(q, 0, sizeof *q);
	if (len > MAX_GRAPH_TEXT)
		return qerr_set(e, "%s: graph.quant too large", name);
	if (memchr(text, 0, len))
		return qerr_set(e, "%s: NUL byte in graph.quant", name);
	lx.s = text;
	lx.len = len;
	lx.line = 1;
	lx.name = name;
	lx.e = e;
	if (next(&lx) < 0)
		return -1;
	while (lx.t != T_END) {
		struct nnef_qentry *qe;
		int zl, sl;

		if (push((void **)&q->entries, &q->n, &cap, sizeof *q->entries) < 0)
			goto oom;
		qe = &q->entries[q->n - 1];
		if (lx.t == T_STRING && lx.s[lx.tb] == '"') {
			const char *k = lx.s + lx.tb + 1;
			size_t kn = lx.te - lx.tb - 2;

			/* tract: a quoted key must be a plain identifier */
			if (kn == 0 || !(isalpha((unsigned char)k[0]) || k[0] == '_') ||
			    strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") < kn) {
				lex_error(&lx, "quoted key is not a plain identifier (use i\"...\")");
				goto fail;
			}
			qe->tensor = dup_span(lx.s, lx.tb + 1, lx.te - 1);
		} else if (lx.t == T_IDENT && lx.s[lx.tb] == 'i' && lx.s[lx.tb + 1] == '"') {
			qe->tensor = dup_span(lx.s, lx.tb + 2, lx.te - 1);
		} else {
			lex_error(&lx, "expected a \"tensor\" key");
			goto fail;
		}
		for (size_t i = 0; i + 1 < q->n; i++)
			if (strcmp(q->entries[i].tensor, qe->tensor) == 0) {
				lex_error(&lx, "duplicate tensor key");
				goto fail;
			}
		if (next(&lx) < 0 || expect(&lx, ':') < 0)
			goto fail;
		if (!is_word(&lx, "zero_point_linear_quantize") && !is_word(&lx, "linear_quantize")) {
			lex_error(&lx, "tract accepts only zero_point_linear_quantize and linear_quantize");
			goto fail;
		}
		qe->op = dup_span(lx.s, lx.tb, lx.te);
		if (next(&lx) < 0 || expect(&lx, '(') < 0)
			goto fail;
		while (!is_punct(&lx, ')')) {
			char key[32];
			size_t kn = lx.te - lx.tb;
			double v = 0;
			int64_t iv = 0;
			int is_int = 0, bval = -1;

			if (lx.t != T_IDENT || kn >= sizeof key) {
				lex_error(&lx, "expected an argument name");
				goto fail;
			}
			memcpy(key, lx.s + lx.tb, kn);
			key[kn] = 0;
			if (next(&lx) < 0 || expect(&lx, '=') < 0)
				goto fail;
			if (is_word(&lx, "true") || is_word(&lx, "false")) {
				bval = is_word(&lx, "true");
				if (next(&lx) < 0)
					goto fail;
			} else if (parse_number(&lx, &v, &iv, &is_int) < 0) {
				goto fail;
			}
			zl = strcmp(key, "zero_point") == 0;
			sl = strcmp(key, "scale") == 0;
			if (zl && is_int && bval < 0) {
				qe->zero_point = iv;
				qe->has_zero_point = 1;
			} else if (sl && bval < 0) {
				qe->scale = v;
				qe->has_scale = 1;
			} else if (strcmp(key, "bits") == 0 && is_int && bval < 0) {
				qe->bits = iv;
				qe->has_bits = 1;
			} else if (strcmp(key, "signed") == 0 && bval >= 0) {
				qe->is_signed = bval;
				qe->has_signed = 1;
			} else if (strcmp(key, "symmetric") == 0 && bval >= 0) {
				qe->symmetric = bval;
			} else if (strcmp(key, "min") == 0 && bval < 0) {
				qe->min = v;
				qe->has_min = 1;
			} else if (strcmp(key, "max") == 0 && bval < 0) {
				qe->max = v;
				qe->has_max = 1;
			} else {
				lex_error(&lx, "unknown or ill-typed quantization argument");
				goto fail;
			}
			if (is_punct(&lx, ',') && next(&lx) < 0)
				goto fail;
		}
		if (next(&lx) < 0 || expect(&lx, ';') < 0)
			goto fail;
		if (strcmp(qe->op, "linear_quantize") == 0 ?
		    !(qe->has_min && qe->has_max && qe->has_bits) :
		    !(qe->has_zero_point && qe->has_scale && qe->has_bits && qe->has_signed)) {
			qerr_set(e, "%s: entry \"%s\": missing arguments for %s", name, qe->tensor, qe->op);
			goto fail;
		}
		if (qe->has_bits && !(qe->bits == 8 || qe->bits == 32)) {
			qerr_set(e, "%s: entry \"%s\": %lld bits (tract reads 8 or 32)", name, qe->tensor,
			    (long long)qe->bits);
			goto fail;
		}
	}
	return 0;
oom:
	qerr_set(e, "%s: out of memory", name);
fail:
	nnef_quant_free(q);
	return -1;
}

void
nnef_quant_free(struct nnef_quant *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->entries[i].tensor);
		free(q->entries[i].op);
	}
	free(q->entries);
	memset(q, 0, sizeof *q);
}

int
nnef_quant_format(const struct nnef_qentry *q, char *buf, size_t size)
{
	int is_plain = (isalpha((unsigned char)q->tensor[0]) || q->tensor[0] == '_') &&
	    strspn(q->tensor, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
	    strlen(q->tensor);
	const char *open = is_plain ? "\"" : "i\"";

	if (strcmp(q->op, "linear_quantize") == 0)
		return snprintf(buf, size, "%s%s\": linear_quantize(min = %.17g, max = %.17g, bits = %lld);\n",
		    open, q->tensor, q->min, q->max, (long long)q->bits);
	return snprintf(buf, size, "%s%s\": zero_point_linear_quantize(zero_point = %lld, scale = %.17g, "
	    "bits = %lld, signed = %s, symmetric = %s);\n", open, q->tensor, (long long)q->zero_point,
	    q->scale, (long long)q->bits, q->is_signed ? "true" : "false",
	    q->symmetric ? "true" : "false");
}
