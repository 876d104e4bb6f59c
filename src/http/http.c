/*
 * http.c - the HTTP server: libmicrohttpd with a thread per connection,
 * and everything a route does not do itself (see http_int.h).
 *
 * A request is seen by on_request() several times: first once its head
 * (request line and headers) is in, then once per piece of body (kept up
 * to HTTP_BODY_MAX), then a last time with no body left, when the reply
 * is made and queued. on_completed() is called once the reply is sent or
 * the connection dropped: it counts the request in the http_* metrics
 * and frees the state.
 *
 * Everything that can refuse a request without its body is done at the
 * first call, before any body is read: a NUL in the target (on_target()
 * saw it still escaped) or in a header, conflicting framing, a
 * Content-Length over the limit, the route, the token, the method. A
 * refusal then is queued at once, and libmicrohttpd closes the
 * connection without reading the body. Only a POST to a route that
 * takes one keeps a body; any other is read and dropped.
 *
 * A connection (struct http_conn, from on_connection()'s STARTED to its
 * CLOSED) is in the waiting list at h->wait_head while its request has
 * not all arrived (head, or body), oldest first. The reaper thread
 * closes (shutdown(2): the connection's thread sees the end and cleans
 * up) any whose head has taken longer than the head timeout, however
 * slowly it trickles; and a connection past the limit closes the oldest
 * waiting one, so that a pool full of slow clients still takes a probe.
 * A request being served (a long poll, an append waiting to be stored)
 * is never closed that way: a pool full of those refuses new ones.
 *
 * We make the listening socket ourselves, so that a port in use is an
 * error with its errno at start, and hand it to libmicrohttpd.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"
#include "http/http_int.h"
#include "model/logs.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define TOKEN_MAX	4096

struct request {
	int64_t			 t0;
	unsigned		 method;	/* HTTP_GET, HTTP_POST, 0: another */
	const char		*method_label;	/* bounded: never the client's text */
	const struct http_route	*route;		/* NULL: no such path */
	struct buf		 body;
	int			 keep_body;	/* a POST to a route that takes it */
	size_t			 body_seen;	/* bytes of body read, kept or not */
	int			 too_big;
	int			 status;	/* 0 until a reply is queued */
	int			 stopping;	/* the reply closes the connection */
};

/*
 * One connection, from on_connection()'s STARTED to its CLOSED. Every
 * field is under h->conns_lock.
 */
struct http_conn {
	struct http_conn	*prev, *next;	/* in the waiting list */
	int			 waiting;	/* in it */
	int			 fd;
	int64_t			 since;		/* its request began to arrive */
	int			 head_done;	/* on_request() was called */
	int			 closing;	/* shut down by us */
};

/*
 * What on_target() gives as a request's first state when the target
 * holds "%00": no request of ours, so nothing to free if the request
 * goes no further.
 */
static char bad_target;

int
http_parse_listen(const char *spec, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *port, *colon;
	char *end;
	unsigned long p;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (spec[0] == '[') {
		if ((colon = strstr(spec, "]:")) == NULL)
			goto bad;
		n = (size_t)(colon - spec - 1);
		port = colon + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		n = (size_t)(colon - spec);
		port = colon + 1;
	} else {
		n = 0;
		port = spec;
	}
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, spec[0] == '[' ? spec + 1 : spec, n);
	host[n] = '\0';
	errno = 0;
	p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || errno != 0 || p == 0 || p > 65535)
		goto bad;
	if (n == 0 && spec[0] != '[')
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		return 0;
	}
bad:
	return err_set(-EINVAL, "cannot listen on '%s': expected ADDRESS:PORT, "
	    "[IPV6]:PORT or PORT, with a numeric address", spec);
}

