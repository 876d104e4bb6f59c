/*
 * gc.c - the garbage collector (the rules are in gc.h).
 *
 * One run:
 *
 *   gc_run        list manifest/ (gc_list, gc_manifest_entry), read the
 *     |           newest, L (gc_read)
 *     v
 *   gc_checkpoints  mark and read the versions L's unexpired checkpoints
 *     |             name
 *     v
 *   gc_walk       read versions from the newest down while they were
 *     |           superseded within the tables' or the WAL's window; below
 *     |           the walk, `below` versions older than both windows
 *     v
 *   gc_tables     the keys P_t lists and the pin, sorted; list compacted/
 *     |           and delete what is in neither and old enough
 *     v
 *   gc_wals       the lowest replay point of P_w and the pin; list wal/ up
 *     |           to it and delete what is old enough
 *     v
 *   gc_manifests  of the `below` versions, those superseded before the
 *                 manifests' cutoff (gc_bisect finds the edge when it lies
 *                 inside them), and not checkpointed
 *
 * A version that cannot be read marks the kinds it protects bad
 * (gc_unreadable); a bad kind is not listed, so nothing of it is deleted.
 * Deletions gather in a batch of up to GC_BATCH keys (gc_add, gc_flush).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/gc.h"
#include "engine/lsm/layout.h"
#include "engine/lsm/manifest_store.h"
#include "engine/lsm/wal.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define GC_BATCH	1000	/* keys in one batch delete */
#define GC_WHY_MAX	64

enum gc_kind { GC_MANIFEST, GC_WAL, GC_TABLE, GC_NKINDS };

static const char *const gc_kind_names[GC_NKINDS] = { "manifest", "wal", "table" };

enum { VS_UNREAD, VS_READ, VS_FAILED };

/* A manifest version as gc sees it. */
struct gc_version {
	uint64_t	 id;
	uint64_t	 size;		/* of its object, from the listing */
	int64_t		 superseded_ms;	/* INT64_MAX: current, or not known */
	int		 state;		/* VS_* */
	int		 checkpointed;	/* named by an unexpired checkpoint of L */
	struct manifest	 m;		/* when state is VS_READ */
};

/* An object to delete. */
struct gc_doomed {
	char		*key;
	uint64_t	 size;
	enum gc_kind	 kind;
	char		 why[GC_WHY_MAX];
};

/* One run. */
struct gc {
	struct objstore	*os;
	const struct gc_pin *pin;
	int		 dry_run;
	gc_each_fn	 fn;
	void		*arg;
	struct gc_report *r;
	int64_t		 now;
	int64_t		 cut[GC_NKINDS];	/* now - min_age */
	struct gc_version *v;			/* every version, ascending */
	size_t		 nv;
	size_t		 vcap;
	int		 bad[GC_NKINDS];	/* a version protecting it is unknown */
	int		 rc;			/* the first error */
	char		*msg;			/* and its detail */
	const char	**live;			/* tables kept, sorted */
	size_t		 nlive;
	size_t		 livecap;
	uint64_t	 wal_below;		/* WAL ids below this may go */
	char		 wal_why[GC_WHY_MAX];
	struct gc_doomed batch[GC_BATCH];
	size_t		 nbatch;
	struct metric_series *m_deleted[GC_NKINDS];
	struct metric_series *m_bytes;
};

typedef int (*gc_entry_fn)(struct gc *, const struct objstore_entry *);

/*
 * Count a failure. The first one's code and detail are what gc_run()
 * returns; the others are logged.
 */
static void __attribute__((format(printf, 3, 4)))
gc_fail(struct gc *g, int rc, const char *fmt, ...)
{
	char what[OBJSTORE_KEY_MAX + 256];
	va_list ap;

	g->r->errors++;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (g->rc == 0) {	/* the caller reports this one */
		g->rc = rc;
		g->msg = xasprintf("%s: %s", what, err_message(rc));
	} else
		log_warn("gc: %s: %s", what, err_message(rc));
}

/*
 * Call fn for each object whose key starts with `prefix`, in key order,
 * until it returns non-zero: 0, or a listing error (counted).
 */
static int
gc_list(struct gc *g, const char *prefix, gc_entry_fn fn)
{
	struct objstore_list l = { 0 };
	char *after = NULL;
	int rc, stop = 0;

	do {
		rc = objstore_list(g->os, prefix, after, 0, &l);
		free(after);
		after = NULL;
		if (rc != 0) {
			gc_fail(g, rc, "cannot list '%s'", prefix);
			break;
		}
		for (size_t i = 0; !stop && i < l.n; i++)
			stop = fn(g, &l.entries[i]);
		if (!stop && l.next != NULL)
			after = xstrdup(l.next);
	} while (after != NULL);
	objstore_list_release(&l);
	return rc;
}

