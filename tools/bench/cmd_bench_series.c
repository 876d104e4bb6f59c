/*
 * cmd_bench_series.c - 'shale bench series DIR': the metric series model
 * under node_exporter-like data.
 *
 * A template (a recorded scrape in Prometheus's text format, --template;
 * else a built-in node-like set) is copied to --series series, each copy
 * an instance of its own, and replayed for --hours at --interval: every
 * scrape one appender commit, at one timestamp: on the interval, as
 * Prometheus 2.42 aligns a scrape's timestamp to its schedule when it is
 * within 2 ms (scrape.timestamp-tolerance), or with --jitter MS of
 * random lateness. Values change as a node's do: a third of
 * the counters never move, the others grow by small integer or float
 * steps; half the gauges are constant, the others walk (page-sized steps
 * for integral ones, one percent for the others).
 *
 * It reports the ingest rate (the model's, no HTTP), the process's RSS
 * with every series active, and, after a full compaction, the bytes of
 * the store's tables per sample. With --openmetrics FILE it also writes
 * the same samples as OpenMetrics, for 'promtool tsdb
 * create-blocks-from openmetrics', so tools/bench/bench-series.sh can
 * set Prometheus's figure beside it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/expfmt.h"
#include "model/labels.h"
#include "model/series.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

struct tseries {
	struct labels	*ls;		/* the template's, without instance */
	double		 v;
	int		 counter;
};

struct bseries {
	struct labels	*ls;
	double		 v;
	double		 rate;		/* counters: per step; gauges: 0 constant */
	int		 counter, integral;
	uint64_t	 rng;
};

