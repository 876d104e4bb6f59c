/*
 * sst.h - sorted string tables: immutable files of records in kv order.
 *
 * A table is built in memory (sst_builder) and written to the object store
 * as one object; it is read back through the object store a block at a
 * time. The byte format is in sst_format.h and shale-format(5): data blocks
 * of prefix-compressed records, each compressed with zstd and checked with
 * CRC-32C; an index block with the last key and place of every data block;
 * a bloom filter over the user keys (xxhash); a properties block; and a
 * fixed-size footer with a magic number and the format version.
 *
 * A table opened with a block cache (block_cache.h) looks there for a data
 * block before reading it, and puts every data block it reads and checks
 * there; closing it drops its blocks. The index and filter stay decoded in
 * the table as long as it is open, cache or not.
 *
 * Errors: a block that fails its checksum, will not decompress or does not
 * parse is SHALE_ECORRUPT with a detail naming the object and the block's
 * offset. Never garbage, never a crash.
 *
 * Threading: a builder belongs to one thread. An open table (struct sst)
 * is immutable and may be shared by any number of threads; each iterator
 * belongs to one thread.
 */
#ifndef SHALE_SST_H
#define SHALE_SST_H

#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/kv.h"
#include "engine/objstore/objstore.h"
#include "util/buf.h"

struct sst_options {
	size_t	 block_size;		/* uncompressed bytes a data block aims for; default 4096 */
	int	 zstd_level;		/* default 3 */
	int	 bloom_bits_per_key;	/* default 10; 0 writes no filter */
};

/* What a table holds; filled by sst_builder_finish() and sst_open(). */
struct sst_info {
	uint64_t	 entries;
	uint64_t	 size;		/* bytes of the whole object */
	uint64_t	 min_seq;
	uint64_t	 max_seq;
	int64_t		 min_expire;	/* over records that expire; 0 if none do */
	int64_t		 max_expire;	/* 0 if some record never expires */
	struct buf	 first_key;	/* smallest user key */
	struct buf	 last_key;	/* largest user key */
};

void	sst_info_init(struct sst_info *i);
void	sst_info_release(struct sst_info *i);

struct sst_builder;

struct sst_builder *sst_builder_new(const struct sst_options *o);
/*
 * Add a record. Records must come in strictly increasing kv_entry_cmp
 * order (-EINVAL otherwise, and the builder is unchanged). Bytes are copied.
 */
int	sst_builder_add(struct sst_builder *b, const struct kv_entry *e);
/*
 * Make room for a table of n bytes at once, so that a big one is not
 * grown by doubling (which holds one and a half times its size while it
 * copies). The room is only address space until it is written.
 */
int	sst_builder_reserve(struct sst_builder *b, size_t n);
/* Bytes the table would have if finished now (approximate). */
uint64_t sst_builder_size(const struct sst_builder *b);
uint64_t sst_builder_entries(const struct sst_builder *b);
/*
 * Build the table in the memory of `mem` (a buffer kept from an earlier
 * table, emptied; *mem is left empty in its place), before any record.
 * sst_builder_finish into that same, empty, buffer gives it back holding
 * the table, with no copy.
 */
void	sst_builder_take_buf(struct sst_builder *b, struct buf *mem);
/* Append the whole table to `out` and describe it in `info` (initialised by the caller). */
int	sst_builder_finish(struct sst_builder *b, struct buf *out, struct sst_info *info);
/*
 * Free the builder. If it had a cache (sst_builder_cache) and did not
 * finish, the blocks it put there are dropped.
 */
void	sst_builder_free(struct sst_builder *b);

struct sst;
struct block_cache;

/*
 * Before the first record: put each data block, as it is closed, into
 * `cache` (decompressed, as a read would keep it), named by a table id of
 * the builder's own. Once the table is finished and stored, open it with
 * sst_open_built and that id (sst_builder_cache_id, 0 without a cache),
 * and it finds its blocks there; a table that is not opened after all
 * must drop them (block_cache_drop). The cache must outlive the builder.
 */
void	sst_builder_cache(struct sst_builder *b, struct block_cache *cache);
uint64_t sst_builder_cache_id(const struct sst_builder *b);

/*
 * Open the table stored at `key`: read its footer, index, filter and
 * properties. `size` is the object's size if known (saves a HEAD), else 0.
 * The store must outlive the table.
 */
int	sst_open(struct objstore *os, const char *key, uint64_t size,
	    struct sst **out);
/*
 * The same, with data blocks kept in `cache` (NULL: none), which must
 * outlive the table.
 */
int	sst_open_cached(struct objstore *os, const char *key, uint64_t size,
	    struct block_cache *cache, struct sst **out);
/*
 * The same for a table built with sst_builder_cache: `cache_id` is the
 * builder's (0: a new id, as sst_open_cached).
 */
int	sst_open_built(struct objstore *os, const char *key, uint64_t size,
	    struct block_cache *cache, uint64_t cache_id, struct sst **out);
/* Open a table held in memory; `data` must outlive it. `name` is for errors. */
int	sst_open_mem(const void *data, size_t n, const char *name,
	    struct sst **out);
void	sst_close(struct sst *t);
const struct sst_info *sst_info(const struct sst *t);
const char *sst_name(const struct sst *t);
/* The number of data blocks. */
size_t	sst_blocks(const struct sst *t);

/* 0 if the filter says the key is certainly absent, 1 if it may be there. */
int	sst_may_contain(const struct sst *t, const void *key, size_t klen);
/*
 * The newest record of `key` with seq <= max_seq (a put or a delete): 0 and
 * *out pointing into `scratch` (valid until scratch changes), -ENOENT if
 * the table has none, or an error.
 */
int	sst_get(struct sst *t, const void *key, size_t klen, uint64_t max_seq,
	    struct kv_entry *out, struct buf *scratch);
/* An iterator over every record; the table must outlive it. */
struct iter *sst_iter_new(struct sst *t);
/*
 * The same; with fill 0 the blocks it reads are not put in the block
 * cache (a compaction reads each block once: it should not push out hot
 * ones), though it uses those already there.
 */
struct iter *sst_iter_new_fill(struct sst *t, int fill);

#endif
