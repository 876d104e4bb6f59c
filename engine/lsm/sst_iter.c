/*
 * sst_iter.c - the iterator over a table's records (struct sst_iter),
 * with read-ahead for scans.
 *
 * It holds the data block it is in (blk, SIZE_MAX for none) and a biter
 * over it; running off either end of the block loads the next one that
 * way, and every record it stops on must be in its block's share of the
 * index (rec_in_block). A failure is kept in status and stops it for good.
 *
 * Read-ahead: once an iterator has moved forward into a next block twice
 * in a row (a scan, not a seek), it reads the following blocks up to
 * SST_READAHEAD bytes in one request and decodes them from there, so a
 * scan costs one GET per megabyte instead of one per block. A block in the
 * cache is taken from there first, read-ahead or not.
 *
 * Needles (sst_iter_new_needles): a block the content filters rule out
 * is passed over as if the table did not have it, in both directions and
 * by seeks, and is never read, read ahead nor decompressed; a read-ahead
 * stops before it.
 *
 * Not here: reading, checking and caching one block (sst_read.c: data_*),
 * walking its records (sst_block.c).
 *
 * Threading: an iterator belongs to one thread. Any number of them may
 * walk one table at once: the table does not change (sst_read.c), and
 * each iterator reads into its own block, biter and read-ahead buffer.
 * The table must outlive it.
 */
#include "config.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/block_cache.h"
#include "engine/lsm/kv.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "engine/lsm/sst_int.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define SST_READAHEAD	(1024 * 1024)

struct sst_iter {
	struct iter	 it;
	struct sst	*t;
	size_t		 blk;
	struct block	 b;
	struct biter	 bi;
	int		 status;
	struct kv_entry	 e;
	int		 run;		/* blocks entered forward in a row */
	int		 fill;		/* blocks read go into the cache */
	struct buf	 ra;		/* blocks [ra_first, ra_end) as stored */
	size_t		 ra_first, ra_end;
	const struct sst_needles *nd;	/* NULL: no block is passed over */
	int		 cf_ready;	/* the table's filters are loaded */
};

/* Is block i passed over? */
static int
si_excluded(const struct sst_iter *si, size_t i)
{
	return si->cf_ready && cf_excluded(si->t, i, si->nd);
}

/* Do block i's keys all come at or after the needles' hi? */
static int
si_past(const struct sst_iter *si, size_t i)
{
	const struct idx_entry *prev;
	size_t n;
	int c;

	if (i == 0)
		return 0;
	/* block i starts after block i - 1's last key */
	prev = &si->t->idx[i - 1];
	n = prev->klen < si->nd->hilen ? prev->klen : si->nd->hilen;
	c = memcmp(si->t->ikeys.data + prev->koff, si->nd->hi, n);
	return c > 0 || (c == 0 && prev->klen >= si->nd->hilen);
}

/*
 * From block i on in direction dir (1 or -1), the first one not passed
 * over, counting those that are; SIZE_MAX if none (or none before the
 * needles' hi).
 */
static size_t
si_kept(struct sst_iter *si, size_t i, int dir)
{
	struct sst_needles *nd = (struct sst_needles *)si->nd;

	while (i < si->t->nidx && si_excluded(si, i)) {
		/* forward past the scan's end: no block after it counts */
		if (dir > 0 && nd->hi != NULL && si_past(si, i))
			return SIZE_MAX;
		atomic_fetch_add_explicit(&nd->skipped, 1,
		    memory_order_relaxed);
		if (dir < 0 && i == 0)
			return SIZE_MAX;
		i = dir > 0 ? i + 1 : i - 1;
	}
	return i < si->t->nidx ? i : SIZE_MAX;
}

/*
 * Before a seek: with needles, the content filters must be loaded; a
 * failure stops the iterator as a block that cannot be read does.
 */
static int
si_cf(struct sst_iter *si)
{
	int rc;

	if (si->cf_ready || si->nd == NULL || si->nd->n == 0)
		return 0;
	if ((rc = sst_cf_load(si->t)) != 0) {
		if (si->status == 0)
			si->status = rc;
		bi_clear(&si->bi);
		return rc;
	}
	si->cf_ready = 1;
	return 0;
}

/* Not on any record (nothing is left that way). */
static void
si_none(struct sst_iter *si)
{
	bi_clear(&si->bi);
	si->blk = SIZE_MAX;
}

static void
si_fail(struct sst_iter *si, int rc)
{
	if (si->status == 0)
		si->status = rc;
	bi_clear(&si->bi);
}

/*
 * Give the cache every block read ahead that it does not hold: an
 * iterator that stops early (a reader that asks for a little at a time
 * makes one per request) then leaves what it fetched to the next one,
 * instead of each fetching the same megabyte again. A block that does
 * not decode is left out here; the iterator that reaches it says why.
 */
