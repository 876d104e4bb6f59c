/*
 * test_promql_agg.c - the aggregation operators (promql_agg.c) through
 * the evaluator, over a file:// store.
 *
 * The cases are written in Prometheus's test script notation
 * (promqltest: load, clear, eval instant / range, expect fail, ordered,
 * warn) and most are Prometheus's own from aggregators.test and
 * limit.test, without the native histograms and the function calls
 * (another file's): sum, avg (Kahan, then the incremental mean past an
 * overflow), count, min and max with NaN, group, stddev and stdvar
 * (Welford; NaN and infinities), quantile (interpolation, NaN as the
 * smallest, q out of range with its warning), count_values (the value's
 * label, overriding one, the bad label name), topk and bottomk (order,
 * NaN, k clipped, k < 1, k NaN or past int64), limitk, limit_ratio (the
 * complements, the capping warning); by, without, by () and a by of
 * labels nobody has; names dropped before grouping; range queries whose
 * groups come and go between steps, series leaving and coming back.
 *
 * SHALE_PROMQL_TEST=file runs a script of that notation as well (one
 * of Prometheus's whole files) and prints what failed, and why, without
 * failing the test.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/series.h"
#include "query/promql.h"
#include "query/promql_eval.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char	scratch[PATH_MAX];
static int	nstores;

/* ---- the store ---- */

struct store {
	struct engine	*e;
	struct series	*s;
};

static void
store_new(struct store *st)
{
	char uri[PATH_MAX + 32];
	struct engine_settings es;
	struct objstore_opts so;
	struct series_options o;

	snprintf(uri, sizeof(uri), "file://%s/store%d", scratch, nstores++);
	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	assert_int_equal(engine_open(uri, &so, &es, ENGINE_WRITER, &st->e), 0);
	engine_settings_release(&es);
	memset(&o, 0, sizeof(o));
	assert_int_equal(series_open(st->e, &o, &st->s), 0);
}

static void
store_close(struct store *st)
{
	if (st->s == NULL)
		return;
	series_close(st->s);
	assert_int_equal(engine_close(st->e), 0);
	st->s = NULL;
	st->e = NULL;
}

/* ---- the script notation ---- */

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int
is_name(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':' || (!first && c >= '0' && c <= '9');
}

/* metric{a="b", ...} (either part may be missing): 0 and *ls, or -1. */
static int
parse_labels(const char *p, const char **end, struct labels **ls)
{
	struct label v[LABELS_COUNT_MAX];
	char *vals[LABELS_COUNT_MAX] = { 0 }, *name = NULL;
	size_t n = 0;
	int rc = -1;

	p = skip_space(p);
	if (is_name(*p, 1)) {
		const char *s = p;

		while (is_name(*p, 0))
			p++;
		name = xstrndup(s, (size_t)(p - s));
		v[n++] = label_str(LABELS_METRIC_NAME, name);
	}
	if (*p == '{') {
		p++;
		for (;;) {
			const char *s;
			struct buf b;

			p = skip_space(p);
			if (*p == '}') {
				p++;
				break;
			}
			if (!is_name(*p, 1) || n == LABELS_COUNT_MAX)
				goto out;
			s = p;
			while (is_name(*p, 0))
				p++;
			v[n].name = s;
			v[n].name_len = (size_t)(p - s);
			p = skip_space(p);
			if (*p++ != '=')
				goto out;
			p = skip_space(p);
			if (*p++ != '"')
				goto out;
			buf_init(&b, 0);
			for (; *p != '"' && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0') {
					p++;
					buf_putc(&b, *p == 'n' ? '\n' : *p);
				} else
					buf_putc(&b, *p);
			}
			if (*p++ != '"') {
				buf_release(&b);
				goto out;
			}
			vals[n] = buf_detach(&b, &v[n].value_len);
			v[n].value = vals[n];
			n++;
			p = skip_space(p);
			if (*p == ',')
				p++;
		}
	}
	if (name == NULL && n == 0 && p[-1] != '}')
		goto out;
	rc = labels_new(v, n, LABELS_RESERVED, ls) == 0 ? 0 : -1;
	*end = p;
out:
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	free(name);
	return rc;
}

/* A value of the notation: a number, NaN, Inf, stale or _ (omitted). */
struct sval {
	double		 v;
	int		 omitted;
};

struct svals {
	struct sval	*v;
	size_t		 n, cap;
};

static void
svals_push(struct svals *s, double v, int omitted)
{
	s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
	s->v[s->n].v = v;
	s->v[s->n].omitted = omitted;
	s->n++;
}

static double
stale_nan(void)
{
	uint64_t bits = CHUNK_STALE_NAN;
	double v;

	memcpy(&v, &bits, sizeof(v));
	return v;
}

/*
 * "1 2 _ stale 0+10x10 _x3 1-1x2 7x2": a+bxn is n+1 values from a by b,
 * _xn n omitted. 0, or -1 for what is not read (native histograms).
 */
static int
parse_values(const char *p, struct svals *out)
{
	for (;;) {
		char *end, *tok, *x, *sign;
		double a, b = 0;
		long times = 0;
		int has_x = 0, bad;

		p = skip_space(p);
		if (*p == '\0' || *p == '\n' || *p == '#')
			return 0;
		if (*p == '_') {
			p++;
			if (*p == 'x') {
				times = strtol(p + 1, &end, 10);
				p = end;
				for (long i = 0; i < times; i++)
					svals_push(out, 0, 1);
			} else
				svals_push(out, 0, 1);
			continue;
		}
		if (strncmp(p, "stale", 5) == 0) {
			svals_push(out, stale_nan(), 0);
			p += 5;
			continue;
		}
		if (*p == '{')
			return -1;
		/* the token: a, then +b or -b, then xn */
		for (end = (char *)p; *end != '\0' && *end != ' ' &&
		    *end != '\t' && *end != '\n'; end++)
			;
		tok = xstrndup(p, (size_t)(end - p));
		p = end;
		if ((x = strrchr(tok, 'x')) != NULL && x > tok &&
		    x[1] >= '0' && x[1] <= '9') {
			has_x = 1;
			times = strtol(x + 1, NULL, 10);
			*x = '\0';
		}
		for (sign = tok + 1; *sign != '\0'; sign++)
			if ((*sign == '+' || *sign == '-') &&
			    sign[-1] != 'e' && sign[-1] != 'E')
				break;
		if (*sign != '\0') {
			b = strtod(sign, NULL);
			*sign = '\0';
		}
		a = strtod(tok, &end);
		bad = end == tok || *end != '\0';
		free(tok);
		if (bad)
			return -1;
		if (!has_x)
			svals_push(out, a, 0);
		else
			for (long i = 0; i <= times; i++)
				svals_push(out, a + b * (double)i, 0);
	}
}

