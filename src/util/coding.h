/*
 * coding.h - fixed-width integers in byte order, and varints.
 *
 * The one place the formats' integers are written and read: little-endian
 * for the WAL and the table formats (shale-format(5)), big-endian where
 * bytes must sort as the numbers do (the keys of the models). Varints
 * are LEB128 (7 bits a byte, least significant first, at most 10 bytes);
 * zigzag maps signed deltas to small unsigned numbers; a double travels
 * as its 64 bits.
 *
 * Pure functions on the caller's bytes: any thread.
 */
#ifndef SHALE_CODING_H
#define SHALE_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CODING_VARINT_MAX	10	/* bytes of the longest varint */

static inline void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The value of a hexadecimal digit, either case; -1 for another char. */
static inline int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A double's 64 bits and back, every bit kept (NaN payloads too). */
static inline uint64_t
double_bits(double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static inline double
bits_double(uint64_t u)
{
	double v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

/* Write v at p (room for CODING_VARINT_MAX bytes); the bytes written. */
static inline size_t
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

/*
 * Read a varint at p[*pos] of n bytes in all, moving *pos past it: 0, or
 * -1 if it runs past n or past 64 bits (*pos and *v untouched).
 */
static inline int
varint_get(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	size_t i = *pos;
	uint8_t c;

	for (unsigned shift = 0; shift < 64; shift += 7) {
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

static inline uint64_t
zigzag(int64_t v)
{
	return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;
}

static inline int64_t
unzigzag(uint64_t u)
{
	return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
}

#endif
