/*
 * engine.c - the engine's write side: open and recovery, the write path,
 * WAL uploads, L0 flushes, manifest commits and fencing.
 *
 * A batch's life:
 *
 *   engine_write()     memtable + walbuf (batches not yet in an object)
 *        |  flush_interval passed, walbuf >= wal_max_bytes, or a flush
 *        v  asked (sealer_main / seal)
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
 *                    higher epoch: fence() - sticky; every write and wait
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
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/gc.h"
#include "engine/lsm/manifest_store.h"
#include "engine/lsm/wal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MANIFEST_RETRIES	20
/*
 * A writer's first WAL object comes this many ids after its opening fence,
 * so the uploads still in flight from the writer it replaced (at most
 * WAL_UPLOADERS ids past what it had stored) cannot take its ids.
 */
#define WAL_JUMP		((uint64_t)1 << 20)
#define UPLOAD_BACKOFF_MAX_MS	5000
#define FOLLOW_LIST_EVERY	30	/* quiet polls between listings */

/* ---- tables and versions ---- */

/* An open table, listed in e->open_tables until its last reference goes. */
static struct table *
table_new(struct engine *e, struct sst *t)
{
	struct table *tb = xcalloc(1, sizeof(*tb));

	atomic_init(&tb->refs, 1);
	tb->sst = t;
	tb->e = e;
	pthread_mutex_lock(&e->tables_lock);
	tb->next = e->open_tables;
	if (tb->next != NULL)
		tb->next->prev = tb;
	e->open_tables = tb;
	pthread_mutex_unlock(&e->tables_lock);
	return tb;
}

static void
table_unref(struct table *tb)
{
	struct engine *e;

	if (tb == NULL || atomic_fetch_sub(&tb->refs, 1) != 1)
		return;
	e = tb->e;
	pthread_mutex_lock(&e->tables_lock);
	if (tb->prev != NULL)
		tb->prev->next = tb->next;
	else
		e->open_tables = tb->next;
	if (tb->next != NULL)
		tb->next->prev = tb->prev;
	pthread_mutex_unlock(&e->tables_lock);
	sst_close(tb->sst);
	free(tb);
}

/* The pending entry of `key`, or NULL. (tables_lock) */
static struct pending_table *
pending_find_locked(struct engine *e, const char *key)
{
	for (size_t i = 0; i < e->npending; i++)
		if (strcmp(e->pending[i].key, key) == 0)
			return &e->pending[i];
	return NULL;
}

/*
 * Whether this process still needs the table at key: a version holds it
 * open (a snapshot, an iterator, a compaction reading it), or it is
 * stored and not yet committed. The garbage collector asks (gc_pin.held)
 * at the moment it would delete it, so nothing slips in between.
 */
static int
table_held(void *arg, const char *key)
{
	struct engine *e = arg;
	struct table *tb;
	int held = 0;

	pthread_mutex_lock(&e->tables_lock);
	for (tb = e->open_tables; tb != NULL && !held; tb = tb->next)
		held = strcmp(sst_name(tb->sst), key) == 0;
	if (!held)
		held = pending_find_locked(e, key) != NULL;
	pthread_mutex_unlock(&e->tables_lock);
	return held;
}

/*
 * A table stored but not yet in a committed manifest (an L0 flush or a
 * compaction between upload and commit): pinned against the collector.
 * cache_id is the block cache id its builder put its blocks under, or 0.
 */
void
pending_add(struct engine *e, const char *key, uint64_t cache_id)
{
	struct pending_table *p;

	pthread_mutex_lock(&e->tables_lock);
	e->pending = xgrow(e->pending, &e->cappending, e->npending + 1,
	    sizeof(*e->pending));
	p = &e->pending[e->npending++];
	p->key = xstrdup(key);
	p->cache_id = cache_id;
	p->opened = 0;
	pthread_mutex_unlock(&e->tables_lock);
}

/* The cache id a pending table is to be opened with (0: a new one). */
uint64_t
pending_cache_id(struct engine *e, const char *key)
{
	struct pending_table *p;
	uint64_t id = 0;

	pthread_mutex_lock(&e->tables_lock);
	if ((p = pending_find_locked(e, key)) != NULL) {
		id = p->cache_id;
		p->opened = 1;
	}
	pthread_mutex_unlock(&e->tables_lock);
	return id;
}

/*
 * Committed, or given up on (then it is garbage, and so are the blocks
 * its builder cached, unless a version opened it after all).
 */
void
pending_remove(struct engine *e, const char *key)
{
	struct pending_table *p;
	uint64_t drop = 0;

	pthread_mutex_lock(&e->tables_lock);
	if ((p = pending_find_locked(e, key)) != NULL) {
		if (!p->opened)
			drop = p->cache_id;
		free(p->key);
		*p = e->pending[--e->npending];
	}
	pthread_mutex_unlock(&e->tables_lock);
	if (drop != 0)
		block_cache_drop(e->bcache, drop);
}

void
version_ref(struct version *v)
{
	atomic_fetch_add(&v->refs, 1);
}

void
version_unref(struct version *v)
{
	size_t i, j;

	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	if (v->e != NULL && v->e->mode == ENGINE_READER) {
		pthread_mutex_lock(&v->e->tables_lock);
		if (v->retired) {
			if (v->rprev != NULL)
				v->rprev->rnext = v->rnext;
			else
				v->e->retired = v->rnext;
			if (v->rnext != NULL)
				v->rnext->rprev = v->rprev;
		}
		pthread_mutex_unlock(&v->e->tables_lock);
	}
	for (i = 0; i < v->m.nl0; i++)
		table_unref(v->l0[i]);
	free(v->l0);
	for (i = 0; v->runs != NULL && i < v->m.nruns; i++) {
		for (j = 0; v->runs[i] != NULL && j < v->m.runs[i].ntables; j++)
			table_unref(v->runs[i][j]);
		free(v->runs[i]);
	}
	free(v->runs);
	for (i = 0; v->chains != NULL && i < v->l0_depth; i++) {
		free(v->chains[i].tables);
		free(v->chain_t[i]);
	}
	free(v->chains);
	free(v->chain_t);
	manifest_release(&v->m);
	free(v);
}

/* v->chains and v->chain_t, from the tables it opened. */
static void
version_chains(struct version *v)
{
	const struct manifest *m = &v->m;
	size_t *order = xcalloc(m->nl0 + 1, sizeof(*order));
	size_t *chain = xcalloc(m->nl0 + 1, sizeof(*chain));
	struct manifest_run *r;
	size_t k, c, n;

	v->l0_depth = manifest_l0_chains(m, order, chain);
	v->chains = xcalloc(v->l0_depth + 1, sizeof(*v->chains));
	v->chain_t = xcalloc(v->l0_depth + 1, sizeof(*v->chain_t));
	for (k = 0; k < m->nl0; k++) {
		c = chain[k];
		r = &v->chains[c];
		n = r->ntables + 1;
		r->tables = xrealloc(r->tables, n * sizeof(*r->tables));
		v->chain_t[c] = xrealloc(v->chain_t[c], n * sizeof(*v->chain_t[c]));
		r->tables[r->ntables] = m->l0[order[k]];	/* not owned */
		v->chain_t[c][r->ntables++] = v->l0[order[k]];
	}
	free(order);
	free(chain);
}

/*
 * A reader's version stops being current (it was superseded at
 * superseded_ms, wall clock): while a snapshot or an iterator still holds
 * it, it is listed in e->retired for checkpoint.c. Drops the reference
 * e->ver held.
 */
static void
version_retire(struct engine *e, struct version *v, int64_t superseded_ms)
{
	pthread_mutex_lock(&e->tables_lock);
	v->retired = 1;
	v->superseded_ms = superseded_ms;
	v->rprev = NULL;
	v->rnext = e->retired;
	if (v->rnext != NULL)
		v->rnext->rprev = v;
	e->retired = v;
	pthread_mutex_unlock(&e->tables_lock);
	version_unref(v);
}

/* The open table of `old` stored at key, referenced; NULL if none. */
static struct table *
version_find(const struct version *old, const char *key)
{
	struct table *tb = NULL;
	size_t i, j;

	if (old == NULL)
		return NULL;
	for (i = 0; i < old->m.nl0 && tb == NULL; i++)
		if (strcmp(old->m.l0[i].key, key) == 0)
			tb = old->l0[i];
	for (i = 0; i < old->m.nruns && tb == NULL; i++)
		for (j = 0; j < old->m.runs[i].ntables && tb == NULL; j++)
			if (strcmp(old->m.runs[i].tables[j].key, key) == 0)
				tb = old->runs[i][j];
	if (tb != NULL)
		atomic_fetch_add(&tb->refs, 1);
	return tb;
}

static int
version_table(struct engine *e, const struct version *old,
    const struct manifest_table *mt, struct table **out)
{
	struct sst *t;
	int rc;

	if ((*out = version_find(old, mt->key)) != NULL)
		return 0;
	if ((rc = sst_open_built(e->os, mt->key, mt->size, e->bcache,
	    pending_cache_id(e, mt->key), &t)) != 0)
		return rc;
	*out = table_new(e, t);
	return 0;
}

