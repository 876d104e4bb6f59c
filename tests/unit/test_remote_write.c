/*
 * test_remote_write.c - Prometheus remote write bodies (remote_write.h):
 * the version from the Content-Type, 1.0 and 2.0 requests built with the
 * generated protobuf-c code and snappy_compress (labels sorted, empty
 * values dropped, samples in order, metadata, 2.0 symbol references,
 * exemplars and histograms counted), every refusal and its message with
 * nothing given to the callbacks, the limits (samples, size, memory,
 * the snappy header's claim of a huge size) and a callback that stops.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "model/labels.h"
#include "model/prompb.pb-c.h"
#include "model/remote_write.h"
#include "util/error.h"
#include "util/xmalloc.h"

static const struct rw_limits limits = {
	.max_size = 1 << 20, .max_samples = 1000, .max_memory = 16 << 20,
};

/* ---- what the callbacks saw ---- */

#define MAX_SEEN	16

struct seen {
	size_t			 nseries;
	struct labels		*sets[MAX_SEEN];
	struct rw_sample	 samples[MAX_SEEN][8];
	size_t			 nsamples[MAX_SEEN];
	size_t			 nmeta;
	struct rw_metadata	 meta[MAX_SEEN];
	char			 text[MAX_SEEN][3][64];	/* name, help, unit */
	int			 stop;	/* returned by on_series */
};

static int
on_series(void *arg, const struct labels *ls, const struct rw_sample *s,
    size_t n)
{
	struct seen *seen = arg;

	assert_true(seen->nseries < MAX_SEEN && n <= 8);
	seen->sets[seen->nseries] = labels_dup(ls);
	memcpy(seen->samples[seen->nseries], s, n * sizeof(*s));
	seen->nsamples[seen->nseries++] = n;
	return seen->stop;
}

