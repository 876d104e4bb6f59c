/*
 * test_logql_result.c - a LogQL answer written out (logql.h,
 * logql_result.c) from hand-made results: the streams JSON of Loki's
 * query API byte for byte (times as nanosecond strings, lines escaped as
 * Loki's HTML-escaping writer, labels not, empty streams), matrix, vector
 * and scalar with Loki's times and values (float seconds in the fewest
 * digits, values always 'f' form), the stats object's summary; text and
 * CSV of a log query, oldest first across streams read in either
 * direction; a metric query's text as PromQL's.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"
#include "query/logql.h"
#include "query/promql.h"
#include "util/buf.h"

static struct labels *
mk(const char *n1, const char *v1, const char *n2, const char *v2)
{
	struct label l[2];
	struct labels *ls;
	size_t n = 0;

	if (n1 != NULL)
		l[n++] = label_str(n1, v1);
	if (n2 != NULL)
		l[n++] = label_str(n2, v2);
	assert_int_equal(labels_new(l, n, 0, &ls), 0);
	return ls;
}

/* A stream of n entries given as (int64 ns, const char *line) pairs. */
static void
add_stream(struct logql_result *r, struct labels *ls, size_t n, ...)
{
	struct logql_stream *s;
	va_list ap;

	r->streams = realloc(r->streams, (r->nstreams + 1) *
	    sizeof(*r->streams));
	s = &r->streams[r->nstreams++];
	s->ls = ls;
	s->n = n;
	s->e = calloc(n + 1, sizeof(*s->e));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		s->e[i].ts_ns = va_arg(ap, int64_t);
		s->e[i].line = strdup(va_arg(ap, const char *));
		s->e[i].len = strlen(s->e[i].line);
	}
	va_end(ap);
}

static void
release(struct logql_result *r)
{
	for (size_t i = 0; i < r->nstreams; i++) {
		labels_free(r->streams[i].ls);
		for (size_t k = 0; k < r->streams[i].n; k++)
			free(r->streams[i].e[k].line);
		free(r->streams[i].e);
	}
	free(r->streams);
	if (r->metric != NULL) {
		for (size_t i = 0; i < r->metric->n; i++) {
			labels_free(r->metric->series[i].ls);
			free(r->metric->series[i].pts);
		}
		free(r->metric->series);
		free(r->metric);
	}
	memset(r, 0, sizeof(*r));
}

static void
add_series(struct promql_result *m, struct labels *ls, size_t n, ...)
{
	struct promql_series *s;
	va_list ap;

	m->series = realloc(m->series, (m->n + 1) * sizeof(*m->series));
	s = &m->series[m->n++];
	s->ls = ls;
	s->n = n;
	s->pts = calloc(n + 1, sizeof(*s->pts));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		s->pts[i].t = va_arg(ap, int64_t);
		s->pts[i].v = va_arg(ap, double);
	}
	va_end(ap);
}

typedef int (*writer)(const struct logql_result *, struct buf *);

static char *
run(writer w, const struct logql_result *r)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(w(r, &b), 0);
	return buf_detach(&b, NULL);
}

static void
check(writer w, const struct logql_result *r, const char *want)
{
	char *got = run(w, r);

	assert_string_equal(got, want);
	free(got);
}

/* The JSON up to "stats", which the stats test looks at apart. */
static void
check_result(const struct logql_result *r, const char *want)
{
	char *got = run(logql_result_json, r), *st;

	st = strstr(got, ",\"stats\":{\"summary\":");
	assert_non_null(st);
	*st = '\0';
	assert_string_equal(got, want);
	free(got);
}

static void
test_streams(void **state)
{
	struct logql_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.is_log = 1;
	check_result(&r, "{\"resultType\":\"streams\",\"result\":[]");
	add_stream(&r, mk("app", "api", "stream", "a/b"), 2,
	    (int64_t)1700000000123456789, "GET /x <b>&",
	    (int64_t)1700000000000000000, "tab\there \"q\" \\");
	add_stream(&r, mk("app", "we\"b\xc3\xa9\n", NULL, NULL), 1,
	    (int64_t)5, "bad \xff byte");
	add_stream(&r, mk("app", "none", NULL, NULL), 0);
	check_result(&r, "{\"resultType\":\"streams\",\"result\":["
	    "{\"stream\":{\"app\":\"api\",\"stream\":\"a/b\"},\"values\":["
	    "[\"1700000000123456789\",\"GET /x \\u003cb\\u003e\\u0026\"],"
	    "[\"1700000000000000000\",\"tab\\there \\\"q\\\" \\\\\"]]},"
	    "{\"stream\":{\"app\":\"we\\\"b\xc3\xa9\\n\"},\"values\":["
	    "[\"5\",\"bad \\ufffd byte\"]]},"
	    "{\"stream\":{\"app\":\"none\"},\"values\":[]}]");
	release(&r);
}

