/*
 * fuzz_http.c - libFuzzer harness for what the HTTP server reads of a
 * request itself: the path looked up in the route table
 * (http_route_find), the Authorization header (http_auth_ok), the listen
 * address (http_parse_listen, http_listen_spec), and the log API's
 * parsing: an append's JSON and text bodies, the query parameters of
 * scan and count, base64, and the order keys are listed in.
 *
 * The input, NUL-terminated, is all of these. Beyond not crashing, what
 * is checked: a route found is one whose path is exactly the input; the
 * header is accepted only if it is "Bearer" (any case), blanks, the
 * token, and blanks; every record an append accepts has a key that
 * logs_path_check() accepts and a value ending in a newline; a range
 * accepted has start <= end; the path order is antisymmetric.
 *
 * The query is made from the input as a server would see it, split at
 * '&' and '=' (the server's parser has already decoded it).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/http.h"
#include "http/http_int.h"
#include "model/logs.h"
#include "util/buf.h"
#include "util/xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_append(const struct http_append *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct http_record *r = &a->v[i];
		if (logs_path_check(r->key, r->klen) != 0 || r->value.len == 0 ||
		    r->value.data[r->value.len - 1] != '\n')
			abort();
	}
}

static void
query(char *s, struct http_req *req)
{
	char *tok, *save = NULL, *eq;

	memset(req, 0, sizeof(*req));
	for (tok = strtok_r(s, "&", &save); tok != NULL &&
	    req->nargs < HTTP_ARGS_MAX; tok = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(tok, '=')) != NULL)
			*eq++ = '\0';
		req->args[req->nargs].name = tok;
		req->args[req->nargs].value = eq;
		req->nargs++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char token[] = "s3cr3t-t0ken";
	const struct http_route *r;
	struct sockaddr_storage ss;
	struct http_append a;
	struct http_range g;
	struct http_req req;
	struct buf b;
	char msg[512], *spec, *s = xmalloc(size + 1), *half;
	const char *nl;
	int x, y;

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
	if (http_listen_spec(s, NULL, &spec) == 0)
		free(spec);
	if (http_listen_spec(NULL, s, &spec) == 0)
		free(spec);

	/* the bytes as an append's body: JSON, and text for a key */
	if (http_parse_append_json((const char *)data, size, &a, msg,
	    sizeof(msg)) == 0) {
		if (a.n == 0)
			abort();
		check_append(&a);
		http_append_release(&a);
	}
	nl = memchr(s, '\n', size);
	half = xstrndup(s, nl != NULL ? (size_t)(nl - s) : size);
	if (http_parse_append_text(half, (const char *)data, size, &a, msg,
	    sizeof(msg)) == 0) {
		check_append(&a);
		http_append_release(&a);
	}
	buf_init(&b, 0);
	if (http_b64_decode((const char *)data, size, &b) == 0 &&
	    b.len > size / 4 * 3 + 2)
		abort();
	buf_release(&b);

	/* the first line against the rest, in the order keys are listed */
	if (nl != NULL) {
		x = http_path_cmp(half, s + (nl - s) + 1);
		y = http_path_cmp(s + (nl - s) + 1, half);
		if ((x < 0 && y <= 0) || (x > 0 && y >= 0) || (x == 0) != (y == 0))
			abort();
	}
	free(half);

	/* and as a query string */
	query(s, &req);
	if (http_parse_range(&req, &g, msg, sizeof(msg)) == 0 &&
	    (g.start > g.end || g.limit == 0 || g.key == NULL ||
	    logs_path_check(g.key, strlen(g.key)) != 0))
		abort();
	free(s);
	return 0;
}
