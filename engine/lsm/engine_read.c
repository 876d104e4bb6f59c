/*
 * engine_read.c - the engine's read side: snapshots, gets, and iterators.
 *
 * A read takes, under the engine lock, references to what it will look
 * at: the active memtable, the frozen ones and the current version's
 * tables (a "view"), and the sequence number it reads as of. Then it reads
 * without the lock, newest source first.
 *
 * Iterators stack three layers:
 *
 *   engine_iter   keys in [lo, hi) as of a sequence number: the newest
 *                 version <= seq of each key, deletes and expired records
 *                 hidden; keeps a copy of the current key and value
 *   merge         the union of its children in kv order, both directions
 *   children      memtable and table iterators
 *
 * An iterator given needles (engine_iter_set_needles) hands them to every
 * table iterator under it, which passes over the blocks the content
 * filters rule out (sst_iter.c); the memtables are read whole.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "engine/lsm/engine_int.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* What a read looks at; all referenced. */
struct view {
	struct memtable	**mems;		/* newest first: active, then frozen newest first */
	size_t		 nmems;
	struct version	*ver;
	uint64_t	 seq;
};

static void
view_take(struct engine *e, struct view *v, const struct engine_snapshot *snap);
static void
view_release(struct view *v);

struct engine_snapshot {
	struct engine	*e;
	struct view	 v;
};

static void
view_take(struct engine *e, struct view *v, const struct engine_snapshot *snap)
{
	size_t i;

	if (snap != NULL) {
		/* share the snapshot's sources */
		v->nmems = snap->v.nmems;
		v->mems = xcalloc(v->nmems ? v->nmems : 1, sizeof(*v->mems));
		for (i = 0; i < v->nmems; i++) {
			v->mems[i] = snap->v.mems[i];
			memtable_ref(v->mems[i]);
		}
		v->ver = snap->v.ver;
		version_ref(v->ver);
		v->seq = snap->v.seq;
		return;
	}
	pthread_mutex_lock(&e->lock);
	v->nmems = 1 + e->nfrozen;
	v->mems = xcalloc(v->nmems, sizeof(*v->mems));
	v->mems[0] = e->mem;
	memtable_ref(e->mem);
	for (i = 0; i < e->nfrozen; i++) {
		v->mems[1 + i] = e->frozen[e->nfrozen - 1 - i].mem;
		memtable_ref(v->mems[1 + i]);
	}
	v->ver = e->ver;
	version_ref(v->ver);
	v->seq = e->last_seq;
	pthread_mutex_unlock(&e->lock);
}

static void
view_release(struct view *v)
{
	for (size_t i = 0; i < v->nmems; i++)
		memtable_unref(v->mems[i]);
	free(v->mems);
	version_unref(v->ver);
	memset(v, 0, sizeof(*v));
}

struct engine_snapshot *
engine_snapshot_new(struct engine *e)
{
	struct engine_snapshot *s = xcalloc(1, sizeof(*s));

	s->e = e;
	view_take(e, &s->v, NULL);
	return s;
}

void
engine_snapshot_free(struct engine_snapshot *s)
{
	if (s == NULL)
		return;
	view_release(&s->v);
	free(s);
}

uint64_t
engine_snapshot_seq(const struct engine_snapshot *s)
{
	return s->v.seq;
}

