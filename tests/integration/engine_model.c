/*
 * engine_model.c - the engine against an in-memory model.
 *
 *   engine_model URI SEED OPS
 *
 * Drives OPS random operations on a fresh store: batches of puts and
 * deletes, gets, forward and backward scans over random ranges, seeks and
 * floor lookups (seek_for_prev), snapshots read later, flushes, and
 * close-and-reopen, full compactions, and puts that expire. Memtables and
 * tables are small and the compactor polls often, so L0 tables, sorted
 * runs of several tables, merges and whole expired tables being dropped
 * happen throughout, concurrently with the operations; so does garbage
 * collection, with every min_age 0. After every read
 * the engine must agree with a sorted array that saw the same writes; the
 * first difference is printed and fails the run.
 *
 * Expiry: a put may expire at the next "instant" (every EXPIRE_EVERY_MS
 * from the start). No operation starts within EXPIRE_GUARD_MS of an
 * instant; after it, the model forgets the records that expired there. A
 * read that found a difference and ended at or past the instant (a slow
 * build, a busy machine) may have seen records expire that the model still
 * held: it is made again, the same, once the model forgot them, and then
 * it must agree.
 *
 * At the end, a compaction filter that drops keys ending in an odd digit,
 * a full compaction, and the model without those keys, before and after a
 * reopen; the store is then one sorted run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/xmalloc.h"

struct rec {
	char	*k;
	size_t	 klen;
	char	*v;
	size_t	 vlen;
	int64_t	 expire;	/* ms; 0 never */
};

#define EXPIRE_EVERY_MS	1500
#define EXPIRE_GUARD_MS	150

struct model {
	struct rec	*r;
	size_t		 n, cap;
};

static unsigned long long rng;
static int failures;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return n ? (unsigned)((rng >> 33) % n) : 0;
}

static int
cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : al < bl ? -1 : al > bl;
}

/* Index of the first record with key >= k. */
static size_t
lower(const struct model *m, const char *k, size_t kl)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp(m->r[mid].k, m->r[mid].klen, k, kl) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
model_put(struct model *m, const char *k, size_t kl, const char *v, size_t vl,
    int64_t expire)
{
	size_t i = lower(m, k, kl);

	if (i < m->n && cmp(m->r[i].k, m->r[i].klen, k, kl) == 0) {
		free(m->r[i].v);
	} else {
		m->r = xgrow(m->r, &m->cap, m->n + 1, sizeof(*m->r));
		memmove(m->r + i + 1, m->r + i, (m->n - i) * sizeof(*m->r));
		m->n++;
		m->r[i].k = xstrndup(k, kl);
		m->r[i].klen = kl;
	}
	m->r[i].v = xmalloc(vl + 1);
	memcpy(m->r[i].v, v, vl);
	m->r[i].vlen = vl;
	m->r[i].expire = expire;
}

static void
model_del(struct model *m, const char *k, size_t kl)
{
	size_t i = lower(m, k, kl);

	if (i < m->n && cmp(m->r[i].k, m->r[i].klen, k, kl) == 0) {
		free(m->r[i].k);
		free(m->r[i].v);
		memmove(m->r + i, m->r + i + 1, (m->n - i - 1) * sizeof(*m->r));
		m->n--;
	}
}

static void
model_copy(struct model *dst, const struct model *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		model_put(dst, src->r[i].k, src->r[i].klen, src->r[i].v,
		    src->r[i].vlen, src->r[i].expire);
}

/* Forget what expired by now, or that pred() says to drop. */
static size_t
model_prune(struct model *m, int64_t now, int (*pred)(const struct rec *))
{
	size_t i, k, n = 0;

	for (i = k = 0; i < m->n; i++) {
		if ((m->r[i].expire != 0 && m->r[i].expire <= now) ||
		    (pred != NULL && pred(&m->r[i]))) {
			free(m->r[i].k);
			free(m->r[i].v);
			n++;
		} else
			m->r[k++] = m->r[i];
	}
	m->n = k;
	return n;
}

static void
model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->r[i].k);
		free(m->r[i].v);
	}
	free(m->r);
	memset(m, 0, sizeof(*m));
}

static void
fail(int op, const char *what)
{
	printf("op %d: %s\n", op, what);
	failures++;
}

static void
random_key(char *k, size_t *kl)
{
	/* a few hundred keys, some prefixes of others */
	unsigned i = rnd(400);

	*kl = (size_t)snprintf(k, 32, "key%03u", i);
	if (i % 7 == 0)
		*kl = (size_t)snprintf(k, 32, "key%02u", i / 10);
}

static void
random_value(struct buf *v, unsigned seq)
{
	size_t n = rnd(10) == 0 ? 2000 + rnd(6000) : rnd(120);

	buf_reset(v);
	for (size_t i = 0; i < n; i++)
		buf_putc(v, (char)('a' + (seq + i) % 26));
}