/* ---- deleting ---- */

static void
gc_done(struct gc *g, const struct gc_doomed *d)
{
	switch (d->kind) {
	case GC_MANIFEST:
		g->r->manifests++;
		break;
	case GC_WAL:
		g->r->wals++;
		break;
	case GC_TABLE:
		g->r->tables++;
		break;
	case GC_NKINDS:
		BUG("no kind");
	}
	g->r->bytes += d->size;
	if (!g->dry_run) {
		metric_add(g->m_deleted[d->kind], 1);
		metric_add(g->m_bytes, (double)d->size);
		log_debug("gc: deleted '%s' (%s)", d->key, d->why);
	}
	if (g->fn != NULL)
		g->fn(g->arg, d->key, d->size, d->why);
}

/* Delete the batch: at once, or, if that fails, one by one. */
static void
gc_flush(struct gc *g)
{
	const char *keys[GC_BATCH];
	size_t i;
	int rc = 0;

	if (g->nbatch == 0)
		return;
	for (i = 0; i < g->nbatch; i++)
		keys[i] = g->batch[i].key;
	if (!g->dry_run &&
	    (rc = objstore_delete_batch(g->os, keys, g->nbatch)) != 0)
		log_warn("gc: cannot delete %zu objects at once: %s (deleting "
		    "them one by one)", g->nbatch, err_message(rc));
	for (i = 0; i < g->nbatch; i++) {
		struct gc_doomed *d = &g->batch[i];
		int one;

		if (rc != 0 && (one = objstore_delete(g->os, d->key)) != 0)
			gc_fail(g, one, "cannot delete '%s'", d->key);
		else
			gc_done(g, d);
		free(d->key);
	}
	g->nbatch = 0;
}

