/*
 * http_query.c - the routes of Prometheus's HTTP API that read a PromQL
 * query (promql.h):
 *
 *	/api/v1/query		an instant query: query, time (default now)
 *	/api/v1/query_range	a range query: query, start, end, step
 *	/api/v1/query_exemplars	the parameters checked; no exemplars kept
 *	/api/v1/format_query	the query as Prometheus prints it, split
 *				past 100 bytes as its Pretty(0) does
 *	/api/v1/parse_query	the syntax tree as JSON, the shape of
 *				Prometheus 3's translateAST (web/api/v1)
 *
 * GET or form POST, the parameters as Go's Request.FormValue finds them:
 * the body's fields first, then the URL's, the first one counting, an
 * empty one as if not given. An answer is {"status":"success","data":
 * ...}, with "warnings" and "infos" (Prometheus 3's, at most ten each)
 * when there are any; an error {"status":"error","errorType":"bad_data",
 * "error":"invalid parameter \"query\": 1:5: parse error: ..."}, with the
 * status Prometheus gives each type: bad_data 400, execution 422,
 * canceled 499, internal 500, timeout 503. Messages and parse_query's
 * tree are written as Go's encoding/json writes them: object keys
 * sorted, <, > and & escaped, a byte that is not UTF-8 as U+FFFD
 * (jsonw.h); a result as promql_result_json() writes it.
 *
 * The queries take Prometheus 3's parameters: timeout (capped by the
 * server's query_options.timeout), limit (at most that many series, with a
 * warning when more were cut), stats (any value: the "stats" object of
 * the data, its timings and sample counts) and lookback_delta. A query
 * runs on the connection's thread, and stops (canceled) when the client
 * goes away: the evaluator polls the socket for its peer's end
 * (POLLRDHUP), and for the server's shutdown.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/matcher.h"
#include "query/promql.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/jsonw.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

static void
json_cstr(struct buf *b, const char *s)
{
	jw_string(b, s, strlen(s));
}

static void
reply_bad_data(struct http_reply *r, const char *msg)
{
	r->status = 400;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"status\":\"error\",\"errorType\":\"bad_data\","
	    "\"error\":");
	jw_string(&r->body, msg, strlen(msg));
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
	jw_string(&r->body, text.data ? text.data : "", text.len);
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
		jw_string(b, v, len);
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
		jw_string(b, e->str.s, e->str.len);
		buf_putc(b, '}');
		return;
	case PROMQL_UNARY:
		buf_puts(b, "{\"expr\":");
		json_tree(b, e->un.expr);
		buf_puts(b, ",\"op\":");
		json_cstr(b, promql_op_name(e->un.op));
		buf_puts(b, ",\"type\":\"unaryExpr\"}");
		return;
	case PROMQL_EXTERNAL:	/* not in PromQL's trees */
		buf_puts(b, "null");
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

/* ---- query and query_range ---- */

#define QUERY_NOTES_MAX		10	/* warnings and infos, each */
#define QUERY_REPLY_MAX		((size_t)256 << 20)	/* bytes of an answer */
#define TRUNCATED_WARNING	"results truncated due to limit"

/* The status of each of Prometheus's error types. */
static int
status_of(const char *type)
{
	if (strcmp(type, "bad_data") == 0)
		return 400;
	if (strcmp(type, "execution") == 0)
		return 422;
	if (strcmp(type, "canceled") == 0)
		return 499;
	if (strcmp(type, "timeout") == 0 || strcmp(type, "unavailable") == 0)
		return 503;
	return 500;
}

