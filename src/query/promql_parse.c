/*
 * promql_parse.c - the PromQL parser (promql.h): recursive descent with
 * precedence climbing over the lexer's tokens, then the type check.
 *
 * Prometheus's grammar is a yacc one (generated_parser.y); what its
 * precedences and conflicts decide, this parser does by hand:
 *
 *	- binary operators climb by the table of prec(); ^ is the only
 *	  right-associative one;
 *	- unary + and - take an operand that only ^ and the postfix
 *	  modifiers bind tighter than, so -2^2 is -(2^2) and -a offset 5m is
 *	  -(a offset 5m); a sign before a number literal folds into it;
 *	- the postfix modifiers [range], [range:step], offset and @ apply to
 *	  the primary expression before them, never to a binary one;
 *	- an aggregation's name followed by neither '(' nor by/without is a
 *	  metric name, as are the keywords yacc lets stand for one (by,
 *	  offset, and, start ...).
 *
 * Errors read as yacc's error rules word them ("unexpected X in
 * grouping opts, expected \",\" or \")\""), and the first one found ends
 * the parse. The type check (check()) walks the finished tree in
 * Prometheus's checkAST order, so the first error is the same one.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "query/promql_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* ---- the functions ---- */

#define S	PROMQL_TYPE_SCALAR
#define V	PROMQL_TYPE_VECTOR
#define M	PROMQL_TYPE_MATRIX
#define STR	PROMQL_TYPE_STRING

/* Prometheus 3's float functions (promql/parser/functions.go), by name. */
const struct promql_func promql_funcs[] = {
	{ "abs", { V }, 1, 0, V },
	{ "absent", { V }, 1, 0, V },
	{ "absent_over_time", { M }, 1, 0, V },
	{ "acos", { V }, 1, 0, V },
	{ "acosh", { V }, 1, 0, V },
	{ "asin", { V }, 1, 0, V },
	{ "asinh", { V }, 1, 0, V },
	{ "atan", { V }, 1, 0, V },
	{ "atanh", { V }, 1, 0, V },
	{ "avg_over_time", { M }, 1, 0, V },
	{ "ceil", { V }, 1, 0, V },
	{ "changes", { M }, 1, 0, V },
	{ "clamp", { V, S, S }, 3, 0, V },
	{ "clamp_max", { V, S }, 2, 0, V },
	{ "clamp_min", { V, S }, 2, 0, V },
	{ "cos", { V }, 1, 0, V },
	{ "cosh", { V }, 1, 0, V },
	{ "count_over_time", { M }, 1, 0, V },
	{ "day_of_month", { V }, 1, 1, V },
	{ "day_of_week", { V }, 1, 1, V },
	{ "day_of_year", { V }, 1, 1, V },
	{ "days_in_month", { V }, 1, 1, V },
	{ "deg", { V }, 1, 0, V },
	{ "delta", { M }, 1, 0, V },
	{ "deriv", { M }, 1, 0, V },
	{ "double_exponential_smoothing", { M, S, S }, 3, 0, V },
	{ "exp", { V }, 1, 0, V },
	{ "first_over_time", { M }, 1, 0, V },
	{ "floor", { V }, 1, 0, V },
	{ "histogram_avg", { V }, 1, 0, V },
	{ "histogram_count", { V }, 1, 0, V },
	{ "histogram_fraction", { S, S, V }, 3, 0, V },
	{ "histogram_quantile", { S, V }, 2, 0, V },
	{ "histogram_quantiles", { V, STR, S, S }, 4, 9, V },
	{ "histogram_stddev", { V }, 1, 0, V },
	{ "histogram_stdvar", { V }, 1, 0, V },
	{ "histogram_sum", { V }, 1, 0, V },
	{ "hour", { V }, 1, 1, V },
	{ "idelta", { M }, 1, 0, V },
	{ "increase", { M }, 1, 0, V },
	{ "info", { V, V }, 2, 1, V },
	{ "irate", { M }, 1, 0, V },
	{ "label_join", { V, STR, STR, STR }, 4, -1, V },
	{ "label_replace", { V, STR, STR, STR, STR }, 5, 0, V },
	{ "last_over_time", { M }, 1, 0, V },
	{ "ln", { V }, 1, 0, V },
	{ "log10", { V }, 1, 0, V },
	{ "log2", { V }, 1, 0, V },
	{ "mad_over_time", { M }, 1, 0, V },
	{ "max_of", { S, S }, 2, 0, S },
	{ "max_over_time", { M }, 1, 0, V },
	{ "min_of", { S, S }, 2, 0, S },
	{ "min_over_time", { M }, 1, 0, V },
	{ "minute", { V }, 1, 1, V },
	{ "month", { V }, 1, 1, V },
	{ "pi", { 0 }, 0, 0, S },
	{ "predict_linear", { M, S }, 2, 0, V },
	{ "present_over_time", { M }, 1, 0, V },
	{ "quantile_over_time", { S, M }, 2, 0, V },
	{ "rad", { V }, 1, 0, V },
	{ "rate", { M }, 1, 0, V },
	{ "resets", { M }, 1, 0, V },
	{ "round", { V, S }, 2, 1, V },
	{ "scalar", { V }, 1, 0, S },
	{ "sgn", { V }, 1, 0, V },
	{ "sin", { V }, 1, 0, V },
	{ "sinh", { V }, 1, 0, V },
	{ "sort", { V }, 1, 0, V },
	{ "sort_by_label", { V, STR }, 2, -1, V },
	{ "sort_by_label_desc", { V, STR }, 2, -1, V },
	{ "sort_desc", { V }, 1, 0, V },
	{ "sqrt", { V }, 1, 0, V },
	{ "stddev_over_time", { M }, 1, 0, V },
	{ "stdvar_over_time", { M }, 1, 0, V },
	{ "sum_over_time", { M }, 1, 0, V },
	{ "tan", { V }, 1, 0, V },
	{ "tanh", { V }, 1, 0, V },
	{ "time", { 0 }, 0, 0, S },
	{ "timestamp", { V }, 1, 0, V },
	{ "ts_of_first_over_time", { M }, 1, 0, V },
	{ "ts_of_last_over_time", { M }, 1, 0, V },
	{ "ts_of_max_over_time", { M }, 1, 0, V },
	{ "ts_of_min_over_time", { M }, 1, 0, V },
	{ "vector", { S }, 1, 0, V },
	{ "year", { V }, 1, 1, V },
};
const size_t promql_nfuncs = sizeof(promql_funcs) / sizeof(promql_funcs[0]);

#undef S
#undef V
#undef M
#undef STR

