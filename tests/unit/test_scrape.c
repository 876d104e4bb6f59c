/*
 * test_scrape.c - the scraper (scrape.c) against a target of our own: a
 * small HTTP server in a thread whose answer the test changes, over a
 * scratch store's series. A scrape every 250 ms, and every check waits
 * for the scrapes it needs:
 *   the request: path and query (params), Prometheus's Accept header,
 *   the timeout header, basic auth;
 *   labels: the target's on every sample; a sample's own job and
 *   instance moved to exported_* (exported_exported_job when
 *   exported_job is taken), shortest names first; metric relabelling
 *   dropping and rewriting samples;
 *   honor_timestamps: a sample's own time kept;
 *   the synthetic series: up, scrape_samples_scraped,
 *   scrape_samples_post_metric_relabeling, scrape_series_added;
 *   staleness: a series gone from the exposition gets one stale marker;
 *   a body that does not parse or a 500 is up 0 and every series stale;
 *   the scraper stopped: the synthetic series stale too;
 *   the scraper's own counters.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "engine/objstore/objstore.h"
#include "model/chunk.h"
#include "model/labels.h"
#include "model/series.h"
#include "scrape/scrape_int.h"
#include "tests/unit/scratch.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

static char	scratch[PATH_MAX];

/* ---- the target ---- */

struct target_srv {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	int		 status;	/* mu: what to answer */
	char		*body;		/* mu */
	char		 request[4096];	/* mu: the last request's head */
	int		 requests;	/* mu */
};

static struct target_srv srv;

static void *
srv_main(void *arg)
{
	struct target_srv *t = arg;
	char req[4096], *head;
	size_t n;
	ssize_t r;
	int c;

	while ((c = accept(t->fd, NULL, NULL)) >= 0) {
		n = 0;
		while (n < sizeof(req) - 1 &&
		    (r = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)r;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[n] = '\0';
		pthread_mutex_lock(&t->mu);
		snprintf(t->request, sizeof(t->request), "%s", req);
		t->requests++;
		head = xasprintf("HTTP/1.1 %d X\r\nContent-Type: text/plain; "
		    "version=0.0.4\r\nContent-Length: %zu\r\nConnection: "
		    "close\r\n\r\n%s", t->status, strlen(t->body), t->body);
		pthread_mutex_unlock(&t->mu);
		if (write(c, head, strlen(head)) < 0)
			(void)0;
		free(head);
		close(c);
	}
	return NULL;
}

static void
srv_start(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	srv.status = 200;
	srv.body = xstrdup("");
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &len), 0);
	srv.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&srv.thread, NULL, srv_main, &srv), 0);
}

static void
srv_stop(void)
{
	shutdown(srv.fd, SHUT_RDWR);
	close(srv.fd);
	pthread_join(srv.thread, NULL);
	free(srv.body);
}

static void
srv_set(int status, const char *body)
{
	pthread_mutex_lock(&srv.mu);
	srv.status = status;
	free(srv.body);
	srv.body = xstrdup(body);
	pthread_mutex_unlock(&srv.mu);
}

/* ---- the store ---- */

struct store {
	struct engine	*e;
	struct series	*s;
};

static void
store_open(struct store *st)
{
	struct engine_settings es;
	struct objstore_opts so;
	struct series_options o;
	char uri[PATH_MAX + 32];

	snprintf(uri, sizeof(uri), "file://%s/store", scratch);
	engine_settings_default(&es);
	es.flush_interval_ms = 10;
	memset(&so, 0, sizeof(so));
	so.no_fsync = 1;
	assert_int_equal(engine_open(uri, &so, &es, ENGINE_WRITER, &st->e), 0);
	engine_settings_release(&es);
	memset(&o, 0, sizeof(o));
	assert_int_equal(series_open(st->e, &o, &st->s), 0);
}

static void
store_close(struct store *st)
{
	series_close(st->s);
	assert_int_equal(engine_close(st->e), 0);
}

struct samples {
	int64_t		 t[4096];
	double		 v[4096];
	size_t		 n;
};

static int
on_sample(void *arg, int64_t t, double v)
{
	struct samples *s = arg;

	if (s->n < 4096) {
		s->t[s->n] = t;
		s->v[s->n++] = v;
	}
	return 0;
}

