/*
 * http_query.c - the routes of Prometheus's HTTP API that read a PromQL
 * query without running it (promql.h):
 *
 *	/api/v1/format_query	the query as Prometheus prints it, split
 *				past 100 bytes as its Pretty(0) does
 *	/api/v1/parse_query	the syntax tree as JSON, the shape of
 *				Prometheus 3's translateAST (web/api/v1)
 *
 * GET or form POST, the query in the parameter "query" (the body's fields
 * first, then the URL's, the first one counting, as Go's
 * Request.FormValue); an answer is {"status":"success","data":...}, a
 * query that does not parse {"status":"error","errorType":"bad_data",
 * "error":"invalid parameter \"query\": 1:5: parse error: ..."} with 400,
 * as Prometheus answers. JSON is written as Go's encoding/json writes it:
 * object keys sorted, <, > and & escaped, a byte that is not UTF-8 as
 * U+FFFD.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/matcher.h"
#include "query/promql.h"
#include "util/error.h"
#include "util/json.h"
#include "util/xmalloc.h"

static void
json_cstr(struct buf *b, const char *s)
{
	json_string(b, s, strlen(s));
}

static void
reply_bad_data(struct http_reply *r, const char *msg)
{
	r->status = 400;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"status\":\"error\",\"errorType\":\"bad_data\","
	    "\"error\":");
	json_string(&r->body, msg, strlen(msg));
	buf_puts(&r->body, "}\n");
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The first value of field `name` in a form body, decoded ('+' a space,
 * %XX a byte) into a new string: 0 and *out (NULL when absent), or
 * -EINVAL for a bad escape.
 */
static int
form_value(const char *body, size_t len, const char *name, char **out,
    size_t *outlen)
{
	size_t nlen = strlen(name), i = 0;

	*out = NULL;
	while (i < len) {
		size_t end = i, eq;
		struct buf v;

		while (end < len && body[end] != '&')
			end++;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (eq - i != nlen || memcmp(body + i, name, nlen) != 0) {
			i = end + 1;
			continue;
		}
		buf_init(&v, 0);
		for (size_t k = eq + 1; k < end; k++) {
			int hi, lo;

			if (body[k] == '+')
				buf_putc(&v, ' ');
			else if (body[k] != '%')
				buf_putc(&v, body[k]);
			else if (k + 2 < end &&
			    (hi = hex_digit(body[k + 1])) >= 0 &&
			    (lo = hex_digit(body[k + 2])) >= 0) {
				buf_putc(&v, (char)(hi << 4 | lo));
				k += 2;
			} else {
				buf_release(&v);
				return -EINVAL;
			}
		}
		*outlen = v.len;
		*out = buf_detach(&v, NULL);
		if (*out == NULL)
			*out = xstrdup("");
		return 0;
	}
	return 0;
}

/*
 * The request's query, parsed: 0 and *out, or -EINVAL with the error
 * already in r.
 */
static int
read_query(const struct http_req *req, struct http_reply *r,
    struct promql_node **out)
{
	char *form = NULL, *msg;
	const char *q = NULL;
	size_t qlen = 0;
	int rc;

	if (req->method == HTTP_POST && req->body_len > 0 &&
	    form_value(req->body, req->body_len, "query", &form, &qlen) != 0) {
		reply_bad_data(r, "the form body has a bad %-escape");
		return -EINVAL;
	}
	if (form != NULL)
		q = form;
	else if ((q = http_arg(req, "query")) != NULL)
		qlen = strlen(q);
	else
		q = "";
	if ((rc = promql_parse(q, qlen, out)) != 0) {
		msg = xasprintf("invalid parameter \"query\": %s",
		    err_message(rc));
		reply_bad_data(r, msg);
		free(msg);
	}
	free(form);
	return rc;
}