const struct promql_func *
promql_func_find(const char *name, size_t len)
{
	size_t lo = 0, hi = promql_nfuncs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(promql_funcs[mid].name, name, len);

		if (c == 0 && promql_funcs[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return &promql_funcs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- names ---- */

static const char *const op_names[] = {
	"+", "-", "*", "/", "%", "^", "atan2",
	"==", "!=", ">", "<", ">=", "<=",
	"and", "or", "unless",
};

static const char *const agg_names[] = {
	"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
	"topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
};

const char *
promql_op_name(enum promql_op op)
{
	return (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ?
	    op_names[op] : "?";
}

const char *
promql_agg_name(enum promql_agg op)
{
	return (size_t)op < sizeof(agg_names) / sizeof(agg_names[0]) ?
	    agg_names[op] : "?";
}

const char *
promql_type_name(enum promql_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR:	return "scalar";
	case PROMQL_TYPE_VECTOR:	return "instant vector";
	case PROMQL_TYPE_MATRIX:	return "range vector";
	case PROMQL_TYPE_STRING:	return "string";
	case PROMQL_TYPE_NONE:		break;
	}
	return "none";
}

/* Go's ValueType string, which one message of Prometheus's uses. */
static const char *
value_type_word(enum promql_type t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR:	return "scalar";
	case PROMQL_TYPE_VECTOR:	return "vector";
	case PROMQL_TYPE_MATRIX:	return "matrix";
	case PROMQL_TYPE_STRING:	return "string";
	case PROMQL_TYPE_NONE:		break;
	}
	return "none";
}

enum promql_type
promql_type_of(const struct promql_node *e)
{
	switch (e->kind) {
	case PROMQL_NUMBER:		return PROMQL_TYPE_SCALAR;
	case PROMQL_STRING:		return PROMQL_TYPE_STRING;
	case PROMQL_VECTOR_SELECTOR:	return PROMQL_TYPE_VECTOR;
	case PROMQL_MATRIX_SELECTOR:	return PROMQL_TYPE_MATRIX;
	case PROMQL_SUBQUERY:		return PROMQL_TYPE_MATRIX;
	case PROMQL_UNARY:		return promql_type_of(e->un.expr);
	case PROMQL_BINARY:
		if (promql_type_of(e->bin.lhs) == PROMQL_TYPE_SCALAR &&
		    promql_type_of(e->bin.rhs) == PROMQL_TYPE_SCALAR)
			return PROMQL_TYPE_SCALAR;
		return PROMQL_TYPE_VECTOR;
	case PROMQL_AGGREGATE:		return PROMQL_TYPE_VECTOR;
	case PROMQL_CALL:		return e->call.func->ret;
	case PROMQL_PAREN:		return promql_type_of(e->paren.expr);
	case PROMQL_EXTERNAL:		return PROMQL_TYPE_VECTOR;
	}
	return PROMQL_TYPE_NONE;
}

/* ---- durations and numbers ---- */

int
promql_duration_parse(const char *s, size_t n, int64_t *ms)
{
	static const struct {
		const char	*unit;
		uint64_t	 ns;
	} units[] = {	/* biggest first */
		{ "y", 365ULL * 24 * 3600 * 1000000000 },
		{ "w", 7ULL * 24 * 3600 * 1000000000 },
		{ "d", 24ULL * 3600 * 1000000000 },
		{ "h", 3600ULL * 1000000000 },
		{ "m", 60ULL * 1000000000 },
		{ "s", 1000000000ULL },
		{ "ms", 1000000ULL },
	};
	const size_t nunits = sizeof(units) / sizeof(units[0]);
	uint64_t dur = 0;
	size_t i = 0, last = 0;
	int shown = n > 64 ? 64 : (int)n;

	*ms = 0;
	if (n == 1 && s[0] == '0')
		return 0;
	if (n == 0)
		return err_set(-EINVAL, "empty duration string");
	while (i < n) {
		uint64_t v = 0;
		size_t j = i, u;
		int over = 0;

		while (j < n && s[j] >= '0' && s[j] <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				over = 1;
			v = v * 10 + (uint64_t)(s[j] - '0');
			j++;
		}
		if (j == i || over)
			goto bad;
		i = j;
		while (j < n && !(s[j] >= '0' && s[j] <= '9'))
			j++;
		if (j == i)
			goto bad;
		for (u = 0; u < nunits; u++)
			if (strlen(units[u].unit) == j - i &&
			    memcmp(units[u].unit, s + i, j - i) == 0)
				break;
		if (u == nunits)
			return err_set(-EINVAL, "unknown unit \"%.*s\" in "
			    "duration \"%.*s\"", (int)(j - i > 16 ? 16 : j - i),
			    s + i, shown, s);
		if (u + 1 <= last)
			goto bad;
		last = u + 1;
		if (v > (1ULL << 63) / units[u].ns)
			return err_set(-ERANGE, "duration out of range");
		dur += v * units[u].ns;
		if (dur > (uint64_t)INT64_MAX)
			return err_set(-ERANGE, "duration out of range");
		i = j;
	}
	*ms = (int64_t)(dur / 1000000);
	return 0;
bad:
	return err_set(-EINVAL, "not a valid duration string: \"%.*s\"", shown,
	    s);
}

/*
 * A NUMBER token's value as Prometheus reads it: strconv.ParseInt with
 * base 0 (0x hex, a leading 0 octal), else strconv.ParseFloat.
 */
static int
number_value(const char *s, size_t n, double *v)
{
	char text[512], *end;
	int hex = n > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	int octal = n > 1 && s[0] == '0' && !hex;
	size_t i;
	unsigned long long u;
	double d;

	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, s, n);
	text[n] = '\0';
	for (i = hex ? 2 : 0; i < n; i++)
		if (!(text[i] >= '0' && text[i] <= (octal ? '7' : '9')) &&
		    !(hex && strchr("abcdefABCDEF", text[i]) != NULL))
			break;
	if (i == n && n > (hex ? 2u : 0u)) {
		errno = 0;
		u = strtoull(hex ? text + 2 : text, &end, hex ? 16 : octal ? 8 : 10);
		if (errno == 0 && u <= (unsigned long long)INT64_MAX) {
			*v = (double)u;
			return 0;
		}
	}
	if (hex)
		goto syntax;
	errno = 0;
	d = strtod(text, &end);
	if (end != text + n || n == 0)
		goto syntax;
	if (errno == ERANGE && isinf(d))
		return err_set(-EINVAL, "error parsing number: strconv.ParseFloat: "
		    "parsing \"%s\": value out of range", text);
	*v = d;
	return 0;
syntax:
	return err_set(-EINVAL, "error parsing number: strconv.ParseFloat: "
	    "parsing \"%s\": invalid syntax", text);
}

/* ---- the parser ---- */

struct parser {
	struct lexer	 lx;
	const char	*in;
	size_t		 n;
	struct tok	 tok;		/* the lookahead, when have */
	int		 have;
	int		 failed;
	int		 depth;
	struct buf	 err;		/* the first error */
	const struct promql_ext *x;	/* another language's, or NULL */
};

/* "line:col: parse error: " for a byte offset, as ParseErr.Error(). */
static void
fail_at(struct parser *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail_at(struct parser *p, uint32_t pos, const char *fmt, ...)
{
	size_t line = 1, last_nl = 0;
	int have_nl = 0;
	va_list ap;

	if (p->failed)
		return;
	p->failed = 1;
	if (pos > p->n)
		pos = (uint32_t)p->n;
	for (size_t i = 0; i < pos; i++)
		if (p->in[i] == '\n') {
			line++;
			last_nl = i;
			have_nl = 1;
		}
	if (p->x != NULL && p->x->loki_errors)
		buf_printf(&p->err, "parse error at line %zu, col %zu: ", line,
		    have_nl ? pos - last_nl : (size_t)pos + 1);
	else
		buf_printf(&p->err, "%zu:%zu: parse error: ", line,
		    have_nl ? pos - last_nl : (size_t)pos + 1);
	va_start(ap, fmt);
	buf_vprintf(&p->err, fmt, ap);
	va_end(ap);
}

static const struct tok *
peek(struct parser *p)
{
	if (!p->have) {
		lexer_next(&p->lx, &p->tok);
		p->have = 1;
	}
	return &p->tok;
}

static void
advance(struct parser *p)
{
	peek(p);
	p->have = 0;
}

/*
 * The lookahead is not what the grammar wants here: a lexer error is
 * reported as it is, anything else as yacc's error rules word it.
 */
static void
unexpected(struct parser *p, const char *context, const char *expected)
{
	const struct tok *t = peek(p);
	char desc[128];

	if (t->type == T_ERROR) {
		fail_at(p, t->pos, "%s", t->msg);
		return;
	}
	tok_desc(p->in, t, desc, sizeof(desc));
	fail_at(p, t->pos, "unexpected %s%s%s%s%s", desc,
	    *context ? " in " : "", context, *expected ? ", expected " : "",
	    expected);
}

static struct promql_node *
node_new(enum promql_kind kind, uint32_t pos)
{
	struct promql_node *e = xcalloc(1, sizeof(*e));

	e->kind = kind;
	e->pos = pos;
	e->height = 1;
	return e;
}

/*
 * Would a node over children this high be too high? A tree is walked
 * recursively (the check, the printer, promql_free(), an evaluator), so
 * its height is bounded, not only the parser's recursion: a chain of
 * binary operators or of subqueries grows the tree without it.
 */
static int
too_tall(struct parser *p, uint32_t child_height, uint32_t pos)
{
	if (child_height + 1 <= PROMQL_DEPTH_MAX)
		return 0;
	fail_at(p, pos, "the expression nests deeper than %d levels",
	    PROMQL_DEPTH_MAX);
	return 1;
}

static uint32_t
max_height(const struct promql_node *a, const struct promql_node *b)
{
	uint32_t ha = a != NULL ? a->height : 0, hb = b != NULL ? b->height : 0;

	return ha > hb ? ha : hb;
}

static void
labels_release(struct promql_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

void
promql_free(struct promql_node *e)
{
	if (e == NULL)
		return;
	switch (e->kind) {
	case PROMQL_NUMBER:
		break;
	case PROMQL_STRING:
		free(e->str.s);
		break;
	case PROMQL_VECTOR_SELECTOR:
		free(e->vs.name);
		selector_free(e->vs.sel);
		break;
	case PROMQL_MATRIX_SELECTOR:
		promql_free(e->ms.vs);
		break;
	case PROMQL_SUBQUERY:
		promql_free(e->sq.expr);
		break;
	case PROMQL_UNARY:
		promql_free(e->un.expr);
		break;
	case PROMQL_BINARY:
		promql_free(e->bin.lhs);
		promql_free(e->bin.rhs);
		labels_release(&e->bin.labels);
		labels_release(&e->bin.include);
		break;
	case PROMQL_AGGREGATE:
		promql_free(e->agg.param);
		promql_free(e->agg.expr);
		labels_release(&e->agg.grouping);
		break;
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs; i++)
			promql_free(e->call.args[i]);
		free(e->call.args);
		break;
	case PROMQL_PAREN:
		promql_free(e->paren.expr);
		break;
	case PROMQL_EXTERNAL:
		e->ext.x->free(e->ext.node);
		break;
	}
	free(e);
}

static struct promql_node *parse_expr(struct parser *p, int min_prec);

/* Precedence of a binary operator token, 0 for none. */
static int
prec(enum tok_type t)
{
	switch (t) {
	case T_LOR:
		return 1;
	case T_LAND: case T_LUNLESS:
		return 2;
	case T_EQLC: case T_NEQ: case T_GTR: case T_LSS: case T_GTE:
	case T_LTE:
		return 3;
	case T_ADD: case T_SUB:
		return 4;
	case T_MUL: case T_DIV: case T_MOD: case T_ATAN2:
		return 5;
	case T_POW:
		return 6;
	default:
		return 0;
	}
}
#define PREC_POW	6

static enum promql_op
tok_op(enum tok_type t)
{
	switch (t) {
	case T_ADD:	return PROMQL_ADD;
	case T_SUB:	return PROMQL_SUB;
	case T_MUL:	return PROMQL_MUL;
	case T_DIV:	return PROMQL_DIV;
	case T_MOD:	return PROMQL_MOD;
	case T_POW:	return PROMQL_POW;
	case T_ATAN2:	return PROMQL_ATAN2;
	case T_EQLC:	return PROMQL_EQLC;
	case T_NEQ:	return PROMQL_NEQ;
	case T_GTR:	return PROMQL_GTR;
	case T_LSS:	return PROMQL_LSS;
	case T_GTE:	return PROMQL_GTE;
	case T_LTE:	return PROMQL_LTE;
	case T_LAND:	return PROMQL_AND;
	case T_LOR:	return PROMQL_OR;
	default:	return PROMQL_UNLESS;
	}
}

/* Tokens yacc's maybe_label takes as a label name in grouping lists. */
static int
maybe_label(enum tok_type t)
{
	return t == T_IDENTIFIER || t == T_METRIC_IDENTIFIER ||
	    (t >= T_AGG_FIRST && t <= T_AGG_LAST) ||
	    (t >= T_KW_FIRST && t <= T_KW_LAST) ||
	    t == T_LAND || t == T_LOR || t == T_LUNLESS || t == T_ATAN2 ||
	    t == T_START || t == T_END;
}

static int
label_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/*
 * A quoted name in a grouping list: Prometheus 3 takes any UTF-8; here
 * it must be a name a series can hold, as a matcher's (labels.h).
 */
static int
quoted_name_ok(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL &&
	    labels_check_name(s, n, LABELS_RESERVED) == 0;
}

static void
labels_add(struct promql_labels *l, const char *s, size_t n)
{
	l->names = xrealloc(l->names, (l->n + 1) * sizeof(*l->names));
	l->names[l->n++] = xstrndup(s, n);
}

/* grouping_labels: "(" [label {"," label} [","]] ")" */
static int
parse_grouping(struct parser *p, struct promql_labels *out)
{
	const struct tok *t = peek(p);

	if (t->type != T_LEFT_PAREN) {
		unexpected(p, "grouping opts", "\"(\"");
		return -1;
	}
	advance(p);
	for (;;) {
		t = peek(p);
		if (t->type == T_RIGHT_PAREN) {
			advance(p);
			return 0;
		}
		if (maybe_label(t->type)) {
			if (!label_name_ok(p->in + t->pos, t->len)) {
				fail_at(p, t->pos, "invalid label name for "
				    "grouping: \"%.*s\"", (int)t->len,
				    p->in + t->pos);
				return -1;
			}
			labels_add(out, p->in + t->pos, t->len);
		} else if (t->type == T_STRING) {
			size_t len;
			char *s = promql_unquote(p->in + t->pos, t->len, &len);
			struct buf q;

			if (!quoted_name_ok(s, len)) {
				buf_init(&q, 0);
				promql_quote(s, len, &q);
				fail_at(p, t->pos + 1, "invalid label name for "
				    "grouping: %s", buf_str(&q));
				buf_release(&q);
				free(s);
				return -1;
			}
			labels_add(out, s, len);
			free(s);
		} else {
			unexpected(p, "grouping opts", "label");
			return -1;
		}
		advance(p);
		t = peek(p);
		if (t->type == T_COMMA)
			advance(p);
		else if (t->type != T_RIGHT_PAREN) {
			unexpected(p, "grouping opts", "\",\" or \")\"");
			return -1;
		}
	}
}

/* function_call_body: "(" [expr {"," expr}] ")", into a new array. */
static int
parse_args(struct parser *p, struct promql_node ***args, size_t *nargs)
{
	const struct tok *t;
	uint32_t comma;

	*args = NULL;
	*nargs = 0;
	advance(p);	/* ( */
	if (peek(p)->type == T_RIGHT_PAREN) {
		advance(p);
		return 0;
	}
	for (;;) {
		struct promql_node *e = parse_expr(p, 1);

		if (e == NULL)
			return -1;
		*args = xrealloc(*args, (*nargs + 1) * sizeof(**args));
		(*args)[(*nargs)++] = e;
		t = peek(p);
		if (t->type == T_RIGHT_PAREN) {
			advance(p);
			return 0;
		}
		if (t->type != T_COMMA) {
			unexpected(p, "", "");
			return -1;
		}
		comma = t->pos;
		advance(p);
		t = peek(p);
		if (t->type == T_RIGHT_PAREN) {
			fail_at(p, comma, "trailing commas not allowed in "
			    "function call args");
			return -1;
		}
	}
}

static void
args_free(struct promql_node **args, size_t n)
{
	for (size_t i = 0; i < n; i++)
		promql_free(args[i]);
	free(args);
}

static struct promql_node *
parse_call(struct parser *p, const struct tok *name)
{
	struct promql_node *e, **args;
	const struct promql_func *f;
	size_t nargs;

	if (parse_args(p, &args, &nargs) != 0) {
		args_free(args, nargs);
		return NULL;
	}
	f = promql_func_find(p->in + name->pos, name->len);
	if (f == NULL) {
		fail_at(p, name->pos, "unknown function with name \"%.*s\"",
		    (int)name->len, p->in + name->pos);
		args_free(args, nargs);
		return NULL;
	}
	e = node_new(PROMQL_CALL, name->pos);
	e->call.func = f;
	e->call.args = args;
	e->call.nargs = nargs;
	for (size_t i = 0; i < nargs; i++)
		if (args[i]->height + 1 > e->height)
			e->height = args[i]->height + 1;
	if (too_tall(p, e->height - 1, e->pos)) {
		promql_free(e);
		return NULL;
	}
	return e;
}

static int
agg_with_param(enum promql_agg op)
{
	return op == PROMQL_TOPK || op == PROMQL_BOTTOMK ||
	    op == PROMQL_QUANTILE || op == PROMQL_COUNT_VALUES ||
	    op == PROMQL_LIMITK || op == PROMQL_LIMIT_RATIO;
}

static struct promql_node *
parse_aggregate(struct parser *p, const struct tok *op)
{
	struct promql_node *e = node_new(PROMQL_AGGREGATE, op->pos);
	struct promql_node **args = NULL;
	size_t nargs = 0, want;
	int have_mod = 0;
	const struct tok *t;

	e->agg.op = (enum promql_agg)(op->type - T_SUM);
	t = peek(p);
	if (t->type == T_BY || t->type == T_WITHOUT) {
		e->agg.without = t->type == T_WITHOUT;
		advance(p);
		if (parse_grouping(p, &e->agg.grouping) != 0)
			goto fail;
		have_mod = 1;
	}
	if (peek(p)->type != T_LEFT_PAREN) {
		unexpected(p, "aggregation", "");
		goto fail;
	}
	if (parse_args(p, &args, &nargs) != 0)
		goto fail;
	t = peek(p);
	if (!have_mod && (t->type == T_BY || t->type == T_WITHOUT)) {
		e->agg.without = t->type == T_WITHOUT;
		advance(p);
		if (parse_grouping(p, &e->agg.grouping) != 0)
			goto fail;
	}
	if (nargs == 0) {
		fail_at(p, e->pos, "no arguments for aggregate expression "
		    "provided");
		goto fail;
	}
	want = agg_with_param(e->agg.op) ? 2 : 1;
	if (nargs != want) {
		fail_at(p, e->pos, "wrong number of arguments for aggregate "
		    "expression provided, expected %zu, got %zu", want, nargs);
		goto fail;
	}
	if (want == 2)
		e->agg.param = args[0];
	e->agg.expr = args[want - 1];
	free(args);
	args = NULL;
	nargs = 0;
	e->height = max_height(e->agg.param, e->agg.expr) + 1;
	if (too_tall(p, e->height - 1, e->pos))
		goto fail;
	return e;
fail:
	args_free(args, nargs);
	promql_free(e);
	return NULL;
}

/* vector_selector: [name] ["{" matchers "}"] */
static struct promql_node *
parse_selector(struct parser *p, const char *name, size_t name_len,
    uint32_t pos)
{
	struct promql_node *e = node_new(PROMQL_VECTOR_SELECTOR, pos);
	const struct tok *t;

	e->vs.name = xstrndup(name, name_len);
	e->vs.sel = selector_new();
	if (peek(p)->type == T_LEFT_BRACE) {
		advance(p);
		for (;;) {
			struct tok lt;
			char *lname, *value;
			size_t lname_len, value_len;
			enum matcher_op op;
			int rc;

			t = peek(p);
			if (t->type == T_RIGHT_BRACE) {
				advance(p);
				break;
			}
			if (t->type != T_IDENTIFIER && t->type != T_STRING) {
				unexpected(p, "label matching",
				    "identifier or \"}\"");
				goto fail;
			}
			lt = *t;
			advance(p);
			if (lt.type == T_STRING)
				lname = promql_unquote(p->in + lt.pos, lt.len,
				    &lname_len);
			else
				lname = xstrndup(p->in + lt.pos, lname_len =
				    lt.len);
			t = peek(p);
			switch (t->type) {
			case T_EQL:		op = MATCHER_EQ; break;
			case T_NEQ:		op = MATCHER_NE; break;
			case T_EQL_REGEX:	op = MATCHER_RE; break;
			case T_NEQ_REGEX:	op = MATCHER_NRE; break;
			default:
				if (lt.type == T_STRING) {
					/* {"metric"}: the name, in braces */
					rc = selector_add(e->vs.sel, MATCHER_EQ,
					    "__name__", 8, lname, lname_len);
					free(lname);
					if (rc != 0) {
						fail_at(p, lt.pos, "%s",
						    err_detail());
						goto fail;
					}
					goto next;
				}
				free(lname);
				unexpected(p, "label matching",
				    "label matching operator");
				goto fail;
			}
			advance(p);
			t = peek(p);
			if (t->type != T_STRING) {
				free(lname);
				unexpected(p, "label matching", "string");
				goto fail;
			}
			value = promql_unquote(p->in + t->pos, t->len, &value_len);
			advance(p);
			rc = selector_add(e->vs.sel, op, lname, lname_len, value,
			    value_len);
			free(lname);
			free(value);
			if (rc != 0) {
				fail_at(p, lt.pos, "%s", err_detail());
				goto fail;
			}
next:
			t = peek(p);
			if (t->type == T_COMMA)
				advance(p);
			else if (t->type != T_RIGHT_BRACE) {
				unexpected(p, "label matching",
				    "\",\" or \"}\"");
				goto fail;
			}
		}
	}
	if (name_len > 0 && selector_add(e->vs.sel, MATCHER_EQ, "__name__", 8,
	    name, name_len) != 0) {
		fail_at(p, pos, "%s", err_detail());
		goto fail;
	}
	return e;
fail:
	promql_free(e);
	return NULL;
}

/* A range, step or offset: a duration, or a number of seconds. */
static int
duration_tok(struct parser *p, const struct tok *t, int64_t *ms)
{
	double v;

	if (t->type == T_DURATION) {
		if (promql_duration_parse(p->in + t->pos, t->len, ms) != 0) {
			fail_at(p, t->pos, "%s", err_detail());
			return -1;
		}
		if (*ms == 0) {
			fail_at(p, t->pos, "duration must be greater than 0");
			return -1;
		}
		return 0;
	}
	if (number_value(p->in + t->pos, t->len, &v) != 0) {
		fail_at(p, t->pos, "%s", err_detail());
		return -1;
	}
	/* as a Go time.Duration: nanoseconds in an int64 */
	if (!(fabs(v) < 9223372036.0)) {
		fail_at(p, t->pos, "duration out of range");
		return -1;
	}
	*ms = (int64_t)(v * 1000);
	return 0;
}

static int64_t *
offset_of(struct promql_node *e)
{
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:	return &e->vs.offset_ms;
	case PROMQL_MATRIX_SELECTOR:	return &e->ms.vs->vs.offset_ms;
	case PROMQL_SUBQUERY:		return &e->sq.offset_ms;
	default:			return NULL;
	}
}

static int
at_of(struct promql_node *e, enum promql_at **at, int64_t **at_ms)
{
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
		*at = &e->vs.at, *at_ms = &e->vs.at_ms;
		return 0;
	case PROMQL_MATRIX_SELECTOR:
		*at = &e->ms.vs->vs.at, *at_ms = &e->ms.vs->vs.at_ms;
		return 0;
	case PROMQL_SUBQUERY:
		*at = &e->sq.at, *at_ms = &e->sq.at_ms;
		return 0;
	default:
		return -1;
	}
}

