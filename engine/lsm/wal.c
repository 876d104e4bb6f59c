/*
 * wal.c - write-ahead log objects (see wal.h; the bytes are described in
 * shale-format(5), WAL OBJECTS).
 *
 * Every integer is little-endian and of fixed width:
 *
 *	header	magic[8] "SHWAL\0\r\n", version u16, flags u16,
 *		reserved u32 (0), epoch u64, wal_id u64,
 *		crc u32 (CRC-32C of the 32 bytes before it)
 *	batch	len u32 (> 0), crc u32 (CRC-32C of the len field,
 *		then the body), body[len]:
 *		    first_seq u64, count u32, then count records:
 *		    kind u8, expire i64, klen u32, key[klen],
 *		    and for a put: vlen u32, value[vlen]
 *	trailer	zero u32, nbatches u32,
 *		crc u32 (CRC-32C of every byte of the object before it)
 *
 * wal_decode() walks the object twice: the first walk checks every byte
 * and calls nobody; only if the whole object is sound does the second walk
 * hand the batches to the callback. So a damaged object delivers nothing.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/wal.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/xmalloc.h"
#include "util/zctx.h"

#define WAL_MAGIC		"SHWAL\0\r\n"
#define WAL_MAGIC_LEN		8
#define WAL_VERSION		1
#define WAL_F_FENCE		0x0001
#define WAL_F_ZSTD		0x0002
#define WAL_F_STUBS		0x0004
#define WAL_F_KNOWN		(WAL_F_FENCE | WAL_F_ZSTD | WAL_F_STUBS)

#define WAL_HEADER_SIZE		36	/* magic to crc */
#define WAL_BATCH_HEAD		8	/* len, crc */
#define WAL_BODY_HEAD		12	/* first_seq, count */
#define WAL_DEL_SIZE		13	/* kind, expire, klen */
#define WAL_PUT_SIZE		17	/* kind, expire, klen, vlen */
#define WAL_TRAILER_SIZE	12	/* zero, nbatches, crc */

/* The smallest body: a batch of one delete with an empty key. */
#define WAL_BODY_MIN		(WAL_BODY_HEAD + WAL_DEL_SIZE)

#if WAL_HEADER_SIZE + WAL_TRAILER_SIZE != WAL_OVERHEAD
#error "WAL_OVERHEAD in wal.h does not match the format"
#endif

/* The CRC of a batch: its length field, then its body. */
static uint32_t
batch_crc(const uint8_t *batch, size_t len)
{
	return crc32c(crc32c(0, batch, 4), batch + WAL_BATCH_HEAD, len);
}

int
wal_encode_header(struct buf *out, const struct wal_header *h)
{
	uint8_t b[WAL_HEADER_SIZE];

	memcpy(b, WAL_MAGIC, WAL_MAGIC_LEN);
	put_le16(b + 8, WAL_VERSION);
	put_le16(b + 10, (h->fence ? WAL_F_FENCE : 0) | (h->zstd ? WAL_F_ZSTD : 0) |
	    (h->stubs ? WAL_F_STUBS : 0));
	put_le32(b + 12, 0);
	put_le64(b + 16, h->epoch);
	put_le64(b + 24, h->wal_id);
	put_le32(b + 32, crc32c(0, b, 32));
	return buf_append(out, b, sizeof(b));
}

static size_t
record_size(const struct kv_entry *e)
{
	if (e->kind == KV_DELETE)
		return WAL_DEL_SIZE + e->klen;
	if (e->kind == WAL_STUB)
		return WAL_PUT_SIZE + e->klen;
	return WAL_PUT_SIZE + e->klen + e->vlen;
}

size_t
wal_batch_size(const struct kv_entry *e, size_t n)
{
	size_t size = WAL_BATCH_HEAD + WAL_BODY_HEAD;

	for (size_t i = 0; i < n; i++)
		size += record_size(&e[i]);
	return size;
}

