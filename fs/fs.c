/*
 * fs.c - the mount: its FUSE session and life (fs_new to fs_free), what
 * is asked of the kernel at FUSE_INIT, statfs, and the table of the FUSE
 * low-level operations (fs_ops). The operations are in fs_ns.c
 * (attributes, names, directories), fs_file.c (handles, files) and
 * fs_xattr.c (a stream's labels as an extended attribute); the
 * page cache's stores and the notifier thread in fs_notify.c; /.shale's
 * files in fs_vfile.c; /series in fs_series.c; what they share in
 * fs_int.h.
 *
 * Each operation translates a request into a call of src/model/logs.h
 * (or series.h) and its result into a reply; nothing here decides what a
 * stream or a series is. Choices made for the kernel:
 *
 *  - Stream files are opened with direct_io: no page cache, so a read
 *    always sees the stream as the engine has it, whoever appended, and
 *    the kernel's idea of the size can never cut a read short. The
 *    writeback cache is off: a write reaches us before write(2) returns.
 *  - With -o page_cache (a writer mount), a stream opened only to read
 *    while no handle has it open to write uses the kernel's page cache
 *    instead, which keeps what was read, and what was appended here
 *    (on_data), for the next reader. The kernel is told to leave the
 *    cache alone when sizes and times change
 *    (FUSE_CAP_EXPLICIT_INVAL_DATA): every change of a stream's bytes
 *    goes through on_data before anyone can see the new size. While
 *    such a reader has the stream open, the stream does not change:
 *    opens to write fail with EBUSY, appends over HTTP and truncations
 *    too (logs_reader_cache). A reader may hold a page read when it
 *    ended in zeros past the old end while the size grows, and would
 *    copy those zeros as data: nothing we tell the kernel reaches a
 *    page it holds (see set_open_flags). Not the default for that.
 *  - Names and attributes are cached by the kernel for entry_timeout and
 *    attr_timeout (1 s by default). After every change made here the
 *    notifier thread tells the kernel to drop the attributes of what
 *    changed, so stat(2) and tail -f see a new size at once.
 *  - The files of /series (fs_series.c) always use direct_io: a series'
 *    text is made when it is read, and a change tells the kernel only to
 *    drop its attributes (series_on_change, fs_notify.c).
 *  - The files of /query (fs_query.c) use direct_io too: a result is
 *    evaluated at open, and a live file's size is not cached at all.
 *  - max_write is 1 MiB, so dd bs=1M is one request per block.
 *
 * Threading: libfuse's multithreaded loop calls the operations from up to
 * max_threads threads at once; struct logs is thread-safe, and a handle
 * (struct fs_handle) is used by one request at a time except for reads of
 * a directory or virtual file listing, which only read it. The locks of
 * struct fs are the notifier's (nlock, store_lock: fs_notify.c) and the
 * handles' list's (hlock: fs_file.c); fs_new makes them, and fs_free
 * destroys them once the loop, the notifier and the callbacks of struct
 * logs are stopped.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/fs_int.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define FS_MAX_WRITE	(1024 * 1024)
#define FS_CAPACITY	((uint64_t)1 << 50)	/* what statfs calls the size: 1 PiB */

void
fs_options_default(struct fs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->entry_timeout = 1.0;
	o->attr_timeout = 1.0;
	o->max_threads = 16;
}

/* ---- metrics of the operations (OP_TIMED, fs_int.h) ---- */

static struct metric *op_count, *op_latency;
static pthread_once_t op_metrics_once = PTHREAD_ONCE_INIT;

static void
op_metrics_init(void)
{
	struct metrics *m = metrics_global();

	op_count = metrics_counter(m, "fuse_operations_total",
	    "FUSE operations answered, by operation.", "op");
	op_latency = metrics_histogram(m, "fuse_operation_duration_seconds",
	    "FUSE operation latency, from the request to the reply.", "op",
	    metrics_latency_bounds, metrics_latency_nbounds);
	fs_notify_metrics_init();
}

void
op_done(struct op_timer *t)
{
	metric_add(metric_series(op_count, t->op), 1);
	metric_observe(metric_series(op_latency, t->op),
	    (double)(clock_mono_ns() - t->t0) / 1e9);
}

/* ---- the operations of the mount as a whole ---- */

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct logs_usage u;
	struct statvfs sv;
	uint64_t used;
	OP_TIMED("statfs");

	(void)ino;
	logs_usage(fs->l, &u);
	used = (u.bytes + 4095) / 4096;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = FS_CAPACITY / 4096;
	sv.f_bfree = sv.f_bavail = sv.f_blocks > used ? sv.f_blocks - used : 0;
	sv.f_files = u.streams + u.dirs + (1u << 30);
	sv.f_ffree = sv.f_favail = 1u << 30;
	sv.f_namemax = LOGS_NAME_MAX;
	if (fs->o.read_only)
		sv.f_flag |= ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	conn->max_write = FS_MAX_WRITE;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* the page cache only where on_data hears of every change */
	if (!fs->o.read_only && fs->o.page_cache &&
	    (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)) {
		conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
		conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
		__atomic_store_n(&fs->page_cache, 1, __ATOMIC_RELAXED);
	}
}

