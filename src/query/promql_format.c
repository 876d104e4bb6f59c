/*
 * promql_format.c - a tree back to PromQL text, as Prometheus's
 * printer.go String() methods write it (what /api/v1/format_query
 * answers): one line, one space around binary operators, matchers
 * sorted by their text with the metric name before the braces, strings
 * quoted as Go's strconv.Quote, numbers as strconv.FormatFloat(v, 'f',
 * -1, 64), durations in their largest units, @ then offset.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/matcher.h"
#include "query/promql_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int
promql_duration_format(int64_t ms, struct buf *b)
{
	static const struct {
		const char	*unit;
		int64_t		 ms;
		int		 exact;	/* only when it divides what is left */
	} units[] = {
		{ "y", 365LL * 24 * 3600 * 1000, 1 },
		{ "w", 7LL * 24 * 3600 * 1000, 1 },
		{ "d", 24LL * 3600 * 1000, 0 },
		{ "h", 3600LL * 1000, 0 },
		{ "m", 60LL * 1000, 0 },
		{ "s", 1000, 0 },
		{ "ms", 1, 0 },
	};
	int rc = 0;

	if (ms == 0)
		return buf_puts(b, "0s");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t v;

		if (units[i].exact && ms % units[i].ms != 0)
			continue;
		if ((v = ms / units[i].ms) > 0) {
			rc = buf_printf(b, "%lld%s", (long long)v, units[i].unit);
			ms -= v * units[i].ms;
		}
	}
	return rc;
}

int
promql_number_format(double v, struct buf *b)
{
	char e[40], digits[24];
	int prec, exp, nd = 0, dp;
	const char *p;

	if (isnan(v))
		return buf_puts(b, "NaN");
	if (isinf(v))
		return buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	/* the shortest digits that read back to v */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	p = e;
	if (*p == '-') {
		buf_putc(b, '-');
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	dp = exp + 1;	/* digits before the point */
	if (nd == 1 && digits[0] == '0')
		return buf_putc(b, '0');
	if (dp <= 0) {
		buf_puts(b, "0.");
		for (int i = 0; i < -dp; i++)
			buf_putc(b, '0');
		return buf_append(b, digits, (size_t)nd);
	}
	if (dp >= nd) {
		buf_append(b, digits, (size_t)nd);
		for (int i = nd; i < dp; i++)
			buf_putc(b, '0');
		return 0;
	}
	buf_append(b, digits, (size_t)dp);
	buf_putc(b, '.');
	return buf_append(b, digits + dp, (size_t)(nd - dp));
}

/*
 * A duration literal's seconds as a duration again. Prometheus prints
 * model.Duration(seconds * 1e9), whose float product can fall a
 * nanosecond short (16665.209 s printed 4h37m45s208ms); the nearest
 * millisecond is what was written.
 */
static void
seconds_duration(double v, struct buf *b)
{
	double ms = fabs(v) * 1000;

	if (v < 0)
		buf_putc(b, '-');
	promql_duration_format(ms < 9.2e15 ? llround(ms) : (int64_t)ms, b);
}

/*
 * A list of label names. Prometheus writes "inf" and "nan" bare, which
 * then read as numbers; they are quoted here, as Prometheus 3 reads them.
 */
static void
labels_list(const struct promql_labels *l, struct buf *b)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *s = l->names[i];

		if (i > 0)
			buf_puts(b, ", ");
		if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "nan") == 0)
			promql_quote(s, strlen(s), b);
		else
			promql_label_name(s, b);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
format_selector(const struct promql_node *e, struct buf *b)
{
	size_t n = selector_count(e->vs.sel), k = 0;
	char **ms = xcalloc(n + 1, sizeof(*ms));

	for (size_t i = 0; i < n; i++) {
		const struct matcher *m = selector_at(e->vs.sel, i);
		size_t len;
		const char *v = matcher_value(m, &len);
		struct buf mb;

		if (matcher_op(m) == MATCHER_EQ && e->vs.name[0] != '\0' &&
		    strcmp(matcher_name(m), "__name__") == 0 &&
		    strcmp(v, e->vs.name) == 0)
			continue;
		buf_init(&mb, 0);
		promql_label_name(matcher_name(m), &mb);
		buf_puts(&mb, matcher_op_str(matcher_op(m)));
		promql_quote(v, len, &mb);
		ms[k++] = buf_detach(&mb, NULL);
	}
	buf_puts(b, e->vs.name);
	if (k > 0) {
		qsort(ms, k, sizeof(*ms), cmp_str);
		buf_putc(b, '{');
		for (size_t i = 0; i < k; i++) {
			if (i > 0)
				buf_putc(b, ',');
			buf_puts(b, ms[i]);
			free(ms[i]);
		}
		buf_putc(b, '}');
	}
	free(ms);
}

