/*
 * test_loki_push.c - Loki push bodies (loki_push.h): the format and
 * encoding from the headers, JSON pushes (labels sorted, empty values
 * dropped, entries in order, empty lines, structured metadata left out,
 * streams with no entries left out, an entry repeating the one before it
 * dropped), protobuf pushes built with the
 * generated protobuf-c code and snappy_compress, gzip and deflate (zlib
 * and raw) bodies, the labels text of the protobuf format, every refusal
 * with its message and nothing left in the push, and the limits (size,
 * entries, the snappy header's claim, a gzip bomb).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "model/labels.h"
#include "model/logproto.pb-c.h"
#include "model/logs.h"
#include "model/loki_push.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/xmalloc.h"

static const struct loki_push_limits limits = {
	.max_size = 1 << 20, .max_entries = 1000, .max_memory = 16 << 20,
};

/* The file-name form of stream i's labels, for comparing. */
static const char *
show(const struct loki_push *p, size_t i)
{
	static char s[512];
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(labels_file_name(p->v[i].ls, &b), 0);
	snprintf(s, sizeof(s), "%s", buf_str(&b));
	buf_release(&b);
	return s;
}

static void
assert_entry(const struct loki_push *p, size_t i, size_t k, int64_t ts,
    const char *line)
{
	assert_true(k < p->v[i].n);
	assert_int_equal(p->v[i].e[k].ts_ns, ts);
	assert_int_equal(p->v[i].e[k].len, strlen(line));
	assert_memory_equal(p->v[i].e[k].line, line, strlen(line));
}

static int
json_push(const char *body, struct loki_push *p)
{
	return loki_push_decode("application/json", NULL, body, strlen(body),
	    &limits, p);
}

/* A refusal: rc, a detail holding `want`, and nothing in the push. */
static void
assert_refused(int rc, int code, const struct loki_push *p, const char *want)
{
	assert_int_equal(rc, code);
	if (strstr(err_detail(), want) == NULL)
		fail_msg("detail '%s' lacks '%s'", err_detail(), want);
	assert_int_equal(p->n, 0);
	assert_null(p->v);
	assert_null(p->all);
}

static void
test_headers(void **state)
{
	(void)state;
	assert_int_equal(loki_push_format(NULL), LOKI_PUSH_PROTOBUF);
	assert_int_equal(loki_push_format(""), LOKI_PUSH_PROTOBUF);
	assert_int_equal(loki_push_format("application/x-protobuf"),
	    LOKI_PUSH_PROTOBUF);
	assert_int_equal(loki_push_format("application/json"), LOKI_PUSH_JSON);
	assert_int_equal(loki_push_format("Application/JSON; charset=utf-8"),
	    LOKI_PUSH_JSON);
	/* anything else is protobuf, as Loki reads it */
	assert_int_equal(loki_push_format("text/plain"), LOKI_PUSH_PROTOBUF);
	assert_int_equal(loki_push_format("application/jsonx"),
	    LOKI_PUSH_PROTOBUF);
	assert_int_equal(loki_push_encoding(NULL), LOKI_PUSH_IDENTITY);
	assert_int_equal(loki_push_encoding("snappy"), LOKI_PUSH_IDENTITY);
	assert_int_equal(loki_push_encoding("gzip"), LOKI_PUSH_GZIP);
	assert_int_equal(loki_push_encoding("deflate"), LOKI_PUSH_DEFLATE);
	assert_int_equal(loki_push_encoding("br"), -EINVAL);
	assert_non_null(strstr(err_detail(), "'br'"));
}

