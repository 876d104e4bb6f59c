/*
 * test_fault.c - the fault: layer, and the retrying layer above it.
 *
 * Every store is a fault: layer over a file:// store in a fresh temporary
 * directory, opened through objstore_open() like any other.
 *
 * Raw fault layer (retries off): nth=N fails exactly the Nth call with the
 * chosen error (eio, timeout, reset, 503, 500) and an "injected" detail;
 * the same seed gives the same failures at rate=0.3, another seed others;
 * when=after lets a put land before failing it, when=before does not; a
 * failed get leaves the caller's buffer as it was; short=1 cuts gets short;
 * ops= limits the faults to the operations named; bad options are refused.
 *
 * With retries: 503s at rate=0.5 are retried until puts and gets succeed
 * with the right contents; eio is not retried; put_if_absent whose first
 * attempt landed but failed reports SHALE_EUNKNOWN, and -EEXIST on a key
 * that exists; objstore_retries_total counts the retries.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/objstore/objstore.h"
#include "engine/objstore/objstore_int.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/metrics.h"

enum { RETRIES_OFF, RETRIES_ON };

/* Per test: a temporary directory, removed afterwards. */
struct fixture {
	char	dir[160];
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (scratch_make(fx->dir, sizeof(fx->dir), "fault") != 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	int rc;

	rc = scratch_remove(fx->dir);
	free(fx);
	return rc;
}

static void
init_opts(struct objstore_opts *o, int retries, struct metrics *m)
{
	memset(o, 0, sizeof(*o));
	o->no_fsync = 1;
	o->metrics = m;
	if (retries == RETRIES_OFF)
		o->max_retries = -1;
	else {
		o->retry_base_ms = 1;
		o->retry_max_ms = 2;
	}
}

/* Open "fault:SPEC:file://DIR"; the registry `m` may be NULL. */
static struct objstore *
open_fault(const struct fixture *fx, const char *spec, int retries,
    struct metrics *m)
{
	struct objstore_opts o;
	struct objstore *os;
	char uri[256];
	int rc;

	init_opts(&o, retries, m);
	snprintf(uri, sizeof(uri), "fault:%s:file://%s", spec, fx->dir);
	if ((rc = objstore_open(uri, &o, &os)) != 0)
		fail_msg("cannot open '%s': %d (%s)", uri, rc, err_detail());
	assert_string_equal(objstore_uri(os), uri);
	return os;
}

/* A store over the same directory, without faults. */
static struct objstore *
open_clean(const struct fixture *fx)
{
	struct objstore_opts o;
	struct objstore *os;
	char uri[256];
	int rc;

	init_opts(&o, RETRIES_OFF, NULL);
	snprintf(uri, sizeof(uri), "file://%s", fx->dir);
	if ((rc = objstore_open(uri, &o, &os)) != 0)
		fail_msg("cannot open '%s': %d (%s)", uri, rc, err_detail());
	return os;
}

/* Expect `key` to hold exactly `want` (or to be missing when NULL). */
static void
expect_object(struct objstore *os, const char *key, const char *want)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = objstore_get(os, key, 0, OBJSTORE_TO_END, &b);
	if (want == NULL)
		assert_int_equal(rc, -ENOENT);
	else {
		if (rc != 0)
			fail_msg("get '%s': %d (%s)", key, rc, err_detail());
		assert_int_equal(b.len, strlen(want));
		assert_string_equal(buf_str(&b), want);
	}
	buf_release(&b);
}

static int
put_str(struct objstore *os, const char *key, const char *s)
{
	err_clear();
	return objstore_put(os, key, s, strlen(s));
}

static void
expect_injected(int rc, int want)
{
	assert_int_equal(rc, want);
	if (strstr(err_detail(), "injected") == NULL)
		fail_msg("detail does not say injected: '%s'", err_detail());
}

/* The value of the sample `name` in rendered text, or -1 if absent. */
static double
sample_value(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	for (;;) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if ((p = strchr(p, '\n')) == NULL)
			return -1;
		p++;
	}
}

static double
retries_of(struct metrics *m, const char *op)
{
	char name[128], *text;
	struct buf b;
	double v;

	buf_init(&b, 0);
	assert_int_equal(metrics_render(m, &b), 0);
	text = buf_detach(&b, NULL);
	snprintf(name, sizeof(name), "objstore_retries_total{op=\"%s\"}", op);
	if ((v = sample_value(text, name)) < 0)
		fail_msg("no '%s' in:\n%s", name, text);
	free(text);
	return v;
}

/* ---- the raw fault layer ---- */

