/*
 * engine_version.c - tables and versions, and their references.
 *
 * A version is one manifest with its tables open (version_new), L0 also
 * as chains for iterators (version_chains). A new version takes over the
 * tables an older one has open and opens the rest; a table is closed when
 * the last version listing it goes (table_unref). A reader's version that
 * stops being current while still held is listed in e->tables.retired
 * (version_retire) for checkpoint.c. A table stored but not yet committed
 * is pending (pending_add to pending_remove), so that the collector,
 * which asks table_held, leaves it alone.
 *
 * Owns e->tables (open_tables, retired, pending) and tables_lock. It
 * does not install versions as e->ver: claim (engine_recover.c),
 * commit_edit (engine_flush.c) and follow_manifest (engine_follow.c) do.
 *
 * Locking: tables_lock protects open_tables, retired, pending and the
 * retired links of a version, and is held only around their list
 * operations, never across a store call. It comes last in the lock
 * order (commit_lock, e->lock, tables_lock): the last reference to a
 * table may go with e->lock held. References are atomic: a version or a
 * table is read without any lock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "util/xmalloc.h"

/* An open table, listed in e->tables.open_tables until its last reference goes. */
static struct table *
table_new(struct engine *e, struct sst *t)
{
	struct table *tb = xcalloc(1, sizeof(*tb));

	atomic_init(&tb->refs, 1);
	tb->sst = t;
	tb->e = e;
	pthread_mutex_lock(&e->tables_lock);
	tb->next = e->tables.open_tables;
	if (tb->next != NULL)
		tb->next->prev = tb;
	e->tables.open_tables = tb;
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
		e->tables.open_tables = tb->next;
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
	for (size_t i = 0; i < e->tables.npending; i++)
		if (strcmp(e->tables.pending[i].key, key) == 0)
			return &e->tables.pending[i];
	return NULL;
}

/*
 * Whether this process still needs the table at key: a version holds it
 * open (a snapshot, an iterator, a compaction reading it), or it is
 * stored and not yet committed. The garbage collector asks (gc_pin.held)
 * at the moment it would delete it, so nothing slips in between.
 */
int
table_held(void *arg, const char *key)
{
	struct engine *e = arg;
	struct table *tb;
	int held = 0;

	pthread_mutex_lock(&e->tables_lock);
	for (tb = e->tables.open_tables; tb != NULL && !held; tb = tb->next)
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
	e->tables.pending = xgrow(e->tables.pending, &e->tables.cappending,
	    e->tables.npending + 1, sizeof(*e->tables.pending));
	p = &e->tables.pending[e->tables.npending++];
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
		*p = e->tables.pending[--e->tables.npending];
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
				v->e->tables.retired = v->rnext;
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
 * it, it is listed in e->tables.retired for checkpoint.c. Drops the reference
 * e->ver held.
 */
void
version_retire(struct engine *e, struct version *v, int64_t superseded_ms)
{
	pthread_mutex_lock(&e->tables_lock);
	v->retired = 1;
	v->superseded_ms = superseded_ms;
	v->rprev = NULL;
	v->rnext = e->tables.retired;
	if (v->rnext != NULL)
		v->rnext->rprev = v;
	e->tables.retired = v;
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
int
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
