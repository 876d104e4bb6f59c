/*
 * logql.c - the shape of a LogQL query: a log query (a selector and its
 * pipeline) or a metric query, which is PromQL's outer grammar with
 * LogQL's range aggregations as PromQL's external nodes (promql_ext):
 * PromQL's parser calls lq_parse_range() at each name followed by "(",
 * and the range aggregation is read here, its pipeline by
 * logql_pipe.c.
 *
 * A range aggregation (Loki's grammar):
 *
 *	op "(" [number ","] log_range ")" [("by" | "without") "(" names ")"]
 *	log_range: selector [pipeline] range [offset]
 *		 | selector range [pipeline] [offset]
 *		 | "(" selector [pipeline] ")" range [offset]
 *	range:	"[" duration "]"	offset: "offset" duration
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "model/matcher.h"
#include "query/logql_int.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

const char *const lq_range_names[] = {
	"count_over_time", "rate", "bytes_over_time", "bytes_rate",
	"absent_over_time",
	"sum_over_time", "avg_over_time", "min_over_time", "max_over_time",
	"stddev_over_time", "stdvar_over_time", "quantile_over_time",
	"first_over_time", "last_over_time", "rate_counter",
};
#define LQ_NOPS	(sizeof(lq_range_names) / sizeof(lq_range_names[0]))

/* PromQL's functions and aggregations that LogQL has. */
static const char *const lq_promql_funcs[] = {
	"sum", "avg", "count", "min", "max", "stddev", "stdvar", "topk",
	"bottomk", "sort", "sort_desc", "vector", "label_replace", NULL,
};

/* ---- scanning ---- */

struct scan {
	const char	*q;
	size_t		 n, pos;
};

static void
skip_space(struct scan *s)
{
	for (;;) {
		while (s->pos < s->n && isspace((unsigned char)s->q[s->pos]))
			s->pos++;
		if (s->pos < s->n && s->q[s->pos] == '#') {
			while (s->pos < s->n && s->q[s->pos] != '\n')
				s->pos++;
			continue;
		}
		return;
	}
}

static int
at_char(struct scan *s, char c)
{
	skip_space(s);
	return s->pos < s->n && s->q[s->pos] == c;
}

/* The word at pos (letters, digits, _), its length; 0 when none. */
static size_t
word_len(const struct scan *s)
{
	size_t i = s->pos;

	while (i < s->n && (isalnum((unsigned char)s->q[i]) || s->q[i] == '_'))
		i++;
	return i - s->pos;
}

static int
at_word(struct scan *s, const char *w)
{
	size_t len;

	skip_space(s);
	len = word_len(s);
	return len == strlen(w) && strncmp(s->q + s->pos, w, len) == 0;
}

/* What stands at pos, for "unexpected ..." as Loki's yacc names it. */
static const char *
token_name(const struct scan *s)
{
	char c;

	if (s->pos >= s->n)
		return "$end";
	c = s->q[s->pos];
	if (isalpha((unsigned char)c) || c == '_')
		return "IDENTIFIER";
	if (isdigit((unsigned char)c))
		return "NUMBER";
	switch (c) {
	case '"': case '`': return "STRING";
	case '{': return "{";
	case '}': return "}";
	case '(': return "(";
	case ')': return ")";
	case '[': return "[";
	case ']': return "]";
	case ',': return ",";
	case '|': return "|";
	}
	return "character";
}

static int
unexpected(struct scan *s, size_t *err_pos)
{
	*err_pos = s->pos;
	return err_set(-EINVAL, "syntax error: unexpected %s", token_name(s));
}

/*
 * The selector's text from '{' to its '}', strings skipped whole: its
 * length, or 0 when it is not closed.
 */
static size_t
selector_len(const char *q, size_t n, size_t pos)
{
	size_t i = pos + 1;
	char quote;

	while (i < n) {
		switch (q[i]) {
		case '}':
			return i + 1 - pos;
		case '"': case '\'': case '`':
			quote = q[i++];
			while (i < n && q[i] != quote) {
				if (quote != '`' && q[i] == '\\')
					i++;
				i++;
			}
			i++;
			break;
		default:
			i++;
		}
	}
	return 0;
}

/*
 * A selector at pos: LogQL's rules on top of matcher.h's syntax (no name
 * before the braces, at least one matcher).
 */
