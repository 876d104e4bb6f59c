/*
 * test_memtable.c - the skiplist memtable.
 *
 * Exercises: an empty table; a hand-built table of versions and deletes
 * (memtable_get at every max_seq, seek and seek_for_prev landing on the
 * newest and oldest version); random records against a sorted reference
 * array: forward and backward iteration, seek and seek_for_prev at, between,
 * before and after keys (empty keys, keys that are prefixes of others,
 * 0x00 and 0xff bytes), moving both ways after a seek, memtable_get with
 * max_seq visibility, entries and min/max seq; memtable_bytes growing and
 * counting big records; an iterator keeping the table alive after the
 * creator's unref (run under ASan); one writer adding 200k records while
 * three readers iterate, seek, step back and get, checking order, max_seq
 * and that every record they see is whole, and the same with a few keys and
 * descending seqs (run under TSan).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/memtable.h"
#include "util/xmalloc.h"

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t
hash(const uint8_t *key, size_t klen, uint64_t seq)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seq;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ULL;
}

/* The value of (key, seq): its length and bytes derive from both. */
static size_t
value_len(const uint8_t *key, size_t klen, uint64_t seq, size_t max)
{
	return hash(key, klen, seq) % (max + 1);
}

static void
value_fill(const uint8_t *key, size_t klen, uint64_t seq, uint8_t *v,
    size_t vlen)
{
	uint64_t h = hash(key, klen, seq);
	size_t i;

	for (i = 0; i < vlen; i++)
		v[i] = (uint8_t)((h >> (i % 8 * 8)) ^ i);
}

static int
value_ok(const struct kv_entry *e)
{
	uint64_t h = hash(e->key, e->klen, e->seq);
	size_t i;

	for (i = 0; i < e->vlen; i++)
		if (e->val[i] != (uint8_t)((h >> (i % 8 * 8)) ^ i))
			return 0;
	return 1;
}

static int
entry_qsort_cmp(const void *a, const void *b)
{
	return kv_entry_cmp(a, b);
}

static void
assert_entry_equal(const struct kv_entry *a, const struct kv_entry *b)
{
	assert_int_equal(a->klen, b->klen);
	if (a->klen != 0)
		assert_memory_equal(a->key, b->key, a->klen);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->expire, b->expire);
	if (a->kind == KV_DELETE) {
		assert_null(a->val);
		assert_null(b->val);
		return;
	}
	assert_non_null(a->val);
	assert_non_null(b->val);
	assert_int_equal(a->vlen, b->vlen);
	if (a->vlen != 0)
		assert_memory_equal(a->val, b->val, a->vlen);
}

static void
add(struct memtable *m, const char *key, uint64_t seq, const char *val)
{
	struct kv_entry e = {
		.key = (const uint8_t *)key, .klen = strlen(key),
		.val = (const uint8_t *)val, .vlen = val ? strlen(val) : 0,
		.seq = seq, .kind = val ? KV_PUT : KV_DELETE,
		.expire = (int64_t)seq * 1000,
	};

	memtable_add(m, &e);
}

static void
assert_at(struct iter *it, const char *key, uint64_t seq)
{
	const struct kv_entry *e;

	assert_true(iter_valid(it));
	e = iter_entry(it);
	assert_int_equal(e->klen, strlen(key));
	assert_memory_equal(e->key, key, e->klen);
	assert_int_equal(e->seq, seq);
}

static void
test_empty(void **state)
{
	struct memtable *m = memtable_new();
	struct iter *it = memtable_iter_new(m);
	struct kv_entry e;

	(void)state;
	assert_int_equal(memtable_entries(m), 0);
	assert_int_equal(memtable_min_seq(m), 0);
	assert_int_equal(memtable_max_seq(m), 0);
	assert_int_equal(memtable_get(m, "", 0, UINT64_MAX, &e), -ENOENT);
	assert_int_equal(memtable_get(m, "a", 1, UINT64_MAX, &e), -ENOENT);
	assert_false(iter_valid(it));
	iter_seek_first(it);
	assert_false(iter_valid(it));
	iter_seek_last(it);
	assert_false(iter_valid(it));
	iter_seek(it, "", 0);
	assert_false(iter_valid(it));
	iter_seek_for_prev(it, "\xff\xff", 2);
	assert_false(iter_valid(it));
	iter_next(it);
	iter_prev(it);
	assert_false(iter_valid(it));
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
	memtable_unref(m);
}

