/*
 * logs.h - log streams: named, append-only byte sequences kept in the
 * engine, in a tree of directories under /logs. This is the one place
 * where a stream is given meaning; the mount (fs/) and the HTTP API use
 * only this header, so they can never disagree about one.
 *
 * A stream is made of records. A record is a run of whole lines from one
 * write (at most LOGS_RECORD_MAX bytes; a longer line is cut into several
 * records, all in one batch), keyed by the stream's data id and the byte
 * offset of its first byte, and carrying an ingest timestamp that never
 * goes backwards within a stream. Every append is one engine batch: its
 * records, a time-index entry when the second has changed, and nothing
 * else, so it is atomic and costs no read.
 *
 * Keys (all integers big-endian, so order in the engine is order in the
 * stream; see shale-format(5)):
 *
 *	01 01 'D' parent(8) name	directory entry -> id(8) type(1)
 *	01 01 'I' id(8)			inode -> type(1) data_id(8) parent(8)
 *					ctime_ns(8) mtime_ns(8)
 *	01 01 'R' data_id(8) offset(8)	record -> ts_ns(8) bytes
 *	01 01 'T' data_id(8) ts_ns(8) offset(8)	time index -> (empty)
 *	01 01 'C'			the next free id (8)
 *
 * Truncating a stream to zero gives it a fresh data id: its old records
 * are left to the compaction filter (as are those of a removed stream),
 * and its offsets start again at 0.
 *
 * Writers: a struct logs_writer is one open handle. It holds a trailing
 * partial line until its next write, logs_writer_flush() or
 * logs_writer_sync(), so lines of two writers never interleave. Handles
 * opened for append ignore the offset they are given; others must write
 * at the end the stream has from their point of view (its length plus
 * what they hold), or get -EPERM and change nothing.
 *
 * Threading: every function may be called from any thread; a writer
 * belongs to one thread at a time. Locks: the namespace lock (directory
 * operations, the tables of names and streams), then one stream's lock,
 * then the data callback's and the waiters' locks (logs_int.h).
 */
#ifndef SHALE_LOGS_H
#define SHALE_LOGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct engine;
struct logs;
struct logs_writer;

#define LOGS_ROOT_ID	16		/* the /logs directory; ids below are not stored */
#define LOGS_NAME_MAX	255
#define LOGS_PATH_MAX	4096		/* a stream's path under /logs, as the API names it */
#define LOGS_RECORD_MAX	(64 * 1024)
#define LOGS_LINE_HOLD_MAX (1024 * 1024) /* a partial line longer than this is committed */
#define LOGS_UNCACHED_WAIT_MS 200	/* logs_writer_new waits for cached readers */

enum logs_type { LOGS_DIR = 1, LOGS_STREAM = 2 };

struct logs_attr {
	uint64_t	 id;
	enum logs_type	 type;
	uint64_t	 parent;
	uint64_t	 size;		/* a stream's length in bytes; 0 for a directory */
	int64_t		 mtime_ns;	/* last append, or last change of a directory */
	int64_t		 ctime_ns;	/* creation */
};

/*
 * Called after a stream or directory changed (from the thread that made
 * the change, or from the thread that noticed it): must be quick and must
 * not call back into logs. `name` is NULL, or (on a read-only follower) a
 * name in directory `id` that no longer leads where it did.
 */
typedef void (*logs_change_fn)(void *arg, uint64_t id, const char *name,
	    size_t namelen);

/*
 * Called when a stream's bytes from `off` on are new: the stream now ends
 * at off + n1 + n2, and those bytes are p1 then p2. With no bytes (a
 * truncation) whatever was from `off` on is gone. Called from the thread
 * that made the change, holding the stream's lock, so that nobody sees
 * the new size before it returns; it may wait, but not for anything that
 * needs that lock (logs_reader_read does not take it). Only a writer's
 * changes are told.
 */
typedef void (*logs_data_fn)(void *arg, uint64_t id, uint64_t off,
	    const void *p1, size_t n1, const void *p2, size_t n2);

