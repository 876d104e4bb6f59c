/*
 * test_wal.c - write-ahead log objects.
 *
 * Exercises: wal_key and the strict wal_key_id; a round trip of hundreds
 * of random batches (puts and deletes, empty keys and values, a 1 MiB
 * value, a key of KV_KEY_MAX bytes) with wal_batch_size matching the bytes
 * appended exactly; fence objects; what wal_encode_batch refuses; a
 * callback that stops decoding; then damage: every bit and every byte of a
 * small object flipped, every truncation, bytes appended, and objects
 * crafted with good CRCs around bad contents (kind, lengths, counts,
 * sequence numbers, flags, version, trailer), each of which must be
 * SHALE_ECORRUPT with a detail naming the object and an offset, and must
 * deliver no batch at all; compressed objects: the round trip, their size
 * for text, damage in the frame.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/wal.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/xmalloc.h"

#define NAME	"wal/00000000000000000042.wal"
#define HDR	36		/* header bytes, as in wal.c */

/* What a test expects the decoder to deliver. */
struct want_batch {
	uint64_t	 first_seq;
	struct kv_entry	*e;
	size_t		 n;
};

struct want {
	struct want_batch *b;
	size_t		 n;
	size_t		 seen;		/* batches delivered so far */
	int		 stop_at;	/* return 7 from batch stop_at (1-based) */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint8_t *
rand_bytes(size_t n)
{
	uint8_t *p = xmalloc(n ? n : 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
	return p;
}

static void
want_free(struct want *w)
{
	for (size_t i = 0; i < w->n; i++) {
		for (size_t j = 0; j < w->b[i].n; j++) {
			free((void *)w->b[i].e[j].key);
			free((void *)w->b[i].e[j].val);
		}
		free(w->b[i].e);
	}
	free(w->b);
	memset(w, 0, sizeof(*w));
}

/* Check each delivered batch against the next expected one. */
static int
check_batch(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	struct want *w = arg;
	const struct want_batch *b;

	assert_true(w->seen < w->n);
	b = &w->b[w->seen++];
	assert_int_equal(first_seq, b->first_seq);
	assert_int_equal(n, b->n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(e[i].seq, first_seq + i);
		assert_int_equal(e[i].kind, b->e[i].kind);
		assert_int_equal(e[i].expire, b->e[i].expire);
		assert_int_equal(e[i].klen, b->e[i].klen);
		assert_non_null(e[i].key);
		if (e[i].klen)
			assert_memory_equal(e[i].key, b->e[i].key, e[i].klen);
		if (e[i].kind == KV_DELETE) {
			assert_null(e[i].val);
			assert_int_equal(e[i].vlen, 0);
		} else {
			assert_non_null(e[i].val);
			assert_int_equal(e[i].vlen, b->e[i].vlen);
			if (e[i].vlen)
				assert_memory_equal(e[i].val, b->e[i].val,
				    e[i].vlen);
		}
	}
	if (w->stop_at != 0 && (size_t)w->stop_at == w->seen)
		return 7;
	return 0;
}

/* Never called: for objects that must deliver nothing. */
static int
no_batch(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	(void)arg;
	(void)first_seq;
	(void)e;
	(void)n;
	fail_msg("a batch was delivered from a damaged object");
	return 0;
}

/* Add a batch of n random records to w and to the object in out. */
static void
add_random_batch(struct buf *out, struct want *w, uint64_t *seq, size_t n)
{
	struct want_batch *b;
	struct kv_entry *e;
	size_t before = out->len;

	w->b = xrealloc(w->b, (w->n + 1) * sizeof(*w->b));
	b = &w->b[w->n++];
	b->first_seq = *seq;
	b->n = n;
	b->e = e = xcalloc(n, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		e[i].kind = rng() % 4 == 0 ? KV_DELETE : KV_PUT;
		e[i].expire = rng() % 3 == 0 ? (int64_t)(rng() >> 1) : 0;
		e[i].klen = rng() % 5 == 0 ? 0 : rng() % 40;
		e[i].key = rand_bytes(e[i].klen);
		if (e[i].kind == KV_PUT) {
			e[i].vlen = rng() % 4 == 0 ? 0 : rng() % 300;
			e[i].val = rand_bytes(e[i].vlen);
		}
		e[i].seq = 999;		/* ignored by the encoder */
	}
	assert_int_equal(wal_encode_batch(out, *seq, e, n), 0);
	assert_int_equal(out->len - before, wal_batch_size(e, n));
	*seq += n + rng() % 3;		/* gaps are allowed */
}

/* One batch of hand-made records. */
static void
add_batch(struct buf *out, struct want *w, uint64_t *seq,
    const struct kv_entry *src, size_t n)
{
	struct want_batch *b;
	size_t before = out->len;
	uint8_t *p;

	w->b = xrealloc(w->b, (w->n + 1) * sizeof(*w->b));
	b = &w->b[w->n++];
	b->first_seq = *seq;
	b->n = n;
	b->e = xcalloc(n, sizeof(*b->e));
	for (size_t i = 0; i < n; i++) {
		b->e[i] = src[i];
		b->e[i].key = p = xmalloc(src[i].klen + 1);
		if (src[i].klen)
			memcpy(p, src[i].key, src[i].klen);
		b->e[i].val = NULL;
		if (src[i].kind == KV_PUT) {
			b->e[i].val = p = xmalloc(src[i].vlen + 1);
			if (src[i].vlen)
				memcpy(p, src[i].val, src[i].vlen);
		}
	}
	assert_int_equal(wal_encode_batch(out, *seq, src, n), 0);
	assert_int_equal(out->len - before, wal_batch_size(src, n));
	*seq += n;
}

static void
begin(struct buf *out, uint64_t id, uint64_t epoch, int fence)
{
	struct wal_header h = { .wal_id = id, .epoch = epoch, .fence = fence };

	buf_init(out, 0);
	assert_int_equal(wal_encode_header(out, &h), 0);
	assert_int_equal(out->len, HDR);
}

static void
decode_ok(const struct buf *b, struct want *w, uint64_t id, uint64_t epoch,
    int fence)
{
	struct wal_header h;

	memset(&h, 0xa5, sizeof(h));
	w->seen = 0;
	assert_int_equal(wal_decode(b->data, b->len, NAME, &h, check_batch, w),
	    0);
	assert_int_equal(w->seen, w->n);
	assert_int_equal(h.wal_id, id);
	assert_int_equal(h.epoch, epoch);
	assert_int_equal(h.fence, fence);
}

/* Decoding must fail with SHALE_ECORRUPT, name the object, deliver nothing. */
static void
decode_corrupt(const void *data, size_t n, const char *detail)
{
	struct wal_header h;
	int rc;

	err_clear();
	rc = wal_decode(data, n, NAME, &h, no_batch, NULL);
	if (rc != SHALE_ECORRUPT)
		fail_msg("decode gave %d, not SHALE_ECORRUPT", rc);
	assert_non_null(strstr(err_detail(), "'" NAME "': "));
	assert_non_null(strstr(err_detail(), " at offset "));
	if (detail != NULL && strstr(err_detail(), detail) == NULL)
		fail_msg("detail '%s' does not say '%s'", err_detail(), detail);
}

static void
test_key(void **state)
{
	char k[32];

	(void)state;
	wal_key(42, k);
	assert_string_equal(k, "wal/00000000000000000042.wal");
	assert_int_equal(wal_key_id(k), 42);
	wal_key(UINT64_MAX, k);
	assert_string_equal(k, "wal/18446744073709551615.wal");
	assert_true(wal_key_id(k) == UINT64_MAX);
	wal_key(1, k);
	assert_int_equal(wal_key_id(k), 1);

	assert_int_equal(wal_key_id(NULL), 0);
	assert_int_equal(wal_key_id(""), 0);
	assert_int_equal(wal_key_id("wal/42.wal"), 0);
	assert_int_equal(wal_key_id("wal/00000000000000000042"), 0);
	assert_int_equal(wal_key_id("wal/00000000000000000042.wal2"), 0);
	assert_int_equal(wal_key_id("wal/00000000000000000042.wa"), 0);
	assert_int_equal(wal_key_id("wal/000000000000000000042.wal"), 0);
	assert_int_equal(wal_key_id("wal/0000000000000000004x.wal"), 0);
	assert_int_equal(wal_key_id("wal/+0000000000000000042.wal"), 0);
	assert_int_equal(wal_key_id("wal/ 0000000000000000042.wal"), 0);
	assert_int_equal(wal_key_id("WAL/00000000000000000042.wal"), 0);
	assert_int_equal(wal_key_id("/wal/00000000000000000042.wal"), 0);
	assert_int_equal(wal_key_id("manifest/00000000000000000042"), 0);
	assert_int_equal(wal_key_id("wal/18446744073709551616.wal"), 0);
	assert_int_equal(wal_key_id("wal/99999999999999999999.wal"), 0);
}

static void
test_roundtrip(void **state)
{
	struct want w = { 0 };
	struct buf b;
	struct kv_entry e[3];
	uint8_t *big, *bigkey;
	uint64_t seq = 1;
	size_t total;

	(void)state;
	begin(&b, 42, 7, 0);
	total = HDR;
	for (int i = 0; i < 300; i++) {
		add_random_batch(&b, &w, &seq, 1 + rng() % 20);
		total = b.len;
	}

	/* A 1 MiB value, a longest key, an empty put and an empty delete. */
	big = rand_bytes(1 << 20);
	bigkey = rand_bytes(KV_KEY_MAX);
	memset(e, 0, sizeof(e));
	e[0] = (struct kv_entry){ .key = (const uint8_t *)"big", .klen = 3,
	    .val = big, .vlen = 1 << 20, .kind = KV_PUT, .expire = 5 };
	e[1] = (struct kv_entry){ .key = bigkey, .klen = KV_KEY_MAX,
	    .val = (const uint8_t *)"", .vlen = 0, .kind = KV_PUT };
	e[2] = (struct kv_entry){ .key = NULL, .klen = 0, .kind = KV_DELETE,
	    .expire = INT64_MAX };
	add_batch(&b, &w, &seq, e, 3);
	e[0] = (struct kv_entry){ .key = NULL, .klen = 0, .val = NULL,
	    .vlen = 0, .kind = KV_PUT };
	add_batch(&b, &w, &seq, e, 1);
	for (int i = 0; i < 10; i++)
		add_random_batch(&b, &w, &seq, 1 + rng() % 3);
	/* The last possible sequence number. */
	seq = KV_SEQ_MAX - 1;
	add_random_batch(&b, &w, &seq, 2);
	total = b.len;

	assert_int_equal(wal_encode_end(&b), 0);
	assert_int_equal(b.len, total + WAL_OVERHEAD - HDR);
	decode_ok(&b, &w, 42, 7, 0);

	/* Decoding without a callback only checks. */
	assert_int_equal(wal_decode(b.data, b.len, NAME, NULL, NULL, NULL), 0);

	free(big);
	free(bigkey);
	want_free(&w);
	buf_release(&b);
}

/*
 * Compressed objects: the same batches come back; the stored form is much
 * smaller for text; a flipped byte anywhere in the frame, a frame cut
 * short or with bytes after it is refused; only objects with the flag
 * can be compressed.
 */
static void
test_compressed(void **state)
{
	struct want w = { 0 };
	struct buf b, plain, bad;
	struct kv_entry e;
	struct wal_header h = { .wal_id = 9, .epoch = 3, .zstd = 1 };
	char line[128];
	uint64_t seq = 1;
	size_t tries = 0, refused = 0;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(wal_encode_header(&b, &h), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(line, sizeof(line), "2026-11-22T03:00:%02d info request "
		    "%d served in %d ms\n", i % 60, i, i % 97);
		e = (struct kv_entry){ .key = (const uint8_t *)line, .klen = 8,
		    .val = (const uint8_t *)line, .vlen = strlen(line),
		    .kind = KV_PUT };
		add_batch(&b, &w, &seq, &e, 1);
	}
	assert_int_equal(wal_encode_end(&b), 0);
	buf_init(&plain, 0);
	assert_int_equal(buf_append(&plain, b.data, b.len), 0);
	assert_int_equal(wal_compress(&b, 1), 0);
	assert_true(b.len * 4 < plain.len);
	memset(&h, 0, sizeof(h));
	w.seen = 0;
	assert_int_equal(wal_decode(b.data, b.len, NAME, &h, check_batch, &w), 0);
	assert_int_equal(w.seen, w.n);
	assert_int_equal(h.wal_id, 9);
	assert_int_equal(h.epoch, 3);
	assert_int_equal(h.zstd, 1);
	assert_int_equal(h.fence, 0);

	/*
	 * Damage in the frame: refused, or (a bit zstd does not use, such
	 * as padding) decoded to exactly the same batches, which the
	 * checksums of the content vouch for; most flips are refused
	 */
	buf_init(&bad, 0);
	for (size_t at = HDR; at < b.len; at += 1 + b.len / 97) {
		int rc;

		tries++;
		buf_reset(&bad);
		assert_int_equal(buf_append(&bad, b.data, b.len), 0);
		bad.data[at] ^= 0x20;
		w.seen = 0;
		rc = wal_decode(bad.data, bad.len, NAME, NULL, check_batch, &w);
		if (rc == 0)
			assert_int_equal(w.seen, w.n);
		else {
			assert_int_equal(rc, SHALE_ECORRUPT);
			refused++;
		}
	}
	assert_true(refused * 10 >= tries * 9);
	decode_corrupt(b.data, b.len - 1, NULL);
	buf_reset(&bad);
	assert_int_equal(buf_append(&bad, b.data, b.len), 0);
	assert_int_equal(buf_append(&bad, "x", 1), 0);
	decode_corrupt(bad.data, bad.len, "not one compressed frame");

	/* the plain object has no flag: compressing it is refused */
	buf_release(&bad);
	begin(&bad, 1, 1, 0);
	assert_int_equal(wal_encode_end(&bad), 0);
	assert_int_equal(wal_compress(&bad, 1), -EINVAL);

	want_free(&w);
	buf_release(&bad);
	buf_release(&plain);
	buf_release(&b);
}

static void
test_fence(void **state)
{
	struct want w = { 0 };
	struct buf b;
	struct kv_entry e = { .key = (const uint8_t *)"k", .klen = 1,
	    .kind = KV_DELETE };

	(void)state;
	begin(&b, UINT64_MAX, 99, 1);
	assert_int_equal(wal_encode_end(&b), 0);
	assert_int_equal(b.len, WAL_OVERHEAD);
	decode_ok(&b, &w, UINT64_MAX, 99, 1);
	buf_release(&b);

	/* An empty non-fence object is valid too. */
	begin(&b, 1, 0, 0);
	assert_int_equal(wal_encode_end(&b), 0);
	decode_ok(&b, &w, 1, 0, 0);
	buf_release(&b);

	/* A fence with a batch cannot be finished. */
	begin(&b, 5, 1, 1);
	assert_int_equal(wal_encode_batch(&b, 1, &e, 1), 0);
	assert_int_equal(wal_encode_end(&b), -EINVAL);
	buf_release(&b);
}

static void
test_encode_refuses(void **state)
{
	struct buf b;
	struct kv_entry ok = { .key = (const uint8_t *)"k", .klen = 1,
	    .val = (const uint8_t *)"v", .vlen = 1, .kind = KV_PUT };
	struct kv_entry e[2];
	size_t len;

	(void)state;
	begin(&b, 1, 1, 0);
	len = b.len;

	assert_int_equal(wal_encode_batch(&b, 1, &ok, 0), -EINVAL);
	assert_int_equal(wal_encode_batch(&b, 0, &ok, 1), -EINVAL);
	assert_int_equal(wal_encode_batch(&b, KV_SEQ_MAX + 1, &ok, 1), -EINVAL);
	e[0] = e[1] = ok;
	assert_int_equal(wal_encode_batch(&b, KV_SEQ_MAX, e, 2), -EINVAL);
	assert_int_equal(wal_encode_batch(&b, KV_SEQ_MAX - 1, e, 2), 0);
	b.len = len;

	e[1].kind = 3;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	e[1] = ok;
	e[1].klen = KV_KEY_MAX + 1;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	e[1] = ok;
	e[1].vlen = KV_VALUE_MAX + 1;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	e[1] = ok;
	e[1].expire = -1;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	e[1] = ok;
	e[1].val = NULL;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	e[1] = ok;
	e[1].key = NULL;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), -EINVAL);
	assert_int_equal(b.len, len);

