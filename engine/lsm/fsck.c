/*
 * fsck.c - checking a store from the outside (see fsck.h).
 *
 * The order of the work, each step a function below:
 *
 *   list_each(compacted/)   what tables exist, before any manifest is read
 *   mset_load               the newest manifest and the versions it pins
 *   check_tables            runs_check, then table_check for each table
 *                           (HEAD; unless quick, table_read and
 *                           table_compare)
 *   check_wal               fsck_wal_walk from the lowest replay point
 *   count_garbage           tables no manifest references, WAL objects
 *                           below the replay point, older manifests
 *   recheck_missing         the newest manifest again: a table missing
 *                           now but no longer referenced is no problem
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/fsck.h"
#include "engine/lsm/kv.h"
#include "engine/lsm/layout.h"
#include "engine/lsm/manifest_store.h"
#include "engine/lsm/sst.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

/* An object a listing found. */
struct obj {
	char		*key;
	uint64_t	 size;
};

/* A table a checked manifest references, with the first one that does. */
struct ref {
	const struct manifest_table *t;
	uint64_t	 manifest_id;
	size_t		 order;		/* that manifest's place in the set */
};

/* The newest manifest, v[0], then the versions its checkpoints pin. */
struct mset {
	struct manifest	*v;
	size_t		 n;
	size_t		 cap;
};

struct fsck {
	struct objstore	*os;
	int		 flags;
	FILE		*out;
	uint64_t	 problems;

	struct mset	 set;
	struct ref	*refs;		/* sorted by key, one per table */
	size_t		 nrefs;
	struct obj	*listed;	/* compacted/, in key order */
	size_t		 nlisted;
	size_t		 caplisted;
	struct ref	*missing;	/* judged by recheck_missing */
	size_t		 nmissing;
	size_t		 capmissing;
	struct buf	 first, last;	/* table_read: keys met */
	struct buf	 k1, k2;	/* keys as text for a message */

	uint64_t	 wal_from;	/* lowest replay point of the set */
	uint64_t	 wal_epoch;	/* highest writer epoch met in the WAL */
	uint64_t	 wal_seq;	/* last seq of the objects that count */
	char		 wal_seq_key[32];

	/* for the summary */
	uint64_t	 tables, blocks, table_bytes;
	uint64_t	 wal_objects, wal_bytes;
	uint64_t	 g_tables, g_table_bytes;
	uint64_t	 g_wal, g_wal_bytes;
	uint64_t	 g_manifests, g_manifest_bytes;
};

static void problem(struct fsck *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f->out, fmt, ap);
	va_end(ap);
	fputc('\n', f->out);
	f->problems++;
}

/*
 * Call fn for every key under `prefix` after `after` (NULL: from the
 * first), in order. A non-zero return from fn stops the listing and is
 * returned; so is an error of the store.
 */
typedef int (*list_fn)(void *arg, const struct objstore_entry *e);

static int
list_each(struct objstore *os, const char *prefix, const char *after,
    list_fn fn, void *arg)
{
	struct objstore_list l = { 0 };
	char *start = after != NULL ? xstrdup(after) : NULL;
	int rc;

	do {
		rc = objstore_list(os, prefix, start, 0, &l);
		free(start);
		start = NULL;
		for (size_t i = 0; rc == 0 && i < l.n; i++)
			rc = fn(arg, &l.entries[i]);
		if (rc == 0 && l.next != NULL)
			start = xstrdup(l.next);
	} while (start != NULL);
	objstore_list_release(&l);
	return rc;
}

/* ---- WAL objects ---- */

struct walk {
	struct objstore	*os;
	fsck_wal_fn	 fn;
	void		*arg;
	uint64_t	 from;
	struct buf	 b;
	struct fsck_wal	 w;
};

static int
walk_batch(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	struct fsck_wal *w = arg;

	(void)e;
	if (w->batches++ == 0)
		w->first_seq = first_seq;
	w->records += n;
	w->last_seq = first_seq + n - 1;
	return 0;
}

