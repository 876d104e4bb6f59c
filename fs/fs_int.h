/*
 * fs_int.h - the mount's insides, shared by fs.c and the virtual files.
 *
 * Inode numbers: 1 is the mount's root (it holds "logs" and ".shale"),
 * 2 is /.shale, 3 and up the virtual files in fs_vfiles[] order; stored
 * ids (LOGS_ROOT_ID = 16 for /logs and up) are used as they are. Ids
 * are never reused, so the generation is always 1.
 */
#ifndef SHALE_FS_INT_H
#define SHALE_FS_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/fs.h"

struct buf;
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

struct fuse_session;

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

/* A read-only virtual file of /.shale: its content, made at open. */
struct fs_vfile {
	const char	*name;
	int		(*render)(struct fs *fs, struct buf *out);
};

extern const struct fs_vfile fs_vfiles[];
extern const size_t fs_nvfiles;

#endif
