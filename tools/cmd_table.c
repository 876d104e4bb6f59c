/* cmd_table.c - the table of subcommands. */
#include "config.h"

#include <stddef.h>

#include "tools/cmd.h"

const struct cmd cmd_table[] = {
	{ "bench", "engine [--seconds N] [--idle N] [--config FILE] URI...",
	    "measure the engine's writes on one or more stores", cmd_bench },
	{ "inspect", "[--cache-dir DIR] STORE [manifest|tables|wal|check|sql SQL]",
	    "show what a store holds", cmd_inspect },
	{ "store", "put|get|ls|rm|stat|bench [options] URI ...",
	    "read and write objects of a store", cmd_store },
	{ "version", "", "print the version", cmd_version },
	{ NULL, NULL, NULL, NULL }
};
