/*
 * compact.c - the compactor: merges tables so that reads touch few of
 * them, and drops what is deleted, expired or filtered out.
 *
 * The shape of a store (manifest.h): L0 tables, newest first, a flush of
 * one memtable cut by kind (CUT_PREFIX) into tables of disjoint key
 * ranges, the tables of different flushes overlapping; then sorted runs,
 * newest first, each a set of tables with disjoint key ranges. A read
 * looks at every L0 table and at one table per run.
 *
 * The policy is size-tiered, in the manner of SlateDB:
 *
 *   - when L0 is COMPACT_MIN_SOURCES deep (or l0_max_ssts, if less;
 *     manifest_l0_chains), or holds L0_MAX_PIECES times as many tables,
 *     all of L0 is merged into a new sorted run, the newest;
 *   - otherwise, among adjacent runs not already being compacted, the
 *     first window (newest first) of COMPACT_MIN_SOURCES to
 *     COMPACT_MAX_SOURCES runs of alike size (each less than
 *     COMPACT_SIZE_RATIO times the biggest before it in the window) is
 *     merged into one run that takes their place.
 *
 * So runs form tiers whose sizes grow by about COMPACT_MIN_SOURCES times,
 * with fewer than COMPACT_MIN_SOURCES runs in each: the number of runs
 * grows with the logarithm of the data. A merge keeps the newest version
 * of each key only. A delete, an expired record, or one the filter drops
 * is dropped outright when nothing older than the sources remains (the
 * merge includes the oldest run: "bottom"), and becomes a delete otherwise,
 * so that an older version in an older run stays hidden. A source table
 * that no other source overlaps is not merged but taken into the run as
 * it is, when merging would write the same records again (job_sources).
 *
 * Whole tables whose every record has expired (max_expire in the past)
 * are dropped without being read, when no older table overlaps their key
 * range (so no older version can come back): at each poll, a sweep.
 *
 * Up to max_concurrent_compactions jobs run at once, on disjoint sources;
 * one job at most takes L0. Outputs are uploaded first and committed in
 * one new manifest version (commit_edit): a crash before the commit
 * leaves only unreferenced tables, which the garbage collector removes.
 * A job gives up when the engine closes or is fenced.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine_int.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define COMPACT_MIN_SOURCES	4
#define COMPACT_MAX_SOURCES	8
#define COMPACT_SIZE_RATIO	2
#define COMPACT_BACKOFF_MAX_MS	30000
#define COMPACT_CHECK_EVERY	1024	/* records between looks at stopping */
#define COMPACT_MOVE_MAX_TABLES	64	/* see job_sources */

/* Nothing to commit: the edit found no change to make. */
#define EDIT_NOTHING		(-EALREADY)

struct job {
	int		 full;		/* engine_compact: every table */
	int		 bottom;	/* no data older than the sources */
	struct version	*v;		/* the sources are in it (referenced) */
	size_t		 nl0;		/* the oldest nl0 tables of v's L0 */
	size_t		 run0, nruns;	/* v's runs [run0, run0 + nruns) */
	struct manifest_run out;	/* tables written, and moved */
	size_t		 nmoved;	/* of them moved (job_sources) */
	uint64_t	 bytes_in, bytes_out;
	int64_t		 t0;
};

/* ---- busy sources ---- */

static int
run_busy_locked(const struct engine *e, uint64_t id)
{
	for (size_t i = 0; i < e->compact.nbusy; i++)
		if (e->compact.busy_runs[i] == id)
			return 1;
	return 0;
}

