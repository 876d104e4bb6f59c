/*
 * engine.c - the engine: open and close, its status and metrics, and a
 * writer's garbage collector; and the overview of its write side, whose
 * stages have a file each:
 *
 *   engine_version.c   tables and versions, and their references
 *   engine_recover.c   manifests, fencing, recovery at open (WAL replay)
 *   engine_write.c     the write path: batches, memtables, durability waits
 *   engine_wal.c       the sealer and the uploaders: WAL objects to the store
 *   engine_flush.c     L0 flushes and manifest commits
 *   engine_follow.c    the manifest poller; a reader following the writer
 *
 * beside engine_read.c (gets and iterators), compact.c (the compactor)
 * and checkpoint.c (a reader's checkpoints).
 *
 * A batch's life:
 *
 *   engine_write()     memtable + walbuf (batches not yet in an object)
 *        |  flush_interval passed, walbuf >= wal_max_bytes, or a flush
 *        v  asked (sealer_main, seal_locked)
 *   sealed             a walobj on `queue`, with the next WAL id (seal_locked)
 *        |  uploader_main: put_if_absent of wal/<id>.wal
 *        v
 *   durable            durable_seq moves, waiters wake, subscribers called
 *
 * While the store refuses, uploader_main and l0_main retry for ever
 * (pause_locked), keeping everything in memory; wal_failing_since and
 * l0_failing_since say since when. Once that is store_failure_timeout
 * old, engine_sync() (fsync) and writers held at max_unflushed_bytes give
 * up with -EIO on the next failed attempt, which a new wait asks for at
 * once (retry_gen): a process must never wait on a dead store for good.
 *
 * A memtable's life:
 *
 *   active --(l0_sst_size_bytes, freeze)--> frozen --(l0_main: build the
 *   tables, put them, commit a manifest listing them and moving the WAL
 *   replay point past its records)--> gone, its records read from the
 *   tables. L0_WRITERS memtables are built at once; their commits are
 *   made in the order the memtables were frozen.
 *
 * Fencing (one writer per store):
 *
 *   engine_open      manifest N+1 with writer_epoch + 1 (put_if_absent,
 *                    reload and retry on conflict); replay the WAL from
 *                    the replay point, filling any hole with a fence object
 *                    so a late write of an older writer cannot land there;
 *                    then a fence object where the replaced writer would
 *                    write next (its own objects start WAL_JUMP later).
 *   older writer     its next WAL put finds the id taken by an object of a
 *                    higher epoch, or its next manifest commit finds the
 *                    version taken, or poller_main sees a manifest of a
 *                    higher epoch: fence_writer() - sticky; every write and wait
 *                    fails with SHALE_EFENCED, nothing more is written.
 *   replay           takes WAL objects in id order and skips one whose
 *                    epoch is below an earlier one's: a write of an older
 *                    writer that lost the race, never acknowledged.
 *
 * Bulk writes. When walbuf reaches wal_max_bytes within one flush
 * interval (a writer is appending faster than wal_max_bytes a flush
 * interval, 40 MB/s by default), the WAL stops carrying big values: until
 * an interval passes with less, each put of at least wal_stub_min_bytes
 * goes into walbuf as a stub (its key and length, WAL_STUB), and its value
 * reaches the store only in the L0 table of its memtable, which would hold
 * it anyway. Such an object (bulk) is stored only once that table is
 * committed (the current manifest's last_seq covers it), and no object
 * after it before that, so what the store holds is still a prefix of
 * the writes: replay never meets a
 * stub, since the commit moved the replay point past it. A waiter for a
 * seq at or past a stub in the active memtable freezes it (mem_bulk_first),
 * and so does the end of the bulk write, so that it is flushed at once.
 * The objects still go out, small, for followers: they apply a stub once
 * a manifest covers it, reading its value from the tables (replay_batch).
 * This saves compressing and storing the bytes twice, which on a
 * machine shared with the store was most of the work of a long append.
 *
 * A sealed object gets the next WAL id at once, so ids follow the order of
 * the records. WAL_UPLOADERS threads store objects, several in flight, and
 * durability is acknowledged in id order (advance_locked): an object
 * stored early waits for those before it. A writer's first object comes
 * WAL_JUMP ids after its opening fence, so the uploads still in flight
 * from the writer it replaced land in the gap, where replay skips them
 * for their lower epoch; that writer's next acknowledgement needs the id
 * the fence took, so it acknowledges nothing more.
 *
 * This file owns, in struct engine, what is fixed after open (os, mirror,
 * set, mode, uri, the metrics m, bcache, and epoch, which epoch_claim sets),
 * the threads' handles, and stopping, abandon and close_due, which
 * closing sets. engine_open starts each stage's threads, engine_close
 * stops them, engine_free frees what every stage left. Lock order, for
 * the whole engine: commit_lock, then e->lock, then tables_lock;
 * filter_lock (compact.c) is held around a filter call only. No object
 * store call is made with e->lock held.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/gc.h"
#include "engine/lsm/manifest_store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- metrics ---- */

