/*
 * cmd_bench_logql.c - 'shale bench logql DIR': LogQL queries over
 * generated access logs, in process, so that tools/bench/bench-logql.sh
 * can set them beside grep and awk over the same lines in plain files.
 *
 * The data (--load, or when DIR/meta is missing): --bytes of logfmt-like
 * access log lines (time, method, path, status, latency, bytes, a request
 * id unique to the line, client, user agent), each drawn from a hash of
 * its index, so that one size always gives the same lines. Line i of n
 * has the time t0 + i * span / n (t0 a whole hour, span --hours, the end
 * at most now) and goes to one of --streams streams picked by its hash;
 * each stream is a label set {job="nginx", app=..., host=...}. The lines
 * are pushed with logs_push() in batches of BATCH entries, all streams
 * in each, into a file:// store at DIR/store, and written to
 * DIR/raw/HOST.log, one line each, in the same order; then the store is
 * flushed and compacted, so that a query reads tables only. DIR/meta
 * keeps what the queries and the script need (times, the filter
 * substrings, the request id of one line).
 *
 * The queries (--only K runs the K-th alone):
 *	1 filter-all	{job="nginx"} |= RARE over the whole span (a path
 *			about one line in RARE_EVERY has, so that every match
 *			fits in the limit of LOGQL_LIMIT_MAX)
 *	2 count-all	sum(count_over_time({job="nginx"} |= COMMON [span]))
 *			at the end: grep -c's figure
 *	3 filter-hour	query 1 over the last hour
 *	4 needle	{job="nginx"} |= "<request id>" over the whole span
 *	5 status-5m	sum by (status) (count_over_time({job="nginx"}
 *			| logfmt status [5m])) over the span at a 5 min step
 * Each gets a store opened for it as a reader, with an empty block cache
 * (and with --drop-caches the kernel's page cache dropped first): its
 * first evaluation is the cold figure, the median of --runs more the
 * warm one. Beside the times: what the answer holds (entries of a log
 * query; the sum of a metric query's values, which is the lines counted,
 * its series and points), what was read (logql_stats: records, lines,
 * bytes) and the object store GETs (objstore_requests_total{op="get"}).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/logs.h"
#include "query/logql.h"
#include "query/promql.h"
#include "tools/cmd.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define NS		((int64_t)1000000000)
#define HOUR_NS		(3600 * NS)
#define STEP_NS		(300 * NS)	/* the metric query's range and step */
#define BATCH		4096		/* entries a push */
#define RARE		"/admin/export"
#define RARE_EVERY	2000
#define COMMON		"status=503"
#define SEED		0x5eedf00dULL

static const char *const apps[] = { "web", "api", "shop", "auth" };
#define NAPPS		(sizeof(apps) / sizeof(apps[0]))

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* ---- the lines ---- */

struct gen {
	uint64_t	 n;		/* lines */
	size_t		 nstreams;
	int64_t		 t0, span;	/* ns */
};

/* The i-th line's time: spread evenly, never on a step's edge. */
static int64_t
line_ts(const struct gen *g, uint64_t i)
{
	int64_t ts = g->t0 + 1 + (int64_t)((long double)i * g->span / g->n);

	/*
	 * A line on the edge of a 5-minute step would fall in one window
	 * for LogQL ((T - 5m, T]) and in the other bucket for awk, which
	 * cuts the minutes [b, b + 5m): one nanosecond later it is in the
	 * same for both.
	 */
	if ((ts - g->t0) % STEP_NS == 0)
		ts++;
	return ts;
}

static size_t
line_stream(const struct gen *g, uint64_t i)
{
	return (size_t)(mix(i ^ (SEED << 1)) % g->nstreams);
}

/* The request id of line i: 32 hex digits. */
static void
request_id(uint64_t i, char out[33])
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, mix(i ^ SEED),
	    mix(~i ^ SEED));
}