static void
copy_text(char *dst, const char *s, size_t n)
{
	assert_true(n < 64);
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int
on_metadata(void *arg, const struct rw_metadata *md)
{
	struct seen *seen = arg;
	size_t k = seen->nmeta++;

	assert_true(k < MAX_SEEN);
	seen->meta[k] = *md;
	copy_text(seen->text[k][0], md->name, md->name_len);
	copy_text(seen->text[k][1], md->help, md->help_len);
	copy_text(seen->text[k][2], md->unit, md->unit_len);
	return 0;
}

static void
seen_release(struct seen *seen)
{
	for (size_t i = 0; i < seen->nseries; i++)
		labels_free(seen->sets[i]);
	memset(seen, 0, sizeof(*seen));
}

static void
detail_has(const char *want)
{
	if (strstr(err_detail(), want) == NULL)
		fail_msg("detail '%s' lacks '%s'", err_detail(), want);
}

/* ---- building requests ---- */

static void *
compress(const void *msg, size_t n, size_t *len)
{
	void *body;

	*len = snappy_max_compressed_length(n);
	body = xmalloc(*len);
	assert_int_equal(snappy_compress(msg, n, body, len), SNAPPY_OK);
	return body;
}

static ProtobufCBinaryData
bin(const char *s)
{
	ProtobufCBinaryData d = { strlen(s), (uint8_t *)(uintptr_t)s };

	return d;
}

/* A 1.0 series from "name", "value", ... NULL and up to 8 samples. */
struct v1_series {
	Prompb__TimeSeries	 ts;
	Prompb__Label		 label[8];
	Prompb__Label		*labelp[8];
	Prompb__Sample		 sample[8];
	Prompb__Sample		*samplep[8];
	ProtobufCBinaryData	 extra[2];
};

static void
v1_series_init(struct v1_series *s, size_t nsamples, const char *name, ...)
{
	va_list ap;

	prompb__time_series__init(&s->ts);
	va_start(ap, name);
	for (const char *k = name; k != NULL; k = va_arg(ap, const char *)) {
		size_t j = s->ts.n_labels++;

		prompb__label__init(&s->label[j]);
		s->label[j].name = bin(k);
		s->label[j].value = bin(va_arg(ap, const char *));
		s->labelp[j] = &s->label[j];
	}
	va_end(ap);
	s->ts.labels = s->labelp;
	for (size_t k = 0; k < nsamples; k++) {
		prompb__sample__init(&s->sample[k]);
		s->sample[k].timestamp = 1000 + (int64_t)k;
		s->sample[k].value = 0.5 * (double)k;
		s->samplep[k] = &s->sample[k];
	}
	s->ts.n_samples = nsamples;
	s->ts.samples = s->samplep;
}

/* Pack and compress a 1.0 request of n series and nm metadata. */
static void *
v1_body(struct v1_series *series, size_t n, Prompb__MetricMetadata **md,
    size_t nm, size_t *len)
{
	Prompb__WriteRequest req = PROMPB__WRITE_REQUEST__INIT;
	Prompb__TimeSeries *tsp[8];
	uint8_t *msg;
	void *body;

	for (size_t i = 0; i < n; i++)
		tsp[i] = &series[i].ts;
	req.n_timeseries = n;
	req.timeseries = tsp;
	req.n_metadata = nm;
	req.metadata = md;
	msg = xmalloc(prompb__write_request__get_packed_size(&req) + 1);
	body = compress(msg, prompb__write_request__pack(&req, msg), len);
	free(msg);
	return body;
}

static int
decode(enum rw_version v, const void *body, size_t len,
    const struct rw_limits *lim, struct seen *seen, struct rw_counts *c)
{
	struct rw_handler h = { on_series, on_metadata, seen };

	err_clear();
	return rw_decode(v, body, len, lim, &h, c);
}

/* Decode a 1.0 body that must be refused with code and want. */
static void
v1_refused(struct v1_series *series, size_t n, Prompb__MetricMetadata **md,
    size_t nm, int code, const char *want)
{
	struct seen seen = { 0 };
	size_t len;
	void *body = v1_body(series, n, md, nm, &len);

	assert_int_equal(decode(RW_V1, body, len, &limits, &seen, NULL), code);
	detail_has(want);
	assert_int_equal(seen.nseries, 0);
	assert_int_equal(seen.nmeta, 0);
	free(body);
}

/* ---- the version ---- */

static void
test_version(void **state)
{
	static const char *v1[] = { NULL, "", "  ", "application/x-protobuf",
	    "Application/X-Protobuf", "application/x-protobuf; charset=x",
	    "application/x-protobuf;proto=prometheus.WriteRequest",
	    "application/x-protobuf; proto=\"prometheus.WriteRequest\"" };
	static const char *v2[] = {
	    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
	    "application/x-protobuf ; Proto = io.prometheus.write.v2.Request ",
	    "application/x-protobuf;proto=\"io.prometheus.write.v2.Request\"" };

	(void)state;
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
		assert_int_equal(rw_version(v1[i]), RW_V1);
	for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++)
		assert_int_equal(rw_version(v2[i]), RW_V2);
	assert_int_equal(rw_version("application/json"), -EINVAL);
	detail_has("content type 'application/json' is not application/x-protobuf");
	assert_int_equal(rw_version(";proto=prometheus.WriteRequest"), -EINVAL);
	assert_int_equal(rw_version("application/x-protobuf;proto=foo.Bar"),
	    -EINVAL);
	detail_has("proto is not prometheus.WriteRequest or "
	    "io.prometheus.write.v2.Request");
}

/* ---- remote write 1.0 ---- */

