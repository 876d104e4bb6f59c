/* bits.c - bit streams over a buf and over the caller's bytes. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "bits.h"

void
bits_writer_init(struct bits_writer *w, struct buf *b)
{
	w->buf = b;
	w->avail = 0;
}

int
bits_put(struct bits_writer *w, uint64_t v, unsigned n)
{
	struct buf *b = w->buf;
	uint8_t *p;
	unsigned take;
	size_t extra;
	int rc;

	if (n == 0)
		return 0;
	if (n < 64)
		v &= ((uint64_t)1 << n) - 1;
	extra = n > w->avail ? (n - w->avail + 7) / 8 : 0;
	if ((rc = buf_reserve(b, extra)) != 0)
		return rc;
	while (n > 0) {
		if (w->avail == 0) {
			b->data[b->len++] = 0;
			w->avail = 8;
		}
		take = n < w->avail ? n : w->avail;
		p = (uint8_t *)b->data + b->len - 1;
		/* the top `take` of the n bits left, into the free low bits */
		*p |= (uint8_t)(((v >> (n - take)) & ((1u << take) - 1))
		    << (w->avail - take));
		w->avail -= take;
		n -= take;
	}
	b->data[b->len] = '\0';
	return 0;
}

size_t
bits_written(const struct bits_writer *w)
{
	return w->buf->len * 8 - w->avail;
}

void
bits_reader_init(struct bits_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

size_t
bits_left(const struct bits_reader *r)
{
	return r->len * 8 - r->pos;
}

int
bits_get(struct bits_reader *r, unsigned n, uint64_t *v)
{
	uint64_t x = 0;
	unsigned off, take;

	if (n > 64 || bits_left(r) < n)
		return -1;
	/*
	 * Most reads are short and far from the end: one unaligned load of
	 * the 8 bytes from the current one, shifted, instead of a byte at a
	 * time (what chunk decoding spends its time on).
	 */
	if (n > 0 && n <= 56 && r->pos / 8 + 8 <= r->len) {
		uint64_t w;

		memcpy(&w, r->p + r->pos / 8, 8);
		w = be64toh(w);
		*v = (w << (r->pos % 8)) >> (64 - n);
		r->pos += n;
		return 0;
	}
	while (n > 0) {
		off = (unsigned)(r->pos % 8);
		take = 8 - off < n ? 8 - off : n;
		/* bits off .. off+take-1 of the byte, counted from the top */
		x = x << take |
		    (uint64_t)((r->p[r->pos / 8] >> (8 - off - take)) &
		    ((1u << take) - 1));
		r->pos += take;
		n -= take;
	}
	*v = x;
	return 0;
}