static void
ra_fill(struct sst_iter *si)
{
	struct sst *t = si->t;
	struct block b;
	struct biter bi;
	struct cblock *cb;

	if (t->cache == NULL)
		return;
	block_init(&b);
	bi_init(&bi);
	for (size_t k = si->ra_first; k < si->ra_end; k++) {
		if ((cb = block_cache_get(t->cache, t->id, t->idx[k].off)) != NULL) {
			cblock_unref(cb);
			continue;
		}
		if (block_decode(t, t->idx[k].off, (const uint8_t *)si->ra.data +
		    (t->idx[k].off - t->idx[si->ra_first].off),
		    (size_t)t->idx[k].size, SST_DATA_RAW_MAX, &b) != 0)
			continue;
		(void)data_use(t, k, &b, &bi, 1);
	}
	bi_release(&bi);
	block_release(&b);
}

/* Make sure block i is in the read-ahead buffer: 0, or an error. */
static int
si_readahead(struct sst_iter *si, size_t i)
{
	struct sst *t = si->t;
	uint64_t off = t->idx[i].off, end;
	size_t j;
	int rc;

	if (i >= si->ra_first && i < si->ra_end)
		return 0;
	for (j = i + 1; j < t->nidx; j++) {
		end = t->idx[j].off + t->idx[j].size + SST_TRAILER_SIZE;
		if (end - off > SST_READAHEAD || t->idx[j].off < off ||
		    si_excluded(si, j))
			break;
	}
	end = t->idx[j - 1].off + t->idx[j - 1].size + SST_TRAILER_SIZE;
	if (end > t->size || t->idx[i].size > SST_DATA_RAW_MAX)
		return sst_corrupt(t, off, "handle out of range");
	si->ra_first = si->ra_end = 0;
	buf_reset(&si->ra);
	if ((rc = t->read(t, off, (size_t)(end - off), &si->ra)) != 0)
		return rc;
	si->ra_first = i;
	si->ra_end = j;
	if (si->fill)
		ra_fill(si);
	return 0;
}

/* Block i from the read-ahead buffer. */
static int
si_load_ahead(struct sst_iter *si, size_t i)
{
	struct sst *t = si->t;
	const uint8_t *s;
	int rc;

	if ((rc = si_readahead(si, i)) != 0)
		return rc;
	s = (const uint8_t *)si->ra.data + (t->idx[i].off - t->idx[si->ra_first].off);
	if ((rc = block_decode(t, t->idx[i].off, s, (size_t)t->idx[i].size,
	    SST_DATA_RAW_MAX, &si->b)) != 0)
		return rc;
	return data_use(t, i, &si->b, &si->bi, si->fill);
}

static int
si_load(struct sst_iter *si, size_t i)
{
	int rc;

	if (si->blk == i)
		return 0;
	si->run = si->blk != SIZE_MAX && i == si->blk + 1 ? si->run + 1 : 0;
	si->blk = SIZE_MAX;
	if (data_cached(si->t, i, &si->b, &si->bi))
		rc = 0;
	else if (si->t->mem == NULL && (si->run >= 2 ||
	    (i >= si->ra_first && i < si->ra_end)))
		rc = si_load_ahead(si, i);
	else
		rc = data_read(si->t, i, &si->b, &si->bi, si->fill);
	if (rc != 0) {
		si_fail(si, rc);
		return rc;
	}
	si->blk = i;
	return 0;
}

/*
 * After the biter moved (bad != 0 if it found the block malformed): check
 * the record it is on, or when it ran off its block go on to the next
 * block in direction dir (1 or -1).
 */
static void
si_settle(struct sst_iter *si, int bad, int dir)
{
	struct sst *t = si->t;
	size_t i;

	for (;;) {
		if (bad == 0 && bi_valid(&si->bi) &&
		    rec_in_block(t, si->blk, &si->bi) != 0)
			bad = -1;
		if (bad != 0) {
			si_fail(si, sst_corrupt(t, t->idx[si->blk].off,
			    "bad record"));
			return;
		}
		if (bi_valid(&si->bi))
			return;
		if (dir > 0 ? si->blk + 1 >= t->nidx : si->blk == 0)
			return;
		i = si_kept(si, dir > 0 ? si->blk + 1 : si->blk - 1, dir);
		if (i == SIZE_MAX)
			return;		/* the biter stays at its block's end */
		if (si_load(si, i) != 0)
			return;
		bad = dir > 0 ? bi_seek_first(&si->bi) : bi_seek_last(&si->bi);
	}
}

static int
si_valid(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	return si->status == 0 && si->blk != SIZE_MAX && bi_valid(&si->bi);
}