static void
test_versions(void **state)
{
	struct memtable *m = memtable_new();
	struct iter *it;
	struct kv_entry e;

	(void)state;
	add(m, "k", 5, "v5");
	add(m, "k", 1, "v1");
	add(m, "kk", 2, "kk2");
	add(m, "k", 3, NULL);
	add(m, "", 4, "");
	add(m, "j", 7, NULL);
	assert_int_equal(memtable_entries(m), 6);
	assert_int_equal(memtable_min_seq(m), 1);
	assert_int_equal(memtable_max_seq(m), 7);

	assert_int_equal(memtable_get(m, "k", 1, 0, &e), -ENOENT);
	assert_int_equal(memtable_get(m, "k", 1, 1, &e), 0);
	assert_int_equal(e.kind, KV_PUT);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.vlen, 2);
	assert_memory_equal(e.val, "v1", 2);
	assert_int_equal(e.expire, 1000);
	assert_int_equal(memtable_get(m, "k", 1, 2, &e), 0);
	assert_int_equal(e.seq, 1);
	assert_int_equal(memtable_get(m, "k", 1, 3, &e), 0);
	assert_int_equal(e.kind, KV_DELETE);
	assert_int_equal(e.seq, 3);
	assert_null(e.val);
	assert_int_equal(memtable_get(m, "k", 1, 4, &e), 0);
	assert_int_equal(e.kind, KV_DELETE);
	assert_int_equal(memtable_get(m, "k", 1, 5, &e), 0);
	assert_int_equal(e.kind, KV_PUT);
	assert_memory_equal(e.val, "v5", 2);
	assert_int_equal(memtable_get(m, "k", 1, UINT64_MAX, &e), 0);
	assert_int_equal(e.seq, 5);
	assert_int_equal(memtable_get(m, "kk", 2, 1, &e), -ENOENT);
	assert_int_equal(memtable_get(m, "kk", 2, 2, &e), 0);
	assert_int_equal(memtable_get(m, "kkk", 3, 100, &e), -ENOENT);
	assert_int_equal(memtable_get(m, "", 0, 3, &e), -ENOENT);
	assert_int_equal(memtable_get(m, "", 0, 4, &e), 0);
	assert_int_equal(e.kind, KV_PUT);
	assert_non_null(e.val);
	assert_int_equal(e.vlen, 0);
	assert_int_equal(memtable_get(m, "j", 1, 100, &e), 0);
	assert_int_equal(e.kind, KV_DELETE);
	assert_int_equal(memtable_get(m, "i", 1, 100, &e), -ENOENT);

	it = memtable_iter_new(m);
	iter_seek(it, "k", 1);
	assert_at(it, "k", 5);
	iter_prev(it);
	assert_at(it, "j", 7);
	iter_seek_for_prev(it, "k", 1);
	assert_at(it, "k", 1);
	iter_next(it);
	assert_at(it, "kk", 2);
	iter_next(it);
	assert_false(iter_valid(it));
	iter_seek_for_prev(it, "ka", 2);
	assert_at(it, "k", 1);
	iter_prev(it);
	assert_at(it, "k", 3);
	iter_seek(it, "ka", 2);
	assert_at(it, "kk", 2);
	iter_seek(it, "", 0);
	assert_at(it, "", 4);
	iter_seek_for_prev(it, "", 0);
	assert_at(it, "", 4);
	iter_prev(it);
	assert_false(iter_valid(it));
	iter_seek_for_prev(it, "\x00", 1);
	assert_at(it, "", 4);
	iter_seek(it, "kk\x00", 3);
	assert_false(iter_valid(it));
	iter_seek_last(it);
	assert_at(it, "kk", 2);
	iter_seek_first(it);
	assert_at(it, "", 4);
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
	memtable_unref(m);
}

/* Keys over a small alphabet with 0x00 and 0xff, of 0..5 bytes. */
static const uint8_t alphabet[] = { 0x00, 'a', 'b', 0xff };

