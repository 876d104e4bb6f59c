/*
 * cmd_serve.c - 'shale serve [STORE]': the HTTP endpoint alone, without
 * a mount, for a machine or container that cannot use FUSE. It stays in
 * the foreground and logs to standard error.
 *
 * The states, and who moves between them:
 *
 *	daemon_open() (daemon.h) --> SERVING
 *	SERVING --SIGINT/SIGTERM/SIGHUP--> daemon_close(): the endpoint
 *	  stops, then everything acknowledged is stored, for at most
 *	  --shutdown-timeout --> exit 0 (all stored) or 1 (not)
 *
 * The stop signals stay blocked from start to end and are taken with
 * sigwait(), so one that arrives while storing changes nothing.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd.h"
#include "tools/daemon.h"
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
		{ "scrape-config", required_argument, NULL, 'C' },
		{ "no-self-scrape", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *listen_arg = NULL, *port = NULL, *token_file = NULL;
	char *listen = NULL, *token = NULL, *store = NULL;
	struct http_options ho;
	struct daemon d;
	int c, rc, sig, ret = 1;
	sigset_t set;

	memset(&d, 0, sizeof(d));
	d.shutdown_ms = 30000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			d.read_only = 1;
			break;
		case 'c':
			d.config = optarg;
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
			d.shutdown_ms = (int64_t)(atof(optarg) * 1000);
			if (d.shutdown_ms <= 0)
				return cmd_usage("serve", "--shutdown-timeout "
				    "must be positive");
			break;
		case 'C':
			d.scrape_config = optarg;
			break;
		case 'N':
			d.no_self_scrape = 1;
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
	if (cmd_http_options(&ho, token_file, &token) != 0 ||
	    cmd_store_uri(argc > optind ? argv[optind] : NULL, &store) != 0)
		goto out;
	d.store = store;
	d.ho = &ho;

	/* the stop signals are taken by sigwait() below, by no other thread */
	daemon_block_signals(&set);
	if (daemon_open(&d) != 0)
		goto out;
	log_info("serving '%s'%s", store, d.read_only ? " read-only" : "");
	while (sigwait(&set, &sig) != 0)
		;
	log_info("signal %d: stopping", sig);
	ret = 0;
out:
	ret = daemon_close(&d, ret, "stopped");
	free(listen);
	free(token);
	free(store);
	return ret;
}