static void
mark_locked(struct engine *e, const struct job *j, int busy)
{
	const struct manifest_run *r = j->v->m.runs;
	size_t i, k;

	if (j->nl0 > 0)
		e->compact.l0_busy = busy;
	for (i = j->run0; i < j->run0 + j->nruns; i++) {
		if (busy) {
			e->compact.busy_runs = xgrow(e->compact.busy_runs,
			    &e->compact.capbusy, e->compact.nbusy + 1,
			    sizeof(*e->compact.busy_runs));
			e->compact.busy_runs[e->compact.nbusy++] = r[i].id;
			continue;
		}
		for (k = 0; k < e->compact.nbusy; k++) {
			if (e->compact.busy_runs[k] == r[i].id) {
				e->compact.busy_runs[k] =
				    e->compact.busy_runs[--e->compact.nbusy];
				break;
			}
		}
	}
	e->compact.jobs += busy ? 1 : -1;
}

static uint64_t
run_bytes(const struct manifest_run *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->ntables; i++)
		n += r->tables[i].size;
	return n;
}

/* ---- picking ---- */

/* The next job, its sources marked busy; NULL if there is none. (L) */
static struct job *
pick_locked(struct engine *e)
{
	const struct manifest *m = &e->ver->m;
	size_t trigger = COMPACT_MIN_SOURCES, s, w;
	uint64_t biggest, sz;
	struct job *j;

	if ((size_t)e->set.l0_max_ssts < trigger)
		trigger = (size_t)e->set.l0_max_ssts;
	j = xcalloc(1, sizeof(*j));
	if (e->compact.full_asked) {
		if (e->compact.jobs > 0)
			goto none;	/* it waits for the others to end */
		e->compact.full_asked = 0;
		j->full = j->bottom = 1;
		j->nl0 = m->nl0;
		j->run0 = 0;
		j->nruns = m->nruns;
		goto found;
	}
	/*
	 * L0 by its depth: a flush's tables, cut by kind, count once; but
	 * not past so many tables that cannot overlap (a stream written in
	 * order), which are moved into a run, where a read opens one
	 */
	if (!e->compact.l0_busy && (e->ver->l0_depth >= trigger ||
	    m->nl0 >= trigger * L0_MAX_PIECES)) {
		j->nl0 = m->nl0;
		j->bottom = m->nruns == 0;
		goto found;
	}
	for (s = 0; s < m->nruns; s++) {
		if (run_busy_locked(e, m->runs[s].id))
			continue;
		biggest = run_bytes(&m->runs[s]);
		for (w = 1; s + w < m->nruns && w < COMPACT_MAX_SOURCES; w++) {
			if (run_busy_locked(e, m->runs[s + w].id))
				break;
			sz = run_bytes(&m->runs[s + w]);
			if (sz >= COMPACT_SIZE_RATIO * (biggest ? biggest : 1))
				break;
			if (sz > biggest)
				biggest = sz;
		}
		if (w >= COMPACT_MIN_SOURCES) {
			j->run0 = s;
			j->nruns = w;
			j->bottom = s + w == m->nruns;
			goto found;
		}
	}
none:
	free(j);
	return NULL;
found:
	j->v = e->ver;
	version_ref(j->v);
	j->t0 = clock_mono_ns();
	mark_locked(e, j, 1);
	return j;
}

static void
job_free(struct job *j)
{
	for (size_t i = 0; i < j->out.ntables; i++)
		manifest_table_release(&j->out.tables[i]);
	free(j->out.tables);
	version_unref(j->v);
	free(j);
}

/* ---- merging ---- */

/* Finish the table being built, store it and add it to the output. */
static int
job_emit(struct engine *e, struct job *j, struct sst_builder **sb)
{
	struct buf out;
	int rc;

	if (sst_builder_entries(*sb) == 0)
		return 0;
	buf_init(&out, 0);
	/* pending until job_do commits or gives up */
	if ((rc = table_store(e, sb, &out, &j->out)) == 0)
		j->bytes_out += out.len;
	buf_release(&out);
	return rc;
}

/* Whether the job should stop: the engine closes or lost the store. */
static int
job_cancelled(struct engine *e)
{
	int stop;

	pthread_mutex_lock(&e->lock);
	stop = e->stopping || e->fenced;
	pthread_mutex_unlock(&e->lock);
	return stop;
}