static int
record_ok(const struct kv_entry *e)
{
	if (e->kind != KV_PUT && e->kind != KV_DELETE && e->kind != WAL_STUB)
		return 0;
	if (e->klen > KV_KEY_MAX || (e->key == NULL && e->klen != 0))
		return 0;
	if (e->expire < 0)
		return 0;
	if (e->kind == WAL_STUB && e->vlen > KV_VALUE_MAX)
		return 0;
	if (e->kind == KV_PUT &&
	    (e->vlen > KV_VALUE_MAX || (e->val == NULL && e->vlen != 0)))
		return 0;
	return 1;
}

int
wal_encode_batch(struct buf *out, uint64_t first_seq,
    const struct kv_entry *e, size_t n)
{
	size_t size, start = out->len;
	uint8_t *p;
	int rc;

	if (n == 0 || n > UINT32_MAX || first_seq == 0 ||
	    first_seq > KV_SEQ_MAX || n - 1 > KV_SEQ_MAX - first_seq)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!record_ok(&e[i]))
			return -EINVAL;
	}
	size = wal_batch_size(e, n);
	if (size - WAL_BATCH_HEAD > UINT32_MAX)
		return -EFBIG;
	if ((rc = buf_reserve(out, size)) != 0)
		return rc;

	p = (uint8_t *)out->data + start;
	put_le32(p, (uint32_t)(size - WAL_BATCH_HEAD));
	put_le64(p + 8, first_seq);
	put_le32(p + 16, (uint32_t)n);
	p += WAL_BATCH_HEAD + WAL_BODY_HEAD;
	for (size_t i = 0; i < n; i++) {
		*p = e[i].kind;
		put_le64(p + 1, (uint64_t)e[i].expire);
		put_le32(p + 9, (uint32_t)e[i].klen);
		p += WAL_DEL_SIZE;
		if (e[i].klen != 0)
			memcpy(p, e[i].key, e[i].klen);
		p += e[i].klen;
		if (e[i].kind != KV_DELETE) {
			put_le32(p, (uint32_t)e[i].vlen);
			p += 4;
		}
		if (e[i].kind == KV_PUT) {
			if (e[i].vlen != 0)
				memcpy(p, e[i].val, e[i].vlen);
			p += e[i].vlen;
		}
	}
	p = (uint8_t *)out->data + start;
	put_le32(p + 4, batch_crc(p, size - WAL_BATCH_HEAD));
	out->len += size;
	out->data[out->len] = '\0';
	return 0;
}

int
wal_encode_end(struct buf *out)
{
	const uint8_t *d = (const uint8_t *)out->data;
	uint8_t t[WAL_TRAILER_SIZE];
	size_t off = WAL_HEADER_SIZE, len, nbatches = 0;
	uint32_t crc;

	if (d == NULL || out->len < WAL_HEADER_SIZE ||
	    memcmp(d, WAL_MAGIC, WAL_MAGIC_LEN) != 0)
		return -EINVAL;
	while (off < out->len) {
		if (out->len - off < WAL_BATCH_HEAD)
			return -EINVAL;
		len = get_le32(d + off);
		if (len == 0 || len > out->len - off - WAL_BATCH_HEAD)
			return -EINVAL;
		off += WAL_BATCH_HEAD + len;
		nbatches++;
	}
	if (nbatches > UINT32_MAX)
		return -EFBIG;
	if ((get_le16(d + 10) & WAL_F_FENCE) && nbatches != 0)
		return -EINVAL;

	put_le32(t, 0);
	put_le32(t + 4, (uint32_t)nbatches);
	crc = crc32c(crc32c(0, d, out->len), t, 8);
	put_le32(t + 8, crc);
	return buf_append(out, t, sizeof(t));
}

/* One walk over an object: see wal_decode(). */
struct wal_walk {
	const uint8_t	*d;
	size_t		 n;
	const char	*name;
	int		 fence;
	int		 stubs;
	struct kv_entry	*e;		/* the batch being delivered */
	size_t		 ecap;
};

