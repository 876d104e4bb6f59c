/*
 * test_metrics.c - the metrics registry and its Prometheus text rendering.
 *
 * Exercises, each on a private registry (metrics_new): counters with and
 * without labels, gauges, histograms (cumulative buckets, le="+Inf" equal
 * to _count, _sum), the exact text of a small registry with its HELP and
 * TYPE lines, escaping of label values (backslash, double quote, newline)
 * and of HELP text (backslash, newline), registering a name twice, and
 * metric_series handing back the same series for the same values.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/metrics.h"

static char *
render(struct metrics *m)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(metrics_render(m, &b), 0);
	return buf_detach(&b, NULL);
}

/* The value on the line that starts with `sample` followed by a space. */
static double
sample_value(const char *text, const char *sample)
{
	size_t n = strlen(sample);
	const char *p = text;

	for (;;) {
		if (strncmp(p, sample, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
	fail_msg("no sample '%s' in:\n%s", sample, text);
	return 0;
}

static void
test_counter(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c, *u;
	struct metric_series *get, *put, *plain;

	(void)state;
	c = metrics_counter(m, "t_requests_total", "Requests.", "op");
	get = metric_series(c, "get");
	put = metric_series(c, "put");
	assert_ptr_not_equal(get, put);
	assert_true(metric_value(get) == 0);
	metric_add(get, 1);
	metric_add(get, 2);
	metric_add(put, 0.5);
	assert_true(metric_value(get) == 3);
	assert_true(metric_value(put) == 0.5);

	u = metrics_counter(m, "t_plain_total", "No labels.", NULL);
	plain = metric_series(u);
	metric_add(plain, 7);
	assert_ptr_equal(metric_series(u), plain);
	assert_true(metric_value(plain) == 7);
	metrics_free(m);
}

static void
test_gauge(void **state)
{
	struct metrics *m = metrics_new();
	struct metric_series *s;
	char *text;

	(void)state;
	s = metric_series(metrics_gauge(m, "t_inflight", "In flight.", NULL));
	metric_set(s, 5);
	metric_add(s, -2);
	assert_true(metric_value(s) == 3);
	metric_set(s, -1.5);
	assert_true(metric_value(s) == -1.5);
	text = render(m);
	assert_string_equal(text,
	    "# HELP t_inflight In flight.\n"
	    "# TYPE t_inflight gauge\n"
	    "t_inflight -1.5\n");
	free(text);
	metrics_free(m);
}

static void
test_render_exact(void **state)
{
	static const double bounds[] = { 0.125, 1, 10 };
	struct metrics *m = metrics_new();
	struct metric *c, *h;
	struct metric_series *s;
	char *text;

	(void)state;
	c = metrics_counter(m, "t_requests_total", "Requests.", "op");
	metric_add(metric_series(c, "get"), 3);
	metric_add(metric_series(c, "put"), 1);
	metric_add(metric_series(metrics_counter(m, "t_bytes_total",
	    "Bytes.", NULL)), 1024);
	metric_set(metric_series(metrics_gauge(m, "t_inflight", "In flight.",
	    NULL)), 2.5);
	metrics_gauge(m, "t_idle", "No series yet.", "op");
	h = metrics_histogram(m, "t_latency_seconds", "Latency.", "op,kind",
	    bounds, 3);
	s = metric_series(h, "read", "data");
	metric_observe(s, 0.0625);
	metric_observe(s, 0.125);	/* on a bound: counted in it */
	metric_observe(s, 0.5);
	metric_observe(s, 2);
	metric_observe(s, 100);
	assert_int_equal(metric_count(s), 5);
	assert_true(metric_value(s) == 102.6875);

	text = render(m);
	assert_string_equal(text,
	    "# HELP t_requests_total Requests.\n"
	    "# TYPE t_requests_total counter\n"
	    "t_requests_total{op=\"get\"} 3\n"
	    "t_requests_total{op=\"put\"} 1\n"
	    "# HELP t_bytes_total Bytes.\n"
	    "# TYPE t_bytes_total counter\n"
	    "t_bytes_total 1024\n"
	    "# HELP t_inflight In flight.\n"
	    "# TYPE t_inflight gauge\n"
	    "t_inflight 2.5\n"
	    "# HELP t_idle No series yet.\n"
	    "# TYPE t_idle gauge\n"
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{op=\"read\",kind=\"data\",le=\"0.125\"} 2\n"
	    "t_latency_seconds_bucket{op=\"read\",kind=\"data\",le=\"1\"} 3\n"
	    "t_latency_seconds_bucket{op=\"read\",kind=\"data\",le=\"10\"} 4\n"
	    "t_latency_seconds_bucket{op=\"read\",kind=\"data\",le=\"+Inf\"} 5\n"
	    "t_latency_seconds_sum{op=\"read\",kind=\"data\"} 102.6875\n"
	    "t_latency_seconds_count{op=\"read\",kind=\"data\"} 5\n");
	free(text);
	metrics_free(m);
}

static void
test_histogram_cumulative(void **state)
{
	struct metrics *m = metrics_new();
	struct metric_series *s;
	char name[128], *text;
	double prev = 0, v, sum = 0;
	size_t i;
	int n = 0;

	(void)state;
	s = metric_series(metrics_histogram(m, "t_dur_seconds", "Durations.",
	    NULL, metrics_latency_bounds, metrics_latency_nbounds));
	for (i = 0; i < 1000; i++) {
		v = (double)(i % 97) * 0.375;	/* 0 .. 36, exact in binary */
		metric_observe(s, v);
		sum += v;
		n++;
	}
	text = render(m);
	assert_non_null(strstr(text, "# HELP t_dur_seconds Durations.\n"));
	assert_non_null(strstr(text, "# TYPE t_dur_seconds histogram\n"));
	for (i = 0; i < metrics_latency_nbounds; i++) {
		size_t below = 0;

		snprintf(name, sizeof(name), "t_dur_seconds_bucket{le=\"%g\"}",
		    metrics_latency_bounds[i]);
		v = sample_value(text, name);
		assert_true(v >= prev);
		for (size_t j = 0; j < 1000; j++)
			below += (double)(j % 97) * 0.375 <= metrics_latency_bounds[i];
		assert_true(v == (double)below);
		prev = v;
	}
	v = sample_value(text, "t_dur_seconds_bucket{le=\"+Inf\"}");
	assert_true(v >= prev);
	assert_true(v == n);
	assert_true(sample_value(text, "t_dur_seconds_count") == v);
	assert_true(sample_value(text, "t_dur_seconds_sum") == sum);
	assert_int_equal(metric_count(s), (uint64_t)n);
	free(text);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c;
	char *text;

	(void)state;
	c = metrics_counter(m, "t_esc_total", "back\\slash \"quoted\"\nnext line",
	    "path");
	metric_add(metric_series(c, "a\\b\"c\nd"), 1);
	text = render(m);
	assert_string_equal(text,
	    "# HELP t_esc_total back\\\\slash \"quoted\"\\nnext line\n"
	    "# TYPE t_esc_total counter\n"
	    "t_esc_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
	free(text);
	metrics_free(m);
}

static void
test_register_twice(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *a, *b, *h1, *h2;
	struct metric_series *s1, *s2;
	static const double bounds[] = { 1, 2 };
	char *text;

	(void)state;
	a = metrics_counter(m, "t_twice_total", "First.", "op,kind");
	b = metrics_counter(m, "t_twice_total", "Second.", "op,kind");
	assert_ptr_equal(a, b);
	h1 = metrics_histogram(m, "t_h", "H.", NULL, bounds, 2);
	h2 = metrics_histogram(m, "t_h", "H.", NULL, bounds, 2);
	assert_ptr_equal(h1, h2);

	s1 = metric_series(a, "get", "x");
	s2 = metric_series(b, "get", "x");
	assert_ptr_equal(s1, s2);
	assert_ptr_not_equal(metric_series(a, "get", "y"), s1);
	assert_ptr_not_equal(metric_series(a, "x", "get"), s1);
	metric_add(s1, 1);
	metric_add(s2, 1);

	{
		const char *const v[] = { "get", "x" };

		assert_ptr_equal(metric_seriesv(a, v), s1);
	}

	/* One family, one series, in the output: the first help wins. */
	text = render(m);
	assert_string_equal(text,
	    "# HELP t_twice_total First.\n"
	    "# TYPE t_twice_total counter\n"
	    "t_twice_total{op=\"get\",kind=\"x\"} 2\n"
	    "t_twice_total{op=\"get\",kind=\"y\"} 0\n"
	    "t_twice_total{op=\"x\",kind=\"get\"} 0\n"
	    "# HELP t_h H.\n"
	    "# TYPE t_h histogram\n");
	free(text);
	metrics_free(m);
}

static void
test_private_registries(void **state)
{
	struct metrics *m1 = metrics_new(), *m2 = metrics_new();
	char *t1, *t2;

	(void)state;
	assert_ptr_not_equal(m1, m2);
	assert_ptr_not_equal(m1, metrics_global());
	assert_ptr_equal(metrics_global(), metrics_global());
	metric_add(metric_series(metrics_counter(m1, "t_only_one_total", "X.",
	    NULL)), 1);
	t1 = render(m1);
	t2 = render(m2);
	assert_non_null(strstr(t1, "t_only_one_total 1\n"));
	assert_string_equal(t2, "");
	free(t1);
	free(t2);
	metrics_free(m1);
	metrics_free(m2);
	metrics_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_gauge),
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_register_twice),
		cmocka_unit_test(test_private_registries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
