/*
 * bits.h - bit streams: a writer that appends bits to a struct buf, and a
 * reader over the caller's bytes.
 *
 * Bits go most significant first: the first bit written is bit 7 of the
 * first byte. A writer starts on a byte boundary at the end of its buf and
 * fills the unused low bits of the last byte it wrote with zeros, so the
 * buf always holds whole bytes (the padding bits of the last one are
 * zero). Its ceiling is the buf's: a put that would pass it fails with
 * -EFBIG and changes nothing. A reader never reads a byte past the length
 * it was given.
 *
 * What it does not do: varints, byte order (coding.h), alignment.
 *
 * Not thread-safe: one owner at a time. The writer uses the caller's buf,
 * which must not be changed by anything else while bits are being put.
 */
#ifndef SHALE_BITS_H
#define SHALE_BITS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct bits_writer {
	struct buf	*buf;
	unsigned	 avail;		/* unused low bits of buf's last byte, 0..7 */
};

struct bits_reader {
	const uint8_t	*p;
	size_t		 len;		/* bytes */
	size_t		 pos;		/* bits read */
};

/* Write from the end of b (its bytes so far are left alone). */
void	bits_writer_init(struct bits_writer *w, struct buf *b);
/* The low n bits of v (n from 0 to 64), most significant first: 0 or -EFBIG. */
int	bits_put(struct bits_writer *w, uint64_t v, unsigned n);
/* Bits in w's buf from its first byte, the padding left out. */
size_t	bits_written(const struct bits_writer *w);

void	bits_reader_init(struct bits_reader *r, const void *p, size_t len);
/*
 * The next n bits (n from 0 to 64) into *v, the first read the most
 * significant: 0, or -1 if fewer than n are left (nothing is consumed).
 */
int	bits_get(struct bits_reader *r, unsigned n, uint64_t *v);
/* Bits not yet read. */
size_t	bits_left(const struct bits_reader *r);

#endif
