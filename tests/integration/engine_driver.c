/*
 * engine_driver.c - engine processes for the crash and fencing tests,
 * driven by tests/integration/engine_crash.sh and engine_fence.sh.
 *
 *   engine_driver crashwrite URI LOG START [bulk]
 *       write batches START, START+1, ... for ever; batch i holds 1 + i % 5
 *       records "b<i>-<j>" = value(i, j); after each batch is durable, append
 *       "b i" to LOG (fsync'd). Killed with SIGKILL by the test. With
 *       "bulk": batches of 4 records "B<i>-<j>" of about 4 KiB, written as
 *       fast as they go (a bulk write: their values go to the WAL as
 *       stubs), waited durable every 16th, then logged "B i" each; prints
 *       "stubs by batch <i>" once the engine has left a value out of the WAL.
 *   engine_driver crashcheck URI LOG
 *       open as writer (replaying the WAL); every batch in LOG must be
 *       present whole and right; every batch present must be whole (no
 *       batch partly visible), and the batches present of each run of
 *       crashwrite (START / 1000000) must be its first ones, without a
 *       hole; print the counts.
 *   engine_driver writer URI PREFIX MS LOG
 *       write a batch "<PREFIX><n>" every 10 ms for MS milliseconds, each
 *       waited durable and its number appended to LOG; when fenced, print
 *       "fenced <wall ms>" and check that a flush fails with "fenced"
 *   engine_driver check URI LOG PREFIX
 *       open as reader: every key PREFIX<n> for n in LOG must be present
 *   engine_driver faulty URI N
 *       write N batches through URI (a fault: store), flushing every tenth;
 *       then reopen and check that every one is there
 *   engine_driver fill URI N
 *       write N batches of 1000-byte values ("f<n>") and close
 *   engine_driver fillrand URI N
 *       write N batches of 1000 pseudo-random bytes ("r<n>"), values that
 *       do not compress, so tables span many 64 KiB pages; and close
 *   engine_driver scan URI
 *       open as reader and read every record; print the first error
 *   engine_driver scanstat URI
 *       open as reader and read every record twice; print the object
 *       store GETs (objstore_requests_total, process wide) that the open
 *       and each scan made, a CRC of the keys and values read, and the
 *       block cache's and the disk cache's counters (shale-settings(5): the
 *       disk cache is on when SHALE_OBJECT_STORE_CACHE_OPTIONS_ROOT_FOLDER
 *       is set)
 *   engine_driver threads URI
 *       4 writer threads (25,000 records each at most) and 2 reader
 *       threads on one engine for 3 s: each
 *       writer's keys appear in order to readers (a reader never sees key
 *       n of a writer without n-1), and every write is there after reopen
 *   engine_driver churn URI DIR
 *       open as writer, compact everything into tables, create DIR/ready;
 *       once DIR/scanning exists, until DIR/done does (60 s at most):
 *       write 200 records "c<n>" and compact everything again, so every
 *       table the store had is replaced (and collected, with small
 *       min_ages) every round; print the rounds and close
 *   engine_driver pinscan URI DIR N MS
 *       open as reader, make an iterator over the keys "r..." (fillrand's),
 *       create DIR/scanning, and read them taking MS milliseconds; print
 *       "<n> records read" and the first error, then the checkpoints this
 *       reader wrote (engine_checkpoint_writes_total); exit 1 unless all N
 *       were read without error
 *   engine_driver outage URI FLAG
 *       URI is fault:...,while=FLAG:...: write as fast as possible, create
 *       FLAG (the store fails), check that writers block at
 *       max_unflushed_bytes, remove FLAG, check that they resume and that
 *       everything written is durable and readable after a reopen
 *
 * Settings are small (256 KiB memtables, 20 ms flush interval, 200 ms
 * manifest poll) so L0 flushes and polls happen within a test's time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/lsm/engine.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

static void
settings(struct engine_settings *es)
{
	engine_settings_default(es);
	es->l0_sst_size_bytes = 160 << 10;	/* 64 KiB arena chunks */
	es->flush_interval_ms = 20;
	es->manifest_poll_interval_ms = 200;
	es->wal_max_bytes = 32 << 10;
	/* the compactor merges small tables often, under every test here */
	es->max_sst_size = 32 << 10;
	es->compactor_poll_interval_ms = 50;
	es->l0_max_ssts = 4;
	/* a test may change any of them (SHALE_* as in shale-settings(5)) */
	if (engine_settings_load_env(es) != 0) {
		fprintf(stderr, "engine_driver: %s\n", err_message(-EINVAL));
		exit(2);
	}
}