static int64_t
parse_time(const char *p, const char **end)
{
	const char *s = skip_space(p);
	int64_t ms = 0;

	p = s;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	*end = p;
	if (promql_duration_parse(s, (size_t)(p - s), &ms) == 0)
		return ms;
	return (int64_t)(strtod(s, NULL) * 1000);
}

/* almost.Equal of Prometheus's tests: relative 1e-6, NaN equal to NaN. */
static int
almost_equal(double a, double b)
{
	double sum, diff;

	if (isnan(a) && isnan(b))
		return 1;
	if (a == b)
		return 1;
	sum = fabs(a) + fabs(b);
	diff = fabs(a - b);
	if (a == 0 || b == 0 || sum < 2.2250738585072014e-308)
		return diff < 1e-6 * 2.2250738585072014e-308;
	return diff / fmin(sum, 1.7976931348623157e308) < 1e-6;
}

/* ---- a script's run ---- */

struct want {
	struct labels	*ls;
	struct svals	 v;
};

struct eval {
	char		*query;
	int		 range;
	int64_t		 start, end, step;
	int		 fail, ordered, warn, no_warn;
	char		*fail_msg, *fail_re, *warn_msg, *warn_re;
	struct want	*w;
	size_t		 nw;
	int		 skip;		/* histograms: not this file's */
	int		 line;
};

struct run {
	struct store	 st;
	int		 passed, failed, skipped;
	struct buf	 why;		/* the failures, one a line */
};

static void
eval_release(struct eval *e)
{
	for (size_t i = 0; i < e->nw; i++) {
		labels_free(e->w[i].ls);
		free(e->w[i].v.v);
	}
	free(e->w);
	free(e->query);
	free(e->fail_msg);
	free(e->fail_re);
	free(e->warn_msg);
	free(e->warn_re);
	memset(e, 0, sizeof(*e));
}

static int
script_re_match(const char *re, const char *s)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void
fail_eval(struct run *r, const struct eval *e, const char *fmt, ...)
{
	va_list ap;

	buf_printf(&r->why, "line %d: %s: ", e->line, e->query);
	va_start(ap, fmt);
	buf_vprintf(&r->why, fmt, ap);
	va_end(ap);
	buf_putc(&r->why, '\n');
	r->failed++;
}

/* The result's series matching want, or -1. */
static long
find_series(const struct promql_result *res, const struct labels *ls)
{
	for (size_t i = 0; i < res->n; i++)
		if (labels_equal(res->series[i].ls, ls))
			return (long)i;
	return -1;
}

static int
check_series(const struct eval *e, const struct promql_series *s,
    const struct want *w, struct buf *why)
{
	size_t k = 0, want_n = 0;

	for (size_t i = 0; i < w->v.n; i++) {
		const struct sval *x = &w->v.v[i];
		int64_t t = e->range ? e->start + (int64_t)i * e->step :
		    e->start;

		if (x->omitted)
			continue;
		want_n++;
		while (k < s->n && s->pts[k].t < t)
			k++;
		if (k == s->n || s->pts[k].t != t) {
			buf_printf(why, "no point at %lld", (long long)t);
			return -1;
		}
		if (!almost_equal(s->pts[k].v, x->v)) {
			buf_printf(why, "%.17g at %lld, want %.17g",
			    s->pts[k].v, (long long)t, x->v);
			return -1;
		}
	}
	if (s->n != want_n) {
		buf_printf(why, "%zu points, want %zu", s->n, want_n);
		return -1;
	}
	return 0;
}

static void
run_eval(struct run *r, struct eval *e)
{
	struct promql_node *tree = NULL;
	struct promql_result *res = NULL;
	struct buf why;
	int rc;

	if (e->skip) {
		r->skipped++;
		return;
	}
	buf_init(&why, 0);
	rc = promql_parse(e->query, strlen(e->query), &tree);
	if (rc == 0 && e->range)
		rc = promql_eval_range(r->st.s, tree, e->start, e->end,
		    e->step, NULL, &res);
	else if (rc == 0)
		rc = promql_eval_instant(r->st.s, tree, e->start, NULL, &res);
	if (e->fail) {
		if (rc == 0)
			fail_eval(r, e, "no error");
		else if (e->fail_msg != NULL &&
		    strcmp(err_detail(), e->fail_msg) != 0)
			fail_eval(r, e, "error \"%s\", want \"%s\"",
			    err_detail(), e->fail_msg);
		else if (e->fail_re != NULL && !script_re_match(e->fail_re,
		    err_detail()))
			fail_eval(r, e, "error \"%s\", want /%s/", err_detail(),
			    e->fail_re);
		else
			r->passed++;
		goto out;
	}
	if (rc != 0) {
		fail_eval(r, e, "error %d: %s", rc, err_detail());
		goto out;
	}
	if (res->type == PROMQL_TYPE_SCALAR) {
		fail_eval(r, e, "a scalar");
		goto out;
	}
	if (res->n != e->nw) {
		fail_eval(r, e, "%zu series, want %zu", res->n, e->nw);
		goto out;
	}
	for (size_t i = 0; i < e->nw; i++) {
		long j = e->ordered ? (long)i : find_series(res, e->w[i].ls);

		if (j < 0 || !labels_equal(res->series[j].ls, e->w[i].ls)) {
			struct buf b;

			buf_init(&b, 0);
			labels_file_name(e->w[i].ls, &b);
			fail_eval(r, e, "%s %s", e->ordered ? "out of order:" :
			    "no series", buf_str(&b));
			buf_release(&b);
			goto out;
		}
		if (check_series(e, &res->series[j], &e->w[i], &why) != 0) {
			fail_eval(r, e, "%s", buf_str(&why));
			goto out;
		}
	}
	if (e->no_warn && res->nwarnings > 0) {
		fail_eval(r, e, "warning \"%s\"", res->warnings[0]);
		goto out;
	}
	if (e->warn) {
		int found = e->warn_msg == NULL && e->warn_re == NULL &&
		    res->nwarnings > 0;

		for (size_t i = 0; i < res->nwarnings; i++)
			if ((e->warn_msg != NULL &&
			    strcmp(res->warnings[i], e->warn_msg) == 0) ||
			    (e->warn_re != NULL &&
			    script_re_match(e->warn_re, res->warnings[i])))
				found = 1;
		if (!found) {
			fail_eval(r, e, "no such warning (%zu given%s%s)",
			    res->nwarnings, res->nwarnings > 0 ? ": " : "",
			    res->nwarnings > 0 ? res->warnings[0] : "");
			goto out;
		}
	}
	r->passed++;
out:
	buf_release(&why);
	promql_result_free(res);
	promql_free(tree);
}

