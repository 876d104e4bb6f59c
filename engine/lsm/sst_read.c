/*
 * sst.c - sorted tables: the builder, the reader and its iterator.
 *
 * The bytes are described in sst_format.h. The builder fills one data
 * block at a time (struct bwriter), closes it before a record would take
 * it past the block size, compresses it and appends it to the table, and
 * adds its last key to the index block (another bwriter). finish() writes
 * the index, the bloom filter, the properties and the footer.
 *
 * The reader reads through a function pointer (read_mem, read_store) so a
 * table in memory and one in the object store share every decoder. Opening
 * reads the last SST_OPEN_READ bytes in one request, and the rest of the
 * index, filter and properties in a second one only when they do not fit;
 * it checks the footer, the layout, every checksum and the whole index
 * (keys strictly increasing, data blocks end to end from offset 0) and
 * keeps the index decoded in an array. Data blocks are read one at a time
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
 * Building with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION defined ignores
 * checksum mismatches, so a fuzzer can reach the decoders behind them.
 */
#include "config.h"

#include <assert.h>
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
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SST_DEFAULT_BLOCK_SIZE	4096
#define SST_DEFAULT_ZSTD_LEVEL	3
#define SST_BLOOM_BITS_MAX	64
#define SST_BLOCK_SIZE_MIN	64

/* Where an empty key points, so that no NULL reaches memcmp(). */
static const uint8_t empty_key[1];

/* Integers. */

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Decode a varint at p[*pos], n bytes in all: 0, or -1 if it does not parse. */
static int
varint_get(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	size_t i = *pos;
	unsigned shift;
	uint8_t c;

	for (shift = 0; shift < 64; shift += 7) {
		if (i >= n)
			return -1;
		c = p[i++];
		if (shift == 63 && c > 1)
			return -1;
		r |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*pos = i;
			*v = r;
			return 0;
		}
	}
	return -1;
}