static int
walk_one(void *arg, const struct objstore_entry *e)
{
	struct walk *wk = arg;
	struct fsck_wal *w = &wk->w;
	uint64_t id;
	int rc;

	if ((id = wal_key_id(e->key)) == 0 || id < wk->from)
		return 0;
	memset(w, 0, sizeof(*w));
	w->key = e->key;
	w->id = id;
	buf_reset(&wk->b);
	err_clear();
	rc = objstore_get(wk->os, e->key, 0, OBJSTORE_TO_END, &wk->b);
	if (rc == -ENOENT)
		return 0;	/* collected since it was listed */
	if (rc != 0)
		return rc;
	w->size = wk->b.len;
	rc = wal_decode(wk->b.data, wk->b.len, e->key, &w->h, walk_batch, w);
	if (rc == 0 && w->h.wal_id != id)
		rc = err_set(SHALE_ECORRUPT, "'%s': holds WAL id %" PRIu64,
		    e->key, w->h.wal_id);
	if (rc != 0) {
		memset(&w->h, 0, sizeof(w->h));
		w->batches = w->records = w->first_seq = w->last_seq = 0;
	}
	return wk->fn(wk->arg, w, rc);
}

int
fsck_wal_walk(struct objstore *os, uint64_t from, fsck_wal_fn fn, void *arg)
{
	struct walk wk = { .os = os, .fn = fn, .arg = arg, .from = from };
	char after[32];
	int rc;

	if (from > 1)
		wal_key(from - 1, after);
	buf_init(&wk.b, 0);
	rc = list_each(os, LAYOUT_WAL, from > 1 ? after : NULL, walk_one, &wk);
	buf_release(&wk.b);
	return rc;
}

/*
 * Each object decodes, and its records come after those of the objects
 * before it; one of a writer that lost its place to a newer epoch is
 * skipped by replay, so it is left out of the order.
 */
static int
wal_checked(void *arg, const struct fsck_wal *w, int rc)
{
	struct fsck *f = arg;

	if (rc == SHALE_ECORRUPT) {
		problem(f, "damaged: %s", err_message(rc));
		return 0;
	}
	if (rc != 0)
		return rc;
	f->wal_objects++;
	f->wal_bytes += w->size;
	if (w->h.epoch < f->wal_epoch) {
		if (f->flags & FSCK_VERBOSE)
			fprintf(f->out, "skipped: %s: written by epoch %" PRIu64
			    " after epoch %" PRIu64 " took over\n", w->key,
			    w->h.epoch, f->wal_epoch);
		return 0;
	}
	f->wal_epoch = w->h.epoch;
	if (w->batches == 0)
		return 0;
	if (w->first_seq <= f->wal_seq)
		problem(f, "mismatch: '%s': sequence number %" PRIu64 " after %"
		    PRIu64 " in '%s'", w->key, w->first_seq, f->wal_seq,
		    f->wal_seq_key);
	if (w->last_seq > f->wal_seq) {
		f->wal_seq = w->last_seq;
		snprintf(f->wal_seq_key, sizeof(f->wal_seq_key), "%s", w->key);
	}
	return 0;
}

static int
check_wal(struct fsck *f)
{
	f->wal_from = f->set.v[0].wal_replay_from;
	for (size_t i = 1; i < f->set.n; i++)
		if (f->set.v[i].wal_replay_from < f->wal_from)
			f->wal_from = f->set.v[i].wal_replay_from;
	return fsck_wal_walk(f->os, f->wal_from, wal_checked, f);
}

/* ---- manifests ---- */

static int
mset_has(const struct mset *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return 1;
	return 0;
}

