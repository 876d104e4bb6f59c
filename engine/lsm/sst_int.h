/*
 * sst_int.h - the sorted tables' insides, shared by sst_block.c (records
 * and the blocks that hold them), sst_build.c (the builder), sst_read.c
 * (an open table, its blocks read and checked) and sst_iter.c (the
 * iterator). Nothing outside these files includes it: the module's API is
 * sst.h, its bytes sst_format.h.
 *
 * Threading: a bwriter, a biter and a struct block belong to the thread
 * that uses them. A struct sst does not change once opened, but for
 * `cached` (atomic) and its content filters (loaded once, under a lock),
 * and is read by any number of threads at once.
 */
#ifndef SHALE_SST_INT_H
#define SHALE_SST_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "util/buf.h"
#include "util/coding.h"

_Static_assert(SST_VARINT_MAX == CODING_VARINT_MAX,
    "a table's varints are coding.h's");

struct cblock;

/* Where an empty key points, so that no NULL reaches memcmp(). */
extern const uint8_t sst_empty_key[1];

/* Compare internal keys: user key ascending, then seq descending. */
static inline int
icmp(const uint8_t *a, size_t alen, uint64_t aseq, const uint8_t *b,
    size_t blen, uint64_t bseq)
{
	int c = kv_key_cmp(a, alen, b, blen);

	if (c != 0)
		return c;
	return aseq > bseq ? -1 : aseq < bseq;
}

static inline const uint8_t *
buf_bytes(const struct buf *b)
{
	return b->data != NULL ? (const uint8_t *)b->data : sst_empty_key;
}

/*
 * Block writer (sst_block.c): records with prefix compression and restart
 * points, then the restart array.
 */
struct bwriter {
	struct buf	 data;
	uint32_t	*restarts;
	size_t		 nrestarts;
	size_t		 restarts_cap;
	unsigned	 run;		/* records since the last restart */
	uint64_t	 nrecs;
	struct buf	 last;		/* key of the last record */
};

void	bw_init(struct bwriter *w);
void	bw_release(struct bwriter *w);
void	bw_reset(struct bwriter *w);
/* Bytes of the finished block. */
size_t	bw_size(const struct bwriter *w);
/* Bytes a record adds to a block, at most. */
size_t	rec_size(size_t klen, size_t vlen);
/* Add a record after the last one; nothing changes if it fails. */
int	bw_add(struct bwriter *w, const uint8_t *key, size_t klen,
	    uint64_t seq, uint8_t kind, int64_t expire, const uint8_t *val,
	    size_t vlen);
/* Append the restart array: w->data is then the block's contents. */
int	bw_finish(struct bwriter *w);

/*
 * Walking the records of a block (sst_block.c). Functions return 0, or -1
 * when the records are malformed (the caller names the block). Not valid
 * when cur == n.
 */
struct biter {
	const uint8_t	*p;		/* records */
	size_t		 n;
	const uint8_t	*rs;		/* restart array */
	uint32_t	 nrs;
	size_t		 cur;		/* offset of the current record */
	size_t		 next;		/* and of the one after it */
	uint32_t	 ri;		/* restart run of the current record */
	int		 haskey;	/* key holds the last record's */
	struct buf	 key;
	struct buf	 saved;		/* bi_prev: the key it started from */
	uint64_t	 seq;
	uint8_t		 kind;
	int64_t		 expire;
	const uint8_t	*val;
	size_t		 vlen;
};

void	bi_init(struct biter *bi);
void	bi_release(struct biter *bi);
void	bi_clear(struct biter *bi);
/* Point at a block's contents and check its restart array. */
int	bi_set(struct biter *bi, const uint8_t *p, size_t n);
/* Before the first record of restart run i: bi_step decodes it. */
void	bi_to_restart(struct biter *bi, uint32_t i);
/* Decode the record at next; at the end, become not valid. */
int	bi_step(struct biter *bi);
int	bi_seek_first(struct biter *bi);
int	bi_seek_last(struct biter *bi);
/* Step back; before the first record, become not valid. */
int	bi_prev(struct biter *bi);
/* The first record at or after (key, seq). */
int	bi_seek(struct biter *bi, const uint8_t *key, size_t klen,
	    uint64_t seq);

static inline int
bi_valid(const struct biter *bi)
{
	return bi->cur < bi->n;
}

/* An open table (sst_read.c). */
struct sst;

/* Read exactly `len` bytes at `off` of the table, appending them to `out`. */
typedef int (*sst_read_fn)(struct sst *, uint64_t off, size_t len,
    struct buf *out);

/* A data block, as the index names it. */
struct idx_entry {
	size_t		 koff;		/* its last key, in sst.ikeys */
	size_t		 klen;
	uint64_t	 seq;		/* and that record's seq */
	uint64_t	 off;		/* its handle */
	uint64_t	 size;
};