/* The samples of the series named by "name", "value", ... pairs (NULL-ended). */
static void
samples_of(struct series *s, struct samples *out, const char *metric, ...)
{
	struct label pairs[32];
	struct labels *ls;
	const char *k;
	uint64_t id;
	va_list ap;
	size_t n = 0;

	out->n = 0;
	pairs[n++] = label_str(LABELS_METRIC_NAME, metric);
	va_start(ap, metric);
	while ((k = va_arg(ap, const char *)) != NULL)
		pairs[n++] = label_str(k, va_arg(ap, const char *));
	va_end(ap);
	assert_int_equal(labels_new(pairs, n, 0, &ls), 0);
	if (series_find(s, ls, &id) == 0)
		assert_int_equal(series_scan(s, id, INT64_MIN, INT64_MAX,
		    on_sample, out), 0);
	labels_free(ls);
}

static int
is_stale(double v)
{
	return double_bits(v) == CHUNK_STALE_NAN;
}

#define TARGET_LABELS(port) "env", "e", "instance", port, "job", "t"

/* Wait (10 s at most) until up has at least n samples; its samples in *up. */
static void
wait_ups(struct series *s, const char *inst, size_t n, struct samples *up)
{
	int64_t end = clock_mono_ns() + 10 * 1000000000LL;

	for (;;) {
		samples_of(s, up, "up", TARGET_LABELS(inst), NULL);
		if (up->n >= n)
			return;
		if (clock_mono_ns() > end)
			fail_msg("only %zu samples of up, waited for %zu", up->n, n);
		clock_sleep_ms(20);
	}
}

static double
last(const struct samples *s)
{
	assert_true(s->n > 0);
	return s->v[s->n - 1];
}

