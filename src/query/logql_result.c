/*
 * logql_result.c - a LogQL query's answer written out (logql.h): the
 * "data" object of Loki's query API, and text and CSV for people and
 * scripts.
 *
 * The JSON is what Loki 3 writes (its marshal package over json-iterator):
 *
 *	streams	{"stream":{labels},"values":[["<ns>","line"],...]} a stream,
 *		"values" always there, even empty
 *	vector	{"metric":{labels},"value":[T,"V"]} a series
 *	matrix	{"metric":{labels},"values":[[T,"V"],...]} a series,
 *		"values" always there
 *	scalar	[T,"V"]
 *
 * and after the result, "stats". T is the millisecond time as a float64
 * number of seconds in its shortest digits (1700000000.5, 1700000000),
 * which is what Prometheus's model.Time prints and where Loki differs from
 * Prometheus's own API (which always writes three digits of milliseconds);
 * V is always in 'f' form ("0.0000001", not "1e-07"), or NaN, +Inf, -Inf.
 * Label names and values are written with only quotes, backslashes and
 * control bytes escaped (jw_string_raw); a line as encoding/json would
 * (jw_string: <, > and & too, a byte that is not UTF-8 as U+FFFD), since
 * Loki writes lines with json-iterator's HTML-escaping writer.
 *
 * The stats object has Loki's shape, so that Grafana's query inspector
 * and its "processed bytes" read it: summary, querier, ingester, cache and
 * index, each field where Loki has it. What the store counts (streams,
 * records, lines, bytes, entries, the time) fills the fields that mean
 * the same; a field with no counterpart here (ingesters, caches, shards)
 * is 0.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/labels.h"
#include "query/logql.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/xmalloc.h"

static void
json_labels(struct buf *b, const struct labels *ls)
{
	const struct label *l;
	size_t n = ls != NULL ? labels_count(ls) : 0;

	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		l = labels_at(ls, i);
		if (i > 0)
			buf_putc(b, ',');
		jw_string_raw(b, l->name, l->name_len);
		buf_putc(b, ':');
		jw_string_raw(b, l->value, l->value_len);
	}
	buf_putc(b, '}');
}

static void
json_streams(const struct logql_result *r, struct buf *b)
{
	const struct logql_stream *s;

	buf_putc(b, '[');
	for (size_t i = 0; i < r->nstreams; i++) {
		s = &r->streams[i];
		if (i > 0)
			buf_putc(b, ',');
		buf_puts(b, "{\"stream\":");
		json_labels(b, s->ls);
		buf_puts(b, ",\"values\":[");
		for (size_t k = 0; k < s->n; k++) {
			if (k > 0)
				buf_putc(b, ',');
			buf_printf(b, "[\"%" PRId64 "\",", s->e[k].ts_ns);
			jw_string(b, s->e[k].line, s->e[k].len);
			buf_putc(b, ']');
		}
		buf_puts(b, "]}");
	}
	buf_putc(b, ']');
}

static const char *
metric_type(const struct promql_result *m)
{
	switch (m->type) {
	case PROMQL_TYPE_SCALAR:	return "scalar";
	case PROMQL_TYPE_VECTOR:	return "vector";
	case PROMQL_TYPE_MATRIX:	return "matrix";
	case PROMQL_TYPE_STRING:	return "string";
	case PROMQL_TYPE_NONE:		break;
	}
	return "vector";
}

/* Per second of t nanoseconds, as Loki's int64 rates (0 for no time). */
static int64_t
per_second(uint64_t n, int64_t ns)
{
	if (ns <= 0)
		return 0;
	return (int64_t)((double)n / ((double)ns / 1e9));
}

/* A store's figures: Loki's Store message, our bytes counted as decompressed. */
static void
json_store(struct buf *b, const struct logql_stats *st, int ours)
{
	buf_printf(b, "{\"totalChunksRef\":%" PRIu64 ",\"totalChunksDownloaded\":"
	    "%" PRIu64 ",\"chunksDownloadTime\":0,"
	    "\"queryReferencedStructuredMetadata\":false,\"chunk\":{"
	    "\"headChunkBytes\":0,\"headChunkLines\":0,\"decompressedBytes\":"
	    "%" PRIu64 ",\"decompressedLines\":%" PRIu64 ",\"compressedBytes\":0,"
	    "\"totalDuplicates\":0,\"postFilterLines\":%" PRIu64 ","
	    "\"headChunkStructuredMetadataBytes\":0,"
	    "\"decompressedStructuredMetadataBytes\":0},"
	    "\"chunkRefsFetchTime\":0,\"congestionControlLatency\":0,"
	    "\"pipelineWrapperFilteredLines\":0}",
	    ours ? st->records : 0, ours ? st->records : 0,
	    ours ? st->bytes : 0, ours ? st->lines : 0,
	    ours ? st->entries : 0);
}

