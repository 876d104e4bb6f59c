/*
 * cmd_mount.c - 'shale mount [STORE] MOUNTPOINT': open the store, mount
 * the file system and serve it until it is unmounted or signalled.
 *
 * Without -f the command returns once the mount is usable: it forks
 * first (before any thread exists), the child opens the store and
 * mounts, and tells the parent over a pipe whether it worked; errors are
 * printed by the child while its stderr is still the terminal. After
 * that the daemon's log goes to --log-file.
 *
 * With --listen the HTTP endpoint (src/http/) starts before the store is
 * opened, so that /-/ready can say "opening the store" meanwhile (a long
 * WAL replay), and is told when the store is open (http_set_ready).
 *
 * Shutdown (the states, and who moves between them):
 *
 *	SERVING --SIGINT/SIGTERM/SIGHUP, or unmounted--> fs_run() returns
 *	  --> http_stop(): no new connections, requests in flight finish
 *	  --> fs_free(): unmount, commit every partial line still held
 *	  --> engine_close_within(): store everything written, for at most
 *	      --shutdown-timeout --> exit 0 (all stored) or 1 (not)
 *
 * A signal that arrives after SERVING only logs that the daemon is still
 * storing: writes already acknowledged are never given up on a signal
 * (SIGKILL is the way to abandon them).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/fs.h"
#include "tools/cmd.h"
#include "tools/daemon.h"
#include "util/error.h"
#include "util/log.h"
#include "util/path.h"
#include "util/xmalloc.h"

struct mount_args {
	const char	*store;
	const char	*mountpoint;
	const char	*config;
	const char	*log_file;
	int		 foreground;
	int64_t		 shutdown_ms;
	struct http_options ho;		/* ho.listen NULL: no HTTP endpoint */
	const char	*scrape_config;	/* --scrape-config */
	int		 no_self_scrape;
	struct fs_options fo;
	char		*fuse_opts;	/* what -o had that is not ours */
};

/*
 * Split -o: ours (ro, rw, sync, async, page_cache, direct_io) are taken,
 * the rest go to FUSE.
 */
static void
parse_o(struct mount_args *a, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL;
	struct buf rest;

	buf_init(&rest, 0);
	if (a->fuse_opts != NULL)
		buf_puts(&rest, a->fuse_opts);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "ro") == 0)
			a->fo.read_only = 1;
		else if (strcmp(tok, "rw") == 0)
			a->fo.read_only = 0;
		else if (strcmp(tok, "sync") == 0)
			a->fo.sync = 1;
		else if (strcmp(tok, "async") == 0)
			a->fo.sync = 0;
		else if (strcmp(tok, "page_cache") == 0)
			a->fo.page_cache = 1;
		else if (strcmp(tok, "direct_io") == 0)
			a->fo.page_cache = 0;
		else {
			if (rest.len > 0)
				buf_putc(&rest, ',');
			buf_puts(&rest, tok);
		}
	}
	free(a->fuse_opts);
	a->fuse_opts = rest.len > 0 ? buf_detach(&rest, NULL) : NULL;
	buf_release(&rest);
	free(copy);
}

/* Is `path` mounted now, and with which file system type? */
static int
mounted_as(const char *path, char *type, size_t tlen)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char line[4096], dev[1024], dir[2048], fstype[256];
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%1023s %2047s %255s", dev, dir, fstype) != 3)
			continue;
		if (strcmp(dir, path) == 0) {
			found = 1;
			snprintf(type, tlen, "%s", fstype);
		}
	}
	fclose(f);
	return found;
}

static int
run_wait(char *const argv[])
{
	pid_t pid;
	int status;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Is the file system mounted on `mnt` served by a live daemon? stat(2)
 * cannot tell: the kernel answers it from its attribute cache
 * (attr_timeout) without asking the daemon. statfs(2) always reaches the
 * daemon, and fails with ENOTCONN at once when the daemon has exited (its
 * /dev/fuse descriptor closed, the connection aborted), also while the
 * killed process is still being torn down: the request waits for the
 * abort. A daemon that is alive answers it.
 */
static int
mount_is_stale(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) != 0 &&
	    (errno == ENOTCONN || errno == ECONNABORTED);
}

/*
 * A mount point whose daemon died answers every call that reaches it
 * with ENOTCONN ("Transport endpoint is not connected"): unmount it, and
 * say so. This is what a supervisor restarting a killed daemon at once
 * (systemd's Restart=, a container restart) relies on.
 */
