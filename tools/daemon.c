/*
 * daemon.c - opening a store to serve it and closing it (daemon.h).
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

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
daemon_open(struct daemon *d)
{
	struct series_options so;
	int rc;

	engine_settings_default(&d->es);
	if ((rc = cmd_settings_load(&d->es, d->config)) != 0)
		return cmd_fail("%s", err_message(rc));
	daemon_series_options(&d->es, &so);
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
	if ((rc = series_open(d->e, &so, &d->s)) != 0)
		return cmd_fail("cannot read the series of '%s': %s",
		    d->store, err_message(rc));
	http_set_ready(d->h, d->l, d->s);
	return 0;
}

void
daemon_stop_http(struct daemon *d)
{
	http_stop(d->h);
	d->h = NULL;
}

int
daemon_close(struct daemon *d, int ret, const char *done)
{
	int rc;

	daemon_stop_http(d);
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
