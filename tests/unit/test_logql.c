/*
 * test_logql.c - LogQL queries (src/query/logql.c, logql_eval.c) over
 * streams pushed with their own times into a file:// engine.
 *
 * Exercises: which language a query is (logql_detect); parse errors with
 * Loki's words and their place (a pipeline's, a range aggregation's, a
 * missing range, an unwrap where none may be and none where one must);
 * log queries FORWARD and BACKWARD with limits across streams, all the
 * lines of a filter, the range's ends (start in, end out), entries late
 * within a stream; metric queries: count_over_time and rate at an
 * instant and over steps, windows left-open, bytes_over_time, sum by,
 * unwrapped sums, averages, quantiles and maxima, offset,
 * absent_over_time with the selector's labels, vector(1)+vector(1), a
 * pipeline error, the series limit; and the text and the order of
 * what the writers make of a log query.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
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
#include "model/labels.h"
#include "model/logs.h"
#include "query/logql.h"
#include "query/promql.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SEC	((int64_t)1000000000)

static char	 scratch[PATH_MAX];
static struct engine *eng;
static struct logs *lg;
static int64_t	 T0;		/* the first entry's time, ns; a whole minute */

/* api: 60 lines 10 s apart; web: 30 lines 20 s apart; both from T0 */
static void
load(void)
{
	struct logs_entry api[60], web[31];
	struct logs_push_stream ps[2];
	struct labels *la, *lw;
	char *lines[91];
	uint64_t seq;
	size_t n = 0;

	assert_int_equal(labels_new((struct label[]){
	    label_str("app", "api"), label_str("env", "prod") }, 2, 0, &la), 0);
	assert_int_equal(labels_new((struct label[]){
	    label_str("app", "web"), label_str("env", "dev") }, 2, 0, &lw), 0);
	for (int i = 0; i < 60; i++) {
		lines[n] = xasprintf("level=%s status=%d path=/a/%d size=%d",
		    i % 5 == 4 ? "error" : "info", i % 5 == 4 ? 500 : 200, i,
		    100 + i);
		api[i].ts_ns = T0 + i * 10 * SEC;
		api[i].line = lines[n];
		api[i].len = strlen(lines[n]);
		n++;
	}
	for (int i = 0; i < 30; i++) {
		lines[n] = xasprintf("{\"level\":\"warn\",\"code\":404,\"n\":%d}",
		    i);
		web[i].ts_ns = T0 + i * 20 * SEC;
		web[i].line = lines[n];
		web[i].len = strlen(lines[n]);
		n++;
	}
	/* one late entry, within the window: it counts at its own time */
	lines[n] = xstrdup("{\"level\":\"late\",\"code\":1,\"n\":-1}");
	web[30].ts_ns = T0 + 5 * SEC;
	web[30].line = lines[n];
	web[30].len = strlen(lines[n]);
	n++;
	ps[0] = (struct logs_push_stream){ la, api, 60 };
	ps[1] = (struct logs_push_stream){ lw, web, 31 };
	assert_int_equal(logs_push(lg, ps, 2, &seq), 0);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	labels_free(la);
	labels_free(lw);
}

static int
setup(void **state)
{
	struct engine_settings es;
	struct objstore_opts so;
	char uri[PATH_MAX + 32];

	(void)state;
	log_set_level(LOG_WARN);
	if (scratch_make(scratch, sizeof(scratch), "logql") != 0)
		return -1;
	snprintf(uri, sizeof(uri), "file://%s/store", scratch);
	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	if (engine_open(uri, &so, &es, ENGINE_WRITER, &eng) != 0)
		return -1;
	engine_settings_release(&es);
	if (logs_open(eng, &lg) != 0)
		return -1;
	/* whole minutes, half an hour back: inside every window */
	T0 = (clock_wall_ns() / SEC / 60 - 30) * 60 * SEC;
	load();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	logs_close(lg);
	engine_close(eng);
	return scratch_remove(scratch);
}

static struct logql_result *
run(const char *q, const struct logql_opts *o)
{
	struct logql_expr *e;
	struct logql_result *r;
	int rc;

	rc = logql_parse(q, strlen(q), &e);
	if (rc != 0)
		fail_msg("%s: %s", q, err_detail());
	rc = logql_eval(lg, e, o, &r);
	if (rc != 0)
		fail_msg("%s: %s", q, err_detail());
	logql_free(e);
	return r;
}

static int
run_error(const char *q, const struct logql_opts *o)
{
	struct logql_expr *e;
	struct logql_result *r = NULL;
	int rc;

	if ((rc = logql_parse(q, strlen(q), &e)) != 0)
		return rc;
	rc = logql_eval(lg, e, o, &r);
	logql_free(e);
	logql_result_free(r);
	assert_int_not_equal(rc, 0);
	return rc;
}

