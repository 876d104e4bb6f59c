/*
 * logs_int.h - the insides of the log streams (logs.h), shared by the
 * module's files:
 *
 *	logs.c		opening and closing, callbacks, status, engine errors
 *	logs_key.c	the key layout in bytes, and the node tables
 *	logs_ns.c	the namespace: names, directories, attributes
 *	logs_stream.c	streams: readers, writers, appends, truncation, syncs
 *	logs_apply.c	following a writer, and the compaction filter
 *	logs_scan.c	for the HTTP API: paths, scans, times, waits
 *	logs_labels.c	labels of streams, pushes of timed entries, scans
 *			by time (LogQL, Loki push)
 *	logs_retention.c	how long a stream's records are kept: the
 *			settings' retention and filters, the 'E' records
 *
 * The namespace lives in memory: logs_open() reads every directory entry
 * and inode once, and every change is written through to the engine in
 * one batch before memory follows, so a lookup, a getattr or a readdir
 * never reaches the object store. A stream's length and last timestamp
 * are read the first time the stream is used (one seek to its last
 * record) and kept up to date by the appends, which all go through here.
 *
 * Locks (taken in logs.h's order: ns, then a stream's):
 *	ns	(rwlock) the namespace: the node tables, names, parents,
 *		children, refcounts, next_id; readers for lookups, writers
 *		for changes
 *		(and the streams' given labels: node->labels)
 *	node->lock	one stream's appends and its end, last_ts, data_id,
 *			indexed_sec, loaded
 *	data_lock, wait_lock	the data callback, logs_wait()'s generation:
 *			taken last, nothing of this module's under them
 *	node->ck_lock	a stream's checkpoints of appends (logs_retention.c):
 *			taken last too, under ns or the stream's lock
 * Fields are marked with what protects them, and a function's comment
 * with what its caller holds: (ns), (ns, write), (s->lock)...
 */
#ifndef SHALE_LOGS_INT_H
#define SHALE_LOGS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "model/logs.h"

struct buf;
struct engine_batch;
struct engine_snapshot;
struct labels;
struct metric_series;
struct logs_ret_filter;
struct ret_ck;

#define KEY_LOGS	0x01
#define KEY_VERSION	0x01
#define K_DIRENT	'D'
#define K_INODE		'I'
#define K_RECORD	'R'
#define K_TIME		'T'
#define K_COUNTER	'C'
#define K_LABELS	'L'
#define K_RETENTION	'E'

#define INODE_LEN	33	/* type, data_id, parent, ctime, mtime */
#define TS_LEN		8	/* a record value starts with its timestamp */

struct node {
	uint64_t	 id;
	enum logs_type	 type;
	uint64_t	 parent;		/* ns */
	char		*name;			/* ns */
	size_t		 namelen;		/* ns */
	int64_t		 ctime_ns;
	int64_t		 mtime_ns;		/* ns (directories) */
	struct labels	*labels;		/* ns: a stream's given labels, or NULL */
	int64_t		 ret_given_ms;		/* ns: its own retention ('E'); -1: none */
	/*
	 * The retention in force (ms, 0: for ever), worked out under ns
	 * (read) for l->ret_gen and stored with atomics, ms before gen, so
	 * that a read can use it without ns (logs_retention.c)
	 */
	int64_t		 ret_ms;
	uint64_t	 ret_gen;
	/*
	 * Checkpoints of the appends made since the stream was opened: from
	 * ck[i].off on, every record's time is at least ck[i].m - the
	 * out-of-order window (m: the running maximum before that append),
	 * which tells the compaction filter when a run of records cannot
	 * have expired (logs_keep_range). ck_lock is taken last.
	 */
	pthread_mutex_t	 ck_lock;
	struct ret_ck	*ck;			/* ck_lock: NULL until an append */
	size_t		 nck;			/* ck_lock */
	int		 refs;			/* atomic, under ns: the namespace's + users' */
	int		 linked;		/* ns: reachable by name */
	int		 gone;			/* ns: removed; forgotten at the last put */