static int
parse_selector(struct scan *s, struct selector **out, size_t *err_pos)
{
	size_t len;
	int rc;

	*out = NULL;
	if (!at_char(s, '{'))
		return unexpected(s, err_pos);
	if ((len = selector_len(s->q, s->n, s->pos)) == 0) {
		*err_pos = s->n;
		return err_set(-EINVAL, "syntax error: unexpected $end, "
		    "expecting } or ,");
	}
	if (len == 2 || strspn(s->q + s->pos + 1, " \t\r\n") == len - 2) {
		*err_pos = s->pos;
		return err_set(-EINVAL, "syntax error: unexpected }, "
		    "expecting IDENTIFIER");
	}
	if ((rc = selector_parse(s->q + s->pos, len, out)) != 0) {
		*err_pos = s->pos;
		return rc;
	}
	s->pos += len;
	return 0;
}

/* A duration (Prometheus's units) at pos: 0 and *ns, or an error. */
static int
parse_duration(struct scan *s, int64_t *ns, size_t *err_pos)
{
	size_t start, len;
	int64_t ms;

	skip_space(s);
	start = s->pos;
	len = word_len(s);
	*err_pos = start;
	if (len == 0)
		return unexpected(s, err_pos);
	if (promql_duration_parse(s->q + start, len, &ms) != 0)
		return -EINVAL;		/* its words stand */
	s->pos += len;
	*ns = ms * 1000000;
	return 0;
}

/* A pipeline from pos: none is an empty one. */
static int
parse_pipeline(struct scan *s, struct logql_pipeline **out, size_t *err_pos)
{
	size_t pos = s->pos;
	int rc;

	if ((rc = logql_pipeline_parse(s->q, s->n, &pos, out)) != 0) {
		*err_pos = pos;
		return rc;
	}
	s->pos = pos;
	return 0;
}

static int
pipeline_empty(struct logql_pipeline *p)
{
	struct buf b;
	int empty;

	buf_init(&b, 0);
	logql_pipeline_format(p, &b);
	empty = b.len == 0;
	buf_release(&b);
	return empty;
}

static void
log_release(struct lq_log *l)
{
	selector_free(l->sel);
	logql_pipeline_free(l->pipe);
	memset(l, 0, sizeof(*l));
}

/* ---- range aggregations ---- */

static void
range_free(void *node)
{
	struct lq_range *r = node;

	if (r == NULL)
		return;
	log_release(&r->log);
	for (size_t i = 0; i < r->ngrouping; i++)
		free(r->grouping[i]);
	free(r->grouping);
	free(r);
}

/* "(" [name {"," name}] ")" after by or without */
static int
parse_grouping(struct scan *s, struct lq_range *r, size_t *err_pos)
{
	size_t len;

	if (!at_char(s, '('))
		return unexpected(s, err_pos);
	s->pos++;
	if (at_char(s, ')')) {
		s->pos++;
		return 0;
	}
	for (;;) {
		skip_space(s);
		len = word_len(s);
		if (len == 0 || isdigit((unsigned char)s->q[s->pos]))
			return unexpected(s, err_pos);
		r->grouping = xrealloc(r->grouping, (r->ngrouping + 1) *
		    sizeof(*r->grouping));
		r->grouping[r->ngrouping++] = xstrndup(s->q + s->pos, len);
		s->pos += len;
		if (at_char(s, ')')) {
			s->pos++;
			return 0;
		}
		if (!at_char(s, ','))
			return unexpected(s, err_pos);
		s->pos++;
	}
}

/* The log range inside a range aggregation's parentheses. */
static int
parse_log_range(struct scan *s, struct lq_range *r, size_t *err_pos)
{
	struct logql_pipeline *after = NULL;
	int rc, wrapped = 0;

	if (at_char(s, '(')) {
		wrapped = 1;
		s->pos++;
	}
	if ((rc = parse_selector(s, &r->log.sel, err_pos)) != 0)
		return rc;
	if ((rc = parse_pipeline(s, &r->log.pipe, err_pos)) != 0)
		return rc;
	if (wrapped) {
		if (!at_char(s, ')'))
			return unexpected(s, err_pos);
		s->pos++;
	}
	if (!at_char(s, '['))
		return unexpected(s, err_pos);
	s->pos++;
	if ((rc = parse_duration(s, &r->range_ns, err_pos)) != 0)
		return rc;
	if (!at_char(s, ']'))
		return unexpected(s, err_pos);
	s->pos++;
	if (r->range_ns <= 0) {
		*err_pos = s->pos;
		return err_set(-EINVAL, "the range of a range aggregation "
		    "must be positive");
	}
	/* {a="b"}[5m] | json: the pipeline may follow the range */
	if (!wrapped) {
		size_t at = s->pos;

		if ((rc = parse_pipeline(s, &after, err_pos)) != 0)
			return rc;
		if (!pipeline_empty(after)) {
			if (!pipeline_empty(r->log.pipe)) {
				logql_pipeline_free(after);
				s->pos = at;
				return unexpected(s, err_pos);
			}
			logql_pipeline_free(r->log.pipe);
			r->log.pipe = after;
		} else
			logql_pipeline_free(after);
	}
	if (at_word(s, "offset")) {
		s->pos += 6;
		if ((rc = parse_duration(s, &r->offset_ns, err_pos)) != 0)
			return rc;
	}
	return 0;
}