static void
test_v1(void **state)
{
	struct v1_series s[3] = { 0 };
	Prompb__MetricMetadata md = PROMPB__METRIC_METADATA__INIT;
	Prompb__MetricMetadata *mdp = &md;
	ProtobufCBinaryData ex[2] = { bin("x"), bin("y") };
	struct seen seen = { 0 };
	struct rw_counts c;
	size_t len;
	void *body;

	(void)state;
	v1_series_init(&s[0], 3, "job", "api", "__name__", "http_total",
	    "empty", "", "code", "200", NULL);
	s[0].ts.n_exemplars = 2;
	s[0].ts.exemplars = ex;
	v1_series_init(&s[1], 1, "__name__", "up", "__meta_x", "kept", NULL);
	/* histograms only: counted, the series not given */
	v1_series_init(&s[2], 0, "__name__", "latency", NULL);
	s[2].ts.n_histograms = 1;
	s[2].ts.histograms = ex;
	md.type = PROMPB__METRIC_METADATA__METRIC_TYPE__COUNTER;
	md.metric_family_name = bin("http_total");
	md.help = bin("requests served, \xc3\xa9");
	md.unit = bin("requests");
	body = v1_body(s, 3, &mdp, 1, &len);

	assert_int_equal(decode(RW_V1, body, len, &limits, &seen, &c), 0);
	assert_int_equal(c.series, 2);
	assert_int_equal(c.samples, 4);
	assert_int_equal(c.metadata, 1);
	assert_int_equal(c.exemplars, 2);
	assert_int_equal(c.histograms, 1);
	assert_int_equal(seen.nseries, 2);

	/* sorted, the empty value dropped */
	assert_int_equal(labels_count(seen.sets[0]), 3);
	assert_string_equal(labels_at(seen.sets[0], 0)->name, "__name__");
	assert_string_equal(labels_at(seen.sets[0], 1)->name, "code");
	assert_string_equal(labels_at(seen.sets[0], 2)->name, "job");
	assert_string_equal(labels_metric(seen.sets[0]), "http_total");
	assert_null(labels_get(seen.sets[0], "empty"));
	assert_int_equal(seen.nsamples[0], 3);
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(seen.samples[0][k].t, 1000 + (int64_t)k);
		assert_true(seen.samples[0][k].v == 0.5 * (double)k);
	}
	assert_string_equal(labels_get(seen.sets[1], "__meta_x"), "kept");
	assert_int_equal(seen.nsamples[1], 1);

	assert_int_equal(seen.meta[0].type, RW_TYPE_COUNTER);
	assert_string_equal(seen.text[0][0], "http_total");
	assert_string_equal(seen.text[0][1], "requests served, \xc3\xa9");
	assert_string_equal(seen.text[0][2], "requests");
	seen_release(&seen);
	free(body);

	/* an empty request is fine; an unknown metric type is UNKNOWN */
	md.type = 42;
	body = v1_body(s, 0, &mdp, 1, &len);
	assert_int_equal(decode(RW_V1, body, len, &limits, &seen, &c), 0);
	assert_int_equal(c.series, 0);
	assert_int_equal(seen.meta[0].type, RW_TYPE_UNKNOWN);
	seen_release(&seen);
	free(body);
}

static void
test_v1_refused(void **state)
{
	struct v1_series s[2] = { 0 };
	Prompb__MetricMetadata md = PROMPB__METRIC_METADATA__INIT;
	Prompb__MetricMetadata *mdp = &md;

	(void)state;
	/* a good series first: still nothing is given */
	v1_series_init(&s[0], 1, "__name__", "up", NULL);
	v1_series_init(&s[1], 1, "__name__", "9up", NULL);
	v1_refused(s, 2, NULL, 0, -EINVAL, "timeseries[1] (9up): metric "
	    "name '9up'");
	memset(&s[1], 0, sizeof(s[1]));
	v1_series_init(&s[1], 1, "__name__", "up", "a-b", "x", NULL);
	v1_refused(s, 2, NULL, 0, -EINVAL, "timeseries[1] (up): label name "
	    "'a-b'");
	memset(&s[1], 0, sizeof(s[1]));
	v1_series_init(&s[1], 1, "__name__", "up", "job", "a", "job", "b",
	    NULL);
	v1_refused(s, 2, NULL, 0, -EINVAL, "timeseries[1] (up): label 'job' "
	    "is given twice");
	memset(&s[1], 0, sizeof(s[1]));
	v1_series_init(&s[1], 1, "job", "a", NULL);
	v1_refused(s, 2, NULL, 0, -EINVAL, "timeseries[1]: no metric name");
	memset(&s[1], 0, sizeof(s[1]));
	v1_series_init(&s[1], 1, "__name__", "up", "job", "\xff", NULL);
	v1_refused(s, 2, NULL, 0, -EINVAL, "timeseries[1] (up): label 'job': "
	    "value is not UTF-8 at byte 1");
	/* a NUL inside a value is seen, not cut off */
	memset(&s[1], 0, sizeof(s[1]));
	v1_series_init(&s[1], 1, "__name__", "up", "job", "ab", NULL);
	s[1].label[1].value.len = 3;	/* "ab" and its NUL */
	v1_refused(s, 2, NULL, 0, -EINVAL, "value holds a NUL at byte 3");

	md.metric_family_name = bin("a.b");
	v1_refused(s, 1, &mdp, 1, -EINVAL, "metadata[0]: metric name 'a.b'");
	md.metric_family_name = bin("ab");
	md.help = bin("x\xc3");
	v1_refused(s, 1, &mdp, 1, -EINVAL, "metadata[0]: help is not UTF-8 "
	    "at byte 2");
	md.help = bin("");
	md.unit = bin("\x80");
	v1_refused(s, 1, &mdp, 1, -EINVAL, "metadata[0]: unit is not UTF-8");
}