	struct node	*id_next;		/* ns: chains of the tables */
	struct node	*name_next;
	struct node	*child, *sib_prev, *sib_next;	/* ns: directories */
	struct node	*moved_next;		/* ns: on l->moved */
	int		 on_moved;		/* ns */
	size_t		 nchildren;		/* ns */

	pthread_mutex_t	 lock;
	int		 loaded;		/* lock: end and last_ts read */
	int		 removed;		/* lock: no name leads here any more */
	/*
	 * Changed under lock (and data_id under ns too) with atomic stores,
	 * so that logs_reader_read can load them without the lock
	 */
	uint64_t	 data_id;
	uint64_t	 end;
	int64_t		 last_ts;		/* lock: the newest record time so far */
	int64_t		 indexed_sec;		/* lock */
	uint64_t	 last_seq;		/* lock: of the last append */
	/*
	 * lock: the last entry a push added (its time and the hash of its
	 * line), so that a push sent again does not add it twice, as Loki
	 * drops an entry equal to its stream's last; not stored
	 */
	int		 push_have;
	int64_t		 push_ts;
	uint64_t	 push_hash;
	int		 writers;		/* lock: logs_writer_new's, not freed */
	int		 cached;		/* lock: readers in the page cache */
};

struct table {
	struct node	**v;
	size_t		 n, cap;		/* cap: a power of two */
};

struct logs {
	struct engine	*e;
	int		 ro;
	pthread_rwlock_t ns;
	struct table	 by_id;
	struct table	 by_name;
	uint64_t	 next_id;		/* ns */
	struct node	*moved;			/* ns: streams whose data id is not their id */
	struct node	*last_data;		/* atomic, cleared under ns (write): the
						 * follower's last record's stream */
	logs_change_fn	 change_fn;
	void		*change_arg;
	pthread_rwlock_t data_lock;		/* data_fn, data_arg: held over calls */
	logs_data_fn	 data_fn;
	void		*data_arg;
	int		 fenced_said;

	/* retention (logs_retention.c) */
	int64_t		 ret_default_ms;	/* ns: logs_options.retention; 0: for ever */
	struct logs_ret_filter *ret_filters;	/* ns: logs_options.retention_filters */
	char		*push_rule;		/* ns: logs_options.push_path, or NULL */
	size_t		 ret_nfilters;		/* ns */
	/* bumped under ns (write) by whatever may change a stream's retention */
	uint64_t	 ret_gen;		/* atomic */

	/* logs_wait(): woken by every change while someone waits */
	pthread_mutex_t	 wait_lock;
	pthread_cond_t	 wait_cond;
	uint64_t	 wait_gen;		/* wait_lock */
	int		 waiters;		/* atomic */

	struct metric_series *m_app_records, *m_app_bytes;
	struct metric_series *m_scan_records, *m_scan_bytes;
};

/* logs.c */
int	logs_errno(struct logs *l, int rc);
void	logs_changed(struct logs *l, uint64_t id);

/* logs_key.c: keys (each returns its length) and values */
size_t	key_head(unsigned char *k, char kind);
size_t	key_id(unsigned char *k, char kind, uint64_t id);
size_t	key_record(unsigned char *k, uint64_t data_id, uint64_t off);
size_t	key_dirent(unsigned char *k, uint64_t parent, const char *name,
	    size_t len);
void	inode_encode(unsigned char *v, const struct node *n, uint64_t data_id);
void	batch_inode(struct engine_batch *b, const struct node *n,
	    uint64_t data_id);
void	batch_counter(struct engine_batch *b, uint64_t next);

/* logs_key.c: the node tables */
void	ntable_init(struct table *t);
struct node *node_find(struct logs *l, uint64_t id);
struct node *name_find(struct logs *l, uint64_t parent, const char *name,
	    size_t len);
struct node *node_new(struct logs *l, uint64_t id, enum logs_type type);
void	node_unref(struct node *n);
void	node_link(struct logs *l, struct node *n, uint64_t parent,
	    const char *name, size_t len);