static uint64_t
zigzag(int64_t v)
{
	return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static int64_t
unzigzag(uint64_t u)
{
	return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

static int
buf_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[SST_VARINT_MAX];

	return buf_append(b, tmp, varint_put(tmp, v));
}

/* Compare internal keys: user key ascending, then seq descending. */
static int
icmp(const uint8_t *a, size_t alen, uint64_t aseq, const uint8_t *b,
    size_t blen, uint64_t bseq)
{
	int c = kv_key_cmp(a, alen, b, blen);

	if (c != 0)
		return c;
	return aseq > bseq ? -1 : aseq < bseq;
}

static const uint8_t *
buf_bytes(const struct buf *b)
{
	return b->data != NULL ? (const uint8_t *)b->data : empty_key;
}

/* Records. */

struct rec {
	size_t		 shared;
	size_t		 unshared;
	const uint8_t	*kdelta;
	const uint8_t	*val;
	size_t		 vlen;
	uint64_t	 seq;
	uint8_t		 kind;
	int64_t		 expire;
};

/* Parse the record at p[*pos], n bytes in all: 0, or -1 if it is malformed. */
static int
rec_parse(const uint8_t *p, size_t n, size_t *pos, struct rec *r)
{
	uint64_t shared, unshared, vlen, seq, expire;
	size_t i = *pos;

	if (varint_get(p, n, &i, &shared) != 0 ||
	    varint_get(p, n, &i, &unshared) != 0 ||
	    varint_get(p, n, &i, &vlen) != 0 ||
	    varint_get(p, n, &i, &seq) != 0)
		return -1;
	if (shared > KV_KEY_MAX || unshared > KV_KEY_MAX ||
	    shared + unshared > KV_KEY_MAX || vlen > KV_VALUE_MAX ||
	    seq > KV_SEQ_MAX)
		return -1;
	if (i >= n)
		return -1;
	r->kind = p[i++];
	if (r->kind != KV_PUT && (r->kind != KV_DELETE || vlen != 0))
		return -1;
	if (varint_get(p, n, &i, &expire) != 0)
		return -1;
	if (unshared > n - i || vlen > n - i - unshared)
		return -1;
	r->shared = shared;
	r->unshared = unshared;
	r->kdelta = p + i;
	r->val = p + i + unshared;
	r->vlen = vlen;
	r->seq = seq;
	r->expire = unzigzag(expire);
	*pos = i + unshared + vlen;
	return 0;
}

/*
 * Block writer: records with prefix compression and restart points,
 * then the restart array.
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

static void
bw_init(struct bwriter *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->data, 0);
	buf_init(&w->last, 0);
}

static void
bw_release(struct bwriter *w)
{
	buf_release(&w->data);
	buf_release(&w->last);
	free(w->restarts);
	w->restarts = NULL;
}

static void
bw_reset(struct bwriter *w)
{
	buf_reset(&w->data);
	buf_reset(&w->last);
	w->nrestarts = 0;
	w->run = 0;
	w->nrecs = 0;
}

/* Bytes of the finished block. */
static size_t
bw_size(const struct bwriter *w)
{
	return w->data.len + 4 * w->nrestarts + 4;
}

/* Bytes a record adds to a block, at most. */
static size_t
rec_size(size_t klen, size_t vlen)
{
	return klen + vlen + SST_RECORD_OVERHEAD + 4;
}

static int
bw_add(struct bwriter *w, const uint8_t *key, size_t klen, uint64_t seq,
    uint8_t kind, int64_t expire, const uint8_t *val, size_t vlen)
{
	uint8_t hdr[SST_RECORD_OVERHEAD];
	size_t h = 0, shared = 0, max;
	int restart, rc;

	restart = w->nrecs == 0 || w->run == SST_RESTART_INTERVAL;
	if (!restart) {
		max = klen < w->last.len ? klen : w->last.len;
		while (shared < max &&
		    (uint8_t)w->last.data[shared] == key[shared])
			shared++;
	}
	h += varint_put(hdr + h, shared);
	h += varint_put(hdr + h, klen - shared);
	h += varint_put(hdr + h, vlen);
	h += varint_put(hdr + h, seq);
	hdr[h++] = kind;
	h += varint_put(hdr + h, zigzag(expire));

	/* Reserve first so that nothing below can fail half way. */
	if (restart && w->data.len > UINT32_MAX)
		return -EFBIG;
	if ((rc = buf_reserve(&w->data, h + klen - shared + vlen)) != 0)
		return rc;
	if (restart) {
		w->restarts = xgrow(w->restarts, &w->restarts_cap,
		    w->nrestarts + 1, sizeof(*w->restarts));
		w->restarts[w->nrestarts++] = (uint32_t)w->data.len;
		w->run = 0;
	}
	buf_append(&w->data, hdr, h);
	buf_append(&w->data, key + shared, klen - shared);
	buf_append(&w->data, val, vlen);
	w->last.len = shared;
	buf_append(&w->last, key + shared, klen - shared);
	w->run++;
	w->nrecs++;
	return 0;
}

/* Append the restart array: w->data is then the block's contents. */
static int
bw_finish(struct bwriter *w)
{
	uint8_t tmp[4];
	size_t i;
	int rc;

	if ((rc = buf_reserve(&w->data, 4 * w->nrestarts + 4)) != 0)
		return rc;
	for (i = 0; i < w->nrestarts; i++) {
		put_le32(tmp, w->restarts[i]);
		buf_append(&w->data, tmp, 4);
	}
	put_le32(tmp, (uint32_t)w->nrestarts);
	buf_append(&w->data, tmp, 4);
	return 0;
}

/* The builder. */

struct sst_builder {
	struct sst_options	 o;
	struct buf		 tbl;		/* the finished blocks */
	struct bwriter		 data;		/* the block being filled */
	struct bwriter		 index;
	struct buf		 z;		/* compressed block */
	ZSTD_CCtx		*cctx;
	uint64_t		*hashes;	/* of each distinct user key */
	size_t			 nhashes;
	size_t			 hashes_cap;
	struct buf		 first_key;
	struct buf		 last_key;	/* of the last record added */
	uint64_t		 last_seq;
	uint64_t		 entries;
	uint64_t		 min_seq;
	uint64_t		 max_seq;
	int64_t			 min_expire;
	int64_t			 max_expire;
	int			 never_expires;	/* some record has expire 0 */
	int			 finished;
	int			 error;		/* sticky: it failed, unusable */
	struct block_cache	*cache;		/* data blocks go there, as */
	uint64_t		 cache_id;	/* the blocks of this table id */
};

struct sst_builder *
sst_builder_new(const struct sst_options *o)
{
	struct sst_builder *b = xcalloc(1, sizeof(*b));

	if (o != NULL)
		b->o = *o;
	else
		b->o.bloom_bits_per_key = 10;
	if (b->o.block_size == 0)
		b->o.block_size = SST_DEFAULT_BLOCK_SIZE;
	if (b->o.block_size < SST_BLOCK_SIZE_MIN)
		b->o.block_size = SST_BLOCK_SIZE_MIN;
	if (b->o.block_size > SST_BLOCK_SIZE_MAX)
		b->o.block_size = SST_BLOCK_SIZE_MAX;
	if (b->o.zstd_level == 0)
		b->o.zstd_level = SST_DEFAULT_ZSTD_LEVEL;
	if (b->o.zstd_level < ZSTD_minCLevel())
		b->o.zstd_level = ZSTD_minCLevel();
	if (b->o.zstd_level > ZSTD_maxCLevel())
		b->o.zstd_level = ZSTD_maxCLevel();
	if (b->o.bloom_bits_per_key < 0)
		b->o.bloom_bits_per_key = 0;
	if (b->o.bloom_bits_per_key > SST_BLOOM_BITS_MAX)
		b->o.bloom_bits_per_key = SST_BLOOM_BITS_MAX;
	buf_init(&b->tbl, 0);
	bw_init(&b->data);
	bw_init(&b->index);
	buf_init(&b->z, 0);
	buf_init(&b->first_key, 0);
	buf_init(&b->last_key, 0);
	return b;
}

void
sst_builder_free(struct sst_builder *b)
{
	if (b == NULL)
		return;
	/* a table not finished is never opened: its blocks are garbage */
	if (b->cache != NULL && (!b->finished || b->error != 0))
		block_cache_drop(b->cache, b->cache_id);
	buf_release(&b->tbl);
	bw_release(&b->data);
	bw_release(&b->index);
	buf_release(&b->z);
	buf_release(&b->first_key);
	buf_release(&b->last_key);
	ZSTD_freeCCtx(b->cctx);
	free(b->hashes);
	free(b);
}

/*
 * Append a block and its trailer to the table, compressed if `compress`
 * and zstd makes it smaller; its handle in *off and *size.
 */
static int
write_block(struct sst_builder *b, const void *raw, size_t n, int compress,
    uint64_t *off, uint64_t *size)
{
	const void *stored = raw;
	uint8_t trailer[SST_TRAILER_SIZE], type = SST_COMP_NONE;
	size_t bound, zn, slen = n;
	uint32_t crc;
	int rc;

	if (compress) {
		if (b->cctx == NULL && (b->cctx = ZSTD_createCCtx()) == NULL)
			return -ENOMEM;
		bound = ZSTD_compressBound(n);
		buf_reset(&b->z);
		if ((rc = buf_reserve(&b->z, bound)) != 0)
			return rc;
		zn = ZSTD_compressCCtx(b->cctx, b->z.data, bound, raw, n,
		    b->o.zstd_level);
		if (!ZSTD_isError(zn) && zn < n) {
			stored = b->z.data;
			slen = zn;
			type = SST_COMP_ZSTD;
		}
	}
	crc = crc32c(0, stored, slen);
	crc = crc32c(crc, &type, 1);
	trailer[0] = type;
	put_le32(trailer + 1, crc);
	if ((rc = buf_reserve(&b->tbl, slen + sizeof(trailer))) != 0)
		return rc;
	*off = b->tbl.len;
	*size = slen;
	buf_append(&b->tbl, stored, slen);
	buf_append(&b->tbl, trailer, sizeof(trailer));
	return 0;
}

/* Close the data block: write it and index its last key. */
static int
flush_data(struct sst_builder *b)
{
	uint8_t handle[2 * SST_VARINT_MAX];
	uint64_t off, size;
	size_t h;
	int rc;

	if ((rc = bw_finish(&b->data)) != 0)
		return rc;
	if ((rc = write_block(b, b->data.data.data, b->data.data.len, 1, &off,
	    &size)) != 0)
		return rc;
	if (b->cache != NULL) {
		/* as data_use keeps a block read: decompressed, checked */
		struct cblock *cb = cblock_new(b->data.data.len);

		memcpy(cblock_data(cb), b->data.data.data, b->data.data.len);
		block_cache_put(b->cache, b->cache_id, off, cb);
		cblock_unref(cb);
	}
	h = varint_put(handle, off);
	h += varint_put(handle + h, size);
	if ((rc = bw_add(&b->index, buf_bytes(&b->data.last), b->data.last.len,
	    b->last_seq, KV_PUT, 0, handle, h)) != 0)
		return rc;
	bw_reset(&b->data);
	return 0;
}

int
sst_builder_add(struct sst_builder *b, const struct kv_entry *e)
{
	const uint8_t *key = e->key != NULL ? e->key : empty_key;
	const uint8_t *val = empty_key;
	size_t vlen = 0;
	int rc;

	if (b->error != 0)
		return b->error;
	if (b->finished)
		return -EINVAL;
	if (e->klen > KV_KEY_MAX || (e->key == NULL && e->klen != 0) ||
	    e->seq > KV_SEQ_MAX || (e->kind != KV_PUT && e->kind != KV_DELETE))
		return -EINVAL;
	if (e->kind == KV_PUT) {
		if (e->vlen > KV_VALUE_MAX || (e->val == NULL && e->vlen != 0))
			return -EINVAL;
		if (e->vlen != 0)
			val = e->val;
		vlen = e->vlen;
	}
	/* a delete's value, if any, is not kept */
	if (b->entries > 0 && icmp(buf_bytes(&b->last_key), b->last_key.len,
	    b->last_seq, key, e->klen, e->seq) >= 0)
		return -EINVAL;

	if (b->data.nrecs > 0 &&
	    bw_size(&b->data) + rec_size(e->klen, vlen) > b->o.block_size &&
	    (rc = flush_data(b)) != 0)
		goto fail;
	if ((rc = bw_add(&b->data, key, e->klen, e->seq, e->kind, e->expire,
	    val, vlen)) != 0)
		goto fail;

	if (b->o.bloom_bits_per_key > 0 && (b->entries == 0 ||
	    kv_key_cmp(buf_bytes(&b->last_key), b->last_key.len, key,
	    e->klen) != 0)) {
		b->hashes = xgrow(b->hashes, &b->hashes_cap, b->nhashes + 1,
		    sizeof(*b->hashes));
		b->hashes[b->nhashes++] = XXH3_64bits(key, e->klen);
	}
	buf_reset(&b->last_key);
	if ((rc = buf_append(&b->last_key, key, e->klen)) != 0)
		goto fail;
	b->last_seq = e->seq;
	if (b->entries == 0) {
		if ((rc = buf_append(&b->first_key, key, e->klen)) != 0)
			goto fail;
		b->min_seq = b->max_seq = e->seq;
	}
	if (e->seq < b->min_seq)
		b->min_seq = e->seq;
	if (e->seq > b->max_seq)
		b->max_seq = e->seq;
	if (e->expire == 0)
		b->never_expires = 1;
	else {
		if (b->min_expire == 0 || e->expire < b->min_expire)
			b->min_expire = e->expire;
		if (b->max_expire == 0 || e->expire > b->max_expire)
			b->max_expire = e->expire;
	}
	b->entries++;
	return 0;

fail:
	b->error = rc;
	return rc;
}

uint64_t
sst_builder_entries(const struct sst_builder *b)
{
	return b->entries;
}

int
sst_builder_reserve(struct sst_builder *b, size_t n)
{
	return buf_reserve(&b->tbl, n);
}

uint64_t
sst_builder_size(const struct sst_builder *b)
{
	uint64_t n;

	n = b->tbl.len + SST_FOOTER_SIZE + 4 * SST_TRAILER_SIZE;
	if (b->data.nrecs > 0)
		n += bw_size(&b->data);
	n += bw_size(&b->index) + 2 * SST_VARINT_MAX + b->last_key.len;
	n += (uint64_t)b->nhashes * (unsigned)b->o.bloom_bits_per_key / 8 + 1;
	n += 5 * SST_VARINT_MAX + b->first_key.len + b->last_key.len;
	return n;
}

/* Append the bloom filter's contents to `out`. */
static int
bloom_build(const struct sst_builder *b, struct buf *out)
{
	uint64_t m, h, h1, h2, bit;
	unsigned bits = (unsigned)b->o.bloom_bits_per_key, k, i;
	uint8_t *p;
	size_t j;
	int rc;

	m = (uint64_t)b->nhashes * bits;
	if (m < 64)
		m = 64;
	m = (m + 7) / 8 * 8;
	if (m / 8 + 1 > SST_META_RAW_MAX)
		return -EFBIG;
	k = (bits * 69 + 50) / 100;
	if (k < 1)
		k = 1;
	if (k > SST_BLOOM_K_MAX)
		k = SST_BLOOM_K_MAX;
	if ((rc = buf_reserve(out, (size_t)(m / 8) + 1)) != 0)
		return rc;
	p = (uint8_t *)out->data + out->len;
	memset(p, 0, (size_t)(m / 8));
	for (j = 0; j < b->nhashes; j++) {
		h = b->hashes[j];
		h1 = h & 0xffffffff;
		h2 = h >> 32;
		for (i = 0; i < k; i++) {
			bit = (h1 + i * h2) % m;
			p[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
	}
	p[m / 8] = (uint8_t)k;
	out->len += (size_t)(m / 8) + 1;
	out->data[out->len] = '\0';
	return 0;
}

static int
props_encode(const struct sst_builder *b, struct buf *out)
{
	int rc;

	if ((rc = buf_varint(out, b->entries)) != 0 ||
	    (rc = buf_varint(out, b->min_seq)) != 0 ||
	    (rc = buf_varint(out, b->max_seq)) != 0 ||
	    (rc = buf_varint(out, zigzag(b->min_expire))) != 0 ||
	    (rc = buf_varint(out, zigzag(b->never_expires ? 0 :
	    b->max_expire))) != 0 ||
	    (rc = buf_varint(out, b->first_key.len)) != 0 ||
	    (rc = buf_append(out, b->first_key.data, b->first_key.len)) != 0 ||
	    (rc = buf_varint(out, b->last_key.len)) != 0 ||
	    (rc = buf_append(out, b->last_key.data, b->last_key.len)) != 0)
		return rc;
	return 0;
}

int
sst_builder_finish(struct sst_builder *b, struct buf *out,
    struct sst_info *info)
{
	uint8_t footer[SST_FOOTER_SIZE];
	uint64_t ioff, isize, foff = 0, fsize = 0, poff, psize;
	struct buf tmp;
	int rc;

	buf_init(&tmp, 0);
	if (b->error != 0)
		return b->error;
	if (b->finished)
		return -EINVAL;
	b->finished = 1;

	if (b->data.nrecs > 0 && (rc = flush_data(b)) != 0)
		goto fail;
	if ((rc = bw_finish(&b->index)) != 0)
		goto fail;
	if (b->index.data.len > SST_META_RAW_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	if ((rc = write_block(b, b->index.data.data, b->index.data.len, 1,
	    &ioff, &isize)) != 0)
		goto fail;
	if (b->o.bloom_bits_per_key > 0) {
		if ((rc = bloom_build(b, &tmp)) != 0)
			goto fail;
		if ((rc = write_block(b, tmp.data, tmp.len, 0, &foff,
		    &fsize)) != 0)
			goto fail;
	}
	buf_reset(&tmp);
	if ((rc = props_encode(b, &tmp)) != 0)
		goto fail;
	if ((rc = write_block(b, tmp.data, tmp.len, 1, &poff, &psize)) != 0)
		goto fail;

	memset(footer, 0, sizeof(footer));
	put_le64(footer, ioff);
	put_le64(footer + 8, isize);
	put_le64(footer + 16, foff);
	put_le64(footer + 24, fsize);
	put_le64(footer + 32, poff);
	put_le64(footer + 40, psize);
	put_le32(footer + 48, SST_FORMAT_VERSION);
	put_le32(footer + SST_FOOTER_CRC_OFF,
	    crc32c(0, footer, SST_FOOTER_CRC_OFF));
	memcpy(footer + 56, SST_MAGIC, SST_MAGIC_SIZE);
	if ((rc = buf_append(&b->tbl, footer, sizeof(footer))) != 0)
		goto fail;

	info->size = b->tbl.len;
	if (out->len == 0 && out->max == b->tbl.max) {
		/* the table moves, not copied: big ones are hundreds of MiB */
		struct buf t = *out;

		*out = b->tbl;
		b->tbl = t;
	} else if ((rc = buf_append(out, b->tbl.data, b->tbl.len)) != 0)
		goto fail;
	info->entries = b->entries;
	info->min_seq = b->min_seq;
	info->max_seq = b->max_seq;
	info->min_expire = b->min_expire;
	info->max_expire = b->never_expires ? 0 : b->max_expire;
	buf_reset(&info->first_key);
	buf_reset(&info->last_key);
	if ((rc = buf_append(&info->first_key, buf_bytes(&b->first_key),
	    b->first_key.len)) != 0 ||
	    (rc = buf_append(&info->last_key, buf_bytes(&b->last_key),
	    b->last_key.len)) != 0)
		goto fail;
	buf_release(&tmp);
	return 0;

fail:
	buf_release(&tmp);
	b->error = rc;
	return rc;
}

void
sst_builder_take_buf(struct sst_builder *b, struct buf *mem)
{
	struct buf t;

	if (b->tbl.len != 0 || mem->max != b->tbl.max)
		return;
	buf_reset(mem);
	t = b->tbl;
	b->tbl = *mem;
	*mem = t;
}

void
sst_builder_cache(struct sst_builder *b, struct block_cache *cache)
{
	if (cache == NULL || b->cache != NULL || b->entries != 0)
		return;
	b->cache = cache;
	b->cache_id = block_cache_table_id();
}

uint64_t
sst_builder_cache_id(const struct sst_builder *b)
{
	return b->cache != NULL ? b->cache_id : 0;
}

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

/* The reader. */

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
};

static int
corrupt(const struct sst *t, uint64_t off, const char *what)
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

/* A block's contents, read and decompressed, or from the cache. */
struct block {
	struct buf	 io;		/* stored bytes and trailer */
	struct buf	 plain;		/* contents of a compressed block */
	struct cblock	*cb;		/* a cached block, referenced */
	const uint8_t	*p;		/* the contents: in io, plain, cb ... */
	size_t		 n;
};

static void
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

static void
block_release(struct block *b)
{
	buf_release(&b->io);
	buf_release(&b->plain);
	block_uncache(b);
}

/*
 * One decompression context per thread, made on first use and freed when
 * the thread exits: a table is shared between threads, and making a
 * context for every block read would cost more than the read.
 */
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static pthread_key_t dctx_key;

static void
dctx_destroy(void *p)
{
	ZSTD_freeDCtx(p);
}

static void
dctx_key_init(void)
{
	if (pthread_key_create(&dctx_key, dctx_destroy) != 0)
		abort();
}

static ZSTD_DCtx *
thread_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&dctx_once, dctx_key_init);
	if ((d = pthread_getspecific(dctx_key)) == NULL &&
	    (d = ZSTD_createDCtx()) != NULL &&
	    pthread_setspecific(dctx_key, d) != 0) {
		ZSTD_freeDCtx(d);
		d = NULL;
	}
	return d;
}

/*
 * Check the `size` stored bytes at s (then the trailer) of the block at
 * `off`, and decompress them if they need it, to at most `max` bytes.
 */
static int
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
		return corrupt(t, off, "checksum mismatch");
#else
	(void)crc;
#endif
	switch (type) {
	case SST_COMP_NONE:
		if (size > max)
			return corrupt(t, off, "too big");
		b->p = s;
		b->n = size;
		return 0;
	case SST_COMP_ZSTD:
		cs = ZSTD_getFrameContentSize(s, size);
		if (cs == ZSTD_CONTENTSIZE_UNKNOWN ||
		    cs == ZSTD_CONTENTSIZE_ERROR || cs > max)
			return corrupt(t, off, "bad compressed frame header");
		r = ZSTD_findFrameCompressedSize(s, size);
		if (ZSTD_isError(r) || r != size)
			return corrupt(t, off, "not one compressed frame");
		if ((dctx = thread_dctx()) == NULL)
			return -ENOMEM;
		buf_reset(&b->plain);
		if ((rc = buf_reserve(&b->plain, (size_t)cs)) != 0)
			return rc;
		r = ZSTD_decompressDCtx(dctx, b->plain.data, (size_t)cs, s,
		    size);
		if (ZSTD_isError(r) || r != cs)
			return corrupt(t, off, "cannot decompress");
		b->plain.len = (size_t)cs;
		b->plain.data[cs] = '\0';
		b->p = (const uint8_t *)b->plain.data;
		b->n = (size_t)cs;
		return 0;
	default:
		return corrupt(t, off, "unknown compression type");
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
		return corrupt(t, off, "handle out of range");
	buf_reset(&b->io);
	if ((rc = t->read(t, off, (size_t)size + SST_TRAILER_SIZE,
	    &b->io)) != 0)
		return rc;
	return block_decode(t, off, (const uint8_t *)b->io.data, (size_t)size,
	    max, b);
}

/*
 * Walking the records of a block. Functions return 0, or -1 when the
 * records are malformed (the caller names the block). Not valid when
 * cur == n.
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

static void
bi_init(struct biter *bi)
{
	memset(bi, 0, sizeof(*bi));
	buf_init(&bi->key, 0);
	buf_reserve(&bi->key, 64);	/* never NULL, even for empty keys */
	buf_init(&bi->saved, 0);
	buf_reserve(&bi->saved, 64);
}

