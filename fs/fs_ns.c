/*
 * fs.c - the FUSE low-level operations of the mount.
 *
 * Each operation translates a request into a call of src/model/logs.c and
 * its result into a reply; nothing here decides what a stream is. Choices
 * made for the kernel:
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
 *    page it holds (see INTERNALS.md). Not the default for that.
 *  - Names and attributes are cached by the kernel for entry_timeout and
 *    attr_timeout (1 s by default). After every change made here the
 *    notifier thread tells the kernel to drop the attributes of what
 *    changed, so stat(2) and tail -f see a new size at once.
 *  - max_write is 1 MiB, so dd bs=1M is one request per block.
 *
 * Threading: libfuse's multithreaded loop calls the operations from up to
 * max_threads threads at once; struct logs is thread-safe, and a handle
 * (struct fs_handle) is used by one request at a time except for reads of
 * a directory or virtual file listing, which only read it.
 */
#include "config.h"

#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#include "fs/fs_int.h"
#include "model/logs.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

#define FS_MAX_WRITE	(1024 * 1024)
#define FS_INVAL_GATHER_MS 5			/* see notifier_main */
#define FS_STORE_MAX	(32 * 1024 * 1024)	/* see on_data */
#define FS_STORE_DELAY_MS 2			/* see notifier_main */
#define FS_READ_AHEAD_KB 1024			/* see set_read_ahead */
#define FS_BLKSIZE	(1024 * 1024)		/* st_blksize: big reads for cat */
#define FS_CAPACITY	((uint64_t)1 << 50)	/* what statfs calls the size: 1 PiB */

enum handle_kind { H_STREAM, H_VFILE, H_DIR };

struct fs_handle;
static void	handle_free(struct fs_handle *h);

struct dirent_snap {
	char		*name;
	fuse_ino_t	 ino;
	mode_t		 type;
};

struct fs_handle {
	enum handle_kind	 kind;
	struct logs_writer	*w;		/* stream opened for writing */
	struct logs_reader	*r;		/* stream: its reads and fstat */
	int			 cached;	/* r reads through the page cache */
	struct fs_handle	*prev, *next;	/* fs->hlock: every open handle */
	struct buf		 text;		/* virtual file */
	struct dirent_snap	*ents;		/* directory, listed at opendir */
	size_t			 nents, cap;
};

void
fs_options_default(struct fs_options *o)
{
	memset(o, 0, sizeof(*o));
	o->entry_timeout = 1.0;
	o->attr_timeout = 1.0;
	o->max_threads = 16;
}

static struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
vfile_index(fuse_ino_t ino)
{
	if (ino < FS_INO_VFILE || ino >= FS_INO_VFILE + fs_nvfiles)
		return -1;
	return (int)(ino - FS_INO_VFILE);
}

/* A stored directory or stream, as opposed to the virtual ones. */
static int
stored(fuse_ino_t ino)
{
	return ino >= LOGS_ROOT_ID;
}

/* ---- the page cache ---- */

static struct metric_series *cache_stored, *cache_skipped;	/* op_metrics_init */

/*
 * logs' data callback: a stream's bytes from `off` on changed. Called in
 * the changing thread with the stream locked (logs.h), so what is done
 * here is done before stat(2) can show the new size and before a write(2)
 * of this mount returns (and the kernel grows its own idea of the size).
 *
 * What the kernel kept of [off, off + n) can only be zeros: the part of
 * the old last page past the old end, or pages a short read filled. They
 * are dropped now, or a reader would take them for the new bytes. Then a
 * copy of the bytes waits for the notifier, which puts them into the page
 * cache, so the next reader finds them there: not now, because the kernel
 * drops the pages of a direct write's range once the write returns (and
 * only whole pages, see send_stores). The copies are bounded by
 * FS_STORE_MAX bytes; past it they are skipped (a reader then asks us, as
 * for any page not cached).
 *
 * A truncation drops all the inode's pages and the copies still waiting,
 * under store_lock, so none of its old bytes reach the cache afterwards.
 * -ENOENT from the kernel: it has no such inode, so no pages either.
 */
