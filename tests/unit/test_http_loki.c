/*
 * test_http_loki.c - the parameters of Loki's query API (http_loki.c) as
 * Loki reads them: times in nanoseconds, in seconds up to ten digits, in
 * float seconds rounded to the millisecond, in RFC 3339 with nine digits
 * of fraction and an offset, and the errors Go's strconv words; steps as
 * float seconds or Prometheus durations; the stream selectors found in
 * LogQL text, braces inside strings left alone.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "util/buf.h"

static int64_t
time_ok(const char *v)
{
	struct buf msg;
	int64_t ns = 0;

	buf_init(&msg, 0);
	assert_int_equal(http_loki_time(v, -1, &ns, &msg), 0);
	buf_release(&msg);
	return ns;
}

static void
time_bad(const char *v, const char *want)
{
	struct buf msg;
	int64_t ns = 0;

	buf_init(&msg, 0);
	assert_int_equal(http_loki_time(v, -1, &ns, &msg), -EINVAL);
	assert_string_equal(buf_str(&msg), want);
	buf_release(&msg);
}

static void
test_time(void **state)
{
	(void)state;
	assert_int_equal(time_ok(NULL), -1);
	/* ten characters or fewer: seconds; more: nanoseconds */
	assert_int_equal(time_ok("1700000000"), 1700000000000000000LL);
	assert_int_equal(time_ok("0"), 0);
	assert_int_equal(time_ok("-5"), -5000000000LL);
	assert_int_equal(time_ok("17000000001"), 17000000001LL);
	assert_int_equal(time_ok("1700000000123456789"),
	    1700000000123456789LL);
	/* float seconds, the fraction rounded to the millisecond */
	assert_int_equal(time_ok("1700000000.5"), 1700000000500000000LL);
	assert_int_equal(time_ok("1700000000.1236"), 1700000000124000000LL);
	/* RFC 3339 */
	assert_int_equal(time_ok("2023-11-14T22:13:20Z"),
	    1700000000000000000LL);
	assert_int_equal(time_ok("2023-11-14T22:13:20.123456789Z"),
	    1700000000123456789LL);
	assert_int_equal(time_ok("2023-11-15T00:13:20.5+02:00"),
	    1700000000500000000LL);
	assert_int_equal(time_ok("1969-12-31T23:59:59Z"), -1000000000LL);
	time_bad("soon", "strconv.ParseInt: parsing \"soon\": invalid syntax");
	time_bad("99999999999999999999",
	    "strconv.ParseInt: parsing \"99999999999999999999\": value out of "
	    "range");
	time_bad("2023-02-29T00:00:00Z", "strconv.ParseInt: parsing "
	    "\"2023-02-29T00:00:00Z\": invalid syntax");
	time_bad("2023-11-14 22:13:20Z", "strconv.ParseInt: parsing "
	    "\"2023-11-14 22:13:20Z\": invalid syntax");
	time_bad("a\"b", "strconv.ParseInt: parsing \"a\\\"b\": invalid syntax");
}

static int64_t
dur_ok(const char *v)
{
	struct buf msg;
	int64_t ns = 0;

	buf_init(&msg, 0);
	assert_int_equal(http_loki_duration(v, &ns, &msg), 0);
	buf_release(&msg);
	return ns;
}

static void
test_duration(void **state)
{
	struct buf msg;
	int64_t ns;

	(void)state;
	assert_int_equal(dur_ok("15"), 15000000000LL);
	assert_int_equal(dur_ok("0.5"), 500000000LL);
	assert_int_equal(dur_ok("100ms"), 100000000LL);
	assert_int_equal(dur_ok("1m30s"), 90000000000LL);
	assert_int_equal(dur_ok("0"), 0);
	assert_int_equal(dur_ok("-1"), -1000000000LL);
	buf_init(&msg, 0);
	assert_int_equal(http_loki_duration("1x", &ns, &msg), -EINVAL);
	assert_string_equal(buf_str(&msg),
	    "cannot parse \"1x\" to a valid duration");
	buf_reset(&msg);
	assert_int_equal(http_loki_duration("1e300", &ns, &msg), -EINVAL);
	assert_string_equal(buf_str(&msg), "cannot parse \"1e300\" to a valid "
	    "duration. It overflows int64");
	buf_release(&msg);
}

static void
test_selectors(void **state)
{
	struct selector **v;
	struct labels *ls;
	struct label l[2];
	size_t n;

	(void)state;
	assert_int_equal(http_loki_selectors("sum by (level) (count_over_time("
	    "{app=\"a\", env=~\"p.*\"} | line_format \"{{.x}}\" |= `}{` [1m]))"
	    " / count_over_time({app=\"b\"}[1m])", &v, &n), 0);
	assert_int_equal(n, 2);
	l[0] = label_str("app", "a");
	l[1] = label_str("env", "prod");
	assert_int_equal(labels_new(l, 2, 0, &ls), 0);
	assert_int_equal(selector_matches(v[0], ls), 1);
	assert_int_equal(selector_matches(v[1], ls), 0);
	labels_free(ls);
	for (size_t i = 0; i < n; i++)
		selector_free(v[i]);
	free(v);
	assert_int_equal(http_loki_selectors("vector(1)+vector(1)", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(http_loki_selectors("{app=\"a}\"", &v, &n), -EINVAL);
	assert_int_equal(http_loki_selectors("{app=}", &v, &n), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_selectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
