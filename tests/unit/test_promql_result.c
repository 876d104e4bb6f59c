/*
 * test_promql_result.c - a query's answer written out (promql.h,
 * promql_result.c) from hand-made results: the JSON of Prometheus's
 * /api/v1/query byte for byte (timestamps as seconds and three digits,
 * values 'f' or 'e' as Prometheus's encoder picks, NaN and infinities,
 * scalars and strings through Go's own float, label escaping apart from
 * string escaping, an empty matrix series), the text and CSV forms; and
 * jsonw.h's strings and numbers.
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
#include "query/promql.h"
#include "util/buf.h"
#include "util/jsonw.h"

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

static void
release(struct promql_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		labels_free(r->series[i].ls);
		free(r->series[i].pts);
	}
	free(r->series);
	memset(r, 0, sizeof(*r));
}

static void
add(struct promql_result *r, struct labels *ls, size_t n, ...)
{
	struct promql_series *s;
	va_list ap;

	r->series = realloc(r->series, (r->n + 1) * sizeof(*r->series));
	s = &r->series[r->n++];
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

typedef int (*writer)(const struct promql_result *, struct buf *);

static void
check(writer w, const struct promql_result *r, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(w(r, &b), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void
test_vector(void **state)
{
	struct promql_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = PROMQL_TYPE_VECTOR;
	r.t = 1700000000500;
	check(promql_result_json, &r,
	    "{\"resultType\":\"vector\",\"result\":[]}");
	check(promql_result_text, &r, "");
	check(promql_result_csv, &r, "time,series,value\n");
	add(&r, mk("__name__", "up", "job", "a<b&\"c\"\\\n\xc3\xa9"), 1,
	    (int64_t)1700000000500, 1.0);
	add(&r, mk("code", "200", NULL, NULL), 1, (int64_t)1700000000500,
	    1e-7);
	add(&r, mk(NULL, NULL, NULL, NULL), 1, (int64_t)1700000000500, 1e21);
	add(&r, mk("__name__", "x", NULL, NULL), 1, (int64_t)1700000000500,
	    (double)NAN);
	add(&r, mk("__name__", "y", NULL, NULL), 1, (int64_t)1700000000500,
	    -(double)INFINITY);
	add(&r, mk("__name__", "z", NULL, NULL), 1, (int64_t)1700000000500,
	    123456789.25);
	check(promql_result_json, &r,
	    "{\"resultType\":\"vector\",\"result\":["
	    "{\"metric\":{\"__name__\":\"up\",\"job\":\"a<b&\\\"c\\\"\\\\\\n"
	    "\xc3\xa9\"},\"value\":[1700000000.500,\"1\"]},"
	    "{\"metric\":{\"code\":\"200\"},\"value\":[1700000000.500,"
	    "\"1e-07\"]},"
	    "{\"metric\":{},\"value\":[1700000000.500,\"1e+21\"]},"
	    "{\"metric\":{\"__name__\":\"x\"},\"value\":[1700000000.500,"
	    "\"NaN\"]},"
	    "{\"metric\":{\"__name__\":\"y\"},\"value\":[1700000000.500,"
	    "\"-Inf\"]},"
	    "{\"metric\":{\"__name__\":\"z\"},\"value\":[1700000000.500,"
	    "\"123456789.25\"]}]}");
	check(promql_result_text, &r,
	    "up{job=\"a<b&\\\"c\\\"\\\\\\n\xc3\xa9\"} 1\n"
	    "{code=\"200\"} 0.0000001\n"
	    "{} 1000000000000000000000\n"
	    "x NaN\n"
	    "y -Inf\n"
	    "z 123456789.25\n");
	check(promql_result_csv, &r,
	    "time,series,value\n"
	    "1700000000.500,\"up{job=\"\"a<b&\\\"\"c\\\"\"\\\\\\n\xc3\xa9\"\"}\",1\n"
	    "1700000000.500,\"{code=\"\"200\"\"}\",0.0000001\n"
	    "1700000000.500,{},1000000000000000000000\n"
	    "1700000000.500,x,NaN\n"
	    "1700000000.500,y,-Inf\n"
	    "1700000000.500,z,123456789.25\n");
	release(&r);
}

static void
test_matrix(void **state)
{
	struct promql_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = PROMQL_TYPE_MATRIX;
	add(&r, mk("__name__", "a", "i", "1"), 3, (int64_t)0, 0.5,
	    (int64_t)1005, -0.0, (int64_t)-1050, 2.0);
	add(&r, mk("__name__", "b", NULL, NULL), 0);
	add(&r, mk("__name__", "c", NULL, NULL), 1, (int64_t)60000,
	    (double)INFINITY);
	check(promql_result_json, &r,
	    "{\"resultType\":\"matrix\",\"result\":["
	    "{\"metric\":{\"__name__\":\"a\",\"i\":\"1\"},\"values\":"
	    "[[0,\"0.5\"],[1.005,\"-0\"],[-1.050,\"2\"]]},"
	    "{\"metric\":{\"__name__\":\"b\"}},"
	    "{\"metric\":{\"__name__\":\"c\"},\"values\":[[60,\"+Inf\"]]}]}");
	check(promql_result_text, &r,
	    "a{i=\"1\"} 0.5 0\n"
	    "a{i=\"1\"} -0 1.005\n"
	    "a{i=\"1\"} 2 -1.050\n"
	    "c +Inf 60\n");
	check(promql_result_csv, &r,
	    "time,series,value\n"
	    "0,\"a{i=\"\"1\"\"}\",0.5\n"
	    "1.005,\"a{i=\"\"1\"\"}\",-0\n"
	    "-1.050,\"a{i=\"\"1\"\"}\",2\n"
	    "60,c,+Inf\n");
	release(&r);
}

static void
test_scalar_string(void **state)
{
	struct promql_result r;
	char str[] = "a<b, \"c\"\n";

	(void)state;
	memset(&r, 0, sizeof(r));
	r.type = PROMQL_TYPE_SCALAR;
	r.t = 1700000000500;
	r.scalar = 1e-7;
	/* Go's float64 seconds, and 'f' for the value */
	check(promql_result_json, &r,
	    "{\"resultType\":\"scalar\",\"result\":[1700000000.5,"
	    "\"0.0000001\"]}");
	check(promql_result_text, &r, "0.0000001\n");
	check(promql_result_csv, &r,
	    "time,series,value\n1700000000.500,,0.0000001\n");
	r.t = 0;
	r.scalar = 2;
	check(promql_result_json, &r,
	    "{\"resultType\":\"scalar\",\"result\":[0,\"2\"]}");
	r.t = 1001;
	check(promql_result_json, &r,
	    "{\"resultType\":\"scalar\",\"result\":[1.001,\"2\"]}");
	r.type = PROMQL_TYPE_STRING;
	r.str = str;
	check(promql_result_json, &r,
	    "{\"resultType\":\"string\",\"result\":[1.001,"
	    "\"a\\u003cb, \\\"c\\\"\\n\"]}");
	check(promql_result_text, &r, "a<b, \"c\"\n\n");
	check(promql_result_csv, &r,
	    "time,series,value\n1.001,,\"a<b, \"\"c\"\"\n\"\n");
}

static void
test_json(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	jw_string(&b, "<a&b>\t\x01\xff\xe2\x80\xa8", 11);
	assert_string_equal(buf_str(&b),
	    "\"\\u003ca\\u0026b\\u003e\\t\\u0001\\ufffd\\u2028\"");
	buf_reset(&b);
	jw_string_raw(&b, "<a&b>\t\x01\xff", 8);
	assert_string_equal(buf_str(&b), "\"<a&b>\\t\\u0001\xff\"");
	buf_reset(&b);
	jw_float(&b, 0.000123);
	buf_putc(&b, ' ');
	jw_float(&b, 5e-7);
	buf_putc(&b, ' ');
	jw_float(&b, 1e21);
	buf_putc(&b, ' ');
	jw_float(&b, 0);
	buf_putc(&b, ' ');
	jw_float(&b, 1e-100);
	assert_string_equal(buf_str(&b), "0.000123 5e-7 1e+21 0 1e-100");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_scalar_string),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