static void
on_data(void *arg, uint64_t id, uint64_t off, const void *p1, size_t n1,
    const void *p2, size_t n2)
{
	struct fs *fs = arg;
	struct fs_store *st;
	size_t n = n1 + n2, i, j;

	if (!__atomic_load_n(&fs->page_cache, __ATOMIC_RELAXED))
		return;
	if (n == 0) {
		pthread_mutex_lock(&fs->store_lock);
		pthread_mutex_lock(&fs->nlock);
		for (i = j = 0; i < fs->nstores; i++) {
			if (fs->stores[i].ino == id) {
				fs->sbytes -= fs->stores[i].len;
				free(fs->stores[i].data);
			} else
				fs->stores[j++] = fs->stores[i];
		}
		fs->nstores = j;
		pthread_mutex_unlock(&fs->nlock);
		fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)id,
		    (off_t)off, 0);
		pthread_mutex_unlock(&fs->store_lock);
		return;
	}
	fuse_lowlevel_notify_inval_inode(fs->se, (fuse_ino_t)id, (off_t)off,
	    (off_t)n);
	pthread_mutex_lock(&fs->nlock);
	if (fs->sbytes + n > FS_STORE_MAX) {
		pthread_mutex_unlock(&fs->nlock);
		metric_add(cache_skipped, (double)n);
		return;
	}
	st = fs->nstores > 0 ? &fs->stores[fs->nstores - 1] : NULL;
	/* appends to one stream come in runs: one copy for a run */
	if (st == NULL || st->ino != id || st->off + st->len != off) {
		fs->stores = xgrow(fs->stores, &fs->scap, fs->nstores + 1,
		    sizeof(*fs->stores));
		st = &fs->stores[fs->nstores++];
		memset(st, 0, sizeof(*st));
		st->ino = id;
		st->off = off;
	}
	st->data = xgrow(st->data, &st->cap, st->len + n, 1);
	if (n1 > 0)
		memcpy(st->data + st->len, p1, n1);
	if (n2 > 0)
		memcpy(st->data + st->len + n1, p2, n2);
	st->len += n;
	fs->sbytes += n;
	if (fs->nstores == 1 && fs->npending == 0)
		pthread_cond_signal(&fs->ncond);
	pthread_mutex_unlock(&fs->nlock);
}

/*
 * Put the waiting copies into the page cache, whole pages only: a page
 * the kernel is given in part, it fills with zeros past the stream's end
 * as it is then, which bytes committed since (their pages already
 * dropped by on_data) would find. A whole page holds bytes that never
 * change but by a truncation, which waits for store_lock. (store_lock)
 */
static void
send_stores(struct fs *fs, struct fs_store *v, size_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), from, to;
	struct fuse_bufvec bv;

	for (size_t i = 0; i < n; i++) {
		from = (v[i].off + page - 1) / page * page;
		to = (v[i].off + v[i].len) / page * page;
		if (to > from) {
			bv = FUSE_BUFVEC_INIT(to - from);
			bv.buf[0].mem = v[i].data + (from - v[i].off);
			if (fuse_lowlevel_notify_store(fs->se,
			    (fuse_ino_t)v[i].ino, (off_t)from, &bv, 0) == 0)
				metric_add(cache_stored, (double)(to - from));
		}
		free(v[i].data);
	}
}

/* ---- the notifier: attribute invalidations, page cache stores ---- */

static void
on_change(void *arg, uint64_t id, const char *name, size_t namelen)
{
	struct fs *fs = arg;
	struct fs_inval *last;

	pthread_mutex_lock(&fs->nlock);
	last = fs->npending > 0 ? &fs->pending[fs->npending - 1] : NULL;
	/* appends to one stream come in runs: keep one entry for a run */
	if (name != NULL || last == NULL || last->name != NULL ||
	    last->ino != id) {
		fs->pending = xgrow(fs->pending, &fs->pcap, fs->npending + 1,
		    sizeof(*fs->pending));
		last = &fs->pending[fs->npending++];
		last->ino = id;
		last->name = name != NULL ? xstrndup(name, namelen) : NULL;
		last->namelen = namelen;
		if (fs->npending == 1)
			pthread_cond_signal(&fs->ncond);
	}
	pthread_mutex_unlock(&fs->nlock);
}

