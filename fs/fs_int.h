/*
 * fs_int.h - the mount's insides, shared by the files of fs/: fs.c (the
 * session, its life and the table of operations), fs_ns.c (attributes,
 * names and directories), fs_file.c (handles and files), fs_notify.c
 * (the page cache's stores and the notifier thread), fs_vfile.c (the
 * virtual files), fs_series.c (/series: metric series as files),
 * fs_query.c (/query: PromQL queries and saved views as files) and
 * fs_xattr.c (a stream's labels as user.shale.labels).
 *
 * Inode numbers: 1 is the mount's root (it holds "logs", "series",
 * "query" and ".shale"), 2 is /.shale, 3 and up the virtual files in
 * fs_vfiles[] order; stored ids (LOGS_ROOT_ID = 16 for /logs and up) are
 * used as they are. The series and /query have spaces of their own, told
 * apart by the two bits below the top one, which no stored id reaches
 * (ids count up from 16, one a stream or directory):
 *
 *	01 n	FS_INO_METRIC | n: /series (n = 0), and the directory of the
 *		n-th metric name the mount has named (fs_series.c's table)
 *	10 id	FS_INO_SERIES | id: the file of series id; id 0, which no
 *		series has (SERIES_FIRST_ID), is /series/.import
 *	11 n	FS_INO_QUERY | n: /query (n = 0), its views' directories
 *		and files, and its ad hoc queries (fs_query.c)
 *
 * Ids are never reused, nor a metric's number within the mount's life,
 * so the generation is always 1.
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
#include "model/series.h"
#include "util/buf.h"
#include "util/clock.h"

struct fs_handle;
struct fs_query;
struct views;

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
#define FS_INO_KIND(ino) ((uint64_t)(ino) >> 61)	/* 1: metric, 2: series */
#define FS_INO_METRIC	((uint64_t)1 << 61)
#define FS_INO_SERIES	((uint64_t)2 << 61)
#define FS_INO_NUM(ino)	((uint64_t)(ino) & (((uint64_t)1 << 61) - 1))
#define FS_INO_SERIES_ROOT FS_INO_METRIC	/* /series */
#define FS_INO_IMPORT	FS_INO_SERIES		/* /series/.import */
#define FS_INO_QUERY	((uint64_t)3 << 61)
#define FS_INO_QUERY_ROOT FS_INO_QUERY		/* /query */

struct fs {
	struct logs		*l;
	struct series		*s;		/* NULL: no /series */
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

	/*
	 * /series (fs_series.c): the metric names given inode numbers,
	 * metrics[n - 1] for FS_INO_METRIC | n, and their indexes in name
	 * order for lookups; the last import's result, as
	 * series/.import reads. Lock order: hlock, mlock, ilock (none is
	 * held while another is taken today).
	 */
	pthread_mutex_t		 mlock;
	char			**metrics;	/* mlock */
	uint32_t		*morder;	/* mlock: indexes sorted by name */
	size_t			 nmetrics, mcap, ocap;	/* mlock */
	pthread_mutex_t		 ilock;
	struct buf		 last_import;	/* ilock */
	uint64_t		 imports;	/* ilock: imports done */

	/* /query (fs_query.c): NULL without views or series */
	struct views		*v;
	struct fs_query		*q;
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

enum handle_kind { H_STREAM, H_VFILE, H_DIR, H_SERIES, H_IMPORT, H_QUERY,
	H_LIVE };

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

	/* H_SERIES and H_IMPORT (fs_series.c) */
	uint64_t		 sid;		/* the series */
	struct series_appender	*a;		/* opened to write */
	unsigned		 wflags;	/* FS_W_* */
	struct buf		 held;		/* a partial line; an import's text */
	uint64_t		 wpos;		/* where the last write ended */
	uint64_t		 last_seq;	/* of the last batch written */
	size_t			 checked;	/* H_IMPORT: bytes of held checked */
	int			 failed;	/* H_IMPORT: a write was refused */

	/* H_QUERY and H_LIVE (fs_query.c); text and held as above */
	uint64_t		 qino;		/* the file's inode */
};

enum {
	FS_W_WRITE	= 1 << 0,	/* opened to write */
	FS_W_APPEND	= 1 << 1,	/* O_APPEND: offsets ignored */
	FS_W_SYNC	= 1 << 2,	/* O_SYNC, O_DSYNC or --sync */
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
	return ino >= LOGS_ROOT_ID && ino < FS_INO_METRIC;
}

/* Anything under /series, /series itself included. */
static inline int
in_series(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) == 1 || FS_INO_KIND(ino) == 2;
}

