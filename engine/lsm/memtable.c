/*
 * memtable.c - the in-memory table: a skiplist in an arena.
 *
 * The skiplist is LevelDB's (db/skiplist.h). Each node carries its record
 * and a tower of `height` next pointers; a node's height is drawn from a
 * per-memtable PRNG, growing by one with probability 1/MT_BRANCH up to
 * MT_MAX_HEIGHT. Nodes are never removed or changed once linked, so:
 *
 *  - memtable_add (one writer at a time, serialised by the caller) fills a
 *    node completely, then links it bottom-up, each link a release store;
 *  - readers and iterators take no lock: they load next pointers with
 *    acquire, so a node they reach is seen whole, with its key and value.
 *
 * The list height only grows; a reader that sees the new height before the
 * head's new links just finds NULL there and descends.
 *
 * Node and record bytes live in an arena of MT_CHUNK chunks (a record too
 * big for a quarter of a chunk gets a chunk of its own) freed only with the
 * memtable, which is why pointers handed out stay valid while a reference
 * is held. Reference counts are atomic; the last unref frees everything.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/memtable.h"
#include "util/xmalloc.h"

#define MT_MAX_HEIGHT	12		/* 4^12 = 16M nodes before it degrades */
#define MT_BRANCH	4
#define MT_CHUNK	(64u * 1024)	/* arena chunk */
#define MT_ALIGN	alignof(struct mt_node)

struct mt_node {
	uint64_t	 seq;
	int64_t		 expire;
	uint32_t	 klen;
	uint32_t	 vlen;
	uint8_t		 kind;
	uint8_t		 height;
	/* height links, then klen key bytes, then vlen value bytes */
	_Atomic(struct mt_node *) next[];
};

struct mt_chunk {
	struct mt_chunk	*next;
};

struct memtable {
	atomic_uint	 refs;

	/* Writer only (memtable_add), and the final unref. */
	struct mt_chunk	*chunks;	/* every chunk, newest first */
	char		*ptr;		/* free space in the current chunk */
	size_t		 avail;
	uint64_t	 rng;		/* xorshift64* state */

	struct mt_node	*head;		/* MT_MAX_HEIGHT links, no record */

	/* Written by the writer, read by anyone. */
	atomic_int	 height;	/* links in use in head, 1.. */
	atomic_size_t	 bytes;		/* arena chunks, headers included */
	_Atomic uint64_t entries;
	_Atomic uint64_t min_seq;
	_Atomic uint64_t max_seq;
};

/* How mt_find_last picks the nodes it passes. */
enum mt_find {
	MT_LT,		/* (key, seq) less than the target */
	MT_LE_KEY,	/* user key <= the target key, any seq */
	MT_ALL,		/* every node: find the last one */
};

struct mt_iter {
	struct iter	 it;
	struct memtable	*m;		/* one reference */
	struct mt_node	*node;		/* NULL when not valid */
	struct kv_entry	 e;		/* filled by entry() */
};

static const uint8_t *
node_key(const struct mt_node *n)
{
	return (const uint8_t *)&n->next[n->height];
}

static int
node_cmp(const struct mt_node *n, const void *key, size_t klen, uint64_t seq)
{
	int c = kv_key_cmp(node_key(n), n->klen, key, klen);

	if (c != 0)
		return c;
	return n->seq > seq ? -1 : n->seq < seq;
}

static struct mt_node *
node_next(struct mt_node *n, int level)
{
	return atomic_load_explicit(&n->next[level], memory_order_acquire);
}

static void
node_entry(const struct mt_node *n, struct kv_entry *e)
{
	e->key = node_key(n);
	e->klen = n->klen;
	e->val = n->kind == KV_DELETE ? NULL : e->key + n->klen;
	e->vlen = n->vlen;
	e->seq = n->seq;
	e->kind = n->kind;
	e->expire = n->expire;
}

static void *
arena_chunk(struct memtable *m, size_t n)
{
	size_t hdr = (sizeof(struct mt_chunk) + MT_ALIGN - 1) & ~(MT_ALIGN - 1);
	struct mt_chunk *c = xmalloc(hdr + n);

	c->next = m->chunks;
	m->chunks = c;
	atomic_fetch_add_explicit(&m->bytes, hdr + n, memory_order_relaxed);
	return (char *)c + hdr;
}

static void *
arena_alloc(struct memtable *m, size_t n)
{
	void *p;

	n = (n + MT_ALIGN - 1) & ~(MT_ALIGN - 1);
	if (n > m->avail) {
		if (n > MT_CHUNK / 4)
			return arena_chunk(m, n);
		m->ptr = arena_chunk(m, MT_CHUNK);
		m->avail = MT_CHUNK;
	}
	p = m->ptr;
	m->ptr += n;
	m->avail -= n;
	return p;
}

