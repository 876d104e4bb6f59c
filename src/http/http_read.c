/*
 * http_read.c - the read side of the metric series API, in the JSON of
 * Prometheus's HTTP API, over src/model/series.h:
 *
 *	/api/v1/series			label sets matching match[]
 *	/api/v1/labels			label names
 *	/api/v1/label/NAME/values	values of one label
 *	/api/v1/metadata		# TYPE, # HELP and # UNIT of metrics
 *	/api/v1/status/buildinfo	the version, as Grafana asks for it
 *	/api/v1/status/tsdb		cardinality: the head and top-10 lists
 *	/api/v1/export			raw samples, a JSON line per series
 *
 * Every answer but the export is Prometheus's envelope,
 * {"status":"success","data":...}, with "warnings" when a limit cut it;
 * an error is {"status":"error","errorType":"bad_data","error":"..."}
 * with 400 (bad_data), 422 (execution) or 503 (unavailable). The export
 * is VictoriaMetrics's /api/v1/export format, which tools read as is.
 *
 * Parameters come from the query string and, for a POST, from its body
 * as application/x-www-form-urlencoded, as Go's Request.ParseForm reads
 * them: the body's first, so a single-valued one given in both is the
 * body's. match[] may be given many times; the server keeps at most
 * HTTP_ARGS_MAX query parameters, so a long list goes in a POST body.
 *
 * Series are found in the dictionary series_open() keeps in memory; a
 * start or end asks for series with a sample in [start, end], a seek
 * each. Without either, every series the store knows is listed, with
 * samples or not. Label sets are copied out of the dictionary's
 * callback, and samples read after it returns, so that no scan runs
 * under the dictionary's lock.
 *
 * The reply is built whole (http.c sends a buffer): an export is cut at
 * EXPORT_BYTES_MAX with 422, asking for fewer series or a shorter range.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "model/series.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/jsonw.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

#define READ_PARAMS_MAX		4096	/* of the query and a form body */
#define READ_MATCH_MAX		1024	/* match[] selectors in one request */
#define TSDB_LIMIT_DEFAULT	10
#define TSDB_LIMIT_MAX		10000
#define EXPORT_BYTES_MAX	((size_t)64 << 20)	/* of an export */
#define TRUNCATED_WARNING	"results truncated due to limit"

/* Prometheus's minTime and maxTime, as its clients send them back. */
#define PROM_MIN_TIME	"-292273086-05-16T16:47:06Z"
#define PROM_MAX_TIME	"292277025-08-17T07:12:55Z"

struct params {
	struct http_arg	*v;
	size_t		 n, cap;
	char		*form;		/* the body, decoded in place */
};

/* A request's parameters, selectors and range, as every route reads them. */
struct query {
	struct params	 p;
	struct selector	**sel;
	size_t		 nsel;
	int64_t		 mint, maxt;	/* mint > maxt: no range given */
	uint64_t	 limit;		/* 0: none */
};

/* ---- errors ---- */

