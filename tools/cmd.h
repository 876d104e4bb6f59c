/*
 * cmd.h - the shale command's subcommands, one file each, registered in
 * cmd_table[] (cmd_table.c). A subcommand gets argv with its own name as
 * argv[0] and returns the process's exit status: 0 success, 1 failure,
 * 2 usage error.
 */
#ifndef SHALE_CMD_H
#define SHALE_CMD_H

#include <sys/types.h>

struct engine_settings;

struct cmd {
	const char	*name;
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line for 'shale help' */
	int		(*run)(int argc, char **argv);
};

extern const struct cmd cmd_table[];

int	cmd_version(int argc, char **argv);
int	cmd_store(int argc, char **argv);
int	cmd_inspect(int argc, char **argv);
int	cmd_bench(int argc, char **argv);
int	cmd_bench_fs(int argc, char **argv);
int	cmd_bench_memfs(int argc, char **argv);
int	cmd_bench_lsm(int argc, char **argv);
int	cmd_bench_series(int argc, char **argv);
int	cmd_bench_query(int argc, char **argv);
int	cmd_bench_logql(int argc, char **argv);
int	cmd_mount(int argc, char **argv);
int	cmd_compact(int argc, char **argv);
int	cmd_fsck(int argc, char **argv);

struct buf;
struct objstore;

/*
 * Check a store as 'shale fsck' does (FSCK_* flags, engine/lsm/fsck.h), the
 * report on standard output; returns the exit status: 0 clean, 1 for a
 * problem or an error of the store (said on standard error).
 */
int	cmd_fsck_check(struct objstore *os, int flags);
int	cmd_gc(int argc, char **argv);
int	cmd_serve(int argc, char **argv);
int	cmd_series(int argc, char **argv);
int	cmd_query(int argc, char **argv);

/*
 * The store a command was given: NULL for the embedded default store (a
 * directory under $XDG_DATA_HOME, made if missing), a bare path for a
 * local directory store, else the URI as it is. 0 and *out (freed by the
 * caller), or 1 having said why.
 */
int	cmd_store_uri(const char *arg, char **out);
/*
 * Check ho->listen and set ho->token: from the token file when given,
 * else $SHALE_HTTP_TOKEN, else none (*token is what to free). 0, or 1
 * having said why.
 */
struct http_options;
int	cmd_http_options(struct http_options *ho, const char *file,
	    char **token);

/*
 * $<var>/shale/<leaf> (var: "XDG_CONFIG_HOME" ...) when the variable holds
 * an absolute path, else ~/<fallback>/shale/<leaf>; freed by the caller.
 */
char	*cmd_xdg_path(const char *var, const char *fallback, const char *leaf);
/*
 * Apply the settings file over *es (which holds the defaults): `config`,
 * or when NULL $XDG_CONFIG_HOME/shale/shale.yaml if it is there, then the
 * SHALE_* variables. 0, or an error with its detail (settings.h).
 */
int	cmd_settings_load(struct engine_settings *es, const char *config);

/* VmRSS and VmHWM of process pid in MiB; left as they were if unreadable. */
void	cmd_proc_mem(pid_t pid, double *rss_mib, double *hwm_mib);

/* Print "shale: " and the message to stderr; returns 1 for 'return fail(...)'. */
int	cmd_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with the usage line of `cmd`; returns 2. */
int	cmd_usage(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
