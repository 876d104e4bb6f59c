/*
 * test_block_cache.c - the in-memory block cache.
 *
 * Hits and misses (by table and offset; a second put under a name keeps
 * the first block), and the metrics they move in the global registry,
 * which cache_metrics_init() finds again for any cache name. Eviction in
 * order of last use. The budget: after every put of blocks from 1 byte to
 * past a shard's share, the bytes charged stay within it and agree with
 * the blocks a lookup finds; a block bigger than a shard's share is not
 * kept. A block a reader holds stays whole after it is evicted, dropped,
 * or the cache freed. Dropping a table forgets its blocks only. A budget
 * of 0 is no cache. Four threads, 100,000 operations each, get, put and
 * drop over a working set twice the budget, checking every byte of every
 * block they get.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/block_cache.h"
#include "util/metrics.h"

#define KIB	((size_t)1 << 10)

/* The byte every block of (table, off) is filled with. */
static uint8_t
fill_byte(uint64_t table, uint64_t off)
{
	return (uint8_t)(table * 31 + off * 7 + 1);
}

static struct cblock *
make(uint64_t table, uint64_t off, size_t n)
{
	struct cblock *b = cblock_new(n);

	memset(cblock_data(b), fill_byte(table, off), n);
	return b;
}

/* Put a new block of n bytes as (table, off), keeping no reference. */
static void
put(struct block_cache *c, uint64_t table, uint64_t off, size_t n)
{
	struct cblock *b = make(table, off, n);

	block_cache_put(c, table, off, b);
	cblock_unref(b);
}

/* The block is whole: n bytes, every one what make() wrote. */
static int
whole(struct cblock *b, uint64_t table, uint64_t off, size_t n)
{
	const uint8_t *p = cblock_data(b);
	uint8_t want = fill_byte(table, off);

	if (cblock_size(b) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] != want)
			return 0;
	return 1;
}

/* Whether (table, off) is cached (a lookup: it becomes the most recent). */
static int
cached(struct block_cache *c, uint64_t table, uint64_t off)
{
	struct cblock *b = block_cache_get(c, table, off);

	cblock_unref(b);
	return b != NULL;
}

static double
global_value(const char *family, const char *cache)
{
	struct metric *f = metrics_find(metrics_global(), family);

	return f == NULL ? 0 : metric_value(metric_series(f, cache));
}

static void
test_hits_misses(void **state)
{
	struct block_cache *c;
	struct block_cache_stats st;
	struct cblock *b, *other;
	double hits0, misses0, bytes0;

	(void)state;
	hits0 = global_value("engine_cache_hits_total", "block");
	misses0 = global_value("engine_cache_misses_total", "block");
	bytes0 = global_value("engine_cache_bytes", "block");
	c = block_cache_new(1 << 20);
	assert_non_null(c);
	assert_null(block_cache_get(c, 1, 0));
	put(c, 1, 0, 100);
	b = block_cache_get(c, 1, 0);
	assert_non_null(b);
	assert_true(whole(b, 1, 0, 100));
	cblock_unref(b);
	/* another table at the same offset, another offset of the table */
	assert_false(cached(c, 2, 0));
	assert_false(cached(c, 1, 100));

	/* a second block under the name: the first one stays */
	other = make(1, 0, 50);
	block_cache_put(c, 1, 0, other);
	cblock_unref(other);
	b = block_cache_get(c, 1, 0);
	assert_non_null(b);
	assert_int_equal(cblock_size(b), 100);
	cblock_unref(b);

	block_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.blocks, 1);
	assert_true(st.bytes >= 100 && st.bytes < 100 + 1024);
	assert_int_equal(st.budget, 1 << 20);
	assert_int_equal(st.evictions, 0);

	/* the global metrics moved as much */
	assert_true(global_value("engine_cache_hits_total", "block") ==
	    hits0 + 2);
	assert_true(global_value("engine_cache_misses_total", "block") ==
	    misses0 + 3);
	assert_true(global_value("engine_cache_bytes", "block") ==
	    bytes0 + (double)st.bytes);
	block_cache_free(c);
	assert_true(global_value("engine_cache_bytes", "block") == bytes0);
}