static void
bi_release(struct biter *bi)
{
	buf_release(&bi->key);
	buf_release(&bi->saved);
}

static void
bi_clear(struct biter *bi)
{
	bi->p = NULL;
	bi->n = bi->cur = bi->next = 0;
	bi->nrs = 0;
}

static int
bi_valid(const struct biter *bi)
{
	return bi->cur < bi->n;
}

static uint32_t
bi_restart(const struct biter *bi, uint32_t i)
{
	return get_le32(bi->rs + 4 * (size_t)i);
}

/* Point at a block's contents and check its restart array. */
static int
bi_set(struct biter *bi, const uint8_t *p, size_t n)
{
	uint32_t nrs, i, r, prev = 0;
	size_t region;

	bi_clear(bi);
	if (n < 4)
		return -1;
	nrs = get_le32(p + n - 4);
	if (nrs > (n - 4) / 4)
		return -1;
	region = n - 4 - 4 * (size_t)nrs;
	if (nrs == 0 && region != 0)
		return -1;
	for (i = 0; i < nrs; i++) {
		r = get_le32(p + region + 4 * (size_t)i);
		if (i == 0 ? r != 0 : r <= prev)
			return -1;
		if (r >= region)
			return -1;
		prev = r;
	}
	bi->p = p;
	bi->n = region;
	bi->rs = p + region;
	bi->nrs = nrs;
	bi->cur = bi->next = region;
	return 0;
}