static void
mset_release(struct mset *s)
{
	for (size_t i = 0; i < s->n; i++)
		manifest_release(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/*
 * Read the newest manifest and the versions its unexpired checkpoints
 * pin. A pinned version that cannot be read is a problem if `report`,
 * else passed over. 0, SHALE_ECORRUPT when the newest cannot be read,
 * or an error of the store.
 */
static int
mset_load(struct fsck *f, struct mset *s, int report)
{
	int64_t now_ms = clock_wall_ns() / 1000000;
	uint64_t id;
	char key[40];
	int rc;

	s->v = xgrow(s->v, &s->cap, 1, sizeof(*s->v));
	manifest_init(&s->v[0]);
	s->n = 1;
	if ((rc = manifest_find_latest(f->os, NULL, &s->v[0])) != 0)
		return rc;
	for (size_t i = 0; i < s->v[0].ncheckpoints; i++) {
		const struct manifest_checkpoint *c = &s->v[0].checkpoints[i];

		if (c->expire_ms <= now_ms || mset_has(s, c->manifest_id))
			continue;
		id = s->v[0].id;
		s->v = xgrow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
		manifest_init(&s->v[s->n]);
		err_clear();
		if ((rc = manifest_read(f->os, c->manifest_id, &s->v[s->n])) == 0) {
			s->n++;
			continue;
		}
		manifest_release(&s->v[s->n]);
		if (rc != -ENOENT && rc != SHALE_ECORRUPT)
			return rc;
		manifest_key(c->manifest_id, key);
		if (report && rc == -ENOENT)
			problem(f, "missing: '%s' (pinned by checkpoint '%s' of "
			    "manifest %" PRIu64 ")", key, c->id, id);
		else if (report)
			problem(f, "damaged: %s", err_message(rc));
	}
	return 0;
}

static void
ref_add(struct ref **refs, size_t *n, size_t *cap,
    const struct manifest_table *t, const struct manifest *m, size_t order)
{
	*refs = xgrow(*refs, cap, *n + 1, sizeof(**refs));
	(*refs)[*n].t = t;
	(*refs)[*n].manifest_id = m->id;
	(*refs)[(*n)++].order = order;
}

static int
ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->t->key, y->t->key);

	if (c != 0)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

static int
ref_key_cmp(const void *key, const void *r)
{
	return strcmp(key, ((const struct ref *)r)->t->key);
}

/* Every table the set references, once, by key; freed by the caller. */
static struct ref *
refs_of(const struct mset *s, size_t *np)
{
	struct ref *refs = NULL;
	size_t n = 0, cap = 0, j = 0;

	for (size_t k = 0; k < s->n; k++) {
		const struct manifest *m = &s->v[k];

		for (size_t i = 0; i < m->nl0; i++)
			ref_add(&refs, &n, &cap, &m->l0[i], m, k);
		for (size_t r = 0; r < m->nruns; r++)
			for (size_t i = 0; i < m->runs[r].ntables; i++)
				ref_add(&refs, &n, &cap, &m->runs[r].tables[i],
				    m, k);
	}
	if (n > 0)
		qsort(refs, n, sizeof(*refs), ref_cmp);
	for (size_t i = 0; i < n; i++)
		if (j == 0 || strcmp(refs[j - 1].t->key, refs[i].t->key) != 0)
			refs[j++] = refs[i];
	*np = j;
	return refs;
}

static const struct ref *
refs_find(const struct ref *refs, size_t n, const char *key)
{
	if (n == 0)
		return NULL;
	return bsearch(key, refs, n, sizeof(*refs), ref_key_cmp);
}

/* ---- tables ---- */

/* Tables of a sorted run come in key order, their ranges disjoint. */
static void
runs_check(struct fsck *f, const struct manifest *m)
{
	const struct manifest_table *a, *b;

	for (size_t r = 0; r < m->nruns; r++) {
		for (size_t i = 0; i + 1 < m->runs[r].ntables; i++) {
			a = &m->runs[r].tables[i];
			b = &m->runs[r].tables[i + 1];
			if (kv_key_cmp(a->last_key, a->last_klen, b->first_key,
			    b->first_klen) < 0)
				continue;
			problem(f, "mismatch: manifest %" PRIu64 ": run %" PRIu64
			    ": '%s' ends at '%s', not before '%s' starts at '%s'",
			    m->id, m->runs[r].id, a->key,
			    buf_escape(&f->k1, a->last_key, a->last_klen),
			    b->key, buf_escape(&f->k2, b->first_key,
			    b->first_klen));
		}
	}
}

static void
key_compare(struct fsck *f, const struct ref *r, const char *which,
    const struct buf *seen, const uint8_t *k, size_t klen)
{
	if (kv_key_cmp(seen->data, seen->len, k, klen) == 0)
		return;
	problem(f, "mismatch: '%s': %s key '%s', manifest %" PRIu64
	    " says '%s'", r->t->key, which,
	    buf_escape(&f->k1, seen->data, seen->len), r->manifest_id,
	    buf_escape(&f->k2, k, klen));
}

/* What table_read found against what the manifest records. */
static void
table_compare(struct fsck *f, const struct ref *r, uint64_t n,
    uint64_t min_seq, uint64_t max_seq)
{
	const struct manifest_table *t = r->t;

	if (n != t->entries)
		problem(f, "mismatch: '%s': %" PRIu64 " records, manifest %"
		    PRIu64 " says %" PRIu64, t->key, n, r->manifest_id,
		    t->entries);
	if (n == 0)
		return;
	if (min_seq != t->min_seq || max_seq != t->max_seq)
		problem(f, "mismatch: '%s': sequence numbers %" PRIu64 "-%"
		    PRIu64 ", manifest %" PRIu64 " says %" PRIu64 "-%" PRIu64,
		    t->key, min_seq, max_seq, r->manifest_id, t->min_seq,
		    t->max_seq);
	key_compare(f, r, "first", &f->first, t->first_key, t->first_klen);
	key_compare(f, r, "last", &f->last, t->last_key, t->last_klen);
}

/*
 * Open the table and read every record (the table layer checks every
 * block), in strictly increasing order; then compare with the manifest.
 * 0, SHALE_ECORRUPT, -ENOENT or an error of the store.
 */
static int
table_read(struct fsck *f, const struct ref *r)
{
	const struct manifest_table *t = r->t;
	const struct kv_entry *e;
	struct kv_entry prev = { 0 };
	uint64_t n = 0, min_seq = UINT64_MAX, max_seq = 0;
	struct iter *it;
	struct sst *s;
	int rc;

	if ((rc = sst_open(f->os, t->key, t->size, &s)) != 0)
		return rc;
	buf_reset(&f->first);
	buf_reset(&f->last);
	it = sst_iter_new(s);
	for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
		e = iter_entry(it);
		prev.key = (const uint8_t *)f->last.data;
		prev.klen = f->last.len;
		if (n > 0 && kv_entry_cmp(&prev, e) >= 0) {
			rc = err_set(SHALE_ECORRUPT, "'%s': record %" PRIu64
			    " is out of order", t->key, n + 1);
			break;
		}
		buf_reset(&f->last);
		if ((n == 0 && (rc = buf_append(&f->first, e->key, e->klen)) != 0) ||
		    (rc = buf_append(&f->last, e->key, e->klen)) != 0)
			break;
		prev.seq = e->seq;
		if (e->seq < min_seq)
			min_seq = e->seq;
		if (e->seq > max_seq)
			max_seq = e->seq;
		n++;
	}
	if (rc == 0)
		rc = iter_status(it);
	if (rc == 0) {
		f->blocks += sst_blocks(s);
		f->table_bytes += t->size;
	}
	iter_free(it);
	sst_close(s);
	if (rc == 0)
		table_compare(f, r, n, min_seq, max_seq);
	return rc;
}