	/* A delete's value is ignored, even a long one. */
	e[1] = ok;
	e[1].kind = KV_DELETE;
	e[1].val = NULL;
	e[1].vlen = KV_VALUE_MAX + 1;
	assert_int_equal(wal_encode_batch(&b, 1, e, 2), 0);
	assert_int_equal(b.len - len, wal_batch_size(e, 2));
	assert_int_equal(wal_batch_size(e, 2), 8 + 12 + 17 + 2 + 13 + 1);
	buf_release(&b);

	/* A ceiling that refuses the bytes leaves the buffer as it was. */
	buf_init(&b, 40);
	{
		struct wal_header h = { .wal_id = 1 };

		assert_int_equal(wal_encode_header(&b, &h), 0);
	}
	assert_int_equal(wal_encode_batch(&b, 1, &ok, 1), -EFBIG);
	assert_int_equal(b.len, HDR);
	assert_int_equal(wal_encode_end(&b), -EFBIG);
	assert_int_equal(b.len, HDR);
	buf_release(&b);

	/* wal_encode_end wants a header followed by whole batches. */
	buf_init(&b, 0);
	assert_int_equal(wal_encode_end(&b), -EINVAL);
	assert_int_equal(buf_append(&b, "not a wal object, really not", 28), 0);
	assert_int_equal(wal_encode_end(&b), -EINVAL);
	buf_release(&b);
	begin(&b, 1, 1, 0);
	assert_int_equal(wal_encode_batch(&b, 1, &ok, 1), 0);
	b.len--;
	assert_int_equal(wal_encode_end(&b), -EINVAL);
	buf_release(&b);
}

