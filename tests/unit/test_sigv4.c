/*
 * test_sigv4.c - unit tests for engine/s3_sigv4.c.
 *
 * Signs every request of AWS's SigV4 test suite and of the S3 API
 * reference examples (sigv4_vectors.h) and checks the canonical request,
 * the string to sign, the signature and the Authorization value byte for
 * byte, then the percent-encoding, S3's untouched paths, the canonical
 * query, input checking and the helpers.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "engine/objstore/s3_sigv4.h"
#include "util/buf.h"

#include "sigv4_vectors.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static size_t
count_params(const struct sigv4_param *p, size_t max)
{
	size_t	n;

	for (n = 0; n < max && p[n].name != NULL; n++)
		;
	return n;
}

static size_t
count_headers(const struct sigv4_header *h, size_t max)
{
	size_t	n;

	for (n = 0; n < max && h[n].name != NULL; n++)
		;
	return n;
}

/* Line `idx` (from 0) of `s`, copied into `out`. */
static void
nth_line(const char *s, int idx, char *out, size_t outlen)
{
	const char	*end;
	size_t		 len;

	for (; idx > 0; idx--) {
		s = strchr(s, '\n');
		assert_non_null(s);
		s++;
	}
	end = strchr(s, '\n');
	len = end != NULL ? (size_t)(end - s) : strlen(s);
	assert_true(len < outlen);
	memcpy(out, s, len);
	out[len] = '\0';
}

/* assert_string_equal, saying first which vector and which part. */
static void
expect_str(const char *name, const char *what, const char *got,
    const char *want)
{
	if (strcmp(got, want) != 0)
		print_error("%s: %s differs\n", name, what);
	assert_string_equal(got, want);
}

static void
check_vector(const struct sigv4_vector *v)
{
	struct sigv4_input	 in;
	struct sigv4_output	 out;
	const char		*body = v->body != NULL ? v->body : "";
	const char		*sig;
	char			 hash[65], line[1024];
	int			 rc;

	memset(&in, 0, sizeof in);
	sigv4_sha256_hex(body, strlen(body), hash);
	in.method = v->method;
	in.path = v->path;
	in.normalize = v->normalize;
	in.params = v->params;
	in.nparams = count_params(v->params, SIGV4_VEC_MAXPARAMS);
	in.headers = v->headers;
	in.nheaders = count_headers(v->headers, SIGV4_VEC_MAXHEADERS);
	in.payload_hash = hash;
	in.amz_date = v->amz_date;
	in.region = v->region;
	in.service = v->service;
	in.access_key = v->access_key;
	in.secret_key = v->secret_key;

	sigv4_output_init(&out);
	if ((rc = sigv4_sign(&in, &out)) != 0)
		print_error("%s: sigv4_sign failed\n", v->name);
	assert_int_equal(rc, 0);
	expect_str(v->name, "canonical request",
	    buf_str(&out.canonical_request), v->creq);
	expect_str(v->name, "string to sign", buf_str(&out.string_to_sign),
	    v->sts);
	expect_str(v->name, "authorization", buf_str(&out.authorization),
	    v->authz);

	sig = strstr(v->authz, "Signature=");
	assert_non_null(sig);
	expect_str(v->name, "signature", out.signature,
	    sig + strlen("Signature="));

	/* What is sent is what was signed: lines 2 and 3 of the request. */
	nth_line(v->creq, 1, line, sizeof line);
	expect_str(v->name, "path", buf_str(&out.path), line);
	nth_line(v->creq, 2, line, sizeof line);
	expect_str(v->name, "query", buf_str(&out.query), line);
	sigv4_output_release(&out);
}

static void
test_aws_suite(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NITEMS(sigv4_suite); i++)
		check_vector(&sigv4_suite[i]);
}

static void
test_s3_examples(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NITEMS(sigv4_s3); i++)
		check_vector(&sigv4_s3[i]);
}

static void
check_encode(const char *s, size_t n, int keep_slash, const char *want)
{
	struct buf	b;

	buf_init(&b, 0);
	assert_int_equal(sigv4_uri_encode(&b, s, n, keep_slash), 0);
	assert_string_equal(buf_str(&b), want);
	assert_int_equal(b.len, strlen(want));
	buf_release(&b);
}