/* "[" range "]" or "[" range ":" [step] "]" after e. */
static struct promql_node *
parse_range(struct parser *p, struct promql_node *e)
{
	uint32_t lpos = peek(p)->pos;
	const struct tok *t;
	struct promql_node *r;
	int64_t range, step = 0;

	advance(p);
	t = peek(p);
	if (t->type != T_NUMBER && t->type != T_DURATION) {
		unexpected(p, "subquery selector", "number or duration");
		return NULL;
	}
	if (duration_tok(p, t, &range) != 0)
		return NULL;
	/*
	 * A number of seconds under a millisecond too: Prometheus 3 takes
	 * [0] and prints it [0s], which it refuses to read back.
	 */
	if (range == 0) {
		fail_at(p, t->pos, "duration must be greater than 0");
		return NULL;
	}
	advance(p);
	t = peek(p);
	if (t->type == T_RIGHT_BRACKET) {
		const char *why = NULL;

		if (e->kind != PROMQL_VECTOR_SELECTOR)
			why = "ranges only allowed for vector selectors";
		else if (e->vs.offset_ms != 0)
			why = "no offset modifiers allowed before range";
		else if (e->vs.at == PROMQL_AT_TIME)
			why = "no @ modifiers allowed before range";
		if (why != NULL) {
			fail_at(p, lpos, "%s", why);
			return NULL;
		}
		if (too_tall(p, e->height, e->pos))
			return NULL;
		advance(p);
		r = node_new(PROMQL_MATRIX_SELECTOR, e->pos);
		r->height = e->height + 1;
		r->ms.vs = e;
		r->ms.range_ms = range;
		return r;
	}
	if (t->type != T_COLON) {
		unexpected(p, "subquery or range", "\":\" or \"]\"");
		return NULL;
	}
	advance(p);
	t = peek(p);
	if (t->type == T_NUMBER || t->type == T_DURATION) {
		if (duration_tok(p, t, &step) != 0)
			return NULL;
		advance(p);
		t = peek(p);
		if (t->type != T_RIGHT_BRACKET) {
			unexpected(p, "subquery selector", "\"]\"");
			return NULL;
		}
	} else if (t->type != T_RIGHT_BRACKET) {
		unexpected(p, "subquery selector",
		    "number or duration or \"]\"");
		return NULL;
	}
	if (too_tall(p, e->height, e->pos))
		return NULL;
	advance(p);
	r = node_new(PROMQL_SUBQUERY, e->pos);
	r->height = e->height + 1;
	r->sq.expr = e;
	r->sq.range_ms = range;
	r->sq.step_ms = step;
	return r;
}