/*
 * PromQL's parser at name "(": a range aggregation, or 1 when the name
 * is not one.
 */
static int
lq_parse_range(const char *q, size_t n, size_t pos, size_t *end, void **node)
{
	struct scan s = { q, n, pos };
	struct lq_range *r;
	size_t len = word_len(&s), op;
	int rc;

	for (op = 0; op < LQ_NOPS; op++)
		if (strlen(lq_range_names[op]) == len &&
		    strncmp(lq_range_names[op], q + pos, len) == 0)
			break;
	if (op == LQ_NOPS)
		return 1;
	r = xcalloc(1, sizeof(*r));
	r->op = (enum lq_op)op;
	s.pos += len;
	if (!at_char(&s, '(')) {
		rc = unexpected(&s, end);
		goto fail;
	}
	s.pos++;
	if (r->op == LQ_QUANTILE_OVER_TIME) {
		char num[64], *e;
		size_t k = 0;

		/* the text may not end in a NUL: copy the number out */
		skip_space(&s);
		while (s.pos + k < n && k < sizeof(num) - 1 &&
		    strchr("0123456789.eE+-", q[s.pos + k]) != NULL &&
		    q[s.pos + k] != '\0') {
			num[k] = q[s.pos + k];
			k++;
		}
		num[k] = '\0';
		r->param = strtod(num, &e);
		if (e == num) {
			rc = unexpected(&s, end);
			goto fail;
		}
		s.pos += (size_t)(e - num);
		if (!at_char(&s, ',')) {
			rc = unexpected(&s, end);
			goto fail;
		}
		s.pos++;
	}
	if ((rc = parse_log_range(&s, r, end)) != 0)
		goto fail;
	if (!at_char(&s, ')')) {
		rc = unexpected(&s, end);
		goto fail;
	}
	s.pos++;
	if (at_word(&s, "by") || at_word(&s, "without")) {
		r->grouped = 1;
		r->without = s.q[s.pos] == 'w';
		s.pos += r->without ? 7 : 2;
		if ((rc = parse_grouping(&s, r, end)) != 0)
			goto fail;
	}
	if (r->op != LQ_RATE &&
	    logql_pipeline_unwraps(r->log.pipe) != (r->op >= LQ_UNWRAP_FIRST)) {
		*end = pos;
		rc = err_set(-EINVAL, r->op >= LQ_UNWRAP_FIRST ?
		    "invalid aggregation %s without unwrap" :
		    "invalid aggregation %s with unwrap",
		    lq_range_names[r->op]);
		goto fail;
	}
	if (r->grouped && r->op < LQ_UNWRAP_FIRST) {
		*end = pos;
		rc = err_set(-EINVAL, "grouping not allowed for %s aggregation",
		    lq_range_names[r->op]);
		goto fail;
	}
	*end = s.pos;
	*node = r;
	return 0;
fail:
	range_free(r);
	return rc;
}

static int
format_log(const struct lq_log *l, struct buf *b)
{
	selector_format(l->sel, b);
	return logql_pipeline_format(l->pipe, b);
}

static int
range_format(const void *node, struct buf *b)
{
	const struct lq_range *r = node;

	buf_printf(b, "%s(", lq_range_names[r->op]);
	if (r->op == LQ_QUANTILE_OVER_TIME) {
		promql_number_format(r->param, b);
		buf_puts(b, ",");
	}
	format_log(&r->log, b);
	buf_putc(b, '[');
	promql_duration_format(r->range_ns / 1000000, b);
	buf_putc(b, ']');
	if (r->offset_ns != 0) {
		buf_puts(b, " offset ");
		promql_duration_format(r->offset_ns / 1000000, b);
	}
	buf_putc(b, ')');
	if (r->grouped) {
		buf_puts(b, r->without ? " without (" : " by (");
		for (size_t i = 0; i < r->ngrouping; i++)
			buf_printf(b, "%s%s", i > 0 ? "," : "", r->grouping[i]);
		buf_putc(b, ')');
	}
	return 0;
}

const struct promql_ext lq_ext = {
	.parse = lq_parse_range,
	.free = range_free,
	.format = range_format,
	.eval = lq_range_eval,
	.funcs = lq_promql_funcs,
	.loki_errors = 1,
};

