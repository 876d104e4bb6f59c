/*
 * memfs.c - 'shale bench memfs [-f] MOUNTPOINT': the bare FUSE baseline.
 *
 * A low-level FUSE filesystem that keeps its files in memory and does
 * nothing else, so 'shale bench fs' can tell what FUSE itself costs on
 * this machine from what shale adds. To make the comparison fair it uses
 * the shale mount's FUSE settings: the multithreaded loop (clone_fd 0,
 * max_idle_threads 10), max_write 1 MiB, no writeback cache, direct I/O
 * on regular files, 1 s entry and attribute timeouts, no
 * default_permissions. Not for keeping anything: the files live as long
 * as the mount.
 *
 * A node's FUSE id is its address (the root is FUSE_ROOT_ID); st_ino is
 * a counter. A node is freed once it has no name, no kernel lookups and
 * no open handles. Locks, in this order: memfs.lock (the tree: names,
 * links, lookup and open counts), then a node's rwlock (its data, size,
 * mode, owner, times and nlink).
 */
#include "config.h"

#define FUSE_USE_VERSION 35

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MEMFS_MAX_WRITE	(1024 * 1024)	/* as the shale mount */
#define MEMFS_TIMEOUT	1.0		/* entry and attribute timeouts, s */

struct mnode {
	/* memfs.lock */
	struct mnode	*parent;	/* NULL once unlinked (and for the root) */
	struct mnode	*children;	/* directories: first child */
	struct mnode	*next;		/* next sibling */
	char		*name;
	uint64_t	 nlookup;	/* kernel references */
	uint64_t	 nopen;		/* open handles */

	pthread_rwlock_t lock;
	/* lock */
	struct buf	 data;		/* regular files: the bytes */
	mode_t		 mode;		/* type never changes */
	uid_t		 uid;
	gid_t		 gid;
	nlink_t		 nlink;
	struct timespec	 atime, mtime, ctime;
	ino_t		 ino;		/* fixed */
};

static struct {
	pthread_mutex_t	 lock;
	struct mnode	 root;
	ino_t		 next_ino;	/* lock */
} memfs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct mnode *
mnode_get(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &memfs.root : (struct mnode *)(uintptr_t)ino;
}