static int
table_check(struct fsck *f, const struct ref *r)
{
	struct objstore_meta meta;
	int rc;

	f->tables++;
	err_clear();
	rc = objstore_head(f->os, r->t->key, &meta);
	if (rc == 0 && meta.size != r->t->size) {
		problem(f, "mismatch: '%s': %" PRIu64 " bytes, manifest %" PRIu64
		    " says %" PRIu64, r->t->key, meta.size, r->manifest_id,
		    r->t->size);
		return 0;
	}
	if (rc == 0 && !(f->flags & FSCK_QUICK))
		rc = table_read(f, r);
	if (rc == -ENOENT) {
		f->missing = xgrow(f->missing, &f->capmissing, f->nmissing + 1,
		    sizeof(*f->missing));
		f->missing[f->nmissing++] = *r;
		return 0;
	}
	if (rc == SHALE_ECORRUPT) {
		problem(f, "damaged: %s", err_message(rc));
		return 0;
	}
	return rc;
}

static int
check_tables(struct fsck *f)
{
	int rc = 0;

	for (size_t i = 0; i < f->set.n; i++)
		runs_check(f, &f->set.v[i]);
	f->refs = refs_of(&f->set, &f->nrefs);
	for (size_t i = 0; rc == 0 && i < f->nrefs; i++)
		rc = table_check(f, &f->refs[i]);
	return rc;
}

