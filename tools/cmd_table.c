/* cmd_table.c - the table of subcommands. */
#include "config.h"

#include <stddef.h>

#include "tools/cmd.h"

const struct cmd cmd_table[] = {
	{ "store", "put|get|ls|rm|stat|bench [options] URI ...",
	    "read and write objects of a store", cmd_store },
	{ "version", "", "print the version", cmd_version },
	{ NULL, NULL, NULL, NULL }
};