static fuse_ino_t
mnode_id(struct mnode *n)
{
	return n == &memfs.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static void
mnode_init(struct mnode *n, mode_t mode, const struct fuse_ctx *ctx)
{
	memset(n, 0, sizeof(*n));
	pthread_rwlock_init(&n->lock, NULL);
	buf_init(&n->data, 0);
	n->mode = mode;
	n->uid = ctx ? ctx->uid : 0;
	n->gid = ctx ? ctx->gid : 0;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	n->atime = n->ctime = n->mtime;
}

/* Free `n` if nothing refers to it any more; memfs.lock held. */
static void
mnode_maybe_free(struct mnode *n)
{
	if (n == &memfs.root || n->parent != NULL || n->nlookup || n->nopen)
		return;
	buf_release(&n->data);
	pthread_rwlock_destroy(&n->lock);
	free(n->name);
	free(n);
}

/* memfs.lock held. */
static struct mnode *
mnode_child(struct mnode *dir, const char *name)
{
	struct mnode *c;

	for (c = dir->children; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* memfs.lock held. */
static void
mnode_link(struct mnode *dir, struct mnode *n, const char *name)
{
	free(n->name);
	n->name = xstrdup(name);
	n->parent = dir;
	n->next = dir->children;
	dir->children = n;
	pthread_rwlock_wrlock(&n->lock);
	n->nlink = S_ISDIR(n->mode) ? 2 : 1;
	pthread_rwlock_unlock(&n->lock);
}

/* memfs.lock held. */
static void
mnode_unlink(struct mnode *n)
{
	struct mnode **pp;

	for (pp = &n->parent->children; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	n->next = NULL;
	n->parent = NULL;
	pthread_rwlock_wrlock(&n->lock);
	n->nlink = 0;
	clock_gettime(CLOCK_REALTIME, &n->ctime);
	pthread_rwlock_unlock(&n->lock);
}

/* n->lock held. */
static void
mnode_stat(struct mnode *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->data.len;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = n->atime;
	st->st_mtim = n->mtime;
	st->st_ctim = n->ctime;
}

/* Set the size to `size`, zero-filling; n->lock held for writing. */
static int
mnode_truncate(struct mnode *n, size_t size)
{
	struct buf *b = &n->data;
	int rc;

	if (size == 0) {
		buf_release(b);
		buf_init(b, 0);
	} else if (size < b->len) {
		b->len = size;
		b->data[size] = '\0';
	} else if (size > b->len) {
		if ((rc = buf_reserve(b, size - b->len)) != 0)
			return rc;
		memset(b->data + b->len, 0, size - b->len + 1);
		b->len = size;
	}
	return 0;
}

static void
fill_entry(struct mnode *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = mnode_id(n);
	e->attr_timeout = MEMFS_TIMEOUT;
	e->entry_timeout = MEMFS_TIMEOUT;
	pthread_rwlock_rdlock(&n->lock);
	mnode_stat(n, &e->attr);
	pthread_rwlock_unlock(&n->lock);
}

static void
reply_entry(fuse_req_t req, struct mnode *n)
{
	struct fuse_entry_param e;

	fill_entry(n, &e);
	fuse_reply_entry(req, &e);
}

static void
memfs_init(void *ud, struct fuse_conn_info *conn)
{
	/* libfuse raises max_pages to match */
	conn->max_write = MEMFS_MAX_WRITE;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void
memfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mnode *n;

	pthread_mutex_lock(&memfs.lock);
	if ((n = mnode_child(mnode_get(parent), name)) != NULL)
		n->nlookup++;
	pthread_mutex_unlock(&memfs.lock);
	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else
		reply_entry(req, n);
}

static void
memfs_forget_one(fuse_ino_t ino, uint64_t nlookup)
{
	struct mnode *n = mnode_get(ino);

	pthread_mutex_lock(&memfs.lock);
	n->nlookup -= nlookup < n->nlookup ? nlookup : n->nlookup;
	mnode_maybe_free(n);
	pthread_mutex_unlock(&memfs.lock);
}

static void
memfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	memfs_forget_one(ino, nlookup);
	fuse_reply_none(req);
}

static void
memfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		memfs_forget_one(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void
memfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);
	struct stat st;

	pthread_rwlock_rdlock(&n->lock);
	mnode_stat(n, &st);
	pthread_rwlock_unlock(&n->lock);
	fuse_reply_attr(req, &st, MEMFS_TIMEOUT);
}

static void
memfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);
	struct timespec now;
	struct stat st;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	pthread_rwlock_wrlock(&n->lock);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(n->mode))
			rc = -EISDIR;
		else if ((rc = mnode_truncate(n, (size_t)attr->st_size)) == 0)
			n->mtime = now;
	}
	if (rc == 0) {
		if (to_set & FUSE_SET_ATTR_MODE)
			n->mode = (n->mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			n->uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			n->gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_ATIME)
			n->atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			n->atime = now;
		if (to_set & FUSE_SET_ATTR_MTIME)
			n->mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			n->mtime = now;
		n->ctime = (to_set & FUSE_SET_ATTR_CTIME) ? attr->st_ctim : now;
		mnode_stat(n, &st);
	}
	pthread_rwlock_unlock(&n->lock);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, MEMFS_TIMEOUT);
}

/* A new node `name` in `parent`, looked up once and opened `nopen` times. */
static int
memfs_make(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    uint64_t nopen, struct mnode **out)
{
	struct mnode *dir = mnode_get(parent), *n;
	int rc = 0;

	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	n = xmalloc(sizeof(*n));
	mnode_init(n, mode, fuse_req_ctx(req));
	n->nlookup = 1;
	n->nopen = nopen;
	pthread_mutex_lock(&memfs.lock);
	if (dir->parent == NULL && dir != &memfs.root)
		rc = -ENOENT;
	else if (mnode_child(dir, name) != NULL)
		rc = -EEXIST;
	else {
		n->ino = ++memfs.next_ino;
		mnode_link(dir, n, name);
		pthread_rwlock_wrlock(&dir->lock);
		dir->mtime = dir->ctime = n->mtime;
		pthread_rwlock_unlock(&dir->lock);
	}
	pthread_mutex_unlock(&memfs.lock);
	if (rc != 0) {
		n->nlookup = n->nopen = 0;
		mnode_maybe_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static void
memfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct mnode *n;
	int rc;

	if ((rc = memfs_make(req, parent, name, S_IFDIR | (mode & 07777), 0, &n)) != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, n);
}

static void
memfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct mnode *n;
	int rc;

	if ((rc = memfs_make(req, parent, name, S_IFREG | (mode & 07777), 1, &n)) != 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fill_entry(n, &e);
	fi->direct_io = 1;
	fi->fh = (uint64_t)(unsigned)fi->flags;
	fuse_reply_create(req, &e, fi);
}

static void
memfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);

	if (S_ISDIR(n->mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* the kernel leaves O_TRUNC to us (atomic_o_trunc) */
	if (fi->flags & O_TRUNC) {
		pthread_rwlock_wrlock(&n->lock);
		mnode_truncate(n, 0);
		clock_gettime(CLOCK_REALTIME, &n->mtime);
		n->ctime = n->mtime;
		pthread_rwlock_unlock(&n->lock);
	}
	pthread_mutex_lock(&memfs.lock);
	n->nopen++;
	pthread_mutex_unlock(&memfs.lock);
	fi->direct_io = 1;
	fi->fh = (uint64_t)(unsigned)fi->flags;
	fuse_reply_open(req, fi);
}

static void
memfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);
	size_t len;

	/* the reply copies out of the buffer before the lock is dropped */
	pthread_rwlock_rdlock(&n->lock);
	len = n->data.len;
	if ((uint64_t)off >= len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, n->data.data + off,
		    size < len - (size_t)off ? size : len - (size_t)off);
	pthread_rwlock_unlock(&n->lock);
}

