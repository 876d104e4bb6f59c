/*
 * cmd_bench_query.c - 'shale bench query DIR': the latency of typical
 * dashboard queries in PromQL over node_exporter-like series, in process
 * or through an HTTP API (shale serve's or Prometheus's), so that
 * tools/bench/bench-query.sh can set shale beside Prometheus 2.42 on the
 * same samples.
 *
 * The data (made once, when DIR/store is missing, or with --load): a
 * target template of 97 series (six CPUs' eight modes, network and disk
 * byte counters, request counters and a classic latency histogram of two
 * handlers, memory, load and file system gauges, up) copied to as many
 * targets as --series needs, spread over four jobs, scraped every
 * --interval for --hours, ending at the run's start. Every scrape is one
 * appender commit, then the heads are flushed and the store compacted,
 * so a query reads tables only. Histogram buckets are cumulative, as a
 * client library makes them: each scrape a handler serves a number of
 * requests, and the share under a bound is an exponential's. With
 * --openmetrics FILE the same samples are written as OpenMetrics for
 * 'promtool tsdb create-blocks-from openmetrics'. DIR/end keeps the last
 * scrape's time (ms), the first's and the interval. The instant queries
 * are asked half an interval before the last scrape, and the range
 * query ends there.
 *
 * The queries (--query K runs the K-th alone): the rate of a counter
 * summed by job, histogram_quantile over the buckets' rates summed by
 * le, topk of rates, a sum by job over every series, a memory ratio (a
 * binary operation of two selectors), and the first as a range query
 * over the last 24 hours (or the data's span if shorter) at a 60 s step.
 *
 * In process, each query gets a store opened for it as a reader, with
 * an empty block cache (and with --drop-caches, the kernel's page cache
 * dropped first): its first evaluation is the cold figure, the median
 * of --runs more the warm one. The object store GETs of each are the
 * process's objstore_requests_total{op="get"}. With --url, each query
 * is asked of that server as GET /api/v1/query or /api/v1/query_range:
 * the first answer is the cold figure when the server has just started
 * (the script restarts it before each query), and the GETs are read
 * from the server's /metrics when it has them (shale serve does).
 * Times are wall clock around the evaluation, or around the request and
 * the whole answer read.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/series.h"
#include "query/promql.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define JOBS		4
#define RANGE_MS	(24 * 3600 * 1000LL)	/* the range query's span */
#define RANGE_STEP_MS	(60 * 1000LL)

static const char *const jobs[JOBS] = { "node", "api", "db", "cache" };

/* The queries, in the order of --query and of the table. */
static const struct bquery {
	const char	*name;
	const char	*expr;
	int		 range;
} queries[] = {
	{ "rate-by-job", "sum by (job) (rate(node_cpu_seconds_total[5m]))",
	    0 },
	{ "hist-quantile", "histogram_quantile(0.9, sum by (le) "
	    "(rate(http_request_duration_seconds_bucket[5m])))", 0 },
	{ "topk-rate", "topk(5, rate(node_cpu_seconds_total[5m]))", 0 },
	{ "sum-all", "sum by (job) ({job=~\".+\"})", 0 },
	{ "mem-ratio", "node_memory_MemAvailable_bytes / "
	    "node_memory_MemTotal_bytes", 0 },
	{ "range-24h", "sum by (job) (rate(node_cpu_seconds_total[5m]))", 1 },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

enum kind { COUNTER, FCOUNTER, GAUGE, FGAUGE, CONST, BUCKET, HSUM, HCOUNT };

/* One series of the template, and a copy of it for a target. */
struct qseries {
	struct labels	*ls;
	enum kind	 kind;
	double		 v, rate;
	double		 le, mean;	/* BUCKET: the bound; histograms: mean */
	uint64_t	 rng;
	uint64_t	 hkey;		/* the handler's: shared by its histogram */
};

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

static uint64_t
rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return mix(*s);
}

