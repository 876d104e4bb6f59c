/*
 * sst.h - sorted string tables: immutable files of records in kv order.
 *
 * A table is built in memory (sst_builder) and written to the object store
 * as one object; it is read back through the object store a block at a
 * time. The byte format is in sst_format.h and shale-format(5): data blocks
 * of prefix-compressed records, each compressed with zstd and checked with
 * CRC-32C; an index block with the last key and place of every data block;
 * a bloom filter over the user keys (xxhash); content filters, bloom
 * filters of the trigrams of the values of groups of data blocks, for the
 * records under prefixes the caller names; a properties block; and a
 * fixed-size footer with a magic number and the format version.
 *
 * A table opened with a block cache (block_cache.h) looks there for a data
 * block before reading it, and puts every data block it reads and checks
 * there; closing it drops its blocks. The index and filter stay decoded
 * in the table as long as it is open, cache or not; so do the content
 * filters, from the first scan with needles on.
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

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/kv.h"
#include "engine/objstore/objstore.h"
#include "util/buf.h"

/* A key prefix whose records' values get content filters. */
#define SST_CF_PREFIX_MAX	16
struct sst_prefix {
	uint8_t	 p[SST_CF_PREFIX_MAX];
	size_t	 len;
};

struct sst_options {
	size_t	 block_size;		/* uncompressed bytes a data block aims for; default 4096 */
	int	 zstd_level;		/* default 3 */
	int	 bloom_bits_per_key;	/* default 10; 0 writes no filter */
	/*
	 * Content filters (none without prefixes): for records whose key
	 * starts with one of cf_prefix[0 ... cf_nprefix-1]. One filter
	 * covers data blocks of about cf_group uncompressed bytes (default
	 * SST_CF_GROUP), with cf_bits bits per distinct trigram (default
	 * SST_CF_BITS) and cf_k probes (default SST_CF_K).
	 */
	const struct sst_prefix *cf_prefix;
	size_t	 cf_nprefix;
	size_t	 cf_group;
	unsigned cf_bits;
	unsigned cf_k;
};

#define SST_CF_GROUP	(16 * 1024)
#define SST_CF_BITS	2
#define SST_CF_K	1

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
/*
 * Strings every record a scan wants holds in its value (needles), each
 * kept as the hashes of its distinct trigrams; shorter than a trigram,
 * it is dropped: it rules nothing out. `skipped` counts the data blocks
 * that iterators given it passed over (atomic: several read at once).
 */
struct sst_needle {
	uint64_t	*h;
	size_t		 nh;
};
struct sst_needles {
	struct sst_needle *v;
	size_t		 n;
	_Atomic uint64_t skipped;
	/*
	 * The keys the scan wants end before hi (hilen bytes; NULL: no
	 * end): passing over blocks forward stops at the first block past
	 * it, rather than walking the rest of the table's index
	 */
	const void	*hi;
	size_t		 hilen;
};

void	sst_needles_init(struct sst_needles *nd);
/* Add strings s[0 ... n-1] of lens[i] bytes (lens NULL: NUL-terminated). */
void	sst_needles_add(struct sst_needles *nd, const char *const *s,
	    const size_t *lens, size_t n);
void	sst_needles_release(struct sst_needles *nd);
/*
 * Whether the content filters show that data block i holds no value
 * containing one of the needles (1), or cannot tell (0: also when they
 * cannot be read). The first call reads them.
 */
int	sst_block_excluded(struct sst *t, size_t i,
	    const struct sst_needles *nd);
/* Whether the table has content filters; bytes of their block in *bytes. */
int	sst_has_cfilter(const struct sst *t, uint64_t *bytes);

/* An iterator over every record; the table must outlive it. */
struct iter *sst_iter_new(struct sst *t);
/*
 * The same; with fill 0 the blocks it reads are not put in the block
 * cache (a compaction reads each block once: it should not push out hot
 * ones), though it uses those already there.
 */
struct iter *sst_iter_new_fill(struct sst *t, int fill);
/*
 * The same, passing over every data block that sst_block_excluded() rules
 * out for `nd` (NULL or empty: none) as if it were not there: for keys
 * that are written once and never deleted, where a block without the
 * needles holds nothing the caller wants. nd must outlive the iterator.
 */
struct iter *sst_iter_new_needles(struct sst *t, int fill,
	    const struct sst_needles *nd);

#endif