static const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.create = op_create,
	.forget = op_forget,
	.getxattr = op_getxattr,
	.setxattr = op_setxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};

/* ---- mounting ---- */

int
fs_new(const struct fs_options *o, struct fs **out)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fs *fs = xcalloc(1, sizeof(*fs));
	char *opts;

	pthread_once(&op_metrics_once, op_metrics_init);
	fs->o = *o;
	fs->uid = getuid();
	fs->gid = getgid();
	fs->started_ns = clock_wall_ns();
	pthread_mutex_init(&fs->nlock, NULL);
	pthread_mutex_init(&fs->store_lock, NULL);
	pthread_cond_init(&fs->ncond, NULL);
	pthread_mutex_init(&fs->hlock, NULL);
	fs_series_init(fs);

	opts = xasprintf("fsname=shale,subtype=shale%s%s%s",
	    o->read_only ? ",ro" : "", o->fuse_opts != NULL ? "," : "",
	    o->fuse_opts != NULL ? o->fuse_opts : "");
	if (fuse_opt_add_arg(&args, "shale") != 0 ||
	    fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, opts) != 0)
		BUG("out of memory");
	free(opts);
	fs->se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (fs->se == NULL) {
		fs_free(fs);
		return err_set(-EINVAL, "cannot start FUSE (options '%s'?)",
		    o->fuse_opts != NULL ? o->fuse_opts : "");
	}
	*out = fs;
	return 0;
}

int
fs_mount(struct fs *fs, struct logs *l, struct series *s)
{
	if (fuse_session_mount(fs->se, fs->o.mountpoint) != 0)
		return err_set(-EIO, "cannot mount on '%s' (is it a directory, "
		    "and is /dev/fuse usable?)", fs->o.mountpoint);
	fs->l = l;
	fs->s = s;
	fs->mounted = 1;
	fs_notify_start(fs);
	return 0;
}

void
fs_set_views(struct fs *fs, struct views *v)
{
	fs_query_init(fs, v);
}

static struct fuse_session *volatile stop_se;

static void
on_stop_signal(int sig)
{
	(void)sig;
	if (stop_se != NULL)
		fuse_session_exit(stop_se);
}

int
fs_run(struct fs *fs)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct fuse_loop_config *cfg;
	struct sigaction sa;
	sigset_t set;
	int rc;

	/*
	 * Our own handlers, set whatever the disposition was: a daemon
	 * started in the background of a script has SIGINT ignored, and
	 * libfuse would leave it so. Other threads (the engine's) block
	 * these signals, so they reach a FUSE thread, whose read(2) they
	 * interrupt.
	 */
	stop_se = fs->se;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&set, sigs[i]);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, (unsigned)fs->o.max_threads);
	fuse_loop_cfg_set_idle_threads(cfg, 4);
	rc = fuse_session_loop_mt(fs->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	stop_se = NULL;
	return rc < 0 ? err_set(rc, "the FUSE loop failed") : 0;
}

void
fs_free(struct fs *fs)
{
	if (fs == NULL)
		return;
	fs_notify_stop(fs);
	if (fs->se != NULL && fs->mounted) {
		/*
		 * First: a data callback waiting for a page that a read no
		 * thread serves any more locked is let go
		 */
		fuse_session_unmount(fs->se);
		fs->mounted = 0;
	}
	if (fs->l != NULL) {
		logs_on_data(fs->l, NULL, NULL);
		logs_on_change(fs->l, NULL, NULL);
	}
	if (fs->s != NULL)
		series_on_change(fs->s, NULL, NULL);
	if (fs->se != NULL)
		fuse_session_destroy(fs->se);
	/* handles the kernel never released (stopped by a signal) */
	while (fs->handles != NULL)
		handle_close(fs, fs->handles);
	pthread_mutex_destroy(&fs->hlock);
	fs_series_release(fs);
	fs_query_release(fs);
	for (size_t i = 0; i < fs->npending; i++)
		free(fs->pending[i].name);
	free(fs->pending);
	for (size_t i = 0; i < fs->nstores; i++)
		free(fs->stores[i].data);
	free(fs->stores);
	pthread_mutex_destroy(&fs->store_lock);
	pthread_mutex_destroy(&fs->nlock);
	pthread_cond_destroy(&fs->ncond);
	free(fs);
}
