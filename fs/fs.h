/*
 * fs.h - the mount: a FUSE file system (low-level API) that shows the log
 * streams of a struct logs under /logs, the metric series of a struct
 * series under /series, PromQL over them and the saved query views of a
 * struct views under /query, and a few read-only virtual files under
 * /.shale.
 * It knows nothing of the engine's insides and never touches the object
 * store; every decision about a stream is made in src/model/logs.h, about
 * a series in src/model/series.h.
 *
 * Lifecycle: fs_new() checks the options, fs_mount() mounts and returns
 * once the kernel routes the mount point to us; fs_run() serves requests until the file system is
 * unmounted (fusermount3 -u, umount) or SIGINT, SIGTERM or SIGHUP arrive;
 * fs_free() unmounts if still mounted. Writes still held by open handles
 * are committed when the kernel releases them, before fs_run() returns.
 */
#ifndef SHALE_FS_H
#define SHALE_FS_H

struct fs;
struct logs;
struct series;

struct fs_options {
	const char	*mountpoint;
	const char	*store;		/* shown in /.shale/status */
	const char	*fuse_opts;	/* -o options passed to FUSE, or NULL */
	int		 read_only;
	int		 sync;		/* every write waits until stored */
	int		 page_cache;	/* readers use the kernel's page cache */
	double		 entry_timeout;	/* seconds the kernel may keep a name */
	double		 attr_timeout;	/* ... and attributes */
	int		 max_threads;	/* FUSE worker threads */
};

void	fs_options_default(struct fs_options *o);

/*
 * Check the options and make the FUSE session, mounting nothing yet (so a
 * mistake in them is found before the store is opened and a writer
 * fenced): 0, or -errno with a detail in err_detail().
 */
int	fs_new(const struct fs_options *o, struct fs **out);
/*
 * Mount, showing l and s (NULL: no /series); both stay the caller's and
 * open until fs_free(): 0, or -errno with a detail.
 */
int	fs_mount(struct fs *fs, struct logs *l, struct series *s);
/*
 * Serve until unmounted or told to stop (SIGINT, SIGTERM, SIGHUP): 0, or
 * -errno. The caller blocks those signals before it starts any thread
 * (engine_open); fs_run unblocks them in the serving threads only, and
 * blocks them again before it returns.
 */
int	fs_run(struct fs *fs);
/*
 * Show the saved query views of v, and PromQL over the series, under
 * /query (with series only); v stays the caller's until fs_free().
 * Before fs_run().
 */
struct views;
void	fs_set_views(struct fs *fs, struct views *v);
/* Unmount (if still mounted) and free. */
void	fs_free(struct fs *fs);

#endif
