/*
 * fuzz_wal.c - libFuzzer harness for wal_decode().
 *
 * The input is a WAL object. The callback reads every byte of every key
 * and value it is given (so a sanitizer build catches a pointer outside
 * the input) and checks what wal.h promises: sequence numbers follow one
 * another and grow from batch to batch, kinds are put or delete (or stub,
 * in an object with the STUBS flag), lengths are within kv.h's limits, a
 * delete or a stub has no value. wal_decode_header() must agree with what
 * wal_decode() says of the header. A decode that fails
 * must be SHALE_ECORRUPT and must not have delivered any batch; one that
 * succeeds is encoded again and must give back the same bytes (for a
 * compressed object: compressed again, the same batches).
 *
 * A mutated input almost never has the right CRCs, which would keep the
 * fuzzer out of the record parser; so each input is decoded twice, as it
 * is and with every CRC its framing reaches made right (fix_crcs()).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/kv.h"
#include "engine/lsm/wal.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the reads of keys and values from being optimised out. */
static volatile uint32_t sink;

struct seen {
	const uint8_t	*data;
	size_t		 size;
	uint64_t	 last;		/* last seq delivered */
	size_t		 batches;
	uint32_t	 sum;
	struct buf	 again;		/* the batches encoded again */
	int		 plain;		/* compressed: entries are in a copy */
	int		 stubs;		/* the STUBS flag: stubs may come */
};

static void
inside(const struct seen *s, const uint8_t *p, size_t n)
{
	if (p == NULL || p < s->data || n > s->size ||
	    (size_t)(p - s->data) > s->size - n)
		abort();
}

static int
batch(void *arg, uint64_t first_seq, const struct kv_entry *e, size_t n)
{
	struct seen *s = arg;

	if (n == 0 || first_seq == 0 || first_seq <= s->last)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (e[i].seq != first_seq + i || e[i].seq > KV_SEQ_MAX)
			abort();
		if (e[i].kind != KV_PUT && e[i].kind != KV_DELETE &&
		    (e[i].kind != WAL_STUB || !s->stubs))
			abort();
		if (e[i].klen > KV_KEY_MAX || e[i].expire < 0)
			abort();
		if (!s->plain)
			inside(s, e[i].key, e[i].klen);
		for (size_t j = 0; j < e[i].klen; j++)
			s->sum += e[i].key[j];
		if (e[i].kind == KV_DELETE) {
			if (e[i].val != NULL || e[i].vlen != 0)
				abort();
			continue;
		}
		if (e[i].vlen > KV_VALUE_MAX)
			abort();
		if (e[i].kind == WAL_STUB) {
			if (e[i].val != NULL)
				abort();
			continue;
		}
		if (!s->plain)
			inside(s, e[i].val, e[i].vlen);
		for (size_t j = 0; j < e[i].vlen; j++)
			s->sum += e[i].val[j];
	}
	if (wal_encode_batch(&s->again, first_seq, e, n) != 0)
		abort();
	s->last = first_seq + n - 1;
	s->batches++;
	return 0;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
set32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Make right the header CRC, each batch's and the trailer's, as wal.c does. */
static void
fix_crcs(uint8_t *d, size_t n)
{
	size_t off = 36, len;

	if (n < 36)
		return;
	set32(d + 32, crc32c(0, d, 32));
	while (n - off >= 8) {
		len = get32(d + off);
		if (len == 0) {
			if (n - off >= 12)
				set32(d + off + 8, crc32c(0, d, off + 8));
			return;
		}
		if (len > n - off - 8)
			return;
		set32(d + off + 4, crc32c(crc32c(0, d + off, 4), d + off + 8,
		    len));
		off += 8 + len;
	}
}

static void
check(const uint8_t *data, size_t size)
{
	struct wal_header h, hh;
	struct seen s;
	struct buf again;
	int rc, hrc;

	memset(&s, 0, sizeof(s));
	s.data = data;
	s.size = size;
	s.plain = size > 10 && (data[10] & 2);	/* the zstd flag */
	s.stubs = size > 10 && (data[10] & 4);	/* the STUBS flag */
	buf_init(&s.again, 0);
	hrc = wal_decode_header(data, size, "fuzz", &hh);
	if (hrc != 0 && hrc != SHALE_ECORRUPT)
		abort();
	rc = wal_decode(data, size, "fuzz", &h, batch, &s);
	if (rc != 0) {
		if (rc != SHALE_ECORRUPT || s.batches != 0)
			abort();
		goto out;
	}
	if (hrc != 0 || hh.wal_id != h.wal_id || hh.epoch != h.epoch ||
	    hh.fence != h.fence || hh.zstd != h.zstd || hh.stubs != h.stubs)
		abort();
	if (h.fence && s.batches != 0)
		abort();

	/*
	 * Encoding what was decoded gives back the same object; compressed,
	 * the same batches (another compressor may pick other bytes).
	 */
	buf_init(&again, 0);
	if (wal_encode_header(&again, &h) != 0 ||
	    buf_append(&again, s.again.data, s.again.len) != 0 ||
	    wal_encode_end(&again) != 0)
		abort();
	if (h.zstd) {
		struct seen t;

		if (wal_compress(&again, 1) != 0)
			abort();
		memset(&t, 0, sizeof(t));
		t.plain = 1;
		buf_init(&t.again, 0);
		if (wal_decode(again.data, again.len, "again", NULL, batch,
		    &t) != 0 || t.batches != s.batches || t.sum != s.sum ||
		    t.again.len != s.again.len ||
		    memcmp(t.again.data, s.again.data, s.again.len) != 0)
			abort();
		buf_release(&t.again);
	} else if (again.len != size || memcmp(again.data, data, size) != 0)
		abort();
	buf_release(&again);
out:
	sink = s.sum;
	buf_release(&s.again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check(data, size);
	if (size >= 36) {
		fixed = xmalloc(size);
		memcpy(fixed, data, size);
		fix_crcs(fixed, size);
		check(fixed, size);
		free(fixed);
	}
	return 0;
}
