/*
 * sst_read.c - an open table (struct sst): opening it, reading and
 * checking its blocks, point gets.
 *
 * The reader reads through a function pointer (read_mem, read_store) so a
 * table in memory and one in the object store share every decoder. Opening
 * reads the last SST_OPEN_READ bytes in one request, and the rest of the
 * index, filters and properties in a second one only when they do not fit;
 * it checks the footer, the layout, every checksum and the whole index
 * (keys strictly increasing, data blocks end to end from offset 0) and
 * keeps the index decoded in an array. The content filters, between the
 * data blocks and the index, wait for the first scan that wants them
 * (sst_cf_load). Data blocks are read one at a time
 * when needed and walked once in full before use (data_check): a record
 * that does not parse, keys out of order or outside the block's range of
 * the index, a restart point inside a record are SHALE_ECORRUPT. Walking
 * a block (struct biter) checks the same things again as it goes.
 *
 * With a block cache, a data block is looked up there first (data_cached:
 * by the table's id, unique to this open, and the block's offset), and one
 * read from the store is copied there once it passed data_check
 * (data_use), so a cached block needs no check. Point gets, iterators and
 * the blocks a scan reads ahead all go through these two.
 *
 * Not here: the records' bytes and the walk of a block (sst_block.c), the
 * iterator and its read-ahead (sst_iter.c), writing a table (sst_build.c).
 *
 * Threading: sst_load() fills a struct sst before the open returns it,
 * and nothing changes it after but `cached` (atomic), so any number of
 * threads may get, ask the filter and read blocks at once, each into a
 * struct block and biter of its own. Decompression uses the calling
 * thread's zstd context (util/zctx.h), reset before each use. A cached
 * block is reference counted (cblock), so it stays while a reader holds
 * it even if the cache drops it. sst_close() comes after the last user.
 *
 * Building with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION defined ignores
 * checksum mismatches, so a fuzzer can reach the decoders behind them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "engine/lsm/block_cache.h"
#include "engine/lsm/kv.h"
#include "engine/objstore/objstore.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "engine/lsm/sst_int.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "util/zctx.h"

void
sst_info_init(struct sst_info *i)
{
	memset(i, 0, sizeof(*i));
	buf_init(&i->first_key, KV_KEY_MAX + 1);
	buf_init(&i->last_key, KV_KEY_MAX + 1);
}

void
sst_info_release(struct sst_info *i)
{
	buf_release(&i->first_key);
	buf_release(&i->last_key);
}

/* Reading blocks. */

int
sst_corrupt(const struct sst *t, uint64_t off, const char *what)
{
	return err_set(SHALE_ECORRUPT, "'%s': block at offset %llu: %s",
	    t->name, (unsigned long long)off, what);
}

static int
read_mem(struct sst *t, uint64_t off, size_t len, struct buf *out)
{
	if (off > t->size || len > t->size - off)
		return err_set(SHALE_ECORRUPT,
		    "'%s': %zu bytes at offset %llu: past the end", t->name,
		    len, (unsigned long long)off);
	return buf_append(out, t->mem + off, len);
}

static int
read_store(struct sst *t, uint64_t off, size_t len, struct buf *out)
{
	size_t before = out->len;
	int rc;

	if ((rc = objstore_get(t->os, t->name, off, len, out)) != 0)
		return rc;
	if (out->len - before != len) {
		out->len = before;
		if (out->data != NULL)
			out->data[before] = '\0';
		return err_set(SHALE_ECORRUPT,
		    "'%s': %zu bytes at offset %llu: the object ends early",
		    t->name, len, (unsigned long long)off);
	}
	return 0;
}

void
block_init(struct block *b)
{
	buf_init(&b->io, 0);
	buf_init(&b->plain, 0);
	b->cb = NULL;
	b->p = NULL;
	b->n = 0;
}

/* Let go of a cached block (before b holds other contents). */
static void
block_uncache(struct block *b)
{
	cblock_unref(b->cb);
	b->cb = NULL;
}

