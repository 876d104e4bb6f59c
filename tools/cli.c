/*
 * cli.c - what the subcommands share: their error and usage messages, the
 * store a command was given, the user's XDG folders, the settings and
 * HTTP options they load, a process's memory (cmd.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/lsm/settings.h"
#include "http/http.h"
#include "tools/cmd.h"
#include "util/error.h"
#include "util/path.h"
#include "util/xmalloc.h"

int
cmd_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("shale: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cmd_usage(const char *name, const char *fmt, ...)
{
	const struct cmd *c;
	va_list ap;

	if (fmt != NULL) {
		fputs("shale: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	for (c = cmd_table; c->name != NULL; c++)
		if (name == NULL || strcmp(c->name, name) == 0)
			fprintf(stderr, "usage: shale %s %s\n", c->name, c->args);
	return 2;
}

int
cmd_http_options(struct http_options *ho, const char *file, char **token)
{
	struct sockaddr_storage ss;
	const char *env = getenv("SHALE_HTTP_TOKEN");
	int rc;

	if ((rc = http_parse_listen(ho->listen, &ss)) != 0)
		return cmd_fail("%s", err_message(rc));
	if (file != NULL && (rc = http_read_token(file, token)) != 0)
		return cmd_fail("%s", err_message(rc));
	if (file == NULL && env != NULL && *env != '\0')
		*token = xstrdup(env);
	ho->token = *token;
	return 0;
}

int
cmd_store_uri(const char *arg, char **out)
{
	char path[PATH_MAX], *dir;
	int rc;

	if (arg == NULL) {
		/* the embedded default store: a directory of the user's */
		dir = cmd_xdg_path("XDG_DATA_HOME", ".local/share", "store");
		if ((rc = path_mkdirs(dir, 0755)) != 0) {
			rc = cmd_fail("%s", err_message(rc));
			free(dir);
			return rc;
		}
		*out = xasprintf("file://%s", dir);
		free(dir);
		return 0;
	}
	if (strstr(arg, "://") != NULL || strchr(arg, ':') != NULL) {
		*out = xstrdup(arg);
		return 0;
	}
	/* a bare path is a local directory store */
	if (realpath(arg, path) == NULL)
		return cmd_fail("cannot use '%s' as a store: %s", arg,
		    strerror(errno));
	*out = xasprintf("file://%s", path);
	return 0;
}

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

void
cmd_proc_mem(pid_t pid, double *rss, double *hwm)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtod(line + 6, NULL) / 1024;
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtod(line + 6, NULL) / 1024;
	fclose(f);
}