static int
parse_offset(struct parser *p, struct promql_node *e)
{
	const struct tok *t;
	int64_t *off, ms;
	int neg = 0;

	advance(p);
	if (peek(p)->type == T_SUB) {
		neg = 1;
		advance(p);
	}
	t = peek(p);
	if (t->type != T_NUMBER && t->type != T_DURATION) {
		unexpected(p, "offset", "number or duration");
		return -1;
	}
	if (duration_tok(p, t, &ms) != 0)
		return -1;
	advance(p);
	if ((off = offset_of(e)) == NULL) {
		fail_at(p, e->pos, "offset modifier must be preceded by an "
		    "instant vector selector or range vector selector or a "
		    "subquery");
		return -1;
	}
	if (*off != 0) {
		fail_at(p, e->pos, "offset may not be set multiple times");
		return -1;
	}
	*off = neg ? -ms : ms;
	return 0;
}

static int
parse_at(struct parser *p, struct promql_node *e)
{
	const struct tok *t;
	enum promql_at kind, *at;
	int64_t *at_ms, ms = 0;
	double v;
	int neg = 0;

	advance(p);
	t = peek(p);
	if (t->type == T_START || t->type == T_END) {
		kind = t->type == T_START ? PROMQL_AT_START : PROMQL_AT_END;
		advance(p);
		if (peek(p)->type != T_LEFT_PAREN) {
			unexpected(p, "@", "timestamp");
			return -1;
		}
		advance(p);
		if (peek(p)->type != T_RIGHT_PAREN) {
			unexpected(p, "@", "timestamp");
			return -1;
		}
		advance(p);
	} else {
		if (t->type == T_ADD || t->type == T_SUB) {
			neg = t->type == T_SUB;
			advance(p);
			t = peek(p);
		}
		if (t->type == T_DURATION) {
			/* Prometheus 3: a duration is a number of seconds */
			if (promql_duration_parse(p->in + t->pos, t->len,
			    &ms) != 0) {
				fail_at(p, t->pos, "%s", err_detail());
				return -1;
			}
			v = (double)ms / 1000.0;
		} else if (t->type != T_NUMBER) {
			unexpected(p, "@", "timestamp");
			return -1;
		} else if (number_value(p->in + t->pos, t->len, &v) != 0) {
			fail_at(p, t->pos, "%s", err_detail());
			return -1;
		}
		advance(p);
		if (neg)
			v = -v;
		kind = PROMQL_AT_TIME;
		/* Prometheus's bounds, and milliseconds that fit an int64 */
		if (isinf(v) || isnan(v) || v >= 9223372036854775807.0 ||
		    v <= -9223372036854775808.0 ||
		    !(fabs(v * 1000) < 9223372036854775808.0)) {
			fail_at(p, e->pos, "timestamp out of bounds for @ "
			    "modifier: %f", v);
			return -1;
		}
		ms = (int64_t)llround(v * 1000);
	}
	if (at_of(e, &at, &at_ms) != 0) {
		fail_at(p, e->pos, "@ modifier must be preceded by an instant "
		    "vector selector or range vector selector or a subquery");
		return -1;
	}
	if (*at != PROMQL_AT_NONE) {
		fail_at(p, e->pos, "@ <timestamp> may not be set multiple times");
		return -1;
	}
	*at = kind;
	*at_ms = ms;
	return 0;
}