static void
test_bad_bytes(void **state)
{
	static const char junk[] = "\x05hello";	/* says 5, holds garbage */
	static const uint8_t notpb[] = { 0x0a, 0x05, 0x01 };	/* truncated */
	struct seen seen = { 0 };
	size_t len;
	void *body;

	(void)state;
	assert_int_equal(decode(RW_V1, "", 0, &limits, &seen, NULL), -EINVAL);
	detail_has("not snappy block format");
	assert_int_equal(decode(RW_V1, junk, sizeof(junk) - 1, &limits, &seen,
	    NULL), -EINVAL);
	detail_has("is not valid snappy block format");
	body = compress(notpb, sizeof(notpb), &len);
	assert_int_equal(decode(RW_V1, body, len, &limits, &seen, NULL),
	    -EINVAL);
	detail_has("request is not a valid prometheus.WriteRequest protobuf "
	    "message");
	assert_int_equal(decode(RW_V2, body, len, &limits, &seen, NULL),
	    -EINVAL);
	detail_has("io.prometheus.write.v2.Request");
	free(body);
	assert_int_equal(seen.nseries, 0);
}

/* ---- limits ---- */

static void
test_limits(void **state)
{
	/* snappy's header says 2^32 - 1 bytes; what follows is nothing */
	static const uint8_t bomb[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
	struct v1_series s[2] = { 0 };
	struct rw_limits lim = limits;
	struct seen seen = { 0 };
	size_t len;
	void *body;

	(void)state;
	assert_int_equal(decode(RW_V1, bomb, sizeof(bomb), &limits, &seen,
	    NULL), -EFBIG);
	detail_has("uncompresses to 4294967295 bytes, more than the limit of "
	    "1048576");

	v1_series_init(&s[0], 3, "__name__", "a", NULL);
	v1_series_init(&s[1], 2, "__name__", "b", NULL);
	body = v1_body(s, 2, NULL, 0, &len);
	lim.max_samples = 4;
	assert_int_equal(decode(RW_V1, body, len, &lim, &seen, NULL), -EFBIG);
	detail_has("request holds 5 samples, more than the limit of 4");
	lim.max_samples = 5;
	assert_int_equal(decode(RW_V1, body, len, &lim, &seen, NULL), 0);
	assert_int_equal(seen.nseries, 2);
	seen_release(&seen);

	lim.max_size = 10;
	assert_int_equal(decode(RW_V1, body, len, &lim, &seen, NULL), -EFBIG);
	detail_has("more than the limit of 10");
	lim = limits;
	lim.max_memory = 100;
	assert_int_equal(decode(RW_V1, body, len, &lim, &seen, NULL), -EFBIG);
	detail_has("decoding the prometheus.WriteRequest needs more than 100 "
	    "bytes of memory");
	assert_int_equal(seen.nseries, 0);

	/* a callback that stops */
	seen.stop = 7;
	assert_int_equal(decode(RW_V1, body, len, &limits, &seen, NULL), 7);
	assert_int_equal(seen.nseries, 1);
	seen_release(&seen);
	free(body);
}

/* ---- remote write 2.0 ---- */

static const char *symbols[] = { "", "__name__", "http_total", "job",
	"api", "help text", "seconds", "code", "200", "up", "bad name",
	"\xff" };

enum { S_EMPTY, S_NAME, S_HTTP, S_JOB, S_API, S_HELP, S_SECONDS, S_CODE,
	S_200, S_UP, S_BAD, S_NOTUTF8, S_COUNT };

struct v2_series {
	Prompb__V2TimeSeries	 ts;
	uint32_t		 refs[16];
	Prompb__Sample		 sample[4];
	Prompb__Sample		*samplep[4];
	Prompb__V2Metadata	 md;
};

static void
v2_series_init(struct v2_series *s, size_t nsamples, size_t nrefs, ...)
{
	va_list ap;

	memset(s, 0, sizeof(*s));
	prompb__v2_time_series__init(&s->ts);
	va_start(ap, nrefs);
	for (size_t j = 0; j < nrefs; j++)
		s->refs[j] = va_arg(ap, uint32_t);
	va_end(ap);
	s->ts.n_labels_refs = nrefs;
	s->ts.labels_refs = s->refs;
	for (size_t k = 0; k < nsamples; k++) {
		prompb__sample__init(&s->sample[k]);
		s->sample[k].timestamp = -5 + (int64_t)k;
		s->sample[k].value = k == 0 ? (double)NAN : 2.0;
		s->samplep[k] = &s->sample[k];
	}
	s->ts.n_samples = nsamples;
	s->ts.samples = s->samplep;
}

static void *
v2_body(struct v2_series *series, size_t n, size_t *len)
{
	Prompb__V2Request req = PROMPB__V2_REQUEST__INIT;
	ProtobufCBinaryData syms[S_COUNT];
	Prompb__V2TimeSeries *tsp[8];
	uint8_t *msg;
	void *body;

	for (size_t i = 0; i < S_COUNT; i++)
		syms[i] = bin(symbols[i]);
	for (size_t i = 0; i < n; i++)
		tsp[i] = &series[i].ts;
	req.n_symbols = S_COUNT;
	req.symbols = syms;
	req.n_timeseries = n;
	req.timeseries = tsp;
	msg = xmalloc(prompb__v2_request__get_packed_size(&req) + 1);
	body = compress(msg, prompb__v2_request__pack(&req, msg), len);
	free(msg);
	return body;
}

static void
v2_refused(struct v2_series *series, size_t n, int code, const char *want)
{
	struct seen seen = { 0 };
	size_t len;
	void *body = v2_body(series, n, &len);

	assert_int_equal(decode(RW_V2, body, len, &limits, &seen, NULL), code);
	detail_has(want);
	assert_int_equal(seen.nseries, 0);
	assert_int_equal(seen.nmeta, 0);
	free(body);
}

static void
test_v2(void **state)
{
	struct v2_series s[3];
	ProtobufCBinaryData h = bin("h");
	struct seen seen = { 0 };
	struct rw_counts c;
	size_t len;
	void *body;

	(void)state;
	/* refs out of order: the set comes out sorted */
	v2_series_init(&s[0], 2, 6, S_JOB, S_API, S_NAME, S_HTTP, S_CODE,
	    S_200);
	prompb__v2_metadata__init(&s[0].md);
	s[0].md.type = PROMPB__METRIC_METADATA__METRIC_TYPE__HISTOGRAM;
	s[0].md.help_ref = S_HELP;
	s[0].md.unit_ref = S_SECONDS;
	s[0].ts.metadata = &s[0].md;
	v2_series_init(&s[1], 1, 2, S_NAME, S_UP);
	/* empty metadata says nothing: no callback */
	prompb__v2_metadata__init(&s[1].md);
	s[1].ts.metadata = &s[1].md;
	v2_series_init(&s[2], 0, 2, S_NAME, S_UP);
	s[2].ts.n_histograms = 1;
	s[2].ts.histograms = &h;
	s[2].ts.n_exemplars = 1;
	s[2].ts.exemplars = &h;
	body = v2_body(s, 3, &len);

	assert_int_equal(decode(RW_V2, body, len, &limits, &seen, &c), 0);
	assert_int_equal(c.series, 2);
	assert_int_equal(c.samples, 3);
	assert_int_equal(c.metadata, 1);
	assert_int_equal(c.histograms, 1);
	assert_int_equal(c.exemplars, 1);
	assert_string_equal(labels_metric(seen.sets[0]), "http_total");
	assert_string_equal(labels_at(seen.sets[0], 1)->name, "code");
	assert_string_equal(labels_get(seen.sets[0], "code"), "200");
	assert_string_equal(labels_get(seen.sets[0], "job"), "api");
	assert_int_equal(seen.nsamples[0], 2);
	assert_true(isnan(seen.samples[0][0].v));
	assert_int_equal(seen.samples[0][0].t, -5);
	assert_true(seen.samples[0][1].v == 2.0);
	assert_string_equal(labels_metric(seen.sets[1]), "up");
	assert_int_equal(seen.meta[0].type, RW_TYPE_HISTOGRAM);
	assert_string_equal(seen.text[0][0], "http_total");
	assert_string_equal(seen.text[0][1], "help text");
	assert_string_equal(seen.text[0][2], "seconds");
	seen_release(&seen);
	free(body);

	/* a 1.0 body read as 2.0 is an empty request (fields 1 to 3 are
	 * reserved in 2.0), as Prometheus has it */
	{
		struct v1_series one = { 0 };

		v1_series_init(&one, 1, "__name__", "up", NULL);
		body = v1_body(&one, 1, NULL, 0, &len);
		assert_int_equal(decode(RW_V2, body, len, &limits, &seen, &c),
		    0);
		assert_int_equal(c.series, 0);
		free(body);
	}
}

static void
test_v2_refused(void **state)
{
	struct v2_series s[2];

	(void)state;
	v2_series_init(&s[0], 1, 2, S_NAME, S_UP);
	v2_series_init(&s[1], 1, 3, S_NAME, S_UP, S_JOB);
	v2_refused(s, 2, -EINVAL, "timeseries[1]: 3 label refs, not name and "
	    "value pairs");
	v2_series_init(&s[1], 1, 4, S_NAME, S_UP, S_JOB, 99);
	v2_refused(s, 2, -EINVAL, "timeseries[1]: label value ref 99 is past "
	    "the symbol table of 12 symbols");
	v2_series_init(&s[1], 1, 2, 12, S_UP);
	v2_refused(s, 2, -EINVAL, "timeseries[1]: label name ref 12 is past");
	v2_series_init(&s[1], 1, 2, S_NAME, S_BAD);
	v2_refused(s, 2, -EINVAL, "timeseries[1] (bad name): metric name "
	    "'bad name'");
	v2_series_init(&s[1], 1, 4, S_NAME, S_UP, S_BAD, S_UP);
	v2_refused(s, 2, -EINVAL, "timeseries[1] (up): label name 'bad name'");
	v2_series_init(&s[1], 1, 6, S_NAME, S_UP, S_JOB, S_API, S_JOB, S_UP);
	v2_refused(s, 2, -EINVAL, "label 'job' is given twice");
	v2_series_init(&s[1], 1, 2, S_JOB, S_API);
	v2_refused(s, 2, -EINVAL, "timeseries[1]: no metric name");

	v2_series_init(&s[1], 1, 2, S_NAME, S_UP);
	prompb__v2_metadata__init(&s[1].md);
	s[1].md.help_ref = 40;
	s[1].ts.metadata = &s[1].md;
	v2_refused(s, 2, -EINVAL, "timeseries[1]: help ref 40 is past");
	s[1].md.help_ref = S_NOTUTF8;
	v2_refused(s, 2, -EINVAL, "timeseries[1] (up) metadata: help is not "
	    "UTF-8 at byte 1");
	s[1].md.help_ref = 0;
	s[1].md.unit_ref = 12;
	v2_refused(s, 2, -EINVAL, "timeseries[1]: unit ref 12 is past");
}

static void
test_message(void **state)
{
	struct v1_series s = { 0 };
	Prompb__WriteRequest req = PROMPB__WRITE_REQUEST__INIT;
	Prompb__TimeSeries *tsp = &s.ts;
	struct seen seen = { 0 };
	struct rw_handler h = { on_series, on_metadata, &seen };
	struct rw_handler quiet = { NULL, NULL, NULL };
	struct rw_counts c;
	uint8_t msg[256];
	size_t n;

	(void)state;
	v1_series_init(&s, 2, "__name__", "up", NULL);
	req.n_timeseries = 1;
	req.timeseries = &tsp;
	n = prompb__write_request__pack(&req, msg);
	assert_int_equal(rw_decode_message(RW_V1, msg, n, &limits, &h, &c), 0);
	assert_int_equal(seen.nseries, 1);
	seen_release(&seen);
	/* no callbacks: checked and counted all the same */
	assert_int_equal(rw_decode_message(RW_V1, msg, n, &limits, &quiet,
	    &c), 0);
	assert_int_equal(c.series, 1);
	assert_int_equal(c.samples, 2);
	assert_int_equal(rw_decode_message(3, msg, n, &limits, &h, NULL),
	    -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_refused),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_refused),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