static uint64_t
rng_next(struct memtable *m)
{
	uint64_t x = m->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	m->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static int
random_height(struct memtable *m)
{
	int h = 1;

	while (h < MT_MAX_HEIGHT && (rng_next(m) >> 32) % MT_BRANCH == 0)
		h++;
	return h;
}

static int
mt_passes(const struct mt_node *n, enum mt_find how, const void *key,
    size_t klen, uint64_t seq)
{
	switch (how) {
	case MT_LT:
		return node_cmp(n, key, klen, seq) < 0;
	case MT_LE_KEY:
		return kv_key_cmp(node_key(n), n->klen, key, klen) <= 0;
	case MT_ALL:
		return 1;
	}
	abort();
}

/*
 * The last node that passes `how` (the head if none does). With prev, also
 * the last such node at every level below the list height; with after, the
 * node found after it at level 0, the one that did not pass (or NULL).
 *
 * Use *after rather than loading the result's next link again: the writer
 * may have linked a node between them in the meantime.
 */
static struct mt_node *
mt_find_last(struct memtable *m, enum mt_find how, const void *key,
    size_t klen, uint64_t seq, struct mt_node **prev, struct mt_node **after)
{
	struct mt_node *x = m->head, *next;
	int level;

	level = atomic_load_explicit(&m->height, memory_order_relaxed) - 1;
	for (;;) {
		next = node_next(x, level);
		if (next != NULL && mt_passes(next, how, key, klen, seq)) {
			x = next;
			continue;
		}
		if (prev != NULL)
			prev[level] = x;
		if (level == 0) {
			if (after != NULL)
				*after = next;
			return x;
		}
		level--;
	}
}

/* The first node >= (key, seq), or NULL. */
static struct mt_node *
mt_find_ge(struct memtable *m, const void *key, size_t klen, uint64_t seq)
{
	struct mt_node *n;

	mt_find_last(m, MT_LT, key, klen, seq, NULL, &n);
	return n;
}

struct memtable *
memtable_new(void)
{
	struct memtable *m = xcalloc(1, sizeof *m);
	int i;

	atomic_init(&m->refs, 1);
	atomic_init(&m->height, 1);
	atomic_init(&m->bytes, 0);
	atomic_init(&m->entries, 0);
	atomic_init(&m->min_seq, 0);
	atomic_init(&m->max_seq, 0);
	m->rng = 0x9e3779b97f4a7c15ULL;

	m->head = arena_alloc(m, sizeof *m->head +
	    MT_MAX_HEIGHT * sizeof m->head->next[0]);
	memset(m->head, 0, sizeof *m->head);
	m->head->height = MT_MAX_HEIGHT;
	for (i = 0; i < MT_MAX_HEIGHT; i++)
		atomic_init(&m->head->next[i], NULL);
	return m;
}

void
memtable_ref(struct memtable *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void
memtable_unref(struct memtable *m)
{
	struct mt_chunk *c, *next;

	if (m == NULL)
		return;
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (c = m->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(m);
}

void
memtable_add(struct memtable *m, const struct kv_entry *e)
{
	struct mt_node *prev[MT_MAX_HEIGHT], *n;
	size_t vlen = e->kind == KV_DELETE ? 0 : e->vlen;
	uint64_t min;
	int h, height, i;
	uint8_t *p;

	assert(e->klen <= KV_KEY_MAX && vlen <= KV_VALUE_MAX);
	assert(e->seq >= 1 && e->seq <= KV_SEQ_MAX);
	assert(e->kind == KV_PUT || e->kind == KV_DELETE);

	mt_find_last(m, MT_LT, e->key, e->klen, e->seq, prev, &n);
	assert(n == NULL || node_cmp(n, e->key, e->klen, e->seq) != 0);

	h = random_height(m);
	height = atomic_load_explicit(&m->height, memory_order_relaxed);
	if (h > height) {
		for (i = height; i < h; i++)
			prev[i] = m->head;
		atomic_store_explicit(&m->height, h, memory_order_relaxed);
	}

	n = arena_alloc(m, sizeof *n + h * sizeof n->next[0] + e->klen + vlen);
	n->seq = e->seq;
	n->expire = e->expire;
	n->klen = (uint32_t)e->klen;
	n->vlen = (uint32_t)vlen;
	n->kind = e->kind;
	n->height = (uint8_t)h;
	p = (uint8_t *)&n->next[h];
	if (e->klen != 0)
		memcpy(p, e->key, e->klen);
	if (vlen != 0)
		memcpy(p + e->klen, e->val, vlen);

	/* Bottom-up, so a node reachable at level i is at every level below. */
	for (i = 0; i < h; i++) {
		atomic_init(&n->next[i], atomic_load_explicit(&prev[i]->next[i],
		    memory_order_relaxed));
		atomic_store_explicit(&prev[i]->next[i], n,
		    memory_order_release);
	}

	/* After the link: whoever reads a count finds at least that many. */
	atomic_store_explicit(&m->entries, atomic_load_explicit(&m->entries,
	    memory_order_relaxed) + 1, memory_order_release);
	min = atomic_load_explicit(&m->min_seq, memory_order_relaxed);
	if (min == 0 || e->seq < min)
		atomic_store_explicit(&m->min_seq, e->seq, memory_order_release);
	if (e->seq > atomic_load_explicit(&m->max_seq, memory_order_relaxed))
		atomic_store_explicit(&m->max_seq, e->seq, memory_order_release);
}

size_t
memtable_bytes(const struct memtable *m)
{
	return atomic_load_explicit(&m->bytes, memory_order_relaxed);
}

uint64_t
memtable_entries(const struct memtable *m)
{
	return atomic_load_explicit(&m->entries, memory_order_acquire);
}

uint64_t
memtable_min_seq(const struct memtable *m)
{
	return atomic_load_explicit(&m->min_seq, memory_order_acquire);
}

uint64_t
memtable_max_seq(const struct memtable *m)
{
	return atomic_load_explicit(&m->max_seq, memory_order_acquire);
}

int
memtable_get(struct memtable *m, const void *key, size_t klen,
    uint64_t max_seq, struct kv_entry *out)
{
	struct mt_node *n = mt_find_ge(m, key, klen, max_seq);

	if (n == NULL || kv_key_cmp(node_key(n), n->klen, key, klen) != 0)
		return -ENOENT;
	node_entry(n, out);
	return 0;
}

static struct mt_iter *
mt_iter(struct iter *i)
{
	return (struct mt_iter *)i;
}

static void
mt_iter_seek(struct iter *i, const void *key, size_t klen)
{
	struct mt_iter *it = mt_iter(i);

	it->node = mt_find_ge(it->m, key, klen, UINT64_MAX);
}

static void
mt_iter_seek_for_prev(struct iter *i, const void *key, size_t klen)
{
	struct mt_iter *it = mt_iter(i);
	struct mt_node *n;

	n = mt_find_last(it->m, MT_LE_KEY, key, klen, 0, NULL, NULL);
	it->node = n == it->m->head ? NULL : n;
}

static void
mt_iter_seek_first(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);

	it->node = node_next(it->m->head, 0);
}

static void
mt_iter_seek_last(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);
	struct mt_node *n;

	n = mt_find_last(it->m, MT_ALL, NULL, 0, 0, NULL, NULL);
	it->node = n == it->m->head ? NULL : n;
}

/* Next and prev of an iterator that is not valid leave it so. */
static void
mt_iter_next(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);

	if (it->node != NULL)
		it->node = node_next(it->node, 0);
}