static int
is_port(const char *s)
{
	char *end;
	unsigned long p;

	errno = 0;
	p = strtoul(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	    p > 0 && p <= 65535;
}

int
http_listen_spec(const char *listen, const char *port, char **out)
{
	const char *colon;
	int has_port, port_given = port != NULL;

	if (port != NULL && !is_port(port))
		return err_set(-EINVAL, "'%s' is not a port (1 to 65535)", port);
	if (port == NULL)
		port = HTTP_DEFAULT_PORT;
	if (listen == NULL) {
		*out = xasprintf("127.0.0.1:%s", port);
		return 0;
	}
	/* "PORT", "ADDR:PORT", "[ADDR6]:PORT"; else an address alone */
	colon = strrchr(listen, ':');
	if (listen[0] == '[')
		has_port = strstr(listen, "]:") != NULL;
	else
		has_port = is_port(listen) || (colon != NULL &&
		    strchr(listen, ':') == colon);
	if (has_port) {
		if (port_given)
			return err_set(-EINVAL, "--listen '%s' has a port, and "
			    "--port names another", listen);
		*out = xstrdup(listen);
	} else if (listen[0] != '[' && colon != NULL)
		*out = xasprintf("[%s]:%s", listen, port);
	else
		*out = xasprintf("%s:%s", listen, port);
	return 0;
}

int
http_read_token(const char *path, char **out)
{
	char line[TOKEN_MAX + 2], *s, *e;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return err_set(-errno, "cannot read the token file '%s': %s",
		    path, strerror(errno));
	s = fgets(line, sizeof(line), f);
	fclose(f);
	if (s == NULL)
		s = line, line[0] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
	    e[-1] == '\t'))
		*--e = '\0';
	if (*s == '\0' || strlen(s) > TOKEN_MAX)
		return err_set(-EINVAL, "the token file '%s' has no token on its "
		    "first line (or one over %d bytes)", path, TOKEN_MAX);
	*out = xstrdup(s);
	return 0;
}

int
http_auth_ok(const char *header, const char *token)
{
	const char *p;
	size_t n, tlen, i;
	unsigned char d;

	if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 ||
	    header[6] != ' ')
		return 0;
	for (p = header + 6; *p == ' '; p++)
		;
	for (n = strlen(p); n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'); n--)
		;
	/* every byte of the token is looked at, whatever the input */
	tlen = strlen(token);
	d = n != tlen;
	for (i = 0; i < tlen; i++)
		d |= (unsigned char)token[i] ^ (unsigned char)(i < n ? p[i] : 0);
	return d == 0;
}

int
http_target_check(const char *target)
{
	/* "%00" decodes to a NUL, which would end the path or a value */
	return strstr(target, "%00") != NULL ? -EINVAL : 0;
}

static int
name_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

void
http_head_add(struct http_head *hd, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	if (value == NULL)
		value = "", vlen = 0;
	if (memchr(name, '\0', nlen) != NULL ||
	    memchr(value, '\0', vlen) != NULL)
		hd->nul = 1;
	if (name_is(name, nlen, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		/* the same length twice is one length (RFC 9110, 8.6) */
		if (hd->ncl > 0 && (vlen != hd->cllen ||
		    memcmp(value, hd->cl, vlen) != 0))
			hd->cl_conflict = 1;
		if (hd->ncl++ == 0) {
			hd->cl = value;
			hd->cllen = vlen;
		}
	} else if (name_is(name, nlen, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		hd->nte++;
		if (!name_is(value, vlen, "chunked"))
			hd->te_other = 1;
	}
}

int
http_head_check(const struct http_head *hd, char *msg, size_t msglen)
{
	const char *why = NULL;

	/*
	 * Two framings would let this server and a proxy in front of it
	 * see different requests in the same bytes: refuse them all.
	 */
	if (hd->nul)
		why = "a header holds a NUL byte";
	else if (hd->cl_conflict)
		why = "Content-Length is given twice, with different values";
	else if (hd->ncl > 0 && hd->nte > 0)
		why = "Content-Length and Transfer-Encoding are both given";
	else if (hd->nte > 1 || hd->te_other)
		why = "Transfer-Encoding must be chunked, given once";
	if (why == NULL)
		return 0;
	snprintf(msg, msglen, "%s", why);
	return -EINVAL;
}

int
http_req_add_arg(struct http_req *req, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	if (memchr(name, '\0', nlen) != NULL ||
	    (value != NULL && memchr(value, '\0', vlen) != NULL))
		return -EINVAL;
	if (req->nargs == HTTP_ARGS_MAX)
		return -E2BIG;
	req->args[req->nargs].name = name;
	req->args[req->nargs].value = value;
	req->nargs++;
	return 0;
}

void
http_reply_error(struct http_reply *r, int status, const char *msg)
{
	json_t *j = json_pack("{s:s, s:s}", "status", "error", "message", msg);
	char *t = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	/* a message that is not UTF-8 (a key's bytes) is not sent */
	buf_puts(&r->body, t != NULL ? t : "{\"status\":\"error\"}");
	buf_putc(&r->body, '\n');
	free(t);
	json_decref(j);
}

void
http_reply_header(struct http_reply *r, const char *name, const char *fmt, ...)
{
	struct http_header *hd;
	va_list ap;

	BUG_ON(r->nheaders == HTTP_REPLY_HEADERS_MAX);
	hd = &r->headers[r->nheaders++];
	hd->name = name;
	va_start(ap, fmt);
	vsnprintf(hd->value, sizeof(hd->value), fmt, ap);
	va_end(ap);
}

static void
method_of(const char *m, struct request *rq)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		rq->method = HTTP_GET;
		rq->method_label = m[0] == 'G' ? "GET" : "HEAD";
	} else if (strcmp(m, "POST") == 0) {
		rq->method = HTTP_POST;
		rq->method_label = "POST";
	} else {
		rq->method = 0;
		rq->method_label = "other";
	}
}