/* Record j of batch i: a bulk one ('B') is about 4 KiB. */
static void
value(struct buf *v, char kind, unsigned long i, unsigned j)
{
	unsigned n = (unsigned)((i * 7 + j) % 300) + (kind == 'B' ? 4096 : 0);

	buf_reset(v);
	buf_printf(v, "value-%lu-%u-", i, j);
	for (unsigned k = 0; k < n; k++)
		buf_putc(v, (char)('a' + (i + k) % 26));
}

/* Records in batch i. */
static unsigned
records(char kind, unsigned long i)
{
	return kind == 'B' ? 4 : 1 + (unsigned)(i % 5);
}

static void
log_line(int fd, char kind, unsigned long n)
{
	char line[40];
	int len = snprintf(line, sizeof(line), "%c %lu\n", kind, n);

	if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
		perror("log");
		exit(3);
	}
}

static int
open_engine(const char *uri, enum engine_mode mode, struct engine **e)
{
	struct engine_settings es;
	int rc;

	settings(&es);
	if ((rc = engine_open(uri, NULL, &es, mode, e)) != 0)
		printf("open '%s': %s\n", uri, err_message(rc));
	engine_settings_release(&es);	/* the engine keeps a copy */
	return rc;
}

/* A counter of the global registry (the series with that label), 0 if none. */
static double
counter(const char *name, const char *label)
{
	struct metric *f = metrics_find(metrics_global(), name);

	return f != NULL ? metric_value(metric_series(f, label)) : 0;
}