static void
metrics_init(struct engine *e)
{
	struct metrics *r = metrics_global();

	e->m.writes = metric_series(metrics_counter(r, "engine_write_batches_total",
	    "Batches written.", NULL));
	e->m.write_bytes = metric_series(metrics_counter(r, "engine_write_bytes_total",
	    "Key and value bytes written.", NULL));
	e->m.wal_objects = metric_series(metrics_counter(r, "engine_wal_objects_total",
	    "WAL objects stored.", NULL));
	e->m.wal_bytes = metric_series(metrics_counter(r, "engine_wal_bytes_total",
	    "Bytes of WAL objects stored.", NULL));
	e->m.wal_latency = metric_series(metrics_histogram(r,
	    "engine_wal_flush_duration_seconds",
	    "From sealing a WAL object to its being stored.", NULL,
	    metrics_latency_bounds, metrics_latency_nbounds));
	e->m.l0_flushes = metric_series(metrics_counter(r, "engine_l0_flushes_total",
	    "Memtables written as L0 tables.", NULL));
	e->m.l0_tables = metric_series(metrics_gauge(r, "engine_l0_tables",
	    "L0 tables in the current manifest.", NULL));
	e->m.l0_depth = metric_series(metrics_gauge(r, "engine_l0_depth",
	    "The most L0 tables one key may be in; writes wait for the "
	    "compactor at l0_max_ssts.", NULL));
	e->m.unflushed = metric_series(metrics_gauge(r, "engine_unflushed_bytes",
	    "Bytes written but not yet durable or not yet in a table.", NULL));
	e->m.fenced = metric_series(metrics_gauge(r, "engine_fenced",
	    "1 once another writer has taken the store.", NULL));
	e->m.recovery = metric_series(metrics_gauge(r, "engine_recovery_seconds",
	    "Time the last open took to replay the WAL.", NULL));
	e->m.durable = metric_series(metrics_gauge(r, "engine_durable_seq",
	    "The durable sequence number.", NULL));
	e->m.wal_stubbed = metric_series(metrics_counter(r,
	    "engine_wal_stubbed_bytes_total", "Value bytes of bulk writes left "
	    "out of WAL objects (stubs), stored by their L0 flush only.", NULL));
	e->m.follow_lag = metric_series(metrics_gauge(r,
	    "engine_follow_lag_seconds", "A reader: the age of the newest WAL "
	    "object it applied when it applied it (1 s resolution).", NULL));
	e->m.compactions = metric_series(metrics_counter(r,
	    "engine_compactions_total", "Compactions committed.", NULL));
	e->m.compaction_moved = metric_series(metrics_counter(r,
	    "engine_compaction_moved_tables_total", "Tables compactions took "
	    "into their run as they were, neither read nor written.", NULL));
	e->m.compact_in = metric_series(metrics_counter(r,
	    "engine_compaction_read_bytes_total",
	    "Bytes of the tables compactions merged.", NULL));
	e->m.compact_out = metric_series(metrics_counter(r,
	    "engine_compaction_written_bytes_total",
	    "Bytes of the tables compactions wrote.", NULL));
	e->m.compact_time = metric_series(metrics_histogram(r,
	    "engine_compaction_duration_seconds",
	    "From picking a compaction to committing it.", NULL,
	    metrics_latency_bounds, metrics_latency_nbounds));
	e->m.runs = metric_series(metrics_gauge(r, "engine_sorted_runs",
	    "Sorted runs in the current manifest.", NULL));
	e->m.expired_tables = metric_series(metrics_counter(r,
	    "engine_expired_tables_dropped_total",
	    "Tables dropped whole, unread, because every record expired.", NULL));
	e->m.l0_stalls = metric_series(metrics_counter(r, "engine_l0_stalls_total",
	    "Times an L0 table waited for the compactor (l0_max_ssts).", NULL));
	e->m.checkpoints = metric_series(metrics_gauge(r, "engine_checkpoints",
	    "A reader: checkpoints it holds in the manifest, one per old "
	    "version it still reads.", NULL));
	e->m.checkpoint_writes = metric_series(metrics_counter(r,
	    "engine_checkpoint_writes_total", "A reader: manifest versions it "
	    "wrote to add, refresh or remove its checkpoints.", NULL));
	e->m.blocks_skipped = metric_series(metrics_counter(r,
	    "engine_blocks_skipped_total", "Table data blocks scans passed "
	    "over unread: their content filters ruled out a string every "
	    "record wanted must contain.", NULL));
}