/* A version for manifest m (copied), opening its tables or reusing old's. */
static int
version_new(struct engine *e, const struct manifest *m, const struct version *old,
    struct version **out)
{
	struct version *v = xcalloc(1, sizeof(*v));
	size_t i, j;
	int rc = 0;

	atomic_init(&v->refs, 1);
	v->e = e;
	manifest_init(&v->m);
	manifest_copy(&v->m, m);
	v->l0 = xcalloc(m->nl0 ? m->nl0 : 1, sizeof(*v->l0));
	v->runs = xcalloc(m->nruns ? m->nruns : 1, sizeof(*v->runs));
	for (i = 0; i < m->nl0 && rc == 0; i++)
		rc = version_table(e, old, &m->l0[i], &v->l0[i]);
	for (i = 0; i < m->nruns && rc == 0; i++) {
		v->runs[i] = xcalloc(m->runs[i].ntables ? m->runs[i].ntables : 1,
		    sizeof(**v->runs));
		for (j = 0; j < m->runs[i].ntables && rc == 0; j++)
			rc = version_table(e, old, &m->runs[i].tables[j],
			    &v->runs[i][j]);
	}
	if (rc != 0) {
		version_unref(v);
		return rc;
	}
	version_chains(v);
	*out = v;
	return 0;
}

/* ---- manifests ---- */

/*
 * Store `m` as version m->id with put_if_absent. 0, -EEXIST (another
 * writer, or a reader's checkpoints, took the id), or an error. An
 * unknown outcome is settled by reading the object back.
 */
int
manifest_put(struct engine *e, const struct manifest *m)
{
	struct buf enc, got;
	char key[40];
	int rc;

	buf_init(&enc, 0);
	buf_init(&got, 0);
	manifest_key(m->id, key);
	if ((rc = manifest_encode(m, &enc)) != 0)
		goto out;
	rc = objstore_put_if_absent(e->os, key, enc.data, enc.len);
	if (rc == SHALE_EUNKNOWN) {
		if ((rc = objstore_get(e->os, key, 0, OBJSTORE_TO_END, &got)) == 0)
			rc = got.len == enc.len && memcmp(got.data, enc.data, enc.len) == 0 ?
			    0 : -EEXIST;
	}
	if (rc == 0 && e->mirror != NULL &&
	    mirror_record(e->mirror, m, enc.data, enc.len) != 0)
		log_warn("cannot record manifest %llu in the mirror: %s",
		    (unsigned long long)m->id, err_detail());
out:
	buf_release(&enc);
	buf_release(&got);
	return rc;
}

/* ---- fencing ---- */

void
fence_locked(struct engine *e, const char *why)
{
	if (e->fenced)
		return;
	e->fenced = 1;
	metric_set(e->m.fenced, 1);
	log_error("'%s': fenced: %s; no more writes from this process", e->uri, why);
	pthread_cond_broadcast(&e->cond);
}

static void
fence(struct engine *e, const char *why)
{
	pthread_mutex_lock(&e->lock);
	fence_locked(e, why);
	pthread_mutex_unlock(&e->lock);
}

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
}

/* ---- recovery ---- */

struct replay {
	struct engine	*e;
	uint64_t	 max_seq;
	/* the object being applied: its header, filled before any batch */
	const struct wal_header *h;
	int		 follow;	/* following: report each record */
	engine_apply_fn	 apply_fn;	/* to whom, as of the batch at hand */
	void		*apply_arg;
	uint64_t	 id;		/* the id it must carry */
	uint64_t	 epoch;		/* it is skipped below this epoch */
};

/* Report a stub's value, read from the tables, to a follower. */
static void
apply_stub(struct replay *r, const struct kv_entry *x)
{
	struct buf val;

	buf_init(&val, 0);
	/* gone (a newer write removed it): there is nothing to tell */
	if (engine_get(r->e, NULL, x->key, x->klen, &val) == 0)
		r->apply_fn(r->apply_arg, x->key, x->klen, val.data, val.len);
	buf_release(&val);
}