static void
test_uri_encode(void **state)
{
	struct buf	b;

	(void)state;
	check_encode("a b", 3, 0, "a%20b");
	check_encode("a+b", 3, 0, "a%2Bb");
	check_encode("100%", 4, 0, "100%25");
	check_encode("a/b", 3, 1, "a/b");
	check_encode("a/b", 3, 0, "a%2Fb");
	check_encode("~", 1, 0, "~");
	check_encode(UNRESERVED, strlen(UNRESERVED), 0, UNRESERVED);
	/* Bytes above 0x7f, lowercase input, uppercase hex out. */
	check_encode("\xc3\xa9t\xc3\xa9", 5, 1, "%C3%A9t%C3%A9");
	check_encode("\xe1\x88\xb4", 3, 0, "%E1%88%B4");
	check_encode("\xff\x80", 2, 0, "%FF%80");
	check_encode("=&?#:;,$@!*'()[]", 16, 1,
	    "%3D%26%3F%23%3A%3B%2C%24%40%21%2A%27%28%29%5B%5D");
	/* Exactly n bytes: a NUL inside is encoded, what follows ignored. */
	check_encode("a\0b", 3, 0, "a%00b");
	check_encode("abc", 1, 0, "a");
	check_encode("", 0, 0, "");

	/* It appends. */
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "x="), 0);
	assert_int_equal(sigv4_uri_encode(&b, "a b", 3, 0), 0);
	assert_string_equal(buf_str(&b), "x=a%20b");
	buf_release(&b);

	/* Past the ceiling of the buf: -EFBIG. */
	buf_init(&b, 4);
	assert_int_equal(sigv4_uri_encode(&b, " ", 1, 0), 0);
	assert_int_equal(sigv4_uri_encode(&b, " ", 1, 0), -EFBIG);
	buf_release(&b);
}

/* A valid S3 request; the tests change one field at a time. */
static const struct sigv4_header base_headers[] = {
	{ "Host", "examplebucket.s3.amazonaws.com" },
	{ "x-amz-content-sha256", EMPTY_SHA256 },
	{ "x-amz-date", S3_DATE },
};

static void
base_input(struct sigv4_input *in)
{
	memset(in, 0, sizeof *in);
	in->method = "GET";
	in->path = "/";
	in->normalize = 0;
	in->headers = base_headers;
	in->nheaders = NITEMS(base_headers);
	in->payload_hash = EMPTY_SHA256;
	in->amz_date = S3_DATE;
	in->region = "us-east-1";
	in->service = "s3";
	in->access_key = "AKIAIOSFODNN7EXAMPLE";
	in->secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
}

static void
test_s3_path_kept(void **state)
{
	struct sigv4_input	 in;
	struct sigv4_output	 out;

	(void)state;
	base_input(&in);
	sigv4_output_init(&out);

	/* S3: a key is a name, not a path; "//" and "/./" are kept. */
	in.path = "/a//b/./c/../d";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/a//b/./c/../d");
	assert_non_null(strstr(buf_str(&out.canonical_request),
	    "GET\n/a//b/./c/../d\n\n"));

	in.path = "/my key+1%.txt";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/my%20key%2B1%25.txt");

	in.path = "/trailing/";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/trailing/");

	/* The same path for another service is normalised. */
	in.normalize = 1;
	in.path = "/a//b/./c/../d";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/a/b/d");
	in.path = "/../..";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/");
	in.path = "/a/b/.";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/a/b/");
	in.path = "/a/...";
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.path), "/a/...");

	sigv4_output_release(&out);
}

static void
test_query(void **state)
{
	static const struct sigv4_param params[] = {
		{ "prefix", "dir/a b+c" },
		{ "list-type", "2" },
		{ "continuation-token", "x=y&z" },
		{ "delete", NULL },
		{ "a", "" },
		{ "A", "1" },
	};
	struct sigv4_input	 in;
	struct sigv4_output	 out;

	(void)state;
	base_input(&in);
	in.params = params;
	in.nparams = NITEMS(params);
	sigv4_output_init(&out);
	assert_int_equal(sigv4_sign(&in, &out), 0);
	/* Encoded, '/' too; sorted by byte ('A' < 'a'); NULL gives "name=". */
	assert_string_equal(buf_str(&out.query),
	    "A=1&a=&continuation-token=x%3Dy%26z&delete=&list-type=2&"
	    "prefix=dir%2Fa%20b%2Bc");

	/* No parameters: an empty line and an empty query. */
	in.params = NULL;
	in.nparams = 0;
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.query), "");
	assert_non_null(strstr(buf_str(&out.canonical_request), "GET\n/\n\n"));
	sigv4_output_release(&out);
}

