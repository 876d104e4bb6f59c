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

#include <stdatomic.h>
#include <stddef.h>

#include "util/buf.h"

struct http;
struct logs;
struct metric;
struct metric_series;
struct MHD_Daemon;

enum {
	HTTP_GET = 1 << 0,	/* HEAD is answered as GET, without the body */
	HTTP_POST = 1 << 1,
	HTTP_PUBLIC = 1 << 8,	/* route flag: no token needed (the probes) */
};

/* What a handler is given; valid for the call. */
struct http_req {
	unsigned	 method;	/* HTTP_GET or HTTP_POST */
	const char	*path;
	const char	*body;		/* HTTP_BODY_MAX at most */
	size_t		 body_len;
};

/* What it fills in: a status, a body and its type (static strings). */
struct http_reply {
	int		 status;
	const char	*content_type;
	struct buf	 body;
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

struct http {
	struct MHD_Daemon	*d;
	int			 fd;		/* the listening socket */
	char			*token;		/* NULL: no token needed */
	_Atomic(struct logs *)	 l;		/* NULL while the store opens */
	atomic_int		 in_flight;
	struct metric		*requests;	/* http_requests_total */
	struct metric		*duration;	/* http_request_duration_seconds */
	struct metric_series	*in_flight_gauge;
};

/* The route whose path is exactly `path`, or NULL. */
const struct http_route *http_route_find(const char *path);
/*
 * Is `header` (an Authorization header's value, or NULL) "Bearer TOKEN"
 * with this token? Compared in time that depends on the token's length
 * only, never on where the two differ.
 */
int	http_auth_ok(const char *header, const char *token);
/* Fill r with an error: {"status":"error","message":msg}. */
void	http_reply_error(struct http_reply *r, int status, const char *msg);
/* Append the process_* families, read from /proc/self now. */
void	http_render_process(struct buf *out);

#endif