static void
bi_to_restart(struct biter *bi, uint32_t i)
{
	buf_reset(&bi->key);
	bi->haskey = 0;
	bi->ri = i;
	bi->cur = bi->n;
	bi->next = bi_restart(bi, i);
}

/* Decode the record at next; at the end, become not valid. */
static int
bi_step(struct biter *bi)
{
	size_t pos = bi->next;
	struct rec r;
	int c, restart;

	if (pos >= bi->n) {
		bi->cur = bi->n;
		return 0;
	}
	while (bi->ri + 1 < bi->nrs && bi_restart(bi, bi->ri + 1) <= pos) {
		if (bi_restart(bi, bi->ri + 1) < pos)
			return -1;	/* a restart inside a record */
		bi->ri++;
	}
	restart = bi_restart(bi, bi->ri) == pos;
	if (rec_parse(bi->p, bi->n, &pos, &r) != 0)
		return -1;
	if ((restart && r.shared != 0) || r.shared > bi->key.len)
		return -1;
	if (bi->haskey) {
		c = kv_key_cmp(bi->key.data + r.shared, bi->key.len - r.shared,
		    r.kdelta, r.unshared);
		if (c > 0 || (c == 0 && r.seq >= bi->seq))
			return -1;
	}
	bi->key.len = r.shared;
	buf_append(&bi->key, r.kdelta, r.unshared);
	bi->haskey = 1;
	bi->seq = r.seq;
	bi->kind = r.kind;
	bi->expire = r.expire;
	bi->val = r.val;
	bi->vlen = r.vlen;
	bi->cur = bi->next;
	bi->next = pos;
	return 0;
}