static void
test_callback_stops(void **state)
{
	struct want w = { 0 };
	struct buf b;
	uint64_t seq = 10;

	(void)state;
	begin(&b, 3, 3, 0);
	for (int i = 0; i < 5; i++)
		add_random_batch(&b, &w, &seq, 3);
	assert_int_equal(wal_encode_end(&b), 0);
	w.stop_at = 2;
	assert_int_equal(wal_decode(b.data, b.len, NAME, NULL, check_batch, &w),
	    7);
	assert_int_equal(w.seen, 2);
	want_free(&w);
	buf_release(&b);
}

/* A small object with three batches, in a fresh buffer. */
static void
small_object(struct buf *b, struct want *w)
{
	struct kv_entry e[3] = {
		{ .key = (const uint8_t *)"a", .klen = 1,
		  .val = (const uint8_t *)"one", .vlen = 3, .kind = KV_PUT },
		{ .key = (const uint8_t *)"bb", .klen = 2, .kind = KV_DELETE,
		  .expire = 1234 },
		{ .key = (const uint8_t *)"", .klen = 0,
		  .val = (const uint8_t *)"", .vlen = 0, .kind = KV_PUT },
	};
	uint64_t seq = 100;

	begin(b, 42, 2, 0);
	add_batch(b, w, &seq, e, 2);
	add_batch(b, w, &seq, e + 1, 2);
	add_batch(b, w, &seq, e, 3);
	assert_int_equal(wal_encode_end(b), 0);
}