static void
json_cache(struct buf *b, const char *name, int first)
{
	buf_printf(b, "%s\"%s\":{\"entriesFound\":0,\"entriesRequested\":0,"
	    "\"entriesStored\":0,\"bytesReceived\":0,\"bytesSent\":0,"
	    "\"requests\":0,\"downloadTime\":0,\"queryLengthServed\":0}",
	    first ? "" : ",", name);
}

static void
json_stats(const struct logql_stats *st, struct buf *b)
{
	static const char *const caches[] = { "chunk", "index", "result",
	    "statsResult", "volumeResult", "seriesResult", "labelResult",
	    "instantMetricResult" };

	buf_printf(b, "{\"summary\":{\"bytesProcessedPerSecond\":%" PRId64 ","
	    "\"linesProcessedPerSecond\":%" PRId64 ",\"totalBytesProcessed\":"
	    "%" PRIu64 ",\"totalLinesProcessed\":%" PRIu64 ",\"execTime\":",
	    per_second(st->bytes, st->exec_ns),
	    per_second(st->lines, st->exec_ns), st->bytes, st->lines);
	jw_float(b, (double)st->exec_ns / 1e9);
	buf_printf(b, ",\"queueTime\":0,\"subqueries\":0,"
	    "\"totalEntriesReturned\":%" PRIu64 ",\"splits\":0,\"shards\":0,"
	    "\"totalPostFilterLines\":%" PRIu64 ","
	    "\"totalStructuredMetadataBytesProcessed\":0},", st->entries,
	    st->entries);
	buf_puts(b, "\"querier\":{\"store\":");
	json_store(b, st, 1);
	buf_puts(b, "},\"ingester\":{\"totalReached\":0,\"totalChunksMatched\":0,"
	    "\"totalBatches\":0,\"totalLinesSent\":0,\"store\":");
	json_store(b, st, 0);
	buf_puts(b, "},\"cache\":{");
	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
		json_cache(b, caches[i], i == 0);
	buf_printf(b, "},\"index\":{\"totalChunks\":0,\"postFilterChunks\":0,"
	    "\"shardsDuration\":0,\"usedBloomFilters\":false}}");
}

int
logql_result_json(const struct logql_result *r, struct buf *b)
{
	if (r->is_log) {
		buf_puts(b, "{\"resultType\":\"streams\",\"result\":");
		json_streams(r, b);
	} else {
		buf_printf(b, "{\"resultType\":\"%s\",\"result\":",
		    r->metric != NULL ? metric_type(r->metric) : "vector");
		if (r->metric != NULL)
			promql_result_json_loki(r->metric, b);
		else
			buf_puts(b, "[]");
	}
	buf_puts(b, ",\"stats\":");
	json_stats(&r->stats, b);
	return buf_putc(b, '}');
}

/* ---- text and CSV ---- */

struct at {
	int64_t		 ts;
	size_t		 stream;
	size_t		 pos;		/* in the stream, read oldest first */
	size_t		 entry;		/* its index in the stream */
	uint64_t	 seq;		/* the order read in */
};

static int
at_cmp(const void *pa, const void *pb)
{
	const struct at *a = pa, *b = pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->stream != b->stream)
		return a->stream < b->stream ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/*
 * Every entry of every stream, oldest first; entries of one time keep
 * the order of the streams (by labels), then their order within the
 * stream read oldest first. *n entries, the caller frees.
 */
