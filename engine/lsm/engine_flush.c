/*
 * engine_flush.c - L0 flushes, and manifest commits.
 *
 * L0_WRITERS l0_main threads write the frozen memtables as L0 tables cut
 * by kind (build_tables), several at once, and commit them in the order
 * the memtables were frozen, moving the WAL replay point past their
 * records (l0_edit); while L0 is full they wait for the compactor.
 * table_store stores a finished table as pending (engine_version.c), for
 * the compactor too. commit_edit makes every manifest commit of an open
 * writer, the compactor's included: one at a time, built again on what
 * the store holds when its id is taken (rebase).
 *
 * Owns, in struct engine: commit_lock, and a frozen memtable's `taken`.
 * Shares frozen, nfrozen, unflushed and ver with the other stages, and
 * installs ver. It does not freeze memtables (engine_write.c).
 *
 * Locking: commit_lock, then e->lock, then tables_lock. commit_lock is
 * held across the store calls of a commit; e->lock never is.
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

/* ---- L0 tables ---- */

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
	struct sst_options so;
	struct iter *it = memtable_iter_new(mem);
	struct sst_builder *sb = NULL;
	const struct kv_entry *x;
	unsigned char cut[CUT_PREFIX];
	size_t cutlen = 0;
	int rc = 0;

	engine_sst_options(e, &so);
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

/* ---- manifest commits ---- */

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

/* ---- L0 flushes ---- */

/* L0 is full: a table waits for the compactor (l0_main). (L) */
static int
l0_full_locked(const struct engine *e)
{
	const struct version *v = e->ver;

	return v->l0_depth >= (size_t)e->set.l0_max_ssts ||
	    v->m.nl0 >= (size_t)e->set.l0_max_ssts * L0_MAX_PIECES;
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
void *
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
		if (rc == 0 && e->compact.ncompactors > 0 && l0_full_locked(e)) {
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
			note_store_locked(e, &e->write.l0_failing_since, 1);
			pause_locked(e, &backoff, "write an L0 table", rc);
			continue;
		}
		backoff = 100;
		note_store_locked(e, &e->write.l0_failing_since, 0);
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