struct tmpl {
	struct tseries	*v;
	size_t		 n, cap;
	struct label	*pairs;
	size_t		 pcap;
};

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static double
unit(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static int
is_counter_name(const char *n)
{
	size_t len = strlen(n);

	return (len > 6 && strcmp(n + len - 6, "_total") == 0) ||
	    (len > 6 && strcmp(n + len - 6, "_count") == 0) ||
	    (len > 4 && strcmp(n + len - 4, "_sum") == 0) ||
	    (len > 7 && strcmp(n + len - 7, "_bucket") == 0);
}

static int
on_sample(void *arg, const struct expfmt_sample *x)
{
	struct tmpl *t = arg;
	size_t n = x->nlabels + 1;
	struct labels *ls;

	if (!isfinite(x->value))
		return 0;
	t->pairs = xgrow(t->pairs, &t->pcap, n, sizeof(*t->pairs));
	t->pairs[0] = (struct label){ LABELS_METRIC_NAME, 8, x->name,
	    x->name_len };
	for (size_t i = 0; i < x->nlabels; i++)
		t->pairs[i + 1] = (struct label){ x->labels[i].name,
		    x->labels[i].name_len, x->labels[i].value,
		    x->labels[i].value_len };
	if (labels_new(t->pairs, n, 0, &ls) != 0)
		return 0;
	t->v = xgrow(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n].ls = ls;
	t->v[t->n].v = x->value;
	t->v[t->n].counter = x->type == EXPFMT_COUNTER ||
	    x->type == EXPFMT_HISTOGRAM || x->type == EXPFMT_SUMMARY ||
	    is_counter_name(labels_metric(ls));
	t->n++;
	return 0;
}

/* A node-like template when none is given: cpus, disks, memory, network. */
static void
builtin(struct tmpl *t)
{
	static const char *modes[] = { "idle", "iowait", "irq", "nice",
	    "softirq", "steal", "system", "user" };
	struct buf b;
	struct expfmt_handler h = { NULL, on_sample, t };

	buf_init(&b, 0);
	for (int c = 0; c < 8; c++)
		for (size_t m = 0; m < 8; m++)
			buf_printf(&b, "node_cpu_seconds_total{cpu=\"%d\","
			    "mode=\"%s\"} %d.%02d\n", c, modes[m],
			    1000 + c * 37 + (int)m * 101, (int)m * 7 % 100);
	for (int d = 0; d < 4; d++) {
		buf_printf(&b, "node_disk_read_bytes_total{device=\"sd%c\"} "
		    "%d\n", 'a' + d, 123456789 + d * 1000);
		buf_printf(&b, "node_disk_written_bytes_total{device=\"sd%c\"}"
		    " %d\n", 'a' + d, 987654321 + d * 1000);
		buf_printf(&b, "node_filesystem_avail_bytes{device=\"sd%c1\","
		    "mountpoint=\"/m%d\"} %d\n", 'a' + d, d, 1 << 30);
	}
	buf_puts(&b, "node_memory_MemAvailable_bytes 8.123e+09\n"
	    "node_memory_MemFree_bytes 1.234e+09\nnode_load1 0.42\n"
	    "node_load5 0.37\nnode_boot_time_seconds 1.7e+09\n"
	    "node_network_receive_bytes_total{device=\"eth0\"} 5.5e+09\n"
	    "node_network_transmit_bytes_total{device=\"eth0\"} 2.5e+09\n");
	expfmt_parse(b.data, b.len, EXPFMT_TEXT_004, &h, NULL);
	buf_release(&b);
}

static int
load_template(const char *path, struct tmpl *t)
{
	struct expfmt_handler h = { NULL, on_sample, t };
	struct buf b;
	char chunk[65536];
	size_t n;
	FILE *f;
	int rc;

	if (path == NULL) {
		builtin(t);
		return 0;
	}
	if ((f = fopen(path, "r")) == NULL)
		return cmd_fail("%s: %s", path, strerror(errno));
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	rc = expfmt_parse(b.data ? b.data : "", b.len, EXPFMT_TEXT_004, &h,
	    NULL);
	buf_release(&b);
	if (rc != 0)
		return cmd_fail("%s: %s", path, err_message(rc));
	if (t->n == 0)
		return cmd_fail("%s: no sample", path);
	return 0;
}

/* Copy c of template series i, with its own instance and walk. */
static void
make_series(const struct tseries *ts, size_t c, struct bseries *bs)
{
	struct label p[LABELS_COUNT_MAX + 2];
	char inst[64];
	size_t n = 0;

	for (size_t i = 0; i < labels_count(ts->ls) && n < LABELS_COUNT_MAX - 2;
	    i++) {
		const struct label *lb = labels_at(ts->ls, i);

		if (strcmp(lb->name, "instance") != 0 &&
		    strcmp(lb->name, "job") != 0)
			p[n++] = *lb;
	}
	snprintf(inst, sizeof(inst), "node-%zu:9100", c);
	p[n++] = label_str("instance", inst);
	p[n++] = label_str("job", "node");
	if (labels_new(p, n, 0, &bs->ls) != 0)
		abort();
	bs->rng = 0x9e3779b97f4a7c15ULL ^ (labels_hash(bs->ls) | 1);
	bs->v = ts->v;
	bs->counter = ts->counter;
	bs->integral = ts->v == floor(ts->v) && fabs(ts->v) < 1e15;
	if (bs->counter)
		bs->rate = unit(&bs->rng) < 0.33 ? 0 : bs->integral ?
		    (double)(1 + rnd(&bs->rng) % 50) :
		    0.01 + unit(&bs->rng) * 2;
	else
		bs->rate = unit(&bs->rng) < 0.5 ? 0 : 1;
}

static void
step(struct bseries *bs)
{
	if (bs->rate == 0)
		return;
	if (bs->counter) {
		if (bs->integral)
			bs->v += (double)(rnd(&bs->rng) %
			    (uint64_t)(2 * bs->rate + 1));
		else
			bs->v = round((bs->v + bs->rate * (0.5 + unit(&bs->rng))) *
			    100) / 100;
	} else if (bs->integral)
		bs->v += (double)((int64_t)(rnd(&bs->rng) % 33) - 16) * 4096;
	else
		bs->v = round(bs->v * (0.99 + unit(&bs->rng) * 0.02) * 1000) /
		    1000;
}

/* All samples of every series, grouped by metric name, in OpenMetrics. */
static int
write_openmetrics(const char *path, struct bseries *bs, const struct bseries *init,
    size_t n, size_t steps, int64_t t0, int64_t interval, uint64_t tseed,
    uint64_t jitter)
{
	FILE *f = fopen(path, "w");
	struct buf name;

	if (f == NULL)
		return cmd_fail("%s: %s", path, strerror(errno));
	buf_init(&name, 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t ts = tseed;

		bs[i] = init[i];
		buf_reset(&name);
		buf_puts(&name, labels_metric(bs[i].ls));
		labels_file_name(bs[i].ls, &name);
		for (size_t k = 0; k < steps; k++) {
			int64_t t = t0 + (int64_t)k * interval +
			    (int64_t)(rnd(&ts) % (jitter + 1));

			fprintf(f, "%s %.17g %" PRId64 ".%03d\n", buf_str(&name),
			    bs[i].v, t / 1000, (int)(t % 1000));
			step(&bs[i]);
		}
	}
	fprintf(f, "# EOF\n");
	buf_release(&name);
	if (fclose(f) != 0)
		return cmd_fail("%s: %s", path, strerror(errno));
	return 0;
}

/*
 * What the records of series hold, before the tables' compression: the
 * chunks' bytes against everything else (keys, chunk headers, offsets).
 * The keys' layout is shale-format(5)'s, METRIC SERIES.
 */
static void
chunk_bytes(struct engine *e, uint64_t samples)
{
	static const unsigned char lo[2] = { 0x02, 0x01 }, hi[2] = { 0x02, 0x02 };
	struct engine_iter *it = engine_iter_new(e, NULL, lo, 2, hi, 2);
	uint64_t chunks = 0, payload = 0, other = 0;
	size_t kl, vl;
	const unsigned char *k;

	for (engine_iter_seek_first(it); engine_iter_valid(it);
	    engine_iter_next(it)) {
		k = engine_iter_key(it, &kl);
		(void)engine_iter_value(it, &vl);
		if (kl > 2 && k[2] == 'C' && vl > 20) {
			chunks++;
			payload += vl - 20;
			other += kl + 20;
		} else
			other += kl + vl;
	}
	engine_iter_free(it);
	printf("records: %" PRIu64 " chunks of %.1f samples, %" PRIu64
	    " bytes of chunks (%.3f a sample), %" PRIu64 " bytes of keys and "
	    "the rest (%.3f a sample), before compression\n", chunks,
	    chunks ? (double)samples / (double)chunks : 0.0, payload,
	    (double)payload / (double)samples, other,
	    (double)other / (double)samples);
}

int
cmd_bench_series(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "series", required_argument, NULL, 'n' },
		{ "hours", required_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "template", required_argument, NULL, 't' },
		{ "openmetrics", required_argument, NULL, 'o' },
		{ "jitter", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct engine_status est;
	struct series_options so;
	struct tmpl t = { 0 };
	struct engine *e = NULL;
	struct series *s = NULL;
	struct bseries *bs = NULL, *init = NULL;
	struct series_sample x;
	const char *tpath = NULL, *om = NULL;
	char uri[4200];
	size_t nseries = 1000, steps;
	double hours = 24, interval_s = 15, rss = 0, hwm = 0;
	int64_t t0, interval, start, took;
	uint64_t samples = 0, tseed = 42, jitter = 0;
	int c, rc, ret = 1;

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
		case 't':
			tpath = optarg;
			break;
		case 'o':
			om = optarg;
			break;
		case 'j':
			jitter = (uint64_t)strtoull(optarg, NULL, 10);
			break;
		case 'h':
			cmd_usage("bench", NULL);
			return 0;
		default:
			return cmd_usage("bench", NULL);
		}
	}
	if (optind + 1 != argc || nseries == 0 || hours <= 0 ||
	    interval_s < 0.001)
		return cmd_usage("bench", "series: one directory for the store, "
		    "please");
	interval = (int64_t)llround(interval_s * 1000);
	steps = (size_t)(hours * 3600 * 1000 / (double)interval);
	if (steps == 0)
		steps = 1;
	if (load_template(tpath, &t) != 0)
		return 1;
	bs = xcalloc(nseries, sizeof(*bs));
	init = xcalloc(nseries, sizeof(*init));
	for (size_t i = 0; i < nseries; i++)
		make_series(&t.v[i % t.n], i / t.n, &init[i]);
	memcpy(bs, init, nseries * sizeof(*bs));
	printf("data: %zu series (a template of %zu, %s) x %zu scrapes every "
	    "%g s = %zu samples\n", nseries, t.n, tpath ? tpath : "built in",
	    steps, interval_s, nseries * steps);

	snprintf(uri, sizeof(uri), "file://%s/store", argv[optind]);
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, NULL)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	if ((rc = engine_open(uri, NULL, &es, ENGINE_WRITER, &e)) != 0) {
		cmd_fail("cannot open '%s': %s", uri, err_message(rc));
		goto out;
	}
	daemon_series_options(&es, &so);
	so.max_series = nseries + 1;
	if ((rc = series_open(e, &so, &s)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	t0 = (clock_wall_ns() / 1000000 - (int64_t)(hours * 3600 * 1000)) /
	    interval * interval;
	start = clock_mono_ns();
	{
		struct series_appender *a = series_appender_new(s);
		uint64_t ts = tseed;

		for (size_t k = 0; k < steps; k++) {
			struct series_counts cnt;

			x.t = t0 + (int64_t)k * interval +
			    (int64_t)(rnd(&ts) % (jitter + 1));
			for (size_t i = 0; i < nseries; i++) {
				x.v = bs[i].v;
				series_appender_add(a, bs[i].ls, &x, 1);
				step(&bs[i]);
			}
			if ((rc = series_appender_commit(a, &cnt, NULL)) != 0) {
				cmd_fail("commit: %s", err_message(rc));
				series_appender_free(a);
				goto out;
			}
			samples += cnt.samples;
		}
		series_appender_free(a);
	}
	took = clock_mono_ns() - start;
	cmd_proc_mem(getpid(), &rss, &hwm);
	printf("ingest: %" PRIu64 " samples in %.2f s: %.0f samples/s "
	    "(one commit a scrape, no HTTP)\n", samples, (double)took / 1e9,
	    (double)samples / ((double)took / 1e9));
	printf("memory: RSS %.1f MiB with %zu series active: %.2f KiB a "
	    "series\n", rss, nseries, rss * 1024 / (double)nseries);
	if ((rc = series_flush_heads(s)) != 0 || (rc = engine_flush(e)) != 0 ||
	    (rc = engine_compact(e)) != 0) {
		cmd_fail("compaction: %s", err_message(rc));
		goto out;
	}
	engine_status(e, &est);
	printf("stored: %" PRIu64 " bytes of tables after compaction: %.3f "
	    "bytes a sample\n", est.table_bytes,
	    (double)est.table_bytes / (double)samples);
	chunk_bytes(e, samples);
	if (om != NULL && write_openmetrics(om, bs, init, nseries, steps, t0,
	    interval, tseed, jitter) != 0)
		goto out;
	ret = 0;
out:
	series_close(s);
	if (e != NULL && (rc = engine_close(e)) != 0) {
		cmd_fail("cannot close '%s': %s", uri, err_message(rc));
		ret = 1;
	}
	engine_settings_release(&es);
	for (size_t i = 0; i < nseries && init != NULL; i++)
		labels_free(init[i].ls);
	for (size_t i = 0; i < t.n; i++)
		labels_free(t.v[i].ls);
	free(t.v);
	free(t.pairs);
	free(bs);
	free(init);
	return ret;
}