/* GET or POST /api/v1/format_query */
void
http_route_format_query(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct promql_node *e;
	struct buf text;

	(void)h;
	if (read_query(req, r, &e) != 0)
		return;
	buf_init(&text, 0);
	promql_format_pretty(e, &text);
	r->content_type = "application/json";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
	json_string(&r->body, text.data ? text.data : "", text.len);
	buf_puts(&r->body, "}\n");
	buf_release(&text);
	promql_free(e);
}

/* ---- parse_query: the tree as translateAST writes it ---- */

/* Go's ValueType strings, which argTypes and returnType are. */
static const char *
value_type(enum promql_type t)
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

static void
json_list(struct buf *b, const struct promql_labels *l)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_cstr(b, l->names[i]);
	}
	buf_putc(b, ']');
}

static void
json_matchers(struct buf *b, const struct selector *sel)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < selector_count(sel); i++) {
		const struct matcher *m = selector_at(sel, i);
		size_t len;
		const char *v = matcher_value(m, &len);

		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, "{\"name\":");
		json_cstr(b, matcher_name(m));
		buf_puts(b, ",\"type\":");
		json_cstr(b, matcher_op_str(matcher_op(m)));
		buf_puts(b, ",\"value\":");
		json_string(b, v, len);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
}

/* ,"startOrEnd":... */
static void
json_start_or_end(struct buf *b, enum promql_at at)
{
	buf_printf(b, ",\"startOrEnd\":%s", at == PROMQL_AT_START ?
	    "\"start\"" : at == PROMQL_AT_END ? "\"end\"" : "null");
}

/* ,"timestamp":... */
static void
json_timestamp(struct buf *b, enum promql_at at, int64_t at_ms)
{
	if (at == PROMQL_AT_TIME)
		buf_printf(b, ",\"timestamp\":%lld", (long long)at_ms);
	else
		buf_puts(b, ",\"timestamp\":null");
}

/* ,"startOrEnd":...,"timestamp":... */
static void
json_at(struct buf *b, enum promql_at at, int64_t at_ms)
{
	json_start_or_end(b, at);
	json_timestamp(b, at, at_ms);
}

static const char *
card_name(enum promql_card c)
{
	switch (c) {
	case PROMQL_ONE_TO_ONE:		return "one-to-one";
	case PROMQL_MANY_TO_ONE:	return "many-to-one";
	case PROMQL_ONE_TO_MANY:	return "one-to-many";
	case PROMQL_MANY_TO_MANY:	return "many-to-many";
	}
	return "?";
}