static size_t
entries(const struct logql_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nstreams; i++)
		n += r->streams[i].n;
	return n;
}

/* The one value of an instant query's series with label name=value. */
static double
value_of(const struct logql_result *r, const char *name, const char *value)
{
	const struct promql_result *m = r->metric;

	for (size_t i = 0; i < m->n; i++) {
		const char *v = labels_get(m->series[i].ls, name);

		if (v != NULL && strcmp(v, value) == 0) {
			assert_int_equal(m->series[i].n, 1);
			return m->series[i].pts[0].v;
		}
	}
	fail_msg("no series with %s=%s", name, value);
	return NAN;
}

static void
test_detect(void **state)
{
	static const struct { const char *q; int logql; } cases[] = {
		{ "{app=\"api\"}", 1 },
		{ "  {app=\"api\"} |= \"x\"", 1 },
		{ "rate(http_requests_total[5m])", 0 },
		{ "up", 0 },
		{ "sum by (job) (rate(x{job=\"a\"}[5m]))", 0 },
		{ "count_over_time({app=\"x\"}[5m])", 1 },
		{ "rate({app=\"x\"} |= \"err\" [5m])", 1 },
		{ "sum by (level) (count_over_time({a=\"b\"} | json [1m]))", 1 },
		{ "bytes_rate(", 1 },
		{ "vector(1)+vector(1)", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (logql_detect(cases[i].q, strlen(cases[i].q)) !=
		    cases[i].logql)
			fail_msg("%s: not %s", cases[i].q, cases[i].logql ?
			    "LogQL" : "PromQL");
}

static void
test_parse_errors(void **state)
{
	static const struct { const char *q, *want; } cases[] = {
		{ "", "parse error at line 1, col 1" },
		{ "{app=\"api\"} |=", "parse error at line 1, col" },
		{ "{}", "parse error at line 1, col 1" },
		{ "{app=\"api\"} junk", "parse error at line 1, col 13" },
		{ "rate({app=\"api\"})", "parse error at line 1, col 17" },
		{ "sum_over_time({app=\"api\"}[5m])",
		    "invalid aggregation sum_over_time without unwrap" },
		{ "count_over_time({app=\"api\"} | logfmt | unwrap size [5m])",
		    "invalid aggregation count_over_time with unwrap" },
		{ "sum(count_over_time({app=\"api\"}[5m]) by (x)",
		    "parse error at line 1" },
		{ "rate(http_requests_total[5m])", "parse error at line 1, col 6" },
		{ "{app=\"api\"} | logfmt | unwrap size",
		    "unwrap is only allowed" },
		{ "count_over_time({app=\"api\"}[5m]) + foo",
		    "parse error at line 1, col 36" },
	};
	struct logql_expr *e;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *q = cases[i].q;

		if (logql_parse(q, strlen(q), &e) != -EINVAL)
			fail_msg("%s: parsed", q);
		if (strstr(err_detail(), cases[i].want) == NULL)
			fail_msg("%s: \"%s\", not \"%s\"", q, err_detail(),
			    cases[i].want);
	}
}

static void
test_format(void **state)
{
	static const char *const qs[] = {
		"{app=\"api\"} |= \"x\"",
		"sum by (env) (count_over_time({app=~\".+\"}[5m]))",
		"quantile_over_time(0.9,{app=\"api\"} | logfmt | unwrap size[5m]) by (env)",
		"rate({app=\"api\"}[1m] offset 1h)",
	};
	struct logql_expr *e, *e2;
	struct buf b, b2;

	(void)state;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		buf_init(&b, 0);
		buf_init(&b2, 0);
		assert_int_equal(logql_parse(qs[i], strlen(qs[i]), &e), 0);
		assert_int_equal(logql_format(e, &b), 0);
		/* what it prints parses back and prints the same */
		if (logql_parse(b.data, b.len, &e2) != 0)
			fail_msg("%s -> %s: %s", qs[i], buf_str(&b), err_detail());
		logql_format(e2, &b2);
		assert_string_equal(buf_str(&b), buf_str(&b2));
		logql_free(e);
		logql_free(e2);
		buf_release(&b);
		buf_release(&b2);
	}
}