static void
check_get(struct engine *e, const struct engine_snapshot *s,
    const struct model *m, int op)
{
	char k[32];
	size_t kl, i;
	struct buf v;
	int rc, want;

	random_key(k, &kl);
	buf_init(&v, 0);
	rc = engine_get(e, s, k, kl, &v);
	i = lower(m, k, kl);
	want = i < m->n && cmp(m->r[i].k, m->r[i].klen, k, kl) == 0;
	if (want && rc != 0)
		fail(op, "get: missing key");
	else if (!want && rc != -ENOENT)
		fail(op, "get: key should be absent");
	else if (want && (v.len != m->r[i].vlen || memcmp(v.data, m->r[i].v, v.len)))
		fail(op, "get: wrong value");
	buf_release(&v);
}

static int
same(struct engine_iter *it, const struct rec *r)
{
	size_t kl, vl;
	const void *k = engine_iter_key(it, &kl), *v = engine_iter_value(it, &vl);

	return kl == r->klen && vl == r->vlen && memcmp(k, r->k, kl) == 0 &&
	    memcmp(v, r->v, vl) == 0;
}

static void
check_scan(struct engine *e, const struct engine_snapshot *s,
    const struct model *m, int op)
{
	char lo[32], hi[32], k[32];
	size_t lol, hil, kl, a, b, i;
	int bounded = rnd(2), reverse = rnd(2);
	struct engine_iter *it;

	random_key(lo, &lol);
	random_key(hi, &hil);
	if (cmp(lo, lol, hi, hil) > 0) {
		char t[32];
		size_t tl = lol;

		memcpy(t, lo, 32);
		memcpy(lo, hi, 32);
		lol = hil;
		memcpy(hi, t, 32);
		hil = tl;
	}
	it = bounded ? engine_iter_new(e, s, lo, lol, hi, hil) :
	    engine_iter_new(e, s, NULL, 0, NULL, 0);
	a = bounded ? lower(m, lo, lol) : 0;
	b = bounded ? lower(m, hi, hil) : m->n;
	if (!reverse) {
		engine_iter_seek_first(it);
		for (i = a; i < b; i++, engine_iter_next(it))
			if (!engine_iter_valid(it) || !same(it, &m->r[i]))
				break;
		if (i != b || engine_iter_valid(it))
			fail(op, "forward scan differs");
	} else {
		engine_iter_seek_last(it);
		for (i = b; i > a; i--, engine_iter_prev(it))
			if (!engine_iter_valid(it) || !same(it, &m->r[i - 1]))
				break;
		if (i != a || engine_iter_valid(it))
			fail(op, "reverse scan differs");
	}
	/* a floor lookup, then a step each way */
	random_key(k, &kl);
	engine_iter_seek_for_prev(it, k, kl);
	i = lower(m, k, kl);
	if (i < m->n && cmp(m->r[i].k, m->r[i].klen, k, kl) == 0)
		i++;		/* floor is the key itself */
	/* i now counts the keys <= k; the floor in range is i - 1 */
	if (i > b)
		i = b;
	if (i > a) {
		if (!engine_iter_valid(it) || !same(it, &m->r[i - 1]))
			fail(op, "seek_for_prev differs");
		else {
			engine_iter_next(it);
			if (i < b ? !engine_iter_valid(it) || !same(it, &m->r[i]) :
			    engine_iter_valid(it))
				fail(op, "next after seek_for_prev differs");
		}
	} else if (engine_iter_valid(it)) {
		fail(op, "seek_for_prev should find nothing");
	}
	engine_iter_seek(it, k, kl);
	i = lower(m, k, kl);
	if (i < a)
		i = a;
	if (i < b) {
		if (!engine_iter_valid(it) || !same(it, &m->r[i]))
			fail(op, "seek differs");
		else {
			engine_iter_prev(it);
			if (i > a ? !engine_iter_valid(it) || !same(it, &m->r[i - 1]) :
			    engine_iter_valid(it))
				fail(op, "prev after seek differs");
		}
	} else if (engine_iter_valid(it)) {
		fail(op, "seek should find nothing");
	}
	if (engine_iter_status(it) != 0)
		fail(op, "iterator error");
	engine_iter_free(it);
}

/* The compaction filter of the last phase: keys ending in an odd digit go. */
static int
odd_key(const void *k, size_t kl)
{
	return kl > 0 && (((const char *)k)[kl - 1] - '0') % 2 == 1;
}

static int
rec_odd(const struct rec *r)
{
	return odd_key(r->k, r->klen);
}

static int
keep_even(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	(void)arg;
	(void)v;
	(void)vl;
	return !odd_key(k, kl);
}

/*
 * Keep clear of the expiry instant: sleep past it if it is near, then let
 * the models forget what expired. Returns the next instant.
 */
