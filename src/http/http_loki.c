/*
 * http_loki.c - the read side of Loki's HTTP API, over the log streams
 * (logs.h) and LogQL (logql.h), so that Grafana's Loki data source and
 * logcli work against shale:
 *
 *	/loki/api/v1/query		an instant metric query: query, time,
 *					limit, direction
 *	/loki/api/v1/query_range	a log or metric query over a range:
 *					query, start, end, since, step,
 *					interval, limit, direction
 *	/loki/api/v1/labels		label names of the streams: start,
 *					end, since, query
 *	/loki/api/v1/label/NAME/values	values of one label, the same
 *	/loki/api/v1/series		label sets of the streams: match[],
 *					start, end, since
 *	/loki/api/v1/index/stats	streams, chunks, entries and bytes a
 *					query would read: query, start, end
 *	/loki/api/v1/index/volume	bytes by label: query, start, end,
 *					limit, targetLabels
 *	/loki/api/v1/tail		a WebSocket following new entries:
 *					query, start, limit, delay_for
 *	/loki/api/v1/status/buildinfo	the version of Loki's API spoken
 *	/ready				"ready" once the store is open
 *
 * GET or form POST, the parameters as Go's Request.Form holds them: the
 * body's fields first, then the URL's, the first one counting and an
 * empty one as if not given (match[] takes every one).
 *
 * Answers are Loki 3's: {"status":"success","data":...} for queries,
 * labels and series (labels without "data" when there are none, as
 * Loki's omitempty leaves it), the bare object for index stats. Errors
 * are not JSON: Loki writes the message alone as text/plain, no newline,
 * with the status of its class: 400 for bad parameters, parse errors and
 * the query's limits (a pipeline error, too many series), 499 when the
 * client went away (the query stops: the evaluator polls the socket for
 * the peer's end, POLLRDHUP, as PromQL's routes do), 504 past the query
 * timeout, 500 when the store failed.
 *
 * Times are Loki's: integer nanoseconds, or seconds when they have at
 * most ten digits; float seconds (rounded to the millisecond); RFC 3339
 * with up to nine digits of fraction. A range is [end - since, end] by
 * default (since 1h, end now, and end-since never from a future end);
 * step defaults to the range over 250, at least 1 s.
 *
 * Streams pass the time filter of labels, series and index stats when
 * they were appended to after start (less the grace an entry may be
 * ahead of the clock) and made before end (plus the window an entry may
 * be behind the newest, logs.h); their labels are what logs_streams()
 * gives. Answers are built whole in memory (http.c sends a buffer),
 * bounded by LOGQL_LIMIT_MAX entries and LOGQL_MAX_SERIES series; a tail
 * sends a message a batch on its own thread.
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
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/sha.h>

#include "http/http.h"
#include "http/http_int.h"
#include "model/labels.h"
#include "model/logs.h"
#include "model/matcher.h"
#include "query/logql.h"
#include "query/promql.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/jsonw.h"
#include "util/xmalloc.h"

#define LOKI_PARAMS_MAX		4096	/* of the query and a form body */
#define LOKI_MATCH_MAX		1024	/* match[] groups of a series call */
#define LOKI_SINCE_NS		(3600LL * 1000000000)	/* default range */
#define LOKI_MAX_POINTS		11000	/* of a range query, as Loki */
#define LOKI_REPLY_MAX		((size_t)256 << 20)	/* bytes of an answer */
#define LOKI_API_VERSION	"3.0.0"	/* what Grafana reads features from */

/* Loki's messages, which clients and people match on. */
#define ERR_INSTANT_LOG		"log queries are not supported as an " \
	"instant query type, please change your query to a range query type"
#define ERR_END_BEFORE_START	"end timestamp must not be before start time"
#define ERR_NEGATIVE_STEP	"zero or negative query resolution step " \
	"widths are not accepted. Try a positive integer"
#define ERR_STEP_TOO_SMALL	"exceeded maximum resolution of 11,000 " \
	"points per timeseries. Try decreasing the query resolution (?step=XX)"
#define ERR_CANCELED		"the request was cancelled by the client"
#define ERR_DEADLINE		"request timed out, decrease the duration of " \
	"the request or add more label matchers (prefer exact match over " \
	"regex match) to reduce the amount of data processed"

/* ---- errors ---- */

