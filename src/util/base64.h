/*
 * base64.h - standard base64 (RFC 4648 section 4: A-Z a-z 0-9 + /, '='
 * padding) into and out of bufs, through OpenSSL's codec.
 *
 * Encoding always pads. Decoding takes no whitespace and no other
 * alphabet; BASE64_STRICT also wants the padding and zero bits past the
 * last byte, so that every byte string has exactly one spelling (the
 * manifest's keys); without it the padding may be left out, as ProtoJSON
 * allows (the HTTP API).
 *
 * Pure functions on the caller's bufs: any thread.
 */
#ifndef SHALE_BASE64_H
#define SHALE_BASE64_H

#include <stddef.h>

#include "util/buf.h"

enum {
	BASE64_STRICT	= 1 << 0,	/* padding required, stray bits zero */
};

/* The length of the encoding of n bytes. */
#define BASE64_LEN(n)	(((n) + 2) / 3 * 4)

/* Append the encoding of p[0, n) to out: 0, or -EFBIG (out unchanged). */
int	base64_append(struct buf *out, const void *p, size_t n);

/*
 * Decode s[0, n) into out, which it resets first: 0, -EINVAL if s is not
 * base64 as flags want it, or -EFBIG if the bytes do not fit in out.
 */
int	base64_decode(struct buf *out, const char *s, size_t n, int flags);

#endif