static int
crashwrite(const char *uri, const char *logpath, unsigned long start, int bulk)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	struct buf v;
	char key[64], kind = bulk ? 'B' : 'b';
	unsigned long done = start;
	uint64_t seq;
	int fd, rc, told = 0;

	if ((fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		return 3;
	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	buf_init(&v, 0);
	for (unsigned long i = start; ; i++) {
		engine_batch_clear(b);
		for (unsigned j = 0; j < records(kind, i); j++) {
			snprintf(key, sizeof(key), "%c%010lu-%u", kind, i, j);
			value(&v, kind, i, j);
			engine_batch_put(b, key, strlen(key), v.data, v.len, 0);
		}
		if ((rc = engine_write(e, b, &seq)) != 0 ||
		    ((!bulk || i % 16 == 15) &&
		    (rc = engine_wait_durable(e, seq, -1)) != 0)) {
			printf("batch %lu: %s\n", i, err_message(rc));
			return 1;
		}
		if (bulk && i % 16 != 15)
			continue;
		for (; done <= i; done++)
			log_line(fd, kind, done);
		if (bulk && !told &&
		    counter("engine_wal_stubbed_bytes_total", NULL) > 0) {
			printf("stubs by batch %lu\n", i);
			fflush(stdout);
			told = 1;
		}
	}
}

struct acked {
	char		 kind;
	unsigned long	 i;
};

static struct acked *
read_log(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct acked *v = NULL, x;
	size_t cap = 0;

	*n = 0;
	if (f == NULL)
		return NULL;
	while (fscanf(f, " %c %lu", &x.kind, &x.i) == 2) {
		v = xgrow(v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = x;
	}
	fclose(f);
	return v;
}

static int
crashcheck(const char *uri, const char *logpath)
{
	struct engine *e;
	struct engine_iter *it;
	struct buf v, got;
	struct acked *acked;
	unsigned long cur = 0, i, last = 0;
	size_t nacked, kl, vl, batches = 0, nrec = 0;
	unsigned j, have = 0;
	const char *k;
	char key[64], kind, ckind = 0, lkind = 0;
	int bad = 0, rc;

	acked = read_log(logpath, &nacked);
	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	buf_init(&v, 0);
	buf_init(&got, 0);
	for (size_t a = 0; a < nacked; a++) {
		kind = acked[a].kind;
		i = acked[a].i;
		for (j = 0; j < records(kind, i); j++) {
			snprintf(key, sizeof(key), "%c%010lu-%u", kind, i, j);
			buf_reset(&got);
			value(&v, kind, i, j);
			rc = engine_get(e, NULL, key, strlen(key), &got);
			if (rc != 0 || got.len != v.len || memcmp(got.data, v.data, v.len)) {
				printf("acknowledged batch %c %lu: '%s' %s\n", kind,
				    i, key, rc ? err_message(rc) :
				    "has the wrong value");
				bad++;
			}
		}
	}
	/* every batch present is whole, and follows the one before */
	it = engine_iter_new(e, NULL, NULL, 0, NULL, 0);
	for (engine_iter_seek_first(it); ; engine_iter_next(it)) {
		int valid = engine_iter_valid(it);

		if (valid) {
			k = engine_iter_key(it, &kl);
			engine_iter_value(it, &vl);
			if (sscanf(k, "%c%lu-%u", &kind, &i, &j) != 3 ||
			    (kind != 'b' && kind != 'B')) {
				printf("stray key '%.*s'\n", (int)kl, k);
				bad++;
				continue;
			}
			nrec++;
		}
		if (!valid || (have > 0 && (i != cur || kind != ckind))) {
			if (have > 0 && have != records(ckind, cur)) {
				printf("batch %c %lu partly visible: %u of %u "
				    "records\n", ckind, cur, have,
				    records(ckind, cur));
				bad++;
			}
			if (have > 0) {
				/* a run's first batch, or the next one */
				if (cur % 1000000 != 0 && (ckind != lkind ||
				    cur / 1000000 != last / 1000000 ||
				    cur != last + 1)) {
					printf("batch %c %lu present, but not "
					    "the one before it\n", ckind, cur);
					bad++;
				}
				lkind = ckind;
				last = cur;
				batches++;
			}
			have = 0;
		}
		if (!valid)
			break;
		cur = i;
		ckind = kind;
		have++;
	}
	if (engine_iter_status(it) != 0) {
		printf("iterator: %s\n", err_message(engine_iter_status(it)));
		bad++;
	}
	engine_iter_free(it);
	printf("%zu acknowledged batches checked, %zu batches (%zu records) present, "
	    "%d problems\n", nacked, batches, nrec, bad);
	if ((rc = engine_close(e)) != 0) {
		printf("close: %s\n", err_message(rc));
		bad++;
	}
	free(acked);
	buf_release(&v);
	buf_release(&got);
	return bad ? 1 : 0;
}

static int
writer(const char *uri, const char *prefix, long ms, const char *logpath)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	char key[64];
	uint64_t seq;
	int64_t end = clock_mono_ns() + ms * 1000000;
	int fd, rc = 0;

	if ((fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0)
		return 3;
	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	printf("open %lld\n", (long long)(clock_wall_ns() / 1000000));
	fflush(stdout);
	for (unsigned long n = 0; clock_mono_ns() < end; n++) {
		engine_batch_clear(b);
		snprintf(key, sizeof(key), "%s%06lu", prefix, n);
		engine_batch_put(b, key, strlen(key), key, strlen(key), 0);
		if ((rc = engine_write(e, b, &seq)) == 0)
			rc = engine_wait_durable(e, seq, -1);
		if (rc == SHALE_EFENCED) {
			printf("fenced %lld\n", (long long)(clock_wall_ns() / 1000000));
			rc = engine_flush(e);
			printf("flush after fencing: %s\n", rc == SHALE_EFENCED ?
			    "fenced" : rc ? err_message(rc) : "succeeded");
			rc = rc == SHALE_EFENCED ? 0 : 1;
			goto out;
		}
		if (rc != 0) {
			printf("write %lu: %s\n", n, err_message(rc));
			goto out;
		}
		log_line(fd, 'w', n);
		clock_sleep_ms(10);
	}
	printf("not fenced\n");
out:
	engine_batch_free(b);
	if (engine_close(e) != 0 && rc == 0)
		printf("close: %s\n", err_detail());
	return rc ? 1 : 0;
}

static int
check(const char *uri, const char *logpath, const char *prefix)
{
	struct engine *e;
	struct buf got;
	struct acked *acked;
	size_t n;
	char key[64];
	int bad = 0;

	acked = read_log(logpath, &n);
	if (open_engine(uri, ENGINE_READER, &e) != 0)
		return 1;
	buf_init(&got, 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%06lu", prefix, acked[i].i);
		buf_reset(&got);
		if (engine_get(e, NULL, key, strlen(key), &got) != 0) {
			printf("acknowledged '%s' is missing\n", key);
			bad++;
		}
	}
	printf("%zu acknowledged writes of '%s' checked, %d missing\n", n, prefix, bad);
	buf_release(&got);
	engine_close(e);
	free(acked);
	return bad ? 1 : 0;
}

static int
count_keys(const char *uri, const char *prefix, unsigned long n)
{
	struct engine *e;
	struct buf got;
	char key[64];
	unsigned long missing = 0;

	if (open_engine(uri, ENGINE_READER, &e) != 0)
		return 1;
	buf_init(&got, 0);
	for (unsigned long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%08lu", prefix, i);
		buf_reset(&got);
		if (engine_get(e, NULL, key, strlen(key), &got) != 0 || got.len != 1000)
			missing++;
	}
	printf("%lu of %lu written keys missing after reopen\n", missing, n);
	buf_release(&got);
	engine_close(e);
	return missing ? 1 : 0;
}

static int
put_numbered(struct engine *e, struct engine_batch *b, const char *prefix,
    unsigned long i)
{
	char key[64], val[1000];

	memset(val, 'v', sizeof(val));
	snprintf(key, sizeof(key), "%s%08lu", prefix, i);
	engine_batch_clear(b);
	engine_batch_put(b, key, strlen(key), val, sizeof(val), 0);
	return engine_write(e, b, NULL);
}

static int
faulty(const char *uri, unsigned long n)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	int rc = 0;

	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	for (unsigned long i = 0; i < n && rc == 0; i++) {
		rc = put_numbered(e, b, "f", i);
		if (rc == 0 && i % 10 == 9)
			rc = engine_flush(e);
	}
	if (rc != 0)
		printf("write: %s\n", err_message(rc));
	engine_batch_free(b);
	if (engine_close(e) != 0 || rc != 0)
		return 1;
	return count_keys(uri, "f", n);
}

struct outage {
	struct engine	*e;
	_Atomic unsigned long n;
	_Atomic int	 stop;
};

static void *
outage_writer(void *arg)
{
	struct outage *o = arg;
	struct engine_batch *b = engine_batch_new();

	while (!o->stop && put_numbered(o->e, b, "o", o->n) == 0)
		o->n++;
	engine_batch_free(b);
	return NULL;
}

static int
outage(const char *uri, const char *flag)
{
	struct engine_settings es;
	struct engine_status st;
	struct outage o = { 0 };
	pthread_t t;
	unsigned long c1, c2;
	int fd, bad = 0;

	settings(&es);
	es.max_unflushed_bytes = 256 << 10;
	es.l0_sst_size_bytes = 128 << 10;
	if (engine_open(uri, NULL, &es, ENGINE_WRITER, &o.e) != 0) {
		printf("open: %s\n", err_detail());
		return 1;
	}
	pthread_create(&t, NULL, outage_writer, &o);
	clock_sleep_ms(300);
	if ((fd = open(flag, O_CREAT | O_WRONLY, 0644)) >= 0)
		close(fd);
	clock_sleep_ms(1500);
	c1 = o.n;
	clock_sleep_ms(1000);
	c2 = o.n;
	engine_status(o.e, &st);
	printf("store down: %lu writes, then %lu a second later; %llu bytes "
	    "unflushed\n", c1, c2, (unsigned long long)st.unflushed_bytes);
	/* a batch is let in below the bound; a freeze then adds one memtable */
	if (c2 != c1 || st.unflushed_bytes > es.max_unflushed_bytes +
	    es.l0_sst_size_bytes + (64 << 10)) {
		printf("writers did not block at max_unflushed_bytes\n");
		bad++;
	}
	unlink(flag);
	for (int i = 0; i < 200 && o.n < c2 + 100; i++)
		clock_sleep_ms(100);
	printf("store back: %lu writes\n", (unsigned long)o.n);
	if (o.n < c2 + 100) {
		printf("writers did not resume\n");
		bad++;
	}
	o.stop = 1;
	pthread_join(t, NULL);
	if (engine_close(o.e) != 0) {
		printf("close: %s\n", err_detail());
		bad++;
	}
	return bad ? 1 : count_keys(uri, "o", o.n);
}

static int
fill(const char *uri, unsigned long n)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	int rc = 0;

	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	for (unsigned long i = 0; i < n && rc == 0; i++)
		rc = put_numbered(e, b, "f", i);
	if (rc != 0)
		printf("write: %s\n", err_message(rc));
	engine_batch_free(b);
	return engine_close(e) != 0 || rc != 0;
}