void
block_release(struct block *b)
{
	buf_release(&b->io);
	buf_release(&b->plain);
	block_uncache(b);
}

/*
 * Check the `size` stored bytes at s (then the trailer) of the block at
 * `off`, and decompress them if they need it, to at most `max` bytes.
 */
int
block_decode(const struct sst *t, uint64_t off, const uint8_t *s, size_t size,
    size_t max, struct block *b)
{
	unsigned long long cs;
	ZSTD_DCtx *dctx;
	uint8_t type = s[size];
	uint32_t crc;
	size_t r;
	int rc;

	crc = crc32c(0, s, size);
	crc = crc32c(crc, &type, 1);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	if (crc != get_le32(s + size + 1))
		return sst_corrupt(t, off, "checksum mismatch");
#else
	(void)crc;
#endif
	switch (type) {
	case SST_COMP_NONE:
		if (size > max)
			return sst_corrupt(t, off, "too big");
		b->p = s;
		b->n = size;
		return 0;
	case SST_COMP_ZSTD:
		cs = ZSTD_getFrameContentSize(s, size);
		if (cs == ZSTD_CONTENTSIZE_UNKNOWN ||
		    cs == ZSTD_CONTENTSIZE_ERROR || cs > max)
			return sst_corrupt(t, off, "bad compressed frame header");
		r = ZSTD_findFrameCompressedSize(s, size);
		if (ZSTD_isError(r) || r != size)
			return sst_corrupt(t, off, "not one compressed frame");
		if ((dctx = zctx_decompress()) == NULL)
			return -ENOMEM;
		/* the thread's context: drop what its last user set */
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
		buf_reset(&b->plain);
		if ((rc = buf_reserve(&b->plain, (size_t)cs)) != 0)
			return rc;
		r = ZSTD_decompressDCtx(dctx, b->plain.data, (size_t)cs, s,
		    size);
		if (ZSTD_isError(r) || r != cs)
			return sst_corrupt(t, off, "cannot decompress");
		b->plain.len = (size_t)cs;
		b->plain.data[cs] = '\0';
		b->p = (const uint8_t *)b->plain.data;
		b->n = (size_t)cs;
		return 0;
	default:
		return sst_corrupt(t, off, "unknown compression type");
	}
}

/* Read and decode the block with this handle. */
static int
block_read(struct sst *t, uint64_t off, uint64_t size, size_t max,
    struct block *b)
{
	int rc;

	if (size > max || off > t->size ||
	    t->size - off < size + SST_TRAILER_SIZE)
		return sst_corrupt(t, off, "handle out of range");
	buf_reset(&b->io);
	if ((rc = t->read(t, off, (size_t)size + SST_TRAILER_SIZE,
	    &b->io)) != 0)
		return rc;
	return block_decode(t, off, (const uint8_t *)b->io.data, (size_t)size,
	    max, b);
}

/* The key of index entry i. */
static const uint8_t *
idx_key(const struct sst *t, size_t i)
{
	return (const uint8_t *)t->ikeys.data + t->idx[i].koff;
}

/*
 * The record bi is on must be in data block i's share of the key space:
 * after the last key of block i-1, at most block i's last key, and that
 * key exactly if it is the block's last record.
 */
int
rec_in_block(const struct sst *t, size_t i, const struct biter *bi)
{
	const uint8_t *k = (const uint8_t *)bi->key.data;
	int c;

	c = icmp(k, bi->key.len, bi->seq, idx_key(t, i), t->idx[i].klen,
	    t->idx[i].seq);
	if (c > 0 || (bi->next >= bi->n && c != 0))
		return -1;
	if (i > 0 && icmp(k, bi->key.len, bi->seq, idx_key(t, i - 1),
	    t->idx[i - 1].klen, t->idx[i - 1].seq) <= 0)
		return -1;
	return 0;
}

