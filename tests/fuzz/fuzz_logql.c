/*
 * fuzz_logql.c - libFuzzer harness for whole LogQL queries (logql.h):
 * the query parser, the printer and the evaluator.
 *
 * The input is a query. What parses is printed, and the print must parse
 * again to a query that prints the same bytes. Then it is evaluated over
 * a small store made once, in a directory of its own removed at exit:
 * four streams pushed with logs_push(), of logfmt lines, JSON lines and
 * plain lines (a few not UTF-8), a line a second over ten minutes. A log
 * query runs backward and forward over the whole store under a small
 * limit; a metric query runs at two instants and over a range of 20
 * steps. Limits are tight (a fifth of a second, 20 series), so a query
 * that would run long fails instead. An evaluation may fail, but only as
 * a query fails (bad_data, execution, a timeout), with a message; the
 * store failing (-EIO) or a crash is a bug, and so is an answer that
 * breaks the header's promises (a log query's entries inside the range,
 * in the direction, at most limit of them; every series with labels).
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/labels.h"
#include "model/logs.h"
#include "query/logql.h"
#include "query/promql.h"
#include "util/buf.h"
#include "util/error.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEC	1000000000LL
#define T0	(1700000000LL * SEC)	/* the first entry */
#define N	600			/* ten minutes, a line a second */
#define LIMIT	30

static char		 dir[] = "/tmp/shale-fuzz-logql.XXXXXX";
static struct engine	*eng;
static struct logs	*store;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	if (store != NULL)
		logs_close(store);
	if (eng != NULL)
		engine_close(eng);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Line k of stream i, in buffer b. */
static size_t
line(int i, int k, char *b, size_t n)
{
	static const char *const lv[] = { "info", "warn", "error", "debug" };
	int st = k % 7 == 0 ? 500 : k % 5 == 0 ? 404 : 200;

	switch (i) {
	case 0:
		return (size_t)snprintf(b, n, "level=%s status=%d took=%dms "
		    "size=%dKiB msg=\"req %d\" path=/v1/items/%d", lv[k % 4],
		    st, k % 97, k % 13, k, k * 7);
	case 1:
		return (size_t)snprintf(b, n, "{\"level\":\"%s\",\"status\":%d,"
		    "\"req\":{\"ms\":%d.%d,\"path\":\"/a/%d\"},\"arr\":[%d,"
		    "{\"x\":%d}],\"n\":\"%d\"}", lv[k % 4], st, k % 50, k % 10,
		    k % 3, k, k % 11, k);
	case 2:
		return (size_t)snprintf(b, n, "10.0.0.%d - - [14/Nov/2023:22:"
		    "13:%02d +0000] \"GET /x/%d HTTP/1.1\" %d %d", k % 9,
		    k % 60, k, st, k * 3);
	default:
		/* colours, bytes that are not UTF-8, an empty line */
		if (k % 10 == 3)
			return 0;
		return (size_t)snprintf(b, n, "%s\x1b[3%dm%d\x1b[0m \xff%c "
		    "dur=%ds", k % 2 ? "plain" : "\xc3 bad", k % 8, k,
		    'a' + k % 26, k % 30);
	}
}

static void
setup(void)
{
	static const char *const app[] = { "api", "api", "web", "db" };
	static const char *const fmt[] = { "logfmt", "json", "access", "raw" };
	struct engine_settings es;
	struct logs_push_stream v[4];
	struct logs_entry *e[4];
	struct labels *ls[4];
	char uri[64];
	uint64_t seq;

	if (mkdtemp(dir) == NULL)
		abort();
	atexit(teardown);
	snprintf(uri, sizeof(uri), "file://%s", dir);
	engine_settings_default(&es);
	if (engine_open(uri, NULL, &es, ENGINE_WRITER, &eng) != 0 ||
	    logs_open(eng, &store) != 0)
		abort();
	engine_settings_release(&es);
	for (int i = 0; i < 4; i++) {
		struct label l[3] = {
			label_str("app", app[i]),
			label_str("format", fmt[i]),
			label_str("env", i % 2 ? "prod" : "dev"),
		};

		if (labels_new(l, 3, 0, &ls[i]) != 0)
			abort();
		e[i] = calloc(N, sizeof(*e[i]));
		for (int k = 0; k < N; k++) {
			char b[256], *p;
			size_t n = line(i, k, b, sizeof(b));

			if ((p = malloc(n + 1)) == NULL)
				abort();
			memcpy(p, b, n + 1);
			/* a few a little out of order, as Loki takes them */
			e[i][k].ts_ns = T0 + (int64_t)k * SEC + i * 1000 -
			    (k % 17 == 5 ? 3 * SEC : 0);
			e[i][k].line = p;
			e[i][k].len = n;
		}
		v[i] = (struct logs_push_stream){ ls[i], e[i], N };
	}
	if (logs_push(store, v, 4, &seq) != 0 ||
	    logs_sync_seq(store, seq, 10000) != 0)
		abort();
	for (int i = 0; i < 4; i++) {
		for (int k = 0; k < N; k++)
			free((char *)e[i][k].line);
		free(e[i]);
		labels_free(ls[i]);
	}
}

