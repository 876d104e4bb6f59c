/*
 * checkpoint.c - a reader pins the manifest versions it still reads.
 *
 * A reader in another process than the writer is protected by the
 * garbage collector's min_age alone: the tables of a version it holds (a
 * snapshot, an iterator in a long scan) may be deleted min_age after that
 * version was superseded. So a reader that keeps an old version longer
 * pins it with a checkpoint in the manifest (gc.h), as SlateDB's readers
 * do. It writes nothing else to the store and never fences the writer.
 *
 * Every poll, follow_main calls ckpt_update:
 *
 *   retired    a version no longer current but still held is listed in
 *      |       e->tables.retired (version_retire, engine_version.c) with
 *      |       the time it was superseded; its last version_unref takes
 *      |       it out
 *      v
 *   wanted     each retired version superseded at least half the smallest
 *      |       min_age ago (tables', WAL's: ckpt_min_age), and each one
 *      |       already pinned; one superseded a whole min_age ago before
 *      |       it was first pinned is not pinned but logged: its tables
 *      |       may be gone, and a checkpoint naming a deleted manifest
 *      |       would stop the collector
 *      v
 *   written    when the wanted set differs from the one held, a held
 *              checkpoint has less than half its lifetime left, or the
 *              newest manifest this reader knows lost them: ckpt_write
 *
 * ckpt_write is a compare-and-set of a new manifest version: find the
 * newest version L (a listing after the one the reader knows, so a reader
 * far behind never writes into the past: ckpt_newest), copy it, drop
 * every expired checkpoint and every one of this reader's, add the wanted
 * ones ("reader-<16 hex>-<manifest id>", expiring now + ckpt_lifetime),
 * and store it as L.id + 1 with put_if_absent. The copy keeps L's
 * writer_epoch, so the writer takes it for a version of its own and
 * builds on it (commit_edit, rebase), and its created_ms is never before
 * L's. A taken id is looked up again, CKPT_RETRIES times. A failure
 * (read-only credentials, the store down) is logged once and tried again
 * after CKPT_BACKOFF_MS; meanwhile min_age is the only protection.
 * ckpt_close removes this reader's checkpoints when the engine closes,
 * on a thread of its own that the close waits for until close_due
 * (engine_close_within's bound): a store that does not take the removal
 * cannot hold the close. After that the removal goes on alone and frees
 * the engine when it ends (engine_free). It is not tried while the store
 * fails. Checkpoints not removed, and those of a reader that died,
 * expire, and the writer drops them.
 *
 * Nothing is written while nothing is pinned: a reader that holds no old
 * version never touches the manifest.
 *
 * Threading: ckpt_update runs on the follow thread only, ckpt_close after
 * it stopped, then its removal thread; e->ckpt is theirs (ckpt_removed
 * and ckpt_orphan under e->lock). e->tables.retired is under tables_lock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "engine/lsm/manifest_store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CKPT_RETRIES	10		/* taken ids in a row before giving up */
#define CKPT_BACKOFF_MS	(10 * 1000)	/* after a failed write */

void
ckpt_init(struct engine *e)
{
	snprintf(e->ckpt.ckpt_prefix, sizeof(e->ckpt.ckpt_prefix), "reader-%08x%08x-",
	    arc4random(), arc4random());
}

/* How long a checkpoint lasts: the setting, and four polls at least. */
static int64_t
ckpt_lifetime(const struct engine_settings *s)
{
	int64_t polls = 4 * s->manifest_poll_interval_ms;

	return s->checkpoint_lifetime_ms > polls ? s->checkpoint_lifetime_ms :
	    polls;
}

/* How long the collector keeps a version's tables and WAL by itself. */
static int64_t
ckpt_min_age(const struct engine_settings *s)
{
	return s->gc_compacted.min_age_ms < s->gc_wal.min_age_ms ?
	    s->gc_compacted.min_age_ms : s->gc_wal.min_age_ms;
}

static const struct ckpt *
ckpt_find(const struct ckpt *c, size_t n, uint64_t manifest_id)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].manifest_id == manifest_id)
			return &c[i];
	return NULL;
}

static int
ckpt_ours(const struct engine *e, const struct manifest_checkpoint *c)
{
	return c->id != NULL && strncmp(c->id, e->ckpt.ckpt_prefix,
	    strlen(e->ckpt.ckpt_prefix)) == 0;
}

/* Whether m holds exactly the checkpoints this reader believes it holds. */
static int
ckpt_intact(const struct engine *e, const struct manifest *m)
{
	const struct manifest_checkpoint *c;
	const struct ckpt *h;
	size_t n = 0;

	for (size_t i = 0; i < m->ncheckpoints; i++) {
		c = &m->checkpoints[i];
		if (!ckpt_ours(e, c))
			continue;
		if ((h = ckpt_find(e->ckpt.ckpts, e->ckpt.nckpts,
		    c->manifest_id)) == NULL || h->expire_ms != c->expire_ms)
			return 0;
		n++;
	}
	return n == e->ckpt.nckpts;
}