/* The first data block whose last key is at or after (key, seq). */
size_t
idx_search(const struct sst *t, const uint8_t *key, size_t klen, uint64_t seq)
{
	size_t lo = 0, hi = t->nidx, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (icmp(idx_key(t, mid), t->idx[mid].klen, t->idx[mid].seq,
		    key, klen, seq) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Walk all of data block i once: every record parses, they are in strictly
 * increasing order, every restart point is the start of a record, the
 * first record comes after block i-1's last key and the last one is block
 * i's key in the index. After this the restart points can be
 * binary-searched with confidence.
 */
static int
data_check(const struct sst *t, size_t i, struct biter *bi)
{
	const struct idx_entry *x = &t->idx[i];

	if (bi->nrs == 0)
		return -1;
	bi_to_restart(bi, 0);
	if (bi_step(bi) != 0)
		return -1;
	if (i > 0 && icmp((const uint8_t *)bi->key.data, bi->key.len, bi->seq,
	    idx_key(t, i - 1), t->idx[i - 1].klen, t->idx[i - 1].seq) <= 0)
		return -1;
	while (bi->next < bi->n)
		if (bi_step(bi) != 0)
			return -1;
	if (bi->ri != bi->nrs - 1 || icmp((const uint8_t *)bi->key.data,
	    bi->key.len, bi->seq, idx_key(t, i), x->klen, x->seq) != 0)
		return -1;
	bi->cur = bi->next = bi->n;
	return 0;
}

/*
 * Data block i from the cache into b, bi pointed at it: 1, or 0 when it is
 * not there, and then b and bi hold nothing. A cached block was checked
 * whole (data_use) before it was put there.
 */
int
data_cached(struct sst *t, size_t i, struct block *b, struct biter *bi)
{
	struct cblock *cb;

	bi_clear(bi);
	block_uncache(b);
	if ((cb = block_cache_get(t->cache, t->id, t->idx[i].off)) == NULL)
		return 0;
	b->cb = cb;
	b->p = cblock_data(cb);
	b->n = cblock_size(cb);
	BUG_ON(bi_set(bi, b->p, b->n) != 0);
	return 1;
}

/*
 * Data block i is decoded in b: check it, point bi at it and, if `fill`,
 * give the cache a copy.
 */
int
data_use(struct sst *t, size_t i, struct block *b, struct biter *bi, int fill)
{
	struct cblock *cb;

	if (bi_set(bi, b->p, b->n) != 0 || data_check(t, i, bi) != 0) {
		bi_clear(bi);
		return sst_corrupt(t, t->idx[i].off, "bad records");
	}
	if (t->cache != NULL && fill) {
		cb = cblock_new(b->n);
		memcpy(cblock_data(cb), b->p, b->n);
		block_cache_put(t->cache, t->id, t->idx[i].off, cb);
		cblock_unref(cb);
		atomic_store(&t->cached, 1);
	}
	return 0;
}

/* Read data block i into b (not from the cache), check it, point bi at it. */
int
data_read(struct sst *t, size_t i, struct block *b, struct biter *bi, int fill)
{
	int rc;

	if ((rc = block_read(t, t->idx[i].off, t->idx[i].size,
	    SST_DATA_RAW_MAX, b)) != 0)
		return rc;
	return data_use(t, i, b, bi, fill);
}

/* Data block i into b, from the cache or read, and bi pointed at it. */
static int
data_load(struct sst *t, size_t i, struct block *b, struct biter *bi)
{
	if (data_cached(t, i, b, bi))
		return 0;
	return data_read(t, i, b, bi, 1);
}

int
sst_may_contain(const struct sst *t, const void *key, size_t klen)
{
	uint64_t h, h1, h2, bit;
	unsigned i;

	if (t->filter == NULL)
		return 1;
	h = XXH3_64bits(key != NULL ? key : sst_empty_key, klen);
	h1 = h & 0xffffffff;
	h2 = h >> 32;
	for (i = 0; i < t->filter_k; i++) {
		bit = (h1 + i * h2) % t->filter_bits;
		if ((t->filter[bit / 8] & (1u << (bit % 8))) == 0)
			return 0;
	}
	return 1;
}

int
sst_get(struct sst *t, const void *key, size_t klen, uint64_t max_seq,
    struct kv_entry *out, struct buf *scratch)
{
	const uint8_t *k = key != NULL ? key : sst_empty_key;
	struct block b;
	struct biter bi;
	size_t i;
	int rc;

	if (klen > KV_KEY_MAX || !sst_may_contain(t, k, klen))
		return -ENOENT;
	if (max_seq > KV_SEQ_MAX)
		max_seq = KV_SEQ_MAX;
	if ((i = idx_search(t, k, klen, max_seq)) == t->nidx)
		return -ENOENT;

	block_init(&b);
	bi_init(&bi);
	if ((rc = data_load(t, i, &b, &bi)) != 0)
		goto fail;
	if (bi_seek(&bi, k, klen, max_seq) != 0 || !bi_valid(&bi) ||
	    rec_in_block(t, i, &bi) != 0) {
		rc = sst_corrupt(t, t->idx[i].off, "bad record");
		goto fail;
	}
	if (kv_key_cmp(bi.key.data, bi.key.len, k, klen) != 0) {
		rc = -ENOENT;
		goto fail;
	}
	buf_reset(scratch);
	if ((rc = buf_reserve(scratch, klen + bi.vlen)) != 0)
		goto fail;
	buf_append(scratch, k, klen);
	buf_append(scratch, bi.val, bi.vlen);
	memset(out, 0, sizeof(*out));
	out->key = (const uint8_t *)scratch->data;
	out->klen = klen;
	out->val = bi.kind == KV_PUT ? out->key + klen : NULL;
	out->vlen = bi.vlen;
	out->seq = bi.seq;
	out->kind = bi.kind;
	out->expire = bi.expire;

fail:
	bi_release(&bi);
	block_release(&b);
	return rc;
}

/*
 * Content filters, read and decoded at the first scan with needles, not
 * at open: they are about a tenth of the table, which an open that read
 * them would read and keep for every table. Once loaded (cf_state 1,
 * release) they stay until the table closes. A failure is the caller's
 * error, and the next call tries again.
 */
int
sst_cf_load(struct sst *t)
{
	struct block b;
	int rc = 0;

	if (t->cf_size == 0 || atomic_load_explicit(&t->cf_state,
	    memory_order_acquire) == 1)
		return 0;
	pthread_mutex_lock(&t->cf_lock);
	if (atomic_load_explicit(&t->cf_state, memory_order_relaxed) == 1)
		goto out;
	block_init(&b);
	if ((rc = block_read(t, t->cf_off, t->cf_size, SST_META_RAW_MAX,
	    &b)) == 0 && (rc = cf_decode(t, t->cf_off, b.p, b.n)) == 0)
		atomic_store_explicit(&t->cf_state, 1, memory_order_release);
	block_release(&b);
out:
	pthread_mutex_unlock(&t->cf_lock);
	return rc;
}

/* Opening. */

/*
 * The properties; a version 2 table's handle of its content filter block
 * in cfh (0, 0 for none).
 */
static int
props_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n,
    uint64_t cfh[2])
{
	struct sst_info *in = &t->info;
	uint64_t v[5], kl;
	size_t pos = 0;
	int i;

	for (i = 0; i < 5; i++)
		if (varint_get(p, n, &pos, &v[i]) != 0)
			goto bad;
	in->entries = v[0];
	in->min_seq = v[1];
	in->max_seq = v[2];
	in->min_expire = unzigzag(v[3]);
	in->max_expire = unzigzag(v[4]);
	if (varint_get(p, n, &pos, &kl) != 0 || kl > KV_KEY_MAX ||
	    kl > n - pos)
		goto bad;
	buf_append(&in->first_key, p + pos, (size_t)kl);
	pos += (size_t)kl;
	if (varint_get(p, n, &pos, &kl) != 0 || kl > KV_KEY_MAX ||
	    kl > n - pos || (t->version == 1 && kl != n - pos))
		goto bad;
	buf_append(&in->last_key, p + pos, (size_t)kl);
	pos += (size_t)kl;
	cfh[0] = cfh[1] = 0;
	if (t->version >= 2 && (varint_get(p, n, &pos, &cfh[0]) != 0 ||
	    varint_get(p, n, &pos, &cfh[1]) != 0 || pos != n ||
	    (cfh[1] == 0 && cfh[0] != 0)))
		goto bad;

	if (in->min_seq > in->max_seq || in->max_seq > KV_SEQ_MAX)
		goto bad;
	if (in->max_expire != 0 &&
	    (in->min_expire == 0 || in->min_expire > in->max_expire))
		goto bad;
	if (kv_key_cmp(buf_bytes(&in->first_key), in->first_key.len,
	    buf_bytes(&in->last_key), in->last_key.len) > 0)
		goto bad;
	return 0;

bad:
	return sst_corrupt(t, off, "bad properties");
}

/* Decode the whole index into t->idx; the data blocks end at `end`. */
static int
index_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n,
    uint64_t end)
{
	struct biter bi;
	uint64_t expect = 0, hoff, hsize;
	size_t cap = 0, pos;
	struct idx_entry *x;
	int rc = 0;

	bi_init(&bi);
	if (bi_set(&bi, p, n) != 0 || bi_seek_first(&bi) != 0)
		goto bad;
	while (bi_valid(&bi)) {
		pos = 0;
		if (bi.kind != KV_PUT || bi.expire != 0 ||
		    varint_get(bi.val, bi.vlen, &pos, &hoff) != 0 ||
		    varint_get(bi.val, bi.vlen, &pos, &hsize) != 0 ||
		    pos != bi.vlen)
			goto bad;
		if (hoff != expect || hsize > SST_DATA_RAW_MAX ||
		    hsize + SST_TRAILER_SIZE > end - hoff)
			goto bad;
		expect = hoff + hsize + SST_TRAILER_SIZE;
		t->idx = xgrow(t->idx, &cap, t->nidx + 1, sizeof(*t->idx));
		x = &t->idx[t->nidx++];
		x->koff = t->ikeys.len;
		x->klen = bi.key.len;
		x->seq = bi.seq;
		x->off = hoff;
		x->size = hsize;
		if ((rc = buf_append(&t->ikeys, bi.key.data, bi.key.len)) != 0)
			goto fail;
		if (bi_step(&bi) != 0)
			goto bad;
	}
	if (expect != end)
		goto bad;
	goto fail;

bad:
	rc = sst_corrupt(t, off, "bad index");
fail:
	bi_release(&bi);
	return rc;
}

