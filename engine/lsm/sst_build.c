/*
 * sst_build.c - building a table in memory (struct sst_builder).
 *
 * The builder fills one data block at a time (a bwriter, sst_block.c),
 * closes it before a record would take it past the block size, compresses
 * it and appends it with its trailer to the table, and adds its last key
 * to the index block (another bwriter), and tells the content filters
 * (sst_cfilter.c) of each record and block. finish() writes the content
 * filters, the index, the bloom filter, the properties and the footer
 * (sst_format.h). With a
 * block cache (sst_builder_cache), each data block also goes there as it
 * is closed, in the form a read keeps (sst_read.c: data_use), under a
 * table id of the builder's own that sst_open_built() takes over.
 *
 * Not here: the records' bytes (sst_block.c), storing the table (the
 * caller), reading it back (sst_read.c).
 *
 * Threading: a builder is used by one thread at a time. It compresses
 * with the calling thread's zstd context (util/zctx.h), taken and reset
 * for each block, so it keeps none between calls. The block cache is
 * thread-safe (block_cache.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "engine/lsm/block_cache.h"
#include "engine/lsm/kv.h"
#include "engine/lsm/sst.h"
#include "engine/lsm/sst_format.h"
#include "engine/lsm/sst_int.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/xmalloc.h"
#include "util/zctx.h"

#define SST_DEFAULT_BLOCK_SIZE	4096
#define SST_DEFAULT_ZSTD_LEVEL	3
#define SST_BLOOM_BITS_MAX	64
#define SST_BLOCK_SIZE_MIN	64

struct sst_builder {
	struct sst_options	 o;
	struct buf		 tbl;		/* the finished blocks */
	struct bwriter		 data;		/* the block being filled */
	struct bwriter		 index;
	struct buf		 z;		/* compressed block */
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
	struct sst_prefix	*cf_prefix;	/* o.cf_prefix's copy */
	struct cf_builder	 cf;
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
	if (b->o.cf_nprefix > 0) {
		size_t n = 0;

		b->cf_prefix = xcalloc(b->o.cf_nprefix, sizeof(*b->cf_prefix));
		for (size_t i = 0; i < b->o.cf_nprefix; i++)
			if (b->o.cf_prefix[i].len <= SST_CF_PREFIX_MAX)
				b->cf_prefix[n++] = b->o.cf_prefix[i];
		b->o.cf_prefix = b->cf_prefix;
		b->o.cf_nprefix = n;
	} else
		b->o.cf_prefix = NULL;
	if (b->o.cf_group == 0)
		b->o.cf_group = SST_CF_GROUP;
	if (b->o.cf_bits == 0)
		b->o.cf_bits = SST_CF_BITS;
	if (b->o.cf_bits > SST_BLOOM_BITS_MAX)
		b->o.cf_bits = SST_BLOOM_BITS_MAX;
	if (b->o.cf_k == 0)
		b->o.cf_k = SST_CF_K;
	if (b->o.cf_k > SST_CF_K_MAX)
		b->o.cf_k = SST_CF_K_MAX;
	cfb_init(&b->cf, &b->o);
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
	free(b->hashes);
	cfb_release(&b->cf);
	free(b->cf_prefix);
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
	ZSTD_CCtx *cctx;
	uint32_t crc;
	int rc;

	if (compress) {
		if ((cctx = zctx_compress()) == NULL)
			return -ENOMEM;
		bound = ZSTD_compressBound(n);
		buf_reset(&b->z);
		if ((rc = buf_reserve(&b->z, bound)) != 0)
			return rc;
		/* the thread's context: drop what its last user set */
		ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
		zn = ZSTD_compressCCtx(cctx, b->z.data, bound, raw, n,
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
	if ((rc = cfb_block(&b->cf, b->data.data.len)) != 0)
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
	const uint8_t *key = e->key != NULL ? e->key : sst_empty_key;
	const uint8_t *val = sst_empty_key;
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
	cfb_add(&b->cf, key, e->klen, e->kind, val, vlen);

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
	n += cfb_size(&b->cf);
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
buf_varint(struct buf *b, uint64_t v)
{
	uint8_t tmp[SST_VARINT_MAX];

	return buf_append(b, tmp, varint_put(tmp, v));
}


static int
props_encode(const struct sst_builder *b, uint64_t cfoff, uint64_t cfsize,
    struct buf *out)
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
	    (rc = buf_append(out, b->last_key.data, b->last_key.len)) != 0 ||
	    (rc = buf_varint(out, cfoff)) != 0 ||
	    (rc = buf_varint(out, cfsize)) != 0)
		return rc;
	return 0;
}

int
sst_builder_finish(struct sst_builder *b, struct buf *out,
    struct sst_info *info)
{
	uint8_t footer[SST_FOOTER_SIZE];
	uint64_t ioff, isize, foff = 0, fsize = 0, poff, psize;
	uint64_t cfoff = 0, cfsize = 0;
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
	/* after the data, before the index: an open does not read it */
	if ((rc = cfb_finish(&b->cf, &tmp)) != 0)
		goto fail;
	if (tmp.len > 0 && (rc = write_block(b, tmp.data, tmp.len, 0, &cfoff,
	    &cfsize)) != 0)
		goto fail;
	buf_reset(&tmp);
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
	if ((rc = props_encode(b, cfoff, cfsize, &tmp)) != 0)
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
