/*
 * promql_result.c - a query's answer written out (promql.h): the JSON of
 * Prometheus's /api/v1/query, and text and CSV for people and scripts.
 *
 * The JSON is what Prometheus's API encoder writes, byte for byte:
 *
 *	vector	{"metric":{...},"value":[T,"V"]} a series
 *	matrix	{"metric":{...},"values":[[T,"V"],...]} a series ("values"
 *		left out when there are none)
 *	scalar	[T2,"V2"]
 *	string	[T2,"S"]
 *
 * T is the millisecond timestamp written as seconds, then "." and three
 * digits when the milliseconds are not 0 (1700000000.500); V the value
 * in the shortest digits that read back, in 'f' form but 'e' form below
 * 1e-6 and from 1e21 up ("1e-07"), or NaN, +Inf, -Inf. A scalar and a
 * string go through Go's own float formatting instead: T2 is the time
 * as a float64 number of seconds (1700000000.5) and V2 always 'f' form.
 * Label names and values are escaped as json-iterator's WriteString does
 * (quotes, backslashes and control bytes only), a string result as
 * encoding/json does (jsonw.h).
 *
 * Text and CSV name a series as the exposition format does, the metric
 * name then the other labels, metric{a="b",c="d"} (the metric alone when
 * there are no others, {} for a series with no labels at all), values
 * escaped as \\, \" and \n.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/jsonw.h"

/* Milliseconds as seconds, as Prometheus's jsonutil.MarshalTimestamp. */
static void
timestamp(struct buf *b, int64_t t)
{
	uint64_t u = t < 0 ? -(uint64_t)t : (uint64_t)t;

	buf_printf(b, "%s%" PRIu64, t < 0 ? "-" : "", u / 1000);
	if (u % 1000 != 0)
		buf_printf(b, ".%03u", (unsigned)(u % 1000));
}

/* A sample's value, quoted, as jsonutil.MarshalFloat writes it. */
static void
json_value(struct buf *b, double v)
{
	double a = v < 0 ? -v : v;

	buf_putc(b, '"');
	jw_format_float(b, v, a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f');
	buf_putc(b, '"');
}

static void
json_labels(struct buf *b, const struct labels *ls)
{
	const struct label *l;
	size_t n = ls != NULL ? labels_count(ls) : 0;

	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		l = labels_at(ls, i);
		if (i > 0)
			buf_putc(b, ',');
		jw_string_raw(b, l->name, l->name_len);
		buf_putc(b, ':');
		jw_string_raw(b, l->value, l->value_len);
	}
	buf_putc(b, '}');
}

/* A point's time and value: Prometheus's forms, or Loki's plain decimals. */
static void
json_point(struct buf *b, int64_t t, double v, int loki)
{
	if (!loki) {
		timestamp(b, t);
		buf_putc(b, ',');
		json_value(b, v);
		return;
	}
	jw_format_float(b, (double)t / 1000.0, 'f');
	buf_puts(b, ",\"");
	jw_format_float(b, v, 'f');
	buf_putc(b, '"');
}

static const char *
result_type(enum promql_type t)
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

/*
 * The "result" value in a dialect: Prometheus's (loki 0) or Loki's
 * (loki 1), which differ only in how times, values and strings print.
 */
static void
json_result(const struct promql_result *r, int loki, struct buf *b)
{
	const struct promql_series *s;

	switch (r->type) {
	case PROMQL_TYPE_SCALAR:
	case PROMQL_TYPE_STRING:
		/* Go's float64 of the seconds, then the value as a string */
		buf_putc(b, '[');
		if (loki)
			jw_format_float(b, (double)r->t / 1000.0, 'f');
		else
			jw_float(b, (double)r->t / 1000.0);
		buf_putc(b, ',');
		if (r->type == PROMQL_TYPE_STRING && loki)
			jw_string_raw(b, r->str != NULL ? r->str : "",
			    r->str != NULL ? strlen(r->str) : 0);
		else if (r->type == PROMQL_TYPE_STRING)
			jw_string(b, r->str != NULL ? r->str : "",
			    r->str != NULL ? strlen(r->str) : 0);
		else {
			buf_putc(b, '"');
			jw_format_float(b, r->scalar, 'f');
			buf_putc(b, '"');
		}
		buf_putc(b, ']');
		break;
	case PROMQL_TYPE_VECTOR:
		buf_putc(b, '[');
		for (size_t i = 0; i < r->n; i++) {
			s = &r->series[i];
			if (i > 0)
				buf_putc(b, ',');
			buf_puts(b, "{\"metric\":");
			json_labels(b, s->ls);
			buf_puts(b, ",\"value\":[");
			json_point(b, s->n > 0 ? s->pts[0].t : r->t,
			    s->n > 0 ? s->pts[0].v : 0, loki);
			buf_puts(b, "]}");
		}
		buf_putc(b, ']');
		break;
	case PROMQL_TYPE_MATRIX:
		buf_putc(b, '[');
		for (size_t i = 0; i < r->n; i++) {
			s = &r->series[i];
			if (i > 0)
				buf_putc(b, ',');
			buf_puts(b, "{\"metric\":");
			json_labels(b, s->ls);
			if (loki || s->n > 0)
				buf_puts(b, ",\"values\":[");
			for (size_t k = 0; k < s->n; k++) {
				buf_puts(b, k == 0 ? "[" : ",[");
				json_point(b, s->pts[k].t, s->pts[k].v, loki);
				buf_putc(b, ']');
			}
			buf_puts(b, loki || s->n > 0 ? "]}" : "}");
		}
		buf_putc(b, ']');
		break;
	case PROMQL_TYPE_NONE:
		buf_puts(b, loki ? "[]" : "null");
		break;
	}
}

