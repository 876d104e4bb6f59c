/*
 * http_query.c - the routes of Prometheus's HTTP API that read a PromQL
 * query without running it: /api/v1/format_query, the query as
 * Prometheus prints it (promql.h). GET or form POST, the query in the
 * parameter "query" (the body's fields first, then the URL's, the first
 * one counting, as Go's Request.FormValue); an answer is
 * {"status":"success","data":"..."}, a query that does not parse
 * {"status":"error","errorType":"bad_data","error":"invalid parameter
 * \"query\": 1:5: parse error: ..."} with 400, as Prometheus answers.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "query/promql.h"
#include "util/error.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* A JSON string of len bytes; bytes that are not UTF-8 become '?'. */
static void
json_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t ok;

		if (c >= 0x80) {
			/* one character: its lead byte says how long */
			ok = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (ok > len - i || utf8_valid(s + i, ok) != ok) {
				buf_putc(b, '?');
				i++;
			} else {
				buf_append(b, s + i, ok);
				i += ok;
			}
			continue;
		}
		i++;
		switch (c) {
		case '"': buf_puts(b, "\\\""); continue;
		case '\\': buf_puts(b, "\\\\"); continue;
		case '\n': buf_puts(b, "\\n"); continue;
		case '\r': buf_puts(b, "\\r"); continue;
		case '\t': buf_puts(b, "\\t"); continue;
		}
		if (c < 0x20) {
			buf_puts(b, "\\u00");
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		} else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
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

/* GET or POST /api/v1/format_query */
void
http_route_format_query(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct promql_node *e;
	char *form = NULL, *msg;
	const char *q = NULL;
	size_t qlen = 0;
	int rc;

	(void)h;
	if (req->method == HTTP_POST && req->body_len > 0 &&
	    form_value(req->body, req->body_len, "query", &form, &qlen) != 0) {
		reply_bad_data(r, "the form body has a bad %-escape");
		return;
	}
	if (form != NULL)
		q = form;
	else if ((q = http_arg(req, "query")) != NULL)
		qlen = strlen(q);
	else
		q = "";
	if ((rc = promql_parse(q, qlen, &e)) != 0) {
		msg = xasprintf("invalid parameter \"query\": %s",
		    err_message(rc));
		reply_bad_data(r, msg);
		free(msg);
		free(form);
		return;
	}
	{
		struct buf text;

		buf_init(&text, 0);
		promql_format_pretty(e, &text);
		r->content_type = "application/json";
		buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
		json_string(&r->body, text.data ? text.data : "", text.len);
		buf_puts(&r->body, "}\n");
		buf_release(&text);
	}
	promql_free(e);
	free(form);
}
