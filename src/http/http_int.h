/*
 * http_int.h - what the server (http.c) and the routes (http_routes.c)
 * share. A route is one entry of http_routes[]: an exact path, the
 * methods it answers and a handler that fills a struct http_reply. The
 * server does everything around it: the route and method lookup (404,
 * 405 with Allow), the bearer token (401), the body limit (413), the
 * http_* metrics, and sending the reply.
 */
#ifndef SHALE_HTTP_INT_H
#define SHALE_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct http;
struct logs;
struct series;
struct metric;
struct metric_series;
struct MHD_Daemon;

enum {
	HTTP_GET = 1 << 0,	/* HEAD is answered as GET, without the body */
	HTTP_POST = 1 << 1,
	HTTP_PUBLIC = 1 << 8,	/* route flag: no token needed (the probes) */
	HTTP_STORE = 1 << 9,	/* route flag: 503 until the store is open */
};

#define HTTP_ARGS_MAX	16	/* query parameters looked at; more: 400 */

struct http_arg {
	const char	*name;
	const char	*value;		/* NULL for "?name" without '=' */
};

/* What a handler is given; valid for the call. */
struct http_req {
	unsigned	 method;	/* HTTP_GET or HTTP_POST */
	const char	*path;
	const char	*body;		/* HTTP_BODY_MAX at most */
	size_t		 body_len;
	struct http_arg	 args[HTTP_ARGS_MAX];	/* the query, decoded */
	size_t		 nargs;
	const char	*content_type;		/* the header's value, or NULL */
	const char	*content_encoding;	/* the header's value, or NULL */
	int		 fd;		/* the client's socket (to poll), or -1 */
	const char	*ws_key;	/* Sec-WebSocket-Key of an Upgrade: websocket */
};

#define HTTP_REPLY_HEADERS_MAX	4

/* A header of the reply: a static name, a short value of its own. */
struct http_header {
	const char	*name;
	char		 value[64];
};

/*
 * A reply that takes the connection over (status 101, a WebSocket): fn
 * runs on a thread of its own with the socket and the bytes the client
 * sent after its request, until the client goes or the server stops
 * (http->stopping); the server closes the socket after it and frees arg
 * with done. done alone is called when the upgrade does not happen.
 */
typedef void (*http_upgrade_fn)(struct http *h, void *arg, int fd,
	    const char *extra, size_t extra_len);

/*
 * What it fills in: a status, a body and its type (static strings), and
 * headers of its own (http_reply_header()); or an upgrade.
 */
struct http_reply {
	int		 status;
	const char	*content_type;
	struct buf	 body;
	struct http_header headers[HTTP_REPLY_HEADERS_MAX];
	size_t		 nheaders;
	http_upgrade_fn	 upgrade;
	void		*upgrade_arg;
	void		(*upgrade_done)(void *arg);
};

typedef void (*http_route_fn)(struct http *h, const struct http_req *req,
	    struct http_reply *r);

struct http_route {
	const char	*path;		/* also the 'endpoint' label of the metrics */
	unsigned	 flags;		/* HTTP_GET, HTTP_POST, HTTP_PUBLIC */
	http_route_fn	 fn;
};

extern const struct http_route http_routes[];
extern const size_t http_nroutes;
extern const struct http_route http_read_routes[];	/* http_read.c */
extern const size_t http_read_nroutes;
extern const struct http_route http_log_routes[];	/* http_log.c */
extern const size_t http_log_nroutes;
extern const struct http_route http_write_routes[];	/* http_write.c */
extern const size_t http_write_nroutes;
extern const struct http_route http_loki_routes[];	/* http_loki.c */
extern const size_t http_loki_nroutes;
/* The routes of http_query.c, in http_routes[]. */
void	http_route_format_query(struct http *h, const struct http_req *req,
	    struct http_reply *r);
void	http_route_parse_query(struct http *h, const struct http_req *req,
	    struct http_reply *r);
