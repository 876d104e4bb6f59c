/*
 * cmd_fsck.c - 'shale fsck [-v] [--quick] STORE': check a store after an
 * incident. It reads only, and never opens the engine, so it can run
 * beside a writer; engine/lsm/fsck.c does the work. 'shale inspect STORE
 * check' is the same check.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "engine/objstore/objstore.h"
#include "tools/cmd.h"
#include "engine/lsm/fsck.h"
#include "util/error.h"

int
cmd_fsck_check(struct objstore *os, int flags)
{
	uint64_t problems = 0;
	int rc, flushed;

	rc = fsck_store(os, flags, stdout, &problems);
	flushed = fflush(stdout) == 0;
	if (rc != 0)
		return cmd_fail("%s", err_message(rc));
	return problems != 0 || !flushed;
}

int
cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct objstore *os;
	int c, rc, flags = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			flags |= FSCK_QUICK;
			break;
		case 'v':
			flags |= FSCK_VERBOSE;
			break;
		case 'h':
			cmd_usage("fsck", NULL);
			return 0;
		default:
			return cmd_usage("fsck", NULL);
		}
	}
	if (optind >= argc)
		return cmd_usage("fsck", "no store given");
	if (optind + 1 < argc)
		return cmd_usage("fsck", "unexpected arguments");
	if ((rc = objstore_open(argv[optind], NULL, &os)) != 0)
		return cmd_fail("%s", err_message(rc));
	rc = cmd_fsck_check(os, flags);
	objstore_close(os);
	return rc;
}