/* ---- queries ---- */

/*
 * Let each sum by or without over an additive range aggregation (counts,
 * bytes, rates, sums: the sum of the groups' values is the value of the
 * group) group that aggregation's samples, as Loki does: the answer is
 * the same, and the series held are the groups, not every label set the
 * pipeline makes.
 */
static void
push_sums(const struct promql_node *e)
{
	const struct promql_node *in;

	if (e == NULL)
		return;
	switch (e->kind) {
	case PROMQL_AGGREGATE:
		for (in = e->agg.expr; in->kind == PROMQL_PAREN;
		    in = in->paren.expr)
			;
		if (e->agg.op == PROMQL_SUM && in->kind == PROMQL_EXTERNAL) {
			struct lq_range *r = in->ext.node;

			if (!r->grouped && (r->op == LQ_COUNT_OVER_TIME ||
			    r->op == LQ_RATE || r->op == LQ_BYTES_OVER_TIME ||
			    r->op == LQ_BYTES_RATE ||
			    r->op == LQ_SUM_OVER_TIME))
				r->pushed = e;
		}
		push_sums(e->agg.param);
		push_sums(e->agg.expr);
		return;
	case PROMQL_BINARY:
		push_sums(e->bin.lhs);
		push_sums(e->bin.rhs);
		return;
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs; i++)
			push_sums(e->call.args[i]);
		return;
	case PROMQL_UNARY:
		push_sums(e->un.expr);
		return;
	case PROMQL_PAREN:
		push_sums(e->paren.expr);
		return;
	case PROMQL_SUBQUERY:
		push_sums(e->sq.expr);
		return;
	default:
		return;
	}
}

/* "parse error at line L, col C: " and the message, for an error at pos. */
static int
fail_at(const char *q, size_t pos, int rc)
{
	size_t line = 1, col = 1;
	char msg[1024];

	/* err_set() may not be given its own text */
	snprintf(msg, sizeof(msg), "%s", err_detail());
	if (strncmp(msg, "parse error", 11) == 0)
		return rc;	/* the pipeline's, placed already */
	for (size_t i = 0; i < pos; i++) {
		if (q[i] == '\n') {
			line++;
			col = 1;
		} else
			col++;
	}
	return err_set(rc, "parse error at line %zu, col %zu: %s", line, col,
	    msg);
}

/*
 * The first of PromQL's own selectors (or subqueries) in e outside the
 * range aggregations, or NULL.
 */
static const struct promql_node *
metric_selector(const struct promql_node *e)
{
	const struct promql_node *a;

	if (e == NULL)
		return NULL;
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
	case PROMQL_MATRIX_SELECTOR:
	case PROMQL_SUBQUERY:
		return e;
	case PROMQL_UNARY:
		return metric_selector(e->un.expr);
	case PROMQL_BINARY:
		if ((a = metric_selector(e->bin.lhs)) != NULL)
			return a;
		return metric_selector(e->bin.rhs);
	case PROMQL_AGGREGATE:
		if ((a = metric_selector(e->agg.param)) != NULL)
			return a;
		return metric_selector(e->agg.expr);
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs; i++)
			if ((a = metric_selector(e->call.args[i])) != NULL)
				return a;
		return NULL;
	case PROMQL_PAREN:
		return metric_selector(e->paren.expr);
	case PROMQL_NUMBER:
	case PROMQL_STRING:
	case PROMQL_EXTERNAL:
		return NULL;
	}
	return NULL;
}

