/*
 * cmd_bench.c - 'shale bench engine URI...': the engine's write speed on
 * each store given, one after another in the same run, so the figures can
 * be set side by side.
 *
 * For each store and each value size (100 B and 4 KiB): one writer puts
 * single-record batches as fast as the engine takes them for --seconds;
 * it reports puts/s and MB/s, the latency from engine_write() returning to
 * the record being durable (p50, p99 over every 16th write, from the
 * durable watermark), the object store PUTs per second while writing,
 * then, once everything is durable and in tables, the PUTs per second of
 * an idle engine over --idle seconds (which must be 0) and its reads (the
 * manifest poll), and the process's
 * RSS. The writer runs flat out, so the latency includes waiting behind
 * max_unflushed_bytes. Settings as for 'shale mount' (cmd_settings_load).
 *
 * 'shale bench fs' (cmd_bench_fs.c) and 'shale bench memfs' (memfs.c)
 * measure the mount instead; 'shale bench lsm' (cmd_bench_lsm.c) the
 * engine under a log-shaped load with compaction and collection running.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "tools/cmd.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define SAMPLE	16	/* every 16th write is timed to durable */

/* The durable watermark's moves: (seq, time). */
struct marks {
	pthread_mutex_t	 lock;
	uint64_t	*seq;
	int64_t		*t;
	size_t		 n, cap, cap2;
};

static void
on_durable(void *arg, uint64_t seq)
{
	struct marks *m = arg;
	int64_t now = clock_mono_ns();

	pthread_mutex_lock(&m->lock);
	m->seq = xgrow(m->seq, &m->cap, m->n + 1, sizeof(*m->seq));
	m->t = xgrow(m->t, &m->cap2, m->n + 1, sizeof(*m->t));
	m->seq[m->n] = seq;
	m->t[m->n] = now;
	m->n++;
	pthread_mutex_unlock(&m->lock);
}

/* Object store requests so far of the operations named, from the registry. */
static double
requests(const char *const *ops)
{
	struct metric *f = metrics_find(metrics_global(), "objstore_requests_total");
	double sum = 0;

	for (; f != NULL && *ops != NULL; ops++)
		sum += metric_value(metric_series(f, *ops));
	return sum;
}

static const char *const put_ops[] = { "put", "put_if_absent", NULL };
static const char *const get_ops[] = { "get", "head", "list", NULL };

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
bench_one(const char *uri, const struct engine_settings *es, size_t vsize,
    double seconds, double idle)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	struct marks mk = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0, 0 };
	int64_t *wt = NULL, *lat = NULL, t0, end;
	uint64_t *ws = NULL, seq, n = 0, ns = 0;
	struct engine_status st;
	size_t cap = 0, cap2 = 0, j = 0, nlat = 0;
	double puts0, puts1, puts2, gets1, gets2, secs, writing_puts;
	double rss = -1, hwm = -1;
	char key[32], *val = xmalloc(vsize);
	int rc;

	for (size_t i = 0; i < vsize; i++)
		val[i] = (char)('a' + i % 26);
	if ((rc = engine_open(uri, NULL, es, ENGINE_WRITER, &e)) != 0) {
		free(val);
		engine_batch_free(b);
		return cmd_fail("%s", err_message(rc));
	}
	engine_subscribe(e, on_durable, &mk);
	puts0 = requests(put_ops);
	t0 = clock_mono_ns();
	end = t0 + (int64_t)(seconds * 1e9);
	while (clock_mono_ns() < end) {
		snprintf(key, sizeof(key), "bench/%012" PRIu64, n);
		engine_batch_clear(b);
		engine_batch_put(b, key, strlen(key), val, vsize, 0);
		if ((rc = engine_write(e, b, &seq)) != 0)
			break;
		if (n % SAMPLE == 0) {
			ws = xgrow(ws, &cap, ns + 1, sizeof(*ws));
			wt = xgrow(wt, &cap2, ns + 1, sizeof(*wt));
			ws[ns] = seq;
			wt[ns] = clock_mono_ns();
			ns++;
		}
		n++;
	}
	secs = (double)(clock_mono_ns() - t0) / 1e9;
	writing_puts = requests(put_ops) - puts0;
	if (rc == 0)
		rc = engine_flush(e);
	if (rc != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	/* latency to durable: the first mark at or past each write's seq */
	lat = xcalloc(ns ? ns : 1, sizeof(*lat));
	pthread_mutex_lock(&mk.lock);
	for (uint64_t i = 0; i < ns; i++) {
		while (j < mk.n && mk.seq[j] < ws[i])
			j++;
		if (j < mk.n)
			lat[nlat++] = mk.t[j] - wt[i];
	}
	pthread_mutex_unlock(&mk.lock);
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	/*
	 * idle means nothing left to do: let the L0 flushes and the
	 * compactions they start finish first (quiet twice in a row)
	 */
	for (int quiet = 0; quiet < 2;) {
		clock_sleep_ms(100);
		engine_status(e, &st);
		quiet = st.frozen_memtables > 0 || st.compacting > 0 ? 0 :
		    quiet + 1;
	}
	puts1 = requests(put_ops);
	gets1 = requests(get_ops);
	clock_sleep_ms((int64_t)(idle * 1000));
	puts2 = requests(put_ops);
	gets2 = requests(get_ops);
	cmd_proc_mem(getpid(), &rss, &hwm);
	printf("%-40s %5zu B  %9.0f puts/s %7.1f MB/s  durable p50 %6.1f ms p99 %6.1f ms"
	    "  store PUTs/s %6.1f writing, %4.1f idle (GETs/s idle %.1f)  RSS %.0f MiB (peak %.0f)\n",
	    uri, vsize, (double)n / secs, (double)n * (double)vsize / secs / 1e6,
	    nlat ? (double)lat[nlat / 2] / 1e6 : 0,
	    nlat ? (double)lat[nlat * 99 / 100] / 1e6 : 0,
	    writing_puts / secs, (puts2 - puts1) / idle, (gets2 - gets1) / idle,
	    rss, hwm);
out:
	engine_close(e);
	engine_batch_free(b);
	free(ws);
	free(wt);
	free(lat);
	free(mk.seq);
	free(mk.t);
	free(val);
	return rc ? 1 : 0;
}

int
cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "idle", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const size_t sizes[] = { 100, 4096 };
	struct engine_settings es;
	const char *config = NULL;
	double seconds = 5, idle = 3;
	int c, rc, ret = 0;

	if (argc >= 2 && strcmp(argv[1], "fs") == 0)
		return cmd_bench_fs(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "memfs") == 0)
		return cmd_bench_memfs(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "lsm") == 0)
		return cmd_bench_lsm(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "series") == 0)
		return cmd_bench_series(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "query") == 0)
		return cmd_bench_query(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "logql") == 0)
		return cmd_bench_logql(argc - 1, argv + 1);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'i':
			idle = atof(optarg);
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			cmd_usage("bench", NULL);
			return 0;
		default:
			return cmd_usage("bench", NULL);
		}
	}
	if (seconds <= 0 || idle <= 0)
		return cmd_usage("bench", "--seconds and --idle must be positive");
	if (optind + 1 >= argc || strcmp(argv[optind], "engine") != 0)
		return cmd_usage("bench",
		    "expected: engine URI..., fs [options] or memfs [-f] MOUNTPOINT");
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		engine_settings_release(&es);
		return cmd_fail("%s", err_message(rc));
	}
	for (int i = optind + 1; i < argc; i++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			ret |= bench_one(argv[i], &es, sizes[s], seconds, idle);
	engine_settings_release(&es);
	return ret;
}
