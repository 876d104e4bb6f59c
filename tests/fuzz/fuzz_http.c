/*
 * fuzz_http.c - libFuzzer harness for what the HTTP server reads of a
 * request itself: the path looked up in the route table
 * (http_route_find), the Authorization header (http_auth_ok), the listen
 * address (http_parse_listen, http_listen_spec), the checks of a
 * request's head (http_target_check, http_head_add/http_head_check,
 * http_req_add_arg), and the log API's parsing: an append's JSON and
 * text bodies, the query parameters of scan, count and keys, numbers,
 * base64, keys as JSON, and the order keys are listed in.
 *
 * The input is all of these. Beyond not crashing, what is checked: a
 * route found is one whose path is exactly the input; the header is
 * accepted only if it is "Bearer" (any case), blanks, the token, and
 * blanks; every record an append accepts has a key that
 * logs_path_check() accepts and a value ending in a newline; a range
 * accepted has start <= end; the path order is antisymmetric; a number
 * is accepted exactly when it is digits up to 2^64-1, with that value;
 * a key put in JSON reads back as the same bytes (from "key" or from
 * "keyBase64"); the head checks accept a header block exactly when it
 * has no NUL, at most one Content-Length value, not both Content-Length
 * and Transfer-Encoding, and at most one Transfer-Encoding, "chunked";
 * a target without "%00" has no NUL in its decoded query, and a query
 * parameter with a NUL is never taken.
 *
 * The query is made from the input as libmicrohttpd makes it: split at
 * '&' and '=', '+' made a blank, then MHD_http_unescape(), which keeps
 * a decoded NUL in the length it returns. The header block is the
 * input's lines (CR LF or LF), each "Name: value", with their bytes as
 * they are, NULs too.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http/http.h"
#include "http/http_int.h"
#include "model/logs.h"
#include "util/base64.h"
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

/* The target as libmicrohttpd splits and decodes it, into req. */
static void
target(const char *s, struct http_req *req, char *copy)
{
	char *q, *tok, *save = NULL, *eq, *p;
	size_t nlen, vlen;
	int nul_free = http_target_check(s) == 0, rc;

	memset(req, 0, sizeof(*req));
	strcpy(copy, s);
	if ((q = strchr(copy, '?')) == NULL)
		return;
	*q++ = '\0';
	MHD_http_unescape(copy);	/* the path */
	for (tok = strtok_r(q, "&", &save); tok != NULL;
	    tok = strtok_r(NULL, "&", &save)) {
		if ((eq = strchr(tok, '=')) != NULL)
			*eq++ = '\0';
		for (p = tok; *p != '\0'; p++)
			if (*p == '+')
				*p = ' ';
		nlen = MHD_http_unescape(tok);
		vlen = 0;
		if (eq != NULL) {
			for (p = eq; *p != '\0'; p++)
				if (*p == '+')
					*p = ' ';
			vlen = MHD_http_unescape(eq);
		}
		rc = http_req_add_arg(req, tok, nlen, eq, vlen);
		if (rc == 0 && (strlen(tok) != nlen ||
		    (eq != NULL && strlen(eq) != vlen)))
			abort();	/* a NUL taken */
		if (rc == -EINVAL && nul_free)
			abort();	/* a NUL from nowhere */
		if (rc != 0)
			break;
	}
}