/* Line i, without its newline, appended to b. */
static void
line_make(const struct gen *g, uint64_t i, struct buf *b)
{
	static const char *const methods[] = { "GET", "GET", "GET", "GET",
	    "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD" };
	/* a path is pre, then a number when num, then post */
	static const struct { const char *pre, *post; int num; } paths[] = {
	    { "/api/v1/users/", "", 1 }, { "/api/v1/orders/", "", 1 },
	    { "/api/v1/items/", "/reviews", 1 }, { "/static/app.", ".js", 1 },
	    { "/login", "", 0 }, { "/api/v1/search?q=item", "", 1 },
	    { "/healthz", "", 0 }, { "/cart/", "", 1 } };
	static const char *const agents[] = {
	    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15",
	    "curl/8.5.0", "Go-http-client/1.1", "kube-probe/1.30" };
	/* statuses by thousandths: 200 most, then redirects and errors */
	static const struct { unsigned code, upto; } statuses[] = {
	    { 200, 780 }, { 201, 820 }, { 204, 840 }, { 301, 850 },
	    { 304, 890 }, { 400, 905 }, { 401, 920 }, { 403, 930 },
	    { 404, 970 }, { 500, 980 }, { 502, 985 }, { 503, 1000 } };
	uint64_t h = mix(i + SEED), h2 = mix(h);
	int64_t ts = line_ts(g, i);
	time_t secs = (time_t)(ts / NS);
	unsigned status = 200, th = (unsigned)(h2 % 1000);
	char rid[33], path[64], tbuf[32];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
		if (th < statuses[k].upto) {
			status = statuses[k].code;
			break;
		}
	if (mix(i ^ 0xadULL) % RARE_EVERY == 0)
		snprintf(path, sizeof(path), RARE "?id=%u", (unsigned)(h >> 40));
	else if (paths[(h >> 8) % 8].num)
		snprintf(path, sizeof(path), "%s%u%s", paths[(h >> 8) % 8].pre,
		    (unsigned)((h >> 16) % 100000), paths[(h >> 8) % 8].post);
	else
		snprintf(path, sizeof(path), "%s", paths[(h >> 8) % 8].pre);
	request_id(i, rid);
	buf_printf(b, "ts=%s.%09" PRId64 "Z method=%s path=%s status=%u "
	    "latency_ms=%.3f bytes=%u request_id=%s client=10.%u.%u.%u "
	    "ua=\"%s\"", tbuf, ts % NS, methods[(h >> 4) % 12], path, status,
	    (double)(h2 >> 44) / 4096.0, (unsigned)((h2 >> 20) % 65536),
	    rid, (unsigned)(h >> 56), (unsigned)((h >> 48) & 255),
	    (unsigned)((h >> 40) & 255), agents[(h2 >> 8) % 5]);
}

static void
stream_host(size_t s, char *out, size_t len)
{
	snprintf(out, len, "%s-%02zu", apps[s % NAPPS], s / NAPPS + 1);
}

/* The mean length of a line, with its newline, over a sample of them. */
static double
mean_line(const struct gen *g)
{
	struct buf b;
	double n;

	buf_init(&b, 0);
	for (uint64_t i = 0; i < 4096; i++)
		line_make(g, i * 7919, &b);
	n = (double)b.len / 4096 + 1;
	buf_release(&b);
	return n;
}

/* ---- the store ---- */

static int
open_store(const char *uri, enum engine_mode mode, struct engine_settings *es,
    struct engine **e, struct logs **l)
{
	int rc;

	*l = NULL;
	if ((rc = engine_open(uri, NULL, es, mode, e)) != 0)
		return cmd_fail("cannot open '%s': %s", uri, err_message(rc));
	if ((rc = logs_open(*e, l)) != 0) {
		engine_close(*e);
		*e = NULL;
		return cmd_fail("cannot read the streams of '%s': %s", uri,
		    err_message(rc));
	}
	return 0;
}

static int
close_store(const char *uri, struct engine *e, struct logs *l)
{
	int rc;

	logs_close(l);
	if (e != NULL && (rc = engine_close(e)) != 0)
		return cmd_fail("cannot close '%s': %s", uri, err_message(rc));
	return 0;
}

static double
secs(int64_t ns)
{
	return (double)ns / 1e9;
}

/* What DIR/meta holds. */
struct meta {
	int64_t		 t0, end;	/* ns: the span */
	uint64_t	 lines, raw_bytes, table_bytes;
	size_t		 streams;
	char		 needle[33];
};