static void
test_log_forward(void **state)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;

	(void)state;
	o.start_ns = T0;
	o.end_ns = T0 + 3600 * SEC;
	o.limit = 5;
	o.dir = LOGQL_FORWARD;
	r = run("{app=\"api\"}", &o);
	assert_true(r->is_log);
	assert_int_equal(r->nstreams, 1);
	assert_int_equal(r->streams[0].n, 5);
	for (size_t i = 0; i < 5; i++) {
		char want[64];

		assert_int_equal(r->streams[0].e[i].ts_ns, T0 + (int64_t)i * 10 * SEC);
		snprintf(want, sizeof(want), "path=/a/%zu ", i);
		assert_non_null(strstr(r->streams[0].e[i].line, want));
	}
	assert_string_equal(labels_get(r->streams[0].ls, "app"), "api");
	assert_string_equal(labels_get(r->streams[0].ls, "env"), "prod");
	assert_non_null(labels_get(r->streams[0].ls, "stream"));
	logql_result_free(r);

	/* start is in, end is out */
	o.start_ns = T0 + 10 * SEC;
	o.end_ns = T0 + 30 * SEC;
	o.limit = 100;
	r = run("{app=\"api\"}", &o);
	assert_int_equal(entries(r), 2);
	assert_int_equal(r->streams[0].e[0].ts_ns, T0 + 10 * SEC);
	assert_int_equal(r->streams[0].e[1].ts_ns, T0 + 20 * SEC);
	logql_result_free(r);
}

static void
test_log_backward(void **state)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;
	int64_t last = 0;

	(void)state;
	/* the newest 4 of both streams: api's at 590, 580, web's at 580, api 570 */
	o.start_ns = T0 - 3600 * SEC;
	o.end_ns = T0 + 3600 * SEC;
	o.limit = 4;
	o.dir = LOGQL_BACKWARD;
	r = run("{env=~\"prod|dev\"}", &o);
	assert_int_equal(entries(r), 4);
	assert_int_equal(r->nstreams, 2);
	for (size_t i = 0; i < r->nstreams; i++)
		for (size_t k = 0; k < r->streams[i].n; k++) {
			int64_t ts = r->streams[i].e[k].ts_ns;

			assert_true(ts >= T0 + 570 * SEC);
			/* newest first within a stream */
			if (k > 0)
				assert_true(ts <= r->streams[i].e[k - 1].ts_ns);
			if (ts > last)
				last = ts;
		}
	assert_int_equal(last, T0 + 590 * SEC);
	logql_result_free(r);
}

static void
test_log_filter(void **state)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;
	struct buf b;

	(void)state;
	o.start_ns = T0;
	o.end_ns = T0 + 3600 * SEC;
	o.limit = SIZE_MAX;
	o.dir = LOGQL_FORWARD;
	r = run("{env=~\"prod|dev\"} |= \"status=500\"", &o);
	assert_int_equal(entries(r), 12);
	assert_int_equal(r->stats.streams, 2);
	logql_result_free(r);

	/* the late entry, in its place by time in the text */
	o.end_ns = T0 + 21 * SEC;
	r = run("{app=\"web\"}", &o);
	assert_int_equal(entries(r), 3);
	buf_init(&b, 0);
	assert_int_equal(logql_result_text(r, &b), 0);
	assert_string_equal(buf_str(&b),
	    "{\"level\":\"warn\",\"code\":404,\"n\":0}\n"
	    "{\"level\":\"late\",\"code\":1,\"n\":-1}\n"
	    "{\"level\":\"warn\",\"code\":404,\"n\":1}\n");
	buf_release(&b);
	logql_result_free(r);
}

