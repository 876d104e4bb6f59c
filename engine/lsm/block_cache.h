/*
 * block_cache.h - the in-memory cache of tables' data blocks.
 *
 * A block is kept as it is used: decompressed, its checksum and records
 * already checked. One cache serves every table of an engine, under a
 * budget of bytes (a block's contents plus its bookkeeping); when a new
 * block would pass it, the least recently used blocks go. A block is
 * named by its table's id and its offset in the table: every table opened
 * gets a new id (block_cache_table_id), never given before in the process
 * (or the id of the builder that made it and filled the cache with it),
 * so a table closed and opened again, or two stores that use the same
 * object names, never see each other's blocks; a table closed for good
 * drops its blocks (block_cache_drop).
 *
 * Blocks are reference counted: block_cache_get hands out a reference,
 * and the block stays valid, whatever the cache evicts or drops
 * meanwhile, until cblock_unref. A block bigger than a shard's share of
 * the budget is not kept.
 *
 * What it does not do: read, decompress or check anything (sst_read.c does,
 * then offers the block); share the one read of a block that two threads
 * miss at once (both read it, the first one stored is kept).
 *
 * Metrics (global registry): engine_cache_hits_total, _misses_total,
 * _evictions_total and the gauge engine_cache_bytes, {cache="block"}.
 * cache_metrics_init() registers the same families for another cache.
 *
 * Threading: thread-safe. The cache is split into shards by a hash of the
 * block's name, each with its own mutex, held only to look up, link and
 * unlink (and to grow the shard's hash table), never across IO or the
 * freeing of a block. References are atomic.
 */
#ifndef SHALE_BLOCK_CACHE_H
#define SHALE_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct metrics;
struct metric_series;

struct block_cache;
struct cblock;

/*
 * A cache of `budget` bytes, or NULL for a budget of 0: then every
 * function below treats the NULL cache as one that keeps nothing.
 */
struct block_cache *block_cache_new(uint64_t budget);
/* Drops every block; those still referenced live until released. */
void	block_cache_free(struct block_cache *c);
/* A table id never returned before in this process. */
uint64_t block_cache_table_id(void);

/* The block of (table, off), referenced; NULL if not cached (a miss). */
struct cblock *block_cache_get(struct block_cache *c, uint64_t table,
	    uint64_t off);
/*
 * Keep b as the block of (table, off), evicting the least recently used
 * blocks of its shard to make room. The cache takes a reference of its
 * own; the caller keeps its. If a block is already cached under that name
 * it stays and b is not kept; b must not be cached already.
 */
void	block_cache_put(struct block_cache *c, uint64_t table, uint64_t off,
	    struct cblock *b);
/*
 * Forget every block of a table (closed for good). This walks the whole
 * cache; a table that knows its blocks' offsets drops them by name, at
 * the cost of a lookup each, with block_cache_drop_blocks.
 */
void	block_cache_drop(struct block_cache *c, uint64_t table);
void	block_cache_drop_blocks(struct block_cache *c, uint64_t table,
	    const uint64_t *offs, size_t n);

struct block_cache_stats {
	uint64_t	 hits;
	uint64_t	 misses;
	uint64_t	 evictions;	/* to make room (not by drop) */
	uint64_t	 bytes;		/* charged for the blocks kept */
	uint64_t	 blocks;
	uint64_t	 budget;
};

/* This cache's own figures (all 0 for the NULL cache). */
void	block_cache_stats(struct block_cache *c,
	    struct block_cache_stats *st);

/* A block of n bytes, uninitialised, with one reference (the caller's). */
struct cblock *cblock_new(size_t n);
void	cblock_unref(struct cblock *b);	/* frees at zero; NULL ok */
/* The contents: writable until the block is put in a cache. */
uint8_t	*cblock_data(struct cblock *b);
size_t	cblock_size(const struct cblock *b);

/*
 * The series of one cache's metrics: engine_cache_hits_total,
 * engine_cache_misses_total, engine_cache_evictions_total (counters) and
 * engine_cache_bytes (a gauge that each cache moves by metric_add, so
 * several caches of one kind in a process add up), labelled
 * cache="<cache>". Registering them again is harmless: every cache,
 * whatever its kind, finds the same families. `m` NULL is the global
 * registry.
 */
struct cache_metrics {
	struct metric_series	*hits;
	struct metric_series	*misses;
	struct metric_series	*evictions;
	struct metric_series	*bytes;
};

void	cache_metrics_init(struct cache_metrics *cm, struct metrics *m,
	    const char *cache);

#endif