static int
bi_seek_first(struct biter *bi)
{
	if (bi->nrs == 0) {
		bi->cur = bi->n;
		return 0;
	}
	bi_to_restart(bi, 0);
	return bi_step(bi);
}

static int
bi_seek_last(struct biter *bi)
{
	if (bi->nrs == 0) {
		bi->cur = bi->n;
		return 0;
	}
	bi_to_restart(bi, bi->nrs - 1);
	do {
		if (bi_step(bi) != 0)
			return -1;
	} while (bi->next < bi->n);
	return 0;
}

/*
 * Step back: scan forward from the restart before the current record to
 * the record that ends where it starts, which must sort before it.
 */
static int
bi_prev(struct biter *bi)
{
	size_t orig = bi->cur;
	uint64_t seq = bi->seq;
	uint32_t i = bi->ri;

	while (bi_restart(bi, i) >= orig) {
		if (i == 0) {
			bi->cur = bi->n;	/* before the first */
			return 0;
		}
		i--;
	}
	buf_reset(&bi->saved);
	buf_append(&bi->saved, bi->key.data, bi->key.len);
	bi_to_restart(bi, i);
	do {
		if (bi_step(bi) != 0 || !bi_valid(bi))
			return -1;
	} while (bi->next < orig);
	if (bi->next != orig || icmp((const uint8_t *)bi->key.data, bi->key.len,
	    bi->seq, (const uint8_t *)bi->saved.data, bi->saved.len, seq) >= 0)
		return -1;
	return 0;
}