/* The modifiers after a primary expression: [..], offset, @. */
static struct promql_node *
parse_postfix(struct parser *p, struct promql_node *e)
{
	for (;;) {
		struct promql_node *r;

		switch (peek(p)->type) {
		case T_LEFT_BRACKET:
			if ((r = parse_range(p, e)) == NULL)
				goto fail;
			e = r;
			break;
		case T_OFFSET:
			if (parse_offset(p, e) != 0)
				goto fail;
			break;
		case T_AT:
			if (parse_at(p, e) != 0)
				goto fail;
			break;
		default:
			return e;
		}
	}
fail:
	promql_free(e);
	return NULL;
}

/* Whether the language x has PromQL's function or aggregation name. */
static int
ext_has(const struct promql_ext *x, const char *name, size_t len)
{
	if (x->funcs == NULL)
		return 1;
	for (const char *const *f = x->funcs; *f != NULL; f++)
		if (strlen(*f) == len && strncasecmp(*f, name, len) == 0)
			return 1;
	return 0;
}

/*
 * A call in another language's query: the language parses its own
 * nodes from the name on, and the lexer goes on after them; PromQL's
 * functions it has are PromQL calls.
 */
static struct promql_node *
parse_external(struct parser *p, const struct tok *name)
{
	struct promql_node *e;
	size_t end = 0;
	void *node = NULL;
	int rc;

	rc = p->x->parse(p->in, p->n, name->pos, &end, &node);
	if (rc < 0 && strncmp(err_detail(), "parse error", 11) == 0 &&
	    !p->failed) {
		/* placed already, by a parser of the language's own */
		p->failed = 1;
		buf_puts(&p->err, err_detail());
		return NULL;
	}
	if (rc < 0) {
		fail_at(p, (uint32_t)end, "%s", err_detail());
		return NULL;
	}
	if (rc > 0) {
		if (!ext_has(p->x, p->in + name->pos, name->len)) {
			fail_at(p, name->pos, "syntax error: unexpected "
			    "IDENTIFIER");
			return NULL;
		}
		return parse_call(p, name);
	}
	e = node_new(PROMQL_EXTERNAL, name->pos);
	e->ext.x = p->x;
	e->ext.node = node;
	/* the "(" peeked was counted open; the language read its ")" */
	p->lx.paren_depth--;
	lexer_seek(&p->lx, end);
	p->have = 0;
	return e;
}

