/*
 * cmd_bench_fs.c - 'shale bench fs': the mount against its baselines,
 * side by side in one run.
 *
 * Targets, in order: shale-file (shale on file://WORKDIR/store),
 * shale-rgw (shale on --s3), memfs (memfs.c: the bare FUSE filesystem
 * with the mount's FUSE settings, the ceiling FUSE sets on this machine),
 * local (a directory on local disk), s3fs (on the --s3 bucket) and
 * shale-pc (shale on file://WORKDIR/store-pc with -o page_cache). On
 * each: (a) --lines small appends from a shell loop, one open per line;
 * (b) a --size MiB append by dd of log text generated once beforehand;
 * (c) cat right after; (d) cat cold (shale and s3fs remounted, local with
 * the page cache dropped; memfs has nothing colder), then cmp against the
 * generated text; (e) the delay from write() returning to the line
 * showing at 'tail -f'. For shale also the object store PUTs and bytes
 * per MB appended in (b) (the mount's metrics file), the daemon's RSS
 * and the bytes stored against the bytes written: right after the run
 * (WAL objects and replaced tables not yet collected among them), and
 * settled (after 'shale compact' and 'shale gc' with min_ages of 0: what
 * the store comes to once the collector's min_ages have passed). MB is
 * 10^6 bytes.
 *
 * Every process started is stopped by its pid and every mount unmounted
 * (fusermount3 -u, else umount -l), on failure and SIGINT/SIGTERM too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xmalloc.h"

#define START_MS	30000	/* a mount must be ready within this */
#define STOP_MS		60000	/* and gone after SIGTERM within this */
#define TAIL_LINES	20
#define TAIL_GAP_MS	200
#define TAIL_WAIT_MS	5000	/* the last line may take this long */
#define NTARGETS	6

enum target_kind { TK_SHALE, TK_MEMFS, TK_LOCAL, TK_S3FS };

struct target {
	const char	*name;
	enum target_kind kind;
	char		*store;		/* shale: the store URI */
	char		*opts;		/* shale: -o for the mount, or NULL */
	char		*mnt;		/* mountpoint; local: the directory */
	char		*dir;		/* where the files go */
	char		*log;		/* the daemon's stdout and stderr */
	pid_t		 pid;		/* the daemon, or -1 */
	char		*skip;		/* why the row is empty */
	struct buf	 notes;
	/* results, negative when not measured */
	double		 appends, append_mbs, warm_mbs, cold_mbs;
	double		 tail_p50, tail_max;
	double		 puts_mb, bytes_mb, stored_raw, live_raw, rss_mib, hwm_mib;
};

struct bench {
	char		*self;		/* this program */
	char		*work;		/* absolute */
	int		 keep;		/* --dir given: leave it */
	char		*gen;		/* the generated log text */
	uint64_t	 size;		/* its bytes */
	long		 lines;
	const char	*s3;
	int		 no_s3fs;
	int		 mismatch;
	struct target	 t[NTARGETS];
};

static volatile sig_atomic_t stopped;

static void
on_signal(int sig)
{
	stopped = sig;
}

static void
note(struct target *t, const char *s)
{
	if (t->notes.len)
		buf_puts(&t->notes, "; ");
	buf_puts(&t->notes, s);
}

/* Start argv (PATH searched) with stdin from /dev/null; out < 0 inherits. */
static int
spawn(char *const argv[], int out, int err, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out >= 0)
		posix_spawn_file_actions_adddup2(&fa, out, 1);
	if (err >= 0)
		posix_spawn_file_actions_adddup2(&fa, err, 2);
	rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

/* Wait up to `ms` for pid to end: 0, or -ETIMEDOUT. */
static int
child_wait(pid_t pid, int64_t ms, int *status)
{
	int64_t end = clock_mono_ns() + ms * 1000000;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return 0;
		if (clock_mono_ns() > end)
			return -ETIMEDOUT;
		clock_sleep_ms(10);
	}
}

/* SIGTERM, wait, SIGKILL if it will not go: its wait status. */
static int
child_stop(pid_t pid)
{
	int st = 0;

	kill(pid, SIGTERM);
	if (child_wait(pid, STOP_MS, &st) != 0) {
		kill(pid, SIGKILL);
		child_wait(pid, STOP_MS, &st);
	}
	return st;
}

/* Run argv to the end: its exit status, or a negative error. */
static int
run(char *const argv[], int out, int64_t *ns)
{
	int64_t t0 = clock_mono_ns();
	pid_t pid;
	int rc, st;

	if ((rc = spawn(argv, out, -1, &pid)) != 0)
		return rc;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR || stopped) {
			child_stop(pid);
			return -EINTR;
		}
	}
	if (ns != NULL)
		*ns = clock_mono_ns() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
sh(const char *cmd, int64_t *ns)
{
	char a0[] = "/bin/sh", a1[] = "-c";
	char *argv[] = { a0, a1, (char *)cmd, NULL };

	return run(argv, -1, ns);
}