/*
 * Move *base (a version this reader read) to the newest version: a
 * listing of the ids after it, then the greatest read. A listing, not
 * GETs of the next ids, so that a gap the collector left cannot pass for
 * the end.
 */
static int
ckpt_newest(struct engine *e, struct manifest *base)
{
	struct objstore_list l = { 0 };
	char after[40];
	uint64_t id, newest = base->id;
	int rc;

	manifest_key(base->id, after);
	for (;;) {
		if ((rc = objstore_list(e->os, LAYOUT_MANIFESTS, after, 0, &l)) != 0)
			break;
		for (size_t i = 0; i < l.n; i++)
			if ((id = manifest_key_id(l.entries[i].key)) > newest)
				newest = id;
		if (l.next == NULL)
			break;
		snprintf(after, sizeof(after), "%s", l.next);
		objstore_list_release(&l);
		memset(&l, 0, sizeof(l));
	}
	objstore_list_release(&l);
	if (rc == 0 && newest > base->id)
		rc = manifest_read(e->os, newest, base);
	return rc;
}

/* Replace this reader's checkpoints in m with `want`. */
static void
ckpt_replace(struct engine *e, struct manifest *m, const struct ckpt *want,
    size_t n)
{
	struct manifest_checkpoint *c;
	size_t i, k;

	for (i = k = 0; i < m->ncheckpoints; i++) {
		if (ckpt_ours(e, &m->checkpoints[i]))
			free(m->checkpoints[i].id);
		else
			m->checkpoints[k++] = m->checkpoints[i];
	}
	m->ncheckpoints = k;
	m->checkpoints = xrealloc(m->checkpoints, (k + n + 1) *
	    sizeof(*m->checkpoints));
	for (i = 0; i < n; i++) {
		c = &m->checkpoints[m->ncheckpoints++];
		c->id = xasprintf("%s%llu", e->ckpt.ckpt_prefix,
		    (unsigned long long)want[i].manifest_id);
		c->manifest_id = want[i].manifest_id;
		c->expire_ms = want[i].expire_ms;
	}
}

/*
 * Write a version of the newest manifest holding `want` as this reader's
 * checkpoints (none: remove them). 0 and *written its id, or an error.
 */
static int
ckpt_write(struct engine *e, const struct ckpt *want, size_t n,
    uint64_t *written)
{
	struct manifest base, m;
	int64_t now;
	int rc = -EEXIST, tries;

	manifest_init(&base);
	manifest_init(&m);
	pthread_mutex_lock(&e->lock);
	manifest_copy(&base, &e->ver->m);
	pthread_mutex_unlock(&e->lock);
	for (tries = 0; tries < CKPT_RETRIES && rc == -EEXIST; tries++) {
		if ((rc = ckpt_newest(e, &base)) != 0)
			break;
		now = clock_wall_ns() / 1000000;
		manifest_successor(&m, &base, now);
		ckpt_replace(e, &m, want, n);
		rc = manifest_put(e, &m);
	}
	if (rc == 0) {
		*written = m.id;
		metric_add(e->m.checkpoint_writes, 1);
	} else if (rc == -EEXIST)
		rc = err_set(-EEXIST, "'%s': the next manifest was taken %d "
		    "times in a row", e->uri, tries);
	manifest_release(&base);
	manifest_release(&m);
	return rc;
}