static struct promql_node *
parse_primary(struct parser *p)
{
	struct tok t = *peek(p);
	struct promql_node *e, *inner;
	int64_t ms;

	switch (t.type) {
	case T_NUMBER:
		e = node_new(PROMQL_NUMBER, t.pos);
		if (number_value(p->in + t.pos, t.len, &e->num.value) != 0) {
			fail_at(p, t.pos, "%s", err_detail());
			free(e);
			return NULL;
		}
		advance(p);
		return e;
	case T_DURATION:
		if (duration_tok(p, &t, &ms) != 0)
			return NULL;
		advance(p);
		e = node_new(PROMQL_NUMBER, t.pos);
		e->num.value = (double)ms / 1000;
		e->num.duration = 1;
		return e;
	case T_STRING:
		e = node_new(PROMQL_STRING, t.pos);
		e->str.s = promql_unquote(p->in + t.pos, t.len, &e->str.len);
		advance(p);
		return e;
	case T_LEFT_PAREN:
		advance(p);
		if ((inner = parse_expr(p, 1)) == NULL)
			return NULL;
		if (peek(p)->type != T_RIGHT_PAREN) {
			unexpected(p, "", "");
			promql_free(inner);
			return NULL;
		}
		if (too_tall(p, inner->height, t.pos)) {
			promql_free(inner);
			return NULL;
		}
		advance(p);
		e = node_new(PROMQL_PAREN, t.pos);
		e->height = inner->height + 1;
		e->paren.expr = inner;
		return e;
	case T_LEFT_BRACE:
		if (p->x != NULL)
			break;
		return parse_selector(p, "", 0, t.pos);
	case T_IDENTIFIER:
		advance(p);
		if (peek(p)->type == T_LEFT_PAREN) {
			if (p->x != NULL)
				return parse_external(p, &t);
			return parse_call(p, &t);
		}
		if (p->x != NULL) {
			fail_at(p, t.pos, "syntax error: unexpected IDENTIFIER");
			return NULL;
		}
		return parse_selector(p, p->in + t.pos, t.len, t.pos);
	case T_METRIC_IDENTIFIER: case T_BY: case T_LAND: case T_LOR:
	case T_LUNLESS: case T_OFFSET: case T_WITHOUT: case T_START:
	case T_END:
		advance(p);
		return parse_selector(p, p->in + t.pos, t.len, t.pos);
	default:
		break;
	}
	if (t.type >= T_AGG_FIRST && t.type <= T_AGG_LAST) {
		enum tok_type next;

		if (p->x != NULL && !ext_has(p->x, p->in + t.pos, t.len)) {
			fail_at(p, t.pos, "syntax error: unexpected %.*s",
			    (int)t.len, p->in + t.pos);
			return NULL;
		}
		advance(p);
		next = peek(p)->type;
		if (next == T_LEFT_PAREN || next == T_BY || next == T_WITHOUT)
			return parse_aggregate(p, &t);
		return parse_selector(p, p->in + t.pos, t.len, t.pos);
	}
	unexpected(p, "", "");
	return NULL;
}