static void
reply_error(struct http_reply *r, int status, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


/* {"status":"error","errorType":type,"error":...}, as Prometheus answers. */
static void
reply_error(struct http_reply *r, int status, const char *type,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	size_t n, ok;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * The message may quote what the client sent, cut anywhere: a
	 * byte that is not UTF-8 becomes '?', for JSON strings are text.
	 */
	n = strlen(msg);
	while ((ok = utf8_valid(msg, n)) < n)
		msg[ok] = '?';
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_printf(&r->body, "{\"status\":\"error\",\"errorType\":\"%s\","
	    "\"error\":", type);
	jw_string_raw(&r->body, msg, strlen(msg));
	buf_puts(&r->body, "}\n");
}

/* The answer for what a series call returned. */
static void
reply_errno(struct http_reply *r, int rc)
{
	if (rc == -ERANGE || rc == -EINVAL)
		/* a regex past its match limit, a value it cannot match */
		reply_error(r, 422, "execution", "%s", err_message(rc));
	else if (rc == -ENOMEM)
		reply_error(r, 422, "execution", "out of memory");
	else
		reply_error(r, 503, "unavailable", "%s", err_message(rc));
}

/* ---- JSON ---- */

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

static void
success_open(struct http_reply *r)
{
	r->content_type = "application/json";
	buf_puts(&r->body, "{\"status\":\"success\",\"data\":");
}

static void
success_close(struct http_reply *r, int truncated)
{
	if (truncated)
		buf_puts(&r->body, ",\"warnings\":[\"" TRUNCATED_WARNING "\"]");
	buf_puts(&r->body, "}\n");
}

/* ---- parameters ---- */

static void
params_add(struct params *p, const char *name, const char *value)
{
	p->v = xgrow(p->v, &p->cap, p->n + 1, sizeof(*p->v));
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->n++;
}

/* Decode a form field in place ('+' is a space, %XX a byte): 0 or -EINVAL. */
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
 * The body's fields, then the query's. 0, or -EINVAL and why in msg.
 * The body is taken as a form whatever its Content-Type: these routes
 * take nothing else.
 */
static int
params_read(const struct http_req *req, struct params *p, char *msg,
    size_t msglen)
{
	char *f, *next, *eq;

	memset(p, 0, sizeof(*p));
	if (req->method == HTTP_POST && req->body_len > 0) {
		if (memchr(req->body, '\0', req->body_len) != NULL) {
			snprintf(msg, msglen, "the form body holds a NUL byte");
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
				snprintf(msg, msglen, "the form body has a bad "
				    "%%-escape");
				return -EINVAL;
			}
			if (p->n == READ_PARAMS_MAX) {
				snprintf(msg, msglen, "more than %d parameters",
				    READ_PARAMS_MAX);
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

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
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

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* RFC 3339, with or without a fraction: 0 and *ms, or -EINVAL. */
static int
parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om, sign;
	int64_t frac_ms = 0, t;
	const char *p;

	y = digits(s, 4);
	if (y < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 1 || mo > 12 ||
	    s[7] != '-' || (d = digits(s + 8, 2)) < 1 || d > 31 ||
	    s[10] != 'T' || (h = digits(s + 11, 2)) < 0 || h > 23 ||
	    s[13] != ':' || (mi = digits(s + 14, 2)) < 0 || mi > 59 ||
	    s[16] != ':' || (sec = digits(s + 17, 2)) < 0 || sec > 59)
		return -EINVAL;
	if (d > days_in_month(y, mo))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac_ms = frac_ms * 10 + (*p - '0');
		if (n == 0 || n > 9)
			return -EINVAL;
		for (; n < 3; n++)
			frac_ms *= 10;
	}
	if (*p == 'Z' && p[1] == '\0')
		oh = om = 0, sign = 1;
	else if ((*p == '+' || *p == '-') && (oh = digits(p + 1, 2)) >= 0 &&
	    oh <= 23 && p[3] == ':' && (om = digits(p + 4, 2)) >= 0 &&
	    om <= 59 && p[6] == '\0')
		sign = *p == '+' ? 1 : -1;
	else
		return -EINVAL;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
	    mi * 60 + sec - sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac_ms;
	return 0;
}

/* A time as Prometheus takes one (http_int.h). */
int
http_parse_time(const char *s, int64_t *ms)
{
	char *end;
	double t, whole;

	if (strcmp(s, PROM_MIN_TIME) == 0) {
		*ms = INT64_MIN;
		return 0;
	}
	if (strcmp(s, PROM_MAX_TIME) == 0) {
		*ms = INT64_MAX;
		return 0;
	}
	errno = 0;
	t = strtod(s, &end);
	/* strtod would skip blanks and read hexadecimal: Go's ParseFloat not */
	if (end != s && *end == '\0' && strchr(s, 'x') == NULL &&
	    strchr(s, 'X') == NULL && (*s == '-' || *s == '+' || *s == '.' ||
	    (*s >= '0' && *s <= '9'))) {
		/* about 292 million years either way fit in int64 ms */
		if (errno != 0 || !isfinite(t) || fabs(t) > 9.2e15)
			return -EINVAL;
		whole = trunc(t);
		*ms = (int64_t)whole * 1000 + (int64_t)llround((t - whole) *
		    1000);
		return 0;
	}
	return parse_rfc3339(s, ms);
}

/* "limit": 0 (none) or more; a negative one is refused, as Prometheus does. */
static int
parse_limit(const char *s, uint64_t *limit, char *msg, size_t msglen)
{
	*limit = 0;
	if (s == NULL)
		return 0;
	if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
		snprintf(msg, msglen, "limit must be non-negative");
		return -EINVAL;
	}
	if (http_parse_u64(s, limit) != 0) {
		snprintf(msg, msglen, "invalid parameter \"limit\": cannot "
		    "parse \"%.64s\" to a valid limit", s);
		return -EINVAL;
	}
	return 0;
}

static void
query_release(struct query *q)
{
	for (size_t i = 0; i < q->nsel; i++)
		selector_free(q->sel[i]);
	free(q->sel);
	params_release(&q->p);
	memset(q, 0, sizeof(*q));
}

enum {
	Q_MATCH_REQUIRED = 1 << 0,	/* no match[]: an error */
	Q_LIMIT = 1 << 1,		/* takes limit */
};

/*
 * What every route reads: match[], start, end and limit. 0, or a
 * bad_data error already in r and -EINVAL.
 */
static int
query_read(const struct http_req *req, unsigned flags, struct query *q,
    struct http_reply *r)
{
	const char *start, *end, *lim;
	char msg[256];
	size_t cap = 0;
	int rc;

	memset(q, 0, sizeof(*q));
	if (params_read(req, &q->p, msg, sizeof(msg)) != 0)
		goto bad;
	for (size_t i = 0; i < q->p.n; i++) {
		const char *v = q->p.v[i].value;

		if (strcmp(q->p.v[i].name, "match[]") != 0)
			continue;
		if (q->nsel == READ_MATCH_MAX) {
			snprintf(msg, sizeof(msg), "more than %d match[] "
			    "selectors", READ_MATCH_MAX);
			goto bad;
		}
		q->sel = xgrow(q->sel, &cap, q->nsel + 1, sizeof(*q->sel));
		rc = selector_parse(v, strlen(v), &q->sel[q->nsel]);
		if (rc != 0) {
			snprintf(msg, sizeof(msg), "invalid parameter "
			    "\"match[]\": %s", err_message(rc));
			goto bad;
		}
		q->nsel++;
	}
	if ((flags & Q_MATCH_REQUIRED) && q->nsel == 0) {
		snprintf(msg, sizeof(msg), "no match[] parameter provided");
		goto bad;
	}
	q->mint = 1;
	q->maxt = 0;
	start = param(&q->p, "start");
	end = param(&q->p, "end");
	if (start != NULL || end != NULL) {
		q->mint = INT64_MIN;
		q->maxt = INT64_MAX;
		if (start != NULL && http_parse_time(start, &q->mint) != 0) {
			snprintf(msg, sizeof(msg), "invalid parameter "
			    "\"start\": cannot parse \"%.64s\" to a valid "
			    "timestamp", start);
			goto bad;
		}
		if (end != NULL && http_parse_time(end, &q->maxt) != 0) {
			snprintf(msg, sizeof(msg), "invalid parameter \"end\": "
			    "cannot parse \"%.64s\" to a valid timestamp", end);
			goto bad;
		}
		if (q->maxt < q->mint) {
			snprintf(msg, sizeof(msg), "invalid parameter \"end\": "
			    "end timestamp must not be before start time");
			goto bad;
		}
	}
	lim = param(&q->p, "limit");
	if ((flags & Q_LIMIT) && parse_limit(lim, &q->limit, msg,
	    sizeof(msg)) != 0)
		goto bad;
	return 0;
bad:
	reply_error(r, 400, "bad_data", "%s", msg);
	query_release(q);
	return -EINVAL;
}

/* The series, or NULL with 503 in r: the store has none open. */
static struct series *
series_of(struct http *h, struct http_reply *r)
{
	struct series *s = atomic_load(&h->s);

	if (s == NULL)
		reply_error(r, 503, "unavailable", "the store's metric series "
		    "are not open");
	return s;
}

/* ---- /api/v1/series ---- */

struct found {
	uint64_t	 id;
	struct labels	*ls;
};

struct found_list {
	struct found	*v;
	size_t		 n, cap;
};

static int
found_one(void *arg, uint64_t id, const struct labels *ls)
{
	struct found_list *f = arg;

	f->v = xgrow(f->v, &f->cap, f->n + 1, sizeof(*f->v));
	f->v[f->n].id = id;
	f->v[f->n].ls = labels_dup(ls);
	f->n++;
	return 0;
}

static void
found_release(struct found_list *f)
{
	for (size_t i = 0; i < f->n; i++)
		labels_free(f->v[i].ls);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int
found_cmp(const void *a, const void *b)
{
	return labels_compare(((const struct found *)a)->ls,
	    ((const struct found *)b)->ls);
}

/* The series q selects, copied: 0 or series_select()'s error. */
static int
find(struct series *s, const struct query *q, struct found_list *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	rc = series_select(s, (struct selector *const *)q->sel, q->nsel,
	    q->mint, q->maxt, found_one, f);
	if (rc != 0)
		found_release(f);
	return rc;
}

/*
 * GET/POST /api/v1/series: the label sets of the series any match[]
 * selects, sorted as Prometheus sorts them (by label set); limit keeps
 * the first ones.
 */
static void
route_series(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct found_list f;
	struct series *s;
	struct query q;
	size_t i, n;
	int rc;

	if ((s = series_of(h, r)) == NULL ||
	    query_read(req, Q_MATCH_REQUIRED | Q_LIMIT, &q, r) != 0)
		return;
	if ((rc = find(s, &q, &f)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	if (f.n > 1)
		qsort(f.v, f.n, sizeof(*f.v), found_cmp);
	n = q.limit != 0 && f.n > q.limit ? q.limit : f.n;
	success_open(r);
	buf_putc(&r->body, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&r->body, ',');
		json_labels(&r->body, f.v[i].ls);
	}
	buf_putc(&r->body, ']');
	success_close(r, n < f.n);
	found_release(&f);
out:
	query_release(&q);
}

/* ---- /api/v1/labels and /api/v1/label/NAME/values ---- */

struct names {
	struct buf	*out;
	uint64_t	 n, limit;
	int		 truncated;
};

static int
name_one(void *arg, const char *name, size_t len)
{
	struct names *w = arg;

	if (w->limit != 0 && w->n == w->limit) {
		w->truncated = 1;
		return 1;
	}
	if (w->n++ > 0)
		buf_putc(w->out, ',');
	jw_string_raw(w->out, name, len);
	return 0;
}

/* GET/POST /api/v1/labels: the label names, sorted */
static void
route_labels(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct series *s;
	struct names w;
	struct query q;
	int rc;

	if ((s = series_of(h, r)) == NULL ||
	    query_read(req, Q_LIMIT, &q, r) != 0)
		return;
	success_open(r);
	buf_putc(&r->body, '[');
	memset(&w, 0, sizeof(w));
	w.out = &r->body;
	w.limit = q.limit;
	rc = series_label_names(s, (struct selector *const *)q.sel, q.nsel,
	    q.mint, q.maxt, name_one, &w);
	if (rc != 0 && !(rc == 1 && w.truncated)) {
		reply_errno(r, rc);
		goto out;
	}
	buf_putc(&r->body, ']');
	success_close(r, w.truncated);
out:
	query_release(&q);
}

#define LABEL_PREFIX	"/api/v1/label/"
#define VALUES_SUFFIX	"/values"

/* GET /api/v1/label/NAME/values: the values of label NAME, sorted */
static void
route_label_values(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	char name[LABELS_NAME_MAX + 1];
	const char *p = req->path + strlen(LABEL_PREFIX);
	size_t len = strlen(p) - strlen(VALUES_SUFFIX);
	struct series *s;
	struct names w;
	struct query q;
	int rc;

	/* the route's pattern made sure of the prefix and the suffix */
	if (len == 0 || len > LABELS_NAME_MAX ||
	    labels_check_name(p, len, LABELS_RESERVED) != 0) {
		reply_error(r, 400, "bad_data", "invalid label name: \"%.*s\"",
		    (int)(len > 256 ? 256 : len), p);
		return;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	if ((s = series_of(h, r)) == NULL ||
	    query_read(req, Q_LIMIT, &q, r) != 0)
		return;
	success_open(r);
	buf_putc(&r->body, '[');
	memset(&w, 0, sizeof(w));
	w.out = &r->body;
	w.limit = q.limit;
	rc = series_label_values(s, name, (struct selector *const *)q.sel,
	    q.nsel, q.mint, q.maxt, name_one, &w);
	if (rc != 0 && !(rc == 1 && w.truncated)) {
		reply_errno(r, rc);
		goto out;
	}
	buf_putc(&r->body, ']');
	success_close(r, w.truncated);
out:
	query_release(&q);
}

/* ---- /api/v1/metadata ---- */

struct meta_walk {
	struct buf	*out;
	int64_t		 limit;		/* < 0: none */
	int64_t		 per_metric;	/* <= 0: none */
	int64_t		 n;
};

static int
meta_one(void *arg, const struct series_meta *m)
{
	struct meta_walk *w = arg;

	if (w->limit >= 0 && w->n >= w->limit)
		return 1;
	if (w->n++ > 0)
		buf_putc(w->out, ',');
	jw_string_raw(w->out, m->metric, m->metric_len);
	buf_puts(w->out, ":[{\"type\":");
	jw_string_raw(w->out, series_type_name(m->type),
	    strlen(series_type_name(m->type)));
	buf_puts(w->out, ",\"help\":");
	jw_string_raw(w->out, m->help != NULL ? m->help : "", m->help_len);
	buf_puts(w->out, ",\"unit\":");
	jw_string_raw(w->out, m->unit != NULL ? m->unit : "", m->unit_len);
	buf_puts(w->out, "}]");
	return 0;
}

/* An integer parameter that may be negative, as Go's strconv.Atoi reads it. */
static int
parse_int(const char *s, int64_t *v)
{
	uint64_t u;
	int neg = *s == '-';

	if (http_parse_u64(s + neg, &u) != 0 || u > INT64_MAX)
		return -EINVAL;
	*v = neg ? -(int64_t)u : (int64_t)u;
	return 0;
}

/*
 * GET /api/v1/metadata: each metric's type, help and unit, by name
 * (metric= for one); limit metrics at most, limit_per_metric entries
 * each. A store keeps one entry a metric, the last one given.
 */
static void
route_metadata(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	struct meta_walk w;
	struct params p;
	struct series *s;
	const char *v, *metric;
	char msg[256];
	int rc;

	if ((s = series_of(h, r)) == NULL)
		return;
	if (params_read(req, &p, msg, sizeof(msg)) != 0) {
		reply_error(r, 400, "bad_data", "%s", msg);
		goto out;
	}
	memset(&w, 0, sizeof(w));
	w.limit = -1;
	if ((v = param(&p, "limit")) != NULL && parse_int(v, &w.limit) != 0) {
		reply_error(r, 400, "bad_data", "limit must be a number");
		goto out;
	}
	if ((v = param(&p, "limit_per_metric")) != NULL &&
	    parse_int(v, &w.per_metric) != 0) {
		reply_error(r, 400, "bad_data", "limit_per_metric must be a "
		    "number");
		goto out;
	}
	metric = param(&p, "metric");
	success_open(r);
	buf_putc(&r->body, '{');
	w.out = &r->body;
	rc = series_meta_each(s, metric, meta_one, &w);
	if (rc == -ENOENT && metric != NULL)
		rc = 0;		/* an unknown metric: nothing */
	if (rc != 0 && rc != 1) {
		reply_errno(r, rc);
		goto out;
	}
	buf_putc(&r->body, '}');
	success_close(r, 0);
out:
	params_release(&p);
}

/* ---- /api/v1/status/buildinfo and /api/v1/status/tsdb ---- */

/*
 * GET /api/v1/status/buildinfo: Prometheus's fields. Grafana reads
 * version, and takes a server without "application" and "features" for
 * a Prometheus.
 */
static void
route_buildinfo(struct http *h, const struct http_req *req,
    struct http_reply *r)
{
	(void)h;
	(void)req;
	success_open(r);
	buf_puts(&r->body, "{\"version\":");
	jw_string_raw(&r->body, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	buf_puts(&r->body, ",\"revision\":\"\",\"branch\":\"\","
	    "\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}");
	success_close(r, 0);
}

static void
json_top(struct buf *b, const char *field, const struct series_top *v,
    size_t n)
{
	buf_printf(b, ",\"%s\":[", field);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, "{\"name\":");
		jw_string_raw(b, v[i].name, strlen(v[i].name));
		buf_printf(b, ",\"value\":%" PRIu64 "}", v[i].count);
	}
	buf_putc(b, ']');
}

/*
 * GET /api/v1/status/tsdb: the head's figures and the `limit` (10)
 * biggest of each list. chunkCount is 0: samples wait as single records,
 * not in head chunks.
 */
static void
route_tsdb(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct series_tsdb_stats ts;
	struct series_stats st;
	struct series *s;
	struct params p;
	const char *v;
	uint64_t limit = TSDB_LIMIT_DEFAULT;
	char msg[256];
	int rc;

	if ((s = series_of(h, r)) == NULL)
		return;
	if (params_read(req, &p, msg, sizeof(msg)) != 0) {
		reply_error(r, 400, "bad_data", "%s", msg);
		goto out;
	}
	if ((v = param(&p, "limit")) != NULL && (http_parse_u64(v, &limit) !=
	    0 || limit == 0 || limit > TSDB_LIMIT_MAX)) {
		reply_error(r, 400, "bad_data", "limit must be a positive "
		    "number, at most %d", TSDB_LIMIT_MAX);
		goto out;
	}
	memset(&ts, 0, sizeof(ts));
	if ((rc = series_tsdb_stats(s, (size_t)limit, &ts)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	series_stats(s, &st);
	success_open(r);
	buf_printf(&r->body, "{\"headStats\":{\"numSeries\":%" PRIu64
	    ",\"numLabelPairs\":%" PRIu64 ",\"chunkCount\":0,\"minTime\":%"
	    PRId64 ",\"maxTime\":%" PRId64 "}", st.series, st.label_pairs,
	    st.min_t, st.max_t);
	json_top(&r->body, "seriesCountByMetricName", ts.by_metric,
	    ts.n_metric);
	json_top(&r->body, "labelValueCountByLabelName", ts.by_label_name,
	    ts.n_label_name);
	json_top(&r->body, "memoryInBytesByLabelName", ts.memory_by_label_name,
	    ts.n_memory);
	json_top(&r->body, "seriesCountByLabelValuePair", ts.by_pair,
	    ts.n_pair);
	buf_putc(&r->body, '}');
	success_close(r, 0);
	series_tsdb_stats_free(&ts);
out:
	params_release(&p);
}

/* ---- /api/v1/export ---- */

struct export_line {
	struct buf	 values;
	struct buf	 stamps;
	size_t		 n;
};

static int
export_one(void *arg, int64_t t, double v)
{
	struct export_line *x = arg;
	char line[SERIES_LINE_MAX];
	const char *val;
	size_t len;

	/* Prometheus never answers with a stale marker: neither do we */
	if (double_bits(v) == CHUNK_STALE_NAN)
		return 0;
	if (x->n++ > 0) {
		buf_putc(&x->values, ',');
		buf_putc(&x->stamps, ',');
	}
	buf_printf(&x->stamps, "%" PRId64, t);
	/* the value as the text view spells it: the shortest exact form */
	len = series_format_sample(t, v, line);
	val = (const char *)memchr(line, ' ', len) + 1;
	len -= (size_t)(val - line) + 1;	/* and the newline */
	if (isfinite(v))
		buf_append(&x->values, val, len);
	else {
		/* NaN, +Inf, -Inf are no JSON numbers: strings */
		buf_putc(&x->values, '"');
		buf_append(&x->values, val, len);
		buf_putc(&x->values, '"');
	}
	return x->values.len + x->stamps.len > EXPORT_BYTES_MAX ? -EFBIG : 0;
}

/*
 * GET/POST /api/v1/export: the samples of the series match[] selects in
 * [start, end], one JSON line a series in id order,
 * {"metric":{...},"values":[...],"timestamps":[...]}; series without a
 * sample there are left out.
 */
static void
route_export(struct http *h, const struct http_req *req, struct http_reply *r)
{
	struct export_line x;
	struct found_list f;
	struct series *s;
	struct query q;
	int64_t mint, maxt;
	int rc = 0;

	if ((s = series_of(h, r)) == NULL ||
	    query_read(req, Q_MATCH_REQUIRED, &q, r) != 0)
		return;
	buf_init(&x.values, 0);
	buf_init(&x.stamps, 0);
	if ((rc = find(s, &q, &f)) != 0) {
		reply_errno(r, rc);
		goto out;
	}
	mint = q.mint <= q.maxt ? q.mint : INT64_MIN;
	maxt = q.mint <= q.maxt ? q.maxt : INT64_MAX;
	r->content_type = "application/stream+json";
	for (size_t i = 0; i < f.n; i++) {
		buf_reset(&x.values);
		buf_reset(&x.stamps);
		x.n = 0;
		rc = series_scan(s, f.v[i].id, mint, maxt, export_one, &x);
		if (rc == -ENOENT) {
			rc = 0;		/* gone since */
			continue;
		}
		if (rc != 0)
			break;
		if (x.n == 0)
			continue;
		buf_puts(&r->body, "{\"metric\":");
		json_labels(&r->body, f.v[i].ls);
		buf_puts(&r->body, ",\"values\":[");
		buf_append(&r->body, x.values.data, x.values.len);
		buf_puts(&r->body, "],\"timestamps\":[");
		buf_append(&r->body, x.stamps.data, x.stamps.len);
		buf_puts(&r->body, "]}\n");
		if (r->body.len > EXPORT_BYTES_MAX) {
			rc = -EFBIG;
			break;
		}
	}
	if (rc == -EFBIG)
		reply_error(r, 422, "execution", "the export is over %zu MiB: "
		    "select fewer series or a shorter range",
		    EXPORT_BYTES_MAX >> 20);
	else if (rc != 0)
		reply_errno(r, rc);
	found_release(&f);
out:
	buf_release(&x.values);
	buf_release(&x.stamps);
	query_release(&q);
}

const struct http_route http_read_routes[] = {
	{ "/api/v1/series", HTTP_GET | HTTP_POST | HTTP_STORE, route_series },
	{ "/api/v1/labels", HTTP_GET | HTTP_POST | HTTP_STORE, route_labels },
	{ LABEL_PREFIX ":name" VALUES_SUFFIX, HTTP_GET | HTTP_STORE,
	    route_label_values },
	{ "/api/v1/metadata", HTTP_GET | HTTP_STORE, route_metadata },
	{ "/api/v1/status/buildinfo", HTTP_GET, route_buildinfo },
	{ "/api/v1/status/tsdb", HTTP_GET | HTTP_STORE, route_tsdb },
	{ "/api/v1/export", HTTP_GET | HTTP_POST | HTTP_STORE, route_export },
};
const size_t http_read_nroutes = sizeof(http_read_routes) /
    sizeof(http_read_routes[0]);