static int
fillrand(const char *uri, unsigned long n)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	char key[64], val[1000];
	uint64_t x;
	int rc = 0;

	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	for (unsigned long i = 0; i < n && rc == 0; i++) {
		x = i * 0x9e3779b97f4a7c15ULL + 1;
		for (size_t j = 0; j < sizeof(val); j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			val[j] = (char)x;
		}
		snprintf(key, sizeof(key), "r%08lu", i);
		engine_batch_clear(b);
		engine_batch_put(b, key, strlen(key), val, sizeof(val), 0);
		rc = engine_write(e, b, NULL);
	}
	if (rc != 0)
		printf("write: %s\n", err_message(rc));
	engine_batch_free(b);
	return engine_close(e) != 0 || rc != 0;
}

static int
scan(const char *uri)
{
	struct engine *e;
	struct engine_iter *it;
	unsigned long n = 0;
	int rc;

	if (open_engine(uri, ENGINE_READER, &e) != 0)
		return 1;
	it = engine_iter_new(e, NULL, NULL, 0, NULL, 0);
	for (engine_iter_seek_first(it); engine_iter_valid(it); engine_iter_next(it))
		n++;
	rc = engine_iter_status(it);
	printf("%lu records read%s%s\n", n, rc ? ": " : "", rc ? err_message(rc) : "");
	engine_iter_free(it);
	engine_close(e);
	return rc ? 1 : 0;
}