static struct promql_node *
parse_unary(struct parser *p)
{
	struct tok t = *peek(p);
	struct promql_node *e, *u;

	if (t.type != T_ADD && t.type != T_SUB) {
		if ((e = parse_primary(p)) == NULL)
			return NULL;
		return parse_postfix(p, e);
	}
	advance(p);
	if ((e = parse_expr(p, PREC_POW)) == NULL)
		return NULL;
	if (e->kind == PROMQL_NUMBER) {
		if (t.type == T_SUB)
			e->num.value = -e->num.value;
		e->pos = t.pos;
		return e;
	}
	if (too_tall(p, e->height, t.pos)) {
		promql_free(e);
		return NULL;
	}
	u = node_new(PROMQL_UNARY, t.pos);
	u->height = e->height + 1;
	u->un.op = t.type == T_SUB ? PROMQL_SUB : PROMQL_ADD;
	u->un.expr = e;
	return u;
}

/* bool, on/ignoring (...), group_left/group_right [(...)] */
static int
parse_bin_modifiers(struct parser *p, struct promql_node *b)
{
	const struct tok *t = peek(p);

	if (t->type == T_BOOL) {
		b->bin.return_bool = 1;
		advance(p);
		t = peek(p);
	}
	if (t->type != T_ON && t->type != T_IGNORING)
		return 0;
	b->bin.on = t->type == T_ON;
	advance(p);
	if (parse_grouping(p, &b->bin.labels) != 0)
		return -1;
	t = peek(p);
	if (t->type != T_GROUP_LEFT && t->type != T_GROUP_RIGHT)
		return 0;
	b->bin.card = t->type == T_GROUP_LEFT ? PROMQL_MANY_TO_ONE :
	    PROMQL_ONE_TO_MANY;
	advance(p);
	if (peek(p)->type == T_LEFT_PAREN)
		return parse_grouping(p, &b->bin.include);
	return 0;
}

static struct promql_node *
parse_expr(struct parser *p, int min_prec)
{
	struct promql_node *lhs, *b;

	if (++p->depth > PROMQL_DEPTH_MAX) {
		fail_at(p, peek(p)->pos, "the expression nests deeper than %d "
		    "levels", PROMQL_DEPTH_MAX);
		lhs = NULL;
		goto out;
	}
	if ((lhs = parse_unary(p)) == NULL)
		goto out;
	for (;;) {
		const struct tok *t = peek(p);
		int pr = prec(t->type);

		if (pr == 0 || pr < min_prec)
			break;
		b = node_new(PROMQL_BINARY, lhs->pos);
		b->bin.op = tok_op(t->type);
		b->bin.op_pos = t->pos;
		b->bin.lhs = lhs;
		b->bin.matching = 1;
		b->bin.card = PROMQL_ONE_TO_ONE;
		lhs = b;
		advance(p);
		if (parse_bin_modifiers(p, b) != 0)
			goto fail;
		b->bin.rhs = parse_expr(p, pr == PREC_POW ? pr : pr + 1);
		if (b->bin.rhs == NULL)
			goto fail;
		b->height = max_height(b->bin.lhs, b->bin.rhs) + 1;
		if (too_tall(p, b->height - 1, b->pos))
			goto fail;
	}
out:
	p->depth--;
	return lhs;
fail:
	promql_free(lhs);
	p->depth--;
	return NULL;
}

/* ---- the type check: Prometheus's checkAST, first error only ---- */

static int is_comparison(enum promql_op op)
{
	return op >= PROMQL_EQLC && op <= PROMQL_LTE;
}

static int is_set(enum promql_op op)
{
	return op == PROMQL_AND || op == PROMQL_OR || op == PROMQL_UNLESS;
}

static int check(struct parser *p, struct promql_node *e);

static int
expect_type(struct parser *p, struct promql_node *e, enum promql_type want,
    const char *context)
{
	enum promql_type t;

	if (check(p, e) != 0)
		return -1;
	if ((t = promql_type_of(e)) != want) {
		fail_at(p, e->pos, "expected type %s in %s, got %s",
		    promql_type_name(want), context, promql_type_name(t));
		return -1;
	}
	return 0;
}

static int
check_binary(struct parser *p, struct promql_node *e)
{
	enum promql_type lt, rt;
	const char *op = promql_op_name(e->bin.op);

	if (check(p, e->bin.lhs) != 0 || check(p, e->bin.rhs) != 0)
		return -1;
	lt = promql_type_of(e->bin.lhs);
	rt = promql_type_of(e->bin.rhs);
	if (e->bin.return_bool && !is_comparison(e->bin.op)) {
		fail_at(p, e->bin.op_pos, "bool modifier can only be used on "
		    "comparison operators");
		return -1;
	}
	if (is_comparison(e->bin.op) && !e->bin.return_bool &&
	    lt == PROMQL_TYPE_SCALAR && rt == PROMQL_TYPE_SCALAR) {
		fail_at(p, e->bin.op_pos, "comparisons between scalars must use "
		    "BOOL modifier");
		return -1;
	}
	if (is_set(e->bin.op) && e->bin.card == PROMQL_ONE_TO_ONE)
		e->bin.card = PROMQL_MANY_TO_MANY;
	if (e->bin.on)
		for (size_t i = 0; i < e->bin.labels.n; i++)
			for (size_t j = 0; j < e->bin.include.n; j++)
				if (strcmp(e->bin.labels.names[i],
				    e->bin.include.names[j]) == 0) {
					fail_at(p, e->bin.op_pos, "label \"%s\" "
					    "must not occur in ON and GROUP "
					    "clause at once",
					    e->bin.labels.names[i]);
					return -1;
				}
	if (lt != PROMQL_TYPE_SCALAR && lt != PROMQL_TYPE_VECTOR) {
		fail_at(p, e->bin.lhs->pos, "binary expression must contain "
		    "only scalar and instant vector types");
		return -1;
	}
	if (rt != PROMQL_TYPE_SCALAR && rt != PROMQL_TYPE_VECTOR) {
		fail_at(p, e->bin.rhs->pos, "binary expression must contain "
		    "only scalar and instant vector types");
		return -1;
	}
	if (lt != PROMQL_TYPE_VECTOR || rt != PROMQL_TYPE_VECTOR) {
		if (e->bin.labels.n > 0) {
			fail_at(p, e->pos, "vector matching only allowed "
			    "between instant vectors");
			return -1;
		}
		e->bin.matching = 0;
	} else if (is_set(e->bin.op)) {
		if (e->bin.card == PROMQL_ONE_TO_MANY ||
		    e->bin.card == PROMQL_MANY_TO_ONE) {
			fail_at(p, e->pos, "no grouping allowed for \"%s\" "
			    "operation", op);
			return -1;
		}
	}
	if ((lt == PROMQL_TYPE_SCALAR || rt == PROMQL_TYPE_SCALAR) &&
	    is_set(e->bin.op)) {
		fail_at(p, e->pos, "set operator \"%s\" not allowed in binary "
		    "scalar expression", op);
		return -1;
	}
	return 0;
}

