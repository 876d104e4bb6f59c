/*
 * block_cache.c - decompressed data blocks in memory, least recently used
 * out first.
 *
 * The cache is 1 to 16 shards (a power of two; fewer when the budget is
 * small, so that a shard holds at least SHARD_MIN bytes), each with an
 * equal share of the budget, a mutex, a hash table of its blocks chained
 * through cblock.hnext and a list in order of use, most recent first. A
 * block's name (table id, offset) is hashed once: the high half picks the
 * shard, the low half the bucket. A shard's bytes never pass its share, so
 * the cache's never pass the budget.
 *
 * A cblock is one allocation: its header and its contents. While cached
 * the cache holds a reference; eviction and dropping unlink the block
 * under the shard's lock and release that reference after unlocking, so a
 * reader's reference keeps the bytes alive and no block is freed under a
 * lock.
 */
#include "config.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/lsm/block_cache.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define SHARDS_MAX	16
#define SHARD_MIN	((uint64_t)512 << 10)
#define BUCKETS_MIN	64

struct cblock {
	_Atomic unsigned refs;
	int		 cached;	/* shard lock: linked in a shard */
	uint64_t	 table;		/* the name, set by put */
	uint64_t	 off;
	uint64_t	 hash;
	struct cblock	*hnext;		/* shard lock: bucket chain */
	struct cblock	*prev, *next;	/* shard lock: order of use */
	size_t		 n;
	uint8_t		 data[];
};

/* Bytes a block is charged: its contents and its header. */
#define CHARGE(b)	((uint64_t)(b)->n + sizeof(struct cblock))

/* Every field but budget: lock. */
struct shard {
	pthread_mutex_t	 lock;
	struct cblock	**buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 nblocks;
	struct cblock	*head, *tail;	/* most, least recently used */
	uint64_t	 bytes;
	uint64_t	 budget;
	uint64_t	 hits, misses, evictions;
	char		 pad[64];	/* no false sharing */
};

struct block_cache {
	struct shard		*shards;
	unsigned		 nshards;	/* a power of two */
	uint64_t		 budget;
	struct cache_metrics	 m;
};

static _Atomic uint64_t next_table_id = 1;

void
cache_metrics_init(struct cache_metrics *cm, struct metrics *m,
    const char *cache)
{
	if (m == NULL)
		m = metrics_global();
	cm->hits = metric_series(metrics_counter(m, "engine_cache_hits_total",
	    "Lookups answered from a cache, by cache.", "cache"), cache);
	cm->misses = metric_series(metrics_counter(m,
	    "engine_cache_misses_total",
	    "Lookups a cache could not answer, by cache.", "cache"), cache);
	cm->evictions = metric_series(metrics_counter(m,
	    "engine_cache_evictions_total",
	    "Entries a cache dropped to make room, by cache.", "cache"), cache);
	cm->bytes = metric_series(metrics_gauge(m, "engine_cache_bytes",
	    "Bytes a cache holds, by cache.", "cache"), cache);
}

uint64_t
block_cache_table_id(void)
{
	return atomic_fetch_add(&next_table_id, 1);
}

struct cblock *
cblock_new(size_t n)
{
	struct cblock *b = xmalloc(sizeof(*b) + n);
#ifdef MADV_POPULATE_WRITE
	/*
	 * A big block is usually new memory (the cache grows into it):
	 * its pages in one call rather than a fault each. Only pages wholly
	 * inside it; an old kernel says EINVAL and faults as before.
	 */
	uintptr_t lo = ((uintptr_t)b->data + 4095) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)b->data + n) & ~(uintptr_t)4095;

	if (hi > lo + 4096)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif

	memset(b, 0, sizeof(*b));
	atomic_init(&b->refs, 1);
	b->n = n;
	return b;
}