/* The first record at or after (key, seq). */
static int
bi_seek(struct biter *bi, const uint8_t *key, size_t klen, uint64_t seq)
{
	uint32_t lo = 0, hi, mid;
	size_t pos;
	struct rec r;

	if (bi->nrs == 0) {
		bi->cur = bi->n;
		return 0;
	}
	hi = bi->nrs - 1;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		pos = bi_restart(bi, mid);
		if (rec_parse(bi->p, bi->n, &pos, &r) != 0 || r.shared != 0)
			return -1;
		if (icmp(r.kdelta, r.unshared, r.seq, key, klen, seq) < 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	bi_to_restart(bi, lo);
	for (;;) {
		if (bi_step(bi) != 0)
			return -1;
		if (!bi_valid(bi) || icmp((const uint8_t *)bi->key.data,
		    bi->key.len, bi->seq, key, klen, seq) >= 0)
			return 0;
	}
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
static int
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
static size_t
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
static int
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
static int
data_use(struct sst *t, size_t i, struct block *b, struct biter *bi, int fill)
{
	struct cblock *cb;

	if (bi_set(bi, b->p, b->n) != 0 || data_check(t, i, bi) != 0) {
		bi_clear(bi);
		return corrupt(t, t->idx[i].off, "bad records");
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
static int
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
	h = XXH3_64bits(key != NULL ? key : empty_key, klen);
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
	const uint8_t *k = key != NULL ? key : empty_key;
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
		rc = corrupt(t, t->idx[i].off, "bad record");
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

/* Opening. */

static int
props_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n)
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
	    kl != n - pos)
		goto bad;
	buf_append(&in->last_key, p + pos, (size_t)kl);

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
	return corrupt(t, off, "bad properties");
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
	rc = corrupt(t, off, "bad index");
fail:
	bi_release(&bi);
	return rc;
}

static int
filter_decode(struct sst *t, uint64_t off, const uint8_t *p, size_t n)
{
	if (n < 9 || p[n - 1] < 1 ||
	    p[n - 1] > SST_BLOOM_K_MAX)
		return corrupt(t, off, "bad filter");
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
	uint64_t ih[2], fh[2], ph[2], end, iend, fend, pend, tail_off;
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
	if (get_le32(f + 48) != SST_FORMAT_VERSION) {
		rc = err_set(SHALE_ECORRUPT, "'%s': footer: unknown format "
		    "version %u", t->name, get_le32(f + 48));
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
	if (fh[0] == 0 && fh[1] == 0) {
		if (iend != ph[0])
			goto badfooter;
	} else if (fh[1] == 0 || !handle_ok(fh[0], fh[1], end, &fend) ||
	    iend != fh[0] || fend != ph[0])
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
	    (rc = props_decode(t, ph[0], blk.p, blk.n)) != 0)
		goto fail;
	if (fh[1] != 0 &&
	    ((rc = block_decode(t, fh[0], meta + (fh[0] - ih[0]),
	    (size_t)fh[1], SST_META_RAW_MAX, &blk)) != 0 ||
	    (rc = filter_decode(t, fh[0], blk.p, blk.n)) != 0))
		goto fail;
	if ((rc = block_decode(t, ih[0], meta, (size_t)ih[1],
	    SST_META_RAW_MAX, &blk)) != 0 ||
	    (rc = index_decode(t, ih[0], blk.p, blk.n, ih[0])) != 0)
		goto fail;

	/* what the properties say must agree with the index */
	if ((t->info.entries == 0) != (t->nidx == 0) ||
	    t->info.entries < t->nidx) {
		rc = corrupt(t, ph[0], "properties disagree with the index");
		goto fail;
	}
	if (t->nidx > 0 && (kv_key_cmp(idx_key(t, t->nidx - 1),
	    t->idx[t->nidx - 1].klen, buf_bytes(&t->info.last_key),
	    t->info.last_key.len) != 0 ||
	    t->idx[t->nidx - 1].seq < t->info.min_seq ||
	    t->idx[t->nidx - 1].seq > t->info.max_seq ||
	    kv_key_cmp(buf_bytes(&t->info.first_key), t->info.first_key.len,
	    idx_key(t, 0), t->idx[0].klen) > 0)) {
		rc = corrupt(t, ph[0], "properties disagree with the index");
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
	t->name = xstrdup(name != NULL ? name : "(memory)");
	t->read = read_mem;
	t->mem = data != NULL ? data : empty_key;
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

/*
 * The iterator: the data block it is in (blk, SIZE_MAX for none) and a
 * biter over it. A failure is kept in status and stops it for good.
 */
/*
 * Read-ahead: once an iterator has moved forward into a next block twice
 * in a row (a scan, not a seek), it reads the following blocks up to
 * SST_READAHEAD bytes in one request and decodes them from there, so a
 * scan costs one GET per megabyte instead of one per block.
 */
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
};

static void
si_fail(struct sst_iter *si, int rc)
{
	if (si->status == 0)
		si->status = rc;
	bi_clear(&si->bi);
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
		if (end - off > SST_READAHEAD || t->idx[j].off < off)
			break;
	}
	end = t->idx[j - 1].off + t->idx[j - 1].size + SST_TRAILER_SIZE;
	if (end > t->size || t->idx[i].size > SST_DATA_RAW_MAX)
		return corrupt(t, off, "handle out of range");
	si->ra_first = si->ra_end = 0;
	buf_reset(&si->ra);
	if ((rc = t->read(t, off, (size_t)(end - off), &si->ra)) != 0)
		return rc;
	si->ra_first = i;
	si->ra_end = j;
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

	for (;;) {
		if (bad == 0 && bi_valid(&si->bi) &&
		    rec_in_block(t, si->blk, &si->bi) != 0)
			bad = -1;
		if (bad != 0) {
			si_fail(si, corrupt(t, t->idx[si->blk].off,
			    "bad record"));
			return;
		}
		if (bi_valid(&si->bi))
			return;
		if (dir > 0 ? si->blk + 1 >= t->nidx : si->blk == 0)
			return;
		if (si_load(si, dir > 0 ? si->blk + 1 : si->blk - 1) != 0)
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
	if ((i = idx_search(si->t, key, klen, seq)) == si->t->nidx) {
		if (si->blk != SIZE_MAX)
			si->bi.cur = si->bi.n;
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

	si_seek_ge(si, key != NULL ? key : empty_key, klen, KV_SEQ_MAX);
}

static void
si_seek_first(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	if (si->status != 0 || si->t->nidx == 0)
		return;
	if (si_load(si, 0) != 0)
		return;
	si_settle(si, bi_seek_first(&si->bi), 1);
}

static void
si_seek_last(struct iter *it)
{
	struct sst_iter *si = (struct sst_iter *)it;

	if (si->status != 0 || si->t->nidx == 0)
		return;
	if (si_load(si, si->t->nidx - 1) != 0)
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
	const uint8_t *k = key != NULL ? key : empty_key;

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
	struct sst_iter *si = xcalloc(1, sizeof(*si));

	si->it.ops = &sst_iter_ops;
	si->t = t;
	si->fill = fill;
	si->blk = SIZE_MAX;
	block_init(&si->b);
	bi_init(&si->bi);
	buf_init(&si->ra, 0);
	return &si->it;
}
