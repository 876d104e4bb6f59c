/*
 * cmd_compact.c - 'shale compact STORE': a full compaction, now.
 *
 * Opens the store as its writer (a running writer is fenced: this is for
 * a store nothing is mounted on), writes what the WAL still holds as
 * tables, merges every table into one sorted run through the log streams'
 * filter (so the records of removed and truncated streams go, and those
 * past their retention, logs_options and user.shale.retention), and says
 * what the store's tables were before and after. The tables it replaced
 * stay until the garbage collector finds them old enough. Settings as
 * for 'shale mount' (cmd_settings_load).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/lsm/engine.h"
#include "engine/lsm/settings.h"
#include "model/logs.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/clock.h"
#include "util/error.h"

static void
shape(const char *when, const struct engine_status *st)
{
	printf("%s: %zu L0 tables, %zu sorted runs of %zu tables, %llu bytes\n",
	    when, st->l0_tables, st->runs, st->run_tables,
	    (unsigned long long)st->table_bytes);
}

int
cmd_compact(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct engine_status st;
	struct engine *e = NULL;
	struct logs *l = NULL;
	const char *config = NULL;
	int64_t t0;
	int c, rc, ret = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			cmd_usage("compact", NULL);
			return 0;
		default:
			return cmd_usage("compact", NULL);
		}
	}
	if (optind != argc - 1)
		return cmd_usage("compact", "one store, please");
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		engine_settings_release(&es);
		return cmd_fail("%s", err_message(rc));
	}
	es.block_cache_prepopulate = 0;	/* nobody reads what it writes here */
	if ((rc = engine_open(argv[optind], NULL, &es, ENGINE_WRITER, &e)) != 0) {
		cmd_fail("cannot open '%s': %s", argv[optind], err_message(rc));
		goto out;
	}
	if ((rc = logs_open(e, &l)) != 0) {
		cmd_fail("cannot read the streams of '%s': %s", argv[optind],
		    err_message(rc));
		goto out;
	}
	if ((rc = daemon_logs_options(&es, l)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	engine_status(e, &st);
	shape("before", &st);
	t0 = clock_mono_ns();
	if ((rc = engine_compact(e)) != 0) {
		cmd_fail("compaction failed: %s", err_message(rc));
		goto out;
	}
	engine_status(e, &st);
	shape("after", &st);
	printf("compacted in %.1f s\n", (double)(clock_mono_ns() - t0) / 1e9);
	ret = 0;
out:
	logs_close(l);
	if (e != NULL && (rc = engine_close(e)) != 0) {
		cmd_fail("cannot close '%s': %s", argv[optind], err_message(rc));
		ret = 1;
	}
	engine_settings_release(&es);
	return ret;
}