/*
 * Ask the filter, if there is one now, about a live record. The filter
 * lock is held only for the call, so that setting another filter waits
 * for calls in progress and nothing else.
 */
static int
filter_keeps(struct engine *e, const struct kv_entry *x)
{
	int keep = 1;

	pthread_rwlock_rdlock(&e->filter_lock);
	if (e->compact.filter_fn != NULL)
		keep = e->compact.filter_fn(e->compact.filter_arg, x->key,
		    x->klen, x->val, x->vlen);
	pthread_rwlock_unlock(&e->filter_lock);
	return keep;
}

/* Whether the filter keeps all of t (filter_range_fn). */
static int
filter_keeps_table(struct engine *e, const struct manifest_table *t)
{
	int keep = 1;

	pthread_rwlock_rdlock(&e->filter_lock);
	if (e->compact.filter_fn != NULL)
		keep = e->compact.filter_range_fn != NULL &&
		    e->compact.filter_range_fn(e->compact.filter_arg, t->first_key,
		    t->first_klen, t->last_key, t->last_klen);
	pthread_rwlock_unlock(&e->filter_lock);
	return keep;
}

/* A source table of a job: where it is, and whether it is moved. */
struct src {
	const struct manifest_table *mt;
	struct table	*t;
	size_t		 run;		/* index in v->m.runs, or SIZE_MAX: L0 */
	int		 move;
};

static int
src_cmp(const void *a, const void *b)
{
	const struct src *x = a, *y = b;

	return kv_key_cmp(x->mt->first_key, x->mt->first_klen, y->mt->first_key,
	    y->mt->first_klen);
}

static int
table_cmp(const void *a, const void *b)
{
	const struct manifest_table *x = a, *y = b;

	return kv_key_cmp(x->first_key, x->first_klen, y->first_key,
	    y->first_klen);
}

/*
 * The job's source tables, in key order, each marked whether it moves:
 * when no other source's key range overlaps its own, no record in it
 * expires and the filter keeps it whole, a merge would only write the
 * same records again; it goes into the output run as it is, neither read
 * nor written. The others are merged, and since no moved table overlaps
 * them, the merge's output tables fit between the moved ones (job_run
 * cuts them where a moved table lies). An append-only stream's records
 * and time index are so moved (the cut by kind, CUT_PREFIX, keeps them
 * apart from the keys every flush writes again) until a run would hold
 * more than COMPACT_MOVE_MAX_TABLES tables: then all is merged, which
 * makes tables of up to max_sst_size again and keeps the manifest, which
 * lists every table, from growing with each move. A full compaction
 * (engine_compact) moves nothing: it drops all that can go.
 */
static struct src *
job_sources(struct engine *e, const struct job *j, size_t *np)
{
	const struct manifest *m = &j->v->m;
	struct src *s;
	size_t i, k, n = j->nl0, first;
	int ranged = 1;

	for (i = j->run0; i < j->run0 + j->nruns; i++)
		n += m->runs[i].ntables;
	s = xcalloc(n ? n : 1, sizeof(*s));
	k = 0;
	for (i = m->nl0 - j->nl0; i < m->nl0; i++)
		s[k++] = (struct src){ &m->l0[i], j->v->l0[i], SIZE_MAX, 0 };
	for (i = j->run0; i < j->run0 + j->nruns; i++)
		for (size_t r = 0; r < m->runs[i].ntables; r++)
			s[k++] = (struct src){ &m->runs[i].tables[r],
			    j->v->runs[i][r], i, 0 };
	*np = n;
	for (i = 0; i < n; i++)
		if (s[i].mt->first_key == NULL || s[i].mt->last_key == NULL)
			ranged = 0;
	if (j->full || !ranged || n > COMPACT_MOVE_MAX_TABLES)
		return s;
	qsort(s, n, sizeof(*s), src_cmp);
	/* groups of overlapping ranges; a group of one may move */
	for (first = 0; first < n; first = i) {
		const struct manifest_table *hi = s[first].mt;

		for (i = first + 1; i < n && kv_key_cmp(s[i].mt->first_key,
		    s[i].mt->first_klen, hi->last_key, hi->last_klen) <= 0; i++)
			if (kv_key_cmp(s[i].mt->last_key, s[i].mt->last_klen,
			    hi->last_key, hi->last_klen) > 0)
				hi = s[i].mt;
		if (i == first + 1 && s[first].mt->min_expire == 0 &&
		    filter_keeps_table(e, s[first].mt))
			s[first].move = 1;
	}
	return s;
}