/* A connection taken over by a route (http_upgrade_fn). */
struct upgrade {
	struct http	*h;
	http_upgrade_fn	 fn;
	void		*arg;
	void		(*done)(void *arg);
	int		 fd;
	char		*extra;
	size_t		 extra_len;
	struct MHD_UpgradeResponseHandle *urh;
};

static void *
upgrade_main(void *p)
{
	struct upgrade *u = p;
	struct http *h = u->h;

	u->fn(h, u->arg, u->fd, u->extra, u->extra_len);
	MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
	if (u->done != NULL)
		u->done(u->arg);
	free(u->extra);
	free(u);
	/* last: http_stop() waits for this before it frees h */
	atomic_fetch_sub(&h->upgraded, 1);
	return NULL;
}

/*
 * libmicrohttpd hands the socket over: the route's function runs on a
 * thread of its own, for a pool thread must not be held.
 */
static void
on_upgrade(void *cls, struct MHD_Connection *c, void *req_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct upgrade *u = cls;
	pthread_attr_t attr;
	pthread_t t;

	(void)c;
	(void)req_cls;
	u->fd = (int)sock;
	u->urh = urh;
	u->extra = xmalloc(extra_in_size + 1);
	memcpy(u->extra, extra_in, extra_in_size);
	u->extra_len = extra_in_size;
	atomic_fetch_add(&u->h->upgraded, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, HTTP_STACK_SIZE);
	if (pthread_create(&t, &attr, upgrade_main, u) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		if (u->done != NULL)
			u->done(u->arg);
		atomic_fetch_sub(&u->h->upgraded, 1);
		free(u->extra);
		free(u);
	}
	pthread_attr_destroy(&attr);
}

static enum MHD_Result
send_reply(struct http *h, struct MHD_Connection *c, struct request *rq,
    struct http_reply *r)
{
	struct MHD_Response *resp;
	struct upgrade *u = NULL;
	enum MHD_Result ret;
	char allow[32];
	size_t len;
	char *body;

	rq->stopping = __atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST);
	if (r->upgrade != NULL && !rq->stopping) {
		u = xcalloc(1, sizeof(*u));
		u->h = h;
		u->fn = r->upgrade;
		u->arg = r->upgrade_arg;
		u->done = r->upgrade_done;
		if ((resp = MHD_create_response_for_upgrade(on_upgrade,
		    u)) == NULL) {
			if (u->done != NULL)
				u->done(u->arg);
			free(u);
			return MHD_NO;
		}
		for (size_t i = 0; i < r->nheaders; i++)
			MHD_add_response_header(resp, r->headers[i].name,
			    r->headers[i].value);
		rq->status = MHD_HTTP_SWITCHING_PROTOCOLS;
		ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
		MHD_destroy_response(resp);
		if (ret != MHD_YES) {
			if (u->done != NULL)
				u->done(u->arg);
			free(u);
		}
		return ret;
	}
	if (r->upgrade != NULL && r->upgrade_done != NULL) {
		/* stopping: no connection is taken over now */
		r->upgrade_done(r->upgrade_arg);
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		r->content_type = "text/plain; charset=utf-8";
		buf_reset(&r->body);
		buf_puts(&r->body, "shutting down\n");
	}
	body = buf_detach(&r->body, &len);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    r->content_type);
	if (rq->stopping)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	if (r->status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer");
	if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED && rq->route != NULL) {
		snprintf(allow, sizeof(allow), "%s%s%s",
		    rq->route->flags & HTTP_GET ? "GET, HEAD" : "",
		    (rq->route->flags & (HTTP_GET | HTTP_POST)) ==
		    (HTTP_GET | HTTP_POST) ? ", " : "",
		    rq->route->flags & HTTP_POST ? "POST" : "");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	}
	for (size_t i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name,
		    r->headers[i].value);
	rq->status = r->status;
	ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct args {
	struct http_req	*req;
	int		 rc;
};