static void *
notifier_main(void *arg)
{
	struct fs *fs = arg;
	struct fs_inval *batch = NULL, *x;
	struct fs_store *stores = NULL;
	size_t n, cap = 0, j, nst, scap = 0;
	int stopping;

	pthread_mutex_lock(&fs->nlock);
	for (;;) {
		while (fs->npending == 0 && fs->nstores == 0 && !fs->nstop)
			pthread_cond_wait(&fs->ncond, &fs->nlock);
		if (fs->npending == 0 && fs->nstop)
			break;
		if (!fs->nstop) {
			/*
			 * Let a burst of appends gather: one message for many,
			 * and no thread switch per append
			 */
			pthread_mutex_unlock(&fs->nlock);
			clock_sleep_ms(FS_INVAL_GATHER_MS);
			pthread_mutex_lock(&fs->nlock);
		}
		n = fs->npending;
		if (n > 0) {
			batch = xgrow(batch, &cap, n, sizeof(*batch));
			memcpy(batch, fs->pending, n * sizeof(*batch));
		}
		fs->npending = 0;
		nst = fs->nstores;
		stopping = fs->nstop;
		pthread_mutex_unlock(&fs->nlock);
		/*
		 * A copy may be of a write whose answer the kernel has not
		 * taken yet; once it has, it drops that range's pages, a
		 * store made before included
		 */
		if (nst > 0 && !stopping)
			clock_sleep_ms(FS_STORE_DELAY_MS);
		/* under store_lock: a truncation waits, then drops them */
		pthread_mutex_lock(&fs->store_lock);
		pthread_mutex_lock(&fs->nlock);
		nst = fs->nstores;
		if (nst > 0) {
			stores = xgrow(stores, &scap, nst, sizeof(*stores));
			memcpy(stores, fs->stores, nst * sizeof(*stores));
		}
		fs->nstores = 0;
		fs->sbytes = 0;
		pthread_mutex_unlock(&fs->nlock);
		send_stores(fs, stores, nst);
		pthread_mutex_unlock(&fs->store_lock);
		for (size_t i = 0; i < n; i++) {
			x = &batch[i];
			/*
			 * -ENOENT only means the kernel does not know the
			 * inode or name: nothing to drop
			 */
			if (x->name != NULL) {
				fuse_lowlevel_notify_inval_entry(fs->se,
				    (fuse_ino_t)x->ino, x->name, x->namelen);
				free(x->name);
				continue;
			}
			for (j = 0; j < i && (batch[j].ino != x->ino ||
			    batch[j].name != NULL); j++)
				;
			if (j < i)
				continue;	/* a repeat within the batch */
			fuse_lowlevel_notify_inval_inode(fs->se,
			    (fuse_ino_t)x->ino, -1, 0);
		}
		pthread_mutex_lock(&fs->nlock);
	}
	pthread_mutex_unlock(&fs->nlock);
	free(batch);
	free(stores);
	return NULL;
}

/* ---- attributes ---- */

static void
fill_stat(struct fs *fs, fuse_ino_t ino, const struct logs_attr *a,
    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = FS_BLKSIZE;
	if (a == NULL || a->type == LOGS_DIR) {
		st->st_mode = S_IFDIR | (fs->o.read_only ? 0555 : 0755);
		/* 1: "unknown", so find(1) does not count on it */
		st->st_nlink = 1;
	} else {
		st->st_mode = S_IFREG | (fs->o.read_only ? 0444 : 0644);
		st->st_nlink = 1;
		st->st_size = (off_t)a->size;
		st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	}
	if (a != NULL) {
		st->st_mtim.tv_sec = a->mtime_ns / 1000000000;
		st->st_mtim.tv_nsec = a->mtime_ns % 1000000000;
		st->st_ctim = st->st_mtim;
		st->st_atim = st->st_mtim;
	} else {
		st->st_mtim.tv_sec = fs->started_ns / 1000000000;
		st->st_ctim = st->st_atim = st->st_mtim;
	}
}