/*
 * Merge the job's sources into new tables (j->out), but for those that
 * move (job_sources), which are added to j->out as they are. An output
 * table is cut at max_sst_size, where the first CUT_PREFIX bytes of the
 * key change, and where a moved table lies between two keys.
 */
static int
job_run(struct engine *e, struct job *j)
{
	struct sst_options so;
	const struct manifest *m = &j->v->m;
	size_t i, k, n, nc = 0, nmoved = 0, mi = 0;
	struct src *s = job_sources(e, j, &n);
	struct iter **c = xcalloc(n ? n : 1, sizeof(*c));
	struct manifest_run *sub = xcalloc(m->nruns ? m->nruns : 1, sizeof(*sub));
	struct table ***subt = xcalloc(m->nruns ? m->nruns : 1, sizeof(*subt));
	const struct manifest_table **moved = xcalloc(n ? n : 1, sizeof(*moved));
	struct sst_builder *sb = NULL;
	const struct kv_entry *x;
	struct kv_entry y;
	struct iter *it = NULL;
	struct buf prev;
	int64_t now = clock_wall_ns() / 1000000;
	uint64_t seen = 0, reserve;
	int rc = 0, have_prev = 0, live, crossed;
	unsigned char cut[CUT_PREFIX];
	size_t cutlen = 0;

	engine_sst_options(e, &so);
	buf_init(&prev, 0);
	/*
	 * The merged: each L0 table by itself; the tables of a run that are
	 * merged, still in key order, as a run of their own
	 */
	for (i = 0; i < n; i++) {
		if (s[i].move) {
			moved[nmoved++] = s[i].mt;
			continue;
		}
		j->bytes_in += s[i].mt->size;
		if (s[i].run == SIZE_MAX) {
			c[nc++] = sst_iter_new_fill(s[i].t->sst, 0);
			continue;
		}
		k = s[i].run;
		sub[k].tables = xrealloc(sub[k].tables,
		    (sub[k].ntables + 1) * sizeof(*sub[k].tables));
		subt[k] = xrealloc(subt[k], (sub[k].ntables + 1) *
		    sizeof(*subt[k]));
		sub[k].tables[sub[k].ntables] = *s[i].mt;	/* not owned */
		subt[k][sub[k].ntables++] = s[i].t;
	}
	for (k = 0; k < m->nruns; k++) {
		if (sub[k].ntables == 0)
			continue;
		c[nc++] = run_iter_new(subt[k], &sub[k], 0);
	}
	j->nmoved = nmoved;
	if (nc == 0)
		goto moves;
	it = merge_iter_new(c, nc);
	c = NULL;
	for (iter_seek_first(it); iter_valid(it) && rc == 0; iter_next(it)) {
		x = iter_entry(it);
		if (++seen % COMPACT_CHECK_EVERY == 0 && job_cancelled(e)) {
			rc = err_set(-ECANCELED, "compaction stopped");
			break;
		}
		/* an older version of the key just decided */
		if (have_prev && kv_key_cmp(x->key, x->klen, prev.data,
		    prev.len) == 0)
			continue;
		buf_reset(&prev);
		buf_append(&prev, x->key, x->klen);
		have_prev = 1;
		live = x->kind == KV_PUT && (x->expire == 0 || x->expire > now);
		if (live && !filter_keeps(e, x))
			live = 0;
		y = *x;
		if (!live) {
			if (j->bottom)
				continue;
			y.kind = KV_DELETE;
			y.val = NULL;
			y.vlen = 0;
			y.expire = 0;
		}
		/* moved tables passed since the last key: none may overlap */
		for (crossed = 0; mi < nmoved && kv_key_cmp(moved[mi]->first_key,
		    moved[mi]->first_klen, y.key, y.klen) < 0; mi++)
			crossed = 1;
		if (sb != NULL && (crossed || y.klen < cutlen ||
		    memcmp(y.key, cut, cutlen) != 0) &&
		    (rc = job_emit(e, j, &sb)) != 0)
			break;
		if (sb == NULL) {
			cutlen = y.klen < CUT_PREFIX ? y.klen : CUT_PREFIX;
			memcpy(cut, y.key, cutlen);
			sb = sst_builder_new(&so);
			if (e->set.block_cache_prepopulate)
				sst_builder_cache(sb, e->bcache);
			/*
			 * cut at max_sst_size: at most a block and the index
			 * over; no more than the sources hold, as a job cut by
			 * kind makes some small tables
			 */
			reserve = e->set.max_sst_size + e->set.max_sst_size / 64;
			if (reserve > j->bytes_in + j->bytes_in / 64)
				reserve = j->bytes_in + j->bytes_in / 64;
			sst_builder_reserve(sb, (size_t)reserve + 2 * e->set.block_size);
		}
		if ((rc = sst_builder_add(sb, &y)) != 0)
			break;
		if (sst_builder_size(sb) >= e->set.max_sst_size)
			rc = job_emit(e, j, &sb);
	}
	if (rc == 0 && (rc = iter_status(it)) == 0 && sb != NULL)
		rc = job_emit(e, j, &sb);
	if (sb != NULL)
		sst_builder_free(sb);
	iter_free(it);
moves:
	if (rc == 0 && nmoved > 0) {
		j->out.tables = xrealloc(j->out.tables, (j->out.ntables +
		    nmoved) * sizeof(*j->out.tables));
		for (i = 0; i < nmoved; i++)
			manifest_table_copy(&j->out.tables[j->out.ntables++],
			    moved[i]);
		qsort(j->out.tables, j->out.ntables, sizeof(*j->out.tables),
		    table_cmp);
	}
	for (k = 0; k < m->nruns; k++) {
		free(sub[k].tables);
		free(subt[k]);
	}
	free(sub);
	free(subt);
	free(moved);
	free(c);
	free(s);
	buf_release(&prev);
	return rc;
}