static int
filter_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n)
{
	if (n < 9 || p[n - 1] < 1 ||
	    p[n - 1] > SST_BLOOM_K_MAX)
		return sst_corrupt(t, off, "bad filter");
	t->filter = xmalloc(n - 1);
	memcpy(t->filter, p, n - 1);
	t->filter_bits = (uint64_t)(n - 1) * 8;
	t->filter_k = p[n - 1];
	return 0;
}

/*
 * Is the block (off, size) with its trailer inside [0, limit)? Its end in
 * *endp.
 */
static int
handle_ok(uint64_t off, uint64_t size, uint64_t limit, uint64_t *endp)
{
	if (size > limit || limit - size < SST_TRAILER_SIZE ||
	    off > limit - size - SST_TRAILER_SIZE)
		return 0;
	*endp = off + size + SST_TRAILER_SIZE;
	return 1;
}

static int
sst_load(struct sst *t)
{
	struct buf tail, more;
	struct block blk;
	const uint8_t *f, *meta;
	uint64_t ih[2], fh[2], ph[2], cfh[2] = { 0, 0 }, end, iend, fend, pend;
	uint64_t cfend, data_end, tail_off;
	size_t tn;
	int rc;

	buf_init(&tail, 0);
	buf_init(&more, 0);
	block_init(&blk);
	buf_init(&t->ikeys, 0);
	sst_info_init(&t->info);
	t->info.size = t->size;

	if (t->size < SST_FOOTER_SIZE) {
		rc = err_set(SHALE_ECORRUPT,
		    "'%s': %llu bytes: too short to be a table", t->name,
		    (unsigned long long)t->size);
		goto fail;
	}
	tn = t->size < SST_OPEN_READ ? (size_t)t->size : SST_OPEN_READ;
	tail_off = t->size - tn;
	if ((rc = t->read(t, tail_off, tn, &tail)) != 0)
		goto fail;
	end = t->size - SST_FOOTER_SIZE;
	f = (const uint8_t *)tail.data + tn - SST_FOOTER_SIZE;

	if (memcmp(f + 56, SST_MAGIC, SST_MAGIC_SIZE) != 0) {
		rc = err_set(SHALE_ECORRUPT, "'%s': footer: not a table "
		    "(bad magic number)", t->name);
		goto fail;
	}
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	if (crc32c(0, f, SST_FOOTER_CRC_OFF) !=
	    get_le32(f + SST_FOOTER_CRC_OFF)) {
		rc = err_set(SHALE_ECORRUPT, "'%s': footer: checksum mismatch",
		    t->name);
		goto fail;
	}
#endif
	t->version = get_le32(f + 48);
	if (t->version < SST_FORMAT_VERSION_MIN ||
	    t->version > SST_FORMAT_VERSION) {
		rc = err_set(SHALE_ECORRUPT, "'%s': footer: unknown format "
		    "version %u", t->name, t->version);
		goto fail;
	}
	ih[0] = get_le64(f);
	ih[1] = get_le64(f + 8);
	fh[0] = get_le64(f + 16);
	fh[1] = get_le64(f + 24);
	ph[0] = get_le64(f + 32);
	ph[1] = get_le64(f + 40);
	/* index, filter and properties follow one another, then the footer */
	if (!handle_ok(ih[0], ih[1], end, &iend) ||
	    !handle_ok(ph[0], ph[1], end, &pend) || pend != end ||
	    ih[1] > SST_META_RAW_MAX || ph[1] > SST_META_RAW_MAX ||
	    fh[1] > SST_META_RAW_MAX)
		goto badfooter;
	if ((fh[0] != 0 || fh[1] != 0) && (fh[1] == 0 ||
	    !handle_ok(fh[0], fh[1], end, &fend) || iend != fh[0] ||
	    fend != ph[0]))
		goto badfooter;
	if (fh[0] == 0 && fh[1] == 0 && iend != ph[0])
		goto badfooter;

	/* one more request if the tail did not hold them all */
	if (ih[0] >= tail_off)
		meta = (const uint8_t *)tail.data + (ih[0] - tail_off);
	else {
		if ((rc = buf_reserve(&more, (size_t)(t->size - ih[0]))) != 0 ||
		    (rc = t->read(t, ih[0], (size_t)(tail_off - ih[0]),
		    &more)) != 0 ||
		    (rc = buf_append(&more, tail.data, tail.len)) != 0)
			goto fail;
		meta = (const uint8_t *)more.data;
	}

	if ((rc = block_decode(t, ph[0], meta + (ph[0] - ih[0]),
	    (size_t)ph[1], SST_META_RAW_MAX, &blk)) != 0 ||
	    (rc = props_decode(t, ph[0], blk.p, blk.n, cfh)) != 0)
		goto fail;
	/* the content filters, if any, between the data and the index */
	data_end = ih[0];
	if (cfh[1] != 0) {
		if (cfh[1] > SST_META_RAW_MAX ||
		    !handle_ok(cfh[0], cfh[1], end, &cfend) || cfend != ih[0])
			goto badfooter;
		data_end = cfh[0];
		t->cf_off = cfh[0];
		t->cf_size = cfh[1];
	}
	if (fh[1] != 0 &&
	    ((rc = block_decode(t, fh[0], meta + (fh[0] - ih[0]),
	    (size_t)fh[1], SST_META_RAW_MAX, &blk)) != 0 ||
	    (rc = filter_decode(t, fh[0], blk.p, blk.n)) != 0))
		goto fail;
	if ((rc = block_decode(t, ih[0], meta, (size_t)ih[1],
	    SST_META_RAW_MAX, &blk)) != 0 ||
	    (rc = index_decode(t, ih[0], blk.p, blk.n, data_end)) != 0)
		goto fail;

	/* what the properties say must agree with the index */
	if ((t->info.entries == 0) != (t->nidx == 0) ||
	    t->info.entries < t->nidx) {
		rc = sst_corrupt(t, ph[0], "properties disagree with the index");
		goto fail;
	}
	if (t->nidx > 0 && (kv_key_cmp(idx_key(t, t->nidx - 1),
	    t->idx[t->nidx - 1].klen, buf_bytes(&t->info.last_key),
	    t->info.last_key.len) != 0 ||
	    t->idx[t->nidx - 1].seq < t->info.min_seq ||
	    t->idx[t->nidx - 1].seq > t->info.max_seq ||
	    kv_key_cmp(buf_bytes(&t->info.first_key), t->info.first_key.len,
	    idx_key(t, 0), t->idx[0].klen) > 0)) {
		rc = sst_corrupt(t, ph[0], "properties disagree with the index");
		goto fail;
	}
	rc = 0;
	goto fail;

badfooter:
	rc = err_set(SHALE_ECORRUPT, "'%s': footer: bad block handles",
	    t->name);
fail:
	block_release(&blk);
	buf_release(&more);
	buf_release(&tail);
	return rc;
}