/* Another cache finds the same families; the block cache's series move. */
static void
test_metrics_shared(void **state)
{
	struct cache_metrics a, b, blk;
	struct block_cache *c;
	double before;

	(void)state;
	cache_metrics_init(&a, NULL, "disk");
	cache_metrics_init(&b, NULL, "disk");
	assert_ptr_equal(a.hits, b.hits);
	assert_ptr_equal(a.misses, b.misses);
	assert_ptr_equal(a.evictions, b.evictions);
	assert_ptr_equal(a.bytes, b.bytes);
	cache_metrics_init(&blk, NULL, "block");
	assert_ptr_not_equal(a.hits, blk.hits);
	assert_non_null(metrics_find(metrics_global(),
	    "engine_cache_evictions_total"));

	c = block_cache_new(1 << 20);
	before = metric_value(blk.hits);
	put(c, 7, 7, 10);
	assert_true(cached(c, 7, 7));
	assert_true(metric_value(blk.hits) == before + 1);
	assert_true(metric_value(a.hits) == 0);
	block_cache_free(c);
}

/*
 * Blocks A, B, C ... are offsets 0, 1, 2 ... of table 1: those named in
 * `absent` are not cached; those in `present` are, looked up in that
 * order (which makes it their order of use).
 */
static void
expect_blocks(struct block_cache *c, const char *absent, const char *present)
{
	for (; *absent != '\0'; absent++)
		if (cached(c, 1, (uint64_t)(*absent - 'A')))
			fail_msg("block %c is cached", *absent);
	for (; *present != '\0'; present++)
		if (!cached(c, 1, (uint64_t)(*present - 'A')))
			fail_msg("block %c is not cached", *present);
}

/*
 * 512 KiB is one shard. Blocks of a little under a quarter of it: four
 * fit, a fifth evicts the one used longest ago.
 */
static void
test_lru_order(void **state)
{
	const size_t n = 128 * KIB - 512;
	struct block_cache *c = block_cache_new(512 * KIB);
	struct block_cache_stats st;
	double ev0 = global_value("engine_cache_evictions_total", "block");

	(void)state;
	put(c, 1, 0, n);	/* A */
	put(c, 1, 1, n);	/* B */
	put(c, 1, 2, n);	/* C */
	put(c, 1, 3, n);	/* D */
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, 4);
	assert_int_equal(st.evictions, 0);
	expect_blocks(c, "", "A");	/* A is used again: B is the oldest */
	put(c, 1, 4, n);		/* E */
	expect_blocks(c, "B", "ACDE");	/* now in order of use: A goes next */
	put(c, 1, 5, n);		/* F */
	expect_blocks(c, "A", "CDEF");
	/* one block of two slots' size: the two least recent go */
	put(c, 1, 6, 2 * n);		/* G */
	expect_blocks(c, "CD", "EFG");
	block_cache_stats(c, &st);
	assert_int_equal(st.evictions, 4);
	assert_int_equal(st.blocks, 3);
	assert_true(global_value("engine_cache_evictions_total", "block") ==
	    ev0 + 4);
	block_cache_free(c);
}