/* ---- committing ---- */

static int
find_run(const struct manifest *m, uint64_t id)
{
	for (size_t i = 0; i < m->nruns; i++)
		if (m->runs[i].id == id)
			return (int)i;
	return -1;
}

/* Replace the job's sources in m with its output. */
static int
job_edit(void *arg, struct manifest *m)
{
	struct job *j = arg;
	const struct manifest *src = &j->v->m;
	struct manifest_run out;
	size_t i, k, at = 0, keep;
	uint64_t next_id = 1;
	int r;

	/* the L0 sources are still the oldest tables: only they go */
	if (j->nl0 > m->nl0)
		return err_set(-ESTALE, "compaction: L0 changed under it");
	for (i = 0; i < j->nl0; i++) {
		k = m->nl0 - j->nl0 + i;
		if (strcmp(m->l0[k].key, src->l0[src->nl0 - j->nl0 + i].key) != 0)
			return err_set(-ESTALE, "compaction: L0 changed under it");
	}
	for (i = j->run0; i < j->run0 + j->nruns; i++)
		if (find_run(m, src->runs[i].id) < 0)
			return err_set(-ESTALE, "compaction: run %llu is gone",
			    (unsigned long long)src->runs[i].id);
	for (i = 0; i < m->nruns; i++)
		if (m->runs[i].id >= next_id)
			next_id = m->runs[i].id + 1;
	keep = m->nl0 - j->nl0;
	for (i = keep; i < m->nl0; i++)
		manifest_table_release(&m->l0[i]);
	m->nl0 = keep;
	if (j->nruns > 0)
		at = (size_t)find_run(m, src->runs[j->run0].id);
	for (i = j->run0; i < j->run0 + j->nruns; i++) {
		r = find_run(m, src->runs[i].id);
		for (k = 0; k < m->runs[r].ntables; k++)
			manifest_table_release(&m->runs[r].tables[k]);
		free(m->runs[r].tables);
		memmove(m->runs + r, m->runs + r + 1,
		    (m->nruns - (size_t)r - 1) * sizeof(*m->runs));
		m->nruns--;
	}
	if (j->out.ntables == 0)
		return 0;
	out.id = next_id;
	out.ntables = j->out.ntables;
	out.tables = xcalloc(out.ntables, sizeof(*out.tables));
	for (i = 0; i < out.ntables; i++)
		manifest_table_copy(&out.tables[i], &j->out.tables[i]);
	m->runs = xrealloc(m->runs, (m->nruns + 1) * sizeof(*m->runs));
	memmove(m->runs + at + 1, m->runs + at, (m->nruns - at) * sizeof(*m->runs));
	m->runs[at] = out;
	m->nruns++;
	return 0;
}