static void
test_flips(void **state)
{
	struct want w = { 0 };
	struct buf b;
	uint8_t *d;
	int flips = 0;

	(void)state;
	small_object(&b, &w);
	decode_ok(&b, &w, 42, 2, 0);
	d = xmalloc(b.len);
	for (size_t i = 0; i < b.len; i++) {
		for (int m = 0; m < 9; m++) {
			memcpy(d, b.data, b.len);
			d[i] ^= m < 8 ? (uint8_t)(1 << m) : 0xff;
			decode_corrupt(d, b.len, NULL);
			flips++;
		}
	}
	assert_int_equal(flips, b.len * 9);
	free(d);
	want_free(&w);
	buf_release(&b);
}

static void
test_truncate_and_append(void **state)
{
	struct want w = { 0 };
	struct buf b;
	uint8_t *d;

	(void)state;
	small_object(&b, &w);
	for (size_t n = 0; n < b.len; n++) {
		/* An exact-size copy, so ASan sees a read past the end. */
		d = xmalloc(n ? n : 1);
		memcpy(d, b.data, n);
		decode_corrupt(n ? d : NULL, n, NULL);
		free(d);
	}
	decode_corrupt(b.data, 0, "truncated header");
	decode_corrupt(b.data, b.len - 1, "truncated trailer");
	decode_corrupt(b.data, HDR, "no trailer");

	/* Cut at a batch boundary: the trailer is missing. */
	decode_corrupt(b.data, HDR + wal_batch_size(w.b[0].e, 2), "no trailer");

	d = xmalloc(b.len + 1);
	memcpy(d, b.data, b.len);
	d[b.len] = 0;
	decode_corrupt(d, b.len + 1, "bytes after the trailer");
	free(d);
	want_free(&w);
	buf_release(&b);
}