/*
 * A table that was not there is a problem if the newest manifest, read
 * again, or a version it pins still references it: else a writer replaced
 * it and the collector removed it while we were checking.
 */
static int
recheck_missing(struct fsck *f)
{
	struct mset now = { 0 };
	struct ref *refs = NULL, *m;
	size_t n = 0;
	int rc, known;

	if (f->nmissing == 0)
		return 0;
	if ((rc = mset_load(f, &now, 0)) != 0 && rc != SHALE_ECORRUPT)
		goto out;
	if ((known = rc == 0))
		refs = refs_of(&now, &n);
	rc = 0;
	for (size_t i = 0; i < f->nmissing; i++) {
		m = &f->missing[i];
		if (known && refs_find(refs, n, m->t->key) == NULL) {
			if (f->flags & FSCK_VERBOSE)
				fprintf(f->out, "gone: %s: removed while "
				    "checking, and no longer referenced\n",
				    m->t->key);
			continue;
		}
		problem(f, "missing: '%s' (referenced by manifest %" PRIu64 ")",
		    m->t->key, m->manifest_id);
	}
out:
	free(refs);
	mset_release(&now);
	return rc;
}

/* ---- garbage ---- */

static void
garbage(struct fsck *f, const char *key, uint64_t size, uint64_t *count,
    uint64_t *bytes)
{
	(*count)++;
	*bytes += size;
	if (f->flags & FSCK_VERBOSE)
		fprintf(f->out, "unreferenced: %s (%" PRIu64 " bytes)\n", key,
		    size);
}

static int
listed_table(void *arg, const struct objstore_entry *e)
{
	struct fsck *f = arg;

	f->listed = xgrow(f->listed, &f->caplisted, f->nlisted + 1,
	    sizeof(*f->listed));
	f->listed[f->nlisted].key = xstrdup(e->key);
	f->listed[f->nlisted++].size = e->size;
	return 0;
}

/* WAL objects below the replay point; 1 stops the listing there. */
static int
garbage_wal(void *arg, const struct objstore_entry *e)
{
	struct fsck *f = arg;
	uint64_t id = wal_key_id(e->key);

	if (id == 0)
		return 0;
	if (id >= f->wal_from)
		return 1;
	garbage(f, e->key, e->size, &f->g_wal, &f->g_wal_bytes);
	return 0;
}

/* Manifests older than the newest that no checkpoint pins. */
static int
garbage_manifest(void *arg, const struct objstore_entry *e)
{
	struct fsck *f = arg;
	uint64_t id = manifest_key_id(e->key);

	if (id == 0 || mset_has(&f->set, id))
		return 0;
	if (id > f->set.v[0].id)
		return 1;
	garbage(f, e->key, e->size, &f->g_manifests, &f->g_manifest_bytes);
	return 0;
}