static double
unit(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/*
 * Requests a handler served in scrape k: the same for every series of
 * its histogram, so that the buckets stay cumulative.
 */
static double
requests(uint64_t hkey, size_t k)
{
	return (double)(mix(hkey ^ mix((uint64_t)k + 1)) % 40);
}

static void
step(struct qseries *q, size_t k, double interval_s)
{
	double r;

	switch (q->kind) {
	case COUNTER:
		q->v += (double)(rnd(&q->rng) % (uint64_t)(2 * q->rate + 1));
		break;
	case FCOUNTER:
		q->v = round((q->v + q->rate * interval_s *
		    (0.5 + unit(&q->rng))) * 100) / 100;
		break;
	case GAUGE:
		q->v += (double)((int64_t)(rnd(&q->rng) % 33) - 16) * 4096;
		break;
	case FGAUGE:
		q->v = round(q->v * (0.99 + unit(&q->rng) * 0.02) * 1000) /
		    1000;
		break;
	case CONST:
		break;
	case BUCKET:
		r = requests(q->hkey, k);
		q->v += isinf(q->le) ? r : round(r * (1 - exp(-q->le / q->mean)));
		break;
	case HSUM:
		q->v = round((q->v + requests(q->hkey, k) * q->mean *
		    (0.8 + 0.4 * unit(&q->rng))) * 1000) / 1000;
		break;
	case HCOUNT:
		q->v += requests(q->hkey, k);
		break;
	}
}

struct gen {
	struct qseries	*v;
	size_t		 n, cap;
};

/* Add series name{pairs..., instance, job} of target tg. */
static void
add(struct gen *g, size_t tg, const char *name, enum kind kind, double v,
    const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct label p[5];
	struct qseries *q;
	char inst[64];
	size_t n = 0;

	snprintf(inst, sizeof(inst), "host-%03zu:9100", tg);
	p[n++] = label_str(LABELS_METRIC_NAME, name);
	p[n++] = label_str("instance", inst);
	p[n++] = label_str("job", jobs[tg % JOBS]);
	if (k1 != NULL)
		p[n++] = label_str(k1, v1);
	if (k2 != NULL)
		p[n++] = label_str(k2, v2);
	g->v = xgrow(g->v, &g->cap, g->n + 1, sizeof(*g->v));
	q = &g->v[g->n++];
	memset(q, 0, sizeof(*q));
	if (labels_new(p, n, 0, &q->ls) != 0)
		abort();
	q->kind = kind;
	q->v = v;
	q->rng = mix(labels_hash(q->ls) | 1);
	switch (kind) {
	case COUNTER:
		q->rate = unit(&q->rng) < 0.2 ? 0 : (double)(1 + rnd(&q->rng) %
		    5000);
		break;
	case FCOUNTER:
		q->rate = unit(&q->rng) < 0.2 ? 0 : 0.001 + unit(&q->rng);
		break;
	default:
		break;
	}
}

/* The 97 series of target tg. */
static void
target(struct gen *g, size_t tg)
{
	static const char *modes[] = { "idle", "iowait", "irq", "nice",
	    "softirq", "steal", "system", "user" };
	static const char *les[] = { "0.005", "0.01", "0.025", "0.05", "0.1",
	    "0.25", "0.5", "1", "2.5", "5", "+Inf" };
	static const char *handlers[] = { "/api/query", "/api/write" };
	static const double means[] = { 0.08, 0.02 };
	char cpu[8];

	for (int c = 0; c < 6; c++)
		for (size_t m = 0; m < 8; m++) {
			snprintf(cpu, sizeof(cpu), "%d", c);
			add(g, tg, "node_cpu_seconds_total", FCOUNTER,
			    1000 + c * 37 + (double)m * 101, "cpu", cpu,
			    "mode", modes[m]);
		}
	for (int d = 0; d < 2; d++) {
		const char *dev = d ? "eth1" : "eth0", *disk = d ? "sdb" : "sda";

		add(g, tg, "node_network_receive_bytes_total", COUNTER, 5.5e9,
		    "device", dev, NULL, NULL);
		add(g, tg, "node_network_transmit_bytes_total", COUNTER, 2.5e9,
		    "device", dev, NULL, NULL);
		add(g, tg, "node_disk_read_bytes_total", COUNTER, 1.2e9,
		    "device", disk, NULL, NULL);
		add(g, tg, "node_disk_written_bytes_total", COUNTER, 9.8e8,
		    "device", disk, NULL, NULL);
	}
	for (size_t h = 0; h < 2; h++) {
		uint64_t hkey = mix(tg * 2 + h + 1);

		add(g, tg, "http_requests_total", COUNTER, 1000, "handler",
		    handlers[h], "code", "200");
		add(g, tg, "http_requests_total", COUNTER, 10, "handler",
		    handlers[h], "code", "500");
		for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
			add(g, tg, "http_request_duration_seconds_bucket",
			    BUCKET, 0, "handler", handlers[h], "le", les[i]);
			g->v[g->n - 1].le = strtod(les[i], NULL);
			g->v[g->n - 1].mean = means[h];
			g->v[g->n - 1].hkey = hkey;
		}
		add(g, tg, "http_request_duration_seconds_sum", HSUM, 0,
		    "handler", handlers[h], NULL, NULL);
		g->v[g->n - 1].mean = means[h];
		g->v[g->n - 1].hkey = hkey;
		add(g, tg, "http_request_duration_seconds_count", HCOUNT, 0,
		    "handler", handlers[h], NULL, NULL);
		g->v[g->n - 1].hkey = hkey;
	}
	add(g, tg, "node_memory_MemTotal_bytes", CONST, 16e9, NULL, NULL,
	    NULL, NULL);
	add(g, tg, "node_memory_MemAvailable_bytes", GAUGE, 8.123e9, NULL,
	    NULL, NULL, NULL);
	add(g, tg, "node_memory_MemFree_bytes", GAUGE, 1.234e9, NULL, NULL,
	    NULL, NULL);
	add(g, tg, "node_load1", FGAUGE, 0.42, NULL, NULL, NULL, NULL);
	add(g, tg, "node_load5", FGAUGE, 0.37, NULL, NULL, NULL, NULL);
	add(g, tg, "node_load15", FGAUGE, 0.3, NULL, NULL, NULL, NULL);
	add(g, tg, "node_filesystem_avail_bytes", GAUGE, 5e10, "mountpoint",
	    "/", NULL, NULL);
	add(g, tg, "node_filesystem_avail_bytes", GAUGE, 4e11, "mountpoint",
	    "/data", NULL, NULL);
	add(g, tg, "node_filesystem_size_bytes", CONST, 1e11, "mountpoint",
	    "/", NULL, NULL);
	add(g, tg, "node_filesystem_size_bytes", CONST, 1e12, "mountpoint",
	    "/data", NULL, NULL);
	add(g, tg, "up", CONST, 1, NULL, NULL, NULL, NULL);
}