void
cblock_unref(struct cblock *b)
{
	if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

uint8_t *
cblock_data(struct cblock *b)
{
	return b->data;
}

size_t
cblock_size(const struct cblock *b)
{
	return b->n;
}

/* splitmix64's finaliser over the name. */
static uint64_t
hash_name(uint64_t table, uint64_t off)
{
	uint64_t h = table * 0x9e3779b97f4a7c15ull ^ off;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static struct shard *
shard_of(struct block_cache *c, uint64_t hash)
{
	return &c->shards[(hash >> 32) & (c->nshards - 1)];
}

struct block_cache *
block_cache_new(uint64_t budget)
{
	struct block_cache *c;
	unsigned i, n = SHARDS_MAX;

	if (budget == 0)
		return NULL;
	while (n > 1 && budget / n < SHARD_MIN)
		n /= 2;
	c = xcalloc(1, sizeof(*c));
	c->nshards = n;
	c->budget = budget;
	c->shards = xcalloc(n, sizeof(*c->shards));
	for (i = 0; i < n; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].nbuckets = BUCKETS_MIN;
		c->shards[i].buckets = xcalloc(BUCKETS_MIN,
		    sizeof(*c->shards[i].buckets));
		c->shards[i].budget = budget / n;
	}
	cache_metrics_init(&c->m, NULL, "block");
	return c;
}

/* Take b out of the order of use (not out of the hash table). */
static void
lru_unlink(struct shard *s, struct cblock *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		s->head = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	else
		s->tail = b->prev;
	b->prev = b->next = NULL;
}

static void
lru_push_front(struct shard *s, struct cblock *b)
{
	b->prev = NULL;
	b->next = s->head;
	if (s->head != NULL)
		s->head->prev = b;
	else
		s->tail = b;
	s->head = b;
}

/* Unlink b from its shard (locked) and chain it on *gone through hnext. */
static void
unlink_locked(struct shard *s, struct cblock *b, struct cblock **gone)
{
	struct cblock **pp = &s->buckets[b->hash & (s->nbuckets - 1)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	lru_unlink(s, b);
	b->cached = 0;
	s->nblocks--;
	s->bytes -= CHARGE(b);
	b->hnext = *gone;
	*gone = b;
}

/* Release the cache's references to the blocks unlinked; their bytes. */
static uint64_t
release_gone(struct cblock *gone)
{
	struct cblock *b;
	uint64_t bytes = 0;

	while ((b = gone) != NULL) {
		gone = b->hnext;
		bytes += CHARGE(b);
		cblock_unref(b);
	}
	return bytes;
}

/* Unlink the blocks of `table` from s, or all of them; chain them on *gone. */
static void
shard_drop(struct shard *s, uint64_t table, int all, struct cblock **gone)
{
	struct cblock *b, *next;

	pthread_mutex_lock(&s->lock);
	for (b = s->head; b != NULL; b = next) {
		next = b->next;
		if (all || b->table == table)
			unlink_locked(s, b, gone);
	}
	pthread_mutex_unlock(&s->lock);
}

void
block_cache_free(struct block_cache *c)
{
	struct cblock *gone = NULL;
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nshards; i++) {
		shard_drop(&c->shards[i], 0, 1, &gone);
		pthread_mutex_destroy(&c->shards[i].lock);
		free(c->shards[i].buckets);
	}
	metric_add(c->m.bytes, -(double)release_gone(gone));
	free(c->shards);
	free(c);
}

static struct cblock *
find_locked(struct shard *s, uint64_t hash, uint64_t table, uint64_t off)
{
	struct cblock *b;

	for (b = s->buckets[hash & (s->nbuckets - 1)]; b != NULL; b = b->hnext)
		if (b->table == table && b->off == off)
			return b;
	return NULL;
}

struct cblock *
block_cache_get(struct block_cache *c, uint64_t table, uint64_t off)
{
	uint64_t h = hash_name(table, off);
	struct shard *s;
	struct cblock *b;

	if (c == NULL)
		return NULL;
	s = shard_of(c, h);
	pthread_mutex_lock(&s->lock);
	if ((b = find_locked(s, h, table, off)) != NULL) {
		if (b != s->head) {
			lru_unlink(s, b);
			lru_push_front(s, b);
		}
		atomic_fetch_add(&b->refs, 1);
		s->hits++;
	} else
		s->misses++;
	pthread_mutex_unlock(&s->lock);
	metric_add(b != NULL ? c->m.hits : c->m.misses, 1);
	return b;
}

/* Twice the buckets when there are more blocks than buckets. */
static void
grow_locked(struct shard *s)
{
	size_t n = s->nbuckets * 2, i;
	struct cblock **nb, *b, *next;

	nb = xcalloc(n, sizeof(*nb));
	for (i = 0; i < s->nbuckets; i++) {
		for (b = s->buckets[i]; b != NULL; b = next) {
			next = b->hnext;
			b->hnext = nb[b->hash & (n - 1)];
			nb[b->hash & (n - 1)] = b;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
}

void
block_cache_put(struct block_cache *c, uint64_t table, uint64_t off,
    struct cblock *b)
{
	uint64_t h = hash_name(table, off), charge, freed;
	struct cblock *gone = NULL, **bucket;
	struct shard *s;
	unsigned evicted = 0;

	if (c == NULL)
		return;
	assert(!b->cached);
	s = shard_of(c, h);
	charge = CHARGE(b);
	if (charge > s->budget)
		return;
	pthread_mutex_lock(&s->lock);
	if (find_locked(s, h, table, off) != NULL) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	while (s->bytes + charge > s->budget) {
		unlink_locked(s, s->tail, &gone);
		evicted++;
	}
	s->evictions += evicted;
	b->table = table;
	b->off = off;
	b->hash = h;
	b->cached = 1;
	atomic_fetch_add(&b->refs, 1);
	bucket = &s->buckets[h & (s->nbuckets - 1)];
	b->hnext = *bucket;
	*bucket = b;
	lru_push_front(s, b);
	s->bytes += charge;
	if (++s->nblocks > s->nbuckets)
		grow_locked(s);
	pthread_mutex_unlock(&s->lock);
	freed = release_gone(gone);
	metric_add(c->m.bytes, (double)charge - (double)freed);
	if (evicted > 0)
		metric_add(c->m.evictions, evicted);
}

void
block_cache_drop(struct block_cache *c, uint64_t table)
{
	struct cblock *gone = NULL;
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nshards; i++)
		shard_drop(&c->shards[i], table, 0, &gone);
	metric_add(c->m.bytes, -(double)release_gone(gone));
}

void
block_cache_drop_blocks(struct block_cache *c, uint64_t table,
    const uint64_t *offs, size_t n)
{
	struct cblock *gone = NULL, *b;
	struct shard *s;
	uint64_t h;

	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		h = hash_name(table, offs[i]);
		s = shard_of(c, h);
		pthread_mutex_lock(&s->lock);
		if ((b = find_locked(s, h, table, offs[i])) != NULL)
			unlink_locked(s, b, &gone);
		pthread_mutex_unlock(&s->lock);
	}
	metric_add(c->m.bytes, -(double)release_gone(gone));
}

void
block_cache_stats(struct block_cache *c, struct block_cache_stats *st)
{
	struct shard *s;
	unsigned i;

	memset(st, 0, sizeof(*st));
	if (c == NULL)
		return;
	st->budget = c->budget;
	for (i = 0; i < c->nshards; i++) {
		s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		st->hits += s->hits;
		st->misses += s->misses;
		st->evictions += s->evictions;
		st->bytes += s->bytes;
		st->blocks += s->nblocks;
		pthread_mutex_unlock(&s->lock);
	}
}