/* Streams over an open engine (writer or reader); the engine stays the caller's. */
int	logs_open(struct engine *e, struct logs **out);
void	logs_close(struct logs *l);
int	logs_read_only(const struct logs *l);
void	logs_on_change(struct logs *l, logs_change_fn fn, void *arg);
/* Set or (NULL) clear it; once this returns no call of the old one runs. */
void	logs_on_data(struct logs *l, logs_data_fn fn, void *arg);

/*
 * A read-only logs follows its store's writer: logs_open() registers this
 * with engine_on_apply(), and it brings memory up to date with each record
 * the engine applies (arg is the struct logs). Whatever the bytes, it
 * keeps the tree a tree. Also the entry point of the fuzz harness.
 */
void	logs_apply(void *arg, const void *key, size_t klen, const void *val,
	    size_t vlen);

/*
 * Where the store under l stands, for the status file and the readiness
 * check: the engine's own figures (engine_status), copied.
 */
struct logs_status {
	int		 reader;		/* a read-only follower */
	int		 fenced;		/* a newer writer took the store */
	uint64_t	 epoch;
	uint64_t	 manifest_id;
	uint64_t	 last_seq;
	uint64_t	 durable_seq;
	uint64_t	 unflushed_bytes;
	size_t		 l0_tables;
	size_t		 runs;			/* sorted runs */
	size_t		 run_tables;		/* tables in them */
	uint64_t	 table_bytes;		/* bytes of every table in the manifest */
	size_t		 compacting;		/* compactions running */
	int64_t		 follow_lag_ms;		/* reader: age of the newest WAL object applied */
	/* wall clock ns since which the store failed; 0 while it answers */
	int64_t		 store_failing_since_ns;
	/* writer: since when every attempt to store failed; 0 once one succeeds */
	int64_t		 store_write_failing_since_ns;
};
void	logs_status(struct logs *l, struct logs_status *st);

/* Check a name: 0, -EINVAL ("", ".", "..", '/' or NUL inside), -ENAMETOOLONG. */
int	logs_name_check(const char *name, size_t len);

/* ---- the namespace: 0 or -errno (-ENOENT, -EEXIST, -ENOTDIR, -EISDIR ...) ---- */

int	logs_getattr(struct logs *l, uint64_t id, struct logs_attr *a);
int	logs_lookup(struct logs *l, uint64_t parent, const char *name,
	    struct logs_attr *a);
int	logs_mkdir(struct logs *l, uint64_t parent, const char *name,
	    struct logs_attr *a);
/* Create a stream; -EEXIST if the name is taken. */
int	logs_create(struct logs *l, uint64_t parent, const char *name,
	    struct logs_attr *a);
int	logs_unlink(struct logs *l, uint64_t parent, const char *name);
/* -ENOTEMPTY unless the directory is empty. */
int	logs_rmdir(struct logs *l, uint64_t parent, const char *name);

#define LOGS_RENAME_NOREPLACE	(1 << 0)
/*
 * Move an entry, replacing the target as rename(2) does (a stream by a
 * stream, an empty directory by a directory). -EINVAL for a directory into
 * its own subtree.
 */
int	logs_rename(struct logs *l, uint64_t parent, const char *name,
	    uint64_t newparent, const char *newname, unsigned flags);

/* fn is called for each entry in name order; a non-zero return stops. */
typedef int (*logs_dir_fn)(void *arg, const char *name, size_t len,
	    const struct logs_attr *a);
int	logs_readdir(struct logs *l, uint64_t dir, logs_dir_fn fn, void *arg);

/*
 * Totals for statfs. A stream's length is read at its first use, not at
 * open (that would be a seek per stream): `bytes` counts the streams used
 * since logs_open().
 */
struct logs_usage {
	uint64_t	 streams;
	uint64_t	 dirs;
	uint64_t	 bytes;
};
int	logs_usage(struct logs *l, struct logs_usage *u);

/* ---- streams ---- */