static int
walk_corrupt(const struct wal_walk *w, size_t off, const char *what)
{
	return err_set(SHALE_ECORRUPT, "'%s': %s at offset %zu", w->name,
	    what, off);
}

static int
walk_header(const struct wal_walk *w, struct wal_header *h)
{
	const uint8_t *d = w->d;
	uint16_t flags;

	if (w->n < WAL_HEADER_SIZE)
		return walk_corrupt(w, 0, "truncated header");
	if (memcmp(d, WAL_MAGIC, WAL_MAGIC_LEN) != 0)
		return walk_corrupt(w, 0, "bad magic (not a WAL object)");
	if (get_le32(d + 32) != crc32c(0, d, 32))
		return walk_corrupt(w, 32, "header CRC mismatch");
	if (get_le16(d + 8) != WAL_VERSION)
		return err_set(SHALE_ECORRUPT, "'%s': unknown format version "
		    "%u at offset 8", w->name, get_le16(d + 8));
	flags = get_le16(d + 10);
	if ((flags & ~WAL_F_KNOWN) != 0)
		return walk_corrupt(w, 10, "unknown flags");
	if (get_le32(d + 12) != 0)
		return walk_corrupt(w, 12, "reserved field not zero");
	h->fence = (flags & WAL_F_FENCE) != 0;
	h->zstd = (flags & WAL_F_ZSTD) != 0;
	h->stubs = (flags & WAL_F_STUBS) != 0;
	h->epoch = get_le64(d + 16);
	h->wal_id = get_le64(d + 24);
	return 0;
}

/*
 * Check the body of the batch at `off` (its CRC already matched) and, if
 * `e` is not NULL, fill e[0..count) with its records. *lastp is the last
 * seq of the batch before (0 for none) and becomes this batch's.
 */
static int
walk_body(const struct wal_walk *w, size_t off, size_t len,
    uint64_t *lastp, struct kv_entry *e, size_t *countp)
{
	const uint8_t *body = w->d + off + WAL_BATCH_HEAD, *p;
	size_t pos, count, klen, vlen, base = off + WAL_BATCH_HEAD;
	uint64_t first_seq;
	uint8_t kind;

	first_seq = get_le64(body);
	count = get_le32(body + 8);
	if (first_seq == 0 || first_seq > KV_SEQ_MAX)
		return walk_corrupt(w, base, "sequence number out of range");
	if (first_seq <= *lastp)
		return walk_corrupt(w, base, "sequence number not after the "
		    "previous batch's");
	if (count == 0)
		return walk_corrupt(w, base + 8, "empty batch");
	if (count > (len - WAL_BODY_HEAD) / WAL_DEL_SIZE)
		return walk_corrupt(w, base + 8, "record count past the batch");
	if (count - 1 > KV_SEQ_MAX - first_seq)
		return walk_corrupt(w, base + 8,
		    "sequence number out of range");

	pos = WAL_BODY_HEAD;
	for (size_t i = 0; i < count; i++) {
		if (len - pos < WAL_DEL_SIZE)
			return walk_corrupt(w, base + pos, "truncated record");
		p = body + pos;
		kind = p[0];
		if (kind != KV_PUT && kind != KV_DELETE && kind != WAL_STUB)
			return walk_corrupt(w, base + pos, "bad record kind");
		if (kind == WAL_STUB && !w->stubs)
			return walk_corrupt(w, base + pos, "stub in an object "
			    "without the STUBS flag");
		if (get_le64(p + 1) > INT64_MAX)
			return walk_corrupt(w, base + pos + 1,
			    "negative expiry");
		klen = get_le32(p + 9);
		if (klen > KV_KEY_MAX)
			return walk_corrupt(w, base + pos + 9,
			    "key longer than the limit");
		pos += WAL_DEL_SIZE;
		if (klen > len - pos)
			return walk_corrupt(w, base + pos - 4,
			    "key past the batch");
		if (e != NULL) {
			e[i].key = body + pos;
			e[i].klen = klen;
			e[i].val = NULL;
			e[i].vlen = 0;
			e[i].seq = first_seq + i;
			e[i].kind = kind;
			e[i].expire = (int64_t)get_le64(p + 1);
		}
		pos += klen;
		if (kind == KV_DELETE)
			continue;
		if (len - pos < 4)
			return walk_corrupt(w, base + pos, "truncated record");
		vlen = get_le32(body + pos);
		if (vlen > KV_VALUE_MAX)
			return walk_corrupt(w, base + pos,
			    "value longer than the limit");
		pos += 4;
		if (e != NULL)
			e[i].vlen = vlen;
		if (kind == WAL_STUB)
			continue;	/* the value is elsewhere */
		if (vlen > len - pos)
			return walk_corrupt(w, base + pos - 4,
			    "value past the batch");
		if (e != NULL)
			e[i].val = body + pos;
		pos += vlen;
	}
	if (pos != len)
		return walk_corrupt(w, base + pos,
		    "bytes after the last record");
	*lastp = first_seq + count - 1;
	*countp = count;
	return 0;
}

