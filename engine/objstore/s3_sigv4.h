/*
 * s3_sigv4.h - AWS Signature Version 4, computed with OpenSSL.
 *
 * Given a request's method, raw path, query parameters, headers and payload
 * hash, sigv4_sign() builds the canonical request, the string to sign, the
 * signature and the Authorization header value. It also returns the encoded
 * path and the canonical query string, and the caller puts exactly those on
 * the wire, so what is signed and what is sent cannot differ (the usual
 * cause of SignatureDoesNotMatch: unsorted parameters, a literal '/' or a
 * lowercase escape in the query).
 *
 * Two flavours of canonical URI: S3 (normalize = 0) encodes the path once
 * and keeps it as it is (a key may contain "//" or "/./"); every other
 * service (normalize = 1) first removes dot segments and repeated slashes.
 * The AWS test suite uses the second. Both encode the raw path once: the
 * caller passes it unencoded, so the second encoding those services expect
 * of an already-encoded path never arises here.
 *
 * Pure functions, no global state: thread-safe.
 */
#ifndef SHALE_S3_SIGV4_H
#define SHALE_S3_SIGV4_H

#include <stddef.h>

#include "util/buf.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* A query parameter, raw (not percent-encoded). value NULL is the same as "". */
struct sigv4_param {
	const char *name;
	const char *value;
};

/* A header as it will be sent; names in any case. All of them are signed. */
struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_input {
	const char	*method;	/* "GET", "PUT" ... */
	const char	*path;		/* raw path, starting with '/' */
	int		 normalize;	/* 0 for S3; 1 for other services */
	const struct sigv4_param *params;
	size_t		 nparams;
	const struct sigv4_header *headers;	/* must include Host and X-Amz-Date */
	size_t		 nheaders;
	const char	*payload_hash;	/* lowercase hex SHA-256, or SIGV4_UNSIGNED_PAYLOAD */
	const char	*amz_date;	/* YYYYMMDDTHHMMSSZ */
	const char	*region;
	const char	*service;	/* "s3" */
	const char	*access_key;
	const char	*secret_key;
};

/* Everything sigv4_sign() produces; the bufs are owned by the struct. */
struct sigv4_output {
	struct buf	 canonical_request;
	struct buf	 string_to_sign;
	char		 signature[65];		/* lowercase hex */
	struct buf	 authorization;		/* value of the Authorization header */
	struct buf	 path;			/* the encoded path to send */
	struct buf	 query;			/* the canonical query to send ("" if none) */
};

void	sigv4_output_init(struct sigv4_output *o);
void	sigv4_output_release(struct sigv4_output *o);
/* 0, or -EINVAL for a malformed input (missing field, bad date). */
int	sigv4_sign(const struct sigv4_input *in, struct sigv4_output *out);

/*
 * Percent-encode `s` as SigV4 wants: A-Z a-z 0-9 - _ . ~ kept, every other
 * byte as %XX with uppercase hex; '/' kept when keep_slash.
 */
int	sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash);
/* Lowercase hex SHA-256 of the bytes. */
void	sigv4_sha256_hex(const void *data, size_t n, char out[65]);
/* "YYYYMMDDTHHMMSSZ" for the current time (UTC). */
void	sigv4_amz_date(char out[17]);

#endif