static int
count_garbage(struct fsck *f)
{
	int rc;

	for (size_t i = 0; i < f->nlisted; i++)
		if (refs_find(f->refs, f->nrefs, f->listed[i].key) == NULL)
			garbage(f, f->listed[i].key, f->listed[i].size,
			    &f->g_tables, &f->g_table_bytes);
	if ((rc = list_each(f->os, LAYOUT_WAL, NULL, garbage_wal, f)) < 0)
		return rc;
	if ((rc = list_each(f->os, LAYOUT_MANIFESTS, NULL, garbage_manifest, f)) < 0)
		return rc;
	return 0;
}

/* ---- the whole ---- */

static const char *
plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void
summary(struct fsck *f)
{
	FILE *o = f->out;
	size_t pinned = f->set.n - 1;

	fprintf(o, "manifest: %" PRIu64, f->set.v[0].id);
	if (pinned > 0)
		fprintf(o, ", and %zu pinned by checkpoint%s", pinned,
		    plural(pinned));
	fprintf(o, "\ntables: %" PRIu64 " checked", f->tables);
	if (f->flags & FSCK_QUICK)
		fprintf(o, ", existence and size only\n");
	else
		fprintf(o, ", %" PRIu64 " blocks, %" PRIu64 " bytes read\n",
		    f->blocks, f->table_bytes);
	fprintf(o, "wal: %" PRIu64 " object%s checked from id %" PRIu64 ", %"
	    PRIu64 " bytes read\n", f->wal_objects, plural(f->wal_objects),
	    f->wal_from, f->wal_bytes);
	if (f->g_tables + f->g_wal + f->g_manifests == 0)
		fprintf(o, "garbage: none\n");
	else
		fprintf(o, "garbage: %" PRIu64 " table%s (%" PRIu64 " bytes), %"
		    PRIu64 " WAL object%s (%" PRIu64 " bytes), %" PRIu64
		    " manifest%s (%" PRIu64 " bytes); run 'shale gc' to remove "
		    "what is old enough\n", f->g_tables, plural(f->g_tables),
		    f->g_table_bytes, f->g_wal, plural(f->g_wal),
		    f->g_wal_bytes, f->g_manifests, plural(f->g_manifests),
		    f->g_manifest_bytes);
}

int
fsck_store(struct objstore *os, int flags, FILE *out, uint64_t *problems)
{
	struct fsck f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.os = os;
	f.flags = flags;
	f.out = out;
	buf_init(&f.first, 0);
	buf_init(&f.last, 0);
	buf_init(&f.k1, 0);
	buf_init(&f.k2, 0);
	/* never NULL: key comparisons pass their data to memcmp */
	buf_reserve(&f.first, 0);
	buf_reserve(&f.last, 0);

	/* tables first: one committed before the manifest is read is referenced */
	rc = list_each(os, LAYOUT_TABLES, NULL, listed_table, &f);
	if (rc == 0)
		rc = mset_load(&f, &f.set, 1);
	if (rc == 0 && f.set.v[0].id == 0)
		rc = err_set(-ENOENT, "'%s' holds no manifest: not a shale "
		    "store, or empty", objstore_uri(os));
	if (rc == SHALE_ECORRUPT) {
		/* the newest manifest: nothing else can be known */
		problem(&f, "damaged: %s", err_message(rc));
		rc = 0;
	} else if (rc == 0) {
		if ((rc = check_tables(&f)) == 0 &&
		    (rc = check_wal(&f)) == 0 &&
		    (rc = count_garbage(&f)) == 0 &&
		    (rc = recheck_missing(&f)) == 0)
			summary(&f);
	}
	if (rc == 0)
		fprintf(out, "problems: %" PRIu64 "\n", f.problems);
	*problems = f.problems;

	for (size_t i = 0; i < f.nlisted; i++)
		free(f.listed[i].key);
	free(f.listed);
	free(f.missing);
	free(f.refs);
	mset_release(&f.set);
	buf_release(&f.first);
	buf_release(&f.last);
	buf_release(&f.k1);
	buf_release(&f.k2);
	return rc;
}