static void
touch(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0) {
		perror(path);
		exit(3);
	}
	close(fd);
}

static int
exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int
churn(const char *uri, const char *dir)
{
	struct engine *e;
	struct engine_batch *b = engine_batch_new();
	int64_t t0;
	char key[64];
	unsigned long rounds = 0, n = 0;
	int rc;

	if (open_engine(uri, ENGINE_WRITER, &e) != 0)
		return 1;
	if ((rc = engine_compact(e)) != 0)
		goto out;
	touch(dir, "ready");
	t0 = clock_mono_ns();
	while (!exists(dir, "scanning") && clock_mono_ns() - t0 < 60000000000LL)
		clock_sleep_ms(20);
	while (!exists(dir, "done") && clock_mono_ns() - t0 < 60000000000LL) {
		engine_batch_clear(b);
		for (int i = 0; i < 200; i++, n++) {
			snprintf(key, sizeof(key), "c%08lu", n);
			engine_batch_put(b, key, strlen(key), "churn", 5, 0);
		}
		if ((rc = engine_write(e, b, NULL)) != 0 ||
		    (rc = engine_compact(e)) != 0)
			goto out;
		rounds++;
		clock_sleep_ms(50);
	}
	printf("%lu rounds of writes and compaction\n", rounds);
out:
	if (rc != 0)
		printf("churn: %s\n", err_message(rc));
	engine_batch_free(b);
	return engine_close(e) != 0 || rc != 0;
}