/* `s` quoted for the shell; the caller frees it. */
static char *
shq(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	buf_putc(&b, '\'');
	for (; *s != '\0'; s++)
		if (*s == '\'')
			buf_puts(&b, "'\\''");
		else
			buf_putc(&b, *s);
	buf_putc(&b, '\'');
	return buf_detach(&b, NULL);
}

static int
read_file(const char *path, struct buf *b)
{
	char chunk[8192];
	ssize_t r;
	int fd, rc = 0;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (rc = buf_append(b, chunk, (size_t)r)) != 0) {
			rc = r < 0 ? -errno : rc;
			break;
		}
	}
	close(fd);
	return rc;
}

static int
is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], mp[4096], *s, *d;
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		/* the kernel writes space, tab, newline and \ as \ooo */
		for (s = d = mp; *s != '\0'; d++)
			if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
				*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
				s += 4;
			} else
				*d = *s++;
		*d = '\0';
		found = strcmp(mp, path) == 0;
	}
	fclose(f);
	return found;
}

static void
unmount(struct target *t)
{
	char f0[] = "fusermount3", f1[] = "-u", u0[] = "umount", u1[] = "-l";
	char *fu[] = { f0, f1, t->mnt, NULL }, *um[] = { u0, u1, t->mnt, NULL };

	if (!is_mounted(t->mnt))
		return;
	if (run(fu, -1, NULL) != 0 && is_mounted(t->mnt))
		run(um, -1, NULL);
	if (is_mounted(t->mnt))
		fprintf(stderr, "shale: '%s' is still mounted\n", t->mnt);
}

/* The last line of the daemon's log, to say why it did not start. */
static char *
log_tail(struct target *t)
{
	struct buf b;
	char *p, *s;

	buf_init(&b, 0);
	read_file(t->log, &b);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	p = b.len ? strrchr(b.data, '\n') : NULL;
	s = xstrdup(p ? p + 1 : buf_str(&b));
	buf_release(&b);
	return s;
}

/* Mount the target; on failure, why (the caller frees it). */
static char *
target_start(struct bench *b, struct target *t)
{
	char a1[] = "mount", a2[] = "-f", a3[] = "-o", m1[] = "bench", m2[] = "memfs";
	char s0[] = "s3fs", so[] = "-o", s3[] = "use_path_request_style", s5[] = "-f";
	char *shale_argv[] = { b->self, a1, a2, t->store, t->mnt, NULL, NULL, NULL };
	char *memfs_argv[] = { b->self, m1, m2, a2, t->mnt, NULL };
	char *s3fs_argv[] = { s0, NULL, t->mnt, so, NULL, so, s3, so, NULL, s5, NULL };
	char **argv = t->kind == TK_SHALE ? shale_argv :
	    t->kind == TK_MEMFS ? memfs_argv : s3fs_argv;
	char *path = xasprintf("%s/.shale/status", t->mnt), *why = NULL, *s;
	const char *bucket = b->s3 ? b->s3 + 5 : "";
	int64_t end = clock_mono_ns() + (int64_t)START_MS * 1000000;
	struct buf st;
	int fd, rc, ready = 0, status;

	buf_init(&st, 0);
	if (t->kind == TK_SHALE && t->opts != NULL) {
		shale_argv[3] = a3;
		shale_argv[4] = t->opts;
		shale_argv[5] = t->store;
		shale_argv[6] = t->mnt;
	}
	if (t->kind == TK_LOCAL) {
		if (mkdir(t->dir, 0755) != 0 && errno != EEXIST)
			why = xasprintf("cannot make '%s': %s", t->dir, strerror(errno));
		goto out;
	}
	if (t->kind == TK_S3FS) {
		argv[1] = xstrndup(bucket, strcspn(bucket, "/"));
		argv[4] = xasprintf("url=%s", getenv("AWS_ENDPOINT_URL"));
		argv[8] = xasprintf("passwd_file=%s/s3fs.passwd", b->work);
	}
	if ((fd = open(t->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		why = xasprintf("cannot open '%s': %s", t->log, strerror(errno));
		goto out;
	}
	rc = spawn(argv, fd, fd, &t->pid);
	close(fd);
	if (rc != 0) {
		t->pid = -1;
		why = xasprintf("cannot run %s: %s", argv[0], strerror(-rc));
		goto out;
	}
	while (!ready && !stopped) {
		if (t->kind == TK_SHALE)
			ready = read_file(path, &st) == 0 && st.len > 0;
		else
			ready = is_mounted(t->mnt);
		if (ready)
			break;
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = -1;
			s = log_tail(t);
			why = *s ? s : xasprintf("exited with status %d", status);
			if (why != s)
				free(s);
			goto out;
		}
		if (clock_mono_ns() > end) {
			why = xasprintf("not ready after %d s", START_MS / 1000);
			goto out;
		}
		clock_sleep_ms(20);
	}
	if (stopped)
		why = xstrdup("interrupted");
	else if (t->kind == TK_S3FS || (t->kind == TK_SHALE && access(t->dir, F_OK) != 0))
		if (mkdir(t->dir, 0755) != 0 && errno != EEXIST)
			why = xasprintf("cannot make '%s': %s", t->dir, strerror(errno));
out:
	if (t->kind == TK_S3FS) {
		free(argv[1]);
		free(argv[4]);
		free(argv[8]);
	}
	buf_release(&st);
	free(path);
	return why;
}

static void
target_stop(struct target *t)
{
	char *s;
	int st;

	if (t->pid > 0) {
		st = child_stop(t->pid);
		t->pid = -1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			s = xasprintf("%s daemon ended with status 0x%x", t->name, st);
			note(t, s);
			free(s);
		}
	}
	if (t->kind != TK_LOCAL)
		unmount(t);
}