static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct args *a = cls;

	(void)kind;
	a->rc = http_req_add_arg(a->req, name, nlen, value, vlen);
	return a->rc == 0 ? MHD_YES : MHD_NO;
}

static enum MHD_Result
add_header(void *cls, enum MHD_ValueKind kind, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	(void)kind;
	http_head_add(cls, name, nlen, value, vlen);
	return MHD_YES;
}

static struct http_conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/* h->conns_lock held: take cc out of the waiting list */
static void
unwait(struct http *h, struct http_conn *cc)
{
	if (!cc->waiting)
		return;
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		h->wait_head = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	else
		h->wait_tail = cc->prev;
	cc->prev = cc->next = NULL;
	cc->waiting = 0;
}

/* h->conns_lock held: cc's next request begins to arrive now */
static void
wait_again(struct http *h, struct http_conn *cc)
{
	unwait(h, cc);
	cc->since = clock_mono_ns();
	cc->head_done = 0;
	cc->prev = h->wait_tail;
	if (h->wait_tail != NULL)
		h->wait_tail->next = cc;
	else
		h->wait_head = cc;
	h->wait_tail = cc;
	cc->waiting = 1;
}

/*
 * h->conns_lock held: close cc. Its thread sees the end of the stream and
 * cleans up; the descriptor stays valid until on_connection()'s CLOSED,
 * which takes the same lock.
 */
static void
conn_close(struct http *h, struct http_conn *cc, struct metric_series *why)
{
	unwait(h, cc);
	cc->closing = 1;
	h->nclosing++;
	shutdown(cc->fd, SHUT_RDWR);
	metric_add(why, 1);
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **ctx,
    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct http *h = cls;
	struct http_conn *cc = *ctx;

	pthread_mutex_lock(&h->conns_lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		cc = xcalloc(1, sizeof(*cc));
		cc->fd = ci != NULL ? ci->connect_fd : -1;
		*ctx = cc;
		h->nconns++;
		wait_again(h, cc);
		/* the oldest still waiting makes room (perhaps this one) */
		while (h->nconns - h->nclosing > h->max_conns &&
		    h->wait_head != NULL)
			conn_close(h, h->wait_head, h->dropped_full);
	} else if (cc != NULL) {
		unwait(h, cc);
		h->nclosing -= cc->closing;
		h->nconns--;
		free(cc);
		*ctx = NULL;
	}
	pthread_mutex_unlock(&h->conns_lock);
}

/* Close every connection whose head has taken too long, until told to stop. */
static void *
reaper_main(void *arg)
{
	struct http *h = arg;
	struct http_conn *cc, *next;
	int64_t now, tick = h->head_timeout_ns / 4;

	if (tick > 250 * 1000000LL)
		tick = 250 * 1000000LL;
	pthread_mutex_lock(&h->conns_lock);
	while (!h->reaper_stop) {
		now = clock_mono_ns();
		for (cc = h->wait_head; cc != NULL && cc->since +
		    h->head_timeout_ns <= now; cc = next) {
			next = cc->next;
			if (!cc->head_done)
				conn_close(h, cc, h->dropped_slow);
		}
		clock_cond_wait(&h->reaper_cond, &h->conns_lock,
		    clock_mono_ns() + tick);
	}
	pthread_mutex_unlock(&h->conns_lock);
	return NULL;
}

/* The raw target, still escaped: remember a "%00" for on_request(). */
static void *
on_target(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	return http_target_check(uri) != 0 ? &bad_target : NULL;
}

/*
 * At the first call, with the head in and no body read: a status and a
 * message to refuse the request with now, or 0 to go on.
 */
