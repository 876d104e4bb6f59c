/*
 * http.h - the daemon's HTTP endpoint: Prometheus metrics and the health
 * probes, the log API and the ingest of metric series, over
 * libmicrohttpd. The routes are a table (http_routes.c), one file a
 * family of routes.
 *
 * Lifecycle, and who moves between the states:
 *
 *	http_start() --> OPENING: listening; /-/healthy is 200, /-/ready
 *	  503 "opening the store" while the caller opens the engine
 *	--http_set_ready(h, l, s)--> SERVING: /-/ready asks the engine (fenced?
 *	  is the object store failing?) at every probe
 *	--http_stop()--> no new connections (MHD_quiesce_daemon); requests
 *	  in flight finish, for at most HTTP_DRAIN_MS; then the daemon stops
 *
 * The caller stops the server before it closes `l`, `s` and their engine: a
 * request handler may be using them until http_stop() returns.
 *
 * Threading: each connection has its own thread (a long poll or an
 * append that waits to be stored only holds its own), which inherits the
 * caller's signal mask (start the server with the stop signals blocked).
 * http_set_ready() may be called from any thread.
 */
#ifndef SHALE_HTTP_H
#define SHALE_HTTP_H

#include <stddef.h>

struct http;
struct logs;
struct series;

#define HTTP_MAX_CONNECTIONS	2048	/* a thread each; see http.c for more */
#define HTTP_CONN_SPARE		64	/* accepted past it while others close */
#define HTTP_STACK_SIZE		(512 * 1024)	/* of each connection's thread */
#define HTTP_TIMEOUT_S		30	/* an idle or stalled connection is closed */
#define HTTP_HEAD_TIMEOUT_S	20	/* to send a request's head, however slowly */
#define HTTP_BODY_MAX		(1024 * 1024)	/* a request body past this: 413 */
#define HTTP_BODY_DRAIN_MAX	(4 * HTTP_BODY_MAX)	/* past this: closed */
#define HTTP_DRAIN_MS		5000	/* http_stop waits this long for requests */
#define HTTP_DEFAULT_PORT	"8080"

struct http_options {
	const char	*listen;	/* "ADDR:PORT", "[ADDR6]:PORT" or "PORT" */
	const char	*token;		/* a bearer token every route but the probes needs; NULL for none */
};

/*
 * Parse "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (then 127.0.0.1) into a
 * socket address: 0, or -EINVAL with a detail.
 */
struct sockaddr_storage;
int	http_parse_listen(const char *spec, struct sockaddr_storage *ss);

/*
 * The address to listen on from --listen and --port, either of which may
 * be NULL: --port alone is 127.0.0.1:PORT; --listen is ADDR:PORT,
 * [ADDR6]:PORT or PORT as http_parse_listen() takes it, or an address
 * alone, then on --port or HTTP_DEFAULT_PORT. Both NULL: the default,
 * 127.0.0.1:8080. 0 and *out (freed by the caller), or -EINVAL with a
 * detail (a port given twice, or not a port).
 */
int	http_listen_spec(const char *listen, const char *port, char **out);

/*
 * Read a token file: its first line, without surrounding blanks. 0 and
 * *out (the caller frees it), or -errno / -EINVAL (empty) with a detail.
 */
int	http_read_token(const char *path, char **out);

/*
 * Listen and serve: 0, or -errno with a detail (the address is taken, or
 * not valid). `l` may be NULL: the store is being opened.
 */
int	http_start(const struct http_options *o, struct logs *l,
	    struct http **out);
/*
 * The store is open, its log streams `l` and metric series `s`: /-/ready
 * follows it from now on, and the routes that need the store serve.
 */
void	http_set_ready(struct http *h, struct logs *l, struct series *s);
/* Stop as above and free; NULL is allowed. */
void	http_stop(struct http *h);

#endif
