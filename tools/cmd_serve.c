/*
 * cmd_serve.c - 'shale serve [STORE]': the HTTP endpoint alone, without
 * a mount, for a machine or container that cannot use FUSE. It stays in
 * the foreground and logs to standard error.
 *
 * The states, and who moves between them:
 *
 *	http_start() (listening; /-/ready 503 "opening the store")
 *	  --> engine_open(), logs_open() --> http_set_ready(): SERVING
 *	SERVING --SIGINT/SIGTERM/SIGHUP--> http_stop(): no new connections,
 *	  long polls answer with what they have, requests in flight finish
 *	  --> engine_close_within(): store everything acknowledged, for at
 *	  most --shutdown-timeout --> exit 0 (all stored) or 1 (not)
 *
 * The stop signals stay blocked from start to end and are taken with
 * sigwait(), so one that arrives while storing changes nothing.
 */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lsm/engine.h"
#include "http/http.h"
#include "model/logs.h"
#include "tools/cmd.h"
#include "util/error.h"
#include "util/log.h"

int
cmd_serve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'L' },
		{ "port", required_argument, NULL, 'P' },
		{ "token-file", required_argument, NULL, 'K' },
		{ "shutdown-timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *listen_arg = NULL, *port = NULL;
	const char *token_file = NULL;
	char *listen = NULL, *token = NULL, *store = NULL;
	struct http_options ho;
	struct engine_settings es;
	struct engine *e = NULL;
	struct logs *l = NULL;
	struct http *h = NULL;
	int64_t shutdown_ms = 30000;
	int c, rc, sig, ret = 1, read_only = 0;
	sigset_t set;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			read_only = 1;
			break;
		case 'c':
			config = optarg;
			break;
		case 'L':
			listen_arg = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'K':
			token_file = optarg;
			break;
		case 'T':
			shutdown_ms = (int64_t)(atof(optarg) * 1000);
			if (shutdown_ms <= 0)
				return cmd_usage("serve", "--shutdown-timeout "
				    "must be positive");
			break;
		case 'h':
			cmd_usage("serve", NULL);
			return 0;
		default:
			return cmd_usage("serve", NULL);
		}
	}
	if (argc - optind > 1)
		return cmd_usage("serve", "expected at most one STORE");
	if ((rc = http_listen_spec(listen_arg, port, &listen)) != 0)
		return cmd_usage("serve", "%s", err_message(rc));
	memset(&ho, 0, sizeof(ho));
	ho.listen = listen;
	engine_settings_default(&es);
	if (cmd_http_options(&ho, token_file, &token) != 0 ||
	    cmd_store_uri(argc > optind ? argv[optind] : NULL, &store) != 0)
		goto out;
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}

	/* the stop signals are taken by sigwait() below, by no other thread */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = http_start(&ho, NULL, &h)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	if ((rc = engine_open(store, NULL, &es, read_only ? ENGINE_READER :
	    ENGINE_WRITER, &e)) != 0) {
		cmd_fail("cannot open '%s': %s", store, err_message(rc));
		goto out;
	}
	if ((rc = logs_open(e, &l)) != 0) {
		cmd_fail("cannot read the streams of '%s': %s", store,
		    err_message(rc));
		goto out;
	}
	http_set_ready(h, l);
	log_info("serving '%s'%s", store, read_only ? " read-only" : "");
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
	ret = 0;
out:
	http_stop(h);
	logs_close(l);
	if (e != NULL) {
		if ((rc = engine_close_within(e, shutdown_ms)) != 0) {
			log_error("not everything written was stored: %s",
			    err_message(rc));
			ret = 1;
		} else if (ret == 0)
			log_info("stopped: everything written is stored");
	}
	engine_settings_release(&es);
	free(listen);
	free(token);
	free(store);
	return ret;
}