static int
pinscan(const char *uri, const char *dir, unsigned long want, long ms)
{
	struct engine *e;
	struct engine_iter *it;
	int64_t t0, due;
	unsigned long n = 0;
	int rc;

	if (open_engine(uri, ENGINE_READER, &e) != 0)
		return 1;
	it = engine_iter_new(e, NULL, "r", 1, "s", 1);
	engine_iter_seek_first(it);
	touch(dir, "scanning");
	t0 = clock_mono_ns();
	for (; engine_iter_valid(it); engine_iter_next(it)) {
		n++;
		due = t0 + (int64_t)ms * 1000000 / (int64_t)want * (int64_t)n;
		if (clock_mono_ns() < due)
			clock_sleep_ms((due - clock_mono_ns()) / 1000000 + 1);
	}
	rc = engine_iter_status(it);
	printf("%lu records read in %lld ms%s%s\n", n,
	    (long long)((clock_mono_ns() - t0) / 1000000), rc ? ": " : "",
	    rc ? err_message(rc) : "");
	engine_iter_free(it);
	engine_close(e);
	printf("%.0f checkpoint writes\n",
	    counter("engine_checkpoint_writes_total", NULL));
	return rc != 0 || n != want;
}

static double
store_gets(void)
{
	return counter("objstore_requests_total", "get");
}

static int
scanstat(const char *uri)
{
	struct engine *e;
	struct engine_iter *it;
	double g0 = store_gets(), g1;
	const void *k, *v;
	size_t kl, vl;
	int rc = 0;

	if (open_engine(uri, ENGINE_READER, &e) != 0)
		return 1;
	printf("open: %.0f gets\n", store_gets() - g0);
	for (int pass = 1; pass <= 2 && rc == 0; pass++) {
		unsigned long n = 0;
		uint32_t crc = 0;

		g1 = store_gets();
		it = engine_iter_new(e, NULL, NULL, 0, NULL, 0);
		for (engine_iter_seek_first(it); engine_iter_valid(it);
		    engine_iter_next(it), n++) {
			k = engine_iter_key(it, &kl);
			v = engine_iter_value(it, &vl);
			crc = crc32c(crc32c(crc, k, kl), v, vl);
		}
		rc = engine_iter_status(it);
		engine_iter_free(it);
		printf("scan %d: %lu records, crc %08x, %.0f gets%s%s\n", pass, n,
		    crc, store_gets() - g1, rc ? ": " : "", rc ? err_message(rc) : "");
	}
	printf("block cache: %.0f hits, %.0f misses\n",
	    counter("engine_cache_hits_total", "block"),
	    counter("engine_cache_misses_total", "block"));
	printf("disk cache: %.0f hits, %.0f misses, %.0f errors, %.0f bytes\n",
	    counter("engine_cache_hits_total", "disk"),
	    counter("engine_cache_misses_total", "disk"),
	    counter("engine_cache_errors_total", "disk"),
	    counter("engine_cache_bytes", "disk"));
	engine_close(e);
	return rc ? 1 : 0;
}

struct tshared {
	struct engine	*e;
	_Atomic int	 stop;
	_Atomic unsigned long written[4];
	_Atomic int	 bad;
};

struct targ {
	struct tshared	*sh;
	int		 id;
};

static void *
t_writer(void *arg)
{
	struct targ *a = arg;
	struct engine_batch *b = engine_batch_new();
	char key[32], val[64];
	int n;

	for (unsigned long i = 0; !a->sh->stop && i < 25000; i++) {
		engine_batch_clear(b);
		snprintf(key, sizeof(key), "t%d-%08lu", a->id, i);
		n = snprintf(val, sizeof(val), "v%d-%lu", a->id, i);
		engine_batch_put(b, key, strlen(key), val, (size_t)n, 0);
		if (engine_write(a->sh->e, b, NULL) != 0) {
			a->sh->bad++;
			break;
		}
		a->sh->written[a->id] = i + 1;
	}
	engine_batch_free(b);
	return NULL;
}