static void
test_nth(void **state)
{
	static const struct {
		const char	*errors;
		int		 rc;
	} cases[] = {
		{ "eio",	-EIO },
		{ "timeout",	-ETIMEDOUT },
		{ "reset",	-ECONNRESET },
		{ "503",	SHALE_ETRANSIENT },
		{ "500",	SHALE_ETRANSIENT },
	};
	struct fixture *fx = *state;
	struct objstore *os;
	char spec[64], key[32];
	int i, rc;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		snprintf(spec, sizeof(spec), "nth=3,errors=%s", cases[c].errors);
		os = open_fault(fx, spec, RETRIES_OFF, NULL);
		for (i = 1; i <= 10; i++) {
			snprintf(key, sizeof(key), "%s/%d", cases[c].errors, i);
			rc = put_str(os, key, "x");
			if (i == 3)
				expect_injected(rc, cases[c].rc);
			else if (rc != 0)
				fail_msg("%s: call %d: %d (%s)", spec, i, rc,
				    err_detail());
		}
		objstore_close(os);
	}

	/* Calls of every kind count towards nth. */
	os = open_fault(fx, "nth=2,when=before,errors=eio", RETRIES_OFF,
	    NULL);
	assert_int_equal(put_str(os, "k", "v"), 0);
	expect_injected(objstore_delete(os, "k"), -EIO);
	expect_object(os, "k", "v");
	objstore_close(os);
}

/* Which of 200 puts fail at rate=0.3 with this seed; returns the count. */
static int
failures(const struct fixture *fx, unsigned seed, char *out)
{
	struct objstore *os;
	char spec[64], key[32];
	int n = 0, rc;

	snprintf(spec, sizeof(spec), "rate=0.3,seed=%u", seed);
	os = open_fault(fx, spec, RETRIES_OFF, NULL);
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "seq/%d", i);
		rc = put_str(os, key, "v");
		if (rc != 0)
			expect_injected(rc, SHALE_ETRANSIENT);
		out[i] = rc != 0;
		n += out[i];
	}
	objstore_close(os);
	return n;
}

static void
test_seed(void **state)
{
	struct fixture *fx = *state;
	char a[200], b[200], c[200];
	int na, nb, nc;

	na = failures(fx, 3, a);
	nb = failures(fx, 3, b);
	nc = failures(fx, 4, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(na, nb);
	assert_memory_not_equal(a, c, sizeof(a));
	/* About 60 of 200; far outside that the rate is not applied. */
	assert_in_range(na, 25, 100);
	assert_in_range(nc, 25, 100);
}

static void
test_when(void **state)
{
	struct fixture *fx = *state;
	struct objstore *os, *clean;

	clean = open_clean(fx);

	/* after: the put lands, then its response is lost. */
	os = open_fault(fx, "nth=1,when=after,errors=eio", RETRIES_OFF, NULL);
	expect_injected(put_str(os, "after", "landed"), -EIO);
	expect_object(clean, "after", "landed");
	objstore_close(os);

	/* before: the put never reaches the store. */
	os = open_fault(fx, "nth=1,when=before,errors=eio", RETRIES_OFF, NULL);
	expect_injected(put_str(os, "before", "lost"), -EIO);
	expect_object(clean, "before", NULL);
	objstore_close(os);

	/* A delete that fails after taking effect. */
	assert_int_equal(put_str(clean, "gone", "x"), 0);
	os = open_fault(fx, "nth=1,when=after,errors=timeout", RETRIES_OFF, NULL);
	expect_injected(objstore_delete(os, "gone"), -ETIMEDOUT);
	expect_object(clean, "gone", NULL);
	objstore_close(os);

	objstore_close(clean);
}

static void
test_get_failure_keeps_buffer(void **state)
{
	struct fixture *fx = *state;
	struct objstore *os, *clean;
	const char *when[] = { "after", "before" };
	char spec[64];
	struct buf b;

	clean = open_clean(fx);
	assert_int_equal(put_str(clean, "obj", "0123456789"), 0);
	for (size_t i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "nth=1,when=%s,errors=eio", when[i]);
		os = open_fault(fx, spec, RETRIES_OFF, NULL);
		buf_init(&b, 0);
		buf_puts(&b, "keep");
		err_clear();
		expect_injected(objstore_get(os, "obj", 0, OBJSTORE_TO_END, &b),
		    -EIO);
		assert_int_equal(b.len, 4);
		assert_string_equal(buf_str(&b), "keep");
		/* The next call is not faulted. */
		assert_int_equal(objstore_get(os, "obj", 0, OBJSTORE_TO_END, &b), 0);
		assert_string_equal(buf_str(&b), "keep0123456789");
		buf_release(&b);
		objstore_close(os);
	}
	objstore_close(clean);
}