/* Read up to n bytes at off: the count (0 at the end) or -errno. */
ssize_t	logs_read(struct logs *l, uint64_t id, uint64_t off, void *buf, size_t n);

/*
 * The same through a reader that keeps its place: reading on from where
 * the last read ended costs no seek. One reader may be shared by threads.
 */
struct logs_reader;
struct logs_reader *logs_reader_new(struct logs *l, uint64_t id);
ssize_t	logs_reader_read(struct logs_reader *r, uint64_t off, void *buf,
	    size_t n);
/* The attributes of the reader's stream, even once it is removed. */
void	logs_reader_getattr(struct logs_reader *r, struct logs_attr *a);
void	logs_reader_free(struct logs_reader *r);
/*
 * May this reader's caller keep what it reads in a cache that does not
 * see changes at once (the kernel's page cache)? 1 if so, 0 if a writer
 * has the stream open. While such a reader is open the stream does not
 * change: writers (logs_writer_new) are refused with EBUSY, appends and
 * truncations with -EBUSY (writers and truncations after waiting up to
 * LOGS_UNCACHED_WAIT_MS for such readers to go). The mark goes with
 * logs_reader_free.
 */
int	logs_reader_cache(struct logs_reader *r);
/* Shorten to 0 (a fresh start) or keep the length; any other size is -EPERM. */
int	logs_truncate(struct logs *l, uint64_t id, uint64_t size);
/* The offset of the first record at or after ts_ns (the length if none). */
int	logs_offset_at(struct logs *l, uint64_t id, int64_t ts_ns, uint64_t *off);
/* Append whole records as they are (no line handling): 0 or -errno. */
int	logs_append(struct logs *l, uint64_t id, const void *data, size_t n,
	    uint64_t *seq);
/* The same, and *off is the offset its first byte got. */
int	logs_append_at(struct logs *l, uint64_t id, const void *data, size_t n,
	    uint64_t *seq, uint64_t *off);
/*
 * Wait until everything written so far is in the object store: 0, or
 * -EIO once the store has refused it for store_failure_timeout (it is
 * kept, and stored when the store takes it) or when fenced.
 */
int	logs_sync(struct logs *l);
/* The same, or -EINTR once *stop is set and logs_wake() called. */
int	logs_sync_stop(struct logs *l, const int *stop);
/*
 * Wait at most timeout_ms (< 0: for ever) until the append that got
 * sequence `seq` is in the object store: 0, -ETIMEDOUT, -EROFS (fenced)
 * or -EIO (the store refused it for store_failure_timeout).
 */
int	logs_sync_seq(struct logs *l, uint64_t seq, int64_t timeout_ms);

#define LOGS_W_APPEND	(1 << 0)	/* ignore offsets: always the end */
#define LOGS_W_SYNC	(1 << 1)	/* every write waits until stored */

/* NULL with errno ENOENT (no such stream) or EBUSY (logs_reader_cache) */
struct logs_writer *logs_writer_new(struct logs *l, uint64_t id, unsigned flags);
/*
 * Write n bytes at off (ignored with LOGS_W_APPEND): n, or -EPERM (not at
 * the end), -EROFS (read-only or fenced), -EIO, -ENOENT (stream removed).
 */
ssize_t	logs_writer_write(struct logs_writer *w, uint64_t off,
	    const void *data, size_t n);
/* Commit what the writer holds. */
int	logs_writer_flush(struct logs_writer *w);
/*
 * Commit, then wait until all of this writer's records are stored (and
 * what others appended to the stream before): 0 or -EIO, as logs_sync.
 */
int	logs_writer_sync(struct logs_writer *w);
/* The same, or -EINTR once *stop is set and logs_wake() called. */
int	logs_writer_sync_stop(struct logs_writer *w, const int *stop);
/* Bytes held back (a partial line). */
size_t	logs_writer_held(const struct logs_writer *w);
/* Free without committing: flush first. */
void	logs_writer_free(struct logs_writer *w);

/* ---- by path, for the HTTP API ---- */