void	node_unlink(struct logs *l, struct node *n);
void	node_moved(struct logs *l, struct node *n);
struct node *data_find(struct logs *l, uint64_t d);
int	would_cycle(struct logs *l, const struct node *n, uint64_t dir);
void	node_forget(struct logs *l, struct node *n);
void	node_remove(struct logs *l, struct node *n);

/* logs_ns.c */
void	fill_attr(struct node *n, struct logs_attr *a);
/*
 * The stream at `path` (checked), made with the directories it needs
 * when missing, all in one batch with the 'L' record of ls: 0 and its
 * id, -EEXIST (a stream is there: *id is it), -EISDIR, -ENOTDIR, or an
 * engine error. Takes ns for writing.
 */
int	ns_make_stream(struct logs *l, const char *path, size_t len,
	    const struct labels *ls, uint64_t *id);

/* logs_labels.c */
/* Put the 'L' record of stream id into b: ls, or a deletion for NULL. */
void	batch_labels(struct engine_batch *b, uint64_t id,
	    const struct labels *ls);
/* Read every 'L' record of snap into the nodes it names. (ns, write) */
int	load_labels(struct logs *l, const struct engine_snapshot *snap);
/* Append n's path under /logs to b. (ns) */
void	node_path(struct logs *l, struct node *n, struct buf *b);
/* The whole set of a stream: the given labels, and stream= unless given. */
int	whole_set(const struct labels *given, const char *path, size_t len,
	    struct labels **out);

/* logs_retention.c */
/* Free the filters (logs_close). */
void	logs_retention_release(struct logs *l);
/* A follower's 'E' record for n: val NULL for a deletion. (ns, write) */
void	apply_retention(struct logs *l, struct node *n, const void *val,
	    size_t vlen);
/* Put the 'E' record of stream id into b: ms, or a deletion for ms < 0. */
void	batch_retention(struct engine_batch *b, uint64_t id, int64_t ms);
/* Read every 'E' record of snap into the nodes it names. (ns, write) */
int	load_retentions(struct logs *l, const struct engine_snapshot *snap);
/* Something that may change a stream's retention changed. (ns, write) */
void	retention_changed(struct logs *l);
/* Stream n's retention in ms, 0 for ever. (ns) */
int64_t	stream_retention(struct logs *l, struct node *n);
/*
 * The same without ns, for reads that must not wait for it: worked out
 * if ns can be had at once, else the last value worked out.
 */
int64_t	stream_retention_nowait(struct logs *l, struct node *n);
/*
 * The newest record time that has expired for a stream kept ret_ms (0:
 * for ever) at wall time now_ns: INT64_MIN when nothing expires. A
 * record of time ts has expired when ts <= the value.
 */
int64_t	retention_cutoff(int64_t ret_ms, int64_t now_ns);
/* retention_cutoff of stream n now; takes ns (read). */
int64_t	stream_cutoff(struct logs *l, struct node *n);
/*
 * An append to n at off, with m its running maximum before (INT64_MIN:
 * not known); ck_clear when its records go (truncation). (n->lock)
 */
void	ck_note(struct node *n, uint64_t off, int64_t m);
void	ck_clear(struct node *n);
/* Do n's records from off on all have times above cutoff? */
int	ck_after(struct node *n, uint64_t off, int64_t cutoff);

/* logs_stream.c */
int	stream_load(struct logs *l, struct node *n);
void	data_changed(struct logs *l, struct node *s, uint64_t off,
	    const void *p1, size_t n1, const void *p2, size_t n2);
int	stream_get(struct logs *l, uint64_t id, struct node **out);
void	stream_put(struct logs *l, struct node *n);

/* logs_apply.c: the compaction filter (engine_set_compaction_filter) */
int	logs_keep(void *arg, const void *key, size_t klen, const void *val,
	    size_t vlen);
int	logs_keep_range(void *arg, const void *lo, size_t lolen,
	    const void *hi, size_t hilen);

#endif