/* A load block's series: a later line for the same set replaces one. */
struct loading {
	struct labels	**ls;
	struct svals	*v;
	size_t		 n;
};

static void
load_line(struct loading *l, const char *p)
{
	struct labels *ls;
	struct svals v = { 0 };
	size_t i;

	if (parse_labels(p, &p, &ls) != 0)
		return;
	if (parse_values(p, &v) != 0) {
		labels_free(ls);
		free(v.v);
		return;
	}
	for (i = 0; i < l->n; i++)
		if (labels_equal(l->ls[i], ls))
			break;
	if (i == l->n) {
		l->ls = xrealloc(l->ls, (l->n + 1) * sizeof(*l->ls));
		l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->n++;
	} else {
		labels_free(l->ls[i]);
		free(l->v[i].v);
	}
	l->ls[i] = ls;
	l->v[i] = v;
}

static void
load_commit(struct run *r, struct loading *l, int64_t interval)
{
	struct series_appender *a;

	if (r->st.s == NULL)
		store_new(&r->st);
	a = series_appender_new(r->st.s);
	for (size_t i = 0; i < l->n; i++) {
		struct series_sample *x = xcalloc(l->v[i].n + 1, sizeof(*x));
		size_t n = 0;

		for (size_t j = 0; j < l->v[i].n; j++)
			if (!l->v[i].v[j].omitted) {
				x[n].t = (int64_t)j * interval;
				x[n].v = l->v[i].v[j].v;
				n++;
			}
		if (n > 0)
			assert_int_equal(series_appender_add(a, l->ls[i], x, n),
			    0);
		free(x);
		labels_free(l->ls[i]);
		free(l->v[i].v);
	}
	/* a sample refused (a file loading a series twice) fails its evals */
	(void)series_appender_commit(a, NULL, NULL);
	series_appender_free(a);
	free(l->ls);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static char *
after(const char *p, const char *word)
{
	p = skip_space(p);
	if (strncmp(p, word, strlen(word)) != 0)
		return NULL;
	return (char *)skip_space(p + strlen(word));
}

static char *
rtrim_dup(const char *p)
{
	size_t n = strlen(p);

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r'))
		n--;
	return xstrndup(p, n);
}

/* A line of an eval block: an expectation or a series wanted. */
static void
eval_line(struct eval *e, const char *p)
{
	const char *q;

	if ((q = after(p, "expect")) != NULL) {
		const char *m;

		if (strncmp(q, "fail", 4) == 0) {
			e->fail = 1;
			if ((m = after(q + 4, "msg:")) != NULL)
				e->fail_msg = rtrim_dup(m);
			else if ((m = after(q + 4, "regex:")) != NULL)
				e->fail_re = rtrim_dup(m);
		} else if (strncmp(q, "ordered", 7) == 0)
			e->ordered = 1;
		else if (strncmp(q, "no_warn", 7) == 0)
			e->no_warn = 1;
		else if (strncmp(q, "warn", 4) == 0) {
			e->warn = 1;
			if ((m = after(q + 4, "msg:")) != NULL)
				e->warn_msg = rtrim_dup(m);
			else if ((m = after(q + 4, "regex:")) != NULL)
				e->warn_re = rtrim_dup(m);
		} else if (strncmp(q, "info", 4) != 0 &&
		    strncmp(q, "no_info", 7) != 0)
			e->skip = 1;	/* string, range: not read here */
		return;
	}
	p = skip_space(p);
	if (*p == '#' || *p == '\0')
		return;
	e->w = xrealloc(e->w, (e->nw + 1) * sizeof(*e->w));
	memset(&e->w[e->nw], 0, sizeof(e->w[e->nw]));
	if (parse_labels(p, &p, &e->w[e->nw].ls) != 0 ||
	    parse_values(p, &e->w[e->nw].v) != 0) {
		labels_free(e->w[e->nw].ls);
		free(e->w[e->nw].v.v);
		e->skip = 1;
		return;
	}
	e->nw++;
}

/* Run a script; the store is r's (made at the first load). */
static void
run_script(struct run *r, const char *script)
{
	char *copy = xstrdup(script), *line, *next = copy;
	enum { NONE, LOAD, EVAL } in = NONE;
	struct loading l = { 0 };
	struct eval e = { 0 };
	int64_t interval = 0;
	int lineno = 0;

	for (;;) {
		const char *p;
		int indented;

		/* a line at a time, empty ones counted */
		line = next;
		if (line != NULL) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			lineno++;
		}
		indented = line != NULL && (*line == ' ' || *line == '\t');
		if (line != NULL && indented && *skip_space(line) != '\0') {
			if (in == LOAD)
				load_line(&l, line);
			else if (in == EVAL)
				eval_line(&e, line);
			continue;
		}
		if (line != NULL && (*skip_space(line) == '\0' ||
		    *skip_space(line) == '#'))
			continue;
		/* a statement ends the block before */
		if (in == LOAD)
			load_commit(r, &l, interval);
		else if (in == EVAL) {
			run_eval(r, &e);
			eval_release(&e);
		}
		in = NONE;
		if (line == NULL)
			break;
		if ((p = after(line, "load_with_nhcb")) != NULL ||
		    (p = after(line, "load")) != NULL) {
			interval = parse_time(p, &p);
			in = LOAD;
		} else if (after(line, "clear") != NULL) {
			store_close(&r->st);
		} else if ((p = after(line, "eval range from")) != NULL) {
			e.range = 1;
			e.start = parse_time(p, &p);
			p = after(p, "to");
			e.end = parse_time(p, &p);
			p = after(p, "step");
			e.step = parse_time(p, &p);
			e.query = rtrim_dup(skip_space(p));
			e.line = lineno;
			in = EVAL;
		} else if ((p = after(line, "eval instant at")) != NULL) {
			e.start = e.end = parse_time(p, &p);
			e.query = rtrim_dup(skip_space(p));
			e.line = lineno;
			in = EVAL;
		} else if ((p = after(line, "eval_fail instant at")) != NULL) {
			e.start = e.end = parse_time(p, &p);
			e.query = rtrim_dup(skip_space(p));
			e.fail = 1;
			e.line = lineno;
			in = EVAL;
		}
	}
	free(copy);
}