void
ckpt_update(struct engine *e)
{
	struct ckpt *want = NULL;
	const struct ckpt *h;
	struct version *v, *cur;
	int64_t now = clock_wall_ns() / 1000000, age;
	int64_t min_age = ckpt_min_age(&e->set), life = ckpt_lifetime(&e->set);
	uint64_t late = 0, id;
	size_t nwant = 0, cap = 0, i;
	int due, rc;

	if (min_age == 0 && e->ckpt.nckpts == 0)
		return;		/* the collector protects nobody: nothing to do */
	pthread_mutex_lock(&e->tables_lock);
	for (v = e->tables.retired; v != NULL; v = v->rnext) {
		age = now - v->superseded_ms;
		if (ckpt_find(e->ckpt.ckpts, e->ckpt.nckpts, v->m.id) == NULL) {
			if (age < min_age / 2)
				continue;
			if (age >= min_age) {
				if (!v->late) {
					v->late = 1;
					late = v->m.id;
				}
				continue;
			}
		}
		want = xgrow(want, &cap, nwant + 1, sizeof(*want));
		want[nwant].manifest_id = v->m.id;
		want[nwant++].expire_ms = 0;
	}
	pthread_mutex_unlock(&e->tables_lock);
	if (late != 0)
		log_warn("'%s': manifest %llu, which this reader still reads, "
		    "was superseded longer than the collector's min_age ago; "
		    "too late to pin it", e->uri, (unsigned long long)late);

	/* a write is due when the set changes or one needs refreshing */
	due = nwant != e->ckpt.nckpts;
	for (i = 0; i < nwant; i++) {
		if ((h = ckpt_find(e->ckpt.ckpts, e->ckpt.nckpts,
		    want[i].manifest_id)) == NULL || h->expire_ms - now < life / 2)
			due = 1;
	}
	/* or the newest version this reader knows lost them */
	if (!due && e->ckpt.nckpts > 0) {
		pthread_mutex_lock(&e->lock);
		cur = e->ver;
		version_ref(cur);
		pthread_mutex_unlock(&e->lock);
		due = cur->m.id >= e->ckpt.ckpt_version && !ckpt_intact(e, &cur->m);
		version_unref(cur);
	}
	if (!due || now < e->ckpt.ckpt_retry_ms)
		goto out;
	for (i = 0; i < nwant; i++)
		want[i].expire_ms = now + life;
	if ((rc = ckpt_write(e, want, nwant, &id)) != 0) {
		if (!e->ckpt.ckpt_failing)
			log_warn("'%s': cannot write this reader's checkpoints "
			    "(%zu versions to pin): %s; until it can, only the "
			    "collector's min_age protects what it reads",
			    e->uri, nwant, err_message(rc));
		e->ckpt.ckpt_failing = 1;
		e->ckpt.ckpt_retry_ms = now + CKPT_BACKOFF_MS;
		goto out;
	}
	if (e->ckpt.ckpt_failing)
		log_info("'%s': checkpoints written again", e->uri);
	e->ckpt.ckpt_failing = 0;
	e->ckpt.ckpt_retry_ms = 0;
	e->ckpt.ckpts = xgrow(e->ckpt.ckpts, &e->ckpt.capckpts, nwant + 1,
	    sizeof(*e->ckpt.ckpts));
	if (nwant > 0)
		memcpy(e->ckpt.ckpts, want, nwant * sizeof(*want));
	e->ckpt.nckpts = nwant;
	e->ckpt.ckpt_version = id;
	metric_set(e->m.checkpoints, (double)nwant);
	log_debug("'%s': manifest %llu holds this reader's %zu checkpoints",
	    e->uri, (unsigned long long)id, nwant);
out:
	free(want);
}

static void
ckpt_forget(struct engine *e)
{
	if (e->ckpt.nckpts > 0)
		metric_set(e->m.checkpoints, 0);
	free(e->ckpt.ckpts);
	e->ckpt.ckpts = NULL;
	e->ckpt.nckpts = e->ckpt.capckpts = 0;
}

/*
 * ckpt_close's removal, on a thread of its own so that the close need
 * not wait for a store that does not answer. If the close stopped
 * waiting (ckpt_orphan), the engine is this thread's to free.
 */
static void *
ckpt_remove_main(void *arg)
{
	struct engine *e = arg;
	uint64_t id;
	int rc, orphan;

	if ((rc = ckpt_write(e, NULL, 0, &id)) != 0)
		log_warn("'%s': cannot remove this reader's checkpoints: %s; "
		    "they expire within %lld s", e->uri, err_message(rc),
		    (long long)ckpt_lifetime(&e->set) / 1000);
	pthread_mutex_lock(&e->lock);
	e->ckpt.ckpt_removed = 1;
	orphan = e->ckpt.ckpt_orphan;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	if (orphan) {
		ckpt_forget(e);
		engine_free(e);
	}
	return NULL;
}

/*
 * Remove this reader's checkpoints, waiting until close_due at most (set
 * by engine_close_within; 0: as long as it takes). Not tried while the
 * store fails (the last call failed, or the last checkpoint write did):
 * they expire within checkpoint_lifetime all the same.
 */
int
ckpt_close(struct engine *e)
{
	struct objstore_health oh;
	pthread_t t;
	int64_t due;
	int orphan = 0;

	objstore_health(e->os, &oh);
	if (e->ckpt.nckpts > 0 &&
	    (oh.failing_since_ns != 0 || e->ckpt.ckpt_failing)) {
		log_warn("'%s': the object store is failing: this reader's "
		    "checkpoints are left to expire within %lld s", e->uri,
		    (long long)ckpt_lifetime(&e->set) / 1000);
	} else if (e->ckpt.nckpts > 0) {
		if (pthread_create(&e->ckpt.t_ckpt_remove, NULL, ckpt_remove_main,
		    e) != 0)
			BUG("cannot start a thread");
		pthread_mutex_lock(&e->lock);
		due = e->close_due;
		while (!e->ckpt.ckpt_removed && (due == 0 || clock_mono_ns() < due))
			clock_cond_wait(&e->cond, &e->lock, due);
		t = e->ckpt.t_ckpt_remove;
		if ((orphan = e->ckpt.ckpt_orphan = !e->ckpt.ckpt_removed))
			log_warn("'%s': this reader's checkpoints were not removed "
			    "in time; they expire within %lld s", e->uri,
			    (long long)ckpt_lifetime(&e->set) / 1000);
		pthread_mutex_unlock(&e->lock);
		/* from here on the removal may free e at any moment */
		if (orphan) {
			pthread_detach(t);
			return 1;
		}
		pthread_join(t, NULL);
	}
	ckpt_forget(e);
	return 0;
}