static int64_t
expiry_step(int64_t instant, struct model *m, struct model *sm)
{
	int64_t now = clock_wall_ns() / 1000000;

	if (now >= instant - EXPIRE_GUARD_MS) {
		if (now <= instant + EXPIRE_GUARD_MS)
			clock_sleep_ms(instant + EXPIRE_GUARD_MS + 1 - now);
		now = clock_wall_ns() / 1000000;
		model_prune(m, now, NULL);
		model_prune(sm, now, NULL);
		while (instant - EXPIRE_GUARD_MS <= now)
			instant += EXPIRE_EVERY_MS;
	}
	return instant;
}

/*
 * A read op (check_*) found a difference (failures went past f0) and ran
 * into the expiry instant: forget that difference and let the caller make
 * the read again, after expiry_step, with the same random draws (rng0).
 * 1 when it is to be made again.
 */
static int
read_again(int f0, unsigned long long rng0, int64_t instant, int op)
{
	int64_t now = clock_wall_ns() / 1000000;

	if (failures == f0 || now < instant)
		return 0;
	printf("op %d: ended %lld ms past an expiry instant: read again\n",
	    op, (long long)(now - instant));
	failures = f0;
	rng = rng0;
	return 1;
}

static int
check_all(struct engine *e, const struct model *m, const char *when)
{
	struct engine_iter *it = engine_iter_new(e, NULL, NULL, 0, NULL, 0);
	size_t i = 0;
	int bad = 0;

	for (engine_iter_seek_first(it); engine_iter_valid(it) && i < m->n;
	    engine_iter_next(it), i++)
		if (!same(it, &m->r[i]))
			break;
	if (i != m->n || engine_iter_valid(it) || engine_iter_status(it) != 0) {
		printf("%s: the store differs from the model at key %zu of %zu\n",
		    when, i, m->n);
		bad = 1;
	}
	engine_iter_free(it);
	return bad;
}

/* check_all, made again if it ran into an expiry instant (read_again) */
static int64_t
check_all_at(struct engine *e, struct model *m, struct model *sm,
    int64_t instant, const char *when)
{
	for (int tries = 0; ; tries++) {
		instant = expiry_step(instant, m, sm);
		if (!check_all(e, m, when))
			return instant;
		if (tries > 0 || clock_wall_ns() / 1000000 < instant) {
			failures++;
			return instant;
		}
		printf("%s: ran past an expiry instant: read again\n", when);
	}
}

/* A read op (r as in main), made again if it ran into an expiry instant. */
static int64_t
read_op(struct engine *e, struct engine_snapshot *snap, struct model *m,
    struct model *sm, int64_t instant, unsigned r, int op)
{
	unsigned long long rng0 = rng;
	int f0 = failures;

	for (int tries = 0; ; tries++) {
		if (r < 70)
			check_get(e, NULL, m, op);
		else if (r < 85 || r >= 94)
			check_scan(e, NULL, m, op);
		else {
			check_get(e, snap, sm, op);
			check_scan(e, snap, sm, op);
		}
		if (tries > 0 || !read_again(f0, rng0, instant, op))
			return instant;
		instant = expiry_step(instant, m, sm);
	}
}