struct ref {
	struct kv_entry	*e;		/* sorted */
	size_t		 n;
	uint8_t		*keys;		/* 8 bytes per record */
};

static void
ref_build(struct ref *r, struct memtable *m, size_t n, uint64_t *seed)
{
	uint64_t *seqs = xmalloc(n * sizeof *seqs);
	size_t i, j, klen, vlen;
	uint8_t *key, *val;
	struct kv_entry *e;
	uint64_t t;

	/* Unique seqs 1..n in random order. */
	for (i = 0; i < n; i++)
		seqs[i] = i + 1;
	for (i = n - 1; i > 0; i--) {
		j = rnd(seed) % (i + 1);
		t = seqs[i];
		seqs[i] = seqs[j];
		seqs[j] = t;
	}
	r->e = xcalloc(n, sizeof *r->e);
	r->keys = xmalloc(n * 8);
	r->n = n;
	for (i = 0; i < n; i++) {
		e = &r->e[i];
		key = r->keys + i * 8;
		klen = rnd(seed) % 6;
		for (j = 0; j < klen; j++)
			key[j] = alphabet[rnd(seed) % sizeof alphabet];
		e->key = key;
		e->klen = klen;
		e->seq = seqs[i];
		e->expire = (int64_t)(rnd(seed) % 3) * 12345;
		e->kind = rnd(seed) % 5 == 0 ? KV_DELETE : KV_PUT;
		if (e->kind == KV_PUT) {
			/* Now and then a record bigger than a quarter chunk. */
			if (rnd(seed) % 200 == 0)
				vlen = 20000 + value_len(key, klen, e->seq, 100000);
			else
				vlen = value_len(key, klen, e->seq, 100);
			val = xmalloc(vlen);
			value_fill(key, klen, e->seq, val, vlen);
			e->val = val;
			e->vlen = vlen;
		}
		memtable_add(m, e);
	}
	qsort(r->e, n, sizeof *r->e, entry_qsort_cmp);
	free(seqs);
}

static void
ref_free(struct ref *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free((void *)r->e[i].val);
	free(r->e);
	free(r->keys);
}