static struct at *
oldest_first(const struct logql_result *r, size_t *n)
{
	struct at *v;
	size_t total = 0, k = 0;

	for (size_t i = 0; i < r->nstreams; i++)
		total += r->streams[i].n;
	v = xcalloc(total + 1, sizeof(*v));
	for (size_t i = 0; i < r->nstreams; i++) {
		const struct logql_stream *s = &r->streams[i];
		/* a stream read newest first (BACKWARD) is walked backwards */
		int back = s->n > 1 && s->e[0].ts_ns > s->e[s->n - 1].ts_ns;

		for (size_t j = 0; j < s->n; j++) {
			v[k].ts = s->e[j].ts_ns;
			v[k].stream = i;
			v[k].pos = back ? s->n - 1 - j : j;
			v[k].entry = j;
			v[k].seq = s->e[j].seq;
			k++;
		}
	}
	if (total > 1)
		qsort(v, total, sizeof(*v), at_cmp);
	*n = total;
	return v;
}

static const struct logql_entry *
entry_at(const struct logql_result *r, const struct at *a)
{
	return &r->streams[a->stream].e[a->entry];
}

int
logql_result_text(const struct logql_result *r, struct buf *b)
{
	const struct logql_entry *e;
	struct at *v;
	size_t n;
	int rc = 0;

	if (!r->is_log)
		return r->metric != NULL ? promql_result_text(r->metric, b) : 0;
	v = oldest_first(r, &n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		e = entry_at(r, &v[i]);
		buf_append(b, e->line, e->len);
		rc = buf_putc(b, '\n');
	}
	free(v);
	return rc;
}

/* A CSV field, quoted (quotes doubled) when it holds , " CR or LF. */
static void
csv_field(struct buf *b, const char *s, size_t len)
{
	if (strcspn(s, ",\"\r\n") >= len && memchr(s, '\0', len) == NULL) {
		buf_append(b, s, len);
		return;
	}
	buf_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			buf_putc(b, '"');
		buf_putc(b, s[i]);
	}
	buf_putc(b, '"');
}

/*
 * Nanoseconds as Go's RFC3339Nano writes them in UTC: the fraction
 * without its trailing zeros, none when 0.
 */
static void
rfc3339_nano(struct buf *b, int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	char digits[16];
	struct tm tm;
	time_t t;
	int len;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	gmtime_r(&t, &tm);
	buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac != 0) {
		len = snprintf(digits, sizeof(digits), "%09" PRId64, frac);
		while (len > 0 && digits[len - 1] == '0')
			len--;
		buf_printf(b, ".%.*s", len, digits);
	}
	buf_putc(b, 'Z');
}

/* {a="b", c="d"}, as Loki prints a label set (Go's quoting, roughly). */
static void
stream_name(struct buf *b, const struct labels *ls)
{
	const struct label *l;
	size_t n = ls != NULL ? labels_count(ls) : 0;

	buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		l = labels_at(ls, i);
		if (i > 0)
			buf_puts(b, ", ");
		buf_append(b, l->name, l->name_len);
		buf_puts(b, "=\"");
		for (size_t j = 0; j < l->value_len; j++) {
			char c = l->value[j];

			if (c == '\\' || c == '"')
				buf_putc(b, '\\');
			if (c == '\n')
				buf_puts(b, "\\n");
			else
				buf_putc(b, c);
		}
		buf_putc(b, '"');
	}
	buf_putc(b, '}');
}

int
logql_result_csv(const struct logql_result *r, struct buf *b)
{
	const struct logql_entry *e;
	struct buf *names;
	struct at *v;
	size_t n;
	int rc;

	if (!r->is_log) {
		if (r->metric != NULL)
			return promql_result_csv(r->metric, b);
		return buf_puts(b, "time,series,value\n");
	}
	rc = buf_puts(b, "time,stream,line\n");
	names = xcalloc(r->nstreams + 1, sizeof(*names));
	for (size_t i = 0; i < r->nstreams; i++) {
		buf_init(&names[i], 0);
		stream_name(&names[i], r->streams[i].ls);
	}
	v = oldest_first(r, &n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		e = entry_at(r, &v[i]);
		rfc3339_nano(b, e->ts_ns);
		buf_putc(b, ',');
		csv_field(b, buf_str(&names[v[i].stream]),
		    names[v[i].stream].len);
		buf_putc(b, ',');
		csv_field(b, e->line, e->len);
		rc = buf_putc(b, '\n');
	}
	for (size_t i = 0; i < r->nstreams; i++)
		buf_release(&names[i]);
	free(names);
	free(v);
	return rc;
}