static void
run_check(const char *script)
{
	struct run r = { 0 };

	buf_init(&r.why, 0);
	run_script(&r, script);
	store_close(&r.st);
	if (r.failed > 0)
		fprintf(stderr, "%s", buf_str(&r.why));
	print_message("%d passed, %d failed, %d skipped\n", r.passed,
	    r.failed, r.skipped);
	assert_int_equal(r.failed, 0);
	assert_true(r.passed > 0);
	buf_release(&r.why);
}

/* ---- the cases ---- */

static const char sums[] =
"load 5m\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+10x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 0+20x10\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"canary\"}   0+30x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"canary\"}   0+40x10\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"production\"} 0+50x10\n"
"  http_requests{job=\"app-server\", instance=\"1\", group=\"production\"} 0+60x10\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"canary\"}   0+70x10\n"
"  http_requests{job=\"app-server\", instance=\"1\", group=\"canary\"}   0+80x10\n"
"\n"
"load 5m\n"
"  foo{job=\"api-server\", instance=\"0\", region=\"europe\"} 0+90x10\n"
"  foo{job=\"api-server\"} 0+100x10\n"
"\n"
"eval instant at 50m SUM BY (group) (http_requests{job=\"api-server\"})\n"
"  {group=\"canary\"} 700\n"
"  {group=\"production\"} 300\n"
"\n"
"eval instant at 50m avg by (group) (http_requests{job=\"api-server\"})\n"
"  {group=\"canary\"} 350\n"
"  {group=\"production\"} 150\n"
"\n"
"eval instant at 50m count by (group) (http_requests{job=\"api-server\"})\n"
"  {group=\"canary\"} 2\n"
"  {group=\"production\"} 2\n"
"\n"
"eval instant at 50m sum without (instance) (http_requests{job=\"api-server\"})\n"
"  {group=\"canary\",job=\"api-server\"} 700\n"
"  {group=\"production\",job=\"api-server\"} 300\n"
"\n"
"eval instant at 50m sum by () (http_requests{job=\"api-server\"})\n"
"  {} 1000\n"
"\n"
"eval instant at 50m sum(http_requests{job=\"api-server\"})\n"
"  {} 1000\n"
"\n"
"eval instant at 50m sum without () (http_requests{job=\"api-server\",group=\"production\"})\n"
"  {group=\"production\",job=\"api-server\",instance=\"0\"} 100\n"
"  {group=\"production\",job=\"api-server\",instance=\"1\"} 200\n"
"\n"
"eval instant at 50m sum without (instance) (http_requests{job=\"api-server\"} or foo)\n"
"  {group=\"canary\",job=\"api-server\"} 700\n"
"  {group=\"production\",job=\"api-server\"} 300\n"
"  {region=\"europe\",job=\"api-server\"} 900\n"
"  {job=\"api-server\"} 1000\n"
"\n"
"eval instant at 50m sum(http_requests) by (job) + min(http_requests) by (job) + max(http_requests) by (job) + avg(http_requests) by (job)\n"
"  {job=\"app-server\"} 4550\n"
"  {job=\"api-server\"} 1750\n"
"\n"
"eval instant at 50m sum(sum by (group) (http_requests{job=\"api-server\"})) by (job)\n"
"  {} 1000\n"
"\n"
"eval instant at 50m SUM(http_requests) BY (job, nonexistent)\n"
"  {job=\"api-server\"} 1000\n"
"  {job=\"app-server\"} 2600\n"
"\n"
"eval instant at 50m SUM(http_requests) BY (job, group)\n"
"  {group=\"canary\", job=\"api-server\"} 700\n"
"  {group=\"canary\", job=\"app-server\"} 1500\n"
"  {group=\"production\", job=\"api-server\"} 300\n"
"  {group=\"production\", job=\"app-server\"} 1100\n"
"\n"
"eval instant at 50m MIN(http_requests) BY (job)\n"
"  {job=\"api-server\"} 100\n"
"  {job=\"app-server\"} 500\n"
"\n"
"eval instant at 50m MAX(http_requests) BY (job)\n"
"  {job=\"api-server\"} 400\n"
"  {job=\"app-server\"} 800\n"
"\n"
"eval instant at 50m stddev(http_requests)\n"
"  {} 229.12878474779\n"
"\n"
"eval instant at 50m stddev by (instance)(http_requests)\n"
"  {instance=\"0\"} 223.60679774998\n"
"  {instance=\"1\"} 223.60679774998\n"
"\n"
"eval instant at 50m stdvar(http_requests)\n"
"  {} 52500\n"
"\n"
"eval instant at 50m group by (job) (http_requests)\n"
"  {job=\"api-server\"} 1\n"
"  {job=\"app-server\"} 1\n"
"\n"
/* groups over the steps of a range query */
"eval range from 0 to 50m step 5m sum by (group) (http_requests)\n"
"  {group=\"canary\"} 0+220x10\n"
"  {group=\"production\"} 0+140x10\n"
"\n"
"eval range from 0 to 50m step 25m count by (job) (http_requests or foo)\n"
"  {job=\"api-server\"} 6 6 6\n"
"  {job=\"app-server\"} 4 4 4\n"
"\n"
/* a name dropped by the operation is gone before grouping */
"eval instant at 50m sum by (__name__) (http_requests{job=\"api-server\"} * 1)\n"
"  {} 1000\n"
"\n"
"eval instant at 50m sum by (__name__, job) (http_requests)\n"
"  http_requests{job=\"api-server\"} 1000\n"
"  http_requests{job=\"app-server\"} 2600\n"
"\n"
"eval instant at 50m topk(1, http_requests * 2)\n"
"  {group=\"canary\", instance=\"1\", job=\"app-server\"} 1600\n"
"\n"
"clear\n"
"load 5m\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+1.33x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 0+1.33x10\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"canary\"} 0+1.33x10\n"
"\n"
"eval instant at 50m stddev(http_requests)\n"
"  {} 0.0\n"
"\n"
"eval instant at 50m stdvar(http_requests)\n"
"  {} 0.0\n"
"\n"
"clear\n"
"load 5m\n"
"  label_grouping_test{a=\"aa\", b=\"bb\"} 0+10x10\n"
"  label_grouping_test{a=\"a\", b=\"abb\"} 0+20x10\n"
"\n"
"eval instant at 50m sum(label_grouping_test) by (a, b)\n"
"  {a=\"a\", b=\"abb\"} 200\n"
"  {a=\"aa\", b=\"bb\"} 100\n"
"\n"
"clear\n"
"load 5m\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 1\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 2\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"canary\"} NaN\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"canary\"} 3\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"canary\"} 4\n"
"\n"
"eval instant at 0m max(http_requests)\n"
"  {} 4\n"
"\n"
"eval instant at 0m min(http_requests)\n"
"  {} 1\n"
"\n"
"eval instant at 0m max by (group) (http_requests)\n"
"  {group=\"production\"} 2\n"
"  {group=\"canary\"} 4\n"
"\n"
"eval instant at 0m min by (group) (http_requests)\n"
"  {group=\"production\"} 1\n"
"  {group=\"canary\"} 3\n";

