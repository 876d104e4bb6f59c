/*
 * http.c - the HTTP server: libmicrohttpd with a thread per connection,
 * and everything a route does not do itself (see http_int.h).
 *
 * A request is seen by on_request() several times: first with no state
 * (make a struct request, find the route, check Content-Length), then
 * once per piece of body (kept up to HTTP_BODY_MAX), then a last time
 * with no body left, when the reply is made and queued. on_completed()
 * is called once the reply is sent or the connection dropped: it counts
 * the request in the http_* metrics and frees the state.
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
	int			 too_big;
	int			 status;	/* 0 until a reply is queued */
	int			 stopping;	/* the reply closes the connection */
};

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

static enum MHD_Result
send_reply(struct http *h, struct MHD_Connection *c, struct request *rq,
    struct http_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char allow[32];
	size_t len;
	char *body;

	body = buf_detach(&r->body, &len);
	rq->stopping = __atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST);
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
	rq->status = r->status;
	ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *name,
    const char *value)
{
	struct http_req *req = cls;

	(void)kind;
	if (req->nargs == HTTP_ARGS_MAX) {
		req->nargs++;	/* too many: told apart by the count */
		return MHD_NO;
	}
	req->args[req->nargs].name = name;
	req->args[req->nargs].value = value;
	req->nargs++;
	return MHD_YES;
}

static void
dispatch(struct http *h, struct MHD_Connection *c, const char *url,
    struct request *rq, struct http_reply *r)
{
	struct http_req req;

	if (rq->too_big) {
		http_reply_error(r, 413,
		    "the request body is over 1 MiB");
		return;
	}
	if (__atomic_load_n(&h->stopping, __ATOMIC_SEQ_CST) && (rq->route ==
	    NULL || !(rq->route->flags & HTTP_PUBLIC))) {
		/* a request on a connection kept open: the drain ends */
		http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "shutting down");
		return;
	}
	if (rq->route == NULL) {
		http_reply_error(r, MHD_HTTP_NOT_FOUND, "no such route");
		return;
	}
	if (!(rq->route->flags & HTTP_PUBLIC) && h->token != NULL &&
	    !http_auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), h->token)) {
		http_reply_error(r, MHD_HTTP_UNAUTHORIZED,
		    "a valid bearer token is needed");
		return;
	}
	if (!(rq->route->flags & rq->method)) {
		http_reply_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed");
		return;
	}
	if ((rq->route->flags & HTTP_STORE) && atomic_load(&h->l) == NULL) {
		http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "opening the store");
		return;
	}
	memset(&req, 0, sizeof(req));
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &req);
	if (req.nargs > HTTP_ARGS_MAX) {
		http_reply_error(r, MHD_HTTP_BAD_REQUEST,
		    "too many query parameters");
		return;
	}
	req.method = rq->method;
	req.path = url;
	req.body = buf_str(&rq->body);
	req.body_len = rq->body.len;
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
	struct http_reply r;
	const char *cl;
	enum MHD_Result ret;

	(void)version;
	buf_init(&r.body, 0);
	if (rq == NULL) {
		rq = xcalloc(1, sizeof(*rq));
		rq->t0 = clock_mono_ns();
		method_of(method, rq);
		rq->route = http_route_find(url);
		buf_init(&rq->body, HTTP_BODY_MAX);
		*state = rq;
		metric_set(h->in_flight_gauge, (double)atomic_fetch_add(
		    &h->in_flight, 1) + 1);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl == NULL || strtoull(cl, NULL, 10) <= HTTP_BODY_MAX)
			return MHD_YES;
		rq->too_big = 1;
	} else if (*upload_size != 0) {
		if (!rq->too_big &&
		    buf_append(&rq->body, upload, *upload_size) != 0) {
			rq->too_big = 1;
			buf_release(&rq->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	dispatch(h, c, url, rq, &r);
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
	const char *endpoint;
	char status[16];

	(void)c;
	(void)why;
	if (rq == NULL)
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

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max ||
	    rl.rlim_cur >= HTTP_MAX_CONNECTIONS + 1024)
		return;
	rl.rlim_cur = rl.rlim_max < HTTP_MAX_CONNECTIONS + 1024 ?
	    rl.rlim_max : HTTP_MAX_CONNECTIONS + 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("http: cannot raise the limit of open files: %s",
		    strerror(errno));
}

int
http_start(const struct http_options *o, struct logs *l, struct http **out)
{
	struct metrics *m = metrics_global();
	const char *pool;
	struct http *h;
	int rc;

	h = xcalloc(1, sizeof(*h));
	if ((rc = listen_on(o->listen, &h->fd)) != 0) {
		free(h);
		return rc;
	}
	h->token = o->token != NULL ? xstrdup(o->token) : NULL;
	atomic_init(&h->l, l);
	atomic_init(&h->in_flight, 0);
	h->requests = metrics_counter(m, "http_requests_total",
	    "HTTP requests answered, by method, route and status.",
	    "method,endpoint,status");
	h->duration = metrics_histogram(m, "http_request_duration_seconds",
	    "HTTP request latency, from the request line to the reply sent.",
	    "method,endpoint", metrics_latency_bounds, metrics_latency_nbounds);
	h->in_flight_gauge = metric_series(metrics_gauge(m,
	    "http_requests_in_flight", "HTTP requests being served.", NULL));
	raise_fd_limit();
	if ((pool = getenv("SHALE_HTTP_POOL")) != NULL && atoi(pool) > 0) {
		/*
		 * For measurement only: a pool of threads on epoll, where a
		 * long poll or an awaitDurable append holds a pool thread.
		 */
		h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL,
		    NULL, on_request, h,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(pool),
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		    MHD_OPTION_END);
	} else
		h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
		    MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
		    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK_SIZE,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		    MHD_OPTION_END);
	if (h->d == NULL) {
		rc = err_set(-EIO, "cannot start the HTTP server on '%s'",
		    o->listen);
		close(h->fd);
		free(h->token);
		free(h);
		return rc;
	}
	log_info("http: listening on %s%s", o->listen,
	    h->token != NULL ? " (a token is needed)" : "");
	*out = h;
	return 0;
}

void
http_set_ready(struct http *h, struct logs *l)
{
	if (h != NULL)
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
	MHD_stop_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	free(h->token);
	free(h);
}