/*
 * A stream's path under /logs, "dir/sub/name": names as logs_name_check()
 * wants them, joined by single slashes, no slash first or last, at most
 * LOGS_PATH_MAX bytes. 0 or -EINVAL / -ENAMETOOLONG.
 */
int	logs_path_check(const char *path, size_t len);
/*
 * The stream at `path` (not NUL-terminated): 0 and its attributes, or
 * -ENOENT, -EISDIR (a directory), -ENOTDIR, -EINVAL. With `create`, the
 * missing directories and the stream are made first (mkdir -p; a name
 * made meanwhile by someone else is used as it is).
 */
int	logs_resolve(struct logs *l, const char *path, size_t len, int create,
	    struct logs_attr *a);

/*
 * The records of stream `id` that hold bytes of [start, end), in order:
 * fn gets each one's offset and bytes, cut to the range (so the first may
 * start inside a record), and its ingest time. At most `limit` records,
 * and no more once max_bytes are given (the first is always given whole).
 * A non-zero return from fn stops the scan (then 0 is returned if it was
 * positive, its value if negative). *next is the offset after the last
 * byte given, or start. Expired records are skipped: the first record
 * given may start after `start`.
 */
typedef int (*logs_scan_fn)(void *arg, uint64_t off, const void *data,
	    size_t len, int64_t ts_ns);
int	logs_scan(struct logs *l, uint64_t id, uint64_t start, uint64_t end,
	    size_t limit, size_t max_bytes, logs_scan_fn fn, void *arg,
	    uint64_t *next);

/*
 * Wait until stream `id` is longer than `have` bytes: 0, or -ETIMEDOUT at
 * deadline_ns (the monotonic clock), -ENOENT once it is removed, or
 * -ECANCELED once *stop is set and logs_wake() called. Appends on this
 * side and records applied from the writer (a follower) both wake it.
 */
int	logs_wait(struct logs *l, uint64_t id, uint64_t have,
	    int64_t deadline_ns, const int *stop);
/* Wake every logs_wait() and logs_*sync_stop() to look at its stop flag. */
void	logs_wake(struct logs *l);

/* ---- labels and entries with their own times (LogQL, Loki push) ---- */

struct labels;

/*
 * Every stream has a label set: the labels given to it (logs_labels_set,
 * the mount's user.shale.labels xattr, a Loki push), plus
 * stream="<its path under /logs>" unless it was given a label named
 * stream itself. Stored as one record a stream ('L', shale-format(5)),
 * kept in memory, followed by followers. Reserved names ("__...") and
 * an empty set are fine; LABELS_* limits hold.
 */
#define LOGS_LABEL_STREAM	"stream"

/* The labels given to stream id (NULL when none): *out the caller's to free. */
int	logs_labels_get(struct logs *l, uint64_t id, struct labels **out);
/* Give stream id the set ls (NULL or empty: none), replacing what it had. */
int	logs_labels_set(struct logs *l, uint64_t id, const struct labels *ls);

/*
 * Each stream, in no particular order, with its whole label set (given
 * labels plus stream=, built for the call and freed after it) and
 * attributes; fn's non-zero return stops (and is returned if negative).
 * The namespace lock is not held while fn runs.
 */
typedef int (*logs_stream_fn)(void *arg, uint64_t id,
	    const struct labels *ls, const struct logs_attr *a);
int	logs_streams(struct logs *l, logs_stream_fn fn, void *arg);

/*
 * An entry of a push: one line (without its newline; a line holding
 * newlines is stored as that many lines, all with ts_ns) and its time.
 */
struct logs_entry {
	int64_t		 ts_ns;
	const char	*line;
	size_t		 len;
};

/* One stream's entries in a push: the stream is the one of labels ls. */
struct logs_push_stream {
	const struct labels *ls;
	const struct logs_entry *e;
	size_t		 n;
};