/* ---- whole expired tables ---- */

struct range {
	const uint8_t	*lo, *hi;
	size_t		 lolen, hilen;
};

static int
overlaps(const struct range *r, size_t n, const struct manifest_table *t)
{
	for (size_t i = 0; i < n; i++)
		if (kv_key_cmp(t->first_key, t->first_klen, r[i].hi,
		    r[i].hilen) <= 0 &&
		    kv_key_cmp(r[i].lo, r[i].lolen, t->last_key,
		    t->last_klen) <= 0)
			return 1;
	return 0;
}

static int
dead(const struct manifest_table *t, int64_t now)
{
	return t->max_expire != 0 && t->max_expire <= now;
}

struct sweep {
	struct engine	*e;
	int64_t		 now;
	size_t		 dropped;
};

/*
 * Decide, oldest source first, which tables to drop: dead ones with no
 * kept older table overlapping them. Tables compactions are reading stay.
 */
static int
sweep_edit(void *arg, struct manifest *m)
{
	struct sweep *sw = arg;
	struct engine *e = sw->e;
	size_t n = m->nl0, i, k, cap = 0, nr = 0;
	struct range *kept = NULL;
	int l0_busy, busy;
	char *drop;

	for (i = 0; i < m->nruns; i++)
		n += m->runs[i].ntables;
	drop = xcalloc(n ? n : 1, 1);
	pthread_mutex_lock(&e->lock);
	l0_busy = e->compact.l0_busy;
	/* runs oldest first, then L0 oldest first; drop[] in that order */
	n = 0;
	for (i = m->nruns; i-- > 0;) {
		busy = run_busy_locked(e, m->runs[i].id);
		for (k = 0; k < m->runs[i].ntables; k++, n++) {
			const struct manifest_table *t = &m->runs[i].tables[k];

			if (!busy && dead(t, sw->now) && !overlaps(kept, nr, t)) {
				drop[n] = 1;
				continue;
			}
			kept = xgrow(kept, &cap, nr + 1, sizeof(*kept));
			kept[nr++] = (struct range){ t->first_key, t->last_key,
			    t->first_klen, t->last_klen };
		}
	}
	for (i = m->nl0; i-- > 0; n++) {
		const struct manifest_table *t = &m->l0[i];

		if (!l0_busy && dead(t, sw->now) && !overlaps(kept, nr, t)) {
			drop[n] = 1;
			continue;
		}
		kept = xgrow(kept, &cap, nr + 1, sizeof(*kept));
		kept[nr++] = (struct range){ t->first_key, t->last_key,
		    t->first_klen, t->last_klen };
	}
	pthread_mutex_unlock(&e->lock);
	free(kept);
	/* now remove them, walking in the same order */
	sw->dropped = 0;
	n = 0;
	for (i = m->nruns; i-- > 0;) {
		struct manifest_run *r = &m->runs[i];
		size_t w = 0, nt = r->ntables;

		for (k = 0; k < nt; k++, n++) {
			if (drop[n]) {
				manifest_table_release(&r->tables[k]);
				sw->dropped++;
			} else
				r->tables[w++] = r->tables[k];
		}
		r->ntables = w;
		if (w == 0) {
			free(r->tables);
			memmove(m->runs + i, m->runs + i + 1,
			    (m->nruns - i - 1) * sizeof(*m->runs));
			m->nruns--;
		}
	}
	{
		size_t nl0 = m->nl0;
		char *l0drop = xcalloc(nl0 ? nl0 : 1, 1);

		for (i = nl0; i-- > 0; n++)
			l0drop[i] = drop[n];
		for (i = k = 0; i < nl0; i++) {
			if (l0drop[i]) {
				manifest_table_release(&m->l0[i]);
				sw->dropped++;
			} else
				m->l0[k++] = m->l0[i];
		}
		m->nl0 = k;
		free(l0drop);
	}
	free(drop);
	return sw->dropped > 0 ? 0 : EDIT_NOTHING;
}