static void
test_metric_instant(void **state)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;

	(void)state;
	/* (T0 + 590 - 10m, T0 + 590]: every api line */
	o.end_ns = T0 + 590 * SEC;
	r = run("count_over_time({app=\"api\"}[10m])", &o);
	assert_false(r->is_log);
	assert_int_equal(r->metric->type, PROMQL_TYPE_VECTOR);
	assert_int_equal(r->metric->n, 1);
	assert_float_equal(value_of(r, "app", "api"), 60, 0);
	logql_result_free(r);

	/* left-open: at T0 + 600 the line at T0 is out */
	o.end_ns = T0 + 600 * SEC;
	r = run("count_over_time({app=\"api\"}[10m])", &o);
	assert_float_equal(value_of(r, "app", "api"), 59, 0);
	logql_result_free(r);

	r = run("sum by (env) (rate({app=~\".+\"} |= \"level=error\" [10m]))",
	    &o);
	assert_float_equal(value_of(r, "env", "prod"), 12.0 / 600, 1e-12);
	logql_result_free(r);

	/* a sum by a label of the streams groups from the start */
	r = run("sum by (stream) (count_over_time({env=~\".+\"}[10m]))", &o);
	assert_int_equal(r->metric->n, 2);
	logql_result_free(r);
	r = run("sum(rate({env=~\".+\"}[10m])) by (app)", &o);
	assert_float_equal(value_of(r, "app", "api"), 59.0 / 600, 1e-12);
	logql_result_free(r);

	r = run("bytes_over_time({app=\"api\"} |= \"path=/a/1 \" [10m])", &o);
	assert_float_equal(value_of(r, "app", "api"),
	    strlen("level=info status=200 path=/a/1 size=101"), 0);
	logql_result_free(r);

	/* sizes 100 + i over the lines in the window */
	r = run("sum_over_time({app=\"api\"} | logfmt | unwrap size [10m]) "
	    "by (app)", &o);
	assert_float_equal(value_of(r, "app", "api"), 59 * 100 + (59 * 60) / 2,
	    1e-9);
	logql_result_free(r);
	r = run("max_over_time({app=\"api\"} | logfmt | unwrap size [10m]) by (app)",
	    &o);
	assert_int_equal(r->metric->n, 1);
	assert_int_equal(labels_count(r->metric->series[0].ls), 1);
	assert_float_equal(value_of(r, "app", "api"), 159, 0);
	logql_result_free(r);
	r = run("quantile_over_time(0.5, {app=\"api\"} | logfmt | unwrap size [10m]) by (env)",
	    &o);
	assert_float_equal(value_of(r, "env", "prod"), 130, 1e-9);
	logql_result_free(r);

	/* an hour later, offset back to the same window */
	o.end_ns = T0 + 4200 * SEC;
	r = run("count_over_time({app=\"api\"}[10m] offset 1h)", &o);
	assert_float_equal(value_of(r, "app", "api"), 59, 0);
	logql_result_free(r);

	r = run("absent_over_time({app=\"nope\", env=~\".*\"}[5m])", &o);
	assert_int_equal(r->metric->n, 1);
	assert_int_equal(labels_count(r->metric->series[0].ls), 1);
	assert_float_equal(value_of(r, "app", "nope"), 1, 0);
	logql_result_free(r);
	r = run("absent_over_time({app=\"api\"}[5m] offset 1h)", &o);
	assert_int_equal(r->metric->n, 0);
	logql_result_free(r);

	r = run("vector(1)+vector(1)", &o);
	assert_int_equal(r->metric->n, 1);
	assert_float_equal(r->metric->series[0].pts[0].v, 2, 0);
	logql_result_free(r);
}

static void
test_metric_range(void **state)
{
	struct logql_opts o = { 0 };
	struct logql_result *r;
	const struct promql_series *s;

	(void)state;
	/* steps a minute apart over the 10 minutes: 6 api lines each */
	o.start_ns = T0 + 60 * SEC;
	o.end_ns = T0 + 540 * SEC;
	o.step_ns = 60 * SEC;
	r = run("sum by (app) (count_over_time({env=~\".+\"}[1m]))", &o);
	assert_int_equal(r->metric->type, PROMQL_TYPE_MATRIX);
	assert_int_equal(r->metric->n, 2);
	for (size_t i = 0; i < 2; i++) {
		s = &r->metric->series[i];
		assert_int_equal(s->n, 9);
		for (size_t k = 0; k < s->n; k++) {
			assert_int_equal(s->pts[k].t, (T0 + (int64_t)(60 +
			    60 * k) * SEC) / 1000000);
			/* web: 3 a minute; the late one in (T0, T0 + 60] too */
			if (strcmp(labels_get(s->ls, "app"), "api") == 0)
				assert_float_equal(s->pts[k].v, 6, 0);
			else
				assert_float_equal(s->pts[k].v, k == 0 ? 4 : 3, 0);
		}
	}
	logql_result_free(r);
}

static void
test_metric_errors(void **state)
{
	struct logql_opts o = { 0 };

	(void)state;
	o.end_ns = T0 + 600 * SEC;
	assert_int_equal(run_error("count_over_time({app=\"api\"} | json [10m])",
	    &o), -EDOM);
	assert_non_null(strstr(err_detail(), "pipeline error"));
	logql_result_free(run("count_over_time({app=\"api\"} | json | "
	    "__error__=\"\" [10m])", &o));
	o.max_series = 1;
	assert_int_equal(run_error("count_over_time({env=~\".+\"}[10m])", &o),
	    -EDOM);
	assert_non_null(strstr(err_detail(), "maximum of series"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_log_forward),
		cmocka_unit_test(test_log_backward),
		cmocka_unit_test(test_log_filter),
		cmocka_unit_test(test_metric_instant),
		cmocka_unit_test(test_metric_range),
		cmocka_unit_test(test_metric_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