/*
 * Walk the batches and the trailer. With fn NULL, check everything;
 * otherwise (the object has been checked) deliver every batch to fn.
 */
static int
walk_batches(struct wal_walk *w, wal_batch_fn fn, void *arg)
{
	const uint8_t *d = w->d;
	size_t off = WAL_HEADER_SIZE, len, count = 0, nbatches = 0;
	uint64_t last = 0;
	struct kv_entry *e = NULL;
	int rc;

	for (;;) {
		if (w->n - off < 4)
			return walk_corrupt(w, off, "truncated object "
			    "(no trailer)");
		len = get_le32(d + off);
		if (len == 0)
			break;
		if (w->fence)
			return walk_corrupt(w, off, "batch in a fence object");
		if (w->n - off < WAL_BATCH_HEAD)
			return walk_corrupt(w, off, "truncated batch header");
		if (len < WAL_BODY_MIN)
			return walk_corrupt(w, off, "batch length too small");
		if (len > w->n - off - WAL_BATCH_HEAD)
			return walk_corrupt(w, off, "truncated batch");
		if (fn == NULL && get_le32(d + off + 4) != batch_crc(d + off, len))
			return walk_corrupt(w, off, "batch CRC mismatch");
		if (fn != NULL) {
			/* Bounded by len / WAL_DEL_SIZE; checked already. */
			count = get_le32(d + off + WAL_BATCH_HEAD + 8);
			if (count > w->ecap) {
				w->e = xgrow(w->e, &w->ecap, count,
				    sizeof(*w->e));
			}
			e = w->e;
		}
		if ((rc = walk_body(w, off, len, &last, e, &count)) != 0)
			return rc;
		if (fn != NULL &&
		    (rc = fn(arg, last - count + 1, w->e, count)) != 0)
			return rc;
		off += WAL_BATCH_HEAD + len;
		nbatches++;
	}

	if (w->n - off < WAL_TRAILER_SIZE)
		return walk_corrupt(w, off, "truncated trailer");
	if (get_le32(d + off + 4) != nbatches)
		return walk_corrupt(w, off + 4, "batch count mismatch");
	if (get_le32(d + off + 8) != crc32c(0, d, off + 8))
		return walk_corrupt(w, off + 8, "object CRC mismatch");
	if (w->n - off != WAL_TRAILER_SIZE)
		return walk_corrupt(w, off + WAL_TRAILER_SIZE,
		    "bytes after the trailer");
	return 0;
}