static void
memfs_write(fuse_req_t req, fuse_ino_t ino, const char *p, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);
	struct buf *b = &n->data;
	size_t at;
	int rc = 0;

	pthread_rwlock_wrlock(&n->lock);
	/* O_APPEND writes go to the true end, whatever the kernel thinks */
	at = (fi->fh & O_APPEND) ? b->len : (size_t)off;
	if (at > b->len)
		rc = mnode_truncate(n, at);	/* a hole reads as zeroes */
	if (rc == 0 && at + size > b->len)
		rc = buf_reserve(b, at + size - b->len);
	if (rc == 0 && size > 0) {
		memcpy(b->data + at, p, size);
		if (at + size > b->len) {
			b->len = at + size;
			b->data[b->len] = '\0';
		}
		clock_gettime(CLOCK_REALTIME, &n->mtime);
		n->ctime = n->mtime;
	}
	pthread_rwlock_unlock(&n->lock);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

static void
memfs_ok(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
memfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
memfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnode *n = mnode_get(ino);

	pthread_mutex_lock(&memfs.lock);
	n->nopen--;
	mnode_maybe_free(n);
	pthread_mutex_unlock(&memfs.lock);
	fuse_reply_err(req, 0);
}

static void
memfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct mnode *dir = mnode_get(ino), *c;
	char *out = xmalloc(size);
	size_t used = 0, sz;
	struct stat st;
	off_t i = 0;

	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&memfs.lock);
	c = dir->children;
	/* offsets are positions: ".", "..", then the children */
	for (; ; i++) {
		const char *name;

		if (i == 0 || i == 1) {
			name = i == 0 ? "." : "..";
			st.st_mode = S_IFDIR;
			st.st_ino = i == 0 || dir->parent == NULL ? dir->ino :
			    dir->parent->ino;
		} else {
			if (i > 2)
				c = c->next;
			if (c == NULL)
				break;
			name = c->name;
			st.st_mode = c->mode & S_IFMT;
			st.st_ino = c->ino;
		}
		if (i < off)
			continue;
		sz = fuse_add_direntry(req, out + used, size - used, name, &st, i + 1);
		if (sz > size - used)
			break;
		used += sz;
	}
	pthread_mutex_unlock(&memfs.lock);
	fuse_reply_buf(req, out, used);
	free(out);
}

static void
memfs_remove(fuse_req_t req, fuse_ino_t parent, const char *name, int isdir)
{
	struct mnode *dir = mnode_get(parent), *n;
	int rc = 0;

	pthread_mutex_lock(&memfs.lock);
	if ((n = mnode_child(dir, name)) == NULL)
		rc = ENOENT;
	else if (!isdir && S_ISDIR(n->mode))
		rc = EISDIR;
	else if (isdir && !S_ISDIR(n->mode))
		rc = ENOTDIR;
	else if (isdir && n->children != NULL)
		rc = ENOTEMPTY;
	else {
		mnode_unlink(n);
		mnode_maybe_free(n);
	}
	pthread_mutex_unlock(&memfs.lock);
	fuse_reply_err(req, rc);
}