/* The node as an object, its keys in order as Go sorts a map's. */
static void
json_tree(struct buf *b, const struct promql_node *e)
{
	const struct promql_node *vs;
	const struct promql_func *f;

	if (e == NULL) {
		buf_puts(b, "null");
		return;
	}
	switch (e->kind) {
	case PROMQL_AGGREGATE:
		buf_puts(b, "{\"expr\":");
		json_tree(b, e->agg.expr);
		buf_puts(b, ",\"grouping\":");
		json_list(b, &e->agg.grouping);
		buf_puts(b, ",\"op\":");
		json_cstr(b, promql_agg_name(e->agg.op));
		buf_puts(b, ",\"param\":");
		json_tree(b, e->agg.param);
		buf_printf(b, ",\"type\":\"aggregation\",\"without\":%s}",
		    e->agg.without ? "true" : "false");
		return;
	case PROMQL_BINARY:
		buf_printf(b, "{\"bool\":%s,\"lhs\":",
		    e->bin.return_bool ? "true" : "false");
		json_tree(b, e->bin.lhs);
		buf_puts(b, ",\"matching\":");
		if (e->bin.matching) {
			buf_printf(b, "{\"card\":\"%s\",\"include\":",
			    card_name(e->bin.card));
			json_list(b, &e->bin.include);
			buf_puts(b, ",\"labels\":");
			json_list(b, &e->bin.labels);
			buf_printf(b, ",\"on\":%s}", e->bin.on ? "true" : "false");
		} else
			buf_puts(b, "null");
		buf_puts(b, ",\"op\":");
		json_cstr(b, promql_op_name(e->bin.op));
		buf_puts(b, ",\"rhs\":");
		json_tree(b, e->bin.rhs);
		buf_puts(b, ",\"type\":\"binaryExpr\"}");
		return;
	case PROMQL_CALL:
		f = e->call.func;
		buf_puts(b, "{\"args\":[");
		for (size_t i = 0; i < e->call.nargs; i++) {
			if (i > 0)
				buf_putc(b, ',');
			json_tree(b, e->call.args[i]);
		}
		buf_puts(b, "],\"func\":{\"argTypes\":[");
		for (int i = 0; i < f->nargs; i++)
			buf_printf(b, "%s\"%s\"", i > 0 ? "," : "",
			    value_type(f->args[i]));
		buf_puts(b, "],\"name\":");
		json_cstr(b, f->name);
		buf_printf(b, ",\"returnType\":\"%s\",\"variadic\":%d},"
		    "\"type\":\"call\"}", value_type(f->ret), f->variadic);
		return;
	case PROMQL_MATRIX_SELECTOR:
		vs = e->ms.vs;
		buf_puts(b, "{\"matchers\":");
		json_matchers(b, vs->vs.sel);
		buf_puts(b, ",\"name\":");
		json_cstr(b, vs->vs.name);
		buf_printf(b, ",\"offset\":%lld,\"range\":%lld",
		    (long long)vs->vs.offset_ms, (long long)e->ms.range_ms);
		json_at(b, vs->vs.at, vs->vs.at_ms);
		buf_puts(b, ",\"type\":\"matrixSelector\"}");
		return;
	case PROMQL_SUBQUERY:
		buf_puts(b, "{\"expr\":");
		json_tree(b, e->sq.expr);
		buf_printf(b, ",\"offset\":%lld,\"range\":%lld",
		    (long long)e->sq.offset_ms, (long long)e->sq.range_ms);
		json_start_or_end(b, e->sq.at);
		buf_printf(b, ",\"step\":%lld", (long long)e->sq.step_ms);
		json_timestamp(b, e->sq.at, e->sq.at_ms);
		buf_puts(b, ",\"type\":\"subquery\"}");
		return;
	case PROMQL_NUMBER:
		buf_puts(b, "{\"type\":\"numberLiteral\",\"val\":\"");
		promql_number_format(e->num.value, b);
		buf_puts(b, "\"}");
		return;
	case PROMQL_PAREN:
		buf_puts(b, "{\"expr\":");
		json_tree(b, e->paren.expr);
		buf_puts(b, ",\"type\":\"parenExpr\"}");
		return;
	case PROMQL_STRING:
		buf_puts(b, "{\"type\":\"stringLiteral\",\"val\":");
		json_string(b, e->str.s, e->str.len);
		buf_putc(b, '}');
		return;
	case PROMQL_UNARY:
		buf_puts(b, "{\"expr\":");
		json_tree(b, e->un.expr);
		buf_puts(b, ",\"op\":");
		json_cstr(b, promql_op_name(e->un.op));
		buf_puts(b, ",\"type\":\"unaryExpr\"}");
		return;
	case PROMQL_VECTOR_SELECTOR:
		buf_puts(b, "{\"matchers\":");
		json_matchers(b, e->vs.sel);
		buf_puts(b, ",\"name\":");
		json_cstr(b, e->vs.name);
		buf_printf(b, ",\"offset\":%lld", (long long)e->vs.offset_ms);
		json_at(b, e->vs.at, e->vs.at_ms);
		buf_puts(b, ",\"type\":\"vectorSelector\"}");
		return;
	}
}

/* GET or POST /api/v1/parse_query */
void
http_route_parse_query(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct promql_node *e;

	(void)h;
	if (read_query(req, r, &e) != 0)
		return;
	r->content_type = "application/json";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
	json_tree(&r->body, e);
	buf_puts(&r->body, "}\n");
	promql_free(e);
}
