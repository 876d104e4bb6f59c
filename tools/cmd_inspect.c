/*
 * cmd_inspect.c - 'shale inspect': what a store holds, read from the
 * object store (never written), with the SQLite mirror for SQL.
 *
 *   shale inspect STORE [manifest]     the newest manifest, summarised
 *   shale inspect STORE tables         one line per table
 *   shale inspect STORE wal            the WAL objects past the replay point
 *   shale inspect STORE check          the same as 'shale fsck STORE'
 *                                      (engine/lsm/fsck.c)
 *   shale inspect STORE sql 'SELECT …' bring the mirror up to date with
 *                                      every manifest version, then query it
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/lsm/inspect.h"
#include "tools/cmd.h"
#include "util/error.h"

int
cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cache = NULL, *what;
	struct objstore *os = NULL;
	uint64_t damaged = 0;
	int c, rc, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			cache = optarg;
			break;
		case 'h':
			cmd_usage("inspect", NULL);
			return 0;
		default:
			return cmd_usage("inspect", NULL);
		}
	}
	if (optind >= argc)
		return cmd_usage("inspect", "no store given");
	what = optind + 1 < argc ? argv[optind + 1] : "manifest";
	if (strcmp(what, "sql") == 0 ? optind + 3 != argc : optind + 2 < argc)
		return cmd_usage("inspect", "unexpected arguments");
	if (strcmp(what, "check") != 0 && !inspect_view_known(what))
		return cmd_usage("inspect", "unknown view '%s'", what);
	if ((rc = objstore_open(argv[optind], NULL, &os)) != 0)
		return cmd_fail("%s", err_message(rc));
	if (strcmp(what, "check") == 0)
		ret = cmd_fsck_check(os, 0);
	else if ((rc = inspect_store(os, argv[optind], cache, what,
	    optind + 2 < argc ? argv[optind + 2] : NULL, stdout, stderr,
	    &damaged)) != 0)
		cmd_fail("%s", err_message(rc));
	else
		ret = damaged != 0;
	objstore_close(os);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}