/*
 * Crafting objects with good CRCs around bad contents: `body` is written
 * as one batch, or none if NULL, and every CRC is made right.
 */
struct craft {
	uint8_t	 d[512];
	size_t	 n;
};

static void
craft_put(struct craft *c, const void *p, size_t n)
{
	assert_true(c->n + n <= sizeof(c->d));
	memcpy(c->d + c->n, p, n);
	c->n += n;
}

static void
craft_u8(struct craft *c, uint8_t v)
{
	craft_put(c, &v, 1);
}

static void
craft_u32(struct craft *c, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	craft_put(c, b, 4);
}

static void
craft_u64(struct craft *c, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	craft_put(c, b, 8);
}

static void
set_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A valid header with these flags, version and reserved word. */
static void
craft_header(struct craft *c, uint16_t version, uint16_t flags,
    uint32_t reserved)
{
	c->n = 0;
	craft_put(c, "SHWAL\0\r\n", 8);
	craft_u8(c, (uint8_t)version);
	craft_u8(c, (uint8_t)(version >> 8));
	craft_u8(c, (uint8_t)flags);
	craft_u8(c, (uint8_t)(flags >> 8));
	craft_u32(c, reserved);
	craft_u64(c, 9);
	craft_u64(c, 42);
	craft_u32(c, crc32c(0, c->d, 32));
}

