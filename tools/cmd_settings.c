/*
 * cmd_settings.c - what the subcommands that run the engine share: the
 * user's XDG directories and the engine settings they load.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "engine/lsm/settings.h"
#include "tools/cmd.h"
#include "util/xmalloc.h"

char *
cmd_xdg_path(const char *var, const char *fallback, const char *leaf)
{
	const char *v = getenv(var), *home = getenv("HOME");

	if (v != NULL && v[0] == '/')
		return xasprintf("%s/shale/%s", v, leaf);
	return xasprintf("%s/%s/shale/%s", home != NULL ? home : "/",
	    fallback, leaf);
}

int
cmd_settings_load(struct engine_settings *es, const char *config)
{
	char *conf = NULL;
	int rc;

	if (config == NULL) {
		conf = cmd_xdg_path("XDG_CONFIG_HOME", ".config", "shale.yaml");
		if (access(conf, R_OK) == 0)
			config = conf;
	}
	rc = config != NULL ? engine_settings_load_file(es, config) : 0;
	if (rc == 0)
		rc = engine_settings_load_env(es);
	free(conf);
	return rc;
}