/* The input's lines as headers; then the head checks against a model. */
static void
headers(const uint8_t *data, size_t size)
{
	struct http_head hd;
	const char *p = (const char *)data, *end = p + size, *nl, *colon;
	const char *v, *cl = NULL;
	size_t n, nlen, vlen, cllen = 0;
	int nul = 0, ncl = 0, clbad = 0, nte = 0, teother = 0, ok;
	char msg[256];

	memset(&hd, 0, sizeof(hd));
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if ((colon = memchr(p, ':', n)) == NULL)
			continue;	/* libmicrohttpd refuses the line */
		nlen = (size_t)(colon - p);
		for (v = colon + 1; v < p + n && (*v == ' ' || *v == '\t'); v++)
			;
		vlen = (size_t)(p + n - v);
		http_head_add(&hd, p, nlen, v, vlen);
		/* the model */
		if (memchr(p, '\0', nlen) != NULL || memchr(v, '\0', vlen) != NULL)
			nul = 1;
		if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			if (ncl++ == 0)
				cl = v, cllen = vlen;
			else if (vlen != cllen || memcmp(v, cl, vlen) != 0)
				clbad = 1;
		}
		if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			nte++;
			if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
				teother = 1;
		}
		if (nl == end)
			break;
	}
	ok = !nul && !clbad && !(ncl > 0 && nte > 0) && nte <= 1 && !teother;
	if ((http_head_check(&hd, msg, sizeof(msg)) == 0) != ok)
		abort();
}

/* A key in JSON reads back as its bytes. */
static void
json_key(const char *s, size_t n)
{
	struct buf out, b;
	json_t *j, *k;
	int same;

	buf_init(&out, 0);
	buf_init(&b, 0);
	buf_putc(&out, '{');
	http_json_key(&out, "key", s, n);
	buf_putc(&out, '}');
	if ((j = json_loadb(out.data, out.len, JSON_ALLOW_NUL, NULL)) == NULL)
		abort();
	if ((k = json_object_get(j, "key")) != NULL)
		same = json_is_string(k) && json_string_length(k) == n &&
		    memcmp(json_string_value(k), s, n) == 0;
	else if ((k = json_object_get(j, "keyBase64")) != NULL)
		same = json_is_string(k) && base64_decode(&b,
		    json_string_value(k), json_string_length(k), 0) == 0 && b.len == n &&
		    memcmp(b.data, s, n) == 0;
	else
		same = 0;
	if (!same || json_object_size(j) != 1)
		abort();
	json_decref(j);
	buf_release(&b);
	buf_release(&out);
}

/* http_parse_u64 against strtoull */
static void
number(const char *s)
{
	unsigned long long want;
	uint64_t v;
	char *end;
	int digits = *s != '\0';

	for (const char *p = s; *p != '\0'; p++)
		digits &= *p >= '0' && *p <= '9';
	errno = 0;
	want = digits ? strtoull(s, &end, 10) : 0;
	if (http_parse_u64(s, &v) == 0) {
		if (!digits || errno != 0 || v != want)
			abort();
	} else if (digits && errno == 0)
		abort();
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

/* The parameters of scan, count and keys in req. */
static void
ranges(const struct http_req *req)
{
	struct http_range g;
	struct http_keys k;
	char msg[512];

	if (http_parse_range(req, &g, msg, sizeof(msg)) == 0 &&
	    (g.start > g.end || g.limit == 0 || g.key == NULL ||
	    logs_path_check(g.key, strlen(g.key)) != 0))
		abort();
	if (http_parse_keys(req, &k, msg, sizeof(msg)) == 0 &&
	    (k.limit == 0 || k.prefix == NULL || (k.after != NULL &&
	    k.after == buf_str(&k.after_buf) &&
	    strlen(k.after) != k.after_buf.len)))
		abort();
	buf_release(&k.after_buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char token[] = "s3cr3t-t0ken";
	const struct http_route *r;
	struct sockaddr_storage ss;
	struct http_append a;
	struct http_req req;
	struct buf b;
	char msg[512], *spec, *s = xmalloc(size + 1), *half, *copy;
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
	if (base64_decode(&b, (const char *)data, size, 0) == 0 &&
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

	/* the bytes as a key in JSON; the first line as a number */
	json_key((const char *)data, size);
	half = xstrndup(s, nl != NULL ? (size_t)(nl - s) : size);
	number(half);
	free(half);

	/* as a header block */
	headers(data, size);

	/* as a request target, decoded as libmicrohttpd does */
	copy = xmalloc(size + 1);
	target(s, &req, copy);
	ranges(&req);
	free(copy);

	/* and as a query string, already decoded */
	query(s, &req);
	ranges(&req);
	free(s);
	return 0;
}