static void
reply_error(struct http_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message alone, as Loki's server.WriteError writes it. */
static void
reply_error(struct http_reply *r, int status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	r->content_type = "text/plain; charset=utf-8";
	r->nheaders = 0;
	http_reply_header(r, "X-Content-Type-Options", "nosniff");
	buf_reset(&r->body);
	va_start(ap, fmt);
	buf_vprintf(&r->body, fmt, ap);
	va_end(ap);
}

/* The answer for an error code of logql_eval() or of the store. */
static void
reply_errno(struct http_reply *r, int rc)
{
	switch (rc) {
	case -EINVAL:
	case -EDOM:
	case -ERANGE:
		reply_error(r, 400, "%s", err_message(rc));
		break;
	case -ECANCELED:
		reply_error(r, 499, ERR_CANCELED);
		break;
	case -ETIMEDOUT:
		reply_error(r, 504, ERR_DEADLINE);
		break;
	default:
		reply_error(r, 500, "%s", err_message(rc));
		break;
	}
}

/*
 * s quoted as Go's %q does for ASCII: the quote and backslash escaped,
 * control bytes as \n, \t or \xNN; at most 256 bytes of s.
 */
static void
go_quote(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > 256)
		n = 256;
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

/* ---- parameters ---- */

struct params {
	struct http_arg	*v;
	size_t		 n, cap;
	char		*form;		/* the body, decoded in place */
};

static void
params_add(struct params *p, const char *name, const char *value)
{
	p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->n++;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a form field in place ('+' a space, %XX a byte): 0 or -EINVAL. */
static int
form_decode(char *s)
{
	char *o = s;
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s == '%') {
			if ((hi = hex_value(s[1])) < 0 ||
			    (lo = hex_value(s[2])) < 0 || (hi == 0 && lo == 0))
				return -EINVAL;	/* a bad escape, or a NUL */
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return 0;
}

/*
 * The body's fields (as a form, whatever its Content-Type: these routes
 * take nothing else), then the query's. 0, or -EINVAL with the error in
 * r.
 */
static int
params_read(const struct http_req *req, struct params *p,
    struct http_reply *r)
{
	char *f, *next, *eq;

	memset(p, 0, sizeof(*p));
	if (req->method == HTTP_POST && req->body_len > 0) {
		if (memchr(req->body, '\0', req->body_len) != NULL) {
			reply_error(r, 400, "the form body holds a NUL byte");
			return -EINVAL;
		}
		p->form = xstrndup(req->body, req->body_len);
		for (f = p->form; f != NULL; f = next) {
			if ((next = strchr(f, '&')) != NULL)
				*next++ = '\0';
			if (*f == '\0')
				continue;
			if ((eq = strchr(f, '=')) != NULL)
				*eq++ = '\0';
			if (form_decode(f) != 0 ||
			    (eq != NULL && form_decode(eq) != 0)) {
				reply_error(r, 400, "the form body has a bad "
				    "%%-escape");
				return -EINVAL;
			}
			if (p->n == LOKI_PARAMS_MAX) {
				reply_error(r, 400, "more than %d parameters",
				    LOKI_PARAMS_MAX);
				return -EINVAL;
			}
			params_add(p, f, eq != NULL ? eq : "");
		}
	}
	for (size_t i = 0; i < req->nargs; i++)
		params_add(p, req->args[i].name, req->args[i].value != NULL ?
		    req->args[i].value : "");
	return 0;
}

static void
params_release(struct params *p)
{
	free(p->v);
	free(p->form);
	memset(p, 0, sizeof(*p));
}

/* The first value of `name`, or NULL; "" counts as not given, as in Go. */
static const char *
param(const struct params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value[0] != '\0' ? p->v[i].value : NULL;
	return NULL;
}

/* Go's strconv.ParseInt(s, 10, 64): 0, -EINVAL (syntax) or -ERANGE. */
static int
parse_int(const char *s, int64_t *v)
{
	const char *p = s + (*s == '+' || *s == '-');
	uint64_t u = 0, max = *s == '-' ? (uint64_t)INT64_MAX + 1 : INT64_MAX;

	if (*p == '\0')
		return -EINVAL;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (u > (max - (uint64_t)(*p - '0')) / 10) {
			/* Go reads on: a later non-digit is a syntax error */
			while (*p >= '0' && *p <= '9')
				p++;
			return *p == '\0' ? -ERANGE : -EINVAL;
		}
		u = u * 10 + (uint64_t)(*p - '0');
	}
	*v = *s == '-' ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Go's time.Parse(time.RFC3339Nano, s) into nanoseconds: 0 or -EINVAL. */
static int
parse_rfc3339_nano(const char *s, int64_t *ns)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 1, n = 0;
	int64_t frac = 0;
	const char *p;
	struct tm tm;
	time_t t;

	if (strlen(s) < 20)
		return -EINVAL;
	y = digits(s, 4);
	if (y < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 1 || mo > 12 ||
	    s[7] != '-' || (d = digits(s + 8, 2)) < 1 || d > mdays[mo - 1] ||
	    s[10] != 'T' || (h = digits(s + 11, 2)) < 0 || h > 23 ||
	    s[13] != ':' || (mi = digits(s + 14, 2)) < 0 || mi > 59 ||
	    s[16] != ':' || (sec = digits(s + 17, 2)) < 0 || sec > 59)
		return -EINVAL;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -EINVAL;
	p = s + 19;
	if (*p == '.' || *p == ',') {
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 9)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			frac *= 10;
	}
	if (*p == 'Z' && p[1] == '\0')
		;
	else if ((*p == '+' || *p == '-') && (oh = digits(p + 1, 2)) >= 0 &&
	    oh <= 23 && p[3] == ':' && (om = digits(p + 4, 2)) >= 0 &&
	    om <= 59 && p[6] == '\0')
		sign = *p == '+' ? 1 : -1;
	else
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (t > INT64_MAX / 1000000000 - 1 || t < INT64_MIN / 1000000000 + 1)
		return -EINVAL;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

/*
 * A time as Loki's parseTimestamp reads one: with a '.', float seconds
 * (the fraction rounded to the millisecond); else an integer, seconds
 * when it has at most ten characters, nanoseconds when more; else RFC
 * 3339. v NULL: def. 0 and *ns, or -EINVAL with Go's message in msg.
 */
int
http_loki_time(const char *v, int64_t def, int64_t *ns, struct buf *msg)
{
	double t, whole, frac;
	char *end;
	int64_t n;
	int rc;

	if (v == NULL) {
		*ns = def;
		return 0;
	}
	if (strchr(v, '.') != NULL && strpbrk(v, "xXnN \t\n") == NULL) {
		t = strtod(v, &end);
		if (end != v && *end == '\0' && isfinite(t) && fabs(t) < 9.2e9) {
			frac = modf(t, &whole);
			frac = round(frac * 1000) / 1000;
			*ns = (int64_t)whole * 1000000000 +
			    (int64_t)(frac * 1e9);
			return 0;
		}
	}
	if ((rc = parse_int(v, &n)) == 0) {
		if (strlen(v) > 10) {
			*ns = n;
			return 0;
		}
		/* past int64 nanoseconds (the year 2262): the last second */
		if (n > INT64_MAX / 1000000000)
			n = INT64_MAX / 1000000000;
		if (n < INT64_MIN / 1000000000)
			n = INT64_MIN / 1000000000;
		*ns = n * 1000000000;
		return 0;
	}
	if (parse_rfc3339_nano(v, ns) == 0)
		return 0;
	buf_puts(msg, "strconv.ParseInt: parsing ");
	go_quote(msg, v);
	buf_puts(msg, rc == -ERANGE ? ": value out of range" :
	    ": invalid syntax");
	return -EINVAL;
}

/*
 * Seconds as a float or a Prometheus duration ("15s", "100ms"), as
 * Loki's parseSecondsOrDuration: 0 and *ns, or -EINVAL with the message.
 */
int
http_loki_duration(const char *v, int64_t *ns, struct buf *msg)
{
	int64_t ms;
	double d;
	char *end;

	d = strtod(v, &end);
	if (end != v && *end == '\0' && strpbrk(v, "xX \t\n") == NULL) {
		d *= 1e9;
		if (d >= 9223372036854775807.0 || d < -9223372036854775807.0) {
			buf_puts(msg, "cannot parse ");
			go_quote(msg, v);
			buf_puts(msg, " to a valid duration. It overflows int64");
			return -EINVAL;
		}
		*ns = isnan(d) ? 0 : (int64_t)d;
		return 0;
	}
	if (promql_duration_parse(v, strlen(v), &ms) == 0 &&
	    ms <= INT64_MAX / 1000000) {
		*ns = ms * 1000000;
		return 0;
	}
	buf_puts(msg, "cannot parse ");
	go_quote(msg, v);
	buf_puts(msg, " to a valid duration");
	return -EINVAL;
}

/*
 * start, end and since, as Loki's bounds: end defaults to now, start to
 * end (or now, for an end in the future) less since (default 1h). 0, or
 * -EINVAL with the error in r.
 */
static int
read_bounds(const struct params *p, int64_t *start, int64_t *end,
    struct http_reply *r)
{
	int64_t now = clock_wall_ns(), since = LOKI_SINCE_NS, ms;
	const char *v;
	struct buf msg;
	int rc = -EINVAL;

	buf_init(&msg, 0);
	if ((v = param(p, "since")) != NULL) {
		if (promql_duration_parse(v, strlen(v), &ms) != 0 ||
		    ms > INT64_MAX / 1000000) {
			reply_error(r, 400, "could not parse 'since' parameter: "
			    "not a valid duration string: %s", v);
			goto out;
		}
		since = ms * 1000000;
	}
	if (http_loki_time(param(p, "end"), now, end, &msg) != 0) {
		reply_error(r, 400, "could not parse 'end' parameter: %s",
		    buf_str(&msg));
		goto out;
	}
	if (http_loki_time(param(p, "start"), (*end > now ? now : *end) - since,
	    start, &msg) != 0) {
		reply_error(r, 400, "could not parse 'start' parameter: %s",
		    buf_str(&msg));
		goto out;
	}
	rc = 0;
out:
	buf_release(&msg);
	return rc;
}

/* limit as Loki's: 0 and *limit (default 100), or -EINVAL with r set. */
static int
read_limit(const struct params *p, size_t *limit, struct http_reply *r)
{
	const char *v = param(p, "limit");
	struct buf msg;
	int64_t n;
	int rc;

	*limit = LOGQL_LIMIT_DEFAULT;
	if (v == NULL)
		return 0;
	if ((rc = parse_int(v, &n)) != 0 || n > INT32_MAX || n < INT32_MIN) {
		buf_init(&msg, 0);
		go_quote(&msg, v);
		reply_error(r, 400, "strconv.Atoi: parsing %s: %s",
		    buf_str(&msg), rc == -EINVAL ? "invalid syntax" :
		    "value out of range");
		buf_release(&msg);
		return -EINVAL;
	}
	if (n <= 0) {
		reply_error(r, 400, "limit must be a positive value");
		return -EINVAL;
	}
	*limit = (size_t)n;
	return 0;
}

static int
read_direction(const struct params *p, enum logql_direction *dir,
    struct http_reply *r)
{
	const char *v = param(p, "direction");

	*dir = LOGQL_BACKWARD;
	if (v == NULL || strcasecmp(v, "backward") == 0)
		return 0;
	if (strcasecmp(v, "forward") == 0) {
		*dir = LOGQL_FORWARD;
		return 0;
	}
	reply_error(r, 400, "invalid direction '%s'", v);
	return -EINVAL;
}

/* ---- queries ---- */

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
	struct pollfd pfd;

	if (__atomic_load_n(&c->h->stopping, __ATOMIC_SEQ_CST))
		return 1;
	if (c->fd < 0)
		return 0;
	pfd.fd = c->fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* The query parameter, parsed: 0 and *e, or -EINVAL with r set. */
static int
read_query(const struct params *p, struct logql_expr **e,
    struct http_reply *r)
{
	const char *q = param(p, "query");
	int rc;

	if (q == NULL)
		q = "";
	if (strlen(q) > LOGQL_QUERY_MAX) {
		reply_error(r, 400, "the query is over %d bytes",
		    LOGQL_QUERY_MAX);
		return -EINVAL;
	}
	if ((rc = logql_parse(q, strlen(q), e)) != 0)
		reply_error(r, 400, "%s", err_message(rc));
	return rc;
}

/*
 * A log query's limit past the most entries a query may give: Loki's
 * max_entries_limit_per_query (metric queries are not limited so).
 */
static int
check_limit(const struct logql_expr *e, size_t limit, struct http_reply *r)
{
	if (!logql_is_log(e) || limit <= LOGQL_LIMIT_MAX)
		return 0;
	reply_error(r, 400, "max entries limit per query exceeded, limit > "
	    "max_entries_limit_per_query (%zu > %d)", limit, LOGQL_LIMIT_MAX);
	return -EINVAL;
}

/* Evaluate e as o says, stopped if the client goes away, and answer. */
static void
answer(struct http *h, const struct http_req *req, struct logs *l,
    const struct logql_expr *e, struct logql_opts *o, struct http_reply *r)
{
	struct logql_result *res = NULL;
	struct cancel c = { h, req->fd };
	int rc;

	o->cancelled = cancelled;
	o->cancel_arg = &c;
	if ((rc = logql_eval(l, e, o, &res)) != 0) {
		reply_errno(r, rc);
		return;
	}
	r->content_type = "application/json; charset=UTF-8";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
	logql_result_json(res, &r->body);
	buf_puts(&r->body, "}\n");
	logql_result_free(res);
	if (r->body.len > LOKI_REPLY_MAX)
		reply_error(r, 400, "the answer is over %zu MiB: ask for "
		    "fewer entries or series, a shorter range or a longer step",
		    LOKI_REPLY_MAX >> 20);
}

/* GET or POST /loki/api/v1/query */
static void
route_query(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct logql_expr *e = NULL;
	struct logql_opts o;
	struct params p;
	struct buf msg;

	memset(&o, 0, sizeof(o));
	buf_init(&msg, 0);
	if (params_read(req, &p, r) != 0 ||
	    read_limit(&p, &o.limit, r) != 0)
		goto out;
	if (http_loki_time(param(&p, "time"), clock_wall_ns(), &o.end_ns,
	    &msg) != 0) {
		reply_error(r, 400, "%s", buf_str(&msg));
		goto out;
	}
	if (read_direction(&p, &o.dir, r) != 0 || read_query(&p, &e, r) != 0)
		goto out;
	if (logql_is_log(e)) {
		reply_error(r, 400, ERR_INSTANT_LOG);
		goto out;
	}
	o.start_ns = o.end_ns;
	answer(h, req, l, e, &o, r);
out:
	logql_free(e);
	buf_release(&msg);
	params_release(&p);
}

/* GET or POST /loki/api/v1/query_range */
static void
route_query_range(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct logql_expr *e = NULL;
	struct logql_opts o;
	struct params p;
	struct buf msg;
	const char *v;
	int64_t interval;

	memset(&o, 0, sizeof(o));
	buf_init(&msg, 0);
	if (params_read(req, &p, r) != 0 ||
	    read_bounds(&p, &o.start_ns, &o.end_ns, r) != 0)
		goto out;
	if (o.end_ns < o.start_ns) {
		reply_error(r, 400, ERR_END_BEFORE_START);
		goto out;
	}
	if (read_limit(&p, &o.limit, r) != 0 ||
	    read_direction(&p, &o.dir, r) != 0)
		goto out;
	if ((v = param(&p, "step")) == NULL) {
		/* Loki's default: the range over 250, in whole seconds */
		o.step_ns = (o.end_ns - o.start_ns) / 250 / 1000000000 *
		    1000000000;
		if (o.step_ns < 1000000000)
			o.step_ns = 1000000000;
	} else if (http_loki_duration(v, &o.step_ns, &msg) != 0) {
		reply_error(r, 400, "%s", buf_str(&msg));
		goto out;
	}
	if (o.step_ns <= 0) {
		reply_error(r, 400, ERR_NEGATIVE_STEP);
		goto out;
	}
	if ((o.end_ns - o.start_ns) / o.step_ns > LOKI_MAX_POINTS) {
		reply_error(r, 400, ERR_STEP_TOO_SMALL);
		goto out;
	}
	/* taken and checked as Loki does; every entry is given */
	if ((v = param(&p, "interval")) != NULL) {
		if (http_loki_duration(v, &interval, &msg) != 0) {
			reply_error(r, 400, "%s", buf_str(&msg));
			goto out;
		}
		if (interval < 0) {
			reply_error(r, 400, "interval must be >= 0");
			goto out;
		}
	}
	if (read_query(&p, &e, r) != 0 || check_limit(e, o.limit, r) != 0)
		goto out;
	answer(h, req, l, e, &o, r);
out:
	logql_free(e);
	buf_release(&msg);
	params_release(&p);
}

/* ---- streams: labels, series, index stats ---- */

/*
 * The stream selectors of LogQL text: every {...} outside a string
 * literal, parsed with matcher.h. 0, or -EINVAL with err_set().
 */
int
http_loki_selectors(const char *q, struct selector ***out, size_t *n)
{
	struct selector **v = NULL, *s;
	size_t cap = 0, i = 0, j;
	char quote;
	int rc;

	*n = 0;
	while (q[i] != '\0') {
		if (q[i] == '"' || q[i] == '`') {
			quote = q[i++];
			while (q[i] != '\0' && q[i] != quote)
				i += q[i] == '\\' && quote == '"' &&
				    q[i + 1] != '\0' ? 2 : 1;
			i += q[i] != '\0';
			continue;
		}
		if (q[i] != '{') {
			i++;
			continue;
		}
		for (j = i + 1; q[j] != '\0' && q[j] != '}'; j++)
			if (q[j] == '"' || q[j] == '`') {
				quote = q[j++];
				while (q[j] != '\0' && q[j] != quote)
					j += q[j] == '\\' && quote == '"' &&
					    q[j + 1] != '\0' ? 2 : 1;
				if (q[j] == '\0')
					break;
			}
		if (q[j] != '}') {
			rc = err_set(-EINVAL, "parse error : unclosed stream "
			    "selector");
			goto fail;
		}
		if ((rc = selector_parse(q + i, j - i + 1, &s)) != 0)
			goto fail;
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = s;
		i = j + 1;
	}
	*out = v;
	return 0;
fail:
	for (size_t k = 0; k < *n; k++)
		selector_free(v[k]);
	free(v);
	*n = 0;
	return rc;
}

struct walk {
	struct logs	*l;
	struct selector	**sel;		/* any of them; none: every stream */
	size_t		 nsel;
	int64_t		 start, end;
	const char	*name;		/* of label values; NULL: names */
	/* what is collected */
	char		**s;		/* names, values or series JSON */
	size_t		 n, cap;
	uint64_t	 streams, bytes;
	int		 series;	/* collect label sets as JSON */
	int		 count;		/* collect nothing, count */
	char		**group;	/* volume: "{labels}\tbytes" by these */
	size_t		 ngroup;
};

static void
walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->nsel; i++)
		selector_free(w->sel[i]);
	free(w->sel);
	for (size_t i = 0; i < w->n; i++)
		free(w->s[i]);
	free(w->s);
	for (size_t i = 0; i < w->ngroup; i++)
		free(w->group[i]);
	free(w->group);
	memset(w, 0, sizeof(*w));
}