static int
check_head(struct http *h, struct MHD_Connection *c, struct request *rq,
    int bad_target_seen, char *msg, size_t msglen)
{
	struct http_head hd;
	const char *cl;

	memset(&hd, 0, sizeof(hd));
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, add_header, &hd);
	if (bad_target_seen) {
		snprintf(msg, msglen, "the request target holds a NUL byte "
		    "(%%00)");
		return MHD_HTTP_BAD_REQUEST;
	}
	if (http_head_check(&hd, msg, msglen) != 0)
		return MHD_HTTP_BAD_REQUEST;
	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
		snprintf(msg, msglen, "the request body is over 1 MiB");
		return MHD_HTTP_CONTENT_TOO_LARGE;
	}
	if (rq->route == NULL) {
		snprintf(msg, msglen, "no such route");
		return MHD_HTTP_NOT_FOUND;
	}
	if (!(rq->route->flags & HTTP_PUBLIC) && h->token != NULL &&
	    !http_auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), h->token)) {
		snprintf(msg, msglen, "a valid bearer token is needed");
		return MHD_HTTP_UNAUTHORIZED;
	}
	if (!(rq->route->flags & rq->method)) {
		snprintf(msg, msglen, "method not allowed");
		return MHD_HTTP_METHOD_NOT_ALLOWED;
	}
	rq->keep_body = rq->method == HTTP_POST;
	return 0;
}

/* Does the token list s (a header's value) hold tok, in any case? */
static int
has_token(const char *s, const char *tok)
{
	size_t n = strlen(tok);

	while (s != NULL && *s != '\0') {
		s += strspn(s, " \t,");
		if (strncasecmp(s, tok, n) == 0 && strchr(" \t,", s[n]) != NULL)
			return 1;
		s += strcspn(s, ",");
	}
	return 0;
}

/* The Sec-WebSocket-Key of a WebSocket handshake (RFC 6455), or NULL. */
static const char *
websocket_key(struct MHD_Connection *c)
{
	const char *up, *conn, *key;

	up = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_UPGRADE);
	conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONNECTION);
	key = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Sec-WebSocket-Key");
	if (up == NULL || !has_token(up, "websocket") ||
	    !has_token(conn, "upgrade") || key == NULL || *key == '\0')
		return NULL;
	return key;
}

static void
dispatch(struct http *h, struct MHD_Connection *c, const char *url,
    struct request *rq, struct http_reply *r)
{
	const union MHD_ConnectionInfo *ci;
	struct http_req req;
	struct args a;

	if (rq->too_big) {
		http_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
		    "the request body is over 1 MiB");
		return;
	}
	if (__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST) &&
	    !(rq->route->flags & HTTP_PUBLIC)) {
		/* a request on a connection kept open: the drain ends */
		http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting down");
		return;
	}
	if ((rq->route->flags & HTTP_STORE) && atomic_load(&h->l) == NULL) {
		http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "opening the store");
		return;
	}
	memset(&req, 0, sizeof(req));
	a.req = &req;
	a.rc = 0;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, add_arg, &a);
	if (a.rc != 0) {
		http_reply_error(r, MHD_HTTP_BAD_REQUEST, a.rc == -E2BIG ?
		    "too many query parameters" : "a query parameter holds a "
		    "NUL byte");
		return;
	}
	req.method = rq->method;
	req.path = url;
	req.body = buf_str(&rq->body);
	req.body_len = rq->body.len;
	req.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	req.content_encoding = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_ENCODING);
	req.ws_key = websocket_key(c);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	req.fd = ci != NULL ? ci->connect_fd : -1;
	r->status = MHD_HTTP_OK;
	r->content_type = "text/plain; charset=utf-8";
	rq->route->fn(h, &req, r);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	struct http *h = cls;
	struct request *rq = *state;
	struct http_conn *cc;
	struct http_reply r;
	enum MHD_Result ret;
	char msg[128];
	int status, bad = rq == (void *)&bad_target;

	(void)version;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 0);
	if (rq == NULL || bad) {
		rq = xcalloc(1, sizeof(*rq));
		rq->t0 = clock_mono_ns();
		method_of(method, rq);
		rq->route = http_route_find(url);
		buf_init(&rq->body, HTTP_BODY_MAX);
		*state = rq;
		metric_set(h->in_flight_gauge, (double)atomic_fetch_add(
		    &h->in_flight, 1) + 1);
		status = check_head(h, c, rq, bad, msg, sizeof(msg));
		if ((cc = conn_of(c)) != NULL) {
			pthread_mutex_lock(&h->conns_lock);
			cc->head_done = 1;
			if (status != 0)
				unwait(h, cc);	/* answered: not slow */
			pthread_mutex_unlock(&h->conns_lock);
		}
		if (status == 0)
			return MHD_YES;
		http_reply_error(&r, status, msg);
	} else if (*upload_size != 0) {
		rq->body_seen += *upload_size;
		if (rq->keep_body && !rq->too_big &&
		    buf_append(&rq->body, upload, *upload_size) != 0) {
			rq->too_big = 1;
			buf_release(&rq->body);
		}
		*upload_size = 0;
		/*
		 * A body not kept is read to find where the next request
		 * begins, but a chunked one can go on for ever: past this,
		 * the connection is closed without an answer.
		 */
		return rq->body_seen > HTTP_BODY_DRAIN_MAX ? MHD_NO : MHD_YES;
	} else {
		if ((cc = conn_of(c)) != NULL) {
			/* all in: a long poll is not a slow client */
			pthread_mutex_lock(&h->conns_lock);
			unwait(h, cc);
			pthread_mutex_unlock(&h->conns_lock);
		}
		dispatch(h, c, url, rq, &r);
	}
	ret = send_reply(h, c, rq, &r);
	buf_release(&r.body);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **state,
    enum MHD_RequestTerminationCode why)
{
	struct http *h = cls;
	struct request *rq = *state;
	struct http_conn *cc;
	const char *endpoint;
	char status[16];

