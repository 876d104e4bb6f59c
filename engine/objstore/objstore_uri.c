/*
 * objstore_uri.c - parse store URIs.
 *
 *   file:///abs/path  file://rel/path  /abs/path      a local directory
 *   s3://BUCKET  s3://BUCKET/  s3://BUCKET/PREFIX[/]  S3 (prefix gets a '/')
 *   fault:OPTIONS:URI                               fault injection over URI
 *
 * Bucket names follow S3's rules (3-63 of [a-z0-9.-], starting and ending
 * with a letter or digit); prefixes are keys and follow objstore_key_check.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/objstore/objstore_int.h"
#include "util/error.h"
#include "util/xmalloc.h"

static int
bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-'))
			return 0;
	}
	return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

int
objstore_uri_parse(const char *uri, struct objstore_uri *u)
{
	const char *p, *slash, *colon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (uri == NULL || *uri == '\0')
		return err_set(SHALE_EURI, "empty store URI");
	if (strncmp(uri, "file://", 7) == 0 || uri[0] == '/') {
		p = uri[0] == '/' ? uri : uri + 7;
		if (*p == '\0')
			return err_set(SHALE_EURI, "'%s': no directory", uri);
		u->scheme = OBJSTORE_FILE;
		u->path = xstrdup(p);
		return 0;
	}
	if (strncmp(uri, "s3://", 5) == 0) {
		p = uri + 5;
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!bucket_ok(p, n))
			return err_set(SHALE_EURI, "'%s': invalid bucket name "
			    "(3 to 63 of a-z 0-9 . -)", uri);
		u->scheme = OBJSTORE_S3;
		u->bucket = xstrndup(p, n);
		p = slash ? slash + 1 : "";
		n = strlen(p);
		if (n > 0 && (p[0] == '/' || strstr(p, "//") != NULL)) {
			objstore_uri_release(u);
			return err_set(SHALE_EURI, "'%s': empty path segment in prefix", uri);
		}
		if (n > 512) {
			objstore_uri_release(u);
			return err_set(SHALE_EURI, "'%s': prefix too long", uri);
		}
		u->prefix = n == 0 || p[n - 1] == '/' ? xstrdup(p) :
		    xasprintf("%s/", p);
		return 0;
	}
	if (strncmp(uri, "fault:", 6) == 0) {
		p = uri + 6;
		if ((colon = strchr(p, ':')) == NULL)
			return err_set(SHALE_EURI, "'%s': expected fault:OPTIONS:URI", uri);
		/* The options end at the colon before the inner scheme. */
		while (colon != NULL && strncmp(colon + 1, "file:", 5) != 0 &&
		    strncmp(colon + 1, "s3:", 3) != 0 &&
		    strncmp(colon + 1, "fault:", 6) != 0 &&
		    (colon[1] != '/' || colon[2] == '/'))
			colon = strchr(colon + 1, ':');
		if (colon == NULL)
			return err_set(SHALE_EURI, "'%s': no store after the fault options", uri);
		u->scheme = OBJSTORE_FAULT;
		u->fault_spec = xstrndup(p, (size_t)(colon - p));
		u->inner = xstrdup(colon + 1);
		return 0;
	}
	if ((colon = strstr(uri, "://")) != NULL)
		return err_set(SHALE_EURI, "'%s': unknown scheme '%.*s' (file://, s3:// "
		    "or fault:)", uri, (int)(colon - uri), uri);
	return err_set(SHALE_EURI, "'%s': not a store URI (file:///PATH, "
	    "s3://BUCKET/PREFIX)", uri);
}

void
objstore_uri_release(struct objstore_uri *u)
{
	free(u->path);
	free(u->bucket);
	free(u->prefix);
	free(u->fault_spec);
	free(u->inner);
	memset(u, 0, sizeof(*u));
}

void
objstore_uri_name(const char *uri, char out[OBJSTORE_URI_NAME_LEN + 1])
{
	snprintf(out, OBJSTORE_URI_NAME_LEN + 1, "%016llx",
	    (unsigned long long)XXH3_64bits(uri, strlen(uri)));
}
