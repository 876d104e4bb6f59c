/*
 * fuzz_http.c - libFuzzer harness for what the HTTP server reads of a
 * request itself: the path looked up in the route table
 * (http_route_find), the Authorization header (http_auth_ok) and the
 * listen address (http_parse_listen).
 *
 * The input, NUL-terminated, is all three. A route found must be one
 * whose path is exactly the input; the header is accepted only if it is
 * "Bearer" (any case), blanks, the token, and blanks.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/http.h"
#include "http/http_int.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char token[] = "s3cr3t-t0ken";
	const struct http_route *r;
	struct sockaddr_storage ss;
	char *s = xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	if ((r = http_route_find(s)) != NULL && strcmp(r->path, s) != 0)
		abort();
	if (http_auth_ok(s, token) && (strncasecmp(s, "Bearer ", 7) != 0 ||
	    strstr(s, token) == NULL))
		abort();
	if (http_parse_listen(s, &ss) == 0 && ss.ss_family != AF_INET &&
	    ss.ss_family != AF_INET6)
		abort();
	free(s);
	return 0;
}