static const char averages[] =
"load 10s\n"
"  data{test=\"ten\",point=\"a\"} 8\n"
"  data{test=\"ten\",point=\"b\"} 10\n"
"  data{test=\"ten\",point=\"c\"} 12\n"
"  data{test=\"inf\",point=\"a\"} 0\n"
"  data{test=\"inf\",point=\"b\"} Inf\n"
"  data{test=\"inf\",point=\"d\"} Inf\n"
"  data{test=\"inf\",point=\"c\"} 0\n"
"  data{test=\"-inf\",point=\"a\"} -Inf\n"
"  data{test=\"-inf\",point=\"b\"} -Inf\n"
"  data{test=\"-inf\",point=\"c\"} 0\n"
"  data{test=\"inf2\",point=\"a\"} Inf\n"
"  data{test=\"inf2\",point=\"b\"} 0\n"
"  data{test=\"inf2\",point=\"c\"} Inf\n"
"  data{test=\"-inf2\",point=\"a\"} -Inf\n"
"  data{test=\"-inf2\",point=\"b\"} 0\n"
"  data{test=\"-inf2\",point=\"c\"} -Inf\n"
"  data{test=\"inf3\",point=\"b\"} Inf\n"
"  data{test=\"inf3\",point=\"d\"} Inf\n"
"  data{test=\"inf3\",point=\"c\"} Inf\n"
"  data{test=\"inf3\",point=\"d\"} -Inf\n"
"  data{test=\"-inf3\",point=\"b\"} -Inf\n"
"  data{test=\"-inf3\",point=\"d\"} -Inf\n"
"  data{test=\"-inf3\",point=\"c\"} -Inf\n"
"  data{test=\"-inf3\",point=\"c\"} Inf\n"
"  data{test=\"nan\",point=\"a\"} -Inf\n"
"  data{test=\"nan\",point=\"b\"} 0\n"
"  data{test=\"nan\",point=\"c\"} Inf\n"
"  data{test=\"big\",point=\"a\"} 9.988465674311579e+307\n"
"  data{test=\"big\",point=\"b\"} 9.988465674311579e+307\n"
"  data{test=\"big\",point=\"c\"} 9.988465674311579e+307\n"
"  data{test=\"big\",point=\"d\"} 9.988465674311579e+307\n"
"  data{test=\"-big\",point=\"a\"} -9.988465674311579e+307\n"
"  data{test=\"-big\",point=\"b\"} -9.988465674311579e+307\n"
"  data{test=\"-big\",point=\"c\"} -9.988465674311579e+307\n"
"  data{test=\"-big\",point=\"d\"} -9.988465674311579e+307\n"
"  data{test=\"bigzero\",point=\"a\"} -9.988465674311579e+307\n"
"  data{test=\"bigzero\",point=\"b\"} -9.988465674311579e+307\n"
"  data{test=\"bigzero\",point=\"c\"} 9.988465674311579e+307\n"
"  data{test=\"bigzero\",point=\"d\"} 9.988465674311579e+307\n"
"  data{test=\"value is nan\"} NaN\n"
"\n"
"eval instant at 1m avg(data{test=\"ten\"})\n"
"  {} 10\n"
"eval instant at 1m avg(data{test=\"inf\"})\n"
"  {} Inf\n"
"eval instant at 1m avg(data{test=\"inf2\"})\n"
"  {} Inf\n"
"eval instant at 1m avg(data{test=\"inf3\"})\n"
"  {} NaN\n"
"eval instant at 1m avg(data{test=\"-inf\"})\n"
"  {} -Inf\n"
"eval instant at 1m avg(data{test=\"-inf2\"})\n"
"  {} -Inf\n"
"eval instant at 1m avg(data{test=\"-inf3\"})\n"
"  {} NaN\n"
"eval instant at 1m avg(data{test=\"nan\"})\n"
"  {} NaN\n"
"eval instant at 1m avg(data{test=\"big\"})\n"
"  {} 9.988465674311579e+307\n"
"eval instant at 1m avg(data{test=\"-big\"})\n"
"  {} -9.988465674311579e+307\n"
"eval instant at 1m avg(data{test=\"bigzero\"})\n"
"  {} 0\n"
"eval instant at 1m avg(data)\n"
"  {} NaN\n"
"\n"
"clear\n"
"load 10s\n"
"  data{test=\"ten\",point=\"a\"} 2\n"
"  data{test=\"ten\",point=\"b\"} 8\n"
"  data{test=\"ten\",point=\"c\"} 1e+100\n"
"  data{test=\"ten\",point=\"d\"} -1e100\n"
"  data{test=\"pos_inf\",group=\"1\",point=\"a\"} Inf\n"
"  data{test=\"pos_inf\",group=\"1\",point=\"b\"} 2\n"
"  data{test=\"pos_inf\",group=\"2\",point=\"a\"} 2\n"
"  data{test=\"pos_inf\",group=\"2\",point=\"b\"} Inf\n"
"  data{test=\"inf_inf\",point=\"a\"} Inf\n"
"  data{test=\"inf_inf\",point=\"b\"} -Inf\n"
"  data{test=\"nan\",group=\"1\",point=\"a\"} NaN\n"
"  data{test=\"nan\",group=\"1\",point=\"b\"} 2\n"
"\n"
"eval instant at 1m sum(data{test=\"ten\"})\n"
"  {} 10\n"
"eval instant at 1m avg(data{test=\"ten\"})\n"
"  {} 2.5\n"
"eval instant at 1m sum by (group) (data{test=\"pos_inf\"})\n"
"  {group=\"1\"} Inf\n"
"  {group=\"2\"} Inf\n"
"eval instant at 1m avg by (group) (data{test=\"pos_inf\"})\n"
"  {group=\"1\"} Inf\n"
"  {group=\"2\"} Inf\n"
"eval instant at 1m sum(data{test=\"inf_inf\"})\n"
"  {} NaN\n"
"eval instant at 1m avg(data{test=\"inf_inf\"})\n"
"  {} NaN\n"
"eval instant at 1m sum by (group) (data{test=\"nan\"})\n"
"  {group=\"1\"} NaN\n"
"eval instant at 1m avg by (group) (data{test=\"nan\"})\n"
"  {group=\"1\"} NaN\n"
"\n"
"clear\n"
"load 5m\n"
"  foo{idx=\"0\"} 52\n"
"  foo{idx=\"1\"} 52\n"
"  foo{idx=\"2\"} 52\n"
"  foo{idx=\"3\"} 52\n"
"  foo{idx=\"4\"} 52\n"
"  foo{idx=\"5\"} 52\n"
"  foo{idx=\"6\"} 52\n"
"  foo{idx=\"7\"} 52\n"
"  foo{idx=\"8\"} 52\n"
"  foo{idx=\"9\"} 52\n"
"  foo{idx=\"10\"} 52\n"
"  foo{idx=\"11\"} 52\n"
"\n"
"eval instant at 0 avg(foo) == 52\n"
"  {} 52\n"
"eval instant at 0 avg(topk(11, foo)) == 52\n"
"  {} 52\n"
"eval instant at 0 avg(topk(9, foo)) == 52\n"
"  {} 52\n"
"\n"
"clear\n"
"load 5m\n"
"  series{label=\"a\"} 1\n"
"  series{label=\"b\"} 2\n"
"  series{label=\"c\"} NaN\n"
"\n"
"eval instant at 0m stddev(series)\n"
"  {} NaN\n"
"eval instant at 0m stdvar by (label) (series)\n"
"  {label=\"a\"} 0\n"
"  {label=\"b\"} 0\n"
"  {label=\"c\"} NaN\n"
"\n"
"clear\n"
"load 5m\n"
"  series{label=\"a\"} inf\n"
"  series{label=\"b\"} 1\n"
"  series{label=\"c\"} 2\n"
"\n"
"eval instant at 0m stddev(series)\n"
"  {} NaN\n"
"eval instant at 0m stdvar by (label) (series)\n"
"  {label=\"a\"} NaN\n"
"  {label=\"b\"} 0\n"
"  {label=\"c\"} 0\n"
"\n"
"clear\n"
"load 5m\n"
"  series{label=\"a\"} 1\n"
"  series{label=\"b\"} 2\n"
"\n"
"eval instant at 0m stddev(series)\n"
"  {} 0.5\n"
"eval instant at 0m stdvar(series)\n"
"  {} 0.25\n";