/* Start a batch: returns its offset; finish it with craft_end_batch. */
static size_t
craft_batch(struct craft *c, uint64_t first_seq, uint32_t count)
{
	size_t off = c->n;

	craft_u32(c, 0);
	craft_u32(c, 0);
	craft_u64(c, first_seq);
	craft_u32(c, count);
	return off;
}

static void
craft_end_batch(struct craft *c, size_t off)
{
	uint32_t len = (uint32_t)(c->n - off - 8);

	set_u32(c->d + off, len);
	set_u32(c->d + off + 4, crc32c(crc32c(0, c->d + off, 4),
	    c->d + off + 8, len));
}

static void
craft_record(struct craft *c, uint8_t kind, uint64_t expire,
    uint32_t klen, const char *key, uint32_t vlen, const char *val)
{
	craft_u8(c, kind);
	craft_u64(c, expire);
	craft_u32(c, klen);
	craft_put(c, key, strlen(key));
	if (kind != KV_DELETE || vlen != 0) {
		craft_u32(c, vlen);
		craft_put(c, val, strlen(val));
	}
}

static void
craft_trailer(struct craft *c, uint32_t nbatches)
{
	craft_u32(c, 0);
	craft_u32(c, nbatches);
	craft_u32(c, crc32c(0, c->d, c->n));
}

