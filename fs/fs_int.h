/*
 * fs_int.h - the mount's insides, shared by the files of fs/: fs.c (the
 * session, its life and the table of operations), fs_ns.c (attributes,
 * names and directories), fs_file.c (handles and files), fs_notify.c
 * (the page cache's stores and the notifier thread) and fs_vfile.c (the
 * virtual files).
 *
 * Inode numbers: 1 is the mount's root (it holds "logs" and ".shale"),
 * 2 is /.shale, 3 and up the virtual files in fs_vfiles[] order; stored
 * ids (LOGS_ROOT_ID = 16 for /logs and up) are used as they are. Ids
 * are never reused, so the generation is always 1.
 */
#ifndef SHALE_FS_INT_H
#define SHALE_FS_INT_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/fs.h"
#include "model/logs.h"
#include "util/buf.h"
#include "util/clock.h"

struct fs_handle;

/* An invalidation for the kernel: an inode's attributes, or a name in it. */
struct fs_inval {
	uint64_t	 ino;
	char		*name;		/* NULL: the attributes */
	size_t		 namelen;
};
/* Appended bytes to put into the kernel's page cache (see on_data). */
struct fs_store {
	uint64_t	 ino;
	uint64_t	 off;
	char		*data;
	size_t		 len, cap;
};

#define FS_INO_ROOT	1
#define FS_INO_META	2
#define FS_INO_VFILE	3

struct fs {
	struct logs		*l;
	struct fs_options	 o;
	struct fuse_session	*se;
	uid_t			 uid;
	gid_t			 gid;
	int64_t			 started_ns;
	int			 mounted;
	int			 page_cache;	/* atomic: set at FUSE_INIT */
	int			 read_ahead_set;	/* atomic: set_read_ahead */

	/*
	 * Attribute invalidations: streams and directories whose size or
	 * times changed, sent to the kernel by the notifier thread (a
	 * request handler must not send them).
	 */
	pthread_t		 notifier;
	pthread_mutex_t		 nlock;
	pthread_cond_t		 ncond;
	struct fs_inval		*pending;	/* nlock */
	size_t			 npending, pcap;	/* nlock */
	int			 nstop;		/* nlock */
	struct fs_store		*stores;	/* nlock: for the page cache */
	size_t			 nstores, scap;	/* nlock */
	size_t			 sbytes;	/* nlock: bytes in stores */
	pthread_mutex_t		 store_lock;	/* held over the stores' sending */
	int			 nstarted;

	pthread_mutex_t		 hlock;
	struct fs_handle	*handles;	/* hlock: every open file and directory */
};

/* ---- the virtual files (fs_vfile.c) ---- */

/* A read-only virtual file of /.shale: its content, made at open. */
struct fs_vfile {
	const char	*name;
	int		(*render)(struct fs *fs, struct buf *out);
};

extern const struct fs_vfile fs_vfiles[];
extern const size_t fs_nvfiles;

/* ---- handles (fs_file.c) ---- */

enum handle_kind { H_STREAM, H_VFILE, H_DIR };

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

/* Put h on fs->handles. */
void	handle_track(struct fs *fs, struct fs_handle *h);
/* Close a handle: commit what its writer holds, and free it. */
int	handle_close(struct fs *fs, struct fs_handle *h);
/* Free a handle not on fs->handles (NULL: nothing). */
void	handle_free(struct fs_handle *h);

/* ---- small helpers ---- */

static inline struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* A virtual file's index in fs_vfiles[], or -1. */
static inline int
vfile_index(fuse_ino_t ino)
{
	if (ino < FS_INO_VFILE || ino >= FS_INO_VFILE + fs_nvfiles)
		return -1;
	return (int)(ino - FS_INO_VFILE);
}

/* A stored directory or stream, as opposed to the virtual ones. */
static inline int
stored(fuse_ino_t ino)
{
	return ino >= LOGS_ROOT_ID;
}

/* ---- metrics of the operations (fs.c) ---- */

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

void	op_done(struct op_timer *t);

#define OP_TIMED(name) \
	struct op_timer op_timer_ __attribute__((cleanup(op_done))) = \
	    { (name), clock_mono_ns() }

/* ---- attributes and names (fs_ns.c) ---- */

/* Attributes of any inode: 0 or -errno. */
int	get_stat(struct fs *fs, fuse_ino_t ino, struct stat *st);
/* Changes are made only in stored directories: 0 or -errno. */
int	check_parent(struct fs *fs, fuse_ino_t parent);

void	op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void	op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void	op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
	    int to_set, struct fuse_file_info *fi);
void	op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	    mode_t mode);
void	op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
	    mode_t mode, dev_t rdev);
void	op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
	    const char *name);
void	op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	    const char *newname);
void	op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void	op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void	op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
	    fuse_ino_t newparent, const char *newname, unsigned int flags);
void	op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void	op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	    struct fuse_file_info *fi);
void	op_releasedir(fuse_req_t req, fuse_ino_t ino,
	    struct fuse_file_info *fi);

/* ---- files (fs_file.c) ---- */

void	op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void	op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
	    mode_t mode, struct fuse_file_info *fi);
void	op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	    struct fuse_file_info *fi);
void	op_write(fuse_req_t req, fuse_ino_t ino, const char *data,
	    size_t size, off_t off, struct fuse_file_info *fi);
void	op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void	op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void	op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	    struct fuse_file_info *fi);
void	op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
	    struct fuse_file_info *fi);

/* ---- the notifier (fs_notify.c) ---- */

/* Register the page cache's counters (once, from fs_new). */
void	fs_notify_metrics_init(void);
/* Hear fs->l's changes, and start the notifier thread. */
void	fs_notify_start(struct fs *fs);
/* Stop the notifier thread (if started) after its last invalidations. */
void	fs_notify_stop(struct fs *fs);

#endif