static void
test_headers(void **state)
{
	static const struct sigv4_header headers[] = {
		{ "X-Amz-Date", S3_DATE },
		{ "x-amz-meta-b", "\t two\t\twords  " },
		{ "HOST", "examplebucket.s3.amazonaws.com" },
		{ "X-Amz-Meta-A", "first" },
		{ "x-amz-meta-a", "second" },
		{ "x-amz-meta-empty", "" },
		{ "x-amz-content-sha256", EMPTY_SHA256 },
	};
	struct sigv4_input	 in;
	struct sigv4_output	 out;

	(void)state;
	base_input(&in);
	in.headers = headers;
	in.nheaders = NITEMS(headers);
	sigv4_output_init(&out);
	assert_int_equal(sigv4_sign(&in, &out), 0);
	assert_string_equal(buf_str(&out.canonical_request),
	    "GET\n"
	    "/\n"
	    "\n"
	    "host:examplebucket.s3.amazonaws.com\n"
	    "x-amz-content-sha256:" EMPTY_SHA256 "\n"
	    "x-amz-date:" S3_DATE "\n"
	    "x-amz-meta-a:first,second\n"
	    "x-amz-meta-b:two words\n"
	    "x-amz-meta-empty:\n"
	    "\n"
	    "host;x-amz-content-sha256;x-amz-date;x-amz-meta-a;x-amz-meta-b;"
	    "x-amz-meta-empty\n"
	    EMPTY_SHA256);
	sigv4_output_release(&out);
}

static void
test_unsigned_payload(void **state)
{
	static const struct sigv4_header headers[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", SIGV4_UNSIGNED_PAYLOAD },
		{ "x-amz-date", S3_DATE },
	};
	struct sigv4_input	 in;
	struct sigv4_output	 out;
	const char		*c;

	(void)state;
	base_input(&in);
	in.headers = headers;
	in.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	sigv4_output_init(&out);
	assert_int_equal(sigv4_sign(&in, &out), 0);
	c = buf_str(&out.canonical_request);
	assert_true(strlen(c) > strlen(SIGV4_UNSIGNED_PAYLOAD));
	assert_string_equal(c + strlen(c) - strlen(SIGV4_UNSIGNED_PAYLOAD),
	    SIGV4_UNSIGNED_PAYLOAD);
	sigv4_output_release(&out);
}

/* Signing into a used output starts afresh, and gives the same answer. */
static void
test_output_reuse(void **state)
{
	const struct sigv4_vector *v = &sigv4_s3[0];
	struct sigv4_input	 in;
	struct sigv4_output	 out;
	int			 i;

	(void)state;
	memset(&in, 0, sizeof in);
	in.method = v->method;
	in.path = v->path;
	in.headers = v->headers;
	in.nheaders = count_headers(v->headers, SIGV4_VEC_MAXHEADERS);
	in.payload_hash = EMPTY_SHA256;
	in.amz_date = v->amz_date;
	in.region = v->region;
	in.service = v->service;
	in.access_key = v->access_key;
	in.secret_key = v->secret_key;

	sigv4_output_init(&out);
	for (i = 0; i < 3; i++) {
		assert_int_equal(sigv4_sign(&in, &out), 0);
		assert_string_equal(buf_str(&out.canonical_request), v->creq);
		assert_string_equal(buf_str(&out.authorization), v->authz);
	}
	sigv4_output_release(&out);

	/* Release of an output that was never used. */
	sigv4_output_init(&out);
	sigv4_output_release(&out);
}

static void
expect_einval(const struct sigv4_input *in)
{
	struct sigv4_output	out;

	sigv4_output_init(&out);
	/* Something left from an earlier request must not survive. */
	assert_int_equal(buf_puts(&out.authorization, "stale"), 0);
	assert_int_equal(sigv4_sign(in, &out), -EINVAL);
	assert_string_equal(buf_str(&out.authorization), "");
	assert_string_equal(buf_str(&out.canonical_request), "");
	assert_string_equal(out.signature, "");
	sigv4_output_release(&out);
}