int
engine_content_filter_prefix(struct engine *e, const void *prefix,
    size_t len)
{
	size_t n;
	int rc = 0;

	if (len > SST_CF_PREFIX_MAX || (prefix == NULL && len != 0))
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	n = atomic_load(&e->cf_n);
	for (size_t i = 0; i < n; i++)
		if (e->cf_prefix[i].len == len &&
		    memcmp(e->cf_prefix[i].p, prefix, len) == 0)
			goto out;
	if (n == ENGINE_CF_PREFIX_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	if (len > 0)
		memcpy(e->cf_prefix[n].p, prefix, len);
	e->cf_prefix[n].len = len;
	atomic_store_explicit(&e->cf_n, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void
engine_sst_options(struct engine *e, struct sst_options *so)
{
	memset(so, 0, sizeof(*so));
	so->block_size = e->set.block_size;
	so->zstd_level = e->set.zstd_level;
	so->bloom_bits_per_key = e->set.bloom_bits_per_key;
	so->cf_prefix = e->cf_prefix;
	so->cf_nprefix = atomic_load_explicit(&e->cf_n, memory_order_acquire);
}

void
set_shape_metrics_locked(struct engine *e)
{
	metric_set(e->m.l0_tables, (double)e->ver->m.nl0);
	metric_set(e->m.l0_depth, (double)e->ver->l0_depth);
	metric_set(e->m.runs, (double)e->ver->m.nruns);
}

/* ---- the garbage collector ---- */

static int64_t
gc_interval(const struct engine_settings *s)
{
	int64_t t = s->gc_manifest.interval_ms;

	if (s->gc_wal.interval_ms < t)
		t = s->gc_wal.interval_ms;
	if (s->gc_compacted.interval_ms < t)
		t = s->gc_compacted.interval_ms;
	return t > 0 ? t : 1;
}

/*
 * A writer collects its store every interval (the shortest of the
 * three), keeping what its own versions and uploads still need (gc.h).
 */
static void *
gc_main(void *arg)
{
	struct engine *e = arg;
	int64_t every = gc_interval(&e->set), due;
	struct gc_report r;
	struct gc_pin pin;
	int rc;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		due = clock_mono_ns() + every * 1000000;
		while (!e->stopping && !e->fenced && clock_mono_ns() < due)
			clock_cond_wait(&e->cond, &e->lock, due);
		if (e->stopping || e->fenced)
			break;
		pthread_mutex_unlock(&e->lock);
		memset(&pin, 0, sizeof(pin));
		pin.held = table_held;
		pin.held_arg = e;
		rc = gc_run(e->os, &e->set, 0, &pin, 0, NULL, NULL, &r);
		if (rc != 0)
			log_warn("'%s': garbage collection: %s", e->uri,
			    err_message(rc));
		else if (r.manifests + r.wals + r.tables > 0)
			log_debug("'%s': collected %llu manifests, %llu WAL "
			    "objects, %llu tables (%llu bytes)", e->uri,
			    (unsigned long long)r.manifests,
			    (unsigned long long)r.wals,
			    (unsigned long long)r.tables,
			    (unsigned long long)r.bytes);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- open and close ---- */

int
engine_open(const char *uri, const struct objstore_opts *so,
    const struct engine_settings *es, enum engine_mode mode, struct engine **out)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	struct objstore_opts o = { 0 };
	pthread_condattr_t ca;
	int64_t t0 = clock_mono_ns();
	int rc;

	*out = NULL;
	e->mode = mode;
	e->uri = xstrdup(uri);
	engine_settings_default(&e->set);
	if (es != NULL) {
		e->set = *es;
		e->set.cache_root_folder = es->cache_root_folder ?
		    xstrdup(es->cache_root_folder) : NULL;
		/* the models' strings stay the caller's: the engine reads none */
		e->set.series_retention_filters = NULL;
		e->set.logs_retention_filters = NULL;
		e->set.logs_push_path = NULL;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->commit_lock, NULL);
	pthread_mutex_init(&e->tables_lock, NULL);
	pthread_rwlock_init(&e->filter_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	buf_init(&e->write.walbuf, 0);
	e->wal.qtail = &e->wal.queue;
	e->mem = memtable_new();
	e->bcache = block_cache_new(e->set.block_cache_bytes);
	metrics_init(e);
	if (so != NULL)
		o = *so;
	if (e->set.cache_root_folder != NULL) {
		o.cache_dir = e->set.cache_root_folder;
		o.cache_prefix = LAYOUT_TABLES;	/* written once, read often */
		o.cache_max_bytes = e->set.cache_max_size_bytes;
	}
	if ((rc = objstore_open(uri, &o, &e->os)) != 0)
		goto fail;
	e->mirror = manifest_mirror_open(e->set.cache_root_folder, uri);
	if ((rc = epoch_claim(e)) != 0)
		goto fail;
	if ((rc = replay_wal(e)) != 0)
		goto fail;
	metric_set(e->m.recovery, (double)(clock_mono_ns() - t0) / 1e9);
	set_shape_metrics_locked(e);
	metric_set(e->m.durable, (double)e->durable_seq);
	metric_set(e->m.fenced, 0);
	log_info("'%s': open as %s, epoch %llu, manifest %llu, last seq %llu", uri,
	    mode == ENGINE_WRITER ? "writer" : "reader",
	    (unsigned long long)e->epoch, (unsigned long long)e->ver->m.id,
	    (unsigned long long)e->last_seq);
	if (mode == ENGINE_WRITER) {
		pthread_create(&e->t_sealer, NULL, sealer_main, e);
		for (int i = 0; i < WAL_UPLOADERS; i++)
			pthread_create(&e->t_uploader[i], NULL, uploader_main, e);
		for (int i = 0; i < L0_WRITERS; i++)
			pthread_create(&e->t_l0[i], NULL, l0_main, e);
		pthread_create(&e->t_poller, NULL, poller_main, e);
		e->threads = 1;
		compactor_start(e);
		pthread_create(&e->t_gc, NULL, gc_main, e);
		e->gc_running = 1;
	} else {
		ckpt_init(e);
		pthread_create(&e->t_follow, NULL, follow_main, e);
		e->following = 1;
	}
	*out = e;
	return 0;
fail:
	engine_close(e);
	return rc;
}

int
engine_close_within(struct engine *e, int64_t timeout_ms)
{
	uint64_t left;
	int rc = 0;

	if (e == NULL)
		return 0;
	pthread_mutex_lock(&e->lock);
	e->close_due = clock_mono_ns() + timeout_ms * 1000000;
	pthread_mutex_unlock(&e->lock);
	if (e->mode == ENGINE_WRITER && e->threads) {
		rc = flush_within(e, timeout_ms);
		if (rc == -ETIMEDOUT) {
			pthread_mutex_lock(&e->lock);
			left = e->last_seq - e->durable_seq;
			e->abandon = 1;
			pthread_cond_broadcast(&e->cond);
			pthread_mutex_unlock(&e->lock);
			rc = err_set(-ETIMEDOUT, "'%s': %llu records not stored "
			    "after %lld ms", e->uri, (unsigned long long)left,
			    (long long)timeout_ms);
		}
	}
	if (rc != 0) {
		engine_close(e);
		return rc;
	}
	return engine_close(e);
}

void
engine_status(struct engine *e, struct engine_status *st)
{
	int64_t now, since;

	pthread_mutex_lock(&e->lock);
	st->epoch = e->epoch;
	st->manifest_id = e->ver ? e->ver->m.id : 0;
	st->last_seq = e->last_seq;
	st->durable_seq = e->durable_seq;
	st->unflushed_bytes = e->unflushed;
	st->next_wal_id = e->wal.next_wal_id;
	st->l0_tables = e->ver ? e->ver->m.nl0 : 0;
	st->compacting = (size_t)e->compact.jobs;
	st->runs = st->run_tables = 0;
	st->table_bytes = 0;
	for (size_t i = 0; e->ver != NULL && i < e->ver->m.nl0; i++)
		st->table_bytes += e->ver->m.l0[i].size;
	for (size_t i = 0; e->ver != NULL && i < e->ver->m.nruns; i++) {
		st->runs++;
		st->run_tables += e->ver->m.runs[i].ntables;
		for (size_t j = 0; j < e->ver->m.runs[i].ntables; j++)
			st->table_bytes += e->ver->m.runs[i].tables[j].size;
	}
	st->frozen_memtables = e->nfrozen;
	st->fenced = e->fenced;
	st->reader = e->mode == ENGINE_READER;
	st->follow_lag_ms = e->follow.follow_lag_ms;
	now = clock_mono_ns();
	since = failing_since_locked(e);
	st->store_write_failing_since_ns = since == 0 ? 0 :
	    clock_wall_ns() - (now - since);
	pthread_mutex_unlock(&e->lock);
	{
		struct objstore_health oh;

		objstore_health(e->os, &oh);
		st->store_last_ok_ns = oh.last_ok_ns;
		st->store_failing_since_ns = oh.failing_since_ns;
	}
}

int
engine_close(struct engine *e)
{
	int rc = 0;

	if (e == NULL)
		return 0;
	if (e->threads) {
		if (!e->abandon)
			rc = engine_flush(e);
		pthread_mutex_lock(&e->lock);
		e->stopping = 1;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->t_sealer, NULL);
		for (int i = 0; i < WAL_UPLOADERS; i++)
			pthread_join(e->t_uploader[i], NULL);
		for (int i = 0; i < L0_WRITERS; i++)
			pthread_join(e->t_l0[i], NULL);
		pthread_join(e->t_poller, NULL);
		compactor_stop(e);
		if (e->gc_running)
			pthread_join(e->t_gc, NULL);
		e->gc_running = 0;
	}
	if (e->following) {
		pthread_mutex_lock(&e->lock);
		e->stopping = 1;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->t_follow, NULL);
		if (ckpt_close(e) != 0)
			return rc;	/* the removal frees e when it ends */
	}
	engine_free(e);
	return rc;
}

void
engine_free(struct engine *e)
{
	struct walobj *w;

	while ((w = e->wal.queue) != NULL) {
		e->wal.queue = w->next;
		buf_release(&w->body);
		free(w);
	}
	for (size_t i = 0; i < e->nfrozen; i++)
		memtable_unref(e->frozen[i].mem);
	free(e->frozen);
	if (e->mem != NULL)
		memtable_unref(e->mem);
	version_unref(e->ver);
	block_cache_free(e->bcache);	/* after the last table */
	buf_release(&e->write.walbuf);
	while (e->wal.nwalspare > 0)
		buf_release(&e->wal.walspare[--e->wal.nwalspare]);
	if (e->mirror != NULL)
		mirror_close(e->mirror);
	objstore_close(e->os);
	engine_settings_release(&e->set);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->commit_lock);
	pthread_mutex_destroy(&e->tables_lock);
	pthread_rwlock_destroy(&e->filter_lock);
	pthread_cond_destroy(&e->cond);
	free(e->write.subs);
	free(e->write.stubv);
	free(e->compact.busy_runs);
	for (size_t i = 0; i < e->tables.npending; i++) {
		if (!e->tables.pending[i].opened &&
		    e->tables.pending[i].cache_id != 0)
			block_cache_drop(e->bcache, e->tables.pending[i].cache_id);
		free(e->tables.pending[i].key);
	}
	free(e->tables.pending);
	free(e->uri);
	free(e);
}