int
logql_parse(const char *q, size_t n, struct logql_expr **out)
{
	const struct promql_node *sel;
	struct logql_expr *e;
	struct scan s = { q, n, 0 };
	size_t err_pos = 0;
	int rc;

	*out = NULL;
	if (n > LOGQL_QUERY_MAX)
		return err_set(-EINVAL, "the query is longer than %d bytes",
		    LOGQL_QUERY_MAX);
	if (memchr(q, '\0', n) != NULL)
		return err_set(-EINVAL, "the query holds a NUL byte");
	e = xcalloc(1, sizeof(*e));
	skip_space(&s);
	if (s.pos == n) {
		free(e);
		return err_set(-EINVAL, "parse error at line 1, col 1: "
		    "syntax error: unexpected $end");
	}
	if (q[s.pos] == '{') {
		/* a log query: a selector, its pipeline, and nothing else */
		e->is_log = 1;
		if ((rc = parse_selector(&s, &e->log.sel, &err_pos)) != 0 ||
		    (rc = parse_pipeline(&s, &e->log.pipe, &err_pos)) != 0)
			goto fail;
		skip_space(&s);
		if (s.pos != n) {
			rc = unexpected(&s, &err_pos);
			goto fail;
		}
		if (logql_pipeline_unwraps(e->log.pipe)) {
			err_pos = 0;
			rc = err_set(-EINVAL, "unwrap is only allowed in a "
			    "range aggregation");
			goto fail;
		}
		*out = e;
		return 0;
	}
	if ((rc = promql_parse_ext(q, n, &lq_ext, &e->metric)) != 0) {
		free(e);
		return rc;
	}
	push_sums(e->metric);
	if ((sel = metric_selector(e->metric)) != NULL) {
		/*
		 * PromQL's selectors parse, but LogQL has no metric series to
		 * select: a stream selector belongs in a range aggregation
		 */
		if (sel->kind == PROMQL_VECTOR_SELECTOR &&
		    selector_metric(sel->vs.sel) != NULL)
			rc = err_set(-EINVAL, "syntax error: unexpected "
			    "IDENTIFIER");
		else if (sel->kind == PROMQL_SUBQUERY)
			rc = err_set(-EINVAL, "syntax error: unexpected [, "
			    "LogQL has no subqueries");
		else
			rc = err_set(-EINVAL, "syntax error: unexpected {");
		err_pos = sel->pos;
		goto fail;
	}
	if (promql_type_of(e->metric) != PROMQL_TYPE_VECTOR &&
	    promql_type_of(e->metric) != PROMQL_TYPE_SCALAR) {
		logql_free(e);
		return err_set(-EINVAL, "parse error at line 1, col 1: a metric "
		    "query must be a vector or a scalar");
	}
	*out = e;
	return 0;
fail:
	rc = fail_at(q, err_pos, rc);
	logql_free(e);
	return rc;
}

void
logql_free(struct logql_expr *e)
{
	if (e == NULL)
		return;
	log_release(&e->log);
	promql_free(e->metric);
	free(e);
}

int
logql_is_log(const struct logql_expr *e)
{
	return e->is_log;
}

int
logql_format(const struct logql_expr *e, struct buf *b)
{
	if (e->is_log)
		return format_log(&e->log, b);
	return promql_format(e->metric, b);
}

/*
 * Whether a PromQL tree has a selector with a metric name: 1, 0, or -1
 * when it has no selector at all.
 */
static int
names_metric(const struct promql_node *e)
{
	int a, b;

	if (e == NULL)
		return -1;
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
		return selector_metric(e->vs.sel) != NULL;
	case PROMQL_MATRIX_SELECTOR:
		return names_metric(e->ms.vs);
	case PROMQL_SUBQUERY:
		return names_metric(e->sq.expr);
	case PROMQL_UNARY:
		return names_metric(e->un.expr);
	case PROMQL_BINARY:
		a = names_metric(e->bin.lhs);
		b = names_metric(e->bin.rhs);
		return a > b ? a : b;
	case PROMQL_AGGREGATE:
		a = names_metric(e->agg.param);
		b = names_metric(e->agg.expr);
		return a > b ? a : b;
	case PROMQL_CALL:
		a = -1;
		for (size_t i = 0; i < e->call.nargs; i++)
			if ((b = names_metric(e->call.args[i])) > a)
				a = b;
		return a;
	case PROMQL_PAREN:
		return names_metric(e->paren.expr);
	case PROMQL_NUMBER:
	case PROMQL_STRING:
	case PROMQL_EXTERNAL:
		return -1;
	}
	return -1;
}

int
logql_detect(const char *q, size_t n)
{
	struct scan s = { q, n, 0 };
	struct promql_node *pe = NULL;
	struct logql_expr *le = NULL;
	int lq, pq, logql;

	skip_space(&s);
	if (s.pos < n && q[s.pos] == '{')
		return 1;
	lq = logql_parse(q, n, &le) == 0;
	logql_free(le);
	pq = promql_parse(q, n, &pe) == 0;
	if (lq && pq)
		logql = names_metric(pe) == 0;
	else if (lq || pq)
		logql = lq;
	else {
		size_t len = word_len(&s);

		logql = memchr(q, '|', n) != NULL;
		for (size_t op = 0; op < LQ_NOPS && !logql; op++)
			if (strlen(lq_range_names[op]) == len &&
			    strncmp(lq_range_names[op], q + s.pos, len) == 0 &&
			    op != LQ_RATE && promql_func_find(q + s.pos, len) ==
			    NULL)
				logql = 1;
	}
	promql_free(pe);
	err_clear();
	return logql;
}