/* Attributes of any inode: 0 or -errno. */
static int
get_stat(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct logs_attr a;
	int rc, vf;

	if (ino == FS_INO_ROOT || ino == FS_INO_META) {
		fill_stat(fs, ino, NULL, st);
		if (ino == FS_INO_META)
			st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	if ((vf = vfile_index(ino)) >= 0) {
		fill_stat(fs, ino, NULL, st);
		st->st_mode = S_IFREG | 0444;	/* size 0, as in /proc */
		return 0;
	}
	if (!stored(ino))
		return -ENOENT;
	if ((rc = logs_getattr(fs->l, ino, &a)) != 0)
		return rc;
	fill_stat(fs, ino, &a, st);
	return 0;
}

static void
reply_entry(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
    const struct logs_attr *a)
{
	struct fuse_entry_param e;
	int rc = 0;

	memset(&e, 0, sizeof(e));
	e.ino = ino;
	e.generation = 1;
	e.attr_timeout = fs->o.attr_timeout;
	e.entry_timeout = fs->o.entry_timeout;
	if (a != NULL)
		fill_stat(fs, ino, a, &e.attr);
	else
		rc = get_stat(fs, ino, &e.attr);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

/* ---- metrics of the operations ---- */

/*
 * fuse_operations_total{op} and fuse_operation_duration_seconds{op}: each
 * operation starts OP_TIMED(name), and the count and the time from its
 * start to its return (it has replied by then) are taken as it returns,
 * whichever way it does.
 */
struct op_timer {
	const char	*op;
	int64_t		 t0;
};

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
	cache_stored = metric_series(metrics_counter(m,
	    "fuse_page_cache_stored_bytes_total",
	    "Appended bytes put into the kernel's page cache for readers.",
	    NULL));
	cache_skipped = metric_series(metrics_counter(m,
	    "fuse_page_cache_skipped_bytes_total",
	    "Appended bytes not put into the page cache: more were waiting "
	    "than the mount keeps copies of.", NULL));
}

static void
op_done(struct op_timer *t)
{
	metric_add(metric_series(op_count, t->op), 1);
	metric_observe(metric_series(op_latency, t->op),
	    (double)(clock_mono_ns() - t->t0) / 1e9);
}

#define OP_TIMED(name) \
	struct op_timer op_timer_ __attribute__((cleanup(op_done))) = \
	    { (name), clock_mono_ns() }

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct logs_attr a;
	int rc;
	OP_TIMED("lookup");

	if (parent == FS_INO_ROOT) {
		if (strcmp(name, "logs") == 0)
			reply_entry(req, fs, LOGS_ROOT_ID, NULL);
		else if (strcmp(name, ".shale") == 0)
			reply_entry(req, fs, FS_INO_META, NULL);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	if (parent == FS_INO_META) {
		for (size_t i = 0; i < fs_nvfiles; i++) {
			if (strcmp(name, fs_vfiles[i].name) == 0) {
				reply_entry(req, fs, FS_INO_VFILE + i, NULL);
				return;
			}
		}
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!stored(parent)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	/* no negative entries: a follower's new streams must show at once */
	if ((rc = logs_lookup(fs->l, parent, name, &a)) != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, a.id, &a);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	int rc;
	OP_TIMED("getattr");

	struct fs_handle *h = fi != NULL ? (struct fs_handle *)(uintptr_t)fi->fh :
	    NULL;
	struct logs_attr a;

	if (h != NULL && h->kind == H_STREAM && h->r != NULL) {
		/* fstat: the open stream, even if no name leads to it now */
		logs_reader_getattr(h->r, &a);
		fill_stat(fs, ino, &a, &st);
		rc = 0;
	} else
		rc = get_stat(fs, ino, &st);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	int rc = 0;
	OP_TIMED("setattr");

	(void)fi;
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);	/* modes and owners are fixed */
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!stored(ino))
			rc = -EPERM;
		else if (fs->o.read_only)
			rc = -EROFS;
		else
			rc = logs_truncate(fs->l, ino, (uint64_t)attr->st_size);
	}
	/* times: a stream's mtime is its last append; touch(1) succeeds */
	if (rc == 0)
		rc = get_stat(fs, ino, &st);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* ---- the namespace ---- */

