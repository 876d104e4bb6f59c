/*
 * fs_file.c - handles and files: the handle of every open stream,
 * virtual file and directory (made, tracked, closed), and the operations
 * on a file: open and create, read, write, flush, release, fsync.
 *
 * Not here: directories' listings (fs_ns.c), what the page cache is
 * given once a reader has chosen it (fs_notify.c), and what the files of
 * /series do (fs_series.c, called from here).
 *
 * Threading: a handle is used by one request at a time, except reads of
 * a virtual file, which only read it. hlock guards the list of every
 * open handle (fs->handles, and each handle's prev and next); the rest of
 * a handle is its own. page_cache and read_ahead_set are read and set
 * atomically, without a lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define FS_READ_AHEAD_KB 1024			/* see set_read_ahead */

/* ---- handles ---- */

/*
 * Every open handle is on fs->handles, so that those the kernel never
 * releases (the mount stopped by a signal) are closed at the end.
 */
void
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
int
handle_close(struct fs *fs, struct fs_handle *h)
{
	int rc = 0;

	handle_untrack(fs, h);
	if (h->kind == H_SERIES || h->kind == H_IMPORT)
		fs_series_handle_close(fs, h);
	if (h->kind == H_QUERY || h->kind == H_LIVE)
		fs_query_handle_close(fs, h);
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

void
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
	if (h->a != NULL)
		series_appender_free(h->a);
	buf_release(&h->held);
	free(h);
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
	if (in_series(ino))
		return fs_series_open_handle(fs, ino, fi, out);
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

/*
 * A reader through the page cache (-o page_cache) gets the stream only
 * while no writer has it open, and the stream then does not change
 * (logs_reader_cache): nothing weaker keeps zeros from such a reader.
 * The kernel's filemap_read takes a page, then reads the size, then
 * copies. A page read when the stream ended inside it holds zeros past
 * that end; if the size grows between the take and the copy, the reader
 * copies them as data. Dropping the page (on_data, or the kernel after a
 * direct write) does not reach a reader that holds it, and storing the
 * new bytes into it (send_stores) is undone by the kernel's drop after a
 * direct write. A write that ends inside a line is a second way to the
 * same zeros (the kernel's size counts the bytes the handle holds back),
 * closed by the same rule; tests/integration/fs_readrace.sh checks both.
 */
static void
set_open_flags(struct fuse_file_info *fi, struct fs_handle *h)
{
	int cached = h->cached;

	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = !cached;
	fi->keep_cache = cached;
}

/*
 * The kernel reads a FUSE file ahead 128 KiB at a time, so a cold read
 * through the page cache is slower than direct I/O's 1 MiB reads
 * (shale-mount(1), READING). Raise the mount's read-ahead to 1 MiB where
 * we may (as root, in sysfs), else leave it: once, at the first open,
 * since the kernel sets it again from our answer to FUSE_INIT. The device is found in
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

void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h;
	int rc;
	OP_TIMED("open");

	set_read_ahead(fs);
	if (in_query(ino)) {
		fs_query_open(req, fs, ino, fi);
		return;
	}
	if ((rc = open_handle(fs, ino, fi, &h)) != 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	set_open_flags(fi, h);
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, h);
}

void
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
	if (in_series(parent)) {
		fs_series_create(req, fs, parent, name, fi);
		return;
	}
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
	set_open_flags(fi, h);
	if (fuse_reply_create(req, &e, fi) != 0)
		handle_close(fs, h);
}

void
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
	if (h->kind == H_VFILE || h->kind == H_IMPORT) {
		n = 0;
		if ((size_t)off < h->text.len) {
			n = (ssize_t)(h->text.len - (size_t)off < size ?
			    h->text.len - (size_t)off : size);
			memcpy(out, h->text.data + off, (size_t)n);
		}
	} else if (h->kind == H_SERIES)
		n = series_read(fs_of(req)->s, h->sid, (uint64_t)off, out, size);
	else if (h->kind == H_QUERY || h->kind == H_LIVE)
		n = fs_query_read(fs_of(req), h, (uint64_t)off, out, size);
	else
		n = logs_reader_read(h->r, (uint64_t)off, out, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, out, (size_t)n);
	free(out);
}

void
op_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	ssize_t n;
	OP_TIMED("write");

	(void)ino;
	if (h->kind == H_SERIES || h->kind == H_IMPORT) {
		n = fs_series_write(fs_of(req), h, (uint64_t)off, data, size);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
	if (h->kind == H_QUERY || h->kind == H_LIVE) {
		n = fs_query_write(fs_of(req), h, data, size);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
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

void
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

/*
 * Sync h's stream (NULL: everything), or flush (close(2)) or sync a file
 * of /series, which both wait until stored, hearing interrupts meanwhile.
 */
static int
sync_interruptible(fuse_req_t req, struct fs_handle *h, int flush)
{
	struct fs_wait w = { .stop = 0, .l = fs_of(req)->l };
	int rc;

	fuse_req_interrupt_func(req, on_interrupt, &w);
	if (h != NULL && (h->kind == H_SERIES || h->kind == H_IMPORT) &&
	    (flush || (h->wflags & FS_W_WRITE)))
		rc = flush ? fs_series_flush(fs_of(req), h, &w.stop) :
		    fs_series_fsync(fs_of(req), h, &w.stop);
	else if (h != NULL && h->kind == H_STREAM && h->w != NULL)
		rc = logs_writer_sync_stop(h->w, &w.stop);
	else	/* sync FILE opens read-only: every write, a series' too */
		rc = logs_sync_stop(w.l, &w.stop);
	/* no call of on_interrupt after this one returns: w goes away */
	fuse_req_interrupt_func(req, NULL, NULL);
	if (rc == -EINTR)
		log_info("an fsync or close was interrupted (what it waited for "
		    "is still stored when the store takes it)");
	return rc;
}

void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	int rc = 0;
	OP_TIMED("flush");

	(void)ino;
	if (h->kind == H_SERIES || h->kind == H_IMPORT)
		rc = sync_interruptible(req, h, 1);
	else if (h->kind == H_STREAM && h->w != NULL)
		rc = logs_writer_flush(h->w);
	else if (h->kind == H_QUERY)
		rc = fs_query_flush(fs_of(req), h);
	fuse_reply_err(req, -rc);
}

void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	OP_TIMED("fsync");

	(void)ino;
	(void)datasync;
	fuse_reply_err(req, -sync_interruptible(req, h, 0));
}

void
op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	OP_TIMED("fsyncdir");

	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, -sync_interruptible(req, NULL, 0));
}