static const char picks[] =
"load 5m\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+10x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 0+20x10\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"production\"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"canary\"} 0+30x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"canary\"} 0+40x10\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"production\"} 0+50x10\n"
"  http_requests{job=\"app-server\", instance=\"1\", group=\"production\"} 0+60x10\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"canary\"} 0+70x10\n"
"  http_requests{job=\"app-server\", instance=\"1\", group=\"canary\"} 0+80x10\n"
"  foo 1+1x9 3\n"
"\n"
"eval instant at 50m topk(3, http_requests)\n"
"  expect ordered\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"app-server\"} 700\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"app-server\"} 600\n"
"\n"
"eval instant at 50m topk((3), (http_requests))\n"
"  expect ordered\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"app-server\"} 700\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"app-server\"} 600\n"
"\n"
"eval instant at 50m topk(5, http_requests{group=\"canary\",job=\"app-server\"})\n"
"  expect ordered\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"app-server\"} 700\n"
"\n"
"eval instant at 50m bottomk(3, http_requests)\n"
"  expect ordered\n"
"  http_requests{group=\"production\", instance=\"0\", job=\"api-server\"} 100\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"api-server\"} 200\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"api-server\"} 300\n"
"\n"
"eval instant at 50m topk by (group) (1, http_requests)\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"app-server\"} 600\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"\n"
"eval instant at 50m bottomk by (group) (2, http_requests)\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"api-server\"} 300\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"api-server\"} 400\n"
"  http_requests{group=\"production\", instance=\"0\", job=\"api-server\"} 100\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"api-server\"} 200\n"
"\n"
"eval instant at 50m bottomk by (group) (2, http_requests{group=\"production\"})\n"
"  expect ordered\n"
"  http_requests{group=\"production\", instance=\"0\", job=\"api-server\"} 100\n"
"  http_requests{group=\"production\", instance=\"1\", job=\"api-server\"} 200\n"
"\n"
"eval instant at 50m topk(3, http_requests{job=\"api-server\",group=\"production\"})\n"
"  expect ordered\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 200\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 100\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"production\"} NaN\n"
"\n"
"eval instant at 50m bottomk(3, http_requests{job=\"api-server\",group=\"production\"})\n"
"  expect ordered\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 100\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 200\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"production\"} NaN\n"
"\n"
"eval instant at 50m topk(1, http_requests{job=\"api-server\",group=\"production\"})\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 200\n"
"\n"
"eval instant at 50m bottomk(1, http_requests{job=\"api-server\",group=\"production\"})\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 100\n"
"\n"
"eval instant at 50m bottomk(9999999999, http_requests{job=\"app-server\",group=\"canary\"})\n"
"  expect ordered\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"app-server\"} 700\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"\n"
"eval instant at 50m topk(9999999999, http_requests{job=\"api-server\",group=\"production\"})\n"
"  expect ordered\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 200\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 100\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"production\"} NaN\n"
"\n"
"eval instant at 50m topk(2.9, http_requests{job=\"app-server\",group=\"canary\"})\n"
"  expect ordered\n"
"  http_requests{group=\"canary\", instance=\"1\", job=\"app-server\"} 800\n"
"  http_requests{group=\"canary\", instance=\"0\", job=\"app-server\"} 700\n"
"\n"
"eval instant at 50m topk(0.5, http_requests)\n"
"\n"
"eval instant at 50m topk(-1e30, http_requests)\n"
"\n"
"eval instant at 50m topk(NaN, non_existent)\n"
"  expect fail msg: Parameter value is NaN\n"
"\n"
"eval instant at 50m limitk(NaN, non_existent)\n"
"  expect fail msg: Parameter value is NaN\n"
"\n"
"eval instant at 50m limit_ratio(NaN, non_existent)\n"
"  expect fail msg: Ratio value is NaN\n"
"\n"
"eval instant at 50m topk(1e19, http_requests)\n"
"  expect fail msg: Scalar value 1e+19 overflows int64\n"
"\n"
"eval instant at 50m bottomk(9223372036854775807, http_requests)\n"
"  expect fail msg: Scalar value 9.223372036854776e+18 overflows int64\n"
"\n"
/* the heap settles ties as Prometheus's: the first met stay */
"eval range from 0 to 50m step 5m count(topk(3, http_requests))\n"
"  {} 3+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(bottomk(20, http_requests))\n"
"  {} 9+0x10\n"
"\n"
"eval range from 5m to 50m step 5m topk(1, http_requests{job=\"app-server\"})\n"
"  http_requests{job=\"app-server\", instance=\"1\", group=\"canary\"} 80+80x9\n"
"\n"
"eval range from 5m to 50m step 5m bottomk by (group) (1, http_requests{job=\"app-server\"})\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"canary\"} 70+70x9\n"
"  http_requests{job=\"app-server\", instance=\"0\", group=\"production\"} 50+50x9\n"
"\n"
"clear\n"
"load 5m\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+10x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"production\"} 0+20x10\n"
"  http_requests{job=\"api-server\", instance=\"0\", group=\"canary\"} 0+30x10\n"
"  http_requests{job=\"api-server\", instance=\"1\", group=\"canary\"} 0+40x10\n"
"  http_requests{job=\"api-server\", instance=\"2\", group=\"canary\"} 0+50x10\n"
"  http_requests{job=\"api-server\", instance=\"3\", group=\"canary\"} 0+60x10\n"
"\n"
"eval instant at 50m count(limitk by (group) (0, http_requests))\n"
"  expect no_warn\n"
"\n"
"eval instant at 50m count(limitk by (group) (-1, http_requests))\n"
"  expect no_warn\n"
"\n"
"eval instant at 50m count(limitk by (group) (1, http_requests) and http_requests)\n"
"  {} 2\n"
"\n"
"eval instant at 50m count(limitk by (group) (2, http_requests) and http_requests)\n"
"  {} 4\n"
"\n"
"eval instant at 50m count(limitk(100, http_requests) and http_requests)\n"
"  {} 6\n"
"\n"
"eval instant at 50m limitk(1, http_requests{instance=\"3\"})\n"
"  http_requests{job=\"api-server\", instance=\"3\", group=\"canary\"} 600\n"
"\n"
"eval range from 0 to 50m step 5m count(limitk(2, http_requests) and http_requests)\n"
"  {} 2+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.0, http_requests))\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(1.0, http_requests) and http_requests)\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(-1.0, http_requests) and http_requests)\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(1.1, http_requests) and http_requests)\n"
"  expect warn msg: PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1 (1:19)\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(-1.1, http_requests) and http_requests)\n"
"  expect warn msg: PromQL warning: ratio value should be between -1 and 1, got -1.1, capping to -1 (1:19)\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) or limit_ratio(-0.8, http_requests))\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) and limit_ratio(-0.8, http_requests))\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) or limit_ratio(-0.5, http_requests))\n"
"  {} 6+0x10\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and limit_ratio(-0.5, http_requests))\n"
"\n"
"eval range from 0 to 50m step 5m count(limit_ratio(0.8, http_requests) or limit_ratio(-0.2, http_requests))\n"
"  {} 6+0x10\n";

