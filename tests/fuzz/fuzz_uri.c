/*
 * fuzz_uri.c - libFuzzer harness for objstore_uri_parse().
 *
 * The input, NUL-terminated, is a store URI. Whatever it parses to is
 * released; a parse that succeeds must say what it parsed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/objstore_int.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct objstore_uri u;
	char *uri;

	uri = xmalloc(size + 1);
	memcpy(uri, data, size);
	uri[size] = '\0';

	if (objstore_uri_parse(uri, &u) == 0) {
		switch (u.scheme) {
		case OBJSTORE_FILE:
			if (u.path == NULL || *u.path == '\0')
				abort();
			break;
		case OBJSTORE_S3:
			if (u.bucket == NULL || u.prefix == NULL)
				abort();
			if (*u.prefix != '\0' &&
			    u.prefix[strlen(u.prefix) - 1] != '/')
				abort();
			break;
		case OBJSTORE_FAULT:
			if (u.fault_spec == NULL || u.inner == NULL)
				abort();
			break;
		default:
			abort();
		}
	}
	/* objstore_uri_parse() clears u first, so this is safe either way. */
	objstore_uri_release(&u);
	free(uri);
	return 0;
}
