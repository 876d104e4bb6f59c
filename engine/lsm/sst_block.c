/*
 * sst_block.c - the record blocks of a table (sst_format.h): a record's
 * bytes, the block writer (struct bwriter) and the walk of a block's
 * records (struct biter), for data blocks and the index alike.
 *
 * A bwriter appends records with their keys prefix-compressed, starts a
 * restart run every SST_RESTART_INTERVAL records and ends the block with
 * the restart array. A biter checks the restart array when pointed at a
 * block (bi_set), and as it walks, that every record parses, that keys
 * strictly increase and that no restart point falls inside a record; a
 * block that fails is -1, for the caller to name (sst_read.c). A seek
 * binary-searches the restart points, which is sound only in a block
 * walked whole before (data_check, sst_read.c).
 *
 * Not here: trailers, checksums and compression (sst_build.c writes them,
 * sst_read.c checks them), nor which block holds a key (the index,
 * sst_read.c).
 *
 * Threading: none of its own. A bwriter or a biter belongs to one thread;
 * a biter only reads the bytes it is pointed at, which must not change or
 * go while it does.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/sst_format.h"
#include "engine/lsm/sst_int.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/xmalloc.h"

const uint8_t sst_empty_key[1];

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

/* The block writer. */

void
bw_init(struct bwriter *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->data, 0);
	buf_init(&w->last, 0);
}

void
bw_release(struct bwriter *w)
{
	buf_release(&w->data);
	buf_release(&w->last);
	free(w->restarts);
	w->restarts = NULL;
}

void
bw_reset(struct bwriter *w)
{
	buf_reset(&w->data);
	buf_reset(&w->last);
	w->nrestarts = 0;
	w->run = 0;
	w->nrecs = 0;
}

/* Bytes of the finished block. */
size_t
bw_size(const struct bwriter *w)
{
	return w->data.len + 4 * w->nrestarts + 4;
}

/* Bytes a record adds to a block, at most. */
size_t
rec_size(size_t klen, size_t vlen)
{
	return klen + vlen + SST_RECORD_OVERHEAD + 4;
}

int
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
int
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

/* Walking a block. */

void
bi_init(struct biter *bi)
{
	memset(bi, 0, sizeof(*bi));
	buf_init(&bi->key, 0);
	buf_reserve(&bi->key, 64);	/* never NULL, even for empty keys */
	buf_init(&bi->saved, 0);
	buf_reserve(&bi->saved, 64);
}

void
bi_release(struct biter *bi)
{
	buf_release(&bi->key);
	buf_release(&bi->saved);
}

void
bi_clear(struct biter *bi)
{
	bi->p = NULL;
	bi->n = bi->cur = bi->next = 0;
	bi->nrs = 0;
}

static uint32_t
bi_restart(const struct biter *bi, uint32_t i)
{
	return get_le32(bi->rs + 4 * (size_t)i);
}

/* Point at a block's contents and check its restart array. */
int
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

void
bi_to_restart(struct biter *bi, uint32_t i)
{
	buf_reset(&bi->key);
	bi->haskey = 0;
	bi->ri = i;
	bi->cur = bi->n;
	bi->next = bi_restart(bi, i);
}

/* Decode the record at next; at the end, become not valid. */
int
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

int
bi_seek_first(struct biter *bi)
{
	if (bi->nrs == 0) {
		bi->cur = bi->n;
		return 0;
	}
	bi_to_restart(bi, 0);
	return bi_step(bi);
}

int
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
int
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
int
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