static int
replay_batch(void *arg, uint64_t first_seq, const struct kv_entry *v, size_t n)
{
	struct replay *r = arg;
	struct engine *e = r->e;
	uint64_t last = first_seq + n - 1;
	struct kv_entry x;

	if (r->h->wal_id != r->id || r->h->epoch < r->epoch)
		return 0;	/* replay_one reports or skips it */
	for (size_t i = 0; i < n; i++) {
		x = v[i];
		x.seq = first_seq + i;
		/* a stub's value, and a record already in a table, are there */
		if (x.kind != WAL_STUB && x.seq > e->ver->m.last_seq)
			memtable_add(e->mem, &x);
	}
	if (last > r->max_seq)
		r->max_seq = last;
	if (!r->follow)
		return 0;
	/*
	 * A follower reports every record, also one in a table: the
	 * manifest it installed may be newer than the WAL it had applied,
	 * and what the tables hold was never reported. Readers see the
	 * batch first, or one told of a record may not find it. Whom to
	 * tell is read in the same hold of e->lock that makes the batch
	 * visible: a batch is either visible before engine_on_apply
	 * returns (so a reader that registers and then reads finds it) or
	 * reported to what it registered, never neither.
	 */
	pthread_mutex_lock(&e->lock);
	if (last > e->last_seq)
		e->last_seq = e->durable_seq = last;
	r->apply_fn = e->apply_fn;
	r->apply_arg = e->apply_arg;
	e->applying = r->apply_fn != NULL;
	pthread_mutex_unlock(&e->lock);
	if (r->apply_fn == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		x = v[i];
		if (x.kind == WAL_STUB)
			apply_stub(r, &x);	/* replay_one checked: in a table */
		else
			r->apply_fn(r->apply_arg, x.key, x.klen, x.val,
			    x.kind == KV_PUT ? x.vlen : 0);
	}
	pthread_mutex_lock(&e->lock);
	e->applying = 0;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* Put a fence object at `id`: 0, -EEXIST, or an error. */
static int
put_fence(struct engine *e, uint64_t id)
{
	struct wal_header h = { .wal_id = id, .epoch = e->epoch, .fence = 1 };
	struct buf b;
	char key[32];
	int rc;

	buf_init(&b, 0);
	wal_encode_header(&b, &h);
	wal_encode_end(&b);
	wal_key(id, key);
	rc = objstore_put_if_absent(e->os, key, b.data, b.len);
	if (rc == SHALE_EUNKNOWN) {
		struct buf got;

		buf_init(&got, 0);
		if ((rc = objstore_get(e->os, key, 0, OBJSTORE_TO_END, &got)) == 0)
			rc = got.len == b.len && memcmp(got.data, b.data, b.len) == 0 ?
			    0 : -EEXIST;
		buf_release(&got);
	}
	buf_release(&b);
	return rc;
}

/* The highest seq of a stub in the batches (a wal_batch_fn). */
static int
stub_last(void *arg, uint64_t first_seq, const struct kv_entry *v, size_t n)
{
	uint64_t *last = arg;

	for (size_t i = 0; i < n; i++)
		if (v[i].kind == WAL_STUB)
			*last = first_seq + i;
	return 0;
}

/*
 * Read WAL object `id` and apply it if its epoch is not below *epoch.
 * -ENOENT if it does not exist; -EAGAIN (a reader) if it holds a stub that
 * the current manifest's tables do not cover yet: nothing of it is
 * applied, and it can be applied once a newer manifest is. *fence is set
 * to 1 if it was a fence that counted, 0 otherwise.
 */
static int
replay_one(struct engine *e, uint64_t id, uint64_t *epoch, struct replay *r,
    int *fence)
{
	struct wal_header h;
	struct buf b;
	char key[32];
	int rc;

	*fence = 0;
	wal_key(id, key);
	buf_init(&b, 0);
	if ((rc = objstore_get(e->os, key, 0, OBJSTORE_TO_END, &b)) != 0)
		goto out;
	/* wal_decode checks the whole object before it hands out a batch */
	if (wal_decode_header(b.data, b.len, key, &h) == 0 && h.stubs) {
		uint64_t last = 0;

		if ((rc = wal_decode(b.data, b.len, key, &h, stub_last,
		    &last)) != 0)
			goto out;
		if (last > e->ver->m.last_seq) {
			/* stored after its tables' commit: a reader is behind */
			rc = e->mode == ENGINE_READER ? -EAGAIN :
			    err_set(SHALE_ECORRUPT, "'%s': holds a stub (seq "
			    "%llu) that no table holds", key,
			    (unsigned long long)last);
			goto out;
		}
	}
	r->h = &h;
	r->id = id;
	r->epoch = *epoch;
	if ((rc = wal_decode(b.data, b.len, key, &h, replay_batch, r)) != 0)
		goto out;
	if (h.wal_id != id) {
		rc = err_set(SHALE_ECORRUPT, "'%s': holds WAL id %llu", key,
		    (unsigned long long)h.wal_id);
		goto out;
	}
	if (h.epoch < *epoch) {
		log_info("'%s': skipped, written by epoch %llu after epoch %llu took over",
		    key, (unsigned long long)h.epoch, (unsigned long long)*epoch);
		goto out;
	}
	*epoch = h.epoch;
	*fence = h.fence;
out:
	buf_release(&b);
	return rc;
}

/*
 * Replay the WAL from the manifest's replay point into the memtable; as a
 * writer, fill holes and end with a fence object. Sets next_wal_id.
 */
static int
replay(struct engine *e)
{
	struct objstore_list l = { 0 };
	struct replay r = { .e = e, .max_seq = e->ver->m.last_seq };
	uint64_t *ids = NULL, id, next, epoch = 0;
	size_t n = 0, cap = 0, i;
	char *after = NULL, key[32];
	int rc, fence;

	e->follow_last = e->ver->m.wal_replay_from > 0 ?
	    e->ver->m.wal_replay_from - 1 : 0;
	/* every WAL id at or after the replay point */
	if (e->ver->m.wal_replay_from > 1) {
		wal_key(e->ver->m.wal_replay_from - 1, key);
		after = xstrdup(key);
	}
	do {
		rc = objstore_list(e->os, "wal/", after, 0, &l);
		free(after);
		after = NULL;
		if (rc != 0)
			goto out;
		for (i = 0; i < l.n; i++) {
			if ((id = wal_key_id(l.entries[i].key)) == 0 ||
			    id < e->ver->m.wal_replay_from)
				continue;
			ids = xgrow(ids, &cap, n + 1, sizeof(*ids));
			ids[n++] = id;
		}
		if (l.next != NULL)
			after = xstrdup(l.next);
	} while (after != NULL);

	next = e->ver->m.wal_replay_from;
	for (i = 0; i < n; i++) {
		/* a hole: nothing after it was acknowledged; close it */
		if (next < ids[i] && e->mode == ENGINE_READER)
			break;		/* a hole: wait for it (follow_main) */
		while (next < ids[i]) {
			rc = put_fence(e, next);
			if (rc == 0) {
				epoch = e->epoch;
			} else if (rc == -EEXIST) {
				/* a late object of the crashed writer: take it */
				if ((rc = replay_one(e, next, &epoch, &r, &fence)) != 0)
					goto out;
			} else {
				goto out;
			}
			next++;
		}
		rc = replay_one(e, ids[i], &epoch, &r, &fence);
		if (rc == -EAGAIN)
			break;		/* stubs of a newer manifest: follow_main */
		if (rc != 0 && rc != -ENOENT)
			goto out;
		e->follow_last = ids[i];
		/* after a writer's opening fence, its objects start WAL_JUMP on */
		if (rc == 0 && fence && ids[i] + WAL_JUMP > next)
			next = ids[i] + WAL_JUMP;
		else if (ids[i] + 1 > next)
			next = ids[i] + 1;
	}
	if (e->mode == ENGINE_WRITER) {
		/*
		 * Fence where the last writer would write next, taking any
		 * object that beats us to it; our own objects start WAL_JUMP
		 * after the fence, out of reach of a late writer's uploads.
		 */
		for (int tries = 0; ; tries++) {
			if ((rc = put_fence(e, next)) == 0)
				break;
			if (rc != -EEXIST || tries > 1000)
				goto out;
			if ((rc = replay_one(e, next, &epoch, &r, &fence)) != 0)
				goto out;
			next++;
		}
		next += WAL_JUMP;
	}
	e->next_wal_id = next;
	e->follow_epoch = epoch;
	e->mem_last_wal = e->follow_last;
	e->last_seq = e->durable_seq = r.max_seq > e->ver->m.last_seq ?
	    r.max_seq : e->ver->m.last_seq;
	rc = 0;
out:
	objstore_list_release(&l);
	free(ids);
	return rc;
}

/* Bump the writer epoch through the manifest; install the version. */
static int
claim(struct engine *e)
{
	struct manifest m;
	int rc = 0;

	manifest_init(&m);
	for (int tries = 0; tries < MANIFEST_RETRIES; tries++) {
		if ((rc = manifest_find_latest(e->os, e->mirror, &m)) != 0)
			break;
		if (e->mode == ENGINE_READER)
			break;
		m.id++;
		m.writer_epoch++;
		if (clock_wall_ns() / 1000000 > m.created_ms)
			m.created_ms = clock_wall_ns() / 1000000;
		manifest_expire_checkpoints(&m, clock_wall_ns() / 1000000);
		if ((rc = manifest_put(e, &m)) != -EEXIST)
			break;
		log_info("'%s': manifest %llu taken by another writer, retrying", e->uri,
		    (unsigned long long)m.id);
	}
	if (rc == -EEXIST)
		rc = err_set(SHALE_EFENCED, "'%s': other writers keep taking the "
		    "manifest", e->uri);
	if (rc == 0) {
		e->epoch = m.writer_epoch;
		rc = version_new(e, &m, NULL, &e->ver);
	}
	manifest_release(&m);
	return rc;
}

/* ---- the write path ---- */

/*
 * Since when (mono ns) the writer's every attempt to store has failed:
 * the earlier of the WAL's and the L0 flushes' first failure since their
 * last success; 0 while neither is failing. (L)
 */
static int64_t
failing_since_locked(const struct engine *e)
{
	int64_t w = e->wal_failing_since, t = e->l0_failing_since;

	if (w == 0 || (t != 0 && t < w))
		return t;
	return w;
}

/*
 * Whether the store has refused every attempt for store_failure_timeout:
 * then writers and durability waits give up with -EIO (what is in memory
 * is kept and stored when the store answers again). *due (if not NULL)
 * is when that will be so, for a timed wait; 0 if nothing is failing. (L)
 */
static int
store_failed_locked(const struct engine *e, int64_t now, int64_t *due)
{
	int64_t since = failing_since_locked(e), at;

	at = since == 0 ? 0 : since + e->set.store_failure_timeout_ms * 1000000;
	if (due != NULL)
		*due = at;
	return at != 0 && now >= at;
}

/* A failure (or the first success after one) of what `since` tracks. (L) */
static void
note_store_locked(struct engine *e, int64_t *since, int failed)
{
	if (failed) {
		e->store_failures++;
		if (*since == 0)
			*since = clock_mono_ns();
		/* waiters take the time of their failure from it */
		pthread_cond_broadcast(&e->cond);
	} else if (*since != 0) {
		*since = 0;
		if (failing_since_locked(e) == 0)
			log_info("'%s': the object store takes writes again",
			    e->uri);
	}
}

static int
store_failed_error(const struct engine *e, int64_t now)
{
	return err_set(-EIO, "'%s': the object store has refused every write "
	    "for %lld s", e->uri,
	    (long long)((now - failing_since_locked(e)) / 1000000000));
}

struct engine_batch {
	struct kv_entry	*v;
	size_t		 n, cap;
	struct buf	 data;		/* keys and values; v points into it after seal */
	size_t		*koff, *voff;	/* offsets in data, fixed up at write */
};

struct engine_batch *
engine_batch_new(void)
{
	struct engine_batch *b = xcalloc(1, sizeof(*b));

	buf_init(&b->data, 0);
	return b;
}

void
engine_batch_free(struct engine_batch *b)
{
	if (b == NULL)
		return;
	buf_release(&b->data);
	free(b->v);
	free(b->koff);
	free(b->voff);
	free(b);
}

void
engine_batch_clear(struct engine_batch *b)
{
	b->n = 0;
	buf_reset(&b->data);
}

size_t
engine_batch_count(const struct engine_batch *b)
{
	return b->n;
}

static int
batch_add(struct engine_batch *b, int kind, const void *key, size_t klen,
    const void *val, size_t vlen, int64_t expire)
{
	size_t cap = b->cap;

	if (klen > KV_KEY_MAX || vlen > KV_VALUE_MAX)
		return err_set(-EINVAL, "key of %zu or value of %zu bytes is too long",
		    klen, vlen);
	b->v = xgrow(b->v, &cap, b->n + 1, sizeof(*b->v));
	cap = b->cap;
	b->koff = xgrow(b->koff, &cap, b->n + 1, sizeof(*b->koff));
	cap = b->cap;
	b->voff = xgrow(b->voff, &cap, b->n + 1, sizeof(*b->voff));
	b->cap = cap;
	b->koff[b->n] = b->data.len;
	buf_append(&b->data, key, klen);
	b->voff[b->n] = b->data.len;
	if (vlen)
		buf_append(&b->data, val, vlen);
	b->v[b->n] = (struct kv_entry){ .klen = klen, .vlen = vlen,
	    .kind = (uint8_t)kind, .expire = expire };
	b->n++;
	return 0;
}

int
engine_batch_put(struct engine_batch *b, const void *key, size_t klen,
    const void *val, size_t vlen, int64_t expire_ms)
{
	return batch_add(b, KV_PUT, key, klen, val, vlen, expire_ms);
}

int
engine_batch_delete(struct engine_batch *b, const void *key, size_t klen)
{
	return batch_add(b, KV_DELETE, key, klen, NULL, 0, 0);
}

/* Point the entries into the batch's data (it may have moved while growing). */
static void
batch_fix(struct engine_batch *b, int64_t default_expire)
{
	for (size_t i = 0; i < b->n; i++) {
		b->v[i].key = (const uint8_t *)b->data.data + b->koff[i];
		b->v[i].val = b->v[i].kind == KV_PUT ?
		    (const uint8_t *)b->data.data + b->voff[i] : NULL;
		if (b->v[i].kind == KV_PUT && b->v[i].expire == 0)
			b->v[i].expire = default_expire;
		else if (b->v[i].expire < 0)
			b->v[i].expire = 0;	/* ENGINE_NO_EXPIRY */
	}
}

/* Move walbuf to the upload queue. (L) */
static void
seal_locked(struct engine *e)
{
	struct walobj *w;

	if (e->walbuf.len == 0)
		return;
	w = xcalloc(1, sizeof(*w));
	w->id = e->next_wal_id++;	/* ids follow the records' order */
	w->body = e->walbuf;
	w->last_seq = e->walbuf_last_seq;
	w->bulk = e->walbuf_stubbed;
	e->walbuf_stubbed = 0;
	e->walbuf_raw = 0;
	if (e->bulk)
		e->bulk_quiet_due = clock_mono_ns() +
		    e->set.flush_interval_ms * 1000000;
	if (e->nwalspare > 0)
		e->walbuf = e->walspare[--e->nwalspare];
	else
		buf_init(&e->walbuf, 0);
	*e->qtail = w;
	e->qtail = &w->next;
	pthread_cond_broadcast(&e->cond);
}

/* Make the active memtable frozen and start a new one. (L) */
static void
freeze_locked(struct engine *e)
{
	struct frozen *f;
	size_t cap = e->nfrozen;

	if (memtable_entries(e->mem) == 0)
		return;
	seal_locked(e);
	e->frozen = xgrow(e->frozen, &cap, e->nfrozen + 1, sizeof(*e->frozen));
	f = &e->frozen[e->nfrozen++];
	memset(f, 0, sizeof(*f));
	f->mem = e->mem;
	f->max_seq = memtable_max_seq(e->mem);
	f->bytes = memtable_bytes(e->mem);
	/* the object just sealed (or the last one) holds max_seq */
	f->last_wal = e->next_wal_id - 1;
	e->unflushed += f->bytes;
	metric_set(e->m.unflushed, (double)e->unflushed);
	e->mem = memtable_new();
	e->mem_bulk_first = 0;
	pthread_cond_broadcast(&e->cond);
}

/*
 * The batch as walbuf takes it: itself, or during a bulk write a copy
 * whose big puts are stubs. (L)
 */
static const struct kv_entry *
wal_view_locked(struct engine *e, const struct engine_batch *b,
    uint64_t first)
{
	uint64_t min = e->set.wal_stub_min_bytes, stubbed = 0;
	struct kv_entry *x;

	if (!e->bulk)
		return b->v;
	e->stubv = xgrow(e->stubv, &e->capstubv, b->n, sizeof(*e->stubv));
	for (size_t i = 0; i < b->n; i++) {
		x = &e->stubv[i];
		*x = b->v[i];
		if (x->kind != KV_PUT || x->vlen < min)
			continue;
		x->kind = WAL_STUB;
		x->val = NULL;
		stubbed += x->vlen;
		if (e->mem_bulk_first == 0)
			e->mem_bulk_first = first + i;
	}
	if (stubbed > 0) {
		e->walbuf_stubbed = 1;
		metric_add(e->m.wal_stubbed, (double)stubbed);
	}
	return e->stubv;
}

/*
 * A bulk write ended (an interval with less than wal_max_bytes, or
 * none): the WAL takes whole values again, and the memtable holding stubs
 * is flushed now rather than when full, so that they are soon durable. (L)
 */
static void
bulk_end_locked(struct engine *e)
{
	e->bulk = 0;
	if (e->mem_bulk_first != 0)
		freeze_locked(e);
}

/* Make every memtable an L0 table: 0, or SHALE_EFENCED / -ESHUTDOWN. */
int
flush_memtables(struct engine *e)
{
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	freeze_locked(e);
	while (e->nfrozen > 0 && !e->fenced && !e->stopping)
		pthread_cond_wait(&e->cond, &e->lock);
	if (e->fenced)
		rc = err_set(SHALE_EFENCED, "'%s': fenced by a newer writer",
		    e->uri);
	else if (e->nfrozen > 0)
		rc = err_set(-ESHUTDOWN, "'%s' is closing", e->uri);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int
engine_write(struct engine *e, struct engine_batch *b, uint64_t *seqp)
{
	uint64_t first, bytes;
	struct kv_entry x;
	size_t before;
	uint64_t failures;
	int64_t due;
	int rc, failed = 0;

	if (b->n == 0)
		return err_set(-EINVAL, "empty batch");
	if (e->mode == ENGINE_READER)
		return err_set(-EROFS, "'%s' is open read-only", e->uri);
	batch_fix(b, e->set.default_ttl_ms > 0 ?
	    clock_wall_ns() / 1000000 + e->set.default_ttl_ms : 0);
	bytes = wal_batch_size(b->v, b->n);
	pthread_mutex_lock(&e->lock);
	/*
	 * Backpressure, for as long as the store takes anything: a writer
	 * held while it refuses everything would hang for good (in FUSE, a
	 * process nothing can kill), so it fails instead, writing nothing,
	 * on an attempt that failed while it waited (as wait_durable)
	 */
	failures = e->store_failures;
	while (!e->fenced && !e->stopping && e->unflushed > 0 &&
	    e->unflushed + bytes > e->set.max_unflushed_bytes &&
	    !(failed = store_failed_locked(e, clock_mono_ns(), &due) &&
	    e->store_failures != failures))
		clock_cond_wait(&e->cond, &e->lock,
		    due > clock_mono_ns() ? due : 0);
	if (e->fenced || e->stopping || failed) {
		rc = e->fenced ? err_set(SHALE_EFENCED, "'%s': fenced by a newer "
		    "writer", e->uri) : e->stopping ? err_set(-ESHUTDOWN,
		    "'%s' is closing", e->uri) : store_failed_error(e,
		    clock_mono_ns());
		pthread_mutex_unlock(&e->lock);
		return rc;
	}
	first = e->last_seq + 1;
	if (e->walbuf.len == 0) {
		e->walbuf_since = clock_mono_ns();
		pthread_cond_broadcast(&e->cond);	/* start the sealer's clock */
	}
	before = e->walbuf.len;
	wal_encode_batch(&e->walbuf, first, wal_view_locked(e, b, first), b->n);
	for (size_t i = 0; i < b->n; i++) {
		x = b->v[i];
		x.seq = first + i;
		memtable_add(e->mem, &x);
	}
	e->last_seq = first + b->n - 1;
	e->walbuf_last_seq = e->last_seq;
	e->walbuf_raw += bytes;
	/* stubs' values are counted with their memtable, once frozen */
	e->unflushed += e->walbuf.len - before;
	metric_add(e->m.writes, 1);
	metric_add(e->m.write_bytes, (double)b->data.len);
	metric_set(e->m.unflushed, (double)e->unflushed);
	if (e->walbuf.len >= e->set.wal_max_bytes) {
		/* filled within one interval: a bulk write */
		if (!e->bulk && e->set.wal_stub_min_bytes > 0 &&
		    clock_mono_ns() - e->walbuf_since <
		    e->set.flush_interval_ms * 1000000)
			e->bulk = 1;
		seal_locked(e);
	}
	if (memtable_bytes(e->mem) >= e->set.l0_sst_size_bytes)
		freeze_locked(e);
	if (seqp != NULL)
		*seqp = e->last_seq;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/*
 * A background task failed on the store: log it, wait (the delay doubling
 * up to UPLOAD_BACKOFF_MAX_MS), and let it try again; at once if a new
 * durability wait asks (retry_gen), so that it learns soon whether the
 * store takes writes again, or ends the wait for a close.
 */
static void
pause_locked(struct engine *e, int64_t *backoff, const char *what, int rc)
{
	int64_t due = clock_mono_ns() + *backoff * 1000000;
	uint64_t gen = e->retry_gen;

	log_warn("'%s': cannot %s: %s (retrying)", e->uri, what, err_message(rc));
	while (e->retry_gen == gen && !e->abandon && !e->fenced &&
	    clock_mono_ns() < due)
		clock_cond_wait(&e->cond, &e->lock, due);
	*backoff = *backoff * 2 > UPLOAD_BACKOFF_MAX_MS ? UPLOAD_BACKOFF_MAX_MS :
	    *backoff * 2;
}

/* ---- the sealer: cuts walbuf into objects on time ---- */

static void *
sealer_main(void *arg)
{
	struct engine *e = arg;
	int64_t due;
	int slow;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping && !e->fenced) {
		if (e->walbuf.len > 0) {
			due = e->walbuf_since + e->set.flush_interval_ms * 1000000;
			if (e->flush_asked || clock_mono_ns() >= due) {
				/* a whole interval with less ends a bulk write */
				slow = clock_mono_ns() >= due &&
				    e->walbuf_raw < e->set.wal_max_bytes;
				seal_locked(e);
				e->flush_asked = 0;
				if (e->bulk && slow)
					bulk_end_locked(e);
				continue;
			}
			clock_cond_wait(&e->cond, &e->lock, due);
		} else if (e->bulk) {
			/* a bulk write with nothing more for an interval ended */
			due = e->bulk_quiet_due;
			if (clock_mono_ns() >= due) {
				bulk_end_locked(e);
				continue;
			}
			clock_cond_wait(&e->cond, &e->lock, due);
		} else {
			e->flush_asked = 0;
			pthread_cond_wait(&e->cond, &e->lock);	/* idle: no timer */
		}
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- the uploader: stores sealed objects in order ---- */

/*
 * Store one WAL object under its id: 0, SHALE_EFENCED, or an error worth
 * retrying. A taken id is settled by reading it: our own bytes (an earlier
 * attempt whose answer was lost) are success; anything else means another
 * writer is at work here, and this one stops.
 */
static int
upload(struct engine *e, struct walobj *w, struct buf *plain, struct buf *z)
{
	struct wal_header h = { .wal_id = w->id, .epoch = e->epoch,
	    .zstd = e->set.wal_zstd_level > 0, .stubs = w->bulk };
	struct buf got, *obj = plain;
	char key[32];
	int rc;

	buf_init(&got, 0);
	buf_reset(plain);
	wal_encode_header(plain, &h);
	buf_append(plain, w->body.data, w->body.len);
	if ((rc = wal_encode_end(plain)) != 0)
		BUG("WAL object of %zu bytes does not end well: %d", plain->len, rc);
	if (h.zstd) {
		if ((rc = wal_compress_to(plain, z, e->set.wal_zstd_level)) != 0)
			BUG("cannot compress a WAL object of %zu bytes: %d",
			    plain->len, rc);
		obj = z;
	}
	wal_key(w->id, key);
	rc = objstore_put_if_absent(e->os, key, obj->data, obj->len);
	if (rc == -EEXIST || rc == SHALE_EUNKNOWN) {
		if ((rc = objstore_get(e->os, key, 0, OBJSTORE_TO_END, &got)) != 0)
			goto out;
		if (got.len == obj->len && memcmp(got.data, obj->data, obj->len) == 0)
			goto out;
		if (wal_decode(got.data, got.len, key, &h, NULL, NULL) == 0)
			rc = err_set(SHALE_EFENCED, "'%s' written by epoch %llu (this "
			    "writer is %llu)", key, (unsigned long long)h.epoch,
			    (unsigned long long)e->epoch);
		else
			rc = err_set(SHALE_EFENCED, "'%s' taken by another writer", key);
	}
out:
	if (rc == 0)
		metric_add(e->m.wal_bytes, (double)obj->len);
	buf_release(&got);
	return rc;
}

/* Acknowledge the stored objects at the head of the queue, in order. (L) */
static void
advance_locked(struct engine *e)
{
	struct walobj *w;
	int moved = 0;

	while ((w = e->queue) != NULL && w->state == WAL_STORED) {
		e->queue = w->next;
		if (e->queue == NULL)
			e->qtail = &e->queue;
		e->durable_seq = w->last_seq;
		e->unflushed -= w->body.len;
		/*
		 * Its memory serves a next object: new memory costs a page
		 * fault a page, which is most of writing on some machines
		 */
		if (e->nwalspare < WAL_SPARES &&
		    w->body.cap <= 2 * e->set.wal_max_bytes) {
			buf_reset(&w->body);
			e->walspare[e->nwalspare++] = w->body;
		} else
			buf_release(&w->body);
		free(w);
		moved = 1;
	}
	if (!moved)
		return;
	metric_set(e->m.unflushed, (double)e->unflushed);
	metric_set(e->m.durable, (double)e->durable_seq);
	for (size_t i = 0; i < e->nsubs; i++)
		e->subs[i].fn(e->subs[i].arg, e->durable_seq);
	pthread_cond_broadcast(&e->cond);
}

/*
 * The oldest sealed object no uploader has taken; none at or after a bulk
 * object whose L0 flush is not committed yet. One whose records a commit
 * covers (below the replay point) goes only once all before it are
 * stored: a follower takes a hole there for objects collected, and skips
 * it (wal_skip). (L)
 */
static struct walobj *
next_queued(struct engine *e)
{
	for (struct walobj *w = e->queue; w != NULL; w = w->next) {
		if (w->bulk && w->last_seq > e->ver->m.last_seq)
			return NULL;
		if (w->state != WAL_QUEUED)
			continue;
		if (w->last_seq <= e->ver->m.last_seq && w != e->queue)
			return NULL;
		return w;
	}
	return NULL;
}

/* WAL_UPLOADERS of these store sealed objects, several in flight. */
static void *
uploader_main(void *arg)
{
	struct engine *e = arg;
	struct walobj *w;
	struct buf plain, z;	/* kept from one object to the next */
	int64_t t0, backoff = 50;
	int rc;

	buf_init(&plain, 0);
	buf_init(&z, 0);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while ((w = next_queued(e)) == NULL && !e->stopping && !e->fenced)
			pthread_cond_wait(&e->cond, &e->lock);
		if (e->fenced || w == NULL || e->abandon)
			break;		/* stopping with nothing left to take */
		w->state = WAL_UPLOADING;
		pthread_mutex_unlock(&e->lock);
		t0 = clock_mono_ns();
		rc = upload(e, w, &plain, &z);
		pthread_mutex_lock(&e->lock);
		if (rc == SHALE_EFENCED) {
			fence_locked(e, err_detail());
			break;
		}
		if (rc != 0) {
			/* the store is failing: put the object back and try again */
			w->state = WAL_QUEUED;
			note_store_locked(e, &e->wal_failing_since, 1);
			pause_locked(e, &backoff, "store WAL object", rc);
			continue;
		}
		backoff = 50;
		note_store_locked(e, &e->wal_failing_since, 0);
		metric_observe(e->m.wal_latency, (double)(clock_mono_ns() - t0) / 1e9);
		metric_add(e->m.wal_objects, 1);
		w->state = WAL_STORED;
		advance_locked(e);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&plain);
	buf_release(&z);
	return NULL;
}

/* ---- L0 flushes ---- */

void
sst_object_key(char out[64])
{
	snprintf(out, 64, "compacted/%012llx%08x%08x.sst",
	    (unsigned long long)(clock_wall_ns() / 1000000), arc4random(),
	    arc4random());
}

/* Fill mt (overwritten) for the table of `size` bytes stored at key. */
void
table_describe(struct manifest_table *mt, const char *key, size_t size,
    const struct sst_info *info)
{
	memset(mt, 0, sizeof(*mt));
	mt->key = xstrdup(key);
	mt->size = size;
	mt->entries = info->entries;
	mt->min_seq = info->min_seq;
	mt->max_seq = info->max_seq;
	mt->min_expire = info->min_expire;
	mt->max_expire = info->max_expire;
	mt->first_klen = info->first_key.len;
	mt->first_key = xmalloc(info->first_key.len + 1);
	memcpy(mt->first_key, buf_str(&info->first_key), info->first_key.len);
	mt->last_klen = info->last_key.len;
	mt->last_key = xmalloc(info->last_key.len + 1);
	memcpy(mt->last_key, buf_str(&info->last_key), info->last_key.len);
}

/*
 * Finish the table *sb (freed, and set to NULL) into tbl, store it as a
 * table pending until a commit or pending_remove, and add it to out.
 */
int
table_store(struct engine *e, struct sst_builder **sb, struct buf *tbl,
    struct manifest_run *out)
{
	uint64_t cache_id = sst_builder_cache_id(*sb);
	struct sst_info info;
	char key[64];
	int rc;

	sst_info_init(&info);
	rc = sst_builder_finish(*sb, tbl, &info);
	sst_builder_free(*sb);
	*sb = NULL;
	if (rc == 0) {
		sst_object_key(key);
		pending_add(e, key, cache_id);
		if ((rc = objstore_put(e->os, key, tbl->data, tbl->len)) != 0)
			pending_remove(e, key);
	}
	if (rc == 0) {
		out->tables = xrealloc(out->tables,
		    (out->ntables + 1) * sizeof(*out->tables));
		table_describe(&out->tables[out->ntables++], key, tbl->len,
		    &info);
	}
	sst_info_release(&info);
	return rc;
}

static void
pieces_release(struct engine *e, struct manifest_run *pieces)
{
	for (size_t i = 0; i < pieces->ntables; i++) {
		pending_remove(e, pieces->tables[i].key);
		manifest_table_release(&pieces->tables[i]);
	}
	free(pieces->tables);
	memset(pieces, 0, sizeof(*pieces));
}

/*
 * Write the oldest frozen memtable as L0 tables cut by kind (CUT_PREFIX),
 * the last of L0_MAX_PIECES taking the rest: 0 and the tables in key
 * order in *pieces (none for an empty memtable), or an error and none
 * (what was stored is left to the collector). `tbl` is the memory a
 * table is built in, kept by the caller from one table to the next.
 */
static int
build_tables(struct engine *e, struct memtable *mem,
    struct manifest_run *pieces, struct buf *tbl)
{
	struct sst_options so = { e->set.block_size, e->set.zstd_level,
	    e->set.bloom_bits_per_key };
	struct iter *it = memtable_iter_new(mem);
	struct sst_builder *sb = NULL;
	const struct kv_entry *x;
	unsigned char cut[CUT_PREFIX];
	size_t cutlen = 0;
	int rc = 0;

	memset(pieces, 0, sizeof(*pieces));
	for (iter_seek_first(it); iter_valid(it) && rc == 0; iter_next(it)) {
		x = iter_entry(it);
		if (sb != NULL && pieces->ntables + 1 < L0_MAX_PIECES &&
		    (x->klen < cutlen || memcmp(x->key, cut, cutlen) != 0) &&
		    (rc = table_store(e, &sb, tbl, pieces)) != 0)
			break;
		if (sb == NULL) {
			cutlen = x->klen < CUT_PREFIX ? x->klen : CUT_PREFIX;
			memcpy(cut, x->key, cutlen);
			sb = sst_builder_new(&so);
			buf_reset(tbl);
			sst_builder_take_buf(sb, tbl);
			if (e->set.block_cache_prepopulate)
				sst_builder_cache(sb, e->bcache);
		}
		rc = sst_builder_add(sb, x);
	}
	iter_free(it);
	if (rc == 0 && sb != NULL)
		rc = table_store(e, &sb, tbl, pieces);
	if (sb != NULL)
		sst_builder_free(sb);
	if (rc != 0)
		pieces_release(e, pieces);
	return rc;
}

/* L0 is full: a table waits for the compactor (l0_main). (L) */
static int
l0_full_locked(const struct engine *e)
{
	const struct version *v = e->ver;

	return v->l0_depth >= (size_t)e->set.l0_max_ssts ||
	    v->m.nl0 >= (size_t)e->set.l0_max_ssts * L0_MAX_PIECES;
}

static void
set_shape_metrics_locked(struct engine *e)
{
	metric_set(e->m.l0_tables, (double)e->ver->m.nl0);
	metric_set(e->m.l0_depth, (double)e->ver->l0_depth);
	metric_set(e->m.runs, (double)e->ver->m.nruns);
}

/*
 * Version `id` was taken under us: walk from it to the newest version,
 * making *base the one to build on. A version of a newer epoch fences
 * us. One of ours is built upon: an earlier attempt whose answer was
 * lost, or a reader's copy of our version with its checkpoints
 * (checkpoint.c), of which there may be several in a row. One of an
 * older epoch (a fenced writer that has not noticed yet) is stepped over.
 */
static int
rebase(struct engine *e, uint64_t id, struct manifest *base, int *learned)
{
	struct manifest cur;
	uint64_t taken = id;
	int rc;

	manifest_init(&cur);
	for (;; id++) {
		if ((rc = manifest_read(e->os, id, &cur)) != 0) {
			if (rc == -ENOENT && id > taken)
				rc = 0;		/* base is the newest */
			break;
		}
		if (cur.writer_epoch > e->epoch) {
			rc = err_set(SHALE_EFENCED, "'%s': manifest %llu written by "
			    "epoch %llu", e->uri, (unsigned long long)id,
			    (unsigned long long)cur.writer_epoch);
			break;
		}
		if (cur.writer_epoch == e->epoch) {
			manifest_release(base);
			manifest_init(base);
			manifest_copy(base, &cur);
			*learned = 1;
		} else {
			log_warn("'%s': manifest %llu written by older epoch %llu; "
			    "stepping over it", e->uri, (unsigned long long)id,
			    (unsigned long long)cur.writer_epoch);
			base->id = cur.id;
		}
	}
	manifest_release(&cur);
	return rc;
}

/*
 * Commit the manifest edit() makes of the current one, and install the
 * new version. Commits are made one at a time (commit_lock), so the
 * current version is the newest this writer committed, but for the
 * versions readers wrote after it to hold their checkpoints, and for one
 * of ours whose answer was lost (the store failed to say it was stored).
 * If the next id is taken, rebase() finds what to build on (or that we
 * are fenced), and the edit is made again on it. Even if the edit then
 * fails (a compaction whose sources that lost commit already replaced),
 * the version found is installed, so the engine goes on from what the
 * store holds instead of failing on the same id for ever. Expired
 * checkpoints are dropped.
 */
int
commit_edit(struct engine *e, manifest_edit_fn edit, void *arg)
{
	struct version *v = NULL, *old;
	struct manifest base, m;
	const struct manifest *install;
	int rc = 0, vrc, tries, learned = 0;

	manifest_init(&base);
	manifest_init(&m);
	pthread_mutex_lock(&e->commit_lock);
	pthread_mutex_lock(&e->lock);
	manifest_copy(&base, &e->ver->m);
	pthread_mutex_unlock(&e->lock);
	for (tries = 0; tries < MANIFEST_RETRIES; tries++) {
		manifest_successor(&m, &base, clock_wall_ns() / 1000000);
		if ((rc = edit(arg, &m)) != 0)
			break;
		if ((rc = manifest_put(e, &m)) != -EEXIST)
			break;
		if ((rc = rebase(e, m.id, &base, &learned)) != 0)
			break;
		rc = -EEXIST;
	}
	if (rc == -EEXIST)
		rc = err_set(SHALE_EFENCED, "'%s': cannot commit a manifest after "
		    "%d tries", e->uri, tries);
	install = rc == 0 ? &m : learned && rc != SHALE_EFENCED ? &base : NULL;
	if (install != NULL && (vrc = version_new(e, install, e->ver, &v)) != 0) {
		if (rc == 0)
			rc = vrc;
		install = NULL;
	}
	if (install != NULL) {
		pthread_mutex_lock(&e->lock);
		old = e->ver;
		e->ver = v;
		set_shape_metrics_locked(e);
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		version_unref(old);
	}
	pthread_mutex_unlock(&e->commit_lock);
	manifest_release(&base);
	manifest_release(&m);
	return rc;
}

struct l0_edit {
	const struct manifest_run *pieces;
	uint64_t	 last_wal;
	uint64_t	 max_seq;
};

/*
 * Add a flush's tables in front of L0 and move the WAL replay point past
 * them. Tables already there (the commit stored, though the store's
 * answer was lost) are not added twice.
 */
static int
l0_edit(void *arg, struct manifest *m)
{
	struct l0_edit *x = arg;
	size_t i, n = x->pieces->ntables;

	if (x->last_wal + 1 > m->wal_replay_from)
		m->wal_replay_from = x->last_wal + 1;
	if (x->max_seq > m->last_seq)
		m->last_seq = x->max_seq;
	if (n == 0)
		return 0;
	for (i = 0; i < m->nl0; i++)
		if (strcmp(m->l0[i].key, x->pieces->tables[0].key) == 0)
			return 0;
	m->l0 = xrealloc(m->l0, (m->nl0 + n) * sizeof(*m->l0));
	memmove(m->l0 + n, m->l0, m->nl0 * sizeof(*m->l0));
	for (i = 0; i < n; i++)
		manifest_table_copy(&m->l0[i], &x->pieces->tables[i]);
	m->nl0 += n;
	return 0;
}

/* The oldest frozen memtable no l0_main is writing, or NULL. (L) */
static struct frozen *
untaken_locked(struct engine *e)
{
	for (size_t i = 0; i < e->nfrozen; i++)
		if (!e->frozen[i].taken)
			return &e->frozen[i];
	return NULL;
}

/* Give the frozen memtable `mem` back for an l0_main to take. (L) */
static void
untake_locked(struct engine *e, struct memtable *mem)
{
	for (size_t i = 0; i < e->nfrozen; i++)
		if (e->frozen[i].mem == mem)
			e->frozen[i].taken = 0;
}

/*
 * L0_WRITERS of these write the frozen memtables as tables: each takes
 * the oldest one not taken, builds and stores its tables, and commits
 * them once every older memtable's are committed, so that L0 and the
 * WAL replay point move in order; one builds while another stores.
 */
static void *
l0_main(void *arg)
{
	struct engine *e = arg;
	struct manifest_run pieces;
	struct frozen f, *fp;
	struct buf tbl;		/* kept from one table to the next */
	int64_t backoff = 100;
	int rc;

	buf_init(&tbl, 0);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while ((fp = untaken_locked(e)) == NULL && !e->stopping &&
		    !e->fenced)
			pthread_cond_wait(&e->cond, &e->lock);
		if (fp == NULL || e->fenced || e->abandon)
			break;
		fp->taken = 1;
		f = *fp;
		pthread_mutex_unlock(&e->lock);
		rc = build_tables(e, f.mem, &pieces, &tbl);
		pthread_mutex_lock(&e->lock);
		while (rc == 0 && e->frozen[0].mem != f.mem && !e->fenced &&
		    !e->abandon)
			pthread_cond_wait(&e->cond, &e->lock);
		if (rc == 0 && (e->fenced || e->abandon)) {
			pthread_mutex_unlock(&e->lock);
			pieces_release(e, &pieces);
			pthread_mutex_lock(&e->lock);
			break;
		}
		/*
		 * Backpressure: while L0 is full the tables wait for the
		 * compactor; memtables pile up, and writers wait at
		 * max_unflushed_bytes. A closing engine stores its tables
		 * regardless.
		 */
		if (rc == 0 && e->ncompactors > 0 && l0_full_locked(e)) {
			metric_add(e->m.l0_stalls, 1);
			while (l0_full_locked(e) && !e->stopping && !e->fenced)
				pthread_cond_wait(&e->cond, &e->lock);
		}
		pthread_mutex_unlock(&e->lock);
		if (rc == 0) {
			struct l0_edit x = { &pieces, f.last_wal, f.max_seq };

			rc = commit_edit(e, l0_edit, &x);
			pieces_release(e, &pieces);
		}
		pthread_mutex_lock(&e->lock);
		if (rc == SHALE_EFENCED) {
			fence_locked(e, err_detail());
			break;
		}
		if (rc != 0) {
			untake_locked(e, f.mem);
			note_store_locked(e, &e->l0_failing_since, 1);
			pause_locked(e, &backoff, "write an L0 table", rc);
			continue;
		}
		backoff = 100;
		note_store_locked(e, &e->l0_failing_since, 0);
		metric_add(e->m.l0_flushes, 1);
		e->unflushed -= f.bytes;
		metric_set(e->m.unflushed, (double)e->unflushed);
		memmove(e->frozen, e->frozen + 1, --e->nfrozen * sizeof(*e->frozen));
		memtable_unref(f.mem);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_cond_broadcast(&e->cond);	/* the other may wait for us */
	pthread_mutex_unlock(&e->lock);
	buf_release(&tbl);
	return NULL;
}

/* ---- the manifest poller: notices a newer writer ---- */

/*
 * Sleep one manifest_poll_interval, or less if the engine stops (or is
 * fenced): 1 to go on, 0 to stop. (L)
 */
static int
poll_wait_locked(struct engine *e)
{
	int64_t due = clock_mono_ns() + e->set.manifest_poll_interval_ms * 1000000;

	while (!e->stopping && !e->fenced && clock_mono_ns() < due)
		clock_cond_wait(&e->cond, &e->lock, due);
	return !e->stopping && !e->fenced;
}


/*
 * Reads the versions after the current one: a newer epoch's fences us.
 * Versions of our epoch there are readers' copies of ours with their
 * checkpoints (or our own, committed a moment ago): passed over, and
 * remembered in `seen` so the next poll starts after them.
 */
static void *
poller_main(void *arg)
{
	struct engine *e = arg;
	struct manifest m;
	struct buf b;
	char key[40];
	uint64_t next, seen = 0;
	int newer = 0;

	manifest_init(&m);
	buf_init(&b, 0);
	pthread_mutex_lock(&e->lock);
	while (poll_wait_locked(e)) {
		next = e->ver->m.id + 1;
		pthread_mutex_unlock(&e->lock);
		if (seen >= next)
			next = seen + 1;
		for (;; next++) {
			manifest_key(next, key);
			buf_reset(&b);
			if (objstore_get(e->os, key, 0, OBJSTORE_TO_END, &b) != 0 ||
			    manifest_decode(b.data, b.len, key, &m) != 0)
				break;
			newer = m.writer_epoch > e->epoch;
			manifest_release(&m);
			manifest_init(&m);
			if (newer)
				break;
			seen = next;
		}
		manifest_release(&m);
		manifest_init(&m);
		if (newer)
			fence(e, "a writer of a newer epoch committed a manifest");
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&b);
	manifest_release(&m);
	return NULL;
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

/* ---- a reader following the writer ---- */

/*
 * Install manifest m if it is newer, and drop the memtables whose records
 * it holds in tables (all WAL objects before its replay point). The
 * version it replaces was superseded at superseded_ms.
 */
static void
follow_manifest(struct engine *e, const struct manifest *m,
    int64_t superseded_ms)
{
	struct version *nv, *old;
	struct memtable *drop = NULL;
	size_t i, k;
	int rc;

	if ((rc = version_new(e, m, e->ver, &nv)) != 0) {
		log_warn("'%s': cannot open the tables of manifest %llu: %s "
		    "(retrying)", e->uri, (unsigned long long)m->id,
		    err_message(rc));
		return;
	}
	pthread_mutex_lock(&e->lock);
	old = e->ver;
	e->ver = nv;
	for (i = k = 0; i < e->nfrozen; i++) {
		if (e->frozen[i].last_wal < m->wal_replay_from)
			memtable_unref(e->frozen[i].mem);
		else
			e->frozen[k++] = e->frozen[i];
	}
	e->nfrozen = k;
	if (memtable_entries(e->mem) > 0 && e->mem_last_wal < m->wal_replay_from) {
		drop = e->mem;
		e->mem = memtable_new();
	}
	if (m->last_seq > e->last_seq)
		e->last_seq = e->durable_seq = m->last_seq;
	set_shape_metrics_locked(e);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	version_retire(e, old, superseded_ms);
	if (drop != NULL)
		memtable_unref(drop);
}

/*
 * A hole from `next` up to `id` that the current manifest's tables cover
 * (below its replay point) was collected before this reader applied it:
 * go on from the replay point. Its records are in the tables, but were
 * never reported to engine_on_apply. Returns where to go on, or next.
 */
static uint64_t
wal_skip(struct engine *e, uint64_t next, uint64_t id)
{
	uint64_t from;

	pthread_mutex_lock(&e->lock);
	from = e->ver->m.wal_replay_from;
	pthread_mutex_unlock(&e->lock);
	if (from <= next)
		return next;
	if (from > id)
		from = id;
	log_warn("'%s': WAL objects %llu to %llu were collected before this "
	    "reader applied them; what they changed is read from tables, but "
	    "was not reported", e->uri, (unsigned long long)next,
	    (unsigned long long)from - 1);
	return from;
}

/*
 * Apply the WAL objects stored after the last one applied, up to a hole.
 * 1 if it stopped at an object whose stubs need a newer manifest.
 */
static int
follow_wal(struct engine *e)
{
	struct objstore_list l = { 0 };
	struct replay r = { .e = e };
	struct frozen *f;
	char after[32];
	uint64_t id, next = e->next_wal_id, epoch = e->follow_epoch, jump;
	int64_t mtime = 0;
	size_t cap;
	int rc, fence, more = 1, behind = 0;

	pthread_mutex_lock(&e->lock);
	r.follow = 1;
	r.max_seq = e->last_seq;
	pthread_mutex_unlock(&e->lock);
	while (more) {
		wal_key(e->follow_last, after);
		if ((rc = objstore_list(e->os, "wal/", after, 0, &l)) != 0) {
			log_warn("'%s': cannot list the WAL: %s (retrying)", e->uri,
			    err_message(rc));
			break;
		}
		more = l.next != NULL;
		for (size_t i = 0; i < l.n; i++) {
			if ((id = wal_key_id(l.entries[i].key)) == 0 ||
			    id <= e->follow_last)
				continue;
			if (id > next && (jump = wal_skip(e, next, id)) > next)
				next = jump;
			if (id > next) {
				more = 0;	/* a hole: what follows it waits */
				break;
			}
			rc = replay_one(e, id, &epoch, &r, &fence);
			if (rc == -EAGAIN) {
				behind = 1;
				more = 0;
				break;
			}
			if (rc != 0 && rc != -ENOENT) {
				log_warn("'%s': cannot apply WAL object %llu: %s "
				    "(retrying)", e->uri, (unsigned long long)id,
				    err_message(rc));
				more = 0;
				break;
			}
			mtime = l.entries[i].mtime;
			e->follow_last = id;
			e->mem_last_wal = id;
			if (rc == 0 && fence && id + WAL_JUMP > next)
				next = id + WAL_JUMP;
			else if (id + 1 > next)
				next = id + 1;
			pthread_mutex_lock(&e->lock);
			e->next_wal_id = next;
			e->follow_epoch = epoch;
			if (r.max_seq > e->last_seq)
				e->last_seq = e->durable_seq = r.max_seq;
			/* a full memtable is set aside until a manifest covers it */
			if (memtable_bytes(e->mem) >= e->set.l0_sst_size_bytes) {
				cap = e->nfrozen;
				e->frozen = xgrow(e->frozen, &cap, e->nfrozen + 1,
				    sizeof(*e->frozen));
				f = &e->frozen[e->nfrozen++];
				memset(f, 0, sizeof(*f));
				f->mem = e->mem;
				f->last_wal = id;
				f->max_seq = memtable_max_seq(e->mem);
				e->mem = memtable_new();
			}
			pthread_mutex_unlock(&e->lock);
		}
		objstore_list_release(&l);
		memset(&l, 0, sizeof(l));
	}
	objstore_list_release(&l);
	if (mtime > 0) {
		pthread_mutex_lock(&e->lock);
		e->follow_lag_ms = clock_wall_ns() / 1000000 - mtime * 1000;
		if (e->follow_lag_ms < 0)
			e->follow_lag_ms = 0;
		metric_set(e->m.follow_lag, (double)e->follow_lag_ms / 1000);
		metric_set(e->m.durable, (double)e->durable_seq);
		pthread_mutex_unlock(&e->lock);
	}
	return behind;
}

/* Every manifest_poll_interval: a newer manifest, then new WAL objects. */
static void *
follow_main(void *arg)
{
	struct engine *e = arg;
	struct manifest m;
	struct buf b;
	char key[40];
	uint64_t id;
	int64_t superseded;
	int found, quiet = 0, behind;

	buf_init(&b, 0);
	pthread_mutex_lock(&e->lock);
	while (poll_wait_locked(e)) {
		pthread_mutex_unlock(&e->lock);
		/*
		 * The WAL first: a manifest that moved the replay point past
		 * objects not yet applied would skip them, and their records
		 * would never be reported (engine_on_apply) though in tables.
		 */
		behind = follow_wal(e);
		pthread_mutex_lock(&e->lock);
		id = e->ver->m.id;
		pthread_mutex_unlock(&e->lock);
		/*
		 * The newest manifest: the ids after ours, one GET each. Ours
		 * was superseded when the first of them was written, or when
		 * we found it if our clock is behind the writer's.
		 */
		manifest_init(&m);
		superseded = clock_wall_ns() / 1000000;
		for (found = 0; ; id++) {
			struct manifest next;

			manifest_key(id + 1, key);
			buf_reset(&b);
			if (objstore_get(e->os, key, 0, OBJSTORE_TO_END, &b) != 0)
				break;
			manifest_init(&next);
			if (manifest_decode(b.data, b.len, key, &next) != 0) {
				manifest_release(&next);
				break;
			}
			if (!found && next.created_ms < superseded)
				superseded = next.created_ms;
			manifest_release(&m);
			m = next;
			found = 1;
		}
		/*
		 * A follower far behind may find the version after its own
		 * collected: every FOLLOW_LIST_EVERY quiet polls, a listing
		 * says whether a newer one is there all the same.
		 */
		if (!found && ++quiet >= FOLLOW_LIST_EVERY) {
			quiet = 0;
			manifest_release(&m);
			manifest_init(&m);
			found = manifest_find_latest(e->os, NULL, &m) == 0 &&
			    m.id > id;
			superseded = 0;		/* long ago: not known when */
			if (found)
				log_warn("'%s': manifests %llu to %llu were "
				    "collected before this reader read them; "
				    "going on from %llu", e->uri,
				    (unsigned long long)id + 1,
				    (unsigned long long)m.id - 1,
				    (unsigned long long)m.id);
		} else if (found)
			quiet = 0;
		if (found)
			follow_manifest(e, &m, superseded);
		manifest_release(&m);
		/* the objects a bulk write stored after this manifest */
		if (found && behind)
			(void)follow_wal(e);
		ckpt_update(e);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&b);
	return NULL;
}

void
engine_on_apply(struct engine *e, engine_apply_fn fn, void *arg)
{
	pthread_mutex_lock(&e->lock);
	e->apply_fn = fn;
	e->apply_arg = arg;
	/* the one it replaces may be in use: its owner may free it next */
	while (e->applying)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

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
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->commit_lock, NULL);
	pthread_mutex_init(&e->tables_lock, NULL);
	pthread_rwlock_init(&e->filter_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	buf_init(&e->walbuf, 0);
	e->qtail = &e->queue;
	e->mem = memtable_new();
	e->bcache = block_cache_new(e->set.block_cache_bytes);
	metrics_init(e);
	if (so != NULL)
		o = *so;
	if (e->set.cache_root_folder != NULL) {
		o.cache_dir = e->set.cache_root_folder;
		o.cache_max_bytes = e->set.cache_max_size_bytes;
	}
	if ((rc = objstore_open(uri, &o, &e->os)) != 0)
		goto fail;
	e->mirror = manifest_mirror_open(e->set.cache_root_folder, uri);
	if ((rc = claim(e)) != 0)
		goto fail;
	if ((rc = replay(e)) != 0)
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

/* Seal what is written and wait (timeout_ms < 0: for ever) until it is stored. */
static int
flush_within(struct engine *e, int64_t timeout_ms)
{
	uint64_t want;

	if (e->mode == ENGINE_READER)
		return 0;
	pthread_mutex_lock(&e->lock);
	want = e->last_seq;
	if (e->walbuf.len > 0) {
		e->flush_asked = 1;
		seal_locked(e);
	}
	pthread_mutex_unlock(&e->lock);
	return engine_wait_durable(e, want, timeout_ms);
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

int
engine_flush(struct engine *e)
{
	return flush_within(e, -1);
}

/*
 * Wait until seq is durable, at most timeout_ms (< 0: no limit). With
 * `bounded`, give up with -EIO once the store has refused every attempt
 * for store_failure_timeout; with `stop`, with -EINTR once it is set
 * (engine_wake makes the waiter look).
 */
static int
wait_durable(struct engine *e, uint64_t seq, int64_t timeout_ms, int bounded,
    const int *stop)
{
	int64_t due = timeout_ms < 0 ? 0 : clock_mono_ns() + timeout_ms * 1000000;
	int64_t now, fail_due = 0, wake;
	uint64_t failures;
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	/*
	 * A wait fails only on an attempt that failed during it: one that
	 * begins after the store came back waits for the next attempt,
	 * asked for at once if the failures are old enough to fail it
	 * (not sooner: a caller waiting in slices would defeat the backoff)
	 */
	failures = e->store_failures;
	if (bounded && e->durable_seq < seq &&
	    store_failed_locked(e, clock_mono_ns(), NULL)) {
		e->retry_gen++;
		pthread_cond_broadcast(&e->cond);
	}
	while (e->durable_seq < seq && !e->fenced && rc == 0) {
		/* a stub is durable once its memtable is in a table */
		if (e->mem_bulk_first != 0 && seq >= e->mem_bulk_first)
			freeze_locked(e);
		if (e->walbuf.len > 0 && e->walbuf_last_seq >= seq) {
			/* a waiter should not wait for the timer */
			seal_locked(e);
		}
		now = clock_mono_ns();
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
			rc = -EINTR;
			break;
		}
		if (bounded && store_failed_locked(e, now, &fail_due) &&
		    e->store_failures != failures) {
			rc = store_failed_error(e, now);
			break;
		}
		if (due != 0 && now >= due) {
			rc = -ETIMEDOUT;
			break;
		}
		wake = due;
		if (bounded && fail_due > now && (wake == 0 || fail_due < wake))
			wake = fail_due;
		clock_cond_wait(&e->cond, &e->lock, wake);
	}
	/* once fenced, every wait fails: the caller must not go on as writer */
	if (e->fenced)
		rc = err_set(SHALE_EFENCED, "'%s': fenced by a newer writer", e->uri);
	else if (e->durable_seq >= seq)
		rc = 0;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int
engine_wait_durable(struct engine *e, uint64_t seq, int64_t timeout_ms)
{
	return wait_durable(e, seq, timeout_ms, 0, NULL);
}

int
engine_sync(struct engine *e, uint64_t seq, int64_t timeout_ms,
    const int *stop)
{
	if (e->mode == ENGINE_READER)
		return 0;
	return wait_durable(e, seq, timeout_ms, 1, stop);
}

void
engine_wake(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

uint64_t
engine_durable_seq(struct engine *e)
{
	uint64_t s;

	pthread_mutex_lock(&e->lock);
	s = e->durable_seq;
	pthread_mutex_unlock(&e->lock);
	return s;
}

uint64_t
engine_last_seq(struct engine *e)
{
	uint64_t s;

	pthread_mutex_lock(&e->lock);
	s = e->last_seq;
	pthread_mutex_unlock(&e->lock);
	return s;
}

void
engine_subscribe(struct engine *e, engine_durable_fn fn, void *arg)
{
	pthread_mutex_lock(&e->lock);
	e->subs = xgrow(e->subs, &e->capsubs, e->nsubs + 1, sizeof(*e->subs));
	e->subs[e->nsubs].fn = fn;
	e->subs[e->nsubs].arg = arg;
	e->nsubs++;
	pthread_mutex_unlock(&e->lock);
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
	st->next_wal_id = e->next_wal_id;
	st->l0_tables = e->ver ? e->ver->m.nl0 : 0;
	st->compacting = (size_t)e->jobs;
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
	st->follow_lag_ms = e->follow_lag_ms;
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

	while ((w = e->queue) != NULL) {
		e->queue = w->next;
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
	buf_release(&e->walbuf);
	while (e->nwalspare > 0)
		buf_release(&e->walspare[--e->nwalspare]);
	if (e->mirror != NULL)
		mirror_close(e->mirror);
	objstore_close(e->os);
	engine_settings_release(&e->set);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->commit_lock);
	pthread_mutex_destroy(&e->tables_lock);
	pthread_rwlock_destroy(&e->filter_lock);
	pthread_cond_destroy(&e->cond);
	free(e->subs);
	free(e->stubv);
	free(e->busy_runs);
	for (size_t i = 0; i < e->npending; i++) {
		if (!e->pending[i].opened && e->pending[i].cache_id != 0)
			block_cache_drop(e->bcache, e->pending[i].cache_id);
		free(e->pending[i].key);
	}
	free(e->pending);
	free(e->uri);
	free(e);
}