/* Object store PUTs and bytes written so far, from the mount's metrics. */
static int
store_counters(struct target *t, double *puts, double *bytes)
{
	char *path = xasprintf("%s/.shale/metrics", t->mnt), *line, *sp;
	struct buf b;
	int rc;

	buf_init(&b, 0);
	*puts = *bytes = 0;
	if ((rc = read_file(path, &b)) == 0)
		for (line = b.data; line != NULL && *line != '\0'; line = sp) {
			if ((sp = strchr(line, '\n')) != NULL)
				*sp++ = '\0';
			if (strncmp(line, "objstore_requests_total{", 24) == 0 &&
			    (strstr(line, "op=\"put\"") || strstr(line, "op=\"put_if_absent\"")))
				*puts += strtod(strrchr(line, ' ') + 1, NULL);
			else if (strncmp(line, "objstore_written_bytes_total", 28) == 0 &&
			    (line[28] == ' ' || line[28] == '{'))
				*bytes += strtod(strrchr(line, ' ') + 1, NULL);
		}
	buf_release(&b);
	free(path);
	return rc;
}

/* The daemon's pid from the 'pid:' line of MNT/.shale/status. */
static pid_t
status_pid(struct target *t)
{
	char *path = xasprintf("%s/.shale/status", t->mnt), *p;
	struct buf b;
	pid_t pid = -1;

	buf_init(&b, 0);
	if (read_file(path, &b) == 0 && b.len > 0) {
		if (strncmp(b.data, "pid:", 4) == 0)
			pid = (pid_t)strtol(b.data + 4, NULL, 10);
		else if ((p = strstr(b.data, "\npid:")) != NULL)
			pid = (pid_t)strtol(p + 5, NULL, 10);
	}
	buf_release(&b);
	free(path);
	return pid;
}

static uint64_t stored_sum;

static int
stored_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_F && S_ISREG(st->st_mode))
		stored_sum += (uint64_t)st->st_size;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) != 0)
		fprintf(stderr, "shale: cannot remove '%s': %s\n", path, strerror(errno));
	return 0;
}

/*
 * Bring a stopped mount's store to what it comes to in time: 'shale
 * compact' merges its tables, and 'shale gc' with every min_age at 0
 * (nothing else uses the store now) deletes the WAL objects, tables and
 * manifests the merged version no longer needs.
 */