/* xorshift64*: the same sequence every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void
test_budget(void **state)
{
	const uint64_t budget = 4 << 20;	/* 8 shards of 512 KiB */
	struct block_cache *c = block_cache_new(budget);
	struct block_cache_stats st;
	struct cblock *b;
	size_t *sizes, i, n, count = 3000, found = 0;
	uint64_t seed = 42, sum = 0;

	(void)state;
	sizes = calloc(count, sizeof(*sizes));
	for (i = 0; i < count; i++) {
		switch (rnd(&seed) % 20) {
		case 0:		/* past a shard's share */
			n = 512 * KIB + rnd(&seed) % (256 * KIB);
			break;
		case 1:
			n = 64 * KIB + rnd(&seed) % (448 * KIB);
			break;
		default:
			n = 1 + rnd(&seed) % (16 * KIB);
		}
		sizes[i] = n;
		put(c, 1 + i % 5, i, n);
		block_cache_stats(c, &st);
		assert_true(st.bytes <= budget);
	}
	/* what the cache says it holds is what a lookup finds */
	for (i = 0; i < count; i++) {
		if ((b = block_cache_get(c, 1 + i % 5, i)) == NULL)
			continue;
		assert_true(whole(b, 1 + i % 5, i, sizes[i]));
		sum += sizes[i];
		found++;
		cblock_unref(b);
	}
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, found);
	assert_true(sum <= st.bytes && st.bytes <= budget);
	assert_true(st.bytes > budget / 2);
	assert_true(st.evictions > 0);

	/* too big for a shard: not kept; just under: kept */
	put(c, 9, 0, 512 * KIB);
	assert_false(cached(c, 9, 0));
	put(c, 9, 1, 500 * KIB);
	assert_true(cached(c, 9, 1));
	block_cache_stats(c, &st);
	assert_true(st.bytes <= budget);
	block_cache_free(c);
	free(sizes);
}

static void
test_held_block(void **state)
{
	const size_t n = 128 * KIB - 512;
	struct block_cache *c = block_cache_new(512 * KIB);
	struct cblock *held, *held2, *held3;
	uint64_t off;

	(void)state;
	/* evicted while held */
	put(c, 1, 0, n);
	held = block_cache_get(c, 1, 0);
	assert_non_null(held);
	for (off = 1; off <= 8; off++)
		put(c, 1, off, n);
	assert_false(cached(c, 1, 0));
	assert_true(whole(held, 1, 0, n));

	/* dropped while held */
	put(c, 2, 0, n);
	held2 = block_cache_get(c, 2, 0);
	assert_non_null(held2);
	block_cache_drop(c, 2);
	assert_false(cached(c, 2, 0));
	assert_true(whole(held2, 2, 0, n));

	/* the cache freed while held */
	put(c, 3, 0, n);
	held3 = block_cache_get(c, 3, 0);
	assert_non_null(held3);
	block_cache_free(c);
	assert_true(whole(held, 1, 0, n));
	assert_true(whole(held2, 2, 0, n));
	assert_true(whole(held3, 3, 0, n));
	cblock_unref(held);
	cblock_unref(held2);
	cblock_unref(held3);
}

static void
test_drop(void **state)
{
	struct block_cache *c = block_cache_new(8 << 20);
	struct block_cache_stats before, after;
	uint64_t t, off;

	(void)state;
	for (t = 1; t <= 3; t++)
		for (off = 0; off < 40; off++)
			put(c, t, off * 4096, 1000 + t);
	block_cache_stats(c, &before);
	assert_int_equal(before.blocks, 120);
	block_cache_drop(c, 2);
	block_cache_drop(c, 99);	/* no blocks: nothing happens */
	block_cache_stats(c, &after);
	assert_int_equal(after.blocks, 80);
	/* table 2's blocks are of the average size: a third of the bytes */
	assert_int_equal(before.bytes - after.bytes, before.bytes / 3);
	assert_int_equal(after.evictions, 0);
	for (off = 0; off < 40; off++) {
		assert_true(cached(c, 1, off * 4096));
		assert_false(cached(c, 2, off * 4096));
		assert_true(cached(c, 3, off * 4096));
	}
	block_cache_free(c);
}