/* Index of the first record with key >= k, or n. */
static size_t
ref_seek(const struct ref *r, const uint8_t *k, size_t klen)
{
	size_t lo = 0, hi = r->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kv_key_cmp(r->e[mid].key, r->e[mid].klen, k, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index + 1 of the last record with key <= k, or 0. */
static size_t
ref_seek_for_prev(const struct ref *r, const uint8_t *k, size_t klen)
{
	size_t lo = 0, hi = r->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (kv_key_cmp(r->e[mid].key, r->e[mid].klen, k, klen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The iterator is at ref[i] (or invalid for i == n); step around it. */
static void
check_around(const struct ref *r, struct iter *it, size_t i, uint64_t *seed)
{
	size_t j = i;
	int k, steps = (int)(rnd(seed) % 6);

	if (i == r->n) {
		assert_false(iter_valid(it));
		return;
	}
	assert_entry_equal(iter_entry(it), &r->e[i]);
	for (k = 0; k < steps; k++) {
		if (rnd(seed) % 2) {
			iter_next(it);
			if (++j == r->n) {
				assert_false(iter_valid(it));
				return;
			}
		} else {
			iter_prev(it);
			if (j-- == 0) {
				assert_false(iter_valid(it));
				return;
			}
		}
		assert_entry_equal(iter_entry(it), &r->e[j]);
	}
}

static void
check_probe(const struct ref *r, struct memtable *m, struct iter *it,
    const uint8_t *k, size_t klen, uint64_t *seed)
{
	size_t i, j;
	uint64_t max_seq;
	struct kv_entry e;
	int rc, n;

	i = ref_seek(r, k, klen);
	iter_seek(it, k, klen);
	check_around(r, it, i, seed);

	i = ref_seek_for_prev(r, k, klen);
	iter_seek_for_prev(it, k, klen);
	if (i == 0)
		assert_false(iter_valid(it));
	else
		check_around(r, it, i - 1, seed);

	/* Get at a few max_seqs: each version's, one below, none, all. */
	i = ref_seek(r, k, klen);
	for (n = -2; n < 6; n++) {
		if (n == -2)
			max_seq = 0;
		else if (n == -1)
			max_seq = UINT64_MAX;
		else if (i + (size_t)n / 2 < r->n)
			max_seq = r->e[i + (size_t)n / 2].seq - (size_t)n % 2;
		else
			max_seq = rnd(seed) % (r->n + 2);
		rc = memtable_get(m, k, klen, max_seq, &e);
		for (j = i; j < r->n && kv_key_cmp(r->e[j].key, r->e[j].klen,
		    k, klen) == 0; j++)
			if (r->e[j].seq <= max_seq)
				break;
		if (j == r->n || kv_key_cmp(r->e[j].key, r->e[j].klen,
		    k, klen) != 0) {
			assert_int_equal(rc, -ENOENT);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_entry_equal(&e, &r->e[j]);
	}
}

static void
test_random(void **state)
{
	struct memtable *m = memtable_new();
	uint64_t seed = 0x1234567;
	struct ref r;
	struct iter *it;
	uint8_t k[8];
	size_t i, j, n, x, klen;

	(void)state;
	ref_build(&r, m, 20000, &seed);
	assert_int_equal(memtable_entries(m), r.n);
	assert_int_equal(memtable_min_seq(m), 1);
	assert_int_equal(memtable_max_seq(m), r.n);

	it = memtable_iter_new(m);
	for (iter_seek_first(it), i = 0; iter_valid(it); iter_next(it), i++) {
		assert_true(i < r.n);
		assert_entry_equal(iter_entry(it), &r.e[i]);
	}
	assert_int_equal(i, r.n);
	for (iter_seek_last(it), i = r.n; iter_valid(it); iter_prev(it)) {
		assert_true(i > 0);
		assert_entry_equal(iter_entry(it), &r.e[--i]);
	}
	assert_int_equal(i, 0);

	/* Every key of 0..3 bytes over the alphabet and 'c' between. */
	for (klen = 0; klen <= 3; klen++) {
		n = 1;
		for (j = 0; j < klen; j++)
			n *= 5;
		for (i = 0; i < n; i++) {
			for (j = 0, x = i; j < klen; j++, x /= 5)
				k[j] = x % 5 == 4 ? 'c' : alphabet[x % 5];
			check_probe(&r, m, it, k, klen, &seed);
		}
	}
	/* Every stored key, and just past it, and with a byte cut off. */
	for (i = 0; i < r.n; i += 7) {
		klen = r.e[i].klen;
		memcpy(k, r.e[i].key, klen);
		check_probe(&r, m, it, k, klen, &seed);
		k[klen] = 0x00;
		check_probe(&r, m, it, k, klen + 1, &seed);
		k[klen] = 0xff;
		check_probe(&r, m, it, k, klen + 1, &seed);
		if (klen > 0)
			check_probe(&r, m, it, k, klen - 1, &seed);
	}
	assert_int_equal(iter_status(it), 0);
	iter_free(it);
	memtable_unref(m);
	ref_free(&r);
}

static void
test_bytes(void **state)
{
	struct memtable *m = memtable_new();
	struct kv_entry e = { .kind = KV_PUT };
	size_t before, now, payload = 0;
	uint8_t key[16], *big;
	uint64_t seq;

	(void)state;
	before = memtable_bytes(m);
	for (seq = 1; seq <= 10000; seq++) {
		e.klen = (size_t)snprintf((char *)key, sizeof key, "key%06u",
		    (unsigned)seq);
		e.key = key;
		e.val = key;
		e.vlen = e.klen;
		e.seq = seq;
		memtable_add(m, &e);
		payload += e.klen + e.vlen;
		now = memtable_bytes(m);
		assert_true(now >= before);
		before = now;
	}
	/* Records and a node's overhead at least. */
	assert_true(before >= payload + 10000 * 2 * sizeof(void *));

	big = xcalloc(1, 1 << 20);
	e.key = (const uint8_t *)"big";
	e.klen = 3;
	e.val = big;
	e.vlen = 1 << 20;
	e.seq = seq;
	memtable_add(m, &e);
	assert_true(memtable_bytes(m) >= before + (1 << 20));
	assert_int_equal(memtable_get(m, "big", 3, UINT64_MAX, &e), 0);
	assert_int_equal(e.vlen, 1 << 20);
	assert_memory_equal(e.val, big, 1 << 20);
	free(big);
	memtable_unref(m);
}

static void
test_refcount(void **state)
{
	struct memtable *m = memtable_new();
	struct iter *it;
	const struct kv_entry *e;
	struct kv_entry g;
	uint64_t seq;
	char key[16];
	int n;

	(void)state;
	for (seq = 1; seq <= 3000; seq++) {
		snprintf(key, sizeof key, "%05u", (unsigned)seq);
		add(m, key, seq, key);
	}
	memtable_ref(m);
	memtable_unref(m);
	assert_int_equal(memtable_get(m, "00042", 5, UINT64_MAX, &g), 0);

	it = memtable_iter_new(m);
	memtable_unref(m);		/* the iterator's reference remains */
	iter_seek(it, "00042", 5);
	e = iter_entry(it);
	assert_memory_equal(e->val, "00042", 5);
	for (iter_seek_first(it), n = 0; iter_valid(it); iter_next(it), n++) {
		e = iter_entry(it);
		assert_int_equal(e->klen, 5);
		assert_memory_equal(e->key, e->val, 5);
	}
	assert_int_equal(n, 3000);
	for (iter_seek_last(it), n = 0; iter_valid(it); iter_prev(it), n++)
		;
	assert_int_equal(n, 3000);
	iter_free(it);			/* frees the table; ASan checks */
}

/*
 * One writer, three readers. Two shapes: many keys with ascending seqs (the
 * engine's own order: long scans while the list grows), and a few keys with
 * descending seqs, where each new record lands right after the node a seek
 * for the next key stops at (a seek that reloads that link finds it).
 */
#define CC_READERS	3

struct cc_shape {
	uint64_t	 records;
	unsigned	 keys;
	int		 descending;	/* seqs records..1, not 1..records */
	int		 ops;		/* seeks and gets per reader pass */
};

struct cc {
	struct memtable	*m;
	const struct cc_shape *shape;
	atomic_int	 done;
	uint64_t	 seed;
	long		 passes;	/* by this reader */
	long		 seen;
	int		 bad;		/* which check failed */
};

static size_t
cc_key(uint8_t *key, unsigned k)
{
	return (size_t)snprintf((char *)key, 16, "k%05u", k);
}

static int
cc_entry_ok(const struct kv_entry *e)
{
	if (e->kind == KV_DELETE)
		return e->seq % 7 == 0 && e->val == NULL && e->vlen == 0 &&
		    e->expire == (int64_t)e->seq * 3;
	if (e->seq % 7 == 0 || e->val == NULL || e->expire != (int64_t)e->seq * 3)
		return 0;
	if (e->vlen != value_len(e->key, e->klen, e->seq, 64))
		return 0;
	return value_ok(e);
}

static void *
cc_writer(void *arg)
{
	struct cc *c = arg;
	const struct cc_shape *sh = c->shape;
	uint8_t key[16], val[64];
	struct kv_entry e;
	uint64_t i, seq;

	for (i = 1; i <= sh->records; i++) {
		seq = sh->descending ? sh->records + 1 - i : i;
		e.key = key;
		e.klen = cc_key(key, (unsigned)(rnd(&c->seed) % sh->keys));
		e.seq = seq;
		e.expire = (int64_t)seq * 3;
		if (seq % 7 == 0) {
			e.kind = KV_DELETE;
			e.val = NULL;
			e.vlen = 0;
		} else {
			e.kind = KV_PUT;
			e.vlen = value_len(key, e.klen, seq, 64);
			value_fill(key, e.klen, seq, val, e.vlen);
			e.val = val;
		}
		memtable_add(c->m, &e);
	}
	return NULL;
}

/* Seeks both ways, a step back, gets; 0 or the failed check. */
static int
cc_probe(struct cc *c, struct iter *it)
{
	const struct kv_entry *e;
	struct kv_entry prev, g;
	uint8_t key[16];
	uint64_t max_seq;
	size_t klen;

	klen = cc_key(key, (unsigned)(rnd(&c->seed) % c->shape->keys));
	iter_seek_for_prev(it, key, klen);
	if (iter_valid(it)) {
		e = iter_entry(it);
		if (!cc_entry_ok(e) || kv_key_cmp(e->key, e->klen, key, klen) > 0)
			return 4;
		prev = *e;	/* its key and value are in the arena */
		iter_prev(it);
		if (iter_valid(it) && (!cc_entry_ok(iter_entry(it)) ||
		    kv_entry_cmp(iter_entry(it), &prev) >= 0))
			return 5;
	}
	iter_seek(it, key, klen);
	if (iter_valid(it)) {
		e = iter_entry(it);
		if (!cc_entry_ok(e) || kv_key_cmp(e->key, e->klen, key, klen) < 0)
			return 6;
	}
	max_seq = rnd(&c->seed) % 2 ? UINT64_MAX :
	    rnd(&c->seed) % (c->shape->records + 1);
	if (memtable_get(c->m, key, klen, max_seq, &g) == 0 &&
	    (!cc_entry_ok(&g) || g.seq > max_seq ||
	    kv_key_cmp(g.key, g.klen, key, klen) != 0))
		return 7;
	return 0;
}

static void *
cc_reader(void *arg)
{
	struct cc *c = arg;
	struct iter *it = memtable_iter_new(c->m);
	const struct kv_entry *e;
	struct kv_entry prev;
	uint64_t before, n;
	int last = 0, i;

	while (!c->bad && !last) {
		last = atomic_load(&c->done);
		before = memtable_entries(c->m);
		/* A full scan: sorted, whole, at least `before` records. */
		n = 0;
		for (iter_seek_first(it); iter_valid(it); iter_next(it), n++) {
			e = iter_entry(it);
			if (!cc_entry_ok(e) || (n > 0 && kv_entry_cmp(&prev, e) >= 0)) {
				c->bad = 1;
				break;
			}
			prev = *e;
		}
		c->seen += (long)n;
		if (!c->bad && n < before)
			c->bad = 2;
		if (!c->bad && last && n != c->shape->records)
			c->bad = 3;
		for (i = 0; i < c->shape->ops && !c->bad; i++)
			c->bad = cc_probe(c, it);
		c->passes++;
	}
	iter_free(it);
	return NULL;
}

static void
run_concurrent(const struct cc_shape *sh)
{
	struct memtable *m = memtable_new();
	struct cc w = { .m = m, .shape = sh, .seed = 42 }, r[CC_READERS];
	pthread_t wt, rt[CC_READERS];
	int i;

	for (i = 0; i < CC_READERS; i++) {
		memset(&r[i], 0, sizeof r[i]);
		r[i].m = m;
		r[i].shape = sh;
		r[i].seed = 1000 + (uint64_t)i;
		assert_int_equal(pthread_create(&rt[i], NULL, cc_reader, &r[i]), 0);
	}
	assert_int_equal(pthread_create(&wt, NULL, cc_writer, &w), 0);
	assert_int_equal(pthread_join(wt, NULL), 0);
	for (i = 0; i < CC_READERS; i++)
		atomic_store(&r[i].done, 1);	/* one more pass, then stop */
	for (i = 0; i < CC_READERS; i++) {
		assert_int_equal(pthread_join(rt[i], NULL), 0);
		print_message("reader %d: %ld passes, %ld records seen\n", i,
		    r[i].passes, r[i].seen);
		assert_int_equal(r[i].bad, 0);
		assert_true(r[i].passes >= 1);
	}
	assert_int_equal(memtable_entries(m), sh->records);
	assert_int_equal(memtable_min_seq(m), 1);
	assert_int_equal(memtable_max_seq(m), sh->records);
	assert_true(memtable_bytes(m) > sh->records * 32);
	memtable_unref(m);
}

static void
test_concurrent(void **state)
{
	static const struct cc_shape sh = {
		.records = 200000, .keys = 50000, .descending = 0, .ops = 200,
	};

	(void)state;
	run_concurrent(&sh);
}

static void
test_concurrent_versions(void **state)
{
	static const struct cc_shape sh = {
		.records = 100000, .keys = 4, .descending = 1, .ops = 2000,
	};

	(void)state;
	run_concurrent(&sh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_concurrent_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
