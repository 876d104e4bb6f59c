/*
 * fs_ns.c - attributes, names and directories: what stat(2) shows of an
 * inode, lookups, the changes of the namespace (mkdir, mknod, unlink,
 * rmdir, rename; links and symlinks are refused with EPERM), and the
 * listing of a directory, taken whole at opendir so one sequence of
 * readdir calls sees one directory.
 *
 * Not here: a stream's bytes and its handles (fs_file.c), the
 * invalidations the kernel is sent after a change (fs_notify.c).
 *
 * Threading: nothing here takes a lock of struct fs; struct logs is
 * thread-safe, and a directory's handle is only read after opendir. The
 * handle goes on the list under hlock (handle_track, fs_file.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#include "fs/fs_int.h"
#include "util/xmalloc.h"

#define FS_BLKSIZE	(1024 * 1024)		/* st_blksize: big reads for cat */

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
int
get_stat(struct fs *fs, fuse_ino_t ino, struct stat *st)
{
	struct logs_attr a;
	int rc, vf;

	if (in_series(ino))
		return fs_series_stat(fs, ino, st);
	if (in_query(ino))
		return fs_query_stat(fs, ino, st);
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

/* ---- the namespace ---- */

void
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
		else if (strcmp(name, "series") == 0 && fs->s != NULL)
			reply_entry(req, fs, FS_INO_SERIES_ROOT, NULL);
		else if (strcmp(name, "query") == 0 && fs->s != NULL &&
		    fs->q != NULL)
			reply_entry(req, fs, FS_INO_QUERY_ROOT, NULL);
		else
			fuse_reply_err(req, ENOENT);
		return;
	}
	if (in_series(parent)) {
		fs_series_lookup(req, fs, parent, name);
		return;
	}
	if (in_query(parent)) {
		fs_query_lookup(req, fs, parent, name);
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

void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	int rc;
	OP_TIMED("getattr");

	struct fs_handle *h = fi != NULL ? (struct fs_handle *)(uintptr_t)fi->fh :
	    NULL;
	struct logs_attr a;

	if (in_query(ino)) {
		fs_query_getattr(req, fs, ino);	/* a live file's size is not cached */
		return;
	}
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

void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct stat st;
	int rc = 0;
	OP_TIMED("setattr");

	(void)fi;
	if (in_series(ino)) {
		fs_series_setattr(req, fs, ino, attr, to_set);
		return;
	}
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

/* Changes are made only in stored directories. */
int
check_parent(struct fs *fs, fuse_ino_t parent)
{
	if (fs->o.read_only)
		return -EROFS;
	if (!stored(parent))
		return -EPERM;
	return 0;
}

void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct logs_attr a;
	int rc;
	OP_TIMED("mkdir");

	(void)mode;
	if (in_series(parent)) {
		fs_series_mkdir(req, fs, parent, name);
		return;
	}
	if (in_query(parent)) {
		fs_query_mkdir(req, fs, parent, name);
		return;
	}
	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_mkdir(fs->l, parent, name, &a);
	if (rc != 0)
		fuse_reply_err(req, -rc);
	else
		reply_entry(req, fs, a.id, &a);
}

void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	struct fs *fs = fs_of(req);
	struct logs_attr a;
	int rc;
	OP_TIMED("mknod");

	(void)rdev;
	if (in_series(parent)) {
		fs_series_mknod(req, fs, parent, name, mode);
		return;
	}
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

void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	OP_TIMED("symlink");

	(void)link;
	(void)parent;
	(void)name;
	op_refuse(req);
}

void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	OP_TIMED("link");

	(void)ino;
	(void)newparent;
	(void)newname;
	op_refuse(req);
}

void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	int rc;
	OP_TIMED("unlink");

	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_unlink(fs->l, parent, name);
	fuse_reply_err(req, -rc);
}

void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	int rc;
	OP_TIMED("rmdir");

	if (in_query(parent)) {
		fs_query_rmdir(req, fs, parent, name);
		return;
	}
	if ((rc = check_parent(fs, parent)) == 0)
		rc = logs_rmdir(fs->l, parent, name);
	fuse_reply_err(req, -rc);
}

void
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

void
dir_add(struct fs_handle *h, const char *name, size_t len, fuse_ino_t ino,
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
	dir_add(arg, name, len, a->id, a->type == LOGS_DIR ? S_IFDIR : S_IFREG);
	return 0;
}

void
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
		dir_add(h, ".", 1, FS_INO_ROOT, S_IFDIR);
		dir_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		dir_add(h, ".shale", 6, FS_INO_META, S_IFDIR);
		dir_add(h, "logs", 4, LOGS_ROOT_ID, S_IFDIR);
		if (fs->s != NULL)
			dir_add(h, "series", 6, FS_INO_SERIES_ROOT, S_IFDIR);
		if (fs->s != NULL && fs->q != NULL)
			dir_add(h, "query", 5, FS_INO_QUERY_ROOT, S_IFDIR);
	} else if (ino == FS_INO_META) {
		dir_add(h, ".", 1, FS_INO_META, S_IFDIR);
		dir_add(h, "..", 2, FS_INO_ROOT, S_IFDIR);
		for (size_t i = 0; i < fs_nvfiles; i++)
			dir_add(h, fs_vfiles[i].name, strlen(fs_vfiles[i].name),
			    FS_INO_VFILE + i, S_IFREG);
	} else if (in_series(ino)) {
		rc = fs_series_opendir(fs, ino, h);
	} else if (in_query(ino)) {
		rc = fs_query_opendir(fs, ino, h);
	} else if (!stored(ino)) {
		rc = -ENOTDIR;
	} else if ((rc = logs_getattr(fs->l, ino, &a)) == 0) {
		dir_add(h, ".", 1, ino, S_IFDIR);
		dir_add(h, "..", 2, ino == LOGS_ROOT_ID ? FS_INO_ROOT :
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

void
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

void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	OP_TIMED("releasedir");

	(void)ino;
	handle_close(fs_of(req), (struct fs_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Only the ad hoc queries of /query keep anything for the kernel's lookups. */
void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	OP_TIMED("forget");

	if (in_query(ino))
		fs_query_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}