/* Dropping by name: only the blocks named go; unknown names are no-ops. */
static void
test_drop_blocks(void **state)
{
	struct block_cache *c = block_cache_new(8 << 20);
	struct block_cache_stats st;
	uint64_t t, off, offs[41];

	(void)state;
	for (t = 1; t <= 2; t++)
		for (off = 0; off < 40; off++)
			put(c, t, off * 4096, 1000);
	for (off = 0; off < 40; off++)
		offs[off] = off * 4096;
	offs[40] = 999 * 4096;		/* never put */
	block_cache_drop_blocks(c, 1, offs, 20);	/* the first half */
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, 60);
	for (off = 0; off < 40; off++) {
		assert_int_equal(cached(c, 1, off * 4096), off >= 20);
		assert_true(cached(c, 2, off * 4096));
	}
	block_cache_drop_blocks(c, 1, offs, 41);
	block_cache_drop_blocks(c, 7, offs, 41);	/* no such table */
	block_cache_drop_blocks(NULL, 1, offs, 41);
	block_cache_stats(c, &st);
	assert_int_equal(st.blocks, 40);
	assert_int_equal(st.evictions, 0);
	block_cache_free(c);
}

static void
test_budget_zero(void **state)
{
	struct block_cache_stats st;
	struct block_cache *c = block_cache_new(0);
	struct cblock *b;

	(void)state;
	assert_null(c);
	assert_null(block_cache_get(c, 1, 0));
	b = make(1, 0, 10);
	block_cache_put(c, 1, 0, b);	/* takes no reference: freed below */
	assert_null(block_cache_get(c, 1, 0));
	cblock_unref(b);
	block_cache_drop(c, 1);
	block_cache_stats(c, &st);
	assert_int_equal(st.budget, 0);
	assert_int_equal(st.hits + st.misses + st.blocks + st.bytes, 0);
	block_cache_free(c);
	cblock_unref(NULL);
}

/* Several threads at once. */
#define T_THREADS	4
#define T_OPS		100000
#define T_TABLES	4
#define T_BLOCKS	2048

struct hammer {
	struct block_cache	*c;
	uint64_t		 seed;
	uint64_t		 gets;
	int			 bad;
};

/* Every block of a name has this size: 64 bytes to 4 KiB. */
static size_t
t_size(uint64_t table, uint64_t off)
{
	return 64 + (size_t)((table * 2654435761u + off * 40503u) % 4033);
}

static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct cblock *b;
	uint64_t r, table, off;

	for (int i = 0; i < T_OPS; i++) {
		r = rnd(&h->seed);
		table = 1 + r % T_TABLES;
		off = (r >> 8) % T_BLOCKS;
		if ((r >> 24) % 5000 == 0) {
			block_cache_drop(h->c, table);
			continue;
		}
		h->gets++;
		if ((b = block_cache_get(h->c, table, off)) != NULL) {
			if (!whole(b, table, off, t_size(table, off)))
				h->bad++;
			cblock_unref(b);
		} else
			put(h->c, table, off, t_size(table, off));
	}
	return NULL;
}

static void
test_threads(void **state)
{
	/* 16 shards, and about twice that in the working set */
	const uint64_t budget = 8 << 20;
	struct block_cache *c = block_cache_new(budget);
	struct block_cache_stats st;
	struct hammer h[T_THREADS];
	pthread_t tid[T_THREADS];
	uint64_t gets = 0;
	int i;

	(void)state;
	for (i = 0; i < T_THREADS; i++) {
		h[i] = (struct hammer){ c, 0x9e3779b97f4a7c15ull * (i + 1), 0,
		    0 };
		assert_int_equal(pthread_create(&tid[i], NULL, hammer_main,
		    &h[i]), 0);
	}
	for (i = 0; i < T_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(h[i].bad, 0);
		gets += h[i].gets;
	}
	block_cache_stats(c, &st);
	print_message("%llu hits, %llu misses, %llu evictions\n",
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.evictions);
	assert_int_equal(st.hits + st.misses, gets);
	assert_true(st.hits > 0 && st.misses > 0 && st.evictions > 0);
	assert_true(st.bytes <= budget);
	block_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hits_misses),
		cmocka_unit_test(test_metrics_shared),
		cmocka_unit_test(test_lru_order),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_held_block),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_drop_blocks),
		cmocka_unit_test(test_budget_zero),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