int
main(int argc, char **argv)
{
	struct engine_settings es;
	struct objstore_opts so = { 0 };
	struct engine *e;
	struct engine_batch *b;
	struct engine_snapshot *snap = NULL;
	struct model m = { 0 }, sm = { 0 };
	struct buf v;
	char k[32];
	size_t kl;
	int ops, rc, reopens = 0, compactions = 0;
	int64_t instant, expire;

	if (argc != 4) {
		fprintf(stderr, "usage: engine_model URI SEED OPS\n");
		return 2;
	}
	rng = strtoull(argv[2], NULL, 10);
	ops = atoi(argv[3]);
	engine_settings_default(&es);
	/*
	 * odd seeds: a table per batch (a memtable's first 64 KiB arena
	 * chunk fills it), so compactions never stop; even: a few dozen
	 * batches per table
	 */
	es.l0_sst_size_bytes = rng % 2 ? 24 << 10 : 128 << 10;
	es.flush_interval_ms = 5;
	es.wal_max_bytes = 16 << 10;
	/* small blocks where reads are cheap (the block cache holds more) */
	es.block_size = strncmp(argv[1], "file:", 5) == 0 ? 512 : 4096;
	/* runs of several tables, merged often */
	es.max_sst_size = 12 << 10;
	es.compactor_poll_interval_ms = 50;
	es.l0_max_ssts = 4;
	/*
	 * and the collector deletes whatever no manifest lists the moment it
	 * can: only what this process still reads (snapshots, iterators,
	 * compactions, uploads not yet committed) keeps a table
	 */
	es.gc_manifest.min_age_ms = es.gc_wal.min_age_ms = 0;
	es.gc_compacted.min_age_ms = 0;
	es.gc_manifest.interval_ms = es.gc_wal.interval_ms = 50;
	es.gc_compacted.interval_ms = 50;
	so.no_fsync = 1;
	instant = clock_wall_ns() / 1000000 + EXPIRE_EVERY_MS;
	if ((rc = engine_open(argv[1], &so, &es, ENGINE_WRITER, &e)) != 0) {
		printf("open: %s\n", err_message(rc));
		return 1;
	}
	b = engine_batch_new();
	buf_init(&v, 0);
	for (int op = 0; op < ops && failures == 0; op++) {
		unsigned r = rnd(100);

		instant = expiry_step(instant, &m, &sm);

		if (r < 55) {
			engine_batch_clear(b);
			for (unsigned n = 1 + rnd(6); n > 0; n--) {
				random_key(k, &kl);
				if (rnd(4) == 0) {
					engine_batch_delete(b, k, kl);
					model_del(&m, k, kl);
				} else {
					random_value(&v, (unsigned)op);
					expire = rnd(8) == 0 ? instant : 0;
					engine_batch_put(b, k, kl, v.data, v.len,
					    expire);
					model_put(&m, k, kl, v.data, v.len, expire);
				}
			}
			if ((rc = engine_write(e, b, NULL)) != 0) {
				printf("write: %s\n", err_message(rc));
				failures++;
			}
		} else if (r < 85) {
			instant = read_op(e, NULL, &m, &sm, instant, r, op);
		} else if (r < 90) {
			if (snap == NULL) {
				snap = engine_snapshot_new(e);
				model_copy(&sm, &m);
			} else {
				instant = read_op(e, snap, &m, &sm, instant, r, op);
				if (rnd(3) == 0) {
					engine_snapshot_free(snap);
					snap = NULL;
					model_free(&sm);
				}
			}
		} else if (r < 93) {
			if ((rc = engine_flush(e)) != 0) {
				printf("flush: %s\n", err_message(rc));
				failures++;
			}
		} else if (r < 94 && rnd(4) == 0) {
			if ((rc = engine_compact(e)) != 0) {
				printf("compact: %s\n", err_message(rc));
				failures++;
			}
			compactions++;
		} else if (r < 94) {
			engine_snapshot_free(snap);
			snap = NULL;
			model_free(&sm);
			if ((rc = engine_close(e)) != 0) {
				printf("close: %s\n", err_message(rc));
				failures++;
			}
			if ((rc = engine_open(argv[1], &so, &es, ENGINE_WRITER, &e)) != 0) {
				printf("reopen: %s\n", err_message(rc));
				return 1;
			}
			reopens++;
		} else {
			instant = read_op(e, NULL, &m, &sm, instant, r, op);
		}
	}
	engine_snapshot_free(snap);
	model_free(&sm);
	if (failures == 0) {
		struct engine_status st;

		engine_status(e, &st);
		printf("%d ops, %d reopens, %d full compactions, %zu keys, "
		    "%zu L0 tables, %zu runs of %zu tables, manifest %llu, "
		    "epoch %llu, last seq %llu\n", ops, reopens, compactions,
		    m.n, st.l0_tables, st.runs, st.run_tables,
		    (unsigned long long)st.manifest_id,
		    (unsigned long long)st.epoch, (unsigned long long)st.last_seq);
	}
	if (failures == 0) {
		struct engine_status st;
		size_t gone;

		/* the filter drops what the layer above no longer wants */
		engine_set_compaction_filter(e, keep_even, NULL, NULL);
		instant = expiry_step(instant, &m, &sm);
		gone = model_prune(&m, 0, rec_odd);
		if ((rc = engine_compact(e)) != 0) {
			printf("compact: %s\n", err_message(rc));
			failures++;
		}
		instant = check_all_at(e, &m, &sm, instant,
		    "after a filtered compaction");
		engine_status(e, &st);
		printf("filtered compaction: %zu keys dropped, %zu left; %zu L0 "
		    "tables, %zu runs\n", gone, m.n, st.l0_tables, st.runs);
		if (st.l0_tables != 0 || st.runs > 1) {
			printf("a full compaction left %zu L0 tables and %zu runs\n",
			    st.l0_tables, st.runs);
			failures++;
		}
		if ((rc = engine_close(e)) != 0 ||
		    (rc = engine_open(argv[1], &so, &es, ENGINE_WRITER, &e)) != 0) {
			printf("reopen: %s\n", err_message(rc));
			return 1;
		}
		instant = check_all_at(e, &m, &sm, instant, "after reopening");
	}
	engine_batch_free(b);
	buf_release(&v);
	if ((rc = engine_close(e)) != 0) {
		printf("close: %s\n", err_message(rc));
		failures++;
	}
	model_free(&m);
	return failures ? 1 : 0;
}