struct sst {
	char			*name;
	sst_read_fn		 read;
	struct objstore		*os;		/* read_store */
	struct block_cache	*cache;		/* of data blocks; NULL for none */
	uint64_t		 id;		/* names its blocks in the cache */
	_Atomic int		 cached;	/* it put some there */
	const uint8_t		*mem;		/* read_mem */
	uint64_t		 size;
	struct sst_info		 info;
	struct idx_entry	*idx;
	size_t			 nidx;
	struct buf		 ikeys;
	uint8_t			*filter;	/* bloom bits; NULL for none */
	uint64_t		 filter_bits;
	unsigned		 filter_k;
	unsigned		 version;	/* of the format */
	uint64_t		 cf_off;	/* content filter block's handle; */
	uint64_t		 cf_size;	/* 0, 0 for none */
	/*
	 * The content filters, loaded by sst_cf_load under cf_lock; read
	 * only once cf_state is 1 (acquire), and unchanged after
	 */
	pthread_mutex_t		 cf_lock;
	_Atomic int		 cf_state;
	struct cf_group		*cfg;
	size_t			 ncfg;
	uint32_t		*cf_of;		/* each data block's group */
	uint8_t			*cf;		/* every group's bits */
	unsigned		 cf_k;
};

/* A group of data blocks' content filter: bits [off*8, off*8 + m) of cf. */
struct cf_group {
	size_t		 off;
	uint64_t	 m;		/* 0: none, never excluded */
};

/*
 * Building content filters (sst_cfilter.c): the distinct trigrams of the
 * values of the group of data blocks being filled, found with a bitmap of
 * every trigram (2 MiB, allocated at the first record that needs it) and
 * listed; the list's own bits are cleared when the group closes.
 */
struct cf_builder {
	const struct sst_options *o;
	uint64_t	*seen;		/* bitmap of 2^24 trigrams */
	uint32_t	*tri;		/* trigrams of the group, distinct */
	size_t		 ntri, tri_cap;
	int		 ok;		/* the group's records all filtered */
	uint64_t	 blocks;	/* closed in the group */
	size_t		 raw;		/* their bytes */
	uint64_t	 groups;
	int		 any;		/* some group has a filter */
	struct buf	 out;		/* the groups written so far */
};

void	cfb_init(struct cf_builder *c, const struct sst_options *o);
void	cfb_release(struct cf_builder *c);
/* A record joins the data block being filled. */
void	cfb_add(struct cf_builder *c, const uint8_t *key, size_t klen,
	    uint8_t kind, const uint8_t *val, size_t vlen);
/* The data block being filled closed with `raw` bytes. */
int	cfb_block(struct cf_builder *c, size_t raw);
/*
 * After the last block: the content filter block's contents in out, or
 * out empty when no group has a filter (then the table has none).
 */
int	cfb_finish(struct cf_builder *c, struct buf *out);
/* Bytes the filters would take if finished now (approximate). */
uint64_t cfb_size(const struct cf_builder *c);
/* Decode the content filter block (at off) of t. */
int	cf_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n);
/* Read and decode t's content filters if not done yet: 0 or an error. */
int	sst_cf_load(struct sst *t);
/* sst_block_excluded, once loaded (0 before). */
int	cf_excluded(const struct sst *t, size_t i,
	    const struct sst_needles *nd);

/* A block's contents, read and decompressed, or from the cache. */
struct block {
	struct buf	 io;		/* stored bytes and trailer */
	struct buf	 plain;		/* contents of a compressed block */
	struct cblock	*cb;		/* a cached block, referenced */
	const uint8_t	*p;		/* the contents: in io, plain, cb ... */
	size_t		 n;
};

void	block_init(struct block *b);
void	block_release(struct block *b);
/*
 * Check the `size` stored bytes at s (then the trailer) of the block at
 * `off`, and decompress them if they need it, to at most `max` bytes.
 */
int	block_decode(const struct sst *t, uint64_t off, const uint8_t *s,
	    size_t size, size_t max, struct block *b);

/* SHALE_ECORRUPT, naming the table and the block at `off`. */
int	sst_corrupt(const struct sst *t, uint64_t off, const char *what);
/* The first data block whose last key is at or after (key, seq). */
size_t	idx_search(const struct sst *t, const uint8_t *key, size_t klen,
	    uint64_t seq);
/* 0 if the record bi is on is in data block i's share of the keys, else -1. */
int	rec_in_block(const struct sst *t, size_t i, const struct biter *bi);
/*
 * Data block i from the cache into b, bi pointed at it: 1, or 0 when it
 * is not there, and then b and bi hold nothing.
 */
int	data_cached(struct sst *t, size_t i, struct block *b,
	    struct biter *bi);
/*
 * Data block i is decoded in b: check it, point bi at it and, if `fill`,
 * give the cache a copy.
 */
int	data_use(struct sst *t, size_t i, struct block *b, struct biter *bi,
	    int fill);
/* Read data block i into b (not from the cache), check it, point bi at it. */
int	data_read(struct sst *t, size_t i, struct block *b, struct biter *bi,
	    int fill);

#endif
