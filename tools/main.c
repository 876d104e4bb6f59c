/*
 * main.c - the shale command: find the subcommand in cmd_table[] and run it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd.h"
#include "util/log.h"

static void
help(void)
{
	const struct cmd *c;

	printf("usage: shale COMMAND [ARGS]\n\ncommands:\n");
	for (c = cmd_table; c->name != NULL; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\nSee shale(1) and 'shale COMMAND -h'.\n");
}

int
main(int argc, char **argv)
{
	const struct cmd *c;
	const char *lv;
	int l;

	if ((lv = getenv("SHALE_LOG_LEVEL")) != NULL && (l = log_level_parse(lv)) >= 0)
		log_set_level((enum log_level)l);
	if (argc < 2)
		return cmd_usage(NULL, "no command given");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		help();
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(1, argv + 1);
	for (c = cmd_table; c->name != NULL; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	cmd_fail("unknown command '%s' (see 'shale help')", argv[1]);
	return 2;
}