static void
test_json(void **state)
{
	struct loki_push p;

	(void)state;
	assert_int_equal(json_push("{\"streams\":["
	    "{\"stream\":{\"job\":\"web\",\"app\":\"x\",\"empty\":\"\"},"
	    "\"values\":[[\"1700000000000000001\",\"first\"],"
	    "[\"1700000000000000000\",\"\"],"
	    "[\"1700000000000000002\",\"a\\u0000b\",{\"trace\":\"t1\"}],"
	    "[\"1700000000000000002\",\"a\\u0000b\"]]},"
	    "{\"stream\":{\"job\":\"none\"},\"values\":[]},"
	    "{\"stream\":{\"job\":\"db\"},\"values\":[[\"-5\",\"old\"]]}]}",
	    &p), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.entries, 4);
	assert_string_equal(show(&p, 0), "{app=\"x\",job=\"web\"}");
	assert_int_equal(p.v[0].n, 3);
	assert_entry(&p, 0, 0, 1700000000000000001LL, "first");
	assert_entry(&p, 0, 1, 1700000000000000000LL, "");
	assert_int_equal(p.v[0].e[2].len, 3);
	assert_memory_equal(p.v[0].e[2].line, "a\0b", 3);
	assert_string_equal(show(&p, 1), "{job=\"db\"}");
	assert_entry(&p, 1, 0, -5, "old");
	assert_int_equal(p.bytes, 5 + 0 + 3 + 3);
	loki_push_release(&p);
}

static void
test_json_refused(void **state)
{
	static const struct {
		const char	*body;
		const char	*want;
	} bad[] = {
		{ "{\"streams\":[", "not JSON" },
		{ "{\"strooms\":[]}", "no \"streams\" array" },
		{ "{\"streams\":[]}", "no entries" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[]}]}",
		    "no entries" },
		{ "{\"streams\":[1]}", "streams[0] is not an object" },
		{ "{\"streams\":[{\"values\":[[\"1\",\"x\"]]}]}",
		    "streams[0]: \"stream\" is not an object" },
		{ "{\"streams\":[{\"stream\":{},\"values\":[[\"1\",\"x\"]]}]}",
		    "streams[0]: no labels" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"\"},\"values\":"
		    "[[\"1\",\"x\"]]}]}", "streams[0]: no labels" },
		{ "{\"streams\":[{\"stream\":{\"a-b\":\"c\"},\"values\":"
		    "[[\"1\",\"x\"]]}]}", "streams[0]: " },
		{ "{\"streams\":[{\"stream\":{\"a\":1},\"values\":"
		    "[[\"1\",\"x\"]]}]}", "label 'a' is not a string" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":{}}]}",
		    "\"values\" is not an array" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\",\"x\"],[1,\"y\"]]}]}",
		    "streams[0].values[1]: the time is not a string" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1.5\",\"y\"]]}]}", "values[0]: the time '1.5' is not" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"\",\"y\"]]}]}", "the time is empty" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"9223372036854775808\",\"y\"]]}]}", "out of range" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\",2]]}]}", "the line is not a string" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\"]]}]}", "an entry is" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\",\"x\",[]]]}]}", "structured metadata is not" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\",\"x\",{\"k\":3}]]}]}", "metadata 'k' is not" },
		{ "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
		    "[[\"1\",\"x\"]]},{\"stream\":{\"a\":\"c\"},\"values\":"
		    "[[\"x\",\"y\"]]}]}", "streams[1].values[0]" },
	};
	struct loki_push p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = json_push(bad[i].body, &p);

		if (rc != -EINVAL || strstr(err_detail(), bad[i].want) == NULL)
			fail_msg("%zu: rc %d, detail '%s', wanted '%s'", i, rc,
			    err_detail(), bad[i].want);
		assert_refused(rc, -EINVAL, &p, bad[i].want);
		loki_push_release(&p);
	}
	/* the reserved-looking names of relabelling pass */
	assert_int_equal(json_push("{\"streams\":[{\"stream\":{\"__x\":\"y\"},"
	    "\"values\":[[\"1\",\"x\"]]}]}", &p), 0);
	loki_push_release(&p);
}

static void
test_labels(void **state)
{
	struct labels *ls;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	{
		const char *t = " {job=\"web\", host=\"a\\\"b\", x=\"\"}";

		assert_int_equal(loki_push_labels(t, strlen(t), &ls), 0);
	}
	assert_int_equal(labels_file_name(ls, &b), 0);
	assert_string_equal(buf_str(&b), "{host=\"a\\\"b\",job=\"web\"}");
	labels_free(ls);
	buf_release(&b);
	assert_int_equal(loki_push_labels("", 0, &ls), -EINVAL);
	assert_non_null(strstr(err_detail(), "at least one label pair"));
	assert_int_equal(loki_push_labels("up{a=\"b\"}", 9, &ls), -EINVAL);
	assert_non_null(strstr(err_detail(), "do not start with '{'"));
	assert_int_equal(loki_push_labels("{a=~\"b\"}", 8, &ls), -EINVAL);
	assert_non_null(strstr(err_detail(), "label 'a' is given with '=~'"));
	assert_int_equal(loki_push_labels("{a=\"b\",a=\"c\"}", 13, &ls),
	    -EINVAL);
	assert_int_equal(loki_push_labels("{a=\"b\"", 6, &ls), -EINVAL);
	assert_non_null(strstr(err_detail(), "cannot parse labels"));
	assert_null(ls);
}