static void
at_offset(enum promql_at at, int64_t at_ms, int64_t offset_ms, struct buf *b)
{
	switch (at) {
	case PROMQL_AT_TIME:
		buf_printf(b, " @ %.3f", (double)at_ms / 1000.0);
		break;
	case PROMQL_AT_START:
		buf_puts(b, " @ start()");
		break;
	case PROMQL_AT_END:
		buf_puts(b, " @ end()");
		break;
	case PROMQL_AT_NONE:
		break;
	}
	if (offset_ms > 0) {
		buf_puts(b, " offset ");
		promql_duration_format(offset_ms, b);
	} else if (offset_ms < 0) {
		buf_puts(b, " offset -");
		promql_duration_format(-offset_ms, b);
	}
}

/* " on (a) group_left (b)": what a binary operation matches on */
static void
matching(const struct promql_node *e, struct buf *b)
{
	int grouped = e->bin.card == PROMQL_MANY_TO_ONE ||
	    e->bin.card == PROMQL_ONE_TO_MANY;

	if (!e->bin.matching)
		return;
	if (e->bin.labels.n > 0 || e->bin.on || grouped) {
		buf_puts(b, e->bin.on ? " on (" : " ignoring (");
		labels_list(&e->bin.labels, b);
		buf_putc(b, ')');
	}
	if (grouped) {
		buf_puts(b, e->bin.card == PROMQL_MANY_TO_ONE ?
		    " group_left (" : " group_right (");
		labels_list(&e->bin.include, b);
		buf_putc(b, ')');
	}
}

/* "[1h:5m] @ 100.000 offset 5m" */
static void
subquery_suffix(const struct promql_node *e, struct buf *b)
{
	buf_putc(b, '[');
	promql_duration_format(e->sq.range_ms, b);
	buf_putc(b, ':');
	if (e->sq.step_ms != 0)
		promql_duration_format(e->sq.step_ms, b);
	buf_putc(b, ']');
	at_offset(e->sq.at, e->sq.at_ms, e->sq.offset_ms, b);
}

static void
format(const struct promql_node *e, struct buf *b)
{
	switch (e->kind) {
	case PROMQL_NUMBER:
		if (e->num.duration)
			seconds_duration(e->num.value, b);
		else
			promql_number_format(e->num.value, b);
		return;
	case PROMQL_STRING:
		promql_quote(e->str.s, e->str.len, b);
		return;
	case PROMQL_VECTOR_SELECTOR:
		format_selector(e, b);
		at_offset(e->vs.at, e->vs.at_ms, e->vs.offset_ms, b);
		return;
	case PROMQL_MATRIX_SELECTOR:
		format_selector(e->ms.vs, b);
		buf_putc(b, '[');
		promql_duration_format(e->ms.range_ms, b);
		buf_putc(b, ']');
		at_offset(e->ms.vs->vs.at, e->ms.vs->vs.at_ms,
		    e->ms.vs->vs.offset_ms, b);
		return;
	case PROMQL_SUBQUERY:
		format(e->sq.expr, b);
		subquery_suffix(e, b);
		return;
	case PROMQL_UNARY:
		buf_puts(b, promql_op_name(e->un.op));
		format(e->un.expr, b);
		return;
	case PROMQL_BINARY:
		format(e->bin.lhs, b);
		buf_printf(b, " %s", promql_op_name(e->bin.op));
		if (e->bin.return_bool)
			buf_puts(b, " bool");
		matching(e, b);
		buf_putc(b, ' ');
		format(e->bin.rhs, b);
		return;
	case PROMQL_AGGREGATE:
		buf_puts(b, promql_agg_name(e->agg.op));
		if (e->agg.without || e->agg.grouping.n > 0) {
			buf_puts(b, e->agg.without ? " without (" : " by (");
			labels_list(&e->agg.grouping, b);
			buf_puts(b, ") ");
		}
		buf_putc(b, '(');
		if (e->agg.param != NULL) {
			format(e->agg.param, b);
			buf_puts(b, ", ");
		}
		format(e->agg.expr, b);
		buf_putc(b, ')');
		return;
	case PROMQL_CALL:
		buf_printf(b, "%s(", e->call.func->name);
		for (size_t i = 0; i < e->call.nargs; i++) {
			if (i > 0)
				buf_puts(b, ", ");
			format(e->call.args[i], b);
		}
		buf_putc(b, ')');
		return;
	case PROMQL_PAREN:
		buf_putc(b, '(');
		format(e->paren.expr, b);
		buf_putc(b, ')');
		return;
	case PROMQL_EXTERNAL:
		e->ext.x->format(e->ext.node, b);
		return;
	}
}