/* Anything under /query, /query itself included. */
static inline int
in_query(fuse_ino_t ino)
{
	return FS_INO_KIND(ino) == 3;
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

/* Add an entry to a directory's listing (opendir). */
void	dir_add(struct fs_handle *h, const char *name, size_t len,
	    fuse_ino_t ino, mode_t type);
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
void	op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);

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

/* ---- user.shale.labels (fs_xattr.c) ---- */

void	op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
	    size_t size);
void	op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
	    const char *value, size_t size, int flags);
void	op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void	op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* ---- the notifier (fs_notify.c) ---- */

/* Register the page cache's counters (once, from fs_new). */
void	fs_notify_metrics_init(void);
/* Hear fs->l's and fs->s's changes, and start the notifier thread. */
void	fs_notify_start(struct fs *fs);
/* Stop the notifier thread (if started) after its last invalidations. */
void	fs_notify_stop(struct fs *fs);

/* ---- /series (fs_series.c) ---- */

/*
 * Each is called by the operation of fs_ns.c or fs_file.c of the same
 * name when the inode (or parent) is under /series (in_series), and
 * replies itself.
 */
void	fs_series_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name);
int	fs_series_stat(struct fs *fs, fuse_ino_t ino, struct stat *st);
void	fs_series_setattr(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
	    struct stat *attr, int to_set);
void	fs_series_mkdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name);
void	fs_series_mknod(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name, mode_t mode);
void	fs_series_create(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name, struct fuse_file_info *fi);
/* The listing of /series or a metric's directory into h: 0 or -errno. */
int	fs_series_opendir(struct fs *fs, fuse_ino_t ino, struct fs_handle *h);
/* The handle of an open series file or series/.import: 0 or -errno. */
int	fs_series_open_handle(struct fs *fs, fuse_ino_t ino,
	    struct fuse_file_info *fi, struct fs_handle **out);
/* A write to either: the bytes taken, or -errno. */
ssize_t	fs_series_write(struct fs *fs, struct fs_handle *h, uint64_t off,
	    const char *data, size_t size);
/* close(2): commit a held line and wait until stored, or import: 0 or -errno. */
int	fs_series_flush(struct fs *fs, struct fs_handle *h, const int *stop);
/*
 * fsync(2) of a file opened to write: commit a held line and wait until
 * stored: 0 or -errno. (One opened to read waits for every write, as a
 * stream's does: logs_sync_stop.)
 */
int	fs_series_fsync(struct fs *fs, struct fs_handle *h, const int *stop);
/* The handle's end (handle_close): what series_flush does, without waiting. */
void	fs_series_handle_close(struct fs *fs, struct fs_handle *h);
/* Set up and tear down fs's part (fs_new, fs_free). */
void	fs_series_init(struct fs *fs);
void	fs_series_release(struct fs *fs);

/* ---- /query (fs_query.c) ---- */

/*
 * As those of /series: called by the operation of the same name when the
 * inode (or parent) is under /query (in_query); those with a request
 * reply themselves.
 */
void	fs_query_lookup(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name);
int	fs_query_stat(struct fs *fs, fuse_ino_t ino, struct stat *st);
void	fs_query_getattr(fuse_req_t req, struct fs *fs, fuse_ino_t ino);
void	fs_query_mkdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name);
void	fs_query_rmdir(fuse_req_t req, struct fs *fs, fuse_ino_t parent,
	    const char *name);
int	fs_query_opendir(struct fs *fs, fuse_ino_t ino, struct fs_handle *h);
/* Open a file of /query: a result is evaluated here. */
void	fs_query_open(fuse_req_t req, struct fs *fs, fuse_ino_t ino,
	    struct fuse_file_info *fi);
ssize_t	fs_query_read(struct fs *fs, struct fs_handle *h, uint64_t off,
	    char *out, size_t size);
/* A write to a view's expr, range or step: the bytes taken, or -errno. */
ssize_t	fs_query_write(struct fs *fs, struct fs_handle *h, const char *data,
	    size_t size);
/* close(2): store what a write left: 0 or -errno. */
int	fs_query_flush(struct fs *fs, struct fs_handle *h);
void	fs_query_handle_close(struct fs *fs, struct fs_handle *h);
/* The kernel forgets nlookup lookups of ino. */
void	fs_query_forget(struct fs *fs, fuse_ino_t ino, uint64_t nlookup);
/* Show /query over v (fs_set_views), and tear it down (fs_free). */
void	fs_query_init(struct fs *fs, struct views *v);
void	fs_query_release(struct fs *fs);

#endif
