/*
 * cmd_bench_lsm.c - 'shale bench lsm [--mib N] URI...': the engine under
 * a log-shaped load with compaction and garbage collection running, on
 * each store in turn, so the figures can be set side by side.
 *
 * Write: N MiB (default 512) of log lines, 150 to 250 bytes each, as
 * batches of 32 records appended to 8 streams in turn (keys: stream, then
 * a counter, as log records are kept), flat out, then flushed; then until
 * the compactor is idle. Reported: MB/s to durable and to idle, write
 * amplification (bytes written to the store per byte of keys and values
 * ingested, and the part of it compactions wrote), the store's shape (L0
 * tables and sorted runs: a point read looks at every L0 table and one
 * table per run), and the process's peak RSS beside the budgets the
 * settings give (max_unflushed_bytes, block_cache_bytes, and
 * max_concurrent_compactions x max_sst_size for tables being built).
 *
 * Read: 2000 point gets of random keys written, three times: just after
 * opening the store again (cold: from the object store, or the disk cache
 * when one is set), the same keys again (hot: the block cache), and after
 * closing and opening once more (warm: the disk cache). Each pass reports
 * p50 and p99 latency and the object store GETs it made.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

#define STREAMS		8
#define BATCH		32
#define GETS		2000

static double
counter(const char *name, const char *label)
{
	struct metric *f = metrics_find(metrics_global(), name);

	if (f == NULL)
		return 0;
	return metric_value(label ? metric_series(f, label) : metric_series(f));
}

static double
store_gets(void)
{
	return counter("objstore_requests_total", "get");
}

static size_t
make_key(char *k, unsigned stream, uint64_t n)
{
	k[0] = 'L';
	k[1] = (char)stream;
	for (int i = 0; i < 8; i++)
		k[2 + i] = (char)(n >> (56 - 8 * i));
	return 10;
}

static size_t
make_line(char *v, uint64_t *rng, uint64_t n)
{
	static const char *const words[] = { "GET", "POST", "/api/v1/items",
	    "/api/v1/users", "status=200", "status=404", "took", "ms", "user",
	    "cache=hit", "cache=miss", "region=eu-west-1", "level=info",
	    "level=warn", "trace", "span" };
	size_t len, want;

	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	want = 150 + (size_t)((*rng >> 33) % 101);
	len = (size_t)snprintf(v, 64, "2026-11-22T10:%02u:%02u.%03u ",
	    (unsigned)(n / 60000 % 60), (unsigned)(n / 1000 % 60),
	    (unsigned)(n % 1000));
	while (len < want) {
		*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
		len += (size_t)snprintf(v + len, 64, "%s=%u ",
		    words[(*rng >> 40) % 16], (unsigned)((*rng >> 20) % 10000));
	}
	v[want - 1] = '\n';
	return want;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* GETS point reads of the keys picked by seed: p50, p99 (ms), GETs made. */
static int
read_pass(struct engine *e, uint64_t per_stream, uint64_t seed,
    const char *what)
{
	int64_t lat[GETS], t;
	struct buf v;
	char k[16];
	double g0 = store_gets();
	int rc = 0, missing = 0;

	buf_init(&v, 0);
	for (int i = 0; i < GETS; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		make_key(k, (unsigned)((seed >> 33) % STREAMS),
		    (seed >> 12) % per_stream);
		buf_reset(&v);
		t = clock_mono_ns();
		rc = engine_get(e, NULL, k, 10, &v);
		lat[i] = clock_mono_ns() - t;
		if (rc == -ENOENT)
			missing++;
		else if (rc != 0)
			break;
		rc = 0;
	}
	buf_release(&v);
	if (rc != 0)
		return cmd_fail("get: %s", err_message(rc));
	qsort(lat, GETS, sizeof(*lat), cmp_i64);
	printf("  read %-5s p50 %7.3f ms  p99 %7.3f ms  store GETs %6.0f%s\n",
	    what, (double)lat[GETS / 2] / 1e6, (double)lat[GETS * 99 / 100] / 1e6,
	    store_gets() - g0, missing ? "  (keys missing!)" : "");
	return missing ? 1 : 0;
}