void
sst_close(struct sst *t)
{
	if (t == NULL)
		return;
	if (atomic_load(&t->cached)) {
		/* by name: a walk of a cache of gigabytes costs each close */
		uint64_t offs[256];
		size_t i, n = 0;

		if (t->nidx == 0)	/* not loaded: its builder's blocks */
			block_cache_drop(t->cache, t->id);
		for (i = 0; i < t->nidx; i++) {
			offs[n++] = t->idx[i].off;
			if (n == sizeof(offs) / sizeof(offs[0]) || i + 1 == t->nidx) {
				block_cache_drop_blocks(t->cache, t->id, offs, n);
				n = 0;
			}
		}
	}
	sst_info_release(&t->info);
	buf_release(&t->ikeys);
	free(t->idx);
	free(t->filter);
	free(t->cfg);
	free(t->cf_of);
	free(t->cf);
	pthread_mutex_destroy(&t->cf_lock);
	free(t->name);
	free(t);
}

int
sst_open(struct objstore *os, const char *key, uint64_t size,
    struct sst **out)
{
	return sst_open_cached(os, key, size, NULL, out);
}

int
sst_open_cached(struct objstore *os, const char *key, uint64_t size,
    struct block_cache *cache, struct sst **out)
{
	return sst_open_built(os, key, size, cache, 0, out);
}