static void
generate(struct gen *g, size_t nseries)
{
	for (size_t tg = 0; g->n < nseries; tg++)
		target(g, tg);
	for (size_t i = nseries; i < g->n; i++)
		labels_free(g->v[i].ls);
	g->n = nseries;
}

static int
write_openmetrics(const char *path, const struct qseries *init, size_t n,
    size_t steps, int64_t t0, int64_t interval)
{
	FILE *f = fopen(path, "w");
	struct buf name;
	struct qseries q;

	if (f == NULL)
		return cmd_fail("%s: %s", path, strerror(errno));
	buf_init(&name, 0);
	for (size_t i = 0; i < n; i++) {
		q = init[i];
		buf_reset(&name);
		buf_puts(&name, labels_metric(q.ls));
		labels_file_name(q.ls, &name);
		for (size_t k = 0; k < steps; k++) {
			int64_t t = t0 + (int64_t)k * interval;

			fprintf(f, "%s %.17g %" PRId64 ".%03d\n", buf_str(&name),
			    q.v, t / 1000, (int)(t % 1000));
			step(&q, k, (double)interval / 1000);
		}
	}
	fprintf(f, "# EOF\n");
	buf_release(&name);
	if (fclose(f) != 0)
		return cmd_fail("%s: %s", path, strerror(errno));
	return 0;
}

static int
open_store(const char *uri, enum engine_mode mode, size_t max_series,
    struct engine_settings *es, struct engine **e, struct series **s)
{
	struct series_options so;
	int rc;

	*e = NULL;
	*s = NULL;
	if ((rc = engine_open(uri, NULL, es, mode, e)) != 0)
		return cmd_fail("cannot open '%s': %s", uri, err_message(rc));
	daemon_series_options(es, &so);
	if (max_series > 0)
		so.max_series = max_series;
	if ((rc = series_open(*e, &so, s)) != 0) {
		engine_close(*e);
		*e = NULL;
		return cmd_fail("cannot read the series of '%s': %s", uri,
		    err_message(rc));
	}
	return 0;
}