static int
bench_one(const char *uri, const struct engine_settings *es, uint64_t mib)
{
	struct engine *e = NULL;
	struct engine_batch *b = engine_batch_new();
	struct engine_status st;
	uint64_t want = mib << 20, bytes = 0, n = 0, rng = 1, per_stream;
	double w0, c0, rss = -1, hwm = -1, secs_durable, secs_idle;
	char k[16], v[512];
	int64_t t0;
	int rc, ret = 1;
	size_t vl;

	if ((rc = engine_open(uri, NULL, es, ENGINE_WRITER, &e)) != 0) {
		engine_batch_free(b);
		return cmd_fail("%s: %s", uri, err_message(rc));
	}
	w0 = counter("objstore_written_bytes_total", NULL);
	c0 = counter("engine_compaction_written_bytes_total", NULL);
	t0 = clock_mono_ns();
	rc = 0;
	while (bytes < want && rc == 0) {
		engine_batch_clear(b);
		for (int i = 0; i < BATCH; i++, n++) {
			vl = make_line(v, &rng, n);
			engine_batch_put(b, k, make_key(k, (unsigned)(n % STREAMS),
			    n / STREAMS), v, vl, 0);
			bytes += 10 + vl;
		}
		rc = engine_write(e, b, NULL);
	}
	if (rc == 0)
		rc = engine_flush(e);
	if (rc != 0) {
		cmd_fail("%s: %s", uri, err_message(rc));
		goto out;
	}
	secs_durable = (double)(clock_mono_ns() - t0) / 1e9;
	for (int quiet = 0; quiet < 3;) {
		clock_sleep_ms(200);
		engine_status(e, &st);
		quiet = st.frozen_memtables > 0 || st.compacting > 0 ? 0 :
		    quiet + 1;
	}
	secs_idle = (double)(clock_mono_ns() - t0) / 1e9 - 0.6;
	cmd_proc_mem(getpid(), &rss, &hwm);
	printf("%s\n  write %" PRIu64 " MiB: %6.1f MB/s to durable, %6.1f MB/s "
	    "to idle compactor\n", uri, mib, (double)bytes / secs_durable / 1e6,
	    (double)bytes / secs_idle / 1e6);
	printf("  write amplification %.2f (compactions %.2f)\n",
	    (counter("objstore_written_bytes_total", NULL) - w0) / (double)bytes,
	    (counter("engine_compaction_written_bytes_total", NULL) - c0) /
	    (double)bytes);
	printf("  shape: %zu L0 tables, %zu sorted runs of %zu tables, %.1f MiB "
	    "(%.2f of the raw bytes); a point read looks at <= %zu tables\n",
	    st.l0_tables, st.runs, st.run_tables,
	    (double)st.table_bytes / 1048576, (double)st.table_bytes /
	    (double)bytes, st.l0_tables + st.runs);
	printf("  RSS peak %.0f MiB; budgets: unflushed %.0f MiB, block cache "
	    "%.0f MiB, tables being compacted %d x %.0f MiB\n", hwm,
	    (double)es->max_unflushed_bytes / 1048576,
	    (double)es->block_cache_bytes / 1048576,
	    es->max_concurrent_compactions, (double)es->max_sst_size / 1048576);
	engine_close(e);
	per_stream = n / STREAMS;
	e = NULL;
	if ((rc = engine_open(uri, NULL, es, ENGINE_WRITER, &e)) != 0) {
		cmd_fail("%s: %s", uri, err_message(rc));
		goto out;
	}
	if (read_pass(e, per_stream, 7, "cold") != 0 ||
	    read_pass(e, per_stream, 7, "hot") != 0)
		goto out;
	engine_close(e);
	if ((rc = engine_open(uri, NULL, es, ENGINE_WRITER, &e)) != 0) {
		e = NULL;
		cmd_fail("%s: %s", uri, err_message(rc));
		goto out;
	}
	if (read_pass(e, per_stream, 7, "warm") != 0)
		goto out;
	ret = 0;
out:
	engine_close(e);
	engine_batch_free(b);
	return ret;
}

int
cmd_bench_lsm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	const char *config = NULL;
	long long mib = 512;
	int c, rc, ret = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mib = atoll(optarg);
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
	if (mib <= 0)
		return cmd_usage("bench", "--mib must be positive");
	if (optind >= argc)
		return cmd_usage("bench", "lsm needs a store");
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		engine_settings_release(&es);
		return cmd_fail("%s", err_message(rc));
	}
	for (int i = optind; i < argc; i++)
		ret |= bench_one(argv[i], &es, (uint64_t)mib);
	engine_settings_release(&es);
	return ret;
}
