/*
 * engine_wal.c - WAL objects from walbuf to the store: the sealer and the
 * uploaders.
 *
 * seal_locked cuts walbuf into a WAL object with the next WAL id and
 * queues it; sealer_main does so a flush interval after the first batch
 * in it, or at once when a flush is asked, and ends a bulk write after an
 * interval with less than wal_max_bytes. WAL_UPLOADERS uploader_main
 * threads store the queued objects, several in flight (upload): a bulk
 * one only once its L0 flush is committed (next_queued). advance_locked
 * acknowledges them in id order: durable_seq moves, the subscribers are
 * called, waiters wake. An id taken by another writer fences this one.
 *
 * Owns e->wal: next_wal_id, queue and qtail, walspare (the memory of
 * stored bodies, kept for the next), flush_asked and bulk_quiet_due. It
 * does not fill walbuf (e->write, engine_write.c) nor delete WAL objects
 * (the collector, gc.c).
 *
 * Locking: its fields and a walobj's state under e->lock; upload runs
 * without it, on an object its uploader marked WAL_UPLOADING.
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

/* ---- the sealer: cuts walbuf into objects on time ---- */

/* Move walbuf to the upload queue. (L) */
void
seal_locked(struct engine *e)
{
	struct walobj *w;

	if (e->write.walbuf.len == 0)
		return;
	w = xcalloc(1, sizeof(*w));
	w->id = e->wal.next_wal_id++;	/* ids follow the records' order */
	w->body = e->write.walbuf;
	w->last_seq = e->write.walbuf_last_seq;
	w->bulk = e->write.walbuf_stubbed;
	e->write.walbuf_stubbed = 0;
	e->write.walbuf_raw = 0;
	if (e->write.bulk)
		e->wal.bulk_quiet_due = clock_mono_ns() +
		    e->set.flush_interval_ms * 1000000;
	if (e->wal.nwalspare > 0)
		e->write.walbuf = e->wal.walspare[--e->wal.nwalspare];
	else
		buf_init(&e->write.walbuf, 0);
	*e->wal.qtail = w;
	e->wal.qtail = &w->next;
	pthread_cond_broadcast(&e->cond);
}

void *
sealer_main(void *arg)
{
	struct engine *e = arg;
	int64_t due;
	int slow;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping && !e->fenced) {
		if (e->write.walbuf.len > 0) {
			due = e->write.walbuf_since +
			    e->set.flush_interval_ms * 1000000;
			if (e->wal.flush_asked || clock_mono_ns() >= due) {
				/* a whole interval with less ends a bulk write */
				slow = clock_mono_ns() >= due &&
				    e->write.walbuf_raw < e->set.wal_max_bytes;
				seal_locked(e);
				e->wal.flush_asked = 0;
				if (e->write.bulk && slow)
					bulk_end_locked(e);
				continue;
			}
			clock_cond_wait(&e->cond, &e->lock, due);
		} else if (e->write.bulk) {
			/* a bulk write with nothing more for an interval ended */
			due = e->wal.bulk_quiet_due;
			if (clock_mono_ns() >= due) {
				bulk_end_locked(e);
				continue;
			}
			clock_cond_wait(&e->cond, &e->lock, due);
		} else {
			e->wal.flush_asked = 0;
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

	while ((w = e->wal.queue) != NULL && w->state == WAL_STORED) {
		e->wal.queue = w->next;
		if (e->wal.queue == NULL)
			e->wal.qtail = &e->wal.queue;
		e->durable_seq = w->last_seq;
		e->unflushed -= w->body.len;
		/*
		 * Its memory serves a next object: new memory costs a page
		 * fault a page, which is most of writing on some machines
		 */
		if (e->wal.nwalspare < WAL_SPARES &&
		    w->body.cap <= 2 * e->set.wal_max_bytes) {
			buf_reset(&w->body);
			e->wal.walspare[e->wal.nwalspare++] = w->body;
		} else
			buf_release(&w->body);
		free(w);
		moved = 1;
	}
	if (!moved)
		return;
	metric_set(e->m.unflushed, (double)e->unflushed);
	metric_set(e->m.durable, (double)e->durable_seq);
	for (size_t i = 0; i < e->write.nsubs; i++)
		e->write.subs[i].fn(e->write.subs[i].arg, e->durable_seq);
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
	for (struct walobj *w = e->wal.queue; w != NULL; w = w->next) {
		if (w->bulk && w->last_seq > e->ver->m.last_seq)
			return NULL;
		if (w->state != WAL_QUEUED)
			continue;
		if (w->last_seq <= e->ver->m.last_seq && w != e->wal.queue)
			return NULL;
		return w;
	}
	return NULL;
}

/* WAL_UPLOADERS of these store sealed objects, several in flight. */
void *
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
			note_store_locked(e, &e->write.wal_failing_since, 1);
			pause_locked(e, &backoff, "store WAL object", rc);
			continue;
		}
		backoff = 50;
		note_store_locked(e, &e->write.wal_failing_since, 0);
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