/* Changes are made only in stored directories. */
static int
check_parent(struct fs *fs, fuse_ino_t parent)
{
	if (fs->o.read_only)
		return -EROFS;
	if (!stored(parent))
		return -EPERM;
	return 0;
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct logs_attr a;
	int rc;
	OP_TIMED("mkdir");

	(void)mode;
	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_mkdir(fs->l, parent, name, &a);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, a.id, &a);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct fs *fs = fs_of(req);
	struct logs_attr a;
	int rc;
	OP_TIMED("mknod");

	(void)rdev;
	if (!S_ISREG(mode))
		rc = -EPERM;		/* devices, fifos and sockets */
	else if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_create(fs->l, parent, name, &a);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, a.id, &a);
}

static void
op_refuse(fuse_req_t req)
{
	fuse_reply_err(req, EPERM);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	OP_TIMED("symlink");

	(void)link;
	(void)parent;
	(void)name;
	op_refuse(req);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	OP_TIMED("link");

	(void)ino;
	(void)newparent;
	(void)newname;
	op_refuse(req);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	int rc;
	OP_TIMED("unlink");

	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_unlink(fs->l, parent, name);
	fuse_reply_err(req, -rc);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	int rc;
	OP_TIMED("rmdir");

	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_rmdir(fs->l, parent, name);
	fuse_reply_err(req, -rc);
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	int rc;
	OP_TIMED("rename");

	if ((rc = check_parent(fs, parent)) == 0)
		rc = check_parent(fs, newparent);
	if (rc == 0 && (flags & ~RENAME_NOREPLACE) != 0)
		rc = -EINVAL;		/* RENAME_EXCHANGE, RENAME_WHITEOUT */
	if (rc == 0)
		rc = logs_rename(fs->l, parent, name, newparent, newname,
		    (flags & RENAME_NOREPLACE) ? LOGS_RENAME_NOREPLACE : 0);
	fuse_reply_err(req, -rc);
}

/* ---- directories ---- */

static void
snap_add(struct fs_handle *h, const char *name, size_t len, fuse_ino_t ino,
    mode_t type)
{
	h->ents = xgrow(h->ents, &h->cap, h->nents + 1, sizeof(*h->ents));
	h->ents[h->nents].name = xstrndup(name, len);
	h->ents[h->nents].ino = ino;
	h->ents[h->nents].type = type;
	h->nents++;
}

static int
snap_entry(void *arg, const char *name, size_t len, const struct logs_attr *a)
{
	snap_add(arg, name, len, a->id, a->type == LOGS_DIR ? S_IFDIR : S_IFREG);
	return 0;
}

/*
 * Every open handle is on fs->handles, so that those the kernel never
 * releases (the mount stopped by a signal) are closed at the end.
 */
static void
handle_track(struct fs *fs, struct fs_handle *h)
{
	pthread_mutex_lock(&fs->hlock);
	h->prev = NULL;
	h->next = fs->handles;
	if (h->next != NULL)
		h->next->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->hlock);
}

static void
handle_untrack(struct fs *fs, struct fs_handle *h)
{
	pthread_mutex_lock(&fs->hlock);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->hlock);
}

/* Close a handle: commit what its writer holds, and free it. */
static int
handle_close(struct fs *fs, struct fs_handle *h)
{
	int rc = 0;

	handle_untrack(fs, h);
	if (h->w != NULL) {
		if ((rc = logs_writer_flush(h->w)) != 0)
			log_error("%zu bytes of a partial line lost at close: %s",
			    logs_writer_held(h->w), strerror(-rc));
		logs_writer_free(h->w);
		h->w = NULL;
	}
	handle_free(h);
	return rc;
}

