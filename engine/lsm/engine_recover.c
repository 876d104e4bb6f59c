/*
 * engine_recover.c - manifests, fencing, and recovery at open.
 *
 * manifest_put stores a manifest version with put_if_absent, settling an
 * unknown outcome by reading the object back. fence_locked makes the
 * engine fenced, for good: another writer took the store. At open, claim
 * finds the newest manifest (a writer bumps the writer epoch through a
 * version of its own) and installs it as the first version; replay then
 * applies the WAL from its replay point into the active memtable, a
 * writer filling holes and ending with a fence object ("Fencing" in
 * engine.c). replay_one, which applies one WAL object, also serves a
 * reader following the writer (follow_wal, engine_follow.c), reporting
 * each record to the function engine_on_apply set (replay_batch).
 *
 * Owns no part of struct engine: at open, before any thread runs, it
 * sets epoch, ver, last_seq, durable_seq, e->wal.next_wal_id, and
 * e->follow's follow_last, follow_epoch and mem_last_wal; fence_locked
 * sets fenced. It does not commit manifests once open (commit_edit,
 * engine_flush.c).
 *
 * Locking: fence_locked is called with e->lock held, fence takes it.
 * replay_batch takes e->lock for a follower, to publish a batch and
 * read the appliers in one hold. No store call is made with e->lock held.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/layout.h"
#include "engine/lsm/manifest_store.h"
#include "engine/lsm/wal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

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

void
fence_writer(struct engine *e, const char *why)
{
	pthread_mutex_lock(&e->lock);
	fence_locked(e, why);
	pthread_mutex_unlock(&e->lock);
}

/* ---- recovery ---- */

/* Report a stub's value, read from the tables, to a follower. */
static void
apply_stub(struct replay *r, const struct kv_entry *x)
{
	struct buf val;

	buf_init(&val, 0);
	/* gone (a newer write removed it): there is nothing to tell */
	if (engine_get(r->e, NULL, x->key, x->klen, &val) == 0)
		for (size_t i = 0; i < ENGINE_APPLY_MAX && r->apply[i].fn != NULL;
		    i++)
			r->apply[i].fn(r->apply[i].arg, x->key, x->klen, val.data,
			    val.len);
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
	memcpy(r->apply, e->follow.apply, sizeof(r->apply));
	e->follow.applying = r->apply[0].fn != NULL;
	pthread_mutex_unlock(&e->lock);
	if (r->apply[0].fn == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		x = v[i];
		if (x.kind == WAL_STUB) {
			apply_stub(r, &x);	/* replay_one checked: in a table */
			continue;
		}
		for (size_t j = 0; j < ENGINE_APPLY_MAX && r->apply[j].fn != NULL;
		    j++)
			r->apply[j].fn(r->apply[j].arg, x.key, x.klen, x.val,
			    x.kind == KV_PUT ? x.vlen : 0);
	}
	pthread_mutex_lock(&e->lock);
	e->follow.applying = 0;
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
int
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
int
replay_wal(struct engine *e)
{
	struct objstore_list l = { 0 };
	struct replay r = { .e = e, .max_seq = e->ver->m.last_seq };
	uint64_t *ids = NULL, id, next, epoch = 0;
	size_t n = 0, cap = 0, i;
	char *after = NULL, key[32];
	int rc, fence;

	e->follow.follow_last = e->ver->m.wal_replay_from > 0 ?
	    e->ver->m.wal_replay_from - 1 : 0;
	/* every WAL id at or after the replay point */
	if (e->ver->m.wal_replay_from > 1) {
		wal_key(e->ver->m.wal_replay_from - 1, key);
		after = xstrdup(key);
	}
	do {
		rc = objstore_list(e->os, LAYOUT_WAL, after, 0, &l);
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
		e->follow.follow_last = ids[i];
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
	e->wal.next_wal_id = next;
	e->follow.follow_epoch = epoch;
	e->follow.mem_last_wal = e->follow.follow_last;
	e->last_seq = e->durable_seq = r.max_seq > e->ver->m.last_seq ?
	    r.max_seq : e->ver->m.last_seq;
	rc = 0;
out:
	objstore_list_release(&l);
	free(ids);
	return rc;
}

/* Bump the writer epoch through the manifest; install the version. */
int
epoch_claim(struct engine *e)
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