static void *
t_reader(void *arg)
{
	struct targ *a = arg;
	struct buf v;
	char key[32];

	buf_init(&v, 0);
	while (!a->sh->stop) {
		for (int w = 0; w < 4; w++) {
			/* what was written before this look must be visible */
			unsigned long n = a->sh->written[w], seen = 0;
			struct engine_iter *it;
			size_t kl;

			if (n == 0)
				continue;
			snprintf(key, sizeof(key), "t%d-%08lu", w, n - 1);
			buf_reset(&v);
			if (engine_get(a->sh->e, NULL, key, strlen(key), &v) != 0) {
				printf("reader: '%s' written but not visible\n", key);
				a->sh->bad++;
			}
			snprintf(key, sizeof(key), "t%d-", w);
			it = engine_iter_new(a->sh->e, NULL, key, strlen(key), NULL, 0);
			for (engine_iter_seek_first(it); engine_iter_valid(it);
			    engine_iter_next(it)) {
				const char *k = engine_iter_key(it, &kl);
				char want[32];

				if (kl < 2 || k[1] != '0' + w)
					break;
				snprintf(want, sizeof(want), "t%d-%08lu", w, seen);
				if (kl != strlen(want) || memcmp(k, want, kl) != 0) {
					printf("reader: expected '%s', found '%.*s'\n", want,
					    (int)kl, k);
					a->sh->bad++;
					break;
				}
				seen++;
			}
			engine_iter_free(it);
			if (seen < n) {
				printf("reader: writer %d wrote %lu, scan saw %lu\n", w, n, seen);
				a->sh->bad++;
			}
		}
	}
	buf_release(&v);
	return NULL;
}

static int
threads(const char *uri)
{
	struct tshared sh = { 0 };
	struct targ a[6];
	pthread_t t[6];
	struct buf v;
	char key[32];
	unsigned long total = 0, missing = 0;

	if (open_engine(uri, ENGINE_WRITER, &sh.e) != 0)
		return 1;
	for (int i = 0; i < 6; i++) {
		a[i] = (struct targ){ &sh, i < 4 ? i : i - 4 };
		pthread_create(&t[i], NULL, i < 4 ? t_writer : t_reader, &a[i]);
	}
	clock_sleep_ms(3000);
	sh.stop = 1;
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	if (engine_close(sh.e) != 0)
		sh.bad++;
	if (open_engine(uri, ENGINE_READER, &sh.e) != 0)
		return 1;
	buf_init(&v, 0);
	for (int w = 0; w < 4; w++) {
		for (unsigned long i = 0; i < sh.written[w]; i++) {
			snprintf(key, sizeof(key), "t%d-%08lu", w, i);
			buf_reset(&v);
			if (engine_get(sh.e, NULL, key, strlen(key), &v) != 0)
				missing++;
		}
		total += sh.written[w];
	}
	buf_release(&v);
	engine_close(sh.e);
	printf("4 writers wrote %lu records, 2 readers checked them as they came; "
	    "%d problems, %lu missing after reopen\n", total, (int)sh.bad, missing);
	return sh.bad || missing || total == 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "threads") == 0)
		return threads(argv[2]);
	if (argc == 4 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "scan") == 0)
		return scan(argv[2]);
	if (argc == 4 && strcmp(argv[1], "fillrand") == 0)
		return fillrand(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "scanstat") == 0)
		return scanstat(argv[2]);
	if (argc == 4 && strcmp(argv[1], "faulty") == 0)
		return faulty(argv[2], strtoul(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "churn") == 0)
		return churn(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "pinscan") == 0)
		return pinscan(argv[2], argv[3], strtoul(argv[4], NULL, 10),
		    atol(argv[5]));
	if (argc == 4 && strcmp(argv[1], "outage") == 0)
		return outage(argv[2], argv[3]);
	if ((argc == 5 || (argc == 6 && strcmp(argv[5], "bulk") == 0)) &&
	    strcmp(argv[1], "crashwrite") == 0)
		return crashwrite(argv[2], argv[3], strtoul(argv[4], NULL, 10),
		    argc == 6);
	if (argc == 4 && strcmp(argv[1], "crashcheck") == 0)
		return crashcheck(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "writer") == 0)
		return writer(argv[2], argv[3], atol(argv[4]), argv[5]);
	if (argc == 5 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: see the comment at the top of engine_driver.c\n");
	return 2;
}