static void
reply_error(struct http_reply *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* {"status":"error","errorType":type,"error":...} */
static void
reply_error(struct http_reply *r, const char *type, const char *fmt, ...)
{
	struct buf msg;
	va_list ap;

	buf_init(&msg, 0);
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	r->status = status_of(type);
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_printf(&r->body, "{\"status\":\"error\",\"errorType\":\"%s\","
	    "\"error\":", type);
	jw_string(&r->body, buf_str(&msg), msg.len);
	buf_puts(&r->body, "}\n");
	buf_release(&msg);
}

/*
 * s as Go's %q quotes it, for the messages that quote a parameter:
 * printable ASCII and valid UTF-8 as they are, the rest escaped. At most
 * 256 bytes of s are shown.
 */
static void
go_quote(struct buf *b, const char *s)
{
	size_t n = strlen(s), ok;

	if (n > 256)
		n = 256;
	buf_putc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80) {
			ok = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (ok <= n - i && utf8_valid(s + i, ok) == ok) {
				buf_append(b, s + i, ok);
				i += ok;
			} else
				buf_printf(b, "\\x%02x", s[i++] & 0xff);
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
		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

/*
 * The value of parameter `name` as Go's FormValue gives it: the form
 * body's first, else the URL's; NULL when absent or empty. *form holds
 * what the caller frees. 0, or -EINVAL for a bad %-escape in the body.
 */
static int
param(const struct http_req *req, const char *name, char **form,
    const char **out)
{
	size_t len;

	*out = NULL;
	free(*form);
	*form = NULL;
	if (req->method == HTTP_POST && req->body_len > 0 &&
	    form_value(req->body, req->body_len, name, form, &len) != 0)
		return -EINVAL;
	if (*form != NULL)
		*out = *form;
	else
		*out = http_arg(req, name);
	if (*out != NULL && (*out)[0] == '\0')
		*out = NULL;
	return 0;
}

/*
 * A duration as Prometheus's API takes one: float seconds or a PromQL
 * duration ("1m30s"), into nanoseconds. 0, or -EINVAL and why in msg;
 * -ERANGE past int64 nanoseconds.
 */
static int
parse_duration(const char *s, int64_t *ns, struct buf *msg)
{
	int64_t ms;
	double d;
	char *end;

	d = strtod(s, &end);
	if (end != s && *end == '\0' && strpbrk(s, "xX \t\n") == NULL) {
		d *= 1e9;
		if (d >= 9223372036854775807.0 || d < -9223372036854775807.0) {
			buf_puts(msg, "cannot parse ");
			go_quote(msg, s);
			buf_puts(msg, " to a valid duration. It overflows "
			    "int64");
			return -ERANGE;
		}
		*ns = isnan(d) ? INT64_MIN : (int64_t)d;
		return 0;
	}
	if (promql_duration_parse(s, strlen(s), &ms) == 0 &&
	    ms <= INT64_MAX / 1000000) {
		*ns = ms * 1000000;
		return 0;
	}
	buf_puts(msg, "cannot parse ");
	go_quote(msg, s);
	buf_puts(msg, " to a valid duration");
	return -EINVAL;
}

/* What both queries read. */
struct qparams {
	char		*form;		/* what param() found last */
	uint64_t	 limit;		/* 0: none */
	int64_t		 time, start, end, step_ms;
	struct promql_opts opts;
	int		 stats;
	struct promql_node *expr;
	int64_t		 parse_ns;
};

/*
 * time, start or end: 0, or -EINVAL with the error in r. An optional one
 * keeps *ms when not given, and words its error as Prometheus's
 * parseTimeParam does.
 */
static int
time_param(const struct http_req *req, struct qparams *q, const char *name,
    int required, int64_t *ms, struct http_reply *r)
{
	const char *v;
	struct buf msg;

	if (param(req, name, &q->form, &v) != 0)
		goto bad_form;
	if (v == NULL && !required)
		return 0;
	if (v != NULL && http_parse_time(v, ms) == 0)
		return 0;
	buf_init(&msg, 0);
	go_quote(&msg, v != NULL ? v : "");
	reply_error(r, "bad_data", "invalid parameter \"%s\": %s%s%scannot "
	    "parse %s to a valid timestamp", name, required ? "" :
	    "Invalid time value for '", required ? "" : name, required ? "" :
	    "': ", buf_str(&msg));
	buf_release(&msg);
	return -EINVAL;
bad_form:
	reply_error(r, "bad_data", "the form body has a bad %%-escape");
	return -EINVAL;
}

static int
limit_param(const struct http_req *req, struct qparams *q,
    struct http_reply *r)
{
	const char *v, *digits;
	struct buf msg;
	uint64_t u;

	if (param(req, "limit", &q->form, &v) != 0) {
		reply_error(r, "bad_data", "the form body has a bad "
		    "%%-escape");
		return -EINVAL;
	}
	if (v == NULL)
		return 0;
	/* Go's strconv.Atoi: an optional sign, then decimal digits */
	digits = v + (*v == '-' || *v == '+');
	if (http_parse_u64(digits, &u) != 0 || u > INT64_MAX) {
		buf_init(&msg, 0);
		go_quote(&msg, v);
		reply_error(r, "bad_data", "invalid parameter \"limit\": "
		    "strconv.Atoi: parsing %s: %s", buf_str(&msg),
		    *digits != '\0' && strspn(digits, "0123456789") ==
		    strlen(digits) ? "value out of range" : "invalid syntax");
		buf_release(&msg);
		return -EINVAL;
	}
	if (*v == '-' && u > 0) {
		reply_error(r, "bad_data", "invalid parameter \"limit\": "
		    "limit must be non-negative");
		return -EINVAL;
	}
	q->limit = u;
	return 0;
}

/* timeout, lookback_delta, stats, then the query itself */
static int
common_params(const struct http_req *req, struct qparams *q,
    struct http_reply *r)
{
	struct buf msg;
	const char *v;
	int64_t ns, t0;
	int rc;

	buf_init(&msg, 0);
	if ((rc = param(req, "timeout", &q->form, &v)) != 0)
		goto bad_form;
	promql_get_defaults(&q->opts);
	q->opts.lookback_ms = 0;
	q->opts.max_samples = 0;
	if (v != NULL) {
		if (parse_duration(v, &ns, &msg) != 0) {
			reply_error(r, "bad_data", "invalid parameter "
			    "\"timeout\": %s", buf_str(&msg));
			goto fail;
		}
		/* the server's timeout is the longest a query may run */
		if (ns / 1000000 < q->opts.timeout_ms)
			q->opts.timeout_ms = ns <= 0 ? 1 : ns / 1000000 +
			    (ns % 1000000 != 0);
	}
	if ((rc = param(req, "lookback_delta", &q->form, &v)) != 0)
		goto bad_form;
	if (v != NULL) {
		if (parse_duration(v, &ns, &msg) != 0) {
			reply_error(r, "bad_data", "error parsing lookback "
			    "delta duration: %s", buf_str(&msg));
			goto fail;
		}
		/* as Prometheus: 0 or less is the default */
		if (ns >= 1000000)
			q->opts.lookback_ms = ns / 1000000;
	}
	if ((rc = param(req, "stats", &q->form, &v)) != 0)
		goto bad_form;
	q->stats = v != NULL;
	t0 = clock_mono_ns();
	rc = read_query(req, r, &q->expr);
	q->parse_ns = clock_mono_ns() - t0;
	buf_release(&msg);
	return rc;
bad_form:
	reply_error(r, "bad_data", "the form body has a bad %%-escape");
fail:
	buf_release(&msg);
	return -EINVAL;
}

struct cancel {
	struct http	*h;
	int		 fd;
};

/*
 * Is the client gone? Its end of the connection closed (POLLRDHUP), or
 * the connection broken; or the server stopping.
 */
static int
cancelled(void *arg)
{
	struct cancel *c = arg;
	struct pollfd p;

	if (__atomic_load_n(&c->h->stopping, __ATOMIC_SEQ_CST))
		return 1;
	if (c->fd < 0)
		return 0;
	p.fd = c->fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* An array of notes, at most QUERY_NOTES_MAX and a line for the rest. */
static void
json_notes(struct buf *b, const char *field, const char *kind,
    char **v, size_t n, const char *extra)
{
	size_t total = n + (extra != NULL), shown = 0;

	if (total == 0)
		return;
	buf_printf(b, ",\"%s\":[", field);
	for (size_t i = 0; i < total && shown < QUERY_NOTES_MAX; i++) {
		const char *s = i < n ? v[i] : extra;

		if (shown++ > 0)
			buf_putc(b, ',');
		jw_string(b, s, strlen(s));
	}
	if (total > shown)
		buf_printf(b, ",\"%zu more %s annotations omitted\"",
		    total - shown, kind);
	buf_putc(b, ']');
}

/* Go's float64 seconds of a duration in nanoseconds */
static void
json_seconds(struct buf *b, int64_t ns)
{
	jw_float(b, (double)ns / 1e9);
}

/* Evaluated: the answer, or the error. */
static void
reply_result(const struct qparams *q, struct promql_result *res,
    int64_t eval_ns, struct http_reply *r)
{
	int truncated = 0;
	size_t len;

	if (q->limit != 0 && res->n > q->limit &&
	    (res->type == PROMQL_TYPE_VECTOR ||
	    res->type == PROMQL_TYPE_MATRIX)) {
		/* the series cut are freed with the rest */
		truncated = 1;
	}
	r->content_type = "application/json";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
	if (truncated) {
		size_t n = res->n;

		res->n = (size_t)q->limit;
		promql_result_json(res, &r->body);
		res->n = n;
	} else
		promql_result_json(res, &r->body);
	if (q->stats) {
		/* into the data object: its closing brace goes after */
		len = r->body.len - 1;
		r->body.len = len;
		buf_puts(&r->body, ",\"stats\":{\"timings\":{\"evalTotalTime\":");
		json_seconds(&r->body, eval_ns);
		buf_puts(&r->body, ",\"resultSortTime\":0,"
		    "\"queryPreparationTime\":");
		json_seconds(&r->body, q->parse_ns);
		buf_puts(&r->body, ",\"innerEvalTime\":");
		json_seconds(&r->body, res->stats.eval_ns);
		buf_puts(&r->body, ",\"execQueueTime\":0,\"execTotalTime\":");
		json_seconds(&r->body, q->parse_ns + eval_ns);
		buf_printf(&r->body, "},\"samples\":{\"totalQueryableSamples\":"
		    "%" PRIu64 ",\"peakSamples\":%" PRIu64 "}}}",
		    res->stats.samples, res->stats.peak_samples);
	}
	json_notes(&r->body, "warnings", "warning", res->warnings,
	    res->nwarnings, truncated ? TRUNCATED_WARNING : NULL);
	json_notes(&r->body, "infos", "info", res->infos, res->ninfos, NULL);
	buf_puts(&r->body, "}\n");
	/* the answer is built whole: past this, the server's memory */
	if (r->body.len > QUERY_REPLY_MAX)
		reply_error(r, "execution", "the answer is over %zu MiB: ask "
		    "for fewer series, a shorter range or a longer step",
		    QUERY_REPLY_MAX >> 20);
}

static void
reply_eval_error(int rc, struct http_reply *r)
{
	const char *type = promql_error_type(rc);

	/* what the evaluator refuses before it runs is the query's fault */
	if (strcmp(type, "bad_data") == 0)
		reply_error(r, type, "invalid parameter \"query\": %s",
		    err_message(rc));
	else
		reply_error(r, type, "%s", err_message(rc));
}

static void
qparams_release(struct qparams *q)
{
	free(q->form);
	promql_free(q->expr);
	memset(q, 0, sizeof(*q));
}

static struct series *
series_of(struct http *h, struct http_reply *r)
{
	struct series *s = atomic_load(&h->s);

	if (s == NULL)
		reply_error(r, "unavailable", "the store's metric series are "
		    "not open");
	return s;
}

/*
 * Evaluate q (range: from q->start to q->end by q->step_ms, else at
 * q->time), stopped if the client goes away, and answer.
 */
static void
answer(struct http *h, const struct http_req *req, struct series *s,
    struct qparams *q, int range, struct http_reply *r)
{
	struct promql_result *res = NULL;
	struct cancel c = { h, req->fd };
	int64_t t0;
	int rc;

	q->opts.cancelled = cancelled;
	q->opts.cancel_arg = &c;
	t0 = clock_mono_ns();
	rc = range ? promql_eval_range(s, q->expr, q->start, q->end,
	    q->step_ms, &q->opts, &res) : promql_eval_instant(s, q->expr,
	    q->time, &q->opts, &res);
	if (rc != 0)
		reply_eval_error(rc, r);
	else
		reply_result(q, res, clock_mono_ns() - t0, r);
	promql_result_free(res);
}

/* GET or POST /api/v1/query */
void
http_route_query(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct qparams q;
	struct series *s;

	memset(&q, 0, sizeof(q));
	if ((s = series_of(h, r)) == NULL)
		return;
	q.time = clock_wall_ns() / 1000000;
	if (limit_param(req, &q, r) == 0 &&
	    time_param(req, &q, "time", 0, &q.time, r) == 0 &&
	    common_params(req, &q, r) == 0)
		answer(h, req, s, &q, 0, r);
	qparams_release(&q);
}

/* GET or POST /api/v1/query_range */
void
http_route_query_range(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct qparams q;
	struct series *s;
	struct buf msg;
	const char *v;
	int64_t step_ns = 0;
	__int128 span_ns;

	memset(&q, 0, sizeof(q));
	buf_init(&msg, 0);
	if ((s = series_of(h, r)) == NULL)
		return;
	if (limit_param(req, &q, r) != 0 ||
	    time_param(req, &q, "start", 1, &q.start, r) != 0 ||
	    time_param(req, &q, "end", 1, &q.end, r) != 0)
		goto out;
	if (q.end < q.start) {
		reply_error(r, "bad_data", "invalid parameter \"end\": end "
		    "timestamp must not be before start time");
		goto out;
	}
	if (param(req, "step", &q.form, &v) != 0) {
		reply_error(r, "bad_data", "the form body has a bad "
		    "%%-escape");
		goto out;
	}
	if (parse_duration(v != NULL ? v : "", &step_ns, &msg) != 0) {
		reply_error(r, "bad_data", "invalid parameter \"step\": %s",
		    buf_str(&msg));
		goto out;
	}
	q.step_ms = step_ns / 1000000;
	if (q.step_ms <= 0) {
		reply_error(r, "bad_data", "invalid parameter \"step\": zero or "
		    "negative query resolution step widths are not accepted. "
		    "Try a positive integer");
		goto out;
	}
	/* as Go's end.Sub(start) / step, the difference saturated */
	span_ns = ((__int128)q.end - q.start) * 1000000;
	if (span_ns > INT64_MAX)
		span_ns = INT64_MAX;
	if (span_ns / step_ns > PROMQL_MAX_POINTS) {
		reply_error(r, "bad_data", "exceeded maximum resolution of "
		    "11,000 points per timeseries. Try decreasing the query "
		    "resolution (?step=XX)");
		goto out;
	}
	if (common_params(req, &q, r) == 0)
		answer(h, req, s, &q, 1, r);
out:
	buf_release(&msg);
	qparams_release(&q);
}

/* Has the tree a selector? */
static int
has_selector(const struct promql_node *e)
{
	if (e == NULL)
		return 0;
	switch (e->kind) {
	case PROMQL_VECTOR_SELECTOR:
	case PROMQL_MATRIX_SELECTOR:
		return 1;
	case PROMQL_AGGREGATE:
		return has_selector(e->agg.expr) || has_selector(e->agg.param);
	case PROMQL_BINARY:
		return has_selector(e->bin.lhs) || has_selector(e->bin.rhs);
	case PROMQL_CALL:
		for (size_t i = 0; i < e->call.nargs; i++)
			if (has_selector(e->call.args[i]))
				return 1;
		return 0;
	case PROMQL_SUBQUERY:
		return has_selector(e->sq.expr);
	case PROMQL_PAREN:
		return has_selector(e->paren.expr);
	case PROMQL_UNARY:
		return has_selector(e->un.expr);
	case PROMQL_NUMBER:
	case PROMQL_STRING:
	case PROMQL_EXTERNAL:	/* not in PromQL's trees */
		return 0;
	}
	return 0;
}

/*
 * GET or POST /api/v1/query_exemplars: start and end (default: all
 * time), the query; the store keeps no exemplars, so the answer is an
 * empty list, or 204 as Prometheus answers a query without a selector.
 */
void
http_route_query_exemplars(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct promql_node *e = NULL;
	struct qparams q;
	const char *v;
	int rc;

	(void)h;
	memset(&q, 0, sizeof(q));
	q.start = INT64_MIN;
	q.end = INT64_MAX;
	if (time_param(req, &q, "start", 0, &q.start, r) != 0 ||
	    time_param(req, &q, "end", 0, &q.end, r) != 0)
		goto out;
	if (q.end < q.start) {
		reply_error(r, "bad_data", "end timestamp must not be before "
		    "start timestamp");
		goto out;
	}
	if (param(req, "query", &q.form, &v) != 0) {
		reply_error(r, "bad_data", "the form body has a bad "
		    "%%-escape");
		goto out;
	}
	if ((rc = promql_parse(v != NULL ? v : "", v != NULL ? strlen(v) : 0,
	    &e)) != 0) {
		reply_error(r, "bad_data", "%s", err_message(rc));
		goto out;
	}
	if (!has_selector(e)) {
		r->status = 204;
		goto out;
	}
	r->content_type = "application/json";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":[]}\n");
out:
	promql_free(e);
	qparams_release(&q);
}
