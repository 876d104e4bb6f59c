/*
 * test_uri.c - store URIs (objstore_uri_parse) and key checks.
 *
 * Exercises: file:///abs, /abs and file://rel; s3://bucket with and without
 * a trailing slash and with one- and two-segment prefixes; invalid bucket
 * names (too short, too long, uppercase, underscore, leading or trailing
 * '-' or '.'); an empty segment in a prefix, leading or inside; unknown
 * schemes, whose detail names the scheme; the empty string; fault:OPTIONS:URI
 * split into spec and inner, nested, and without options; and
 * objstore_key_check at 0, 1024 and 1025 bytes.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/objstore/objstore.h"
#include "engine/objstore/objstore_int.h"
#include "util/error.h"

/* Parse `uri` and expect success. The caller releases `u`. */
static void
parse_ok(const char *uri, struct objstore_uri *u)
{
	int rc;

	err_clear();
	rc = objstore_uri_parse(uri, u);
	if (rc != 0)
		fail_msg("'%s': %d (%s)", uri, rc, err_detail());
}

/* Parse `uri`, expect SHALE_EURI and a detail; return the detail. */
static const char *
parse_bad(const char *uri)
{
	struct objstore_uri u;
	int rc;

	err_clear();
	rc = objstore_uri_parse(uri, &u);
	if (rc != SHALE_EURI) {
		objstore_uri_release(&u);
		fail_msg("'%s': expected SHALE_EURI, got %d", uri, rc);
	}
	/* A failed parse leaves nothing to release. */
	assert_null(u.path);
	assert_null(u.bucket);
	assert_null(u.prefix);
	assert_null(u.fault_spec);
	assert_null(u.inner);
	assert_true(err_detail()[0] != '\0');
	return err_detail();
}

static void
test_file(void **state)
{
	struct objstore_uri u;

	(void)state;
	parse_ok("file:///var/lib/shale", &u);
	assert_int_equal(u.scheme, OBJSTORE_FILE);
	assert_string_equal(u.path, "/var/lib/shale");
	assert_null(u.bucket);
	assert_null(u.inner);
	objstore_uri_release(&u);
	assert_null(u.path);

	parse_ok("/abs/dir", &u);
	assert_int_equal(u.scheme, OBJSTORE_FILE);
	assert_string_equal(u.path, "/abs/dir");
	objstore_uri_release(&u);

	parse_ok("file://rel/dir", &u);
	assert_int_equal(u.scheme, OBJSTORE_FILE);
	assert_string_equal(u.path, "rel/dir");
	objstore_uri_release(&u);

	parse_bad("file://");
}

static void
test_s3(void **state)
{
	struct objstore_uri u;

	(void)state;
	parse_ok("s3://bucket", &u);
	assert_int_equal(u.scheme, OBJSTORE_S3);
	assert_string_equal(u.bucket, "bucket");
	assert_string_equal(u.prefix, "");
	assert_null(u.path);
	objstore_uri_release(&u);

	parse_ok("s3://bucket/", &u);
	assert_string_equal(u.bucket, "bucket");
	assert_string_equal(u.prefix, "");
	objstore_uri_release(&u);

	parse_ok("s3://bucket/p", &u);
	assert_string_equal(u.bucket, "bucket");
	assert_string_equal(u.prefix, "p/");
	objstore_uri_release(&u);

	parse_ok("s3://bucket/a/b/", &u);
	assert_string_equal(u.bucket, "bucket");
	assert_string_equal(u.prefix, "a/b/");
	objstore_uri_release(&u);

	parse_ok("s3://my.bucket-1/a/b", &u);
	assert_string_equal(u.bucket, "my.bucket-1");
	assert_string_equal(u.prefix, "a/b/");
	objstore_uri_release(&u);

	/* 3 and 63 characters are the limits. */
	parse_ok("s3://abc", &u);
	assert_string_equal(u.bucket, "abc");
	objstore_uri_release(&u);
	parse_ok("s3://"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &u);
	assert_int_equal(strlen(u.bucket), 63);
	objstore_uri_release(&u);
}