int
promql_format(const struct promql_node *e, struct buf *b)
{
	struct buf out;
	int rc;

	/* the query's size bounds the text; b's ceiling is checked once */
	buf_init(&out, 0);
	format(e, &out);
	rc = buf_append(b, out.data ? out.data : "", out.len);
	buf_release(&out);
	return rc;
}

/* ---- the prettified form: Prometheus's prettier.go ---- */

#define PRETTY_COLUMNS	100	/* a node longer than this is split */

static void
indent(int level, struct buf *b)
{
	for (int i = 0; i < level; i++)
		buf_puts(b, "  ");
}

/* The node's one-line form, and whether it is too long for one line. */
static int
needs_split(const struct promql_node *e)
{
	struct buf one;
	int split;

	buf_init(&one, 0);
	format(e, &one);
	split = one.len > PRETTY_COLUMNS;
	buf_release(&one);
	return split;
}

static void
pretty(const struct promql_node *e, int level, struct buf *b)
{
	struct buf child;
	size_t skip;

	switch (e->kind) {
	case PROMQL_AGGREGATE:
		indent(level, b);
		if (!needs_split(e))
			break;
		buf_puts(b, promql_agg_name(e->agg.op));
		if (e->agg.without || e->agg.grouping.n > 0) {
			buf_puts(b, e->agg.without ? " without (" : " by (");
			labels_list(&e->agg.grouping, b);
			buf_puts(b, ") ");
		}
		buf_puts(b, "(\n");
		if (e->agg.param != NULL) {
			pretty(e->agg.param, level + 1, b);
			buf_puts(b, ",\n");
		}
		pretty(e->agg.expr, level + 1, b);
		buf_putc(b, '\n');
		indent(level, b);
		buf_putc(b, ')');
		return;
	case PROMQL_BINARY:
		/* split, it has no indent of its own: its operands do */
		if (!needs_split(e)) {
			indent(level, b);
			break;
		}
		pretty(e->bin.lhs, level + 1, b);
		buf_putc(b, '\n');
		indent(level, b);
		buf_puts(b, promql_op_name(e->bin.op));
		if (e->bin.return_bool)
			buf_puts(b, " bool");
		matching(e, b);
		buf_putc(b, '\n');
		pretty(e->bin.rhs, level + 1, b);
		return;
	case PROMQL_CALL:
		indent(level, b);
		if (!needs_split(e))
			break;
		buf_printf(b, "%s(\n", e->call.func->name);
		for (size_t i = 0; i < e->call.nargs; i++) {
			if (i > 0)
				buf_puts(b, ",\n");
			pretty(e->call.args[i], level + 1, b);
		}
		buf_putc(b, '\n');
		indent(level, b);
		buf_putc(b, ')');
		return;
	case PROMQL_PAREN:
		indent(level, b);
		if (!needs_split(e))
			break;
		buf_puts(b, "(\n");
		pretty(e->paren.expr, level + 1, b);
		buf_putc(b, '\n');
		indent(level, b);
		buf_putc(b, ')');
		return;
	case PROMQL_SUBQUERY:
		/* as prettier.go: no indent of its own when on one line */
		if (!needs_split(e))
			break;
		pretty(e->sq.expr, level, b);
		subquery_suffix(e, b);
		return;
	case PROMQL_UNARY:
		/* the operator takes the child's indent */
		indent(level, b);
		buf_puts(b, promql_op_name(e->un.op));
		buf_init(&child, 0);
		pretty(e->un.expr, level, &child);
		for (skip = 0; skip < child.len && (child.data[skip] == ' ' ||
		    child.data[skip] == '\n' || child.data[skip] == '\t'); skip++)
			;
		while (child.len > skip && (child.data[child.len - 1] == ' ' ||
		    child.data[child.len - 1] == '\n' ||
		    child.data[child.len - 1] == '\t'))
			child.len--;
		buf_append(b, child.data + skip, child.len - skip);
		buf_release(&child);
		return;
	default:
		indent(level, b);
		break;
	}
	format(e, b);
}

int
promql_format_pretty(const struct promql_node *e, struct buf *b)
{
	struct buf out;
	int rc;

	buf_init(&out, 0);
	pretty(e, 0, &out);
	rc = buf_append(b, out.data ? out.data : "", out.len);
	buf_release(&out);
	return rc;
}