static int
verbose(void)
{
	return getenv("SHALE_FUZZ_VERBOSE") != NULL;
}

/* An evaluation's failure: a query's, worded, never the store's. */
static void
failed(int rc)
{
	if (verbose())
		fprintf(stderr, "error %d: %s\n", rc, err_detail());
	if (rc != -EINVAL && rc != -EDOM && rc != -ETIMEDOUT &&
	    rc != -ENOMEM && rc != -ERANGE)
		abort();
	if (err_detail()[0] == '\0')
		abort();
}

static void
check_log(const struct logql_result *r, const struct logql_opts *o)
{
	size_t total = 0;

	if (!r->is_log || r->metric != NULL)
		abort();
	for (size_t i = 0; i < r->nstreams; i++) {
		const struct logql_stream *s = &r->streams[i];

		if (s->ls == NULL || s->n == 0)
			abort();
		if (i > 0 && labels_compare(r->streams[i - 1].ls, s->ls) >= 0)
			abort();
		for (size_t k = 0; k < s->n; k++) {
			const struct logql_entry *en = &s->e[k];

			if (en->ts_ns < o->start_ns || en->ts_ns >= o->end_ns ||
			    (en->line == NULL && en->len > 0))
				abort();
			if (k > 0 && (o->dir == LOGQL_FORWARD ?
			    en->ts_ns < s->e[k - 1].ts_ns :
			    en->ts_ns > s->e[k - 1].ts_ns))
				abort();
		}
		total += s->n;
	}
	if (total > o->limit || r->stats.entries != total)
		abort();
}

static void
check_metric(const struct logql_result *r, int instant)
{
	const struct promql_result *m = r->metric;

	if (r->is_log || m == NULL)
		abort();
	for (size_t k = 0; k < m->n; k++)
		if (m->series[k].ls == NULL || (instant &&
		    m->type == PROMQL_TYPE_VECTOR && m->series[k].n != 1))
			abort();
	if (m->type != PROMQL_TYPE_SCALAR && m->n > 20)
		abort();
}

static void
run(const struct logql_expr *e, const struct logql_opts *o, int instant)
{
	struct logql_result *r;
	struct buf b;
	int rc;

	err_clear();
	if ((rc = logql_eval(store, e, o, &r)) != 0) {
		failed(rc);
		return;
	}
	if (logql_is_log(e))
		check_log(r, o);
	else
		check_metric(r, instant);
	/* every way out, so a sanitizer sees what they read */
	buf_init(&b, 0);
	if (logql_result_json(r, &b) != 0 || logql_result_text(r, &b) != 0 ||
	    logql_result_csv(r, &b) != 0)
		abort();
	if (verbose())
		fprintf(stderr, "%s\n", b.len > 2000 ? "(long answer)" :
		    b.data ? b.data : "");
	buf_release(&b);
	logql_result_free(r);
}

static void
eval(const struct logql_expr *e)
{
	struct logql_opts o = {
		.timeout_ms = 200, .max_series = 20, .limit = LIMIT,
	};

	if (logql_is_log(e)) {
		o.start_ns = T0 - 60 * SEC;
		o.end_ns = T0 + (N + 60) * SEC;
		o.dir = LOGQL_BACKWARD;
		run(e, &o, 0);
		o.start_ns = T0 + 100 * SEC;
		o.end_ns = T0 + 130 * SEC + 500;
		o.dir = LOGQL_FORWARD;
		run(e, &o, 0);
		return;
	}
	o.limit = 0;
	o.end_ns = T0 + 300 * SEC + 7;
	run(e, &o, 1);
	o.end_ns = T0 + (N + 120) * SEC;
	run(e, &o, 1);
	o.start_ns = T0;
	o.end_ns = T0 + 570 * SEC;
	o.step_ns = 30 * SEC;
	run(e, &o, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logql_expr *e, *back;
	struct buf a, b;
	char *q;

	if (store == NULL)
		setup();
	q = malloc(size ? size : 1);
	memcpy(q, data, size);
	err_clear();
	if (logql_parse(q, size, &e) != 0) {
		if (e != NULL || err_detail()[0] == '\0')
			abort();
		if (verbose())
			fprintf(stderr, "parse: %s\n", err_detail());
		free(q);
		return 0;
	}
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (logql_format(e, &a) != 0)
		abort();
	if (verbose())
		fprintf(stderr, "query: %.*s\n", (int)a.len, a.data);
	if (logql_parse(a.data, a.len, &back) != 0) {
		fprintf(stderr, "the print does not parse: %.*s: %s\n",
		    (int)a.len, a.data, err_detail());
		abort();
	}
	if (logql_format(back, &b) != 0 || logql_is_log(back) !=
	    logql_is_log(e) || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0) {
		fprintf(stderr, "printed\n\t%.*s\nthen\n\t%.*s\n", (int)a.len,
		    a.data, (int)b.len, b.data);
		abort();
	}
	logql_free(back);
	eval(e);
	logql_free(e);
	buf_release(&a);
	buf_release(&b);
	free(q);
	return 0;
}