static void
handle_free(struct fs_handle *h)
{
	if (h == NULL)
		return;
	logs_writer_free(h->w);	/* one not closed: open_handle failed */
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	buf_release(&h->text);
	logs_reader_free(h->r);
	free(h);
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = xcalloc(1, sizeof(*h));
	struct logs_attr a;
	int rc = 0;
	OP_TIMED("opendir");

	h->kind = H_DIR;
	buf_init(&h->text, 0);
	if (ino == FS_INO_ROOT) {
		snap_add(h, ".", 1, FS_INO_ROOT, S_IFDIR);
		snap_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		snap_add(h, ".shale", 6, FS_INO_META, S_IFDIR);
		snap_add(h, "logs", 4, LOGS_ROOT_ID, S_IFDIR);
	} else if (ino == FS_INO_META) {
		snap_add(h, ".", 1, FS_INO_META, S_IFDIR);
		snap_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		for (size_t i = 0; i < fs_nvfiles; i++)
			snap_add(h, fs_vfiles[i].name, strlen(fs_vfiles[i].name),
			    FS_INO_VFILE + i, S_IFREG);
	} else if (!stored(ino)) {
		rc = -ENOTDIR;
	} else if ((rc = logs_getattr(fs->l, ino, &a)) == 0) {
		snap_add(h, ".", 1, ino, S_IFDIR);
		snap_add(h, "..", 2, ino == LOGS_ROOT_ID ? FS_INO_ROOT :
		    a.parent, S_IFDIR);
		rc = logs_readdir(fs->l, ino, snap_entry, h);
	}
	if (rc != 0) {
		handle_free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->cache_readdir = 0;
	handle_track(fs, h);
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, h);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	struct stat st;
	char *out = xmalloc(size);
	size_t used = 0, need;
	OP_TIMED("readdir");

	(void)ino;
	memset(&st, 0, sizeof(st));
	for (size_t i = (size_t)off; i < h->nents; i++) {
		st.st_ino = h->ents[i].ino;
		st.st_mode = h->ents[i].type;
		need = fuse_add_direntry(req, out + used, size - used,
		    h->ents[i].name, &st, (off_t)(i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, out, used);
	free(out);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED("releasedir");

	(void)ino;
	handle_close(fs_of(req), (struct fs_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* ---- files ---- */

static int
wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* Make the handle of an open stream or virtual file: 0 or -errno. */
static int
open_handle(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi,
    struct fs_handle **out)
{
	struct fs_handle *h;
	unsigned wflags = 0;
	int vf, rc;

	*out = NULL;
	h = xcalloc(1, sizeof(*h));
	buf_init(&h->text, 0);
	if ((vf = vfile_index(ino)) >= 0) {
		h->kind = H_VFILE;
		if (wants_write(fi->flags))
			rc = -EACCES;
		else
			rc = fs_vfiles[vf].render(fs, &h->text);
		if (rc != 0)
			goto fail;
		handle_track(fs, h);
		*out = h;
		return 0;
	}
	h->kind = H_STREAM;
	if (!stored(ino)) {
		rc = -EISDIR;
		goto fail;
	}
	/*
	 * made now, so an open file keeps its stream (to read it, or to
	 * fstat it) after rm or mv over it
	 */
	if ((h->r = logs_reader_new(fs->l, ino)) == NULL) {
		rc = -ENOENT;
		goto fail;
	}
	if ((wants_write(fi->flags) || (fi->flags & O_TRUNC)) &&
	    fs->o.read_only) {
		rc = -EROFS;
		goto fail;
	}
	if (wants_write(fi->flags)) {
		if (fi->flags & O_APPEND)
			wflags |= LOGS_W_APPEND;
		if ((fi->flags & (O_SYNC | O_DSYNC)) || fs->o.sync)
			wflags |= LOGS_W_SYNC;
		/* first: EBUSY (logs_reader_cache) must come before a change */
		if ((h->w = logs_writer_new(fs->l, ino, wflags)) == NULL) {
			rc = errno == EBUSY ? -EBUSY : -ENOENT;
			goto fail;
		}
	}
	/* as open(2) does on other file systems, whatever the access mode */
	if ((fi->flags & O_TRUNC) && (rc = logs_truncate(fs->l, ino, 0)) != 0)
		goto fail;
	if (h->w == NULL && __atomic_load_n(&fs->page_cache, __ATOMIC_RELAXED))
		h->cached = logs_reader_cache(h->r);
	handle_track(fs, h);
	*out = h;
	return 0;
fail:
	handle_free(h);
	return rc;
}

static void
set_open_flags(struct fs *fs, struct fuse_file_info *fi, struct fs_handle *h)
{
	int cached = h->cached;

	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = !cached;
	fi->keep_cache = cached;
}

/*
 * The kernel reads a FUSE file ahead 128 KiB at a time; through the page
 * cache a cold cat of 512 MiB took 2.05 s against 1.21 s with the 1 MiB
 * reads of direct I/O (1.20 s at 1 MiB). Raise the mount's read-ahead where we may (as root, in
 * sysfs), else leave it: once, at the first open, since the kernel sets
 * it again from our answer to FUSE_INIT. The device is found in
 * mountinfo, not by a stat(2), which would be a request to ourselves.
 */
static void
set_read_ahead(struct fs *fs)
{
	char line[4096], dir[2048], path[64];
	unsigned maj = 0, min = 0;
	int found = 0;
	FILE *f;

	if (!__atomic_load_n(&fs->page_cache, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&fs->read_ahead_set, 1, __ATOMIC_RELAXED) ||
	    (f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*u %*u %u:%u %*s %2047s", &maj, &min, dir) == 3 &&
		    strcmp(dir, fs->o.mountpoint) == 0)
			found = 1;
	fclose(f);
	if (!found)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
	    maj, min);
	if ((f = fopen(path, "we")) == NULL)
		return;
	fprintf(f, "%d\n", FS_READ_AHEAD_KB);
	if (fclose(f) != 0)
		log_debug("cannot set %s", path);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h;
	int rc;
	OP_TIMED("open");

	set_read_ahead(fs);
	if ((rc = open_handle(fs, ino, fi, &h)) != 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	set_open_flags(fs, fi, h);
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, h);
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct fs_handle *h;
	struct logs_attr a;
	int rc;
	OP_TIMED("create");

	(void)mode;
	if ((rc = check_parent(fs, parent)) == 0) {
		rc = logs_create(fs->l, parent, name, &a);
		/* two creators raced: the loser opens what the winner made */
		if (rc == -EEXIST && !(fi->flags & O_EXCL))
			rc = logs_lookup(fs->l, parent, name, &a);
		if (rc == 0 && a.type != LOGS_STREAM)
			rc = -EISDIR;
	}
	if (rc == 0)
		rc = open_handle(fs, a.id, fi, &h);
	if (rc != 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = a.id;
	e.generation = 1;
	e.attr_timeout = fs->o.attr_timeout;
	e.entry_timeout = fs->o.entry_timeout;
	if ((rc = get_stat(fs, a.id, &e.attr)) != 0) {
		handle_close(fs, h);
		fuse_reply_err(req, -rc);
		return;
	}
	set_open_flags(fs, fi, h);
	if (fuse_reply_create(req, &e, fi) != 0)
		handle_close(fs, h);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	ssize_t n;
	char *out;
	OP_TIMED("read");

	(void)ino;
	/*
	 * The reply is sent from memory this request owns: once the kernel
	 * has it, the reader may close and a release on another thread free
	 * the handle while fuse_reply_buf is still returning.
	 */
	out = xmalloc(size > 0 ? size : 1);
	if (h->kind == H_VFILE) {
		n = 0;
		if ((size_t)off < h->text.len) {
			n = (ssize_t)(h->text.len - (size_t)off < size ?
			    h->text.len - (size_t)off : size);
			memcpy(out, h->text.data + off, (size_t)n);
		}
	} else
		n = logs_reader_read(h->r, (uint64_t)off, out, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, out, (size_t)n);
	free(out);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	ssize_t n;
	OP_TIMED("write");

	(void)ino;
	if (h->kind != H_STREAM || h->w == NULL) {
		fuse_reply_err(req, EBADF);
		return;
	}
	n = logs_writer_write(h->w, (uint64_t)off, data, size);
	if (n < 0) {
		if (n == -EPERM)
			log_info("refused a write at offset %lld of stream %llu "
			    "(not its end)", (long long)off,
			    (unsigned long long)ino);
		fuse_reply_err(req, (int)-n);
	} else
		fuse_reply_write(req, (size_t)n);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc = 0;
	OP_TIMED("flush");

	(void)ino;
	if (h->kind == H_STREAM && h->w != NULL)
		rc = logs_writer_flush(h->w);
	fuse_reply_err(req, -rc);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	OP_TIMED("release");

	(void)ino;
	handle_close(fs_of(req), h);
	fuse_reply_err(req, 0);
}

/*
 * An fsync waits for the store, which may take a while or fail for
 * store_failure_timeout. The kernel waits for our answer even for a
 * process killed meanwhile, and holds the inode's lock, so it must hear
 * the interrupt the kernel sends on a signal: the waiter answers EINTR
 * (what it waited for is still stored when the store takes it).
 */
struct fs_wait {
	int		 stop;		/* __atomic */
	struct logs	*l;
};

/* libfuse calls this with the request's lock held: quick, no FUSE calls */
static void
on_interrupt(fuse_req_t req, void *arg)
{
	struct fs_wait *w = arg;

	(void)req;
	__atomic_store_n(&w->stop, 1, __ATOMIC_SEQ_CST);
	logs_wake(w->l);
}

/* Sync h's stream (NULL: everything), hearing interrupts meanwhile. */
static int
sync_interruptible(fuse_req_t req, struct fs_handle *h)
{
	struct fs_wait w = { .stop = 0, .l = fs_of(req)->l };
	int rc;

	fuse_req_interrupt_func(req, on_interrupt, &w);
	if (h != NULL && h->kind == H_STREAM && h->w != NULL)
		rc = logs_writer_sync_stop(h->w, &w.stop);
	else
		rc = logs_sync_stop(w.l, &w.stop);	/* sync FILE opens read-only */
	/* no call of on_interrupt after this one returns: w goes away */
	fuse_req_interrupt_func(req, NULL, NULL);
	if (rc == -EINTR)
		log_info("an fsync was interrupted (what it waited for is still "
		    "stored when the store takes it)");
	return rc;
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	OP_TIMED("fsync");

	(void)ino;
	(void)datasync;
	fuse_reply_err(req, -sync_interruptible(req, h));
}

static void
op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	OP_TIMED("fsyncdir");

	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -sync_interruptible(req, NULL));
}

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
fs_mount(struct fs *fs, struct logs *l)
{
	if (fuse_session_mount(fs->se, fs->o.mountpoint) != 0)
		return err_set(-EIO, "cannot mount on '%s' (is it a directory, "
		    "and is /dev/fuse usable?)", fs->o.mountpoint);
	fs->l = l;
	fs->mounted = 1;
	logs_on_change(l, on_change, fs);
	if (!logs_read_only(l) && fs->o.page_cache)
		logs_on_data(l, on_data, fs);
	if (pthread_create(&fs->notifier, NULL, notifier_main, fs) != 0)
		BUG("cannot start a thread");
	fs->nstarted = 1;
	return 0;
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
	if (fs->nstarted) {
		pthread_mutex_lock(&fs->nlock);
		fs->nstop = 1;
		pthread_cond_signal(&fs->ncond);
		pthread_mutex_unlock(&fs->nlock);
		pthread_join(fs->notifier, NULL);
	}
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
	if (fs->se != NULL)
		fuse_session_destroy(fs->se);
	/* handles the kernel never released (stopped by a signal) */
	while (fs->handles != NULL)
		handle_close(fs, fs->handles);
	pthread_mutex_destroy(&fs->hlock);
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