static int
close_store(const char *uri, struct engine *e, struct series *s)
{
	int rc;

	series_close(s);
	if (e != NULL && (rc = engine_close(e)) != 0)
		return cmd_fail("cannot close '%s': %s", uri, err_message(rc));
	return 0;
}

static double
secs(int64_t ns)
{
	return (double)ns / 1e9;
}

/* Make the store and DIR/end; the OpenMetrics file when asked. */
static int
load(const char *dir, const char *uri, struct engine_settings *es,
    size_t nseries, double hours, double interval_s, const char *om)
{
	struct gen g = { 0 };
	struct qseries *init;
	struct engine *e;
	struct series *s;
	struct engine_status est;
	struct series_sample x;
	struct series_appender *a;
	char path[4200];
	size_t steps;
	int64_t interval, t0, start, ingest, compact;
	uint64_t samples = 0;
	FILE *f;
	int rc, ret = 1;

	interval = (int64_t)llround(interval_s * 1000);
	steps = (size_t)(hours * 3600 * 1000 / (double)interval);
	if (steps == 0)
		steps = 1;
	generate(&g, nseries);
	init = xmalloc(g.n * sizeof(*init));
	memcpy(init, g.v, g.n * sizeof(*init));
	t0 = (clock_wall_ns() / 1000000 - (int64_t)(hours * 3600 * 1000)) /
	    interval * interval;
	printf("data: %zu series, %zu jobs, %zu scrapes every %g s = %zu "
	    "samples, %" PRId64 " to %" PRId64 " (ms)\n", g.n, (size_t)JOBS,
	    steps, interval_s, g.n * steps, t0,
	    t0 + (int64_t)(steps - 1) * interval);
	if (open_store(uri, ENGINE_WRITER, g.n + 1, es, &e, &s) != 0)
		goto out_free;
	start = clock_mono_ns();
	a = series_appender_new(s);
	for (size_t k = 0; k < steps; k++) {
		struct series_counts cnt;

		x.t = t0 + (int64_t)k * interval;
		for (size_t i = 0; i < g.n; i++) {
			x.v = g.v[i].v;
			series_appender_add(a, g.v[i].ls, &x, 1);
			step(&g.v[i], k, interval_s);
		}
		if ((rc = series_appender_commit(a, &cnt, NULL)) != 0) {
			cmd_fail("commit: %s", err_message(rc));
			series_appender_free(a);
			goto out;
		}
		samples += cnt.samples;
	}
	series_appender_free(a);
	ingest = clock_mono_ns() - start;
	start = clock_mono_ns();
	if ((rc = series_flush_heads(s)) != 0 || (rc = engine_flush(e)) != 0 ||
	    (rc = engine_compact(e)) != 0) {
		cmd_fail("compaction: %s", err_message(rc));
		goto out;
	}
	compact = clock_mono_ns() - start;
	engine_status(e, &est);
	printf("shale load: %" PRIu64 " samples appended in %.1f s (%.0f "
	    "samples/s, one commit a scrape, no HTTP), flushed and compacted "
	    "in %.1f s: %" PRIu64 " bytes of tables\n", samples, secs(ingest),
	    (double)samples / secs(ingest), secs(compact), est.table_bytes);
	ret = 0;
out:
	if (close_store(uri, e, s) != 0)
		ret = 1;
	if (ret == 0 && om != NULL) {
		start = clock_mono_ns();
		if (write_openmetrics(om, init, g.n, steps, t0, interval) != 0)
			ret = 1;
		else
			printf("openmetrics: written in %.1f s to %s\n",
			    secs(clock_mono_ns() - start), om);
	}
	snprintf(path, sizeof(path), "%s/end", dir);
	if (ret == 0 && ((f = fopen(path, "w")) == NULL ||
	    fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 "\n", t0 +
	    (int64_t)(steps - 1) * interval, t0, interval) < 0 ||
	    fclose(f) != 0))
		ret = cmd_fail("%s: %s", path, strerror(errno));
out_free:
	for (size_t i = 0; i < g.n; i++)
		labels_free(init[i].ls);
	free(init);
	free(g.v);
	return ret;
}

/* ---- measuring ---- */