/*
 * Entries keep their own times. A stream takes an entry whose time is at
 * most LOGS_OOO_WINDOW_NS behind its newest (out of order, as Loki) and
 * at most LOGS_FUTURE_GRACE_NS ahead of the clock; records in the file
 * stay in the order they came, and the time index follows the newest
 * time so far, which is what lets a scan by time stay inside the range
 * (logs_scan_time).
 */
#define LOGS_OOO_WINDOW_NS	(3600LL * 1000000000)	/* 1 h */
#define LOGS_FUTURE_GRACE_NS	(600LL * 1000000000)	/* 10 min */

/*
 * Store a push: for each stream, the stream of its labels is found or
 * made at the path logs_push_path() gives, and its entries appended in
 * the order given. All or nothing: every entry is checked first, and
 * everything goes in one engine batch. 0, or:
 *	-EINVAL		bad labels, a path taken by a directory or by a
 *			stream of other labels; err_set() says which
 *	-ERANGE		an entry too old or too new, err_set() as Loki:
 *			"entry for stream '{a="b"}' has timestamp too old:
 *			..., oldest acceptable timestamp is: ..."
 *	-EROFS, -EIO	as logs_append
 * *seq is the batch's sequence number (for logs_sync_seq).
 */
int	logs_push(struct logs *l, const struct logs_push_stream *v, size_t n,
	    uint64_t *seq);

/*
 * The path under /logs of the stream of pushed labels ls, by the rule
 * of shale-mount(1), LOKI PUSH, as l's logs_options.push_path sets it (l
 * NULL: the default rule): deterministic, one path per label set, valid
 * for logs_path_check() whatever the values. 0 or -EINVAL.
 */
int	logs_push_path(struct logs *l, const struct labels *ls,
	    struct buf *path);
/*
 * The rule's directories (NULL or "": the default): levels separated by
 * ',', each label names separated by '|', the first present naming the
 * level ("namespace,app|job"); -EINVAL with err_set() for another text.
 * Streams pushed before keep their paths.
 */
int	logs_set_push_path(struct logs *l, const char *rule);

/*
 * The records of stream id that may hold entries of [start_ns, end_ns),
 * in file order, each given whole to fn with its time (as logs_scan;
 * records whose own time is outside the range are not given). Reads only
 * from the time index's place for start_ns - LOGS_OOO_WINDOW_NS up to
 * where the newest time passes end_ns + LOGS_OOO_WINDOW_NS.
 */
int	logs_scan_time(struct logs *l, uint64_t id, int64_t start_ns,
	    int64_t end_ns, logs_scan_fn fn, void *arg);
/*
 * The same for a caller that wants only lines containing every one of
 * needles[0 ... n-1] (NUL-terminated): records stored in tables whose
 * content filters show that none of their lines can hold some needle
 * may be left out, unread (engine_iter_set_needles); every other record
 * is given as logs_scan_time gives it, and fn still tests its lines.
 */
int	logs_scan_time_needles(struct logs *l, uint64_t id, int64_t start_ns,
	    int64_t end_ns, const char *const *needles, size_t n,
	    logs_scan_fn fn, void *arg);

/*
 * Retention (shale-mount(1), RETENTION): a record expires at its own time
 * plus its stream's retention, and reads skip it from then on (its bytes
 * read as newlines, so offsets stay); compaction drops it. The store's
 * (logs_options): retention_ms (0: for ever) and filters, NULL or lines
 * of SELECTOR:DURATION over the streams' label sets, the first match
 * winning; -EINVAL with err_set() naming a bad line. A stream's own wins
 * over both: ms, 0 for ever, -1 none given (logs_retention_set's -1
 * clears it).
 */
int	logs_set_retention(struct logs *l, int64_t retention_ms,
	    const char *filters);
int	logs_retention_get(struct logs *l, uint64_t id, int64_t *ms);
int	logs_retention_set(struct logs *l, uint64_t id, int64_t ms);
/* A stream's own as text: "7d", "0" for ever, "" none (-1); and back. */
int	logs_retention_parse(const char *s, size_t n, int64_t *ms);
void	logs_retention_format(int64_t ms, struct buf *b);

#endif
