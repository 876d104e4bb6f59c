/*
 * cmd_gc.c - 'shale gc [--dry-run] [--config FILE] STORE': delete a
 * store's garbage once (engine/lsm/gc.h), printing each object deleted.
 *
 * Only the object store is opened, never the engine: no writer is fenced,
 * and a writer and readers may run beside it (the rules in gc.h keep what
 * they may still read). Settings as 'shale mount' loads them; the
 * garbage_collector_options min_ages are what matter here.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "engine/lsm/gc.h"
#include "tools/cmd.h"
#include "util/error.h"

static void
print_one(void *arg, const char *key, uint64_t size, const char *why)
{
	const char *verb = arg;

	printf("%s %s %" PRIu64 " %s\n", verb, key, size, why);
}

int
cmd_gc(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct engine_settings es;
	struct objstore *os = NULL;
	struct gc_report r;
	const char *config = NULL, *verb;
	int c, rc, dry_run = 0, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = 1;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			cmd_usage("gc", NULL);
			return 0;
		default:
			return cmd_usage("gc", NULL);
		}
	}
	if (argc - optind != 1)
		return cmd_usage("gc", "expected one STORE");
	engine_settings_default(&es);
	if ((rc = cmd_settings_load(&es, config)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	if ((rc = objstore_open(argv[optind], NULL, &os)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	verb = dry_run ? "would delete" : "delete";
	rc = gc_run(os, &es, 0, NULL, dry_run, print_one, (void *)verb, &r);
	printf("%s %" PRIu64 " manifests, %" PRIu64 " WAL objects, %" PRIu64
	    " tables, %" PRIu64 " bytes; kept %" PRIu64 " too young; %" PRIu64
	    " errors\n", dry_run ? "would delete" : "deleted", r.manifests,
	    r.wals, r.tables, r.bytes, r.kept_young, r.errors);
	if (rc != 0)
		cmd_fail("%s", err_message(rc));
	else
		ret = 0;
out:
	objstore_close(os);
	engine_settings_release(&es);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