struct figures {
	double		 cold_ms, warm_ms;	/* warm: the median */
	double		 gets_cold, gets_warm;	/* warm: the median; < 0 unknown */
	size_t		 nseries;		/* series in the answer */
	double		 sum;			/* of its finite values */
	uint64_t	 samples;		/* touched (in process) */
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
eval_once(struct series *s, const struct promql_node *e,
    const struct bquery *bq, int64_t end, int64_t span, double *ms,
    struct figures *fg)
{
	struct promql_result *r = NULL;
	struct promql_opts o = { 0 };
	int64_t t0 = clock_mono_ns();
	int rc;

	if (bq->range)
		rc = promql_eval_range(s, e, end - span, end, RANGE_STEP_MS, &o,
		    &r);
	else
		rc = promql_eval_instant(s, e, end, &o, &r);
	*ms = (double)(clock_mono_ns() - t0) / 1e6;
	if (rc != 0) {
		snprintf(fg->err, sizeof(fg->err), "%s", err_message(rc));
		return rc;
	}
	fg->nseries = r->type == PROMQL_TYPE_SCALAR ? 1 : r->n;
	fg->sum = r->type == PROMQL_TYPE_SCALAR && isfinite(r->scalar) ?
	    r->scalar : 0;
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = 0; j < r->series[i].n; j++)
			if (isfinite(r->series[i].pts[j].v))
				fg->sum += r->series[i].pts[j].v;
	fg->samples = r->stats.samples;
	promql_result_free(r);
	return 0;
}

/* One query in process, on a store opened for it. */
static int
run_local(const char *uri, struct engine_settings *es,
    const struct bquery *bq, int64_t end, int64_t span, int runs, int drop,
    struct figures *fg)
{
	struct promql_node *e = NULL;
	struct engine *eng;
	struct series *s;
	double *ms = xcalloc((size_t)runs + 1, sizeof(*ms));
	double *gets = xcalloc((size_t)runs + 1, sizeof(*gets));
	double g0;
	int rc;

	if ((rc = promql_parse(bq->expr, strlen(bq->expr), &e)) != 0) {
		snprintf(fg->err, sizeof(fg->err), "%s", err_message(rc));
		goto out;
	}
	if (drop && (rc = drop_caches()) != 0)
		fprintf(stderr, "shale: cannot drop the page cache: %s\n",
		    strerror(-rc));
	if (open_store(uri, ENGINE_READER, 0, es, &eng, &s) != 0) {
		snprintf(fg->err, sizeof(fg->err), "cannot open the store");
		rc = -EIO;
		goto out;
	}
	g0 = store_gets();
	rc = eval_once(s, e, bq, end, span, &fg->cold_ms, fg);
	fg->gets_cold = store_gets() - g0;
	for (int i = 0; rc == 0 && i < runs; i++) {
		g0 = store_gets();
		rc = eval_once(s, e, bq, end, span, &ms[i], fg);
		gets[i] = store_gets() - g0;
	}
	fg->warm_ms = median(ms, (size_t)runs);
	fg->gets_warm = median(gets, (size_t)runs);
	close_store(uri, eng, s);
out:
	promql_free(e);
	free(ms);
	free(gets);
	return rc;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

/* GET url into b: 0, or -EIO having set err. */
static int
http_get(CURL *c, const char *url, struct buf *b, char *err, size_t errlen)
{
	long code = 0;
	CURLcode cc;

	buf_reset(b);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(cc));
		return -EIO;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		const char *m = strstr(buf_str(b), "\"error\":\"");
		char *q;

		snprintf(err, errlen, "HTTP %ld: %.100s", code,
		    m != NULL ? m + 9 : buf_str(b));
		if ((q = strchr(err, '"')) != NULL)
			*q = '\0';
		return -EIO;
	}
	return 0;
}

/* The server's object store GETs so far, from its /metrics; < 0 if none. */
static double
server_gets(CURL *c, const char *base, struct buf *b)
{
	static const char key[] = "\nobjstore_requests_total{op=\"get\"} ";
	char url[4200], err[160];
	const char *p;

	snprintf(url, sizeof(url), "%s/metrics", base);
	if (http_get(c, url, b, err, sizeof(err)) != 0 ||
	    (p = strstr(buf_str(b), key)) == NULL)
		return -1;
	return strtod(p + sizeof(key) - 1, NULL);
}

/*
 * The series of an answer of the API and the sum of its finite values,
 * to hold two servers' answers to each other: every point is written
 * [time,"value"].
 */