/* Drop whole dead tables, if the current manifest has any. */
static int
sweep(struct engine *e)
{
	struct sweep sw = { e, clock_wall_ns() / 1000000, 0 };
	const struct manifest *m;
	int any = 0, rc;

	pthread_mutex_lock(&e->lock);
	m = &e->ver->m;
	for (size_t i = 0; i < m->nl0 && !any; i++)
		any = dead(&m->l0[i], sw.now);
	for (size_t i = 0; i < m->nruns && !any; i++)
		for (size_t k = 0; k < m->runs[i].ntables && !any; k++)
			any = dead(&m->runs[i].tables[k], sw.now);
	pthread_mutex_unlock(&e->lock);
	if (!any)
		return 0;
	rc = commit_edit(e, sweep_edit, &sw);
	if (rc == EDIT_NOTHING)
		return 0;
	if (rc == 0) {
		metric_add(e->m.expired_tables, (double)sw.dropped);
		log_info("'%s': dropped %zu tables whose records all expired",
		    e->uri, sw.dropped);
	}
	return rc;
}

/* ---- the compactor threads ---- */

/* Run one job to its end: 0 committed, or why not. */
static int
job_do(struct engine *e, struct job *j)
{
	int rc;

	if ((rc = job_run(e, j)) == 0)
		rc = commit_edit(e, job_edit, j);
	for (size_t i = 0; i < j->out.ntables; i++)
		pending_remove(e, j->out.tables[i].key);	/* moved: none */
	if (rc == 0) {
		metric_add(e->m.compactions, 1);
		metric_add(e->m.compaction_moved, (double)j->nmoved);
		metric_add(e->m.compact_in, (double)j->bytes_in);
		metric_add(e->m.compact_out, (double)j->bytes_out);
		metric_observe(e->m.compact_time,
		    (double)(clock_mono_ns() - j->t0) / 1e9);
		log_debug("'%s': compacted %zu L0 tables and %zu runs into %zu "
		    "tables: %zu moved, %llu bytes merged into %llu", e->uri,
		    j->nl0, j->nruns, j->out.ntables, j->nmoved,
		    (unsigned long long)j->bytes_in,
		    (unsigned long long)j->bytes_out);
	}
	return rc;
}