static const char values[] =
"load 5m\n"
"  version{job=\"api-server\", instance=\"0\", group=\"production\"} 6\n"
"  version{job=\"api-server\", instance=\"1\", group=\"production\"} 6\n"
"  version{job=\"api-server\", instance=\"2\", group=\"production\"} 6\n"
"  version{job=\"api-server\", instance=\"0\", group=\"canary\"} 8\n"
"  version{job=\"api-server\", instance=\"1\", group=\"canary\"} 8\n"
"  version{job=\"app-server\", instance=\"0\", group=\"production\"} 6\n"
"  version{job=\"app-server\", instance=\"1\", group=\"production\"} 6\n"
"  version{job=\"app-server\", instance=\"0\", group=\"canary\"} 7\n"
"  version{job=\"app-server\", instance=\"1\", group=\"canary\"} 7\n"
"\n"
"eval instant at 1m count_values(\"version\", version)\n"
"  {version=\"6\"} 5\n"
"  {version=\"7\"} 2\n"
"  {version=\"8\"} 2\n"
"\n"
"eval instant at 1m count_values(((\"version\")), version)\n"
"  {version=\"6\"} 5\n"
"  {version=\"7\"} 2\n"
"  {version=\"8\"} 2\n"
"\n"
"eval instant at 1m count_values without (instance)(\"version\", version)\n"
"  {job=\"api-server\", group=\"production\", version=\"6\"} 3\n"
"  {job=\"api-server\", group=\"canary\", version=\"8\"} 2\n"
"  {job=\"app-server\", group=\"production\", version=\"6\"} 2\n"
"  {job=\"app-server\", group=\"canary\", version=\"7\"} 2\n"
"\n"
"eval instant at 1m count_values without (instance)(\"job\", version)\n"
"  {job=\"6\", group=\"production\"} 5\n"
"  {job=\"8\", group=\"canary\"} 2\n"
"  {job=\"7\", group=\"canary\"} 2\n"
"\n"
"eval instant at 1m count_values by (job, group)(\"job\", version)\n"
"  {job=\"6\", group=\"production\"} 5\n"
"  {job=\"8\", group=\"canary\"} 2\n"
"  {job=\"7\", group=\"canary\"} 2\n"
"\n"
"eval instant at 1m count_values by (__name__) (\"v\", version)\n"
"  version{v=\"6\"} 5\n"
"  version{v=\"7\"} 2\n"
"  version{v=\"8\"} 2\n"
"\n"
"eval instant at 1m count_values without (version) (\"version\", version)\n"
"  {group=\"production\", job=\"api-server\", instance=\"0\"} 1\n"
"  {group=\"production\", job=\"api-server\", instance=\"1\"} 1\n"
"  {group=\"production\", job=\"api-server\", instance=\"2\"} 1\n"
"  {group=\"canary\", job=\"api-server\", instance=\"0\"} 1\n"
"  {group=\"canary\", job=\"api-server\", instance=\"1\"} 1\n"
"  {group=\"production\", job=\"app-server\", instance=\"0\"} 1\n"
"  {group=\"production\", job=\"app-server\", instance=\"1\"} 1\n"
"  {group=\"canary\", job=\"app-server\", instance=\"0\"} 1\n"
"  {group=\"canary\", job=\"app-server\", instance=\"1\"} 1\n"
"\n"
"eval instant at 1m count_values without (job) (\"__name__\", version)\n"
"  {group=\"production\", instance=\"0\"} 2\n"
"  {group=\"production\", instance=\"1\"} 2\n"
"  {group=\"production\", instance=\"2\"} 1\n"
"  {group=\"canary\", instance=\"0\"} 2\n"
"  {group=\"canary\", instance=\"1\"} 2\n"
"\n"
"eval instant at 0 count_values(\"a\\xc5z\", version)\n"
"  expect fail msg:invalid label name \"a\\xc5z\"\n"
"\n"
"eval instant at 0 count_values(\"\", version)\n"
"  expect fail msg:invalid label name \"\"\n"
"\n"
"eval instant at 0 count_values(\"x\", non_existent)\n"
"\n"
"eval instant at 0 count_values(\"a-b\", non_existent)\n"
"  expect fail msg:invalid label name \"a-b\"\n"
"\n"
"clear\n"
"load 1m\n"
"  v{i=\"a\"} 1 1 2 2.5 -0 1e21 NaN\n"
"  v{i=\"b\"} 1 2 2 0 0 1e-7 NaN\n"
"\n"
"eval range from 0 to 6m step 1m count_values(\"x\", v)\n"
"  {x=\"1\"} 2 1 _ _ _ _ _\n"
"  {x=\"2\"} _ 1 2 _ _ _ _\n"
"  {x=\"2.5\"} _ _ _ 1 _ _ _\n"
"  {x=\"0\"} _ _ _ 1 1 _ _\n"
"  {x=\"-0\"} _ _ _ _ 1 _ _\n"
"  {x=\"1000000000000000000000\"} _ _ _ _ _ 1 _\n"
"  {x=\"0.0000001\"} _ _ _ _ _ 1 _\n"
"  {x=\"NaN\"} _ _ _ _ _ _ 2\n";