static int
check_call(struct parser *p, struct promql_node *e)
{
	const struct promql_func *f = e->call.func;
	size_t nargs = (size_t)f->nargs, n = e->call.nargs;
	char context[80];

	if (f->variadic == 0) {
		if (n != nargs) {
			fail_at(p, e->pos, "expected %zu argument(s) in call to "
			    "\"%s\", got %zu", nargs, f->name, n);
			return -1;
		}
	} else {
		size_t na = nargs - 1;

		if (na > n) {
			fail_at(p, e->pos, "expected at least %zu argument(s) "
			    "in call to \"%s\", got %zu", na, f->name, n);
			return -1;
		}
		if (f->variadic > 0 && na + (size_t)f->variadic < n) {
			fail_at(p, e->pos, "expected at most %zu argument(s) "
			    "in call to \"%s\", got %zu",
			    na + (size_t)f->variadic, f->name, n);
			return -1;
		}
	}
	snprintf(context, sizeof(context), "call to function \"%s\"", f->name);
	for (size_t i = 0; i < n; i++) {
		size_t k = i < nargs ? i : nargs - 1;

		if (expect_type(p, e->call.args[i], f->args[k], context) != 0)
			return -1;
	}
	return 0;
}

static int
check_selector(struct parser *p, struct promql_node *e)
{
	size_t n = selector_count(e->vs.sel);

	if (e->vs.name[0] != '\0') {
		/* the name's own matcher is the last; another is a second name */
		for (size_t i = 0; i + 1 < n; i++) {
			const struct matcher *m = selector_at(e->vs.sel, i);

			if (strcmp(matcher_name(m), "__name__") == 0) {
				size_t len;
				const char *v = matcher_value(m, &len);
				struct buf a, b;

				buf_init(&a, 0);
				buf_init(&b, 0);
				promql_quote(e->vs.name, strlen(e->vs.name), &a);
				promql_quote(v, len, &b);
				fail_at(p, e->pos, "metric name must not be set "
				    "twice: %s or %s", buf_str(&a), buf_str(&b));
				buf_release(&a);
				buf_release(&b);
				return -1;
			}
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!matcher_matches_empty(selector_at(e->vs.sel, i)))
			return 0;
	fail_at(p, e->pos, "vector selector must contain at least one "
	    "non-empty matcher");
	return -1;
}

static int
check(struct parser *p, struct promql_node *e)
{
	enum promql_type t;

	switch (e->kind) {
	case PROMQL_NUMBER:
	case PROMQL_STRING:
		return 0;
	case PROMQL_VECTOR_SELECTOR:
		return check_selector(p, e);
	case PROMQL_MATRIX_SELECTOR:
		return check(p, e->ms.vs);
	case PROMQL_SUBQUERY:
		if (check(p, e->sq.expr) != 0)
			return -1;
		if ((t = promql_type_of(e->sq.expr)) != PROMQL_TYPE_VECTOR) {
			fail_at(p, e->pos, "subquery is only allowed on instant "
			    "vector, got %s instead", value_type_word(t));
			return -1;
		}
		return 0;
	case PROMQL_UNARY:
		if (check(p, e->un.expr) != 0)
			return -1;
		t = promql_type_of(e->un.expr);
		if (t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR) {
			fail_at(p, e->pos, "unary expression only allowed on "
			    "expressions of type scalar or instant vector, got "
			    "\"%s\"", promql_type_name(t));
			return -1;
		}
		return 0;
	case PROMQL_BINARY:
		return check_binary(p, e);
	case PROMQL_AGGREGATE:
		if (expect_type(p, e->agg.expr, PROMQL_TYPE_VECTOR,
		    "aggregation expression") != 0)
			return -1;
		if (e->agg.op == PROMQL_COUNT_VALUES)
			return expect_type(p, e->agg.param, PROMQL_TYPE_STRING,
			    "aggregation parameter");
		if (e->agg.param != NULL)
			return expect_type(p, e->agg.param, PROMQL_TYPE_SCALAR,
			    "aggregation parameter");
		return 0;
	case PROMQL_CALL:
		return check_call(p, e);
	case PROMQL_PAREN:
		return check(p, e->paren.expr);
	case PROMQL_EXTERNAL:
		return 0;
	}
	return 0;
}

int
promql_parse(const char *query, size_t n, struct promql_node **out)
{
	return promql_parse_ext(query, n, NULL, out);
}

int
promql_parse_ext(const char *query, size_t n, const struct promql_ext *x,
    struct promql_node **out)
{
	struct parser p;
	struct promql_node *e = NULL;
	int rc = 0;

	*out = NULL;
	if (n > PROMQL_QUERY_MAX)
		return err_set(-EINVAL, "the query is longer than %d bytes",
		    PROMQL_QUERY_MAX);
	memset(&p, 0, sizeof(p));
	p.in = query;
	p.n = n;
	p.x = x;
	buf_init(&p.err, 0);
	lexer_init(&p.lx, query, n);
	if (peek(&p)->type == T_EOF)
		fail_at(&p, 0, "no expression found in input");
	else if ((e = parse_expr(&p, 1)) != NULL) {
		if (peek(&p)->type != T_EOF)
			unexpected(&p, "", "");
		else
			(void)check(&p, e);
	}
	if (p.failed) {
		rc = err_set(-EINVAL, "%s", buf_str(&p.err));
		promql_free(e);
		e = NULL;
	}
	buf_release(&p.err);
	*out = e;
	return rc;
}
