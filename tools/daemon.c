/*
 * daemon.c - opening a store to serve it and closing it (daemon.h).
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "query/promql.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/error.h"
#include "util/log.h"

void
daemon_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/*
 * Scrape what --scrape-config says; without it, a writer with an
 * endpoint scrapes its own /metrics (unless --no-self-scrape).
 */
static int
start_scrape(struct daemon *d)
{
	struct scrape_config *c = d->scfg;
	int rc;

	d->scfg = NULL;
	if (c == NULL && !d->no_self_scrape && !d->read_only && d->h != NULL)
		c = scrape_config_self(d->ho->listen, d->ho->token,
		    SCRAPE_SELF_INTERVAL_MS);
	if (c == NULL)
		return 0;
	if (d->scrape_config != NULL)
		log_info("scraping %zu job(s) of '%s'", scrape_config_jobs(c),
		    d->scrape_config);
	else
		log_info("scraping our own metrics at '%s' as job '%s'",
		    d->ho->listen, SCRAPE_SELF_JOB);
	if ((rc = scrape_start(d->s, c, &d->sc)) != 0)
		return cmd_fail("cannot start scraping: %s", err_message(rc));
	return 0;
}

/* The series options of the settings. */
void
daemon_series_options(const struct engine_settings *es,
    struct series_options *so)
{
	memset(so, 0, sizeof(*so));
	so->retention_ms = es->series_retention_ms;
	so->max_series = (uint64_t)es->series_max;
	so->out_of_order_window_ms = es->series_ooo_window_ms;
	so->retention_filters = es->series_retention_filters;
}

int
daemon_logs_options(const struct engine_settings *es, struct logs *l)
{
	int rc;

	if ((rc = logs_set_retention(l, es->logs_retention_ms,
	    es->logs_retention_filters)) != 0)
		return rc;
	return logs_set_push_path(l, es->logs_push_path);
}

void
daemon_query_options(const struct engine_settings *es)
{
	struct promql_opts o = { 0 };

	o.timeout_ms = es->query_timeout_ms;
	o.max_samples = (uint64_t)es->query_max_samples;
	o.lookback_ms = es->query_lookback_ms;
	promql_set_defaults(&o);
}

int
daemon_open(struct daemon *d)
{
	struct series_options so;
	int rc;

	engine_settings_default(&d->es);
	if ((rc = cmd_settings_load(&d->es, d->config)) != 0)
		return cmd_fail("%s", err_message(rc));
	daemon_series_options(&d->es, &so);
	daemon_query_options(&d->es);
	/* a mistake in the scrape config is found before any writer is fenced */
	if (d->scrape_config != NULL) {
		if (d->read_only)
			return cmd_fail("--scrape-config needs a writer, not "
			    "--read-only");
		if ((rc = scrape_config_load(d->scrape_config, &d->scfg)) != 0)
			return cmd_fail("%s", err_message(rc));
	}
	if (d->ho != NULL && d->ho->listen != NULL &&
	    (rc = http_start(d->ho, NULL, &d->h)) != 0)
		return cmd_fail("%s", err_message(rc));
	if ((rc = engine_open(d->store, NULL, &d->es, d->read_only ?
	    ENGINE_READER : ENGINE_WRITER, &d->e)) != 0)
		return cmd_fail("cannot open '%s': %s", d->store,
		    err_message(rc));
	if ((rc = logs_open(d->e, &d->l)) != 0)
		return cmd_fail("cannot read the streams of '%s': %s",
		    d->store, err_message(rc));
	if ((rc = daemon_logs_options(&d->es, d->l)) != 0)
		return cmd_fail("%s", err_message(rc));
	if ((rc = series_open(d->e, &so, &d->s)) != 0)
		return cmd_fail("cannot read the series of '%s': %s",
		    d->store, err_message(rc));
	if ((rc = views_open(d->e, &d->v)) != 0)
		return cmd_fail("cannot read the query views of '%s': %s",
		    d->store, err_message(rc));
	http_set_ready(d->h, d->l, d->s);
	return start_scrape(d);
}

void
daemon_stop_http(struct daemon *d)
{
	scrape_stop(d->sc);
	d->sc = NULL;
	http_stop(d->h);
	d->h = NULL;
}

int
daemon_close(struct daemon *d, int ret, const char *done)
{
	int rc;

	daemon_stop_http(d);
	scrape_config_free(d->scfg);
	d->scfg = NULL;
	views_close(d->v);
	d->v = NULL;
	if (d->s != NULL)
		series_close(d->s);
	d->s = NULL;
	logs_close(d->l);
	d->l = NULL;
	if (d->e != NULL) {
		if ((rc = engine_close_within(d->e, d->shutdown_ms)) != 0) {
			log_error("not everything written was stored: %s",
			    err_message(rc));
			ret = 1;
		} else if (ret == 0)
			log_info("%s: everything written is stored", done);
		d->e = NULL;
	}
	engine_settings_release(&d->es);
	return ret;
}