static void
walk_add(struct walk *w, char *s)
{
	w->s = xgrow(w->s, &w->cap, w->n + 1, sizeof(*w->s));
	w->s[w->n++] = s;
}

/* {"name":"value",...} in the set's order, which is by name. */
static void
json_labels(struct buf *b, const struct labels *ls)
{
	const struct label *l;

	buf_putc(b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		l = labels_at(ls, i);
		if (i > 0)
			buf_putc(b, ',');
		jw_string_raw(b, l->name, l->name_len);
		buf_putc(b, ':');
		jw_string_raw(b, l->value, l->value_len);
	}
	buf_putc(b, '}');
}

static int
name_in(const char *name, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

/* A stream's bytes under the JSON of its labels that w->group names. */
static int
volume_add(struct walk *w, uint64_t id, const struct labels *ls)
{
	struct logs_attr full;
	const struct label *l;
	struct buf b;
	int rc, k = 0;

	if ((rc = logs_getattr(w->l, id, &full)) != 0)
		return rc == -ENOENT ? 0 : rc;
	buf_init(&b, 0);
	buf_putc(&b, '{');
	for (size_t i = 0; i < labels_count(ls); i++) {
		l = labels_at(ls, i);
		if (!name_in(l->name, w->group, w->ngroup))
			continue;
		if (k++ > 0)
			buf_putc(&b, ',');
		jw_string_raw(&b, l->name, l->name_len);
		buf_putc(&b, ':');
		jw_string_raw(&b, l->value, l->value_len);
	}
	buf_printf(&b, "}\t%" PRIu64, full.size);
	walk_add(w, buf_detach(&b, NULL));
	return 0;
}

static int
on_stream(void *arg, uint64_t id, const struct labels *ls,
    const struct logs_attr *a)
{
	struct walk *w = arg;
	const struct label *l;
	struct logs_attr full;
	struct buf b;
	int rc, hit = w->nsel == 0;

	/*
	 * An entry is at most LOGS_FUTURE_GRACE_NS ahead of its append, and
	 * one pushed to a stream is taken up to LOGS_OOO_WINDOW_NS behind
	 * the newest: a stream last appended to before start, or made after
	 * end, has none in the range.
	 */
	if (a->mtime_ns + LOGS_FUTURE_GRACE_NS < w->start ||
	    a->ctime_ns - LOGS_OOO_WINDOW_NS > w->end)
		return 0;
	for (size_t i = 0; i < w->nsel && !hit; i++) {
		if ((rc = selector_matches(w->sel[i], ls)) < 0)
			return rc;
		hit = rc;
	}
	if (!hit)
		return 0;
	w->streams++;
	if (w->group != NULL)
		return volume_add(w, id, ls);
	if (w->count) {
		/* a listing's size may not be read yet: ask the stream */
		if ((rc = logs_getattr(w->l, id, &full)) == 0)
			w->bytes += full.size;
		return rc == -ENOENT ? 0 : rc;
	}
	if (w->series) {
		buf_init(&b, 0);
		json_labels(&b, ls);
		walk_add(w, buf_detach(&b, NULL));
	} else if (w->name != NULL) {
		if ((l = labels_find(ls, w->name, strlen(w->name))) != NULL)
			walk_add(w, xstrndup(l->value, l->value_len));
	} else
		for (size_t i = 0; i < labels_count(ls); i++) {
			l = labels_at(ls, i);
			walk_add(w, xstrndup(l->name, l->name_len));
		}
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk the streams, then sort what was collected and drop repeats. */
static int
walk_run(struct logs *l, struct walk *w)
{
	size_t k = 0;
	int rc;

	w->l = l;
	if ((rc = logs_streams(l, on_stream, w)) != 0)
		return rc;
	if (w->n > 1)
		qsort(w->s, w->n, sizeof(*w->s), str_cmp);
	for (size_t i = 0; i < w->n; i++) {
		if (k > 0 && strcmp(w->s[k - 1], w->s[i]) == 0) {
			free(w->s[i]);
			continue;
		}
		w->s[k++] = w->s[i];
	}
	w->n = k;
	return 0;
}

/*
 * The range and the selectors of `query` (a LogQL query, checked by the
 * parser first so that its errors are LogQL's): 0, or -EINVAL with r set.
 */
static int
walk_query(const struct params *p, struct walk *w, struct http_reply *r)
{
	const char *q = param(p, "query");
	struct logql_expr *e;
	int rc;

	if (read_bounds(p, &w->start, &w->end, r) != 0)
		return -EINVAL;
	if (q == NULL)
		return 0;
	if ((rc = logql_parse(q, strlen(q), &e)) != 0) {
		reply_error(r, 400, "%s", err_message(rc));
		return rc;
	}
	logql_free(e);
	if ((rc = http_loki_selectors(q, &w->sel, &w->nsel)) != 0)
		reply_error(r, 400, "%s", err_message(rc));
	return rc;
}

/* ["a","b"] as the data of a labels answer, or nothing when empty. */
static void
reply_strings(struct walk *w, struct http_reply *r)
{
	r->content_type = "application/json; charset=UTF-8";
	buf_puts(&r->body, "{\"status\":\"success\"");
	if (w->n > 0) {
		buf_puts(&r->body, ",\"data\":[");
		for (size_t i = 0; i < w->n; i++) {
			if (i > 0)
				buf_putc(&r->body, ',');
			jw_string_raw(&r->body, w->s[i], strlen(w->s[i]));
		}
		buf_putc(&r->body, ']');
	}
	buf_puts(&r->body, "}\n");
}

/* GET or POST /loki/api/v1/labels */
static void
route_labels(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct walk w;
	struct params p;
	int rc;

	memset(&w, 0, sizeof(w));
	if (params_read(req, &p, r) == 0 && walk_query(&p, &w, r) == 0) {
		if ((rc = walk_run(atomic_load(&h->l), &w)) != 0)
			reply_errno(r, rc);
		else
			reply_strings(&w, r);
	}
	walk_release(&w);
	params_release(&p);
}

/* GET or POST /loki/api/v1/label/NAME/values */
static void
route_label_values(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	const char *prefix = "/loki/api/v1/label/";
	size_t plen = strlen(prefix), nlen;
	struct params p;
	struct walk w;
	char *name;
	int rc;

	memset(&w, 0, sizeof(w));
	nlen = strcspn(req->path + plen, "/");
	name = xstrndup(req->path + plen, nlen);
	w.name = name;
	if (params_read(req, &p, r) == 0 && walk_query(&p, &w, r) == 0) {
		if ((rc = walk_run(atomic_load(&h->l), &w)) != 0)
			reply_errno(r, rc);
		else
			reply_strings(&w, r);
	}
	walk_release(&w);
	params_release(&p);
	free(name);
}

/* GET or POST /loki/api/v1/series */
static void
route_series(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct params p;
	struct walk w;
	struct selector *s;
	size_t cap = 0;
	int rc;

	memset(&w, 0, sizeof(w));
	w.series = 1;
	if (params_read(req, &p, r) != 0 ||
	    read_bounds(&p, &w.start, &w.end, r) != 0)
		goto out;
	for (size_t i = 0; i < p.n; i++) {
		if (strcmp(p.v[i].name, "match[]") != 0 &&
		    strcmp(p.v[i].name, "match") != 0)
			continue;
		if (w.nsel == LOKI_MATCH_MAX) {
			reply_error(r, 400, "more than %d match[] groups",
			    LOKI_MATCH_MAX);
			goto out;
		}
		if ((rc = selector_parse(p.v[i].value, strlen(p.v[i].value),
		    &s)) != 0) {
			reply_error(r, 400, "%s", err_message(rc));
			goto out;
		}
		w.sel = xgrow(w.sel, &cap, w.nsel + 1, sizeof(*w.sel));
		w.sel[w.nsel++] = s;
	}
	if ((rc = walk_run(atomic_load(&h->l), &w)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	r->content_type = "application/json; charset=UTF-8";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":[");
	for (size_t i = 0; i < w.n; i++) {
		if (i > 0)
			buf_putc(&r->body, ',');
		buf_puts(&r->body, w.s[i]);
	}
	buf_puts(&r->body, "]}\n");
out:
	walk_release(&w);
	params_release(&p);
}

/*
 * GET or POST /loki/api/v1/index/stats: the streams the query's
 * selectors pick in the range, and their bytes (whole: the store keeps
 * no index of bytes by time); chunks and entries are not counted
 * without reading, so 0.
 */
static void
route_index_stats(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct params p;
	struct walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.count = 1;
	if (params_read(req, &p, r) != 0 || walk_query(&p, &w, r) != 0)
		goto out;
	if ((rc = walk_run(atomic_load(&h->l), &w)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	r->content_type = "application/json; charset=UTF-8";
	buf_printf(&r->body, "{\"streams\":%" PRIu64 ",\"chunks\":0,"
	    "\"bytes\":%" PRIu64 ",\"entries\":0}\n", w.streams, w.bytes);
out:
	walk_release(&w);
	params_release(&p);
}

struct vol {
	char		*metric;	/* JSON, the walk's */
	uint64_t	 bytes;
};

static int
vol_cmp(const void *pa, const void *pb)
{
	const struct vol *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return strcmp(a->metric, b->metric);
}

/*
 * GET or POST /loki/api/v1/index/volume: the bytes of the streams the
 * query's selectors pick in the range, summed by the labels those
 * selectors name (or by targetLabels), biggest first, at most limit
 * (100 by default), as an instant vector at end; what Grafana's Logs
 * Drilldown asks. Bytes are whole streams', as for index/stats.
 */
static void
route_index_volume(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct vol *v = NULL;
	struct params p;
	struct walk w;
	size_t cap = 0, nv = 0, limit, gcap = 0;
	const char *t;
	char *tab;
	int rc;

	memset(&w, 0, sizeof(w));
	if (params_read(req, &p, r) != 0 || walk_query(&p, &w, r) != 0 ||
	    read_limit(&p, &limit, r) != 0)
		goto out;
	if ((t = param(&p, "targetLabels")) != NULL)
		while (*t != '\0') {
			size_t n = strcspn(t, ",");

			if (n > 0) {
				w.group = xgrow(w.group, &gcap, w.ngroup + 1,
				    sizeof(*w.group));
				w.group[w.ngroup++] = xstrndup(t, n);
			}
			t += n + (t[n] == ',');
		}
	else
		for (size_t i = 0; i < w.nsel; i++)
			for (size_t k = 0; k < selector_count(w.sel[i]); k++) {
				const char *n = matcher_name(
				    selector_at(w.sel[i], k));

				if (name_in(n, w.group, w.ngroup))
					continue;
				w.group = xgrow(w.group, &gcap, w.ngroup + 1,
				    sizeof(*w.group));
				w.group[w.ngroup++] = xstrdup(n);
			}
	if (w.group == NULL)
		w.group = xcalloc(1, sizeof(*w.group));
	w.l = atomic_load(&h->l);
	if ((rc = logs_streams(w.l, on_stream, &w)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	if (w.n > 1)
		qsort(w.s, w.n, sizeof(*w.s), str_cmp);
	for (size_t i = 0; i < w.n; i++) {
		tab = strrchr(w.s[i], '\t');
		*tab = '\0';
		if (nv > 0 && strcmp(v[nv - 1].metric, w.s[i]) == 0) {
			v[nv - 1].bytes += strtoull(tab + 1, NULL, 10);
			continue;
		}
		v = xgrow(v, &cap, nv + 1, sizeof(*v));
		v[nv].metric = w.s[i];
		v[nv].bytes = strtoull(tab + 1, NULL, 10);
		nv++;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), vol_cmp);
	if (nv > limit)
		nv = limit;
	r->content_type = "application/json; charset=UTF-8";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":{\"resultType\":"
	    "\"vector\",\"result\":[");
	for (size_t i = 0; i < nv; i++) {
		buf_printf(&r->body, "%s{\"metric\":%s,\"value\":[",
		    i > 0 ? "," : "", v[i].metric);
		jw_format_float(&r->body, (double)(w.end / 1000000) / 1000.0,
		    'f');
		buf_printf(&r->body, ",\"%" PRIu64 "\"]}", v[i].bytes);
	}
	buf_puts(&r->body, "]}}\n");
out:
	free(v);
	walk_release(&w);
	params_release(&p);
}

/* ---- tail: a WebSocket following new entries ---- */

#define TAIL_POLL_MS		250	/* between looks for new entries */
#define TAIL_DELAY_MAX		5	/* delay_for, seconds, as Loki */
#define TAIL_FRAME_MAX		4096	/* of a frame from the client */
#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct tail {
	struct logs	*l;
	struct logql_expr *e;
	size_t		 limit;
	int64_t		 start;
	/* frames from the client, as they come */
	unsigned char	 in[TAIL_FRAME_MAX + 14];
	size_t		 inlen;
};

static void
tail_done(void *arg)
{
	struct tail *t = arg;

	logql_free(t->e);
	free(t);
}

/*
 * Send all of p, waiting for the socket at most HTTP_TIMEOUT_S without
 * progress, and not past the server's stop: 0 or -EIO.
 */
static int
send_all(struct http *h, int fd, const void *p, size_t n)
{
	const char *c = p;
	int64_t idle = 0;
	struct pollfd pfd;
	ssize_t k;

	while (n > 0) {
		k = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			c += k;
			n -= (size_t)k;
			idle = 0;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -EIO;
		if (__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST) ||
		    idle >= (int64_t)HTTP_TIMEOUT_S * 1000)
			return -EIO;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		poll(&pfd, 1, 100);
		idle += 100;
	}
	return 0;
}

/* One unmasked frame, as a server sends them (RFC 6455, 5.2). */
static int
ws_send(struct http *h, int fd, int opcode, const void *p, size_t n)
{
	unsigned char hd[10];
	size_t hl = 2;

	hd[0] = (unsigned char)(0x80 | opcode);
	if (n < 126)
		hd[1] = (unsigned char)n;
	else if (n <= 0xffff) {
		hd[1] = 126;
		hd[2] = (unsigned char)(n >> 8);
		hd[3] = (unsigned char)n;
		hl = 4;
	} else {
		hd[1] = 127;
		for (int i = 0; i < 8; i++)
			hd[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	if (send_all(h, fd, hd, hl) != 0)
		return -EIO;
	return n > 0 ? send_all(h, fd, p, n) : 0;
}

/* A close frame with a status code and a reason cut to fit. */
static void
ws_close(struct http *h, int fd, unsigned code, const char *why)
{
	unsigned char b[125];
	size_t n = strlen(why);

	if (n > sizeof(b) - 2)
		n = sizeof(b) - 2;
	b[0] = (unsigned char)(code >> 8);
	b[1] = (unsigned char)code;
	memcpy(b + 2, why, n);
	ws_send(h, fd, 0x8, b, n + 2);
}

/*
 * The client's frames in t->in: pings answered, data ignored. 0 to go
 * on, 1 once the client closed (answered), -EIO on a bad frame.
 */
static int
ws_read(struct http *h, int fd, struct tail *t)
{
	unsigned char *b = t->in, *pl;
	uint64_t len;
	size_t hl;
	int op;

	for (;;) {
		if (t->inlen < 2)
			return 0;
		op = b[0] & 0x0f;
		len = b[1] & 0x7f;
		hl = 2;
		if (len == 126) {
			if (t->inlen < 4)
				return 0;
			len = (uint64_t)b[2] << 8 | b[3];
			hl = 4;
		} else if (len == 127) {
			if (t->inlen < 10)
				return 0;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | b[2 + i];
			hl = 10;
		}
		if (b[1] & 0x80)
			hl += 4;
		if (len > TAIL_FRAME_MAX) {
			ws_close(h, fd, 1009, "frame too big");
			return -EIO;
		}
		if (t->inlen < hl + len)
			return 0;
		pl = b + hl;
		if (b[1] & 0x80)
			for (uint64_t i = 0; i < len; i++)
				pl[i] ^= b[hl - 4 + i % 4];
		if (op == 0x8) {
			ws_send(h, fd, 0x8, pl, len >= 2 ? 2 : 0);
			return 1;
		}
		if (op == 0x9)
			ws_send(h, fd, 0xa, pl, (size_t)len);
		memmove(b, b + hl + len, t->inlen - hl - (size_t)len);
		t->inlen -= hl + (size_t)len;
	}
}

/* Loki's tail message: {"streams":[{"stream":{...},"values":[...]}]}. */
static size_t
tail_message(const struct logql_result *res, struct buf *b, int64_t *last)
{
	const struct logql_stream *s;
	size_t n = 0;

	buf_puts(b, "{\"streams\":[");
	for (size_t i = 0; i < res->nstreams; i++) {
		s = &res->streams[i];
		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, "{\"stream\":");
		json_labels(b, s->ls);
		buf_puts(b, ",\"values\":[");
		for (size_t k = 0; k < s->n; k++) {
			if (k > 0)
				buf_putc(b, ',');
			buf_printf(b, "[\"%" PRId64 "\",", s->e[k].ts_ns);
			jw_string(b, s->e[k].line, s->e[k].len);
			buf_putc(b, ']');
			if (s->e[k].ts_ns > *last)
				*last = s->e[k].ts_ns;
			n++;
		}
		buf_puts(b, "]}");
	}
	buf_puts(b, "]}");
	return n;
}

/* Send what a result holds as one message; 0, or -EIO. */
static int
tail_send(struct http *h, int fd, const struct logql_result *res,
    struct buf *msg, size_t *n)
{
	int64_t last = INT64_MIN;

	buf_reset(msg);
	*n = tail_message(res, msg, &last);
	if (*n == 0)
		return 0;
	return ws_send(h, fd, 0x1, msg->data, msg->len);
}

/*
 * The tail's life on its own thread: the entries from start to now (at
 * most limit, the oldest), then every TAIL_POLL_MS what the streams got
 * since (logql_tail: by offset, so an entry pushed late with an older
 * time is sent too), each batch a text frame, until the client closes or
 * goes, or the server stops. The follow starts before the first query,
 * so an entry appended meanwhile may come twice, never not at all.
 */
static void
tail_run(struct http *h, void *arg, int fd, const char *extra,
    size_t extra_len)
{
	struct tail *t = arg;
	struct cancel c = { h, fd };
	struct logql_tail *follow = NULL;
	struct logql_result *res = NULL;
	struct logql_opts o;
	struct pollfd pfd;
	struct buf msg;
	ssize_t k;
	size_t n = 0;
	int rc;

	buf_init(&msg, 0);
	if (extra_len > sizeof(t->in))
		extra_len = sizeof(t->in);
	memcpy(t->in, extra, extra_len);
	t->inlen = extra_len;
	if ((rc = logql_tail_new(t->l, t->e, &follow)) != 0) {
		ws_close(h, fd, 1011, err_message(rc));
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.start_ns = t->start;
	o.end_ns = clock_wall_ns();
	o.limit = t->limit;
	o.dir = LOGQL_FORWARD;
	o.cancelled = cancelled;
	o.cancel_arg = &c;
	if (o.end_ns > o.start_ns) {
		if ((rc = logql_eval(t->l, t->e, &o, &res)) != 0) {
			if (rc != -ECANCELED)
				ws_close(h, fd, 1011, err_message(rc));
			goto out;
		}
		rc = tail_send(h, fd, res, &msg, &n);
		logql_result_free(res);
		if (rc != 0)
			goto out;
	}
	for (;;) {
		if (__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST)) {
			ws_close(h, fd, 1001, "the server is stopping");
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | POLLRDHUP;
		pfd.revents = 0;
		/* a batch cut at the limit goes on at once */
		if (poll(&pfd, 1, n >= t->limit ? 0 : TAIL_POLL_MS) > 0) {
			if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
				break;
			k = recv(fd, t->in + t->inlen, sizeof(t->in) -
			    t->inlen, MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN &&
			    errno != EINTR))
				break;
			if (k > 0) {
				t->inlen += (size_t)k;
				if (ws_read(h, fd, t) != 0)
					break;
			}
		}
		if ((rc = logql_tail_poll(follow, t->limit, &res)) != 0) {
			ws_close(h, fd, 1011, err_message(rc));
			break;
		}
		rc = tail_send(h, fd, res, &msg, &n);
		logql_result_free(res);
		if (rc != 0)
			break;
	}
out:
	logql_tail_free(follow);
	buf_release(&msg);
}

/*
 * GET /loki/api/v1/tail: query, limit, start, delay_for, as Loki's;
 * a WebSocket handshake (RFC 6455) is answered 101 and the connection
 * goes to tail_run().
 */
static void
route_tail(struct http *h, const struct http_req *req, struct http_reply *r)
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	struct logql_expr *e = NULL;
	struct tail *t;
	struct params p;
	struct buf msg, key;
	const char *v;
	int64_t delay = 0;
	size_t limit;

	buf_init(&msg, 0);
	buf_init(&key, 0);
	if (params_read(req, &p, r) != 0 || read_query(&p, &e, r) != 0 ||
	    read_limit(&p, &limit, r) != 0)
		goto out;
	if (!logql_is_log(e)) {
		reply_error(r, 400, "tail is for log queries only");
		goto out;
	}
	if (check_limit(e, limit, r) != 0)
		goto out;
	t = xcalloc(1, sizeof(*t));
	if (http_loki_time(param(&p, "start"), clock_wall_ns() -
	    LOKI_SINCE_NS, &t->start, &msg) != 0) {
		free(t);
		reply_error(r, 400, "%s", buf_str(&msg));
		goto out;
	}
	if ((v = param(&p, "delay_for")) != NULL &&
	    (parse_int(v, &delay) != 0 || delay < 0)) {
		free(t);
		reply_error(r, 400, "strconv.Atoi: parsing \"%s\": invalid "
		    "syntax", v);
		goto out;
	}
	if (delay > TAIL_DELAY_MAX) {
		free(t);
		reply_error(r, 400, "delay_for can't be greater than %d",
		    TAIL_DELAY_MAX);
		goto out;
	}
	if (req->ws_key == NULL) {
		free(t);
		reply_error(r, 400, "Bad Request");
		goto out;
	}
	t->l = atomic_load(&h->l);
	t->e = e;
	e = NULL;
	t->limit = limit;
	buf_puts(&key, req->ws_key);
	buf_puts(&key, WS_GUID);
	SHA1((const unsigned char *)key.data, key.len, digest);
	buf_reset(&msg);
	base64_append(&msg, digest, sizeof(digest));
	http_reply_header(r, "Upgrade", "websocket");
	http_reply_header(r, "Sec-WebSocket-Accept", "%s", buf_str(&msg));
	r->status = 101;
	r->upgrade = tail_run;
	r->upgrade_arg = t;
	r->upgrade_done = tail_done;
out:
	logql_free(e);
	buf_release(&key);
	buf_release(&msg);
	params_release(&p);
}

/* ---- status ---- */

/* GET /loki/api/v1/status/buildinfo */
static void
route_buildinfo(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	(void)h;
	(void)req;
	r->content_type = "application/json; charset=UTF-8";
	buf_puts(&r->body, "{\"version\":\"" LOKI_API_VERSION "\","
	    "\"revision\":\"" PACKAGE_VERSION "\",\"branch\":\"shale\","
	    "\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}\n");
}

/*
 * GET /ready: "ready" as Loki once the store is open and neither fenced
 * nor failing (/-/ready says which); 503 until then.
 */
static void
route_ready(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct logs *l = atomic_load(&h->l);
	struct logs_status st;

	(void)req;
	r->status = 503;
	if (l == NULL) {
		buf_puts(&r->body, "Not ready: opening the store\n");
		return;
	}
	logs_status(l, &st);
	if (st.fenced || st.store_write_failing_since_ns != 0 ||
	    st.store_failing_since_ns != 0) {
		buf_puts(&r->body, "Not ready: see /-/ready\n");
		return;
	}
	r->status = 200;
	buf_puts(&r->body, "ready\n");
}

const struct http_route http_loki_routes[] = {
	{ "/loki/api/v1/query", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_query },
	{ "/loki/api/v1/query_range", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_query_range },
	{ "/loki/api/v1/labels", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_labels },
	{ "/loki/api/v1/label", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_labels },
	{ "/loki/api/v1/label/:name/values", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_label_values },
	{ "/loki/api/v1/series", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_series },
	{ "/loki/api/v1/index/stats", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_index_stats },
	{ "/loki/api/v1/index/volume", HTTP_GET | HTTP_POST | HTTP_STORE,
	    route_index_volume },
	{ "/loki/api/v1/tail", HTTP_GET | HTTP_STORE, route_tail },
	{ "/loki/api/v1/status/buildinfo", HTTP_GET, route_buildinfo },
	{ "/ready", HTTP_GET | HTTP_PUBLIC, route_ready },
};
const size_t http_loki_nroutes = sizeof(http_loki_routes) /
    sizeof(http_loki_routes[0]);