static void
test_crafted(void **state)
{
	struct craft c;
	size_t off;

	(void)state;

	/* The crafting itself is right: a good object decodes. */
	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 2);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_record(&c, KV_DELETE, 0, 2, "kk", 0, "");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	assert_int_equal(wal_decode(c.d, c.n, NAME, NULL, NULL, NULL), 0);

	/* Header. */
	craft_header(&c, 1, 0, 0);
	c.d[0] = 'X';
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "bad magic");
	craft_header(&c, 1, 0, 0);
	c.d[20] ^= 1;
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "header CRC mismatch at offset 32");
	craft_header(&c, 2, 0, 0);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "unknown format version 2 at offset 8");
	craft_header(&c, 0, 0, 0);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "unknown format version 0");
	craft_header(&c, 1, 8, 0);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "unknown flags at offset 10");
	/* a compressed fence, and a compressed flag over plain bytes */
	craft_header(&c, 1, 3, 0);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "compressed fence object");
	craft_header(&c, 1, 2, 0);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "bad compressed frame header at offset 36");
	craft_header(&c, 1, 0, 1);
	craft_trailer(&c, 0);
	decode_corrupt(c.d, c.n, "reserved field not zero");

	/* A fence with a batch. */
	craft_header(&c, 1, 1, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "batch in a fence object at offset 36");

	/* Records. */
	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, 3, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "bad record kind at offset 56");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, WAL_STUB, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "stub in an object without the STUBS flag "
	    "at offset 56");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, (uint64_t)1 << 63, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "negative expiry");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, KV_KEY_MAX + 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "key longer than the limit");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_u8(&c, KV_PUT);		/* a put without its value length */
	craft_u64(&c, 0);
	craft_u32(&c, 1);
	craft_put(&c, "k", 1);
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "truncated record");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", KV_VALUE_MAX + 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "value longer than the limit");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 100, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "value past the batch");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_DELETE, 0, 100, "k", 0, "");
	craft_u32(&c, 0);
	craft_u32(&c, 0);
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "key past the batch");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_u8(&c, 0);
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "bytes after the last record");

	/* Counts and sequence numbers. */
	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 0);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "empty batch");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, UINT32_MAX);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "record count past the batch");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 2);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_u32(&c, 0);		/* 12 bytes: short of a record */
	craft_u32(&c, 0);
	craft_u32(&c, 0);
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "truncated record");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 0, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "sequence number out of range");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, KV_SEQ_MAX, 2);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "sequence number out of range");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 2);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	off = craft_batch(&c, 6, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 2);
	decode_corrupt(c.d, c.n, "not after the previous batch");

	/* Framing. */
	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	set_u32(c.d + off, 3);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "batch length too small at offset 36");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	set_u32(c.d + off, get_u32(c.d + off) + 100);
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "truncated batch at offset 36");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	c.d[c.n - 1] ^= 0x40;
	craft_trailer(&c, 1);
	decode_corrupt(c.d, c.n, "batch CRC mismatch at offset 36");

	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_trailer(&c, 2);
	decode_corrupt(c.d, c.n, "batch count mismatch");

	craft_header(&c, 1, 0, 0);
	craft_trailer(&c, 0);
	c.d[c.n - 1] ^= 1;
	decode_corrupt(c.d, c.n, "object CRC mismatch at offset 44");

	/* A trailer whose CRC is not the object's. */
	craft_header(&c, 1, 0, 0);
	off = craft_batch(&c, 5, 1);
	craft_record(&c, KV_PUT, 0, 1, "k", 1, "v");
	craft_end_batch(&c, off);
	craft_u32(&c, 0);
	craft_u32(&c, 1);
	craft_u32(&c, 0xdeadbeef);
	decode_corrupt(c.d, c.n, "object CRC mismatch");
}