/* No back links: search for the last node before this one. */
static void
mt_iter_prev(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);
	struct mt_node *n = it->node;

	if (n == NULL)
		return;
	n = mt_find_last(it->m, MT_LT, node_key(n), n->klen, n->seq, NULL,
	    NULL);
	it->node = n == it->m->head ? NULL : n;
}

static int
mt_iter_valid(struct iter *i)
{
	return mt_iter(i)->node != NULL;
}

static const struct kv_entry *
mt_iter_entry(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);

	assert(it->node != NULL);
	node_entry(it->node, &it->e);
	return &it->e;
}

static int
mt_iter_status(struct iter *i)
{
	(void)i;
	return 0;
}

static void
mt_iter_free(struct iter *i)
{
	struct mt_iter *it = mt_iter(i);

	if (it == NULL)
		return;
	memtable_unref(it->m);
	free(it);
}

static const struct iter_ops mt_iter_ops = {
	.seek = mt_iter_seek,
	.seek_for_prev = mt_iter_seek_for_prev,
	.seek_first = mt_iter_seek_first,
	.seek_last = mt_iter_seek_last,
	.next = mt_iter_next,
	.prev = mt_iter_prev,
	.valid = mt_iter_valid,
	.entry = mt_iter_entry,
	.status = mt_iter_status,
	.free = mt_iter_free,
};

struct iter *
memtable_iter_new(struct memtable *m)
{
	struct mt_iter *it = xcalloc(1, sizeof *it);

	it->it.ops = &mt_iter_ops;
	memtable_ref(m);
	it->m = m;
	it->node = NULL;
	return &it->it;
}