int
sst_open_built(struct objstore *os, const char *key, uint64_t size,
    struct block_cache *cache, uint64_t cache_id, struct sst **out)
{
	struct objstore_meta meta;
	struct sst *t;
	int rc;

	*out = NULL;
	if (size == 0) {
		if ((rc = objstore_head(os, key, &meta)) != 0)
			return rc;
		size = meta.size;
	}
	t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->cf_lock, NULL);
	t->name = xstrdup(key);
	t->read = read_store;
	t->os = os;
	t->cache = cache;
	t->id = cache_id != 0 ? cache_id : block_cache_table_id();
	if (cache_id != 0)
		atomic_store(&t->cached, 1);	/* its builder's blocks */
	t->size = size;
	if ((rc = sst_load(t)) != 0) {
		sst_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

int
sst_open_mem(const void *data, size_t n, const char *name, struct sst **out)
{
	struct sst *t;
	int rc;

	*out = NULL;
	if (data == NULL && n != 0)
		return -EINVAL;
	t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->cf_lock, NULL);
	t->name = xstrdup(name != NULL ? name : "(memory)");
	t->read = read_mem;
	t->mem = data != NULL ? data : sst_empty_key;
	t->size = n;
	if ((rc = sst_load(t)) != 0) {
		sst_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

const struct sst_info *
sst_info(const struct sst *t)
{
	return &t->info;
}

const char *
sst_name(const struct sst *t)
{
	return t->name;
}

size_t
sst_blocks(const struct sst *t)
{
	return t->nidx;
}