static int
settle(struct bench *b, struct target *t)
{
	static const char *const ages[] = {
	    "SHALE_GARBAGE_COLLECTOR_OPTIONS_MANIFEST_OPTIONS_MIN_AGE",
	    "SHALE_GARBAGE_COLLECTOR_OPTIONS_WAL_OPTIONS_MIN_AGE",
	    "SHALE_GARBAGE_COLLECTOR_OPTIONS_COMPACTED_OPTIONS_MIN_AGE" };
	char a1[] = "compact", a2[] = "gc", *store = t->store;
	char *argv[] = { b->self, a1, store, NULL };
	int nul = open("/dev/null", O_WRONLY | O_CLOEXEC), st, rc = 0;
	pid_t pid;

	if (nul < 0)
		return -errno;
	for (size_t i = 0; i < 3; i++)
		setenv(ages[i], "0s", 1);
	for (int step = 0; step < 2 && rc == 0; step++) {
		argv[1] = step == 0 ? a1 : a2;
		if ((rc = spawn(argv, nul, nul, &pid)) != 0)
			break;
		if ((rc = child_wait(pid, 600000, &st)) != 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = -EIO;
	}
	for (size_t i = 0; i < 3; i++)
		unsetenv(ages[i]);
	close(nul);
	if (rc != 0)
		note(t, "'shale compact' and 'shale gc' failed: no settled size");
	return rc;
}

/* Bytes the store holds: the files of a file:// store, or 'store ls -l'. */
static int
stored_bytes(struct bench *b, struct target *t, uint64_t *out)
{
	char a1[] = "store", a2[] = "ls", a3[] = "-l", *uri, *p;
	char *argv[] = { b->self, a1, a2, a3, NULL, NULL };
	struct buf o;
	char chunk[8192];
	ssize_t r;
	pid_t pid;
	int pfd[2], st, rc;

	if (strncmp(t->store, "file://", 7) == 0) {
		stored_sum = 0;
		if (nftw(t->store + 7, stored_add, 16, FTW_PHYS) != 0)
			return -errno;
		*out = stored_sum;
		return 0;
	}
	uri = xasprintf("%s%s", t->store, t->store[strlen(t->store) - 1] == '/' ? "" : "/");
	argv[4] = uri;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(uri);
		return -errno;
	}
	rc = spawn(argv, pfd[1], -1, &pid);
	close(pfd[1]);
	buf_init(&o, 0);
	while (rc == 0 && (r = read(pfd[0], chunk, sizeof(chunk))) != 0)
		if (r > 0)
			buf_append(&o, chunk, (size_t)r);
		else if (errno != EINTR)
			break;
	close(pfd[0]);
	if (rc == 0 && (child_wait(pid, STOP_MS, &st) != 0 ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0))
		rc = -EIO;
	*out = 0;
	for (p = o.data; rc == 0 && p != NULL && *p != '\0'; p++) {
		*out += strtoull(p, NULL, 10);
		if ((p = strchr(p, '\n')) == NULL)
			break;
	}
	buf_release(&o);
	free(uri);
	return rc;
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* SIZE bytes of log lines, the same every run. */
static int
gen_log(const char *path, uint64_t size)
{
	static const char *const words[] = { "request", "served", "cache",
	    "miss", "hit", "upstream", "timeout", "retry", "connection",
	    "closed", "session", "token", "refreshed", "queue", "worker",
	    "started", "flush", "segment", "compaction", "done", "slow",
	    "query", "index", "lookup", "batch", "commit", "disk", "sent",
	    "client", "shard", "replica", "leader", "heartbeat", "ok" };
	static const char *const levels[] = { "INFO", "INFO", "INFO", "DEBUG",
	    "INFO", "WARN", "INFO", "ERROR" };
	static const char *const svcs[] = { "api", "auth", "ingest", "search" };
	static const char *const methods[] = { "GET", "GET", "POST", "PUT", "DELETE" };
	size_t cap = 1 << 20, used = 0, n, len;
	char *out = xmalloc(cap), line[512], ts[32];
	uint64_t s = 0x9e3779b97f4a7c15ULL, left = size, us = 0, x;
	time_t sec, last = -1;
	struct tm tm;
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		free(out);
		return -errno;
	}
	while (left > 0 && rc == 0 && !stopped) {
		us += xorshift(&s) % 20000;
		sec = 1714521600 + (time_t)(us / 1000000);	/* 2024-05-01 */
		if (sec != last) {
			gmtime_r(&sec, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
			last = sec;
		}
		x = xorshift(&s);
		len = (size_t)snprintf(line, sizeof(line),
		    "%s.%06uZ %-5s %s[%u]: %s /v1/items/%u status=%u bytes=%u ms=%u.%03u",
		    ts, (unsigned)(us % 1000000), levels[x % 8], svcs[(x >> 3) % 4],
		    (unsigned)(1000 + (x >> 5) % 64), methods[(x >> 11) % 5],
		    (unsigned)((x >> 14) % 100000), (x >> 31) % 10 ? 200u : 500u,
		    (unsigned)((x >> 35) % 65536), (unsigned)((x >> 51) % 500),
		    (unsigned)((x >> 40) % 1000));
		for (n = 2 + xorshift(&s) % 8; n > 0; n--) {
			x = xorshift(&s);
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s",
			    words[x % (sizeof(words) / sizeof(words[0]))]);
		}
		line[len++] = '\n';
		if (len > left) {
			len = (size_t)left;
			line[len - 1] = '\n';
		}
		memcpy(out + used, line, len);
		used += len;
		left -= len;
		if (used > cap - sizeof(line) || left == 0) {
			for (size_t off = 0; off < used; ) {
				ssize_t w = write(fd, out + off, used - off);

				if (w < 0 && errno != EINTR) {
					rc = -errno;
					break;
				}
				off += w > 0 ? (size_t)w : 0;
			}
			used = 0;
		}
	}
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	free(out);
	return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * (e): 'tail -f FILE' on a pipe; TAIL_LINES lines appended TAIL_GAP_MS
 * apart whatever tail does, each with a marker; the delay of each from its
 * write() returning to its marker coming out of the pipe.
 */
static int
tail_delay(struct target *t, const char *file)
{
	char a0[] = "tail", a1[] = "-f", line[128], chunk[4096], mark[32];
	char *argv[] = { a0, a1, (char *)file, NULL };
	int64_t sent[TAIL_LINES], lat[TAIL_LINES], next, now, end;
	int pfd[2] = { -1, -1 }, fd, rc = 0, nsent = 0, ngot = 0, started = 0;
	size_t scan = 0;
	struct pollfd p;
	struct buf b;
	pid_t pid = -1;
	ssize_t r;
	char *hit;

	buf_init(&b, 1 << 20);
	if ((fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (write(fd, "tail start\n", 11) != 11 || pipe2(pfd, O_CLOEXEC) != 0) {
		rc = -errno;
		goto out;
	}
	rc = spawn(argv, pfd[1], -1, &pid);
	close(pfd[1]);
	if (rc != 0) {
		pid = -1;
		goto out;
	}
	end = clock_mono_ns() + (int64_t)TAIL_WAIT_MS * 1000000;
	next = 0;
	while (ngot < TAIL_LINES && !stopped) {
		now = clock_mono_ns();
		if (started && nsent < TAIL_LINES && now >= next) {
			snprintf(mark, sizeof(mark), "<mark %02d>", nsent);
			snprintf(line, sizeof(line), "tail -f probe %s %" PRId64 "\n", mark, now);
			if (write(fd, line, strlen(line)) < 0) {
				rc = -errno;
				break;
			}
			sent[nsent++] = clock_mono_ns();
			next = now + (int64_t)TAIL_GAP_MS * 1000000;
			end = next + (int64_t)TAIL_WAIT_MS * 1000000;
			continue;
		}
		if (now > end) {
			rc = -ETIMEDOUT;
			break;
		}
		p.fd = pfd[0];
		p.events = POLLIN;
		if (poll(&p, 1, (int)(((started && nsent < TAIL_LINES ? next : end) -
		    now) / 1000000) + 1) <= 0)
			continue;
		if ((r = read(pfd[0], chunk, sizeof(chunk))) <= 0) {
			rc = r == 0 ? -EPIPE : errno == EINTR ? 0 : -errno;
			if (rc != 0)
				break;
			continue;
		}
		now = clock_mono_ns();
		if (buf_append(&b, chunk, (size_t)r) != 0) {
			rc = -EFBIG;
			break;
		}
		if (!started && (hit = strstr(b.data, "tail start\n")) != NULL) {
			started = 1;
			scan = (size_t)(hit - b.data);
		}
		while (started && ngot < nsent) {
			snprintf(mark, sizeof(mark), "<mark %02d>", ngot);
			if ((hit = strstr(b.data + scan, mark)) == NULL)
				break;
			scan = (size_t)(hit - b.data);
			lat[ngot] = now - sent[ngot];
			ngot++;
		}
	}
	if (ngot > 0) {
		qsort(lat, (size_t)ngot, sizeof(lat[0]), cmp_i64);
		t->tail_p50 = (double)lat[ngot / 2] / 1e6;
		t->tail_max = (double)lat[ngot - 1] / 1e6;
	}
	if (ngot < TAIL_LINES) {
		snprintf(line, sizeof(line), "tail -f: %d of %d lines seen (%s)", ngot,
		    TAIL_LINES, rc ? strerror(-rc) : "interrupted");
		note(t, line);
	}
out:
	if (pid > 0)
		child_stop(pid);
	if (pfd[0] >= 0)
		close(pfd[0]);
	close(fd);
	buf_release(&b);
	return rc;
}

static void
fail_step(struct target *t, const char *what, int rc)
{
	free(t->skip);
	t->skip = rc < 0 ? xasprintf("%s: %s", what, strerror(-rc)) :
	    xasprintf("%s: exit status %d", what, rc);
}

/* Run the workloads on one target. */
static void
target_run(struct bench *b, struct target *t)
{
	char *small = xasprintf("%s/small.log", t->dir), *big = xasprintf("%s/big.log", t->dir);
	char *tailf = xasprintf("%s/tail.log", t->dir), *qs = shq(small), *qb = shq(big);
	char *qg = shq(b->gen), *cmd = NULL, *why;
	double mb = (double)b->size / 1e6, p0 = 0, w0 = 0, p1, w1;
	const char *files[] = { small, big, tailf };
	uint64_t raw = 0, stored;
	struct stat st;
	int64_t ns;
	int rc = 0, fd;

	printf("%s: ", t->name);
	fflush(stdout);
	if ((why = target_start(b, t)) != NULL) {
		t->skip = xasprintf("%s mount failed: %s", t->kind == TK_SHALE ? "shale" :
		    t->name, why);
		free(why);
		goto done;
	}
	/* a bucket or directory used before may still hold them */
	for (size_t i = 0; i < 3; i++)
		unlink(files[i]);
	cmd = xasprintf("i=0; while [ $i -lt %ld ]; do echo \"line $i some log text\" >> %s;"
	    " i=$((i+1)); done", b->lines, qs);
	if ((rc = sh(cmd, &ns)) != 0) {
		fail_step(t, "small appends", rc);
		goto done;
	}
	t->appends = (double)b->lines / ((double)ns / 1e9);
	printf("%.0f appends/s, ", t->appends);
	fflush(stdout);

	if (t->kind == TK_SHALE && store_counters(t, &p0, &w0) != 0)
		note(t, "no metrics file");
	free(cmd);
	cmd = xasprintf("dd if=%s of=%s bs=1M oflag=append conv=notrunc status=none", qg, qb);
	if ((rc = sh(cmd, &ns)) != 0) {
		fail_step(t, "dd", rc);
		goto done;
	}
	t->append_mbs = mb / ((double)ns / 1e9);
	/* everything durable before the counters are read again */
	if ((fd = open(big, O_RDONLY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	if (t->kind == TK_SHALE && store_counters(t, &p1, &w1) == 0) {
		t->puts_mb = (p1 - p0) / mb;
		t->bytes_mb = (w1 - w0) / mb;
	}
	printf("append %.1f MB/s, ", t->append_mbs);
	fflush(stdout);

	free(cmd);
	cmd = xasprintf("cat %s > /dev/null", qb);
	if ((rc = sh(cmd, &ns)) != 0) {
		fail_step(t, "cat", rc);
		goto done;
	}
	t->warm_mbs = mb / ((double)ns / 1e9);
	printf("cat %.1f MB/s warm, ", t->warm_mbs);
	fflush(stdout);
	if (t->kind == TK_SHALE || t->kind == TK_MEMFS || t->kind == TK_S3FS)
		cmd_proc_mem(t->kind == TK_SHALE ? status_pid(t) : t->pid, &t->rss_mib,
		    &t->hwm_mib);

	if (t->kind == TK_MEMFS) {
		t->cold_mbs = t->warm_mbs;
		note(t, "cat cold = warm (memory is all memfs has)");
	} else {
		if (t->kind == TK_LOCAL) {
			sync();
			if ((fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC)) < 0 ||
			    write(fd, "3\n", 2) != 2) {
				why = xasprintf("page cache not dropped (%s): cat cold is warm",
				    strerror(errno));
				note(t, why);
				free(why);
			}
			if (fd >= 0)
				close(fd);
		} else {
			target_stop(t);
			if ((why = target_start(b, t)) != NULL) {
				t->skip = xasprintf("remount failed: %s", why);
				free(why);
				goto done;
			}
		}
		if ((rc = sh(cmd, &ns)) == 0)
			t->cold_mbs = mb / ((double)ns / 1e9);
	}
	free(cmd);
	cmd = xasprintf("cmp -s %s %s", qg, qb);
	/* unreadable counts as different: it was written and acknowledged */
	if (rc != 0 || (rc = sh(cmd, NULL)) != 0) {
		if (rc > 0) {
			fprintf(stderr, "\nshale: MISMATCH: %s: '%s' does not read back "
			    "as what was appended ('%s')\n", t->name, big, b->gen);
			b->mismatch = 1;
			t->skip = xstrdup("MISMATCH: big.log does not read back as appended");
		} else
			fail_step(t, "cat cold", rc);
		goto done;
	}
	printf("%.1f MB/s cold, ", t->cold_mbs);
	fflush(stdout);

	if ((rc = tail_delay(t, tailf)) != 0 && t->tail_p50 < 0) {
		fail_step(t, "tail -f", rc);
		goto done;
	}
	printf("tail -f %.1f/%.1f ms\n", t->tail_p50, t->tail_max);
	/* coreutils counts fuse as remote: no inotify, a stat every second */
	if (t->kind != TK_LOCAL && t->tail_p50 > 100)
		note(t, "tail -f polls FUSE files once a second (no inotify)");
	for (size_t i = 0; i < 3; i++)
		if (stat(files[i], &st) == 0)
			raw += (uint64_t)st.st_size;
	if (t->kind == TK_S3FS) {
		for (size_t i = 0; i < 3; i++)
			unlink(files[i]);
		rmdir(t->dir);
	}
	target_stop(t);
	if (t->kind == TK_SHALE) {
		if ((rc = stored_bytes(b, t, &stored)) != 0)
			note(t, "stored bytes unknown: 'shale store ls -l' failed");
		else if (raw > 0)
			t->stored_raw = (double)stored / (double)raw;
		/* what the store comes to: merged, and its garbage collected */
		if (rc == 0 && raw > 0 && settle(b, t) == 0 &&
		    stored_bytes(b, t, &stored) == 0)
			t->live_raw = (double)stored / (double)raw;
	}
done:
	if (t->skip != NULL)
		printf("%s\n", t->skip);
	if (stopped && t->skip == NULL)
		t->skip = xstrdup("interrupted");
	target_stop(t);
	free(small);
	free(big);
	free(tailf);
	free(qs);
	free(qb);
	free(qg);
	free(cmd);
}

static const char *
cell(char *s, size_t n, int prec, double v)
{
	if (v < 0)
		return "-";
	snprintf(s, n, "%.*f", prec, v);
	return s;
}

static void
report(struct bench *b)
{
	char c[10][32], big[32], tl[40], rs[40];
	struct target *m = &b->t[2], *t;
	static const char *const what[] = { "small appends", "big append", "warm cat" };
	static const double goal[] = { 70, 40, 50 };
	double v[3], base[3] = { m->appends, m->append_mbs, m->warm_mbs };

	if (b->size % ((uint64_t)1 << 30) == 0)
		snprintf(big, sizeof(big), "%" PRIu64 "GiB MB/s", b->size >> 30);
	else
		snprintf(big, sizeof(big), "%" PRIu64 "MiB MB/s", b->size >> 20);
	printf("\n%-11s %10s %11s %9s %9s %15s %8s %9s %10s %9s %12s\n", "target",
	    "appends/s", big, "cat warm", "cat cold", "tail-f p50/max", "PUTs/MB",
	    "bytes/MB", "stored/raw", "settled", "RSS/peak MiB");
	for (int i = 0; i < NTARGETS; i++) {
		t = &b->t[i];
		if (t->tail_p50 >= 0)
			snprintf(tl, sizeof(tl), "%.1f/%.1f ms", t->tail_p50, t->tail_max);
		else
			snprintf(tl, sizeof(tl), "-");
		if (t->rss_mib >= 0)
			snprintf(rs, sizeof(rs), "%.0f/%.0f", t->rss_mib, t->hwm_mib);
		else
			snprintf(rs, sizeof(rs), "-");
		printf("%-11s %10s %11s %9s %9s %15s %8s %9s %10s %9s %12s\n",
		    t->name, cell(c[0], 32, 0, t->appends),
		    cell(c[1], 32, 1, t->append_mbs),
		    cell(c[2], 32, 1, t->warm_mbs), cell(c[3], 32, 1, t->cold_mbs),
		    tl, cell(c[4], 32, 2, t->puts_mb), cell(c[5], 32, 0, t->bytes_mb),
		    cell(c[6], 32, 2, t->stored_raw),
		    cell(c[7], 32, 2, t->live_raw), rs);
	}
	printf("\n");
	for (int i = 0; i < NTARGETS; i++) {
		t = &b->t[i];
		if (t->skip != NULL)
			printf("%s: %s\n", t->name, t->skip);
		if (t->notes.len)
			printf("%s: %s\n", t->name, buf_str(&t->notes));
	}
	for (int i = 0; i < NTARGETS; i++) {
		t = &b->t[i];
		if (t->kind != TK_SHALE)
			continue;
		v[0] = t->appends;
		v[1] = t->append_mbs;
		v[2] = t->warm_mbs;
		printf("%s as %% of memfs:", t->name);
		for (int k = 0; k < 3; k++) {
			if (v[k] < 0 || base[k] <= 0)
				printf(" %s n/a (goal >= %.0f%%)%s", what[k], goal[k], k < 2 ? "," : "");
			else
				printf(" %s %.0f%% (goal >= %.0f%%: %s)%s", what[k],
				    100 * v[k] / base[k], goal[k],
				    100 * v[k] / base[k] >= goal[k] ? "met" : "NOT met",
				    k < 2 ? "," : "");
		}
		if (t->live_raw >= 0)
			printf("; stored, settled, %.2f of the raw text (goal <= "
			    "0.25: %s)", t->live_raw, t->live_raw <= 0.25 ? "met" :
			    "NOT met");
		printf("\n");
	}
}

/* Is `prog` on PATH? */
static int
on_path(const char *prog)
{
	const char *path = getenv("PATH"), *p, *e;
	char *f;
	int ok = 0;

	for (p = path ? path : "/usr/bin:/bin"; !ok && *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ":");
		f = xasprintf("%.*s/%s", (int)(e - p), p, prog);
		ok = access(f, X_OK) == 0;
		free(f);
	}
	return ok;
}

/* The s3fs passwd file: KEY:SECRET, mode 0600. */
static int
s3fs_passwd(struct bench *b)
{
	const char *k = getenv("AWS_ACCESS_KEY_ID"), *s = getenv("AWS_SECRET_ACCESS_KEY");
	char *path = xasprintf("%s/s3fs.passwd", b->work), *line;
	int fd, rc = 0;

	if (k == NULL || s == NULL) {
		free(path);
		return -ENOENT;
	}
	line = xasprintf("%s:%s\n", k, s);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		rc = -errno;
	if (fd >= 0)
		close(fd);
	free(line);
	free(path);
	return rc;
}

static void
targets_init(struct bench *b)
{
	static char page_cache[] = "page_cache";
	static const char *const names[] = { "shale-file", "shale-rgw", "memfs",
	    "local", "s3fs", "shale-pc" };
	static const enum target_kind kinds[] = { TK_SHALE, TK_SHALE, TK_MEMFS,
	    TK_LOCAL, TK_S3FS, TK_SHALE };
	struct target *t;

	for (int i = 0; i < NTARGETS; i++) {
		t = &b->t[i];
		memset(t, 0, sizeof(*t));
		t->name = names[i];
		t->kind = kinds[i];
		t->pid = -1;
		buf_init(&t->notes, 0);
		t->appends = t->append_mbs = t->warm_mbs = t->cold_mbs = -1;
		t->tail_p50 = t->tail_max = t->puts_mb = t->bytes_mb = -1;
		t->stored_raw = t->live_raw = t->rss_mib = t->hwm_mib = -1;
		t->mnt = xasprintf("%s/mnt-%s", b->work, names[i]);
		t->log = xasprintf("%s/%s.log", b->work, names[i]);
		if (t->kind == TK_SHALE)
			t->dir = xasprintf("%s/logs", t->mnt);
		else if (t->kind == TK_S3FS)
			t->dir = xasprintf("%s/shale-bench-fs.%ld", t->mnt, (long)getpid());
		else
			t->dir = xstrdup(t->mnt);
	}
	b->t[0].store = xasprintf("file://%s/store", b->work);
	b->t[5].store = xasprintf("file://%s/store-pc", b->work);
	b->t[5].opts = page_cache;
	if (b->s3 != NULL)
		b->t[1].store = xstrdup(b->s3);
	else
		b->t[1].skip = xstrdup("skipped: no --s3 given");
	t = &b->t[4];
	if (b->no_s3fs)
		t->skip = xstrdup("skipped: --no-s3fs");
	else if (b->s3 == NULL)
		t->skip = xstrdup("skipped: no --s3 given");
	else if (!on_path("s3fs"))
		t->skip = xstrdup("skipped: s3fs is not installed (apt-get install s3fs)");
	else if (getenv("AWS_ENDPOINT_URL") == NULL)
		t->skip = xstrdup("skipped: AWS_ENDPOINT_URL is not set");
	else if (s3fs_passwd(b) != 0)
		t->skip = xstrdup("skipped: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		    "must be set");
}

static int
usage(void)
{
	fprintf(stderr, "usage: shale bench fs [--size MIB] [--lines N] "
	    "[--s3 s3://BUCKET/PREFIX] [--no-s3fs] [--dir WORKDIR]\n");
	return 2;
}

int
cmd_bench_fs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "lines", required_argument, NULL, 'l' },
		{ "s3", required_argument, NULL, 'S' },
		{ "no-s3fs", no_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa, old[3];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct bench b;
	const char *dir = NULL;
	char tmpl[] = "/tmp/shale-bench-fs.XXXXXX", *end, *store_dir = NULL, *p;
	long v;
	int c, rc, ret = 0, busy = 0;

	memset(&b, 0, sizeof(b));
	b.size = (uint64_t)1024 << 20;
	b.lines = 10000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
		case 'l':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v <= 0 || v > (1L << 20))
				return usage();
			if (c == 's')
				b.size = (uint64_t)v << 20;
			else
				b.lines = v;
			break;
		case 'S':
			if (strncmp(optarg, "s3://", 5) != 0 || optarg[5] == '\0' ||
			    optarg[5] == '/')
				return usage();
			b.s3 = optarg;
			break;
		case 'n':
			b.no_s3fs = 1;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (dir != NULL) {
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return cmd_fail("cannot make '%s': %s", dir, strerror(errno));
		b.keep = 1;
	} else if ((dir = mkdtemp(tmpl)) == NULL)
		return cmd_fail("cannot make a directory in /tmp: %s", strerror(errno));
	/* absolute and free of symlinks, as /proc/self/mountinfo has it */
	if ((b.work = realpath(dir, NULL)) == NULL)
		return cmd_fail("cannot find '%s': %s", dir, strerror(errno));
	if ((b.self = realpath("/proc/self/exe", NULL)) == NULL) {
		free(b.work);
		return cmd_fail("cannot find this program: %s", strerror(errno));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: waits must see it */
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	targets_init(&b);
	for (int i = 0; i < NTARGETS; i++)
		if (b.t[i].kind != TK_LOCAL && mkdir(b.t[i].mnt, 0755) != 0 && errno != EEXIST) {
			ret = cmd_fail("cannot make '%s': %s", b.t[i].mnt, strerror(errno));
			goto out;
		}
	store_dir = xasprintf("%s/store", b.work);
	mkdir(store_dir, 0755);
	b.gen = xasprintf("%s/gen.log", b.work);
	printf("shale bench fs: %" PRIu64 " MiB of log text, %ld small appends, in '%s'\n",
	    b.size >> 20, b.lines, b.work);
	fflush(stdout);
	if ((rc = gen_log(b.gen, b.size)) != 0) {
		ret = cmd_fail("cannot write '%s': %s", b.gen, strerror(-rc));
		goto out;
	}
	for (int i = 0; i < NTARGETS && !stopped; i++) {
		if (b.t[i].skip != NULL)
			continue;
		target_run(&b, &b.t[i]);
	}
	report(&b);
	if (b.mismatch) {
		fprintf(stderr, "shale: MISMATCH: a file read back differs from what "
		    "was appended\n");
		ret = 1;
	}
	if (stopped) {
		fprintf(stderr, "shale: interrupted by signal %d\n", (int)stopped);
		ret = 1;
	}
out:
	for (int i = 0; i < NTARGETS; i++) {
		target_stop(&b.t[i]);
		busy |= b.t[i].kind != TK_LOCAL && is_mounted(b.t[i].mnt);
	}
	if (busy)
		fprintf(stderr, "shale: a mount remains, '%s' left in place\n", b.work);
	else if (!b.keep)
		/* FTW_MOUNT: never into a mount that outlived its unmount */
		nftw(b.work, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	else if ((p = xasprintf("%s/s3fs.passwd", b.work)) != NULL) {
		unlink(p);
		free(p);
	}
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	for (int i = 0; i < NTARGETS; i++) {
		free(b.t[i].store);
		free(b.t[i].mnt);
		free(b.t[i].dir);
		free(b.t[i].log);
		free(b.t[i].skip);
		buf_release(&b.t[i].notes);
	}
	free(store_dir);
	free(b.gen);
	free(b.self);
	free(b.work);
	return ret;
}