static void
test_short(void **state)
{
	struct fixture *fx = *state;
	struct objstore *os, *clean;
	char data[1000];
	struct buf b;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	clean = open_clean(fx);
	assert_int_equal(objstore_put(clean, "big", data, sizeof(data)), 0);
	objstore_close(clean);

	os = open_fault(fx, "short=1", RETRIES_OFF, NULL);
	for (int i = 0; i < 20; i++) {
		buf_init(&b, 0);
		assert_int_equal(objstore_get(os, "big", 0, OBJSTORE_TO_END, &b), 0);
		assert_true(b.len < sizeof(data));
		assert_memory_equal(b.data ? b.data : "", data, b.len);
		assert_int_equal(buf_str(&b)[b.len], '\0');
		buf_release(&b);
	}
	/* Puts are not cut. */
	assert_int_equal(objstore_put(os, "big2", data, sizeof(data)), 0);
	objstore_close(os);

	clean = open_clean(fx);
	buf_init(&b, 0);
	assert_int_equal(objstore_get(clean, "big2", 0, OBJSTORE_TO_END, &b), 0);
	assert_int_equal(b.len, sizeof(data));
	assert_memory_equal(b.data, data, sizeof(data));
	buf_release(&b);
	objstore_close(clean);
}

static void
test_ops(void **state)
{
	struct fixture *fx = *state;
	struct objstore *os;
	struct objstore_meta meta;
	struct objstore_list l;
	const char *keys[] = { "b1", "b2" };
	struct buf b;

	os = open_fault(fx, "rate=1,ops=get", RETRIES_OFF, NULL);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(put_str(os, "k", "v"), 0);
		assert_int_equal(objstore_put_if_absent(os, "new", "v", 1),
		    i == 0 ? 0 : -EEXIST);
		assert_int_equal(objstore_head(os, "k", &meta), 0);
		assert_int_equal(meta.size, 1);
		memset(&l, 0, sizeof(l));
		assert_int_equal(objstore_list(os, "", NULL, 0, &l), 0);
		assert_int_equal(l.n, 2);
		objstore_list_release(&l);
		buf_init(&b, 0);
		err_clear();
		expect_injected(objstore_get(os, "k", 0, OBJSTORE_TO_END, &b),
		    SHALE_ETRANSIENT);
		assert_int_equal(b.len, 0);
		buf_release(&b);
	}
	assert_int_equal(put_str(os, "b1", "x"), 0);
	assert_int_equal(put_str(os, "b2", "x"), 0);
	assert_int_equal(objstore_delete_batch(os, keys, 2), 0);
	assert_int_equal(objstore_delete(os, "k"), 0);
	objstore_close(os);

	/* Several operations, several errors. */
	os = open_fault(fx, "rate=1,ops=put+delete,errors=eio+reset,when=before",
	    RETRIES_OFF, NULL);
	for (int i = 0; i < 20; i++) {
		int rc = put_str(os, "k", "v");

		assert_true(rc == -EIO || rc == -ECONNRESET);
		rc = objstore_delete(os, "new");
		assert_true(rc == -EIO || rc == -ECONNRESET);
		assert_int_equal(objstore_head(os, "new", &meta), 0);
	}
	objstore_close(os);
}

static void
test_bad_spec(void **state)
{
	static const char *bad[] = {
		"rate=2", "rate=-0.1", "rate=x", "nth=0", "errors=404",
		"errors=", "ops=rename", "when=later", "bogus=1", "rate",
		"short=1.5",
	};
	struct fixture *fx = *state;
	struct objstore_opts o;
	struct objstore *os;
	char uri[256];
	int rc;

	init_opts(&o, RETRIES_OFF, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(uri, sizeof(uri), "fault:%s:file://%s", bad[i], fx->dir);
		err_clear();
		rc = objstore_open(uri, &o, &os);
		if (rc != SHALE_EURI)
			fail_msg("'%s': expected SHALE_EURI, got %d", uri, rc);
		assert_null(os);
		assert_true(err_detail()[0] != '\0');
	}
}

/* ---- with the retrying layer ---- */