static size_t
count_series(const char *json, double *sum)
{
	size_t n = 0;
	double t, v;
	char c;

	for (const char *p = json; (p = strstr(p, "\"metric\":")) != NULL; p++)
		n++;
	*sum = 0;
	for (const char *p = json; (p = strchr(p, '[')) != NULL; p++)
		if (sscanf(p, "[%lf,\"%lf%c", &t, &v, &c) == 3 && c == '"' &&
		    isfinite(v))
			*sum += v;
	return n;
}

/* One query through an HTTP API, the first answer as the cold one. */
static int
run_http(CURL *c, const char *base, const struct bquery *bq, int64_t end,
    int64_t span, int runs, struct figures *fg)
{
	struct buf b, mb;
	char *q = curl_easy_escape(c, bq->expr, 0), *url;
	double *ms = xcalloc((size_t)runs + 1, sizeof(*ms));
	double *gets = xcalloc((size_t)runs + 1, sizeof(*gets));
	double g0, g1;
	size_t len = strlen(base) + strlen(q) + 200;
	int rc = 0;

	url = xmalloc(len);
	if (bq->range)
		snprintf(url, len, "%s/api/v1/query_range?query=%s&start=%.3f"
		    "&end=%.3f&step=%lld", base, q, (double)(end - span) / 1000,
		    (double)end / 1000, RANGE_STEP_MS / 1000);
	else
		snprintf(url, len, "%s/api/v1/query?query=%s&time=%.3f", base,
		    q, (double)end / 1000);
	buf_init(&b, 0);
	buf_init(&mb, 0);
	for (int i = -1; i < runs; i++) {
		int64_t t0;
		double took;

		g0 = server_gets(c, base, &mb);
		t0 = clock_mono_ns();
		rc = http_get(c, url, &b, fg->err, sizeof(fg->err));
		took = (double)(clock_mono_ns() - t0) / 1e6;
		if (rc != 0)
			break;
		if (strstr(buf_str(&b), "\"status\":\"success\"") == NULL) {
			snprintf(fg->err, sizeof(fg->err), "%.100s", buf_str(&b));
			rc = -EIO;
			break;
		}
		g1 = server_gets(c, base, &mb);
		if (i < 0) {
			fg->cold_ms = took;
			fg->gets_cold = g0 < 0 ? -1 : g1 - g0;
			fg->nseries = count_series(buf_str(&b), &fg->sum);
		} else {
			ms[i] = took;
			gets[i] = g0 < 0 ? -1 : g1 - g0;
		}
	}
	fg->warm_ms = median(ms, (size_t)runs);
	fg->gets_warm = median(gets, (size_t)runs);
	buf_release(&b);
	buf_release(&mb);
	curl_free(q);
	free(url);
	free(ms);
	free(gets);
	return rc;
}

static void
print_row(size_t k, const struct bquery *bq, const struct figures *fg)
{
	char gc[32] = "-", gw[32] = "-", sm[32] = "-";

	if (fg->err[0] != '\0') {
		printf("%-2zu %-14s error: %s\n", k, bq->name, fg->err);
		return;
	}
	if (fg->gets_cold >= 0)
		snprintf(gc, sizeof(gc), "%.0f", fg->gets_cold);
	if (fg->gets_warm >= 0)
		snprintf(gw, sizeof(gw), "%.0f", fg->gets_warm);
	if (fg->samples > 0)
		snprintf(sm, sizeof(sm), "%" PRIu64, fg->samples);
	printf("%-2zu %-14s %10.2f %10.2f %9s %9s %7zu %11s %.10g\n", k,
	    bq->name, fg->cold_ms, fg->warm_ms, gc, gw, fg->nseries, sm,
	    fg->sum);
}

/* The last scrape's time, the first's and the interval, from DIR/end. */
static int
read_end(const char *dir, int64_t *end, int64_t *first, int64_t *interval)
{
	char path[4200];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/end", dir);
	if ((f = fopen(path, "r")) == NULL)
		return cmd_fail("%s: %s (no data: --load first)", path,
		    strerror(errno));
	ok = fscanf(f, "%" SCNd64 " %" SCNd64 " %" SCNd64, end, first,
	    interval) == 3 && *interval > 0;
	fclose(f);
	return ok ? 0 : cmd_fail("%s: not a time", path);
}