static void
test_s3_bad_bucket(void **state)
{
	const char *d;

	(void)state;
	d = parse_bad("s3://ab");
	assert_non_null(strstr(d, "bucket"));
	parse_bad("s3://ab/x");
	parse_bad("s3://Bucket/x");
	parse_bad("s3://BUCKET");
	parse_bad("s3://my_bucket");
	parse_bad("s3://-bucket");
	parse_bad("s3://bucket-");
	parse_bad("s3://.bucket");
	parse_bad("s3://bucket.");
	parse_bad("s3://");
	parse_bad("s3:///x");
	parse_bad("s3://"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void
test_s3_empty_segment(void **state)
{
	(void)state;
	parse_bad("s3://bucket/a//b");
	parse_bad("s3://bucket/a//");
	/* An empty first segment is as empty as any other. */
	parse_bad("s3://bucket//x");
}

static void
test_unknown_scheme(void **state)
{
	const char *d;

	(void)state;
	d = parse_bad("gs://x");
	assert_non_null(strstr(d, "'gs'"));
	d = parse_bad("http://x");
	assert_non_null(strstr(d, "'http'"));
	d = parse_bad("");
	assert_non_null(strstr(d, "empty"));
	parse_bad("bucket/prefix");
	parse_bad("s3:bucket");
}

static void
test_fault(void **state)
{
	struct objstore_uri u, in;

	(void)state;
	parse_ok("fault:rate=0.2,seed=3:file:///tmp/x", &u);
	assert_int_equal(u.scheme, OBJSTORE_FAULT);
	assert_string_equal(u.fault_spec, "rate=0.2,seed=3");
	assert_string_equal(u.inner, "file:///tmp/x");
	assert_null(u.path);
	objstore_uri_release(&u);

	parse_ok("fault:nth=2:/abs/dir", &u);
	assert_string_equal(u.fault_spec, "nth=2");
	assert_string_equal(u.inner, "/abs/dir");
	objstore_uri_release(&u);

	parse_ok("fault:rate=0.05,ops=put+get:s3://bucket/p/", &u);
	assert_string_equal(u.fault_spec, "rate=0.05,ops=put+get");
	assert_string_equal(u.inner, "s3://bucket/p/");
	objstore_uri_release(&u);

	/* Nested: the outer spec ends at the first colon before a scheme. */
	parse_ok("fault:rate=0.1:fault:seed=2,when=after:file:///x", &u);
	assert_string_equal(u.fault_spec, "rate=0.1");
	assert_string_equal(u.inner, "fault:seed=2,when=after:file:///x");
	parse_ok(u.inner, &in);
	assert_int_equal(in.scheme, OBJSTORE_FAULT);
	assert_string_equal(in.fault_spec, "seed=2,when=after");
	assert_string_equal(in.inner, "file:///x");
	objstore_uri_release(&in);
	objstore_uri_release(&u);
}

static void
test_fault_bad(void **state)
{
	(void)state;
	parse_bad("fault:rate=0.2");
	parse_bad("fault:");
	/* No options: the colon of "s3:" must not end them. */
	parse_bad("fault:s3://b");
	parse_bad("fault:file:///x");
}

static void
test_key_check(void **state)
{
	char key[OBJSTORE_KEY_MAX + 2];

	(void)state;
	err_clear();
	assert_int_equal(objstore_key_check(""), -EINVAL);
	assert_true(err_detail()[0] != '\0');
	assert_int_equal(objstore_key_check(NULL), -EINVAL);
	assert_int_equal(objstore_key_check("a"), 0);
	assert_int_equal(objstore_key_check("a/b/c"), 0);

	memset(key, 'k', sizeof(key));
	key[OBJSTORE_KEY_MAX] = '\0';
	assert_int_equal(strlen(key), 1024);
	assert_int_equal(objstore_key_check(key), 0);
	key[OBJSTORE_KEY_MAX] = 'k';
	key[OBJSTORE_KEY_MAX + 1] = '\0';
	assert_int_equal(strlen(key), 1025);
	err_clear();
	assert_int_equal(objstore_key_check(key), -ENAMETOOLONG);
	assert_non_null(strstr(err_detail(), "1025"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_s3),
		cmocka_unit_test(test_s3_bad_bucket),
		cmocka_unit_test(test_s3_empty_segment),
		cmocka_unit_test(test_unknown_scheme),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_fault_bad),
		cmocka_unit_test(test_key_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
