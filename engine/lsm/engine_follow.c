/*
 * engine_follow.c - the manifest poller, and a reader following the
 * writer.
 *
 * A writer's poller_main reads, every manifest_poll_interval, the
 * manifest versions after its own: one of a newer epoch fences it. A
 * reader's follow_main, every poll, applies the WAL objects stored since
 * the last it applied (follow_wal, with replay_one of engine_recover.c),
 * then installs the newest manifest (follow_manifest), dropping the
 * memtables its tables cover, and updates its checkpoints (checkpoint.c).
 * engine_on_apply sets whom a follower reports each record to.
 *
 * Owns e->follow: follow_last, follow_epoch, mem_last_wal, apply,
 * applying and follow_lag_ms. For a reader, e->wal.next_wal_id
 * is the next WAL id it expects. Shares mem, frozen, ver and the seqs
 * with the other stages, and installs ver. A reader writes nothing to
 * the store but its checkpoints.
 *
 * Locking: follow_last, follow_epoch and mem_last_wal are the follow
 * thread's (set at open, before it starts) and need no lock; the rest is
 * under e->lock, which no store call is made with.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/layout.h"
#include "engine/lsm/manifest_store.h"
#include "engine/lsm/wal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define FOLLOW_LIST_EVERY	30	/* quiet polls between listings */

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
void *
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
			fence_writer(e, "a writer of a newer epoch committed a manifest");
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	buf_release(&b);
	manifest_release(&m);
	return NULL;
}

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
	if (memtable_entries(e->mem) > 0 &&
	    e->follow.mem_last_wal < m->wal_replay_from) {
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
	uint64_t id, next = e->wal.next_wal_id, epoch = e->follow.follow_epoch, jump;
	int64_t mtime = 0;
	size_t cap;
	int rc, fence, more = 1, behind = 0;

	pthread_mutex_lock(&e->lock);
	r.follow = 1;
	r.max_seq = e->last_seq;
	pthread_mutex_unlock(&e->lock);
	while (more) {
		wal_key(e->follow.follow_last, after);
		if ((rc = objstore_list(e->os, LAYOUT_WAL, after, 0, &l)) != 0) {
			log_warn("'%s': cannot list the WAL: %s (retrying)", e->uri,
			    err_message(rc));
			break;
		}
		more = l.next != NULL;
		for (size_t i = 0; i < l.n; i++) {
			if ((id = wal_key_id(l.entries[i].key)) == 0 ||
			    id <= e->follow.follow_last)
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
			e->follow.follow_last = id;
			e->follow.mem_last_wal = id;
			if (rc == 0 && fence && id + WAL_JUMP > next)
				next = id + WAL_JUMP;
			else if (id + 1 > next)
				next = id + 1;
			pthread_mutex_lock(&e->lock);
			e->wal.next_wal_id = next;
			e->follow.follow_epoch = epoch;
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
		e->follow.follow_lag_ms = clock_wall_ns() / 1000000 - mtime * 1000;
		if (e->follow.follow_lag_ms < 0)
			e->follow.follow_lag_ms = 0;
		metric_set(e->m.follow_lag, (double)e->follow.follow_lag_ms / 1000);
		metric_set(e->m.durable, (double)e->durable_seq);
		pthread_mutex_unlock(&e->lock);
	}
	return behind;
}

/* Every manifest_poll_interval: a newer manifest, then new WAL objects. */
void *
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

int
engine_on_apply(struct engine *e, engine_apply_fn fn, void *arg)
{
	struct engine_applier *a = e->follow.apply, *slot = NULL;
	size_t i;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < ENGINE_APPLY_MAX; i++)
		if (a[i].fn != NULL && a[i].arg == arg)
			break;
	if (i < ENGINE_APPLY_MAX)
		slot = &a[i];
	if (fn == NULL && slot != NULL) {
		/* close the gap: the others keep their order */
		memmove(slot, slot + 1, (size_t)(a + ENGINE_APPLY_MAX - slot - 1) *
		    sizeof(*slot));
		a[ENGINE_APPLY_MAX - 1].fn = NULL;
		a[ENGINE_APPLY_MAX - 1].arg = NULL;
	} else if (fn != NULL) {
		for (i = 0; slot == NULL && i < ENGINE_APPLY_MAX; i++)
			if (a[i].fn == NULL)
				slot = &a[i];
		if (slot == NULL) {
			pthread_mutex_unlock(&e->lock);
			return -ENOSPC;
		}
		slot->fn = fn;
		slot->arg = arg;
	}
	/* the one it replaces may be in use: its owner may free it next */
	while (e->follow.applying)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
	return 0;
}