static void
test_retry_transient(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = metrics_new();
	struct objstore *os, *clean;
	struct objstore_opts o;
	char key[32], val[64], uri[256];
	struct buf b;
	int rc;

	/*
	 * Half the calls fail: with the default 8 retries, one call in 512
	 * would still fail. Allow more so that no seed makes this flaky.
	 */
	init_opts(&o, RETRIES_ON, m);
	o.max_retries = 30;
	snprintf(uri, sizeof(uri), "fault:rate=0.5,errors=503:file://%s", fx->dir);
	if ((rc = objstore_open(uri, &o, &os)) != 0)
		fail_msg("cannot open '%s': %d (%s)", uri, rc, err_detail());

	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "r/%03d", i);
		snprintf(val, sizeof(val), "value of %d", i);
		if ((rc = put_str(os, key, val)) != 0)
			fail_msg("put '%s': %d (%s)", key, rc, err_detail());
	}
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "r/%03d", i);
		snprintf(val, sizeof(val), "value of %d", i);
		buf_init(&b, 0);
		if ((rc = objstore_get(os, key, 0, OBJSTORE_TO_END, &b)) != 0)
			fail_msg("get '%s': %d (%s)", key, rc, err_detail());
		assert_string_equal(buf_str(&b), val);
		buf_release(&b);
	}
	assert_true(retries_of(m, "put") > 0);
	assert_true(retries_of(m, "get") > 0);
	objstore_close(os);

	clean = open_clean(fx);
	expect_object(clean, "r/000", "value of 0");
	expect_object(clean, "r/199", "value of 199");
	objstore_close(clean);
	metrics_free(m);
}

static void
test_retry_permanent(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = metrics_new();
	struct objstore *os, *clean;

	os = open_fault(fx, "nth=1,when=before,errors=eio", RETRIES_ON, m);
	expect_injected(put_str(os, "k", "v"), -EIO);
	assert_true(retries_of(m, "put") == 0);
	objstore_close(os);
	clean = open_clean(fx);
	expect_object(clean, "k", NULL);
	objstore_close(clean);
	metrics_free(m);
}

static void
test_retry_counter(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = metrics_new();
	struct objstore *os;
	char *text;
	struct buf b;

	os = open_fault(fx, "nth=1,errors=503", RETRIES_ON, m);
	assert_int_equal(put_str(os, "k", "v"), 0);
	expect_object(os, "k", "v");
	objstore_close(os);

	buf_init(&b, 0);
	assert_int_equal(metrics_render(m, &b), 0);
	text = buf_detach(&b, NULL);
	assert_non_null(strstr(text, "# TYPE objstore_retries_total counter\n"));
	assert_non_null(strstr(text, "\nobjstore_retries_total{op=\"put\"} 1\n"));
	assert_non_null(strstr(text, "\nobjstore_retries_total{op=\"get\"} 0\n"));
	/* The counting layer sees one call, not two attempts. */
	assert_non_null(strstr(text, "\nobjstore_requests_total{op=\"put\"} 1\n"));
	free(text);
	metrics_free(m);
}

static void
test_put_if_absent_unknown(void **state)
{
	struct fixture *fx = *state;
	struct metrics *m = metrics_new();
	struct objstore *os, *clean;

	/* The first attempt lands and fails: the retry finds the key. */
	os = open_fault(fx, "nth=1,when=after,errors=500", RETRIES_ON, m);
	err_clear();
	assert_int_equal(objstore_put_if_absent(os, "fresh", "one", 3),
	    SHALE_EUNKNOWN);
	assert_true(err_detail()[0] != '\0');
	assert_true(retries_of(m, "put_if_absent") == 1);
	objstore_close(os);

	clean = open_clean(fx);
	expect_object(clean, "fresh", "one");
	objstore_close(clean);

	/* Without faults an existing key is simply -EEXIST. */
	os = open_fault(fx, "rate=0", RETRIES_ON, m);
	assert_int_equal(objstore_put_if_absent(os, "fresh", "two", 3), -EEXIST);
	assert_int_equal(objstore_put_if_absent(os, "other", "two", 3), 0);
	objstore_close(os);
	clean = open_clean(fx);
	assert_int_equal(objstore_put_if_absent(clean, "fresh", "three", 5),
	    -EEXIST);
	expect_object(clean, "fresh", "one");
	expect_object(clean, "other", "two");
	objstore_close(clean);

	/* Failing before the store is reached: retried and created. */
	os = open_fault(fx, "nth=1,when=before,errors=503", RETRIES_ON, m);
	assert_int_equal(objstore_put_if_absent(os, "third", "3", 1), 0);
	expect_object(os, "third", "3");
	objstore_close(os);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_when, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_failure_keeps_buffer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_transient, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_permanent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_counter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_put_if_absent_unknown, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