/* The stub test's batch as delivered. */
static int
check_stubs(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	int *seen = arg;

	assert_int_equal(first_seq, 40);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].kind, KV_PUT);
	assert_int_equal(e[0].vlen, 3);
	assert_memory_equal(e[0].val, "xyz", 3);
	assert_int_equal(e[1].kind, WAL_STUB);
	assert_int_equal(e[1].seq, 41);
	assert_int_equal(e[1].klen, 3);
	assert_memory_equal(e[1].key, "big", 3);
	assert_null(e[1].val);
	assert_int_equal(e[1].vlen, 70000);
	assert_int_equal(e[1].expire, 1234);
	assert_int_equal(e[2].kind, KV_DELETE);
	(*seen)++;
	return 0;
}

static void
test_stubs(void **state)
{
	struct kv_entry e[3] = {
		{ .key = (const uint8_t *)"a", .klen = 1,
		    .val = (const uint8_t *)"xyz", .vlen = 3, .kind = KV_PUT },
		{ .key = (const uint8_t *)"big", .klen = 3, .vlen = 70000,
		    .kind = WAL_STUB, .expire = 1234 },
		{ .key = (const uint8_t *)"d", .klen = 1, .kind = KV_DELETE },
	};
	struct wal_header h = { .wal_id = 3, .epoch = 2, .stubs = 1 }, got;
	struct buf b, z;
	int seen;

	(void)state;
	for (int zstd = 0; zstd <= 1; zstd++) {
		h.zstd = zstd;
		buf_init(&b, 0);
		assert_int_equal(wal_encode_header(&b, &h), 0);
		assert_int_equal(wal_encode_batch(&b, 40, e, 3), 0);
		/* a stub takes its head and key: no value bytes */
		assert_int_equal(b.len, HDR + wal_batch_size(e, 3));
		assert_int_equal(wal_batch_size(e, 3),
		    8 + 12 + (17 + 1 + 3) + (17 + 3) + (13 + 1));
		assert_int_equal(wal_encode_end(&b), 0);
		if (zstd) {
			buf_init(&z, 0);
			assert_int_equal(wal_compress_to(&b, &z, 1), 0);
			buf_release(&b);
			b = z;
		}
		memset(&got, 0, sizeof(got));
		assert_int_equal(wal_decode_header(b.data, b.len, NAME, &got), 0);
		assert_int_equal(got.stubs, 1);
		assert_int_equal(got.zstd, zstd);
		assert_int_equal(got.wal_id, 3);
		seen = 0;
		assert_int_equal(wal_decode(b.data, b.len, NAME, &got,
		    check_stubs, &seen), 0);
		assert_int_equal(seen, 1);
		assert_int_equal(got.stubs, 1);
		buf_release(&b);
	}

	/* without the flag, a stub is damage */
	begin(&b, 4, 2, 0);
	assert_int_equal(wal_encode_batch(&b, 40, e, 3), 0);
	assert_int_equal(wal_encode_end(&b), 0);
	decode_corrupt(b.data, b.len, "stub in an object without the STUBS flag");
	assert_int_equal(wal_decode_header(b.data, b.len, NAME, &got), 0);
	assert_int_equal(got.stubs, 0);
	buf_release(&b);

	/* a stub's length is held to the value limit */
	e[1].vlen = (size_t)KV_VALUE_MAX + 1;
	begin(&b, 5, 2, 0);
	assert_int_equal(wal_encode_batch(&b, 40, e, 3), -EINVAL);
	assert_int_equal(b.len, HDR);
	buf_release(&b);

	/* a damaged header */
	err_clear();
	assert_int_equal(wal_decode_header("SHWAL", 5, NAME, &got),
	    SHALE_ECORRUPT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_flips),
		cmocka_unit_test(test_truncate_and_append),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_stubs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