static int
check_mountpoint(const char *mnt)
{
	char type[256], abs[PATH_MAX];
	const char *path = mnt;
	struct stat st;

	if (realpath(mnt, abs) != NULL)
		path = abs;
	if (mount_is_stale(mnt)) {
		char fm[] = "fusermount3", u[] = "-u", z[] = "-z";
		char *copy = xstrdup(path);
		char *argv[] = { fm, u, z, copy, NULL };
		int rc = run_wait(argv);

		free(copy);
		if (rc != 0 && umount2(path, MNT_DETACH) != 0)
			return cmd_fail("'%s' is a stale mount (its daemon has "
			    "exited) and cannot be unmounted: %s", mnt,
			    strerror(errno));
		fprintf(stderr, "shale: '%s' was a stale mount (its daemon "
		    "had exited): unmounted it\n", mnt);
		if (realpath(mnt, abs) != NULL)
			path = abs;
	}
	if (stat(mnt, &st) != 0)
		return cmd_fail("cannot use '%s' as a mount point: %s", mnt,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cmd_fail("cannot use '%s' as a mount point: not a "
		    "directory", mnt);
	if (mounted_as(path, type, sizeof(type)) &&
	    strcmp(type, "fuse.shale") == 0)
		return cmd_fail("'%s' is already a shale mount (unmount it "
		    "first: fusermount3 -u %s)", mnt, mnt);
	return 0;
}

static void
still_storing(int sig)
{
	static const char msg[] = "shale: still storing what was written; "
	    "it is not given up on a signal (SIGKILL abandons it)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		return;
}

/* Tell the waiting parent how the start went; then become a daemon. */
static void
detach(int fd, int ok, const char *log_file)
{
	char c = ok ? '0' : '1';
	int nul, lfd;

	if (fd < 0)
		return;
	if (write(fd, &c, 1) != 1)
		log_warn("cannot tell the parent process: %s", strerror(errno));
	close(fd);
	if (!ok)
		return;
	if ((nul = open("/dev/null", O_RDWR)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	if ((lfd = open(log_file, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(lfd, 2);
		if (lfd > 2)
			close(lfd);
	}
	if (chdir("/") != 0)
		log_warn("cannot change to '/': %s", strerror(errno));
}

static int
serve(struct mount_args *a, int notify_fd)
{
	struct daemon d;
	struct fs *fs = NULL;
	struct sigaction sa;
	char done[PATH_MAX + 16];
	sigset_t set;
	int rc, ret = 1;

	/* no thread but the serving ones may take a stop signal (fs_run) */
	daemon_block_signals(&set);
	memset(&d, 0, sizeof(d));
	d.store = a->store;
	d.config = a->config;
	d.read_only = a->fo.read_only;
	d.shutdown_ms = a->shutdown_ms;
	d.ho = &a->ho;
	d.scrape_config = a->scrape_config;
	d.no_self_scrape = a->no_self_scrape;
	/* a mistake in the FUSE options is found before any writer is fenced */
	a->fo.fuse_opts = a->fuse_opts;
	if ((rc = fs_new(&a->fo, &fs)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	if (daemon_open(&d) != 0)
		goto out;
	fs_set_views(fs, d.v);
	if ((rc = fs_mount(fs, d.l, d.s)) != 0) {
		cmd_fail("%s", err_message(rc));
		goto out;
	}
	detach(notify_fd, 1, a->log_file);
	notify_fd = -1;
	log_info("mounted '%s' on '%s'%s", a->store, a->mountpoint,
	    a->fo.read_only ? " read-only" : "");
	if ((rc = fs_run(fs)) != 0)
		log_error("%s", err_message(rc));
	daemon_stop_http(&d);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = still_storing;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	fs_free(fs);
	fs = NULL;
	ret = 0;
out:
	daemon_stop_http(&d);
	fs_free(fs);
	snprintf(done, sizeof(done), "unmounted '%s'", a->mountpoint);
	ret = daemon_close(&d, ret, done);
	detach(notify_fd, 0, NULL);
	return ret;
}

static int
http_token(struct mount_args *a, const char *file, char **token)
{
	if (a->ho.listen == NULL) {
		if (file != NULL)
			return cmd_usage("mount", "--token-file needs --listen "
			    "or --port");
		return 0;
	}
	return cmd_http_options(&a->ho, file, token);
}

int
cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "read-only", no_argument, NULL, 'r' },
		{ "sync", no_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "attr-timeout", required_argument, NULL, 'A' },
		{ "entry-timeout", required_argument, NULL, 'E' },
		{ "shutdown-timeout", required_argument, NULL, 'T' },
		{ "listen", required_argument, NULL, 'L' },
		{ "port", required_argument, NULL, 'P' },
		{ "token-file", required_argument, NULL, 'K' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "scrape-config", required_argument, NULL, 'C' },
		{ "no-self-scrape", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mount_args a;
	char mnt[PATH_MAX], *store = NULL;
	char *logdir = NULL, *token = NULL, *listen = NULL;
	const char *token_file = NULL, *listen_arg = NULL, *port = NULL;
	int c, fds[2], ret, log_given = 0;
	pid_t pid;
	char status;

	memset(&a, 0, sizeof(a));
	fs_options_default(&a.fo);
	a.shutdown_ms = 30000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a.foreground = 1;
			break;
		case 'o':
			parse_o(&a, optarg);
			break;
		case 'r':
			a.fo.read_only = 1;
			break;
		case 'S':
			a.fo.sync = 1;
			break;
		case 'c':
			a.config = optarg;
			break;
		case 'l':
			a.log_file = optarg;
			log_given = 1;
			break;
		case 'A':
			a.fo.attr_timeout = atof(optarg);
			break;
		case 'E':
			a.fo.entry_timeout = atof(optarg);
			break;
		case 'T':
			a.shutdown_ms = (int64_t)(atof(optarg) * 1000);
			break;
		case 'L':
			listen_arg = optarg;
			break;
		case 'P':
			port = optarg;
			break;
		case 'K':
			token_file = optarg;
			break;
		case 'C':
			a.scrape_config = optarg;
			break;
		case 'N':
			a.no_self_scrape = 1;
			break;
		case 'h':
			cmd_usage("mount", NULL);
			free(a.fuse_opts);
			return 0;
		default:
			free(a.fuse_opts);
			return cmd_usage("mount", NULL);
		}
	}
	if (a.fo.attr_timeout < 0 || a.fo.entry_timeout < 0 || a.shutdown_ms <= 0) {
		free(a.fuse_opts);
		return cmd_usage("mount", "timeouts must be positive");
	}
	/* an endpoint only when asked: mounts run side by side */
	if ((listen_arg != NULL || port != NULL) &&
	    (ret = http_listen_spec(listen_arg, port, &listen)) != 0) {
		ret = cmd_usage("mount", "%s", err_message(ret));
		goto out;
	}
	a.ho.listen = listen;
	if ((ret = http_token(&a, token_file, &token)) != 0)
		goto out;
	if (argc - optind != 1 && argc - optind != 2) {
		free(a.fuse_opts);
		free(listen);
		return cmd_usage("mount", "expected [STORE] MOUNTPOINT");
	}
	if ((ret = cmd_store_uri(argc - optind == 2 ? argv[optind] : NULL,
	    &store)) != 0)
		goto out;
	a.store = store;
	a.mountpoint = argv[argc - 1];
	if ((ret = check_mountpoint(a.mountpoint)) != 0)
		goto out;
	if (realpath(a.mountpoint, mnt) == NULL) {
		ret = cmd_fail("cannot use '%s' as a mount point: %s",
		    a.mountpoint, strerror(errno));
		goto out;
	}
	a.mountpoint = mnt;
	a.fo.mountpoint = mnt;
	a.fo.store = a.store;
	if (a.log_file == NULL) {
		logdir = cmd_xdg_path("XDG_STATE_HOME", ".local/state", "");
		(void)path_mkdirs(logdir, 0755);
		free(logdir);
		logdir = cmd_xdg_path("XDG_STATE_HOME", ".local/state", "shale.log");
		a.log_file = logdir;
	}
	if (a.foreground) {
		/* in the foreground the log stays on stderr unless told */
		if (log_given && (c = open(a.log_file, O_WRONLY | O_CREAT |
		    O_APPEND, 0644)) >= 0) {
			dup2(c, 2);
			close(c);
		}
		ret = serve(&a, -1);
		goto out;
	}
	if (pipe(fds) != 0) {
		ret = cmd_fail("pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		ret = cmd_fail("fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		setsid();
		ret = serve(&a, fds[1]);
		goto out;
	}
	close(fds[1]);
	/* the child answers once mounted, or fails (and has said why) */
	while ((c = (int)read(fds[0], &status, 1)) < 0 && errno == EINTR)
		;
	close(fds[0]);
	ret = c == 1 && status == '0' ? 0 : 1;
	if (c != 1)
		waitpid(pid, NULL, 0);
out:
	free(a.fuse_opts);
	free(token);
	free(listen);
	free(store);
	free(logdir);
	return ret;
}