/* The first table of run r whose last key is >= key (r->ntables if none). */
static size_t
run_lower(const struct manifest_run *r, const void *key, size_t klen)
{
	size_t lo = 0, hi = r->ntables, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kv_key_cmp(r->tables[mid].last_key, r->tables[mid].last_klen,
		    key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The last table of run r whose first key is <= key, or -1. */
static ssize_t
run_upper(const struct manifest_run *r, const void *key, size_t klen)
{
	size_t lo = 0, hi = r->ntables, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kv_key_cmp(r->tables[mid].first_key,
		    r->tables[mid].first_klen, key, klen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

static int
expired(const struct kv_entry *x, int64_t now_ms)
{
	return x->expire != 0 && x->expire <= now_ms;
}

int
engine_get(struct engine *e, const struct engine_snapshot *snap,
    const void *key, size_t klen, struct buf *val)
{
	struct kv_entry x;
	struct view v;
	struct buf scratch;
	int rc = -ENOENT;
	size_t i;

	view_take(e, &v, snap);
	buf_init(&scratch, 0);
	for (i = 0; i < v.nmems && rc == -ENOENT; i++)
		rc = memtable_get(v.mems[i], key, klen, v.seq, &x);
	for (i = 0; i < v.ver->m.nl0 && rc == -ENOENT; i++)
		rc = sst_get(v.ver->l0[i]->sst, key, klen, v.seq, &x, &scratch);
	for (i = 0; i < v.ver->m.nruns && rc == -ENOENT; i++) {
		const struct manifest_run *r = &v.ver->m.runs[i];
		size_t j = run_lower(r, key, klen);

		if (j < r->ntables && kv_key_cmp(r->tables[j].first_key,
		    r->tables[j].first_klen, key, klen) <= 0)
			rc = sst_get(v.ver->runs[i][j]->sst, key, klen, v.seq,
			    &x, &scratch);
	}
	if (rc == 0) {
		if (x.kind != KV_PUT || expired(&x, clock_wall_ns() / 1000000))
			rc = -ENOENT;
		else if (buf_append(val, x.val, x.vlen) != 0)
			rc = err_set(-EFBIG, "value of %zu bytes does not fit", x.vlen);
	}
	buf_release(&scratch);
	view_release(&v);
	return rc;
}

/* ---- the merging iterator ---- */

struct merge {
	struct iter	  it;
	struct iter	**c;		/* children */
	size_t		  n;
	struct iter	 *cur;
	int		  fwd;		/* direction of the last move */
	int		  err;
};

static void
merge_pick(struct merge *m)
{
	struct iter *best = NULL;

	for (size_t i = 0; i < m->n; i++) {
		if (iter_status(m->c[i]) != 0 && m->err == 0)
			m->err = iter_status(m->c[i]);
		if (!iter_valid(m->c[i]))
			continue;
		if (best == NULL) {
			best = m->c[i];
			continue;
		}
		int c = kv_entry_cmp(iter_entry(m->c[i]), iter_entry(best));

		if (m->fwd ? c < 0 : c > 0)
			best = m->c[i];
	}
	m->cur = m->err ? NULL : best;
}

static void
merge_seek(struct iter *it, const void *k, size_t n)
{
	struct merge *m = (struct merge *)it;

	for (size_t i = 0; i < m->n; i++)
		iter_seek(m->c[i], k, n);
	m->fwd = 1;
	merge_pick(m);
}

static void
merge_seek_for_prev(struct iter *it, const void *k, size_t n)
{
	struct merge *m = (struct merge *)it;

	for (size_t i = 0; i < m->n; i++)
		iter_seek_for_prev(m->c[i], k, n);
	m->fwd = 0;
	merge_pick(m);
}

static void
merge_seek_first(struct iter *it)
{
	struct merge *m = (struct merge *)it;

	for (size_t i = 0; i < m->n; i++)
		iter_seek_first(m->c[i]);
	m->fwd = 1;
	merge_pick(m);
}

static void
merge_seek_last(struct iter *it)
{
	struct merge *m = (struct merge *)it;

	for (size_t i = 0; i < m->n; i++)
		iter_seek_last(m->c[i]);
	m->fwd = 0;
	merge_pick(m);
}

static void
merge_next(struct iter *it)
{
	struct merge *m = (struct merge *)it;
	struct kv_entry cur;

	if (m->cur == NULL)
		return;
	if (!m->fwd) {
		/* put every other child just after the current record */
		cur = *iter_entry(m->cur);
		for (size_t i = 0; i < m->n; i++) {
			if (m->c[i] == m->cur)
				continue;
			iter_seek(m->c[i], cur.key, cur.klen);
			while (iter_valid(m->c[i]) &&
			    kv_entry_cmp(iter_entry(m->c[i]), &cur) <= 0)
				iter_next(m->c[i]);
		}
		m->fwd = 1;
	}
	iter_next(m->cur);
	merge_pick(m);
}

static void
merge_prev(struct iter *it)
{
	struct merge *m = (struct merge *)it;
	struct kv_entry cur;

	if (m->cur == NULL)
		return;
	if (m->fwd) {
		/* put every other child just before the current record */
		cur = *iter_entry(m->cur);
		for (size_t i = 0; i < m->n; i++) {
			if (m->c[i] == m->cur)
				continue;
			iter_seek_for_prev(m->c[i], cur.key, cur.klen);
			while (iter_valid(m->c[i]) &&
			    kv_entry_cmp(iter_entry(m->c[i]), &cur) >= 0)
				iter_prev(m->c[i]);
		}
		m->fwd = 0;
	}
	iter_prev(m->cur);
	merge_pick(m);
}

static int
merge_valid(struct iter *it)
{
	return ((struct merge *)it)->cur != NULL;
}

static const struct kv_entry *
merge_entry(struct iter *it)
{
	return iter_entry(((struct merge *)it)->cur);
}

static int
merge_status(struct iter *it)
{
	return ((struct merge *)it)->err;
}

static void
merge_free(struct iter *it)
{
	struct merge *m = (struct merge *)it;

	for (size_t i = 0; i < m->n; i++)
		iter_free(m->c[i]);
	free(m->c);
	free(m);
}

static const struct iter_ops merge_ops = {
	merge_seek, merge_seek_for_prev, merge_seek_first, merge_seek_last,
	merge_next, merge_prev, merge_valid, merge_entry, merge_status, merge_free
};

/* A merge of the children c[0..n) (taken over, freed with it). */
struct iter *
merge_iter_new(struct iter **c, size_t n)
{
	struct merge *m = xcalloc(1, sizeof(*m));

	m->it.ops = &merge_ops;
	m->n = n;
	m->c = c;
	return &m->it;
}

static struct iter *run_iter_needles(struct iter *it,
    const struct sst_needles *nd);

static struct iter *
merge_new(const struct view *v, const struct sst_needles *nd)
{
	const struct manifest *mf = &v->ver->m;
	const struct version *ver = v->ver;
	size_t i, k = 0, n = v->nmems + ver->l0_depth + mf->nruns;
	struct iter **c = xcalloc(n ? n : 1, sizeof(*c));

	for (i = 0; i < v->nmems; i++)
		c[k++] = memtable_iter_new(v->mems[i]);
	/* L0 by chains of tables that do not overlap, one open at a time */
	for (i = 0; i < ver->l0_depth; i++)
		c[k++] = ver->chains[i].ntables == 1 ?
		    sst_iter_new_needles(ver->chain_t[i][0]->sst, 1, nd) :
		    run_iter_needles(run_iter_new(ver->chain_t[i],
		    &ver->chains[i], 1), nd);
	for (i = 0; i < mf->nruns; i++)
		c[k++] = run_iter_needles(run_iter_new(v->ver->runs[i],
		    &mf->runs[i], 1), nd);
	return merge_iter_new(c, n);
}

/* ---- a sorted run: its tables end to end ---- */

struct run_iter {
	struct iter	 it;
	struct table	**t;
	const struct manifest_run *r;
	ssize_t		 cur;		/* table of sub, or -1 */
	int		 fill;		/* sst_iter_new_fill */
	const struct sst_needles *nd;	/* sst_iter_new_needles */
	struct iter	*sub;
	int		 err;
};

/* Make table i current (its iterator unpositioned): 0, or 1 if out of range. */
static int
run_open(struct run_iter *ri, ssize_t i)
{
	if (i < 0 || (size_t)i >= ri->r->ntables) {
		if (ri->sub != NULL)
			iter_free(ri->sub);
		ri->sub = NULL;
		ri->cur = -1;
		return 1;
	}
	if (i != ri->cur || ri->sub == NULL) {
		if (ri->sub != NULL)
			iter_free(ri->sub);
		ri->sub = sst_iter_new_needles(ri->t[i]->sst, ri->fill,
		    ri->nd);
		ri->cur = i;
	}
	return 0;
}

/* After a move: step to the next table while this one is used up. */
static void
run_settle(struct run_iter *ri, int fwd)
{
	while (ri->sub != NULL && !iter_valid(ri->sub)) {
		if ((ri->err = iter_status(ri->sub)) != 0) {
			run_open(ri, -1);
			return;
		}
		if (run_open(ri, ri->cur + (fwd ? 1 : -1)) != 0)
			return;
		if (fwd)
			iter_seek_first(ri->sub);
		else
			iter_seek_last(ri->sub);
	}
}

static void
run_seek(struct iter *it, const void *k, size_t n)
{
	struct run_iter *ri = (struct run_iter *)it;

	ri->err = 0;
	if (run_open(ri, (ssize_t)run_lower(ri->r, k, n)) == 0) {
		iter_seek(ri->sub, k, n);
		run_settle(ri, 1);
	}
}

static void
run_seek_for_prev(struct iter *it, const void *k, size_t n)
{
	struct run_iter *ri = (struct run_iter *)it;

	ri->err = 0;
	if (run_open(ri, run_upper(ri->r, k, n)) == 0) {
		iter_seek_for_prev(ri->sub, k, n);
		run_settle(ri, 0);
	}
}

static void
run_seek_first(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	ri->err = 0;
	if (run_open(ri, 0) == 0) {
		iter_seek_first(ri->sub);
		run_settle(ri, 1);
	}
}

static void
run_seek_last(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	ri->err = 0;
	if (run_open(ri, (ssize_t)ri->r->ntables - 1) == 0) {
		iter_seek_last(ri->sub);
		run_settle(ri, 0);
	}
}

static void
run_next(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	if (ri->sub != NULL && iter_valid(ri->sub)) {
		iter_next(ri->sub);
		run_settle(ri, 1);
	}
}

static void
run_prev(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	if (ri->sub != NULL && iter_valid(ri->sub)) {
		iter_prev(ri->sub);
		run_settle(ri, 0);
	}
}

static int
run_valid(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	return ri->sub != NULL && iter_valid(ri->sub);
}

static const struct kv_entry *
run_entry(struct iter *it)
{
	return iter_entry(((struct run_iter *)it)->sub);
}

static int
run_status(struct iter *it)
{
	return ((struct run_iter *)it)->err;
}

static void
run_free(struct iter *it)
{
	struct run_iter *ri = (struct run_iter *)it;

	if (ri->sub != NULL)
		iter_free(ri->sub);
	free(ri);
}

static const struct iter_ops run_ops = {
	run_seek, run_seek_for_prev, run_seek_first, run_seek_last,
	run_next, run_prev, run_valid, run_entry, run_status, run_free
};

struct iter *
run_iter_new(struct table **t, const struct manifest_run *r, int fill)
{
	struct run_iter *ri = xcalloc(1, sizeof(*ri));

	ri->it.ops = &run_ops;
	ri->t = t;
	ri->r = r;
	ri->fill = fill;
	ri->cur = -1;
	return &ri->it;
}

/* Give a run iterator's tables needles. */
static struct iter *
run_iter_needles(struct iter *it, const struct sst_needles *nd)
{
	((struct run_iter *)it)->nd = nd;
	return it;
}

/* ---- the user's iterator ---- */

struct engine_iter {
	struct engine	*e;
	struct sst_needles nd;		/* the table iterators' */
	struct view	 v;
	struct iter	*m;
	struct buf	 lo, hi;
	int		 has_lo, has_hi;
	int64_t		 now;
	int		 valid;
	int		 fwd;
	struct buf	 key, val;	/* the current key, copied; a value found backwards */
	const void	*vp;		/* the current value: in the merge's entry
					 * (valid until it moves) or in val */
	size_t		 vn;
	int		 err;
};

struct engine_iter *
engine_iter_new(struct engine *e, const struct engine_snapshot *snap,
    const void *lo, size_t lolen, const void *hi, size_t hilen)
{
	struct engine_iter *it = xcalloc(1, sizeof(*it));

	it->e = e;
	sst_needles_init(&it->nd);
	view_take(e, &it->v, snap);
	it->m = merge_new(&it->v, &it->nd);
	buf_init(&it->lo, 0);
	buf_init(&it->hi, 0);
	buf_init(&it->key, 0);
	buf_init(&it->val, 0);
	if ((it->has_lo = lo != NULL))
		buf_append(&it->lo, lo, lolen);
	if ((it->has_hi = hi != NULL))
		buf_append(&it->hi, hi, hilen);
	it->now = clock_wall_ns() / 1000000;
	return it;
}

void
engine_iter_free(struct engine_iter *it)
{
	if (it == NULL)
		return;
	iter_free(it->m);
	if (atomic_load(&it->nd.skipped) > 0)
		metric_add(it->e->m.blocks_skipped,
		    (double)atomic_load(&it->nd.skipped));
	sst_needles_release(&it->nd);
	view_release(&it->v);
	buf_release(&it->lo);
	buf_release(&it->hi);
	buf_release(&it->key);
	buf_release(&it->val);
	free(it);
}

void
engine_iter_set_needles(struct engine_iter *it, const char *const *needles,
    const size_t *lens, size_t n)
{
	sst_needles_add(&it->nd, needles, lens, n);
	if (it->has_hi) {
		it->nd.hi = it->hi.data;
		it->nd.hilen = it->hi.len;
	}
}

uint64_t
engine_iter_blocks_skipped(const struct engine_iter *it)
{
	return atomic_load(&((struct engine_iter *)it)->nd.skipped);
}

static int
below_lo(const struct engine_iter *it, const struct kv_entry *x)
{
	return it->has_lo && kv_key_cmp(x->key, x->klen, it->lo.data, it->lo.len) < 0;
}

static int
at_or_above_hi(const struct engine_iter *it, const struct kv_entry *x)
{
	return it->has_hi && kv_key_cmp(x->key, x->klen, it->hi.data, it->hi.len) >= 0;
}

/*
 * The merge stays on x until the caller moves on, so its value is used
 * where it is (a log record is tens of kilobytes: no copy); the key is
 * copied, the next step compares with it after the merge moved.
 */
static void
set_current(struct engine_iter *it, const struct kv_entry *x)
{
	buf_reset(&it->key);
	buf_append(&it->key, x->key, x->klen);
	it->vp = x->val;
	it->vn = x->vlen;
	it->valid = 1;
}

static void
check_status(struct engine_iter *it)
{
	if (iter_status(it->m) != 0) {
		it->err = iter_status(it->m);
		it->valid = 0;
	}
}

/*
 * Forward from the merge's position: the first key whose newest visible
 * version is a live put.
 */
static void
find_next(struct engine_iter *it)
{
	const struct kv_entry *x;
	struct buf skip;
	int skipping = 0;

	buf_init(&skip, 0);
	it->valid = 0;
	it->fwd = 1;
	for (; iter_valid(it->m); iter_next(it->m)) {
		x = iter_entry(it->m);
		if (at_or_above_hi(it, x))
			break;
		if (x->seq > it->v.seq)
			continue;
		if (skipping && kv_key_cmp(x->key, x->klen, skip.data, skip.len) == 0)
			continue;	/* an older version of a key decided already */
		if (x->kind == KV_PUT && !expired(x, it->now) && !below_lo(it, x)) {
			set_current(it, x);
			break;
		}
		buf_reset(&skip);
		buf_append(&skip, x->key, x->klen);
		skipping = 1;
	}
	buf_release(&skip);
	check_status(it);
}

/*
 * Backward from the merge's position: the last key whose newest visible
 * version is a live put. Going backwards, a key's versions come oldest
 * first, so the decision for a key is made when the key changes.
 */
static void
find_prev(struct engine_iter *it)
{
	const struct kv_entry *x;
	struct buf k, val;
	int have = 0, live = 0;

	buf_init(&k, 0);
	buf_init(&val, 0);
	it->valid = 0;
	it->fwd = 0;
	for (; iter_valid(it->m); iter_prev(it->m)) {
		x = iter_entry(it->m);
		if (below_lo(it, x))
			break;
		if (at_or_above_hi(it, x) || x->seq > it->v.seq)
			continue;
		if (have && kv_key_cmp(x->key, x->klen, k.data, k.len) != 0) {
			if (live)
				break;		/* the key after x is the answer */
			have = 0;
		}
		/* a newer visible version of the same key (or a first one) */
		buf_reset(&k);
		buf_append(&k, x->key, x->klen);
		live = x->kind == KV_PUT && !expired(x, it->now);
		buf_reset(&val);
		if (live)
			buf_append(&val, x->val, x->vlen);
		have = 1;
	}
	if (have && live) {
		/* the merge has moved past the answer: keep copies */
		buf_reset(&it->key);
		buf_reset(&it->val);
		buf_append(&it->key, k.data, k.len);
		buf_append(&it->val, val.data, val.len);
		it->vp = it->val.data;
		it->vn = it->val.len;
		it->valid = 1;
	}
	buf_release(&k);
	buf_release(&val);
	check_status(it);
}

void
engine_iter_seek(struct engine_iter *it, const void *key, size_t klen)
{
	if (it->has_lo && kv_key_cmp(key, klen, it->lo.data, it->lo.len) < 0) {
		key = it->lo.data;
		klen = it->lo.len;
	}
	iter_seek(it->m, key, klen);
	find_next(it);
}

void
engine_iter_seek_for_prev(struct engine_iter *it, const void *key, size_t klen)
{
	iter_seek_for_prev(it->m, key, klen);
	find_prev(it);
}

void
engine_iter_seek_first(struct engine_iter *it)
{
	if (it->has_lo)
		iter_seek(it->m, it->lo.data, it->lo.len);
	else
		iter_seek_first(it->m);
	find_next(it);
}

void
engine_iter_seek_last(struct engine_iter *it)
{
	if (it->has_hi)
		iter_seek_for_prev(it->m, it->hi.data, it->hi.len);
	else
		iter_seek_last(it->m);
	find_prev(it);
}

void
engine_iter_next(struct engine_iter *it)
{
	if (!it->valid)
		return;
	if (!it->fwd) {
		/* the merge is before the current key: come back to it */
		iter_seek(it->m, it->key.data, it->key.len);
	}
	/* step over every version of the current key */
	while (iter_valid(it->m) && kv_key_cmp(iter_entry(it->m)->key,
	    iter_entry(it->m)->klen, it->key.data, it->key.len) <= 0)
		iter_next(it->m);
	find_next(it);
}

void
engine_iter_prev(struct engine_iter *it)
{
	if (!it->valid)
		return;
	if (it->fwd) {
		/* the merge is on the current key: go to its oldest version */
		iter_seek_for_prev(it->m, it->key.data, it->key.len);
	}
	while (iter_valid(it->m) && kv_key_cmp(iter_entry(it->m)->key,
	    iter_entry(it->m)->klen, it->key.data, it->key.len) >= 0)
		iter_prev(it->m);
	find_prev(it);
}

int
engine_iter_valid(const struct engine_iter *it)
{
	return it->valid;
}

const void *
engine_iter_key(const struct engine_iter *it, size_t *klen)
{
	*klen = it->key.len;
	return buf_str(&it->key);
}

const void *
engine_iter_value(const struct engine_iter *it, size_t *vlen)
{
	*vlen = it->vn;
	return it->vp != NULL ? it->vp : "";
}

int
engine_iter_status(const struct engine_iter *it)
{
	return it->err;
}