static void
gc_add(struct gc *g, enum gc_kind kind, const char *key, uint64_t size,
    const char *why)
{
	struct gc_doomed *d;

	if (g->nbatch == GC_BATCH)
		gc_flush(g);
	d = &g->batch[g->nbatch++];
	d->key = xstrdup(key);
	d->size = size;
	d->kind = kind;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* ---- manifests ---- */

static int
gc_manifest_entry(struct gc *g, const struct objstore_entry *e)
{
	struct gc_version *v;
	uint64_t id;

	if ((id = manifest_key_id(e->key)) == 0)
		return 0;
	g->v = xgrow(g->v, &g->vcap, g->nv + 1, sizeof(*g->v));
	v = &g->v[g->nv++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->size = e->size;
	v->superseded_ms = INT64_MAX;
	manifest_init(&v->m);
	return 0;
}

static struct gc_version *
gc_find(struct gc *g, uint64_t id)
{
	size_t lo = 0, hi = g->nv, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g->v[mid].id == id)
			return &g->v[mid];
		if (g->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
gc_protects(const struct gc *g, const struct gc_version *v, enum gc_kind k)
{
	return v->checkpointed || v->superseded_ms >= g->cut[k];
}

/* Version v cannot be read: the kinds it protects are not collected. */
static void
gc_unreadable(struct gc *g, const struct gc_version *v, int rc)
{
	int t = gc_protects(g, v, GC_TABLE), w = gc_protects(g, v, GC_WAL);
	const char *what;

	g->bad[GC_TABLE] |= t;
	g->bad[GC_WAL] |= w;
	if (t && w)
		what = "tables and WAL objects";
	else
		what = t ? "tables" : "WAL objects";
	gc_fail(g, rc, "cannot read manifest %llu, which a reader may still "
	    "use, so no %s are deleted", (unsigned long long)v->id, what);
}

static int
gc_read(struct gc *g, struct gc_version *v)
{
	int rc;

	if (v->state != VS_UNREAD)
		return v->state == VS_READ ? 0 : SHALE_ECORRUPT;
	rc = manifest_read(g->os, v->id, &v->m);
	v->state = rc == 0 ? VS_READ : VS_FAILED;
	if (rc != 0)
		gc_unreadable(g, v, rc);
	return rc;
}

/*
 * Read the versions below L, newest first, while they were superseded
 * within the tables' or the WAL's window. Returns how many versions lie
 * below the walk, older than both windows.
 */
static size_t
gc_walk(struct gc *g)
{
	int64_t cut = g->cut[GC_TABLE] < g->cut[GC_WAL] ? g->cut[GC_TABLE] :
	    g->cut[GC_WAL];
	struct gc_version *v, *next;
	size_t below;

	for (below = g->nv - 1; below > 0; below--) {
		v = &g->v[below - 1];
		next = &g->v[below];
		v->superseded_ms = next->state == VS_READ ? next->m.created_ms :
		    INT64_MAX;
		if (v->superseded_ms < cut)
			break;
		gc_read(g, v);
	}
	return below;
}

/* The versions unexpired checkpoints of L name: marked, and read. */
static void
gc_checkpoints(struct gc *g, const struct manifest *l)
{
	const struct manifest_checkpoint *c;
	struct gc_version *v;

	for (size_t i = 0; i < l->ncheckpoints; i++) {
		c = &l->checkpoints[i];
		if (c->expire_ms <= g->now)
			continue;
		if ((v = gc_find(g, c->manifest_id)) == NULL) {
			g->bad[GC_TABLE] = g->bad[GC_WAL] = 1;
			gc_fail(g, err_set(-ENOENT, "no such manifest"),
			    "checkpoint '%s' names manifest %llu, so no tables "
			    "and WAL objects are deleted", c->id,
			    (unsigned long long)c->manifest_id);
			continue;
		}
		v->checkpointed = 1;
	}
	for (size_t i = 0; i < g->nv; i++)
		if (g->v[i].checkpointed)
			gc_read(g, &g->v[i]);
}

/*
 * Of the `below` versions (below > 0, v[below] read and created after the
 * manifests' cutoff): how many, from the oldest, were superseded at or
 * before it. Bisection over created_ms, which grows with the id. A version
 * that cannot be read is passed over for the next one up: nothing depends
 * on what it holds (it is older than every window), only on when it was
 * superseded, which its successor says; it is logged, not an error.
 */
static size_t
gc_bisect(struct gc *g, size_t below)
{
	struct manifest m;
	size_t lo = 0, hi = below, mid, j;
	int rc;

	manifest_init(&m);
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		for (j = mid; j < hi; j++) {
			if ((rc = manifest_read(g->os, g->v[j].id, &m)) == 0)
				break;
			if (rc != -ENOENT)	/* -ENOENT: collected since listed */
				log_warn("gc: cannot read manifest %llu: %s",
				    (unsigned long long)g->v[j].id,
				    err_message(rc));
		}
		if (j < hi && m.created_ms <= g->cut[GC_MANIFEST])
			lo = j;		/* v[0 .. j-1] superseded by then */
		else
			hi = mid;
	}
	manifest_release(&m);
	return lo;
}

static void
gc_manifests(struct gc *g, size_t below)
{
	struct gc_version *v;
	char key[40], why[GC_WHY_MAX];
	size_t old;

	if (below == 0)
		return;
	if (g->v[below].m.created_ms <= g->cut[GC_MANIFEST])
		old = below;
	else
		old = gc_bisect(g, below);
	for (size_t i = 0; i < below; i++) {
		v = &g->v[i];
		if (v->checkpointed)
			continue;
		if (i >= old) {
			g->r->kept_young++;
			continue;
		}
		manifest_key(v->id, key);
		snprintf(why, sizeof(why), "superseded by manifest %llu",
		    (unsigned long long)g->v[i + 1].id);
		gc_add(g, GC_MANIFEST, key, v->size, why);
	}
	gc_flush(g);
}

/* Written after `cut`, or at a time the store does not say: kept. */
static int
gc_young(const struct objstore_entry *e, int64_t cut)
{
	return e->mtime <= 0 || e->mtime * 1000 > cut;
}

/* ---- tables ---- */

static int
gc_cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
gc_live(struct gc *g, const char *key)
{
	g->live = xgrow(g->live, &g->livecap, g->nlive + 1, sizeof(*g->live));
	g->live[g->nlive++] = key;
}

static int
gc_table_entry(struct gc *g, const struct objstore_entry *e)
{
	if (!sst_object_key_ok(e->key) || (g->nlive > 0 &&
	    bsearch(&e->key, g->live, g->nlive, sizeof(*g->live),
	    gc_cmp_key) != NULL))
		return 0;
	if (g->pin != NULL && g->pin->held != NULL &&
	    g->pin->held(g->pin->held_arg, e->key))
		return 0;
	if (gc_young(e, g->cut[GC_TABLE]))
		g->r->kept_young++;
	else
		gc_add(g, GC_TABLE, e->key, e->size, "in no live manifest");
	return 0;
}

static void
gc_tables(struct gc *g)
{
	const struct manifest *m;

	if (g->bad[GC_TABLE])
		return;
	for (size_t i = 0; i < g->nv; i++) {
		if (g->v[i].state != VS_READ ||
		    !gc_protects(g, &g->v[i], GC_TABLE))
			continue;
		m = &g->v[i].m;
		for (size_t j = 0; j < m->nl0; j++)
			gc_live(g, m->l0[j].key);
		for (size_t r = 0; r < m->nruns; r++)
			for (size_t j = 0; j < m->runs[r].ntables; j++)
				gc_live(g, m->runs[r].tables[j].key);
	}
	for (size_t i = 0; g->pin != NULL && i < g->pin->ntables; i++)
		gc_live(g, g->pin->tables[i]);
	if (g->nlive > 0)
		qsort(g->live, g->nlive, sizeof(*g->live), gc_cmp_key);
	gc_list(g, LAYOUT_TABLES, gc_table_entry);
	gc_flush(g);
}

/* ---- WAL ---- */

static int
gc_wal_entry(struct gc *g, const struct objstore_entry *e)
{
	uint64_t id;

	if ((id = wal_key_id(e->key)) == 0)
		return 0;
	if (id >= g->wal_below)
		return 1;	/* the rest is above it too */
	if (gc_young(e, g->cut[GC_WAL]))
		g->r->kept_young++;
	else
		gc_add(g, GC_WAL, e->key, e->size, g->wal_why);
	return 0;
}

static void
gc_wals(struct gc *g)
{
	uint64_t below = UINT64_MAX;

	if (g->bad[GC_WAL])
		return;
	for (size_t i = 0; i < g->nv; i++)
		if (g->v[i].state == VS_READ && gc_protects(g, &g->v[i], GC_WAL) &&
		    g->v[i].m.wal_replay_from < below)
			below = g->v[i].m.wal_replay_from;
	snprintf(g->wal_why, sizeof(g->wal_why), "below replay point %llu",
	    (unsigned long long)below);
	if (g->pin != NULL && g->pin->wal_from != 0 && g->pin->wal_from < below)
		below = g->pin->wal_from;
	g->wal_below = below;
	gc_list(g, LAYOUT_WAL, gc_wal_entry);
	gc_flush(g);
}

/* ---- a run ---- */

static void
gc_metrics(struct gc *g)
{
	struct metrics *r = metrics_global();
	struct metric *f;

	metric_add(metric_series(metrics_counter(r, "engine_gc_runs_total",
	    "Garbage collector runs.", NULL)), 1);
	f = metrics_counter(r, "engine_gc_deleted_total",
	    "Objects the garbage collector deleted.", "kind");
	for (int k = 0; k < GC_NKINDS; k++)
		g->m_deleted[k] = metric_series(f, gc_kind_names[k]);
	g->m_bytes = metric_series(metrics_counter(r,
	    "engine_gc_deleted_bytes_total",
	    "Bytes of the objects the garbage collector deleted.", NULL));
}

int
gc_run(struct objstore *os, const struct engine_settings *s, int64_t now_ms,
    const struct gc_pin *pin, int dry_run, gc_each_fn fn, void *arg,
    struct gc_report *r)
{
	struct gc *g = xcalloc(1, sizeof(*g));
	size_t below;
	int rc;

	memset(r, 0, sizeof(*r));
	g->os = os;
	g->pin = pin;
	g->dry_run = dry_run;
	g->fn = fn;
	g->arg = arg;
	g->r = r;
	g->now = now_ms != 0 ? now_ms : clock_wall_ns() / 1000000;
	g->cut[GC_MANIFEST] = g->now - s->gc_manifest.min_age_ms;
	g->cut[GC_WAL] = g->now - s->gc_wal.min_age_ms;
	g->cut[GC_TABLE] = g->now - s->gc_compacted.min_age_ms;
	gc_metrics(g);

	if (gc_list(g, LAYOUT_MANIFESTS, gc_manifest_entry) != 0 || g->nv == 0)
		goto out;	/* nothing is known to be garbage */
	if (gc_read(g, &g->v[g->nv - 1]) != 0)
		goto out;
	gc_checkpoints(g, &g->v[g->nv - 1].m);
	below = gc_walk(g);
	gc_tables(g);
	gc_wals(g);
	gc_manifests(g, below);
out:
	for (size_t i = 0; i < g->nv; i++)
		manifest_release(&g->v[i].m);
	free(g->v);
	free(g->live);
	rc = g->rc;
	if (rc != 0)
		err_set(rc, "%s", g->msg);
	free(g->msg);
	free(g);
	return rc;
}