void	http_route_query(struct http *h, const struct http_req *req,
	    struct http_reply *r);
void	http_route_query_range(struct http *h, const struct http_req *req,
	    struct http_reply *r);
void	http_route_query_exemplars(struct http *h, const struct http_req *req,
	    struct http_reply *r);
/* POST /loki/api/v1/push (http_loki_push.c), in http_routes[]. */
void	http_route_loki_push(struct http *h, const struct http_req *req,
	    struct http_reply *r);
/* Register the loki_push_* metrics (http_loki_push.c); once is enough. */
void	http_loki_push_register(void);
/* Register the remote_write_* metrics (http_write.c); once is enough. */
void	http_write_register(void);

struct http_conn;

struct http {
	struct MHD_Daemon	*d;
	int			 fd;		/* the listening socket */
	char			*token;		/* NULL: no token needed */
	_Atomic(struct logs *)	 l;		/* NULL while the store opens */
	_Atomic(struct series *) s;		/* set with l */
	int			 stopping;	/* atomic: long polls end now */
	atomic_int		 in_flight;
	atomic_int		 upgraded;	/* connections taken over, running */
	struct metric		*requests;	/* http_requests_total */
	struct metric		*duration;	/* http_request_duration_seconds */
	struct metric_series	*in_flight_gauge;
	struct metric_series	*dropped_slow;	/* http_connections_closed_total */
	struct metric_series	*dropped_full;

	/* the connections (http.c); set at start, then under conns_lock */
	unsigned		 max_conns;
	int64_t			 head_timeout_ns;
	pthread_mutex_t		 conns_lock;
	struct http_conn	*wait_head;	/* request not all in, oldest first */
	struct http_conn	*wait_tail;
	unsigned		 nconns;	/* open */
	unsigned		 nclosing;	/* of which shut down by us */
	pthread_cond_t		 reaper_cond;
	int			 reaper_stop;
	pthread_t		 reaper;
};

/*
 * The route whose path is `path`, or NULL. A route's path may hold
 * segments ":name", each matching one segment of any non-empty text
 * (/api/v1/label/:name/values); the handler reads it from req->path.
 */
const struct http_route *http_route_find(const char *path);
/*
 * Is `header` (an Authorization header's value, or NULL) "Bearer TOKEN"
 * with this token? Compared in time that depends on the token's length
 * only, never on where the two differ.
 */
int	http_auth_ok(const char *header, const char *token);
/*
 * The checks of a request's head (http.c), apart for the fuzz harness.
 *
 * The raw request target, before libmicrohttpd decodes it: -EINVAL if it
 * holds "%00", a NUL that would cut the path or a value short.
 */
int	http_target_check(const char *target);

/* The headers, one http_head_add() each as libmicrohttpd gives them. */
struct http_head {
	const char	*cl;		/* the first Content-Length */
	size_t		 cllen;
	unsigned	 ncl, nte;	/* Content-Length, Transfer-Encoding seen */
	int		 cl_conflict;	/* two Content-Lengths differ */
	int		 te_other;	/* a Transfer-Encoding not "chunked" */
	int		 nul;		/* a NUL in a name or value */
};
void	http_head_add(struct http_head *hd, const char *name, size_t nlen,
	    const char *value, size_t vlen);
/*
 * 0, or -EINVAL and why in msg: a NUL in a header, two Content-Lengths
 * that differ, Content-Length with Transfer-Encoding, a Transfer-Encoding
 * other than one "chunked". Either would let a proxy in front of us see
 * other requests in the same bytes than we do.
 */
int	http_head_check(const struct http_head *hd, char *msg, size_t msglen);
/*
 * Add a decoded query parameter to req (name and value stay the
 * caller's): 0, -EINVAL (a NUL in it), -E2BIG (past HTTP_ARGS_MAX).
 */
int	http_req_add_arg(struct http_req *req, const char *name, size_t nlen,
	    const char *value, size_t vlen);