/* ---- protobuf ---- */

/* Pack req and compress it with snappy into *out. */
static size_t
pack(const Logproto__PushRequest *req, char **out)
{
	size_t n = logproto__push_request__get_packed_size(req);
	uint8_t *raw = xmalloc(n + 1);
	size_t clen;

	logproto__push_request__pack(req, raw);
	clen = snappy_max_compressed_length(n);
	*out = xmalloc(clen);
	assert_int_equal(snappy_compress((char *)raw, n, *out, &clen),
	    SNAPPY_OK);
	free(raw);
	return clen;
}

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData d = { strlen(s), (uint8_t *)(uintptr_t)s };

	return d;
}

static void
test_proto(void **state)
{
	Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
	Logproto__StreamAdapter s0 = LOGPROTO__STREAM_ADAPTER__INIT;
	Logproto__StreamAdapter s1 = LOGPROTO__STREAM_ADAPTER__INIT;
	Logproto__EntryAdapter e0 = LOGPROTO__ENTRY_ADAPTER__INIT;
	Logproto__EntryAdapter e1 = LOGPROTO__ENTRY_ADAPTER__INIT;
	Logproto__Timestamp t0 = LOGPROTO__TIMESTAMP__INIT;
	Logproto__LabelPairAdapter md = LOGPROTO__LABEL_PAIR_ADAPTER__INIT;
	Logproto__StreamAdapter *ss[2] = { &s0, &s1 };
	Logproto__EntryAdapter *es[2] = { &e0, &e1 };
	Logproto__LabelPairAdapter *mds[1] = { &md };
	struct loki_push p;
	char *body;
	size_t len;

	(void)state;
	t0.seconds = 1700000000;
	t0.nanos = 123;
	e0.timestamp = &t0;
	e0.line = bin("hello");
	md.name = bin("trace_id");
	md.value = bin("abc");
	e1.n_structuredmetadata = 1;
	e1.structuredmetadata = mds;	/* no time: 0 */
	e1.line = bin("");
	s0.labels = bin("{job=\"web\", env=\"prod\"}");
	s0.n_entries = 2;
	s0.entries = es;
	s1.labels = bin("{job=\"idle\"}");
	req.n_streams = 2;
	req.streams = ss;
	len = pack(&req, &body);
	assert_int_equal(loki_push_decode("application/x-protobuf", "snappy",
	    body, len, &limits, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(show(&p, 0), "{env=\"prod\",job=\"web\"}");
	assert_entry(&p, 0, 0, 1700000000000000123LL, "hello");
	assert_entry(&p, 0, 1, 0, "");
	loki_push_release(&p);

	/* refusals: bad nanos, bad labels, not snappy, not protobuf */
	t0.nanos = -1;
	free(body);
	len = pack(&req, &body);
	assert_refused(loki_push_decode(NULL, NULL, body, len, &limits, &p),
	    -EINVAL, &p, "streams[0].entries[0]: the time's nanos -1");
	loki_push_release(&p);
	free(body);
	t0.nanos = 0;
	s0.labels = bin("{job=\"web\",}x");
	len = pack(&req, &body);
	assert_refused(loki_push_decode(NULL, NULL, body, len, &limits, &p),
	    -EINVAL, &p, "streams[0]: cannot parse labels '{job=\"web\",}x'");
	loki_push_release(&p);
	free(body);
	assert_refused(loki_push_decode(NULL, NULL, "\xff\xff\xff\xff\xff", 5,
	    &limits, &p), -EINVAL, &p, "not snappy");
	loki_push_release(&p);
	{
		char junk[64];
		size_t jl = sizeof(junk);

		assert_int_equal(snappy_compress("\xff\xff\xff", 3, junk, &jl),
		    SNAPPY_OK);
		assert_refused(loki_push_decode(NULL, NULL, junk, jl, &limits,
		    &p), -EINVAL, &p, "not a valid logproto.PushRequest");
		loki_push_release(&p);
	}
	/* a header claiming 4 GiB is refused before anything is allocated */
	assert_refused(loki_push_decode(NULL, NULL, "\xff\xff\xff\xff\x0f", 5,
	    &limits, &p), -EFBIG, &p, "more than the limit");
	loki_push_release(&p);
}

/* ---- Content-Encoding ---- */

/* Compress with zlib: gzip (wbits 31), zlib (15) or raw deflate (-15). */
static size_t
deflate_with(int wbits, const void *in, size_t n, unsigned char **out)
{
	z_stream z;
	size_t cap = n + 1024;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	*out = xmalloc(cap);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	cap -= z.avail_out;
	deflateEnd(&z);
	return cap;
}

static void
test_encodings(void **state)
{
	static const char json[] = "{\"streams\":[{\"stream\":{\"a\":\"b\"},"
	    "\"values\":[[\"7\",\"zipped\"]]}]}";
	static const struct {
		const char	*ce;
		int		 wbits;
	} enc[] = {
		{ "gzip", 31 }, { "deflate", 15 }, { "deflate", -15 },
	};
	struct loki_push p;
	unsigned char *z;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		n = deflate_with(enc[i].wbits, json, sizeof(json) - 1, &z);
		assert_int_equal(loki_push_decode("application/json",
		    enc[i].ce, z, n, &limits, &p), 0);
		assert_int_equal(p.n, 1);
		assert_entry(&p, 0, 0, 7, "zipped");
		loki_push_release(&p);
		/* cut short */
		assert_refused(loki_push_decode("application/json", enc[i].ce,
		    z, n / 2, &limits, &p), -EINVAL, &p, enc[i].ce);
		loki_push_release(&p);
		free(z);
	}
	assert_refused(loki_push_decode("application/json", "gzip", json,
	    sizeof(json) - 1, &limits, &p), -EINVAL, &p, "not valid gzip");
	loki_push_release(&p);
	assert_int_equal(loki_push_decode("application/json", "br", json,
	    sizeof(json) - 1, &limits, &p), -EINVAL);
	loki_push_release(&p);
}

static void
test_limits(void **state)
{
	struct loki_push_limits small = limits;
	struct loki_push p;
	unsigned char *z;
	char *big;
	struct buf b;
	size_t n;

	(void)state;
	/* a gzip bomb: 4 MiB of zeros, 1 MiB allowed */
	big = xcalloc(4 << 20, 1);
	n = deflate_with(31, big, 4 << 20, &z);
	assert_true(n < 16384);
	assert_refused(loki_push_decode("application/json", "gzip", z, n,
	    &limits, &p), -EFBIG, &p, "larger than 1048576 bytes");
	loki_push_release(&p);
	free(z);
	free(big);

	/* entries over all streams */
	small.max_entries = 2;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
	    "[[\"1\",\"x\"],[\"2\",\"y\"]]},{\"stream\":{\"a\":\"c\"},"
	    "\"values\":[[\"3\",\"z\"]]}]}");
	assert_refused(loki_push_decode("application/json", NULL, b.data,
	    b.len, &small, &p), -EFBIG, &p, "more than 2 entries");
	loki_push_release(&p);
	small.max_entries = 3;
	assert_int_equal(loki_push_decode("application/json", NULL, b.data,
	    b.len, &small, &p), 0);
	assert_int_equal(p.entries, 3);
	loki_push_release(&p);
	/* what jansson would allocate, bounded before it parses */
	small.max_memory = 1000;
	assert_refused(loki_push_decode("application/json", NULL, b.data,
	    b.len, &small, &p), -EFBIG, &p, "decoding the JSON body needs "
	    "more than 1000 bytes");
	loki_push_release(&p);
	small.max_memory = limits.max_memory;
	/* size */
	small.max_size = 16;
	assert_refused(loki_push_decode("application/json", NULL, b.data,
	    b.len, &small, &p), -EFBIG, &p, "more than the limit of 16");
	loki_push_release(&p);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_proto),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