int
wal_compress_to(const struct buf *obj, struct buf *out, int level)
{
	ZSTD_CCtx *cctx;
	size_t bound, r;
	int rc;

	if (obj->len < WAL_HEADER_SIZE + WAL_TRAILER_SIZE ||
	    !(get_le16((const uint8_t *)obj->data + 10) & WAL_F_ZSTD))
		return -EINVAL;
	bound = ZSTD_compressBound(obj->len - WAL_HEADER_SIZE);
	buf_reset(out);
	if ((rc = buf_reserve(out, WAL_HEADER_SIZE + bound)) != 0)
		return rc;
	memcpy(out->data, obj->data, WAL_HEADER_SIZE);
	if ((cctx = zctx_compress()) == NULL)
		return -ENOMEM;
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
	r = ZSTD_compress2(cctx, out->data + WAL_HEADER_SIZE, bound,
	    obj->data + WAL_HEADER_SIZE, obj->len - WAL_HEADER_SIZE);
	if (ZSTD_isError(r))
		return -EIO;
	out->len = WAL_HEADER_SIZE + r;
	out->data[out->len] = '\0';
	return 0;
}

int
wal_compress(struct buf *obj, int level)
{
	struct buf out;
	int rc;

	buf_init(&out, 0);
	if ((rc = wal_compress_to(obj, &out, level)) != 0) {
		buf_release(&out);
		return rc;
	}
	buf_release(obj);
	*obj = out;
	return 0;
}

/* The plain form of a compressed object, in *plain. */
static int
decompress(const struct wal_walk *w, struct buf *plain)
{
	const uint8_t *f = w->d + WAL_HEADER_SIZE;
	size_t fn = w->n - WAL_HEADER_SIZE, r;
	unsigned long long cs;

	cs = ZSTD_getFrameContentSize(f, fn);
	if (cs == ZSTD_CONTENTSIZE_UNKNOWN || cs == ZSTD_CONTENTSIZE_ERROR ||
	    cs > WAL_PLAIN_MAX - WAL_HEADER_SIZE)
		return walk_corrupt(w, WAL_HEADER_SIZE, "bad compressed frame header");
	r = ZSTD_findFrameCompressedSize(f, fn);
	if (ZSTD_isError(r) || r != fn)
		return walk_corrupt(w, WAL_HEADER_SIZE, "not one compressed frame");
	if (buf_reserve(plain, WAL_HEADER_SIZE + (size_t)cs) != 0)
		return -ENOMEM;
	memcpy(plain->data, w->d, WAL_HEADER_SIZE);
	r = ZSTD_decompress(plain->data + WAL_HEADER_SIZE, (size_t)cs, f, fn);
	if (ZSTD_isError(r) || r != cs)
		return walk_corrupt(w, WAL_HEADER_SIZE, "cannot decompress");
	plain->len = WAL_HEADER_SIZE + (size_t)cs;
	return 0;
}

int
wal_decode(const void *data, size_t n, const char *name,
    struct wal_header *h, wal_batch_fn fn, void *arg)
{
	struct wal_walk w;
	struct wal_header hdr;
	struct buf plain;
	int rc;

	memset(&w, 0, sizeof(w));
	buf_init(&plain, 0);
	w.d = data;
	w.n = data != NULL ? n : 0;
	w.name = name != NULL ? name : "(wal)";

	if ((rc = walk_header(&w, &hdr)) != 0)
		goto fail;
	if (hdr.zstd) {
		if (hdr.fence) {
			rc = walk_corrupt(&w, 10, "compressed fence object");
			goto fail;
		}
		if ((rc = decompress(&w, &plain)) != 0)
			goto fail;
		/* offsets in errors are now those of the plain form */
		w.d = (const uint8_t *)plain.data;
		w.n = plain.len;
	}
	w.fence = hdr.fence;
	w.stubs = hdr.stubs;
	if ((rc = walk_batches(&w, NULL, NULL)) != 0)
		goto fail;
	if (h != NULL)
		*h = hdr;
	if (fn != NULL && (rc = walk_batches(&w, fn, arg)) != 0)
		goto fail;
	rc = 0;

fail:
	free(w.e);
	buf_release(&plain);
	return rc;
}

int
wal_decode_header(const void *data, size_t n, const char *name,
    struct wal_header *h)
{
	struct wal_walk w;

	memset(&w, 0, sizeof(w));
	w.d = data;
	w.n = data != NULL ? n : 0;
	w.name = name != NULL ? name : "(wal)";
	return walk_header(&w, h);
}