	(void)why;
	if ((cc = conn_of(c)) != NULL) {
		/* a connection kept open waits for its next request */
		pthread_mutex_lock(&h->conns_lock);
		if (!cc->closing)
			wait_again(h, cc);
		pthread_mutex_unlock(&h->conns_lock);
	}
	if (rq == NULL || rq == (void *)&bad_target)
		return;
	endpoint = rq->route != NULL ? rq->route->path : "other";
	if (rq->status != 0) {
		snprintf(status, sizeof(status), "%d", rq->status);
		metric_add(metric_series(h->requests, rq->method_label, endpoint,
		    status), 1);
	}
	metric_observe(metric_series(h->duration, rq->method_label, endpoint),
	    (double)(clock_mono_ns() - rq->t0) / 1e9);
	metric_set(h->in_flight_gauge, (double)atomic_fetch_sub(
	    &h->in_flight, 1) - 1);
	buf_release(&rq->body);
	free(rq);
	*state = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_info("http: %s", msg);
}

static int
listen_on(const char *spec, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, rc;

	if ((rc = http_parse_listen(spec, &ss)) != 0)
		return rc;
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(-errno, "cannot listen on '%s': %s", spec,
		    strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, SOMAXCONN) != 0) {
		rc = err_set(-errno, "cannot listen on '%s': %s", spec,
		    strerror(errno));
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/*
 * A connection is a descriptor and a thread: let the soft limit of
 * descriptors rise to the hard one, so HTTP_MAX_CONNECTIONS fit beside
 * the store's own.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	rlim_t want = HTTP_MAX_CONNECTIONS + HTTP_CONN_SPARE + 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max ||
	    rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("http: cannot raise the limit of open files: %s",
		    strerror(errno));
}

/* A positive number from the environment, or def. */
static long
env_num(const char *name, long def, long max)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v <= 0 || v > max) {
		log_warn("http: ignoring %s='%s': not from 1 to %ld", name, s,
		    max);
		return def;
	}
	return v;
}