static void *
compactor_main(void *arg)
{
	struct engine *e = arg;
	int64_t backoff = 100, next_sweep = 0, due;
	struct job *j;
	int rc, full;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping && !e->fenced) {
		if ((j = pick_locked(e)) == NULL) {
			if (clock_mono_ns() >= next_sweep) {
				pthread_mutex_unlock(&e->lock);
				if ((rc = sweep(e)) != 0 && rc != SHALE_EFENCED)
					log_warn("'%s': cannot drop expired "
					    "tables: %s", e->uri, err_message(rc));
				pthread_mutex_lock(&e->lock);
				if (rc == SHALE_EFENCED)
					fence_locked(e, err_detail());
				next_sweep = clock_mono_ns() +
				    e->set.compactor_poll_interval_ms * 1000000;
				continue;
			}
			clock_cond_wait(&e->cond, &e->lock, next_sweep);
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		rc = job_do(e, j);
		full = j->full;
		pthread_mutex_lock(&e->lock);
		mark_locked(e, j, 0);
		job_free(j);
		if (full) {
			e->compact.full_rc = rc;
			e->compact.full_done++;
		}
		pthread_cond_broadcast(&e->cond);
		if (rc == SHALE_EFENCED) {
			fence_locked(e, err_detail());
			break;
		}
		if (rc != 0 && !e->stopping && !e->fenced) {
			log_warn("'%s': compaction failed: %s (retrying)", e->uri,
			    err_message(rc));
			/* a closing engine does not wait out the pause */
			due = clock_mono_ns() + backoff * 1000000;
			while (!e->stopping && !e->fenced && clock_mono_ns() < due)
				clock_cond_wait(&e->cond, &e->lock, due);
			backoff = backoff * 2 > COMPACT_BACKOFF_MAX_MS ?
			    COMPACT_BACKOFF_MAX_MS : backoff * 2;
		} else if (rc == 0)
			backoff = 100;
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

void
compactor_start(struct engine *e)
{
	int n = e->set.max_concurrent_compactions;

	if (n > COMPACTORS_MAX)
		n = COMPACTORS_MAX;
	for (e->compact.ncompactors = 0; e->compact.ncompactors < n;
	    e->compact.ncompactors++)
		pthread_create(&e->compact.t_compact[e->compact.ncompactors], NULL,
		    compactor_main, e);
}

void
compactor_stop(struct engine *e)
{
	/* the caller set e->stopping */
	for (int i = 0; i < e->compact.ncompactors; i++)
		pthread_join(e->compact.t_compact[i], NULL);
	e->compact.ncompactors = 0;
}

void
engine_set_compaction_filter(struct engine *e, engine_filter_fn fn,
    engine_filter_range_fn range_fn, void *arg)
{
	pthread_rwlock_wrlock(&e->filter_lock);
	e->compact.filter_fn = fn;
	e->compact.filter_range_fn = range_fn;
	e->compact.filter_arg = arg;
	pthread_rwlock_unlock(&e->filter_lock);
}

/* With no compactor threads, the caller runs the full compaction itself. */
static int
compact_here(struct engine *e)
{
	struct job *j;
	int rc;

	pthread_mutex_lock(&e->lock);
	e->compact.full_asked = 1;
	j = pick_locked(e);	/* nothing else runs jobs: it is the full one */
	pthread_mutex_unlock(&e->lock);
	rc = job_do(e, j);
	pthread_mutex_lock(&e->lock);
	mark_locked(e, j, 0);
	job_free(j);
	if (rc == SHALE_EFENCED)
		fence_locked(e, err_detail());
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int
engine_compact(struct engine *e)
{
	int rc, done;

	if (e->mode == ENGINE_READER)
		return err_set(-EROFS, "'%s' is open read-only", e->uri);
	if ((rc = flush_memtables(e)) != 0)
		return rc;
	if (e->compact.ncompactors == 0)
		return compact_here(e);
	pthread_mutex_lock(&e->lock);
	done = e->compact.full_done;
	e->compact.full_asked = 1;
	pthread_cond_broadcast(&e->cond);
	while (e->compact.full_done == done && !e->fenced && !e->stopping)
		pthread_cond_wait(&e->cond, &e->lock);
	if (e->compact.full_done != done)
		rc = e->compact.full_rc;
	else if (e->fenced)
		rc = err_set(SHALE_EFENCED, "'%s': fenced by a newer writer",
		    e->uri);
	else
		rc = err_set(-ESHUTDOWN, "'%s' is closing", e->uri);
	pthread_mutex_unlock(&e->lock);
	return rc;
}
