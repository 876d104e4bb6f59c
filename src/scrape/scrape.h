/*
 * scrape.h - scraping targets as Prometheus does: the scrape_configs of
 * a prometheus.yml, targets from static_configs and file_sd_configs,
 * relabelled (relabel.h), fetched over HTTP(S) at their interval,
 * parsed (expfmt.h) and appended to the store's series (series.h), one
 * batch a scrape, with Prometheus's synthetic series (up,
 * scrape_duration_seconds, ...) and its stale markers. shale-scrape(5)
 * is the user's description; this header is the daemon's.
 *
 * The scraper's life, and who moves between the states:
 *
 *	scrape_config_load() / scrape_config_self(): a checked config
 *	--scrape_start()--> RUNNING: a discovery thread (re-reads
 *	  file_sd_configs at their refresh_interval and starts and ends
 *	  targets) and a thread a target, each scraping at its interval,
 *	  first at an offset given by a hash of the target, as Prometheus
 *	  spreads them
 *	--scrape_stop()--> scrapes in flight are cancelled; every target
 *	  writes stale markers for the series of its last scrape and its
 *	  synthetic ones; the threads are joined and everything freed
 *
 * A target that discovery no longer gives writes its stale markers
 * after two of its intervals and a tenth, as Prometheus does, unless
 * the same target comes back before.
 *
 * Not here: remote write, rules, alerting, service discovery other than
 * files; exemplars and native histograms are not kept.
 *
 * Threading: scrape_start() and scrape_stop() from one thread; the
 * series must stay open until scrape_stop() returns. A config is
 * immutable once loaded; scrape_start() takes it.
 */
#ifndef SHALE_SCRAPE_H
#define SHALE_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

struct scrape_config;
struct scraper;
struct series;

#define SCRAPE_SELF_INTERVAL_MS	15000	/* of the self-scrape */
#define SCRAPE_SELF_JOB		"shale"
#define SCRAPE_BODY_MAX		(256u * 1024 * 1024)	/* bytes of a scrape */

/*
 * Read and check a config file (the scrape part of prometheus.yml;
 * shale-scrape(5)): 0 and *out, or -errno / -EINVAL with err_set()
 * naming the file, the line and what is wrong.
 */
int	scrape_config_load(const char *path, struct scrape_config **out);
/* The same from n bytes of YAML; `name` stands for the file in errors. */
int	scrape_config_parse(const char *yaml, size_t n, const char *name,
	    struct scrape_config **out);
void	scrape_config_free(struct scrape_config *c);
/* Jobs in c. */
size_t	scrape_config_jobs(const struct scrape_config *c);

/*
 * The self-scrape: one job, SCRAPE_SELF_JOB, scraping http://ADDR:PORT
 * /metrics (addr as "ADDR:PORT" or "[ADDR6]:PORT") every interval_ms,
 * with a bearer token if token is not NULL.
 */
struct scrape_config *scrape_config_self(const char *addr, const char *token,
	    int64_t interval_ms);

/*
 * Start scraping into s as c says; the scraper takes c (also on
 * failure). 0, or -errno with err_set().
 */
int	scrape_start(struct series *s, struct scrape_config *c,
	    struct scraper **out);
/* Stop as above and free; NULL is allowed. */
void	scrape_stop(struct scraper *sc);

#endif