int
http_start(const struct http_options *o, struct logs *l, struct http **out)
{
	struct metrics *m = metrics_global();
	struct metric *closed;
	pthread_condattr_t ca;
	const char *pool;
	struct http *h;
	unsigned limit;
	int rc;

	h = xcalloc(1, sizeof(*h));
	if ((rc = listen_on(o->listen, &h->fd)) != 0) {
		free(h);
		return rc;
	}
	/* smaller, for tests that fill the pool */
	h->max_conns = (unsigned)env_num("SHALE_HTTP_MAX_CONNECTIONS",
	    HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS);
	h->head_timeout_ns = env_num("SHALE_HTTP_HEAD_TIMEOUT_MS",
	    HTTP_HEAD_TIMEOUT_S * 1000L, HTTP_TIMEOUT_S * 1000L) * 1000000LL;
	limit = h->max_conns + HTTP_CONN_SPARE;
	pthread_mutex_init(&h->conns_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->reaper_cond, &ca);
	pthread_condattr_destroy(&ca);
	h->token = o->token != NULL ? xstrdup(o->token) : NULL;
	atomic_init(&h->l, l);
	atomic_init(&h->s, NULL);
	atomic_init(&h->in_flight, 0);
	h->requests = metrics_counter(m, "http_requests_total",
	    "HTTP requests answered, by method, route and status.",
	    "method,endpoint,status");
	h->duration = metrics_histogram(m, "http_request_duration_seconds",
	    "HTTP request latency, from the request line to the reply sent.",
	    "method,endpoint", metrics_latency_bounds, metrics_latency_nbounds);
	h->in_flight_gauge = metric_series(metrics_gauge(m,
	    "http_requests_in_flight", "HTTP requests being served.", NULL));
	closed = metrics_counter(m, "http_connections_closed_total",
	    "HTTP connections closed before their request was all in: "
	    "its head was too slow, or the connections were all taken.",
	    "reason");
	h->dropped_slow = metric_series(closed, "slow_head");
	h->dropped_full = metric_series(closed, "full");
	http_write_register();
	http_loki_push_register();
	raise_fd_limit();
	if ((pool = getenv("SHALE_HTTP_POOL")) != NULL && atoi(pool) > 0) {
		/*
		 * For measurement only: a pool of threads on epoll, where a
		 * long poll or an awaitDurable append holds a pool thread.
		 */
		h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
		    MHD_ALLOW_UPGRADE, 0, NULL,
		    NULL, on_request, h,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(pool),
		    MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		    MHD_OPTION_URI_LOG_CALLBACK, on_target, h,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		    MHD_OPTION_END);
	} else
		h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
		    MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
		    on_request, h,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
		    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK_SIZE,
		    MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		    MHD_OPTION_URI_LOG_CALLBACK, on_target, h,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		    MHD_OPTION_END);
	if (h->d == NULL) {
		rc = err_set(-EIO, "cannot start the HTTP server on '%s'",
		    o->listen);
		goto fail;
	}
	if ((rc = pthread_create(&h->reaper, NULL, reaper_main, h)) != 0) {
		rc = err_set(-rc, "cannot start the HTTP server's reaper: %s",
		    strerror(rc));
		MHD_stop_daemon(h->d);
		goto fail;
	}
	log_info("http: listening on %s%s", o->listen,
	    h->token != NULL ? " (a token is needed)" : "");
	*out = h;
	return 0;
fail:
	close(h->fd);
	pthread_cond_destroy(&h->reaper_cond);
	pthread_mutex_destroy(&h->conns_lock);
	free(h->token);
	free(h);
	return rc;
}

void
http_set_ready(struct http *h, struct logs *l, struct series *s)
{
	if (h == NULL)
		return;
	/* s first: a route that finds l finds s */
	atomic_store(&h->s, s);
	atomic_store(&h->l, l);
}

void
http_stop(struct http *h)
{
	struct logs *l;
	int64_t deadline;
	MHD_socket fd;

	if (h == NULL)
		return;
	/* the socket is ours again, to close once no thread can use it */
	fd = MHD_quiesce_daemon(h->d);
	/* long polls answer with what they have */
	__atomic_store_n(&h->stopping, 1, __ATOMIC_SEQ_CST);
	if ((l = atomic_load(&h->l)) != NULL)
		logs_wake(l);
	deadline = clock_mono_ns() + (int64_t)HTTP_DRAIN_MS * 1000000;
	while (atomic_load(&h->in_flight) > 0 && clock_mono_ns() < deadline)
		clock_sleep_ms(10);
	if (atomic_load(&h->in_flight) > 0)
		log_warn("http: stopping with %d requests unanswered",
		    atomic_load(&h->in_flight));
	/* connections taken over see stopping within their poll */
	while (atomic_load(&h->upgraded) > 0)
		clock_sleep_ms(10);
	pthread_mutex_lock(&h->conns_lock);
	h->reaper_stop = 1;
	pthread_cond_signal(&h->reaper_cond);
	pthread_mutex_unlock(&h->conns_lock);
	pthread_join(h->reaper, NULL);
	MHD_stop_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	pthread_cond_destroy(&h->reaper_cond);
	pthread_mutex_destroy(&h->conns_lock);
	free(h->token);
	free(h);
}