static void
test_invalid(void **state)
{
	static const struct sigv4_header no_host[] = {
		{ "x-amz-date", S3_DATE },
	};
	static const struct sigv4_header no_date[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
	};
	static const struct sigv4_header other_date[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000001Z" },
	};
	static const struct sigv4_header two_dates[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", S3_DATE },
		{ "X-Amz-Date", S3_DATE },
	};
	static const struct sigv4_header crlf[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", S3_DATE },
		{ "x-amz-meta-x", "a\r\nx-amz-acl: public-read" },
	};
	static const struct sigv4_header bad_name[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", S3_DATE },
		{ "x-amz:meta", "a" },
	};
	static const struct sigv4_header null_name[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", S3_DATE },
		{ NULL, "a" },
	};
	static const struct sigv4_header null_value[] = {
		{ "Host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-date", S3_DATE },
		{ "x-amz-meta-x", NULL },
	};
	static const struct sigv4_param null_param[] = { { NULL, "v" } };
	static const char *bad_dates[] = {
		"", "20130524T000000", "20130524T000000ZZ", "20130524 000000Z",
		"20130524T000000z", "2013O524T000000Z", "20130524T00000aZ",
	};
	struct sigv4_input	in;
	struct sigv4_output	out;
	size_t			i;

	(void)state;
	sigv4_output_init(&out);
	assert_int_equal(sigv4_sign(NULL, &out), -EINVAL);
	sigv4_output_release(&out);
	base_input(&in);
	assert_int_equal(sigv4_sign(&in, NULL), -EINVAL);

#define EINVAL_WITH(change) do {					\
	base_input(&in);						\
	change;								\
	expect_einval(&in);						\
} while (0)

	EINVAL_WITH(in.method = NULL);
	EINVAL_WITH(in.method = "");
	EINVAL_WITH(in.method = "GET\n");
	EINVAL_WITH(in.path = NULL);
	EINVAL_WITH(in.path = "");
	EINVAL_WITH(in.path = "test.txt");
	EINVAL_WITH(in.payload_hash = NULL);
	EINVAL_WITH(in.amz_date = NULL);
	for (i = 0; i < NITEMS(bad_dates); i++) {
		base_input(&in);
		in.amz_date = bad_dates[i];
		expect_einval(&in);
	}
	EINVAL_WITH(in.region = NULL);
	EINVAL_WITH(in.region = "");
	EINVAL_WITH(in.region = "us/east");
	EINVAL_WITH(in.service = NULL);
	EINVAL_WITH(in.access_key = NULL);
	EINVAL_WITH(in.secret_key = NULL);
	EINVAL_WITH(in.nparams = 1);
	base_input(&in);
	in.params = null_param;
	in.nparams = 1;
	expect_einval(&in);
	EINVAL_WITH(in.headers = NULL);
	EINVAL_WITH(in.nheaders = 0);

#define WITH_HEADERS(h) do {						\
	base_input(&in);						\
	in.headers = (h);						\
	in.nheaders = NITEMS(h);					\
	expect_einval(&in);						\
} while (0)

	WITH_HEADERS(no_host);
	WITH_HEADERS(no_date);
	WITH_HEADERS(other_date);
	WITH_HEADERS(two_dates);
	WITH_HEADERS(crlf);
	WITH_HEADERS(bad_name);
	WITH_HEADERS(null_name);
	WITH_HEADERS(null_value);
#undef WITH_HEADERS
#undef EINVAL_WITH

	/* And the base itself is fine. */
	base_input(&in);
	sigv4_output_init(&out);
	assert_int_equal(sigv4_sign(&in, &out), 0);
	sigv4_output_release(&out);
}

static void
test_sha256_hex(void **state)
{
	char	out[65];

	(void)state;
	sigv4_sha256_hex("", 0, out);
	assert_string_equal(out, EMPTY_SHA256);
	sigv4_sha256_hex("abc", 3, out);
	assert_string_equal(out,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sigv4_sha256_hex("Welcome to Amazon S3.", 21, out);
	assert_string_equal(out, S3_PUT_SHA256);
}

static void
test_amz_date(void **state)
{
	struct tm	tm;
	time_t		before, after, t;
	char		d[17];
	int		i;

	(void)state;
	before = time(NULL);
	memset(d, 'x', sizeof d);
	sigv4_amz_date(d);
	after = time(NULL);

	assert_int_equal(strlen(d), 16);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			assert_int_equal(d[i], 'T');
		else if (i == 15)
			assert_int_equal(d[i], 'Z');
		else
			assert_true(d[i] >= '0' && d[i] <= '9');
	}

	/* It is now, in UTC. */
	memset(&tm, 0, sizeof tm);
	assert_int_equal(sscanf(d, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	assert_true(t >= before && t <= after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_suite),
		cmocka_unit_test(test_s3_examples),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_s3_path_kept),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_unsigned_payload),
		cmocka_unit_test(test_output_reuse),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test(test_amz_date),
	};

	return cmocka_run_group_tests_name("sigv4", tests, NULL, NULL);
}