static void
test_scrape(void **state)
{
	struct store st;
	struct scrape_config *c;
	struct scraper *sc;
	struct samples *up, *x;
	struct buf m;
	char yaml[2048], inst[32];
	size_t n0;

	(void)state;
	up = xcalloc(1, sizeof(*up));
	x = xcalloc(1, sizeof(*x));
	srv_start();
	snprintf(inst, sizeof(inst), "127.0.0.1:%d", srv.port);
	srv_set(200,
	    "# TYPE a counter\n"
	    "a_total{job=\"x\",instance=\"y\",exported_job=\"z\"} 1\n"
	    "b 2 1000\n"
	    "c{l=\"v\"} 3\n"
	    "d{mode=\"idle\"} 4\n");
	snprintf(yaml, sizeof(yaml),
	    "scrape_configs:\n"
	    "  - job_name: t\n"
	    "    scrape_interval: 250ms\n"
	    "    params: {q: [1]}\n"
	    "    basic_auth: {username: u, password: p}\n"
	    "    static_configs:\n"
	    "      - targets: ['%s']\n"
	    "        labels: {env: e}\n"
	    "    metric_relabel_configs:\n"
	    "      - source_labels: [__name__]\n"
	    "        regex: c\n"
	    "        action: drop\n"
	    "      - source_labels: [mode]\n"
	    "        target_label: m\n"
	    "      - regex: mode\n"
	    "        action: labeldrop\n", inst);
	assert_int_equal(scrape_config_parse(yaml, strlen(yaml), "t.yml", &c), 0);
	store_open(&st);
	assert_int_equal(scrape_start(st.s, c, &sc), 0);

	/* two scrapes of the first body */
	wait_ups(st.s, inst, 2, up);
	assert_true(last(up) == 1);
	pthread_mutex_lock(&srv.mu);
	if (strstr(srv.request, "GET /metrics?q=1 HTTP/1.1\r\n") == NULL ||
	    strstr(srv.request, "Accept: application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n") == NULL ||
	    strstr(srv.request, "X-Prometheus-Scrape-Timeout-Seconds: 0.25\r\n")
	    == NULL || strstr(srv.request, "Authorization: Basic dTpw\r\n") == NULL)
		fail_msg("request:\n%s", srv.request);
	pthread_mutex_unlock(&srv.mu);

	samples_of(st.s, x, "a_total", TARGET_LABELS(inst),
	    "exported_exported_job", "x", "exported_instance", "y",
	    "exported_job", "z", NULL);
	assert_true(x->n >= 2);
	assert_true(x->v[0] == 1);
	assert_int_equal(x->t[0], up->t[0]);
	samples_of(st.s, x, "b", TARGET_LABELS(inst), NULL);
	assert_int_equal(x->n, 1);		/* its own time, once */
	assert_int_equal(x->t[0], 1000);
	samples_of(st.s, x, "c", TARGET_LABELS(inst), "l", "v", NULL);
	assert_int_equal(x->n, 0);
	samples_of(st.s, x, "d", TARGET_LABELS(inst), "m", "idle", NULL);
	assert_true(x->n >= 2);
	samples_of(st.s, x, "scrape_samples_scraped", TARGET_LABELS(inst), NULL);
	assert_true(last(x) == 4);
	samples_of(st.s, x, "scrape_samples_post_metric_relabeling",
	    TARGET_LABELS(inst), NULL);
	assert_true(last(x) == 3);
	samples_of(st.s, x, "scrape_series_added", TARGET_LABELS(inst), NULL);
	assert_true(x->v[0] == 3 && last(x) == 0);
	samples_of(st.s, x, "scrape_duration_seconds", TARGET_LABELS(inst), NULL);
	assert_true(last(x) >= 0 && last(x) < 1);

	/* d goes, e comes: d gets one stale marker, e is a series added */
	srv_set(200, "a_total{job=\"x\",instance=\"y\",exported_job=\"z\"} 2\n"
	    "e 5\n");
	n0 = up->n;
	wait_ups(st.s, inst, n0 + 3, up);
	samples_of(st.s, x, "d", TARGET_LABELS(inst), "m", "idle", NULL);
	assert_true(is_stale(last(x)));
	assert_false(is_stale(x->v[x->n - 2]));
	samples_of(st.s, x, "scrape_series_added", TARGET_LABELS(inst), NULL);
	assert_true(x->v[n0] == 1 || x->v[n0 + 1] == 1);
	samples_of(st.s, x, "b", TARGET_LABELS(inst), NULL);
	assert_int_equal(x->n, 1);		/* its own time: not tracked */

	/* a body that does not parse: up 0, a and e stale, once */
	srv_set(200, "a_total{ 2\n");
	n0 = up->n;
	wait_ups(st.s, inst, n0 + 3, up);
	assert_true(last(up) == 0);
	samples_of(st.s, x, "e", TARGET_LABELS(inst), NULL);
	assert_true(is_stale(last(x)));
	assert_false(is_stale(x->v[x->n - 2]));
	samples_of(st.s, x, "scrape_samples_post_metric_relabeling",
	    TARGET_LABELS(inst), NULL);
	assert_true(last(x) == 0);

	/* back, then a 500 */
	srv_set(200, "e 6\n");
	n0 = up->n;
	wait_ups(st.s, inst, n0 + 2, up);
	assert_true(last(up) == 1);
	samples_of(st.s, x, "e", TARGET_LABELS(inst), NULL);
	assert_true(last(x) == 6);
	srv_set(500, "oops\n");
	n0 = up->n;
	wait_ups(st.s, inst, n0 + 2, up);
	assert_true(last(up) == 0);
	samples_of(st.s, x, "e", TARGET_LABELS(inst), NULL);
	assert_true(is_stale(last(x)));

	/* the scraper's own counters */
	buf_init(&m, 0);
	metrics_render(metrics_global(), &m);
	if (strstr(buf_str(&m), "scrape_scrapes_failed_total{job=\"t\"") == NULL ||
	    strstr(buf_str(&m), "scrape_samples_scraped_total{job=\"t\"") == NULL)
		fail_msg("metrics:\n%s", buf_str(&m));
	buf_release(&m);

	/* stopped: every synthetic series ends stale */
	srv_set(200, "e 7\n");
	n0 = up->n;
	wait_ups(st.s, inst, n0 + 2, up);
	scrape_stop(sc);
	samples_of(st.s, x, "up", TARGET_LABELS(inst), NULL);
	assert_true(is_stale(last(x)));
	samples_of(st.s, x, "scrape_series_added", TARGET_LABELS(inst), NULL);
	assert_true(is_stale(last(x)));
	samples_of(st.s, x, "e", TARGET_LABELS(inst), NULL);
	assert_true(is_stale(last(x)));
	assert_true(x->v[x->n - 2] == 7);

	store_close(&st);
	srv_stop();
	free(up);
	free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape),
	};
	int rc;

	if (scratch_make(scratch, sizeof(scratch), "scrape") != 0) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_CACHE_HOME", scratch, 1);
	log_set_level(LOG_ERROR);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	scratch_remove(scratch);
	return rc;
}
