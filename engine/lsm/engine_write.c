/*
 * engine_write.c - the write path: batches, engine_write, frozen
 * memtables, and the waits for durability.
 *
 * engine_write gives a batch its seqs, adds it to the active memtable
 * and encodes it into walbuf, during a bulk write with stubs for its big
 * values (wal_view_locked), holding writers back at max_unflushed_bytes.
 * A full memtable is frozen (freeze_locked) for an l0_main
 * (engine_flush.c); walbuf is cut into WAL objects by engine_wal.c.
 * engine_wait_durable and engine_sync wait until the uploaders have
 * acknowledged a seq, sealing and freezing what they wait for rather than
 * waiting for the timer.
 *
 * Also the store's failures as writers and waits see them: the uploaders
 * and the L0 writers report each attempt (note_store_locked) and wait
 * before the next (pause_locked); store_failed_locked says when writers
 * and waits give up with -EIO (engine.c).
 *
 * Owns e->write: walbuf and what describes it (walbuf_*), the bulk
 * write (bulk, mem_bulk_first, stubv), the subscribers (subs, called by
 * advance_locked) and the failure clock (wal_failing_since,
 * l0_failing_since, store_failures, retry_gen). Shares mem, frozen,
 * last_seq, durable_seq and unflushed with the other stages. It does not
 * store anything itself.
 *
 * Locking: all of it under e->lock; a waiter sleeps on e->cond, which
 * every stage broadcasts on a change.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/wal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define UPLOAD_BACKOFF_MAX_MS	5000

/* ---- when the store refuses ---- */

/*
 * Since when (mono ns) the writer's every attempt to store has failed:
 * the earlier of the WAL's and the L0 flushes' first failure since their
 * last success; 0 while neither is failing. (L)
 */