static void
memfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	memfs_remove(req, parent, name, 0);
}

static void
memfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	memfs_remove(req, parent, name, 1);
}

static void
memfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct mnode *from = mnode_get(parent), *to = mnode_get(newparent);
	struct mnode *n, *old, *up;
	int rc = 0;

	if (flags & ~RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (strlen(newname) > NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	pthread_mutex_lock(&memfs.lock);
	n = mnode_child(from, name);
	old = mnode_child(to, newname);
	for (up = to; n != NULL && up != NULL && up != n; up = up->parent)
		;
	if (n == NULL)
		rc = ENOENT;
	else if (up == n)
		rc = EINVAL;	/* a directory into itself */
	else if (old == n)
		rc = 0;
	else if (old != NULL && (flags & RENAME_NOREPLACE))
		rc = EEXIST;
	else if (old != NULL && S_ISDIR(old->mode) && !S_ISDIR(n->mode))
		rc = EISDIR;
	else if (old != NULL && !S_ISDIR(old->mode) && S_ISDIR(n->mode))
		rc = ENOTDIR;
	else if (old != NULL && old->children != NULL)
		rc = ENOTEMPTY;
	else {
		if (old != NULL) {
			mnode_unlink(old);
			mnode_maybe_free(old);
		}
		mnode_unlink(n);
		mnode_link(to, n, newname);
	}
	pthread_mutex_unlock(&memfs.lock);
	fuse_reply_err(req, rc);
}

static void
memfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = sv.f_bfree = sv.f_bavail = (fsblkcnt_t)1 << 28;	/* 1 TiB */
	sv.f_files = sv.f_ffree = sv.f_favail = (fsfilcnt_t)1 << 20;
	sv.f_namemax = NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops memfs_ops = {
	.init = memfs_init,
	.lookup = memfs_lookup,
	.forget = memfs_forget,
	.forget_multi = memfs_forget_multi,
	.getattr = memfs_getattr,
	.setattr = memfs_setattr,
	.mkdir = memfs_mkdir,
	.unlink = memfs_unlink,
	.rmdir = memfs_rmdir,
	.rename = memfs_rename,
	.create = memfs_create,
	.open = memfs_open,
	.read = memfs_read,
	.write = memfs_write,
	.flush = memfs_ok,
	.release = memfs_release,
	.fsync = memfs_fsync,
	.readdir = memfs_readdir,
	.statfs = memfs_statfs,
};

static int
usage(void)
{
	fprintf(stderr, "usage: shale bench memfs [-f] MOUNTPOINT\n");
	return 2;
}

int
cmd_bench_memfs(int argc, char **argv)
{
	char a0[] = "memfs", a1[] = "-o", a2[] = "fsname=memfs";
	char *fargv[] = { a0, a1, a2, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = 10 };
	struct fuse_session *se = NULL;
	char *mnt = NULL;
	int c, fg = 0, rc = -1, sig = 0, mounted = 0;

	optind = 1;
	while ((c = getopt(argc, argv, "fh")) != -1) {
		switch (c) {
		case 'f':
			fg = 1;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc)
		return usage();
	/* absolute: daemonizing moves to / and unmounting needs the path */
	if ((mnt = realpath(argv[optind], NULL)) == NULL)
		return cmd_fail("cannot find '%s': %s", argv[optind], strerror(errno));
	mnode_init(&memfs.root, S_IFDIR | 0755, NULL);
	memfs.root.ino = memfs.next_ino = 1;
	if ((se = fuse_session_new(&args, &memfs_ops, sizeof(memfs_ops), NULL)) == NULL) {
		cmd_fail("cannot start a FUSE session");
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		cmd_fail("cannot set signal handlers");
		goto out;
	}
	sig = 1;
	if (fuse_session_mount(se, mnt) != 0) {
		cmd_fail("cannot mount on '%s'", mnt);
		goto out;
	}
	mounted = 1;
	fuse_daemonize(fg);
	/* a positive result is the signal that stopped the loop: a clean end */
	rc = fuse_session_loop_mt(se, &lc);
	if (rc > 0)
		rc = 0;
	if (rc != 0)
		log_error("memfs on '%s' stopped: %s", mnt, strerror(-rc));
out:
	if (mounted)
		fuse_session_unmount(se);
	if (sig)
		fuse_remove_signal_handlers(se);
	if (se != NULL)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(mnt);
	return rc == 0 ? 0 : 1;
}