static void
test_metric(void **state)
{
	struct logql_result r;
	struct promql_result *m;

	(void)state;
	memset(&r, 0, sizeof(r));
	m = calloc(1, sizeof(*m));
	r.metric = m;
	m->type = PROMQL_TYPE_MATRIX;
	add_series(m, mk("level", "info", NULL, NULL), 3,
	    (int64_t)1700000000000, 2.0, (int64_t)1700000000500, 1e-7,
	    (int64_t)1700000001250, (double)NAN);
	add_series(m, mk(NULL, NULL, NULL, NULL), 0);
	check_result(&r, "{\"resultType\":\"matrix\",\"result\":["
	    "{\"metric\":{\"level\":\"info\"},\"values\":["
	    "[1700000000,\"2\"],[1700000000.5,\"0.0000001\"],"
	    "[1700000001.25,\"NaN\"]]},{\"metric\":{},\"values\":[]}]");
	m->type = PROMQL_TYPE_VECTOR;
	m->n = 1;
	m->series[0].n = 1;
	m->series[0].pts[0].v = (double)INFINITY;
	m->series[0].pts[0].t = 1733561234567;
	check_result(&r, "{\"resultType\":\"vector\",\"result\":["
	    "{\"metric\":{\"level\":\"info\"},\"value\":"
	    "[1733561234.567,\"+Inf\"]}]");
	m->n = 2;
	m->type = PROMQL_TYPE_SCALAR;
	m->t = 1700000000000;
	m->scalar = 2;
	check_result(&r, "{\"resultType\":\"scalar\",\"result\":"
	    "[1700000000,\"2\"]");
	release(&r);
}

static void
test_stats(void **state)
{
	struct logql_result r;
	char *got;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.is_log = 1;
	r.stats.bytes = 4000;
	r.stats.lines = 100;
	r.stats.entries = 7;
	r.stats.records = 3;
	r.stats.exec_ns = 500000000;
	got = run(logql_result_json, &r);
	assert_non_null(strstr(got, ",\"stats\":{\"summary\":{"
	    "\"bytesProcessedPerSecond\":8000,\"linesProcessedPerSecond\":200,"
	    "\"totalBytesProcessed\":4000,\"totalLinesProcessed\":100,"
	    "\"execTime\":0.5,\"queueTime\":0,\"subqueries\":0,"
	    "\"totalEntriesReturned\":7,"));
	assert_non_null(strstr(got, "\"querier\":{\"store\":{"
	    "\"totalChunksRef\":3,\"totalChunksDownloaded\":3,"));
	assert_non_null(strstr(got, "\"decompressedBytes\":4000,"
	    "\"decompressedLines\":100,"));
	assert_non_null(strstr(got, "\"ingester\":{\"totalReached\":0,"));
	assert_non_null(strstr(got, "\"cache\":{\"chunk\":{\"entriesFound\":0,"));
	/* the object closes twice: stats, then data */
	assert_int_equal(got[strlen(got) - 1], '}');
	assert_int_equal(got[strlen(got) - 2], '}');
	free(got);
	release(&r);
}

static void
test_text_csv(void **state)
{
	struct logql_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.is_log = 1;
	check(logql_result_text, &r, "");
	check(logql_result_csv, &r, "time,stream,line\n");
	/* read BACKWARD: each stream newest first */
	add_stream(&r, mk("app", "a", NULL, NULL), 3,
	    (int64_t)3000000000, "a3", (int64_t)2000000000, "a2",
	    (int64_t)1000000000, "a1");
	add_stream(&r, mk("app", "b", "x", "q\"v"), 2,
	    (int64_t)2500000000, "b2, \"quoted\"", (int64_t)2000000000, "b1");
	check(logql_result_text, &r, "a1\na2\nb1\nb2, \"quoted\"\na3\n");
	check(logql_result_csv, &r, "time,stream,line\n"
	    "1970-01-01T00:00:01Z,\"{app=\"\"a\"\"}\",a1\n"
	    "1970-01-01T00:00:02Z,\"{app=\"\"a\"\"}\",a2\n"
	    "1970-01-01T00:00:02Z,\"{app=\"\"b\"\", x=\"\"q\\\"\"v\"\"}\",b1\n"
	    "1970-01-01T00:00:02.5Z,\"{app=\"\"b\"\", x=\"\"q\\\"\"v\"\"}\","
	    "\"b2, \"\"quoted\"\"\"\n"
	    "1970-01-01T00:00:03Z,\"{app=\"\"a\"\"}\",a3\n");
	release(&r);
	/* FORWARD, with a time before the epoch and nanoseconds */
	r.is_log = 1;
	add_stream(&r, mk("app", "a", NULL, NULL), 2,
	    (int64_t)-1, "early", (int64_t)1700000000000000100, "late");
	check(logql_result_text, &r, "early\nlate\n");
	check(logql_result_csv, &r, "time,stream,line\n"
	    "1969-12-31T23:59:59.999999999Z,\"{app=\"\"a\"\"}\",early\n"
	    "2023-11-14T22:13:20.0000001Z,\"{app=\"\"a\"\"}\",late\n");
	release(&r);
}

static void
test_metric_text(void **state)
{
	struct logql_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.metric = calloc(1, sizeof(*r.metric));
	r.metric->type = PROMQL_TYPE_VECTOR;
	add_series(r.metric, mk("level", "info", NULL, NULL), 1,
	    (int64_t)1700000000000, 3.0);
	check(logql_result_text, &r, "{level=\"info\"} 3\n");
	check(logql_result_csv, &r, "time,series,value\n"
	    "1700000000,\"{level=\"\"info\"\"}\",3\n");
	release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_metric),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_text_csv),
		cmocka_unit_test(test_metric_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