/* Fill r with an error: {"status":"error","message":msg}. */
void	http_reply_error(struct http_reply *r, int status, const char *msg);
/* Add a header to the reply (name static; past HTTP_REPLY_HEADERS_MAX: BUG). */
void	http_reply_header(struct http_reply *r, const char *name,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append the process_* families, read from /proc/self now. */
void	http_render_process(struct buf *out);

/* ---- the log API's parsing (http_log.c), apart for the fuzz harness ---- */

/* The value of query parameter `name` ("" for a bare "?name"), or NULL. */
const char *http_arg(const struct http_req *req, const char *name);
/* Decimal digits only, no sign, no overflow: 0 or -EINVAL. */
int	http_parse_u64(const char *s, uint64_t *v);
/* true/false/1/0, or "" (a bare "?follow") for true: 0 or -EINVAL. */
int	http_parse_bool(const char *s, int *v);
/*
 * A time as Prometheus takes one (http_read.c): unix seconds with
 * decimals (rounded to the millisecond), RFC 3339 (cut to the
 * millisecond), or the minimum and maximum times Prometheus's clients
 * send back. 0 and *ms, or -EINVAL.
 */
int	http_parse_time(const char *s, int64_t *ms);
/* Paths in the order /api/v1/log/keys lists them (depth first). */
int	http_path_cmp(const char *a, const char *b);
/*
 * Append "FIELD":"KEY" to out, or "FIELDBase64":"..." (the standard
 * alphabet, padded) when the key's bytes are not UTF-8, which a JSON
 * string cannot hold.
 */
void	http_json_key(struct buf *out, const char *field, const char *s,
	    size_t len);

/* The parameters of keys; release after_buf. */
struct http_keys {
	const char	*prefix;	/* "" for all */
	const char	*after;		/* NULL: from the first key */
	uint64_t	 limit;
	struct buf	 after_buf;	/* after_base64, decoded */
};
int	http_parse_keys(const struct http_req *req, struct http_keys *k,
	    char *msg, size_t msglen);

struct http_record {
	char		*key;		/* a stream's path, checked */
	size_t		 klen;
	struct buf	 value;		/* decoded, ending in '\n' */
};

struct http_append {
	struct http_record *v;
	size_t		 n;
	int		 await_durable;
};

/*
 * An append's body: {"records":[{"key":K,"value":B64}...],
 * "awaitDurable":bool}, or (with ?key=) text. 0 and *a, which the caller
 * releases; or -EINVAL and a one-line reason in msg, *a empty.
 */
int	http_parse_append_json(const char *body, size_t len,
	    struct http_append *a, char *msg, size_t msglen);
int	http_parse_append_text(const char *key, const char *body, size_t len,
	    struct http_append *a, char *msg, size_t msglen);
void	http_append_release(struct http_append *a);

/* The parameters of scan and count. */
struct http_range {
	const char	*key;
	uint64_t	 start, end, limit, timeout_ms;
	int		 follow;
};
int	http_parse_range(const struct http_req *req, struct http_range *g,
	    char *msg, size_t msglen);

/* ---- Loki's parameters (http_loki.c), apart for the tests ---- */

struct selector;
/*
 * A time as Loki reads one: float seconds (with a '.', rounded to the
 * millisecond), integer seconds (at most ten characters) or nanoseconds,
 * or RFC 3339 with up to nine digits of fraction; NULL is def. 0 and
 * *ns, or -EINVAL with Go's message appended to msg.
 */
int	http_loki_time(const char *v, int64_t def, int64_t *ns, struct buf *msg);
/* Float seconds or a Prometheus duration ("100ms"): 0 and *ns, or -EINVAL. */
int	http_loki_duration(const char *v, int64_t *ns, struct buf *msg);
/*
 * The stream selectors of LogQL text, every {...} outside a string:
 * 0 and *out (n of them, the caller frees each and the array), or
 * -EINVAL with err_set().
 */
int	http_loki_selectors(const char *q, struct selector ***out, size_t *n);

#endif
