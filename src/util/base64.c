/*
 * base64.c - base64 (base64.h): the checks of what we accept here, the
 * coding itself by OpenSSL's EVP_EncodeBlock and EVP_DecodeBlock.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/base64.h"

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_append(struct buf *out, const void *p, size_t n)
{
	size_t len = BASE64_LEN(n);
	int rc;

	if (n > (size_t)INT_MAX / 4 * 3)
		return -EFBIG;
	if ((rc = buf_reserve(out, len)) != 0)
		return rc;
	if (n > 0)
		EVP_EncodeBlock((unsigned char *)out->data + out->len, p,
		    (int)n);
	out->len += len;
	out->data[out->len] = '\0';
	return 0;
}

int
base64_decode(struct buf *out, const char *s, size_t n, int flags)
{
	unsigned char tail[4];
	size_t body, pad = 0, rest, len;
	int got, rc;

	/* '=' only as the last one or two of a whole quad */
	if (n > 0 && s[n - 1] == '=')
		pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
	if (pad > 0 && n % 4 != 0)
		return -EINVAL;
	if ((flags & BASE64_STRICT) && n % 4 != 0)
		return -EINVAL;
	rest = (n - pad) % 4;
	if (rest == 1)
		return -EINVAL;
	for (size_t i = 0; i < n - pad; i++)
		if (b64_value(s[i]) < 0)
			return -EINVAL;
	/* a short last quad leaves 4 or 2 stray bits */
	if (flags & BASE64_STRICT) {
		if (pad == 2 && (b64_value(s[n - 3]) & 15) != 0)
			return -EINVAL;
		if (pad == 1 && (b64_value(s[n - 2]) & 3) != 0)
			return -EINVAL;
	}
	if (n > (size_t)INT_MAX)
		return -EFBIG;
	body = (n - pad) / 4 * 4;	/* the whole quads before any padding */
	if (pad > 0)
		rest = 4 - pad;
	len = body / 4 * 3 + (rest == 0 ? 0 : rest - 1);
	buf_reset(out);
	if ((rc = buf_reserve(out, body / 4 * 3 + 3)) != 0)
		return rc;
	got = body == 0 ? 0 : EVP_DecodeBlock((unsigned char *)out->data,
	    (const unsigned char *)s, (int)body);
	if (got < 0 || (size_t)got != body / 4 * 3)
		return -EINVAL;
	if (rest > 0) {
		/* the last, short quad: padded out in a copy of its own */
		memcpy(tail, s + body, rest);
		memset(tail + rest, '=', 4 - rest);
		if (EVP_DecodeBlock((unsigned char *)out->data + body / 4 * 3,
		    tail, 4) != 3)
			return -EINVAL;
	}
	out->len = len;
	out->data[out->len] = '\0';
	return 0;
}