int64_t
failing_since_locked(const struct engine *e)
{
	int64_t w = e->write.wal_failing_since, t = e->write.l0_failing_since;

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
void
note_store_locked(struct engine *e, int64_t *since, int failed)
{
	if (failed) {
		e->write.store_failures++;
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

/*
 * A background task failed on the store: log it, wait (the delay doubling
 * up to UPLOAD_BACKOFF_MAX_MS), and let it try again; at once if a new
 * durability wait asks (retry_gen), so that it learns soon whether the
 * store takes writes again, or ends the wait for a close.
 */
void
pause_locked(struct engine *e, int64_t *backoff, const char *what, int rc)
{
	int64_t due = clock_mono_ns() + *backoff * 1000000;
	uint64_t gen = e->write.retry_gen;

	log_warn("'%s': cannot %s: %s (retrying)", e->uri, what, err_message(rc));
	while (e->write.retry_gen == gen && !e->abandon && !e->fenced &&
	    clock_mono_ns() < due)
		clock_cond_wait(&e->cond, &e->lock, due);
	*backoff = *backoff * 2 > UPLOAD_BACKOFF_MAX_MS ? UPLOAD_BACKOFF_MAX_MS :
	    *backoff * 2;
}

/* ---- batches ---- */

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

/* ---- the write path ---- */

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
	f->last_wal = e->wal.next_wal_id - 1;
	e->unflushed += f->bytes;
	metric_set(e->m.unflushed, (double)e->unflushed);
	e->mem = memtable_new();
	e->write.mem_bulk_first = 0;
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

	if (!e->write.bulk)
		return b->v;
	e->write.stubv = xgrow(e->write.stubv, &e->write.capstubv, b->n,
	    sizeof(*e->write.stubv));
	for (size_t i = 0; i < b->n; i++) {
		x = &e->write.stubv[i];
		*x = b->v[i];
		if (x->kind != KV_PUT || x->vlen < min)
			continue;
		x->kind = WAL_STUB;
		x->val = NULL;
		stubbed += x->vlen;
		if (e->write.mem_bulk_first == 0)
			e->write.mem_bulk_first = first + i;
	}
	if (stubbed > 0) {
		e->write.walbuf_stubbed = 1;
		metric_add(e->m.wal_stubbed, (double)stubbed);
	}
	return e->write.stubv;
}

/*
 * A bulk write ended (an interval with less than wal_max_bytes, or
 * none): the WAL takes whole values again, and the memtable holding stubs
 * is flushed now rather than when full, so that they are soon durable. (L)
 */
void
bulk_end_locked(struct engine *e)
{
	e->write.bulk = 0;
	if (e->write.mem_bulk_first != 0)
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
	failures = e->write.store_failures;
	while (!e->fenced && !e->stopping && e->unflushed > 0 &&
	    e->unflushed + bytes > e->set.max_unflushed_bytes &&
	    !(failed = store_failed_locked(e, clock_mono_ns(), &due) &&
	    e->write.store_failures != failures))
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
	if (e->write.walbuf.len == 0) {
		e->write.walbuf_since = clock_mono_ns();
		pthread_cond_broadcast(&e->cond);	/* start the sealer's clock */
	}
	before = e->write.walbuf.len;
	wal_encode_batch(&e->write.walbuf, first, wal_view_locked(e, b, first), b->n);
	for (size_t i = 0; i < b->n; i++) {
		x = b->v[i];
		x.seq = first + i;
		memtable_add(e->mem, &x);
	}
	e->last_seq = first + b->n - 1;
	e->write.walbuf_last_seq = e->last_seq;
	e->write.walbuf_raw += bytes;
	/* stubs' values are counted with their memtable, once frozen */
	e->unflushed += e->write.walbuf.len - before;
	metric_add(e->m.writes, 1);
	metric_add(e->m.write_bytes, (double)b->data.len);
	metric_set(e->m.unflushed, (double)e->unflushed);
	if (e->write.walbuf.len >= e->set.wal_max_bytes) {
		/* filled within one interval: a bulk write */
		if (!e->write.bulk && e->set.wal_stub_min_bytes > 0 &&
		    clock_mono_ns() - e->write.walbuf_since <
		    e->set.flush_interval_ms * 1000000)
			e->write.bulk = 1;
		seal_locked(e);
	}
	if (memtable_bytes(e->mem) >= e->set.l0_sst_size_bytes)
		freeze_locked(e);
	if (seqp != NULL)
		*seqp = e->last_seq;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

/* ---- durability ---- */

/* Seal what is written and wait (timeout_ms < 0: for ever) until it is stored. */
int
flush_within(struct engine *e, int64_t timeout_ms)
{
	uint64_t want;

	if (e->mode == ENGINE_READER)
		return 0;
	pthread_mutex_lock(&e->lock);
	want = e->last_seq;
	if (e->write.walbuf.len > 0) {
		e->wal.flush_asked = 1;
		seal_locked(e);
	}
	pthread_mutex_unlock(&e->lock);
	return engine_wait_durable(e, want, timeout_ms);
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
	failures = e->write.store_failures;
	if (bounded && e->durable_seq < seq &&
	    store_failed_locked(e, clock_mono_ns(), NULL)) {
		e->write.retry_gen++;
		pthread_cond_broadcast(&e->cond);
	}
	while (e->durable_seq < seq && !e->fenced && rc == 0) {
		/* a stub is durable once its memtable is in a table */
		if (e->write.mem_bulk_first != 0 && seq >= e->write.mem_bulk_first)
			freeze_locked(e);
		if (e->write.walbuf.len > 0 && e->write.walbuf_last_seq >= seq) {
			/* a waiter should not wait for the timer */
			seal_locked(e);
		}
		now = clock_mono_ns();
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
			rc = -EINTR;
			break;
		}
		if (bounded && store_failed_locked(e, now, &fail_due) &&
		    e->write.store_failures != failures) {
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
	e->write.subs = xgrow(e->write.subs, &e->write.capsubs,
	    e->write.nsubs + 1, sizeof(*e->write.subs));
	e->write.subs[e->write.nsubs].fn = fn;
	e->write.subs[e->write.nsubs].arg = arg;
	e->write.nsubs++;
	pthread_mutex_unlock(&e->lock);
}