int
cmd_bench_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "series", required_argument, NULL, 'n' },
		{ "hours", required_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "openmetrics", required_argument, NULL, 'o' },
		{ "load", no_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'r' },
		{ "query", required_argument, NULL, 'q' },
		{ "url", required_argument, NULL, 'u' },
		{ "drop-caches", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct stat st;
	const char *om = NULL, *url = NULL, *dir;
	char uri[4200], path[4200];
	size_t nseries = 10000, only = 0;
	double hours = 24, interval_s = 15, rss = 0, hwm = 0;
	int64_t end, first, interval, span;
	int c, rc, ret = 1, load_only = 0, runs = 10, drop = 0;
	CURL *curl = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			nseries = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'H':
			hours = atof(optarg);
			break;
		case 'i':
			interval_s = atof(optarg);
			break;
		case 'o':
			om = optarg;
			break;
		case 'l':
			load_only = 1;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'q':
			only = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'u':
			url = optarg;
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
	if (optind + 1 != argc || nseries == 0 || hours <= 0 ||
	    interval_s < 0.001 || runs < 1 || only > NQUERIES)
		return cmd_usage("bench", "query: one directory for the store, "
		    "please (--query 1 to %zu, --runs at least 1)", NQUERIES);
	dir = argv[optind];
	snprintf(uri, sizeof(uri), "file://%s/store", dir);
	snprintf(path, sizeof(path), "%s/store", dir);
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, NULL)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	es.block_cache_prepopulate = 0;
	if (stat(path, &st) != 0 || load_only) {
		if (load(dir, uri, &es, nseries, hours, interval_s, om) != 0)
			goto out;
		if (load_only) {
			ret = 0;
			goto out;
		}
	}
	if (read_end(dir, &end, &first, &interval) != 0)
		goto out;
	/*
	 * Half an interval before the last scrape, so that no window's
	 * edge falls on a sample: there Prometheus 3, whose semantics shale
	 * has (a window leaves its start out), and Prometheus 2.42 (which
	 * keeps it) would answer differently.
	 */
	end -= interval / 2;
	span = end - first < RANGE_MS ? end - first : RANGE_MS;
	span = span / RANGE_STEP_MS * RANGE_STEP_MS;
	if (url != NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if ((curl = curl_easy_init()) == NULL) {
			cmd_fail("cannot start libcurl");
			goto out;
		}
	} else {
		/* the peak of the queries, not of the load */
		int fd = open("/proc/self/clear_refs", O_WRONLY);

		if (fd >= 0) {
			if (write(fd, "5\n", 2) != 2)
				fprintf(stderr, "shale: cannot reset the peak "
				    "RSS\n");
			close(fd);
		}
	}
	printf("%s, instant queries at %.3f, warm: the median of %d runs%s\n",
	    url != NULL ? url : "in process", (double)end / 1000, runs,
	    url == NULL && drop ? "; cold: a new block cache and the page "
	    "cache dropped" : url == NULL ? "; cold: a new block cache" :
	    "; cold: the first answer");
	printf("%-2s %-14s %10s %10s %9s %9s %7s %11s %s\n", "#", "query",
	    "cold ms", "warm ms", "GETs cold", "GETs warm", "series",
	    "samples", "sum");
	ret = 0;
	for (size_t k = 1; k <= NQUERIES; k++) {
		struct figures fg;

		if (only != 0 && k != only)
			continue;
		memset(&fg, 0, sizeof(fg));
		if (url != NULL)
			rc = run_http(curl, url, &queries[k - 1], end, span, runs,
			    &fg);
		else
			rc = run_local(uri, &es, &queries[k - 1], end, span, runs,
			    drop, &fg);
		print_row(k, &queries[k - 1], &fg);
		if (rc != 0)
			ret = 1;
		fflush(stdout);
	}
	for (size_t k = 1; k <= NQUERIES; k++)
		if (only == 0 || k == only)
			printf("%zu: %s%s\n", k, queries[k - 1].expr,
			    queries[k - 1].range ? " (a range query, 60 s "
			    "step)" : "");
	if (url == NULL) {
		cmd_proc_mem(getpid(), &rss, &hwm);
		printf("peak RSS in process: %.1f MiB\n", hwm);
	}
out:
	if (curl != NULL) {
		curl_easy_cleanup(curl);
		curl_global_cleanup();
	}
	engine_settings_release(&es);
	return ret;
}