static void
iso(int64_t ns, char *out, size_t len)
{
	time_t s = (time_t)(ns / NS);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int
write_meta(const char *dir, const struct meta *m)
{
	char path[4200], a[32], b[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/meta", dir);
	iso(m->end - HOUR_NS, a, sizeof(a));
	iso(m->end, b, sizeof(b));
	if ((f = fopen(path, "w")) == NULL)
		return cmd_fail("%s: %s", path, strerror(errno));
	/* the script reads the names; the times as the raw lines write them */
	fprintf(f, "t0 %" PRId64 "\nend %" PRId64 "\nlines %" PRIu64
	    "\nraw_bytes %" PRIu64 "\ntable_bytes %" PRIu64 "\nstreams %zu\n"
	    "rare %s\ncommon %s\nneedle %s\nhour_from ts=%s\nhour_to ts=%s\n",
	    m->t0, m->end, m->lines, m->raw_bytes, m->table_bytes, m->streams,
	    RARE, COMMON, m->needle, a, b);
	if (fclose(f) != 0)
		return cmd_fail("%s: %s", path, strerror(errno));
	return 0;
}

static int
read_meta(const char *dir, struct meta *m)
{
	char path[4200], key[32], val[64];
	FILE *f;
	int n = 0;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/meta", dir);
	if ((f = fopen(path, "r")) == NULL)
		return cmd_fail("%s: %s (no data: --load first)", path,
		    strerror(errno));
	while (fscanf(f, "%31s %63s", key, val) == 2) {
		if (strcmp(key, "t0") == 0)
			m->t0 = strtoll(val, NULL, 10), n++;
		else if (strcmp(key, "end") == 0)
			m->end = strtoll(val, NULL, 10), n++;
		else if (strcmp(key, "lines") == 0)
			m->lines = strtoull(val, NULL, 10);
		else if (strcmp(key, "needle") == 0)
			snprintf(m->needle, sizeof(m->needle), "%.32s", val), n++;
	}
	fclose(f);
	return n == 3 && m->end > m->t0 ? 0 : cmd_fail("%s: incomplete", path);
}

struct sink {
	struct labels	*ls;
	struct buf	 text;		/* the batch's lines, back to back */
	size_t		*off;		/* where each starts in text */
	int64_t		*ts;		/* and its time */
	size_t		 n, cap, tcap;
	struct logs_entry *e;
	size_t		 ecap;
	FILE		*raw;
};

static int
push_batch(struct logs *l, struct sink *s, size_t ns, uint64_t *seq)
{
	struct logs_push_stream *v = xcalloc(ns, sizeof(*v));
	size_t nv = 0;
	int rc;

	for (size_t k = 0; k < ns; k++) {
		if (s[k].n == 0)
			continue;
		s[k].e = xgrow(s[k].e, &s[k].ecap, s[k].n, sizeof(*s[k].e));
		for (size_t j = 0; j < s[k].n; j++) {
			size_t end = j + 1 < s[k].n ? s[k].off[j + 1] :
			    s[k].text.len;

			s[k].e[j].ts_ns = s[k].ts[j];
			s[k].e[j].line = s[k].text.data + s[k].off[j];
			s[k].e[j].len = end - s[k].off[j];
		}
		v[nv].ls = s[k].ls;
		v[nv].e = s[k].e;
		v[nv].n = s[k].n;
		nv++;
	}
	rc = nv > 0 ? logs_push(l, v, nv, seq) : 0;
	if (rc != 0)
		cmd_fail("push: %s", err_message(rc));
	for (size_t k = 0; k < ns; k++) {
		s[k].n = 0;
		buf_reset(&s[k].text);
	}
	free(v);
	return rc;
}

/* Make the store, the raw files and DIR/meta. */
static int
load(const char *dir, const char *uri, struct engine_settings *es,
    uint64_t bytes, size_t nstreams, double hours)
{
	struct gen g;
	struct meta m;
	struct engine *e = NULL;
	struct logs *l = NULL;
	struct engine_status est;
	struct sink *s;
	char path[4200], host[64];
	int64_t start, ingest, compact;
	uint64_t seq = 0, pending = 0;
	int rc, ret = 1;

	memset(&g, 0, sizeof(g));
	memset(&m, 0, sizeof(m));
	g.nstreams = nstreams;
	g.span = (int64_t)llround(hours * 3600) * NS;
	g.t0 = (clock_wall_ns() - g.span) / HOUR_NS * HOUR_NS;
	/* a line's length does not depend on n: any will do to measure it */
	g.n = 1;
	g.n = (uint64_t)llround((double)bytes / mean_line(&g));
	if (g.n == 0)
		g.n = 1;
	m.t0 = g.t0;
	m.end = g.t0 + g.span;
	m.streams = nstreams;
	request_id(g.n / 2 + 17, m.needle);
	snprintf(path, sizeof(path), "%s/raw", dir);
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return cmd_fail("%s: %s", path, strerror(errno));
	s = xcalloc(nstreams, sizeof(*s));
	for (size_t k = 0; k < nstreams; k++) {
		struct label p[3];

		stream_host(k, host, sizeof(host));
		p[0] = label_str("job", "nginx");
		p[1] = label_str("app", apps[k % NAPPS]);
		p[2] = label_str("host", host);
		if ((rc = labels_new(p, 3, 0, &s[k].ls)) != 0) {
			cmd_fail("labels: %s", err_message(rc));
			goto out_free;
		}
		buf_init(&s[k].text, 0);
		snprintf(path, sizeof(path), "%s/raw/%s.log", dir, host);
		if ((s[k].raw = fopen(path, "w")) == NULL) {
			cmd_fail("%s: %s", path, strerror(errno));
			goto out_free;
		}
		setvbuf(s[k].raw, NULL, _IOFBF, 1 << 20);
	}
	printf("data: %" PRIu64 " lines of about %.0f bytes in %zu streams, "
	    "%g h from %" PRId64 " (ns)\n", g.n, mean_line(&g), nstreams,
	    hours, g.t0);
	if (open_store(uri, ENGINE_WRITER, es, &e, &l) != 0)
		goto out_free;
	start = clock_mono_ns();
	for (uint64_t i = 0; i < g.n; i++) {
		struct sink *k = &s[line_stream(&g, i)];
		size_t at = k->text.len;

		line_make(&g, i, &k->text);
		k->off = xgrow(k->off, &k->cap, k->n + 1, sizeof(*k->off));
		k->ts = xgrow(k->ts, &k->tcap, k->n + 1, sizeof(*k->ts));
		k->ts[k->n] = line_ts(&g, i);
		k->off[k->n++] = at;
		m.raw_bytes += k->text.len - at + 1;
		if (fwrite(k->text.data + at, 1, k->text.len - at, k->raw) !=
		    k->text.len - at || putc('\n', k->raw) == EOF) {
			cmd_fail("raw file: %s", strerror(errno));
			goto out;
		}
		if (++pending == BATCH) {
			if (push_batch(l, s, nstreams, &seq) != 0)
				goto out;
			pending = 0;
		}
	}
	if (pending > 0 && push_batch(l, s, nstreams, &seq) != 0)
		goto out;
	if ((rc = logs_sync(l)) != 0) {
		cmd_fail("sync: %s", err_message(rc));
		goto out;
	}
	ingest = clock_mono_ns() - start;
	start = clock_mono_ns();
	if ((rc = engine_flush(e)) != 0 || (rc = engine_compact(e)) != 0) {
		cmd_fail("compaction: %s", err_message(rc));
		goto out;
	}
	compact = clock_mono_ns() - start;
	engine_status(e, &est);
	m.lines = g.n;
	m.table_bytes = est.table_bytes;
	printf("shale load: %" PRIu64 " lines, %" PRIu64 " raw bytes made, "
	    "written to files and pushed in %.1f s (%.1f MB/s, batches of %d "
	    "entries, in process, synced), flushed and compacted in %.1f s: %"
	    PRIu64 " bytes of tables, %.3f stored bytes per raw byte\n", g.n,
	    m.raw_bytes,
	    secs(ingest), (double)m.raw_bytes / 1e6 / secs(ingest), BATCH,
	    secs(compact), est.table_bytes,
	    (double)est.table_bytes / (double)m.raw_bytes);
	ret = 0;
out:
	if (close_store(uri, e, l) != 0)
		ret = 1;
out_free:
	for (size_t k = 0; k < nstreams; k++) {
		labels_free(s[k].ls);
		buf_release(&s[k].text);
		free(s[k].off);
		free(s[k].ts);
		free(s[k].e);
		if (s[k].raw != NULL && fclose(s[k].raw) != 0 && ret == 0)
			ret = cmd_fail("raw file: %s", strerror(errno));
	}
	free(s);
	if (ret == 0)
		ret = write_meta(dir, &m);
	return ret;
}

/* ---- the queries ---- */

enum qkind { Q_ALL, Q_COUNT, Q_HOUR, Q_NEEDLE, Q_STATUS };

static const struct bquery {
	const char	*name;
	enum qkind	 kind;
} queries[] = {
	{ "filter-all", Q_ALL },
	{ "count-all", Q_COUNT },
	{ "filter-hour", Q_HOUR },
	{ "needle", Q_NEEDLE },
	{ "status-5m", Q_STATUS },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* The query's LogQL and its options over the span of m. */
static void
query_make(const struct bquery *bq, const struct meta *m, struct buf *q,
    struct logql_opts *o)
{
	int64_t span_s = (m->end - m->t0) / NS;

	buf_reset(q);
	memset(o, 0, sizeof(*o));
	o->start_ns = m->t0;
	o->end_ns = m->end;
	o->limit = LOGQL_LIMIT_MAX;
	o->dir = LOGQL_BACKWARD;
	switch (bq->kind) {
	case Q_ALL:
		buf_puts(q, "{job=\"nginx\"} |= \"" RARE "\"");
		break;
	case Q_COUNT:
		buf_printf(q, "sum(count_over_time({job=\"nginx\"} |= \""
		    COMMON "\" [%" PRId64 "%s]))", span_s % 3600 == 0 ?
		    span_s / 3600 : span_s, span_s % 3600 == 0 ? "h" : "s");
		o->start_ns = o->end_ns;
		break;
	case Q_HOUR:
		buf_puts(q, "{job=\"nginx\"} |= \"" RARE "\"");
		o->start_ns = m->end - HOUR_NS;
		break;
	case Q_NEEDLE:
		buf_printf(q, "{job=\"nginx\"} |= \"%s\"", m->needle);
		o->limit = LOGQL_LIMIT_DEFAULT;
		break;
	case Q_STATUS:
		buf_puts(q, "sum by (status) (count_over_time({job=\"nginx\"} "
		    "| logfmt status [5m]))");
		/* the windows (t0, t0 + 5m] ... (end - 5m, end] */
		o->start_ns = m->t0 + STEP_NS;
		o->step_ns = STEP_NS;
		o->max_series = LOGQL_MAX_SERIES;
		break;
	}
	o->timeout_ms = 30 * 60 * 1000LL;
}

struct figures {
	double		 cold_ms, warm_ms;	/* warm: the median */
	double		 gets_cold, gets_warm;	/* warm: the median */
	double		 count;		/* entries, or the sum of the values */
	size_t		 series, points;
	struct logql_stats st;		/* of the cold run */
	char		 err[160];
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
store_gets(void)
{
	struct metric *f = metrics_find(metrics_global(),
	    "objstore_requests_total");

	return f != NULL ? metric_value(metric_series(f, "get")) : 0;
}

/* Drop the kernel's page cache (root only): 0, or -errno. */
static int
drop_caches(void)
{
	int fd, rc = 0;

	sync();
	if ((fd = open("/proc/sys/vm/drop_caches", O_WRONLY)) < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		rc = -errno;
	close(fd);
	return rc;
}

static int
eval_once(struct logs *l, const struct logql_expr *e,
    const struct logql_opts *o, double *ms, struct figures *fg)
{
	struct logql_result *r = NULL;
	int64_t t0 = clock_mono_ns();
	int rc;

	rc = logql_eval(l, e, o, &r);
	*ms = (double)(clock_mono_ns() - t0) / 1e6;
	if (rc != 0) {
		snprintf(fg->err, sizeof(fg->err), "%s", err_message(rc));
		return rc;
	}
	fg->count = 0;
	fg->points = 0;
	if (r->is_log) {
		fg->series = r->nstreams;
		for (size_t i = 0; i < r->nstreams; i++)
			fg->count += (double)r->streams[i].n;
		fg->points = (size_t)fg->count;
	} else {
		const struct promql_result *p = r->metric;

		fg->series = p->type == PROMQL_TYPE_SCALAR ? 1 : p->n;
		if (p->type == PROMQL_TYPE_SCALAR && isfinite(p->scalar))
			fg->count = p->scalar;
		for (size_t i = 0; i < p->n; i++) {
			fg->points += p->series[i].n;
			for (size_t j = 0; j < p->series[i].n; j++)
				if (isfinite(p->series[i].pts[j].v))
					fg->count += p->series[i].pts[j].v;
		}
	}
	fg->st = r->stats;
	logql_result_free(r);
	return 0;
}

/* One query, on a store opened for it. */
static int
run_query(const char *uri, struct engine_settings *es, const char *q,
    const struct logql_opts *o, int runs, int drop, struct figures *fg)
{
	struct logql_expr *e = NULL;
	struct logql_stats cold;
	struct engine *eng;
	struct logs *l;
	double *ms = xcalloc((size_t)runs, sizeof(*ms));
	double *gets = xcalloc((size_t)runs, sizeof(*gets));
	double g0;
	int rc;

	if ((rc = logql_parse(q, strlen(q), &e)) != 0) {
		snprintf(fg->err, sizeof(fg->err), "%s", err_message(rc));
		goto out;
	}
	if (drop && (rc = drop_caches()) != 0)
		fprintf(stderr, "shale: cannot drop the page cache: %s\n",
		    strerror(-rc));
	if (open_store(uri, ENGINE_READER, es, &eng, &l) != 0) {
		snprintf(fg->err, sizeof(fg->err), "cannot open the store");
		rc = -EIO;
		goto out;
	}
	g0 = store_gets();
	rc = eval_once(l, e, o, &fg->cold_ms, fg);
	fg->gets_cold = store_gets() - g0;
	cold = fg->st;
	for (int i = 0; rc == 0 && i < runs; i++) {
		g0 = store_gets();
		rc = eval_once(l, e, o, &ms[i], fg);
		gets[i] = store_gets() - g0;
	}
	fg->st = cold;
	fg->warm_ms = median(ms, (size_t)runs);
	fg->gets_warm = median(gets, (size_t)runs);
	close_store(uri, eng, l);
out:
	logql_free(e);
	free(ms);
	free(gets);
	return rc;
}

static void
print_row(size_t k, const struct bquery *bq, const struct figures *fg)
{
	if (fg->err[0] != '\0') {
		printf("%-2zu %-12s error: %s\n", k, bq->name, fg->err);
		return;
	}
	printf("%-2zu %-12s %10.1f %10.1f %6.0f %6.0f %10.0f %6zu %7zu "
	    "%9" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n", k, bq->name,
	    fg->cold_ms, fg->warm_ms, fg->gets_cold, fg->gets_warm, fg->count,
	    fg->series, fg->points, fg->st.records, fg->st.lines,
	    fg->st.bytes);
}

/* A size with an optional K, M or G (powers of 1024). */
static int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K':
		v *= 1024, end++;
		break;
	case 'm': case 'M':
		v *= 1024 * 1024, end++;
		break;
	case 'g': case 'G':
		v *= 1024 * 1024 * 1024, end++;
		break;
	}
	if (end == s || *end != '\0' || !(v >= 1) || v > 1e15)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

int
cmd_bench_logql(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "load", no_argument, NULL, 'l' },
		{ "query", no_argument, NULL, 'Q' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "streams", required_argument, NULL, 's' },
		{ "hours", required_argument, NULL, 'H' },
		{ "runs", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'k' },
		{ "drop-caches", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct meta m;
	struct stat st;
	struct buf q;
	const char *dir;
	char uri[4200], path[4200];
	uint64_t bytes = 1024ULL * 1024 * 1024;
	size_t nstreams = 16, only = 0;
	double hours = 24, rss = 0, hwm = 0;
	int c, rc, ret = 1, do_load = 0, do_query = 0, runs = 5, drop = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			do_load = 1;
			break;
		case 'Q':
			do_query = 1;
			break;
		case 'b':
			if (parse_size(optarg, &bytes) != 0)
				return cmd_usage("bench", "logql: --bytes: "
				    "a size, as 64M or 1G");
			break;
		case 's':
			nstreams = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'H':
			hours = atof(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'k':
			only = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'd':
			drop = 1;
			break;
		case 'h':
			cmd_usage("bench", NULL);
			return 0;
		default:
			return cmd_usage("bench", NULL);
		}
	}
	if (optind + 1 != argc || nstreams == 0 || nstreams > 1000 ||
	    !(hours >= 1) || hours > 24 * 30 || runs < 1 || only > NQUERIES)
		return cmd_usage("bench", "logql: one directory for the data, "
		    "please (--streams 1 to 1000, --hours 1 to 720, --runs at "
		    "least 1, --only 1 to %zu)", NQUERIES);
	if (!do_load && !do_query)
		do_load = do_query = 1;
	dir = argv[optind];
	snprintf(uri, sizeof(uri), "file://%s/store", dir);
	snprintf(path, sizeof(path), "%s/meta", dir);
	engine_settings_default(&es);
	buf_init(&q, 0);
	if ((rc = cmd_settings_load(&es, NULL)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	es.block_cache_prepopulate = 0;
	if (do_load && (stat(path, &st) != 0 || !do_query)) {
		snprintf(path, sizeof(path), "%s/store", dir);
		if (stat(path, &st) == 0) {
			cmd_fail("%s holds a store already: remove it first",
			    path);
			goto out;
		}
		if (load(dir, uri, &es, bytes, nstreams, hours) != 0)
			goto out;
	}
	if (!do_query) {
		ret = 0;
		goto out;
	}
	if (read_meta(dir, &m) != 0)
		goto out;
	/* the peak of the queries, not of the load */
	{
		int fd = open("/proc/self/clear_refs", O_WRONLY);

		if (fd >= 0) {
			if (write(fd, "5\n", 2) != 2)
				fprintf(stderr, "shale: cannot reset the peak "
				    "RSS\n");
			close(fd);
		}
	}
	printf("in process, %" PRIu64 " lines from %" PRId64 " to %" PRId64
	    " (ns); warm: the median of %d runs; cold: a new block cache%s\n",
	    m.lines, m.t0, m.end, runs, drop ? " and the page cache dropped" :
	    "");
	printf("%-2s %-12s %10s %10s %6s %6s %10s %6s %7s %9s %10s %12s\n", "#",
	    "query", "cold ms", "warm ms", "GETs", "GETs", "count", "series",
	    "points", "records", "lines read", "bytes read");
	ret = 0;
	for (size_t k = 1; k <= NQUERIES; k++) {
		struct logql_opts o;
		struct figures fg;

		if (only != 0 && k != only)
			continue;
		memset(&fg, 0, sizeof(fg));
		query_make(&queries[k - 1], &m, &q, &o);
		rc = run_query(uri, &es, buf_str(&q), &o, runs, drop, &fg);
		print_row(k, &queries[k - 1], &fg);
		if (rc != 0)
			ret = 1;
		fflush(stdout);
	}
	for (size_t k = 1; k <= NQUERIES; k++) {
		struct logql_opts o;

		if (only != 0 && k != only)
			continue;
		query_make(&queries[k - 1], &m, &q, &o);
		printf("%zu: %s", k, buf_str(&q));
		if (o.step_ns > 0)
			printf(" (range, %" PRId64 " to %" PRId64 " s, step %"
			    PRId64 " s)\n", o.start_ns / NS, o.end_ns / NS,
			    o.step_ns / NS);
		else if (o.start_ns == o.end_ns)
			printf(" (instant, at %" PRId64 " s)\n", o.end_ns / NS);
		else
			printf(" (%" PRId64 " to %" PRId64 " s, limit %zu)\n",
			    o.start_ns / NS, o.end_ns / NS, o.limit);
	}
	cmd_proc_mem(getpid(), &rss, &hwm);
	printf("peak RSS in process: %.1f MiB\n", hwm);
out:
	buf_release(&q);
	engine_settings_release(&es);
	return ret;
}
