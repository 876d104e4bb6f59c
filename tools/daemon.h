/*
 * daemon.h - what 'shale mount' and 'shale serve' share: opening a store
 * to serve it, with the HTTP endpoint in front, and closing it so that
 * everything acknowledged is stored.
 *
 *	daemon_open():  settings, the scrape config --> http_start()
 *	  (listening; /-/ready 503 "opening the store") --> engine_open()
 *	  --> logs_open() --> series_open() --> views_open()
 *	  --> http_set_ready(): SERVING
 *	  --> scrape_start(): the --scrape-config targets, or else, with an
 *	  endpoint, a writer's own /metrics (the self-scrape)
 *	daemon_stop_http(): scrape_stop() (stale markers written), then no
 *	  new connections, long polls answer with what they have, requests
 *	  in flight finish
 *	daemon_close(): views_close() --> series_close() --> logs_close() -->
 *	  engine_close_within(): store everything acknowledged, for at most
 *	  shutdown_ms
 *
 * daemon_block_signals() first, in the main thread before any other
 * exists, so that only the thread that waits for them takes the stop
 * signals. One thread drives a daemon.
 */
#ifndef SHALE_DAEMON_H
#define SHALE_DAEMON_H

#include <signal.h>
#include <stdint.h>

#include "engine/lsm/engine.h"
#include "http/http.h"
#include "model/logs.h"
#include "model/series.h"
#include "model/views.h"
#include "scrape/scrape.h"

struct daemon {
	/* set by the caller */
	const char	*store;		/* URI */
	const char	*config;	/* settings file; NULL: the user's */
	int		 read_only;	/* a reader following the store's writer */
	int64_t		 shutdown_ms;	/* daemon_close()'s bound */
	const struct http_options *ho;	/* NULL or no listen: no endpoint */
	const char	*scrape_config;	/* --scrape-config; NULL: none */
	int		 no_self_scrape;	/* --no-self-scrape */

	/* set by daemon_open() */
	struct engine_settings es;
	struct engine	*e;
	struct logs	*l;
	struct series	*s;
	struct views	*v;		/* the saved query views */
	struct http	*h;
	struct scrape_config *scfg;	/* loaded, until the scraper takes it */
	struct scraper	*sc;
};

/* Block SIGINT, SIGTERM and SIGHUP in this thread; the set in *set. */
void	daemon_block_signals(sigset_t *set);

/* SERVING as above: 0, or 1 having said why (daemon_close() still due). */
int	daemon_open(struct daemon *d);

/* The series options (series.h) of a store's settings. */
void	daemon_series_options(const struct engine_settings *es,
	    struct series_options *so);
/* The settings' query_options as every PromQL query's defaults. */
void	daemon_query_options(const struct engine_settings *es);
/* The settings' logs_options given to l: 0, or -EINVAL with a detail. */
int	daemon_logs_options(const struct engine_settings *es, struct logs *l);

/*
 * Stop the scraper, then the HTTP endpoint, if any (also done by
 * daemon_close()): the scraper first, so that the self-scrape does not
 * fail on the way down.
 */
void	daemon_stop_http(struct daemon *d);

/*
 * Close what daemon_open() opened, however far it went. `ret` is the exit
 * status so far; returns it, or 1 when not everything written was stored
 * (logged). When everything was and ret is 0, logs `done` (e.g.
 * "stopped").
 */
int	daemon_close(struct daemon *d, int ret, const char *done);

#endif