/* Position at the first record at or after (key, seq). */
static void
si_seek_ge(struct sst_iter *si, const uint8_t *key, size_t klen, uint64_t seq)
{
	size_t i;

	if (si->status != 0)
		return;
	if (si_cf(si) != 0)
		return;
	if ((i = idx_search(si->t, key, klen, seq)) == si->t->nidx) {
		if (si->blk != SIZE_MAX)
			si->bi.cur = si->bi.n;
		return;
	}
	if (si_excluded(si, i)) {
		/* what it holds past key is gone: start at the next kept */
		if ((i = si_kept(si, i, 1)) == SIZE_MAX) {
			si_none(si);
			return;
		}
		if (si_load(si, i) != 0)
			return;
		si_settle(si, bi_seek_first(&si->bi), 1);
		return;
	}
	if (si_load(si, i) != 0)
		return;
	si_settle(si, bi_seek(&si->bi, key, klen, seq), 1);
}

static void
si_seek(struct iter *it, const void *key, size_t klen)
{
	struct sst_iter *si = (struct sst_iter *)it;

	si_seek_ge(si, key != NULL ? key : sst_empty_key, klen, KV_SEQ_MAX);
}

static void
si_seek_first(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;
	size_t i;

	if (si->status != 0 || si->t->nidx == 0 || si_cf(si) != 0)
		return;
	if ((i = si_kept(si, 0, 1)) == SIZE_MAX) {
		si_none(si);
		return;
	}
	if (si_load(si, i) != 0)
		return;
	si_settle(si, bi_seek_first(&si->bi), 1);
}

static void
si_seek_last(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;
	size_t i;

	if (si->status != 0 || si->t->nidx == 0 || si_cf(si) != 0)
		return;
	if ((i = si_kept(si, si->t->nidx - 1, -1)) == SIZE_MAX) {
		si_none(si);
		return;
	}
	if (si_load(si, i) != 0)
		return;
	si_settle(si, bi_seek_last(&si->bi), -1);
}

static void
si_next(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	if (!si_valid(it))
		return;
	si_settle(si, bi_step(&si->bi), 1);
}

static void
si_prev(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	if (!si_valid(it))
		return;
	si_settle(si, bi_prev(&si->bi), -1);
}

/*
 * The last record whose user key is at most `key`: (key, 0) is the last
 * place a version of key can sort, so find the first record at or after
 * it and step back unless it is that very record.
 */
static void
si_seek_for_prev(struct iter *it, const void *key, size_t klen)
{
	struct sst_iter *si = (struct sst_iter *)it;
	const uint8_t *k = key != NULL ? key : sst_empty_key;

	si_seek_ge(si, k, klen, 0);
	if (si->status != 0)
		return;
	if (!si_valid(it))
		si_seek_last(it);
	else if (kv_key_cmp(si->bi.key.data, si->bi.key.len, k, klen) != 0)
		si_prev(it);
}

static const struct kv_entry *
si_entry(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;
	struct kv_entry *e = &si->e;

	assert(si_valid(it));
	e->key = (const uint8_t *)si->bi.key.data;
	e->klen = si->bi.key.len;
	e->val = si->bi.kind == KV_PUT ? si->bi.val : NULL;
	e->vlen = si->bi.vlen;
	e->seq = si->bi.seq;
	e->kind = si->bi.kind;
	e->expire = si->bi.expire;
	return e;
}

static int
si_status(struct iter *it)
{
	return ((struct sst_iter *)it)->status;
}

static void
si_free(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	if (si == NULL)
		return;
	bi_release(&si->bi);
	block_release(&si->b);
	buf_release(&si->ra);
	free(si);
}

static const struct iter_ops sst_iter_ops = {
	.seek = si_seek,
	.seek_for_prev = si_seek_for_prev,
	.seek_first = si_seek_first,
	.seek_last = si_seek_last,
	.next = si_next,
	.prev = si_prev,
	.valid = si_valid,
	.entry = si_entry,
	.status = si_status,
	.free = si_free,
};

struct iter *
sst_iter_new(struct sst *t)
{
	return sst_iter_new_fill(t, 1);
}

struct iter *
sst_iter_new_fill(struct sst *t, int fill)
{
	return sst_iter_new_needles(t, fill, NULL);
}

struct iter *
sst_iter_new_needles(struct sst *t, int fill, const struct sst_needles *nd)
{
	struct sst_iter *si = xcalloc(1, sizeof(*si));

	si->it.ops = &sst_iter_ops;
	si->t = t;
	si->fill = fill;
	si->blk = SIZE_MAX;
	si->nd = t->cf_size != 0 ? nd : NULL;
	block_init(&si->b);
	bi_init(&si->bi);
	buf_init(&si->ra, 0);
	return &si->it;
}