int
promql_result_json(const struct promql_result *r, struct buf *b)
{
	buf_printf(b, "{\"resultType\":\"%s\",\"result\":",
	    result_type(r->type));
	json_result(r, 0, b);
	return buf_putc(b, '}');
}

int
promql_result_json_loki(const struct promql_result *r, struct buf *b)
{
	json_result(r, 1, b);
	return 0;
}

/* metric{a="b"}, as the exposition format names a series */
static void
series_name(struct buf *b, const struct labels *ls)
{
	const char *metric = ls != NULL ? labels_metric(ls) : NULL;
	const struct label *l;
	size_t n = ls != NULL ? labels_count(ls) : 0, k = 0;

	if (metric != NULL) {
		buf_puts(b, metric);
		if (n == 1)
			return;
	}
	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		l = labels_at(ls, i);
		if (strcmp(l->name, LABELS_METRIC_NAME) == 0)
			continue;
		if (k++ > 0)
			buf_putc(b, ',');
		buf_append(b, l->name, l->name_len);
		buf_puts(b, "=\"");
		for (size_t j = 0; j < l->value_len; j++) {
			char c = l->value[j];

			if (c == '\\' || c == '"')
				buf_putc(b, '\\');
			if (c == '\n')
				buf_puts(b, "\\n");
			else
				buf_putc(b, c);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

static void
number(struct buf *b, double v)
{
	jw_format_float(b, v, 'f');
}

int
promql_result_text(const struct promql_result *r, struct buf *b)
{
	const struct promql_series *s;

	switch (r->type) {
	case PROMQL_TYPE_SCALAR:
		number(b, r->scalar);
		return buf_putc(b, '\n');
	case PROMQL_TYPE_STRING:
		if (r->str != NULL)
			buf_puts(b, r->str);
		return buf_putc(b, '\n');
	case PROMQL_TYPE_VECTOR:
	case PROMQL_TYPE_MATRIX:
		for (size_t i = 0; i < r->n; i++) {
			s = &r->series[i];
			for (size_t k = 0; k < s->n; k++) {
				series_name(b, s->ls);
				buf_putc(b, ' ');
				number(b, s->pts[k].v);
				if (r->type == PROMQL_TYPE_MATRIX) {
					buf_putc(b, ' ');
					timestamp(b, s->pts[k].t);
				}
				buf_putc(b, '\n');
				if (r->type == PROMQL_TYPE_VECTOR)
					break;
			}
		}
		return 0;
	case PROMQL_TYPE_NONE:
		break;
	}
	return 0;
}

/* A CSV field, quoted (quotes doubled) when it holds , " CR or LF. */
static void
csv_field(struct buf *b, const char *s, size_t len)
{
	if (strcspn(s, ",\"\r\n") >= len && memchr(s, '\0', len) == NULL) {
		buf_append(b, s, len);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			buf_putc(b, '"');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '"');
}

int
promql_result_csv(const struct promql_result *r, struct buf *b)
{
	const struct promql_series *s;
	struct buf name;

	buf_puts(b, "time,series,value\n");
	switch (r->type) {
	case PROMQL_TYPE_SCALAR:
		timestamp(b, r->t);
		buf_puts(b, ",,");
		number(b, r->scalar);
		return buf_putc(b, '\n');
	case PROMQL_TYPE_STRING:
		timestamp(b, r->t);
		buf_puts(b, ",,");
		csv_field(b, r->str != NULL ? r->str : "",
		    r->str != NULL ? strlen(r->str) : 0);
		return buf_putc(b, '\n');
	case PROMQL_TYPE_VECTOR:
	case PROMQL_TYPE_MATRIX:
		buf_init(&name, 0);
		for (size_t i = 0; i < r->n; i++) {
			s = &r->series[i];
			buf_reset(&name);
			series_name(&name, s->ls);
			for (size_t k = 0; k < s->n; k++) {
				timestamp(b, s->pts[k].t);
				buf_putc(b, ',');
				csv_field(b, buf_str(&name), name.len);
				buf_putc(b, ',');
				number(b, s->pts[k].v);
				buf_putc(b, '\n');
				if (r->type == PROMQL_TYPE_VECTOR)
					break;
			}
		}
		buf_release(&name);
		return 0;
	case PROMQL_TYPE_NONE:
		break;
	}
	return 0;
}