static const char quantiles[] =
"load 10s\n"
"  data{test=\"two samples\",point=\"a\"} 0\n"
"  data{test=\"two samples\",point=\"b\"} 1\n"
"  data{test=\"three samples\",point=\"a\"} 0\n"
"  data{test=\"three samples\",point=\"b\"} 1\n"
"  data{test=\"three samples\",point=\"c\"} 2\n"
"  data{test=\"uneven samples\",point=\"a\"} 0\n"
"  data{test=\"uneven samples\",point=\"b\"} 1\n"
"  data{test=\"uneven samples\",point=\"c\"} 4\n"
"  data{test=\"NaN sample\",point=\"a\"} 0\n"
"  data{test=\"NaN sample\",point=\"b\"} 1\n"
"  data{test=\"NaN sample\",point=\"c\"} NaN\n"
"\n"
"eval instant at 1m quantile without(point)(0.8, data)\n"
"  expect no_warn\n"
"  {test=\"two samples\"} 0.8\n"
"  {test=\"three samples\"} 1.6\n"
"  {test=\"uneven samples\"} 2.8\n"
"  {test=\"NaN sample\"} 0.6\n"
"\n"
"eval instant at 1m quantile without(point)(0.2, data)\n"
"  {test=\"two samples\"} 0.2\n"
"  {test=\"three samples\"} 0.4\n"
"  {test=\"uneven samples\"} 0.4\n"
"  {test=\"NaN sample\"} NaN\n"
"\n"
"eval instant at 1m quantile without(point)(NaN, data)\n"
"  expect warn regex: PromQL warning: quantile value should be between 0 and 1, got NaN \\([0-9]+:[0-9]+\\)\n"
"  {test=\"two samples\"} NaN\n"
"  {test=\"three samples\"} NaN\n"
"  {test=\"uneven samples\"} NaN\n"
"  {test=\"NaN sample\"} NaN\n"
"\n"
"eval instant at 1m quantile(1.5, data)\n"
"  expect warn msg: PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:10)\n"
"  {} +Inf\n"
"\n"
"eval instant at 1m quantile(-2e-7, data)\n"
"  expect warn msg: PromQL warning: quantile value should be between 0 and 1, got -2e-07 (1:10)\n"
"  {} -Inf\n"
"\n"
"eval range from 0 to 1m step 10s quantile(1, data{test=\"uneven samples\"})\n"
"  expect no_warn\n"
"  {} 4x6\n"
"\n"
/* series leaving and coming back: a group's state is the step's alone */
"clear\n"
"load 1m\n"
"  a{g=\"x\", i=\"1\"} 1 stale 3 stale\n"
"  a{g=\"x\", i=\"2\"} _ 2 stale 4\n"
"  a{g=\"y\", i=\"1\"} 5 5 stale\n"
"\n"
"eval range from 0 to 3m step 1m sum by (g) (a)\n"
"  {g=\"x\"} 1 2 3 4\n"
"  {g=\"y\"} 5 5 _ _\n"
"\n"
"eval range from 0 to 3m step 1m quantile by (g) (0.5, a)\n"
"  {g=\"x\"} 1 2 3 4\n"
"  {g=\"y\"} 5 5 _ _\n"
"\n"
"eval range from 0 to 3m step 1m stddev by (g) (a)\n"
"  {g=\"x\"} 0 0 0 0\n"
"  {g=\"y\"} 0 0 _ _\n"
"\n"
"eval range from 0 to 3m step 1m topk by (g) (1, a)\n"
"  a{g=\"x\", i=\"1\"} 1 _ 3 _\n"
"  a{g=\"x\", i=\"2\"} _ 2 _ 4\n"
"  a{g=\"y\", i=\"1\"} 5 5 _ _\n"
"\n"
"eval range from 0 to 3m step 1m count_values(\"v\", a)\n"
"  {v=\"1\"} 1 _ _ _\n"
"  {v=\"2\"} _ 1 _ _\n"
"  {v=\"3\"} _ _ 1 _\n"
"  {v=\"4\"} _ _ _ 1\n"
"  {v=\"5\"} 1 1 _ _\n";

static void
test_sums(void **state)
{
	(void)state;
	run_check(sums);
}

static void
test_averages(void **state)
{
	(void)state;
	run_check(averages);
}

static void
test_picks(void **state)
{
	(void)state;
	run_check(picks);
}

static void
test_values(void **state)
{
	(void)state;
	run_check(values);
}

static void
test_quantiles(void **state)
{
	(void)state;
	run_check(quantiles);
}

/* A script from a file, reported without failing (SHALE_PROMQL_TEST). */
static void
test_file(void **state)
{
	const char *path = getenv("SHALE_PROMQL_TEST");
	struct run r = { 0 };
	struct buf b;
	FILE *f;
	char chunk[4096];
	size_t n;

	(void)state;
	if (path == NULL || (f = fopen(path, "r")) == NULL) {
		skip();
		return;
	}
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	buf_init(&r.why, 0);
	run_script(&r, buf_str(&b));
	store_close(&r.st);
	fprintf(stderr, "%s%s: %d passed, %d failed, %d skipped\n",
	    buf_str(&r.why), path, r.passed, r.failed, r.skipped);
	buf_release(&r.why);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_averages),
		cmocka_unit_test(test_picks),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_file),
	};
	int rc;

	if (scratch_make(scratch, sizeof(scratch), "promql_agg") != 0) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", scratch, 1);
	log_set_level(LOG_WARN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	scratch_remove(scratch);
	return rc;
}
